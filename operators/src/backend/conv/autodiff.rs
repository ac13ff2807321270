//! The convolution as a custom operation of burn's autodiff: the forward runs the inner backend's
//! kernels ([`super::forward_conv2d`]), the backward the [`super::grads`] formulations or burn's
//! own gradient kernels, as the [`super::ConvPlan`] recorded with the forward says.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::Autodiff;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, FloatTensor, ModuleOps};
use burn::tensor::{Tensor, TensorMetadata};

use super::grads::{conv2d_input_grad, conv2d_weight_grad_on, conv_bias_grad, conv_transpose2d_input_grad, conv_transpose2d_weight_grad_on};
use super::{forward_conv2d, forward_conv_transpose2d, plain_conv, ConvBackend, ConvGeometry, ConvPlan};
use crate::backend::options::{ConvGradPath, WgradKind};
use crate::backend::tensor::{prim, wrap};

#[derive(Debug, Clone)]
struct ConvState {
    x: NodeId,
    weight: NodeId,
    stride: [usize; 2],
    padding: [usize; 2],
    /// Split-K chunk, fixed when the forward ran.
    chunk: usize,
    /// GEMM layout of the weight gradient, fixed when the forward ran.
    kind: WgradKind,
    /// Transposed convolution (the prolongation) rather than a plain one.
    transposed: bool,
    /// Input gradient by this module's formulation (else the backend's own kernel).
    fast_dgrad: bool,
    /// Weight gradient by this module's formulation (else the backend's own kernel).
    fast_wgrad: bool,
}

impl ConvState {
    fn conv_options(&self) -> ConvOptions<2> {
        ConvOptions::new(self.stride, self.padding, [1, 1], 1)
    }

    fn transpose_options(&self, x_hw: [usize; 2], dy_hw: [usize; 2], kernel: [usize; 2]) -> ConvTransposeOptions<2> {
        // The padding_out the forward used, recovered from the shapes.
        let po = |i: usize| dy_hw[i] + 2 * self.padding[i] - (self.stride[i] * (x_hw[i] - 1) + kernel[i]);
        ConvTransposeOptions::new(self.stride, self.padding, [po(0), po(1)], [1, 1], 1)
    }
}

/// Computes the requested gradients of one convolution from its output gradient.
fn conv_grads<B: ConvBackend>(
    st: &ConvState,
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    dy: Tensor<B, 4>,
    want_x: bool,
    want_w: bool,
) -> (Option<Tensor<B, 4>>, Option<Tensor<B, 4>>) {
    let [_, _, h, w] = x.dims();
    let [_, _, kh, kw] = weight.dims();
    let [_, _, hy, wy] = dy.dims();
    let dx = want_x.then(|| match (st.transposed, st.fast_dgrad) {
        (true, true) => conv_transpose2d_input_grad(dy.clone(), weight.clone(), [h, w], st.stride, st.padding),
        (false, true) => conv2d_input_grad(dy.clone(), weight.clone(), [h, w], st.stride, st.padding),
        (true, false) => wrap(B::conv_transpose2d_x_backward(prim(weight.clone()), prim(dy.clone()), st.transpose_options([h, w], [hy, wy], [kh, kw]))),
        (false, false) => wrap(B::conv2d_x_backward(prim(x.clone()), prim(weight.clone()), prim(dy.clone()), st.conv_options())),
    });
    let dw = want_w.then(|| match (st.transposed, st.fast_wgrad) {
        (true, true) => conv_transpose2d_weight_grad_on(x, dy, [kh, kw], st.stride, st.padding, st.chunk, st.kind),
        (false, true) => conv2d_weight_grad_on(x, dy, [kh, kw], st.stride, st.padding, st.chunk, st.kind),
        (true, false) => {
            let opts = st.transpose_options([h, w], [hy, wy], [kh, kw]);
            wrap(B::conv_transpose2d_weight_backward(prim(x), prim(weight), prim(dy), opts))
        }
        (false, false) => wrap(B::conv2d_weight_backward(prim(x), prim(weight), prim(dy), st.conv_options())),
    });
    (dx, dw)
}

#[derive(Debug)]
struct FastConvWithBias;

#[derive(Debug)]
struct FastConvNoBias;

impl<B: ConvBackend> Backward<B, 3> for FastConvWithBias {
    type State = ConvState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy: Tensor<B, 4> = wrap(grads.consume::<B>(&ops.node));
        let st = ops.state;
        let x: Tensor<B, 4> = wrap(checkpointer.retrieve_node_output::<FloatTensor<B>>(st.x));
        let weight: Tensor<B, 4> = wrap(checkpointer.retrieve_node_output::<FloatTensor<B>>(st.weight));
        if let Some(node) = node_b {
            grads.register::<B>(node.id, prim(conv_bias_grad(dy.clone())));
        }
        let (dx, dw) = conv_grads(&st, x, weight, dy, node_x.is_some(), node_w.is_some());
        if let (Some(node), Some(g)) = (node_x, dx) {
            grads.register::<B>(node.id, prim(g));
        }
        if let (Some(node), Some(g)) = (node_w, dw) {
            grads.register::<B>(node.id, prim(g));
        }
    }
}

impl<B: ConvBackend> Backward<B, 2> for FastConvNoBias {
    type State = ConvState;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let dy: Tensor<B, 4> = wrap(grads.consume::<B>(&ops.node));
        let st = ops.state;
        let x: Tensor<B, 4> = wrap(checkpointer.retrieve_node_output::<FloatTensor<B>>(st.x));
        let weight: Tensor<B, 4> = wrap(checkpointer.retrieve_node_output::<FloatTensor<B>>(st.weight));
        let (dx, dw) = conv_grads(&st, x, weight, dy, node_x.is_some(), node_w.is_some());
        if let (Some(node), Some(g)) = (node_x, dx) {
            grads.register::<B>(node.id, prim(g));
        }
        if let (Some(node), Some(g)) = (node_w, dw) {
            grads.register::<B>(node.id, prim(g));
        }
    }
}

/// Records one convolution (plain or transposed) with the custom backward. `forward` runs the
/// inner backend's stock forward kernel.
fn record<B: ConvBackend, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    bias: Option<FloatTensor<Autodiff<B, C>>>,
    geometry: ([usize; 2], [usize; 2], bool),
    plan: ConvPlan,
    forward: impl FnOnce(FloatTensor<B>, FloatTensor<B>, Option<FloatTensor<B>>) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>> {
    let (stride, padding, transposed) = geometry;
    let [c0, c1, kh, kw] = weight.primitive.shape().dims();
    // The kernel is [c_out, c_in, k, k] for a convolution and [c_in, c_out, k, k] transposed.
    let (c_in, c_out) = if transposed { (c0, c1) } else { (c1, c0) };
    let g = ConvGeometry { c_in, c_out, kernel: [kh, kw], stride, transposed };
    let tuned = plan.path == ConvGradPath::Tuned;
    let fast_dgrad = !tuned || B::fast_dgrad_wins(&g);
    let fast_wgrad = !tuned || B::fast_wgrad_wins(&g);
    let (chunk, kind) = (plan.chunk, plan.wgrad);
    let state = |x: NodeId, weight: NodeId| ConvState { x, weight, stride, padding, chunk, kind, transposed, fast_dgrad, fast_wgrad };
    match bias {
        Some(bias) => match FastConvWithBias.prepare::<C>([x.node.clone(), weight.node.clone(), bias.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let st = state(prep.checkpoint(&x), prep.checkpoint(&weight));
                prep.finish(st, forward(x.primitive, weight.primitive, Some(bias.primitive)))
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive, weight.primitive, Some(bias.primitive))),
        },
        None => match FastConvNoBias.prepare::<C>([x.node.clone(), weight.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let st = state(prep.checkpoint(&x), prep.checkpoint(&weight));
                prep.finish(st, forward(x.primitive, weight.primitive, None))
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive, weight.primitive, None)),
        },
    }
}

/// Under autodiff the fast path records the custom operation; the stock path (and options the
/// fast path does not cover) is burn's own autodiff convolution.
impl<B: ConvBackend, C: CheckpointStrategy> ConvBackend for Autodiff<B, C> {
    fn preferred_grad_path() -> ConvGradPath {
        B::preferred_grad_path()
    }

    fn wgrad_chunk() -> usize {
        B::wgrad_chunk()
    }

    fn preferred_wgrad_kind() -> WgradKind {
        B::preferred_wgrad_kind()
    }

    fn fast_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvOptions<2>,
        plan: ConvPlan,
    ) -> FloatTensor<Self> {
        if plan.path == ConvGradPath::Stock || !plain_conv(options.dilation, options.groups) {
            return <Self as ModuleOps<Self>>::conv2d(x, weight, bias, options);
        }
        let geometry = (options.stride, options.padding, false);
        record::<B, C>(x, weight, bias, geometry, plan, move |x, w, b| forward_conv2d::<B>(x, w, b, options))
    }

    fn fast_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvTransposeOptions<2>,
        plan: ConvPlan,
    ) -> FloatTensor<Self> {
        if plan.path == ConvGradPath::Stock || !plain_conv(options.dilation, options.groups) {
            return <Self as ModuleOps<Self>>::conv_transpose2d(x, weight, bias, options);
        }
        let geometry = (options.stride, options.padding, true);
        record::<B, C>(x, weight, bias, geometry, plan, move |x, w, b| forward_conv_transpose2d::<B>(x, w, b, options))
    }
}
