use std::path::{Path, PathBuf};
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
    /// Continue the run in --out from its last checkpoint (a --config given too must match the stored one).
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
    if has_checkpoint && !args.resume {
        if dynamics::is_alrnn_run(&args.out) {
            bail!("--out {} already holds another run (an alrnn run); choose another directory", args.out.display());
        }
        let mut wanted = match &args.config {
            Some(path) => read_config_file(path, TrainConfig::from_toml)?,
            None => TrainConfig::default(),
        };
        wanted.model = model;
        if let Some(e) = args.epochs {
            wanted.epochs = e;
        }
        let wanted = wanted.with_split_of(&args.data)?;
        let stored = training::read_run_config(&args.out)?;
        let state = training::read_run_state(&args.out)?;
        let verdict = compare_runs(&stored.to_toml(), &wanted.to_toml(), &state.data, &args.data, state.epochs_done, wanted.epochs);
        return finished_or_refused(&args, verdict);
    }
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
        stored
    } else {
        let mut cfg = match &args.config {
            Some(path) => read_config_file(path, TrainConfig::from_toml)?,
            None => TrainConfig::default(),
        };
        cfg.model = model;
        cfg.validate()?;
        if !cfg.data.split_is_resolved() {
            cfg = cfg.with_split_of(&args.data)?;
            if !args.quiet {
                let (n_train, n_val, n_test) = cfg.data.split_sizes();
                eprintln!(
                    "split of {}: {n_train} training, {n_val} validation, {n_test} test samples (sizes not set in [data] take 80/10/10 % of the file)",
                    args.data.display()
                );
            }
        }
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
        if let Some(notice) = training::cuda_setup_notice(cfg.model) {
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
    let has_checkpoint = args.out.join(dynamics::train::files::CHECKPOINT).is_file();
    if has_checkpoint && !args.resume && dynamics::is_alrnn_run(&args.out) {
        let mut wanted = match &args.config {
            Some(path) => read_config_file(path, AlrnnTrainConfig::from_toml)?,
            None => AlrnnTrainConfig::default(),
        };
        if let Some(e) = args.epochs {
            wanted.epochs = e;
        }
        let d = &wanted.data;
        let series_len = dynamics::train::load_series(&args.data, &d.field, d.train_sample, d.skip, d.length)?.len();
        let wanted = wanted.with_seq_len_for(series_len);
        let stored = dynamics::train::read_config(&args.out)?;
        let state = dynamics::train::read_state(&args.out)?;
        let verdict = compare_runs(&stored.to_toml(), &wanted.to_toml(), &state.data, &args.data, state.epochs_done, wanted.epochs);
        return finished_or_refused(&args, verdict);
    }
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
            bail!("--out {} already holds another run (not an alrnn run); choose another directory", args.out.display());
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

/// What `--out` holds, against the run the command would start there.
enum ExistingRun {
    /// The same configuration and data, all epochs done.
    Finished { epochs: usize },
    /// The same configuration and data, stopped after `done` of `epochs` epochs.
    Unfinished { done: usize, epochs: usize },
    /// Another run; the reason names the first difference.
    Different(String),
}

/// Compare a stored run (config TOML, data file, epochs done) with the run a command asks for.
fn compare_runs(stored: &str, wanted: &str, stored_data: &Path, data: &Path, done: usize, epochs: usize) -> ExistingRun {
    if let Some(field) = oplab_datasets::config_diff::first_difference(stored, wanted) {
        return ExistingRun::Different(format!("its config differs at `{field}`"));
    }
    let same_file = |a: &Path, b: &Path| a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y);
    if !same_file(stored_data, data) {
        return ExistingRun::Different(format!("it was trained on {}", stored_data.display()));
    }
    if done >= epochs {
        ExistingRun::Finished { epochs: done }
    } else {
        ExistingRun::Unfinished { done, epochs }
    }
}

/// A rerun of the command that finished a run succeeds without touching it (job scripts rerun
/// whole pipelines); an unfinished or different run is refused with what to do instead.
fn finished_or_refused(args: &TrainArgs, existing: ExistingRun) -> Result<ExitCode> {
    let out = args.out.display();
    match existing {
        ExistingRun::Finished { epochs } => {
            if !args.quiet {
                eprintln!("{out} is already complete ({epochs} epochs, same config and data); nothing to do");
            }
            Ok(ExitCode::SUCCESS)
        }
        ExistingRun::Unfinished { done, epochs } => {
            bail!("--out {out} holds this run stopped after {done} of {epochs} epochs; pass --resume to continue it")
        }
        ExistingRun::Different(why) => {
            bail!("--out {out} already holds another run ({why}); pass --resume to continue that run, or choose another directory")
        }
    }
}

/// Reads and parses a `--config` file; errors name the flag and the file.
fn read_config_file<T>(path: &Path, parse: impl FnOnce(&str) -> oplab_operators::Result<T>) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--config {}: cannot read the file", path.display()))?;
    parse(&text).with_context(|| format!("--config {}", path.display()))
}

/// With `--resume`, a `--config` file must still describe the stored run (its `epochs` aside):
/// otherwise one line naming the first differing field.
fn ensure_same_config(path: &Path, given: &str, stored: &str, out: &Path, stored_name: &str) -> Result<()> {
    match oplab_datasets::config_diff::first_difference(given, stored) {
        None => Ok(()),
        Some(field) => bail!(
            "--config {}: {field} differs from the run's stored {stored_name} in {}; drop --config to continue the stored run, or start a new run elsewhere",
            path.display(),
            out.display()
        ),
    }
}
