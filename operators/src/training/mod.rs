//! Training and evaluation runs of the field-to-field operators (MgNO, FNO): a [`Trainer`]
//! (the loop, on data in memory) wired to a [`RunDir`] (the files). Adam/AdamW, a per-epoch
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
pub mod fused_adam;
pub mod parallel;
mod replicas;
mod run;
pub mod schedule;
pub mod state;
pub mod sweep;
pub mod trainer;

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use burn::module::{AutodiffModule, Module};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamWConfig, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use oplab_common::{epoch_line, Epochs, Progress};
use serde::{Deserialize, Serialize};

pub use config::{CnnSection, FnoSection, MgNoSection, ModelKind, OptimizerKind, OptimizerSection, TrainConfig, UnetSection};
pub use run::OperatorRuns;
pub use schedule::{ScheduleConfig, ScheduleKind};
pub use state::{files, read_run_config, read_run_state, EpochMetrics, Normalizers, RunState};
pub use trainer::{evaluate_set, evaluate_set_with, EpochEnd, EpochObserver, LrSchedule, RunSchedule, Trainer};

#[cfg(feature = "cuda")]
use crate::backend::CudaFlavor;
use crate::backend::{select, BackendOptions, DeviceKind, ModelBackend, OptimBackend};
use crate::data::{FieldNames, FieldSet, Split};
use crate::error::OperatorError;
use crate::losses::{quadrature_weights, H1Spectral};
use crate::models::{Cnn, Discretization, Fno2d, MgNo, Operator2d, Unet};
use crate::normalizers::GaussianNormalizer;
use crate::run::{run_err, Deadline, EvalOptions, RunDir, TrainCall};
use fused_adam::FusedAdam;
use state::{from_bytes, to_bytes};

/// Summary of a training call.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// State at the end.
    pub state: RunState,
    /// The run directory.
    pub run_dir: PathBuf,
}

/// Trains `cfg.model` on `data` into `run`, with the paths the configuration's `[backend]`
/// options select (`backend::select`).
pub fn train(data: &Path, run: &RunDir, cfg: &TrainConfig, device: DeviceKind, opts: &TrainCall, progress: &dyn Progress) -> crate::Result<TrainSummary> {
    let cfg = &cfg.with_split_of(data)?;
    cfg.parallel.validate()?;
    let indices = opts.placement.device_indices(cfg.parallel.devices)?;
    select::with_options(&cfg.backend, || match device {
        // The CPU is one device: its replicas are threads on it.
        DeviceKind::Cpu => train_on::<crate::backend::CpuTrain>((&vec![Default::default(); indices.len()], true), data, run, cfg, opts, progress),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                match cuda_setup(&cfg.backend, cfg.model) {
                    CudaFlavor::Fusion => {
                        train_on::<crate::backend::CudaTrain>((&devices_at::<crate::backend::CudaTrain>(&indices), false), data, run, cfg, opts, progress)
                    }
                    CudaFlavor::Direct => train_on::<crate::backend::CudaDirectTrain>(
                        (&devices_at::<crate::backend::CudaDirectTrain>(&indices), false),
                        data,
                        run,
                        cfg,
                        opts,
                        progress,
                    ),
                }
            }
            #[cfg(not(feature = "cuda"))]
            {
                Err(OperatorError::invalid("device", "cuda", DeviceKind::available()))
            }
        }
    })
}

/// The devices of `B`'s kind with these indices (`cuda:2` is index 2).
#[cfg(feature = "cuda")]
fn devices_at<B: Backend>(indices: &[usize]) -> Vec<B::Device> {
    use burn::tensor::backend::{Device as _, DeviceId, DeviceOps};
    let kind = B::Device::default().id().type_id;
    indices.iter().map(|&i| B::Device::from_id(DeviceId { type_id: kind, index_id: i as u16 })).collect()
}

/// Prepares a CUDA run of `model` with `options` (cubecl's memory pool) and returns the CUDA
/// backend it runs on (`backend::select::cuda_flavor`).
#[cfg(feature = "cuda")]
fn cuda_setup(options: &BackendOptions, model: ModelKind) -> CudaFlavor {
    select::prepare_cuda(options, model.convolutional())
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
        let pool = select::cuda_memory_pool();
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

/// Everything a run's training needs besides the model and optimiser.
struct RunSetup<'a, D> {
    /// This node's replica devices (one for a single-device run), the local root's first.
    devices: &'a [D],
    /// The replicas share one device (the CPU): gradient sums in rank order
    /// (`parallel::Peer::exact_order`).
    exact_order: bool,
    data: &'a Path,
    run: &'a RunDir,
    cfg: &'a TrainConfig,
    opts: &'a TrainCall,
    progress: &'a dyn Progress,
    train_set: FieldSet,
    val_set: FieldSet,
    names: FieldNames,
}

fn train_on<B: AutodiffBackend + ModelBackend>(
    (devices, exact_order): (&[B::Device], bool),
    data: &Path,
    run: &RunDir,
    cfg: &TrainConfig,
    opts: &TrainCall,
    progress: &dyn Progress,
) -> crate::Result<TrainSummary>
where
    B::InnerBackend: ModelBackend + OptimBackend,
{
    cfg.validate()?;
    if cfg.data.n_val == Some(0) {
        return Err(OperatorError::invalid("data.n_val", 0, "must be >= 1: the best model is chosen on the validation split"));
    }
    let (train_set, names) = cfg.data.load(data, Split::Train)?;
    let (val_set, _) = cfg.data.load(data, Split::Val)?;
    let (c_in, c_out) = (train_set.c_in, train_set.c_out);
    let grid = (train_set.h, train_set.w);
    let device = &devices[0];
    B::seed(device, cfg.seed);
    let setup = RunSetup { devices, exact_order, data, run, cfg, opts, progress, train_set, val_set, names };
    match cfg.model {
        ModelKind::Mgno => {
            let model: MgNo<B> = cfg.mgno.model(c_in, c_out).init(device)?;
            let model = initial_weights(model, cfg, opts)?;
            cfg.mgno.check_grid(grid.0, grid.1)?;
            with_optimizer(model, device, setup)
        }
        ModelKind::Fno => {
            let model: Fno2d<B> = cfg.fno_model(c_in, c_out).init(device)?;
            with_optimizer(initial_weights(model, cfg, opts)?, device, setup)
        }
        ModelKind::Unet => {
            let model: Unet<B> = cfg.unet.model(c_in, c_out).init(device)?;
            with_optimizer(model, device, setup)
        }
        ModelKind::Cnn => {
            let model: Cnn<B> = cfg.cnn.model(c_in, c_out).init(device)?;
            with_optimizer(model, device, setup)
        }
    }
}

/// `model` with the weights of the configuration's `init` file on a fresh run (a resumed run
/// loads its checkpoint instead); the model as built otherwise.
fn initial_weights<B: Backend, M: Module<B>>(model: M, cfg: &TrainConfig, opts: &TrainCall) -> crate::Result<M> {
    match &cfg.init {
        Some(path) if !opts.resume => crate::export::load_into(model, cfg.model, path, "--init"),
        _ => Ok(model),
    }
}

fn with_optimizer<B, M>(model: M, device: &B::Device, setup: RunSetup<B::Device>) -> crate::Result<TrainSummary>
where
    B: AutodiffBackend,
    B::InnerBackend: OptimBackend,
    M: AutodiffModule<B> + Operator2d<B> + Send + 'static,
    M::InnerModule: Operator2d<B::InnerBackend>,
{
    let o = &setup.cfg.optimizer;
    match o.kind {
        OptimizerKind::Adam => {
            // The Adam step fused into one kernel per parameter tensor on a backend that has one
            // (`fused_adam`; the option `adam = "burn"` opts out), else burn's Adam; one state
            // record for both.
            let adam = FusedAdam::new([o.betas[0] as f32, o.betas[1] as f32], o.eps as f32, o.weight_decay as f32);
            fit(model, OptimizerAdaptor::<FusedAdam, M, B>::from(adam), device, setup)
        }
        OptimizerKind::Adamw => {
            let c = AdamWConfig::new()
                .with_beta_1(o.betas[0] as f32)
                .with_beta_2(o.betas[1] as f32)
                .with_epsilon(o.eps as f32)
                .with_weight_decay(o.weight_decay as f32);
            fit(model, c.init::<B, M>(), device, setup)
        }
    }
}

/// Fit normalisers (or restore them and the checkpoint on resume), then run the [`Trainer`] with
/// the run directory as its observer.
fn fit<B, M, O>(mut model: M, mut optim: O, device: &B::Device, setup: RunSetup<B::Device>) -> crate::Result<TrainSummary>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Operator2d<B> + Send + 'static,
    M::InnerModule: Operator2d<B::InnerBackend>,
    O: Optimizer<M, B>,
{
    let RunSetup { devices, exact_order, data, run, cfg, opts, progress, mut train_set, mut val_set, names } = setup;
    let ck_path = run.file(files::CHECKPOINT);
    let (li, lo) = train_set.sample_len();
    // Nodes other than node 0 follow its run directory and write nothing.
    let follower = opts.placement.node_rank() > 0;
    // Normalisers: fitted on the raw training split (or restored on resume, so that a resumed
    // run sees exactly the same encoded data).
    let norms = if opts.resume || follower {
        run.read_sealed_json::<Normalizers>(files::NORMALIZERS)?
    } else {
        Normalizers {
            input: GaussianNormalizer::fit(cfg.input_normalizer, &train_set.input, train_set.n, li),
            target: GaussianNormalizer::fit(cfg.target_normalizer, &train_set.target, train_set.n, lo),
        }
    };
    if !norms.input.fits(li) || !norms.target.fits(lo) {
        return Err(run_err(&run.file(files::NORMALIZERS), "normalisers do not match the data's grid"));
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
    let blank_optim = optim.clone();
    let mut optim_record: Option<Vec<u8>> = None;
    if opts.resume {
        let mut parts = run.read_checkpoint(3)?.into_iter();
        let (m, o, s) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let saved: RunState = run.parse_state(&s)?;
        if saved.params != params || saved.channels != state.channels || saved.grid != state.grid {
            return Err(run_err(
                &ck_path,
                format!(
                    "was written for a model of {} parameters on a {:?} grid with channels {:?}; this configuration and data give {} on {:?} with {:?}",
                    saved.params, saved.grid, saved.channels, params, state.grid, state.channels
                ),
            ));
        }
        model = model.load_record(from_bytes::<B, M::Record>(m, device, &ck_path)?);
        optim = optim.load_record(from_bytes::<B, O::Record>(o.clone(), device, &ck_path)?);
        optim_record = Some(o);
        state = saved;
        // metrics.jsonl is a copy of the checkpoint's history, which holds the truth: rewriting it
        // now repairs a truncated or edited copy before the first new epoch, and makes a resumed
        // run's file equal to an uninterrupted run's.
        if !follower {
            run.write_metrics(&state.history)?;
        }
    } else if !follower {
        run.create()?;
        run.write_config(&cfg.to_toml())?;
        run.write_sealed_json(files::NORMALIZERS, &norms)?;
    }

    let schedule = RunSchedule { config: &cfg.schedule, peak: cfg.optimizer.lr, epochs: cfg.epochs };
    let trainer = Trainer::<B> {
        train: &train_set,
        validation: Some(&val_set),
        target: &norms.target,
        loss: cfg.loss,
        quadrature: cfg.quadrature,
        h1_k_max: cfg.h1_k_max,
        batch_size: cfg.parallel.global_batch(cfg.batch_size),
        eval_batch_size: cfg.eval_batch_size,
        seed: cfg.seed,
        schedule: &schedule,
        grad_clip_norm: cfg.optimizer.grad_clip_norm,
        device: device.clone(),
        peer: None,
    };
    let per_epoch = train_set.n.div_ceil(cfg.parallel.global_batch(cfg.batch_size));
    let last = opts.limits.last_epoch(cfg.epochs);
    let first = state.epochs_done;
    let epochs = Epochs::new(progress, cfg.epochs, per_epoch as u64);
    let deadline = opts.limits.epoch_deadline();
    let mut recorder = RunRecorder::<B> { run, epochs: &epochs, state, deadline, backend: PhantomData };
    let fitted = if cfg.parallel.replicas() == 1 {
        trainer.fit(model, optim, first..last, &mut recorder, progress).map(|_| ())
    } else {
        let replication = replicas::Replication::<B> { parallel: &cfg.parallel, devices: devices.to_vec(), placement: &opts.placement, exact_order };
        // Every replica's optimiser: no state on a fresh run, the checkpoint's decoded on its
        // own device on resume.
        let replica_optim = |d: &B::Device| match &optim_record {
            Some(bytes) => Ok(blank_optim.clone().load_record(from_bytes::<B, O::Record>(bytes.clone(), d, &ck_path)?)),
            None => Ok(blank_optim.clone()),
        };
        replication.fit(&trainer, model, optim, &replica_optim, first..last, &mut recorder, progress)
    };
    epochs.finish();
    fitted?;
    Ok(TrainSummary { state: recorder.state, run_dir: run.path().to_path_buf() })
}

/// The run directory as the trainer's observer: the epoch's progress bar, and after every epoch
/// its summary line, the best model (when validation improved), the checkpoint,
/// `metrics.jsonl` and the loss curve.
struct RunRecorder<'a, B> {
    run: &'a RunDir,
    epochs: &'a Epochs<'a>,
    state: RunState,
    deadline: Option<Deadline>,
    backend: PhantomData<B>,
}

impl<B, M, O> EpochObserver<M, O> for RunRecorder<'_, B>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    O: Optimizer<M, B>,
{
    fn epoch_start(&mut self, epoch: usize) {
        self.epochs.begin(epoch);
    }

    fn proceed(&mut self, _epoch: usize) -> bool {
        let recorded = self.state.history.last().map(|m| m.seconds);
        self.deadline.as_mut().is_none_or(|d| d.next_epoch_fits(recorded))
    }

    fn epoch_end(&mut self, end: &EpochEnd, model: &M, optim: &O) -> crate::Result<()> {
        let (val_l2, val_h1) = end.validation.unwrap_or((f64::NAN, f64::NAN));
        let metrics =
            EpochMetrics { epoch: end.epoch, lr: end.lr, train_loss: end.train_loss, val_l2, val_h1, max_grad_norm: end.max_grad_norm, seconds: end.seconds };
        let values = [("train", Some(metrics.train_loss)), ("val L2", Some(val_l2)), ("val H1", Some(val_h1))];
        self.epochs.end(&epoch_line(metrics.epoch, self.epochs.total(), metrics.lr, &values, metrics.seconds));
        let state = &mut self.state;
        state.history.push(metrics);
        state.epochs_done = end.epoch;
        let ck_path = self.run.file(files::CHECKPOINT);
        if val_l2 < state.best_val_l2 {
            state.best_val_l2 = val_l2;
            state.best_epoch = end.epoch;
            let bytes = to_bytes::<B::InnerBackend, _>(model.valid().into_record(), &self.run.file(files::BEST))?;
            self.run.write_sealed(files::BEST, bytes)?;
        }
        let m = to_bytes::<B, _>(model.clone().into_record(), &ck_path)?;
        let o = to_bytes::<B, _>(optim.to_record(), &ck_path)?;
        let s = serde_json::to_vec(&*state).map_err(|e| run_err(&ck_path, e.to_string()))?;
        self.run.write_checkpoint(&[&m, &o, &s])?;
        // Metrics are rewritten from the checkpointed history, so a resumed run never holds
        // lines from epochs it is about to redo.
        self.run.write_metrics(&state.history)?;
        let column = |f: fn(&EpochMetrics) -> f64| state.history.iter().map(f).collect::<Vec<f64>>();
        crate::plot::loss_curve(&self.run.file(files::CURVE), &column(|m| m.train_loss), &column(|m| m.val_l2), &column(|m| m.val_h1))
    }
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

/// Evaluates the best model of `run` on the test split of `data`; writes `eval.json` and
/// `eval_samples.png` into the run directory.
pub fn evaluate(run: &RunDir, data: &Path, device: DeviceKind, progress: &dyn Progress) -> crate::Result<EvalSummary> {
    let cfg = read_run_config(run)?;
    on_device(&cfg, device, PlainEvalTask { cfg: &cfg, run, data, progress })
}

/// The resolution sweep of `run`'s best model on the test split of `data`
/// ([`sweep::ResolutionSweep`]); writes `resolution_sweep.json` and `.png` into the run directory.
pub fn resolution_sweep(
    run: &RunDir,
    data: &Path,
    options: &EvalOptions,
    device: DeviceKind,
    progress: &dyn Progress,
) -> crate::Result<sweep::ResolutionSweep> {
    let cfg = read_run_config(run)?;
    on_device(&cfg, device, SweepTask { cfg: &cfg, run, data, options, progress })
}

/// An evaluation that runs on whichever backend the device and the run's `[backend]` options
/// select.
trait DeviceTask {
    type Output;
    fn run<B: ModelBackend>(self, device: &B::Device) -> crate::Result<Self::Output>;
}

fn on_device<T: DeviceTask>(cfg: &TrainConfig, device: DeviceKind, task: T) -> crate::Result<T::Output> {
    select::with_options(&cfg.backend, || match device {
        DeviceKind::Cpu => task.run::<crate::backend::Cpu>(&Default::default()),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                match cuda_setup(&cfg.backend, cfg.model) {
                    CudaFlavor::Fusion => task.run::<crate::backend::Cuda>(&Default::default()),
                    CudaFlavor::Direct => task.run::<crate::backend::CudaDirect>(&Default::default()),
                }
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = task;
                Err(OperatorError::invalid("device", "cuda", DeviceKind::available()))
            }
        }
    })
}

struct PlainEvalTask<'a> {
    cfg: &'a TrainConfig,
    run: &'a RunDir,
    data: &'a Path,
    progress: &'a dyn Progress,
}

impl DeviceTask for PlainEvalTask<'_> {
    type Output = EvalSummary;
    fn run<B: ModelBackend>(self, device: &B::Device) -> crate::Result<EvalSummary> {
        evaluate_on::<B>(device, self.cfg, self.run, self.data, self.progress)
    }
}

struct SweepTask<'a> {
    cfg: &'a TrainConfig,
    run: &'a RunDir,
    data: &'a Path,
    options: &'a EvalOptions,
    progress: &'a dyn Progress,
}

impl DeviceTask for SweepTask<'_> {
    type Output = sweep::ResolutionSweep;
    fn run<B: ModelBackend>(self, device: &B::Device) -> crate::Result<sweep::ResolutionSweep> {
        sweep::sweep_on::<B>(device, self.cfg, self.run, self.data, self.options, self.progress)
    }
}

/// [`evaluate`] on backend `B`, with the run's stored configuration `cfg`.
fn evaluate_on<B: ModelBackend>(device: &B::Device, cfg: &TrainConfig, run: &RunDir, data: &Path, progress: &dyn Progress) -> crate::Result<EvalSummary> {
    let state = read_run_state(run)?;
    let norms: Normalizers = run.read_sealed_json(files::NORMALIZERS)?;
    if cfg.data.n_test == Some(0) {
        return Err(OperatorError::invalid("data.n_test", 0, "must be >= 1 to evaluate"));
    }
    let (mut set, names) = cfg.data.load(data, Split::Test)?;
    if names != state.fields || [set.c_in, set.c_out] != state.channels {
        return Err(OperatorError::Data {
            path: data.to_path_buf(),
            message: format!(
                "has fields {:?} → {:?}; the run was trained on {:?} → {:?}",
                names.inputs, names.targets, state.fields.inputs, state.fields.targets
            ),
        });
    }
    let (li, _) = set.sample_len();
    if !norms.input.fits(li) || !norms.target.fits(set.c_out * set.h * set.w) {
        return Err(OperatorError::Data {
            path: data.to_path_buf(),
            message: format!("grid {}×{} differs from the training grid {:?} and the normalisers are per pixel", set.h, set.w, state.grid),
        });
    }
    let raw_inputs = set.input.clone();
    norms.input.encode_slice(&mut set.input, li);
    progress.start("eval", 1, 0);
    let quad = quadrature_weights::<B>(cfg.quadrature, set.h, set.w, device);
    let h1 = H1Spectral::<B>::new(set.h, set.w, cfg.h1_k_max, device);
    let discretization = cfg.discretization(state.grid[1]);
    let (mean_l2, mean_h1, per, preds) = with_best_model::<B, _>(
        cfg,
        [set.c_in, set.c_out],
        run,
        device,
        PlainEval { discretization, set: &set, norms: &norms, cfg, quad: quad.as_ref(), h1: &h1 },
    )?;
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
    run.write_json(files::EVAL, &summary)?;
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
    crate::plot::sample_panels(&run.file(files::EVAL_PNG), &panels, set.h, set.w)?;
    Ok(summary)
}

/// Something done with a run's best model, whatever its type: [`with_best_model`] builds the
/// model the run's configuration names, loads `best_model.mpk` into it and hands it over.
pub(crate) trait BestModel<B: ModelBackend> {
    /// What it gives.
    type Output;
    /// Uses the loaded model.
    fn with<M: Operator2d<B>>(self, model: &M, device: &B::Device) -> crate::Result<Self::Output>;
}

/// Builds `cfg`'s model for `channels` (in, out), loads the run's best model into it and applies
/// `user` to it.
pub(crate) fn with_best_model<B: ModelBackend, U: BestModel<B>>(
    cfg: &TrainConfig,
    channels: [usize; 2],
    run: &RunDir,
    device: &B::Device,
    user: U,
) -> crate::Result<U::Output> {
    let best = run.file(files::BEST);
    let bytes = run.read_sealed(files::BEST)?;
    let [c_in, c_out] = channels;
    match cfg.model {
        ModelKind::Mgno => {
            let model: MgNo<B> = cfg.mgno.model(c_in, c_out).init(device)?;
            user.with(&model.load_record(from_bytes::<B, _>(bytes, device, &best)?), device)
        }
        ModelKind::Fno => {
            let model: Fno2d<B> = cfg.fno_model(c_in, c_out).init(device)?;
            user.with(&model.load_record(from_bytes::<B, _>(bytes, device, &best)?), device)
        }
        ModelKind::Unet => {
            let model: Unet<B> = cfg.unet.model(c_in, c_out).init(device)?;
            user.with(&model.load_record(from_bytes::<B, _>(bytes, device, &best)?), device)
        }
        ModelKind::Cnn => {
            let model: Cnn<B> = cfg.cnn.model(c_in, c_out).init(device)?;
            user.with(&model.load_record(from_bytes::<B, _>(bytes, device, &best)?), device)
        }
    }
}

/// The smallest grid side `cfg`'s model runs on.
pub(crate) fn min_side(cfg: &TrainConfig) -> usize {
    match cfg.model {
        ModelKind::Mgno | ModelKind::Fno | ModelKind::Cnn => 1,
        ModelKind::Unet => cfg.unet.model(1, 1).min_side(),
    }
}

type EvalOut = (f64, f64, Vec<(f64, f64)>, Vec<f32>);

/// The evaluation on the test split, in the run's discretisation.
struct PlainEval<'a, B: Backend> {
    discretization: Discretization,
    set: &'a FieldSet,
    norms: &'a Normalizers,
    cfg: &'a TrainConfig,
    quad: Option<&'a Tensor<B, 2>>,
    h1: &'a H1Spectral<B>,
}

impl<B: ModelBackend> BestModel<B> for PlainEval<'_, B> {
    type Output = EvalOut;

    fn with<M: Operator2d<B>>(self, model: &M, device: &B::Device) -> crate::Result<EvalOut> {
        Ok(run_eval(model, self.discretization, self.set, self.norms, self.cfg, self.quad, self.h1, device))
    }
}

/// The test-set errors and the first predictions of `model`, run in `discretization` (the
/// run's `convert` choice; on the training grid converted and plain nets are the same).
#[allow(clippy::too_many_arguments)]
fn run_eval<B: Backend, M: Operator2d<B>>(
    model: &M,
    discretization: Discretization,
    set: &FieldSet,
    norms: &Normalizers,
    cfg: &TrainConfig,
    quad: Option<&Tensor<B, 2>>,
    h1: &H1Spectral<B>,
    device: &B::Device,
) -> EvalOut {
    let (l2, hh, per) = evaluate_set_with(model, discretization, set, &norms.target, cfg.eval_batch_size, quad, h1, device);
    // Predictions of the first few samples for the figure.
    let k = set.n.min(4);
    let idx: Vec<usize> = (0..k).collect();
    let preds = if k > 0 {
        let (x, _) = set.batch::<B>(&idx, device);
        norms.target.decode(model.forward_with(x, discretization)).into_data().convert::<f32>().to_vec().unwrap_or_default()
    } else {
        Vec::new()
    };
    (l2, hh, per, preds)
}
