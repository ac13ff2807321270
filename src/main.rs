//! `oplab`: the command line of the oplab package. Parses arguments, loads configs and calls the
//! library crates; no numerics live here.
// The doc comments of the argument structs are clap's `--help` text, written for a terminal:
// their `[default: <problem>.h5]` and `[backend]` are neither rustdoc links nor HTML.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod commands;
mod config;
mod memory;
#[cfg(feature = "mpi")]
mod nodes;
mod progress;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};

use commands::Command;

/// Version line: crate version and the git commit it was built from (oplab-datasets records
/// the commit, for its files' `oplab_version` attribute too).
const VERSION: &str = oplab_datasets::OPLAB_VERSION;

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
    /// Read HDF5 files whose data lies in other files outside their own directory (external
    /// links, virtual-dataset sources, external raw storage); refused by default, since a file
    /// from elsewhere could otherwise make oplab read any path. Affects only what may be opened.
    #[arg(long, global = true)]
    allow_external: bool,
}

fn main() -> ExitCode {
    let cli = match parse_command_line() {
        Ok(cli) => cli,
        // --help and --version, and the help shown for a missing subcommand, print as clap
        // renders them (exit 0, or 2 for the missing subcommand).
        Err(err) if !err.use_stderr() || err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => err.exit(),
        Err(err) => {
            if !commands::reports_errors_before_mpi() {
                return ExitCode::SUCCESS;
            }
            eprintln!("{}", one_line_usage_error(&err.render().to_string()));
            return ExitCode::from(2);
        }
    };
    oplab_datasets::reader::allow_external_data(cli.allow_external);
    match commands::run(cli.command) {
        Ok(code) => code,
        // Under mpirun, a rank that only learns of an error another rank reports leaves quietly
        // with status 0: mpirun aborts the whole job at the first non-zero exit, which could
        // kill the reporting rank before its message is out. The job still fails with that
        // rank's status.
        Err(err) if !commands::reports_error(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// Parse the command line. Every option that takes a value accepts a negative number as that
/// value (`--tau -2`, not only `--tau=-2`): oplab has no short flags that look like digits.
fn parse_command_line() -> Result<Cli, clap::Error> {
    fn negative_values(cmd: clap::Command) -> clap::Command {
        cmd.mut_args(|arg| if arg.get_action().takes_values() { arg.allow_negative_numbers(true) } else { arg }).mut_subcommands(negative_values)
    }
    let matches = negative_values(Cli::command()).try_get_matches_from(join_negative_non_finite(std::env::args_os().collect()))?;
    Cli::from_arg_matches(&matches)
}

/// `--scale -inf` as `--scale=-inf`: clap's negative numbers are digits only, so `-inf` and
/// `-nan` would read as short flags; joined to their option, they reach the option's own check,
/// which names the field and its range.
fn join_negative_non_finite(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out: Vec<std::ffi::OsString> = Vec::with_capacity(args.len());
    for arg in args {
        let non_finite = arg.to_str().is_some_and(|a| ["-inf", "-infinity", "-nan"].contains(&a.to_ascii_lowercase().as_str()));
        match out.last_mut() {
            Some(option) if non_finite && option.to_str().is_some_and(|o| o.starts_with("--") && o.len() > 2 && !o.contains('=')) => {
                option.push("=");
                option.push(&arg);
            }
            _ => out.push(arg),
        }
    }
    out
}

/// clap's usage error on one line, as every other oplab error: its message and any list of
/// allowed values are kept; the blank lines, usage block, tips and the "--help" pointer go.
fn one_line_usage_error(rendered: &str) -> String {
    let kept: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("tip:") && !l.starts_with("For more information"))
        .collect();
    kept.join(" ")
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
