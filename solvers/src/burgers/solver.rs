//! ETDRK4 pseudo-spectral time stepping for Burgers.

use super::real_fft::{RealFft1d, RealFftBuffers};
use super::{BurgersConfig, BurgersError};
use crate::etdrk4::{Etdrk4Coefficients, Etdrk4Stages};
use crate::InvalidParameter;
use rustfft::num_complex::Complex64;
use std::f64::consts::PI;

const ZERO: Complex64 = Complex64 { re: 0.0, im: 0.0 };

/// Burgers solver for one configuration (FFT plans and wavenumbers made once).
#[derive(Debug, Clone)]
pub struct BurgersSolver {
    config: BurgersConfig,
    fft: RealFft1d,
    /// `L_k = −ν (2πk)²`, k = 0..=n/2.
    linear: Vec<f64>,
    /// `−½ · 2πk` for the modes kept by the 2/3 rule (the Nyquist mode excluded): the
    /// imaginary factor turning the spectrum of `u²` into that of `−(u²/2)_x`. Modes beyond are
    /// zero in every nonlinear term, so their spectrum of `u²` is never formed.
    advection: Vec<f64>,
    /// Whether this CPU runs the AVX2 build of the time loop (same arithmetic, wider vectors).
    avx2: bool,
}

/// Work buffers of one solve (allocated once per solve).
struct Workspace {
    fft: RealFftBuffers,
    stages: Etdrk4Stages,
}

/// Running maxima kept apart so that the reduction vectorises instead of forming one chain.
const LANES: usize = 4;

impl BurgersSolver {
    /// Validate the configuration and plan.
    pub fn new(config: BurgersConfig) -> Result<Self, BurgersError> {
        config.validate()?;
        let n = config.resolution;
        let fft = RealFft1d::new(n);
        let cutoff = n as f64 / 3.0;
        let modes = fft.spectrum_len();
        let linear = (0..modes).map(|k| -config.viscosity * (2.0 * PI * k as f64).powi(2)).collect();
        let advection = (0..modes).take_while(|&k| (k as f64) <= cutoff && k != n / 2).map(|k| -0.5 * 2.0 * PI * k as f64).collect();
        Ok(Self { config, fft, linear, advection, avx2: avx2_available() })
    }

    /// The configuration.
    pub fn config(&self) -> &BurgersConfig {
        &self.config
    }

    /// The step used for an initial condition with `max|u0| = peak`, and steps per record.
    pub fn time_step_for(&self, peak: f64) -> (f64, usize) {
        let c = &self.config;
        let h = 1.0 / c.resolution as f64;
        let by_cfl = if peak > 0.0 { c.cfl * h / peak } else { f64::INFINITY };
        let dt = c.max_time_step.min(by_cfl);
        let interval = c.final_time / c.record_times as f64;
        let steps = ((interval / dt) * (1.0 - 1e-12)).ceil().max(1.0) as usize;
        (interval / steps as f64, steps)
    }

    /// Integrate from `u0` (n values on `x_j = j/n`); returns `u` at the stored times, shape
    /// `(record_times + 1, n/k)`, t = 0 first.
    pub fn solve(&self, u0: &[f64]) -> Result<Vec<f64>, BurgersError> {
        let peak = u0.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let (h, steps) = self.time_step_for(peak);
        self.solve_with_step(u0, h, steps)
    }

    /// Integrate with a given step `h`, `steps_per_record` steps between stored times
    /// (`h · steps_per_record · record_times` should equal the final time).
    pub fn solve_with_step(&self, u0: &[f64], h: f64, steps_per_record: usize) -> Result<Vec<f64>, BurgersError> {
        let c = &self.config;
        let n = c.resolution;
        if u0.len() != n {
            return Err(InvalidParameter::new("initial condition", format!("{} values", u0.len()), "must hold resolution values").into());
        }
        if let Some(v) = u0.iter().find(|v| !v.is_finite()) {
            return Err(InvalidParameter::new("initial condition", v, "every value must be finite").into());
        }
        let coeff = Etdrk4Coefficients::new(&self.linear, h);
        let modes = self.fft.spectrum_len();
        let mut ws = Workspace { fft: self.fft.buffers(), stages: Etdrk4Stages::new(modes) };
        let mut v = vec![ZERO; modes];
        self.fft.forward(u0, &mut v, &mut ws.fft);

        let m = c.stored_resolution();
        let mut out = Vec::with_capacity((c.record_times + 1) * m);
        out.extend(u0.iter().step_by(c.subsample));
        let cfl_per_speed = h * n as f64;
        let mut physical = vec![0.0; n];
        for record in 1..=c.record_times {
            if let Err((step, peak)) = self.advance(&mut v, steps_per_record, &coeff, cfl_per_speed, &mut ws) {
                let cfl = peak * cfl_per_speed;
                let time = c.final_time * (record - 1) as f64 / c.record_times as f64 + step as f64 * h;
                return Err(self.blow_up(time, h, cfl, "CFL number above the limit or non-finite solution"));
            }
            self.fft.inverse(&v, &mut physical, &mut ws.fft);
            let norm = 1.0 / n as f64;
            let start = out.len();
            out.extend(physical.iter().step_by(c.subsample).map(|u| u * norm));
            if out[start..].iter().any(|u| !u.is_finite()) {
                let time = c.final_time * record as f64 / c.record_times as f64;
                return Err(self.blow_up(time, h, f64::NAN, "non-finite solution"));
            }
        }
        Ok(out)
    }

    /// `steps` ETDRK4 steps of `v`, in the AVX2 build where the CPU has it (both builds do the
    /// same IEEE operations in the same order, so their results are identical). Stops with the
    /// failing step and `max|u|` (NaN if `u` is not finite) when the CFL limit is exceeded.
    fn advance(&self, v: &mut [Complex64], steps: usize, coeff: &Etdrk4Coefficients, cfl_per_speed: f64, ws: &mut Workspace) -> Result<(), (usize, f64)> {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is only true when the CPU reports AVX2 and FMA.
            return unsafe { self.advance_avx2(v, steps, coeff, cfl_per_speed, ws) };
        }
        self.advance_body(v, steps, coeff, cfl_per_speed, ws)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn advance_avx2(
        &self,
        v: &mut [Complex64],
        steps: usize,
        coeff: &Etdrk4Coefficients,
        cfl_per_speed: f64,
        ws: &mut Workspace,
    ) -> Result<(), (usize, f64)> {
        self.advance_body(v, steps, coeff, cfl_per_speed, ws)
    }

    #[inline(always)]
    fn advance_body(&self, v: &mut [Complex64], steps: usize, coeff: &Etdrk4Coefficients, cfl_per_speed: f64, ws: &mut Workspace) -> Result<(), (usize, f64)> {
        let max_cfl = self.config.max_cfl;
        let Workspace { fft, stages } = ws;
        for step in 0..steps {
            let peak = self.nonlinear(v, &mut stages.nv, fft);
            let cfl = peak * cfl_per_speed;
            if cfl.is_nan() || cfl > max_cfl {
                return Err((step, peak));
            }
            // Inlined so that the right-hand side is compiled with the caller's target features (AVX2).
            stages.finish_step(
                coeff,
                v,
                #[inline(always)]
                |state, out| {
                    self.nonlinear(state, out, fft);
                },
            );
        }
        Ok(())
    }

    /// Spectrum of `−(u²/2)_x` (dealiased) for the spectrum `v` of `u`; returns `max|u|`
    /// (NaN if `u` is not finite). Only the kept modes of `out` are written: the others must
    /// already be zero (the workspace is zeroed once).
    ///
    /// Fused on the packed half-length signal: the inverse transform leaves `x_{2j} + i x_{2j+1}`
    /// in the buffer, squaring both parts in place gives the packed form of `u²`, and only the
    /// modes kept by the 2/3 rule are split out of its forward transform, the derivative factor
    /// applied on the way.
    #[inline(always)]
    fn nonlinear(&self, v: &[Complex64], out: &mut [Complex64], buf: &mut RealFftBuffers) -> f64 {
        let n = self.config.resolution;
        self.fft.inverse_packed(v, buf);
        let norm = 1.0 / n as f64;
        let mut peak = [0.0_f64; LANES];
        let mut sum = [0.0_f64; LANES];
        let packed = buf.packed();
        let full = packed.len() / LANES * LANES;
        let (body, tail) = packed.split_at_mut(full);
        for chunk in body.chunks_exact_mut(LANES) {
            for (l, z) in chunk.iter_mut().enumerate() {
                *z = square_pair(*z, norm, &mut peak[l], &mut sum[l]);
            }
        }
        for z in tail {
            *z = square_pair(*z, norm, &mut peak[0], &mut sum[0]);
        }
        self.fft.forward_packed(buf);
        let kept = self.advection.len();
        self.fft.split_times_imaginary(buf.packed(), &self.advection, &mut out[..kept]);
        let peak = peak.iter().fold(0.0, |m: f64, &p| if p > m { p } else { m });
        // A NaN or infinity anywhere makes the sum non-finite (the maxima ignore NaN).
        if sum.iter().sum::<f64>().is_finite() {
            peak
        } else {
            f64::NAN
        }
    }

    fn blow_up(&self, time: f64, time_step: f64, cfl: f64, reason: &'static str) -> BurgersError {
        BurgersError::BlowUp {
            time,
            reason,
            viscosity: self.config.viscosity,
            time_step,
            resolution: self.config.resolution,
            cfl,
            max_cfl: self.config.max_cfl,
        }
    }
}

/// `(re·norm)² + i (im·norm)²` for one packed pair of samples; folds their magnitudes into the
/// running maximum `peak` (NaN-blind) and their values into `sum` (to detect non-finite ones).
#[inline(always)]
fn square_pair(z: Complex64, norm: f64, peak: &mut f64, sum: &mut f64) -> Complex64 {
    let (x0, x1) = (z.re * norm, z.im * norm);
    for m in [x0.abs(), x1.abs()] {
        if m > *peak {
            *peak = m;
        }
    }
    *sum += x0 + x1;
    Complex64::new(x0 * x0, x1 * x1)
}

/// Whether the AVX2 build of the time loop can run here.
fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
