//! Real Slurm: `oplab slurm generate --array 3 --submit` on a single-node cluster (started by
//! `scripts/slurm-local.sh`, which `make test-hpc` runs) produces, through a 3-task job array and
//! an afterok merge job, the bytes of a single-process run. Ignored unless run by `make test-hpc`
//! (it needs root, munge and the Slurm daemons).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn field_bytes(path: &Path) -> Vec<u8> {
    let f = oplab_datasets::DatasetFile::open(path).unwrap();
    let batch = f.read_batch(0, f.info().n_samples).unwrap();
    let mut bytes = Vec::new();
    batch.fields.iter().for_each(|v| v.write_le(&mut bytes));
    bytes
}

/// A scratch directory the Slurm jobs can see: they run as root on this node, so under /tmp.
fn job_directory(prefix: &str) -> tempfile::TempDir {
    assert!(std::env::var_os("SLURM_CONF").is_some(), "SLURM_CONF is not set: start the cluster with scripts/slurm-local.sh");
    tempfile::Builder::new().prefix(prefix).tempdir_in("/tmp").unwrap()
}

/// `oplab slurm generate --array 3 --submit -- GEN --out OUT`; its stdout, which names the array
/// job and its afterok merge job.
fn submit_array(gen: &[&str], out: &Path) -> String {
    let submit = Command::new(env!("CARGO_BIN_EXE_oplab"))
        .args(["slurm", "generate", "--array", "3", "--submit", "--"])
        .args(gen)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&submit.stdout).into_owned();
    assert!(submit.status.success(), "{}", String::from_utf8_lossy(&submit.stderr));
    assert!(stdout.contains("submitted array job") && stdout.contains("afterok"), "{stdout}");
    stdout
}

/// The field bytes of `oplab generate GEN` run as one process, written under `dir`.
fn single_process_bytes(gen: &[&str], dir: &Path) -> Vec<u8> {
    let single = dir.join("single.h5");
    assert!(Command::new(env!("CARGO_BIN_EXE_oplab")).arg("generate").args(gen).arg("--out").arg(&single).arg("-q").status().unwrap().success());
    field_bytes(&single)
}

#[test]
#[ignore = "needs a running Slurm cluster: run `make test-hpc`"]
fn slurm_array_and_merge_job_equal_a_single_process_run() {
    let dir = job_directory("oplab-slurm-test");
    let d = dir.path();
    let out = d.join("darcy.h5");
    let gen = ["grf", "--n", "23", "--resolution", "20", "--seed", "4", "--block-size", "2"];
    submit_array(&gen, &out);
    let single = single_process_bytes(&gen, d);

    let t0 = Instant::now();
    while !out.exists() && t0.elapsed() < Duration::from_secs(180) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(out.exists(), "the merge job did not produce {} within 180 s; logs in {}", out.display(), d.display());
    for k in 1..=3 {
        assert!(d.join(format!("darcy.h5.shard-{k}-of-3.h5")).exists(), "array task {k} wrote no part");
    }
    assert_eq!(single, field_bytes(&out));
}

/// `scontrol` with arguments, its stdout.
fn scontrol(args: &[&str]) -> String {
    let out = Command::new("scontrol").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The finished block files of a partial run with their inode numbers (a rewritten block gets a
/// new inode: blocks are written to a temporary name and renamed).
fn blocks_with_inodes(partial: &Path) -> Vec<(String, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut blocks: Vec<(String, u64)> = std::fs::read_dir(partial)
        .map(|it| {
            it.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".bin"))
                .filter_map(|e| Some((e.file_name().to_string_lossy().into_owned(), e.metadata().ok()?.ino())))
                .collect()
        })
        .unwrap_or_default();
    blocks.sort();
    blocks
}

/// `scontrol requeue` of a running array task: Slurm kills it and runs it again; the new run keeps
/// the blocks the first one finished (same files, not rewritten), and the merged file is the
/// single-process run's bytes.
#[test]
#[ignore = "needs a running Slurm cluster: run `make test-hpc`"]
fn a_requeued_array_task_resumes_from_its_blocks() {
    let dir = job_directory("oplab-slurm-requeue");
    let d = dir.path();
    let out = d.join("darcy.h5");
    let gen = ["darcy", "--n", "1500", "--resolution", "128", "--seed", "6", "--block-size", "4"];
    let stdout = submit_array(&gen, &out);
    let array_id = stdout.split("submitted array job ").nth(1).and_then(|s| s.split_whitespace().next()).expect("array job id").to_string();
    let task = format!("{array_id}_2");

    // Requeue task 2 once it has finished some blocks.
    let partial = d.join("darcy.h5.shard-2-of-3.h5.partial");
    let t0 = Instant::now();
    while blocks_with_inodes(&partial).len() < 5 {
        assert!(t0.elapsed() < Duration::from_secs(120), "task {task} finished no blocks within 120 s; logs in {}", d.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("scontrol").args(["requeue", &task]).status().unwrap();
    assert!(status.success(), "scontrol requeue {task} failed");
    // What the killed run had finished (blocks it was writing at the kill are not yet renamed).
    std::thread::sleep(Duration::from_millis(500));
    let before = blocks_with_inodes(&partial);

    // Once the requeued task runs again, every block of the first run is still there, unchanged.
    let t0 = Instant::now();
    let mut checked = false;
    while !out.exists() && t0.elapsed() < Duration::from_secs(400) {
        let job = scontrol(&["show", "job", &task]);
        if !checked && job.contains("Restarts=1") && job.contains("JobState=RUNNING") {
            let now = blocks_with_inodes(&partial);
            if !now.is_empty() {
                for b in &before {
                    assert!(now.contains(b), "block {} was rewritten or lost after the requeue", b.0);
                }
                checked = true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(out.exists(), "the merge job did not produce {} within 400 s; logs in {}", out.display(), d.display());
    assert!(checked, "never saw the requeued task running with its partial run ({} blocks before the requeue)", before.len());
    assert!(scontrol(&["show", "job", &task]).contains("Restarts=1"), "task {task} was not requeued");

    assert_eq!(single_process_bytes(&gen, d), field_bytes(&out));
}

/// `oplab slurm train` writes one job of N nodes, one task each, that starts the processes with
/// mpirun and sets --nodes and --devices; flags the job sets itself are refused.
#[test]
fn slurm_train_writes_a_multi_node_job() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_oplab"))
            .args(["slurm", "train", "--nodes", "4", "--gpus-per-node", "2", "--time", "02:00:00", "--"])
            .args(["mgno", "--data", "d.h5", "--out", "runs/mgno"])
            .args(extra)
            .current_dir(d)
            .output()
            .unwrap()
    };
    std::fs::create_dir(d.join("runs")).unwrap();
    let out = write(&[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let script = std::fs::read_to_string(d.join("runs/mgno.train.sbatch")).unwrap();
    for line in ["#SBATCH --nodes=4", "#SBATCH --ntasks-per-node=1", "#SBATCH --gpus-per-task=2", "#SBATCH --time=02:00:00", "#SBATCH --requeue"] {
        assert!(script.contains(line), "script lacks {line}:\n{script}");
    }
    assert!(script.contains("mpirun -n \"$SLURM_NNODES\" --map-by ppr:1:node"), "{script}");
    assert!(script.contains("train mgno --data d.h5 --out runs/mgno --nodes 4 --devices cuda:0,cuda:1 $RESUME"), "{script}");
    let refused = write(&["--devices", "cuda:0"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--devices is set by the job"));
}

/// The job `oplab slurm train` writes, run by Slurm on one CPU node: it trains the run to the end,
/// and the job run again (a requeue) finds it complete.
#[test]
#[ignore = "needs a running Slurm cluster: run `make test-hpc`"]
fn a_slurm_training_job_trains_and_a_rerun_finds_it_complete() {
    let dir = job_directory("oplab-slurm-train");
    let d = dir.path();
    let oplab = env!("CARGO_BIN_EXE_oplab");
    assert!(Command::new(oplab)
        .args(["generate", "darcy", "--n", "16", "--resolution", "16", "--out", "d.h5", "-q"])
        .current_dir(d)
        .status()
        .unwrap()
        .success());
    std::fs::write(
        d.join("c.toml"),
        "epochs = 2\nbatch_size = 4\n[data]\nn_train = 8\nn_val = 4\nn_test = 4\n[mgno]\nchannels = 4\nlayers = 1\nlevels = [[1, 0], [1, 0]]\n",
    )
    .unwrap();
    let write = Command::new(oplab)
        .args([
            "slurm",
            "train",
            "--nodes",
            "1",
            "--gpus-per-node",
            "0",
            "--cpus-per-task",
            "1",
            "--",
            "mgno",
            "--data",
            "d.h5",
            "--config",
            "c.toml",
            "--out",
            "run",
            "-q",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(write.status.success(), "{}", String::from_utf8_lossy(&write.stderr));
    let submit = |log: &str| {
        // The jobs run as root here; OpenMPI's mpirun refuses root unless told.
        let status = Command::new("sbatch")
            .args(["--wait", "--output"])
            .arg(d.join(log))
            .arg(d.join("run.train.sbatch"))
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .current_dir(d)
            .status()
            .unwrap();
        let log = std::fs::read_to_string(d.join(log)).unwrap_or_default();
        assert!(status.success(), "the training job failed:\n{log}");
        log
    };
    submit("first.out");
    let metrics = std::fs::read_to_string(d.join("run/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2, "{metrics}");
    assert!(std::fs::read_to_string(d.join("run/config.toml")).unwrap().contains("[parallel]\ndevices = 1\nnodes = 1\n"));
    submit("again.out");
    assert_eq!(std::fs::read_to_string(d.join("run/metrics.jsonl")).unwrap(), metrics, "a rerun of the finished job changed the run");
}
