//! `oplab generate grf`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use oplab_datasets::problems::grf::{GrfConfig, GrfProblem};

use super::{CommonArgs, Layout};

pub const EXAMPLES: &str = "Examples:
  oplab generate grf --n 64 --resolution 128 --out grf.h5
  oplab generate grf --n 1000 --resolution 256 --alpha 2.5 --tau 7 --threads 2 --gzip 4
  oplab generate grf --config run.toml --seed 3   # [grf] table in run.toml, flags override";

/// Arguments of `oplab generate grf`.
#[derive(Debug, Args)]
pub struct GrfArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Grid side s (nodes x_i = i/(s-1), boundary included) [default: 64].
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Smoothness exponent α [default: 2].
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Inverse length scale τ [default: 3].
    #[arg(long)]
    pub tau: Option<f64>,
    /// Amplitude [default: τ^(α−1), FNO's].
    #[arg(long)]
    pub scale: Option<f64>,
    /// Cosine modes per direction [default: resolution].
    #[arg(long)]
    pub modes: Option<usize>,
    /// Keep the constant mode (FNO drops it).
    #[arg(long)]
    pub keep_mean_mode: bool,
}

pub fn run(args: GrfArgs) -> Result<ExitCode> {
    args.common.require_layout("grf", &[Layout::Native])?;
    let (settings, mut config): (_, GrfConfig) = args.common.resolve("grf")?;
    if let Some(r) = args.resolution {
        config.resolution = r;
    }
    if let Some(a) = args.alpha {
        config.alpha = a;
    }
    if let Some(t) = args.tau {
        config.tau = t;
    }
    if args.scale.is_some() {
        config.scale = args.scale;
    }
    if args.modes.is_some() {
        config.modes = args.modes;
    }
    config.keep_mean_mode |= args.keep_mean_mode;
    let problem = GrfProblem::new(config)?;
    args.common.run(&problem, &settings)
}
