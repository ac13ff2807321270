//! Dedicated convolution kernels for the GPU backends (cubecl), launched at once or wired into
//! burn's fusion stream as custom operations: direct forward kernels (convolution and transposed
//! convolution, which also serve as the input gradients: the shared-memory tiled kernel of
//! [`tiled`] where it applies, the gather kernel of [`gather`] elsewhere) and weight-gradient
//! kernels ([`wgrad`]: a general one and one for 1×1 layers), whose per-slab partial sums a third
//! kernel adds up in a fixed order.
//!
//! Why: with burn's autotuner off (`make cuda-fixed`), its fixed direct convolution is 13–32×
//! slower than cuDNN on MgNO's layers, and its GEMM-based weight gradients miss the 1e-4 gradient
//! tolerance against its own stock gradient (2e-4). Correctness: the kernels of these files are
//! checked against an f64 reference on wgpu (Mesa lavapipe) by `bench/operators/conv_kernel_check`;
//! on CUDA, `gpu_bench --only check` compares the whole fast path with burn's stock convolution.

mod gather;
mod tiled;
mod wgrad;

use burn::tensor::{DType, Shape};
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeRuntime, FloatElement, IntElement};
use cubecl::prelude::{CubeCount, CubeDim};

use super::fusion_job::{DeviceJob, FusionTensor};
use crate::backend::options::BenchKnobs;
use crate::backend::select::bench_knobs;
use wgrad::slab_geometry;

/// The weight gradient `[c_out, c_in, kh, kw]` of a `conv2d` (dilation 1, one group) from its
/// input `x` `[batch, c_in, H, W]` and output gradient `dy` `[batch, c_out, Ho, Wo]`, any strides
/// (f32 tensors). The callers check [`weight_grad_fits`] first.
pub fn weight_grad_on_device<R: CubeRuntime>(
    x: CubeTensor<R>,
    dy: CubeTensor<R>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> CubeTensor<R> {
    let (xs, dys) = (x.meta.shape().clone(), dy.meta.shape().clone());
    let (batch, c_in) = (xs[0], xs[1]);
    let (c_out, ho) = (dys[1], dys[2]);
    let (pairs, taps) = (c_out * c_in, kernel[0] * kernel[1]);
    let n = pairs * taps;
    let client = x.client.clone();
    let device = x.device.clone();
    let out = empty_device_contiguous_dtype(client.clone(), device.clone(), Shape::new([c_out, c_in, kernel[0], kernel[1]]), DType::F32);
    let partial_for = |slabs: usize| empty_device_contiguous_dtype(client.clone(), device.clone(), Shape::new([slabs * n]), DType::F32);
    let pointwise = (kernel == [1, 1] && stride == [1, 1] && padding == [0, 0] && tuning().wgrad_pointwise)
        .then(|| {
            let device_floats = client.properties().hardware.max_shared_memory_size / 4;
            wgrad::wgrad_pointwise_geometry(c_in, c_out, batch, ho * dys[3], tuning().wgrad_threads, wgrad::POINTWISE_SMEM.min(device_floats))
        })
        .flatten();
    let (partial, slabs) = match pointwise {
        Some(g) => {
            let partial = partial_for(g.slabs);
            // SAFETY: the kernel reads `x` and `dy` below their shapes through their strides (a
            // 1×1 unpadded stride-1 layer: same grid), and writes `partial` (sized for
            // `g.slabs · n`) only below `slabs · c_out · c_in`.
            unsafe {
                wgrad::wgrad_pointwise_kernel::launch_unchecked::<f32, R>(
                    &client,
                    CubeCount::Static(g.cubes_x as u32, g.slabs as u32, 1),
                    CubeDim::new_1d(g.cube_dim as u32),
                    x.into_tensor_arg(),
                    dy.into_tensor_arg(),
                    partial.clone().into_tensor_arg(),
                    g.pixels_per_slab,
                    g.slabs_per_image,
                    g.chunk,
                    g.ov,
                    g.cv,
                );
            }
            (partial, g.slabs)
        }
        None => {
            let group = tuning().wgrad_group;
            let layout = wgrad::wgrad_columns(c_in, c_out, kernel, stride[1], dys[3], group).expect("weight_grad_fits was checked by the caller");
            let ot = wgrad::wgrad_channel_tile(c_in, c_out, tuning().wgrad_max_ot);
            let (cube_dim, cubes_x, rows_per_slab, slabs) = slab_geometry(pairs / ot, batch * ho, tuning().wgrad_threads);
            let partial = partial_for(slabs);
            // SAFETY: the kernel indexes `x` and `dy` through their own shapes and strides with
            // bounds checks on the input, and writes `partial` (sized for `slabs · n`) only below
            // `slabs · n`.
            unsafe {
                wgrad::wgrad_partial_kernel::launch_unchecked::<f32, R>(
                    &client,
                    CubeCount::Static(cubes_x as u32, slabs as u32, 1),
                    CubeDim::new_1d(cube_dim as u32),
                    x.into_tensor_arg(),
                    dy.into_tensor_arg(),
                    partial.clone().into_tensor_arg(),
                    rows_per_slab,
                    stride[0],
                    padding[0],
                    padding[1],
                    layout.cols,
                    layout.col_stride,
                    layout.x_row,
                    kernel[0],
                    kernel[1],
                    ot,
                    stride[1],
                    group,
                    layout.dy_spans,
                    layout.x_spans,
                );
            }
            (partial, slabs)
        }
    };
    let (sum_cubes, sum_dim) = wgrad::wgrad_sum_launch(n);
    // SAFETY: the sum reads `partial` below `slabs · n` and writes `out` (n entries) below `n`.
    unsafe {
        wgrad::wgrad_sum_kernel::launch_unchecked::<f32, R>(&client, sum_cubes, sum_dim, partial.into_tensor_arg(), out.clone().into_tensor_arg(), slabs);
    }
    out
}

/// [`weight_grad_on_device`] launched at once (a backend without fusion); `None` for tensors that
/// are not 4-D f32, so that callers fall back.
pub fn direct_weight_grad<R: CubeRuntime>(
    x: CubeTensor<R>,
    dy: CubeTensor<R>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Option<CubeTensor<R>> {
    if !kernel_inputs_ok((&x.dtype, x.meta.shape().num_dims()), (&dy.dtype, dy.meta.shape().num_dims()))
        || !weight_grad_fits(x.meta.shape(), dy.meta.shape(), kernel, stride)
        || !wgrad_smem_fits(&x.client)
    {
        return None;
    }
    Some(weight_grad_on_device(x, dy, kernel, stride, padding))
}

/// A direct convolution (`transposed = false`, `w` `[c_out, c_in, kh, kw]`) or transposed
/// convolution (`w` `[c_in, c_out, kh, kw]`) of `x` `[batch, c_in, H, W]` into a
/// `[batch, c_out, out_hw]` output (dilation 1, one group, zero padding, f32), by
/// [`gather::direct_conv_kernel`]. A transposed output may be cropped or extended (`padding_out`)
/// to any size; a convolution's `out_hw` is normally its natural size.
pub fn direct_conv_on_device<R: CubeRuntime>(
    x: CubeTensor<R>,
    w: CubeTensor<R>,
    out_hw: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    transposed: bool,
) -> CubeTensor<R> {
    let (xs, ws) = (x.meta.shape().clone(), w.meta.shape().clone());
    let wst = w.meta.strides().to_vec();
    let batch = xs[0];
    // W(o, c, i, j) reads the kernel with its own strides, in/out exchanged when transposed.
    let (c_out, w_o, w_c) = if transposed { (ws[1], wst[1], wst[0]) } else { (ws[0], wst[0], wst[1]) };
    let client = x.client.clone();
    let y = empty_device_contiguous_dtype(client.clone(), x.device.clone(), Shape::new([batch, c_out, out_hw[0], out_hw[1]]), DType::F32);
    // The tiled kernel declares its shared memory statically: keep it within the device's limit
    // (the H200's 48 KiB per block leaves the default 44 KiB; Mesa's lavapipe allows 32 KiB).
    let device_floats = client.properties().hardware.max_shared_memory_size / 4;
    if let Some(plan) = tiled_plan(xs[1], c_out, batch, out_hw, [ws[2], ws[3]], stride, padding, transposed, device_floats) {
        let g = plan.geometry;
        // SAFETY: the kernel stages `x` only inside its shape (zeros elsewhere), reads `w` for
        // channels below c_in and c_out and taps below k_full through the caller-given strides,
        // and writes `y` only below its shape; the cube grid is the one `tiled_plan` sized.
        unsafe {
            tiled::tiled_conv_kernel::launch_unchecked::<f32, R>(
                &client,
                CubeCount::Static(g.cubes[0] as u32, g.cubes[1] as u32, g.cubes[2] as u32),
                CubeDim::new_2d(tiled::TILE_W as u32, g.warps as u32),
                x.into_tensor_arg(),
                w.into_tensor_arg(),
                y.clone().into_tensor_arg(),
                padding[0],
                padding[1],
                w_o,
                w_c,
                wst[2],
                wst[3],
                plan.k,
                plan.stride,
                g.py,
                g.warps,
                g.co_tile,
                g.cc,
                transposed,
                plan.phase_stride,
                ws[2],
                tuning().stage_batch,
                tuning().tiled_prefetch,
            );
        }
        return y;
    }
    let (px, tile, units) = gather::direct_conv_geometry(c_out, batch, out_hw[0], out_hw[1]);
    // SAFETY: every unit checks its flat position against the output size, and reads `x` only
    // where the row and column checks of the kernel put the tap inside the input; the weight
    // index stays below c_out·c_in·kh·kw through the caller-given strides of `w`.
    unsafe {
        gather::direct_conv_kernel::launch_unchecked::<f32, R>(
            &client,
            CubeCount::Static(units.div_ceil(gather::GATHER_UNITS).max(1) as u32, 1, 1),
            CubeDim::new_1d(gather::GATHER_UNITS as u32),
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

/// Tuning of the kernels: the defaults, or what a benchmark set ([`BenchKnobs`], read per launch
/// from `backend::select::bench_knobs`).
struct Tuning {
    /// Whether the tiled kernel takes the direct convolutions it applies to (else all go to the
    /// gather kernel: a different summation order, so results differ in the last bits).
    tiled: bool,
    limits: tiled::TiledLimits,
    stage_batch: usize,
    /// The tiled kernel loads the next round's input tile into registers before the current
    /// round's products (same sums). Off by default until timed on a GPU.
    tiled_prefetch: bool,
    wgrad_group: usize,
    wgrad_threads: usize,
    wgrad_max_ot: usize,
    /// Whether 1×1 weight gradients take their own kernel (else the general one).
    wgrad_pointwise: bool,
}

impl Tuning {
    fn from_knobs(k: BenchKnobs) -> Self {
        let defaults = tiled::TiledLimits::CUDA;
        Tuning {
            tiled: k.conv_tiled.unwrap_or(true),
            limits: tiled::TiledLimits {
                smem_floats: k.tiled_smem.map_or(defaults.smem_floats, |v| v.min(defaults.smem_floats)),
                max_py: k.tiled_py.unwrap_or(defaults.max_py),
                warps: k.tiled_warps.unwrap_or(defaults.warps),
                min_width: k.tiled_min_w.unwrap_or(defaults.min_width),
            },
            stage_batch: k.tiled_batch.unwrap_or(tiled::STAGE_BATCH),
            tiled_prefetch: k.tiled_prefetch.unwrap_or(false),
            wgrad_group: k.wgrad_group.unwrap_or(wgrad::WGRAD_GROUP),
            wgrad_threads: k.wgrad_threads.unwrap_or(wgrad::TARGET_THREADS),
            wgrad_max_ot: k.wgrad_ot.unwrap_or(wgrad::WGRAD_MAX_OT),
            wgrad_pointwise: k.wgrad_pointwise.unwrap_or(true),
        }
    }
}

fn tuning() -> Tuning {
    Tuning::from_knobs(bench_knobs())
}

/// How [`tiled::tiled_conv_kernel`] computes one direct convolution.
struct TiledPlan {
    geometry: tiled::TiledGeometry,
    /// Kernel size and stride of the (sub-)convolution it runs: for a transposed convolution at
    /// stride S, ⌈k/S⌉ taps at stride 1 per phase.
    k: usize,
    stride: usize,
    /// S for a transposed convolution (S² phases), 1 for a convolution.
    phase_stride: usize,
}

/// Whether [`tiled::tiled_conv_kernel`] computes this direct convolution, and how. It takes square
/// kernels at equal strides: convolutions at stride 1 or 2, transposed convolutions at stride 1
/// or 2 whose phases need no negative padding (`⌈k/S⌉ − 1 ≥ ⌊(S − 1 + p)/S⌋`, true for
/// `p ≤ k − S`), on outputs (of a phase) at least the `tiled_min_w` knob wide (default: all), where
/// one input channel's tile fits `device_floats` floats of shared memory. The `conv_tiled = false`
/// knob sends everything to the gather kernel, for comparisons.
#[allow(clippy::too_many_arguments)]
fn tiled_plan(
    c_in: usize,
    c_out: usize,
    batch: usize,
    out_hw: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    transposed: bool,
    device_floats: usize,
) -> Option<TiledPlan> {
    let (k_full, s) = (kernel[0], stride[0]);
    let limits = tiled::TiledLimits { smem_floats: tuning().limits.smem_floats.min(device_floats), ..tuning().limits };
    if !tuning().tiled || kernel[1] != k_full || stride[1] != s || !(1..=2).contains(&s) {
        return None;
    }
    if !transposed {
        let geometry = tiled::tiled_conv_geometry(c_in, c_out, batch, out_hw[0], out_hw[1], k_full, s, limits)?;
        return Some(TiledPlan { geometry, k: k_full, stride: s, phase_stride: 1 });
    }
    let k = k_full.div_ceil(s);
    if padding.iter().any(|&p| k - 1 < p.div_ceil(s)) {
        return None;
    }
    let geometry = tiled::tiled_conv_geometry(c_in, c_out, batch * s * s, out_hw[0].div_ceil(s), out_hw[1].div_ceil(s), k, 1, limits)?;
    Some(TiledPlan { geometry, k, stride: 1, phase_stride: s })
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

/// Whether [`weight_grad_on_device`] serves this layer: 4-D input and output gradient, a column
/// stride of at most 4 (compiled per stride), and at least one output column's staged rows within
/// its shared memory ([`wgrad::wgrad_columns`], [`wgrad::WGRAD_SMEM`] floats).
pub fn weight_grad_fits(x_shape: &Shape, dy_shape: &Shape, kernel: [usize; 2], stride: [usize; 2]) -> bool {
    x_shape.num_dims() == 4
        && dy_shape.num_dims() == 4
        && (1..=4).contains(&stride[1])
        && wgrad::wgrad_columns(x_shape[1], dy_shape[1], kernel, stride[1], dy_shape[3], tuning().wgrad_group).is_some()
}

/// Whether the device allows the weight-gradient kernel's fixed shared memory
/// ([`wgrad::WGRAD_SMEM`] floats; the H200 allows far more, Mesa's lavapipe exactly that).
fn wgrad_smem_fits<R: CubeRuntime>(client: &cubecl::prelude::ComputeClient<R>) -> bool {
    client.properties().hardware.max_shared_memory_size >= wgrad::WGRAD_SMEM * 4
}

/// Whether both tensors are 4-D f32 (what the kernels are compiled for).
fn kernel_inputs_ok(a: (&DType, usize), b: (&DType, usize)) -> bool {
    *a.0 == DType::F32 && *b.0 == DType::F32 && a.1 == 4 && b.1 == 4
}

/// Registers `job` on inputs `(a, b)` with output `shape` as one operation of a fusion stream.
fn register_job<R, F, I, BT>(
    a: FusionTensor<R, F, I, BT>,
    b: FusionTensor<R, F, I, BT>,
    shape: Shape,
    name: &'static str,
    job: ConvJob,
) -> Option<FusionTensor<R, F, I, BT>>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    if !kernel_inputs_ok((&a.dtype, a.shape.num_dims()), (&b.dtype, b.shape.num_dims())) {
        return None;
    }
    super::fusion_job::register::<R, F, I, BT, _>(vec![a, b], vec![shape], name, job).pop()
}

/// [`direct_conv_on_device`] as one operation of a fusion backend's stream; `None` for tensors
/// that are not 4-D f32, so that callers fall back.
pub fn fused_direct_conv<R, F, I, BT>(
    x: FusionTensor<R, F, I, BT>,
    w: FusionTensor<R, F, I, BT>,
    out_hw: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    transposed: bool,
) -> Option<FusionTensor<R, F, I, BT>>
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
pub fn direct_conv<R: CubeRuntime>(
    x: CubeTensor<R>,
    w: CubeTensor<R>,
    out_hw: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    transposed: bool,
) -> Option<CubeTensor<R>> {
    if !kernel_inputs_ok((&x.dtype, x.meta.shape().num_dims()), (&w.dtype, w.meta.shape().num_dims())) {
        return None;
    }
    Some(direct_conv_on_device(x, w, out_hw, stride, padding, transposed))
}

/// [`weight_grad_on_device`] as one operation of a fusion backend's stream; `None` for tensors
/// that are not 4-D f32 (the kernels are compiled for f32 only), so that callers fall back.
pub fn fused_weight_grad<R, F, I, BT>(
    x: FusionTensor<R, F, I, BT>,
    dy: FusionTensor<R, F, I, BT>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Option<FusionTensor<R, F, I, BT>>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    if !weight_grad_fits(&x.shape, &dy.shape, kernel, stride) || !wgrad_smem_fits(&R::client(x.client.device())) {
        return None;
    }
    let shape = Shape::new([dy.shape[1], x.shape[1], kernel[0], kernel[1]]);
    register_job::<R, F, I, BT>(x, dy, shape, "oplab_conv2d_weight_grad", ConvJob::WeightGrad { kernel, stride, padding })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::options::TILED_SMEM_MAX;

    /// The knobs' range check allows exactly the shared memory the tiled kernel declares.
    #[test]
    fn the_tiled_budget_matches_the_knob_range() {
        assert_eq!(tiled::TILED_SMEM, TILED_SMEM_MAX);
        assert_eq!(tiled::TiledLimits::CUDA.smem_floats, TILED_SMEM_MAX);
    }
}
