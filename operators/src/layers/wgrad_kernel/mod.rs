//! A dedicated convolution weight-gradient kernel for the CUDA backend (cubecl), wired into burn's
//! fusion stream as a custom operation.
//!
//! Opt-in with `OPLAB_CONV_WGRAD=kernel` (see [`super::fastconv::WgradKind::Kernel`]) until it has
//! been timed on a GPU. Correctness: the kernels in [`kernels`] were checked against an f64
//! reference on wgpu (Mesa lavapipe) by `bench/operators/wgrad_kernel_check`; on CUDA,
//! `gpu_bench --only check` compares the whole fast path with burn's stock gradients.

mod kernels;

use std::marker::PhantomData;

use burn::tensor::ops::FloatTensor;
use burn::tensor::{DType, Shape};
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use burn_fusion::stream::{Operation, OperationStreams};
use burn_fusion::{Fusion, FusionBackend, FusionRuntime};
use burn_ir::{CustomOpIr, HandleContainer, OperationIr, OperationOutput, TensorIr};
use cubecl::prelude::{CubeCount, CubeDim};
use kernels::{slab_geometry, UNITS};

/// The weight gradient `[c_out, c_in, kh, kw]` of a `conv2d` (dilation 1, one group) from its
/// input `x` `[batch, c_in, H, W]` and output gradient `dy` `[batch, c_out, Ho, Wo]`, any strides
/// (f32 tensors).
pub fn weight_grad_on_device<R: CubeRuntime>(x: CubeTensor<R>, dy: CubeTensor<R>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> CubeTensor<R> {
    let (xs, dys) = (x.meta.shape().clone(), dy.meta.shape().clone());
    let (batch, c_in) = (xs[0], xs[1]);
    let (c_out, ho) = (dys[1], dys[2]);
    let (pairs, taps) = (c_out * c_in, kernel[0] * kernel[1]);
    let rows = batch * ho;
    let (cubes_x, rows_per_slab, slabs) = slab_geometry(pairs, rows);
    let client = x.client.clone();
    let partial = empty_device_contiguous_dtype(client.clone(), x.device.clone(), Shape::new([slabs * pairs * taps]), DType::F32);
    let out = empty_device_contiguous_dtype(client.clone(), x.device.clone(), Shape::new([c_out, c_in, kernel[0], kernel[1]]), DType::F32);
    let n = pairs * taps;
    // SAFETY: the kernels index `x` and `dy` through their own shapes and strides with bounds
    // checks on the input, and write `partial` / `out` (contiguous, sized above) only below
    // `slabs · n` and `n`.
    unsafe {
        kernels::wgrad_partial_kernel::launch_unchecked::<f32, R>(
            &client,
            CubeCount::Static(cubes_x as u32, slabs as u32, 1),
            CubeDim::new_1d(UNITS as u32),
            x.into_tensor_arg(),
            dy.into_tensor_arg(),
            partial.clone().into_tensor_arg(),
            rows_per_slab,
            stride[0],
            stride[1],
            padding[0],
            padding[1],
            kernel[0],
            kernel[1],
        );
        kernels::wgrad_sum_kernel::launch_unchecked::<f32, R>(
            &client,
            CubeCount::Static(n.div_ceil(UNITS) as u32, 1, 1),
            CubeDim::new_1d(UNITS as u32),
            partial.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            slabs,
        );
    }
    out
}

/// The fusion-stream operation running [`weight_grad_on_device`] on the backend `B`'s tensors.
struct WeightGradOp<B> {
    desc: CustomOpIr,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    _backend: PhantomData<fn() -> B>,
}

impl<B> std::fmt::Debug for WeightGradOp<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightGradOp").field("kernel", &self.kernel).field("stride", &self.stride).field("padding", &self.padding).finish()
    }
}

impl<R, F, I, BT> Operation<<CubeBackend<R, F, I, BT> as FusionBackend>::FusionRuntime> for WeightGradOp<CubeBackend<R, F, I, BT>>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    fn execute(&self, handles: &mut HandleContainer<<<CubeBackend<R, F, I, BT> as FusionBackend>::FusionRuntime as FusionRuntime>::FusionHandle>) {
        let ([x, dy], [out]) = self.desc.as_fixed();
        let x = handles.get_float_tensor::<CubeBackend<R, F, I, BT>>(x);
        let dy = handles.get_float_tensor::<CubeBackend<R, F, I, BT>>(dy);
        let grad = weight_grad_on_device(x, dy, self.kernel, self.stride, self.padding);
        handles.register_float_tensor::<CubeBackend<R, F, I, BT>>(&out.id, grad);
    }
}

/// [`weight_grad_on_device`] as one operation of a fusion backend's stream; `None` for tensors
/// that are not f32 (the kernels are compiled for f32 only), so that callers fall back.
pub fn fused_weight_grad<R, F, I, BT>(x: FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>, dy: FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Option<FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    if x.dtype != DType::F32 || dy.dtype != DType::F32 || x.shape.num_dims() != 4 || dy.shape.num_dims() != 4 {
        return None;
    }
    let client = x.client.clone();
    let shape = Shape::new([dy.shape[1], x.shape[1], kernel[0], kernel[1]]);
    let streams = OperationStreams::with_inputs([&x, &dy]);
    let out = TensorIr::uninit(client.create_empty_handle(), shape, DType::F32);
    let desc = CustomOpIr::new("oplab_conv2d_weight_grad", &[x.into_ir(), dy.into_ir()], &[out]);
    let op = WeightGradOp::<CubeBackend<R, F, I, BT>> { desc: desc.clone(), kernel, stride, padding, _backend: PhantomData };
    Some(client.register(streams, OperationIr::Custom(desc), op).output())
}
