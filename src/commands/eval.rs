use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use oplab_operators::training::{self, files};
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
    let device: DeviceKind = args.device.parse()?;
    let s = training::evaluate(&args.run, &args.data, device, &Bar::new(args.quiet))?;
    println!(
        "test samples {}..{}: mean rel. L2 {:.4e}, mean rel. H1 {:.4e} (model of epoch {}); per-sample errors in {}, figure in {}",
        s.first_index,
        s.first_index + s.n,
        s.mean_l2,
        s.mean_h1,
        s.best_epoch,
        args.run.join(files::EVAL).display(),
        args.run.join(files::EVAL_PNG).display()
    );
    Ok(ExitCode::SUCCESS)
}
