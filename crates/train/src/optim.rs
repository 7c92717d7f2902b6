//! Optimizers (SGD with momentum, Adam, AdamW), gradient accumulation and
//! global-norm clipping, with their state keyed by parameter *path*.
//!
//! Why not burn's `ModuleOptimizer`: it keys the moments by `ParamId`,
//! which burn draws at random when a module is built and which safetensors
//! does not store. A run resumed from a safetensors checkpoint would get
//! new ids and silently restart Adam from zero moments. Keying by the
//! module path (`blocks.2.attention.query.weight`) makes the optimizer
//! state a plain named-tensor file that survives a restart exactly.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use fugue_models::layers::flex_buffer::FlexBuffer;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// Which update rule, with its hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerConfig {
    Sgd {
        momentum: f64,
        weight_decay: f64,
    },
    Adam {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
    },
    AdamW {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
        weight_decay: f64,
    },
}

impl OptimizerConfig {
    pub fn adam() -> Self {
        Self::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }

    pub fn adamw(weight_decay: f64) -> Self {
        Self::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay,
        }
    }

    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |field: &'static str, why: String| Err(TrainError::Config { field, why });
        match *self {
            Self::Sgd { momentum, weight_decay } => {
                if !(0.0..1.0).contains(&momentum) {
                    return bad("optimizer.momentum", format!("{momentum} is not in [0, 1)"));
                }
                if weight_decay < 0.0 {
                    return bad("optimizer.weight_decay", "must be ≥ 0".into());
                }
            }
            Self::Adam { beta1, beta2, epsilon }
            | Self::AdamW {
                beta1, beta2, epsilon, ..
            } => {
                if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) {
                    return bad("optimizer.beta1", format!("betas ({beta1}, {beta2}) must be in [0, 1)"));
                }
                if epsilon <= 0.0 {
                    return bad("optimizer.epsilon", "must be > 0".into());
                }
            }
        }
        Ok(())
    }
}

/// Gradients by parameter path, flattened (accumulated over micro-batches
/// before one update).
#[derive(Debug, Default)]
pub struct Grads {
    pub by_path: BTreeMap<String, Tensor<1>>,
}

struct PathTracker(Vec<String>);

impl PathTracker {
    fn enter(&mut self, name: &str) {
        self.0.push(name.to_string());
    }
    fn exit(&mut self) {
        self.0.pop();
    }
    fn path(&self) -> String {
        self.0.join(".")
    }
}

struct Collect<'a> {
    path: PathTracker,
    grads: &'a mut GradientsParams,
    out: &'a mut Grads,
}

impl ModuleVisitor for Collect<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.enter(name);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let n = g.shape().num_elements();
            let flat = g.reshape([n]);
            let key = self.path.path();
            let sum = match self.out.by_path.remove(&key) {
                Some(prev) => prev + flat,
                None => flat,
            };
            self.out.by_path.insert(key, sum);
        }
    }
}

impl Grads {
    /// Adds the gradients of one backward pass.
    pub fn accumulate<M: Module>(&mut self, model: &M, mut grads: GradientsParams) {
        let mut visitor = Collect {
            path: PathTracker(Vec::new()),
            grads: &mut grads,
            out: self,
        };
        model.visit(&mut visitor);
    }

    /// Multiplies every gradient by `factor` (averaging accumulated passes).
    pub fn scale(&mut self, factor: f64) {
        let scaled = |t: Tensor<1>| {
            if FlexBuffer::is_cpu(&t) {
                let mut b = FlexBuffer::of(t);
                let f = factor as f32;
                b.values_mut().iter_mut().for_each(|x| *x *= f);
                b.into_tensor()
            } else {
                t.mul_scalar(factor)
            }
        };
        self.by_path = std::mem::take(&mut self.by_path)
            .into_iter()
            .map(|(path, g)| (path, scaled(g)))
            .collect();
    }

    /// The global L2 norm over all gradients.
    pub fn norm(&self) -> f64 {
        let sq: f64 = self
            .by_path
            .values()
            .map(|g| {
                if FlexBuffer::is_cpu(g) {
                    // On the CPU a read of the buffer, not a graph of three
                    // operations and a synchronisation per parameter.
                    f64::from(sum_of_squares(FlexBuffer::of(g.clone()).values()))
                } else {
                    g.clone().powi_scalar(2).sum().into_scalar::<f32>() as f64
                }
            })
            .sum();
        sq.sqrt()
    }

    /// Scales all gradients so their global norm is at most `max_norm`;
    /// returns the norm before clipping.
    pub fn clip_norm(&mut self, max_norm: f64) -> f64 {
        let norm = self.norm();
        if norm > max_norm && norm.is_finite() {
            self.scale(max_norm / (norm + 1e-6));
        }
        norm
    }
}

/// The update rule and its per-parameter state.
#[derive(Debug, Clone)]
pub struct Optimizer {
    pub config: OptimizerConfig,
    /// Updates applied so far (Adam's bias correction uses it).
    pub steps: u64,
    /// First moment (or SGD velocity) by parameter path.
    pub first: BTreeMap<String, Tensor<1>>,
    /// Second moment by parameter path (Adam/AdamW).
    pub second: BTreeMap<String, Tensor<1>>,
}

struct Update<'a> {
    path: PathTracker,
    opt: &'a mut Optimizer,
    grads: &'a mut Grads,
    lr: f64,
    /// A schedule's momentum for this update (SGD's momentum, Adam's β1).
    momentum: Option<f64>,
}

impl ModuleMapper for Update<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.enter(name);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.exit();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let key = self.path.path();
        let Some(grad) = self.grads.by_path.remove(&key) else {
            return param;
        };
        let (lr, t) = (self.lr, self.opt.steps as i32);
        let config = match (self.opt.config.clone(), self.momentum) {
            (OptimizerConfig::Sgd { weight_decay, .. }, Some(momentum)) => {
                OptimizerConfig::Sgd { momentum, weight_decay }
            }
            (OptimizerConfig::Adam { beta2, epsilon, .. }, Some(beta1)) => {
                OptimizerConfig::Adam { beta1, beta2, epsilon }
            }
            (
                OptimizerConfig::AdamW {
                    beta2,
                    epsilon,
                    weight_decay,
                    ..
                },
                Some(beta1),
            ) => OptimizerConfig::AdamW {
                beta1,
                beta2,
                epsilon,
                weight_decay,
            },
            (config, _) => config,
        };
        let first = &mut self.opt.first;
        let second = &mut self.opt.second;
        param.map(|tensor| {
            let require_grad = tensor.is_require_grad();
            let dims = tensor.dims();
            let n = tensor.shape().num_elements();
            let w = tensor.inner().reshape([n]);
            let grad = grad.to_device(&w.device());
            let new = match config {
                OptimizerConfig::Sgd { momentum, weight_decay } => {
                    let g = if weight_decay > 0.0 {
                        grad + w.clone().mul_scalar(weight_decay)
                    } else {
                        grad
                    };
                    let v = match first.remove(&key) {
                        Some(v) if momentum > 0.0 => v.mul_scalar(momentum) + g,
                        _ => g,
                    };
                    let out = w - v.clone().mul_scalar(lr);
                    if momentum > 0.0 {
                        first.insert(key.clone(), v);
                    }
                    out
                }
                OptimizerConfig::Adam { beta1, beta2, epsilon }
                | OptimizerConfig::AdamW {
                    beta1, beta2, epsilon, ..
                } => {
                    let weight_decay = match config {
                        OptimizerConfig::AdamW { weight_decay, .. } => weight_decay,
                        _ => 0.0,
                    };
                    let h = AdamStep {
                        beta1,
                        beta2,
                        epsilon,
                        weight_decay,
                        lr,
                        t,
                    };
                    let (out, m, v) = h.apply(w, grad, first.remove(&key), second.remove(&key));
                    first.insert(key.clone(), m);
                    second.insert(key.clone(), v);
                    out
                }
            };
            let updated = Tensor::from_inner(new.reshape(dims));
            if require_grad {
                updated.require_grad()
            } else {
                updated
            }
        })
    }
}

/// One Adam/AdamW update's hyperparameters (`t` = updates so far, for the
/// bias correction).
struct AdamStep {
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    weight_decay: f64,
    lr: f64,
    t: i32,
}

impl AdamStep {
    /// The updated weight and moments. On the CPU one fused pass over plain
    /// buffers ([`adam_in_place`]); elsewhere (CUDA) burn's tensor
    /// operations, which compute the same thing.
    fn apply(
        &self,
        w: Tensor<1>,
        grad: Tensor<1>,
        m: Option<Tensor<1>>,
        v: Option<Tensor<1>>,
    ) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
        // Everything an update touches lives where the weight does.
        if FlexBuffer::is_cpu(&w) {
            self.fused(w, grad, m, v)
        } else {
            self.tensors(w, grad, m, v)
        }
    }

    fn fused(
        &self,
        w: Tensor<1>,
        grad: Tensor<1>,
        m: Option<Tensor<1>>,
        v: Option<Tensor<1>>,
    ) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
        let mut wb = FlexBuffer::of(w);
        let gb = FlexBuffer::of(grad);
        let n = gb.values().len();
        let moment = |t: Option<Tensor<1>>| FlexBuffer::of(t.unwrap_or_else(|| Tensor::zeros([n], &Device::flex())));
        let (mut mb, mut vb) = (moment(m), moment(v));
        let decay = if self.weight_decay > 0.0 {
            (1.0 - self.lr * self.weight_decay) as f32
        } else {
            1.0
        };
        let k = [
            self.beta1 as f32,
            (1.0 - self.beta1) as f32,
            self.beta2 as f32,
            (1.0 - self.beta2) as f32,
            (1.0 - self.beta1.powi(self.t)) as f32,
            (1.0 - self.beta2.powi(self.t)) as f32,
            self.epsilon as f32,
            self.lr as f32,
            decay,
        ];
        // Large parameters in chunks over the threads (the update is
        // element-wise, so the chunks are independent).
        const CHUNK: usize = 1 << 15;
        wb.values_mut()
            .par_chunks_mut(CHUNK)
            .zip(gb.values().par_chunks(CHUNK))
            .zip(mb.values_mut().par_chunks_mut(CHUNK))
            .zip(vb.values_mut().par_chunks_mut(CHUNK))
            .for_each(|(((w, g), m), v)| adam_in_place(w, g, m, v, k));
        (wb.into_tensor(), mb.into_tensor(), vb.into_tensor())
    }

    fn tensors(
        &self,
        w: Tensor<1>,
        grad: Tensor<1>,
        m: Option<Tensor<1>>,
        v: Option<Tensor<1>>,
    ) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
        let (beta1, beta2) = (self.beta1, self.beta2);
        let m = match m {
            Some(m) => m.mul_scalar(beta1) + grad.clone().mul_scalar(1.0 - beta1),
            None => grad.clone().mul_scalar(1.0 - beta1),
        };
        let v = match v {
            Some(v) => v.mul_scalar(beta2) + grad.powi_scalar(2).mul_scalar(1.0 - beta2),
            None => grad.powi_scalar(2).mul_scalar(1.0 - beta2),
        };
        let m_hat = m.clone().div_scalar(1.0 - beta1.powi(self.t));
        let v_hat = v.clone().div_scalar(1.0 - beta2.powi(self.t));
        let step = m_hat / (v_hat.sqrt().add_scalar(self.epsilon));
        let decayed = if self.weight_decay > 0.0 {
            w.mul_scalar(1.0 - self.lr * self.weight_decay)
        } else {
            w
        };
        (decayed - step.mul_scalar(self.lr), m, v)
    }
}

fugue_models::multiversion! {
/// `Σ x²` in sixteen independent chains (one chain cannot be vectorised:
/// reassociating a float sum changes it).
fn sum_of_squares(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v * v;
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().map(|v| v * v).sum::<f32>()
}
}

fugue_models::multiversion! {
/// Adam/AdamW on plain buffers, one pass: `k` is (β1, 1−β1, β2, 1−β2,
/// 1−β1ᵗ, 1−β2ᵗ, ε, lr, 1−lr·λ); the operations are the tensor path's, in
/// its order.
fn adam_in_place(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: [f32; 9]) {
    let [b1, c1, b2, c2, bc1, bc2, eps, lr, decay] = k;
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = *m * b1 + g * c1;
        *v = *v * b2 + (g * g) * c2;
        let step = (*m / bc1) / ((*v / bc2).sqrt() + eps);
        *w = *w * decay - step * lr;
    }
}
}

impl Optimizer {
    pub fn new(config: OptimizerConfig) -> Self {
        Self {
            config,
            steps: 0,
            first: BTreeMap::new(),
            second: BTreeMap::new(),
        }
    }

    /// Applies one update with learning rate `lr`; consumes the gradients.
    pub fn step<M: Module>(&mut self, model: M, grads: Grads, lr: f64) -> M {
        self.step_with_momentum(model, grads, lr, None)
    }

    /// [`Optimizer::step`], with the momentum (SGD) or β1 (Adam, AdamW) of
    /// this update set by a schedule (1cycle) instead of the configuration.
    pub fn step_with_momentum<M: Module>(&mut self, model: M, mut grads: Grads, lr: f64, momentum: Option<f64>) -> M {
        self.steps += 1;
        let mut mapper = Update {
            path: PathTracker(Vec::new()),
            opt: self,
            grads: &mut grads,
            lr,
            momentum,
        };
        model.map(&mut mapper)
    }

    /// The moments as named tensors (`first/<path>`, `second/<path>`) for
    /// a safetensors file.
    pub fn state_tensors(&self) -> Vec<(String, Vec<f32>)> {
        let mut out = Vec::new();
        for (prefix, map) in [("first", &self.first), ("second", &self.second)] {
            for (path, t) in map {
                let values: Vec<f32> = t
                    .clone()
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .unwrap_or_default();
                out.push((format!("{prefix}/{path}"), values));
            }
        }
        out
    }

    /// Restores moments saved by [`Optimizer::state_tensors`].
    pub fn load_state_tensors(&mut self, tensors: Vec<(String, Vec<f32>)>, device: &Device) -> Result<(), TrainError> {
        self.first.clear();
        self.second.clear();
        for (name, values) in tensors {
            let n = values.len();
            let tensor = Tensor::<1>::from_data(TensorData::new(values, [n]), device);
            match name.split_once('/') {
                Some(("first", path)) => self.first.insert(path.to_string(), tensor),
                Some(("second", path)) => self.second.insert(path.to_string(), tensor),
                _ => return Err(TrainError::Checkpoint(format!("unexpected optimizer tensor `{name}`"))),
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(values: &[f32]) -> Tensor<1> {
        Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), &Device::flex())
    }

    fn values(t: &Tensor<1>) -> Vec<f32> {
        t.clone().into_data().try_to_vec::<f32>().expect("f32")
    }

    /// The fused CPU update and burn's tensor operations agree over several
    /// steps, with and without decoupled weight decay, from zero moments.
    #[test]
    fn fused_adam_matches_the_tensor_path() {
        let n = 37;
        let w0: Vec<f32> = (0..n).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
        for weight_decay in [0.0, 0.01] {
            let (mut wf, mut wt) = (tensor(&w0), tensor(&w0));
            let (mut mf, mut vf, mut mt, mut vt) = (None, None, None, None);
            for t in 1..=4 {
                let g: Vec<f32> = (0..n).map(|i| (((i + 3 * t) * 31) % 17) as f32 / 8.0 - 1.0).collect();
                let h = AdamStep {
                    beta1: 0.9,
                    beta2: 0.98,
                    epsilon: 1e-8,
                    weight_decay,
                    lr: 3e-3,
                    t,
                };
                assert!(FlexBuffer::is_cpu(&wf), "flex tensors take the fused path");
                let (w, m, v) = h.fused(wf, tensor(&g), mf, vf);
                (wf, mf, vf) = (w, Some(m), Some(v));
                let (w, m, v) = h.tensors(wt, tensor(&g), mt, vt);
                (wt, mt, vt) = (w, Some(m), Some(v));
            }
            for (a, b) in values(&wf).iter().zip(values(&wt)) {
                assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "weight {a} vs {b}");
            }
            for (a, b) in [(&mf, &mt), (&vf, &vt)] {
                let (a, b) = (a.as_ref().map(values), b.as_ref().map(values));
                for (x, y) in a.unwrap_or_default().iter().zip(b.unwrap_or_default()) {
                    assert!((x - y).abs() <= 1e-6 * y.abs().max(1e-3), "moment {x} vs {y}");
                }
            }
            assert_ne!(values(&wf), w0, "the update moved the weights");
        }
    }

    #[derive(burn::module::Module, Debug)]
    struct One {
        w: Param<Tensor<1>>,
    }

    /// A schedule's momentum replaces SGD's configured one: two updates of
    /// gradient 1 at rate 0.1 move w by 0.1 · (1 + (0.9 + 1)) = 0.29 with
    /// momentum 0.9, by 0.2 with the configured 0.
    #[test]
    fn scheduled_momentum_overrides_sgd() {
        for (momentum, moved) in [(Some(0.9), 0.29), (None, 0.2)] {
            let mut model = One {
                w: Param::from_tensor(tensor(&[1.0])),
            };
            let mut opt = Optimizer::new(OptimizerConfig::Sgd {
                momentum: 0.0,
                weight_decay: 0.0,
            });
            for _ in 0..2 {
                let mut grads = Grads::default();
                grads.by_path.insert("w".into(), tensor(&[1.0]));
                model = opt.step_with_momentum(model, grads, 0.1, momentum);
            }
            let w = values(&model.w.val())[0];
            assert!((1.0 - w - moved).abs() < 1e-6, "{momentum:?}: moved {}", 1.0 - w);
        }
    }

    /// Scaling and the global norm read the CPU buffers directly.
    #[test]
    fn scale_and_norm_on_cpu_buffers() {
        let mut grads = Grads::default();
        grads.by_path.insert("a".into(), tensor(&[3.0, 0.0]));
        grads.by_path.insert("b".into(), tensor(&[4.0]));
        assert!((grads.norm() - 5.0).abs() < 1e-9);
        let before = grads.clip_norm(1.0);
        assert!((before - 5.0).abs() < 1e-9);
        assert!((grads.norm() - 1.0).abs() < 1e-5);
        assert!((values(&grads.by_path["a"])[0] - 0.6).abs() < 1e-6);
    }
}
