//! Geometric-multigrid-preconditioned conjugate gradients for the SPD 5-point operator.
//!
//! Levels halve the node grid while the interval count stays even (421 → 211 → 106 nodes); the
//! coarsest level is solved by a sparse Cholesky factorisation whose symbolic analysis is done
//! once. Coarse operators are rediscretised from a full-weighting average of the coefficient.
//! The V-cycle uses red–black Gauss–Seidel, red→black before and black→red after the coarse
//! correction, with full weighting = ¼ · bilinear interpolationᵀ, so the cycle is a symmetric
//! positive definite preconditioner and plain PCG applies.

use super::factor::{Ordering, SpdFactorizer};
use super::stencil::FivePointPattern;
use std::sync::Arc;

/// Grids at or below this many nodes per side are solved directly.
const COARSEST_NODES: usize = 129;
/// Smoothing sweep pairs before and after the coarse correction.
const SMOOTHING: usize = 2;

/// One level: face coefficients scaled by 1/h², on the full `s × s` node grid.
struct Level {
    s: usize,
    /// `east[i*s+j]`: face between (i,j) and (i+1,j), / h².
    east: Vec<f64>,
    /// `north[i*s+j]`: face between (i,j) and (i,j+1), / h².
    north: Vec<f64>,
    /// Sum of the four faces.
    diag: Vec<f64>,
}

impl Level {
    fn new(coeff: &[f64], s: usize) -> Self {
        let inv_h2 = ((s - 1) * (s - 1)) as f64;
        let mut east = vec![0.0; s * s];
        let mut north = vec![0.0; s * s];
        for i in 0..s {
            for j in 0..s {
                if i + 1 < s {
                    east[i * s + j] = 0.5 * (coeff[i * s + j] + coeff[(i + 1) * s + j]) * inv_h2;
                }
                if j + 1 < s {
                    north[i * s + j] = 0.5 * (coeff[i * s + j] + coeff[i * s + j + 1]) * inv_h2;
                }
            }
        }
        let mut diag = vec![0.0; s * s];
        for i in 1..s - 1 {
            for j in 1..s - 1 {
                let k = i * s + j;
                diag[k] = east[k] + east[k - s] + north[k] + north[k - 1];
            }
        }
        Self { s, east, north, diag }
    }

    /// `out = A u` at interior nodes (boundary entries zero).
    fn apply(&self, u: &[f64], out: &mut [f64]) {
        let s = self.s;
        for i in 1..s - 1 {
            for j in 1..s - 1 {
                let k = i * s + j;
                out[k] = self.diag[k] * u[k] - self.east[k] * u[k + s] - self.east[k - s] * u[k - s] - self.north[k] * u[k + 1] - self.north[k - 1] * u[k - 1];
            }
        }
    }

    /// One Gauss–Seidel sweep over the nodes with `(i + j) % 2 == colour`.
    fn sweep(&self, u: &mut [f64], f: &[f64], colour: usize) {
        let s = self.s;
        for i in 1..s - 1 {
            let start = 1 + (i + 1 + colour) % 2;
            for j in (start..s - 1).step_by(2) {
                let k = i * s + j;
                let sum = f[k] + self.east[k] * u[k + s] + self.east[k - s] * u[k - s] + self.north[k] * u[k + 1] + self.north[k - 1] * u[k - 1];
                u[k] = sum / self.diag[k];
            }
        }
    }
}

/// Full-weighting average of node values onto the coarse grid (boundary nodes: injection).
fn coarsen(fine: &[f64], s: usize, out: &mut [f64]) {
    let c = (s - 1) / 2 + 1;
    for ci in 0..c {
        for cj in 0..c {
            let (i, j) = (2 * ci, 2 * cj);
            out[ci * c + cj] = if ci == 0 || cj == 0 || ci == c - 1 || cj == c - 1 {
                fine[i * s + j]
            } else {
                let at = |di: isize, dj: isize| fine[((i as isize + di) as usize) * s + (j as isize + dj) as usize];
                (4.0 * at(0, 0) + 2.0 * (at(1, 0) + at(-1, 0) + at(0, 1) + at(0, -1)) + at(1, 1) + at(1, -1) + at(-1, 1) + at(-1, -1)) / 16.0
            };
        }
    }
}

/// `fine += P coarse` (bilinear interpolation), interior nodes only.
fn prolong_add(coarse: &[f64], s: usize, fine: &mut [f64]) {
    let c = (s - 1) / 2 + 1;
    for i in 1..s - 1 {
        for j in 1..s - 1 {
            let (ci, cj) = (i / 2, j / 2);
            let v = match (i % 2, j % 2) {
                (0, 0) => coarse[ci * c + cj],
                (1, 0) => 0.5 * (coarse[ci * c + cj] + coarse[(ci + 1) * c + cj]),
                (0, _) => 0.5 * (coarse[ci * c + cj] + coarse[ci * c + cj + 1]),
                _ => 0.25 * (coarse[ci * c + cj] + coarse[(ci + 1) * c + cj] + coarse[ci * c + cj + 1] + coarse[(ci + 1) * c + cj + 1]),
            };
            fine[i * s + j] += v;
        }
    }
}

/// Grid sides of the hierarchy for a fine side `s`, finest first.
fn hierarchy(s: usize) -> Vec<usize> {
    let mut sides = vec![s];
    let mut cur = s;
    while cur > COARSEST_NODES && (cur - 1).is_multiple_of(2) {
        cur = (cur - 1) / 2 + 1;
        sides.push(cur);
    }
    sides
}

/// Multigrid-preconditioned CG for one fine grid size; the coarsest-level Cholesky analysis is
/// done once here.
#[derive(Debug, Clone)]
pub struct MultigridPcg {
    sides: Vec<usize>,
    coarse: SpdFactorizer,
}

/// Outcome of a PCG solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PcgReport {
    /// Iterations taken.
    pub iterations: usize,
    /// `‖f − A u‖₂ / ‖f‖₂` at exit (the recurrence's residual).
    pub relative_residual: f64,
}

impl MultigridPcg {
    /// Set up the hierarchy for `s × s` node grids.
    pub fn new(s: usize) -> Result<Self, String> {
        let sides = hierarchy(s);
        let coarse = SpdFactorizer::new(Arc::new(FivePointPattern::new(*sides.last().unwrap())), Ordering::Amd)?;
        Ok(Self { sides, coarse })
    }

    /// Nodes per side of every level, finest first.
    pub fn levels(&self) -> &[usize] {
        &self.sides
    }

    /// Solve `A u = f` (full-grid node arrays, `u = 0` on the boundary) to relative residual
    /// `tolerance`, in at most `max_iterations` PCG iterations.
    pub fn solve(&self, coeff: &[f64], forcing: &[f64], tolerance: f64, max_iterations: usize) -> Result<(Vec<f64>, PcgReport), String> {
        // Level operators from successively averaged coefficients.
        let mut levels = Vec::with_capacity(self.sides.len());
        let mut a = coeff.to_vec();
        for (l, &s) in self.sides.iter().enumerate() {
            levels.push(Level::new(&a, s));
            if l + 1 < self.sides.len() {
                let c = self.sides[l + 1];
                let mut next = vec![0.0; c * c];
                coarsen(&a, s, &mut next);
                a = next;
            }
        }
        let coarse_pattern = self.coarse.pattern();
        let coarse_factor = self.coarse.factor(&coarse_pattern.assemble(&a, None))?;
        let mut cycle = Cycle { levels: &levels, coarse: coarse_pattern, factor: &coarse_factor, work: Vec::new() };
        for &s in &self.sides {
            cycle.work.push(LevelWork { u: vec![0.0; s * s], f: vec![0.0; s * s], r: vec![0.0; s * s] });
        }

        let s = self.sides[0];
        let n = s * s;
        let mut f = vec![0.0; n];
        for i in 1..s - 1 {
            f[i * s + 1..i * s + s - 1].copy_from_slice(&forcing[i * s + 1..i * s + s - 1]);
        }
        let norm_f = dot(&f, &f).sqrt();
        let mut u = vec![0.0; n];
        if norm_f == 0.0 {
            return Ok((u, PcgReport { iterations: 0, relative_residual: 0.0 }));
        }
        let mut r = f.clone();
        let mut z = vec![0.0; n];
        cycle.precondition(&r, &mut z);
        let mut p = z.clone();
        let mut ap = vec![0.0; n];
        let mut rz = dot(&r, &z);
        for it in 1..=max_iterations {
            levels[0].apply(&p, &mut ap);
            let alpha = rz / dot(&p, &ap);
            for k in 0..n {
                u[k] += alpha * p[k];
                r[k] -= alpha * ap[k];
            }
            let rel = dot(&r, &r).sqrt() / norm_f;
            if !rel.is_finite() {
                return Err("PCG produced a non-finite residual".into());
            }
            if rel <= tolerance {
                return Ok((u, PcgReport { iterations: it, relative_residual: rel }));
            }
            cycle.precondition(&r, &mut z);
            let rz_next = dot(&r, &z);
            let beta = rz_next / rz;
            rz = rz_next;
            for k in 0..n {
                p[k] = z[k] + beta * p[k];
            }
        }
        Err(format!("PCG did not reach the relative residual {tolerance:e} in {max_iterations} iterations"))
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

struct LevelWork {
    u: Vec<f64>,
    f: Vec<f64>,
    r: Vec<f64>,
}

struct Cycle<'a> {
    levels: &'a [Level],
    coarse: &'a FivePointPattern,
    factor: &'a super::factor::SpdFactor,
    work: Vec<LevelWork>,
}

impl Cycle<'_> {
    /// `z = V-cycle(r)` with a zero initial guess.
    fn precondition(&mut self, r: &[f64], z: &mut [f64]) {
        self.work[0].f.copy_from_slice(r);
        self.v_cycle(0);
        z.copy_from_slice(&self.work[0].u);
    }

    fn v_cycle(&mut self, l: usize) {
        let level = &self.levels[l];
        let s = level.s;
        if l + 1 == self.levels.len() {
            let rhs = self.coarse.restrict_to_interior(&self.work[l].f);
            let mut x = rhs;
            self.factor.solve(&mut x);
            self.work[l].u = self.coarse.extend_by_zero(&x);
            return;
        }
        {
            let w = &mut self.work[l];
            w.u.iter_mut().for_each(|v| *v = 0.0);
            for _ in 0..SMOOTHING {
                level.sweep(&mut w.u, &w.f, 0);
                level.sweep(&mut w.u, &w.f, 1);
            }
            level.apply(&w.u, &mut w.r);
            for i in 1..s - 1 {
                for j in 1..s - 1 {
                    let k = i * s + j;
                    w.r[k] = w.f[k] - w.r[k];
                }
            }
        }
        let (fine, coarse) = self.work.split_at_mut(l + 1);
        coarsen(&fine[l].r, s, &mut coarse[0].f);
        self.v_cycle(l + 1);
        let (fine, coarse) = self.work.split_at_mut(l + 1);
        let w = &mut fine[l];
        prolong_add(&coarse[0].u, s, &mut w.u);
        for _ in 0..SMOOTHING {
            level.sweep(&mut w.u, &w.f, 1);
            level.sweep(&mut w.u, &w.f, 0);
        }
    }
}
