//! Crash-safe storage of finished samples while a run is in progress.
//!
//! A run writing `out.h5` keeps its finished work in the directory `out.h5.partial/`: a
//! `manifest.toml` describing the run, and one file per finished block of samples. Each block file
//! is written to a temporary name, fsynced and renamed, so after a `kill -9` at any moment every
//! `block-*.bin` that exists is complete. A rerun with the same manifest skips those blocks; the
//! final HDF5 file is assembled from the blocks only when all exist.
//!
//! Block file layout (little endian): magic `OPLBLK01`, block index, first sample, sample count,
//! payload length (u64 each), the payload (per sample: each field's values, each scalar's values,
//! each text as u64 length + UTF-8), then an FNV-1a 64 checksum of everything before it.

use std::fs;
use std::path::{Path, PathBuf};

use oplab_common::atomic;
use oplab_common::checksum::fnv1a64;

use crate::batch::{Batch, Values};
use crate::error::{DatasetError, Result};
use crate::schema::Schema;
use crate::settings::Precision;

const MAGIC: &[u8; 8] = b"OPLBLK01";
const HEADER_LEN: usize = 8 + 4 * 8;
const MANIFEST: &str = "manifest.toml";

/// The partial-run directory of an output file.
#[derive(Debug)]
pub struct PartialRun {
    dir: PathBuf,
}

/// The partial-run directory that belongs to output `out`: `out` with `.partial` appended.
pub fn partial_dir(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

impl PartialRun {
    /// Open the partial run of `out` if its manifest equals `manifest`, or start a new one.
    /// A partial run with a different manifest is an error unless `discard_mismatch`, in which
    /// case it is deleted first.
    pub fn open_or_create(out: &Path, manifest: &str, discard_mismatch: bool) -> Result<Self> {
        let dir = partial_dir(out);
        if dir.exists() {
            let path = dir.join(MANIFEST);
            let existing = fs::read_to_string(&path).unwrap_or_default();
            if existing == manifest {
                let run = PartialRun { dir };
                run.remove_temporaries()?;
                return Ok(run);
            }
            if !discard_mismatch {
                return Err(DatasetError::ResumeMismatch { path: dir, difference: first_difference(&existing, manifest) });
            }
            fs::remove_dir_all(&dir).map_err(|e| DatasetError::io(&dir, e))?;
        }
        fs::create_dir(&dir).map_err(|e| DatasetError::io(&dir, e))?;
        write_atomically(&dir.join(MANIFEST), manifest.as_bytes())?;
        Ok(PartialRun { dir })
    }

    /// Open the partial run of `out` that another process created with exactly `manifest`
    /// (used by the non-root ranks of a distributed run).
    pub fn open_existing(out: &Path, manifest: &str) -> Result<Self> {
        let dir = partial_dir(out);
        let existing = fs::read_to_string(dir.join(MANIFEST)).map_err(|e| DatasetError::io(dir.join(MANIFEST), e))?;
        if existing != manifest {
            return Err(DatasetError::ResumeMismatch { path: dir, difference: first_difference(&existing, manifest) });
        }
        Ok(PartialRun { dir })
    }

    /// The directory holding the blocks.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn block_path(&self, block: u64) -> PathBuf {
        self.dir.join(format!("block-{block:08}.bin"))
    }

    /// Whether block `block` is finished: its file exists and its length matches its header.
    pub fn has_block(&self, block: u64) -> bool {
        let path = self.block_path(block);
        let Ok(meta) = fs::metadata(&path) else { return false };
        let Ok(mut file) = fs::File::open(&path) else { return false };
        let mut header = [0u8; HEADER_LEN];
        if std::io::Read::read_exact(&mut file, &mut header).is_err() || &header[..8] != MAGIC {
            return false;
        }
        let payload = u64::from_le_bytes(header[32..40].try_into().unwrap());
        meta.len() == HEADER_LEN as u64 + payload + 8
    }

    /// Store a finished block durably (temp file, fsync, rename, fsync directory).
    pub fn write_block(&self, block: u64, batch: &Batch) -> Result<()> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        for v in [block, batch.start, batch.count, 0] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        encode_payload(batch, &mut bytes);
        let payload_len = (bytes.len() - HEADER_LEN) as u64;
        bytes[32..40].copy_from_slice(&payload_len.to_le_bytes());
        let checksum = fnv1a64(&bytes);
        bytes.extend_from_slice(&checksum.to_le_bytes());
        write_atomically(&self.block_path(block), &bytes)
    }

    /// Read and verify a finished block.
    pub fn read_block(&self, block: u64, schema: &Schema, precision: Precision) -> Result<Batch> {
        let path = self.block_path(block);
        let bytes = fs::read(&path).map_err(|e| DatasetError::io(&path, e))?;
        let corrupt =
            |why: &str| DatasetError::invalid_file(&path, format!("block file is corrupt ({why}); delete it and rerun the same command to regenerate it"));
        if bytes.len() < HEADER_LEN + 8 || &bytes[..8] != MAGIC {
            return Err(corrupt("bad header"));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        if fnv1a64(body) != u64::from_le_bytes(tail.try_into().unwrap()) {
            return Err(corrupt("checksum mismatch"));
        }
        let word = |i: usize| u64::from_le_bytes(body[8 + 8 * i..16 + 8 * i].try_into().unwrap());
        if word(0) != block {
            return Err(corrupt("block index mismatch"));
        }
        let (start, count) = (word(1), word(2));
        decode_payload(schema, precision, start, count, &body[HEADER_LEN..]).ok_or_else(|| corrupt("payload does not match the schema"))
    }

    /// Delete the whole partial run (after the final file is in place).
    pub fn remove(self) -> Result<()> {
        fs::remove_dir_all(&self.dir).map_err(|e| DatasetError::io(&self.dir, e))
    }

    fn remove_temporaries(&self) -> Result<()> {
        let entries = fs::read_dir(&self.dir).map_err(|e| DatasetError::io(&self.dir, e))?;
        for entry in entries.flatten() {
            if atomic::is_temp_sibling(&entry.file_name()) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }
}

/// Count finished blocks of the partial run of `out` without opening it for writing
/// (used by `inspect` on an unfinished output). Returns `None` if there is no partial run.
pub fn count_finished_blocks(out: &Path) -> Option<(u64, String)> {
    let dir = partial_dir(out);
    let manifest = fs::read_to_string(dir.join(MANIFEST)).ok()?;
    let run = PartialRun { dir: dir.clone() };
    let count = fs::read_dir(&dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let idx = name.strip_prefix("block-")?.strip_suffix(".bin")?.parse::<u64>().ok()?;
            Some(idx)
        })
        .filter(|&b| run.has_block(b))
        .count() as u64;
    Some((count, manifest))
}

fn encode_payload(batch: &Batch, out: &mut Vec<u8>) {
    let count = batch.count as usize;
    // Sample-major order keeps one sample's data together in the file, so decoding a sample
    // range only needs the per-sample sizes.
    let field_len: Vec<usize> = batch.fields.iter().map(|v| v.len() / count.max(1)).collect();
    let scalar_len: Vec<usize> = batch.scalars.iter().map(|v| v.len() / count.max(1)).collect();
    for s in 0..count {
        for (values, &len) in batch.fields.iter().zip(&field_len) {
            write_range(values, s * len, len, out);
        }
        for (values, &len) in batch.scalars.iter().zip(&scalar_len) {
            write_range(values, s * len, len, out);
        }
        for texts in &batch.texts {
            let t = texts[s].as_bytes();
            out.extend_from_slice(&(t.len() as u64).to_le_bytes());
            out.extend_from_slice(t);
        }
    }
}

fn write_range(values: &Values, offset: usize, len: usize, out: &mut Vec<u8>) {
    match values {
        Values::F32(v) => v[offset..offset + len].iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Values::F64(v) => v[offset..offset + len].iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
    }
}

fn decode_payload(schema: &Schema, precision: Precision, start: u64, count: u64, mut bytes: &[u8]) -> Option<Batch> {
    let n = usize::try_from(count).ok()?;
    let mut fields: Vec<Values> = (0..schema.fields.len()).map(|f| Values::with_capacity(precision, n * schema.field_len(f))).collect();
    let mut scalars: Vec<Values> = (0..schema.scalars.len()).map(|s| Values::with_capacity(precision, n * schema.scalar_len(s))).collect();
    let mut texts: Vec<Vec<String>> = vec![Vec::with_capacity(n); schema.texts.len()];
    for _ in 0..n {
        for (f, dst) in fields.iter_mut().enumerate() {
            let (vals, rest) = Values::read_le(precision, schema.field_len(f), bytes)?;
            append(dst, vals);
            bytes = rest;
        }
        for (s, dst) in scalars.iter_mut().enumerate() {
            let (vals, rest) = Values::read_le(precision, schema.scalar_len(s), bytes)?;
            append(dst, vals);
            bytes = rest;
        }
        for dst in texts.iter_mut() {
            if bytes.len() < 8 {
                return None;
            }
            let len = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().ok()?)).ok()?;
            bytes = &bytes[8..];
            if bytes.len() < len {
                return None;
            }
            dst.push(String::from_utf8(bytes[..len].to_vec()).ok()?);
            bytes = &bytes[len..];
        }
    }
    if !bytes.is_empty() {
        return None;
    }
    Some(Batch { start, count, fields, scalars, texts })
}

fn append(dst: &mut Values, src: Values) {
    match (dst, src) {
        (Values::F32(d), Values::F32(s)) => d.extend(s),
        (Values::F64(d), Values::F64(s)) => d.extend(s),
        _ => unreachable!("precision is fixed per batch"),
    }
}

/// [`oplab_common::atomic::write_atomically`] (temporary, fsync, rename, fsync of the directory)
/// with the target named in the error.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic::write_atomically(path, bytes).map_err(|e| DatasetError::io(path, e))
}

/// [`oplab_common::atomic::remove_stale_temporaries`] of `out`, with the path named in the error.
pub fn remove_stale_temporaries(out: &Path) -> Result<()> {
    atomic::remove_stale_temporaries(out).map_err(|e| DatasetError::io(out, e))
}

fn first_difference(old: &str, new: &str) -> String {
    let mut old_lines = old.lines();
    let mut new_lines = new.lines();
    loop {
        match (old_lines.next(), new_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) => return format!("was `{a}`, now `{b}`"),
            (Some(a), None) => return format!("was `{a}`, now absent"),
            (None, Some(b)) => return format!("`{b}` is new"),
            (None, None) => return "manifest unreadable".into(),
        }
    }
}
