//! In-context learning as gradient descent: a trained linear self-attention layer against one
//! gradient-descent step (von Oswald et al. 2022).
//!
//! Each prompt holds n pairs (x_i, y_i = w·x_i) of a fresh random task w and a query x_q. One
//! layer of linear self-attention (no softmax) is trained with Adam to predict y_q from the
//! prompt alone. Theory says the optimum is one step of gradient descent on the prompt's
//! least-squares loss from w = 0, ŷ = (η/n) Σ y_i x_i · x_q, with a step η that has a closed
//! form. The program trains the layer, then compares it on held-out prompts with that GD step:
//! the losses, the predictions, and the step size read off the trained weights.
//!
//! Run: `cargo run --release --example icl_gd` (about 10 s on 2 cores; the optional argument is
//! the number of Adam steps, default 1500).
//! It exits with status 1 if the trained layer's loss is not within 5 % of the GD step's.

use burn::tensor::DType;
use oplab_operators::backend::{Cpu, CpuTrain};
use oplab_validation::icl::data::{Covariates, Prior, TaskDistribution};
use oplab_validation::icl::gd::{eta_star_of, half_mse, line_search_eta, one_step_predictions};
use oplab_validation::icl::lsa::{to_f64, tokens, Effective, LsaConfig};
use oplab_validation::icl::train::{train_lsa, TrainOptions};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps: usize = std::env::args().nth(1).map_or(Ok(1500), |s| s.parse())?;
    // d = 10 input dimensions, n = 10 examples per prompt, x ~ U(-0.5, 0.5)^d, w ~ N(0, I),
    // no label noise: the setting of von Oswald et al.'s Figure 2.
    let (d, n) = (10, 10);
    let tasks = TaskDistribution::new(d, n, Covariates::Uniform { half_width: 0.5 }, Prior::Isotropic, 0.0)?;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let device = Default::default();

    // Adam on a fresh batch of 512 prompts every step, the rate cut ×0.3 at 50 % and 75 %.
    let options = TrainOptions { steps, batch: 512, lr: 2e-3, lr_decay: 0.3 };
    let report_every = (steps / 5).max(1);
    let model = train_lsa::<CpuTrain>(&LsaConfig::new(d), &tasks, &options, &mut rng, &device, |step, loss| {
        if (step + 1) % report_every == 0 {
            println!("Adam step {:>5}: batch ½MSE {loss:.5}", step + 1);
        }
    });

    // The GD step: η line-searched on 10⁴ prompts, and the closed-form optimum η*.
    let eta = line_search_eta(&tasks.sample(10_000, &mut rng));
    let eta_star = eta_star_of(&tasks).ok_or("no closed-form η* for this distribution")?;

    // Held-out prompts: the trained layer's predictions against the GD step's.
    let eval = tasks.sample(10_000, &mut rng);
    let lsa_pred = to_f64(model.predict(tokens::<Cpu>(&eval, None, &device, DType::F32)));
    let gd_pred = one_step_predictions(&eval, eta);
    let (lsa_loss, lsa_se) = half_mse(&lsa_pred, &eval.yq);
    let (gd_loss, gd_se) = half_mse(&gd_pred, &eval.yq);
    let rms_y = (eval.yq.iter().map(|y| y * y).sum::<f64>() / eval.b as f64).sqrt();
    let mean_gap = lsa_pred.iter().zip(&gd_pred).map(|(a, b)| (a - b).abs()).sum::<f64>() / eval.b as f64;

    // The step size the trained weights implement: ŷ is linear in x_q, and its gradient is
    // η/n Σ y_i x_i for the GD construction, so the weights give η back.
    let implied = Effective::of(&model).implied_eta(n);

    println!("\non {} held-out prompts (d = {d}, n = {n}):", eval.b);
    println!("  ½MSE trained LSA        {lsa_loss:.5} ± {lsa_se:.5}");
    println!("  ½MSE one GD step        {gd_loss:.5} ± {gd_se:.5}   (η = {eta:.3}, line-searched)");
    println!("  ½MSE predicting 0       {:.5}", 0.5 * rms_y * rms_y);
    println!("  mean |ŷ_LSA − ŷ_GD| / RMS(y_q) = {:.4}", mean_gap / rms_y);
    println!("  step size: implied by the weights {implied:.3}, line-searched {eta:.3}, closed form η* {eta_star:.3}");

    let ratio = lsa_loss / gd_loss;
    println!("\nloss ratio LSA / GD = {ratio:.4}");
    if (ratio - 1.0).abs() > 0.05 {
        std::process::exit(1);
    }
    Ok(())
}
