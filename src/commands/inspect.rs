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
    // A closed pipe (`oplab inspect f.h5 | head`) is a normal way to stop reading, not an error.
    use std::io::Write;
    match write!(std::io::stdout().lock(), "{report}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
