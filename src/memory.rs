//! The allocator setting of the streaming commands (`generate`, `merge`).

/// Buffers of 1 MiB and more (a block of samples, a copy slice) are mapped from the kernel and
/// returned to it when freed. By default glibc raises its mapping threshold to the size of the
/// largest such buffer freed so far, after which these buffers come from its heap, whose freed
/// fragments it keeps: the peak memory of a long generation then creeps up with the number of
/// blocks instead of staying flat in n (`bench/hpc/bench_hpc.py --parts memory` measures it).
/// A fixed threshold turns that adaptation off. Process-wide, so it is set here by the commands
/// that stream, and not by the library.
pub fn return_large_buffers_to_the_kernel() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a tuning parameter of glibc's allocator; it is called before
    // the command starts any thread or makes any large allocation.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
