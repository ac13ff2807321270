//! Target (c): PROSE token sequences and symbolic expressions, in process.
//!
//! Inputs are token sequences (mutated catalogue equations and skeletons, random id sequences
//! decoded through the vocabulary as the model's greedy decoder produces them) or freshly drawn
//! expression trees. Properties:
//! * nothing panics: the parser, the vocabulary, the infix printer, the metrics `oplab eval`
//!   computes from a decoded equation (`score_symbols`, `reintegrate`);
//! * a sequence that parses round-trips: re-encoding and parsing again gives the same
//!   expressions, the re-encoding is a fixed point, and the skeleton parses back to itself;
//! * a drawn expression encodes exactly when its constants fit the vocabulary (|c| < 1e13 after
//!   rounding), and decodes to the expression with every constant rounded to three significant
//!   digits (below 1e-8: zero), hence evaluates identically to that rounding.

use oplab_operators::prose::data::Vocabulary;
use oplab_operators::prose::metrics::{comparison_points, reintegrate, score_symbols};
use oplab_solvers::symbolic::tokens::round_significant;
use oplab_solvers::symbolic::{encode_system, encode_system_skeleton, infix_system, parse_system, prose_vocabulary, BinaryOp, EncodeError, Expr, UnaryOp};
use oplab_solvers::systems;

use crate::driver::{self, catch, Budget, Verdict};
use crate::mutate::{mutate_bytes, mutate_tokens, Hotspots, Rng};

/// One input.
#[derive(Clone, Debug)]
pub enum TokenInput {
    /// A token sequence as a dataset stores it or the decoder emits it.
    Words(Vec<String>),
    /// A system of expressions to encode and decode.
    System(Vec<Expr>),
}

/// Largest state dimension of the vocabulary the inputs are decoded with (the catalogue's).
const MAX_DIM: usize = 4;

/// Tokens that are not in the vocabulary but look close to it.
const NEAR_MISSES: [&str; 16] =
    ["u_01", "u_", "u_-1", "u_18446744073709551616", "u_99999", "N1000", "N00", "N-01", "E11", "E-11", "E+5", "E", "+1", "pow3", "<?>", "ADD"];

struct Target {
    vocabulary: Vocabulary,
    dictionary: Vec<String>,
    /// Catalogue systems by dimension (the truth `score_symbols` compares against).
    truths: Vec<Vec<Expr>>,
}

impl Target {
    fn new() -> Target {
        let words = prose_vocabulary(MAX_DIM);
        let vocabulary = Vocabulary::try_from(words.clone()).expect("the PROSE vocabulary has its special words");
        let mut dictionary = words;
        dictionary.extend(NEAR_MISSES.iter().map(|s| s.to_string()));
        let mut truths = vec![Vec::new(); MAX_DIM + 1];
        for s in systems::all() {
            if s.dim <= MAX_DIM && truths[s.dim].is_empty() {
                truths[s.dim] = s.concrete(&s.nominal_params()).expect("nominal parameters are valid");
            }
        }
        Target { vocabulary, dictionary, truths }
    }

    fn seeds() -> Vec<TokenInput> {
        let mut seeds = Vec::new();
        for s in systems::all() {
            seeds.push(TokenInput::Words(s.tokens(&s.nominal_params()).expect("catalogue systems encode")));
            seeds.push(TokenInput::Words(s.skeleton_tokens()));
        }
        seeds
    }

    fn mutate(&self, rng: &mut Rng, input: &mut TokenInput, other: &TokenInput) -> &'static str {
        if rng.chance(10) {
            *input = TokenInput::System((0..1 + rng.below(MAX_DIM)).map(|_| random_expr(rng, MAX_DIM, 0)).collect());
            return "fresh expression";
        }
        if rng.chance(10) {
            // What the model's greedy decoder hands to the parser: ids, some outside the
            // vocabulary (decoded as `<?>`).
            let ids: Vec<usize> = (0..1 + rng.below(60)).map(|_| rng.below(self.vocabulary.len() + 3)).collect();
            *input = TokenInput::Words(self.vocabulary.decode(&ids));
            return "random ids";
        }
        let mut words = as_words(input, rng);
        let other = as_words(other, rng);
        let what = if rng.chance(8) {
            // Byte-level damage of the stored text form, split again as the reader does.
            let mut text = words.join(" ").into_bytes();
            mutate_bytes(rng, &mut text, other.join(" ").as_bytes(), &Hotspots(&[]), 4096);
            words = String::from_utf8_lossy(&text).split_whitespace().map(str::to_string).collect();
            "text bytes"
        } else {
            mutate_tokens(rng, &mut words, &self.dictionary, &other)
        };
        *input = TokenInput::Words(words);
        what
    }

    fn exec(&self, input: &TokenInput) -> Verdict {
        driver::checked(match input {
            TokenInput::Words(words) => catch(|| self.check_words(words)),
            TokenInput::System(system) => catch(|| check_system(system)),
        })
    }

    /// Ok(true): parsed and every property held; Ok(false): refused with an error.
    fn check_words(&self, words: &[String]) -> Result<bool, String> {
        if let Ok(ids) = self.vocabulary.encode(words) {
            let back = self.vocabulary.decode(&ids);
            if back != words {
                return Err(format!("vocabulary round trip changed {words:?} into {back:?}"));
            }
        }
        let parsed = parse_system(words);
        // What `oplab eval` does with a decoded equation: score it against a truth of some
        // dimension and re-integrate it.
        let dim = parsed.as_ref().map_or(3, |p| p.len().clamp(1, MAX_DIM));
        let truth = &self.truths[dim];
        if !truth.is_empty() {
            let points = comparison_points(0, dim);
            let score = score_symbols(words, truth, &points);
            if score.valid && parsed.is_err() {
                return Err("score_symbols calls an unparsable equation valid".into());
            }
        }
        let u0 = vec![0.5; dim];
        let solution = reintegrate(words, &u0, &[0.0, 0.05]);
        let Ok(exprs) = parsed else {
            if solution.is_some() {
                return Err("reintegrate solved an unparsable equation".into());
            }
            return Ok(false);
        };
        let _ = infix_system(&exprs, &|k| format!("p{k}"));
        let skeleton = encode_system_skeleton(&exprs);
        let skeleton_back = parse_system(&skeleton).map_err(|e| format!("the skeleton {skeleton:?} of a parsed equation does not parse: {e}"))?;
        if encode_system_skeleton(&skeleton_back) != skeleton {
            return Err(format!("skeleton round trip changed {skeleton:?}"));
        }
        match encode_system(&exprs) {
            // Placeholders (skeleton inputs) cannot be written with values; parameters never
            // come out of the parser.
            Err(EncodeError::Placeholder) => Ok(true),
            Err(e) => Err(format!("a parsed equation does not encode: {e} ({words:?})")),
            Ok(again) => {
                let reparsed = parse_system(&again).map_err(|e| format!("re-encoded {again:?} does not parse: {e}"))?;
                // The same expressions, constants as the encoder writes them: a sequence with a
                // mantissa the encoder never writes (`N046 E-10`) may stand for a value it rounds.
                let expected = rounded(&exprs);
                if reparsed != expected {
                    return Err(format!("round trip changed the expressions of {words:?}: {expected:?} -> {reparsed:?}"));
                }
                let third = encode_system(&reparsed).map_err(|e| format!("re-encoding failed the second time: {e}"))?;
                if third != zero_as_encoded(&again) {
                    return Err(format!("encoding is not a fixed point: {again:?} -> {third:?}"));
                }
                Ok(true)
            }
        }
    }
}

/// A system's tokens: its encoding (skeleton when it does not encode), for mutation.
fn as_words(input: &TokenInput, rng: &mut Rng) -> Vec<String> {
    match input {
        TokenInput::Words(w) => w.clone(),
        TokenInput::System(s) => match encode_system(s) {
            Ok(w) if !rng.chance(4) => w,
            _ => encode_system_skeleton(s),
        },
    }
}

/// A random expression tree in `u_0 .. u_{dim-1}` with constants across (and beyond) the range
/// the vocabulary can write.
fn random_expr(rng: &mut Rng, dim: usize, depth: usize) -> Expr {
    let leaf = depth >= 6 || rng.chance(3);
    if leaf {
        return if rng.chance(2) { Expr::Var(rng.below(dim)) } else { Expr::Const(random_constant(rng)) };
    }
    if rng.chance(3) {
        let op = *rng.pick(&UnaryOp::ALL);
        Expr::Unary(op, Box::new(random_expr(rng, dim, depth + 1)))
    } else {
        let op = *rng.pick(&BinaryOp::ALL);
        Expr::Binary(op, Box::new(random_expr(rng, dim, depth + 1)), Box::new(random_expr(rng, dim, depth + 1)))
    }
}

fn random_constant(rng: &mut Rng) -> f64 {
    let sign = if rng.chance(2) { -1.0 } else { 1.0 };
    match rng.below(6) {
        0 => 0.0,
        1 => sign * (1 + rng.below(10)) as f64,
        // Mantissa in [1, 10), decimal exponent in [-14, 14].
        _ => sign * (1.0 + 9.0 * (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) * 10f64.powi(rng.below(29) as i32 - 14),
    }
}

/// The constant PROSE's three tokens give back for `c`: three significant digits, and zero for
/// magnitudes whose exponent token would fall below E-10 (the rounded value below 1e-8), signed
/// as `c` (`- N000 E0`), except that zero itself is written `+` (PROSE's sign test `c >= 0`).
fn decoded_constant(c: f64) -> f64 {
    let r = round_significant(c, 3);
    if c == 0.0 {
        0.0
    } else if r.abs() < 1e-8 {
        0.0f64.copysign(c)
    } else {
        r
    }
}

/// `tokens` with every flushed constant (`+ N000 E0` or `- N000 E0`: a magnitude below the
/// vocabulary's E-10, as PROSE writes it) as the encoder writes the zero it reads back as
/// (`+ N000 E-2`, from `0.00e0`): the one place where encoding its own output changes tokens.
fn zero_as_encoded(tokens: &[String]) -> Vec<String> {
    let mut out = tokens.to_vec();
    for i in 0..out.len().saturating_sub(2) {
        if (out[i] == "+" || out[i] == "-") && out[i + 1] == "N000" && out[i + 2] == "E0" {
            out[i] = "+".into();
            out[i + 2] = "E-2".into();
        }
    }
    out
}

/// `system` with every constant as its tokens give it back ([`decoded_constant`]).
fn rounded(system: &[Expr]) -> Vec<Expr> {
    system.iter().map(|e| e.map_leaves(&mut |leaf| if let Expr::Const(c) = leaf { Expr::Const(decoded_constant(*c)) } else { leaf.clone() })).collect()
}

/// Ok(true): encoded and decoded to the rounded system; Ok(false): correctly refused.
fn check_system(system: &[Expr]) -> Result<bool, String> {
    let max_constant = system.iter().flat_map(constants).map(|c| decoded_constant(c).abs()).fold(0.0, f64::max);
    let fits = max_constant < 1e13;
    let tokens = match encode_system(system) {
        Err(EncodeError::ExponentTooLarge { .. }) if !fits => return Ok(false),
        Err(e) => return Err(format!("{system:?} does not encode: {e}")),
        Ok(_) if !fits => return Err(format!("{system:?} encodes although a constant ({max_constant:e}) needs an exponent above E10")),
        Ok(t) => t,
    };
    let decoded = parse_system(&tokens).map_err(|e| format!("the encoding {tokens:?} does not parse: {e}"))?;
    let expected = rounded(system);
    if decoded != expected {
        return Err(format!("decode(encode(e)) is not e with rounded constants: {expected:?} -> {tokens:?} -> {decoded:?}"));
    }
    let dim = MAX_DIM;
    for u in comparison_points(7, dim).chunks_exact(dim).take(8) {
        for (a, b) in decoded.iter().zip(&expected) {
            let (x, y) = (a.eval(u, &[]), b.eval(u, &[]));
            if x.to_bits() != y.to_bits() && !(x.is_nan() && y.is_nan()) {
                return Err(format!("decoded {a} evaluates to {x} at {u:?}, the rounded expression to {y}"));
            }
        }
    }
    Ok(true)
}

fn constants(e: &Expr) -> Vec<f64> {
    let mut out = Vec::new();
    e.map_leaves(&mut |leaf| {
        if let Expr::Const(c) = leaf {
            out.push(*c);
        }
        leaf.clone()
    });
    out
}

fn save(input: &TokenInput, path: &std::path::Path) {
    let text = match input {
        TokenInput::Words(w) => w.join(" "),
        TokenInput::System(s) => format!("{s:?}"),
    };
    std::fs::write(path.with_extension("txt"), text).expect("write the crashing input");
}

#[test]
#[ignore = "fuzzing, 30 s: run by `make test` (--ignored) and scripts/fuzz.sh"]
fn fuzz_prose_tokens() {
    let target = Target::new();
    let budget = Budget::from_env(0x70c3);
    let summary = driver::run("prose-tokens", &budget, Target::seeds(), |rng, input, other| target.mutate(rng, input, other), |input| target.exec(input), save);
    driver::assert_no_crash("prose-tokens", &summary);
    assert!(summary.accepted > 0, "no input parsed: the mutations never kept a sequence valid");
}

/// Every token sequence under tests/fuzz/regressions/tokens-*.txt (one per file, as a dataset
/// stores it) holds every property.
#[test]
fn token_regressions() {
    let target = Target::new();
    for (name, text) in crate::regressions("tokens-", "txt") {
        let words: Vec<String> = String::from_utf8_lossy(&text).split_whitespace().map(str::to_string).collect();
        if let Verdict::Crash(what) = target.exec(&TokenInput::Words(words)) {
            panic!("{name}: {what}");
        }
    }
}
