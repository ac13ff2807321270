//! `navier-stokes`: FNO's 2-D vorticity data on the periodic unit torus, stored at equally
//! spaced times (t = 0 included) on a subsampled grid.

use ndarray::{Axis, IxDyn};
use oplab_solvers::navier_stokes::{NavierStokesConfig, NavierStokesSampler, PrimitiveSolver};
use serde::{Deserialize, Serialize};

#[cfg(feature = "cli")]
use super::pde_common::EvolutionArgs;
use super::pde_common::{check_resolution_at_most, dimension, periodic_coordinates, record_times, sample_error};
use crate::error::Result;
use crate::export::{ExportFile, ExportLayout, Exporter, NativeFile};
use crate::problem::{FieldSpec, Problem, ProblemModule, Role, Sample, SampleError, SampleRng, Schema};

/// Largest solver grid side.
pub const MAX_RESOLUTION: usize = 4096;

/// Configuration of the `navier-stokes` problem (the `[navier-stokes]` table; the solver's options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct NavierStokesProblemConfig(pub NavierStokesConfig);

/// Options of `oplab generate navier-stokes`.
#[cfg(feature = "cli")]
#[derive(Debug, clap::Args, Serialize)]
pub struct NavierStokesArgs {
    /// Grid and stored times.
    #[command(flatten)]
    #[serde(flatten)]
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

/// `--scheme` of `oplab generate navier-stokes`: the solver's
/// [`oplab_solvers::navier_stokes::TimeScheme`], under the same names.
#[cfg(feature = "cli")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NsScheme {
    /// FNO's `ns_2d.py`: Crank–Nicolson viscosity, forward-Euler nonlinearity and forcing.
    CrankNicolson,
    /// Exponential time differencing RK4: exact viscosity, fourth order overall.
    Etdrk4,
}

/// The `navier-stokes` problem.
#[derive(Debug, Clone)]
pub struct NavierStokesProblem {
    config: NavierStokesConfig,
    sampler: NavierStokesSampler,
}

impl ProblemModule for NavierStokesProblem {
    const NAME: &'static str = "navier-stokes";
    const ABOUT: &'static str = "2-D Navier–Stokes vorticity on the torus, FNO's forcing and scheme";
    const EXAMPLES: &'static str = "Examples:
  oplab generate navier-stokes --n 20 --viscosity 1e-3 --final-time 50 --record-times 50   # FNO: 256^2 stored at 64^2
  oplab generate navier-stokes --n 4 --resolution 64 --subsample 1 --final-time 1 --record-times 10 --out ns.h5
  oplab generate navier-stokes --n 4 --scheme etdrk4 --time-step 4e-4 --final-time 1 --record-times 10   # fourth order";
    const EXPORTS: &'static [(ExportLayout, Exporter)] = &[(ExportLayout::Fno, fno_export), (ExportLayout::Pdebench, pdebench_export)];
    type Config = NavierStokesProblemConfig;
    #[cfg(feature = "cli")]
    type Args = NavierStokesArgs;

    /// Validate `config`, plan the FFTs and tabulate the spectral operators.
    fn new(config: NavierStokesProblemConfig) -> Result<Self> {
        let mut config = config.0;
        check_resolution_at_most(config.resolution, MAX_RESOLUTION)?;
        let sampler = NavierStokesSampler::new(config)?;
        config.initial.sigma = Some(config.initial.resolved_sigma(2));
        Ok(Self { config, sampler })
    }
}

/// FNO's Navier–Stokes file: `a` = w(t = 0) (N, s, s), `u` = w(t_1 … t_T) (N, s, s, T) and `t`.
fn fno_export(native: &NativeFile, out: &ExportFile) -> Result<()> {
    let w = native.read("fields/vorticity")?; // (N, T+1, s, s)
    let first = w.index_axis(Axis(1), 0).to_owned();
    let rest = w.slice_axis(Axis(1), ndarray::Slice::from(1..)).permuted_axes(IxDyn(&[0, 2, 3, 1])).to_owned();
    let times = native.read("dimensions/time")?;
    let t = times.slice_axis(Axis(0), ndarray::Slice::from(1..)).to_owned().insert_axis(Axis(0));
    let file = out.matlab(native.single())?;
    file.write("a", first)?;
    file.write("u", rest)?;
    file.write("t", t)?;
    file.finish()
}

/// PDEBench's 2-D CFD files (the field-name branch of its `FNODatasetSingle` loader): `density`,
/// `pressure`, `Vx`, `Vy`, each (N, Nt, s, s) with Nt the stored times (t = 0 included),
/// `x-coordinate`, `y-coordinate`, `t-coordinate` (Nt) and the attributes `eta` (shear viscosity:
/// ν, as the density is 1), `zeta` = 0 and `M` = 0 (the incompressible limit). The velocity and
/// the pressure (`Δp = 2(u_x v_y − u_y v_x)`, mean zero) are computed spectrally from the stored
/// vorticity, which is also kept as `vorticity` (N, Nt, s, s); `density` is 1.
fn pdebench_export(native: &NativeFile, out: &ExportFile) -> Result<()> {
    let config: NavierStokesProblemConfig = native.config()?;
    let w = native.read("fields/vorticity")?;
    let shape = w.shape().to_vec();
    let (n, nt, s) = (shape[0], shape[1], shape[2]);
    let primitive = PrimitiveSolver::new(s);
    let mut vx = ndarray::Array4::<f32>::zeros((n, nt, s, s));
    let (mut vy, mut pressure) = (vx.clone(), vx.clone());
    for i in 0..n {
        for t in 0..nt {
            let field: Vec<f64> = w.slice(ndarray::s![i, t, .., ..]).iter().copied().collect();
            let p = primitive.solve(&field);
            for (dst, src) in [(&mut vx, &p.vx), (&mut vy, &p.vy), (&mut pressure, &p.pressure)] {
                for (d, &v) in dst.slice_mut(ndarray::s![i, t, .., ..]).iter_mut().zip(src) {
                    *d = v as f32;
                }
            }
        }
    }
    let file = out.pdebench()?;
    file.write_f32("density", &ndarray::Array4::<f32>::ones((n, nt, s, s)))?;
    file.write_f32("pressure", &pressure)?;
    file.write_f32("Vx", &vx)?;
    file.write_f32("Vy", &vy)?;
    file.write("vorticity", &w)?;
    file.write("x-coordinate", &native.read("dimensions/x")?)?;
    file.write("y-coordinate", &native.read("dimensions/y")?)?;
    file.write("t-coordinate", &native.read("dimensions/time")?)?;
    file.attribute("eta", config.0.viscosity)?;
    file.attribute("zeta", 0.0)?;
    file.attribute("M", 0.0)?;
    file.finish()
}

impl NavierStokesProblem {
    /// The resolved configuration.
    pub fn config(&self) -> &NavierStokesConfig {
        &self.config
    }
}

impl Problem for NavierStokesProblem {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn schema(&self) -> Schema {
        let c = &self.config;
        let times = record_times(c.final_time, c.record_times);
        let m = c.stored_resolution();
        let coords = periodic_coordinates(c.resolution, c.subsample);
        Schema {
            fields: vec![FieldSpec {
                name: "vorticity".into(),
                shape: vec![times.len(), m, m],
                role: Role::Target,
                axes: vec!["time".into(), "x".into(), "y".into()],
                description: format!(
                    "vorticity w(t, x, y), w_t + u.grad w = {} lap w + f ({:?}); pseudo-spectral, {} in time, {}^2 grid, dt {}",
                    c.viscosity,
                    c.forcing,
                    c.scheme.name(),
                    c.resolution,
                    c.effective_time_step()
                ),
            }],
            dimensions: vec![dimension("time", times), dimension("x", coords.clone()), dimension("y", coords)],
            attributes: vec![("boundary_conditions".into(), "periodic".into()), ("viscosity".into(), c.viscosity.to_string())],
            ..Schema::default()
        }
    }

    fn config_toml(&self) -> String {
        super::pde_common::inline_toml(&self.config)
    }

    fn sample(&self, index: u64, rng: &mut SampleRng) -> std::result::Result<Sample, SampleError> {
        let s = self.sampler.sample(rng).map_err(|e| sample_error(index, e))?;
        Ok(Sample { fields: vec![s.vorticity], ..Sample::default() })
    }
}
