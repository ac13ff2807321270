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
