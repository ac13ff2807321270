//! `gelu(a + b)`, the activation of every MgNO and FNO layer, with the exact gradient and, where
//! the backend has one, a one-pass kernel for each direction ([`ConvBackend::add_gelu_kernel`],
//! [`ConvBackend::add_gelu_backward_kernel`]; CUDA without fusion: `super::gelu_kernel`).
//!
//! Two reasons for a custom operation instead of burn's `gelu(a + b)`:
//! - **Speed** on a backend without fusion: burn composes the forward from six element-wise
//!   kernels (the add, then `x · (erf(x/√2) + 1) / 2`) and its gradient from about fifteen, each
//!   a pass over the layer's activations.
//! - **The gradient itself**: burn 0.21's default `gelu_backward` (`burn-backend`'s
//!   `ActivationOps`, which its CubeCL backends keep; Flex overrides it) differentiates the tanh
//!   approximation of GELU, not the erf form its forward computes: up to 8.7e-4 off, near s = −2
//!   (numpy over [−6, 6]). This operation's gradient is the derivative of the forward,
//!   `Φ(s) + s·φ(s)` (what PyTorch's default GELU uses), on every backend.
//!
//! The forward without a kernel is burn's own `gelu(a + b)`, so a CPU forward pass is bit-for-bit
//! what it was. `OPLAB_GELU=burn` restores burn's operation whole (its forward and its
//! tanh-approximation gradient) for comparisons.

use std::sync::OnceLock;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::Autodiff;
use burn::tensor::activation::gelu;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

use super::fastconv::ConvBackend;

/// 1/√(2π).
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// Whether `OPLAB_GELU=burn` asks for burn's own `gelu(a + b)` (read once per process).
fn burn_gelu_requested() -> bool {
    static BURN: OnceLock<bool> = OnceLock::new();
    *BURN.get_or_init(|| std::env::var("OPLAB_GELU").is_ok_and(|v| v.trim().eq_ignore_ascii_case("burn")))
}

/// `gelu(a + b)` for two tensors of one shape, with the exact gradient (module docs).
pub fn add_gelu<B: ConvBackend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, D> {
    if burn_gelu_requested() || a.dims() != b.dims() {
        return gelu(a + b);
    }
    let y = B::add_gelu(a.into_primitive().tensor(), b.into_primitive().tensor());
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

/// The forward of a plain backend: its kernel, else burn's composition.
pub(crate) fn add_gelu_forward<B: ConvBackend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    B::add_gelu_kernel(a.clone(), b.clone()).unwrap_or_else(|| B::gelu(B::float_add(a, b)))
}

/// `grad · (Φ(s) + s·φ(s))` with `s = a + b`: the backend's kernel, else composed from burn's
/// element-wise operations.
fn add_gelu_grad<B: ConvBackend>(a: FloatTensor<B>, b: FloatTensor<B>, grad: FloatTensor<B>) -> FloatTensor<B> {
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

impl<B: ConvBackend> Backward<B, 2> for AddGelu {
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
pub(crate) fn record_add_gelu<B: ConvBackend, C: CheckpointStrategy>(a: FloatTensor<Autodiff<B, C>>, b: FloatTensor<Autodiff<B, C>>) -> FloatTensor<Autodiff<B, C>> {
    match AddGelu.prepare::<C>([a.node.clone(), b.node.clone()]).compute_bound().stateful() {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&a), prep.checkpoint(&b));
            prep.finish(state, B::add_gelu(a.primitive, b.primitive))
        }
        OpsKind::UnTracked(prep) => prep.finish(B::add_gelu(a.primitive, b.primitive)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::backend::Backend;
    use burn::tensor::Distribution;

    type Ad = Autodiff<Cpu>;

    fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    /// The forward without a kernel is burn's `gelu(a + b)`, bit for bit.
    #[test]
    fn forward_is_burns_gelu_of_the_sum() {
        let device = Default::default();
        let a = Tensor::<Cpu, 4>::random([2, 3, 5, 7], Distribution::Normal(0.0, 2.0), &device);
        let b = Tensor::<Cpu, 4>::random([2, 3, 5, 7], Distribution::Normal(0.0, 2.0), &device);
        assert_eq!(values(add_gelu(a.clone(), b.clone())), values(gelu(a + b)));
    }

    /// The gradient against a second method: burn's autodiff of the erf form spelled out with
    /// primitive operations (whose derivatives, erf's included, are exact), for both summands,
    /// a summand used twice, and a summand that is a constant.
    #[test]
    fn gradient_is_the_derivative_of_the_erf_form() {
        let device = Default::default();
        let data_a = Tensor::<Cpu, 3>::random([2, 4, 33], Distribution::Normal(0.0, 2.5), &device).into_data();
        let data_b = Tensor::<Cpu, 3>::random([2, 4, 33], Distribution::Normal(0.0, 2.5), &device).into_data();
        let weights = Tensor::<Ad, 3>::random([2, 4, 33], Distribution::Normal(0.0, 1.0), &device);
        let erf_form = |s: Tensor<Ad, 3>| s.clone() * ((s / std::f32::consts::SQRT_2).erf() + 1.0) / 2.0;
        let leaf = |d: &burn::tensor::TensorData| Tensor::<Ad, 3>::from_data(d.clone(), &device).require_grad();
        let (a, b) = (leaf(&data_a), leaf(&data_b));
        let grads = (add_gelu(a.clone(), b.clone()) * weights.clone()).sum().backward();
        let (ga, gb) = (a.grad(&grads).unwrap(), b.grad(&grads).unwrap());
        let (a2, b2) = (leaf(&data_a), leaf(&data_b));
        let grads2 = (erf_form(a2.clone() + b2.clone()) * weights.clone()).sum().backward();
        let want = a2.grad(&grads2).unwrap();
        let close = |got: Vec<f32>, want: &[f32]| got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 2e-6 * (1.0 + w.abs()));
        let want = values(want);
        assert!(close(values(ga), &want), "gradient with respect to a");
        assert!(close(values(gb), &want), "gradient with respect to b");

        // x used twice: d/dx gelu(2x) = 2·gelu'(2x).
        let x = leaf(&data_a);
        let grads = (add_gelu(x.clone(), x.clone()) * weights.clone()).sum().backward();
        let x2 = leaf(&data_a);
        let grads2 = (erf_form(x2.clone() * 2.0) * weights.clone()).sum().backward();
        assert!(close(values(x.grad(&grads).unwrap()), &values(x2.grad(&grads2).unwrap())), "summand used twice");

        // A constant summand gets no gradient, the other its full one.
        let (a, c) = (leaf(&data_a), Tensor::<Ad, 3>::from_data(data_b.clone(), &device));
        let grads = (add_gelu(a.clone(), c.clone()) * weights).sum().backward();
        assert!(close(values(a.grad(&grads).unwrap()), &want), "gradient next to a constant");
        assert!(c.grad(&grads).is_none());
    }
}
