//! The processes of a multi-node training run over MPI (`mpirun -n N oplab train ...`, or srun):
//! `oplab_operators::run::NodeGroup` on the launcher's world communicator.

use std::sync::OnceLock;
use std::thread::ThreadId;

use anyhow::Result;
use oplab_datasets::distributed::mpi;
use oplab_datasets::distributed::mpi::collective::SystemOperation;
use oplab_datasets::distributed::mpi::traits::{Communicator, CommunicatorCollectives, Root};
use oplab_operators::error::OperatorError;
use oplab_operators::run::{NodeGroup, NodeStart};

/// MPI's world, used from the thread that initialised it only (MPI's "funneled" threading, which
/// every MPI library provides): calls from another thread are refused before touching MPI.
pub struct MpiNodes {
    _universe: mpi::environment::Universe,
    world: mpi::topology::SimpleCommunicator,
    // Read once at start, so that asking for them never reaches MPI from another thread.
    rank: usize,
    size: usize,
    owner: ThreadId,
    started: OnceLock<NodeStart>,
}

impl std::fmt::Debug for MpiNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MpiNodes {{ rank: {}, size: {} }}", self.rank, self.size)
    }
}

// SAFETY: the MPI handles are only used on the thread that created them (`owner`); every method
// checks the calling thread first, so sharing the value between threads never reaches MPI from a
// second thread. The value is dropped (MPI_Finalize) by the command's main thread, which owns it.
unsafe impl Send for MpiNodes {}
unsafe impl Sync for MpiNodes {}

impl MpiNodes {
    /// Initialises MPI on this thread.
    pub fn start() -> Result<MpiNodes> {
        let universe = mpi::initialize().ok_or_else(|| anyhow::anyhow!("MPI could not be initialised"))?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        Ok(MpiNodes { _universe: universe, world, rank, size, owner: std::thread::current().id(), started: OnceLock::new() })
    }

    fn on_owner(&self) -> oplab_operators::Result<()> {
        if std::thread::current().id() != self.owner {
            return Err(OperatorError::Request("data-parallel training: MPI was called from a thread other than the one that started it".into()));
        }
        Ok(())
    }
}

impl NodeGroup for MpiNodes {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn sum(&self, values: &mut [f32]) -> oplab_operators::Result<()> {
        self.on_owner()?;
        let mut total = vec![0.0f32; values.len()];
        self.world.all_reduce_into(&values[..], &mut total[..], SystemOperation::sum());
        values.copy_from_slice(&total);
        Ok(())
    }

    fn start(&self, word: NodeStart) -> oplab_operators::Result<NodeStart> {
        self.on_owner()?;
        if let Some(&decided) = self.started.get() {
            return Ok(decided);
        }
        let mut code: i32 = if self.rank == 0 { word.code() } else { NodeStart::Failed.code() };
        self.world.process_at_rank(0).broadcast_into(&mut code);
        Ok(*self.started.get_or_init(|| NodeStart::from_code(code)))
    }
}
