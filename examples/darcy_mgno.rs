//! Generate a tiny Darcy dataset, then train and evaluate an MgNO on it, on the CPU.
//!
//! `make quickstart` takes the same tour through the command line; this is the library path:
//! 1. `oplab-datasets` samples 120 coefficients a (thresholded Gaussian random fields) on a 33×33
//!    grid, solves −∇·(a∇u) = 1 for each, and writes the pairs (a, u) into a native HDF5 file
//!    (deterministic: sample i depends only on the seed and i);
//! 2. `oplab-operators` trains a small multigrid neural operator (MgNO) from a to u on the first
//!    96 samples (H¹ loss, Adam, OneCycle), keeps the model with the lowest validation error on the
//!    next 12, and evaluates it on the last 12: relative L2 and H¹ errors per sample.
//!
//! Run: `cargo run --release --example darcy_mgno [EPOCHS] [DIR]` (about 35 s on 2 cores with the
//! default 30 epochs; test relative L2 ≈ 0.15, where predicting the mean training solution scores
//! 0.26; longer training on more samples, as in `make quickstart`, goes much lower). A second argument
//! DIR keeps the dataset and the run directory (config, checkpoints, metrics, loss curve, eval
//! figure) there instead of in a temporary directory.
//! It exits with status 1 unless the operator beats every predictor that ignores its input, i.e.
//! its test error is below that of the mean training solution.

use std::path::PathBuf;

use oplab_datasets::problems::darcy::{DarcyProblem, DarcyProblemConfig};
use oplab_datasets::{DatasetFile, GenerationSettings, ProblemModule, RunOptions, Shard, Silent};
use oplab_operators::run::RunDir;
use oplab_operators::run::TrainCall;
use oplab_operators::training::{self, MgNoSection, TrainConfig};
use oplab_operators::DeviceKind;
use oplab_solvers::elliptic::DarcyConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Arguments: [EPOCHS] [DIR]; without DIR, everything goes to a temporary directory.
    let mut args = std::env::args().skip(1);
    let epochs: usize = args.next().map_or(Ok(30), |s| s.parse())?;
    let (temp, kept) = (tempfile::tempdir()?, args.next().map(PathBuf::from));
    let dir = kept.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;

    // 1. The dataset: 120 Darcy samples at 33×33 (FNO's coefficient distribution and forcing).
    let data = dir.join("darcy.h5");
    let problem = DarcyProblem::new(DarcyProblemConfig { solver: DarcyConfig { resolution: 33, ..Default::default() }, subsample: 1 })?;
    let settings = GenerationSettings { n: 120, seed: 0, ..Default::default() };
    let options = RunOptions { out: data.clone(), shard: Shard::WHOLE, threads: None, block_size: None, force: true };
    let generated = oplab_datasets::generate(&problem, &settings, &options, &Silent)?;
    println!("wrote {}: {} samples in {:.2} s", data.display(), generated.samples, generated.elapsed.as_secs_f64());

    // 2. Training: a 2-layer, 12-channel MgNO with a 3-level V-cycle; the split is explicit.
    let mut config = TrainConfig {
        epochs,
        batch_size: 4,
        mgno: MgNoSection { channels: 12, layers: 2, levels: vec![[1, 0], [1, 0], [2, 0]], ..Default::default() },
        ..Default::default()
    };
    config.optimizer.lr = 3e-3;
    (config.data.n_train, config.data.n_val, config.data.n_test) = (Some(96), Some(12), Some(12));
    let run = RunDir::new(dir.join("mgno-run"));
    let trained = training::train(&data, &run, &config, DeviceKind::Cpu, &TrainCall::default(), &Silent)?;
    println!("MgNO with {} parameters, {} epochs:", trained.state.params, trained.state.history.len());
    for e in &trained.state.history {
        println!("  epoch {:>3}: train H1 loss {:.4}, validation rel. L2 {:.4} ({:.2} s)", e.epoch, e.train_loss, e.val_l2, e.seconds);
    }

    // 3. Evaluation of the best-validation model on the 12 test samples (also writes
    //    eval.json and eval_samples.png into the run directory).
    let eval = training::evaluate(&run, &data, DeviceKind::Cpu, &Silent)?;
    let baseline = mean_solution_error(&data, 96, eval.first_index)?;
    println!("test (samples {}..{}), model of epoch {}:", eval.first_index, eval.first_index + eval.n, eval.best_epoch);
    println!("  relative L2 {:.4}, relative H1 {:.4}", eval.mean_l2, eval.mean_h1);
    println!("  predicting the mean training solution instead: relative L2 {baseline:.4}");
    if kept.is_some() {
        println!("kept {} (run directory: {})", data.display(), run.path().display());
    }
    if eval.mean_l2 >= baseline {
        std::process::exit(1);
    }
    Ok(())
}

/// Mean relative L2 error, over the samples from `first_test` on, of predicting every solution
/// by the mean of the first `n_train` ones: the score of an operator that ignores its input.
fn mean_solution_error(data: &std::path::Path, n_train: usize, first_test: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let (u, shape) = DatasetFile::open(data)?.read_field_f32("solution")?;
    let m = shape[1] * shape[2];
    let mean: Vec<f64> = (0..m).map(|j| (0..n_train).map(|i| u[i * m + j] as f64).sum::<f64>() / n_train as f64).collect();
    let errors: Vec<f64> = (first_test..shape[0])
        .map(|i| {
            let sample = &u[i * m..(i + 1) * m];
            let diff: f64 = sample.iter().zip(&mean).map(|(&a, b)| (a as f64 - b).powi(2)).sum();
            let norm: f64 = sample.iter().map(|&a| (a as f64).powi(2)).sum();
            (diff / norm).sqrt()
        })
        .collect();
    Ok(errors.iter().sum::<f64>() / errors.len() as f64)
}
