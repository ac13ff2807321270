//! Numerical checks of the custom layers: the spectral convolution against a direct DFT, and
//! gradients of MgNO and FNO against central finite differences in f64.

use burn::backend::Autodiff;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Distribution, Tensor, TensorData};
use oplab_operators::backend::Cpu;
use oplab_operators::layers::dft::{SpectralBasis2d, SpectralLayout};
use oplab_operators::layers::PaddingMode;
use oplab_operators::layers::SpectralConv2dConfig;
use oplab_operators::{Fno2dConfig, MgNoConfig, Operator2d};

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
}

/// y = irfft2(W · rfft2(x) restricted to the kept modes), computed from the definitions with a
/// Hermitian-completed full spectrum and a full inverse DFT.
#[allow(clippy::too_many_arguments)] // the definition's own symbols, one argument each
fn direct_spectral(x: &[f64], ci: usize, co: usize, h: usize, w: usize, wr: &[f64], wi: &[f64], m1: usize, m2: usize) -> Vec<f64> {
    use std::f64::consts::PI;
    let m1e = m1.min(h / 2);
    let m2e = m2.min(w / 2 + 1);
    let rows: Vec<(usize, usize)> = (0..m1e).map(|k| (k, k)).chain((0..m1e).map(|k| (h - m1e + k, m1 + k))).collect();
    let mut y = vec![0.0; co * h * w];
    for o in 0..co {
        // Full spectrum G[k1][k2] (complex) of output channel o.
        let mut g = vec![(0.0f64, 0.0f64); h * w];
        for &(k1, wrow) in &rows {
            for k2 in 0..m2e {
                let (mut sr, mut si) = (0.0, 0.0);
                for i in 0..ci {
                    // X = Σ x e^{-2πi(k1 a/h + k2 b/w)}
                    let (mut xr, mut xi) = (0.0, 0.0);
                    for a in 0..h {
                        for b in 0..w {
                            let ang = -2.0 * PI * ((k1 * a) as f64 / h as f64 + (k2 * b) as f64 / w as f64);
                            let v = x[(i * h + a) * w + b];
                            xr += v * ang.cos();
                            xi += v * ang.sin();
                        }
                    }
                    let widx = ((i * co + o) * (2 * m1) + wrow) * m2 + k2;
                    sr += xr * wr[widx] - xi * wi[widx];
                    si += xr * wi[widx] + xi * wr[widx];
                }
                g[k1 * w + k2] = (sr, si);
                if k2 > 0 && 2 * k2 != w {
                    let (c1, c2) = ((h - k1) % h, w - k2);
                    g[c1 * w + c2] = (sr, -si);
                }
            }
        }
        for a in 0..h {
            for b in 0..w {
                let mut s = 0.0;
                for k1 in 0..h {
                    for k2 in 0..w {
                        let (gr, gi) = g[k1 * w + k2];
                        let ang = 2.0 * PI * ((k1 * a) as f64 / h as f64 + (k2 * b) as f64 / w as f64);
                        s += gr * ang.cos() - gi * ang.sin();
                    }
                }
                y[(o * h + a) * w + b] = s / (h * w) as f64;
            }
        }
    }
    y
}

#[test]
fn spectral_layer_equals_a_direct_dft() {
    let device = Default::default();
    for (h, w, m1, m2) in [(8, 8, 2, 3), (7, 6, 2, 4), (6, 5, 3, 3), (5, 9, 4, 2)] {
        let (ci, co) = (2, 3);
        let layer = SpectralConv2dConfig::new([ci, co], [m1, m2]).init::<Cpu>(&device);
        let x = Tensor::<Cpu, 4>::random([1, ci, h, w], Distribution::Normal(0.0, 1.0), &device);
        let expect = direct_spectral(&to_vec(x.clone()), ci, co, h, w, &to_vec(layer.weight_re.val()), &to_vec(layer.weight_im.val()), m1, m2);
        for layout in [SpectralLayout::Split, SpectralLayout::Stacked] {
            let basis = SpectralBasis2d::<Cpu>::with_layout(h, w, [m1, m2], layout, &device, DType::F32);
            let got = to_vec(layer.forward(x.clone(), &basis));
            let scale = expect.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let err = got.iter().zip(&expect).fold(0.0f64, |a, (g, e)| a.max((g - e).abs()));
            assert!(err <= 1e-5 * scale.max(1e-3), "{layout:?} {h}x{w} modes {m1},{m2}: max error {err:e} (scale {scale:e})");
        }
    }
}

/// The two layouts of the spectral layer differ only in how the products are grouped: in f64
/// their outputs and gradients (input and both weight tensors) agree to rounding.
#[test]
fn spectral_layouts_give_the_same_gradients_in_f64() {
    let device = Default::default();
    for (h, w, m1, m2) in [(8, 8, 2, 3), (7, 6, 2, 4), (5, 9, 4, 2)] {
        let (ci, co) = (3, 2);
        let layer = SpectralConv2dConfig::new([ci, co], [m1, m2]).init::<Ad>(&device).map(&mut ToF64);
        let x = Tensor::<Ad, 4>::random([2, ci, h, w], Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
        let grads_of = |layout| {
            let x = x.clone().detach().require_grad();
            let basis = SpectralBasis2d::<Ad>::with_layout(h, w, [m1, m2], layout, &device, DType::F64);
            let y = layer.forward(x.clone(), &basis);
            // A fixed, non-constant weighting of the output (the same for both layouts).
            let weights: Vec<f64> = (0..y.dims().iter().product::<usize>()).map(|i| ((i as f64) * 0.618).fract() - 0.5).collect();
            let r = Tensor::<Ad, 4>::from_data(burn::tensor::TensorData::new(weights, y.dims()), (&device, DType::F64));
            let grads = (y.clone() * r).sum().backward();
            let mut out = vec![to_vec(y.inner()), to_vec(x.grad(&grads).unwrap())];
            out.push(to_vec(layer.weight_re.val().grad(&grads).unwrap()));
            out.push(to_vec(layer.weight_im.val().grad(&grads).unwrap()));
            out
        };
        let (split, stacked) = (grads_of(SpectralLayout::Split), grads_of(SpectralLayout::Stacked));
        for (a, b) in split.iter().zip(&stacked) {
            let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
            let err = a.iter().zip(b).fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
            assert!(err <= 1e-12 * scale, "{h}x{w} modes {m1},{m2}: split vs stacked differ by {err:e} (scale {scale:e})");
        }
    }
}

type Ad = Autodiff<Cpu>;

/// Casts every float parameter to f64 (a fresh leaf that requires gradients).
struct ToF64;
impl<B: Backend> ModuleMapper<B> for ToF64 {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, t, mapper) = param.consume();
        Param::from_mapped_value(id, t.cast(DType::F64).detach().require_grad(), mapper)
    }
}

/// Adds `eps` to entry `index` of the parameter `id`.
struct Perturb {
    id: ParamId,
    index: usize,
    eps: f64,
}
impl<B: Backend> ModuleMapper<B> for Perturb {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, t, mapper) = param.consume();
        let t = if id == self.id {
            let shape = t.shape();
            let mut v = vec![0.0f64; shape.num_elements()];
            v[self.index] = self.eps;
            let bump = Tensor::<B, D>::from_data(TensorData::new(v, shape), (&t.device(), DType::F64));
            t + bump
        } else {
            t
        };
        Param::from_mapped_value(id, t, mapper)
    }
}

/// Collects (id, number of entries) of every float parameter.
struct Ids(Vec<(ParamId, usize)>);
impl<B: Backend> ModuleVisitor<B> for Ids {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push((param.id, param.val().shape().num_elements()));
    }
}

/// Compares autodiff gradients of L = Σ r · model(x) with central differences, for a few
/// entries of every parameter; returns the largest relative error.
fn grad_check<M>(model: M, x: Tensor<Ad, 4>) -> f64
where
    M: Operator2d<Ad> + burn::module::AutodiffModule<Ad>,
    M::InnerModule: Operator2d<Cpu>,
{
    let device = Default::default();
    let model = model.map(&mut ToF64);
    let x = x.cast(DType::F64);
    let out_dims = model.forward(x.clone()).dims();
    let r = Tensor::<Ad, 4>::random(out_dims, Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
    let loss = (model.forward(x.clone()) * r.clone()).sum();
    let grads = loss.backward();
    let mut ids = Ids(Vec::new());
    model.visit(&mut ids);
    let inner = model.valid();
    let (xi, ri) = (x.inner(), r.inner());
    let eval = |m: &M::InnerModule| -> f64 { to_vec((m.forward(xi.clone()) * ri.clone()).sum())[0] };
    let mut worst: f64 = 0.0;
    let eps = 1e-6;
    for (pi, (id, n)) in ids.0.iter().enumerate() {
        // The gradient of this parameter, flattened.
        let mut finder = GradOf { id: *id, grads: &grads, out: None };
        model.visit(&mut finder);
        let g = finder.out.expect("gradient exists");
        for k in [0, n / 2, n - 1] {
            let plus = inner.clone().map(&mut Perturb { id: *id, index: k, eps });
            let minus = inner.clone().map(&mut Perturb { id: *id, index: k, eps: -eps });
            let fd = (eval(&plus) - eval(&minus)) / (2.0 * eps);
            let rel = (g[k] - fd).abs() / (fd.abs().max(g[k].abs()).max(1e-3));
            assert!(rel < 1e-5, "parameter {pi} entry {k}: autodiff {} vs finite difference {fd}", g[k]);
            worst = worst.max(rel);
        }
    }
    worst
}

struct GradOf<'a> {
    id: ParamId,
    grads: &'a <Ad as burn::tensor::backend::AutodiffBackend>::Gradients,
    out: Option<Vec<f64>>,
}
impl ModuleVisitor<Ad> for GradOf<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Ad, D>>) {
        if param.id == self.id {
            self.out = param.val().grad(self.grads).map(to_vec);
        }
    }
}

#[test]
fn mgno_gradients_match_finite_differences_in_f64() {
    let device = Default::default();
    for padding in [PaddingMode::Zeros, PaddingMode::Circular, PaddingMode::Reflect] {
        let cfg = MgNoConfig::new().with_channels(2).with_layers(2).with_levels(vec![[1, 1], [1, 0], [2, 0]]).with_padding(padding);
        let model = cfg.init::<Ad>(&device).unwrap();
        let x = Tensor::<Ad, 4>::random([2, 1, 7, 6], Distribution::Normal(0.0, 1.0), &device);
        let worst = grad_check(model, x);
        eprintln!("MgNO {padding:?}: worst relative gradient error {worst:.2e}");
    }
}

#[test]
fn fno_gradients_match_finite_differences_in_f64() {
    let device = Default::default();
    let cfg = Fno2dConfig::new().with_width(3).with_modes([2, 3]).with_layers(2).with_projection(4).with_domain_padding(2);
    let model = cfg.init::<Ad>(&device).unwrap();
    let x = Tensor::<Ad, 4>::random([2, 1, 6, 5], Distribution::Normal(0.0, 1.0), &device);
    let worst = grad_check(model, x);
    eprintln!("FNO: worst relative gradient error {worst:.2e}");
}
