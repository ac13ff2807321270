//! Target (a): the bytes of small valid oplab HDF5 files, opened by `oplab inspect` and, for
//! the training-ready Darcy file, by `oplab eval` (the reader path training uses:
//! `operators/src/data`), each in a subprocess.
//!
//! libhdf5 is C: a corrupted file can crash it with a signal, which no Rust code in the same
//! process can catch. The subprocess boundary is what protects the caller, so the harness runs
//! the real binary and judges its exit: a signal, a panic message, an exit code other than 0 or
//! 2, an error of more than one line, or a hang past [`TIMEOUT`] is a crash. A signal or a hang
//! is then attributed: the same input is opened again by the same library call in a child of
//! this test binary whose handler (module `fault`) names the code where it crashed or hung. A
//! crash or hang inside libhdf5 is reported as a libhdf5 crash (listed, saved, not failed: oplab
//! cannot fix the C library); anywhere else it fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::driver::{self, Budget, Verdict};
use crate::mutate::{mutate_bytes, Hotspots, Rng};

/// Longest run of one command on a file of a few kB (the debug build opens one in ~0.1 s).
const TIMEOUT: Duration = Duration::from_secs(5);

/// The seed files, in tests/fuzz/corpus/; the first is the training-ready Darcy file that
/// `oplab eval` also reads.
const SEEDS: [&str; 4] = ["darcy3.h5", "prose.h5", "ode.h5", "grf.h5"];

/// HDF5 metadata signatures (superblock, B-trees, heaps, symbol nodes, global heap, v2 object
/// headers and indices): mutations near them reach the parsers rather than sample values.
const SIGNATURES: [&[u8]; 14] =
    [b"\x89HDF", b"TREE", b"HEAP", b"SNOD", b"GCOL", b"OHDR", b"OCHK", b"FRHP", b"FHDB", b"FHIB", b"BTHD", b"BTLF", b"BTIN", b"FSHD"];

#[derive(Clone)]
struct Input {
    bytes: Vec<u8>,
    /// Index into [`SEEDS`] of the file it descends from.
    origin: usize,
}

fn hotspots(bytes: &[u8]) -> Vec<usize> {
    let mut out = vec![0];
    for sig in SIGNATURES {
        out.extend(bytes.windows(sig.len()).enumerate().filter(|(_, w)| w == &sig).map(|(i, _)| i));
    }
    out
}

/// How a subprocess ended.
struct Exit {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
    timed_out: bool,
}

fn run_with_timeout(mut cmd: Command, stderr_path: &Path) -> Exit {
    let stderr_file = std::fs::File::create(stderr_path).expect("create the stderr file");
    let mut child = cmd.stdout(Stdio::null()).stderr(stderr_file).stdin(Stdio::null()).spawn().expect("spawn a subprocess");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the subprocess") {
            break Some(status);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stderr = String::from_utf8_lossy(&std::fs::read(stderr_path).unwrap_or_default()).into_owned();
    use std::os::unix::process::ExitStatusExt;
    Exit { code: status.and_then(|s| s.code()), signal: status.and_then(|s| s.signal()), stderr, timed_out: status.is_none() }
}

struct Target {
    oplab: PathBuf,
    dir: tempfile::TempDir,
    run: PathBuf,
    seeds: Vec<Input>,
}

impl Target {
    fn new() -> Target {
        let corpus = crate::fuzz_dir().join("corpus");
        let seeds =
            SEEDS.iter().enumerate().map(|(origin, name)| Input { bytes: std::fs::read(corpus.join(name)).expect("readable seed file"), origin }).collect();
        let dir = tempfile::tempdir().expect("temporary directory");
        let oplab = PathBuf::from(env!("CARGO_BIN_EXE_oplab"));
        // A tiny trained MgNO run on the seed Darcy file, for `oplab eval` to read mutants with.
        let run = dir.path().join("run");
        let status = Command::new(&oplab)
            .args(["train", "mgno", "--quiet", "--data"])
            .arg(corpus.join(SEEDS[0]))
            .arg("--config")
            .arg(corpus.join("train-mgno-tiny.toml"))
            .arg("--out")
            .arg(&run)
            .status()
            .expect("run oplab train");
        assert!(status.success(), "training the run that `oplab eval` fuzzes with failed");
        Target { oplab, dir, run, seeds }
    }

    fn commands(&self, input: &Input, file: &Path) -> Vec<(&'static str, Command)> {
        let mut inspect = Command::new(&self.oplab);
        inspect.arg("inspect").arg(file);
        let mut out = vec![("inspect", inspect)];
        if input.origin == 0 {
            let mut eval = Command::new(&self.oplab);
            eval.args(["eval", "--quiet", "--run"]).arg(&self.run).arg("--data").arg(file);
            out.push(("eval", eval));
        }
        out
    }

    fn exec(&self, input: &Input) -> Verdict {
        let file = self.dir.path().join("input.h5");
        std::fs::write(&file, &input.bytes).expect("write the input file");
        let mut verdict = Verdict::Accepted;
        for (name, cmd) in self.commands(input, &file) {
            let exit = run_with_timeout(cmd, &self.dir.path().join("stderr.txt"));
            match judge(name, &exit) {
                Judged::Ok => {}
                Judged::Refused => verdict = Verdict::Rejected,
                Judged::Crash(what) => return Verdict::Crash(what),
                Judged::Signal(signal) => return self.attribute(name, &format!("signal {signal}"), &file),
                Judged::Hang => return self.attribute(name, &format!("hang (still running after {} s)", TIMEOUT.as_secs()), &file),
            }
        }
        verdict
    }

    /// Re-run the library call of `command` on `file` in a child of this test binary that names
    /// the shared object of a faulting instruction.
    fn attribute(&self, command: &str, what: &str, file: &Path) -> Verdict {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut cmd = Command::new(exe);
        cmd.args(["--exact", "hdf5::fault_attribution_child", "--ignored", "--nocapture", "--test-threads=1"])
            .env("FUZZ_CHILD", command)
            .env("FUZZ_FILE", file)
            .env("FUZZ_RUN", &self.run);
        let exit = run_with_timeout(cmd, &self.dir.path().join("child-stderr.txt"));
        let fault = exit.stderr.lines().find_map(|l| l.strip_prefix("fault-in: ")).map(str::to_string);
        match fault {
            Some(place) if place.split(" | ").next().is_some_and(|culprit| culprit.contains("libhdf5")) => {
                Verdict::LibraryCrash(format!("`oplab {command}`: {what}, in {place}"))
            }
            Some(place) => Verdict::Crash(format!("`oplab {command}`: {what}, in {place}")),
            None => Verdict::Crash(format!("`oplab {command}`: {what} (not attributed: the library call alone ended with {:?}/{:?})", exit.code, exit.signal)),
        }
    }
}

enum Judged {
    Ok,
    Refused,
    Crash(String),
    Signal(i32),
    Hang,
}

fn judge(command: &str, exit: &Exit) -> Judged {
    if exit.timed_out {
        return Judged::Hang;
    }
    if let Some(at) = exit.stderr.find("panicked at ") {
        // Where and why, without the thread id, so that one bug is reported once.
        let rest = &exit.stderr[at..];
        let mut lines = rest.lines();
        let place = lines.next().unwrap_or_default();
        return Judged::Crash(format!("`oplab {command}` panics: {place} {}", lines.next().unwrap_or_default()));
    }
    if let Some(signal) = exit.signal {
        return Judged::Signal(signal);
    }
    match exit.code {
        Some(0) => Judged::Ok,
        Some(2) if exit.stderr.trim_end().lines().count() == 1 && exit.stderr.starts_with("error: ") => Judged::Refused,
        Some(2) => Judged::Crash(format!("`oplab {command}` refuses the file with an error that is not one line: {:?}", exit.stderr)),
        code => Judged::Crash(format!("`oplab {command}` exits with {code:?}: {:?}", exit.stderr)),
    }
}

/// Unsigned attribute values at the edges: zero, one, the sample count's neighbours, sizes whose
/// allocation fails, the largest values.
const HOSTILE_U64: [u64; 10] = [0, 1, 2, 4, 1 << 20, 1 << 32, 1 << 40, 1 << 62, i64::MAX as u64, u64::MAX];
/// The unsigned attributes of a native file.
const U64_ATTRIBUTES: [&str; 5] = ["n_samples", "oplab_schema", "seed", "sample_offset", "total_samples"];
/// String attribute values: empty, the valid words of other attributes, malformed shard specs,
/// a long value, control characters.
const HOSTILE_STRINGS: [&str; 20] = [
    "",
    "f16",
    "f32",
    "f64",
    "input",
    "target",
    "context",
    "none",
    "sample",
    "sample,x",
    "sample,x,y,z,w",
    "1/0",
    "0/0",
    "3/2",
    "2/2",
    "18446744073709551615/18446744073709551615",
    "a/b",
    "darcy",
    "prose-ode",
    "x\u{0}y\n\u{7f}é",
];
/// Shapes of an added dataset (the first axis is the sample axis where the reader expects one).
const HOSTILE_SHAPES: [&[usize]; 9] = [&[0], &[3], &[3, 17, 17], &[3, 5, 5], &[3, 0, 17], &[1 << 40], &[3, 1 << 30, 1 << 30], &[4, 17, 17], &[3, 17, 17, 2]];

/// Structure-aware edits, made with libhdf5 on a pristine seed (a mutated file could crash this
/// process): attributes set to hostile values or deleted, members unlinked, datasets added with
/// hostile shapes and types. These reach oplab's own checks (schema version, sample counts,
/// shapes, roles, shard attributes) that byte mutations mostly cannot get past libhdf5 to.
fn edit(rng: &mut Rng, seed: &[u8], scratch: &Path) -> Option<Vec<u8>> {
    std::fs::write(scratch, seed).ok()?;
    {
        let file = hdf5::File::open_rw(scratch).ok()?;
        for _ in 0..1 + rng.below(3) {
            let _ = edit_once(rng, &file);
        }
    }
    std::fs::read(scratch).ok()
}

fn edit_once(rng: &mut Rng, file: &hdf5::File) -> hdf5::Result<()> {
    use hdf5::types::VarLenUnicode;
    let members = |group: &str| file.group(group).and_then(|g| g.member_names()).unwrap_or_default();
    // A location: the root, or a member of one of the schema's groups.
    let groups = ["fields", "scalars", "dimensions", "symbolic"];
    let group = *rng.pick(&groups);
    let names = members(group);
    let dataset = (!names.is_empty()).then(|| format!("{group}/{}", rng.pick(&names)));
    let loc: hdf5::Location = match &dataset {
        Some(path) if rng.chance(2) => (**file.dataset(path)?).clone(),
        _ => (***file).clone(),
    };
    let set_u64 = |name: &str, v: u64| -> hdf5::Result<()> {
        let _ = loc.delete_attr(name);
        loc.new_attr::<u64>().create(name)?.write_scalar(&v)
    };
    let set_str = |name: &str, v: &str| -> hdf5::Result<()> {
        let _ = loc.delete_attr(name);
        let v: VarLenUnicode = v.parse().map_err(|e| hdf5::Error::from(format!("{e}")))?;
        loc.new_attr::<VarLenUnicode>().create(name)?.write_scalar(&v)
    };
    match rng.below(6) {
        0 => set_u64(U64_ATTRIBUTES[rng.below(U64_ATTRIBUTES.len())], *rng.pick(&HOSTILE_U64)),
        1 => {
            let name = *rng.pick(&["precision", "problem", "config", "shard", "role", "axes", "description", "virtual_parts", "oplab_schema", "n_samples"]);
            if rng.chance(8) {
                set_str(name, &"x".repeat(1 << 16))
            } else {
                set_str(name, HOSTILE_STRINGS[rng.below(HOSTILE_STRINGS.len())])
            }
        }
        2 => {
            let names = loc.attr_names()?;
            if names.is_empty() {
                return Ok(());
            }
            loc.delete_attr(rng.pick(&names).as_str())
        }
        3 => match &dataset {
            Some(path) => file.unlink(path),
            None => file.unlink(group),
        },
        _ => {
            // A dataset added (or replacing one), chunked so that even an absurd shape takes
            // no space in the file: only a reader that allocates what the header claims fails.
            let g = match file.group(group) {
                Ok(g) => g,
                Err(_) => file.create_group(group)?,
            };
            let name = if rng.chance(2) && !names.is_empty() { rng.pick(&names).clone() } else { "extra".to_string() };
            let _ = g.unlink(&name);
            let shape = rng.pick(&HOSTILE_SHAPES).to_vec();
            let chunk: Vec<usize> = shape.iter().map(|&n| n.clamp(1, 16)).collect();
            // Mostly the seeds' own type (f32), which gets past the precision check.
            let ds = match rng.below(8) {
                0 | 1 => g.new_dataset::<f64>().shape(shape).chunk(chunk).create(name.as_str())?,
                2 => g.new_dataset::<i32>().shape(shape).chunk(chunk).create(name.as_str())?,
                3 => g.new_dataset::<VarLenUnicode>().shape(shape).chunk(chunk).create(name.as_str())?,
                _ => g.new_dataset::<f32>().shape(shape).chunk(chunk).create(name.as_str())?,
            };
            let role: VarLenUnicode = rng.pick(&["input", "target", "context"]).parse().map_err(|e| hdf5::Error::from(format!("{e}")))?;
            ds.new_attr::<VarLenUnicode>().create("role")?.write_scalar(&role)
        }
    }
}

impl Target {
    fn mutate(&self, rng: &mut Rng, input: &mut Input, other: &Input) -> &'static str {
        if rng.chance(3) {
            let seed = &self.seeds[rng.below(self.seeds.len())];
            if let Some(bytes) = edit(rng, &seed.bytes, &self.dir.path().join("edit.h5")) {
                *input = Input { bytes, origin: seed.origin };
                return "structural edit of a seed";
            }
        }
        mutate(rng, input, other)
    }
}

fn mutate(rng: &mut Rng, input: &mut Input, other: &Input) -> &'static str {
    let hot = hotspots(&input.bytes);
    // Splices only between descendants of the same file keep offsets roughly meaningful.
    let other: &[u8] = if other.origin == input.origin { &other.bytes } else { &[] };
    mutate_bytes(rng, &mut input.bytes, other, &Hotspots(&hot), 1 << 17)
}

fn save(input: &Input, path: &Path) {
    std::fs::write(path.with_extension("h5"), &input.bytes).expect("write the crashing input");
}

#[test]
#[ignore = "fuzzing, 30 s: run by `make test` (--ignored) and scripts/fuzz.sh"]
fn fuzz_hdf5_files() {
    let target = Target::new();
    let budget = Budget::from_env(0x4df5);
    let summary = driver::run("hdf5", &budget, target.seeds.clone(), |rng, input, other| target.mutate(rng, input, other), |input| target.exec(input), save);
    driver::assert_no_crash("hdf5", &summary);
    assert!(summary.accepted > 0, "no mutated file was accepted: the mutations never left a file readable");
}

/// A regression input: a seed file with bytes replaced, written as text (`seed <file>`, then one
/// `<offset> <byte>` per line) so that a one-byte crash costs a few bytes in the repository.
fn patched(name: &str, text: &[u8]) -> Input {
    let text = String::from_utf8_lossy(text);
    let mut lines = text.lines();
    let seed = lines.next().and_then(|l| l.strip_prefix("seed ")).unwrap_or_else(|| panic!("{name}: first line must be `seed <file>`"));
    assert!(SEEDS.contains(&seed), "{name}: unknown seed {seed}");
    let mut bytes = std::fs::read(crate::fuzz_dir().join("corpus").join(seed)).expect("readable seed file");
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let (offset, byte) = line
            .split_once(' ')
            .and_then(|(o, b)| Some((o.parse::<usize>().ok()?, b.parse::<u8>().ok()?)))
            .unwrap_or_else(|| panic!("{name}: bad line {line:?}"));
        bytes[offset] = byte;
    }
    // Origin 0: `oplab eval` reads every regression input too, whatever its seed.
    Input { bytes, origin: 0 }
}

/// The seed files are read without complaint; every input under tests/fuzz/regressions/hdf5-*
/// is refused or read without a crash; and the inputs that crash or hang libhdf5 itself
/// (regressions/libhdf5-*, one changed byte of a seed each) are still contained by the
/// subprocess and attributed to libhdf5, never to oplab's code.
#[test]
fn hdf5_regressions() {
    let target = Target::new();
    for seed in &target.seeds {
        assert!(matches!(target.exec(seed), Verdict::Accepted), "seed file {} is not read", SEEDS[seed.origin]);
    }
    // Byte edits of a seed as `*.patch`; structural edits, which move many bytes, as whole files.
    let whole = crate::regressions("hdf5-", "h5").into_iter().map(|(name, bytes)| (name, Input { bytes, origin: 0 }));
    for (name, input) in crate::regressions("hdf5-", "patch").into_iter().map(|(name, text)| (name.clone(), patched(&name, &text))).chain(whole) {
        match target.exec(&input) {
            Verdict::Crash(what) => panic!("{name}: {what}"),
            Verdict::LibraryCrash(what) => panic!("{name}: {what} (a regression input must not crash libhdf5 through oplab)"),
            Verdict::Accepted | Verdict::Rejected => {}
        }
    }
    let whole = crate::regressions("libhdf5-", "h5").into_iter().map(|(name, bytes)| (name, Input { bytes, origin: 0 }));
    for (name, input) in crate::regressions("libhdf5-", "patch").into_iter().map(|(name, text)| (name.clone(), patched(&name, &text))).chain(whole) {
        // A libhdf5 that no longer crashes on the input would refuse it: also fine.
        if let Verdict::Crash(what) = target.exec(&input) {
            panic!("{name}: {what}");
        }
    }
}

/// The attribution child (see the module comment): does nothing unless `FUZZ_CHILD` names
/// the command whose library call to repeat.
#[test]
#[ignore = "helper process of the hdf5 fuzz target"]
fn fault_attribution_child() {
    let Ok(command) = std::env::var("FUZZ_CHILD") else { return };
    let file = PathBuf::from(std::env::var("FUZZ_FILE").expect("FUZZ_FILE"));
    fault::install();
    match command.as_str() {
        "inspect" => {
            let _ = oplab_datasets::inspect(&file).map(|report| report.to_string());
        }
        "eval" => {
            use oplab_operators::run::{EvalOptions, RunDir};
            let run = RunDir::new(std::env::var("FUZZ_RUN").expect("FUZZ_RUN"));
            let kind = oplab_operators::registry::run_kind(&run.model().expect("the run's model")).expect("a known model");
            let _ = kind.evaluate(&run, &file, &EvalOptions::default(), oplab_operators::DeviceKind::Cpu, &oplab_datasets::Silent);
        }
        other => panic!("unknown child command {other}"),
    }
}

/// A fault handler that names where a crash or a hang happened and exits: only ever installed in
/// the attribution child. The place is the first frame, from the faulting instruction outwards,
/// that is not in the C library (a `memcpy` that libhdf5 calls with a corrupted length is
/// libhdf5's fault); a hang is interrupted by a signal after [`HANG_SECONDS`] and attributed the
/// same way.
mod fault {
    /// Seconds after which the child reports where it is (less than the parent's timeout).
    pub const HANG_SECONDS: u64 = 3;

    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    pub fn install() {
        extern "C" {
            // glibc's execinfo.h.
            fn backtrace(buffer: *mut *mut libc::c_void, size: libc::c_int) -> libc::c_int;
        }

        /// The shared object and nearest symbol of `address`, appended to `line`; whether the
        /// object is the C library.
        unsafe fn describe(address: *mut libc::c_void, line: &mut Vec<u8>) -> bool {
            let mut info: libc::Dl_info = std::mem::zeroed();
            if libc::dladdr(address, &mut info) == 0 || info.dli_fname.is_null() {
                line.extend_from_slice(b"unknown");
                return false;
            }
            let object = std::ffi::CStr::from_ptr(info.dli_fname).to_bytes();
            line.extend_from_slice(object);
            if !info.dli_sname.is_null() {
                line.push(b' ');
                line.extend_from_slice(std::ffi::CStr::from_ptr(info.dli_sname).to_bytes());
            }
            object.windows(7).any(|w| w == b"libc.so")
        }

        extern "C" fn on_fault(_sig: libc::c_int, _info: *mut libc::siginfo_t, context: *mut libc::c_void) {
            // SAFETY: the kernel passes a valid ucontext_t to an SA_SIGINFO handler; backtrace,
            // dladdr and write get valid buffers, and the process ends right after.
            unsafe {
                let uc = context as *const libc::ucontext_t;
                let pc = (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as *mut libc::c_void;
                let mut frames = [std::ptr::null_mut(); 128];
                let n = backtrace(frames.as_mut_ptr(), frames.len() as libc::c_int).max(0) as usize;
                let from = frames[..n].iter().position(|&f| f == pc).unwrap_or(n);
                let mut line = b"fault-in: ".to_vec();
                let mut place = Vec::new();
                let mut culprit = None;
                // A fault inside a leaf routine of the C library (memcpy with a corrupted length)
                // leaves its caller's return address on top of the stack; the unwinder does not
                // always get past such a frame into libhdf5, so look there first.
                let mut probe = Vec::new();
                if describe(pc, &mut probe) {
                    let sp = (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] as *const *mut libc::c_void;
                    let mut caller = Vec::new();
                    if !sp.is_null() && !describe(*sp, &mut caller) && caller.windows(7).any(|w| w == b"libhdf5") {
                        culprit = Some(caller);
                    }
                }
                for &frame in frames[from..n].iter().chain(std::iter::once(&pc)).take_while(|_| culprit.is_none()) {
                    place.clear();
                    if !describe(frame, &mut place) {
                        culprit = Some(place.clone());
                        break;
                    }
                }
                line.extend_from_slice(&culprit.unwrap_or(place));
                line.extend_from_slice(b" | faulting instruction in ");
                describe(pc, &mut line);
                line.push(b'\n');
                libc::write(2, line.as_ptr() as *const libc::c_void, line.len());
                libc::_exit(86);
            }
        }
        // SAFETY: loading the unwinder now, outside any handler (its first use allocates).
        unsafe {
            let mut warm = [std::ptr::null_mut(); 4];
            backtrace(warm.as_mut_ptr(), 4);
        }
        // SIGABRT too: an abort names its caller (Rust's failed allocation, or libhdf5).
        for sig in [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL, libc::SIGABRT, libc::SIGALRM] {
            // SAFETY: a zeroed sigaction with a valid handler and flags is a valid argument.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_fault as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO;
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
        // The alarm for a hang goes to this thread (the one calling the library), not to
        // whichever thread the process-wide `alarm` would pick.
        // SAFETY: pthread_self has no preconditions.
        let caller = unsafe { libc::pthread_self() };
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(HANG_SECONDS));
            // SAFETY: `caller` is alive: the process exits when the library call returns.
            unsafe {
                libc::pthread_kill(caller, libc::SIGALRM);
            }
        });
    }

    /// Elsewhere a crash stays unattributed, and the fuzz test fails on it.
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    pub fn install() {}
}
