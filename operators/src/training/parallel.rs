//! Data-parallel training of the field-to-field operators on burn's collective engine
//! (`burn-collective`): one model replica per device, every replica takes its slice of each
//! global batch, and the gradients are all-reduced before every replica takes the same optimiser
//! step. Replicas on one node are threads of one process summed by burn-collective; nodes are
//! processes started by an MPI launcher.
//!
//! A run on K replicas is the optimisation of a run on one device with the same global batch and
//! schedule: the loss of a step is the mean over the global batch whichever replica computed which
//! sample. Only the order of the floating-point sums differs (a replica sums its slice, the
//! all-reduce sums the replicas), so weights agree with a one-device run to summation-order noise,
//! and a run is bitwise reproducible for a fixed K.
//!
//! Across nodes the sums go through the launcher's MPI (`run::NodeGroup`), not through
//! burn-collective's own cross-node layer: in burn-collective 0.21.0 every cross-node all-reduce
//! ends in `SyncService::sync` (`global/node/sync.rs`), which clears a copy of its list of synced
//! peers instead of the list, so the second all-reduce of a process never returns (measured: two
//! processes on loopback finish the first all-reduce and hang in the second).

use std::sync::{Arc, Mutex};

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData, TensorPrimitive};
use burn_collective::{CollectiveConfig, PeerId, ReduceOperation};
use serde::{Deserialize, Serialize};

use crate::error::OperatorError;
use crate::run::NodeGroup;

/// What a configuration's `batch_size` counts in a data-parallel run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BatchMeaning {
    /// Samples per optimiser step over all replicas: a run on K devices is the same optimisation
    /// as on one (the default).
    #[default]
    Global,
    /// Samples per replica: the global batch grows with the number of replicas (the learning
    /// rate and schedule stay those of the configuration).
    PerDevice,
}

/// `[parallel]` of a training configuration: how many replicas train one model. Stored with the
/// run, since the number of replicas sets the order of the gradient sums; which devices they run
/// on is the call's business (`run::Placement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParallelSection {
    /// Replicas (devices) per node.
    pub devices: usize,
    /// Nodes (processes), each with `devices` replicas.
    pub nodes: usize,
    /// What `batch_size` counts: `global` or `per-device`.
    pub batch: BatchMeaning,
}

impl Default for ParallelSection {
    fn default() -> Self {
        ParallelSection { devices: 1, nodes: 1, batch: BatchMeaning::Global }
    }
}

impl ParallelSection {
    /// Most replicas per node and most nodes accepted.
    pub const MAX_DEVICES: usize = 64;
    /// Most nodes accepted.
    pub const MAX_NODES: usize = 4096;

    /// Replicas over all nodes.
    pub fn replicas(&self) -> usize {
        self.devices * self.nodes
    }

    /// Samples per optimiser step for a configured `batch_size`.
    pub fn global_batch(&self, batch_size: usize) -> usize {
        match self.batch {
            BatchMeaning::Global => batch_size,
            BatchMeaning::PerDevice => batch_size * self.replicas(),
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> crate::Result<()> {
        if !(1..=Self::MAX_DEVICES).contains(&self.devices) {
            return Err(OperatorError::invalid("parallel.devices", self.devices, format!("must be 1 to {}", Self::MAX_DEVICES)));
        }
        if !(1..=Self::MAX_NODES).contains(&self.nodes) {
            return Err(OperatorError::invalid("parallel.nodes", self.nodes, format!("must be 1 to {}", Self::MAX_NODES)));
        }
        Ok(())
    }
}

/// Only one group of replicas per process at a time: burn-collective's local server is one per
/// backend type and process.
static ONE_GROUP: Mutex<()> = Mutex::new(());

/// Holds the process's collective engine for one data-parallel fit.
pub(crate) fn exclusive_group() -> std::sync::MutexGuard<'static, ()> {
    ONE_GROUP.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One replica's place in a data-parallel run.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Rank over all nodes (0: the replica that validates and writes the run directory).
    pub rank: usize,
    /// Replicas over all nodes.
    pub count: usize,
    /// Sum order independent of the engines: where replicas share a device id (CPU), the engine's
    /// order of adding them is not fixed, so every replica's values are placed in its own row and
    /// the rows are added in rank order.
    pub exact_order: bool,
    /// The run spans several nodes: after the node's own sum, its first replica sums across
    /// nodes and hands the result to the others.
    pub multi_node: bool,
    /// The node group, on the node's first replica of a multi-node run only (the one thread per
    /// node that talks to the other nodes).
    pub nodes: Option<Arc<dyn NodeGroup>>,
}

impl Peer {
    /// A replica of a run on one node.
    pub fn single_node(rank: usize, count: usize, exact_order: bool) -> Peer {
        Peer { rank, count, exact_order, multi_node: false, nodes: None }
    }

    /// Whether this replica validates, keeps the run's files and decides when to stop.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// This replica's contiguous part of a global batch (sizes differ by at most one; empty when
    /// the batch has fewer samples than there are replicas).
    pub fn slice<'a>(&self, batch: &'a [usize]) -> &'a [usize] {
        let n = batch.len();
        &batch[n * self.rank / self.count..n * (self.rank + 1) / self.count]
    }

    /// Joins the collective on `device`; every replica calls it once before any other operation.
    pub fn register<B: Backend>(&self, device: &B::Device, config: CollectiveConfig) -> crate::Result<()> {
        burn_collective::register::<B>(self.peer_id(), device.clone(), config).map_err(collective_error)
    }

    /// Leaves the collective.
    pub fn finish<B: Backend>(&self) -> crate::Result<()> {
        burn_collective::finish_collective::<B>(self.peer_id()).map_err(collective_error)
    }

    fn peer_id(&self) -> PeerId {
        PeerId::from(self.rank as u32)
    }

    /// The sum of `values` over all replicas, the same on every replica.
    pub fn all_reduce<B: Backend>(&self, values: Tensor<B, 1>) -> crate::Result<Tensor<B, 1>> {
        let n = values.dims()[0];
        let device = values.device();
        // Each value is added to zeros only, which is exact in any order; the rows are then
        // summed in rank order, the same on every replica and in every run.
        let rows = if self.exact_order {
            Tensor::<B, 2>::zeros([self.count, n], &device).slice_assign([self.rank..self.rank + 1, 0..n], values.reshape([1, n]))
        } else {
            values.reshape([1, n])
        };
        let mut rows = self.node_sum(rows)?;
        if self.multi_node {
            let shape = rows.dims();
            let across = match &self.nodes {
                Some(nodes) => {
                    let mut host: Vec<f32> =
                        rows.into_data().convert::<f32>().to_vec().map_err(|e| OperatorError::Request(format!("data-parallel training: {e:?}")))?;
                    nodes.sum(&mut host)?;
                    Tensor::from_data(TensorData::new(host, shape), &device)
                }
                None => rows.zeros_like(),
            };
            // The other replicas of this node add zeros to the node's first replica's result.
            rows = self.node_sum(across)?;
        }
        if !self.exact_order {
            return Ok(rows.reshape([n]));
        }
        let mut sum = rows.clone().narrow(0, 0, 1);
        for r in 1..self.count {
            sum = sum + rows.clone().narrow(0, r, 1);
        }
        Ok(sum.reshape([n]))
    }

    /// The sum over this node's replicas (burn-collective's local all-reduce).
    fn node_sum<B: Backend>(&self, t: Tensor<B, 2>) -> crate::Result<Tensor<B, 2>> {
        let out = burn_collective::all_reduce::<B>(self.peer_id(), t.into_primitive().tensor(), ReduceOperation::Sum).map_err(collective_error)?;
        Ok(Tensor::from_primitive(TensorPrimitive::Float(out)))
    }

    /// The root's `decision`, on every replica (the others' arguments are ignored).
    pub fn root_decides<B: Backend>(&self, decision: bool, device: &B::Device) -> crate::Result<bool> {
        let mine = if self.is_root() && decision { 1.0f32 } else { 0.0 };
        let all = self.all_reduce(Tensor::<B, 1>::from_floats([mine], device))?;
        let v: f32 = all.into_scalar().elem();
        Ok(v > 0.5)
    }

    /// Sums the replicas' gradients of `model` (and their parts `local_loss`, one element, of the
    /// step's loss) in one all-reduce; every replica gets the same gradients and total. A replica
    /// whose slice was empty passes no gradients and contributes zeros.
    pub fn sum_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
        &self,
        model: &M,
        mut grads: GradientsParams,
        local_loss: Tensor<B::InnerBackend, 1>,
        device: &B::Device,
    ) -> crate::Result<(GradientsParams, f64)> {
        let mut flatten = Flatten::<B> { grads: &mut grads, parts: Vec::new(), device: device.clone() };
        model.visit(&mut flatten);
        let mut parts = flatten.parts;
        parts.push(local_loss);
        let total = self.all_reduce(Tensor::cat(parts, 0))?;
        let n = total.dims()[0];
        let loss: f32 = total.clone().narrow(0, n - 1, 1).into_scalar().elem();
        let mut unflatten = Unflatten::<B> { grads: &mut grads, flat: total, offset: 0 };
        model.visit(&mut unflatten);
        Ok((grads, loss as f64))
    }

    /// `model` with the root replica's weights (replicas on other nodes may have been built
    /// elsewhere): one all-reduce in which every other replica contributes zeros.
    pub fn take_root_weights<B: AutodiffBackend, M: AutodiffModule<B>>(&self, model: M) -> crate::Result<M> {
        let mut gather = Gather::<B> { parts: Vec::new(), root: self.is_root() };
        model.visit(&mut gather);
        if gather.parts.is_empty() {
            return Ok(model);
        }
        let flat = self.all_reduce(Tensor::cat(gather.parts, 0))?;
        let mut scatter = Scatter::<B> { flat, offset: 0 };
        Ok(model.map(&mut scatter))
    }
}

/// The trainable parameters' gradients as one vector, in the module's own visiting order (the
/// same on every replica; parameter ids are random per process and cannot order them).
struct Flatten<'a, B: AutodiffBackend> {
    grads: &'a mut GradientsParams,
    parts: Vec<Tensor<B::InnerBackend, 1>>,
    device: B::Device,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Flatten<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if !param.is_require_grad() {
            return;
        }
        let n = param.shape().num_elements();
        let part = match self.grads.remove::<B::InnerBackend, D>(param.id) {
            Some(g) => g.reshape([n]),
            None => Tensor::zeros([n], &self.device),
        };
        self.parts.push(part);
    }
}

/// The inverse of [`Flatten`]: every trainable parameter's gradient from the summed vector.
struct Unflatten<'a, B: AutodiffBackend> {
    grads: &'a mut GradientsParams,
    flat: Tensor<B::InnerBackend, 1>,
    offset: usize,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Unflatten<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if !param.is_require_grad() {
            return;
        }
        let n = param.shape().num_elements();
        let g = self.flat.clone().narrow(0, self.offset, n).reshape(param.dims());
        self.offset += n;
        self.grads.register::<B::InnerBackend, D>(param.id, g);
    }
}

/// Every parameter's values as one vector: the root's own, zeros elsewhere.
struct Gather<B: AutodiffBackend> {
    parts: Vec<Tensor<B::InnerBackend, 1>>,
    root: bool,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Gather<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let n = param.shape().num_elements();
        let values = param.val().inner().reshape([n]);
        self.parts.push(if self.root { values } else { values.zeros_like() });
    }
}

/// Writes the summed vector of [`Gather`] back into the parameters.
struct Scatter<B: AutodiffBackend> {
    flat: Tensor<B::InnerBackend, 1>,
    offset: usize,
}

impl<B: AutodiffBackend> ModuleMapper<B> for Scatter<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let n = param.shape().num_elements();
        let values = self.flat.clone().narrow(0, self.offset, n).reshape(param.dims());
        self.offset += n;
        param.map(|t| {
            let trainable = t.is_require_grad();
            let t = Tensor::from_inner(values);
            if trainable {
                t.require_grad()
            } else {
                t
            }
        })
    }
}

fn collective_error(e: burn_collective::CollectiveError) -> OperatorError {
    OperatorError::Request(format!("data-parallel training: the collective engine failed ({e:?})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_the_batch_in_order() {
        let batch: Vec<usize> = (10..17).collect();
        for count in 1..=9 {
            let joined: Vec<usize> = (0..count).flat_map(|rank| Peer::single_node(rank, count, true).slice(&batch).to_vec()).collect();
            assert_eq!(joined, batch, "{count} replicas");
            let sizes: Vec<usize> = (0..count).map(|rank| Peer::single_node(rank, count, true).slice(&batch).len()).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
        }
    }

    #[test]
    fn global_batch_follows_the_batch_meaning() {
        let p = ParallelSection { devices: 4, nodes: 2, batch: BatchMeaning::Global };
        assert_eq!(p.global_batch(8), 8);
        assert_eq!(ParallelSection { batch: BatchMeaning::PerDevice, ..p }.global_batch(8), 64);
        assert!(ParallelSection { devices: 0, ..p }.validate().is_err());
        assert!(ParallelSection { nodes: 0, ..p }.validate().is_err());
    }
}
