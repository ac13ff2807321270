//! Exports of finished native files into the layouts existing Python code loads unchanged.
//!
//! This module holds what every export shares: the layouts, the atomic write of the exported
//! file, reading the native file ([`NativeFile`]) and the two writers ([`MatlabWriter`],
//! [`PdebenchWriter`]). What a problem's export holds is decided by the problem itself
//! (`ProblemModule::exporter`, next to its sampler), so adding a problem or a layout to a
//! problem touches only that problem's module.
//!
//! * [`ExportLayout::Fno`]: a MATLAB v7.3 file (HDF5 with MATLAB's 512-byte header in the user
//!   block) holding FNO's variable names. As MATLAB does, every array is stored with its
//!   dimensions reversed (column-major), which is what FNO's `MatReader` undoes with
//!   `np.transpose(x, axes=range(len(x.shape) - 1, -1, -1))`; each dataset carries the
//!   `MATLAB_class` attribute.
//! * [`ExportLayout::Pdebench`]: PDEBench's HDF5 layout: single-precision datasets named as
//!   PDEBench's `FNODatasetSingle` loader reads them, and the equation's parameters as `f64` root
//!   attributes.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hdf5::types::FixedAscii;
use ndarray::ArrayD;
use serde::de::DeserializeOwned;

use oplab_common::atomic::{commit, temp_sibling};

use crate::blocks::remove_stale_temporaries;
use crate::error::{DatasetError, Result};
use crate::reader::{DatasetFile, DatasetInfo};
use crate::schema::Role;
use crate::settings::Precision;

/// Layouts a native file can be exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportLayout {
    /// FNO's MATLAB v7.3 files.
    Fno,
    /// PDEBench's HDF5 files.
    Pdebench,
}

impl ExportLayout {
    /// Every export layout.
    pub const ALL: [ExportLayout; 2] = [ExportLayout::Fno, ExportLayout::Pdebench];

    /// The name used on the command line (`--layout fno|pdebench`).
    pub fn name(&self) -> &'static str {
        match self {
            ExportLayout::Fno => "fno",
            ExportLayout::Pdebench => "pdebench",
        }
    }

    /// Extension of the default output name (`darcy.mat`, `darcy.hdf5`).
    pub fn extension(&self) -> &'static str {
        match self {
            ExportLayout::Fno => "mat",
            ExportLayout::Pdebench => "hdf5",
        }
    }
}

/// Writes one layout of one problem: reads the finished native file and writes the new file
/// (see [`ExportFile`]).
pub type Exporter = fn(&NativeFile, &ExportFile) -> Result<()>;

/// Write `out` from the finished native file `native` with `exporter`. `out` appears only when
/// complete (written under a temporary name, fsynced, renamed), so an existing export is a
/// finished one.
pub fn export_with(exporter: Exporter, native: &Path, out: &Path) -> Result<()> {
    let source = NativeFile::open(native)?;
    remove_stale_temporaries(out)?;
    let scratch = temp_sibling(out);
    let written = exporter(&source, &ExportFile { out, scratch: &scratch }).and_then(|_| commit(&scratch, out).map_err(|e| DatasetError::io(out, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&scratch);
    }
    written
}

/// A finished native file, opened for an export.
pub struct NativeFile {
    path: PathBuf,
    info: DatasetInfo,
    file: hdf5::File,
}

impl NativeFile {
    fn open(path: &Path) -> Result<Self> {
        let info = DatasetFile::open(path)?.info().clone();
        let file = hdf5::File::open(path).map_err(|e| DatasetError::hdf5(path, e))?;
        Ok(NativeFile { path: path.to_path_buf(), info, file })
    }

    /// What the file says about itself.
    pub fn info(&self) -> &DatasetInfo {
        &self.info
    }

    /// Whether the fields are stored in single precision (an export keeps the precision where
    /// its layout allows either).
    pub fn single(&self) -> bool {
        self.info.precision == Precision::F32
    }

    /// The dataset at `name` (e.g. `fields/solution`, `dimensions/x`) in `f64`.
    pub fn read(&self, name: &str) -> Result<ArrayD<f64>> {
        self.file.dataset(name).and_then(|d| d.read_dyn::<f64>()).map_err(|e| DatasetError::hdf5(&self.path, e))
    }

    /// The field of the (first) given role, e.g. the input of an elliptic problem. The schema read
    /// back from a file lists fields by name, not in generation order, hence a lookup by role.
    pub fn field_with_role(&self, role: Role) -> Result<ArrayD<f64>> {
        let field = self
            .info
            .schema
            .fields
            .iter()
            .find(|f| f.role == role)
            .ok_or_else(|| DatasetError::invalid("fields", self.path.display(), format!("no {} field to export", role.as_str())))?;
        self.read(&format!("fields/{}", field.name))
    }

    /// The problem's stored configuration (its `[<problem>]` table), as the problem's config type.
    pub fn config<C: DeserializeOwned>(&self) -> Result<C> {
        let unreadable = |why: String| DatasetError::invalid_file(&self.path, format!("its config cannot be read back: {why}"));
        let mut doc: toml::Table = self.info.config.parse().map_err(|e: toml::de::Error| unreadable(e.message().trim().to_string()))?;
        let table = doc.remove(&self.info.problem).ok_or_else(|| unreadable(format!("no [{}] table", self.info.problem)))?;
        table.try_into().map_err(|e: toml::de::Error| unreadable(e.message().trim().to_string()))
    }
}

/// The file an [`Exporter`] writes: created at a temporary path that [`export_with`] renames to the
/// output once complete. Errors name the output.
pub struct ExportFile<'a> {
    out: &'a Path,
    scratch: &'a Path,
}

impl ExportFile<'_> {
    /// Start a MATLAB v7.3 file, storing `f32` values (MATLAB class `single`) when `single`.
    pub fn matlab(&self, single: bool) -> Result<MatlabWriter> {
        let file = hdf5::File::with_options().with_fcpl(|p| p.userblock(512)).create(self.scratch).map_err(|e| self.hdf5(e))?;
        Ok(MatlabWriter { file, out: self.out.to_path_buf(), scratch: self.scratch.to_path_buf(), single })
    }

    /// Start a PDEBench HDF5 file.
    pub fn pdebench(&self) -> Result<PdebenchWriter> {
        let file = hdf5::File::create(self.scratch).map_err(|e| self.hdf5(e))?;
        Ok(PdebenchWriter { file, out: self.out.to_path_buf() })
    }

    fn hdf5(&self, e: hdf5::Error) -> DatasetError {
        DatasetError::hdf5(self.out, e)
    }
}

/// A MATLAB v7.3 file being written.
pub struct MatlabWriter {
    file: hdf5::File,
    out: PathBuf,
    scratch: PathBuf,
    single: bool,
}

impl MatlabWriter {
    /// Store `array` as MATLAB does: dimensions reversed, data in column-major order.
    pub fn write(&self, name: &str, array: ArrayD<f64>) -> Result<()> {
        let written = || -> hdf5::Result<()> {
            let reversed = array.reversed_axes();
            let standard = reversed.as_standard_layout();
            let class = if self.single {
                self.file.new_dataset_builder().with_data(&standard.mapv(|v| v as f32)).create(name)?;
                "single"
            } else {
                self.file.new_dataset_builder().with_data(&standard).create(name)?;
                "double"
            };
            let ds = self.file.dataset(name)?;
            let value = FixedAscii::<6>::from_ascii(class.as_bytes()).map_err(|e| hdf5::Error::from(e.to_string()))?;
            ds.new_attr::<FixedAscii<6>>().create("MATLAB_class")?.write_scalar(&value)
        };
        written().map_err(|e| DatasetError::hdf5(&self.out, e))
    }

    /// Close the file and write MATLAB's 128-byte v7.3 header at the start of the user block.
    pub fn finish(self) -> Result<()> {
        self.file.close().map_err(|e| DatasetError::hdf5(&self.out, e))?;
        let path = &self.scratch;
        let mut header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: oplab HDF5 schema 1.00 .".to_vec();
        header.resize(116, b' ');
        header.extend_from_slice(&[0u8; 8]); // subsystem data offset: none
        header.extend_from_slice(&[0x00, 0x02]); // version 0x0200
        header.extend_from_slice(b"IM"); // little-endian indicator
        let mut f = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| DatasetError::io(path, e))?;
        f.seek(SeekFrom::Start(0)).and_then(|_| f.write_all(&header)).and_then(|_| f.sync_all()).map_err(|e| DatasetError::io(path, e))
    }
}

/// A PDEBench HDF5 file being written: arrays in single precision, parameters as `f64` root
/// attributes.
pub struct PdebenchWriter {
    file: hdf5::File,
    out: PathBuf,
}

impl PdebenchWriter {
    /// Store `array` as `f32` under `name`.
    pub fn write(&self, name: &str, array: &ArrayD<f64>) -> Result<()> {
        self.write_f32(name, &array.mapv(|v| v as f32))
    }

    /// Store an `f32` array under `name`.
    pub fn write_f32<D: ndarray::Dimension>(&self, name: &str, array: &ndarray::Array<f32, D>) -> Result<()> {
        self.file.new_dataset_builder().with_data(array).create(name).map(|_| ()).map_err(|e| DatasetError::hdf5(&self.out, e))
    }

    /// A scalar `f64` attribute on the root group.
    pub fn attribute(&self, name: &str, value: f64) -> Result<()> {
        let written = || self.file.new_attr::<f64>().create(name)?.write_scalar(&value);
        written().map_err(|e| DatasetError::hdf5(&self.out, e))
    }

    /// Close the file.
    pub fn finish(self) -> Result<()> {
        self.file.close().map_err(|e| DatasetError::hdf5(&self.out, e))
    }
}
