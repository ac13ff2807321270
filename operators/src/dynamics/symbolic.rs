//! Symbolic coding of an AL-RNN: which linear subregion each state of a trajectory lies in,
//! how often each is used, and the fixed point and stability of each subregion's affine map.
//!
//! In subregion `D` (a 0/1 diagonal marking the positive ReLU units) the map is affine,
//! `z ↦ (diag(A) + W D_Φ) z + h` with `D_Φ = diag(1, …, 1, d_1, …, d_P)`, so its fixed point is
//! `z* = (I − diag(A) − W D_Φ)⁻¹ h` and its stability is the spectral radius of
//! `diag(A) + W D_Φ` (`evaluate.jl: calc_FP` in the reference).

use faer::linalg::solvers::Solve;
use faer::MatRef;
use serde::{Deserialize, Serialize};

use super::model::Alrnn;

/// One subregion's affine dynamics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subregion {
    /// Subregion id: bit `j` set when ReLU unit `j` is active.
    pub id: u32,
    /// Time steps of the coded trajectory spent in it.
    pub steps: usize,
    /// Fixed point of the subregion's affine map (`None` when `I − J` is singular).
    pub fixed_point: Option<Vec<f64>>,
    /// Whether the fixed point lies in the subregion itself (otherwise it is *virtual*: the
    /// affine map has it, but the full system never reaches it through this region).
    pub fixed_point_is_real: bool,
    /// Spectral radius of the subregion's Jacobian `diag(A) + W D_Φ`.
    pub spectral_radius: f64,
    /// `spectral_radius < 1`.
    pub stable: bool,
}

/// Symbolic coding of a trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coding {
    /// Subregion id of every state.
    pub sequence: Vec<u32>,
    /// Visited subregions, most used first (ties by id).
    pub regions: Vec<Subregion>,
}

impl Coding {
    /// Number of distinct subregions visited.
    pub fn n_used(&self) -> usize {
        self.regions.len()
    }
}

/// Codes a latent trajectory (row-major `T × M`, non-finite states skipped) and analyses every
/// visited subregion.
pub fn code(model: &Alrnn, latent: &[f64]) -> Coding {
    let m = model.shape.m;
    let sequence: Vec<u32> = latent.chunks_exact(m).filter(|z| z.iter().all(|v| v.is_finite())).map(|z| model.region(z)).collect();
    let mut counts: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    for &r in &sequence {
        *counts.entry(r).or_default() += 1;
    }
    let mut regions: Vec<Subregion> = counts.into_iter().map(|(id, steps)| analyse(model, id, steps)).collect();
    regions.sort_by(|a, b| b.steps.cmp(&a.steps).then(a.id.cmp(&b.id)));
    Coding { sequence, regions }
}

/// The Jacobian `diag(A) + W D_Φ` of subregion `id`, row-major M×M.
pub fn jacobian(model: &Alrnn, id: u32) -> Vec<f64> {
    let m = model.shape.m;
    let r0 = model.shape.first_relu();
    let (a, w) = (model.a(), model.w());
    let mut j = vec![0.0; m * m];
    for r in 0..m {
        for c in 0..m {
            let active = c < r0 || (id >> (c - r0)) & 1 == 1;
            j[r * m + c] = if active { w[r * m + c] } else { 0.0 };
        }
        j[r * m + r] += a[r];
    }
    j
}

/// Fixed point and stability of subregion `id`.
pub fn analyse(model: &Alrnn, id: u32, steps: usize) -> Subregion {
    let m = model.shape.m;
    let jac = jacobian(model, id);
    let mut lhs: Vec<f64> = jac.iter().map(|v| -v).collect();
    for i in 0..m {
        lhs[i * m + i] += 1.0;
    }
    let fixed_point = solve(&lhs, model.h(), m);
    let fixed_point_is_real = fixed_point.as_ref().is_some_and(|z| model.region(z) == id);
    let spectral_radius = spectral_radius(&jac, m);
    Subregion { id, steps, fixed_point, fixed_point_is_real, spectral_radius, stable: spectral_radius < 1.0 }
}

/// Solves `a x = b` (a: row-major n×n) by LU with partial pivoting; `None` when `a` is
/// numerically singular (a pivot at most `1e-13 · max|a_ij|`) or not finite.
fn solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    if !a.iter().all(|v| v.is_finite()) {
        return None;
    }
    let scale = a.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    let lu = MatRef::from_row_major_slice(a, n, n).partial_piv_lu();
    if scale == 0.0 || lu.U().diagonal().column_vector().iter().any(|u| u.abs() <= 1e-13 * scale) {
        return None;
    }
    let x = lu.solve(MatRef::from_column_major_slice(b, n, 1));
    Some(x.col(0).iter().copied().collect())
}

/// Spectral radius `max |λ_i|` of a real n×n matrix from its eigenvalues (Hessenberg
/// reduction and the real Schur form, so complex pairs and non-normal matrices are handled);
/// infinite for a matrix with non-finite entries, NaN if the eigenvalue iteration does not
/// converge (neither is then `< 1`, so such a region is reported unstable).
fn spectral_radius(j: &[f64], n: usize) -> f64 {
    if !j.iter().all(|v| v.is_finite()) {
        return f64::INFINITY;
    }
    match MatRef::from_row_major_slice(j, n, n).eigenvalues() {
        Ok(eig) => eig.iter().map(|l| l.norm()).fold(0.0, f64::max),
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamics::model::AlrnnShape;

    /// Row-major `S · B · S⁻¹` for a block-diagonal `B` and a fixed well-conditioned `S`: a
    /// dense non-normal matrix whose spectrum is that of `B`.
    fn similar(b: &[f64], n: usize) -> Vec<f64> {
        let s = faer::Mat::from_fn(n, n, |i, j| if i == j { 2.0 } else { ((i * n + j) as f64 * 0.7).sin() * 0.5 });
        let s_inv = faer::linalg::solvers::DenseSolveCore::inverse(&s.partial_piv_lu());
        let m = &s * MatRef::from_row_major_slice(b, n, n) * &s_inv;
        (0..n * n).map(|k| m[(k / n, k % n)]).collect()
    }

    #[test]
    fn spectral_radius_of_known_matrices() {
        // Rotation by 0.5 rad scaled by 0.9: complex pair of modulus 0.9 (power iteration fails here).
        let (c, s) = (0.9 * (0.5f64).cos(), 0.9 * (0.5f64).sin());
        assert!((spectral_radius(&[c, -s, s, c], 2) - 0.9).abs() < 1e-14);
        // Triangular with eigenvalues 1.2 and -0.5, non-normal.
        assert!((spectral_radius(&[1.2, 5.0, 0.0, -0.5], 2) - 1.2).abs() < 1e-14);
        assert_eq!(spectral_radius(&[0.0, 1.0, 0.0, 0.0], 2), 0.0, "nilpotent");
        // Dense 4×4 with eigenvalues 0.3, -0.7 and the pair 0.8 e^{±0.5i}: radius 0.8 from the
        // complex pair although the largest real eigenvalue has modulus 0.7.
        let mut b = vec![0.0; 16];
        b[0] = 0.3;
        b[5] = -0.7;
        b[10] = c / 0.9 * 0.8;
        b[11] = -s / 0.9 * 0.8;
        b[14] = s / 0.9 * 0.8;
        b[15] = c / 0.9 * 0.8;
        assert!((spectral_radius(&similar(&b, 4), 4) - 0.8).abs() < 1e-12);
        // Dense defective 3×3 (a Jordan block of 0.95 and a simple 0.5): eigenvalues of a
        // Jordan block are sensitive at the √ε level, still far finer than the `< 1` decision.
        let jordan = [0.95, 1.0, 0.0, 0.0, 0.95, 0.0, 0.0, 0.0, 0.5];
        assert!((spectral_radius(&similar(&jordan, 3), 3) - 0.95).abs() < 1e-6);
        assert_eq!(spectral_radius(&[f64::NAN, 0.0, 0.0, 0.0], 2), f64::INFINITY);
    }

    #[test]
    fn solve_checks_residual_and_singularity() {
        let a = similar(&[2.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.5], 3);
        let b = [1.0, -2.0, 3.0];
        let x = solve(&a, &b, 3).unwrap();
        for i in 0..3 {
            let r: f64 = (0..3).map(|j| a[i * 3 + j] * x[j]).sum::<f64>() - b[i];
            assert!(r.abs() < 1e-14, "residual {r:e}");
        }
        // Rank 2 (row 2 = row 0 + row 1), then a zero matrix and a non-finite one.
        let sing = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 5.0, 7.0, 9.0];
        assert_eq!(solve(&sing, &b, 3), None);
        assert_eq!(solve(&[0.0; 4], &b[..2], 2), None);
        assert_eq!(solve(&[1.0, 0.0, 0.0, f64::INFINITY], &b[..2], 2), None);
    }

    #[test]
    fn fixed_point_of_a_known_linear_subregion() {
        // M = 3, P = 1, N = 1: A = (0.5, 0.2, 0.1), W = 0.1·I except W[0][2] = 1, h = (1, 2, 3).
        let shape = AlrnnShape { m: 3, p: 1, n: 1 };
        let mut params = vec![0.0; shape.n_params()];
        params[..3].copy_from_slice(&[0.5, 0.2, 0.1]);
        for i in 0..3 {
            params[3 + i * 3 + i] = 0.1;
        }
        params[3 + 2] = 1.0;
        params[12..15].copy_from_slice(&[1.0, 2.0, 3.0]);
        let model = Alrnn::from_params(shape, params).unwrap();
        // Region 1 (ReLU unit active): J = [[0.6,0,1],[0,0.3,0],[0,0,0.2]].
        // z2 = 3/0.8 = 3.75, z1 = 2/0.7, z0 = (1 + 3.75)/0.4 = 11.875.
        let r = analyse(&model, 1, 0);
        let z = r.fixed_point.clone().unwrap();
        for (a, b) in z.iter().zip([11.875, 2.0 / 0.7, 3.75]) {
            assert!((a - b).abs() < 1e-12, "{z:?}");
        }
        assert!(r.fixed_point_is_real && r.stable && (r.spectral_radius - 0.6).abs() < 1e-9);
        // Region 0 (ReLU off): the unit's own diagonal W is gone too: J22 = 0.1, so z2 = 3/0.9 > 0
        // lies in region 1: a virtual fixed point.
        let r0 = analyse(&model, 0, 0);
        assert!(!r0.fixed_point_is_real);
        let z0 = r0.fixed_point.unwrap();
        assert!((z0[0] - 1.0 / 0.4).abs() < 1e-12 && (z0[2] - 3.0 / 0.9).abs() < 1e-12);
        // The coding of a free run names the regions it visits.
        let lat = model.free_run_latent(&[0.0], 50);
        let coding = code(&model, &lat);
        assert_eq!(coding.sequence.len(), 50);
        assert!(coding.n_used() <= 2 && coding.regions[0].id == 1);
    }
}
