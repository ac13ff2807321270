//! The CLI's implementation of the libraries' progress trait ([`oplab_common::Progress`], used by
//! generation, merging, training and validation alike): an indicatif bar on stderr with rate
//! and ETA (hidden automatically when stderr is not a terminal, or with `--quiet`).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use oplab_common::Progress;

/// A progress bar shared by worker threads.
pub struct Bar {
    bar: ProgressBar,
    quiet: bool,
}

impl Bar {
    /// A bar drawing to stderr, or nothing when `quiet`.
    pub fn new(quiet: bool) -> Self {
        let bar = ProgressBar::hidden();
        Bar { bar, quiet }
    }
}

impl Progress for Bar {
    fn start(&self, label: &str, total: u64, done: u64) {
        if self.quiet {
            return;
        }
        self.bar.set_style(
            ProgressStyle::with_template("{msg:>16} [{bar:40.cyan/blue}] {pos}/{len} {per_sec} ETA {eta} (elapsed {elapsed})")
                .expect("static template")
                .progress_chars("=> "),
        );
        // Label and length first, so no frame shows the new job with the old label. A training
        // run starts the bar again for every epoch: the rate, ETA and elapsed time start over.
        self.bar.set_message(label.to_string());
        self.bar.set_length(total);
        self.bar.reset();
        self.bar.set_position(done);
        // Once: a new target would not know the line the old one drew, leaving it behind. (A
        // stderr that is not a terminal stays hidden, so this repeats harmlessly there.)
        if self.bar.is_hidden() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    fn message(&self, text: &str) {
        if !self.quiet {
            self.bar.println(text);
            if self.bar.is_hidden() {
                eprintln!("{text}");
            }
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
