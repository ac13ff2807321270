//! Boundary handling of convolutions. In MgNO the padding mode of every 3×3 convolution plays
//! the role of the boundary condition: zeros ≈ homogeneous Dirichlet, circular = periodic,
//! reflect ≈ homogeneous Neumann. burn's `conv2d` only pads with zeros, so the other modes pad
//! the input explicitly and convolve without padding.

use burn::config::Config;
use burn::module::{Initializer, Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::ops::ConvOptions;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::backend::conv::conv2d_with;
use crate::backend::{select, ConvBackend};

pub use crate::backend::tensor::zero_pad;

/// How a convolution sees the outside of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaddingMode {
    /// Zeros outside the domain (PyTorch `padding_mode='zeros'`); the Darcy setting.
    #[default]
    Zeros,
    /// Periodic wrap-around (`'circular'`); the Navier–Stokes setting.
    Circular,
    /// Mirror without repeating the edge (`'reflect'`); the Helmholtz setting.
    Reflect,
}

impl PaddingMode {
    /// Names accepted in configuration files.
    pub const NAMES: &'static str = "zeros, circular, reflect";

    /// Parses a name from a configuration file.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zeros" => Some(Self::Zeros),
            "circular" => Some(Self::Circular),
            "reflect" => Some(Self::Reflect),
            _ => None,
        }
    }
}

/// Pads the last two axes of `x` by `p` on every side with the given mode.
///
/// Circular padding wraps around; reflect padding mirrors without repeating the edge (as
/// PyTorch, which needs `p < H` and `p < W`); on a grid too small for that (e.g. one pixel,
/// reached at coarse levels) it falls back to repeating the edge.
pub fn pad2d<B: Backend>(x: Tensor<B, 4>, p: usize, mode: PaddingMode) -> Tensor<B, 4> {
    if p == 0 {
        return x;
    }
    let [_, _, h, w] = x.dims();
    match mode {
        PaddingMode::Zeros => {
            let x = zero_pad(x, 2, p, p);
            zero_pad(x, 3, p, p)
        }
        PaddingMode::Reflect => {
            let x = reflect(x, 2, p, h);
            reflect(x, 3, p, w)
        }
        PaddingMode::Circular => {
            let x = wrap(x, 2, p, h);
            wrap(x, 3, p, w)
        }
    }
}

/// Reflect padding of axis `dim` (length `n`) by `p < n`; when `p ≥ n` (a grid too small to
/// mirror) the edge value is repeated instead. Built from slices and flips rather than
/// `Tensor::pad`, which mishandles f64 on Flex in burn 0.21.
fn reflect<B: Backend>(x: Tensor<B, 4>, dim: usize, p: usize, n: usize) -> Tensor<B, 4> {
    let (before, after) = if p < n {
        (x.clone().narrow(dim, 1, p).flip([dim as isize]), x.clone().narrow(dim, n - 1 - p, p).flip([dim as isize]))
    } else {
        (x.clone().narrow(dim, 0, 1).repeat_dim(dim, p), x.clone().narrow(dim, n - 1, 1).repeat_dim(dim, p))
    };
    Tensor::cat(vec![before, x, after], dim)
}

/// Circular padding of axis `dim` (length `n`) by `p`, for any `p` (repeats the grid if `p > n`).
fn wrap<B: Backend>(x: Tensor<B, 4>, dim: usize, p: usize, n: usize) -> Tensor<B, 4> {
    let mut before = Vec::new();
    let mut left = p;
    while left > 0 {
        let take = left.min(n);
        before.insert(0, x.clone().narrow(dim, n - take, take));
        left -= take;
    }
    let mut after = Vec::new();
    let mut left = p;
    while left > 0 {
        let take = left.min(n);
        after.push(x.clone().narrow(dim, 0, take));
        left -= take;
    }
    let mut parts = before;
    parts.push(x);
    parts.extend(after);
    Tensor::cat(parts, dim)
}

/// A square convolution with symmetric padding in a chosen [`PaddingMode`].
#[derive(Config, Debug)]
pub struct PaddedConv2dConfig {
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Side of the square kernel.
    pub kernel_size: usize,
    /// Stride (the same along both axes).
    #[config(default = 1)]
    pub stride: usize,
    /// Halo width on each side.
    #[config(default = 0)]
    pub padding: usize,
    /// What the halo holds.
    #[config(default = "PaddingMode::Zeros")]
    pub mode: PaddingMode,
    /// Whether the convolution has a bias.
    #[config(default = false)]
    pub bias: bool,
}

/// A square convolution whose halo follows a [`PaddingMode`].
#[derive(Module, Debug)]
pub struct PaddedConv2d<B: Backend> {
    /// Kernel, `[channels_out, channels_in, k, k]`.
    pub weight: Param<Tensor<B, 4>>,
    /// Optional bias, `[channels_out]`.
    pub bias: Option<Param<Tensor<B, 1>>>,
    /// Stride along both axes.
    pub stride: usize,
    /// Halo width.
    pub padding: usize,
    /// Halo contents.
    pub mode: PaddingMode,
}

impl PaddedConv2dConfig {
    /// Builds the layer with PyTorch's default initialisation, U(±1/√fan_in) for weight and bias,
    /// so that models start from the same distribution as the reference code.
    pub fn init<B: Backend>(&self, device: &B::Device) -> PaddedConv2d<B> {
        let [ci, co] = self.channels;
        let k = self.kernel_size;
        let fan_in = ci * k * k;
        let init = torch_uniform(fan_in);
        let weight = init.init_with([co, ci, k, k], Some(fan_in), None, device);
        let bias = self.bias.then(|| init.init_with([co], Some(fan_in), None, device));
        PaddedConv2d { weight, bias, stride: self.stride, padding: self.padding, mode: self.mode }
    }
}

/// U(−1/√fan_in, 1/√fan_in), PyTorch's default for convolutions and linear layers.
pub fn torch_uniform(fan_in: usize) -> Initializer {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    Initializer::Uniform { min: -bound, max: bound }
}

impl<B: ConvBackend> PaddedConv2d<B> {
    /// Applies the convolution (through the backend's convolution capability, on the path
    /// `backend::select` plans, whose backward avoids burn's slow GPU convolution gradients).
    ///
    /// # Shapes
    /// - `x`: `[batch, channels_in, H, W]`
    /// - output: `[batch, channels_out, (H + 2p − k)/s + 1, (W + 2p − k)/s + 1]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let bias = self.bias.as_ref().map(|b| b.val());
        let plan = select::conv_plan::<B>();
        match self.mode {
            // Zero halos are handled inside the convolution kernel, which saves a copy.
            PaddingMode::Zeros => conv2d_with(x, self.weight.val(), bias, ConvOptions::new([self.stride; 2], [self.padding; 2], [1, 1], 1), plan),
            mode => conv2d_with(pad2d(x, self.padding, mode), self.weight.val(), bias, ConvOptions::new([self.stride; 2], [0, 0], [1, 1], 1), plan),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::conv::ConvPlan;
    use crate::backend::tensor::testing::{randn, rel_err, vec64, Ad};
    use crate::backend::{ConvGradPath, Cpu};
    use burn::tensor::module::conv2d;
    use burn::tensor::TensorData;
    use rand::{Rng, SeedableRng};

    fn grid(h: usize, w: usize) -> Tensor<Cpu, 4> {
        let v: Vec<f32> = (0..h * w).map(|i| i as f32).collect();
        Tensor::from_data(TensorData::new(v, [1, 1, h, w]), &Default::default())
    }

    #[test]
    fn circular_padding_wraps_both_axes() {
        let y: Vec<f32> = pad2d(grid(2, 3), 1, PaddingMode::Circular).into_data().to_vec().unwrap();
        // rows: [last, 0, 1, first] of the 2×3 grid [[0,1,2],[3,4,5]], columns wrapped likewise
        assert_eq!(y, vec![5., 3., 4., 5., 3., 2., 0., 1., 2., 0., 5., 3., 4., 5., 3., 2., 0., 1., 2., 0.]);
    }

    #[test]
    fn reflect_padding_mirrors_without_the_edge() {
        let y: Vec<f32> = pad2d(grid(2, 3), 1, PaddingMode::Reflect).into_data().to_vec().unwrap();
        assert_eq!(&y[0..5], &[4., 3., 4., 5., 4.]);
        assert_eq!(&y[5..10], &[1., 0., 1., 2., 1.]);
    }

    #[test]
    fn padding_modes_parse_from_config_names() {
        for name in ["zeros", "circular", "reflect"] {
            assert!(PaddingMode::parse(name).is_some());
        }
        assert!(PaddingMode::parse("same").is_none());
    }

    /// One convolution case of the custom-backward convolution (`backend::conv`): geometry plus
    /// the boundary mode applied around it.
    #[derive(Debug, Clone, Copy)]
    struct Case {
        batch: usize,
        c_in: usize,
        c_out: usize,
        hw: [usize; 2],
        kernel: usize,
        stride: usize,
        padding: usize,
        mode: PaddingMode,
        bias: bool,
    }

    /// Output, dX, dW, db of `L = Σ r · conv(pad(x))` on one path.
    fn conv_grads_on(
        case: Case,
        x: &Tensor<Ad, 4>,
        w: &Tensor<Ad, 4>,
        b: &Option<Tensor<Ad, 1>>,
        r: &Tensor<Ad, 4>,
        path: Option<ConvGradPath>,
    ) -> Vec<Vec<f64>> {
        let (x, w) = (x.clone().detach().require_grad(), w.clone().detach().require_grad());
        let b = b.clone().map(|b| b.detach().require_grad());
        let (halo, inner) = match case.mode {
            PaddingMode::Zeros => (0, case.padding),
            _ => (case.padding, 0),
        };
        let opts = ConvOptions::new([case.stride; 2], [inner; 2], [1, 1], 1);
        let xin = pad2d(x.clone(), halo, case.mode);
        let y = match path {
            Some(p) => conv2d_with(xin, w.clone(), b.clone(), opts, ConvPlan::preferred::<Ad>(p)),
            None => conv2d(xin, w.clone(), b.clone(), opts),
        };
        let grads = (y.clone() * r.clone()).sum().backward();
        let mut out = vec![vec64(y.inner()), vec64(x.grad(&grads).unwrap()), vec64(w.grad(&grads).unwrap())];
        if let Some(b) = b {
            out.push(vec64(b.grad(&grads).unwrap()));
        }
        out
    }

    fn check_case(case: Case) -> f64 {
        let [h, w] = case.hw;
        let k = case.kernel;
        let x = randn([case.batch, case.c_in, h, w]);
        let wt = randn([case.c_out, case.c_in, k, k]);
        let b = case.bias.then(|| randn([case.c_out]));
        let hp = h + 2 * case.padding;
        let wp = w + 2 * case.padding;
        let out = [case.batch, case.c_out, (hp - k) / case.stride + 1, (wp - k) / case.stride + 1];
        let r = randn(out);
        let stock = conv_grads_on(case, &x, &wt, &b, &r, None);
        let fast = conv_grads_on(case, &x, &wt, &b, &r, Some(ConvGradPath::Fast));
        let stock_path = conv_grads_on(case, &x, &wt, &b, &r, Some(ConvGradPath::Stock));
        let tuned = conv_grads_on(case, &x, &wt, &b, &r, Some(ConvGradPath::Tuned));
        let names = ["output", "dX", "dW", "db"];
        let mut worst: f64 = 0.0;
        for (i, ((f, s), t)) in fast.iter().zip(&stock).zip(&tuned).enumerate() {
            let e = rel_err(f, s);
            assert!(e < 1e-10, "{case:?}: {} differs from stock by {e:e}", names[i]);
            assert_eq!(stock_path[i], *s, "{case:?}: the stock path must be burn's own op");
            let et = rel_err(t, s);
            assert!(et < 1e-10, "{case:?}: {} (tuned path) differs from stock by {et:e}", names[i]);
            worst = worst.max(e);
        }
        worst
    }

    #[test]
    fn fastconv_gradients_equal_stock_in_f64() {
        use PaddingMode::*;
        let c = |batch, c_in, c_out, hw, kernel, stride, padding, mode, bias| Case { batch, c_in, c_out, hw, kernel, stride, padding, mode, bias };
        // The MgNO shapes (3×3 smoother and stride-2 restriction, 1×1 skip and head), 1-channel
        // ends, odd and non-square grids, every boundary mode.
        let mut cases = vec![
            c(2, 3, 4, [9, 7], 3, 1, 1, Zeros, false),
            c(2, 1, 3, [8, 8], 3, 1, 1, Zeros, false),
            c(1, 3, 1, [5, 11], 3, 1, 1, Reflect, false),
            c(2, 2, 2, [7, 6], 3, 1, 1, Circular, false),
            c(2, 3, 2, [9, 9], 3, 2, 1, Zeros, false),
            c(1, 2, 3, [10, 7], 3, 2, 1, Circular, false),
            c(2, 2, 2, [6, 13], 3, 2, 1, Reflect, false),
            c(1, 1, 1, [3, 2], 3, 2, 1, Zeros, false),
            c(3, 4, 2, [6, 5], 1, 1, 0, Zeros, true),
            c(2, 1, 3, [1, 9], 1, 1, 0, Zeros, true),
            c(2, 3, 2, [8, 9], 3, 1, 1, Zeros, true),
            c(2, 2, 3, [8, 7], 4, 2, 1, Zeros, true),
            c(1, 2, 2, [7, 7], 5, 1, 2, Zeros, false),
            c(1, 2, 2, [9, 8], 3, 3, 0, Zeros, false),
        ];
        // Plus random shapes from a fixed seed.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..8 {
            let kernel = [1, 3, 3, 4][rng.random_range(0..4)];
            let stride = rng.random_range(1..=2);
            let mode = [Zeros, Circular, Reflect][rng.random_range(0..3)];
            let padding = if kernel == 1 { 0 } else { 1 };
            let hw = [rng.random_range(4..12), rng.random_range(4..12)];
            cases.push(c(rng.random_range(1..4), rng.random_range(1..5), rng.random_range(1..5), hw, kernel, stride, padding, mode, rng.random_bool(0.5)));
        }
        let mut worst: f64 = 0.0;
        for case in cases {
            worst = worst.max(check_case(case));
        }
        eprintln!("conv2d: worst relative difference fast vs stock {worst:.2e}");
    }
}
