//! Helpers the end-to-end test files share (`mod common;` in each): running the binary and the
//! assertions every CLI test makes.

// Each test file compiles this module on its own and uses only some of the helpers.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The `oplab` binary under test.
pub fn oplab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oplab"))
}

/// Run `oplab args` in `cwd` to the end.
pub fn run(args: &[&str], cwd: &Path) -> Output {
    oplab().args(args).current_dir(cwd).output().expect("oplab runs")
}

/// Bad input: exit code 2, exactly one line on stderr starting with `error:`, no panic.
pub fn assert_one_line_error(out: &Output, must_mention: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(must_mention), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Success, or the command's stderr in the failure message.
pub fn assert_success(out: &Output) {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Whether two dataset files hold the same data and configuration, read by the library reader
/// (the files themselves differ in their `created` attribute).
pub fn same_data(a: &Path, b: &Path) -> bool {
    let read = |p: &Path| {
        let f = oplab_datasets::DatasetFile::open(p).unwrap();
        let n = f.info().n_samples;
        let batch = f.read_batch(0, n).unwrap();
        let mut bytes = Vec::new();
        batch.fields.iter().for_each(|v| v.write_le(&mut bytes));
        batch.scalars.iter().for_each(|v| v.write_le(&mut bytes));
        (bytes, batch.texts.clone(), f.info().config.clone())
    };
    read(a) == read(b)
}
