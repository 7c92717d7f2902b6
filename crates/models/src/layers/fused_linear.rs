//! A linear layer (`x W + b`) with its own backward pass, as one burn
//! operation on `flex` and `Autodiff<flex>`.
//!
//! Why: burn-flex allocates every product's output through
//! `FlexTensor::empty`, which zero-fills a byte vector and then, because a
//! byte vector does not carry the backend's 16-byte alignment, copies it
//! into a fresh aligned allocation: three passes over memory before the
//! product writes a single value (perf: 8% of a Music Transformer step).
//! Under autodiff burn's linear layer is then a product plus a broadcast
//! bias addition (another `[rows, d_out]` tensor), and its backward pass two
//! more products, each allocated the same way, and a sum over rows for the
//! bias. Here the forward pass writes the bias into the output and adds the
//! product on top of it, and the backward pass writes each gradient once,
//! computing only those that a parent wants. Off `flex` (CUDA) the caller
//! keeps burn's layer.

use std::fmt;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, CheckpointStrategy, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, DispatchKindConversion, Flex};
use burn::nn::Linear;
use burn::tensor::{DispatchTensor, Tensor};
use rayon::prelude::*;

use super::recurrent::autodiff::{all_on_autodiff, all_on_flex, dense, flex_tensor, register, values};
use super::recurrent::primitives::{matmul, matmul_new, rows, rows_mut, transposed, MatRef};

/// Rows per parallel task of the bias gradient.
const ROWS: usize = 256;

/// Fewest rows per thread for which the weight gradient splits its rows
/// among the threads rather than letting gemm split the output.
const SPLIT_ROWS: usize = 256;

/// Elements per parallel task when the weight gradient's partial products
/// are summed.
const SUM_CHUNK: usize = 16 * 1024;

/// `linear.forward(x)` for `x` of any rank (the last dimension is the
/// layer's input), through the fused operation when `x` and the layer
/// live on `flex`.
pub fn forward<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    let dims = x.dims();
    let [d_in, d_out] = linear.weight.dims();
    if D < 2 || dims[D - 1] != d_in {
        return linear.forward(x);
    }
    let n_rows = dims[..D - 1].iter().product::<usize>();
    if n_rows == 0 {
        return linear.forward(x);
    }
    let shape = Shape {
        rows: n_rows,
        d_in,
        d_out,
    };
    let flat = x.clone().reshape([n_rows, d_in]);
    // A layer without a bias adds a constant zero row: one shape of
    // operation, and a constant has no gradient to compute.
    let bias = linear.bias.as_ref().map_or_else(
        || Tensor::zeros([1, d_out], &x.device()),
        |b| b.val().reshape([1, d_out]),
    );
    let out = run(&[flat, linear.weight.val(), bias].map(Tensor::into_dispatch), shape);
    match out {
        Some(y) => {
            let mut out_dims = dims;
            out_dims[D - 1] = d_out;
            y.reshape(out_dims)
        }
        None => linear.forward(x),
    }
}

/// The operation's sizes: `rows × d_in` in, `rows × d_out` out.
#[derive(Debug, Clone, Copy)]
struct Shape {
    rows: usize,
    d_in: usize,
    d_out: usize,
}

/// Untracked `flex` first (inference), then the two autodiff flavours.
fn run(inputs: &[DispatchTensor; 3], shape: Shape) -> Option<Tensor<2>> {
    if let Some(buffers) = all_on_flex(inputs) {
        let y = forward_rows(shape, &buffers);
        return Some(Tensor::from_primitive::<Flex>(flex_tensor(
            y,
            [shape.rows, shape.d_out],
        )));
    }
    tracked::<NoCheckpointing>(inputs, shape).or_else(|| tracked::<BalancedCheckpointing>(inputs, shape))
}

/// `x W + b`: the bias written first (in parallel), the product added on
/// top; a zero bias (a layer without one) is skipped.
fn forward_rows(s: Shape, buffers: &[FlexTensor]) -> Vec<f32> {
    let (x, w) = (values(&buffers[0]), values(&buffers[1]));
    let b = values(&buffers[2]);
    let x = rows(x, 0, s.rows, s.d_in, s.d_in);
    let w = rows(w, 0, s.d_in, s.d_out, s.d_out);
    if b.iter().all(|&v| v == 0.0) {
        return matmul_new(x, w, true);
    }
    let mut y: Vec<f32> = Vec::with_capacity(s.rows * s.d_out);
    y.spare_capacity_mut()[..s.rows * s.d_out]
        .par_chunks_mut(ROWS * s.d_out)
        .for_each(|block| {
            for row in block.chunks_mut(s.d_out) {
                for (r, &v) in row.iter_mut().zip(b) {
                    r.write(v);
                }
            }
        });
    // SAFETY: the loop above wrote every one of the `rows · d_out`
    // elements (each row of each block, `b` has `d_out` values).
    unsafe { y.set_len(s.rows * s.d_out) };
    matmul(rows_mut(&mut y, 0, s.rows, s.d_out, s.d_out), x, w, true, true);
    y
}

#[derive(Clone)]
struct Saved {
    shape: Shape,
    x: FlexTensor,
    weight: FlexTensor,
}

impl fmt::Debug for Saved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinearSaved")
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
struct LinearBackward;

impl LinearBackward {
    /// `dX = dY Wᵀ`.
    fn input_grad(s: &Saved, dy: &[f32]) -> Vec<f32> {
        let Shape { rows: n, d_in, d_out } = s.shape;
        matmul_new(
            rows(dy, 0, n, d_out, d_out),
            transposed(values(&s.weight), d_in, d_out, d_out),
            true,
        )
    }

    /// `dW = Xᵀ dY`. gemm shares a product's threads by splitting its
    /// output, and dW's output is small (`d_in × d_out`) for its long inner
    /// dimension (every row): on 2 threads that ran at 160–261 GFLOP/s
    /// where the forward product reaches 288–341 (`bench_gemm`). Here each
    /// thread multiplies its own block of rows instead (232–283), and the
    /// partial products are summed.
    fn weight_grad(s: &Saved, dy: &[f32]) -> Vec<f32> {
        let Shape { rows: n, d_in, d_out } = s.shape;
        let x = values(&s.x);
        let part = |r0: usize, r1: usize, parallel: bool| {
            let xt = MatRef {
                data: x,
                offset: r0 * d_in,
                rows: d_in,
                cols: r1 - r0,
                rs: 1,
                cs: d_in,
            };
            matmul_new(xt, rows(dy, r0 * d_out, r1 - r0, d_out, d_out), parallel)
        };
        let threads = rayon::current_num_threads();
        if threads < 2 || n < threads * SPLIT_ROWS {
            return part(0, n, true);
        }
        let block = n.div_ceil(threads);
        let mut partials: Vec<Vec<f32>> = (0..threads)
            .into_par_iter()
            .map(|i| part((i * block).min(n), ((i + 1) * block).min(n), false))
            .collect();
        let mut dw = partials.swap_remove(0);
        dw.par_chunks_mut(SUM_CHUNK).enumerate().for_each(|(c, acc)| {
            for p in &partials {
                acc.iter_mut().zip(&p[c * SUM_CHUNK..]).for_each(|(a, v)| *a += v);
            }
        });
        dw
    }
}

/// `db = Σ_rows dY`.
fn bias_grad(d_out: usize, dy: &[f32]) -> Vec<f32> {
    dy.par_chunks(ROWS * d_out)
        .map(|block| {
            let mut acc = vec![0.0f32; d_out];
            for row in block.chunks_exact(d_out) {
                acc.iter_mut().zip(row).for_each(|(a, v)| *a += v);
            }
            acc
        })
        .reduce(
            || vec![0.0f32; d_out],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                a
            },
        )
}

impl Backward<Flex, 3> for LinearBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let s = &ops.state;
        let dy = dense(grads.consume::<Flex>(&ops.node)).expect("a linear layer's output gradient is f32");
        let dy = values(&dy);
        let Shape { rows: n, d_in, d_out } = s.shape;
        let [x, weight, bias] = ops.parents;
        register!(grads, x, Self::input_grad(s, dy), [n, d_in]);
        register!(grads, weight, Self::weight_grad(s, dy), [d_in, d_out]);
        register!(grads, bias, bias_grad(d_out, dy), [1, d_out]);
    }
}

fn tracked<C: CheckpointStrategy>(t: &[DispatchTensor; 3], shape: Shape) -> Option<Tensor<2>>
where
    DispatchTensor: DispatchKindConversion<Autodiff<Flex, C>>,
{
    let (buffers, nodes) = all_on_autodiff::<C, 3>(t)?;
    let y = flex_tensor(forward_rows(shape, &buffers), [shape.rows, shape.d_out]);
    let [x, weight, _] = &buffers;
    let out = match LinearBackward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(
            Saved {
                shape,
                x: x.clone(),
                weight: weight.clone(),
            },
            y,
        ),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(Tensor::from_primitive::<Autodiff<Flex, C>>(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, Distribution, Tolerance};

    /// Outputs and all three gradients against burn's own layer, for
    /// rank 2 and 3 inputs, with and without a bias, across the sizes where
    /// gemm switches to threads.
    #[test]
    fn the_fused_layer_and_its_gradients_equal_burns() {
        let device = Device::flex().autodiff();
        for (b, t, d_in, d_out, bias) in [
            (2, 3, 5, 7, true),
            (1, 1, 1, 1, true),
            (3, 70, 256, 130, true),
            (2, 17, 64, 33, false),
            (4, 128, 128, 512, true),
        ] {
            let mut linear = LinearConfig::new(d_in, d_out).with_bias(bias).init(&device);
            if let Some(b) = linear.bias.take() {
                // Non-zero, so that the bias term matters.
                linear.bias = Some(b.map(|p| p.random_like(Distribution::Normal(0.0, 1.0)).require_grad()));
            }
            let x = Tensor::<3>::random([b, t, d_in], Distribution::Normal(0.0, 1.0), &device).require_grad();
            let w = Tensor::<3>::random([b, t, d_out], Distribution::Normal(0.0, 1.0), &device);
            let fused = forward(&linear, x.clone());
            let want = linear.forward(x.clone());
            let tol = Tolerance::absolute(1e-3);
            fused
                .clone()
                .into_data()
                .assert_approx_eq::<f32>(&want.clone().into_data(), tol);
            let gf = (fused * w.clone()).sum().backward();
            let gw = (want * w).sum().backward();
            x.grad(&gf)
                .expect("x")
                .into_data()
                .assert_approx_eq::<f32>(&x.grad(&gw).expect("x").into_data(), tol);
            let weight = linear.weight.val();
            weight
                .grad(&gf)
                .expect("W")
                .into_data()
                .assert_approx_eq::<f32>(&weight.grad(&gw).expect("W").into_data(), Tolerance::absolute(1e-2));
            if let Some(bias) = &linear.bias {
                let bias = bias.val();
                bias.grad(&gf)
                    .expect("b")
                    .into_data()
                    .assert_approx_eq::<f32>(&bias.grad(&gw).expect("b").into_data(), Tolerance::absolute(1e-2));
            }
        }
    }

    #[test]
    fn a_rank_two_input_and_plain_flex_give_burns_values() {
        let device = Device::flex();
        let linear = LinearConfig::new(6, 4).init(&device);
        let x = Tensor::<2>::random([5, 6], Distribution::Normal(0.0, 1.0), &device);
        forward(&linear, x.clone())
            .into_data()
            .assert_approx_eq::<f32>(&linear.forward(x).into_data(), Tolerance::absolute(1e-5));
    }

    #[test]
    fn a_frozen_input_gets_no_gradient_and_the_weights_still_do() {
        let device = Device::flex().autodiff();
        let linear = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::random([4, 3], Distribution::Normal(0.0, 1.0), &device);
        let grads = forward(&linear, x.clone()).sum().backward();
        assert!(x.grad(&grads).is_none());
        let dw = linear.weight.val().grad(&grads).expect("W");
        // d(Σ xW)/dW[i][j] = Σ_rows x[r][i], the same for every column j.
        let xs: Vec<f32> = x.into_data().try_to_vec().expect("f32");
        let col: Vec<f32> = (0..3).map(|i| xs.chunks(3).map(|r| r[i]).sum()).collect();
        let dw: Vec<f32> = dw.into_data().try_to_vec().expect("f32");
        for (i, c) in col.iter().enumerate() {
            for j in 0..2 {
                assert!(
                    (dw[i * 2 + j] - c).abs() < 1e-5,
                    "dW[{i}][{j}] = {} ≠ {c}",
                    dw[i * 2 + j]
                );
            }
        }
    }
}
