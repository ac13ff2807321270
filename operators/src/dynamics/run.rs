//! The AL-RNN as a run family: `oplab train alrnn` and `oplab eval` on an AL-RNN run directory.

use std::path::Path;

use oplab_common::Progress;

use super::config::{AlrnnTrainConfig, Precision, Selection};
use super::train::{self, load_series};
use crate::backend::DeviceKind;
use crate::error::OperatorError;
use crate::run::{EvalOptions, Report, RunConfig, RunDir, RunFamily, RunRecord, TrainCall};

/// The AL-RNN's runs (CPU only: a 20-unit RNN gains nothing from a GPU).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlrnnRuns;

/// The one member name of the family.
pub const MODEL: &str = "alrnn";

impl RunConfig for AlrnnTrainConfig {
    fn default_for(model: &str) -> crate::Result<Self> {
        match model {
            MODEL => Ok(AlrnnTrainConfig::default()),
            other => Err(OperatorError::invalid("model", other, "an AL-RNN configuration trains alrnn")),
        }
    }

    fn from_toml(text: &str) -> crate::Result<Self> {
        AlrnnTrainConfig::from_toml(text)
    }

    fn to_toml(&self) -> String {
        AlrnnTrainConfig::to_toml(self)
    }

    fn set_model(&mut self, model: &str) -> crate::Result<()> {
        Self::default_for(model).map(|_| self.model = MODEL.to_string())
    }

    fn validate(&self) -> crate::Result<()> {
        AlrnnTrainConfig::validate(self)
    }

    fn epochs(&self) -> usize {
        self.epochs
    }

    fn set_epochs(&mut self, epochs: usize) {
        self.epochs = epochs;
    }

    fn resolve(&self, data: &Path) -> crate::Result<(Self, Vec<String>)> {
        if self.seq_len.is_some() {
            return Ok((self.clone(), Vec::new()));
        }
        let d = &self.data;
        let series_len = load_series(data, &d.field, d.train_sample, d.skip, d.length)?.len();
        let resolved = self.with_seq_len_for(series_len);
        let note = format!("seq_len = {} for a training series of {series_len} steps (not set in the config)", resolved.seq_len.unwrap_or(0));
        Ok((resolved, vec![note]))
    }
}

impl RunFamily for AlrnnRuns {
    type Config = AlrnnTrainConfig;

    fn check_device(&self, device: DeviceKind) -> crate::Result<()> {
        match device {
            DeviceKind::Cpu => Ok(()),
            other => Err(OperatorError::invalid("device", other, "alrnn runs on the CPU only (a 20-unit RNN gains nothing from a GPU)")),
        }
    }

    fn record(&self, run: &RunDir) -> crate::Result<RunRecord> {
        let state = train::read_state(run)?;
        Ok(RunRecord { epochs_done: state.epochs_done, data: state.data })
    }

    fn train(&self, run: &RunDir, data: &Path, cfg: &AlrnnTrainConfig, call: TrainCall, _device: DeviceKind, progress: &dyn Progress) -> crate::Result<Report> {
        let summary = train::train(data, run, cfg, &call, progress)?;
        let s = &summary.state;
        let best = s.best_dstsp.map_or("none (every free run diverged)".to_string(), |d| format!("{d:.4}"));
        let kept = match cfg.eval.select {
            Selection::Train => format!("lowest D_stsp on the training series {best} at epoch {}", s.best_epoch),
            Selection::Clean => format!("lowest D_stsp on the clean training series {best} at epoch {}", s.best_epoch),
            Selection::Last => format!("kept the model of epoch {} (no selection)", s.best_epoch),
        };
        let precision = if cfg.alrnn.precision == Precision::F64 { String::new() } else { format!(" in {}", cfg.alrnn.precision) };
        Ok(Report {
            lines: vec![format!(
                "trained AL-RNN (M = {}, P = {}, N = {}, {} parameters){precision} for {} epochs in {:.1} s; {kept}; run in {}",
                s.shape.m,
                s.shape.p,
                s.shape.n,
                s.shape.n_params(),
                s.epochs_done,
                s.train_seconds,
                run.path().display()
            )],
        })
    }

    fn evaluate(
        &self,
        run: &RunDir,
        data: &Path,
        _cfg: &AlrnnTrainConfig,
        options: &EvalOptions,
        _device: DeviceKind,
        progress: &dyn Progress,
    ) -> crate::Result<Report> {
        options.refuse_except("alrnn", &[])?;
        let s = train::evaluate(run, data, progress)?;
        let f = |v: Option<f64>| v.map_or("n/a (diverged)".to_string(), |x| format!("{x:.4}"));
        let binning = format!("{:?}", s.binning).to_lowercase();
        let mut lines = vec![
            format!(
                "AL-RNN (model of epoch {}) on test series {} ({} steps): D_stsp {} ({binning} binning; other convention {}), D_H {}, {}-step prediction error {}",
                s.best_epoch,
                s.test_sample,
                s.test_steps,
                f(s.dstsp),
                f(s.dstsp_other_binning),
                f(s.dh),
                s.pe_steps,
                f(s.pe)
            ),
            format!(
                "free run ({} steps after a {}-step transient compared): {} linear subregions used in the {} steps after the transient{}",
                s.compared_steps,
                s.transient,
                s.n_subregions,
                s.coding_steps,
                if s.diverged { " (diverged)" } else { "" }
            ),
        ];
        for r in &s.subregions {
            lines.push(format!(
                "  subregion {:>3}: {:>7} steps, fixed point {} ({}), spectral radius {:.4} ({})",
                r.id,
                r.steps,
                if r.fixed_point.is_some() { "exists" } else { "none (singular)" },
                if r.fixed_point_is_real { "real" } else { "virtual" },
                r.spectral_radius,
                if r.stable { "stable" } else { "unstable" }
            ));
        }
        lines.push(format!(
            "details in {}; figures attractor.png, spectra.png, subregions.png in {}",
            run.file(train::files::EVAL).display(),
            run.path().display()
        ));
        Ok(Report { lines })
    }
}
