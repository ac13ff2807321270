//! HDF5 dimension scales on native files, so netCDF-4 readers (xarray through h5netcdf or
//! netCDF4) see named dimensions and the `/dimensions` coordinates.
//!
//! The attributes are the ones the HDF5 Dimension Scale specification defines and the H5DS
//! high-level library writes; they are written here with the ordinary attribute API because the
//! hdf5-metno bindings expose no H5DS functions. On a scale: `CLASS = "DIMENSION_SCALE"`, `NAME`
//! and `REFERENCE_LIST` (one `{dataset, dimension}` entry per axis it is attached to); on a dataset:
//! `DIMENSION_LIST`, one list of scale references per axis.
//!
//! What gets a scale:
//! - every `/dimensions/<name>` vector; a field axis of that name and length has it attached;
//! - every axis without a coordinate vector (the sample axis, the ODE `component` axis, the extra
//!   axes of per-sample parameters): a netCDF "dimension without a variable", an f32 dataset at
//!   the root whose storage is never allocated, marked by netCDF's `NAME` text. netCDF readers
//!   reject a dataset whose axes are only partly scaled, so all axes of every per-sample dataset
//!   (fields, scalars, texts) get one.
//!
//! netCDF-4 looks a variable's dimensions up in its own group and the groups above it, never in a
//! sibling group such as `/dimensions`; so each coordinate scale also has a soft link at the root
//! (`/x -> /dimensions/x`). The `/dimensions`, `/fields`, `/scalars` and `/symbolic` groups keep
//! exactly their members, so h5py code that lists them reads what it read before.

use hdf5::types::{FixedAscii, TypeDescriptor, VarLenArray};
use hdf5::{H5Type, ObjectReference1};

use crate::schema::Schema;

/// What netCDF-4 writes in `NAME` for a dimension that has no coordinate variable (followed by
/// the length in ten characters); netCDF readers list such a scale as a dimension only.
const NOT_A_VARIABLE: &str = "This is a netCDF dimension but not a netCDF variable.";

/// One entry of a scale's `REFERENCE_LIST`: the dataset it is attached to and the axis.
/// Field names and order are the specification's (`dataset`, `dimension`).
#[derive(H5Type, Clone, Copy)]
#[repr(C)]
struct AttachedTo {
    dataset: ObjectReference1,
    dimension: i32,
}

/// A dimension scale to be written: its name, length and whether `/dimensions` holds its values.
#[derive(Debug, Clone, PartialEq)]
struct Scale {
    name: String,
    len: usize,
    coordinate: bool,
}

/// Which scales exist and which scale each axis of each per-sample dataset gets.
#[derive(Debug, Default)]
struct ScalePlan {
    scales: Vec<Scale>,
    /// (dataset path, scale index per axis, sample axis first).
    datasets: Vec<(String, Vec<usize>)>,
}

impl ScalePlan {
    fn new(schema: &Schema, n: usize) -> Self {
        let mut plan = ScalePlan {
            scales: schema.dimensions.iter().map(|d| Scale { name: d.name.clone(), len: d.values.len(), coordinate: true }).collect(),
            datasets: vec![],
        };
        for f in &schema.fields {
            // The schema names every field axis; a name missing there still gets a scale of its own.
            let names = (0..f.shape.len()).map(|k| f.axes.get(k).cloned().unwrap_or_else(|| format!("{}_dim{}", f.name, k + 1)));
            plan.add(format!("/fields/{}", f.name), n, names, &f.shape);
        }
        for s in &schema.scalars {
            plan.add(format!("/scalars/{}", s.name), n, (0..s.shape.len()).map(|k| format!("{}_dim{}", s.name, k + 1)), &s.shape);
        }
        for t in &schema.texts {
            plan.add(format!("/symbolic/{}", t.name), n, std::iter::empty(), &[]);
        }
        plan
    }

    fn add(&mut self, path: String, n: usize, names: impl Iterator<Item = String>, shape: &[usize]) {
        let axes = std::iter::once(self.scale("sample", n)).chain(names.zip(shape).map(|(name, &len)| self.scale(&name, len))).collect();
        self.datasets.push((path, axes));
    }

    /// The scale for an axis named `name` of length `len`: the coordinate vector or the
    /// dimension of that name when the length agrees, else a new dimension (named
    /// `<name>_<len>` when `name` is taken with another length).
    fn scale(&mut self, name: &str, len: usize) -> usize {
        match self.scales.iter().position(|s| s.name == name) {
            Some(i) if self.scales[i].len == len => i,
            Some(_) => self.scale(&format!("{name}_{len}"), len),
            None => {
                self.scales.push(Scale { name: name.to_string(), len, coordinate: false });
                self.scales.len() - 1
            }
        }
    }
}

/// Make `file`'s `/dimensions` vectors dimension scales, create the dimensions without
/// coordinates, and attach a scale to every axis of every per-sample dataset of `schema` (which
/// must all exist already, `n` samples long).
pub(crate) fn attach_dimension_scales(file: &hdf5::File, schema: &Schema, n: usize) -> hdf5::Result<()> {
    let plan = ScalePlan::new(schema, n);
    let mut refs = Vec::with_capacity(plan.scales.len());
    for s in &plan.scales {
        let ds = if s.coordinate {
            file.link_soft(&format!("/dimensions/{}", s.name), &s.name)?;
            file.dataset(&format!("dimensions/{}", s.name))?
        } else {
            file.new_dataset::<f32>().obj_track_times(false).shape(s.len).create(s.name.as_str())?
        };
        put_ascii(&ds, "CLASS", "DIMENSION_SCALE")?;
        let label = if s.coordinate { s.name.clone() } else { format!("{NOT_A_VARIABLE}{:10}", s.len) };
        put_ascii(&ds, "NAME", &label)?;
        refs.push((ds, file.reference::<ObjectReference1>(&s.name)?));
    }
    let mut attached: Vec<Vec<AttachedTo>> = vec![Vec::new(); plan.scales.len()];
    for (path, axes) in &plan.datasets {
        let ds = file.dataset(path)?;
        let list: Vec<VarLenArray<ObjectReference1>> = axes.iter().map(|&s| VarLenArray::from_slice(&[refs[s].1])).collect();
        ds.new_attr::<VarLenArray<ObjectReference1>>().shape(list.len()).create("DIMENSION_LIST")?.write_raw(&list)?;
        let dataset = file.reference::<ObjectReference1>(path)?;
        for (axis, &s) in axes.iter().enumerate() {
            attached[s].push(AttachedTo { dataset, dimension: axis as i32 });
        }
    }
    for ((ds, _), entries) in refs.iter().zip(&attached) {
        if !entries.is_empty() {
            ds.new_attr::<AttachedTo>().shape(entries.len()).create("REFERENCE_LIST")?.write_raw(entries)?;
        }
    }
    Ok(())
}

/// A fixed-length, NUL-terminated ASCII string attribute of `value.len() + 1` bytes: exactly what
/// H5DS writes. The H5DS readers (`H5DSis_scale`, which h5py's `dims` uses) accept no other
/// padding, and netCDF readers compare against bytes, which a variable-length string is not.
fn put_ascii(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    let text = FixedAscii::<64>::from_ascii(value.as_bytes()).map_err(|e| hdf5::Error::from(format!("attribute {name} = {value:?}: {e}")))?;
    let dtype = hdf5::Datatype::from_descriptor(&TypeDescriptor::FixedAscii(value.len() + 1))?;
    // hdf5-metno makes every fixed-length string NUL-padded and has no setter for the padding.
    // SAFETY: `dtype` holds a valid, modifiable string type (a copy made by `from_descriptor`) for
    // the whole call, and `sync` holds hdf5-metno's library lock as its own calls do.
    let status = hdf5::sync::sync(|| unsafe { hdf5_sys::h5t::H5Tset_strpad(dtype.id(), hdf5_sys::h5t::H5T_str_t::H5T_STR_NULLTERM) });
    if status < 0 {
        return Err(hdf5::Error::from(format!("attribute {name}: cannot make a NUL-terminated string type")));
    }
    loc.new_attr_builder().empty_as(dtype).create(name)?.write_scalar(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Dimension, FieldSpec, Role, ScalarSpec, TextSpec};

    fn schema() -> Schema {
        let field = |name: &str, shape: Vec<usize>, axes: &[&str]| FieldSpec {
            name: name.into(),
            shape,
            role: Role::Input,
            axes: axes.iter().map(|a| a.to_string()).collect(),
            description: String::new(),
        };
        Schema {
            fields: vec![field("u", vec![5, 3], &["time", "component"]), field("v", vec![4], &["time"])],
            scalars: vec![
                ScalarSpec { name: "nu".into(), shape: vec![], description: String::new() },
                ScalarSpec { name: "p".into(), shape: vec![2], description: String::new() },
            ],
            texts: vec![TextSpec { name: "tokens".into(), description: String::new() }],
            dimensions: vec![Dimension { name: "time".into(), values: vec![0.0; 5] }],
            attributes: vec![],
        }
    }

    #[test]
    fn every_axis_gets_a_scale_and_lengths_never_clash() {
        let plan = ScalePlan::new(&schema(), 7);
        let names: Vec<(&str, usize, bool)> = plan.scales.iter().map(|s| (s.name.as_str(), s.len, s.coordinate)).collect();
        assert_eq!(names, [("time", 5, true), ("sample", 7, false), ("component", 3, false), ("time_4", 4, false), ("p_dim1", 2, false)]);
        let axes: Vec<(&str, Vec<usize>)> = plan.datasets.iter().map(|(p, a)| (p.as_str(), a.clone())).collect();
        assert_eq!(
            axes,
            [("/fields/u", vec![1, 0, 2]), ("/fields/v", vec![1, 3]), ("/scalars/nu", vec![1]), ("/scalars/p", vec![1, 4]), ("/symbolic/tokens", vec![1])]
        );
    }

    #[test]
    fn written_scales_reference_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let file = hdf5::File::create(dir.path().join("s.h5")).unwrap();
        let schema = schema();
        file.create_group("dimensions").unwrap().new_dataset_builder().with_data(&[0.0f64; 5]).create("time").unwrap();
        let fields = file.create_group("fields").unwrap();
        fields.new_dataset::<f32>().shape([7, 5, 3]).create("u").unwrap();
        fields.new_dataset::<f32>().shape([7, 4]).create("v").unwrap();
        let scalars = file.create_group("scalars").unwrap();
        scalars.new_dataset::<f32>().shape([7]).create("nu").unwrap();
        scalars.new_dataset::<f32>().shape([7, 2]).create("p").unwrap();
        file.create_group("symbolic").unwrap().new_dataset::<f32>().shape([7]).create("tokens").unwrap();
        attach_dimension_scales(&file, &schema, 7).unwrap();

        let time = file.dataset("time").unwrap();
        let (root, kept) = (time.loc_info().unwrap(), file.loc_info_by_name("dimensions/time").unwrap());
        assert!(root.token == kept.token && kept.num_links == 1, "the root entry is a soft link to the coordinate vector");
        assert_eq!(time.attr("CLASS").unwrap().read_scalar::<FixedAscii<64>>().unwrap().as_str(), "DIMENSION_SCALE");
        let sample = file.dataset("sample").unwrap();
        assert_eq!(sample.shape(), [7]);
        assert_eq!(sample.attr("NAME").unwrap().read_scalar::<FixedAscii<64>>().unwrap().as_str(), format!("{NOT_A_VARIABLE}         7"));
        let list = file.dataset("fields/u").unwrap().attr("DIMENSION_LIST").unwrap().read_raw::<VarLenArray<ObjectReference1>>().unwrap();
        let names: Vec<String> = list
            .iter()
            .map(|l| match file.dereference(&l.as_slice()[0]).unwrap() {
                hdf5::ReferencedObject::Dataset(d) => d.name(),
                _ => panic!("a scale is a dataset"),
            })
            .collect();
        assert_eq!(names, ["/sample", "/dimensions/time", "/component"]);
        let back = sample.attr("REFERENCE_LIST").unwrap().read_raw::<AttachedTo>().unwrap();
        assert_eq!(back.len(), 5, "the sample axis of every per-sample dataset");
        assert!(back.iter().all(|e| e.dimension == 0));
    }
}
