//! The exact negative log-likelihood of binary frames under a NADE whose
//! biases vary per frame (RNN-NADE's conditional), as one burn operation on
//! `flex` with its own backward pass.
//!
//! Why: through burn's operations the NADE's hidden pre-activations
//! `a_i = b_enc + Σ_{k<i} v_k W_k` for all pitches at once are a masked copy
//! of each frame (`[n, p, p]`) times `W_enc` — a batched product of
//! `n·p·p·H` multiply-adds, most of them by zero — and then an `[n, p, H]`
//! sigmoid, which burn runs one element at a time through libm's `expf` on
//! one thread; the backward pass repeats all of it. perf on an RNN-NADE
//! training run showed `expf`, burn's unary loop and that product at 57% of
//! the samples, with the process using 1.15 of its 2 cores. Here each frame
//! walks its pitches once, low to high, adding `v_i W_i` to a running
//! pre-activation (Larochelle & Murray's O(pH) recursion), the frames split
//! over threads; the backward pass walks them high to low with a running
//! sum of the pre-activations' gradients. The weight gradients are summed
//! per fixed block of frames and the blocks added in order, so the result
//! does not depend on the number of threads.
//!
//! Off `flex` (CUDA) the caller keeps burn's operations, which compute the
//! same function and are what the tests hold this one to.

use std::fmt;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, CheckpointStrategy, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, DispatchKindConversion, Flex};
use burn::tensor::{DispatchTensor, Tensor};
use rayon::prelude::*;

use super::recurrent::autodiff::{all_on_autodiff, all_on_flex, dense, flex_tensor, register, values};
use super::recurrent::primitives::{dot, exp, multiversion, sigmoid};

/// Frames per parallel task (and per block of summed weight gradients).
const ROWS: usize = 32;

/// Each frame's NLL in nats (`[n]`) for the binary frames `frames`
/// `[n, p]` under the NADE with per-frame hidden biases `b_enc` `[n, H]`
/// and visible biases `b_dec` `[n, p]`, and the shared weights `w_enc`,
/// `w_dec` `[p, H]`; pitches are taken in index order. The frames are data:
/// no gradient flows to them. `None` unless every tensor lives on `flex`
/// (tracked or not), in which case the caller computes the same value with
/// burn's operations.
pub fn frame_nll(
    frames: Tensor<2>,
    b_enc: Tensor<2>,
    b_dec: Tensor<2>,
    w_enc: Tensor<2>,
    w_dec: Tensor<2>,
) -> Option<Tensor<1>> {
    let [n, h] = b_enc.dims();
    let [p, h_enc] = w_enc.dims();
    if frames.dims() != [n, p] || b_dec.dims() != [n, p] || w_dec.dims() != [p, h] || h_enc != h || n == 0 {
        return None;
    }
    let dims = Dims { n, p, h };
    let inputs = [frames, b_enc, b_dec, w_enc, w_dec].map(Tensor::into_dispatch);
    if let Some([frames, b_enc, b_dec, w_enc, w_dec]) = all_on_flex(&inputs) {
        let params = Params::of([&b_enc, &b_dec, &w_enc, &w_dec]);
        let nll = forward(dims, values(&frames), &params);
        return Some(Tensor::from_primitive::<Flex>(flex_tensor(nll, [n])));
    }
    tracked::<NoCheckpointing>(dims, &inputs).or_else(|| tracked::<BalancedCheckpointing>(dims, &inputs))
}

#[derive(Debug, Clone, Copy)]
struct Dims {
    /// Frames.
    n: usize,
    /// Pitches (visible units).
    p: usize,
    /// Hidden units.
    h: usize,
}

struct Params<'a> {
    b_enc: &'a [f32],
    b_dec: &'a [f32],
    w_enc: &'a [f32],
    w_dec: &'a [f32],
}

impl<'a> Params<'a> {
    /// The values of `b_enc`, `b_dec`, `w_enc`, `w_dec`, in that order.
    fn of([b_enc, b_dec, w_enc, w_dec]: [&'a FlexTensor; 4]) -> Self {
        Self {
            b_enc: values(b_enc),
            b_dec: values(b_dec),
            w_enc: values(w_enc),
            w_dec: values(w_dec),
        }
    }
}

/// `ln(1 + e^x)` without overflow.
#[inline(always)]
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (1.0 + exp(-x.abs())).ln()
}

multiversion! {
    /// Frame `row` (its values `v`), low pitch to high: its NLL. Each
    /// pitch's hidden layer goes to `hidden` (`[p, H]`) and its logit to
    /// `logits` when they are given (non-empty). `a` and `y` are `H` long
    /// scratch.
    fn frame_forward(
        d: Dims,
        row: usize,
        v: &[f32],
        params: &Params,
        a: &mut [f32],
        y: &mut [f32],
        hidden: &mut [f32],
        logits: &mut [f32],
    ) -> f32 {
        let h = d.h;
        let b_dec = &params.b_dec[row * d.p..(row + 1) * d.p];
        a.copy_from_slice(&params.b_enc[row * h..(row + 1) * h]);
        let mut nll = 0.0f32;
        for i in 0..d.p {
            let y: &mut [f32] = if hidden.is_empty() { &mut *y } else { &mut hidden[i * h..(i + 1) * h] };
            for (o, &x) in y.iter_mut().zip(a.iter()) {
                *o = sigmoid(x);
            }
            let logit = b_dec[i] + dot(y, &params.w_dec[i * h..(i + 1) * h]);
            if !logits.is_empty() {
                logits[i] = logit;
            }
            // −[v ln σ(l) + (1 − v) ln σ(−l)] = softplus(l) − v·l.
            nll += softplus(logit) - v[i] * logit;
            if v[i] != 0.0 {
                let vi = v[i];
                for (a, &w) in a.iter_mut().zip(&params.w_enc[i * h..(i + 1) * h]) {
                    *a += vi * w;
                }
            }
        }
        nll
    }
}

fn forward(d: Dims, frames: &[f32], params: &Params) -> Vec<f32> {
    let mut nll = vec![0.0f32; d.n];
    nll.par_chunks_mut(ROWS)
        .zip(frames.par_chunks(ROWS * d.p))
        .enumerate()
        .for_each(|(chunk, (nll, frames))| {
            let (mut a, mut y) = (vec![0.0f32; d.h], vec![0.0f32; d.h]);
            for (r, (out, v)) in nll.iter_mut().zip(frames.chunks_exact(d.p)).enumerate() {
                *out = frame_forward(d, chunk * ROWS + r, v, params, &mut a, &mut y, &mut [], &mut []);
            }
        });
    nll
}

/// The four gradients, in the parents' order: `b_enc`, `b_dec`, `w_enc`,
/// `w_dec`.
struct Grads {
    b_enc: Vec<f32>,
    b_dec: Vec<f32>,
    w_enc: Vec<f32>,
    w_dec: Vec<f32>,
}

multiversion! {
    /// One frame, high pitch to low, for the upstream gradient `g` of its
    /// NLL: writes its rows of the bias gradients, adds to the weight
    /// gradients. `hidden` and `logits` are the frame's from
    /// [`frame_forward`]; `sum` is `H` long scratch.
    fn frame_backward(
        d: Dims,
        v: &[f32],
        g: f32,
        params: &Params,
        hidden: &[f32],
        logits: &[f32],
        sum: &mut [f32],
        db_enc: &mut [f32],
        db_dec: &mut [f32],
        dw_enc: &mut [f32],
        dw_dec: &mut [f32],
    ) {
        let h = d.h;
        // `sum` = Σ_{j>i} ∂L/∂a_j: what `v_i W_i` (in every later a_j) gets.
        sum.fill(0.0);
        for i in (0..d.p).rev() {
            let dl = g * (sigmoid(logits[i]) - v[i]);
            db_dec[i] = dl;
            if v[i] != 0.0 {
                let vi = v[i];
                for (dw, &s) in dw_enc[i * h..(i + 1) * h].iter_mut().zip(sum.iter()) {
                    *dw += vi * s;
                }
            }
            let hid = &hidden[i * h..(i + 1) * h];
            let w_dec = &params.w_dec[i * h..(i + 1) * h];
            for (((s, dw), &y), &w) in sum.iter_mut().zip(&mut dw_dec[i * h..(i + 1) * h]).zip(hid).zip(w_dec) {
                *dw += dl * y;
                *s += dl * w * y * (1.0 - y);
            }
        }
        db_enc.copy_from_slice(sum);
    }
}

/// Each frame's forward pass is run again here, into a per-task `[p, H]`
/// buffer, rather than kept from the forward pass: that costs one more
/// forward pass, where keeping every frame's hidden layers would hold an
/// `[n, p, H]` tensor (72 MB for a batch of 16 × 100 frames) until the
/// backward pass.
fn backward(d: Dims, frames: &[f32], params: &Params, upstream: &[f32]) -> Grads {
    let (n, p, h) = (d.n, d.p, d.h);
    let mut b_enc = vec![0.0f32; n * h];
    let mut b_dec = vec![0.0f32; n * p];
    // Per block of frames: its sums of the weight gradients.
    let blocks: Vec<(Vec<f32>, Vec<f32>)> = b_enc
        .par_chunks_mut(ROWS * h)
        .zip(b_dec.par_chunks_mut(ROWS * p))
        .zip(frames.par_chunks(ROWS * p))
        .enumerate()
        .map(|(chunk, ((db_enc, db_dec), frames))| {
            let mut dw_enc = vec![0.0f32; p * h];
            let mut dw_dec = vec![0.0f32; p * h];
            let mut hidden = vec![0.0f32; p * h];
            let mut logits = vec![0.0f32; p];
            let (mut scratch, mut y) = (vec![0.0f32; h], vec![0.0f32; h]);
            for (r, ((db_enc, db_dec), v)) in db_enc
                .chunks_exact_mut(h)
                .zip(db_dec.chunks_exact_mut(p))
                .zip(frames.chunks_exact(p))
                .enumerate()
            {
                let row = chunk * ROWS + r;
                frame_forward(d, row, v, params, &mut scratch, &mut y, &mut hidden, &mut logits);
                frame_backward(
                    d,
                    v,
                    upstream[row],
                    params,
                    &hidden,
                    &logits,
                    &mut scratch,
                    db_enc,
                    db_dec,
                    &mut dw_enc,
                    &mut dw_dec,
                );
            }
            (dw_enc, dw_dec)
        })
        .collect();
    let mut w_enc = vec![0.0f32; p * h];
    let mut w_dec = vec![0.0f32; p * h];
    for (de, dd) in &blocks {
        w_enc.iter_mut().zip(de).for_each(|(w, g)| *w += g);
        w_dec.iter_mut().zip(dd).for_each(|(w, g)| *w += g);
    }
    Grads {
        b_enc,
        b_dec,
        w_enc,
        w_dec,
    }
}

/// What the backward pass keeps: the inputs alone (it runs each frame's
/// forward pass again, see [`backward`]).
#[derive(Clone)]
struct NadeSaved {
    dims: Dims,
    frames: FlexTensor,
    b_enc: FlexTensor,
    b_dec: FlexTensor,
    w_enc: FlexTensor,
    w_dec: FlexTensor,
}

impl fmt::Debug for NadeSaved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NadeSaved")
            .field("dims", &self.dims)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
struct NadeBackward;

impl Backward<Flex, 5> for NadeBackward {
    type State = NadeSaved;

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let s = &ops.state;
        let upstream = dense(grads.consume::<Flex>(&ops.node)).expect("the NADE loss gradient is f32");
        let params = Params::of([&s.b_enc, &s.b_dec, &s.w_enc, &s.w_dec]);
        let g = backward(s.dims, values(&s.frames), &params, values(&upstream));
        let Dims { n, p, h } = s.dims;
        let [_frames, b_enc, b_dec, w_enc, w_dec] = ops.parents;
        register!(grads, b_enc, g.b_enc, [n, h]);
        register!(grads, b_dec, g.b_dec, [n, p]);
        register!(grads, w_enc, g.w_enc, [p, h]);
        register!(grads, w_dec, g.w_dec, [p, h]);
    }
}

fn tracked<C: CheckpointStrategy>(dims: Dims, t: &[DispatchTensor; 5]) -> Option<Tensor<1>>
where
    DispatchTensor: DispatchKindConversion<Autodiff<Flex, C>>,
{
    let (buffers, nodes) = all_on_autodiff::<C, 5>(t)?;
    let [frames, b_enc, b_dec, w_enc, w_dec] = buffers;
    let params = Params::of([&b_enc, &b_dec, &w_enc, &w_dec]);
    let out = flex_tensor(forward(dims, values(&frames), &params), [dims.n]);
    let out = match NadeBackward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(
            NadeSaved {
                dims,
                frames,
                b_enc,
                b_dec,
                w_enc,
                w_dec,
            },
            out,
        ),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Some(Tensor::from_primitive::<Autodiff<Flex, C>>(out))
}
