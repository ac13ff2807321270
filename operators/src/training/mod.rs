//! The training engine: fits an [`Operator2d`] to a dataset with Adam/AdamW, a per-epoch
//! learning-rate schedule, optional global-norm gradient clipping, validation after every epoch,
//! the best model kept by validation error (never by test error), atomic checkpoints with exact
//! resume, metrics as JSON lines and a loss-curve PNG.
//!
//! A run directory holds:
//! - `config.toml`: the fully resolved [`TrainConfig`];
//! - `normalizers.json`: the fitted input/target normalisers;
//! - `checkpoint.bin`: model, optimiser and run state after the last finished epoch;
//! - `best_model.mpk`: the model of the epoch with the lowest validation relative L2;
//! - `metrics.jsonl`: one JSON object per epoch; `loss_curve.png`;
//! - after `eval`: `eval.json`, `eval_samples.png`.

pub mod clip;
pub mod config;
mod run;
pub mod fused_adam;
pub mod schedule;

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Record, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};
use oplab_common::Progress;
use serde::{Deserialize, Serialize};

pub use config::{FnoSection, MgNoSection, ModelKind, OptimizerKind, OptimizerSection, TrainConfig};
pub use run::OperatorRuns;
pub use schedule::{ScheduleConfig, ScheduleKind};

use crate::backend::{select, BackendOptions, DeviceKind, ModelBackend, OptimBackend};
use crate::data::{batches, epoch_order, FieldNames, FieldSet, Split};
use crate::error::OperatorError;
use fused_adam::FusedAdam;
#[cfg(feature = "cuda")]
use crate::backend::CudaFlavor;
use crate::losses::{quadrature_weights, relative_l2, H1Spectral, LossKind};
use crate::models::{Fno2d, MgNo, Operator2d};
use crate::normalizers::GaussianNormalizer;

/// File names inside a run directory.
pub mod files {
    /// Resolved configuration.
    pub const CONFIG: &str = "config.toml";
    /// Fitted normalisers.
    pub const NORMALIZERS: &str = "normalizers.json";
    /// Last checkpoint.
    pub const CHECKPOINT: &str = "checkpoint.bin";
    /// Best model by validation error.
    pub const BEST: &str = "best_model.mpk";
    /// Per-epoch metrics.
    pub const METRICS: &str = "metrics.jsonl";
    /// Loss curve.
    pub const CURVE: &str = "loss_curve.png";
    /// Evaluation summary.
    pub const EVAL: &str = "eval.json";
    /// Evaluation figure.
    pub const EVAL_PNG: &str = "eval_samples.png";
}

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, starting at 1.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Mean relative L2 on the validation split.
    pub val_l2: f64,
    /// Mean relative H¹ on the validation split.
    pub val_h1: f64,
    /// Largest global gradient norm seen before clipping (only computed when clipping).
    pub max_grad_norm: Option<f64>,
    /// Wall time of the epoch.
    pub seconds: f64,
}

/// Run state stored in every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Best validation relative L2 so far.
    pub best_val_l2: f64,
    /// Epoch of the best model.
    pub best_epoch: usize,
    /// Every epoch so far.
    pub history: Vec<EpochMetrics>,
    /// Fields used.
    pub fields: FieldNames,
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Training grid `[h, w]`.
    pub grid: [usize; 2],
    /// Trainable parameters.
    pub params: usize,
    /// The data file trained on.
    pub data: PathBuf,
}

/// Options of one `train` call that are not part of the configuration.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Continue the run in the directory.
    pub resume: bool,
    /// Stop after this many finished epochs (simulates an interruption; tests).
    pub stop_after: Option<usize>,
}

/// Summary of a training call.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// State at the end.
    pub state: RunState,
    /// The run directory.
    pub run_dir: PathBuf,
}

fn ck_err(path: &Path, m: impl Into<String>) -> OperatorError {
    OperatorError::Checkpoint { path: path.to_path_buf(), message: m.into() }
}

fn recorder() -> NamedMpkBytesRecorder<FullPrecisionSettings> {
    NamedMpkBytesRecorder::<FullPrecisionSettings>::new()
}

fn to_bytes<B: Backend, R: Record<B>>(rec: R, path: &Path) -> crate::Result<Vec<u8>> {
    Recorder::<B>::record(&recorder(), rec, ()).map_err(|e| ck_err(path, format!("cannot serialise: {e}")))
}

fn from_bytes<B: Backend, R: Record<B>>(bytes: Vec<u8>, device: &B::Device, path: &Path) -> crate::Result<R> {
    Recorder::<B>::load(&recorder(), bytes, device).map_err(|e| ck_err(path, format!("cannot be read: {e}")))
}

/// Trains `cfg.model` on `data`, writing the run to `run_dir`, with the paths the configuration's
/// `[backend]` options select (`backend::select`).
pub fn train(data: &Path, run_dir: &Path, cfg: &TrainConfig, device: DeviceKind, opts: &TrainOptions, progress: &dyn Progress) -> crate::Result<TrainSummary> {
    let cfg = &cfg.with_split_of(data)?;
    select::with_options(&cfg.backend, || match device {
        DeviceKind::Cpu => train_on::<crate::backend::CpuTrain>(&Default::default(), data, run_dir, cfg, opts, progress),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                match cuda_setup(&cfg.backend, cfg.model) {
                    CudaFlavor::Fusion => train_on::<crate::backend::CudaTrain>(&Default::default(), data, run_dir, cfg, opts, progress),
                    CudaFlavor::Direct => train_on::<crate::backend::CudaDirectTrain>(&Default::default(), data, run_dir, cfg, opts, progress),
                }
            }
            #[cfg(not(feature = "cuda"))]
            {
                Err(OperatorError::invalid("device", "cuda", DeviceKind::available()))
            }
        }
    })
}

/// Prepares a CUDA run of `model` with `options` (cubecl's memory pool) and returns the CUDA
/// backend it runs on (`backend::select::cuda_flavor`).
#[cfg(feature = "cuda")]
fn cuda_setup(options: &BackendOptions, model: ModelKind) -> CudaFlavor {
    crate::backend::cuda::device::configure_memory(options.memory);
    select::cuda_flavor(options, matches!(model, ModelKind::Mgno))
}

/// One line for the start of a CUDA run: which of burn's CUDA backends `model` trains on and which
/// memory pool cubecl allocates from (after preparing the run, which this does), with the
/// `[backend]` options that change them; `None` in builds without CUDA.
pub fn cuda_setup_notice(model: ModelKind, options: &BackendOptions) -> Option<String> {
    #[cfg(feature = "cuda")]
    {
        let backend = match cuda_setup(options, model) {
            CudaFlavor::Fusion => "with its fusion layer",
            CudaFlavor::Direct => "without its fusion layer",
        };
        let pool = crate::backend::cuda::device::memory_pool_in_use();
        Some(format!(
            "note: {} runs on burn's CUDA backend {backend}, cubecl allocating from {pool} (the run's [backend] options cuda = \"{}\" and memory = \"{}\"; --backend-cuda auto|fusion|direct and --backend-memory persistent|dynamic change them)",
            format!("{model:?}").to_lowercase(),
            options.cuda,
            options.memory
        ))
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = (model, options);
        None
    }
}

/// Reads the stored configuration of a run directory.
pub fn read_run_config(run_dir: &Path) -> crate::Result<TrainConfig> {
    let path = run_dir.join(files::CONFIG);
    let text = std::fs::read_to_string(&path).map_err(|e| OperatorError::io(&path, e))?;
    TrainConfig::from_toml(&text)
}

/// Reads the state of the last checkpoint of a run directory.
pub fn read_run_state(run_dir: &Path) -> crate::Result<RunState> {
    let path = run_dir.join(files::CHECKPOINT);
    let bytes = std::fs::read(&path).map_err(|e| OperatorError::io(&path, e))?;
    let parts = crate::run::unpack(&path, &bytes)?;
    let state = parts.get(2).ok_or_else(|| ck_err(&path, "has no run state"))?;
    serde_json::from_slice(state).map_err(|e| ck_err(&path, format!("run state unreadable: {e}")))
}

fn train_on<B: AutodiffBackend + ModelBackend>(device: &B::Device, data: &Path, run_dir: &Path, cfg: &TrainConfig, opts: &TrainOptions, progress: &dyn Progress) -> crate::Result<TrainSummary>
where
    B::InnerBackend: ModelBackend + OptimBackend,
{
    cfg.validate()?;
    if cfg.data.n_val == Some(0) {
        return Err(OperatorError::invalid("data.n_val", 0, "must be >= 1: the best model is chosen on the validation split"));
    }
    let (mut train_set, names) = cfg.data.load(data, Split::Train)?;
    let (mut val_set, _) = cfg.data.load(data, Split::Val)?;
    let (c_in, c_out) = (train_set.c_in, train_set.c_out);
    B::seed(device, cfg.seed);
    match cfg.model {
        ModelKind::Mgno => {
            let model: MgNo<B> = cfg.mgno.model(c_in, c_out).init(device)?;
            with_optimizer(model, device, data, run_dir, cfg, opts, progress, &mut train_set, &mut val_set, names)
        }
        ModelKind::Fno => {
            let model: Fno2d<B> = cfg.fno.model(c_in, c_out).init(device)?;
            with_optimizer(model, device, data, run_dir, cfg, opts, progress, &mut train_set, &mut val_set, names)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn with_optimizer<B, M>(
    model: M,
    device: &B::Device,
    data: &Path,
    run_dir: &Path,
    cfg: &TrainConfig,
    opts: &TrainOptions,
    progress: &dyn Progress,
    train_set: &mut FieldSet,
    val_set: &mut FieldSet,
    names: FieldNames,
) -> crate::Result<TrainSummary>
where
    B: AutodiffBackend,
    B::InnerBackend: OptimBackend,
    M: AutodiffModule<B> + Operator2d<B> + 'static,
    M::InnerModule: Operator2d<B::InnerBackend>,
{
    let o = &cfg.optimizer;
    match o.kind {
        OptimizerKind::Adam => {
            // The Adam step fused into one kernel per parameter tensor on a backend that has one
            // (`fused_adam`; the option `adam = "burn"` opts out), else burn's Adam; one state
            // record for both.
            let adam = FusedAdam::new([o.betas[0] as f32, o.betas[1] as f32], o.eps as f32, o.weight_decay as f32);
            fit(model, OptimizerAdaptor::<FusedAdam, M, B>::from(adam), device, data, run_dir, cfg, opts, progress, train_set, val_set, names)
        }
        OptimizerKind::Adamw => {
            let c = AdamWConfig::new().with_beta_1(o.betas[0] as f32).with_beta_2(o.betas[1] as f32).with_epsilon(o.eps as f32).with_weight_decay(o.weight_decay as f32);
            fit(model, c.init::<B, M>(), device, data, run_dir, cfg, opts, progress, train_set, val_set, names)
        }
    }
}

/// Normalisers fitted on the training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizers {
    /// Applied to the inputs before the model.
    pub input: GaussianNormalizer,
    /// Decoded after the model.
    pub target: GaussianNormalizer,
}

/// Mean relative L2 and H¹ of `model` over `set` (inputs already encoded), plus per-sample
/// values.
pub fn evaluate_set<B: Backend, M: Operator2d<B>>(model: &M, set: &FieldSet, norms: &Normalizers, batch_size: usize, quad: Option<&Tensor<B, 2>>, h1: &H1Spectral<B>, device: &B::Device) -> (f64, f64, Vec<(f64, f64)>) {
    let mut per = Vec::with_capacity(set.n);
    let order: Vec<usize> = (0..set.n).collect();
    for idx in batches(&order, batch_size) {
        let (x, y) = set.batch::<B>(idx, device);
        let pred = norms.target.decode(model.forward(x));
        let l2: Vec<f32> = relative_l2(pred.clone(), y.clone(), quad).into_data().convert::<f32>().to_vec().unwrap_or_default();
        let hh: Vec<f32> = h1.relative(pred, y).into_data().convert::<f32>().to_vec().unwrap_or_default();
        per.extend(l2.into_iter().zip(hh).map(|(a, b)| (a as f64, b as f64)));
    }
    let n = per.len().max(1) as f64;
    (per.iter().map(|p| p.0).sum::<f64>() / n, per.iter().map(|p| p.1).sum::<f64>() / n, per)
}

#[allow(clippy::too_many_arguments)]
fn fit<B, M, O>(
    mut model: M,
    mut optim: O,
    device: &B::Device,
    data: &Path,
    run_dir: &Path,
    cfg: &TrainConfig,
    opts: &TrainOptions,
    progress: &dyn Progress,
    train_set: &mut FieldSet,
    val_set: &mut FieldSet,
    names: FieldNames,
) -> crate::Result<TrainSummary>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Operator2d<B> + 'static,
    M::InnerModule: Operator2d<B::InnerBackend>,
    O: Optimizer<M, B>,
{
    std::fs::create_dir_all(run_dir).map_err(|e| OperatorError::io(run_dir, e))?;
    let ck_path = run_dir.join(files::CHECKPOINT);
    let (li, lo) = train_set.sample_len();
    // Normalisers: fitted on the raw training split (or restored on resume, so that a resumed
    // run sees exactly the same encoded data).
    let norm_path = run_dir.join(files::NORMALIZERS);
    let norms = if opts.resume {
        let text = std::fs::read_to_string(&norm_path).map_err(|e| OperatorError::io(&norm_path, e))?;
        serde_json::from_str::<Normalizers>(&text).map_err(|e| ck_err(&norm_path, format!("unreadable: {e}")))?
    } else {
        Normalizers {
            input: GaussianNormalizer::fit(cfg.input_normalizer, &train_set.input, train_set.n, li),
            target: GaussianNormalizer::fit(cfg.target_normalizer, &train_set.target, train_set.n, lo),
        }
    };
    if !norms.input.fits(li) || !norms.target.fits(lo) {
        return Err(ck_err(&norm_path, "normalisers do not match the data's grid"));
    }
    norms.input.encode_slice(&mut train_set.input, li);
    norms.input.encode_slice(&mut val_set.input, li);

    let params = model.num_params();
    let mut state = RunState {
        epochs_done: 0,
        best_val_l2: f64::INFINITY,
        best_epoch: 0,
        history: Vec::new(),
        fields: names,
        channels: [train_set.c_in, train_set.c_out],
        grid: [train_set.h, train_set.w],
        params,
        data: data.to_path_buf(),
    };
    if opts.resume {
        let bytes = std::fs::read(&ck_path).map_err(|e| OperatorError::io(&ck_path, e))?;
        let parts = crate::run::unpack(&ck_path, &bytes)?;
        if parts.len() != 3 {
            return Err(ck_err(&ck_path, "expected model, optimiser and state"));
        }
        let mut parts = parts.into_iter();
        let (m, o, s) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let saved: RunState = serde_json::from_slice(&s).map_err(|e| ck_err(&ck_path, format!("run state unreadable: {e}")))?;
        if saved.params != params || saved.channels != state.channels || saved.grid != state.grid {
            return Err(ck_err(&ck_path, format!(
                "was written for a model of {} parameters on a {:?} grid with channels {:?}; this configuration and data give {} on {:?} with {:?}",
                saved.params, saved.grid, saved.channels, params, state.grid, state.channels
            )));
        }
        model = model.load_record(from_bytes::<B, M::Record>(m, device, &ck_path)?);
        optim = optim.load_record(from_bytes::<B, O::Record>(o, device, &ck_path)?);
        state = saved;
    } else {
        write_atomic_text(&run_dir.join(files::CONFIG), &cfg.to_toml())?;
        write_atomic_text(&norm_path, &serde_json::to_string_pretty(&norms).unwrap_or_default())?;
    }

    let (h, w) = (train_set.h, train_set.w);
    let h1_train = H1Spectral::<B>::new(h, w, cfg.h1_k_max, device);
    let quad_train = quadrature_weights::<B>(cfg.quadrature, h, w, device);
    let inner_device = device.clone();
    let h1_val = H1Spectral::<B::InnerBackend>::new(h, w, cfg.h1_k_max, &inner_device);
    let quad_val = quadrature_weights::<B::InnerBackend>(cfg.quadrature, h, w, &inner_device);

    let per_epoch = train_set.n.div_ceil(cfg.batch_size);
    let last = opts.stop_after.map_or(cfg.epochs, |s| s.min(cfg.epochs));
    progress.start("train", (cfg.epochs * per_epoch) as u64, (state.epochs_done * per_epoch) as u64);
    for epoch in state.epochs_done..last {
        let started = Instant::now();
        let lr = cfg.schedule.lr(cfg.optimizer.lr, epoch, cfg.epochs);
        let order = epoch_order(train_set.n, cfg.seed, epoch);
        let mut loss_sum = 0.0;
        let mut max_norm: f64 = 0.0;
        let mut count = 0usize;
        for idx in batches(&order, cfg.batch_size) {
            let (x, y) = train_set.batch::<B>(idx, device);
            let pred = norms.target.decode(model.forward(x));
            let per_sample = match cfg.loss {
                LossKind::L2 => relative_l2(pred, y, quad_train.as_ref()),
                LossKind::H1 => h1_train.relative(pred, y),
            };
            let loss = per_sample.mean();
            let value: f64 = loss.clone().into_scalar().elem();
            if !value.is_finite() {
                progress.finish();
                return Err(OperatorError::invalid("optimizer.lr", cfg.optimizer.lr, format!("training diverged in epoch {} (loss {value}); lower the learning rate or set optimizer.grad_clip_norm", epoch + 1)));
            }
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            let norm = if cfg.optimizer.grad_clip_norm > 0.0 {
                clip::clip_global_norm::<B, M>(&model, &mut grads, cfg.optimizer.grad_clip_norm)
            } else {
                f64::NAN
            };
            if norm.is_finite() {
                max_norm = max_norm.max(norm);
            }
            model = optim.step(lr, model, grads);
            loss_sum += value * idx.len() as f64;
            count += idx.len();
            progress.advance(1);
        }
        let valid = model.valid();
        let (val_l2, val_h1, _) = evaluate_set(&valid, val_set, &norms, cfg.eval_batch_size, quad_val.as_ref(), &h1_val, &inner_device);
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            lr,
            train_loss: loss_sum / count.max(1) as f64,
            val_l2,
            val_h1,
            max_grad_norm: (cfg.optimizer.grad_clip_norm > 0.0).then_some(max_norm),
            seconds: started.elapsed().as_secs_f64(),
        };
        progress.message(&format!(
            "epoch {:>4}/{}  lr {:.2e}  train {:.4e}  val L2 {:.4e}  val H1 {:.4e}  ({:.1} s)",
            metrics.epoch, cfg.epochs, lr, metrics.train_loss, val_l2, val_h1, metrics.seconds
        ));
        state.history.push(metrics);
        state.epochs_done = epoch + 1;
        if val_l2 < state.best_val_l2 {
            state.best_val_l2 = val_l2;
            state.best_epoch = epoch + 1;
            let bytes = to_bytes::<B::InnerBackend, _>(valid.into_record(), &run_dir.join(files::BEST))?;
            crate::run::write_atomic(&run_dir.join(files::BEST), &bytes)?;
        }
        let m = to_bytes::<B, _>(model.clone().into_record(), &ck_path)?;
        let o = to_bytes::<B, _>(optim.to_record(), &ck_path)?;
        let s = serde_json::to_vec(&state).map_err(|e| ck_err(&ck_path, e.to_string()))?;
        crate::run::write_atomic(&ck_path, &crate::run::pack(&[&m, &o, &s]))?;
        // Metrics are rewritten from the checkpointed history, so a resumed run never holds
        // lines from epochs it is about to redo.
        let lines: String = state.history.iter().map(|m| serde_json::to_string(m).unwrap_or_default() + "\n").collect();
        write_atomic_text(&run_dir.join(files::METRICS), &lines)?;
        crate::plot::loss_curve(&run_dir.join(files::CURVE), &state.history)?;
    }
    progress.finish();
    Ok(TrainSummary { state, run_dir: run_dir.to_path_buf() })
}

fn write_atomic_text(path: &Path, text: &str) -> crate::Result<()> {
    crate::run::write_atomic(path, text.as_bytes())
}

/// Result of evaluating a run on the test split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Test samples.
    pub n: usize,
    /// Index of the first test sample in the file.
    pub first_index: usize,
    /// Mean relative L2.
    pub mean_l2: f64,
    /// Mean relative H¹.
    pub mean_h1: f64,
    /// Relative L2 of each sample.
    pub per_sample_l2: Vec<f64>,
    /// Relative H¹ of each sample.
    pub per_sample_h1: Vec<f64>,
    /// Epoch of the evaluated (best-validation) model.
    pub best_epoch: usize,
}

/// Evaluates the best model of `run_dir` on the test split of `data`; writes `eval.json` and
/// `eval_samples.png` into the run directory.
pub fn evaluate(run_dir: &Path, data: &Path, device: DeviceKind, progress: &dyn Progress) -> crate::Result<EvalSummary> {
    let cfg = read_run_config(run_dir)?;
    select::with_options(&cfg.backend, || match device {
        DeviceKind::Cpu => evaluate_on::<crate::backend::Cpu>(&Default::default(), &cfg, run_dir, data, progress),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                match cuda_setup(&cfg.backend, cfg.model) {
                    CudaFlavor::Fusion => evaluate_on::<crate::backend::Cuda>(&Default::default(), &cfg, run_dir, data, progress),
                    CudaFlavor::Direct => evaluate_on::<crate::backend::CudaDirect>(&Default::default(), &cfg, run_dir, data, progress),
                }
            }
            #[cfg(not(feature = "cuda"))]
            {
                Err(OperatorError::invalid("device", "cuda", DeviceKind::available()))
            }
        }
    })
}

/// [`evaluate`] on backend `B`, with the run's stored configuration `cfg`.
fn evaluate_on<B: ModelBackend>(device: &B::Device, cfg: &TrainConfig, run_dir: &Path, data: &Path, progress: &dyn Progress) -> crate::Result<EvalSummary> {
    let state = read_run_state(run_dir)?;
    let norm_path = run_dir.join(files::NORMALIZERS);
    let text = std::fs::read_to_string(&norm_path).map_err(|e| OperatorError::io(&norm_path, e))?;
    let norms: Normalizers = serde_json::from_str(&text).map_err(|e| ck_err(&norm_path, format!("unreadable: {e}")))?;
    if cfg.data.n_test == Some(0) {
        return Err(OperatorError::invalid("data.n_test", 0, "must be >= 1 to evaluate"));
    }
    let (mut set, names) = cfg.data.load(data, Split::Test)?;
    if names != state.fields || [set.c_in, set.c_out] != state.channels {
        return Err(OperatorError::Data { path: data.to_path_buf(), message: format!("has fields {:?} → {:?}; the run was trained on {:?} → {:?}", names.inputs, names.targets, state.fields.inputs, state.fields.targets) });
    }
    let (li, _) = set.sample_len();
    if !norms.input.fits(li) || !norms.target.fits(set.c_out * set.h * set.w) {
        return Err(OperatorError::Data { path: data.to_path_buf(), message: format!("grid {}×{} differs from the training grid {:?} and the normalisers are per pixel", set.h, set.w, state.grid) });
    }
    let raw_inputs = set.input.clone();
    norms.input.encode_slice(&mut set.input, li);
    let best = run_dir.join(files::BEST);
    let bytes = std::fs::read(&best).map_err(|e| OperatorError::io(&best, e))?;
    progress.start("eval", 1, 0);
    let quad = quadrature_weights::<B>(cfg.quadrature, set.h, set.w, device);
    let h1 = H1Spectral::<B>::new(set.h, set.w, cfg.h1_k_max, device);
    let (c_in, c_out) = (set.c_in, set.c_out);
    let (mean_l2, mean_h1, per, preds) = match cfg.model {
        ModelKind::Mgno => {
            let model: MgNo<B> = cfg.mgno.model(c_in, c_out).init(device)?;
            let model = model.load_record(from_bytes::<B, _>(bytes, device, &best)?);
            run_eval(&model, &set, &norms, cfg, quad.as_ref(), &h1, device)
        }
        ModelKind::Fno => {
            let model: Fno2d<B> = cfg.fno.model(c_in, c_out).init(device)?;
            let model = model.load_record(from_bytes::<B, _>(bytes, device, &best)?);
            run_eval(&model, &set, &norms, cfg, quad.as_ref(), &h1, device)
        }
    };
    progress.advance(1);
    progress.finish();
    let summary = EvalSummary {
        n: set.n,
        first_index: cfg.data.range(Split::Test).start,
        mean_l2,
        mean_h1,
        per_sample_l2: per.iter().map(|p| p.0).collect(),
        per_sample_h1: per.iter().map(|p| p.1).collect(),
        best_epoch: state.best_epoch,
    };
    write_atomic_text(&run_dir.join(files::EVAL), &serde_json::to_string_pretty(&summary).unwrap_or_default())?;
    let (lo, hw) = (set.c_out * set.h * set.w, set.h * set.w);
    let panels: Vec<crate::plot::SamplePanel> = (0..set.n.min(4))
        .map(|i| crate::plot::SamplePanel {
            index: summary.first_index + i,
            input: raw_inputs[i * li..i * li + hw].to_vec(),
            target: set.target[i * lo..i * lo + hw].to_vec(),
            prediction: preds[i * lo..i * lo + hw].to_vec(),
            rel_l2: summary.per_sample_l2[i],
        })
        .collect();
    crate::plot::sample_panels(&run_dir.join(files::EVAL_PNG), &panels, set.h, set.w)?;
    Ok(summary)
}

type EvalOut = (f64, f64, Vec<(f64, f64)>, Vec<f32>);

fn run_eval<B: Backend, M: Operator2d<B>>(model: &M, set: &FieldSet, norms: &Normalizers, cfg: &TrainConfig, quad: Option<&Tensor<B, 2>>, h1: &H1Spectral<B>, device: &B::Device) -> EvalOut {
    let (l2, hh, per) = evaluate_set(model, set, norms, cfg.eval_batch_size, quad, h1, device);
    // Predictions of the first few samples for the figure.
    let k = set.n.min(4);
    let idx: Vec<usize> = (0..k).collect();
    let preds = if k > 0 {
        let (x, _) = set.batch::<B>(&idx, device);
        norms.target.decode(model.forward(x)).into_data().convert::<f32>().to_vec().unwrap_or_default()
    } else {
        Vec::new()
    };
    (l2, hh, per, preds)
}
