use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use oplab_operators::dynamics::{self, AlrnnTrainConfig, AlrnnTrainOptions};
use oplab_operators::training::{self, files, ModelKind, TrainConfig, TrainOptions};
use oplab_operators::DeviceKind;

use crate::progress::Bar;

/// Arguments of `oplab train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Model to train: mgno or fno (neural operators), or alrnn (almost-linear RNN on one ODE
    /// trajectory: dynamical-systems reconstruction).
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
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: TrainArgs) -> Result<ExitCode> {
    if args.model == "alrnn" {
        return run_alrnn(args);
    }
    if !matches!(args.model.as_str(), "mgno" | "fno") {
        bail!("model = {} is invalid: must be one of: mgno, fno, alrnn", args.model);
    }
    let model = ModelKind::parse(&args.model)?;
    let device: DeviceKind = args.device.parse()?;
    let has_checkpoint = args.out.join(files::CHECKPOINT).is_file();
    let mut cfg = if args.resume {
        if !has_checkpoint {
            bail!("--resume: {} holds no checkpoint ({}); start a new run without --resume", args.out.display(), files::CHECKPOINT);
        }
        let stored = training::read_run_config(&args.out)?;
        if args.config.is_some() {
            bail!("--config cannot be combined with --resume: the run continues with its stored {}", files::CONFIG);
        }
        if stored.model != model {
            bail!("model = {} is invalid: the run in {} trains {:?}", args.model, args.out.display(), stored.model);
        }
        stored
    } else {
        if has_checkpoint {
            bail!("--out {} already holds a run; pass --resume to continue it or choose another directory", args.out.display());
        }
        let mut cfg = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("--config {}: cannot read the file", path.display()))?;
                TrainConfig::from_toml(&text).with_context(|| format!("--config {}", path.display()))?
            }
            None => TrainConfig::default(),
        };
        cfg.model = model;
        cfg
    };
    if let Some(e) = args.epochs {
        cfg.epochs = e;
    }
    if args.resume {
        let state = training::read_run_state(&args.out)?;
        if cfg.epochs < state.epochs_done {
            bail!("epochs = {} is invalid: must be at least the {} epochs already done", cfg.epochs, state.epochs_done);
        }
        if args.epochs.is_some() {
            // Store the extended length so a later resume or eval sees it.
            std::fs::write(args.out.join(files::CONFIG), cfg.to_toml()).with_context(|| format!("{}", args.out.display()))?;
        }
    }
    let opts = TrainOptions { resume: args.resume, stop_after: None };
    if let (false, Some(notice)) = (args.quiet, device.warm_up_notice()) {
        eprintln!("{notice}");
    }
    let summary = training::train(&args.data, &args.out, &cfg, device, &opts, &Bar::new(args.quiet))?;
    if !args.quiet {
        let s = &summary.state;
        eprintln!(
            "trained {:?} ({} parameters) for {} epochs; best validation rel. L2 {:.4e} at epoch {}; run in {}",
            cfg.model, s.params, s.epochs_done, s.best_val_l2, s.best_epoch, args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `oplab train alrnn`: same flags, its own configuration ([`AlrnnTrainConfig`]), CPU only.
fn run_alrnn(args: TrainArgs) -> Result<ExitCode> {
    if args.device != "cpu" {
        bail!("device = {} is invalid: alrnn trains on the CPU only (a 20-unit RNN gains nothing from a GPU)", args.device);
    }
    let has_checkpoint = args.out.join(dynamics::train::files::CHECKPOINT).is_file();
    let mut cfg = if args.resume {
        if !has_checkpoint {
            bail!("--resume: {} holds no checkpoint ({}); start a new run without --resume", args.out.display(), dynamics::train::files::CHECKPOINT);
        }
        if args.config.is_some() {
            bail!("--config cannot be combined with --resume: the run continues with its stored {}", dynamics::train::files::CONFIG);
        }
        if !dynamics::is_alrnn_run(&args.out) {
            bail!("model = alrnn is invalid: the run in {} is not an alrnn run", args.out.display());
        }
        dynamics::train::read_config(&args.out)?
    } else {
        if has_checkpoint || args.out.join(files::CHECKPOINT).is_file() {
            bail!("--out {} already holds a run; pass --resume to continue it or choose another directory", args.out.display());
        }
        match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("--config {}: cannot read the file", path.display()))?;
                AlrnnTrainConfig::from_toml(&text).with_context(|| format!("--config {}", path.display()))?
            }
            None => AlrnnTrainConfig::default(),
        }
    };
    if let Some(e) = args.epochs {
        cfg.epochs = e;
        cfg.validate()?;
    }
    if args.resume {
        let state = dynamics::train::read_state(&args.out)?;
        if cfg.epochs < state.epochs_done {
            bail!("epochs = {} is invalid: must be at least the {} epochs already done", cfg.epochs, state.epochs_done);
        }
        if args.epochs.is_some() {
            std::fs::write(args.out.join(dynamics::train::files::CONFIG), cfg.to_toml()).with_context(|| format!("{}", args.out.display()))?;
        }
    }
    let opts = AlrnnTrainOptions { resume: args.resume, stop_after: None };
    let summary = dynamics::train(&args.data, &args.out, &cfg, &opts, &Bar::new(args.quiet))?;
    if !args.quiet {
        let s = &summary.state;
        let best = s.best_dstsp.map_or("none (every free run diverged)".to_string(), |d| format!("{d:.4}"));
        eprintln!(
            "trained AL-RNN (M = {}, P = {}, N = {}, {} parameters) for {} epochs in {:.1} s; lowest D_stsp on the training series {} at epoch {}; run in {}",
            s.shape.m, s.shape.p, s.shape.n, s.shape.n_params(), s.epochs_done, s.train_seconds, best, s.best_epoch, args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
