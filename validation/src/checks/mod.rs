//! The registry of checks and the context they run in.

pub mod icl;
pub mod operators;
mod order;
pub mod rmt;
pub mod solvers;
pub mod solvers_pde;

use crate::error::Result;
use crate::report::CheckResult;
use crate::rmt::sim::StandardTrial;
use oplab_common::Progress;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Simulated student–teacher trials keyed by (α bits, N, trial count).
type TrialCache = HashMap<(u64, usize, usize), Arc<Vec<StandardTrial>>>;

/// Everything a check needs: sizes (quick or full), seeds, output directory, progress.
pub struct Ctx<'a> {
    /// Reduced sizes for `--quick`.
    pub quick: bool,
    /// Base seed.
    pub seed: u64,
    /// Directory receiving figures.
    pub out_dir: &'a Path,
    /// Progress sink.
    pub progress: &'a dyn Progress,
    trials: Mutex<TrialCache>,
}

impl<'a> Ctx<'a> {
    /// A context writing into `out_dir`.
    pub fn new(quick: bool, seed: u64, out_dir: &'a Path, progress: &'a dyn Progress) -> Self {
        Self { quick, seed, out_dir, progress, trials: Mutex::new(HashMap::new()) }
    }

    /// A ChaCha RNG determined only by (seed, stream, index): each check uses its own
    /// stream, each trial its own index, so selecting checks with `--only` never changes a
    /// number.
    pub fn rng(&self, stream: u64, index: u64) -> ChaCha8Rng {
        let mut z = self.seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
        // splitmix64 finaliser, so nearby (stream, index) pairs give unrelated seeds
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ChaCha8Rng::seed_from_u64(z ^ (z >> 31))
    }

    /// `trials` standard trials of the N×P student–teacher design at load `alpha`,
    /// computed once and shared by the checks that need them.
    pub fn rmt_trials(&self, alpha: f64, n: usize, trials: usize) -> Result<Arc<Vec<StandardTrial>>> {
        let key = (alpha.to_bits(), n, trials);
        if let Some(v) = self.trials.lock().map_err(|_| poisoned())?.get(&key) {
            return Ok(v.clone());
        }
        let p = ((alpha * n as f64).round() as usize).max(1);
        let mut out = Vec::with_capacity(trials);
        self.progress.message(&format!("  simulating α = {alpha}: {trials} trials with N = {n}"));
        for k in 0..trials {
            let mut rng = self.rng(0x524D_5400 ^ alpha.to_bits(), k as u64);
            out.push(StandardTrial::draw(n, p, &mut rng)?);
        }
        let v = Arc::new(out);
        self.trials.lock().map_err(|_| poisoned())?.insert(key, v.clone());
        Ok(v)
    }
}

fn poisoned() -> crate::error::ValidationError {
    crate::error::ValidationError::Numerical { context: "trial cache", message: "lock poisoned".into() }
}

/// A named check.
pub struct CheckSpec {
    /// Stable name used by `--only` and in `summary.json`.
    pub name: &'static str,
    /// Group ("rmt", "icl", "solver", "operator"); `--only GROUP` selects all checks of a group.
    pub group: &'static str,
    /// Runs the check.
    pub run: fn(&Ctx) -> Result<CheckResult>,
}

/// All checks, in report order.
pub fn all() -> Vec<CheckSpec> {
    let mut v = Vec::new();
    v.extend(rmt::checks());
    v.extend(icl::checks());
    v.extend(solvers::checks());
    v.extend(operators::checks());
    v
}
