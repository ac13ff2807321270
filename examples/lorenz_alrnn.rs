//! Reconstruct the Lorenz-63 attractor with an almost-linear RNN (AL-RNN; Brenner et al.,
//! NeurIPS 2024) and read off its linear subregions.
//!
//! 1. `oplab-datasets` integrates two Lorenz-63 trajectories (σ = 10, ρ = 28, β = 8/3; DOP853,
//!    Δt = 0.01) from random initial states into an ODE dataset: one to train on, one to test.
//! 2. `oplab-operators` trains an AL-RNN (M = 20 latent units, 2 of them ReLU) with sparse
//!    teacher forcing on the first trajectory, z-scored, with observation noise; the model with the
//!    lowest `D_stsp` on the training series is kept.
//! 3. Evaluation on the test trajectory: a free run of the model from the test's first state,
//!    compared as a distribution (not step by step, since the dynamics are chaotic):
//!    `D_stsp` (state-space KL divergence, binned), `D_H` (Hellinger distance of the power
//!    spectra), and the symbolic coding: which of the 2^P linear subregions the attractor uses,
//!    each subregion's fixed point and whether it is stable.
//!
//! Run: `cargo run --release --example lorenz_alrnn [EPOCHS] [DIR]` (about 25 s on 2 cores with
//! the default 150 epochs, which reproduce the attractor only coarsely: D_stsp ≈ 13, D_H ≈ 0.6, two
//! subregions). `lorenz_alrnn 2000` (5 min) gives D_stsp ≈ 4.8, D_H ≈ 0.11 and four subregions,
//! near the reference setting's 3.9 and 0.17 (`bench/alrnn/lorenz.toml`, 100,000 training steps,
//! in bench/RESULTS.md); two true trajectories differ by D_stsp 0.4–0.9 and D_H 0.04–0.11.
//! Files go to a temporary directory, or to DIR when given (figures included: attractor.png,
//! spectra.png, subregions.png in the run directory).

use std::path::PathBuf;

use oplab_datasets::problems::ode::{OdeConfig, OdeProblem};
use oplab_datasets::{GenerationSettings, ProblemModule, RunOptions, Shard, Silent};
use oplab_operators::dynamics::config::{AlrnnSection, EvalSection, SeriesSection};
use oplab_operators::dynamics::{self, AlrnnTrainConfig};
use oplab_operators::run::RunDir;
use oplab_operators::run::TrainCall;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Arguments: [EPOCHS] [DIR]; without DIR, everything goes to a temporary directory.
    let mut args = std::env::args().skip(1);
    let epochs: usize = args.next().map_or(Ok(150), |s| s.parse())?;
    let (temp, kept) = (tempfile::tempdir()?, args.next().map(PathBuf::from));
    let dir = kept.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;

    // 1. Two trajectories of 13,001 points on t ∈ [0, 130].
    let data = dir.join("lorenz.h5");
    let ode = OdeConfig { system: "lorenz".into(), t_end: 130.0, t_num: 13_001, method: "dop853".into(), ..Default::default() };
    let settings = GenerationSettings { n: 2, seed: 1, ..Default::default() };
    let options = RunOptions { out: data.clone(), shard: Shard::WHOLE, threads: None, block_size: None, force: true };
    oplab_datasets::generate(&OdeProblem::new(ode)?, &settings, &options, &Silent)?;

    // 2. Training: the reference's Lorenz-63 settings, fewer epochs. The first 1000 steps
    //    (the transient towards the attractor) are skipped.
    let config = AlrnnTrainConfig {
        seed: 1,
        epochs,
        alrnn: AlrnnSection { latent_dim: 20, relu_units: 2, ..Default::default() },
        data: SeriesSection { skip: 1000, obs_noise: 0.05, ..Default::default() },
        eval: EvalSection { transient: 1000, test_len: 10_000, coding_len: 20_000, ..Default::default() },
        ..Default::default()
    };
    let run = RunDir::new(dir.join("alrnn-run"));
    let trained = dynamics::train(&data, &run, &config, &TrainCall::default(), &Silent)?;
    let state = &trained.state;
    println!("trained {} epochs in {:.1} s; kept the model of epoch {}", state.epochs_done, state.train_seconds, state.best_epoch);

    // 3. Evaluation on the held-out trajectory.
    let eval = dynamics::evaluate(&run, &data, &Silent)?;
    let show = |v: Option<f64>| v.map_or("n/a (free run diverged)".to_string(), |v| format!("{v:.3}"));
    println!("free run of {} steps after a {}-step transient, against test trajectory {}:", eval.compared_steps, eval.transient, eval.test_sample);
    println!("  D_stsp = {}   (state-space divergence; {:?} binning)", show(eval.dstsp), eval.binning);
    println!("  D_H    = {}   (power-spectrum Hellinger distance)", show(eval.dh));
    println!("  {}-step prediction error = {}", eval.pe_steps, show(eval.pe));
    println!("  (two true trajectories differ by D_stsp 0.4–0.9, D_H 0.04–0.11)");
    println!("subregions visited in {} coded steps: {}", eval.coding_steps, eval.n_subregions);
    for r in &eval.subregions {
        let share = 100.0 * r.steps as f64 / eval.coding_steps as f64;
        let kind = match (&r.fixed_point, r.fixed_point_is_real) {
            (None, _) => "no fixed point",
            (Some(_), true) => "real fixed point",
            (Some(_), false) => "virtual fixed point",
        };
        let stability = if r.stable { "stable" } else { "unstable" };
        let relu_on: Vec<String> = (0..config.alrnn.relu_units).map(|j| if r.id >> j & 1 == 1 { "+" } else { "-" }.to_string()).collect();
        println!("  region {:>2} (ReLUs {}): {share:5.1} % of steps, {kind}, spectral radius {:.3} ({stability})", r.id, relu_on.join(""), r.spectral_radius);
    }
    if kept.is_some() {
        println!("kept {} (figures in {})", data.display(), run.path().display());
    }
    Ok(())
}
