//! Generation settings shared by every problem: how many samples, which seed, stored precision,
//! compression, and the shard of the run.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::{DatasetError, Result};

/// Floating-point type the fields are stored in. Solvers always compute in f64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// IEEE single precision (default; what models train in).
    #[default]
    F32,
    /// IEEE double precision.
    F64,
}

impl Precision {
    /// Bytes per stored value.
    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F64 => 8,
        }
    }

    /// The name used in configs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}

impl FromStr for Precision {
    type Err = DatasetError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(Precision::F32),
            "f64" => Ok(Precision::F64),
            _ => Err(DatasetError::invalid("precision", s, "must be f32 or f64")),
        }
    }
}

/// The dataset-level part of a run's configuration. Stored (with the problem's own table) in the
/// file's `config` attribute and compared on resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationSettings {
    /// Number of samples in the whole dataset (all shards together).
    pub n: u64,
    /// Dataset seed; sample `i` draws from the stream `(seed, i)`.
    pub seed: u64,
    /// Stored floating-point precision.
    pub precision: Precision,
    /// gzip level 1–9, or 0 for no compression.
    pub compression: u8,
}

impl Default for GenerationSettings {
    fn default() -> Self {
        Self { n: 16, seed: 0, precision: Precision::F32, compression: 0 }
    }
}

impl GenerationSettings {
    /// Check ranges, naming the first invalid field.
    pub fn validate(&self) -> Result<()> {
        if self.n == 0 {
            return Err(DatasetError::invalid("n", self.n, "must be >= 1"));
        }
        if self.compression > 9 {
            return Err(DatasetError::invalid("compression", self.compression, "must be 0 (none) to 9"));
        }
        Ok(())
    }
}

/// Shard `index` of `count` (1-based), as in `--shard 2/3`: a contiguous range of sample indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based shard number.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// The whole dataset as a single shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Build and validate a shard.
    pub fn new(index: u64, count: u64) -> Result<Self> {
        if count == 0 {
            return Err(DatasetError::invalid("shard", format!("{index}/{count}"), "the shard count M in K/M must be >= 1"));
        }
        if index == 0 || index > count {
            return Err(DatasetError::invalid("shard", format!("{index}/{count}"), format!("K in K/M must be between 1 and M = {count}")));
        }
        Ok(Shard { index, count })
    }

    /// Whether this is the whole dataset.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// Sample indices `[start, stop)` of this shard of an `n`-sample dataset. Shards differ in
    /// size by at most one sample and cover `0..n` exactly once.
    pub fn range(&self, n: u64) -> std::ops::Range<u64> {
        let start = ((self.index - 1) as u128 * n as u128 / self.count as u128) as u64;
        let stop = (self.index as u128 * n as u128 / self.count as u128) as u64;
        start..stop
    }
}

impl FromStr for Shard {
    type Err = DatasetError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || DatasetError::invalid("shard", s, "must be K/M with 1 <= K <= M, e.g. 2/3");
        let (k, m) = s.split_once('/').ok_or_else(bad)?;
        let k: u64 = k.trim().parse().map_err(|_| bad())?;
        let m: u64 = m.trim().parse().map_err(|_| bad())?;
        Shard::new(k, m)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_samples() {
        for n in [1u64, 2, 3, 10, 101] {
            for m in 1..=7u64 {
                let mut next = 0;
                for k in 1..=m {
                    let r = Shard::new(k, m).unwrap().range(n);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
    }

    #[test]
    fn bad_shards_are_rejected_with_the_value() {
        for s in ["4/3", "0/3", "1/0", "x", "1-3"] {
            let e = s.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains(s) && e.starts_with("shard"), "{e}");
        }
        assert_eq!("2/3".parse::<Shard>().unwrap(), Shard { index: 2, count: 3 });
    }
}
