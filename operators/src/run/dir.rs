//! A run directory: the files of one training run, each written atomically.
//!
//! Every model family keeps the same skeleton: `config.toml` (the fully resolved configuration,
//! whose `model` key names the family, so `oplab eval` needs no guessing), `checkpoint.bin` (the
//! state after the last finished epoch, in one framed file so its parts can never disagree),
//! `metrics.jsonl` (one record per epoch, a copy of the checkpointed history: rewritten from it
//! after every epoch and when a run resumes, so a resumed run never holds lines of epochs it
//! redoes and a truncated or edited copy is repaired, never read back), and whatever figures and records the family adds.
//! Every write goes through [`oplab_common::atomic`]: a reader, or a rerun after `kill -9`, sees
//! the old file or the complete new one, never a torn one.
//!
//! `config.toml` stays plain TOML, so a changed value would still parse; its SHA-256 is kept
//! beside it in `config.toml.sha256` (the format `sha256sum -c` checks), and every read of the
//! configuration (`--resume`, `eval`, `export`, every family) refuses a file that no longer
//! matches. A run written before the checksum (no such file) is read unchecked.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use oplab_common::checksum::fnv1a64;

use super::checkpoint;
use crate::error::OperatorError;

/// File names every run directory shares.
pub mod files {
    /// The fully resolved configuration; its `model` key names the run's family.
    pub const CONFIG: &str = "config.toml";
    /// The SHA-256 of [`CONFIG`]'s bytes, one `sha256sum` line (two for a moment while the
    /// configuration is replaced).
    pub const CONFIG_SUM: &str = "config.toml.sha256";
    /// The state after the last finished epoch.
    pub const CHECKPOINT: &str = "checkpoint.bin";
    /// One JSON record per finished epoch.
    pub const METRICS: &str = "metrics.jsonl";
    /// The evaluation summary written by `eval`.
    pub const EVAL: &str = "eval.json";
    /// Held by the `oplab train` that writes the run ([`oplab_common::lock`]), and by `oplab
    /// eval` and `oplab export` while they read it; gone when its holder ends.
    pub const LOCK: &str = "train.lock";
}

/// The files of one run. Creating the value touches nothing; [`RunDir::create`] makes the
/// directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// The run directory at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RunDir { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of file `name` inside it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Whether a training call finished at least one epoch here.
    pub fn has_checkpoint(&self) -> bool {
        self.file(files::CHECKPOINT).is_file()
    }

    /// Make the directory (and its parents) and clear the temporaries a killed writer left of
    /// its files.
    pub fn create(&self) -> crate::Result<()> {
        std::fs::create_dir_all(&self.path).map_err(|e| OperatorError::io(&self.path, e))?;
        let entries = std::fs::read_dir(&self.path).map_err(|e| OperatorError::io(&self.path, e))?;
        let mut targets: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| oplab_common::atomic::is_temp_sibling(&e.file_name()))
            .filter_map(|e| e.file_name().to_string_lossy().rsplit_once(".tmp-").map(|(stem, _)| self.file(stem)))
            .collect();
        targets.dedup();
        for target in targets {
            oplab_common::atomic::remove_stale_temporaries(&target).map_err(|e| OperatorError::io(&target, e))?;
        }
        Ok(())
    }

    /// The stored configuration's text, checked against its SHA-256 in [`files::CONFIG_SUM`]
    /// (where the run has one): a file edited or damaged since the run wrote it is refused, even
    /// where it still parses.
    pub fn read_config(&self) -> crate::Result<String> {
        let text = self.read_text(files::CONFIG)?;
        if !self.config_matches(text.as_bytes())? {
            return Err(run_err(
                &self.file(files::CONFIG),
                format!(
                    "differs from the SHA-256 in {} beside it (edited or damaged since `oplab train` wrote it); restore the file as the run wrote it, or start a new run",
                    files::CONFIG_SUM
                ),
            ));
        }
        Ok(text)
    }

    /// Store the resolved configuration, and its SHA-256 beside it.
    ///
    /// The two files cannot be replaced in one step, so the checksum file first accepts both the
    /// stored configuration (where it checks) and the new one, then the configuration is
    /// replaced, then only the new one is accepted: a process killed between any two steps
    /// leaves a pair that checks.
    pub fn write_config(&self, toml: &str) -> crate::Result<()> {
        let new = sha256_hex(toml.as_bytes());
        let line = |sum: &str| format!("{sum}  {}\n", files::CONFIG);
        if let Ok(old) = std::fs::read(self.file(files::CONFIG)) {
            let old_sum = sha256_hex(&old);
            if old_sum != new && self.config_matches(&old).unwrap_or(false) {
                self.write_bytes(files::CONFIG_SUM, (line(&new) + &line(&old_sum)).as_bytes())?;
            }
        }
        self.write_bytes(files::CONFIG, toml.as_bytes())?;
        self.write_bytes(files::CONFIG_SUM, line(&new).as_bytes())
    }

    /// Whether `config` (the bytes of a `config.toml`) is what [`files::CONFIG_SUM`] accepts;
    /// true where the run has no checksum file (written before it existed).
    fn config_matches(&self, config: &[u8]) -> crate::Result<bool> {
        let path = self.file(files::CONFIG_SUM);
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
            Err(e) => return Err(OperatorError::io(&path, e)),
        };
        // `sha256sum` lines: 64 lower-case hex digits, two spaces, the file name.
        let sums: Option<Vec<&[u8]>> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (sum, name) = (l.get(..64)?, l.get(64..)?);
                let hex = sum.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
                (hex && name == format!("  {}", files::CONFIG).as_bytes()).then_some(sum)
            })
            .collect();
        match sums {
            Some(sums) if !sums.is_empty() => Ok(sums.contains(&sha256_hex(config).as_bytes())),
            _ => Err(run_err(&path, format!("is corrupt (not the SHA-256 line of {}); restore it from a copy, or start a new run", files::CONFIG))),
        }
    }

    /// The family named by the stored configuration's `model` key.
    pub fn model(&self) -> crate::Result<String> {
        let path = self.file(files::CONFIG);
        let text = self.read_config()?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| run_err(&path, format!("is not valid TOML: {}", e.message())))?;
        match table.get("model").and_then(|m| m.as_str()) {
            Some(model) => Ok(model.to_string()),
            None => Err(run_err(&path, "names no model (no `model` key); it was not written by `oplab train`")),
        }
    }

    /// Write the checkpoint's parts together, atomically.
    pub fn write_checkpoint(&self, parts: &[&[u8]]) -> crate::Result<()> {
        self.write_bytes(files::CHECKPOINT, &checkpoint::pack(parts))
    }

    /// The checkpoint's parts, checking there are `expected` of them.
    pub fn read_checkpoint(&self, expected: usize) -> crate::Result<Vec<Vec<u8>>> {
        let path = self.file(files::CHECKPOINT);
        let bytes = std::fs::read(&path).map_err(|e| OperatorError::io(&path, e))?;
        let parts = checkpoint::unpack(&path, &bytes)?;
        if parts.len() != expected {
            return Err(run_err(&path, format!("holds {} parts; this run's checkpoints hold {expected}", parts.len())));
        }
        Ok(parts)
    }

    /// The run state a checkpoint stores as JSON (one of its parts); the error names the checkpoint.
    pub fn parse_state<S: DeserializeOwned>(&self, json: &[u8]) -> crate::Result<S> {
        serde_json::from_slice(json).map_err(|e| run_err(&self.file(files::CHECKPOINT), format!("run state unreadable: {e}")))
    }

    /// Rewrite `metrics.jsonl` from `records`, one JSON object a line.
    pub fn write_metrics<T: Serialize>(&self, records: &[T]) -> crate::Result<()> {
        let path = self.file(files::METRICS);
        let mut text = String::new();
        for r in records {
            text += &serde_json::to_string(r).map_err(|e| run_err(&path, e.to_string()))?;
            text.push('\n');
        }
        self.write_bytes(files::METRICS, text.as_bytes())
    }

    /// Store `value` as pretty JSON in file `name`.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> crate::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(|e| run_err(&self.file(name), e.to_string()))?;
        self.write_bytes(name, text.as_bytes())
    }

    /// Store `value` as JSON in file `name`, sealed with its checksum: for the files a run
    /// reads back its numbers from (the fitted normalisers, an AL-RNN's kept model), where a
    /// changed digit would otherwise pass unnoticed. The file stays JSON:
    /// `{"fnv1a64":"<16 hex digits>","content":<the value>}`, the checksum over the content's
    /// text.
    pub fn write_sealed_json<T: Serialize>(&self, name: &str, value: &T) -> crate::Result<()> {
        let content = serde_json::to_string_pretty(value).map_err(|e| run_err(&self.file(name), e.to_string()))?;
        let text = format!("{SEALED_JSON_HEAD}{:016x}{SEALED_JSON_MID}{content}}}", fnv1a64(content.as_bytes()));
        self.write_bytes(name, text.as_bytes())
    }

    /// Read file `name` written by [`RunDir::write_sealed_json`], checking its checksum; a plain
    /// JSON file (from before seals) is read as it is.
    pub fn read_sealed_json<T: DeserializeOwned>(&self, name: &str) -> crate::Result<T> {
        let path = self.file(name);
        let text = self.read_text(name)?;
        let corrupt = || run_err(&path, "is corrupt (checksum mismatch); restore it from a copy, or train the run again");
        let content = match text.strip_prefix(SEALED_JSON_HEAD) {
            None => {
                // A seal whose head was damaged still has one of its two keys: not a plain file.
                let damaged_seal = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.as_object().map(|o| o.len() == 2 && (o.contains_key("fnv1a64") || o.contains_key("content"))))
                    .unwrap_or(false);
                if damaged_seal {
                    return Err(corrupt());
                }
                text.as_str()
            }
            Some(rest) => {
                let sum = rest.get(..16).and_then(|hex| u64::from_str_radix(hex, 16).ok());
                let content = rest.get(16..).and_then(|r| r.strip_prefix(SEALED_JSON_MID)).and_then(|r| r.strip_suffix('}'));
                match (sum, content) {
                    (Some(sum), Some(content)) if fnv1a64(content.as_bytes()) == sum => content,
                    _ => return Err(corrupt()),
                }
            }
        };
        serde_json::from_str(content).map_err(|e| run_err(&path, format!("unreadable: {e}")))
    }

    /// Read file `name` as JSON.
    pub fn read_json<T: DeserializeOwned>(&self, name: &str) -> crate::Result<T> {
        let text = self.read_text(name)?;
        serde_json::from_str(&text).map_err(|e| run_err(&self.file(name), format!("unreadable: {e}")))
    }

    /// Write file `name` atomically.
    pub fn write_bytes(&self, name: &str, bytes: &[u8]) -> crate::Result<()> {
        checkpoint::write_atomic(&self.file(name), bytes)
    }

    /// Write file `name` atomically, sealed with a checksum ([`super::seal`]): for the
    /// kept model, which `eval` and `export` load.
    pub fn write_sealed(&self, name: &str, bytes: Vec<u8>) -> crate::Result<()> {
        self.write_bytes(name, &checkpoint::seal(bytes))
    }

    /// Read file `name` written by [`RunDir::write_sealed`], checking its checksum (a file from
    /// before seals is read as it is).
    pub fn read_sealed(&self, name: &str) -> crate::Result<Vec<u8>> {
        checkpoint::unseal(&self.file(name), self.read_bytes(name)?)
    }

    /// Read file `name`.
    pub fn read_bytes(&self, name: &str) -> crate::Result<Vec<u8>> {
        let path = self.file(name);
        std::fs::read(&path).map_err(|e| OperatorError::io(&path, e))
    }

    fn read_text(&self, name: &str) -> crate::Result<String> {
        let path = self.file(name);
        std::fs::read_to_string(&path).map_err(|e| OperatorError::io(&path, e))
    }
}

/// The SHA-256 of `bytes`, as 64 lower-case hex digits.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The text before a sealed JSON file's checksum, and between it and the content.
const SEALED_JSON_HEAD: &str = "{\"fnv1a64\":\"";
const SEALED_JSON_MID: &str = "\",\"content\":";

/// An unusable file of a run directory.
pub fn run_err(path: &Path, message: impl Into<String>) -> OperatorError {
    OperatorError::Checkpoint { path: path.to_path_buf(), message: message.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip_and_the_model_key_names_the_family() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path().join("run"));
        assert!(!run.has_checkpoint());
        run.create().unwrap();
        run.write_config("model = \"fno\"\nepochs = 3\n").unwrap();
        assert_eq!(run.model().unwrap(), "fno");
        run.write_checkpoint(&[b"model", b"", b"{}"]).unwrap();
        assert!(run.has_checkpoint());
        assert_eq!(run.read_checkpoint(3).unwrap(), vec![b"model".to_vec(), vec![], b"{}".to_vec()]);
        let err = run.read_checkpoint(4).unwrap_err().to_string();
        assert!(err.contains("holds 3 parts; this run's checkpoints hold 4"), "{err}");
        run.write_metrics(&[serde_json::json!({"epoch": 1}), serde_json::json!({"epoch": 2})]).unwrap();
        assert_eq!(std::fs::read_to_string(run.file(files::METRICS)).unwrap(), "{\"epoch\":1}\n{\"epoch\":2}\n");
        run.write_config("epochs = 3\n").unwrap();
        assert!(run.model().unwrap_err().to_string().contains("names no model"));
    }

    #[test]
    fn the_config_is_checked_against_its_sha256_and_rewrites_keep_the_pair_valid() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let text = "model = \"fno\"\nepochs = 3\n[optimizer]\nlr = 5e-4\n";
        run.write_config(text).unwrap();
        let sum = std::fs::read_to_string(run.file(files::CONFIG_SUM)).unwrap();
        // sha256sum's own format (`printf 'model = "fno"\nepochs = 3\n[optimizer]\nlr = 5e-4\n' | sha256sum`).
        assert_eq!(sum, format!("{}  config.toml\n", sha256_hex(text.as_bytes())));
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(run.read_config().unwrap(), text);
        // Another valid configuration in its place: refused, naming the file.
        std::fs::write(run.file(files::CONFIG), text.replace("5e-4", "6e-4")).unwrap();
        let err = run.read_config().unwrap_err().to_string();
        assert!(err.ends_with("config.toml: differs from the SHA-256 in config.toml.sha256 beside it (edited or damaged since `oplab train` wrote it); restore the file as the run wrote it, or start a new run"), "{err}");
        assert!(run.model().is_err());
        // A damaged checksum file is named.
        std::fs::write(run.file(files::CONFIG), text).unwrap();
        std::fs::write(run.file(files::CONFIG_SUM), sum.replacen(|c: char| c.is_ascii_hexdigit(), "g", 1)).unwrap();
        assert!(run.read_config().unwrap_err().to_string().contains("config.toml.sha256: is corrupt"));
        // A rewrite (--epochs extending a run) moves the checksum with the file; a kill between
        // the steps leaves the old file accepted by the two-line checksum file.
        std::fs::write(run.file(files::CONFIG_SUM), &sum).unwrap();
        let longer = text.replace("epochs = 3", "epochs = 5");
        run.write_config(&longer).unwrap();
        assert_eq!(run.read_config().unwrap(), longer);
        let two = format!("{}  config.toml\n{sum}", sha256_hex(longer.as_bytes()));
        std::fs::write(run.file(files::CONFIG_SUM), two).unwrap();
        std::fs::write(run.file(files::CONFIG), text).unwrap();
        assert_eq!(run.read_config().unwrap(), text, "killed after the first step");
        // A run from before the checksum is read unchecked.
        std::fs::remove_file(run.file(files::CONFIG_SUM)).unwrap();
        std::fs::write(run.file(files::CONFIG), &longer).unwrap();
        assert_eq!(run.read_config().unwrap(), longer);
    }

    #[test]
    fn sealed_json_is_checked_and_plain_json_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let value = serde_json::json!({"mean": [0.25, -1.5e-7], "eps": 1e-5});
        run.write_sealed_json("n.json", &value).unwrap();
        let text = std::fs::read_to_string(run.file("n.json")).unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap()["content"], value, "the file stays JSON");
        assert_eq!(run.read_sealed_json::<serde_json::Value>("n.json").unwrap(), value);
        for (at, _) in text.char_indices() {
            let mut bytes = text.clone().into_bytes();
            bytes[at] ^= 0x01;
            std::fs::write(run.file("n.json"), &bytes).unwrap();
            let err = run.read_sealed_json::<serde_json::Value>("n.json").expect_err(&format!("flip of byte {at}"));
            assert!(err.to_string().contains("n.json: "), "{err}");
        }
        run.write_json("plain.json", &value).unwrap();
        assert_eq!(run.read_sealed_json::<serde_json::Value>("plain.json").unwrap(), value);
    }

    #[test]
    fn creating_clears_temporaries_of_dead_writers_only() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        for name in ["checkpoint.bin.tmp-0", "metrics.jsonl.tmp-1", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        run.create().unwrap();
        assert!(!dir.path().join("checkpoint.bin.tmp-0").exists(), "pid 0 never runs a writer");
        assert!(dir.path().join("metrics.jsonl.tmp-1").exists(), "pid 1 is alive: not ours to remove");
        assert!(dir.path().join("notes.txt").exists());
    }
}
