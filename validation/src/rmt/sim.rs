//! Exact finite-N simulation of the student–teacher model (theory.md §1.4).
//!
//! One trial draws X (N×P, entries N(0, 1/N)), diagonalises XXᵀ = VΛVᵀ once, and then
//! evaluates any schedule in O(N) through the mode coordinates z = Vᵀ(w̄ − w) and
//! ε̃ = VᵀXε. The same design (and its eigendecomposition) is reused across SNRs:
//! common random numbers make the SNR comparison sharper and cost nothing in validity.

use super::theory::{Schedule, Setup};
use crate::error::{Result, ValidationError};
use faer::{Mat, Side};
use rand::Rng;
use rand_distr::StandardNormal;

/// A sampled design matrix with the eigendecomposition of XXᵀ.
pub struct Design {
    /// X, N×P, entries N(0, 1/N).
    pub x: Mat<f64>,
    /// Eigenvalues of XXᵀ, ascending.
    pub eigenvalues: Vec<f64>,
    /// Orthonormal eigenvectors (columns) of XXᵀ.
    pub eigenvectors: Mat<f64>,
}

impl Design {
    /// Samples X with `n` inputs and `p` examples and diagonalises XXᵀ.
    pub fn sample(n: usize, p: usize, rng: &mut impl Rng) -> Result<Self> {
        if n == 0 || p == 0 {
            return Err(ValidationError::invalid("n, p", format!("{n}, {p}"), ">= 1 each"));
        }
        let scale = 1.0 / (n as f64).sqrt();
        let x = Mat::from_fn(n, p, |_, _| scale * rng.sample::<f64, _>(StandardNormal));
        let gram = &x * x.transpose();
        let evd = gram
            .self_adjoint_eigen(Side::Lower)
            .map_err(|e| ValidationError::Numerical { context: "eigendecomposition of XXᵀ", message: format!("{e:?}") })?;
        let eigenvalues = (0..n).map(|i| evd.S()[i]).collect();
        Ok(Self { eigenvectors: evd.U().to_owned(), eigenvalues, x })
    }

    /// N, the input dimension.
    pub fn n(&self) -> usize {
        self.x.nrows()
    }

    /// P, the number of examples.
    pub fn p(&self) -> usize {
        self.x.ncols()
    }

    /// Whether mode `i` lies in the frozen subspace (null space of Xᵀ). XXᵀ has rank
    /// min(N, P) almost surely, so with ascending eigenvalues the first N − P modes are the
    /// null space. Deciding by rank rather than by a threshold matters at α ≈ 1, where the
    /// smallest genuine eigenvalue (≈ N⁻²) can fall below any fixed threshold by chance.
    pub fn is_frozen(&self, i: usize) -> bool {
        i < self.n().saturating_sub(self.p())
    }

    /// Vᵀv for a vector v of length N.
    pub fn to_modes(&self, v: &[f64]) -> Vec<f64> {
        let n = self.n();
        (0..n).map(|j| (0..n).map(|i| self.eigenvectors[(i, j)] * v[i]).sum()).collect()
    }

    /// Xε for ε of length P.
    pub fn x_times(&self, eps: &[f64]) -> Vec<f64> {
        (0..self.n()).map(|i| (0..self.p()).map(|m| self.x[(i, m)] * eps[m]).sum()).collect()
    }
}

/// The random vectors of one trial in the original coordinates.
#[derive(Debug, Clone)]
pub struct Task {
    /// Teacher weights w̄ (length N).
    pub teacher: Vec<f64>,
    /// Student initial weights w(0) (length N).
    pub init: Vec<f64>,
    /// Label noise ε (length P).
    pub noise: Vec<f64>,
}

impl Task {
    /// Draws standard-normal teacher, init and noise vectors; [`Task::scaled`] then applies
    /// the variances of a [`Setup`], so one draw serves several SNRs.
    pub fn draw_standard(n: usize, p: usize, rng: &mut impl Rng) -> Self {
        let mut g = |k: usize| (0..k).map(|_| rng.sample::<f64, _>(StandardNormal)).collect::<Vec<_>>();
        Self { teacher: g(n), init: g(n), noise: g(p) }
    }

    /// This draw with the standard deviations of `setup` applied.
    pub fn scaled(&self, setup: &Setup) -> Self {
        let s = |v: &[f64], var: f64| v.iter().map(|x| x * var.sqrt()).collect::<Vec<_>>();
        Self { teacher: s(&self.teacher, setup.sigma_w2), init: s(&self.init, setup.sigma_w02), noise: s(&self.noise, setup.sigma_eps2) }
    }
}

/// A trial in mode coordinates: everything needed to evaluate E_g and E_t for any schedule.
#[derive(Debug, Clone)]
pub struct ModeTrial {
    lambda: Vec<f64>,
    frozen: Vec<bool>,
    z0: Vec<f64>,
    eps_tilde: Vec<f64>,
    eps_norm2: f64,
    p: usize,
    sigma_eps2: f64,
}

impl ModeTrial {
    /// Projects `task` (already scaled by `setup`) onto the eigenbasis of `design`.
    pub fn new(design: &Design, task: &Task, setup: &Setup) -> Self {
        let n = design.n();
        let diff: Vec<f64> = task.teacher.iter().zip(&task.init).map(|(a, b)| a - b).collect();
        let z0 = design.to_modes(&diff);
        let eps_tilde = design.to_modes(&design.x_times(&task.noise));
        Self {
            lambda: design.eigenvalues.clone(),
            frozen: (0..n).map(|i| design.is_frozen(i)).collect(),
            z0,
            eps_tilde,
            eps_norm2: task.noise.iter().map(|e| e * e).sum(),
            p: design.p(),
            sigma_eps2: setup.sigma_eps2,
        }
    }

    /// Mode coordinates z(t) = Vᵀ(w̄ − w(t)) after `schedule`.
    pub fn modes(&self, schedule: Schedule) -> Vec<f64> {
        (0..self.lambda.len())
            .map(|i| {
                if self.frozen[i] {
                    self.z0[i]
                } else {
                    let l = self.lambda[i];
                    self.z0[i] * schedule.decay(l) - self.eps_tilde[i] * schedule.noise_gain(l)
                }
            })
            .collect()
    }

    /// Generalisation error ‖w̄ − w‖²/N + σ_ε² for given mode coordinates.
    pub fn eg_of(&self, z: &[f64]) -> f64 {
        z.iter().map(|v| v * v).sum::<f64>() / z.len() as f64 + self.sigma_eps2
    }

    /// Training error (1/P)‖Xᵀ V z + ε‖² = (1/P)[Σλz² + 2Σε̃z + ‖ε‖²].
    pub fn et_of(&self, z: &[f64]) -> f64 {
        let mut s = self.eps_norm2;
        for i in 0..z.len() {
            if !self.frozen[i] {
                s += self.lambda[i] * z[i] * z[i] + 2.0 * self.eps_tilde[i] * z[i];
            }
        }
        (s / self.p as f64).max(0.0)
    }

    /// E_g after `schedule`.
    pub fn eg(&self, schedule: Schedule) -> f64 {
        self.eg_of(&self.modes(schedule))
    }

    /// E_t after `schedule`.
    pub fn et(&self, schedule: Schedule) -> f64 {
        self.et_of(&self.modes(schedule))
    }

    /// E_g at t = ∞: non-frozen modes sit at −ε̃/λ.
    pub fn eg_inf(&self) -> f64 {
        let z: Vec<f64> = (0..self.lambda.len()).map(|i| if self.frozen[i] { self.z0[i] } else { -self.eps_tilde[i] / self.lambda[i] }).collect();
        self.eg_of(&z)
    }

    /// E_g with every mode stopped at its own optimal time t*(λ) of `setup`.
    pub fn eg_mode_optimal(&self, setup: &Setup) -> f64 {
        let z: Vec<f64> = (0..self.lambda.len())
            .map(|i| {
                if self.frozen[i] {
                    self.z0[i]
                } else {
                    let l = self.lambda[i];
                    let s = Schedule::Flow(setup.mode_optimal_time(l));
                    self.z0[i] * s.decay(l) - self.eps_tilde[i] * s.noise_gain(l)
                }
            })
            .collect();
        self.eg_of(&z)
    }

    /// Conditional expectation E_g(t | X) over teacher, init and noise (theory.md §1.4).
    pub fn eg_conditional(&self, setup: &Setup, schedule: Schedule) -> f64 {
        let n = self.lambda.len() as f64;
        let a = setup.initial_distance();
        let mut s = 0.0;
        for i in 0..self.lambda.len() {
            s += if self.frozen[i] { a } else { setup.mode_error(self.lambda[i], schedule) };
        }
        s / n + setup.sigma_eps2
    }
}

/// Plain discrete gradient descent in the original coordinates,
/// w ← w + η X(y − Xᵀw), run for `steps` steps; returns w after each of `checkpoints` steps
/// (ascending). Used to check the mode formulas and the frozen subspace.
pub fn explicit_gd(design: &Design, task: &Task, eta: f64, checkpoints: &[u32]) -> Vec<Vec<f64>> {
    let (n, p) = (design.n(), design.p());
    let x = &design.x;
    let y: Vec<f64> = (0..p).map(|m| (0..n).map(|i| x[(i, m)] * task.teacher[i]).sum::<f64>() + task.noise[m]).collect();
    let mut w = task.init.clone();
    let mut out = Vec::with_capacity(checkpoints.len());
    let mut k = 0u32;
    for &c in checkpoints {
        while k < c {
            let r: Vec<f64> = (0..p).map(|m| y[m] - (0..n).map(|i| x[(i, m)] * w[i]).sum::<f64>()).collect();
            for i in 0..n {
                w[i] += eta * (0..p).map(|m| x[(i, m)] * r[m]).sum::<f64>();
            }
            k += 1;
        }
        out.push(w.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn explicit_gd_matches_mode_formula_and_freezes_null_space() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (n, p) = (40, 20);
        let d = Design::sample(n, p, &mut rng).unwrap();
        let setup = Setup::new(0.5, 1.0, 0.2, 0.5).unwrap();
        let task = Task::draw_standard(n, p, &mut rng).scaled(&setup);
        let eta = 0.3;
        let ws = explicit_gd(&d, &task, eta, &[10, 200]);
        let trial = ModeTrial::new(&d, &task, &setup);
        for (w, k) in ws.iter().zip([10u32, 200]) {
            let eg_direct: f64 = w.iter().zip(&task.teacher).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n as f64 + 0.2;
            let eg_modes = trial.eg(Schedule::Gd { eta, steps: k });
            assert!((eg_direct / eg_modes - 1.0).abs() < 1e-10, "{eg_direct} vs {eg_modes}");
            let pw = d.to_modes(w);
            let p0 = d.to_modes(&task.init);
            for i in (0..n).filter(|&i| d.is_frozen(i)) {
                assert!((pw[i] - p0[i]).abs() < 1e-12);
            }
        }
        assert_eq!((0..n).filter(|&i| d.is_frozen(i)).count(), n - p);
    }
}

/// A trial drawn with unit variances and stored in mode coordinates, so that any
/// [`Setup`] with the same load is obtained by rescaling (no new eigendecomposition).
#[derive(Debug, Clone)]
pub struct StandardTrial {
    lambda: Vec<f64>,
    frozen: Vec<bool>,
    u_teacher: Vec<f64>,
    u_init: Vec<f64>,
    u_noise: Vec<f64>,
    noise_norm2: f64,
    p: usize,
}

impl StandardTrial {
    /// Draws a design (N = `n`, P = `p`) and unit-variance task and projects them.
    pub fn draw(n: usize, p: usize, rng: &mut impl Rng) -> Result<Self> {
        let design = Design::sample(n, p, rng)?;
        let task = Task::draw_standard(n, p, rng);
        Ok(Self {
            lambda: design.eigenvalues.clone(),
            frozen: (0..n).map(|i| design.is_frozen(i)).collect(),
            u_teacher: design.to_modes(&task.teacher),
            u_init: design.to_modes(&task.init),
            u_noise: design.to_modes(&design.x_times(&task.noise)),
            noise_norm2: task.noise.iter().map(|e| e * e).sum(),
            p,
        })
    }

    /// Eigenvalues of XXᵀ, ascending.
    pub fn eigenvalues(&self) -> &[f64] {
        &self.lambda
    }

    /// Number of frozen (zero) modes.
    pub fn frozen_count(&self) -> usize {
        self.frozen.iter().filter(|f| **f).count()
    }

    /// The trial with the variances of `setup`.
    pub fn for_setup(&self, setup: &Setup) -> ModeTrial {
        let (sw, s0, se) = (setup.sigma_w2.sqrt(), setup.sigma_w02.sqrt(), setup.sigma_eps2.sqrt());
        ModeTrial {
            lambda: self.lambda.clone(),
            frozen: self.frozen.clone(),
            z0: self.u_teacher.iter().zip(&self.u_init).map(|(a, b)| sw * a - s0 * b).collect(),
            eps_tilde: self.u_noise.iter().map(|v| se * v).collect(),
            eps_norm2: setup.sigma_eps2 * self.noise_norm2,
            p: self.p,
            sigma_eps2: setup.sigma_eps2,
        }
    }
}
