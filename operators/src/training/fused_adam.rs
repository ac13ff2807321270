//! Adam with one fused kernel per parameter tensor where the backend has one.
//!
//! burn's `Adam` records about ten tensor operations per parameter tensor and step (moment
//! updates, bias corrections, square root, division, the update); on a GPU each is CPU-side
//! recording work, and for MgNO (≈ 150 parameter tensors) Adam plus gradient bookkeeping was
//! about a third of a 64² training step on the GPU (the step breakdown of `gpu_bench`).
//! [`FusedAdam`] does the same step as one operation per parameter tensor through
//! [`OptimBackend::adam_step_kernel`] (CUDA: `backend::cuda::adam`), and is burn's own `Adam`
//! everywhere else: same formulas, same L2 weight decay, and the same state record
//! (`AdamState`), so checkpoints of either resume with the other.
//!
//! On by default where the backend has the kernel (CUDA): without burn's fusion layer (how MgNO
//! trains on CUDA) burn's Adam launches each of its operations separately, and the MgNO step was
//! measured about a third slower with it than with the fused step (`bench/RESULTS.md`).
//! The run's option `adam = "burn"` asks for burn's `Adam` everywhere; on a backend without the
//! kernel every step is burn's `Adam` anyway.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, SimpleOptimizer};
use burn::tensor::Tensor;

use crate::backend::optim::{AdamHyper, OptimBackend};
use crate::backend::select;
use crate::backend::tensor::{prim, wrap};

/// Adam (burn's formulation, optional L2 weight decay, no AMSGrad) with a fused step where the
/// backend has one, unless the run's options say `adam = "burn"`.
#[derive(Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
    /// burn's own Adam with the same settings: the step wherever the fused one is not used.
    fallback: Adam,
    fused: bool,
}

impl FusedAdam {
    /// Adam with `betas`, `epsilon` and an L2 `weight_decay` (0: none); the fused step is used
    /// as the options in force choose (`backend::select::fused_adam`).
    pub fn new(betas: [f32; 2], epsilon: f32, weight_decay: f32) -> Self {
        Self::with_fused(betas, epsilon, weight_decay, select::fused_adam())
    }

    /// As [`FusedAdam::new`], choosing the fused step explicitly (tests and benchmarks).
    pub fn with_fused(betas: [f32; 2], epsilon: f32, weight_decay: f32, fused: bool) -> Self {
        let mut config = AdamConfig::new().with_beta_1(betas[0]).with_beta_2(betas[1]).with_epsilon(epsilon);
        if weight_decay > 0.0 {
            config = config.with_weight_decay(Some(WeightDecayConfig::new(weight_decay)));
        }
        FusedAdam { beta_1: betas[0], beta_2: betas[1], epsilon, weight_decay: weight_decay.max(0.0), fallback: config.build(), fused }
    }
}

impl<B: OptimBackend> SimpleOptimizer<B> for FusedAdam {
    type State<const D: usize> = AdamState<B, D>;

    fn step<const D: usize>(&self, lr: f64, tensor: Tensor<B, D>, grad: Tensor<B, D>, state: Option<Self::State<D>>) -> (Tensor<B, D>, Option<Self::State<D>>) {
        if !self.fused {
            return self.fallback.step(lr, tensor, grad, state);
        }
        // burn's first step starts from zero moments in effect (m1 = (1 − β1)·g, m2 = (1 − β2)·g²).
        let (time, m1, m2) = match &state {
            Some(s) => (s.momentum.time, s.momentum.moment_1.clone(), s.momentum.moment_2.clone()),
            None => (0, grad.zeros_like(), grad.zeros_like()),
        };
        let hyper = AdamHyper { lr, beta_1: self.beta_1, beta_2: self.beta_2, epsilon: self.epsilon, weight_decay: self.weight_decay, step: time + 1 };
        match B::adam_step_kernel(prim(tensor.clone()), prim(grad.clone()), prim(m1), prim(m2), hyper) {
            Some([p, a, v]) => {
                let momentum = AdaptiveMomentumState::new(time + 1, wrap(a), wrap(v));
                (wrap(p), Some(AdamState::new(momentum)))
            }
            None => self.fallback.step(lr, tensor, grad, state),
        }
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::optim::adaptor::OptimizerAdaptor;
    use burn::optim::{GradientsParams, Optimizer};
    use burn::tensor::Distribution;

    type Ad = Autodiff<Flex>;

    /// On a backend without the kernel, even when the fused step is asked for, every step is
    /// burn's Adam: the same parameters bit for bit after a few steps, weight decay included.
    #[test]
    fn without_a_kernel_every_step_is_burns_adam() {
        let device = Default::default();
        let model = crate::models::MgNoConfig::new().with_channels(3).with_layers(1).with_levels(vec![[1, 0], [1, 0]]).init::<Ad>(&device).unwrap();
        let x = Tensor::<Ad, 4>::random([2, 1, 8, 8], Distribution::Normal(0.0, 1.0), &device);
        let _ = model.forward(x.clone());
        let run = |fused: bool| {
            let (mut m, mut r) = (model.clone(), model.clone());
            let mut optim: OptimizerAdaptor<FusedAdam, _, Ad> = FusedAdam::with_fused([0.9, 0.999], 1e-8, 1e-4, fused).into();
            let mut reference =
                AdamConfig::new().with_epsilon(1e-8).with_weight_decay(Some(WeightDecayConfig::new(1e-4))).init::<Ad, crate::models::MgNo<Ad>>();
            for _ in 0..3 {
                let loss = m.forward(x.clone()).powi_scalar(2).mean();
                let grads = GradientsParams::from_grads(loss.backward(), &m);
                m = optim.step(1e-2, m, grads);
                let loss = r.forward(x.clone()).powi_scalar(2).mean();
                let grads = GradientsParams::from_grads(loss.backward(), &r);
                r = reference.step(1e-2, r, grads);
            }
            // Equal parameters give bit-equal outputs; any difference in any parameter shows.
            let out = |m: &crate::models::MgNo<Ad>| m.forward(x.clone()).into_data().to_vec::<f32>().unwrap();
            let start = out(&model);
            let (ours, burns) = (out(&m), out(&r));
            assert_ne!(ours, start, "the steps should have moved the model");
            (ours, burns)
        };
        for fused in [false, true] {
            let (ours, burns) = run(fused);
            assert_eq!(ours, burns, "fused = {fused}: FusedAdam must be burn's Adam on the CPU");
        }
    }

    /// A checkpoint written with burn's Adam (every run before `FusedAdam`) loads into
    /// `FusedAdam` and continues exactly as burn's Adam would: the state records are the same.
    #[test]
    fn checkpoints_of_burns_adam_resume_with_fused_adam() {
        use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
        let device = Default::default();
        let model = crate::models::MgNoConfig::new().with_channels(3).with_layers(1).with_levels(vec![[1, 0], [1, 0]]).init::<Ad>(&device).unwrap();
        let x = Tensor::<Ad, 4>::random([2, 1, 8, 8], Distribution::Normal(0.0, 1.0), &device);
        let step = |m: crate::models::MgNo<Ad>, optim: &mut dyn FnMut(crate::models::MgNo<Ad>, GradientsParams) -> crate::models::MgNo<Ad>| {
            let loss = m.forward(x.clone()).powi_scalar(2).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            optim(m, grads)
        };
        let mut burns = AdamConfig::new().with_epsilon(1e-8).init::<Ad, crate::models::MgNo<Ad>>();
        let m = step(model, &mut |m, g| burns.step(1e-2, m, g));
        let recorder = NamedMpkBytesRecorder::<FullPrecisionSettings>::default();
        let bytes = Recorder::<Ad>::record(&recorder, burns.to_record(), ()).unwrap();
        let mut fused: OptimizerAdaptor<FusedAdam, crate::models::MgNo<Ad>, Ad> = FusedAdam::with_fused([0.9, 0.999], 1e-8, 0.0, true).into();
        fused = fused.load_record(Recorder::<Ad>::load(&recorder, bytes, &device).unwrap());
        let (a, b) = (step(m.clone(), &mut |m, g| burns.step(1e-2, m, g)), step(m, &mut |m, g| fused.step(1e-2, m, g)));
        let out = |m: &crate::models::MgNo<Ad>| m.forward(x.clone()).into_data().to_vec::<f32>().unwrap();
        assert_eq!(out(&a), out(&b), "the resumed FusedAdam must continue as burn's Adam");
    }
}
