//! The fused `gelu(a + b)` of MgNO's and FNO's layers on burn's CUDA backend without fusion:
//! [`kernel::add_gelu_kernel`] and [`kernel::add_gelu_backward_kernel`] launched on its tensors.
//!
//! Why: on that backend every tensor operation is its own kernel, and burn composes the GELU and
//! its gradient from about twenty element-wise operations, each a pass over a
//! `[batch, 24, 256, 256]` tensor at MgNO's largest grid (a kernel profile of the MgNO 256²
//! step showed them). A fusion backend fuses the composition itself and keeps it.
//!
//! Checked against an f64 evaluation on wgpu (Mesa lavapipe) by `bench/operators/conv_kernel_check`;
//! on CUDA, `gpu_bench --only check` compares the training step's gradients with the composition.

mod kernel;

use burn::tensor::DType;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::CubeRuntime;
use cubecl::prelude::{CubeCount, CubeDim};

/// Whether the kernels take these tensors: all f32, one shape (no broadcasting).
fn applies<R: CubeRuntime>(tensors: &[&CubeTensor<R>]) -> bool {
    let first = tensors[0].meta.shape();
    tensors.iter().all(|t| t.dtype == DType::F32 && t.meta.shape() == first)
}

/// Cube count and shape of a launch over `n` elements, one unit each.
fn launch_shape(n: usize) -> (CubeCount, CubeDim) {
    (CubeCount::Static(n.div_ceil(kernel::GELU_UNITS).max(1) as u32, 1, 1), CubeDim::new_1d(kernel::GELU_UNITS as u32))
}

/// `gelu(a + b)` in one kernel; `None` unless both are f32 tensors of one shape.
pub fn direct_add_gelu<R: CubeRuntime>(a: CubeTensor<R>, b: CubeTensor<R>) -> Option<CubeTensor<R>> {
    if !applies(&[&a, &b]) {
        return None;
    }
    // The kernel walks the flat index of every tensor: all must be contiguous.
    let [a, b] = [a, b].map(into_contiguous);
    let (client, shape) = (a.client.clone(), a.meta.shape().clone());
    let (count, dim) = launch_shape(shape.num_elements());
    let y = empty_device_contiguous_dtype(client.clone(), a.device.clone(), shape, DType::F32);
    // SAFETY: the three tensors are contiguous with n elements; the kernel indexes below n.
    unsafe {
        kernel::add_gelu_kernel::launch_unchecked::<R>(&client, count, dim, a.into_tensor_arg(), b.into_tensor_arg(), y.clone().into_tensor_arg());
    }
    Some(y)
}

/// The gradient of `gelu(a + b)` with respect to either summand for the output gradient `grad`,
/// in one kernel; `None` unless all three are f32 tensors of one shape.
pub fn direct_add_gelu_backward<R: CubeRuntime>(a: CubeTensor<R>, b: CubeTensor<R>, grad: CubeTensor<R>) -> Option<CubeTensor<R>> {
    if !applies(&[&a, &b, &grad]) {
        return None;
    }
    let [a, b, grad] = [a, b, grad].map(into_contiguous);
    let (client, shape) = (a.client.clone(), a.meta.shape().clone());
    let (count, dim) = launch_shape(shape.num_elements());
    let dz = empty_device_contiguous_dtype(client.clone(), a.device.clone(), shape, DType::F32);
    // SAFETY: the four tensors are contiguous with n elements; the kernel indexes below n.
    unsafe {
        kernel::add_gelu_backward_kernel::launch_unchecked::<R>(
            &client,
            count,
            dim,
            a.into_tensor_arg(),
            b.into_tensor_arg(),
            grad.into_tensor_arg(),
            dz.clone().into_tensor_arg(),
        );
    }
    Some(dz)
}
