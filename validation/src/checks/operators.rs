//! Operator checks: test error of trained neural operators against grid resolution
//! ("train at one grid, evaluate at others").
//!
//! Darcy samples are drawn in memory with the reference solver on a fine node grid; coarser
//! grids keep every 2nd, 4th, … node (numpy `[::2, ::2]`), which is exactly how FNO is
//! evaluated across resolutions in the reference scripts. An FNO and a small MgNO are trained
//! on CPU at one middle grid with the pieces of `oplab_operators` (models, scalar Gaussian
//! normalisers, relative L2, seeded epoch orders) and evaluated on held-out samples at every
//! grid.

use super::{CheckSpec, Ctx};
use crate::error::{Result, ValidationError};
use crate::plot::{self, Figure, LegendCorner, Series};
use crate::report::{fmt_num, CheckResult, Measurement};
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::ElementConversion;
use oplab_operators::backend::{Cpu, CpuTrain};
use oplab_operators::data::{batches, epoch_order, FieldSet};
use oplab_operators::losses::relative_l2;
use oplab_operators::normalizers::{GaussianNormalizer, NormalizerKind};
use oplab_operators::{Fno2dConfig, MgNoConfig, Operator2d};
use oplab_solvers::elliptic::{subsample_nodes, DarcyConfig, DarcySampler};
use std::time::Instant;

/// The operator checks.
pub fn checks() -> Vec<CheckSpec> {
    vec![CheckSpec { name: "operator-resolution", group: "operator", run: resolution }]
}

/// A-priori bound on FNO's error at a finer grid relative to its training-grid error. The
/// spectral weights multiply the same continuum Fourier modes on every grid (the DFT's 1/n
/// normalisation makes the layer grid-independent), so what changes is only the sharper
/// sampling of the discontinuous coefficient seen by the pointwise path and the DFT period
/// (n+1)h; 1.5× leaves room for that, while a model whose kernels are fixed in grid units
/// (a local CNN, whose stencils halve in physical size) is not held to anything near it.
const FINER_RATIO: f64 = 1.5;
/// A-priori bound for the coarser grid, looser than [`FINER_RATIO`]: on the 17-node grid the
/// kept modes (8 per sign) are the whole spectrum, so aliasing of the thresholded (piecewise
/// constant) coefficient enters every mode the model sees.
const COARSER_RATIO: f64 = 2.0;

/// Sizes of one run of the check.
struct Sizes {
    /// Side of the finest node grid (solver grid), 2^k + 1.
    fine: usize,
    /// Number of grids: fine, fine/2, … (each keeps every 2nd node of the previous).
    grids: usize,
    /// Index (0 = finest) of the training grid.
    train_grid: usize,
    n_train: usize,
    n_test: usize,
    epochs: usize,
    batch: usize,
    lr: f64,
    fno_width: usize,
    fno_modes: usize,
    mgno_channels: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Sizes { fine: 65, grids: 3, train_grid: 1, n_train: 96, n_test: 32, epochs: 25, batch: 8, lr: 5e-3, fno_width: 12, fno_modes: 8, mgno_channels: 8 }
        } else {
            Sizes { fine: 129, grids: 4, train_grid: 2, n_train: 300, n_test: 100, epochs: 50, batch: 10, lr: 5e-3, fno_width: 20, fno_modes: 8, mgno_channels: 12 }
        }
    }

    /// Node-grid sides, finest first.
    fn sides(&self) -> Vec<usize> {
        (0..self.grids).map(|k| (self.fine - 1) / (1 << k) + 1).collect()
    }
}

fn numerical(context: &'static str, e: impl ToString) -> ValidationError {
    ValidationError::Numerical { context, message: e.to_string() }
}

/// Darcy pairs on the fine grid, as f64 (coefficient, solution).
fn darcy_pairs(ctx: &Ctx, sampler: &DarcySampler, stream: u64, n: usize) -> Result<Vec<(Vec<f64>, Vec<f64>)>> {
    (0..n)
        .map(|i| {
            let mut rng = ctx.rng(stream, i as u64);
            let s = sampler.sample(&mut rng).map_err(|e| numerical("darcy sample", e))?;
            Ok((s.coeff, s.solution))
        })
        .collect()
}

/// The pairs subsampled by `k` (every k-th node) as an f32 field set.
fn field_set(pairs: &[(Vec<f64>, Vec<f64>)], fine: usize, k: usize) -> Result<FieldSet> {
    let side = (fine - 1) / k + 1;
    let mut input = Vec::with_capacity(pairs.len() * side * side);
    let mut target = Vec::with_capacity(pairs.len() * side * side);
    for (a, u) in pairs {
        let (a, m) = subsample_nodes(a, fine, k).map_err(|e| numerical("subsample", e))?;
        let (u, _) = subsample_nodes(u, fine, k).map_err(|e| numerical("subsample", e))?;
        debug_assert_eq!(m, side);
        input.extend(a.iter().map(|&v| v as f32));
        target.extend(u.iter().map(|&v| v as f32));
    }
    Ok(FieldSet { input, target, n: pairs.len(), c_in: 1, c_out: 1, h: side, w: side })
}

/// Mean and standard error of per-sample values.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (m, (var / n).sqrt())
}

/// Fits `model` to `set` (inputs already encoded) with Adam and a cosine learning-rate decay,
/// minimising the relative L2 error of the decoded prediction. Returns the model and the mean
/// training loss of each epoch.
fn fit<M>(mut model: M, set: &FieldSet, target_norm: &GaussianNormalizer, sz: &Sizes, seed: u64) -> Result<(M, Vec<f64>)>
where
    M: Operator2d<CpuTrain> + AutodiffModule<CpuTrain>,
{
    let device = Default::default();
    let mut optim = AdamConfig::new().init::<CpuTrain, M>();
    let mut curve = Vec::with_capacity(sz.epochs);
    for epoch in 0..sz.epochs {
        // Cosine decay to 2% of the peak: short runs need a large step early and a small one
        // at the end to settle.
        let frac = epoch as f64 / sz.epochs as f64;
        let lr = sz.lr * (0.02 + 0.98 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()));
        let (mut sum, mut count) = (0.0, 0usize);
        for idx in batches(&epoch_order(set.n, seed, epoch), sz.batch) {
            let (x, y) = set.batch::<CpuTrain>(idx, &device);
            let pred = target_norm.decode(model.forward(x));
            let loss = relative_l2(pred, y, None).mean();
            let value: f64 = loss.clone().into_scalar().elem();
            if !value.is_finite() {
                return Err(numerical("operator training", format!("loss {value} in epoch {}", epoch + 1)));
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            sum += value * idx.len() as f64;
            count += idx.len();
        }
        curve.push(sum / count as f64);
    }
    Ok((model, curve))
}

/// Per-sample relative L2 errors of `model` on `set` (inputs already encoded).
fn errors<B: Backend, M: Operator2d<B>>(model: &M, set: &FieldSet, target_norm: &GaussianNormalizer, batch: usize) -> Result<Vec<f64>> {
    let device = Default::default();
    let order: Vec<usize> = (0..set.n).collect();
    let mut out = Vec::with_capacity(set.n);
    for idx in batches(&order, batch) {
        let (x, y) = set.batch::<B>(idx, &device);
        let e = relative_l2(target_norm.decode(model.forward(x)), y, None);
        let v: Vec<f32> = e.into_data().convert::<f32>().to_vec().map_err(|e| numerical("operator evaluation", format!("{e:?}")))?;
        out.extend(v.iter().map(|&v| v as f64));
    }
    Ok(out)
}

/// Per-sample relative L2 errors of predicting `mean` (one field) for every target of `set`.
fn trivial_errors(mean: &[f64], set: &FieldSet) -> Vec<f64> {
    let len = set.h * set.w;
    (0..set.n)
        .map(|i| {
            let y = &set.target[i * len..(i + 1) * len];
            let num: f64 = y.iter().zip(mean).map(|(&y, m)| (y as f64 - m).powi(2)).sum();
            let den: f64 = y.iter().map(|&y| (y as f64).powi(2)).sum();
            (num / den.max(1e-300)).sqrt()
        })
        .collect()
}

/// One trained model's errors per grid (finest first): (mean, s.e.).
type GridErrors = Vec<(f64, f64)>;

fn resolution(ctx: &Ctx) -> Result<CheckResult> {
    let sz = Sizes::new(ctx.quick);
    let sides = sz.sides();
    let s_train = sides[sz.train_grid];
    let mut res = CheckResult::new(
        "operator-resolution",
        "Neural operators across resolutions (Darcy, train at one grid, evaluate at others)",
        format!(
            "FNO's Fourier layers are defined on the continuum: they act on a fixed set of low Fourier modes of the input \
             function, so the same weights evaluated on a finer or coarser sampling of the same functions should give nearly \
             the same test error as on the training grid (Li et al., ICLR 2021). A-priori tolerances: error at every finer grid \
             ≤ {FINER_RATIO}× the training-grid error (the spectral part is grid-independent; only the pointwise path's view of \
             the discontinuous coefficient and the DFT period change); at the coarser grid ≤ {COARSER_RATIO}× (its kept modes \
             are the whole spectrum, so aliasing of the piecewise-constant coefficient enters every mode). Both models must \
             beat the trivial predictor (the training-mean solution) on the training grid, and FNO at every grid. MgNO's 3×3 \
             convolutions are fixed in grid units, so no resolution invariance is predicted for it: its numbers at other grids \
             are shown as a contrast, not checked."
        ),
        format!(
            "Darcy −∇·(a∇u) = 1 on [0,1]², u = 0 on the boundary, a = 12/3 thresholded GRF (α = 2, τ = 3), solved by \
             oplab_solvers::elliptic::DarcySampler on {f}² nodes; grids {g} keep every 2nd/4th/… node. {nt} training and {ne} \
             held-out test samples. FNO (width {w}, {m} modes per sign, 4 Fourier layers, projection 64, grid channels) and MgNO \
             ({c} channels, 2 layers, 4 levels) trained on CPU at s = {s_train} for {ep} epochs, batch {b}, Adam lr {lr} with \
             cosine decay, relative L2 loss, scalar Gaussian normalisers fitted on the training grid (reused unchanged at every \
             grid). Error: mean per-sample relative L2 on the test set (±1 s.e.).",
            f = sz.fine,
            g = sides.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
            nt = sz.n_train,
            ne = sz.n_test,
            w = sz.fno_width,
            m = sz.fno_modes,
            c = sz.mgno_channels,
            ep = sz.epochs,
            b = sz.batch,
            lr = fmt_num(sz.lr),
        ),
    );

    // Data.
    let t0 = Instant::now();
    let sampler = DarcySampler::new(DarcyConfig { resolution: sz.fine, ..DarcyConfig::default() }).map_err(|e| numerical("darcy sampler", e))?;
    ctx.progress.message(&format!("  drawing {} Darcy samples on {}² nodes", sz.n_train + sz.n_test, sz.fine));
    let train_pairs = darcy_pairs(ctx, &sampler, 0x4F50_5200, sz.n_train)?;
    let test_pairs = darcy_pairs(ctx, &sampler, 0x4F50_5201, sz.n_test)?;
    let k_train = 1 << sz.train_grid;
    let mut train_set = field_set(&train_pairs, sz.fine, k_train)?;
    let in_norm = GaussianNormalizer::fit(NormalizerKind::Scalar, &train_set.input, train_set.n, s_train * s_train);
    let out_norm = GaussianNormalizer::fit(NormalizerKind::Scalar, &train_set.target, train_set.n, s_train * s_train);
    in_norm.encode_slice(&mut train_set.input, s_train * s_train);
    let mut test_sets = Vec::with_capacity(sides.len());
    for g in 0..sides.len() {
        let mut set = field_set(&test_pairs, sz.fine, 1 << g)?;
        in_norm.encode_slice(&mut set.input, sides[g] * sides[g]);
        test_sets.push(set);
    }
    // The trivial predictor: the training-mean solution, computed on the fine grid and
    // subsampled like the data.
    let mut mean_fine = vec![0.0; sz.fine * sz.fine];
    for (_, u) in &train_pairs {
        for (m, v) in mean_fine.iter_mut().zip(u) {
            *m += v / sz.n_train as f64;
        }
    }
    let trivial: GridErrors = (0..sides.len())
        .map(|g| {
            let (m, _) = subsample_nodes(&mean_fine, sz.fine, 1 << g).map_err(|e| numerical("subsample", e))?;
            Ok(mean_se(&trivial_errors(&m, &test_sets[g])))
        })
        .collect::<Result<_>>()?;
    let data_s = t0.elapsed().as_secs_f64();

    // FNO.
    let device = Default::default();
    let t1 = Instant::now();
    ctx.progress.message(&format!("  training FNO at s = {s_train}"));
    let fno_cfg = Fno2dConfig::new().with_width(sz.fno_width).with_modes([sz.fno_modes; 2]).with_projection(64);
    // burn draws initial weights from the backend's global RNG: seed it so reruns repeat.
    <CpuTrain as Backend>::seed(&device, ctx.seed ^ 0xF0);
    let fno = fno_cfg.init::<CpuTrain>(&device).map_err(|e| numerical("fno", e))?;
    let (fno, fno_curve) = fit(fno, &train_set, &out_norm, &sz, ctx.seed ^ 0xF0)?;
    let fno = fno.valid();
    let fno_err: GridErrors = test_sets.iter().map(|s| Ok(mean_se(&errors::<Cpu, _>(&fno, s, &out_norm, 16)?))).collect::<Result<_>>()?;
    let fno_s = t1.elapsed().as_secs_f64();

    // MgNO.
    let t2 = Instant::now();
    ctx.progress.message(&format!("  training MgNO at s = {s_train}"));
    let mgno_cfg = MgNoConfig::new().with_channels(sz.mgno_channels).with_layers(2).with_levels(vec![[1, 0], [1, 0], [1, 0], [2, 0]]);
    <CpuTrain as Backend>::seed(&device, ctx.seed ^ 0x36);
    let mgno = mgno_cfg.init::<CpuTrain>(&device).map_err(|e| numerical("mgno", e))?;
    let (mgno, mgno_curve) = fit(mgno, &train_set, &out_norm, &sz, ctx.seed ^ 0x36)?;
    let mgno = mgno.valid();
    let mgno_err: GridErrors = test_sets.iter().map(|s| Ok(mean_se(&errors::<Cpu, _>(&mgno, s, &out_norm, 16)?))).collect::<Result<_>>()?;
    let mgno_s = t2.elapsed().as_secs_f64();

    // Measurements.
    let tg = sz.train_grid;
    for g in 0..sides.len() {
        if g == tg {
            continue;
        }
        let (bound, which) = if g < tg { (FINER_RATIO, "finer") } else { (COARSER_RATIO, "coarser") };
        res.measurements.push(Measurement::at_most(
            format!("FNO: error at s = {} / error at s = {s_train} ({which} grid)", sides[g]),
            bound,
            fno_err[g].0 / fno_err[tg].0,
        ));
    }
    for g in 0..sides.len() {
        res.measurements.push(Measurement::at_most(
            format!("FNO relative L2 at s = {} (bound: trivial predictor's)", sides[g]),
            trivial[g].0,
            fno_err[g].0,
        ));
    }
    res.measurements.push(Measurement::at_most(
        format!("MgNO relative L2 at s = {s_train} (bound: trivial predictor's)"),
        trivial[tg].0,
        mgno_err[tg].0,
    ));

    // Figures.
    let xs: Vec<f64> = sides.iter().map(|&s| s as f64).collect();
    let unzip = |e: &GridErrors| -> (Vec<f64>, Vec<f64>) { e.iter().copied().unzip() };
    let (fm, fs) = unzip(&fno_err);
    let (mm, ms) = unzip(&mgno_err);
    let (tm, _) = unzip(&trivial);
    let fig = Figure::new(
        "operator_resolution",
        format!("Darcy test error vs grid (trained at s = {s_train})"),
        "grid side s (nodes)",
        "mean relative L2 error",
    )
    .log(true, true)
    .legend_at(LegendCorner::UpperRight)
    .with(Series::markers("FNO (±1 s.e.)", xs.clone(), fm.clone(), Some(fs), 0))
    .with(Series::line("", xs.clone(), fm.clone(), 0))
    .with(Series::markers("MgNO (±1 s.e.)", xs.clone(), mm.clone(), Some(ms), 1))
    .with(Series::line("", xs.clone(), mm.clone(), 1))
    .with(Series::line("trivial: training-mean solution", xs.clone(), tm.clone(), 6))
    .with(Series::line(
        format!("FNO bounds: {FINER_RATIO}× / {COARSER_RATIO}× its s = {s_train} error"),
        xs.clone(),
        (0..sides.len()).map(|g| fno_err[tg].0 * if g < tg { FINER_RATIO } else if g > tg { COARSER_RATIO } else { 1.0 }).collect(),
        7,
    ))
    // The data fill the whole plot area in every corner; an unlabelled one-point line draws
    // nothing but raises the y range so the legend sits above the data.
    .with(Series::line("", vec![xs[0]], vec![1.6 * mm.iter().chain(&fm).chain(&tm).fold(0.0f64, |a, &b| a.max(b))], 7));
    plot::render(&fig, ctx.out_dir)?;
    res.figures.push(fig.stem);
    let epochs: Vec<f64> = (1..=sz.epochs).map(|e| e as f64).collect();
    let fig = Figure::new("operator_resolution_training", format!("Training loss at s = {s_train}"), "epoch", "mean relative L2 (training)")
        .log(false, true)
        .with(Series::line("FNO", epochs.clone(), fno_curve, 0))
        .with(Series::line("MgNO", epochs, mgno_curve, 1));
    plot::render(&fig, ctx.out_dir)?;
    res.figures.push(fig.stem);

    let row = |name: &str, e: &GridErrors| -> String {
        let cells: Vec<String> = sides.iter().zip(e).map(|(s, (m, se))| format!("s={s}: {} ± {}", fmt_num(*m), fmt_num(*se))).collect();
        format!("{name}: {}", cells.join(", "))
    };
    res.notes.push(format!("Test errors per grid. {}; {}; {}.", row("FNO", &fno_err), row("MgNO", &mgno_err), row("trivial", &trivial)));
    res.notes.push(format!(
        "MgNO (not checked across grids): error at other grids / at s = {s_train}: {}.",
        sides
            .iter()
            .enumerate()
            .filter(|&(g, _)| g != tg)
            .map(|(g, s)| format!("s={s}: {}", fmt_num(mgno_err[g].0 / mgno_err[tg].0)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    res.notes.push(format!(
        "Caveat: a ratio bound is a weaker test when the training-grid error is large. A cross-grid gap of a few percent \
         that does not shrink with training stays within the bound of a large training-grid error but not of a small one. \
         --quick trains less (its training-grid error is several times the full run's), so the full run is the stricter \
         test. Training-grid error in this run: {}%.",
        fmt_num(100.0 * fno_err[tg].0)
    ));
    let ratio_failed = res.measurements.iter().any(|m| m.quantity.starts_with("FNO: error at") && !m.passed);
    if ratio_failed {
        res.notes.push(format!(
            "Finding: FNO's error away from s = {s_train} did not stay within the a-priori ratio of its training-grid error. \
             The gap between grids is absolute (a few percent) rather than proportional. Known causes for FNO on \
             non-periodic node grids: (i) discretisation (aliasing) error, because the pointwise GELU creates frequencies \
             above each grid's Nyquist limit, which alias differently on every grid (Lanthaler, Stuart & Trautner, 2024); \
             (ii) the periodic extension of non-periodic fields jumps at the boundary, so the DFT estimates of the kept modes \
             converge only like 1/n and differ between grids; (iii) the DFT period n·h = n/(n−1) changes with the grid, so a \
             kept mode has a slightly different physical frequency on each grid. The tolerance was fixed before the \
             measurement and is kept."
        ));
    }
    res.notes.push(format!(
        "Wall time: data {} s, FNO {} s, MgNO {} s (CPU, burn Flex). Parameters: FNO {}, MgNO {}.",
        fmt_num(data_s),
        fmt_num(fno_s),
        fmt_num(mgno_s),
        burn::module::Module::num_params(&fno),
        burn::module::Module::num_params(&mgno),
    ));
    Ok(res.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_are_nested_node_subsamplings() {
        for quick in [true, false] {
            let sz = Sizes::new(quick);
            let sides = sz.sides();
            assert_eq!(sides[0], sz.fine);
            for w in sides.windows(2) {
                // Keeping every 2nd node of a 2^k + 1 grid gives the 2^(k-1) + 1 grid.
                assert_eq!(w[1], (w[0] - 1) / 2 + 1);
            }
            assert!(sz.train_grid > 0 && sz.train_grid + 1 < sides.len(), "need finer and coarser grids");
            assert!(sz.fno_modes <= sides[sides.len() - 1] / 2, "modes must fit the coarsest grid");
        }
    }

    #[test]
    fn trivial_predictor_of_the_target_itself_has_zero_error() {
        let set = FieldSet { input: vec![0.0; 8], target: vec![1.0, 2.0, 3.0, 4.0, 0.5, 0.5, 0.5, 0.5], n: 2, c_in: 1, c_out: 1, h: 2, w: 2 };
        let e = trivial_errors(&[1.0, 2.0, 3.0, 4.0], &set);
        assert_eq!(e[0], 0.0);
        assert!((e[1] - (0.25f64 + 2.25 + 6.25 + 12.25).sqrt()).abs() < 1e-12);
    }
}
