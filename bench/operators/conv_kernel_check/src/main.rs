//! The conv weight-gradient kernels of `oplab-operators` (same source files) on wgpu, against a
//! direct f64 sum, for MgNO's layer kinds and awkward shapes: 3×3 stride 1 and 2, the 4×4 stride-2
//! kernel of the transposed prolongation's gradient, 1×1, one channel, odd and 2×2 grids.
//! Then the direct forward kernel, as a convolution and as a transposed convolution (strides 1
//! and 2, cropped and `padding_out`-extended outputs, channel counts that need a channel tile).
//! Then the fused Adam step (`operators/src/backend/cuda/adam/kernel.rs`) against burn's
//! formulas in f64, and the fused `gelu(a + b)` with its gradient
//! (`operators/src/backend/cuda/gelu/kernel.rs`) against libm's erf in f64. Exits non-zero if a
//! relative difference exceeds 1e-5.

#[path = "../../../../operators/src/backend/cuda/conv/wgrad.rs"]
#[allow(dead_code)] // WGRAD_GROUP is the launcher's default; the check passes its own.
mod kernel;
#[path = "../../../../operators/src/backend/cuda/conv/gather.rs"]
mod gather;
#[path = "../../../../operators/src/backend/cuda/conv/tiled.rs"]
#[allow(dead_code)] // TILED_SMEM is the CUDA budget; the check passes lavapipe's.
mod tiled;
#[path = "../../../../operators/src/backend/cuda/adam/kernel.rs"]
mod adam;
#[path = "../../../../operators/src/backend/cuda/gelu/kernel.rs"]
mod gelu;
use cubecl::prelude::*;
use gather::{direct_conv_geometry, GATHER_UNITS};
use kernel::{slab_geometry, wgrad_channel_tile, wgrad_columns, TARGET_THREADS};

fn reference(x: &[f32], dy: &[f32], [b, c, h, w]: [usize; 4], [o, ho, wo]: [usize; 3], [kh, kw]: [usize; 2], s: usize, p: usize) -> Vec<f64> {
    let mut g = vec![0.0f64; o * c * kh * kw];
    for bb in 0..b { for oo in 0..o { for cc in 0..c { for i in 0..kh { for j in 0..kw {
        let mut acc = 0.0f64;
        for y in 0..ho { for xo in 0..wo {
            let yy = (y * s + i) as isize - p as isize; let xx = (xo * s + j) as isize - p as isize;
            if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize { continue; }
            acc += dy[((bb * o + oo) * ho + y) * wo + xo] as f64 * x[((bb * c + cc) * h + yy as usize) * w + xx as usize] as f64;
        }}
        g[((oo * c + cc) * kh + i) * kw + j] += acc;
    }}}}}
    g
}

/// `‖got − want‖ / ‖want‖` in f64.
fn rel_diff(got: &[f32], want: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (g, e) in got.iter().zip(want) { num += (*g as f64 - e).powi(2); den += e * e; }
    (num / den.max(1e-300)).sqrt()
}

/// Uniform values in [−0.5, 0.5) from a 64-bit LCG (reproducible inputs, no rand dependency).
fn uniform(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || { state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5 }
}

fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len() - 1).rev() { s[d] = s[d + 1] * shape[d + 1]; }
    s
}

fn main() {
    type R = cubecl::wgpu::WgpuRuntime;
    let device = Default::default();
    let client = R::client(&device);
    let mut worst = 0.0f64;
    for &(b, c, o, h, w, k, s, p) in &[(2usize, 3usize, 4usize, 9usize, 7usize, 3usize, 1usize, 1usize), (1, 1, 5, 8, 8, 3, 1, 1), (2, 5, 3, 11, 6, 3, 2, 1), (1, 2, 2, 7, 9, 4, 2, 1), (3, 4, 2, 6, 5, 1, 1, 0), (2, 24, 24, 16, 16, 3, 1, 1), (1, 3, 3, 2, 2, 3, 1, 1), (2, 24, 24, 64, 64, 3, 2, 1), (1, 24, 24, 33, 32, 4, 2, 1), (1, 1, 24, 40, 40, 3, 1, 1), (1, 3, 40, 6, 300, 3, 1, 1), (2, 2, 100, 5, 333, 3, 2, 1), (1, 32, 64, 6, 9, 3, 1, 1), (1, 24, 24, 5, 256, 3, 1, 1), (2, 24, 24, 7, 199, 3, 2, 1), (1, 24, 24, 6, 130, 4, 2, 1), (1, 128, 1, 4, 70, 1, 1, 0), (2, 32, 128, 3, 66, 1, 1, 0), (1, 2, 3, 301, 8, 3, 1, 1), (1, 1, 24, 4, 256, 3, 1, 1)] {
        let ho = (h + 2 * p - k) / s + 1; let wo = (w + 2 * p - k) / s + 1;
        let mut rnd = uniform(12345);
        let x: Vec<f32> = (0..b * c * h * w).map(|_| rnd()).collect();
        let dy: Vec<f32> = (0..b * o * ho * wo).map(|_| rnd()).collect();
        let xh = client.create_from_slice(f32::as_bytes(&x));
        let dyh = client.create_from_slice(f32::as_bytes(&dy));
        let pairs = o * c; let taps = k * k;
        let rows = b * ho;
        // Up to 4 output channels per unit (the default) and up to 8 (the `wgrad_ot = 8` knob).
        let ot = wgrad_channel_tile(c, o, [4, 8][h % 2]);
        // Both the default slab count and few slabs (fewer than the sum kernel's unit rows).
        let (cube_dim, cubes_x, rows_per_slab, slabs) = slab_geometry(pairs / ot, rows, [TARGET_THREADS, 1 << 9][w % 2]);
        let group = [1, 3, 4][h % 3];
        let layout = wgrad_columns(c, o, [k, k], s, wo, group).expect("fits");
        let ph = client.empty(slabs * pairs * taps * 4);
        unsafe {
            let xs = [b, c, h, w]; let dys = [b, o, ho, wo];
            kernel::wgrad_partial_kernel::launch_unchecked::<f32, R>(
                &client,
                CubeCount::Static(cubes_x as u32, slabs as u32, 1),
                CubeDim::new_1d(cube_dim as u32),
                TensorArg::from_raw_parts(xh.clone(), contiguous_strides(&xs).into(), xs.to_vec().into()),
                TensorArg::from_raw_parts(dyh.clone(), contiguous_strides(&dys).into(), dys.to_vec().into()),
                TensorArg::from_raw_parts(ph.clone(), vec![1].into(), vec![slabs * pairs * taps].into()),
                rows_per_slab, s, p, p, layout.cols, layout.col_stride, layout.x_row, k, k, ot, s, group, layout.dy_spans, layout.x_spans,
            );
        }
        let got = sum_slabs(&client, ph, pairs * taps, slabs);
        let want = reference(&x, &dy, [b, c, h, w], [o, ho, wo], [k, k], s, p);
        let rel = rel_diff(&got, &want);
        worst = worst.max(rel);
        println!("b{b} c{c} o{o} {h}x{w} k{k} s{s} p{p}: slabs {slabs}, cube {cube_dim}, {ot} channels per unit, group {group}, {} columns per chunk ({}/{} spans), rel diff {rel:.2e}", layout.cols, layout.dy_spans, layout.x_spans);
    }
    println!("weight gradient: worst relative difference {worst:.2e} (adapter: {:?}, {} bytes of shared memory per cube)", R::name(&client), client.properties().hardware.max_shared_memory_size);
    let worst_pointwise = check_pointwise::<R>(&client);
    println!("1×1 weight gradient: worst relative difference {worst_pointwise:.2e}");
    worst = worst.max(worst_pointwise);
    let worst_direct = check_direct::<R>(&client);
    println!("direct convolution: worst relative difference {worst_direct:.2e}");
    let worst_tiled = check_tiled::<R>(&client);
    println!("tiled convolution: worst relative difference {worst_tiled:.2e}");
    let worst_adam = check_adam::<R>(&client);
    println!("fused Adam: worst relative difference {worst_adam:.2e}");
    let worst_gelu = check_gelu::<R>(&client);
    println!("fused gelu(a + b): worst relative difference {worst_gelu:.2e}");
    if worst.max(worst_direct).max(worst_tiled).max(worst_adam).max(worst_gelu) >= 1e-5 {
        eprintln!("conv-kernel-check: above the 1e-5 tolerance");
        std::process::exit(1);
    }
}

/// f64 reference of a convolution (`transposed = false`, `w` `[o, c, k, k]`) or a transposed
/// convolution (`w` `[c, o, k, k]`, by scattering), zero padding, into a `[b, o, ho, wo]` output
/// (a transposed output larger than the natural one gets zeros, a smaller one is cropped).
fn direct_reference(x: &[f32], w: &[f32], [b, c, h, wi]: [usize; 4], [o, ho, wo]: [usize; 3], k: usize, s: usize, p: usize, transposed: bool) -> Vec<f64> {
    let mut y = vec![0.0f64; b * o * ho * wo];
    for bb in 0..b { for oo in 0..o { for cc in 0..c { for i in 0..k { for j in 0..k {
        let wv = if transposed { w[((cc * o + oo) * k + i) * k + j] } else { w[((oo * c + cc) * k + i) * k + j] } as f64;
        if transposed {
            for yi in 0..h { for xi in 0..wi {
                let (yy, xx) = ((yi * s + i) as isize - p as isize, (xi * s + j) as isize - p as isize);
                if yy < 0 || xx < 0 || yy >= ho as isize || xx >= wo as isize { continue; }
                y[((bb * o + oo) * ho + yy as usize) * wo + xx as usize] += wv * x[((bb * c + cc) * h + yi) * wi + xi] as f64;
            }}
        } else {
            for yo in 0..ho { for xo in 0..wo {
                let (yy, xx) = ((yo * s + i) as isize - p as isize, (xo * s + j) as isize - p as isize);
                if yy < 0 || xx < 0 || yy >= h as isize || xx >= wi as isize { continue; }
                y[((bb * o + oo) * ho + yo) * wo + xo] += wv * x[((bb * c + cc) * h + yy as usize) * wi + xx as usize] as f64;
            }}
        }
    }}}}}
    y
}

/// One direct-convolution case: the output size (natural, plus `extra` rows and columns: +1 a
/// `padding_out`, −1 a crop) and random input and weights from `seed`.
fn direct_case([b, c, o, h, w, k, s, p]: [usize; 8], transposed: bool, extra: isize, seed: u64) -> (usize, usize, Vec<f32>, Vec<f32>) {
    let natural = |n: usize| if transposed { (n - 1) * s + k - 2 * p } else { (n + 2 * p - k) / s + 1 };
    let (ho, wo) = ((natural(h) as isize + extra) as usize, (natural(w) as isize + extra) as usize);
    let mut rnd = uniform(seed);
    let x: Vec<f32> = (0..b * c * h * w).map(|_| rnd()).collect();
    let wt: Vec<f32> = (0..c * o * k * k).map(|_| rnd()).collect();
    (ho, wo, x, wt)
}

fn check_direct<R: Runtime>(client: &ComputeClient<R>) -> f64 {
    let mut worst = 0.0f64;
    // (batch, c_in, c_out, H, W, k, stride, padding, transposed, extra output rows/cols beyond the
    // natural size: +1 is a padding_out, −1 a crop)
    for &(b, c, o, h, w, k, s, p, transposed, extra) in &[
        (2usize, 3usize, 4usize, 9usize, 7usize, 3usize, 1usize, 1usize, false, 0isize),
        (1, 1, 24, 12, 12, 3, 1, 1, false, 0),
        (2, 24, 1, 10, 13, 3, 1, 1, false, 0),
        (2, 5, 7, 11, 6, 3, 2, 1, false, 0),
        (1, 6, 40, 8, 8, 1, 1, 0, false, 0),
        (1, 37, 37, 5, 6, 3, 1, 1, false, 0),
        (2, 24, 24, 16, 16, 3, 1, 1, false, 0),
        (2, 4, 3, 6, 5, 4, 2, 1, true, 0),
        (2, 4, 3, 6, 5, 4, 2, 1, true, 1),
        (1, 3, 5, 7, 7, 3, 2, 1, true, -1),
        (2, 24, 24, 8, 8, 4, 2, 1, true, 0),
        (1, 5, 6, 9, 8, 3, 1, 1, true, 0),
    ] {
        let (ho, wo, x, wt) = direct_case([b, c, o, h, w, k, s, p], transposed, extra, 777);
        let xh = client.create_from_slice(f32::as_bytes(&x));
        let wh = client.create_from_slice(f32::as_bytes(&wt));
        // The geometry the launcher picks for this (small) grid, and the one it would pick for a
        // large grid (longest channel tile, two or four pixels per unit).
        let (_, big_tile, _) = direct_conv_geometry(o, 1 << 20, 1, 1);
        for (px, tile) in [(direct_conv_geometry(o, b, ho, wo).0, direct_conv_geometry(o, b, ho, wo).1), (2, big_tile), (4, big_tile)] {
            let yh = client.empty(b * o * ho * wo * 4);
            let units = b * ho * wo.div_ceil(px) * (o / tile);
            // W(o, c, i, j) strides: [o, c, k, k] for a convolution, [c, o, k, k] transposed.
            let (w_o, w_c) = if transposed { (k * k, o * k * k) } else { (c * k * k, k * k) };
            unsafe {
                let (xs, ws, ys) = ([b, c, h, w], if transposed { [c, o, k, k] } else { [o, c, k, k] }, [b, o, ho, wo]);
                gather::direct_conv_kernel::launch_unchecked::<f32, R>(
                    client,
                    CubeCount::Static(units.div_ceil(GATHER_UNITS) as u32, 1, 1),
                    CubeDim::new_1d(GATHER_UNITS as u32),
                    TensorArg::from_raw_parts(xh.clone(), contiguous_strides(&xs).into(), xs.to_vec().into()),
                    TensorArg::from_raw_parts(wh.clone(), contiguous_strides(&ws).into(), ws.to_vec().into()),
                    TensorArg::from_raw_parts(yh.clone(), contiguous_strides(&ys).into(), ys.to_vec().into()),
                    s, s, p, p, w_o, w_c, k, 1, k, k, tile, px, transposed,
                );
            }
            let got = f32::from_bytes(&client.read_one(yh).expect("read")).to_vec();
            let want = direct_reference(&x, &wt, [b, c, h, w], [o, ho, wo], k, s, p, transposed);
            let rel = rel_diff(&got, &want);
            worst = worst.max(rel);
            let kind = if transposed { "transposed" } else { "conv" };
            println!("{kind} b{b} c{c} o{o} {h}x{w} -> {ho}x{wo} k{k} s{s} p{p} (tile {tile}, {px} px): rel diff {rel:.2e}");
        }
    }
    worst
}

/// The `n` weight-gradient entries from `slabs` partial sums in `partial` (`wgrad_sum_kernel`,
/// launched as the CUDA launcher does), read back.
fn sum_slabs<R: Runtime>(client: &ComputeClient<R>, partial: cubecl::server::Handle, n: usize, slabs: usize) -> Vec<f32> {
    let out = client.empty(n * 4);
    let (cubes, dim) = kernel::wgrad_sum_launch(n);
    // SAFETY: `partial` holds `slabs · n` f32 values and `out` n; the kernel indexes below those.
    unsafe {
        kernel::wgrad_sum_kernel::launch_unchecked::<f32, R>(
            client,
            cubes,
            dim,
            TensorArg::from_raw_parts(partial, vec![1].into(), vec![slabs * n].into()),
            TensorArg::from_raw_parts(out.clone(), vec![1].into(), vec![n].into()),
            slabs,
        );
    }
    f32::from_bytes(&client.read_one(out).expect("read")).to_vec()
}

/// The 1×1 weight-gradient kernel (`wgrad_pointwise_kernel`) and the slab sum, on channel counts
/// that are and are not multiples of 4, several channel tiles (more than 256 blocks of 4 × 4),
/// one slab and many, grids whose pixels do not fill the last round.
fn check_pointwise<R: Runtime>(client: &ComputeClient<R>) -> f64 {
    let mut worst = 0.0f64;
    for &(b, c, o, h, w, threads) in &[(2usize, 24usize, 24usize, 16usize, 16usize, 1usize << 18), (1, 32, 128, 9, 33, 1 << 12), (2, 128, 1, 7, 13, 1 << 18), (3, 3, 32, 5, 5, 1 << 14), (1, 5, 7, 40, 41, 1 << 16), (1, 130, 70, 3, 11, 1 << 12)] {
        let mut rnd = uniform(777 + c as u64);
        let x: Vec<f32> = (0..b * c * h * w).map(|_| rnd()).collect();
        let dy: Vec<f32> = (0..b * o * h * w).map(|_| rnd()).collect();
        let g = kernel::wgrad_pointwise_geometry(c, o, b, h * w, threads, LAVAPIPE_SMEM).expect("fits");
        let n = o * c;
        let (xh, dyh) = (client.create_from_slice(f32::as_bytes(&x)), client.create_from_slice(f32::as_bytes(&dy)));
        let ph = client.empty(g.slabs * n * 4);
        unsafe {
            let (xs, dys) = ([b, c, h, w], [b, o, h, w]);
            kernel::wgrad_pointwise_kernel::launch_unchecked::<f32, R>(
                client,
                CubeCount::Static(g.cubes_x as u32, g.slabs as u32, 1),
                CubeDim::new_1d(g.cube_dim as u32),
                TensorArg::from_raw_parts(xh.clone(), contiguous_strides(&xs).into(), xs.to_vec().into()),
                TensorArg::from_raw_parts(dyh.clone(), contiguous_strides(&dys).into(), dys.to_vec().into()),
                TensorArg::from_raw_parts(ph.clone(), vec![1].into(), vec![g.slabs * n].into()),
                g.pixels_per_slab, g.slabs_per_image, g.chunk, g.ov, g.cv,
            );
        }
        let got = sum_slabs(client, ph, n, g.slabs);
        let want = reference(&x, &dy, [b, c, h, w], [o, h, w], [1, 1], 1, 0);
        let rel = rel_diff(&got, &want);
        worst = worst.max(rel);
        println!("1x1 b{b} c{c} o{o} {h}x{w}: chunk {}, cube {} x {}, slabs {}, rel diff {rel:.2e}", g.chunk, g.cube_dim, g.cubes_x, g.slabs);
    }
    worst
}

/// Floats of shared memory a lavapipe workgroup may use (its `maxComputeSharedMemorySize`, 32 KiB).
const LAVAPIPE_SMEM: usize = 8 * 1024;

/// The tiled kernel (`tiled.rs`) on convolutions at strides 1 and 2 and on transposed
/// convolutions at strides 1 and 2 (by phases; cropped and `padding_out` outputs), with the geometry its launcher
/// picks for the shape and with forced ones: every unit height, channel tiles narrower than
/// `c_out` (several channel tiles per batch) and wider (channels past `c_out` not written),
/// one input channel per staging round and all of them; outputs not a multiple of the tile.
fn check_tiled<R: Runtime>(client: &ComputeClient<R>) -> f64 {
    let mut worst = 0.0f64;
    // (batch, c_in, c_out, H, W, k, stride, padding, transposed, extra output rows/cols)
    for &(b, c, o, h, w, k, s, p, transposed, extra) in &[
        (2usize, 3usize, 4usize, 19usize, 37usize, 3usize, 1usize, 1usize, false, 0isize),
        (1, 1, 24, 40, 33, 3, 1, 1, false, 0),
        (2, 24, 1, 20, 35, 3, 1, 1, false, 0),
        (2, 24, 24, 34, 64, 3, 1, 1, false, 0),
        (1, 5, 7, 41, 70, 3, 2, 1, false, 0),
        (1, 24, 24, 66, 66, 4, 2, 1, false, 0),
        (1, 6, 40, 17, 40, 1, 1, 0, false, 0),
        (1, 9, 33, 12, 45, 5, 1, 2, false, 0),
        (2, 24, 24, 30, 40, 3, 1, 1, true, 0),
        (1, 5, 6, 9, 36, 3, 1, 1, true, 1),
        (1, 4, 3, 21, 40, 3, 1, 0, true, -1),
        (2, 24, 24, 32, 33, 4, 2, 1, true, 0),
        (1, 5, 7, 20, 35, 4, 2, 1, true, 1),
        (2, 24, 24, 33, 40, 3, 2, 1, true, 1),
        (1, 3, 2, 17, 36, 3, 2, 1, true, 0),
        (1, 6, 5, 18, 34, 3, 2, 0, true, -1),
        (1, 4, 4, 16, 33, 2, 2, 0, true, 0),
        // Outputs narrower than a warp (MgNO's coarse levels).
        (2, 24, 24, 16, 16, 3, 1, 1, false, 0),
        (1, 5, 6, 9, 7, 3, 2, 1, false, 0),
        (2, 24, 24, 8, 8, 4, 2, 1, true, 0),
        (1, 3, 4, 2, 3, 3, 1, 1, false, 0),
    ] {
        let (ho, wo, x, wt) = direct_case([b, c, o, h, w, k, s, p], transposed, extra, 4242);
        let want = direct_reference(&x, &wt, [b, c, h, w], [o, ho, wo], k, s, p, transposed);
        let xh = client.create_from_slice(f32::as_bytes(&x));
        let wh = client.create_from_slice(f32::as_bytes(&wt));
        let (w_o, w_c) = if transposed { (k * k, o * k * k) } else { (c * k * k, k * k) };
        // A transposed convolution runs by phases: a ⌈k/S⌉-tap stride-1 convolution per phase.
        let (k_sub, conv_stride, phase_stride) = if transposed { (k.div_ceil(s), 1, s) } else { (k, s, 1) };
        let (pho, pwo) = (ho.div_ceil(phase_stride), wo.div_ceil(phase_stride));
        let phases = phase_stride * phase_stride;
        let limits = tiled::TiledLimits { smem_floats: LAVAPIPE_SMEM, max_py: 4, warps: tiled::TILE_WARPS, min_width: 1 };
        let picked = tiled::tiled_conv_geometry(c, o, b * phases, pho, pwo, k_sub, conv_stride, limits).map(|g| (g.py, g.warps, g.co_tile, g.cc));
        // Forced geometries (rows per unit, warps, channel tile), each with as many staged
        // channels as fit (or 1 or 2).
        let fit = |py, warps, co_tile| tiled::TileShape { py, warps, co_tile, k: k_sub, stride: conv_stride }.staging_channels(c, LAVAPIPE_SMEM);
        let forced = [(1, 8, 4, 1), (2, 4, 8, fit(2, 4, 8)), (3, 8, o.next_multiple_of(4).min(32), fit(3, 8, 32).min(2)), (4, 8, 32, fit(4, 8, 32)), (2, 2, 12, fit(2, 2, 12))];
        let geometries: Vec<(usize, usize, usize, usize)> = picked.into_iter().chain(forced).collect();
        let mut plain: Option<Vec<f32>> = None;
        // Each geometry with the plain staging and with the register prefetch of the next round.
        for (py, warps, co_tile, cc, prefetch) in geometries.into_iter().flat_map(|(py, warps, co_tile, cc)| [false, true].map(|f| (py, warps, co_tile, cc, f))) {
            let cubes = [pwo.div_ceil(tiled::TILE_W), pho.div_ceil(warps * py), b * o.div_ceil(co_tile) * phases];
            let yh = client.empty(b * o * ho * wo * 4);
            unsafe {
                let (xs, ws, ys) = ([b, c, h, w], if transposed { [c, o, k, k] } else { [o, c, k, k] }, [b, o, ho, wo]);
                tiled::tiled_conv_kernel::launch_unchecked::<f32, R>(
                    client,
                    CubeCount::Static(cubes[0] as u32, cubes[1] as u32, cubes[2] as u32),
                    CubeDim::new_2d(tiled::TILE_W as u32, warps as u32),
                    TensorArg::from_raw_parts(xh.clone(), contiguous_strides(&xs).into(), xs.to_vec().into()),
                    TensorArg::from_raw_parts(wh.clone(), contiguous_strides(&ws).into(), ws.to_vec().into()),
                    TensorArg::from_raw_parts(yh.clone(), contiguous_strides(&ys).into(), ys.to_vec().into()),
                    p, p, w_o, w_c, k, 1, k_sub, conv_stride, py, warps, co_tile, cc, transposed, phase_stride, k, [3, 8][py % 2], prefetch,
                );
            }
            let got = f32::from_bytes(&client.read_one(yh).expect("read")).to_vec();
            let rel = rel_diff(&got, &want);
            worst = worst.max(rel);
            // The prefetch stages the same values into the same places: the same sums, bit for bit.
            if prefetch && plain.as_ref() != Some(&got) {
                println!("tiled: the prefetch path differs from the plain staging (py {py}, warps {warps}, co {co_tile}, cc {cc})");
                worst = f64::INFINITY;
            }
            plain = (!prefetch).then(|| got.clone());
            let kind = if transposed { "transposed" } else { "conv" };
            println!("tiled {kind} b{b} c{c} o{o} {h}x{w} -> {ho}x{wo} k{k} s{s} p{p} (py {py}, warps {warps}, co {co_tile}, cc {cc}, prefetch {prefetch}): rel diff {rel:.2e}");
        }
    }
    worst
}

/// Five Adam steps of [`adam::adam_kernel`] (with and without weight decay, odd lengths), each
/// against burn's formulas evaluated in f64 from the same f32 inputs (the moments start at zero,
/// as on burn's first step). Per step, two launches: the real one, whose moments (weight decay
/// included) are compared; and one from zero parameters without weight decay, whose output is
/// then exactly minus the f32 update, compared with the f64 update (stored parameters near 0.5
/// would round away the update's own error).
fn check_adam<R: Runtime>(client: &ComputeClient<R>) -> f64 {
    let (b1, b2, eps, lr) = (0.9f32, 0.999f32, 1e-8f32, 1e-3f64);
    let mut worst = 0.0f64;
    for &(n, wd) in &[(1000usize, 0.0f32), (777, 1e-4), (3, 0.5)] {
        let mut rnd = uniform(99 + n as u64);
        let mut p: Vec<f32> = (0..n).map(|_| rnd()).collect();
        let (mut m1, mut m2) = (vec![0.0f32; n], vec![0.0f32; n]);
        let (mut moments, mut update) = (0.0f64, 0.0f64);
        for t in 1..=5usize {
            let g: Vec<f32> = (0..n).map(|_| rnd()).collect();
            let (step, eps_s) = adam::adam_scalars(lr, b1, b2, eps, t);
            let launch = |p: &[f32], wd: f32| -> [Vec<f32>; 3] {
                let h = |v: &[f32]| client.create_from_slice(f32::as_bytes(v));
                let (ph, gh, m1h, m2h) = (h(p), h(&g), h(&m1), h(&m2));
                let (po, m1o, m2o) = (client.empty(n * 4), client.empty(n * 4), client.empty(n * 4));
                // SAFETY (both blocks): every handle holds n f32 values, the kernel indexes below n.
                let arg = |handle: &cubecl::server::Handle| unsafe { TensorArg::from_raw_parts(handle.clone(), vec![1].into(), vec![n].into()) };
                unsafe {
                    adam::adam_kernel::launch_unchecked::<R>(
                        client,
                        CubeCount::Static(n.div_ceil(adam::ADAM_UNITS) as u32, 1, 1),
                        CubeDim::new_1d(adam::ADAM_UNITS as u32),
                        arg(&ph), arg(&gh), arg(&m1h), arg(&m2h), arg(&po), arg(&m1o), arg(&m2o),
                        b1, b2, wd, step, eps_s,
                    );
                }
                let read = |handle| f32::from_bytes(&client.read_one(handle).expect("read")).to_vec();
                [read(po), read(m1o), read(m2o)]
            };
            let [p_new, m1_new, m2_new] = launch(&p, wd);
            let [minus_update, _, _] = launch(&vec![0.0; n], 0.0);
            let (mut a64, mut v64, mut u64) = (vec![0.0f64; n], vec![0.0f64; n], vec![0.0f64; n]);
            for i in 0..n {
                let gi = g[i] as f64 + wd as f64 * p[i] as f64;
                a64[i] = b1 as f64 * m1[i] as f64 + (1.0 - b1 as f64) * gi;
                v64[i] = b2 as f64 * m2[i] as f64 + (1.0 - b2 as f64) * gi * gi;
                // The update of the zero-parameter launch (no weight decay).
                let (a, v) = (b1 as f64 * m1[i] as f64 + (1.0 - b1 as f64) * g[i] as f64, b2 as f64 * m2[i] as f64 + (1.0 - b2 as f64) * (g[i] as f64).powi(2));
                // With the host scalars as burn computes them in f32: 1 − β2ᵗ cancels in f32 (3e-5
                // relative at t = 2), which is burn's own arithmetic, not the kernel's.
                u64[i] = -(step as f64) * a / (v.sqrt() + eps_s as f64);
            }
            moments = moments.max(rel_diff(&m1_new, &a64)).max(rel_diff(&m2_new, &v64));
            update = update.max(rel_diff(&minus_update, &u64));
            (p, m1, m2) = (p_new, m1_new, m2_new);
        }
        worst = worst.max(moments).max(update);
        println!("adam n{n} wd{wd}: 5 steps, rel diff of the moments {moments:.2e}, of the update {update:.2e}");
    }
    worst
}

/// [`gelu::add_gelu_kernel`] and [`gelu::add_gelu_backward_kernel`] against `s·Φ(s)` and
/// `g·(Φ(s) + s·φ(s))` in f64 (libm's erf) from the same f32 inputs, `s = a + b` over about
/// [−7, 7] (both tails and the bend), for lengths that do and do not fill whole cubes.
fn check_gelu<R: Runtime>(client: &ComputeClient<R>) -> f64 {
    let mut worst = 0.0f64;
    for n in [4096usize, 777, 3] {
        let mut rnd = uniform(7 + n as u64);
        let a: Vec<f32> = (0..n).map(|_| 12.0 * rnd()).collect();
        let b: Vec<f32> = (0..n).map(|_| 2.0 * rnd()).collect();
        let g: Vec<f32> = (0..n).map(|_| rnd()).collect();
        let h = |v: &[f32]| client.create_from_slice(f32::as_bytes(v));
        let (ah, bh, gh, yh, dh) = (h(&a), h(&b), h(&g), client.empty(n * 4), client.empty(n * 4));
        // SAFETY (both blocks): every handle holds n f32 values, the kernels index below n.
        let arg = |handle: &cubecl::server::Handle| unsafe { TensorArg::from_raw_parts(handle.clone(), vec![1].into(), vec![n].into()) };
        let (count, dim) = (CubeCount::Static(n.div_ceil(gelu::GELU_UNITS) as u32, 1, 1), CubeDim::new_1d(gelu::GELU_UNITS as u32));
        unsafe {
            gelu::add_gelu_kernel::launch_unchecked::<R>(client, count.clone(), dim, arg(&ah), arg(&bh), arg(&yh));
            gelu::add_gelu_backward_kernel::launch_unchecked::<R>(client, count, dim, arg(&ah), arg(&bh), arg(&gh), arg(&dh));
        }
        let read = |handle| f32::from_bytes(&client.read_one(handle).expect("read")).to_vec();
        let (y, dz) = (read(yh), read(dh));
        let (mut y64, mut dz64) = (vec![0.0f64; n], vec![0.0f64; n]);
        for i in 0..n {
            // The sum as the kernel forms it (one f32 addition), then f64.
            let s = (a[i] + b[i]) as f64;
            let cdf = 0.5 * (1.0 + libm::erf(s / std::f64::consts::SQRT_2));
            y64[i] = s * cdf;
            dz64[i] = g[i] as f64 * (cdf + s * (-0.5 * s * s).exp() / (2.0 * std::f64::consts::PI).sqrt());
        }
        let (ry, rd) = (rel_diff(&y, &y64), rel_diff(&dz, &dz64));
        worst = worst.max(ry).max(rd);
        println!("gelu n{n}: rel diff of gelu(a + b) {ry:.2e}, of its gradient {rd:.2e}");
    }
    worst
}
