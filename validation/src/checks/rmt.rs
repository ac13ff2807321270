//! Advani & Saxe checks: Marchenko–Pastur spectrum, learning curves, discrete GD, frozen
//! subspace, optimal stopping, overtraining peak (theory.md §1.11 for the tolerances).

use super::{CheckSpec, Ctx};
use crate::error::Result;
use crate::plot::{self, Figure, Series, Style};
use crate::report::{CheckResult, Measurement};
use crate::rmt::mp::MarchenkoPastur;
use crate::rmt::sim::{explicit_gd, Design, ModeTrial, StandardTrial, Task};
use crate::rmt::theory::{Schedule, Setup, REFERENCE_TABLE};
use crate::stats::{ks_distance, log_grid, MeanAccumulator};

const ALPHAS: [f64; 4] = [0.5, 1.0, 2.0, 4.0];
const SNRS: [f64; 3] = [1.0, 5.0, 10.0];

/// The RMT checks.
pub fn checks() -> Vec<CheckSpec> {
    vec![
        CheckSpec { name: "mp-spectrum", group: "rmt", run: mp_spectrum },
        CheckSpec { name: "rmt-curves", group: "rmt", run: curves },
        CheckSpec { name: "rmt-gd", group: "rmt", run: discrete_gd },
        CheckSpec { name: "rmt-frozen", group: "rmt", run: frozen },
        CheckSpec { name: "rmt-stopping", group: "rmt", run: stopping },
        CheckSpec { name: "rmt-overtraining", group: "rmt", run: overtraining },
    ]
}

/// (N, trials) of the learning-curve simulations: theory.md asks for N ≥ 400, ≥ 50 trials.
fn sizes(ctx: &Ctx) -> (usize, usize) {
    if ctx.quick {
        (200, 20)
    } else {
        (400, 50)
    }
}

fn render(ctx: &Ctx, res: &mut CheckResult, fig: Figure) -> Result<()> {
    plot::render(&fig, ctx.out_dir)?;
    res.figures.push(fig.stem);
    Ok(())
}

/// Mean and s.e. over trials of `f(trial)` evaluated on a grid.
fn average(trials: &[ModeTrial], len: usize, f: impl Fn(&ModeTrial) -> Vec<f64>) -> (Vec<f64>, Vec<f64>) {
    let mut acc = MeanAccumulator::new(len);
    for t in trials {
        acc.push(&f(t));
    }
    (acc.mean(), acc.std_err())
}

/// Compares a whole curve point by point and condenses it into one table row: the point
/// with the largest deviation relative to its tolerance, and the count within tolerance.
#[allow(clippy::too_many_arguments)]
fn worst_of(label: &str, xs: &[f64], xname: &str, theory: &[f64], sim: &[f64], se: &[f64], rel: f64, abs_below: Option<(f64, f64)>) -> Measurement {
    let mut rows: Vec<(f64, Measurement)> = Vec::new();
    for i in 0..xs.len() {
        let abs = match abs_below {
            Some((thresh, a)) if theory[i] < thresh => a,
            _ => 0.0,
        };
        let m = Measurement::within(label, theory[i], sim[i], Some(se[i]), 3.0, rel, abs);
        let tol = (3.0 * se[i]).max(rel * theory[i].abs()).max(abs);
        rows.push(((sim[i] - theory[i]).abs() / tol, m));
    }
    let ok = rows.iter().filter(|r| r.1.passed).count();
    let n = rows.len();
    let (idx, _) = rows.iter().enumerate().fold((0, -1.0), |acc, (i, r)| if r.0 > acc.1 { (i, r.0) } else { acc });
    let mut m = rows.swap_remove(idx).1;
    m.quantity = format!("{label}: worst at {xname}={} ({ok}/{n} points within tolerance)", crate::report::fmt_num(xs[idx]));
    m.passed = ok == n;
    m
}

fn mp_spectrum(ctx: &Ctx) -> Result<CheckResult> {
    let n = if ctx.quick { 400 } else { 1000 };
    let mut res = CheckResult::new(
        "mp-spectrum",
        "Marchenko–Pastur spectrum of XXᵀ",
        "The eigenvalues of XXᵀ (X: N×P, entries N(0,1/N), α = P/N) follow the Marchenko–Pastur law: \
         density √((λ₊−λ)(λ−λ₋))/(2πλ) on [λ₋, λ₊] with λ± = (1±√α)², plus an atom of mass (1−α) at 0 when α < 1.",
        format!(
            "One draw per α with N = {n}; KS distance of the non-zero eigenvalues to the normalised continuous MP CDF \
                 (tolerance 0.02, theory.md §1.11); for α < 1 the N − P smallest eigenvalues vanish (≤ 1e-12 λ₊); extreme \
                 non-zero eigenvalues within 3·N^(-2/3)·λ₊ of the edges."
        ),
    );
    for (ai, &alpha) in ALPHAS.iter().enumerate() {
        let p = (alpha * n as f64).round() as usize;
        let mut rng = ctx.rng(0x4D50, ai as u64);
        let design = Design::sample(n, p, &mut rng)?;
        let mp = MarchenkoPastur::new(alpha);
        let nonzero: Vec<f64> = (0..n).filter(|&i| !design.is_frozen(i)).map(|i| design.eigenvalues[i]).collect();
        let zeros = n - nonzero.len();
        let ks = ks_distance(&nonzero, |x| mp.continuous_cdf(x));
        res.measurements.push(Measurement::at_most(format!("KS distance, α={alpha}"), 0.02, ks));
        if zeros > 0 {
            // The atom (1 − α) at 0: the N − P smallest eigenvalues must vanish to rounding.
            let largest_zero = design.eigenvalues[zeros - 1].abs() / mp.upper_edge();
            res.measurements.push(Measurement::at_most(
                format!("largest of the N−P = {zeros} null eigenvalues / λ₊ (atom of mass {}), α={alpha}", mp.zero_mass()),
                1e-12,
                largest_zero,
            ));
        }
        let edge_tol = 3.0 * (n as f64).powf(-2.0 / 3.0) * mp.upper_edge();
        let lo = nonzero.first().copied().unwrap_or(0.0);
        let hi = nonzero.last().copied().unwrap_or(0.0);
        res.measurements.push(Measurement::within(format!("λ₋, α={alpha}"), mp.lower_edge(), lo, None, 0.0, 0.0, edge_tol));
        res.measurements.push(Measurement::within(format!("λ₊, α={alpha}"), mp.upper_edge(), hi, None, 0.0, 0.0, edge_tol));

        // Histogram of the non-zero spectrum normalised like ρ_c (mass min(1, α)).
        let bins = 40;
        let (a, b) = (0.0f64.max(mp.lower_edge() - 0.1), mp.upper_edge() + 0.1);
        let w = (b - a) / bins as f64;
        let mut counts = vec![0.0; bins];
        for &l in &nonzero {
            let k = (((l - a) / w) as usize).min(bins - 1);
            counts[k] += 1.0;
        }
        let edges: Vec<f64> = (0..=bins).map(|k| a + w * k as f64).collect();
        let hist: Vec<f64> = counts.iter().map(|c| c / (n as f64 * w)).collect();
        let grid: Vec<f64> = (1..400).map(|k| a + (b - a) * k as f64 / 400.0).collect();
        let dens: Vec<f64> = grid.iter().map(|&l| mp.density(l).min(5.0)).collect();
        let fig = Figure::new(
            format!("mp_spectrum_alpha_{alpha}"),
            format!("Spectrum of XXᵀ, α = {alpha}, N = {n} (atom at 0: {:.2})", mp.zero_mass()),
            "eigenvalue λ",
            "density (non-zero part)",
        )
        .with(Series::line("Marchenko–Pastur ρ_c(λ)", grid, dens, 0))
        .with(Series { label: format!("histogram, KS = {ks:.4}"), x: edges, y: hist, y_err: None, style: Style::Steps, color: 1 });
        render(ctx, &mut res, fig)?;
    }
    Ok(res.finish())
}

fn curves(ctx: &Ctx) -> Result<CheckResult> {
    let (n, trials) = sizes(ctx);
    let mut res = CheckResult::new(
        "rmt-curves",
        "Learning curves E_g(t), E_t(t) under gradient flow",
        "E_g(t) = (1−α)₊A + ∫ρ_c[A e^{−2λt} + σ²(1−e^{−λt})²/λ]dλ + σ² and \
         E_t(t) = α⁻¹∫ρ_c(λA + σ²)e^{−2λt}dλ + (1−1/α)₊σ² (A = σ_w̄² + σ_w0²; Advani & Saxe, theory.md §1.5).",
        format!(
            "Exact gradient flow through the eigendecomposition of XXᵀ, N = {n}, {trials} trials per α (shared across SNR); \
                 σ_w̄² = 1, σ_w0 = 0, σ_ε² = 1/SNR; 25 times in [0.01, 1000]. Tolerance max(3 s.e., 2%) \
                 (E_t below 0.01: absolute 1e-3); at α = 1 only t ≤ 50 is asserted (finite-N smallest eigenvalue, theory.md §4.4)."
        ),
    );
    let times = log_grid(0.01, 1000.0, 25);
    let fine = log_grid(0.01, 1000.0, 120);
    for (ai, &alpha) in ALPHAS.iter().enumerate() {
        let base = ctx.rmt_trials(alpha, n, trials)?;
        let mut fig_g =
            Figure::new(format!("rmt_eg_alpha_{alpha}"), format!("Generalisation error, α = {alpha} (N = {n}, {trials} trials)"), "time t", "E_g(t)")
                .log(true, false);
        let mut fig_t =
            Figure::new(format!("rmt_et_alpha_{alpha}"), format!("Training error, α = {alpha} (N = {n}, {trials} trials)"), "time t", "E_t(t)").log(true, true);
        for (si, &snr) in SNRS.iter().enumerate() {
            let setup = Setup::from_snr(alpha, snr)?;
            let mt: Vec<ModeTrial> = base.iter().map(|b| b.for_setup(&setup)).collect();
            let (eg, eg_se) = average(&mt, times.len(), |t| times.iter().map(|&s| t.eg(Schedule::Flow(s))).collect());
            let (et, et_se) = average(&mt, times.len(), |t| times.iter().map(|&s| t.et(Schedule::Flow(s))).collect());
            let th_g: Vec<f64> = times.iter().map(|&t| setup.eg_flow(t)).collect();
            let th_t: Vec<f64> = times.iter().map(|&t| setup.et_flow(t)).collect();
            let keep: Vec<usize> = (0..times.len()).filter(|&i| alpha != 1.0 || times[i] <= 50.0).collect();
            let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
            res.measurements.push(worst_of(&format!("E_g, α={alpha}, SNR={snr}"), &pick(&times), "t", &pick(&th_g), &pick(&eg), &pick(&eg_se), 0.02, None));
            res.measurements.push(worst_of(
                &format!("E_t, α={alpha}, SNR={snr}"),
                &pick(&times),
                "t",
                &pick(&th_t),
                &pick(&et),
                &pick(&et_se),
                0.02,
                Some((1e-2, 1e-3)),
            ));
            fig_g = fig_g
                .with(Series::line(format!("theory SNR={snr}"), fine.clone(), fine.iter().map(|&t| setup.eg_flow(t)).collect(), si))
                .with(Series::markers(format!("simulation SNR={snr} (±1 s.e.)"), times.clone(), eg, Some(eg_se), si));
            fig_t = fig_t
                .with(Series::line(format!("theory SNR={snr}"), fine.clone(), fine.iter().map(|&t| setup.et_flow(t)).collect(), si))
                .with(Series::markers(format!("simulation SNR={snr} (±1 s.e.)"), times.clone(), et, Some(et_se), si));
        }
        let _ = ai;
        render(ctx, &mut res, fig_g)?;
        render(ctx, &mut res, fig_t)?;
    }
    Ok(res.finish())
}

fn discrete_gd(ctx: &Ctx) -> Result<CheckResult> {
    let (n, trials) = sizes(ctx);
    let alpha = 2.0;
    let setup = Setup::from_snr(alpha, 5.0)?;
    let eta = 1.0 / setup.mp().upper_edge();
    let mut res = CheckResult::new(
        "rmt-gd",
        "Discrete-time gradient descent",
        "Plain GD with step η damps mode λ by (1−ηλ)^k instead of e^{−λt}; the same MP quadrature with that factor gives \
         E_g after k steps, and the mode formula is an exact identity of linear algebra for each sample.",
        format!(
            "α = 2, SNR = 5, η = 1/λ₊ = {eta:.4}; N = {n}, {trials} trials for the curve (max(3 s.e., 2%)); \
                 the explicit iteration w ← w + ηX(y − Xᵀw) in the original basis vs the mode formula on one draw \
                 (N = 200, α ∈ {{0.5, 2}}, relative 1e-10)."
        ),
    );
    let steps: Vec<u32> = {
        let mut v: Vec<u32> = log_grid(1.0, 20000.0, 22).iter().map(|s| s.round() as u32).collect();
        v.dedup();
        v
    };
    let base = ctx.rmt_trials(alpha, n, trials)?;
    let mt: Vec<ModeTrial> = base.iter().map(|b| b.for_setup(&setup)).collect();
    let (eg, se) = average(&mt, steps.len(), |t| steps.iter().map(|&k| t.eg(Schedule::Gd { eta, steps: k })).collect());
    let th: Vec<f64> = steps.iter().map(|&k| setup.eg(Schedule::Gd { eta, steps: k })).collect();
    let xs: Vec<f64> = steps.iter().map(|&k| k as f64).collect();
    res.measurements.push(worst_of("E_g after k GD steps, α=2, SNR=5", &xs, "k", &th, &eg, &se, 0.02, None));
    let fine: Vec<f64> = log_grid(1.0, 20000.0, 100);
    let fig = Figure::new("rmt_gd", format!("Discrete GD (η = {eta:.3}) vs gradient flow, α = 2, SNR = 5"), "GD steps k (flow: t = ηk)", "E_g")
        .log(true, false)
        .with(Series::line("GD theory (1−ηλ)^k", fine.clone(), fine.iter().map(|&k| setup.eg(Schedule::Gd { eta, steps: k.round() as u32 })).collect(), 0))
        .with(Series::line("gradient-flow theory at t = ηk", fine.clone(), fine.iter().map(|&k| setup.eg_flow(eta * k)).collect(), 2))
        .with(Series::markers("GD simulation (±1 s.e.)", xs, eg, Some(se), 0));
    render(ctx, &mut res, fig)?;

    for (i, &a) in [0.5, 2.0].iter().enumerate() {
        let s = Setup::new(a, 1.0, 0.2, 0.5)?;
        let mut rng = ctx.rng(0x4744, i as u64);
        let (nn, p) = (200, (a * 200.0) as usize);
        let design = Design::sample(nn, p, &mut rng)?;
        let task = Task::draw_standard(nn, p, &mut rng).scaled(&s);
        let eta = 1.0 / s.mp().upper_edge();
        let checkpoints = [1u32, 10, 100, 1000];
        let ws = explicit_gd(&design, &task, eta, &checkpoints);
        let trial = ModeTrial::new(&design, &task, &s);
        let mut worst: f64 = 0.0;
        for (w, &k) in ws.iter().zip(&checkpoints) {
            let direct = w.iter().zip(&task.teacher).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / nn as f64 + s.sigma_eps2;
            let modes = trial.eg(Schedule::Gd { eta, steps: k });
            worst = crate::stats::max_nan(worst, (direct / modes - 1.0).abs());
        }
        res.measurements.push(Measurement::at_most(
            format!("explicit GD vs mode formula, α={a}: max relative difference of E_g over k ∈ {{1,10,100,1000}}"),
            1e-10,
            worst,
        ));
    }
    Ok(res.finish())
}

fn frozen(ctx: &Ctx) -> Result<CheckResult> {
    let (n, trials) = sizes(ctx);
    let alpha = 0.5;
    let mut res = CheckResult::new(
        "rmt-frozen",
        "Frozen subspace and initial-weight size (α < 1)",
        "When P < N, the N − P directions in the null space of Xᵀ receive no gradient: the projection of w(t) on them stays \
         at its initial value for all t, so the error (1−α)σ_w0² from a large initialisation is never removed: \
         E_g(∞) = (1−α)(σ_w̄² + σ_w0²) + σ_ε²α/(1−α) + σ_ε².",
        format!(
            "α = 0.5, SNR = 5, σ_w0² ∈ {{0, 0.5, 1}}: exact-flow simulation (N = {n}, {trials} trials) vs theory; \
                 explicit GD (N = 200, 5000 steps) and the null-space projection of w(k) compared with that of w(0) \
                 (absolute 1e-10)."
        ),
    );
    let base = ctx.rmt_trials(alpha, n, trials)?;
    let times = log_grid(0.01, 1000.0, 25);
    let fine = log_grid(0.01, 1e4, 120);
    let mut fig =
        Figure::new("rmt_frozen", format!("Frozen subspace: E_g(t) for several init sizes, α = 0.5, SNR = 5, N = {n}"), "time t", "E_g(t)").log(true, false);
    for (i, &s0) in [0.0, 0.5, 1.0].iter().enumerate() {
        let setup = Setup::new(alpha, 1.0, 0.2, s0)?;
        let mt: Vec<ModeTrial> = base.iter().map(|b| b.for_setup(&setup)).collect();
        let (eg, se) = average(&mt, times.len(), |t| times.iter().map(|&s| t.eg(Schedule::Flow(s))).collect());
        let th: Vec<f64> = times.iter().map(|&t| setup.eg_flow(t)).collect();
        res.measurements.push(worst_of(&format!("E_g, σ_w0²={s0}"), &times, "t", &th, &eg, &se, 0.02, None));
        let (inf, inf_se) = average(&mt, 1, |t| vec![t.eg_inf()]);
        res.measurements.push(Measurement::within(format!("E_g(∞), σ_w0²={s0}"), setup.eg_inf(), inf[0], Some(inf_se[0]), 3.0, 0.02, 0.0));
        fig = fig.with(Series::line(format!("theory σ_w0²={s0}"), fine.clone(), fine.iter().map(|&t| setup.eg_flow(t)).collect(), i)).with(Series::markers(
            format!("simulation σ_w0²={s0}"),
            times.clone(),
            eg,
            Some(se),
            i,
        ));
    }
    render(ctx, &mut res, fig)?;

    let s = Setup::new(alpha, 1.0, 0.2, 1.0)?;
    let mut rng = ctx.rng(0x465A, 0);
    let design = Design::sample(200, 100, &mut rng)?;
    let task = Task::draw_standard(200, 100, &mut rng).scaled(&s);
    let eta = 1.0 / s.mp().upper_edge();
    let ws = explicit_gd(&design, &task, eta, &[10, 100, 1000, 5000]);
    let p0 = design.to_modes(&task.init);
    let mut worst: f64 = 0.0;
    for w in &ws {
        let pw = design.to_modes(w);
        for i in (0..200).filter(|&i| design.is_frozen(i)) {
            worst = crate::stats::max_nan(worst, (pw[i] - p0[i]).abs());
        }
    }
    res.measurements.push(Measurement::at_most("max |Π_null w(k) − Π_null w(0)| over k ≤ 5000", 1e-10, worst));
    res.notes.push(format!("{} of 200 modes frozen (expected 100).", (0..200).filter(|&i| design.is_frozen(i)).count()));
    Ok(res.finish())
}

fn stopping(ctx: &Ctx) -> Result<CheckResult> {
    let (n, trials) = sizes(ctx);
    let mut res = CheckResult::new(
        "rmt-stopping",
        "Optimal early stopping and asymptotic errors",
        "Per-mode optimal stopping t*(λ) = ln(1 + λA/σ²)/λ gives ridge regression with penalty σ²/A; its error has the closed \
         form A·½[√((α−1+c)²+4c) − (α−1+c)] + σ² (c = σ²/A). A single stopping time t_opt comes within ~3% of it. \
         E_g(∞) = (1−α)A + σ²α/(1−α) + σ² (α<1), σ²α/(α−1) (α>1), ∞ at α = 1.",
        format!(
            "Theory (quadrature + golden section) against the reference table of theory.md §1.7 (absolute 6e-4, \
                 t_opt relative 1%), and simulation (N = {n}, {trials} trials): E_g at t_opt, per-mode-stopped E_g and E_g(∞) \
                 within max(3 s.e., 2%); 0 ≤ E_g(t_opt) − E_g^opt ≤ 3% E_g^opt."
        ),
    );
    let mut xs_opt = Vec::new();
    let mut fig = Figure::new("rmt_stopping", "Early-stopped vs asymptotic error (SNR = 5)", "load α", "E_g").log(true, true);
    let mut sim_opt = (Vec::new(), Vec::new(), Vec::new());
    let mut sim_inf = (Vec::new(), Vec::new(), Vec::new());
    for row in REFERENCE_TABLE {
        let (alpha, snr) = (row[0], row[1]);
        let setup = Setup::from_snr(alpha, snr)?;
        let (t_opt, e_topt) = setup.best_stopping_time();
        let e_opt = setup.eg_mode_optimal();
        let tag = format!("α={alpha}, SNR={snr}");
        res.measurements.push(Measurement::within(format!("t_opt vs reference, {tag}"), row[6], t_opt, None, 0.0, 0.01, 0.0));
        res.measurements.push(Measurement::within(format!("E_g(t_opt) vs reference, {tag}"), row[7], e_topt, None, 0.0, 0.0, 6e-4));
        res.measurements.push(Measurement::within(format!("E_g^opt closed form vs reference, {tag}"), row[9], e_opt, None, 0.0, 0.0, 6e-4));
        res.measurements.push(Measurement::within(
            format!("E_g^opt closed form vs quadrature of Aσ²/(λA+σ²), {tag}"),
            setup.eg_mode_optimal_quadrature(),
            e_opt,
            None,
            0.0,
            1e-8,
            0.0,
        ));
        res.measurements.push(Measurement::in_range(format!("(E_g(t_opt) − E_g^opt)/E_g^opt, {tag}"), 0.0, (e_topt - e_opt) / e_opt, 0.0, 0.03));
        let base = ctx.rmt_trials(alpha, n, trials)?;
        let mt: Vec<ModeTrial> = base.iter().map(|b| b.for_setup(&setup)).collect();
        let (v, se) = average(&mt, 3, |t| vec![t.eg(Schedule::Flow(t_opt)), t.eg_mode_optimal(&setup), t.eg_inf()]);
        res.measurements.push(Measurement::within(format!("simulated E_g(t_opt), {tag}"), e_topt, v[0], Some(se[0]), 3.0, 0.02, 0.0));
        res.measurements.push(Measurement::within(format!("simulated per-mode-stopped E_g vs closed form, {tag}"), e_opt, v[1], Some(se[1]), 3.0, 0.02, 0.0));
        if alpha != 1.0 {
            res.measurements.push(Measurement::within(format!("simulated E_g(∞), {tag}"), setup.eg_inf(), v[2], Some(se[2]), 3.0, 0.02, 0.0));
        } else {
            res.notes.push(format!("α = 1, SNR = {snr}: simulated E_g(∞) = {:.3} ± {:.3} (theory ∞; finite N keeps it finite but heavy-tailed)", v[2], se[2]));
        }
        if snr == 5.0 {
            xs_opt.push(alpha);
            sim_opt.0.push(alpha);
            sim_opt.1.push(v[0]);
            sim_opt.2.push(se[0]);
            if alpha != 1.0 {
                sim_inf.0.push(alpha);
                sim_inf.1.push(v[2]);
                sim_inf.2.push(se[2]);
            }
        }
    }
    let grid = log_grid(0.2, 5.0, 60);
    let s5 = |a: f64| Setup::from_snr(a, 5.0).expect("valid");
    let inf_grid: Vec<f64> = grid.iter().copied().filter(|a| (a - 1.0).abs() > 0.02).collect();
    fig = fig
        .with(Series::line("E_g(t_opt), theory", grid.clone(), grid.iter().map(|&a| s5(a).best_stopping_time().1).collect(), 0))
        .with(Series::line("E_g^opt (ridge), closed form", grid.clone(), grid.iter().map(|&a| s5(a).eg_mode_optimal()).collect(), 2))
        .with(Series::line("E_g(∞), closed form", inf_grid.clone(), inf_grid.iter().map(|&a| s5(a).eg_inf().min(50.0)).collect(), 1))
        .with(Series::markers("simulated E_g(t_opt)", sim_opt.0, sim_opt.1, Some(sim_opt.2), 0))
        .with(Series::markers("simulated E_g(∞)", sim_inf.0, sim_inf.1, Some(sim_inf.2), 1));
    render(ctx, &mut res, fig)?;
    Ok(res.finish())
}

fn overtraining(ctx: &Ctx) -> Result<CheckResult> {
    let (n, trials) = if ctx.quick { (150, 10) } else { (300, 30) };
    let t_large = 1e4;
    let mut res = CheckResult::new(
        "rmt-overtraining",
        "Overtraining peak at α = 1",
        "Overtraining E_g(T) − E_g(t_opt) (T large) is maximal — infinite as T → ∞ — where the number of parameters equals \
         the number of samples, α = 1; E_g(t_opt) itself is smooth and monotone in α (Advani & Saxe abstract; theory.md §1.8).",
        format!(
            "SNR = 5, T = 10⁴. Theory on the α grid of theory.md §1.8 (values checked against that table, absolute 6e-4); \
                 simulation N = {n}, {trials} trials, t_opt taken as the best of 40 grid times; argmax over α must lie in [0.9, 1.1]."
        ),
    );
    let grid = [0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.5, 2.0, 4.0];
    let reference = [
        (2.28, 1.0014, 1.0167),
        (2.71, 0.8261, 0.9000),
        (2.98, 0.6804, 1.0500),
        (3.06, 0.6087, 2.1000),
        (3.07, 0.5675, 13.32),
        (3.05, 0.5312, 2.2000),
        (2.82, 0.4262, 0.6000),
        (2.39, 0.3541, 0.4000),
        (1.33, 0.2628, 0.2667),
    ];
    let times = log_grid(0.05, 100.0, 40);
    let (mut th_over, mut sim_over, mut sim_se) = (Vec::new(), Vec::new(), Vec::new());
    for (i, &alpha) in grid.iter().enumerate() {
        let setup = Setup::from_snr(alpha, 5.0)?;
        let (t_opt, e_opt) = setup.best_stopping_time();
        let e_late = if alpha == 1.0 { setup.eg_flow(t_large) } else { setup.eg_inf() };
        let (rt, re, rinf) = reference[i];
        res.measurements.push(Measurement::within(format!("E_g(t_opt) vs reference, α={alpha}"), re, e_opt, None, 0.0, 0.0, 6e-4));
        res.measurements.push(Measurement::within(format!("t_opt vs reference, α={alpha}"), rt, t_opt, None, 0.0, 0.01, 0.0));
        res.measurements.push(Measurement::within(
            format!("E_g({}) vs reference, α={alpha}", if alpha == 1.0 { "t=1e4" } else { "∞" }),
            rinf,
            e_late,
            None,
            0.0,
            0.0,
            6e-3,
        ));
        th_over.push(setup.eg_flow(t_large) - e_opt);
        let base: Vec<StandardTrial> = (0..trials)
            .map(|k| {
                let p = ((alpha * n as f64).round() as usize).max(1);
                StandardTrial::draw(n, p, &mut ctx.rng(0x4F56 ^ alpha.to_bits(), k as u64))
            })
            .collect::<Result<_>>()?;
        let mt: Vec<ModeTrial> = base.iter().map(|b| b.for_setup(&setup)).collect();
        // per-trial overtraining relative to the (trial-averaged) best grid time
        let (curve, _) = average(&mt, times.len(), |t| times.iter().map(|&s| t.eg(Schedule::Flow(s))).collect());
        let best = curve.iter().enumerate().fold((0, f64::INFINITY), |a, (i, &v)| if v < a.1 { (i, v) } else { a }).0;
        let (o, ose) = average(&mt, 1, |t| vec![t.eg(Schedule::Flow(t_large)) - t.eg(Schedule::Flow(times[best]))]);
        sim_over.push(o[0]);
        sim_se.push(ose[0]);
    }
    let argmax = |v: &[f64]| grid[v.iter().enumerate().fold((0, f64::NEG_INFINITY), |a, (i, &x)| if x > a.1 { (i, x) } else { a }).0];
    res.measurements.push(Measurement::in_range("argmax_α overtraining (theory)", 1.0, argmax(&th_over), 0.9, 1.1));
    res.measurements.push(Measurement::in_range("argmax_α overtraining (simulation)", 1.0, argmax(&sim_over), 0.9, 1.1));
    let fine: Vec<f64> = log_grid(0.2, 5.0, 80);
    let fig = Figure::new("rmt_overtraining", "Overtraining E_g(T=10⁴) − E_g(t_opt), SNR = 5", "load α", "overtraining")
        .log(true, true)
        .with(Series::line(
            "theory",
            fine.clone(),
            fine.iter()
                .map(|&a| {
                    let s = Setup::from_snr(a, 5.0).expect("valid");
                    s.eg_flow(t_large) - s.best_stopping_time().1
                })
                .collect(),
            0,
        ))
        .with(Series::markers(format!("simulation N={n} (±1 s.e.)"), grid.to_vec(), sim_over, Some(sim_se), 1));
    render(ctx, &mut res, fig)?;
    Ok(res.finish())
}
