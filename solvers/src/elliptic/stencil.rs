//! The 5-point flux-form stencil on the interior of an `s × s` node grid.
//!
//! The operator is `L u = −∇·(a∇u) + q u` with homogeneous Dirichlet data, discretised on the
//! nodes `x_i = i h`, `h = 1/(s−1)`: only the `(s−2)²` interior nodes are unknowns. The flux
//! between two neighbouring nodes uses the arithmetic mean of `a` at those nodes, which keeps the
//! matrix symmetric and makes it positive definite whenever `a > 0` and `q ≥ 0`.
//!
//! The sparsity pattern does not depend on `a` or `q`, so it is built once per grid size; every
//! sample only refills the value array in the pattern's order.

/// Column-compressed (CSC) sparsity pattern of the interior 5-point operator, both triangles
/// stored, row indices sorted within each column.
#[derive(Debug, Clone)]
pub struct FivePointPattern {
    /// Nodes per side, boundary included.
    nodes_per_side: usize,
    /// Interior nodes per side, `s − 2`.
    interior: usize,
    /// `col_ptr[p]..col_ptr[p+1]` indexes the entries of column `p`.
    col_ptr: Vec<usize>,
    /// Row index of every stored entry.
    row_idx: Vec<usize>,
}

impl FivePointPattern {
    /// Pattern for the `s × s` node grid (`s ≥ 3`, so that at least one interior node exists).
    pub fn new(nodes_per_side: usize) -> Self {
        assert!(nodes_per_side >= 3, "checked by callers: s >= 3");
        let m = nodes_per_side - 2;
        let n = m * m;
        let mut col_ptr = Vec::with_capacity(n + 1);
        let mut row_idx = Vec::with_capacity(5 * n);
        col_ptr.push(0);
        for i in 0..m {
            for j in 0..m {
                let p = i * m + j;
                // Neighbours in increasing row order: west (i−1), south (j−1), self, north, east.
                if i > 0 {
                    row_idx.push(p - m);
                }
                if j > 0 {
                    row_idx.push(p - 1);
                }
                row_idx.push(p);
                if j + 1 < m {
                    row_idx.push(p + 1);
                }
                if i + 1 < m {
                    row_idx.push(p + m);
                }
                col_ptr.push(row_idx.len());
            }
        }
        Self { nodes_per_side, interior: m, col_ptr, row_idx }
    }

    /// Nodes per side `s`, boundary included.
    pub fn nodes_per_side(&self) -> usize {
        self.nodes_per_side
    }

    /// Number of unknowns, `(s − 2)²`.
    pub fn unknowns(&self) -> usize {
        self.interior * self.interior
    }

    /// Column pointers (length `unknowns + 1`).
    pub fn col_ptr(&self) -> &[usize] {
        &self.col_ptr
    }

    /// Row indices of the stored entries.
    pub fn row_idx(&self) -> &[usize] {
        &self.row_idx
    }

    /// Matrix values of `−∇·(a∇u) + q u` in this pattern's order.
    ///
    /// `coeff` and `reaction` are node values on the full `s × s` grid, row-major with x slow.
    /// `reaction = None` means `q = 0`. Slices are assumed to have length `s²` (callers check).
    pub fn assemble(&self, coeff: &[f64], reaction: Option<&[f64]>) -> Vec<f64> {
        let s = self.nodes_per_side;
        let m = self.interior;
        let inv_h2 = ((s - 1) * (s - 1)) as f64;
        let node = |i: usize, j: usize| coeff[i * s + j];
        let mut values = Vec::with_capacity(self.row_idx.len());
        for i in 0..m {
            for j in 0..m {
                // Grid indices of this unknown (shifted by the boundary layer).
                let (gi, gj) = (i + 1, j + 1);
                let here = node(gi, gj);
                let west = 0.5 * (here + node(gi - 1, gj));
                let east = 0.5 * (here + node(gi + 1, gj));
                let south = 0.5 * (here + node(gi, gj - 1));
                let north = 0.5 * (here + node(gi, gj + 1));
                let q = reaction.map_or(0.0, |r| r[gi * s + gj]);
                if i > 0 {
                    values.push(-west * inv_h2);
                }
                if j > 0 {
                    values.push(-south * inv_h2);
                }
                values.push((west + east + south + north) * inv_h2 + q);
                if j + 1 < m {
                    values.push(-north * inv_h2);
                }
                if i + 1 < m {
                    values.push(-east * inv_h2);
                }
            }
        }
        values
    }

    /// `y = A x` for the matrix with `values` in this pattern.
    pub fn multiply(&self, values: &[f64], x: &[f64], y: &mut [f64]) {
        y.iter_mut().for_each(|v| *v = 0.0);
        for (col, &xc) in x.iter().enumerate() {
            for k in self.col_ptr[col]..self.col_ptr[col + 1] {
                y[self.row_idx[k]] += values[k] * xc;
            }
        }
    }

    /// Relative residual `‖A x − b‖₂ / ‖b‖₂` (absolute when `b = 0`).
    pub fn relative_residual(&self, values: &[f64], x: &[f64], b: &[f64]) -> f64 {
        let mut ax = vec![0.0; x.len()];
        self.multiply(values, x, &mut ax);
        let r2: f64 = ax.iter().zip(b).map(|(a, b)| (a - b) * (a - b)).sum();
        let b2: f64 = b.iter().map(|v| v * v).sum();
        if b2 > 0.0 {
            (r2 / b2).sqrt()
        } else {
            r2.sqrt()
        }
    }

    /// Interior values of a full-grid node array, in unknown order.
    pub fn restrict_to_interior(&self, full: &[f64]) -> Vec<f64> {
        let s = self.nodes_per_side;
        let m = self.interior;
        let mut out = Vec::with_capacity(m * m);
        for i in 1..=m {
            out.extend_from_slice(&full[i * s + 1..i * s + 1 + m]);
        }
        out
    }

    /// Full-grid node array (zero on the boundary) from values at the unknowns.
    pub fn extend_by_zero(&self, interior: &[f64]) -> Vec<f64> {
        let s = self.nodes_per_side;
        let m = self.interior;
        let mut out = vec![0.0; s * s];
        for i in 0..m {
            out[(i + 1) * s + 1..(i + 1) * s + 1 + m].copy_from_slice(&interior[i * m..(i + 1) * m]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_symmetric_with_sorted_rows() {
        let p = FivePointPattern::new(6);
        let n = p.unknowns();
        let coeff: Vec<f64> = (0..36).map(|k| 1.0 + 0.1 * k as f64).collect();
        let vals = p.assemble(&coeff, None);
        let mut dense = vec![0.0; n * n];
        for c in 0..n {
            let rows = &p.row_idx()[p.col_ptr()[c]..p.col_ptr()[c + 1]];
            assert!(rows.windows(2).all(|w| w[0] < w[1]));
            for k in p.col_ptr()[c]..p.col_ptr()[c + 1] {
                dense[p.row_idx()[k] * n + c] = vals[k];
            }
        }
        for r in 0..n {
            for c in 0..n {
                assert_eq!(dense[r * n + c], dense[c * n + r]);
            }
        }
    }
}
