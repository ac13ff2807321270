//! Training data from oplab's HDF5 files: the `role = input` and `role = target` fields, split
//! into train / validation / test by sample index, subsampled on load, batched and shuffled.
//!
//! Splits are contiguous index ranges in the order train, validation, test, so validation and
//! test never share samples (the reference multiscale setup, which validates on its test set,
//! is deliberately not reproduced).

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use oplab_datasets::{DatasetFile, Role};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::OperatorError;

/// Which samples and fields to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Input fields (empty: every field with `role = input`).
    pub inputs: Vec<String>,
    /// Target fields (empty: every field with `role = target`).
    pub targets: Vec<String>,
    /// Training samples (the first ones in the file) [default: the file's samples less the
    /// validation and test ones].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_train: Option<usize>,
    /// Validation samples (the next ones), used for model selection [default: 10 % of the file].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_val: Option<usize>,
    /// Test samples (the next ones), used only by `eval` [default: 10 % of the file].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_test: Option<usize>,
    /// Keep every `subsample`-th grid point along each axis (`::s` in the reference scripts).
    pub subsample: usize,
    /// How the file's node grid is cut before `::subsample` (see [`GridLayout`]).
    pub layout: GridLayout,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig { inputs: Vec::new(), targets: Vec::new(), n_train: None, n_val: None, n_test: None, subsample: 1, layout: GridLayout::Nodes }
    }
}

/// How a file's fields, sampled at all `N` nodes of `[0, 1]` (boundaries included), become the
/// grid a model sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GridLayout {
    /// Every `k`-th node, boundaries included (`[::k, ::k]` of the reference scripts): `n =
    /// ⌈N/k⌉` points `x_i = i·k/(N−1)`. The DFT treats the samples as one period of length
    /// `n·k/(N−1) ≠ 1`, a different one on every grid, so Fourier mode `m` is another physical
    /// frequency at each `k`.
    #[default]
    Nodes,
    /// The last node row and column dropped first, then every `k`-th point: `n = (N−1)/k` points
    /// `x_i = i/n`, period exactly 1 on every grid and nested grids (`k` must divide `N−1`); a
    /// model trained at `n_base` sees scale `s = n/n_base` exactly. The layout of the
    /// `operator-resolution` check and of resolution sweeps (`oplab eval --subsample`).
    Periodic,
}

impl GridLayout {
    /// The name a configuration uses.
    pub fn name(self) -> &'static str {
        match self {
            GridLayout::Nodes => "nodes",
            GridLayout::Periodic => "periodic",
        }
    }

    /// The grid `(h, w)` that keeping every `k`-th point of a file grid of `h0 × w0` nodes gives
    /// (`h0 = 1`: a 1-D field); `field` names the subsampling in the error when `k` does not fit.
    pub fn grid(self, h0: usize, w0: usize, k: usize, field: &str) -> crate::Result<(usize, usize)> {
        match self {
            GridLayout::Nodes => Ok((if h0 == 1 { 1 } else { h0.div_ceil(k) }, w0.div_ceil(k))),
            GridLayout::Periodic => {
                let (hp, wp) = (if h0 == 1 { 1 } else { h0.saturating_sub(1) }, w0.saturating_sub(1));
                let fits = |n: usize| n >= k && n.is_multiple_of(k);
                if !fits(wp) || (h0 > 1 && !fits(hp)) {
                    let sides = if h0 == 1 { format!("{wp}") } else { format!("{hp} and {wp}") };
                    return Err(OperatorError::invalid(
                        field,
                        k,
                        format!(
                            "must divide {sides}, the periodic grid of the file's {h0}×{w0} nodes less the last row and column (data.layout = \"periodic\")"
                        ),
                    ));
                }
                Ok((if h0 == 1 { 1 } else { hp / k }, wp / k))
            }
        }
    }
}

/// Share of a file's samples that an unset `n_val` or `n_test` takes.
const DEFAULT_HELD_OUT_SHARE: f64 = 0.1;

/// Which part of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Training samples.
    Train,
    /// Validation samples.
    Val,
    /// Test samples.
    Test,
}

/// Samples held in memory as `[n, channels, h, w]` row-major f32 arrays.
#[derive(Debug, Clone)]
pub struct FieldSet {
    /// Input values.
    pub input: Vec<f32>,
    /// Target values.
    pub target: Vec<f32>,
    /// Number of samples.
    pub n: usize,
    /// Input channels.
    pub c_in: usize,
    /// Target channels.
    pub c_out: usize,
    /// Grid height (1 for 1-D fields).
    pub h: usize,
    /// Grid width.
    pub w: usize,
}

/// Field names used, for the run record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldNames {
    /// Inputs, in channel order.
    pub inputs: Vec<String>,
    /// Targets, in channel order.
    pub targets: Vec<String>,
}

fn data_err(path: &Path, message: impl Into<String>) -> OperatorError {
    OperatorError::Data { path: path.to_path_buf(), message: message.into() }
}

impl DataConfig {
    /// Checks the ranges that do not need the file.
    pub fn validate(&self) -> crate::Result<()> {
        if self.n_train == Some(0) {
            return Err(OperatorError::invalid("data.n_train", 0, "must be >= 1"));
        }
        if self.subsample == 0 || self.subsample > 1024 {
            return Err(OperatorError::invalid("data.subsample", self.subsample, "must be 1 to 1024"));
        }
        Ok(())
    }

    /// Whether every split size is set (as in a stored run's config).
    pub fn split_is_resolved(&self) -> bool {
        self.n_train.is_some() && self.n_val.is_some() && self.n_test.is_some()
    }

    /// This configuration with every split size set for a file of `n_samples` samples: sizes
    /// given stay; an unset `n_val` or `n_test` is 10 % of the file (at least 1), an unset
    /// `n_train` the rest. So a first run needs no config: 80/10/10 % of whatever file it gets.
    pub fn with_split_for(&self, n_samples: usize) -> crate::Result<DataConfig> {
        let held_out = ((n_samples as f64 * DEFAULT_HELD_OUT_SHARE).round() as usize).max(1);
        let n_val = self.n_val.unwrap_or(held_out);
        let n_test = self.n_test.unwrap_or(held_out);
        let n_train = match self.n_train {
            Some(n) => n,
            None if n_samples > n_val + n_test => n_samples - n_val - n_test,
            None => {
                return Err(OperatorError::invalid(
                    "data.n_train",
                    format!("{n_samples} - {n_val} - {n_test}"),
                    format!("must be >= 1: a file of {n_samples} samples leaves none for training after {n_val} validation and {n_test} test samples"),
                ))
            }
        };
        let resolved = DataConfig { n_train: Some(n_train), n_val: Some(n_val), n_test: Some(n_test), ..self.clone() };
        resolved.validate()?;
        Ok(resolved)
    }

    /// `(n_train, n_val, n_test)`, unset sizes counted as 0 (resolve them first with
    /// [`DataConfig::with_split_for`]).
    pub fn split_sizes(&self) -> (usize, usize, usize) {
        (self.n_train.unwrap_or(0), self.n_val.unwrap_or(0), self.n_test.unwrap_or(0))
    }

    /// The index range of a split.
    pub fn range(&self, split: Split) -> std::ops::Range<usize> {
        let (n_train, n_val, n_test) = self.split_sizes();
        match split {
            Split::Train => 0..n_train,
            Split::Val => n_train..n_train + n_val,
            Split::Test => n_train + n_val..n_train + n_val + n_test,
        }
    }

    /// Loads one split of `path` at the configured `subsample`.
    pub fn load(&self, path: &Path, split: Split) -> crate::Result<(FieldSet, FieldNames)> {
        self.load_at(path, split, self.subsample, "data.subsample")
    }

    /// Loads one split of `path`, keeping every `k`-th point of the file's grid in this
    /// configuration's layout (a resolution sweep loads the same samples at several `k`);
    /// `field` names `k` in errors.
    pub fn load_at(&self, path: &Path, split: Split, k: usize, field: &str) -> crate::Result<(FieldSet, FieldNames)> {
        self.validate()?;
        let file = DatasetFile::open(path)?;
        let info = file.info();
        let pick = |wanted: &[String], role: Role, what: &str| -> crate::Result<Vec<(String, Vec<usize>)>> {
            let fields = &info.schema.fields;
            let chosen: Vec<_> = if wanted.is_empty() {
                fields.iter().filter(|f| f.role == role).map(|f| (f.name.clone(), f.shape.clone())).collect()
            } else {
                wanted
                    .iter()
                    .map(|name| {
                        fields.iter().find(|f| &f.name == name).map(|f| (f.name.clone(), f.shape.clone())).ok_or_else(|| {
                            let names: Vec<_> = fields.iter().map(|f| f.name.as_str()).collect();
                            OperatorError::invalid(format!("data.{what}"), name, format!("must name a field of the file: {}", names.join(", ")))
                        })
                    })
                    .collect::<crate::Result<_>>()?
            };
            if chosen.is_empty() {
                return Err(data_err(path, format!("has no field with role = {} (set data.{what} to choose fields)", role.as_str())));
            }
            Ok(chosen)
        };
        let inputs = pick(&self.inputs, Role::Input, "inputs")?;
        let targets = pick(&self.targets, Role::Target, "targets")?;
        let shape = inputs[0].1.clone();
        if shape.is_empty() || shape.len() > 2 {
            return Err(data_err(path, format!("field {} has per-sample shape {:?}; training supports 1-D and 2-D fields", inputs[0].0, shape)));
        }
        for (name, s) in inputs.iter().chain(&targets) {
            if s != &shape {
                return Err(data_err(path, format!("field {name} has shape {s:?} but {} has {shape:?}; all fields must share one grid", inputs[0].0)));
            }
        }
        let total = info.n_samples as usize;
        let resolved;
        let this = if self.split_is_resolved() {
            self
        } else {
            resolved = self.with_split_for(total)?;
            &resolved
        };
        let (n_train, n_val, n_test) = this.split_sizes();
        let need = n_train + n_val + n_test;
        if need > total {
            return Err(OperatorError::invalid("data.n_train + n_val + n_test", need, format!("must be at most the {total} samples of {}", path.display())));
        }
        let range = this.range(split);
        let (h0, w0) = if shape.len() == 1 { (1, shape[0]) } else { (shape[0], shape[1]) };
        let s = k;
        let (h, w) = self.layout.grid(h0, w0, s, field)?;
        let (hs, ws) = (if h0 == 1 { 1 } else { s }, s);
        let read = |list: &[(String, Vec<usize>)]| -> crate::Result<Vec<f32>> {
            let c = list.len();
            let mut out = vec![0f32; range.len() * c * h * w];
            for (ch, (name, _)) in list.iter().enumerate() {
                let (values, dims) = file.read_field_f32(name)?;
                let per = h0 * w0;
                if values.len() != total * per || dims.first() != Some(&total) {
                    return Err(data_err(path, format!("field {name} holds {} values, expected {} × {per}", values.len(), total)));
                }
                for (k, i) in range.clone().enumerate() {
                    let src = &values[i * per..(i + 1) * per];
                    let dst = &mut out[(k * c + ch) * h * w..(k * c + ch + 1) * h * w];
                    for r in 0..h {
                        for q in 0..w {
                            dst[r * w + q] = src[(r * hs) * w0 + q * ws];
                        }
                    }
                }
            }
            if let Some(bad) = out.iter().position(|v| !v.is_finite()) {
                let (sample, channel) = (range.start + bad / (c * h * w), bad / (h * w) % c);
                return Err(data_err(path, format!("field {} holds {} in sample {sample}; every value must be finite", list[channel].0, out[bad])));
            }
            Ok(out)
        };
        let set = FieldSet { input: read(&inputs)?, target: read(&targets)?, n: range.len(), c_in: inputs.len(), c_out: targets.len(), h, w };
        let names = FieldNames { inputs: inputs.into_iter().map(|x| x.0).collect(), targets: targets.into_iter().map(|x| x.0).collect() };
        Ok((set, names))
    }
}

impl FieldSet {
    /// Values per sample of the input and of the target.
    pub fn sample_len(&self) -> (usize, usize) {
        (self.c_in * self.h * self.w, self.c_out * self.h * self.w)
    }

    /// The samples `idx` as tensors `([b, c_in, h, w], [b, c_out, h, w])`.
    pub fn batch<B: Backend>(&self, idx: &[usize], device: &B::Device) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let (li, lo) = self.sample_len();
        let mut x = Vec::with_capacity(idx.len() * li);
        let mut y = Vec::with_capacity(idx.len() * lo);
        for &i in idx {
            x.extend_from_slice(&self.input[i * li..(i + 1) * li]);
            y.extend_from_slice(&self.target[i * lo..(i + 1) * lo]);
        }
        let b = idx.len();
        (
            Tensor::from_data(TensorData::new(x, [b, self.c_in, self.h, self.w]), device),
            Tensor::from_data(TensorData::new(y, [b, self.c_out, self.h, self.w]), device),
        )
    }
}

/// The order of the training samples in `epoch`: a permutation drawn from a ChaCha stream
/// seeded by (seed, epoch) alone, so a resumed run shuffles exactly as an uninterrupted one
/// without storing RNG state.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5ee_d0f0_da7a);
    rng.set_stream(epoch as u64);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    idx
}

/// Splits `order` into batches of at most `batch_size`.
pub fn batches(order: &[usize], batch_size: usize) -> impl Iterator<Item = &[usize]> {
    order.chunks(batch_size.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_split_takes_80_10_10_percent_of_the_file() {
        let d = DataConfig::default().with_split_for(24).unwrap();
        assert_eq!(d.split_sizes(), (20, 2, 2));
        assert_eq!(DataConfig::default().with_split_for(1504).unwrap().split_sizes(), (1204, 150, 150));
        let given = DataConfig { n_train: Some(1280), n_val: Some(112), n_test: Some(112), ..DataConfig::default() };
        assert_eq!(given.with_split_for(1504).unwrap().split_sizes(), (1280, 112, 112));
        let only_train = DataConfig { n_train: Some(10), ..DataConfig::default() };
        assert_eq!(only_train.with_split_for(100).unwrap().split_sizes(), (10, 10, 10));
        let err = DataConfig::default().with_split_for(2).unwrap_err().to_string();
        assert!(err.starts_with("data.n_train = 2 - 1 - 1 is invalid"), "{err}");
    }

    #[test]
    fn periodic_layout_drops_the_last_node_and_needs_k_to_divide_the_rest() {
        assert_eq!(GridLayout::Nodes.grid(513, 513, 4, "k").unwrap(), (129, 129));
        assert_eq!(GridLayout::Periodic.grid(513, 513, 4, "k").unwrap(), (128, 128));
        assert_eq!(GridLayout::Periodic.grid(17, 9, 8, "k").unwrap(), (2, 1));
        assert_eq!(GridLayout::Periodic.grid(1, 65, 2, "k").unwrap(), (1, 32));
        let err = GridLayout::Periodic.grid(513, 513, 3, "--subsample").unwrap_err().to_string();
        assert!(err.starts_with("--subsample = 3 is invalid: must divide 512 and 512"), "{err}");
        assert!(GridLayout::Periodic.grid(17, 17, 32, "k").is_err());
        let toml = "subsample = 2\nlayout = \"periodic\"\n";
        assert_eq!(toml::from_str::<DataConfig>(toml).unwrap().layout, GridLayout::Periodic);
        assert!(toml::from_str::<DataConfig>("layout = \"cells\"\n").is_err());
    }

    #[test]
    fn epoch_orders_are_seeded_permutations() {
        let a = epoch_order(50, 7, 3);
        assert_eq!(a, epoch_order(50, 7, 3));
        assert_ne!(a, epoch_order(50, 7, 4));
        assert_ne!(a, epoch_order(50, 8, 3));
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..50).collect::<Vec<_>>());
    }
}
