//! Step-size control shared by the adaptive methods.

/// Weighted RMS norm of an error vector, Hairer's `sqrt(mean((e_i / sk_i)²))` with
/// `sk_i = atol + rtol · max(|y_i|, |y_new_i|)`.
#[inline]
pub(crate) fn error_norm(err: &[f64], y: &[f64], y_new: &[f64], rtol: f64, atol: f64) -> f64 {
    let mut sum = 0.0;
    for i in 0..err.len() {
        let sk = atol + rtol * y[i].abs().max(y_new[i].abs());
        let r = err[i] / sk;
        sum += r * r;
    }
    (sum / err.len() as f64).sqrt()
}

/// Proportional–integral step-size controller (Hairer–Wanner, *Solving ODEs I*, §II.4; the
/// `dopri5` form): `h_new = h · safety · err^(−α) · err_prev^β`, limited to
/// `[min_factor, max_factor]`, with `h` never growing right after a rejection. (`pub` because
/// [`super::driver::Stepper`] names it; it is not re-exported.)
#[derive(Debug, Clone, Copy)]
pub struct Controller {
    alpha: f64,
    beta: f64,
    safety: f64,
    min_factor: f64,
    max_factor: f64,
    err_prev: f64,
    rejected_last: bool,
}

impl Controller {
    /// A controller for an error estimate of order `q` (local error `O(h^{q+1})`) with
    /// integral gain `beta` (0 gives the classic I-controller).
    pub(crate) fn new(q: usize, beta: f64, min_factor: f64, max_factor: f64) -> Self {
        // Hairer's choice α = 1/(q+1) − 0.75 β keeps the PI controller's stability.
        let alpha = 1.0 / (q as f64 + 1.0) - 0.75 * beta;
        Controller { alpha, beta, safety: 0.9, min_factor, max_factor, err_prev: 1e-4, rejected_last: false }
    }

    /// Step size after an accepted step with scaled error `err ≤ 1`.
    pub(crate) fn accept(&mut self, h: f64, err: f64) -> f64 {
        let factor = if err == 0.0 {
            self.max_factor
        } else {
            (self.safety * err.powf(-self.alpha) * self.err_prev.powf(self.beta)).clamp(self.min_factor, self.max_factor)
        };
        let factor = if self.rejected_last { factor.min(1.0) } else { factor };
        self.err_prev = err.max(1e-4);
        self.rejected_last = false;
        h * factor
    }

    /// Step size to retry with after a rejected step (`err > 1` or non-finite).
    pub(crate) fn reject(&mut self, h: f64, err: f64) -> f64 {
        self.rejected_last = true;
        let factor = if err.is_finite() { (self.safety * err.powf(-self.alpha)).max(self.min_factor) } else { self.min_factor };
        h * factor.min(1.0)
    }
}
