//! Crash-safe files: a file is written under a temporary sibling name, fsynced, renamed over its
//! target and the directory fsynced, so a reader (or a rerun after `kill -9`) sees either the old
//! file or the complete new one, never a torn one.
//!
//! Temporaries are named `<name>.tmp-<pid>`: unique per process, so two processes writing into
//! one directory never share one, and recognisable by [`is_temp_sibling`], so a resumed run can
//! clear what a killed one left behind.
//!
//! Errors are plain [`std::io::Error`]s; callers attach the target path in their own error type.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The marker between a target's name and the process id in its temporary's name.
const TEMP_MARKER: &str = ".tmp-";

/// Write `bytes` to `path` so that `path` either keeps its old content or holds all of `bytes`:
/// write [`temp_sibling`]`(path)`, fsync it, rename it over `path`, fsync the directory. The
/// temporary is removed when any step before the rename fails.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_sibling(path);
    let written = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        drop(file);
        commit(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Move a finished temporary into place: fsync `tmp`, rename it over `path`, fsync the directory
/// so that the rename itself survives a crash. For files that a library writes under
/// [`temp_sibling`] itself (an HDF5 file, say) before they are complete.
pub fn commit(tmp: &Path, path: &Path) -> io::Result<()> {
    fs::File::open(tmp)?.sync_all()?;
    fs::rename(tmp, path)?;
    sync_dir(parent_dir(path))
}

/// `path` with `.tmp-<pid>` appended.
pub fn temp_sibling(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!("{TEMP_MARKER}{}", std::process::id()));
    PathBuf::from(name)
}

/// Whether a file name is one [`temp_sibling`] makes (by any process): it ends in `.tmp-` and
/// digits.
pub fn is_temp_sibling(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.rsplit_once(TEMP_MARKER).is_some_and(|(stem, pid)| !stem.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Remove the temporaries of `out` ([`temp_sibling`]s, `OUT.tmp-<pid>`) that a process left when
/// it died while writing `out`, e.g. during an HDF5 file's final assembly. Only names of exactly
/// that pattern whose process no longer runs on this machine are touched: another file, or the
/// temporary of a live writer, is never removed.
pub fn remove_stale_temporaries(out: &Path) -> io::Result<()> {
    let Some(name) = out.file_name() else { return Ok(()) };
    let prefix = format!("{}{TEMP_MARKER}", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(parent_dir(out)) else { return Ok(()) };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_string_lossy().strip_prefix(&prefix).and_then(|pid| pid.parse::<u32>().ok()) else { continue };
        if pid == std::process::id() || !process_alive(pid) {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Whether process `pid` runs on this machine. Where that cannot be known (no `/proc`), every
/// process counts as running, so nothing is removed.
fn process_alive(pid: u32) -> bool {
    !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{pid}")).exists()
}

/// fsync a directory so that a rename inside it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// The directory holding `path`: its parent, or `.` for a bare file name.
pub fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_without_leaving_a_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.bin");
        write_atomically(&p, b"first").unwrap();
        write_atomically(&p, b"second, longer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second, longer");
        assert_eq!(names(dir.path()), ["state.bin"]);
    }

    #[test]
    fn a_failed_write_removes_its_temporary_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory in the target's place: the temporary is written, the rename over a
        // non-empty directory fails.
        let target = dir.path().join("taken");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"old").unwrap();
        assert!(write_atomically(&target, b"new").is_err());
        assert_eq!(names(dir.path()), ["taken"]);
        assert_eq!(fs::read(target.join("inside")).unwrap(), b"old");
        // A missing directory: nothing can be created, and the error says so.
        let err = write_atomically(&dir.path().join("missing").join("f"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn temporaries_are_recognised_by_name() {
        let t = temp_sibling(Path::new("dir/block-00000003.bin"));
        assert_eq!(t, PathBuf::from(format!("dir/block-00000003.bin.tmp-{}", std::process::id())));
        assert!(is_temp_sibling(t.file_name().unwrap()));
        assert!(is_temp_sibling(OsStr::new("manifest.toml.tmp-12")));
        for other in ["block-00000003.bin", "manifest.toml", "a.tmp-", "a.tmp-12x", ".tmp-12", "notes.tmp"] {
            assert!(!is_temp_sibling(OsStr::new(other)), "{other}");
        }
    }

    #[test]
    fn parent_of_a_bare_name_is_the_working_directory() {
        assert_eq!(parent_dir(Path::new("out.h5")), Path::new("."));
        assert_eq!(parent_dir(Path::new("runs/out.h5")), Path::new("runs"));
    }
}
