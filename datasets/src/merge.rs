//! `oplab merge`: join the shard files of one dataset into the file an unsharded run would write.

use std::path::{Path, PathBuf};

use oplab_common::Progress;

use crate::blocks::remove_stale_temporaries;
use crate::error::{DatasetError, Result};
use crate::generate::check_output_path;
use crate::header::Header;
use crate::reader::DatasetFile;
use crate::writer::Hdf5Writer;

/// Bytes copied per read/write step: the merge's peak memory is about this plus HDF5's own, for
/// any dataset size (a step larger than a shard would make the peak depend on the shard size).
/// The size of a generation block, so merge and generate peak alike.
const COPY_BYTES: usize = 8 << 20;

/// Merge shard files (any order) into `out`. They must be all shards of one dataset: same
/// problem, configuration, seed and layout, shard numbers 1..M each exactly once.
pub fn merge(parts: &[PathBuf], out: &Path, force: bool, progress: &dyn Progress) -> Result<u64> {
    if parts.is_empty() {
        return Err(DatasetError::invalid("parts", 0, "give at least one shard file"));
    }
    // A merge killed during its write leaves `OUT.tmp-<pid>`: its rerun clears it.
    remove_stale_temporaries(out)?;
    check_output_path(out, force)?;
    let mut files = parts.iter().map(|p| DatasetFile::open(p)).collect::<Result<Vec<_>>>()?;
    let first = files[0].info().clone();
    let shard_of = |f: &DatasetFile| f.info().shard.ok_or_else(|| DatasetError::Merge(format!("{} is a complete dataset, not a shard", f.path().display())));
    let count = shard_of(&files[0])?.count;
    for f in &files {
        let info = f.info();
        let what = |field: &str| DatasetError::Merge(format!("{} differs from {} in {field}", f.path().display(), files[0].path().display()));
        if info.problem != first.problem {
            return Err(what("problem"));
        }
        if info.config != first.config {
            return Err(what("config"));
        }
        if info.seed != first.seed {
            return Err(what("seed"));
        }
        if info.precision != first.precision || info.schema != first.schema {
            return Err(what("layout"));
        }
        if shard_of(f)?.count != count {
            return Err(what("shard count"));
        }
    }
    if files.len() as u64 != count {
        return Err(DatasetError::Merge(format!("the dataset has {count} shards but {} files were given", files.len())));
    }
    files.sort_by_key(|f| f.info().shard.map(|s| s.index));
    let mut next = 0u64;
    for (k, f) in files.iter().enumerate() {
        let s = f.info().shard.expect("checked above");
        if s.index != k as u64 + 1 {
            return Err(DatasetError::Merge(format!("shard {} of {count} is missing or given twice", k + 1)));
        }
        if s.offset != next {
            return Err(DatasetError::Merge(format!("{} starts at sample {} but the previous shards end at {next}", f.path().display(), s.offset)));
        }
        next += f.info().n_samples;
    }
    let total = next;
    let header = Header {
        problem: first.problem.clone(),
        config: first.config.clone(),
        seed: first.seed,
        n_samples: total,
        precision: first.precision,
        compression: first.compression,
        schema: first.schema.clone(),
        shard: None,
    };
    let per_sample: usize = (0..header.schema.fields.len()).map(|i| header.schema.field_len(i)).sum::<usize>().max(1) * header.precision.bytes();
    let step = ((COPY_BYTES / per_sample) as u64).max(1);

    let writer = Hdf5Writer::create(out, &header)?;
    progress.start("merge", total, 0);
    let copied: Result<()> = (|| {
        // Each part is closed once copied: what HDF5 caches while reading a part would
        // otherwise stay for all of them, and the peak memory would grow with the dataset.
        for f in std::mem::take(&mut files) {
            let offset = f.info().shard.expect("checked").offset;
            let mut s = 0;
            while s < f.info().n_samples {
                let c = step.min(f.info().n_samples - s);
                let batch = f.read_batch(s, c)?;
                writer.write_batch(&batch, offset + s)?;
                progress.advance(c);
                s += c;
            }
        }
        Ok(())
    })();
    progress.finish();
    if let Err(e) = copied {
        writer.abandon();
        return Err(e);
    }
    writer.finish(out)?;
    Ok(total)
}
