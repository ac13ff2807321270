//! PROSE's prefix tokenization of multi-component expressions, and its inverse.
//!
//! Encoding (from `prose_ode/symbolicregression/envs/encoders.py`, re-implemented):
//! * prefix (Polish) order, one token per operator, variables as `u_i`;
//! * components joined by the separator [`SEPARATOR`] (`|`);
//! * every constant is three tokens `[sign, mantissa, exponent]`: sign `+`/`-`, a 3-digit
//!   mantissa `N000`..`N999`, and `E-10`..`E10`, value = sign · mantissa · 10^exponent
//!   (`10.0` → `+ N100 E-1`, `2.67` → `+ N267 E-2`). Magnitudes whose exponent would fall below
//!   −10 encode as `N000 E0`. Rounding is Python's `%.2e` (round-half-even on the exact binary
//!   value), which Rust's `{:.2e}` reproduces.
//! * skeletons write [`PLACEHOLDER`] instead of each constant's three tokens.
//!
//! ```
//! use oplab_solvers::symbolic::tokens::{encode_float, encode_system, encode_system_skeleton, parse_system};
//! use oplab_solvers::systems;
//!
//! assert_eq!(encode_float(2.67).unwrap(), ["+", "N267", "E-2"]);
//! assert_eq!(encode_float(-10.0).unwrap(), ["-", "N100", "E-1"]);
//! // Lorenz-63 with its constants, and its skeleton; parsing inverts encoding.
//! let lorenz = systems::by_name("lorenz").unwrap();
//! let tokens = lorenz.tokens(&lorenz.nominal_params()).unwrap();
//! // The first component, σ·u_1 + (−σ)·u_0, begins `add mul + N100 E-1 u_1` (σ = 10).
//! assert_eq!(tokens[..6], ["add", "mul", "+", "N100", "E-1", "u_1"]);
//! let components = parse_system(&tokens).unwrap();
//! assert_eq!(components.len(), 3);
//! assert_eq!(encode_system(&components).unwrap(), tokens);
//! assert_eq!(encode_system_skeleton(&components)[..4], ["add", "mul", "<PLACEHOLDER>", "u_1"]);
//! ```

// The placeholder's text and the rounding of constants belong to the expressions (which print
// and round with them); they are re-exported here, where the token code uses them most.
pub use super::expr::{round_significant, PLACEHOLDER};
use super::expr::{BinaryOp, Expr, UnaryOp};

/// Separator between components.
pub const SEPARATOR: &str = "|";
/// PROSE's special words, in vocabulary order.
pub const SPECIAL_WORDS: [&str; 4] = ["<BOS>", "<EOS>", "<PAD>", PLACEHOLDER];
/// Mantissa digits (PROSE `float_precision + 1`).
pub const MANTISSA_DIGITS: usize = 3;
/// Largest exponent magnitude (PROSE `max_exponent`).
pub const MAX_EXPONENT: i32 = 10;
/// Deepest expression the parser accepts (guards the recursion against hostile input).
pub const MAX_PARSE_DEPTH: usize = 256;

/// Why an expression could not be tokenized.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    /// A constant is NaN or infinite.
    #[error("constant {value} is not finite; only finite constants can be tokenized")]
    NonFinite {
        /// The offending value.
        value: f64,
    },
    /// A constant's decimal exponent exceeds the vocabulary (`E10`).
    #[error("constant {value} needs exponent E{exponent}; the vocabulary allows E-{max}..E{max}", max = MAX_EXPONENT)]
    ExponentTooLarge {
        /// The offending value.
        value: f64,
        /// The exponent it would need.
        exponent: i32,
    },
    /// A parameter was left symbolic; substitute values first.
    #[error("parameter p{index} has no value; substitute parameters before tokenizing")]
    UnboundParameter {
        /// Parameter index.
        index: usize,
    },
    /// A placeholder cannot be written with its value (use the skeleton encoder).
    #[error("placeholder has no value; use skeleton encoding")]
    Placeholder,
    /// No components.
    #[error("a system needs at least one component")]
    Empty,
}

/// Why a token sequence could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The sequence (or a component) ended while an operand was expected.
    #[error("token stream ended at position {position} while an operand was expected")]
    UnexpectedEnd {
        /// Token index where more input was needed.
        position: usize,
    },
    /// A token that is no operator, variable, float part, integer or placeholder.
    #[error("unknown token {token:?} at position {position}")]
    UnknownToken {
        /// The token.
        token: String,
        /// Its index.
        position: usize,
    },
    /// A float's three tokens are malformed (e.g. `+ N12 E-1` or `+ N100 x`).
    #[error("malformed float at position {position}: {tokens:?} (expected sign, N000..N999, E-10..E10)")]
    BadFloat {
        /// Index of the sign token.
        position: usize,
        /// The tokens found.
        tokens: Vec<String>,
    },
    /// A component is complete but more tokens follow before the separator.
    #[error("component complete at position {position} but token {token:?} follows (missing operator or separator)")]
    TrailingTokens {
        /// Index of the first extra token.
        position: usize,
        /// That token.
        token: String,
    },
    /// Two separators in a row, or a separator at either end.
    #[error("empty component at position {position}")]
    EmptyComponent {
        /// Index where the empty component starts.
        position: usize,
    },
    /// Nesting deeper than [`MAX_PARSE_DEPTH`].
    #[error("expression nests deeper than {max} at position {position}", max = MAX_PARSE_DEPTH)]
    TooDeep {
        /// Token index where the limit was hit.
        position: usize,
    },
}

/// Decompose `value` into PROSE's (negative, mantissa 0..=999, exponent).
fn float_parts(value: f64) -> Result<(bool, u32, i32), EncodeError> {
    if !value.is_finite() {
        return Err(EncodeError::NonFinite { value });
    }
    let text = format!("{:.*e}", MANTISSA_DIGITS - 1, value.abs());
    let (mantissa_text, exponent_text) = text.split_once('e').expect("{:e} always has an exponent");
    let digits: String = mantissa_text.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut mantissa: u32 = digits.parse().expect("mantissa digits");
    let mut exponent = exponent_text.parse::<i32>().expect("exponent") - (MANTISSA_DIGITS as i32 - 1);
    if exponent < -MAX_EXPONENT {
        mantissa = 0;
        exponent = 0;
    }
    if exponent > MAX_EXPONENT {
        return Err(EncodeError::ExponentTooLarge { value, exponent });
    }
    // PROSE picks the sign with `val >= 0`, so -0.0 is written `+`.
    Ok((value < 0.0, mantissa, exponent))
}

/// The three tokens of one constant.
pub fn encode_float(value: f64) -> Result<[String; 3], EncodeError> {
    let (negative, mantissa, exponent) = float_parts(value)?;
    Ok([if negative { "-" } else { "+" }.to_string(), format!("N{mantissa:03}"), format!("E{exponent}")])
}

/// The value of a (sign, mantissa, exponent) triple, correctly rounded from its decimal form.
fn float_value(negative: bool, mantissa: u32, exponent: i32) -> f64 {
    let v: f64 = format!("{mantissa}e{exponent}").parse().expect("decimal literal");
    if negative {
        -v
    } else {
        v
    }
}

/// Prefix tokens of one component with constants written out.
pub fn encode_expr(expr: &Expr, out: &mut Vec<String>) -> Result<(), EncodeError> {
    match expr {
        Expr::Const(x) => out.extend(encode_float(*x)?),
        Expr::Param(k) => return Err(EncodeError::UnboundParameter { index: *k }),
        Expr::Var(i) => out.push(format!("u_{i}")),
        Expr::Placeholder => return Err(EncodeError::Placeholder),
        Expr::Unary(op, a) => {
            out.push(op.token().to_string());
            encode_expr(a, out)?;
        }
        Expr::Binary(op, a, b) => {
            out.push(op.token().to_string());
            encode_expr(a, out)?;
            encode_expr(b, out)?;
        }
    }
    Ok(())
}

/// Prefix tokens of one component with every constant (or parameter) as [`PLACEHOLDER`].
pub fn encode_skeleton_expr(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Const(_) | Expr::Param(_) | Expr::Placeholder => out.push(PLACEHOLDER.to_string()),
        Expr::Var(i) => out.push(format!("u_{i}")),
        Expr::Unary(op, a) => {
            out.push(op.token().to_string());
            encode_skeleton_expr(a, out);
        }
        Expr::Binary(op, a, b) => {
            out.push(op.token().to_string());
            encode_skeleton_expr(a, out);
            encode_skeleton_expr(b, out);
        }
    }
}

/// Tokens of a multi-component system, constants written out, components joined by `|`.
pub fn encode_system(components: &[Expr]) -> Result<Vec<String>, EncodeError> {
    if components.is_empty() {
        return Err(EncodeError::Empty);
    }
    let mut out = Vec::new();
    for (i, e) in components.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR.to_string());
        }
        encode_expr(e, &mut out)?;
    }
    Ok(out)
}

/// Skeleton tokens of a multi-component system.
pub fn encode_system_skeleton(components: &[Expr]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, e) in components.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR.to_string());
        }
        encode_skeleton_expr(e, &mut out);
    }
    out
}

fn unary_from_token(t: &str) -> Option<UnaryOp> {
    UnaryOp::ALL.into_iter().find(|op| op.token() == t)
}

fn binary_from_token(t: &str) -> Option<BinaryOp> {
    BinaryOp::ALL.into_iter().find(|op| op.token() == t)
}

fn parse_mantissa(t: &str) -> Option<u32> {
    let d = t.strip_prefix('N')?;
    (d.len() == MANTISSA_DIGITS && d.bytes().all(|b| b.is_ascii_digit())).then(|| d.parse().ok())?
}

fn parse_exponent(t: &str) -> Option<i32> {
    let e: i32 = t.strip_prefix('E')?.parse().ok()?;
    (-MAX_EXPONENT..=MAX_EXPONENT).contains(&e).then_some(e)
}

fn parse_var(t: &str) -> Option<usize> {
    let d = t.strip_prefix("u_")?;
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) || (d.len() > 1 && d.starts_with('0')) {
        return None;
    }
    d.parse().ok()
}

/// PROSE's single-token integers −10..10 (without 0); never produced by the encoder but part
/// of the vocabulary.
fn parse_int(t: &str) -> Option<i32> {
    let v: i32 = t.parse().ok()?;
    (v != 0 && (-10..=10).contains(&v) && t == v.to_string()).then_some(v)
}

struct Parser<'a, S: AsRef<str>> {
    tokens: &'a [S],
    /// Exclusive end of the current component.
    end: usize,
    pos: usize,
}

impl<S: AsRef<str>> Parser<'_, S> {
    fn parse(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if depth > MAX_PARSE_DEPTH {
            return Err(ParseError::TooDeep { position: self.pos });
        }
        if self.pos >= self.end {
            return Err(ParseError::UnexpectedEnd { position: self.pos });
        }
        let start = self.pos;
        let t = self.tokens[start].as_ref();
        self.pos += 1;
        if let Some(op) = binary_from_token(t) {
            let a = self.parse(depth + 1)?;
            let b = self.parse(depth + 1)?;
            return Ok(Expr::Binary(op, Box::new(a), Box::new(b)));
        }
        if let Some(op) = unary_from_token(t) {
            return Ok(Expr::Unary(op, Box::new(self.parse(depth + 1)?)));
        }
        if t == "+" || t == "-" {
            let bad = || ParseError::BadFloat {
                position: start,
                tokens: self.tokens[start..(start + 3).min(self.end)].iter().map(|s| s.as_ref().to_string()).collect(),
            };
            if start + 3 > self.end {
                return Err(bad());
            }
            let m = parse_mantissa(self.tokens[start + 1].as_ref()).ok_or_else(bad)?;
            let e = parse_exponent(self.tokens[start + 2].as_ref()).ok_or_else(bad)?;
            self.pos = start + 3;
            return Ok(Expr::Const(float_value(t == "-", m, e)));
        }
        if t == PLACEHOLDER {
            return Ok(Expr::Placeholder);
        }
        if let Some(i) = parse_var(t) {
            return Ok(Expr::Var(i));
        }
        if let Some(v) = parse_int(t) {
            return Ok(Expr::Const(v as f64));
        }
        Err(ParseError::UnknownToken { token: t.to_string(), position: start })
    }
}

/// Parse a token sequence (components separated by `|`) back into expressions.
///
/// Accepts both full and skeleton sequences; skeleton constants become [`Expr::Placeholder`].
pub fn parse_system<S: AsRef<str>>(tokens: &[S]) -> Result<Vec<Expr>, ParseError> {
    if tokens.is_empty() {
        return Err(ParseError::UnexpectedEnd { position: 0 });
    }
    let mut components = Vec::new();
    let mut start = 0;
    loop {
        let end = tokens[start..].iter().position(|t| t.as_ref() == SEPARATOR).map_or(tokens.len(), |k| start + k);
        if end == start {
            return Err(ParseError::EmptyComponent { position: start });
        }
        let mut p = Parser { tokens, end, pos: start };
        components.push(p.parse(0)?);
        if p.pos < end {
            return Err(ParseError::TrailingTokens { position: p.pos, token: tokens[p.pos].as_ref().to_string() });
        }
        if end == tokens.len() {
            return Ok(components);
        }
        start = end + 1;
        if start == tokens.len() {
            return Err(ParseError::EmptyComponent { position: start });
        }
    }
}

/// Parse a space-separated token string (the form stored in datasets).
pub fn parse_system_str(text: &str) -> Result<Vec<Expr>, ParseError> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    parse_system(&tokens)
}

/// PROSE's vocabulary for systems of up to `max_dim` components, in PROSE's id order:
/// special words, sorted equation symbols, special words again, sorted float words.
///
/// The special words appear twice exactly as in PROSE (`n_words = 1072` for `max_dim = 3`;
/// PROSE's word→id map keeps the later index of a duplicate).
pub fn prose_vocabulary(max_dim: usize) -> Vec<String> {
    let mut symbols: Vec<String> = Vec::new();
    symbols.extend(BinaryOp::ALL.iter().map(|o| o.token().to_string()));
    symbols.extend(UnaryOp::ALL.iter().map(|o| o.token().to_string()));
    symbols.extend((-10..=10).filter(|&i| i != 0).map(|i: i32| i.to_string()));
    symbols.push("CONSTANT".into());
    symbols.push("rand".into());
    symbols.extend((0..max_dim).map(|i| format!("u_{i}")));
    for s in [SEPARATOR, "INT+", "INT-", "FLOAT+", "FLOAT-", "pow", "0"] {
        symbols.push(s.into());
    }
    symbols.sort();
    symbols.dedup();
    let mut floats: Vec<String> = vec!["+".into(), "-".into()];
    floats.extend((0..1000).map(|m| format!("N{m:03}")));
    floats.extend((-MAX_EXPONENT..=MAX_EXPONENT).map(|e| format!("E{e}")));
    floats.sort();
    let mut vocab: Vec<String> = SPECIAL_WORDS.iter().map(|s| s.to_string()).collect();
    vocab.extend(symbols);
    vocab.extend(SPECIAL_WORDS.iter().map(|s| s.to_string()));
    vocab.extend(floats);
    vocab
}
