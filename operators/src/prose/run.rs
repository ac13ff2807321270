//! PROSE as a run family: `oplab train prose --data FILE [--config F] --out RUN` and
//! `oplab eval --run RUN --data TEST [--reintegrate]`, on the configuration of
//! [`super::run_config`].

use std::path::Path;

use oplab_common::Progress;

use super::config::TextInput;
use super::eval::evaluate;
use super::run_config::{ProseConfig, MODEL};
use super::state::read_state;
use super::train::train;
use crate::backend::DeviceKind;
use crate::error::OperatorError;
use crate::run::{EvalOptions, Report, RunConfig, RunDir, RunFamily, RunRecord, TrainCall};

impl RunConfig for ProseConfig {
    fn default_for(model: &str) -> crate::Result<Self> {
        match model {
            MODEL => Ok(ProseConfig::default()),
            other => Err(OperatorError::invalid("model", other, "a prose configuration trains prose")),
        }
    }

    fn from_toml(text: &str) -> crate::Result<Self> {
        ProseConfig::from_toml(text)
    }

    fn to_toml(&self) -> String {
        ProseConfig::to_toml(self)
    }

    fn set_model(&mut self, model: &str) -> crate::Result<()> {
        Self::default_for(model).map(|_| self.model = MODEL.to_string())
    }

    fn validate(&self) -> crate::Result<()> {
        ProseConfig::validate(self)
    }

    fn epochs(&self) -> usize {
        self.epochs
    }

    fn set_epochs(&mut self, epochs: usize) {
        self.epochs = epochs;
    }

    fn resolve(&self, data: &Path) -> crate::Result<(Self, Vec<String>)> {
        let n = oplab_datasets::DatasetFile::open(data)?.info().n_samples as usize;
        self.resolved_for(n, data)
    }
}

/// PROSE's runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProseRuns;

impl RunFamily for ProseRuns {
    type Config = ProseConfig;

    fn record(&self, run: &RunDir) -> crate::Result<RunRecord> {
        let state = read_state(run)?;
        Ok(RunRecord { epochs_done: state.epochs_done, data: state.data })
    }

    fn train(&self, run: &RunDir, data: &Path, cfg: &ProseConfig, call: TrainCall, device: DeviceKind, progress: &dyn Progress) -> crate::Result<Report> {
        let s = train(run, data, cfg, device, &call, progress)?;
        let last = s.history.last();
        Ok(Report {
            lines: vec![format!(
                "trained prose ({} parameters, {} preset, text input {}) for {} epochs ({} steps, {:.3} s per step); best validation loss {:.4e} at epoch {} (val data rel. L2 {:.4e}); run in {}",
                s.params,
                cfg.network.preset,
                match cfg.text_input {
                    TextInput::Skeleton => "skeleton",
                    TextInput::None => "none",
                },
                s.epochs_done,
                s.steps,
                s.train_seconds / s.steps.max(1) as f64,
                s.best_val_loss,
                s.best_epoch,
                last.map_or(f64::NAN, |e| e.val_data_rel_l2),
                run.path().display()
            )],
        })
    }

    fn evaluate(
        &self,
        run: &RunDir,
        data: &Path,
        cfg: &ProseConfig,
        options: &EvalOptions,
        device: DeviceKind,
        progress: &dyn Progress,
    ) -> crate::Result<Report> {
        options.refuse_except(MODEL, &["--reintegrate"])?;
        evaluate(run, data, cfg, options.reintegrate, device, progress)
    }
}
