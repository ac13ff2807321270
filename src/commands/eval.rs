//! `oplab eval`: the run's `config.toml` names its model; that model's family evaluates it.
//! Besides printing its numbers, the command leaves `index.html` in the run directory: the
//! numbers, every figure of the run (training curves first, then what the evaluation drew) and
//! the stored configuration, on one page.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use oplab_common::html::{self, esc};
use oplab_operators::registry::run_kind;
use oplab_operators::run::{files, ConvertMode, EvalOptions, RunDir};
use oplab_operators::{dynamics, training, DeviceKind};

use crate::progress::Bar;

/// Arguments of `oplab eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run directory written by `oplab train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset file; the test split is the samples after the training and validation ones.
    #[arg(long)]
    pub data: PathBuf,
    /// cpu or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Resolution sweep (field operators): evaluate the same test samples on every k-th node of
    /// the file's grid, for each k given (e.g. 1,2,4,8).
    #[arg(long, value_delimiter = ',', value_name = "K,...")]
    pub subsample: Option<Vec<usize>>,
    /// Networks built from convolutions: evaluate the plain network, the converted one (kernels
    /// re-sampled to each grid) or both, from the same weights.
    #[arg(long, value_name = "on|off|both")]
    pub convert: Option<String>,
    /// Add the input-output interpolation baseline to a resolution sweep.
    #[arg(long)]
    pub io_interp: bool,
    /// PROSE: integrate each decoded equation from the sample's initial state and compare the
    /// trajectories.
    #[arg(long)]
    pub reintegrate: bool,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: EvalArgs) -> Result<ExitCode> {
    let run = RunDir::new(&args.run);
    // The training's lock: a run being trained is not read half-updated (a checkpoint of one
    // epoch, the kept model of the next), and eval's files are not written beside its writes.
    let _lock = super::lock_output(&run.file(files::LOCK), "--run", &args.run)?;
    let kind = run_kind(&run.model()?)?;
    let device: DeviceKind = args.device.parse()?;
    let convert = args.convert.as_deref().map(str::parse::<ConvertMode>).transpose()?;
    let options = EvalOptions { subsample: args.subsample, convert, io_interp: args.io_interp, reintegrate: args.reintegrate };
    let report = kind.evaluate(&run, &args.data, &options, device, &Bar::new(args.quiet))?;
    report.lines.iter().for_each(|line| println!("{line}"));
    write_page(&run, &args.data, &report.lines)?;
    if !args.quiet {
        eprintln!("run page with the numbers and figures: {}", run.file(PAGE).display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The page `oplab eval` writes into the run directory.
pub const PAGE: &str = "index.html";

/// What each figure a run family may write shows; a figure not named here is captioned with its
/// file name. Training curves come first on the page, in this order.
const CAPTIONS: [(&str, &str); 7] = [
    (training::files::CURVE, "training curves (log scale) per epoch"),
    (dynamics::train::files::CURVE, "training loss and reconstruction measures per epoch (log scale)"),
    (training::files::EVAL_PNG, "test samples: input, target, prediction and |error|, each with its colour bar"),
    (training::sweep::files::SWEEP_PNG, "resolution sweep: test error against the grid side"),
    (dynamics::train::files::ATTRACTOR, "true and generated attractor, 2-D projections"),
    (dynamics::train::files::SPECTRA, "power spectra, true and generated"),
    (dynamics::train::files::SUBREGIONS, "linear subregions of the free run over time"),
];

/// Writes [`PAGE`] into `run`: the evaluation's lines, the run's PNG figures and its
/// configuration. Figures are referenced by file name, so the directory can be moved or copied
/// whole.
fn write_page(run: &RunDir, data: &Path, lines: &[String]) -> Result<()> {
    let dir = run.path();
    let mut pngs: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("--run {}: cannot list the run directory", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.ends_with(".png"))
        .collect();
    let rank = |name: &str| CAPTIONS.iter().position(|(file, _)| *file == name).unwrap_or(CAPTIONS.len());
    pngs.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    pngs.dedup();
    let model = run.model().unwrap_or_default();
    let title = format!("oplab run {}", dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned()));
    let mut page = html::head(&title, "pre{background:#f6f8fa;padding:0.5em;overflow-x:auto}");
    page.push_str(&format!("<h1>{}</h1>\n<p>model <b>{}</b> &middot; evaluated on {}</p>\n", esc(&title), esc(&model), esc(&data.display().to_string())));
    page.push_str(&format!("<section><h2>Evaluation</h2>\n<pre>{}</pre>\n</section>\n", esc(&lines.join("\n"))));
    page.push_str("<section><h2>Figures</h2>\n");
    for png in &pngs {
        let caption = CAPTIONS.iter().find(|(file, _)| file == png).map_or(png.as_str(), |(_, c)| c);
        page.push_str(&html::figure(png, None, &format!("{caption} ({png})")));
    }
    page.push_str("</section>\n");
    if let Ok(config) = run.read_config() {
        page.push_str(&format!("<section><h2>Configuration ({})</h2>\n<pre>{}</pre>\n</section>\n", files::CONFIG, esc(&config)));
    }
    page.push_str(html::tail());
    let path = run.file(PAGE);
    oplab_common::atomic::write_atomically(&path, page.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}
