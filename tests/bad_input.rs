//! Bad and hostile input, table-driven: every case must exit with code 2 and one line on stderr
//! that names the field or file (and, where there is one, the allowed range), print no panic,
//! and leave nothing behind that looks like a finished output.
//!
//! The bad files are made here: small files from `oplab generate`, then edited with the `hdf5`
//! crate into what a corrupt or hostile source would hand over.

use std::path::Path;
use std::process::Output;

use hdf5::types::VarLenUnicode;

fn run(args: &[&str], cwd: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_oplab")).args(args).current_dir(cwd).output().expect("oplab runs")
}

fn ok(args: &[&str], cwd: &Path) {
    let out = run(args, cwd);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// One bad input: the arguments, text the error must contain (the field or file and, where
/// there is one, the allowed range), and paths that must not exist afterwards.
struct Case<'a> {
    args: &'a [&'a str],
    mention: &'a str,
    absent: &'a [&'a str],
}

const fn case<'a>(args: &'a [&'a str], mention: &'a str, absent: &'a [&'a str]) -> Case<'a> {
    Case { args, mention, absent }
}

/// Run every case; panics listing every case that failed.
fn check_all(cases: &[Case], d: &Path) {
    let mut failures = Vec::new();
    for c in cases {
        let out = run(c.args, d);
        let err = String::from_utf8_lossy(&out.stderr);
        let mut wrong = Vec::new();
        if out.status.code() != Some(2) {
            wrong.push(format!("exit code {:?}", out.status.code()));
        }
        if err.trim_end().lines().count() != 1 || !err.starts_with("error: ") {
            wrong.push("not one `error:` line".to_string());
        }
        if !err.contains(c.mention) {
            wrong.push(format!("does not mention `{}`", c.mention));
        }
        if ["panicked", "RUST_BACKTRACE", "thread 'main'"].iter().any(|p| err.contains(p)) {
            wrong.push("panic text".to_string());
        }
        for path in c.absent {
            if d.join(path).exists() {
                wrong.push(format!("left {path} behind"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!("{:?}: {}\n    stderr: {}", c.args, wrong.join(", "), err.trim_end()));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

fn write(d: &Path, name: &str, text: &str) {
    std::fs::write(d.join(name), text).unwrap();
}

/// Copy `from` to `to` (in `d`) and edit the copy.
fn edited(d: &Path, from: &str, to: &str, edit: impl FnOnce(&hdf5::File) -> hdf5::Result<()>) {
    std::fs::copy(d.join(from), d.join(to)).unwrap();
    let file = hdf5::File::open_rw(d.join(to)).unwrap();
    edit(&file).unwrap_or_else(|e| panic!("editing {to}: {e}"));
}

fn set_u64(file: &hdf5::File, name: &str, value: u64) -> hdf5::Result<()> {
    file.delete_attr(name)?;
    file.new_attr::<u64>().create(name)?.write_scalar(&value)
}

fn role_of(ds: &hdf5::Dataset) -> hdf5::Result<VarLenUnicode> {
    ds.attr("role")?.read_scalar::<VarLenUnicode>()
}

/// Replace the dataset at `path` by what `make` builds in its group under its name, keeping its role.
fn replace(file: &hdf5::File, path: &str, make: impl FnOnce(&hdf5::Group, &str) -> hdf5::Result<hdf5::Dataset>) -> hdf5::Result<()> {
    let (group, name) = path.rsplit_once('/').unwrap();
    let g = file.group(group)?;
    let role = role_of(&g.dataset(name)?).ok();
    g.unlink(name)?;
    let ds = make(&g, name)?;
    if let Some(role) = role {
        ds.new_attr::<VarLenUnicode>().create("role")?.write_scalar(&role)?;
    }
    Ok(())
}

/// Write `value` at flat position `at` of an f32 dataset.
fn poke(file: &hdf5::File, path: &str, at: usize, value: f32) -> hdf5::Result<()> {
    let ds = file.dataset(path)?;
    let mut v = ds.read_raw::<f32>()?;
    v[at] = value;
    ds.write_raw(&v)
}

/// CLI values and generation configs: zero, negative, NaN/inf, absurd sizes, wrong types,
/// unknown keys, out-of-range values.
#[test]
fn bad_generate_values_and_configs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, text) in [
        ("wavelength.toml", "n = 4\n[grf]\nresolution = 8\nwavelength = 3\n"),
        ("n_string.toml", "n = \"ten\"\n"),
        ("n_negative.toml", "n = -1\n"),
        ("n_zero.toml", "n = 0\n"),
        ("unknown_top.toml", "foo = 1\n"),
        ("resolution_string.toml", "[grf]\nresolution = \"big\"\n"),
        ("resolution_float.toml", "[grf]\nresolution = 1e9\n"),
        ("tau_nan.toml", "[grf]\ntau = nan\n"),
        ("other_problem.toml", "[darcy]\nresolution = 9\n"),
        ("precision_int.toml", "precision = 64\n"),
        ("compression_big.toml", "compression = 300\n"),
        ("not_toml.toml", "n = \n"),
        ("table_not_table.toml", "grf = 3\n"),
    ] {
        write(d, name, text);
    }
    let g = |extra: &'static [&'static str]| -> Vec<&'static str> { [&["generate"][..], extra].concat() };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (g(&["grf", "--n", "0"]), "n = 0 is invalid: must be >= 1"),
        (g(&["grf", "--resolution", "1"]), "resolution = 1 is invalid: must be between 2 and 8193"),
        (g(&["grf", "--shard", "4/3"]), "shard = 4/3 is invalid: K in K/M must be between 1 and M = 3"),
        (g(&["grf", "--shard", "0/3"]), "shard = 0/3 is invalid"),
        (g(&["grf", "--shard", "1/0"]), "shard = 1/0 is invalid: the shard count M in K/M must be >= 1"),
        (g(&["grf", "--n", "1", "--shard", "2/3"]), "shard = 2/3 is invalid: holds no samples"),
        (g(&["grf", "--config", "missing.toml"]), "--config missing.toml"),
        (g(&["grf", "--out", "/nonexistent-dir/x.h5"]), "out = /nonexistent-dir/x.h5 is invalid: its directory /nonexistent-dir does not exist"),
        (g(&["grf", "--tau=-2"]), "tau = -2 is invalid: must be a finite number > 0"),
        // A negative number is a value without `=` too, for every problem's options.
        (g(&["grf", "--tau", "-2"]), "tau = -2 is invalid"),
        (g(&["grf", "--tau", "NaN"]), "tau = NaN is invalid: must be a finite number > 0"),
        (g(&["grf", "--alpha", "inf"]), "alpha = inf is invalid: must be a finite number > 0"),
        (g(&["grf", "--scale", "-inf"]), "scale = -inf is invalid: must be a finite number > 0"),
        (g(&["grf", "--modes", "0"]), "modes = 0 is invalid: must be between 1 and 8193"),
        (g(&["grf", "--threads", "0"]), "threads = 0 is invalid: must be between 1 and 4096"),
        (g(&["grf", "--block-size", "0"]), "block-size = 0 is invalid: must be >= 1"),
        (g(&["grf", "--gzip", "10"]), "compression = 10 is invalid: must be 0 (none) to 9"),
        (g(&["grf", "--precision", "f16"]), "precision = f16 is invalid: must be f32 or f64"),
        (g(&["darcy", "--n", "-3"]), "-3"),
        (g(&["darcy", "--resolution", "2"]), "resolution = 2 is invalid: must be between 3 and 4097"),
        (g(&["burgers", "--viscosity", "-0.1"]), "viscosity = -0.1 is invalid"),
        (g(&["burgers", "--resolution", "0"]), "resolution = 0 is invalid"),
        (g(&["navier-stokes", "--viscosity", "nan"]), "viscosity = NaN is invalid: must be a finite number > 0"),
        // Absurd sizes are refused before anything is allocated or written, with the estimate.
        (g(&["grf", "--resolution", "100000", "--n", "1000000"]), "resolution = 100000 is invalid: must be between 2 and 8193"),
        (
            g(&["grf", "--resolution", "8193", "--n", "1000000000"]),
            "n = 1000000000 is invalid: must fit the free disk space: 1000000000 samples of 268500996 bytes need at least",
        ),
        (
            g(&["grf", "--resolution", "4097", "--n", "100000000", "--block-size", "100000000"]),
            "block-size = 100000000 is invalid: must fit in memory: a block of 100000000 samples of 16785409 values needs at least",
        ),
        (g(&["grf", "--config", "wavelength.toml"]), "wavelength = 3 is invalid: unknown field `wavelength`"),
        (g(&["grf", "--config", "n_string.toml"]), "config key `n` = \"ten\" is invalid: must be a non-negative integer"),
        (g(&["grf", "--config", "n_negative.toml"]), "config key `n` = -1 is invalid: must be a non-negative integer"),
        (g(&["grf", "--config", "n_zero.toml"]), "n = 0 is invalid: must be >= 1"),
        (g(&["grf", "--config", "unknown_top.toml"]), "config key `foo` is unknown: allowed top-level keys are n, seed, precision, compression"),
        (g(&["grf", "--config", "resolution_string.toml"]), "resolution = \"big\" is invalid: invalid type: string \"big\", expected a non-negative integer"),
        (g(&["grf", "--config", "resolution_float.toml"]), "resolution = 1000000000.0 is invalid"),
        (g(&["grf", "--config", "tau_nan.toml"]), "tau = NaN is invalid: must be a finite number > 0"),
        (g(&["grf", "--config", "other_problem.toml"]), "config table [darcy] is not for problem `grf` (expected [grf])"),
        (g(&["grf", "--config", "precision_int.toml"]), "config key `precision` = 64 is invalid: must be \"f32\" or \"f64\""),
        (g(&["grf", "--config", "compression_big.toml"]), "compression = 300 is invalid: must be 0 (none) to 9"),
        (g(&["grf", "--config", "not_toml.toml"]), "--config not_toml.toml: not valid TOML"),
        (g(&["grf", "--config", "table_not_table.toml"]), "config key `grf` = 3 is invalid: must be the table [grf]"),
    ];
    let owned: Vec<Vec<&str>> = cases.iter().map(|(a, _)| a.clone()).collect();
    let table: Vec<Case> =
        cases.iter().zip(&owned).map(|((_, m), a)| case(a, m, &["grf.h5", "grf.h5.partial", "darcy.h5", "burgers.h5", "navier-stokes.h5"])).collect();
    check_all(&table, d);
    let left: Vec<_> =
        std::fs::read_dir(d).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| !n.ends_with(".toml")).collect();
    assert!(left.is_empty(), "bad input left {left:?}");
}

/// Training data (NaN/Inf, no samples, mismatched shapes, wrong dtype, a grid too small for
/// MgNO's levels), `eval` on a run of another model or grid, and `merge` of parts that do not
/// make one dataset.
#[test]
fn bad_training_data_runs_and_merges() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&["generate", "darcy", "--n", "12", "--resolution", "17", "--out", "darcy.h5", "-q"], d);
    ok(&["generate", "darcy", "--n", "12", "--resolution", "9", "--out", "darcy9.h5", "-q"], d);
    ok(&["generate", "grf", "--n", "4", "--resolution", "8", "--out", "grf.h5", "-q"], d);
    let small = "batch_size = 4\nepochs = 1\n[data]\nn_train = 8\nn_val = 2\nn_test = 2\n[mgno]\nchannels = 2\nlayers = 1\nlevels = [[1, 0], [1, 0]]\n";
    write(d, "small.toml", small);
    write(d, "pixel.toml", &format!("input_normalizer = \"pixel\"\n{small}"));
    ok(&["train", "mgno", "--data", "darcy.h5", "--config", "small.toml", "--out", "run", "-q"], d);
    ok(&["train", "mgno", "--data", "darcy.h5", "--config", "pixel.toml", "--out", "run_pixel", "-q"], d);
    // The run's stored config names another model than its weights.
    std::fs::create_dir(d.join("run_relabelled")).unwrap();
    for entry in std::fs::read_dir(d.join("run")).unwrap().flatten() {
        std::fs::copy(entry.path(), d.join("run_relabelled").join(entry.file_name())).unwrap();
    }
    let config = std::fs::read_to_string(d.join("run/config.toml")).unwrap().replace("model = \"mgno\"", "model = \"fno\"");
    write(d, "run_relabelled/config.toml", &config);
    // As a run from before config checksums: the relabelled model, not the checksum, is what
    // this case is about.
    std::fs::remove_file(d.join("run_relabelled/config.toml.sha256")).unwrap();
    for f in ["eval.json", "index.html"] {
        let _ = std::fs::remove_file(d.join("run_relabelled").join(f));
    }

    edited(d, "darcy.h5", "nan_input.h5", |f| poke(f, "fields/coeff", 3 * 17 * 17 + 5, f32::NAN));
    edited(d, "darcy.h5", "nan_test.h5", |f| poke(f, "fields/coeff", 11 * 17 * 17, f32::NAN));
    edited(d, "darcy.h5", "inf_target.h5", |f| poke(f, "fields/solution", 17 * 17 + 40, f32::INFINITY));
    edited(d, "darcy.h5", "no_samples.h5", |f| {
        set_u64(f, "n_samples", 0)?;
        f.unlink("scalars")?;
        for name in ["coeff", "solution"] {
            replace(f, &format!("fields/{name}"), |g, n| g.new_dataset::<f32>().shape([0, 17, 17]).create(n))?;
        }
        Ok(())
    });
    edited(d, "darcy.h5", "mismatched.h5", |f| {
        replace(f, "fields/solution", |g, n| {
            g.new_dataset::<f32>().shape([12, 17, 16]).create(n).and_then(|ds| ds.write_raw(&vec![0f32; 12 * 17 * 16]).map(|_| ds))
        })
    });
    edited(d, "darcy.h5", "int_target.h5", |f| {
        replace(f, "fields/solution", |g, n| {
            g.new_dataset::<i32>().shape([12, 17, 17]).create(n).and_then(|ds| ds.write_raw(&vec![1i32; 12 * 17 * 17]).map(|_| ds))
        })
    });
    for (name, text) in [
        ("batch_string.toml", "batch_size = \"four\"\n"),
        ("unknown_key.toml", "bogus = 1\n"),
        ("unknown_nested.toml", "[optimizer]\nlearning_rate = 0.1\n"),
        ("lr_negative.toml", "[optimizer]\nlr = -1.0\n"),
        ("lr_nan.toml", "[optimizer]\nlr = nan\n"),
        ("batch_zero.toml", "batch_size = 0\n"),
        ("subsample_zero.toml", "[data]\nsubsample = 0\n"),
        ("loss_l3.toml", "loss = \"l3\"\n"),
        ("too_many.toml", "[data]\nn_train = 100\n"),
        ("channels_zero.toml", "[mgno]\nchannels = 0\n"),
    ] {
        write(d, name, text);
    }
    write(d, "deep.toml", &small.replace("levels = [[1, 0], [1, 0]]", "levels = [[1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0]]"));

    // Shards of one dataset, one of another seed, one of another shard count.
    let part =
        |shard: &str, seed: &str, out: &str| ok(&["generate", "grf", "--n", "6", "--resolution", "8", "--seed", seed, "--shard", shard, "--out", out, "-q"], d);
    part("1/3", "5", "p1.h5");
    part("2/3", "5", "p2.h5");
    part("3/3", "5", "p3.h5");
    part("3/3", "6", "q3.h5");
    part("2/2", "5", "r2.h5");

    let train = |data: &'static str, config: &'static str, out: &'static str| -> Vec<&'static str> {
        vec!["train", "mgno", "--data", data, "--config", config, "--out", out]
    };
    let cases: Vec<(Vec<&str>, &str, Vec<&str>)> = vec![
        (
            train("nan_input.h5", "small.toml", "r1"),
            "data nan_input.h5: field coeff holds NaN in sample 3; every value must be finite",
            vec!["r1/checkpoint.bin"],
        ),
        (train("inf_target.h5", "small.toml", "r2"), "data inf_target.h5: field solution holds inf in sample 1", vec!["r2/checkpoint.bin"]),
        (train("no_samples.h5", "small.toml", "r3"), "data.n_train + n_val + n_test = 12 is invalid: must be at most the 0 samples", vec!["r3/checkpoint.bin"]),
        (vec!["train", "mgno", "--data", "no_samples.h5", "--out", "r3b"], "data.n_train = 0 - 1 - 1 is invalid: must be >= 1", vec!["r3b/checkpoint.bin"]),
        (train("mismatched.h5", "small.toml", "r4"), "field solution has shape [17, 16] but coeff has [17, 17]", vec!["r4/checkpoint.bin"]),
        (train("int_target.h5", "small.toml", "r5"), "field `solution` is stored as", vec!["r5/checkpoint.bin"]),
        (train("grf.h5", "small.toml", "r6"), "has no field with role = target", vec!["r6/checkpoint.bin"]),
        (train("darcy9.h5", "deep.toml", "r7"), "mgno.levels = 6 is invalid", vec!["r7/checkpoint.bin"]),
        (
            vec!["train", "mgno", "--data", "darcy.h5", "--config", "small.toml", "--epochs", "0", "--out", "r8"],
            "epochs = 0 is invalid: must be 1 to 1000000",
            vec!["r8/checkpoint.bin"],
        ),
        (train("darcy.h5", "batch_string.toml", "r9"), "batch_size = \"four\" is invalid: invalid type: string \"four\", expected usize", vec!["r9"]),
        (train("darcy.h5", "unknown_key.toml", "r9"), "bogus = 1 is invalid: unknown field `bogus`, expected one of `model`", vec!["r9"]),
        (train("darcy.h5", "unknown_nested.toml", "r9"), "optimizer.learning_rate = 0.1 is invalid: unknown field `learning_rate`", vec!["r9"]),
        (train("darcy.h5", "lr_negative.toml", "r9"), "optimizer.lr = -1 is invalid: must be a positive finite number", vec!["r9"]),
        (train("darcy.h5", "lr_nan.toml", "r9"), "optimizer.lr = NaN is invalid: must be a positive finite number", vec!["r9"]),
        (train("darcy.h5", "batch_zero.toml", "r9"), "batch_size = 0 is invalid: must be 1 to 1048576", vec!["r9"]),
        (train("darcy.h5", "subsample_zero.toml", "r9"), "data.subsample = 0 is invalid: must be 1 to 1024", vec!["r9"]),
        (train("darcy.h5", "loss_l3.toml", "r9"), "loss = \"l3\" is invalid: unknown variant `l3`, expected `l2` or `h1`", vec!["r9"]),
        (
            train("darcy.h5", "too_many.toml", "r10"),
            "data.n_train + n_val + n_test = 102 is invalid: must be at most the 12 samples of darcy.h5",
            vec!["r10/checkpoint.bin"],
        ),
        (train("darcy.h5", "channels_zero.toml", "r9"), "mgno.channels = 0 is invalid: must be 1 to 4096", vec!["r9/checkpoint.bin"]),
        (vec!["eval", "--run", "run", "--data", "grf.h5"], "has no field with role = target", vec!["run/eval.json"]),
        (vec!["eval", "--run", "run", "--data", "nan_test.h5"], "data nan_test.h5: field coeff holds NaN in sample 11", vec!["run/eval.json"]),
        (vec!["eval", "--run", "run_pixel", "--data", "darcy9.h5"], "darcy9.h5", vec!["run_pixel/eval.json"]),
        (vec!["eval", "--run", "run_relabelled", "--data", "darcy.h5"], "best_model.mpk", vec!["run_relabelled/eval.json", "run_relabelled/index.html"]),
        (vec!["eval", "--run", "no_run", "--data", "darcy.h5"], "no_run", vec!["no_run"]),
        (vec!["merge", "p1.h5", "p1.h5", "p3.h5", "--out", "m.h5"], "shard 2 of 3 is missing or given twice", vec!["m.h5"]),
        (vec!["merge", "p1.h5", "p2.h5", "p3.h5", "p3.h5", "--out", "m.h5"], "the dataset has 3 shards but 4 files were given", vec!["m.h5"]),
        (vec!["merge", "p1.h5", "p2.h5", "q3.h5", "--out", "m.h5"], "q3.h5 differs from p1.h5 in", vec!["m.h5"]),
        (vec!["merge", "p1.h5", "r2.h5", "p3.h5", "--out", "m.h5"], "r2.h5 differs from p1.h5 in shard count", vec!["m.h5"]),
        (vec!["merge", "p1.h5", "grf.h5", "--out", "m.h5"], "differs from p1.h5 in", vec!["m.h5"]),
        (vec!["merge", "grf.h5", "--out", "m.h5"], "grf.h5 is a complete dataset, not a shard", vec!["m.h5"]),
        (vec!["merge", "p1.h5", "p2.h5", "gone.h5", "--out", "m.h5"], "gone.h5", vec!["m.h5"]),
    ];
    let table: Vec<Case> = cases.iter().map(|(a, m, absent)| case(a, m, absent)).collect();
    check_all(&table, d);
}

/// HDF5 files from elsewhere: not HDF5, truncated, another schema version, headers that claim
/// absurd sizes, and data in other files outside the file's directory.
#[test]
fn hostile_hdf5_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("outside")).unwrap();
    std::fs::create_dir(d.join("in")).unwrap();
    std::fs::create_dir(d.join("in/parts")).unwrap();
    ok(&["generate", "grf", "--n", "3", "--resolution", "16", "--out", "in/ok.h5", "-q"], d);
    ok(&["generate", "grf", "--n", "3", "--resolution", "16", "--out", "outside/src.h5", "-q"], d);
    std::fs::copy(d.join("outside/src.h5"), d.join("in/src.h5")).unwrap();
    std::fs::copy(d.join("outside/src.h5"), d.join("in/parts/src.h5")).unwrap();
    let bytes = std::fs::read(d.join("in/ok.h5")).unwrap();
    std::fs::write(d.join("in/trunc.h5"), &bytes[..bytes.len() / 3]).unwrap();
    write(d, "in/text.h5", "n = 3\n");
    let shape = [3usize, 16, 16];

    edited(d, "in/ok.h5", "in/schema2.h5", |f| set_u64(f, "oplab_schema", 2));
    edited(d, "in/ok.h5", "in/n_mismatch.h5", |f| set_u64(f, "n_samples", 4));
    edited(d, "in/ok.h5", "in/huge_field.h5", |f| {
        set_u64(f, "n_samples", 1_000_000)?;
        // Contiguous storage is allocated when first written: the file stays small.
        replace(f, "fields/field", |g, n| g.new_dataset::<f32>().shape([1_000_000, 100_000, 100_000]).create(n))
    });
    edited(d, "in/ok.h5", "in/huge_chunked.h5", |f| {
        replace(f, "fields/field", |g, n| g.new_dataset::<f32>().shape([3, 1_000_000, 1_000_000]).chunk([1, 1024, 1024]).deflate(4).create(n))
    });
    edited(d, "in/ok.h5", "in/huge_dimension.h5", |f| {
        let g = f.group("dimensions")?;
        g.unlink("x")?;
        g.new_dataset::<f64>().shape([1usize << 40]).create("x").map(|_| ())
    });
    edited(d, "in/ok.h5", "in/role.h5", |f| {
        let ds = f.dataset("fields/field")?;
        ds.delete_attr("role")?;
        ds.new_attr::<VarLenUnicode>().create("role")?.write_scalar(&"weights".parse::<VarLenUnicode>().unwrap())
    });
    let link_to = |name: &str, target: &'static str| {
        edited(d, "in/ok.h5", name, |f| {
            let g = f.group("fields")?;
            g.unlink("field")?;
            g.link_external(target, "/fields/field", "field")
        })
    };
    link_to("in/link_out.h5", "../outside/src.h5");
    link_to("in/link_abs.h5", "/etc/passwd");
    link_to("in/link_beside.h5", "src.h5");
    let virtual_to = |name: &str, source: &'static str| {
        edited(d, "in/ok.h5", name, |f| {
            replace(f, "fields/field", |g, n| {
                g.new_dataset::<f32>().shape(shape).virtual_map(source, "/fields/field", shape, hdf5::Selection::All, shape, hdf5::Selection::All).create(n)
            })
        })
    };
    virtual_to("in/vds_out.h5", "../outside/src.h5");
    virtual_to("in/vds_missing.h5", "parts/gone.h5");
    virtual_to("in/vds_beside.h5", "parts/src.h5");
    // Sources inside the directory that lead out again when HDF5 reads them: a source that is
    // itself virtual (its own names resolve against its directory, in/parts/), one reached
    // through an external link, and a source in the file itself behind an external link in a
    // group the link check does not list.
    edited(d, "in/ok.h5", "in/parts/vds_src_out.h5", |f| {
        replace(f, "fields/field", |g, n| {
            g.new_dataset::<f32>()
                .shape(shape)
                .virtual_map("../../outside/src.h5", "/fields/field", shape, hdf5::Selection::All, shape, hdf5::Selection::All)
                .create(n)
        })
    });
    edited(d, "in/ok.h5", "in/parts/link_src_out.h5", |f| {
        let g = f.group("fields")?;
        g.unlink("field")?;
        g.link_external("../../outside/src.h5", "/fields/field", "field")
    });
    virtual_to("in/vds_nested.h5", "parts/vds_src_out.h5");
    virtual_to("in/vds_to_link.h5", "parts/link_src_out.h5");
    edited(d, "in/ok.h5", "in/vds_self_link.h5", |f| {
        f.create_group("extra")?.link_external("../outside/src.h5", "/fields/field", "field")?;
        replace(f, "fields/field", |g, n| {
            g.new_dataset::<f32>().shape(shape).virtual_map(".", "/extra/field", shape, hdf5::Selection::All, shape, hdf5::Selection::All).create(n)
        })
    });
    std::fs::write(d.join("outside/raw.bin"), vec![0u8; 3 * 16 * 16 * 4]).unwrap();
    edited(d, "in/ok.h5", "in/external_raw.h5", |f| {
        replace(f, "fields/field", |g, n| g.new_dataset::<f32>().shape(shape).external("outside/raw.bin", 0, 3 * 16 * 16 * 4).create(n))
    });

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["inspect", "in/text.h5"], "in/text.h5: not an HDF5 file"),
        (vec!["inspect", "in/trunc.h5"], "in/trunc.h5: cannot be opened as HDF5"),
        (vec!["inspect", "in/nothing-here.h5"], "in/nothing-here.h5"),
        (vec!["inspect", "in/schema2.h5"], "in/schema2.h5: schema version 2 is not supported (this oplab reads version 1)"),
        (vec!["inspect", "in/n_mismatch.h5"], "in/n_mismatch.h5: field `field` has shape [3, 16, 16] but the file says n_samples = 4"),
        (
            vec!["inspect", "in/huge_field.h5"],
            "in/huge_field.h5: field `field` claims shape [1000000, 100000, 100000] (40000000000000000 bytes), more than the file's size",
        ),
        (vec!["inspect", "in/huge_chunked.h5"], "in/huge_chunked.h5: field `field` claims shape [3, 1000000, 1000000]"),
        (vec!["inspect", "in/huge_dimension.h5"], "in/huge_dimension.h5: dimension `x` claims shape [1099511627776]"),
        (vec!["inspect", "in/role.h5"], "role `weights` is not input, target or context"),
        (vec!["inspect", "in/link_out.h5"], "in/link_out.h5: /fields/field is an external link to"),
        (vec!["inspect", "in/link_abs.h5"], "/fields/field is an external link to /etc/passwd, outside the file's directory"),
        (vec!["inspect", "in/vds_out.h5"], "field `field` is a virtual dataset mapped to"),
        (vec!["inspect", "in/vds_missing.h5"], "is a virtual dataset mapped to parts/gone.h5, which does not exist beside the file"),
        (vec!["inspect", "in/vds_nested.h5"], "is itself a virtual dataset, whose sources HDF5 would follow further; pass --allow-external"),
        (vec!["inspect", "in/vds_to_link.h5"], "parts/link_src_out.h5 is reached through an external link; pass --allow-external"),
        (vec!["inspect", "in/vds_self_link.h5"], "its virtual source /extra/field in "),
        (vec!["inspect", "in/external_raw.h5"], "field `field` keeps its data in the external file outside/raw.bin; pass --allow-external to read it"),
        (vec!["train", "mgno", "--data", "in/huge_field.h5", "--out", "in/run"], "in/huge_field.h5"),
        (vec!["train", "mgno", "--data", "in/link_out.h5", "--out", "in/run"], "pass --allow-external"),
        (vec!["merge", "in/vds_out.h5", "--out", "in/m.h5"], "pass --allow-external"),
        (vec!["eval", "--run", "in/ok.h5", "--data", "in/ok.h5"], "in/ok.h5"),
    ];
    let table: Vec<Case> = cases.iter().map(|(a, m)| case(a, m, &["in/run/checkpoint.bin", "in/m.h5"])).collect();
    check_all(&table, d);

    // Data beside the file, in its directory or below, is the file's own (as the parts of
    // `--mpi-finish virtual`); anything else reads only with --allow-external.
    // The data read through them is the source's (a missing virtual source would read as
    // zeros): the same value range as the file they were made from.
    let field_line = |args: &[&str]| -> String {
        let out = run(args, d);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().find(|l| l.starts_with("/fields/field")).unwrap_or_default().to_string()
    };
    let expected = field_line(&["inspect", "in/ok.h5"]);
    assert!(expected.contains("[3, 16, 16]"), "{expected}");
    for name in ["in/link_beside.h5", "in/vds_beside.h5"] {
        assert_eq!(field_line(&["inspect", name]), expected, "{name}");
    }
    // HDF5 does follow each of them out of the directory: allowed, they read the outside data.
    for name in ["in/link_out.h5", "in/vds_out.h5", "in/vds_nested.h5", "in/vds_to_link.h5", "in/vds_self_link.h5"] {
        assert_eq!(field_line(&["inspect", name, "--allow-external"]), expected, "{name}");
    }
    ok(&["inspect", "in/external_raw.h5", "--allow-external"], d);

    // HDF5_EXT_PREFIX (external links) and HDF5_VDS_PREFIX (virtual sources) make HDF5 look in
    // their directories before the file's own: elsewhere/ holds other data under the names the
    // files beside their sources use. Set, the variable makes a file that names another file
    // refuse (it would not read what was checked), unless --allow-external, with which HDF5
    // does read elsewhere's data; the other variable changes nothing. Set for the child only.
    std::fs::create_dir_all(d.join("elsewhere/parts")).unwrap();
    ok(&["generate", "grf", "--n", "3", "--resolution", "16", "--seed", "7", "--out", "elsewhere/src.h5", "-q"], d);
    std::fs::copy(d.join("elsewhere/src.h5"), d.join("elsewhere/parts/src.h5")).unwrap();
    let prefix = d.join("elsewhere");
    let with_env = |var: &str, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_oplab")).args(args).current_dir(d).env(var, &prefix).output().expect("oplab runs")
    };
    let line_of = |out: &Output| String::from_utf8_lossy(&out.stdout).lines().find(|l| l.starts_with("/fields/field")).unwrap_or_default().to_string();
    for (var, other, name) in [("HDF5_EXT_PREFIX", "HDF5_VDS_PREFIX", "in/link_beside.h5"), ("HDF5_VDS_PREFIX", "HDF5_EXT_PREFIX", "in/vds_beside.h5")] {
        let refused = with_env(var, &["inspect", name]);
        let err = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{var} {name}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{var} {name}: {err}");
        let says =
            format!("{var} is set, so HDF5 would look for it under {} first, outside this check; unset {var}, or pass --allow-external", prefix.display());
        assert!(err.starts_with(&format!("error: {name}: ")) && err.contains(&says), "{var} {name}: {err}");
        let allowed = with_env(var, &["inspect", name, "--allow-external"]);
        assert!(allowed.status.success(), "{var} {name}: {}", String::from_utf8_lossy(&allowed.stderr));
        assert!(line_of(&allowed).contains("[3, 16, 16]") && line_of(&allowed) != expected, "{var} {name}: HDF5 reads elsewhere's data: {}", line_of(&allowed));
        let unaffected = with_env(other, &["inspect", name]);
        assert!(unaffected.status.success(), "{other} {name}: {}", String::from_utf8_lossy(&unaffected.stderr));
        assert_eq!(line_of(&unaffected), expected, "{other} {name}");
    }
    // A file that names no other file reads as ever with both set.
    assert_eq!(line_of(&with_env("HDF5_VDS_PREFIX", &["inspect", "in/ok.h5"])), expected);
    assert_eq!(line_of(&with_env("HDF5_EXT_PREFIX", &["inspect", "in/ok.h5"])), expected);
    let help = String::from_utf8_lossy(&run(&["inspect", "--help"], d).stdout).to_string();
    assert!(help.contains("--allow-external"), "{help}");
}
