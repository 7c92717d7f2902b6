//! TonicNet — Peracha, "Improving Polyphonic Music Models with Feature-Rich
//! Encoding" (arXiv 1911.11775, 2019), the `TonicNet_Z` network of its code.
//!
//! A GRU language model over TonicNet's sequence (per 16th step: chord, S,
//! B, A, T; see `fugue_tokens::tonicnet`) with one extra input, "Z": for
//! every token, how many steps in a row its part has held that value. The
//! Z embedding is concatenated to the token embedding before the GRU stack
//! and again to the GRU's output before the read-out, so that the read-out
//! knows directly whether a part is repeating.
//!
//! The GRU layers run through fugue's fused recurrent layer
//! (`layers::recurrent`), the same weights as burn-nn's `Gru`.
//!
//! Layout (the paper's sizes in [`TonicNetConfig::paper`]): token embedding
//! 256 and Z embedding 32 → variational dropout (one mask per sequence,
//! p = dropout − 0.2) → 3 GRU layers of 256 with dropout 0.3 between them →
//! concat Z embedding → variational dropout 0.3 → linear read-out without
//! bias. TonicNet starts every training sequence from a random N(0, 1)
//! hidden state; fugue does too ([`TonicNet::random_state`]), and scores
//! and samples from a zero state so that evaluation is deterministic.
//!
//! Z is a function of the tokens already seen, so [`TonicNet`] implements
//! [`TokenLm`] on ids alone (it counts Z itself, assuming the sequence
//! starts at a step's chord token); training crops that start mid-piece
//! pass the piece's own counts to [`TonicNet::forward`].

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Gru, GruConfig, Linear, LinearConfig};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::layers::fused_linear::forward as linear;
use crate::layers::recurrent;
use crate::{ModelError, TokenLm};

/// Tokens per step: the chord, then S, B, A, T.
pub const PARTS: usize = 5;

/// Hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TonicNetConfig {
    /// 98 for TonicNet's vocabulary.
    pub vocab_size: usize,
    /// GRU width, also the token embedding's width (TonicNet ties them).
    pub hidden: usize,
    pub layers: usize,
    /// Width of the Z embedding.
    pub z_size: usize,
    /// Entries of the Z table; counts are taken modulo it.
    pub z_table: usize,
    /// Between GRU layers and on the read-out's input; the input dropout
    /// is `dropout - 0.2` (at least 0), as in TonicNet.
    pub dropout: f64,
}

impl TonicNetConfig {
    /// TonicNet_Z as published: 3 × 256 GRU, Z embedding 32 of 80, dropout 0.3.
    pub fn paper(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            hidden: 256,
            layers: 3,
            z_size: 32,
            z_table: 80,
            dropout: 0.3,
        }
    }

    pub fn tiny(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            hidden: 16,
            layers: 2,
            z_size: 4,
            z_table: 80,
            dropout: 0.0,
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |field: &'static str, why: String| Err(ModelError::Config { field, why });
        if self.vocab_size < 2 {
            return bad("vocab_size", format!("{} is too small", self.vocab_size));
        }
        if self.hidden == 0 || self.layers == 0 || self.z_size == 0 {
            return bad("hidden", "hidden, layers and z_size must be positive".into());
        }
        if self.z_table < 2 {
            return bad("z_table", format!("{} entries cannot count repeats", self.z_table));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} is not in [0, 1)", self.dropout));
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Result<TonicNet, ModelError> {
        self.validate()?;
        let grus = (0..self.layers)
            .map(|layer| {
                let d_in = if layer == 0 {
                    self.hidden + self.z_size
                } else {
                    self.hidden
                };
                GruConfig::new(d_in, self.hidden, true).init(device)
            })
            .collect();
        Ok(TonicNet {
            embedding: EmbeddingConfig::new(self.vocab_size, self.hidden).init(device),
            z_embedding: EmbeddingConfig::new(self.z_table, self.z_size).init(device),
            grus,
            between: DropoutConfig::new(self.dropout).init(),
            head: LinearConfig::new(self.hidden + self.z_size, self.vocab_size)
                .with_bias(false)
                .init(device),
            input_dropout: (self.dropout - 0.2).max(0.0),
            output_dropout: self.dropout,
            hidden: self.hidden,
            z_table: self.z_table,
        })
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct TonicNet {
    pub embedding: Embedding,
    pub z_embedding: Embedding,
    pub grus: Vec<Gru>,
    pub between: Dropout,
    pub head: Linear,
    pub input_dropout: f64,
    pub output_dropout: f64,
    pub hidden: usize,
    pub z_table: usize,
}

/// Variational dropout: one mask per sequence and feature, the same at
/// every time step (only while training, i.e. on an autodiff device).
fn variational_dropout(x: Tensor<3>, p: f64) -> Tensor<3> {
    if p <= 0.0 || !x.device().is_autodiff() {
        return x;
    }
    let [b, _, d] = x.dims();
    let keep = Tensor::<3>::random([b, 1, d], Distribution::Bernoulli(1.0 - p), &x.device());
    x * keep.mul_scalar(1.0 / (1.0 - p))
}

/// Z counts of a sequence that starts at a chord token: per position, how
/// many steps in a row the same part had the same id, modulo `table`.
pub fn z_of(ids: &[u32], table: usize) -> Vec<u32> {
    let mut tracker = ZTracker::default();
    ids.iter().map(|&id| tracker.push(id, table)).collect()
}

/// Counts Z token by token (the recurrence behind [`z_of`]).
#[derive(Debug, Clone, Default)]
pub struct ZTracker {
    position: usize,
    last: [Option<u32>; PARTS],
    run: [u32; PARTS],
}

impl ZTracker {
    /// The Z of `id`, the next token of the sequence.
    pub fn push(&mut self, id: u32, table: usize) -> u32 {
        let part = self.position % PARTS;
        self.run[part] = if self.last[part] == Some(id) {
            self.run[part] + 1
        } else {
            0
        };
        self.last[part] = Some(id);
        self.position += 1;
        self.run[part] % table as u32
    }
}

/// Decoding state: each layer's hidden state and each row's Z counter.
#[derive(Debug, Clone)]
pub struct TonicState {
    hidden: Vec<Option<Tensor<2>>>,
    z: Vec<ZTracker>,
}

impl TonicNet {
    /// A random N(0, 1) start state per layer, as TonicNet trains from.
    pub fn random_state(&self, batch: usize, device: &Device) -> Vec<Tensor<2>> {
        (0..self.grus.len())
            .map(|_| Tensor::<2>::random([batch, self.hidden], Distribution::Normal(0.0, 1.0), device))
            .collect()
    }

    /// Logits `[b, t, vocab]` for `ids` and their Z counts `z` (both
    /// `[b, t]`) from per-layer start states (`None`: zeros). Returns the
    /// last hidden state of every layer too.
    pub fn forward(
        &self,
        ids: Tensor<2, Int>,
        z: Tensor<2, Int>,
        start: Vec<Option<Tensor<2>>>,
    ) -> (Tensor<3>, Vec<Option<Tensor<2>>>) {
        // Counts past the table wrap, as TonicNet takes them modulo 80.
        let z = self.z_embedding.forward(z.remainder_scalar(self.z_table as i64));
        let mut x = variational_dropout(
            Tensor::cat(vec![z.clone(), self.embedding.forward(ids)], 2),
            self.input_dropout,
        );
        let mut last = Vec::with_capacity(self.grus.len());
        let mut starts = start.into_iter();
        for (i, gru) in self.grus.iter().enumerate() {
            if i > 0 {
                x = self.between.forward(x);
            }
            let out = recurrent::gru_forward(gru, x, starts.next().flatten());
            let [b, t, h] = out.dims();
            last.push(Some(out.clone().slice([0..b, t - 1..t, 0..h]).reshape([b, h])));
            x = out;
        }
        let x = variational_dropout(Tensor::cat(vec![z, x], 2), self.output_dropout);
        (linear(&self.head, x), last)
    }
}

impl TokenLm for TonicNet {
    type State = TonicState;

    fn logits(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [b, t] = ids.dims();
        let device = ids.device();
        let rows: Vec<i64> = ids.to_data().convert::<i64>().try_into_vec::<i64>().unwrap_or_default();
        let z: Vec<i64> = rows
            .chunks(t.max(1))
            .flat_map(|row| {
                let row: Vec<u32> = row.iter().map(|&v| v as u32).collect();
                z_of(&row, self.z_table)
            })
            .map(i64::from)
            .collect();
        let z = Tensor::<2, Int>::from_data(TensorData::new(z, [b, t]), &device);
        self.forward(ids, z, vec![None; self.grus.len()]).0
    }

    fn start(&self, batch: usize, _device: &Device) -> TonicState {
        TonicState {
            hidden: vec![None; self.grus.len()],
            z: vec![ZTracker::default(); batch],
        }
    }

    fn step(&self, state: &mut TonicState, ids: Tensor<1, Int>) -> Tensor<2> {
        let device = ids.device();
        let [b] = ids.dims();
        let values: Vec<i64> = ids.to_data().convert::<i64>().try_into_vec::<i64>().unwrap_or_default();
        let z: Vec<i64> = values
            .iter()
            .zip(state.z.iter_mut())
            .map(|(&id, tracker)| i64::from(tracker.push(id as u32, self.z_table)))
            .collect();
        let z = Tensor::<2, Int>::from_data(TensorData::new(z, [b, 1]), &device);
        let start = std::mem::take(&mut state.hidden);
        let (logits, last) = self.forward(ids.unsqueeze_dim(1), z, start);
        state.hidden = last;
        let [b, _, v] = logits.dims();
        logits.reshape([b, v])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_counts_repeats_per_part() {
        // Two steps of chord, S, B, A, T; the chord and S repeat, B changes.
        let ids = [50, 10, 1, 5, 7, 50, 10, 2, 5, 8, 50];
        assert_eq!(z_of(&ids, 80), vec![0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 2]);
        // Counts wrap at the table size.
        let same = vec![3u32; PARTS * 5];
        assert_eq!(z_of(&same, 3)[PARTS * 4], 4 % 3);
    }

    #[test]
    fn stepping_equals_the_whole_sequence() {
        let device = Device::flex();
        let model = TonicNetConfig::tiny(12).init(&device).expect("config is valid");
        let ids: Vec<u32> = vec![9, 1, 2, 3, 4, 9, 1, 2, 5, 4, 10, 1];
        let whole = model
            .logits(Tensor::<2, Int>::from_data(
                TensorData::new(ids.iter().map(|&i| i as i64).collect::<Vec<_>>(), [1, ids.len()]),
                &device,
            ))
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32 logits");
        let mut state = model.start(1, &device);
        for (t, &id) in ids.iter().enumerate() {
            let step = model
                .step(
                    &mut state,
                    Tensor::<1, Int>::from_data(TensorData::new(vec![id as i64], [1]), &device),
                )
                .into_data()
                .try_into_vec::<f32>()
                .expect("f32 logits");
            for (a, b) in step.iter().zip(&whole[t * 12..(t + 1) * 12]) {
                assert!((a - b).abs() < 1e-4, "step {t}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn z_changes_the_prediction() {
        // The same ids with different Z counts must give different logits:
        // the Z input reaches the read-out.
        let device = Device::flex();
        let model = TonicNetConfig::tiny(12).init(&device).expect("config is valid");
        let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![3i64, 4, 5], [1, 3]), &device);
        let z0 = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 0, 0], [1, 3]), &device);
        let z1 = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 0, 7], [1, 3]), &device);
        let a = model
            .forward(ids.clone(), z0, vec![None, None])
            .0
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32");
        let b = model
            .forward(ids, z1, vec![None, None])
            .0
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32");
        assert_eq!(a[..24], b[..24], "earlier positions do not see the later Z");
        assert!(a[24..].iter().zip(&b[24..]).any(|(x, y)| (x - y).abs() > 1e-6));
    }

    #[test]
    fn bad_configs_are_refused() {
        let mut c = TonicNetConfig::paper(98);
        c.dropout = 1.0;
        assert!(c.validate().is_err());
        let mut c = TonicNetConfig::paper(98);
        c.z_table = 1;
        assert!(c.validate().is_err());
    }
}
