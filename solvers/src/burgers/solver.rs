//! ETDRK4 pseudo-spectral time stepping for Burgers.

use super::real_fft::{RealFft1d, RealFftBuffers};
use super::{BurgersConfig, BurgersError};
use rustfft::num_complex::Complex64;
use std::f64::consts::PI;

const ZERO: Complex64 = Complex64 { re: 0.0, im: 0.0 };

/// Number of contour points on the upper half circle (Kassam & Trefethen use 32 of 64).
const CONTOUR_POINTS: usize = 32;

/// ETDRK4 coefficients for a diagonal linear operator `L` (one value per mode) and step `h`.
#[derive(Debug, Clone, PartialEq)]
pub struct Etdrk4Coefficients {
    /// `e^{hL}`.
    pub e: Vec<f64>,
    /// `e^{hL/2}`.
    pub e_half: Vec<f64>,
    /// `h · (e^{hL/2} − 1)/(hL)`.
    pub q: Vec<f64>,
    /// `h · (−4 − hL + e^{hL}(4 − 3hL + (hL)²)) / (hL)³`.
    pub f1: Vec<f64>,
    /// `h · (2 + hL + e^{hL}(hL − 2)) / (hL)³`.
    pub f2: Vec<f64>,
    /// `h · (−4 − 3hL − (hL)² + e^{hL}(4 − hL)) / (hL)³`.
    pub f3: Vec<f64>,
}

impl Etdrk4Coefficients {
    /// Evaluate the φ-functions by averaging over a circle of radius 1 around each `hL` in the
    /// complex plane (Kassam & Trefethen 2005): exact for analytic functions and free of the
    /// cancellation the closed forms suffer near `hL = 0`.
    pub fn new(linear: &[f64], h: f64) -> Self {
        let n = linear.len();
        let mut c = Self {
            e: vec![0.0; n],
            e_half: vec![0.0; n],
            q: vec![0.0; n],
            f1: vec![0.0; n],
            f2: vec![0.0; n],
            f3: vec![0.0; n],
        };
        let roots: Vec<Complex64> = (1..=CONTOUR_POINTS)
            .map(|j| Complex64::from_polar(1.0, PI * (j as f64 - 0.5) / CONTOUR_POINTS as f64))
            .collect();
        for (k, &l) in linear.iter().enumerate() {
            let hl = h * l;
            c.e[k] = hl.exp();
            c.e_half[k] = (0.5 * hl).exp();
            let (mut q, mut f1, mut f2, mut f3) = (ZERO, ZERO, ZERO, ZERO);
            for &root in &roots {
                let r = root + hl;
                let er = r.exp();
                let r3 = r * r * r;
                q += ((0.5 * r).exp() - 1.0) / r;
                f1 += (-4.0 - r + er * (4.0 - 3.0 * r + r * r)) / r3;
                f2 += (2.0 + r + er * (r - 2.0)) / r3;
                f3 += (-4.0 - 3.0 * r - r * r + er * (4.0 - r)) / r3;
            }
            let scale = h / CONTOUR_POINTS as f64;
            c.q[k] = scale * q.re;
            c.f1[k] = scale * f1.re;
            c.f2[k] = scale * f2.re;
            c.f3[k] = scale * f3.re;
        }
        c
    }
}

/// Burgers solver for one configuration (FFT plans and wavenumbers made once).
#[derive(Debug, Clone)]
pub struct BurgersSolver {
    config: BurgersConfig,
    fft: RealFft1d,
    /// `L_k = −ν (2πk)²`, k = 0..=n/2.
    linear: Vec<f64>,
    /// `−½ · i 2πk`, zeroed beyond the 2/3 cutoff and at the Nyquist mode: the factor turning
    /// the spectrum of `u²` into that of `−(u²/2)_x`.
    advection: Vec<Complex64>,
}

/// Work buffers of one solve (allocated once per solve).
struct Workspace {
    fft: RealFftBuffers,
    physical: Vec<f64>,
    spectrum: Vec<Complex64>,
}

impl BurgersSolver {
    /// Validate the configuration and plan.
    pub fn new(config: BurgersConfig) -> Result<Self, BurgersError> {
        config.validate()?;
        let n = config.resolution;
        let fft = RealFft1d::new(n);
        let cutoff = n as f64 / 3.0;
        let modes = fft.spectrum_len();
        let linear = (0..modes).map(|k| -config.viscosity * (2.0 * PI * k as f64).powi(2)).collect();
        let advection = (0..modes)
            .map(|k| {
                if (k as f64) <= cutoff && k != n / 2 {
                    Complex64::new(0.0, -0.5 * 2.0 * PI * k as f64)
                } else {
                    ZERO
                }
            })
            .collect();
        Ok(Self { config, fft, linear, advection })
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
            return Err(BurgersError::InvalidParameter {
                field: "initial condition",
                value: format!("{} values", u0.len()),
                allowed: "must hold resolution values",
            });
        }
        if let Some(v) = u0.iter().find(|v| !v.is_finite()) {
            return Err(BurgersError::InvalidParameter {
                field: "initial condition",
                value: v.to_string(),
                allowed: "every value must be finite",
            });
        }
        let coeff = Etdrk4Coefficients::new(&self.linear, h);
        let modes = self.fft.spectrum_len();
        let mut ws = Workspace {
            fft: self.fft.buffers(),
            physical: vec![0.0; n],
            spectrum: vec![ZERO; modes],
        };
        let mut v = vec![ZERO; modes];
        let (mut a, mut b, mut cc) = (vec![ZERO; modes], vec![ZERO; modes], vec![ZERO; modes]);
        let (mut nv, mut na, mut nb, mut nc) = (vec![ZERO; modes], vec![ZERO; modes], vec![ZERO; modes], vec![ZERO; modes]);
        self.fft.forward(u0, &mut v, &mut ws.fft);

        let m = c.stored_resolution();
        let mut out = Vec::with_capacity((c.record_times + 1) * m);
        out.extend(u0.iter().step_by(c.subsample));
        let cfl_per_speed = h * n as f64;
        for record in 1..=c.record_times {
            for step in 0..steps_per_record {
                let peak = self.nonlinear(&v, &mut nv, &mut ws);
                let cfl = peak * cfl_per_speed;
                if !(cfl <= c.max_cfl) {
                    let time = c.final_time * (record - 1) as f64 / c.record_times as f64 + step as f64 * h;
                    return Err(self.blow_up(time, h, cfl, "CFL number above the limit or non-finite solution"));
                }
                for k in 0..modes {
                    a[k] = v[k] * coeff.e_half[k] + nv[k] * coeff.q[k];
                }
                self.nonlinear(&a, &mut na, &mut ws);
                for k in 0..modes {
                    b[k] = v[k] * coeff.e_half[k] + na[k] * coeff.q[k];
                }
                self.nonlinear(&b, &mut nb, &mut ws);
                for k in 0..modes {
                    cc[k] = a[k] * coeff.e_half[k] + (nb[k] * 2.0 - nv[k]) * coeff.q[k];
                }
                self.nonlinear(&cc, &mut nc, &mut ws);
                for k in 0..modes {
                    v[k] = v[k] * coeff.e[k]
                        + nv[k] * coeff.f1[k]
                        + (na[k] + nb[k]) * (2.0 * coeff.f2[k])
                        + nc[k] * coeff.f3[k];
                }
            }
            self.fft.inverse(&v, &mut ws.physical, &mut ws.fft);
            let norm = 1.0 / n as f64;
            let start = out.len();
            out.extend(ws.physical.iter().step_by(c.subsample).map(|u| u * norm));
            if out[start..].iter().any(|u| !u.is_finite()) {
                let time = c.final_time * record as f64 / c.record_times as f64;
                return Err(self.blow_up(time, h, f64::NAN, "non-finite solution"));
            }
        }
        Ok(out)
    }

    /// Spectrum of `−(u²/2)_x` (dealiased) for the spectrum `v` of `u`; returns `max|u|`
    /// (NaN if `u` is not finite).
    fn nonlinear(&self, v: &[Complex64], out: &mut [Complex64], ws: &mut Workspace) -> f64 {
        let n = self.config.resolution;
        self.fft.inverse(v, &mut ws.physical, &mut ws.fft);
        let norm = 1.0 / n as f64;
        let mut peak: f64 = 0.0;
        let mut sum = 0.0;
        for u in ws.physical.iter_mut() {
            let value = *u * norm;
            peak = peak.max(value.abs());
            sum += value;
            *u = value * value;
        }
        self.fft.forward(&ws.physical, &mut ws.spectrum, &mut ws.fft);
        for ((o, s), g) in out.iter_mut().zip(&ws.spectrum).zip(&self.advection) {
            *o = s * g;
        }
        if sum.is_finite() {
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
