//! Reading and validating native files.

use std::path::{Path, PathBuf};

use hdf5::types::{FloatSize, TypeDescriptor, VarLenUnicode};

use crate::batch::{Batch, Values};
use crate::error::{DatasetError, Result};
use crate::header::{ShardInfo, SCHEMA_VERSION};
use crate::problem::{Dimension, FieldSpec, Role, ScalarSpec, Schema, TextSpec};
use crate::settings::Precision;

const HDF5_SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// An open, validated native dataset file.
pub struct DatasetFile {
    path: PathBuf,
    file: hdf5::File,
    info: DatasetInfo,
}

/// What a native file says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetInfo {
    /// Problem name.
    pub problem: String,
    /// Fully resolved configuration (TOML).
    pub config: String,
    /// Dataset seed.
    pub seed: u64,
    /// Samples in this file.
    pub n_samples: u64,
    /// Stored precision.
    pub precision: Precision,
    /// Writer version.
    pub oplab_version: String,
    /// Creation time (RFC 3339).
    pub created: String,
    /// Layout, as reconstructed from the file.
    pub schema: Schema,
    /// Set when the file is one shard of a dataset.
    pub shard: Option<ShardInfo>,
    /// gzip level of the fields (0 = none).
    pub compression: u8,
}

impl DatasetFile {
    /// Open `path` and check that it is a complete native file of a supported schema version.
    pub fn open(path: &Path) -> Result<Self> {
        let invalid = |why: String| DatasetError::invalid_file(path, why);
        let mut sig = [0u8; 8];
        let mut f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
        if std::io::Read::read_exact(&mut f, &mut sig).is_err() || &sig != HDF5_SIGNATURE {
            return Err(invalid("not an HDF5 file (no HDF5 signature)".into()));
        }
        drop(f);
        let file = hdf5::File::open(path).map_err(|e| invalid(format!("cannot be opened as HDF5, it may be truncated or corrupt ({})", first_line(&e))))?;
        let info = read_info(&file).map_err(invalid)?;
        Ok(DatasetFile { path: path.to_path_buf(), file, info })
    }

    /// The file's self-description.
    pub fn info(&self) -> &DatasetInfo {
        &self.info
    }

    /// The path this file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read samples `start .. start + count` (file-relative) of every field, scalar and text.
    pub fn read_batch(&self, start: u64, count: u64) -> Result<Batch> {
        if start + count > self.info.n_samples {
            return Err(DatasetError::invalid("sample range", format!("{start}..{}", start + count), format!("must lie within 0..{}", self.info.n_samples)));
        }
        let h5 = |e| DatasetError::hdf5(&self.path, e);
        let (s, c) = (start as usize, count as usize);
        let mut batch = Batch { start, count, fields: vec![], scalars: vec![], texts: vec![] };
        for spec in &self.info.schema.fields {
            let ds = self.file.dataset(&format!("fields/{}", spec.name)).map_err(h5)?;
            batch.fields.push(read_rows(&ds, s, c, self.info.precision).map_err(h5)?);
        }
        for spec in &self.info.schema.scalars {
            let ds = self.file.dataset(&format!("scalars/{}", spec.name)).map_err(h5)?;
            batch.scalars.push(read_rows(&ds, s, c, self.info.precision).map_err(h5)?);
        }
        for spec in &self.info.schema.texts {
            let ds = self.file.dataset(&format!("symbolic/{}", spec.name)).map_err(h5)?;
            let v = ds.read_slice_1d::<VarLenUnicode, _>(s..s + c).map_err(h5)?;
            batch.texts.push(v.iter().map(|t| t.as_str().to_string()).collect());
        }
        Ok(batch)
    }

    /// Read a whole field as f32 (converting from f64 if stored so), with its full shape.
    pub fn read_field_f32(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let spec = self.field(name)?;
        let ds = self.file.dataset(&format!("fields/{}", spec.name)).map_err(|e| DatasetError::hdf5(&self.path, e))?;
        let data = ds.read_raw::<f32>().map_err(|e| DatasetError::hdf5(&self.path, e))?;
        let shape = std::iter::once(self.info.n_samples as usize).chain(spec.shape.iter().copied()).collect();
        Ok((data, shape))
    }

    /// Minimum, maximum (over finite values) and count of NaN/Inf values of a field or scalar,
    /// streamed over samples so files larger than memory work.
    pub fn stats(&self, group: &str, name: &str) -> Result<ValueStats> {
        let ds = self.file.dataset(&format!("{group}/{name}")).map_err(|e| DatasetError::hdf5(&self.path, e))?;
        let n = self.info.n_samples as usize;
        let per_sample: usize = ds.shape().iter().skip(1).product::<usize>().max(1);
        let step = ((16usize << 20) / (per_sample * 8)).max(1);
        let mut stats = ValueStats { min: f64::INFINITY, max: f64::NEG_INFINITY, non_finite: 0 };
        let mut s = 0;
        while s < n {
            let c = step.min(n - s);
            let rows = read_rows(&ds, s, c, Precision::F64).map_err(|e| DatasetError::hdf5(&self.path, e))?;
            if let Values::F64(v) = rows {
                for x in v {
                    if x.is_finite() {
                        stats.min = stats.min.min(x);
                        stats.max = stats.max.max(x);
                    } else {
                        stats.non_finite += 1;
                    }
                }
            }
            s += c;
        }
        Ok(stats)
    }

    /// Read a `/dimensions` coordinate vector.
    pub fn dimension(&self, name: &str) -> Result<Vec<f64>> {
        self.info
            .schema
            .dimensions
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.values.clone())
            .ok_or_else(|| DatasetError::invalid("dimension", name, "must name a /dimensions entry of the file"))
    }

    fn field(&self, name: &str) -> Result<&FieldSpec> {
        let names: Vec<&str> = self.info.schema.fields.iter().map(|f| f.name.as_str()).collect();
        self.info
            .schema
            .fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| DatasetError::invalid("field", name, format!("must be one of: {}", names.join(", "))))
    }
}

/// Summary statistics of stored values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueStats {
    /// Smallest finite value (+inf if none).
    pub min: f64,
    /// Largest finite value (−inf if none).
    pub max: f64,
    /// Number of NaN or infinite values.
    pub non_finite: u64,
}

fn read_rows(ds: &hdf5::Dataset, start: usize, count: usize, as_precision: Precision) -> hdf5::Result<Values> {
    let shape = ds.shape();
    let selection: Vec<hdf5::SliceOrIndex> = std::iter::once((start..start + count).into()).chain(shape.iter().skip(1).map(|&len| (0..len).into())).collect();
    let selection = hdf5::Hyperslab::from(selection);
    Ok(match as_precision {
        Precision::F32 => Values::F32(ds.read_slice::<f32, _, ndarray::IxDyn>(selection)?.into_raw_vec_and_offset().0),
        Precision::F64 => Values::F64(ds.read_slice::<f64, _, ndarray::IxDyn>(selection)?.into_raw_vec_and_offset().0),
    })
}

fn first_line(e: &hdf5::Error) -> String {
    e.to_string().lines().next().unwrap_or("unknown error").to_string()
}

fn get_str(loc: &hdf5::Location, name: &str) -> std::result::Result<String, String> {
    let attr = loc.attr(name).map_err(|_| format!("missing attribute `{name}`"))?;
    attr.read_scalar::<VarLenUnicode>().map(|s| s.as_str().to_string()).map_err(|_| format!("attribute `{name}` is not a string"))
}

fn get_u64(loc: &hdf5::Location, name: &str) -> std::result::Result<u64, String> {
    let attr = loc.attr(name).map_err(|_| format!("missing attribute `{name}`"))?;
    attr.read_scalar::<u64>().map_err(|_| format!("attribute `{name}` is not an unsigned integer"))
}

fn get_str_opt(loc: &hdf5::Location, name: &str) -> String {
    get_str(loc, name).unwrap_or_default()
}

fn read_info(file: &hdf5::File) -> std::result::Result<DatasetInfo, String> {
    let version = get_u64(file, "oplab_schema").map_err(|_| "not an oplab dataset (no `oplab_schema` attribute)".to_string())?;
    if version != SCHEMA_VERSION {
        return Err(format!("schema version {version} is not supported (this oplab reads version {SCHEMA_VERSION})"));
    }
    let n = get_u64(file, "n_samples")?;
    let precision: Precision = get_str(file, "precision")?.parse().map_err(|e: DatasetError| e.to_string())?;
    let mut schema = Schema::default();
    let mut compression = 0;

    if let Ok(g) = file.group("dimensions") {
        for name in g.member_names().map_err(|e| first_line(&e))? {
            let ds = g.dataset(&name).map_err(|e| format!("dimension `{name}`: {}", first_line(&e)))?;
            // Coordinates are stored uncompressed: a header claiming more values than the file
            // has bytes is corrupt, and reading it would allocate what it claims.
            let claimed = ds.size() as u128 * std::mem::size_of::<f64>() as u128;
            let file_size = file.size() as u128;
            if claimed > file_size {
                return Err(format!("dimension `{name}` claims {} values, more than the file's {file_size} bytes can hold", ds.size()));
            }
            let values = ds.read_raw::<f64>().map_err(|e| format!("dimension `{name}`: {}", first_line(&e)))?;
            schema.dimensions.push(Dimension { name, values });
        }
    }
    let fields = file.group("fields").map_err(|_| "missing group `/fields`".to_string())?;
    for name in fields.member_names().map_err(|e| first_line(&e))? {
        let ds = fields.dataset(&name).map_err(|e| format!("field `{name}`: {}", first_line(&e)))?;
        let shape = check_sample_dataset(&ds, &format!("field `{name}`"), n, precision)?;
        compression = compression.max(deflate_level(&ds));
        let role_text = get_str(&ds, "role").map_err(|e| format!("field `{name}`: {e}"))?;
        let role = Role::parse(&role_text).ok_or_else(|| format!("field `{name}`: role `{role_text}` is not input, target or context"))?;
        let axes = get_str_opt(&ds, "axes").split(',').skip(1).map(String::from).collect();
        schema.fields.push(FieldSpec { name, shape, role, axes, description: get_str_opt(&ds, "description") });
    }
    if let Ok(g) = file.group("scalars") {
        for name in g.member_names().map_err(|e| first_line(&e))? {
            let ds = g.dataset(&name).map_err(|e| format!("scalar `{name}`: {}", first_line(&e)))?;
            let shape = check_sample_dataset(&ds, &format!("scalar `{name}`"), n, precision)?;
            schema.scalars.push(ScalarSpec { name, shape, description: get_str_opt(&ds, "description") });
        }
    }
    if let Ok(g) = file.group("symbolic") {
        for name in g.member_names().map_err(|e| first_line(&e))? {
            let ds = g.dataset(&name).map_err(|e| format!("text `{name}`: {}", first_line(&e)))?;
            if ds.shape() != [n as usize] {
                return Err(format!("text `{name}` has shape {:?}, expected [{n}]", ds.shape()));
            }
            schema.texts.push(TextSpec { name, description: get_str_opt(&ds, "description") });
        }
    }
    let shard = match get_str(file, "shard") {
        Ok(s) => {
            let (index, count) =
                s.split_once('/').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?))).ok_or_else(|| format!("attribute `shard` = `{s}` is not K/M"))?;
            Some(ShardInfo { index, count, offset: get_u64(file, "sample_offset")?, total: get_u64(file, "total_samples")? })
        }
        Err(_) => None,
    };
    const KNOWN: [&str; 12] = [
        "virtual_parts",
        "oplab_schema",
        "problem",
        "config",
        "seed",
        "n_samples",
        "precision",
        "oplab_version",
        "created",
        "shard",
        "sample_offset",
        "total_samples",
    ];
    for name in file.attr_names().map_err(|e| first_line(&e))? {
        if !KNOWN.contains(&name.as_str()) {
            let value = get_str_opt(file, &name);
            schema.attributes.push((name, value));
        }
    }
    Ok(DatasetInfo {
        problem: get_str(file, "problem")?,
        config: get_str(file, "config")?,
        seed: get_u64(file, "seed")?,
        n_samples: n,
        precision,
        oplab_version: get_str_opt(file, "oplab_version"),
        created: get_str_opt(file, "created"),
        schema,
        shard,
        compression,
    })
}

/// A per-sample dataset must have `n` rows and the file's float type; returns the sample shape.
fn check_sample_dataset(ds: &hdf5::Dataset, what: &str, n: u64, precision: Precision) -> std::result::Result<Vec<usize>, String> {
    let shape = ds.shape();
    if shape.first().copied() != Some(n as usize) {
        return Err(format!("{what} has shape {shape:?} but the file says n_samples = {n}"));
    }
    let expected = match precision {
        Precision::F32 => TypeDescriptor::Float(FloatSize::U4),
        Precision::F64 => TypeDescriptor::Float(FloatSize::U8),
    };
    let actual = ds.dtype().and_then(|t| t.to_descriptor()).map_err(|e| format!("{what}: {}", first_line(&e)))?;
    if actual != expected {
        return Err(format!("{what} is stored as {actual:?}, but the file's precision is {}", precision.as_str()));
    }
    Ok(shape[1..].to_vec())
}

fn deflate_level(ds: &hdf5::Dataset) -> u8 {
    ds.filters()
        .iter()
        .find_map(|f| match f {
            hdf5::filters::Filter::Deflate(level) => Some(*level),
            _ => None,
        })
        .unwrap_or(0)
}
