//! Subcommands. Each file parses its arguments and calls one library entry point.

mod generate;
mod inspect;
mod merge;

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// The `oplab` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a dataset (parallel, deterministic, resumable after a crash, shardable).
    Generate(generate::GenerateArgs),
    /// Summarise a dataset file: schema, problem, config, shapes, dtype, completeness, value ranges.
    #[command(after_help = "Example:\n  oplab inspect grf.h5")]
    Inspect(inspect::InspectArgs),
    /// Merge the shard files of one dataset into the file an unsharded run would have written.
    #[command(after_help = "Example:\n  oplab generate grf --n 90 --shard 1/3 --out p1.h5   (likewise 2/3, 3/3)\n  oplab merge p1.h5 p2.h5 p3.h5 --out grf.h5")]
    Merge(merge::MergeArgs),
}

/// Run a subcommand; the exit code on success, or an error for `main` to print on one line.
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Generate(args) => generate::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Merge(args) => merge::run(args),
    }
}
