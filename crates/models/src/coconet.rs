//! Coconet (Huang, Cooijmans, Roberts, Courville & Eck, "Counterpoint by
//! Convolution", ISMIR 2017): a deep residual convolutional network over
//! the (voice × time × pitch) piano-roll of a chorale that, given any subset
//! of the notes, predicts every other one.
//!
//! Input: for each of the I voices, its one-hot roll with the cells to
//! predict blanked out, and a mask plane (1 where the cell is to be
//! predicted, constant over pitch): 2·I channels over (time, pitch).
//! Output: per voice and step, logits over the P pitches (softmax over the
//! pitch axis: one note per voice and step).
//!
//! Layers, as in Magenta's "straight" network: a 3×3 convolution from the
//! 2·I input planes to F filters, L − 3 further 3×3 convolutions, a 2×2
//! convolution F → F and a 2×2 convolution F → I giving the logits; "same"
//! padding throughout (a 2×2 kernel pads one step after, as TensorFlow
//! does). Batch normalisation after every convolution but the last (γ
//! initialised to 0.1, population-statistics momentum 0.01, ε 1e-7), ReLU
//! after every one but the last, He-normal weights, and a residual
//! connection every two layers: the activation of every even layer is added
//! to the pre-activation of the next even layer. `paper()` is the released
//! Bach model's size (64 layers, 128 filters).
//!
//! Training as an orderless NADE (random masks) lives in `fugue-train`,
//! Gibbs and ancestral sampling in `fugue-sample`: this file is the network.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// Hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoconetConfig {
    /// Pitches per voice and step (46: MIDI 36..=81 for the JSB chorales).
    pub pitches: usize,
    /// Voices (4: soprano, alto, tenor, bass).
    pub instruments: usize,
    /// Convolution layers in all (at least 3).
    pub layers: usize,
    /// Filters per hidden layer.
    pub filters: usize,
}

impl CoconetConfig {
    /// The released Bach model: 64 layers of 128 filters (~8.5 M weights).
    pub fn paper() -> Self {
        Self {
            pitches: 46,
            instruments: 4,
            layers: 64,
            filters: 128,
        }
    }

    /// A CPU-sized model: 12 layers of 48 filters (~0.22 M weights).
    pub fn small() -> Self {
        Self {
            layers: 12,
            filters: 48,
            ..Self::paper()
        }
    }

    pub fn tiny() -> Self {
        Self {
            pitches: 12,
            instruments: 4,
            layers: 4,
            filters: 8,
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        if self.layers < 3 {
            return Err(ModelError::Config {
                field: "layers",
                why: format!("{} < 3 (a 3×3 input layer and two 2×2 output layers)", self.layers),
            });
        }
        for (field, v) in [
            ("pitches", self.pitches),
            ("instruments", self.instruments),
            ("filters", self.filters),
        ] {
            if v == 0 {
                return Err(ModelError::Config {
                    field,
                    why: "must be positive".into(),
                });
            }
        }
        Ok(())
    }

    /// How far (in steps, either way) the output at one step can see: the
    /// exact context a window needs for its centre to be computed as in
    /// the whole piece.
    pub fn receptive_radius(&self) -> usize {
        // Each 3×3 layer widens the view by one step on each side, each
        // 2×2 layer by one step on one side.
        self.layers
    }

    pub fn init(&self, device: &Device) -> Result<Coconet, ModelError> {
        self.validate()?;
        let he = Initializer::KaimingNormal {
            gain: std::f64::consts::SQRT_2,
            fan_out_only: false,
        };
        let conv = |c_in: usize, c_out: usize, k: usize| {
            Conv2dConfig::new([c_in, c_out], [k, k])
                .with_padding(PaddingConfig2d::Same)
                .with_initializer(he.clone())
                .init(device)
        };
        let norm = || {
            let mut bn = BatchNormConfig::new(self.filters)
                .with_momentum(0.01)
                .with_epsilon(1e-7)
                .init(device);
            bn.gamma = Param::from_tensor(Tensor::full([self.filters], 0.1, device));
            bn
        };
        let (f, l) = (self.filters, self.layers);
        let mut convs = vec![conv(2 * self.instruments, f, 3)];
        for _ in 1..l - 2 {
            convs.push(conv(f, f, 3));
        }
        convs.push(conv(f, f, 2));
        let norms = (0..l - 1).map(|_| norm()).collect();
        Ok(Coconet {
            convs,
            norms,
            output: conv(f, self.instruments, 2),
            pitches: self.pitches,
            instruments: self.instruments,
        })
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct Coconet {
    /// The hidden convolutions (L − 1 of them), each followed by `norms[i]`.
    pub convs: Vec<Conv2d>,
    pub norms: Vec<BatchNorm>,
    /// The 2×2 convolution to one logit plane per voice.
    pub output: Conv2d,
    pub pitches: usize,
    pub instruments: usize,
}

impl Coconet {
    /// Logits `[b, voice, time, pitch]` for the rolls `[b, voice, time,
    /// pitch]` (one-hot or silent per voice and step) given the masks of
    /// the same shape (1 = predict this cell; constant over pitch). Masked
    /// cells of `roll` are ignored: the network sees `roll · (1 − mask)`.
    pub fn forward(&self, roll: Tensor<4>, mask: Tensor<4>) -> Tensor<4> {
        let visible = roll * (mask.clone().neg() + 1.0);
        let mut h = Tensor::cat(vec![visible, mask], 1);
        let mut skip: Option<Tensor<4>> = None;
        for (i, (conv, norm)) in self.convs.iter().zip(&self.norms).enumerate() {
            let mut y = norm.forward(conv.forward(h));
            // Residual every two layers, between even layers.
            if i >= 2 && i % 2 == 0 {
                if let Some(s) = &skip {
                    y = y + s.clone();
                }
            }
            h = relu(y);
            if i % 2 == 0 {
                skip = Some(h.clone());
            }
        }
        self.output.forward(h)
    }

    /// [`CoconetConfig::receptive_radius`] of the built network.
    pub fn receptive_radius(&self) -> usize {
        self.convs.len() + 1
    }

    /// Log-probabilities over pitch for every (voice, step): `forward`
    /// normalised along the pitch axis.
    pub fn log_probs(&self, roll: Tensor<4>, mask: Tensor<4>) -> Tensor<4> {
        log_softmax(self.forward(roll, mask), 3)
    }
}

/// The network's two inputs from flat buffers: `roll` `[b, 4, t, pitches]`
/// one-hot and `mask` `[b, 4, t]` (1 = predict), spread over pitch.
pub fn inputs(
    roll: Vec<f32>,
    mask: Vec<f32>,
    [b, t]: [usize; 2],
    pitches: usize,
    device: &Device,
) -> (Tensor<4>, Tensor<4>) {
    let roll = Tensor::<4>::from_data(TensorData::new(roll, [b, 4, t, pitches]), device);
    let mask = Tensor::<4>::from_data(TensorData::new(mask, [b, 4, t, 1]), device).repeat_dim(3, pitches);
    (roll, mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    fn random_roll(b: usize, c: &CoconetConfig, t: usize, device: &Device) -> Tensor<4> {
        // One random pitch per (b, voice, step).
        let mut data = vec![0f32; b * c.instruments * t * c.pitches];
        let mut x = 12345u64;
        for cell in 0..b * c.instruments * t {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            data[cell * c.pitches + (x >> 33) as usize % c.pitches] = 1.0;
        }
        Tensor::from_data(TensorData::new(data, [b, c.instruments, t, c.pitches]), device)
    }

    #[test]
    fn shapes_and_normalised_pitch_distributions() {
        let device = Device::flex();
        let c = CoconetConfig::tiny();
        let m = c.init(&device).unwrap();
        let roll = random_roll(2, &c, 10, &device);
        let mask = Tensor::<4>::random([2, 4, 10, 1], Distribution::Bernoulli(0.5), &device).repeat_dim(3, c.pitches);
        let lp = m.log_probs(roll, mask);
        assert_eq!(lp.dims(), [2, 4, 10, 12]);
        let total = lp.exp().sum_dim(3);
        total.into_data().assert_approx_eq::<f32>(
            &Tensor::<4>::ones([2, 4, 10, 1], &device).into_data(),
            Tolerance::absolute(1e-4),
        );
    }

    #[test]
    fn masked_cells_do_not_leak() {
        // Changing a masked cell's pitch must not change any output.
        let device = Device::flex();
        let c = CoconetConfig::tiny();
        let m = c.init(&device).unwrap();
        let roll = random_roll(1, &c, 8, &device);
        let mut mask = vec![0f32; 4 * 8 * 12];
        for p in 0..12 {
            mask[(8 + 3) * 12 + p] = 1.0; // voice 1, step 3
        }
        let mask = Tensor::<4>::from_data(TensorData::new(mask, [1, 4, 8, 12]), &device);
        let other = roll.clone().slice_assign(
            [0..1, 1..2, 3..4, 0..12],
            Tensor::<4>::zeros([1, 1, 1, 12], &device)
                .slice_assign([0..1, 0..1, 0..1, 5..6], Tensor::ones([1, 1, 1, 1], &device)),
        );
        let a = m.forward(roll, mask.clone());
        let b = m.forward(other, mask);
        a.into_data()
            .assert_approx_eq::<f32>(&b.into_data(), Tolerance::absolute(1e-6));
    }

    #[test]
    fn the_output_only_sees_the_receptive_radius() {
        // The centre of a window of radius `receptive_radius` is computed
        // exactly as in the whole roll: what the exact chronological
        // likelihood relies on.
        let device = Device::flex();
        let c = CoconetConfig::tiny();
        let m = c.init(&device).unwrap();
        let t = 20;
        let roll = random_roll(1, &c, t, &device);
        let mask = Tensor::<4>::random([1, 4, t, 1], Distribution::Bernoulli(0.5), &device).repeat_dim(3, c.pitches);
        let full = m.forward(roll.clone(), mask.clone());
        let r = c.receptive_radius();
        let centre = 10;
        let window = m.forward(
            roll.slice([0..1, 0..4, centre - r..centre + r + 1, 0..12]),
            mask.slice([0..1, 0..4, centre - r..centre + r + 1, 0..12]),
        );
        window
            .slice([0..1, 0..4, r..r + 1, 0..12])
            .into_data()
            .assert_approx_eq::<f32>(
                &full.slice([0..1, 0..4, centre..centre + 1, 0..12]).into_data(),
                Tolerance::absolute(1e-5),
            );
    }

    #[test]
    fn config_errors_name_the_field() {
        let bad = CoconetConfig {
            layers: 2,
            ..CoconetConfig::tiny()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("layers"));
        let bad = CoconetConfig {
            filters: 0,
            ..CoconetConfig::tiny()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("filters"));
    }
}
