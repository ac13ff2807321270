use super::GrfParams;
use crate::InvalidParameter;
use faer::Mat;
use rand::Rng;
use rand_distr::StandardNormal;
use std::f64::consts::PI;

/// Sampler of a 2-D Gaussian random field on `[0,1]²` with Neumann boundary conditions,
/// evaluated on a tensor grid of points `xs × ys`.
///
/// The field is `u(x,y) = Σ_{k,l<K} √λ_{kl} ξ_{kl} e_k(x) e_l(y)` with `e_0 = 1`, `e_k = √2 cos(πkx)`
/// (orthonormal in L²(0,1)), `λ_{kl} = scale² (π²(k²+l²) + τ²)^(−α)` and i.i.d. standard normals
/// `ξ_{kl}`. This is exactly the KL expansion FNO's `GRF.m` evaluates with an inverse DCT.
///
/// The basis matrices are built once; each sample costs two dense matrix products.
#[derive(Debug, Clone)]
pub struct CosineGrf2d {
    params: GrfParams,
    /// `basis_x[(i, k)] = e_k(xs[i])`, shape (nx, K).
    basis_x: Mat<f64>,
    /// `basis_y_t[(l, j)] = e_l(ys[j])`, shape (K, ny).
    basis_y_t: Mat<f64>,
    /// `sqrt_eig[(k, l)] = √λ_{kl}` (zero for the dropped mean mode), shape (K, K).
    sqrt_eig: Mat<f64>,
}

/// `e_k(x)`: the k-th orthonormal Neumann eigenfunction on (0,1).
pub fn cosine_eigenfunction(k: usize, x: f64) -> f64 {
    if k == 0 {
        1.0
    } else {
        std::f64::consts::SQRT_2 * (PI * k as f64 * x).cos()
    }
}

impl CosineGrf2d {
    /// Build a sampler on the grid `xs × ys`, keeping `modes` cosine modes per direction.
    pub fn new(params: GrfParams, xs: &[f64], ys: &[f64], modes: usize) -> Result<Self, InvalidParameter> {
        params.validate()?;
        if modes == 0 {
            return Err(InvalidParameter::new("modes", "0", "must be >= 1"));
        }
        if xs.is_empty() || ys.is_empty() {
            return Err(InvalidParameter::new("resolution", "0", "the grid must have at least one point per direction"));
        }
        let basis_x = Mat::from_fn(xs.len(), modes, |i, k| cosine_eigenfunction(k, xs[i]));
        let basis_y_t = Mat::from_fn(modes, ys.len(), |l, j| cosine_eigenfunction(l, ys[j]));
        let sqrt_eig = Mat::from_fn(modes, modes, |k, l| {
            if k == 0 && l == 0 && !params.keep_mean_mode {
                0.0
            } else {
                let lap = PI * PI * ((k * k + l * l) as f64);
                params.covariance_eigenvalue(lap).sqrt()
            }
        });
        Ok(Self { params, basis_x, basis_y_t, sqrt_eig })
    }

    /// Sampler on the `s × s` node grid `x_i = i/(s−1)` (boundary nodes included), with `s` modes
    /// per direction, as FNO samples on its solver grid.
    pub fn on_node_grid(params: GrfParams, s: usize) -> Result<Self, InvalidParameter> {
        if s < 2 {
            return Err(InvalidParameter::new("resolution", s, "must be >= 2"));
        }
        let xs = node_grid(s);
        Self::new(params, &xs, &xs, s)
    }

    /// Parameters this sampler was built with.
    pub fn params(&self) -> &GrfParams {
        &self.params
    }

    /// Number of modes kept per direction.
    pub fn modes(&self) -> usize {
        self.sqrt_eig.nrows()
    }

    /// Grid shape `(nx, ny)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.basis_x.nrows(), self.basis_y_t.ncols())
    }

    /// Draw one field, row-major with x as the slow axis: `out[i * ny + j] = u(xs[i], ys[j])`.
    ///
    /// Consumes exactly `K²` standard normals from `rng`, in row-major (k, l) order, including
    /// one for a dropped mean mode, so the stream does not depend on `keep_mean_mode`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        let k = self.modes();
        let mut xi = Mat::<f64>::zeros(k, k);
        for r in 0..k {
            for c in 0..k {
                let z: f64 = rng.sample(StandardNormal);
                xi[(r, c)] = z * self.sqrt_eig[(r, c)];
            }
        }
        let right = &xi * &self.basis_y_t; // (K, ny)
        let field = &self.basis_x * &right; // (nx, ny)
        let (nx, ny) = self.shape();
        let mut out = Vec::with_capacity(nx * ny);
        for i in 0..nx {
            for j in 0..ny {
                out.push(field[(i, j)]);
            }
        }
        out
    }
}

/// `s` equispaced nodes on `[0, 1]` including both ends: `x_i = i/(s−1)`.
pub fn node_grid(s: usize) -> Vec<f64> {
    if s == 1 {
        return vec![0.0];
    }
    (0..s).map(|i| i as f64 / (s - 1) as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// Project a node-grid field onto the cosine basis with the trapezoidal rule. On the node grid
    /// `x_i = i/(s−1)` the cosines `cos(πki/(s−1))`, k = 0..s−1, are exactly orthogonal under the
    /// trapezoidal weights (DCT-I), so this recovers the KL coefficients √λ ξ without error.
    fn project(field: &[f64], s: usize) -> Vec<f64> {
        let n = s - 1;
        let w = |i: usize| if i == 0 || i == n { 0.5 } else { 1.0 } / n as f64;
        // Trapezoidal inner products of the orthonormal e_k on this grid are δ_kl, except
        // ⟨e_N, e_N⟩ = 2 for the highest mode (it alternates ±√2 at every node).
        let norm = |k: usize| if k == n { 0.5 } else { 1.0 };
        let x = node_grid(s);
        let mut coef = vec![0.0; s * s];
        for k in 0..s {
            for l in 0..s {
                let mut acc = 0.0;
                for i in 0..s {
                    for j in 0..s {
                        acc += w(i) * w(j) * field[i * s + j] * cosine_eigenfunction(k, x[i]) * cosine_eigenfunction(l, x[j]);
                    }
                }
                coef[k * s + l] = acc * norm(k) * norm(l);
            }
        }
        coef
    }

    #[test]
    fn sample_covariance_matches_analytic_spectrum() {
        let s = 9;
        let params = GrfParams::default();
        let grf = CosineGrf2d::on_node_grid(params, s).unwrap();
        let trials = 4000;
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut second_moment = vec![0.0; s * s];
        for _ in 0..trials {
            let c = project(&grf.sample(&mut rng), s);
            for (m, v) in second_moment.iter_mut().zip(&c) {
                *m += v * v / trials as f64;
            }
        }
        // The mean mode is dropped: its coefficient must vanish identically.
        assert!(second_moment[0] < 1e-20, "mean mode variance {}", second_moment[0]);
        // Every other mode: E[c²] = λ_kl. The relative standard error of a variance estimate from
        // `trials` normals is √(2/trials) ≈ 2.2%; allow 5 standard errors per mode.
        let tol = 5.0 * (2.0 / trials as f64).sqrt();
        let mut worst: f64 = 0.0;
        for k in 0..s {
            for l in 0..s {
                if k + l == 0 {
                    continue;
                }
                let lam = params.covariance_eigenvalue(PI * PI * ((k * k + l * l) as f64));
                let rel = (second_moment[k * s + l] / lam - 1.0).abs();
                worst = worst.max(rel);
            }
        }
        assert!(worst < tol, "worst relative variance error {worst} > {tol}");
    }

    #[test]
    fn pointwise_variance_matches_kl_sum() {
        // Independent of the projection: the variance at a point is Σ λ_kl e_k(x)² e_l(y)².
        let s = 5;
        let params = GrfParams { alpha: 1.5, tau: 2.0, scale: Some(1.0), keep_mean_mode: true };
        let grf = CosineGrf2d::on_node_grid(params, s).unwrap();
        let x = node_grid(s);
        let (pi, pj) = (1, 3);
        let mut expected = 0.0;
        for k in 0..s {
            for l in 0..s {
                let lam = params.covariance_eigenvalue(PI * PI * ((k * k + l * l) as f64));
                expected += lam * cosine_eigenfunction(k, x[pi]).powi(2) * cosine_eigenfunction(l, x[pj]).powi(2);
            }
        }
        let trials = 20000;
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let mut acc = 0.0;
        for _ in 0..trials {
            let u = grf.sample(&mut rng);
            acc += u[pi * s + pj].powi(2);
        }
        let measured = acc / trials as f64;
        let tol = 5.0 * (2.0 / trials as f64).sqrt();
        assert!((measured / expected - 1.0).abs() < tol, "measured {measured}, expected {expected}");
    }

    #[test]
    fn same_rng_stream_gives_same_field() {
        let grf = CosineGrf2d::on_node_grid(GrfParams::default(), 16).unwrap();
        let a = grf.sample(&mut ChaCha20Rng::seed_from_u64(3));
        let b = grf.sample(&mut ChaCha20Rng::seed_from_u64(3));
        assert_eq!(a, b);
    }

    #[test]
    fn invalid_parameters_are_named() {
        let bad = GrfParams { tau: -1.0, ..GrfParams::default() };
        let err = CosineGrf2d::on_node_grid(bad, 8).unwrap_err();
        assert!(err.to_string().starts_with("tau = -1"), "{err}");
        let err = CosineGrf2d::on_node_grid(GrfParams::default(), 1).unwrap_err();
        assert!(err.to_string().contains("resolution"), "{err}");
    }
}
