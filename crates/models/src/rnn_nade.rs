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
//!
//! [`RnnRbm`], the paper's other model, lives here too: the same kind of
//! recurrence, but the conditional distribution of a frame is an RBM, whose
//! likelihood is intractable. It trains by contrastive divergence and is
//! scored with annealed importance sampling (`fugue-train`'s `ais`).

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig, Lstm, LstmConfig, LstmState};
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Bool, Device, Distribution, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::layers::frames::{bernoulli_nll, shifted_right};
use crate::layers::fused_linear::forward as linear;
use crate::layers::fused_nade;
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
        // Frame t is predicted from frames < t.
        let mut x = shifted_right(frames);
        for lstm in &self.lstms {
            // The fused layer of `layers::recurrent`: the same function as
            // `Lstm::forward`, several times faster to train on a CPU.
            x = self.dropout.forward(recurrent::lstm_forward(lstm, x, None).0);
        }
        self.split_biases(linear(&self.biases, x))
    }

    fn split_biases(&self, out: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let [b, t, _] = out.dims();
        let h = self.nade_hidden;
        (
            out.clone().slice([0..b, 0..t, 0..h]),
            out.slice([0..b, 0..t, h..h + self.pitches]),
        )
    }

    /// Negative log-likelihood in nats of each frame (`[b, t]`), exact. On
    /// `flex` the NADE part is one fused operation with its own backward
    /// pass ([`fused_nade`], ~6× faster to train); elsewhere burn's
    /// operations compute the same value (`nade_nll`).
    pub fn frame_nll(&self, frames: Tensor<3>) -> Tensor<2> {
        let [b, t, p] = frames.dims();
        let (b_enc, b_dec) = self.conditional_biases(frames.clone());
        let n = b * t;
        let v = frames.reshape([n, p]);
        let b_enc = b_enc.reshape([n, self.nade_hidden]);
        let b_dec = b_dec.reshape([n, p]);
        let nll = fused_nade::frame_nll(
            v.clone(),
            b_enc.clone(),
            b_dec.clone(),
            self.w_enc.val(),
            self.w_dec.val(),
        )
        .unwrap_or_else(|| self.nade_nll(v, b_enc, b_dec));
        nll.reshape([b, t])
    }

    /// The NADE's NLL of each frame of `v` `[n, p]` given its biases, through
    /// burn's operations: what [`fused_nade::frame_nll`] computes on `flex`,
    /// kept for other backends and as the tests' reference.
    fn nade_nll(&self, v: Tensor<2>, b_enc: Tensor<2>, b_dec: Tensor<2>) -> Tensor<1> {
        let [n, p] = v.dims();
        let device = v.device();
        // a_i = b_enc + Σ_{k<i} v_k W_k: mask each frame with a strictly
        // lower-triangular matrix, one matmul for all pitches at once.
        // burn's `tril_mask(-1)` is true where k >= i; its negation keeps k < i.
        let lower: Tensor<2> = Tensor::<2, Bool>::tril_mask([p, p], -1, &device).bool_not().float();
        let masked = v.clone().unsqueeze_dim::<3>(1) * lower.unsqueeze::<3>();
        let a = masked.matmul(self.w_enc.val().unsqueeze::<3>()) + b_enc.reshape([n, 1, self.nade_hidden]);
        let hidden = sigmoid(a);
        let logits = (hidden * self.w_dec.val().unsqueeze::<3>()).sum_dim(2).reshape([n, p]) + b_dec;
        bernoulli_nll(v, logits).sum_dim(1).reshape([n])
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

// ---------------------------------------------------------------------------
// RNN-RBM
// ---------------------------------------------------------------------------

/// RNN-RBM hyperparameters (Boulanger-Lewandowski's deeplearning.net
/// tutorial; the paper's per-dataset sizes are not in the sources we read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RnnRbmConfig {
    /// Visible units: pitches per frame (88 for MIDI 21..=108).
    pub pitches: usize,
    /// Binary hidden units of each frame's RBM (tutorial: 150).
    pub hidden: usize,
    /// Units of the tanh RNN (tutorial: 100).
    pub recurrent: usize,
    /// Gibbs steps of contrastive divergence, CD-k (tutorial: 15).
    pub cd_steps: usize,
    /// Gibbs steps per generated frame, started from zeros (tutorial: 25).
    pub generate_gibbs_steps: usize,
    /// Annealed-importance-sampling chains per frame when scoring.
    pub ais_chains: usize,
    /// Intermediate distributions of AIS (a linear β schedule 0 → 1).
    pub ais_betas: usize,
}

impl RnnRbmConfig {
    /// The tutorial's sizes. AIS at 50 chains × 500 β steps: about 2.5 µs
    /// a chain-step on a busy CPU core, so the JSB test split (4,725 frames)
    /// scores in about five minutes on two shared cores.
    pub fn tutorial(pitches: usize) -> Self {
        Self {
            pitches,
            hidden: 150,
            recurrent: 100,
            cd_steps: 15,
            generate_gibbs_steps: 25,
            ais_chains: 50,
            ais_betas: 500,
        }
    }

    pub fn tiny(pitches: usize) -> Self {
        Self {
            pitches,
            hidden: 8,
            recurrent: 6,
            cd_steps: 3,
            generate_gibbs_steps: 5,
            ais_chains: 16,
            ais_betas: 50,
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let positive = [
            ("pitches", self.pitches),
            ("hidden", self.hidden),
            ("recurrent", self.recurrent),
            ("cd_steps", self.cd_steps),
            ("generate_gibbs_steps", self.generate_gibbs_steps),
            ("ais_chains", self.ais_chains),
            ("ais_betas", self.ais_betas),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(ModelError::Config {
                    field,
                    why: "must be positive".into(),
                });
            }
        }
        Ok(())
    }

    /// The tutorial's initialisation: W ~ N(0, 0.01²), the four recurrent
    /// matrices ~ N(0, 0.0001²), biases 0.
    pub fn init(&self, device: &Device) -> Result<RnnRbm, ModelError> {
        self.validate()?;
        let (p, h, r) = (self.pitches, self.hidden, self.recurrent);
        let w = Initializer::Normal { mean: 0.0, std: 0.01 };
        let small = Initializer::Normal { mean: 0.0, std: 1e-4 };
        Ok(RnnRbm {
            w: w.init([p, h], device),
            bv: Initializer::Zeros.init([p], device),
            bh: Initializer::Zeros.init([h], device),
            wuv: small.init([r, p], device),
            wuh: small.init([r, h], device),
            wvu: small.init([p, r], device),
            wuu: small.init([r, r], device),
            bu: Initializer::Zeros.init([r], device),
            pitches: p,
            hidden: h,
            recurrent: r,
            cd_steps: self.cd_steps,
            generate_gibbs_steps: self.generate_gibbs_steps,
            ais_chains: self.ais_chains,
            ais_betas: self.ais_betas,
        })
    }
}

/// The RNN-RBM: at frame t an RBM over v_t with weights `w` shared over
/// time and biases bv_t = bv + u_{t−1}·Wuv, bh_t = bh + u_{t−1}·Wuh, where
/// u_t = tanh(bu + v_t·Wvu + u_{t−1}·Wuu), u_0 = 0. Matrices are stored
/// input-major (`w` is `[pitches, hidden]`), so every product is `x · M`.
#[derive(Module, Debug)]
pub struct RnnRbm {
    pub w: Param<Tensor<2>>,
    pub bv: Param<Tensor<1>>,
    pub bh: Param<Tensor<1>>,
    pub wuv: Param<Tensor<2>>,
    pub wuh: Param<Tensor<2>>,
    pub wvu: Param<Tensor<2>>,
    pub wuu: Param<Tensor<2>>,
    pub bu: Param<Tensor<1>>,
    pub pitches: usize,
    pub hidden: usize,
    pub recurrent: usize,
    pub cd_steps: usize,
    pub generate_gibbs_steps: usize,
    pub ais_chains: usize,
    pub ais_betas: usize,
}

/// One frame's RBM as plain numbers, for scoring and sampling off the
/// autodiff graph: `w` is `[pitches × hidden]` row-major, and `bv`/`bh`
/// hold one bias vector per frame, frames in row-major `[b, t]` order.
#[derive(Debug, Clone)]
pub struct RbmFrames {
    pub pitches: usize,
    pub hidden: usize,
    pub w: Vec<f32>,
    pub bv: Vec<f32>,
    pub bh: Vec<f32>,
}

/// RBM free energy F(v) = −bv·v − Σ_j softplus(bh_j + (v·W)_j), per row:
/// `v`, `bv` are `[n, p]`, `bh` is `[n, h]`, `w` is `[p, h]`; returns `[n]`.
/// p(v) = exp(−F(v)) / Z.
pub fn free_energy(v: Tensor<2>, w: Tensor<2>, bv: Tensor<2>, bh: Tensor<2>) -> Tensor<1> {
    let [n, _] = v.dims();
    let visible = (v.clone() * bv).sum_dim(1);
    let hidden = softplus(v.matmul(w) + bh, 1.0).sum_dim(1);
    (visible + hidden).neg().reshape([n])
}

/// 0/1 samples of Bernoulli(sigmoid(logits)) from the device's RNG.
fn bernoulli(logits: Tensor<2>) -> Tensor<2> {
    let uniform = Tensor::random(logits.dims(), Distribution::Default, &logits.device());
    uniform.lower(sigmoid(logits)).float()
}

impl RnnRbm {
    /// The RBM biases of every frame of `frames` (`[b, t, pitches]`, 0/1),
    /// each from the RNN state after the frames before it (teacher forcing):
    /// `([b·t, pitches], [b·t, hidden])`, rows in `[b, t]` order.
    pub fn conditional_biases(&self, frames: Tensor<3>) -> (Tensor<2>, Tensor<2>) {
        let [b, t, p] = frames.dims();
        let r = self.recurrent;
        let device = frames.device();
        // The input half of every step's pre-activation in one product.
        let input =
            (frames.reshape([b * t, p]).matmul(self.wvu.val()) + self.bu.val().unsqueeze::<2>()).reshape([b, t, r]);
        let wuu = self.wuu.val();
        let mut u = Tensor::<2>::zeros([b, r], &device);
        let mut before = Vec::with_capacity(t);
        for step in 0..t {
            before.push(u.clone().unsqueeze_dim::<3>(1));
            if step + 1 < t {
                let x = input.clone().slice([0..b, step..step + 1, 0..r]).reshape([b, r]);
                u = (x + u.matmul(wuu.clone())).tanh();
            }
        }
        let states = Tensor::cat(before, 1).reshape([b * t, r]);
        let bv = states.clone().matmul(self.wuv.val()) + self.bv.val().unsqueeze::<2>();
        let bh = states.matmul(self.wuh.val()) + self.bh.val().unsqueeze::<2>();
        (bv, bh)
    }

    /// `steps` rounds of block Gibbs sampling (h | v, then v | h) from `v`,
    /// on constants: nothing here is differentiated.
    fn gibbs(&self, mut v: Tensor<2>, bv: Tensor<2>, bh: Tensor<2>, steps: usize) -> Tensor<2> {
        let w = self.w.val().detach();
        for _ in 0..steps {
            let h = bernoulli(v.matmul(w.clone()) + bh.clone());
            v = bernoulli(h.matmul(w.clone().transpose()) + bv.clone());
        }
        v
    }

    /// The contrastive-divergence cost of each frame (`[b, t]`):
    /// F(v_t) − F(v_t⁻), where v_t⁻ ends a `cd_steps`-step Gibbs chain of
    /// frame t's RBM started at v_t and is held constant. Its gradient is
    /// CD-k's estimate of the NLL gradient for W and the biases, and flows
    /// through the biases into the RNN. All frames' chains run as one batch.
    /// Not a likelihood: score with AIS.
    pub fn cd_cost(&self, frames: Tensor<3>) -> Tensor<2> {
        let [b, t, p] = frames.dims();
        let (bv, bh) = self.conditional_biases(frames.clone());
        let v = frames.reshape([b * t, p]);
        let negative = self
            .gibbs(v.clone(), bv.clone().detach(), bh.clone().detach(), self.cd_steps)
            .detach();
        let w = self.w.val();
        let cost = free_energy(v, w.clone(), bv.clone(), bh.clone()) - free_energy(negative, w, bv, bh);
        cost.reshape([b, t])
    }

    /// The RBM of every frame of `frames` as plain numbers (for AIS).
    pub fn rbm_frames(&self, frames: Tensor<3>) -> RbmFrames {
        let (bv, bh) = self.conditional_biases(frames);
        let vec = |x: Tensor<2>| x.into_data().try_into_vec::<f32>().unwrap_or_default();
        RbmFrames {
            pitches: self.pitches,
            hidden: self.hidden,
            w: self.w.val().into_data().try_into_vec::<f32>().unwrap_or_default(),
            bv: vec(bv),
            bh: vec(bh),
        }
    }

    /// Samples `steps` frames after `primer` (frames of pitch indices): per
    /// frame a `generate_gibbs_steps`-step Gibbs chain of that frame's RBM
    /// started from all zeros, as the tutorial generates; the last visible
    /// sample is the frame, fed back to the RNN. `uniform` supplies the
    /// random numbers in [0, 1) so the caller owns the seed.
    pub fn sample(&self, primer: &[Vec<usize>], steps: usize, mut uniform: impl FnMut() -> f32) -> Vec<Vec<usize>> {
        let (p, h, r) = (self.pitches, self.hidden, self.recurrent);
        let read = |x: Tensor<2>| x.into_data().try_into_vec::<f32>().unwrap_or_default();
        let read1 = |x: Tensor<1>| x.into_data().try_into_vec::<f32>().unwrap_or_default();
        let (w, wuv, wuh, wvu, wuu) = (
            read(self.w.val()),
            read(self.wuv.val()),
            read(self.wuh.val()),
            read(self.wvu.val()),
            read(self.wuu.val()),
        );
        let (bv0, bh0, bu) = (read1(self.bv.val()), read1(self.bh.val()), read1(self.bu.val()));
        if w.len() != p * h || wuu.len() != r * r || bu.len() != r {
            return Vec::new();
        }
        // x · M for a row vector x and a row-major [rows, cols] matrix M.
        let affine = |bias: &[f32], x: &[f32], m: &[f32], cols: usize| -> Vec<f32> {
            let mut out = bias.to_vec();
            for (i, &xi) in x.iter().enumerate() {
                if xi != 0.0 {
                    for (o, &mij) in out.iter_mut().zip(&m[i * cols..(i + 1) * cols]) {
                        *o += xi * mij;
                    }
                }
            }
            out
        };
        let logistic = |x: f32| 1.0 / (1.0 + (-x).exp());
        let mut u = vec![0f32; r];
        let mut out = Vec::new();
        for t in 0..primer.len() + steps {
            let frame: Vec<usize> = if t < primer.len() {
                primer[t].iter().copied().filter(|&i| i < p).collect()
            } else {
                let bv = affine(&bv0, &u, &wuv, p);
                let bh = affine(&bh0, &u, &wuh, h);
                let mut v = vec![0f32; p];
                for _ in 0..self.generate_gibbs_steps {
                    let a = affine(&bh, &v, &w, h);
                    let hs: Vec<f32> = a
                        .iter()
                        .map(|&x| f32::from(u8::from(uniform() < logistic(x))))
                        .collect();
                    // v | h: bv + W·h, W read by rows.
                    for (i, vi) in v.iter_mut().enumerate() {
                        let row = &w[i * h..(i + 1) * h];
                        let x = bv[i] + row.iter().zip(&hs).map(|(a, b)| a * b).sum::<f32>();
                        *vi = f32::from(u8::from(uniform() < logistic(x)));
                    }
                }
                (0..p).filter(|&i| v[i] > 0.5).collect()
            };
            let mut v = vec![0f32; p];
            for &i in &frame {
                v[i] = 1.0;
            }
            let pre = affine(&bu, &v, &wvu, r);
            let rec = affine(&pre, &u, &wuu, r);
            u = rec.iter().map(|x| x.tanh()).collect();
            out.push(frame);
        }
        out.split_off(primer.len())
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

    /// The fused NADE (flex) computes what burn's operations compute: the
    /// same NLL per frame, and the same gradients for the NADE weights and
    /// for the recurrent layers behind the biases; tracked and untracked.
    #[test]
    fn the_fused_nade_equals_burns_operations() {
        use burn::tensor::Tolerance;
        let device = Device::flex().autodiff();
        device.seed(7);
        let (b, t, p) = (3, 37, 11);
        let config = RnnNadeConfig {
            nade_hidden: 21,
            ..RnnNadeConfig::tiny(p)
        };
        let mut model = config.init(&device).unwrap_or_else(|e| panic!("{e}"));
        let normal =
            |shape: [usize; 2]| Param::from_tensor(Tensor::<2>::random(shape, Distribution::Normal(0.0, 1.0), &device));
        model.w_enc = normal([p, 21]);
        model.w_dec = normal([p, 21]);
        let frames: Vec<f32> = (0..b * t * p)
            .map(|i| f32::from(u8::from((i * 7919) % 5 < 2)))
            .collect();
        let x = Tensor::<3>::from_data(TensorData::new(frames, [b, t, p]), &device);
        // `fused_nade::frame_nll` called directly (`None`: not taken) and
        // burn's operations, `[b·t]`, on `model`'s biases for `x`.
        let both = |model: &RnnNade, x: Tensor<3>| {
            let (b_enc, b_dec) = model.conditional_biases(x.clone());
            let (v, b_enc, b_dec) = (
                x.reshape([b * t, p]),
                b_enc.reshape([b * t, 21]),
                b_dec.reshape([b * t, p]),
            );
            let fused = fused_nade::frame_nll(
                v.clone(),
                b_enc.clone(),
                b_dec.clone(),
                model.w_enc.val(),
                model.w_dec.val(),
            );
            (fused, model.nade_nll(v, b_enc, b_dec))
        };
        let (direct, reference) = both(&model, x.clone());
        assert!(direct.is_some(), "tracked tensors on flex take the fused path");
        let reference = reference.reshape([b, t]);
        let fused = model.frame_nll(x.clone());
        fused
            .clone()
            .into_data()
            .assert_approx_eq::<f32>(&reference.clone().into_data(), Tolerance::absolute(1e-4));
        // Weighted, so that each frame's upstream gradient differs.
        let weights = Tensor::<2>::random([b, t], Distribution::Uniform(0.0, 2.0), &device);
        let gf = (fused * weights.clone()).sum().backward();
        let gr = (reference * weights).sum().backward();
        let same = |a: Option<Tensor<2>>, b: Option<Tensor<2>>, what: &str| {
            let (a, b) = (
                a.unwrap_or_else(|| panic!("fused {what}")),
                b.unwrap_or_else(|| panic!("burn {what}")),
            );
            a.into_data()
                .assert_approx_eq::<f32>(&b.into_data(), Tolerance::absolute(1e-4));
        };
        same(model.w_enc.grad(&gf), model.w_enc.grad(&gr), "w_enc");
        same(model.w_dec.grad(&gf), model.w_dec.grad(&gr), "w_dec");
        same(model.biases.weight.grad(&gf), model.biases.weight.grad(&gr), "biases");
        // Untracked (evaluation, plain `flex`) takes the fused forward pass too.
        let device = Device::flex();
        let plain = config.init(&device).unwrap_or_else(|e| panic!("{e}"));
        let x = Tensor::<3>::from_data(x.into_data(), &device);
        let (direct, reference) = both(&plain, x.clone());
        assert!(direct.is_some(), "plain flex takes the fused path");
        plain
            .frame_nll(x)
            .reshape([b * t])
            .into_data()
            .assert_approx_eq::<f32>(&reference.into_data(), Tolerance::absolute(1e-4));
    }

    /// F(v) for a 2 × 1 RBM by hand: v = (1, 0), bv = (0.5, −1), bh = 0.25,
    /// W = (1, 2)ᵀ gives F = −0.5 − ln(1 + e^{1.25}) = −2.0019291; the second
    /// row, v = (1, 1), gives −(0.5 − 1) − ln(1 + e^{3.25}) = −2.7880414.
    #[test]
    fn rbm_free_energy_by_hand() {
        let device = Device::flex();
        let t = |v: Vec<f32>, shape: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, shape), &device);
        let f = free_energy(
            t(vec![1.0, 0.0, 1.0, 1.0], [2, 2]),
            t(vec![1.0, 2.0], [2, 1]),
            t(vec![0.5, -1.0, 0.5, -1.0], [2, 2]),
            t(vec![0.25, 0.25], [2, 1]),
        );
        let f: Vec<f32> = f.into_data().try_into_vec::<f32>().unwrap_or_default();
        let expected = [-2.001_929f32, 0.5 - (1.0 + 3.25f32.exp()).ln()];
        assert!((expected[1] - -2.788_041_4).abs() < 1e-5);
        for (a, b) in f.iter().zip(expected) {
            assert!((a - b).abs() < 1e-5, "{f:?} vs {expected:?}");
        }
    }

    /// The biases of frame t depend on frames before t only.
    #[test]
    fn rbm_biases_are_causal() {
        let device = Device::flex();
        let model = RnnRbmConfig::tiny(5).init(&device).unwrap_or_else(|e| panic!("{e}"));
        let a: Vec<f32> = (0..20).map(|i| ((i * 7) % 3 == 0) as u8 as f32).collect();
        let mut b = a.clone();
        b[3 * 5 + 2] = 1.0 - b[3 * 5 + 2]; // change frame 3
        let biases = |v: Vec<f32>| {
            let (bv, _) = model.conditional_biases(Tensor::<3>::from_data(TensorData::new(v, [1, 4, 5]), &device));
            bv.into_data().try_into_vec::<f32>().unwrap_or_default()
        };
        let (x, y) = (biases(a), biases(b));
        assert_eq!(x, y, "frame 3 changed only what follows it (nothing here)");
        let (c, mut d) = (vec![0f32; 20], vec![0f32; 20]);
        d[5] = 1.0; // frame 1 on
        let (x, y) = (biases(c), biases(d));
        assert_eq!(x[..10], y[..10], "frames 0 and 1 do not see frame 1");
        assert_ne!(x[10..], y[10..], "frame 2 sees frame 1");
    }

    #[test]
    fn rbm_generation_is_seeded_and_binary() {
        let device = Device::flex();
        device.seed(3);
        let mut model = RnnRbmConfig::tiny(10).init(&device).unwrap_or_else(|e| panic!("{e}"));
        // Visible biases that make some pitches likely, so frames are not empty.
        model.bv = Param::from_tensor(Tensor::<1>::from_data(
            TensorData::new((0..10).map(|i| if i % 3 == 0 { 2.0f32 } else { -2.0 }).collect(), [10]),
            &device,
        ));
        let run = |seed: u32| {
            let mut x = seed;
            model.sample(&[vec![1, 3]], 12, move || {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 8) as f32 / (1u32 << 24) as f32
            })
        };
        let a = run(7);
        assert_eq!(a.len(), 12);
        for frame in &a {
            // Pitch indices of a binary frame: in range, distinct, ascending.
            assert!(
                frame.iter().all(|&i| i < 10) && frame.windows(2).all(|w| w[0] < w[1]),
                "{frame:?}"
            );
        }
        assert!(a.iter().flatten().count() > 0);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
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
