//! Convolutions converted into operators (Berner, Liu-Schiaffini et al., arXiv 2506.10973; the
//! reference `models/unet_kernel_interp.py` of neuraloperator/NNs-to-NOs): a k×k kernel learnt on
//! the training grid is read as a function on a fixed physical patch, re-sampled to the grid the
//! layer meets and weighted by cell area, so that one set of weights defines one map on every grid.
//!
//! On a grid s times finer than the training grid (s = n / n_base, [`Scale`]):
//! - a k×k kernel becomes k' = ⌊s·k − s + 1⌋ = ⌊s(k − 1)⌋ + 1 points a side (the same physical
//!   extent), by bilinear interpolation of the weight tensor with the half-pixel mapping, divided
//!   by (k'/k)² (the quadrature weight: each point now stands for a cell 1/s² as large); the
//!   padding becomes ⌊p·s⌋ and the stride stays (each level's grid stays s× finer);
//! - a "same" convolution (odd k, p = (k − 1)/2) needs an odd k' to keep its output on the input's
//!   grid: an even k' (a tie between two odd sizes, e.g. k' = 2 at k = 3, s = ½, where the
//!   reference shifts the grid by half a cell and breaks the residual add) becomes k' − 1, the
//!   size whose support does not exceed the kernel's physical one; its padding ⌊p·s⌋ is then
//!   exactly (k' − 1)/2;
//! - a transposed (upsampling) convolution is tied to pixels: its input is resampled by 1/s to
//!   the training grid's spacing, the plain layer runs, its output is fitted to twice that grid
//!   and resampled by s ([`ConvTranspose2dUp`]).
//!
//! At s = 1 nothing is interpolated: the layers are the plain ones, bit for bit. Scales are kept
//! as the exact ratio of two grid sides, so sizes are integer arithmetic rather than float
//! rounding. Everything goes through the backend's convolution capability
//! ([`conv2d_with`], [`conv_transpose2d_with`]) and burn's matmul, so it is differentiable and
//! the GPU kernels carry it.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::Tensor;

use super::padding::{pad2d, torch_uniform, zero_pad, PaddedConv2d, PaddingMode};
use super::resample::{resample, ResampleMode};
use crate::backend::conv::{conv2d_with, conv_transpose2d_with};
use crate::backend::{select, ConvBackend};

/// The ratio s = side / base of the grid a layer meets to the training grid, kept exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// Grid side now (the numerator).
    pub side: usize,
    /// Training grid side (the denominator).
    pub base: usize,
}

impl Scale {
    /// s = 1: the plain network.
    pub const ONE: Scale = Scale { side: 1, base: 1 };

    /// s = side / base (both ≥ 1).
    pub fn new(side: usize, base: usize) -> Self {
        Scale { side: side.max(1), base: base.max(1) }
    }

    /// Whether s = 1.
    pub fn is_one(self) -> bool {
        self.side == self.base
    }

    /// ⌊v·s⌋.
    pub fn times(self, v: usize) -> usize {
        v * self.side / self.base
    }

    /// ⌊v/s⌋, at least 1.
    pub fn divide(self, v: usize) -> usize {
        (v * self.base / self.side).max(1)
    }

    /// s as a float (for reports).
    pub fn value(self) -> f64 {
        self.side as f64 / self.base as f64
    }
}

/// Side and padding of a k×k kernel with padding p at scale `s`: k' = ⌊s(k − 1)⌋ + 1 and ⌊p·s⌋,
/// with an even k' of a "same" convolution (odd k, p = (k − 1)/2) rounded down to odd.
pub fn converted_size(k: usize, p: usize, s: Scale) -> (usize, usize) {
    let mut k2 = s.times(k.saturating_sub(1)) + 1;
    if k % 2 == 1 && 2 * p + 1 == k && k2.is_multiple_of(2) {
        k2 -= 1;
    }
    (k2, s.times(p))
}

/// The kernel `weight` (`[c_out, c_in, k, k]`) on a grid `s` times finer: bilinearly resampled
/// to k'×k' and divided by (k'/k)². At k' = k (s = 1 among others) the weight itself.
pub fn interpolate_kernel<B: Backend>(weight: Tensor<B, 4>, k2: usize) -> Tensor<B, 4> {
    let [_, _, kh, kw] = weight.dims();
    if kh == k2 && kw == k2 {
        return weight;
    }
    let area = (k2 * k2) as f64 / (kh * kw) as f64;
    resample(weight, [k2, k2], ResampleMode::Bilinear) / area
}

impl<B: ConvBackend> PaddedConv2d<B> {
    /// The convolution on a grid `s` times finer than the training grid (module documentation);
    /// at s = 1 exactly [`PaddedConv2d::forward`].
    pub fn forward_at(&self, x: Tensor<B, 4>, s: Scale) -> Tensor<B, 4> {
        if s.is_one() {
            return self.forward(x);
        }
        let k = self.weight.dims()[2];
        let (k2, p2) = converted_size(k, self.padding, s);
        if k2 == k && p2 == self.padding {
            return self.forward(x);
        }
        let weight = interpolate_kernel(self.weight.val(), k2);
        let bias = self.bias.as_ref().map(|b| b.val());
        let plan = select::conv_plan::<B>();
        match self.mode {
            PaddingMode::Zeros => conv2d_with(x, weight, bias, ConvOptions::new([self.stride; 2], [p2; 2], [1, 1], 1), plan),
            mode => conv2d_with(pad2d(x, p2, mode), weight, bias, ConvOptions::new([self.stride; 2], [0, 0], [1, 1], 1), plan),
        }
    }
}

/// The U-Net's upsampling: a 4×4 stride-2 transposed convolution with padding 2 (the reference's
/// variant for odd grids), whose output is fitted to a target grid (the skip connection's) by
/// centred zero padding or cropping.
#[derive(Module, Debug)]
pub struct ConvTranspose2dUp<B: Backend> {
    /// Kernel, `[c_in, c_out, 4, 4]` (PyTorch's ConvTranspose2d layout).
    pub weight: Param<Tensor<B, 4>>,
    /// Bias, `[c_out]`.
    pub bias: Param<Tensor<B, 1>>,
}

/// Kernel side, stride and padding of [`ConvTranspose2dUp`].
const UP_KERNEL: usize = 4;
const UP_STRIDE: usize = 2;
const UP_PADDING: usize = 2;

impl<B: Backend> ConvTranspose2dUp<B> {
    /// A layer of `c_in → c_out` channels with PyTorch's default initialisation (fan-in of a
    /// transposed convolution: c_out·k², computed from the weight's second axis).
    pub fn new(c_in: usize, c_out: usize, device: &B::Device) -> Self {
        let fan_in = c_out * UP_KERNEL * UP_KERNEL;
        let init = torch_uniform(fan_in);
        ConvTranspose2dUp {
            weight: init.init_with([c_in, c_out, UP_KERNEL, UP_KERNEL], Some(fan_in), None, device),
            bias: init.init_with([c_out], Some(fan_in), None, device),
        }
    }
}

impl<B: ConvBackend> ConvTranspose2dUp<B> {
    fn plain(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let opts = ConvTransposeOptions::new([UP_STRIDE; 2], [UP_PADDING; 2], [0, 0], [1, 1], 1);
        conv_transpose2d_with(x, self.weight.val(), Some(self.bias.val()), opts, select::conv_plan::<B>())
    }

    /// Upsamples `x` (`[b, c_in, h, w]`) and fits the result to `target` (`[b, c_out, target]`).
    ///
    /// At s ≠ 1 the layer is wrapped: the input is resampled to ⌊h/s⌋ × ⌊w/s⌋ (the training
    /// grid's spacing) with `mode`, the plain layer runs, its output is fitted to twice that grid
    /// and resampled by s, and the result fitted to `target`. At s = 1 only the plain layer and
    /// the fit run (the wrapped path would give the same values, through identities).
    pub fn forward_at(&self, x: Tensor<B, 4>, target: [usize; 2], s: Scale, mode: ResampleMode) -> Tensor<B, 4> {
        if s.is_one() {
            return fit_centered(self.plain(x), target);
        }
        let [_, _, h, w] = x.dims();
        let coarse = [s.divide(h), s.divide(w)];
        let y = self.plain(resample(x, coarse, mode));
        let y = fit_centered(y, [UP_STRIDE * coarse[0], UP_STRIDE * coarse[1]]);
        let [_, _, yh, yw] = y.dims();
        let y = resample(y, [s.times(yh).max(1), s.times(yw).max(1)], mode);
        fit_centered(y, target)
    }
}

/// `y` fitted to `target` on the last two axes by zeros or cropping split as PyTorch's
/// `F.pad(y, [d // 2, d − d // 2])` with d = target − size (floor division, so an odd surplus is
/// cropped one more at the start and an odd shortfall padded one more at the end).
pub fn fit_centered<B: Backend>(y: Tensor<B, 4>, target: [usize; 2]) -> Tensor<B, 4> {
    let y = fit_axis(y, 2, target[0]);
    fit_axis(y, 3, target[1])
}

fn fit_axis<B: Backend>(y: Tensor<B, 4>, dim: usize, want: usize) -> Tensor<B, 4> {
    let have = y.dims()[dim];
    let d = want as isize - have as isize;
    if d == 0 {
        return y;
    }
    let before = d.div_euclid(2);
    let after = d - before;
    if d > 0 {
        zero_pad(y, dim, before as usize, after as usize)
    } else {
        // Both parts ≤ 0: crop −before at the start, −after at the end.
        y.narrow(dim, (-before) as usize, want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::tensor::testing::{randn, rel_err, vec64, Ad};
    use crate::backend::Cpu;
    use crate::layers::PaddedConv2dConfig;
    use burn::tensor::{DType, Distribution};

    fn values<B: Backend>(t: Tensor<B, 4>) -> Vec<f32> {
        t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
    }

    #[test]
    fn converted_sizes_follow_the_reference_and_stay_odd_for_same_convolutions() {
        // k' = ⌊s·k − s + 1⌋ and ⌊p·s⌋.
        assert_eq!(converted_size(3, 1, Scale::new(256, 128)), (5, 2));
        assert_eq!(converted_size(3, 1, Scale::new(512, 128)), (9, 4));
        assert_eq!(converted_size(9, 4, Scale::new(256, 128)), (17, 8));
        assert_eq!(converted_size(9, 4, Scale::new(64, 128)), (5, 2));
        assert_eq!(converted_size(4, 1, Scale::new(64, 128)), (2, 0));
        // The tie k' = 2 of a same 3×3 at s = ½ rounds down to 1 (padding ⌊½⌋ = 0 matches).
        assert_eq!(converted_size(3, 1, Scale::new(64, 128)), (1, 0));
        assert_eq!(converted_size(3, 1, Scale::new(96, 128)), (1, 0));
        assert_eq!(converted_size(7, 3, Scale::new(64, 128)), (3, 1));
        // A 1×1 stays 1×1; odd grids use the exact ratio.
        assert_eq!(converted_size(1, 0, Scale::new(1000, 7)), (1, 0));
        assert_eq!(converted_size(3, 1, Scale::new(129, 128)), (3, 1));
        // Every same convolution keeps the grid: 2p' = k' − 1.
        for k in [1usize, 3, 5, 7, 9] {
            for side in 8..300 {
                let (k2, p2) = converted_size(k, k / 2, Scale::new(side, 64));
                assert_eq!(k2, 2 * p2 + 1, "k {k} side {side}");
            }
        }
    }

    /// Test 1 (layers): at s = 1 the converted convolution and transposed convolution are the
    /// plain ones, bit for bit, on even and odd grids.
    #[test]
    fn scale_one_is_the_plain_layer_bit_for_bit() {
        let device = Default::default();
        let conv: PaddedConv2d<Cpu> = PaddedConv2dConfig::new([3, 4], 5).with_padding(2).with_bias(true).init(&device);
        let up = ConvTranspose2dUp::<Cpu>::new(3, 3, &device);
        for side in [16usize, 17] {
            let x = Tensor::<Cpu, 4>::random([2, 3, side, side], Distribution::Normal(0.0, 1.0), &device);
            assert_eq!(values(conv.forward_at(x.clone(), Scale::new(side, side))), values(conv.forward(x.clone())));
            let target = [2 * side, 2 * side - 1];
            let plain = fit_centered(up.plain(x.clone()), target);
            assert_eq!(values(up.forward_at(x.clone(), target, Scale::new(side, side), ResampleMode::Bilinear)), values(plain));
        }
    }

    /// The wrapped transposed convolution through its identities at s = 1 (the path a scale ≠ 1
    /// takes, with every resampling an identity) gives the plain layer's values: the fit to twice
    /// the grid and the fit to the target compose to the plain fit on even and odd grids.
    #[test]
    fn wrapped_upsampling_path_at_unit_scale_matches_the_plain_fit() {
        let device = Default::default();
        let up = ConvTranspose2dUp::<Cpu>::new(2, 2, &device);
        for (m, target) in [(8usize, 16usize), (9, 17), (9, 18)] {
            let x = Tensor::<Cpu, 4>::random([1, 2, m, m], Distribution::Normal(0.0, 1.0), &device);
            let wrapped = fit_centered(fit_centered(up.plain(x.clone()), [2 * m, 2 * m]), [target, target]);
            assert_eq!(values(wrapped), values(fit_centered(up.plain(x), [target, target])), "m {m}");
        }
    }

    /// Test 3: quadrature. A constant field through one converted convolution with a positive
    /// random kernel gives, away from the zero-padded border, the value of s = 1 within 25 % at
    /// s = 2, 4, 8 (a missing area factor would be off by about s², a doubled one by 1/s²).
    #[test]
    fn constant_input_keeps_its_value_under_refinement() {
        let device = Default::default();
        for k in [3usize, 5] {
            let mut conv: PaddedConv2d<Cpu> = PaddedConv2dConfig::new([2, 3], k).with_padding(k / 2).init(&device);
            let w = Tensor::<Cpu, 4>::random([3, 2, k, k], Distribution::Uniform(0.1, 1.0), &device);
            conv.weight = Param::from_tensor(w);
            let base = 16;
            let plain = values(conv.forward(Tensor::<Cpu, 4>::ones([1, 2, base, base], &device)));
            let centre = |v: &[f32], n: usize, c: usize| v[c * n * n + (n / 2) * n + n / 2];
            for s in [2usize, 4, 8] {
                let n = base * s;
                let y = values(conv.forward_at(Tensor::<Cpu, 4>::ones([1, 2, n, n], &device), Scale::new(n, base)));
                assert_eq!(y.len(), 3 * n * n);
                for c in 0..3 {
                    let (a, b) = (centre(&y, n, c), centre(&plain, base, c));
                    assert!((a / b - 1.0).abs() < 0.25, "k {k} s {s} channel {c}: {a} vs {b}");
                    // The whole interior away from the padded band agrees as well.
                    let band = (k / 2) * s;
                    for i in band..n - band {
                        let v = y[c * n * n + i * n + n / 2];
                        assert!((v / b - 1.0).abs() < 0.25, "k {k} s {s} row {i}: {v} vs {b}");
                    }
                }
            }
        }
    }

    /// Test 5: the gradient of a loss through the interpolated kernel, with respect to the
    /// learnt (base) kernel and to the input, against central finite differences in f64.
    #[test]
    fn interpolated_kernel_gradient_matches_finite_differences() {
        let device = Default::default();
        let k = 3;
        let s = Scale::new(12, 5);
        let (k2, p2) = converted_size(k, 1, s);
        assert_eq!((k2, p2), (5, 2));
        let w0 = randn([2, 2, k, k]);
        let x = randn([1, 2, 12, 12]);
        let probe = randn([1, 2, 12, 12]);
        let loss = |w: Tensor<Ad, 4>| -> Tensor<Ad, 1> {
            let conv = PaddedConv2d { weight: Param::from_tensor(w), bias: None, stride: 1, padding: 1, mode: PaddingMode::Circular };
            (conv.forward_at(x.clone(), s) * probe.clone()).sum()
        };
        let w = w0.clone().require_grad();
        let grads = loss(w.clone()).backward();
        let g = vec64(w.grad(&grads).unwrap());
        let base = vec64(w0.clone());
        let eps = 1e-6;
        let mut fd = Vec::with_capacity(base.len());
        for i in 0..base.len() {
            let at = |d: f64| {
                let mut v = base.clone();
                v[i] += d;
                let t = Tensor::<Ad, 4>::from_data(burn::tensor::TensorData::new(v, [2, 2, k, k]), (&device, DType::F64));
                vec64(loss(t))[0]
            };
            fd.push((at(eps) - at(-eps)) / (2.0 * eps));
        }
        let err = rel_err(&g, &fd);
        assert!(err < 1e-7, "kernel gradient off by {err:e}: {g:?} vs {fd:?}");
    }
}
