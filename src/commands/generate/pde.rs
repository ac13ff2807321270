//! `oplab generate darcy|poisson|helmholtz|burgers|navier-stokes|advection|reaction-diffusion`.
//!
//! Each command: the problem's `[<name>]` table from `--config` (or the defaults), then the flags
//! given here on top, then the shared run path.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use oplab_datasets::problems::advection::{AdvectionProblem, AdvectionProblemConfig};
use oplab_datasets::problems::burgers::{BurgersProblem, BurgersProblemConfig};
use oplab_datasets::problems::darcy::{DarcyProblem, DarcyProblemConfig};
use oplab_datasets::problems::helmholtz::{HelmholtzProblem, HelmholtzProblemConfig};
use oplab_datasets::problems::navier_stokes::{NavierStokesProblem, NavierStokesProblemConfig};
use oplab_datasets::problems::poisson::{PoissonProblem, PoissonProblemConfig};
use oplab_datasets::problems::reaction_diffusion::{ReactionDiffusionProblem, ReactionDiffusionProblemConfig};

use oplab_datasets::export::{export, supports, unsupported_message, ExportLayout};
use oplab_datasets::{existing_output, ExistingOutput, GenerationSettings, Plan, Problem};
use oplab_solvers::navier_stokes::TimeScheme;

use super::{CommonArgs, Layout};

/// Run `problem`; for `--layout fno|pdebench`, generate the native file `OUT.native.h5` first
/// (resumable, self-describing, kept) and export it to `OUT`.
fn run_in_layout(mut common: CommonArgs, problem: &dyn Problem, settings: &GenerationSettings) -> Result<ExitCode> {
    let layout = match common.layout {
        Layout::Native => return common.run(problem, settings),
        Layout::Fno => ExportLayout::Fno,
        Layout::Pdebench => ExportLayout::Pdebench,
    };
    if !supports(layout, problem.name()) {
        anyhow::bail!("{}", unsupported_message(layout, problem.name()));
    }
    let extension = if layout == ExportLayout::Fno { "mat" } else { "hdf5" };
    let out = common.out.clone().unwrap_or_else(|| format!("{}.{extension}", problem.name()).into());
    let mut native = out.clone().into_os_string();
    native.push(".native.h5");
    let native = std::path::PathBuf::from(native);
    common.out = Some(native.clone());
    let quiet = common.quiet;
    // The export is written atomically from the kept native file, so a finished export whose
    // native file holds this command's dataset is this command's output.
    if out.exists() && !common.force {
        let opts = common.run_options(problem)?;
        let plan = Plan::new(problem, settings, &opts)?;
        match existing_output(&plan, settings, &opts, &native) {
            ExistingOutput::SameRun => {
                if !quiet {
                    eprintln!("{} is already complete ({} samples, same config); nothing to do", out.display(), plan.total());
                }
                return Ok(ExitCode::SUCCESS);
            }
            ExistingOutput::Absent => anyhow::bail!(
                "{} already exists and its native file {} is gone, so it cannot be matched to this command; pass --force to overwrite it",
                out.display(),
                native.display()
            ),
            ExistingOutput::Different(why) => anyhow::bail!(
                "{} already exists and is not this command's output (its native file {}: {why}); pass --force to overwrite it, or choose another --out",
                out.display(),
                native.display()
            ),
        }
    }
    let code = common.run(problem, settings)?;
    export(&native, &out, layout)?;
    if !quiet {
        eprintln!("exported {} ({:?} layout)", out.display(), layout);
    }
    Ok(code)
}

pub const DARCY_EXAMPLES: &str = "Examples:
  oplab generate darcy --n 1024 --resolution 421 --out piececonst_r421.h5      # FNO's setup
  oplab generate darcy --n 1000 --resolution 421 --subsample 5 --out darcy85.h5 # stored at 85x85
  oplab generate darcy --config run.toml   # [darcy] table: coefficient = { kind = \"log-normal\", scale = 1.0 }, grf = {...}";
pub const POISSON_EXAMPLES: &str = "Examples:\n  oplab generate poisson --n 100 --resolution 129 --out poisson.h5";
pub const HELMHOLTZ_EXAMPLES: &str = "Examples:\n  oplab generate helmholtz --n 100 --resolution 101 --omega 1000 --out helmholtz.h5";
pub const BURGERS_EXAMPLES: &str = "Examples:
  oplab generate burgers --n 2048 --resolution 8192 --viscosity 0.1 --out burgers_r10.h5   # FNO's setup
  oplab generate burgers --n 100 --resolution 1024 --record-times 200 --final-time 2 --out b.h5";
pub const NS_EXAMPLES: &str = "Examples:
  oplab generate navier-stokes --n 20 --viscosity 1e-3 --final-time 50 --record-times 50   # FNO: 256^2 stored at 64^2
  oplab generate navier-stokes --n 4 --resolution 64 --subsample 1 --final-time 1 --record-times 10 --out ns.h5
  oplab generate navier-stokes --n 4 --scheme etdrk4 --time-step 4e-4 --final-time 1 --record-times 10   # fourth order";
pub const ADVECTION_EXAMPLES: &str = "Examples:\n  oplab generate advection --n 100 --beta 0.4 --out advection.h5   # PDEBench: 1024 cells, 201 times on [0,2]";
pub const REACDIFF_EXAMPLES: &str = "Examples:\n  oplab generate reaction-diffusion --n 100 --nu 0.5 --rho 1 --out reacdiff.h5";

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Arguments of `oplab generate darcy`.
#[derive(Debug, Args)]
pub struct DarcyArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Solver grid side s (nodes i/(s-1), boundary included) [default: 421].
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Store every k-th node (421 -> 85/141/211 with k = 5/3/2) [default: 1].
    #[arg(long)]
    pub subsample: Option<usize>,
    /// Constant right-hand side f [default: 1].
    #[arg(long)]
    pub forcing: Option<f64>,
}

pub fn run_darcy(args: DarcyArgs) -> Result<ExitCode> {
    let (settings, mut c): (_, DarcyProblemConfig) = args.common.resolve("darcy")?;
    set(&mut c.resolution, args.resolution);
    set(&mut c.subsample, args.subsample);
    set(&mut c.forcing, args.forcing);
    let problem = DarcyProblem::new(c)?;
    run_in_layout(args.common, &problem, &settings)
}

/// Arguments of `oplab generate poisson`.
#[derive(Debug, Args)]
pub struct PoissonArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Solver grid side s [default: 129].
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Store every k-th node [default: 1].
    #[arg(long)]
    pub subsample: Option<usize>,
}

pub fn run_poisson(args: PoissonArgs) -> Result<ExitCode> {
    let (settings, mut c): (_, PoissonProblemConfig) = args.common.resolve("poisson")?;
    set(&mut c.resolution, args.resolution);
    set(&mut c.subsample, args.subsample);
    let problem = PoissonProblem::new(c)?;
    run_in_layout(args.common, &problem, &settings)
}

/// Arguments of `oplab generate helmholtz`.
#[derive(Debug, Args)]
pub struct HelmholtzArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Solver grid side s [default: 101].
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Store every k-th node [default: 1].
    #[arg(long)]
    pub subsample: Option<usize>,
    /// Angular frequency ω; k = ω / c [default: 1000].
    #[arg(long)]
    pub omega: Option<f64>,
}

pub fn run_helmholtz(args: HelmholtzArgs) -> Result<ExitCode> {
    let (settings, mut c): (_, HelmholtzProblemConfig) = args.common.resolve("helmholtz")?;
    set(&mut c.resolution, args.resolution);
    set(&mut c.subsample, args.subsample);
    set(&mut c.omega, args.omega);
    let problem = HelmholtzProblem::new(c)?;
    run_in_layout(args.common, &problem, &settings)
}

/// Time-dependent options shared by the evolution problems.
#[derive(Debug, Args)]
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

/// Arguments of `oplab generate burgers`.
#[derive(Debug, Args)]
pub struct BurgersArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub evolution: EvolutionArgs,
    /// Viscosity ν [default: 0.1].
    #[arg(long)]
    pub viscosity: Option<f64>,
    /// Store every k-th point (8192 -> 1024 with k = 8) [default: 1].
    #[arg(long)]
    pub subsample: Option<usize>,
}

pub fn run_burgers(args: BurgersArgs) -> Result<ExitCode> {
    let (settings, mut c): (_, BurgersProblemConfig) = args.common.resolve("burgers")?;
    set(&mut c.0.resolution, args.evolution.resolution);
    set(&mut c.0.final_time, args.evolution.final_time);
    set(&mut c.0.record_times, args.evolution.record_times);
    set(&mut c.0.viscosity, args.viscosity);
    set(&mut c.0.subsample, args.subsample);
    let problem = BurgersProblem::new(c)?;
    run_in_layout(args.common, &problem, &settings)
}

/// Arguments of `oplab generate navier-stokes`.
#[derive(Debug, Args)]
pub struct NavierStokesArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub evolution: EvolutionArgs,
    /// Viscosity ν [default: 1e-3].
    #[arg(long)]
    pub viscosity: Option<f64>,
    /// Largest time step [default: 1e-4].
    #[arg(long)]
    pub time_step: Option<f64>,
    /// Store every k-th point per direction (256 -> 64 with k = 4) [default: 4].
    #[arg(long)]
    pub subsample: Option<usize>,
    /// Time integrator: FNO's first-order Crank–Nicolson/Euler scheme, or fourth-order ETDRK4
    /// (four nonlinear evaluations per step) [default: crank-nicolson].
    #[arg(long, value_enum)]
    pub scheme: Option<NsScheme>,
}

/// `--scheme` of `oplab generate navier-stokes` (the solver's [`TimeScheme`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NsScheme {
    /// FNO's `ns_2d.py`: Crank–Nicolson viscosity, forward-Euler nonlinearity and forcing.
    CrankNicolson,
    /// Exponential time differencing RK4: exact viscosity, fourth order overall.
    Etdrk4,
}

impl From<NsScheme> for TimeScheme {
    fn from(s: NsScheme) -> Self {
        match s {
            NsScheme::CrankNicolson => TimeScheme::CrankNicolson,
            NsScheme::Etdrk4 => TimeScheme::Etdrk4,
        }
    }
}

pub fn run_navier_stokes(args: NavierStokesArgs) -> Result<ExitCode> {
    let (settings, mut c): (_, NavierStokesProblemConfig) = args.common.resolve("navier-stokes")?;
    set(&mut c.0.resolution, args.evolution.resolution);
    set(&mut c.0.final_time, args.evolution.final_time);
    set(&mut c.0.record_times, args.evolution.record_times);
    set(&mut c.0.viscosity, args.viscosity);
    set(&mut c.0.time_step, args.time_step);
    set(&mut c.0.subsample, args.subsample);
    set(&mut c.0.scheme, args.scheme.map(TimeScheme::from));
    let problem = NavierStokesProblem::new(c)?;
    run_in_layout(args.common, &problem, &settings)
}

/// Arguments of `oplab generate advection`.
#[derive(Debug, Args)]
pub struct AdvectionArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub evolution: EvolutionArgs,
    /// Advection speed β [default: 1].
    #[arg(long)]
    pub beta: Option<f64>,
}

pub fn run_advection(args: AdvectionArgs) -> Result<ExitCode> {
    let (settings, mut c): (_, AdvectionProblemConfig) = args.common.resolve("advection")?;
    set(&mut c.0.resolution, args.evolution.resolution);
    set(&mut c.0.final_time, args.evolution.final_time);
    set(&mut c.0.record_times, args.evolution.record_times);
    set(&mut c.0.beta, args.beta);
    let problem = AdvectionProblem::new(c)?;
    run_in_layout(args.common, &problem, &settings)
}

/// Arguments of `oplab generate reaction-diffusion`.
#[derive(Debug, Args)]
pub struct ReactionDiffusionArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub evolution: EvolutionArgs,
    /// Diffusivity ν [default: 0.5].
    #[arg(long)]
    pub nu: Option<f64>,
    /// Reaction rate ρ [default: 1].
    #[arg(long)]
    pub rho: Option<f64>,
}

pub fn run_reaction_diffusion(args: ReactionDiffusionArgs) -> Result<ExitCode> {
    let (settings, mut c): (_, ReactionDiffusionProblemConfig) = args.common.resolve("reaction-diffusion")?;
    set(&mut c.0.resolution, args.evolution.resolution);
    set(&mut c.0.final_time, args.evolution.final_time);
    set(&mut c.0.record_times, args.evolution.record_times);
    set(&mut c.0.nu, args.nu);
    set(&mut c.0.rho, args.rho);
    let problem = ReactionDiffusionProblem::new(c)?;
    run_in_layout(args.common, &problem, &settings)
}
