//! In-context-learning checks (von Oswald, Mahankali, Ahn, Akyürek; theory.md §2.10 for the
//! predictions I1–I6 and their tolerances).

use super::{CheckSpec, Ctx};
use crate::error::{Result, ValidationError};
use crate::icl::data::{dot, random_rotation, Batch, Covariates, Prior, TaskDistribution};
use crate::icl::gd::{self, closed_form};
use crate::icl::lsa::{gd_construction, read_off_gdpp, to_f64, tokens, Effective, LsaConfig};
use crate::icl::train::{train_lsa, TrainOptions};
use crate::plot::{self, Figure, Series};
use crate::report::{fmt_num, CheckResult, Measurement};
use crate::stats::max_nan;
use burn::backend::flex::FlexDevice;
use burn::backend::{Autodiff, Flex};
use burn::tensor::DType;
use rand::Rng;

type Cpu = Flex;
type CpuAd = Autodiff<Flex>;

/// The ICL checks.
pub fn checks() -> Vec<CheckSpec> {
    vec![
        CheckSpec { name: "icl-construction", group: "icl", run: construction },
        CheckSpec { name: "icl-step-size", group: "icl", run: step_size },
        CheckSpec { name: "icl-preconditioner", group: "icl", run: preconditioner },
        CheckSpec { name: "icl-trained-lsa", group: "icl", run: trained_lsa },
        CheckSpec { name: "icl-multilayer", group: "icl", run: multilayer },
        CheckSpec { name: "icl-baselines", group: "icl", run: baselines },
        CheckSpec { name: "icl-noise", group: "icl", run: noise_levels },
    ]
}

fn render(ctx: &Ctx, res: &mut CheckResult, fig: Figure) -> Result<()> {
    plot::render(&fig, ctx.out_dir)?;
    res.figures.push(fig.stem);
    Ok(())
}

fn uniform(d: usize, n: usize, half_width: f64) -> Result<TaskDistribution> {
    TaskDistribution::new(d, n, Covariates::Uniform { half_width }, Prior::Isotropic, 0.0)
}

fn construction(ctx: &Ctx) -> Result<CheckResult> {
    let (d, n, b) = (10, 10, 256);
    let mut res = CheckResult::new(
        "icl-construction",
        "One LSA layer = one GD step (von Oswald Prop. 1)",
        "With W_K = W_Q = [[I,0],[0,0]], W_V = [[0,0],[W_0,−1]], P = (η/n)I and query token (x_q, −W_0x_q), the LSA layer's \
         read-out equals the prediction of one GD step on (1/2n)Σ(Wx_i − y_i)² from W_0, and every context token's y becomes \
         the GD residual y_j − ΔW x_j. This is an exact identity.",
        format!(
            "burn Flex backend with f64 tensors, d = n = {d}, {b} prompts per covariate law (U(−0.5,0.5) and N(0,I)), random \
                 W_0 ~ N(0,I) and η = 0.7; compared with the GD step computed directly in f64 (tolerance 1e-12 absolute); \
                 the same construction in f32 within 1e-5 relative to the prediction scale."
        ),
    );
    let device = FlexDevice;
    let mut fig = Figure::new("icl_construction", "LSA read-out vs direct one-step GD prediction (f64)", "GD prediction", "LSA prediction");
    for (k, dist) in [uniform(d, n, 0.5)?, TaskDistribution::gaussian_iso(d, n, 0.1)?].into_iter().enumerate() {
        let mut rng = ctx.rng(0x1C1, k as u64);
        let batch = dist.sample(b, &mut rng);
        let w0: Vec<f64> = (0..d).map(|_| rng.sample(rand_distr::StandardNormal)).collect();
        let eta = 0.7;
        // Direct GD: W_1 = W_0 − (η/n)Σ(W_0x_i − y_i)x_iᵀ.
        let mut gd_pred = Vec::with_capacity(b);
        let mut gd_resid = Vec::with_capacity(b * n);
        for t in 0..b {
            let mut w1 = w0.clone();
            for i in 0..n {
                let r = dot(&w0, batch.x(t, i)) - batch.y(t, i);
                w1.iter_mut().zip(batch.x(t, i)).for_each(|(w, x)| *w -= eta / n as f64 * r * x);
            }
            gd_pred.push(dot(&w1, batch.query(t)));
            for i in 0..n {
                // y_j − ΔW x_j with ΔW = W_1 − W_0
                let dw: Vec<f64> = w1.iter().zip(&w0).map(|(a, c)| a - c).collect();
                gd_resid.push(batch.y(t, i) - dot(&dw, batch.x(t, i)));
            }
        }
        let q0: Vec<f64> = (0..b).map(|t| -dot(&w0, batch.query(t))).collect();
        let mut worst = [0.0f64; 3];
        for (j, dtype) in [DType::F64, DType::F32].into_iter().enumerate() {
            let model = gd_construction::<Cpu>(d, n, &w0, eta, &device, dtype);
            let out = to_f64(model.forward(tokens::<Cpu>(&batch, Some(&q0), &device, dtype)));
            let dp = d + 1;
            for t in 0..b {
                let pred = -out[(t * (n + 1) + n) * dp + d];
                let scale = if j == 0 { 1.0 } else { 1.0 + gd_pred[t].abs() };
                worst[j * 2] = max_nan(worst[j * 2], (pred - gd_pred[t]).abs() / scale);
                if j == 0 {
                    for i in 0..n {
                        worst[1] = max_nan(worst[1], (out[(t * (n + 1) + i) * dp + d] - gd_resid[t * n + i]).abs());
                    }
                }
            }
            if j == 0 {
                let preds: Vec<f64> = (0..b).map(|t| -out[(t * (n + 1) + n) * dp + d]).collect();
                let lim = gd_pred.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                fig = fig
                    .with(Series::markers(format!("{} (f64)", if k == 0 { "U(−0.5,0.5)" } else { "N(0,I), σ²=0.1" }), gd_pred.clone(), preds, None, k))
                    .with(Series::line(if k == 0 { "identity".to_string() } else { "identity ".to_string() }, vec![-lim, lim], vec![-lim, lim], 6));
            }
        }
        let law = if k == 0 { "U(−0.5,0.5)" } else { "N(0,I)" };
        res.measurements.push(Measurement::at_most(format!("max |LSA − GD| query prediction, f64, {law}"), 1e-12, worst[0]));
        res.measurements.push(Measurement::at_most(format!("max |y-slot − GD residual| context tokens, f64, {law}"), 1e-12, worst[1]));
        res.measurements.push(Measurement::at_most(format!("max |LSA − GD|/(1+|GD|), f32, {law}"), 1e-5, worst[2]));
    }
    render(ctx, &mut res, fig)?;
    Ok(res.finish())
}

fn step_size(ctx: &Ctx) -> Result<CheckResult> {
    let tasks = if ctx.quick { 40_000 } else { 200_000 };
    let mut res = CheckResult::new(
        "icl-step-size",
        "Optimal one-step GD size η* and its risk (Mahankali Thm 1)",
        "For one GD step from w = 0, ŷ = (η/n)Σy_i x_i·x_q, with i.i.d. covariates of variance s and fourth moment m₄ and \
         w ~ N(0,I): η*/n = s/(m₄ + (n+d−2)s² + σ²s) and R* = sd − nds²(η*/n) + σ² (Gaussian: η* = n/(n+d+1+σ²)).",
        format!(
            "{tasks} fresh tasks per case: exact line search (the risk is quadratic in η) within 5% of η*; Monte-Carlo risk \
                 at η* within max(3 s.e., 1.5%) of R*."
        ),
    );
    let cases: [(&str, Option<f64>, usize, usize, f64); 6] = [
        ("N(0,I)", None, 10, 10, 0.0),
        ("N(0,I)", None, 20, 5, 0.5),
        ("U(−1,1)", Some(1.0), 10, 10, 0.0),
        ("U(−1,1)", Some(1.0), 20, 5, 0.5),
        ("U(−.5,.5)", Some(0.5), 10, 10, 0.0),
        ("U(−.5,.5)", Some(0.5), 20, 5, 0.5),
    ];
    let mut fig = Figure::new("icl_step_size", "One-step GD risk vs step size (n=10, d=10, noiseless)", "η / η*", "risk / R*");
    for (k, &(law, hw, n, d, s2)) in cases.iter().enumerate() {
        let dist = match hw {
            Some(r) => TaskDistribution::new(d, n, Covariates::Uniform { half_width: r }, Prior::Isotropic, s2)?,
            None => TaskDistribution::gaussian_iso(d, n, s2)?,
        };
        let (s, m4) = dist.iid_moments().ok_or_else(|| ValidationError::invalid("covariates", law, "i.i.d."))?;
        let eta_star = gd::eta_star(n, d, s, m4, s2);
        let r_star = gd::one_step_risk(eta_star, n, d, s, m4, s2);
        let mut rng = ctx.rng(0x5757, k as u64);
        let batch = dist.sample(tasks, &mut rng);
        let eta_ls = gd::line_search_eta(&batch);
        let tag = format!("{law}, n={n}, d={d}, σ²={s2}");
        res.measurements.push(Measurement::within(format!("line-searched η vs η*, {tag}"), eta_star, eta_ls, None, 0.0, 0.05, 0.0));
        let (r, se) = gd::half_mse(&gd::one_step_predictions(&batch, eta_star), &batch.yq);
        res.measurements.push(Measurement::within(format!("MC risk at η* vs R*, {tag}"), r_star, 2.0 * r, Some(2.0 * se), 3.0, 0.015, 0.0));
        if n == 10 {
            let ratios: Vec<f64> = (0..9).map(|i| 0.6 + 0.1 * i as f64).collect();
            let mc: Vec<(f64, f64)> = ratios.iter().map(|&q| gd::half_mse(&gd::one_step_predictions(&batch, q * eta_star), &batch.yq)).collect();
            let fine: Vec<f64> = (0..=80).map(|i| 0.6 + 0.01 * i as f64).collect();
            let color = k / 2;
            fig = fig
                .with(Series::line(
                    format!("theory {law}"),
                    fine.clone(),
                    fine.iter().map(|&q| gd::one_step_risk(q * eta_star, n, d, s, m4, s2) / r_star).collect(),
                    color,
                ))
                .with(Series::markers(
                    format!("Monte Carlo {law} (±1 s.e.)"),
                    ratios,
                    mc.iter().map(|m| 2.0 * m.0 / r_star).collect(),
                    Some(mc.iter().map(|m| 2.0 * m.1 / r_star).collect()),
                    color,
                ));
        }
    }
    render(ctx, &mut res, fig)?;
    Ok(res.finish())
}

fn preconditioner(ctx: &Ctx) -> Result<CheckResult> {
    let (d, n, s2, prompts) = (4, 8, 0.25, 400_000);
    let mut res = CheckResult::new(
        "icl-preconditioner",
        "Optimal preconditioner for non-isotropic covariates (Ahn Thm 1, Mahankali Thm 2)",
        "For ŷ = x_qᵀΓ(1/n)Σy_i x_i with x ~ N(0,Σ): Γ* = ((n+1)/n Σ + (trΣ + σ²)/n I)⁻¹ when w ~ N(0,I), and \
         Γ* = n/(n+d+1+σ²) Σ⁻¹ when w ~ N(0,Σ⁻¹) (general form Σ_wΣ[((n+1)/n)ΣΣ_wΣ + ((tr Σ_wΣ + σ²)/n)Σ]⁻¹).",
        format!(
            "d = {d}, n = {n}, σ² = {s2}, Σ = U diag(1, 0.64, 0.25, 0.09) Uᵀ with a random rotation U; least-squares fit of Γ on \
                 {prompts} prompts; relative Frobenius error ≤ 3%; the risk of Γ* must not exceed the best scalar step."
        ),
    );
    let mut rng = ctx.rng(0x9C, 0);
    let rotation = random_rotation(d, &mut rng);
    let scales = vec![1.0, 0.8, 0.5, 0.3];
    let mut fig = Figure::new("icl_preconditioner", "Entries of Γ: least-squares fit vs Γ*", "entry index (row-major)", "Γ entry");
    for (k, prior) in [Prior::Isotropic, Prior::InverseCovariance].into_iter().enumerate() {
        let dist = TaskDistribution::new(d, n, Covariates::Gaussian { rotation: rotation.clone(), scales: scales.clone() }, prior, s2)?;
        let sigma = dist.covariance();
        let sigma_w = match prior {
            Prior::Isotropic => (0..d * d).map(|i| if i % (d + 1) == 0 { 1.0 } else { 0.0 }).collect::<Vec<_>>(),
            Prior::InverseCovariance => {
                gd::spd_inverse(&sigma, d).ok_or(ValidationError::Numerical { context: "Σ⁻¹", message: "covariance not positive definite".into() })?
            }
        };
        let g_star =
            gd::optimal_preconditioner(&sigma, &sigma_w, n, s2).ok_or(ValidationError::Numerical { context: "Γ*", message: "singular system".into() })?;
        let batch = dist.sample(prompts, &mut ctx.rng(0x9C, 1 + k as u64));
        let g_fit = gd::fit_preconditioner(&batch).ok_or(ValidationError::Numerical { context: "Γ fit", message: "singular normal equations".into() })?;
        let frob = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let diff: Vec<f64> = g_fit.iter().zip(&g_star).map(|(a, b)| a - b).collect();
        let name = if k == 0 { "w ~ N(0,I)" } else { "w ~ N(0,Σ⁻¹)" };
        res.measurements.push(Measurement::at_most(format!("‖Γ_fit − Γ*‖_F/‖Γ*‖_F, {name}"), 0.03, frob(&diff) / frob(&g_star)));
        if prior == Prior::InverseCovariance {
            // the closed form n/(n+d+1+σ²)Σ⁻¹ must agree with the general formula
            let c = n as f64 / (n as f64 + d as f64 + 1.0 + s2);
            let simple: Vec<f64> = sigma_w.iter().map(|v| c * v).collect();
            let dd: Vec<f64> = simple.iter().zip(&g_star).map(|(a, b)| a - b).collect();
            res.measurements.push(Measurement::at_most("‖n/(n+d+1+σ²)Σ⁻¹ − Γ*(general)‖_F/‖Γ*‖_F".to_string(), 1e-10, frob(&dd) / frob(&g_star)));
        }
        let test = dist.sample(100_000, &mut ctx.rng(0x9C, 10 + k as u64));
        let (r_star, _) = gd::half_mse(&gd::preconditioned_predictions(&test, &g_star), &test.yq);
        let eta_scalar = gd::line_search_eta(&batch);
        let (r_scalar, _) = gd::half_mse(&gd::one_step_predictions(&test, eta_scalar), &test.yq);
        res.measurements.push(Measurement::at_most(format!("risk(Γ*)/risk(best scalar η), {name}"), 1.0, r_star / r_scalar));
        let idx: Vec<f64> = (0..d * d).map(|i| i as f64).collect();
        fig = fig.with(Series::line(format!("Γ* {name}"), idx.clone(), g_star.clone(), k)).with(Series::markers(format!("fit {name}"), idx, g_fit, None, k));
    }
    render(ctx, &mut res, fig)?;
    Ok(res.finish())
}

/// Train options of the single-layer run.
fn lsa_train_options(ctx: &Ctx) -> TrainOptions {
    if ctx.quick {
        TrainOptions { steps: 1500, batch: 512, lr: 2e-3, lr_decay: 0.3 }
    } else {
        TrainOptions { steps: 5000, batch: 2048, lr: 1e-3, lr_decay: 0.3 }
    }
}

fn trained_lsa(ctx: &Ctx) -> Result<CheckResult> {
    let (d, n) = (10, 10);
    let opts = lsa_train_options(ctx);
    let eval_tasks = 10_000;
    let mut res = CheckResult::new(
        "icl-trained-lsa",
        "Trained one-layer LSA ≈ one GD step with η* (von Oswald et al.)",
        "A single linear self-attention layer trained on fresh regression tasks converges to the GD construction: its loss \
         equals that of one GD step with the line-searched η, its input gradient ∂ŷ/∂x_q is aligned with the GD weight \
         (η/n)Σy_i x_i, and its implied step size equals η*.",
        format!(
            "x ~ U(−0.5,0.5)^{d}, w ~ N(0,I), n = {n}, noiseless; Adam (b2 = 0.98), lr {} decayed ×{} at 50% and 75%, \
                 {} steps × {} fresh tasks (f32, burn Autodiff<Flex>); metrics on {eval_tasks} held-out tasks against GD with η \
                 line-searched on 10⁴ tasks. Tolerances (theory.md §2.6): loss within 2%, mean cosine ≥ 0.995, mean |Δŷ| ≤ 5% \
                 RMS(y_q), implied η within 5% of η*.",
            fmt_num(opts.lr),
            opts.lr_decay,
            opts.steps,
            opts.batch
        ),
    );
    let dist = uniform(d, n, 0.5)?;
    let device = FlexDevice;
    let mut rng = ctx.rng(0x75A, 0);
    let mut curve = (Vec::new(), Vec::new());
    let mut window = 0.0;
    let every = (opts.steps / 50).max(1);
    let announce = (opts.steps / 5).max(1);
    let progress = ctx.progress;
    let model = train_lsa::<CpuAd>(&LsaConfig::new(d), &dist, &opts, &mut rng, &device, |step, loss| {
        window += loss;
        if (step + 1) % every == 0 {
            curve.0.push((step + 1) as f64);
            curve.1.push(window / every as f64);
            window = 0.0;
        }
        if (step + 1) % announce == 0 {
            progress.message(&format!("  icl-trained-lsa: step {}/{}, batch loss {:.4}", step + 1, opts.steps, loss));
        }
    });
    let train_batch = dist.sample(10_000, &mut ctx.rng(0x75A, 1));
    let eta_ls = gd::line_search_eta(&train_batch);
    let eta_star = gd::eta_star_of(&dist).unwrap_or(f64::NAN);
    let eval = dist.sample(eval_tasks, &mut ctx.rng(0x75A, 2));
    let metrics = compare_with_gd(&model, &eval, eta_ls);
    res.measurements.push(Measurement::within("½MSE: trained LSA vs GD(η line-searched)", metrics.gd_loss, metrics.tf_loss, None, 0.0, 0.02, 0.0));
    res.measurements.push(Measurement::at_least("mean cos(∂ŷ_TF/∂x_q, ∂ŷ_GD/∂x_q)", 0.995, metrics.cos));
    res.measurements.push(Measurement::at_most("mean |ŷ_TF − ŷ_GD| / RMS(y_q)", 0.05, metrics.pred_diff / metrics.rms_y));
    let eff = Effective::of(&model);
    res.measurements.push(Measurement::within("implied η = −n·p_y·mean diag(W_KᵀW_Q)_xx vs η*", eta_star, eff.implied_eta(n), None, 0.0, 0.05, 0.0));
    res.measurements.push(Measurement::within("line-searched η vs closed-form η*", eta_star, eta_ls, None, 0.0, 0.05, 0.0));
    res.notes.push(format!(
        "GD loss at the closed-form η* = {:.4}: {:.5}; mean ‖∂ŷ_TF/∂x_q − ∂ŷ_GD/∂x_q‖ = {:.4}; RMS(y_q) = {:.4}.",
        eta_star,
        gd::half_mse(&gd::one_step_predictions(&eval, eta_star), &eval.yq).0,
        metrics.model_diff,
        metrics.rms_y
    ));
    let fig = Figure::new("icl_lsa_training", "Training loss of one LSA layer (fresh tasks each step)", "Adam step", "½MSE (batch mean)")
        .log(true, true)
        .with(Series::line("LSA training loss (50-step mean)", curve.0.clone(), curve.1, 0))
        .with(Series::line(format!("one GD step, η = {:.3}", eta_ls), vec![curve.0[0], *curve.0.last().unwrap_or(&1.0)], vec![metrics.gd_loss; 2], 1));
    render(ctx, &mut res, fig)?;
    let k = 400.min(eval.b);
    let fig2 = Figure::new("icl_lsa_vs_gd", "Trained LSA vs GD predictions on held-out tasks", "GD prediction", "LSA prediction")
        .with(Series::markers("held-out tasks", metrics.gd_pred[..k].to_vec(), metrics.tf_pred[..k].to_vec(), None, 0))
        .with(Series::line("identity", vec![-3.0, 3.0], vec![-3.0, 3.0], 6));
    render(ctx, &mut res, fig2)?;
    Ok(res.finish())
}

/// von Oswald's alignment metrics of a trained one-layer model against GD with step `eta`.
struct GdComparison {
    tf_loss: f64,
    gd_loss: f64,
    cos: f64,
    model_diff: f64,
    pred_diff: f64,
    rms_y: f64,
    tf_pred: Vec<f64>,
    gd_pred: Vec<f64>,
}

fn compare_with_gd(model: &crate::icl::lsa::Lsa<Cpu>, eval: &Batch, eta: f64) -> GdComparison {
    let device = FlexDevice;
    let tf_pred = to_f64(model.predict(tokens::<Cpu>(eval, None, &device, DType::F32)));
    let gd_pred = gd::one_step_predictions(eval, eta);
    let eff = Effective::of(model);
    let (mut cos, mut diff) = (0.0, 0.0);
    for t in 0..eval.b {
        let g_tf = eff.query_gradient(eval, t);
        let g_gd: Vec<f64> = eval.h(t).iter().map(|v| eta * v).collect();
        let (a, b) = (dot(&g_tf, &g_tf).sqrt(), dot(&g_gd, &g_gd).sqrt());
        cos += dot(&g_tf, &g_gd) / (a * b).max(1e-300);
        diff += g_tf.iter().zip(&g_gd).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
    }
    let bf = eval.b as f64;
    GdComparison {
        tf_loss: gd::half_mse(&tf_pred, &eval.yq).0,
        gd_loss: gd::half_mse(&gd_pred, &eval.yq).0,
        cos: cos / bf,
        model_diff: diff / bf,
        pred_diff: tf_pred.iter().zip(&gd_pred).map(|(a, b)| (a - b).abs()).sum::<f64>() / bf,
        rms_y: (eval.yq.iter().map(|y| y * y).sum::<f64>() / bf).sqrt(),
        tf_pred,
        gd_pred,
    }
}

fn multilayer(ctx: &Ctx) -> Result<CheckResult> {
    let (d, n) = (10, 10);
    let ks: Vec<usize> = if ctx.quick { vec![2] } else { vec![2, 3] };
    let tune_tasks = if ctx.quick { 2000 } else { 8000 };
    let opts = if ctx.quick {
        TrainOptions { steps: 2500, batch: 512, lr: 5e-3, lr_decay: 0.3 }
    } else {
        TrainOptions { steps: 4000, batch: 1024, lr: 5e-3, lr_decay: 0.3 }
    };
    let mut res = CheckResult::new(
        "icl-multilayer",
        "K-layer LSA vs K steps of GD and GD++",
        "K steps of GD++ (each layer also applies x ← (I − γΣx_ix_iᵀ)x, a curvature correction) beat K steps of plain GD for \
         K ≥ 2, and a trained K-layer LSA implements GD++ (von Oswald et al.; reference losses theory.md §2.6).",
        format!(
            "U(−0.5,0.5), d = n = {d}, noiseless, losses on 10⁴ fresh tasks. GD(K) and GD++(K) with shared (tied) η, γ tuned on \
                 {tune_tasks} tasks vs the reference table (max(3 s.e., 3%)); two-layer GD++ with untied (η₁, γ₁, η₂) tuned globally \
                 (grid + closed-form last step). K-layer LSA trained with Adam ({} steps × {}, lr {}, ×{} at 50%/75%). Assertions: \
                 GD++ with the (η_ℓ, γ_ℓ) read off the trained weights reproduces the LSA (loss within 5%, mean |Δŷ| ≤ 5% RMS(y)); \
                 LSA within 5% of tuned untied GD++ and ≤ 0.8 × GD at K = 2; K = 3 (full run only) is reported, not asserted.",
            opts.steps,
            opts.batch,
            fmt_num(opts.lr),
            opts.lr_decay
        ),
    );
    let reference_gd = [0.2061, 0.1567, 0.1327];
    let reference_pp = [0.2061, 0.1106, 0.0775];
    let dist = uniform(d, n, 0.5)?;
    let tune = dist.sample(tune_tasks, &mut ctx.rng(0x6D6C, 0));
    let eval = dist.sample(10_000, &mut ctx.rng(0x6D6C, 1));
    let rms_y = (eval.yq.iter().map(|y| y * y).sum::<f64>() / eval.b as f64).sqrt();
    let eta1 = gd::eta_star_of(&dist).unwrap_or(6.0);
    let gd1 = gd::half_mse(&gd::one_step_predictions(&eval, eta1), &eval.yq).0;
    let (mut xk, mut l_gd, mut l_pp, mut l_tf, mut l_ro) = (vec![1.0], vec![gd1], vec![gd1], vec![], vec![]);
    let mut untied = (vec![], vec![]);
    for &k in &ks {
        ctx.progress.message(&format!("  icl-multilayer: tuning GD/GD++ for K = {k}"));
        let hint = eta1 * (1.0 + 0.6 * (k as f64 - 1.0));
        let (e_gd, _, _) = gd::tune_gdpp(&tune, k, false, hint);
        let (e_pp, g_pp, _) = gd::tune_gdpp(&tune, k, true, hint);
        let (lg, sg) = gd::half_mse(&gd::gdpp_predictions(&eval, k, e_gd, 0.0), &eval.yq);
        let (lp, sp) = gd::half_mse(&gd::gdpp_predictions(&eval, k, e_pp, g_pp), &eval.yq);
        res.measurements.push(Measurement::within(
            format!("GD({k}) loss, tied η = {e_gd:.2}, vs reference"),
            reference_gd[k - 1],
            lg,
            Some(sg),
            3.0,
            0.03,
            0.0,
        ));
        res.measurements.push(Measurement::within(
            format!("GD++({k}) loss, tied η = {e_pp:.2}, γ = {g_pp:.3}, vs reference"),
            reference_pp[k - 1],
            lp,
            Some(sp),
            3.0,
            0.03,
            0.0,
        ));
        ctx.progress.message(&format!("  icl-multilayer: training {k}-layer LSA"));
        let mut rng = ctx.rng(0x6D6C, 100 + k as u64);
        let model = train_lsa::<CpuAd>(&LsaConfig::new(d).with_layers(k), &dist, &opts, &mut rng, &FlexDevice, |_, _| {});
        let tf_pred = to_f64(model.predict(tokens::<Cpu>(&eval, None, &FlexDevice, DType::F32)));
        let (lt, _) = gd::half_mse(&tf_pred, &eval.yq);
        let ro = read_off_gdpp(&model);
        let ro_pred = gd::gdpp_layers(&eval, &ro);
        let (lr, _) = gd::half_mse(&ro_pred, &eval.yq);
        let ro_txt: Vec<String> = ro.iter().map(|(e, g)| format!("({e:.2}, {g:.3})")).collect();
        let diff = tf_pred.iter().zip(&ro_pred).map(|(a, b)| (a - b).abs()).sum::<f64>() / eval.b as f64;
        if k == 2 {
            res.measurements.push(Measurement::within(
                format!("2-layer LSA loss vs GD++ with (η_ℓ, γ_ℓ) read off its weights {}", ro_txt.join(" ")),
                lr,
                lt,
                None,
                0.0,
                0.05,
                0.0,
            ));
            res.measurements.push(Measurement::at_most("2-layer LSA: mean |ŷ_TF − ŷ_GD++(read-off)| / RMS(y_q)", 0.05, diff / rms_y));
            ctx.progress.message("  icl-multilayer: global tuning of untied two-layer GD++");
            let (pu, _) = gd::tune_gdpp_two_layer(&tune);
            let (lu, _) = gd::half_mse(&gd::gdpp_layers(&eval, &pu), &eval.yq);
            res.measurements.push(Measurement::within(
                format!("2-layer LSA loss vs tuned untied GD++ (η₁ = {:.2}, γ₁ = {:.3}, η₂ = {:.2})", pu[0].0, pu[0].1, pu[1].0),
                lu,
                lt,
                None,
                0.0,
                0.05,
                0.0,
            ));
            res.measurements.push(Measurement::at_most("2-layer LSA loss / GD(2) loss", 0.8, lt / lg));
            untied = (vec![2.0], vec![lu]);
        } else {
            // Not asserted: in trials with different seeds the 3-layer LSA ended anywhere between
            // ½MSE 0.046 and 0.091 (same settings), i.e. training, not the theory, decides.
            res.notes.push(format!(
                "{k}-layer LSA (observation, not asserted — its training outcome varied from 0.046 to 0.091 across seeds in \
                 development runs): loss {lt:.4} vs tied GD++({k}) {lp:.4} and GD({k}) {lg:.4}; GD++ with the parameters read off \
                 its weights {} has loss {lr:.4} and mean |Δŷ|/RMS(y) = {:.3}.",
                ro_txt.join(" "),
                diff / rms_y
            ));
        }
        xk.push(k as f64);
        l_gd.push(lg);
        l_pp.push(lp);
        l_tf.push(lt);
        l_ro.push(lr);
    }
    res.notes.push(
        "The tied GD++ optimum of theory.md §2.6 is not the best GD++: with untied per-layer parameters the loss landscape has \
         another basin (small η₁, large γ₁, large η₂) which the trained LSA finds; a local search started from the tied optimum \
         misses it, hence the global grid for K = 2."
            .into(),
    );
    let kt: Vec<f64> = xk[1..].to_vec();
    let fig = Figure::new("icl_multilayer", "Loss after K layers / steps (U(−0.5,0.5), d = n = 10)", "K", "½MSE")
        .with(Series::line("GD (tied η)", xk.clone(), l_gd, 0))
        .with(Series::line("GD++ (tied η, γ)", xk.clone(), l_pp, 1))
        .with(Series::markers("GD++ untied, tuned", untied.0, untied.1, None, 4))
        .with(Series::markers("trained K-layer LSA", kt.clone(), l_tf, None, 2))
        .with(Series::markers("GD++ read off the LSA", kt, l_ro, None, 3))
        .with(Series::markers("reference tied GD++ (theory.md)", vec![1.0, 2.0, 3.0], reference_pp.to_vec(), None, 6));
    render(ctx, &mut res, fig)?;
    Ok(res.finish())
}

fn baselines(ctx: &Ctx) -> Result<CheckResult> {
    let d = 8;
    let tasks = if ctx.quick { 4000 } else { 20_000 };
    let designs = if ctx.quick { 20_000 } else { 100_000 };
    let mut res = CheckResult::new(
        "icl-baselines",
        "Ridge / OLS / one-step-GD baselines across noise levels (Akyürek et al.)",
        "For w ~ N(0,I), x ~ N(0,I): the Bayes predictor is ridge with λ = σ² (min-norm OLS when σ = 0); OLS risk \
         σ²(1 + d/(n−d−1)) (n ≥ d+2), min-norm (d−n) + σ²n/(d−n−1) + σ² (n ≤ d−2), diverging at n = d for σ > 0; \
         one GD step at η*: d(d+1+σ²)/(n+d+1+σ²) + σ². Ridge never exceeds the others.",
        format!(
            "d = {d}, {tasks} tasks per (σ², n), full-MSE risk; closed forms where the risk has finite variance (OLS n ≥ d+5, \
                 min-norm n ≤ d−4) within max(3 s.e., 2%); ridge at the points of theory.md §2.7's table against the Bayes risk \
                 σ²E tr((XᵀX+σ²I)⁻¹) + σ² estimated from {designs} designs (max(3 s.e., 2%)); ridge ≤ OLS (n ≠ d) and ridge ≤ GD \
                 up to 3 s.e. of the paired difference."
        ),
    );
    let reference: [(f64, usize, f64); 8] =
        [(0.0, 4, 3.99), (0.0, 16, 0.0), (0.25, 4, 4.53), (0.25, 8, 1.77), (0.25, 16, 0.511), (1.0, 8, 3.51), (1.0, 16, 1.89), (1.0, 24, 1.48)];
    let ns: Vec<usize> = (1..=24).collect();
    for (si, &s2) in [0.0, 0.25, 1.0].iter().enumerate() {
        let mut fig = Figure::new(
            format!("icl_baselines_noise_{s2}"),
            format!("Risk vs context length, d = {d}, σ² = {s2} ({tasks} tasks per point)"),
            "context length n",
            "E(ŷ − y_q)²",
        );
        let (mut xr, mut yr, mut er, mut xo, mut yo, mut eo, mut xg, mut yg, mut eg) = (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        for &n in &ns {
            let dist = TaskDistribution::gaussian_iso(d, n, s2)?;
            let batch = dist.sample(tasks, &mut ctx.rng(0xBA5E ^ (si as u64) << 8, n as u64));
            let ridge = gd::ridge_sq_errors(&batch, s2);
            let ols = gd::ridge_sq_errors(&batch, 0.0);
            let eta = gd::eta_star(n, d, 1.0, 3.0, s2);
            let gdp = gd::one_step_predictions(&batch, eta);
            let gde: Vec<f64> = gdp.iter().zip(&batch.yq).map(|(p, y)| (p - y).powi(2)).collect();
            let (rr, rse) = gd::mean_se(&ridge);
            let (ro, ose) = gd::mean_se(&ols);
            let (rg, gse) = gd::mean_se(&gde);
            xr.push(n as f64);
            yr.push(rr);
            er.push(rse);
            // near n = d the noisy OLS risk has infinite mean or variance: no marker there
            if s2 == 0.0 || n + 2 <= d || n >= d + 2 {
                xo.push(n as f64);
                yo.push(ro);
                eo.push(ose);
            }
            xg.push(n as f64);
            yg.push(rg);
            eg.push(gse);
            let tag = format!("σ²={s2}, n={n}");
            res.measurements.push(Measurement::within(format!("1-step GD at η*, {tag}"), closed_form::one_step_gd(n, d, s2), rg, Some(gse), 3.0, 0.02, 0.0));
            if n >= d + 5 && s2 > 0.0 {
                if let Some(c) = closed_form::ols(n, d, s2) {
                    res.measurements.push(Measurement::within(format!("OLS, {tag}"), c, ro, Some(ose), 3.0, 0.02, 0.0));
                }
            }
            if n + 4 <= d {
                if let Some(c) = closed_form::min_norm(n, d, s2) {
                    res.measurements.push(Measurement::within(format!("min-norm, {tag}"), c, ro, Some(ose), 3.0, 0.02, 0.0));
                }
            }
            if let Some(&(_, _, r)) = reference.iter().find(|(a, b, _)| *a == s2 && *b == n) {
                let (exact, exact_se) = gd::bayes_risk_gaussian(n, d, s2, designs, &mut ctx.rng(0xBA7E5, n as u64));
                res.measurements.push(Measurement::within(
                    format!("ridge (Bayes) Monte Carlo vs σ²E tr((XᵀX+σ²I)⁻¹) + σ² = {} ± {}, {tag}", fmt_num(exact), fmt_num(exact_se)),
                    exact,
                    rr,
                    Some(rse),
                    3.0,
                    0.02,
                    1e-9,
                ));
                if (exact - r).abs() > 0.02 * exact.max(1e-9) + 3.0 * exact_se {
                    res.notes.push(format!(
                        "theory.md §2.7 lists ridge risk {r} at σ² = {s2}, n = {n} (a Monte-Carlo value); the conditional-expectation \
                         estimate here is {} ± {} — the table entry is off by {:.1}%.",
                        fmt_num(exact),
                        fmt_num(exact_se),
                        100.0 * (r / exact - 1.0)
                    ));
                }
                if s2 > 0.0 {
                    for (other, name) in [(&ols, "OLS"), (&gde, "GD")] {
                        if name == "OLS" && n == d {
                            continue; // OLS risk is infinite at n = d; the paired bound would be vacuous
                        }
                        let diff: Vec<f64> = ridge.iter().zip(other.iter()).map(|(a, b)| a - b).collect();
                        let (m, se) = gd::mean_se(&diff);
                        res.measurements.push(Measurement::at_most(format!("ridge − {name} risk, {tag} (bound 3 s.e.)"), 3.0 * se, m));
                    }
                }
            }
        }
        let theory_gd: Vec<f64> = ns.iter().map(|&n| closed_form::one_step_gd(n, d, s2)).collect();
        // two closed-form branches (min-norm below d, OLS above), drawn separately so the
        // line does not bridge the divergence at n = d
        let branch = |f: &dyn Fn(usize) -> Option<f64>| -> (Vec<f64>, Vec<f64>) { ns.iter().filter_map(|&n| f(n).map(|c| (n as f64, c))).unzip() };
        let (xm, ym) = if s2 == 0.0 { branch(&|n| Some((d as f64 - n as f64).max(0.0))) } else { branch(&|n| closed_form::min_norm(n, d, s2)) };
        let (xc, yc) = if s2 == 0.0 { (vec![], vec![]) } else { branch(&|n| closed_form::ols(n, d, s2)) };
        fig = fig
            .with(Series::line("1-step GD at η*, closed form", ns.iter().map(|&n| n as f64).collect(), theory_gd, 0))
            .with(Series::markers("1-step GD, Monte Carlo", xg, yg, Some(eg), 0))
            .with(Series::line(if s2 == 0.0 { "min-norm / OLS, closed form (d − n)₊" } else { "min-norm, closed form (n ≤ d−2)" }, xm, ym, 1))
            .with(Series::line("OLS, closed form (n ≥ d+2)", xc, yc, 5))
            .with(Series::markers("OLS / min-norm, Monte Carlo", xo, yo, Some(eo), 1))
            .with(Series::markers("ridge λ = σ² (Bayes), Monte Carlo", xr, yr, Some(er), 2));
        render(ctx, &mut res, fig)?;
    }
    res.notes.push("The OLS/min-norm line skips n = d, where its risk is infinite for σ > 0 (and its Monte-Carlo mean unstable).".into());
    res.notes.push("Trained softmax transformers (Akyürek's I6) are not part of this harness; only the baselines are checked.".into());
    Ok(res.finish())
}

/// Sizes of the risk-vs-noise study.
struct NoiseSizes {
    levels: Vec<f64>,
    eval_tasks: usize,
    designs: usize,
    one_layer: TrainOptions,
    /// Two-layer training (full run only).
    two_layer: Option<TrainOptions>,
}

impl NoiseSizes {
    fn new(quick: bool) -> Self {
        if quick {
            NoiseSizes {
                levels: vec![0.25, 1.0],
                eval_tasks: 10_000,
                designs: 20_000,
                one_layer: TrainOptions { steps: 1200, batch: 512, lr: 3e-3, lr_decay: 0.3 },
                two_layer: None,
            }
        } else {
            NoiseSizes {
                levels: vec![0.0, 0.1, 0.25, 0.5, 1.0, 2.0],
                eval_tasks: 20_000,
                designs: 100_000,
                one_layer: TrainOptions { steps: 3000, batch: 1024, lr: 3e-3, lr_decay: 0.3 },
                two_layer: Some(TrainOptions { steps: 3000, batch: 1024, lr: 3e-3, lr_decay: 0.3 }),
            }
        }
    }
}

/// Risk of every predictor at several noise levels for one (d, n) (Akyürek et al.'s
/// comparison), with trained LSA models.
fn noise_levels(ctx: &Ctx) -> Result<CheckResult> {
    let (d, n) = (5, 10);
    let sz = NoiseSizes::new(ctx.quick);
    let mut res = CheckResult::new(
        "icl-noise",
        "Risk vs noise level: ridge / Bayes, OLS, one GD step, trained LSA (Akyürek et al.'s comparison)",
        "For x ~ N(0,I_d), w ~ N(0,I), y = w·x + N(0,σ²): the Bayes-optimal predictor is the posterior mean, i.e. ridge with \
             λ = σ² (theory.md §2.7), whose risk σ²E tr((XᵀX+σ²I)⁻¹) + σ² no predictor can beat; OLS has risk σ²(1 + d/(n−d−1)); \
             one GD step from 0 at η*/n = 1/(n+d+1+σ²) has risk d(d+1+σ²)/(n+d+1+σ²) + σ² (theory.md §2.4). A trained \
             one-layer LSA implements exactly that GD step, with the noise-dependent η* (Mahankali et al. Thm 1; von \
             Oswald et al.), so its risk tracks the GD line, not ridge. A two-layer LSA can represent one GD step (second layer \
             off), so its optimum lies between the Bayes risk and the one-step-GD risk."
            .to_string(),
        format!(
            "d = {d}, n = {n}, σ² ∈ {{{}}}; {} held-out tasks per σ² (the same tasks for every predictor, so differences are \
             paired); Bayes risk from {} random designs. Tolerances (theory.md §1.11/§2.10): Monte-Carlo OLS, ridge and GD risks \
             within max(3 s.e., 2%) of their closed forms (absolute 1e-9 where the risk is 0); one-layer LSA (Adam, {} steps × \
             {} fresh tasks, lr {}, ×{} at 50%/75%, f32) risk within 2% of GD at η*(σ²) and implied η within 5% of η*(σ²) (I4); \
             two-layer LSA ({}): risk ≥ Bayes risk − 3 s.e. (paired) and ≤ one-step-GD risk.",
            sz.levels.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "),
            sz.eval_tasks,
            sz.designs,
            sz.one_layer.steps,
            sz.one_layer.batch,
            fmt_num(sz.one_layer.lr),
            sz.one_layer.lr_decay,
            sz.two_layer
                .as_ref()
                .map(|o| format!("full run only, {} steps × {}", o.steps, o.batch))
                .unwrap_or_else(|| "full run only; not run in --quick".into()),
        ),
    );
    let device = FlexDevice;
    let sq = |pred: &[f64], y: &[f64]| -> Vec<f64> { pred.iter().zip(y).map(|(p, y)| (p - y).powi(2)).collect() };
    let mut rows = Vec::new();
    let (mut c_bayes, mut c_ols, mut c_gd) = (Vec::new(), Vec::new(), Vec::new());
    let (mut m_ridge, mut m_ols, mut m_gd, mut m_tf1, mut m_tf2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (li, &s2) in sz.levels.iter().enumerate() {
        let dist = TaskDistribution::gaussian_iso(d, n, s2)?;
        let eval = dist.sample(sz.eval_tasks, &mut ctx.rng(0x4E01, (s2 * 1000.0) as u64));
        let tag = format!("σ² = {s2}");
        let ridge = gd::ridge_sq_errors(&eval, s2);
        let ols = gd::ridge_sq_errors(&eval, 0.0);
        let eta = gd::eta_star(n, d, 1.0, 3.0, s2);
        let gde = sq(&gd::one_step_predictions(&eval, eta), &eval.yq);
        let (rr, rse) = gd::mean_se(&ridge);
        let (ro, ose) = gd::mean_se(&ols);
        let (rg, gse) = gd::mean_se(&gde);
        let (bayes, bayes_se) = gd::bayes_risk_gaussian(n, d, s2, sz.designs, &mut ctx.rng(0x4E02, (s2 * 1000.0) as u64));
        let ols_c = closed_form::ols(n, d, s2).unwrap_or(f64::NAN);
        let gd_c = closed_form::one_step_gd(n, d, s2);
        res.measurements.push(Measurement::within(
            format!("ridge (Bayes) risk vs σ²E tr((XᵀX+σ²I)⁻¹) + σ² = {} ± {}, {tag}", fmt_num(bayes), fmt_num(bayes_se)),
            bayes,
            rr,
            Some(rse),
            3.0,
            0.02,
            1e-9,
        ));
        res.measurements.push(Measurement::within(format!("OLS risk vs σ²(1 + d/(n−d−1)), {tag}"), ols_c, ro, Some(ose), 3.0, 0.02, 1e-9));
        res.measurements.push(Measurement::within(format!("1-step GD risk at η* = {eta:.4} vs closed form, {tag}"), gd_c, rg, Some(gse), 3.0, 0.02, 0.0));

        ctx.progress.message(&format!("  icl-noise: training 1-layer LSA at σ² = {s2}"));
        let model = train_lsa::<CpuAd>(&LsaConfig::new(d), &dist, &sz.one_layer, &mut ctx.rng(0x4E03, li as u64), &device, |_, _| {});
        let p1 = to_f64(model.predict(tokens::<Cpu>(&eval, None, &device, DType::F32)));
        let tf1 = sq(&p1, &eval.yq);
        let (r1, se1) = gd::mean_se(&tf1);
        res.measurements.push(Measurement::within(
            format!("1-layer LSA risk vs 1-step GD at η* (same tasks: {}), {tag}", fmt_num(rg)),
            rg,
            r1,
            None,
            0.0,
            0.02,
            0.0,
        ));
        let implied = Effective::of(&model).implied_eta(n);
        res.measurements.push(Measurement::within(format!("1-layer LSA implied η vs η*(σ²), {tag}"), eta, implied, None, 0.0, 0.05, 0.0));
        let mut r2 = (f64::NAN, f64::NAN);
        if let Some(opts) = &sz.two_layer {
            ctx.progress.message(&format!("  icl-noise: training 2-layer LSA at σ² = {s2}"));
            let model2 = train_lsa::<CpuAd>(&LsaConfig::new(d).with_layers(2), &dist, opts, &mut ctx.rng(0x4E04, li as u64), &device, |_, _| {});
            let p2 = to_f64(model2.predict(tokens::<Cpu>(&eval, None, &device, DType::F32)));
            let tf2 = sq(&p2, &eval.yq);
            r2 = gd::mean_se(&tf2);
            // Paired: the TF's excess over the ridge (Bayes) predictor on the same tasks.
            let excess: Vec<f64> = tf2.iter().zip(&ridge).map(|(a, b)| a - b).collect();
            let (ex, ex_se) = gd::mean_se(&excess);
            res.measurements.push(Measurement::at_least(format!("2-layer LSA risk − ridge risk (same tasks), {tag} (bound −3 s.e.)"), -3.0 * ex_se, ex));
            res.measurements.push(Measurement::at_most(format!("2-layer LSA risk (bound: 1-step GD risk at η*), {tag}"), rg, r2.0));
        }
        rows.push(format!(
            "σ² = {s2}: Bayes {} | ridge {} ± {} | OLS {} ± {} (closed {}) | GD(η*) {} ± {} (closed {}) | LSA-1 {} ± {} (η {} vs {}) | LSA-2 {}",
            fmt_num(bayes),
            fmt_num(rr),
            fmt_num(rse),
            fmt_num(ro),
            fmt_num(ose),
            fmt_num(ols_c),
            fmt_num(rg),
            fmt_num(gse),
            fmt_num(gd_c),
            fmt_num(r1),
            fmt_num(se1),
            fmt_num(implied),
            fmt_num(eta),
            if r2.0.is_nan() { "—".to_string() } else { format!("{} ± {}", fmt_num(r2.0), fmt_num(r2.1)) }
        ));
        c_bayes.push(bayes);
        c_ols.push(ols_c);
        c_gd.push(gd_c);
        m_ridge.push((rr, rse));
        m_ols.push((ro, ose));
        m_gd.push((rg, gse));
        m_tf1.push((r1, se1));
        m_tf2.push(r2);
    }
    // Closed-form curves on a fine σ² grid; Bayes only at the measured levels.
    let top = sz.levels.iter().copied().fold(0.0, f64::max);
    let grid: Vec<f64> = (0..=40).map(|i| top * i as f64 / 40.0).collect();
    let xs = sz.levels.clone();
    let split = |v: &[(f64, f64)]| -> (Vec<f64>, Vec<f64>) { v.iter().copied().unzip() };
    let (yr, er) = split(&m_ridge);
    let (yo, eo) = split(&m_ols);
    let (yg, eg) = split(&m_gd);
    let (y1, e1) = split(&m_tf1);
    let mut fig = Figure::new("icl_noise", format!("Risk vs noise level, x ~ N(0,I), d = {d}, n = {n}"), "noise variance σ²", "E(ŷ − y_q)²")
        .legend_at(crate::plot::LegendCorner::UpperLeft)
        .with(Series::line("OLS, closed form", grid.clone(), grid.iter().map(|&s| closed_form::ols(n, d, s).unwrap_or(f64::NAN)).collect(), 1))
        .with(Series::markers("OLS, Monte Carlo", xs.clone(), yo, Some(eo), 1))
        .with(Series::line("1-step GD at η*(σ²), closed form", grid.clone(), grid.iter().map(|&s| closed_form::one_step_gd(n, d, s)).collect(), 0))
        .with(Series::markers("1-step GD, Monte Carlo", xs.clone(), yg, Some(eg), 0))
        .with(Series::line("Bayes-optimal risk σ²E tr((XᵀX+σ²I)⁻¹) + σ²", xs.clone(), c_bayes.clone(), 2))
        .with(Series::markers("ridge λ = σ², Monte Carlo", xs.clone(), yr, Some(er), 2))
        .with(Series::markers("trained 1-layer LSA", xs.clone(), y1, Some(e1), 3));
    if sz.two_layer.is_some() {
        let (y2, e2) = split(&m_tf2);
        fig = fig.with(Series::markers("trained 2-layer LSA", xs.clone(), y2, Some(e2), 4));
    }
    render(ctx, &mut res, fig)?;
    res.notes.push(format!("Risks per noise level (full MSE, ± 1 s.e.): {}.", rows.join("; ")));
    res.notes.push(
        "Ridge with λ = σ²/τ² and the Bayes posterior mean are the same predictor here (τ = 1), so the figure shows one Bayes \
         curve (conditional expectation over designs) with the ridge Monte Carlo on it. Trained softmax transformers \
         (Akyürek's large models, which approach ridge) are outside this harness; the LSA models are the linear-attention \
         analogues, and the theory places the one-layer model on the GD line."
            .into(),
    );
    Ok(res.finish())
}
