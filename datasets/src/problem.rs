//! What a dataset problem supplies: to the generation driver its schema and "make sample i"
//! ([`Problem`]); to the command line, the registry and the exports everything else
//! ([`ProblemModule`]: name, help, configuration, options, export layouts).
//!
//! A [`Problem`] is pure: `sample(i, rng)` must depend only on the problem's configuration, the
//! index `i` and the random stream it is handed (a ChaCha20 stream keyed by `(seed, i)`, see
//! [`sample_rng`]). The driver relies on this for byte-identical output whatever the thread
//! count, shard split or resume point.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Result;
pub use crate::error::SampleError;
use crate::export::{ExportLayout, Exporter};
pub use crate::schema::{Dimension, FieldSpec, Role, Sample, ScalarSpec, Schema, TextSpec};

/// The random-number generator every sample draws from.
pub type SampleRng = ChaCha20Rng;

/// The RNG for sample `index` of a dataset with seed `seed`: ChaCha20 keyed by `seed`
/// (`seed_from_u64`) on stream `index`. Independent of every other sample's stream.
pub fn sample_rng(seed: u64, index: u64) -> SampleRng {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

/// A dataset problem: a schema, a resolved configuration, and a pure per-sample generator.
pub trait Problem: Send + Sync {
    /// Problem name as used on the command line and in the `problem` attribute, e.g. `grf`.
    fn name(&self) -> &str;

    /// The layout of every sample.
    fn schema(&self) -> Schema;

    /// The fully resolved problem configuration as a TOML table (every default spelled out).
    /// Stored in the file and compared on resume.
    fn config_toml(&self) -> String;

    /// Produce sample `index` from its own random stream.
    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError>;
}

/// A dataset problem as one module declares it: its name and help, its configuration (the
/// `[<name>]` table of a config file, which embeds the solver's configuration), its own
/// command-line options, how it is built from a configuration, and the layouts it can be
/// exported to. `problems::visit_all` lists every problem; the command line builds
/// `oplab generate <name>` from this and nothing else.
///
/// This is a separate trait from [`Problem`] so that the driver can keep taking `&dyn Problem`
/// (a trait with associated types could not be used that way) and so that ad-hoc problems (tests,
/// benchmarks) need only implement the sampler.
pub trait ProblemModule: Problem + Sized {
    /// Name on the command line and in the `problem` attribute, e.g. `darcy`.
    const NAME: &'static str;
    /// One line for `oplab generate --help`.
    const ABOUT: &'static str;
    /// The examples shown below the options of `oplab generate <name> --help`.
    const EXAMPLES: &'static str;

    /// The configuration (the `[<name>]` table); `Default` holds every default.
    type Config: Serialize + DeserializeOwned + Default;

    /// The problem's own command-line options (the command line adds the options every problem
    /// shares). Each option given serialises to the configuration key it overrides, under that
    /// key's name; an option not given serialises to nothing. Declared here, parsed by the CLI.
    #[cfg(feature = "cli")]
    type Args: clap::Args + Serialize;

    /// Validate `config`, resolve its defaults and do the set-up sampling needs.
    fn new(config: Self::Config) -> Result<Self>;

    /// The layouts this problem's native files can be exported to, each with its writer (native
    /// output needs no entry).
    const EXPORTS: &'static [(ExportLayout, Exporter)] = &[];

    /// The writer of `layout` for this problem, or `None` when it has no such layout.
    fn exporter(layout: ExportLayout) -> Option<Exporter> {
        Self::EXPORTS.iter().find(|(l, _)| *l == layout).map(|(_, writer)| *writer)
    }
}

/// A problem's configuration from its `[<name>]` table (`None`: no table, all defaults) with the
/// values of `overrides` (a [`ProblemModule::Args`], or any value that serialises to a table of
/// config keys) laid over it: defaults, then the table, then the overrides. The error is TOML's
/// one-line description of the first key that does not fit (unknown key, wrong type).
pub fn resolve_config<C: DeserializeOwned, O: Serialize>(table: Option<toml::Table>, overrides: &O) -> Result<C, String> {
    fn lay_over(base: &mut toml::Table, top: toml::Table) {
        for (key, value) in top {
            match (base.get_mut(&key), value) {
                (Some(toml::Value::Table(b)), toml::Value::Table(t)) => lay_over(b, t),
                (_, value) => {
                    base.insert(key, value);
                }
            }
        }
    }
    let mut merged = table.unwrap_or_default();
    lay_over(&mut merged, toml::Table::try_from(overrides).map_err(|e| e.to_string())?);
    toml::Value::Table(merged.clone()).try_into().map_err(|e: toml::de::Error| {
        // serde's message names the type but not the key ("invalid type: string \"big\",
        // expected usize"): the key is the one whose removal makes the table fit.
        let message = e
            .message()
            .trim()
            .replace("expected usize", "expected a non-negative integer")
            .replace("expected u64", "expected a non-negative integer")
            .replace("expected f64", "expected a number");
        let culprit = merged.iter().find(|(key, _)| {
            let mut without = merged.clone();
            without.remove(*key);
            toml::Value::Table(without).try_into::<C>().is_ok()
        });
        match culprit {
            Some((key, value)) => format!("{key} = {value} is invalid: {message}"),
            None => message,
        }
    })
}
