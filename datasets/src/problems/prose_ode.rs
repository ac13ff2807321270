//! `prose-ode`: PROSE's mixture of chaotic ODE systems (Liu, Zhang & Schaeffer), regenerated.
//!
//! Sample `i` uses system `i mod n_systems` (PROSE cycles its systems round-robin). From the
//! sample's own random stream it draws every free parameter uniformly within ±`gamma` (10 %) of
//! its nominal value and rounds it to 3 significant digits (PROSE's `refine_floats`); constants
//! derived from several parameters (the double pendulum's −3g/l, −g/l, 4g/l) are rounded after
//! folding, so the integrated right-hand side is exactly the one its tokens spell. It then draws
//! `u0 ~ U[ic_low, ic_high]^d` and integrates to the output grid, redrawing `u0` (same stream)
//! while a solve fails or `max |u|` exceeds the system's bound (1e3; 1e5 for Fabrikant).
//!
//! Systems of different dimensions share one file: `trajectory` is zero-padded to the largest
//! dimension (as PROSE pads its data) and `dim` says how many components are real; `params` is
//! zero-padded likewise and `n_params` says how many are real.

use oplab_solvers::ode::{Method, SolveOptions};
use oplab_solvers::symbolic::noise::symbolic_noise;
use oplab_solvers::symbolic::tokens::{encode_system_skeleton, round_significant};
use oplab_solvers::symbolic::{encode_system, prose_vocabulary, Expr};
use oplab_solvers::systems::{self, CompiledRhs, OdeSystem};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

#[cfg(feature = "cli")]
use super::ode::SolverArgs;
use super::ode::{check_ic_box, check_time_grid, solve_with_redraws, solver_options};
use crate::error::{DatasetError, Result};
use crate::problem::{Dimension, FieldSpec, Problem, ProblemModule, Role, Sample, SampleError, SampleRng, ScalarSpec, Schema, TextSpec};

/// Configuration of the `prose-ode` problem (the `[prose-ode]` table of a config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProseOdeConfig {
    /// `chaotic_ode_3d` (PROSE's default 12 systems), `chaotic_ode_all` (15), or a
    /// comma-separated list of system names.
    pub systems: String,
    /// Relative half-width of the parameter ranges (PROSE `ode_param_range_gamma`).
    pub gamma: f64,
    /// Significant digits kept in every coefficient (PROSE: 3).
    pub digits: usize,
    /// Lower bound of the initial-condition box.
    pub ic_low: f64,
    /// Upper bound of the initial-condition box.
    pub ic_high: f64,
    /// Final time (PROSE `t_range`); the grid starts at 0.
    pub t_end: f64,
    /// Number of output times (PROSE `t_num`).
    pub t_num: usize,
    /// Integrator (dopri5, dop853, rosenbrock23; rk4 needs `t_step`).
    pub method: String,
    /// Relative tolerance (PROSE used 1e-5 with scipy's BDF/LSODA/RK45).
    pub rtol: f64,
    /// Absolute tolerance (PROSE: 1e-6).
    pub atol: f64,
    /// Step of `rk4`.
    pub t_step: Option<f64>,
    /// Initial-condition redraws per sample (PROSE draws 10× the ICs it needs).
    pub max_redraws: usize,
    /// Relative L2 noise level of the stored `noisy_trajectory` (PROSE 0.02); 0 stores none.
    pub noise: f64,
    /// Probability of inserting a term into the stored `noisy_skeleton` (PROSE 0.15); with
    /// `miss_term_prob` 0 too, no noisy skeleton is stored.
    pub add_term_prob: f64,
    /// Probability of deleting a term from the stored `noisy_skeleton` (PROSE 0.15).
    pub miss_term_prob: f64,
}

impl Default for ProseOdeConfig {
    fn default() -> Self {
        ProseOdeConfig {
            systems: "chaotic_ode_3d".into(),
            gamma: 0.1,
            digits: 3,
            ic_low: -2.0,
            ic_high: 2.0,
            t_end: 6.0,
            t_num: 192,
            method: "dopri5".into(),
            rtol: 1e-6,
            atol: 1e-8,
            t_step: None,
            max_redraws: 100,
            noise: 0.0,
            add_term_prob: 0.0,
            miss_term_prob: 0.0,
        }
    }
}

/// Options of `oplab generate prose-ode`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
pub struct ProseOdeArgs {
    /// Integration and output-grid options.
    #[command(flatten)]
    #[serde(flatten)]
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

/// A system of the mixture with its compiled-at-sample-time pieces.
#[derive(Debug, Clone)]
struct Member {
    system: OdeSystem,
    skeleton: String,
    opts: SolveOptions,
}

/// The `prose-ode` problem, ready to sample.
#[derive(Debug, Clone)]
pub struct ProseOdeProblem {
    config: ProseOdeConfig,
    members: Vec<Member>,
    method: Method,
    t_eval: Vec<f64>,
    max_dim: usize,
    max_params: usize,
}

impl ProblemModule for ProseOdeProblem {
    const NAME: &'static str = "prose-ode";
    const ABOUT: &'static str = "PROSE's mixture of chaotic ODE systems: ±10 % parameters, U[-2,2] initial states, t in [0,6]";
    const EXAMPLES: &'static str = "Examples:
  oplab generate prose-ode --n 25600 --out prose_val.h5
  oplab generate prose-ode --systems chaotic_ode_all --noise 0.02 --n 512000 --threads 2
  oplab generate prose-ode --add-term-prob 0.15 --miss-term-prob 0.15 --n 1000";
    type Config = ProseOdeConfig;
    #[cfg(feature = "cli")]
    type Args = ProseOdeArgs;

    /// Validate `config`, resolve the system list and prepare every member.
    fn new(config: ProseOdeConfig) -> Result<Self> {
        let names: Vec<String> = match config.systems.as_str() {
            "chaotic_ode_3d" => systems::PROSE_3D.iter().map(|s| s.to_string()).collect(),
            "chaotic_ode_all" => systems::PROSE_ALL.iter().map(|s| s.to_string()).collect(),
            list => list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        };
        if names.is_empty() {
            return Err(DatasetError::invalid("systems", &config.systems, "must name at least one system"));
        }
        if !(0.0..1.0).contains(&config.gamma) {
            return Err(DatasetError::invalid("gamma", config.gamma, "must be in [0, 1)"));
        }
        if !(1..=3).contains(&config.digits) {
            return Err(DatasetError::invalid("digits", config.digits, "must be 1, 2 or 3 (the 3-digit mantissa tokens)"));
        }
        check_ic_box(config.ic_low, config.ic_high)?;
        let t_eval = check_time_grid(0.0, config.t_end, config.t_num)?;
        if !(0.0..=1.0).contains(&config.noise) {
            return Err(DatasetError::invalid("noise", config.noise, "must be in [0, 1]"));
        }
        for (field, p) in [("add_term_prob", config.add_term_prob), ("miss_term_prob", config.miss_term_prob)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(DatasetError::invalid(field, p, "must be in [0, 1]"));
            }
        }
        if config.add_term_prob + config.miss_term_prob > 1.0 {
            return Err(DatasetError::invalid("add_term_prob + miss_term_prob", config.add_term_prob + config.miss_term_prob, "must be ≤ 1"));
        }
        let mut method = Method::Dopri5;
        let mut members = Vec::with_capacity(names.len());
        for name in &names {
            let system =
                systems::by_name(name).map_err(|_| DatasetError::invalid("systems", name, format!("each must be one of {}", systems::names().join(", "))))?;
            let (m, opts) = solver_options(&config.method, config.rtol, config.atol, config.t_step, system.blowup_bound)?;
            method = m;
            let skeleton = system.skeleton_tokens().join(" ");
            members.push(Member { system, skeleton, opts });
        }
        let max_dim = members.iter().map(|m| m.system.dim).max().unwrap_or(3);
        let max_params = members.iter().map(|m| m.system.params.len()).max().unwrap_or(0);
        let mut config = config;
        config.systems = names.join(",");
        Ok(ProseOdeProblem { config, members, method, t_eval, max_dim, max_params })
    }
}

impl ProseOdeProblem {
    /// The resolved configuration.
    pub fn config(&self) -> &ProseOdeConfig {
        &self.config
    }

    fn has_noisy_skeleton(&self) -> bool {
        self.config.add_term_prob + self.config.miss_term_prob > 0.0
    }
}

fn sample_error(index: u64, message: String) -> SampleError {
    SampleError { index, message }
}

impl Problem for ProseOdeProblem {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Schema {
        let (t, d) = (self.t_eval.len(), self.max_dim);
        let mut fields = vec![FieldSpec {
            name: "trajectory".into(),
            shape: vec![t, d],
            role: Role::Target,
            axes: vec!["time".into(), "component".into()],
            description: format!("u(t), zero-padded to {d} components (see scalar `dim`)"),
        }];
        if self.config.noise > 0.0 {
            fields.push(FieldSpec {
                name: "noisy_trajectory".into(),
                shape: vec![t, d],
                role: Role::Input,
                axes: vec!["time".into(), "component".into()],
                description: format!("trajectory + σ ε, ε ~ N(0, I), σ = {} ‖trajectory‖₂ / ‖ε‖₂ (PROSE's relative noise)", self.config.noise),
            });
        }
        let mut texts = vec![
            TextSpec { name: "system".into(), description: "system name".into() },
            TextSpec { name: "tokens".into(), description: "PROSE prefix tokens of the right-hand side with constants, space-separated".into() },
            TextSpec { name: "skeleton".into(), description: "PROSE skeleton tokens (constants as <PLACEHOLDER>)".into() },
        ];
        if self.has_noisy_skeleton() {
            texts.push(TextSpec {
                name: "noisy_skeleton".into(),
                description: format!("skeleton with one term inserted (p = {}) or deleted (p = {})", self.config.add_term_prob, self.config.miss_term_prob),
            });
        }
        let param_names: Vec<String> = self.members.iter().map(|m| format!("{}:{}", m.system.name, m.system.param_names().join("/"))).collect();
        Schema {
            fields,
            scalars: vec![
                ScalarSpec {
                    name: "params".into(),
                    shape: vec![self.max_params.max(1)],
                    description: "parameters after rounding, in the system's order, zero-padded (see n_params)".into(),
                },
                ScalarSpec { name: "n_params".into(), shape: vec![], description: "number of real entries in params".into() },
                ScalarSpec { name: "dim".into(), shape: vec![], description: "state dimension of the system".into() },
                ScalarSpec { name: "system_index".into(), shape: vec![], description: "index of the system in the `systems` attribute".into() },
                ScalarSpec { name: "initial_state".into(), shape: vec![d], description: "u(0), zero-padded".into() },
            ],
            texts,
            dimensions: vec![Dimension { name: "time".into(), values: self.t_eval.clone() }],
            attributes: vec![
                ("systems".into(), self.members.iter().map(|m| m.system.name).collect::<Vec<_>>().join(",")),
                ("param_names".into(), param_names.join(";")),
                ("vocabulary".into(), prose_vocabulary(self.max_dim.max(3)).join(" ")),
            ],
        }
    }

    fn config_toml(&self) -> String {
        toml::to_string(&self.config).expect("config serialises")
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let which = (index % self.members.len() as u64) as usize;
        let member = &self.members[which];
        let sys = &member.system;
        let digits = self.config.digits;
        let gamma = self.config.gamma;
        let params: Vec<f64> = sys
            .params
            .iter()
            .map(|p| {
                if p.fixed || gamma == 0.0 {
                    round_significant(p.nominal, digits)
                } else {
                    let half = gamma * p.nominal.abs();
                    round_significant(rng.random_range(p.nominal - half..=p.nominal + half), digits)
                }
            })
            .collect();
        // The tree PROSE writes: parameters substituted, constant subtrees folded and rounded.
        let concrete: Vec<Expr> = sys.concrete(&params).map_err(|e| sample_error(index, e.to_string()))?.iter().map(|e| e.round_constants(digits)).collect();
        let rhs = CompiledRhs::new(&concrete, sys.dim, 0).map_err(|e| sample_error(index, e.to_string()))?;
        let (t, d, dmax) = (self.t_eval.len(), sys.dim, self.max_dim);
        let mut y0 = vec![0.0; d];
        let mut out = vec![0.0; t * d];
        let (low, high) = (self.config.ic_low, self.config.ic_high);
        solve_with_redraws(self.method, &rhs, &[], &self.t_eval, &member.opts, self.config.max_redraws, &mut y0, &mut out, |y| {
            y.iter_mut().for_each(|v| *v = rng.random_range(low..high))
        })
        .map_err(|e| sample_error(index, format!("{} with params {params:?}: {} draws of u0 failed, last: {e}", sys.name, self.config.max_redraws + 1)))?;
        let pad = |v: &[f64], rows: usize, cols: usize| {
            let mut p = vec![0.0; rows * dmax];
            for r in 0..rows {
                p[r * dmax..r * dmax + cols].copy_from_slice(&v[r * cols..(r + 1) * cols]);
            }
            p
        };
        let trajectory = pad(&out, t, d);
        let mut fields = vec![trajectory];
        if self.config.noise > 0.0 {
            let eps: Vec<f64> = (0..t * d).map(|_| StandardNormal.sample(rng)).collect();
            let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
            let sigma = self.config.noise * norm(&out) / norm(&eps).max(f64::MIN_POSITIVE);
            let noisy: Vec<f64> = out.iter().zip(&eps).map(|(x, e)| x + sigma * e).collect();
            fields.push(pad(&noisy, t, d));
        }
        let tokens = encode_system(&concrete).map_err(|e| sample_error(index, format!("{}: {e}", sys.name)))?;
        let mut texts = vec![sys.name.to_string(), tokens.join(" "), member.skeleton.clone()];
        if self.has_noisy_skeleton() {
            let (noisy, _) = symbolic_noise(&sys.skeleton(), self.config.add_term_prob, self.config.miss_term_prob, rng);
            texts.push(encode_system_skeleton(&noisy).join(" "));
        }
        let mut padded_params = params.clone();
        padded_params.resize(self.max_params.max(1), 0.0);
        Ok(Sample { fields, scalars: vec![padded_params, vec![params.len() as f64], vec![d as f64], vec![which as f64], pad(&y0, 1, d)], texts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::sample_rng;
    use oplab_solvers::symbolic::parse_system_str;

    #[test]
    fn every_prose_system_samples_and_tokens_match_the_integrated_rhs() {
        let p = ProseOdeProblem::new(ProseOdeConfig {
            systems: "chaotic_ode_all".into(),
            noise: 0.02,
            add_term_prob: 0.15,
            miss_term_prob: 0.15,
            ..Default::default()
        })
        .unwrap();
        let schema = p.schema();
        assert_eq!(schema.fields.len(), 2);
        assert_eq!(schema.fields[0].shape, vec![192, 5]);
        for i in 0..15u64 {
            let s = p.sample(i, &mut sample_rng(1, i)).unwrap();
            let sys = &p.members[i as usize].system;
            assert_eq!(s.texts[0], sys.name);
            assert_eq!(s.fields[0].len(), 192 * 5);
            assert!(s.fields[0].iter().all(|v| v.is_finite() && v.abs() < sys.blowup_bound));
            // Parameters lie within ±10 % and have 3 significant digits.
            for (spec, &v) in sys.params.iter().zip(&s.scalars[0]) {
                assert!((v - spec.nominal).abs() <= 0.1 * spec.nominal.abs() * 1.01 + 1e-12, "{} {v}", spec.name);
                assert_eq!(v, round_significant(v, 3));
            }
            // The tokens parse to an RHS that reproduces the stored trajectory's first step.
            let exprs = parse_system_str(&s.texts[1]).unwrap();
            let d = sys.dim;
            let u0: Vec<f64> = s.fields[0][..d].to_vec();
            let rhs = CompiledRhs::new(&exprs, d, 0).unwrap();
            let (traj, _) = oplab_solvers::ode::solve(Method::Dopri5, &rhs, &[], 0.0, &u0, &p.t_eval[..4], &SolveOptions::with_tolerances(1e-6, 1e-8)).unwrap();
            for k in 0..4 {
                for j in 0..d {
                    let stored = s.fields[0][k * 5 + j];
                    assert!((traj[k * d + j] - stored).abs() < 1e-4 * (1.0 + stored.abs()), "{} t{k} u{j}", sys.name);
                }
            }
            assert_eq!(parse_system_str(&s.texts[2]).unwrap(), sys.skeleton());
            parse_system_str(&s.texts[3]).unwrap();
            // Noise is 2 % relative.
            let diff: f64 = s.fields[1].iter().zip(&s.fields[0]).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
            let norm: f64 = s.fields[0].iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!((diff / norm - 0.02).abs() < 1e-9, "{}", diff / norm);
        }
    }

    #[test]
    fn lorenz_tokens_have_prose_length() {
        let p = ProseOdeProblem::new(ProseOdeConfig { systems: "lorenz".into(), ..Default::default() }).unwrap();
        let s = p.sample(0, &mut sample_rng(0, 0)).unwrap();
        assert_eq!(s.texts[1].split(' ').count(), 33);
        assert_eq!(s.texts[2].split(' ').count(), 25);
        assert_eq!(s, p.sample(0, &mut sample_rng(0, 0)).unwrap());
    }

    #[test]
    fn bad_config_is_rejected() {
        let field = |c: ProseOdeConfig| match ProseOdeProblem::new(c) {
            Err(DatasetError::InvalidParameter(e)) => e.field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(ProseOdeConfig { systems: "lorenz,nope".into(), ..Default::default() }), "systems");
        assert_eq!(field(ProseOdeConfig { gamma: 1.5, ..Default::default() }), "gamma");
        assert_eq!(field(ProseOdeConfig { noise: -0.1, ..Default::default() }), "noise");
        assert_eq!(field(ProseOdeConfig { t_num: 0, ..Default::default() }), "t_num");
        assert_eq!(field(ProseOdeConfig { digits: 5, ..Default::default() }), "digits");
    }

    #[test]
    fn generates_a_file_that_reads_back() {
        use crate::{generate, DatasetFile, GenerationSettings, RunOptions, Shard, Silent};
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("prose.h5");
        let p = ProseOdeProblem::new(ProseOdeConfig { noise: 0.02, ..Default::default() }).unwrap();
        let settings = GenerationSettings { n: 24, seed: 5, ..GenerationSettings::default() };
        let opts = RunOptions { out: out.clone(), shard: Shard::WHOLE, threads: Some(2), block_size: Some(7), force: false };
        generate(&p, &settings, &opts, &Silent).unwrap();
        let file = DatasetFile::open(&out).unwrap();
        let batch = file.read_batch(0, 24).unwrap();
        // The reader lists texts in the file's (alphabetical) order: look them up by name.
        let text = |name: &str| {
            let k = file.info().schema.texts.iter().position(|t| t.name == name).unwrap();
            batch.texts[k].clone()
        };
        let names = text("system");
        assert_eq!(names[..12], systems::PROSE_3D.map(String::from)[..]);
        let tokens = text("tokens");
        assert_eq!(tokens[1].split(' ').count(), 33, "{}", tokens[1]);
        let direct = p.sample(13, &mut crate::sample_rng(5, 13)).unwrap();
        assert_eq!(tokens[13], direct.texts[1]);
        assert!(file.info().schema.attributes.iter().any(|(k, v)| k == "vocabulary" && v.split(' ').count() == 1072));
    }
}
