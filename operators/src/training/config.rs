//! The training configuration: every field lives here, is read from TOML (`--config`), and is
//! stored fully resolved in the run directory.

use serde::{Deserialize, Serialize};

use super::parallel::ParallelSection;
use crate::backend::BackendOptions;
use crate::data::{DataConfig, GridLayout};
use crate::error::OperatorError;
use crate::layers::{PaddingMode, ResampleMode};
use crate::losses::{LossKind, Quadrature};
use crate::models::{CnnConfig, Discretization, Fno2dConfig, MgNoConfig, UnetConfig};
use crate::normalizers::NormalizerKind;
use crate::training::schedule::ScheduleConfig;

/// Which operator to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Multigrid neural operator.
    #[default]
    Mgno,
    /// Fourier neural operator (2-D).
    Fno,
    /// PDEArena modern U-Net, plain or converted into an operator.
    Unet,
    /// Residual CNN, plain or converted into an operator.
    Cnn,
}

impl ModelKind {
    /// Parses `mgno`, `fno`, `unet` or `cnn`.
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s {
            "mgno" => Ok(ModelKind::Mgno),
            "fno" => Ok(ModelKind::Fno),
            "unet" => Ok(ModelKind::Unet),
            "cnn" => Ok(ModelKind::Cnn),
            _ => Err(OperatorError::invalid("model", s, "must be one of: mgno, fno, unet, cnn")),
        }
    }

    /// The name a command and `config.toml` use.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Mgno => "mgno",
            ModelKind::Fno => "fno",
            ModelKind::Unet => "unet",
            ModelKind::Cnn => "cnn",
        }
    }

    /// Whether the model is built from convolutions (U-Net, CNN, MgNO): the CUDA backend choice
    /// under `cuda = "auto"` follows it.
    pub fn convolutional(self) -> bool {
        matches!(self, ModelKind::Mgno | ModelKind::Unet | ModelKind::Cnn)
    }
}

/// MgNO hyper-parameters (channels in and out come from the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MgNoSection {
    /// Width c_u.
    pub channels: usize,
    /// MgConv layers.
    pub layers: usize,
    /// `[pre, post]` smoothing steps per level, finest first.
    pub levels: Vec<[usize; 2]>,
    /// Padding mode: zeros, circular or reflect.
    pub padding: PaddingMode,
    /// Transposed-convolution kernel per level transition (empty: 4 everywhere).
    pub prolongation_kernels: Vec<usize>,
}

impl Default for MgNoSection {
    fn default() -> Self {
        let c = MgNoConfig::new();
        MgNoSection { channels: c.channels, layers: c.layers, levels: c.levels, padding: c.padding, prolongation_kernels: c.prolongation_kernels }
    }
}

impl MgNoSection {
    /// Whether the levels fit the training grid of `h × w` points (`h = 1`: a 1-D field). Each
    /// level halves the grid, rounding up, so a side of `n > 1` points reaches one point after
    /// ⌈log₂ n⌉ halvings; a level beyond that would coarsen the single point again, repeating
    /// the level above it.
    pub fn check_grid(&self, h: usize, w: usize) -> crate::Result<()> {
        let smallest = [h, w].into_iter().filter(|&n| n > 1).min().unwrap_or(1);
        let most = 1 + smallest.next_power_of_two().trailing_zeros() as usize;
        if self.levels.len() > most {
            return Err(OperatorError::invalid(
                "mgno.levels",
                self.levels.len(),
                format!("must be at most {most} for the {h}×{w} training grid: level {most} already coarsens it to a single point"),
            ));
        }
        Ok(())
    }

    /// The model configuration for `c_in` input and `c_out` output channels.
    pub fn model(&self, c_in: usize, c_out: usize) -> MgNoConfig {
        MgNoConfig::new()
            .with_in_channels(c_in)
            .with_out_channels(c_out)
            .with_channels(self.channels)
            .with_layers(self.layers)
            .with_levels(self.levels.clone())
            .with_padding(self.padding)
            .with_prolongation_kernels(self.prolongation_kernels.clone())
    }
}

/// FNO hyper-parameters (channels in and out come from the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FnoSection {
    /// Channels of the Fourier layers.
    pub width: usize,
    /// Modes `[per sign along H, along W]`.
    pub modes: [usize; 2],
    /// Fourier layers.
    pub layers: usize,
    /// Hidden channels of the projection.
    pub projection: usize,
    /// Append grid coordinates to the input.
    pub grid: bool,
    /// Zero padding at the far ends of both axes.
    pub domain_padding: usize,
}

impl Default for FnoSection {
    fn default() -> Self {
        let c = Fno2dConfig::new();
        FnoSection { width: c.width, modes: c.modes, layers: c.layers, projection: c.projection, grid: c.grid, domain_padding: c.domain_padding }
    }
}

impl FnoSection {
    /// The model configuration for `c_in` input and `c_out` output channels.
    pub fn model(&self, c_in: usize, c_out: usize) -> Fno2dConfig {
        Fno2dConfig::new()
            .with_in_channels(c_in)
            .with_out_channels(c_out)
            .with_width(self.width)
            .with_modes(self.modes)
            .with_layers(self.layers)
            .with_projection(self.projection)
            .with_grid(self.grid)
            .with_domain_padding(self.domain_padding)
    }
}

/// U-Net hyper-parameters (channels in and out come from the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnetSection {
    /// Channels after the lifting convolution.
    pub hidden: usize,
    /// Channel multiplier per level (compounding); its length is the number of levels.
    pub levels: Vec<usize>,
    /// Side of the square kernels (odd).
    pub kernel: usize,
    /// Residual blocks per level.
    pub blocks: usize,
    /// Append (x, y) grid coordinates (x_i = i/n) to the input.
    pub grid: bool,
    /// Padding mode of the convolutions: zeros, circular or reflect.
    pub padding: PaddingMode,
    /// Resampling around the converted net's transposed convolutions: bilinear or fourier.
    pub resample: ResampleMode,
    /// Evaluate the converted net (kernels re-sampled to the grid, an operator) on grids other
    /// than the training grid; false: the plain net. Identical on the training grid.
    pub convert: bool,
}

impl Default for UnetSection {
    fn default() -> Self {
        let c = UnetConfig::new();
        UnetSection {
            hidden: c.hidden,
            levels: c.mults,
            kernel: c.kernel,
            blocks: c.blocks,
            grid: c.grid,
            padding: c.padding,
            resample: c.resample,
            convert: true,
        }
    }
}

impl UnetSection {
    /// The model configuration for `c_in` input and `c_out` output channels.
    pub fn model(&self, c_in: usize, c_out: usize) -> UnetConfig {
        UnetConfig::new()
            .with_in_channels(c_in)
            .with_out_channels(c_out)
            .with_hidden(self.hidden)
            .with_mults(self.levels.clone())
            .with_kernel(self.kernel)
            .with_blocks(self.blocks)
            .with_grid(self.grid)
            .with_padding(self.padding)
            .with_resample(self.resample)
    }
}

/// Residual-CNN hyper-parameters (channels in and out come from the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CnnSection {
    /// Channels of the hidden layers.
    pub width: usize,
    /// Residual blocks (two convolutions each).
    pub blocks: usize,
    /// Side of the square kernels (odd).
    pub kernel: usize,
    /// Append (x, y) grid coordinates (x_i = i/n) to the input.
    pub grid: bool,
    /// Padding mode of the convolutions: zeros, circular or reflect.
    pub padding: PaddingMode,
    /// Evaluate the converted net on grids other than the training grid (as `[unet] convert`).
    pub convert: bool,
}

impl Default for CnnSection {
    fn default() -> Self {
        let c = CnnConfig::new();
        CnnSection { width: c.width, blocks: c.blocks, kernel: c.kernel, grid: c.grid, padding: c.padding, convert: true }
    }
}

impl CnnSection {
    /// The model configuration for `c_in` input and `c_out` output channels.
    pub fn model(&self, c_in: usize, c_out: usize) -> CnnConfig {
        CnnConfig::new()
            .with_in_channels(c_in)
            .with_out_channels(c_out)
            .with_width(self.width)
            .with_blocks(self.blocks)
            .with_kernel(self.kernel)
            .with_grid(self.grid)
            .with_padding(self.padding)
    }
}

/// Optimiser family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam with L2 weight decay added to the gradient (the reference `Adam.py`).
    #[default]
    Adam,
    /// AdamW (decoupled weight decay).
    Adamw,
}

/// Optimiser settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerSection {
    /// adam or adamw.
    pub kind: OptimizerKind,
    /// Peak learning rate.
    pub lr: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Adam β₁, β₂.
    pub betas: [f64; 2],
    /// Adam ε.
    pub eps: f64,
    /// Clip the global gradient norm to this value (0: no clipping).
    pub grad_clip_norm: f64,
}

impl Default for OptimizerSection {
    fn default() -> Self {
        OptimizerSection { kind: OptimizerKind::Adam, lr: 5e-4, weight_decay: 1e-4, betas: [0.9, 0.999], eps: 1e-8, grad_clip_norm: 0.0 }
    }
}

/// Everything a training run needs besides the data file and the run directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Which operator.
    pub model: ModelKind,
    /// Epochs.
    pub epochs: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// Batch size for validation and evaluation.
    pub eval_batch_size: usize,
    /// Seed of the initialisation and of the per-epoch shuffles.
    pub seed: u64,
    /// Training loss: h1 or l2.
    pub loss: LossKind,
    /// Frequencies |k| < h1_k_max per axis carry the derivative weight in the H¹ loss.
    pub h1_k_max: usize,
    /// Quadrature of the L2 norms: uniform or trapezoid.
    pub quadrature: Quadrature,
    /// Normaliser of the inputs: none, scalar or pixel.
    pub input_normalizer: NormalizerKind,
    /// Normaliser of the targets (decoded after the model; the loss sees raw values).
    pub target_normalizer: NormalizerKind,
    /// Initial weights (mgno, fno): a safetensors file as `oplab export` writes it, loaded into
    /// the freshly built model before the first epoch (`crate::export`); absent, the seeded
    /// initialisation. Stored only when set, so other runs' `config.toml` does not change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<std::path::PathBuf>,
    /// Data selection.
    pub data: DataConfig,
    /// Optimiser.
    pub optimizer: OptimizerSection,
    /// Learning-rate schedule.
    pub schedule: ScheduleConfig,
    /// MgNO hyper-parameters.
    pub mgno: MgNoSection,
    /// FNO hyper-parameters.
    pub fno: FnoSection,
    /// U-Net hyper-parameters.
    pub unet: UnetSection,
    /// Residual-CNN hyper-parameters.
    pub cnn: CnnSection,
    /// Which implementation runs each part of the step (`backend::options`; stored with the run).
    pub backend: BackendOptions,
    /// Data-parallel replicas (`training::parallel`): devices per node, nodes, and what
    /// `batch_size` counts.
    pub parallel: ParallelSection,
}

impl Default for TrainConfig {
    /// The MgNO Darcy recipe of the reference code (500 epochs, batch 8, Adam 5e-4 with weight
    /// decay 1e-4, OneCycle per epoch, H¹ loss, scalar Gaussian normalisers).
    fn default() -> Self {
        TrainConfig {
            model: ModelKind::Mgno,
            epochs: 500,
            batch_size: 8,
            eval_batch_size: 16,
            seed: 0,
            loss: LossKind::H1,
            h1_k_max: 20,
            quadrature: Quadrature::Uniform,
            input_normalizer: NormalizerKind::Scalar,
            target_normalizer: NormalizerKind::Scalar,
            init: None,
            data: DataConfig::default(),
            optimizer: OptimizerSection::default(),
            schedule: ScheduleConfig::default(),
            mgno: MgNoSection::default(),
            fno: FnoSection::default(),
            unet: UnetSection::default(),
            cnn: CnnSection::default(),
            backend: BackendOptions::default(),
            parallel: ParallelSection::default(),
        }
    }
}

impl TrainConfig {
    /// This configuration with the data split set for the file `data` (sizes not given take
    /// 80/10/10 % of its samples, see [`DataConfig::with_split_for`]); the file is only opened
    /// when a size is unset.
    pub fn with_split_of(&self, data: &std::path::Path) -> crate::Result<TrainConfig> {
        if self.data.split_is_resolved() {
            return Ok(self.clone());
        }
        let n_samples = oplab_datasets::DatasetFile::open(data)?.info().n_samples as usize;
        Ok(TrainConfig { data: self.data.with_split_for(n_samples)?, ..self.clone() })
    }

    /// The FNO of this run for `c_in` input and `c_out` output channels, its coordinate channels
    /// following the data layout.
    pub fn fno_model(&self, c_in: usize, c_out: usize) -> Fno2dConfig {
        self.fno.model(c_in, c_out).with_periodic_grid(self.data.layout == GridLayout::Periodic)
    }

    /// Parses TOML, naming unknown or mistyped fields.
    pub fn from_toml(text: &str) -> crate::Result<Self> {
        let cfg: TrainConfig = toml::from_str(text).map_err(|e| parse_error(text, &e, "training"))?;
        Ok(cfg)
    }

    /// The fully resolved configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Checks every range that does not need the data.
    pub fn validate(&self) -> crate::Result<()> {
        let check = |name: &str, v: usize, lo: usize, hi: usize| {
            if v < lo || v > hi {
                Err(OperatorError::invalid(name, v, format!("must be {lo} to {hi}")))
            } else {
                Ok(())
            }
        };
        check("epochs", self.epochs, 1, 1_000_000)?;
        check("batch_size", self.batch_size, 1, 1 << 20)?;
        check("eval_batch_size", self.eval_batch_size, 1, 1 << 20)?;
        check("h1_k_max", self.h1_k_max, 1, 1 << 20)?;
        let o = &self.optimizer;
        let pos = |name: &str, v: f64| if v.is_finite() && v > 0.0 { Ok(()) } else { Err(OperatorError::invalid(name, v, "must be a positive finite number")) };
        let nonneg = |name: &str, v: f64| if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(OperatorError::invalid(name, v, "must be finite and >= 0")) };
        pos("optimizer.lr", o.lr)?;
        pos("optimizer.eps", o.eps)?;
        nonneg("optimizer.weight_decay", o.weight_decay)?;
        nonneg("optimizer.grad_clip_norm", o.grad_clip_norm)?;
        for (i, b) in o.betas.iter().enumerate() {
            if !(0.0..1.0).contains(b) {
                return Err(OperatorError::invalid(format!("optimizer.betas[{i}]"), b, "must be in [0, 1)"));
            }
        }
        self.schedule.validate()?;
        self.data.validate()?;
        self.backend.validate()?;
        self.parallel.validate()?;
        match self.model {
            ModelKind::Mgno => self.mgno.model(1, 1).validate(),
            ModelKind::Fno => self.fno.model(1, 1).validate(),
            ModelKind::Unet => self.unet.model(1, 1).validate(),
            ModelKind::Cnn => self.cnn.model(1, 1).validate(),
        }
    }

    /// How `oplab eval` runs this run's model on a grid of side (last axis) other than the
    /// training grid's `base_side`: converted where the model's table says `convert = true`.
    pub fn discretization(&self, base_side: usize) -> Discretization {
        let convert = match self.model {
            ModelKind::Mgno | ModelKind::Fno => false,
            ModelKind::Unet => self.unet.convert,
            ModelKind::Cnn => self.cnn.convert,
        };
        if convert {
            Discretization::Converted { base_side }
        } else {
            Discretization::Plain
        }
    }
}

/// A TOML error as one line: `table.key = value is invalid: <toml's message>` where the error
/// points at the value of a `key = value` line (a bad option name, a negative count), else the
/// message with a pointer to the documentation of the `what` configuration (the AL-RNN's
/// parser shares this).
pub(crate) fn parse_error(text: &str, e: &toml::de::Error, what: &str) -> OperatorError {
    let message = e.message().replace('\n', " ");
    if let Some((field, value)) = e.span().and_then(|span| Some((key_at(text, span.start)?, text.get(span)?.trim()))) {
        return OperatorError::invalid(field, value, message);
    }
    // An unknown key: the error points at the key itself; name it with the value of its line.
    if let Some((field, value)) = e.span().and_then(|span| {
        let start = text.get(..span.start)?.rfind('\n').map_or(0, |i| i + 1);
        let (key, value) = text[start..].lines().next()?.split_once('=')?;
        if span.start >= start + key.len() {
            return None;
        }
        let at = start + key.len() + 1 + (value.len() - value.trim_start().len());
        Some((key_at(text, at)?, value.trim()))
    }) {
        return OperatorError::invalid(field, value, message);
    }
    OperatorError::invalid("config", message, format!("must be a valid {what} configuration (see `oplab train --help`)"))
}

/// The dotted key whose value starts at byte `at`: the `key` of the `key = value` line holding it,
/// under the last `[table]` header above. `None` when `at` is not in a plain value (a key, an
/// inline table, a line of a multi-line array).
fn key_at(text: &str, at: usize) -> Option<String> {
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let (key, value) = text[start..].lines().next()?.split_once('=')?;
    let before = value.get(..(at - start).checked_sub(key.len() + 1)?)?;
    let key = key.trim();
    if key.is_empty() || key.starts_with(['[', '#', '"', '\'']) || before.contains(['{', '[']) {
        return None;
    }
    let table = text[..start].lines().rev().map(str::trim).find(|l| l.starts_with('[')).map(|h| h.trim_matches(['[', ']']).trim());
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mgno_levels_stop_at_the_single_point_of_the_training_grid() {
        // Six levels: 17 → 9 → 5 → 3 → 2 → 1 fits, 9 → 5 → 3 → 2 → 1 has room for five.
        let six = MgNoSection::default();
        assert_eq!(six.levels.len(), 6);
        assert!(six.check_grid(17, 17).is_ok());
        let err = six.check_grid(9, 17).unwrap_err().to_string();
        assert!(err.starts_with("mgno.levels = 6 is invalid: must be at most 5 for the 9×17 training grid"), "{err}");
        // A 1-D field coarsens along its length only.
        assert!(six.check_grid(1, 17).is_ok() && six.check_grid(1, 16).is_err());
    }

    #[test]
    fn an_unknown_key_is_named_with_its_table_and_value() {
        let err = TrainConfig::from_toml("[optimizer]\nlearning_rate = 0.1\n").unwrap_err().to_string();
        assert!(err.starts_with("optimizer.learning_rate = 0.1 is invalid: unknown field `learning_rate`"), "{err}");
    }

    #[test]
    fn default_config_round_trips_through_toml() {
        let c = TrainConfig::default();
        let back = TrainConfig::from_toml(&c.to_toml()).unwrap();
        assert_eq!(c, back);
        c.validate().unwrap();
    }

    #[test]
    fn partial_toml_keeps_defaults_and_typos_are_named() {
        let c = TrainConfig::from_toml("epochs = 3\n[mgno]\nchannels = 8\npadding = \"circular\"\n").unwrap();
        assert_eq!((c.epochs, c.mgno.channels, c.mgno.padding, c.mgno.layers), (3, 8, PaddingMode::Circular, 4));
        let err = TrainConfig::from_toml("epoch = 3").unwrap_err().to_string();
        assert!(err.contains("epoch"), "{err}");
        let err = TrainConfig { epochs: 0, ..Default::default() }.validate().unwrap_err().to_string();
        assert_eq!(err, "epochs = 0 is invalid: must be 1 to 1000000");
    }

    /// The `[unet]` and `[cnn]` tables: read, stored, and bad values named in one line.
    #[test]
    fn unet_and_cnn_tables_are_stored_and_bad_values_are_named() {
        let c = TrainConfig::from_toml("model = \"unet\"\n[unet]\nhidden = 19\nlevels = [1, 2, 2, 3]\nkernel = 9\nconvert = false\nresample = \"fourier\"\n")
            .unwrap();
        assert_eq!((c.model, c.unet.hidden, c.unet.kernel, c.unet.convert), (ModelKind::Unet, 19, 9, false));
        assert_eq!(c.unet.levels, vec![1, 2, 2, 3]);
        assert_eq!(TrainConfig::from_toml(&c.to_toml()).unwrap(), c);
        c.validate().unwrap();
        assert_eq!(c.discretization(128), Discretization::Plain);
        let c = TrainConfig { model: ModelKind::Cnn, ..TrainConfig::default() };
        assert_eq!(c.discretization(128), Discretization::Converted { base_side: 128 });
        let fno = TrainConfig { model: ModelKind::Fno, ..TrainConfig::default() };
        assert_eq!(fno.discretization(128), Discretization::Plain);
        for (text, want) in [
            ("model = \"unet\"\n[unet]\nkernel = 4\n", "unet.kernel = 4 is invalid: must be odd"),
            ("model = \"unet\"\n[unet]\nlevels = []\n", "unet.levels = [] is invalid: must hold 1 to 8"),
            ("model = \"unet\"\n[unet]\nblocks = 0\n", "unet.blocks = 0 is invalid: must be 1 to 16"),
            ("model = \"cnn\"\n[cnn]\nwidth = 0\n", "cnn.width = 0 is invalid: must be 1 to 4096"),
        ] {
            let err = TrainConfig::from_toml(text).unwrap().validate().unwrap_err().to_string();
            assert!(err.starts_with(want) && !err.contains('\n'), "{err}");
        }
        let err = TrainConfig::from_toml("[unet]\nresample = \"cubic\"\n").unwrap_err().to_string();
        assert!(err.starts_with("unet.resample = \"cubic\" is invalid: unknown variant `cubic`"), "{err}");
        let err = TrainConfig::from_toml("[cnn]\ndepth = 3\n").unwrap_err().to_string();
        assert!(err.contains("unknown field `depth`") && !err.contains('\n'), "{err}");
        assert_eq!(ModelKind::parse("vit").unwrap_err().to_string(), "model = vit is invalid: must be one of: mgno, fno, unet, cnn");
    }

    /// The `[backend]` table: stored in the resolved configuration, read back, and bad values
    /// rejected in one line naming the field, the value and what is allowed.
    #[test]
    fn backend_table_is_stored_and_bad_values_are_named() {
        use crate::backend::{Choice, CudaFlavor, SpectralLayout};
        let text = TrainConfig::default().to_toml();
        assert!(text.contains("\n[backend]\ncuda = \"auto\"\nmemory = \"persistent\"\nadam = \"fused\"\ngelu = \"exact\"\n"), "{text}");
        let c = TrainConfig::from_toml("epochs = 2\n[backend]\ncuda = \"fusion\"\nspectral = \"stacked\"\n").unwrap();
        assert_eq!((c.backend.cuda, c.backend.spectral), (Choice::Fixed(CudaFlavor::Fusion), Choice::Fixed(SpectralLayout::Stacked)));
        assert_eq!(TrainConfig::from_toml(&c.to_toml()).unwrap(), c);
        // A configuration written before the table existed reads as the defaults.
        assert_eq!(TrainConfig::from_toml("epochs = 2\n").unwrap().backend, BackendOptions::default());
        let err = TrainConfig::from_toml("epochs = 2\n[backend]\ncuda = \"bogus\"\n").unwrap_err().to_string();
        assert_eq!(err, "backend.cuda = \"bogus\" is invalid: must be one of: auto, fusion, direct");
        let err = TrainConfig::from_toml("[mgno]\npadding = \"same\"\n").unwrap_err().to_string();
        assert!(err.starts_with("mgno.padding = \"same\" is invalid: unknown variant `same`"), "{err}");
        let err = TrainConfig::from_toml("[backend]\nconv_grad = \"stock\"\nconv_wgrad = \"taps\"\n").unwrap().validate().unwrap_err().to_string();
        assert!(err.starts_with("backend.conv_wgrad = taps is invalid"), "{err}");
        let err = TrainConfig::from_toml("[backend]\nkernels = 1\n").unwrap_err().to_string();
        assert!(err.contains("unknown field `kernels`") && !err.contains('\n'), "{err}");
        let err = TrainConfig::from_toml("backend = { cuda = \"x\" }\n").unwrap_err().to_string();
        assert!(err.starts_with("config = must be one of: auto, fusion, direct"), "{err}");
    }
}
