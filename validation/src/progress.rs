//! Progress reporting: the harness never prints; it tells a [`Progress`] what it is doing.
//!
//! The trait has the same shape as `oplab_datasets::Progress` (start/advance/message/finish),
//! so the CLI's progress bar implements both with the same four method bodies. It is defined
//! here rather than imported so that this crate does not depend on the HDF5 stack.

/// Receives progress of a validation run: `start` once with the number of checks,
/// `message` for the running check and its inner steps, `advance(1)` after each check,
/// `finish` at the end (also on error).
pub trait Progress: Sync {
    /// A job of `total` units starts, `done` of which are already finished.
    fn start(&self, label: &str, total: u64, done: u64);
    /// `n` more units are finished.
    fn advance(&self, n: u64);
    /// A one-line status message.
    fn message(&self, text: &str);
    /// The job is over (successfully or not).
    fn finish(&self);
}

/// A [`Progress`] that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64, _: u64) {}
    fn advance(&self, _: u64) {}
    fn message(&self, _: &str) {}
    fn finish(&self) {}
}
