use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

/// Arguments of `oplab inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Dataset file (or the output path of an unfinished run).
    pub file: PathBuf,
}

pub fn run(args: InspectArgs) -> Result<ExitCode> {
    let report = oplab_datasets::inspect(&args.file)?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
