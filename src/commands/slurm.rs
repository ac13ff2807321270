//! `oplab slurm generate`: write (and optionally submit) a Slurm job array that generates a dataset
//! in shards, plus a merge job that runs after every shard succeeded. `oplab slurm train`: write
//! (and optionally submit) a multi-node data-parallel training job.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

/// Arguments of `oplab slurm`.
#[derive(Debug, Args)]
pub struct SlurmArgs {
    #[command(subcommand)]
    pub what: SlurmCommand,
}

/// What to run on Slurm.
#[derive(Debug, Subcommand)]
pub enum SlurmCommand {
    /// Write an sbatch job array over `--shard K/M` and a dependent merge job; `--submit` submits both.
    #[command(after_help = "Examples:
  oplab slurm generate --array 8 -- darcy --n 10000 --resolution 421 --out /scratch/darcy.h5
  oplab slurm generate --array 8 --cpus-per-task 16 --time 02:00:00 --partition cpu --submit -- \\
      navier-stokes --n 1000 --out /scratch/ns.h5

Everything after `--` is an `oplab generate` command line (without --shard). Array task K runs
shard K/M into OUT.shard-K-of-M.h5; a requeued task resumes from its finished blocks, and a task
whose part is already complete exits at once. The merge job (afterok on the whole array) joins
the parts into OUT with `oplab merge`.")]
    Generate(SlurmGenerateArgs),
    /// Write an sbatch job that trains one model data-parallel over several nodes (one process
    /// per node, one replica per GPU); `--submit` submits it.
    #[command(after_help = "Examples:
  oplab slurm train --nodes 4 --gpus-per-node 8 --time 04:00:00 -- mgno --data /scratch/darcy.h5 \\
      --config mgno.toml --out /scratch/runs/mgno
  oplab slurm train --nodes 2 --gpus-per-node 0 --cpus-per-task 32 --submit -- fno --data d.h5 --out runs/fno

Everything after `--` is an `oplab train` command line without --nodes, --devices and --resume,
which the job sets: it starts one process per node with mpirun (OpenMPI inside the allocation),
each training one replica per GPU of its node (--devices cuda:0,...), or one on the CPU with
--gpus-per-node 0. Node 0 keeps the run directory, which must be on a file system every node
sees. A requeued job continues the run from its last checkpoint; a finished run exits at once.
The global batch stays the config's batch_size (set [parallel] batch = \"per-device\" to scale it).")]
    Train(SlurmTrainArgs),
}

/// The Slurm options of every job oplab writes.
#[derive(Debug, Args)]
pub struct JobOptions {
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Wall-time limit of each job (array task), e.g. 01:30:00.
    #[arg(long)]
    pub time: Option<String>,
    /// Slurm account.
    #[arg(long)]
    pub account: Option<String>,
}

impl JobOptions {
    /// The `#SBATCH` lines of the options given.
    fn sbatch_lines(&self) -> String {
        [("partition", &self.partition), ("time", &self.time), ("account", &self.account)]
            .into_iter()
            .filter_map(|(key, value)| value.as_ref().map(|v| format!("#SBATCH --{key}={v}\n")))
            .collect()
    }
}

/// Checks an `oplab SUBCOMMAND` command line given after `--` exactly as oplab would parse it;
/// the error is clap's first line.
fn check_command(subcommand: &str, args: &[String]) -> Result<()> {
    let argv = ["oplab", subcommand].into_iter().map(String::from).chain(args.iter().cloned());
    if let Err(e) = crate::Cli::try_parse_from(argv) {
        let text = e.to_string();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments").trim_start_matches("error: ");
        bail!("{subcommand} arguments: {first}");
    }
    Ok(())
}

/// Arguments of `oplab slurm train`.
#[derive(Debug, Args)]
pub struct SlurmTrainArgs {
    /// Nodes of the job (processes; one per node).
    #[arg(long)]
    pub nodes: usize,
    /// GPUs per node, one replica each (0: one replica on each node's CPU).
    #[arg(long)]
    pub gpus_per_node: usize,
    /// CPUs per node's task.
    #[arg(long, default_value_t = 8)]
    pub cpus_per_task: u32,
    /// Submit with sbatch.
    #[arg(long)]
    pub submit: bool,
    /// Where to write the script [default: RUN.train.sbatch beside the run directory RUN].
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Partition, wall time and account.
    #[command(flatten)]
    pub job: JobOptions,
    /// Directory for the job's log [default: the run directory's parent].
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// The `oplab train` command line: MODEL and its options.
    #[arg(last = true, required = true, value_name = "TRAIN_ARGS")]
    pub train: Vec<String>,
}

/// Arguments of `oplab slurm generate`.
#[derive(Debug, Args)]
pub struct SlurmGenerateArgs {
    /// Number of array tasks M (shards).
    #[arg(long)]
    pub array: u64,
    /// Submit with sbatch (array first, then the merge job with --dependency=afterok).
    #[arg(long)]
    pub submit: bool,
    /// Where to write the scripts [default: OUT.array.sbatch and OUT.merge.sbatch].
    #[arg(long, value_name = "PREFIX")]
    pub script_prefix: Option<PathBuf>,
    /// CPUs per array task (passed to oplab as --threads).
    #[arg(long, default_value_t = 1)]
    pub cpus_per_task: u32,
    /// Partition, wall time and account.
    #[command(flatten)]
    pub job: JobOptions,
    /// Directory for the jobs' logs [default: the output's directory].
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// The `oplab generate` command line: PROBLEM and its options.
    #[arg(last = true, required = true, value_name = "GENERATE_ARGS")]
    pub generate: Vec<String>,
}

pub fn run(args: SlurmArgs) -> Result<ExitCode> {
    match args.what {
        SlurmCommand::Generate(a) => generate(a),
        SlurmCommand::Train(a) => train(a),
    }
}

fn train(a: SlurmTrainArgs) -> Result<ExitCode> {
    if a.nodes == 0 || a.nodes > 4096 {
        bail!("nodes = {} is invalid: must be between 1 and 4096", a.nodes);
    }
    if a.gpus_per_node > 64 {
        bail!("gpus-per-node = {} is invalid: must be between 0 and 64", a.gpus_per_node);
    }
    if a.cpus_per_task == 0 {
        bail!("cpus-per-task = 0 is invalid: must be >= 1");
    }
    let args = &a.train;
    for flag in ["--nodes", "--devices", "--device", "--resume"] {
        if args.iter().any(|t| t == flag || t.starts_with(&format!("{flag}="))) {
            bail!("train arguments: {flag} is set by the job; remove it");
        }
    }
    check_command("train", args)?;
    let run = absolute(&PathBuf::from(flag_value(args, "--out").context("train arguments: --out is required")?))?;
    let run_parent = run.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    if !run_parent.is_dir() {
        bail!("out = {} is invalid: its directory {} does not exist", run.display(), run_parent.display());
    }
    let oplab = std::env::current_exe().context("cannot locate the oplab binary")?;
    let log_dir = absolute(&a.log_dir.clone().unwrap_or_else(|| run_parent.clone()))?;
    let script = a.script.clone().map(|p| absolute(&p)).transpose()?.unwrap_or_else(|| with_suffix(&run, ".train.sbatch"));
    let devices = if a.gpus_per_node == 0 { "cpu".to_string() } else { (0..a.gpus_per_node).map(|i| format!("cuda:{i}")).collect::<Vec<_>>().join(",") };
    let model = quote(&args[0]);
    let mut text = format!(
        "#!/bin/bash\n# Written by `oplab slurm train` ({}).\n#SBATCH --job-name=oplab-train-{}\n#SBATCH --nodes={}\n#SBATCH --ntasks-per-node=1\n#SBATCH --cpus-per-task={}\n",
        env!("CARGO_PKG_VERSION"),
        args[0],
        a.nodes,
        a.cpus_per_task
    );
    if a.gpus_per_node > 0 {
        text += &format!("#SBATCH --gpus-per-task={}\n", a.gpus_per_node);
    }
    text += &format!("#SBATCH --output={}/%x-%j.out\n#SBATCH --open-mode=append\n#SBATCH --requeue\n", log_dir.display());
    text += &a.job.sbatch_lines();
    let rest: Vec<String> = args[1..].iter().map(|t| quote(t)).collect();
    text += &format!(
        "set -euo pipefail\n# The directory the job was written from: the command's relative paths start here.\ncd {}\n\
# A requeued job continues the run from its last checkpoint; a finished run exits at once.\n\
RESUME=\nif [ -f {}/checkpoint.bin ]; then RESUME=--resume; fi\n\
# One process per node (OpenMPI's mpirun inside the allocation); each trains one replica per GPU\n\
# of its node, and node 0 keeps the run directory.\n\
exec mpirun -n \"$SLURM_NNODES\" --map-by ppr:1:node {} train {model} {} --nodes {} --devices {devices} $RESUME\n",
        quote(&std::env::current_dir().context("cannot read the current directory")?.display().to_string()),
        quote(&run.display().to_string()),
        quote(&oplab.display().to_string()),
        rest.join(" "),
        a.nodes,
    );
    write_script(&script, &text)?;
    println!("wrote {}", script.display());
    if !a.submit {
        println!("submit with:\n  sbatch {}", script.display());
        return Ok(ExitCode::SUCCESS);
    }
    let id = sbatch(&[script.to_str().unwrap_or_default()])?;
    println!("submitted training job {id} ({} nodes)", a.nodes);
    Ok(ExitCode::SUCCESS)
}

/// The value of `flag` in a command line, if any.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    let mut it = args.iter();
    while let Some(t) = it.next() {
        if t == flag {
            return it.next().cloned();
        }
        if let Some(v) = t.strip_prefix(&format!("{flag}=")) {
            return Some(v.to_string());
        }
    }
    None
}

fn generate(a: SlurmGenerateArgs) -> Result<ExitCode> {
    if a.array == 0 || a.array > 100_000 {
        bail!("array = {} is invalid: must be between 1 and 100000", a.array);
    }
    if a.cpus_per_task == 0 {
        bail!("cpus-per-task = 0 is invalid: must be >= 1");
    }
    let gen = &a.generate;
    if gen.iter().any(|t| t == "--shard" || t.starts_with("--shard=")) {
        bail!("generate arguments: --shard is set by the job array; remove it");
    }
    if gen.iter().any(|t| t == "--out" || t.starts_with("--out=")) && flag_value(gen, "--out").is_none() {
        bail!("generate arguments: --out needs a value");
    }
    check_command("generate", gen)?;
    let problem = gen[0].clone();
    let out = absolute(&PathBuf::from(flag_value(gen, "--out").unwrap_or_else(|| format!("{problem}.h5"))))?;
    let out_dir = out.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    if !out_dir.is_dir() {
        bail!("out = {} is invalid: its directory {} does not exist", out.display(), out_dir.display());
    }
    let oplab = std::env::current_exe().context("cannot locate the oplab binary")?;
    let log_dir = absolute(&a.log_dir.clone().unwrap_or_else(|| out_dir.clone()))?;
    let prefix = a.script_prefix.clone().map(|p| absolute(&p)).transpose()?.unwrap_or_else(|| out.clone());
    let array_script = with_suffix(&prefix, ".array.sbatch");
    let merge_script = with_suffix(&prefix, ".merge.sbatch");
    let m = a.array;
    let part = |k: &str| format!("{}.shard-{k}-of-{m}.h5", out.display());

    // The generate arguments minus --out (each task sets its own).
    let mut rest: Vec<String> = Vec::new();
    let mut skip = false;
    for t in gen {
        if skip {
            skip = false;
            continue;
        }
        if t == "--out" {
            skip = true;
            continue;
        }
        if t.starts_with("--out=") {
            continue;
        }
        rest.push(quote(t));
    }
    let header = |name: &str, extra: &str| {
        let mut h = format!(
            "#!/bin/bash\n# Written by `oplab slurm generate` ({}).\n#SBATCH --job-name={name}\n#SBATCH --cpus-per-task={}\n#SBATCH --output={}/%x-%A_%a.out\n#SBATCH --open-mode=append\n{extra}",
            env!("CARGO_PKG_VERSION"),
            if name.ends_with("-merge") { 1 } else { a.cpus_per_task },
            log_dir.display()
        );
        h += &a.job.sbatch_lines();
        h + "set -euo pipefail\n"
    };
    let array = format!(
        "{}cd {}\nK=\"${{SLURM_ARRAY_TASK_ID:?this script must run as a Slurm array task}}\"\nPART={}\n\
# A requeued task whose part is already complete has nothing left to do.\n\
if [ -f \"$PART\" ] && {} inspect \"$PART\" >/dev/null 2>&1; then exit 0; fi\n\
# First run, or a requeue after a crash: the same command resumes from the finished blocks.\n\
exec {} generate {} --shard \"$K/{m}\" --out \"$PART\" --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" --quiet\n",
        header(&format!("oplab-{problem}"), &format!("#SBATCH --array=1-{m}\n#SBATCH --requeue\n")),
        quote(&out_dir.display().to_string()),
        part("${K}").replace(&format!("{}", out.display()), &quote(&out.display().to_string())),
        quote(&oplab.display().to_string()),
        quote(&oplab.display().to_string()),
        rest.join(" "),
    );
    let parts: Vec<String> = (1..=m).map(|k| quote(&part(&k.to_string()))).collect();
    let merge = format!(
        "{}cd {}\n# Runs after every array task succeeded (afterok). Parts are kept; delete them once OUT is checked.\n\
if [ -f {out_q} ] && {oplab_q} inspect {out_q} >/dev/null 2>&1; then exit 0; fi\nexec {oplab_q} merge {} --out {out_q} --quiet\n",
        header(&format!("oplab-{problem}-merge"), "#SBATCH --requeue\n"),
        quote(&out_dir.display().to_string()),
        parts.join(" "),
        out_q = quote(&out.display().to_string()),
        oplab_q = quote(&oplab.display().to_string()),
    );
    write_script(&array_script, &array)?;
    write_script(&merge_script, &merge)?;
    println!("wrote {}\nwrote {}", array_script.display(), merge_script.display());
    if !a.submit {
        println!("submit with:\n  jid=$(sbatch --parsable {}) && sbatch --dependency=afterok:${{jid%%;*}} {}", array_script.display(), merge_script.display());
        return Ok(ExitCode::SUCCESS);
    }
    let array_id = sbatch(&[array_script.as_os_str().to_str().unwrap_or_default()])?;
    let merge_id = sbatch(&[&format!("--dependency=afterok:{array_id}"), merge_script.to_str().unwrap_or_default()])?;
    println!("submitted array job {array_id} ({m} tasks) and merge job {merge_id} (afterok:{array_id})");
    Ok(ExitCode::SUCCESS)
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Ok(std::env::current_dir().context("cannot read the current directory")?.join(p))
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Single-quote for bash, so paths and arguments with spaces or `$` survive.
fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn write_script(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).with_context(|| format!("cannot chmod {}", path.display()))?;
    }
    Ok(())
}

/// Submit with `sbatch --parsable` and return the job id.
fn sbatch(args: &[&str]) -> Result<String> {
    let out = Command::new("sbatch").arg("--parsable").args(args).output().context("cannot run sbatch (is Slurm installed and on PATH?)")?;
    if !out.status.success() {
        bail!("sbatch failed: {}", String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("no message"));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.trim().split(';').next().unwrap_or_default().to_string())
}
