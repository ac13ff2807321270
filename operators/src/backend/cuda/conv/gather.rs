//! The gather kernel of the direct convolution (runtime-generic cubecl, like `wgrad.rs`: the
//! CUDA backend launches it through `super`, and `bench/operators/conv_kernel_check` runs this same
//! file on wgpu against an f64 reference). It serves every direct convolution and transposed
//! convolution the shared-memory tiled kernel of `tiled.rs` does not take.

// Kernel code is expanded by cubecl's #[cube] macro, which takes a subset of Rust: `(a + b - 1) / b`
// rather than `div_ceil`, explicit casts of the built-in positions, and nested `if`s stay as written.
#![allow(clippy::manual_div_ceil, clippy::unnecessary_cast, clippy::collapsible_if)]
use cubecl::prelude::*;

/// Units per cube of a [`direct_conv_kernel`] launch (8 warps of 32).
pub const GATHER_UNITS: usize = 256;

/// Most output channels one unit of [`direct_conv_kernel`] accumulates in registers.
pub const MAX_CHANNEL_TILE: usize = 32;

/// Units a [`direct_conv_kernel`] launch should have to keep an H200 busy (132 SMs × 2048
/// resident threads is about 270k; half of that hides latency well enough).
pub const TARGET_UNITS: usize = 1 << 17;

/// Launch geometry of [`direct_conv_kernel`] for `c_out` output channels on a
/// `[batch, c_out, ho, wo]` output: (pixels per unit along a row, output-channel tile, units).
///
/// - Pixels per unit: 4 (or 2) where the grid has pixels to spare (at least 4 (2) ×
///   [`TARGET_UNITS`]), so each weight load feeds that many accumulators; else 1.
/// - Channel tile: a divisor of `c_out` (no unit needs a bounds check on its channels), the
///   largest not above [`MAX_CHANNEL_TILE`] that still gives [`TARGET_UNITS`] units, else 1. Large
///   grids get long register tiles (each input value feeds up to 32 accumulators); small grids,
///   where one unit's serial work would set the kernel's latency, get short ones (24 channels,
///   batch 8: 24 at 256² and 128², 6 at 64², 1 at 32² and below).
pub fn direct_conv_geometry(c_out: usize, batch: usize, ho: usize, wo: usize) -> (usize, usize, usize) {
    let pixels = batch * ho * wo;
    let px = if pixels >= 4 * TARGET_UNITS {
        4
    } else if pixels >= 2 * TARGET_UNITS {
        2
    } else {
        1
    };
    let pixel_units = batch * ho * wo.div_ceil(px);
    let mut divisors = (1..=MAX_CHANNEL_TILE.min(c_out.max(1))).rev().filter(|t| c_out.is_multiple_of(*t));
    let tile = divisors.find(|t| pixel_units * (c_out / t) >= TARGET_UNITS).unwrap_or(1);
    (px, tile, pixel_units * (c_out / tile))
}

/// The input coordinate that output coordinate `out` reads through tap `tap` along one axis of
/// `n` input points, or `n` when there is none (zero padding; for a transposed convolution also
/// when the stride does not divide). Convolution: `s·out + tap − pad`; transposed convolution:
/// `(out + pad − tap) / s` when exact. Arithmetic shifted by the padding to stay unsigned.
#[cube]
fn input_coord(out: usize, tap: usize, stride: usize, pad: usize, n: usize, #[comptime] transposed: bool) -> usize {
    let mut at = n;
    if transposed {
        let t = out + pad;
        if t >= tap {
            let q = (t - tap) / stride;
            if q * stride == t - tap && q < n {
                at = q;
            }
        }
    } else {
        let t = out * stride + tap;
        if t >= pad && t < n + pad {
            at = t - pad;
        }
    }
    at
}

/// A direct 2-D convolution (dilation 1, one group, zeros outside the input) into a
/// caller-shaped output `y` `[batch, c_out, Ho, Wo]` from `x` `[batch, c_in, H, W]`:
///
/// - `transposed = false` (a `conv2d`): `y[b, o, Y, X] = Σ_(c, i, j) x[b, c, s_h·Y + i − p_h,
///   s_w·X + j − p_w] · W(o, c, i, j)`;
/// - `transposed = true` (a `conv_transpose2d`): the same sum over the taps with
///   `s_h·yi = Y + p_h − i` (and likewise along W), i.e. the gather form of the scatter that
///   defines the transposed convolution, so any output size (crop or `padding_out`) is exact.
///
/// `W(o, c, i, j) = w[o·w_o + c·w_c + i·w_i + j·w_j]`: the caller passes the weight's strides in
/// the order it needs (`[c_out, c_in, k, k]` for a convolution, `[c_in, c_out, k, k]` for a
/// transposed one, which is also how a convolution's input gradient reads its own kernel).
///
/// Unit layout: `px` output pixels of a row (`blocks = ⌈Wo/px⌉` apart) and a tile of `co_tile`
/// output channels per unit (see [`direct_conv_geometry`]), pixels fastest (so the lanes of a warp read
/// neighbouring inputs) and the channel tile slowest (so they read the same weights). Each input
/// value is loaded once per tap and feeds `co_tile` accumulators, each weight load `px` of them,
/// where burn 0.21's fixed direct kernel (NHWC) reloads the input for every output channel.
#[cube(launch_unchecked)]
pub fn direct_conv_kernel<F: Float>(
    x: &Tensor<F>,
    w: &Tensor<F>,
    y: &mut Tensor<F>,
    stride_h: usize,
    stride_w: usize,
    pad_h: usize,
    pad_w: usize,
    w_o: usize,
    w_c: usize,
    w_i: usize,
    w_j: usize,
    #[comptime] kh: usize,
    #[comptime] kw: usize,
    #[comptime] co_tile: usize,
    #[comptime] px: usize,
    #[comptime] transposed: bool,
) {
    let batch = y.shape(0);
    let ho = y.shape(2);
    let wo = y.shape(3);
    let tiles = y.shape(1) / co_tile;
    let blocks = (wo + px - 1) / px;
    let pos = ABSOLUTE_POS as usize;
    if pos < batch * ho * blocks * tiles {
        // The unit's pixels are `xb + p·blocks` (not `px·xb + p`), so that for every `p` the lanes
        // of a warp, which hold consecutive `xb`, touch consecutive columns (coalesced).
        let xb = pos % blocks;
        let rest = pos / blocks;
        let yo = rest % ho;
        let rest = rest / ho;
        let b = rest % batch;
        let o0 = (rest / batch) * co_tile;
        let c_count = x.shape(1);
        let h = x.shape(2);
        let wi = x.shape(3);
        let mut acc = Array::<F>::new(comptime!(co_tile * px));
        #[unroll]
        for t in 0..co_tile * px {
            acc[t] = F::new(0.0);
        }
        let mut xv = Array::<F>::new(px);
        for c in 0..c_count {
            let x_plane = b * x.stride(0) + c * x.stride(1);
            let w_base = o0 * w_o + c * w_c;
            #[unroll]
            for i in 0..kh {
                let yy = input_coord(yo, i, stride_h, pad_h, h, transposed);
                if yy < h {
                    let x_row = x_plane + yy * x.stride(2);
                    #[unroll]
                    for j in 0..kw {
                        let mut any = false;
                        #[unroll]
                        for p in 0..px {
                            let xo = xb + p * blocks;
                            let xx = input_coord(xo, j, stride_w, pad_w, wi, transposed);
                            xv[p] = F::new(0.0);
                            if xx < wi && xo < wo {
                                xv[p] = x[x_row + xx * x.stride(3)];
                                any = true;
                            }
                        }
                        if any {
                            let w_tap = w_base + i * w_i + j * w_j;
                            #[unroll]
                            for t in 0..co_tile {
                                let wv = w[w_tap + t * w_o];
                                #[unroll]
                                for p in 0..px {
                                    acc[p * co_tile + t] += xv[p] * wv;
                                }
                            }
                        }
                    }
                }
            }
        }
        #[unroll]
        for p in 0..px {
            let xo = xb + p * blocks;
            if xo < wo {
                let y_base = b * y.stride(0) + o0 * y.stride(1) + yo * y.stride(2) + xo * y.stride(3);
                #[unroll]
                for t in 0..co_tile {
                    y[y_base + t * y.stride(1)] = acc[p * co_tile + t];
                }
            }
        }
    }
}
