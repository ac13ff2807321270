//! `oplab export`: a trained MgNO or FNO run's best weights as a safetensors file under PyTorch
//! names (the mapping is documented in `oplab_operators::export`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use oplab_operators::export::export_run;
use oplab_operators::run::{files, RunDir};

/// Arguments of `oplab export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run directory written by `oplab train mgno|fno`.
    #[arg(long)]
    pub run: PathBuf,
    /// The safetensors file to write.
    #[arg(long, value_name = "FILE.safetensors")]
    pub out: PathBuf,
    /// Also write a probe for checking a PyTorch port: tensors `input` (two seeded standard-normal
    /// inputs on the training grid) and `output` (the model's outputs on them, CPU, f32).
    #[arg(long, value_name = "FILE.safetensors")]
    pub probe: Option<PathBuf>,
    /// Overwrite --out (and --probe) if they exist.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: ExportArgs) -> Result<ExitCode> {
    let run = RunDir::new(&args.run);
    // The training's lock: the weights, normalisers and configuration are read as one set,
    // never while a training of the run replaces them.
    let lock = super::lock_output(&run.file(files::LOCK), "--run", &args.run)?;
    let s = export_run(&run, &args.out, args.probe.as_deref(), args.force)?;
    drop(lock);
    println!(
        "wrote {}: {} weights of epoch {} ({} tensors, {} parameters; PyTorch names, normalisers and config in the metadata)",
        args.out.display(),
        s.kind.name(),
        s.best_epoch,
        s.tensors,
        s.params
    );
    Ok(ExitCode::SUCCESS)
}
