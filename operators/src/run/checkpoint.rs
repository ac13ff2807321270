//! Crash-safe files of a run, and the checkpoint format. Every write goes through
//! [`oplab_common::atomic`] (temporary sibling, fsync, rename, fsync of the directory), so a
//! reader sees either the old or the new file, never a torn one.
//!
//! A checkpoint is one file holding length-prefixed parts: the model record, the optimiser
//! record (both burn's named MessagePack, or the family's own encoding) and the run state
//! (JSON), written together so they can never disagree. Format 2 (`OPLABCK2`) ends in an FNV-1a
//! 64 checksum of everything before it, so a flipped or lost byte is found before any weight is
//! loaded; format 1 (`OPLABCK1`, no checksum) is still read, its framing checked as before.
//!
//! A kept model (`best_model.mpk`) is sealed the same way by [`seal`]: its bytes, then a
//! trailer of a marker and their checksum. burn's MessagePack reader stops at the end of the
//! record and ignores what follows, so a sealed file still loads with burn's own recorder; a file
//! without the trailer (written before the seal existed) is read unchecked.

use std::path::Path;

use oplab_common::checksum::fnv1a64;

use crate::error::OperatorError;

/// Format 1: framing only.
const MAGIC_V1: &[u8; 8] = b"OPLABCK1";
/// Format 2: framing and a trailing checksum.
const MAGIC: &[u8; 8] = b"OPLABCK2";
/// What every checkpoint format's magic starts with.
const MAGIC_STEM: &[u8; 7] = b"OPLABCK";
/// The marker before a sealed file's checksum.
const SEAL: &[u8; 8] = b"OPLSUM01";

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    oplab_common::atomic::write_atomically(path, bytes).map_err(|e| OperatorError::io(path, e))
}

/// Packs the parts of a checkpoint (format 2).
pub fn pack(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend((parts.len() as u64).to_le_bytes());
    for p in parts {
        out.extend((p.len() as u64).to_le_bytes());
        out.extend_from_slice(p);
    }
    let checksum = fnv1a64(&out);
    out.extend(checksum.to_le_bytes());
    out
}

/// Unpacks a checkpoint written by [`pack`] (or by format 1), checking its checksum and framing.
pub fn unpack(path: &Path, bytes: &[u8]) -> crate::Result<Vec<Vec<u8>>> {
    let bad = |m: &str| super::run_err(path, m);
    let corrupt = |why: &str| bad(&format!("is corrupt ({why}); its run cannot continue from it: restore it from a copy, or start the run again"));
    let body = match bytes.get(..8) {
        Some(m) if m == MAGIC => {
            if bytes.len() < 24 {
                return Err(corrupt("truncated"));
            }
            let (body, tail) = bytes.split_at(bytes.len() - 8);
            if fnv1a64(body) != u64::from_le_bytes(tail.try_into().unwrap_or_default()) {
                return Err(corrupt("checksum mismatch"));
            }
            body
        }
        Some(m) if m == MAGIC_V1 => bytes,
        Some(m) if m.starts_with(MAGIC_STEM) => {
            return Err(bad(&format!(
                "is checkpoint format {}, which this oplab does not read (it reads formats 1 and 2); use the oplab that wrote it",
                String::from_utf8_lossy(&m[7..])
            )))
        }
        _ => return Err(bad("not an oplab checkpoint (bad header)")),
    };
    let read_u64 = |at: usize| -> Option<u64> { body.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))) };
    let n = read_u64(8).ok_or_else(|| corrupt("truncated"))? as usize;
    if n > 16 {
        return Err(corrupt("part count"));
    }
    let mut at = 16;
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        let len = read_u64(at).ok_or_else(|| corrupt("truncated"))? as usize;
        at += 8;
        let part = body.get(at..at.checked_add(len).ok_or_else(|| corrupt("part length"))?).ok_or_else(|| corrupt("truncated"))?;
        parts.push(part.to_vec());
        at += len;
    }
    if at != body.len() {
        return Err(corrupt("bytes after the last part"));
    }
    Ok(parts)
}

/// `bytes` followed by the seal: a marker and their FNV-1a 64.
pub fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    let checksum = fnv1a64(&bytes);
    bytes.extend_from_slice(SEAL);
    bytes.extend(checksum.to_le_bytes());
    bytes
}

/// The bytes [`seal`] sealed, after checking them; bytes without a seal (a file from before
/// seals) come back as they are.
pub fn unseal(path: &Path, mut bytes: Vec<u8>) -> crate::Result<Vec<u8>> {
    let n = bytes.len();
    if n < 16 || &bytes[n - 16..n - 8] != SEAL {
        return Ok(bytes);
    }
    let stored = u64::from_le_bytes(bytes[n - 8..].try_into().unwrap_or_default());
    bytes.truncate(n - 16);
    if fnv1a64(&bytes) != stored {
        return Err(super::run_err(path, "is corrupt (checksum mismatch); restore it from a copy, or train the run again"));
    }
    Ok(bytes)
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

    #[test]
    fn every_flipped_byte_and_every_truncation_is_refused() {
        let p = Path::new("run/checkpoint.bin");
        let bytes = pack(&[b"model weights", b"moments", b"{\"epochs_done\":3}"]);
        for at in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut flipped = bytes.clone();
                flipped[at] ^= bit;
                let err = unpack(p, &flipped).expect_err(&format!("flip of byte {at}"));
                assert!(err.to_string().starts_with("run/checkpoint.bin: "), "{err}");
            }
        }
        for len in 0..bytes.len() {
            assert!(unpack(p, &bytes[..len]).is_err(), "truncated to {len} bytes");
        }
        let mut flipped = bytes.clone();
        flipped[30] ^= 0x10;
        let err = unpack(p, &flipped).unwrap_err().to_string();
        assert!(err.contains("is corrupt (checksum mismatch)"), "{err}");
    }

    #[test]
    fn format_1_is_still_read_and_later_formats_are_named() {
        let p = Path::new("checkpoint.bin");
        // Format 1 as it was written: magic, count, length-prefixed parts, nothing after.
        let mut v1 = MAGIC_V1.to_vec();
        v1.extend(2u64.to_le_bytes());
        for part in [&b"ab"[..], b"{}"] {
            v1.extend((part.len() as u64).to_le_bytes());
            v1.extend_from_slice(part);
        }
        assert_eq!(unpack(p, &v1).unwrap(), vec![b"ab".to_vec(), b"{}".to_vec()]);
        let mut v9 = pack(&[b"ab"]);
        v9[7] = b'9';
        let err = unpack(p, &v9).unwrap_err().to_string();
        assert!(err.contains("checkpoint format 9, which this oplab does not read"), "{err}");
    }

    #[test]
    fn sealed_files_are_checked_and_unsealed_ones_pass() {
        let p = Path::new("best_model.mpk");
        let record = b"\x82\xa4item\x01\xa7version\x02".to_vec();
        let sealed = seal(record.clone());
        assert_eq!(unseal(p, sealed.clone()).unwrap(), record);
        assert_eq!(unseal(p, record.clone()).unwrap(), record, "a file from before seals");
        for at in 0..record.len() {
            let mut flipped = sealed.clone();
            flipped[at] ^= 0x04;
            assert!(unseal(p, flipped).unwrap_err().to_string().contains("checksum mismatch"), "flip of byte {at}");
        }
    }
}
