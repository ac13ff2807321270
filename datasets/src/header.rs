//! The self-description every native file carries in its root attributes (schema version 1).

use crate::problem::Schema;
use crate::settings::Precision;

/// Version of the native layout this crate writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

/// Where a shard file sits in the whole dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardInfo {
    /// 1-based shard number.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
    /// Dataset index of the file's first sample.
    pub offset: u64,
    /// Samples in the whole dataset.
    pub total: u64,
}

/// Everything written to the root of a native file besides the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Problem name, e.g. `grf`.
    pub problem: String,
    /// Fully resolved configuration, TOML.
    pub config: String,
    /// Dataset seed.
    pub seed: u64,
    /// Samples in this file.
    pub n_samples: u64,
    /// Stored precision of fields and scalars.
    pub precision: Precision,
    /// gzip level (0 = none).
    pub compression: u8,
    /// Layout of the data.
    pub schema: Schema,
    /// Set for a file holding one shard of a dataset.
    pub shard: Option<ShardInfo>,
}

/// Crate version and the git commit it was built from (recorded by this crate's build script),
/// e.g. `0.1.0 (5cb4ad1e0f3a)`. One definition for `oplab --version` and the files' attribute,
/// so the two always agree; the workspace shares one version number.
pub const OPLAB_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("OPLAB_GIT_COMMIT"), ")");

/// The `oplab_version` attribute: [`OPLAB_VERSION`].
pub fn oplab_version() -> String {
    OPLAB_VERSION.to_string()
}

/// Current UTC time as RFC 3339 (`2026-11-29T05:29:48Z`), without a date-time dependency.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_786), (2026, 11, 29));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
    }
}
