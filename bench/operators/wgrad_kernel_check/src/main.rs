//! The conv weight-gradient kernels of `oplab-operators` (same source file) on wgpu, against a
//! direct f64 sum, for MgNO's layer kinds and awkward shapes: 3×3 stride 1 and 2, the 4×4 stride-2
//! kernel of the transposed prolongation's gradient, 1×1, one channel, odd and 2×2 grids.
//! Exits non-zero if the relative difference exceeds 1e-5.

#[path = "../../../../operators/src/layers/wgrad_kernel/kernels.rs"]
mod kernel;
use cubecl::prelude::*;
use kernel::{slab_geometry, UNITS};

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
    for &(b, c, o, h, w, k, s, p) in &[(2usize, 3usize, 4usize, 9usize, 7usize, 3usize, 1usize, 1usize), (1, 1, 5, 8, 8, 3, 1, 1), (2, 5, 3, 11, 6, 3, 2, 1), (1, 2, 2, 7, 9, 4, 2, 1), (3, 4, 2, 6, 5, 1, 1, 0), (2, 24, 24, 16, 16, 3, 1, 1), (1, 3, 3, 2, 2, 3, 1, 1), (2, 24, 24, 64, 64, 3, 2, 1), (1, 24, 24, 33, 32, 4, 2, 1), (1, 1, 24, 40, 40, 3, 1, 1)] {
        let ho = (h + 2 * p - k) / s + 1; let wo = (w + 2 * p - k) / s + 1;
        let mut seed = 12345u64;
        let mut rnd = || { seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5 };
        let x: Vec<f32> = (0..b * c * h * w).map(|_| rnd()).collect();
        let dy: Vec<f32> = (0..b * o * ho * wo).map(|_| rnd()).collect();
        let xh = client.create_from_slice(f32::as_bytes(&x));
        let dyh = client.create_from_slice(f32::as_bytes(&dy));
        let pairs = o * c; let taps = k * k;
        let rows = b * ho;
        let (cubes_x, rows_per_slab, slabs) = slab_geometry(pairs, rows);
        let ph = client.empty(slabs * pairs * taps * 4);
        let outh = client.empty(pairs * taps * 4);
        unsafe {
            let xs = [b, c, h, w]; let dys = [b, o, ho, wo];
            kernel::wgrad_partial_kernel::launch_unchecked::<f32, R>(
                &client,
                CubeCount::Static(cubes_x as u32, slabs as u32, 1),
                CubeDim::new_1d(UNITS as u32),
                TensorArg::from_raw_parts(xh.clone(), contiguous_strides(&xs).into(), xs.to_vec().into()),
                TensorArg::from_raw_parts(dyh.clone(), contiguous_strides(&dys).into(), dys.to_vec().into()),
                TensorArg::from_raw_parts(ph.clone(), vec![1].into(), vec![slabs * pairs * taps].into()),
                rows_per_slab, s, s, p, p, k, k,
            );
            let n = pairs * taps;
            kernel::wgrad_sum_kernel::launch_unchecked::<f32, R>(
                &client,
                CubeCount::Static(n.div_ceil(UNITS) as u32, 1, 1),
                CubeDim::new_1d(UNITS as u32),
                TensorArg::from_raw_parts(ph.clone(), vec![1].into(), vec![slabs * n].into()),
                TensorArg::from_raw_parts(outh.clone(), vec![1].into(), vec![n].into()),
                slabs,
            );
        }
        let bytes = client.read_one(outh).expect("read");
        let got = f32::from_bytes(&bytes);
        let want = reference(&x, &dy, [b, c, h, w], [o, ho, wo], [k, k], s, p);
        let (mut num, mut den) = (0.0f64, 0.0f64);
        for (g, e) in got.iter().zip(&want) { num += (*g as f64 - e).powi(2); den += e * e; }
        let rel = (num / den.max(1e-300)).sqrt();
        worst = worst.max(rel);
        println!("b{b} c{c} o{o} {h}x{w} k{k} s{s} p{p}: slabs {slabs}, rel diff {rel:.2e}");
    }
    println!("worst relative difference {worst:.2e} (adapter: {:?})", R::name(&client));
    if worst >= 1e-5 {
        eprintln!("wgrad-kernel-check: above the 1e-5 tolerance");
        std::process::exit(1);
    }
}
