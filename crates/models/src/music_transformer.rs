//! Music Transformer (Huang et al., ICLR 2019, arXiv 1809.04281): a
//! decoder-only Transformer whose self-attention adds learned relative
//! position logits, computed with the memory-efficient skewing
//! ([`crate::layers::relative_attention`]).
//!
//! Layout follows the tensor2tensor setup the paper trained with: pre-norm
//! blocks (layer norm → sublayer → dropout → residual), ReLU feed-forward,
//! a sinusoidal timing signal added to the embeddings even with relative
//! attention, untied input and output embeddings, a final layer norm.
//! `relative: false` gives the paper's vanilla-Transformer baseline
//! (absolute sinusoidal positions only); `local_window > 0` restricts each
//! query to the previous `local_window` positions (the paper's local
//! attention variant, here as a band mask: memory stays quadratic).

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::layers::fused_layer_norm::forward as layer_norm;
use crate::layers::fused_linear::forward as linear;
use crate::layers::relative_attention::{AttentionConfig, KvCache, RelativeAttention};
use crate::layers::transformer_decode::{CpuDecoder, CpuSession};
use crate::{ModelError, TokenLm};

/// Hyperparameters. [`MusicTransformerConfig::paper_jsb`] and
/// [`MusicTransformerConfig::paper_maestro`] hold the paper's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MusicTransformerConfig {
    pub vocab_size: usize,
    pub d_model: usize,
    pub layers: usize,
    pub heads: usize,
    pub d_ff: usize,
    pub dropout: f64,
    /// Relative distances with their own embedding (t2t: half the
    /// training length). Ignored when `relative` is false.
    pub max_relative: usize,
    pub relative: bool,
    /// 0 = global attention.
    pub local_window: usize,
}

impl MusicTransformerConfig {
    /// The score2perf MAESTRO setting `t_rel_len2048_h384_att512_fs1024_n8_dropout20`
    /// (hidden 384, 8 layers, 8 heads, FFN 1024, dropout 0.2; relative
    /// distances up to 1024). fugue uses one width for attention and the
    /// residual stream (384), where t2t's attention used 512 channels.
    pub fn paper_maestro(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            d_model: 384,
            layers: 8,
            heads: 8,
            d_ff: 1024,
            dropout: 0.2,
            max_relative: 1024,
            relative: true,
            local_window: 0,
        }
    }

    /// A JSB setting in the paper's range for its smaller set (6 layers,
    /// hidden 256); the paper's exact JSB configuration is not published in
    /// the sources we read (see `../shared/PAPERS.md`).
    pub fn paper_jsb(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            d_model: 256,
            layers: 6,
            heads: 8,
            d_ff: 1024,
            dropout: 0.1,
            max_relative: 512,
            relative: true,
            local_window: 0,
        }
    }

    /// The embedded default model's size: small enough to train on two CPU
    /// cores in minutes and to ship in a few MB.
    pub fn small(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            d_model: 128,
            layers: 4,
            heads: 4,
            d_ff: 512,
            dropout: 0.1,
            max_relative: 256,
            relative: true,
            local_window: 0,
        }
    }

    /// For tests.
    pub fn tiny(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            d_model: 16,
            layers: 2,
            heads: 2,
            d_ff: 32,
            dropout: 0.0,
            max_relative: 8,
            relative: true,
            local_window: 0,
        }
    }

    /// Checks the combination before any tensor is allocated.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |field: &'static str, why: String| Err(ModelError::Config { field, why });
        if self.vocab_size < 2 {
            return bad("vocab_size", format!("{} is too small", self.vocab_size));
        }
        if self.d_model == 0 || self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return bad(
                "heads",
                format!(
                    "d_model {} must be a positive multiple of heads {}",
                    self.d_model, self.heads
                ),
            );
        }
        if self.layers == 0 || self.d_ff == 0 {
            return bad("layers", "layers and d_ff must be positive".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} is not in [0, 1)", self.dropout));
        }
        if self.relative && self.max_relative == 0 {
            return bad("max_relative", "relative attention needs max_relative > 0".into());
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Result<MusicTransformer, ModelError> {
        self.validate()?;
        let attention = AttentionConfig {
            d_model: self.d_model,
            heads: self.heads,
            max_relative: if self.relative { self.max_relative } else { 0 },
            local_window: self.local_window,
            dropout: self.dropout,
        };
        let blocks = (0..self.layers)
            .map(|_| Block {
                norm_attn: LayerNormConfig::new(self.d_model).init(device),
                attention: attention.init(device),
                norm_ff: LayerNormConfig::new(self.d_model).init(device),
                ff_in: LinearConfig::new(self.d_model, self.d_ff).init(device),
                ff_out: LinearConfig::new(self.d_ff, self.d_model).init(device),
                dropout: DropoutConfig::new(self.dropout).init(),
            })
            .collect();
        Ok(MusicTransformer {
            embedding: EmbeddingConfig::new(self.vocab_size, self.d_model).init(device),
            blocks,
            norm: LayerNormConfig::new(self.d_model).init(device),
            head: LinearConfig::new(self.d_model, self.vocab_size).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            d_model: self.d_model,
        })
    }
}

/// One pre-norm decoder block.
#[derive(Module, Debug)]
pub struct Block {
    pub norm_attn: LayerNorm,
    pub attention: RelativeAttention,
    pub norm_ff: LayerNorm,
    pub ff_in: Linear,
    pub ff_out: Linear,
    pub dropout: Dropout,
}

impl Block {
    fn feed_forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = burn::tensor::activation::relu(linear(&self.ff_in, layer_norm(&self.norm_ff, x.clone())));
        x + self.dropout.forward(linear(&self.ff_out, h))
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let a = self.attention.forward(layer_norm(&self.norm_attn, x.clone()));
        self.feed_forward(x + self.dropout.forward(a))
    }

    fn step(&self, x: Tensor<3>, cache: &mut KvCache) -> Tensor<3> {
        let a = self.attention.step(self.norm_attn.forward(x.clone()), cache);
        self.feed_forward(x + a)
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct MusicTransformer {
    pub embedding: Embedding,
    pub blocks: Vec<Block>,
    pub norm: LayerNorm,
    pub head: Linear,
    pub dropout: Dropout,
    pub d_model: usize,
}

/// Decoding state. On the `flex` (CPU) backend, the weights copied for
/// [`CpuDecoder`] and one cache per sequence; elsewhere, one tensor KV
/// cache per block and the next position.
#[derive(Debug)]
pub struct TransformerState {
    pub caches: Vec<KvCache>,
    pub position: usize,
    cpu: Option<CpuSession>,
}

/// The sinusoidal timing signal of "Attention Is All You Need" for
/// positions `start..start+len` (`[len, d]`).
pub fn timing_signal(start: usize, len: usize, d: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(timing_values(start, len, d), [len, d]), device)
}

/// [`timing_signal`]'s values, row-major.
pub(crate) fn timing_values(start: usize, len: usize, d: usize) -> Vec<f32> {
    let rates = timing_rates(d);
    let mut values = vec![0f32; len * d];
    for (p, row) in values.chunks_exact_mut(d.max(1)).enumerate() {
        timing_row(start + p, &rates, row);
    }
    values
}

/// The timing signal's angular rates, one per sine/cosine pair.
pub(crate) fn timing_rates(d: usize) -> Vec<f64> {
    let half = d / 2;
    (0..half)
        .map(|i| (-(10_000f64.ln()) * i as f64 / (half.max(2) - 1) as f64).exp())
        .collect()
}

/// Position `pos`'s timing signal into `row` (`d` long: sines, then
/// cosines, then a zero if `d` is odd).
pub(crate) fn timing_row(pos: usize, rates: &[f64], row: &mut [f32]) {
    let half = rates.len();
    for (i, rate) in rates.iter().enumerate() {
        row[i] = (pos as f64 * rate).sin() as f32;
        row[half + i] = (pos as f64 * rate).cos() as f32;
    }
}

impl MusicTransformer {
    fn embed(&self, ids: Tensor<2, Int>, start: usize) -> Tensor<3> {
        let [_, t] = ids.dims();
        let device = ids.device();
        let x = self.embedding.forward(ids).mul_scalar((self.d_model as f64).sqrt());
        x + timing_signal(start, t, self.d_model, &device).unsqueeze::<3>()
    }

    /// Decoding state that runs every step as tensor operations on the
    /// model's own device: what `start` gives off the CPU, kept callable so
    /// that the tests can hold [`CpuDecoder`] to it.
    pub fn start_tensor_path(&self) -> TransformerState {
        TransformerState {
            caches: vec![KvCache::empty(); self.blocks.len()],
            position: 0,
            cpu: None,
        }
    }
}

impl TokenLm for MusicTransformer {
    type State = TransformerState;

    fn logits(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let mut x = self.dropout.forward(self.embed(ids, 0));
        for block in &self.blocks {
            x = block.forward(x);
        }
        linear(&self.head, layer_norm(&self.norm, x))
    }

    fn start(&self, batch: usize, device: &Device) -> TransformerState {
        self.start_with_capacity(batch, 0, device)
    }

    fn start_with_capacity(&self, batch: usize, tokens: usize, device: &Device) -> TransformerState {
        let mut state = self.start_tensor_path();
        if *device == Device::flex() {
            state.cpu = Some(CpuSession::new(CpuDecoder::new(self), batch, tokens));
        }
        state
    }

    fn step(&self, state: &mut TransformerState, ids: Tensor<1, Int>) -> Tensor<2> {
        if let Some(session) = &mut state.cpu {
            let device = ids.device();
            let ids = ids
                .into_data()
                .convert::<i64>()
                .try_into_vec::<i64>()
                .unwrap_or_default();
            assert_eq!(ids.len(), session.batch(), "one token per sequence started");
            let vocab = session.vocab();
            let mut logits = Vec::with_capacity(ids.len() * vocab);
            for (seq, &id) in ids.iter().enumerate() {
                let id = usize::try_from(id).ok().filter(|&i| i < vocab);
                let id = id.unwrap_or_else(|| panic!("token id outside the vocabulary of {vocab}"));
                logits.extend(session.step(seq, id));
            }
            state.position += 1;
            return Tensor::from_data(TensorData::new(logits, [ids.len(), vocab]), &device);
        }
        let mut x = self.embed(ids.unsqueeze_dim(1), state.position);
        for (block, cache) in self.blocks.iter().zip(state.caches.iter_mut()) {
            x = block.step(x, cache);
        }
        state.position += 1;
        let logits = self.head.forward(self.norm.forward(x));
        let [b, _, v] = logits.dims();
        logits.reshape([b, v])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_with_the_cache_equals_the_whole_sequence() {
        let device = Device::flex();
        for relative in [true, false] {
            let config = MusicTransformerConfig {
                relative,
                ..MusicTransformerConfig::tiny(11)
            };
            let model = config.init(&device).unwrap_or_else(|e| panic!("{e}"));
            crate::assert_stepping_matches(&model, vec![1, 4, 2, 9, 3, 3, 7, 0, 5, 10], [2, 5], 1e-4);
        }
    }

    /// The CPU decoder against the tensor path, step by step: relative and
    /// absolute, a local window, and sequences longer than the relative
    /// table (whose far keys get no relative term).
    #[test]
    fn the_cpu_decoder_equals_the_tensor_path() {
        use burn::tensor::Tolerance;
        let device = Device::flex();
        for (relative, local_window, max_relative) in [(true, 0, 4), (false, 0, 8), (true, 3, 8)] {
            device.seed(7);
            let config = MusicTransformerConfig {
                relative,
                local_window,
                max_relative,
                ..MusicTransformerConfig::tiny(11)
            };
            let model = config.init(&device).unwrap_or_else(|e| panic!("{e}"));
            let mut cpu = model.start(2, &device);
            assert!(cpu.cpu.is_some(), "flex decodes on the CPU path");
            let mut tensor = model.start_tensor_path();
            for t in 0..9i64 {
                let ids = Tensor::<1, Int>::from_data(TensorData::new(vec![t % 11, (3 * t + 2) % 11], [2]), &device);
                let a = model.step(&mut cpu, ids.clone());
                let b = model.step(&mut tensor, ids);
                a.into_data()
                    .assert_approx_eq::<f32>(&b.into_data(), Tolerance::absolute(1e-4));
            }
        }
    }

    #[test]
    fn bad_configs_name_the_field() {
        let config = MusicTransformerConfig {
            heads: 3,
            ..MusicTransformerConfig::tiny(11)
        };
        match config.validate() {
            Err(ModelError::Config { field, .. }) => assert_eq!(field, "heads"),
            other => panic!("expected a config error, got {other:?}"),
        }
    }
}
