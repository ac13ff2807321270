//! Where one training call's data-parallel replicas run: the devices of this process and, in a
//! run over several processes (nodes), the group that joins them. Not stored with the run (a
//! resumed run may move to other GPUs or hosts); how many replicas there are is the
//! configuration's `[parallel]` table.

use std::sync::Arc;

/// The processes (nodes) of a multi-node run, as the launcher started them (`mpirun`, `srun`):
/// the cross-node half of the gradient all-reduce, and node 0's word that the run directory is
/// ready. Node 0 plans and keeps the run directory; the others read what it wrote and write
/// nothing. Implemented by the command line over MPI.
pub trait NodeGroup: Send + Sync + std::fmt::Debug {
    /// This node's rank, from 0.
    fn rank(&self) -> usize;
    /// Number of nodes.
    fn size(&self) -> usize;
    /// Replaces `values` by their element-wise sum over all nodes (the same on every node).
    /// Called by one thread per node, in the same order on every node.
    fn sum(&self, values: &mut [f32]) -> crate::Result<()>;
    /// Node 0's word, on every node: node 0 passes [`NodeStart::Train`] once its run directory
    /// holds the configuration and normalisers the others read, or why it will not train; the
    /// others' argument is ignored. Only the first call per process communicates; later calls
    /// return the same answer.
    fn start(&self, word: NodeStart) -> crate::Result<NodeStart>;
}

/// What node 0 tells the other nodes before training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStart {
    /// The run directory is ready: train.
    Train,
    /// The run is already complete: nothing to do.
    Complete,
    /// Node 0 stopped with an error (it reports it).
    Failed,
}

impl NodeStart {
    /// As one integer for the launcher's broadcast.
    pub fn code(self) -> i32 {
        match self {
            NodeStart::Train => 1,
            NodeStart::Complete => 2,
            NodeStart::Failed => 0,
        }
    }

    /// From [`NodeStart::code`] (anything else is a failure).
    pub fn from_code(code: i32) -> NodeStart {
        match code {
            1 => NodeStart::Train,
            2 => NodeStart::Complete,
            _ => NodeStart::Failed,
        }
    }
}

/// The devices and nodes of one call.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// Device indices of this process's replicas (`--devices cuda:2,cuda:3` gives `[2, 3]`);
    /// empty: devices `0..parallel.devices`.
    pub devices: Vec<usize>,
    /// The processes of a multi-node run (none: this process is the only one).
    pub nodes: Option<Arc<dyn NodeGroup>>,
}

impl Placement {
    /// This process's device indices for `devices` replicas per node: the given ones, which must
    /// be that many, or `0..devices`.
    pub fn device_indices(&self, devices: usize) -> crate::Result<Vec<usize>> {
        if self.devices.is_empty() {
            return Ok((0..devices).collect());
        }
        if self.devices.len() != devices {
            return Err(crate::error::OperatorError::Request(format!(
                "--devices: {} devices given, but the run trains {devices} replicas per node ([parallel] devices = {devices}); give {devices} devices",
                self.devices.len()
            )));
        }
        Ok(self.devices.clone())
    }

    /// This process's node rank (0 without a node group).
    pub fn node_rank(&self) -> usize {
        self.nodes.as_ref().map_or(0, |n| n.rank())
    }

    /// Whether this process follows node 0's run directory (a node other than 0).
    pub fn follows(&self) -> bool {
        self.node_rank() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_indices_default_to_the_first_devices_and_must_match_the_count() {
        assert_eq!(Placement::default().device_indices(3).unwrap(), vec![0, 1, 2]);
        let p = Placement { devices: vec![2, 5], nodes: None };
        assert_eq!(p.device_indices(2).unwrap(), vec![2, 5]);
        let e = p.device_indices(4).unwrap_err().to_string();
        assert!(e.contains("2 devices given") && e.contains("devices = 4"), "{e}");
    }
}
