//! ETDRK4 (Cox & Matthews 2002; φ-functions by contour integrals as in Kassam & Trefethen 2005)
//! for semi-linear problems `v' = L v + N(v)` with a diagonal `L`, shared by the Burgers and the
//! Navier–Stokes solvers: the coefficients, the stage buffers, and the stage combination. Each
//! solver supplies its own `N` (its transforms, dealiasing and checks).

use rustfft::num_complex::Complex64;
use std::f64::consts::PI;

const ZERO: Complex64 = Complex64 { re: 0.0, im: 0.0 };

/// Number of contour points on the upper half circle (Kassam & Trefethen use 32 of 64).
const CONTOUR_POINTS: usize = 32;

/// ETDRK4 coefficients for a diagonal linear operator `L` (one value per mode) and step `h`.
#[derive(Debug, Clone, PartialEq)]
pub struct Etdrk4Coefficients {
    /// `e^{hL}`.
    pub e: Vec<f64>,
    /// `e^{hL/2}`.
    pub e_half: Vec<f64>,
    /// `h · (e^{hL/2} − 1)/(hL)`.
    pub q: Vec<f64>,
    /// `h · (−4 − hL + e^{hL}(4 − 3hL + (hL)²)) / (hL)³`.
    pub f1: Vec<f64>,
    /// `h · (2 + hL + e^{hL}(hL − 2)) / (hL)³`.
    pub f2: Vec<f64>,
    /// `h · (−4 − 3hL − (hL)² + e^{hL}(4 − hL)) / (hL)³`.
    pub f3: Vec<f64>,
}

impl Etdrk4Coefficients {
    /// Evaluate the φ-functions by averaging over a circle of radius 1 around each `hL` in the
    /// complex plane (Kassam & Trefethen 2005): exact for analytic functions and free of the
    /// cancellation the closed forms suffer near `hL = 0`.
    pub fn new(linear: &[f64], h: f64) -> Self {
        let n = linear.len();
        let mut c = Self { e: vec![0.0; n], e_half: vec![0.0; n], q: vec![0.0; n], f1: vec![0.0; n], f2: vec![0.0; n], f3: vec![0.0; n] };
        let roots: Vec<Complex64> = (1..=CONTOUR_POINTS).map(|j| Complex64::from_polar(1.0, PI * (j as f64 - 0.5) / CONTOUR_POINTS as f64)).collect();
        for (k, &l) in linear.iter().enumerate() {
            let hl = h * l;
            c.e[k] = hl.exp();
            c.e_half[k] = (0.5 * hl).exp();
            let (mut q, mut f1, mut f2, mut f3) = (ZERO, ZERO, ZERO, ZERO);
            for &root in &roots {
                let r = root + hl;
                let er = r.exp();
                let r3 = r * r * r;
                q += ((0.5 * r).exp() - 1.0) / r;
                f1 += (-4.0 - r + er * (4.0 - 3.0 * r + r * r)) / r3;
                f2 += (2.0 + r + er * (r - 2.0)) / r3;
                f3 += (-4.0 - 3.0 * r - r * r + er * (4.0 - r)) / r3;
            }
            let scale = h / CONTOUR_POINTS as f64;
            c.q[k] = scale * q.re;
            c.f1[k] = scale * f1.re;
            c.f2[k] = scale * f2.re;
            c.f3[k] = scale * f3.re;
        }
        c
    }
}

/// The stage states `a`, `b`, `c` and the right-hand sides `N(v)`, `N(a)`, `N(b)`, `N(c)` of one
/// ETDRK4 step, allocated once per solve and zeroed there (a right-hand side may write only the
/// modes it keeps and rely on the others staying zero).
pub(crate) struct Etdrk4Stages {
    a: Vec<Complex64>,
    b: Vec<Complex64>,
    c: Vec<Complex64>,
    /// `N(v)` of the current state; [`Etdrk4Stages::finish_step`] expects the caller to have
    /// filled it (so the caller can check that evaluation, e.g. for a CFL limit, first).
    pub(crate) nv: Vec<Complex64>,
    na: Vec<Complex64>,
    nb: Vec<Complex64>,
    nc: Vec<Complex64>,
}

impl Etdrk4Stages {
    /// Zeroed buffers for `len` modes.
    pub(crate) fn new(len: usize) -> Self {
        let z = || vec![ZERO; len];
        Self { a: z(), b: z(), c: z(), nv: z(), na: z(), nb: z(), nc: z() }
    }

    /// Completes the ETDRK4 step of `v` once `self.nv = N(v)` is in place:
    /// `a = e^{hL/2}v + Q N(v)`, `b = e^{hL/2}v + Q N(a)`, `c = e^{hL/2}a + Q (2N(b) − N(v))`,
    /// `v ← e^{hL}v + f₁N(v) + 2f₂(N(a) + N(b)) + f₃N(c)`, with `rhs(state, out)` writing `N(state)`.
    #[inline(always)]
    pub(crate) fn finish_step(&mut self, coeff: &Etdrk4Coefficients, v: &mut [Complex64], mut rhs: impl FnMut(&[Complex64], &mut [Complex64])) {
        let Self { a, b, c, nv, na, nb, nc } = self;
        let (e, e2, q) = (&coeff.e[..], &coeff.e_half[..], &coeff.q[..]);
        for ((((a, &v), &nv), &e2), &q) in a.iter_mut().zip(&*v).zip(&*nv).zip(e2).zip(q) {
            *a = v * e2 + nv * q;
        }
        rhs(a, na);
        for ((((b, &v), &na), &e2), &q) in b.iter_mut().zip(&*v).zip(&*na).zip(e2).zip(q) {
            *b = v * e2 + na * q;
        }
        rhs(b, nb);
        for (((((c, &a), &nb), &nv), &e2), &q) in c.iter_mut().zip(&*a).zip(&*nb).zip(&*nv).zip(e2).zip(q) {
            *c = a * e2 + (nb * 2.0 - nv) * q;
        }
        rhs(c, nc);
        let stages = nv.iter().zip(&*na).zip(&*nb).zip(&*nc);
        let f = coeff.f1.iter().zip(&coeff.f2).zip(&coeff.f3);
        for (((v, &e), (((&nv, &na), &nb), &nc)), ((&f1, &f2), &f3)) in v.iter_mut().zip(e).zip(stages).zip(f) {
            *v = *v * e + nv * f1 + (na + nb) * (2.0 * f2) + nc * f3;
        }
    }
}
