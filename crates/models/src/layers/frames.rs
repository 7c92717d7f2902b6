//! Pieces every frame-level model (a vector of 0/1 units per time step,
//! predicted from the steps before it) needs: the teacher-forced input and
//! the independent-Bernoulli likelihood of a frame.

use burn::tensor::activation::log_sigmoid;
use burn::tensor::Tensor;

/// The input that predicts each frame of `frames` (`[b, t, u]`) from the
/// frames before it: a zero frame, then every frame but the last.
pub fn shifted_right(frames: Tensor<3>) -> Tensor<3> {
    let [b, t, u] = frames.dims();
    Tensor::cat(
        vec![
            Tensor::zeros([b, 1, u], &frames.device()),
            frames.slice([0..b, 0..t.saturating_sub(1), 0..u]),
        ],
        1,
    )
}

/// −log p of 0/1 `targets` under independent Bernoullis with `logits`,
/// per unit (same shape), stable for large |logit|.
pub fn bernoulli_nll<const D: usize>(targets: Tensor<D>, logits: Tensor<D>) -> Tensor<D> {
    -(targets.clone() * log_sigmoid(logits.clone()) + (targets.neg() + 1.0) * log_sigmoid(logits.neg()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn shift_and_bernoulli_known_values() {
        let d = Device::flex();
        let f = Tensor::<3>::from_data(TensorData::new(vec![1f32, 0., 0., 1., 1., 1.], [1, 3, 2]), &d);
        let s: Vec<f32> = shifted_right(f).into_data().try_into_vec().unwrap_or_default();
        assert_eq!(s, vec![0., 0., 1., 0., 0., 1.]);
        let t = Tensor::<1>::from_data(TensorData::new(vec![1f32, 0.], [2]), &d);
        let l = Tensor::<1>::from_data(TensorData::new(vec![0f32, 0.], [2]), &d);
        let nll: Vec<f32> = bernoulli_nll(t, l).into_data().try_into_vec().unwrap_or_default();
        for v in nll {
            assert!((v - std::f32::consts::LN_2).abs() < 1e-6, "{v}");
        }
    }
}
