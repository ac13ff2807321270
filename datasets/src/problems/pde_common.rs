//! Helpers shared by the PDE problems: coordinate vectors, subsampling, the stored config, the
//! options and exports of the 1-D time-dependent problems.

use ndarray::Axis;

use crate::error::{DatasetError, Result};
use crate::export::{ExportFile, NativeFile};
use crate::problem::{Dimension, SampleError};

/// `s` nodes `i/(s−1)` of the unit interval, every `k`-th kept (numpy `[::k]`).
pub(crate) fn node_coordinates(s: usize, k: usize) -> Vec<f64> {
    (0..s).step_by(k).map(|i| i as f64 / (s - 1) as f64).collect()
}

/// `n` periodic points `j/n`, every `k`-th kept.
pub(crate) fn periodic_coordinates(n: usize, k: usize) -> Vec<f64> {
    (0..n).step_by(k).map(|j| j as f64 / n as f64).collect()
}

/// A named coordinate vector.
pub(crate) fn dimension(name: &str, values: Vec<f64>) -> Dimension {
    Dimension { name: name.into(), values }
}

/// Equally spaced stored times `0, T/n, …, T`.
pub(crate) fn record_times(final_time: f64, n: usize) -> Vec<f64> {
    (0..=n).map(|k| final_time * k as f64 / n as f64).collect()
}

/// A solver failure for sample `index` (the solver's message names its parameters).
pub(crate) fn sample_error(index: u64, e: impl std::fmt::Display) -> SampleError {
    SampleError { index, message: e.to_string() }
}

/// Check a subsampling factor against a range of allowed factors.
pub(crate) fn check_subsample(k: usize) -> Result<(), DatasetError> {
    if k == 0 {
        return Err(DatasetError::invalid("subsample", k, "must be >= 1"));
    }
    Ok(())
}

/// Refuse a solver grid of more than `max` points per direction.
pub(crate) fn check_resolution_at_most(resolution: usize, max: usize) -> Result<()> {
    if resolution > max {
        return Err(DatasetError::invalid("resolution", resolution, format!("must be <= {max}")));
    }
    Ok(())
}

/// The problem's configuration as TOML whose nested tables are written inline
/// (`grf = { alpha = 2.0, ... }`): the driver stores it under a `[<problem>]` header, where a
/// nested `[grf]` header would become a separate top-level table.
pub(crate) fn inline_toml<T: serde::Serialize>(config: &T) -> String {
    let value = toml::Value::try_from(config).expect("config serialises");
    let mut out = String::new();
    if let toml::Value::Table(table) = value {
        for (key, v) in table {
            out.push_str(&format!("{key} = {v}\n"));
        }
    }
    out
}

/// FNO's file of a 1-D time-dependent problem: `a` = u(t = 0) and `u` = u(T), each (N, X), from
/// the native `u` (N, T+1, X).
pub(crate) fn fno_export_1d(native: &NativeFile, out: &ExportFile) -> Result<()> {
    let u = native.read("fields/u")?;
    let last = u.shape()[1] - 1;
    let file = out.matlab(native.single())?;
    file.write("a", u.index_axis(Axis(1), 0).to_owned())?;
    file.write("u", u.index_axis(Axis(1), last).to_owned())?;
    file.finish()
}

/// PDEBench's file of a 1-D time-dependent problem: `tensor` (N, Nt, Nx), `x-coordinate` (Nx),
/// `t-coordinate` (Nt + 1: the stored times plus one more step, as in PDEBench's files) and the
/// equation's `parameters` as root attributes.
pub(crate) fn pdebench_export_1d(native: &NativeFile, out: &ExportFile, parameters: &[(&str, f64)]) -> Result<()> {
    let file = out.pdebench()?;
    file.write("tensor", &native.read("fields/u")?)?;
    file.write("x-coordinate", &native.read("dimensions/x")?)?;
    let times = native.read("dimensions/time")?;
    let n = times.len();
    let step = if n > 1 { times[[n - 1]] - times[[n - 2]] } else { 0.0 };
    let mut t: Vec<f64> = times.iter().copied().collect();
    t.push(t[n - 1] + step);
    file.write_f32("t-coordinate", &ndarray::Array1::from_iter(t.iter().map(|v| *v as f32)))?;
    for (name, value) in parameters {
        file.attribute(name, *value)?;
    }
    file.finish()
}

/// Time-dependent options shared by the evolution problems (keys of their solver's config).
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, serde::Serialize)]
pub struct EvolutionArgs {
    /// Grid points per direction of the solver.
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Final time T.
    #[arg(long)]
    pub final_time: Option<f64>,
    /// Stored times after t = 0 (t = 0 is stored too).
    #[arg(long)]
    pub record_times: Option<usize>,
}
