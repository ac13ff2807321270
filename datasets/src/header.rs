//! The self-description every native file carries in its root attributes (schema version 1).

use crate::schema::Schema;
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

/// Current UTC time as RFC 3339 (`2026-11-29T05:29:48Z`).
pub use oplab_common::time::now_rfc3339;
