//! Target (b): configuration TOML, in process (a panic is caught and is a crash).
//!
//! Every input text goes through every configuration parser oplab has:
//! * generation: parsed as a TOML table as `oplab generate --config` does, then each problem's
//!   `[<name>]` table through `resolve_config` and the problem's validating constructor, then its
//!   resolved configuration (what a file stores and a resume compares) must parse back to the
//!   same problem configuration;
//! * training: `TrainConfig` (mgno, fno, unet, cnn), `ProseConfig`, `AlrnnTrainConfig` through
//!   `RunConfig::from_toml` and `validate`; an accepted config must survive `to_toml` →
//!   `from_toml` unchanged (the run directory stores it and `--resume` re-reads it), and its
//!   data-dependent defaults are resolved against a small valid file of its kind.
//!
//! Every refusal must be one line (the command line prints errors as they are).
//! Mutations work on TOML tokens (keys, numbers, punctuation; numbers become huge, negative,
//! NaN, inf or empty) and on the raw bytes.

use std::path::{Path, PathBuf};

use oplab_datasets::problems::{visit_all, Visitor};
use oplab_datasets::{resolve_config, resolved_config, GenerationSettings, ProblemModule};
use oplab_operators::dynamics::AlrnnTrainConfig;
use oplab_operators::prose::ProseConfig;
use oplab_operators::run::RunConfig;
use oplab_operators::training::config::TrainConfig;
use serde::Serialize;

use crate::driver::{self, catch, Budget, Verdict};
use crate::mutate::{mutate_bytes, mutate_tokens, Hotspots, Rng, HOSTILE_NUMBERS};

/// No command-line overrides (the fuzzed file alone decides).
#[derive(Serialize)]
struct NoOverrides {}

/// TOML text split into tokens that join back to the text: runs of key/number characters,
/// quoted strings, runs of whitespace, and single punctuation characters.
fn toml_tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut token = c.to_string();
        let word = |c: char| c.is_alphanumeric() || "_-.+".contains(c);
        if word(c) {
            while let Some(&n) = chars.peek().filter(|&&n| word(n)) {
                token.push(n);
                chars.next();
            }
        } else if c == '"' {
            for n in chars.by_ref() {
                token.push(n);
                if n == '"' {
                    break;
                }
            }
        } else if c.is_whitespace() {
            while let Some(&n) = chars.peek().filter(|n| n.is_whitespace()) {
                token.push(n);
                chars.next();
            }
        }
        out.push(token);
    }
    out
}

struct Target {
    seeds: Vec<String>,
    dictionary: Vec<String>,
    darcy: PathBuf,
    prose: PathBuf,
    ode: PathBuf,
}

impl Target {
    fn new() -> Target {
        let corpus = crate::fuzz_dir().join("corpus");
        let mut seeds: Vec<String> = Vec::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(&corpus).expect("tests/fuzz/corpus exists").map(|e| e.unwrap().path()).collect();
        names.sort();
        for path in names.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
            seeds.push(std::fs::read_to_string(path).expect("readable seed config"));
        }
        // Every key of every family, spelled out by its defaults: these follow the code.
        for model in ["mgno", "fno", "unet", "cnn"] {
            seeds.push(TrainConfig::default_for(model).expect("a known model").to_toml());
        }
        seeds.push(ProseConfig::default().to_toml());
        seeds.push(AlrnnTrainConfig::default().to_toml());
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for extra in ["scripts/quickstart-mgno.toml", "bench/alrnn/lorenz.toml"] {
            if let Ok(text) = std::fs::read_to_string(root.join(extra)) {
                seeds.push(text);
            }
        }
        let mut dictionary: Vec<String> = seeds.iter().flat_map(|s| toml_tokens(s)).collect();
        dictionary.sort();
        dictionary.dedup();
        dictionary.extend(["[", "]", "[[", "]]", "{", "}", "=", ",", "\"", "'", "\n", "#", ".", "true", "false", "[]", "{}", "\"\"\""].map(String::from));
        dictionary.extend(HOSTILE_NUMBERS.iter().map(|s| s.to_string()));
        Target { seeds, dictionary, darcy: corpus.join("darcy3.h5"), prose: corpus.join("prose.h5"), ode: corpus.join("ode.h5") }
    }

    fn mutate(&self, rng: &mut Rng, text: &mut String, other: &String) -> &'static str {
        if rng.chance(4) {
            let mut bytes = std::mem::take(text).into_bytes();
            let what = mutate_bytes(rng, &mut bytes, other.as_bytes(), &Hotspots(&[]), 1 << 16);
            *text = String::from_utf8_lossy(&bytes).into_owned();
            what
        } else {
            let mut tokens = toml_tokens(text);
            let what = mutate_tokens(rng, &mut tokens, &self.dictionary, &toml_tokens(other));
            *text = tokens.concat();
            what
        }
    }

    fn exec(&self, text: &str) -> Verdict {
        driver::checked(catch(|| self.check(text)))
    }

    /// Ok(true) when some parser accepted the text and every property held.
    fn check(&self, text: &str) -> Result<bool, String> {
        let mut accepted = false;
        accepted |= check_generation(text)?;
        accepted |= check_run_config::<TrainConfig>(text, &self.darcy)?;
        accepted |= check_run_config::<ProseConfig>(text, &self.prose)?;
        accepted |= check_run_config::<AlrnnTrainConfig>(text, &self.ode)?;
        Ok(accepted)
    }
}

/// A training family's path: parse, validate, store and re-read, resolve against `data`.
fn check_run_config<C: RunConfig>(text: &str, data: &Path) -> Result<bool, String> {
    let family = std::any::type_name::<C>();
    let cfg = match C::from_toml(text) {
        Ok(cfg) => cfg,
        Err(e) => return one_line(family, &e.to_string()).map(|_| false),
    };
    if let Err(e) = cfg.validate() {
        return one_line(family, &e.to_string()).map(|_| false);
    }
    let stored = cfg.to_toml();
    let again = C::from_toml(&stored)
        .map_err(|e| format!("{}: a valid config does not re-read from its stored form: {e}\nstored:\n{stored}", std::any::type_name::<C>()))?;
    if again.to_toml() != stored {
        return Err(format!("{}: the stored config changes when re-read:\n{stored}\n->\n{}", std::any::type_name::<C>(), again.to_toml()));
    }
    if let Err(e) = cfg.resolve(data) {
        one_line(family, &e.to_string())?;
    }
    Ok(true)
}

/// oplab's errors for bad input are one line (the command line prints them as they are).
fn one_line(what: &str, message: &str) -> Result<(), String> {
    if message.contains('\n') {
        return Err(format!("{what}: the error is not one line: {message:?}"));
    }
    Ok(())
}

/// The generation path of every problem whose table the text has.
fn check_generation(text: &str) -> Result<bool, String> {
    let Ok(table) = text.parse::<toml::Table>() else { return Ok(false) };
    struct Each<'a> {
        table: &'a toml::Table,
        accepted: bool,
        violation: Option<String>,
    }
    impl Visitor for Each<'_> {
        fn visit<P: ProblemModule>(&mut self) {
            let Some(toml::Value::Table(t)) = self.table.get(P::NAME) else { return };
            if self.violation.is_some() {
                return;
            }
            match generation_round_trip::<P>(t) {
                Ok(accepted) => self.accepted |= accepted,
                Err(v) => self.violation = Some(v),
            }
        }
    }
    let mut each = Each { table: &table, accepted: false, violation: None };
    visit_all(&mut each);
    match each.violation {
        Some(v) => Err(v),
        None => Ok(each.accepted),
    }
}

fn generation_round_trip<P: ProblemModule>(table: &toml::Table) -> Result<bool, String> {
    let config = match resolve_config::<P::Config, _>(Some(table.clone()), &NoOverrides {}) {
        Ok(config) => config,
        Err(e) => return one_line(P::NAME, &e).map(|_| false),
    };
    let problem = match P::new(config) {
        Ok(problem) => problem,
        Err(e) => return one_line(P::NAME, &e.to_string()).map(|_| false),
    };
    let settings = GenerationSettings::default();
    let stored = resolved_config(&problem, &settings);
    let doc: toml::Table = stored.parse().map_err(|e| format!("{}: the stored config is not TOML: {e}\n{stored}", P::NAME))?;
    let Some(toml::Value::Table(again)) = doc.get(P::NAME) else { return Err(format!("{}: the stored config lacks its table\n{stored}", P::NAME)) };
    let config = resolve_config::<P::Config, _>(Some(again.clone()), &NoOverrides {})
        .map_err(|e| format!("{}: the stored config does not re-read: {e}\n{stored}", P::NAME))?;
    let problem = P::new(config).map_err(|e| format!("{}: the stored config is refused when re-read: {e}\n{stored}", P::NAME))?;
    let restored = resolved_config(&problem, &settings);
    if restored != stored {
        return Err(format!("{}: the stored config changes when re-read:\n{stored}\n->\n{restored}", P::NAME));
    }
    Ok(true)
}

fn save(text: &String, path: &Path) {
    std::fs::write(path.with_extension("toml"), text).expect("write the crashing input");
}

#[test]
#[ignore = "fuzzing, 30 s: run by `make test` (--ignored) and scripts/fuzz.sh"]
fn fuzz_config_toml() {
    let target = Target::new();
    let budget = Budget::from_env(0xc0f1);
    let summary =
        driver::run("config-toml", &budget, target.seeds.clone(), |rng, input, other| target.mutate(rng, input, other), |input| target.exec(input), save);
    driver::assert_no_crash("config-toml", &summary);
    assert!(summary.accepted > 0, "no mutated config was accepted: the mutations never reached validation");
}

/// Every seed is accepted by some parser (else the corpus is stale), and every input under
/// tests/fuzz/regressions/toml-*.toml holds every property.
#[test]
fn config_regressions() {
    let target = Target::new();
    for (i, seed) in target.seeds.iter().enumerate() {
        assert!(matches!(target.exec(seed), Verdict::Accepted), "seed config {i} is not accepted:\n{seed}");
    }
    for (name, text) in crate::regressions("toml-", "toml") {
        if let Verdict::Crash(what) = target.exec(&String::from_utf8_lossy(&text)) {
            panic!("{name}: {what}");
        }
    }
}
