//! `oplab train <model>`: parse, then hand the request to the model's run family, which decides
//! how the command meets its run directory (fresh, resumed, already complete, or refused).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use oplab_operators::registry::run_kind;
use oplab_operators::run::{files, NodeStart, Placement, RunDir, Setting, TrainLimits, TrainOutcome, TrainRequest};
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
    /// mgno, fno, unet, cnn: data-parallel training, one model replica per device, e.g.
    /// `cuda:0,cuda:1` (or `cpu,cpu`: threads on the CPU). Every replica takes its slice of each
    /// batch and the gradients are summed before the step, so the run is the one-device
    /// optimisation up to summation order; `batch_size` stays the global batch unless the
    /// config's [parallel] batch = "per-device". Sets [parallel] devices, which the run stores
    /// (resume with as many devices).
    #[arg(long, value_name = "LIST")]
    pub devices: Option<String>,
    /// Multi-node data-parallel training: the number of nodes (sets [parallel] nodes). Start one
    /// process per node with an MPI launcher (`mpirun -n N oplab train ...` or `srun`; `oplab
    /// slurm train` writes the job), each with --devices for its own GPUs; node 0 keeps the run
    /// directory, which must be on a file system every node sees. Needs a build with the `mpi`
    /// feature.
    #[arg(long)]
    pub nodes: Option<usize>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: TrainArgs) -> Result<ExitCode> {
    let kind = run_kind(&args.model)?;
    let mut device: DeviceKind = args.device.parse()?;
    let mut placement = Placement::default();
    let mut parallel: Vec<(&str, &str, Option<String>)> = Vec::new();
    if let Some(list) = &args.devices {
        let (kind, indices) = DeviceKind::parse_list(list)?;
        if args.device != "cpu" && kind != device {
            anyhow::bail!("--devices {list}: its devices are {kind}, but --device is {device}; drop --device");
        }
        device = kind;
        parallel.push(("--devices", "parallel.devices", Some(indices.len().to_string())));
        placement.devices = indices;
    }
    let launched = launched_nodes()?;
    if let Some(nodes) = &launched {
        let asked = args.nodes.unwrap_or(nodes.size());
        if asked != nodes.size() {
            anyhow::bail!("--nodes = {asked} is invalid: the launcher started {} processes (one per node)", nodes.size());
        }
        parallel.push(("--nodes", "parallel.nodes", Some(nodes.size().to_string())));
    } else if let Some(nodes) = args.nodes.filter(|&n| n > 1) {
        anyhow::bail!(
            "--nodes = {nodes}: a multi-node run starts one process per node under an MPI launcher (mpirun -n {nodes} oplab train ..., or srun; `oplab slurm train` writes the job){}",
            if cfg!(feature = "mpi") { "" } else { "; this build has no MPI support (build with --features mpi)" }
        );
    }
    placement.nodes = launched;
    let config_text = args.config.as_deref().map(read_config_file).transpose()?;
    let request = TrainRequest {
        model: &args.model,
        data: &args.data,
        config: args.config.as_deref().zip(config_text.as_deref()),
        epochs: args.epochs,
        resume: args.resume,
        init: args.init.as_deref(),
        settings: [("--backend-cuda", "backend.cuda", args.backend_cuda.clone()), ("--backend-memory", "backend.memory", args.backend_memory.clone())]
            .into_iter()
            .chain(parallel)
            .filter_map(|(flag, key, value)| value.map(|v| Setting { flag: flag.into(), key: key.into(), value: v }))
            .collect(),
        limits: TrainLimits::default(),
        placement,
    };
    // Another node of a multi-node run only reads the run directory node 0 keeps (and locks).
    let follower = request.placement.node_rank() > 0;
    if let (false, Some(notice)) = (args.quiet, device.warm_up_notice()) {
        eprintln!("{notice}");
    }
    let run = RunDir::new(&args.out);
    // The lock lives inside the run directory, so a new run's directory is made first; it (and
    // any parent made with it) is removed again when the command leaves nothing else in it (a
    // refused configuration, say).
    let first_made = if follower { None } else { args.out.ancestors().take_while(|p| !p.as_os_str().is_empty() && !p.exists()).last().map(Path::to_path_buf) };
    if first_made.is_some() {
        std::fs::create_dir_all(&args.out).with_context(|| format!("--out {}: cannot create the run directory", args.out.display()))?;
    }
    let lock = if follower { None } else { Some(super::lock_output(&run.file(files::LOCK), "--out", &args.out)?) };
    let outcome = kind.train(&run, &request, device, &Bar::new(args.quiet));
    if let Some(nodes) = &request.placement.nodes {
        // Node 0 that did not start training (a finished run, an error) still tells the others,
        // which would otherwise wait for it; after a start this repeats the answer.
        let word = match &outcome {
            Ok(TrainOutcome::AlreadyComplete { .. }) => NodeStart::Complete,
            Ok(TrainOutcome::Trained(_)) => NodeStart::Train,
            Err(_) => NodeStart::Failed,
        };
        let _ = nodes.start(word);
    }
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
            if !args.quiet && !follower {
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

/// The processes of a multi-node run when an MPI launcher started this one.
fn launched_nodes() -> Result<Option<std::sync::Arc<dyn oplab_operators::run::NodeGroup>>> {
    #[cfg(feature = "mpi")]
    if oplab_datasets::distributed::launched_under_mpi() {
        let nodes = crate::nodes::MpiNodes::start()?;
        // From here each rank reports its own errors.
        super::note_mpi_started();
        return Ok(Some(std::sync::Arc::new(nodes)));
    }
    Ok(None)
}

/// The text of a `--config` file; the error names the flag and the file.
fn read_config_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("--config {}: cannot read the file", path.display()))
}
