//! `oplab inspect`: a human-readable summary of a dataset file, or of an unfinished run.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::blocks::{count_finished_blocks, partial_dir};
use crate::error::{DatasetError, Result};
use crate::reader::{DatasetFile, DatasetInfo, ValueStats};

/// What `inspect` found.
// Built once per `inspect` call and printed; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Inspection {
    /// A finished file (a whole dataset or one shard of it).
    File {
        /// The file.
        path: PathBuf,
        /// Its self-description.
        info: DatasetInfo,
        /// Statistics per field and scalar: (group, name, full shape, stats).
        stats: Vec<(String, String, Vec<usize>, ValueStats)>,
    },
    /// No output yet, but an interrupted run's blocks.
    Unfinished {
        /// The intended output.
        path: PathBuf,
        /// Finished block files.
        blocks_done: u64,
        /// The run's manifest.
        manifest: String,
    },
}

/// Inspect `path`: a finished native file, or an output whose run is still unfinished.
pub fn inspect(path: &Path) -> Result<Inspection> {
    if !path.exists() {
        if let Some((blocks_done, manifest)) = count_finished_blocks(path) {
            return Ok(Inspection::Unfinished { path: path.to_path_buf(), blocks_done, manifest });
        }
        return Err(DatasetError::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
    }
    let file = DatasetFile::open(path)?;
    let info = file.info().clone();
    let mut stats = Vec::new();
    for f in &info.schema.fields {
        let shape = std::iter::once(info.n_samples as usize).chain(f.shape.iter().copied()).collect();
        stats.push(("fields".to_string(), f.name.clone(), shape, file.stats("fields", &f.name)?));
    }
    for s in &info.schema.scalars {
        let shape = std::iter::once(info.n_samples as usize).chain(s.shape.iter().copied()).collect();
        stats.push(("scalars".to_string(), s.name.clone(), shape, file.stats("scalars", &s.name)?));
    }
    Ok(Inspection::File { path: path.to_path_buf(), info, stats })
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inspection::Unfinished { path, blocks_done, manifest } => {
                writeln!(f, "{}: UNFINISHED run ({} finished block(s) in {})", path.display(), blocks_done, partial_dir(path).display())?;
                writeln!(f, "rerun the same generate command to resume. Run manifest:")?;
                for line in manifest.lines() {
                    writeln!(f, "  {line}")?;
                }
                Ok(())
            }
            Inspection::File { path, info, stats } => {
                writeln!(f, "file        {}", path.display())?;
                writeln!(f, "schema      oplab native v{}", crate::header::SCHEMA_VERSION)?;
                writeln!(f, "problem     {}", info.problem)?;
                match info.shard {
                    None => writeln!(f, "complete    yes: {} samples", info.n_samples)?,
                    Some(s) => writeln!(
                        f,
                        "complete    shard {}/{}: samples {}..{} of {} (merge all shards with `oplab merge`)",
                        s.index,
                        s.count,
                        s.offset,
                        s.offset + info.n_samples,
                        s.total
                    )?,
                }
                writeln!(f, "seed        {}", info.seed)?;
                writeln!(
                    f,
                    "dtype       {}{}",
                    info.precision.as_str(),
                    if info.compression > 0 { format!(", gzip level {}", info.compression) } else { String::new() }
                )?;
                writeln!(f, "created     {} by oplab {}", info.created, info.oplab_version)?;
                for (k, v) in &info.schema.attributes {
                    // Long attributes (e.g. a token vocabulary) are summarised, not dumped.
                    if v.chars().count() > 100 {
                        let head: String = v.chars().take(80).collect();
                        writeln!(f, "{k:<11} {head}… ({} characters)", v.chars().count())?;
                    } else {
                        writeln!(f, "{k:<11} {v}")?;
                    }
                }
                for d in &info.schema.dimensions {
                    let (lo, hi) = (d.values.first().copied().unwrap_or(f64::NAN), d.values.last().copied().unwrap_or(f64::NAN));
                    writeln!(f, "dimension   {:<12} {} points, {lo} .. {hi}", d.name, d.values.len())?;
                }
                writeln!(f, "{:<24} {:<18} {:<8} {:>13} {:>13} {:>8}", "dataset", "shape", "role", "min", "max", "NaN/Inf")?;
                for (group, name, shape, s) in stats {
                    let role = info.schema.fields.iter().find(|x| &x.name == name && group == "fields").map(|x| x.role.as_str()).unwrap_or("-");
                    writeln!(
                        f,
                        "{:<24} {:<18} {:<8} {:>13.6e} {:>13.6e} {:>8}",
                        format!("/{group}/{name}"),
                        format!("{shape:?}"),
                        role,
                        s.min,
                        s.max,
                        s.non_finite
                    )?;
                }
                for t in &info.schema.texts {
                    writeln!(f, "{:<24} [{}] text", format!("/symbolic/{}", t.name), info.n_samples)?;
                }
                writeln!(f, "config:")?;
                for line in info.config.lines() {
                    writeln!(f, "  {line}")?;
                }
                Ok(())
            }
        }
    }
}
