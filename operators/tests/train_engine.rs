//! End-to-end CPU training: the loss falls, the run directory is complete, a resumed run
//! continues exactly, and evaluation writes its report.

mod common;

use oplab_datasets::Silent;
use oplab_operators::run::RunDir;
use oplab_operators::run::{TrainCall, TrainLimits};
use oplab_operators::training::{self, files, ModelKind, ScheduleKind, TrainConfig};
use oplab_operators::DeviceKind;

fn tiny_config() -> TrainConfig {
    let mut c = TrainConfig { epochs: 12, batch_size: 4, ..TrainConfig::default() };
    c.data.n_train = Some(32);
    c.data.n_val = Some(8);
    c.data.n_test = Some(8);
    c.optimizer.lr = 3e-3;
    c.schedule.kind = ScheduleKind::Constant;
    c.mgno.channels = 8;
    c.mgno.layers = 2;
    c.mgno.levels = vec![[1, 0], [1, 0], [2, 0]];
    c.fno.width = 8;
    c.fno.modes = [4, 4];
    c.fno.layers = 2;
    c.fno.projection = 16;
    c
}

/// A temporary directory with `common::write_dataset`'s synthetic file in it, and that file's path.
fn synthetic_data(resolution: usize, samples: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synthetic.h5");
    common::write_dataset(&data, resolution, samples);
    (dir, data)
}

#[test]
fn mgno_trains_resumes_exactly_and_evaluates() {
    let (dir, data) = synthetic_data(16, 48);
    let cfg = tiny_config();

    // Uninterrupted run.
    let full_dir = dir.path().join("full");
    let full_run = RunDir::new(&full_dir);
    let full = training::train(&data, &full_run, &cfg, DeviceKind::Cpu, &TrainCall::default(), &Silent).unwrap();
    let h = &full.state.history;
    assert_eq!(h.len(), 12);
    let factor = h[0].train_loss / h[11].train_loss;
    eprintln!("train loss {:.4e} -> {:.4e} (factor {factor:.2}); val L2 {:.4e} -> {:.4e}", h[0].train_loss, h[11].train_loss, h[0].val_l2, h[11].val_l2);
    assert!(factor > 4.0, "loss fell only by {factor}");
    for f in [files::CONFIG, files::NORMALIZERS, files::CHECKPOINT, files::BEST, files::METRICS, files::CURVE] {
        assert!(full_dir.join(f).is_file(), "{f} missing");
    }
    assert_eq!(std::fs::read_to_string(full_dir.join(files::METRICS)).unwrap().lines().count(), 12);
    // The stored configuration holds the [backend] options the run used, so the directory alone
    // reproduces it.
    let stored = std::fs::read_to_string(full_dir.join(files::CONFIG)).unwrap();
    assert!(stored.contains("\n[backend]\n") && stored.contains("conv_grad = \"auto\""), "{stored}");
    assert_eq!(training::read_run_config(&full_run).unwrap(), cfg);

    // Interrupted after 5 epochs, then resumed: the same numbers, bit for bit.
    let part_run = RunDir::new(dir.path().join("part"));
    let stop = TrainCall { limits: TrainLimits { stop_after: Some(5), deadline: None }, ..Default::default() };
    training::train(&data, &part_run, &cfg, DeviceKind::Cpu, &stop, &Silent).unwrap();
    let resume = TrainCall { resume: true, ..Default::default() };
    let stored = training::read_run_config(&part_run).unwrap();
    let resumed = training::train(&data, &part_run, &stored, DeviceKind::Cpu, &resume, &Silent).unwrap();
    let r = &resumed.state.history;
    assert_eq!(r.len(), 12);
    // Epochs 6..12 were computed after the resume and must match bit for bit; epochs 1..5 were
    // read back from the checkpoint's JSON, whose float parsing may differ in the last bit.
    for (a, b) in h.iter().zip(r) {
        if a.epoch > 5 {
            assert_eq!((a.train_loss, a.val_l2, a.val_h1, a.lr), (b.train_loss, b.val_l2, b.val_h1, b.lr), "epoch {}", a.epoch);
        } else {
            assert!((a.train_loss - b.train_loss).abs() <= 1e-15 * a.train_loss.abs(), "epoch {}", a.epoch);
        }
    }

    // Evaluation on the held-out test split.
    let eval = training::evaluate(&full_run, &data, DeviceKind::Cpu, &Silent).unwrap();
    assert_eq!(eval.n, 8);
    assert_eq!(eval.first_index, 40);
    assert!(eval.mean_l2.is_finite() && eval.mean_l2 < h[0].val_l2, "{}", eval.mean_l2);
    assert!(full_dir.join(files::EVAL).is_file() && full_dir.join(files::EVAL_PNG).is_file());
}

#[test]
fn fno_trains_on_the_same_data() {
    let (dir, data) = synthetic_data(12, 40);
    let mut cfg = tiny_config();
    cfg.model = ModelKind::Fno;
    cfg.epochs = 4;
    cfg.data.n_train = Some(24);
    cfg.loss = oplab_operators::losses::LossKind::L2;
    cfg.optimizer.kind = training::OptimizerKind::Adamw;
    cfg.optimizer.grad_clip_norm = 1.0;
    let run = RunDir::new(dir.path().join("fno"));
    let s = training::train(&data, &run, &cfg, DeviceKind::Cpu, &TrainCall::default(), &Silent).unwrap();
    let h = &s.state.history;
    eprintln!("fno train loss {:.4e} -> {:.4e}", h[0].train_loss, h[3].train_loss);
    assert!(h[3].train_loss < h[0].train_loss);
    assert!(h.iter().all(|m| m.max_grad_norm.is_some_and(f64::is_finite)));
}

/// The converted nets train through the same engine, and their runs evaluate (converted by
/// default, which on the training grid is the plain net).
#[test]
fn unet_and_cnn_train_on_the_same_data() {
    let (dir, data) = synthetic_data(16, 40);
    for model in [ModelKind::Unet, ModelKind::Cnn] {
        let mut cfg = tiny_config();
        cfg.model = model;
        cfg.epochs = 3;
        cfg.data.n_train = Some(24);
        cfg.unet.hidden = 4;
        cfg.unet.levels = vec![1, 2];
        cfg.unet.blocks = 1;
        cfg.cnn.width = 8;
        cfg.cnn.blocks = 2;
        let run = RunDir::new(dir.path().join(model.name()));
        let s = training::train(&data, &run, &cfg, DeviceKind::Cpu, &TrainCall::default(), &Silent).unwrap();
        let h = &s.state.history;
        eprintln!("{} ({} parameters): train loss {:.4e} -> {:.4e}", model.name(), s.state.params, h[0].train_loss, h[2].train_loss);
        assert!(h[2].train_loss < h[0].train_loss, "{}", model.name());
        let eval = training::evaluate(&run, &data, DeviceKind::Cpu, &Silent).unwrap();
        assert!(eval.mean_l2.is_finite() && eval.mean_l2 < h[0].val_l2, "{}: {}", model.name(), eval.mean_l2);
    }
}

#[test]
fn bad_data_settings_name_the_field() {
    let (dir, data) = synthetic_data(8, 10);
    let mut cfg = tiny_config();
    cfg.data.n_train = Some(8);
    let err = training::train(&data, &RunDir::new(dir.path().join("r")), &cfg, DeviceKind::Cpu, &TrainCall::default(), &Silent).unwrap_err().to_string();
    assert!(err.starts_with("data.n_train + n_val + n_test = 24 is invalid"), "{err}");
    cfg.data.n_train = Some(2);
    cfg.data.n_val = Some(1);
    cfg.data.n_test = Some(1);
    cfg.data.inputs = vec!["nope".into()];
    let err = training::train(&data, &RunDir::new(dir.path().join("r")), &cfg, DeviceKind::Cpu, &TrainCall::default(), &Silent).unwrap_err().to_string();
    assert!(err.starts_with("data.inputs = nope is invalid: must name a field of the file: coeff, solution"), "{err}");
}
