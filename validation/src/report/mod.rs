//! Report data model (checks, measurements) and its HTML/JSON rendering.

pub mod html;

use serde::Serialize;

/// Outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every measurement is within its tolerance.
    Pass,
    /// At least one measurement is outside its tolerance.
    Fail,
    /// The check could not run (e.g. the solver it validates does not exist yet); it does
    /// not fail the report, and the reason is in the notes.
    Skipped,
}

/// One predicted-vs-measured comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// What is compared, e.g. "E_g(t=5), α=2, SNR=5".
    pub quantity: String,
    /// The theoretical prediction.
    pub predicted: f64,
    /// The simulated / measured value.
    pub measured: f64,
    /// Standard error of `measured`, when it is a Monte-Carlo mean.
    pub std_err: Option<f64>,
    /// Human-readable tolerance, e.g. "max(3 s.e., 2%)".
    pub tolerance: String,
    /// Whether the measurement is within tolerance.
    pub passed: bool,
}

impl Measurement {
    /// |measured − predicted| ≤ max(n_se·s.e., rel·|predicted|, abs).
    pub fn within(quantity: impl Into<String>, predicted: f64, measured: f64, std_err: Option<f64>, n_se: f64, rel: f64, abs: f64) -> Self {
        let se = std_err.unwrap_or(0.0);
        let tol = (n_se * se).max(rel * predicted.abs()).max(abs);
        let mut parts = Vec::new();
        if std_err.is_some() && n_se > 0.0 {
            parts.push(format!("{n_se} s.e."));
        }
        if rel > 0.0 {
            parts.push(format!("{}%", fmt_num(rel * 100.0)));
        }
        if abs > 0.0 {
            parts.push(fmt_num(abs));
        }
        let tolerance = if parts.len() == 1 { parts.remove(0) } else { format!("max({})", parts.join(", ")) };
        Self { quantity: quantity.into(), predicted, measured, std_err, tolerance, passed: (measured - predicted).abs() <= tol }
    }

    /// A one-sided bound: `measured` ≥ `bound` (predicted holds the bound).
    pub fn at_least(quantity: impl Into<String>, bound: f64, measured: f64) -> Self {
        Self { quantity: quantity.into(), predicted: bound, measured, std_err: None, tolerance: format!("≥ {}", fmt_num(bound)), passed: measured >= bound }
    }

    /// A one-sided bound: `measured` ≤ `bound`.
    pub fn at_most(quantity: impl Into<String>, bound: f64, measured: f64) -> Self {
        Self { quantity: quantity.into(), predicted: bound, measured, std_err: None, tolerance: format!("≤ {}", fmt_num(bound)), passed: measured <= bound }
    }

    /// `lo` ≤ `measured` ≤ `hi`; `predicted` is the expected value shown in the table.
    pub fn in_range(quantity: impl Into<String>, predicted: f64, measured: f64, lo: f64, hi: f64) -> Self {
        Self {
            quantity: quantity.into(),
            predicted,
            measured,
            std_err: None,
            tolerance: format!("in [{}, {}]", fmt_num(lo), fmt_num(hi)),
            passed: (lo..=hi).contains(&measured),
        }
    }
}

/// Compact number formatting for tables and tolerances.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞".into() } else { "−∞".into() };
    }
    let a = x.abs();
    if x == 0.0 {
        "0".into()
    } else if (1e-3..1e5).contains(&a) {
        let s = format!("{x:.5}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{x:.3e}")
    }
}

/// The result of one check: what theory predicts, the figures, the comparisons.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Stable machine name, as used by `--only`.
    pub name: String,
    /// Section heading.
    pub title: String,
    /// What is predicted, and by whom (prose, plain text).
    pub prediction: String,
    /// How it is measured (sizes, trials, seeds).
    pub method: String,
    /// Figure stems (files `<stem>.png` and `<stem>.svg` in the output directory).
    pub figures: Vec<String>,
    /// The comparisons.
    pub measurements: Vec<Measurement>,
    /// Remarks: caveats, reasons for skipping, observations.
    pub notes: Vec<String>,
    /// Overall outcome.
    pub status: Status,
    /// Wall time of the check in seconds.
    pub wall_s: f64,
}

impl CheckResult {
    /// A new, still empty result (status is derived by [`CheckResult::finish`]).
    pub fn new(name: &str, title: &str, prediction: impl Into<String>, method: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            prediction: prediction.into(),
            method: method.into(),
            figures: Vec::new(),
            measurements: Vec::new(),
            notes: Vec::new(),
            status: Status::Pass,
            wall_s: 0.0,
        }
    }

    /// Sets the status from the measurements (a check with no measurements passes only if
    /// it was explicitly skipped; otherwise it fails, since nothing was verified).
    pub fn finish(mut self) -> Self {
        if self.status != Status::Skipped {
            let ok = !self.measurements.is_empty() && self.measurements.iter().all(|m| m.passed);
            self.status = if ok { Status::Pass } else { Status::Fail };
        }
        self
    }
}

/// The whole report, as written to `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Version of oplab-validation that produced it.
    pub oplab_version: String,
    /// Whether the reduced `--quick` sizes were used.
    pub quick: bool,
    /// Base seed of all random draws.
    pub seed: u64,
    /// True iff no check failed.
    pub passed: bool,
    /// Total wall time in seconds.
    pub wall_s: f64,
    /// The checks, in run order.
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// Names of the failed checks.
    pub fn failed(&self) -> Vec<&str> {
        self.checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.name.as_str()).collect()
    }
}
