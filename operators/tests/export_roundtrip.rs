//! Weights out and back in: a tiny MgNO and FNO trained for one epoch on a generated Darcy file,
//! exported as safetensors, loaded into freshly built models (with other initial weights), give
//! the trained models' outputs bit for bit; files that do not fit are refused naming the tensor.

use burn::tensor::{Distribution, Tensor};
use oplab_datasets::problems::darcy::{DarcyProblem, DarcyProblemConfig};
use oplab_datasets::ProblemModule;
use oplab_datasets::{GenerationSettings, RunOptions, Shard, Silent};
use oplab_operators::backend::Cpu;
use oplab_operators::export::{collect, export_run, load_best, load_into, BestModel};
use oplab_operators::models::{Fno2d, MgNo};
use oplab_operators::run::RunDir;
use oplab_operators::run::TrainCall;
use oplab_operators::training::{self, ModelKind, TrainConfig};
use oplab_operators::DeviceKind;

fn darcy(path: &std::path::Path) {
    let config: DarcyProblemConfig = toml::from_str("resolution = 17").unwrap();
    let settings = GenerationSettings { n: 12, ..GenerationSettings::default() };
    let opts = RunOptions { out: path.to_path_buf(), shard: Shard::WHOLE, threads: Some(1), block_size: None, force: true };
    oplab_datasets::generate(&DarcyProblem::new(config).unwrap(), &settings, &opts, &Silent).expect("darcy dataset");
}

fn tiny(model: ModelKind) -> TrainConfig {
    // Post-smoothing and several pre-smoothing steps, so every kind of MgNO name appears; FNO
    // with domain padding and unequal modes.
    let text = format!(
        "model = \"{}\"\nepochs = 1\nbatch_size = 4\n\
         [data]\nn_train = 8\nn_val = 2\nn_test = 2\n[optimizer]\nlr = 1e-2\n[schedule]\nkind = \"constant\"\n\
         [mgno]\nchannels = 4\nlayers = 2\nlevels = [[1, 1], [2, 1], [2, 0]]\n\
         [fno]\nwidth = 6\nmodes = [3, 4]\nlayers = 2\nprojection = 8\ndomain_padding = 2\n",
        model.name()
    );
    TrainConfig::from_toml(&text).unwrap()
}

fn values(t: Tensor<Cpu, 4>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().unwrap()
}

#[test]
fn exported_weights_load_into_fresh_models_bit_for_bit_and_misfits_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("darcy.h5");
    darcy(&data);
    let device = Default::default();
    let x = Tensor::<Cpu, 4>::random([3, 1, 17, 17], Distribution::Normal(0.0, 1.0), &device);
    let mut files = Vec::new();
    for kind in [ModelKind::Mgno, ModelKind::Fno] {
        let run = RunDir::new(dir.path().join(kind.name()));
        let cfg = tiny(kind);
        training::train(&data, &run, &cfg, DeviceKind::Cpu, &TrainCall::default(), &Silent).unwrap();
        let file = dir.path().join(format!("{}.safetensors", kind.name()));
        let s = export_run(&run, &file, None, false).unwrap();
        assert_eq!((s.kind, s.best_epoch), (kind, 1));
        let best = load_best(&run).unwrap();
        assert_eq!(s.params, best.params().values().map(|(shape, _)| shape.iter().product::<usize>()).sum::<usize>());
        // A fresh model of the run's configuration starts from other weights; the file's make
        // it the trained one, parameter for parameter and output for output.
        let (fresh, loaded) = match (&best, kind) {
            (BestModel::Mgno(_), _) => {
                let m: MgNo<Cpu> = cfg.mgno.model(1, 1).init(&device).unwrap();
                let before = m.forward(x.clone());
                let m = load_into(m, kind, &file, "--init").unwrap();
                (values(before), (collect(&m), values(m.forward(x.clone()))))
            }
            (BestModel::Fno(_), _) => {
                let m: Fno2d<Cpu> = cfg.fno_model(1, 1).init(&device).unwrap();
                let before = m.forward(x.clone());
                let m = load_into(m, kind, &file, "--init").unwrap();
                (values(before), (collect(&m), values(m.forward(x.clone()))))
            }
        };
        let trained = values(best.forward(x.clone()));
        assert_ne!(fresh, trained, "{kind:?}: the fresh model must differ before loading");
        assert!(loaded.0 == best.params(), "{kind:?}: parameters differ");
        assert!(loaded.1 == trained, "{kind:?}: outputs differ");
        // Exporting again needs --force and writes the same tensors and metadata (the header's
        // key order may differ: safetensors keeps metadata in a hash map).
        let err = export_run(&run, &file, None, false).unwrap_err().to_string();
        assert!(err.contains("exists; pass --force"), "{err}");
        let first = std::fs::read(&file).unwrap();
        export_run(&run, &file, None, true).unwrap();
        let second = std::fs::read(&file).unwrap();
        let content = |bytes: &[u8]| {
            let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
            let mut t: Vec<(String, Vec<usize>, Vec<u8>)> = st.tensors().into_iter().map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec())).collect();
            t.sort();
            (t, safetensors::SafeTensors::read_metadata(bytes).unwrap().1.metadata().clone())
        };
        assert!(content(&first) == content(&second), "{kind:?}: a second export differs");
        files.push(file);
    }

    // An FNO file into an MgNO, and a file of another width: one line naming the problem.
    let mgno: MgNo<Cpu> = tiny(ModelKind::Mgno).mgno.model(1, 1).init(&device).unwrap();
    let err = load_into(mgno, ModelKind::Mgno, &files[1], "--init").err().unwrap().to_string();
    assert!(err.contains("holds fno weights; this run trains mgno"), "{err}");
    let mut wide = tiny(ModelKind::Fno);
    wide.fno.width = 7;
    let fno: Fno2d<Cpu> = wide.fno_model(1, 1).init(&device).unwrap();
    let err = load_into(fno, ModelKind::Fno, &files[1], "--init").err().unwrap().to_string();
    assert!(err.starts_with("--init ") && err.contains("tensor ") && err.contains("has shape"), "{err}");
    assert!(!err.contains('\n'));
    // A model with a layer more than the file: the missing tensor is named.
    let mut deeper = tiny(ModelKind::Mgno);
    deeper.mgno.layers = 3;
    let mgno: MgNo<Cpu> = deeper.mgno.model(1, 1).init(&device).unwrap();
    let err = load_into(mgno, ModelKind::Mgno, &files[0], "--init").err().unwrap().to_string();
    assert!(err.contains("tensor conv_list.2.") && err.contains("is missing"), "{err}");
    // One layer fewer: the file's extra tensors are not this model's.
    let mut shallower = tiny(ModelKind::Mgno);
    shallower.mgno.layers = 1;
    let mgno: MgNo<Cpu> = shallower.mgno.model(1, 1).init(&device).unwrap();
    let err = load_into(mgno, ModelKind::Mgno, &files[0], "--init").err().unwrap().to_string();
    assert!(err.contains("is not a parameter of this mgno model"), "{err}");
}

/// `train --init`: a run started from an exported file begins from those weights (its first
/// validation error before any step would be the source run's), and `init` is stored in its
/// config; a resumed run refuses `--init`.
#[test]
fn a_run_started_from_exported_weights_records_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("darcy.h5");
    darcy(&data);
    let src = RunDir::new(dir.path().join("src"));
    let cfg = tiny(ModelKind::Mgno);
    training::train(&data, &src, &cfg, DeviceKind::Cpu, &TrainCall::default(), &Silent).unwrap();
    let file = dir.path().join("w.safetensors");
    export_run(&src, &file, None, false).unwrap();
    let mut init = cfg.clone();
    init.init = Some(file.clone());
    init.optimizer.lr = 1e-12;
    let run = RunDir::new(dir.path().join("ft"));
    training::train(&data, &run, &init, DeviceKind::Cpu, &TrainCall::default(), &Silent).unwrap();
    assert!(run.read_config().unwrap().contains("init = "), "init is stored");
    // With a vanishing learning rate the new run's model stays the exported one to f32 rounding.
    let (a, b) = (load_best(&src).unwrap().params(), load_best(&run).unwrap().params());
    for (path, (_, va)) in &a {
        let vb = &b[path].1;
        let worst = va.iter().zip(vb).map(|(p, q)| (p - q).abs() / p.abs().max(1e-3)).fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{path}: relative change {worst}");
    }
}
