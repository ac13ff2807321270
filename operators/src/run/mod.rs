//! Runs: what every model family's training run has in common, whatever its model.
//!
//! A family (the neural operators MgNO and FNO, the AL-RNN, later PROSE and the converted
//! networks) implements [`RunFamily`]: its configuration type ([`RunConfig`]), how to train and
//! evaluate in a [`RunDir`], and how far a stored run got. Everything else is decided here, once:
//! how `oplab train` meets a run directory (a fresh start, `--resume`, a rerun of a finished
//! command, a clash with another run: [`plan`]) and how `oplab eval` finds the family of a run
//! (the `model` key of its `config.toml`). The command line only parses and prints.

mod checkpoint;
mod deadline;
mod dir;
mod eval_options;
mod placement;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use checkpoint::{pack, seal, unpack, unseal, write_atomic};
pub use deadline::Deadline;
pub use dir::{files, run_err, RunDir};
pub use eval_options::{ConvertMode, EvalOptions};
pub use placement::{NodeGroup, NodeStart, Placement};

use crate::backend::options::setting_value;
use crate::backend::DeviceKind;
use crate::error::OperatorError;
use oplab_common::Progress;

/// A family's training configuration: TOML in and out, the number of epochs, and what it
/// resolves against the data file before a run starts.
pub trait RunConfig: Clone + Serialize + DeserializeOwned {
    /// The default configuration of the family member `model` (as `oplab train <model>` names
    /// it).
    fn default_for(model: &str) -> crate::Result<Self>;
    /// Parse and validate TOML (a `--config` file or a stored `config.toml`); unknown keys are
    /// errors naming them.
    fn from_toml(text: &str) -> crate::Result<Self>;
    /// The configuration as TOML, as stored in the run directory.
    fn to_toml(&self) -> String;
    /// Set the member `model` (a `--config` file may omit it: the command names it).
    fn set_model(&mut self, model: &str) -> crate::Result<()>;
    /// Start the run from the weights in the safetensors file `path` (`--init`); false when the
    /// family cannot (the caller refuses the flag, naming the model).
    fn set_init(&mut self, path: &Path) -> bool {
        let _ = path;
        false
    }
    /// Check every field's range (after [`RunConfig::set_model`]).
    fn validate(&self) -> crate::Result<()>;
    /// Epochs to train.
    fn epochs(&self) -> usize;
    /// Set the epochs to train.
    fn set_epochs(&mut self, epochs: usize);
    /// The configuration with every data-dependent default set for `data` (a split of the file,
    /// a sequence length that fits it), and one line per default it set, for the user.
    fn resolve(&self, data: &Path) -> crate::Result<(Self, Vec<String>)>;
}

/// How far a stored run got.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Epochs finished.
    pub epochs_done: usize,
    /// The data file it trains on.
    pub data: PathBuf,
}

/// What a training or evaluation call reports: lines for the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// One line each, in order.
    pub lines: Vec<String>,
}

/// One model family's runs.
pub trait RunFamily: Sync {
    /// Its configuration.
    type Config: RunConfig;
    /// Refuse a device the family cannot run on, before anything is written. [`RunKind`]'s
    /// `train` and `evaluate` call it before [`RunFamily::train`] and [`RunFamily::evaluate`],
    /// which may take the device as checked.
    fn check_device(&self, device: DeviceKind) -> crate::Result<()> {
        let _ = device;
        Ok(())
    }
    /// How far the run in `run` got (from its checkpoint).
    fn record(&self, run: &RunDir) -> crate::Result<RunRecord>;
    /// Train (a fresh run, or continue the checkpoint in `run` when `call.resume`) for
    /// `cfg.epochs()` epochs on `data`, stopping early where `call.limits` say.
    fn train(&self, run: &RunDir, data: &Path, cfg: &Self::Config, call: TrainCall, device: DeviceKind, progress: &dyn Progress) -> crate::Result<Report>;
    /// Evaluate the run's kept model on the test part of `data`, with the `oplab eval` options
    /// `options` (a family refuses those it does not support: [`EvalOptions::refuse_except`]).
    fn evaluate(
        &self,
        run: &RunDir,
        data: &Path,
        cfg: &Self::Config,
        options: &EvalOptions,
        device: DeviceKind,
        progress: &dyn Progress,
    ) -> crate::Result<Report>;
}

/// Where one training call may stop before the run's last epoch. A run stopped early keeps a
/// checkpoint at an epoch boundary, and a later call resumes it exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrainLimits {
    /// Stop after this many finished epochs in all (an interruption; tests).
    pub stop_after: Option<usize>,
    /// Stop at the last epoch boundary before this wall-clock time ([`Deadline`]).
    pub deadline: Option<Instant>,
}

impl TrainLimits {
    /// The epoch this call trains up to, in a run of `epochs` epochs.
    pub fn last_epoch(&self, epochs: usize) -> usize {
        self.stop_after.map_or(epochs, |s| s.min(epochs))
    }

    /// The wall-clock limit as the epoch-boundary check every trainer makes.
    pub fn epoch_deadline(&self) -> Option<Deadline> {
        self.deadline.map(Deadline::at)
    }
}

/// What one training call does with its run directory besides the configuration: start afresh
/// or continue the checkpoint, where to stop early, and where its replicas run.
#[derive(Debug, Clone, Default)]
pub struct TrainCall {
    /// Continue the stored checkpoint.
    pub resume: bool,
    /// Where the call may stop early.
    pub limits: TrainLimits,
    /// Devices and node of a data-parallel run (the default: one device, one node).
    pub placement: Placement,
}

/// What a `train` call does in its run directory.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan<C> {
    /// The same command already finished this run: nothing to do.
    AlreadyComplete {
        /// Epochs the run has.
        epochs: usize,
    },
    /// Train with `config`, continuing the checkpoint when `resume`; `notes` tell the user the
    /// defaults that were resolved against the data.
    Train {
        /// The fully resolved configuration.
        config: C,
        /// Continue the stored checkpoint.
        resume: bool,
        /// Lines for the user.
        notes: Vec<String>,
    },
}

/// What a `train` command asks for.
#[derive(Debug, Clone)]
pub struct TrainRequest<'a> {
    /// The family member, as the command names it (`mgno`, `alrnn`, ...).
    pub model: &'a str,
    /// The data file.
    pub data: &'a Path,
    /// The `--config` file, if any: its path (for messages) and text.
    pub config: Option<(&'a Path, &'a str)>,
    /// `--epochs`: the run's length (on resume: extend it to this many).
    pub epochs: Option<usize>,
    /// `--resume`: continue the run's checkpoint.
    pub resume: bool,
    /// `--init`: a fresh run starts from the weights of this safetensors file.
    pub init: Option<&'a Path>,
    /// Single settings from flags (e.g. `--backend-cuda direct`): the flag, the dotted key it
    /// sets (`backend.cuda`) and the value (TOML syntax; a bare word is a string). They override
    /// the configuration; on resume they may only repeat the stored values.
    pub settings: Vec<Setting>,
    /// Where this call may stop before the run's last epoch (none for `oplab train`).
    pub limits: TrainLimits,
    /// Devices and node of a data-parallel run.
    pub placement: Placement,
}

/// One configuration value given by a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The flag, for messages (`--backend-cuda`).
    pub flag: String,
    /// The dotted key it sets (`backend.cuda`).
    pub key: String,
    /// The value as given.
    pub value: String,
}

/// `cfg` with `settings` applied; errors name the flag, the key and the value.
pub fn with_settings<C: RunConfig>(cfg: &C, model: &str, settings: &[Setting]) -> crate::Result<C> {
    if settings.is_empty() {
        return Ok(cfg.clone());
    }
    let mut doc: toml::Table = cfg.to_toml().parse().map_err(|e: toml::de::Error| OperatorError::Request(e.message().to_string()))?;
    for s in settings {
        let (tables, leaf) = s.key.rsplit_once('.').map_or((None, s.key.as_str()), |(t, l)| (Some(t), l));
        let mut table = &mut doc;
        for name in tables.into_iter().flat_map(|t| t.split('.')) {
            table = match table.get_mut(name) {
                Some(toml::Value::Table(t)) => t,
                _ => return Err(OperatorError::Request(format!("{}: {model} has no [{name}] options", s.flag))),
            };
        }
        if !table.contains_key(leaf) {
            return Err(OperatorError::Request(format!("{}: {model} has no setting {}", s.flag, s.key)));
        }
        table.insert(leaf.to_string(), setting_value(&s.value));
    }
    let flags: Vec<&str> = settings.iter().map(|s| s.flag.as_str()).collect();
    let text = toml::to_string(&doc).map_err(|e| OperatorError::Request(e.to_string()))?;
    C::from_toml(&text).map_err(|e| OperatorError::Request(format!("{}: {e}", flags.join(", "))))
}

/// The one place that decides how a `train` command meets its run directory:
/// - no checkpoint: a fresh run (`--resume` is an error);
/// - `--resume`: the stored configuration, extended by `--epochs`; a `--config` given too must
///   still describe it (its `epochs` aside), or the first differing key is named;
/// - a checkpoint without `--resume`: the same command again (same resolved configuration and
///   data file) is complete when all its epochs are done, else the user is told to resume;
///   anything else is another run, refused naming the first difference.
pub fn plan<F: RunFamily>(family: &F, run: &RunDir, req: &TrainRequest) -> crate::Result<Plan<F::Config>> {
    let out = run.path().display();
    let parse_given = |path: &Path, text: &str| F::Config::from_toml(text).map_err(|e| OperatorError::Request(format!("--config {}: {e}", path.display())));
    let requested = || -> crate::Result<(F::Config, Vec<String>)> {
        let mut cfg = match req.config {
            Some((path, text)) => parse_given(path, text)?,
            None => F::Config::default_for(req.model)?,
        };
        cfg.set_model(req.model)?;
        if let Some(e) = req.epochs {
            cfg.set_epochs(e);
        }
        if let Some(init) = req.init {
            if !cfg.set_init(init) {
                return Err(OperatorError::Request(format!("--init: {} runs cannot start from safetensors weights (mgno and fno can)", req.model)));
            }
        }
        let cfg = with_settings(&cfg, req.model, &req.settings)?;
        cfg.validate()?;
        cfg.resolve(req.data)
    };
    if !run.has_checkpoint() {
        if req.resume {
            return Err(OperatorError::Request(format!("--resume: {out} holds no checkpoint ({}); start a new run without --resume", files::CHECKPOINT)));
        }
        let (config, notes) = requested()?;
        return Ok(Plan::Train { config, resume: false, notes });
    }
    let stored_model = run.model()?;
    if stored_model != req.model {
        return Err(OperatorError::Request(format!(
            "--out {out} already holds another run (it trains {stored_model}, not {}); choose another directory",
            req.model
        )));
    }
    let mut stored = stored_config::<F::Config>(run)?;
    let record = family.record(run)?;
    if req.resume {
        if req.init.is_some() {
            return Err(OperatorError::Request(format!("--init: {out} is resumed from its checkpoint, not from initial weights; drop --init (or --resume)")));
        }
        if let Some((path, text)) = req.config {
            // The command that started the run plus --resume is fine while the file still
            // describes the stored run (the length is --epochs' business).
            let mut given = parse_given(path, text)?;
            given.set_model(req.model)?;
            given.set_epochs(stored.epochs());
            // With the command's flags, as when the run started (`--devices` sets [parallel]).
            let given = with_settings(&given, req.model, &req.settings)?;
            let (given, _) = given.resolve(req.data)?;
            if let Some(field) = oplab_datasets::config_diff::first_difference(&given.to_toml(), &stored.to_toml()) {
                return Err(OperatorError::Request(format!(
                    "--config {}: {field} differs from the run's stored {} in {out}; drop --config to continue the stored run, or start a new run elsewhere",
                    path.display(),
                    files::CONFIG
                )));
            }
        }
        // Flags may repeat what the run stores, never change it mid-run.
        if let Some(field) = oplab_datasets::config_diff::first_difference(&with_settings(&stored, req.model, &req.settings)?.to_toml(), &stored.to_toml()) {
            let flags: Vec<&str> = req.settings.iter().map(|s| s.flag.as_str()).collect();
            return Err(OperatorError::Request(format!(
                "{}: {field} differs from the run's stored {} in {out}; drop the flag to continue the stored run, or start a new run elsewhere",
                flags.join(", "),
                files::CONFIG
            )));
        }
        if let Some(e) = req.epochs {
            stored.set_epochs(e);
            stored.validate()?;
        }
        if stored.epochs() < record.epochs_done {
            return Err(OperatorError::invalid("epochs", stored.epochs(), format!("must be at least the {} epochs already done", record.epochs_done)));
        }
        let note = format!("resuming {out} after epoch {} of {}", record.epochs_done, stored.epochs());
        return Ok(Plan::Train { config: stored, resume: true, notes: vec![note] });
    }
    let (wanted, _) = requested()?;
    if let Some(field) = oplab_datasets::config_diff::first_difference(&stored.to_toml(), &wanted.to_toml()) {
        return Err(OperatorError::Request(format!(
            "--out {out} already holds another run (its config differs at `{field}`); pass --resume to continue that run, or choose another directory"
        )));
    }
    if !same_file(&record.data, req.data) {
        return Err(OperatorError::Request(format!(
            "--out {out} already holds another run (it trains on {}); pass --resume to continue that run, or choose another directory",
            record.data.display()
        )));
    }
    if record.epochs_done >= wanted.epochs() {
        return Ok(Plan::AlreadyComplete { epochs: record.epochs_done });
    }
    Err(OperatorError::Request(format!(
        "--out {out} holds this run stopped after {} of {} epochs; pass --resume to continue it",
        record.epochs_done,
        wanted.epochs()
    )))
}

/// The configuration stored in `run`; an error names `config.toml` (a file edited or damaged
/// since the run wrote it).
fn stored_config<C: RunConfig>(run: &RunDir) -> crate::Result<C> {
    let path = run.file(files::CONFIG);
    C::from_toml(&run.read_config()?).map_err(|e| run_err(&path, format!("no longer describes a run ({e}); restore the file, or start a new run")))
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// A family behind a uniform, object-safe face, so the command line can hold every family in
/// one list and run any of them by name.
pub trait RunKind: Sync {
    /// Plan a `train` command in `run` ([`plan`]) and, unless the run is already complete,
    /// train; the report starts with the plan's notes.
    fn train(&self, run: &RunDir, req: &TrainRequest, device: DeviceKind, progress: &dyn Progress) -> crate::Result<TrainOutcome>;
    /// Evaluate the run in `run` on `data`, with its stored configuration and the command's
    /// options.
    fn evaluate(&self, run: &RunDir, data: &Path, options: &EvalOptions, device: DeviceKind, progress: &dyn Progress) -> crate::Result<Report>;
}

/// What a `train` command did.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainOutcome {
    /// The run was already complete; nothing was done.
    AlreadyComplete {
        /// Epochs the run has.
        epochs: usize,
    },
    /// Trained; what to tell the user.
    Trained(Report),
}

impl<F: RunFamily> RunKind for F {
    fn train(&self, run: &RunDir, req: &TrainRequest, device: DeviceKind, progress: &dyn Progress) -> crate::Result<TrainOutcome> {
        let family = self;
        self.check_device(device)?;
        if let Some(nodes) = req.placement.nodes.as_ref().filter(|n| n.rank() > 0) {
            // Another node's process: node 0 plans and writes the run; this one waits for node 0's
            // word that the run directory holds the configuration and normalisers, and trains its
            // replicas from there.
            match nodes.start(NodeStart::Failed)? {
                NodeStart::Train => {}
                NodeStart::Complete => return Ok(TrainOutcome::AlreadyComplete { epochs: family.record(run)?.epochs_done }),
                NodeStart::Failed => return Err(OperatorError::Request(format!("node {}: node 0 did not start the run (its messages say why)", nodes.rank()))),
            }
            let config = stored_config::<F::Config>(run)?;
            let call = TrainCall { resume: run.has_checkpoint(), limits: req.limits, placement: req.placement.clone() };
            return Ok(TrainOutcome::Trained(RunFamily::train(self, run, req.data, &config, call, device, progress)?));
        }
        match plan(self, run, req)? {
            Plan::AlreadyComplete { epochs } => Ok(TrainOutcome::AlreadyComplete { epochs }),
            Plan::Train { config, resume, notes } => {
                run.create()?;
                // Stored before the first epoch (and again when --epochs extends a run), so the
                // directory always says what it is training.
                run.write_config(&config.to_toml())?;
                let mut report = RunFamily::train(
                    self,
                    run,
                    req.data,
                    &config,
                    TrainCall { resume, limits: req.limits, placement: req.placement.clone() },
                    device,
                    progress,
                )?;
                // The defaults resolved against the data come with the summary (they are in
                // config.toml too): printed before training, a data error found later would
                // follow them and no longer be the command's one line.
                report.lines.splice(0..0, notes);
                Ok(TrainOutcome::Trained(report))
            }
        }
    }

    fn evaluate(&self, run: &RunDir, data: &Path, options: &EvalOptions, device: DeviceKind, progress: &dyn Progress) -> crate::Result<Report> {
        self.check_device(device)?;
        let cfg = stored_config::<F::Config>(run)?;
        RunFamily::evaluate(self, run, data, &cfg, options, device, progress)
    }
}
