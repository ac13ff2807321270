//! End-to-end tests of the `oplab` binary: bad input, kill -9 and resume, shards and merge.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{assert_one_line_error, oplab, run, same_data};

/// A finished output is success on rerun and untouched; another config needs --force. (Bad
/// input of every kind is the table of tests/bad_input.rs.)
#[test]
fn finished_outputs_rerun_cleanly_and_other_configs_need_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = run(&["generate", "grf", "--n", "3", "--resolution", "16", "--out", "ok.h5"], d);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let bytes = std::fs::read(d.join("ok.h5")).unwrap();
    // The same command again finds its finished output: success, nothing touched.
    let again = run(&["generate", "grf", "--n", "3", "--resolution", "16", "--out", "ok.h5"], d);
    assert!(again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already complete"), "{}", String::from_utf8_lossy(&again.stderr));
    // Another config is refused without --force, naming what differs.
    let other = run(&["generate", "grf", "--n", "3", "--resolution", "16", "--seed", "5", "--out", "ok.h5"], d);
    assert_one_line_error(&other, "--force");
    assert!(String::from_utf8_lossy(&other.stderr).contains("`seed`"), "{}", String::from_utf8_lossy(&other.stderr));
    assert_eq!(std::fs::read(d.join("ok.h5")).unwrap(), bytes);
    // Likewise for an export: the rerun is complete, another config refused.
    let export = ["generate", "darcy", "--n", "2", "--resolution", "17", "--layout", "fno", "--out", "d.mat"];
    for _ in 0..2 {
        let out = run(&export, d);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(String::from_utf8_lossy(&run(&export, d).stderr).contains("already complete"));
    assert_one_line_error(&run(&["generate", "darcy", "--n", "3", "--resolution", "17", "--layout", "fno", "--out", "d.mat"], d), "--force");
}

/// Every problem resolves its configuration on the one generic path: defaults, then the
/// `--config` table, then the flags; a layout the problem lacks is refused, naming what it has.
#[test]
fn flags_override_the_config_table_and_missing_layouts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("run.toml"), "n = 2\n[burgers]\nresolution = 64\nviscosity = 0.2\nrecord_times = 2\n").unwrap();
    let out = run(&["generate", "burgers", "--config", "run.toml", "--viscosity", "0.05", "--out", "b.h5", "-q"], d);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stored: toml::Table = oplab_datasets::DatasetFile::open(&d.join("b.h5")).unwrap().info().config.parse().unwrap();
    let burgers = stored["burgers"].as_table().unwrap();
    assert_eq!((burgers["resolution"].as_integer(), burgers["viscosity"].as_float()), (Some(64), Some(0.05)));
    assert_eq!((burgers["record_times"].as_integer(), stored["n"].as_integer()), (Some(2), Some(2)));
    let refused = run(&["generate", "grf", "--layout", "fno"], d);
    assert_one_line_error(&refused, "layout = fno is invalid: not available for grf (it can be written as native)");
    assert!(!d.join("grf.mat").exists() && !d.join("grf.mat.native.h5").exists());
}

/// A crash during final assembly leaves `OUT.tmp-<pid>`; the rerun removes the stale scratch
/// file of its own output and leaves every other file alone.
#[test]
fn a_rerun_removes_the_stale_scratch_file_of_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["g.h5.tmp-0", "g.h5.tmp-1", "other.h5.tmp-0", "g.h5.tmp-x"] {
        std::fs::write(d.join(name), b"half-written").unwrap();
    }
    let out = run(&["generate", "grf", "--n", "2", "--resolution", "8", "--out", "g.h5", "-q"], d);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!d.join("g.h5.tmp-0").exists(), "the scratch file of a dead process stays behind");
    for kept in ["g.h5.tmp-1", "other.h5.tmp-0", "g.h5.tmp-x"] {
        assert!(d.join(kept).exists(), "{kept} was removed");
    }
}

/// A first run needs no config: the split adapts to the file (80/10/10 %), the AL-RNN's
/// subsequence length to `oplab generate ode`'s default trajectory, and rerunning a finished
/// training command is a success.
#[test]
fn first_runs_need_no_config_and_finished_runs_rerun_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = run(&["generate", "darcy", "--n", "24", "--resolution", "17", "--out", "small.h5", "-q"], d);
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    std::fs::write(
        d.join("tiny.toml"),
        "batch_size = 4
[mgno]
channels = 4
layers = 1
levels = [[1, 0], [2, 0]]
",
    )
    .unwrap();
    let train = ["train", "mgno", "--data", "small.h5", "--config", "tiny.toml", "--epochs", "1", "--out", "run"];
    let first = run(&train, d);
    let text = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{text}");
    assert!(text.contains("20 training, 2 validation, 2 test samples"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("epoch    1/1  lr ") && l.contains("  train ") && l.contains("  val L2 ")), "{text}");
    let stored = std::fs::read_to_string(d.join("run/config.toml")).unwrap();
    assert!(stored.contains("n_train = 20") && stored.contains("n_val = 2") && stored.contains("n_test = 2"), "{stored}");
    let checkpoint = std::fs::read(d.join("run/checkpoint.bin")).unwrap();
    let again = run(&train, d);
    assert!(again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already complete"), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(std::fs::read(d.join("run/checkpoint.bin")).unwrap(), checkpoint);
    // A longer run of the same config is this run unfinished; another config is another run.
    assert_one_line_error(&run(&["train", "mgno", "--data", "small.h5", "--config", "tiny.toml", "--epochs", "3", "--out", "run"], d), "--resume");
    assert_one_line_error(&run(&["train", "mgno", "--data", "small.h5", "--epochs", "1", "--out", "run"], d), "config differs at `batch_size`");
    let eval = run(&["eval", "--run", "run", "--data", "small.h5", "-q"], d);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));

    let ode = run(&["generate", "ode", "--system", "lorenz", "--out", "lorenz.h5", "-q"], d);
    assert!(ode.status.success(), "{}", String::from_utf8_lossy(&ode.stderr));
    std::fs::write(
        d.join("short.toml"),
        "batches_per_epoch = 2
[eval]
every = 1
test_len = 200
coding_len = 500
gmm_len = 200
",
    )
    .unwrap();
    let alrnn = ["train", "alrnn", "--data", "lorenz.h5", "--config", "short.toml", "--epochs", "1", "--out", "arun", "-q"];
    let trained = run(&alrnn, d);
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let stored = std::fs::read_to_string(d.join("arun/config.toml")).unwrap();
    assert!(stored.contains("seq_len = 95"), "half of the 192-step series: {stored}");
    let again = run(&["train", "alrnn", "--data", "lorenz.h5", "--config", "short.toml", "--epochs", "1", "--out", "arun"], d);
    assert!(again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already complete"), "{}", String::from_utf8_lossy(&again.stderr));
}

#[test]
fn inspect_reports_schema_shapes_and_completeness() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(&["generate", "grf", "--n", "5", "--resolution", "20", "--out", "g.h5", "-q"], d).status.success());
    let out = run(&["inspect", "g.h5"], d);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["oplab native v1", "problem     grf", "complete    yes: 5 samples", "/fields/field", "[5, 20, 20]", "f32", "resolution = 20", "input"] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

fn finished_blocks(partial: &Path) -> usize {
    std::fs::read_dir(partial).map(|it| it.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".bin")).count()).unwrap_or(0)
}

#[test]
fn kill_9_at_any_moment_then_rerun_gives_the_uninterrupted_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = ["generate", "grf", "--n", "240", "--resolution", "96", "--block-size", "4", "--threads", "2", "-q"];
    let reference = run(&[&args[..], &["--out", "ref.h5"]].concat(), d);
    assert!(reference.status.success());

    // Kill the run with SIGKILL several times, each time once it has finished a few more blocks
    // (so the kill lands mid-run, between or during block writes), resuming each time.
    let out = d.join("killed.h5");
    let partial = d.join("killed.h5.partial");
    let mut kills = 0;
    for round in 1..=4 {
        let mut child = oplab().args(args).args(["--out", "killed.h5"]).current_dir(d).spawn().unwrap();
        let target = finished_blocks(&partial) + 2 * round;
        let t0 = Instant::now();
        while finished_blocks(&partial) < target && child.try_wait().unwrap().is_none() && t0.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        if out.exists() {
            break;
        }
        assert!(partial.exists(), "an interrupted run keeps its finished blocks");
    }
    assert!(kills >= 2, "the run finished before it could be killed twice; make it longer");
    let resumed = run(&[&args[..], &["--out", "killed.h5"]].concat(), d);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(same_data(&d.join("ref.h5"), &out));
    assert!(!partial.exists());
}

#[test]
fn shards_then_merge_equal_an_unsharded_run_with_other_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = ["generate", "grf", "--n", "10", "--resolution", "32", "--seed", "5", "-q"];
    assert!(run(&[&base[..], &["--threads", "1", "--out", "t1.h5"]].concat(), d).status.success());
    assert!(run(&[&base[..], &["--threads", "2", "--out", "t2.h5"]].concat(), d).status.success());
    assert!(same_data(&d.join("t1.h5"), &d.join("t2.h5")));
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let name = format!("p{k}.h5");
        assert!(run(&[&base[..], &["--shard", &shard, "--out", &name]].concat(), d).status.success());
    }
    let inspect = String::from_utf8_lossy(&run(&["inspect", "p2.h5"], d).stdout).to_string();
    assert!(inspect.contains("shard 2/3"), "{inspect}");
    let merged = run(&["merge", "p3.h5", "p1.h5", "p2.h5", "--out", "m.h5", "-q"], d);
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    assert!(same_data(&d.join("t1.h5"), &d.join("m.h5")));
}

#[test]
fn version_names_the_commit_and_help_shows_examples() {
    let v = oplab().arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(text.starts_with("oplab 0.") && text.contains('('), "{text}");
    for sub in [&["generate", "grf", "--help"][..], &["inspect", "--help"], &["merge", "--help"], &["--help"]] {
        let h = oplab().args(sub).output().unwrap();
        assert!(h.status.success());
        assert!(String::from_utf8_lossy(&h.stdout).contains("Example"), "{sub:?} --help has no example");
    }
}

/// `oplab train alrnn` on a small generated Lorenz file: trains, resumes, evaluates (metrics,
/// subregions, figures), and rejects bad input with one-line errors.
/// The page `oplab eval` leaves in `run`: it holds the numbers `needle`, and every image it
/// references is a PNG in the run directory; `figures` must be among them.
fn assert_eval_page(run: &Path, needle: &str, figures: &[&str]) {
    let page = std::fs::read_to_string(run.join("index.html")).unwrap();
    assert!(page.contains(needle), "the page lacks `{needle}`:\n{page}");
    let sources: Vec<&str> = page.split("<img src=\"").skip(1).map(|rest| &rest[..rest.find('"').unwrap()]).collect();
    for fig in figures {
        assert!(sources.contains(fig), "{fig} not on the page; it shows {sources:?}");
    }
    for src in &sources {
        let bytes = std::fs::read(run.join(src)).unwrap_or_else(|e| panic!("{src}, referenced by the page: {e}"));
        assert_eq!(&bytes[1..4], b"PNG", "{src}");
    }
}

#[test]
fn alrnn_trains_resumes_and_evaluates_on_a_small_lorenz_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = run(&["generate", "ode", "--system", "lorenz", "--n", "2", "--t-end", "40", "--resolution", "4001", "--out", "lorenz.h5", "-q"], d);
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    std::fs::write(
        d.join("alrnn.toml"),
        "epochs = 4\nbatches_per_epoch = 5\nbatch_size = 8\nseq_len = 40\n[alrnn]\nlatent_dim = 10\nrelu_units = 2\n[forcing]\ntau = 8\n\
         [data]\nskip = 500\nobs_noise = 0.05\n[eval]\nevery = 2\ntransient = 100\ntest_len = 1000\ncoding_len = 2000\n",
    )
    .unwrap();
    let first = run(&["train", "alrnn", "--data", "lorenz.h5", "--config", "alrnn.toml", "--epochs", "2", "--out", "run", "-q"], d);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    // Extending the run continues from the checkpoint.
    let more = run(&["train", "alrnn", "--data", "lorenz.h5", "--epochs", "4", "--out", "run", "--resume"], d);
    let text = String::from_utf8_lossy(&more.stderr).to_string();
    assert!(more.status.success(), "{text}");
    // One summary line per epoch (the reconstruction measures on evaluation epochs), and no
    // progress bar drawing when stderr is not a terminal.
    assert!(text.contains("epoch    3/4  lr ") && !text.lines().any(|l| l.starts_with("epoch    3/4") && l.contains("D_stsp")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("epoch    4/4  lr ") && l.contains("D_stsp") && l.contains("D_H")), "{text}");
    assert!(!text.contains('\r') && !text.contains('\x1b'), "{text:?}");
    let lines = std::fs::read_to_string(d.join("run/metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 4, "{lines}");
    let eval = run(&["eval", "--run", "run", "--data", "lorenz.h5", "-q"], d);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let text = String::from_utf8_lossy(&eval.stdout).to_string();
    for needle in ["D_stsp", "D_H", "20-step prediction error", "linear subregions used", "spectral radius"] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("run/eval.json")).unwrap()).unwrap();
    let used = summary["n_subregions"].as_u64().unwrap();
    assert!((1..=4).contains(&used), "P = 2 allows at most 4 subregions, got {used}");
    for fig in ["attractor.png", "spectra.png", "subregions.png", "training.png"] {
        assert!(std::fs::metadata(d.join("run").join(fig)).unwrap().len() > 1000, "{fig}");
    }
    assert_eval_page(&d.join("run"), "linear subregions used", &["training.png", "attractor.png", "spectra.png", "subregions.png"]);

    // Bad input: one line, exit code 2.
    assert_one_line_error(&run(&["train", "alrnn", "--data", "lorenz.h5", "--out", "run"], d), "already holds another run");
    assert_one_line_error(&run(&["train", "alrnn", "--data", "lorenz.h5", "--device", "cuda", "--out", "r2"], d), "device = cuda");
    assert_one_line_error(&run(&["train", "rnn", "--data", "lorenz.h5", "--out", "r2"], d), "model = rnn");
    std::fs::write(d.join("bad.toml"), "[forcing]\ntau = 0\n").unwrap();
    assert_one_line_error(&run(&["train", "alrnn", "--data", "lorenz.h5", "--config", "bad.toml", "--out", "r2"], d), "forcing.tau = 0");
    std::fs::write(d.join("big.toml"), "[alrnn]\nlatent_dim = 4\nrelu_units = 2\n").unwrap();
    assert_one_line_error(&run(&["train", "alrnn", "--data", "lorenz.h5", "--config", "big.toml", "--out", "r2"], d), "alrnn.latent_dim = 4");
    std::fs::write(d.join("long.toml"), "seq_len = 100000\n").unwrap();
    assert_one_line_error(&run(&["train", "alrnn", "--data", "lorenz.h5", "--config", "long.toml", "--out", "r2"], d), "seq_len = 100000");
    assert_one_line_error(&run(&["train", "alrnn", "--data", "missing.h5", "--out", "r3"], d), "missing.h5");
}

#[test]
fn mgno_and_fno_train_resume_and_evaluate_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = run(&["generate", "darcy", "--n", "12", "--resolution", "17", "--out", "darcy.h5", "-q"], d);
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    std::fs::write(
        d.join("small.toml"),
        "batch_size = 4\n[data]\nn_train = 8\nn_val = 2\nn_test = 2\n[mgno]\nchannels = 4\nlayers = 2\nlevels = [[1, 0], [1, 0], [2, 0]]\n\
         [fno]\nwidth = 4\nmodes = [3, 3]\nlayers = 2\nprojection = 8\n",
    )
    .unwrap();
    for model in ["mgno", "fno"] {
        let out = format!("run_{model}");
        let first = run(&["train", model, "--data", "darcy.h5", "--config", "small.toml", "--epochs", "1", "--out", &out, "-q"], d);
        assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
        assert!(first.stderr.is_empty(), "-q prints nothing: {}", String::from_utf8_lossy(&first.stderr));
        // The starting command plus --resume (same --config) continues the run ...
        let more = run(&["train", model, "--data", "darcy.h5", "--config", "small.toml", "--epochs", "2", "--out", &out, "--resume", "-q"], d);
        assert!(more.status.success(), "{}", String::from_utf8_lossy(&more.stderr));
        let metrics = std::fs::read_to_string(d.join(&out).join("metrics.jsonl")).unwrap();
        assert_eq!(metrics.lines().count(), 2, "two epochs, one line each:\n{metrics}");
        // The run directory stores the resolved config, so it can be rerun as is, [backend]
        // options included.
        let stored = std::fs::read_to_string(d.join(&out).join("config.toml")).unwrap();
        assert!(stored.contains(&format!("model = \"{model}\"")) && stored.contains("epochs = 2"), "{stored}");
        assert!(stored.contains("\n[backend]\ncuda = \"auto\"\nmemory = \"persistent\""), "{stored}");
        let eval = run(&["eval", "--run", &out, "--data", "darcy.h5", "-q"], d);
        assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
        let text = String::from_utf8_lossy(&eval.stdout).to_string();
        assert!(text.contains("test samples 10..12") && text.contains("mean rel. L2"), "{text}");
        assert!(std::fs::metadata(d.join(&out).join("eval_samples.png")).unwrap().len() > 1000);
        assert_eval_page(&d.join(&out), "mean rel. L2", &["loss_curve.png", "eval_samples.png"]);
    }
    // An eval option the family does not have is refused by name, not ignored.
    assert_one_line_error(&run(&["eval", "--run", "run_fno", "--data", "darcy.h5", "--reintegrate"], d), "--reintegrate: not an eval option of fno runs");
    assert_one_line_error(
        &run(&["eval", "--run", "run_fno", "--data", "darcy.h5", "--convert", "maybe"], d),
        "--convert = maybe is invalid: must be on, off or both",
    );
    // Bad input: one line naming the field, exit code 2, and nothing that looks like a run.
    std::fs::write(d.join("bad.toml"), "[mgno]\nchannels = 0\n").unwrap();
    assert_one_line_error(&run(&["train", "mgno", "--data", "darcy.h5", "--config", "bad.toml", "--out", "bad_run"], d), "channels");
    assert!(!d.join("bad_run/checkpoint.bin").exists() && !d.join("bad_run/best_model.mpk").exists());
    assert_one_line_error(&run(&["train", "mgno", "--data", "missing.h5", "--out", "bad_run2"], d), "missing.h5");
    assert_one_line_error(&run(&["train", "mgno", "--data", "darcy.h5", "--out", "run_mgno"], d), "already holds another run");
    // ... but a config that no longer describes the stored run is refused, naming the field.
    std::fs::write(d.join("other.toml"), std::fs::read_to_string(d.join("small.toml")).unwrap().replace("batch_size = 4", "batch_size = 2")).unwrap();
    assert_one_line_error(&run(&["train", "mgno", "--data", "darcy.h5", "--config", "other.toml", "--out", "run_mgno", "--resume"], d), "batch_size differs");
    // [backend] options: a bad value names the field and what is allowed; a flag is stored with a
    // new run, and on resume it may only repeat the stored value.
    std::fs::write(d.join("bad_backend.toml"), "[backend]\nadam = \"sgd\"\n").unwrap();
    assert_one_line_error(
        &run(&["train", "mgno", "--data", "darcy.h5", "--config", "bad_backend.toml", "--out", "bad_run3"], d),
        "backend.adam = \"sgd\" is invalid: must be one of: fused, burn",
    );
    assert_one_line_error(
        &run(&["train", "mgno", "--data", "darcy.h5", "--backend-cuda", "gpu", "--out", "bad_run4"], d),
        "--backend-cuda: backend.cuda = \"gpu\" is invalid: must be one of: auto, fusion, direct",
    );
    let flagged = run(
        &[
            "train",
            "fno",
            "--data",
            "darcy.h5",
            "--config",
            "small.toml",
            "--epochs",
            "1",
            "--backend-cuda",
            "fusion",
            "--backend-memory",
            "dynamic",
            "--out",
            "run_flags",
            "-q",
        ],
        d,
    );
    assert!(flagged.status.success(), "{}", String::from_utf8_lossy(&flagged.stderr));
    let stored = std::fs::read_to_string(d.join("run_flags/config.toml")).unwrap();
    assert!(stored.contains("cuda = \"fusion\"\nmemory = \"dynamic\""), "{stored}");
    let again = run(&["train", "fno", "--data", "darcy.h5", "--epochs", "2", "--backend-cuda", "fusion", "--out", "run_flags", "--resume", "-q"], d);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_one_line_error(
        &run(&["train", "fno", "--data", "darcy.h5", "--epochs", "3", "--backend-cuda", "direct", "--out", "run_flags", "--resume"], d),
        "backend.cuda differs",
    );
}

#[test]
fn argument_parser_errors_are_one_line_with_the_allowed_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad_layout = run(&["generate", "darcy", "--n", "1", "--layout", "foo", "--out", "x.h5"], d);
    assert_one_line_error(&bad_layout, "'foo' for '--layout <LAYOUT>' [possible values: native, fno, pdebench]");
    assert_one_line_error(&run(&["generate", "navier-stokes", "--n", "1", "--scheme", "rk9"], d), "[possible values: crank-nicolson, etdrk4]");
    assert_one_line_error(&run(&["train", "mgno"], d), "--data <DATA>");
    assert_one_line_error(&run(&["generate", "darcy", "--n", "abc"], d), "invalid value 'abc' for '--n <N>'");
    assert!(!d.join("x.h5").exists());
    // Help is not an error: it goes to stdout, whole, with exit code 0.
    let help = run(&["generate", "darcy", "--help"], d);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).lines().count() > 5);
}

/// `oplab eval --subsample`: the same test samples on every grid of a periodic layout, the sweep
/// written as JSON, PNG and a table; bad requests refused in one line naming the flag.
#[test]
fn resolution_sweep_of_fno_and_mgno_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = run(&["generate", "darcy", "--n", "12", "--resolution", "17", "--out", "darcy.h5", "-q"], d);
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    // Periodic layout: 17 nodes less the last = 16; trained at every 2nd point (8×8).
    let small = "batch_size = 4\nepochs = 1\n[data]\nn_train = 8\nn_val = 2\nn_test = 2\nsubsample = 2\nlayout = \"periodic\"\n\
                 [mgno]\nchannels = 4\nlayers = 2\nlevels = [[1, 0], [1, 0], [2, 0]]\n[fno]\nwidth = 4\nmodes = [3, 3]\nlayers = 2\nprojection = 8\ndomain_padding = 2\n";
    std::fs::write(d.join("small.toml"), small).unwrap();
    for model in ["fno", "mgno"] {
        let out = format!("run_{model}");
        let train = run(&["train", model, "--data", "darcy.h5", "--config", "small.toml", "--out", &out, "-q"], d);
        assert!(train.status.success(), "{}", String::from_utf8_lossy(&train.stderr));
        let eval = run(&["eval", "--run", &out, "--data", "darcy.h5", "--subsample", "1,4", "--io-interp", "-q"], d);
        assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
        let text = String::from_utf8_lossy(&eval.stdout).to_string();
        assert!(text.contains(&format!("resolution sweep of {model}")) && text.contains("16×16") && text.contains("4×4"), "{text}");
        assert!(text.contains("subsample 2 (the training grid) added"), "{text}");
        let sweep: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join(&out).join("resolution_sweep.json")).unwrap()).unwrap();
        assert_eq!(sweep["train_grid"], serde_json::json!([8, 8]));
        assert_eq!(sweep["layout"], "periodic");
        let variants = sweep["variants"].as_array().unwrap();
        assert_eq!(variants.iter().map(|v| v["variant"].as_str().unwrap()).collect::<Vec<_>>(), vec!["model", "io-interp"]);
        for v in variants {
            let grids = v["grids"].as_array().unwrap();
            let sides: Vec<u64> = grids.iter().map(|g| g["grid"][1].as_u64().unwrap()).collect();
            assert_eq!(sides, vec![16, 8, 4]);
            assert_eq!(grids[1]["ratio_to_train"].as_f64().unwrap(), 1.0);
            assert!(grids[0]["gap_to_coarser"]["mean"].as_f64().unwrap() > 0.0 && grids[2]["gap_to_coarser"].is_null());
            assert!(grids.iter().all(|g| g["rel_l2"].as_f64().unwrap().is_finite()));
        }
        assert!(std::fs::metadata(d.join(&out).join("resolution_sweep.png")).unwrap().len() > 1000);
        // At the training grid the io-interp baseline is the model itself.
        assert_eq!(variants[0]["grids"][1]["rel_l2"], variants[1]["grids"][1]["rel_l2"]);
        // --convert needs convolutions that are converted; MgNO's are not (yet).
        assert_one_line_error(
            &run(&["eval", "--run", &out, "--data", "darcy.h5", "--subsample", "1,2", "--convert", "on"], d),
            &format!("--convert = on is invalid: needs a run of a network whose convolutions are converted (unet, cnn); {model} has none to convert"),
        );
    }
    assert_one_line_error(&run(&["eval", "--run", "run_fno", "--data", "darcy.h5", "--subsample", "0,2"], d), "--subsample = 0 is invalid: must be 1 to 1024");
    assert_one_line_error(
        &run(&["eval", "--run", "run_fno", "--data", "darcy.h5", "--subsample", "3"], d),
        "--subsample = 3 is invalid: must divide 16 and 16",
    );
    // Per-pixel normalisers fit only the training grid.
    std::fs::write(d.join("pixel.toml"), format!("input_normalizer = \"pixel\"\n{small}")).unwrap();
    let train = run(&["train", "fno", "--data", "darcy.h5", "--config", "pixel.toml", "--out", "run_pixel", "-q"], d);
    assert!(train.status.success(), "{}", String::from_utf8_lossy(&train.stderr));
    assert_one_line_error(
        &run(&["eval", "--run", "run_pixel", "--data", "darcy.h5", "--subsample", "1,2"], d),
        "--subsample = 1 is invalid: must be 2, the training subsample: the run's input_normalizer is per pixel",
    );
    let same = run(&["eval", "--run", "run_pixel", "--data", "darcy.h5", "--subsample", "2", "-q"], d);
    assert!(same.status.success(), "{}", String::from_utf8_lossy(&same.stderr));
}

/// The sweep of the convolutional nets: plain, converted and io-interp from the same weights
/// (identical on the training grid); a grid below the U-Net's minimum is refused by name.
#[test]
fn resolution_sweep_of_unet_and_cnn_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = run(&["generate", "darcy", "--n", "10", "--resolution", "33", "--out", "darcy.h5", "-q"], d);
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    // Periodic layout: 32 points a side; trained at every 2nd (16×16).
    let small = "batch_size = 4\nepochs = 1\n[data]\nn_train = 6\nn_val = 2\nn_test = 2\nsubsample = 2\nlayout = \"periodic\"\n\
                 [unet]\nhidden = 2\nlevels = [1, 2]\nblocks = 1\n[cnn]\nwidth = 4\nblocks = 1\n";
    std::fs::write(d.join("small.toml"), small).unwrap();
    for model in ["unet", "cnn"] {
        let out = format!("run_{model}");
        let train = run(&["train", model, "--data", "darcy.h5", "--config", "small.toml", "--out", &out, "-q"], d);
        assert!(train.status.success(), "{}", String::from_utf8_lossy(&train.stderr));
        let eval = run(&["eval", "--run", &out, "--data", "darcy.h5", "--subsample", "1,2,4", "--convert", "both", "--io-interp", "-q"], d);
        assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
        let sweep: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join(&out).join("resolution_sweep.json")).unwrap()).unwrap();
        let variants = sweep["variants"].as_array().unwrap();
        assert_eq!(variants.iter().map(|v| v["variant"].as_str().unwrap()).collect::<Vec<_>>(), vec!["plain", "converted", "io-interp"]);
        // Grids 32, 16 (training), 8: at the training grid all three are the plain net.
        let at_train: Vec<&serde_json::Value> = variants.iter().map(|v| &v["grids"][1]["rel_l2"]).collect();
        assert!(at_train.iter().all(|e| *e == at_train[0]), "{at_train:?}");
        // Elsewhere the converted net is another map than the plain one.
        assert_ne!(variants[0]["grids"][0]["rel_l2"], variants[1]["grids"][0]["rel_l2"]);
        // Without --convert the run's own setting ([unet] / [cnn] convert = true) decides.
        let default = run(&["eval", "--run", &out, "--data", "darcy.h5", "--subsample", "2", "-q"], d);
        assert!(
            default.status.success() && String::from_utf8_lossy(&default.stdout).contains(&format!("{model} converted")),
            "{}",
            String::from_utf8_lossy(&default.stdout)
        );
    }
    // Two levels need a grid of at least 4×4: subsample 16 gives 2×2.
    assert_one_line_error(
        &run(&["eval", "--run", "run_unet", "--data", "darcy.h5", "--subsample", "2,16"], d),
        "--subsample = 16 is invalid: gives a 2×2 grid, below the 4×4",
    );
}

/// `oplab train prose` on small generated files: trains the tiny preset, resumes, evaluates on a
/// noisy test file (per-system table, eval.json, equations.md, panels, --reintegrate), and
/// rejects bad input with one-line errors naming the field and value.
#[test]
fn prose_trains_resumes_and_evaluates_and_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = |args: &[&str]| {
        let out = run(args, d);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    gen(&["generate", "prose-ode", "--n", "36", "--out", "train.h5", "-q"]);
    gen(&[
        "generate",
        "prose-ode",
        "--n",
        "12",
        "--seed",
        "42",
        "--noise",
        "0.02",
        "--add-term-prob",
        "0.15",
        "--miss-term-prob",
        "0.15",
        "--out",
        "test.h5",
        "-q",
    ]);
    std::fs::write(
        d.join("tiny.toml"),
        "batch_size = 8\nsteps_per_epoch = 2\nmax_decode_len = 12\n[network]\npreset = \"tiny\"\n[data]\nn_train = 24\nn_val = 12\n",
    )
    .unwrap();
    let first = run(&["train", "prose", "--data", "train.h5", "--config", "tiny.toml", "--epochs", "1", "--out", "run", "-q"], d);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let more = run(&["train", "prose", "--data", "train.h5", "--epochs", "2", "--out", "run", "--resume", "-q"], d);
    assert!(more.status.success(), "{}", String::from_utf8_lossy(&more.stderr));
    assert_eq!(std::fs::read_to_string(d.join("run/metrics.jsonl")).unwrap().lines().count(), 2);
    let eval = run(&["eval", "--run", "run", "--data", "test.h5", "--reintegrate", "-q"], d);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let text = String::from_utf8_lossy(&eval.stdout).to_string();
    for needle in ["lorenz", "hold-last", "valid%", "reint.L2", "stored noisy data"] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("run/eval.json")).unwrap()).unwrap();
    assert_eq!(summary["overall"]["n"].as_u64(), Some(12));
    assert_eq!(summary["systems"].as_array().unwrap().len(), 12);
    assert!(std::fs::read_to_string(d.join("run/equations.md")).unwrap().contains("## lorenz"));
    for fig in ["loss_curve.png", "eval_lorenz.png", "eval_duffing.png"] {
        assert!(std::fs::metadata(d.join("run").join(fig)).unwrap().len() > 1000, "{fig}");
    }
    assert_one_line_error(&run(&["eval", "--run", "run", "--data", "test.h5", "--subsample", "2"], d), "--subsample: not an eval option of prose runs");

    // Bad input: one line, exit code 2, naming the field and the value.
    gen(&["generate", "ode", "--system", "lorenz", "--n", "2", "--out", "lorenz.h5", "-q"]);
    assert_one_line_error(&run(&["train", "prose", "--data", "lorenz.h5", "--out", "r2"], d), "prose trains on `oplab generate prose-ode` files");
    assert_one_line_error(&run(&["train", "prose", "--data", "lorenz.h5", "--out", "r2"], d), "lorenz.h5");
    std::fs::write(d.join("heads.toml"), "[network]\nd_model = 30\n").unwrap();
    assert_one_line_error(&run(&["train", "prose", "--data", "train.h5", "--config", "heads.toml", "--out", "r2"], d), "network.n_heads = 4");
    std::fs::write(d.join("long.toml"), "[data]\ninput_len = 192\n").unwrap();
    assert_one_line_error(&run(&["train", "prose", "--data", "train.h5", "--config", "long.toml", "--out", "r2"], d), "data.input_len = 192");
    // Another vocabulary (five components: u_3, u_4) at evaluation.
    gen(&["generate", "prose-ode", "--systems", "chaotic_ode_all", "--n", "15", "--out", "wide.h5", "-q"]);
    assert_one_line_error(&run(&["eval", "--run", "run", "--data", "wide.h5"], d), "vocabulary of wide.h5");
    assert!(!d.join("r2").join("checkpoint.bin").exists());
}
