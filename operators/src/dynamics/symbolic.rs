//! Symbolic coding of an AL-RNN: which linear subregion each state of a trajectory lies in,
//! how often each is used, and the fixed point and stability of each subregion's affine map.
//!
//! In subregion `D` (a 0/1 diagonal marking the positive ReLU units) the map is affine,
//! `z ↦ (diag(A) + W D_Φ) z + h` with `D_Φ = diag(1, …, 1, d_1, …, d_P)`, so its fixed point is
//! `z* = (I − diag(A) − W D_Φ)⁻¹ h` and its stability is the spectral radius of
//! `diag(A) + W D_Φ` (`evaluate.jl: calc_FP` in the reference).

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
    let fixed_point = solve(&mut lhs, model.h().to_vec(), m);
    let fixed_point_is_real = fixed_point.as_ref().is_some_and(|z| model.region(z) == id);
    let spectral_radius = spectral_radius(&jac, m);
    Subregion { id, steps, fixed_point, fixed_point_is_real, spectral_radius, stable: spectral_radius < 1.0 }
}

/// Solves `a x = b` (a: row-major n×n, overwritten) by Gaussian elimination with partial
/// pivoting; `None` when `a` is numerically singular.
pub fn solve(a: &mut [f64], mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    let scale = a.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return None;
    }
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[piv * n + col].abs() <= 1e-13 * scale {
            return None;
        }
        if piv != col {
            for c in 0..n {
                a.swap(piv * n + c, col * n + c);
            }
            b.swap(piv, col);
        }
        for r in col + 1..n {
            let f = a[r * n + col] / a[col * n + col];
            if f != 0.0 {
                for c in col..n {
                    a[r * n + c] -= f * a[col * n + c];
                }
                b[r] -= f * b[col];
            }
        }
    }
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|c| a[r * n + c] * b[c]).sum();
        b[r] = (b[r] - s) / a[r * n + r];
    }
    Some(b)
}

/// Spectral radius of a real n×n matrix by Gelfand's formula `ρ = lim ‖J^k‖^{1/k}`, evaluated
/// at `k = 2^60` by repeated squaring with rescaling (no eigen-decomposition needed; handles
/// complex pairs and defective matrices, unlike power iteration). Relative accuracy is far
/// better than needed to tell a stable region (ρ < 1) from an unstable one.
pub fn spectral_radius(j: &[f64], n: usize) -> f64 {
    let frob = |m: &[f64]| m.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut b = j.to_vec();
    let s0 = frob(&b);
    if s0 == 0.0 || !s0.is_finite() {
        return if s0 == 0.0 { 0.0 } else { f64::INFINITY };
    }
    b.iter_mut().for_each(|v| *v /= s0);
    // log ‖J^{2^k}‖ ≈ 2^k log ρ; track c_k = log of the scale stripped off so far.
    let mut c = s0.ln();
    let mut power = 1.0f64;
    let mut sq = vec![0.0; n * n];
    for _ in 0..60 {
        sq.iter_mut().for_each(|v| *v = 0.0);
        for r in 0..n {
            for k in 0..n {
                let v = b[r * n + k];
                if v != 0.0 {
                    for col in 0..n {
                        sq[r * n + col] += v * b[k * n + col];
                    }
                }
            }
        }
        let s = frob(&sq);
        if s == 0.0 {
            return 0.0;
        }
        c = 2.0 * c + s.ln();
        power *= 2.0;
        for (d, v) in b.iter_mut().zip(&sq) {
            *d = v / s;
        }
    }
    (c / power).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamics::model::AlrnnShape;

    #[test]
    fn spectral_radius_of_known_matrices() {
        // Rotation by 30° scaled by 0.9: complex pair of modulus 0.9 (power iteration fails here).
        let (c, s) = (0.9 * (0.5f64).cos(), 0.9 * (0.5f64).sin());
        assert!((spectral_radius(&[c, -s, s, c], 2) - 0.9).abs() < 1e-6);
        // Triangular with eigenvalues 1.2 and -0.5: defective-ish, non-normal.
        assert!((spectral_radius(&[1.2, 5.0, 0.0, -0.5], 2) - 1.2).abs() < 1e-6);
        assert_eq!(spectral_radius(&[0.0, 1.0, 0.0, 0.0], 2), 0.0, "nilpotent");
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
