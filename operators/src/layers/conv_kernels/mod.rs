//! Dedicated convolution kernels for the CUDA backend (cubecl), wired into burn's fusion stream as
//! custom operations: direct forward kernels (convolution and transposed convolution, which also
//! serve as the input gradients: the shared-memory tiled kernel of [`tiled`] where it applies, the
//! gather kernel of [`kernels`] elsewhere) and weight-gradient kernels (a general one and one for
//! 1×1 layers), whose per-slab partial sums a third kernel adds up in a fixed order.
//!
//! Why: with burn's autotuner off (`make cuda-fixed`), its fixed direct convolution is 13–32×
//! slower than cuDNN on MgNO's layers, and its GEMM-based weight gradients miss the 1e-4 gradient
//! tolerance against its own stock gradient (2e-4). Correctness: the kernels in [`kernels`] are
//! checked against an f64 reference on wgpu (Mesa lavapipe) by `bench/operators/conv_kernel_check`;
//! on CUDA, `gpu_bench --only check` compares the whole fast path with burn's stock convolution.

mod kernels;
mod tiled;

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
    let (pairs, taps) = (c_out * c_in, kernel[0] * kernel[1]);
    let n = pairs * taps;
    let client = x.client.clone();
    let device = x.device.clone();
    let out = empty_device_contiguous_dtype(client.clone(), device.clone(), Shape::new([c_out, c_in, kernel[0], kernel[1]]), DType::F32);
    let partial_for = |slabs: usize| empty_device_contiguous_dtype(client.clone(), device.clone(), Shape::new([slabs * n]), DType::F32);
    let pointwise = (kernel == [1, 1] && stride == [1, 1] && padding == [0, 0] && tuning().wgrad_pointwise)
        .then(|| {
            let device_floats = client.properties().hardware.max_shared_memory_size / 4;
            kernels::wgrad_pointwise_geometry(c_in, c_out, batch, ho * dys[3], tuning().wgrad_threads, kernels::POINTWISE_SMEM.min(device_floats))
        })
        .flatten();
    let (partial, slabs) = match pointwise {
        Some(g) => {
            let partial = partial_for(g.slabs);
            // SAFETY: the kernel reads `x` and `dy` below their shapes through their strides (a
            // 1×1 unpadded stride-1 layer: same grid), and writes `partial` (sized for
            // `g.slabs · n`) only below `slabs · c_out · c_in`.
            unsafe {
                kernels::wgrad_pointwise_kernel::launch_unchecked::<f32, R>(
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
            let layout = kernels::wgrad_columns(c_in, c_out, kernel, stride[1], dys[3], group).expect("weight_grad_fits was checked by the caller");
            let ot = kernels::wgrad_channel_tile(c_in, c_out, tuning().wgrad_max_ot);
            let (cube_dim, cubes_x, rows_per_slab, slabs) = slab_geometry(pairs / ot, batch * ho, tuning().wgrad_threads);
            let partial = partial_for(slabs);
            // SAFETY: the kernel indexes `x` and `dy` through their own shapes and strides with
            // bounds checks on the input, and writes `partial` (sized for `slabs · n`) only below
            // `slabs · n`.
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
    let (sum_cubes, sum_dim) = kernels::wgrad_sum_launch(n);
    // SAFETY: the sum reads `partial` below `slabs · n` and writes `out` (n entries) below `n`.
    unsafe {
        kernels::wgrad_sum_kernel::launch_unchecked::<f32, R>(
            &client,
            sum_cubes,
            sum_dim,
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
    if !kernel_inputs_ok((&x.dtype, x.meta.shape().num_dims()), (&dy.dtype, dy.meta.shape().num_dims())) || !weight_grad_fits(x.meta.shape(), dy.meta.shape(), kernel, stride) || !wgrad_smem_fits(&x.client) {
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
    let (px, tile, units) = kernels::direct_conv_geometry(c_out, batch, out_hw[0], out_hw[1]);
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

/// Tuning of the kernels, from the environment (read once) for benchmark runs, else the defaults:
/// `OPLAB_TILED_SMEM` (floats of shared memory per cube), `OPLAB_TILED_PY` (most output rows per
/// unit), `OPLAB_TILED_WARPS` (warps per cube), `OPLAB_TILED_MIN_W` (narrowest output the tiled
/// kernel takes), `OPLAB_TILED_BATCH` (loads in flight per unit while staging), `OPLAB_WGRAD_GROUP`
/// (pixels per step of the weight-gradient kernel), `OPLAB_WGRAD_OT` (most output channels per
/// unit of the weight-gradient kernel), `OPLAB_TILED_PREFETCH=1` (the tiled kernel's register
/// prefetch of the next staging round), `OPLAB_WGRAD_THREADS` (units the
/// weight-gradient kernel aims for, which sets how many partial sums it leaves). The tiled-kernel
/// settings change speed only (the same sums in the same order); the weight-gradient ones and
/// `OPLAB_TILED_MIN_W` (which moves layers between kernels) change the summation order.
struct Tuning {
    /// `OPLAB_CONV_TILED=0` sends every direct convolution to the gather kernel, for comparisons
    /// (a different summation order, so results differ in the last bits).
    tiled: bool,
    limits: tiled::TiledLimits,
    stage_batch: usize,
    /// `OPLAB_TILED_PREFETCH=1`: the tiled kernel loads the next round's input tile into registers
    /// before the current round's products (same sums). Off by default until timed on a GPU.
    tiled_prefetch: bool,
    wgrad_group: usize,
    wgrad_threads: usize,
    wgrad_max_ot: usize,
    /// `OPLAB_WGRAD_POINTWISE=0` sends 1×1 weight gradients to the general kernel, for comparisons.
    wgrad_pointwise: bool,
}

fn tuning() -> &'static Tuning {
    static TUNING: std::sync::OnceLock<Tuning> = std::sync::OnceLock::new();
    TUNING.get_or_init(|| {
        let var = |name: &str, default: usize, range: std::ops::RangeInclusive<usize>| std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).filter(|v| range.contains(v)).unwrap_or(default);
        // A switch: "0" off, "1" on, anything else (or unset) its default.
        let flag = |name: &str, default: bool| match std::env::var(name).as_deref().map(str::trim) {
            Ok("0") => false,
            Ok("1") => true,
            _ => default,
        };
        let defaults = tiled::TiledLimits::CUDA;
        Tuning {
            tiled: flag("OPLAB_CONV_TILED", true),
            limits: tiled::TiledLimits {
                smem_floats: var("OPLAB_TILED_SMEM", defaults.smem_floats, 1024..=defaults.smem_floats),
                max_py: var("OPLAB_TILED_PY", defaults.max_py, 1..=4),
                warps: var("OPLAB_TILED_WARPS", defaults.warps, 1..=8),
                min_width: var("OPLAB_TILED_MIN_W", defaults.min_width, 1..=1 << 16),
            },
            stage_batch: var("OPLAB_TILED_BATCH", tiled::STAGE_BATCH, 1..=16),
            tiled_prefetch: flag("OPLAB_TILED_PREFETCH", false),
            wgrad_group: var("OPLAB_WGRAD_GROUP", kernels::WGRAD_GROUP, 1..=8),
            wgrad_threads: var("OPLAB_WGRAD_THREADS", kernels::TARGET_THREADS, 1 << 12..=1 << 22),
            wgrad_max_ot: var("OPLAB_WGRAD_OT", kernels::WGRAD_MAX_OT, 1..=8),
            wgrad_pointwise: flag("OPLAB_WGRAD_POINTWISE", true),
        }
    })
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
/// `p ≤ k − S`), on outputs (of a phase) at least `OPLAB_TILED_MIN_W` wide (default: all), where one input channel's tile fits
/// `device_floats` floats of shared memory. `OPLAB_CONV_TILED=0` (read once)
/// sends everything to the gather kernel, for comparisons.
#[allow(clippy::too_many_arguments)]
fn tiled_plan(c_in: usize, c_out: usize, batch: usize, out_hw: [usize; 2], kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2], transposed: bool, device_floats: usize) -> Option<TiledPlan> {
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
/// its shared memory ([`kernels::wgrad_columns`], [`kernels::WGRAD_SMEM`] floats).
pub fn weight_grad_fits(x_shape: &Shape, dy_shape: &Shape, kernel: [usize; 2], stride: [usize; 2]) -> bool {
    x_shape.num_dims() == 4
        && dy_shape.num_dims() == 4
        && (1..=4).contains(&stride[1])
        && kernels::wgrad_columns(x_shape[1], dy_shape[1], kernel, stride[1], dy_shape[3], tuning().wgrad_group).is_some()
}

/// Whether the device allows the weight-gradient kernel's fixed shared memory
/// ([`kernels::WGRAD_SMEM`] floats; the H200 allows far more, Mesa's lavapipe exactly that).
fn wgrad_smem_fits<R: CubeRuntime>(client: &cubecl::prelude::ComputeClient<R>) -> bool {
    client.properties().hardware.max_shared_memory_size >= kernels::WGRAD_SMEM * 4
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
    if !weight_grad_fits(&x.shape, &dy.shape, kernel, stride) || !wgrad_smem_fits(&R::client(x.client.device())) {
        return None;
    }
    let shape = Shape::new([dy.shape[1], x.shape[1], kernel[0], kernel[1]]);
    register_job::<R, F, I, BT>(x, dy, shape, "oplab_conv2d_weight_grad", ConvJob::WeightGrad { kernel, stride, padding })
}
