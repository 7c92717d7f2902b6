//! Eck & Schmidhuber's blues LSTM ("Finding Temporal Structure in Music:
//! Blues Improvisation with LSTM Recurrent Networks", NNSP 2002; "Learning
//! the Long-Term Structure of the Blues", ICANN 2002): an LSTM that reads
//! one time step of chords and melody as a vector of binary units and
//! predicts the next step's units, each an independent logistic output
//! trained by cross-entropy.
//!
//! A step is `chord_units` units for the chord (its pitch classes, several
//! on at once) followed by the melody units (one on, or none for silence);
//! `fugue-cli` builds them from tunes with chord symbols. The network here
//! is one LSTM layer of `hidden` cells with forget gates and a logistic
//! read-out. What could not be checked in the papers (only their abstracts
//! were readable) and is fugue's reading, stated: the sizes (16 cells by
//! default, as the recollected "8 blocks of 2 cells", but burn's cells do
//! not share gates within a block), the melody's 13 units, and the
//! sampling rule of [`EckSchmidhuber::sample`].

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Lstm, LstmConfig, LstmState};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::layers::frames::{bernoulli_nll, shifted_right};
use crate::layers::fused_linear::forward as linear;
use crate::layers::recurrent;
use crate::ModelError;

/// Hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EckSchmidhuberConfig {
    /// Chord units (12 pitch classes).
    pub chord_units: usize,
    /// Melody units (13: an octave and its top note).
    pub melody_units: usize,
    /// LSTM cells.
    pub hidden: usize,
}

impl EckSchmidhuberConfig {
    /// 12 chord units, 13 melody units, 16 cells.
    pub fn paper() -> Self {
        Self {
            chord_units: 12,
            melody_units: 13,
            hidden: 16,
        }
    }

    /// For tests.
    pub fn tiny() -> Self {
        Self {
            chord_units: 3,
            melody_units: 4,
            hidden: 5,
        }
    }

    /// Units per step.
    pub fn units(&self) -> usize {
        self.chord_units + self.melody_units
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        if self.hidden == 0 || self.chord_units == 0 || self.melody_units == 0 {
            return Err(ModelError::Config {
                field: "hidden",
                why: "cells, chord units and melody units must be positive".into(),
            });
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Result<EckSchmidhuber, ModelError> {
        self.validate()?;
        Ok(EckSchmidhuber {
            lstm: LstmConfig::new(self.units(), self.hidden, true).init(device),
            output: LinearConfig::new(self.hidden, self.units()).init(device),
            chord_units: self.chord_units,
        })
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct EckSchmidhuber {
    pub lstm: Lstm,
    pub output: Linear,
    pub chord_units: usize,
}

impl EckSchmidhuber {
    /// Units per step.
    pub fn units(&self) -> usize {
        self.output.weight.dims()[1]
    }

    /// −log p of each step of `frames` (`[b, t, units]`, 0/1) given the
    /// steps before it: `[b, t]`, the units' cross-entropies summed.
    pub fn frame_nll(&self, frames: Tensor<3>) -> Tensor<2> {
        let [b, t, _] = frames.dims();
        let (h, _) = recurrent::lstm_forward(&self.lstm, shifted_right(frames.clone()), None);
        let logits = linear(&self.output, h);
        bernoulli_nll(frames, logits).sum_dim(2).reshape([b, t])
    }

    /// Steps drawn one after another (after `primer`, unit indices per
    /// step): each chord unit on with its probability; the melody silent
    /// with probability `1 − min(1, Σ p)`, else one note drawn in
    /// proportion to the melody units' probabilities (the papers' sampling
    /// could not be read; this keeps one melody note a step).
    pub fn sample(
        &self,
        primer: &[Vec<usize>],
        steps: usize,
        device: &Device,
        mut uniform: impl FnMut() -> f32,
    ) -> Vec<Vec<usize>> {
        let u = self.units();
        let mut state: Option<LstmState<2>> = None;
        let mut out: Vec<Vec<usize>> = Vec::new();
        let mut previous = vec![0f32; u];
        for t in 0..primer.len() + steps {
            let x = Tensor::<3>::from_data(TensorData::new(previous.clone(), [1, 1, u]), device);
            let (h, next) = recurrent::lstm_forward(&self.lstm, x, state.take());
            state = Some(next);
            let p: Vec<f32> = sigmoid(linear(&self.output, h))
                .into_data()
                .try_into_vec::<f32>()
                .unwrap_or_default();
            let frame: Vec<usize> = if t < primer.len() {
                primer[t].iter().copied().filter(|&i| i < u).collect()
            } else {
                let mut f: Vec<usize> = (0..self.chord_units).filter(|&i| uniform() < p[i]).collect();
                let melody = &p[self.chord_units..];
                let total: f32 = melody.iter().sum();
                if uniform() < total.min(1.0) {
                    let mut r = uniform() * total;
                    let mut pick = melody.len() - 1;
                    for (i, q) in melody.iter().enumerate() {
                        if r < *q {
                            pick = i;
                            break;
                        }
                        r -= q;
                    }
                    f.push(self.chord_units + pick);
                }
                f
            };
            previous = vec![0f32; u];
            for &i in &frame {
                previous[i] = 1.0;
            }
            out.push(frame);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nll_sums_the_units_cross_entropies_and_samples_keep_one_melody_note() {
        let device = Device::flex();
        let m = EckSchmidhuberConfig::tiny()
            .init(&device)
            .unwrap_or_else(|e| panic!("{e}"));
        let frames = Tensor::<3>::from_data(
            TensorData::new(vec![1., 0., 1., 0., 1., 0., 0., 0., 1., 0., 0., 0., 0., 1.], [1, 2, 7]),
            &device,
        );
        let nll = m
            .frame_nll(frames)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap_or_default();
        // Each step costs at least nothing and at most what its logits say;
        // positive, finite.
        assert!(nll.iter().all(|&v| v.is_finite() && v > 0.0), "{nll:?}");
        let mut k = 0u32;
        let frames = m.sample(&[vec![0, 4]], 20, &device, || {
            k = k.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (k >> 8) as f32 / (1u32 << 24) as f32
        });
        assert_eq!(frames.len(), 21);
        assert_eq!(frames[0], vec![0, 4]);
        assert!(frames.iter().all(|f| f.iter().filter(|&&i| i >= 3).count() <= 1));
        assert!(EckSchmidhuberConfig {
            hidden: 0,
            ..EckSchmidhuberConfig::tiny()
        }
        .validate()
        .is_err());
    }
}
