//! Linear self-attention (von Oswald et al. 2022, theory.md §2.2) as a burn module,
//! generic over the backend so the same code trains in f32 and checks identities in f64.
//!
//! Tokens are e = (x, y) ∈ R^{d+1}; the query token is (x_q, 0). One layer updates every
//! token j by e_j ← e_j + P Σ_{i ∈ context} (W_V e_i)(W_K e_i)ᵀ(W_Q e_j): no softmax, no
//! 1/n (it lives in P), keys and values from the context only. The prediction is minus the
//! last coordinate of the updated query token.

use super::data::Batch;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData};
use rand::Rng;
use rand_distr::StandardNormal;

/// Configuration of an [`Lsa`] stack.
#[derive(Config, Debug)]
pub struct LsaConfig {
    /// Input dimension d (tokens have d + 1 entries).
    pub d: usize,
    /// Number of layers (untied weights).
    #[config(default = 1)]
    pub layers: usize,
    /// Variance-scaling factor of the initialisation: entries ~ N(0, init_scale/(layers·(d+1))),
    /// after von Oswald's VarianceScaling(0.002 / num_layers).
    #[config(default = 0.002)]
    pub init_scale: f64,
}

/// One linear self-attention layer. All matrices are [d+1, d+1] in (out, in) layout.
#[derive(Module, Debug)]
pub struct LsaLayer<B: Backend> {
    /// Query projection W_Q.
    pub w_q: Param<Tensor<B, 2>>,
    /// Key projection W_K.
    pub w_k: Param<Tensor<B, 2>>,
    /// Value projection W_V.
    pub w_v: Param<Tensor<B, 2>>,
    /// Output projection P.
    pub proj: Param<Tensor<B, 2>>,
}

/// A stack of LSA layers with residual updates.
#[derive(Module, Debug)]
pub struct Lsa<B: Backend> {
    /// The layers, applied in order.
    pub layers: Vec<LsaLayer<B>>,
    /// Number of context tokens; tokens after them are queries.
    pub n_ctx: usize,
}

/// Creates a [d1, d2] tensor of the given dtype from row-major f64 values.
pub fn tensor2<B: Backend>(values: Vec<f64>, shape: [usize; 2], device: &B::Device, dtype: DType) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(values, shape), (device, dtype))
}

/// Row-major f64 copy of any float tensor (f32 or f64).
pub fn to_f64<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    let data = t.into_data();
    match data.dtype {
        DType::F64 => data.to_vec::<f64>().unwrap_or_default(),
        _ => data.convert::<f64>().to_vec::<f64>().unwrap_or_default(),
    }
}

impl LsaConfig {
    /// Random initialisation drawn from `rng` (so runs are reproducible independent of
    /// the backend's own RNG), stored with `dtype`.
    pub fn init<B: Backend>(&self, n_ctx: usize, rng: &mut impl Rng, device: &B::Device, dtype: DType) -> Lsa<B> {
        let dp = self.d + 1;
        let std = (self.init_scale / (self.layers.max(1) * dp) as f64).sqrt();
        let mat = |rng: &mut dyn rand::RngCore| {
            let v: Vec<f64> = (0..dp * dp).map(|_| std * rng.sample::<f64, _>(StandardNormal)).collect();
            Param::from_tensor(tensor2::<B>(v, [dp, dp], device, dtype))
        };
        let layers = (0..self.layers).map(|_| LsaLayer { w_q: mat(rng), w_k: mat(rng), w_v: mat(rng), proj: mat(rng) }).collect();
        Lsa { layers, n_ctx }
    }
}

impl<B: Backend> LsaLayer<B> {
    /// Builds a layer from explicit row-major matrices.
    pub fn from_matrices(w_q: Vec<f64>, w_k: Vec<f64>, w_v: Vec<f64>, proj: Vec<f64>, dp: usize, device: &B::Device, dtype: DType) -> Self {
        let p = |v| Param::from_tensor(tensor2::<B>(v, [dp, dp], device, dtype));
        Self { w_q: p(w_q), w_k: p(w_k), w_v: p(w_v), proj: p(proj) }
    }

    /// Applies the layer to tokens [b, t, d+1] whose first `n_ctx` rows are the context.
    pub fn forward(&self, tokens: Tensor<B, 3>, n_ctx: usize) -> Tensor<B, 3> {
        let [b, t, dp] = tokens.dims();
        let lin = |x: Tensor<B, 3>, w: &Param<Tensor<B, 2>>, rows: usize| x.reshape([b * rows, dp]).matmul(w.val().transpose()).reshape([b, rows, dp]);
        let ctx = tokens.clone().narrow(1, 0, n_ctx);
        let q = lin(tokens.clone(), &self.w_q, t);
        let k = lin(ctx.clone(), &self.w_k, n_ctx);
        let v = lin(ctx, &self.w_v, n_ctx);
        let scores = q.matmul(k.swap_dims(1, 2)); // [b, t, n_ctx]
        let update = lin(scores.matmul(v), &self.proj, t);
        tokens + update
    }
}

impl<B: Backend> Lsa<B> {
    /// Runs all layers on tokens [b, t, d+1].
    pub fn forward(&self, mut tokens: Tensor<B, 3>) -> Tensor<B, 3> {
        for layer in &self.layers {
            tokens = layer.forward(tokens, self.n_ctx);
        }
        tokens
    }

    /// Predictions `[b]`: minus the last coordinate of the (first) query token.
    pub fn predict(&self, tokens: Tensor<B, 3>) -> Tensor<B, 1> {
        let [b, _, dp] = tokens.dims();
        self.forward(tokens).narrow(1, self.n_ctx, 1).narrow(2, dp - 1, 1).reshape([b]).neg()
    }
}

/// Tokens [b, n+1, d+1] of a batch: context (x_i, y_i) and query (x_q, y0_q) where
/// `query_y` gives the initial y-slot of the query (0 for the trained setting).
pub fn tokens<B: Backend>(batch: &Batch, query_y: Option<&[f64]>, device: &B::Device, dtype: DType) -> Tensor<B, 3> {
    let (n, d) = (batch.n, batch.d);
    let dp = d + 1;
    let mut v = Vec::with_capacity(batch.b * (n + 1) * dp);
    for t in 0..batch.b {
        for i in 0..n {
            v.extend_from_slice(batch.x(t, i));
            v.push(batch.y(t, i));
        }
        v.extend_from_slice(batch.query(t));
        v.push(query_y.map(|q| q[t]).unwrap_or(0.0));
    }
    Tensor::from_data(TensorData::new(v, [batch.b, n + 1, dp]), (device, dtype))
}

/// von Oswald's Proposition 1: the layer whose update is one GD step on
/// L(W) = (1/2n)Σ(W x_i − y_i)² from W_0, with step η:
/// W_K = W_Q = [[I, 0], [0, 0]], W_V = [[0, 0], [W_0, −1]], P = (η/n) I.
/// The query must be initialised as (x_q, −W_0 x_q).
pub fn gd_construction<B: Backend>(d: usize, n: usize, w0: &[f64], eta: f64, device: &B::Device, dtype: DType) -> Lsa<B> {
    let dp = d + 1;
    let mut kq = vec![0.0; dp * dp];
    (0..d).for_each(|i| kq[i * dp + i] = 1.0);
    let mut v = vec![0.0; dp * dp];
    v[d * dp..d * dp + d].copy_from_slice(w0);
    v[d * dp + d] = -1.0;
    let mut p = vec![0.0; dp * dp];
    (0..dp).for_each(|i| p[i * dp + i] = eta / n as f64);
    Lsa { layers: vec![LsaLayer::from_matrices(kq.clone(), kq, v, p, dp, device, dtype)], n_ctx: n }
}

/// Reads GD++ parameters (η_ℓ, γ_ℓ) off every layer, assuming the GD++ structure
/// (isotropic x-blocks): with M = W_KᵀW_Q and V = P W_V,
/// γ_ℓ = −mean diag(V_xx)·mean diag(M_xx) and η_ℓ = −n·V_yy·mean diag(M_xx).
/// Comparing GD++ with these parameters to the model tests whether the model *is* GD++.
pub fn read_off_gdpp<B: Backend>(model: &Lsa<B>) -> Vec<(f64, f64)> {
    model
        .layers
        .iter()
        .map(|l| {
            let wq = to_f64(l.w_q.val());
            let wk = to_f64(l.w_k.val());
            let wv = to_f64(l.w_v.val());
            let pr = to_f64(l.proj.val());
            let dp = (wq.len() as f64).sqrt() as usize;
            let d = dp - 1;
            let prod = |a: &[f64], b: &[f64], i: usize, j: usize, ta: bool| -> f64 {
                (0..dp).map(|k| if ta { a[k * dp + i] } else { a[i * dp + k] } * b[k * dp + j]).sum()
            };
            let m_diag = (0..d).map(|i| prod(&wk, &wq, i, i, true)).sum::<f64>() / d as f64;
            let v_diag = (0..d).map(|i| prod(&pr, &wv, i, i, false)).sum::<f64>() / d as f64;
            let v_yy = prod(&pr, &wv, d, d, false);
            (-(model.n_ctx as f64) * v_yy * m_diag, -v_diag * m_diag)
        })
        .collect()
}

/// The effective one-layer parameters that determine the prediction:
/// M = W_Kᵀ W_Q restricted to its x-columns ((d+1)×d) and p = last row of P W_V, so that
/// ŷ = −Σ_i (p·e_i)(e_iᵀ M x_q) and ∂ŷ/∂x_q = −Mᵀ Σ_i (p·e_i) e_i.
#[derive(Debug, Clone)]
pub struct Effective {
    /// d.
    pub d: usize,
    /// W_Kᵀ W_Q, row-major (d+1)×(d+1).
    pub kq: Vec<f64>,
    /// Last row of P W_V (length d+1).
    pub p: Vec<f64>,
}

impl Effective {
    /// Extracts the effective parameters of the first layer.
    pub fn of<B: Backend>(model: &Lsa<B>) -> Self {
        let l = &model.layers[0];
        let wq = to_f64(l.w_q.val());
        let wk = to_f64(l.w_k.val());
        let wv = to_f64(l.w_v.val());
        let pr = to_f64(l.proj.val());
        let dp = (wq.len() as f64).sqrt() as usize;
        let mut kq = vec![0.0; dp * dp];
        for i in 0..dp {
            for j in 0..dp {
                kq[i * dp + j] = (0..dp).map(|k| wk[k * dp + i] * wq[k * dp + j]).sum();
            }
        }
        let last = dp - 1;
        let p = (0..dp).map(|j| (0..dp).map(|k| pr[last * dp + k] * wv[k * dp + j]).sum()).collect();
        Self { d: dp - 1, kq, p }
    }

    /// ∂ŷ/∂x_q for prompt t of `batch` (ŷ is linear in x_q, so this is exact).
    pub fn query_gradient(&self, batch: &Batch, t: usize) -> Vec<f64> {
        let (d, dp) = (self.d, self.d + 1);
        let mut s = vec![0.0; dp]; // Σ_i (p·e_i) e_i
        for i in 0..batch.n {
            let x = batch.x(t, i);
            let y = batch.y(t, i);
            let pe = super::data::dot(&self.p[..d], x) + self.p[d] * y;
            for k in 0..d {
                s[k] += pe * x[k];
            }
            s[d] += pe * y;
        }
        (0..d).map(|j| -(0..dp).map(|k| self.kq[k * dp + j] * s[k]).sum::<f64>()).collect()
    }

    /// Implied GD step size −n · p_y · mean diag(M_xx) (von Oswald's read-out).
    pub fn implied_eta(&self, n: usize) -> f64 {
        let dp = self.d + 1;
        let diag = (0..self.d).map(|i| self.kq[i * dp + i]).sum::<f64>() / self.d as f64;
        -(n as f64) * self.p[self.d] * diag
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::icl::data::{dot, TaskDistribution};
    use burn::backend::flex::FlexDevice;
    use burn::backend::Flex;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// von Oswald Prop. 1 in f64: the constructed layer's read-out is the GD prediction
    /// from W_0 to 1e-12, and the tensors really are f64 (an f32 path would differ ~1e-7).
    #[test]
    fn construction_equals_one_gd_step_in_f64() {
        let (d, n, b) = (10, 10, 32);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let batch = TaskDistribution::gaussian_iso(d, n, 0.1).unwrap().sample(b, &mut rng);
        let w0: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
        let eta = 0.7;
        let device = FlexDevice;
        let q0: Vec<f64> = (0..b).map(|t| -dot(&w0, batch.query(t))).collect();
        let model = gd_construction::<Flex>(d, n, &w0, eta, &device, DType::F64);
        let x = tokens::<Flex>(&batch, Some(&q0), &device, DType::F64);
        assert_eq!(x.dtype(), DType::F64);
        let out = model.predict(x);
        assert_eq!(out.dtype(), DType::F64);
        let pred = to_f64(out);
        assert_eq!(pred.len(), b);
        let mut worst: f64 = 0.0;
        for t in 0..b {
            let mut w1 = w0.clone();
            for i in 0..n {
                let r = dot(&w0, batch.x(t, i)) - batch.y(t, i);
                w1.iter_mut().zip(batch.x(t, i)).for_each(|(w, x)| *w -= eta / n as f64 * r * x);
            }
            let gd = dot(&w1, batch.query(t));
            assert!(pred[t].is_finite());
            worst = worst.max((pred[t] - gd).abs());
        }
        assert!(worst <= 1e-12, "max |LSA − GD| = {worst:e}");
        eprintln!("max |LSA − GD| = {worst:e}, first prediction {}", pred[0]);
    }
}
