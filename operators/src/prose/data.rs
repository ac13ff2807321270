//! PROSE's data: `oplab generate prose-ode` files in memory, the vocabulary, the training noise
//! and the batches the model reads.
//!
//! A sample is one trajectory of `t_num` (192) times. The model reads the first `input_len` (64)
//! samples as data tokens `(t_i, u_i)` (the state zero-padded to `max_dim` components) and the
//! equation skeleton as token ids; it predicts the state at the other times and the equation
//! with its constants (`<BOS> tokens <EOS>`). Losses and metrics only see a sample's real
//! components (`/scalars/dim`).
//!
//! Noise, as the reference does it:
//! - training draws fresh noise for every appearance of a sample: `x + σε` with ε ~ N(0, I) over
//!   the whole trajectory (input and target part) and `σ = γ‖x‖/‖ε‖`, and one term added to or
//!   deleted from the skeleton (`symbolic_noise`). The generator is keyed by
//!   `(seed, pass over the training split, sample)`, so a resumed run draws exactly what an
//!   uninterrupted one does;
//! - validation draws the same way once (a fixed key), so its error is comparable across epochs;
//! - a test file carries its noise (`noisy_trajectory`, `noisy_skeleton`, drawn once by the
//!   generator as the reference's test set is), which evaluation reads as stored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oplab_datasets::batch::Values;
use oplab_datasets::DatasetFile;
use oplab_solvers::symbolic::tokens::{encode_system_skeleton, SPECIAL_WORDS};
use oplab_solvers::symbolic::{parse_system, symbolic_noise, Expr};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::OperatorError;

/// The file's words in id order (id = position). A word listed twice (PROSE's special words)
/// maps to its later position, as PROSE's word→id dictionary does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Vec<String>", try_from = "Vec<String>")]
pub struct Vocabulary {
    words: Vec<String>,
    ids: HashMap<String, usize>,
}

impl From<Vocabulary> for Vec<String> {
    fn from(v: Vocabulary) -> Self {
        v.words
    }
}

impl TryFrom<Vec<String>> for Vocabulary {
    type Error = String;

    fn try_from(words: Vec<String>) -> Result<Self, String> {
        let ids: HashMap<String, usize> = words.iter().enumerate().map(|(i, w)| (w.clone(), i)).collect();
        if let Some(missing) = SPECIAL_WORDS.iter().find(|w| !ids.contains_key(**w)) {
            return Err(format!("lacks the special word {missing}"));
        }
        Ok(Vocabulary { words, ids })
    }
}

impl Vocabulary {
    /// Words in id order.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when there are no words (never for a valid vocabulary).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of `word`.
    pub fn id(&self, word: &str) -> Option<usize> {
        self.ids.get(word).copied()
    }

    fn special(&self, word: &str) -> usize {
        // Present by construction (`TryFrom` checks the special words).
        self.ids.get(word).copied().unwrap_or(0)
    }

    /// `<BOS>`.
    pub fn bos(&self) -> usize {
        self.special("<BOS>")
    }

    /// `<EOS>`.
    pub fn eos(&self) -> usize {
        self.special("<EOS>")
    }

    /// `<PAD>`.
    pub fn pad(&self) -> usize {
        self.special("<PAD>")
    }

    /// Ids of `tokens`; the error is the first unknown token.
    pub fn encode<S: AsRef<str>>(&self, tokens: &[S]) -> Result<Vec<usize>, String> {
        tokens.iter().map(|t| self.id(t.as_ref()).ok_or_else(|| t.as_ref().to_string())).collect()
    }

    /// Words of `ids` (an id outside the vocabulary reads `<?>`, which no parser accepts).
    pub fn decode(&self, ids: &[usize]) -> Vec<String> {
        ids.iter().map(|&i| self.words.get(i).cloned().unwrap_or_else(|| "<?>".to_string())).collect()
    }
}

/// Samples of one PROSE file (or a contiguous part of it), in memory.
#[derive(Debug, Clone)]
pub struct ProseSet {
    /// The file they come from.
    pub path: PathBuf,
    /// File index of the first sample.
    pub first: usize,
    /// Samples.
    pub n: usize,
    /// Times per trajectory.
    pub t_num: usize,
    /// Components per stored state (the padded width).
    pub max_dim: usize,
    /// The output times `t_0 .. t_{t_num-1}`.
    pub times: Vec<f64>,
    /// Clean trajectories, `n × t_num × max_dim`.
    pub clean: Vec<f32>,
    /// The stored noisy trajectories (test files), same layout.
    pub noisy: Option<Vec<f32>>,
    /// Real components of each sample.
    pub dims: Vec<usize>,
    /// System name of each sample.
    pub systems: Vec<String>,
    /// Equation with constants of each sample, token ids (no `<BOS>`/`<EOS>`).
    pub tokens: Vec<Vec<usize>>,
    /// Parsed equation with constants of each sample.
    pub exprs: Vec<Vec<Expr>>,
    /// Parsed clean skeleton of each sample (training noise starts from it).
    pub skeletons: Vec<Vec<Expr>>,
    /// Clean skeleton ids of each sample.
    pub skeleton_ids: Vec<Vec<usize>>,
    /// Stored noisy skeleton ids (test files).
    pub noisy_skeleton_ids: Option<Vec<Vec<usize>>>,
    /// The file's vocabulary.
    pub vocabulary: Vocabulary,
}

fn data_err(path: &Path, message: impl Into<String>) -> OperatorError {
    OperatorError::Data { path: path.to_path_buf(), message: message.into() }
}

fn values_f32(v: Values) -> Vec<f32> {
    match v {
        Values::F32(x) => x,
        Values::F64(x) => x.into_iter().map(|v| v as f32).collect(),
    }
}

fn values_f64(v: Values) -> Vec<f64> {
    match v {
        Values::F32(x) => x.into_iter().map(f64::from).collect(),
        Values::F64(x) => x,
    }
}

/// One stored equation (`what` = tokens, skeleton, noisy_skeleton) of sample `index`: parsed,
/// and as ids of `vocab`; an unknown word is an error naming the sample and the word.
pub fn read_equation(vocab: &Vocabulary, path: &Path, index: usize, what: &str, text: &str, dim: usize) -> crate::Result<(Vec<Expr>, Vec<usize>)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let ids = vocab.encode(&words).map_err(|token| {
        OperatorError::invalid(format!("sample {index} {what}"), format!("`{token}`"), format!("must hold only words of the vocabulary of {}", path.display()))
    })?;
    let exprs = parse_system(&words).map_err(|e| data_err(path, format!("sample {index}: {what} do not parse: {e}")))?;
    if exprs.len() != dim {
        return Err(data_err(path, format!("sample {index}: {what} have {} components, its dim is {dim}", exprs.len())));
    }
    Ok((exprs, ids))
}

/// Samples read per HDF5 call.
const READ_CHUNK: u64 = 4096;

impl ProseSet {
    /// Reads every sample of `path`, checking it is a `prose-ode` file whose trajectories are
    /// longer than `input_len`.
    pub fn load(path: &Path, input_len: usize) -> crate::Result<ProseSet> {
        let file = DatasetFile::open(path)?;
        let schema = &file.info().schema;
        let has_text = |name: &str| schema.texts.iter().position(|t| t.name == name);
        let (Some(k_tokens), Some(k_skeleton), Some(k_system)) = (has_text("tokens"), has_text("skeleton"), has_text("system")) else {
            return Err(data_err(path, "has no /symbolic/tokens: prose trains on `oplab generate prose-ode` files"));
        };
        let k_noisy_skeleton = has_text("noisy_skeleton");
        let field = |name: &str| schema.fields.iter().position(|f| f.name == name);
        let Some(k_traj) = field("trajectory") else {
            return Err(data_err(path, "has no /fields/trajectory: prose trains on `oplab generate prose-ode` files"));
        };
        let k_noisy = field("noisy_trajectory");
        let Some(k_dim) = schema.scalars.iter().position(|s| s.name == "dim") else {
            return Err(data_err(path, "has no /scalars/dim: prose trains on `oplab generate prose-ode` files"));
        };
        let shape = &schema.fields[k_traj].shape;
        if shape.len() != 2 {
            return Err(data_err(path, format!("trajectory has shape {shape:?} per sample; prose needs (time, component)")));
        }
        let (t_num, max_dim) = (shape[0], shape[1]);
        if input_len >= t_num {
            return Err(OperatorError::invalid(
                "data.input_len",
                input_len,
                format!("must be < t_num = {t_num}, the times per trajectory in {}", path.display()),
            ));
        }
        let times = file.dimension("time").map_err(|_| data_err(path, "has no /dimensions/time"))?;
        let words = schema.attributes.iter().find(|(k, _)| k == "vocabulary").map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>());
        let Some(words) = words else {
            return Err(data_err(path, "has no `vocabulary` attribute: prose trains on `oplab generate prose-ode` files"));
        };
        let vocabulary = Vocabulary::try_from(words).map_err(|e| data_err(path, format!("vocabulary {e}")))?;
        let n = file.info().n_samples as usize;
        let mut set = ProseSet {
            path: path.to_path_buf(),
            first: 0,
            n,
            t_num,
            max_dim,
            times,
            clean: Vec::with_capacity(n * t_num * max_dim),
            noisy: k_noisy.map(|_| Vec::with_capacity(n * t_num * max_dim)),
            dims: Vec::with_capacity(n),
            systems: Vec::with_capacity(n),
            tokens: Vec::with_capacity(n),
            exprs: Vec::with_capacity(n),
            skeletons: Vec::with_capacity(n),
            skeleton_ids: Vec::with_capacity(n),
            noisy_skeleton_ids: k_noisy_skeleton.map(|_| Vec::with_capacity(n)),
            vocabulary,
        };
        let mut start = 0u64;
        while start < n as u64 {
            let count = READ_CHUNK.min(n as u64 - start);
            let mut batch = file.read_batch(start, count)?;
            set.clean.extend(values_f32(std::mem::replace(&mut batch.fields[k_traj], Values::F32(Vec::new()))));
            if let (Some(k), Some(noisy)) = (k_noisy, set.noisy.as_mut()) {
                noisy.extend(values_f32(std::mem::replace(&mut batch.fields[k], Values::F32(Vec::new()))));
            }
            let dims = values_f64(std::mem::replace(&mut batch.scalars[k_dim], Values::F64(Vec::new())));
            for (j, &dim) in dims.iter().enumerate().take(count as usize) {
                let index = start as usize + j;
                if !(dim >= 1.0 && dim <= max_dim as f64 && dim.fract() == 0.0) {
                    return Err(data_err(path, format!("sample {index}: dim = {dim} is outside 1..={max_dim}")));
                }
                set.dims.push(dim as usize);
                set.systems.push(batch.texts[k_system][j].clone());
                let encode = |what: &str, text: &str| read_equation(&set.vocabulary, path, index, what, text, dim as usize);
                let (exprs, ids) = encode("tokens", &batch.texts[k_tokens][j])?;
                set.exprs.push(exprs);
                set.tokens.push(ids);
                let (skeleton, ids) = encode("skeleton", &batch.texts[k_skeleton][j])?;
                set.skeletons.push(skeleton);
                set.skeleton_ids.push(ids);
                if let (Some(k), Some(noisy)) = (k_noisy_skeleton, set.noisy_skeleton_ids.as_mut()) {
                    // A deleted term can leave fewer terms, never fewer components; check all the same.
                    noisy.push(encode("noisy_skeleton", &batch.texts[k][j])?.1);
                }
            }
            start += count;
        }
        Ok(set)
    }

    /// Samples `range` (relative to this set) as a set of their own.
    pub fn subset(&self, range: std::ops::Range<usize>) -> ProseSet {
        let w = self.t_num * self.max_dim;
        let r = range.clone();
        ProseSet {
            path: self.path.clone(),
            first: self.first + r.start,
            n: r.len(),
            t_num: self.t_num,
            max_dim: self.max_dim,
            times: self.times.clone(),
            clean: self.clean[r.start * w..r.end * w].to_vec(),
            noisy: self.noisy.as_ref().map(|v| v[r.start * w..r.end * w].to_vec()),
            dims: self.dims[r.clone()].to_vec(),
            systems: self.systems[r.clone()].to_vec(),
            tokens: self.tokens[r.clone()].to_vec(),
            exprs: self.exprs[r.clone()].to_vec(),
            skeletons: self.skeletons[r.clone()].to_vec(),
            skeleton_ids: self.skeleton_ids[r.clone()].to_vec(),
            noisy_skeleton_ids: self.noisy_skeleton_ids.as_ref().map(|v| v[r].to_vec()),
            vocabulary: self.vocabulary.clone(),
        }
    }

    /// The clean trajectory of sample `i`, `t_num × max_dim`.
    pub fn trajectory(&self, i: usize) -> &[f32] {
        let w = self.t_num * self.max_dim;
        &self.clean[i * w..(i + 1) * w]
    }

    /// The stored noisy trajectory of sample `i`, if the file has them.
    pub fn noisy_trajectory(&self, i: usize) -> Option<&[f32]> {
        let w = self.t_num * self.max_dim;
        self.noisy.as_ref().map(|v| &v[i * w..(i + 1) * w])
    }

    /// Longest equation with constants, in tokens.
    pub fn max_tokens(&self) -> usize {
        self.tokens.iter().map(Vec::len).max().unwrap_or(0)
    }
}

/// Noise of the training samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoiseConfig {
    /// Relative L2 level γ of the data noise (reference `train_noise_gamma` 0.02; 0: none).
    pub data: f64,
    /// Probability of one term inserted into the skeleton (reference 0.15).
    pub add_term_prob: f64,
    /// Probability of one term deleted from the skeleton (reference 0.15).
    pub miss_term_prob: f64,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        NoiseConfig { data: 0.02, add_term_prob: 0.15, miss_term_prob: 0.15 }
    }
}

impl NoiseConfig {
    /// No noise at all.
    pub const OFF: NoiseConfig = NoiseConfig { data: 0.0, add_term_prob: 0.0, miss_term_prob: 0.0 };
}

/// One sample as the model sees it: the (noisy) trajectory, the encoder's skeleton ids and the
/// decoder's equation ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// `t_num × max_dim`, padding components zero.
    pub trajectory: Vec<f32>,
    /// Real components.
    pub dim: usize,
    /// Skeleton ids for the symbol encoder.
    pub skeleton: Vec<usize>,
    /// Equation ids (no `<BOS>`/`<EOS>`).
    pub tokens: Vec<usize>,
}

/// The generator of one draw of one sample: a ChaCha stream keyed by the run's seed, the draw
/// (`pass` over the split) and the sample, so no draw depends on any other.
pub fn sample_rng(seed: u64, pass: u64, sample: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&pass.to_le_bytes());
    key[16..24].copy_from_slice(&sample.to_le_bytes());
    key[24..].copy_from_slice(b"prose-tr");
    ChaCha8Rng::from_seed(key)
}

/// The `pass` used for the validation split's one noise draw.
pub const VALIDATION_PASS: u64 = u64::MAX;

/// `x + σε` over the first `dim` components of a `t_num × max_dim` trajectory, with
/// `σ = γ‖x‖/‖ε‖` (the reference's relative noise, guarded by 1e-6 as its evaluation is).
pub fn add_relative_noise(traj: &mut [f32], max_dim: usize, dim: usize, gamma: f64, rng: &mut ChaCha8Rng) {
    if gamma <= 0.0 {
        return;
    }
    let rows = traj.len() / max_dim;
    let eps: Vec<f64> = (0..rows * dim).map(|_| StandardNormal.sample(rng)).collect();
    let norm_x = traj.chunks_exact(max_dim).flat_map(|r| r[..dim].iter()).map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
    let norm_e = eps.iter().map(|e| e * e).sum::<f64>().sqrt();
    let sigma = gamma * norm_x / (norm_e + 1e-6);
    for (r, row) in traj.chunks_exact_mut(max_dim).enumerate() {
        for (j, v) in row[..dim].iter_mut().enumerate() {
            *v = (*v as f64 + sigma * eps[r * dim + j]) as f32;
        }
    }
}

impl ProseSet {
    /// Sample `i` with freshly drawn training noise (`pass`: which draw; see [`sample_rng`]).
    pub fn noisy_sample(&self, i: usize, noise: &NoiseConfig, seed: u64, pass: u64) -> Prepared {
        let mut rng = sample_rng(seed, pass, (self.first + i) as u64);
        let dim = self.dims[i];
        let mut trajectory = self.trajectory(i).to_vec();
        add_relative_noise(&mut trajectory, self.max_dim, dim, noise.data, &mut rng);
        let skeleton = if noise.add_term_prob + noise.miss_term_prob > 0.0 {
            let (noisy, _) = symbolic_noise(&self.skeletons[i], noise.add_term_prob, noise.miss_term_prob, &mut rng);
            // Every word of an encoded skeleton is in the vocabulary of a prose-ode file (the
            // generator writes them); a word that is not would be a mismatched vocabulary, which
            // loading already refuses for the stored skeletons, so the clean ids stand in.
            self.vocabulary.encode(&encode_system_skeleton(&noisy)).unwrap_or_else(|_| self.skeleton_ids[i].clone())
        } else {
            self.skeleton_ids[i].clone()
        };
        Prepared { trajectory, dim, skeleton, tokens: self.tokens[i].clone() }
    }

    /// Sample `i` as stored: the noisy trajectory and skeleton where the file has them (a test
    /// file), else the clean ones.
    pub fn stored_sample(&self, i: usize) -> Prepared {
        Prepared {
            trajectory: self.noisy_trajectory(i).unwrap_or(self.trajectory(i)).to_vec(),
            dim: self.dims[i],
            skeleton: self.noisy_skeleton_ids.as_ref().map_or(&self.skeleton_ids[i], |v| &v[i]).clone(),
            tokens: self.tokens[i].clone(),
        }
    }
}

/// A batch on the host, in the layouts of the model's tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    /// Samples.
    pub size: usize,
    /// Data tokens per sample.
    pub input_len: usize,
    /// Query times per sample.
    pub n_query: usize,
    /// Components of a state.
    pub max_dim: usize,
    /// `[size, input_len, 1 + max_dim]`: `(t_i, u_i)`.
    pub data: Vec<f32>,
    /// `[size, n_query]`.
    pub query_times: Vec<f32>,
    /// `[size, n_query, max_dim]`: the (noisy) target states.
    pub target: Vec<f32>,
    /// `[size, 1, max_dim]`: 1 for real components.
    pub component_mask: Vec<f32>,
    /// Symbol-encoder length (longest skeleton; at least 1).
    pub sym_len: usize,
    /// `[size, sym_len]` skeleton ids, right-padded with `<PAD>`.
    pub symbols: Vec<i64>,
    /// `[size, sym_len]`, true at padding.
    pub symbol_pad: Vec<bool>,
    /// Decoder length (longest equation + 2).
    pub dec_len: usize,
    /// `[size, dec_len]`: `<BOS> tokens <EOS>`, right-padded with `<PAD>`.
    pub decoder: Vec<i64>,
    /// `[size, dec_len]`, true at padding.
    pub decoder_pad: Vec<bool>,
}

/// Right-pads id sequences to a common length; `prefix`/`suffix` wrap each sequence.
fn pad_ids(seqs: &[&[usize]], prefix: Option<usize>, suffix: Option<usize>, pad: usize) -> (usize, Vec<i64>, Vec<bool>) {
    let extra = prefix.is_some() as usize + suffix.is_some() as usize;
    let len = seqs.iter().map(|s| s.len() + extra).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(seqs.len() * len);
    let mut is_pad = Vec::with_capacity(seqs.len() * len);
    for s in seqs {
        let row: Vec<usize> = prefix.into_iter().chain(s.iter().copied()).chain(suffix).collect();
        is_pad.extend((0..len).map(|k| k >= row.len()));
        ids.extend(row.iter().map(|&v| v as i64));
        ids.extend(std::iter::repeat_n(pad as i64, len - row.len()));
    }
    (len, ids, is_pad)
}

/// The batch of `samples` with the first `input_len` times as input and the rest as queries.
pub fn host_batch(samples: &[Prepared], times: &[f64], input_len: usize, max_dim: usize, vocab: &Vocabulary) -> HostBatch {
    let t_num = times.len();
    let n_query = t_num - input_len;
    let size = samples.len();
    let mut data = Vec::with_capacity(size * input_len * (1 + max_dim));
    let mut query_times = Vec::with_capacity(size * n_query);
    let mut target = Vec::with_capacity(size * n_query * max_dim);
    let mut component_mask = Vec::with_capacity(size * max_dim);
    for s in samples {
        for (k, row) in s.trajectory.chunks_exact(max_dim).enumerate() {
            if k < input_len {
                data.push(times[k] as f32);
                data.extend_from_slice(row);
            } else {
                query_times.push(times[k] as f32);
                target.extend_from_slice(row);
            }
        }
        component_mask.extend((0..max_dim).map(|j| if j < s.dim { 1.0 } else { 0.0 }));
    }
    let skeletons: Vec<&[usize]> = samples.iter().map(|s| s.skeleton.as_slice()).collect();
    let (sym_len, symbols, symbol_pad) = pad_ids(&skeletons, None, None, vocab.pad());
    let tokens: Vec<&[usize]> = samples.iter().map(|s| s.tokens.as_slice()).collect();
    let (dec_len, decoder, decoder_pad) = pad_ids(&tokens, Some(vocab.bos()), Some(vocab.eos()), vocab.pad());
    HostBatch { size, input_len, n_query, max_dim, data, query_times, target, component_mask, sym_len, symbols, symbol_pad, dec_len, decoder, decoder_pad }
}

/// A small `oplab generate prose-ode` file for tests: `n` samples (sample `i` is system
/// `i mod 12`), with the test file's stored noise when `noisy`.
#[cfg(test)]
pub(crate) fn generated_file(dir: &Path, name: &str, n: u64, seed: u64, noisy: bool) -> PathBuf {
    use oplab_datasets::problems::prose_ode::{ProseOdeConfig, ProseOdeProblem};
    use oplab_datasets::{generate, GenerationSettings, ProblemModule, RunOptions, Shard, Silent};
    let out = dir.join(name);
    let (noise, p) = if noisy { (0.02, 0.15) } else { (0.0, 0.0) };
    let problem = ProseOdeProblem::new(ProseOdeConfig { noise, add_term_prob: p, miss_term_prob: p, ..Default::default() }).unwrap();
    let settings = GenerationSettings { n, seed, ..GenerationSettings::default() };
    let opts = RunOptions { out: out.clone(), shard: Shard::WHOLE, threads: Some(2), block_size: None, force: false };
    generate(&problem, &settings, &opts, &Silent).unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use oplab_solvers::symbolic::prose_vocabulary;

    fn vocab() -> Vocabulary {
        Vocabulary::try_from(prose_vocabulary(3)).unwrap()
    }

    #[test]
    fn duplicated_special_words_take_the_later_id() {
        let v = vocab();
        assert_eq!(v.len(), 1072);
        let words = prose_vocabulary(3);
        let later = |w: &str| words.iter().rposition(|x| x == w).unwrap();
        assert_eq!(v.pad(), later("<PAD>"));
        assert_eq!(v.bos(), later("<BOS>"));
        assert!(v.bos() > 3, "the second copy");
        assert_eq!(v.encode(&["add", "u_0", "u_1"]).unwrap().len(), 3);
        assert_eq!(v.encode(&["add", "u_9"]).unwrap_err(), "u_9");
        assert!(Vocabulary::try_from(vec!["a".to_string()]).is_err());
    }

    #[test]
    fn an_unknown_token_names_the_sample_and_the_word() {
        let v = vocab();
        let p = Path::new("f.h5");
        let err = read_equation(&v, p, 7, "tokens", "add u_0 frob", 1).unwrap_err().to_string();
        assert_eq!(err, "sample 7 tokens = `frob` is invalid: must hold only words of the vocabulary of f.h5");
        let (e, ids) = read_equation(&v, p, 0, "tokens", "add u_0 u_1 | u_0", 2).unwrap();
        assert_eq!((e.len(), ids.len()), (2, 5));
        assert!(read_equation(&v, p, 3, "skeleton", "add u_0 u_1", 2).unwrap_err().to_string().contains("sample 3: skeleton have 1 components"));
    }

    #[test]
    fn relative_noise_has_the_requested_level_on_real_components_only() {
        let mut traj: Vec<f32> = (0..192 * 3).map(|k| if k % 3 == 2 { 0.0 } else { (k as f32 * 0.1).sin() }).collect();
        let clean = traj.clone();
        add_relative_noise(&mut traj, 3, 2, 0.02, &mut sample_rng(1, 2, 3));
        let diff: f64 = traj.iter().zip(&clean).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>().sqrt();
        let norm: f64 = clean.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        assert!((diff / norm - 0.02).abs() < 1e-4, "{}", diff / norm);
        assert!(traj.iter().skip(2).step_by(3).all(|&v| v == 0.0), "padding stays zero");
        let mut again = clean.clone();
        add_relative_noise(&mut again, 3, 2, 0.02, &mut sample_rng(1, 2, 3));
        assert_eq!(again, traj, "same key, same draw");
    }

    #[test]
    fn batches_pad_and_wrap_the_sequences() {
        let v = vocab();
        let times: Vec<f64> = (0..6).map(|k| k as f64).collect();
        let s = |dim: usize, skel: Vec<usize>, tok: Vec<usize>| Prepared { trajectory: (0..18).map(|k| k as f32).collect(), dim, skeleton: skel, tokens: tok };
        let b = host_batch(&[s(3, vec![5, 6], vec![7]), s(2, vec![5], vec![7, 8, 9])], &times, 2, 3, &v);
        assert_eq!((b.input_len, b.n_query, b.sym_len, b.dec_len), (2, 4, 2, 5));
        assert_eq!(&b.data[..8], &[0.0, 0.0, 1.0, 2.0, 1.0, 3.0, 4.0, 5.0]);
        assert_eq!(&b.query_times[..4], &[2.0, 3.0, 4.0, 5.0]);
        assert_eq!(b.target.len(), 2 * 4 * 3);
        assert_eq!(b.component_mask, vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
        let (bos, eos, pad) = (v.bos() as i64, v.eos() as i64, v.pad() as i64);
        assert_eq!(b.decoder, vec![bos, 7, eos, pad, pad, bos, 7, 8, 9, eos]);
        assert_eq!(b.decoder_pad, vec![false, false, false, true, true, false, false, false, false, false]);
        assert_eq!(b.symbols, vec![5, 6, 5, pad]);
        assert_eq!(b.symbol_pad, vec![false, false, false, true]);
    }
}
