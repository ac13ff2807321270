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
//! registers. A GEMM formulation needs an im2col copy or a split-K GEMM instead. A 1×1 layer
//! (stride 1, no padding) is a plain GEMM over the pixels and gets its own kernel,
//! [`wgrad_pointwise_kernel`], whose units own 4 × 4 blocks of (output, input) channels.

// Kernel code is expanded by cubecl's #[cube] macro, which takes a subset of Rust: `(a + b - 1) / b`
// rather than `div_ceil`, explicit casts of the built-in positions, and nested `if`s stay as written.
#![allow(clippy::manual_div_ceil, clippy::unnecessary_cast, clippy::collapsible_if)]
use cubecl::prelude::*;

/// Units per cube (8 warps of 32).
pub const UNITS: usize = 256;

/// About how many units a [`wgrad_partial_kernel`] launch should have by default (one wave on an
/// H200: 132 SMs × up to 2048 resident threads).
pub const TARGET_THREADS: usize = 1 << 18;

/// Most slabs a weight-gradient launch cuts the rows into: [`wgrad_sum_kernel`] adds this many
/// partial sums per weight serially.
pub const MAX_SLABS: usize = 2048;

/// Launch geometry of [`wgrad_partial_kernel`] for `groups` busy units per slab
/// (`c_in · c_out / ot`) and `rows = batch · Ho` output rows: (units per cube, cubes along x,
/// output rows per slab, slabs). A cube is only as wide as the groups need (rounded up to whole
/// warps), so that few groups (e.g. a 1→24 layer) do not leave most lanes idle; the rows are then
/// cut into more slabs to keep about `target_threads` units busy ([`TARGET_THREADS`] by default).
pub fn slab_geometry(groups: usize, rows: usize, target_threads: usize) -> (usize, usize, usize, usize) {
    let (cube_dim, cubes_x, want) = unit_grid(groups, target_threads);
    let rows_per_slab = rows.div_ceil(want).max(1);
    (cube_dim, cubes_x, rows_per_slab, rows.div_ceil(rows_per_slab).max(1))
}

/// For a weight-gradient launch whose units own `groups` channel blocks: (units per cube, whole
/// warps up to [`UNITS`]; cubes along x; how many slabs would give about `target_threads` units,
/// at most [`MAX_SLABS`]).
fn unit_grid(groups: usize, target_threads: usize) -> (usize, usize, usize) {
    let cube_dim = groups.next_multiple_of(32).clamp(32, UNITS);
    let cubes_x = groups.div_ceil(cube_dim).max(1);
    (cube_dim, cubes_x, (target_threads / (cubes_x * cube_dim)).clamp(1, MAX_SLABS))
}

/// Cube count and cube shape of a [`wgrad_sum_kernel`] launch over `n` weight-gradient entries.
pub fn wgrad_sum_launch(n: usize) -> (CubeCount, CubeDim) {
    (CubeCount::Static(n.div_ceil(SUM_LANES) as u32, 1, 1), CubeDim::new_2d(SUM_LANES as u32, SUM_ROWS as u32))
}

/// Floats of shared memory [`wgrad_partial_kernel`] stages output-gradient and input rows in
/// (32 KiB: lavapipe's limit, and six cubes of 160 units still fit on one H200 SM).
pub const WGRAD_SMEM: usize = 8192;

/// About how many values each unit of [`wgrad_partial_kernel`] loads before storing them to
/// shared memory (their loads are in flight together): a warp stages `⌊8 / spans⌋` rows of
/// `spans` 32-column spans at once (at least one row).
pub const WGRAD_STAGE_BATCH: usize = 8;

/// Most 32-column spans a staged row of [`wgrad_partial_kernel`] may have ([`wgrad_columns`]
/// cuts wider rows into chunks): 288 input columns, a 256-wide output row with its halo.
pub const WGRAD_MAX_SPANS: usize = 9;

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
    /// 32-column spans of a staged output-gradient row (`⌈cols / 32⌉`).
    pub dy_spans: usize,
    /// 32-column spans of a staged input row (`⌈input span / 32⌉`, at most [`WGRAD_MAX_SPANS`]).
    pub x_spans: usize,
}

/// Input columns a chunk of `cols` output columns reads at column stride `sw`, rounded up to whole
/// groups of `group` pixels (the last group of a chunk reads as far as a full one).
pub fn wgrad_input_span(cols: usize, group: usize, kw: usize, sw: usize) -> usize {
    (cols.div_ceil(group) * group - 1) * sw + kw
}

/// The widest column chunk (at most the row, `wo`) whose `c_out` output-gradient rows and
/// `c_in × kh` input rows fit in [`WGRAD_SMEM`] floats and whose input rows span at most
/// [`WGRAD_MAX_SPANS`] warp widths; `None` if not even one column fits.
pub fn wgrad_columns(c_in: usize, c_out: usize, [kh, kw]: [usize; 2], sw: usize, wo: usize, group: usize) -> Option<WgradColumns> {
    let layout = |cols: usize| {
        let span = wgrad_input_span(cols, group, kw, sw);
        let x_row = if kh % 2 == 1 { span | 1 } else { span };
        WgradColumns { cols, col_stride: cols | 1, x_row, dy_spans: cols.div_ceil(32), x_spans: span.div_ceil(32) }
    };
    let floats = |l: &WgradColumns| c_out * l.col_stride + c_in * kh * l.x_row;
    (1..=wo.max(1)).rev().map(layout).find(|l| floats(l) <= WGRAD_SMEM && l.x_spans <= WGRAD_MAX_SPANS)
}

/// Most output channels one unit of [`wgrad_partial_kernel`] owns by default.
pub const WGRAD_MAX_OT: usize = 4;

/// Output channels one unit of [`wgrad_partial_kernel`] owns for a `c_in → c_out` layer: the
/// largest divisor of `c_out` not above `max_ot` (each loaded input value then feeds up to
/// `max_ot`·k² accumulators) that still leaves a warp's worth of units (`c_in · c_out / ot ≥ 32`),
/// else 1.
pub fn wgrad_channel_tile(c_in: usize, c_out: usize, max_ot: usize) -> usize {
    (1..=max_ot.clamp(1, 8).min(c_out.max(1))).rev().find(|t| c_out.is_multiple_of(*t) && c_in * c_out / t >= 32).unwrap_or(1)
}

/// Partial sums of `dW[o, c, i, j] = Σ dy[b, o, y, x] · x[b, c, s_h·y + i − p_h, s_w·x + j − p_w]`
/// over one slab of output rows (b, y) per cube row; unit `q` of the cube grid owns input channel
/// `c = q div (O/ot)` and the `ot` output channels from `o0 = ot · (q mod (O/ot))` (`ot` from
/// [`wgrad_channel_tile`]).
///
/// Per output row and chunk of `cols` columns ([`wgrad_columns`]), the cube stages in shared
/// memory the chunk's output gradient (all O planes, row stride `col_stride`) and the input rows
/// it meets (all C channels × kh tap rows, row stride `x_row`, zeros outside the input), each warp
/// taking a few staged rows at a time with about [`WGRAD_STAGE_BATCH`] coalesced loads in flight
/// per lane (`dy_spans`, `x_spans`: the rows' 32-column spans, [`wgrad_columns`]). Then a unit
/// takes `group` neighbouring pixels at once: it reads their kh × ((group − 1)·s_w + kw) input
/// values (the windows overlap) and `ot` gradient values per pixel from shared memory and
/// accumulates the ot·kh·kw products in registers. Why the input is staged: the lanes of a warp
/// hold about six input channels, so each read of `x` straight from global memory touched six
/// cache lines; from shared memory (odd strides) it is one conflict-free read.
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
    #[comptime] dy_spans: usize,
    #[comptime] x_spans: usize,
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
    // Cubes are whole warps (`slab_geometry`).
    let warps = units / 32;
    let warp = tid / 32;
    let lane = tid % 32;
    let mut staged = SharedMemory::<F>::new(WGRAD_SMEM);
    let x_off = o_count * col_stride;
    let wide = comptime!((group - 1) * sw + kw);
    let mut acc = Array::<F>::new(comptime!(ot * kh * kw));
    let mut win = Array::<F>::new(comptime!(kh * ((group - 1) * sw + kw)));
    let mut d = Array::<F>::new(ot);
    // Staging: a warp takes `dy_rows` output-gradient rows (`x_rows` input rows) at once, each
    // lane one value per 32-column span of each, all loads in flight together.
    let dy_rows = comptime!((WGRAD_STAGE_BATCH / dy_spans).max(1));
    let x_rows = comptime!((WGRAD_STAGE_BATCH / x_spans).max(1));
    let mut loaded = Array::<F>::new(comptime!((dy_rows * dy_spans).max(x_rows * x_spans)));
    // Strides read once: inside the loops each read is a load from the launch's metadata.
    let (dy_s0, dy_s1, dy_s2, dy_s3) = (dy.stride(0), dy.stride(1), dy.stride(2), dy.stride(3));
    let (x_s0, x_s1, x_s2, x_s3) = (x.stride(0), x.stride(1), x.stride(2), x.stride(3));
    let x_rows_total = c_count * kh;
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
        let dy_row = b * dy_s0 + y * dy_s2;
        for chunk in 0..chunks {
            let x0 = chunk * cols;
            let n = cubecl::prelude::select(x0 + cols < wo, cols, wo - x0);
            // Input columns the chunk's groups read (padded coordinates from x0·s_w).
            let xn = ((n + group - 1) / group * group - 1) * sw + kw;
            sync_cube();
            // Warps take whole rows, lanes the columns: no per-element division by run-time
            // widths (a flat layout did that several times per value, most of the kernel's
            // instructions on the H200), and no load slots past a narrow chunk's columns (a fixed
            // batch of 8 × 32 columns per row left three quarters of them idle at 64–96 columns).
            for o_first in range_stepped(warp * dy_rows, o_count, warps * dy_rows) {
                #[unroll]
                for u in 0..dy_rows * dy_spans {
                    let o = o_first + u / dy_spans;
                    let col = lane + 32 * (u % dy_spans);
                    loaded[u] = F::new(0.0);
                    if o < o_count && col < n {
                        loaded[u] = dy[dy_row + o * dy_s1 + (x0 + col) * dy_s3];
                    }
                }
                #[unroll]
                for u in 0..dy_rows * dy_spans {
                    let o = o_first + u / dy_spans;
                    let col = lane + 32 * (u % dy_spans);
                    if o < o_count && col < n {
                        staged[o * col_stride + col] = loaded[u];
                    }
                }
            }
            // Input rows (channel ci, tap row i) in padded coordinates from (y·s_h, x0·s_w),
            // shifted by the padding to stay unsigned; zeros outside the input.
            for row_first in range_stepped(warp * x_rows, x_rows_total, warps * x_rows) {
                #[unroll]
                for u in 0..x_rows * x_spans {
                    let row = row_first + u / x_spans;
                    let col = lane + 32 * (u % x_spans);
                    let yy = y * stride_h + row % kh;
                    let xx = x0 * sw + col;
                    loaded[u] = F::new(0.0);
                    if row < x_rows_total && col < xn && yy >= pad_h && yy < h + pad_h && xx >= pad_w && xx < w + pad_w {
                        loaded[u] = x[b * x_s0 + (row / kh) * x_s1 + (yy - pad_h) * x_s2 + (xx - pad_w) * x_s3];
                    }
                }
                #[unroll]
                for u in 0..x_rows * x_spans {
                    let row = row_first + u / x_spans;
                    let col = lane + 32 * (u % x_spans);
                    if row < x_rows_total && col < xn {
                        staged[x_off + row * x_row + col] = loaded[u];
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

/// Geometry of [`wgrad_pointwise_kernel`] (see [`wgrad_pointwise_geometry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointwiseGeometry {
    /// Row stride, in vectors of four, of the staged output gradient (`⌈c_out/4⌉`, made odd).
    pub ov: usize,
    /// Row stride, in vectors of four, of the staged input (`⌈c_in/4⌉`, made odd).
    pub cv: usize,
    /// Pixels staged per round.
    pub chunk: usize,
    /// Units per cube (whole warps).
    pub cube_dim: usize,
    /// Cubes along x (channel tiles; 1 up to 128 × 128 channels).
    pub cubes_x: usize,
    /// Pixels of one image per slab, a multiple of `chunk`.
    pub pixels_per_slab: usize,
    /// Slabs per image (a slab never spans two images).
    pub slabs_per_image: usize,
    /// Slabs in all (`batch · slabs_per_image`: partial sums per weight).
    pub slabs: usize,
}

/// Most pixels [`wgrad_pointwise_kernel`] stages per round: smaller rounds leave more cubes
/// resident per SM, and this kernel is bound by how many loads are in flight.
pub const POINTWISE_MAX_CHUNK: usize = 64;

/// The geometry of a `c_in → c_out` 1×1 weight gradient over `batch` images of `hw` pixels,
/// aiming at `target_threads` units with `smem_floats` floats of shared memory per cube; `None`
/// when not even 8 pixels' channels fit (thousands of channels).
pub fn wgrad_pointwise_geometry(c_in: usize, c_out: usize, batch: usize, hw: usize, target_threads: usize, smem_floats: usize) -> Option<PointwiseGeometry> {
    let (og, cg) = (c_out.div_ceil(4), c_in.div_ceil(4));
    let (ov, cv) = (og | 1, cg | 1);
    let chunk = (smem_floats / (4 * (ov + cv))).min(POINTWISE_MAX_CHUNK) / 8 * 8;
    if chunk == 0 || batch == 0 || hw == 0 {
        return None;
    }
    let (cube_dim, cubes_x, want) = unit_grid(og * cg, target_threads);
    let want = want.div_ceil(batch);
    let pixels_per_slab = hw.div_ceil(want).next_multiple_of(chunk);
    let slabs_per_image = hw.div_ceil(pixels_per_slab);
    Some(PointwiseGeometry { ov, cv, chunk, cube_dim, cubes_x, pixels_per_slab, slabs_per_image, slabs: batch * slabs_per_image })
}

/// Floats of shared memory [`wgrad_pointwise_kernel`] stages pixels in on CUDA (44 KiB, like the
/// tiled kernel; launchers pass less where the device allows less).
pub const POINTWISE_SMEM: usize = 11 * 1024;

/// Vectors of four each unit of [`wgrad_pointwise_kernel`] loads at once while staging.
const POINTWISE_STAGE_BATCH: usize = 2;

/// Partial sums of a 1×1, stride-1, unpadded convolution's weight gradient,
/// `dW[o, c] = Σ_(b, y, x) dy[b, o, y, x] · x[b, c, y, x]`, over one slab of `pixels_per_slab`
/// pixels of one image per cube row (row `b · slabs_per_image + s`).
///
/// Unit `q` owns the 4 × 4 block of output channels `4·(q mod ⌈O/4⌉) ..` and input channels
/// `4·(q div ⌈O/4⌉) ..`. Per round the cube stages `chunk` pixels of the output gradient and the
/// input as `[pixel][channel]` vectors of four (odd row strides, so the distinct vectors a warp
/// reads fall in distinct banks); then per pixel a unit reads one vector of each and does 16
/// products. Why not [`wgrad_partial_kernel`] with a 1×1 window: its unit owns one input channel,
/// so each pixel cost as many loads as products (measured about 15× the time of reading its
/// data once, for an FNO layer at 256²).
#[cube(launch_unchecked)]
pub fn wgrad_pointwise_kernel<F: Float>(
    x: &Tensor<F>,
    dy: &Tensor<F>,
    partial: &mut Tensor<F>,
    pixels_per_slab: usize,
    slabs_per_image: usize,
    #[comptime] chunk: usize,
    #[comptime] ov: usize,
    #[comptime] cv: usize,
) {
    let o_count = dy.shape(1);
    let c_count = x.shape(1);
    let hw = dy.shape(2) * dy.shape(3);
    let og_count = (o_count + 3) / 4;
    let cg_count = (c_count + 3) / 4;
    let q = CUBE_POS_X as usize * CUBE_DIM_X as usize + UNIT_POS_X as usize;
    // Units past the last block still help stage (every unit must reach each sync).
    let active = q < og_count * cg_count;
    let og = q % og_count;
    let cg = q / og_count;
    let mut ds = SharedMemory::<Vector<F, Const<4>>>::new(comptime!(chunk * ov));
    let mut xs = SharedMemory::<Vector<F, Const<4>>>::new(comptime!(chunk * cv));
    let mut acc = Array::<F>::new(16usize);
    #[unroll]
    for t in 0..16usize {
        acc[t] = F::new(0.0);
    }
    let b = CUBE_POS_Y as usize / slabs_per_image;
    let p0 = (CUBE_POS_Y as usize % slabs_per_image) * pixels_per_slab;
    let p1 = cubecl::prelude::select(p0 + pixels_per_slab < hw, p0 + pixels_per_slab, hw);
    for r0 in range_stepped(p0, p1, chunk) {
        let n = cubecl::prelude::select(r0 + chunk < p1, chunk, p1 - r0);
        sync_cube();
        stage_pixel_vectors::<F>(dy, &mut ds, b, r0, n, chunk, ov);
        stage_pixel_vectors::<F>(x, &mut xs, b, r0, n, chunk, cv);
        sync_cube();
        if active {
            for p in 0..n {
                let dv = ds[p * ov + og];
                let xv = xs[p * cv + cg];
                #[unroll]
                for u in 0..4usize {
                    #[unroll]
                    for v in 0..4usize {
                        acc[u * 4 + v] += dv[u] * xv[v];
                    }
                }
            }
        }
    }
    if active {
        let base = CUBE_POS_Y as usize * o_count * c_count;
        #[unroll]
        for u in 0..4usize {
            #[unroll]
            for v in 0..4usize {
                let o = og * 4 + u;
                let c = cg * 4 + v;
                if o < o_count && c < c_count {
                    partial[base + o * c_count + c] = acc[u * 4 + v];
                }
            }
        }
    }
}

/// Stages pixels `r0 .. r0 + chunk` of image `b` of `t` `[batch, C, H, W]` (the first `n` of them
/// real, zeros after) into `smem` as `[pixel][group of four channels]` vectors, row stride
/// `stride_v` vectors: one warp per channel group, its lanes along the pixels (coalesced loads,
/// [`POINTWISE_STAGE_BATCH`] vectors in flight per lane). Cubes are whole warps.
#[cube]
fn stage_pixel_vectors<F: Float>(
    t: &Tensor<F>,
    smem: &mut SharedMemory<Vector<F, Const<4>>>,
    b: usize,
    r0: usize,
    n: usize,
    #[comptime] chunk: usize,
    #[comptime] stride_v: usize,
) {
    let channels = t.shape(1);
    let wd = t.shape(3);
    let warps = CUBE_DIM_X as usize / 32;
    let warp = UNIT_POS_X as usize / 32;
    let lane = UNIT_POS_X as usize % 32;
    for g in range_stepped(warp, (channels + 3) / 4, warps) {
        for pb in range_stepped(lane, chunk, comptime!(32 * POINTWISE_STAGE_BATCH)) {
            #[unroll]
            for u in 0..POINTWISE_STAGE_BATCH {
                let p = pb + u * 32;
                let mut v = Vector::<F, Const<4>>::new(F::new(0.0));
                if p < n {
                    let pix = r0 + p;
                    let base = b * t.stride(0) + (pix / wd) * t.stride(2) + (pix % wd) * t.stride(3);
                    #[unroll]
                    for l in 0..4usize {
                        if g * 4 + l < channels {
                            v[l] = t[base + (g * 4 + l) * t.stride(1)];
                        }
                    }
                }
                if p < chunk {
                    smem[p * stride_v + g] = v;
                }
            }
        }
    }
}

/// Weight-gradient entries one cube of [`wgrad_sum_kernel`] adds up (one per lane of a warp).
pub const SUM_LANES: usize = 32;

/// Unit rows of a [`wgrad_sum_kernel`] cube: row `r` adds slabs `r, r + SUM_ROWS, …`.
pub const SUM_ROWS: usize = 32;

/// Slabs each unit of [`wgrad_sum_kernel`] loads at once (independent running sums).
pub const SUM_IN_FLIGHT: usize = 4;

/// `out[k] = Σ_s partial[s·n + k]` for the `n = out.len()` weight-gradient entries. Cube `cx`
/// owns entries `32·cx + lane`; its unit row `r` adds slabs `r + SUM_ROWS·m` in
/// [`SUM_IN_FLIGHT`] running sums, and row 0 then adds the rows' sums in order (a fixed order:
/// the same bits on every run). Why not one unit per entry, as before: a 24→24 3×3 layer has
/// n = 5184 entries and about a thousand slabs, which left about one warp per SM waiting on a
/// thousand loads in turn (about a fifth of a 256² MgNO step, summed over its layers).
#[cube(launch_unchecked)]
pub fn wgrad_sum_kernel<F: Float>(partial: &Tensor<F>, out: &mut Tensor<F>, slabs: usize) {
    let n = out.len();
    let lane = UNIT_POS_X as usize;
    let row = UNIT_POS_Y as usize;
    let k = CUBE_POS_X as usize * SUM_LANES + lane;
    let mut row_sums = SharedMemory::<F>::new(SUM_LANES * SUM_ROWS);
    let mut acc = Array::<F>::new(SUM_IN_FLIGHT);
    #[unroll]
    for u in 0..SUM_IN_FLIGHT {
        acc[u] = F::new(0.0);
    }
    if k < n {
        for s0 in range_stepped(row, slabs, SUM_ROWS * SUM_IN_FLIGHT) {
            #[unroll]
            for u in 0..SUM_IN_FLIGHT {
                let s = s0 + u * SUM_ROWS;
                if s < slabs {
                    acc[u] += partial[s * n + k];
                }
            }
        }
    }
    let mut mine = F::new(0.0);
    #[unroll]
    for u in 0..SUM_IN_FLIGHT {
        mine += acc[u];
    }
    row_sums[row * SUM_LANES + lane] = mine;
    sync_cube();
    if row == 0 && k < n {
        let mut total = F::new(0.0);
        for r in 0..SUM_ROWS {
            total += row_sums[r * SUM_LANES + lane];
        }
        out[k] = total;
    }
}
