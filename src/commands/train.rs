//! `oplab train <model>`: parse, then hand the request to the model's run family, which decides
//! how the command meets its run directory (fresh, resumed, already complete, or refused).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use oplab_operators::registry::run_kind;
use oplab_operators::run::{files, RunDir, Setting, TrainLimits, TrainOutcome, TrainRequest};
use oplab_operators::DeviceKind;

use crate::progress::Bar;

/// Arguments of `oplab train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Model to train: mgno or fno (neural operators), unet or cnn (convolutional nets, plain or
    /// converted into operators), alrnn (almost-linear RNN on one ODE trajectory:
    /// dynamical-systems reconstruction), or prose (multimodal transformer on an
    /// `oplab generate prose-ode` file).
    pub model: String,
    /// Dataset file (fields with role = input / target).
    #[arg(long)]
    pub data: PathBuf,
    /// Training configuration (TOML; every field optional, see `oplab train --help`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override the number of epochs (on resume: extend the run to this many).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// cpu or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Run directory (config, checkpoints, metrics, plots).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint (a --config given too must match the stored one).
    #[arg(long)]
    pub resume: bool,
    /// mgno, fno: start a fresh run from the weights of a safetensors file (as `oplab export`
    /// writes it; names and shapes must fit the configured model); stored as `init` in config.toml.
    #[arg(long, value_name = "FILE.safetensors")]
    pub init: Option<PathBuf>,
    /// CUDA runs: burn's CUDA backend for the model (auto: without its fusion layer for mgno, unet and
    /// cnn, with it for fno); sets `cuda` of the config's [backend] table, which the run stores.
    #[arg(long, value_name = "auto|fusion|direct")]
    pub backend_cuda: Option<String>,
    /// CUDA runs: cubecl's memory pool (dynamic: cubecl's default); sets `memory` of the config's
    /// [backend] table, which the run stores.
    #[arg(long, value_name = "persistent|dynamic")]
    pub backend_memory: Option<String>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: TrainArgs) -> Result<ExitCode> {
    let kind = run_kind(&args.model)?;
    let device: DeviceKind = args.device.parse()?;
    let config_text = args.config.as_deref().map(read_config_file).transpose()?;
    let request = TrainRequest {
        model: &args.model,
        data: &args.data,
        config: args.config.as_deref().zip(config_text.as_deref()),
        epochs: args.epochs,
        resume: args.resume,
        init: args.init.as_deref(),
        settings: [("--backend-cuda", "backend.cuda", &args.backend_cuda), ("--backend-memory", "backend.memory", &args.backend_memory)]
            .into_iter()
            .filter_map(|(flag, key, value)| value.as_ref().map(|v| Setting { flag: flag.into(), key: key.into(), value: v.clone() }))
            .collect(),
        limits: TrainLimits::default(),
    };
    if let (false, Some(notice)) = (args.quiet, device.warm_up_notice()) {
        eprintln!("{notice}");
    }
    let run = RunDir::new(&args.out);
    // The lock lives inside the run directory, so a new run's directory is made first; it (and
    // any parent made with it) is removed again when the command leaves nothing else in it (a
    // refused configuration, say).
    let first_made = args.out.ancestors().take_while(|p| !p.as_os_str().is_empty() && !p.exists()).last().map(Path::to_path_buf);
    if first_made.is_some() {
        std::fs::create_dir_all(&args.out).with_context(|| format!("--out {}: cannot create the run directory", args.out.display()))?;
    }
    let lock = super::lock_output(&run.file(files::LOCK), "--out", &args.out)?;
    let outcome = kind.train(&run, &request, device, &Bar::new(args.quiet));
    drop(lock);
    if let Some(top) = first_made {
        // remove_dir fails on a directory that holds anything, which ends the walk.
        for dir in args.out.ancestors() {
            if std::fs::remove_dir(dir).is_err() || dir == top {
                break;
            }
        }
    }
    match outcome? {
        TrainOutcome::AlreadyComplete { epochs } => {
            if !args.quiet {
                eprintln!("{} is already complete ({epochs} epochs, same config and data); nothing to do", args.out.display());
            }
        }
        TrainOutcome::Trained(report) => {
            if !args.quiet {
                report.lines.iter().for_each(|line| eprintln!("{line}"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The text of a `--config` file; the error names the flag and the file.
fn read_config_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("--config {}: cannot read the file", path.display()))
}
