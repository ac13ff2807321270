//! Training and evaluation of an AL-RNN on one trajectory of an oplab ODE file.
//!
//! Training follows the reference protocol (`training_rnn.jl`): each epoch draws
//! `batches_per_epoch` batches of `batch_size` random subsequences (with replacement), adds
//! Gaussian noise to each batch, runs the forced model ([`super::model::Forcing`]) and takes one
//! RAdam/Adam step; the learning rate decays exponentially per epoch. Every `eval.every` epochs a
//! free run as long as the training series is compared with it, and the model with the lowest
//! `D_stsp` is kept (`best_model.json`); `eval.select` may compare with the training series
//! before its observation noise instead, or keep the last epoch's model
//! ([`Selection`]).
//!
//! `alrnn.precision` chooses the float type of everything the model computes (training, the
//! optimiser and the free runs): f64, or f32 as the reference's PyTorch code trains. The same
//! code runs in both ([`Real`]); the stored files hold f64 either way, an f32 value widened
//! exactly, so an f32 run resumes exactly too.
//!
//! Randomness: batch starts and batch noise of epoch `e` come from a ChaCha stream keyed by
//! `(seed, e)` only, and per-sequence gradients are summed in sequence order whatever the thread
//! count, so a run is bit-for-bit reproducible and a resumed run continues exactly. Checkpoints
//! are written atomically at every evaluation epoch and at the end (`kill -9` loses at most
//! `eval.every` epochs).
//!
//! A run directory ([`RunDir`]) holds `config.toml` (resolved [`AlrnnTrainConfig`]),
//! `checkpoint.bin` (parameters, optimiser moments, run state), `best_model.json`,
//! `metrics.jsonl`, `training.png`; after `eval`: `eval.json`, `attractor.png`, `spectra.png`,
//! `subregions.png`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use oplab_common::{epoch_line, Epochs, Progress};
use oplab_datasets::DatasetFile;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::config::{AlrnnOptimizerKind, AlrnnTrainConfig, ForcingKind, Precision, Selection, REFERENCE_SEQ_LEN};
pub use super::metrics::AlrnnEpoch;
use super::metrics::{dh, dstsp_binned, dstsp_gmm, prediction_error, Binning};
use super::model::{normal, Alrnn, AlrnnShape, Forcing, Real};
use super::symbolic::{code, Subregion};
use crate::error::OperatorError;
use crate::run::{run_err, RunDir, TrainCall};

/// File names inside an AL-RNN run directory (besides the shared [`crate::run::files`]).
pub mod files {
    pub use crate::run::files::*;
    /// The kept model (`eval.select`: the lowest `D_stsp` so far, or the latest).
    pub const BEST: &str = "best_model.json";
    /// Loss and metric curves.
    pub const CURVE: &str = "training.png";
    /// True vs generated attractor, 2-D projections.
    pub const ATTRACTOR: &str = "attractor.png";
    /// True vs generated power spectra.
    pub const SPECTRA: &str = "spectra.png";
    /// Subregion coding over time.
    pub const SUBREGIONS: &str = "subregions.png";
}

/// A multivariate series, row-major `T × N`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Values.
    pub values: Vec<f64>,
    /// Dimension `N`.
    pub n: usize,
}

impl Series {
    /// Time steps.
    pub fn len(&self) -> usize {
        self.values.len() / self.n.max(1)
    }
    /// True when the series has no time steps.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Per-dimension affine standardisation fitted on the training series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Means.
    #[serde(with = "super::exact::vec")]
    pub mean: Vec<f64>,
    /// Standard deviations.
    #[serde(with = "super::exact::vec")]
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Fits on `s` (or the identity when `zscore` is false).
    pub fn fit(s: &Series, zscore: bool) -> Self {
        let (n, t) = (s.n, s.len());
        if !zscore {
            return Standardizer { mean: vec![0.0; n], std: vec![1.0; n] };
        }
        let mean: Vec<f64> = (0..n).map(|d| (0..t).map(|r| s.values[r * n + d]).sum::<f64>() / t as f64).collect();
        let std = (0..n)
            .map(|d| {
                let v = (0..t).map(|r| (s.values[r * n + d] - mean[d]).powi(2)).sum::<f64>() / t as f64;
                if v > 0.0 {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Standardizer { mean, std }
    }

    /// Applies the standardisation in place.
    pub fn apply(&self, s: &mut Series) {
        let n = s.n;
        for (i, v) in s.values.iter_mut().enumerate() {
            *v = (*v - self.mean[i % n]) / self.std[i % n];
        }
    }
}

/// Reads sample `sample` of `field` (shape `(samples, T, N)`), dropping `skip` leading steps and
/// keeping `length` (0: all).
pub fn load_series(path: &Path, field: &str, sample: usize, skip: usize, length: usize) -> crate::Result<Series> {
    let data_err = |m: String| OperatorError::Data { path: path.to_path_buf(), message: m };
    let file = DatasetFile::open(path)?;
    let (raw, shape) = file.read_field_f32(field)?;
    if shape.len() != 3 {
        return Err(data_err(format!("field {field} has shape {shape:?}; an AL-RNN needs (samples, time, dimension)")));
    }
    let (ns, t, n) = (shape[0], shape[1], shape[2]);
    if sample >= ns {
        return Err(OperatorError::invalid("data sample", sample, format!("must be < {ns}, the samples in {}", path.display())));
    }
    let keep = if length == 0 { t.saturating_sub(skip) } else { length };
    if skip + keep > t || keep < 2 {
        return Err(OperatorError::invalid(
            "data.skip + data.length",
            skip + keep,
            format!("must be <= {t} time steps of {} and keep at least 2", path.display()),
        ));
    }
    let start = (sample * t + skip) * n;
    let values: Vec<f64> = raw[start..start + keep * n].iter().map(|&v| v as f64).collect();
    if !values.iter().all(|v| v.is_finite()) {
        return Err(data_err(format!("sample {sample} of {field} holds NaN or Inf")));
    }
    Ok(Series { values, n })
}

/// Training and test series of a configuration, standardised with the training statistics;
/// the training series carries the configured observation noise.
pub fn prepare_series(path: &Path, cfg: &AlrnnTrainConfig, sample: usize, standardizer: Option<&Standardizer>) -> crate::Result<(Series, Standardizer)> {
    let (mut s, st) = standardized_series(path, cfg, sample, standardizer)?;
    if sample == cfg.data.train_sample {
        add_obs_noise(cfg, &mut s);
    }
    Ok((s, st))
}

/// Sample `sample` of the configured field, standardised with `standardizer` (or with its own
/// statistics), without observation noise.
pub fn standardized_series(path: &Path, cfg: &AlrnnTrainConfig, sample: usize, standardizer: Option<&Standardizer>) -> crate::Result<(Series, Standardizer)> {
    let d = &cfg.data;
    let mut s = load_series(path, &d.field, sample, d.skip, d.length)?;
    let st = match standardizer {
        Some(st) => {
            if st.mean.len() != s.n {
                return Err(OperatorError::Data {
                    path: path.to_path_buf(),
                    message: format!("has dimension {}; the run was trained on {}", s.n, st.mean.len()),
                });
            }
            st.clone()
        }
        None => Standardizer::fit(&s, d.zscore),
    };
    st.apply(&mut s);
    Ok((s, st))
}

/// Adds the configured observation noise (`data.obs_noise`, after standardisation) to a
/// training series; its stream depends on the seed only.
pub fn add_obs_noise(cfg: &AlrnnTrainConfig, s: &mut Series) {
    if cfg.data.obs_noise > 0.0 {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(u64::MAX);
        for v in &mut s.values {
            *v += cfg.data.obs_noise * normal(&mut rng);
        }
    }
}

/// Run state stored in every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlrnnRunState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Optimiser steps taken.
    pub steps: u64,
    /// Batches skipped because their gradient was not finite.
    pub skipped_batches: u64,
    /// `D_stsp` of the kept model: the lowest so far (`eval.select` train or clean), or the
    /// latest kept model's when it was evaluated (last).
    #[serde(with = "super::exact::opt")]
    pub best_dstsp: Option<f64>,
    /// Epoch of the kept model (0: none yet).
    pub best_epoch: usize,
    /// Every epoch so far.
    pub history: Vec<AlrnnEpoch>,
    /// Model sizes.
    pub shape: AlrnnShape,
    /// Standardisation fitted on the training series.
    pub standardizer: Standardizer,
    /// Data file trained on.
    pub data: PathBuf,
    /// Training time so far, seconds (summed over resumed calls).
    pub train_seconds: f64,
}

/// The kept model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestModel {
    /// Epoch it comes from.
    pub epoch: usize,
    /// Its `D_stsp` against the selection series (`None` when not evaluated or diverged).
    #[serde(with = "super::exact::opt")]
    pub dstsp: Option<f64>,
    /// Standardisation of the data.
    pub standardizer: Standardizer,
    /// The model.
    pub model: Alrnn,
}

/// Adam / RAdam moments on a flat parameter vector, kept in the training's float type `F`.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments<F = f64> {
    /// First moments.
    pub m: Vec<F>,
    /// Second moments.
    pub v: Vec<F>,
}

impl<F: Real> Moments<F> {
    /// Zero moments for `n` parameters.
    pub fn new(n: usize) -> Self {
        Moments { m: vec![F::ZERO; n], v: vec![F::ZERO; n] }
    }

    /// One update (step number `t ≥ 1`) with the rules of Optimisers.jl's `Adam` and `RAdam`.
    /// The per-step scalars (bias corrections, rectification, learning rate) are computed in
    /// f64 and rounded to `F` once, as PyTorch computes them as Python floats; every
    /// per-parameter operation is in `F`.
    #[allow(clippy::too_many_arguments)]
    pub fn update(&mut self, kind: AlrnnOptimizerKind, params: &mut [F], grad: &[F], t: u64, lr: f64, betas: [f64; 2], eps: f64) {
        let [b1, b2] = betas;
        let (b1t, b2t) = (b1.powf(t as f64), b2.powf(t as f64));
        let rect = match kind {
            AlrnnOptimizerKind::Adam => Some(1.0),
            AlrnnOptimizerKind::Radam => {
                let rho_inf = 2.0 / (1.0 - b2) - 1.0;
                let rho = rho_inf - 2.0 * t as f64 * b2t / (1.0 - b2t);
                (rho > 4.0).then(|| ((rho - 4.0) * (rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)).sqrt())
            }
        };
        let r = F::round_from;
        let (b1f, b2f, c1, c2) = (r(b1), r(b2), r(1.0 - b1), r(1.0 - b2));
        let (bias1, bias2_sqrt, lr_f, eps_f) = (r(1.0 - b1t), r((1.0 - b2t).sqrt()), r(lr), r(eps));
        let lr_rect = rect.map(|rect| r(lr * rect));
        for i in 0..params.len() {
            let g = grad[i];
            self.m[i] = b1f * self.m[i] + c1 * g;
            self.v[i] = b2f * self.v[i] + c2 * g * g;
            let mhat = self.m[i] / bias1;
            params[i] = params[i]
                - match lr_rect {
                    Some(lr_r) => lr_r * mhat * bias2_sqrt / (self.v[i].sqrt() + eps_f),
                    // RAdam's warm-up: plain momentum SGD while the variance estimate is unreliable.
                    None => lr_f * mhat,
                };
        }
    }
}

/// Values as little-endian f64 bytes (f32 widened exactly).
fn reals_to_bytes<F: Real>(v: &[F]) -> Vec<u8> {
    v.iter().flat_map(|x| x.widen().to_le_bytes()).collect()
}

fn bytes_to_f64s(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect()
}

/// Stored f64 values in `F`; `None` unless every one is exactly a value of `F` (which an f32
/// run's files always are), so a run never continues from silently rounded numbers.
fn exact_in<F: Real>(v: &[f64]) -> Option<Vec<F>> {
    v.iter().map(|&x| Some(F::round_from(x)).filter(|y| y.widen().to_bits() == x.to_bits() || (x.is_nan() && y.widen().is_nan()))).collect()
}

/// Reads the stored configuration of an AL-RNN run.
pub fn read_config(run: &RunDir) -> crate::Result<AlrnnTrainConfig> {
    AlrnnTrainConfig::from_toml(&run.read_config()?)
}

/// The checkpoint's parts: model parameters, optimiser (moments and step), run state.
fn read_checkpoint(run: &RunDir) -> crate::Result<(Vec<f64>, Moments, AlrnnRunState)> {
    let path = run.file(files::CHECKPOINT);
    let parts = run.read_checkpoint(4)?;
    let state: AlrnnRunState = run.parse_state(&parts[3])?;
    let params = bytes_to_f64s(&parts[0]);
    let moments = Moments { m: bytes_to_f64s(&parts[1]), v: bytes_to_f64s(&parts[2]) };
    let np = state.shape.n_params();
    if params.len() != np || moments.m.len() != np || moments.v.len() != np {
        return Err(run_err(&path, format!("holds {} parameters; the stored shape needs {np}", params.len())));
    }
    Ok((params, moments, state))
}

/// Reads the run state of the last checkpoint.
pub fn read_state(run: &RunDir) -> crate::Result<AlrnnRunState> {
    read_checkpoint(run).map(|c| c.2)
}

/// Reads the kept model.
pub fn read_best(run: &RunDir) -> crate::Result<BestModel> {
    let best: BestModel = run.read_sealed_json(files::BEST)?;
    Alrnn::from_params(best.model.shape, best.model.params.clone())?;
    Ok(best)
}

/// `D_stsp` by the configured estimator (binned up to `max_binned_dim` dimensions, GMM above).
pub fn dstsp(cfg: &AlrnnTrainConfig, truth: &[f64], gen: &[f64], n: usize, binning: Binning) -> Option<f64> {
    if !gen.iter().all(|v| v.is_finite()) {
        return None;
    }
    if n <= cfg.eval.max_binned_dim {
        dstsp_binned(truth, gen, n, cfg.eval.bins, binning)
    } else {
        dstsp_gmm(truth, gen, n, cfg.eval.gmm_scaling, cfg.eval.gmm_len, cfg.eval.gmm_samples, cfg.seed)
    }
}

/// Forced-prediction loss and gradient of one batch of sequences (each `(seq_len + 1) × N`),
/// computed in `F` on up to `threads` threads; per-sequence gradients are summed in sequence
/// order so the result does not depend on the thread count.
pub fn batch_gradient<F: Real>(model: &Alrnn<F>, seqs: &[Vec<F>], forcing: Forcing, threads: usize, grad: &mut [F]) -> f64 {
    let np = model.shape.n_params();
    let b = seqs.len();
    let steps = seqs.first().map_or(1, |s| s.len() / model.shape.n - 1);
    let scale = F::round_from(1.0 / (b * steps * model.shape.n) as f64);
    let mut per = vec![F::ZERO; b * np];
    let mut losses = vec![F::ZERO; b];
    let threads = threads.clamp(1, b.max(1));
    let chunk = b.div_ceil(threads);
    std::thread::scope(|scope| {
        for ((gchunk, lchunk), schunk) in per.chunks_mut(chunk * np).zip(losses.chunks_mut(chunk)).zip(seqs.chunks(chunk)) {
            scope.spawn(move || {
                let mut work = Vec::new();
                for ((g, l), s) in gchunk.chunks_mut(np).zip(lchunk.iter_mut()).zip(schunk) {
                    *l = model.sequence_gradient(s, forcing, scale, g, &mut work);
                }
            });
        }
    });
    grad.iter_mut().for_each(|v| *v = F::ZERO);
    for g in per.chunks(np) {
        for (a, &b) in grad.iter_mut().zip(g) {
            *a += b;
        }
    }
    losses.into_iter().sum::<F>().widen()
}

/// Summary of a training call.
#[derive(Debug, Clone)]
pub struct AlrnnTrainSummary {
    /// State at the end.
    pub state: AlrnnRunState,
    /// The run directory.
    pub run_dir: PathBuf,
}

/// Trains an AL-RNN on `cfg.data.train_sample` of `data`, writing the run to `run`.
pub fn train(data: &Path, run: &RunDir, cfg: &AlrnnTrainConfig, opts: &TrainCall, progress: &dyn Progress) -> crate::Result<AlrnnTrainSummary> {
    cfg.validate()?;
    let resumed = if opts.resume { Some(read_checkpoint(run)?) } else { None };
    let (clean, standardizer) = standardized_series(data, cfg, cfg.data.train_sample, resumed.as_ref().map(|r| &r.2.standardizer))?;
    let mut series = clean.clone();
    add_obs_noise(cfg, &mut series);
    train_series(TrainingSeries { series: &series, clean: Some(&clean), standardizer: &standardizer, data }, run, cfg, opts, progress)
}

/// A training series as [`train_series`] takes it: loaded, standardised and noised.
#[derive(Debug, Clone, Copy)]
pub struct TrainingSeries<'a> {
    /// The series the model is fitted to.
    pub series: &'a Series,
    /// The same series before the observation noise (`eval.select = "clean"` compares free runs
    /// with it); `None`: `series` carries no observation noise.
    pub clean: Option<&'a Series>,
    /// The standardisation applied to both (stored with the run).
    pub standardizer: &'a Standardizer,
    /// The data file they came from (only recorded).
    pub data: &'a Path,
}

impl TrainingSeries<'_> {
    /// The series that free runs are compared with for model selection under `select`.
    fn selection(&self, select: Selection) -> &Series {
        match select {
            Selection::Clean => self.clean.unwrap_or(self.series),
            Selection::Train | Selection::Last => self.series,
        }
    }
}

/// [`train`] on a series already loaded, standardised and noised.
pub fn train_series(
    input: TrainingSeries,
    run: &RunDir,
    cfg: &AlrnnTrainConfig,
    opts: &TrainCall,
    progress: &dyn Progress,
) -> crate::Result<AlrnnTrainSummary> {
    let series = input.series;
    let cfg = &cfg.with_seq_len_for(series.len());
    cfg.validate()?;
    if let Some(c) = input.clean {
        if (c.n, c.len()) != (series.n, series.len()) {
            return Err(OperatorError::invalid(
                "clean series",
                format!("{} × {}", c.len(), c.n),
                format!("must match the training series' {} × {}", series.len(), series.n),
            ));
        }
    }
    match cfg.alrnn.precision {
        Precision::F64 => train_in::<f64>(input, run, cfg, opts, progress),
        Precision::F32 => train_in::<f32>(input, run, cfg, opts, progress),
    }
}

/// [`train_series`] computing in `F`.
fn train_in<F: Real>(
    input: TrainingSeries,
    run: &RunDir,
    cfg: &AlrnnTrainConfig,
    opts: &TrainCall,
    progress: &dyn Progress,
) -> crate::Result<AlrnnTrainSummary> {
    let TrainingSeries { series, standardizer, data, .. } = input;
    let selection = input.selection(cfg.eval.select);
    let seq_len = cfg.seq_len.unwrap_or(REFERENCE_SEQ_LEN);
    let ck_path = run.file(files::CHECKPOINT);
    let resumed = if opts.resume { Some(read_checkpoint(run)?) } else { None };
    let n = series.n;
    let shape = AlrnnShape { m: cfg.alrnn.latent_dim, p: cfg.alrnn.relu_units, n };
    shape.validate()?;
    let t_len = series.len();
    if t_len < seq_len + 1 {
        return Err(OperatorError::invalid("seq_len", seq_len, format!("must be < {t_len}, the training series' length")));
    }
    let (mut model, mut moments, mut state) = match resumed {
        Some((params, moments, state)) => {
            if state.shape != shape {
                return Err(run_err(&ck_path, format!("was written for {:?}; this configuration and data give {:?}", state.shape, shape)));
            }
            let not_exact = || {
                run_err(
                    &ck_path,
                    format!(
                        "holds values that are not {} numbers, so it was not written with alrnn.precision = \"{}\"",
                        cfg.alrnn.precision, cfg.alrnn.precision
                    ),
                )
            };
            let params = exact_in::<F>(&params).ok_or_else(not_exact)?;
            let moments = Moments { m: exact_in::<F>(&moments.m).ok_or_else(not_exact)?, v: exact_in::<F>(&moments.v).ok_or_else(not_exact)? };
            // metrics.jsonl is a copy of the checkpoint's history, which holds the truth:
            // rewriting it now repairs a truncated or edited copy before the first new epoch.
            run.write_metrics(&state.history)?;
            (Alrnn { shape, params }, moments, state)
        }
        None => {
            run.create()?;
            run.write_config(&cfg.to_toml())?;
            let model = Alrnn::init(shape, cfg.seed)?.cast::<F>();
            let state = AlrnnRunState {
                epochs_done: 0,
                steps: 0,
                skipped_batches: 0,
                best_dstsp: None,
                best_epoch: 0,
                history: Vec::new(),
                shape,
                standardizer: standardizer.clone(),
                data: data.to_path_buf(),
                train_seconds: 0.0,
            };
            (model, Moments::new(shape.n_params()), state)
        }
    };
    let forcing = match cfg.forcing.kind {
        ForcingKind::Sparse => Forcing { tau: cfg.forcing.tau, alpha: 1.0 },
        ForcingKind::Generalized => Forcing { tau: cfg.forcing.tau, alpha: cfg.forcing.alpha },
    };
    let threads = if cfg.threads == 0 { std::thread::available_parallelism().map_or(1, |v| v.get()) } else { cfg.threads };
    let o = &cfg.optimizer;
    let gamma = (o.lr_end / o.lr_start).powf(1.0 / cfg.epochs as f64);
    let select_len = if cfg.eval.select_len == 0 { t_len } else { cfg.eval.select_len };
    // The selection series as the model sees it (in `F`) for the free run's start and the
    // prediction error; D_stsp and D_H compare with its f64 values.
    let selection_f: Vec<F> = selection.values.iter().map(|&v| F::round_from(v)).collect();
    let last = opts.limits.last_epoch(cfg.epochs);
    let per_epoch = cfg.batches_per_epoch as u64;
    let epochs = Epochs::new(progress, cfg.epochs, per_epoch);
    let np = shape.n_params();
    let mut grad = vec![F::ZERO; np];
    let width = (seq_len + 1) * n;
    let mut seqs: Vec<Vec<F>> = vec![vec![F::ZERO; width]; cfg.batch_size];
    let mut call_start = Instant::now();
    // Checked before the call's first epoch and at the end of every epoch, where the
    // checkpoint of a stop between evaluations is written.
    let mut deadline = opts.limits.epoch_deadline();
    let mut next_fits = |history: &[AlrnnEpoch]| deadline.as_mut().is_none_or(|d| d.next_epoch_fits(history.last().map(|e| e.seconds)));
    if state.epochs_done < last && !next_fits(&state.history) {
        epochs.finish();
        return Ok(AlrnnTrainSummary { state, run_dir: run.path().to_path_buf() });
    }
    for epoch in state.epochs_done..last {
        epochs.begin(epoch + 1);
        let epoch_start = Instant::now();
        let lr = o.lr_start * gamma.powi(epoch as i32);
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(epoch as u64 + 1);
        let mut loss_sum = 0.0;
        for _ in 0..cfg.batches_per_epoch {
            for s in seqs.iter_mut() {
                let start = rng.random_range(0..t_len - seq_len);
                // Series and batch noise are drawn in f64 and the batch enters the model
                // rounded to `F`, so both precisions see the same batches.
                for (dst, &v) in s.iter_mut().zip(&series.values[start * n..start * n + width]) {
                    let noisy = if cfg.noise > 0.0 { v + cfg.noise * normal(&mut rng) } else { v };
                    *dst = F::round_from(noisy);
                }
            }
            let loss = batch_gradient(&model, &seqs, forcing, threads, &mut grad);
            if loss.is_finite() && grad.iter().all(|g| g.is_finite()) {
                state.steps += 1;
                moments.update(o.kind, &mut model.params, &grad, state.steps, lr, o.betas, o.eps);
            } else {
                state.skipped_batches += 1;
            }
            loss_sum += loss;
            epochs.batch();
        }
        let done = epoch + 1;
        let evaluate_now = done % cfg.eval.every == 0 || done == cfg.epochs;
        let mut record = AlrnnEpoch { epoch: done, lr, loss: loss_sum / cfg.batches_per_epoch as f64, dstsp: None, dh: None, pe: None, seconds: 0.0 };
        if evaluate_now {
            let gen: Vec<f64> = model.free_run(&selection_f[..n], select_len).iter().map(|v| v.widen()).collect();
            record.dstsp = dstsp(cfg, &selection.values, &gen, n, cfg.eval.binning);
            record.dh = dh(&selection.values, &gen, n, cfg.eval.psd_sigma);
            record.pe = prediction_error(&model, &selection_f, cfg.eval.pe_steps, cfg.eval.pe_stride);
            let improved = match (record.dstsp, state.best_dstsp) {
                _ if cfg.eval.select == Selection::Last => false,
                (Some(d), Some(b)) => d < b,
                (Some(_), None) => true,
                (None, _) => state.best_epoch == 0,
            };
            if improved {
                keep(run, &mut state, &model, done, record.dstsp)?;
            }
        }
        record.seconds = epoch_start.elapsed().as_secs_f64();
        let values = [("loss", Some(record.loss)), ("D_stsp", record.dstsp), ("D_H", record.dh), ("PE", record.pe)];
        epochs.end(&epoch_line(done, cfg.epochs, lr, &values, record.seconds));
        let dstsp_now = record.dstsp;
        state.history.push(record);
        state.epochs_done = done;
        let stop = done < last && !next_fits(&state.history);
        if evaluate_now || done == last || stop {
            if cfg.eval.select == Selection::Last {
                // Without selection the kept model is the latest checkpointed one, so an
                // interrupted run can be evaluated too; after the last epoch it is that epoch's.
                keep(run, &mut state, &model, done, dstsp_now)?;
            }
            state.train_seconds += call_start.elapsed().as_secs_f64();
            call_start = Instant::now();
            save(run, &model, &moments, &state)?;
        }
        if stop {
            break;
        }
    }
    epochs.finish();
    Ok(AlrnnTrainSummary { state, run_dir: run.path().to_path_buf() })
}

/// Makes `model` (after epoch `epoch`) the kept model: `best_model.json` and the run state.
fn keep<F: Real>(run: &RunDir, state: &mut AlrnnRunState, model: &Alrnn<F>, epoch: usize, dstsp: Option<f64>) -> crate::Result<()> {
    state.best_dstsp = dstsp;
    state.best_epoch = epoch;
    let best = BestModel { epoch, dstsp, standardizer: state.standardizer.clone(), model: model.cast::<f64>() };
    run.write_sealed_json(files::BEST, &best)
}

fn save<F: Real>(run: &RunDir, model: &Alrnn<F>, moments: &Moments<F>, state: &AlrnnRunState) -> crate::Result<()> {
    let s = serde_json::to_vec(state).map_err(|e| run_err(&run.file(files::CHECKPOINT), e.to_string()))?;
    run.write_checkpoint(&[&reals_to_bytes(&model.params), &reals_to_bytes(&moments.m), &reals_to_bytes(&moments.v), &s])?;
    run.write_metrics(&state.history)?;
    super::plot::training_curves(&run.file(files::CURVE), &state.history)
}

/// Result of `eval` on the test series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlrnnEvalSummary {
    /// The file evaluated on.
    pub data: PathBuf,
    /// Sample index of the test series.
    pub test_sample: usize,
    /// Its length after `skip`/`length`.
    pub test_steps: usize,
    /// Epoch of the evaluated (kept) model.
    pub best_epoch: usize,
    /// Free-run steps discarded before comparing.
    pub transient: usize,
    /// Free-run steps compared with the test series.
    pub compared_steps: usize,
    /// `D_stsp` (configured estimator and binning convention) against the test series.
    pub dstsp: Option<f64>,
    /// The binning convention of `dstsp`.
    pub binning: Binning,
    /// `D_stsp` under the other binning convention, for comparison.
    pub dstsp_other_binning: Option<f64>,
    /// `D_H` against the test series.
    pub dh: Option<f64>,
    /// `pe_steps`-step prediction error on the test series (every start point).
    pub pe: Option<f64>,
    /// Prediction horizon of `pe`.
    pub pe_steps: usize,
    /// Free-run steps (after the transient) that were coded.
    pub coding_steps: usize,
    /// Distinct linear subregions visited by the coded free run.
    pub n_subregions: usize,
    /// Each visited subregion: steps spent, fixed point, stability.
    pub subregions: Vec<Subregion>,
    /// Whether the free run became non-finite.
    pub diverged: bool,
    /// Total training time recorded in the run, seconds.
    pub train_seconds: f64,
}

/// Evaluates the kept model of `run` on the test series of `data`: `D_stsp`, `D_H`,
/// prediction error, symbolic coding; writes `eval.json` and three figures. The free run and
/// the prediction error compute in the run's `alrnn.precision`; metrics and the symbolic
/// analysis of the (exactly stored) parameters in f64.
pub fn evaluate(run: &RunDir, data: &Path, progress: &dyn Progress) -> crate::Result<AlrnnEvalSummary> {
    let cfg = read_config(run)?;
    let state = read_state(run)?;
    let best = read_best(run)?;
    let (test, _) = prepare_series(data, &cfg, cfg.data.test_sample, Some(&best.standardizer))?;
    let n = test.n;
    if n != best.model.shape.n {
        return Err(OperatorError::Data { path: data.to_path_buf(), message: format!("has dimension {n}; the run was trained on {}", best.model.shape.n) });
    }
    progress.start("eval alrnn", 4, 0);
    let model = &best.model;
    let e = &cfg.eval;
    let compared = if e.test_len == 0 { test.len() } else { e.test_len };
    let run_len = e.transient + compared.max(e.coding_len);
    let (latent, pe) = match cfg.alrnn.precision {
        Precision::F64 => free_run_in::<f64>(model, &test.values, run_len, e.pe_steps),
        Precision::F32 => free_run_in::<f32>(model, &test.values, run_len, e.pe_steps),
    };
    let m = model.shape.m;
    let observed: Vec<f64> = latent.chunks_exact(m).flat_map(|z| z[..n].iter().copied()).collect();
    let gen = &observed[e.transient * n..(e.transient + compared) * n];
    let diverged = !latent.iter().all(|v| v.is_finite());
    let other = match e.binning {
        Binning::Python => Binning::Margin,
        Binning::Margin => Binning::Python,
    };
    let d_main = dstsp(&cfg, &test.values, gen, n, e.binning);
    let d_other = if n <= e.max_binned_dim { dstsp(&cfg, &test.values, gen, n, other) } else { None };
    progress.advance(1);
    let d_h = dh(&test.values, gen, n, e.psd_sigma);
    progress.advance(1);
    progress.advance(1);
    // The attractor's regions, not the path from the initial condition: coded after the transient.
    let coding = code(model, &latent[e.transient * m..(e.transient + e.coding_len) * m]);
    progress.advance(1);
    progress.finish();
    let summary = AlrnnEvalSummary {
        data: data.to_path_buf(),
        test_sample: cfg.data.test_sample,
        test_steps: test.len(),
        best_epoch: best.epoch,
        transient: e.transient,
        compared_steps: compared,
        dstsp: d_main,
        binning: e.binning,
        dstsp_other_binning: d_other,
        dh: d_h,
        pe,
        pe_steps: e.pe_steps,
        coding_steps: e.coding_len,
        n_subregions: coding.n_used(),
        subregions: coding.regions.clone(),
        diverged,
        train_seconds: state.train_seconds,
    };
    run.write_json(files::EVAL, &summary)?;
    let truth_cmp = &test.values[..compared.min(test.len()) * n];
    super::plot::attractor(&run.file(files::ATTRACTOR), truth_cmp, gen, n)?;
    super::plot::spectra(&run.file(files::SPECTRA), truth_cmp, gen, n, e.psd_sigma)?;
    let shown = 2000.min(coding.sequence.len());
    let lo = e.transient;
    super::plot::subregions(&run.file(files::SUBREGIONS), &observed[lo * n..(lo + shown) * n], &coding.sequence[..shown], n, model.shape.p)?;
    Ok(summary)
}

/// The evaluation's free run of `len` latent states from the series' first point (widened to
/// f64) and its `pe_steps`-step prediction error from every point, computed in `F`, the
/// precision the model was trained in.
fn free_run_in<F: Real>(model: &Alrnn, series: &[f64], len: usize, pe_steps: usize) -> (Vec<f64>, Option<f64>) {
    let model = model.cast::<F>();
    let x: Vec<F> = series.iter().map(|&v| F::round_from(v)).collect();
    let latent = model.free_run_latent(&x[..model.shape.n], len).into_iter().map(F::widen).collect();
    (latent, prediction_error(&model, &x, pe_steps, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamics::config::{AlrnnSection, EvalSection, SeriesSection};
    use crate::run::TrainLimits;

    /// A sampled Lorenz-63 trajectory (RK4, Δt = 0.01, transient dropped), z-scored.
    fn lorenz(len: usize) -> Series {
        let f = |s: [f64; 3]| [10.0 * (s[1] - s[0]), s[0] * (28.0 - s[2]) - s[1], s[0] * s[1] - 8.0 / 3.0 * s[2]];
        let mut s = [1.0, 1.0, 1.0];
        let h = 0.01;
        let mut out = Vec::with_capacity(len * 3);
        for t in 0..len + 500 {
            let k1 = f(s);
            let k2 = f(std::array::from_fn(|i| s[i] + 0.5 * h * k1[i]));
            let k3 = f(std::array::from_fn(|i| s[i] + 0.5 * h * k2[i]));
            let k4 = f(std::array::from_fn(|i| s[i] + h * k3[i]));
            s = std::array::from_fn(|i| s[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]));
            if t >= 500 {
                out.extend_from_slice(&s);
            }
        }
        let mut series = Series { values: out, n: 3 };
        Standardizer::fit(&series, true).apply(&mut series);
        series
    }

    /// Plain training loop on an in-memory series (the file-based [`train`] adds I/O only).
    fn fit(series: &Series, epochs: usize, lr: f64) -> (f64, f64) {
        let shape = AlrnnShape { m: 12, p: 2, n: 3 };
        let mut model = Alrnn::init(shape, 1).unwrap();
        let mut mo = Moments::new(shape.n_params());
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut grad = vec![0.0; shape.n_params()];
        let (mut first, mut last) = (0.0, 0.0);
        for step in 1..=epochs as u64 {
            let seqs: Vec<Vec<f64>> = (0..8)
                .map(|_| {
                    let s = rng.random_range(0..series.len() - 41);
                    series.values[s * 3..(s + 41) * 3].to_vec()
                })
                .collect();
            let loss = batch_gradient(&model, &seqs, Forcing { tau: 8, alpha: 1.0 }, 2, &mut grad);
            if step <= 10 {
                first += loss / 10.0;
            }
            if step > epochs as u64 - 10 {
                last += loss / 10.0;
            }
            mo.update(AlrnnOptimizerKind::Radam, &mut model.params, &grad, step, lr, [0.9, 0.999], 1e-8);
        }
        (first, last)
    }

    #[test]
    fn tiny_training_run_reduces_the_loss_tenfold() {
        let series = lorenz(4000);
        let (first, last) = fit(&series, 400, 5e-3);
        assert!(last < first / 10.0, "loss {first} -> {last}");
    }

    #[test]
    fn batch_gradient_does_not_depend_on_threads() {
        let series = lorenz(500);
        let model = Alrnn::init(AlrnnShape { m: 10, p: 2, n: 3 }, 0).unwrap();
        let seqs: Vec<Vec<f64>> = (0..5).map(|k| series.values[k * 30..k * 30 + 31 * 3].to_vec()).collect();
        let mut g1 = vec![0.0; model.shape.n_params()];
        let mut g3 = g1.clone();
        let f = Forcing { tau: 4, alpha: 1.0 };
        assert_eq!(batch_gradient(&model, &seqs, f, 1, &mut g1).to_bits(), batch_gradient(&model, &seqs, f, 3, &mut g3).to_bits());
        assert_eq!(g1, g3);
    }

    #[test]
    fn a_deadline_stop_between_evaluations_leaves_a_checkpoint_that_resumes_exactly() {
        let series = lorenz(3000);
        let st = Standardizer { mean: vec![0.0; 3], std: vec![1.0; 3] };
        let cfg = AlrnnTrainConfig {
            epochs: 100_000,
            batches_per_epoch: 1,
            batch_size: 2,
            seq_len: Some(20),
            alrnn: AlrnnSection { latent_dim: 4, relu_units: 1, ..Default::default() },
            eval: EvalSection { every: 50_000, select_len: 500, ..Default::default() },
            ..Default::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (RunDir::new(dir.path().join("straight")), RunDir::new(dir.path().join("stopped")));
        let data = Path::new("lorenz-in-memory");
        let input = TrainingSeries { series: &series, clean: None, standardizer: &st, data };
        let silent = oplab_common::Silent;
        // Stopped by the clock somewhere far from a model selection: the epochs it finished
        // are checkpointed however many they are.
        let deadline = Some(Instant::now() + std::time::Duration::from_millis(100));
        let stopped =
            train_series(input, &b, &cfg, &TrainCall { resume: false, limits: TrainLimits { stop_after: None, deadline }, ..TrainCall::default() }, &silent)
                .unwrap();
        let k = stopped.state.epochs_done;
        assert!((1..cfg.epochs).contains(&k), "{k} epochs before the deadline");
        assert_eq!(read_state(&b).unwrap().epochs_done, k, "the stop point is checkpointed");
        let until = Some(k + 3);
        train_series(input, &b, &cfg, &TrainCall { resume: true, limits: TrainLimits { stop_after: until, deadline: None }, ..TrainCall::default() }, &silent)
            .unwrap();
        train_series(input, &a, &cfg, &TrainCall { resume: false, limits: TrainLimits { stop_after: until, deadline: None }, ..TrainCall::default() }, &silent)
            .unwrap();
        let ((pa, ma, _), (pb, mb, _)) = (read_checkpoint(&a).unwrap(), read_checkpoint(&b).unwrap());
        assert_eq!((pa, ma), (pb, mb), "parameters and moments after epoch {}", k + 3);
    }

    /// A straight run and one interrupted after epoch 3 and resumed end with the same bits,
    /// in either precision and with or without selection.
    #[test]
    fn resume_from_a_checkpoint_continues_exactly() {
        let series = lorenz(3000);
        let st = Standardizer { mean: vec![0.0; 3], std: vec![1.0; 3] };
        let dir = tempfile::tempdir().unwrap();
        let data = Path::new("lorenz-in-memory");
        let input = TrainingSeries { series: &series, clean: None, standardizer: &st, data };
        let silent = oplab_common::Silent;
        let mut f64_params = None;
        for (precision, select) in [(Precision::F64, Selection::Train), (Precision::F32, Selection::Train), (Precision::F32, Selection::Last)] {
            let cfg = AlrnnTrainConfig {
                epochs: 6,
                batches_per_epoch: 4,
                batch_size: 4,
                seq_len: Some(30),
                alrnn: AlrnnSection { latent_dim: 8, relu_units: 2, precision },
                eval: EvalSection { every: 2, select, select_len: 2000, ..Default::default() },
                ..Default::default()
            };
            let name = format!("{precision:?}-{select:?}");
            let (a, b) = (RunDir::new(dir.path().join(format!("straight-{name}"))), RunDir::new(dir.path().join(format!("resumed-{name}"))));
            train_series(input, &a, &cfg, &TrainCall::default(), &silent).unwrap();
            // Interrupted after epoch 3 (between evaluations: the checkpoint is the stop point).
            train_series(
                input,
                &b,
                &cfg,
                &TrainCall { resume: false, limits: TrainLimits { stop_after: Some(3), deadline: None }, ..TrainCall::default() },
                &silent,
            )
            .unwrap();
            assert_eq!(read_state(&b).unwrap().epochs_done, 3);
            train_series(input, &b, &cfg, &TrainCall { resume: true, ..TrainCall::default() }, &silent).unwrap();
            let (pa, ma, sa) = read_checkpoint(&a).unwrap();
            let (pb, mb, sb) = read_checkpoint(&b).unwrap();
            assert_eq!(pa, pb, "{name}: parameters");
            assert_eq!(ma, mb, "{name}: optimiser moments");
            assert_eq!((sa.steps, sa.best_epoch, sa.best_dstsp), (sb.steps, sb.best_epoch, sb.best_dstsp), "{name}");
            let strip = |s: &AlrnnRunState| {
                s.history.iter().map(|e| (e.epoch, e.loss.to_bits(), e.dstsp.map(f64::to_bits), e.dh.map(f64::to_bits))).collect::<Vec<_>>()
            };
            assert_eq!(strip(&sa), strip(&sb), "{name}");
            assert_eq!(a.read_bytes(files::BEST).unwrap(), b.read_bytes(files::BEST).unwrap(), "{name}");
            // Same seed, same bytes: a second straight run gives the identical model file.
            let c = RunDir::new(dir.path().join(format!("again-{name}")));
            train_series(input, &c, &cfg, &TrainCall::default(), &silent).unwrap();
            assert_eq!(a.read_bytes(files::BEST).unwrap(), c.read_bytes(files::BEST).unwrap(), "{name}");
            match precision {
                Precision::F64 => {
                    // An f64 checkpoint is refused by an f32 continuation rather than rounded.
                    let as_f32 = AlrnnTrainConfig { alrnn: AlrnnSection { precision: Precision::F32, ..cfg.alrnn.clone() }, epochs: 8, ..cfg.clone() };
                    let e = train_series(input, &a, &as_f32, &TrainCall { resume: true, ..TrainCall::default() }, &silent);
                    let e = e.unwrap_err().to_string();
                    assert!(e.contains(files::CHECKPOINT) && e.contains("f32"), "{e}");
                    f64_params = Some(pa);
                }
                Precision::F32 => {
                    assert!(pa.iter().chain(&ma.m).chain(&ma.v).all(|&v| (v as f32) as f64 == v), "{name}: stored values are f32 values");
                    assert_ne!(f64_params.as_ref(), Some(&pa), "{name}: f32 training differs from f64");
                }
            }
        }
    }

    /// Both precisions and every selection train a few epochs with finite metrics; selection
    /// never feeds back into training, `clean` measures against the noise-free series, `last`
    /// keeps the final model.
    #[test]
    fn every_precision_and_selection_trains_with_finite_metrics() {
        let clean = lorenz(2000);
        let base = AlrnnTrainConfig {
            epochs: 4,
            batches_per_epoch: 3,
            batch_size: 4,
            seq_len: Some(30),
            alrnn: AlrnnSection { latent_dim: 8, relu_units: 2, ..Default::default() },
            data: SeriesSection { obs_noise: 0.1, ..Default::default() },
            eval: EvalSection { every: 2, select_len: 1500, ..Default::default() },
            ..Default::default()
        };
        let mut noisy = clean.clone();
        add_obs_noise(&base, &mut noisy);
        assert_ne!(noisy, clean);
        let st = Standardizer { mean: vec![0.0; 3], std: vec![1.0; 3] };
        let dir = tempfile::tempdir().unwrap();
        let data = Path::new("lorenz-in-memory");
        let mut runs = Vec::new();
        for precision in [Precision::F64, Precision::F32] {
            for select in [Selection::Train, Selection::Clean, Selection::Last] {
                let cfg = AlrnnTrainConfig {
                    alrnn: AlrnnSection { precision, ..base.alrnn.clone() },
                    eval: EvalSection { select, ..base.eval.clone() },
                    ..base.clone()
                };
                let run = RunDir::new(dir.path().join(format!("{precision:?}-{select:?}")));
                train_series(
                    TrainingSeries { series: &noisy, clean: Some(&clean), standardizer: &st, data },
                    &run,
                    &cfg,
                    &TrainCall::default(),
                    &oplab_common::Silent,
                )
                .unwrap();
                assert_eq!(read_config(&run).unwrap(), cfg, "stored config");
                let (params, _, state) = read_checkpoint(&run).unwrap();
                let logged: Vec<&AlrnnEpoch> = state.history.iter().filter(|e| e.dstsp.is_some()).collect();
                assert_eq!(logged.iter().map(|e| e.epoch).collect::<Vec<_>>(), [2, 4], "{precision:?} {select:?}");
                for e in &logged {
                    let finite = |v: Option<f64>| v.is_some_and(f64::is_finite);
                    assert!(e.loss.is_finite() && finite(e.dstsp) && finite(e.dh) && finite(e.pe), "{precision:?} {select:?}: {e:?}");
                }
                let best = read_best(&run).unwrap();
                if select == Selection::Last {
                    assert_eq!((best.epoch, &best.model.params), (4, &params), "last keeps the final model");
                } else {
                    let lowest = logged.iter().min_by(|x, y| x.dstsp.partial_cmp(&y.dstsp).unwrap()).unwrap();
                    assert_eq!((best.epoch, best.dstsp), (lowest.epoch, lowest.dstsp), "{precision:?} {select:?}");
                }
                runs.push((precision, select, params, state.history));
            }
        }
        let dstsp_bits = |h: &[AlrnnEpoch]| h.iter().map(|e| e.dstsp.map(f64::to_bits)).collect::<Vec<_>>();
        for group in runs.chunks(3) {
            let [(_, _, p_train, h_train), (_, _, p_clean, h_clean), (_, _, p_last, h_last)] = group else { unreachable!() };
            assert!(p_train == p_clean && p_train == p_last, "selection does not change training");
            assert_eq!(dstsp_bits(h_train), dstsp_bits(h_last), "last logs against the training series");
            assert_ne!(dstsp_bits(h_train), dstsp_bits(h_clean), "clean logs against the clean series");
        }
        let (h64, h32) = (&runs[0].3, &runs[3].3);
        assert!((h64[0].loss - h32[0].loss).abs() <= 1e-4 * h64[0].loss, "first-epoch loss f64 {} vs f32 {}", h64[0].loss, h32[0].loss);
        assert_ne!(runs[0].2, runs[3].2, "f32 computes differently");
    }

    /// The measurement behind writing the AL-RNN by hand: one forced forward + backward of a
    /// 16 × 200-step batch at M = 20 on burn's CPU autodiff backend versus the hand-written
    /// BPTT. Run with `cargo test --release -p oplab-operators -- --ignored --nocapture burn_vs`.
    #[test]
    #[ignore]
    fn burn_vs_hand_written_batch_time() {
        use burn::tensor::{activation::relu, Tensor};
        type B = crate::backend::CpuTrain;
        let dev = Default::default();
        let (m, bsz, steps) = (20usize, 16usize, 200usize);
        let w = Tensor::<B, 2>::random([m, m], burn::tensor::Distribution::Normal(0.0, 0.01), &dev).require_grad();
        let a = Tensor::<B, 2>::full([1, m], 0.9, &dev).require_grad();
        let h = Tensor::<B, 2>::zeros([1, m], &dev).require_grad();
        let mask = Tensor::<B, 2>::from_floats([[1.0f32; 20]], &dev);
        let reps = 5;
        let t0 = Instant::now();
        for _ in 0..reps {
            let mut z = Tensor::<B, 2>::ones([bsz, m], &dev);
            let mut loss = Tensor::<B, 1>::zeros([1], &dev);
            for _ in 0..steps {
                let phi = z.clone() * mask.clone() + relu(z.clone()) * (mask.clone() * 0.0);
                z = z * a.clone() + phi.matmul(w.clone().transpose()) + h.clone();
                loss = loss + z.clone().slice([0..bsz, 0..3]).powf_scalar(2.0).mean().reshape([1]);
            }
            let _ = loss.backward();
        }
        let burn_s = t0.elapsed().as_secs_f64() / reps as f64;
        let series = lorenz(1000);
        let model = Alrnn::init(AlrnnShape { m, p: 2, n: 3 }, 0).unwrap();
        let seqs: Vec<Vec<f64>> = (0..bsz).map(|k| series.values[k * 30..k * 30 + (steps + 1) * 3].to_vec()).collect();
        let mut g = vec![0.0; model.shape.n_params()];
        let t1 = Instant::now();
        for _ in 0..reps {
            batch_gradient(&model, &seqs, Forcing { tau: 16, alpha: 1.0 }, 1, &mut g);
        }
        let hand_s = t1.elapsed().as_secs_f64() / reps as f64;
        eprintln!(
            "one batch (16 x 200 steps, M = 20): burn Flex+Autodiff {:.2} ms, hand-written f64 BPTT {:.2} ms (x{:.0})",
            burn_s * 1e3,
            hand_s * 1e3,
            burn_s / hand_s
        );
    }
}
