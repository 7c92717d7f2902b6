//! Layer normalisation with its own backward pass, as one burn operation on
//! `Autodiff<flex>`.
//!
//! Why: burn-flex normalises in one pass when nothing is tracked, but under
//! autodiff burn decomposes the norm into eight element-wise operations
//! (mean, subtract, square, mean, add, square root, divide, scale, shift),
//! each a new `[rows, d]` tensor with its own backward node; a Music
//! Transformer step runs nine norms. Here the forward pass keeps only each
//! row's mean and reciprocal deviation, and the backward pass is two passes
//! over the rows. Anything not tracked on `flex` answers `None`, and the
//! caller keeps burn's own norm (fused on plain `flex`, native on CUDA).

use std::fmt;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, CheckpointStrategy, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, DispatchKindConversion, Flex};
use burn::nn::LayerNorm;
use burn::tensor::{DispatchTensor, Tensor};
use rayon::prelude::*;

use super::recurrent::autodiff::{all_on_autodiff, dense, flex_tensor, register, values};
use super::recurrent::primitives::multiversion;

/// burn's `LayerNormConfig` default, which every norm in fugue's models
/// uses (the module keeps its epsilon private; a test holds the two equal).
pub const EPSILON: f32 = 1e-5;

/// Rows per parallel task.
const ROWS: usize = 64;

/// `norm.forward(x)`, through the fused operation when `x` is tracked on
/// `flex` and the norm has a bias.
pub fn forward(norm: &LayerNorm, x: Tensor<3>) -> Tensor<3> {
    let fused = norm.beta.as_ref().and_then(|beta| {
        let [b, t, d] = x.dims();
        if norm.gamma.dims() != [d] || b * t == 0 {
            return None;
        }
        let inputs = [x.clone(), as_row3(norm.gamma.val()), as_row3(beta.val())].map(Tensor::into_dispatch);
        tracked::<NoCheckpointing>(&inputs, [b, t, d]).or_else(|| tracked::<BalancedCheckpointing>(&inputs, [b, t, d]))
    });
    fused.unwrap_or_else(|| norm.forward(x))
}

/// A `[d]` parameter (γ or β) as `[1, 1, d]`, so that all three inputs
/// share a rank.
fn as_row3(p: Tensor<1>) -> Tensor<3> {
    let [d] = p.dims();
    p.reshape([1, 1, d])
}

#[derive(Clone)]
struct Saved {
    shape: [usize; 3],
    d: usize,
    x: FlexTensor,
    gamma: FlexTensor,
    /// Per row: mean, then reciprocal standard deviation.
    stats: Arc<Vec<f32>>,
}

impl fmt::Debug for Saved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerNormSaved")
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
struct NormBackward;

impl Backward<Flex, 3> for NormBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let s = &ops.state;
        let dy = dense(grads.consume::<Flex>(&ops.node)).expect("layer norm's output gradient is f32");
        let (dx, dgamma, dbeta) = backward_rows(s.d, values(&s.x), values(&s.gamma), &s.stats, values(&dy));
        let [x, gamma, beta] = ops.parents;
        register!(grads, x, dx, s.shape);
        register!(grads, gamma, dgamma, [1, 1, s.d]);
        register!(grads, beta, dbeta, [1, 1, s.d]);
    }
}

fn tracked<C: CheckpointStrategy>(t: &[DispatchTensor; 3], shape: [usize; 3]) -> Option<Tensor<3>>
where
    DispatchTensor: DispatchKindConversion<Autodiff<Flex, C>>,
{
    let (buffers, nodes) = all_on_autodiff::<C, 3>(t)?;
    let [x, gamma, beta] = buffers;
    let d = shape[2];
    let (y, stats) = forward_rows(d, values(&x), values(&gamma), values(&beta));
    let y = flex_tensor(y, shape);
    let out = match NormBackward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(
            Saved {
                shape,
                d,
                x,
                gamma,
                stats: Arc::new(stats),
            },
            y,
        ),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(Tensor::from_primitive::<Autodiff<Flex, C>>(out))
}

multiversion! {
    /// One row: `y = (x - mean)·rstd·γ + β`; returns (mean, rstd).
    fn norm_row(x: &[f32], gamma: &[f32], beta: &[f32], y: &mut [f32]) -> (f32, f32) {
        let d = x.len() as f32;
        let mean = lanes(x, |v| v) / d;
        let var = lanes(x, |v| (v - mean) * (v - mean)) / d;
        let rstd = 1.0 / (var + EPSILON).sqrt();
        for (((y, &x), &g), &b) in y.iter_mut().zip(x).zip(gamma).zip(beta) {
            *y = (x - mean) * rstd * g + b;
        }
        (mean, rstd)
    }
}

multiversion! {
    /// One row's input gradient (`dx`), accumulating γ's and β's.
    fn norm_row_back(
        x: &[f32],
        gamma: &[f32],
        dy: &[f32],
        mean: f32,
        rstd: f32,
        dx: &mut [f32],
        dgamma: &mut [f32],
        dbeta: &mut [f32],
    ) {
        let d = x.len() as f32;
        // g = dy·γ and x̂ = (x - mean)·rstd; dx = rstd·(g - mean(g) - x̂·mean(g·x̂)).
        let mut sum_g = [0.0f32; 16];
        let mut sum_gx = [0.0f32; 16];
        for (k, ((&x, &g), &dy)) in x.iter().zip(gamma).zip(dy).enumerate() {
            let xh = (x - mean) * rstd;
            let gg = dy * g;
            sum_g[k % 16] += gg;
            sum_gx[k % 16] += gg * xh;
        }
        let mean_g = sum_g.iter().sum::<f32>() / d;
        let mean_gx = sum_gx.iter().sum::<f32>() / d;
        for (k, ((&x, &g), &dy)) in x.iter().zip(gamma).zip(dy).enumerate() {
            let xh = (x - mean) * rstd;
            dx[k] = rstd * (dy * g - mean_g - xh * mean_gx);
            dgamma[k] += dy * xh;
            dbeta[k] += dy;
        }
    }
}

/// `Σ f(v)` in sixteen independent chains (vectorisable).
#[inline(always)]
fn lanes(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().map(|&v| f(v)).sum::<f32>()
}

/// The forward pass over `[rows, d]`: the output and (mean, rstd) per row.
fn forward_rows(d: usize, x: &[f32], gamma: &[f32], beta: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let rows = x.len() / d;
    let mut y = vec![0.0f32; rows * d];
    let mut stats = vec![0.0f32; rows * 2];
    y.par_chunks_mut(ROWS * d)
        .zip(stats.par_chunks_mut(ROWS * 2))
        .zip(x.par_chunks(ROWS * d))
        .for_each(|((y, stats), x)| {
            for ((y, x), s) in y
                .chunks_exact_mut(d)
                .zip(x.chunks_exact(d))
                .zip(stats.chunks_exact_mut(2))
            {
                let (mean, rstd) = norm_row(x, gamma, beta, y);
                s[0] = mean;
                s[1] = rstd;
            }
        });
    (y, stats)
}

/// The backward pass: (dx, dγ, dβ).
fn backward_rows(d: usize, x: &[f32], gamma: &[f32], stats: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let rows = x.len() / d;
    let mut dx = vec![0.0f32; rows * d];
    let (dgamma, dbeta) = dx
        .par_chunks_mut(ROWS * d)
        .zip(x.par_chunks(ROWS * d))
        .zip(dy.par_chunks(ROWS * d))
        .zip(stats.par_chunks(ROWS * 2))
        .map(|(((dx, x), dy), stats)| {
            let (mut dg, mut db) = (vec![0.0f32; d], vec![0.0f32; d]);
            for (((dx, x), dy), s) in dx
                .chunks_exact_mut(d)
                .zip(x.chunks_exact(d))
                .zip(dy.chunks_exact(d))
                .zip(stats.chunks_exact(2))
            {
                norm_row_back(x, gamma, dy, s[0], s[1], dx, &mut dg, &mut db);
            }
            (dg, db)
        })
        .reduce(
            || (vec![0.0f32; d], vec![0.0f32; d]),
            |(mut ga, mut ba), (gb, bb)| {
                ga.iter_mut().zip(&gb).for_each(|(a, b)| *a += b);
                ba.iter_mut().zip(&bb).for_each(|(a, b)| *a += b);
                (ga, ba)
            },
        );
    (dx, dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LayerNormConfig;
    use burn::tensor::{Device, Distribution, Tolerance};

    #[test]
    fn the_fused_norm_and_its_gradients_equal_burns() {
        let device = Device::flex().autodiff();
        for (b, t, d) in [(2, 3, 8), (1, 130, 33), (3, 70, 256)] {
            let mut norm = LayerNormConfig::new(d).init(&device);
            // Non-trivial scale and shift, so that their gradients matter.
            norm.gamma = norm
                .gamma
                .map(|g| g.random_like(Distribution::Normal(1.0, 0.5)).require_grad());
            if let Some(beta) = norm.beta.take() {
                norm.beta = Some(beta.map(|p| p.random_like(Distribution::Normal(0.0, 0.5)).require_grad()));
            }
            let x = Tensor::<3>::random([b, t, d], Distribution::Normal(0.3, 2.0), &device).require_grad();
            let w = Tensor::<3>::random([b, t, d], Distribution::Normal(0.0, 1.0), &device);
            let fused = forward(&norm, x.clone());
            let want = norm.forward(x.clone());
            let tol = Tolerance::absolute(1e-4);
            fused
                .clone()
                .into_data()
                .assert_approx_eq::<f32>(&want.clone().into_data(), tol);
            let gf = (fused * w.clone()).sum().backward();
            let gw = (want * w).sum().backward();
            let grad = |t: &Tensor<1>, g| t.grad(g).expect("a gradient").into_data();
            x.grad(&gf)
                .expect("x")
                .into_data()
                .assert_approx_eq::<f32>(&x.grad(&gw).expect("x").into_data(), tol);
            let gamma = norm.gamma.val();
            grad(&gamma, &gf).assert_approx_eq::<f32>(&grad(&gamma, &gw), Tolerance::absolute(1e-3));
            let beta = norm.beta.as_ref().expect("bias").val();
            grad(&beta, &gf).assert_approx_eq::<f32>(&grad(&beta, &gw), Tolerance::absolute(1e-3));
        }
    }

    #[test]
    fn untracked_inputs_take_burns_norm() {
        let device = Device::flex();
        let norm = LayerNormConfig::new(4).init(&device);
        let x = Tensor::<3>::random([1, 2, 4], Distribution::Normal(0.0, 1.0), &device);
        forward(&norm, x.clone())
            .into_data()
            .assert_approx_eq::<f32>(&norm.forward(x).into_data(), Tolerance::absolute(0.0));
    }
}
