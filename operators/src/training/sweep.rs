//! The resolution sweep of a trained field operator (`oplab eval --subsample 1,2,4,8
//! [--convert on|off|both] [--io-interp]`): the same test samples, cut to every k-th point of the
//! file's grid for each k, through the trained weights in each requested discretisation.
//!
//! Per variant and grid it measures the mean relative L2 error, its ratio to the error on the
//! training grid and the cross-grid gap `‖G_fine(a)[::r] − G_coarse(a)‖ / ‖G_coarse(a)‖` against
//! the next coarser grid of the sweep (r = the ratio of the two subsamplings), which is what the
//! `operator-resolution` check of `oplab validate` measures: for an operator (a discretisation of
//! one continuum map) the gaps shrink as the grids are refined, whatever its error.
//!
//! Writes `resolution_sweep.json` and `resolution_sweep.png` into the run directory.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use oplab_common::Progress;
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::state::{read_run_state, Normalizers};
use super::{with_best_model, BestModel};
use crate::backend::ModelBackend;
use crate::data::{batches, FieldSet, GridLayout, Split};
use crate::error::OperatorError;
use crate::layers::ResampleMode;
use crate::losses::{quadrature_weights, relative_l2};
use crate::models::{io_interp_forward, Discretization, Operator2d};
use crate::normalizers::GaussianNormalizer;
use crate::run::{ConvertMode, EvalOptions, RunDir};

/// File names a sweep writes into the run directory.
pub mod files {
    /// Every variant × grid.
    pub const SWEEP: &str = "resolution_sweep.json";
    /// Relative L2 against the grid side.
    pub const SWEEP_PNG: &str = "resolution_sweep.png";
}

/// The largest `--subsample` (as for `data.subsample`).
const MAX_SUBSAMPLE: usize = 1024;

/// One way of running the trained weights on a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// A model without convolutions to convert, as an operator: FNO with its domain padding
    /// scaled with the grid (a fraction of the domain, as trained), MgNO as it is.
    Model,
    /// A convolutional network's kernels as trained, in pixels.
    Plain,
    /// The converted network: kernels re-sampled to the grid (same weights as `Plain`).
    Converted,
    /// Input-output interpolation: the input resampled to the training grid, the plain model
    /// there, the output resampled back.
    IoInterp,
}

impl Variant {
    /// The name of the variant of `model` in tables and legends.
    pub fn label(self, model: &str) -> String {
        match self {
            Variant::Model => model.to_string(),
            Variant::Plain => format!("{model} plain"),
            Variant::Converted => format!("{model} converted"),
            Variant::IoInterp => format!("{model} io-interp"),
        }
    }
}

/// The cross-grid gap between a grid and the next coarser grid of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossGridGap {
    /// The coarser grid `[h, w]`.
    pub coarser_grid: [usize; 2],
    /// Mean over test samples of `‖G_fine(a)[::r] − G_coarse(a)‖ / ‖G_coarse(a)‖`.
    pub mean: f64,
    /// Its standard error.
    pub se: f64,
}

/// One variant on one grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridResult {
    /// Every `subsample`-th point of the file's grid.
    pub subsample: usize,
    /// The grid `[h, w]`.
    pub grid: [usize; 2],
    /// `w / w_train`.
    pub scale: f64,
    /// Mean relative L2 over the test samples.
    pub rel_l2: f64,
    /// Its standard error.
    pub rel_l2_se: f64,
    /// `rel_l2` over the same variant's `rel_l2` on the training grid.
    pub ratio_to_train: f64,
    /// Gap to the next coarser grid of the sweep (`None` on the coarsest, or where the coarser
    /// grid is not nested in this one).
    pub gap_to_coarser: Option<CrossGridGap>,
}

/// One variant on every grid, finest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantSweep {
    /// Which variant.
    pub variant: Variant,
    /// Its label (model name and variant).
    pub name: String,
    /// Its results per grid, finest first.
    pub grids: Vec<GridResult>,
}

/// What `resolution_sweep.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolutionSweep {
    /// The run's model.
    pub model: String,
    /// Trainable parameters.
    pub params: usize,
    /// The run's data layout (`nodes` or `periodic`).
    pub layout: String,
    /// The training grid `[h, w]`.
    pub train_grid: [usize; 2],
    /// The training subsample.
    pub train_subsample: usize,
    /// Index of the first test sample in the file.
    pub first_index: usize,
    /// Test samples.
    pub n: usize,
    /// Epoch of the evaluated (best-validation) model.
    pub best_epoch: usize,
    /// How the input-output interpolation resamples (`bilinear` or `fourier`), when it ran.
    pub io_interp_resample: Option<String>,
    /// Every variant.
    pub variants: Vec<VariantSweep>,
    /// Remarks for the reader (a grid added to the sweep, ...).
    pub notes: Vec<String>,
}

impl ResolutionSweep {
    /// The sweep as lines of a table (one per variant × grid) with a header.
    pub fn table(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "resolution sweep of {} ({} parameters, trained on {}×{}, subsample {}, {} layout, model of epoch {}) on test samples {}..{}:",
                self.model,
                self.params,
                self.train_grid[0],
                self.train_grid[1],
                self.train_subsample,
                self.layout,
                self.best_epoch,
                self.first_index,
                self.first_index + self.n
            ),
            format!("{:<20} {:>11} {:>6} {:>22} {:>9} {:>22}", "variant", "grid", "scale", "rel. L2 (± s.e.)", "/ train", "gap to coarser grid"),
        ];
        for v in &self.variants {
            for g in &v.grids {
                let gap =
                    g.gap_to_coarser.as_ref().map_or_else(|| "-".to_string(), |c| format!("{:.3e} ({}×{})", c.mean, c.coarser_grid[0], c.coarser_grid[1]));
                lines.push(format!(
                    "{:<20} {:>11} {:>6} {:>22} {:>9.3} {:>22}",
                    v.name,
                    format!("{}×{}", g.grid[0], g.grid[1]),
                    format!("{:.3}", g.scale),
                    format!("{:.4e} ± {:.1e}", g.rel_l2, g.rel_l2_se),
                    g.ratio_to_train,
                    gap
                ));
            }
        }
        lines.extend(self.notes.iter().map(|n| format!("note: {n}")));
        lines
    }
}

/// The subsamplings of a sweep: the requested ones, checked, without repeats, finest first, with
/// the training subsample added when missing (the ratios need the training-grid error); and a
/// note when it was added.
pub fn sweep_subsamples(requested: &[usize], train: usize) -> crate::Result<(Vec<usize>, Option<String>)> {
    if let Some(&k) = requested.iter().find(|&&k| k == 0 || k > MAX_SUBSAMPLE) {
        return Err(OperatorError::invalid("--subsample", k, format!("must be 1 to {MAX_SUBSAMPLE} (every k-th point of the file's grid)")));
    }
    let mut ks = requested.to_vec();
    let mut note = None;
    if !ks.contains(&train) {
        ks.push(train);
        note = Some(format!("subsample {train} (the training grid) added to the sweep: the ratios are taken to its error"));
    }
    ks.sort_unstable();
    ks.dedup();
    Ok((ks, note))
}

/// The variants a sweep runs for a model with (or without) convolutions to convert; without
/// `--convert`, a convolutional net runs as its run's configuration says (`convert = true`:
/// converted).
pub fn sweep_variants(
    model: &str,
    has_convolutions: bool,
    convert: Option<ConvertMode>,
    configured: Discretization,
    io_interp: bool,
) -> crate::Result<Vec<Variant>> {
    let mut variants = match (has_convolutions, convert) {
        (false, None) => vec![Variant::Model],
        (false, Some(mode)) => {
            return Err(OperatorError::invalid(
                "--convert",
                mode,
                format!("needs a run of a network whose convolutions are converted (unet, cnn); {model} has none to convert"),
            ))
        }
        (true, None) => match configured {
            Discretization::Plain => vec![Variant::Plain],
            Discretization::Converted { .. } => vec![Variant::Converted],
        },
        (true, Some(ConvertMode::On)) => vec![Variant::Converted],
        (true, Some(ConvertMode::Off)) => vec![Variant::Plain],
        (true, Some(ConvertMode::Both)) => vec![Variant::Plain, Variant::Converted],
    };
    if io_interp {
        variants.push(Variant::IoInterp);
    }
    Ok(variants)
}

/// Mean and standard error.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (m, (var / n).sqrt())
}

/// Per-sample `‖fine[::r, ::r] − coarse‖ / ‖coarse‖` of two prediction sets (`n` samples of
/// `c` channels), the coarse grid every `r`-th point of the fine one.
pub fn cross_grid_gaps(fine: &[f32], fine_grid: [usize; 2], coarse: &[f32], coarse_grid: [usize; 2], channels: usize, r: usize) -> Vec<f64> {
    let [hf, wf] = fine_grid;
    let [hc, wc] = coarse_grid;
    let rh = if hf == 1 { 1 } else { r };
    fine.chunks(channels * hf * wf)
        .zip(coarse.chunks(channels * hc * wc))
        .map(|(f, c)| {
            let (mut num, mut den) = (0.0f64, 0.0f64);
            for ch in 0..channels {
                for i in 0..hc {
                    for j in 0..wc {
                        let a = f[(ch * hf + i * rh) * wf + j * r] as f64;
                        let b = c[(ch * hc + i) * wc + j] as f64;
                        num += (a - b).powi(2);
                        den += b * b;
                    }
                }
            }
            (num / den.max(1e-300)).sqrt()
        })
        .collect()
}

/// How to run one variant of a model on a grid.
#[derive(Debug, Clone, Copy)]
struct Runner {
    variant: Variant,
    base_side: usize,
    train_grid: [usize; 2],
    resample: ResampleMode,
}

impl Runner {
    fn forward<B: Backend, M: Operator2d<B>>(&self, model: &M, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self.variant {
            Variant::Plain => model.forward(x),
            Variant::Model | Variant::Converted => model.forward_with(x, Discretization::Converted { base_side: self.base_side }),
            Variant::IoInterp => io_interp_forward(model, x, self.train_grid, self.resample),
        }
    }
}

/// Decoded predictions (`n · c_out · h · w` values) and per-sample relative L2 errors of one
/// variant on one grid.
fn predict<B: Backend, M: Operator2d<B>>(
    model: &M,
    runner: &Runner,
    set: &FieldSet,
    target: &GaussianNormalizer,
    quad: Option<&Tensor<B, 2>>,
    batch: usize,
    device: &B::Device,
) -> (Vec<f32>, Vec<f64>) {
    let order: Vec<usize> = (0..set.n).collect();
    let (mut preds, mut errs) = (Vec::with_capacity(set.n * set.sample_len().1), Vec::with_capacity(set.n));
    for idx in batches(&order, batch) {
        let (x, y) = set.batch::<B>(idx, device);
        let pred = target.decode(runner.forward(model, x));
        let l2: Vec<f32> = relative_l2(pred.clone(), y, quad).into_data().convert::<f32>().to_vec().unwrap_or_default();
        errs.extend(l2.into_iter().map(f64::from));
        preds.extend(pred.into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default());
    }
    (preds, errs)
}

/// The test sets of a sweep, one per subsample (finest first), inputs encoded.
struct SweepData {
    ks: Vec<usize>,
    sets: Vec<FieldSet>,
}

/// Checks the request against the run and loads the test samples on every grid.
fn load_grids(cfg: &TrainConfig, run_fields: &super::RunState, norms: &Normalizers, data: &Path, ks: Vec<usize>) -> crate::Result<SweepData> {
    let train_k = cfg.data.subsample;
    for (norm, name) in [(&norms.input, "input_normalizer"), (&norms.target, "target_normalizer")] {
        if norm.mean.len() > 1 {
            if let Some(&k) = ks.iter().find(|&&k| k != train_k) {
                return Err(OperatorError::invalid(
                    "--subsample",
                    k,
                    format!("must be {train_k}, the training subsample: the run's {name} is per pixel and fits only the training grid"),
                ));
            }
        }
    }
    if cfg.data.n_test == Some(0) {
        return Err(OperatorError::invalid("data.n_test", 0, "must be >= 1 to evaluate"));
    }
    let mut sets = Vec::with_capacity(ks.len());
    for &k in &ks {
        let (mut set, names) = cfg.data.load_at(data, Split::Test, k, "--subsample")?;
        if names != run_fields.fields || [set.c_in, set.c_out] != run_fields.channels {
            return Err(OperatorError::Data {
                path: data.to_path_buf(),
                message: format!(
                    "has fields {:?} → {:?}; the run was trained on {:?} → {:?}",
                    names.inputs, names.targets, run_fields.fields.inputs, run_fields.fields.targets
                ),
            });
        }
        if k == train_k && [set.h, set.w] != run_fields.grid {
            return Err(OperatorError::Data {
                path: data.to_path_buf(),
                message: format!("gives a {}×{} grid at the training subsample {k}; the run was trained on {:?}", set.h, set.w, run_fields.grid),
            });
        }
        let (li, _) = set.sample_len();
        norms.input.encode_slice(&mut set.input, li);
        sets.push(set);
    }
    Ok(SweepData { ks, sets })
}

/// The sweep itself, on the loaded model.
struct Sweep<'a> {
    cfg: &'a TrainConfig,
    state: &'a super::RunState,
    norms: &'a Normalizers,
    data: SweepData,
    requested_convert: Option<ConvertMode>,
    io_interp: bool,
    notes: Vec<String>,
    progress: &'a dyn Progress,
}

impl<B: ModelBackend> BestModel<B> for Sweep<'_> {
    type Output = ResolutionSweep;

    fn with<M: Operator2d<B>>(self, model: &M, device: &B::Device) -> crate::Result<ResolutionSweep> {
        let Sweep { cfg, state, norms, data, requested_convert, io_interp, mut notes, progress, .. } = self;
        let model_name = cfg.model.name();
        let configured = cfg.discretization(state.grid[1]);
        let variants = sweep_variants(model_name, model.has_convolutions(), requested_convert, configured, io_interp)?;
        let min = super::min_side(cfg);
        if let Some((k, set)) = data.ks.iter().zip(&data.sets).find(|(_, s)| s.h.min(s.w) < min) {
            return Err(OperatorError::invalid(
                "--subsample",
                k,
                format!("gives a {}×{} grid, below the {min}×{min} that {model_name}'s levels need (2^levels): use a smaller subsample", set.h, set.w),
            ));
        }
        let resample = if cfg.data.layout == GridLayout::Periodic { ResampleMode::Fourier } else { ResampleMode::Bilinear };
        let train_grid = state.grid;
        let train_pos = data.ks.iter().position(|&k| k == cfg.data.subsample).unwrap_or(0);
        progress.start("sweep", (data.ks.len() * variants.len()) as u64, 0);
        let mut out: Vec<VariantSweep> = variants.iter().map(|&v| VariantSweep { variant: v, name: v.label(model_name), grids: Vec::new() }).collect();
        let mut previous: Vec<Vec<f32>> = vec![Vec::new(); variants.len()];
        for (g, set) in data.sets.iter().enumerate() {
            let quad = quadrature_weights::<B>(cfg.quadrature, set.h, set.w, device);
            for (vi, &variant) in variants.iter().enumerate() {
                let runner = Runner { variant, base_side: train_grid[1], train_grid, resample };
                let (preds, errs) = predict(model, &runner, set, &norms.target, quad.as_ref(), cfg.eval_batch_size, device);
                if let Some(bad) = errs.iter().position(|e| !e.is_finite()) {
                    return Err(OperatorError::Request(format!(
                        "{} gives a non-finite error on the {}×{} grid (test sample {})",
                        variant.label(model_name),
                        set.h,
                        set.w,
                        cfg.data.range(Split::Test).start + bad
                    )));
                }
                let (rel_l2, rel_l2_se) = mean_se(&errs);
                // The gap of the previous (finer) grid to this one, stored with the finer grid.
                if g > 0 && data.ks[g].is_multiple_of(data.ks[g - 1]) {
                    let fine = &data.sets[g - 1];
                    let r = data.ks[g] / data.ks[g - 1];
                    let gaps = cross_grid_gaps(&previous[vi], [fine.h, fine.w], &preds, [set.h, set.w], set.c_out, r);
                    let (mean, se) = mean_se(&gaps);
                    if let Some(last) = out[vi].grids.last_mut() {
                        last.gap_to_coarser = Some(CrossGridGap { coarser_grid: [set.h, set.w], mean, se });
                    }
                }
                previous[vi] = preds;
                out[vi].grids.push(GridResult {
                    subsample: data.ks[g],
                    grid: [set.h, set.w],
                    scale: set.w as f64 / train_grid[1] as f64,
                    rel_l2,
                    rel_l2_se,
                    ratio_to_train: f64::NAN,
                    gap_to_coarser: None,
                });
                progress.advance(1);
            }
        }
        progress.finish();
        for v in &mut out {
            let base = v.grids[train_pos].rel_l2;
            v.grids.iter_mut().for_each(|g| g.ratio_to_train = g.rel_l2 / base);
        }
        if variants.contains(&Variant::IoInterp) {
            notes.push(format!(
                "io-interp resamples {} ({} layout)",
                if resample == ResampleMode::Fourier { "by Fourier interpolation" } else { "bilinearly (half-pixel mapping)" },
                cfg.data.layout.name()
            ));
        }
        let test = cfg.data.range(Split::Test);
        Ok(ResolutionSweep {
            model: model_name.to_string(),
            params: state.params,
            layout: cfg.data.layout.name().to_string(),
            train_grid,
            train_subsample: cfg.data.subsample,
            first_index: test.start,
            n: test.len(),
            best_epoch: state.best_epoch,
            io_interp_resample: variants
                .contains(&Variant::IoInterp)
                .then(|| if resample == ResampleMode::Fourier { "fourier" } else { "bilinear" }.to_string()),
            variants: out,
            notes,
        })
    }
}

/// Runs the sweep of `run`'s best model on `data` (backend `B`), writes `resolution_sweep.json`
/// and `.png` into the run directory.
pub(crate) fn sweep_on<B: ModelBackend>(
    device: &B::Device,
    cfg: &TrainConfig,
    run: &RunDir,
    data: &Path,
    options: &EvalOptions,
    progress: &dyn Progress,
) -> crate::Result<ResolutionSweep> {
    let requested = options.subsample.clone().unwrap_or_else(|| vec![cfg.data.subsample]);
    let (ks, note) = sweep_subsamples(&requested, cfg.data.subsample)?;
    let state = read_run_state(run)?;
    let norms: Normalizers = run.read_sealed_json(super::files::NORMALIZERS)?;
    let sweep_data = load_grids(cfg, &state, &norms, data, ks)?;
    let sweep = Sweep {
        cfg,
        state: &state,
        norms: &norms,
        data: sweep_data,
        requested_convert: options.convert,
        io_interp: options.io_interp,
        notes: note.into_iter().collect(),
        progress,
    };
    let result = with_best_model::<B, _>(cfg, state.channels, run, device, sweep)?;
    run.write_json(files::SWEEP, &result)?;
    let curves: Vec<(String, Vec<(f64, f64)>)> =
        result.variants.iter().map(|v| (v.name.clone(), v.grids.iter().map(|g| (g.grid[1] as f64, g.rel_l2)).collect())).collect();
    let caption = format!("{}: test rel. L2 vs grid (trained on {}×{})", result.model, result.train_grid[0], result.train_grid[1]);
    crate::plot::resolution_sweep(&run.file(files::SWEEP_PNG), &caption, &curves)?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsamples_are_checked_sorted_and_include_the_training_one() {
        assert_eq!(sweep_subsamples(&[8, 1, 2, 2], 2).unwrap(), (vec![1, 2, 8], None));
        let (ks, note) = sweep_subsamples(&[1, 4], 2).unwrap();
        assert_eq!(ks, vec![1, 2, 4]);
        assert!(note.unwrap().contains("subsample 2"));
        let err = sweep_subsamples(&[1, 0], 1).unwrap_err().to_string();
        assert_eq!(err, "--subsample = 0 is invalid: must be 1 to 1024 (every k-th point of the file's grid)");
        assert!(sweep_subsamples(&[2048], 1).is_err());
    }

    #[test]
    fn variants_follow_the_flags_and_convert_needs_convolutions() {
        let (plain, conv) = (Discretization::Plain, Discretization::Converted { base_side: 32 });
        assert_eq!(sweep_variants("fno", false, None, plain, false).unwrap(), vec![Variant::Model]);
        assert_eq!(sweep_variants("mgno", false, None, plain, true).unwrap(), vec![Variant::Model, Variant::IoInterp]);
        assert_eq!(sweep_variants("unet", true, None, conv, false).unwrap(), vec![Variant::Converted]);
        assert_eq!(sweep_variants("unet", true, None, plain, false).unwrap(), vec![Variant::Plain]);
        assert_eq!(sweep_variants("unet", true, Some(ConvertMode::Both), plain, false).unwrap(), vec![Variant::Plain, Variant::Converted]);
        assert_eq!(sweep_variants("cnn", true, Some(ConvertMode::On), plain, true).unwrap(), vec![Variant::Converted, Variant::IoInterp]);
        assert_eq!(sweep_variants("cnn", true, Some(ConvertMode::Off), conv, false).unwrap(), vec![Variant::Plain]);
        let err = sweep_variants("fno", false, Some(ConvertMode::Both), plain, false).unwrap_err().to_string();
        assert!(err.starts_with("--convert = both is invalid: needs a run of a network whose convolutions are converted (unet, cnn); fno has none"), "{err}");
    }

    #[test]
    fn cross_grid_gap_compares_every_rth_point() {
        // 4×4 fine grid whose even points equal the 2×2 coarse field: gap 0; then perturb one
        // common point.
        let mut fine = vec![9.0f32; 16];
        for (i, v) in [(0, 1.0), (2, 2.0), (8, 3.0), (10, 4.0)] {
            fine[i] = v;
        }
        let coarse = [1.0f32, 2.0, 3.0, 4.0];
        assert_eq!(cross_grid_gaps(&fine, [4, 4], &coarse, [2, 2], 1, 2), vec![0.0]);
        fine[10] = 5.0;
        let g = cross_grid_gaps(&fine, [4, 4], &coarse, [2, 2], 1, 2)[0];
        assert!((g - 1.0 / 30f64.sqrt()).abs() < 1e-12, "{g}");
        // Stride 4 on a 1-D field (h = 1): points 0 and 4 of 8.
        let fine1: Vec<f32> = (0..8).map(|i| i as f32).collect();
        assert_eq!(cross_grid_gaps(&fine1, [1, 8], &[0.0, 4.0], [1, 2], 1, 4), vec![0.0]);
    }
}
