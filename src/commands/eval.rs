use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use oplab_operators::dynamics;
use oplab_operators::training::{self, files};
use oplab_operators::DeviceKind;

use crate::progress::Bar;

/// Arguments of `oplab eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run directory written by `oplab train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset file; the test split is the samples after the training and validation ones.
    #[arg(long)]
    pub data: PathBuf,
    /// cpu or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: EvalArgs) -> Result<ExitCode> {
    if dynamics::is_alrnn_run(&args.run) {
        return run_alrnn(args);
    }
    let device: DeviceKind = args.device.parse()?;
    let s = training::evaluate(&args.run, &args.data, device, &Bar::new(args.quiet))?;
    println!(
        "test samples {}..{}: mean rel. L2 {:.4e}, mean rel. H1 {:.4e} (model of epoch {}); per-sample errors in {}, figure in {}",
        s.first_index,
        s.first_index + s.n,
        s.mean_l2,
        s.mean_h1,
        s.best_epoch,
        args.run.join(files::EVAL).display(),
        args.run.join(files::EVAL_PNG).display()
    );
    Ok(ExitCode::SUCCESS)
}

/// AL-RNN runs: free run from the test series' first point, metrics against the test series,
/// symbolic coding.
fn run_alrnn(args: EvalArgs) -> Result<ExitCode> {
    if args.device != "cpu" {
        anyhow::bail!("device = {} is invalid: alrnn evaluates on the CPU only", args.device);
    }
    let s = dynamics::evaluate(&args.run, &args.data, &Bar::new(args.quiet))?;
    let f = |v: Option<f64>| v.map_or("n/a (diverged)".to_string(), |x| format!("{x:.4}"));
    let binning = format!("{:?}", s.binning).to_lowercase();
    println!(
        "AL-RNN (model of epoch {}) on test series {} ({} steps): D_stsp {} ({binning} binning; other convention {}), D_H {}, {}-step prediction error {}",
        s.best_epoch, s.test_sample, s.test_steps, f(s.dstsp), f(s.dstsp_other_binning), f(s.dh), s.pe_steps, f(s.pe)
    );
    println!("free run ({} steps after a {}-step transient compared): {} linear subregions used in the {} steps after the transient{}", s.compared_steps, s.transient, s.n_subregions, s.coding_steps, if s.diverged { " (diverged)" } else { "" });
    for r in &s.subregions {
        println!(
            "  subregion {:>3}: {:>7} steps, fixed point {} ({}), spectral radius {:.4} ({})",
            r.id,
            r.steps,
            if r.fixed_point.is_some() { "exists" } else { "none (singular)" },
            if r.fixed_point_is_real { "real" } else { "virtual" },
            r.spectral_radius,
            if r.stable { "stable" } else { "unstable" }
        );
    }
    let d = dynamics::train::files::EVAL;
    println!("details in {}; figures attractor.png, spectra.png, subregions.png in {}", args.run.join(d).display(), args.run.display());
    Ok(ExitCode::SUCCESS)
}
