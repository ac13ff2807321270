//! The observed order of a refinement study, shared by the solver checks.

/// Least-squares slope of log(err) against log(h).
pub(crate) fn fitted_order(h: &[f64], err: &[f64]) -> f64 {
    let pts: Vec<(f64, f64)> = h.iter().zip(err).filter(|(_, e)| **e > 0.0).map(|(h, e)| (h.ln(), e.ln())).collect();
    let n = pts.len() as f64;
    let (mx, my) = (pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n);
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}
