//! The Marchenko–Pastur law for the spectrum of XXᵀ, X an N×P matrix of i.i.d. N(0, 1/N)
//! entries, α = P/N (theory.md §1.3).
//!
//! Integrals against the continuous part use the substitution λ(θ) = (1+α) − 2√α cos θ,
//! θ ∈ [0, π]: it maps [λ₋, λ₊] onto [0, π] and turns the square-root edges into a smooth
//! sin²θ factor, so Gauss–Kronrod converges fast even at α = 1 where λ₋ = 0.

use crate::quad;
use std::f64::consts::PI;

/// The Marchenko–Pastur distribution with load α = P/N (> 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarchenkoPastur {
    /// Load α = P/N.
    pub alpha: f64,
}

impl MarchenkoPastur {
    /// The law for load `alpha`; callers validate α > 0 first (see [`crate::rmt::theory::Setup`]).
    pub fn new(alpha: f64) -> Self {
        Self { alpha }
    }

    /// Lower edge λ₋ = (1 − √α)².
    pub fn lower_edge(&self) -> f64 {
        (1.0 - self.alpha.sqrt()).powi(2)
    }

    /// Upper edge λ₊ = (1 + √α)².
    pub fn upper_edge(&self) -> f64 {
        (1.0 + self.alpha.sqrt()).powi(2)
    }

    /// Mass of the atom at λ = 0, (1 − α)₊: the frozen subspace when P < N.
    pub fn zero_mass(&self) -> f64 {
        (1.0 - self.alpha).max(0.0)
    }

    /// Mass of the continuous part, min(1, α).
    pub fn continuous_mass(&self) -> f64 {
        self.alpha.min(1.0)
    }

    /// Density of the continuous part at λ (0 outside [λ₋, λ₊]).
    pub fn density(&self, lambda: f64) -> f64 {
        let (lo, hi) = (self.lower_edge(), self.upper_edge());
        if lambda <= lo || lambda >= hi || lambda <= 0.0 {
            return 0.0;
        }
        ((hi - lambda) * (lambda - lo)).sqrt() / (2.0 * PI * lambda)
    }

    fn lambda_of(&self, theta: f64) -> f64 {
        // (1+α) − 2√α cos θ, written without cancellation near θ = 0 (matters at α = 1,
        // where λ ≈ θ² carries the whole small-eigenvalue tail).
        let h = (0.5 * theta).sin();
        self.lower_edge() + 4.0 * self.alpha.sqrt() * h * h
    }

    /// ρ_c(λ(θ)) dλ/dθ, written so that it stays finite at θ = 0 when α = 1.
    fn weight(&self, theta: f64) -> f64 {
        let s = theta.sin();
        let lam = self.lambda_of(theta);
        if lam <= 0.0 {
            // α = 1, θ = 0: sin²θ / λ(θ) → 1 because λ ≈ θ² there.
            return 4.0 * self.alpha / (2.0 * PI);
        }
        4.0 * self.alpha * s * s / (2.0 * PI * lam)
    }

    /// ∫ ρ_c(λ) f(λ) dλ over the continuous part (the atom at 0 is *not* included).
    pub fn integrate_continuous(&self, f: impl Fn(f64) -> f64, rel_tol: f64) -> f64 {
        self.integrate_continuous_upto(f, PI, rel_tol)
    }

    fn integrate_continuous_upto(&self, f: impl Fn(f64) -> f64, theta_max: f64, rel_tol: f64) -> f64 {
        quad::integrate(|th| self.weight(th) * f(self.lambda_of(th)), 0.0, theta_max, 1e-300, rel_tol)
    }

    /// CDF of the continuous part *normalised to mass 1*, i.e. the law of the non-zero
    /// eigenvalues; used for the KS test on the empirical non-zero spectrum.
    pub fn continuous_cdf(&self, lambda: f64) -> f64 {
        let (lo, hi) = (self.lower_edge(), self.upper_edge());
        if lambda <= lo {
            return 0.0;
        }
        if lambda >= hi {
            return 1.0;
        }
        let c = ((1.0 + self.alpha) - lambda) / (2.0 * self.alpha.sqrt());
        let theta = c.clamp(-1.0, 1.0).acos();
        self.integrate_continuous_upto(|_| 1.0, theta, 1e-12) / self.continuous_mass()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mass_mean_and_inverse_moment() {
        for &a in &[0.25, 0.5, 1.0, 2.0, 4.0] {
            let mp = MarchenkoPastur::new(a);
            let mass = mp.integrate_continuous(|_| 1.0, 1e-13);
            assert!((mass + mp.zero_mass() - 1.0).abs() < 1e-11, "α={a} mass {mass}");
            let mean = mp.integrate_continuous(|l| l, 1e-13);
            assert!((mean - a).abs() < 1e-11, "α={a} mean {mean}");
            if (a - 1.0).abs() > 1e-9 {
                let inv = mp.integrate_continuous(|l| 1.0 / l, 1e-13);
                let expect = if a < 1.0 { a / (1.0 - a) } else { 1.0 / (a - 1.0) };
                assert!((inv - expect).abs() < 1e-9, "α={a} inv {inv} vs {expect}");
            }
        }
    }

    #[test]
    fn edges_match_reference_table() {
        let cases = [(0.5, 0.0858, 2.9142), (1.0, 0.0, 4.0), (2.0, 0.1716, 5.8284), (4.0, 1.0, 9.0)];
        for (a, lo, hi) in cases {
            let mp = MarchenkoPastur::new(a);
            assert!((mp.lower_edge() - lo).abs() < 1e-4 && (mp.upper_edge() - hi).abs() < 1e-4);
        }
    }

    #[test]
    fn density_quadrature_agrees_with_direct_density() {
        // The θ-substituted CDF and a direct midpoint integration of the density agree.
        let mp = MarchenkoPastur::new(2.0);
        let x = 2.5;
        let n = 200_000;
        let (lo, dx) = (mp.lower_edge(), (x - mp.lower_edge()) / n as f64);
        let direct: f64 = (0..n).map(|i| mp.density(lo + (i as f64 + 0.5) * dx) * dx).sum();
        assert!((direct - mp.continuous_cdf(x)).abs() < 1e-5);
    }
}
