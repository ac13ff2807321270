//! Writing native HDF5 files: layout from a [`Header`], data in [`Batch`]es, atomic finish.

use std::path::{Path, PathBuf};

use hdf5::types::VarLenUnicode;
use ndarray::ArrayView;
use oplab_common::atomic::{self, temp_sibling};

use crate::batch::{Batch, Values};
use crate::error::{DatasetError, Result};
use crate::header::{now_rfc3339, oplab_version, Header, SCHEMA_VERSION};
use crate::scales::attach_dimension_scales;
use crate::settings::Precision;

/// Target size of one HDF5 chunk. Chunks always hold whole samples.
const CHUNK_BYTES: usize = 1 << 20;

/// An HDF5 file being written under a temporary name; [`Hdf5Writer::finish`] moves it into place.
pub struct Hdf5Writer {
    file: hdf5::File,
    tmp: PathBuf,
    fields: Vec<(hdf5::Dataset, Vec<usize>)>,
    scalars: Vec<(hdf5::Dataset, Vec<usize>)>,
    texts: Vec<hdf5::Dataset>,
}

impl Hdf5Writer {
    /// Create the layout of `header` in a temporary sibling of `final_path`; on failure (a full
    /// disk, say) the temporary is removed again.
    pub fn create(final_path: &Path, header: &Header) -> Result<Self> {
        let tmp = temp_sibling(final_path);
        let created = Self::create_in(&tmp, header);
        if created.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        created
    }

    fn create_in(tmp: &Path, header: &Header) -> Result<Self> {
        let tmp = tmp.to_path_buf();
        let h5 = |e| DatasetError::hdf5(&tmp, e);
        let file = hdf5::File::create(&tmp).map_err(h5)?;
        write_root_attributes(&file, header).map_err(h5)?;
        let n = header.n_samples as usize;
        let schema = &header.schema;

        let dims = file.create_group("dimensions").map_err(h5)?;
        for d in &schema.dimensions {
            dims.new_dataset_builder().with_data(&d.values).create(d.name.as_str()).map_err(h5)?;
        }

        let group = file.create_group("fields").map_err(h5)?;
        let mut fields = Vec::new();
        for f in &schema.fields {
            let ds = create_sample_dataset(&group, &f.name, n, &f.shape, header.precision, header.compression).map_err(h5)?;
            put_field_attributes(&ds, f).map_err(h5)?;
            fields.push((ds, f.shape.clone()));
        }

        let group = file.create_group("scalars").map_err(h5)?;
        let mut scalars = Vec::new();
        for s in &schema.scalars {
            let ds = create_sample_dataset(&group, &s.name, n, &s.shape, header.precision, header.compression).map_err(h5)?;
            put_str(&ds, "description", &s.description).map_err(h5)?;
            scalars.push((ds, s.shape.clone()));
        }

        let mut texts = Vec::new();
        if !schema.texts.is_empty() {
            let group = file.create_group("symbolic").map_err(h5)?;
            for t in &schema.texts {
                let ds = group.new_dataset::<VarLenUnicode>().chunk(chunk_shape(n, &[], 64)).shape(n).create(t.name.as_str()).map_err(h5)?;
                put_str(&ds, "description", &t.description).map_err(h5)?;
                texts.push(ds);
            }
        }
        attach_dimension_scales(&file, schema, n).map_err(h5)?;
        Ok(Hdf5Writer { file, tmp, fields, scalars, texts })
    }

    /// Write `batch` at sample position `offset` of this file.
    pub fn write_batch(&self, batch: &Batch, offset: u64) -> Result<()> {
        let h5 = |e| DatasetError::hdf5(&self.tmp, e);
        let (start, count) = (offset as usize, batch.count as usize);
        for ((ds, shape), values) in self.fields.iter().zip(&batch.fields).chain(self.scalars.iter().zip(&batch.scalars)) {
            write_values(ds, shape, start, count, values).map_err(h5)?;
        }
        for (ds, strings) in self.texts.iter().zip(&batch.texts) {
            let encoded: Vec<VarLenUnicode> = strings
                .iter()
                .map(|s| s.parse::<VarLenUnicode>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| DatasetError::invalid_file(&self.tmp, format!("text contains a NUL byte: {e}")))?;
            ds.write_slice(&encoded, start..start + count).map_err(h5)?;
        }
        Ok(())
    }

    /// Close the file, fsync it and rename it to `final_path` (replacing what was there). On
    /// failure (HDF5 writes its cached data here, so a full disk shows up here) the temporary is
    /// removed and `final_path` keeps what it had.
    pub fn finish(self, final_path: &Path) -> Result<()> {
        let Hdf5Writer { file, tmp, fields, scalars, texts } = self;
        drop((fields, scalars, texts));
        let closed = match file.flush() {
            Ok(()) => file.close(),
            Err(e) => Err(e),
        };
        let finished =
            closed.map_err(|e| DatasetError::hdf5(&tmp, e)).and_then(|()| atomic::commit(&tmp, final_path).map_err(|e| DatasetError::io(final_path, e)));
        if finished.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        finished
    }

    /// Abandon the file: close and delete the temporary.
    pub fn abandon(self) {
        let tmp = self.tmp.clone();
        drop(self);
        let _ = std::fs::remove_file(tmp);
    }
}

fn write_root_attributes(file: &hdf5::File, h: &Header) -> hdf5::Result<()> {
    put_u64(file, "oplab_schema", SCHEMA_VERSION)?;
    put_str(file, "problem", &h.problem)?;
    put_str(file, "config", &h.config)?;
    put_u64(file, "seed", h.seed)?;
    put_u64(file, "n_samples", h.n_samples)?;
    put_str(file, "precision", h.precision.as_str())?;
    put_str(file, "oplab_version", &oplab_version())?;
    put_str(file, "created", &now_rfc3339())?;
    for (k, v) in &h.schema.attributes {
        put_str(file, k, v)?;
    }
    if let Some(s) = h.shard {
        put_str(file, "shard", &format!("{}/{}", s.index, s.count))?;
        put_u64(file, "sample_offset", s.offset)?;
        put_u64(file, "total_samples", s.total)?;
    }
    Ok(())
}

/// Sample-aligned chunk: as many whole samples as fit in about `CHUNK_BYTES` (at least one).
fn chunk_shape(n: usize, sample_shape: &[usize], bytes_per_value: usize) -> Vec<usize> {
    let per_sample = sample_shape.iter().product::<usize>().max(1) * bytes_per_value;
    let samples = (CHUNK_BYTES / per_sample).clamp(1, n.max(1));
    std::iter::once(samples).chain(sample_shape.iter().copied()).collect()
}

fn create_sample_dataset(group: &hdf5::Group, name: &str, n: usize, shape: &[usize], precision: Precision, compression: u8) -> hdf5::Result<hdf5::Dataset> {
    let full: Vec<usize> = std::iter::once(n).chain(shape.iter().copied()).collect();
    let chunk = chunk_shape(n, shape, precision.bytes());
    let builder = match precision {
        Precision::F32 => group.new_dataset::<f32>(),
        Precision::F64 => group.new_dataset::<f64>(),
    };
    let mut builder = builder.chunk(chunk).obj_track_times(false);
    if compression > 0 {
        builder = builder.deflate(compression);
    }
    builder.shape(full).create(name)
}

fn write_values(ds: &hdf5::Dataset, shape: &[usize], start: usize, count: usize, values: &Values) -> hdf5::Result<()> {
    let full: Vec<usize> = std::iter::once(count).chain(shape.iter().copied()).collect();
    let selection: Vec<hdf5::SliceOrIndex> = std::iter::once((start..start + count).into()).chain(shape.iter().map(|&len| (0..len).into())).collect();
    let selection = hdf5::Hyperslab::from(selection);
    match values {
        Values::F32(v) => ds.write_slice(ArrayView::from_shape(full, v).expect("batch length matches schema"), selection),
        Values::F64(v) => ds.write_slice(ArrayView::from_shape(full, v).expect("batch length matches schema"), selection),
    }
}

/// The attributes every `/fields` dataset carries: role, description and axis names.
fn put_field_attributes(ds: &hdf5::Dataset, f: &crate::schema::FieldSpec) -> hdf5::Result<()> {
    put_str(ds, "role", f.role.as_str())?;
    put_str(ds, "description", &f.description)?;
    let axes: Vec<&str> = std::iter::once("sample").chain(f.axes.iter().map(String::as_str)).collect();
    put_str(ds, "axes", &axes.join(","))
}

pub(crate) fn put_str(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    let v: VarLenUnicode = value.parse().map_err(|e| hdf5::Error::from(format!("attribute {name}: {e}")))?;
    loc.new_attr::<VarLenUnicode>().create(name)?.write_scalar(&v)
}

pub(crate) fn put_u64(loc: &hdf5::Location, name: &str, value: u64) -> hdf5::Result<()> {
    loc.new_attr::<u64>().create(name)?.write_scalar(&value)
}

/// One source file of a virtual-dataset output.
#[derive(Debug, Clone)]
pub struct VirtualPart {
    /// Path of the part file relative to the output's directory.
    pub file: PathBuf,
    /// Position of the part's first sample in the output.
    pub offset: u64,
    /// Samples in the part.
    pub count: u64,
}

/// Write `final_path` whose fields and scalars are HDF5 virtual datasets over `parts` (each an
/// ordinary native file holding a contiguous run of samples). Same attributes as a merged file.
pub fn write_virtual_file(final_path: &Path, header: &Header, parts: &[VirtualPart]) -> Result<()> {
    let tmp = temp_sibling(final_path);
    let h5 = |e| DatasetError::hdf5(&tmp, e);
    let file = hdf5::File::create(&tmp).map_err(h5)?;
    write_root_attributes(&file, header).map_err(h5)?;
    put_u64(&file, "virtual_parts", parts.len() as u64).map_err(h5)?;
    let n = header.n_samples as usize;
    let schema = &header.schema;
    let dims = file.create_group("dimensions").map_err(h5)?;
    for d in &schema.dimensions {
        dims.new_dataset_builder().with_data(&d.values).create(d.name.as_str()).map_err(h5)?;
    }
    let groups = [
        ("fields", schema.fields.iter().map(|f| (f.name.clone(), f.shape.clone())).collect::<Vec<_>>()),
        ("scalars", schema.scalars.iter().map(|s| (s.name.clone(), s.shape.clone())).collect()),
    ];
    for (group_name, entries) in groups {
        let group = file.create_group(group_name).map_err(h5)?;
        for (name, shape) in entries {
            let full: Vec<usize> = std::iter::once(n).chain(shape.iter().copied()).collect();
            let mut builder = match header.precision {
                Precision::F32 => group.new_dataset::<f32>(),
                Precision::F64 => group.new_dataset::<f64>(),
            };
            for p in parts {
                let src: Vec<usize> = std::iter::once(p.count as usize).chain(shape.iter().copied()).collect();
                let dst: Vec<hdf5::SliceOrIndex> =
                    std::iter::once((p.offset as usize..(p.offset + p.count) as usize).into()).chain(shape.iter().map(|&len| (0..len).into())).collect();
                builder = builder.virtual_map(
                    p.file.to_string_lossy(),
                    format!("/{group_name}/{name}"),
                    src.clone(),
                    hdf5::Selection::All,
                    full.clone(),
                    hdf5::Hyperslab::from(dst),
                );
            }
            let ds = builder.shape(full).create(name.as_str()).map_err(h5)?;
            if let Some(f) = schema.fields.iter().find(|f| f.name == name && group_name == "fields") {
                put_field_attributes(&ds, f).map_err(h5)?;
            } else if let Some(s) = schema.scalars.iter().find(|s| s.name == name) {
                put_str(&ds, "description", &s.description).map_err(h5)?;
            }
        }
    }
    // Problems with text datasets are refused a virtual finish, so there is no `/symbolic` here.
    attach_dimension_scales(&file, schema, n).map_err(h5)?;
    let writer = Hdf5Writer { file, tmp, fields: vec![], scalars: vec![], texts: vec![] };
    writer.finish(final_path)
}
