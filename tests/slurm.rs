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

#[test]
#[ignore = "needs a running Slurm cluster: run `make test-hpc`"]
fn slurm_array_and_merge_job_equal_a_single_process_run() {
    assert!(std::env::var_os("SLURM_CONF").is_some(), "SLURM_CONF is not set: start the cluster with scripts/slurm-local.sh");
    // Slurm jobs run as root on this node and need a directory they can see: use /tmp.
    let dir = tempfile::Builder::new().prefix("oplab-slurm-test").tempdir_in("/tmp").unwrap();
    let d = dir.path();
    let out = d.join("darcy.h5");
    let oplab = env!("CARGO_BIN_EXE_oplab");
    let gen = ["grf", "--n", "23", "--resolution", "20", "--seed", "4", "--block-size", "2"];
    let submit = Command::new(oplab).args(["slurm", "generate", "--array", "3", "--submit", "--"]).args(gen).arg("--out").arg(&out).output().unwrap();
    let stdout = String::from_utf8_lossy(&submit.stdout).to_string();
    assert!(submit.status.success(), "{}", String::from_utf8_lossy(&submit.stderr));
    assert!(stdout.contains("submitted array job") && stdout.contains("afterok"), "{stdout}");

    let single = d.join("single.h5");
    assert!(Command::new(oplab).arg("generate").args(gen).arg("--out").arg(&single).arg("-q").status().unwrap().success());

    let t0 = Instant::now();
    while !out.exists() && t0.elapsed() < Duration::from_secs(180) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(out.exists(), "the merge job did not produce {} within 180 s; logs in {}", out.display(), d.display());
    for k in 1..=3 {
        assert!(d.join(format!("darcy.h5.shard-{k}-of-3.h5")).exists(), "array task {k} wrote no part");
    }
    assert_eq!(field_bytes(&single), field_bytes(&out));
}
