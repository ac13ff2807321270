//! `oplab generate <problem>`: options every problem shares, and the common run path.

mod grf;
mod ode;
mod pde;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use oplab_datasets::{GenerationSettings, Precision, Problem, RunOptions, Shard};

use crate::config::GenerationConfigFile;
use crate::progress::Bar;

/// Arguments of `oplab generate`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  oplab generate grf --n 64 --resolution 128 --out grf.h5\n  oplab generate grf --help")]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub problem: GenerateProblem,
}

/// The problems `oplab generate` knows.
#[derive(Debug, Subcommand)]
pub enum GenerateProblem {
    /// 2-D Gaussian random field N(0, τ^(2α−2)(−Δ+τ²)^(−α)) on the unit square (FNO's Darcy GRF).
    #[command(after_help = grf::EXAMPLES)]
    Grf(grf::GrfArgs),
    /// Trajectories of one ODE system (Lorenz-63, Rössler, ... see --system) with PROSE tokens.
    #[command(after_help = ode::ODE_EXAMPLES)]
    Ode(ode::OdeArgs),
    /// PROSE's mixture of chaotic ODE systems: ±10 % parameters, U[-2,2] initial states, t in [0,6].
    #[command(name = "prose-ode", after_help = ode::PROSE_EXAMPLES)]
    ProseOde(ode::ProseOdeArgs),
    /// Darcy flow −∇·(a∇u) = 1 with a thresholded GRF coefficient (FNO's piececonst data).
    #[command(after_help = pde::DARCY_EXAMPLES)]
    Darcy(pde::DarcyArgs),
    /// Poisson −Δu = f with GRF forcing, u = 0 on the boundary.
    #[command(after_help = pde::POISSON_EXAMPLES)]
    Poisson(pde::PoissonArgs),
    /// Helmholtz −Δu − k²(x)u = f with a random wave speed (MgNO-style).
    #[command(after_help = pde::HELMHOLTZ_EXAMPLES)]
    Helmholtz(pde::HelmholtzArgs),
    /// Viscous Burgers on the periodic interval from a GRF initial condition (FNO's data).
    #[command(after_help = pde::BURGERS_EXAMPLES)]
    Burgers(pde::BurgersArgs),
    /// 2-D Navier–Stokes vorticity on the torus, FNO's forcing and scheme.
    #[command(name = "navier-stokes", after_help = pde::NS_EXAMPLES)]
    NavierStokes(pde::NavierStokesArgs),
    /// 1-D linear advection (PDEBench), exact spectral shift.
    #[command(after_help = pde::ADVECTION_EXAMPLES)]
    Advection(pde::AdvectionArgs),
    /// 1-D Fisher–KPP reaction–diffusion (PDEBench), Strang splitting.
    #[command(name = "reaction-diffusion", after_help = pde::REACDIFF_EXAMPLES)]
    ReactionDiffusion(pde::ReactionDiffusionArgs),
}

pub fn run(args: GenerateArgs) -> Result<ExitCode> {
    match args.problem {
        GenerateProblem::Grf(a) => grf::run(a),
        GenerateProblem::Ode(a) => ode::run_ode(a),
        GenerateProblem::ProseOde(a) => ode::run_prose(a),
        GenerateProblem::Darcy(a) => pde::run_darcy(a),
        GenerateProblem::Poisson(a) => pde::run_poisson(a),
        GenerateProblem::Helmholtz(a) => pde::run_helmholtz(a),
        GenerateProblem::Burgers(a) => pde::run_burgers(a),
        GenerateProblem::NavierStokes(a) => pde::run_navier_stokes(a),
        GenerateProblem::Advection(a) => pde::run_advection(a),
        GenerateProblem::ReactionDiffusion(a) => pde::run_reaction_diffusion(a),
    }
}

/// Set once this process has initialised MPI: from then on each rank reports its own errors.
#[cfg(feature = "mpi")]
static MPI_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

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

    /// Settings and the problem's config table: flags over `--config` over defaults. Callers then
    /// apply their problem-specific flags to the returned config.
    pub fn resolve<T: serde::de::DeserializeOwned + Default>(&self, problem: &str) -> Result<(GenerationSettings, T)> {
        let file = self.config_file()?;
        let settings = self.settings(problem, file.as_ref())?;
        let config = match &file {
            Some(f) => f.problem(problem)?,
            None => T::default(),
        };
        Ok((settings, config))
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

    /// Refuse layouts a problem cannot export.
    pub fn require_layout(&self, problem: &str, supported: &[Layout]) -> Result<()> {
        if !supported.contains(&self.layout) {
            let names: Vec<String> = supported.iter().map(|l| format!("{l:?}").to_lowercase()).collect();
            bail!("layout = {:?} is invalid for {problem}: allowed: {}", self.layout, names.join(", "));
        }
        Ok(())
    }

    /// Where and how the native file of `problem` is written.
    pub fn run_options(&self, problem: &dyn Problem) -> Result<RunOptions> {
        let shard = match &self.shard {
            Some(s) => s.parse::<Shard>()?,
            None => Shard::WHOLE,
        };
        let out = self.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}.h5", problem.name())));
        Ok(RunOptions { out, shard, threads: self.threads, block_size: self.block_size, force: self.force })
    }

    /// Run the generation of `problem` with these options and print a one-line summary.
    pub fn run(&self, problem: &dyn Problem, settings: &GenerationSettings) -> Result<ExitCode> {
        let opts = self.run_options(problem)?;
        #[cfg(feature = "mpi")]
        if oplab_datasets::distributed::launched_under_mpi() {
            return self.run_mpi(problem, settings, &opts);
        }
        let summary = oplab_datasets::generate(problem, settings, &opts, &Bar::new(self.quiet))?;
        self.print_summary(&summary);
        Ok(ExitCode::SUCCESS)
    }

    /// The distributed path: every rank runs this; only rank 0 shows progress and the summary.
    #[cfg(feature = "mpi")]
    fn run_mpi(&self, problem: &dyn Problem, settings: &GenerationSettings, opts: &RunOptions) -> Result<ExitCode> {
        use oplab_datasets::distributed::{generate_mpi, mpi, Finish};
        use mpi::traits::Communicator;
        let universe = mpi::initialize().ok_or_else(|| anyhow::anyhow!("MPI could not be initialised"))?;
        MPI_STARTED.store(true, std::sync::atomic::Ordering::Relaxed);
        let world = universe.world();
        let finish = match self.mpi_finish {
            MpiFinish::Merged => Finish::Merged,
            MpiFinish::Virtual => Finish::Virtual,
        };
        let rank0 = world.rank() == 0;
        let bar = Bar::new(self.quiet || !rank0);
        let summary = generate_mpi(&world, problem, settings, opts, finish, &bar)?;
        if let Some(summary) = summary {
            self.print_summary(&summary);
        }
        Ok(ExitCode::SUCCESS)
    }

    fn print_summary(&self, summary: &oplab_datasets::RunSummary) {
        if summary.already_complete {
            if !self.quiet {
                eprintln!("{} is already complete ({} samples, same config); nothing to do", summary.path.display(), summary.samples);
            }
            return;
        }
        if !self.quiet {
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
    }
}
