//! The weighted negative log-likelihood of token targets under a softmax,
//! as one burn operation on `Autodiff<flex>`.
//!
//! Why: `log_softmax(logits).gather(targets) · weights`, summed, is half a
//! dozen tracked operations over the `[b, t, vocab]` logits (max, subtract,
//! exp, sum, log, gather, multiply) and as many in the backward pass, each
//! allocating a logits-sized tensor, and burn runs its `exp` on one thread.
//! Here the forward pass keeps one log-sum-exp per row and the backward pass
//! writes `w·(softmax - onehot)` straight into the logits' gradient, rows
//! split over threads. Off `flex` (CUDA) [`weighted_nll`] takes burn's
//! operations, which compute the same value.

use std::fmt;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, CheckpointStrategy, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, DispatchKindConversion, Flex};
use burn::tensor::activation::log_softmax;
use burn::tensor::{DispatchTensor, Int, Tensor, TensorData};
use rayon::prelude::*;

use super::recurrent::autodiff::{all_on_autodiff, all_on_flex, dense, flex_tensor, register, values};
use super::recurrent::primitives::{exp, multiversion};

/// Rows per parallel task.
const ROWS: usize = 32;

/// `-Σ w · log softmax(logits)[target]` over every (sequence, position):
/// `logits` `[b, t, vocab]`, `targets` and `weights` `b·t` long, row-major.
/// A scalar tensor (`[1]`), differentiable with respect to `logits`.
///
/// # Panics
/// When `targets` or `weights` do not have one entry per row, or a target
/// is not below `vocab` (like burn's `gather`).
pub fn weighted_nll(logits: Tensor<3>, targets: &[u32], weights: &[f32]) -> Tensor<1> {
    let [b, t, v] = logits.dims();
    assert!(
        targets.len() == b * t && weights.len() == b * t,
        "weighted_nll: one target and one weight per row"
    );
    assert!(
        targets.iter().all(|&x| (x as usize) < v),
        "weighted_nll: a target is out of the vocabulary"
    );
    let rows = Rows {
        vocab: v,
        targets: Arc::new(targets.to_vec()),
        weights: Arc::new(weights.to_vec()),
    };
    let input = [logits.clone().into_dispatch()];
    if let Some([l]) = all_on_flex(&input) {
        let (loss, _) = rows.forward(values(&l));
        return Tensor::from_primitive::<Flex>(flex_tensor(vec![loss], [1]));
    }
    if let Some(loss) =
        tracked::<NoCheckpointing>(&input, &rows).or_else(|| tracked::<BalancedCheckpointing>(&input, &rows))
    {
        return loss;
    }
    tensor_path(logits, &rows.targets, &rows.weights)
}

/// The same loss through burn's operations (CUDA; the tests' reference).
fn tensor_path(logits: Tensor<3>, targets: &[u32], weights: &[f32]) -> Tensor<1> {
    let [b, t, _] = logits.dims();
    let device = logits.device();
    let targets = Tensor::<3, Int>::from_data(
        TensorData::new(targets.iter().map(|&x| i64::from(x)).collect::<Vec<_>>(), [b, t, 1]),
        &device,
    );
    let weights = Tensor::<3>::from_data(TensorData::new(weights.to_vec(), [b, t, 1]), &device);
    (log_softmax(logits, 2).gather(2, targets) * weights).sum().neg()
}

/// The targets and weights of every row.
#[derive(Clone)]
struct Rows {
    vocab: usize,
    targets: Arc<Vec<u32>>,
    weights: Arc<Vec<f32>>,
}

multiversion! {
    /// `ln Σ exp(row)`, with the maximum taken out first.
    fn log_sum_exp(row: &[f32]) -> f32 {
        let max = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let mut acc = [0.0f32; 16];
        let mut chunks = row.chunks_exact(16);
        for c in &mut chunks {
            for (a, &x) in acc.iter_mut().zip(c) {
                *a += exp(x - max);
            }
        }
        let tail: f32 = chunks.remainder().iter().map(|&x| exp(x - max)).sum();
        max + (acc.iter().sum::<f32>() + tail).ln()
    }
}

multiversion! {
    /// `grad = scale · (exp(row - lse) - onehot(target))`.
    fn softmax_minus_onehot(row: &[f32], lse: f32, target: usize, scale: f32, grad: &mut [f32]) {
        for (g, &x) in grad.iter_mut().zip(row) {
            *g = scale * exp(x - lse);
        }
        grad[target] -= scale;
    }
}

impl Rows {
    /// The loss and each row's log-sum-exp.
    fn forward(&self, logits: &[f32]) -> (f32, Vec<f32>) {
        let v = self.vocab;
        let mut lse = vec![0.0f32; self.targets.len()];
        let loss: f64 = lse
            .par_chunks_mut(ROWS)
            .zip(logits.par_chunks(ROWS * v))
            .enumerate()
            .map(|(chunk, (lse, logits))| {
                let mut sum = 0.0f64;
                for (r, (lse, row)) in lse.iter_mut().zip(logits.chunks_exact(v)).enumerate() {
                    let i = chunk * ROWS + r;
                    *lse = log_sum_exp(row);
                    let w = self.weights[i];
                    if w != 0.0 {
                        sum += f64::from(w) * f64::from(*lse - row[self.targets[i] as usize]);
                    }
                }
                sum
            })
            .sum();
        (loss as f32, lse)
    }

    /// The logits' gradient for an upstream gradient `dloss` of the loss.
    fn backward(&self, logits: &[f32], lse: &[f32], dloss: f32) -> Vec<f32> {
        let v = self.vocab;
        let mut grad = vec![0.0f32; logits.len()];
        grad.par_chunks_mut(ROWS * v)
            .zip(logits.par_chunks(ROWS * v))
            .enumerate()
            .for_each(|(chunk, (grad, logits))| {
                for (r, (g, row)) in grad.chunks_exact_mut(v).zip(logits.chunks_exact(v)).enumerate() {
                    let i = chunk * ROWS + r;
                    let w = self.weights[i];
                    if w != 0.0 {
                        softmax_minus_onehot(row, lse[i], self.targets[i] as usize, dloss * w, g);
                    }
                }
            });
        grad
    }
}

#[derive(Clone)]
struct Saved {
    shape: [usize; 3],
    rows: Rows,
    logits: FlexTensor,
    lse: Arc<Vec<f32>>,
}

impl fmt::Debug for Saved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NllSaved")
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
struct NllBackward;

impl Backward<Flex, 1> for NllBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let s = &ops.state;
        let upstream = dense(grads.consume::<Flex>(&ops.node)).expect("the loss gradient is f32");
        let dloss = values(&upstream).first().copied().unwrap_or(0.0);
        let g = s.rows.backward(values(&s.logits), &s.lse, dloss);
        let [logits] = ops.parents;
        register!(grads, logits, g, s.shape);
    }
}

fn tracked<C: CheckpointStrategy>(t: &[DispatchTensor; 1], rows: &Rows) -> Option<Tensor<1>>
where
    DispatchTensor: DispatchKindConversion<Autodiff<Flex, C>>,
{
    let (buffers, nodes) = all_on_autodiff::<C, 1>(t)?;
    let [logits] = buffers;
    let shape: [usize; 3] = logits.layout().shape().dims();
    let (loss, lse) = rows.forward(values(&logits));
    let out = flex_tensor(vec![loss], [1]);
    let out = match NllBackward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(
            Saved {
                shape,
                rows: rows.clone(),
                logits,
                lse: Arc::new(lse),
            },
            out,
        ),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Some(Tensor::from_primitive::<Autodiff<Flex, C>>(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution, Tolerance};

    use super::tensor_path as reference;

    #[test]
    fn loss_and_gradient_equal_burns() {
        for (b, t, v) in [(1, 1, 3), (2, 37, 130), (3, 20, 17)] {
            let device = Device::flex().autodiff();
            let logits = Tensor::<3>::random([b, t, v], Distribution::Normal(0.0, 3.0), &device).require_grad();
            let targets: Vec<u32> = (0..b * t).map(|i| ((i * 7919) % v) as u32).collect();
            // Some rows masked out, some weighted.
            let weights: Vec<f32> = (0..b * t).map(|i| [1.0, 0.0, 0.5][i % 3]).collect();
            let fused = weighted_nll(logits.clone(), &targets, &weights);
            let want = reference(logits.clone(), &targets, &weights);
            fused
                .clone()
                .into_data()
                .assert_approx_eq::<f32>(&want.clone().into_data(), Tolerance::relative(1e-5));
            // Scale the upstream gradient to check it is carried through.
            let gf = fused.mul_scalar(1.5).backward();
            let gw = want.mul_scalar(1.5).backward();
            logits
                .grad(&gf)
                .expect("fused gradient")
                .into_data()
                .assert_approx_eq::<f32>(
                    &logits.grad(&gw).expect("reference gradient").into_data(),
                    Tolerance::absolute(1e-5),
                );
        }
    }

    #[test]
    fn untracked_logits_give_the_same_loss() {
        let device = Device::flex();
        let logits = Tensor::<3>::random([2, 5, 9], Distribution::Normal(0.0, 1.0), &device);
        let targets = [0u32, 1, 2, 3, 4, 5, 6, 7, 8, 0];
        let weights = [1.0f32; 10];
        weighted_nll(logits.clone(), &targets, &weights)
            .into_data()
            .assert_approx_eq::<f32>(
                &reference(logits, &targets, &weights).into_data(),
                Tolerance::relative(1e-5),
            );
    }
}
