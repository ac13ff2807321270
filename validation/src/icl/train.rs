//! Training LSA stacks with Adam on fresh tasks every step (von Oswald's protocol,
//! theory.md §2.6: Adam b1 = 0.9, b2 = 0.98, no weight decay; loss ½·MSE at the query).

use super::data::TaskDistribution;
use super::lsa::{tokens, Lsa, LsaConfig};
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{DType, Tensor, TensorData};
use rand::Rng;

/// Hyper-parameters of a training run.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Number of Adam steps.
    pub steps: usize,
    /// Prompts per step (fresh each step).
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Multiply the learning rate by this factor at 50% and again at 75% of the steps
    /// (1 = constant); a late decay removes the Adam noise floor without changing the optimum.
    pub lr_decay: f64,
}

/// Trains `config` on `dist` and returns the trained model on the inner (non-autodiff)
/// backend, with the loss recorded every `record_every` steps as (step, ½MSE).
pub fn train_lsa<B: AutodiffBackend>(
    config: &LsaConfig,
    dist: &TaskDistribution,
    opts: &TrainOptions,
    rng: &mut impl Rng,
    device: &B::Device,
    mut on_step: impl FnMut(usize, f64),
) -> Lsa<B::InnerBackend> {
    let mut model: Lsa<B> = config.init(dist.n, rng, device, DType::F32);
    let mut optim = AdamConfig::new().with_beta_1(0.9).with_beta_2(0.98).with_epsilon(1e-8).init::<B, Lsa<B>>();
    for step in 0..opts.steps {
        let batch = dist.sample(opts.batch, rng);
        let x = tokens::<B>(&batch, None, device, DType::F32);
        let y: Tensor<B, 1> = Tensor::from_data(TensorData::new(batch.yq.clone(), [batch.b]), (device, DType::F32));
        let pred = model.predict(x);
        let loss = (pred - y).powf_scalar(2.0).mean().mul_scalar(0.5);
        let value = super::lsa::to_f64(loss.clone().detach())[0];
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let mut lr = opts.lr;
        if step >= opts.steps / 2 {
            lr *= opts.lr_decay;
        }
        if step >= 3 * opts.steps / 4 {
            lr *= opts.lr_decay;
        }
        model = optim.step(lr, model, grads);
        on_step(step, value);
    }
    model.valid()
}
