//! Velocity and pressure of a periodic vorticity field, for exports to layouts that store the
//! primitive variables (PDEBench's 2-D CFD files).

use super::fft2::Fft2Plan;
use crate::grf::periodic::fft_frequency;
use rustfft::num_complex::Complex64;
use std::f64::consts::PI;

/// Velocity and pressure recovered from a vorticity field on the `s × s` periodic grid; each
/// row-major `[x][y]`, `s²` values.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimitiveFields {
    /// `u = ∂_y ψ` (x component), with `−Δψ = w`.
    pub vx: Vec<f64>,
    /// `v = −∂_x ψ` (y component).
    pub vy: Vec<f64>,
    /// Kinematic pressure (density 1) of the incompressible flow, mean zero: the solution of
    /// `Δp = 2 (u_x v_y − u_y v_x)` (the divergence of the momentum equation; a curl-type body
    /// force such as FNO's has no divergence and drops out).
    pub pressure: Vec<f64>,
}

/// Reusable transforms for [`PrimitiveFields`] on one grid size.
#[derive(Clone)]
pub struct PrimitiveSolver {
    s: usize,
    plan: Fft2Plan,
}

impl std::fmt::Debug for PrimitiveSolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrimitiveSolver").field("s", &self.s).finish()
    }
}

impl PrimitiveSolver {
    /// Plan the transforms for `s × s` fields (`s ≥ 2`).
    pub fn new(s: usize) -> Self {
        Self { s, plan: Fft2Plan::new(s.max(1)) }
    }

    /// Velocity and pressure of the vorticity `w` (`s²` values, `[x][y]`), spectrally: the
    /// derivatives are exact for the trigonometric interpolant of `w` (Nyquist modes dropped from
    /// the derivatives, as in the solver), the pressure's quadratic source is formed on the grid
    /// without dealiasing.
    ///
    /// # Panics
    /// If `w.len() != s²`.
    pub fn solve(&self, w: &[f64]) -> PrimitiveFields {
        let s = self.s;
        let n = s * s;
        assert_eq!(w.len(), n, "vorticity must hold s² values");
        let k_max = (s / 2) as f64;
        let wave = |i: usize| {
            let f = fft_frequency(i, s) as f64;
            if s.is_multiple_of(2) && f.abs() == k_max {
                0.0
            } else {
                2.0 * PI * f
            }
        };
        let mut scratch = vec![Complex64::ZERO; self.plan.scratch_len()];
        let mut phys: Vec<Complex64> = w.iter().map(|&v| Complex64::new(v, 0.0)).collect();
        let mut w_hat = vec![Complex64::ZERO; n];
        self.plan.forward(&mut phys, &mut w_hat, &mut scratch);
        // Spectra in [k_y][k_x] order: index = row·s + col, k_y from the row, k_x from the column.
        let spectrum = |f: &dyn Fn(Complex64, f64, f64, f64) -> Complex64| -> Vec<Complex64> {
            (0..n)
                .map(|idx| {
                    let (fx, fy) = (fft_frequency(idx % s, s) as f64, fft_frequency(idx / s, s) as f64);
                    let lap = 4.0 * PI * PI * (fx * fx + fy * fy);
                    let psi = if lap == 0.0 { 0.0 } else { 1.0 / lap };
                    f(w_hat[idx], psi, wave(idx % s), wave(idx / s))
                })
                .collect()
        };
        let i = Complex64::I;
        let norm = 1.0 / n as f64;
        let plan = &self.plan;
        let to_physical = |mut spec: Vec<Complex64>, scratch: &mut [Complex64]| -> Vec<f64> {
            let mut out = vec![Complex64::ZERO; n];
            plan.inverse(&mut spec, &mut out, scratch);
            out.iter().map(|z| z.re * norm).collect()
        };
        let vx = to_physical(spectrum(&|w, psi, _, ky| i * ky * w * psi), &mut scratch);
        let vy = to_physical(spectrum(&|w, psi, kx, _| -i * kx * w * psi), &mut scratch);
        // u_x = ∂_x∂_y ψ, u_y = ∂_y²ψ, v_x = −∂_x²ψ, v_y = −u_x.
        let ux = to_physical(spectrum(&|w, psi, kx, ky| -kx * ky * w * psi), &mut scratch);
        let uy = to_physical(spectrum(&|w, psi, _, ky| -ky * ky * w * psi), &mut scratch);
        let v_x = to_physical(spectrum(&|w, psi, kx, _| kx * kx * w * psi), &mut scratch);
        let mut source: Vec<Complex64> = (0..n).map(|j| Complex64::new(2.0 * (ux[j] * -ux[j] - uy[j] * v_x[j]), 0.0)).collect();
        let mut source_hat = vec![Complex64::ZERO; n];
        self.plan.forward(&mut source, &mut source_hat, &mut scratch);
        for (idx, z) in source_hat.iter_mut().enumerate() {
            let (fx, fy) = (fft_frequency(idx % s, s) as f64, fft_frequency(idx / s, s) as f64);
            let lap = 4.0 * PI * PI * (fx * fx + fy * fy);
            *z = if lap == 0.0 { Complex64::ZERO } else { -*z / lap };
        }
        let pressure = to_physical(source_hat, &mut scratch);
        PrimitiveFields { vx, vy, pressure }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taylor_green_velocity_and_pressure_are_exact() {
        // ψ = sin 2πx sin 2πy: u = 2π sin 2πx cos 2πy, v = −2π cos 2πx sin 2πy,
        // w = 8π²ψ, p = π²(cos 4πx + cos 4πy).
        let s = 16;
        let tp = 2.0 * PI;
        let at = |f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> { (0..s * s).map(|idx| f((idx / s) as f64 / s as f64, (idx % s) as f64 / s as f64)).collect() };
        let w = at(&|x, y| 2.0 * tp * tp * (tp * x).sin() * (tp * y).sin());
        let fields = PrimitiveSolver::new(s).solve(&w);
        let expect = [
            (&fields.vx, at(&|x, y| tp * (tp * x).sin() * (tp * y).cos())),
            (&fields.vy, at(&|x, y| -tp * (tp * x).cos() * (tp * y).sin())),
            (&fields.pressure, at(&|x, y| PI * PI * ((2.0 * tp * x).cos() + (2.0 * tp * y).cos()))),
        ];
        for (got, want) in expect {
            let err = got.iter().zip(&want).fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(err < 1e-11, "max error {err:e}");
        }
    }
}
