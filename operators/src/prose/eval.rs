//! `oplab eval` of a PROSE run: the kept model on a test file, greedy decoding, the reference's
//! metrics per system (see [`super::metrics`]), the "hold the last input value" baseline, and
//! optionally the decoded equations re-integrated from the initial state.
//!
//! The test file's stored noise is used as stored (`noisy_trajectory`, `noisy_skeleton`: drawn
//! once by the generator, as the reference's test set); data errors are reported against the
//! noisy target (the reference's number) and the clean one. Given the training file itself,
//! evaluation takes the samples after the training and validation splits. Writes `eval.json`,
//! `equations.md` (two decoded equations per system next to the true ones) and one trajectory
//! panel per system (`eval_<system>.png`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;
use oplab_common::Progress;
use oplab_solvers::symbolic::{infix_system, parse_system, parse_system_str};
use serde::{Deserialize, Serialize};

use super::data::{host_batch, Prepared, ProseSet};
use super::metrics::{accuracy_at, comparison_points, hold_last, mean, reintegrate, score_symbols, window_errors};
use super::model::Prose;
use super::plot::{trajectory_panel, TrajectoryPanel};
use super::run_config::ProseConfig;
use super::state::{files, read_state, ProseRunState};
use super::train::to_tensors;
use crate::backend::{select, ActivationBackend, DeviceKind};
use crate::error::OperatorError;
use crate::run::{Report, RunDir};
use crate::training::state::from_bytes;

/// One test sample's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleResult {
    /// Index in the test file.
    pub index: usize,
    /// System name.
    pub system: String,
    /// Data relative L2 against the (noisy) target the model was scored on.
    pub data_rel_l2: f64,
    /// Against the clean target.
    pub data_rel_l2_clean: f64,
    /// First half of the window (noisy target).
    pub first_half: f64,
    /// Second half of the window (noisy target).
    pub second_half: f64,
    /// The hold-last-input baseline's relative L2 (noisy target).
    pub hold_last_rel_l2: f64,
    /// The decoded equation's tokens (none without text).
    pub decoded: Option<String>,
    /// Valid decoded equation.
    pub valid: bool,
    /// Its expression error (valid only).
    pub expression_error: Option<f64>,
    /// Its skeleton equals the true one.
    pub skeleton_match: bool,
    /// Relative L2 of the re-integrated equation (noisy target), when asked for and it succeeded.
    pub reintegrated_rel_l2: Option<f64>,
    /// Re-integration was tried on this valid output and failed.
    pub reintegration_failed: bool,
}

/// Aggregates over a group of samples (one system, or all).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupMetrics {
    /// System name (`all` for every sample).
    pub system: String,
    /// Samples.
    pub n: usize,
    /// Mean data relative L2 against the noisy target (the reference's metric).
    pub data_rel_l2: f64,
    /// Mean against the clean target.
    pub data_rel_l2_clean: f64,
    /// Mean over the window's first half.
    pub first_half: f64,
    /// Mean over its second half.
    pub second_half: f64,
    /// Mean of the hold-last-input baseline.
    pub hold_last_rel_l2: f64,
    /// Share of valid decoded equations, % (none without text).
    pub valid_pct: Option<f64>,
    /// Mean expression error over valid outputs.
    pub expression_error: Option<f64>,
    /// Exact skeleton matches, %.
    pub skeleton_acc_pct: Option<f64>,
    /// Share with expression error ≤ 0.01 (invalid = miss), %.
    pub acc_001_pct: Option<f64>,
    /// Share with expression error ≤ 0.05, %.
    pub acc_005_pct: Option<f64>,
    /// Mean relative L2 of the re-integrated equations that integrated.
    pub reintegrated_rel_l2: Option<f64>,
    /// Valid outputs whose re-integration failed.
    pub reintegration_failures: Option<usize>,
}

/// What `eval` writes to `eval.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProseEvalSummary {
    /// The test file.
    pub data: PathBuf,
    /// File index of the first evaluated sample.
    pub first_index: usize,
    /// Epoch of the evaluated (lowest validation loss) model.
    pub best_epoch: usize,
    /// The file's stored noisy trajectories were the input and target.
    pub noisy_data: bool,
    /// The file's stored noisy skeletons were the symbol input.
    pub noisy_skeleton: bool,
    /// Every sample together.
    pub overall: GroupMetrics,
    /// Per system, in the order of first appearance.
    pub systems: Vec<GroupMetrics>,
    /// Every sample.
    pub samples: Vec<SampleResult>,
}

fn group(system: &str, rows: &[&SampleResult], text: bool, reintegrated: bool) -> GroupMetrics {
    let pct = |f: &dyn Fn(&SampleResult) -> bool| 100.0 * rows.iter().filter(|r| f(r)).count() as f64 / rows.len().max(1) as f64;
    let errors: Vec<Option<f64>> = rows.iter().map(|r| r.expression_error).collect();
    let valid: Vec<f64> = errors.iter().flatten().copied().collect();
    GroupMetrics {
        system: system.to_string(),
        n: rows.len(),
        data_rel_l2: mean(rows.iter().map(|r| r.data_rel_l2)),
        data_rel_l2_clean: mean(rows.iter().map(|r| r.data_rel_l2_clean)),
        first_half: mean(rows.iter().map(|r| r.first_half)),
        second_half: mean(rows.iter().map(|r| r.second_half)),
        hold_last_rel_l2: mean(rows.iter().map(|r| r.hold_last_rel_l2)),
        valid_pct: text.then(|| pct(&|r| r.valid)),
        expression_error: (text && !valid.is_empty()).then(|| mean(valid.iter().copied())),
        skeleton_acc_pct: text.then(|| pct(&|r| r.skeleton_match)),
        acc_001_pct: text.then(|| 100.0 * accuracy_at(&errors, 0.01)),
        acc_005_pct: text.then(|| 100.0 * accuracy_at(&errors, 0.05)),
        reintegrated_rel_l2: (reintegrated && rows.iter().any(|r| r.reintegrated_rel_l2.is_some()))
            .then(|| mean(rows.iter().filter_map(|r| r.reintegrated_rel_l2))),
        reintegration_failures: reintegrated.then(|| rows.iter().filter(|r| r.reintegration_failed).count()),
    }
}

/// The test samples of `data` for a run trained on `state.data`: all of them, or those after
/// the training and validation splits when it is the training file itself.
fn test_set(data: &Path, cfg: &ProseConfig, state: &ProseRunState) -> crate::Result<ProseSet> {
    let full = ProseSet::load(data, cfg.data.input_len)?;
    if full.vocabulary != state.vocabulary {
        let (a, b) = (full.vocabulary.words(), state.vocabulary.words());
        let at = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        let value = a.get(at).map_or(format!("{} words", a.len()), |w| format!("word {at} `{w}`"));
        let want = b.get(at).map_or(format!("{} words", b.len()), |w| format!("`{w}`"));
        return Err(OperatorError::invalid(
            format!("vocabulary of {}", data.display()),
            value,
            format!("must be the run's vocabulary ({} words; there: {want})", b.len()),
        ));
    }
    if full.max_dim != state.network.max_dim {
        return Err(OperatorError::invalid(
            format!("trajectory components of {}", data.display()),
            full.max_dim,
            format!("must be {}, the components the run was trained on", state.network.max_dim),
        ));
    }
    let same = data == state.data || matches!((data.canonicalize(), state.data.canonicalize()), (Ok(x), Ok(y)) if x == y);
    if !same {
        return Ok(full);
    }
    let (n_train, n_val) = cfg.split();
    let start = n_train + n_val;
    if start >= full.n {
        return Err(OperatorError::invalid(
            "--data",
            data.display(),
            format!(
                "is the run's training file and all its {} samples train or validate; evaluate on a test file (`oplab generate prose-ode --seed 42 ...`)",
                full.n
            ),
        ));
    }
    Ok(full.subset(start..full.n))
}

/// Evaluates the kept model of `run` on `data`.
pub fn evaluate(run: &RunDir, data: &Path, cfg: &ProseConfig, reintegrate: bool, device: DeviceKind, progress: &dyn Progress) -> crate::Result<Report> {
    select::with_options(&cfg.backend, || match device {
        DeviceKind::Cpu => evaluate_on::<crate::backend::Cpu>(&Default::default(), run, data, cfg, reintegrate, progress),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                match select::prepare_cuda(&cfg.backend, false) {
                    crate::backend::CudaFlavor::Fusion => evaluate_on::<crate::backend::Cuda>(&Default::default(), run, data, cfg, reintegrate, progress),
                    crate::backend::CudaFlavor::Direct => evaluate_on::<crate::backend::CudaDirect>(&Default::default(), run, data, cfg, reintegrate, progress),
                }
            }
            #[cfg(not(feature = "cuda"))]
            {
                Err(OperatorError::invalid("device", "cuda", DeviceKind::available()))
            }
        }
    })
}

/// Predictions and decodings of `model` for `samples`: `(n_query × max_dim` each, decoded ids).
pub fn predict<B: ActivationBackend>(
    model: &Prose<B>,
    set: &ProseSet,
    samples: &[Prepared],
    input_len: usize,
    max_decode_len: usize,
    device: &B::Device,
) -> (Vec<Vec<f32>>, Option<Vec<Vec<usize>>>) {
    let hb = host_batch(samples, &set.times, input_len, set.max_dim, &set.vocabulary);
    let t = to_tensors::<B>(&hb, device);
    let fused = model.encode(&t.input);
    let pred: Vec<f32> = model.predict_data(&fused, t.input.query_times.clone()).into_data().convert::<f32>().to_vec().unwrap_or_default();
    let per = hb.n_query * hb.max_dim;
    let preds = pred.chunks(per).map(<[f32]>::to_vec).collect();
    let v = &set.vocabulary;
    (preds, model.greedy_decode(&fused, v.bos(), v.eos(), max_decode_len))
}

fn evaluate_on<B: Backend + ActivationBackend>(
    device: &B::Device,
    run: &RunDir,
    data: &Path,
    cfg: &ProseConfig,
    reintegrate_on: bool,
    progress: &dyn Progress,
) -> crate::Result<Report> {
    let state = read_state(run)?;
    let set = test_set(data, cfg, &state)?;
    let best_path = run.file(files::BEST);
    let model: Prose<B> = state.network.init(device);
    let model = model.load_record(from_bytes::<B, _>(run.read_sealed(files::BEST)?, device, &best_path)?);
    let text = state.network.has_text();
    let input_len = cfg.data.input_len;
    let (max_dim, n_query) = (set.max_dim, set.t_num - input_len);
    let query_times = &set.times[input_len..];
    progress.start("eval prose", set.n as u64, 0);
    let mut results = Vec::with_capacity(set.n);
    let mut panels: BTreeMap<String, TrajectoryPanel> = BTreeMap::new();
    for chunk_start in (0..set.n).step_by(cfg.eval_batch_size) {
        let idx: Vec<usize> = (chunk_start..(chunk_start + cfg.eval_batch_size).min(set.n)).collect();
        let samples: Vec<Prepared> = idx.iter().map(|&i| set.stored_sample(i)).collect();
        let (preds, decoded) = predict(&model, &set, &samples, input_len, cfg.max_decode_len, device);
        for (k, &i) in idx.iter().enumerate() {
            let s = &samples[k];
            let dim = s.dim;
            let observed_target = &s.trajectory[input_len * max_dim..];
            let clean_target = &set.trajectory(i)[input_len * max_dim..];
            let e = window_errors(&preds[k], observed_target, max_dim, dim);
            let clean = window_errors(&preds[k], clean_target, max_dim, dim);
            let last = &s.trajectory[(input_len - 1) * max_dim..input_len * max_dim];
            let baseline = window_errors(&hold_last(last, n_query), observed_target, max_dim, dim);
            let index = set.first + i;
            let words = decoded.as_ref().map(|d| set.vocabulary.decode(&d[k]));
            let score = words.as_ref().map(|w| score_symbols(w, &set.exprs[i], &comparison_points(index as u64, dim)));
            let (mut re_l2, mut re_failed, mut re_traj) = (None, false, None);
            if let (true, Some(w), Some(sc)) = (reintegrate_on, &words, &score) {
                if sc.valid {
                    let u0: Vec<f64> = s.trajectory[..dim].iter().map(|&v| v as f64).collect();
                    match reintegrate(w, &u0, query_times) {
                        Some(traj) => {
                            let padded: Vec<f32> =
                                traj.chunks_exact(dim).flat_map(|r| (0..max_dim).map(move |j| r.get(j).map_or(0.0, |&v| v as f32))).collect();
                            re_l2 = Some(window_errors(&padded, observed_target, max_dim, dim).whole);
                            re_traj = Some(traj);
                        }
                        None => re_failed = true,
                    }
                }
            }
            let system = set.systems[i].clone();
            panels.entry(system.clone()).or_insert_with(|| TrajectoryPanel {
                title: format!("{system}: test sample {index}, data rel. L2 {:.3e}", e.whole),
                times: set.times.clone(),
                input_len,
                dim,
                max_dim,
                truth: set.trajectory(i).to_vec(),
                observed: s.trajectory.clone(),
                prediction: preds[k].clone(),
                reintegrated: re_traj,
            });
            results.push(SampleResult {
                index,
                system,
                data_rel_l2: e.whole,
                data_rel_l2_clean: clean.whole,
                first_half: e.first_half,
                second_half: e.second_half,
                hold_last_rel_l2: baseline.whole,
                decoded: words.map(|w| w.join(" ")),
                valid: score.as_ref().is_some_and(|s| s.valid),
                expression_error: score.as_ref().and_then(|s| s.expression_error),
                skeleton_match: score.as_ref().is_some_and(|s| s.skeleton_match),
                reintegrated_rel_l2: re_l2,
                reintegration_failed: re_failed,
            });
        }
        progress.advance(idx.len() as u64);
    }
    progress.finish();
    let mut order: Vec<String> = Vec::new();
    for r in &results {
        if !order.contains(&r.system) {
            order.push(r.system.clone());
        }
    }
    let all: Vec<&SampleResult> = results.iter().collect();
    let systems: Vec<GroupMetrics> =
        order.iter().map(|name| group(name, &results.iter().filter(|r| &r.system == name).collect::<Vec<_>>(), text, reintegrate_on)).collect();
    let summary = ProseEvalSummary {
        data: data.to_path_buf(),
        first_index: set.first,
        best_epoch: state.best_epoch,
        noisy_data: set.noisy.is_some(),
        noisy_skeleton: set.noisy_skeleton_ids.is_some(),
        overall: group("all", &all, text, reintegrate_on),
        systems,
        samples: results,
    };
    run.write_json(files::EVAL, &summary)?;
    run.write_bytes(files::EQUATIONS, equations_md(&summary, &set).as_bytes())?;
    let mut figures = Vec::new();
    for (system, panel) in &panels {
        let name = format!("eval_{}.png", system.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-', "_"));
        trajectory_panel(&run.file(&name), panel)?;
        figures.push(name);
    }
    let mut lines = table(&summary, text, reintegrate_on);
    lines.push(format!(
        "{} test samples of {} (model of epoch {}; {} data, {} skeletons); details in {}, equations in {}, figures {} in {}",
        summary.overall.n,
        data.display(),
        summary.best_epoch,
        if summary.noisy_data { "stored noisy" } else { "clean" },
        if summary.noisy_skeleton { "stored noisy" } else { "clean" },
        run.file(files::EVAL).display(),
        run.file(files::EQUATIONS).display(),
        figures.join(", "),
        run.path().display()
    ));
    Ok(Report { lines })
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.filter(|x| x.is_finite()).map_or("-".to_string(), |x| format!("{x:.digits$}"))
}

/// The per-system table, one line per system and one for all.
fn table(s: &ProseEvalSummary, text: bool, reintegrated: bool) -> Vec<String> {
    let mut head = format!("{:<16} {:>5} {:>10} {:>10} {:>10} {:>10} {:>10}", "system", "n", "rel.L2", "clean", "1st half", "2nd half", "hold-last");
    if text {
        head += &format!(" {:>7} {:>10} {:>7} {:>7} {:>7}", "valid%", "expr.err", "skel%", "@0.01%", "@0.05%");
    }
    if reintegrated {
        head += &format!(" {:>10} {:>6}", "reint.L2", "fails");
    }
    let row = |g: &GroupMetrics| {
        let mut line = format!(
            "{:<16} {:>5} {:>10.4e} {:>10.4e} {:>10.4e} {:>10.4e} {:>10.4e}",
            g.system, g.n, g.data_rel_l2, g.data_rel_l2_clean, g.first_half, g.second_half, g.hold_last_rel_l2
        );
        if text {
            line += &format!(
                " {:>7} {:>10} {:>7} {:>7} {:>7}",
                opt(g.valid_pct, 1),
                g.expression_error.map_or("-".into(), |x| format!("{x:.3e}")),
                opt(g.skeleton_acc_pct, 1),
                opt(g.acc_001_pct, 1),
                opt(g.acc_005_pct, 1)
            );
        }
        if reintegrated {
            line += &format!(" {:>10} {:>6}", g.reintegrated_rel_l2.map_or("-".into(), |x| format!("{x:.3e}")), g.reintegration_failures.unwrap_or(0));
        }
        line
    };
    let mut lines = vec![head];
    lines.extend(s.systems.iter().map(row));
    lines.push(row(&s.overall));
    lines
}

/// Readable form of a token string (infix), or the tokens when they do not parse.
fn readable(tokens: &str) -> String {
    match parse_system_str(tokens) {
        Ok(e) => infix_system(&e, &|k| format!("p{k}")),
        Err(_) => format!("(does not parse) {tokens}"),
    }
}

/// `equations.md`: the first two samples of each system, decoded against true.
fn equations_md(s: &ProseEvalSummary, set: &ProseSet) -> String {
    let mut out = format!("# Decoded equations ({})\n\n", s.data.display());
    let mut shown: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &s.samples {
        let count = shown.entry(r.system.as_str()).or_insert(0);
        if *count >= 2 {
            continue;
        }
        *count += 1;
        let i = r.index - set.first;
        let truth = set.vocabulary.decode(&set.tokens[i]).join(" ");
        let _ = writeln!(out, "## {} (sample {})\n", r.system, r.index);
        let _ = writeln!(out, "- true:    `{}`", readable(&truth));
        match &r.decoded {
            Some(d) => {
                let words: Vec<&str> = d.split_whitespace().collect();
                let shown = if parse_system(&words).is_ok() { readable(d) } else { format!("(does not parse) {d}") };
                let _ = writeln!(
                    out,
                    "- decoded: `{shown}` ({}{})\n",
                    if r.valid { "valid" } else { "invalid" },
                    r.expression_error.map_or(String::new(), |e| format!(", expression error {e:.3e}"))
                );
            }
            None => {
                let _ = writeln!(out, "- decoded: none (the run has no symbol decoder: text_input = none)\n");
            }
        }
    }
    out
}
