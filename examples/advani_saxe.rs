//! The Advani–Saxe generalisation curve against simulation.
//!
//! A linear student learns a noisy linear teacher from P = αN examples by gradient flow on the
//! squared loss (Advani & Saxe 2017). Random-matrix theory (the Marchenko–Pastur spectrum of
//! XXᵀ) predicts the generalisation error E_g(t) for N → ∞: it falls, reaches a minimum at the
//! best stopping time, then rises as the student fits the label noise (overtraining), worst near
//! α = 1. This program prints the theory next to exact simulations at finite N (each trial
//! diagonalises one random design once and evaluates every time in closed form), then E_g(∞)
//! across loads, whose peak at α = 1 is the "double descent" of the linear model.
//!
//! Run: `cargo run --release --example advani_saxe` (about 2 s; 10 s in a debug build).
//! It exits with status 1 if a simulated point is further from theory than 4 standard errors
//! plus 3 %, the finite-N tolerance the validation report uses (`oplab validate --only rmt`).

use oplab_validation::rmt::sim::StandardTrial;
use oplab_validation::rmt::theory::{Schedule, Setup};
use oplab_validation::stats::{log_grid, MeanAccumulator};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Input dimension N of the simulated problems.
const N: usize = 200;
/// Independent designs averaged per load.
const TRIALS: usize = 40;
/// Signal-to-noise ratio σ_w̄² / σ_ε².
const SNR: f64 = 5.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut worst = 0.0f64;

    // 1. E_g(t) at one load, theory against the mean of TRIALS simulations.
    let alpha = 0.8;
    let setup = Setup::from_snr(alpha, SNR)?;
    let trials = draw(alpha, &mut rng)?;
    let times = log_grid(0.01, 1000.0, 16);
    let mut acc = MeanAccumulator::new(times.len());
    for trial in &trials {
        let modes = trial.for_setup(&setup);
        acc.push(&times.iter().map(|&t| modes.eg(Schedule::Flow(t))).collect::<Vec<_>>());
    }
    let (mean, se) = (acc.mean(), acc.std_err());
    println!("E_g(t) under gradient flow, alpha = {alpha}, SNR = {SNR}, N = {N}, {TRIALS} trials");
    println!("{:>10} {:>10} {:>10} {:>8}", "t", "theory", "simulated", "± s.e.");
    for (i, &t) in times.iter().enumerate() {
        let theory = setup.eg_flow(t);
        worst = worst.max(deviation(theory, mean[i], se[i]));
        println!("{t:>10.3} {theory:>10.4} {:>10.4} {:>8.4}", mean[i], se[i]);
    }
    let (t_opt, eg_opt) = setup.best_stopping_time();
    println!("best stopping time (theory): t = {t_opt:.2}, E_g = {eg_opt:.4}; E_g(inf) = {:.4}\n", setup.eg_inf());

    // 2. E_g after training to convergence, across loads: the peak at alpha = 1.
    println!("E_g(t -> inf) against the load alpha = P/N");
    println!("{:>6} {:>10} {:>10} {:>8}", "alpha", "theory", "simulated", "± s.e.");
    for alpha in [0.25, 0.5, 0.8, 1.25, 2.0, 4.0] {
        let setup = Setup::from_snr(alpha, SNR)?;
        let mut acc = MeanAccumulator::new(1);
        for trial in draw(alpha, &mut rng)? {
            acc.push(&[trial.for_setup(&setup).eg_inf()]);
        }
        let (theory, sim, s) = (setup.eg_inf(), acc.mean()[0], acc.std_err()[0]);
        worst = worst.max(deviation(theory, sim, s));
        println!("{alpha:>6} {theory:>10.4} {sim:>10.4} {s:>8.4}");
    }

    println!("\nlargest deviation: {worst:.2} of the tolerance (4 s.e. + 3 %)");
    if worst > 1.0 {
        std::process::exit(1);
    }
    Ok(())
}

/// TRIALS designs of N inputs and round(alpha N) examples, each diagonalised once.
fn draw(alpha: f64, rng: &mut ChaCha8Rng) -> Result<Vec<StandardTrial>, Box<dyn std::error::Error>> {
    let p = (alpha * N as f64).round() as usize;
    Ok((0..TRIALS).map(|_| StandardTrial::draw(N, p, rng)).collect::<Result<_, _>>()?)
}

/// |simulated − theory| as a fraction of the tolerance 4 s.e. + 3 % of theory.
fn deviation(theory: f64, simulated: f64, se: f64) -> f64 {
    (simulated - theory).abs() / (4.0 * se + 0.03 * theory.abs())
}
