//! Reading and validating native files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use hdf5::types::{FloatSize, TypeDescriptor, VarLenUnicode};

use crate::batch::{Batch, Values};
use crate::error::{DatasetError, Result};
use crate::header::{ShardInfo, SCHEMA_VERSION};
use crate::schema::{Dimension, FieldSpec, Role, ScalarSpec, Schema, TextSpec};
use crate::settings::Precision;

const HDF5_SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// The process-wide default of [`OpenOptions::allow_external`], set once by the command line's
/// `--allow-external` (the CLI opens files deep inside training, evaluation and merging, which
/// all use [`DatasetFile::open`]); library code that wants another policy for one file passes
/// [`OpenOptions`] to [`DatasetFile::open_with`] instead.
static ALLOW_EXTERNAL: AtomicBool = AtomicBool::new(false);

/// Set the default that every later [`DatasetFile::open`] uses (`--allow-external`).
pub fn allow_external_data(allow: bool) {
    ALLOW_EXTERNAL.store(allow, Ordering::Relaxed);
}

/// How one file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Whether the file may take data from other files outside its own directory (external
    /// links, virtual-dataset sources, external raw storage). Off: a file from elsewhere must not
    /// make oplab read arbitrary paths of this machine. It changes what may be opened, never
    /// what is computed, so it is stored with no run or dataset.
    pub allow_external: bool,
}

impl OpenOptions {
    /// The process-wide default (see [`allow_external_data`]).
    pub fn process_default() -> Self {
        OpenOptions { allow_external: ALLOW_EXTERNAL.load(Ordering::Relaxed) }
    }
}

/// The most a deflate stream expands (its format's limit is about 1032:1); a filtered dataset
/// whose extent claims more than this many times the file's size cannot be honest.
const MAX_COMPRESSION_RATIO: u64 = 1032;

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
    /// Open `path` and check that it is a complete native file of a supported schema version,
    /// with the process-wide [`OpenOptions::process_default`].
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, OpenOptions::process_default())
    }

    /// [`DatasetFile::open`] with explicit options for this file only.
    pub fn open_with(path: &Path, options: OpenOptions) -> Result<Self> {
        let invalid = |why: String| DatasetError::invalid_file(path, why);
        let mut sig = [0u8; 8];
        let mut f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
        if std::io::Read::read_exact(&mut f, &mut sig).is_err() || &sig != HDF5_SIGNATURE {
            return Err(invalid("not an HDF5 file (no HDF5 signature)".into()));
        }
        drop(f);
        let file = hdf5::File::open(path).map_err(|e| invalid(format!("cannot be opened as HDF5, it may be truncated or corrupt ({})", first_line(&e))))?;
        let guard = Guard::new(path, options.allow_external).map_err(|e| DatasetError::io(path, e))?;
        let info = read_info(&file, &guard).map_err(invalid)?;
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

fn read_info(file: &hdf5::File, guard: &Guard) -> std::result::Result<DatasetInfo, String> {
    let version = get_u64(file, "oplab_schema").map_err(|_| "not an oplab dataset (no `oplab_schema` attribute)".to_string())?;
    if version != SCHEMA_VERSION {
        return Err(format!("schema version {version} is not supported (this oplab reads version {SCHEMA_VERSION})"));
    }
    let n = get_u64(file, "n_samples")?;
    let precision: Precision = get_str(file, "precision")?.parse().map_err(|e: DatasetError| e.to_string())?;
    let mut schema = Schema::default();
    let mut compression = 0;
    // Every link is checked before it is followed and every dataset before it is read, so a
    // hostile file can neither point the reader elsewhere nor make it allocate what it claims.
    guard.check_links(file, "")?;

    if let Ok(g) = file.group("dimensions") {
        guard.check_links(&g, "dimensions/")?;
        for name in g.member_names().map_err(|e| first_line(&e))? {
            let ds = g.dataset(&name).map_err(|e| format!("dimension `{name}`: {}", first_line(&e)))?;
            guard.check_dataset(&ds, &format!("dimension `{name}`"))?;
            let values = ds.read_raw::<f64>().map_err(|e| format!("dimension `{name}`: {}", first_line(&e)))?;
            schema.dimensions.push(Dimension { name, values });
        }
    }
    let fields = file.group("fields").map_err(|_| "missing group `/fields`".to_string())?;
    guard.check_links(&fields, "fields/")?;
    for name in fields.member_names().map_err(|e| first_line(&e))? {
        let ds = fields.dataset(&name).map_err(|e| format!("field `{name}`: {}", first_line(&e)))?;
        guard.check_dataset(&ds, &format!("field `{name}`"))?;
        let shape = check_sample_dataset(&ds, &format!("field `{name}`"), n, precision)?;
        compression = compression.max(deflate_level(&ds));
        let role_text = get_str(&ds, "role").map_err(|e| format!("field `{name}`: {e}"))?;
        let role = Role::parse(&role_text).ok_or_else(|| format!("field `{name}`: role `{role_text}` is not input, target or context"))?;
        let axes = get_str_opt(&ds, "axes").split(',').skip(1).map(String::from).collect();
        schema.fields.push(FieldSpec { name, shape, role, axes, description: get_str_opt(&ds, "description") });
    }
    if let Ok(g) = file.group("scalars") {
        guard.check_links(&g, "scalars/")?;
        for name in g.member_names().map_err(|e| first_line(&e))? {
            let ds = g.dataset(&name).map_err(|e| format!("scalar `{name}`: {}", first_line(&e)))?;
            guard.check_dataset(&ds, &format!("scalar `{name}`"))?;
            let shape = check_sample_dataset(&ds, &format!("scalar `{name}`"), n, precision)?;
            schema.scalars.push(ScalarSpec { name, shape, description: get_str_opt(&ds, "description") });
        }
    }
    if let Ok(g) = file.group("symbolic") {
        guard.check_links(&g, "symbolic/")?;
        for name in g.member_names().map_err(|e| first_line(&e))? {
            let ds = g.dataset(&name).map_err(|e| format!("text `{name}`: {}", first_line(&e)))?;
            guard.check_dataset(&ds, &format!("text `{name}`"))?;
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

/// What a file may refer to and how much data it may claim: the checks that run before the
/// reader follows a link or reads a dataset.
struct Guard {
    /// The file itself, canonical.
    path: PathBuf,
    /// The file's own directory, canonical (symbolic links resolved).
    dir: PathBuf,
    /// The file's size on disk.
    file_len: u64,
    /// `--allow-external`: data may come from anywhere.
    allow_external: bool,
}

impl Guard {
    fn new(path: &Path, allow_external: bool) -> std::io::Result<Self> {
        let file_len = std::fs::metadata(path)?.len();
        let path = std::fs::canonicalize(path)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Guard { path, dir, file_len, allow_external })
    }

    /// Where another file named inside this one lies, if it is within this file's directory
    /// (subdirectories included: `--mpi-finish virtual` keeps its parts in `OUT.parts/`). A
    /// relative name is resolved against the directory, as HDF5 does for links and virtual
    /// sources; symbolic links are resolved, so a link in the
    /// directory cannot lead out of it.
    ///
    /// HDF5 searches the directories of an environment variable before that directory
    /// (`HDF5_EXT_PREFIX` for external links, `HDF5_VDS_PREFIX` for virtual sources; for an
    /// absolute name, once that name fails to open): while the variable is set, the file HDF5
    /// reads may not be the one checked here, so a file that names another is refused unless
    /// `--allow-external`.
    fn resolve(&self, name: &str, what: &str, kind: Reference) -> std::result::Result<PathBuf, String> {
        let allow = "pass --allow-external to read it anyway";
        let variable = kind.prefix_variable();
        if let (false, Some(prefix)) = (self.allow_external, std::env::var_os(variable).filter(|v| !v.is_empty())) {
            return Err(format!(
                "{what} is {} {name}, and {variable} is set, so HDF5 would look for it under {} first, outside this check; unset {variable}, or {allow}",
                kind.phrase(),
                prefix.to_string_lossy()
            ));
        }
        let target = self.dir.join(name);
        match std::fs::canonicalize(&target) {
            Ok(real) if real.starts_with(&self.dir) || self.allow_external => Ok(real),
            Ok(real) => Err(format!("{what} is {} {}, outside the file's directory {}; {allow}", kind.phrase(), real.display(), self.dir.display())),
            // HDF5 would look for a missing file elsewhere (the working directory, search
            // paths) or read fill values for a missing virtual source: neither is this file's data.
            Err(_) => Err(format!("{what} is {} {name}, which does not exist beside the file", kind.phrase())),
        }
    }

    /// Refuse a virtual dataset's source that would make HDF5 read beyond what [`Guard::resolve`]
    /// checked: a source dataset reached through a soft or external link, one that is itself a
    /// virtual dataset, or one with external raw storage (each of which HDF5 follows when it
    /// reads the source, resolved against the source file's directory and search paths). Such
    /// sources are not followed and checked in turn (oplab writes none: its virtual files map
    /// plain part files), only refused, unless `--allow-external`.
    fn check_source(&self, file: &Path, dataset: &str, what: &str) -> std::result::Result<(), String> {
        if self.allow_external {
            return Ok(());
        }
        let source = format!("{what}: its virtual source {dataset} in {}", file.display());
        let allow = "pass --allow-external to read it anyway";
        let h5 = |e: hdf5::Error| format!("{source} cannot be read ({})", first_line(&e));
        let f = hdf5::File::open(file).map_err(h5)?;
        let mut group: hdf5::Group = (*f).clone();
        let parts: Vec<&str> = dataset.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        let Some((last, groups)) = parts.split_last() else {
            return Err(format!("{source} names no dataset"));
        };
        for (k, part) in parts.iter().enumerate() {
            let link =
                group.find_link(hdf5::IndexType::Name, hdf5::IterationOrder::Native, |name, info| Ok((name == *part).then_some(info.link_type))).map_err(h5)?;
            match link {
                Some(hdf5::LinkType::Hard) => {}
                Some(other) => {
                    let kind = if other == hdf5::LinkType::Soft { "a soft" } else { "an external" };
                    return Err(format!("{source} is reached through {kind} link; {allow}"));
                }
                None => return Err(format!("{source} does not exist")),
            }
            if k < groups.len() {
                group = group.group(part).map_err(h5)?;
            }
        }
        let ds = group.dataset(last).map_err(h5)?;
        let dcpl = ds.dcpl().map_err(h5)?;
        if dcpl.layout() == hdf5::dataset::Layout::Virtual {
            return Err(format!("{source} is itself a virtual dataset, whose sources HDF5 would follow further; {allow}"));
        }
        if !dcpl.get_external().map_err(h5)?.is_empty() {
            return Err(format!("{source} keeps its data in an external file; {allow}"));
        }
        Ok(())
    }

    /// Refuse external links of `group` whose target file lies outside the file's directory.
    fn check_links(&self, group: &hdf5::Group, prefix: &str) -> std::result::Result<(), String> {
        let mut links = Vec::new();
        group
            .iter_visit_default(|name, info| {
                if info.link_type == hdf5::LinkType::External {
                    links.push(name.to_string());
                }
                Ok(())
            })
            .map_err(|e| format!("/{prefix}: cannot list its links ({})", first_line(&e)))?;
        for name in links {
            let what = format!("/{prefix}{name}");
            let target = external_link_target(group, &name).ok_or_else(|| format!("{what} is an external link whose target cannot be read"))?;
            self.resolve(&target, &what, Reference::ExternalLink)?;
        }
        Ok(())
    }

    /// Refuse a dataset whose data lies outside the file's directory, or whose extent claims more
    /// bytes than the file (or, for virtual datasets, its source files) can hold.
    fn check_dataset(&self, ds: &hdf5::Dataset, what: &str) -> std::result::Result<(), String> {
        let dcpl = ds.dcpl().map_err(|e| format!("{what}: {}", first_line(&e)))?;
        let external = dcpl.get_external().map_err(|e| format!("{what}: {}", first_line(&e)))?;
        if !external.is_empty() && !self.allow_external {
            // HDF5 resolves external raw-data files against the working directory, not the
            // file's, and oplab never writes them: refused unless allowed.
            return Err(format!("{what} keeps its data in the external file {}; pass --allow-external to read it", external[0].name));
        }
        let element = ds.dtype().map_err(|e| format!("{what}: {}", first_line(&e)))?.size() as u128;
        let claimed = ds.shape().iter().fold(element, |acc, &d| acc.saturating_mul(d as u128));
        let (limit, bound) = if dcpl.layout() == hdf5::dataset::Layout::Virtual {
            let mut sources = 0u128;
            for (name, dataset) in virtual_sources(&dcpl).ok_or_else(|| format!("{what}: its virtual dataset's source files cannot be read"))? {
                if name == "." {
                    // The file itself: HDF5 opens no other file and searches no path for it.
                    self.check_source(&self.path, &dataset, what)?;
                    sources += self.file_len as u128;
                    continue;
                }
                let source = self.resolve(&name, what, Reference::VirtualSource)?;
                self.check_source(&source, &dataset, what)?;
                sources += std::fs::metadata(&source).map(|m| m.len() as u128).unwrap_or(0);
            }
            (sources, "the size of its source files")
        } else if !external.is_empty() {
            // Allowed external storage: its declared sizes bound the data.
            (external.iter().map(|e| e.size as u128).sum(), "the size of its external files")
        } else if dcpl.filters().is_empty() {
            // Contiguous, compact or unfiltered chunks: every byte is stored in the file.
            (self.file_len as u128, "the file's size")
        } else {
            // Compressed chunks may expand, but by no more than deflate's limit.
            (self.file_len as u128 * MAX_COMPRESSION_RATIO as u128, "the most the file's compressed bytes can expand to")
        };
        if claimed > limit {
            return Err(format!(
                "{what} claims shape {:?} ({claimed} bytes), more than {bound} ({limit} bytes) can hold; the file is corrupt or hostile",
                ds.shape()
            ));
        }
        Ok(())
    }
}

/// What a file names another file by, for [`Guard::resolve`].
#[derive(Debug, Clone, Copy)]
enum Reference {
    ExternalLink,
    VirtualSource,
}

impl Reference {
    /// The words before the other file's name in an error.
    fn phrase(self) -> &'static str {
        match self {
            Reference::ExternalLink => "an external link to",
            Reference::VirtualSource => "a virtual dataset mapped to",
        }
    }

    /// The environment variable whose directories HDF5 searches for such a file before the
    /// referring file's own directory.
    fn prefix_variable(self) -> &'static str {
        match self {
            Reference::ExternalLink => "HDF5_EXT_PREFIX",
            Reference::VirtualSource => "HDF5_VDS_PREFIX",
        }
    }
}

/// The source (file name, dataset path) of each of a virtual dataset's mappings (file `.`: the
/// file itself), or `None` if they cannot be read. Read through hdf5-sys: the crate's
/// `get_virtual_map` also converts each mapping's selection and fails on the strided
/// hyperslabs of oplab's own virtual files.
fn virtual_sources(dcpl: &hdf5::plist::DatasetCreate) -> Option<Vec<(String, String)>> {
    use hdf5_sys::h5p::{H5Pget_virtual_count, H5Pget_virtual_dsetname, H5Pget_virtual_filename};
    type Getter = unsafe extern "C" fn(hdf5_sys::h5i::hid_t, usize, *mut std::ffi::c_char, usize) -> isize;
    let read = |get: Getter, i: usize| -> Option<String> {
        // SAFETY: the property list id is valid while `dcpl` lives; a null buffer of size 0
        // asks for the length, and the second call writes at most `buf.len()` bytes.
        unsafe {
            let len = usize::try_from(get(dcpl.id(), i, std::ptr::null_mut(), 0)).ok()?;
            let mut buf = vec![0u8; len + 1];
            if get(dcpl.id(), i, buf.as_mut_ptr().cast(), buf.len()) < 0 {
                return None;
            }
            buf.truncate(len);
            String::from_utf8(buf).ok()
        }
    };
    hdf5::sync::sync(|| {
        let mut count = 0;
        // SAFETY: as above; `count` is a valid out-pointer.
        if unsafe { H5Pget_virtual_count(dcpl.id(), &mut count) } < 0 {
            return None;
        }
        (0..count).map(|i| Some((read(H5Pget_virtual_filename, i)?, read(H5Pget_virtual_dsetname, i)?))).collect()
    })
}

/// The file name an external link `name` of `group` points to, or `None` if it cannot be read.
fn external_link_target(group: &hdf5::Group, name: &str) -> Option<String> {
    use hdf5_sys::h5l::{H5Lget_val, H5Lunpack_elink_val};
    use std::ffi::{c_char, c_uint, CStr, CString};
    let c_name = CString::new(name).ok()?;
    // External link values are a flag byte and two NUL-terminated paths; one longer than this
    // buffer is truncated, fails to unpack and is refused.
    let mut buf = vec![0u8; 8192];
    hdf5::sync::sync(|| unsafe {
        if H5Lget_val(group.id(), c_name.as_ptr(), buf.as_mut_ptr().cast(), buf.len(), hdf5_sys::h5p::H5P_DEFAULT) < 0 {
            return None;
        }
        let mut flags: c_uint = 0;
        let (mut file, mut object): (*const c_char, *const c_char) = (std::ptr::null(), std::ptr::null());
        if H5Lunpack_elink_val(buf.as_ptr().cast(), buf.len(), &mut flags, &mut file, &mut object) < 0 || file.is_null() {
            return None;
        }
        Some(CStr::from_ptr(file).to_string_lossy().into_owned())
    })
}
