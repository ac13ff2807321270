//! Real OpenMPI: `mpirun -n 3 oplab generate ...` (merged and virtual-dataset finishes) gives the
//! data of a single-process run, byte for byte; a run whose ranks are killed resumes with another
//! rank count to the same bytes. Needs the `mpi` feature and `mpirun` (Debian `openmpi-bin`).
#![cfg(feature = "mpi")]

use std::path::Path;
use std::process::{Command, Output};

fn oplab() -> &'static str {
    env!("CARGO_BIN_EXE_oplab")
}

fn mpirun(ranks: usize, args: &[&str], cwd: &Path) -> Output {
    Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-n", &ranks.to_string(), oplab()])
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("mpirun from OpenMPI must be installed (make test installs openmpi-bin)")
}

fn field_bytes(path: &Path) -> (Vec<u8>, String) {
    let f = oplab_datasets::DatasetFile::open(path).unwrap();
    let batch = f.read_batch(0, f.info().n_samples).unwrap();
    let mut bytes = Vec::new();
    batch.fields.iter().chain(&batch.scalars).for_each(|v| v.write_le(&mut bytes));
    (bytes, f.info().config.clone())
}

#[test]
fn mpirun_three_ranks_equals_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = ["generate", "grf", "--n", "41", "--resolution", "24", "--seed", "8", "--block-size", "3", "-q"];
    let single = Command::new(oplab()).args(args).args(["--out", "single.h5"]).current_dir(d).output().unwrap();
    assert!(single.status.success(), "{}", String::from_utf8_lossy(&single.stderr));

    let merged = mpirun(3, &[&args[..], &["--out", "merged.h5"]].concat(), d);
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    assert_eq!(field_bytes(&d.join("single.h5")), field_bytes(&d.join("merged.h5")));

    let virt = mpirun(3, &[&args[..], &["--out", "virtual.h5", "--mpi-finish", "virtual"]].concat(), d);
    assert!(virt.status.success(), "{}", String::from_utf8_lossy(&virt.stderr));
    assert!(d.join("virtual.h5.parts/part-00002-of-00003.h5").exists());
    assert_eq!(field_bytes(&d.join("single.h5")), field_bytes(&d.join("virtual.h5")));
    assert!(!d.join("merged.h5.partial").exists() && !d.join("virtual.h5.partial").exists());
}

#[test]
fn a_failed_distributed_run_resumes_with_another_rank_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = ["generate", "grf", "--n", "30", "--resolution", "16", "--block-size", "2", "-q"];
    let single = Command::new(oplab()).args(args).args(["--out", "single.h5"]).current_dir(d).output().unwrap();
    assert!(single.status.success());
    // Simulate a crashed 3-rank run: rank work was done for some blocks, then the job died.
    // Produce that state by running one shard's worth of blocks through a 1-rank run that is
    // killed, then finish with 3 ranks and compare.
    let mut child = Command::new(oplab()).args(args).args(["--out", "x.h5", "--threads", "1"]).current_dir(d).spawn().unwrap();
    let partial = d.join("x.h5.partial");
    let t0 = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && t0.elapsed() < std::time::Duration::from_secs(30) {
        let blocks = std::fs::read_dir(&partial).map(|it| it.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".bin")).count()).unwrap_or(0);
        if blocks >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let resumed = mpirun(3, &[&args[..], &["--out", "x.h5"]].concat(), d);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert_eq!(field_bytes(&d.join("single.h5")), field_bytes(&d.join("x.h5")));
}

/// Under mpirun every rank sees the same bad input: it is reported once, by rank 0, whether it
/// is found before MPI starts (a flag) or after (the plan, the output file); a rerun of a
/// finished job succeeds on every rank.
#[test]
fn bad_input_under_mpirun_is_reported_once_and_a_finished_job_reruns_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let count_errors = |out: &Output| String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.starts_with("error")).count();
    for (args, needle) in [
        (&["generate", "grf", "--n", "0", "--out", "a.h5"][..], "n = 0"),
        (&["generate", "grf", "--n", "4", "--tau", "-2", "--out", "a.h5"][..], "tau = -2"),
        (&["generate", "grf", "--n", "2", "--shard", "1/3", "--out", "a.h5"][..], "shard = 1/3"),
        (&["generate", "grf", "--n", "4", "--layout", "foo"][..], "'foo'"),
    ] {
        let out = mpirun(3, args, d);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert_eq!(count_errors(&out), 1, "one error line for {args:?}:\n{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
    }
    let args = ["generate", "grf", "--n", "6", "--resolution", "8", "--out", "g.h5"];
    assert!(mpirun(3, &args, d).status.success());
    let again = mpirun(3, &args, d);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && stderr.matches("already complete").count() == 1, "{stderr}");
    let other = mpirun(3, &["generate", "grf", "--n", "6", "--resolution", "8", "--seed", "2", "--out", "g.h5"], d);
    assert_eq!(count_errors(&other), 1, "{}", String::from_utf8_lossy(&other.stderr));
}

/// The pids of the oplab ranks that `mpirun` (pid `launcher`) started: its children running the
/// oplab binary (OpenMPI on one node forks the ranks itself).
fn rank_pids(launcher: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // The parent pid is the second field after the parenthesised command name.
        let parent = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)).and_then(|p| p.parse::<u32>().ok());
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        if parent == Some(launcher) && exe == Path::new(oplab()) {
            pids.push(pid);
        }
    }
    pids
}

/// One rank of `mpirun -n 3` is killed with SIGKILL while the job is generating: the job fails
/// and says which rank died, and reruns with 2 ranks and with one process finish the same run
/// from its finished blocks, byte-identical to an uninterrupted single-process run.
#[test]
fn a_rank_killed_inside_mpirun_fails_the_job_and_any_rank_count_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = ["generate", "darcy", "--n", "900", "--resolution", "64", "--seed", "3", "--block-size", "3", "--threads", "1", "-q"];
    let single = Command::new(oplab()).args(args).args(["--out", "single.h5"]).current_dir(d).output().unwrap();
    assert!(single.status.success(), "{}", String::from_utf8_lossy(&single.stderr));

    for (round, (rerun_ranks, victim)) in [(2usize, 1usize), (1, 2)].into_iter().enumerate() {
        let out = format!("killed{round}.h5");
        let mut job = Command::new("mpirun")
            .args(["--allow-run-as-root", "--oversubscribe", "-n", "3", oplab()])
            .args(args)
            .args(["--out", &out])
            .current_dir(d)
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill once some blocks are finished and the job is still running.
        let partial = d.join(format!("{out}.partial"));
        let t0 = std::time::Instant::now();
        let mut killed = false;
        while job.try_wait().unwrap().is_none() && t0.elapsed() < std::time::Duration::from_secs(60) {
            let blocks = std::fs::read_dir(&partial).map(|it| it.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".bin")).count()).unwrap_or(0);
            let ranks = rank_pids(job.id());
            if blocks >= 6 && ranks.len() == 3 {
                let mut ranks = ranks;
                ranks.sort_unstable();
                let pid = ranks[victim];
                // SAFETY: kill(2) with a pid and SIGKILL has no memory-safety preconditions
                // (through libc: a minimal Debian has no `kill` program).
                assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
                killed = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let failed = job.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(killed, "the job ended before 6 blocks and 3 ranks were seen:\n{stderr}");
        assert!(!failed.status.success(), "the job survived the loss of a rank:\n{stderr}");
        assert!(stderr.contains("signal 9") || stderr.contains("Killed"), "no word of the killed rank:\n{stderr}");
        assert!(!d.join(&out).exists(), "a job that lost a rank left {out} looking complete");
        let resumed = if rerun_ranks == 1 {
            Command::new(oplab()).args(args).args(["--out", &out]).current_dir(d).output().unwrap()
        } else {
            mpirun(rerun_ranks, &[&args[..], &["--out", &out]].concat(), d)
        };
        assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
        assert_eq!(field_bytes(&d.join("single.h5")), field_bytes(&d.join(&out)), "rerun with {rerun_ranks} rank(s)");
    }
}

/// The weights of the best model of the MgNO run in `dir`, by parameter name.
fn mgno_weights(dir: &Path) -> oplab_operators::export::Params {
    match oplab_operators::export::load_best(&oplab_operators::run::RunDir::new(dir)).unwrap() {
        oplab_operators::export::BestModel::Mgno(m) => oplab_operators::export::collect(&*m),
        other => panic!("not an MgNO run: {:?}", other.kind()),
    }
}

/// Data-parallel training over processes (`training::parallel`): `mpirun -n 2` with one CPU
/// replica per process trains the model of one process with two replica threads, bit for bit;
/// two processes of two replicas each complete; a run split over two calls resumes exactly; a
/// finished run reruns cleanly on every rank.
#[test]
fn two_processes_train_the_model_of_two_replica_threads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = Command::new(oplab()).args(["generate", "darcy", "--n", "24", "--resolution", "32", "--out", "d.h5", "-q"]).current_dir(d).output().unwrap();
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    std::fs::write(
        d.join("c.toml"),
        "epochs = 2\nbatch_size = 4\n[data]\nn_train = 16\nn_val = 4\nn_test = 4\n[mgno]\nchannels = 6\nlayers = 2\nlevels = [[1, 0], [1, 0], [2, 0]]\n",
    )
    .unwrap();
    let train = ["train", "mgno", "--data", "d.h5", "--config", "c.toml", "-q"];
    let threads = Command::new(oplab()).args(train).args(["--devices", "cpu,cpu", "--out", "threads"]).current_dir(d).output().unwrap();
    assert!(threads.status.success(), "{}", String::from_utf8_lossy(&threads.stderr));

    let procs = mpirun(2, &[&train[..], &["--out", "procs"]].concat(), d);
    assert!(procs.status.success(), "{}", String::from_utf8_lossy(&procs.stderr));
    let stored = std::fs::read_to_string(d.join("procs/config.toml")).unwrap();
    assert!(stored.contains("[parallel]\ndevices = 1\nnodes = 2\n"), "{stored}");
    assert!(mgno_weights(&d.join("procs")) == mgno_weights(&d.join("threads")), "2 processes x 1 replica differ from 1 process x 2 replicas");

    // The same command again: complete on node 0, and the other rank is told so.
    let again = mpirun(2, &[&train[..], &["--out", "procs"]].concat(), d);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));

    // One epoch, then the second in another job: the uninterrupted run's weights.
    let first = mpirun(2, &[&train[..], &["--out", "split", "--epochs", "1"]].concat(), d);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let second = mpirun(2, &[&train[..], &["--out", "split", "--epochs", "2", "--resume"]].concat(), d);
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(mgno_weights(&d.join("split")) == mgno_weights(&d.join("procs")), "the resumed multi-process run differs");

    let four = mpirun(2, &[&train[..], &["--out", "four", "--devices", "cpu,cpu"]].concat(), d);
    assert!(four.status.success(), "{}", String::from_utf8_lossy(&four.stderr));
    assert!(std::fs::read_to_string(d.join("four/config.toml")).unwrap().contains("[parallel]\ndevices = 2\nnodes = 2\n"));

    // A process count that is not the run's: one line, exit 2.
    let wrong = mpirun(2, &[&train[..], &["--out", "wrong", "--nodes", "3"]].concat(), d);
    assert_eq!(wrong.status.code(), Some(2), "{}", String::from_utf8_lossy(&wrong.stderr));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--nodes = 3 is invalid"));
}
