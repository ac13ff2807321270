//! Linear-regression tasks for in-context learning (theory.md §2.1):
//! x ~ N(0, Σ) or U(−r, r)^d, w ~ N(0, I) or N(0, Σ⁻¹), y = w·x + ε, ε ~ N(0, σ²).

use crate::error::{Result, ValidationError};
use rand::Rng;
use rand_distr::StandardNormal;

/// Distribution of the covariates.
#[derive(Debug, Clone, PartialEq)]
pub enum Covariates {
    /// i.i.d. U(−r, r) coordinates (von Oswald's code uses r = 0.5).
    Uniform {
        /// Half-width r.
        half_width: f64,
    },
    /// N(0, Σ) with Σ = U diag(scales²) Uᵀ; `rotation` is U (row-major d×d, orthogonal),
    /// `scales` the square roots of the eigenvalues. Σ = I when scales are 1.
    Gaussian {
        /// Orthogonal matrix U, row-major.
        rotation: Vec<f64>,
        /// Square roots of the eigenvalues of Σ.
        scales: Vec<f64>,
    },
}

/// Prior of the task vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prior {
    /// w ~ N(0, I).
    Isotropic,
    /// w ~ N(0, Σ⁻¹) (Mahankali Thm 2; Ahn's code).
    InverseCovariance,
}

/// A distribution over regression tasks with `n` context points in dimension `d`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDistribution {
    /// Input dimension d.
    pub d: usize,
    /// Number of context points n.
    pub n: usize,
    /// Covariate distribution.
    pub covariates: Covariates,
    /// Task prior.
    pub prior: Prior,
    /// Label-noise variance σ².
    pub noise_var: f64,
}

/// A batch of prompts, stored flat and row-major.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Number of prompts.
    pub b: usize,
    /// Context length.
    pub n: usize,
    /// Dimension.
    pub d: usize,
    /// Context inputs, [b, n, d].
    pub xs: Vec<f64>,
    /// Context labels, [b, n].
    pub ys: Vec<f64>,
    /// Query inputs, [b, d].
    pub xq: Vec<f64>,
    /// Query labels, `[b]`.
    pub yq: Vec<f64>,
    /// Task vectors, [b, d].
    pub ws: Vec<f64>,
}

impl Batch {
    /// Context input i of prompt t.
    pub fn x(&self, t: usize, i: usize) -> &[f64] {
        let o = (t * self.n + i) * self.d;
        &self.xs[o..o + self.d]
    }

    /// Query input of prompt t.
    pub fn query(&self, t: usize) -> &[f64] {
        &self.xq[t * self.d..(t + 1) * self.d]
    }

    /// Context label i of prompt t.
    pub fn y(&self, t: usize, i: usize) -> f64 {
        self.ys[t * self.n + i]
    }

    /// h = (1/n) Σ_i y_i x_i of prompt t: the negative gradient of the least-squares loss
    /// (1/2n)Σ(w·x_i − y_i)² at w = 0, i.e. the direction of the first GD step.
    pub fn h(&self, t: usize) -> Vec<f64> {
        let mut h = vec![0.0; self.d];
        for i in 0..self.n {
            let y = self.y(t, i);
            for (hk, xk) in h.iter_mut().zip(self.x(t, i)) {
                *hk += y * xk;
            }
        }
        h.iter_mut().for_each(|v| *v /= self.n as f64);
        h
    }
}

/// Dot product.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A uniformly random d×d rotation (Gram–Schmidt on a Gaussian matrix), row-major.
pub fn random_rotation(d: usize, rng: &mut impl Rng) -> Vec<f64> {
    let mut rows: Vec<Vec<f64>> = Vec::with_capacity(d);
    while rows.len() < d {
        let mut v: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
        for r in &rows {
            let c = dot(&v, r);
            v.iter_mut().zip(r).for_each(|(a, b)| *a -= c * b);
        }
        let norm = dot(&v, &v).sqrt();
        if norm > 1e-8 {
            rows.push(v.into_iter().map(|a| a / norm).collect());
        }
    }
    rows.concat()
}

impl TaskDistribution {
    /// Validated constructor.
    pub fn new(d: usize, n: usize, covariates: Covariates, prior: Prior, noise_var: f64) -> Result<Self> {
        if d == 0 || d > 1024 {
            return Err(ValidationError::invalid("d", d, "1..=1024"));
        }
        if n == 0 || n > 100_000 {
            return Err(ValidationError::invalid("n", n, "1..=100000"));
        }
        if !(noise_var.is_finite() && noise_var >= 0.0) {
            return Err(ValidationError::invalid("noise_var", noise_var, "finite and >= 0"));
        }
        match &covariates {
            Covariates::Uniform { half_width } if !(half_width.is_finite() && *half_width > 0.0) => {
                return Err(ValidationError::invalid("half_width", half_width, "finite and > 0"));
            }
            Covariates::Gaussian { rotation, scales } if rotation.len() != d * d || scales.len() != d => {
                return Err(ValidationError::invalid("covariance", format!("{} / {}", rotation.len(), scales.len()), "d*d rotation and d scales"));
            }
            Covariates::Gaussian { scales, .. } if scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) => {
                return Err(ValidationError::invalid("scales", format!("{scales:?}"), "finite and > 0"));
            }
            _ => {}
        }
        if prior == Prior::InverseCovariance && matches!(covariates, Covariates::Uniform { .. }) {
            return Err(ValidationError::invalid("prior", "InverseCovariance", "only with Gaussian covariates"));
        }
        Ok(Self { d, n, covariates, prior, noise_var })
    }

    /// Isotropic Gaussian covariates N(0, I).
    pub fn gaussian_iso(d: usize, n: usize, noise_var: f64) -> Result<Self> {
        let mut rot = vec![0.0; d * d];
        (0..d).for_each(|i| rot[i * d + i] = 1.0);
        Self::new(d, n, Covariates::Gaussian { rotation: rot, scales: vec![1.0; d] }, Prior::Isotropic, noise_var)
    }

    /// Per-coordinate variance s and fourth moment m₄ of i.i.d. covariates (None for
    /// non-isotropic Gaussians).
    pub fn iid_moments(&self) -> Option<(f64, f64)> {
        match &self.covariates {
            Covariates::Uniform { half_width: r } => Some((r * r / 3.0, r.powi(4) / 5.0)),
            Covariates::Gaussian { scales, .. } if scales.iter().all(|s| (s - 1.0).abs() < 1e-15) => Some((1.0, 3.0)),
            _ => None,
        }
    }

    /// Σ as a row-major d×d matrix.
    pub fn covariance(&self) -> Vec<f64> {
        let d = self.d;
        match &self.covariates {
            Covariates::Uniform { half_width: r } => {
                let mut s = vec![0.0; d * d];
                (0..d).for_each(|i| s[i * d + i] = r * r / 3.0);
                s
            }
            Covariates::Gaussian { rotation: u, scales } => {
                let mut s = vec![0.0; d * d];
                for i in 0..d {
                    for j in 0..d {
                        s[i * d + j] = (0..d).map(|k| u[i * d + k] * scales[k] * scales[k] * u[j * d + k]).sum();
                    }
                }
                s
            }
        }
    }

    fn sample_x(&self, rng: &mut impl Rng, out: &mut [f64]) {
        match &self.covariates {
            Covariates::Uniform { half_width: r } => out.iter_mut().for_each(|v| *v = rng.random_range(-*r..*r)),
            Covariates::Gaussian { rotation: u, scales } => {
                let d = self.d;
                let g: Vec<f64> = (0..d).map(|k| scales[k] * rng.sample::<f64, _>(StandardNormal)).collect();
                for (i, o) in out.iter_mut().enumerate() {
                    *o = (0..d).map(|k| u[i * d + k] * g[k]).sum();
                }
            }
        }
    }

    fn sample_w(&self, rng: &mut impl Rng, out: &mut [f64]) {
        let d = self.d;
        match (&self.prior, &self.covariates) {
            (Prior::InverseCovariance, Covariates::Gaussian { rotation: u, scales }) => {
                let g: Vec<f64> = (0..d).map(|k| rng.sample::<f64, _>(StandardNormal) / scales[k]).collect();
                for (i, o) in out.iter_mut().enumerate() {
                    *o = (0..d).map(|k| u[i * d + k] * g[k]).sum();
                }
            }
            _ => out.iter_mut().for_each(|v| *v = rng.sample(StandardNormal)),
        }
    }

    /// Samples `b` prompts, each with a fresh task.
    pub fn sample(&self, b: usize, rng: &mut impl Rng) -> Batch {
        let (n, d) = (self.n, self.d);
        let mut batch = Batch { b, n, d, xs: vec![0.0; b * n * d], ys: vec![0.0; b * n], xq: vec![0.0; b * d], yq: vec![0.0; b], ws: vec![0.0; b * d] };
        let sd = self.noise_var.sqrt();
        for t in 0..b {
            let w_slot = t * d;
            let mut w = vec![0.0; d];
            self.sample_w(rng, &mut w);
            batch.ws[w_slot..w_slot + d].copy_from_slice(&w);
            for i in 0..n {
                let o = (t * n + i) * d;
                self.sample_x(rng, &mut batch.xs[o..o + d]);
                let noise = if sd > 0.0 { sd * rng.sample::<f64, _>(StandardNormal) } else { 0.0 };
                batch.ys[t * n + i] = dot(&w, &batch.xs[o..o + d]) + noise;
            }
            self.sample_x(rng, &mut batch.xq[t * d..(t + 1) * d]);
            let noise = if sd > 0.0 { sd * rng.sample::<f64, _>(StandardNormal) } else { 0.0 };
            batch.yq[t] = dot(&w, &batch.xq[t * d..(t + 1) * d]) + noise;
        }
        batch
    }
}
