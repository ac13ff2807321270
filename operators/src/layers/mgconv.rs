//! MgConv: one multigrid V-cycle over the pair (u, f), with every operator learned.
//!
//! The structure follows the MgNO reference code (`MgConv_DC` in `models.py` of
//! xlliu2017/MgNO @ 3a68a90), re-derived here:
//! - level 0, first pre-smoothing step: `u = S(f)`;
//! - every other smoothing step: `u ← u + S(f − A u)` with its own 3×3 convolutions `A`
//!   (c_u → c_f) and `S` (c_f → c_u), never shared across steps or levels;
//! - going down one level: `u ← Π u`, `f ← R f`, both learned 3×3 stride-2 convolutions;
//! - going up: `u_ℓ ← u_ℓ + P_ℓ u_{ℓ+1}` with a learned stride-2 transposed convolution
//!   (4×4 by default), then the level's post-smoothing steps.
//!
//! Grids whose sides are not divisible by 2^(levels−1) are handled from the actual shapes: the
//! restriction maps n points to ⌈n/2⌉, and the prolongation output is cropped or extended (by
//! the transposed convolution's `padding_out`) to the fine level's size, so the same module runs
//! at 256², 211² or 50×37. With kernel 3 on odd levels this reproduces the reference's
//! hard-coded `MgConv_DC_smooth` exactly (211 → 106 → 53 → 27 → 14 → 7 and back).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::ops::ConvTransposeOptions;
use burn::tensor::Tensor;

use super::padding::{torch_uniform, PaddedConv2d, PaddedConv2dConfig, PaddingMode};
use crate::backend::conv::conv_transpose2d_with;
use crate::backend::{select, ConvBackend};
use crate::error::OperatorError;

/// Configuration of one V-cycle.
#[derive(Config, Debug)]
pub struct MgConvConfig {
    /// Channels of the input `f` on the finest level.
    pub channels_f: usize,
    /// Channels of the iterate `u` (the output).
    pub channels_u: usize,
    /// `[pre, post]` smoothing steps per level, finest first; the number of entries is the
    /// number of levels. The Darcy setting is `[[1,0]; 5] + [[2,0]]`.
    pub smoothing: Vec<[usize; 2]>,
    /// Boundary handling of the 3×3 smoothers and restrictions.
    #[config(default = "PaddingMode::Zeros")]
    pub padding: PaddingMode,
    /// Kernel size of the transposed convolution from level ℓ+1 to level ℓ, one per level
    /// transition; empty means 4 everywhere (the `MgConv_DC` setting; the smooth-Darcy variant
    /// uses `[3, 4, 3, 3, 4]`).
    #[config(default = "Vec::new()")]
    pub prolongation_kernels: Vec<usize>,
}

impl MgConvConfig {
    /// Checks the configuration; `field` prefixes the field names in errors.
    pub fn validate(&self, field: &str) -> crate::error::Result<()> {
        if self.channels_f == 0 || self.channels_u == 0 {
            return Err(OperatorError::invalid(format!("{field}.channels"), format!("[{}, {}]", self.channels_f, self.channels_u), "must be >= 1"));
        }
        let levels = self.smoothing.len();
        if !(1..=16).contains(&levels) {
            return Err(OperatorError::invalid(format!("{field}.levels"), levels, "must hold 1 to 16 levels"));
        }
        if self.smoothing[0][0] == 0 {
            return Err(OperatorError::invalid(
                format!("{field}.levels[0]"),
                format!("{:?}", self.smoothing[0]),
                "the finest level needs at least one pre-smoothing step (it creates u = S f)",
            ));
        }
        if self.smoothing[levels - 1][1] != 0 {
            return Err(OperatorError::invalid(
                format!("{field}.levels[{}]", levels - 1),
                format!("{:?}", self.smoothing[levels - 1]),
                "the coarsest level has no post-smoothing (the reference code never runs it); add the steps to its pre-smoothing count",
            ));
        }
        if let Some((l, s)) = self.smoothing.iter().enumerate().find(|(_, s)| s[0] > 64 || s[1] > 64) {
            return Err(OperatorError::invalid(format!("{field}.levels[{l}]"), format!("{s:?}"), "at most 64 smoothing steps per level"));
        }
        if !self.prolongation_kernels.is_empty() {
            if self.prolongation_kernels.len() != levels - 1 {
                return Err(OperatorError::invalid(
                    format!("{field}.prolongation_kernels"),
                    format!("{:?}", self.prolongation_kernels),
                    format!("must be empty (all 4) or hold one kernel size per level transition ({})", levels - 1),
                ));
            }
            if let Some(k) = self.prolongation_kernels.iter().find(|k| !(2..=8).contains(*k)) {
                return Err(OperatorError::invalid(format!("{field}.prolongation_kernels"), k, "kernel sizes must be 2 to 8"));
            }
        }
        Ok(())
    }

    /// Builds the V-cycle (validating first).
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::error::Result<MgConv<B>> {
        self.validate("mgconv")?;
        let (cu, cf) = (self.channels_u, self.channels_f);
        let conv =
            |ci: usize, co: usize, stride: usize| PaddedConv2dConfig::new([ci, co], 3).with_stride(stride).with_padding(1).with_mode(self.padding).init(device);
        let levels = self.smoothing.len();
        let mut out = Vec::with_capacity(levels);
        for (l, &[pre, post]) in self.smoothing.iter().enumerate() {
            let restrict = (l > 0).then(|| Restriction { pi: conv(cu, cu, 2), r: conv(cf, cf, 2) });
            let pre = (0..pre).map(|i| Smoother { a: (l > 0 || i > 0).then(|| conv(cu, cf, 1)), s: conv(cf, cu, 1) }).collect();
            let post = (0..post).map(|_| Smoother { a: Some(conv(cu, cf, 1)), s: conv(cf, cu, 1) }).collect();
            let prolong = (l + 1 < levels).then(|| {
                let k = self.prolongation_kernels.get(l).copied().unwrap_or(4);
                // ConvTranspose2d weights are [c_in, c_out, k, k]; PyTorch's fan_in for them is
                // computed from dim 1, i.e. c_out·k².
                Prolongation { weight: torch_uniform(cu * k * k).init_with([cu, cu, k, k], None, None, device) }
            });
            out.push(MgLevel { restrict, pre, post, prolong });
        }
        Ok(MgConv { levels: out })
    }
}

/// One smoothing step `u ← u + S(f − A u)`, or `u = S f` when `a` is absent (the first step).
#[derive(Module, Debug)]
pub struct Smoother<B: Backend> {
    /// The learned operator A (c_u → c_f); absent for the initial step.
    pub a: Option<PaddedConv2d<B>>,
    /// The learned smoother S (c_f → c_u).
    pub s: PaddedConv2d<B>,
}

impl<B: ConvBackend> Smoother<B> {
    fn apply(&self, u: Option<Tensor<B, 4>>, f: &Tensor<B, 4>) -> Tensor<B, 4> {
        match (u, &self.a) {
            (Some(u), Some(a)) => {
                let r = f.clone() - a.forward(u.clone());
                u + self.s.forward(r)
            }
            // The initial step: no iterate yet (or, defensively, an iterate with no A).
            (u, _) => {
                let s = self.s.forward(f.clone());
                match u {
                    Some(u) => u + s,
                    None => s,
                }
            }
        }
    }
}

/// Moves the pair (u, f) one level down: `u ← Π u`, `f ← R f`.
#[derive(Module, Debug)]
pub struct Restriction<B: Backend> {
    /// Π, 3×3 stride 2, c_u → c_u.
    pub pi: PaddedConv2d<B>,
    /// R, 3×3 stride 2, c_f → c_f.
    pub r: PaddedConv2d<B>,
}

/// A learned stride-2 transposed convolution whose output is fitted to the fine grid.
#[derive(Module, Debug)]
pub struct Prolongation<B: Backend> {
    /// Kernel, `[c_u, c_u, k, k]` (PyTorch's ConvTranspose2d layout: input channels first).
    pub weight: Param<Tensor<B, 4>>,
}

impl<B: ConvBackend> Prolongation<B> {
    /// Prolongs `u` (`[batch, c, h, w]`) to `[batch, c, fine_h, fine_w]`.
    ///
    /// The transposed convolution (stride 2, padding 1, kernel k) makes 2(n−1) − 2 + k points;
    /// a fine level that is one point larger gets it through `padding_out`, a smaller one is
    /// cropped at the far end. For kernel 4 and even grids this is the plain reference layer.
    pub fn forward(&self, u: Tensor<B, 4>, fine: [usize; 2]) -> Tensor<B, 4> {
        let [_, _, h, w] = u.dims();
        let k = self.weight.dims()[2];
        let natural = |n: usize| (2 * (n.max(1) - 1) + k).saturating_sub(2);
        let (nh, nw) = (natural(h), natural(w));
        let extra = |want: usize, got: usize| if want == got + 1 { 1 } else { 0 };
        let opts = ConvTransposeOptions::new([2, 2], [1, 1], [extra(fine[0], nh), extra(fine[1], nw)], [1, 1], 1);
        let y = conv_transpose2d_with(u, self.weight.val(), None, opts, select::conv_plan::<B>());
        let [_, _, yh, yw] = y.dims();
        if yh == fine[0] && yw == fine[1] {
            y
        } else {
            // Crop (or, in degenerate cases, zero-extend) to the fine shape.
            let y = fit_axis(y, 2, yh, fine[0]);
            fit_axis(y, 3, yw, fine[1])
        }
    }
}

/// Crops axis `dim` from `have` to `want` points, or appends zeros if `want > have`.
fn fit_axis<B: Backend>(y: Tensor<B, 4>, dim: usize, have: usize, want: usize) -> Tensor<B, 4> {
    if have == want {
        y
    } else if have > want {
        y.narrow(dim, 0, want)
    } else {
        super::padding::zero_pad(y, dim, 0, want - have)
    }
}

/// One level of the hierarchy: how to get there, how to smooth there, and how to go back up.
#[derive(Module, Debug)]
pub struct MgLevel<B: Backend> {
    /// Restriction from the finer level (absent on level 0).
    pub restrict: Option<Restriction<B>>,
    /// Pre-smoothing steps on the way down.
    pub pre: Vec<Smoother<B>>,
    /// Post-smoothing steps on the way up (after adding the coarse correction).
    pub post: Vec<Smoother<B>>,
    /// Prolongation from the next coarser level (absent on the coarsest).
    pub prolong: Option<Prolongation<B>>,
}

/// One learned V-cycle; maps f (`[batch, c_f, H, W]`) to u (`[batch, c_u, H, W]`).
#[derive(Module, Debug)]
pub struct MgConv<B: Backend> {
    /// Levels, finest first.
    pub levels: Vec<MgLevel<B>>,
}

impl<B: ConvBackend> MgConv<B> {
    /// Runs the V-cycle.
    ///
    /// # Shapes
    /// - `f`: `[batch, c_f, H, W]`, any H, W ≥ 1
    /// - output: `[batch, c_u, H, W]`
    pub fn forward(&self, f: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut us: Vec<Tensor<B, 4>> = Vec::with_capacity(self.levels.len());
        let mut fs: Vec<Tensor<B, 4>> = Vec::with_capacity(self.levels.len());
        let mut u: Option<Tensor<B, 4>> = None;
        let mut f = f;
        for level in &self.levels {
            if let Some(r) = &level.restrict {
                // Level 0 always leaves an iterate (validated: at least one pre-smoothing step).
                u = u.map(|u| r.pi.forward(u));
                f = r.r.forward(f);
            }
            for s in &level.pre {
                u = Some(s.apply(u, &f));
            }
            let cur = match u.clone() {
                Some(u) => u,
                None => unreachable_iterate(&f),
            };
            us.push(cur);
            fs.push(f.clone());
        }
        // Upward pass: level j receives the (already post-smoothed) iterate of level j+1.
        for j in (0..self.levels.len().saturating_sub(1)).rev() {
            let level = &self.levels[j];
            let coarse = us[j + 1].clone();
            let [_, _, h, w] = us[j].dims();
            let mut uj = us[j].clone();
            if let Some(p) = &level.prolong {
                uj = uj + p.forward(coarse, [h, w]);
            }
            for s in &level.post {
                uj = s.apply(Some(uj), &fs[j]);
            }
            us[j] = uj;
        }
        us.swap_remove(0)
    }
}

/// A level reached without an iterate cannot happen for validated configurations (level 0 has at
/// least one pre-smoothing step); a zero iterate keeps the computation total rather than panicking.
fn unreachable_iterate<B: Backend>(f: &Tensor<B, 4>) -> Tensor<B, 4> {
    f.zeros_like()
}
