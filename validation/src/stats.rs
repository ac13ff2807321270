//! Small statistics helpers: running means with standard errors, KS distance.

/// Accumulates samples of a vector-valued quantity (e.g. a learning curve on a time grid)
/// and reports the per-component mean and standard error of the mean.
#[derive(Debug, Clone)]
pub struct MeanAccumulator {
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    count: usize,
}

impl MeanAccumulator {
    /// An empty accumulator for vectors of length `len`.
    pub fn new(len: usize) -> Self {
        Self { sum: vec![0.0; len], sum_sq: vec![0.0; len], count: 0 }
    }

    /// Adds one sample; `sample.len()` must equal the length given at construction.
    pub fn push(&mut self, sample: &[f64]) {
        debug_assert_eq!(sample.len(), self.sum.len());
        for ((s, q), v) in self.sum.iter_mut().zip(self.sum_sq.iter_mut()).zip(sample) {
            *s += v;
            *q += v * v;
        }
        self.count += 1;
    }

    /// Number of samples pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Component-wise mean.
    pub fn mean(&self) -> Vec<f64> {
        let n = self.count.max(1) as f64;
        self.sum.iter().map(|s| s / n).collect()
    }

    /// Component-wise standard error of the mean (unbiased sample variance / count).
    pub fn std_err(&self) -> Vec<f64> {
        if self.count < 2 {
            return vec![f64::NAN; self.sum.len()];
        }
        let n = self.count as f64;
        self.sum
            .iter()
            .zip(&self.sum_sq)
            .map(|(s, q)| {
                let m = s / n;
                let var = ((q - n * m * m) / (n - 1.0)).max(0.0);
                (var / n).sqrt()
            })
            .collect()
    }
}

/// Kolmogorov–Smirnov distance sup_x |F_emp(x) − F(x)| between the empirical CDF of
/// `samples` and a continuous-plus-atoms CDF `cdf`. The supremum is attained at the jumps
/// of the empirical CDF, so checking both sides of every sample suffices.
pub fn ks_distance(samples: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut sorted: Vec<f64> = samples.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let n = sorted.len() as f64;
    let mut worst: f64 = 0.0;
    for (i, &x) in sorted.iter().enumerate() {
        let f = cdf(x);
        worst = worst.max((f - i as f64 / n).abs()).max(((i + 1) as f64 / n - f).abs());
    }
    worst
}

/// max(a, b) that propagates NaN (f64::max silently drops it, which would let a NaN
/// comparison pass as "0 difference").
pub fn max_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Logarithmically spaced grid of `count` points from `lo` to `hi` (both > 0, inclusive).
pub fn log_grid(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if count == 1 {
        return vec![lo];
    }
    let (a, b) = (lo.ln(), hi.ln());
    (0..count).map(|i| (a + (b - a) * i as f64 / (count - 1) as f64).exp()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_stderr_of_known_samples() {
        let mut acc = MeanAccumulator::new(1);
        for v in [1.0, 2.0, 3.0, 4.0] {
            acc.push(&[v]);
        }
        assert!((acc.mean()[0] - 2.5).abs() < 1e-15);
        // sample variance 5/3, s.e. sqrt(5/12)
        assert!((acc.std_err()[0] - (5.0f64 / 12.0).sqrt()).abs() < 1e-14);
    }

    #[test]
    fn ks_of_uniform_grid_is_small() {
        let s: Vec<f64> = (0..1000).map(|i| (i as f64 + 0.5) / 1000.0).collect();
        assert!(ks_distance(&s, |x| x.clamp(0.0, 1.0)) <= 0.5e-3 + 1e-12);
    }
}
