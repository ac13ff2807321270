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

/// Floats of shared memory [`wgrad_partial_kernel`] stages output-gradient and input rows in
/// (32 KiB: lavapipe's limit, and six cubes of 160 units still fit on one H200 SM).
pub const WGRAD_SMEM: usize = 8192;

/// Output-gradient values each unit of [`wgrad_partial_kernel`] loads before storing them to
/// shared memory (their loads are in flight together).
pub const WGRAD_STAGE_BATCH: usize = 4;

/// Neighbouring pixels a unit of [`wgrad_partial_kernel`] takes at once.
pub const WGRAD_GROUP: usize = 4;

/// How [`wgrad_partial_kernel`] cuts output rows into column chunks and lays them out in shared
/// memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WgradColumns {
    /// Output columns per chunk.
    pub cols: usize,
    /// Row stride of the staged output gradient (odd: the lanes of a warp read one column of
    /// different planes, and an odd stride puts those in different banks).
    pub col_stride: usize,
    /// Row stride of the staged input rows (at least the columns a chunk reads, odd where the
    /// kernel height is: lanes of different input channels then hit different banks).
    pub x_row: usize,
}

/// Input columns a chunk of `cols` output columns reads at column stride `sw`, rounded up to whole
/// groups of `group` pixels (the last group of a chunk reads as far as a full one).
pub fn wgrad_input_span(cols: usize, group: usize, kw: usize, sw: usize) -> usize {
    (cols.div_ceil(group) * group - 1) * sw + kw
}

/// The widest column chunk (at most the row, `wo`) whose `c_out` output-gradient rows and
/// `c_in × kh` input rows fit in [`WGRAD_SMEM`] floats; `None` if not even one column does.
pub fn wgrad_columns(c_in: usize, c_out: usize, [kh, kw]: [usize; 2], sw: usize, wo: usize, group: usize) -> Option<WgradColumns> {
    let layout = |cols: usize| {
        let x_row = wgrad_input_span(cols, group, kw, sw);
        let x_row = if kh % 2 == 1 { x_row | 1 } else { x_row };
        WgradColumns { cols, col_stride: cols | 1, x_row }
    };
    let floats = |l: &WgradColumns| c_out * l.col_stride + c_in * kh * l.x_row;
    (1..=wo.max(1)).rev().map(layout).find(|l| floats(l) <= WGRAD_SMEM)
}

/// Output channels one unit of [`wgrad_partial_kernel`] owns for a `c_in → c_out` layer: the
/// largest divisor of `c_out` not above 4 (each loaded input value then feeds up to 4·k²
/// accumulators) that still leaves a warp's worth of units (`c_in · c_out / ot ≥ 32`), else 1.
pub fn wgrad_channel_tile(c_in: usize, c_out: usize) -> usize {
    (1..=4.min(c_out.max(1))).rev().find(|t| c_out.is_multiple_of(*t) && c_in * c_out / t >= 32).unwrap_or(1)
}

/// Partial sums of `dW[o, c, i, j] = Σ dy[b, o, y, x] · x[b, c, s_h·y + i − p_h, s_w·x + j − p_w]`
/// over one slab of output rows (b, y) per cube row; unit `q` of the cube grid owns input channel
/// `c = q div (O/ot)` and the `ot` output channels from `o0 = ot · (q mod (O/ot))` (`ot` from
/// [`wgrad_channel_tile`]).
///
/// Per output row and chunk of `cols` columns ([`wgrad_columns`]), the cube stages in shared
/// memory, with coalesced batched loads, the chunk's output gradient (all O planes, row stride
/// `col_stride`) and the input rows it meets (all C channels × kh tap rows, row stride `x_row`,
/// zeros outside the input). Then a unit takes `group` neighbouring pixels at once: it reads
/// their kh × ((group − 1)·s_w + kw) input values (the windows overlap) and `ot` gradient values
/// per pixel from shared memory and accumulates the ot·kh·kw products in registers. Why the input
/// is staged: the lanes of a warp hold about six input channels, so each read of `x` straight
/// from global memory touched six cache lines; from shared memory (odd strides) it is one
/// conflict-free read.
#[cube(launch_unchecked)]
pub fn wgrad_partial_kernel<F: Float>(
    x: &Tensor<F>,
    dy: &Tensor<F>,
    partial: &mut Tensor<F>,
    rows_per_slab: usize,
    stride_h: usize,
    pad_h: usize,
    pad_w: usize,
    cols: usize,
    col_stride: usize,
    x_row: usize,
    #[comptime] kh: usize,
    #[comptime] kw: usize,
    #[comptime] ot: usize,
    #[comptime] sw: usize,
    #[comptime] group: usize,
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
    let ho = dy.shape(2);
    let wo = dy.shape(3);
    let rows = dy.shape(0) * ho;
    let units = CUBE_DIM_X as usize;
    let tid = UNIT_POS_X as usize;
    let mut staged = SharedMemory::<F>::new(WGRAD_SMEM);
    let x_off = o_count * col_stride;
    let wide = comptime!((group - 1) * sw + kw);
    let mut acc = Array::<F>::new(comptime!(ot * kh * kw));
    let mut win = Array::<F>::new(comptime!(kh * ((group - 1) * sw + kw)));
    let mut d = Array::<F>::new(ot);
    let mut loaded = Array::<F>::new(WGRAD_STAGE_BATCH);
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
        for chunk in 0..chunks {
            let x0 = chunk * cols;
            let n = cubecl::prelude::select(x0 + cols < wo, cols, wo - x0);
            // Input columns the chunk's groups read (padded coordinates from x0·s_w).
            let xn = ((n + group - 1) / group * group - 1) * sw + kw;
            sync_cube();
            let total = o_count * n;
            for e0 in range_stepped(tid, total, units * WGRAD_STAGE_BATCH) {
                #[unroll]
                for u in 0..WGRAD_STAGE_BATCH {
                    let e = e0 + u * units;
                    loaded[u] = F::new(0.0);
                    if e < total {
                        loaded[u] = dy[dy_row + (e / n) * dy.stride(1) + (x0 + e % n) * dy.stride(3)];
                    }
                }
                #[unroll]
                for u in 0..WGRAD_STAGE_BATCH {
                    let e = e0 + u * units;
                    if e < total {
                        staged[(e / n) * col_stride + e % n] = loaded[u];
                    }
                }
            }
            let per_channel = kh * xn;
            let total_x = c_count * per_channel;
            for e0 in range_stepped(tid, total_x, units * WGRAD_STAGE_BATCH) {
                #[unroll]
                for u in 0..WGRAD_STAGE_BATCH {
                    let e = e0 + u * units;
                    let ci = e / per_channel;
                    let rest = e % per_channel;
                    // Row and column of the padded input (shifted by the padding: unsigned).
                    let yy = y * stride_h + rest / xn;
                    let xx = x0 * sw + rest % xn;
                    loaded[u] = F::new(0.0);
                    if e < total_x && yy >= pad_h && yy < h + pad_h && xx >= pad_w && xx < w + pad_w {
                        loaded[u] = x[b * x.stride(0) + ci * x.stride(1) + (yy - pad_h) * x.stride(2) + (xx - pad_w) * x.stride(3)];
                    }
                }
                #[unroll]
                for u in 0..WGRAD_STAGE_BATCH {
                    let e = e0 + u * units;
                    if e < total_x {
                        let ci = e / per_channel;
                        let rest = e % per_channel;
                        staged[x_off + (ci * kh + rest / xn) * x_row + rest % xn] = loaded[u];
                    }
                }
            }
            sync_cube();
            if active {
                let x_base = x_off + c * kh * x_row;
                for g0 in range_stepped(0, n, group) {
                    #[unroll]
                    for i in 0..kh {
                        #[unroll]
                        for jj in 0..wide {
                            win[i * wide + jj] = staged[x_base + i * x_row + g0 * sw + jj];
                        }
                    }
                    #[unroll]
                    for gp in 0..group {
                        if g0 + gp < n {
                            #[unroll]
                            for u in 0..ot {
                                d[u] = staged[(o0 + u) * col_stride + g0 + gp];
                            }
                            #[unroll]
                            for i in 0..kh {
                                #[unroll]
                                for j in 0..kw {
                                    #[unroll]
                                    for u in 0..ot {
                                        acc[(u * kh + i) * kw + j] += d[u] * win[i * wide + gp * sw + j];
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
