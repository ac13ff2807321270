//! `oplab validate`: learning-dynamics theory vs numerics, with a plotted HTML report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::progress::Bar;

/// Arguments of `oplab validate`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  oplab validate --quick --out report          # all checks, reduced sizes (< 2 min on 2 cores)
  oplab validate --out report                  # full sizes
  oplab validate --only rmt --out report       # one group: rmt, icl, solver or operator
  oplab validate --only rmt-curves icl-trained-lsa --out report

Writes DIR/index.html (one section per check: prediction, figures, measured vs predicted,
tolerance, pass/fail), DIR/summary.json and a PNG + SVG per figure.
Exit code: 0 if every check passes (skipped checks do not fail), 1 if any check fails,
2 on bad arguments or I/O errors.")]
pub struct ValidateArgs {
    /// Reduced sizes (fewer trials, smaller N, shorter training).
    #[arg(long)]
    pub quick: bool,
    /// Run only these checks or groups (see `--list`).
    #[arg(long, num_args = 1.., value_name = "NAME")]
    pub only: Vec<String>,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR", required_unless_present = "list")]
    pub out: Option<PathBuf>,
    /// Base seed of every random draw.
    #[arg(long, default_value_t = oplab_validation::Options::default().seed)]
    pub seed: u64,
    /// Print the check names and exit.
    #[arg(long)]
    pub list: bool,
    /// No progress bar or summary table.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: ValidateArgs) -> Result<ExitCode> {
    if args.list {
        for name in oplab_validation::check_names() {
            println!("{name}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let out_dir = args.out.context("--out DIR is required")?;
    let opts = oplab_validation::Options { quick: args.quick, only: args.only, out_dir: out_dir.clone(), seed: args.seed };
    let report = oplab_validation::run_with_progress(&opts, &Bar::new(args.quiet))?;
    if !args.quiet {
        for c in &report.checks {
            let ok = c.measurements.iter().filter(|m| m.passed).count();
            let status = match c.status {
                oplab_validation::Status::Pass => "pass",
                oplab_validation::Status::Fail => "FAIL",
                oplab_validation::Status::Skipped => "skipped",
            };
            eprintln!("{:<22} {:<8} {:>4}/{:<4} {:>7.1} s", c.name, status, ok, c.measurements.len(), c.wall_s);
        }
        eprintln!("report: {} ({:.1} s)", out_dir.join("index.html").display(), report.wall_s);
    }
    Ok(if report.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
