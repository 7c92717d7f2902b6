//! Decoding: the one `generate` loop that drives every autoregressive
//! model ([`fugue_models::TokenLm`]), and the sampler it draws each token
//! with (temperature, top-k, top-p, a seed).
//!
//! The loop feeds the primer through the model's incremental `step` (KV
//! cache for Transformers, recurrent state for RNNs), then samples one
//! token at a time. A `constrain` callback sees the tokens so far and may
//! mask logits (set them to `-inf`): a grammar, fixed notes, a vocabulary
//! restriction — the loop does not need to know which.

pub mod gibbs;
pub mod harmonet;
pub mod pseudo_gibbs;

use burn::tensor::{Device, Int, Tensor, TensorData};
use fugue_models::TokenLm;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Bad sampling settings.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("bad sampling setting `{field}`: {why}")]
    Config { field: &'static str, why: String },
    #[error("every token was masked at position {0}: the constraints leave nothing to sample")]
    NothingAllowed(usize),
    #[error("token id {id} is outside the model's vocabulary of {vocab}")]
    OutOfVocab { id: u32, vocab: usize },
}

/// How tokens are drawn from the logits.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingConfig {
    /// Logits are divided by it; 0 means greedy (argmax).
    pub temperature: f64,
    /// Keep only the k most likely tokens (0 = all).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches p (1 = all).
    pub top_p: f64,
    pub seed: u64,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

impl SamplingConfig {
    pub fn validate(&self) -> Result<(), SampleError> {
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return Err(SampleError::Config {
                field: "temperature",
                why: format!("{} must be ≥ 0", self.temperature),
            });
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(SampleError::Config {
                field: "top_p",
                why: format!("{} is not in (0, 1]", self.top_p),
            });
        }
        Ok(())
    }
}

/// Draws one token id from `logits` (masked entries are `-inf`).
pub fn sample_logits(logits: &[f32], config: &SamplingConfig, rng: &mut ChaCha8Rng) -> Option<usize> {
    let allowed = |i: &usize| logits[*i].is_finite() || logits[*i] == f32::INFINITY;
    if config.top_k == 0 && config.top_p >= 1.0 && config.temperature > 0.0 {
        // The whole distribution: no order needed, so no sort (a sampled
        // token cost a sort of the vocabulary, a tenth of a small model's
        // step). Ties of the maximum resolve to the lowest id, as below.
        let best = (0..logits.len())
            .filter(allowed)
            .reduce(|a, b| if logits[b] > logits[a] { b } else { a })?;
        let max = logits[best] as f64;
        let weight = |i: usize| {
            if allowed(&i) {
                ((logits[i] as f64 - max) / config.temperature).exp()
            } else {
                0.0
            }
        };
        let total: f64 = (0..logits.len()).map(weight).sum();
        let mut x: f64 = rng.random::<f64>() * total;
        let mut last = best;
        for i in (0..logits.len()).filter(allowed) {
            let w = weight(i);
            if x < w {
                return Some(i);
            }
            x -= w;
            last = i;
        }
        return Some(last);
    }
    let mut order: Vec<usize> = (0..logits.len()).filter(allowed).collect();
    if order.is_empty() {
        return None;
    }
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    if config.temperature == 0.0 {
        return Some(order[0]);
    }
    if config.top_k > 0 {
        order.truncate(config.top_k);
    }
    let max = logits[order[0]] as f64;
    let mut probs: Vec<f64> = order
        .iter()
        .map(|&i| ((logits[i] as f64 - max) / config.temperature).exp())
        .collect();
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    if config.top_p < 1.0 {
        let mut acc = 0.0;
        let keep = probs
            .iter()
            .position(|p| {
                acc += p;
                acc >= config.top_p
            })
            .map_or(probs.len(), |i| i + 1);
        order.truncate(keep);
        probs.truncate(keep);
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
    }
    let mut x: f64 = rng.random();
    for (i, p) in order.iter().zip(&probs) {
        if x < *p {
            return Some(*i);
        }
        x -= p;
    }
    order.last().copied()
}

/// Generates `steps` tokens after `primer` (which should start with the
/// model's start token), stopping early after `stop` if given. Returns
/// only the new tokens.
// Each argument is a separate concern the caller owns; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn generate<M: TokenLm>(
    model: &M,
    primer: &[u32],
    steps: usize,
    stop: Option<u32>,
    config: &SamplingConfig,
    vocab: usize,
    device: &Device,
    mut constrain: impl FnMut(&[u32], &mut [f32]),
) -> Result<Vec<u32>, SampleError> {
    config.validate()?;
    if let Some(&id) = primer.iter().find(|&&id| id as usize >= vocab) {
        return Err(SampleError::OutOfVocab { id, vocab });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut state = model.start_with_capacity(1, primer.len().saturating_add(steps), device);
    let mut tokens: Vec<u32> = primer.to_vec();
    let feed = |state: &mut M::State, id: u32| -> Vec<f32> {
        let input = Tensor::<1, Int>::from_data(TensorData::new(vec![id as i64], [1]), device);
        model
            .step(state, input)
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap_or_default()
    };
    let mut logits = Vec::new();
    for &id in primer {
        logits = feed(&mut state, id);
    }
    let mut out = Vec::with_capacity(steps);
    for position in 0..steps {
        if logits.is_empty() {
            break;
        }
        constrain(&tokens, &mut logits);
        let id = sample_logits(&logits, config, &mut rng).ok_or(SampleError::NothingAllowed(position))? as u32;
        out.push(id);
        tokens.push(id);
        if Some(id) == stop {
            break;
        }
        logits = feed(&mut state, id);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_top_k_top_p_and_masks() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let logits = [0.0f32, 3.0, 1.0, f32::NEG_INFINITY];
        let greedy = SamplingConfig {
            temperature: 0.0,
            ..Default::default()
        };
        assert_eq!(sample_logits(&logits, &greedy, &mut rng), Some(1));
        let top1 = SamplingConfig {
            top_k: 1,
            ..Default::default()
        };
        for _ in 0..20 {
            assert_eq!(sample_logits(&logits, &top1, &mut rng), Some(1));
        }
        // p(1) ≈ 0.84 < 0.9, so top-p 0.9 keeps {1, 2}; never 0 or the masked 3.
        let top_p = SamplingConfig {
            top_p: 0.9,
            ..Default::default()
        };
        for _ in 0..200 {
            let i = sample_logits(&logits, &top_p, &mut rng);
            assert!(matches!(i, Some(1) | Some(2)), "{i:?}");
        }
        assert_eq!(sample_logits(&[f32::NEG_INFINITY; 3], &top_p, &mut rng), None);
        // Plain sampling follows the softmax: p(2) = e/(1+e^3+e) ≈ 0.114.
        let plain = SamplingConfig::default();
        let n = 20_000;
        let twos = (0..n)
            .filter(|_| sample_logits(&logits, &plain, &mut rng) == Some(2))
            .count();
        assert!((twos as f64 / n as f64 - 0.1142).abs() < 0.01, "{twos}");
        // The unsorted whole-distribution path never draws a masked token.
        assert!((0..2000).all(|_| sample_logits(&logits, &plain, &mut rng) != Some(3)));
        assert_eq!(sample_logits(&[f32::NEG_INFINITY; 3], &plain, &mut rng), None);
        let cold = SamplingConfig {
            temperature: 0.05,
            ..Default::default()
        };
        assert!((0..200).all(|_| sample_logits(&logits, &cold, &mut rng) == Some(1)));
        assert!(SamplingConfig {
            top_p: 0.0,
            ..Default::default()
        }
        .validate()
        .is_err());
    }
}
