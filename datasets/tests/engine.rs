//! The generation engine's promises: the same data bytes whatever the thread count, shard split
//! or resume point; refusal to resume a different configuration; no overwrite without force.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use oplab_datasets::problems::grf::{GrfConfig, GrfProblem};
use oplab_datasets::{
    generate, merge, DatasetError, DatasetFile, GenerationSettings, Precision, Problem, ProblemModule, RunOptions, Sample, SampleError, SampleRng, Schema,
    Shard, Silent,
};

fn grf(resolution: usize) -> GrfProblem {
    GrfProblem::new(GrfConfig { resolution, ..GrfConfig::default() }).unwrap()
}

fn settings(n: u64) -> GenerationSettings {
    GenerationSettings { n, seed: 42, ..GenerationSettings::default() }
}

fn opts(out: &Path) -> RunOptions {
    RunOptions { out: out.to_path_buf(), shard: Shard::WHOLE, threads: Some(1), block_size: Some(3), force: false }
}

/// Every stored byte of a file's data, plus every attribute that is not a timestamp/version.
fn data_fingerprint(path: &Path) -> (Vec<u8>, String) {
    let f = DatasetFile::open(path).unwrap();
    let info = f.info().clone();
    let batch = f.read_batch(0, info.n_samples).unwrap();
    let mut bytes = Vec::new();
    for v in batch.fields.iter().chain(&batch.scalars) {
        v.write_le(&mut bytes);
    }
    for texts in &batch.texts {
        for t in texts {
            bytes.extend_from_slice(t.as_bytes());
            bytes.push(0);
        }
    }
    let meta = format!("{}|{}|{}|{}|{:?}|{:?}|{:?}", info.problem, info.config, info.seed, info.n_samples, info.precision, info.schema, info.shard);
    (bytes, meta)
}

#[test]
fn thread_count_does_not_change_a_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("t1.h5"), dir.path().join("t2.h5"));
    generate(&grf(24), &settings(11), &opts(&a), &Silent).unwrap();
    generate(&grf(24), &settings(11), &RunOptions { threads: Some(2), block_size: Some(5), ..opts(&b) }, &Silent).unwrap();
    let (da, ma) = data_fingerprint(&a);
    let (db, mb) = data_fingerprint(&b);
    assert_eq!(ma, mb);
    assert_eq!(da.len(), 11 * 24 * 24 * 4);
    assert!(da == db, "data differ between 1 and 2 threads");
    // Different seeds must give different data (the fingerprint is not trivially constant).
    let c = dir.path().join("t3.h5");
    generate(&grf(24), &GenerationSettings { seed: 43, ..settings(11) }, &opts(&c), &Silent).unwrap();
    assert!(data_fingerprint(&c).0 != da);
}

#[test]
fn shards_merge_to_the_unsharded_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.h5");
    generate(&grf(16), &settings(10), &opts(&whole), &Silent).unwrap();
    let mut parts: Vec<PathBuf> = Vec::new();
    for k in [3u64, 1, 2] {
        let p = dir.path().join(format!("part{k}.h5"));
        let o = RunOptions { shard: Shard::new(k, 3).unwrap(), threads: Some(2), ..opts(&p) };
        generate(&grf(16), &settings(10), &o, &Silent).unwrap();
        parts.push(p);
    }
    let merged = dir.path().join("merged.h5");
    // A missing part is refused.
    let err = merge(&parts[..2], &merged, false, &Silent).unwrap_err();
    assert!(err.to_string().contains("3 shards but 2 files"), "{err}");
    assert!(!merged.exists());
    merge(&parts, &merged, false, &Silent).unwrap();
    assert_eq!(data_fingerprint(&whole), data_fingerprint(&merged));
}

/// A problem that fails at one index: simulates a run that dies part-way.
struct FailAt<'a> {
    inner: &'a GrfProblem,
    fail_at: u64,
    calls: AtomicU64,
}

impl Problem for FailAt<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn schema(&self) -> Schema {
        self.inner.schema()
    }
    fn config_toml(&self) -> String {
        self.inner.config_toml()
    }
    fn sample(&self, index: u64, rng: &mut SampleRng) -> Result<Sample, SampleError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if index == self.fail_at {
            return Err(SampleError { index, message: "simulated crash".into() });
        }
        self.inner.sample(index, rng)
    }
}

#[test]
fn resume_after_failure_gives_the_same_bytes_and_skips_finished_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("ref.h5");
    generate(&grf(16), &settings(20), &opts(&reference), &Silent).unwrap();

    let out = dir.path().join("resumed.h5");
    let p = grf(16);
    let failing = FailAt { inner: &p, fail_at: 13, calls: AtomicU64::new(0) };
    let err = generate(&failing, &settings(20), &opts(&out), &Silent).unwrap_err();
    assert!(matches!(err, DatasetError::Sample(_)), "{err}");
    assert!(!out.exists(), "an interrupted run must not leave a file that looks complete");

    // Blocks of 3: samples 0..12 (4 blocks) were finished before sample 13 failed.
    let counting = FailAt { inner: &p, fail_at: u64::MAX, calls: AtomicU64::new(0) };
    generate(&counting, &settings(20), &opts(&out), &Silent).unwrap();
    assert_eq!(counting.calls.load(Ordering::SeqCst), 20 - 12, "finished blocks must not be recomputed");
    assert_eq!(data_fingerprint(&reference), data_fingerprint(&out));
    assert!(!oplab_datasets::blocks::partial_dir(&out).exists(), "partial run is removed once the file is complete");
}

#[test]
fn resume_with_a_different_config_is_refused_and_force_discards() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.h5");
    let p = grf(16);
    let failing = FailAt { inner: &p, fail_at: 7, calls: AtomicU64::new(0) };
    generate(&failing, &settings(12), &opts(&out), &Silent).unwrap_err();
    let other = GenerationSettings { seed: 1, ..settings(12) };
    let err = generate(&p, &other, &opts(&out), &Silent).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DatasetError::ResumeMismatch { .. }) && msg.contains("seed"), "{msg}");
    generate(&p, &other, &RunOptions { force: true, ..opts(&out) }, &Silent).unwrap();
    assert_eq!(DatasetFile::open(&out).unwrap().info().seed, 1);
}

#[test]
fn finished_file_is_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("done.h5");
    generate(&grf(8), &settings(4), &opts(&out), &Silent).unwrap();
    let before = std::fs::read(&out).unwrap();
    let err = generate(&grf(8), &GenerationSettings { seed: 9, ..settings(4) }, &opts(&out), &Silent).unwrap_err();
    assert!(matches!(err, DatasetError::OutputExists { .. }) && err.to_string().contains("config differs at `seed`"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
    // The same command again is a success that touches nothing.
    let again = generate(&grf(8), &settings(4), &opts(&out), &Silent).unwrap();
    assert!(again.already_complete && again.generated == 0 && again.samples == 4, "{again:?}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
    generate(&grf(8), &GenerationSettings { seed: 9, ..settings(4) }, &RunOptions { force: true, ..opts(&out) }, &Silent).unwrap();
    assert_eq!(DatasetFile::open(&out).unwrap().info().seed, 9);
}

#[test]
fn precision_and_compression_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("f64.h5"), dir.path().join("f64z.h5"));
    let s64 = GenerationSettings { precision: Precision::F64, ..settings(5) };
    generate(&grf(12), &s64, &opts(&a), &Silent).unwrap();
    generate(&grf(12), &GenerationSettings { compression: 6, ..s64.clone() }, &opts(&b), &Silent).unwrap();
    let fa = DatasetFile::open(&a).unwrap();
    let fb = DatasetFile::open(&b).unwrap();
    assert_eq!(fa.info().precision, Precision::F64);
    assert_eq!(fb.info().compression, 6);
    assert_eq!(fa.read_batch(0, 5).unwrap().fields, fb.read_batch(0, 5).unwrap().fields);
    // The stored f64 values are the solver's: re-sample index 2 directly and compare exactly.
    let direct = grf(12).sample(2, &mut oplab_datasets::sample_rng(42, 2)).unwrap().fields[0].clone();
    match &fa.read_batch(2, 1).unwrap().fields[0] {
        oplab_datasets::batch::Values::F64(v) => assert_eq!(v, &direct),
        other => panic!("expected f64, got {other:?}"),
    }
}

#[test]
fn reader_rejects_files_that_are_not_complete_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ok.h5");
    generate(&grf(16), &settings(6), &opts(&out), &Silent).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let cut = dir.path().join("cut.h5");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = DatasetFile::open(&cut).err().expect("truncated file must be refused");
    assert!(err.to_string().contains("truncated or corrupt"), "{err}");
    let text = dir.path().join("text.h5");
    std::fs::write(&text, b"hello").unwrap();
    assert!(DatasetFile::open(&text).err().unwrap().to_string().contains("not an HDF5 file"));
}

/// A process killed during final assembly leaves `OUT.tmp-<pid>`; the rerun removes exactly the
/// stale scratch files of its own output and nothing else.
#[test]
fn rerun_removes_stale_scratch_files_of_its_output_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grf.h5");
    // pid 0 is never a user process: a scratch file of a dead writer.
    let stale = dir.path().join("grf.h5.tmp-0");
    let live = dir.path().join("grf.h5.tmp-1");
    let unrelated = [dir.path().join("other.h5.tmp-0"), dir.path().join("grf.h5.tmp-notapid"), dir.path().join("grf.h5.bak")];
    for f in [&stale, &live].into_iter().chain(unrelated.iter()) {
        std::fs::write(f, b"scratch").unwrap();
    }
    generate(&grf(8), &settings(4), &opts(&out), &Silent).unwrap();
    assert!(!stale.exists(), "the dead writer's scratch file must go");
    assert!(live.exists(), "pid 1 (init) is alive: its file is not ours to remove");
    for f in &unrelated {
        assert!(f.exists(), "{} is not a scratch file of grf.h5", f.display());
    }
}

/// A file whose field is an external link to a file in another directory opens only when this
/// one open allows it, whatever the process-wide default.
#[test]
fn external_data_is_allowed_per_open() {
    use oplab_datasets::OpenOptions;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    let source = dir.path().join("outside/src.h5");
    generate(&grf(8), &settings(3), &opts(&source), &Silent).unwrap();
    let linked = dir.path().join("in/linked.h5");
    std::fs::copy(&source, &linked).unwrap();
    {
        let f = hdf5::File::open_rw(&linked).unwrap();
        let g = f.group("fields").unwrap();
        g.unlink("field").unwrap();
        g.link_external("../outside/src.h5", "/fields/field", "field").unwrap();
    }
    let refused = DatasetFile::open_with(&linked, OpenOptions { allow_external: false }).err().expect("an external link out of the directory is refused");
    assert!(refused.to_string().contains("external link"), "{refused}");
    let f = DatasetFile::open_with(&linked, OpenOptions { allow_external: true }).unwrap();
    assert_eq!(f.read_batch(0, 3).unwrap().fields, DatasetFile::open(&source).unwrap().read_batch(0, 3).unwrap().fields);
}
