//! Dynamical-systems reconstruction metrics: the state-space divergence `D_stsp`, the Hellinger
//! distance of smoothed power spectra `D_H`, and the n-step prediction error.
//!
//! Series are row-major `T × N` f64 slices. Conventions (chosen so the numbers compare with the
//! reference's Python estimator, `alrnn_python/metrics.py`):
//! - `D_stsp` by binning for `N ≤ 10` (30 bins per dimension), by a Gaussian mixture otherwise
//!   (the reference's `decide_on_measure`).
//! - Binning range: [`Binning::Python`] (the default) spans `[min, max]` of the *true* series per
//!   dimension and, as the reference code does, drops every point whose bin index is 0 or
//!   `≥ bins` (so the lowest bin and the true maximum never count). [`Binning::Margin`] is the
//!   Julia convention: range `[min − 0.1σ, max + 0.1σ]`, only points outside it dropped.
//! - Histograms are turned into probabilities with Laplace smoothing α = 1e-5:
//!   `p_k = (c_k + α)/(Σc + α·bins^N)`, and `D_stsp = KL(p_true ‖ p_gen)`.
//! - `D_H`: per dimension, z-score, `|rfft|²`, Gaussian smoothing (σ = 20 bins, radius 4σ,
//!   scipy's `reflect` padding), negatives clipped, normalised to sum 1; then
//!   `H = √(1 − Σ√(p q))`, averaged over dimensions. Series of unequal length are compared on
//!   their common leading length.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};

use super::model::{normal, Alrnn, Real};

/// Metrics of one evaluation during training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlrnnEpoch {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Mean forced-prediction MSE over the epoch's batches.
    pub loss: f64,
    /// `D_stsp` of the free run against the training series (evaluation epochs; `None` when the
    /// free run diverged or was not evaluated): as trained on, or before its observation noise
    /// under `eval.select = "clean"`.
    pub dstsp: Option<f64>,
    /// `D_H` of the same free run.
    pub dh: Option<f64>,
    /// Prediction error on the same training series.
    pub pe: Option<f64>,
    /// Wall time of the epoch (including the evaluation).
    pub seconds: f64,
}

/// Laplace smoothing of the binned densities.
pub const LAPLACE_ALPHA: f64 = 1e-5;

/// Range convention of the binned `D_stsp` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Binning {
    /// `[min, max]` of the true data, bin 0 and overflow dropped (reference Python estimator).
    #[default]
    Python,
    /// `[min − 0.1σ, max + 0.1σ]`, nothing inside dropped (reference Julia estimator).
    Margin,
}

fn column_stats(x: &[f64], n: usize, d: usize) -> (f64, f64, f64, f64) {
    let t = x.len() / n;
    let (mut lo, mut hi, mut s, mut s2) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0);
    for r in 0..t {
        let v = x[r * n + d];
        lo = lo.min(v);
        hi = hi.max(v);
        s += v;
        s2 += v * v;
    }
    let mean = s / t.max(1) as f64;
    let var = (s2 / t.max(1) as f64 - mean * mean).max(0.0);
    (lo, hi, mean, var.sqrt())
}

/// Sorted occupied bin indices with counts, and the number of points that landed in a bin.
fn histogram(x: &[f64], n: usize, bins: usize, ranges: &[(f64, f64)], drop_first: bool) -> (Vec<(u64, f64)>, f64) {
    let mut idx: Vec<u64> = Vec::with_capacity(x.len() / n);
    'points: for p in x.chunks_exact(n) {
        let mut k: u64 = 0;
        for (d, &v) in p.iter().enumerate() {
            let (lo, hi) = ranges[d];
            if !v.is_finite() {
                continue 'points;
            }
            let c = ((v - lo) / (hi - lo) * bins as f64).floor();
            let min_ok = if drop_first { 1.0 } else { 0.0 };
            if !(c >= min_ok && c < bins as f64) {
                continue 'points;
            }
            k = k * bins as u64 + c as u64;
        }
        idx.push(k);
    }
    idx.sort_unstable();
    let total = idx.len() as f64;
    let mut out: Vec<(u64, f64)> = Vec::new();
    for k in idx {
        match out.last_mut() {
            Some((last, c)) if *last == k => *c += 1.0,
            _ => out.push((k, 1.0)),
        }
    }
    (out, total)
}

/// Binned `D_stsp = KL(p_true ‖ p_gen)` with `bins` bins per dimension. Returns `None` when a
/// histogram is empty (e.g. the generated series left the true range entirely or diverged).
pub fn dstsp_binned(truth: &[f64], gen: &[f64], n: usize, bins: usize, convention: Binning) -> Option<f64> {
    let ranges: Vec<(f64, f64)> = (0..n)
        .map(|d| {
            let (lo, hi, _, sd) = column_stats(truth, n, d);
            let (lo, hi) = match convention {
                Binning::Python => (lo, hi),
                Binning::Margin => (lo - 0.1 * sd, hi + 0.1 * sd),
            };
            if hi > lo {
                (lo, hi)
            } else {
                (lo - 0.5, lo + 0.5)
            }
        })
        .collect();
    let drop_first = convention == Binning::Python;
    let (ht, nt) = histogram(truth, n, bins, &ranges, drop_first);
    let (hg, ng) = histogram(gen, n, bins, &ranges, drop_first);
    if nt == 0.0 || ng == 0.0 {
        return None;
    }
    let k_total = (bins as f64).powi(n as i32);
    let zt = nt + LAPLACE_ALPHA * k_total;
    let zg = ng + LAPLACE_ALPHA * k_total;
    // Walk both sorted histograms together; bins empty in both contribute a closed form.
    let (mut i, mut j, mut kl, mut seen) = (0, 0, 0.0, 0.0);
    while i < ht.len() || j < hg.len() {
        let (kt, kg) = (ht.get(i).map(|e| e.0), hg.get(j).map(|e| e.0));
        let (ct, cg) = match (kt, kg) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
                (ht[i - 1].1, hg[j - 1].1)
            }
            (Some(a), Some(b)) if a < b => {
                i += 1;
                (ht[i - 1].1, 0.0)
            }
            (Some(_), None) => {
                i += 1;
                (ht[i - 1].1, 0.0)
            }
            _ => {
                j += 1;
                (0.0, hg[j - 1].1)
            }
        };
        let pt = (ct + LAPLACE_ALPHA) / zt;
        let pg = (cg + LAPLACE_ALPHA) / zg;
        kl += pt * (pt / pg).ln();
        seen += 1.0;
    }
    let pt0 = LAPLACE_ALPHA / zt;
    kl += (k_total - seen) * pt0 * (zg / zt).ln();
    Some(kl)
}

/// Gaussian-mixture `D_stsp` for high-dimensional series: one isotropic Gaussian of variance
/// `scaling` per point of the first `max_len` steps of each series; `KL(p_true ‖ p_gen)`
/// estimated by Monte Carlo with `samples` draws from the true mixture (seeded, deterministic).
pub fn dstsp_gmm(truth: &[f64], gen: &[f64], n: usize, scaling: f64, max_len: usize, samples: usize, seed: u64) -> Option<f64> {
    let t = &truth[..(truth.len() / n).min(max_len) * n];
    let g = &gen[..(gen.len() / n).min(max_len) * n];
    if t.is_empty() || g.is_empty() || !g.iter().all(|v| v.is_finite()) {
        return None;
    }
    let log_mix = |s: &[f64], centres: &[f64]| -> f64 {
        let k = centres.len() / n;
        let mut best = f64::NEG_INFINITY;
        let mut terms = Vec::with_capacity(k);
        for c in centres.chunks_exact(n) {
            let d2: f64 = c.iter().zip(s).map(|(a, b)| (a - b) * (a - b)).sum();
            let e = -d2 / (2.0 * scaling);
            best = best.max(e);
            terms.push(e);
        }
        best + terms.iter().map(|e| (e - best).exp()).sum::<f64>().ln() - (k as f64).ln()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let kt = t.len() / n;
    let sd = scaling.sqrt();
    let mut acc = 0.0;
    for _ in 0..samples {
        let i = rng.random_range(0..kt);
        let s: Vec<f64> = (0..n).map(|d| t[i * n + d] + sd * normal(&mut rng)).collect();
        acc += log_mix(&s, t) - log_mix(&s, g);
    }
    Some(acc / samples as f64)
}

/// Smoothed, normalised power spectrum of one z-scored signal (see the module docs).
pub fn power_spectrum(signal: &[f64], sigma: f64, fft: &Arc<dyn Fft<f64>>) -> Vec<f64> {
    let len = signal.len();
    let mean = signal.iter().sum::<f64>() / len as f64;
    let sd = (signal.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / len as f64).sqrt();
    let sd = if sd > 0.0 { sd } else { 1.0 };
    let mut buf: Vec<Complex<f64>> = signal.iter().map(|v| Complex::new((v - mean) / sd, 0.0)).collect();
    fft.process(&mut buf);
    let power: Vec<f64> = buf[..len / 2 + 1].iter().map(|c| c.norm_sqr()).collect();
    let mut smooth = gaussian_filter(&power, sigma);
    smooth.iter_mut().for_each(|v| *v = v.max(0.0));
    let total: f64 = smooth.iter().sum();
    if total > 0.0 {
        smooth.iter_mut().for_each(|v| *v /= total);
    }
    smooth
}

/// scipy's `gaussian_filter1d(x, sigma, mode="reflect", truncate=4.0)`.
pub fn gaussian_filter(x: &[f64], sigma: f64) -> Vec<f64> {
    if sigma <= 0.0 || x.is_empty() {
        return x.to_vec();
    }
    let r = (4.0 * sigma + 0.5) as i64;
    let mut w: Vec<f64> = (-r..=r).map(|k| (-(k * k) as f64 / (2.0 * sigma * sigma)).exp()).collect();
    let s: f64 = w.iter().sum();
    w.iter_mut().for_each(|v| *v /= s);
    let n = x.len() as i64;
    let reflect = |mut i: i64| -> usize {
        // Half-sample symmetric: (d c b a | a b c d | d c b a), repeated as needed.
        let period = 2 * n;
        i = i.rem_euclid(period);
        if i >= n {
            i = period - 1 - i;
        }
        i as usize
    };
    (0..n).map(|i| (-r..=r).zip(&w).map(|(k, wk)| wk * x[reflect(i + k)]).sum()).collect()
}

/// Hellinger distance `√(1 − Σ√(p q))` of two normalised spectra (clamped at 0).
pub fn hellinger(p: &[f64], q: &[f64]) -> f64 {
    let bc: f64 = p.iter().zip(q).map(|(a, b)| (a * b).sqrt()).sum();
    (1.0 - bc).max(0.0).sqrt()
}

/// `D_H`: mean over dimensions of the Hellinger distance of the smoothed power spectra.
/// Returns `None` when the generated series is not finite.
pub fn dh(truth: &[f64], gen: &[f64], n: usize, sigma: f64) -> Option<f64> {
    let len = (truth.len() / n).min(gen.len() / n);
    if len < 4 || !gen[..len * n].iter().all(|v| v.is_finite()) {
        return None;
    }
    let fft = FftPlanner::new().plan_fft_forward(len);
    let col = |x: &[f64], d: usize| -> Vec<f64> { (0..len).map(|t| x[t * n + d]).collect() };
    let total: f64 = (0..n).map(|d| hellinger(&power_spectrum(&col(truth, d), sigma, &fft), &power_spectrum(&col(gen, d), sigma, &fft))).sum();
    Some(total / n as f64)
}

/// `steps`-step prediction error: from every `stride`-th time point `t`, start at
/// `[x_t; L x_t]`, run `steps` steps, and average the squared error against `x_{t+steps}` over
/// start points and dimensions. The model runs in its own float type `F` on the series as `F`;
/// the errors are taken and summed in f64.
pub fn prediction_error<F: Real>(model: &Alrnn<F>, x: &[F], steps: usize, stride: usize) -> Option<f64> {
    let (m, n) = (model.shape.m, model.shape.n);
    let t = x.len() / n;
    if t <= steps {
        return None;
    }
    let (mut z, mut phi, mut next) = (vec![F::ZERO; m], vec![F::ZERO; m], vec![F::ZERO; m]);
    let (mut sum, mut count) = (0.0, 0usize);
    for start in (0..t - steps).step_by(stride.max(1)) {
        model.initial_state(&x[start * n..(start + 1) * n], &mut z);
        for _ in 0..steps {
            model.step(&z, &mut phi, &mut next);
            std::mem::swap(&mut z, &mut next);
        }
        let target = &x[(start + steps) * n..(start + steps + 1) * n];
        sum += z[..n].iter().zip(target).map(|(&a, &b)| (a.widen() - b.widen()) * (a.widen() - b.widen())).sum::<f64>();
        count += n;
    }
    let v = sum / count as f64;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(len: usize, shift: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..len * 3).map(|i| normal(&mut rng) + if i % 3 == 0 { shift } else { 0.0 }).collect()
    }

    #[test]
    fn dstsp_is_small_for_one_distribution_and_grows_with_a_shift() {
        let truth = cloud(100_000, 0.0, 1);
        for conv in [Binning::Python, Binning::Margin] {
            let same = dstsp_binned(&truth, &truth, 3, 30, conv).unwrap();
            assert!(same.abs() < 1e-9, "{conv:?}: KL(p‖p) = {same}");
            let other = dstsp_binned(&truth, &cloud(100_000, 0.0, 2), 3, 30, conv).unwrap();
            let shifted = dstsp_binned(&truth, &cloud(100_000, 1.0, 2), 3, 30, conv).unwrap();
            let far = dstsp_binned(&truth, &cloud(100_000, 3.0, 2), 3, 30, conv).unwrap();
            assert!(other < 0.5 && other < shifted && shifted < far, "{conv:?}: {other} {shifted} {far}");
        }
        let g_same = dstsp_gmm(&truth, &cloud(20_000, 0.0, 3), 3, 1.0, 10_000, 1000, 0).unwrap();
        let g_far = dstsp_gmm(&truth, &cloud(20_000, 3.0, 3), 3, 1.0, 10_000, 1000, 0).unwrap();
        assert!(g_same.abs() < 0.1 && g_far > 1.0, "{g_same} {g_far}");
        assert!(dstsp_binned(&truth, &[f64::NAN; 3], 3, 30, Binning::Python).is_none());
    }

    #[test]
    fn dh_is_zero_for_identical_spectra_and_one_for_disjoint() {
        let sig: Vec<f64> = (0..4096).map(|t| (t as f64 * 0.05).sin() + 0.3 * (t as f64 * 0.31).cos()).collect();
        assert!(dh(&sig, &sig, 1, 20.0).unwrap() < 1e-7);
        // A time shift changes phases only: same power spectrum up to leakage.
        let shifted: Vec<f64> = (0..4096).map(|t| ((t + 7) as f64 * 0.05).sin() + 0.3 * ((t + 7) as f64 * 0.31).cos()).collect();
        assert!(dh(&sig, &shifted, 1, 20.0).unwrap() < 0.05);
        let slow: Vec<f64> = (0..4096).map(|t| (t as f64 * 0.01).sin()).collect();
        let fast: Vec<f64> = (0..4096).map(|t| (t as f64 * 2.5).sin()).collect();
        assert!(dh(&slow, &fast, 1, 2.0).unwrap() > 0.99);
        assert_eq!(hellinger(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
    }

    #[test]
    fn gaussian_filter_matches_scipy_reflect() {
        // scipy.ndimage.gaussian_filter1d([1,2,3,4,5], 1.0) = [1.42704095, 2.06782203, 3., 3.93217797, 4.57295905]
        let out = gaussian_filter(&[1.0, 2.0, 3.0, 4.0, 5.0], 1.0);
        for (a, b) in out.iter().zip([1.42704095, 2.06782203, 3.0, 3.93217797, 4.57295905]) {
            assert!((a - b).abs() < 1e-6, "{out:?}");
        }
    }

    #[test]
    fn estimators_agree_with_an_independent_numpy_implementation() {
        // Values from bench/alrnn/floor.py (numpy + scipy.ndimage.gaussian_filter1d) on the same
        // deterministic curves.
        let curve = |len: usize, f: [f64; 3], phase: f64| -> Vec<f64> {
            (0..len)
                .flat_map(|t| {
                    let t = t as f64;
                    [(f[0] * t).sin(), (f[1] * t).cos(), (f[2] * t + phase).sin()]
                })
                .collect()
        };
        let truth = curve(20_000, [0.01, 0.023, 0.031], 1.0);
        let gen = curve(5_000, [0.0105, 0.022, 0.03], 0.0);
        let d = dstsp_binned(&truth, &gen, 3, 30, Binning::Python).unwrap();
        assert!((d - 10.286921817708194).abs() < 1e-9, "{d}");
        let h = dh(&truth, &gen, 3, 20.0).unwrap();
        assert!((h - 0.02084685597078205).abs() < 1e-9, "{h}");
    }
}
