//! The cubecl kernels of the dedicated convolution weight gradient (runtime-generic: the CUDA
//! backend launches them through `super`, and `bench/operators/wgrad_kernel_check` runs this
//! same file on wgpu, e.g. Mesa's lavapipe on a machine without a GPU, against an f64 reference).
//!
//! `dW[o, c, i, j] = Σ_(b, y, x) dy[b, o, y, x] · x[b, c, s_h·y + i − p_h, s_w·x + j − p_w]`
//! (zero outside the input), dilation 1, one group. The reduction over (b, y, x) is split into
//! slabs of output rows: [`wgrad_partial_kernel`] writes one partial sum per slab and
//! [`wgrad_sum_kernel`] adds the slabs up. Why this layout: unit `q` of a cube row owns the pair
//! `(o, c) = (q mod c_out, q div c_out)`, so the lanes of a warp share the input value they read
//! (one transaction) and differ only in the output-gradient plane; the k² accumulators stay in
//! registers. A GEMM formulation needs an im2col copy or a split-K GEMM instead.
use cubecl::prelude::*;

/// Units per cube (8 warps of 32).
pub const UNITS: usize = 256;

/// About how many cubes a launch should have: enough to fill an H200's 132 SMs several times
/// over, few enough that the slab partial sums stay small (slabs × c_out × c_in × k² floats).
pub const TARGET_CUBES: usize = 1024;

/// Launch geometry of [`wgrad_partial_kernel`] for `pairs = c_out · c_in` and `rows = batch · Ho`
/// output rows: (cubes along x, output rows per slab, slabs).
pub fn slab_geometry(pairs: usize, rows: usize) -> (usize, usize, usize) {
    let cubes_x = pairs.div_ceil(UNITS).max(1);
    let rows_per_slab = rows.div_ceil((TARGET_CUBES / cubes_x).max(1)).max(1);
    (cubes_x, rows_per_slab, rows.div_ceil(rows_per_slab).max(1))
}

/// Partial sums of `dW[o, c, i, j] = Σ dy[b, o, y, x] · x[b, c, s·y + i − p, s·x + j − p]` over
/// one slab of output rows (b, y) per cube row; unit `q` of the cube grid owns the pair
/// `(o, c) = (q mod O, q div O)`, so neighbouring lanes read the same input value.
#[cube(launch_unchecked)]
pub fn wgrad_partial_kernel<F: Float>(
    x: &Tensor<F>,
    dy: &Tensor<F>,
    partial: &mut Tensor<F>,
    rows_per_slab: usize,
    stride_h: usize,
    stride_w: usize,
    pad_h: usize,
    pad_w: usize,
    #[comptime] kh: usize,
    #[comptime] kw: usize,
) {
    let c_count = x.shape(1);
    let o_count = dy.shape(1);
    let pairs = c_count * o_count;
    let q = CUBE_POS_X as usize * CUBE_DIM_X as usize + UNIT_POS_X as usize;
    if q < pairs {
        let c = q / o_count;
        let o = q % o_count;
        let h = x.shape(2);
        let w = x.shape(3);
        let ho = dy.shape(2);
        let wo = dy.shape(3);
        let rows = dy.shape(0) * ho;
        let mut acc = Array::<F>::new(comptime!(kh * kw));
        #[unroll]
        for t in 0..kh * kw {
            acc[t] = F::new(0.0);
        }
        let r0 = CUBE_POS_Y as usize * rows_per_slab;
        let r1 = cubecl::prelude::select(r0 + rows_per_slab < rows, r0 + rows_per_slab, rows);
        for r in r0..r1 {
            let b = r / ho;
            let y = r % ho;
            let dy_row = b * dy.stride(0) + o * dy.stride(1) + y * dy.stride(2);
            let x_plane = b * x.stride(0) + c * x.stride(1);
            for xo in 0..wo {
                let d = dy[dy_row + xo * dy.stride(3)];
                #[unroll]
                for i in 0..kh {
                    // Row of the unpadded input, shifted by `pad_h` so it stays unsigned.
                    let yy = y * stride_h + i;
                    if yy >= pad_h && yy < h + pad_h {
                        let x_row = x_plane + (yy - pad_h) * x.stride(2);
                        #[unroll]
                        for j in 0..kw {
                            let xx = xo * stride_w + j;
                            if xx >= pad_w && xx < w + pad_w {
                                acc[i * kw + j] += d * x[x_row + (xx - pad_w) * x.stride(3)];
                            }
                        }
                    }
                }
            }
        }
        let base = CUBE_POS_Y as usize * pairs * (kh * kw) + (o * c_count + c) * (kh * kw);
        #[unroll]
        for t in 0..kh * kw {
            partial[base + t] = acc[t];
        }
    }
}

/// `out[k] = Σ_s partial[s·n + k]` for the `n = out.len()` weight-gradient entries.
#[cube(launch_unchecked)]
pub fn wgrad_sum_kernel<F: Float>(partial: &Tensor<F>, out: &mut Tensor<F>, slabs: usize) {
    let n = out.len();
    if (ABSOLUTE_POS as usize) < n {
        let k = ABSOLUTE_POS as usize;
        let mut sum = F::new(0.0);
        for s in 0..slabs {
            sum += partial[s * n + k];
        }
        out[k] = sum;
    }
}
