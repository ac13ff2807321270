//! The almost-linear RNN (Brenner et al., NeurIPS 2024):
//! `z_t = A ⊙ z_{t−1} + W·Φ*(z_{t−1}) + h`, where `Φ*` is the identity on the first `M − P`
//! units and a ReLU on the last `P`. The first `N` units are the observation (identity
//! observation model), and the initial state is `z₁ = [x₁; L x₁]` with a learned `L`.
//!
//! The model is written by hand rather than on burn: with `M = 20` each time step is a
//! 20×20 mat-vec, so a tensor library's per-operation overhead would dominate (one burn op costs
//! microseconds, the whole step here costs well under one), and the backward pass through time
//! is short enough to write out (see [`Alrnn::sequence_gradient`]; a finite-difference test
//! checks it).
//!
//! The computation is generic over the float type ([`Real`]: f64, or f32 to train as the
//! reference's PyTorch code does). Stored models are always f64 (an f32 value widens exactly),
//! so [`Alrnn`] without a type argument is the f64 model that files, metrics and the symbolic
//! analysis use.

use std::fmt::Debug;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, Sub};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::OperatorError;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The float type an AL-RNN computes in: f64 or f32 (sealed; only these two). It carries only
/// the operations the model, its gradient and the optimiser need.
pub trait Real:
    sealed::Sealed
    + Copy
    + Debug
    + PartialEq
    + PartialOrd
    + Send
    + Sync
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + AddAssign
    + Sum
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Not a number (marks the unreached steps of a diverged free run).
    const NAN: Self;
    /// `v` rounded to the nearest value of this type.
    fn round_from(v: f64) -> Self;
    /// The value as f64 (exact).
    fn widen(self) -> f64;
    /// The larger of the two (`self` when `other` is NaN, as `f64::max`).
    fn max(self, other: Self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Neither infinite nor NaN.
    fn is_finite(self) -> bool;
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    const NAN: f64 = f64::NAN;
    fn round_from(v: f64) -> f64 {
        v
    }
    fn widen(self) -> f64 {
        self
    }
    fn max(self, other: f64) -> f64 {
        f64::max(self, other)
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const NAN: f32 = f32::NAN;
    fn round_from(v: f64) -> f32 {
        v as f32
    }
    fn widen(self) -> f64 {
        self as f64
    }
    fn max(self, other: f32) -> f32 {
        f32::max(self, other)
    }
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

/// Sizes of an AL-RNN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlrnnShape {
    /// Latent units `M`.
    pub m: usize,
    /// ReLU units `P` (the last `P` latent units).
    pub p: usize,
    /// Observed units `N` (the first `N` latent units are read out).
    pub n: usize,
}

impl AlrnnShape {
    /// Checks `1 ≤ N`, `N + P ≤ M` (read-out units must be linear), `P ≤ 30` (subregion ids
    /// fit in a `u32`).
    pub fn validate(&self) -> crate::Result<()> {
        if self.n == 0 {
            return Err(OperatorError::invalid("data dimension", self.n, "must be >= 1"));
        }
        if self.p > 30 {
            return Err(OperatorError::invalid("alrnn.relu_units", self.p, "must be <= 30"));
        }
        if self.m < self.n + self.p || self.m > 4096 {
            return Err(OperatorError::invalid(
                "alrnn.latent_dim",
                self.m,
                format!("must be in [N + P, 4096] = [{}, 4096] (the {} observed units must be linear)", self.n + self.p, self.n),
            ));
        }
        Ok(())
    }

    /// Number of trainable parameters: `A` (M), `W` (M²), `h` (M), `L` ((M − N)·N).
    pub fn n_params(&self) -> usize {
        self.m * self.m + 2 * self.m + (self.m - self.n) * self.n
    }

    /// Index of the first ReLU unit.
    pub fn first_relu(&self) -> usize {
        self.m - self.p
    }

    fn off_w(&self) -> usize {
        self.m
    }
    fn off_h(&self) -> usize {
        self.m + self.m * self.m
    }
    fn off_l(&self) -> usize {
        2 * self.m + self.m * self.m
    }
}

/// How the observed units are forced towards the data during training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forcing {
    /// Forcing interval τ: forcing happens after every τ-th step.
    pub tau: usize,
    /// Forcing strength α ∈ (0, 1]: observed units become `(1 − α)·z + α·x`; the gradient through
    /// them is scaled by `1 − α` (α = 1: sparse teacher forcing, gradient cut).
    pub alpha: f64,
}

/// An AL-RNN with its parameters in one flat vector `[A, W (row-major), h, L (row-major)]`,
/// computing in `F` (f64 unless named).
#[derive(Debug, Clone, PartialEq)]
pub struct Alrnn<F = f64> {
    /// Sizes.
    pub shape: AlrnnShape,
    /// Flat parameters.
    pub params: Vec<F>,
}

/// The stored form of a model (f64 parameters as exact strings); serialised under the same
/// field names as [`Alrnn`], so files read the same as before the float type was generic.
#[derive(Serialize, Deserialize)]
struct StoredAlrnn {
    shape: AlrnnShape,
    #[serde(with = "super::exact::vec")]
    params: Vec<f64>,
}

impl Serialize for Alrnn<f64> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredAlrnn { shape: self.shape, params: self.params.clone() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Alrnn<f64> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let StoredAlrnn { shape, params } = StoredAlrnn::deserialize(d)?;
        Ok(Alrnn { shape, params })
    }
}

/// A standard normal draw (Box–Muller; one of the pair is discarded so each draw consumes a
/// fixed number of RNG words, which keeps streams easy to reason about).
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl Alrnn<f64> {
    /// The paper's initialisation: `A = diag(K)/λ_max(K)` with `K = RᵀR/M + I`,
    /// `R ~ N(0, 1)^{M×M}`; `W ~ N(0, 0.01²)`; `h = 0`; `L ~ U(±1/√N)`. Drawn in f64; an f32
    /// model starts from these values rounded ([`Alrnn::cast`]).
    pub fn init(shape: AlrnnShape, seed: u64) -> crate::Result<Self> {
        shape.validate()?;
        let m = shape.m;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let r: Vec<f64> = (0..m * m).map(|_| normal(&mut rng)).collect();
        let mut k = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..m {
                let s: f64 = (0..m).map(|l| r[l * m + i] * r[l * m + j]).sum();
                k[i * m + j] = s / m as f64 + if i == j { 1.0 } else { 0.0 };
            }
        }
        let lambda = symmetric_max_eigenvalue(&k, m);
        let mut params = vec![0.0; shape.n_params()];
        for i in 0..m {
            params[i] = k[i * m + i] / lambda;
        }
        for v in &mut params[shape.off_w()..shape.off_h()] {
            *v = 0.01 * normal(&mut rng);
        }
        let bound = 1.0 / (shape.n as f64).sqrt();
        for v in &mut params[shape.off_l()..] {
            *v = (2.0 * rng.random::<f64>() - 1.0) * bound;
        }
        Ok(Alrnn { shape, params })
    }

    /// Wraps parameters, checking their count.
    pub fn from_params(shape: AlrnnShape, params: Vec<f64>) -> crate::Result<Self> {
        shape.validate()?;
        if params.len() != shape.n_params() {
            return Err(OperatorError::invalid(
                "alrnn parameters",
                params.len(),
                format!("must be {} for M = {}, P = {}, N = {}", shape.n_params(), shape.m, shape.p, shape.n),
            ));
        }
        Ok(Alrnn { shape, params })
    }
}

impl<F: Real> Alrnn<F> {
    /// The same model in another float type (rounded to nearest; widening to f64 is exact, so
    /// an f32 model survives a round trip through its stored f64 form unchanged).
    pub fn cast<G: Real>(&self) -> Alrnn<G> {
        Alrnn { shape: self.shape, params: self.params.iter().map(|&v| G::round_from(v.widen())).collect() }
    }

    /// The diagonal `A`.
    pub fn a(&self) -> &[F] {
        &self.params[..self.shape.m]
    }
    /// `W`, row-major M×M.
    pub fn w(&self) -> &[F] {
        &self.params[self.shape.off_w()..self.shape.off_h()]
    }
    /// The bias `h`.
    pub fn h(&self) -> &[F] {
        &self.params[self.shape.off_h()..self.shape.off_l()]
    }
    /// The initial-state map `L`, row-major (M − N)×N.
    pub fn l(&self) -> &[F] {
        &self.params[self.shape.off_l()..]
    }

    /// Initial latent state `[x; L x]` for an observation `x` (length N).
    pub fn initial_state(&self, x: &[F], z: &mut [F]) {
        let n = self.shape.n;
        z[..n].copy_from_slice(&x[..n]);
        let l = self.l();
        for (j, zj) in z[n..].iter_mut().enumerate() {
            *zj = l[j * n..(j + 1) * n].iter().zip(x).map(|(&a, &b)| a * b).sum();
        }
    }

    /// One step `next = A ⊙ z + W Φ*(z) + h`, with `phi` as scratch (left holding Φ*(z)).
    pub fn step(&self, z: &[F], phi: &mut [F], next: &mut [F]) {
        let m = self.shape.m;
        let r0 = self.shape.first_relu();
        phi.copy_from_slice(z);
        for v in &mut phi[r0..] {
            *v = v.max(F::ZERO);
        }
        let (a, w, h) = (self.a(), self.w(), self.h());
        for i in 0..m {
            let row = &w[i * m..(i + 1) * m];
            let mut s = F::ZERO;
            for j in 0..m {
                s += row[j] * phi[j];
            }
            next[i] = a[i] * z[i] + s + h[i];
        }
    }

    /// Subregion of a latent state: bit `j` is set when ReLU unit `j` (latent index `M − P + j`)
    /// is positive.
    pub fn region(&self, z: &[F]) -> u32 {
        let r0 = self.shape.first_relu();
        z[r0..].iter().enumerate().fold(0u32, |acc, (j, &v)| if v > F::ZERO { acc | (1 << j) } else { acc })
    }

    /// Free run of `len` latent states starting from `[x0; L x0]` (the first returned state is
    /// the initial one). Returns the latent trajectory, row-major `len × M`; stops early (the
    /// rest left non-finite) once a state is non-finite.
    pub fn free_run_latent(&self, x0: &[F], len: usize) -> Vec<F> {
        let m = self.shape.m;
        let mut out = vec![F::NAN; len * m];
        if len == 0 {
            return out;
        }
        let mut z = vec![F::ZERO; m];
        let mut phi = vec![F::ZERO; m];
        let mut next = vec![F::ZERO; m];
        self.initial_state(x0, &mut z);
        for t in 0..len {
            out[t * m..(t + 1) * m].copy_from_slice(&z);
            if !z.iter().all(|v| v.is_finite()) {
                break;
            }
            self.step(&z, &mut phi, &mut next);
            std::mem::swap(&mut z, &mut next);
        }
        out
    }

    /// Free run observed on the first N units: `len × N`, row-major.
    pub fn free_run(&self, x0: &[F], len: usize) -> Vec<F> {
        let (m, n) = (self.shape.m, self.shape.n);
        let lat = self.free_run_latent(x0, len);
        let mut out = Vec::with_capacity(len * n);
        for t in 0..len {
            out.extend_from_slice(&lat[t * m..t * m + n]);
        }
        out
    }

    /// Forced forward pass and backpropagation through time for one sequence `x` of `T + 1`
    /// observations (row-major `(T + 1) × N`). The loss is `Σ_{k=1..T} ‖z_k[..N] − x_k‖² · scale`
    /// where `z_k` is the prediction *before* forcing. After step `k` with `k % τ == 0` the
    /// observed units are forced towards `x_k`. Adds the gradient into `grad` (length
    /// [`AlrnnShape::n_params`]) and returns the loss. `work` is reused scratch. Everything,
    /// the forcing strength included, is computed in `F`.
    pub fn sequence_gradient(&self, x: &[F], forcing: Forcing, scale: F, grad: &mut [F], work: &mut Vec<F>) -> F {
        let AlrnnShape { m, p: _, n } = self.shape;
        let steps = x.len() / n - 1;
        let r0 = self.shape.first_relu();
        let alpha = F::round_from(forcing.alpha);
        // 1 − α rounded once from f64, as a framework turns the Python scalar into a constant.
        let keep = F::round_from(1.0 - forcing.alpha);
        let two = F::round_from(2.0);
        // zt[k]: the (forced) state that step k+1 starts from, k = 0..T−1;
        // pred[k]: the prediction z_k before forcing, k = 1..T (index k−1).
        work.clear();
        work.resize(2 * steps * m + 4 * m, F::ZERO);
        let (zt, rest) = work.split_at_mut(steps * m);
        let (pred, scratch) = rest.split_at_mut(steps * m);
        let (phi, rest) = scratch.split_at_mut(m);
        let (g_next, rest) = rest.split_at_mut(m);
        let (g_cur, gt) = rest.split_at_mut(m);
        let gt = &mut gt[..m];
        self.initial_state(&x[..n], &mut zt[..m]);
        let mut loss = F::ZERO;
        for k in 1..=steps {
            let pk = &mut pred[(k - 1) * m..k * m];
            self.step(&zt[(k - 1) * m..k * m], phi, pk);
            let xk = &x[k * n..(k + 1) * n];
            for i in 0..n {
                let d = pk[i] - xk[i];
                loss += d * d;
            }
            if k < steps {
                let zk = &mut zt[k * m..(k + 1) * m];
                zk.copy_from_slice(pk);
                if k % forcing.tau == 0 {
                    for i in 0..n {
                        zk[i] = keep * zk[i] + alpha * xk[i];
                    }
                }
            }
        }
        let (ga, rest) = grad.split_at_mut(m);
        let (gw, rest) = rest.split_at_mut(m * m);
        let (gh, gl) = rest.split_at_mut(m);
        let (a, w) = (self.a(), self.w());
        // g_next = dLoss/dz_{k}, propagated backwards.
        g_next.iter_mut().for_each(|v| *v = F::ZERO);
        for k in (1..=steps).rev() {
            // Total gradient on z_k: direct loss term plus what flows back from step k+1 through
            // the forcing (gt holds dLoss/dz̃_k from the previous iteration).
            let pk = &pred[(k - 1) * m..k * m];
            let xk = &x[k * n..(k + 1) * n];
            for i in 0..m {
                let through = if k < steps { gt[i] } else { F::ZERO };
                let forced = k < steps && k % forcing.tau == 0 && i < n;
                g_cur[i] = if forced { keep * through } else { through };
                if i < n {
                    g_cur[i] += two * scale * (pk[i] - xk[i]);
                }
            }
            // Step k: z_k = A ⊙ z̃_{k−1} + W Φ(z̃_{k−1}) + h.
            let zprev = &zt[(k - 1) * m..k * m];
            phi.copy_from_slice(zprev);
            for v in &mut phi[r0..] {
                *v = v.max(F::ZERO);
            }
            for i in 0..m {
                let gi = g_cur[i];
                ga[i] += gi * zprev[i];
                gh[i] += gi;
                let row = &mut gw[i * m..(i + 1) * m];
                for j in 0..m {
                    row[j] += gi * phi[j];
                }
            }
            // dLoss/dz̃_{k−1} = A ⊙ g + Φ'(z̃) ⊙ Wᵀ g.
            for v in gt.iter_mut() {
                *v = F::ZERO;
            }
            for i in 0..m {
                let gi = g_cur[i];
                let row = &w[i * m..(i + 1) * m];
                for j in 0..m {
                    gt[j] += row[j] * gi;
                }
            }
            for j in 0..m {
                if j >= r0 && zprev[j] <= F::ZERO {
                    gt[j] = F::ZERO;
                }
                gt[j] += a[j] * g_cur[j];
            }
        }
        // z̃_0 = [x_0; L x_0].
        for j in 0..(m - n) {
            let g = gt[n + j];
            for i in 0..n {
                gl[j * n + i] += g * x[i];
            }
        }
        loss * scale
    }
}

/// Largest eigenvalue of a symmetric positive semi-definite matrix (power iteration from the
/// all-ones vector, run to convergence; deterministic).
fn symmetric_max_eigenvalue(k: &[f64], m: usize) -> f64 {
    let mut v = vec![1.0 / (m as f64).sqrt(); m];
    let mut lambda = 0.0;
    for _ in 0..10_000 {
        let mut u = vec![0.0; m];
        for i in 0..m {
            u[i] = (0..m).map(|j| k[i * m + j] * v[j]).sum();
        }
        let norm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            return 1.0;
        }
        u.iter_mut().for_each(|x| *x /= norm);
        let done = (norm - lambda).abs() <= 1e-14 * norm;
        lambda = norm;
        v = u;
        if done {
            break;
        }
    }
    lambda
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_model(shape: AlrnnShape, seed: u64) -> Alrnn {
        // Larger W than the paper's init so both ReLU branches and all couplings matter.
        let mut m = Alrnn::init(shape, seed).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
        for v in &mut m.params[shape.off_w()..] {
            *v = 0.3 * normal(&mut rng);
        }
        m
    }

    #[test]
    fn init_follows_the_paper() {
        let s = AlrnnShape { m: 20, p: 2, n: 3 };
        let m = Alrnn::init(s, 7).unwrap();
        let amax = m.a().iter().cloned().fold(0.0, f64::max);
        assert!(amax <= 1.0 + 1e-12 && m.a().iter().all(|&a| a > 0.0), "A = diag(K)/λmax(K) lies in (0, 1]");
        assert!(m.h().iter().all(|&v| v == 0.0));
        let wstd = (m.w().iter().map(|v| v * v).sum::<f64>() / 400.0).sqrt();
        assert!((wstd - 0.01).abs() < 0.002, "W std {wstd}");
        assert!(m.l().iter().all(|v| v.abs() <= 1.0 / 3f64.sqrt()));
        assert_eq!(Alrnn::init(s, 7).unwrap(), m, "same seed, same parameters");
        assert!(Alrnn::init(AlrnnShape { m: 4, p: 2, n: 3 }, 0).is_err(), "observed units must be linear");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let shape = AlrnnShape { m: 7, p: 3, n: 2 };
        let model = random_model(shape, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let x: Vec<f64> = (0..13 * 2).map(|_| normal(&mut rng)).collect();
        for forcing in [Forcing { tau: 4, alpha: 1.0 }, Forcing { tau: 1, alpha: 0.3 }, Forcing { tau: 5, alpha: 0.7 }] {
            let mut grad = vec![0.0; shape.n_params()];
            let mut work = Vec::new();
            let loss = model.sequence_gradient(&x, forcing, 0.1, &mut grad, &mut work);
            assert!(loss > 0.0);
            let eps = 1e-6;
            for (q, &analytic) in grad.iter().enumerate() {
                let mut plus = model.clone();
                plus.params[q] += eps;
                let mut minus = model.clone();
                minus.params[q] -= eps;
                let mut dummy = vec![0.0; shape.n_params()];
                let lp = plus.sequence_gradient(&x, forcing, 0.1, &mut dummy, &mut work);
                let lm = minus.sequence_gradient(&x, forcing, 0.1, &mut dummy, &mut work);
                let fd = (lp - lm) / (2.0 * eps);
                assert!((fd - analytic).abs() <= 1e-6 + 1e-5 * fd.abs(), "{forcing:?} parameter {q}: bptt {analytic} vs fd {fd}");
            }
        }
    }

    /// The f32 BPTT against central differences of the same function. Differences taken in f32
    /// would cancel most of f32's digits (a step small enough to stay off the ReLU kinks leaves
    /// a quotient of rounding noise), so they are taken in f64 at the same point, which is
    /// exact: the f32 parameters and data widen exactly. The tolerance is f32's rounding of
    /// the gradient's sums, a thousand times looser than the f64 test's.
    #[test]
    fn f32_gradient_matches_finite_differences() {
        let shape = AlrnnShape { m: 7, p: 3, n: 2 };
        let model32: Alrnn<f32> = random_model(shape, 3).cast();
        let model = model32.cast::<f64>();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let x32: Vec<f32> = (0..13 * 2).map(|_| normal(&mut rng) as f32).collect();
        let x: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
        for forcing in [Forcing { tau: 4, alpha: 1.0 }, Forcing { tau: 1, alpha: 0.3 }, Forcing { tau: 5, alpha: 0.7 }] {
            let mut grad = vec![0.0f32; shape.n_params()];
            let loss32 = model32.sequence_gradient(&x32, forcing, 0.1, &mut grad, &mut Vec::new());
            let mut work = Vec::new();
            let mut dummy = vec![0.0; shape.n_params()];
            let loss = model.sequence_gradient(&x, forcing, 0.1, &mut dummy, &mut work);
            assert!((loss32 as f64 - loss).abs() <= 1e-5 * loss, "{forcing:?}: f32 loss {loss32} vs f64 {loss}");
            let eps = 1e-6;
            let scale = grad.iter().fold(0.0f64, |s, g| s.max(g.abs() as f64));
            for (q, &analytic) in grad.iter().enumerate() {
                let mut plus = model.clone();
                plus.params[q] += eps;
                let mut minus = model.clone();
                minus.params[q] -= eps;
                let lp = plus.sequence_gradient(&x, forcing, 0.1, &mut dummy, &mut work);
                let lm = minus.sequence_gradient(&x, forcing, 0.1, &mut dummy, &mut work);
                let fd = (lp - lm) / (2.0 * eps);
                let analytic = analytic as f64;
                assert!((fd - analytic).abs() <= 1e-5 * scale + 1e-3 * fd.abs(), "{forcing:?} parameter {q}: f32 bptt {analytic} vs fd {fd}");
            }
        }
    }

    #[test]
    fn f32_round_trips_through_its_stored_f64_form() {
        let model32: Alrnn<f32> = random_model(AlrnnShape { m: 6, p: 2, n: 2 }, 4).cast();
        let stored = serde_json::to_string(&model32.cast::<f64>()).unwrap();
        let back: Alrnn = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.cast::<f32>(), model32);
        assert!(back.params.iter().zip(&model32.params).all(|(&a, &b)| a.to_bits() == (b as f64).to_bits()));
    }

    #[test]
    fn free_run_follows_the_recursion() {
        let shape = AlrnnShape { m: 5, p: 1, n: 2 };
        let model = random_model(shape, 1);
        let run = model.free_run_latent(&[0.5, -0.2], 3);
        let z0 = &run[..5];
        let mut want = [0.0; 5];
        for i in 0..5 {
            let phi = |j: usize| if j == 4 { z0[j].max(0.0) } else { z0[j] };
            want[i] = model.a()[i] * z0[i] + (0..5).map(|j| model.w()[i * 5 + j] * phi(j)).sum::<f64>() + model.h()[i];
        }
        assert_eq!(&run[5..10], &want[..]);
        assert_eq!(&run[..2], &[0.5, -0.2]);
    }
}
