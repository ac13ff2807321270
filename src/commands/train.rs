use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use oplab_operators::backend::BackendOptions;
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
    /// Continue the run in --out from its last checkpoint (a --config given too must match the stored one).
    #[arg(long)]
    pub resume: bool,
    /// CUDA runs: burn's CUDA backend for the model (auto: without its fusion layer for mgno, with it
    /// for fno); sets `cuda` of the config's [backend] table, which the run stores.
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
        if let Some(path) = &args.config {
            // Rerunning the command that started the run, plus --resume, is fine as long as the
            // file still describes the stored run (the length is --epochs' business).
            let mut given = read_config_file(path, TrainConfig::from_toml)?;
            given.model = stored.model;
            given.epochs = stored.epochs;
            ensure_same_config(path, &given.to_toml(), &stored.to_toml(), &args.out, files::CONFIG)?;
        }
        if stored.model != model {
            bail!("model = {} is invalid: the run in {} trains {:?}", args.model, args.out.display(), stored.model);
        }
        // The stored [backend] options hold for the whole run; a flag may only repeat them.
        let flagged = with_backend_flags(stored.backend, &args)?;
        if let Some(field) = first_difference(&toml::to_string(&flagged).unwrap_or_default(), &toml::to_string(&stored.backend).unwrap_or_default()) {
            bail!(
                "--backend-{}: backend.{field} differs from the run's stored {} in {}; drop the flag to continue the stored run, or start a new run elsewhere",
                field.replace('_', "-"),
                files::CONFIG,
                args.out.display()
            );
        }
        stored
    } else {
        if has_checkpoint {
            bail!("--out {} already holds a run; pass --resume to continue it or choose another directory", args.out.display());
        }
        let mut cfg = match &args.config {
            Some(path) => {
                read_config_file(path, TrainConfig::from_toml)?
            }
            None => TrainConfig::default(),
        };
        cfg.model = model;
        cfg.backend = with_backend_flags(cfg.backend, &args)?;
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
    // Only for CUDA runs: building the notice fixes cubecl's configuration for the process.
    if !args.quiet && device == DeviceKind::Cuda {
        if let Some(notice) = training::cuda_setup_notice(cfg.model, &cfg.backend) {
            eprintln!("{notice}");
        }
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
    if let Some(flag) = [("--backend-cuda", &args.backend_cuda), ("--backend-memory", &args.backend_memory)].into_iter().find_map(|(f, v)| v.as_ref().map(|_| f)) {
        bail!("{flag} is invalid: alrnn trains on the CPU only and has no [backend] options");
    }
    let has_checkpoint = args.out.join(dynamics::train::files::CHECKPOINT).is_file();
    let mut cfg = if args.resume {
        if !has_checkpoint {
            bail!("--resume: {} holds no checkpoint ({}); start a new run without --resume", args.out.display(), dynamics::train::files::CHECKPOINT);
        }
        if !dynamics::is_alrnn_run(&args.out) {
            bail!("model = alrnn is invalid: the run in {} is not an alrnn run", args.out.display());
        }
        let stored = dynamics::train::read_config(&args.out)?;
        if let Some(path) = &args.config {
            // As for the operators: the starting command plus --resume is fine while the file
            // still describes the stored run.
            let mut given = read_config_file(path, AlrnnTrainConfig::from_toml)?;
            given.epochs = stored.epochs;
            ensure_same_config(path, &given.to_toml(), &stored.to_toml(), &args.out, dynamics::train::files::CONFIG)?;
        }
        stored
    } else {
        if has_checkpoint || args.out.join(files::CHECKPOINT).is_file() {
            bail!("--out {} already holds a run; pass --resume to continue it or choose another directory", args.out.display());
        }
        match &args.config {
            Some(path) => {
                read_config_file(path, AlrnnTrainConfig::from_toml)?
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

/// `options` with the `--backend-*` flags applied; errors name the flag, the field and the allowed
/// values.
fn with_backend_flags(mut options: BackendOptions, args: &TrainArgs) -> Result<BackendOptions> {
    for (flag, field, value) in [("--backend-cuda", "cuda", &args.backend_cuda), ("--backend-memory", "memory", &args.backend_memory)] {
        if let Some(v) = value {
            options = options.with_setting(field, v).with_context(|| flag.to_string())?;
        }
    }
    Ok(options)
}

/// Reads and parses a `--config` file; errors name the flag and the file.
fn read_config_file<T>(path: &Path, parse: impl FnOnce(&str) -> oplab_operators::Result<T>) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--config {}: cannot read the file", path.display()))?;
    parse(&text).with_context(|| format!("--config {}", path.display()))
}

/// With `--resume`, a `--config` file must still describe the stored run (its `epochs` aside):
/// otherwise one line naming the first differing field.
fn ensure_same_config(path: &Path, given: &str, stored: &str, out: &Path, stored_name: &str) -> Result<()> {
    match first_difference(given, stored) {
        None => Ok(()),
        Some(field) => bail!(
            "--config {}: {field} differs from the run's stored {stored_name} in {}; drop --config to continue the stored run, or start a new run elsewhere",
            path.display(),
            out.display()
        ),
    }
}

/// The first dotted key at which two TOML documents differ (`None` when they are equal).
fn first_difference(a: &str, b: &str) -> Option<String> {
    fn walk(a: &toml::Value, b: &toml::Value, path: &str) -> Option<String> {
        match (a, b) {
            (toml::Value::Table(x), toml::Value::Table(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().find_map(|k| {
                    let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    match (x.get(k), y.get(k)) {
                        (Some(v), Some(w)) => walk(v, w, &sub),
                        _ => Some(sub),
                    }
                })
            }
            _ if a == b => None,
            _ => Some(if path.is_empty() { "the config".to_string() } else { path.to_string() }),
        }
    }
    match (a.parse::<toml::Value>(), b.parse::<toml::Value>()) {
        (Ok(x), Ok(y)) => walk(&x, &y, ""),
        _ => (a != b).then(|| "the config".to_string()),
    }
}
