//! Trained MgNO and FNO weights out of a run directory and back into a model, as safetensors
//! files a PyTorch implementation of the same model loads with `load_state_dict(strict=True)`.
//!
//! `oplab export --run RUN --out FILE.safetensors` writes the run's best model (by validation
//! error) under PyTorch names and layouts; `oplab train mgno|fno --init FILE` starts a run from
//! such a file (names and shapes checked against the configured model, strictly: a missing,
//! misshapen or unknown tensor is an error naming it). Every tensor is little-endian `F32`,
//! except FNO's spectral weights, which are `C64` (complex64: real and imaginary parts
//! interleaved, as `torch.complex64` stores them), so `safetensors.torch.load_file` yields
//! tensors of the twin's dtypes.
//!
//! # MgNO: the reference `MgNO_DC` (xlliu2017/MgNO, `models.py`)
//!
//! | oplab parameter | PyTorch key | shape |
//! |---|---|---|
//! | `blocks.i.levels.0.pre.0.s.weight` | `conv_list.i.layer0.0.S.weight` (MgIte_init) | `[c_u, c_f, 3, 3]` |
//! | `blocks.i.levels.0.pre.p.{a,s}.weight`, p ≥ 1 | `conv_list.i.layer0.p.{A,S}.weight` | A `[c_f, c_u, 3, 3]`, S `[c_u, c_f, 3, 3]` |
//! | `blocks.i.levels.l.restrict.{pi,r}.weight`, l ≥ 1 | `conv_list.i.layer{l}.0.{Pi,R}.weight` | Pi `[c_u, c_u, 3, 3]`, R `[c_f, c_f, 3, 3]` |
//! | `blocks.i.levels.l.pre.p.{a,s}.weight`, l ≥ 1 | `conv_list.i.layer{l}.{p+1}.{A,S}.weight` | as above |
//! | `blocks.i.levels.l.post.p.{a,s}.weight` | `conv_list.i.post_smooth_layer{l}.p.{A,S}.weight` | as above |
//! | `blocks.i.levels.l.prolong.weight` | `conv_list.i.RTlayers.l.weight` (ConvTranspose2d) | `[c_u, c_u, k, k]` |
//! | `skips.i.{weight,bias}` | `linear_list.i.{weight,bias}` | `[c_u, c_in, 1, 1]`, `[c_u]` |
//! | `head.weight` | `linear.weight` | `[c_out, c_u, 1, 1]` |
//!
//! c_f is the layer's input width (the data's channels in layer 0, c_u after). Layouts are
//! unchanged: oplab's convolutions already hold PyTorch's `[out, in, k, k]`, its transposed
//! convolutions `[in, out, k, k]`. The reference code's `MgConv_DC` hard-codes kernel 4 for
//! `RTlayers`; a run with other `prolongation_kernels` exports those kernels' shapes.
//!
//! # FNO: neuraloperator's module names
//!
//! | oplab parameter | PyTorch key | shape |
//! |---|---|---|
//! | `lift.{weight,bias}` | `lifting.fcs.0.{weight,bias}` (Conv1d) | `[w, c_in + 2, 1]`, `[w]` |
//! | `spectral.i.weight_re` + `weight_im` | `fno_blocks.convs.i.weight` (complex64) | `[w, w, 2·m1, m2]` |
//! | `pointwise.i.bias` | `fno_blocks.convs.i.bias` | `[w, 1, 1]` |
//! | `pointwise.i.weight` | `fno_blocks.fno_skips.i.conv.weight` (Conv1d, no bias) | `[w, w, 1]` |
//! | `proj1.{weight,bias}` | `projection.fcs.0.{weight,bias}` | `[p, w, 1]`, `[p]` |
//! | `proj2.{weight,bias}` | `projection.fcs.1.{weight,bias}` | `[c_out, p, 1]`, `[c_out]` |
//!
//! The 1×1 convolutions become Conv1d weights (`[out, in, 1, 1]` → `[out, in, 1]`, same values).
//! The pointwise bias moves to the spectral convolution, where neuraloperator keeps it (both
//! are added before the activation). The spectral weight's axis 2 holds the H-modes in
//! neuraloperator's fftshift order, index k being frequency k − m1 (oplab keeps 0 … m1−1 first,
//! then −m1 … −1, as the reference `fourier_2d.py`'s `weights1`/`weights2`); axis 3 holds the
//! rfft frequencies 0 … m2−1. The two coordinate channels (y along H, then x along W) follow the
//! inputs, at `i/(n−1)` or, on a periodic grid, `i/n` (metadata `oplab.fno.grid_channels`).
//! Which neuraloperator release loads the file unchanged depends on how that release wraps its
//! dense spectral weight; the layout above is what `bench/operators/export_check.py`'s twin
//! loads strictly and runs to the same outputs.
//!
//! # Metadata (strings)
//!
//! `format` (`pt`), `oplab.kind` (`mgno`/`fno`), `oplab.naming`, `oplab.version`,
//! `oplab.config` (the run's `config.toml`), `oplab.model` (the model configuration as JSON,
//! with the data's channels), `oplab.channels` (`[c_in, c_out]`), `oplab.grid` (training grid
//! `[H, W]`), `oplab.best_epoch`, `oplab.best_val_l2`, `oplab.normalizers` (JSON: `input` and
//! `target`, each `mean`, `std` and `eps`, one value or one per `(channel, y, x)` of a sample;
//! encode `(x − mean)/(std + eps)`, decode `y·(std + eps) + mean`), and for FNO
//! `oplab.fno.grid_channels` (`nodes`, `periodic` or `none`), `oplab.fno.domain_padding`
//! (pixels of zero padding at the far end of both axes) and `oplab.fno.modes`. The normaliser
//! statistics live in the metadata, not among the tensors, so the state dict holds the model's
//! parameters only.

pub mod names;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::backend::Cpu;
use crate::error::OperatorError;
use crate::models::{Fno2d, MgNo};
use crate::run::{run_err, write_atomic, RunDir};
use crate::training::config::{ModelKind, TrainConfig};
use crate::training::state::{files, from_bytes, read_run_config, read_run_state, Normalizers, RunState};
use names::{shifted_index, Part, Slot};

/// A model's float parameters by burn module path: shape and values (f32, row-major).
pub type Params = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Every float parameter of `module`, by its module path (`blocks.0.head.weight`).
pub fn collect<B: Backend, M: Module<B>>(module: &M) -> Params {
    struct Collect {
        path: Vec<String>,
        out: Params,
    }
    impl<B: Backend> ModuleVisitor<B> for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let t = param.val();
            let shape = t.dims().to_vec();
            let values = t.into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default();
            self.out.insert(self.path.join("."), (shape, values));
        }
    }
    let mut c = Collect { path: Vec::new(), out: BTreeMap::new() };
    module.visit(&mut c);
    c.out
}

/// `module` with the parameters named in `values` replaced (shapes as the module's; the caller
/// checked them), keeping each parameter's dtype, device and gradient flag.
pub fn replace<B: Backend, M: Module<B>>(module: M, values: &HashMap<String, Vec<f32>>) -> M {
    struct Replace<'a> {
        path: Vec<String>,
        values: &'a HashMap<String, Vec<f32>>,
    }
    impl<B: Backend> ModuleMapper<B> for Replace<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let Some(v) = self.values.get(&self.path.join(".")) else {
                return param;
            };
            param.map(|t| {
                let grad = t.is_require_grad();
                let data = TensorData::new(v.clone(), t.shape()).convert_dtype(t.dtype());
                Tensor::from_data(data, (&t.device(), t.dtype())).set_require_grad(grad)
            })
        }
    }
    module.map(&mut Replace { path: Vec::new(), values })
}

/// The PyTorch home of the parameter at `path` of a `kind` model.
fn slot(kind: ModelKind, path: &str, shape: &[usize]) -> crate::Result<Slot> {
    let found = match kind {
        ModelKind::Mgno => names::mgno(path, shape),
        ModelKind::Fno => names::fno(path, shape),
        other => return Err(unsupported(other.name())),
    };
    found.ok_or_else(|| OperatorError::Request(format!("{} parameter {path} {shape:?} has no PyTorch name", kind.name())))
}

fn unsupported(kind: &str) -> OperatorError {
    OperatorError::Request(format!("{kind} runs cannot be exported or imported as safetensors (mgno and fno can)"))
}

/// A PyTorch tensor being assembled: dtype, shape and little-endian bytes.
struct TorchTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl safetensors::View for &TorchTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        (&self.bytes[..]).into()
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Position of `params`' element `i` (row-major over `shape`, `[c_in, c_out, 2·m1, m2]`) in the
/// complex tensor, as a complex index.
fn complex_index(i: usize, shape: &[usize], m1: usize) -> usize {
    let (k2, m2) = (shape[2], shape[3]);
    let (outer, j, c) = (i / (k2 * m2), (i / m2) % k2, i % m2);
    (outer * k2 + shifted_index(j, m1)) * m2 + c
}

/// The state dict of `params` (a `kind` model) under PyTorch names.
fn torch_tensors(kind: ModelKind, params: &Params) -> crate::Result<BTreeMap<String, TorchTensor>> {
    let mut out: BTreeMap<String, TorchTensor> = BTreeMap::new();
    for (path, (shape, values)) in params {
        let s = slot(kind, path, shape)?;
        let numel: usize = s.shape.iter().product();
        let entry = out.entry(s.name.clone()).or_insert_with(|| TorchTensor {
            dtype: if s.is_complex() { Dtype::C64 } else { Dtype::F32 },
            shape: s.shape.clone(),
            bytes: vec![0; numel * if s.is_complex() { 8 } else { 4 }],
        });
        for (i, v) in values.iter().enumerate() {
            let at = match s.part {
                Part::Whole => 4 * i,
                Part::Real { m1 } => 8 * complex_index(i, shape, m1),
                Part::Imag { m1 } => 8 * complex_index(i, shape, m1) + 4,
            };
            entry.bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}

/// The values of every parameter of `template` (a `kind` model) from the state dict in `file`;
/// `what` names the file in errors (`--init FILE`).
fn from_torch(kind: ModelKind, template: &Params, file: &SafeTensors, what: &str) -> crate::Result<HashMap<String, Vec<f32>>> {
    let err = |m: String| OperatorError::Request(format!("{what}: {m}"));
    let mut used = std::collections::BTreeSet::new();
    let mut out = HashMap::new();
    for (path, (shape, _)) in template {
        let s = slot(kind, path, shape)?;
        let view: TensorView =
            file.tensor(&s.name).map_err(|_| err(format!("tensor {} is missing (this {} model needs it, shape {:?})", s.name, kind.name(), s.shape)))?;
        let want = if s.is_complex() { Dtype::C64 } else { Dtype::F32 };
        if view.dtype() != want {
            return Err(err(format!("tensor {} is {:?}; this {} model needs {want:?}", s.name, view.dtype(), kind.name())));
        }
        if view.shape() != s.shape.as_slice() {
            return Err(err(format!("tensor {} has shape {:?}; this {} model needs {:?}", s.name, view.shape(), kind.name(), s.shape)));
        }
        let bytes = view.data();
        let word = |at: usize| f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|i| match s.part {
                Part::Whole => word(4 * i),
                Part::Real { m1 } => word(8 * complex_index(i, shape, m1)),
                Part::Imag { m1 } => word(8 * complex_index(i, shape, m1) + 4),
            })
            .collect();
        used.insert(s.name);
        out.insert(path.clone(), values);
    }
    if let Some(extra) = file.names().into_iter().find(|n| !used.contains(*n)) {
        return Err(err(format!("tensor {extra} is not a parameter of this {} model", kind.name())));
    }
    Ok(out)
}

/// `model` (a `kind` model, freshly built from its configuration) with the weights of the
/// safetensors file `path`: every parameter present under its PyTorch name, with its shape
/// and dtype, and nothing else. Errors are one line naming the tensor; `flag` names the option
/// in them (`--init`).
pub fn load_into<B: Backend, M: Module<B>>(model: M, kind: ModelKind, path: &Path, flag: &str) -> crate::Result<M> {
    let what = format!("{flag} {}", path.display());
    let err = |m: String| OperatorError::Request(format!("{what}: {m}"));
    if !matches!(kind, ModelKind::Mgno | ModelKind::Fno) {
        return Err(err(format!("{} runs cannot start from safetensors weights (mgno and fno can)", kind.name())));
    }
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read the file ({e})")))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| err(format!("is not a safetensors file ({e})")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| err(format!("is not a safetensors file ({e})")))?;
    if let Some(stored) = header.metadata().as_ref().and_then(|m| m.get("oplab.kind")) {
        if stored != kind.name() {
            return Err(err(format!("holds {stored} weights; this run trains {}", kind.name())));
        }
    }
    let values = from_torch(kind, &collect(&model), &file, &what)?;
    Ok(replace(model, &values))
}

/// What [`export_run`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    /// The model kind.
    pub kind: ModelKind,
    /// Tensors in the file.
    pub tensors: usize,
    /// Real parameters (a complex value counts twice).
    pub params: usize,
    /// Epoch of the exported (best-validation) model.
    pub best_epoch: usize,
}

/// The best model of an MgNO or FNO run, on the CPU.
pub enum BestModel {
    /// An MgNO run's (both boxed: a model is hundreds of bytes of tensor handles).
    Mgno(Box<MgNo<Cpu>>),
    /// An FNO run's.
    Fno(Box<Fno2d<Cpu>>),
}

impl BestModel {
    /// The model kind.
    pub fn kind(&self) -> ModelKind {
        match self {
            BestModel::Mgno(_) => ModelKind::Mgno,
            BestModel::Fno(_) => ModelKind::Fno,
        }
    }

    /// Its parameters by module path.
    pub fn params(&self) -> Params {
        match self {
            BestModel::Mgno(m) => collect(m.as_ref()),
            BestModel::Fno(m) => collect(m.as_ref()),
        }
    }

    /// The operator applied to `x` (`[batch, c_in, H, W]`, normalised inputs).
    pub fn forward(&self, x: Tensor<Cpu, 4>) -> Tensor<Cpu, 4> {
        match self {
            BestModel::Mgno(m) => m.forward(x),
            BestModel::Fno(m) => m.forward(x),
        }
    }
}

/// The run's best model and the facts the file records about it: the configuration, the model
/// configuration as JSON, and the run state.
struct LoadedRun {
    model: BestModel,
    cfg: TrainConfig,
    model_json: String,
    state: RunState,
}

/// Loads the best model of the MgNO or FNO run in `run`; the errors say what the directory
/// lacks (one line each).
pub fn load_best(run: &RunDir) -> crate::Result<BestModel> {
    Ok(load_run(run)?.model)
}

fn load_run(run: &RunDir) -> crate::Result<LoadedRun> {
    let dir = run.path().display();
    if !run.path().is_dir() {
        return Err(OperatorError::Request(format!("--run {dir}: no such run directory")));
    }
    if !run.file(files::CONFIG).is_file() {
        return Err(OperatorError::Request(format!("--run {dir}: not a run directory (no {}; it was not written by `oplab train`)", files::CONFIG)));
    }
    let kind = match run.model()?.as_str() {
        "mgno" => ModelKind::Mgno,
        "fno" => ModelKind::Fno,
        other => return Err(OperatorError::Request(format!("--run {dir}: {other} runs cannot be exported (mgno and fno can)"))),
    };
    if !run.file(files::BEST).is_file() {
        return Err(OperatorError::Request(format!("--run {dir}: no trained model yet (no {}; train at least one epoch)", files::BEST)));
    }
    let cfg = read_run_config(run)?;
    let state = read_run_state(run)?;
    let [c_in, c_out] = state.channels;
    let device = Default::default();
    let best = run.file(files::BEST);
    let bytes = run.read_sealed(files::BEST)?;
    let json = |r: Result<String, serde_json::Error>| r.map_err(|e| run_err(&run.file(files::CONFIG), format!("cannot encode the model configuration ({e})")));
    let (model, model_json) = match kind {
        ModelKind::Mgno => {
            let mc = cfg.mgno.model(c_in, c_out);
            let m: MgNo<Cpu> = mc.init(&device)?;
            (BestModel::Mgno(Box::new(m.load_record(from_bytes::<Cpu, _>(bytes, &device, &best)?))), json(serde_json::to_string(&mc))?)
        }
        _ => {
            let mc = cfg.fno_model(c_in, c_out);
            let m: Fno2d<Cpu> = mc.init(&device)?;
            (BestModel::Fno(Box::new(m.load_record(from_bytes::<Cpu, _>(bytes, &device, &best)?))), json(serde_json::to_string(&mc))?)
        }
    };
    Ok(LoadedRun { model, cfg, model_json, state })
}

/// Writes the best model of the MgNO or FNO run in `run` to `out` as safetensors (module
/// documentation); refuses an existing `out` unless `force`. With `probe`, also writes that
/// file: tensors `input` (`[2, c_in, H, W]` on the training grid, seeded standard-normal
/// values, as normalised inputs) and `output` (the model's output on them, CPU, f32), for
/// checking a PyTorch port against oplab.
pub fn export_run(run: &RunDir, out: &Path, probe: Option<&Path>, force: bool) -> crate::Result<ExportSummary> {
    let loaded = load_run(run)?;
    for (flag, path) in [("--out", Some(out)), ("--probe", probe)] {
        if let Some(path) = path.filter(|p| p.exists() && !force) {
            return Err(OperatorError::Request(format!("{flag} {}: the file exists; pass --force to overwrite it", path.display())));
        }
    }
    let LoadedRun { model, cfg, model_json, state } = loaded;
    let kind = model.kind();
    let norms: Normalizers = run.read_sealed_json(files::NORMALIZERS)?;
    let params = model.params();
    let tensors = torch_tensors(kind, &params)?;
    let encode_err = |flag: &str, path: &Path, e: String| OperatorError::Request(format!("{flag} {}: cannot encode ({e})", path.display()));
    let mut meta = metadata(kind, &cfg, model_json, state.channels, state.grid);
    meta.insert("oplab.config".into(), run.read_config()?);
    meta.insert("oplab.best_epoch".into(), state.best_epoch.to_string());
    meta.insert("oplab.best_val_l2".into(), format!("{:e}", state.best_val_l2));
    meta.insert("oplab.normalizers".into(), serde_json::to_string(&norms).map_err(|e| encode_err("--out", out, e.to_string()))?);
    let file = safetensors::serialize(tensors.iter(), Some(meta)).map_err(|e| encode_err("--out", out, e.to_string()))?;
    write_atomic(out, &file)?;
    if let Some(path) = probe {
        let [h, w] = state.grid;
        let x = probe_input([2, state.channels[0], h, w]);
        let y = model.forward(x.clone());
        let as_tensor = |t: Tensor<Cpu, 4>| {
            let shape = t.dims().to_vec();
            let bytes = t.into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default().iter().flat_map(|v| v.to_le_bytes()).collect();
            TorchTensor { dtype: Dtype::F32, shape, bytes }
        };
        let pair = [("input", as_tensor(x)), ("output", as_tensor(y))];
        let meta = HashMap::from([("oplab.kind".to_string(), kind.name().to_string())]);
        let file = safetensors::serialize(pair.iter().map(|(n, t)| (*n, t)), Some(meta)).map_err(|e| encode_err("--probe", path, e.to_string()))?;
        write_atomic(path, &file)?;
    }
    Ok(ExportSummary { kind, tensors: tensors.len(), params: params.values().map(|(s, _)| s.iter().product::<usize>()).sum(), best_epoch: state.best_epoch })
}

/// Seeded standard-normal values of `shape` (ChaCha8, seed 0): the same probe on every machine.
fn probe_input(shape: [usize; 4]) -> Tensor<Cpu, 4> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let v: Vec<f32> = (0..shape.iter().product::<usize>()).map(|_| StandardNormal.sample(&mut rng)).collect();
    Tensor::from_data(TensorData::new(v, shape), &Default::default())
}

/// The metadata that describes the model (module documentation), without the run's records.
fn metadata(kind: ModelKind, cfg: &TrainConfig, model_json: String, channels: [usize; 2], grid: [usize; 2]) -> HashMap<String, String> {
    let mut m = HashMap::new();
    m.insert("format".into(), "pt".into());
    m.insert("oplab.kind".into(), kind.name().into());
    m.insert("oplab.version".into(), oplab_datasets::OPLAB_VERSION.into());
    m.insert("oplab.model".into(), model_json);
    m.insert("oplab.channels".into(), format!("[{}, {}]", channels[0], channels[1]));
    m.insert("oplab.grid".into(), format!("[{}, {}]", grid[0], grid[1]));
    match kind {
        ModelKind::Mgno => {
            m.insert("oplab.naming".into(), "MgNO_DC of xlliu2017/MgNO models.py".into());
        }
        _ => {
            let fc = cfg.fno_model(channels[0], channels[1]);
            let grid_channels = match (fc.grid, fc.periodic_grid) {
                (false, _) => "none",
                (true, false) => "nodes",
                (true, true) => "periodic",
            };
            m.insert("oplab.naming".into(), "neuraloperator FNO (lifting, fno_blocks.convs, fno_blocks.fno_skips, projection)".into());
            m.insert("oplab.fno.grid_channels".into(), grid_channels.into());
            m.insert("oplab.fno.domain_padding".into(), fc.domain_padding.to_string());
            m.insert("oplab.fno.modes".into(), format!("[{}, {}]", fc.modes[0], fc.modes[1]));
        }
    }
    m
}
