//! BachProp (Colombo, Brea & Gerstner, SMC 2019; the network of its code,
//! `src/BachProp.py`): four stacked GRUs read each note as one-hot dT, T
//! and P (`fugue-tokens`' `bachprop`), and three heads factor the next note
//! as p(dT) · p(T | dT) · p(P | dT, T):
//!
//! - GRU1 reads the note; GRU2 reads the note and GRU1's output; GRU3 the
//!   note and GRU2's; GRU4 reads GRU3's alone (128 units each);
//! - the dT head reads GRU1; the T head reads GRU1, GRU2 and the next dT;
//!   the P head reads all four GRUs, the next dT and the next T; each head
//!   is a ReLU layer as wide as its vocabulary, then a softmax layer.
//!
//! In training the next dT and T are the true ones (teacher forcing); in
//! sampling they are the ones just drawn ([`BachProp::sample`]).

use burn::module::Module;
use burn::nn::{Gru, GruConfig, Linear, LinearConfig};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::layers::fused_linear::forward as linear;
use crate::layers::recurrent;
use crate::ModelError;

/// Hyperparameters. `sizes` are the dT, T and P vocabularies, each with
/// its start/end symbol (the corpus's; `fugue train` fills them in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BachPropConfig {
    pub sizes: [usize; 3],
    /// Units of each GRU (BachProp: 128).
    pub hidden: usize,
}

impl BachPropConfig {
    /// BachProp's network for vocabularies of these sizes.
    pub fn paper(sizes: [usize; 3]) -> Self {
        Self { sizes, hidden: 128 }
    }

    /// For tests.
    pub fn tiny(sizes: [usize; 3]) -> Self {
        Self { sizes, hidden: 8 }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        if self.hidden == 0 || self.sizes.iter().any(|&s| s < 2) {
            return Err(ModelError::Config {
                field: "sizes",
                why: format!(
                    "hidden {} and vocabularies {:?} (a value and the symbol at least) must be positive",
                    self.hidden, self.sizes
                ),
            });
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Result<BachProp, ModelError> {
        self.validate()?;
        let [nd, nt, np] = self.sizes;
        let (x, h) = (nd + nt + np, self.hidden);
        let gru = |i| GruConfig::new(i, h, true).init(device);
        let lin = |i, o| LinearConfig::new(i, o).init(device);
        Ok(BachProp {
            gru1: gru(x),
            gru2: gru(x + h),
            gru3: gru(x + h),
            gru4: gru(h),
            dt_hidden: lin(h, nd),
            dt_out: lin(nd, nd),
            t_hidden: lin(2 * h + nd, nt),
            t_out: lin(nt, nt),
            p_hidden: lin(4 * h + nd + nt, np),
            p_out: lin(np, np),
            sizes: self.sizes.to_vec(),
        })
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct BachProp {
    pub gru1: Gru,
    pub gru2: Gru,
    pub gru3: Gru,
    pub gru4: Gru,
    pub dt_hidden: Linear,
    pub dt_out: Linear,
    pub t_hidden: Linear,
    pub t_out: Linear,
    pub p_hidden: Linear,
    pub p_out: Linear,
    sizes: Vec<usize>,
}

/// The four GRUs' last outputs (`[b, hidden]` each).
pub type BachPropState = [Tensor<2>; 4];

/// One-hot rows: `ids` (`b·t`) over `width` classes, `[b, t, width]`.
pub fn one_hot(ids: &[u32], b: usize, t: usize, width: usize, device: &Device) -> Tensor<3> {
    let mut data = vec![0f32; b * t * width];
    for (row, &id) in ids.iter().enumerate() {
        if (id as usize) < width {
            data[row * width + id as usize] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(data, [b, t, width]), device)
}

impl BachProp {
    /// The dT, T and P vocabulary sizes.
    pub fn sizes(&self) -> [usize; 3] {
        [self.sizes[0], self.sizes[1], self.sizes[2]]
    }

    /// The GRUs' input for notes given as their dT, T and P ids (`b·t`
    /// each): the three one-hots side by side, `[b, t, nd + nt + np]`.
    pub fn note_input(&self, ids: [&[u32]; 3], b: usize, t: usize, device: &Device) -> Tensor<3> {
        let [nd, nt, np] = self.sizes();
        Tensor::cat(
            vec![
                one_hot(ids[0], b, t, nd, device),
                one_hot(ids[1], b, t, nt, device),
                one_hot(ids[2], b, t, np, device),
            ],
            2,
        )
    }

    /// The GRUs over notes `x` (`[b, t, nd + nt + np]`, one-hot) from
    /// `state` (zeros when `None`): the four outputs `[b, t, hidden]`.
    pub fn recur(&self, x: Tensor<3>, state: Option<BachPropState>) -> [Tensor<3>; 4] {
        let [s1, s2, s3, s4] = match state {
            Some(s) => s.map(Some),
            None => [None, None, None, None],
        };
        let h1 = recurrent::gru_forward(&self.gru1, x.clone(), s1);
        let h2 = recurrent::gru_forward(&self.gru2, Tensor::cat(vec![x.clone(), h1.clone()], 2), s2);
        let h3 = recurrent::gru_forward(&self.gru3, Tensor::cat(vec![x, h2.clone()], 2), s3);
        let h4 = recurrent::gru_forward(&self.gru4, h3.clone(), s4);
        [h1, h2, h3, h4]
    }

    /// Logits of the next dT.
    pub fn dt_logits(&self, h: &[Tensor<3>; 4]) -> Tensor<3> {
        linear(&self.dt_out, relu(linear(&self.dt_hidden, h[0].clone())))
    }

    /// Logits of the next T given the next dT (`[b, t, nd]`, one-hot).
    pub fn t_logits(&self, h: &[Tensor<3>; 4], next_dt: Tensor<3>) -> Tensor<3> {
        let x = Tensor::cat(vec![h[0].clone(), h[1].clone(), next_dt], 2);
        linear(&self.t_out, relu(linear(&self.t_hidden, x)))
    }

    /// Logits of the next P given the next dT and T (one-hot).
    pub fn p_logits(&self, h: &[Tensor<3>; 4], next_dt: Tensor<3>, next_t: Tensor<3>) -> Tensor<3> {
        let x = Tensor::cat(
            vec![h[0].clone(), h[1].clone(), h[2].clone(), h[3].clone(), next_dt, next_t],
            2,
        );
        linear(&self.p_out, relu(linear(&self.p_hidden, x)))
    }

    /// Teacher-forced logits of the three heads for notes `inputs` and
    /// the true next notes `next` (ids `b·t` per component).
    pub fn forward(
        &self,
        inputs: [&[u32]; 3],
        next: [&[u32]; 2],
        b: usize,
        t: usize,
        device: &Device,
    ) -> [Tensor<3>; 3] {
        let [nd, nt, _] = self.sizes();
        let h = self.recur(self.note_input(inputs, b, t, device), None);
        let next_dt = one_hot(next[0], b, t, nd, device);
        let next_t = one_hot(next[1], b, t, nt, device);
        [
            self.dt_logits(&h),
            self.t_logits(&h, next_dt.clone()),
            self.p_logits(&h, next_dt, next_t),
        ]
    }

    /// Notes drawn one by one after `primer` (ids, starting with the
    /// start symbol): dT, then T given it, then P given both, each from its
    /// softmax at `temperature`, `uniform` giving the draws. Stops after
    /// `max_notes` or when any head draws the end symbol (not returned).
    pub fn sample(
        &self,
        primer: &[[u32; 3]],
        max_notes: usize,
        temperature: f64,
        device: &Device,
        mut uniform: impl FnMut() -> f32,
    ) -> Vec<[u32; 3]> {
        let [nd, nt, np] = self.sizes();
        let symbol = [nd as u32 - 1, nt as u32 - 1, np as u32 - 1];
        let note_x = |n: [u32; 3]| self.note_input([&[n[0]], &[n[1]], &[n[2]]], 1, 1, device);
        let mut draw = |logits: Tensor<3>| -> u32 {
            let p: Vec<f32> = softmax(logits / temperature.max(1e-3), 2)
                .into_data()
                .try_into_vec::<f32>()
                .unwrap_or_default();
            let mut u = uniform() * p.iter().sum::<f32>();
            for (i, q) in p.iter().enumerate() {
                if u < *q {
                    return i as u32;
                }
                u -= q;
            }
            p.len().saturating_sub(1) as u32
        };
        let last = |h: &Tensor<3>| {
            let [b, t, d] = h.dims();
            h.clone().slice([0..b, t - 1..t, 0..d]).reshape([b, d])
        };
        let mut state: Option<BachPropState> = None;
        let mut h: Option<[Tensor<3>; 4]> = None;
        for &n in primer {
            let out = self.recur(note_x(n), state.take());
            state = Some([last(&out[0]), last(&out[1]), last(&out[2]), last(&out[3])]);
            h = Some(out);
        }
        let mut notes = Vec::new();
        while notes.len() < max_notes {
            let Some(hs) = h.take() else { break };
            let dt = draw(self.dt_logits(&hs));
            if dt == symbol[0] {
                break;
            }
            let dt_x = one_hot(&[dt], 1, 1, nd, device);
            let t = draw(self.t_logits(&hs, dt_x.clone()));
            if t == symbol[1] {
                break;
            }
            let p = draw(self.p_logits(&hs, dt_x, one_hot(&[t], 1, 1, nt, device)));
            if p == symbol[2] {
                break;
            }
            notes.push([dt, t, p]);
            let out = self.recur(note_x([dt, t, p]), state.take());
            state = Some([last(&out[0]), last(&out[1]), last(&out[2]), last(&out[3])]);
            h = Some(out);
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tolerance;

    #[test]
    fn heads_have_their_vocabularies_and_sampling_respects_the_symbols() {
        let device = Device::flex();
        let m = BachPropConfig::tiny([4, 5, 6])
            .init(&device)
            .unwrap_or_else(|e| panic!("{e}"));
        let [dt, t, p] = m.forward(
            [&[3, 0, 1], &[4, 2, 2], &[5, 1, 0]],
            [&[0, 1, 1], &[2, 2, 0]],
            1,
            3,
            &device,
        );
        assert_eq!((dt.dims(), t.dims(), p.dims()), ([1, 3, 4], [1, 3, 5], [1, 3, 6]));
        // The state carried note by note gives the whole sequence's outputs.
        let x = |n: [u32; 3]| m.note_input([&[n[0]], &[n[1]], &[n[2]]], 1, 1, &device);
        let whole = m.recur(Tensor::cat(vec![x([3, 4, 5]), x([0, 2, 1])], 1), None);
        let first = m.recur(x([3, 4, 5]), None);
        let state = first.clone().map(|h| h.reshape([1, 8]));
        let second = m.recur(x([0, 2, 1]), Some(state));
        second[3].clone().into_data().assert_approx_eq::<f32>(
            &whole[3].clone().slice([0..1, 1..2, 0..8]).into_data(),
            Tolerance::absolute(1e-5),
        );
        let mut k = 0u32;
        let notes = m.sample(&[[3, 4, 5]], 10, 1.0, &device, || {
            k += 1;
            (k % 7) as f32 / 7.0
        });
        assert!(notes.len() <= 10);
        assert!(notes.iter().all(|n| n[0] < 3 && n[1] < 4 && n[2] < 5), "{notes:?}");
        assert!(BachPropConfig::tiny([1, 5, 6]).validate().is_err());
    }
}
