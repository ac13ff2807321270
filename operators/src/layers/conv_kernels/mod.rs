//! Dedicated convolution kernels for the CUDA backend (cubecl), wired into burn's fusion stream as
//! custom operations: a direct forward kernel (convolution and transposed convolution, which also
//! serve as the input gradients) and a weight-gradient kernel.
//!
//! Why: with burn's autotuner off (`make cuda-fixed`), its fixed direct convolution is 13–32×
//! slower than cuDNN on MgNO's layers, and its GEMM-based weight gradients miss the 1e-4 gradient
//! tolerance against its own stock gradient (2e-4). Correctness: the kernels in [`kernels`] are
//! checked against an f64 reference on wgpu (Mesa lavapipe) by `bench/operators/conv_kernel_check`;
//! on CUDA, `gpu_bench --only check` compares the whole fast path with burn's stock convolution.

mod kernels;

use burn::tensor::ops::FloatTensor;
use burn::tensor::{DType, Shape};
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use burn_fusion::Fusion;
use cubecl::prelude::{CubeCount, CubeDim};

use crate::fusion_job::DeviceJob;
use kernels::{slab_geometry, UNITS};

/// The weight gradient `[c_out, c_in, kh, kw]` of a `conv2d` (dilation 1, one group) from its
/// input `x` `[batch, c_in, H, W]` and output gradient `dy` `[batch, c_out, Ho, Wo]`, any strides
/// (f32 tensors). The callers check [`weight_grad_fits`] first.
pub fn weight_grad_on_device<R: CubeRuntime>(x: CubeTensor<R>, dy: CubeTensor<R>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> CubeTensor<R> {
    let (xs, dys) = (x.meta.shape().clone(), dy.meta.shape().clone());
    let (batch, c_in) = (xs[0], xs[1]);
    let (c_out, ho) = (dys[1], dys[2]);
    let (cols, col_stride) = kernels::wgrad_columns(c_out, dys[3]).expect("weight_grad_fits was checked by the caller");
    let (pairs, taps) = (c_out * c_in, kernel[0] * kernel[1]);
    let rows = batch * ho;
    let ot = kernels::wgrad_channel_tile(c_in, c_out);
    let (cube_dim, cubes_x, rows_per_slab, slabs) = slab_geometry(pairs / ot, rows);
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
            CubeDim::new_1d(cube_dim as u32),
            x.into_tensor_arg(),
            dy.into_tensor_arg(),
            partial.clone().into_tensor_arg(),
            rows_per_slab,
            stride[0],
            stride[1],
            padding[0],
            padding[1],
            cols,
            col_stride,
            kernel[0],
            kernel[1],
            ot,
            stride[1] == 1,
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

/// [`weight_grad_on_device`] launched at once (a backend without fusion); `None` for tensors that
/// are not 4-D f32, so that callers fall back.
pub fn direct_weight_grad<R: CubeRuntime>(x: CubeTensor<R>, dy: CubeTensor<R>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Option<CubeTensor<R>> {
    if !kernel_inputs_ok((&x.dtype, x.meta.shape().num_dims()), (&dy.dtype, dy.meta.shape().num_dims())) || !weight_grad_fits(dy.meta.shape()) {
        return None;
    }
    Some(weight_grad_on_device(x, dy, kernel, stride, padding))
}

/// A direct convolution (`transposed = false`, `w` `[c_out, c_in, kh, kw]`) or transposed
/// convolution (`w` `[c_in, c_out, kh, kw]`) of `x` `[batch, c_in, H, W]` into a
/// `[batch, c_out, out_hw]` output (dilation 1, one group, zero padding, f32), by
/// [`kernels::direct_conv_kernel`]. A transposed output may be cropped or extended (`padding_out`)
/// to any size; a convolution's `out_hw` is normally its natural size.
pub fn direct_conv_on_device<R: CubeRuntime>(x: CubeTensor<R>, w: CubeTensor<R>, out_hw: [usize; 2], stride: [usize; 2], padding: [usize; 2], transposed: bool) -> CubeTensor<R> {
    let (xs, ws) = (x.meta.shape().clone(), w.meta.shape().clone());
    let wst = w.meta.strides().to_vec();
    let batch = xs[0];
    // W(o, c, i, j) reads the kernel with its own strides, in/out exchanged when transposed.
    let (c_out, w_o, w_c) = if transposed { (ws[1], wst[1], wst[0]) } else { (ws[0], wst[0], wst[1]) };
    let (px, tile, units) = kernels::direct_conv_geometry(c_out, batch, out_hw[0], out_hw[1]);
    let client = x.client.clone();
    let y = empty_device_contiguous_dtype(client.clone(), x.device.clone(), Shape::new([batch, c_out, out_hw[0], out_hw[1]]), DType::F32);
    // SAFETY: every unit checks its flat position against the output size, and reads `x` only
    // where the row and column checks of the kernel put the tap inside the input; the weight
    // index stays below c_out·c_in·kh·kw through the caller-given strides of `w`.
    unsafe {
        kernels::direct_conv_kernel::launch_unchecked::<f32, R>(
            &client,
            CubeCount::Static(units.div_ceil(UNITS).max(1) as u32, 1, 1),
            CubeDim::new_1d(UNITS as u32),
            x.into_tensor_arg(),
            w.into_tensor_arg(),
            y.clone().into_tensor_arg(),
            stride[0],
            stride[1],
            padding[0],
            padding[1],
            w_o,
            w_c,
            wst[2],
            wst[3],
            ws[2],
            ws[3],
            tile,
            px,
            transposed,
        );
    }
    y
}

/// What one custom fusion operation of this module computes from its two inputs.
#[derive(Debug, Clone, Copy)]
enum ConvJob {
    /// [`weight_grad_on_device`]: inputs (x, dy).
    WeightGrad { kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2] },
    /// [`direct_conv_on_device`]: inputs (x, w).
    Direct { out_hw: [usize; 2], stride: [usize; 2], padding: [usize; 2], transposed: bool },
}

impl DeviceJob for ConvJob {
    fn run<R: CubeRuntime>(&self, inputs: Vec<CubeTensor<R>>) -> Vec<CubeTensor<R>> {
        let mut inputs = inputs.into_iter();
        let (Some(a), Some(b)) = (inputs.next(), inputs.next()) else {
            return Vec::new();
        };
        vec![match *self {
            ConvJob::WeightGrad { kernel, stride, padding } => weight_grad_on_device(a, b, kernel, stride, padding),
            ConvJob::Direct { out_hw, stride, padding, transposed } => direct_conv_on_device(a, b, out_hw, stride, padding, transposed),
        }]
    }
}

/// Whether [`weight_grad_on_device`] can stage rows of this output gradient `[batch, c_out, Ho,
/// Wo]` in shared memory (fewer than 8192 output channels).
pub fn weight_grad_fits(dy_shape: &Shape) -> bool {
    dy_shape.num_dims() == 4 && kernels::wgrad_columns(dy_shape[1], dy_shape[3]).is_some()
}

/// Whether both tensors are 4-D f32 (what the kernels are compiled for).
fn kernel_inputs_ok(a: (&DType, usize), b: (&DType, usize)) -> bool {
    *a.0 == DType::F32 && *b.0 == DType::F32 && a.1 == 4 && b.1 == 4
}

/// Registers `job` on inputs `(a, b)` with output `shape` as one operation of a fusion stream.
fn register_job<R, F, I, BT>(a: FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>, b: FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>, shape: Shape, name: &'static str, job: ConvJob) -> Option<FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    if !kernel_inputs_ok((&a.dtype, a.shape.num_dims()), (&b.dtype, b.shape.num_dims())) {
        return None;
    }
    crate::fusion_job::register::<R, F, I, BT, _>(vec![a, b], vec![shape], name, job).pop()
}

/// [`direct_conv_on_device`] as one operation of a fusion backend's stream; `None` for tensors
/// that are not 4-D f32, so that callers fall back.
pub fn fused_direct_conv<R, F, I, BT>(x: FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>, w: FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>, out_hw: [usize; 2], stride: [usize; 2], padding: [usize; 2], transposed: bool) -> Option<FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    let c_out = if transposed { w.shape[1] } else { w.shape[0] };
    let shape = Shape::new([x.shape[0], c_out, out_hw[0], out_hw[1]]);
    register_job::<R, F, I, BT>(x, w, shape, "oplab_direct_conv2d", ConvJob::Direct { out_hw, stride, padding, transposed })
}

/// [`direct_conv_on_device`] launched at once (a backend without fusion); `None` for tensors that
/// are not 4-D f32.
pub fn direct_conv<R: CubeRuntime>(x: CubeTensor<R>, w: CubeTensor<R>, out_hw: [usize; 2], stride: [usize; 2], padding: [usize; 2], transposed: bool) -> Option<CubeTensor<R>> {
    if !kernel_inputs_ok((&x.dtype, x.meta.shape().num_dims()), (&w.dtype, w.meta.shape().num_dims())) {
        return None;
    }
    Some(direct_conv_on_device(x, w, out_hw, stride, padding, transposed))
}

/// [`weight_grad_on_device`] as one operation of a fusion backend's stream; `None` for tensors
/// that are not 4-D f32 (the kernels are compiled for f32 only), so that callers fall back.
pub fn fused_weight_grad<R, F, I, BT>(x: FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>, dy: FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> Option<FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    if !weight_grad_fits(&dy.shape) {
        return None;
    }
    let shape = Shape::new([dy.shape[1], x.shape[1], kernel[0], kernel[1]]);
    register_job::<R, F, I, BT>(x, dy, shape, "oplab_conv2d_weight_grad", ConvJob::WeightGrad { kernel, stride, padding })
}
