//! The optimiser-step capability: a fused Adam step where the backend has one
//! ([`OptimBackend::adam_step_kernel`]; `training::fused_adam` uses it).

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

/// What one fused Adam step needs besides the tensors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamHyper {
    /// Learning rate of this step.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// ε of the denominator.
    pub epsilon: f32,
    /// L2 penalty added to the gradient (burn's `WeightDecay`); 0 for none.
    pub weight_decay: f32,
    /// The step number t ≥ 1 (bias corrections).
    pub step: usize,
}

/// A backend that may update a parameter with its own Adam kernel. Each plain backend opts in
/// with its own `impl` (Flex below, the GPU backends in `backend::cuda`).
pub trait OptimBackend: Backend {
    /// A fused Adam step of this backend (burn's formulation, see `training::fused_adam`): from a
    /// parameter, its gradient and both moments (one shape, f32), the new parameter and moments.
    /// `None` (the default) where the backend has none; burn's Adam runs then.
    fn adam_step_kernel(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m1: FloatTensor<Self>,
        m2: FloatTensor<Self>,
        hyper: AdamHyper,
    ) -> Option<[FloatTensor<Self>; 3]> {
        let _ = (param, grad, m1, m2, hyper);
        None
    }
}

/// burn's CPU backend: no kernel, burn's Adam.
impl OptimBackend for burn::backend::Flex {}

/// Optimisers step the inner backend's tensors (burn's `OptimizerAdaptor`); an autodiff backend
/// itself has no kernel.
impl<B: OptimBackend, C: CheckpointStrategy> OptimBackend for Autodiff<B, C> {}
