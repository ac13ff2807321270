//! PROSE's training loss: a weighted squared relative L2 of the data prediction plus the token
//! cross-entropy of the teacher-forced symbol decoder (reference `trainer.py`, `enc_dec_step`).

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};

/// The loss and its parts (each a one-element tensor).
#[derive(Debug, Clone)]
pub struct ProseLoss<B: Backend> {
    /// `data_weight · data + text`.
    pub total: Tensor<B, 1>,
    /// Mean over samples of Σ(ŷ − y)² / (‖y‖² + 1e-5), over each sample's components.
    pub data: Tensor<B, 1>,
    /// Mean token cross-entropy over the non-pad targets (none without logits).
    pub text: Option<Tensor<B, 1>>,
}

/// The reference's ε in the data loss's denominator.
const DATA_EPS: f64 = 1e-5;

/// The PROSE loss.
///
/// - `pred`, `target`: `[batch, n_query, max_dim]`; `component_mask`: `[batch, 1, max_dim]`, 1
///   for the sample's `dim` components and 0 for the zero padding, so both sums run over the
///   sample's own components only.
/// - `logits`: `[batch, l_dec, vocab]` from teacher forcing on `decoder_in` (`[batch, l_dec]`,
///   `<BOS> tokens <EOS> <PAD>…`, `decoder_pad` true at `<PAD>`); the targets are `decoder_in`
///   shifted by one, every non-pad target counted once (`<EOS>` included), as the reference's
///   `text_pred_mask`. None (the `text_input = none` ablation) leaves the data term alone.
/// - `data_weight`: 6 in the reference's multimodal training; its `--no_text` training uses the
///   data loss unweighted (`loss = data_loss`), i.e. 1.
pub fn prose_loss<B: Backend>(
    pred: Tensor<B, 3>,
    target: Tensor<B, 3>,
    component_mask: Tensor<B, 3>,
    logits: Option<Tensor<B, 3>>,
    decoder_in: Tensor<B, 2, Int>,
    decoder_pad: Tensor<B, 2, Bool>,
    data_weight: f64,
) -> ProseLoss<B> {
    let target = target * component_mask.clone();
    let error = (pred * component_mask - target.clone()).powi_scalar(2).sum_dim(2).sum_dim(1); // [batch, 1, 1]
    let norm = target.powi_scalar(2).sum_dim(2).sum_dim(1);
    let data = (error / (norm + DATA_EPS)).mean();
    let text = logits.map(|logits| token_cross_entropy(logits, decoder_in, decoder_pad));
    let total = match &text {
        Some(text) => data.clone() * data_weight + text.clone(),
        None => data.clone() * data_weight,
    };
    ProseLoss { total, data, text }
}

/// Mean cross-entropy of `logits[:, i]` against `decoder_in[:, i + 1]` over non-pad targets.
fn token_cross_entropy<B: Backend>(logits: Tensor<B, 3>, decoder_in: Tensor<B, 2, Int>, decoder_pad: Tensor<B, 2, Bool>) -> Tensor<B, 1> {
    let [batch, len, vocab] = logits.dims();
    let steps = len - 1;
    // As rows `[batch·steps, vocab]`: burn's CPU backend broadcasts over a 2-D tensor with a loop
    // over rows, over a 3-D one element by element.
    let logits = logits.narrow(1, 0, steps).reshape([batch * steps, vocab]);
    let targets = decoder_in.narrow(1, 1, steps).reshape([batch * steps, 1]);
    // log p(target) = logit(target) − logsumexp(logits): the log-softmax at the target only,
    // which spares the full-width subtraction (and its gradient) of a whole log-softmax. The
    // max shift only keeps exp in range; detached as in burn's `log_softmax`, it cancels from
    // the value and the gradient.
    let max = logits.clone().detach().max_dim(1);
    let log_sum_exp = (logits.clone() - max.clone()).exp().sum_dim(1).log() + max;
    let picked = (logits.gather(1, targets) - log_sum_exp).reshape([batch, steps]);
    let counted = decoder_pad.narrow(1, 1, steps).bool_not().float();
    debug_assert!(vocab > 0);
    -(picked * counted.clone()).sum() / counted.sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::TensorData;

    fn scalar(t: Tensor<Cpu, 1>) -> f32 {
        t.into_scalar()
    }

    #[test]
    fn perfect_prediction_has_zero_data_loss_and_the_mask_is_honoured() {
        let device = Default::default();
        // Two samples, 2 times, 3 components; sample 1 is 2-D (its third component is padding).
        let target = Tensor::<Cpu, 3>::from_data(TensorData::new(vec![1.0f32, 2.0, 0.0, 3.0, 4.0, 0.0, 1.0, 0.0, 5.0, 0.0, 1.0, 7.0], [2, 2, 3]), &device);
        let mask = Tensor::<Cpu, 3>::from_data(TensorData::new(vec![1.0f32, 1.0, 0.0, 1.0, 1.0, 1.0], [2, 1, 3]), &device);
        let ids = Tensor::<Cpu, 2, Int>::zeros([2, 2], &device);
        let pad = Tensor::<Cpu, 2, Int>::zeros([2, 2], &device).equal_elem(1);
        let loss = prose_loss(target.clone(), target.clone(), mask.clone(), None, ids.clone(), pad.clone(), 6.0);
        assert_eq!(scalar(loss.data.clone()), 0.0);
        assert!(loss.text.is_none());

        // Garbage in the masked component changes nothing.
        let garbage = Tensor::<Cpu, 3>::from_data(TensorData::new(vec![0.0f32, 0.0, 9.0, 0.0, 0.0, -9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [2, 2, 3]), &device);
        let loss = prose_loss(target.clone() + garbage, target.clone(), mask.clone(), None, ids.clone(), pad.clone(), 6.0);
        assert_eq!(scalar(loss.data), 0.0);

        // An error of 1 in one entry of sample 0: (1 / (30 + 1e-5)) / 2 per sample mean; total ×6.
        let bump = Tensor::<Cpu, 3>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [2, 2, 3]), &device);
        let loss = prose_loss(target.clone() + bump, target, mask, None, ids, pad, 6.0);
        let want = 1.0 / (30.0 + 1e-5) / 2.0;
        assert!((scalar(loss.data) as f64 - want).abs() < 1e-7);
        assert!((scalar(loss.total) as f64 - 6.0 * want).abs() < 1e-6);
    }

    #[test]
    fn cross_entropy_counts_non_pad_targets_once() {
        let device = Default::default();
        // Vocabulary of 3; sample 0 = [0, 1, 2], sample 1 = [0, 2, pad(=1, marked)].
        let ids = Tensor::<Cpu, 2, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 0, 2, 1], [2, 3]), &device);
        let pad = Tensor::<Cpu, 2, Int>::from_data(TensorData::new(vec![0i64, 0, 0, 0, 0, 1], [2, 3]), &device).equal_elem(1);
        // Uniform logits everywhere except sample 1 step 1, whose target is padding: huge there.
        let mut values = vec![0.0f32; 2 * 3 * 3];
        values[(3 + 1) * 3] = 100.0;
        let logits = Tensor::<Cpu, 3>::from_data(TensorData::new(values, [2, 3, 3]), &device);
        let zero = Tensor::<Cpu, 3>::zeros([2, 1, 1], &device);
        let loss = prose_loss(zero.clone(), zero.clone() + 1.0, zero + 1.0, Some(logits), ids, pad, 6.0);
        // Three counted targets, each at probability 1/3.
        let text = scalar(loss.text.unwrap()) as f64;
        assert!((text - 3f64.ln()).abs() < 1e-6, "{text}");
    }
}
