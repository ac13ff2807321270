//! The training loop of the field-to-field operators, on data held in memory: no files, no
//! configuration format. A [`Trainer`] holds the field sets, the loss and the schedule; [`Trainer::fit`]
//! runs epochs of shuffled mini-batches (the order of epoch `e` depends on `(seed, e)` only, so a
//! resumed run repeats an uninterrupted one exactly), steps any burn optimiser, evaluates on the
//! validation set if there is one, and hands every finished epoch to an [`EpochObserver`]. What a
//! run keeps (checkpoints, the best model, metrics, figures) is an observer's business: the run
//! directory's for `oplab train`, a closure collecting the loss curve for a validation check.

use std::ops::Range;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};
use oplab_common::Progress;

use super::clip;
use super::parallel::Peer;
use super::schedule::ScheduleConfig;
use crate::data::{batches, epoch_order, FieldSet};
use crate::error::OperatorError;
use crate::losses::{quadrature_weights, relative_l2, H1Spectral, LossKind, Quadrature};
use crate::models::{Discretization, Operator2d};
use crate::normalizers::GaussianNormalizer;

/// The learning rate of each epoch (0-based).
pub trait LrSchedule: Sync {
    /// The rate of `epoch`.
    fn lr(&self, epoch: usize) -> f64;
}

/// A [`ScheduleConfig`] applied to one run: its peak rate and its length.
#[derive(Debug, Clone, Copy)]
pub struct RunSchedule<'a> {
    /// The schedule's shape.
    pub config: &'a ScheduleConfig,
    /// The peak learning rate.
    pub peak: f64,
    /// Epochs of the run.
    pub epochs: usize,
}

impl LrSchedule for RunSchedule<'_> {
    fn lr(&self, epoch: usize) -> f64 {
        self.config.lr(self.peak, epoch, self.epochs)
    }
}

/// What one finished epoch gives its observer.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochEnd {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Mean training loss over the epoch's samples.
    pub train_loss: f64,
    /// Mean relative L2 and H¹ on the validation set, when the trainer has one.
    pub validation: Option<(f64, f64)>,
    /// Largest global gradient norm before clipping (only measured when clipping).
    pub max_grad_norm: Option<f64>,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
}

/// Receives every finished epoch with the model and optimiser after it; an error stops training.
pub trait EpochObserver<M, O> {
    /// Called before epoch `epoch` (counted from 1) trains; the run directory starts the epoch's
    /// progress bar here.
    fn epoch_start(&mut self, epoch: usize) {
        let _ = epoch;
    }
    /// Called once per finished epoch.
    fn epoch_end(&mut self, end: &EpochEnd, model: &M, optim: &O) -> crate::Result<()>;
    /// Asked before epoch `epoch` (counted from 1) starts: false ends the fit there, after the
    /// last finished epoch (a run directory's deadline).
    fn proceed(&mut self, epoch: usize) -> bool {
        let _ = epoch;
        true
    }
}

impl<M, O, F: FnMut(&EpochEnd, &M, &O) -> crate::Result<()>> EpochObserver<M, O> for F {
    fn epoch_end(&mut self, end: &EpochEnd, model: &M, optim: &O) -> crate::Result<()> {
        self(end, model, optim)
    }
}

/// One fitting problem: field sets (inputs already encoded), the target normaliser the model's
/// output is decoded with, the loss, the batching and the schedule.
pub struct Trainer<'a, B: Backend> {
    /// Training samples.
    pub train: &'a FieldSet,
    /// Validation samples, evaluated after every epoch (none: no validation).
    pub validation: Option<&'a FieldSet>,
    /// Decodes the model's output to the target's units.
    pub target: &'a GaussianNormalizer,
    /// The training loss.
    pub loss: LossKind,
    /// Quadrature weights of the relative L2 error (loss and validation).
    pub quadrature: Quadrature,
    /// Highest wavenumber of the H¹ norm (loss and validation).
    pub h1_k_max: usize,
    /// Samples per optimiser step.
    pub batch_size: usize,
    /// Samples per validation batch.
    pub eval_batch_size: usize,
    /// Seed of the per-epoch sample order.
    pub seed: u64,
    /// Learning rate per epoch.
    pub schedule: &'a dyn LrSchedule,
    /// Clip the global gradient norm to this (0: no clipping).
    pub grad_clip_norm: f64,
    /// Where the tensors live.
    pub device: B::Device,
    /// This replica's place in a data-parallel run (none: the only one). Only the root replica
    /// should be given a validation set and an observer that keeps files.
    pub peer: Option<Peer>,
}

impl<'a, B: Backend> Trainer<'a, B> {
    /// This fitting problem for a data-parallel replica on `device`: validation only where
    /// `validates` (the root replica).
    pub fn replica(&self, device: B::Device, peer: Peer, validates: bool) -> Trainer<'a, B> {
        Trainer {
            train: self.train,
            validation: if validates { self.validation } else { None },
            target: self.target,
            loss: self.loss,
            quadrature: self.quadrature,
            h1_k_max: self.h1_k_max,
            batch_size: self.batch_size,
            eval_batch_size: self.eval_batch_size,
            seed: self.seed,
            schedule: self.schedule,
            grad_clip_norm: self.grad_clip_norm,
            device,
            peer: Some(peer),
        }
    }
}

impl<B: AutodiffBackend> Trainer<'_, B> {
    /// Train `model` with `optim` for the epochs in `epochs` (0-based; a resumed run starts where
    /// its checkpoint stopped). `progress` advances once per batch. A non-finite loss stops with
    /// an error naming the epoch.
    pub fn fit<M, O>(
        &self,
        mut model: M,
        mut optim: O,
        epochs: Range<usize>,
        observer: &mut dyn EpochObserver<M, O>,
        progress: &dyn Progress,
    ) -> crate::Result<(M, O)>
    where
        M: AutodiffModule<B> + Operator2d<B>,
        M::InnerModule: Operator2d<B::InnerBackend>,
        O: Optimizer<M, B>,
    {
        let (h, w) = (self.train.h, self.train.w);
        let h1 = H1Spectral::<B>::new(h, w, self.h1_k_max, &self.device);
        let quad = quadrature_weights::<B>(self.quadrature, h, w, &self.device);
        let inner_device = self.device.clone();
        let h1_val = H1Spectral::<B::InnerBackend>::new(h, w, self.h1_k_max, &inner_device);
        let quad_val = quadrature_weights::<B::InnerBackend>(self.quadrature, h, w, &inner_device);
        for epoch in epochs {
            let go = observer.proceed(epoch + 1);
            if !self.root_decides(go)? {
                break;
            }
            observer.epoch_start(epoch + 1);
            let started = Instant::now();
            let lr = self.schedule.lr(epoch);
            let order = epoch_order(self.train.n, self.seed, epoch);
            let (mut loss_sum, mut max_norm, mut count) = (0.0, 0.0f64, 0usize);
            for idx in batches(&order, self.batch_size) {
                let per_sample = |samples: &[usize]| {
                    let (x, y) = self.train.batch::<B>(samples, &self.device);
                    let pred = self.target.decode(model.forward(x));
                    match self.loss {
                        LossKind::L2 => relative_l2(pred, y, quad.as_ref()),
                        LossKind::H1 => h1.relative(pred, y),
                    }
                };
                let (value, mut grads) = match &self.peer {
                    None => {
                        let loss = per_sample(idx).mean();
                        let value: f64 = loss.clone().into_scalar().elem();
                        if !value.is_finite() {
                            return Err(OperatorError::Diverged { epoch: epoch + 1, loss: value });
                        }
                        (value, GradientsParams::from_grads(loss.backward(), &model))
                    }
                    Some(peer) => {
                        // Each replica's part of the global batch's mean loss; the all-reduce
                        // adds the parts and their gradients.
                        let mine = peer.slice(idx);
                        // The part stays on the device: the all-reduce's one read brings back the total.
                        let (part, grads) = if mine.is_empty() {
                            (Tensor::zeros([1], &self.device), GradientsParams::new())
                        } else {
                            let loss = per_sample(mine).sum().div_scalar(idx.len() as f64);
                            (loss.clone().inner(), GradientsParams::from_grads(loss.backward(), &model))
                        };
                        let (grads, value) = peer.sum_gradients::<B, M>(&model, grads, part, &self.device)?;
                        if !value.is_finite() {
                            return Err(OperatorError::Diverged { epoch: epoch + 1, loss: value });
                        }
                        (value, grads)
                    }
                };
                if self.grad_clip_norm > 0.0 {
                    let norm = clip::clip_global_norm::<B, M>(&model, &mut grads, self.grad_clip_norm);
                    if norm.is_finite() {
                        max_norm = max_norm.max(norm);
                    }
                }
                model = optim.step(lr, model, grads);
                loss_sum += value * idx.len() as f64;
                count += idx.len();
                progress.advance(1);
            }
            let validation = self.validation.map(|set| {
                let (l2, hh, _) = evaluate_set(&model.valid(), set, self.target, self.eval_batch_size, quad_val.as_ref(), &h1_val, &inner_device);
                (l2, hh)
            });
            let end = EpochEnd {
                epoch: epoch + 1,
                lr,
                train_loss: loss_sum / count.max(1) as f64,
                validation,
                max_grad_norm: (self.grad_clip_norm > 0.0).then_some(max_norm),
                seconds: started.elapsed().as_secs_f64(),
            };
            let kept = observer.epoch_end(&end, &model, &optim);
            // The other replicas stop with the root when it could not keep the epoch.
            if !self.root_decides(kept.is_ok())? {
                return Err(kept.err().unwrap_or_else(|| OperatorError::Request("data-parallel training: the root replica stopped the run".into())));
            }
        }
        Ok((model, optim))
    }

    /// The root replica's `decision` on every replica; `decision` itself without replicas.
    fn root_decides(&self, decision: bool) -> crate::Result<bool> {
        match &self.peer {
            Some(peer) => peer.root_decides::<B::InnerBackend>(decision, &self.device),
            None => Ok(decision),
        }
    }
}

/// Mean relative L2 and H¹ of `model` over `set` (inputs already encoded; outputs decoded with
/// `target`), and the per-sample pairs.
pub fn evaluate_set<B: Backend, M: Operator2d<B>>(
    model: &M,
    set: &FieldSet,
    target: &GaussianNormalizer,
    batch_size: usize,
    quad: Option<&Tensor<B, 2>>,
    h1: &H1Spectral<B>,
    device: &B::Device,
) -> (f64, f64, Vec<(f64, f64)>) {
    evaluate_set_with(model, Discretization::Plain, set, target, batch_size, quad, h1, device)
}

/// [`evaluate_set`] with the model run in `discretization`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_set_with<B: Backend, M: Operator2d<B>>(
    model: &M,
    discretization: Discretization,
    set: &FieldSet,
    target: &GaussianNormalizer,
    batch_size: usize,
    quad: Option<&Tensor<B, 2>>,
    h1: &H1Spectral<B>,
    device: &B::Device,
) -> (f64, f64, Vec<(f64, f64)>) {
    let mut per = Vec::with_capacity(set.n);
    let order: Vec<usize> = (0..set.n).collect();
    for idx in batches(&order, batch_size) {
        let (x, y) = set.batch::<B>(idx, device);
        let pred = target.decode(model.forward_with(x, discretization));
        let l2: Vec<f32> = relative_l2(pred.clone(), y.clone(), quad).into_data().convert::<f32>().to_vec().unwrap_or_default();
        let hh: Vec<f32> = h1.relative(pred, y).into_data().convert::<f32>().to_vec().unwrap_or_default();
        per.extend(l2.into_iter().zip(hh).map(|(a, b)| (a as f64, b as f64)));
    }
    let n = per.len().max(1) as f64;
    (per.iter().map(|p| p.0).sum::<f64>() / n, per.iter().map(|p| p.1).sum::<f64>() / n, per)
}
