//! Causal self-attention (relative or not) as one burn operation on the
//! `flex` CPU backend, with its own backward pass.
//!
//! Why: through burn's tensor operations a Music Transformer layer builds
//! about a dozen `[b, h, t, t]` tensors (logits, the skewing's pad and
//! slice, the mask, softmax's intermediates, dropout, and their gradients),
//! each freshly allocated, page-faulted and written; on two cores the
//! training step spent more time clearing pages and copying than
//! multiplying. [`kernels`] computes the same function one (sequence, head)
//! at a time in cache-sized row blocks, never forms those tensors, and skips
//! the products the causal mask would throw away. On any other backend
//! [`attention`] answers `None` and the caller keeps the tensor path (which
//! CUDA uses, and which the tests hold this one to).

pub mod kernels;

use std::fmt;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, CheckpointStrategy, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, DispatchKindConversion, Flex};
use burn::tensor::{DispatchTensor, Tensor};

use super::recurrent::autodiff::{all_on_autodiff, all_on_flex, dense, flex_tensor, register, values};
use kernels::{AttnDims, AttnInputs};

/// Attention over `q`, `k`, `v` `[b, t, heads·dh]` (the projections, heads
/// side by side), with relative embeddings `e` `[heads, t, dh]` (row `m` for
/// distance `m - (t-1)`) when given, each query seeing its `window` latest
/// keys (0 = all earlier ones), attention weights dropped with probability
/// `dropout` by a mask drawn from `seed`. Returns `[b, t, heads·dh]`, or
/// `None` when the tensors do not all live on `flex` (with or without
/// autodiff) as `f32`.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &Tensor<3>,
    k: &Tensor<3>,
    v: &Tensor<3>,
    e: Option<&Tensor<3>>,
    heads: usize,
    window: usize,
    dropout: f32,
    seed: u64,
) -> Option<Tensor<3>> {
    let [batch, time, d_model] = q.dims();
    if heads == 0 || d_model % heads != 0 || k.dims() != q.dims() || v.dims() != q.dims() || time == 0 {
        return None;
    }
    let d = AttnDims {
        batch,
        time,
        heads,
        d_head: d_model / heads,
        relative: e.is_some(),
        window,
        dropout,
        seed,
    };
    if let Some(e) = e {
        if e.dims() != [heads, time, d.d_head] {
            return None;
        }
        let t = [q, k, v, e].map(|t| t.clone().into_dispatch());
        run::<4>(d, &t, RelativeBackward)
    } else {
        let t = [q, k, v].map(|t| t.clone().into_dispatch());
        run::<3>(d, &t, PlainBackward)
    }
}

/// What the backward pass keeps: the inputs (shared buffers, not copies)
/// and each row's log-sum-exp.
#[derive(Clone)]
struct Saved {
    d: AttnDims,
    inputs: Vec<FlexTensor>,
    lse: Arc<Vec<f32>>,
}

impl fmt::Debug for Saved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttentionSaved")
            .field("dims", &self.d)
            .finish_non_exhaustive()
    }
}

fn inputs(buffers: &[FlexTensor]) -> AttnInputs<'_> {
    AttnInputs {
        q: values(&buffers[0]),
        k: values(&buffers[1]),
        v: values(&buffers[2]),
        e: buffers.get(3).map_or(&[][..], values),
    }
}

impl Saved {
    fn grads(&self, grad: FlexTensor) -> kernels::AttnGrads {
        let grad = dense(grad).expect("attention's output gradient is f32");
        kernels::backward(&self.d, &inputs(&self.inputs), &self.lse, values(&grad))
    }
}

#[derive(Debug, Clone, Copy)]
struct PlainBackward;

#[derive(Debug, Clone, Copy)]
struct RelativeBackward;

impl Backward<Flex, 3> for PlainBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let d = ops.state.d;
        let g = ops.state.grads(grads.consume::<Flex>(&ops.node));
        let [q, k, v] = ops.parents;
        let shape = [d.batch, d.time, d.heads * d.d_head];
        register!(grads, q, g.q, shape);
        register!(grads, k, g.k, shape);
        register!(grads, v, g.v, shape);
    }
}

impl Backward<Flex, 4> for RelativeBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let d = ops.state.d;
        let g = ops.state.grads(grads.consume::<Flex>(&ops.node));
        let [q, k, v, e] = ops.parents;
        let shape = [d.batch, d.time, d.heads * d.d_head];
        register!(grads, q, g.q, shape);
        register!(grads, k, g.k, shape);
        register!(grads, v, g.v, shape);
        register!(grads, e, g.e, [d.heads, d.time, d.d_head]);
    }
}

fn run<const N: usize>(
    d: AttnDims,
    t: &[DispatchTensor; N],
    op: impl Backward<Flex, N, State = Saved> + Copy,
) -> Option<Tensor<3>> {
    let shape = [d.batch, d.time, d.heads * d.d_head];
    if let Some(buffers) = all_on_flex(t) {
        // Not tracked (scoring, sampling a whole sequence): no dropout, as
        // burn's `Dropout` does outside training.
        let d = AttnDims { dropout: 0.0, ..d };
        let (out, _) = kernels::forward(&d, &inputs(&buffers));
        return Some(Tensor::from_primitive::<Flex>(flex_tensor(out, shape)));
    }
    tracked::<NoCheckpointing, N>(d, t, op).or_else(|| tracked::<BalancedCheckpointing, N>(d, t, op))
}

fn tracked<C: CheckpointStrategy, const N: usize>(
    d: AttnDims,
    t: &[DispatchTensor; N],
    op: impl Backward<Flex, N, State = Saved>,
) -> Option<Tensor<3>>
where
    DispatchTensor: DispatchKindConversion<Autodiff<Flex, C>>,
{
    let shape = [d.batch, d.time, d.heads * d.d_head];
    let (buffers, nodes) = all_on_autodiff::<C, N>(t)?;
    let (out, lse) = kernels::forward(&d, &inputs(&buffers));
    let out = flex_tensor(out, shape);
    let out = match op.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(
            Saved {
                d,
                inputs: buffers.to_vec(),
                lse: Arc::new(lse),
            },
            out,
        ),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Some(Tensor::from_primitive::<Autodiff<Flex, C>>(out))
}

#[cfg(test)]
mod tests;
