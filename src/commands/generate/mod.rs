//! `oplab generate <problem>`: one subcommand per problem of the registry
//! (`oplab_datasets::problems::visit_all`), each with the options every problem shares and the
//! problem's own, and one run path for all of them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand, ValueEnum};
use oplab_datasets::export::ExportLayout;
use oplab_datasets::problems::{self, Visitor};
use oplab_datasets::{resolve_config, Export, GenerationSettings, Precision, Problem, ProblemModule, RunOptions, Shard};

use crate::config::GenerationConfigFile;
use crate::progress::Bar;

/// Arguments of `oplab generate`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  oplab generate grf --n 64 --resolution 128 --out grf.h5\n  oplab generate grf --help")]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub problem: ProblemCommand,
}

/// The chosen problem and its parsed options.
#[derive(Debug)]
pub struct ProblemCommand {
    name: String,
    matches: ArgMatches,
}

/// `oplab generate <name>` for problem `P`: the shared options, then its own, then its help
/// texts (set last: an options struct's doc comment would otherwise become the command's about).
fn problem_command<P: ProblemModule>() -> Command {
    let command = P::Args::augment_args(CommonArgs::augment_args(Command::new(P::NAME)));
    command.about(P::ABOUT).long_about(None).after_help(P::EXAMPLES)
}

impl Subcommand for ProblemCommand {
    fn augment_subcommands(command: Command) -> Command {
        struct AddSubcommands(Command);
        impl Visitor for AddSubcommands {
            fn visit<P: ProblemModule>(&mut self) {
                self.0 = std::mem::take(&mut self.0).subcommand(problem_command::<P>());
            }
        }
        let mut add = AddSubcommands(command);
        problems::visit_all(&mut add);
        add.0
    }

    fn augment_subcommands_for_update(command: Command) -> Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        problems::find(name).is_some()
    }
}

impl FromArgMatches for ProblemCommand {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        match matches.subcommand() {
            Some((name, sub)) => Ok(ProblemCommand { name: name.to_string(), matches: sub.clone() }),
            None => Err(clap::Error::new(clap::error::ErrorKind::MissingSubcommand)),
        }
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

pub fn run(args: GenerateArgs) -> Result<ExitCode> {
    crate::memory::return_large_buffers_to_the_kernel();
    struct Run<'a>(&'a ArgMatches);
    impl ProblemFn for Run<'_> {
        type Output = ExitCode;
        fn call<P: ProblemModule>(self) -> Result<ExitCode> {
            run_problem::<P>(self.0)
        }
    }
    with_problem(&args.problem.name, "problem", Run(&args.problem.matches))
}

/// The one run path of every problem: settings and the problem's configuration from defaults,
/// then the `--config` file, then the flags; then the native file, and the export if asked for.
fn run_problem<P: ProblemModule>(matches: &ArgMatches) -> Result<ExitCode> {
    let common = CommonArgs::from_arg_matches(matches)?;
    let args = P::Args::from_arg_matches(matches)?;
    let export = match common.layout.export() {
        None => None,
        Some(layout) => {
            let exporter = P::exporter(layout).ok_or_else(|| problems::unsupported_layout(layout, P::NAME))?;
            let out = common.out.clone().unwrap_or_else(|| format!("{}.{}", P::NAME, layout.extension()).into());
            Some(Export { out, layout, exporter })
        }
    };
    let file = common.config_file()?;
    let settings = common.settings(P::NAME, file.as_ref())?;
    let problem = P::new(problem_config::<P, _>(file.as_ref(), &args)?)?;
    common.run(&problem, &settings, export.as_ref())
}

/// Problem `P`'s configuration: defaults, then the file's `[<problem>]` table, then `overrides`.
fn problem_config<P: ProblemModule, O: serde::Serialize>(file: Option<&GenerationConfigFile>, overrides: &O) -> Result<P::Config> {
    let table = file.map(|f| f.problem_table(P::NAME)).transpose()?.flatten();
    resolve_config(table, overrides).map_err(|e| anyhow!("config table [{}]: {e}", P::NAME))
}

/// Calls `f` with problem `name`'s type in hand; an unregistered name is an error naming `field`
/// and the registered problems.
fn with_problem<T>(name: &str, field: &str, f: impl ProblemFn<Output = T>) -> Result<T> {
    struct Call<F: ProblemFn> {
        name: String,
        f: Option<F>,
        out: Option<Result<F::Output>>,
    }
    impl<F: ProblemFn> Visitor for Call<F> {
        fn visit<P: ProblemModule>(&mut self) {
            if P::NAME == self.name {
                if let Some(f) = self.f.take() {
                    self.out = Some(f.call::<P>());
                }
            }
        }
    }
    let mut call = Call { name: name.to_string(), f: Some(f), out: None };
    problems::visit_all(&mut call);
    call.out.unwrap_or_else(|| {
        let names: Vec<&str> = problems::entries().iter().map(|e| e.name).collect();
        Err(anyhow!("{field} = {name} is invalid: must be one of: {}", names.join(", ")))
    })
}

/// Something done with a problem's type, chosen by name at run time ([`with_problem`]).
trait ProblemFn {
    type Output;
    fn call<P: ProblemModule>(self) -> Result<Self::Output>;
}

/// Checks the generation config `file` for `problem` without setting the problem up: the
/// settings' and the problem table's keys and types (`field` names the problem's key in errors).
pub fn check_config(problem: &str, field: &str, file: &GenerationConfigFile) -> Result<()> {
    struct Check<'a>(&'a GenerationConfigFile);
    impl ProblemFn for Check<'_> {
        type Output = ();
        fn call<P: ProblemModule>(self) -> Result<()> {
            self.0.settings(P::NAME)?.validate()?;
            problem_config::<P, _>(Some(self.0), &toml::Table::new()).map(drop)
        }
    }
    with_problem(problem, field, Check(file))
}

/// Generates (or completes, or finds complete) `out` from the generation config `file` for
/// `problem`, as `oplab generate <problem> --config FILE --out OUT [--threads T]` would, and
/// returns its summary.
pub fn generate_from_config(
    problem: &str,
    field: &str,
    file: &GenerationConfigFile,
    out: &std::path::Path,
    threads: Option<usize>,
    quiet: bool,
) -> Result<oplab_datasets::RunSummary> {
    struct Generate<'a> {
        file: &'a GenerationConfigFile,
        out: &'a std::path::Path,
        threads: Option<usize>,
        quiet: bool,
    }
    impl ProblemFn for Generate<'_> {
        type Output = oplab_datasets::RunSummary;
        fn call<P: ProblemModule>(self) -> Result<oplab_datasets::RunSummary> {
            let settings = self.file.settings(P::NAME)?;
            settings.validate()?;
            let problem = P::new(problem_config::<P, _>(Some(self.file), &toml::Table::new())?)?;
            let opts = RunOptions { out: self.out.to_path_buf(), shard: Shard::WHOLE, threads: self.threads, block_size: None, force: false };
            // A finished file is read without the lock, so that runs sharing one data file
            // can start together.
            let _lock = if oplab_datasets::is_finished(&problem, &settings, &opts)? { None } else { lock_output(self.out)? };
            Ok(oplab_datasets::generate(&problem, &settings, &opts, &Bar::new(self.quiet))?)
        }
    }
    with_problem(problem, field, Generate { file, out, threads, quiet })
}

/// The lock of output `out` (`OUT.lock`) for this command.
fn lock_output(out: &std::path::Path) -> Result<Option<oplab_common::lock::Lock>> {
    super::lock_output(&oplab_common::lock::lock_path(out), "--out", out)
}

/// Set once this process has initialised MPI: from then on each rank reports its own errors.
#[cfg(feature = "mpi")]
static MPI_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records that this process initialised MPI.
#[cfg(feature = "mpi")]
pub fn note_mpi_started() {
    MPI_STARTED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether this process has initialised MPI.
#[cfg(feature = "mpi")]
pub fn mpi_started() -> bool {
    MPI_STARTED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Output layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// oplab's self-describing schema (DESIGN.md).
    Native,
    /// MATLAB v7.3-compatible file with FNO's variable names.
    Fno,
    /// PDEBench's HDF5 layout.
    Pdebench,
}

impl Layout {
    /// The export layout, `None` for the native one.
    fn export(self) -> Option<ExportLayout> {
        match self {
            Layout::Native => None,
            Layout::Fno => Some(ExportLayout::Fno),
            Layout::Pdebench => Some(ExportLayout::Pdebench),
        }
    }
}

/// Options shared by every `generate` problem.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Number of samples in the whole dataset (all shards together) [default: 16, or the config's].
    #[arg(long)]
    pub n: Option<u64>,
    /// Dataset seed; sample i draws only from the random stream (seed, i) [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output file [default: <problem>.h5].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads [default: one per core]. Never changes the output.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Produce only shard K of M (1-based), e.g. 2/3; join the parts with `oplab merge`.
    #[arg(long, value_name = "K/M")]
    pub shard: Option<String>,
    /// Output layout.
    #[arg(long, value_enum, default_value_t = Layout::Native)]
    pub layout: Layout,
    /// TOML config (the format of a file's `config` attribute); flags override its values.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Stored precision of the fields [default: f32].
    #[arg(long, value_name = "f32|f64")]
    pub precision: Option<String>,
    /// gzip level 1-9 (0: none) [default: 0].
    #[arg(long, value_name = "LEVEL")]
    pub gzip: Option<u8>,
    /// Samples per crash-safe block [default: about 8 MiB of data]. Never changes the data.
    #[arg(long)]
    pub block_size: Option<u64>,
    /// Overwrite a finished output file and discard an incompatible unfinished run.
    #[arg(long)]
    pub force: bool,
    /// No progress bar or summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Under mpirun: how rank 0 finishes the file: one merged file, or an HDF5 virtual dataset
    /// over per-rank part files in OUT.parts/.
    #[cfg(feature = "mpi")]
    #[arg(long, value_enum, default_value_t = MpiFinish::Merged)]
    pub mpi_finish: MpiFinish,
}

/// How a distributed run is finished.
#[cfg(feature = "mpi")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MpiFinish {
    /// One ordinary file.
    Merged,
    /// A virtual dataset over per-rank part files.
    Virtual,
}

impl CommonArgs {
    /// Load `--config` if given.
    pub fn config_file(&self) -> Result<Option<GenerationConfigFile>> {
        self.config.as_deref().map(GenerationConfigFile::load).transpose()
    }

    /// Generation settings: flags over the config file over defaults.
    pub fn settings(&self, problem: &str, file: Option<&GenerationConfigFile>) -> Result<GenerationSettings> {
        let mut s = match file {
            Some(f) => f.settings(problem)?,
            None => GenerationSettings::default(),
        };
        if let Some(n) = self.n {
            s.n = n;
        }
        if let Some(seed) = self.seed {
            s.seed = seed;
        }
        if let Some(p) = &self.precision {
            s.precision = p.parse::<Precision>()?;
        }
        if let Some(g) = self.gzip {
            s.compression = g;
        }
        s.validate()?;
        Ok(s)
    }

    /// Where and how the native file of `problem` is written: `--out`, or `<problem>.h5`.
    fn run_options(&self, problem: &dyn Problem) -> Result<RunOptions> {
        let shard = match &self.shard {
            Some(s) => s.parse::<Shard>()?,
            None => Shard::WHOLE,
        };
        let out = self.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}.h5", problem.name())));
        Ok(RunOptions { out, shard, threads: self.threads, block_size: self.block_size, force: self.force })
    }

    /// Generate `problem` with these options, and write `export` from the native file when given;
    /// print a one-line summary (and one for the export).
    fn run(&self, problem: &dyn Problem, settings: &GenerationSettings, export: Option<&Export>) -> Result<ExitCode> {
        let opts = self.run_options(problem)?;
        #[cfg(feature = "mpi")]
        if oplab_datasets::distributed::launched_under_mpi() {
            return self.run_mpi(problem, settings, &opts, export);
        }
        // A finished output needs no lock (it only ever appears whole): a rerun of a finished
        // command succeeds while another process holds the lock, e.g. for the same check.
        let finished = match export {
            None => oplab_datasets::is_finished(problem, settings, &opts)?,
            Some(export) => matches!(export.is_complete(problem, settings, &export.native_options(&opts)), Ok(true)),
        };
        let _lock = if finished { None } else { lock_output(export.map_or(&opts.out, |e| &e.out))? };
        let bar = Bar::new(self.quiet);
        let summary = match export {
            None => oplab_datasets::generate(problem, settings, &opts, &bar)?,
            Some(export) => oplab_datasets::generate_exported(problem, settings, &opts, export, &bar)?,
        };
        self.print_summary(&summary, export);
        Ok(ExitCode::SUCCESS)
    }

    /// The distributed path: every rank runs this; only rank 0 shows progress and the summary, and
    /// writes the export.
    #[cfg(feature = "mpi")]
    fn run_mpi(&self, problem: &dyn Problem, settings: &GenerationSettings, opts: &RunOptions, export: Option<&Export>) -> Result<ExitCode> {
        use mpi::traits::{Communicator, CommunicatorCollectives};
        use oplab_datasets::distributed::{generate_mpi, mpi, Finish};
        let opts = match export {
            None => opts.clone(),
            Some(export) => {
                let opts = export.native_options(opts);
                // Every rank finds the same answer; a refusal is reported by rank 0 alone, as
                // for any error found before MPI starts.
                if export.is_complete(problem, settings, &opts)? {
                    let range = opts.shard.range(settings.n);
                    let started = std::time::Instant::now();
                    if oplab_datasets::distributed::launcher_rank().is_none_or(|rank| rank == 0) {
                        self.print_summary(&oplab_datasets::RunSummary::already_complete(&export.out, range.end - range.start, started), Some(export));
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                opts
            }
        };
        let universe = mpi::initialize().ok_or_else(|| anyhow::anyhow!("MPI could not be initialised"))?;
        note_mpi_started();
        let world = universe.world();
        // Rank 0 owns the output path and holds its lock; the other ranks of the job write into
        // its partial run and must not be locked out by their own job.
        let lock = if world.rank() == 0 { lock_output(export.map_or(&opts.out, |e| &e.out)) } else { Ok(None) };
        let mut any_failed = 0i32;
        world.all_reduce_into(&i32::from(lock.is_err()), &mut any_failed, mpi::collective::SystemOperation::max());
        if any_failed == 1 && world.rank() != 0 {
            return Err(oplab_datasets::DatasetError::OtherRankFailed.into());
        }
        let _lock = lock?;
        let finish = match self.mpi_finish {
            MpiFinish::Merged => Finish::Merged,
            MpiFinish::Virtual => Finish::Virtual,
        };
        let rank0 = world.rank() == 0;
        let bar = Bar::new(self.quiet || !rank0);
        let summary = generate_mpi(&world, problem, settings, &opts, finish, &bar)?;
        if let Some(summary) = summary {
            if let Some(export) = export {
                export.write()?;
            }
            self.print_summary(&summary, export);
        }
        Ok(ExitCode::SUCCESS)
    }

    fn print_summary(&self, summary: &oplab_datasets::RunSummary, export: Option<&Export>) {
        if self.quiet {
            return;
        }
        if summary.already_complete {
            eprintln!("{} is already complete ({} samples, same config); nothing to do", summary.path.display(), summary.samples);
        } else {
            let secs = summary.elapsed.as_secs_f64();
            eprintln!(
                "wrote {}: {} samples ({} generated now) in {:.2} s, {:.1} samples/s",
                summary.path.display(),
                summary.samples,
                summary.generated,
                secs,
                summary.generated as f64 / secs.max(1e-9)
            );
        }
        // A summary naming the export itself says it was already complete: nothing was exported.
        if let Some(export) = export.filter(|e| summary.path != e.out) {
            eprintln!("exported {} ({:?} layout)", export.out.display(), export.layout);
        }
    }
}
