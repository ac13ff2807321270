//! The fuzz loop: budget, corpus, crash collection and the one summary line.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::mutate::Rng;

/// How long and from where one target runs, read from the environment so that `make test`
/// (defaults), the long run (`scripts/fuzz.sh --seconds 600`) and a reproduction share one code
/// path (test-harness settings in the manner of proptest's `PROPTEST_CASES`; oplab never reads
/// them):
/// * `FUZZ_SECONDS`: time budget (default 30);
/// * `FUZZ_SEED`: the seed of the input sequence (default: the target's fixed seed);
/// * `FUZZ_INPUTS`: stop after this many inputs (replays a reported input exactly: the
///   sequence depends only on the seed, never on the clock).
pub struct Budget {
    pub seconds: f64,
    pub seed: u64,
    pub max_inputs: Option<u64>,
}

impl Budget {
    pub fn from_env(default_seed: u64) -> Budget {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let seconds = var("FUZZ_SECONDS").map_or(30.0, |v| v.parse().unwrap_or_else(|_| panic!("FUZZ_SECONDS = {v} is not a number")));
        let seed = var("FUZZ_SEED").map_or(default_seed, |v| v.parse().unwrap_or_else(|_| panic!("FUZZ_SEED = {v} is not a u64")));
        let max_inputs = var("FUZZ_INPUTS").map(|v| v.parse().unwrap_or_else(|_| panic!("FUZZ_INPUTS = {v} is not a count")));
        Budget { seconds, seed, max_inputs }
    }
}

/// What one input did.
pub enum Verdict {
    /// Refused with an error (the expected outcome of most mutations).
    Rejected,
    /// Accepted as valid: the input joins the corpus, so later mutations start from it.
    Accepted,
    /// A failure of oplab: a panic, a signal, an unexpected exit code, a hang or a failed
    /// round-trip assertion; the string says which.
    Crash(String),
    /// A crash inside a third-party C library that oplab cannot prevent (reported, not failed).
    LibraryCrash(String),
}

/// Where crashing inputs are written (the test's target-scoped temporary directory).
pub fn crash_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-crashes");
    std::fs::create_dir_all(&dir).expect("create the crash directory");
    dir
}

/// Corpus entries beyond the seeds that are kept (accepted mutants replace older ones).
const EXTRA_CORPUS: usize = 64;
/// Distinct failures reported in full.
const MAX_REPORTED: usize = 20;

/// Totals of one run.
pub struct Summary {
    pub inputs: u64,
    pub accepted: u64,
    pub crashes: Vec<String>,
    pub library_crashes: Vec<String>,
}

/// Runs `target` until the budget is spent: each input is a corpus entry with 1 to 6 stacked
/// mutations (`mutate` gets the rng, the entry and a second entry for splices). Crashing inputs
/// are written with `save` under [`crash_dir`]; the summary line names the seed and the count.
pub fn run<I: Clone>(
    target: &str,
    budget: &Budget,
    seeds: Vec<I>,
    mut mutate: impl FnMut(&mut Rng, &mut I, &I) -> &'static str,
    mut exec: impl FnMut(&I) -> Verdict,
    save: impl Fn(&I, &Path),
) -> Summary {
    assert!(!seeds.is_empty(), "{target}: no seed inputs");
    let n_seeds = seeds.len();
    let mut corpus = seeds;
    let mut rng = Rng::new(budget.seed);
    let start = Instant::now();
    let mut summary = Summary { inputs: 0, accepted: 0, crashes: Vec::new(), library_crashes: Vec::new() };
    let mut seen: Vec<String> = Vec::new();
    loop {
        if budget.max_inputs.is_some_and(|m| summary.inputs >= m) || (budget.max_inputs.is_none() && start.elapsed().as_secs_f64() >= budget.seconds) {
            break;
        }
        let index = summary.inputs;
        let mut input = corpus[rng.below(corpus.len())].clone();
        let other = corpus[rng.below(corpus.len())].clone();
        let mut applied = Vec::new();
        for _ in 0..1 + rng.below(6) {
            applied.push(mutate(&mut rng, &mut input, &other));
        }
        summary.inputs += 1;
        let verdict = exec(&input);
        let (what, list) = match verdict {
            Verdict::Rejected => continue,
            Verdict::Accepted => {
                summary.accepted += 1;
                if corpus.len() < n_seeds + EXTRA_CORPUS {
                    corpus.push(input);
                } else {
                    let slot = n_seeds + rng.below(EXTRA_CORPUS);
                    corpus[slot] = input;
                }
                continue;
            }
            Verdict::Crash(what) => (what, &mut summary.crashes),
            Verdict::LibraryCrash(what) => (what, &mut summary.library_crashes),
        };
        // One report per distinct message (a message names the failing check, not the input).
        if seen.contains(&what) || seen.len() >= MAX_REPORTED {
            continue;
        }
        seen.push(what.clone());
        let path = crash_dir().join(format!("{target}-seed{}-input{index}", budget.seed));
        save(&input, &path);
        list.push(format!("input {index} ({}): {what}; saved to {}", applied.join(" + "), path.display()));
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "fuzz {target}: seed {}, {} inputs in {secs:.1} s ({} accepted), {} crashes, {} crashes inside libhdf5; reproduce: FUZZ_SEED={} FUZZ_INPUTS=<input + 1>",
        budget.seed,
        summary.inputs,
        summary.accepted,
        summary.crashes.len(),
        summary.library_crashes.len(),
        budget.seed
    );
    for line in &summary.library_crashes {
        eprintln!("  libhdf5 crash (the subprocess boundary contains it): {line}");
    }
    summary
}

/// Fails the test with every distinct crash.
pub fn assert_no_crash(target: &str, summary: &Summary) {
    assert!(summary.crashes.is_empty(), "fuzz {target}: {} crashes:\n  {}", summary.crashes.len(), summary.crashes.join("\n  "));
}

/// The message of a caught panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_else(|| "non-string panic".into())
}

/// The verdict of an in-process check run under [`catch`]: `Ok(true)` accepted, `Ok(false)`
/// refused with an error, `Err` a violated property; a panic is a crash.
pub fn checked(outcome: Result<Result<bool, String>, String>) -> Verdict {
    match outcome {
        Ok(Ok(true)) => Verdict::Accepted,
        Ok(Ok(false)) => Verdict::Rejected,
        Ok(Err(violation)) => Verdict::Crash(violation),
        Err(panic) => Verdict::Crash(format!("panic: {panic}")),
    }
}

thread_local! {
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into its message. The panic hook stays quiet for panics inside `f`
/// (the fuzzer reports them itself), and prints as usual for every other panic, such as a
/// failing assertion of a test.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(|c| c.get()) {
                default(info);
            }
        }));
    });
    CATCHING.with(|c| c.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| panic_message(&*p));
    CATCHING.with(|c| c.set(false));
    result
}
