//! The fused Adam step on the GPU backends: [`kernel::adam_kernel`] launched on their tensors at
//! once, or registered in a fusion stream as one custom operation with four inputs (parameter,
//! gradient, both moments) and three outputs.
//!
//! Checked against an f64 evaluation of burn's formulas on wgpu (Mesa lavapipe) by
//! `bench/operators/conv_kernel_check`; on CUDA, `gpu_bench --only adam` compares it with burn's
//! Adam. Used by `training::fused_adam::FusedAdam` unless the run's options say `adam = "burn"`.

mod kernel;

use burn::tensor::DType;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeRuntime, FloatElement, IntElement};
use cubecl::prelude::{CubeCount, CubeDim};

use super::fusion_job::{DeviceJob, FusionTensor};
use crate::backend::optim::AdamHyper;

/// One fused Adam step on device tensors of the same shape (f32): returns the new parameter and
/// both new moments.
pub fn adam_step_on_device<R: CubeRuntime>(
    param: CubeTensor<R>,
    grad: CubeTensor<R>,
    m1: CubeTensor<R>,
    m2: CubeTensor<R>,
    hyper: AdamHyper,
) -> [CubeTensor<R>; 3] {
    // The kernel walks the flat index of every tensor: all four must be contiguous.
    let [param, grad, m1, m2] = [param, grad, m1, m2].map(into_contiguous);
    let shape = param.meta.shape().clone();
    let n = shape.num_elements();
    let client = param.client.clone();
    let out = || empty_device_contiguous_dtype(client.clone(), param.device.clone(), shape.clone(), DType::F32);
    let (param_out, m1_out, m2_out) = (out(), out(), out());
    let (step_size, eps_scaled) = kernel::adam_scalars(hyper.lr, hyper.beta_1, hyper.beta_2, hyper.epsilon, hyper.step);
    // SAFETY: all seven tensors are contiguous with n elements; the kernel indexes below n.
    unsafe {
        kernel::adam_kernel::launch_unchecked::<R>(
            &client,
            CubeCount::Static(n.div_ceil(kernel::ADAM_UNITS).max(1) as u32, 1, 1),
            CubeDim::new_1d(kernel::ADAM_UNITS as u32),
            param.into_tensor_arg(),
            grad.into_tensor_arg(),
            m1.into_tensor_arg(),
            m2.into_tensor_arg(),
            param_out.clone().into_tensor_arg(),
            m1_out.clone().into_tensor_arg(),
            m2_out.clone().into_tensor_arg(),
            hyper.beta_1,
            hyper.beta_2,
            hyper.weight_decay,
            step_size,
            eps_scaled,
        );
    }
    [param_out, m1_out, m2_out]
}

fn all_f32(dtypes: [DType; 4]) -> bool {
    dtypes.iter().all(|d| *d == DType::F32)
}

/// [`adam_step_on_device`] launched at once (a backend without fusion); `None` unless all four
/// tensors are f32.
pub fn direct_adam_step<R: CubeRuntime>(
    param: CubeTensor<R>,
    grad: CubeTensor<R>,
    m1: CubeTensor<R>,
    m2: CubeTensor<R>,
    hyper: AdamHyper,
) -> Option<[CubeTensor<R>; 3]> {
    all_f32([param.dtype, grad.dtype, m1.dtype, m2.dtype]).then(|| adam_step_on_device(param, grad, m1, m2, hyper))
}

/// [`adam_step_on_device`] as a fusion job: inputs (param, grad, m1, m2), outputs (param, m1, m2).
#[derive(Debug)]
struct AdamJob(AdamHyper);

impl DeviceJob for AdamJob {
    fn run<R: CubeRuntime>(&self, inputs: Vec<CubeTensor<R>>) -> Vec<CubeTensor<R>> {
        match <[CubeTensor<R>; 4]>::try_from(inputs) {
            Ok([p, g, a, v]) => adam_step_on_device(p, g, a, v, self.0).into(),
            Err(_) => Vec::new(),
        }
    }
}

/// [`adam_step_on_device`] as one operation of a fusion backend's stream; `None` unless all four
/// tensors are f32.
pub fn fused_adam_step<R, F, I, BT>(
    param: FusionTensor<R, F, I, BT>,
    grad: FusionTensor<R, F, I, BT>,
    m1: FusionTensor<R, F, I, BT>,
    m2: FusionTensor<R, F, I, BT>,
    hyper: AdamHyper,
) -> Option<[FusionTensor<R, F, I, BT>; 3]>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    if !all_f32([param.dtype, grad.dtype, m1.dtype, m2.dtype]) {
        return None;
    }
    let shape = param.shape.clone();
    let outputs = super::fusion_job::register::<R, F, I, BT, _>(vec![param, grad, m1, m2], vec![shape; 3], "oplab_adam_step", AdamJob(hyper));
    <[_; 3]>::try_from(outputs).ok()
}
