//! RNN-NADE (Boulanger-Lewandowski, Bengio & Vincent, ICML 2012): a
//! recurrent network reads the piano-roll frames so far, and the next
//! frame's distribution is a NADE (Larochelle & Murray 2011) whose hidden
//! and visible biases come from the recurrent state. The NADE factorises
//! the frame over pitches, low to high, so the frame log-likelihood is
//! exact and training follows its gradient.
//!
//! fugue follows Magenta's re-implementation for the recurrence (an LSTM
//! stack and one dense layer producing both bias vectors), which the paper's
//! plain tanh RNN is the one-layer special case of in spirit; the paper's
//! own hidden sizes are not in the sources we could read
//! (`../shared/PAPERS.md`). The loss is nats per frame, summed over the
//! pitches of the frame: Boulanger's "log-likelihood per time step".

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig, Lstm, LstmConfig, LstmState};
use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::{Bool, Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::layers::recurrent;
use crate::ModelError;

/// Hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RnnNadeConfig {
    /// Pitches per frame (88 for MIDI 21..=108).
    pub pitches: usize,
    /// LSTM widths, bottom first.
    pub rnn: Vec<usize>,
    /// NADE hidden units.
    pub nade_hidden: usize,
    /// Dropout on each LSTM layer's output while training (Magenta keeps
    /// 0.5 of them); without it the JSB chorales are overfit within ~1,000
    /// updates.
    #[serde(default)]
    pub dropout: f64,
}

impl RnnNadeConfig {
    /// Magenta's `rnn-nade` configuration: LSTM 3 × 128, NADE hidden 128.
    pub fn magenta(pitches: usize) -> Self {
        Self {
            pitches,
            rnn: vec![128, 128, 128],
            nade_hidden: 128,
            dropout: 0.5,
        }
    }

    pub fn tiny(pitches: usize) -> Self {
        Self {
            pitches,
            rnn: vec![16],
            nade_hidden: 8,
            dropout: 0.0,
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        if self.pitches == 0 || self.nade_hidden == 0 {
            return Err(ModelError::Config {
                field: "pitches",
                why: "pitches and nade_hidden must be positive".into(),
            });
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ModelError::Config {
                field: "dropout",
                why: format!("{} is not in [0, 1)", self.dropout),
            });
        }
        if self.rnn.is_empty() || self.rnn.contains(&0) {
            return Err(ModelError::Config {
                field: "rnn",
                why: "at least one positive LSTM width".into(),
            });
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Result<RnnNade, ModelError> {
        self.validate()?;
        let mut lstms = Vec::new();
        let mut d_in = self.pitches;
        for &width in &self.rnn {
            lstms.push(LstmConfig::new(d_in, width, true).init(device));
            d_in = width;
        }
        let init = Initializer::Normal { mean: 0.0, std: 0.01 };
        Ok(RnnNade {
            lstms,
            biases: LinearConfig::new(d_in, self.nade_hidden + self.pitches).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            w_enc: init.init([self.pitches, self.nade_hidden], device),
            w_dec: init.init([self.pitches, self.nade_hidden], device),
            pitches: self.pitches,
            nade_hidden: self.nade_hidden,
        })
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct RnnNade {
    pub lstms: Vec<Lstm>,
    /// Recurrent state → `[b_enc (nade_hidden), b_dec (pitches)]`.
    pub biases: Linear,
    /// Active only under autodiff (training), like every burn dropout.
    pub dropout: Dropout,
    pub w_enc: Param<Tensor<2>>,
    pub w_dec: Param<Tensor<2>>,
    pub pitches: usize,
    pub nade_hidden: usize,
}

impl RnnNade {
    /// NADE biases for every frame of `frames` (`[b, t, pitches]`, 0/1),
    /// each conditioned on the frames before it: `([b,t,h], [b,t,p])`.
    fn conditional_biases(&self, frames: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let [b, t, p] = frames.dims();
        // Frame t is predicted from frames < t: shift right by one.
        let shifted = Tensor::cat(
            vec![
                Tensor::zeros([b, 1, p], &frames.device()),
                frames.slice([0..b, 0..t - 1, 0..p]),
            ],
            1,
        );
        let mut x = shifted;
        for lstm in &self.lstms {
            // The fused layer of `layers::recurrent`: the same function as
            // `Lstm::forward`, several times faster to train on a CPU.
            x = self.dropout.forward(recurrent::lstm_forward(lstm, x, None).0);
        }
        self.split_biases(self.biases.forward(x))
    }

    fn split_biases(&self, out: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let [b, t, _] = out.dims();
        let h = self.nade_hidden;
        (
            out.clone().slice([0..b, 0..t, 0..h]),
            out.slice([0..b, 0..t, h..h + self.pitches]),
        )
    }

    /// Negative log-likelihood in nats of each frame (`[b, t]`), exact.
    pub fn frame_nll(&self, frames: Tensor<3>) -> Tensor<2> {
        let [b, t, p] = frames.dims();
        let device = frames.device();
        let (b_enc, b_dec) = self.conditional_biases(frames.clone());
        let n = b * t;
        let v = frames.reshape([n, p]);
        // a_i = b_enc + Σ_{k<i} v_k W_k: mask each frame with a strictly
        // lower-triangular matrix, one matmul for all pitches at once.
        // burn's `tril_mask(-1)` is true where k >= i; its negation keeps k < i.
        let lower: Tensor<2> = Tensor::<2, Bool>::tril_mask([p, p], -1, &device).bool_not().float();
        let masked = v.clone().unsqueeze_dim::<3>(1) * lower.unsqueeze::<3>();
        let a = masked.matmul(self.w_enc.val().unsqueeze::<3>()) + b_enc.reshape([n, 1, self.nade_hidden]);
        let hidden = sigmoid(a);
        let logits = (hidden * self.w_dec.val().unsqueeze::<3>()).sum_dim(2).reshape([n, p]) + b_dec.reshape([n, p]);
        // Bernoulli NLL from logits, stable for large |logit|.
        let nll = -(v.clone() * log_sigmoid(logits.clone()) + (v.neg() + 1.0) * log_sigmoid(logits.neg()));
        nll.sum_dim(1).reshape([b, t])
    }

    /// Samples `steps` frames after `primer` (frames of pitch indices),
    /// pitch by pitch from each conditional NADE. `uniform` supplies the
    /// random numbers in [0, 1) so the caller owns the seed.
    pub fn sample(
        &self,
        primer: &[Vec<usize>],
        steps: usize,
        device: &Device,
        mut uniform: impl FnMut() -> f32,
    ) -> Vec<Vec<usize>> {
        let p = self.pitches;
        let h = self.nade_hidden;
        let w_enc: Vec<f32> = self.w_enc.val().into_data().try_into_vec::<f32>().unwrap_or_default();
        let w_dec: Vec<f32> = self.w_dec.val().into_data().try_into_vec::<f32>().unwrap_or_default();
        let mut states: Vec<Option<LstmState<2>>> = vec![None; self.lstms.len()];
        let mut frames: Vec<Vec<usize>> = Vec::new();
        let mut previous = vec![0f32; p];
        let total = primer.len() + steps;
        for t in 0..total {
            let mut x = Tensor::<3>::from_data(TensorData::new(previous.clone(), [1, 1, p]), device);
            for (lstm, slot) in self.lstms.iter().zip(states.iter_mut()) {
                let (out, next) = recurrent::lstm_forward(lstm, x, slot.take());
                *slot = Some(next);
                x = out;
            }
            let out: Vec<f32> = self
                .biases
                .forward(x)
                .into_data()
                .try_into_vec::<f32>()
                .unwrap_or_default();
            let frame: Vec<usize> = if t < primer.len() {
                primer[t].iter().copied().filter(|&i| i < p).collect()
            } else {
                let mut a = out[..h].to_vec();
                let mut on = Vec::new();
                for i in 0..p {
                    let mut logit = out[h + i];
                    for j in 0..h {
                        logit += w_dec[i * h + j] / (1.0 + (-a[j]).exp());
                    }
                    if uniform() < 1.0 / (1.0 + (-logit).exp()) {
                        on.push(i);
                        for j in 0..h {
                            a[j] += w_enc[i * h + j];
                        }
                    }
                }
                on
            };
            previous = vec![0f32; p];
            for &i in &frame {
                previous[i] = 1.0;
            }
            frames.push(frame);
        }
        frames.split_off(primer.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The NADE factorisation is a distribution: over all 2^p frames of a
    /// small model the probabilities sum to one.
    #[test]
    fn frame_probabilities_sum_to_one() {
        let device = Device::flex();
        let p = 4;
        let mut model = RnnNadeConfig::tiny(p).init(&device).unwrap_or_else(|e| panic!("{e}"));
        // Large weights, so that a wrong (non-autoregressive) mask shows.
        let big = |shape: [usize; 2]| {
            Param::from_tensor(Tensor::<2>::random(
                shape,
                burn::tensor::Distribution::Normal(0.0, 1.5),
                &device,
            ))
        };
        model.w_enc = big([p, 8]);
        model.w_dec = big([p, 8]);
        let mut frames = Vec::new();
        for code in 0..(1usize << p) {
            for i in 0..p {
                frames.push(((code >> i) & 1) as f32);
            }
        }
        // Each enumerated frame as the first (unconditioned) step of its own sequence.
        let x = Tensor::<3>::from_data(TensorData::new(frames, [1 << p, 1, p]), &device);
        let nll: Vec<f32> = model.frame_nll(x).into_data().try_into_vec::<f32>().unwrap_or_default();
        let total: f32 = nll.iter().map(|n| (-n).exp()).sum();
        assert!((total - 1.0).abs() < 1e-4, "sum of probabilities {total}");
    }

    #[test]
    fn sampling_is_seeded_and_in_range() {
        let device = Device::flex();
        let model = RnnNadeConfig::tiny(6).init(&device).unwrap_or_else(|e| panic!("{e}"));
        let run = |seed: u32| {
            let mut x = seed;
            model.sample(&[vec![1, 3]], 5, &device, move || {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 8) as f32 / (1u32 << 24) as f32
            })
        };
        let a = run(7);
        assert_eq!(a.len(), 5);
        assert!(a.iter().flatten().all(|&i| i < 6));
        assert_eq!(a, run(7));
    }
}
