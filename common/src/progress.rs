//! The reporting hook long-running library code uses: libraries never print, they tell a
//! [`Progress`] what they are doing. The CLI implements it once with a progress bar, for
//! generation, training and validation alike; libraries and tests use [`Silent`].

/// Receives progress of a long job. Implementations must be cheap and thread-safe: `advance` is
/// called from worker threads.
pub trait Progress: Sync {
    /// A job of `total` units starts, `done` of which are already finished (e.g. on resume).
    fn start(&self, label: &str, total: u64, done: u64);
    /// `n` more units are finished.
    fn advance(&self, n: u64);
    /// A one-line status message (e.g. "resuming: 3 of 8 blocks already done").
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
