//! Data-parallel training on the CPU (`training::parallel`): replicas as threads on burn-collective
//! end with the weights of a one-device run of the same global batch (to summation-order noise),
//! repeat themselves bit for bit, resume exactly with the same number of replicas, and refuse a
//! device list that does not fit the run.

mod common;

use oplab_datasets::Silent;
use oplab_operators::export::{collect, load_best, BestModel, Params};
use oplab_operators::run::{Placement, RunDir, TrainCall, TrainLimits};
use oplab_operators::training::parallel::{BatchMeaning, ParallelSection};
use oplab_operators::training::{self, ModelKind, ScheduleKind, TrainConfig, TrainSummary};
use oplab_operators::DeviceKind;

/// burn seeds the CPU backend's initialisation through one process-wide generator: two trainings
/// started at once in one test process would draw each other's numbers, so these tests take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn tiny_mgno(replicas: usize) -> TrainConfig {
    let mut c = TrainConfig { model: ModelKind::Mgno, epochs: 3, batch_size: 4, ..TrainConfig::default() };
    c.data.n_train = Some(30);
    c.data.n_val = Some(6);
    c.data.n_test = Some(4);
    c.optimizer.lr = 3e-3;
    c.schedule.kind = ScheduleKind::Constant;
    c.mgno.channels = 6;
    c.mgno.layers = 2;
    c.mgno.levels = vec![[1, 0], [1, 0], [2, 0]];
    c.parallel = ParallelSection { devices: replicas, ..ParallelSection::default() };
    c
}

fn train(data: &std::path::Path, dir: &std::path::Path, cfg: &TrainConfig, call: &TrainCall) -> TrainSummary {
    training::train(data, &RunDir::new(dir), cfg, DeviceKind::Cpu, call, &Silent).unwrap()
}

fn weights(dir: &std::path::Path) -> Params {
    match load_best(&RunDir::new(dir)).unwrap() {
        BestModel::Mgno(m) => collect(&*m),
        BestModel::Fno(m) => collect(&*m),
    }
}

/// Largest difference of any weight, relative to the largest weight.
fn relative_gap(a: &Params, b: &Params) -> f64 {
    let (mut gap, mut scale) = (0.0f64, 0.0f64);
    for (name, (shape, va)) in a {
        let (shape_b, vb) = &b[name];
        assert_eq!(shape, shape_b, "{name}");
        for (x, y) in va.iter().zip(vb) {
            gap = gap.max((x - y).abs() as f64);
            scale = scale.max(x.abs() as f64);
        }
    }
    gap / scale
}

#[test]
fn replicas_train_like_one_device_and_repeat_bit_for_bit() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synthetic.h5");
    // 30 training samples in batches of 4: the last batch has 2, fewer than some replica counts.
    common::write_dataset(&data, 16, 40);
    let one = train(&data, &dir.path().join("k1"), &tiny_mgno(1), &TrainCall::default());
    let w1 = weights(&dir.path().join("k1"));
    let h1 = &one.state.history;
    assert!(h1[2].train_loss < h1[0].train_loss, "the one-device run did not learn: {h1:?}");
    for k in [2, 3, 5] {
        let run = dir.path().join(format!("k{k}"));
        let s = train(&data, &run, &tiny_mgno(k), &TrainCall::default());
        let gap = relative_gap(&w1, &weights(&run));
        eprintln!("{k} replicas: weights differ from one device's by {gap:.2e} of the largest weight");
        // Adam normalises each step, so a difference in the last bits of a gradient moves a weight
        // by up to about lr · 1e-6 relative; three epochs of 8 steps stay far below 1e-4.
        assert!(gap < 1e-4, "{k} replicas: relative weight gap {gap:e}");
        assert!(gap > 0.0 || k == 1, "{k} replicas gave bit-identical weights: the replicas may not have split the batches");
        for (a, b) in h1.iter().zip(&s.state.history) {
            assert!((a.train_loss - b.train_loss).abs() <= 1e-5 * a.train_loss, "{k} replicas, epoch {}: {} vs {}", a.epoch, a.train_loss, b.train_loss);
            assert!((a.val_l2 - b.val_l2).abs() <= 1e-4 * a.val_l2, "{k} replicas, epoch {}: val {} vs {}", a.epoch, a.val_l2, b.val_l2);
        }
    }
    // The same K again: the same bytes.
    let again = dir.path().join("k3-again");
    let s3 = train(&data, &again, &tiny_mgno(3), &TrainCall::default());
    assert!(weights(&again) == weights(&dir.path().join("k3")), "two runs on 3 replicas differ");
    let first3 = training::read_run_state(&RunDir::new(dir.path().join("k3"))).unwrap();
    assert_eq!(s3.state.history.iter().map(|m| m.train_loss).collect::<Vec<_>>(), first3.history.iter().map(|m| m.train_loss).collect::<Vec<_>>());

    // A batch of 2 per replica on 2 replicas is the global batch of 4 computed the same way.
    let mut per_device = tiny_mgno(2);
    per_device.batch_size = 2;
    per_device.parallel.batch = BatchMeaning::PerDevice;
    train(&data, &dir.path().join("per-device"), &per_device, &TrainCall::default());
    assert!(weights(&dir.path().join("per-device")) == weights(&dir.path().join("k2")), "batch 2 per device on 2 replicas differs from a global batch of 4");
}

#[test]
fn a_replicated_run_resumes_exactly_and_refuses_another_device_count() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synthetic.h5");
    common::write_dataset(&data, 16, 40);
    let cfg = tiny_mgno(2);
    let full = train(&data, &dir.path().join("full"), &cfg, &TrainCall::default());
    let part = dir.path().join("part");
    let stop = TrainCall { limits: TrainLimits { stop_after: Some(1), deadline: None }, ..TrainCall::default() };
    train(&data, &part, &cfg, &stop);
    let three = TrainCall { resume: true, placement: Placement { devices: vec![0, 1, 2], nodes: None }, ..TrainCall::default() };
    let refused = training::train(&data, &RunDir::new(&part), &cfg, DeviceKind::Cpu, &three, &Silent).unwrap_err().to_string();
    assert!(refused.contains("3 devices given") && refused.contains("devices = 2"), "{refused}");
    let resumed = train(&data, &part, &cfg, &TrainCall { resume: true, ..TrainCall::default() });
    assert!(weights(&part) == weights(&dir.path().join("full")), "the resumed run ends with other weights");
    for (a, b) in full.state.history.iter().zip(&resumed.state.history).skip(1) {
        assert_eq!((a.train_loss, a.val_l2), (b.train_loss, b.val_l2), "epoch {}", a.epoch);
    }
}
