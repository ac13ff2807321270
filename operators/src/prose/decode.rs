//! Greedy decoding of the symbol decoder (the reference evaluates with `beam_size = 1`).

use burn::tensor::{Int, Tensor, TensorData};

use super::model::{Fused, Prose};
use crate::backend::ActivationBackend;

impl<B: ActivationBackend> Prose<B> {
    /// Greedy decoding for every sample of `fused` (the encoder output, computed once): each
    /// step runs the decoder on the prefix `<BOS> w₁ … w_k` and appends the arg-max of the last
    /// position. A sample stops at its `<EOS>` (afterwards it is fed `<PAD>`, which causality
    /// keeps from the others); the loop stops when every sample has stopped or after `max_len`
    /// tokens (at most `max_positions`, the length of the position table). Returns the tokens after `<BOS>`, up to and excluding `<EOS>`; none without a
    /// symbol decoder (`text_input = none`).
    ///
    /// The prefix is recomputed each step rather than cached, as the reference does with
    /// PyTorch's attention: at most 150 steps of a short sequence.
    pub fn greedy_decode(&self, fused: &Fused<B>, bos: usize, eos: usize, max_len: usize) -> Option<Vec<Vec<usize>>> {
        let symbols = fused.symbols.as_ref()?;
        let batch = symbols.dims()[0];
        let device = symbols.device();
        let pad = self.config().pad_id;
        let max_len = max_len.min(self.config().max_positions);
        let mut prefix: Vec<Vec<usize>> = vec![vec![bos]; batch];
        let mut done = vec![false; batch];
        // Tokens of each prefix that are real (<BOS>, the generated ones, <EOS>); the rest is
        // the <PAD> fed after <EOS>. By count rather than by value, so a generated <PAD> id
        // before <EOS> stays a token, as the reference tracks `gen_len`.
        let mut real = vec![1usize; batch];
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); batch];
        for _ in 0..max_len {
            let len = prefix[0].len();
            let ids: Vec<i64> = prefix.iter().flatten().map(|&t| t as i64).collect();
            let is_pad: Vec<i64> = real.iter().flat_map(|&r| (0..len).map(move |i| i64::from(i >= r))).collect();
            let ids = Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [batch, len]), &device);
            let pad_mask = Tensor::<B, 2, Int>::from_data(TensorData::new(is_pad, [batch, len]), &device).equal_elem(1);
            let hidden = self.symbol_hidden(fused, ids, pad_mask)?;
            let last = hidden.narrow(1, len - 1, 1);
            let next = self.project_symbols(last)?.argmax(2).into_data();
            let next: Vec<i64> = next.convert::<i64>().to_vec().expect("argmax gives integers");
            for (i, &token) in next.iter().enumerate() {
                let token = token as usize;
                if done[i] {
                    prefix[i].push(pad);
                    continue;
                }
                prefix[i].push(token);
                real[i] += 1;
                if token == eos {
                    done[i] = true;
                } else {
                    out[i].push(token);
                }
            }
            if done.iter().all(|d| *d) {
                break;
            }
        }
        Some(out)
    }
}
