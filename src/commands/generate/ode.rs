//! `oplab generate ode` and `oplab generate prose-ode`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use oplab_datasets::problems::ode::{OdeConfig, OdeProblem};
use oplab_datasets::problems::prose_ode::{ProseOdeConfig, ProseOdeProblem};

use super::{CommonArgs, Layout};

pub const ODE_EXAMPLES: &str = "Examples:
  oplab generate ode --system lorenz --n 1000 --out lorenz.h5
  oplab generate ode --system rossler --params 0.2,0.2,5.7 --t-end 100 --resolution 10001 --n 8
  oplab generate ode --system lorenz --param-spread 0.1 --method dop853 --rtol 1e-10 --n 256";

pub const PROSE_EXAMPLES: &str = "Examples:
  oplab generate prose-ode --n 25600 --out prose_val.h5
  oplab generate prose-ode --systems chaotic_ode_all --noise 0.02 --n 512000 --threads 2
  oplab generate prose-ode --add-term-prob 0.15 --miss-term-prob 0.15 --n 1000";

/// Solver options shared by the two ODE problems.
#[derive(Debug, Args)]
pub struct SolverArgs {
    /// Integrator: dopri5, dop853, rosenbrock23, or rk4 (with --t-step).
    #[arg(long)]
    pub method: Option<String>,
    /// Relative tolerance of adaptive integrators.
    #[arg(long)]
    pub rtol: Option<f64>,
    /// Absolute tolerance of adaptive integrators.
    #[arg(long)]
    pub atol: Option<f64>,
    /// Fixed step (rk4 only).
    #[arg(long)]
    pub t_step: Option<f64>,
    /// Number of output times, t_start..t_end inclusive [default: 192].
    #[arg(long, alias = "t-num")]
    pub resolution: Option<usize>,
    /// Final time [default: 6].
    #[arg(long)]
    pub t_end: Option<f64>,
    /// Initial conditions are uniform in [ic-low, ic-high]^d [default: -2].
    #[arg(long, allow_hyphen_values = true)]
    pub ic_low: Option<f64>,
    /// Upper bound of the initial-condition box [default: 2].
    #[arg(long, allow_hyphen_values = true)]
    pub ic_high: Option<f64>,
    /// Initial-condition redraws per sample before it fails [default: 100].
    #[arg(long)]
    pub max_redraws: Option<usize>,
}

/// Arguments of `oplab generate ode`.
#[derive(Debug, Args)]
pub struct OdeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub solver: SolverArgs,
    /// System: thomas, lorenz, aizawa, chen_lee, dadras, rossler, halvorsen, fabrikant, sprott_b,
    /// sprott_linz_f, four_wing, duffing, lorenz96_4d, lorenz96_5d, double_pendulum [default: lorenz].
    #[arg(long)]
    pub system: Option<String>,
    /// Parameter centres, comma-separated in the system's order [default: nominal].
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub params: Option<Vec<f64>>,
    /// Draw each parameter uniformly in centre·(1 ± spread) [default: 0, fixed].
    #[arg(long)]
    pub param_spread: Option<f64>,
    /// Initial time [default: 0].
    #[arg(long, allow_hyphen_values = true)]
    pub t_start: Option<f64>,
    /// Reject trajectories with max |u_i| above this [default: the system's PROSE bound].
    #[arg(long)]
    pub blowup_bound: Option<f64>,
}

/// Arguments of `oplab generate prose-ode`.
#[derive(Debug, Args)]
pub struct ProseOdeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub solver: SolverArgs,
    /// chaotic_ode_3d (12 systems), chaotic_ode_all (15) or a comma-separated list [default: chaotic_ode_3d].
    #[arg(long)]
    pub systems: Option<String>,
    /// Parameters uniform within ±gamma of nominal [default: 0.1].
    #[arg(long)]
    pub gamma: Option<f64>,
    /// Also store `noisy_trajectory` with this relative L2 noise (PROSE: 0.02) [default: 0].
    #[arg(long)]
    pub noise: Option<f64>,
    /// Probability of a term inserted into `noisy_skeleton` (PROSE: 0.15) [default: 0].
    #[arg(long)]
    pub add_term_prob: Option<f64>,
    /// Probability of a term deleted from `noisy_skeleton` (PROSE: 0.15) [default: 0].
    #[arg(long)]
    pub miss_term_prob: Option<f64>,
}

macro_rules! set {
    ($cfg:expr, $field:ident, $value:expr) => {
        if let Some(v) = $value {
            $cfg.$field = v;
        }
    };
}

pub fn run_ode(args: OdeArgs) -> Result<ExitCode> {
    args.common.require_layout("ode", &[Layout::Native])?;
    let (settings, mut c): (_, OdeConfig) = args.common.resolve("ode")?;
    let s = args.solver;
    set!(c, system, args.system);
    if args.params.is_some() {
        c.params = args.params;
    }
    set!(c, param_spread, args.param_spread);
    set!(c, t_start, args.t_start);
    if args.blowup_bound.is_some() {
        c.blowup_bound = args.blowup_bound;
    }
    set!(c, method, s.method);
    set!(c, rtol, s.rtol);
    set!(c, atol, s.atol);
    if s.t_step.is_some() {
        c.t_step = s.t_step;
    }
    set!(c, t_num, s.resolution);
    set!(c, t_end, s.t_end);
    set!(c, ic_low, s.ic_low);
    set!(c, ic_high, s.ic_high);
    set!(c, max_redraws, s.max_redraws);
    let problem = OdeProblem::new(c)?;
    args.common.run(&problem, &settings)
}

pub fn run_prose(args: ProseOdeArgs) -> Result<ExitCode> {
    args.common.require_layout("prose-ode", &[Layout::Native])?;
    let (settings, mut c): (_, ProseOdeConfig) = args.common.resolve("prose-ode")?;
    let s = args.solver;
    set!(c, systems, args.systems);
    set!(c, gamma, args.gamma);
    set!(c, noise, args.noise);
    set!(c, add_term_prob, args.add_term_prob);
    set!(c, miss_term_prob, args.miss_term_prob);
    set!(c, method, s.method);
    set!(c, rtol, s.rtol);
    set!(c, atol, s.atol);
    if s.t_step.is_some() {
        c.t_step = s.t_step;
    }
    set!(c, t_num, s.resolution);
    set!(c, t_end, s.t_end);
    set!(c, ic_low, s.ic_low);
    set!(c, ic_high, s.ic_high);
    set!(c, max_redraws, s.max_redraws);
    let problem = ProseOdeProblem::new(c)?;
    args.common.run(&problem, &settings)
}
