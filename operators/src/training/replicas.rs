//! Runs one [`Trainer`] fit as a group of data-parallel replicas (`training::parallel`): the
//! replicas of this node are threads, each with its model and optimiser on its own device; the
//! root replica (rank 0, on node 0) runs on the calling thread with the run directory as its
//! observer, validates and decides when to stop. In a run over several nodes, each node's first
//! replica carries the sums across nodes (`run::NodeGroup`).

use std::ops::Range;

use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use burn_collective::CollectiveConfig;
use oplab_common::{Progress, Silent};

use super::parallel::{exclusive_group, ParallelSection, Peer};
use super::trainer::{EpochEnd, EpochObserver, Trainer};
use crate::error::OperatorError;
use crate::models::Operator2d;
use crate::run::{NodeStart, Placement};

/// How one call's replicas are laid out.
pub(crate) struct Replication<'a, B: AutodiffBackend> {
    /// The configuration's replica counts.
    pub parallel: &'a ParallelSection,
    /// This node's devices, the local root's first.
    pub devices: Vec<B::Device>,
    /// The call's node, if several.
    pub placement: &'a Placement,
    /// Whether the replicas share a device id (CPU): sums in rank order (`Peer::exact_order`).
    pub exact_order: bool,
}

impl<B: AutodiffBackend> Replication<'_, B> {
    /// Checks the node group against `[parallel] nodes`.
    fn check_nodes(&self) -> crate::Result<()> {
        let launched = self.placement.nodes.as_ref().map_or(1, |n| n.size());
        if launched != self.parallel.nodes {
            return Err(OperatorError::Request(format!(
                "parallel.nodes = {}: the run trains on {} node(s), but {launched} process(es) were started; start one process per node under mpirun or srun (`oplab slurm train` writes the job)",
                self.parallel.nodes, self.parallel.nodes
            )));
        }
        Ok(())
    }

    /// Fits `model` with `optim` (the local root's) on every replica over `epochs`; `observer`
    /// and `progress` see the global root's epochs (on other nodes they are not called).
    #[allow(clippy::too_many_arguments)]
    pub fn fit<M, O>(
        &self,
        trainer: &Trainer<'_, B>,
        model: M,
        optim: O,
        replica_optim: &dyn Fn(&B::Device) -> crate::Result<O>,
        epochs: Range<usize>,
        observer: &mut dyn EpochObserver<M, O>,
        progress: &dyn Progress,
    ) -> crate::Result<()>
    where
        M: AutodiffModule<B> + Operator2d<B> + Send + 'static,
        M::InnerModule: Operator2d<B::InnerBackend>,
        O: Optimizer<M, B>,
    {
        self.check_nodes()?;
        let config = CollectiveConfig::default().with_num_devices(self.devices.len());
        let _group = exclusive_group();
        let node = self.placement.node_rank();
        let count = self.parallel.replicas();
        let first_rank = node * self.parallel.devices;
        let multi_node = self.parallel.nodes > 1;
        if let (0, Some(nodes)) = (node, &self.placement.nodes) {
            // The run directory now holds what the other nodes read.
            nodes.start(NodeStart::Train)?;
        }
        let peer = |k: usize| Peer {
            rank: first_rank + k,
            count,
            exact_order: self.exact_order,
            multi_node,
            nodes: if k == 0 { self.placement.nodes.clone() } else { None },
        };
        // Every replica but the local root gets its own model and optimiser before any thread
        // starts, so that a failure here cannot leave the others waiting in an all-reduce.
        let mut others = Vec::with_capacity(self.devices.len().saturating_sub(1));
        for (k, device) in self.devices.iter().enumerate().skip(1) {
            others.push((peer(k), device.clone(), model.clone().fork(device), replica_optim(device)?));
        }
        let result = std::thread::scope(|scope| {
            let handles: Vec<_> = others
                .into_iter()
                .map(|(peer, device, model, optim)| {
                    let config = config.clone();
                    let trainer = trainer.replica(device.clone(), peer.clone(), false);
                    let epochs = epochs.clone();
                    scope.spawn(move || run_replica(&trainer, &peer, &device, config, model, optim, epochs, &mut Follower, &Silent))
                })
                .collect();
            let root_peer = peer(0);
            let global_root = root_peer.is_root();
            let trainer = trainer.replica(self.devices[0].clone(), root_peer.clone(), global_root);
            let root = if global_root {
                run_replica(&trainer, &root_peer, &self.devices[0], config, model, optim, epochs.clone(), observer, progress)
            } else {
                run_replica(&trainer, &root_peer, &self.devices[0], config, model, optim, epochs.clone(), &mut Follower, &Silent)
            };
            let others: Vec<crate::Result<()>> = handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(OperatorError::Request("data-parallel training: a replica's thread panicked".into()))))
                .collect();
            // The root's error is the run's; a replica's own error only where the root has none.
            root.and_then(|_| others.into_iter().collect::<crate::Result<Vec<()>>>().map(|_| ()))
        });
        burn_collective::reset_collective::<B::InnerBackend>();
        result
    }
}

/// One replica: joins the collective, takes the root's weights, fits, leaves.
#[allow(clippy::too_many_arguments)]
fn run_replica<B, M, O>(
    trainer: &Trainer<'_, B>,
    peer: &Peer,
    device: &B::Device,
    config: CollectiveConfig,
    model: M,
    optim: O,
    epochs: Range<usize>,
    observer: &mut dyn EpochObserver<M, O>,
    progress: &dyn Progress,
) -> crate::Result<()>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Operator2d<B>,
    M::InnerModule: Operator2d<B::InnerBackend>,
    O: Optimizer<M, B>,
{
    peer.register::<B::InnerBackend>(device, config)?;
    let fitted = peer.take_root_weights::<B, M>(model).and_then(|model| trainer.fit(model, optim, epochs, observer, progress));
    let left = peer.finish::<B::InnerBackend>();
    fitted.and(left)
}

/// The observer of every replica but the root: keeps nothing, never stops the run itself.
struct Follower;

impl<M, O> EpochObserver<M, O> for Follower {
    fn epoch_end(&mut self, _: &EpochEnd, _: &M, _: &O) -> crate::Result<()> {
        Ok(())
    }
}
