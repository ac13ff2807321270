//! Spectral convolutions (the Fourier layer of FNO): transform, keep the lowest modes, multiply
//! each kept mode by a learned complex c_in × c_out matrix, transform back.
//!
//! Complex weights are stored as pairs of real tensors (burn has no complex dtype), laid out as
//! in the reference `SpectralConv2d` of `fourier_2d.py`: the non-negative H-modes (`weights1`)
//! first, then the negative ones (`weights2`), so a model keeps the reference parameter count.

use burn::config::Config;
use burn::module::{Initializer, Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::dft::{SpectralBasis1d, SpectralBasis2d};

/// Configuration of a [`SpectralConv2d`].
#[derive(Config, Debug)]
pub struct SpectralConv2dConfig {
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Modes kept: per sign along H, and half-spectrum modes along W.
    pub modes: [usize; 2],
}

impl SpectralConv2dConfig {
    /// Builds the layer with the reference initialisation: real and imaginary parts
    /// U(0, 1/(c_in·c_out)).
    pub fn init<B: Backend>(&self, device: &B::Device) -> SpectralConv2d<B> {
        let [ci, co] = self.channels;
        let [m1, m2] = self.modes;
        let init = Initializer::Uniform { min: 0.0, max: 1.0 / (ci * co).max(1) as f64 };
        let shape = [ci, co, 2 * m1, m2];
        SpectralConv2d { weight_re: init.init(shape, device), weight_im: init.init(shape, device), modes: self.modes }
    }
}

/// A 2-D Fourier layer.
#[derive(Module, Debug)]
pub struct SpectralConv2d<B: Backend> {
    /// Real parts, `[c_in, c_out, 2·m1, m2]`.
    pub weight_re: Param<Tensor<B, 4>>,
    /// Imaginary parts, same shape.
    pub weight_im: Param<Tensor<B, 4>>,
    /// Modes kept, `[m1, m2]`.
    pub modes: [usize; 2],
}

impl<B: Backend> SpectralConv2d<B> {
    /// Applies the layer using tables built for this grid.
    ///
    /// # Shapes
    /// - `x`: `[batch, c_in, H, W]` with `basis` built for H×W and this layer's modes
    /// - output: `[batch, c_out, H, W]`
    pub fn forward(&self, x: Tensor<B, 4>, basis: &SpectralBasis2d<B>) -> Tensor<B, 4> {
        if basis.stacked.is_some() {
            return self.forward_stacked(x, basis);
        }
        let [b, ci, _, _] = x.dims();
        let co = self.weight_re.dims()[1];
        let (zr, zi) = basis.forward(x);
        let [_, _, m2, k1] = zr.dims();
        let m = m2 * k1;
        let (wr, wi) = self.mode_weights(basis, m2, ci, co);
        // [b, c_in, m2, K1] → [m, b, c_in] so that every mode is one small batched matmul.
        let t = |z: Tensor<B, 4>| z.reshape([b, ci, m]).permute([2, 0, 1]);
        let (zr, zi) = (t(zr), t(zi));
        let or = zr.clone().matmul(wr.clone()) - zi.clone().matmul(wi.clone());
        let oi = zr.matmul(wi) + zi.matmul(wr);
        let back = |o: Tensor<B, 3>| o.permute([1, 2, 0]).reshape([b, co, m2, k1]);
        basis.inverse(back(or), back(oi))
    }

    /// Real and imaginary weights of the modes this grid holds: `[c_in, c_out, K1, m2]` →
    /// `[m2·K1, c_in, c_out]`, in the (W-mode, H-mode) order of the transform's output.
    fn mode_weights(&self, basis: &SpectralBasis2d<B>, m2: usize, ci: usize, co: usize) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let m = m2 * basis.k1();
        let pick = |w: Tensor<B, 4>| {
            let m1 = self.modes[0];
            let w = w.narrow(3, 0, m2);
            let w = if basis.m1_pos == m1 && basis.m1_neg == m1 {
                w
            } else {
                let mut parts = vec![w.clone().narrow(2, 0, basis.m1_pos)];
                if basis.m1_neg > 0 {
                    parts.push(w.narrow(2, m1, basis.m1_neg));
                }
                Tensor::cat(parts, 2)
            };
            w.permute([3, 2, 0, 1]).reshape([m, ci, co])
        };
        (pick(self.weight_re.val()), pick(self.weight_im.val()))
    }

    /// [`Self::forward`] in [`crate::layers::dft::SpectralLayout::Stacked`]: every complex
    /// product as one real product of doubled size.
    fn forward_stacked(&self, x: Tensor<B, 4>, basis: &SpectralBasis2d<B>) -> Tensor<B, 4> {
        let [b, ci, _, _] = x.dims();
        let co = self.weight_re.dims()[1];
        let z = basis.forward_stacked(x).expect("the basis has stacked tables");
        let [_, _, m2, k2] = z.dims();
        let k1 = k2 / 2;
        let m = m2 * k1;
        let (wr, wi) = self.mode_weights(basis, m2, ci, co);
        // [zr | zi] · [[wr, wi], [−wi, wr]] = [zr·wr − zi·wi | zr·wi + zi·wr], per mode.
        let weights = Tensor::cat(vec![Tensor::cat(vec![wr.clone(), wi.clone()], 2), Tensor::cat(vec![wi.neg(), wr], 2)], 1);
        // [b, c_in, m2, 2, K1] → [m2, K1, b, 2, c_in] → [m, b, 2·c_in].
        let z = z.reshape([b, ci, m2, 2, k1]).permute([2, 4, 0, 3, 1]).reshape([m, b, 2 * ci]);
        let o = z.matmul(weights);
        // [m2, K1, b, 2, c_out] → [b, c_out, m2, 2, K1] → [b, c_out, m2, 2·K1].
        let o = o.reshape([m2, k1, b, 2, co]).permute([2, 4, 0, 3, 1]).reshape([b, co, m2, 2 * k1]);
        basis.inverse_stacked(o).expect("the basis has stacked tables")
    }
}

/// Configuration of a [`SpectralConv1d`].
#[derive(Config, Debug)]
pub struct SpectralConv1dConfig {
    /// Input and output channels.
    pub channels: [usize; 2],
    /// Half-spectrum modes kept.
    pub modes: usize,
}

impl SpectralConv1dConfig {
    /// Builds the layer with the reference initialisation (as the 2-D layer).
    pub fn init<B: Backend>(&self, device: &B::Device) -> SpectralConv1d<B> {
        let [ci, co] = self.channels;
        let init = Initializer::Uniform { min: 0.0, max: 1.0 / (ci * co).max(1) as f64 };
        let shape = [ci, co, self.modes];
        SpectralConv1d { weight_re: init.init(shape, device), weight_im: init.init(shape, device) }
    }
}

/// A 1-D Fourier layer.
#[derive(Module, Debug)]
pub struct SpectralConv1d<B: Backend> {
    /// Real parts, `[c_in, c_out, m]`.
    pub weight_re: Param<Tensor<B, 3>>,
    /// Imaginary parts, same shape.
    pub weight_im: Param<Tensor<B, 3>>,
}

impl<B: Backend> SpectralConv1d<B> {
    /// Applies the layer.
    ///
    /// # Shapes
    /// - `x`: `[batch, c_in, n]` with `basis` built for n points
    /// - output: `[batch, c_out, n]`
    pub fn forward(&self, x: Tensor<B, 3>, basis: &SpectralBasis1d<B>) -> Tensor<B, 3> {
        let m = basis.m;
        let (zr, zi) = basis.forward(x);
        let pick = |w: Tensor<B, 3>| w.narrow(2, 0, m).permute([2, 0, 1]);
        let (wr, wi) = (pick(self.weight_re.val()), pick(self.weight_im.val()));
        let t = |z: Tensor<B, 3>| z.permute([2, 0, 1]);
        let (zr, zi) = (t(zr), t(zi));
        let or = zr.clone().matmul(wr.clone()) - zi.clone().matmul(wi.clone());
        let oi = zr.matmul(wi) + zi.matmul(wr);
        let back = |o: Tensor<B, 3>| o.permute([1, 2, 0]);
        basis.inverse(back(or), back(oi))
    }
}
