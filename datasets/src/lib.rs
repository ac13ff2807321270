//! HDF5 datasets for oplab: the native schema, a deterministic, parallel, crash-safe and
//! resumable generation driver, shard merging, reading and inspection.
//!
//! The flow: a [`Problem`] describes its [`Schema`] and produces sample `i` from the random stream
//! `(seed, i)`; [`generate()`] runs it over a [`Shard`] of the indices with rayon, stores finished
//! blocks in `OUT.partial/` (each fsynced and renamed into place, so `kill -9` loses at most the
//! blocks in flight), and finally assembles `OUT` under a temporary name and renames it. The data
//! bytes depend only on the configuration and seed, never on threads, shards or resume points.
//! [`generate_exported`] then writes an export layout from the native file.
//!
//! Every problem is one module of [`problems`] implementing [`ProblemModule`] (configuration,
//! command-line options behind the `cli` feature, sampler, exports) and one line of
//! [`problems::visit_all`], the registry the command line is built from.
#![warn(missing_docs)]

pub mod batch;
pub mod blocks;
pub mod config_diff;
#[cfg(feature = "mpi")]
pub mod distributed;
pub mod error;
pub mod export;
pub mod generate;
pub mod header;
pub mod inspect;
pub mod merge;
pub mod problem;
pub mod problems;
pub mod reader;
mod scales;
pub mod schema;
pub mod settings;
pub mod writer;

pub use error::{DatasetError, InvalidParameter, Result};
pub use generate::{
    existing_output, generate, generate_exported, is_finished, resolved_config, thread_pool, ExistingOutput, Export, Plan, RunOptions, RunSummary,
};
pub use header::{oplab_version, OPLAB_VERSION};
pub use inspect::{inspect, Inspection};
pub use merge::merge;
pub use oplab_common::progress::{Progress, Silent};
pub use problem::{resolve_config, sample_rng, Problem, ProblemModule, Role, Sample, SampleError, SampleRng, Schema};
pub use reader::{DatasetFile, OpenOptions};
pub use settings::{GenerationSettings, Precision, Shard};
