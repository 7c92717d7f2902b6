//! Causal multi-head self-attention with relative position logits (Shaw et
//! al. 2018) computed by Music Transformer's "skewing" (Huang et al. 2019).
//!
//! Why skewing: the relative term `q_i · E_{j-i}` looks like it needs an
//! `L × L × d` tensor of gathered embeddings (Shaw's formulation). Huang et
//! al. instead multiply `Q` by the `L` embeddings once (`Q Eᵀ`, `L × L`),
//! then shift row `i` left by `L-1-i` with a pad-reshape-slice, so the
//! memory of the relative part is linear in `L` beyond the logits that
//! attention needs anyway. [`skew`] is that procedure and
//! [`relative_logits_naive`] the quadratic gather it replaces; a test checks
//! they agree.
//!
//! Embeddings are per head (`[heads, max_relative, d_head]`). Row
//! `max_relative - 1` is distance 0, row `max_relative - 1 - k` distance
//! `-k`; distances further than `max_relative - 1` get a zero embedding, as
//! in tensor2tensor's `get_relative_embeddings_left`.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Device, Distribution, Tensor};

use super::fused_attention;
use super::fused_linear::forward as linear;

/// Configuration of one attention block.
#[derive(Debug, Clone)]
pub struct AttentionConfig {
    pub d_model: usize,
    pub heads: usize,
    /// Relative positions embedded (0 = plain absolute-position attention).
    pub max_relative: usize,
    /// Attend only to the previous `local_window` positions (0 = all).
    pub local_window: usize,
    pub dropout: f64,
}

/// Causal self-attention with optional relative logits.
#[derive(Module, Debug)]
pub struct RelativeAttention {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub output: Linear,
    /// `[heads, max_relative, d_head]`; absent for the absolute baseline.
    pub relative: Option<Param<Tensor<3>>>,
    pub dropout: Dropout,
    pub heads: usize,
    pub local_window: usize,
}

/// Keys and values of the positions seen so far, for sampling one token
/// at a time without recomputing the prefix.
#[derive(Debug, Clone)]
pub struct KvCache {
    /// `[batch, heads, seen, d_head]`, or `None` before the first step.
    pub keys: Option<Tensor<4>>,
    pub values: Option<Tensor<4>>,
}

impl KvCache {
    pub fn empty() -> Self {
        Self {
            keys: None,
            values: None,
        }
    }

    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.keys.as_ref().map_or(0, |k| k.dims()[2])
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AttentionConfig {
    pub fn init(&self, device: &Device) -> RelativeAttention {
        let d = self.d_model;
        let d_head = d / self.heads;
        let relative = (self.max_relative > 0).then(|| {
            Initializer::Normal {
                mean: 0.0,
                std: (d_head as f64).powf(-0.5),
            }
            .init([self.heads, self.max_relative, d_head], device)
        });
        RelativeAttention {
            query: LinearConfig::new(d, d).init(device),
            key: LinearConfig::new(d, d).init(device),
            value: LinearConfig::new(d, d).init(device),
            output: LinearConfig::new(d, d).init(device),
            relative,
            dropout: DropoutConfig::new(self.dropout).init(),
            heads: self.heads,
            local_window: self.local_window,
        }
    }
}

impl RelativeAttention {
    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, t, d] = x.dims();
        x.reshape([b, t, self.heads, d / self.heads]).swap_dims(1, 2)
    }

    fn merge_heads(x: Tensor<4>) -> Tensor<3> {
        let [b, h, t, dh] = x.dims();
        x.swap_dims(1, 2).reshape([b, t, h * dh])
    }

    /// The relative embeddings for distances `-(len-1) ..= 0`, in that
    /// order (`[heads, len, d_head]`), zero beyond `max_relative`.
    fn embeddings_for(&self, len: usize) -> Option<Tensor<3>> {
        let table = self.relative.as_ref()?.val();
        let [h, r, dh] = table.dims();
        Some(if len <= r {
            table.slice([0..h, r - len..r, 0..dh])
        } else {
            let zeros = Tensor::zeros([h, len - r, dh], &table.device());
            Tensor::cat(vec![zeros, table], 1)
        })
    }

    /// Whole-sequence attention (training and scoring): `x` is `[b, t, d]`.
    ///
    /// On the CPU this is one fused operation ([`fused_attention`], with its
    /// own backward pass); elsewhere burn's tensor operations below, which
    /// compute the same function.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [_, t, _] = x.dims();
        let q = linear(&self.query, x.clone());
        let k = linear(&self.key, x.clone());
        let v = linear(&self.value, x);
        let e = self.embeddings_for(t);
        if q.device() == Device::flex() {
            // Dropout as burn's `Dropout` applies it: in training mode, on an
            // autodiff device; the mask's seed comes from burn's generator so
            // that seeded runs stay reproducible.
            let p = if self.dropout.training.is_enabled() && q.device().is_autodiff() {
                self.dropout.prob as f32
            } else {
                0.0
            };
            let seed = if p > 0.0 { draw_seed(&q.device()) } else { 0 };
            if let Some(out) =
                fused_attention::attention(&q, &k, &v, e.as_ref(), self.heads, self.local_window, p, seed)
            {
                return linear(&self.output, out);
            }
        }
        let q = self.split_heads(q);
        let k = self.split_heads(k);
        let v = self.split_heads(v);
        let d_head = q.dims()[3];
        let q = q.mul_scalar((d_head as f64).powf(-0.5));
        let mut logits = q.clone().matmul(k.swap_dims(2, 3));
        if let Some(e) = e {
            logits = logits + skew(q.matmul(e.swap_dims(1, 2).unsqueeze_dim(0)));
        }
        let mask = causal_mask(t, self.local_window, &logits.device());
        let weights = softmax(logits.mask_fill(mask, -1e9), 3);
        let out = self.dropout.forward(weights).matmul(v);
        self.output.forward(Self::merge_heads(out))
    }

    /// One new position per sequence (`x` is `[b, 1, d]`), attending to the
    /// cache and itself; the cache grows by one.
    pub fn step(&self, x: Tensor<3>, cache: &mut KvCache) -> Tensor<3> {
        let q = self.split_heads(self.query.forward(x.clone()));
        let k_new = self.split_heads(self.key.forward(x.clone()));
        let v_new = self.split_heads(self.value.forward(x));
        let k = match cache.keys.take() {
            Some(k) => Tensor::cat(vec![k, k_new], 2),
            None => k_new,
        };
        let v = match cache.values.take() {
            Some(v) => Tensor::cat(vec![v, v_new], 2),
            None => v_new,
        };
        let [b, h, seen, dh] = k.dims();
        let q = q.mul_scalar((dh as f64).powf(-0.5));
        // Only the last `local_window` positions are visible.
        let start = if self.local_window > 0 {
            seen.saturating_sub(self.local_window)
        } else {
            0
        };
        let k_vis = k.clone().slice([0..b, 0..h, start..seen, 0..dh]);
        let v_vis = v.clone().slice([0..b, 0..h, start..seen, 0..dh]);
        let mut logits = q.clone().matmul(k_vis.swap_dims(2, 3));
        if let Some(e) = self.embeddings_for(seen) {
            // Row m of `e` is distance m-(seen-1): exactly key j = m's
            // distance from the newest query, so no skewing is needed.
            let e = e.slice([0..h, start..seen, 0..dh]);
            logits = logits + q.matmul(e.swap_dims(1, 2).unsqueeze_dim(0));
        }
        cache.keys = Some(k);
        cache.values = Some(v);
        let out = softmax(logits, 3).matmul(v_vis);
        self.output.forward(Self::merge_heads(out))
    }
}

/// 64 random bits from burn's generator (seeded with the run).
fn draw_seed(device: &Device) -> u64 {
    let draws: Vec<f32> = Tensor::<1>::random([2], Distribution::Uniform(0.0, 1.0), device)
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default();
    draws
        .iter()
        .fold(0u64, |acc, &x| (acc << 32) | u64::from((x * 4_294_967_296.0) as u32))
}

/// `mask[i][j]` is true where query `i` may not see key `j`: the future,
/// and (with a window) keys more than `window - 1` positions back.
pub fn causal_mask(t: usize, window: usize, device: &Device) -> Tensor<4, Bool> {
    // burn's tri masks are true *outside* the named triangle: `tril_mask(0)`
    // is true where j > i, `triu_mask(k)` where j - i < k.
    let future = Tensor::<2, Bool>::tril_mask([t, t], 0, device);
    let mask = if window > 0 && window < t {
        let far = Tensor::<2, Bool>::triu_mask([t, t], 1 - window as i64, device);
        future.bool_or(far)
    } else {
        future
    };
    mask.unsqueeze::<4>()
}

/// Huang et al.'s skewing: from `s[.., i, m] = q_i · E(m - (L-1))` to
/// `out[.., i, j] = q_i · E(j - i)` for `j <= i` (entries with `j > i` are
/// garbage, removed by the causal mask). Pad one zero column on the left,
/// view `[L, L+1]` as `[L+1, L]`, drop the first row.
pub fn skew(s: Tensor<4>) -> Tensor<4> {
    let [b, h, l, l2] = s.dims();
    debug_assert_eq!(l, l2);
    let zeros = Tensor::zeros([b, h, l, 1], &s.device());
    let padded = Tensor::cat(vec![zeros, s], 3);
    padded.reshape([b, h, l + 1, l]).slice([0..b, 0..h, 1..l + 1, 0..l])
}

/// Shaw et al.'s direct computation, `O(L² d)` memory: gathers `E(j - i)`
/// for every pair. Kept as the reference [`skew`] is tested against.
pub fn relative_logits_naive(q: Tensor<4>, e: Tensor<3>) -> Tensor<4> {
    let [b, h, l, dh] = q.dims();
    let device = q.device();
    let mut rows = Vec::with_capacity(l);
    for i in 0..l {
        // e row m is distance m-(L-1); pair (i, j) needs m = L-1-i+j, and
        // j > i (no such row) stays zero.
        let qi = q.clone().slice([0..b, 0..h, i..i + 1, 0..dh]);
        let m0 = l - 1 - i;
        let visible = e.clone().slice([0..h, m0..l, 0..dh]); // j = 0..=i
        let mut row = qi.matmul(visible.swap_dims(1, 2).unsqueeze_dim(0));
        if i + 1 < l {
            row = Tensor::cat(vec![row, Tensor::zeros([b, h, 1, l - 1 - i], &device)], 3);
        }
        rows.push(row);
    }
    Tensor::cat(rows, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tolerance;

    #[test]
    fn skewing_equals_the_quadratic_gather() {
        let device = Device::flex();
        for l in [1usize, 2, 5, 17] {
            let q = Tensor::<4>::random([2, 3, l, 4], Distribution::Normal(0.0, 1.0), &device);
            let e = Tensor::<3>::random([3, l, 4], Distribution::Normal(0.0, 1.0), &device);
            let skewed = skew(q.clone().matmul(e.clone().swap_dims(1, 2).unsqueeze_dim(0)));
            let naive = relative_logits_naive(q, e);
            // Compare the causal part only (j <= i).
            let keep = Tensor::<2, Bool>::tril_mask([l, l], 0, &device).unsqueeze::<4>();
            let a = skewed.mask_fill(keep.clone(), 0.0);
            let b = naive.mask_fill(keep, 0.0);
            a.into_data()
                .assert_approx_eq::<f32>(&b.into_data(), Tolerance::absolute(1e-5));
        }
    }

    #[test]
    fn cached_steps_equal_the_whole_sequence() {
        let device = Device::flex();
        for window in [0usize, 3] {
            let attn = AttentionConfig {
                d_model: 8,
                heads: 2,
                max_relative: 4,
                local_window: window,
                dropout: 0.0,
            }
            .init(&device);
            let x = Tensor::<3>::random([2, 6, 8], Distribution::Normal(0.0, 1.0), &device);
            let full = attn.forward(x.clone());
            let mut cache = KvCache::empty();
            let steps: Vec<_> = (0..6)
                .map(|t| attn.step(x.clone().slice([0..2, t..t + 1, 0..8]), &mut cache))
                .collect();
            assert_eq!(cache.len(), 6);
            Tensor::cat(steps, 1)
                .into_data()
                .assert_approx_eq::<f32>(&full.into_data(), Tolerance::absolute(1e-5));
        }
    }
}
