//! Exports of finished native PDE files into the layouts existing Python code loads unchanged.
//!
//! * [`ExportLayout::Fno`]: a MATLAB v7.3 file (HDF5 with MATLAB's 512-byte header in the user
//!   block) holding FNO's variable names: Darcy-type problems `coeff` / `sol` (N, s, s);
//!   time-dependent 1-D problems `a` = u(t=0) and `u` = u(T) (N, X); Navier–Stokes `a` = w(t=0)
//!   (N, s, s), `u` = w(t_1 … t_T) (N, s, s, T) and `t`. As MATLAB does, every array is stored
//!   with its dimensions reversed (column-major), which is what FNO's `MatReader` undoes with
//!   `np.transpose(x, axes=range(len(x.shape) - 1, -1, -1))`; each dataset carries the
//!   `MATLAB_class` attribute.
//! * [`ExportLayout::Pdebench`]: PDEBench's HDF5 layout: 1-D problems `tensor` (N, Nt, Nx),
//!   `x-coordinate` (Nx), `t-coordinate` (Nt + 1: the stored times plus one more step, as in
//!   PDEBench's files) and the attributes `Nu` / `beta` / `rho`; Darcy `tensor` (N, 1, s, s) = u,
//!   `nu` (N, s, s) = a, `x-coordinate`, `y-coordinate` and `beta` (the forcing).
//!   PDEBench's Burgers equation is `u_t + (u²/2)_x = (Nu/π) u_xx`, so `Nu = π ν`.
//!   Navier–Stokes is written as PDEBench's 2-D CFD files are (the field-name branch of its
//!   `FNODatasetSingle` loader): `density`, `pressure`, `Vx`, `Vy`, each (N, Nt, s, s) with Nt the
//!   stored times (t = 0 included), `x-coordinate`, `y-coordinate`, `t-coordinate` (Nt) and the
//!   attributes `eta` (shear viscosity: ν, as the density is 1), `zeta` = 0 and `M` = 0 (the
//!   incompressible limit). The velocity and the pressure (`Δp = 2(u_x v_y − u_y v_x)`, mean zero)
//!   are computed spectrally from the stored vorticity, which is also kept as `vorticity`
//!   (N, Nt, s, s); `density` is 1.
//!
//! Poisson and Helmholtz have no PDEBench counterpart (PDEBench's only elliptic set is Darcy), so
//! `pdebench` refuses them; [`supported_problems`] lists what each layout takes.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use hdf5::types::FixedAscii;
use ndarray::{ArrayD, Axis, IxDyn};

use oplab_common::atomic::{commit, temp_sibling};

use crate::blocks::remove_stale_temporaries;
use crate::error::{DatasetError, Result};
use crate::reader::DatasetFile;
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
    /// The name used on the command line (`--layout fno|pdebench`).
    pub fn name(&self) -> &'static str {
        match self {
            ExportLayout::Fno => "fno",
            ExportLayout::Pdebench => "pdebench",
        }
    }
}

/// The problems `layout` can export.
pub fn supported_problems(layout: ExportLayout) -> &'static [&'static str] {
    match layout {
        ExportLayout::Fno => &["darcy", "poisson", "helmholtz", "burgers", "advection", "reaction-diffusion", "navier-stokes"],
        ExportLayout::Pdebench => &["darcy", "burgers", "advection", "reaction-diffusion", "navier-stokes"],
    }
}

/// Whether `layout` can export `problem`.
pub fn supports(layout: ExportLayout, problem: &str) -> bool {
    supported_problems(layout).contains(&problem)
}

/// The one-line refusal for a `problem` that `layout` cannot export: names the layout, the
/// problem and the problems it supports.
pub fn unsupported_message(layout: ExportLayout, problem: &str) -> String {
    let mut alternatives = vec!["native"];
    alternatives.extend([ExportLayout::Fno, ExportLayout::Pdebench].iter().filter(|l| supports(**l, problem)).map(|l| l.name()));
    format!(
        "layout = {} is invalid for {problem}: allowed for {} ({problem} can be written as {})",
        layout.name(),
        supported_problems(layout).join(", "),
        alternatives.join(" or ")
    )
}

/// Write `out` in `layout` from the finished native file `native`. `out` appears only when
/// complete (written under a temporary name, fsynced, renamed), so an existing export is a
/// finished one.
pub fn export(native: &Path, out: &Path, layout: ExportLayout) -> Result<()> {
    remove_stale_temporaries(out)?;
    let tmp = temp_sibling(out);
    let written = write_layout(native, out, &tmp, layout).and_then(|_| commit(&tmp, out).map_err(|e| DatasetError::io(out, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Write the export of `native` for `out` into the file `scratch` (errors name `out`).
fn write_layout(native: &Path, out: &Path, scratch: &Path, layout: ExportLayout) -> Result<()> {
    let info = DatasetFile::open(native)?.info().clone();
    if !supports(layout, &info.problem) {
        let allowed = format!("not available for {}; allowed for {}", info.problem, supported_problems(layout).join(", "));
        return Err(DatasetError::invalid("layout", layout.name(), allowed));
    }
    let h5 = |e: hdf5::Error| DatasetError::hdf5(out, e);
    let src = hdf5::File::open(native).map_err(|e| DatasetError::hdf5(native, e))?;
    let read = |name: &str| -> Result<ArrayD<f64>> {
        src.dataset(name).and_then(|d| d.read_dyn::<f64>()).map_err(|e| DatasetError::hdf5(native, e))
    };
    let single = info.precision == Precision::F32;
    let config: toml::Table = info.config.parse().map_err(|e| DatasetError::invalid("config", native.display(), format!("unparsable TOML: {e}")))?;
    let param = |key: &str| -> Option<f64> {
        config.get(&info.problem).and_then(|t| t.get(key)).and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
    };
    match layout {
        ExportLayout::Fno => {
            let file = hdf5::File::with_options().with_fcpl(|p| p.userblock(512)).create(scratch).map_err(h5)?;
            match info.problem.as_str() {
                "darcy" | "poisson" | "helmholtz" => {
                    // The schema read back from a file lists fields by name, not in generation
                    // order (Helmholtz's `wave_speed` sorts after `solution`), so pick by role.
                    let input = info
                        .schema
                        .fields
                        .iter()
                        .find(|f| f.role == crate::problem::Role::Input)
                        .map(|f| f.name.clone())
                        .ok_or_else(|| DatasetError::invalid("fields", native.display(), "no input field to export as coeff"))?;
                    write_matlab(&file, "coeff", read(&format!("fields/{input}"))?, single).map_err(h5)?;
                    write_matlab(&file, "sol", read("fields/solution")?, single).map_err(h5)?;
                }
                "navier-stokes" => {
                    let w = read("fields/vorticity")?; // (N, T+1, s, s)
                    let first = w.index_axis(Axis(1), 0).to_owned();
                    let rest = w.slice_axis(Axis(1), ndarray::Slice::from(1..)).permuted_axes(IxDyn(&[0, 2, 3, 1])).to_owned();
                    let times = read("dimensions/time")?;
                    let t = times.slice_axis(Axis(0), ndarray::Slice::from(1..)).to_owned().insert_axis(Axis(0));
                    write_matlab(&file, "a", first, single).map_err(h5)?;
                    write_matlab(&file, "u", rest, single).map_err(h5)?;
                    write_matlab(&file, "t", t, single).map_err(h5)?;
                }
                _ => {
                    let u = read("fields/u")?; // (N, T+1, X)
                    let last = u.shape()[1] - 1;
                    write_matlab(&file, "a", u.index_axis(Axis(1), 0).to_owned(), single).map_err(h5)?;
                    write_matlab(&file, "u", u.index_axis(Axis(1), last).to_owned(), single).map_err(h5)?;
                }
            }
            file.close().map_err(h5)?;
            write_matlab_header(scratch)?;
        }
        ExportLayout::Pdebench => {
            let file = hdf5::File::create(scratch).map_err(h5)?;
            let f32_of = |a: &ArrayD<f64>| a.mapv(|v| v as f32);
            if info.problem == "darcy" {
                let u = read("fields/solution")?.insert_axis(Axis(1));
                file.new_dataset_builder().with_data(&f32_of(&u)).create("tensor").map_err(h5)?;
                file.new_dataset_builder().with_data(&f32_of(&read("fields/coeff")?)).create("nu").map_err(h5)?;
                file.new_dataset_builder().with_data(&f32_of(&read("dimensions/x")?)).create("x-coordinate").map_err(h5)?;
                file.new_dataset_builder().with_data(&f32_of(&read("dimensions/y")?)).create("y-coordinate").map_err(h5)?;
                scalar_attr(&file, "beta", param("forcing").unwrap_or(1.0)).map_err(h5)?;
            } else if info.problem == "navier-stokes" {
                write_pdebench_cfd(&file, read("fields/vorticity")?, &read, param("viscosity").unwrap_or(f64::NAN)).map_err(h5)?;
            } else {
                file.new_dataset_builder().with_data(&f32_of(&read("fields/u")?)).create("tensor").map_err(h5)?;
                file.new_dataset_builder().with_data(&f32_of(&read("dimensions/x")?)).create("x-coordinate").map_err(h5)?;
                let times = read("dimensions/time")?;
                let n = times.len();
                let step = if n > 1 { times[[n - 1]] - times[[n - 2]] } else { 0.0 };
                let mut t: Vec<f64> = times.iter().copied().collect();
                t.push(t[n - 1] + step);
                file.new_dataset_builder().with_data(&t.iter().map(|v| *v as f32).collect::<Vec<_>>()).create("t-coordinate").map_err(h5)?;
                match info.problem.as_str() {
                    "burgers" => scalar_attr(&file, "Nu", std::f64::consts::PI * param("viscosity").unwrap_or(f64::NAN)).map_err(h5)?,
                    "advection" => scalar_attr(&file, "beta", param("beta").unwrap_or(f64::NAN)).map_err(h5)?,
                    _ => {
                        scalar_attr(&file, "Nu", param("nu").unwrap_or(f64::NAN)).map_err(h5)?;
                        scalar_attr(&file, "rho", param("rho").unwrap_or(f64::NAN)).map_err(h5)?;
                    }
                }
            }
            file.close().map_err(h5)?;
        }
    }
    Ok(())
}

/// PDEBench 2-D CFD datasets from the vorticity `w` (N, Nt, s, s).
fn write_pdebench_cfd(
    file: &hdf5::File,
    w: ArrayD<f64>,
    read: &dyn Fn(&str) -> Result<ArrayD<f64>>,
    viscosity: f64,
) -> std::result::Result<(), hdf5::Error> {
    let shape = w.shape().to_vec();
    let (n, nt, s) = (shape[0], shape[1], shape[2]);
    let primitive = oplab_solvers::navier_stokes::PrimitiveSolver::new(s);
    let mut vx = ndarray::Array4::<f32>::zeros((n, nt, s, s));
    let (mut vy, mut pressure) = (vx.clone(), vx.clone());
    for i in 0..n {
        for t in 0..nt {
            let field: Vec<f64> = w.slice(ndarray::s![i, t, .., ..]).iter().copied().collect();
            let p = primitive.solve(&field);
            for (dst, src) in [(&mut vx, &p.vx), (&mut vy, &p.vy), (&mut pressure, &p.pressure)] {
                for (d, &v) in dst.slice_mut(ndarray::s![i, t, .., ..]).iter_mut().zip(src) {
                    *d = v as f32;
                }
            }
        }
    }
    let density = ndarray::Array4::<f32>::ones((n, nt, s, s));
    file.new_dataset_builder().with_data(&density).create("density")?;
    file.new_dataset_builder().with_data(&pressure).create("pressure")?;
    file.new_dataset_builder().with_data(&vx).create("Vx")?;
    file.new_dataset_builder().with_data(&vy).create("Vy")?;
    file.new_dataset_builder().with_data(&w.mapv(|v| v as f32)).create("vorticity")?;
    let coordinate = |name: &str| read(name).map(|a| a.mapv(|v| v as f32)).map_err(|e| hdf5::Error::from(e.to_string()));
    file.new_dataset_builder().with_data(&coordinate("dimensions/x")?).create("x-coordinate")?;
    file.new_dataset_builder().with_data(&coordinate("dimensions/y")?).create("y-coordinate")?;
    file.new_dataset_builder().with_data(&coordinate("dimensions/time")?).create("t-coordinate")?;
    scalar_attr(file, "eta", viscosity)?;
    scalar_attr(file, "zeta", 0.0)?;
    scalar_attr(file, "M", 0.0)
}

fn scalar_attr(loc: &hdf5::Location, name: &str, value: f64) -> hdf5::Result<()> {
    loc.new_attr::<f64>().create(name)?.write_scalar(&value)
}

/// Store `array` as MATLAB does: dimensions reversed, data in column-major order.
fn write_matlab(file: &hdf5::File, name: &str, array: ArrayD<f64>, single: bool) -> hdf5::Result<()> {
    let reversed = array.reversed_axes();
    let standard = reversed.as_standard_layout();
    let class = if single {
        file.new_dataset_builder().with_data(&standard.mapv(|v| v as f32)).create(name)?;
        "single"
    } else {
        file.new_dataset_builder().with_data(&standard).create(name)?;
        "double"
    };
    let ds = file.dataset(name)?;
    let value = FixedAscii::<6>::from_ascii(class.as_bytes()).map_err(|e| hdf5::Error::from(e.to_string()))?;
    ds.new_attr::<FixedAscii<6>>().create("MATLAB_class")?.write_scalar(&value)
}

/// MATLAB's 128-byte v7.3 header at the start of the 512-byte user block.
fn write_matlab_header(path: &Path) -> Result<()> {
    let mut header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: oplab HDF5 schema 1.00 .".to_vec();
    header.resize(116, b' ');
    header.extend_from_slice(&[0u8; 8]); // subsystem data offset: none
    header.extend_from_slice(&[0x00, 0x02]); // version 0x0200
    header.extend_from_slice(b"IM"); // little-endian indicator
    let mut f = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| DatasetError::io(path, e))?;
    f.seek(SeekFrom::Start(0)).and_then(|_| f.write_all(&header)).and_then(|_| f.sync_all()).map_err(|e| DatasetError::io(path, e))
}
