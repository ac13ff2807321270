//! `oplab`: the command line of the oplab package. Parses arguments, loads configs and calls the
//! library crates; no numerics live here.

mod commands;
mod config;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use commands::Command;

/// Version line: crate version and the git commit it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("OPLAB_GIT_COMMIT"), ")");

/// Operator learning for scientific computing: reference solvers, HDF5 datasets, neural operators
/// and validation reports.
#[derive(Debug, Parser)]
#[command(name = "oplab", version = VERSION, about, long_about = None, after_help = "\
Examples:
  oplab generate grf --n 64 --resolution 128 --out grf.h5
  oplab inspect grf.h5
  oplab generate grf --n 1000 --shard 2/4 --out part2.h5   # one shard of a larger run
  oplab merge part1.h5 part2.h5 part3.h5 part4.h5 --out full.h5

Errors print one line and exit with code 2.")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// The whole error chain on one line: `outer: inner: root cause`.
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
