//! Real clients: h5py and xarray (installed with pip if missing) read generated files; their
//! shapes, dtypes, attributes, dimensions, coordinates and values must agree with the Rust reader.

use std::process::Command;

fn python() -> &'static str {
    "python3"
}

/// Install the Python `modules` with pip unless they all import already.
fn ensure(modules: &[&str]) {
    let import = format!("import {}", modules.join(", "));
    let has = Command::new(python()).args(["-c", &import]).stderr(std::process::Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
    if !has {
        let st = Command::new(python())
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(modules)
            .status()
            .expect("python3 with pip is needed for the Python client tests");
        assert!(st.success(), "pip install {modules:?} failed");
    }
}

fn ensure_h5py() {
    ensure(&["h5py", "numpy"]);
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

fn generate(dir: &std::path::Path, args: &[&str]) {
    let run = Command::new(env!("CARGO_BIN_EXE_oplab")).arg("generate").args(args).arg("-q").current_dir(dir).output().unwrap();
    assert!(run.status.success(), "generate {args:?}: {}", String::from_utf8_lossy(&run.stderr));
}

/// xarray with the h5netcdf engine opens native files with named dimensions and the
/// `/dimensions` coordinates (through the dimension scales the writer attaches): a Darcy file, a
/// GRF file merged from two shards, and an ODE file (an axis without coordinates, per-sample
/// parameters and texts). Names, coordinate values and the scales h5py sees are checked against
/// the Rust reader's schema.
#[test]
fn xarray_sees_named_dimensions_and_coordinates() {
    ensure(&["h5py", "numpy", "xarray", "h5netcdf"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, &["darcy", "--n", "3", "--resolution", "17", "--seed", "4", "--out", "darcy.h5"]);
    for k in 1..=2 {
        generate(d, &["grf", "--n", "5", "--resolution", "24", "--seed", "4", "--shard", &format!("{k}/2"), "--out", &format!("grf{k}.h5")]);
    }
    let merged = Command::new(env!("CARGO_BIN_EXE_oplab")).args(["merge", "grf2.h5", "grf1.h5", "--out", "grf.h5", "-q"]).current_dir(d).output().unwrap();
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    generate(d, &["ode", "--system", "lorenz", "--n", "2", "--seed", "4", "--out", "ode.h5"]);

    for name in ["darcy.h5", "grf.h5", "ode.h5"] {
        let path = d.join(name);
        let out = Command::new(python()).arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/read_xarray.py")).arg(&path).output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let file = oplab_datasets::DatasetFile::open(&path).unwrap();
        let info = file.info();
        assert!(json["nodes"].as_array().unwrap().contains(&serde_json::json!("/fields")), "{name}: {}", json["nodes"]);
        for f in &info.schema.fields {
            let seen = &json["fields"][&f.name];
            let dims: Vec<&str> = std::iter::once("sample").chain(f.axes.iter().map(String::as_str)).collect();
            let shape: Vec<u64> = std::iter::once(info.n_samples).chain(f.shape.iter().map(|&s| s as u64)).collect();
            assert_eq!(seen["dims"], serde_json::json!(dims), "{name}: {}", f.name);
            assert_eq!(seen["shape"], serde_json::json!(shape), "{name}: {}", f.name);
            assert_eq!(json["group_only_dims"][&f.name], serde_json::json!(dims), "{name}: the fields group alone names its dimensions too");
            // h5py resolves the same scales: the coordinate vectors where they exist, else the
            // dimension-only scales at the root.
            let scales: Vec<serde_json::Value> = dims
                .iter()
                .map(|a| match info.schema.dimensions.iter().any(|dim| dim.name == *a) {
                    true => serde_json::json!([format!("/dimensions/{a}")]),
                    false => serde_json::json!([format!("/{a}")]),
                })
                .collect();
            assert_eq!(json["h5py_scales"][&f.name], serde_json::json!(scales), "{name}: {}", f.name);
        }
        let coords = json["coords"].as_object().unwrap();
        assert!(!coords.is_empty(), "{name}: no coordinates");
        for (axis, values) in coords {
            let dim =
                info.schema.dimensions.iter().find(|dim| &dim.name == axis).unwrap_or_else(|| panic!("{name}: coordinate {axis} is no /dimensions vector"));
            let bits: Vec<u64> = dim.values.iter().map(|v| v.to_bits()).collect();
            assert_eq!(values, &serde_json::json!(bits), "{name}: coordinate {axis} differs from /dimensions/{axis}");
        }
        for dim in &info.schema.dimensions {
            assert!(coords.contains_key(&dim.name), "{name}: /dimensions/{} is no coordinate of the fields", dim.name);
        }
        if name == "ode.h5" {
            assert_eq!(json["fields"]["scalars/params"]["dims"], serde_json::json!(["sample", "params_dim1"]));
            assert_eq!(json["fields"]["symbolic/tokens"]["dims"], serde_json::json!(["sample"]));
        }
    }
}
