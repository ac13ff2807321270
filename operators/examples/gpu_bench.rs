//! Side-by-side timings of burn's stock convolution backward and oplab's fast one
//! (`oplab_operators::backend::conv`): single layers, then whole MgNO and FNO training steps.
//! `bench/operators/torch_step.py` prints the same tables for PyTorch; `bench/operators/README.md`
//! has the one-line command that runs both on the GPU machine.
//!
//! ```text
//! cargo build --release -p oplab-operators --features cuda --example gpu_bench
//! gpu_bench --device cuda                      # everything, batch 16 layers / batch 8 steps
//! gpu_bench --device cuda-direct --models mgno # the same without burn's fusion layer (how MgNO trains)
//! gpu_bench --device cpu --layer-max 64 --sizes 32 --reps 3    # a quick CPU run
//! gpu_bench --device cuda --only check         # fast vs stock gradients (exit 1 above --tolerance)
//! gpu_bench --device cuda --only breakdown     # MgNO/FNO step split into forward, backward, Adam
//! gpu_bench --device cuda --only curve         # MgNO loss curves, fast vs stock path (exit 1 if apart)
//! gpu_bench --device cuda --only adam          # fused Adam step vs burn's Adam (exit 1 if apart)
//! gpu_bench --device cuda --only prose --prose-presets medium,paper   # PROSE training step, batch 256
//!                                              # (`bench/prose/torch_prose_step.py` is the PyTorch side)
//! gpu_bench --device cuda --only launch        # host cost per recorded operation and per launch
//! gpu_bench --device cuda --only host-profile --models mgno --sizes 64   # where the host time goes
//!                                              # (build with `--features host-profile`, keep symbols)
//! gpu_bench --device cuda --backend conv_wgrad=im2col --backend adam=burn   # `[backend]` options
//! gpu_bench --device cuda --knob tiled_py=2 --knob tiled_prefetch=true      # kernel tuning
//!                                              # (build with `--features bench-knobs`)
//! ```
//!
//! `--backend name=value` sets a field of the `[backend]` options a training run stores in its
//! `config.toml` (`oplab_operators::backend::options`), `--knob name=value` a tuning parameter of
//! the GPU kernels (`BenchKnobs`, only in builds with the `bench-knobs` feature); both repeat.
//!
//! Every timing is the median of `--reps` repetitions after `--warmup` untimed ones (burn
//! autotunes each new shape on its first call, for seconds), each repetition ending in a device
//! sync, so times are wall-clock per call including launch overhead.

use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::module::{conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Distribution, ElementConversion, Tensor};
use oplab_operators::backend::conv::grads::{conv2d_input_grad, conv2d_weight_grad_on, conv_transpose2d_input_grad, conv_transpose2d_weight_grad_on};
use oplab_operators::backend::conv::{conv2d_with, conv_transpose2d_with, forward_conv2d, forward_conv_transpose2d};
use oplab_operators::backend::options::{BenchKnobs, Named};
use oplab_operators::backend::select::{self, with_grad_path};
use oplab_operators::backend::{BackendOptions, ConvBackend, ConvGradPath, ModelBackend, OptimBackend};
use oplab_operators::losses::relative_l2;
use oplab_operators::prose::{prose_loss, ProseInput, ProseModelConfig};
use oplab_operators::training::clip::clip_global_norm;
use oplab_operators::training::fused_adam::FusedAdam;
use oplab_operators::{Fno2dConfig, MgNoConfig, Operator2d};

/// Command-line options (parsed by hand: examples carry no CLI dependency).
struct Args {
    device: String,
    layer_batch: usize,
    step_batch: usize,
    sizes: Vec<usize>,
    layer_max: usize,
    warmup: usize,
    reps: usize,
    only: String,
    /// Which backward formulations the step table times (`stock`, `fast`, `tuned`).
    paths: Vec<String>,
    /// Which models the step table times (`mgno`, `fno`).
    models: Vec<String>,
    /// Largest relative difference of the fast gradients from the stock ones that `check` accepts.
    tolerance: f64,
    /// `--backend name=value`: the options every timed operation runs under.
    backend: BackendOptions,
    /// `--knob name=value`: the kernels' tuning (builds with the `bench-knobs` feature).
    #[cfg_attr(not(feature = "bench-knobs"), allow(dead_code))]
    knobs: BenchKnobs,
    /// PROSE presets the `prose` arm times.
    prose_presets: Vec<String>,
    /// Batch of the PROSE training step.
    prose_batch: usize,
}

/// What the benchmarks need of a backend: a model's capabilities and the optimiser step.
trait Bench: ModelBackend + OptimBackend {}

impl<B: ModelBackend + OptimBackend> Bench for B {}

/// `conv2d` whose backward follows `path`, the rest of its plan as the options choose.
fn conv2d_on_path<B: ConvBackend>(x: Tensor<B, 4>, w: Tensor<B, 4>, b: Option<Tensor<B, 1>>, opts: ConvOptions<2>, path: ConvGradPath) -> Tensor<B, 4> {
    conv2d_with(x, w, b, opts, select::conv_plan_on::<B>(path))
}

/// `conv_transpose2d` whose backward follows `path`, the rest of its plan as the options choose.
fn conv_transpose2d_on_path<B: ConvBackend>(
    x: Tensor<B, 4>,
    w: Tensor<B, 4>,
    b: Option<Tensor<B, 1>>,
    opts: ConvTransposeOptions<2>,
    path: ConvGradPath,
) -> Tensor<B, 4> {
    conv_transpose2d_with(x, w, b, opts, select::conv_plan_on::<B>(path))
}

impl Args {
    /// Whether `--paths` asks for `path` (all paths when it is not given).
    fn wants(&self, path: ConvGradPath) -> bool {
        self.paths.is_empty() || self.paths.iter().any(|w| ConvGradPath::from_name(w) == Some(path))
    }

    fn parse() -> Result<Self, String> {
        let mut a = Args {
            device: "cuda".into(),
            layer_batch: 16,
            step_batch: 8,
            sizes: vec![64, 256],
            layer_max: usize::MAX,
            warmup: 3,
            reps: 20,
            only: "all".into(),
            paths: Vec::new(),
            models: vec!["mgno".into(), "fno".into()],
            tolerance: 1e-4,
            backend: BackendOptions::default(),
            knobs: BenchKnobs::default(),
            prose_presets: vec!["medium".into(), "paper".into()],
            prose_batch: 256,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
            let num = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
            match flag.as_str() {
                "--device" => a.device = value()?,
                "--layer-batch" => a.layer_batch = num(value()?)?,
                "--step-batch" => a.step_batch = num(value()?)?,
                "--sizes" => a.sizes = value()?.split(',').map(|s| num(s.to_string())).collect::<Result<_, _>>()?,
                "--layer-max" => a.layer_max = num(value()?)?,
                "--warmup" => a.warmup = num(value()?)?,
                "--reps" => a.reps = num(value()?)?.max(1),
                "--only" => a.only = value()?,
                "--paths" => a.paths = value()?.split(',').map(str::to_string).collect(),
                "--models" => a.models = value()?.split(',').map(str::to_string).collect(),
                "--prose-presets" => a.prose_presets = value()?.split(',').map(str::to_string).collect(),
                "--prose-batch" => a.prose_batch = num(value()?)?.max(1),
                "--tolerance" => a.tolerance = value()?.parse::<f64>().map_err(|e| format!("--tolerance: {e}"))?,
                "--backend" => {
                    let v = value()?;
                    let (name, setting) = v.split_once('=').ok_or_else(|| format!("--backend {v}: must be name=value"))?;
                    a.backend = a.backend.with_setting(name.trim(), setting.trim()).map_err(|e| e.to_string())?;
                }
                "--knob" => {
                    let v = value()?;
                    if cfg!(not(feature = "bench-knobs")) {
                        return Err(format!("--knob {v}: this build has no kernel knobs; rebuild with `--features bench-knobs`"));
                    }
                    let (name, setting) = v.split_once('=').ok_or_else(|| format!("--knob {v}: must be name=value"))?;
                    a.knobs = a.knobs.with_setting(name.trim(), setting.trim()).map_err(|e| e.to_string())?;
                }
                "-h" | "--help" => {
                    println!("gpu_bench [--device cpu|cuda|cuda-direct|wgpu] [--only all|layers|steps|check|breakdown|curve|adam|launch|host-profile] [--tolerance 1e-4] [--layer-batch 16] [--step-batch 8] [--sizes 64,256] [--layer-max N] [--warmup 3] [--reps 20] [--paths stock,fast] [--models mgno,fno] [--prose-presets medium,paper] [--prose-batch 256] [--backend name=value ...] [--knob name=value ...]");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown option {other} (try --help)")),
            }
        }
        if !["all", "layers", "steps", "check", "breakdown", "curve", "adam", "launch", "host-profile", "prose"].contains(&a.only.as_str()) {
            return Err(format!("--only {} must be all, layers, steps, check, breakdown, curve, adam, launch, host-profile or prose", a.only));
        }
        if let Some(bad) = a.prose_presets.iter().find(|p| ProseModelConfig::preset(p, PROSE_VOCAB, PROSE_PAD).is_err()) {
            return Err(format!("--prose-presets {bad}: must be among {}", oplab_operators::prose::config::PRESETS));
        }
        Ok(a)
    }
}

fn main() {
    let args = match Args::parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gpu_bench: {e}");
            std::process::exit(2);
        }
    };
    #[cfg(feature = "bench-knobs")]
    if let Err(e) = select::set_bench_knobs(args.knobs) {
        eprintln!("gpu_bench: {e}");
        std::process::exit(2);
    }
    select::with_options(&args.backend, || run_on_device(&args));
}

fn run_on_device(args: &Args) {
    match args.device.as_str() {
        "cpu" => run::<Flex>(&Default::default(), args),
        // MgNO trains on burn's CUDA backend without its fusion layer, FNO with it
        // (`oplab_operators::backend::CudaFlavor`; `oplab train` picks one with `backend.cuda`).
        "cuda" | "gpu" | "cuda-direct" | "cuda-raw" => {
            #[cfg(feature = "cuda")]
            {
                oplab_operators::backend::cuda::device::configure_memory(args.backend.memory);
                if matches!(args.device.as_str(), "cuda-direct" | "cuda-raw") {
                    run::<oplab_operators::backend::CudaDirect>(&Default::default(), args);
                } else {
                    run::<burn::backend::Cuda>(&Default::default(), args);
                }
            }
            #[cfg(not(feature = "cuda"))]
            {
                eprintln!("gpu_bench: this build has no CUDA support; rebuild with `--features cuda`");
                std::process::exit(2);
            }
        }
        // burn's wgpu backend (e.g. Mesa's lavapipe): the GPU checks without an NVIDIA GPU.
        "wgpu" => {
            #[cfg(feature = "wgpu")]
            run::<burn::backend::Wgpu>(&Default::default(), args);
            #[cfg(not(feature = "wgpu"))]
            {
                eprintln!("gpu_bench: this build has no wgpu support; rebuild with `--features wgpu`");
                std::process::exit(2);
            }
        }
        other => {
            eprintln!("gpu_bench: --device {other} must be cpu, cuda, cuda-direct (alias cuda-raw) or wgpu");
            std::process::exit(2);
        }
    }
}

fn run<B: Bench>(device: &B::Device, args: &Args) {
    println!("# oplab conv benchmark (burn 0.21, device {}, f32{})\n", args.device, cubecl_memory());
    println!("backend options: {}", toml::to_string(&args.backend).unwrap_or_default().trim().replace('\n', ", "));
    let knobs = toml::to_string(&select::bench_knobs()).unwrap_or_default();
    println!("kernel knobs: {}\n", if knobs.trim().is_empty() { "defaults".to_string() } else { knobs.trim().replace('\n', ", ") });
    match args.only.as_str() {
        "check" => {
            // Both run, so that one report shows every line.
            let convs = gradient_check::<B>(device, args);
            if !(add_gelu_check::<B>(device, args) && convs) {
                std::process::exit(1);
            }
        }
        "breakdown" => step_breakdown::<B>(device, args),
        "launch" => launch_overhead::<B>(device, args),
        "host-profile" => host_profile::<B>(device, args),
        "prose" => prose_step_table::<B>(device, args),
        "curve" => {
            if !loss_curves::<B>(device, args) {
                std::process::exit(1);
            }
        }
        "adam" => {
            if !adam_check::<B>(device, args) {
                std::process::exit(1);
            }
        }
        only => {
            if only != "steps" {
                layer_table::<B>(device, args);
            }
            if only != "layers" {
                step_table::<B>(device, args);
            }
        }
    }
}

/// Which memory pool cubecl allocates from (CUDA and wgpu builds), for the table headers.
fn cubecl_memory() -> String {
    #[cfg(any(feature = "cuda", feature = "wgpu"))]
    {
        use cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
        format!(", cubecl persistent_memory {:?}", CubeClRuntimeConfig::get().memory.persistent_memory)
    }
    #[cfg(not(any(feature = "cuda", feature = "wgpu")))]
    String::new()
}

/// `‖a − b‖ / ‖b‖` over all elements (f64 accumulation).
fn relative_difference<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f64 {
    let a: Vec<f32> = a.into_data().convert::<f32>().to_vec().expect("f32 data");
    let b: Vec<f32> = b.into_data().convert::<f32>().to_vec().expect("f32 data");
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(&b) {
        num += (*x as f64 - *y as f64).powi(2);
        den += (*y as f64).powi(2);
    }
    (num / den.max(1e-300)).sqrt()
}

/// The issue's correctness criterion on this device: output, input gradient, weight gradient and
/// bias gradient of the fast path against burn's stock path, for MgNO's layer kinds (3×3 smoother,
/// stride-2 restriction, 4×4 stride-2 transposed prolongation, 1×1 skip), 1-channel ends and
/// odd, non-square grids. Returns whether every relative difference is within `--tolerance`.
fn gradient_check<B: Bench>(device: &B::Device, args: &Args) -> bool {
    type Ad<B> = Autodiff<B>;
    // (batch, c_in, c_out, [h, w], kernel, stride, padding, transposed)
    type ConvCase = (usize, usize, usize, [usize; 2], usize, usize, usize, bool);
    let cases: [ConvCase; 10] = [
        (8, 24, 24, [256, 256], 3, 1, 1, false),
        (8, 1, 24, [256, 256], 3, 1, 1, false),
        (8, 24, 1, [64, 64], 3, 1, 1, false),
        (8, 24, 24, [256, 256], 3, 2, 1, false),
        (8, 24, 24, [128, 128], 4, 2, 1, true),
        (8, 24, 24, [256, 256], 1, 1, 0, false),
        (3, 5, 7, [37, 29], 3, 1, 1, false),
        (3, 5, 7, [37, 29], 3, 2, 1, false),
        (2, 3, 4, [19, 23], 4, 2, 1, true),
        (2, 24, 24, [2, 2], 3, 1, 1, false),
    ];
    println!("## Fast vs stock gradients, relative difference ‖fast − stock‖ / ‖stock‖ (tolerance {:.0e})\n", args.tolerance);
    println!("| layer | output | d/dx | d/dw | d/db |");
    println!("|---|---|---|---|---|");
    let mut ok = true;
    for (b, ci, co, [h, w], k, s, p, transposed) in cases {
        // --layer-max caps the grids (quick runs on slow devices such as a software Vulkan driver).
        let [h, w] = [h.min(args.layer_max), w.min(args.layer_max)];
        let normal = Distribution::Normal(0.0, 1.0);
        let x = Tensor::<B, 4>::random([b, ci, h, w], normal, device);
        let w_shape = if transposed { [ci, co, k, k] } else { [co, ci, k, k] };
        let wt = Tensor::<B, 4>::random(w_shape, Distribution::Normal(0.0, 0.1), device);
        let bias = Tensor::<B, 1>::random([co], normal, device);
        let conv_opts = ConvOptions::new([s; 2], [p; 2], [1, 1], 1);
        let t_opts = ConvTransposeOptions::new([s; 2], [p; 2], [0, 0], [1, 1], 1);
        let run = |path: ConvGradPath| {
            let xa = Tensor::<Ad<B>, 4>::from_inner(x.clone()).require_grad();
            let wa = Tensor::<Ad<B>, 4>::from_inner(wt.clone()).require_grad();
            let ba = Tensor::<Ad<B>, 1>::from_inner(bias.clone()).require_grad();
            let y = if transposed {
                conv_transpose2d_on_path(xa.clone(), wa.clone(), Some(ba.clone()), t_opts.clone(), path)
            } else {
                conv2d_on_path(xa.clone(), wa.clone(), Some(ba.clone()), conv_opts.clone(), path)
            };
            // A fixed random weighting of the output, the same on both paths.
            let r = Tensor::<Ad<B>, 4>::from_inner(Tensor::<B, 4>::from_data(output_weights(y.dims()), device));
            let grads = (y.clone() * r).sum().backward();
            (y.inner(), xa.grad(&grads).expect("dx"), wa.grad(&grads).expect("dw"), ba.grad(&grads).expect("db"))
        };
        let (ys, dxs, dws, dbs) = run(ConvGradPath::Stock);
        let (yf, dxf, dwf, dbf) = run(ConvGradPath::Fast);
        let errs = [relative_difference(yf, ys), relative_difference(dxf, dxs), relative_difference(dwf, dws), relative_difference(dbf, dbs)];
        ok &= errs.iter().all(|e| *e <= args.tolerance);
        let kind = if transposed { format!("{k}×{k} s{s} transposed") } else { format!("{k}×{k} s{s}") };
        println!("| {kind} {ci}→{co}, {b}×{h}×{w} | {:.1e} | {:.1e} | {:.1e} | {:.1e} |", errs[0], errs[1], errs[2], errs[3]);
    }
    println!("\n{}", if ok { "all within tolerance" } else { "SOME ABOVE TOLERANCE" });
    ok
}

/// `add_gelu` (this backend's kernels where it has them) against burn's autodiff of the erf form
/// written out with primitive operations (exact derivatives, erf's included), on MgNO's largest
/// activation `[batch, 24, 256, 256]` (capped by `--layer-max`) with values in the range where
/// GELU bends. Returns whether output and gradient are within `--tolerance`.
fn add_gelu_check<B: Bench>(device: &B::Device, args: &Args) -> bool {
    type Ad<B> = Autodiff<B>;
    let n = 256.min(args.layer_max);
    let dims = [args.step_batch, 24, n, n];
    let a = Tensor::<B, 4>::random(dims, Distribution::Normal(0.0, 2.0), device);
    let b = Tensor::<B, 4>::random(dims, Distribution::Normal(0.0, 1.0), device);
    let r = Tensor::<Ad<B>, 4>::from_inner(Tensor::<B, 4>::from_data(output_weights(dims), device));
    let run = |fused: bool| {
        let aa = Tensor::<Ad<B>, 4>::from_inner(a.clone()).require_grad();
        let ba = Tensor::<Ad<B>, 4>::from_inner(b.clone()).require_grad();
        let y = if fused {
            oplab_operators::layers::add_gelu(aa.clone(), ba.clone())
        } else {
            let s = aa.clone() + ba.clone();
            s.clone() * ((s / std::f32::consts::SQRT_2).erf() + 1.0) / 2.0
        };
        let grads = (y.clone() * r.clone()).sum().backward();
        (y.inner(), aa.grad(&grads).expect("da"), ba.grad(&grads).expect("db"))
    };
    let (yf, daf, dbf) = run(true);
    let (yc, dac, dbc) = run(false);
    let errs = [relative_difference(yf, yc), relative_difference(daf, dac), relative_difference(dbf, dbc)];
    let ok = errs.iter().all(|e| *e <= args.tolerance);
    println!("\n## gelu(a + b), `layers::add_gelu` vs the erf form by burn's autodiff, {}×24×{n}×{n}\n", args.step_batch);
    println!("| output | d/da | d/db |\n|---|---|---|\n| {:.1e} | {:.1e} | {:.1e} |", errs[0], errs[1], errs[2]);
    println!("\n{}", if ok { "within tolerance" } else { "ABOVE TOLERANCE" });
    ok
}

/// A deterministic, non-constant weighting `r` of the output (so the loss is not a plain sum).
fn output_weights(dims: [usize; 4]) -> burn::tensor::TensorData {
    let n: usize = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.618_034).fract() - 0.5).collect();
    burn::tensor::TensorData::new(values, dims)
}

/// The issue's training criterion: Adam steps of the Darcy-rough MgNO (batch `--step-batch`, grid
/// the first of `--sizes`, each boundary mode) from one initial model and one batch, on the fast
/// and the stock path; prints both loss curves and returns whether they agree to 1e-3 relative
/// at every step (f32 on a GPU: the paths sum in different orders, and Adam amplifies that).
fn loss_curves<B: Bench>(device: &B::Device, args: &Args) -> bool {
    use oplab_operators::layers::PaddingMode;
    let (b, n, steps, tol) = (args.step_batch, args.sizes[0], 20, 1e-3);
    println!("## MgNO Darcy-rough loss curves, fast vs stock path (batch {b}, {n}², Adam lr 1e-3, {steps} steps)\n");
    println!("| padding | step | stock loss | fast loss | relative difference |");
    println!("|---|---|---|---|---|");
    let mut worst = 0.0f64;
    for padding in [PaddingMode::Zeros, PaddingMode::Reflect, PaddingMode::Circular] {
        let model0 = MgNoConfig::new().with_padding(padding).init::<Autodiff<B>>(device).expect("MgNO config");
        let [x, y] = random_pair::<B>(device, b, n);
        // Parameters initialise lazily: touch them once so that both runs start from one model.
        let _ = model0.forward(x.clone());
        let curve = |path: ConvGradPath| -> Vec<f64> {
            with_grad_path(path, || {
                let mut optim = AdamConfig::new().init::<Autodiff<B>, oplab_operators::MgNo<Autodiff<B>>>();
                train_steps(model0.clone(), &mut optim, &x, &y, steps).1
            })
        };
        let (stock, fast) = (curve(ConvGradPath::Stock), curve(ConvGradPath::Fast));
        for (i, (s, f)) in stock.iter().zip(&fast).enumerate() {
            let rel = (f - s).abs() / s.abs().max(1e-30);
            worst = worst.max(rel);
            if i % 5 == 0 || i + 1 == steps {
                println!("| {padding:?} | {i} | {s:.6} | {f:.6} | {rel:.1e} |");
            }
        }
        if fast[steps - 1] >= fast[0] {
            println!("\nthe loss did not fall on the fast path ({padding:?}): {:.6} -> {:.6}", fast[0], fast[steps - 1]);
            return false;
        }
    }
    println!("\nworst relative difference {worst:.1e} ({})", if worst <= tol { "within 1e-3" } else { "ABOVE 1e-3" });
    worst <= tol
}

/// `steps` optimizer steps (lr 1e-3) of `model` on the one batch `(x, y)` with the relative L2
/// loss: the trained model and the loss before each step.
fn train_steps<B, O>(
    mut model: oplab_operators::MgNo<Autodiff<B>>,
    optim: &mut O,
    x: &Tensor<Autodiff<B>, 4>,
    y: &Tensor<Autodiff<B>, 4>,
    steps: usize,
) -> (oplab_operators::MgNo<Autodiff<B>>, Vec<f64>)
where
    B: Bench,
    O: Optimizer<oplab_operators::MgNo<Autodiff<B>>, Autodiff<B>>,
{
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let loss = relative_l2(model.forward(x.clone()), y.clone(), None).mean();
        losses.push(loss.clone().into_scalar().elem());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
    }
    (model, losses)
}

/// The fused Adam step (`oplab_operators::training::fused_adam`, forced on) against burn's Adam:
/// 10 steps of the Darcy-rough MgNO from one model and one batch, with and without weight decay;
/// prints the relative difference of the model outputs after the steps and returns whether it
/// is within 1e-4 (f32 updates in a different order, amplified by the steps).
fn adam_check<B: Bench>(device: &B::Device, args: &Args) -> bool {
    use burn::optim::decay::WeightDecayConfig;
    let (b, n, steps) = (args.step_batch, args.sizes[0], 10);
    println!("## Fused Adam vs burn's Adam (MgNO Darcy-rough, batch {b}, {n}², lr 1e-3, {steps} steps)\n");
    println!("| weight decay | output change by the steps | ‖fused − burn‖ / ‖burn‖ of the outputs |");
    println!("|---|---|---|");
    let model0 = MgNoConfig::new().init::<Autodiff<B>>(device).expect("MgNO config");
    let [x, y] = random_pair::<B>(device, b, n);
    let start = model0.forward(x.clone());
    let mut worst = 0.0f64;
    for wd in [0.0f32, 1e-4] {
        let mut fused: OptimizerAdaptor<FusedAdam, oplab_operators::MgNo<Autodiff<B>>, Autodiff<B>> =
            FusedAdam::with_fused([0.9, 0.999], 1e-8, wd, true).into();
        let mut config = AdamConfig::new().with_epsilon(1e-8);
        if wd > 0.0 {
            config = config.with_weight_decay(Some(WeightDecayConfig::new(wd)));
        }
        let mut reference = config.init::<Autodiff<B>, oplab_operators::MgNo<Autodiff<B>>>();
        let ours = train_steps(model0.clone(), &mut fused, &x, &y, steps).0.forward(x.clone());
        let burns = train_steps(model0.clone(), &mut reference, &x, &y, steps).0.forward(x.clone());
        let norm = |t: Tensor<Autodiff<B>, 4>| -> f64 { t.powi_scalar(2).sum().into_scalar().elem::<f64>().sqrt() };
        let moved = norm(burns.clone() - start.clone()) / norm(start.clone());
        let rel = norm(ours - burns.clone()) / norm(burns);
        worst = worst.max(rel);
        println!("| {wd} | {moved:.2e} | {rel:.1e} |");
    }
    println!("\nworst relative difference {worst:.1e} ({})", if worst <= 1e-4 { "within 1e-4" } else { "ABOVE 1e-4" });
    worst <= 1e-4
}

/// Where a training step's time goes: forward alone (no autodiff), forward + loss + backward, and
/// the whole step with Adam, per model and grid (fast path).
fn step_breakdown<B: Bench>(device: &B::Device, args: &Args) {
    let b = args.step_batch;
    println!("## Training-step breakdown, batch {b}, fast path (ms, median of {} after {} warm-up)\n", args.reps, args.warmup);
    println!("| model | grid | forward (inference) | forward + loss + backward | whole step (+ Adam) | host time of the whole step | host: forward + loss | host: backward | host: Adam |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for &n in &args.sizes {
        for name in &args.models {
            let parts = match name.as_str() {
                "mgno" => breakdown_of::<B, _>(device, MgNoConfig::new().init::<Autodiff<B>>(device).expect("MgNO config"), b, n, args),
                "fno" => breakdown_of::<B, _>(device, Fno2dConfig::new().init::<Autodiff<B>>(device).expect("FNO config"), b, n, args),
                other => {
                    eprintln!("gpu_bench: unknown model {other}");
                    continue;
                }
            };
            let cols: Vec<String> = parts.iter().map(|t| format!("{t:.2}")).collect();
            println!("| {name} | {n}² | {} |", cols.join(" | "));
        }
    }
    println!();
}

fn breakdown_of<B, M>(device: &B::Device, model: M, batch: usize, n: usize, args: &Args) -> [f64; 7]
where
    B: Bench,
    M: AutodiffModule<Autodiff<B>> + Operator2d<Autodiff<B>> + Clone + 'static,
    M::InnerModule: Operator2d<B>,
{
    with_grad_path(ConvGradPath::Fast, || {
        let [x, y] = random_pair::<B>(device, batch, n);
        let inference = model.valid();
        let x_inner = x.clone().inner();
        let forward = time_ms::<B, _>(device, args.warmup, args.reps, || inference.forward(x_inner.clone()));
        let backward = time_ms::<B, _>(device, args.warmup, args.reps, || {
            let loss = relative_l2(model.forward(x.clone()), y.clone(), None).mean();
            loss.backward()
        });
        let phases = step_host_phases_ms::<B, _>(device, model.clone(), batch, n, args);
        [forward, backward, phases[4], phases[3], phases[0], phases[1], phases[2]]
    })
}

/// Operations chained per timed run of the launch table: enough that the per-run sync is small
/// against them.
const LAUNCH_CHAIN: usize = 200;

/// The host cost of one operation, in µs, for chains of [`LAUNCH_CHAIN`] operations on tensors
/// too small to keep the GPU busy (batch 8, 8 channels, 16²): host time until the last operation
/// returns, and wall time after the sync, both per operation. It separates what a step pays per
/// recorded operation (autodiff, fusion bookkeeping) from what it pays per kernel launch.
fn launch_overhead<B: Bench>(device: &B::Device, args: &Args) {
    type Ad<B> = Autodiff<B>;
    println!("## Host cost per operation, chains of {LAUNCH_CHAIN} on [8, 8, 16, 16] (µs per operation, median of {} runs)\n", args.reps);
    println!("| chain | host µs / op | wall µs / op |");
    println!("|---|---|---|");
    let x0 = Tensor::<B, 4>::random([8, 8, 16, 16], Distribution::Normal(0.0, 1.0), device);
    let w = Tensor::<B, 4>::random([8, 8, 3, 3], Distribution::Normal(0.0, 0.1), device);
    let opts = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let row = |name: &str, f: &mut dyn FnMut() -> Box<dyn std::any::Any>| {
        let mut runs: Vec<[f64; 2]> = (0..args.warmup + args.reps.max(1))
            .map(|_| {
                let start = Instant::now();
                let out = f();
                let host = start.elapsed().as_secs_f64();
                let _ = B::sync(device);
                let wall = start.elapsed().as_secs_f64();
                drop(out);
                [host, wall].map(|t| t * 1e6 / LAUNCH_CHAIN as f64)
            })
            .skip(args.warmup)
            .collect();
        let med = |k: usize, runs: &mut Vec<[f64; 2]>| {
            runs.sort_by(|a, b| a[k].total_cmp(&b[k]));
            runs[runs.len() / 2][k]
        };
        let (host, wall) = (med(0, &mut runs), med(1, &mut runs));
        println!("| {name} | {host:.1} | {wall:.1} |");
    };
    row("elementwise `x·1.0001` (fusable)", &mut || {
        let mut x = x0.clone();
        for _ in 0..LAUNCH_CHAIN {
            x = x * 1.0001;
        }
        Box::new(x)
    });
    row("3×3 conv forward (custom kernel)", &mut || {
        let mut x = prim(x0.clone());
        for _ in 0..LAUNCH_CHAIN {
            x = forward_conv2d::<B>(x, prim(w.clone()), None, opts.clone());
        }
        Box::new(Tensor::<B, 4>::from_primitive(burn::tensor::TensorPrimitive::Float(x)))
    });
    row("3×3 conv forward + residual add", &mut || {
        let mut x = x0.clone();
        for _ in 0..LAUNCH_CHAIN {
            let y =
                Tensor::<B, 4>::from_primitive(burn::tensor::TensorPrimitive::Float(forward_conv2d::<B>(prim(x.clone()), prim(w.clone()), None, opts.clone())));
            x = y + x;
        }
        Box::new(x)
    });
    row("burn's stock conv2d forward", &mut || {
        let mut x = x0.clone();
        for _ in 0..LAUNCH_CHAIN {
            x = conv2d(x, w.clone(), None, opts.clone());
        }
        Box::new(x)
    });
    with_grad_path(ConvGradPath::Fast, || {
        let wa = Tensor::<Ad<B>, 4>::from_inner(w.clone()).require_grad();
        let xa = Tensor::<Ad<B>, 4>::from_inner(x0.clone());
        row("autodiff: conv forward + backward (per conv)", &mut || {
            let mut x = xa.clone();
            for _ in 0..LAUNCH_CHAIN {
                x = conv2d_with(x, wa.clone(), None, opts.clone(), select::conv_plan::<Ad<B>>());
            }
            Box::new(x.sum().backward())
        });
        row("autodiff: conv + residual add, forward + backward (per conv)", &mut || {
            let mut x = xa.clone();
            for _ in 0..LAUNCH_CHAIN {
                x = conv2d_with(x.clone(), wa.clone(), None, opts.clone(), select::conv_plan::<Ad<B>>()) + x;
            }
            Box::new(x.sum().backward())
        });
    });
    println!();
}

/// A sampling profile (pprof, SIGPROF at 4 kHz over every thread) of the host side of `--reps`
/// training steps of each model in `--models` at each size in `--sizes`, after `--warmup` steps:
/// the functions with the most samples on top of the stack (self) and anywhere on it (inclusive).
/// Needs `--features host-profile` and a binary with its symbol table (`strip --strip-debug`).
#[cfg(feature = "host-profile")]
fn host_profile<B: Bench>(device: &B::Device, args: &Args) {
    for &n in &args.sizes {
        for name in &args.models {
            let mut run: Box<dyn FnMut() -> [f64; 5]> = match name.as_str() {
                "mgno" => training_step_fn::<B, _>(device, MgNoConfig::new().init::<Autodiff<B>>(device).expect("MgNO config"), args.step_batch, n),
                "fno" => training_step_fn::<B, _>(device, Fno2dConfig::new().init::<Autodiff<B>>(device).expect("FNO config"), args.step_batch, n),
                other => {
                    eprintln!("gpu_bench: unknown model {other}");
                    continue;
                }
            };
            with_grad_path(ConvGradPath::Fast, || {
                for _ in 0..args.warmup {
                    run();
                }
                let guard =
                    pprof::ProfilerGuardBuilder::default().frequency(4000).blocklist(&["libc", "libgcc", "pthread", "vdso"]).build().expect("pprof profiler");
                let start = Instant::now();
                for _ in 0..args.reps {
                    run();
                }
                let wall = start.elapsed().as_secs_f64() * 1e3 / args.reps as f64;
                let report = guard.report().build().expect("pprof report");
                print_host_profile(&format!("{name} {n}², batch {}, {} steps, {wall:.2} ms per step", args.step_batch, args.reps), &report.data);
            });
        }
    }
}

#[cfg(not(feature = "host-profile"))]
fn host_profile<B: Bench>(_device: &B::Device, _args: &Args) {
    eprintln!("gpu_bench: --only host-profile needs a build with `--features host-profile`");
    std::process::exit(2);
}

/// The self and inclusive tables of a pprof sample map: per function, the share of all samples.
#[cfg(feature = "host-profile")]
fn print_host_profile(title: &str, data: &std::collections::HashMap<pprof::Frames, isize>) {
    use std::collections::{HashMap, HashSet};
    let total: isize = data.values().sum();
    let (mut own, mut inclusive, mut threads) = (HashMap::<String, isize>::new(), HashMap::<String, isize>::new(), HashMap::<String, isize>::new());
    for (frames, &count) in data {
        *threads.entry(frames.thread_name_or_id()).or_default() += count;
        let names: Vec<String> = frames.frames.iter().flat_map(|f| f.iter().map(|s| short_symbol(&s.name()))).collect();
        if let Some(top) = names.first() {
            *own.entry(top.clone()).or_default() += count;
        }
        for name in names.into_iter().collect::<HashSet<_>>() {
            *inclusive.entry(name).or_default() += count;
        }
    }
    let table = |heading: &str, map: HashMap<String, isize>, rows: usize| {
        let mut v: Vec<(String, isize)> = map.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        println!("| {heading} | samples | share |\n|---|---|---|");
        for (name, c) in v.into_iter().take(rows) {
            println!("| `{name}` | {c} | {:.1} % |", 100.0 * c as f64 / total.max(1) as f64);
        }
        println!();
    };
    println!("## Host profile: {title} ({total} samples at 4 kHz)\n");
    table("thread", threads, 10);
    table("function (self)", own, 45);
    table("function (inclusive)", inclusive, 120);
}

/// A demangled symbol without its hash and with generic arguments elided, so that the
/// instantiations of one function count together.
#[cfg(feature = "host-profile")]
fn short_symbol(name: &str) -> String {
    let name = match name.rfind("::h") {
        Some(i) if name.len() - i == 19 => &name[..i],
        _ => name,
    };
    // `Type<Args>` loses its arguments; a qualified path `<T as Trait>::f` keeps its brackets.
    let mut out = String::with_capacity(name.len());
    let mut brackets: Vec<bool> = Vec::new(); // per open '<': whether it elides its contents
    let mut prev = ' ';
    for c in name.chars() {
        let eliding = brackets.iter().any(|&e| e);
        match c {
            '<' => {
                let elide = prev.is_alphanumeric() || prev == '_';
                if elide && !eliding {
                    out.push_str("<…>");
                } else if !eliding {
                    out.push('<');
                }
                brackets.push(elide);
            }
            '>' if prev != '-' => {
                if let Some(elide) = brackets.pop() {
                    if !elide && !brackets.iter().any(|&e| e) {
                        out.push('>');
                    }
                }
            }
            _ if !eliding => out.push(c),
            _ => {}
        }
        prev = c;
    }
    out
}

/// One whole training step of `model` (forward, relative-L2 loss, backward, Adam, device sync) per
/// call, on a fixed random input/target pair; each call returns the host milliseconds of its
/// phases (forward + loss recorded; backward and the gradients' collection; Adam), of the whole
/// step before the sync, and the wall milliseconds after it.
fn training_step_fn<'a, B, M>(device: &'a B::Device, model: M, batch: usize, n: usize) -> Box<dyn FnMut() -> [f64; 5] + 'a>
where
    B: Bench,
    M: AutodiffModule<Autodiff<B>> + Operator2d<Autodiff<B>> + Clone + 'static,
{
    let [x, y] = random_pair::<B>(device, batch, n);
    let mut optim = step_optimizer::<B, M>();
    let mut model = Some(model);
    Box::new(move || {
        let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
        let start = Instant::now();
        let m = model.take().expect("model");
        let loss = relative_l2(m.forward(x.clone()), y.clone(), None).mean();
        let forward = ms(start);
        let t = Instant::now();
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        let backward = ms(t);
        let t = Instant::now();
        model = Some(optim.step(1e-3, m, grads));
        let adam = ms(t);
        let host = ms(start);
        let _ = B::sync(device);
        [forward, backward, adam, host, ms(start)]
    })
}

/// Host milliseconds of the three phases of a whole training step (forward + loss recorded;
/// backward, i.e. `loss.backward()` and the gradients' collection; the Adam step), of the whole
/// step, and its wall time (after a sync): medians over `reps` steps after `warmup`. On a GPU that
/// queues work asynchronously, host ≈ wall means the step is bound by the CPU side (operation
/// recording, fusion, kernel launches; or the host waiting on a full launch queue), host ≪ wall
/// that the GPU is; the phases then say which part of the step the host time goes to.
fn step_host_phases_ms<B, M>(device: &B::Device, model: M, batch: usize, n: usize, args: &Args) -> [f64; 5]
where
    B: Bench,
    M: AutodiffModule<Autodiff<B>> + Operator2d<Autodiff<B>> + Clone + 'static,
{
    let mut step = training_step_fn::<B, M>(device, model, batch, n);
    for i in 0..args.warmup {
        let t = step();
        eprintln!("  warm-up step {}: {:.2} s", i + 1, t[4] / 1e3);
    }
    let runs: Vec<[f64; 5]> = (0..args.reps.max(1)).map(|_| step()).collect();
    std::array::from_fn(|k| {
        let mut v: Vec<f64> = runs.iter().map(|r| r[k]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    })
}

/// Median milliseconds of `reps` calls of `f` after `warmup` untimed ones, each call followed
/// by a device sync. Whatever `f` returns is dropped only after the sync, so that a lazy
/// (fusion) backend cannot skip work whose results nobody holds.
fn time_ms<B: Backend, R>(device: &B::Device, warmup: usize, reps: usize, mut f: impl FnMut() -> R) -> f64 {
    warm_up::<B, R>(device, warmup, &mut f);
    let mut wall: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let start = Instant::now();
            let out = f();
            let _ = B::sync(device);
            let ms = start.elapsed().as_secs_f64() * 1e3;
            drop(out);
            ms
        })
        .collect();
    wall.sort_by(f64::total_cmp);
    wall[wall.len() / 2]
}

/// Calls of one layer queued before each sync in the layer table: one call per sync would time the
/// sync's own latency (wall times then come in coarse steps), not the kernels.
const LAYER_QUEUE: usize = 10;

/// Median milliseconds per call over `reps` runs of `queue` back-to-back calls of `f` and one
/// device sync, after `warmup` single calls: the device's throughput on one layer, as in a step
/// where kernels follow each other. The results are held until the sync.
fn time_queued_ms<B: Backend, R>(device: &B::Device, warmup: usize, reps: usize, queue: usize, mut f: impl FnMut() -> R) -> f64 {
    warm_up::<B, R>(device, warmup, &mut f);
    let mut per_call: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let start = Instant::now();
            let outs: Vec<R> = (0..queue).map(|_| f()).collect();
            let _ = B::sync(device);
            let ms = start.elapsed().as_secs_f64() * 1e3 / queue as f64;
            drop(outs);
            ms
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    per_call[per_call.len() / 2]
}

/// `warmup` untimed calls of `f`, each followed by a device sync. First calls JIT-compile and
/// autotune kernels; each call's time goes to stderr, so a slow warm-up is visible.
fn warm_up<B: Backend, R>(device: &B::Device, warmup: usize, f: &mut impl FnMut() -> R) {
    for i in 0..warmup {
        let start = Instant::now();
        let out = f();
        let _ = B::sync(device);
        drop(out);
        eprintln!("  warm-up call {}: {:.2} s", i + 1, start.elapsed().as_secs_f64());
    }
}

fn prim<B: Backend>(t: Tensor<B, 4>) -> burn::tensor::ops::FloatTensor<B> {
    t.into_primitive().tensor()
}

/// One benchmarked layer: `[c_in, c_out]`, grid side (of the input), kernel, stride, and whether
/// it is MgNO's transposed prolongation.
struct Layer {
    name: String,
    c: [usize; 2],
    n: usize,
    k: usize,
    s: usize,
    transposed: bool,
}

fn layers(max: usize) -> Vec<Layer> {
    let l = |c: [usize; 2], n: usize, k: usize, s: usize, transposed: bool| {
        let n = n.min(max);
        let kind = if transposed {
            format!("{k}×{k} s{s} transposed")
        } else if s > 1 {
            format!("{k}×{k} s{s}")
        } else {
            format!("{k}×{k}")
        };
        Layer { name: format!("{kind} {}→{}, {n}²", c[0], c[1]), c, n, k, s, transposed }
    };
    vec![
        // The shapes of burn_gpu_notes.md ...
        l([32, 32], 256, 3, 1, false),
        l([24, 24], 256, 3, 1, false),
        l([1, 24], 256, 3, 1, false),
        l([32, 32], 64, 3, 1, false),
        // ... and MgNO's other convolutions at the finest level: restriction, prolongation (from
        // the 128² level to 256²) and the 1×1 skip.
        l([24, 24], 256, 3, 2, false),
        l([24, 24], 128, 4, 2, true),
        l([24, 24], 256, 1, 1, false),
    ]
}

fn layer_table<B: Bench>(device: &B::Device, args: &Args) {
    let b = args.layer_batch;
    // The same settings the autodiff op records (options and knobs included).
    let plan = select::conv_plan_on::<B>(ConvGradPath::Fast);
    let (chunk, kind) = (plan.chunk, plan.wgrad);
    println!("fast wgrad: {kind:?} (option conv_wgrad), split-K chunk {chunk}\n");
    println!(
        "## Single layers, batch {b} (ms per call: median over {} runs of {LAYER_QUEUE} queued calls and one sync, after {} warm-up)\n",
        args.reps, args.warmup
    );
    println!("| layer | stock fwd | fast fwd | stock dgrad | stock wgrad | fast dgrad | fast wgrad | stock fwd+bwd | fast fwd+bwd | fwd+bwd speed-up |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for layer in layers(args.layer_max) {
        let [ci, co] = layer.c;
        let (n, k, s) = (layer.n, layer.k, layer.s);
        let pad = if k == 1 { 0 } else { 1 };
        let normal = Distribution::Normal(0.0, 1.0);
        let x = Tensor::<B, 4>::random([b, ci, n, n], normal, device);
        let w_shape = if layer.transposed { [ci, co, k, k] } else { [co, ci, k, k] };
        let w = Tensor::<B, 4>::random(w_shape, Distribution::Normal(0.0, 0.1), device);
        let conv_opts = ConvOptions::new([s; 2], [pad; 2], [1, 1], 1);
        let t_opts = ConvTransposeOptions::new([s; 2], [pad; 2], [0, 0], [1, 1], 1);
        let forward = |x: Tensor<B, 4>, w: Tensor<B, 4>| {
            if layer.transposed {
                conv_transpose2d(x, w, None, t_opts.clone())
            } else {
                conv2d(x, w, None, conv_opts.clone())
            }
        };
        let y = forward(x.clone(), w.clone());
        let dy = Tensor::<B, 4>::random(y.dims(), normal, device);
        let (w_run, warm) = (args.reps, args.warmup);
        // `--paths fast` skips burn's stock kernels (NaN in their columns): quick tuning runs.
        let stock_ms = |f: &dyn Fn() -> f64| if args.wants(ConvGradPath::Stock) { f() } else { f64::NAN };
        let fwd = stock_ms(&|| time_queued_ms::<B, _>(device, warm, w_run, LAYER_QUEUE, || forward(x.clone(), w.clone())));
        // The forward the fast path runs (the backend's direct kernel where it has one).
        let fast_fwd = time_queued_ms::<B, _>(device, warm, w_run, LAYER_QUEUE, || {
            if layer.transposed {
                forward_conv_transpose2d::<B>(prim(x.clone()), prim(w.clone()), None, t_opts.clone())
            } else {
                forward_conv2d::<B>(prim(x.clone()), prim(w.clone()), None, conv_opts.clone())
            }
        });
        // The backend's own gradient kernels, as burn's autodiff calls them.
        let stock_dgrad = stock_ms(&|| {
            time_queued_ms::<B, _>(device, warm, w_run, LAYER_QUEUE, || {
                if layer.transposed {
                    B::conv_transpose2d_x_backward(prim(w.clone()), prim(dy.clone()), t_opts.clone())
                } else {
                    B::conv2d_x_backward(prim(x.clone()), prim(w.clone()), prim(dy.clone()), conv_opts.clone())
                }
            })
        });
        let stock_wgrad = stock_ms(&|| {
            time_queued_ms::<B, _>(device, warm, w_run, LAYER_QUEUE, || {
                if layer.transposed {
                    B::conv_transpose2d_weight_backward(prim(x.clone()), prim(w.clone()), prim(dy.clone()), t_opts.clone())
                } else {
                    B::conv2d_weight_backward(prim(x.clone()), prim(w.clone()), prim(dy.clone()), conv_opts.clone())
                }
            })
        });
        let fast_dgrad = time_queued_ms::<B, _>(device, warm, w_run, LAYER_QUEUE, || {
            if layer.transposed {
                conv_transpose2d_input_grad(dy.clone(), w.clone(), [n, n], [s; 2], [pad; 2])
            } else {
                conv2d_input_grad(dy.clone(), w.clone(), [n, n], [s; 2], [pad; 2])
            }
        });
        let fast_wgrad = time_queued_ms::<B, _>(device, warm, w_run, LAYER_QUEUE, || {
            if layer.transposed {
                conv_transpose2d_weight_grad_on(x.clone(), dy.clone(), [k, k], [s; 2], [pad; 2], chunk, kind)
            } else {
                conv2d_weight_grad_on(x.clone(), dy.clone(), [k, k], [s; 2], [pad; 2], chunk, kind)
            }
        });
        // Whole forward + backward under autodiff, d/dx and d/dw of Σ r·y.
        type Ad<B> = Autodiff<B>;
        let xa = Tensor::<Ad<B>, 4>::from_inner(x.clone()).require_grad();
        let wa = Tensor::<Ad<B>, 4>::from_inner(w.clone()).require_grad();
        let ra = Tensor::<Ad<B>, 4>::from_inner(dy.clone());
        let both = |path: ConvGradPath| {
            time_queued_ms::<B, _>(device, warm, w_run, LAYER_QUEUE, || {
                let y = if layer.transposed {
                    conv_transpose2d_on_path(xa.clone(), wa.clone(), None, t_opts.clone(), path)
                } else {
                    conv2d_on_path(xa.clone(), wa.clone(), None, conv_opts.clone(), path)
                };
                let grads = (y * ra.clone()).sum().backward();
                (xa.grad(&grads), wa.grad(&grads))
            })
        };
        let stock = stock_ms(&|| both(ConvGradPath::Stock));
        let fast = both(ConvGradPath::Fast);
        println!(
            "| {} | {fwd:.3} | {fast_fwd:.3} | {stock_dgrad:.3} | {stock_wgrad:.3} | {fast_dgrad:.3} | {fast_wgrad:.3} | {stock:.3} | {fast:.3} | {:.1}× |",
            layer.name,
            stock / fast
        );
    }
    println!();
}

/// An input and a target, `[batch, 1, n, n]`, standard normal (drawn in that order).
fn random_pair<B: Backend>(device: &B::Device, batch: usize, n: usize) -> [Tensor<Autodiff<B>, 4>; 2] {
    [(); 2].map(|_| Tensor::<Autodiff<B>, 4>::random([batch, 1, n, n], Distribution::Normal(0.0, 1.0), device))
}

/// The optimizer of the timed training steps, as the trainer builds it: the fused Adam step where
/// the backend has one (burn's Adam under `--backend adam=burn`), ε 1e-5.
fn step_optimizer<B: Bench, M: AutodiffModule<Autodiff<B>>>() -> OptimizerAdaptor<FusedAdam, M, Autodiff<B>> {
    FusedAdam::new([0.9, 0.999], 1e-5, 0.0).into()
}

/// Median time of one training step (forward, relative-L2 loss, backward, Adam) of `model`.
fn step_ms<B, M>(device: &B::Device, model: M, batch: usize, n: usize, args: &Args, path: ConvGradPath) -> f64
where
    B: Bench,
    M: AutodiffModule<Autodiff<B>> + Operator2d<Autodiff<B>> + Clone + 'static,
{
    with_grad_path(path, || {
        let [x, y] = random_pair::<B>(device, batch, n);
        let mut optim = step_optimizer::<B, M>();
        let mut model = Some(model);
        time_ms::<B, _>(device, args.warmup, args.reps, || {
            let m = model.take().expect("model");
            let loss = relative_l2(m.forward(x.clone()), y.clone(), None).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            model = Some(optim.step(1e-3, m, grads));
        })
    })
}

fn step_table<B: Bench>(device: &B::Device, args: &Args) {
    let b = args.step_batch;
    println!("## Training steps (forward + relative L2 + backward + Adam), batch {b} (ms, median of {} after {} warm-up)\n", args.reps, args.warmup);
    // A backend that mixes the two formulations (the CPU) also gets a column for the mix.
    let tuned = B::preferred_grad_path() == ConvGradPath::Tuned;
    if tuned {
        println!("| model | params | grid | stock ms | fast ms | tuned ms | stock/fast |");
        println!("|---|---|---|---|---|---|---|");
    } else {
        println!("| model | params | grid | stock ms | fast ms | stock/fast |");
        println!("|---|---|---|---|---|---|");
    }
    for &n in &args.sizes {
        let row = |name: &str, params: usize, times: Vec<f64>| {
            let cols: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
            println!("| {name} | {params} | {n}² | {} | {:.2}× |", cols.join(" | "), times[0] / times[1]);
        };
        let all: &[ConvGradPath] =
            if tuned { &[ConvGradPath::Stock, ConvGradPath::Fast, ConvGradPath::Tuned] } else { &[ConvGradPath::Stock, ConvGradPath::Fast] };
        // A path left out of --paths is printed as NaN, so the table keeps its columns.
        let time_paths = |name: &str, f: &dyn Fn(ConvGradPath) -> f64| -> Vec<f64> {
            all.iter()
                .map(|p| {
                    if !args.wants(*p) {
                        return f64::NAN;
                    }
                    eprintln!("{name} {n}², {p:?} path:");
                    let ms = f(*p);
                    eprintln!("  median {ms:.2} ms");
                    ms
                })
                .collect()
        };
        if args.models.iter().any(|m| m == "mgno") {
            let mgno = MgNoConfig::new().init::<Autodiff<B>>(device).expect("MgNO config");
            let params = burn::module::Module::num_params(&mgno);
            let times = time_paths("MgNO", &|p| step_ms::<B, _>(device, mgno.clone(), b, n, args, p));
            row("MgNO Darcy-rough (4 layers, 24 ch, 6 levels)", params, times);
        }
        if args.models.iter().any(|m| m == "fno") {
            let fno = Fno2dConfig::new().init::<Autodiff<B>>(device).expect("FNO config");
            let params = burn::module::Module::num_params(&fno);
            let times = time_paths("FNO", &|p| step_ms::<B, _>(device, fno.clone(), b, n, args, p));
            row("FNO (4 layers, width 32, modes 12)", params, times);
        }
    }
    println!();
}

/// PROSE's vocabulary for `chaotic_ode_3d` (1072 words) and a `<PAD>` id inside it.
const PROSE_VOCAB: usize = 1072;
const PROSE_PAD: usize = 2;
/// Fixed sequence lengths of the PROSE step: 64 data samples in, 128 query times out, the
/// Lorenz skeleton (25 tokens) into the symbol encoder, `<BOS>` + Lorenz's 33 tokens + `<EOS>`
/// into the symbol decoder. `bench/prose/torch_prose_step.py` uses the same.
const PROSE_LENS: [usize; 4] = [64, 128, 25, 35];

/// A PROSE training step as the trainer runs it: forward (encoder once, data decoder, teacher-
/// forced symbol decoder), loss (6 · data + text), backward, global-norm clip 1.0 and an AdamW
/// step (decoupled weight decay 1e-4, lr 1e-4); median over `--reps` after `--warmup`. Random
/// inputs of the fixed lengths, no padding, batch `--prose-batch`.
fn prose_step_table<B: Bench>(device: &B::Device, args: &Args) {
    use burn::optim::AdamWConfig;
    use burn::tensor::{Bool, Int};
    type Ad<B> = Autodiff<B>;
    let batch = args.prose_batch;
    let [n_in, n_query, l_sym, l_dec] = PROSE_LENS;
    println!(
        "## PROSE training step (forward + loss + backward + clip 1.0 + AdamW), batch {batch}, {n_in} data / {n_query} queries / {l_sym} symbol / {l_dec} decoder tokens (ms, median of {} after {} warm-up)\n",
        args.reps, args.warmup
    );
    println!("| preset | params | forward + loss ms | step ms | samples/s |");
    println!("|---|---|---|---|---|");
    for preset in &args.prose_presets {
        let config = ProseModelConfig::preset(preset, PROSE_VOCAB, PROSE_PAD).expect("checked by the argument parser");
        let model = config.init::<Ad<B>>(device);
        let params = model.num_params();
        eprintln!("PROSE {preset}: {params} parameters");
        let tokens = |len: usize| Tensor::<Ad<B>, 2, Int>::random([batch, len], Distribution::Uniform(4.0, PROSE_VOCAB as f64), device);
        let no_pad = |len: usize| Tensor::<Ad<B>, 2, Int>::zeros([batch, len], device).equal_elem(1);
        let input = ProseInput::<Ad<B>> {
            data: Tensor::random([batch, n_in, 4], Distribution::Normal(0.0, 1.0), device),
            symbols: tokens(l_sym),
            symbol_pad: no_pad(l_sym),
            query_times: Tensor::random([batch, n_query], Distribution::Uniform(2.0, 6.0), device),
        };
        let decoder_in = tokens(l_dec);
        let decoder_pad: Tensor<Ad<B>, 2, Bool> = no_pad(l_dec);
        let target = Tensor::<Ad<B>, 3>::random([batch, n_query, 3], Distribution::Normal(0.0, 1.0), device);
        let mask = Tensor::<Ad<B>, 3>::ones([batch, 1, 3], device);
        let loss_of = |m: &oplab_operators::prose::Prose<Ad<B>>| {
            let (pred, logits) = m.forward(&input, decoder_in.clone(), decoder_pad.clone());
            prose_loss(pred, target.clone(), mask.clone(), logits, decoder_in.clone(), decoder_pad.clone(), 6.0).total
        };
        eprintln!("PROSE {preset}, forward + loss:");
        let forward_ms = time_ms::<B, _>(device, args.warmup, args.reps, || loss_of(&model));
        eprintln!("  median {forward_ms:.2} ms");
        let mut optim = AdamWConfig::new().with_epsilon(1e-8).with_weight_decay(1e-4).init::<Ad<B>, oplab_operators::prose::Prose<Ad<B>>>();
        let mut model = Some(model);
        eprintln!("PROSE {preset}, training step:");
        let step_ms = time_ms::<B, _>(device, args.warmup, args.reps, || {
            let m = model.take().expect("model");
            let mut grads = GradientsParams::from_grads(loss_of(&m).backward(), &m);
            clip_global_norm::<Ad<B>, _>(&m, &mut grads, 1.0);
            model = Some(optim.step(1e-4, m, grads));
        });
        eprintln!("  median {step_ms:.2} ms");
        println!("| {preset} | {params} | {forward_ms:.2} | {step_ms:.2} | {:.0} |", batch as f64 / step_ms * 1e3);
    }
    println!();
}
