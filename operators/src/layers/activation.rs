//! `gelu(a + b)`, the activation of every MgNO and FNO layer, with the exact gradient of the erf
//! form on every backend and, where the backend has them, one kernel each way
//! (`backend::activation` has the operation and the reasons for it).

use burn::tensor::activation::gelu;
use burn::tensor::Tensor;

use crate::backend::select;
use crate::backend::tensor::{prim, wrap};
use crate::backend::ActivationBackend;

/// `gelu(a + b)` for two tensors of one shape, with the exact gradient; burn's own `gelu(a + b)`
/// under the option `gelu = "burn"` (its forward and its tanh-approximation gradient, for
/// comparisons) and for tensors of different shapes (broadcasting).
pub fn add_gelu<B: ActivationBackend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, D> {
    if !select::exact_gelu() || a.dims() != b.dims() {
        return gelu(a + b);
    }
    wrap(B::add_gelu(prim(a), prim(b)))
}

/// `gelu(x)`: [`add_gelu`] with a zero summand, so that single-input activations (the U-Net's
/// `GroupNorm → GELU`) get the same exact-gradient operation and the same `gelu` option.
pub fn gelu_exact<B: ActivationBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let zero = x.zeros_like();
    add_gelu(x, zero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::backend::Autodiff;
    use burn::tensor::backend::Backend;
    use burn::tensor::Distribution;

    type Ad = Autodiff<Cpu>;

    fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    /// The forward without a kernel is burn's `gelu(a + b)`, bit for bit.
    #[test]
    fn forward_is_burns_gelu_of_the_sum() {
        let device = Default::default();
        let a = Tensor::<Cpu, 4>::random([2, 3, 5, 7], Distribution::Normal(0.0, 2.0), &device);
        let b = Tensor::<Cpu, 4>::random([2, 3, 5, 7], Distribution::Normal(0.0, 2.0), &device);
        assert_eq!(values(add_gelu(a.clone(), b.clone())), values(gelu(a + b)));
    }

    /// The gradient against a second method: burn's autodiff of the erf form spelled out with
    /// primitive operations (whose derivatives, erf's included, are exact), for both summands,
    /// a summand used twice, and a summand that is a constant.
    #[test]
    fn gradient_is_the_derivative_of_the_erf_form() {
        let device = Default::default();
        let data_a = Tensor::<Cpu, 3>::random([2, 4, 33], Distribution::Normal(0.0, 2.5), &device).into_data();
        let data_b = Tensor::<Cpu, 3>::random([2, 4, 33], Distribution::Normal(0.0, 2.5), &device).into_data();
        let weights = Tensor::<Ad, 3>::random([2, 4, 33], Distribution::Normal(0.0, 1.0), &device);
        let erf_form = |s: Tensor<Ad, 3>| s.clone() * ((s / std::f32::consts::SQRT_2).erf() + 1.0) / 2.0;
        let leaf = |d: &burn::tensor::TensorData| Tensor::<Ad, 3>::from_data(d.clone(), &device).require_grad();
        let (a, b) = (leaf(&data_a), leaf(&data_b));
        let grads = (add_gelu(a.clone(), b.clone()) * weights.clone()).sum().backward();
        let (ga, gb) = (a.grad(&grads).unwrap(), b.grad(&grads).unwrap());
        let (a2, b2) = (leaf(&data_a), leaf(&data_b));
        let grads2 = (erf_form(a2.clone() + b2.clone()) * weights.clone()).sum().backward();
        let want = a2.grad(&grads2).unwrap();
        let close = |got: Vec<f32>, want: &[f32]| got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 2e-6 * (1.0 + w.abs()));
        let want = values(want);
        assert!(close(values(ga), &want), "gradient with respect to a");
        assert!(close(values(gb), &want), "gradient with respect to b");

        // x used twice: d/dx gelu(2x) = 2·gelu'(2x).
        let x = leaf(&data_a);
        let grads = (add_gelu(x.clone(), x.clone()) * weights.clone()).sum().backward();
        let x2 = leaf(&data_a);
        let grads2 = (erf_form(x2.clone() * 2.0) * weights.clone()).sum().backward();
        assert!(close(values(x.grad(&grads).unwrap()), &values(x2.grad(&grads2).unwrap())), "summand used twice");

        // A constant summand gets no gradient, the other its full one.
        let (a, c) = (leaf(&data_a), Tensor::<Ad, 3>::from_data(data_b.clone(), &device));
        let grads = (add_gelu(a.clone(), c.clone()) * weights).sum().backward();
        assert!(close(values(a.grad(&grads).unwrap()), &want), "gradient next to a constant");
        assert!(c.grad(&grads).is_none());
    }

    /// Under the option `gelu = "burn"` the layers' activation is burn's own `gelu(a + b)`,
    /// forward and gradient.
    #[test]
    fn the_burn_option_gives_burns_operation() {
        use crate::backend::options::Gelu;
        use crate::backend::{select, BackendOptions};
        let device = Default::default();
        let data_a = Tensor::<Cpu, 3>::random([2, 3, 17], Distribution::Normal(0.0, 2.0), &device).into_data();
        let data_b = Tensor::<Cpu, 3>::random([2, 3, 17], Distribution::Normal(0.0, 2.0), &device).into_data();
        let leaf = |d: &burn::tensor::TensorData| Tensor::<Ad, 3>::from_data(d.clone(), &device).require_grad();
        let run = |f: &dyn Fn(Tensor<Ad, 3>, Tensor<Ad, 3>) -> Tensor<Ad, 3>| {
            let (a, b) = (leaf(&data_a), leaf(&data_b));
            let y = f(a.clone(), b);
            let grads = y.clone().sum().backward();
            (values(y.inner()), values(a.grad(&grads).unwrap()))
        };
        let burn = BackendOptions { gelu: Gelu::Burn, ..Default::default() };
        let ours = select::with_options(&burn, || run(&|a, b| add_gelu(a, b)));
        assert_eq!(ours, run(&|a, b| gelu(a + b)));
    }
}
