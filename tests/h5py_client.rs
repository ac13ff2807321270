//! A real client: h5py (installed with pip if missing) reads a generated file; its shapes, dtypes,
//! attributes and values must agree with the Rust reader.

use std::process::Command;

fn python() -> &'static str {
    "python3"
}

fn ensure_h5py() {
    let has = Command::new(python()).args(["-c", "import h5py, numpy"]).stderr(std::process::Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
    if !has {
        let st = Command::new(python())
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "h5py", "numpy"])
            .status()
            .expect("python3 with pip is needed for the h5py client test");
        assert!(st.success(), "pip install h5py failed");
    }
}

#[test]
fn h5py_reads_what_oplab_wrote() {
    ensure_h5py();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grf.h5");
    let st = Command::new(env!("CARGO_BIN_EXE_oplab"))
        .args(["generate", "grf", "--n", "6", "--resolution", "33", "--seed", "11", "--gzip", "3", "-q", "--out"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new(python()).arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/read_native.py")).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let file = oplab_datasets::DatasetFile::open(&path).unwrap();
    let info = file.info();
    assert_eq!(json["root"]["oplab_schema"], 1);
    assert_eq!(json["root"]["problem"], "grf");
    assert_eq!(json["root"]["n_samples"], 6);
    assert_eq!(json["root"]["seed"], 11);
    assert_eq!(json["root"]["config"].as_str().unwrap(), info.config);
    assert!(json["root"]["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(json["dimensions"]["x"].as_array().unwrap().len(), 33);
    assert_eq!(json["dimensions"]["x"][32], 1.0);

    let f = &json["fields"]["field"];
    assert_eq!(f["shape"], serde_json::json!([6, 33, 33]));
    assert_eq!(f["dtype"], "float32");
    assert_eq!(f["role"], "input");
    assert_eq!(f["chunks"][1], 33, "chunks hold whole samples");
    let (data, shape) = file.read_field_f32("field").unwrap();
    assert_eq!(shape, vec![6, 33, 33]);
    assert_eq!(f["first"].as_f64().unwrap(), data[0] as f64);
    assert_eq!(f["last"].as_f64().unwrap(), *data.last().unwrap() as f64);
    assert_eq!(f["sample1_center"].as_f64().unwrap(), data[33 * 33 + 16 * 33 + 16] as f64);
    let sum: f64 = data.iter().map(|&v| v as f64).sum();
    assert!((f["sum"].as_f64().unwrap() - sum).abs() <= 1e-9 * sum.abs().max(1.0), "sum differs");
}

/// `oplab generate <problem> --layout fno|pdebench` for every problem each layout supports, each
/// file loaded by tests/python/read_exports.py the way FNO's `MatReader` and PDEBench's
/// `FNODatasetSingle` load it and compared with the native file kept beside it; the problems a
/// layout does not support are refused with one line and exit status 2, leaving no file.
#[test]
fn exports_load_with_the_fno_and_pdebench_loaders() {
    ensure_h5py();
    let dir = tempfile::tempdir().unwrap();
    let problems: [(&str, &[&str]); 7] = [
        ("darcy", &["--resolution", "17"]),
        ("poisson", &["--resolution", "17"]),
        ("helmholtz", &["--resolution", "17"]),
        ("burgers", &["--resolution", "64", "--record-times", "3"]),
        (
            "navier-stokes",
            &["--resolution", "16", "--subsample", "2", "--final-time", "0.01", "--time-step", "1e-3", "--record-times", "3", "--scheme", "etdrk4"],
        ),
        ("advection", &["--resolution", "32", "--record-times", "4"]),
        ("reaction-diffusion", &["--resolution", "32", "--record-times", "5"]),
    ];
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/read_exports.py");
    for (problem, options) in problems {
        for layout in ["fno", "pdebench"] {
            let out = dir.path().join(format!("{problem}.{layout}"));
            let run = Command::new(env!("CARGO_BIN_EXE_oplab"))
                .args(["generate", problem, "--n", "3", "--seed", "2", "-q", "--layout", layout])
                .args(options)
                .arg("--out")
                .arg(&out)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&run.stderr);
            let supported = layout == "fno" || !matches!(problem, "poisson" | "helmholtz");
            if !supported {
                assert_eq!(run.status.code(), Some(2), "{problem} --layout {layout}: {stderr}");
                assert_eq!(stderr.trim().lines().count(), 1, "one-line error expected: {stderr}");
                for word in ["layout", "pdebench", problem, "darcy", "navier-stokes"] {
                    assert!(stderr.contains(word), "{problem}: error should name {word}: {stderr}");
                }
                assert!(!out.exists(), "a refused export must not leave a file");
                continue;
            }
            assert!(run.status.success(), "{problem} --layout {layout}: {stderr}");
            let mut native = out.clone().into_os_string();
            native.push(".native.h5");
            let read = Command::new(python()).arg(script).arg(layout).arg(&out).arg(&native).arg(problem).output().unwrap();
            assert!(read.status.success(), "{problem} --layout {layout}: {}{}", String::from_utf8_lossy(&read.stdout), String::from_utf8_lossy(&read.stderr));
            let seen: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
            assert_eq!(seen["problem"], problem);
        }
    }
}
