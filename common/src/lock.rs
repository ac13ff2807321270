//! One writer per output: an advisory lock file next to what a command writes (`OUT.lock` for a
//! dataset file, a `train.lock` inside a run directory), so that a second `oplab` started on the
//! same output refuses at once instead of interleaving its writes with the first one's.
//!
//! The lock is the operating system's (`flock`, through [`std::fs::File::try_lock`]) on that
//! file: the kernel drops it when its process ends, `kill -9` included, so a lock can never
//! outlive its holder and a resumed run needs no clean-up by hand. The file's text only says who
//! holds it (pid, host, start time, command) for the refusal message; a file whose text names
//! a process that no longer holds the lock is stale and is taken over, and [`Lock::took_over`]
//! names that earlier owner for a one-line notice. The holder removes the file when it ends
//! normally (on drop, error paths included).
//!
//! Removal and a waiting opener race in one way: a second process may open the file just before
//! the holder unlinks it and then lock the unlinked inode. [`acquire`] therefore checks, once it
//! holds the lock, that the path still names the inode it locked, and starts over if not.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Who holds (or held) a lock, as its file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// Start time, RFC 3339 UTC.
    pub started: String,
    /// The command line.
    pub command: String,
}

impl Owner {
    /// This process.
    fn this_process() -> Self {
        let command = std::env::args().map(|a| if a.contains(char::is_whitespace) { format!("{a:?}") } else { a }).collect::<Vec<_>>().join(" ");
        Owner { pid: std::process::id(), host: host_name(), started: crate::time::now_rfc3339(), command }
    }

    /// The lock file's text.
    fn to_text(&self) -> String {
        // One `key = value` a line; the command goes last, so that it may hold any character.
        format!(
            "# oplab lock: this process writes the output next to this file; it removes the file when it ends\npid = {}\nhost = {}\nstarted = {}\ncommand = {}\n",
            self.pid,
            self.host,
            self.started,
            self.command.replace('\n', " ")
        )
    }

    /// The owner a lock file's text names; `None` for text that names none (empty: its writer
    /// had only just created the file).
    fn parse(text: &str) -> Option<Self> {
        let value = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(" = ")).map(str::to_string);
        Some(Owner { pid: value("pid")?.parse().ok()?, host: value("host")?, started: value("started")?, command: value("command")? })
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} on {}, started {}, running `{}`", self.pid, self.host, self.started, self.command)
    }
}

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("another process is writing it: {} (lock file {})", .owner.as_ref().map_or_else(|| "its owner is not recorded yet".to_string(), |o| o.to_string()), .path.display())]
    Held {
        /// The lock file.
        path: PathBuf,
        /// Its holder, where the file names one.
        owner: Option<Owner>,
    },
    /// The lock file could not be created, read or written.
    #[error("lock file {}: {source}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The file system does not implement file locks (some cluster file systems mounted without
    /// them); the caller decides whether to go on unprotected.
    #[error("lock file {}: the file system does not support file locks ({source})", .path.display())]
    Unsupported {
        /// The lock file.
        path: PathBuf,
        /// The system's answer.
        source: io::Error,
    },
}

/// A held lock; dropping it removes the lock file and releases the lock.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
    took_over: Option<Owner>,
}

impl Lock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The earlier owner whose stale lock file this lock took over (it had ended without
    /// removing the file: `kill -9`, a crash, a lost node).
    pub fn took_over(&self) -> Option<&Owner> {
        self.took_over.as_ref()
    }

    /// The one-line notice for a takeover, if there was one.
    pub fn notice(&self) -> Option<String> {
        self.took_over.as_ref().map(|o| format!("note: took over the stale lock {} of {o}, which no longer runs", self.path.display()))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Unlinked while still locked: a process that opened the file meanwhile finds, once it
        // gets the lock, that the path no longer names this inode, and starts over.
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// The lock file of output `out`: `out` with `.lock` appended.
pub fn lock_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Take the lock `path` (creating the file), without waiting: [`LockError::Held`] names the
/// holder when another process has it.
pub fn acquire(path: &Path) -> Result<Lock, LockError> {
    let io_err = |source| LockError::Io { path: path.to_path_buf(), source };
    // Each retry follows a holder that removed the file while this process was opening it; a
    // handful covers any real sequence of writers.
    for _ in 0..8 {
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held { path: path.to_path_buf(), owner: Owner::parse(&text) });
            }
            Err(fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported || e.raw_os_error() == Some(38) || e.raw_os_error() == Some(95) => {
                return Err(LockError::Unsupported { path: path.to_path_buf(), source: e });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }
        if !same_inode(&file, path) {
            continue;
        }
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io_err)?;
        let took_over = Owner::parse(&text);
        let me = Owner::this_process();
        file.set_len(0).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        file.write_all(me.to_text().as_bytes()).map_err(io_err)?;
        return Ok(Lock { file, path: path.to_path_buf(), took_over });
    }
    Err(io_err(io::Error::other("the lock file kept being replaced by other processes")))
}

/// Whether `path` still names the file `file` has open.
#[cfg(unix)]
fn same_inode(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Without inode numbers, trust that the path still names the file.
#[cfg(not(unix))]
fn same_inode(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// This machine's name (the kernel's, else `$HOSTNAME`, else `unknown host`).
fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_first_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir.path().join("out.h5"));
        assert_eq!(path, dir.path().join("out.h5.lock"));
        let first = acquire(&path).unwrap();
        assert!(first.took_over().is_none());
        // flock locks belong to an open file, so a second open in this process conflicts too.
        match acquire(&path) {
            Err(LockError::Held { owner: Some(owner), .. }) => {
                assert_eq!(owner.pid, std::process::id());
                assert_eq!(owner.host, host_name());
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let text = acquire(&path).unwrap_err().to_string();
        assert!(text.starts_with("another process is writing it: pid ") && text.contains("out.h5.lock"), "{text}");
        drop(first);
        assert!(!path.exists(), "the holder removes its lock file");
        let again = acquire(&path).unwrap();
        assert!(again.took_over().is_none());
    }

    #[test]
    fn a_file_left_by_a_dead_owner_is_taken_over_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let dead = Owner { pid: 0, host: "node7".into(), started: "2026-01-01T00:00:00Z".into(), command: "oplab generate grf --out x.h5".into() };
        fs::write(&path, dead.to_text()).unwrap();
        let lock = acquire(&path).unwrap();
        assert_eq!(lock.took_over(), Some(&dead));
        let notice = lock.notice().unwrap();
        assert!(notice.contains("pid 0 on node7") && notice.contains("oplab generate grf --out x.h5"), "{notice}");
        let now = Owner::parse(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(now.pid, std::process::id());
    }

    #[test]
    fn a_lock_of_a_removed_file_is_not_held() {
        // A holder that removed its file after another process opened it: the other process
        // must not count the lock of the unlinked inode as the output's lock.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let early = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).unwrap();
        fs::remove_file(&path).unwrap();
        early.try_lock().unwrap();
        assert!(!same_inode(&early, &path));
        let lock = acquire(&path).unwrap();
        assert!(same_inode(&lock.file, &path));
    }
}
