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

/// How a training loop reports its epochs, the same for every run kind: a bar over one epoch's
/// batches, labelled `epoch e/n` and restarted at each epoch (so its rate and ETA are the
/// epoch's), and one summary line ([`epoch_line`]) when an epoch ends. The [`Progress`] decides
/// whether any of it is shown.
pub struct Epochs<'a> {
    progress: &'a dyn Progress,
    epochs: usize,
    batches: u64,
}

impl<'a> Epochs<'a> {
    /// A run of `epochs` epochs of `batches` batches each, reported to `progress`.
    pub fn new(progress: &'a dyn Progress, epochs: usize, batches: u64) -> Self {
        Epochs { progress, epochs, batches }
    }

    /// The run's number of epochs.
    pub fn total(&self) -> usize {
        self.epochs
    }

    /// Epoch `epoch` (counted from 1) starts.
    pub fn begin(&self, epoch: usize) {
        self.progress.start(&format!("epoch {epoch}/{}", self.epochs), self.batches, 0);
    }

    /// One more batch is done.
    pub fn batch(&self) {
        self.progress.advance(1);
    }

    /// An epoch ended with this summary line.
    pub fn end(&self, line: &str) {
        self.progress.message(line);
    }

    /// The loop is over (finished, stopped or failed).
    pub fn finish(&self) {
        self.progress.finish();
    }
}

/// The one-line summary of epoch `epoch` of `epochs`: the learning rate, then each named
/// value that is present (in scientific notation, so lines of a run align), then the epoch's
/// wall time; e.g. `epoch    3/12  lr 4.95e-4  train 7.9053e-1  val L2 5.8359e-1  (0.4 s)`.
pub fn epoch_line(epoch: usize, epochs: usize, lr: f64, values: &[(&str, Option<f64>)], seconds: f64) -> String {
    let mut line = format!("epoch {epoch:>4}/{epochs}  lr {lr:.2e}");
    for (name, value) in values {
        if let Some(v) = value {
            line.push_str(&format!("  {name} {v:.4e}"));
        }
    }
    line.push_str(&format!("  ({seconds:.1} s)"));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Record(Mutex<Vec<String>>);

    impl Progress for Record {
        fn start(&self, label: &str, total: u64, done: u64) {
            self.0.lock().unwrap().push(format!("start {label} {total} {done}"));
        }
        fn advance(&self, n: u64) {
            self.0.lock().unwrap().push(format!("advance {n}"));
        }
        fn message(&self, text: &str) {
            self.0.lock().unwrap().push(format!("message {text}"));
        }
        fn finish(&self) {
            self.0.lock().unwrap().push("finish".into());
        }
    }

    #[test]
    fn each_epoch_restarts_the_bar_and_ends_with_its_line() {
        let rec = Record::default();
        let epochs = Epochs::new(&rec, 12, 2);
        for e in 3..=4 {
            epochs.begin(e);
            epochs.batch();
            epochs.batch();
            epochs.end(&format!("line {e}"));
        }
        epochs.finish();
        let got = rec.0.into_inner().unwrap();
        let expect =
            ["start epoch 3/12 2 0", "advance 1", "advance 1", "message line 3", "start epoch 4/12 2 0", "advance 1", "advance 1", "message line 4", "finish"];
        assert_eq!(got, expect);
    }

    #[test]
    fn the_epoch_line_skips_absent_values() {
        assert_eq!(
            epoch_line(3, 12, 4.95e-4, &[("train", Some(0.79053)), ("D_H", None), ("val L2", Some(0.58359))], 0.42),
            "epoch    3/12  lr 4.95e-4  train 7.9053e-1  val L2 5.8359e-1  (0.4 s)"
        );
    }
}
