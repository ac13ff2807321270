//! Running oplab's own cubecl kernels as custom operations of burn's fusion stream.
//!
//! burn's CUDA backend is `Fusion<CubeBackend<..>>`: tensor operations are recorded in a stream
//! and executed later, so a hand-written kernel has to be registered there too, as a
//! `CustomOpIr` with its inputs and outputs (the mechanism burn-vision uses). A [`DeviceJob`]
//! says what runs on the device tensors; [`register`] does the bookkeeping once for every job
//! (the convolution kernels of [`super::conv`], the Adam step of [`super::adam`]).

use std::marker::PhantomData;

use burn::tensor::ops::FloatTensor;
use burn::tensor::{DType, Shape};
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use burn_fusion::stream::{Operation, OperationStreams};
use burn_fusion::{Fusion, FusionBackend, FusionRuntime};
use burn_ir::{CustomOpIr, HandleContainer, OperationIr, TensorIr};

/// A float tensor of burn's fusion backend over a cubecl backend: what oplab's kernels take and return.
pub type FusionTensor<R, F, I, BT> = FloatTensor<Fusion<CubeBackend<R, F, I, BT>>>;

/// A computation on device tensors that runs as one custom operation of a fusion stream.
pub trait DeviceJob: std::fmt::Debug + Send + Sync + 'static {
    /// Computes the outputs (in the order [`register`] was given their shapes) from the inputs
    /// (in registration order).
    fn run<R: CubeRuntime>(&self, inputs: Vec<CubeTensor<R>>) -> Vec<CubeTensor<R>>;
}

/// The fusion-stream operation running a [`DeviceJob`] on the backend `B`'s tensors.
struct JobOp<B, J> {
    desc: CustomOpIr,
    job: J,
    _backend: PhantomData<fn() -> B>,
}

impl<B, J: std::fmt::Debug> std::fmt::Debug for JobOp<B, J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobOp").field("id", &self.desc.id).field("job", &self.job).finish()
    }
}

impl<R, F, I, BT, J> Operation<<CubeBackend<R, F, I, BT> as FusionBackend>::FusionRuntime> for JobOp<CubeBackend<R, F, I, BT>, J>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
    J: DeviceJob,
{
    fn execute(&self, handles: &mut HandleContainer<<<CubeBackend<R, F, I, BT> as FusionBackend>::FusionRuntime as FusionRuntime>::FusionHandle>) {
        let inputs = self.desc.inputs.iter().map(|t| handles.get_float_tensor::<CubeBackend<R, F, I, BT>>(t)).collect();
        for (ir, tensor) in self.desc.outputs.iter().zip(self.job.run(inputs)) {
            handles.register_float_tensor::<CubeBackend<R, F, I, BT>>(&ir.id, tensor);
        }
    }
}

/// Registers `job` on `inputs` as one operation named `name` of their fusion stream, with f32
/// outputs of the given shapes; returns the outputs (empty if `inputs` is).
pub fn register<R, F, I, BT, J>(inputs: Vec<FusionTensor<R, F, I, BT>>, outputs: Vec<Shape>, name: &'static str, job: J) -> Vec<FusionTensor<R, F, I, BT>>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
    J: DeviceJob,
{
    let Some(client) = inputs.first().map(|t| t.client.clone()) else {
        return Vec::new();
    };
    let streams = OperationStreams::with_inputs(inputs.iter());
    let outputs: Vec<TensorIr> = outputs.into_iter().map(|shape| TensorIr::uninit(client.create_empty_handle(), shape, DType::F32)).collect();
    let inputs: Vec<TensorIr> = inputs.into_iter().map(|t| t.into_ir()).collect();
    let desc = CustomOpIr::new(name, &inputs, &outputs);
    let op = JobOp::<CubeBackend<R, F, I, BT>, J> { desc: desc.clone(), job, _backend: PhantomData };
    client.register(streams, OperationIr::Custom(desc), op)
}
