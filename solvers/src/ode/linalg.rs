//! Dense LU with partial pivoting on caller-owned buffers: the Rosenbrock method's small
//! `dim × dim` systems, one factorisation and three solves per step attempt, no allocation.
//!
//! Hand-written rather than taken from faer because at these sizes the library is slower in
//! this hot loop. Factorisation plus three solves, best of 301 short windows on a 2-core Xeon
//! (`cargo test --release -p oplab-solvers --lib lu_timing -- --ignored --nocapture`;
//! γ = 0.003 is W near the identity as on Lorenz-63 steps, γ = 0.05 swaps rows):
//!
//! | n | γ | hand-written | faer `lu_in_place` + `solve_in_place`, preallocated | faer `partial_piv_lu` |
//! |---|---|---|---|---|
//! | 2 | 0.003 | 38 ns | 164 ns | 880 ns |
//! | 3 | 0.003 | 68 ns | 210 ns | 900 ns |
//! | 3 | 0.05 | 78 ns | 227 ns | 850 ns |
//! | 4 | 0.05 | 132 ns | 287 ns | 970 ns |
//! | 6 | 0.05 | 280 ns | 670 ns | 1420 ns |
//! | 10 | 0.05 | 790 ns | 1335 ns | 2040 ns |
//!
//! faer on column-major storage times the same. A whole step attempt of Rosenbrock 2(3) on
//! Lorenz-63 (3-D, like every catalogue system) takes 234 ns with this kernel, so faer's
//! in-place kernels would add about 60 % to it.
//! nalgebra 0.33, measured the same way before it was dropped as an unused dependency, was
//! slower too at n = 3 (`Matrix3::lu` 92 ns, `DMatrix::lu` 101 ns, the latter allocating per
//! factorisation); it only draws level at n ≥ 8.

/// Factor the row-major `n × n` matrix `a` in place; `piv[k]` is the row swapped into `k`.
/// Returns `false` if a pivot is zero or not finite (singular to working precision).
pub(crate) fn lu_factor(a: &mut [f64], n: usize, piv: &mut [usize]) -> bool {
    for k in 0..n {
        let mut p = k;
        let mut best = a[k * n + k].abs();
        for i in k + 1..n {
            let v = a[i * n + k].abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        if best == 0.0 || !best.is_finite() {
            return false;
        }
        piv[k] = p;
        if p != k {
            for j in 0..n {
                a.swap(k * n + j, p * n + j);
            }
        }
        let inv = 1.0 / a[k * n + k];
        for i in k + 1..n {
            let l = a[i * n + k] * inv;
            a[i * n + k] = l;
            if l != 0.0 {
                for j in k + 1..n {
                    a[i * n + j] -= l * a[k * n + j];
                }
            }
        }
    }
    true
}

/// Solve `LU x = P b` in place (`b` becomes `x`) with factors from [`lu_factor`].
pub(crate) fn lu_solve(lu: &[f64], n: usize, piv: &[usize], b: &mut [f64]) {
    for k in 0..n {
        b.swap(k, piv[k]);
    }
    for i in 1..n {
        let mut s = b[i];
        for j in 0..i {
            s -= lu[i * n + j] * b[j];
        }
        b[i] = s;
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for j in i + 1..n {
            s -= lu[i * n + j] * b[j];
        }
        b[i] = s / lu[i * n + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::linalg::solvers::{DenseSolveCore, Solve};
    use faer::{Mat, MatRef};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `W = I − γ J` for a random `J` with entries in [−s, s]: the Rosenbrock matrix shape.
    fn rosenbrock_matrix(n: usize, gamma: f64, s: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let mut w: Vec<f64> = (0..n * n).map(|_| -gamma * rng.random_range(-s..=s)).collect();
        (0..n).for_each(|i| w[i * n + i] += 1.0);
        w
    }

    #[test]
    fn solves_match_residual_and_faer() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for n in 1..=12 {
            for _ in 0..50 {
                // γ up to 2 with J entries up to 10: far from the identity, pivoting matters.
                let gamma = rng.random_range(0.0..2.0);
                let a = rosenbrock_matrix(n, gamma, 10.0, &mut rng);
                let b: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
                let mut lu = a.clone();
                let mut piv = vec![0; n];
                assert!(lu_factor(&mut lu, n, &mut piv));
                let mut x = b.clone();
                lu_solve(&lu, n, &piv, &mut x);
                let am = MatRef::from_row_major_slice(&a, n, n);
                let norm_a = am.norm_max();
                let norm_x = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for i in 0..n {
                    let r: f64 = (0..n).map(|j| a[i * n + j] * x[j]).sum::<f64>() - b[i];
                    assert!(r.abs() <= 1e-13 * n as f64 * norm_a * norm_x.max(1.0), "n={n} residual {r:e}");
                }
                let xf = am.partial_piv_lu().solve(Mat::from_fn(n, 1, |i, _| b[i]));
                let cond = am.partial_piv_lu().inverse().norm_max() * norm_a;
                for i in 0..n {
                    let d = (x[i] - xf[(i, 0)]).abs();
                    assert!(d <= 1e-14 * n as f64 * cond * norm_x.max(1.0), "n={n} x={x:?} faer={xf:?}");
                }
            }
        }
    }

    #[test]
    fn singular_and_non_finite_matrices_are_refused() {
        let mut piv = [0; 3];
        // A zero column leaves an exactly zero pivot whatever the row order.
        let mut z = [1.0, 2.0, 0.0, 2.0, 4.0, 0.0, 0.0, 0.0, 0.0];
        assert!(!lu_factor(&mut z, 3, &mut piv), "zero column");
        let mut a = [1.0, 2.0, 3.0, 4.0, f64::NAN, 6.0, 5.0, 7.0, 9.0];
        assert!(!lu_factor(&mut a, 3, &mut piv), "NaN entry");
        let mut inf = [f64::INFINITY, 0.0, 0.0, 1.0];
        assert!(!lu_factor(&mut inf, 2, &mut piv[..2]), "infinite pivot");
    }

    /// One Rosenbrock step's linear algebra (factor `W`, three solves) timed for the hand-written
    /// kernel and for faer, on caller-owned buffers as in the integrator. Timing only: run with
    /// `cargo test --release -p oplab-solvers --lib lu_timing -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing, not a check"]
    fn lu_timing() {
        use faer::dyn_stack::{MemBuffer, MemStack};
        use faer::linalg::lu::partial_pivoting::{factor, solve};
        use faer::prelude::{Reborrow, ReborrowMut};
        use faer::{MatMut, Par};
        use std::hint::black_box;
        use std::time::Instant;
        const BATCH: usize = 256;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // γ = h·d: 0.003 is a step of Lorenz-63 at rtol 1e-6 (W near the identity, no row
        // swaps); 0.05 puts W far from it, so that rows are swapped as on stiff steps.
        for (n, gamma) in [2, 3, 4, 6, 8, 10].into_iter().flat_map(|n| [(n, 0.003), (n, 0.05)]) {
            let mats: Vec<Vec<f64>> = (0..BATCH).map(|_| rosenbrock_matrix(n, gamma, 30.0, &mut rng)).collect();
            let rhs: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            // Short windows, best of many: on a shared machine the minimum over windows shorter
            // than a scheduler slice is the undisturbed time.
            let reps = 40 / n;
            let best = |f: &mut dyn FnMut()| {
                (0..301)
                    .map(|_| {
                        let t = Instant::now();
                        for _ in 0..reps {
                            f();
                        }
                        t.elapsed().as_secs_f64() * 1e9 / (reps * BATCH) as f64
                    })
                    .fold(f64::INFINITY, f64::min)
            };
            let mut w = vec![0.0; n * n];
            let mut piv = vec![0; n];
            let mut b = vec![0.0; n];
            let hand = best(&mut || {
                for m in &mats {
                    w.copy_from_slice(m);
                    black_box(lu_factor(&mut w, n, &mut piv));
                    for _ in 0..3 {
                        b.copy_from_slice(&rhs);
                        lu_solve(&w, n, &piv, &mut b);
                        black_box(&b);
                    }
                }
            });
            // faer's in-place kernels with preallocated permutation and scratch memory.
            let (mut fwd, mut bwd) = (vec![0usize; n], vec![0usize; n]);
            let mut mem = MemBuffer::new(
                factor::lu_in_place_scratch::<usize, f64>(n, n, Par::Seq, Default::default()).or(solve::solve_in_place_scratch::<usize, f64>(n, 1, Par::Seq)),
            );
            let faer_in_place = best(&mut || {
                for m in &mats {
                    w.copy_from_slice(m);
                    let mut wm = MatMut::from_row_major_slice_mut(&mut w, n, n);
                    let (_, perm) = factor::lu_in_place(wm.rb_mut(), &mut fwd, &mut bwd, Par::Seq, MemStack::new(&mut mem), Default::default());
                    let lu = wm.rb();
                    for _ in 0..3 {
                        b.copy_from_slice(&rhs);
                        let bm = MatMut::from_column_major_slice_mut(&mut b, n, 1);
                        solve::solve_in_place(lu, lu, perm, bm, Par::Seq, MemStack::new(&mut mem));
                        black_box(&b);
                    }
                }
            });
            // faer's high-level API (allocates the factors per call).
            let faer_api = best(&mut || {
                for m in &mats {
                    let lu = MatRef::from_row_major_slice(m, n, n).partial_piv_lu();
                    for _ in 0..3 {
                        let x = lu.solve(MatRef::from_column_major_slice(&rhs, n, 1));
                        black_box(&x);
                    }
                }
            });
            if n == 3 && gamma == 0.003 {
                // The whole step for scale: Rosenbrock 2(3) on Lorenz-63 (symbolic Jacobian).
                let sys = crate::systems::by_name("lorenz").unwrap();
                let (rhs, params) = (sys.compile(), sys.nominal_params());
                let t_eval: Vec<f64> = (0..=20).map(|k| k as f64 * 0.1).collect();
                let opts = crate::ode::SolveOptions::with_tolerances(1e-6, 1e-8);
                let mut integ = crate::ode::Rosenbrock23::new(3);
                let mut out = vec![0.0; t_eval.len() * 3];
                let mut per_step = f64::INFINITY;
                for _ in 0..301 {
                    let t = Instant::now();
                    let st = integ.solve(&rhs, &params, 0.0, &[1.0, 1.0, 1.0], &t_eval, &opts, &mut out).unwrap();
                    per_step = per_step.min(t.elapsed().as_secs_f64() * 1e9 / (st.accepted + st.rejected) as f64);
                }
                println!("Rosenbrock 2(3) on Lorenz-63: {per_step:.1} ns per step attempt");
            }
            println!("n = {n:2}, γ = {gamma}: hand-written {hand:7.1} ns, faer in place {faer_in_place:7.1} ns, faer API {faer_api:7.1} ns");
        }
    }
}
