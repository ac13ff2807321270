//! Fault injection against the `oplab` binary: two writers of one output, corrupted run files,
//! `kill -9` during a merge and during training-checkpoint writes, and a full disk during
//! generation, merge and a checkpoint. Each fault must end in a one-line error (exit code 2) or a
//! clean refusal, lose nothing finished, and let the same command, rerun, finish with the data
//! of an uninterrupted run. Every assertion holds whatever moment a kill lands at; the runs are
//! tiny, so the whole file takes seconds.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use common::{assert_one_line_error, assert_success, oplab, run, same_data};
use oplab_common::lock;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Send `signal` (STOP, CONT) to process `pid`. Through libc, not the `kill` program: a minimal
/// Debian (the clean-room test) has no procps.
fn signal(pid: u32, name: &str) {
    let sig = match name {
        "STOP" => libc::SIGSTOP,
        "CONT" => libc::SIGCONT,
        other => panic!("signal {other} is not used by these tests"),
    };
    // SAFETY: kill(2) with a pid and a valid signal number has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill -{name} {pid}: {}", std::io::Error::last_os_error());
}

/// Wait until `ready` holds or `child` ends (at most a minute); whether it still runs.
fn wait_while_running(child: &mut Child, mut ready: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while !ready() && child.try_wait().unwrap().is_none() && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(1));
    }
    child.try_wait().unwrap().is_none()
}

/// The pid a lock file names, once its holder has written it.
fn lock_pid(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.lines().find_map(|l| l.strip_prefix("pid = ")?.parse().ok())
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir).map(|it| it.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
    v.sort();
    v
}

/// A pid that ran and has ended (so no process holds it, short of reuse within the test).
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

// ---------------------------------------------------------------------------------------------
// Two writers

#[test]
fn a_second_writer_of_the_same_output_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let me = std::process::id().to_string();
    // This test holds the lock as another oplab would: every command writing there refuses at
    // once, naming the holder, and leaves nothing behind.
    let held = lock::acquire(&d.join("g.h5.lock")).unwrap();
    let refused = run(&["generate", "grf", "--n", "4", "--resolution", "8", "--out", "g.h5"], d);
    assert_one_line_error(&refused, "--out g.h5: another process is writing it: pid ");
    assert!(stderr(&refused).contains(&format!("pid {me} on ")) && stderr(&refused).contains("started 20"), "{}", stderr(&refused));
    assert_eq!(names(d), ["g.h5.lock"], "nothing written next to a locked output");
    drop(held);
    assert_success(&run(&["generate", "grf", "--n", "4", "--resolution", "8", "--out", "g.h5", "-q"], d));
    assert_eq!(names(d), ["g.h5"], "the lock goes with its holder");
    // A finished output is read without its lock: rerunning the finished command succeeds while
    // another process holds the lock (two runs sharing one data file may check it at once), and
    // a different command on it is still refused over the lock.
    let held = lock::acquire(&d.join("g.h5.lock")).unwrap();
    let again = run(&["generate", "grf", "--n", "4", "--resolution", "8", "--out", "g.h5"], d);
    assert_success(&again);
    assert!(stderr(&again).contains("already complete"), "{}", stderr(&again));
    assert_one_line_error(&run(&["generate", "grf", "--n", "6", "--resolution", "8", "--out", "g.h5"], d), "--out g.h5: another process is writing it: pid ");
    drop(held);

    // Merge: likewise, on its --out.
    for k in 1..=2 {
        assert_success(&run(&["generate", "grf", "--n", "4", "--resolution", "8", "--shard", &format!("{k}/2"), "--out", &format!("p{k}.h5"), "-q"], d));
    }
    let held = lock::acquire(&d.join("m.h5.lock")).unwrap();
    assert_one_line_error(&run(&["merge", "p1.h5", "p2.h5", "--out", "m.h5"], d), &format!("--out m.h5: another process is writing it: pid {me}"));
    assert!(!d.join("m.h5").exists());
    drop(held);
    assert_success(&run(&["merge", "p1.h5", "p2.h5", "--out", "m.h5", "-q"], d));
    assert!(same_data(&d.join("g.h5"), &d.join("m.h5")));

    // Training: the lock sits inside the run directory.
    assert_success(&run(&["generate", "darcy", "--n", "8", "--resolution", "9", "--out", "darcy.h5", "-q"], d));
    fs::write(d.join("tiny.toml"), "batch_size = 4\n[mgno]\nchannels = 2\nlayers = 1\nlevels = [[1, 0], [1, 0]]\n").unwrap();
    let train = ["train", "mgno", "--data", "darcy.h5", "--config", "tiny.toml", "--epochs", "1", "--out", "run", "-q"];
    fs::create_dir(d.join("run")).unwrap();
    let held = lock::acquire(&d.join("run/train.lock")).unwrap();
    assert_one_line_error(&run(&train, d), &format!("--out run: another process is writing it: pid {me}"));
    assert_eq!(names(&d.join("run")), ["train.lock"]);
    drop(held);
    assert_success(&run(&train, d));
    assert!(d.join("run/checkpoint.bin").exists() && !d.join("run/train.lock").exists());
    // eval and export read a run only under its lock: while a training holds it they refuse,
    // naming the holder, and change nothing.
    let eval = ["eval", "--run", "run", "--data", "darcy.h5", "-q"];
    let export = ["export", "--run", "run", "--out", "w.safetensors"];
    let held = lock::acquire(&d.join("run/train.lock")).unwrap();
    let before: Vec<(String, Vec<u8>)> = names(&d.join("run")).into_iter().map(|n| (n.clone(), fs::read(d.join("run").join(&n)).unwrap())).collect();
    for args in [&eval[..], &export[..]] {
        let refused = run(args, d);
        assert_one_line_error(&refused, &format!("--run run: another process is writing it: pid {me}"));
        assert!(stderr(&refused).trim_end().ends_with("; wait for it to end"), "{}", stderr(&refused));
    }
    let after: Vec<(String, Vec<u8>)> = names(&d.join("run")).into_iter().map(|n| (n.clone(), fs::read(d.join("run").join(&n)).unwrap())).collect();
    assert!(before == after, "a refused eval or export leaves the run as it was");
    assert!(!d.join("w.safetensors").exists());
    drop(held);
    assert_success(&run(&eval, d));
    assert_success(&run(&export, d));
    assert!(d.join("run/index.html").exists() && d.join("w.safetensors").exists() && !d.join("run/train.lock").exists());
    // A refused fresh run leaves no empty run directory behind.
    assert_one_line_error(&run(&["train", "mgno", "--data", "missing.h5", "--out", "runs/a/run2"], d), "missing.h5");
    assert!(!d.join("runs").exists());
}

#[test]
fn two_generate_commands_at_once_the_second_refuses_and_the_first_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = ["generate", "grf", "--n", "120", "--resolution", "64", "--block-size", "2", "--threads", "1", "-q"];
    assert_success(&run(&[&args[..], &["--out", "ref.h5"]].concat(), d));
    let mut first = oplab().args(args).args(["--out", "x.h5"]).current_dir(d).spawn().unwrap();
    let pid = first.id();
    // Freeze the first writer while it holds the lock, so the second one meets it whatever the
    // machine's speed; a first run that finished before that leaves a finished file instead.
    let running = wait_while_running(&mut first, || lock_pid(&d.join("x.h5.lock")) == Some(pid));
    if running {
        signal(pid, "STOP");
        let second = run(&[&args[..], &["--out", "x.h5"]].concat(), d);
        signal(pid, "CONT");
        assert_one_line_error(&second, &format!("another process is writing it: pid {pid} on "));
        assert!(stderr(&second).contains("generate grf --n 120"), "the holder's command is named: {}", stderr(&second));
    } else {
        eprintln!("the first run finished before it could be frozen; only its result is checked");
    }
    assert!(first.wait().unwrap().success());
    assert!(same_data(&d.join("ref.h5"), &d.join("x.h5")));
    assert!(!d.join("x.h5.lock").exists() && !d.join("x.h5.partial").exists());
    // Shards of one dataset write different outputs: they never block each other.
    let shards: Vec<Child> =
        (1..=2).map(|k| oplab().args(args).args(["--shard", &format!("{k}/2"), "--out", &format!("s{k}.h5")]).current_dir(d).spawn().unwrap()).collect();
    for mut s in shards {
        assert!(s.wait().unwrap().success());
    }
    assert_success(&run(&["merge", "s1.h5", "s2.h5", "--out", "merged.h5", "-q"], d));
    assert!(same_data(&d.join("ref.h5"), &d.join("merged.h5")));
}

#[test]
fn a_stale_lock_of_a_dead_process_is_taken_over_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pid = dead_pid();
    let text = format!("pid = {pid}\nhost = elsewhere\nstarted = 2026-01-01T00:00:00Z\ncommand = oplab generate grf --out g.h5\n");
    fs::write(d.join("g.h5.lock"), &text).unwrap();
    let out = run(&["generate", "grf", "--n", "4", "--resolution", "8", "--out", "g.h5", "-q"], d);
    assert_success(&out);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("note: took over the stale lock") && err.contains(&format!("pid {pid} on elsewhere")), "{err}");
    assert_eq!(names(d), ["g.h5"]);
    // A run directory likewise.
    assert_success(&run(&["generate", "darcy", "--n", "8", "--resolution", "9", "--out", "darcy.h5", "-q"], d));
    fs::write(d.join("tiny.toml"), "batch_size = 4\n[mgno]\nchannels = 2\nlayers = 1\nlevels = [[1, 0], [1, 0]]\n").unwrap();
    fs::create_dir(d.join("run")).unwrap();
    fs::write(d.join("run/train.lock"), &text).unwrap();
    let out = run(&["train", "mgno", "--data", "darcy.h5", "--config", "tiny.toml", "--epochs", "1", "--out", "run", "-q"], d);
    assert_success(&out);
    assert!(stderr(&out).contains("took over the stale lock"), "{}", stderr(&out));
    assert!(!d.join("run/train.lock").exists());
    // eval and export likewise take a stale lock over.
    for args in [&["eval", "--run", "run", "--data", "darcy.h5", "-q"][..], &["export", "--run", "run", "--out", "w.safetensors"]] {
        fs::write(d.join("run/train.lock"), &text).unwrap();
        let out = run(args, d);
        assert_success(&out);
        assert!(stderr(&out).starts_with("note: took over the stale lock") && stderr(&out).contains(&format!("pid {pid} on elsewhere")), "{}", stderr(&out));
        assert!(!d.join("run/train.lock").exists());
    }
}

#[test]
fn eval_and_export_of_a_run_being_trained_refuse_naming_the_training() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_success(&run(&["generate", "darcy", "--n", "8", "--resolution", "9", "--out", "darcy.h5", "-q"], d));
    fs::write(d.join("tiny.toml"), "batch_size = 4\n[mgno]\nchannels = 2\nlayers = 1\nlevels = [[1, 0], [1, 0]]\n").unwrap();
    let train = ["train", "mgno", "--data", "darcy.h5", "--config", "tiny.toml", "--out", "run", "-q"];
    assert_success(&run(&[&train[..], &["--epochs", "1"]].concat(), d));
    // Extend the run, and freeze the training while it holds the lock, so eval and export meet
    // it whatever the machine's speed.
    let mut training = oplab().args(train).args(["--epochs", "400", "--resume"]).current_dir(d).spawn().unwrap();
    let pid = training.id();
    let running = wait_while_running(&mut training, || lock_pid(&d.join("run/train.lock")) == Some(pid));
    if running {
        signal(pid, "STOP");
        let eval = run(&["eval", "--run", "run", "--data", "darcy.h5", "-q"], d);
        let export = run(&["export", "--run", "run", "--out", "w.safetensors"], d);
        signal(pid, "CONT");
        for refused in [eval, export] {
            assert_one_line_error(&refused, &format!("--run run: another process is writing it: pid {pid} on "));
            assert!(stderr(&refused).contains("train mgno --data darcy.h5"), "the holder's command is named: {}", stderr(&refused));
        }
        assert!(!d.join("w.safetensors").exists());
    } else {
        eprintln!("the training finished before it could be frozen; nothing to check");
    }
    training.kill().unwrap();
    training.wait().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Corrupted run directories

/// A tiny run of each model family that keeps a run directory: its data, `--config` and the
/// data `eval` takes.
struct Family {
    model: &'static str,
    config: &'static str,
    data: &'static str,
    eval_data: &'static str,
    /// The files besides the checkpoint that `eval` reads numbers from, each sealed with a
    /// checksum.
    sealed: &'static [&'static str],
}

const OPERATOR_TOML: &str = "batch_size = 4\n[data]\nn_train = 8\nn_val = 2\nn_test = 2\n[mgno]\nchannels = 2\nlayers = 1\nlevels = [[1, 0], [1, 0]]\n\
     [fno]\nwidth = 4\nmodes = [3, 3]\nlayers = 1\nprojection = 4\n[cnn]\nwidth = 4\nblocks = 1\n[unet]\nhidden = 2\nlevels = [1, 2]\nblocks = 1\n";

const FAMILIES: &[Family] = &[
    Family { model: "mgno", config: OPERATOR_TOML, data: "darcy.h5", eval_data: "darcy.h5", sealed: &["best_model.mpk", "normalizers.json"] },
    Family { model: "fno", config: OPERATOR_TOML, data: "darcy.h5", eval_data: "darcy.h5", sealed: &["best_model.mpk", "normalizers.json"] },
    Family { model: "cnn", config: OPERATOR_TOML, data: "darcy.h5", eval_data: "darcy.h5", sealed: &["best_model.mpk", "normalizers.json"] },
    Family { model: "unet", config: OPERATOR_TOML, data: "darcy.h5", eval_data: "darcy.h5", sealed: &["best_model.mpk", "normalizers.json"] },
    Family {
        model: "alrnn",
        config: "epochs = 1\nbatches_per_epoch = 2\nbatch_size = 4\nseq_len = 20\n[alrnn]\nlatent_dim = 6\nrelu_units = 2\n[data]\nskip = 100\n\
                 [eval]\nevery = 1\ntransient = 50\ntest_len = 200\ncoding_len = 200\n",
        data: "lorenz.h5",
        eval_data: "lorenz.h5",
        sealed: &["best_model.json"],
    },
    Family {
        model: "prose",
        config: "batch_size = 8\nsteps_per_epoch = 1\nmax_decode_len = 8\n[network]\npreset = \"tiny\"\n[data]\nn_train = 16\nn_val = 8\n",
        data: "prose.h5",
        eval_data: "prose.h5",
        sealed: &["best_model.mpk"],
    },
];

/// A copy of the run directory `from` at `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn corrupted_checkpoints_configs_and_models_are_refused_for_every_model_kind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_success(&run(&["generate", "darcy", "--n", "12", "--resolution", "9", "--out", "darcy.h5", "-q"], d));
    assert_success(&run(&["generate", "ode", "--system", "lorenz", "--n", "2", "--t-end", "10", "--resolution", "1001", "--out", "lorenz.h5", "-q"], d));
    assert_success(&run(&["generate", "prose-ode", "--n", "28", "--out", "prose.h5", "-q"], d));
    for f in FAMILIES {
        let m = f.model;
        fs::write(d.join(format!("{m}.toml")), f.config).unwrap();
        let good = format!("{m}_good");
        let config = format!("{m}.toml");
        let train = |out: &str, epochs: &str, resume: bool| {
            let mut args = vec!["train", m, "--data", f.data, "--epochs", epochs, "--out", out, "-q"];
            if resume {
                args.push("--resume");
            } else {
                args.extend(["--config", config.as_str()]);
            }
            run(&args, d)
        };
        let eval = |out: &str| run(&["eval", "--run", out, "--data", f.eval_data, "-q"], d);
        assert_success(&train(&good, "1", false));
        let reference = eval(&good);
        assert_success(&reference);

        // A flipped byte anywhere in the checkpoint, or a truncated one: resume and eval refuse,
        // naming the file.
        let ck = fs::read(d.join(&good).join("checkpoint.bin")).unwrap();
        for (case, bytes) in [
            ("flip-head", {
                let mut b = ck.clone();
                b[20] ^= 0x01;
                b
            }),
            ("flip-middle", {
                let mut b = ck.clone();
                b[ck.len() / 2] ^= 0x40;
                b
            }),
            ("flip-last", {
                let mut b = ck.clone();
                *b.last_mut().unwrap() ^= 0x80;
                b
            }),
            ("truncated", ck[..ck.len() * 2 / 3].to_vec()),
            ("empty", Vec::new()),
        ] {
            let bad = format!("{m}_{case}");
            copy_dir(&d.join(&good), &d.join(&bad));
            fs::write(d.join(&bad).join("checkpoint.bin"), &bytes).unwrap();
            assert_one_line_error(&train(&bad, "2", true), &format!("{bad}/checkpoint.bin: "));
            assert_one_line_error(&eval(&bad), &format!("{bad}/checkpoint.bin: "));
            assert!(fs::read(d.join(&bad).join("checkpoint.bin")).unwrap() == bytes, "{m} {case}: a refused command changed the file");
        }
        // The kept model and the normalisers: eval refuses a damaged one rather than compute
        // with other numbers.
        for (k, file) in f.sealed.iter().enumerate() {
            let bad = format!("{m}_sealed{k}");
            copy_dir(&d.join(&good), &d.join(&bad));
            let mut bytes = fs::read(d.join(&bad).join(file)).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 0x01;
            fs::write(d.join(&bad).join(file), &bytes).unwrap();
            assert_one_line_error(&eval(&bad), &format!("{bad}/{file}: is corrupt (checksum mismatch)"));
        }
        // A config.toml edited into another valid configuration (one value changed): its
        // SHA-256 in config.toml.sha256 no longer matches, and resume and eval refuse.
        let stored = fs::read_to_string(d.join(&good).join("config.toml")).unwrap();
        let edited: String = stored.lines().map(|l| if l.starts_with("batch_size = ") { "batch_size = 3\n".to_string() } else { format!("{l}\n") }).collect();
        assert!(edited != stored, "{m}: the stored config has a batch_size line:\n{stored}");
        let bad = format!("{m}_config_edited");
        copy_dir(&d.join(&good), &d.join(&bad));
        fs::write(d.join(&bad).join("config.toml"), &edited).unwrap();
        let mismatch = format!("{bad}/config.toml: differs from the SHA-256 in config.toml.sha256 beside it");
        assert_one_line_error(&train(&bad, "2", true), &mismatch);
        assert_one_line_error(&eval(&bad), &mismatch);
        assert!(fs::read_to_string(d.join(&bad).join("config.toml")).unwrap() == edited, "{m}: a refused command changed the file");
        // A config.toml that no longer parses, or no longer describes a run: refused by the
        // checksum, and in a run from before checksums (no config.toml.sha256) by the parser.
        for (case, text) in [("toml", "model = \"".to_string() + m + "\"\nepochs = [1,\n"), ("value", format!("model = \"{m}\"\nepochs = \"many\"\n"))] {
            for unchecked in [false, true] {
                let bad = format!("{m}_config_{case}_{unchecked}");
                copy_dir(&d.join(&good), &d.join(&bad));
                fs::write(d.join(&bad).join("config.toml"), &text).unwrap();
                if unchecked {
                    fs::remove_file(d.join(&bad).join("config.toml.sha256")).unwrap();
                }
                let why = if unchecked { "" } else { "differs from the SHA-256" };
                assert_one_line_error(&train(&bad, "2", true), &format!("{bad}/config.toml: {why}"));
                assert_one_line_error(&eval(&bad), &format!("{bad}/config.toml: {why}"));
            }
        }
        // A truncated metrics.jsonl is a copy of the checkpoint's history: the resumed run
        // rewrites it from there, and eval never reads it.
        let bad = format!("{m}_metrics");
        copy_dir(&d.join(&good), &d.join(&bad));
        let metrics = fs::read_to_string(d.join(&good).join("metrics.jsonl")).unwrap();
        fs::write(d.join(&bad).join("metrics.jsonl"), &metrics[..metrics.len() / 2]).unwrap();
        let evaluated = eval(&bad);
        assert_success(&evaluated);
        let same_report = String::from_utf8_lossy(&evaluated.stdout).replace(&bad, &good) == String::from_utf8_lossy(&reference.stdout);
        assert!(same_report, "{m}: eval of a run with a truncated metrics file:\n{}", String::from_utf8_lossy(&evaluated.stdout));
        assert_success(&train(&bad, "2", true));
        let rebuilt = fs::read_to_string(d.join(&bad).join("metrics.jsonl")).unwrap();
        assert_eq!(rebuilt.lines().count(), 2, "{m}: {rebuilt}");
        assert_eq!(rebuilt.lines().next(), metrics.lines().next(), "{m}: epoch 1 comes back from the checkpoint");
        // That resume extended the run (--epochs 2) and so rewrote config.toml: its checksum
        // moved with it, and eval reads the run.
        let sum = fs::read_to_string(d.join(&bad).join("config.toml.sha256")).unwrap();
        assert!(sum != fs::read_to_string(d.join(&good).join("config.toml.sha256")).unwrap() && sum.lines().count() == 1, "{m}: {sum}");
        assert_success(&eval(&bad));
    }
}

// ---------------------------------------------------------------------------------------------
// kill -9

/// Run the `generate` command `base` into `ref.h5` and as `count` shards `p1.h5`, ...; the
/// shards' names.
fn reference_and_shards(d: &Path, base: &[&str], count: usize) -> Vec<String> {
    assert_success(&run(&[base, &["--out", "ref.h5"]].concat(), d));
    (1..=count)
        .map(|k| {
            let name = format!("p{k}.h5");
            assert_success(&run(&[base, &["--shard", &format!("{k}/{count}"), "--out", &name]].concat(), d));
            name
        })
        .collect()
}

#[test]
fn kill_9_during_merge_never_leaves_a_file_that_looks_complete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let parts = reference_and_shards(d, &["generate", "grf", "--n", "96", "--resolution", "128", "--threads", "2", "-q"], 3);
    let merge: Vec<&str> = ["merge"].into_iter().chain(parts.iter().map(String::as_str)).chain(["--out", "m.h5", "-q"]).collect();
    let out = d.join("m.h5");
    let mut killed_while_writing = 0;
    for round in 0..8u64 {
        let mut child = oplab().args(&merge).current_dir(d).spawn().unwrap();
        let tmp = d.join(format!("m.h5.tmp-{}", child.id()));
        // Into the write, then a little further each round.
        if wait_while_running(&mut child, || tmp.exists()) {
            std::thread::sleep(Duration::from_millis(3 * round));
            let _ = child.kill(); // SIGKILL
        }
        let status = child.wait().unwrap();
        if out.exists() {
            // The merge got as far as its rename (the kill may still have come before it
            // exited): then the file is the whole merge.
            assert!(same_data(&d.join("ref.h5"), &out), "round {round}: m.h5 is not the complete merge");
            fs::remove_file(&out).unwrap();
            continue;
        }
        assert!(!status.success());
        killed_while_writing += 1;
        // No file, so nothing that looks complete: `inspect` finds nothing there.
        let inspect = run(&["inspect", "m.h5"], d);
        assert_one_line_error(&inspect, "m.h5");
    }
    assert!(killed_while_writing >= 1, "every merge finished before it could be killed; make the shards larger");
    // The rerun clears what the killed ones left and writes the merge of an uninterrupted run.
    assert_success(&run(&merge, d));
    assert!(same_data(&d.join("ref.h5"), &out));
    let left: Vec<String> = names(d).into_iter().filter(|n| n.starts_with("m.h5")).collect();
    assert_eq!(left, ["m.h5"]);
}

/// The parts of the checkpoint in `run_dir`, its checksum checked.
fn checkpoint_parts(run_dir: &Path) -> Vec<Vec<u8>> {
    let path = run_dir.join("checkpoint.bin");
    oplab_operators::run::unpack(&path, &fs::read(&path).unwrap()).unwrap()
}

/// What `oplab eval` finds for the kept model of `run_dir` on the test split of `data`.
fn eval_numbers(d: &Path, run_dir: &Path, data: &str) -> serde_json::Value {
    assert_success(&run(&["eval", "--run", run_dir.to_str().unwrap(), "--data", data, "-q"], d));
    serde_json::from_str(&fs::read_to_string(run_dir.join("eval.json")).unwrap()).unwrap()
}

/// Whether two runs trained the same: every epoch's losses, errors and learning rate, the final
/// weights (their checkpoint records differ only in burn's random parameter ids, so they are
/// compared through what the model computes: the kept model's test errors) and the epoch count.
fn assert_same_training(d: &Path, a: &Path, b: &Path, data: &str) {
    assert_eq!(metrics_without_times(a), metrics_without_times(b), "the epochs differ");
    assert_eq!(eval_numbers(d, a, data), eval_numbers(d, b, data), "the kept models differ");
    let state = |r: &Path| {
        let path = r.join("checkpoint.bin");
        let mut parts = oplab_operators::run::unpack(&path, &fs::read(&path).unwrap()).unwrap();
        let mut s: serde_json::Value = serde_json::from_slice(&parts.pop().unwrap()).unwrap();
        let s = s.as_object_mut().unwrap();
        s.remove("history");
        s.remove("data");
        serde_json::Value::Object(s.clone())
    };
    assert_eq!(state(a), state(b), "the run states differ");
}

/// The lines of `metrics.jsonl` without their wall times.
fn metrics_without_times(run_dir: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(run_dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("seconds");
            v
        })
        .collect()
}

const KILL_TRAIN_TOML: &str = "batch_size = 2\n[data]\nn_train = 8\nn_val = 2\nn_test = 2\n[mgno]\nchannels = 4\nlayers = 2\nlevels = [[1, 0], [1, 0]]\n";

#[test]
fn kill_9_during_training_then_resume_gives_the_uninterrupted_weights() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_success(&run(&["generate", "darcy", "--n", "12", "--resolution", "9", "--out", "darcy.h5", "-q"], d));
    fs::write(d.join("t.toml"), KILL_TRAIN_TOML).unwrap();
    let args = ["train", "mgno", "--data", "darcy.h5", "--config", "t.toml", "--epochs", "24", "-q"];
    assert_success(&run(&[&args[..], &["--out", "ref"]].concat(), d));
    let run_dir = d.join("killed");
    let epochs_done = || fs::read_to_string(run_dir.join("metrics.jsonl")).map(|t| t.lines().count()).unwrap_or(0);
    let mut kills = 0;
    for round in 0..6 {
        let resume = run_dir.join("checkpoint.bin").exists();
        let mut cmd = oplab();
        cmd.args(args).args(["--out", "killed"]).current_dir(d);
        if resume {
            cmd.arg("--resume");
        }
        let mut child = cmd.spawn().unwrap();
        let target = epochs_done() + 1 + round % 3;
        if wait_while_running(&mut child, || epochs_done() >= target) {
            // Land anywhere within the next epoch: between writes or inside one.
            std::thread::sleep(Duration::from_micros(700 * round as u64));
            let _ = child.kill(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        // Whatever the moment: the checkpoint there is whole (its checksum holds) or absent.
        if run_dir.join("checkpoint.bin").exists() {
            assert_eq!(checkpoint_parts(&run_dir).len(), 3);
        }
    }
    assert!(kills >= 2, "the run finished before it could be killed twice; make it longer");
    let last = run(&[&args[..], &["--out", "killed", "--resume"]].concat(), d);
    assert_success(&last);
    assert_same_training(d, &run_dir, &d.join("ref"), "darcy.h5");
    assert!(!names(&run_dir).iter().any(|n| n.contains(".tmp-") || n == "train.lock"), "{:?}", names(&run_dir));
}

// ---------------------------------------------------------------------------------------------
// Disk full

/// A tmpfs of a given size mounted on a fresh directory, unmounted on drop (also when the test
/// fails). Mounting needs root; where it is not allowed, [`Tmpfs::mount`] says so and gives
/// `None`.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(bytes: u64) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"]).arg(dir.path()).output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            Ok(o) => {
                eprintln!("skipped: cannot mount a tmpfs here ({})", String::from_utf8_lossy(&o.stderr).trim());
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount ({e})");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Grow (or shrink) it in place: what it holds stays.
    fn resize(&self, bytes: u64) {
        let status = Command::new("mount").args(["-o", &format!("remount,size={bytes}")]).arg(self.path()).status().unwrap();
        assert!(status.success(), "remount of {}", self.path().display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(self.path()).status().is_ok_and(|s| s.success());
        if !ok {
            // A process still inside it: detach now, freed when it leaves.
            let _ = Command::new("umount").arg("-l").arg(self.path()).status();
        }
    }
}

/// The one-line error of a full disk: exit code 2, naming a path inside `dir`.
fn assert_disk_full_error(out: &Output, dir: &Path) {
    assert_one_line_error(out, "No space left on device");
    assert!(stderr(out).contains(&dir.display().to_string()), "the error names no path in {}: {}", dir.display(), stderr(out));
}

/// Fill the free space of the file system at `dir` with a file, then free `keep` bytes of it.
fn fill_leaving(dir: &Path, keep: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = fs::File::create(&path).unwrap();
    let chunk = vec![0xa5u8; 64 << 10];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    file.set_len(written.saturating_sub(keep)).unwrap();
    file.sync_all().unwrap();
    path
}

const GRF_FULL: [&str; 9] = ["generate", "grf", "--n", "64", "--resolution", "64", "--block-size", "8", "-q"];

/// The data bytes of [`GRF_FULL`]: 64 samples of 64×64 f32 values.
const GRF_DATA: u64 = 64 * 64 * 64 * 4;
const PAGE: u64 = 4096;

#[test]
fn disk_full_during_generation_keeps_the_finished_blocks_and_the_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // One sample a block: each block file is one sample plus a 48-byte frame, so it takes five
    // pages for four pages of data, and the blocks alone need 1.25 times the data's bytes.
    let gen = ["generate", "grf", "--n", "64", "--resolution", "64", "--block-size", "1", "-q"];
    assert_success(&run(&[&gen[..], &["--out", "ref.h5"]].concat(), d));
    // Room for the data but not for all the blocks: the disk fills while blocks are written
    // (a check of the free space up front, which counts the data's bytes, lets the run start).
    let first = GRF_DATA * 112 / 100 / PAGE * PAGE;
    let Some(fs_) = Tmpfs::mount(first) else { return };
    let out = fs_.path().join("g.h5");
    let args = [&gen[..], &["--out", out.to_str().unwrap()]].concat();
    assert_disk_full_error(&run(&args, d), fs_.path());
    assert!(!out.exists());
    let blocks = |text: &str| text.split_once("UNFINISHED run (").and_then(|(_, rest)| rest.split_once(' ')).and_then(|(n, _)| n.parse::<u64>().ok());
    let inspect = String::from_utf8_lossy(&run(&["inspect", out.to_str().unwrap()], d).stdout).into_owned();
    let kept = blocks(&inspect).unwrap_or(0);
    assert!((1..64).contains(&kept), "finished blocks survive: {inspect}");
    // Room for the data's bytes again (the disk is full now), so for every block but not for
    // the assembled file next to them: the disk fills during the final assembly.
    fs_.resize(first + GRF_DATA + 4 * PAGE);
    assert_disk_full_error(&run(&args, d), fs_.path());
    assert!(!out.exists());
    let inspect = String::from_utf8_lossy(&run(&["inspect", out.to_str().unwrap()], d).stdout).into_owned();
    assert_eq!(blocks(&inspect), Some(64), "{inspect}");
    assert!(names(fs_.path()).iter().all(|n| !n.contains(".tmp-")), "{:?}", names(fs_.path()));
    // Space freed: the same command completes with the data of an uninterrupted run.
    fs_.resize(GRF_DATA * 4);
    assert_success(&run(&args, d));
    assert!(same_data(&d.join("ref.h5"), &out));
    assert_eq!(names(fs_.path()), ["g.h5"]);
}

#[test]
fn disk_full_during_merge_leaves_no_output_and_the_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    reference_and_shards(d, &GRF_FULL, 2);
    let Some(fs_) = Tmpfs::mount(GRF_DATA / 2) else { return };
    let out = fs_.path().join("m.h5");
    let args = ["merge", "p1.h5", "p2.h5", "--out", out.to_str().unwrap(), "-q"];
    assert_disk_full_error(&run(&args, d), fs_.path());
    assert_eq!(names(fs_.path()), Vec::<String>::new(), "no output, no temporary, no lock");
    fs_.resize(GRF_DATA * 2);
    assert_success(&run(&args, d));
    assert!(same_data(&d.join("ref.h5"), &out));
}

#[test]
fn disk_full_during_a_checkpoint_keeps_the_previous_one_and_the_resume_completes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_success(&run(&["generate", "darcy", "--n", "12", "--resolution", "9", "--out", "darcy.h5", "-q"], d));
    fs::write(d.join("t.toml"), KILL_TRAIN_TOML).unwrap();
    let args = ["train", "mgno", "--data", "darcy.h5", "--config", "t.toml", "-q"];
    // The reference takes the same path, uninterrupted: one epoch, then extended to three (the
    // schedule follows the run's length, so a run started with three epochs is another run).
    assert_success(&run(&[&args[..], &["--epochs", "1", "--out", "ref"]].concat(), d));
    assert_success(&run(&[&args[..], &["--epochs", "3", "--out", "ref", "--resume"]].concat(), d));
    let Some(fs_) = Tmpfs::mount(8 << 20) else { return };
    let run_dir = fs_.path().join("run");
    let out = run_dir.to_str().unwrap();
    assert_success(&run(&[&args[..], &["--epochs", "1", "--out", out]].concat(), d));
    let checkpoint = fs::read(run_dir.join("checkpoint.bin")).unwrap();
    // Room for the small files a resumed epoch rewrites first (config, metrics, each a page) and
    // the kept model, not for the checkpoint (model and optimiser moments): its write fails.
    let pages = |bytes: u64| bytes.div_ceil(PAGE);
    let keep = (pages(fs::metadata(run_dir.join("best_model.mpk")).unwrap().len()) + 3) * PAGE;
    assert!(keep < pages(checkpoint.len() as u64) * PAGE, "the checkpoint must not fit in {keep} bytes");
    let filler = fill_leaving(fs_.path(), keep);
    let resume = [&args[..], &["--epochs", "3", "--out", out, "--resume"]].concat();
    let full = run(&resume, d);
    assert_disk_full_error(&full, fs_.path());
    assert!(stderr(&full).contains("checkpoint.bin"), "{}", stderr(&full));
    assert!(fs::read(run_dir.join("checkpoint.bin")).unwrap() == checkpoint, "the previous checkpoint does not survive");
    assert!(names(&run_dir).iter().all(|n| !n.contains(".tmp-") && n != "train.lock"), "{:?}", names(&run_dir));
    fs::remove_file(filler).unwrap();
    assert_success(&run(&resume, d));
    assert_same_training(d, &run_dir, &d.join("ref"), "darcy.h5");
}
