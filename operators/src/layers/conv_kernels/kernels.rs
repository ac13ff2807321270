//! The cubecl kernels of the dedicated convolution weight gradient (runtime-generic: the CUDA
//! backend launches them through `super`, and `bench/operators/conv_kernel_check` runs this
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

/// About how many units a [`wgrad_partial_kernel`] launch should have (one wave on an H200:
/// 132 SMs × up to 2048 resident threads).
pub const TARGET_THREADS: usize = 1 << 18;

/// Most slabs a weight-gradient launch cuts the rows into: [`wgrad_sum_kernel`] adds this many
/// partial sums per weight serially.
pub const MAX_SLABS: usize = 2048;

/// Launch geometry of [`wgrad_partial_kernel`] for `groups` busy units per slab
/// (`c_in · c_out / ot`) and `rows = batch · Ho` output rows: (units per cube, cubes along x,
/// output rows per slab, slabs). A cube is only as wide as the groups need (rounded up to whole
/// warps), so that few groups (e.g. a 1→24 layer) do not leave most lanes idle; the rows are then
/// cut into more slabs to keep [`TARGET_THREADS`] units busy.
pub fn slab_geometry(groups: usize, rows: usize) -> (usize, usize, usize, usize) {
    let cube_dim = groups.next_multiple_of(32).clamp(32, UNITS);
    let cubes_x = groups.div_ceil(cube_dim).max(1);
    let want = (TARGET_THREADS / (cubes_x * cube_dim)).clamp(1, MAX_SLABS);
    let rows_per_slab = rows.div_ceil(want).max(1);
    (cube_dim, cubes_x, rows_per_slab, rows.div_ceil(rows_per_slab).max(1))
}

/// Floats of shared memory [`wgrad_partial_kernel`] stages output-gradient rows in (16 KiB, so
/// that eight cubes of 256 units fit on one H200 SM).
pub const WGRAD_SMEM: usize = 4096;

/// Column chunk of [`wgrad_partial_kernel`] for `c_out` output-gradient planes of `wo` columns,
/// and its row stride in shared memory: the stride is odd, so the lanes of a warp, which read
/// one column of different planes, hit different banks. `None` if not even one column of all
/// planes fits ([`WGRAD_SMEM`] planes or more).
pub fn wgrad_columns(c_out: usize, wo: usize) -> Option<(usize, usize)> {
    let max_stride = WGRAD_SMEM / c_out.max(1);
    let cols = wo.max(1).min(max_stride);
    if cols == 0 {
        return None;
    }
    if cols % 2 == 1 {
        Some((cols, cols))
    } else if cols < max_stride {
        Some((cols, cols + 1))
    } else if cols > 1 {
        Some((cols - 1, cols - 1))
    } else {
        None
    }
}

/// Output channels one unit of [`wgrad_partial_kernel`] owns for a `c_in → c_out` layer: the
/// largest divisor of `c_out` not above 4 (each loaded input value then feeds up to 4·k²
/// accumulators) that still leaves a warp's worth of units (`c_in · c_out / ot ≥ 32`), else 1.
pub fn wgrad_channel_tile(c_in: usize, c_out: usize) -> usize {
    (1..=4.min(c_out.max(1))).rev().find(|t| c_out.is_multiple_of(*t) && c_in * c_out / t >= 32).unwrap_or(1)
}

/// Partial sums of `dW[o, c, i, j] = Σ dy[b, o, y, x] · x[b, c, s·y + i − p, s·x + j − p]` over
/// one slab of output rows (b, y) per cube row; unit `q` of the cube grid owns input channel
/// `c = q div (O/ot)` and the `ot` output channels from `o0 = ot · (q mod (O/ot))` (`ot` from
/// [`wgrad_channel_tile`]), so neighbouring lanes read the same few input planes.
///
/// Per output row: the row's validity and offset for each tap row `i` are computed once; the
/// output-gradient row is staged in shared memory, `cols` columns of all O planes at a time (row
/// stride `col_stride`, from [`wgrad_columns`]), with coalesced loads (read straight from global
/// memory, the lanes' different planes made every such load 24 separate transactions). With
/// `unit_stride` (column stride 1, checked by the launcher) the kh × kw input values of a pixel
/// are a window that slides one column per pixel: kh new loads per pixel instead of kh·kw.
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
    cols: usize,
    col_stride: usize,
    #[comptime] kh: usize,
    #[comptime] kw: usize,
    #[comptime] ot: usize,
    #[comptime] unit_stride: bool,
) {
    let c_count = x.shape(1);
    let o_count = dy.shape(1);
    let pairs = c_count * o_count;
    let groups = o_count / ot;
    let q = CUBE_POS_X as usize * CUBE_DIM_X as usize + UNIT_POS_X as usize;
    // Units past the last group still help stage rows (every unit must reach each sync).
    let active = q < c_count * groups;
    let c = q / groups;
    let o0 = (q % groups) * ot;
    let h = x.shape(2);
    let w = x.shape(3);
    let xs3 = x.stride(3);
    let ho = dy.shape(2);
    let wo = dy.shape(3);
    let rows = dy.shape(0) * ho;
    let mut staged = SharedMemory::<F>::new(WGRAD_SMEM);
    let mut acc = Array::<F>::new(comptime!(ot * kh * kw));
    let mut win = Array::<F>::new(comptime!(kh * kw));
    let mut d = Array::<F>::new(ot);
    let mut row_at = Array::<usize>::new(kh);
    let mut row_ok = Array::<u32>::new(kh);
    #[unroll]
    for t in 0..ot * kh * kw {
        acc[t] = F::new(0.0);
    }
    let r0 = CUBE_POS_Y as usize * rows_per_slab;
    let r1 = cubecl::prelude::select(r0 + rows_per_slab < rows, r0 + rows_per_slab, rows);
    let chunks = (wo + cols - 1) / cols;
    for r in r0..r1 {
        let b = r / ho;
        let y = r % ho;
        let dy_row = b * dy.stride(0) + y * dy.stride(2);
        let x_plane = b * x.stride(0) + c * x.stride(1);
        #[unroll]
        for i in 0..kh {
            // Row of the unpadded input, shifted by `pad_h` so it stays unsigned.
            let yy = y * stride_h + i;
            row_ok[i] = u32::cast_from(yy >= pad_h && yy < h + pad_h);
            row_at[i] = x_plane + (yy - pad_h) * x.stride(2);
        }
        for chunk in 0..chunks {
            let x0 = chunk * cols;
            let n = cubecl::prelude::select(x0 + cols < wo, cols, wo - x0);
            sync_cube();
            for e in range_stepped(UNIT_POS_X as usize, o_count * n, CUBE_DIM_X as usize) {
                let oo = e / n;
                let xx = e % n;
                staged[oo * col_stride + xx] = dy[dy_row + oo * dy.stride(1) + (x0 + xx) * dy.stride(3)];
            }
            sync_cube();
            if active {
                if unit_stride {
                    // The window of the chunk's first pixel, all but its last column.
                    #[unroll]
                    for i in 0..kh {
                        #[unroll]
                        for j in 0..kw - 1 {
                            let t = x0 + j;
                            win[i * kw + j] = F::new(0.0);
                            if row_ok[i] == 1 && t >= pad_w && t < w + pad_w {
                                win[i * kw + j] = x[row_at[i] + (t - pad_w) * xs3];
                            }
                        }
                    }
                    for xc in 0..n {
                        #[unroll]
                        for u in 0..ot {
                            d[u] = staged[(o0 + u) * col_stride + xc];
                        }
                        let t = x0 + xc + kw - 1;
                        let col_ok = t >= pad_w && t < w + pad_w;
                        #[unroll]
                        for i in 0..kh {
                            win[i * kw + kw - 1] = F::new(0.0);
                            if row_ok[i] == 1 && col_ok {
                                win[i * kw + kw - 1] = x[row_at[i] + (t - pad_w) * xs3];
                            }
                            #[unroll]
                            for j in 0..kw {
                                #[unroll]
                                for u in 0..ot {
                                    acc[(u * kh + i) * kw + j] += d[u] * win[i * kw + j];
                                }
                            }
                            #[unroll]
                            for j in 0..kw - 1 {
                                win[i * kw + j] = win[i * kw + j + 1];
                            }
                        }
                    }
                } else {
                    for xc in 0..n {
                        #[unroll]
                        for u in 0..ot {
                            d[u] = staged[(o0 + u) * col_stride + xc];
                        }
                        let xo = x0 + xc;
                        #[unroll]
                        for i in 0..kh {
                            if row_ok[i] == 1 {
                                #[unroll]
                                for j in 0..kw {
                                    let xx = xo * stride_w + j;
                                    if xx >= pad_w && xx < w + pad_w {
                                        let v = x[row_at[i] + (xx - pad_w) * xs3];
                                        #[unroll]
                                        for u in 0..ot {
                                            acc[(u * kh + i) * kw + j] += d[u] * v;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if active {
        #[unroll]
        for u in 0..ot {
            let base = CUBE_POS_Y as usize * pairs * (kh * kw) + ((o0 + u) * c_count + c) * (kh * kw);
            #[unroll]
            for t in 0..kh * kw {
                partial[base + t] = acc[u * kh * kw + t];
            }
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
    let px = if pixels >= 4 * TARGET_UNITS { 4 } else if pixels >= 2 * TARGET_UNITS { 2 } else { 1 };
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
