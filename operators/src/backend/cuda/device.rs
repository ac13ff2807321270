//! CUDA device setup: cubecl's memory pool ([`MemoryPool`]).

use cubecl::config::memory::PersistentMemory;
use cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};

use crate::backend::options::MemoryPool;

/// Sends every CUDA allocation of this process to cubecl's persistent memory pool under
/// [`MemoryPool::Persistent`], unless a `cubecl.toml` (of the working directory or a parent) sets
/// `[memory] persistent_memory` itself; [`MemoryPool::Dynamic`] leaves cubecl's configuration as
/// it is. Call before the first CUDA tensor exists; later calls, or a cubecl configuration that
/// was already read, leave everything as it is (the first CUDA run of a process fixes the pool).
pub fn configure_memory(pool: MemoryPool) {
    if pool == MemoryPool::Dynamic {
        return;
    }
    let mut state = CubeClRuntimeConfig::storage().lock();
    if state.is_some() {
        return;
    }
    let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
    // The default is `Enabled` (persistent only where asked for); a file that chose `disabled` or
    // `enforced` is kept as it is.
    if matches!(config.memory.persistent_memory, PersistentMemory::Enabled) {
        config.memory.persistent_memory = PersistentMemory::Enforced;
    }
    *state = Some(std::sync::Arc::new(config));
}

/// Which pool cubecl allocates from, in words (this reads, and so fixes, cubecl's configuration).
pub fn memory_pool_in_use() -> &'static str {
    match CubeClRuntimeConfig::get().memory.persistent_memory {
        PersistentMemory::Enforced => "its persistent memory pool",
        _ => "its default memory pool",
    }
}
