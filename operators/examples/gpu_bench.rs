//! Side-by-side timings of burn's stock convolution backward and oplab's fast one
//! (`oplab_operators::layers::fastconv`): single layers, then whole MgNO and FNO training steps.
//! `bench/operators/torch_step.py` prints the same tables for PyTorch; `bench/operators/README.md`
//! has the one-line command that runs both on the GPU machine.
//!
//! ```text
//! cargo build --release -p oplab-operators --features cuda --example gpu_bench
//! gpu_bench --device cuda                      # everything, batch 16 layers / batch 8 steps
//! gpu_bench --device cpu --layer-max 64 --sizes 32 --reps 3    # a quick CPU run
//! ```
//!
//! Every timing is the median of `--reps` repetitions after `--warmup` untimed ones (burn
//! autotunes each new shape on its first call, for seconds), each repetition ending in a device
//! sync, so times are wall-clock per call including launch overhead.

use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::module::{conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Distribution, Tensor};
use oplab_operators::layers::fastconv::{
    conv2d_input_grad, conv2d_on_path, conv2d_weight_grad, conv_transpose2d_input_grad, conv_transpose2d_on_path, conv_transpose2d_weight_grad, wgrad_kind, with_grad_path, ConvBackend, ConvGradPath,
};
use oplab_operators::losses::relative_l2;
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
}

impl Args {
    fn parse() -> Result<Self, String> {
        let mut a = Args { device: "cuda".into(), layer_batch: 16, step_batch: 8, sizes: vec![64, 256], layer_max: usize::MAX, warmup: 3, reps: 20, only: "all".into(), paths: Vec::new(), models: vec!["mgno".into(), "fno".into()] };
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
                "-h" | "--help" => {
                    println!("gpu_bench [--device cpu|cuda] [--only all|layers|steps] [--layer-batch 16] [--step-batch 8] [--sizes 64,256] [--layer-max N] [--warmup 3] [--reps 20] [--paths stock,fast] [--models mgno,fno]");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown option {other} (try --help)")),
            }
        }
        if !["all", "layers", "steps"].contains(&a.only.as_str()) {
            return Err(format!("--only {} must be all, layers or steps", a.only));
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
    match args.device.as_str() {
        "cpu" => run::<Flex>(&Default::default(), &args),
        "cuda" | "gpu" => {
            #[cfg(feature = "cuda")]
            run::<burn::backend::Cuda>(&Default::default(), &args);
            #[cfg(not(feature = "cuda"))]
            {
                eprintln!("gpu_bench: this build has no CUDA support; rebuild with `--features cuda`");
                std::process::exit(2);
            }
        }
        other => {
            eprintln!("gpu_bench: --device {other} must be cpu or cuda");
            std::process::exit(2);
        }
    }
}

fn run<B: ConvBackend>(device: &B::Device, args: &Args) {
    println!("# oplab conv benchmark (burn 0.21, device {}, f32)\n", args.device);
    if args.only != "steps" {
        layer_table::<B>(device, args);
    }
    if args.only != "layers" {
        step_table::<B>(device, args);
    }
}

/// Median milliseconds of `reps` calls of `f` after `warmup` untimed ones, each call followed
/// by a device sync. Whatever `f` returns is dropped only after the sync, so that a lazy
/// (fusion) backend cannot skip work whose results nobody holds.
fn time_ms<B: Backend, R>(device: &B::Device, warmup: usize, reps: usize, mut f: impl FnMut() -> R) -> f64 {
    for i in 0..warmup {
        let start = Instant::now();
        let out = f();
        let _ = B::sync(device);
        drop(out);
        // First calls JIT-compile and autotune kernels; say how long, so a slow warm-up is visible.
        eprintln!("  warm-up call {}: {:.2} s", i + 1, start.elapsed().as_secs_f64());
    }
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            let out = f();
            let _ = B::sync(device);
            let ms = start.elapsed().as_secs_f64() * 1e3;
            drop(out);
            ms
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
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
        let kind = if transposed { format!("{k}×{k} s{s} transposed") } else if s > 1 { format!("{k}×{k} s{s}") } else { format!("{k}×{k}") };
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

fn layer_table<B: ConvBackend>(device: &B::Device, args: &Args) {
    let b = args.layer_batch;
    // The same settings the autodiff op records (environment overrides included).
    let chunk = std::env::var("OPLAB_CONV_WGRAD_CHUNK").ok().and_then(|v| v.trim().parse().ok()).unwrap_or_else(B::wgrad_chunk);
    let kind = wgrad_kind();
    println!("fast wgrad: {kind:?} GEMM, split-K chunk {chunk}\n");
    println!("## Single layers, batch {b} (ms, median of {} after {} warm-up)\n", args.reps, args.warmup);
    println!("| layer | fwd | stock dgrad | stock wgrad | fast dgrad | fast wgrad | stock fwd+bwd | fast fwd+bwd | fwd+bwd speed-up |");
    println!("|---|---|---|---|---|---|---|---|---|");
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
        let forward = |x: Tensor<B, 4>, w: Tensor<B, 4>| if layer.transposed { conv_transpose2d(x, w, None, t_opts.clone()) } else { conv2d(x, w, None, conv_opts.clone()) };
        let y = forward(x.clone(), w.clone());
        let dy = Tensor::<B, 4>::random(y.dims(), normal, device);
        let (w_run, warm) = (args.reps, args.warmup);
        let fwd = time_ms::<B, _>(device, warm, w_run, || forward(x.clone(), w.clone()));
        // The backend's own gradient kernels, as burn's autodiff calls them.
        let stock_dgrad = time_ms::<B, _>(device, warm, w_run, || {
            if layer.transposed {
                B::conv_transpose2d_x_backward(prim(w.clone()), prim(dy.clone()), t_opts.clone())
            } else {
                B::conv2d_x_backward(prim(x.clone()), prim(w.clone()), prim(dy.clone()), conv_opts.clone())
            }
        });
        let stock_wgrad = time_ms::<B, _>(device, warm, w_run, || {
            if layer.transposed {
                B::conv_transpose2d_weight_backward(prim(x.clone()), prim(w.clone()), prim(dy.clone()), t_opts.clone())
            } else {
                B::conv2d_weight_backward(prim(x.clone()), prim(w.clone()), prim(dy.clone()), conv_opts.clone())
            }
        });
        let fast_dgrad = time_ms::<B, _>(device, warm, w_run, || {
            if layer.transposed {
                conv_transpose2d_input_grad(dy.clone(), w.clone(), [n, n], [s; 2], [pad; 2])
            } else {
                conv2d_input_grad(dy.clone(), w.clone(), [n, n], [s; 2], [pad; 2])
            }
        });
        let fast_wgrad = time_ms::<B, _>(device, warm, w_run, || {
            if layer.transposed {
                conv_transpose2d_weight_grad(x.clone(), dy.clone(), [k, k], [s; 2], [pad; 2], chunk, kind)
            } else {
                conv2d_weight_grad(x.clone(), dy.clone(), [k, k], [s; 2], [pad; 2], chunk, kind)
            }
        });
        // Whole forward + backward under autodiff, d/dx and d/dw of Σ r·y.
        type Ad<B> = Autodiff<B>;
        let xa = Tensor::<Ad<B>, 4>::from_inner(x.clone()).require_grad();
        let wa = Tensor::<Ad<B>, 4>::from_inner(w.clone()).require_grad();
        let ra = Tensor::<Ad<B>, 4>::from_inner(dy.clone());
        let both = |path: ConvGradPath| {
            time_ms::<B, _>(device, warm, w_run, || {
                let y = if layer.transposed {
                    conv_transpose2d_on_path(xa.clone(), wa.clone(), None, t_opts.clone(), path)
                } else {
                    conv2d_on_path(xa.clone(), wa.clone(), None, conv_opts.clone(), path)
                };
                let grads = (y * ra.clone()).sum().backward();
                (xa.grad(&grads), wa.grad(&grads))
            })
        };
        let stock = both(ConvGradPath::Stock);
        let fast = both(ConvGradPath::Fast);
        println!(
            "| {} | {fwd:.3} | {stock_dgrad:.3} | {stock_wgrad:.3} | {fast_dgrad:.3} | {fast_wgrad:.3} | {stock:.3} | {fast:.3} | {:.1}× |",
            layer.name,
            stock / fast
        );
    }
    println!();
}

/// Median time of one training step (forward, relative-L2 loss, backward, Adam) of `model`.
fn step_ms<B, M>(device: &B::Device, model: M, batch: usize, n: usize, args: &Args, path: ConvGradPath) -> f64
where
    B: ConvBackend,
    M: AutodiffModule<Autodiff<B>> + Operator2d<Autodiff<B>> + Clone + 'static,
{
    with_grad_path(path, || {
        let x = Tensor::<Autodiff<B>, 4>::random([batch, 1, n, n], Distribution::Normal(0.0, 1.0), device);
        let y = Tensor::<Autodiff<B>, 4>::random([batch, 1, n, n], Distribution::Normal(0.0, 1.0), device);
        let mut optim = AdamConfig::new().init::<Autodiff<B>, M>();
        let mut model = Some(model);
        time_ms::<B, _>(device, args.warmup, args.reps, || {
            let m = model.take().expect("model");
            let loss = relative_l2(m.forward(x.clone()), y.clone(), None).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            model = Some(optim.step(1e-3, m, grads));
        })
    })
}

fn step_table<B: ConvBackend>(device: &B::Device, args: &Args) {
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
        let all: &[ConvGradPath] = if tuned { &[ConvGradPath::Stock, ConvGradPath::Fast, ConvGradPath::Tuned] } else { &[ConvGradPath::Stock, ConvGradPath::Fast] };
        // A path left out of --paths is printed as NaN, so the table keeps its columns.
        let wanted = |p: &ConvGradPath| args.paths.is_empty() || args.paths.iter().any(|w| ConvGradPath::parse(w) == Some(*p));
        let time_paths = |name: &str, f: &dyn Fn(ConvGradPath) -> f64| -> Vec<f64> {
            all.iter()
                .map(|p| {
                    if !wanted(p) {
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
