//! The activation capability: `gelu(a + b)` with the exact gradient, and each backend's kernels
//! for it ([`ActivationBackend`]).
//!
//! Why a custom operation instead of burn's `gelu(a + b)` (see `layers::activation` for the
//! tensor-level entry point):
//! - **Speed** on a backend without fusion: burn composes the forward from six element-wise
//!   kernels (the add, then `x · (erf(x/√2) + 1) / 2`) and its gradient from about fifteen, each
//!   a pass over the layer's activations; a backend's kernels do each direction in one pass.
//! - **The gradient itself**: burn 0.21's default `gelu_backward` (`burn-backend`'s
//!   `ActivationOps`, which its CubeCL backends keep; Flex overrides it) differentiates the tanh
//!   approximation of GELU, not the erf form its forward computes: up to 8.7e-4 off, near s = −2
//!   (numpy over [−6, 6]). This operation's gradient is the derivative of the forward,
//!   `Φ(s) + s·φ(s)` (what PyTorch's default GELU uses), on every backend.
//!
//! The forward without a kernel is burn's own `gelu(a + b)`, so a CPU forward pass is bit-for-bit
//! what it was.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

/// 1/√(2π).
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// A backend that computes `gelu(a + b)` with the exact gradient: through its own kernels where
/// it has them (the default methods say it has none), under autodiff as a recorded operation.
/// Each plain backend opts in with its own `impl` (Flex below, the GPU backends in
/// `backend::cuda`), as for `ConvBackend`.
pub trait ActivationBackend: Backend {
    /// `gelu(a + b)` (two f32 tensors of one shape) in one kernel of this backend; `None` (the
    /// default) where it has none, and burn's composition runs.
    fn add_gelu_kernel(a: FloatTensor<Self>, b: FloatTensor<Self>) -> Option<FloatTensor<Self>> {
        let _ = (a, b);
        None
    }

    /// The gradient of `gelu(a + b)` with respect to either summand, `grad · gelu'(a + b)`, in one
    /// kernel of this backend; `None` (the default) where it has none.
    fn add_gelu_backward_kernel(a: FloatTensor<Self>, b: FloatTensor<Self>, grad: FloatTensor<Self>) -> Option<FloatTensor<Self>> {
        let _ = (a, b, grad);
        None
    }

    /// `gelu(a + b)` for two tensors of one shape; under autodiff with the exact gradient.
    fn add_gelu(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        add_gelu_forward::<Self>(a, b)
    }
}

/// burn's CPU backend: burn's composition each way.
impl ActivationBackend for burn::backend::Flex {}

/// Under autodiff: the inner backend's forward, recorded with the exact backward.
impl<B: ActivationBackend, C: CheckpointStrategy> ActivationBackend for Autodiff<B, C> {
    fn add_gelu(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        record_add_gelu::<B, C>(a, b)
    }
}

/// The forward of a plain backend: its kernel, else burn's composition.
fn add_gelu_forward<B: ActivationBackend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    B::add_gelu_kernel(a.clone(), b.clone()).unwrap_or_else(|| B::gelu(B::float_add(a, b)))
}

/// `grad · (Φ(s) + s·φ(s))` with `s = a + b`: the backend's kernel, else composed from burn's
/// element-wise operations.
fn add_gelu_grad<B: ActivationBackend>(a: FloatTensor<B>, b: FloatTensor<B>, grad: FloatTensor<B>) -> FloatTensor<B> {
    if let Some(dz) = B::add_gelu_backward_kernel(a.clone(), b.clone(), grad.clone()) {
        return dz;
    }
    let s = B::float_add(a, b);
    let erf = B::float_erf(B::float_mul_scalar(s.clone(), std::f32::consts::FRAC_1_SQRT_2.into()));
    let cdf = B::float_mul_scalar(B::float_add_scalar(erf, 1f32.into()), 0.5f32.into());
    let square = B::float_mul(s.clone(), s.clone());
    let pdf = B::float_mul_scalar(B::float_exp(B::float_mul_scalar(square, (-0.5f32).into())), FRAC_1_SQRT_2PI.into());
    let slope = B::float_add(cdf, B::float_mul(s, pdf));
    B::float_mul(slope, grad)
}

/// The recorded operation: parents (a, b), state their checkpointed values.
#[derive(Debug)]
struct AddGelu;

impl<B: ActivationBackend> Backward<B, 2> for AddGelu {
    type State = (NodeId, NodeId);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_a, node_b] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (a, b) = ops.state;
        let a = checkpointer.retrieve_node_output::<FloatTensor<B>>(a);
        let b = checkpointer.retrieve_node_output::<FloatTensor<B>>(b);
        let dz = add_gelu_grad::<B>(a, b, grad);
        // Both summands get the same gradient (registering it twice for one node, as for
        // `add_gelu(x, x)`, adds the two contributions, which is right).
        match (node_a, node_b) {
            (Some(na), Some(nb)) => {
                grads.register::<B>(na.id, dz.clone());
                grads.register::<B>(nb.id, dz);
            }
            (Some(n), None) | (None, Some(n)) => grads.register::<B>(n.id, dz),
            (None, None) => {}
        }
    }
}

/// `gelu(a + b)` under autodiff: the inner backend's forward, recorded with [`AddGelu`]'s backward.
fn record_add_gelu<B: ActivationBackend, C: CheckpointStrategy>(a: FloatTensor<Autodiff<B, C>>, b: FloatTensor<Autodiff<B, C>>) -> FloatTensor<Autodiff<B, C>> {
    match AddGelu.prepare::<C>([a.node.clone(), b.node.clone()]).compute_bound().stateful() {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&a), prep.checkpoint(&b));
            prep.finish(state, B::add_gelu(a.primitive, b.primitive))
        }
        OpsKind::UnTracked(prep) => prep.finish(B::add_gelu(a.primitive, b.primitive)),
    }
}
