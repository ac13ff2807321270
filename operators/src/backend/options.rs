//! Typed backend options: which implementation runs each part of a model's step where oplab has
//! more than one. They are the `[backend]` table of a training configuration, stored with the run
//! in its `config.toml` (so a run directory says how it was computed), and [`super::select`] is
//! the one place that turns them into the paths the layers take.
//!
//! Every default is what oplab measured best (see `bench/RESULTS.md`); the other values exist for
//! comparisons and as ways out. `auto` leaves a choice to the backend the run is on
//! ([`super::conv::ConvBackend`] and [`super::spectral::SpectralBackend`] state each backend's
//! preference), so one configuration trains on the CPU and on CUDA alike.
//!
//! ```toml
//! [backend]
//! cuda = "auto"          # fusion | direct: burn's CUDA backend with or without its fusion layer
//! memory = "persistent"  # dynamic: cubecl's default memory pool
//! adam = "fused"         # burn: burn's Adam, one tensor operation at a time
//! gelu = "exact"         # burn: burn's gelu (inexact gradient on its GPU backends)
//! conv_grad = "auto"     # fast | stock | tuned: how convolution gradients are computed
//! conv_wgrad = "auto"    # kernel | im2col | taps: the fast weight gradient's formulation
//! spectral = "auto"      # split | stacked: how FNO's spectral layers lay out complex products
//! ```
//!
//! [`BenchKnobs`] are the kernels' tuning parameters, which only the GPU benchmark varies: they
//! are not part of a run's configuration, and only a build with the `bench-knobs` feature can set
//! them (`select::set_bench_knobs`).

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::OperatorError;

/// An option value with fixed names in configuration files.
pub trait Named: Copy + 'static {
    /// Every name, in the order of the variants.
    const NAMES: &'static [&'static str];
    /// The name of this value.
    fn name(self) -> &'static str;
    /// The value of a name (exact, lowercase), if there is one.
    fn from_name(name: &str) -> Option<Self>;
}

/// `auto` (the backend's own preference, decided by [`super::select`]) or one fixed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Choice<T> {
    /// Whatever the backend the run is on prefers.
    #[default]
    Auto,
    /// This value on every backend.
    Fixed(T),
}

impl<T> Choice<T> {
    /// The fixed value, else `preferred()`.
    pub fn or_else(self, preferred: impl FnOnce() -> T) -> T {
        match self {
            Choice::Auto => preferred(),
            Choice::Fixed(v) => v,
        }
    }
}

/// `"must be one of: a, b, c"` for a value's names (with `auto` first where it is allowed).
fn allowed<T: Named>(auto: bool) -> String {
    let names: Vec<&str> = auto.then_some("auto").into_iter().chain(T::NAMES.iter().copied()).collect();
    format!("must be one of: {}", names.join(", "))
}

/// The value named `name`, else an error listing the names (and `auto` where it is allowed).
fn parse_named<T: Named, E: serde::de::Error>(name: &str, auto: bool) -> Result<T, E> {
    T::from_name(name).ok_or_else(|| E::custom(allowed::<T>(auto)))
}

impl<T: Named> Choice<T> {
    /// `auto` or the fixed value's name, as in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Choice::Auto => "auto",
            Choice::Fixed(v) => v.name(),
        }
    }
}

impl<T: Named> Serialize for Choice<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de, T: Named> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if name == "auto" {
            return Ok(Choice::Auto);
        }
        parse_named::<T, D::Error>(&name, true).map(Choice::Fixed)
    }
}

impl<T: Named> fmt::Display for Choice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An option enum: its names, serde as those names, `Display` as the name.
macro_rules! named_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl Named for $name {
            const NAMES: &'static [&'static str] = &[$($text),+];

            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                parse_named::<$name, D::Error>(&String::deserialize(d)?, false)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum! {
    /// Which of burn's two CUDA backends runs a model.
    ///
    /// burn's default CUDA backend records operations in a fusion stream that a server thread
    /// optimises and launches; that pays off where many small elementwise operations fuse (FNO's
    /// spectral layers), and costs host time where nearly every operation is a convolution that
    /// cannot fuse (MgNO: about 700 kernels per training step, each then passing through the
    /// fusion server as well as cubecl's). Measured side by side in one GPU call
    /// (`bench/RESULTS.md`): MgNO's step is faster without fusion (more so from the persistent
    /// pool, [`MemoryPool::Persistent`]), FNO's faster with it.
    /// `auto` is therefore [`CudaFlavor::Direct`] for convolutional models (MgNO) and
    /// [`CudaFlavor::Fusion`] otherwise ([`super::select::cuda_flavor`]).
    pub enum CudaFlavor {
        /// `Fusion<CubeBackend<..>>` (`backend::Cuda`).
        Fusion = "fusion",
        /// `CubeBackend<..>` alone (`backend::CudaDirect`).
        Direct = "direct",
    }
}

named_enum! {
    /// Where cubecl allocates a CUDA run's tensors from.
    ///
    /// cubecl's default pool carves tensors out of shared pages and searches and coalesces those
    /// pages on every allocation, on the thread that also launches the kernels. A training step of
    /// MgNO allocates about a thousand tensors; in a host profile of GPU training steps that
    /// search was the largest single cost of the launching thread. The persistent pool keeps buckets of
    /// equal sizes, so an allocation is one hash lookup; it never returns memory to the device,
    /// which a training loop (the same shapes every step) does not need; MgNO's step without
    /// fusion measured about a fifth faster with it.
    #[derive(Default)]
    pub enum MemoryPool {
        /// Every allocation from cubecl's persistent pool, unless a `cubecl.toml` (of the working
        /// directory or a parent) sets `[memory] persistent_memory` itself.
        #[default]
        Persistent = "persistent",
        /// cubecl's configuration as it is: its default (sliced) pool, or what a `cubecl.toml` sets.
        Dynamic = "dynamic",
    }
}

named_enum! {
    /// How Adam updates the parameters.
    #[derive(Default)]
    pub enum AdamStep {
        /// One fused kernel per parameter tensor where the backend has one (CUDA), burn's Adam
        /// elsewhere: the same formulas and state record (`training::fused_adam`).
        #[default]
        Fused = "fused",
        /// burn's `Adam` everywhere (about ten tensor operations per parameter tensor and step).
        Burn = "burn",
    }
}

named_enum! {
    /// How the `gelu(a + b)` of every MgNO and FNO layer is computed.
    #[derive(Default)]
    pub enum Gelu {
        /// oplab's operation: burn's forward (or one fused kernel per direction where the backend
        /// has one) with the exact gradient of the erf form, `Φ(s) + s·φ(s)`, on every backend.
        #[default]
        Exact = "exact",
        /// burn's own `gelu(a + b)`. Inexact on burn's CubeCL backends (CUDA, wgpu): their
        /// `gelu_backward` differentiates the tanh approximation instead of the erf form the
        /// forward computes, up to 8.7e-4 off near s = −2. For comparisons only.
        Burn = "burn",
    }
}

named_enum! {
    /// How the backward pass of a convolution is computed (`super::conv`).
    pub enum ConvGradPath {
        /// The formulations of `backend::conv` (forward-speed kernels and split-K GEMMs).
        Fast = "fast",
        /// burn's own autodiff convolution (`conv2d_x_backward`, `conv2d_weight_backward`, ...).
        Stock = "stock",
        /// The custom operation, with each gradient computed by whichever of the two formulations
        /// the backend measured faster for the layer's geometry (`ConvBackend::fast_dgrad_wins`,
        /// `ConvBackend::fast_wgrad_wins`). Identical to `Fast` where the fast ones always win.
        Tuned = "tuned",
    }
}

named_enum! {
    /// How the fast path computes a convolution's weight gradient (`super::conv::conv2d_weight_grad`).
    pub enum WgradKind {
        /// One batched GEMM over the im2col matrix of all k² taps (N = k²·c_in): one launch and a
        /// better-shaped GEMM, at the price of a k²-fold copy of the input.
        Im2col = "im2col",
        /// One batched GEMM per tap (N = c_in): k² launches, no k²-fold copy.
        Taps = "taps",
        /// The backend's dedicated kernel (`ConvBackend::conv2d_weight_grad_kernel`; CUDA has
        /// one), [`WgradKind::Im2col`] where it has none.
        Kernel = "kernel",
    }
}

named_enum! {
    /// How a 2-D spectral layer lays out its complex products.
    pub enum SpectralLayout {
        /// Real and imaginary parts as separate tensors: four real products per complex one.
        Split = "split",
        /// Real and imaginary parts side by side in the contracted axis, against block tables
        /// `[[c, −s], [s, c]]`: one real product per transform axis and one batched product for
        /// the mode mixing (5 products per layer instead of 16). Fewer, larger launches for a GPU,
        /// where these small products are bound by launch overhead; on the 2-core CPU (FNO 64²,
        /// batch 8) the forward is 6 % and the training step 10 % slower (`gpu_bench --only
        /// breakdown`); on the GPU the FNO 64² training step took about 40 % less time, so it is
        /// the CUDA default.
        Stacked = "stacked",
    }
}

/// The `[backend]` table of a training configuration. `Default` is what every run used before the
/// table existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendOptions {
    /// Which of burn's CUDA backends trains and evaluates the model: `auto` (direct for MgNO,
    /// fusion for FNO), `fusion` or `direct`. CUDA runs only.
    pub cuda: Choice<CudaFlavor>,
    /// cubecl's memory pool: `persistent` or `dynamic`. CUDA runs only; the first CUDA run of a
    /// process fixes it.
    pub memory: MemoryPool,
    /// Adam's step: `fused` or `burn`.
    pub adam: AdamStep,
    /// The layers' `gelu(a + b)`: `exact` or `burn` (inexact gradient on GPU backends).
    pub gelu: Gelu,
    /// Convolution gradients: `auto` (`tuned` on the CPU, `fast` on GPU backends), `fast`,
    /// `stock` or `tuned`.
    pub conv_grad: Choice<ConvGradPath>,
    /// The fast path's weight gradient: `auto` (`im2col` on the CPU, `kernel` on GPU backends),
    /// `kernel`, `im2col` or `taps`.
    pub conv_wgrad: Choice<WgradKind>,
    /// FNO's spectral layout: `auto` (`split` on the CPU, `stacked` on GPU backends), `split` or
    /// `stacked`.
    pub spectral: Choice<SpectralLayout>,
}

impl BackendOptions {
    /// Checks what a single field's type cannot: `conv_wgrad` only matters where the fast
    /// formulations run, so fixing it next to burn's own gradients (`conv_grad = "stock"`) is a
    /// mistake worth naming rather than a setting to store silently.
    pub fn validate(&self) -> crate::error::Result<()> {
        if let (Choice::Fixed(ConvGradPath::Stock), Choice::Fixed(kind)) = (self.conv_grad, self.conv_wgrad) {
            return Err(OperatorError::invalid(
                "backend.conv_wgrad",
                kind,
                "must be auto when backend.conv_grad = stock (burn's own gradients have no weight-gradient formulation to choose)",
            ));
        }
        Ok(())
    }

    /// These options with `key = value` set (a field of the `[backend]` table, the value as
    /// written after `=` in TOML or as a bare name), validated; errors name `backend.key`.
    pub fn with_setting(&self, key: &str, value: &str) -> crate::error::Result<Self> {
        let options = with_field(self, "backend", key, value)?;
        options.validate()?;
        Ok(options)
    }
}

/// A setting's value as a command line gives it: TOML syntax as after `=` (`2`, `true`,
/// `"fused"`), else the bare word as a string (`fused`).
pub(crate) fn setting_value(text: &str) -> toml::Value {
    let parsed = format!("v = {text}").parse::<toml::Table>().ok().and_then(|mut t| t.remove("v"));
    parsed.unwrap_or_else(|| toml::Value::String(text.to_string()))
}

/// `current` with its field `name` set to `value` (TOML syntax after `=`; a bare word counts as a
/// string); errors name `prefix.name` and the value.
fn with_field<T: Serialize + DeserializeOwned>(current: &T, prefix: &str, name: &str, value: &str) -> crate::error::Result<T> {
    let invalid = |message: String| OperatorError::invalid(format!("{prefix}.{name}"), value, message);
    let mut table = toml::Table::try_from(current).map_err(|e| invalid(e.to_string()))?;
    table.insert(name.to_string(), setting_value(value));
    table.try_into().map_err(|e: toml::de::Error| invalid(e.message().replace('\n', " ")))
}

/// Tuning parameters of oplab's GPU kernels, which only the GPU benchmark varies; `None` keeps
/// the kernel's default. The tiled-kernel settings change speed only (the same sums in the same
/// order); the weight-gradient ones, `tiled_min_w` (which moves layers between kernels) and
/// `conv_tiled` change the summation order, so results differ in the last bits.
///
/// Not part of a run's configuration: a build with the `bench-knobs` feature sets them once per
/// process (`select::set_bench_knobs`, `gpu_bench --knob name=value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BenchKnobs {
    /// `false` sends every direct convolution to the gather kernel instead of the shared-memory
    /// tiled one where that applies (default `true`).
    pub conv_tiled: Option<bool>,
    /// Floats of shared memory per cube of the tiled kernel, 1024 to [`TILED_SMEM_MAX`].
    pub tiled_smem: Option<usize>,
    /// Most output rows per unit of the tiled kernel, 1 to 4.
    pub tiled_py: Option<usize>,
    /// Warps per cube of the tiled kernel, 1 to 8.
    pub tiled_warps: Option<usize>,
    /// Narrowest output the tiled kernel takes, 1 to 65536.
    pub tiled_min_w: Option<usize>,
    /// Loads in flight per unit while the tiled kernel stages its tile, 1 to 16.
    pub tiled_batch: Option<usize>,
    /// The tiled kernel loads the next round's input tile into registers before the current
    /// round's products (same sums; default `false`).
    pub tiled_prefetch: Option<bool>,
    /// Pixels per step of the weight-gradient kernel, 1 to 8.
    pub wgrad_group: Option<usize>,
    /// Units the weight-gradient kernel aims for (which sets how many partial sums it leaves),
    /// 4096 to 4194304.
    pub wgrad_threads: Option<usize>,
    /// Most output channels per unit of the weight-gradient kernel, 1 to 8.
    pub wgrad_ot: Option<usize>,
    /// `false` sends 1×1 weight gradients to the general kernel (default `true`).
    pub wgrad_pointwise: Option<bool>,
    /// Split-K chunk (the GEMM's K) of the GEMM weight gradients (`conv_wgrad = im2col|taps`), at
    /// least 1 (default: the backend's, 1024 on GPU backends).
    pub wgrad_chunk: Option<usize>,
}

/// Largest shared-memory budget of the tiled kernel (floats): the array it declares
/// (`tiled.rs`'s `TILED_SMEM`).
pub const TILED_SMEM_MAX: usize = 11 * 1024;

impl BenchKnobs {
    /// Each set knob within its range; errors name `knob.name`.
    pub fn validate(&self) -> crate::error::Result<()> {
        let ranges: [(&str, Option<usize>, usize, usize); 9] = [
            ("tiled_smem", self.tiled_smem, 1024, TILED_SMEM_MAX),
            ("tiled_py", self.tiled_py, 1, 4),
            ("tiled_warps", self.tiled_warps, 1, 8),
            ("tiled_min_w", self.tiled_min_w, 1, 1 << 16),
            ("tiled_batch", self.tiled_batch, 1, 16),
            ("wgrad_group", self.wgrad_group, 1, 8),
            ("wgrad_threads", self.wgrad_threads, 1 << 12, 1 << 22),
            ("wgrad_ot", self.wgrad_ot, 1, 8),
            ("wgrad_chunk", self.wgrad_chunk, 1, usize::MAX),
        ];
        for (name, value, lo, hi) in ranges {
            if let Some(v) = value.filter(|v| !(lo..=hi).contains(v)) {
                let allowed = if hi == usize::MAX { format!("must be at least {lo}") } else { format!("must be {lo} to {hi}") };
                return Err(OperatorError::invalid(format!("knob.{name}"), v, allowed));
            }
        }
        Ok(())
    }

    /// These knobs with `name = value` set (TOML syntax after `=`: a number or `true`/`false`),
    /// validated; errors name `knob.name`.
    pub fn with_setting(&self, name: &str, value: &str) -> crate::error::Result<Self> {
        let knobs = with_field(self, "knob", name, value)?;
        knobs.validate()?;
        Ok(knobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Default options, every fixed value and every `auto` go through TOML and back unchanged.
    #[test]
    fn backend_options_round_trip_through_toml() {
        let default = BackendOptions::default();
        let text = toml::to_string(&default).unwrap();
        assert_eq!(
            text,
            "cuda = \"auto\"\nmemory = \"persistent\"\nadam = \"fused\"\ngelu = \"exact\"\nconv_grad = \"auto\"\nconv_wgrad = \"auto\"\nspectral = \"auto\"\n"
        );
        assert_eq!(toml::from_str::<BackendOptions>(&text).unwrap(), default);
        let fixed = BackendOptions {
            cuda: Choice::Fixed(CudaFlavor::Fusion),
            memory: MemoryPool::Dynamic,
            adam: AdamStep::Burn,
            gelu: Gelu::Burn,
            conv_grad: Choice::Fixed(ConvGradPath::Tuned),
            conv_wgrad: Choice::Fixed(WgradKind::Taps),
            spectral: Choice::Fixed(SpectralLayout::Stacked),
        };
        assert_eq!(toml::from_str::<BackendOptions>(&toml::to_string(&fixed).unwrap()).unwrap(), fixed);
        // A partial table keeps the defaults of the fields it leaves out.
        let partial: BackendOptions = toml::from_str("cuda = \"direct\"").unwrap();
        assert_eq!(partial, BackendOptions { cuda: Choice::Fixed(CudaFlavor::Direct), ..default });
        for name in ConvGradPath::NAMES.iter().chain(WgradKind::NAMES).chain(SpectralLayout::NAMES).chain(CudaFlavor::NAMES) {
            assert!(!name.is_empty() && *name != "auto");
        }
    }

    /// Bad values and unknown fields are rejected, naming what is allowed.
    #[test]
    fn backend_options_reject_bad_values() {
        let err = toml::from_str::<BackendOptions>("cuda = \"bogus\"").unwrap_err();
        assert_eq!(err.message(), "must be one of: auto, fusion, direct");
        let err = toml::from_str::<BackendOptions>("adam = \"auto\"").unwrap_err();
        assert_eq!(err.message(), "must be one of: fused, burn");
        assert!(toml::from_str::<BackendOptions>("kernels = \"fast\"").unwrap_err().message().contains("unknown field `kernels`"));
        let err = BackendOptions::default().with_setting("spectral", "diagonal").unwrap_err().to_string();
        assert_eq!(err, "backend.spectral = diagonal is invalid: must be one of: auto, split, stacked");
        assert_eq!(BackendOptions::default().with_setting("memory", "dynamic").unwrap().memory, MemoryPool::Dynamic);
        assert_eq!(BackendOptions::default().with_setting("cuda", "\"fusion\"").unwrap().cuda, Choice::Fixed(CudaFlavor::Fusion));
        let stock = BackendOptions { conv_grad: Choice::Fixed(ConvGradPath::Stock), ..Default::default() };
        stock.validate().unwrap();
        let err = stock.with_setting("conv_wgrad", "taps").unwrap_err().to_string();
        assert!(err.starts_with("backend.conv_wgrad = taps is invalid: must be auto when backend.conv_grad = stock"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn bench_knobs_are_range_checked() {
        let knobs = BenchKnobs::default().with_setting("tiled_py", "2").unwrap().with_setting("tiled_prefetch", "true").unwrap();
        assert_eq!((knobs.tiled_py, knobs.tiled_prefetch, knobs.wgrad_ot), (Some(2), Some(true), None));
        assert_eq!(BenchKnobs::default().with_setting("tiled_py", "5").unwrap_err().to_string(), "knob.tiled_py = 5 is invalid: must be 1 to 4");
        assert_eq!(BenchKnobs::default().with_setting("wgrad_chunk", "0").unwrap_err().to_string(), "knob.wgrad_chunk = 0 is invalid: must be at least 1");
        assert!(BenchKnobs::default().with_setting("tile", "1").unwrap_err().to_string().starts_with("knob.tile = 1 is invalid: unknown field"));
        assert!(BenchKnobs::default().with_setting("conv_tiled", "maybe").is_err());
    }
}
