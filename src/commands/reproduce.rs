//! `oplab reproduce <name>`: one paper result, end to end, in one process: generate the data
//! (skipped when the file is complete), train (resumed when the run directory holds a
//! checkpoint; `--deadline` stops at an epoch boundary), evaluate on the test split, and write a
//! report of paper against oplab.
//!
//! Each reproduction is a TOML file under `reproduce/` at the repository root, compiled into the
//! binary: the GPU machine gets the binary alone, and `--list` and every check work anywhere,
//! while users read (and copy, for `--config`) the same files in the repository. A file holds
//! the paper's numbers with their source, the goal bounds, a `[generate]` table that is an
//! `oplab generate --config` file (plus `problem` and `file`) and a `[train]` table that is an
//! `oplab train --config` file, so any step can be rerun by hand; `[smoke]` lays a tiny variant
//! over both.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use oplab_common::atomic::write_atomically;
use oplab_operators::dynamics::{self, AlrnnRuns, AlrnnTrainConfig};
use oplab_operators::run::{files, RunConfig, RunDir, RunFamily, RunKind, TrainLimits, TrainOutcome, TrainRequest};
use oplab_operators::training::{self, OperatorRuns, TrainConfig};
use oplab_operators::DeviceKind;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::generate::{check_config, generate_from_config};
use crate::config::GenerationConfigFile;
use crate::progress::Bar;

/// The shipped reproductions: name and file text.
pub const SHIPPED: [(&str, &str); 4] = [
    ("mgno-darcy-rough", include_str!("../../reproduce/mgno-darcy-rough.toml")),
    ("mgno-darcy-smooth", include_str!("../../reproduce/mgno-darcy-smooth.toml")),
    ("fno-darcy-rough", include_str!("../../reproduce/fno-darcy-rough.toml")),
    ("alrnn-lorenz", include_str!("../../reproduce/alrnn-lorenz.toml")),
];

/// Arguments of `oplab reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// The reproduction to run (`--list` shows them).
    pub name: Option<String>,
    /// List the reproductions: name, paper, what it runs, rough cost.
    #[arg(long)]
    pub list: bool,
    /// Run the reproduction in this file instead of a shipped one (the format of `reproduce/*.toml`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Work folder: `OUT/<name>/` gets the report and the run directories, `OUT/data/` the data
    /// (shared by reproductions on the same file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder of the data files [default: OUT/data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// cpu or cuda (alrnn runs on the CPU only).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Worker threads of the data generation [default: one per core]. Never changes the data.
    #[arg(long)]
    pub threads: Option<usize>,
    /// The same steps on a tiny problem (seconds on a CPU): a check of the path, not a result.
    #[arg(long)]
    pub smoke: bool,
    /// End within SECONDS of wall time: training stops at the last epoch boundary that leaves a
    /// tenth of SECONDS for the evaluation and the report; the next call resumes it exactly.
    #[arg(long, value_name = "SECONDS")]
    pub deadline: Option<f64>,
    /// Stop every training after this many finished epochs in all (an interruption; tests).
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

/// One reproduction file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    paper: String,
    about: String,
    cost: String,
    /// Training seeds, one run each (absent: the `[train]` table's seed, one run).
    seeds: Option<Vec<u64>>,
    targets: Vec<Target>,
    generate: toml::Table,
    train: toml::Table,
    smoke: Option<toml::Table>,
}

/// A number the paper reports (or a goal without one), and the bound oplab must meet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    metric: Metric,
    paper: Option<f64>,
    source: String,
    goal: Option<Goal>,
}

/// The measured quantities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum Metric {
    /// Mean relative L2 on the test split.
    RelL2,
    /// Mean relative H1 on the test split.
    RelH1,
    /// AL-RNN state-space divergence against the test series.
    Dstsp,
    /// AL-RNN Hellinger distance of the power spectra.
    Dh,
    /// AL-RNN linear subregions visited by the free run.
    NSubregions,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::RelL2 => "rel_l2",
            Metric::RelH1 => "rel_h1",
            Metric::Dstsp => "dstsp",
            Metric::Dh => "dh",
            Metric::NSubregions => "n_subregions",
        }
    }
}

/// One of: `{ at_most = X }` (the value, or the median over seeds, at most X); `{ equal = X,
/// seeds = K }` (equal to X in at least K seeds); `{ times = F, of = "name" }` (at least F times
/// the same metric of reproduction `name` in the same work folder).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Goal {
    at_most: Option<f64>,
    equal: Option<f64>,
    seeds: Option<usize>,
    times: Option<f64>,
    of: Option<String>,
}

impl Goal {
    fn check(&self, prefix: &str) -> Result<()> {
        let kinds = [self.at_most.is_some(), self.equal.is_some() || self.seeds.is_some(), self.times.is_some() || self.of.is_some()];
        let ok = kinds.iter().filter(|k| **k).count() == 1
            && (self.equal.is_some() == self.seeds.is_some())
            && (self.times.is_some() == self.of.is_some())
            && [self.at_most, self.equal, self.times].into_iter().flatten().all(f64::is_finite)
            && self.times.is_none_or(|t| t > 0.0);
        if !ok {
            bail!("{prefix}.goal is invalid: must be one of {{ at_most = X }}, {{ equal = X, seeds = K }}, {{ times = F, of = \"name\" }} with finite numbers");
        }
        Ok(())
    }

    fn text(&self, metric: Metric) -> String {
        let m = metric.name();
        match (self.at_most, self.equal, self.seeds, self.times, &self.of) {
            (Some(x), ..) => format!("{m} <= {x}"),
            (_, Some(x), Some(k), ..) => format!("{m} = {x} in >= {k} seeds"),
            (.., Some(f), Some(of)) => format!("{m} >= {f} x {of}'s"),
            _ => String::new(),
        }
    }
}

/// The model family a reproduction trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Operator,
    Alrnn,
}

/// A parsed and checked reproduction (with `--smoke` laid over it when asked for).
#[derive(Debug, Clone)]
struct Reproduction {
    spec: Spec,
    smoke: bool,
    problem: String,
    file: String,
    generate: toml::Table,
    family: Family,
    model: String,
    seeds: Vec<Option<u64>>,
    /// Where it came from: its name, or `--config FILE`.
    origin: String,
}

/// `top` laid over `base`, tables merged key by key.
fn lay_over(base: &mut toml::Table, top: &toml::Table) {
    for (key, value) in top {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => lay_over(b, t),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

fn string_key(table: &mut toml::Table, key: &str, prefix: &str) -> Result<String> {
    match table.remove(key) {
        Some(toml::Value::String(s)) if !s.is_empty() => Ok(s),
        Some(v) => bail!("{prefix}.{key} = {v} is invalid: must be a non-empty string"),
        None => bail!("{prefix}.{key} is missing: the reproduction must set it"),
    }
}

impl Reproduction {
    /// Parse and check the reproduction file `text` (`origin` names it in errors).
    fn parse(text: &str, origin: &str, smoke: bool) -> Result<Reproduction> {
        let mut spec: Spec = toml::from_str(text).map_err(|e| anyhow!("{origin}: {}", e.message().trim()))?;
        let prefix = origin;
        if let Some(over) = spec.smoke.clone().filter(|_| smoke) {
            for (key, value) in &over {
                match (key.as_str(), value) {
                    ("generate", toml::Value::Table(t)) => lay_over(&mut spec.generate, t),
                    ("train", toml::Value::Table(t)) => lay_over(&mut spec.train, t),
                    ("seeds", v) => {
                        spec.seeds =
                            Some(v.clone().try_into().map_err(|_| anyhow!("{prefix}: smoke.seeds = {v} is invalid: must be a list of non-negative integers"))?)
                    }
                    (other, _) => bail!("{prefix}: smoke.{other} is unknown: [smoke] may set generate, train and seeds"),
                }
            }
        }
        if spec.targets.is_empty() {
            bail!("{prefix}: targets is empty: a reproduction names at least one [[targets]] entry");
        }
        for (i, t) in spec.targets.iter().enumerate() {
            if let Some(p) = t.paper.filter(|p| !p.is_finite()) {
                bail!("{prefix}: targets[{i}].paper = {p} is invalid: must be a finite number");
            }
            if let Some(g) = &t.goal {
                g.check(&format!("{prefix}: targets[{i}]"))?;
            }
        }
        let mut generate = spec.generate.clone();
        let problem = string_key(&mut generate, "problem", &format!("{prefix}: generate"))?;
        let file = string_key(&mut generate, "file", &format!("{prefix}: generate"))?;
        if Path::new(&file).file_name().is_none_or(|n| n != file.as_str()) || !file.ends_with(".h5") {
            bail!("{prefix}: generate.file = {file} is invalid: must be a plain file name ending in .h5");
        }
        check_config(&problem, &format!("{prefix}: generate.problem"), &GenerationConfigFile::from_table(generate.clone()))
            .map_err(|e| anyhow!("{prefix}: [generate]: {e}"))?;
        let model = match spec.train.get("model") {
            Some(toml::Value::String(m)) => m.clone(),
            Some(v) => bail!("{prefix}: train.model = {v} is invalid: must be a string"),
            None => bail!("{prefix}: train.model is missing: the reproduction must name the model"),
        };
        let family = match model.as_str() {
            "mgno" | "fno" | "unet" | "cnn" => Family::Operator,
            "alrnn" => Family::Alrnn,
            other => bail!("{prefix}: train.model = {other} is invalid: a reproduction trains mgno, fno, unet, cnn or alrnn"),
        };
        let seeds = match &spec.seeds {
            None => vec![None],
            Some(s) if s.is_empty() => bail!("{prefix}: seeds is empty: give at least one seed, or drop the key"),
            Some(s) => {
                let mut sorted = s.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if sorted.len() != s.len() {
                    bail!("{prefix}: seeds = {s:?} is invalid: every seed must differ");
                }
                s.iter().copied().map(Some).collect()
            }
        };
        let repro = Reproduction { spec, smoke, problem, file, generate, family, model, seeds, origin: origin.to_string() };
        for seed in &repro.seeds {
            repro.check_train(&repro.train_text(*seed)).map_err(|e| anyhow!("{prefix}: [train]: {e}"))?;
        }
        Ok(repro)
    }

    /// The `[train]` table as an `oplab train --config` file, with `seed` set when given.
    fn train_text(&self, seed: Option<u64>) -> String {
        let mut table = self.spec.train.clone();
        if let Some(s) = seed {
            table.insert("seed".into(), toml::Value::Integer(s as i64));
        }
        toml::to_string(&table).unwrap_or_default()
    }

    /// The `[generate]` table as an `oplab generate --config` file.
    fn generate_text(&self) -> String {
        toml::to_string(&self.generate).unwrap_or_default()
    }

    fn check_train(&self, text: &str) -> Result<()> {
        match self.family {
            Family::Operator => check_family_config::<TrainConfig>(text, &self.model),
            Family::Alrnn => check_family_config::<AlrnnTrainConfig>(text, &self.model),
        }
    }

    /// The run directory of seed `seed` inside `dir`.
    fn run_dir(&self, dir: &Path, seed: Option<u64>) -> PathBuf {
        match seed {
            Some(s) if self.spec.seeds.is_some() => dir.join(format!("run-seed{s}")),
            _ => dir.join("run"),
        }
    }
}

fn check_family_config<C: RunConfig>(text: &str, model: &str) -> Result<()> {
    let mut cfg = C::from_toml(text)?;
    cfg.set_model(model)?;
    cfg.validate()?;
    Ok(())
}

/// The shipped reproduction `name`, or an error listing them.
fn shipped(name: &str) -> Result<&'static str> {
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, text)| *text).ok_or_else(|| {
        let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
        anyhow!("reproduction = {name} is invalid: must be one of: {} (see oplab reproduce --list)", names.join(", "))
    })
}

pub fn run(args: ReproduceArgs) -> Result<ExitCode> {
    if args.list {
        if args.name.is_some() || args.config.is_some() {
            bail!("--list takes no reproduction name or --config");
        }
        for (name, text) in SHIPPED {
            let r = Reproduction::parse(text, name, false)?;
            let paper: Vec<String> = r.spec.targets.iter().filter_map(|t| t.paper.map(|p| format!("{} {p}", t.metric.name()))).collect();
            let paper = if paper.is_empty() { String::new() } else { format!(" [{}]", paper.join(", ")) };
            // A closed pipe (`| head`) ends the listing quietly.
            if writeln!(std::io::stdout().lock(), "{name}\n  paper: {}{paper}\n  runs:  {}\n  cost:  {}", r.spec.paper, r.spec.about, r.spec.cost).is_err() {
                break;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (text, origin) = match (&args.name, &args.config) {
        (Some(name), None) => (shipped(name)?.to_string(), name.clone()),
        (None, Some(path)) => (
            std::fs::read_to_string(path).with_context(|| format!("--config {}: cannot read the file", path.display()))?,
            format!("--config {}", path.display()),
        ),
        (Some(_), Some(_)) => bail!("reproduction: give a name or --config FILE, not both"),
        (None, None) => bail!("reproduction: give a name (oplab reproduce --list shows them) or --config FILE"),
    };
    let repro = Reproduction::parse(&text, &origin, args.smoke)?;
    let out = args.out.clone().ok_or_else(|| anyhow!("--out is missing: name the work folder (OUT/{}/ gets the report)", repro.spec.name))?;
    if let Some(d) = args.deadline.filter(|d| !(d.is_finite() && *d > 0.0)) {
        bail!("--deadline = {d} is invalid: must be a positive number of seconds");
    }
    if args.stop_after == Some(0) {
        bail!("--stop-after = 0 is invalid: must be at least 1");
    }
    let device: DeviceKind = args.device.parse()?;
    match repro.family {
        Family::Operator => OperatorRuns.check_device(device)?,
        Family::Alrnn => AlrnnRuns.check_device(device)?,
    }
    Session::new(&args, repro, out, device).run()
}

/// One call of `oplab reproduce`.
struct Session<'a> {
    args: &'a ReproduceArgs,
    repro: Reproduction,
    dir: PathBuf,
    data: PathBuf,
    device: DeviceKind,
    started: Instant,
    /// Training must have ended by then.
    train_until: Option<Instant>,
}

/// What one run directory holds after this call.
struct RunResult {
    seed: Option<u64>,
    dir: PathBuf,
    epochs_done: usize,
    epochs_planned: usize,
    best_epoch: usize,
    train_seconds: f64,
    /// The evaluation's numbers (none before the first kept model).
    metrics: Option<serde_json::Map<String, Value>>,
    figures: Vec<&'static str>,
}

impl<'a> Session<'a> {
    fn new(args: &'a ReproduceArgs, repro: Reproduction, out: PathBuf, device: DeviceKind) -> Self {
        let started = Instant::now();
        let train_until = args.deadline.map(|d| started + Duration::from_secs_f64(d * 0.9));
        let dir = out.join(&repro.spec.name);
        let data = args.data_dir.clone().unwrap_or_else(|| out.join("data")).join(&repro.file);
        Session { args, repro, dir, data, device, started, train_until }
    }

    fn say(&self, text: &str) {
        if !self.args.quiet {
            eprintln!("{text}");
        }
    }

    fn run(&self) -> Result<ExitCode> {
        let name = &self.repro.spec.name;
        std::fs::create_dir_all(&self.dir).with_context(|| format!("--out: cannot create {}", self.dir.display()))?;
        let _lock = super::lock_output(&oplab_common::lock::lock_path(&self.dir.join("report.json")), "--out", &self.dir)?;
        let data_dir = self.data.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
        // The exact inputs of each step, for a rerun by hand.
        write_atomically(&self.dir.join("generate.toml"), self.repro.generate_text().as_bytes())?;
        write_atomically(&self.dir.join("train.toml"), self.repro.train_text(self.repro.seeds[0]).as_bytes())?;

        self.say(&format!("reproduce {name}{}: 1/4 data {}", if self.repro.smoke { " (smoke)" } else { "" }, self.data.display()));
        let summary = generate_from_config(
            &self.repro.problem,
            "generate.problem",
            &GenerationConfigFile::from_table(self.repro.generate.clone()),
            &self.data,
            self.args.threads,
            self.args.quiet,
        )?;
        self.say(&if summary.already_complete {
            format!("  {} is complete ({} samples); not generated again", self.data.display(), summary.samples)
        } else {
            format!("  wrote {} ({} samples, {} now) in {:.1} s", self.data.display(), summary.samples, summary.generated, summary.elapsed.as_secs_f64())
        });

        let mut results = Vec::new();
        for (i, seed) in self.repro.seeds.iter().enumerate() {
            let run = RunDir::new(self.repro.run_dir(&self.dir, *seed));
            self.say(&format!("reproduce {name}: 2/4 train {} ({} of {})", run.path().display(), i + 1, self.repro.seeds.len()));
            self.train(&run, *seed)?;
        }
        for seed in &self.repro.seeds {
            let run = RunDir::new(self.repro.run_dir(&self.dir, *seed));
            self.say(&format!("reproduce {name}: 3/4 evaluate {}", run.path().display()));
            results.push(self.evaluate(&run, *seed)?);
        }
        self.say(&format!("reproduce {name}: 4/4 report"));
        let report = self.report(&results, &summary)?;
        write_atomically(&self.dir.join("report.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
        let md = markdown(&report);
        write_atomically(&self.dir.join("report.md"), md.as_bytes())?;
        if !self.args.quiet {
            for line in md.lines().filter(|l| l.starts_with('|') || l.starts_with("**")) {
                eprintln!("{line}");
            }
            eprintln!("report: {}", self.dir.join("report.md").display());
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Train (or resume, or find complete) the run of `seed`.
    fn train(&self, run: &RunDir, seed: Option<u64>) -> Result<()> {
        let text = self.repro.train_text(seed);
        let config_path = PathBuf::from(format!("{} [train]", self.repro.origin));
        std::fs::create_dir_all(run.path()).with_context(|| format!("cannot create the run directory {}", run.path().display()))?;
        let _lock = super::lock_output(&run.file(files::LOCK), "--out", run.path())?;
        let epochs = match self.repro.family {
            Family::Operator => TrainConfig::from_toml(&text)?.epochs,
            Family::Alrnn => AlrnnTrainConfig::from_toml(&text)?.epochs,
        };
        let deadline = self.train_until;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            self.say("  no time left before --deadline; not trained in this call");
            return Ok(());
        }
        let request = TrainRequest {
            model: &self.repro.model,
            data: &self.data,
            config: Some((&config_path, &text)),
            epochs: Some(epochs),
            resume: run.has_checkpoint(),
            init: None,
            settings: Vec::new(),
            limits: TrainLimits { stop_after: self.args.stop_after, deadline },
            placement: Default::default(),
        };
        let outcome = match self.repro.family {
            Family::Operator => self.train_family(&OperatorRuns, run, &request)?,
            Family::Alrnn => self.train_family(&AlrnnRuns, run, &request)?,
        };
        if let TrainOutcome::AlreadyComplete { .. } = outcome {
            self.say("  complete; not trained again");
        }
        Ok(())
    }

    /// Train `run` as `request` asks, once a stored run is found to be still the one the
    /// reproduction describes.
    fn train_family<F: RunFamily>(&self, family: &F, run: &RunDir, request: &TrainRequest) -> Result<TrainOutcome> {
        check_stored::<F::Config>(run, request)?;
        // The reproduction resumes every run it finds, so a run that already has the
        // reproduction's epochs is complete here (one with more is the plan's error to name).
        if request.resume {
            let done = family.record(run)?.epochs_done;
            if request.epochs == Some(done) {
                return Ok(TrainOutcome::AlreadyComplete { epochs: done });
            }
        }
        Ok(RunKind::train(family, run, request, self.device, &Bar::new(self.args.quiet))?)
    }

    /// Evaluate the kept model of `run` (when there is one) and gather what the report needs.
    fn evaluate(&self, run: &RunDir, seed: Option<u64>) -> Result<RunResult> {
        // Under the run's lock, as `oplab eval` reads it: a training of the same directory
        // started by hand would otherwise replace the checkpoint between the reads.
        let _lock = if run.path().is_dir() { super::lock_output(&run.file(files::LOCK), "--out", run.path())? } else { None };
        let bar = Bar::new(self.args.quiet);
        let mut result = RunResult {
            seed,
            dir: run.path().to_path_buf(),
            epochs_done: 0,
            epochs_planned: 0,
            best_epoch: 0,
            train_seconds: 0.0,
            metrics: None,
            figures: Vec::new(),
        };
        match self.repro.family {
            Family::Operator => {
                let mut cfg = TrainConfig::from_toml(&self.repro.train_text(seed))?;
                cfg.set_model(&self.repro.model)?;
                result.epochs_planned = cfg.epochs;
                if !run.has_checkpoint() {
                    return Ok(result);
                }
                let state = training::read_run_state(run)?;
                result.epochs_done = state.epochs_done;
                result.best_epoch = state.best_epoch;
                result.train_seconds = state.history.iter().map(|m| m.seconds).sum();
                let s = training::evaluate(run, &self.data, self.device, &bar)?;
                let mut m = serde_json::Map::new();
                m.insert(Metric::RelL2.name().into(), json!(s.mean_l2));
                m.insert(Metric::RelH1.name().into(), json!(s.mean_h1));
                m.insert("test_samples".into(), json!(s.n));
                result.metrics = Some(m);
                result.figures = vec![training::files::CURVE, training::files::EVAL_PNG];
            }
            Family::Alrnn => {
                let cfg = AlrnnTrainConfig::from_toml(&self.repro.train_text(seed))?;
                result.epochs_planned = cfg.epochs;
                if !run.has_checkpoint() {
                    return Ok(result);
                }
                let state = dynamics::train::read_state(run)?;
                result.epochs_done = state.epochs_done;
                result.best_epoch = state.best_epoch;
                result.train_seconds = state.train_seconds;
                result.figures = vec![dynamics::train::files::CURVE];
                if !run.file(dynamics::train::files::BEST).exists() {
                    // No model kept yet: the first model selection comes after `eval.every` epochs.
                    return Ok(result);
                }
                let s = dynamics::evaluate(run, &self.data, &bar)?;
                let mut m = serde_json::Map::new();
                m.insert(Metric::Dstsp.name().into(), json!(s.dstsp));
                m.insert(Metric::Dh.name().into(), json!(s.dh));
                m.insert(Metric::NSubregions.name().into(), json!(s.n_subregions));
                m.insert("coding_steps".into(), json!(s.coding_steps));
                m.insert("diverged".into(), json!(s.diverged));
                result.metrics = Some(m);
                result.figures.extend([dynamics::train::files::ATTRACTOR, dynamics::train::files::SPECTRA, dynamics::train::files::SUBREGIONS]);
            }
        }
        Ok(result)
    }

    /// The report as JSON: every field `report.md` shows.
    fn report(&self, results: &[RunResult], data: &oplab_datasets::RunSummary) -> Result<Value> {
        let spec = &self.repro.spec;
        let complete = results.iter().all(|r| r.metrics.is_some() && r.epochs_done >= r.epochs_planned);
        let status = if complete {
            "complete".to_string()
        } else {
            let done: usize = results.iter().map(|r| r.epochs_done).sum();
            let planned: usize = results.iter().map(|r| r.epochs_planned).sum();
            format!("partial, {done} of {planned} epochs")
        };
        let settings = GenerationConfigFile::from_table(self.repro.generate.clone()).settings(&self.repro.problem)?;
        let mut targets = Vec::new();
        for t in &spec.targets {
            let values: Vec<f64> = results.iter().filter_map(|r| r.metrics.as_ref()?.get(t.metric.name())?.as_f64()).collect();
            let value = median(&values);
            let spread = (values.len() > 1)
                .then(|| json!([values.iter().cloned().fold(f64::INFINITY, f64::min), values.iter().cloned().fold(f64::NEG_INFINITY, f64::max)]));
            let ratio = match (value, t.paper) {
                (Some(v), Some(p)) if p != 0.0 => Some(v / p),
                _ => None,
            };
            let (goal_met, goal_note) = match &t.goal {
                None => (None, None),
                Some(g) if !complete => (None, Some(format!("{}: not judged ({status})", g.text(t.metric)))),
                Some(g) => self.judge(g, t.metric, value, &values, results.len()),
            };
            targets.push(json!({
                "metric": t.metric.name(),
                "paper": t.paper,
                "source": t.source,
                "oplab": value,
                "statistic": if results.len() > 1 { "median" } else { "value" },
                "spread": spread,
                "per_run": values,
                "ratio": ratio,
                "goal": t.goal.as_ref().map(|g| g.text(t.metric)),
                "goal_met": goal_met,
                "goal_note": goal_note,
            }));
        }
        let runs: Vec<Value> = results
            .iter()
            .map(|r| {
                let rel = r.dir.strip_prefix(&self.dir).unwrap_or(&r.dir).to_path_buf();
                json!({
                    "dir": rel.display().to_string(),
                    "seed": r.seed,
                    "epochs_run": r.epochs_done,
                    "epochs_planned": r.epochs_planned,
                    "best_epoch": r.best_epoch,
                    "train_seconds": r.train_seconds,
                    "metrics": r.metrics,
                    "figures": r.figures.iter().filter(|f| r.dir.join(f).exists()).map(|f| rel.join(f).display().to_string()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let command: Vec<String> = std::env::args().collect();
        Ok(json!({
            "name": spec.name,
            "paper": spec.paper,
            "about": spec.about,
            "smoke": self.repro.smoke,
            "status": status,
            "complete": complete,
            "epochs_run": results.iter().map(|r| r.epochs_done).sum::<usize>(),
            "epochs_planned": results.iter().map(|r| r.epochs_planned).sum::<usize>(),
            "wall_seconds": self.started.elapsed().as_secs_f64(),
            "train_seconds": results.iter().map(|r| r.train_seconds).sum::<f64>(),
            "device": format!("{:?}", self.device).to_lowercase(),
            "command": command.join(" "),
            "commit": oplab_datasets::OPLAB_VERSION,
            "data": {
                "file": self.data.display().to_string(),
                "problem": self.repro.problem,
                "samples": data.samples,
                "seed": settings.seed,
            },
            "model": self.repro.model,
            "targets": targets,
            "runs": runs,
        }))
    }

    /// Whether the finished runs meet `goal`, and a note when that cannot be told.
    fn judge(&self, goal: &Goal, metric: Metric, value: Option<f64>, values: &[f64], runs: usize) -> (Option<bool>, Option<String>) {
        if let Some(bound) = goal.at_most {
            return match value {
                Some(v) => (Some(v <= bound), None),
                None => (Some(false), Some("no value (every run diverged)".into())),
            };
        }
        if let (Some(x), Some(k)) = (goal.equal, goal.seeds) {
            let hits = values.iter().filter(|v| **v == x).count();
            return (Some(hits >= k), Some(format!("{hits} of {runs} runs")));
        }
        if let (Some(f), Some(of)) = (goal.times, &goal.of) {
            let other = self.dir.parent().unwrap_or(Path::new(".")).join(of).join("report.json");
            let theirs = std::fs::read_to_string(&other).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok());
            let Some(theirs) = theirs else {
                return (None, Some(format!("not judged: no {} (run oplab reproduce {of} with the same --out)", other.display())));
            };
            if theirs["complete"] != json!(true) || theirs["smoke"] != json!(self.repro.smoke) {
                return (
                    None,
                    Some(format!(
                        "not judged: {of} is {}{}",
                        theirs["status"].as_str().unwrap_or("?"),
                        if theirs["smoke"] == json!(true) { " (smoke)" } else { "" }
                    )),
                );
            }
            let mine = metric.name();
            let their_value = theirs["targets"].as_array().and_then(|ts| ts.iter().find(|t| t["metric"] == json!(mine))).and_then(|t| t["oplab"].as_f64());
            return match (value, their_value) {
                (Some(v), Some(o)) if o > 0.0 => (Some(v >= f * o), Some(format!("{of}: {o:.4e}, ratio {:.2}", v / o))),
                _ => (None, Some(format!("not judged: {of}'s report has no {mine}"))),
            };
        }
        (None, None)
    }
}

/// Refuses a stored run that is no longer the one the reproduction describes (its length aside,
/// which extends it), naming the first differing key.
fn check_stored<C: RunConfig>(run: &RunDir, request: &TrainRequest) -> Result<()> {
    let (true, Some((origin, text))) = (request.resume, request.config) else {
        return Ok(());
    };
    let stored = C::from_toml(&run.read_config()?)?;
    let mut given = C::from_toml(text)?;
    given.set_model(request.model)?;
    given.set_epochs(stored.epochs());
    let (given, _) = given.resolve(request.data)?;
    if let Some(field) = oplab_datasets::config_diff::first_difference(&given.to_toml(), &stored.to_toml()) {
        bail!(
            "{}: {field} differs from the run in {} (its {}); give another --out, or remove the run directory to start it over",
            origin.display(),
            run.path().display(),
            files::CONFIG
        );
    }
    Ok(())
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}

fn number(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e4 => format!("{x:.0}"),
        Some(x) if x.abs() < 1e-2 || x.abs() >= 1e4 => format!("{x:.4e}"),
        Some(x) => format!("{x:.4}"),
        None => "–".into(),
    }
}

/// `report.md` from the report's JSON.
fn markdown(r: &Value) -> String {
    let mut out = vec![
        format!("# Reproduction {}{}", r["name"].as_str().unwrap_or(""), if r["smoke"] == json!(true) { " (smoke: not a result)" } else { "" }),
        String::new(),
    ];
    out.push(format!("{}; {}.", r["paper"].as_str().unwrap_or(""), r["about"].as_str().unwrap_or("")));
    out.push(String::new());
    out.push(format!(
        "**Status: {}** ({} of {} epochs; {:.0} s of training in all, {:.0} s this call, device {}).",
        r["status"].as_str().unwrap_or(""),
        r["epochs_run"],
        r["epochs_planned"],
        r["train_seconds"].as_f64().unwrap_or(0.0),
        r["wall_seconds"].as_f64().unwrap_or(0.0),
        r["device"].as_str().unwrap_or("")
    ));
    out.push(String::new());
    out.push("| quantity | paper | oplab | oplab / paper | goal | met | source |".into());
    out.push("|---|---|---|---|---|---|---|".into());
    for t in r["targets"].as_array().into_iter().flatten() {
        let mut oplab = number(&t["oplab"]);
        if t["statistic"] == json!("median") {
            oplab = format!("{oplab} (median; {} to {})", number(&t["spread"][0]), number(&t["spread"][1]));
        }
        let met = match (&t["goal_met"], t["goal_note"].as_str()) {
            (Value::Bool(b), note) => format!("{}{}", if *b { "yes" } else { "no" }, note.map(|n| format!(" ({n})")).unwrap_or_default()),
            (_, Some(note)) => note.to_string(),
            _ => "–".into(),
        };
        out.push(format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            t["metric"].as_str().unwrap_or(""),
            number(&t["paper"]),
            oplab,
            t["ratio"].as_f64().map_or("–".into(), |x| format!("{x:.2}")),
            t["goal"].as_str().unwrap_or("–"),
            met,
            t["source"].as_str().unwrap_or("")
        ));
    }
    out.push(String::new());
    out.push("| run | seed | epochs | best epoch | training s | figures |".into());
    out.push("|---|---|---|---|---|---|".into());
    for run in r["runs"].as_array().into_iter().flatten() {
        let figures: Vec<String> = run["figures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .map(|f| format!("[{}]({f})", Path::new(f).file_name().map_or(f.into(), |n| n.to_string_lossy())))
            .collect();
        out.push(format!(
            "| {} | {} | {} of {} | {} | {:.0} | {} |",
            run["dir"].as_str().unwrap_or(""),
            run["seed"].as_u64().map_or("–".into(), |s| s.to_string()),
            run["epochs_run"],
            run["epochs_planned"],
            run["best_epoch"],
            run["train_seconds"].as_f64().unwrap_or(0.0),
            figures.join(", ")
        ));
    }
    if let Some(first) = r["runs"].as_array().and_then(|a| a.first()) {
        out.push(String::new());
        for f in first["figures"].as_array().into_iter().flatten().filter_map(|f| f.as_str()) {
            out.push(format!("![{f}]({f})"));
        }
    }
    out.push(String::new());
    out.push(format!(
        "Data: {} ({} samples of `{}`, data seed {}). Command: `{}`. oplab {}.",
        r["data"]["file"].as_str().unwrap_or(""),
        r["data"]["samples"],
        r["data"]["problem"].as_str().unwrap_or(""),
        r["data"]["seed"],
        r["command"].as_str().unwrap_or(""),
        r["commit"].as_str().unwrap_or("")
    ));
    out.push(format!(
        "By hand: `oplab generate {} --config generate.toml --out DATA`, then `oplab train {} --data DATA --config train.toml --out RUN` (a run's fully resolved `config.toml` is in its directory) and `oplab eval --run RUN --data DATA`.",
        r["data"]["problem"].as_str().unwrap_or(""),
        r["model"].as_str().unwrap_or("")
    ));
    out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_reproduction_parses_and_checks_full_and_smoke() {
        for (name, text) in SHIPPED {
            for smoke in [false, true] {
                let r = Reproduction::parse(text, name, smoke).unwrap_or_else(|e| panic!("{name} (smoke {smoke}): {e}"));
                assert_eq!(r.spec.name, name, "the file's name is the name it ships under");
                assert!(!r.spec.targets.is_empty());
                assert!(r.spec.targets.iter().any(|t| t.goal.is_some()), "{name}: a goal from the issue");
            }
        }
        // The numbers of the issue, as the files carry them.
        let rough = Reproduction::parse(shipped("mgno-darcy-rough").unwrap(), "x", false).unwrap();
        assert_eq!(rough.spec.targets[0].paper, Some(0.339e-2));
        assert_eq!(rough.spec.targets[0].goal.as_ref().unwrap().at_most, Some(0.40e-2));
        let train = TrainConfig::from_toml(&rough.train_text(None)).unwrap();
        assert_eq!((train.epochs, train.data.n_train, train.data.n_val, train.data.n_test), (500, Some(1280), Some(112), Some(112)));
        let fno = Reproduction::parse(shipped("fno-darcy-rough").unwrap(), "x", false).unwrap();
        assert_eq!((fno.file.as_str(), fno.generate_text()), (rough.file.as_str(), rough.generate_text()), "FNO trains on MgNO's very file");
        let alrnn = Reproduction::parse(shipped("alrnn-lorenz").unwrap(), "x", false).unwrap();
        assert_eq!(alrnn.seeds, vec![Some(1), Some(2), Some(3), Some(4), Some(5)]);
        assert_eq!(AlrnnTrainConfig::from_toml(&alrnn.train_text(Some(4))).unwrap().seed, 4);
    }

    #[test]
    fn bad_reproduction_files_name_the_field() {
        let text = shipped("mgno-darcy-rough").unwrap();
        let cases = [
            (text.replace("batch_size = 8\n", "batch_size = 0\n"), "batch_size"),
            (text.replace("[train.mgno]", "[train.mgno]\nwidth = 3"), "width"),
            (text.replace("resolution = 512", "resolutoin = 512"), "resolutoin"),
            (text.replace("problem = \"darcy\"", "problem = \"darcey\""), "generate.problem = darcey"),
            (text.replace("file = \"darcy_rough_512_s2.h5\"", "file = \"../x.h5\""), "generate.file"),
            (text.replace("goal = { at_most = 0.40e-2 }", "goal = { at_most = 0.40e-2, equal = 3 }"), "targets[0].goal"),
            (text.replace("model = \"mgno\"", "model = \"prose\""), "train.model = prose"),
            (text.replace("name = ", "title = \"x\"\nname = "), "title"),
        ];
        for (bad, field) in cases {
            let err = Reproduction::parse(&bad, "f", false).unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        assert!(shipped("mgno-darcy").unwrap_err().to_string().contains("must be one of: mgno-darcy-rough, mgno-darcy-smooth, fno-darcy-rough, alrnn-lorenz"));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
