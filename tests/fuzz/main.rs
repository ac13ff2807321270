//! Fuzzing on stable Rust: a seed-driven mutation loop (no libFuzzer, no nightly) over
//! (a) the bytes of small oplab HDF5 files opened by `oplab inspect` and `oplab eval` in a
//!     subprocess (`hdf5`),
//! (b) configuration TOML: generation, training (mgno/fno/unet/cnn), PROSE and AL-RNN configs,
//!     parsed in process (`config`),
//! (c) PROSE token sequences and symbolic expressions (`tokens`).
//!
//! The three `fuzz_*` tests are ignored in plain `cargo test`: `make test` runs them for 30 s
//! each (`--ignored`), `scripts/fuzz.sh --seconds 600` for longer; `driver::Budget` lists the
//! environment variables that set the budget and the seed. Each prints one line with the seed and
//! the number of inputs tried; a crash fails the test naming the input's index (replayable from
//! the seed) and the file it was saved to. Inputs that once crashed live in
//! tests/fuzz/regressions/ (HDF5 ones as `*.patch`, a seed file and the bytes changed in it, or
//! as whole `*.h5` files for structural edits) and
//! are replayed by the non-ignored `*_regressions` tests.

mod config;
mod driver;
mod hdf5;
mod mutate;
mod tokens;

use std::path::{Path, PathBuf};

/// The repository's tests/fuzz directory.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz")
}

/// The committed regression inputs `regressions/<prefix>*.<ext>`: (file name, bytes), sorted.
fn regressions(prefix: &str, ext: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(fuzz_dir().join("regressions"))
        .expect("tests/fuzz/regressions exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext) && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).expect("readable regression input")))
        .collect();
    out.sort();
    out
}
