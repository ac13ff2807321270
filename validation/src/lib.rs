//! oplab-validation: checks of learning-dynamics theory against numerics, solver and
//! operator checks, and the plotted HTML report that `oplab validate` writes.
//!
//! Entry point: [`run`] with [`Options`]; it writes `out_dir/index.html`,
//! `out_dir/summary.json` and one PNG + SVG per figure, and returns the [`Report`].
//!
//! Modules: [`rmt`] (Advani & Saxe random-matrix theory and the exact finite-N simulation),
//! [`icl`] (in-context learning as gradient descent: data, LSA layer in burn, GD/GD++ and
//! baselines), [`checks`] (the registry of report sections), [`plot`] and [`report`]
//! (rendering), [`quad`] and [`stats`] (numerical helpers).
#![warn(missing_docs)]
// Index loops over several arrays at once read like the formulas they implement.
#![allow(clippy::needless_range_loop)]

pub mod checks;
pub mod error;
pub mod icl;
pub mod plot;
pub mod quad;
pub mod report;
pub mod rmt;
pub mod stats;

pub use error::{Result, ValidationError};
pub use oplab_common::progress::{Progress, Silent};
pub use report::{CheckResult, Measurement, Report, Status};

use std::path::PathBuf;
use std::time::Instant;

/// Options of a validation run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Reduced sizes (fewer trials, smaller N, shorter training); must finish in < 2 min on 2 cores.
    pub quick: bool,
    /// Check names or groups to run (empty: all). Groups: `rmt`, `icl`, `solver`, `operator`.
    pub only: Vec<String>,
    /// Output directory (created if missing).
    pub out_dir: PathBuf,
    /// Base seed of every random draw.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self { quick: false, only: Vec::new(), out_dir: PathBuf::from("validation-report"), seed: 20_240_601 }
    }
}

/// Names of all checks, in report order.
pub fn check_names() -> Vec<&'static str> {
    checks::all().iter().map(|c| c.name).collect()
}

/// Resolves `only` against the registry; unknown names are a typed error listing the valid ones.
fn select(only: &[String]) -> Result<Vec<checks::CheckSpec>> {
    let all = checks::all();
    if only.is_empty() {
        return Ok(all);
    }
    for name in only {
        if !all.iter().any(|c| c.name == name || c.group == name) {
            let mut allowed: Vec<&str> = all.iter().map(|c| c.name).collect();
            for c in &all {
                if !allowed.contains(&c.group) {
                    allowed.push(c.group);
                }
            }
            return Err(ValidationError::invalid("only", name, allowed.join(", ")));
        }
    }
    Ok(all.into_iter().filter(|c| only.iter().any(|o| o == c.name || o == c.group)).collect())
}

/// Runs the selected checks without progress output. See [`run_with_progress`].
pub fn run(options: &Options) -> Result<Report> {
    run_with_progress(options, &Silent)
}

/// Runs the selected checks, writes figures, `index.html` and `summary.json` into
/// `options.out_dir`, and returns the report. A failing check is reported, not an error;
/// errors are bad options, I/O failures and numerical breakdowns. The harness never prints:
/// `progress` gets `start` once with the number of checks, `message` for the running check and
/// its inner steps, `advance(1)` after each check, `finish` at the end (also on error).
pub fn run_with_progress(options: &Options, progress: &dyn Progress) -> Result<Report> {
    let selected = select(&options.only)?;
    std::fs::create_dir_all(&options.out_dir).map_err(|e| ValidationError::Io { path: options.out_dir.clone(), source: e })?;
    let start = Instant::now();
    let ctx = checks::Ctx::new(options.quick, options.seed, &options.out_dir, progress);
    progress.start("validate", selected.len() as u64, 0);
    let mut results = Vec::with_capacity(selected.len());
    for spec in &selected {
        progress.message(&format!("{} …", spec.name));
        let t0 = Instant::now();
        let mut res = match (spec.run)(&ctx) {
            Ok(r) => r,
            Err(e) => {
                progress.finish();
                return Err(e);
            }
        };
        res.wall_s = t0.elapsed().as_secs_f64();
        progress.message(&format!(
            "{}: {} ({:.1} s)",
            spec.name,
            match res.status {
                Status::Pass => "pass",
                Status::Fail => "FAIL",
                Status::Skipped => "skipped",
            },
            res.wall_s
        ));
        progress.advance(1);
        results.push(res);
    }
    progress.finish();
    let report = Report {
        oplab_version: env!("CARGO_PKG_VERSION").to_string(),
        quick: options.quick,
        seed: options.seed,
        passed: results.iter().all(|r| r.status != Status::Fail),
        wall_s: start.elapsed().as_secs_f64(),
        checks: results,
    };
    report::html::write(&report, &options.out_dir)?;
    Ok(report)
}
