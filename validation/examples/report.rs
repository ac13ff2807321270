//! Runs the validation report without the CLI:
//! `cargo run -p oplab-validation --example report -- [--quick] OUT_DIR [CHECK...]`.

use oplab_validation::{run_with_progress, Options, Progress};
use std::time::Instant;

/// Prints progress messages with elapsed time to stderr.
struct Stderr(Instant);

impl Progress for Stderr {
    fn start(&self, label: &str, total: u64, _done: u64) {
        eprintln!("[{:7.1}s] {label}: {total} checks", self.0.elapsed().as_secs_f64());
    }
    fn advance(&self, _n: u64) {}
    fn message(&self, text: &str) {
        eprintln!("[{:7.1}s] {text}", self.0.elapsed().as_secs_f64());
    }
    fn finish(&self) {}
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    args.retain(|a| a != "--quick");
    if args.is_empty() {
        eprintln!("usage: report [--quick] OUT_DIR [CHECK...]");
        std::process::exit(2);
    }
    let out_dir = args.remove(0).into();
    let opts = Options { quick, only: args, out_dir, ..Options::default() };
    match run_with_progress(&opts, &Stderr(Instant::now())) {
        Ok(r) => {
            for c in &r.checks {
                println!("{:<22} {:?} {:.1}s", c.name, c.status, c.wall_s);
                for m in c.measurements.iter().filter(|m| !m.passed) {
                    println!("    FAILED {}: predicted {} measured {} (s.e. {:?}; {})", m.quantity, m.predicted, m.measured, m.std_err, m.tolerance);
                }
            }
            println!("total {:.1}s, passed: {}", r.wall_s, r.passed);
            std::process::exit(if r.passed { 0 } else { 1 });
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
