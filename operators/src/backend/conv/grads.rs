//! The gradient formulations of [`super`]: plain tensor code on any backend, using a backend's
//! direct and weight-gradient kernels where it has them. Public so that benchmarks can time them
//! without autodiff.

use burn::tensor::backend::Backend;
use burn::tensor::module::{conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Slice, Tensor};

use super::ConvBackend;
use crate::backend::options::WgradKind;
use crate::backend::tensor::{prim, wrap, zero_pad};

/// Input gradient of `conv2d` (dilation 1, groups 1) from the output gradient `dy`.
///
/// Stride 1 (with `padding < kernel`): a forward convolution of `dy` with the flipped,
/// in/out-swapped kernel and padding `k − 1 − p`, which runs at forward speed. Otherwise a
/// forward `conv_transpose2d` of `dy` whose `padding_out` restores the rows and columns the
/// strided forward dropped.
///
/// # Shapes
/// - `dy`: `[batch, c_out, Ho, Wo]`, `weight`: `[c_out, c_in, kh, kw]`
/// - output: `[batch, c_in, input_hw[0], input_hw[1]]`
pub fn conv2d_input_grad<B: ConvBackend>(
    dy: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    input_hw: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Tensor<B, 4> {
    // A direct kernel computes the transposed convolution of dy with this very kernel at the
    // input's size: no flipped copy, no padding_out, no crop.
    if let Some(g) = B::direct_conv2d(prim(dy.clone()), prim(weight.clone()), input_hw, stride, padding, true) {
        return wrap(g);
    }
    let [_, _, kh, kw] = weight.dims();
    let [_, _, ho, wo] = dy.dims();
    if stride == [1, 1] && padding[0] < kh && padding[1] < kw {
        let flipped = weight.flip([2, 3]).swap_dims(0, 1);
        return conv2d(dy, flipped, None, ConvOptions::new([1, 1], [kh - 1 - padding[0], kw - 1 - padding[1]], [1, 1], 1));
    }
    // The forward kept floor((n + 2p − k)/s) + 1 points; the remainder becomes padding_out.
    let rest = |n: usize, p: usize, k: usize, s: usize, o: usize| (n + 2 * p).saturating_sub(k + s * (o - 1));
    let po = [rest(input_hw[0], padding[0], kh, stride[0], ho), rest(input_hw[1], padding[1], kw, stride[1], wo)];
    let g = conv_transpose2d(dy, weight, None, ConvTransposeOptions::new(stride, padding, po, [1, 1], 1));
    fit_hw(g, input_hw)
}

/// Input gradient of `conv_transpose2d` (dilation 1, groups 1): a forward strided convolution of
/// `dy` with the same kernel.
///
/// # Shapes
/// - `dy`: `[batch, c_out, Hy, Wy]`, `weight`: `[c_in, c_out, kh, kw]`
/// - output: `[batch, c_in, input_hw[0], input_hw[1]]`
pub fn conv_transpose2d_input_grad<B: ConvBackend>(
    dy: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    input_hw: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Tensor<B, 4> {
    if let Some(g) = B::direct_conv2d(prim(dy.clone()), prim(weight.clone()), input_hw, stride, padding, false) {
        return wrap(g);
    }
    let g = conv2d(dy, weight, None, ConvOptions::new(stride, padding, [1, 1], 1));
    fit_hw(g, input_hw)
}

/// Weight gradient of `conv2d` (dilation 1, groups 1) as one batched split-K GEMM.
///
/// `dW[o, c, i, j] = Σ_b Σ_(y,x) dy[b, o, y, x] · x_pad[b, c, s·y + i, s·x + j]`. The k² shifted
/// views of the zero-padded input are stacked into an im2col matrix `[batch, k²·c_in, L]`
/// (L = Ho·Wo); L is cut into `n` chunks of length K ≈ `chunk` (a divisor of L when a
/// reasonable one exists, otherwise both operands are zero-extended to a multiple of `chunk`),
/// the GEMM `[batch·n] × ([c_out, K] · [K, k²·c_in])` runs once, and the partial products are
/// summed over `batch·n`. Splitting K is what a GEMM without split-K needs to fill the GPU when
/// M and N are channel counts and K is a whole image. With [`WgradKind::Taps`] the k² taps get
/// one such GEMM each (N = c_in) instead of one GEMM over the stacked matrix.
///
/// # Shapes
/// - `x`: `[batch, c_in, H, W]`, `dy`: `[batch, c_out, Ho, Wo]`
/// - output: `[c_out, c_in, kernel[0], kernel[1]]`
pub fn conv2d_weight_grad<B: Backend>(
    x: Tensor<B, 4>,
    dy: Tensor<B, 4>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    chunk: usize,
    kind: WgradKind,
) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    let [_, o, ho, wo] = dy.dims();
    let [kh, kw] = kernel;
    let taps = kh * kw;
    // Extent each axis must reach; rows past it are never read, so the far side is padded only
    // as much as needed (often not at all).
    let need = [stride[0] * (ho - 1) + kh, stride[1] * (wo - 1) + kw];
    let xp = zero_pad(x, 2, padding[0], need[0].saturating_sub(h + padding[0]));
    let xp = zero_pad(xp, 3, padding[1], need[1].saturating_sub(w + padding[1]));
    let [_, _, hp, wp] = xp.dims();
    let view = |i: usize, j: usize| -> Tensor<B, 4> {
        if stride == [1, 1] && i == 0 && j == 0 && hp == ho && wp == wo {
            // A 1×1 stride-1 unpadded kernel reads the input as it is: no copy.
            return xp.clone();
        }
        xp.clone().slice([
            Slice::full(),
            Slice::full(),
            Slice::new(i as isize, Some((i + stride[0] * (ho - 1) + 1) as isize), stride[0] as isize),
            Slice::new(j as isize, Some((j + stride[1] * (wo - 1) + 1) as isize), stride[1] as isize),
        ])
    };
    let l = ho * wo;
    let (k, n, padded) = split_k(l, chunk);
    // [b, rows, L] → [b, n, rows, K] (zero-extended to n·K first when needed).
    let chunked = |t: Tensor<B, 3>| -> Tensor<B, 4> {
        let [_, rows, _] = t.dims();
        let t = if padded > l { zero_pad3(t, padded - l) } else { t };
        t.reshape([b, rows, n, k]).swap_dims(1, 2)
    };
    // [b, n, o, K], shared by every GEMM.
    let a = chunked(dy.reshape([b, o, l]));
    if kind == WgradKind::Taps && taps > 1 {
        // One [b·n] × ([o, K] · [K, c]) GEMM per tap: k² launches, but no k²-fold im2col copy.
        let per_tap: Vec<Tensor<B, 2>> = (0..kh)
            .flat_map(|i| (0..kw).map(move |j| (i, j)))
            .map(|(i, j)| {
                let m = chunked(view(i, j).reshape([b, c, l])).swap_dims(2, 3);
                a.clone().matmul(m).sum_dim(0).sum_dim(1).reshape([o, c])
            })
            .collect();
        // [o, c, taps] in tap order (i, j) = the kernel's row-major layout.
        return Tensor::stack::<3>(per_tap, 2).reshape([o, c, kh, kw]);
    }
    let cols: Tensor<B, 3> = if taps == 1 {
        view(0, 0).reshape([b, c, l])
    } else {
        let shifted: Vec<Tensor<B, 4>> = (0..kh).flat_map(|i| (0..kw).map(move |j| (i, j))).map(|(i, j)| view(i, j)).collect();
        // [b, taps, c, ho, wo]: row index of the im2col matrix is tap·c_in + channel.
        Tensor::stack::<5>(shifted, 1).reshape([b, taps * c, l])
    };
    // [b, n, o, K] · [b, n, K, taps·c] → [b, n, o, taps·c]
    let m = chunked(cols).swap_dims(2, 3);
    let partial = a.matmul(m);
    let total: Tensor<B, 2> = partial.sum_dim(0).sum_dim(1).reshape([o, taps * c]);
    total.reshape([o, taps, c]).swap_dims(1, 2).reshape([o, c, kh, kw])
}

/// Weight gradient of `conv_transpose2d` (dilation 1, groups 1).
///
/// With `y[b, o, s·i + p − P] += x[b, c, i] · w[c, o, p]`, `dW[c, o, p, q] = Σ x[b, c, i, j] ·
/// dy_pad[b, o, s·i + p, s·j + q]`: the weight gradient of a `conv2d` whose "input" is `dy` and
/// whose "output gradient" is `x`, which [`conv2d_weight_grad`] computes in the transposed
/// convolution's own `[c_in, c_out, kh, kw]` layout.
///
/// # Shapes
/// - `x`: `[batch, c_in, H, W]`, `dy`: `[batch, c_out, Hy, Wy]`
/// - output: `[c_in, c_out, kernel[0], kernel[1]]`
pub fn conv_transpose2d_weight_grad<B: Backend>(
    x: Tensor<B, 4>,
    dy: Tensor<B, 4>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    chunk: usize,
    kind: WgradKind,
) -> Tensor<B, 4> {
    conv2d_weight_grad(dy, x, kernel, stride, padding, chunk, kind)
}

/// [`conv2d_weight_grad`], or the backend's dedicated kernel under [`WgradKind::Kernel`] where it
/// has one: what the fast backward runs. Same shapes as [`conv2d_weight_grad`].
pub fn conv2d_weight_grad_on<B: ConvBackend>(
    x: Tensor<B, 4>,
    dy: Tensor<B, 4>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    chunk: usize,
    kind: WgradKind,
) -> Tensor<B, 4> {
    if kind == WgradKind::Kernel {
        if let Some(g) = B::conv2d_weight_grad_kernel(prim(x.clone()), prim(dy.clone()), kernel, stride, padding) {
            return wrap(g);
        }
    }
    conv2d_weight_grad(x, dy, kernel, stride, padding, chunk, kind)
}

/// [`conv_transpose2d_weight_grad`] with the same choice as [`conv2d_weight_grad_on`].
pub fn conv_transpose2d_weight_grad_on<B: ConvBackend>(
    x: Tensor<B, 4>,
    dy: Tensor<B, 4>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    chunk: usize,
    kind: WgradKind,
) -> Tensor<B, 4> {
    conv2d_weight_grad_on(dy, x, kernel, stride, padding, chunk, kind)
}

/// Bias gradient of either convolution: the sum of `dy` over batch and grid, `[c_out]`.
pub fn conv_bias_grad<B: Backend>(dy: Tensor<B, 4>) -> Tensor<B, 1> {
    let o = dy.dims()[1];
    dy.sum_dim(0).sum_dim(2).sum_dim(3).reshape([o])
}

/// `(K, n, L')`: chunk length, number of chunks and the padded length `n·K ≥ l`.
///
/// An exact divisor of `l` in `[chunk/4, chunk]` avoids copying both operands to pad them; a
/// grid with no such divisor (e.g. a prime number of points) is padded to a multiple of `chunk`.
fn split_k(l: usize, chunk: usize) -> (usize, usize, usize) {
    let chunk = chunk.max(1);
    if l <= chunk {
        return (l, 1, l);
    }
    let floor = (chunk / 4).max(1);
    if let Some(d) = (floor..=chunk).rev().find(|&d| l.is_multiple_of(d)) {
        return (d, l / d, l);
    }
    let n = l.div_ceil(chunk);
    (chunk, n, n * chunk)
}

fn zero_pad3<B: Backend>(t: Tensor<B, 3>, extra: usize) -> Tensor<B, 3> {
    let [a, b, _] = t.dims();
    let z = Tensor::<B, 3>::zeros([a, b, extra], (&t.device(), t.dtype()));
    Tensor::cat(vec![t, z], 2)
}

/// Crops (or zero-extends) the last two axes to `hw`.
fn fit_hw<B: Backend>(g: Tensor<B, 4>, hw: [usize; 2]) -> Tensor<B, 4> {
    let [_, _, gh, gw] = g.dims();
    let g = if gh > hw[0] { g.narrow(2, 0, hw[0]) } else { zero_pad(g, 2, 0, hw[0] - gh) };
    if gw > hw[1] {
        g.narrow(3, 0, hw[1])
    } else {
        zero_pad(g, 3, 0, hw[1] - gw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::tensor::testing::{rel_err, vec64};
    use burn::backend::Flex as Cpu;
    use burn::tensor::ops::ModuleOps;
    use burn::tensor::{DType, Distribution, TensorPrimitive};

    /// The split-K GEMM for chunk lengths that divide the grid, that do not (zero-extended), and
    /// that leave one chunk, against burn's stock weight gradient.
    #[test]
    fn fastconv_split_k_weight_gradient_for_every_chunking() {
        let device = Default::default();
        for ([h, w], stride, chunk) in [([9, 7], 1, 1024), ([9, 7], 1, 16), ([13, 11], 1, 8), ([13, 11], 1, 5), ([12, 10], 2, 7), ([11, 13], 2, 3)] {
            let x = Tensor::<Cpu, 4>::random([2, 3, h, w], Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
            let wt = Tensor::<Cpu, 4>::random([4, 3, 3, 3], Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
            let opts = ConvOptions::new([stride; 2], [1, 1], [1, 1], 1);
            let y_dims = conv2d(x.clone(), wt.clone(), None, opts.clone()).dims();
            let dy = Tensor::<Cpu, 4>::random(y_dims, Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
            let stock = Tensor::<Cpu, 4>::from_primitive(TensorPrimitive::Float(<Cpu as ModuleOps<Cpu>>::conv2d_weight_backward(
                prim(x.clone()),
                prim(wt.clone()),
                prim(dy.clone()),
                opts,
            )));
            for kind in [WgradKind::Im2col, WgradKind::Taps, WgradKind::Kernel] {
                // The CPU backend has no dedicated kernel: `Kernel` must fall back to the GEMM.
                let fast = conv2d_weight_grad_on(x.clone(), dy.clone(), [3, 3], [stride; 2], [1, 1], chunk, kind);
                let e = rel_err(&vec64(fast), &vec64(stock.clone()));
                assert!(e < 1e-10, "{h}x{w} stride {stride} chunk {chunk} {kind:?}: {e:e}");
            }
        }
        assert_eq!(split_k(65536, 1024), (1024, 64, 65536));
        assert_eq!(split_k(211 * 211, 1024), (1024, 44, 45056));
        assert_eq!(split_k(3 * 211 * 211, 1024), (633, 211, 3 * 211 * 211));
        assert_eq!(split_k(2053, 1024), (1024, 3, 3072));
        assert_eq!(split_k(49, 1024), (49, 1, 49));
    }
}
