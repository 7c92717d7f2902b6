//! The fused attention against burn's tensor operations (the path CUDA
//! takes): outputs and every input's gradient, relative or not, with
//! windows, lengths off the block size, and dropout with the same mask.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Distribution, Tensor, TensorData, Tolerance};

use super::attention;
use super::kernels::{drop_threshold, kept};
use crate::layers::relative_attention::{causal_mask, skew};

struct Case {
    batch: usize,
    time: usize,
    heads: usize,
    d_head: usize,
    relative: bool,
    window: usize,
    dropout: f32,
}

const SEED: u64 = 0x5eed;

/// The dropout mask the kernels draw, as a `[b, h, t, t]` tensor of
/// `1/(1-p)` and 0.
fn mask_tensor(c: &Case, device: &Device) -> Tensor<4> {
    let threshold = drop_threshold(c.dropout);
    let scale = 1.0 / (1.0 - c.dropout);
    let mut m = Vec::with_capacity(c.batch * c.heads * c.time * c.time);
    for task in 0..c.batch * c.heads {
        for i in 0..c.time {
            for j in 0..c.time {
                m.push(if kept(SEED, task, i, j, threshold) { scale } else { 0.0 });
            }
        }
    }
    Tensor::from_data(TensorData::new(m, [c.batch, c.heads, c.time, c.time]), device)
}

/// Attention through burn's operations, as `RelativeAttention::forward`
/// computes it.
fn reference(c: &Case, q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, e: Option<Tensor<3>>) -> Tensor<3> {
    let [b, t, dm] = q.dims();
    let split = |x: Tensor<3>| x.reshape([b, t, c.heads, c.d_head]).swap_dims(1, 2);
    let (q, k, v) = (split(q), split(k), split(v));
    let q = q.mul_scalar((c.d_head as f64).powf(-0.5));
    let mut logits = q.clone().matmul(k.swap_dims(2, 3));
    if let Some(e) = e {
        logits = logits + skew(q.matmul(e.swap_dims(1, 2).unsqueeze_dim(0)));
    }
    let mask = causal_mask(t, c.window, &logits.device());
    let mut w = softmax(logits.mask_fill(mask, -1e9), 3);
    if c.dropout > 0.0 {
        let m = mask_tensor(c, &w.device());
        w = w * m;
    }
    w.matmul(v).swap_dims(1, 2).reshape([b, t, dm])
}

fn check(c: Case) {
    let device = Device::flex().autodiff();
    let dm = c.heads * c.d_head;
    let rnd = |shape: [usize; 3]| Tensor::<3>::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad();
    let (q, k, v) = (
        rnd([c.batch, c.time, dm]),
        rnd([c.batch, c.time, dm]),
        rnd([c.batch, c.time, dm]),
    );
    let e = c.relative.then(|| rnd([c.heads, c.time, c.d_head]));
    let weights = Tensor::<3>::random([c.batch, c.time, dm], Distribution::Normal(0.0, 1.0), &device);

    let fused = attention(&q, &k, &v, e.as_ref(), c.heads, c.window, c.dropout, SEED).expect("flex tensors");
    let want = reference(&c, q.clone(), k.clone(), v.clone(), e.clone());
    let tol = Tolerance::absolute(2e-4);
    fused
        .clone()
        .into_data()
        .assert_approx_eq::<f32>(&want.clone().into_data(), tol);

    let g_fused = (fused * weights.clone()).sum().backward();
    let g_want = (want * weights).sum().backward();
    let mut params = vec![("q", q), ("k", k), ("v", v)];
    if let Some(e) = e {
        params.push(("e", e));
    }
    for (name, p) in params {
        let a = p
            .grad(&g_fused)
            .unwrap_or_else(|| panic!("fused: no gradient for {name}"));
        let b = p
            .grad(&g_want)
            .unwrap_or_else(|| panic!("reference: no gradient for {name}"));
        a.into_data().assert_approx_eq::<f32>(&b.into_data(), tol);
    }
}

#[test]
fn relative_attention_and_its_gradients_match_the_tensor_path() {
    for (batch, time) in [(2, 5), (1, 64), (2, 70), (1, 130)] {
        check(Case {
            batch,
            time,
            heads: 3,
            d_head: 4,
            relative: true,
            window: 0,
            dropout: 0.0,
        });
    }
}

#[test]
fn plain_attention_and_its_gradients_match_the_tensor_path() {
    for (batch, time) in [(2, 1), (3, 17), (1, 129)] {
        check(Case {
            batch,
            time,
            heads: 2,
            d_head: 8,
            relative: false,
            window: 0,
            dropout: 0.0,
        });
    }
}

#[test]
fn local_windows_match_the_tensor_path() {
    for (window, relative) in [(1, true), (3, false), (20, true), (200, true)] {
        check(Case {
            batch: 2,
            time: 90,
            heads: 2,
            d_head: 4,
            relative,
            window,
            dropout: 0.0,
        });
    }
}

#[test]
fn dropout_drops_the_same_weights_forward_and_backward() {
    for relative in [true, false] {
        check(Case {
            batch: 2,
            time: 70,
            heads: 2,
            d_head: 4,
            relative,
            window: 0,
            dropout: 0.3,
        });
    }
}

#[test]
fn dropout_keeps_about_the_share_asked_for() {
    let threshold = drop_threshold(0.25);
    let n = 200_000;
    let kept_count = (0..n)
        .filter(|&x| kept(7, x % 13, x / 13 % 100, x / 1300, threshold))
        .count();
    let share = kept_count as f64 / n as f64;
    assert!((share - 0.75).abs() < 0.01, "kept {share}");
}

#[test]
fn untracked_inputs_run_forward_only_without_dropout() {
    let device = Device::flex();
    let rnd = |shape: [usize; 3]| Tensor::<3>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let (q, k, v, e) = (rnd([1, 9, 8]), rnd([1, 9, 8]), rnd([1, 9, 8]), rnd([2, 9, 4]));
    let a = attention(&q, &k, &v, Some(&e), 2, 0, 0.5, 1).expect("flex tensors");
    let b = attention(&q, &k, &v, Some(&e), 2, 0, 0.0, 1).expect("flex tensors");
    a.into_data()
        .assert_approx_eq::<f32>(&b.into_data(), Tolerance::absolute(0.0));
    // Mismatched shapes are refused, not guessed at.
    assert!(attention(&q, &k, &v, Some(&rnd([2, 8, 4])), 2, 0, 0.0, 1).is_none());
}
