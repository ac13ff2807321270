//! A wall-clock limit on one training call: the loop stops at an epoch boundary, before an epoch
//! that would not end in time, so a job with a hard time limit (a 10-minute GPU job) leaves a
//! consistent checkpoint that the next call resumes exactly.

use std::time::{Duration, Instant};

/// When a training call must have ended, and how long its epochs take.
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Instant,
    longest: Option<Duration>,
    started: Option<Instant>,
}

impl Deadline {
    /// A limit at `at`.
    pub fn at(at: Instant) -> Self {
        Deadline { at, longest: None, started: None }
    }

    /// Whether the next epoch may start now. Its length is estimated by the longest epoch of this
    /// call (wall time between epoch starts: checkpoints and figures included), else by
    /// `recorded_seconds` (the last epoch an earlier call recorded); with neither, only a
    /// deadline already passed stops it. Every call to this method marks the start of an epoch.
    pub fn next_epoch_fits(&mut self, recorded_seconds: Option<f64>) -> bool {
        let now = Instant::now();
        if let Some(started) = self.started {
            let last = now - started;
            self.longest = Some(self.longest.map_or(last, |l| l.max(last)));
        }
        let estimate = self.longest.or_else(|| recorded_seconds.filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)).unwrap_or_default();
        let fits = now + estimate <= self.at;
        self.started = fits.then_some(now);
        fits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_starts_only_when_it_is_expected_to_end_in_time() {
        let mut far = Deadline::at(Instant::now() + Duration::from_secs(3600));
        assert!(far.next_epoch_fits(None));
        assert!(far.next_epoch_fits(Some(10.0)));
        // A recorded epoch longer than the time left stops the first epoch of a call.
        let mut near = Deadline::at(Instant::now() + Duration::from_secs(5));
        assert!(!near.next_epoch_fits(Some(60.0)));
        assert!(near.next_epoch_fits(Some(1.0)));
        // A deadline already passed stops even without an estimate.
        let mut past = Deadline::at(Instant::now());
        std::thread::sleep(Duration::from_millis(2));
        assert!(!past.next_epoch_fits(None));
        // The epochs of this call override the recorded length.
        let mut measured = Deadline::at(Instant::now() + Duration::from_millis(150));
        assert!(measured.next_epoch_fits(Some(0.0)));
        std::thread::sleep(Duration::from_millis(100));
        assert!(!measured.next_epoch_fits(Some(0.0)), "a 100 ms epoch does not fit in the 50 ms left");
    }
}
