use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::progress::Bar;

/// Arguments of `oplab merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard files written with `--shard K/M`, all M of them, in any order.
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: MergeArgs) -> Result<ExitCode> {
    crate::memory::return_large_buffers_to_the_kernel();
    let _lock = super::lock_output(&oplab_common::lock::lock_path(&args.out), "--out", &args.out)?;
    let n = oplab_datasets::merge(&args.parts, &args.out, args.force, &Bar::new(args.quiet))?;
    if !args.quiet {
        eprintln!("wrote {}: {n} samples from {} shards", args.out.display(), args.parts.len());
    }
    Ok(ExitCode::SUCCESS)
}
