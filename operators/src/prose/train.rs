//! PROSE's training loop on a run directory.
//!
//! Each optimiser step reads the next `batch_size` draws of a stream over the training split:
//! draw `k` is sample `order_p[k mod n_train]` of pass `p = k div n_train`, where `order_p` is
//! the shuffle of pass `p` ([`crate::data::epoch_order`]) and the sample's noise comes from the
//! generator keyed by `(seed, p, sample)` ([`super::data::sample_rng`]). An epoch is
//! `steps_per_epoch` steps, however many passes that is. Everything a step reads is a function
//! of the step number, so a run resumed from a checkpoint repeats an uninterrupted one bit for
//! bit.
//!
//! The step: `prose_loss` (weighted squared relative L2 of the data prediction plus the token
//! cross-entropy), global-norm clipping, AdamW (burn's, decoupled weight decay) at the rate of
//! the reference's inverse-square-root schedule, evaluated per step. After each epoch the
//! validation split (noise drawn once) gives the validation loss, data relative L2 and
//! cross-entropy; the model with the lowest validation loss is kept (`best_model.mpk`), and the
//! checkpoint, `metrics.jsonl` and `loss_curve.png` are rewritten atomically. A deadline stops
//! the loop before an epoch that would not end in time ([`crate::run::Deadline`], as for the other
//! families), so the last checkpoint is an epoch boundary the next call resumes from.

use std::path::Path;
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use oplab_common::{epoch_line, Epochs, Progress};

use super::config::ProseModelConfig;
use super::data::{host_batch, HostBatch, Prepared, ProseSet, VALIDATION_PASS};
use super::loss::prose_loss;
use super::metrics::window_errors;
use super::model::{Prose, ProseInput};
use super::run_config::ProseConfig;
use super::state::{files, ProseEpoch, ProseRunState};
use crate::backend::{select, ActivationBackend, DeviceKind};
use crate::data::epoch_order;
use crate::error::OperatorError;
use crate::run::{run_err, RunDir, TrainCall};
use crate::training::clip;
use crate::training::state::{from_bytes, to_bytes};

/// The tensors of one batch.
pub struct BatchTensors<B: Backend> {
    /// The model's input.
    pub input: ProseInput<B>,
    /// `[batch, n_query, max_dim]`.
    pub target: Tensor<B, 3>,
    /// `[batch, 1, max_dim]`.
    pub component_mask: Tensor<B, 3>,
    /// `[batch, dec_len]`: `<BOS> tokens <EOS> <PAD>…`.
    pub decoder_in: Tensor<B, 2, Int>,
    /// `[batch, dec_len]`, true at padding.
    pub decoder_pad: Tensor<B, 2, burn::tensor::Bool>,
}

fn ints<B: Backend>(v: &[i64], shape: [usize; 2], device: &B::Device) -> Tensor<B, 2, Int> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
}

fn mask<B: Backend>(v: &[bool], shape: [usize; 2], device: &B::Device) -> Tensor<B, 2, burn::tensor::Bool> {
    ints::<B>(&v.iter().map(|&p| i64::from(p)).collect::<Vec<_>>(), shape, device).equal_elem(1)
}

/// A host batch on `device`.
pub fn to_tensors<B: Backend>(b: &HostBatch, device: &B::Device) -> BatchTensors<B> {
    let f3 = |v: &[f32], shape: [usize; 3]| Tensor::<B, 3>::from_data(TensorData::new(v.to_vec(), shape), device);
    BatchTensors {
        input: ProseInput {
            data: f3(&b.data, [b.size, b.input_len, 1 + b.max_dim]),
            symbols: ints(&b.symbols, [b.size, b.sym_len], device),
            symbol_pad: mask(&b.symbol_pad, [b.size, b.sym_len], device),
            query_times: Tensor::from_data(TensorData::new(b.query_times.clone(), [b.size, b.n_query]), device),
        },
        target: f3(&b.target, [b.size, b.n_query, b.max_dim]),
        component_mask: f3(&b.component_mask, [b.size, 1, b.max_dim]),
        decoder_in: ints(&b.decoder, [b.size, b.dec_len], device),
        decoder_pad: mask(&b.decoder_pad, [b.size, b.dec_len], device),
    }
}

fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_scalar().elem()
}

/// Trains (or resumes) a PROSE run; returns the final state.
pub fn train(run: &RunDir, data: &Path, cfg: &ProseConfig, device: DeviceKind, opts: &TrainCall, progress: &dyn Progress) -> crate::Result<ProseRunState> {
    cfg.validate()?;
    select::with_options(&cfg.backend, || match device {
        DeviceKind::Cpu => train_on::<crate::backend::CpuTrain>(&Default::default(), run, data, cfg, opts, progress),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                match select::prepare_cuda(&cfg.backend, false) {
                    crate::backend::CudaFlavor::Fusion => train_on::<crate::backend::CudaTrain>(&Default::default(), run, data, cfg, opts, progress),
                    crate::backend::CudaFlavor::Direct => train_on::<crate::backend::CudaDirectTrain>(&Default::default(), run, data, cfg, opts, progress),
                }
            }
            #[cfg(not(feature = "cuda"))]
            {
                Err(OperatorError::invalid("device", "cuda", DeviceKind::available()))
            }
        }
    })
}

/// The training and validation splits of `data`, and the model configuration for its
/// vocabulary (checked against the sequences the model must hold).
pub fn load_splits(data: &Path, cfg: &ProseConfig) -> crate::Result<(ProseSet, ProseSet, ProseModelConfig)> {
    let full = ProseSet::load(data, cfg.data.input_len)?;
    let (n_train, n_val) = cfg.split();
    if n_train + n_val > full.n || n_train == 0 || n_val == 0 {
        return Err(OperatorError::invalid(
            "data.n_train + data.n_val",
            format!("{n_train} + {n_val}"),
            format!("must both be >= 1 and sum to at most {}, the samples in {}", full.n, data.display()),
        ));
    }
    let net = cfg.network.model(full.vocabulary.len(), full.vocabulary.pad(), full.max_dim, cfg.text_input)?;
    let longest = full.max_tokens() + 2;
    if longest > net.max_positions || cfg.data.input_len > net.max_positions {
        return Err(OperatorError::invalid(
            "network.max_positions",
            net.max_positions,
            format!("must hold the longest equation of {} ({longest} tokens with <BOS> and <EOS>)", data.display()),
        ));
    }
    Ok((full.subset(0..n_train), full.subset(n_train..n_train + n_val), net))
}

/// The validation batches: every sample with its one fixed noise draw.
fn validation_batches(val: &ProseSet, cfg: &ProseConfig) -> Vec<HostBatch> {
    let samples: Vec<Prepared> = (0..val.n).map(|i| val.noisy_sample(i, &cfg.noise, cfg.seed, VALIDATION_PASS)).collect();
    samples.chunks(cfg.eval_batch_size).map(|c| host_batch(c, &val.times, cfg.data.input_len, val.max_dim, &val.vocabulary)).collect()
}

/// The samples of optimiser step `step` (0-based).
fn step_samples(train: &ProseSet, cfg: &ProseConfig, step: u64, order: &mut (u64, Vec<usize>)) -> Vec<Prepared> {
    let n = train.n as u64;
    let b = cfg.batch_size as u64;
    (step * b..(step + 1) * b)
        .map(|k| {
            let pass = k / n;
            if order.0 != pass || order.1.is_empty() {
                *order = (pass, epoch_order(train.n, cfg.seed, pass as usize));
            }
            train.noisy_sample(order.1[(k % n) as usize], &cfg.noise, cfg.seed, pass)
        })
        .collect()
}

/// What one optimiser step measured (before the update).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLoss {
    /// The loss.
    pub total: f64,
    /// Its data part (squared relative L2, unweighted).
    pub data: f64,
    /// Its cross-entropy part (none without text).
    pub ce: Option<f64>,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

/// One optimiser step on `batch` at rate `lr`: the loss, its gradient, global-norm clipping to
/// `clip_norm` (0: none), the update. A non-finite loss skips the update (the caller stops).
pub fn train_step<B, O>(
    model: Prose<B>,
    optim: &mut O,
    batch: &HostBatch,
    data_weight: f64,
    clip_norm: f64,
    lr: f64,
    device: &B::Device,
) -> (Prose<B>, StepLoss)
where
    B: AutodiffBackend + ActivationBackend,
    O: Optimizer<Prose<B>, B>,
{
    let t = to_tensors::<B>(batch, device);
    let (pred, logits) = model.forward(&t.input, t.decoder_in.clone(), t.decoder_pad.clone());
    let l = prose_loss(pred, t.target, t.component_mask, logits, t.decoder_in, t.decoder_pad, data_weight);
    let total = scalar(l.total.clone());
    let data = scalar(l.data.clone());
    let ce = l.text.clone().map(scalar);
    if !total.is_finite() {
        return (model, StepLoss { total, data, ce, grad_norm: f64::NAN });
    }
    let mut grads = GradientsParams::from_grads(l.total.backward(), &model);
    let grad_norm =
        if clip_norm > 0.0 { clip::clip_global_norm::<B, Prose<B>>(&model, &mut grads, clip_norm) } else { clip::global_norm::<B, Prose<B>>(&model, &grads) };
    (optim.step(lr, model, grads), StepLoss { total, data, ce, grad_norm })
}

/// Validation loss, mean data relative L2 and cross-entropy of `model` over `batches`.
fn validate<B: ActivationBackend>(model: &Prose<B>, batches: &[HostBatch], data_weight: f64, device: &B::Device) -> (f64, f64, Option<f64>) {
    let (mut loss, mut ce, mut rel, mut count) = (0.0, 0.0, 0.0, 0usize);
    let mut has_ce = false;
    for hb in batches {
        let t = to_tensors::<B>(hb, device);
        let (pred, logits) = model.forward(&t.input, t.decoder_in.clone(), t.decoder_pad.clone());
        let pred_host: Vec<f32> = pred.clone().into_data().convert::<f32>().to_vec().unwrap_or_default();
        let l = prose_loss(pred, t.target, t.component_mask, logits, t.decoder_in, t.decoder_pad, data_weight);
        let w = hb.size as f64;
        loss += scalar(l.total) * w;
        if let Some(text) = l.text {
            ce += scalar(text) * w;
            has_ce = true;
        }
        let per = hb.n_query * hb.max_dim;
        for i in 0..hb.size {
            let dim = hb.component_mask[i * hb.max_dim..(i + 1) * hb.max_dim].iter().filter(|&&m| m > 0.0).count();
            rel += window_errors(&pred_host[i * per..(i + 1) * per], &hb.target[i * per..(i + 1) * per], hb.max_dim, dim).whole;
        }
        count += hb.size;
    }
    let n = count.max(1) as f64;
    (loss / n, rel / n, has_ce.then_some(ce / n))
}

fn train_on<B>(device: &B::Device, run: &RunDir, data: &Path, cfg: &ProseConfig, opts: &TrainCall, progress: &dyn Progress) -> crate::Result<ProseRunState>
where
    B: AutodiffBackend + ActivationBackend,
    B::InnerBackend: ActivationBackend,
{
    let (train_set, val_set, net) = load_splits(data, cfg)?;
    B::seed(device, cfg.seed);
    let mut model: Prose<B> = net.init(device);
    let o = &cfg.optimizer;
    let mut optim = AdamWConfig::new()
        .with_beta_1(o.betas[0] as f32)
        .with_beta_2(o.betas[1] as f32)
        .with_epsilon(o.eps as f32)
        .with_weight_decay(o.weight_decay as f32)
        .init::<B, Prose<B>>();
    let ck_path = run.file(files::CHECKPOINT);
    let mut state = ProseRunState {
        epochs_done: 0,
        steps: 0,
        best_val_loss: f64::INFINITY,
        best_epoch: 0,
        history: Vec::new(),
        vocabulary: train_set.vocabulary.clone(),
        network: net.clone(),
        params: model.num_params(),
        data: data.to_path_buf(),
        train_seconds: 0.0,
    };
    if opts.resume {
        let mut parts = run.read_checkpoint(3)?.into_iter();
        let (m, op, s) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let saved: ProseRunState = run.parse_state(&s)?;
        if saved.vocabulary != state.vocabulary {
            return Err(OperatorError::Data { path: data.to_path_buf(), message: "has another vocabulary than the run was trained with".into() });
        }
        if saved.network != net {
            return Err(run_err(&ck_path, format!("was written for another network ({:?}); this configuration and data give {:?}", saved.network, net)));
        }
        model = model.load_record(from_bytes::<B, _>(m, device, &ck_path)?);
        optim = optim.load_record(from_bytes::<B, _>(op, device, &ck_path)?);
        state = saved;
        // metrics.jsonl is a copy of the checkpoint's history, which holds the truth: rewriting it
        // now repairs a truncated or edited copy before the first new epoch, and makes a resumed
        // run's file equal to an uninterrupted run's.
        run.write_metrics(&state.history)?;
    }
    let val_batches = validation_batches(&val_set, cfg);
    let data_weight = cfg.data_weight();
    let last = opts.limits.last_epoch(cfg.epochs);
    let per_epoch = cfg.steps_per_epoch as u64;
    let epochs = Epochs::new(progress, cfg.epochs, per_epoch);
    let mut order: (u64, Vec<usize>) = (0, Vec::new());
    let mut call_start = Instant::now();
    let mut deadline = opts.limits.epoch_deadline();
    for epoch in state.epochs_done..last {
        if !deadline.as_mut().is_none_or(|d| d.next_epoch_fits(state.history.last().map(|e| e.seconds))) {
            break;
        }
        epochs.begin(epoch + 1);
        let started = Instant::now();
        let (mut loss_sum, mut data_sum, mut ce_sum, mut max_norm, mut lr) = (0.0, 0.0, 0.0, 0.0f64, 0.0);
        let mut has_ce = false;
        for _ in 0..per_epoch {
            let samples = step_samples(&train_set, cfg, state.steps, &mut order);
            let hb = host_batch(&samples, &train_set.times, cfg.data.input_len, train_set.max_dim, &train_set.vocabulary);
            state.steps += 1;
            lr = o.lr_at(state.steps);
            let (next, out) = train_step(model, &mut optim, &hb, data_weight, o.grad_clip_norm, lr, device);
            model = next;
            if !out.total.is_finite() {
                epochs.finish();
                return Err(OperatorError::Diverged { epoch: epoch + 1, loss: out.total });
            }
            let value = out.total;
            data_sum += out.data;
            if let Some(ce) = out.ce {
                ce_sum += ce;
                has_ce = true;
            }
            max_norm = max_norm.max(out.grad_norm);
            loss_sum += value;
            epochs.batch();
        }
        let inner = model.valid();
        let (val_loss, val_rel, val_ce) = validate(&inner, &val_batches, data_weight, device);
        let steps = per_epoch.max(1) as f64;
        let record = ProseEpoch {
            epoch: epoch + 1,
            steps: state.steps,
            lr,
            train_loss: loss_sum / steps,
            train_data: data_sum / steps,
            train_ce: has_ce.then_some(ce_sum / steps),
            val_loss,
            val_data_rel_l2: val_rel,
            val_ce,
            max_grad_norm: max_norm,
            seconds: started.elapsed().as_secs_f64(),
        };
        let values = [("train", Some(record.train_loss)), ("val loss", Some(val_loss)), ("val data rel. L2", Some(val_rel)), ("val CE", val_ce)];
        epochs.end(&epoch_line(record.epoch, cfg.epochs, record.lr, &values, record.seconds));
        state.history.push(record);
        state.epochs_done = epoch + 1;
        if val_loss < state.best_val_loss {
            state.best_val_loss = val_loss;
            state.best_epoch = epoch + 1;
            let bytes = to_bytes::<B::InnerBackend, _>(inner.into_record(), &run.file(files::BEST))?;
            run.write_sealed(files::BEST, bytes)?;
        }
        state.train_seconds += call_start.elapsed().as_secs_f64();
        call_start = Instant::now();
        let m = to_bytes::<B, _>(model.clone().into_record(), &ck_path)?;
        let op = to_bytes::<B, _>(optim.to_record(), &ck_path)?;
        let s = serde_json::to_vec(&state).map_err(|e| run_err(&ck_path, e.to_string()))?;
        run.write_checkpoint(&[&m, &op, &s])?;
        run.write_metrics(&state.history)?;
        super::plot::loss_curves(&run.file(files::CURVE), &state.history)?;
    }
    epochs.finish();
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuTrain;
    use crate::prose::config::TextInput;
    use crate::prose::data::{generated_file, NoiseConfig};
    use crate::prose::metrics::window_errors;
    use crate::prose::run_config::ModelSection;
    use crate::prose::state::read_state;
    use crate::run::TrainLimits;
    use oplab_common::Silent;

    /// Issue test 3: the tiny model memorises one sample of each of the 12 systems (noise off)
    /// in at most 400 steps: cross-entropy, greedy decoding and data error.
    // Seeding burn's process-wide RNG fixes the initial weights only if no test running in
    // parallel draws from it in between; in the parallel suite they did, and the data error
    // moved with the scheduling. So it runs alone, with the determinism test below.
    #[test]
    #[ignore = "needs burn's process-wide RNG to itself (make test runs it so): cargo test --workspace --features oplab/mpi --lib -- --ignored --test-threads=1 prose::train::"]
    fn tiny_model_overfits_one_sample_per_system() {
        let dir = tempfile::tempdir().unwrap();
        let path = generated_file(dir.path(), "twelve.h5", 12, 3, false);
        let set = ProseSet::load(&path, 64).unwrap();
        let v = &set.vocabulary;
        let net = ModelSection { preset: "tiny".into(), ..Default::default() }.model(v.len(), v.pad(), set.max_dim, TextInput::Skeleton).unwrap();
        let device = Default::default();
        CpuTrain::seed(&device, 0);
        let mut model: Prose<CpuTrain> = net.init(&device);
        let mut optim = AdamWConfig::new().with_weight_decay(0.0).init::<CpuTrain, Prose<CpuTrain>>();
        // Memorising wants a high constant rate after a short warm-up (not the inverse-square-root
        // decay of a long run) to reach the memorised solution, then a decay to settle in it: at a
        // constant 5e-3 Adam keeps overshooting the narrow minimum of a fixed batch, which leaves
        // the data error near 0.11. A cosine from the peak to 1 % of it over the second half.
        let lr = |step: u64| {
            let (peak, warmup, hold, total) = (5e-3, 20.0, 200.0, 400.0);
            let s = step as f64;
            if s <= hold {
                peak * (s / warmup).min(1.0)
            } else {
                let progress = (s - hold) / (total - hold);
                peak * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))
            }
        };
        let samples: Vec<Prepared> = (0..set.n).map(|i| set.noisy_sample(i, &NoiseConfig::OFF, 0, 0)).collect();
        let batch = host_batch(&samples, &set.times, 64, set.max_dim, v);
        let started = Instant::now();
        let mut last = None;
        for step in 1..=400u64 {
            let (next, out) = train_step(model, &mut optim, &batch, 6.0, 1.0, lr(step), &device);
            model = next;
            last = Some(out);
        }
        let seconds = started.elapsed().as_secs_f64();
        let inner = model.valid();
        let (_, rel, ce) = validate(&inner, std::slice::from_ref(&batch), 6.0, &device);
        let t = to_tensors::<crate::backend::Cpu>(&batch, &device);
        let decoded = inner.greedy_decode(&inner.encode(&t.input), v.bos(), v.eos(), 150).unwrap();
        let exact = decoded.iter().zip(&set.tokens).filter(|(a, b)| a == b).count();
        eprintln!("overfit: 400 steps in {seconds:.1} s; last step {last:?}; CE {ce:?}, data rel. L2 {rel:.4}, {exact}/12 decodings exact");
        // Issue test 4 (model half): every decoded sequence that parses re-encodes to itself.
        for ids in &decoded {
            let words = v.decode(ids);
            if let Ok(exprs) = oplab_solvers::symbolic::parse_system(&words) {
                assert_eq!(oplab_solvers::symbolic::encode_system(&exprs).unwrap(), words);
            }
        }
        let ce = ce.unwrap();
        assert!(ce < 0.05, "cross-entropy {ce}");
        assert_eq!(exact, 12, "greedy decoding reproduces every token sequence");
        // The bound (the data path starts near 1.0). The time bound (< 60 s) is
        // reported above, not asserted: a timed test would fail on a loaded machine.
        assert!(rel < 0.1, "data rel. L2 {rel}");
        // The metric of the window agrees with what `validate` averaged.
        let preds: Vec<f32> = inner.predict_data(&inner.encode(&t.input), t.input.query_times.clone()).into_data().convert::<f32>().to_vec().unwrap();
        let per = batch.n_query * batch.max_dim;
        let mean =
            (0..12).map(|i| window_errors(&preds[i * per..(i + 1) * per], &batch.target[i * per..(i + 1) * per], 3, set.dims[i]).whole).sum::<f64>() / 12.0;
        assert!((mean - rel).abs() < 1e-9);
    }

    #[test]
    fn a_deadline_already_passed_trains_no_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let data = generated_file(dir.path(), "train.h5", 24, 5, false);
        let run = RunDir::new(dir.path().join("run"));
        run.create().unwrap();
        let opts = TrainCall { limits: TrainLimits { deadline: Some(Instant::now()), stop_after: None }, ..TrainCall::default() };
        let state = train(&run, &data, &short_config(), DeviceKind::Cpu, &opts, &Silent).unwrap();
        assert_eq!(state.epochs_done, 0);
        assert!(!run.has_checkpoint(), "no epoch, no checkpoint");
    }

    fn short_config() -> ProseConfig {
        let mut cfg = ProseConfig {
            epochs: 4,
            steps_per_epoch: 2,
            batch_size: 6,
            eval_batch_size: 8,
            max_decode_len: 20,
            network: ModelSection { preset: "tiny".into(), ..Default::default() },
            ..Default::default()
        };
        cfg.data.n_train = Some(16);
        cfg.data.n_val = Some(8);
        cfg.optimizer.warmup_steps = Some(3);
        cfg.optimizer.lr = 1e-3;
        cfg
    }

    fn losses(s: &ProseRunState) -> Vec<(u64, u64, u64)> {
        s.history.iter().map(|e| (e.train_loss.to_bits(), e.val_loss.to_bits(), e.val_data_rel_l2.to_bits())).collect()
    }

    /// Issue test 5: the same seed gives the same losses and decodings; a run resumed after an
    /// interruption ends bit for bit where an uninterrupted one does.
    // burn's CPU backend draws initial weights from one process-wide seeded RNG, which random
    // tensors of tests running in parallel threads consume too; so this test runs on its own
    // (`make test` runs it with --ignored --test-threads=1). A `train` command is one process and
    // has the RNG to itself.
    #[test]
    #[ignore = "needs burn's process-wide RNG to itself (make test runs it so): cargo test --workspace --features oplab/mpi --lib -- --ignored --test-threads=1 prose::train::"]
    fn training_is_deterministic_and_resumes_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let data = generated_file(dir.path(), "train.h5", 24, 5, false);
        let cfg = short_config();
        let run = |name: &str, opts: TrainCall| {
            let r = RunDir::new(dir.path().join(name));
            r.create().unwrap();
            let s = train(&r, &data, &cfg, DeviceKind::Cpu, &opts, &Silent).unwrap();
            (r, s)
        };
        let (ra, a) = run("a", TrainCall::default());
        let (rb, b) = run("b", TrainCall::default());
        assert_eq!(a.steps, 8);
        assert_eq!(losses(&a), losses(&b), "same seed, same losses");
        assert_ne!(a.history[0].train_loss, a.history[3].train_loss);
        // Records carry random parameter ids, so runs are compared by what their models compute.
        let outputs = |bytes: Vec<u8>| {
            let device = Default::default();
            let m: Prose<crate::backend::Cpu> = a.network.init(&device);
            let m = m.load_record(from_bytes::<crate::backend::Cpu, _>(bytes, &device, Path::new("record")).unwrap());
            let set = ProseSet::load(&data, 64).unwrap().subset(0..6);
            let samples: Vec<Prepared> = (0..6).map(|i| set.stored_sample(i)).collect();
            crate::prose::eval::predict(&m, &set, &samples, 64, 20, &device)
        };
        let best = |r: &RunDir| outputs(r.read_sealed(files::BEST).unwrap());
        let last = |r: &RunDir| outputs(r.read_checkpoint(3).unwrap().swap_remove(0));
        assert_eq!(best(&ra), best(&rb), "same predictions and decodings");

        let (rc, _) = run("c", TrainCall { resume: false, limits: TrainLimits { stop_after: Some(2), deadline: None }, ..TrainCall::default() });
        assert_eq!(read_state(&rc).unwrap().epochs_done, 2);
        let c = train(&rc, &data, &cfg, DeviceKind::Cpu, &TrainCall { resume: true, ..TrainCall::default() }, &Silent).unwrap();
        // Epochs after the interruption are recomputed and must match bit for bit; the earlier
        // ones are records read back from the checkpoint's JSON (serde_json's float parser may
        // be an ulp off, which is why the kept model's loss is stored exactly).
        assert_eq!(losses(&a)[2..], losses(&c)[2..], "losses after resuming");
        assert_eq!(a.best_val_loss.to_bits(), c.best_val_loss.to_bits());
        assert_eq!((a.steps, a.best_epoch), (c.steps, c.best_epoch));
        for (x, y) in a.history.iter().zip(&c.history).take(2) {
            assert!((x.train_loss - y.train_loss).abs() <= 1e-15 * x.train_loss.abs(), "{x:?} {y:?}");
        }
        assert_eq!(last(&ra), last(&rc), "the model after resuming");
        assert_eq!(best(&ra), best(&rc), "the kept model after resuming");
    }
}
