//! Adaptive Gauss–Kronrod (7/15-point) quadrature on finite intervals.
//!
//! The theory curves integrate smooth functions after the edge substitution in
//! [`crate::rmt::mp`], but at large times they develop narrow boundary layers
//! (e^{−λt} near λ = 0 at α = 1); bisection driven by the Gauss/Kronrod difference finds
//! those layers without hand-tuned grids.

/// Kronrod abscissae on [−1, 1] (non-negative half, descending); odd indices are the
/// 7-point Gauss nodes.
const XGK: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
/// Kronrod weights matching [`XGK`].
const WGK: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_18,
    0.140_653_259_715_525_92,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_727_83,
];
/// Gauss weights for the nodes XGK[1], XGK[3], XGK[5], XGK[7].
const WG: [f64; 4] = [0.129_484_966_168_869_7, 0.279_705_391_489_276_7, 0.381_830_050_505_118_9, 0.417_959_183_673_469_4];

/// One 15-point Kronrod estimate on [a, b] and its difference from the embedded Gauss rule.
fn gk15(f: &impl Fn(f64) -> f64, a: f64, b: f64) -> (f64, f64) {
    let c = 0.5 * (a + b);
    let h = 0.5 * (b - a);
    let fc = f(c);
    let mut kronrod = WGK[7] * fc;
    let mut gauss = WG[3] * fc;
    for j in 0..7 {
        let x = h * XGK[j];
        let s = f(c - x) + f(c + x);
        kronrod += WGK[j] * s;
        if j % 2 == 1 {
            gauss += WG[j / 2] * s;
        }
    }
    (kronrod * h, ((kronrod - gauss) * h).abs())
}

/// ∫_a^b f, refined by bisection until each panel's error estimate is below its share of
/// `max(abs_tol, rel_tol·|I|)`. Panels stop splitting at depth 50, which only matters for
/// non-integrable input.
pub fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64, abs_tol: f64, rel_tol: f64) -> f64 {
    // Start from a fixed partition: a single 15-point panel can miss a narrow feature
    // entirely (every node sees ~0, so value and error estimate agree on 0).
    const PANELS: usize = 32;
    let h = (b - a) / PANELS as f64;
    let edges: Vec<f64> = (0..=PANELS).map(|k| if k == PANELS { b } else { a + h * k as f64 }).collect();
    let coarse: f64 = edges.windows(2).map(|w| gk15(&f, w[0], w[1]).0).sum();
    let target = abs_tol.max(rel_tol * coarse.abs()) / PANELS as f64;
    edges.windows(2).map(|w| recurse(&f, w[0], w[1], target, 0)).sum()
}

fn recurse(f: &impl Fn(f64) -> f64, a: f64, b: f64, tol: f64, depth: u32) -> f64 {
    let (val, err) = gk15(f, a, b);
    if err <= tol || depth >= 50 || (b - a).abs() < 1e-15 * (a.abs() + b.abs()) {
        return val;
    }
    let m = 0.5 * (a + b);
    recurse(f, a, m, 0.5 * tol, depth + 1) + recurse(f, m, b, 0.5 * tol, depth + 1)
}

/// Minimises a unimodal `f` on [lo, hi] by golden-section search; returns (argmin, min).
pub fn golden_min(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64, tol: f64) -> (f64, f64) {
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let mut x1 = hi - g * (hi - lo);
    let mut x2 = lo + g * (hi - lo);
    let (mut f1, mut f2) = (f(x1), f(x2));
    while (hi - lo).abs() > tol {
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - g * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + g * (hi - lo);
            f2 = f(x2);
        }
    }
    let x = 0.5 * (lo + hi);
    (x, f(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomials_and_exponentials_are_exact() {
        for k in 0..20 {
            let v = integrate(|x| x.powi(k), 0.0, 1.0, 1e-15, 1e-14);
            assert!((v - 1.0 / (k as f64 + 1.0)).abs() < 1e-13, "k={k}");
        }
        let v = integrate(|x| (-x).exp(), 0.0, 30.0, 1e-15, 1e-13);
        assert!((v - (1.0 - (-30f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn sharp_boundary_layer_is_resolved() {
        let t = 1e4;
        let v = integrate(|x| (-t * x).exp(), 0.0, 1.0, 1e-18, 1e-10);
        assert!((v * t - 1.0).abs() < 1e-8, "{v}");
    }

    #[test]
    fn golden_section_finds_parabola_minimum() {
        // a quadratic minimum is only located to ~√ε relative accuracy from function values
        let (x, fx) = golden_min(|x| (x - 0.3).powi(2) + 1.0, -2.0, 2.0, 1e-10);
        assert!((x - 0.3).abs() < 1e-7 && (fx - 1.0).abs() < 1e-13, "{x} {fx}");
    }
}
