//! `oplab eval`: the run's `config.toml` names its model; that model's family evaluates it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use oplab_operators::registry::run_kind;
use oplab_operators::run::{ConvertMode, EvalOptions, RunDir};
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
    /// Resolution sweep (field operators): evaluate the same test samples on every k-th node of
    /// the file's grid, for each k given (e.g. 1,2,4,8).
    #[arg(long, value_delimiter = ',', value_name = "K,...")]
    pub subsample: Option<Vec<usize>>,
    /// Networks built from convolutions: evaluate the plain network, the converted one (kernels
    /// re-sampled to each grid) or both, from the same weights.
    #[arg(long, value_name = "on|off|both")]
    pub convert: Option<String>,
    /// Add the input-output interpolation baseline to a resolution sweep.
    #[arg(long)]
    pub io_interp: bool,
    /// PROSE: integrate each decoded equation from the sample's initial state and compare the
    /// trajectories.
    #[arg(long)]
    pub reintegrate: bool,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: EvalArgs) -> Result<ExitCode> {
    let run = RunDir::new(&args.run);
    let kind = run_kind(&run.model()?)?;
    let device: DeviceKind = args.device.parse()?;
    let convert = args.convert.as_deref().map(str::parse::<ConvertMode>).transpose()?;
    let options = EvalOptions { subsample: args.subsample, convert, io_interp: args.io_interp, reintegrate: args.reintegrate };
    let report = kind.evaluate(&run, &args.data, &options, device, &Bar::new(args.quiet))?;
    report.lines.iter().for_each(|line| println!("{line}"));
    Ok(ExitCode::SUCCESS)
}
