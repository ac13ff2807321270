//! Crash-safe files of a run, and the checkpoint format. Every write goes through
//! [`oplab_common::atomic`] (temporary sibling, fsync, rename, fsync of the directory), so a
//! reader sees either the old or the new file, never a torn one.
//!
//! A checkpoint is one file holding three length-prefixed parts: the model record, the
//! optimiser record (both burn's named MessagePack) and the run state (JSON), written together
//! so they can never disagree.

use std::path::Path;

use crate::error::OperatorError;

const MAGIC: &[u8; 8] = b"OPLABCK1";

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    oplab_common::atomic::write_atomically(path, bytes).map_err(|e| OperatorError::io(path, e))
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
