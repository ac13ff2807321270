//! `oplab eval`: the run's `config.toml` names its model; that model's family evaluates it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use oplab_operators::registry::run_kind;
use oplab_operators::run::RunDir;
use oplab_operators::DeviceKind;

use crate::progress::Bar;

/// Arguments of `oplab eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run directory written by `oplab train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset file; the test split is the samples after the training and validation ones.
    #[arg(long)]
    pub data: PathBuf,
    /// cpu or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: EvalArgs) -> Result<ExitCode> {
    let run = RunDir::new(&args.run);
    let kind = run_kind(&run.model()?)?;
    let device: DeviceKind = args.device.parse()?;
    let report = kind.evaluate(&run, &args.data, device, &Bar::new(args.quiet))?;
    report.lines.iter().for_each(|line| println!("{line}"));
    Ok(ExitCode::SUCCESS)
}
