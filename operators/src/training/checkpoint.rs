//! Crash-safe files: every write goes to a temporary file in the same directory, is fsynced,
//! then renamed over the target (and the directory fsynced), so a reader sees either the old or
//! the new file, never a torn one.
//!
//! A checkpoint is one file holding three length-prefixed parts: the model record, the
//! optimiser record (both burn's named MessagePack) and the run state (JSON), written together
//! so they can never disagree.

use std::io::Write;
use std::path::Path;

use crate::error::OperatorError;

const MAGIC: &[u8; 8] = b"OPLABCK1";

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Persist the rename itself.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        OperatorError::io(path, e)
    })
}

/// Packs the parts of a checkpoint.
pub fn pack(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend((parts.len() as u64).to_le_bytes());
    for p in parts {
        out.extend((p.len() as u64).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Unpacks a checkpoint written by [`pack`], checking its framing.
pub fn unpack(path: &Path, bytes: &[u8]) -> crate::Result<Vec<Vec<u8>>> {
    let bad = |m: &str| OperatorError::Checkpoint { path: path.to_path_buf(), message: m.into() };
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad("not an oplab checkpoint (bad header)"));
    }
    let read_u64 = |at: usize| -> Option<u64> { bytes.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))) };
    let n = read_u64(8).ok_or_else(|| bad("truncated"))? as usize;
    if n > 16 {
        return Err(bad("corrupt part count"));
    }
    let mut at = 16;
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        let len = read_u64(at).ok_or_else(|| bad("truncated"))? as usize;
        at += 8;
        let part = bytes.get(at..at.checked_add(len).ok_or_else(|| bad("corrupt length"))?).ok_or_else(|| bad("truncated"))?;
        parts.push(part.to_vec());
        at += len;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ck.bin");
        write_atomic(&p, &pack(&[b"abc", b"", b"xyz12"])).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(unpack(&p, &bytes).unwrap(), vec![b"abc".to_vec(), vec![], b"xyz12".to_vec()]);
        assert!(unpack(&p, &bytes[..bytes.len() - 1]).is_err());
        assert!(unpack(&p, b"garbage").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left behind");
    }
}
