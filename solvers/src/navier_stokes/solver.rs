//! The FNO `ns_2d.py` time stepper: Crank–Nicolson viscosity, explicit dealiased nonlinearity.

use super::fft2::Fft2Plan;
use super::{NavierStokesConfig, NavierStokesError};
use crate::grf::periodic::fft_frequency;
use rustfft::num_complex::Complex64;
use std::f64::consts::PI;

const ZERO: Complex64 = Complex64 { re: 0.0, im: 0.0 };

/// Stored vorticity of one solve.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Stored times `0, T/n, …, T`.
    pub times: Vec<f64>,
    /// Points per side of the stored grid.
    pub stored_resolution: usize,
    /// Vorticity, shape `(times.len(), m, m)` row-major, `m = stored_resolution`.
    pub vorticity: Vec<f64>,
}

/// Navier–Stokes solver for one configuration: FFT plans and spectral operators are built once;
/// [`NavierStokesSolver::solve`] allocates its work buffers once per call, none per step.
#[derive(Clone)]
pub struct NavierStokesSolver {
    config: NavierStokesConfig,
    plan: Fft2Plan,
    time_step: f64,
    /// Spectral operators in the transposed order `[k_y][k_x]` of [`Fft2Plan`].
    /// `2π k_x`, `2π k_y` for derivatives (zero on the Nyquist line: its derivative is not a
    /// real field's spectrum and would leak between the two fields packed into one transform).
    kx: Vec<f64>,
    ky: Vec<f64>,
    /// `1 / (4π²|k|²)`, zero at k = 0 (the mean of ψ does not enter the velocity).
    inverse_laplacian: Vec<f64>,
    /// `(1 − ½Δtν·4π²|k|²) / (1 + ½Δtν·4π²|k|²)`: the Crank–Nicolson amplification.
    viscous_factor: Vec<f64>,
    /// `Δt · dealias(k) / (1 + ½Δtν·4π²|k|²)`: what multiplies the nonlinear term.
    nonlinear_factor: Vec<f64>,
    /// `Δt · f̂ / (1 + ½Δtν·4π²|k|²)`: the forcing increment per step.
    forcing_increment: Vec<Complex64>,
}

impl std::fmt::Debug for NavierStokesSolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NavierStokesSolver").field("config", &self.config).finish()
    }
}

impl NavierStokesSolver {
    /// Validate the configuration and tabulate the spectral operators.
    pub fn new(config: NavierStokesConfig) -> Result<Self, NavierStokesError> {
        config.validate()?;
        let s = config.resolution;
        let plan = Fft2Plan::new(s);
        let dt = config.effective_time_step();
        let nu = config.viscosity;
        let k_max = (s / 2) as f64;
        let cutoff = 2.0 / 3.0 * k_max;
        let n = s * s;
        let (mut kx, mut ky) = (vec![0.0; n], vec![0.0; n]);
        let mut inverse_laplacian = vec![0.0; n];
        let mut viscous_factor = vec![0.0; n];
        let mut nonlinear_factor = vec![0.0; n];
        for row in 0..s {
            for col in 0..s {
                let idx = row * s + col;
                let (fx, fy) = (fft_frequency(col, s) as f64, fft_frequency(row, s) as f64);
                kx[idx] = if fx.abs() == k_max { 0.0 } else { 2.0 * PI * fx };
                ky[idx] = if fy.abs() == k_max { 0.0 } else { 2.0 * PI * fy };
                let lap = 4.0 * PI * PI * (fx * fx + fy * fy);
                inverse_laplacian[idx] = if lap == 0.0 { 0.0 } else { 1.0 / lap };
                let implicit = 1.0 / (1.0 + 0.5 * dt * nu * lap);
                viscous_factor[idx] = (1.0 - 0.5 * dt * nu * lap) * implicit;
                let keep = fx.abs() <= cutoff && fy.abs() <= cutoff;
                nonlinear_factor[idx] = if keep { dt * implicit } else { 0.0 };
            }
        }
        let mut forcing: Vec<Complex64> = config.forcing.nodes(s).into_iter().map(|v| Complex64::new(v, 0.0)).collect();
        let mut forcing_hat = vec![ZERO; n];
        let mut scratch = vec![ZERO; plan.scratch_len()];
        plan.forward(&mut forcing, &mut forcing_hat, &mut scratch);
        let forcing_increment = forcing_hat
            .iter()
            .enumerate()
            .map(|(idx, f)| {
                let (fx, fy) = (fft_frequency(idx % s, s) as f64, fft_frequency(idx / s, s) as f64);
                let lap = 4.0 * PI * PI * (fx * fx + fy * fy);
                f * (dt / (1.0 + 0.5 * dt * nu * lap))
            })
            .collect();
        Ok(Self {
            config,
            plan,
            time_step: dt,
            kx,
            ky,
            inverse_laplacian,
            viscous_factor,
            nonlinear_factor,
            forcing_increment,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NavierStokesConfig {
        &self.config
    }

    /// The time step actually used.
    pub fn time_step(&self) -> f64 {
        self.time_step
    }

    /// Integrate from the initial vorticity `w0` (`s × s`, row-major) and return the stored
    /// snapshots (t = 0 included). Fails with a typed error on bad input or blow-up.
    pub fn solve(&self, w0: &[f64]) -> Result<Trajectory, NavierStokesError> {
        let cfg = &self.config;
        let s = cfg.resolution;
        let n = s * s;
        if w0.len() != n {
            return Err(NavierStokesError::InvalidParameter {
                field: "initial vorticity",
                value: format!("{} values", w0.len()),
                allowed: "must hold resolution² values",
            });
        }
        if let Some(v) = w0.iter().find(|v| !v.is_finite()) {
            return Err(NavierStokesError::InvalidParameter {
                field: "initial vorticity",
                value: v.to_string(),
                allowed: "every value must be finite",
            });
        }
        let times = cfg.times();
        let m = cfg.stored_resolution();
        let mut vorticity = Vec::with_capacity(times.len() * m * m);
        // Work buffers: allocated here once, reused by every step.
        let mut w_hat = vec![ZERO; n];
        let mut spec_a = vec![ZERO; n];
        let mut spec_b = vec![ZERO; n];
        let mut phys_a = vec![ZERO; n];
        let mut phys_b = vec![ZERO; n];
        let mut scratch = vec![ZERO; self.plan.scratch_len()];

        for (p, &v) in phys_a.iter_mut().zip(w0) {
            *p = Complex64::new(v, 0.0);
        }
        self.plan.forward(&mut phys_a, &mut w_hat, &mut scratch);
        self.store(&w_hat, &mut spec_b, &mut phys_b, &mut scratch, &mut vorticity);

        let dt = self.time_step;
        let steps_per_record = cfg.steps_per_record();
        // Both inverse transforms are unnormalised (factor s² each).
        let norm = 1.0 / (n as f64 * n as f64);
        let speed_to_cfl = dt * s as f64 / n as f64;
        for record in 1..times.len() {
            for step in 0..steps_per_record {
                // Pack two real fields per complex transform: û + i v̂ and ŵ_x + i ŵ_y.
                for idx in 0..n {
                    let w = w_hat[idx];
                    let psi = w * self.inverse_laplacian[idx];
                    let (kx, ky) = (self.kx[idx], self.ky[idx]);
                    spec_a[idx] = psi * Complex64::new(kx, ky);
                    spec_b[idx] = w * Complex64::new(-ky, kx);
                }
                self.plan.inverse(&mut spec_a, &mut phys_a, &mut scratch);
                self.plan.inverse(&mut spec_b, &mut phys_b, &mut scratch);
                let mut max_speed: f64 = 0.0;
                for (a, b) in phys_a.iter_mut().zip(&phys_b) {
                    let (u, v) = (a.re, a.im);
                    max_speed = max_speed.max(u.abs() + v.abs());
                    *a = Complex64::new((u * b.re + v * b.im) * norm, 0.0);
                }
                let cfl = max_speed * speed_to_cfl;
                // `!(x <= limit)` also catches NaN (f64::max ignores NaN, so test the field too).
                if !(cfl <= cfg.max_cfl) || !phys_a[0].re.is_finite() {
                    let time = times[record - 1] + step as f64 * dt;
                    return Err(self.blow_up(time, cfl, "CFL number above the limit or non-finite velocity"));
                }
                self.plan.forward(&mut phys_a, &mut spec_a, &mut scratch);
                for idx in 0..n {
                    w_hat[idx] = w_hat[idx] * self.viscous_factor[idx] - spec_a[idx] * self.nonlinear_factor[idx]
                        + self.forcing_increment[idx];
                }
            }
            let start = vorticity.len();
            self.store(&w_hat, &mut spec_b, &mut phys_b, &mut scratch, &mut vorticity);
            if vorticity[start..].iter().any(|v| !v.is_finite()) {
                return Err(self.blow_up(times[record], f64::NAN, "non-finite vorticity"));
            }
        }
        Ok(Trajectory { times, stored_resolution: m, vorticity })
    }

    fn blow_up(&self, time: f64, cfl: f64, reason: &'static str) -> NavierStokesError {
        NavierStokesError::BlowUp {
            time,
            reason,
            viscosity: self.config.viscosity,
            time_step: self.time_step,
            resolution: self.config.resolution,
            cfl,
            max_cfl: self.config.max_cfl,
        }
    }

    /// Append the physical vorticity of `w_hat`, subsampled, to `out`.
    fn store(
        &self,
        w_hat: &[Complex64],
        spec: &mut [Complex64],
        phys: &mut [Complex64],
        scratch: &mut [Complex64],
        out: &mut Vec<f64>,
    ) {
        let s = self.config.resolution;
        let k = self.config.subsample;
        let norm = 1.0 / (s * s) as f64;
        spec.copy_from_slice(w_hat);
        self.plan.inverse(spec, phys, scratch);
        for i in (0..s).step_by(k) {
            for j in (0..s).step_by(k) {
                out.push(phys[i * s + j].re * norm);
            }
        }
    }
}

/// Grid means of energy, enstrophy and palinstrophy of a periodic vorticity field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VorticityDiagnostics {
    /// `½⟨|u|²⟩`.
    pub energy: f64,
    /// `½⟨w²⟩`.
    pub enstrophy: f64,
    /// `½⟨|∇w|²⟩` (enstrophy dissipation rate is `2ν` times this).
    pub palinstrophy: f64,
}

/// Spectral energy, enstrophy and palinstrophy of the `s × s` vorticity field `w` (mean-free part).
pub fn vorticity_diagnostics(w: &[f64], s: usize) -> VorticityDiagnostics {
    let plan = Fft2Plan::new(s);
    let mut phys: Vec<Complex64> = w.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    let mut spec = vec![ZERO; s * s];
    let mut scratch = vec![ZERO; plan.scratch_len()];
    plan.forward(&mut phys, &mut spec, &mut scratch);
    let norm = 1.0 / (s * s) as f64;
    let (mut energy, mut enstrophy, mut palinstrophy) = (0.0, 0.0, 0.0);
    for (idx, c) in spec.iter().enumerate() {
        let (fx, fy) = (fft_frequency(idx % s, s) as f64, fft_frequency(idx / s, s) as f64);
        let lap = 4.0 * PI * PI * (fx * fx + fy * fy);
        if lap == 0.0 {
            continue;
        }
        let power = (c * norm).norm_sqr();
        enstrophy += 0.5 * power;
        palinstrophy += 0.5 * lap * power;
        energy += 0.5 * power / lap;
    }
    VorticityDiagnostics { energy, enstrophy, palinstrophy }
}
