//! The 2-D field-to-field models (MgNO, FNO, U-Net, CNN) as a run family:
//! `oplab train mgno|fno|unet|cnn` and `oplab eval` on their run directories.

use std::path::Path;

use oplab_common::Progress;

use super::config::{ModelKind, TrainConfig};
use super::state::{files, read_run_state};
use super::{evaluate, resolution_sweep, train};
use crate::backend::DeviceKind;
use crate::run::{EvalOptions, Report, RunConfig, RunDir, RunFamily, RunRecord, TrainCall};

/// Runs of the 2-D neural operators on field-to-field datasets.
#[derive(Debug, Clone, Copy, Default)]
pub struct OperatorRuns;

impl RunConfig for TrainConfig {
    fn default_for(model: &str) -> crate::Result<Self> {
        ModelKind::parse(model).map(|model| TrainConfig { model, ..TrainConfig::default() })
    }

    fn from_toml(text: &str) -> crate::Result<Self> {
        TrainConfig::from_toml(text)
    }

    fn to_toml(&self) -> String {
        TrainConfig::to_toml(self)
    }

    fn set_model(&mut self, model: &str) -> crate::Result<()> {
        self.model = ModelKind::parse(model)?;
        Ok(())
    }

    fn set_init(&mut self, path: &Path) -> bool {
        let supported = matches!(self.model, ModelKind::Mgno | ModelKind::Fno);
        if supported {
            self.init = Some(path.to_path_buf());
        }
        supported
    }

    fn validate(&self) -> crate::Result<()> {
        TrainConfig::validate(self)
    }

    fn epochs(&self) -> usize {
        self.epochs
    }

    fn set_epochs(&mut self, epochs: usize) {
        self.epochs = epochs;
    }

    fn resolve(&self, data: &Path) -> crate::Result<(Self, Vec<String>)> {
        if self.data.split_is_resolved() {
            return Ok((self.clone(), Vec::new()));
        }
        let resolved = self.with_split_of(data)?;
        let (n_train, n_val, n_test) = resolved.data.split_sizes();
        let note = format!(
            "split of {}: {n_train} training, {n_val} validation, {n_test} test samples (sizes not set in [data] take 80/10/10 % of the file)",
            data.display()
        );
        Ok((resolved, vec![note]))
    }
}

impl RunFamily for OperatorRuns {
    type Config = TrainConfig;

    fn record(&self, run: &RunDir) -> crate::Result<RunRecord> {
        let state = read_run_state(run)?;
        Ok(RunRecord { epochs_done: state.epochs_done, data: state.data })
    }

    fn train(&self, run: &RunDir, data: &Path, cfg: &TrainConfig, call: TrainCall, device: DeviceKind, progress: &dyn Progress) -> crate::Result<Report> {
        if device == DeviceKind::Cuda {
            if let Some(notice) = super::cuda_setup_notice(cfg.model, &cfg.backend) {
                progress.message(&notice);
            }
        }
        let summary = train(data, run, cfg, device, &call, progress)?;
        let node = call.placement.node_rank();
        if node > 0 {
            return Ok(Report {
                lines: vec![format!("node {node}: trained {} replica(s) with node 0, which keeps the run in {}", cfg.parallel.devices, run.path().display())],
            });
        }
        let s = &summary.state;
        Ok(Report {
            lines: vec![format!(
                "trained {} ({} parameters) for {} epochs; best validation rel. L2 {:.4e} at epoch {}; run in {}",
                cfg.model.name(),
                s.params,
                s.epochs_done,
                s.best_val_l2,
                s.best_epoch,
                run.path().display()
            )],
        })
    }

    fn evaluate(
        &self,
        run: &RunDir,
        data: &Path,
        cfg: &TrainConfig,
        options: &EvalOptions,
        device: DeviceKind,
        progress: &dyn Progress,
    ) -> crate::Result<Report> {
        options.refuse_except(cfg.model.name(), &["--subsample", "--convert", "--io-interp"])?;
        if options.subsample.is_some() || options.convert.is_some() || options.io_interp {
            let sweep = resolution_sweep(run, data, options, device, progress)?;
            let mut lines = sweep.table();
            lines.push(format!("written: {} and {}", run.file(super::sweep::files::SWEEP).display(), run.file(super::sweep::files::SWEEP_PNG).display()));
            return Ok(Report { lines });
        }
        let s = evaluate(run, data, device, progress)?;
        Ok(Report {
            lines: vec![format!(
                "test samples {}..{}: mean rel. L2 {:.4e}, mean rel. H1 {:.4e} (model of epoch {}); per-sample errors in {}, figure in {}",
                s.first_index,
                s.first_index + s.n,
                s.mean_l2,
                s.mean_h1,
                s.best_epoch,
                run.file(files::EVAL).display(),
                run.file(files::EVAL_PNG).display()
            )],
        })
    }
}
