//! The examples that are not cargo examples: the Python clients in examples/python/ (run on a
//! file oplab wrote) and the Slurm job script in examples/slurm/ (run up to writing its job
//! scripts). The Rust programs in examples/ are built by `cargo test` and run by `make test`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(path)
}

/// A small Darcy file written by the oplab binary.
fn darcy(dir: &Path, n: &str) -> PathBuf {
    let path = dir.join("darcy.h5");
    let st = Command::new(env!("CARGO_BIN_EXE_oplab"))
        .args(["generate", "darcy", "--n", n, "--resolution", "17", "--seed", "5", "-q", "--out"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    path
}

/// Whether `python` imports every module of `modules`.
fn imports(python: &str, modules: &str) -> bool {
    Command::new(python).args(["-c", &format!("import {modules}")]).stderr(std::process::Stdio::null()).status().is_ok_and(|s| s.success())
}

fn stdout_of(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{what} failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// examples/python/torch_dataset.py, where the `python3` on PATH imports torch (torch is a large
/// install; this test never installs it: put a torch environment first on PATH to run it).
#[test]
fn torch_example_loads_a_dataset() {
    let python = "python3";
    if !imports(python, "torch, h5py, numpy") {
        eprintln!("skipped: {python} cannot import torch, h5py and numpy (put an interpreter that can first on PATH)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = darcy(dir.path(), "20");
    let out = Command::new(python).arg(example("python/torch_dataset.py")).arg(&data).output().unwrap();
    let text = stdout_of(&out, "torch_dataset.py");
    assert!(text.contains("inputs ['coeff'] -> targets ['solution']"), "{text}");
    assert!(text.contains("split: 16 train, 2 validation, 2 test"), "{text}");
    assert!(text.contains("first batch: x (8, 1, 17, 17) torch.float32, y (8, 1, 17, 17) torch.float32"), "{text}");
    assert!(text.contains("one epoch: 16 samples in 2 batches"), "{text}");
    assert!(text.contains("sample 0 equals the stored values"), "{text}");
}

/// examples/python/xarray_open.py names every axis and finds the /dimensions coordinates,
/// whether or not the file attaches dimension scales. Installs xarray and h5netcdf with pip
/// where missing, as the h5py client test does for h5py.
#[test]
fn xarray_example_opens_a_dataset() {
    if !imports("python3", "xarray, h5netcdf, h5py") {
        let st = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "xarray", "h5netcdf", "h5py"])
            .status()
            .expect("python3 with pip is needed for the xarray example test");
        assert!(st.success(), "pip install xarray h5netcdf failed");
    }
    let dir = tempfile::tempdir().unwrap();
    let data = darcy(dir.path(), "4");
    let out = Command::new("python3").arg(example("python/xarray_open.py")).arg(&data).output().unwrap();
    let text = stdout_of(&out, "xarray_open.py");
    assert!(text.contains("coeff: dims ('sample', 'x', 'y'), shape (4, 17, 17), role input"), "{text}");
    assert!(text.contains("solution: dims ('sample', 'x', 'y'), shape (4, 17, 17), role target"), "{text}");
    assert!(text.contains("coordinate x: 17 values from 0 to 1"), "{text}");
    assert!(text.contains("coordinate y: 17 values from 0 to 1"), "{text}");
    // The value at (0.5, 0.5) is the centre node of sample 0's solution.
    let file = oplab_datasets::DatasetFile::open(&data).unwrap();
    let (u, _) = file.read_field_f32("solution").unwrap();
    let centre = format!("solution of sample 0 at (x, y) = (0.5, 0.5): {:.6}", u[8 * 17 + 8]);
    let printed = text.lines().find(|l| l.starts_with("solution of sample 0")).unwrap_or_default();
    let value: f64 = printed.rsplit(' ').next().unwrap_or_default().parse().unwrap_or(f64::NAN);
    assert!((value - u[8 * 17 + 8] as f64).abs() <= 1e-5 * value.abs().max(1e-12), "expected {centre}; got: {printed}");
}

/// examples/slurm/darcy_10k.sh writes an 8-task array over `--shard K/8` of the 10,000-sample
/// dataset and a merge job over the 8 parts (without SUBMIT=1 it submits nothing).
#[test]
fn slurm_example_writes_the_array_and_merge_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("darcy421.h5");
    let out = Command::new("bash")
        .arg(example("slurm/darcy_10k.sh"))
        .env("OPLAB", env!("CARGO_BIN_EXE_oplab"))
        .env("OUT", &out_path)
        .env_remove("SUBMIT")
        .output()
        .unwrap();
    let text = stdout_of(&out, "darcy_10k.sh");
    let read = |suffix: &str| std::fs::read_to_string(format!("{}{suffix}", out_path.display())).unwrap();
    let array = read(".array.sbatch");
    for line in ["#SBATCH --array=1-8", "#SBATCH --cpus-per-task=16", "#SBATCH --time=01:00:00", "#SBATCH --requeue"] {
        assert!(array.contains(line), "array script lacks {line}:\n{array}");
    }
    assert!(array.contains("generate darcy --n 10000 --resolution 421 --seed 0 --gzip 4 --shard \"$K/8\""), "{array}");
    let merge = read(".merge.sbatch");
    assert!(merge.contains(" merge "), "{merge}");
    for k in 1..=8 {
        assert!(merge.contains(&format!("darcy421.h5.shard-{k}-of-8.h5")), "merge lacks part {k}:\n{merge}");
    }
    assert!(text.contains("sbatch --dependency=afterok"), "{text}");
    assert!(!out_path.exists(), "writing the scripts must not generate data");
}
