//! DeepBach (Hadjeres, Pachet & Nielsen, "DeepBach: a Steerable Model for
//! Bach Chorales Generation", ICML 2017): one network per voice that
//! predicts the voice's token at a tick from everything around it — the
//! ticks before, the ticks after, and the other voices at the tick itself.
//! Such conditionals are what pseudo-Gibbs sampling (`fugue-sample`)
//! needs to rewrite any cell of a chorale while keeping the others.
//!
//! Input: a window of `2·context + 1` ticks; per tick, every voice's token
//! (one shared vocabulary: `START`, `END`, `__`, `rest`, pitches — see
//! `fugue-tokens`' `deepbach`) and the metadata indices (fermata, tick in
//! the beat, key). The network of voice `i`, as in the reference code:
//! - each voice's tokens through its own embedding, each metadata through
//!   its own, concatenated per tick;
//! - the left context (ticks `t−context..t−1`, in time order) through a
//!   stacked LSTM, the right context (ticks `t+context..t+1`, in reverse
//!   order) through another; the last output of each;
//! - the centre tick without voice `i` (the three other voices and the
//!   metadata) through Linear–ReLU–Linear;
//! - the three concatenated through Linear–ReLU–Linear to logits over the
//!   vocabulary.
//!
//! Voice `i`'s own centre token is never read: that is what lets the same
//! network score a cell given all the others.
//!
//! Each LSTM layer is an input projection of every tick at once (`input`,
//! with the bias) and a recurrent projection (`hidden`), run by the shared
//! fused recurrence of [`crate::layers::recurrent`] (standard LSTM, gates
//! i, f, g, o). Dropout sits between LSTM layers (as the reference's
//! `nn.LSTM(dropout=…)`) and before each MLP.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::layers::fused_linear::forward as linear;
use crate::layers::recurrent::lstm_layer;
use crate::ModelError;

/// The voices DeepBach models (soprano, alto, tenor, bass).
pub const VOICES: usize = 4;

/// Where the token roles sit in the shared vocabulary: the training task
/// needs it to pad and to transpose, the sampler to mask; the network
/// itself only sees ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLayout {
    pub start: u32,
    pub end: u32,
    pub hold: u32,
    pub rest: u32,
    /// The id of MIDI pitch 0; pitches 0..=127 follow contiguously.
    pub pitch_base: u32,
}

impl TokenLayout {
    /// fugue's DeepBach vocabulary (`START`, `END`, `__`, `rest`, `0`..`127`).
    pub const FUGUE: TokenLayout = TokenLayout {
        start: 0,
        end: 1,
        hold: 2,
        rest: 3,
        pitch_base: 4,
    };

    /// The MIDI pitch of `id`, if it is a pitch token.
    pub fn pitch(&self, id: u32) -> Option<u8> {
        id.checked_sub(self.pitch_base).filter(|&p| p <= 127).map(|p| p as u8)
    }

    pub fn pitch_id(&self, pitch: u8) -> u32 {
        self.pitch_base + u32::from(pitch.min(127))
    }

    /// Ids in all (`pitch_base + 128`).
    pub fn size(&self) -> usize {
        self.pitch_base as usize + 128
    }
}

/// Hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeepBachConfig {
    /// Tokens of the shared vocabulary (132 for fugue's DeepBach encoding).
    pub vocab_size: usize,
    /// Values of each metadata stream, in the order the inputs give them
    /// (fugue: fermata 2, tick in beat 4, key 16).
    pub metadata_sizes: Vec<usize>,
    /// Width of each voice's token embedding.
    pub note_embedding: usize,
    /// Width of each metadata embedding.
    pub metadata_embedding: usize,
    /// LSTM width, per side.
    pub lstm_hidden: usize,
    /// Stacked LSTM layers, per side.
    pub lstm_layers: usize,
    /// Hidden width of the centre MLP (its output is `lstm_hidden` wide).
    pub centre_hidden: usize,
    /// Hidden width of the output MLP.
    pub output_hidden: usize,
    pub dropout: f64,
    /// Ticks of context on each side of the predicted tick.
    pub context: usize,
}

impl DeepBachConfig {
    /// The reference code's sizes (`deepBach.py`): embeddings 20, two LSTM
    /// layers of 256 per side, dropout 0.5, MLPs of 256, 16 ticks (4
    /// beats of 16ths) per side (8.8 M weights over the four networks).
    pub fn paper() -> Self {
        Self {
            vocab_size: 132,
            metadata_sizes: vec![2, 4, 16],
            note_embedding: 20,
            metadata_embedding: 20,
            lstm_hidden: 256,
            lstm_layers: 2,
            centre_hidden: 256,
            output_hidden: 256,
            dropout: 0.5,
            context: 16,
        }
    }

    /// A CPU-sized model: the reference's structure (two LSTM layers per
    /// side) at half its width (128), embeddings 16 and 8, lighter dropout
    /// (it trains for a fraction of the reference's epochs), the same
    /// 16-tick context (2.3 M weights).
    pub fn small() -> Self {
        Self {
            note_embedding: 16,
            metadata_embedding: 8,
            lstm_hidden: 128,
            lstm_layers: 2,
            centre_hidden: 128,
            output_hidden: 128,
            dropout: 0.2,
            ..Self::paper()
        }
    }

    /// For tests: a handful of weights, 4 ticks of context.
    pub fn tiny() -> Self {
        Self {
            note_embedding: 4,
            metadata_embedding: 3,
            lstm_hidden: 8,
            lstm_layers: 2,
            centre_hidden: 8,
            output_hidden: 8,
            dropout: 0.0,
            context: 4,
            ..Self::paper()
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |field: &'static str, why: String| Err(ModelError::Config { field, why });
        if self.vocab_size < 2 {
            return bad("vocab_size", format!("{} is too small", self.vocab_size));
        }
        for (field, v) in [
            ("note_embedding", self.note_embedding),
            ("metadata_embedding", self.metadata_embedding),
            ("lstm_hidden", self.lstm_hidden),
            ("lstm_layers", self.lstm_layers),
            ("centre_hidden", self.centre_hidden),
            ("output_hidden", self.output_hidden),
            ("context", self.context),
        ] {
            if v == 0 {
                return bad(field, "must be positive".into());
            }
        }
        if let Some(i) = self.metadata_sizes.iter().position(|&n| n == 0) {
            return bad("metadata_sizes", format!("stream {i} has no values"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} is not in [0, 1)", self.dropout));
        }
        Ok(())
    }

    /// Ticks of one input window.
    pub fn window(&self) -> usize {
        2 * self.context + 1
    }

    pub fn init(&self, device: &Device) -> Result<DeepBach, ModelError> {
        self.validate()?;
        let per_tick = VOICES * self.note_embedding + self.metadata_sizes.len() * self.metadata_embedding;
        let centre_in = (VOICES - 1) * self.note_embedding + self.metadata_sizes.len() * self.metadata_embedding;
        let stack = || {
            (0..self.lstm_layers)
                .map(|l| {
                    let d_in = if l == 0 { per_tick } else { self.lstm_hidden };
                    LstmLayer {
                        input: LinearConfig::new(d_in, 4 * self.lstm_hidden).init(device),
                        hidden: LinearConfig::new(self.lstm_hidden, 4 * self.lstm_hidden)
                            .with_bias(false)
                            .init(device),
                        width: self.lstm_hidden,
                    }
                })
                .collect()
        };
        let voices = (0..VOICES)
            .map(|_| VoiceNet {
                notes: (0..VOICES)
                    .map(|_| EmbeddingConfig::new(self.vocab_size, self.note_embedding).init(device))
                    .collect(),
                metadata: self
                    .metadata_sizes
                    .iter()
                    .map(|&n| EmbeddingConfig::new(n, self.metadata_embedding).init(device))
                    .collect(),
                left: stack(),
                right: stack(),
                centre_hidden: LinearConfig::new(centre_in, self.centre_hidden).init(device),
                centre_out: LinearConfig::new(self.centre_hidden, self.lstm_hidden).init(device),
                output_hidden: LinearConfig::new(3 * self.lstm_hidden, self.output_hidden).init(device),
                output: LinearConfig::new(self.output_hidden, self.vocab_size).init(device),
                dropout: DropoutConfig::new(self.dropout).init(),
            })
            .collect();
        Ok(DeepBach {
            voices,
            context: self.context,
            vocab_size: self.vocab_size,
            metadata_streams: self.metadata_sizes.len(),
        })
    }
}

/// One LSTM layer: `input` projects every tick at once to the four gates,
/// `hidden` projects the previous output at each tick.
#[derive(Module, Debug)]
pub struct LstmLayer {
    pub input: Linear,
    pub hidden: Linear,
    pub width: usize,
}

impl LstmLayer {
    /// Outputs `[b, t, width]` for `x` `[b, t, d]`, from a zero state, by
    /// the shared fused layer ([`crate::layers::recurrent`]).
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, _, _] = x.dims();
        let device = x.device();
        let g = 4 * self.width;
        let bias = match &self.input.bias {
            Some(bias) => bias.val(),
            None => Tensor::zeros([g], &device),
        };
        let zeros = || Tensor::<2>::zeros([b, self.width], &device);
        let (h, _) = lstm_layer(
            x,
            self.input.weight.val(),
            bias,
            self.hidden.weight.val(),
            zeros(),
            zeros(),
        );
        h
    }
}

/// The network of one voice.
#[derive(Module, Debug)]
pub struct VoiceNet {
    /// One token embedding per voice (S, A, T, B).
    pub notes: Vec<Embedding>,
    /// One embedding per metadata stream.
    pub metadata: Vec<Embedding>,
    pub left: Vec<LstmLayer>,
    pub right: Vec<LstmLayer>,
    pub centre_hidden: Linear,
    pub centre_out: Linear,
    pub output_hidden: Linear,
    pub output: Linear,
    pub dropout: Dropout,
}

impl VoiceNet {
    /// Runs a stack and keeps its last output `[b, width]`.
    fn summarise(&self, layers: &[LstmLayer], mut x: Tensor<3>) -> Tensor<2> {
        for (l, layer) in layers.iter().enumerate() {
            if l > 0 {
                x = self.dropout.forward(x);
            }
            x = layer.forward(x);
        }
        let [b, t, h] = x.dims();
        x.narrow(1, t - 1, 1).reshape([b, h])
    }

    /// Logits `[b, vocab]` of voice `voice` at the window's centre tick.
    fn forward(&self, voice: usize, notes: Tensor<3, Int>, meta: Tensor<3, Int>, context: usize) -> Tensor<2> {
        let [b, t, _] = notes.dims();
        let column = |x: &Tensor<3, Int>, j: usize| x.clone().narrow(2, j, 1).reshape([b, t]);
        let voices: Vec<Tensor<3>> = self
            .notes
            .iter()
            .enumerate()
            .map(|(j, e)| e.forward(column(&notes, j)))
            .collect();
        let metas: Vec<Tensor<3>> = self
            .metadata
            .iter()
            .enumerate()
            .map(|(j, e)| e.forward(column(&meta, j)))
            .collect();
        let every: Vec<Tensor<3>> = voices.iter().chain(&metas).cloned().collect();
        let ticks = Tensor::cat(every, 2);
        let left = self.summarise(&self.left, ticks.clone().narrow(1, 0, context));
        let right = self.summarise(&self.right, ticks.narrow(1, context + 1, context).flip([1]));
        let centre_parts: Vec<Tensor<3>> = voices
            .into_iter()
            .enumerate()
            .filter(|&(j, _)| j != voice)
            .map(|(_, x)| x)
            .chain(metas)
            .map(|x| x.narrow(1, context, 1))
            .collect();
        let centre = Tensor::cat(centre_parts, 2);
        let [_, _, d] = centre.dims();
        let centre = self.dropout.forward(centre.reshape([b, d]));
        let centre = linear(&self.centre_out, relu(linear(&self.centre_hidden, centre)));
        let joint = self.dropout.forward(Tensor::cat(vec![left, centre, right], 1));
        linear(&self.output, relu(linear(&self.output_hidden, joint)))
    }
}

/// The four voice networks.
#[derive(Module, Debug)]
pub struct DeepBach {
    pub voices: Vec<VoiceNet>,
    pub context: usize,
    pub vocab_size: usize,
    pub metadata_streams: usize,
}

impl DeepBach {
    /// Ticks of one input window (`2·context + 1`).
    pub fn window(&self) -> usize {
        2 * self.context + 1
    }

    /// Logits `[b, vocab]` of voice `voice` at the centre of windows of
    /// tokens `notes` `[b, window, 4]` and metadata `meta` `[b, window,
    /// streams]`. The centre token of `voice` is not read.
    pub fn forward_voice(&self, voice: usize, notes: Tensor<3, Int>, meta: Tensor<3, Int>) -> Tensor<2> {
        self.voices[voice.min(VOICES - 1)].forward(voice, notes, meta, self.context)
    }

    /// Logits `[b, 4, vocab]` of every voice at the centre of the windows.
    pub fn forward(&self, notes: Tensor<3, Int>, meta: Tensor<3, Int>) -> Tensor<3> {
        let per_voice = (0..VOICES)
            .map(|v| self.forward_voice(v, notes.clone(), meta.clone()))
            .collect();
        Tensor::stack(per_voice, 1)
    }

    /// [`Self::forward`] normalised over the vocabulary.
    pub fn log_probs(&self, notes: Tensor<3, Int>, meta: Tensor<3, Int>) -> Tensor<3> {
        log_softmax(self.forward(notes, meta), 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{TensorData, Tolerance};

    /// Deterministic windows: tokens in `4..vocab`, metadata in range.
    fn windows(c: &DeepBachConfig, b: usize, salt: u64) -> (Vec<i64>, Vec<i64>) {
        let w = c.window();
        let mut x = 0x9E37_79B9u64 ^ salt;
        let mut next = |n: usize| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 33) % n as u64) as i64
        };
        let notes = (0..b * w * VOICES).map(|_| next(c.vocab_size)).collect();
        let meta = (0..b * w)
            .flat_map(|_| c.metadata_sizes.clone())
            .map(&mut next)
            .collect::<Vec<_>>();
        (notes, meta)
    }

    fn tensors(
        c: &DeepBachConfig,
        b: usize,
        notes: Vec<i64>,
        meta: Vec<i64>,
        device: &Device,
    ) -> (Tensor<3, Int>, Tensor<3, Int>) {
        let w = c.window();
        (
            Tensor::from_data(TensorData::new(notes, [b, w, VOICES]), device),
            Tensor::from_data(TensorData::new(meta, [b, w, c.metadata_sizes.len()]), device),
        )
    }

    #[test]
    fn shapes_and_normalised_distributions() {
        let device = Device::flex();
        let c = DeepBachConfig::tiny();
        let m = c.init(&device).unwrap_or_else(|e| panic!("{e}"));
        let (notes, meta) = windows(&c, 3, 1);
        let (notes, meta) = tensors(&c, 3, notes, meta, &device);
        let lp = m.log_probs(notes, meta);
        assert_eq!(lp.dims(), [3, 4, 132]);
        lp.exp().sum_dim(2).into_data().assert_approx_eq::<f32>(
            &Tensor::<3>::ones([3, 4, 1], &device).into_data(),
            Tolerance::absolute(1e-4),
        );
    }

    #[test]
    fn presets_have_the_documented_sizes() {
        let device = Device::flex();
        let count = |c: DeepBachConfig| c.init(&device).unwrap_or_else(|e| panic!("{e}")).num_params();
        assert_eq!(count(DeepBachConfig::paper()), 8_808_944);
        assert_eq!(count(DeepBachConfig::small()), 2_344_656);
    }

    #[test]
    fn a_voice_never_reads_its_own_centre_token() {
        let device = Device::flex();
        let c = DeepBachConfig::tiny();
        let m = c.init(&device).unwrap_or_else(|e| panic!("{e}"));
        let (notes, meta) = windows(&c, 2, 2);
        let centre = c.context;
        for v in 0..VOICES {
            let mut changed = notes.clone();
            for r in 0..2 {
                let at = (r * c.window() + centre) * VOICES + v;
                changed[at] = (changed[at] + 17) % c.vocab_size as i64;
            }
            let (a_notes, a_meta) = tensors(&c, 2, notes.clone(), meta.clone(), &device);
            let (b_notes, b_meta) = tensors(&c, 2, changed, meta.clone(), &device);
            let a = m.forward(a_notes, a_meta);
            let b = m.forward(b_notes, b_meta);
            // Voice v's own output is unchanged...
            a.clone()
                .narrow(1, v, 1)
                .into_data()
                .assert_approx_eq::<f32>(&b.clone().narrow(1, v, 1).into_data(), Tolerance::absolute(1e-6));
            // ...while the other voices do read it (the test can fail).
            let other = (v + 1) % VOICES;
            let diff = (a.narrow(1, other, 1) - b.narrow(1, other, 1))
                .abs()
                .sum()
                .into_scalar::<f32>();
            assert!(diff > 1e-6, "voice {other} ignores voice {v} at the centre");
        }
    }

    #[test]
    fn context_order_matters_on_both_sides() {
        // The right context runs in reverse: changing the tick next to the
        // centre on either side changes the prediction.
        let device = Device::flex();
        let c = DeepBachConfig::tiny();
        let m = c.init(&device).unwrap_or_else(|e| panic!("{e}"));
        let (notes, meta) = windows(&c, 1, 3);
        let base = {
            let (n, me) = tensors(&c, 1, notes.clone(), meta.clone(), &device);
            m.forward_voice(0, n, me)
        };
        for tick in [c.context - 1, c.context + 1] {
            let mut changed = notes.clone();
            changed[tick * VOICES] = (changed[tick * VOICES] + 5) % c.vocab_size as i64;
            let (n, me) = tensors(&c, 1, changed, meta.clone(), &device);
            let diff = (m.forward_voice(0, n, me) - base.clone())
                .abs()
                .sum()
                .into_scalar::<f32>();
            assert!(diff > 1e-6, "tick {tick} is not read");
        }
    }

    #[test]
    fn the_fused_lstm_layer_is_the_standard_lstm() {
        // The same layer, one tick at a time in plain tensor operations:
        // gates i, f, g, o of `input(x) + hidden(h)`.
        use burn::tensor::activation::{sigmoid, tanh};
        let device = Device::flex();
        let c = DeepBachConfig::tiny();
        let m = c.init(&device).unwrap_or_else(|e| panic!("{e}"));
        let layer = &m.voices[1].left[0];
        let [b, t, d] = [2, 5, layer.input.weight.dims()[0]];
        let x = Tensor::<3>::random([b, t, d], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let w = layer.width;
        let (mut h, mut cell) = (Tensor::<2>::zeros([b, w], &device), Tensor::<2>::zeros([b, w], &device));
        let mut outs = Vec::new();
        for s in 0..t {
            let g = layer.input.forward(x.clone().narrow(1, s, 1).reshape([b, d])) + layer.hidden.forward(h);
            let gate = |k: usize| g.clone().narrow(1, k * w, w);
            cell = sigmoid(gate(1)) * cell + sigmoid(gate(0)) * tanh(gate(2));
            h = sigmoid(gate(3)) * tanh(cell.clone());
            outs.push(h.clone());
        }
        layer
            .forward(x)
            .into_data()
            .assert_approx_eq::<f32>(&Tensor::stack::<3>(outs, 1).into_data(), Tolerance::absolute(1e-5));
    }

    #[test]
    fn config_errors_name_the_field() {
        for (config, field) in [
            (
                DeepBachConfig {
                    context: 0,
                    ..DeepBachConfig::tiny()
                },
                "context",
            ),
            (
                DeepBachConfig {
                    dropout: 1.0,
                    ..DeepBachConfig::tiny()
                },
                "dropout",
            ),
            (
                DeepBachConfig {
                    metadata_sizes: vec![2, 0],
                    ..DeepBachConfig::tiny()
                },
                "metadata_sizes",
            ),
        ] {
            let e = config.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
        let json = serde_json::to_string(&DeepBachConfig::paper()).unwrap_or_default();
        assert!(serde_json::from_str::<DeepBachConfig>(&json.replace("\"context\"", "\"contxt\"")).is_err());
    }
}
