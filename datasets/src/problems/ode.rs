//! `ode`: trajectories of one named ODE system (e.g. Lorenz-63) from random initial conditions
//! and, optionally, parameters drawn around their nominal values.
//!
//! Sample `i` draws its parameters and initial state from its own random stream, integrates with
//! the configured method, and redraws (from the same stream) when a solve fails or exceeds the
//! blow-up bound, so the output is deterministic whatever the thread count.

use oplab_solvers::ode::{Integrator, Method, OdeError, SolveOptions};
use oplab_solvers::symbolic::prose_vocabulary;
use oplab_solvers::systems::{self, CompiledRhs, OdeSystem};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{DatasetError, Result};
use crate::problem::{Dimension, FieldSpec, Problem, ProblemModule, Role, Sample, SampleError, SampleRng, ScalarSpec, Schema, TextSpec};

/// Largest number of output times per trajectory.
pub const MAX_TIME_POINTS: usize = 1_000_000;

/// Configuration of the `ode` problem (the `[ode]` table of a config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OdeConfig {
    /// System name (`oplab_solvers::systems::names()`), e.g. `lorenz`.
    pub system: String,
    /// Parameter centres, in the system's order; when absent, the nominal values.
    pub params: Option<Vec<f64>>,
    /// Each free parameter is drawn uniformly in `centre · (1 ± param_spread)`; 0 keeps them fixed.
    pub param_spread: f64,
    /// Lower bound of the uniform initial-condition box (every component).
    pub ic_low: f64,
    /// Upper bound of the uniform initial-condition box.
    pub ic_high: f64,
    /// Initial time.
    pub t_start: f64,
    /// Final time.
    pub t_end: f64,
    /// Number of equally spaced output times in `[t_start, t_end]` (both included).
    pub t_num: usize,
    /// Integrator: dopri5, dop853, rosenbrock23 (adaptive) or rk4 (fixed step `t_step`).
    pub method: String,
    /// Relative tolerance of adaptive methods.
    pub rtol: f64,
    /// Absolute tolerance of adaptive methods.
    pub atol: f64,
    /// Step of `rk4` (required for it, ignored otherwise).
    pub t_step: Option<f64>,
    /// Reject a trajectory whose `max |u_i|` exceeds this; when absent, the system's PROSE bound.
    pub blowup_bound: Option<f64>,
    /// Redraws allowed per sample before it fails.
    pub max_redraws: usize,
}

impl Default for OdeConfig {
    fn default() -> Self {
        OdeConfig {
            system: "lorenz".into(),
            params: None,
            param_spread: 0.0,
            ic_low: -2.0,
            ic_high: 2.0,
            t_start: 0.0,
            t_end: 6.0,
            t_num: 192,
            method: "dopri5".into(),
            rtol: 1e-8,
            atol: 1e-10,
            t_step: None,
            blowup_bound: None,
            max_redraws: 100,
        }
    }
}

/// Solver options shared by the two ODE problems (keys of both configs).
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
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
    #[serde(rename = "t_num")]
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

/// Options of `oplab generate ode`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
pub struct OdeArgs {
    /// Integration and output-grid options.
    #[command(flatten)]
    #[serde(flatten)]
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

/// Validation shared by `ode` and `prose-ode`.
pub(crate) fn check_time_grid(t_start: f64, t_end: f64, t_num: usize) -> Result<Vec<f64>> {
    if !t_start.is_finite() {
        return Err(DatasetError::invalid("t_start", t_start, "must be finite"));
    }
    if !(t_end.is_finite() && t_end > t_start) {
        return Err(DatasetError::invalid("t_end", t_end, format!("must be finite and > t_start = {t_start}")));
    }
    if !(2..=MAX_TIME_POINTS).contains(&t_num) {
        return Err(DatasetError::invalid("t_num", t_num, format!("must be between 2 and {MAX_TIME_POINTS}")));
    }
    let dt = (t_end - t_start) / (t_num - 1) as f64;
    Ok((0..t_num).map(|k| if k + 1 == t_num { t_end } else { t_start + k as f64 * dt }).collect())
}

/// Solver options from the shared config fields.
pub(crate) fn solver_options(method: &str, rtol: f64, atol: f64, t_step: Option<f64>, blowup_bound: f64) -> Result<(Method, SolveOptions)> {
    let method = Method::from_name(method).map_err(|_| DatasetError::invalid("method", method, "must be one of dopri5, dop853, rk4, rosenbrock23"))?;
    if !(rtol > 0.0 && rtol < 1.0) {
        return Err(DatasetError::invalid("rtol", rtol, "must be in (0, 1)"));
    }
    if !(atol >= 0.0 && atol.is_finite()) {
        return Err(DatasetError::invalid("atol", atol, "must be finite and ≥ 0"));
    }
    if blowup_bound.is_nan() || blowup_bound <= 0.0 {
        return Err(DatasetError::invalid("blowup_bound", blowup_bound, "must be > 0"));
    }
    let fixed_step = match (method, t_step) {
        (Method::Rk4, None) => return Err(DatasetError::invalid("t_step", "none", "rk4 needs a step size > 0")),
        (_, Some(h)) if !(h > 0.0 && h.is_finite()) => return Err(DatasetError::invalid("t_step", h, "must be finite and > 0")),
        (Method::Rk4, Some(h)) => Some(h),
        _ => None,
    };
    let opts = SolveOptions { rtol, atol, blowup_bound, fixed_step, max_steps: 10_000_000, ..SolveOptions::default() };
    Ok((method, opts))
}

/// The initial-condition box check shared by `ode` and `prose-ode`.
pub(crate) fn check_ic_box(low: f64, high: f64) -> Result<()> {
    if !(low.is_finite() && high.is_finite() && low < high) {
        return Err(DatasetError::invalid("ic_low/ic_high", format!("{low}/{high}"), "must be finite with ic_low < ic_high"));
    }
    Ok(())
}

/// One integration with redraws: `draw` fills `y0` from the sample's stream; on failure the
/// next draw is tried, up to `max_redraws` times. Returns the last error otherwise.
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve_with_redraws(
    method: Method,
    rhs: &CompiledRhs,
    params: &[f64],
    t_eval: &[f64],
    opts: &SolveOptions,
    max_redraws: usize,
    y0: &mut [f64],
    out: &mut [f64],
    mut draw: impl FnMut(&mut [f64]),
) -> std::result::Result<usize, OdeError> {
    let mut integrator = Integrator::new(method, y0.len());
    let mut last = None;
    for attempt in 0..=max_redraws {
        draw(y0);
        match integrator.solve(rhs, params, t_eval[0], y0, t_eval, opts, out) {
            Ok(_) => return Ok(attempt),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("at least one attempt"))
}

/// The `ode` problem, ready to sample.
#[derive(Debug, Clone)]
pub struct OdeProblem {
    config: OdeConfig,
    system: OdeSystem,
    rhs: CompiledRhs,
    centres: Vec<f64>,
    t_eval: Vec<f64>,
    method: Method,
    opts: SolveOptions,
}

impl ProblemModule for OdeProblem {
    const NAME: &'static str = "ode";
    const ABOUT: &'static str = "Trajectories of one ODE system (Lorenz-63, Rössler, ... see --system) with PROSE tokens";
    const EXAMPLES: &'static str = "Examples:
  oplab generate ode --system lorenz --n 1000 --out lorenz.h5
  oplab generate ode --system rossler --params 0.2,0.2,5.7 --t-end 100 --resolution 10001 --n 8
  oplab generate ode --system lorenz --param-spread 0.1 --method dop853 --rtol 1e-10 --n 256";
    type Config = OdeConfig;
    #[cfg(feature = "cli")]
    type Args = OdeArgs;

    /// Validate `config`, resolve its defaults and compile the system.
    fn new(mut config: OdeConfig) -> Result<Self> {
        let system = systems::by_name(&config.system)
            .map_err(|_| DatasetError::invalid("system", &config.system, format!("must be one of {}", systems::names().join(", "))))?;
        config.system = system.name.to_string();
        let centres = config.params.clone().unwrap_or_else(|| system.nominal_params());
        if centres.len() != system.params.len() || centres.iter().any(|v| !v.is_finite()) {
            return Err(DatasetError::invalid(
                "params",
                format!("{centres:?}"),
                format!("must be {} finite values ({})", system.params.len(), system.param_names().join(", ")),
            ));
        }
        config.params = Some(centres.clone());
        if !(0.0..1.0).contains(&config.param_spread) {
            return Err(DatasetError::invalid("param_spread", config.param_spread, "must be in [0, 1)"));
        }
        check_ic_box(config.ic_low, config.ic_high)?;
        let t_eval = check_time_grid(config.t_start, config.t_end, config.t_num)?;
        let bound = *config.blowup_bound.get_or_insert(system.blowup_bound);
        let (method, opts) = solver_options(&config.method, config.rtol, config.atol, config.t_step, bound)?;
        let rhs = system.compile();
        Ok(OdeProblem { config, system, rhs, centres, t_eval, method, opts })
    }
}

impl OdeProblem {
    /// The resolved configuration.
    pub fn config(&self) -> &OdeConfig {
        &self.config
    }
}

impl Problem for OdeProblem {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Schema {
        let (d, t) = (self.system.dim, self.t_eval.len());
        let vocab_dim = d.max(3);
        Schema {
            fields: vec![FieldSpec {
                name: "trajectory".into(),
                shape: vec![t, d],
                role: Role::Target,
                axes: vec!["time".into(), "component".into()],
                description: format!("{} trajectory u(t) ({})", self.system.name, self.system.description),
            }],
            scalars: vec![
                ScalarSpec {
                    name: "params".into(),
                    shape: vec![self.system.params.len()],
                    description: format!("ODE parameters ({})", self.system.param_names().join(", ")),
                },
                ScalarSpec { name: "initial_state".into(), shape: vec![d], description: "u(t_start)".into() },
            ],
            texts: vec![
                TextSpec {
                    name: "tokens".into(),
                    description: "PROSE prefix tokens of the right-hand side, space-separated; constants rounded to \
                                  3 significant digits (params holds the exact values integrated)"
                        .into(),
                },
                TextSpec { name: "skeleton".into(), description: "PROSE skeleton tokens (constants as <PLACEHOLDER>)".into() },
            ],
            dimensions: vec![Dimension { name: "time".into(), values: self.t_eval.clone() }],
            attributes: vec![
                ("system".into(), self.system.name.into()),
                ("param_names".into(), self.system.param_names().join(",")),
                ("equations".into(), self.system.infix()),
                ("vocabulary".into(), prose_vocabulary(vocab_dim).join(" ")),
            ],
        }
    }

    fn config_toml(&self) -> String {
        toml::to_string(&self.config).expect("config serialises")
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let spread = self.config.param_spread;
        let params: Vec<f64> = self
            .system
            .params
            .iter()
            .zip(&self.centres)
            .map(|(spec, &c)| {
                if spread == 0.0 || spec.fixed {
                    c
                } else {
                    let half = spread * c.abs();
                    rng.random_range(c - half..=c + half)
                }
            })
            .collect();
        let (d, t) = (self.system.dim, self.t_eval.len());
        let mut y0 = vec![0.0; d];
        let mut out = vec![0.0; t * d];
        let (low, high) = (self.config.ic_low, self.config.ic_high);
        solve_with_redraws(self.method, &self.rhs, &params, &self.t_eval, &self.opts, self.config.max_redraws, &mut y0, &mut out, |y| {
            y.iter_mut().for_each(|v| *v = rng.random_range(low..high))
        })
        .map_err(|e| SampleError {
            index,
            message: format!("{} with params {params:?}: {} redraws failed, last: {e}", self.system.name, self.config.max_redraws + 1),
        })?;
        let tokens = self.system.tokens(&params).map_err(|e| SampleError { index, message: e.to_string() })?;
        Ok(Sample { fields: vec![out], scalars: vec![params, y0], texts: vec![tokens.join(" "), self.system.skeleton_tokens().join(" ")] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::sample_rng;

    #[test]
    fn lorenz_samples_are_deterministic_and_consistent() {
        let p = OdeProblem::new(OdeConfig { param_spread: 0.1, ..OdeConfig::default() }).unwrap();
        let schema = p.schema();
        let a = p.sample(3, &mut sample_rng(7, 3)).unwrap();
        let b = p.sample(3, &mut sample_rng(7, 3)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.fields[0].len(), schema.field_len(0));
        assert_eq!(a.fields[0].len(), 192 * 3);
        // The first row is the initial state.
        assert_eq!(&a.fields[0][..3], &a.scalars[1][..]);
        assert!(a.scalars[0].iter().zip([10.0, 28.0, 8.0 / 3.0]).all(|(v, c)| (v - c).abs() <= 0.1 * c + 1e-12));
        assert_eq!(a.texts[0].split(' ').count(), 33);
        assert_eq!(a.texts[1].split(' ').count(), 25);
        let c = p.sample(4, &mut sample_rng(7, 4)).unwrap();
        assert_ne!(a.fields[0], c.fields[0]);
    }

    #[test]
    fn bad_config_is_rejected_with_field_names() {
        let err = |c: OdeConfig| match OdeProblem::new(c) {
            Err(DatasetError::InvalidParameter(e)) => e.field,
            other => panic!("{other:?}"),
        };
        assert_eq!(err(OdeConfig { system: "lorentz".into(), ..Default::default() }), "system");
        assert_eq!(err(OdeConfig { params: Some(vec![1.0]), ..Default::default() }), "params");
        assert_eq!(err(OdeConfig { t_num: 1, ..Default::default() }), "t_num");
        assert_eq!(err(OdeConfig { t_end: -1.0, ..Default::default() }), "t_end");
        assert_eq!(err(OdeConfig { method: "euler".into(), ..Default::default() }), "method");
        assert_eq!(err(OdeConfig { method: "rk4".into(), ..Default::default() }), "t_step");
        assert_eq!(err(OdeConfig { ic_low: 3.0, ..Default::default() }), "ic_low/ic_high");
        assert_eq!(err(OdeConfig { param_spread: 2.0, ..Default::default() }), "param_spread");
    }

    #[test]
    fn exploding_system_fails_with_a_named_error() {
        // Lorenz with a tiny blow-up bound always fails: every redraw is rejected.
        let p = OdeProblem::new(OdeConfig { blowup_bound: Some(1e-3), max_redraws: 3, ..Default::default() }).unwrap();
        let e = p.sample(0, &mut sample_rng(0, 0)).unwrap_err();
        assert!(e.message.contains("lorenz") && e.message.contains("blew up"), "{}", e.message);
    }
}
