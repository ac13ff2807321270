//! A shared-memory tiled direct convolution (runtime-generic cubecl, like `gather.rs`; the
//! CUDA backend launches it through `super`, `bench/operators/conv_kernel_check` runs this same
//! file on wgpu against an f64 reference).
//!
//! Why a second direct kernel: the gather kernel of `gather.rs` reads every input value and
//! every weight from global memory inside its inner loop and recomputes the tap's coordinates and
//! bounds there, so it issues about one load and several integer instructions per four FMAs; on
//! the H200 that holds it near 11 TFLOP/s (3× cuDNN's time). Here a cube first stages a zero-padded
//! input tile and the weights of a few input channels in shared memory, after which the inner
//! loop is pure arithmetic on shared-memory reads: per tap row a unit reads a column of input
//! values once (reused by its `py` output rows and the `kh` tap rows) and four weights per
//! 128-bit read (a broadcast: all lanes of a warp read the same weights).
//!
//! Scope: square kernels, equal strides.
//! - Convolutions at stride 1 or 2 (MgNO's smoothers and restrictions, the input gradient of its
//!   prolongation).
//! - Transposed convolutions at stride `S` (MgNO's prolongation, the input gradients of its
//!   smoothers and restrictions), by phases: the outputs `Y = S·m + r` of one phase `r` read
//!   `x[m + ⌊(r + p)/S⌋ − t]` through the taps `i = (r + p) mod S + S·t`, `t < T = ⌈k/S⌉`: a
//!   stride-1 convolution over `m` with a flipped `T`-tap sub-kernel and padding
//!   `T − 1 − ⌊(r + p)/S⌋` (taps `i ≥ k` get zero weights). At `S = 1` this is the plain
//!   flipped kernel with padding `k − 1 − p`. Each cube computes one phase.

// Kernel code is expanded by cubecl's #[cube] macro, which takes a subset of Rust: `(a + b - 1) / b`
// rather than `div_ceil`, explicit casts of the built-in positions, and nested `if`s stay as written.
#![allow(clippy::manual_div_ceil, clippy::unnecessary_cast, clippy::collapsible_if)]
use cubecl::prelude::*;

/// Output columns of a tile: one warp spans a tile row, so its lanes read consecutive
/// shared-memory words (no bank conflicts at stride 1) and write consecutive output columns.
pub const TILE_W: usize = 32;

/// Warps per cube by default; warp `r` owns output rows `r·py .. r·py + py` of the tile.
pub const TILE_WARPS: usize = 8;

/// Floats of shared memory one cube may use on CUDA (44 KiB: below the 48 KiB of static shared
/// memory a CUDA block may declare, so that no opt-in is needed). Other runtimes pass their own
/// limit to [`tiled_conv_geometry`] (Mesa's lavapipe allows 32 KiB).
pub const TILED_SMEM: usize = 11 * 1024;

/// Input values each unit loads before it stores them while staging a tile: the loads of one
/// batch are in flight together, so a round waits for about `⌈values per unit / batch⌉` memory
/// latencies instead of one per value.
pub const STAGE_BATCH: usize = 8;

/// At least this many units keep every SM of an H200 (132) busy with two cubes of 8 warps
/// (264 cubes of 256 units; twice as many cubes of 4 warps).
pub const MIN_UNITS: usize = 264 * 256;

/// Most accumulators (`py · co_tile`) one unit keeps in registers: more spills on the H200.
pub const MAX_ACCUMULATORS: usize = 96;

/// Tuning limits of [`tiled_conv_geometry`]: the defaults are [`TiledLimits::CUDA`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TiledLimits {
    /// Floats of shared memory a cube may use.
    pub smem_floats: usize,
    /// Most output rows per unit (1 to 4).
    pub max_py: usize,
    /// Warps per cube (1 to 8): the tile is `32 × warps·py` outputs.
    pub warps: usize,
    /// Narrowest output (of a phase) the kernel takes: narrower ones get `None` (the gather kernel).
    pub min_width: usize,
}

impl TiledLimits {
    /// The H200 defaults: [`TILED_SMEM`], up to 4 rows per unit, [`TILE_WARPS`] warps, every
    /// output width.
    pub const CUDA: TiledLimits = TiledLimits { smem_floats: TILED_SMEM, max_py: 4, warps: TILE_WARPS, min_width: 1 };
}

/// Launch geometry of [`tiled_conv_kernel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TiledGeometry {
    /// Output rows per unit (the tile is `warps · py` rows high).
    pub py: usize,
    /// Warps per cube (`CubeDim` is `(32, warps)`).
    pub warps: usize,
    /// Output channels per cube, a multiple of 4 (weights are read four at a time); channels past
    /// `c_out` are computed from zero weights and not written.
    pub co_tile: usize,
    /// Input channels staged per round.
    pub cc: usize,
    /// Cubes along (columns, rows, batch × channel tiles).
    pub cubes: [usize; 3],
}

/// Rows (or columns) of the input tile that `n` output rows read at `stride` through `k` taps.
pub fn tile_span(n: usize, stride: usize, k: usize) -> usize {
    (n - 1) * stride + k
}

/// The geometry for a `c_in → c_out` convolution with a square `k × k` kernel at `stride` onto a
/// `[batch, c_out, ho, wo]` output, or `None` where the gather kernel serves better (outputs
/// narrower than `limits.min_width`) or the kernel does not apply (stride above 2, kernel above 7).
/// Outputs narrower than a warp leave lanes idle, but the gather kernel is slower still there: it
/// has too few units to hide its global-memory latency.
///
/// Choice: the fewest channel tiles (each at most 32 channels), then the tallest unit (`py` up
/// to 4 within [`MAX_ACCUMULATORS`]) that still gives [`MIN_UNITS`] units; on grids too small
/// for that, shorter units and then narrower channel tiles (down to 4) before giving up on the
/// cube count. `cc` fills the shared memory of `limits` ([`TileShape::staging_channels`]). For a
/// transposed convolution by phases, pass the sub-kernel, stride 1, the phase's output size and
/// `batch · S²` (one cube row per phase).
#[allow(clippy::too_many_arguments)]
pub fn tiled_conv_geometry(
    c_in: usize,
    c_out: usize,
    batch: usize,
    ho: usize,
    wo: usize,
    k: usize,
    stride: usize,
    limits: TiledLimits,
) -> Option<TiledGeometry> {
    let warps = limits.warps.clamp(1, 8);
    if wo < limits.min_width.max(1) || !(1..=2).contains(&stride) || !(1..=7).contains(&k) || c_in == 0 || c_out == 0 || batch == 0 || ho == 0 {
        return None;
    }
    let col_tiles = wo.div_ceil(TILE_W);
    // A 1×1 convolution is bound by its loads, not its products: one row per unit leaves more
    // cubes resident to keep loads in flight (a 24→24 1×1 layer at 256² measured about 30 %
    // faster than at four rows: `gpu_bench --only layers` with the `tiled_py` knob).
    let max_py = if k == 1 { 1 } else { limits.max_py.clamp(1, 4) };
    let mut smallest = None;
    let mut co_tile = c_out.div_ceil(c_out.div_ceil(32)).next_multiple_of(4);
    loop {
        for py in (1..=(MAX_ACCUMULATORS / co_tile).clamp(1, max_py)).rev() {
            let cubes = [col_tiles, ho.div_ceil(warps * py), batch * c_out.div_ceil(co_tile)];
            if cubes.iter().product::<usize>() * TILE_W * warps >= MIN_UNITS {
                return with_staging((py, co_tile, cubes), warps, c_in, k, stride, limits.smem_floats);
            }
            smallest = Some((py, co_tile, cubes));
        }
        if co_tile <= 4 {
            return smallest.and_then(|g| with_staging(g, warps, c_in, k, stride, limits.smem_floats));
        }
        co_tile = (co_tile / 2).next_multiple_of(4);
    }
}

/// Adds the warps and the input channels per staging round to a (py, co_tile, cubes) choice;
/// `None` if not even one channel's tile and weights fit in `smem_floats`.
fn with_staging(
    (py, co_tile, cubes): (usize, usize, [usize; 3]),
    warps: usize,
    c_in: usize,
    k: usize,
    stride: usize,
    smem_floats: usize,
) -> Option<TiledGeometry> {
    let tile = TileShape { py, warps, co_tile, k, stride };
    (tile.channel_floats() <= smem_floats).then(|| TiledGeometry { py, warps, co_tile, cc: tile.staging_channels(c_in, smem_floats), cubes })
}

/// What sets one cube's shared-memory footprint: rows per unit, warps, output channels, kernel
/// size and stride.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileShape {
    /// Output rows per unit.
    pub py: usize,
    /// Warps per cube.
    pub warps: usize,
    /// Output channels per cube.
    pub co_tile: usize,
    /// Kernel size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
}

impl TileShape {
    /// Input channels one staging round of [`tiled_conv_kernel`] can hold in `smem_floats`
    /// floats (its input tiles plus their weights), at least 1 and at most `c_in`. With a single
    /// channel the kernel still needs `tile_span(warps·py)·tile_span(32) + k²·co_tile` floats;
    /// the launchers keep `py ≤ 4`, `warps ≤ 8`, `k ≤ 7`, `co_tile ≤ 32`, stride ≤ 2 (about 5.9k
    /// floats at most).
    ///
    /// The rounds are balanced: the kernel computes `cc` channels in every round (zeros past
    /// `c_in`), so 32 channels with room for 9 go as 4 rounds of 8, not 9 + 9 + 9 + 5.
    pub fn staging_channels(&self, c_in: usize, smem_floats: usize) -> usize {
        let fit = (smem_floats / self.channel_floats()).clamp(1, c_in.max(1));
        c_in.max(1).div_ceil(c_in.max(1).div_ceil(fit))
    }

    /// Floats of shared memory one staged input channel takes: its input tile and its weights.
    fn channel_floats(&self) -> usize {
        tile_span(self.warps * self.py, self.stride, self.k) * tile_span(TILE_W, self.stride, self.k) + self.k * self.k * self.co_tile
    }
}

/// Into `y` `[batch, c_out, Ho, Wo]` of any size, zeros outside the input `x`,
/// `W(o, c, i, j) = w[o·w_o + c·w_c + i·w_i + j·w_j]` (see `kernels::direct_conv_kernel`):
/// - `transposed = false` (`phase_stride` 1): the convolution
///   `y[b, o, Y, X] = Σ_(c, i, j < k) x[b, c, s·Y + i − p_h, s·X + j − p_w] · W(o, c, i, j)`;
/// - `transposed = true`: the transposed convolution at stride `S = phase_stride` and padding
///   `(p_h, p_w)` of a `k_full × k_full` kernel, by phases (module docs), `k = ⌈k_full/S⌉`,
///   `stride` 1; the launcher checks `k − 1 ≥ ⌊(S − 1 + p)/S⌋`.
///
/// Cube `(cx, cy, cz)`: columns `32·cx ..` and rows `warps·py·cy ..` of the output (of its phase),
/// `cz = (batch · channel_tiles + channel tile) · S² + phase`, output channels
/// `co_tile · channel tile ..`; `CubeDim` (32, warps). Per round of `cc` input channels: stage the
/// input tile (zeros outside the input, so the inner loop has no bounds checks) and the round's
/// weights as `[c][i][j][o]` vectors of four, then accumulate.
#[cube(launch_unchecked)]
pub fn tiled_conv_kernel<F: Float>(
    x: &Tensor<F>,
    w: &Tensor<F>,
    y: &mut Tensor<F>,
    pad_h: usize,
    pad_w: usize,
    w_o: usize,
    w_c: usize,
    w_i: usize,
    w_j: usize,
    #[comptime] k: usize,
    #[comptime] stride: usize,
    #[comptime] py: usize,
    #[comptime] warps: usize,
    #[comptime] co_tile: usize,
    #[comptime] cc: usize,
    #[comptime] transposed: bool,
    #[comptime] phase_stride: usize,
    #[comptime] k_full: usize,
    #[comptime] stage_batch: usize,
    #[comptime] prefetch: bool,
) {
    let rh = comptime!((warps * py - 1) * stride + k);
    let rw = comptime!((TILE_W - 1) * stride + k);
    let plane = comptime!(rh * rw);
    let vecs = comptime!(co_tile / 4);
    let span = comptime!((py - 1) * stride + k);
    let mut xs = SharedMemory::<F>::new(comptime!(cc * rh * rw));
    let mut ws = SharedMemory::<Vector<F, Const<4>>>::new(comptime!(cc * k * k * co_tile / 4));

    let c_in = x.shape(1);
    let c_out = y.shape(1);
    let ho = y.shape(2);
    let wo = y.shape(3);
    let channel_tiles = (c_out + co_tile - 1) / co_tile;
    let phases = comptime!(phase_stride * phase_stride);
    let phase = CUBE_POS_Z as usize % phases;
    let slot = CUBE_POS_Z as usize / phases;
    let b = slot / channel_tiles;
    let o0 = (slot % channel_tiles) * co_tile;
    // This phase's output offset (r_h, r_w), first tap (off_h, off_w) and padding of the
    // stride-1 convolution over the phase's outputs (module docs); a convolution has one phase.
    let r_h = phase / phase_stride;
    let r_w = phase % phase_stride;
    let mut off_h = 0;
    let mut off_w = 0;
    let mut pad_y = pad_h;
    let mut pad_x = pad_w;
    if transposed {
        off_h = (r_h + pad_h) % phase_stride;
        off_w = (r_w + pad_w) % phase_stride;
        pad_y = comptime!(k - 1) - (r_h + pad_h) / phase_stride;
        pad_x = comptime!(k - 1) - (r_w + pad_w) / phase_stride;
    }
    let row0 = CUBE_POS_Y as usize * comptime!(warps * py);
    let col0 = CUBE_POS_X as usize * TILE_W;
    let tx = UNIT_POS_X as usize;
    let ty = UNIT_POS_Y as usize;
    let tid = ty * TILE_W + tx;
    let units = comptime!(TILE_W * warps);
    // Padded coordinates of the tile's first input row and column (shifted by the padding so
    // they stay unsigned).
    let in_row0 = row0 * stride;
    let in_col0 = col0 * stride;

    let mut acc = Array::<F>::new(comptime!(py * co_tile));
    #[unroll]
    for t in 0..py * co_tile {
        acc[t] = F::new(0.0);
    }
    let mut col = Array::<F>::new(span);
    let mut loaded = Array::<F>::new(stage_batch);

    let rounds = (c_in + cc - 1) / cc;
    let total = comptime!(cc * rh * rw);
    // With `prefetch`, each unit holds the tile values of the next round in registers: their
    // loads are issued before the current round's products, which hide their latency, and are
    // stored after. The unit's values are elements `tid + u·units`, as in the plain staging loop,
    // so both fill the same shared memory and give the same sums.
    let per_unit = comptime!((cc * rh * rw).div_ceil(TILE_W * warps));
    let mut ahead = Array::<F>::new(comptime!(if prefetch { per_unit } else { 1 }));
    if prefetch {
        load_tile_values::<F>(x, &mut ahead, b, 0, in_row0, in_col0, pad_y, pad_x, tid, rh, rw, cc, per_unit, comptime!(TILE_W * warps));
    }
    for round in 0..rounds {
        let c0 = round * cc;
        sync_cube();
        if prefetch {
            #[unroll]
            for u in 0..per_unit {
                let e = tid + u * units;
                if e < total {
                    xs[e] = ahead[u];
                }
            }
        } else {
            for e0 in range_stepped(tid, total, comptime!(units * stage_batch)) {
                #[unroll]
                for u in 0..stage_batch {
                    loaded[u] = tile_value::<F>(x, e0 + u * units, b, c0, in_row0, in_col0, pad_y, pad_x, rh, rw, cc);
                }
                #[unroll]
                for u in 0..stage_batch {
                    let e = e0 + u * units;
                    if e < total {
                        xs[e] = loaded[u];
                    }
                }
            }
        }
        for e in range_stepped(tid, comptime!(cc * k * k * co_tile / 4), units) {
            let vq = e % vecs;
            let tap = (e / vecs) % comptime!(k * k);
            let ci = e / comptime!(k * k * co_tile / 4);
            let c = c0 + ci;
            let mut i = tap / k;
            let mut j = tap % k;
            if transposed {
                i = off_h + phase_stride * (comptime!(k - 1) - i);
                j = off_w + phase_stride * (comptime!(k - 1) - j);
            }
            let mut v = Vector::<F, Const<4>>::new(F::new(0.0));
            #[unroll]
            for l in 0..4usize {
                let o = o0 + vq * 4 + l;
                if c < c_in && o < c_out && i < k_full && j < k_full {
                    v[l] = w[o * w_o + c * w_c + i * w_i + j * w_j];
                }
            }
            ws[e] = v;
        }
        sync_cube();
        if prefetch {
            if round + 1 < rounds {
                load_tile_values::<F>(x, &mut ahead, b, c0 + cc, in_row0, in_col0, pad_y, pad_x, tid, rh, rw, cc, per_unit, comptime!(TILE_W * warps));
            }
        }
        for ci in 0..cc {
            let base = ci * plane + ty * comptime!(py * stride) * rw + tx * stride;
            let wbase = ci * comptime!(k * k * co_tile / 4);
            #[unroll]
            for j in 0..k {
                #[unroll]
                for r in 0..span {
                    col[r] = xs[base + r * rw + j];
                }
                #[unroll]
                for i in 0..k {
                    #[unroll]
                    for vq in 0..vecs {
                        let wv = ws[wbase + (i * k + j) * vecs + vq];
                        #[unroll]
                        for p in 0..py {
                            let xv = col[p * stride + i];
                            #[unroll]
                            for l in 0..4usize {
                                acc[p * co_tile + vq * 4 + l] += xv * wv[l];
                            }
                        }
                    }
                }
            }
        }
    }

    let xo_phase = col0 + tx;
    #[unroll]
    for p in 0..py {
        let yo = (row0 + ty * py + p) * phase_stride + r_h;
        let xo = xo_phase * phase_stride + r_w;
        if yo < ho && xo < wo {
            let y_base = b * y.stride(0) + yo * y.stride(2) + xo * y.stride(3);
            #[unroll]
            for t in 0..co_tile {
                if o0 + t < c_out {
                    y[y_base + (o0 + t) * y.stride(1)] = acc[p * co_tile + t];
                }
            }
        }
    }
}

/// The input-tile values unit `tid` stages for the round starting at channel `c0` (elements
/// `tid + u·units` of the `[cc][rh][rw]` tile, see [`tile_value`]), loaded into `out`
/// (`per_unit` values) for [`tiled_conv_kernel`]'s prefetch.
#[cube]
#[allow(clippy::too_many_arguments)]
fn load_tile_values<F: Float>(
    x: &Tensor<F>,
    out: &mut Array<F>,
    b: usize,
    c0: usize,
    in_row0: usize,
    in_col0: usize,
    pad_y: usize,
    pad_x: usize,
    tid: usize,
    #[comptime] rh: usize,
    #[comptime] rw: usize,
    #[comptime] cc: usize,
    #[comptime] per_unit: usize,
    #[comptime] units: usize,
) {
    #[unroll]
    for u in 0..per_unit {
        out[u] = tile_value::<F>(x, tid + u * units, b, c0, in_row0, in_col0, pad_y, pad_x, rh, rw, cc);
    }
}

/// Element `e` of a round's `[cc][rh][rw]` input tile of [`tiled_conv_kernel`] (channels from
/// `c0`, padded rows and columns from `in_row0`, `in_col0`): the input value, or zero outside the
/// input, past `c_in` and past the tile.
#[cube]
#[allow(clippy::too_many_arguments)]
fn tile_value<F: Float>(
    x: &Tensor<F>,
    e: usize,
    b: usize,
    c0: usize,
    in_row0: usize,
    in_col0: usize,
    pad_y: usize,
    pad_x: usize,
    #[comptime] rh: usize,
    #[comptime] rw: usize,
    #[comptime] cc: usize,
) -> F {
    let plane = comptime!(rh * rw);
    let ci = e / plane;
    let rest = e % plane;
    let r = in_row0 + rest / rw;
    let q = in_col0 + rest % rw;
    let c = c0 + ci;
    let mut v = F::new(0.0);
    if e < comptime!(cc * rh * rw) && c < x.shape(1) && r >= pad_y && r < x.shape(2) + pad_y && q >= pad_x && q < x.shape(3) + pad_x {
        v = x[b * x.stride(0) + c * x.stride(1) + (r - pad_y) * x.stride(2) + (q - pad_x) * x.stride(3)];
    }
    v
}
