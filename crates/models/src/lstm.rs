//! The token-level recurrent language models of the survey: an embedding,
//! a stack of LSTM (or GRU) layers with dropout between them, a linear
//! read-out to the next token's logits.
//!
//! The presets are the published settings of systems that are this
//! network on a particular encoding:
//! - [`LstmLmConfig::melody_rnn`]: Magenta's Melody RNN `basic_rnn`
//!   (2 × 128 LSTM, dropout 0.5, 38 melody events), also the Note-RNN that
//!   RL-Tuner starts from;
//! - [`LstmLmConfig::performance_rnn`]: Performance RNN (Oore et al. 2018,
//!   3 × 512 LSTM, no dropout, 388 performance events);
//! - [`LstmLmConfig::bachbot`]: BachBot (Liang et al. 2017, embedding 32,
//!   3 × 256 LSTM, dropout 0.3). BachBot also batch-normalised between
//!   layers; fugue leaves that out (stated, not hidden).
//!
//! Melody RNN and Performance RNN fed one-hot vectors; an embedding of
//! width `vocab` initialised at random spans the same function class, so
//! `embedding: 0` means "as wide as the vocabulary".

use burn::module::Module;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Gru, GruConfig, Linear, LinearConfig, Lstm, LstmConfig,
    LstmState,
};
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::fused_linear::forward as linear;
use crate::layers::recurrent;
use crate::{ModelError, TokenLm};

/// The recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    Lstm,
    Gru,
}

/// Hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmLmConfig {
    pub vocab_size: usize,
    /// Embedding width; 0 = `vocab_size` (one-hot-like input).
    pub embedding: usize,
    pub hidden: usize,
    pub layers: usize,
    pub dropout: f64,
    pub cell: Cell,
}

impl LstmLmConfig {
    pub fn melody_rnn(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            embedding: 0,
            hidden: 128,
            layers: 2,
            dropout: 0.5,
            cell: Cell::Lstm,
        }
    }

    pub fn performance_rnn(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            embedding: 0,
            hidden: 512,
            layers: 3,
            dropout: 0.0,
            cell: Cell::Lstm,
        }
    }

    pub fn bachbot(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            embedding: 32,
            hidden: 256,
            layers: 3,
            dropout: 0.3,
            cell: Cell::Lstm,
        }
    }

    pub fn tiny(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            embedding: 8,
            hidden: 16,
            layers: 2,
            dropout: 0.0,
            cell: Cell::Lstm,
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |field: &'static str, why: String| Err(ModelError::Config { field, why });
        if self.vocab_size < 2 {
            return bad("vocab_size", format!("{} is too small", self.vocab_size));
        }
        if self.hidden == 0 || self.layers == 0 {
            return bad("hidden", "hidden and layers must be positive".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} is not in [0, 1)", self.dropout));
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Result<LstmLm, ModelError> {
        self.validate()?;
        let embedding = if self.embedding == 0 {
            self.vocab_size
        } else {
            self.embedding
        };
        let mut lstms = Vec::new();
        let mut grus = Vec::new();
        for layer in 0..self.layers {
            let d_in = if layer == 0 { embedding } else { self.hidden };
            match self.cell {
                Cell::Lstm => lstms.push(LstmConfig::new(d_in, self.hidden, true).init(device)),
                Cell::Gru => grus.push(GruConfig::new(d_in, self.hidden, true).init(device)),
            }
        }
        Ok(LstmLm {
            embedding: EmbeddingConfig::new(self.vocab_size, embedding).init(device),
            lstms,
            grus,
            dropout: DropoutConfig::new(self.dropout).init(),
            head: LinearConfig::new(self.hidden, self.vocab_size).init(device),
            hidden: self.hidden,
        })
    }
}

/// The network. Exactly one of `lstms` / `grus` is non-empty.
#[derive(Module, Debug)]
pub struct LstmLm {
    pub embedding: Embedding,
    pub lstms: Vec<Lstm>,
    pub grus: Vec<Gru>,
    pub dropout: Dropout,
    pub head: Linear,
    pub hidden: usize,
}

/// Per-layer recurrent state while decoding.
#[derive(Debug, Clone)]
pub enum RecurrentState {
    Lstm(Vec<Option<LstmState<2>>>),
    Gru(Vec<Option<Tensor<2>>>),
}

impl LstmLm {
    /// Runs the stack over `x` (`[b, t, d]`) from `state`, updating it.
    /// The layers are burn-nn's modules (their tensor names are the
    /// checkpoints'), run by the fused recurrence of
    /// [`crate::layers::recurrent`]: burn-nn's own per-gate, per-step forward
    /// made a training step 8× slower than PyTorch's.
    fn run(&self, mut x: Tensor<3>, state: &mut RecurrentState) -> Tensor<3> {
        match state {
            RecurrentState::Lstm(states) => {
                for (layer, slot) in self.lstms.iter().zip(states.iter_mut()) {
                    x = self.dropout.forward(x);
                    let (out, next) = recurrent::lstm_forward(layer, x, slot.take());
                    *slot = Some(next);
                    x = out;
                }
            }
            RecurrentState::Gru(states) => {
                for (layer, slot) in self.grus.iter().zip(states.iter_mut()) {
                    x = self.dropout.forward(x);
                    let out = recurrent::gru_forward(layer, x, slot.take());
                    let [b, t, h] = out.dims();
                    *slot = Some(out.clone().slice([0..b, t - 1..t, 0..h]).reshape([b, h]));
                    x = out;
                }
            }
        }
        // The fused layer multiplies `[b·t, H]` rows at once: burn's batched
        // matmul would differentiate a 3-D input into one weight gradient
        // per sequence and then sum them (4 MB and a reduction per step here).
        linear(&self.head, self.dropout.forward(x))
    }
}

impl TokenLm for LstmLm {
    type State = RecurrentState;

    fn logits(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [b, _] = ids.dims();
        let device = ids.device();
        let mut state = self.start(b, &device);
        self.run(self.embedding.forward(ids), &mut state)
    }

    fn start(&self, _batch: usize, _device: &Device) -> RecurrentState {
        if self.lstms.is_empty() {
            RecurrentState::Gru(vec![None; self.grus.len()])
        } else {
            RecurrentState::Lstm(vec![None; self.lstms.len()])
        }
    }

    fn step(&self, state: &mut RecurrentState, ids: Tensor<1, Int>) -> Tensor<2> {
        let logits = self.run(self.embedding.forward(ids.unsqueeze_dim(1)), state);
        let [b, _, v] = logits.dims();
        logits.reshape([b, v])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_equals_the_whole_sequence_for_both_cells() {
        let device = Device::flex();
        for cell in [Cell::Lstm, Cell::Gru] {
            let model = LstmLmConfig {
                cell,
                ..LstmLmConfig::tiny(7)
            }
            .init(&device)
            .unwrap_or_else(|e| panic!("{e}"));
            crate::assert_stepping_matches(&model, vec![1, 4, 2, 6, 3, 3, 0, 5], [2, 4], 1e-5);
        }
    }
}
