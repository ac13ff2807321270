//! PROSE's metrics, as the reference's `evaluate.py` defines them, plus oplab's additions.
//!
//! - data: relative L2 `√(Σ(ŷ−y)² / (Σy² + 1e-6))` over the predicted window and the sample's
//!   real components, and the same over each half of the window;
//! - symbols: a decoded equation is *valid* when it parses into as many components as the true
//!   system has and is finite at 50 points `u ~ U[−5, 5]^D` (drawn per sample); its *expression
//!   error* is the relative L2 of `f̂` against `f` over those points (mean over valid outputs);
//! - additions: exact skeleton match, the share with expression error ≤ τ, re-integration of the
//!   decoded equation from the initial state.

use oplab_solvers::ode::{solve, Method, SolveOptions};
use oplab_solvers::symbolic::tokens::encode_system_skeleton;
use oplab_solvers::symbolic::{parse_system, Expr};
use oplab_solvers::systems::CompiledRhs;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The reference's guard in the relative errors.
pub const EPS: f64 = 1e-6;
/// Points the decoded right-hand side is compared at.
pub const N_POINTS: usize = 50;
/// Half-width of the box of those points.
pub const POINT_BOX: f64 = 5.0;

/// Relative L2 errors of one predicted window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowErrors {
    /// Over the whole window.
    pub whole: f64,
    /// Over its first half (`n_query / 2` times).
    pub first_half: f64,
    /// Over its second half.
    pub second_half: f64,
}

/// Relative L2 errors of `pred` against `target` (both `n_query × max_dim`, row-major) over the
/// first `dim` components.
pub fn window_errors(pred: &[f32], target: &[f32], max_dim: usize, dim: usize) -> WindowErrors {
    let n_query = target.len() / max_dim;
    let half = n_query / 2;
    let (mut diff, mut norm) = ([0.0f64; 2], [0.0f64; 2]);
    for k in 0..n_query {
        let h = usize::from(k >= half);
        for j in 0..dim {
            let (p, y) = (pred[k * max_dim + j] as f64, target[k * max_dim + j] as f64);
            diff[h] += (p - y) * (p - y);
            norm[h] += y * y;
        }
    }
    let rel = |d: f64, n: f64| (d / (n + EPS)).sqrt();
    WindowErrors { whole: rel(diff[0] + diff[1], norm[0] + norm[1]), first_half: rel(diff[0], norm[0]), second_half: rel(diff[1], norm[1]) }
}

/// The comparison points of one sample: `N_POINTS × dim` values uniform in `[−5, 5]`, drawn
/// from a stream keyed by the sample's index in its file (the same points for every model).
pub fn comparison_points(sample: u64, dim: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x9e37_79b9_7f4a_7c15 ^ sample);
    (0..N_POINTS * dim).map(|_| rng.random_range(-POINT_BOX..POINT_BOX)).collect()
}

/// Values of `exprs` at `points` (`n × dim`), `n × exprs.len()`.
fn values_at(exprs: &[Expr], points: &[f64], dim: usize) -> Vec<f64> {
    points.chunks_exact(dim).flat_map(|u| exprs.iter().map(move |e| e.eval(u, &[]))).collect()
}

/// What a decoded equation is worth against the true one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolicScore {
    /// Parses to the true number of components and is finite at the comparison points.
    pub valid: bool,
    /// Relative L2 of `f̂` against `f` at the comparison points (valid outputs only).
    pub expression_error: Option<f64>,
    /// The decoded skeleton equals the true one.
    pub skeleton_match: bool,
}

/// Scores the decoded `words` against the true right-hand side `truth` at `points`
/// ([`comparison_points`]).
pub fn score_symbols<S: AsRef<str>>(words: &[S], truth: &[Expr], points: &[f64]) -> SymbolicScore {
    let dim = truth.len();
    let invalid = SymbolicScore { valid: false, expression_error: None, skeleton_match: false };
    let Ok(decoded) = parse_system(words) else {
        return invalid;
    };
    if decoded.len() != dim {
        return invalid;
    }
    let skeleton_match = encode_system_skeleton(&decoded) == encode_system_skeleton(truth);
    let f_hat = values_at(&decoded, points, dim);
    if !f_hat.iter().all(|v| v.is_finite()) {
        return SymbolicScore { skeleton_match, ..invalid };
    }
    let f = values_at(truth, points, dim);
    let diff: f64 = f_hat.iter().zip(&f).map(|(a, b)| (a - b) * (a - b)).sum();
    let norm: f64 = f.iter().map(|v| v * v).sum();
    SymbolicScore { valid: true, expression_error: Some((diff / (norm + EPS)).sqrt()), skeleton_match }
}

/// The decoded equation integrated from `u0` to `times` (rosenbrock23, rtol 1e-4, atol 1e-6,
/// the reference's tolerances for its BDF re-integration), `times.len() × dim`; `None` when it
/// does not parse to `dim` components, does not compile or the solve fails.
pub fn reintegrate<S: AsRef<str>>(words: &[S], u0: &[f64], times: &[f64]) -> Option<Vec<f64>> {
    let dim = u0.len();
    let exprs = parse_system(words).ok()?;
    if exprs.len() != dim || exprs.iter().any(|e| e.n_vars() > dim || e.n_params() > 0) {
        return None;
    }
    let rhs = CompiledRhs::new(&exprs, dim, 0).ok()?;
    let (out, _) = solve(Method::Rosenbrock23, &rhs, &[], 0.0, u0, times, &SolveOptions::with_tolerances(1e-4, 1e-6)).ok()?;
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// The "hold the last input value" forecast: the state at the last input time repeated over the
/// window, `n_query × max_dim`.
pub fn hold_last(last_input: &[f32], n_query: usize) -> Vec<f32> {
    (0..n_query).flat_map(|_| last_input.iter().copied()).collect()
}

/// Share of `errors` (one per sample, `None` = invalid) at most `tau`.
pub fn accuracy_at(errors: &[Option<f64>], tau: f64) -> f64 {
    if errors.is_empty() {
        return 0.0;
    }
    errors.iter().filter(|e| e.is_some_and(|v| v <= tau)).count() as f64 / errors.len() as f64
}

/// Mean of the values (NaN for none).
pub fn mean(v: impl IntoIterator<Item = f64>) -> f64 {
    let (s, n) = v.into_iter().fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oplab_solvers::symbolic::{encode_system, parse_system_str};

    fn lorenz() -> Vec<Expr> {
        parse_system_str("add mul + N100 E-1 u_1 mul - N100 E-1 u_0 | sub sub mul + N280 E-1 u_0 mul u_0 u_2 u_1 | add mul u_0 u_1 mul - N267 E-2 u_2").unwrap()
    }

    #[test]
    fn a_perfect_prediction_scores_zero_error_and_full_validity() {
        let truth = lorenz();
        let words = encode_system(&truth).unwrap();
        let s = score_symbols(&words, &truth, &comparison_points(7, 3));
        assert_eq!(s, SymbolicScore { valid: true, expression_error: Some(0.0), skeleton_match: true });
        assert_eq!(accuracy_at(&[s.expression_error], 0.01), 1.0);
        let y: Vec<f32> = (0..128 * 3).map(|k| (k as f32).cos()).collect();
        let e = window_errors(&y, &y, 3, 3);
        assert_eq!((e.whole, e.first_half, e.second_half), (0.0, 0.0, 0.0));
    }

    #[test]
    fn wrong_component_counts_unparsable_and_non_finite_outputs_are_invalid() {
        let truth = lorenz();
        let points = comparison_points(1, 3);
        let two = "add u_0 u_1 | u_2";
        assert!(!score_symbols(&two.split(' ').collect::<Vec<_>>(), &truth, &points).valid);
        assert!(!score_symbols(&["add", "u_0"], &truth, &points).valid);
        let div = "div u_0 0 | u_1 | u_2";
        // `0` is a token the vocabulary has; u_0 / 0 is not finite.
        assert!(!score_symbols(&div.split(' ').collect::<Vec<_>>(), &truth, &points).valid);
        let placeholder = "<PLACEHOLDER> | u_1 | u_2";
        assert!(!score_symbols(&placeholder.split(' ').collect::<Vec<_>>(), &truth, &points).valid);
        assert_eq!(accuracy_at(&[None, Some(0.02), Some(0.001)], 0.01), 1.0 / 3.0);
    }

    #[test]
    fn a_wrong_constant_keeps_the_skeleton_and_costs_its_relative_error() {
        let truth = parse_system_str("mul + N200 E-2 u_0").unwrap();
        let words: Vec<&str> = "mul + N220 E-2 u_0".split(' ').collect();
        let s = score_symbols(&words, &truth, &comparison_points(3, 1));
        assert!(s.valid && s.skeleton_match);
        assert!((s.expression_error.unwrap() - 0.1).abs() < 1e-6, "{s:?}");
    }

    #[test]
    fn window_errors_split_the_halves() {
        let target = vec![1.0f32; 4 * 2];
        let mut pred = target.clone();
        pred[4] = 2.0; // second half, component 0
        let e = window_errors(&pred, &target, 2, 1);
        assert_eq!(e.first_half, 0.0);
        assert!((e.second_half - (1.0 / (2.0 + EPS)).sqrt()).abs() < 1e-12);
        assert!((e.whole - (1.0 / (4.0 + EPS)).sqrt()).abs() < 1e-12);
        assert_eq!(hold_last(&[1.0, 2.0], 2), vec![1.0, 2.0, 1.0, 2.0]);
    }

    #[test]
    fn reintegration_of_the_true_equation_matches_its_solution() {
        // u' = -u: u(t) = e^{-t}.
        let words: Vec<&str> = "mul - N100 E-2 u_0".split(' ').collect();
        let times = [0.5, 1.0, 2.0];
        let out = reintegrate(&words, &[1.0], &times).unwrap();
        for (v, t) in out.iter().zip(times) {
            assert!((v - (-t).exp()).abs() < 1e-3, "{v} at {t}");
        }
        assert!(reintegrate(&["add", "u_0"], &[1.0], &times).is_none());
        assert!(reintegrate(&["u_1"], &[1.0], &times).is_none());
    }

    /// Issue test 4 (random half): 10k random token strings from the vocabulary are invalid
    /// against a 3-component system and never panic; any that parse re-encode to an equivalent
    /// expression.
    #[test]
    fn random_token_strings_are_invalid_and_never_panic() {
        use oplab_solvers::symbolic::prose_vocabulary;
        let vocab = prose_vocabulary(3);
        let truth = lorenz();
        let points = comparison_points(0, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut parsed = 0;
        for _ in 0..10_000 {
            let len = rng.random_range(1..40);
            let words: Vec<&str> = (0..len).map(|_| vocab[rng.random_range(0..vocab.len())].as_str()).collect();
            let score = score_symbols(&words, &truth, &points);
            assert!(!score.valid, "{words:?}");
            if let Ok(exprs) = parse_system(&words) {
                parsed += 1;
                if let Ok(again) = encode_system(&exprs) {
                    let back = parse_system(&again).unwrap();
                    assert_eq!(encode_system(&back).unwrap(), again, "{words:?}");
                }
            }
            assert!(reintegrate(&words, &[1.0, 0.0, 0.0], &[0.1]).is_none() || parse_system(&words).is_ok());
        }
        eprintln!("{parsed} of 10000 random strings parse");
    }
}
