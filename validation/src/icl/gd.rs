//! Gradient-descent predictors, their optimal hyper-parameters and the Bayes/OLS baselines
//! (theory.md §2.4–§2.7), all in f64 on plain vectors; the dense solves and products are faer's.

use super::data::{dot, Batch, TaskDistribution};
use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{Mat, MatRef, Side};

/// One GD step from w = 0 on L(w) = (1/2n)Σ(w·x_i − y_i)², evaluated at the query:
/// ŷ = η · x_q·h with h = (1/n)Σ y_i x_i.
pub fn one_step_predictions(batch: &Batch, eta: f64) -> Vec<f64> {
    (0..batch.b).map(|t| eta * dot(&batch.h(t), batch.query(t))).collect()
}

/// ½·mean (ŷ − y_q)² — von Oswald's loss — and the standard error of that mean.
pub fn half_mse(pred: &[f64], target: &[f64]) -> (f64, f64) {
    let e: Vec<f64> = pred.iter().zip(target).map(|(p, y)| 0.5 * (p - y).powi(2)).collect();
    mean_se(&e)
}

/// Mean and standard error of a sample.
pub fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, (var / n).sqrt())
}

/// Optimal one-step size for i.i.d. covariates with variance s and fourth moment m₄,
/// w ~ N(0, I): η*/n = s/(m₄ + (n + d − 2)s² + σ²s). Returns η*.
pub fn eta_star(n: usize, d: usize, s: f64, m4: f64, noise_var: f64) -> f64 {
    n as f64 * s / (m4 + (n as f64 + d as f64 - 2.0) * s * s + noise_var * s)
}

/// Full-MSE risk E(ŷ − y_q)² of one GD step with step η (same assumptions as
/// [`eta_star`]): R(η) = sd + σ² + s²d·η(η/η* − 2); its minimum R* = sd − s²dη* + σ².
pub fn one_step_risk(eta: f64, n: usize, d: usize, s: f64, m4: f64, noise_var: f64) -> f64 {
    let es = eta_star(n, d, s, m4, noise_var);
    let d = d as f64;
    s * d + noise_var + s * s * d * eta * (eta / es - 2.0)
}

/// Exact line search of the one-step size on a sample: the risk is quadratic in η, so
/// η̂ = Σ a_t y_t / Σ a_t² with a_t = x_q·h (the minimiser over the sample, no grid).
pub fn line_search_eta(batch: &Batch) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for t in 0..batch.b {
        let a = dot(&batch.h(t), batch.query(t));
        num += a * batch.yq[t];
        den += a * a;
    }
    num / den
}

/// K layers of GD (γ = 0) or GD++ on the token representation: every layer updates all
/// tokens (context and query) simultaneously from the layer input,
/// y_j ← y_j − (η/n)Σ_i y_i x_i·x_j and x_j ← x_j − γ Σ_i x_i (x_i·x_j);
/// the query's y-slot starts at 0 and the prediction is its negation.
pub fn gdpp_predictions(batch: &Batch, layers: usize, eta: f64, gamma: f64) -> Vec<f64> {
    gdpp_layers(batch, &vec![(eta, gamma); layers])
}

/// GD++ with per-layer parameters `(η_ℓ, γ_ℓ)` (untied), as in von Oswald's non-recurrent
/// GD++ baseline; see [`gdpp_predictions`] for the update.
pub fn gdpp_layers(batch: &Batch, params: &[(f64, f64)]) -> Vec<f64> {
    let (n, d) = (batch.n, batch.d);
    let mut out = Vec::with_capacity(batch.b);
    let mut x = vec![0.0; (n + 1) * d];
    let mut y = vec![0.0; n + 1];
    let mut nx = vec![0.0; (n + 1) * d];
    let mut ny = vec![0.0; n + 1];
    for t in 0..batch.b {
        for i in 0..n {
            x[i * d..(i + 1) * d].copy_from_slice(batch.x(t, i));
            y[i] = batch.y(t, i);
        }
        x[n * d..].copy_from_slice(batch.query(t));
        y[n] = 0.0;
        for &(eta, gamma) in params {
            for j in 0..=n {
                let xj = &x[j * d..(j + 1) * d];
                let mut dy = 0.0;
                let mut dx = vec![0.0; d];
                for i in 0..n {
                    let xi = &x[i * d..(i + 1) * d];
                    let s = dot(xi, xj);
                    dy += y[i] * s;
                    if gamma != 0.0 {
                        dx.iter_mut().zip(xi).for_each(|(a, b)| *a += b * s);
                    }
                }
                ny[j] = y[j] - eta / n as f64 * dy;
                for k in 0..d {
                    nx[j * d + k] = xj[k] - gamma * dx[k];
                }
            }
            std::mem::swap(&mut x, &mut nx);
            std::mem::swap(&mut y, &mut ny);
        }
        out.push(-y[n]);
    }
    out
}

/// Tunes the shared step η (and γ when `plus`) of K-layer GD / GD++ to minimise ½MSE on
/// `batch`: a coarse log grid, then alternating golden-section refinement.
/// Returns (η, γ, loss).
pub fn tune_gdpp(batch: &Batch, layers: usize, plus: bool, eta_hint: f64) -> (f64, f64, f64) {
    let loss = |eta: f64, gamma: f64| half_mse(&gdpp_predictions(batch, layers, eta, gamma), &batch.yq).0;
    let etas = crate::stats::log_grid(0.2 * eta_hint, 5.0 * eta_hint, 15);
    // γ is measured in units of 1/E‖x‖² per context point, scale-free across input ranges.
    let gscale = 1.0 / (batch.n as f64 * mean_sq_norm(batch));
    let gammas: Vec<f64> = if plus { (0..12).map(|k| k as f64 * 0.1 * gscale).collect() } else { vec![0.0] };
    let mut best = (eta_hint, 0.0, f64::INFINITY);
    for &e in &etas {
        for &g in &gammas {
            let l = loss(e, g);
            if l < best.2 {
                best = (e, g, l);
            }
        }
    }
    let (mut e, mut g) = (best.0, best.1);
    for _ in 0..4 {
        e = crate::quad::golden_min(|le| loss(le.exp(), g), (0.7 * e).ln(), (1.4 * e).ln(), 1e-4).0.exp();
        if plus {
            let hi = (g + 0.1 * gscale) * 1.3;
            g = crate::quad::golden_min(|gg| loss(e, gg), (g - 0.1 * gscale).max(0.0), hi, 1e-4 * gscale).0;
        }
    }
    (e, g, loss(e, g))
}

/// For GD++ layers `prefix` followed by one final GD layer with step η, the prediction is
/// affine in η: ŷ = a + η·b with a = −(query y-slot) and b = (1/n)Σ y_i x_i·x_q, all taken
/// after `prefix`. Returns (a, b) per prompt, so the final step size has a closed-form optimum.
pub fn final_layer_terms(batch: &Batch, prefix: &[(f64, f64)]) -> (Vec<f64>, Vec<f64>) {
    // Running the prefix plus a last layer with η = 0 and η = 1 gives a and a + b.
    let mut p0 = prefix.to_vec();
    p0.push((0.0, 0.0));
    let a = gdpp_layers(batch, &p0);
    let mut p1 = prefix.to_vec();
    p1.push((1.0, 0.0));
    let a_plus_b = gdpp_layers(batch, &p1);
    let b = a_plus_b.iter().zip(&a).map(|(x, y)| x - y).collect();
    (a, b)
}

/// Optimal final step for (a, b) from [`final_layer_terms`], and the resulting ½MSE.
pub fn best_final_eta(a: &[f64], b: &[f64], y: &[f64]) -> (f64, f64) {
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..a.len() {
        num += b[i] * (y[i] - a[i]);
        den += b[i] * b[i];
    }
    let eta = num / den;
    let pred: Vec<f64> = a.iter().zip(b).map(|(a, b)| a + eta * b).collect();
    (eta, half_mse(&pred, y).0)
}

/// Globally tunes two-layer GD++ with untied parameters (η₁, γ₁, η₂) on `batch`: a grid
/// over (η₁, γ₁) with the closed-form optimal η₂ at every grid point, then golden-section
/// refinement that only ever accepts improvements. The landscape has several basins (the
/// tied optimum of theory.md §2.6 is not the untied one), hence the grid.
/// Returns the per-layer parameters and the loss on `batch`.
pub fn tune_gdpp_two_layer(batch: &Batch) -> (Vec<(f64, f64)>, f64) {
    let gscale = 1.0 / (batch.n as f64 * mean_sq_norm(batch));
    let eta_scale = batch.n as f64 * gscale; // 1/E‖x‖², the natural unit of a GD step
    let eval = |e1: f64, g1: f64| -> (f64, f64) {
        let (a, b) = final_layer_terms(batch, &[(e1, g1)]);
        best_final_eta(&a, &b, &batch.yq)
    };
    let mut best = (0.0, 0.0, 0.0, f64::INFINITY);
    for &e1 in &crate::stats::log_grid(0.05 * eta_scale, 8.0 * eta_scale, 24) {
        for k in 0..=20 {
            let g1 = 0.25 * k as f64 * gscale;
            let (e2, l) = eval(e1, g1);
            if l < best.3 {
                best = (e1, g1, e2, l);
            }
        }
    }
    for _ in 0..3 {
        let g1 = best.1;
        let (le, _) = crate::quad::golden_min(|le| eval(le.exp(), g1).1, (0.8 * best.0).ln(), (1.25 * best.0).ln(), 1e-4);
        let (e2, l) = eval(le.exp(), g1);
        if l < best.3 {
            best = (le.exp(), g1, e2, l);
        }
        let e1 = best.0;
        let (g, _) = crate::quad::golden_min(|g| eval(e1, g).1, (best.1 - 0.25 * gscale).max(0.0), best.1 + 0.25 * gscale, 1e-5 * gscale);
        let (e2, l) = eval(e1, g);
        if l < best.3 {
            best = (e1, g, e2, l);
        }
    }
    (vec![(best.0, best.1), (best.2, 0.0)], best.3)
}

fn mean_sq_norm(batch: &Batch) -> f64 {
    batch.xs.iter().map(|v| v * v).sum::<f64>() / (batch.b * batch.n) as f64
}

/// Solves the symmetric positive-definite system A x = b (row-major m×m, lower triangle read)
/// by Cholesky; None if A is not numerically positive definite.
pub fn spd_solve(a: &[f64], b: &[f64], m: usize) -> Option<Vec<f64>> {
    let llt = MatRef::from_row_major_slice(a, m, m).llt(Side::Lower).ok()?;
    Some(column(&llt.solve(MatRef::from_column_major_slice(b, m, 1))))
}

/// Inverse of the symmetric positive-definite A (row-major m×m, lower triangle read) by
/// Cholesky; None if A is not numerically positive definite.
pub fn spd_inverse(a: &[f64], m: usize) -> Option<Vec<f64>> {
    let inv = MatRef::from_row_major_slice(a, m, m).llt(Side::Lower).ok()?.inverse();
    Some((0..m * m).map(|k| inv[(k / m, k % m)]).collect())
}

/// The single column of an m×1 matrix.
fn column(x: &Mat<f64>) -> Vec<f64> {
    x.col(0).iter().copied().collect()
}

/// Ridge estimate ŵ = (XᵀX + λI)⁻¹Xᵀy of prompt t; with λ = 0 it is OLS when n ≥ d and the
/// minimum-norm interpolant Xᵀ(XXᵀ)⁻¹y when n < d.
pub fn ridge_weights(batch: &Batch, t: usize, lambda: f64) -> Option<Vec<f64>> {
    let (n, d) = (batch.n, batch.d);
    let x = MatRef::from_row_major_slice(&batch.xs[t * n * d..(t + 1) * n * d], n, d);
    let y = MatRef::from_column_major_slice(&batch.ys[t * n..(t + 1) * n], n, 1);
    if lambda == 0.0 && n < d {
        let c = (x * x.transpose()).llt(Side::Lower).ok()?.solve(y);
        return Some(column(&(x.transpose() * c)));
    }
    let mut a = x.transpose() * x;
    a.diagonal_mut().column_vector_mut().iter_mut().for_each(|v| *v += lambda);
    Some(column(&a.llt(Side::Lower).ok()?.solve(x.transpose() * y)))
}

/// Squared query errors (ŷ − y_q)² of ridge with penalty λ (λ = 0: OLS / min-norm).
pub fn ridge_sq_errors(batch: &Batch, lambda: f64) -> Vec<f64> {
    (0..batch.b).filter_map(|t| ridge_weights(batch, t, lambda).map(|w| (dot(&w, batch.query(t)) - batch.yq[t]).powi(2))).collect()
}

/// Bayes (ridge, λ = σ²) risk for x ~ N(0, I), w ~ N(0, I), by conditional expectation:
/// given the design X the posterior covariance is σ²(XᵀX + σ²I)⁻¹, so the risk is
/// σ² E tr((XᵀX + σ²I)⁻¹) + σ²; averaging that trace over `designs` random X has far less
/// variance than averaging squared errors. Noiseless: exactly (d − n)₊.
pub fn bayes_risk_gaussian(n: usize, d: usize, noise_var: f64, designs: usize, rng: &mut impl rand::Rng) -> (f64, f64) {
    if noise_var == 0.0 {
        return ((d as f64 - n as f64).max(0.0), 0.0);
    }
    let mut v = Vec::with_capacity(designs);
    let mut a = vec![0.0; d * d];
    let mut x = vec![0.0; d];
    for _ in 0..designs {
        a.iter_mut().for_each(|e| *e = 0.0);
        for _ in 0..n {
            x.iter_mut().for_each(|e| *e = rng.sample(rand_distr::StandardNormal));
            for p in 0..d {
                for q in 0..d {
                    a[p * d + q] += x[p] * x[q];
                }
            }
        }
        (0..d).for_each(|p| a[p * d + p] += noise_var);
        let tr = match MatRef::from_row_major_slice(&a, d, d).llt(Side::Lower) {
            Ok(llt) => llt.inverse().diagonal().column_vector().iter().sum(),
            Err(_) => f64::NAN,
        };
        v.push(noise_var * tr + noise_var);
    }
    mean_se(&v)
}

/// Closed-form risks E(ŷ − y_q)² for x ~ N(0, I), w ~ N(0, τ²I) with τ = 1 (theory.md §2.7).
pub mod closed_form {
    /// OLS, n ≥ d + 2: σ²(1 + d/(n − d − 1)).
    pub fn ols(n: usize, d: usize, noise_var: f64) -> Option<f64> {
        (n >= d + 2).then(|| noise_var * (1.0 + d as f64 / (n as f64 - d as f64 - 1.0)))
    }
    /// Minimum-norm interpolation, n ≤ d − 2: (d − n) + σ²n/(d − n − 1) + σ².
    pub fn min_norm(n: usize, d: usize, noise_var: f64) -> Option<f64> {
        (n + 2 <= d).then(|| (d - n) as f64 + noise_var * n as f64 / (d as f64 - n as f64 - 1.0) + noise_var)
    }
    /// One GD step at the optimal η: d(d + 1 + σ²)/(n + d + 1 + σ²) + σ².
    pub fn one_step_gd(n: usize, d: usize, noise_var: f64) -> f64 {
        let (n, d) = (n as f64, d as f64);
        d * (d + 1.0 + noise_var) / (n + d + 1.0 + noise_var) + noise_var
    }
}

/// Optimal preconditioner of one GD step for x ~ N(0, Σ), w ~ N(0, Σ_w), noise σ²
/// (theory.md §2.5): Γ* = Σ_wΣ[((n+1)/n)ΣΣ_wΣ + ((tr(Σ_wΣ) + σ²)/n)Σ]⁻¹ (row-major).
pub fn optimal_preconditioner(sigma: &[f64], sigma_w: &[f64], n: usize, noise_var: f64) -> Option<Vec<f64>> {
    let d = (sigma.len() as f64).sqrt() as usize;
    let s = MatRef::from_row_major_slice(sigma, d, d);
    let ws = MatRef::from_row_major_slice(sigma_w, d, d) * s;
    let sws = s * &ws;
    let tr: f64 = ws.diagonal().column_vector().iter().sum();
    let nf = n as f64;
    let m = Mat::from_fn(d, d, |i, j| (nf + 1.0) / nf * sws[(i, j)] + (tr + noise_var) / nf * s[(i, j)]);
    // Γ* = ws · M⁻¹  ⇔  M Γ*ᵀ = wsᵀ (M symmetric).
    let gt = m.llt(Side::Lower).ok()?.solve(ws.transpose());
    Some((0..d * d).map(|k| gt[(k % d, k / d)]).collect())
}

/// Least-squares fit of Γ in ŷ = x_qᵀ Γ h over a batch (the best linear one-step
/// preconditioner on that sample), via the normal equations in vec(Γ).
pub fn fit_preconditioner(batch: &Batch) -> Option<Vec<f64>> {
    let d = batch.d;
    let m = d * d;
    let mut a = vec![0.0; m * m];
    let mut rhs = vec![0.0; m];
    let mut f = vec![0.0; m];
    for t in 0..batch.b {
        let h = batch.h(t);
        let q = batch.query(t);
        for i in 0..d {
            for j in 0..d {
                f[i * d + j] = q[i] * h[j];
            }
        }
        for p in 0..m {
            rhs[p] += f[p] * batch.yq[t];
            for r in 0..=p {
                a[p * m + r] += f[p] * f[r];
            }
        }
    }
    // Only the lower triangle is accumulated: the Cholesky solve reads nothing else.
    spd_solve(&a, &rhs, m)
}

/// Predictions x_qᵀ Γ h for a row-major Γ.
pub fn preconditioned_predictions(batch: &Batch, gamma: &[f64]) -> Vec<f64> {
    let d = batch.d;
    (0..batch.b)
        .map(|t| {
            let h = batch.h(t);
            let q = batch.query(t);
            (0..d).map(|i| q[i] * (0..d).map(|j| gamma[i * d + j] * h[j]).sum::<f64>()).sum()
        })
        .collect()
}

/// The task distribution's η* when its covariates are i.i.d. (None otherwise).
pub fn eta_star_of(dist: &TaskDistribution) -> Option<f64> {
    let (s, m4) = dist.iid_moments()?;
    Some(eta_star(dist.n, dist.d, s, m4, dist.noise_var))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_star_matches_reference_table() {
        // theory.md §2.4: (s, m4, n, d, σ², η*/n, R*)
        let rows = [
            (1.0, 3.0, 10, 10, 0.0, 0.04762, 5.238),
            (1.0, 3.0, 20, 5, 0.5, 0.03774, 1.726),
            (1.0 / 3.0, 0.2, 10, 10, 0.0, 0.1515, 1.650),
            (1.0 / 12.0, 1.0 / 80.0, 10, 10, 0.0, 0.6061, 0.4125),
        ];
        for (s, m4, n, d, s2, en, r) in rows {
            let e = eta_star(n, d, s, m4, s2);
            assert!((e / n as f64 / en - 1.0).abs() < 1e-3, "{e}");
            assert!((one_step_risk(e, n, d, s, m4, s2) / r - 1.0).abs() < 1e-3);
        }
    }

    /// Row-major `U diag(s) Uᵀ` for a rotation `U` in the planes (0,1) and (1,2).
    fn rotated(s: &[f64; 3]) -> Vec<f64> {
        let (c1, s1, c2, s2) = (0.6, 0.8, (0.3f64).cos(), (0.3f64).sin());
        let u = [c1, -s1 * c2, s1 * s2, s1, c1 * c2, -c1 * s2, 0.0, s2, c2];
        (0..9).map(|k| (0..3).map(|j| u[(k / 3) * 3 + j] * s[j] * u[(k % 3) * 3 + j]).sum()).collect()
    }

    #[test]
    fn spd_solve_and_inverse_against_constructions() {
        let a = [4.0, 1.0, 1.0, 3.0];
        let x = spd_solve(&a, &[1.0, 2.0], 2).unwrap();
        assert!((4.0 * x[0] + x[1] - 1.0).abs() < 1e-14 && (x[0] + 3.0 * x[1] - 2.0).abs() < 1e-14);
        // The inverse of U diag(s) Uᵀ is U diag(1/s) Uᵀ.
        let inv = spd_inverse(&rotated(&[4.0, 1.0, 0.25]), 3).unwrap();
        for (a, b) in inv.iter().zip(rotated(&[0.25, 1.0, 4.0])) {
            assert!((a - b).abs() < 1e-13, "{inv:?}");
        }
        // Indefinite (eigenvalues 3 and −1) and singular matrices are refused.
        assert_eq!(spd_solve(&[1.0, 2.0, 2.0, 1.0], &[1.0, 1.0], 2), None);
        assert_eq!(spd_inverse(&[1.0, 1.0, 1.0, 1.0], 2), None);
    }

    #[test]
    fn ridge_recovers_noiseless_tasks() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let d = 4;
        let w: Vec<f64> = (0..d).map(|_| rng.random_range(-1.0..1.0)).collect();
        for n in [2, 6] {
            let xs: Vec<f64> = (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect();
            let ys: Vec<f64> = xs.chunks(d).map(|x| dot(x, &w)).collect();
            let batch = Batch { b: 1, n, d, xs, ys, xq: vec![0.0; d], yq: vec![0.0], ws: w.clone() };
            let w_hat = ridge_weights(&batch, 0, 0.0).unwrap();
            // Every prediction on the context is exact; with n ≥ d the task itself is recovered,
            // with n < d the minimum-norm interpolant is no longer than the true task.
            for i in 0..n {
                assert!((dot(batch.x(0, i), &w_hat) - batch.y(0, i)).abs() < 1e-12);
            }
            if n >= d {
                w_hat.iter().zip(&w).for_each(|(a, b)| assert!((a - b).abs() < 1e-12, "{w_hat:?} vs {w:?}"));
            } else {
                assert!(dot(&w_hat, &w_hat) <= dot(&w, &w) + 1e-12);
            }
            // Ridge with λ > 0 satisfies its normal equations (XᵀX + λI)ŵ = Xᵀy.
            let wr = ridge_weights(&batch, 0, 0.5).unwrap();
            for p in 0..d {
                let lhs: f64 = (0..n).map(|i| batch.x(0, i)[p] * dot(batch.x(0, i), &wr)).sum::<f64>() + 0.5 * wr[p];
                let rhs: f64 = (0..n).map(|i| batch.x(0, i)[p] * batch.y(0, i)).sum();
                assert!((lhs - rhs).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn inverse_covariance_preconditioner_is_scaled_precision() {
        // w ~ N(0, Σ⁻¹): Γ* = n/(n+d+1+σ²) Σ⁻¹ (Mahankali Thm 2), from the general formula.
        let (n, s2) = (8, 0.25);
        let sigma = rotated(&[1.0, 0.64, 0.09]);
        let precision = rotated(&[1.0, 1.0 / 0.64, 1.0 / 0.09]);
        let g = optimal_preconditioner(&sigma, &precision, n, s2).unwrap();
        let c = n as f64 / (n as f64 + 3.0 + 1.0 + s2);
        for (a, b) in g.iter().zip(&precision) {
            assert!((a - c * b).abs() < 1e-12, "{g:?}");
        }
    }

    #[test]
    fn isotropic_preconditioner_is_scalar() {
        let d = 3;
        let mut eye = vec![0.0; 9];
        (0..d).for_each(|i| eye[i * d + i] = 1.0);
        let g = optimal_preconditioner(&eye, &eye, 10, 0.5).unwrap();
        let expect = 10.0 / (10.0 + 3.0 + 1.0 + 0.5);
        assert!((g[0] - expect).abs() < 1e-14 && g[1].abs() < 1e-14);
    }
}
