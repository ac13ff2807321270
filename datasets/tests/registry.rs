//! A problem is one module plus one registry line. `Ramp` below is a complete problem written
//! in this file alone (configuration, options, sampler, examples, an export layout); the test
//! registry is the crate's registry plus one line for it. Every registered problem then goes
//! through the same generic path as the command line's: options laid over a config table,
//! `ProblemModule::new`, generation, export.

use oplab_datasets::export::{ExportFile, ExportLayout, Exporter, NativeFile};
use oplab_datasets::problem::FieldSpec;
use oplab_datasets::problems::{self, Visitor};
use oplab_datasets::{
    generate_exported, resolve_config, DatasetFile, Export, GenerationSettings, Problem, ProblemModule, Role, RunOptions, Sample, SampleError, SampleRng,
    Schema, Shard, Silent,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

// ---- the whole `ramp` problem -------------------------------------------------------------

/// `u_j = slope · j / points + noise`, one ramp per sample.
struct Ramp {
    config: RampConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RampConfig {
    points: usize,
    slope: f64,
}

impl Default for RampConfig {
    fn default() -> Self {
        RampConfig { points: 8, slope: 1.0 }
    }
}

/// Options of `oplab generate ramp`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
struct RampArgs {
    /// Points per ramp [default: 8].
    #[arg(long)]
    points: Option<usize>,
    /// Slope [default: 1].
    #[arg(long)]
    slope: Option<f64>,
}

impl ProblemModule for Ramp {
    const NAME: &'static str = "ramp";
    const ABOUT: &'static str = "Noisy ramps";
    const EXAMPLES: &'static str = "Examples:\n  oplab generate ramp --n 4 --points 16";
    const EXPORTS: &'static [(ExportLayout, Exporter)] = &[(ExportLayout::Fno, ramp_fno)];
    type Config = RampConfig;
    #[cfg(feature = "cli")]
    type Args = RampArgs;

    fn new(config: RampConfig) -> oplab_datasets::Result<Self> {
        if config.points < 2 {
            return Err(oplab_datasets::DatasetError::invalid("points", config.points, "must be >= 2"));
        }
        Ok(Ramp { config })
    }
}

fn ramp_fno(native: &NativeFile, out: &ExportFile) -> oplab_datasets::Result<()> {
    let file = out.matlab(native.single())?;
    file.write("u", native.read("fields/u")?)?;
    file.finish()
}

impl Problem for Ramp {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Schema {
        Schema {
            fields: vec![FieldSpec {
                name: "u".into(),
                shape: vec![self.config.points],
                role: Role::Target,
                axes: vec!["x".into()],
                description: "a noisy ramp".into(),
            }],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        toml::to_string(&self.config).unwrap()
    }

    fn sample(&self, _index: u64, rng: &mut SampleRng) -> Result<Sample, SampleError> {
        let n = self.config.points;
        let u = (0..n).map(|j| self.config.slope * j as f64 / n as f64 + rng.random_range(-0.01..0.01)).collect();
        Ok(Sample { fields: vec![u], ..Sample::default() })
    }
}

// ---- the registry with it: one line ---------------------------------------------------------

fn registry(visitor: &mut impl Visitor) {
    problems::visit_all(visitor);
    visitor.visit::<Ramp>();
}

// ---- the generic path -----------------------------------------------------------------------

#[test]
fn a_problem_defined_in_one_place_generates_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let table: toml::Table = "points = 5\nslope = 2.0\n".parse().unwrap();
    // Flags over the table: `--slope 3` given, `--points` not.
    let overrides: toml::Table = "slope = 3.0\n".parse().unwrap();
    let config: RampConfig = resolve_config(Some(table), &overrides).unwrap();
    assert_eq!(config, RampConfig { points: 5, slope: 3.0 });
    let problem = Ramp::new(config).unwrap();
    let export = Export { out: dir.path().join("ramp.mat"), layout: ExportLayout::Fno, exporter: Ramp::exporter(ExportLayout::Fno).unwrap() };
    let settings = GenerationSettings { n: 4, seed: 2, ..GenerationSettings::default() };
    let opts = RunOptions { out: dir.path().join("ignored.h5"), shard: Shard::WHOLE, threads: Some(1), block_size: None, force: false };
    let summary = generate_exported(&problem, &settings, &opts, &export, &Silent).unwrap();
    assert_eq!(summary.samples, 4);
    assert!(export.out.exists() && !opts.out.exists());
    let native = DatasetFile::open(&export.native_path()).unwrap();
    assert_eq!(native.info().problem, "ramp");
    assert_eq!(&std::fs::read(&export.out).unwrap()[..10], b"MATLAB 7.3");
    // A rerun is complete; the layout it lacks is refused with what it can be written as.
    assert!(generate_exported(&problem, &settings, &opts, &export, &Silent).unwrap().already_complete);
    assert!(Ramp::exporter(ExportLayout::Pdebench).is_none());
    // Bad input is the shared one-line error.
    let e = Ramp::new(RampConfig { points: 1, slope: 1.0 }).err().unwrap();
    assert_eq!(e.to_string(), "points = 1 is invalid: must be >= 2");
}

/// Every problem's options, all given at once, parse, land on their own config keys, and the
/// configuration they give is accepted by the problem's config type: the generic run path needs
/// no per-problem code.
#[cfg(feature = "cli")]
#[test]
fn every_option_of_every_problem_overrides_its_config_key() {
    use clap::{Args, Command, FromArgMatches};

    struct CheckOptions(Vec<&'static str>);
    impl Visitor for CheckOptions {
        fn visit<P: ProblemModule>(&mut self) {
            let command = P::Args::augment_args(Command::new(P::NAME).no_binary_name(true));
            let mut argv: Vec<String> = Vec::new();
            let mut options = 0;
            for arg in command.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                options += 1;
                argv.push(format!("--{long}"));
                if arg.get_action().takes_values() {
                    let value = arg.get_possible_values().first().map(|v| v.get_name().to_string());
                    argv.push(value.unwrap_or_else(|| "3".into()));
                }
            }
            let matches = command.try_get_matches_from(&argv).unwrap_or_else(|e| panic!("{}: {e}", P::NAME));
            let args = P::Args::from_arg_matches(&matches).unwrap();
            let overrides = toml::Table::try_from(&args).unwrap();
            assert_eq!(overrides.len(), options, "{}: every option given is a config key: {overrides:?}", P::NAME);
            let config: P::Config = resolve_config(None, &args).unwrap_or_else(|e| panic!("{}: {e}", P::NAME));
            let resolved = toml::Table::try_from(&config).unwrap();
            for (key, value) in &overrides {
                assert_eq!(resolved.get(key), Some(value), "{}: option for `{key}`", P::NAME);
            }
            // Options not given leave the defaults.
            let none = P::Args::from_arg_matches(&P::Args::augment_args(Command::new(P::NAME)).get_matches_from([P::NAME])).unwrap();
            assert!(toml::Table::try_from(&none).unwrap().is_empty(), "{}", P::NAME);
            self.0.push(P::NAME);
        }
    }
    let mut check = CheckOptions(Vec::new());
    registry(&mut check);
    assert_eq!(check.0.len(), problems::entries().len() + 1);
    assert_eq!(check.0.last(), Some(&"ramp"));
}
