//! Helpers shared by the PDE problems: coordinate vectors, subsampling, error mapping.

use crate::error::DatasetError;
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

/// A solver's configuration error, as a dataset configuration error.
pub(crate) fn config_error(e: impl std::fmt::Display) -> DatasetError {
    // Solver errors already read "field = value is invalid: allowed"; keep that text.
    let text = e.to_string();
    match text.split_once(" = ") {
        Some((field, rest)) => match rest.split_once(" is invalid: ") {
            Some((value, allowed)) => DatasetError::invalid(field, value, allowed),
            None => DatasetError::invalid(field, rest, "rejected by the solver"),
        },
        None => DatasetError::invalid("config", text, "rejected by the solver"),
    }
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
