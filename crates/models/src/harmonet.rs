//! HARMONET's harmony net (Hild, Feulner & Menzel, NIPS 4, 1991): a
//! feed-forward network with one hidden layer, trained by backpropagation,
//! that predicts the harmonic function of a quarter beat from a window of
//! the melody, the harmonies already chosen and the beat's place in its
//! phrase (the inputs are built by `fugue-tokens`' `harmonet`; this file
//! only sees a vector per beat).
//!
//! Confirmed by the paper's readable pages: backpropagation nets inside a
//! hierarchical system, a harmonic skeleton of thoroughbass-like
//! harmonies. fugue's reading (the layer sizes and activations could not be
//! read): one tanh hidden layer, dropout on it, a softmax over the label
//! ids trained by cross-entropy (the 1991 net's output coding and error
//! function are not known).

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::{log_softmax, tanh};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::fused_linear::forward as linear;
use crate::ModelError;

/// Hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarmonetConfig {
    /// Inputs per beat (`fugue_tokens::harmonet::FEATURES`).
    pub inputs: usize,
    /// Hidden units.
    pub hidden: usize,
    /// Output classes (`fugue_tokens::harmonet::LABELS`).
    pub labels: usize,
    /// Dropout on the hidden layer while training.
    pub dropout: f64,
}

impl HarmonetConfig {
    /// fugue's default: 128 hidden units, dropout 0.3 (the paper's sizes
    /// are not known; the net is small either way: 0.11 M weights for
    /// fugue's 305 inputs and 577 labels).
    pub fn standard(inputs: usize, labels: usize) -> Self {
        Self {
            inputs,
            hidden: 128,
            labels,
            dropout: 0.3,
        }
    }

    /// For tests: a handful of hidden units, no dropout.
    pub fn tiny(inputs: usize, labels: usize) -> Self {
        Self {
            inputs,
            hidden: 8,
            labels,
            dropout: 0.0,
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        for (field, v) in [
            ("inputs", self.inputs),
            ("hidden", self.hidden),
            ("labels", self.labels),
        ] {
            if v == 0 {
                return Err(ModelError::Config {
                    field,
                    why: "must be positive".into(),
                });
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ModelError::Config {
                field: "dropout",
                why: format!("{} is not in [0, 1)", self.dropout),
            });
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Result<Harmonet, ModelError> {
        self.validate()?;
        Ok(Harmonet {
            hidden: LinearConfig::new(self.inputs, self.hidden).init(device),
            output: LinearConfig::new(self.hidden, self.labels).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// The harmony net.
#[derive(Module, Debug)]
pub struct Harmonet {
    pub hidden: Linear,
    pub output: Linear,
    pub dropout: Dropout,
}

impl Harmonet {
    /// Inputs per beat.
    pub fn inputs(&self) -> usize {
        self.hidden.weight.dims()[0]
    }

    /// Logits `[b, labels]` for inputs `[b, inputs]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        linear(&self.output, self.dropout.forward(tanh(linear(&self.hidden, x))))
    }

    /// [`Self::forward`] normalised over the labels.
    pub fn log_probs(&self, x: Tensor<2>) -> Tensor<2> {
        log_softmax(self.forward(x), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn shapes_sizes_and_normalised_distributions() {
        let device = Device::flex();
        let m = HarmonetConfig::tiny(10, 7)
            .init(&device)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.inputs(), 10);
        let x = Tensor::<2>::random([3, 10], Distribution::Normal(0.0, 1.0), &device);
        let lp = m.log_probs(x);
        assert_eq!(lp.dims(), [3, 7]);
        lp.exp().sum_dim(1).into_data().assert_approx_eq::<f32>(
            &Tensor::<2>::ones([3, 1], &device).into_data(),
            Tolerance::absolute(1e-5),
        );
        let standard = HarmonetConfig::standard(305, 577)
            .init(&device)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(standard.num_params(), 305 * 128 + 128 + 128 * 577 + 577);
    }

    #[test]
    fn config_errors_name_the_field() {
        let e = HarmonetConfig::tiny(0, 3).validate().unwrap_err().to_string();
        assert!(e.contains("inputs"), "{e}");
        let e = HarmonetConfig {
            dropout: 1.0,
            ..HarmonetConfig::tiny(3, 3)
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("dropout"), "{e}");
    }
}
