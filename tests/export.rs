//! `oplab export` and `oplab train --init` from the command line: bad input is one line with exit
//! status 2; Python's `safetensors` + numpy read every tensor under the documented name, shape
//! and dtype, with the run's values; and, where PyTorch is importable, the PyTorch twins of
//! bench/operators/export_check.py load the files strictly and reproduce oplab's outputs.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use oplab_operators::export::{load_best, names};
use oplab_operators::run::RunDir;

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oplab")).args(args).current_dir(cwd).output().expect("oplab runs")
}

fn ok(args: &[&str], cwd: &Path) {
    let out = run(args, cwd);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn assert_one_line_error(out: &Output, must_mention: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(must_mention), "{err}");
}

const MGNO: &str =
    "epochs = 1\nbatch_size = 4\n[data]\nn_train = 8\nn_val = 2\nn_test = 2\n[mgno]\nchannels = 4\nlayers = 2\nlevels = [[1, 1], [2, 1], [2, 0]]\n";
const FNO: &str = "epochs = 1\nbatch_size = 4\n[data]\nn_train = 8\nn_val = 2\nn_test = 2\n[fno]\nwidth = 6\nmodes = [3, 4]\nlayers = 2\nprojection = 8\n";

/// A tiny Darcy file and trained MgNO and FNO runs in `d`.
fn trained_runs(d: &Path) {
    ok(&["generate", "darcy", "--n", "12", "--resolution", "17", "-q", "--out", "darcy.h5"], d);
    for (kind, toml) in [("mgno", MGNO), ("fno", FNO)] {
        std::fs::write(d.join(format!("{kind}.toml")), toml).unwrap();
        ok(&["train", kind, "--data", "darcy.h5", "--config", &format!("{kind}.toml"), "--out", &format!("run-{kind}"), "-q"], d);
    }
}

/// The state dict of the tiny models as the module documentation of `oplab_operators::export`
/// tables it: name → (dtype, shape).
/// A state dict's layout: name → (numpy dtype, shape).
type Layout = BTreeMap<String, (&'static str, Vec<usize>)>;

fn documented() -> [(&'static str, Layout); 2] {
    let mut mgno = BTreeMap::new();
    let (cu, levels) = (4usize, [[1usize, 1], [2, 1], [2, 0]]);
    for i in 0..2 {
        let cf = if i == 0 { 1 } else { cu };
        let mut put = |name: String, shape: Vec<usize>| mgno.insert(format!("conv_list.{i}.{name}"), ("float32", shape));
        for (l, [pre, post]) in levels.iter().enumerate() {
            if l > 0 {
                put(format!("layer{l}.0.Pi.weight"), vec![cu, cu, 3, 3]);
                put(format!("layer{l}.0.R.weight"), vec![cf, cf, 3, 3]);
                put(format!("RTlayers.{}.weight", l - 1), vec![cu, cu, 4, 4]);
            }
            for p in 0..*pre {
                let at = p + usize::from(l > 0);
                if l > 0 || p > 0 {
                    put(format!("layer{l}.{at}.A.weight"), vec![cf, cu, 3, 3]);
                }
                put(format!("layer{l}.{at}.S.weight"), vec![cu, cf, 3, 3]);
            }
            for p in 0..*post {
                put(format!("post_smooth_layer{l}.{p}.A.weight"), vec![cf, cu, 3, 3]);
                put(format!("post_smooth_layer{l}.{p}.S.weight"), vec![cu, cf, 3, 3]);
            }
        }
        mgno.insert(format!("linear_list.{i}.weight"), ("float32", vec![cu, cf, 1, 1]));
        mgno.insert(format!("linear_list.{i}.bias"), ("float32", vec![cu]));
    }
    mgno.insert("linear.weight".into(), ("float32", vec![1, cu, 1, 1]));
    let mut fno = BTreeMap::new();
    let (w, p) = (6usize, 8usize);
    fno.insert("lifting.fcs.0.weight".into(), ("float32", vec![w, 3, 1]));
    fno.insert("lifting.fcs.0.bias".into(), ("float32", vec![w]));
    for i in 0..2 {
        fno.insert(format!("fno_blocks.convs.{i}.weight"), ("complex64", vec![w, w, 6, 4]));
        fno.insert(format!("fno_blocks.convs.{i}.bias"), ("float32", vec![w, 1, 1]));
        fno.insert(format!("fno_blocks.fno_skips.{i}.conv.weight"), ("float32", vec![w, w, 1]));
    }
    fno.insert("projection.fcs.0.weight".into(), ("float32", vec![p, w, 1]));
    fno.insert("projection.fcs.0.bias".into(), ("float32", vec![p]));
    fno.insert("projection.fcs.1.weight".into(), ("float32", vec![1, p, 1]));
    fno.insert("projection.fcs.1.bias".into(), ("float32", vec![1]));
    [("mgno", mgno), ("fno", fno)]
}

fn python_has(modules: &str, python: &str) -> bool {
    Command::new(python).args(["-c", &format!("import {modules}")]).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false)
}

#[test]
fn export_and_init_refuse_bad_input_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_one_line_error(&run(&["export", "--run", "nowhere", "--out", "w.safetensors"], d), "no such run directory");
    std::fs::create_dir(d.join("empty")).unwrap();
    assert_one_line_error(&run(&["export", "--run", "empty", "--out", "w.safetensors"], d), "not a run directory");
    for (name, model, message) in
        [("untrained", "mgno", "no trained model yet"), ("lorenz", "alrnn", "alrnn runs cannot be exported"), ("p", "prose", "prose runs")]
    {
        std::fs::create_dir(d.join(name)).unwrap();
        std::fs::write(d.join(name).join("config.toml"), format!("model = \"{model}\"\n")).unwrap();
        assert_one_line_error(&run(&["export", "--run", name, "--out", "w.safetensors"], d), message);
    }
    assert!(!d.join("w.safetensors").exists());
    ok(&["generate", "darcy", "--n", "6", "--resolution", "9", "-q", "--out", "darcy.h5"], d);
    assert_one_line_error(&run(&["train", "mgno", "--data", "darcy.h5", "--init", "missing.safetensors", "--out", "r", "-q"], d), "--init missing.safetensors");
    std::fs::write(d.join("junk.safetensors"), b"not a safetensors file").unwrap();
    assert_one_line_error(&run(&["train", "fno", "--data", "darcy.h5", "--init", "junk.safetensors", "--out", "r2", "-q"], d), "is not a safetensors file");
    assert_one_line_error(&run(&["train", "unet", "--data", "darcy.h5", "--init", "junk.safetensors", "--out", "r3", "-q"], d), "unet runs cannot start from");
}

#[test]
fn python_safetensors_reads_every_tensor_under_its_documented_name() {
    let python = "python3";
    if !python_has("safetensors, numpy", python) {
        let st = Command::new(python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "safetensors", "numpy"])
            .status()
            .expect("python3 with pip is needed for the safetensors client test");
        assert!(st.success(), "pip install safetensors failed");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained_runs(d);
    for (kind, expected) in documented() {
        let file = format!("{kind}.safetensors");
        let out = run(&["export", "--run", &format!("run-{kind}"), "--out", &file], d);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{} tensors", expected.len())));
        assert_one_line_error(&run(&["export", "--run", &format!("run-{kind}"), "--out", &file], d), "pass --force");

        let py = Command::new(python).arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/read_safetensors.py")).arg(d.join(&file)).output().unwrap();
        assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
        let json: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
        let tensors = json["tensors"].as_object().unwrap();
        let got: BTreeMap<String, (String, Vec<usize>)> = tensors
            .iter()
            .map(|(n, t)| {
                (n.clone(), (t["dtype"].as_str().unwrap().to_string(), t["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect()))
            })
            .collect();
        let want: BTreeMap<String, (String, Vec<usize>)> = expected.iter().map(|(n, (dt, s))| (n.clone(), (dt.to_string(), s.clone()))).collect();
        assert_eq!(got, want, "{kind}: names, dtypes and shapes");

        // The values are the run's best model's: per tensor, the sums of the parameters that
        // fill it (real and imaginary parts apart) and the first value.
        let best = load_best(&RunDir::new(d.join(format!("run-{kind}")))).unwrap();
        let mut sums: BTreeMap<String, [f64; 2]> = BTreeMap::new();
        for (path, (shape, values)) in best.params() {
            let slot = if kind == "mgno" { names::mgno(&path, &shape) } else { names::fno(&path, &shape) }.unwrap();
            let part = usize::from(matches!(slot.part, names::Part::Imag { .. }));
            sums.entry(slot.name.clone()).or_default()[part] += values.iter().map(|&v| v as f64).sum::<f64>();
            if matches!(slot.part, names::Part::Whole) {
                // Through JSON as f64 text; serde_json's parse may be one f64 ulp off, never an f32 one.
                assert_eq!(tensors[&slot.name]["first"].as_f64().unwrap() as f32, values[0], "{}", slot.name);
            }
        }
        for (name, [re, im]) in sums {
            let t = &tensors[&name];
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
            if t["dtype"] == "complex64" {
                assert!(close(t["sum_re"].as_f64().unwrap(), re) && close(t["sum_im"].as_f64().unwrap(), im), "{name}: {t} vs {re} {im}");
            } else {
                assert!(close(t["sum"].as_f64().unwrap(), re), "{name}: {t} vs {re}");
            }
        }

        let meta = &json["metadata"];
        assert_eq!(meta["format"], "pt");
        assert_eq!(meta["oplab.kind"], kind);
        assert_eq!(meta["oplab.channels"], "[1, 1]");
        assert_eq!(meta["oplab.grid"], "[17, 17]");
        assert_eq!(meta["oplab.best_epoch"], "1");
        assert!(meta["oplab.config"].as_str().unwrap().contains(&format!("model = \"{kind}\"")));
        assert_eq!(json["oplab.model"]["in_channels"], 1);
        for side in ["input", "target"] {
            assert_eq!(json["oplab.normalizers"][side]["mean"].as_array().unwrap().len(), 1, "scalar normalisers");
            assert!(json["oplab.normalizers"][side]["std"][0].as_f64().unwrap() > 0.0);
        }
        if kind == "fno" {
            assert_eq!(meta["oplab.fno.grid_channels"], "nodes");
            assert_eq!(meta["oplab.fno.modes"], "[3, 4]");
        }
    }
    // A run started from the exported MgNO weights records the file in its configuration.
    ok(&["train", "mgno", "--data", "darcy.h5", "--config", "mgno.toml", "--init", "mgno.safetensors", "--out", "run-init", "-q"], d);
    assert!(std::fs::read_to_string(d.join("run-init/config.toml")).unwrap().contains("init = \"mgno.safetensors\""));
    let again = run(&["train", "mgno", "--data", "darcy.h5", "--config", "mgno.toml", "--init", "mgno.safetensors", "--out", "run-init"], d);
    assert!(again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already complete"));
    assert_one_line_error(
        &run(&["train", "mgno", "--data", "darcy.h5", "--init", "mgno.safetensors", "--out", "run-init", "--resume", "--epochs", "2"], d),
        "drop --init",
    );
    assert_one_line_error(
        &run(&["train", "mgno", "--data", "darcy.h5", "--config", "mgno.toml", "--init", "fno.safetensors", "--out", "run-x", "-q"], d),
        "holds fno weights",
    );
}

/// bench/operators/export_check.py with the `python3` on PATH, if it imports torch; otherwise the
/// test says it skipped (torch is a large install, not part of what `make test` needs: put a
/// torch environment first on PATH to run it).
#[test]
fn pytorch_twins_reproduce_the_exported_models_when_torch_is_there() {
    let python = "python3";
    if !python_has("torch, numpy", python) {
        eprintln!("skipped: {python} cannot import torch (put a Python with torch first on PATH to run the PyTorch comparison)");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/operators/export_check.py");
    let out = Command::new(python).args([script, "--oplab", env!("CARGO_BIN_EXE_oplab"), "--resolution", "17"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("mgno: ") && text.contains("fno: ") && text.contains("ok: worst"), "{text}");
}
