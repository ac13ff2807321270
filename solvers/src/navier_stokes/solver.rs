//! The Navier–Stokes time steppers: FNO's `ns_2d.py` scheme (Crank–Nicolson viscosity, explicit
//! dealiased nonlinearity) and ETDRK4, sharing one fused evaluation of the nonlinear term.

use super::fft2::Fft2Plan;
use super::{NavierStokesConfig, NavierStokesError, TimeScheme};
use crate::etdrk4::{Etdrk4Coefficients, Etdrk4Stages};
use crate::grf::periodic::fft_frequency;
use crate::InvalidParameter;
use rustfft::num_complex::Complex64;
use std::f64::consts::PI;

const ZERO: Complex64 = Complex64 { re: 0.0, im: 0.0 };

/// Stored vorticity of one solve.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Stored times `0, T/n, …, T`.
    pub times: Vec<f64>,
    /// Points per side of the stored grid.
    pub stored_resolution: usize,
    /// Vorticity, shape `(times.len(), m, m)` row-major, `m = stored_resolution`.
    pub vorticity: Vec<f64>,
}

/// Rows (pass 1) or columns (pass 2) transformed together in the fused passes of one step:
/// enough to amortise each FFT call and to make every strided access of the gathers touch whole
/// cache lines, few enough for the blocks to stay in cache (16 measured best at 256², against
/// 4, 8 and 32).
const BLOCK: usize = 16;

/// Padding (in values) added to each row of the arrays written with a stride of one row (the
/// gathered column blocks and the dealiased nonlinear rows). Without it a row is a power-of-two
/// number of bytes long at the usual sizes, so the strided writes of one block all map to the
/// same cache sets and evict each other.
const PAD: usize = 4;

/// Navier–Stokes solver for one configuration: FFT plans and spectral operators are built once;
/// [`NavierStokesSolver::solve`] allocates its work buffers once per call, none per step.
///
/// The vorticity is real, so its spectrum is stored as the half spectrum of [`Fft2Plan`]
/// (`k_y ∈ [0, s/2]`, `[k_y][k_x]`). One step does four real inverse transforms (packed two per
/// complex transform: `û + i v̂` and `ŵ_x + i ŵ_y`) and one real forward transform of the
/// nonlinear term, of which only the rows kept by the 2/3 rule are finished. The passes are
/// fused so that each row is built, transformed, multiplied and transposed while in cache.
#[derive(Clone)]
pub struct NavierStokesSolver {
    config: NavierStokesConfig,
    plan: Fft2Plan,
    time_step: f64,
    /// `2π k_x` per spectrum column, zero on the Nyquist column (its derivative is not a real
    /// field's spectrum and would leak between the two fields packed into one transform).
    kx: Vec<f64>,
    /// `2π k_y` per full-spectrum row (`0..s`), zero on the Nyquist row, for the same reason.
    ky: Vec<f64>,
    /// Half-spectrum tables, `(s/2 + 1) × s`, `[k_y][k_x]`:
    /// `1 / (4π²|k|²)`, zero at k = 0 (the mean of ψ does not enter the velocity).
    inverse_laplacian: Vec<f64>,
    /// `(1 − ½Δtν·4π²|k|²) / (1 + ½Δtν·4π²|k|²)`: the Crank–Nicolson amplification.
    viscous_factor: Vec<f64>,
    /// `Δt · dealias(k) / (1 + ½Δtν·4π²|k|²)`: what multiplies the nonlinear term.
    nonlinear_factor: Vec<f64>,
    /// `Δt · f̂ / (1 + ½Δtν·4π²|k|²)`: the forcing increment per step.
    forcing_increment: Vec<Complex64>,
    /// Largest |k_y| the dealiasing mask keeps (rows beyond it need not be transformed).
    dealias_rows: usize,
    /// Whether this CPU runs the AVX2 build of the step (same arithmetic, wider vectors).
    avx2: bool,
    /// ETDRK4 tables ([`TimeScheme::Etdrk4`] only).
    etd: Option<EtdTables>,
}

/// What ETDRK4 needs beyond the shared tables, all over the half spectrum `(s/2 + 1) × s`.
#[derive(Clone)]
struct EtdTables {
    /// φ-function coefficients of `L = −ν·4π²|k|²` for the step.
    coeff: Etdrk4Coefficients,
    /// 1 where the 2/3 rule keeps the mode, 0 elsewhere (rows `0..=dealias_rows` only: the rows
    /// beyond are dropped entirely).
    keep: Vec<f64>,
    /// `f̂`, the forcing's (unnormalised) spectrum.
    forcing: Vec<Complex64>,
}

impl std::fmt::Debug for NavierStokesSolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NavierStokesSolver").field("config", &self.config).finish()
    }
}

/// Work buffers of one solve (allocated once per solve, reused by every step).
struct Workspace {
    /// `û + i v̂` after the first inverse pass (over `k_x`): `[k_y][x]`, `s × s`.
    velocity: Vec<Complex64>,
    /// `ŵ_x + i ŵ_y`, laid out as `velocity`.
    gradient: Vec<Complex64>,
    /// One block of `x` columns of each packed pair, gathered as rows (`[x][k_y]`, then physical
    /// `[x][y]`; rows `s + PAD` long) and finished in cache.
    block_a: Vec<Complex64>,
    block_b: Vec<Complex64>,
    /// One mirrored spectrum row (a row `k_y < 0` from its Hermitian partner).
    mirror: Vec<Complex64>,
    /// One block of packed rows `N(x) + i N(x+1)` of the nonlinear term.
    pairs: Vec<Complex64>,
    /// The dealiased rows of the nonlinear term's spectrum: `[k_y][x]`, then `[k_y][k_x]`;
    /// rows are `s + PAD` long.
    nonlinear: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

/// Outcome of the nonlinear evaluation of one step.
struct StepCheck {
    /// `max(|u| + |v|)`, unnormalised (× s²); NaN-blind, so see `finite`.
    max_speed: f64,
    /// Whether the nonlinear term at the first grid point is finite (NaNs reach every point
    /// through the transforms, so this catches a non-finite field).
    finite: bool,
}

impl NavierStokesSolver {
    /// Validate the configuration and tabulate the spectral operators.
    pub fn new(config: NavierStokesConfig) -> Result<Self, NavierStokesError> {
        config.validate()?;
        let s = config.resolution;
        let h = s / 2;
        let plan = Fft2Plan::new(s);
        let dt = config.effective_time_step();
        let nu = config.viscosity;
        let k_max = h as f64;
        let cutoff = 2.0 / 3.0 * k_max;
        let wave = |i: usize| {
            let f = fft_frequency(i, s) as f64;
            if f.abs() == k_max {
                0.0
            } else {
                2.0 * PI * f
            }
        };
        let kx: Vec<f64> = (0..s).map(wave).collect();
        let ky = kx.clone();
        let half = (h + 1) * s;
        let mut inverse_laplacian = vec![0.0; half];
        let mut viscous_factor = vec![0.0; half];
        let mut nonlinear_factor = vec![0.0; half];
        let mut implicit = vec![0.0; half];
        for row in 0..=h {
            for col in 0..s {
                let idx = row * s + col;
                let (fx, fy) = (fft_frequency(col, s) as f64, fft_frequency(row, s) as f64);
                let lap = 4.0 * PI * PI * (fx * fx + fy * fy);
                inverse_laplacian[idx] = if lap == 0.0 { 0.0 } else { 1.0 / lap };
                implicit[idx] = 1.0 / (1.0 + 0.5 * dt * nu * lap);
                viscous_factor[idx] = (1.0 - 0.5 * dt * nu * lap) * implicit[idx];
                let keep = fx.abs() <= cutoff && fy.abs() <= cutoff;
                nonlinear_factor[idx] = if keep { dt * implicit[idx] } else { 0.0 };
            }
        }
        let forcing = config.forcing.nodes(s);
        let mut forcing_hat = vec![ZERO; half];
        let mut pairs = vec![ZERO; s * s / 2];
        let mut scratch = vec![ZERO; plan.scratch_len()];
        plan.forward_real(&forcing, h + 1, &mut forcing_hat, &mut pairs, &mut scratch);
        let forcing_increment = forcing_hat.iter().zip(&implicit).map(|(f, c)| f * (dt * c)).collect();
        let dealias_rows = cutoff.floor() as usize;
        let etd = (config.scheme == TimeScheme::Etdrk4).then(|| {
            let linear: Vec<f64> = (0..half)
                .map(|idx| {
                    let (fx, fy) = (fft_frequency(idx % s, s) as f64, fft_frequency(idx / s, s) as f64);
                    -nu * 4.0 * PI * PI * (fx * fx + fy * fy)
                })
                .collect();
            let keep = (0..(dealias_rows + 1) * s)
                .map(|idx| {
                    let (fx, fy) = (fft_frequency(idx % s, s) as f64, fft_frequency(idx / s, s) as f64);
                    if fx.abs() <= cutoff && fy.abs() <= cutoff {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            EtdTables { coeff: Etdrk4Coefficients::new(&linear, dt), keep, forcing: forcing_hat.clone() }
        });
        Ok(Self {
            config,
            plan,
            time_step: dt,
            kx,
            ky,
            inverse_laplacian,
            viscous_factor,
            nonlinear_factor,
            forcing_increment,
            dealias_rows,
            avx2: avx2_available(),
            etd,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NavierStokesConfig {
        &self.config
    }

    /// The time step actually used.
    pub fn time_step(&self) -> f64 {
        self.time_step
    }

    /// Integrate from the initial vorticity `w0` (`s × s`, row-major) and return the stored
    /// snapshots (t = 0 included). Fails with a typed error on bad input or blow-up.
    pub fn solve(&self, w0: &[f64]) -> Result<Trajectory, NavierStokesError> {
        let cfg = &self.config;
        let s = cfg.resolution;
        let n = s * s;
        if w0.len() != n {
            return Err(InvalidParameter::new("initial vorticity", format!("{} values", w0.len()), "must hold resolution² values").into());
        }
        if let Some(v) = w0.iter().find(|v| !v.is_finite()) {
            return Err(InvalidParameter::new("initial vorticity", v, "every value must be finite").into());
        }
        let times = cfg.times();
        let m = cfg.stored_resolution();
        let mut vorticity = Vec::with_capacity(times.len() * m * m);
        let h = s / 2;
        let mut w_hat = vec![ZERO; (h + 1) * s];
        let mut ws = Workspace {
            velocity: vec![ZERO; n],
            gradient: vec![ZERO; n],
            block_a: vec![ZERO; BLOCK * (s + PAD)],
            block_b: vec![ZERO; BLOCK * (s + PAD)],
            mirror: vec![ZERO; s],
            pairs: vec![ZERO; n / 2],
            nonlinear: vec![ZERO; (self.dealias_rows + 1) * (s + PAD)],
            scratch: vec![ZERO; self.plan.scratch_len()],
        };
        // Stage buffers exist only for the scheme that uses them.
        let mut stages = Etdrk4Stages::new(if self.etd.is_some() { w_hat.len() } else { 0 });
        self.plan.forward_real(w0, h + 1, &mut w_hat, &mut ws.pairs, &mut ws.scratch);
        self.store(&w_hat, &mut ws, &mut vorticity);

        let dt = self.time_step;
        let steps_per_record = cfg.steps_per_record();
        let speed_to_cfl = dt * s as f64 / n as f64;
        for record in 1..times.len() {
            for step in 0..steps_per_record {
                let check = self.step(&mut w_hat, &mut ws, &mut stages);
                let cfl = check.max_speed * speed_to_cfl;
                if cfl.is_nan() || cfl > cfg.max_cfl || !check.finite {
                    let time = times[record - 1] + step as f64 * dt;
                    return Err(self.blow_up(time, cfl, "CFL number above the limit or non-finite velocity"));
                }
            }
            let start = vorticity.len();
            self.store(&w_hat, &mut ws, &mut vorticity);
            if vorticity[start..].iter().any(|v| !v.is_finite()) {
                return Err(self.blow_up(times[record], f64::NAN, "non-finite vorticity"));
            }
        }
        Ok(Trajectory { times, stored_resolution: m, vorticity })
    }

    /// One time step of the configured scheme, in the AVX2 build where the CPU has it (both
    /// builds do the same IEEE operations in the same order, so their results are identical).
    /// The check is that of the step's starting state.
    fn step(&self, w_hat: &mut [Complex64], ws: &mut Workspace, stages: &mut Etdrk4Stages) -> StepCheck {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is only true when the CPU reports AVX2 and FMA.
            return unsafe { self.step_avx2(w_hat, ws, stages) };
        }
        self.step_body(w_hat, ws, stages)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn step_avx2(&self, w_hat: &mut [Complex64], ws: &mut Workspace, stages: &mut Etdrk4Stages) -> StepCheck {
        self.step_body(w_hat, ws, stages)
    }

    #[inline(always)]
    fn step_body(&self, w_hat: &mut [Complex64], ws: &mut Workspace, stages: &mut Etdrk4Stages) -> StepCheck {
        match &self.etd {
            None => {
                self.velocity_and_gradient(w_hat, ws);
                let check = self.nonlinear_term(ws);
                self.update(w_hat, &ws.nonlinear, self.dealias_rows + 1);
                check
            }
            Some(etd) => self.etdrk4_step(w_hat, ws, stages, etd),
        }
    }

    /// One ETDRK4 step (Cox & Matthews' scheme for `ŵ' = Lŵ + N(ŵ)`, `L = −ν|2πk|²`,
    /// `N = f̂ − dealias(u·∇w)^`):
    /// `a = e^{hL/2}ŵ + Q N(ŵ)`, `b = e^{hL/2}ŵ + Q N(a)`, `c = e^{hL/2}a + Q (2N(b) − N(ŵ))`,
    /// `ŵ ← e^{hL}ŵ + f₁N(ŵ) + 2f₂(N(a) + N(b)) + f₃N(c)`.
    #[inline(always)]
    fn etdrk4_step(&self, w: &mut [Complex64], ws: &mut Workspace, st: &mut Etdrk4Stages, etd: &EtdTables) -> StepCheck {
        let check = self.etd_rhs(w, &mut st.nv, ws, etd);
        // Inlined so that the right-hand side is compiled with the caller's target features (AVX2).
        st.finish_step(
            &etd.coeff,
            w,
            #[inline(always)]
            |state, out| {
                self.etd_rhs(state, out, ws, etd);
            },
        );
        check
    }

    /// `out = f̂ − dealias(u·∇w)^` for the half spectrum `state`.
    #[inline(always)]
    fn etd_rhs(&self, state: &[Complex64], out: &mut [Complex64], ws: &mut Workspace, etd: &EtdTables) -> StepCheck {
        let s = self.config.resolution;
        self.velocity_and_gradient(state, ws);
        let check = self.nonlinear_term(ws);
        let kept = (self.dealias_rows + 1) * s;
        let (low, high) = out.split_at_mut(kept);
        let rows = low.chunks_exact_mut(s).zip(ws.nonlinear.chunks_exact(s + PAD)).zip(etd.keep.chunks_exact(s)).zip(etd.forcing[..kept].chunks_exact(s));
        for (((o, nl), keep), f) in rows {
            for (((o, &nl), &keep), &f) in o.iter_mut().zip(nl).zip(keep).zip(f) {
                *o = f - nl * keep;
            }
        }
        high.copy_from_slice(&etd.forcing[kept..]);
        check
    }

    /// Pass 1 of the two packed inverse transforms: build the spectrum rows of `û + i v̂` and
    /// `ŵ_x + i ŵ_y` (rows `k_y < 0` from their Hermitian partners) and transform each block of
    /// rows over `k_x` while it is in cache. The result stays `[k_y][x]`: no transpose here.
    #[inline(always)]
    fn velocity_and_gradient(&self, w_hat: &[Complex64], ws: &mut Workspace) {
        let s = self.config.resolution;
        let h = s / 2;
        let inverse = self.plan.row_inverse();
        for r0 in (0..s).step_by(BLOCK) {
            let rows = BLOCK.min(s - r0);
            for r in r0..r0 + rows {
                let ky = self.ky[r];
                let a = &mut ws.velocity[r * s..(r + 1) * s];
                let b = &mut ws.gradient[r * s..(r + 1) * s];
                // Row −k_y: ŵ(k_x, −k_y) = conj ŵ(−k_x, k_y), mirrored into a row buffer first so
                // that the loop below runs straight (and vectorises); 1/|k|² is even in k_x.
                let src = if r <= h { r } else { s - r };
                let w_row = if r <= h {
                    &w_hat[r * s..(r + 1) * s]
                } else {
                    super::fft2::conjugate_reversed(&w_hat[src * s..(src + 1) * s], &mut ws.mirror);
                    &ws.mirror[..]
                };
                let lap = &self.inverse_laplacian[src * s..(src + 1) * s];
                for ((((a, b), &w), &il), &kx) in a.iter_mut().zip(b.iter_mut()).zip(w_row).zip(lap).zip(&self.kx) {
                    *a = packed_velocity(w, il, kx, ky);
                    *b = packed_gradient(w, kx, ky);
                }
            }
            inverse.process_with_scratch(&mut ws.velocity[r0 * s..(r0 + rows) * s], &mut ws.scratch);
            inverse.process_with_scratch(&mut ws.gradient[r0 * s..(r0 + rows) * s], &mut ws.scratch);
        }
    }

    /// Pass 2 of the inverse transforms, the product `u w_x + v w_y`, and the forward transform
    /// of that product, block by block of `x` columns: the columns are gathered as rows (the
    /// transpose, into a cache-resident block), transformed over `k_y`, multiplied, packed two
    /// rows per complex row FFT and split straight into the dealiased rows `[k_y][x]` of
    /// `ws.nonlinear`, which the last pass turns into `[k_y][k_x]`.
    #[inline(always)]
    fn nonlinear_term(&self, ws: &mut Workspace) -> StepCheck {
        let s = self.config.resolution;
        let ld = s + PAD;
        let n = s * s;
        let rows_kept = self.dealias_rows + 1;
        // Both inverse transforms are unnormalised (factor s² each).
        let norm = 1.0 / (n as f64 * n as f64);
        let (inverse, forward) = (self.plan.row_inverse(), self.plan.row_forward());
        let mut speed = [0.0; LANES];
        for x0 in (0..s).step_by(BLOCK) {
            let rows = BLOCK.min(s - x0); // even, as s and BLOCK are
            gather_columns(&ws.velocity, s, x0, rows, &mut ws.block_a);
            gather_columns(&ws.gradient, s, x0, rows, &mut ws.block_b);
            for i in 0..rows {
                inverse.process_with_scratch(&mut ws.block_a[i * ld..i * ld + s], &mut ws.scratch);
                inverse.process_with_scratch(&mut ws.block_b[i * ld..i * ld + s], &mut ws.scratch);
            }
            let pairs = &mut ws.pairs[..rows / 2 * s];
            for (p, pair) in pairs.chunks_exact_mut(s).enumerate() {
                let (x, y) = (2 * p * ld, (2 * p + 1) * ld);
                let (v0, v1) = (&ws.block_a[x..x + s], &ws.block_a[y..y + s]);
                let (g0, g1) = (&ws.block_b[x..x + s], &ws.block_b[y..y + s]);
                products(pair, v0, v1, g0, g1, norm, &mut speed);
            }
            forward.process_with_scratch(pairs, &mut ws.scratch);
            super::fft2::split_pairs_transposed(pairs, s, ld, x0, rows_kept, 1.0, &mut ws.nonlinear);
        }
        let finite = ws.nonlinear[0].re.is_finite();
        for row in ws.nonlinear.chunks_exact_mut(ld) {
            forward.process_with_scratch(&mut row[..s], &mut ws.scratch);
        }
        let max_speed = speed.iter().fold(0.0, |m, &v| max_nan_blind(m, v));
        StepCheck { max_speed, finite }
    }

    /// Crank–Nicolson / forward-Euler update of the half spectrum; rows beyond the 2/3 cutoff
    /// only decay (their nonlinear factor is zero).
    #[inline(always)]
    fn update(&self, w_hat: &mut [Complex64], nonlinear: &[Complex64], rows_kept: usize) {
        let s = self.config.resolution;
        let kept = rows_kept * s;
        let (low, high) = w_hat.split_at_mut(kept);
        let rows = low
            .chunks_exact_mut(s)
            .zip(nonlinear.chunks_exact(s + PAD))
            .zip(self.viscous_factor[..kept].chunks_exact(s))
            .zip(self.nonlinear_factor[..kept].chunks_exact(s))
            .zip(self.forcing_increment[..kept].chunks_exact(s));
        for ((((w, nl), visc), nf), f) in rows {
            for ((((w, &nl), &visc), &nf), &f) in w.iter_mut().zip(nl).zip(visc).zip(nf).zip(f) {
                *w = *w * visc - nl * nf + f;
            }
        }
        for ((w, &visc), &f) in high.iter_mut().zip(&self.viscous_factor[kept..]).zip(&self.forcing_increment[kept..]) {
            *w = *w * visc + f;
        }
    }

    fn blow_up(&self, time: f64, cfl: f64, reason: &'static str) -> NavierStokesError {
        NavierStokesError::BlowUp {
            time,
            reason,
            viscosity: self.config.viscosity,
            time_step: self.time_step,
            resolution: self.config.resolution,
            cfl,
            max_cfl: self.config.max_cfl,
        }
    }

    /// Append the physical vorticity of `w_hat`, subsampled, to `out`.
    fn store(&self, w_hat: &[Complex64], ws: &mut Workspace, out: &mut Vec<f64>) {
        let s = self.config.resolution;
        let k = self.config.subsample;
        let norm = 1.0 / (s * s) as f64;
        self.plan.inverse_real(w_hat, &mut ws.velocity, &mut ws.gradient, &mut ws.scratch);
        for i in (0..s).step_by(k) {
            for j in (0..s).step_by(k) {
                out.push(ws.velocity[i * s + j].re * norm);
            }
        }
    }
}

/// `û + i v̂ = ψ̂ (k_x + i k_y)` with `ψ̂ = ŵ/|2πk|²` (u = ∂_y ψ, v = −∂_x ψ), written out so that
/// the operations are exactly those of the complex product.
#[inline(always)]
fn packed_velocity(w: Complex64, inverse_laplacian: f64, kx: f64, ky: f64) -> Complex64 {
    let psi = w * inverse_laplacian;
    Complex64::new(psi.re * kx - psi.im * ky, psi.re * ky + psi.im * kx)
}

/// `ŵ_x + i ŵ_y = ŵ (−k_y + i k_x)`.
#[inline(always)]
fn packed_gradient(w: Complex64, kx: f64, ky: f64) -> Complex64 {
    Complex64::new(w.re * -ky - w.im * kx, w.re * kx + w.im * -ky)
}

/// Independent running maxima kept by [`products`], so that the maximum is not one long
/// dependency chain and vectorises.
const LANES: usize = 4;

/// `z = (N(x) + i N(x+1)) · norm` with `N = u w_x + v w_y`, from the packed physical rows
/// `v = u + i v` and `g = w_x + i w_y` of two grid rows; folds `|u| + |v|` into `speed`.
#[inline(always)]
fn products(z: &mut [Complex64], v0: &[Complex64], v1: &[Complex64], g0: &[Complex64], g1: &[Complex64], norm: f64, speed: &mut [f64; LANES]) {
    #[inline(always)]
    fn one(z: &mut Complex64, a0: Complex64, a1: Complex64, b0: Complex64, b1: Complex64, norm: f64, m: &mut f64) {
        *m = max_nan_blind(max_nan_blind(*m, a0.re.abs() + a0.im.abs()), a1.re.abs() + a1.im.abs());
        *z = Complex64::new((a0.re * b0.re + a0.im * b0.im) * norm, (a1.re * b1.re + a1.im * b1.im) * norm);
    }
    let full = z.len() / LANES * LANES;
    let chunks =
        z[..full].chunks_exact_mut(LANES).zip(v0.chunks_exact(LANES)).zip(v1.chunks_exact(LANES)).zip(g0.chunks_exact(LANES)).zip(g1.chunks_exact(LANES));
    for ((((z, a0), a1), b0), b1) in chunks {
        for l in 0..LANES {
            one(&mut z[l], a0[l], a1[l], b0[l], b1[l], norm, &mut speed[l]);
        }
    }
    for j in full..z.len() {
        one(&mut z[j], v0[j], v1[j], g0[j], g1[j], norm, &mut speed[0]);
    }
}

/// `max` that ignores NaN in `v` like `f64::max` but compiles to a plain compare-and-select,
/// which vectorises.
#[inline(always)]
fn max_nan_blind(m: f64, v: f64) -> f64 {
    if v > m {
        v
    } else {
        m
    }
}

/// Gather the columns `x0..x0+rows` of the `s × s` matrix `matrix` as rows of `block` (row
/// stride `s + PAD`): `block[i·(s + PAD) + r] = matrix[r·s + x0 + i]`. Each matrix row gives one
/// short contiguous read; the writes stay in the cache-resident block.
#[inline(always)]
fn gather_columns(matrix: &[Complex64], s: usize, x0: usize, rows: usize, block: &mut [Complex64]) {
    let ld = s + PAD;
    if rows == BLOCK {
        // The common case with a compile-time width, which unrolls into plain moves.
        for (r, src) in matrix.chunks_exact(s).enumerate() {
            let src: &[Complex64; BLOCK] = src[x0..x0 + BLOCK].try_into().expect("BLOCK columns");
            for (i, &v) in src.iter().enumerate() {
                block[i * ld + r] = v;
            }
        }
    } else {
        for (r, src) in matrix.chunks_exact(s).enumerate() {
            for (i, &v) in src[x0..x0 + rows].iter().enumerate() {
                block[i * ld + r] = v;
            }
        }
    }
}

/// Whether the AVX2 build of the step can run here.
fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Grid means of energy, enstrophy and palinstrophy of a periodic vorticity field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VorticityDiagnostics {
    /// `½⟨|u|²⟩`.
    pub energy: f64,
    /// `½⟨w²⟩`.
    pub enstrophy: f64,
    /// `½⟨|∇w|²⟩` (enstrophy dissipation rate is `2ν` times this).
    pub palinstrophy: f64,
}

/// Spectral energy, enstrophy and palinstrophy of the `s × s` vorticity field `w` (mean-free part).
pub fn vorticity_diagnostics(w: &[f64], s: usize) -> VorticityDiagnostics {
    let plan = Fft2Plan::new(s);
    let mut phys: Vec<Complex64> = w.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    let mut spec = vec![ZERO; s * s];
    let mut scratch = vec![ZERO; plan.scratch_len()];
    plan.forward(&mut phys, &mut spec, &mut scratch);
    let norm = 1.0 / (s * s) as f64;
    let (mut energy, mut enstrophy, mut palinstrophy) = (0.0, 0.0, 0.0);
    for (idx, c) in spec.iter().enumerate() {
        let (fx, fy) = (fft_frequency(idx % s, s) as f64, fft_frequency(idx / s, s) as f64);
        let lap = 4.0 * PI * PI * (fx * fx + fy * fy);
        if lap == 0.0 {
            continue;
        }
        let power = (c * norm).norm_sqr();
        enstrophy += 0.5 * power;
        palinstrophy += 0.5 * lap * power;
        energy += 0.5 * power / lap;
    }
    VorticityDiagnostics { energy, enstrophy, palinstrophy }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::navier_stokes::Forcing;

    /// The straightforward form of the scheme (full complex spectrum, the four fields by two
    /// packed full 2-D inverse transforms, one full forward transform per step): what the fused
    /// half-spectrum stepper must reproduce to round-off.
    fn reference_solve(cfg: &NavierStokesConfig, w0: &[f64]) -> Vec<f64> {
        let s = cfg.resolution;
        let n = s * s;
        let plan = Fft2Plan::new(s);
        let dt = cfg.effective_time_step();
        let nu = cfg.viscosity;
        let k_max = (s / 2) as f64;
        let cutoff = 2.0 / 3.0 * k_max;
        let mut scratch = vec![ZERO; plan.scratch_len()];
        let mut to_spectrum = |field: &[f64]| {
            let mut phys: Vec<Complex64> = field.iter().map(|&v| Complex64::new(v, 0.0)).collect();
            let mut spec = vec![ZERO; n];
            plan.forward(&mut phys, &mut spec, &mut scratch);
            spec
        };
        let mut w_hat = to_spectrum(w0);
        let f_hat = to_spectrum(&cfg.forcing.nodes(s));
        let mut scratch = vec![ZERO; plan.scratch_len()];
        let (mut a, mut b) = (vec![ZERO; n], vec![ZERO; n]);
        let (mut pa, mut pb) = (vec![ZERO; n], vec![ZERO; n]);
        let freq = |i: usize| fft_frequency(i, s) as f64;
        let wave = |f: f64| if f.abs() == k_max { 0.0 } else { 2.0 * PI * f };
        for _ in 0..cfg.record_times * cfg.steps_per_record() {
            for idx in 0..n {
                let (fx, fy) = (freq(idx % s), freq(idx / s));
                let lap = 4.0 * PI * PI * (fx * fx + fy * fy);
                let psi = if lap == 0.0 { ZERO } else { w_hat[idx] / lap };
                let (kx, ky) = (wave(fx), wave(fy));
                a[idx] = psi * Complex64::new(kx, ky);
                b[idx] = w_hat[idx] * Complex64::new(-ky, kx);
            }
            plan.inverse(&mut a, &mut pa, &mut scratch);
            plan.inverse(&mut b, &mut pb, &mut scratch);
            for (p, q) in pa.iter_mut().zip(&pb) {
                *p = Complex64::new((p.re * q.re + p.im * q.im) / (n as f64 * n as f64), 0.0);
            }
            plan.forward(&mut pa, &mut a, &mut scratch);
            for idx in 0..n {
                let (fx, fy) = (freq(idx % s), freq(idx / s));
                let lap = 4.0 * PI * PI * (fx * fx + fy * fy);
                let keep = fx.abs() <= cutoff && fy.abs() <= cutoff;
                let nonlinear = if keep { a[idx] } else { ZERO };
                w_hat[idx] = (-dt * nonlinear + dt * f_hat[idx] + (1.0 - 0.5 * dt * nu * lap) * w_hat[idx]) / (1.0 + 0.5 * dt * nu * lap);
            }
        }
        plan.inverse(&mut w_hat, &mut pa, &mut scratch);
        pa.iter().map(|c| c.re / n as f64).collect()
    }

    #[test]
    fn fused_half_spectrum_stepper_matches_the_plain_scheme() {
        // 10 and 12 are not multiples of the row block; 16 is.
        for s in [10usize, 12, 16] {
            let cfg = NavierStokesConfig {
                resolution: s,
                viscosity: 1e-2,
                final_time: 0.05,
                time_step: 5e-3,
                record_times: 1,
                subsample: 1,
                forcing: Forcing::Diagonal { amplitude: 0.1 },
                ..Default::default()
            };
            let w0: Vec<f64> = (0..s * s).map(|i| ((i * i) as f64 * 0.37).sin() + 0.3 * ((i % s) as f64).cos()).collect();
            let fused = NavierStokesSolver::new(cfg).unwrap().solve(&w0).unwrap();
            let fused = &fused.vorticity[s * s..];
            let plain = reference_solve(&cfg, &w0);
            let scale = plain.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            let diff = fused.iter().zip(&plain).fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(diff <= 1e-13 * scale, "s = {s}: max difference {diff:e} (scale {scale:e})");
        }
    }

    #[test]
    fn real_transforms_match_the_complex_ones() {
        for s in [10usize, 16] {
            let plan = Fft2Plan::new(s);
            let field: Vec<f64> = (0..s * s).map(|i| ((i * 7 % 13) as f64 * 0.41).cos() - 0.2).collect();
            let mut scratch = vec![ZERO; plan.scratch_len()];
            let mut phys: Vec<Complex64> = field.iter().map(|&v| Complex64::new(v, 0.0)).collect();
            let mut full = vec![ZERO; s * s];
            plan.forward(&mut phys, &mut full, &mut scratch);
            let rows = s / 2 + 1;
            let (mut half, mut pairs) = (vec![ZERO; rows * s], vec![ZERO; s * s / 2]);
            plan.forward_real(&field, rows, &mut half, &mut pairs, &mut scratch);
            for (a, b) in half.iter().zip(&full[..rows * s]) {
                assert!((a - b).norm() < 1e-11);
            }
            let (mut back, mut work) = (vec![ZERO; s * s], vec![ZERO; s * s]);
            plan.inverse_real(&half, &mut back, &mut work, &mut scratch);
            for (a, &b) in back.iter().zip(&field) {
                assert!((a.re / (s * s) as f64 - b).abs() < 1e-12 && a.im.abs() < 1e-10);
            }
        }
    }
}
