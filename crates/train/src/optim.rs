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
        for g in self.by_path.values_mut() {
            *g = g.clone().mul_scalar(factor);
        }
    }

    /// The global L2 norm over all gradients.
    pub fn norm(&self) -> f64 {
        let sq: f64 = self
            .by_path
            .values()
            .map(|g| g.clone().powi_scalar(2).sum().into_scalar::<f32>() as f64)
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
        let config = self.opt.config.clone();
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
                    let m = match first.remove(&key) {
                        Some(m) => m.mul_scalar(beta1) + grad.clone().mul_scalar(1.0 - beta1),
                        None => grad.clone().mul_scalar(1.0 - beta1),
                    };
                    let v = match second.remove(&key) {
                        Some(v) => v.mul_scalar(beta2) + grad.powi_scalar(2).mul_scalar(1.0 - beta2),
                        None => grad.powi_scalar(2).mul_scalar(1.0 - beta2),
                    };
                    let m_hat = m.clone().div_scalar(1.0 - beta1.powi(t));
                    let v_hat = v.clone().div_scalar(1.0 - beta2.powi(t));
                    let step = m_hat / (v_hat.sqrt().add_scalar(epsilon));
                    let decayed = match config {
                        OptimizerConfig::AdamW { weight_decay, .. } if weight_decay > 0.0 => {
                            w.clone().mul_scalar(1.0 - lr * weight_decay)
                        }
                        _ => w,
                    };
                    first.insert(key.clone(), m);
                    second.insert(key.clone(), v);
                    decayed - step.mul_scalar(lr)
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
    pub fn step<M: Module>(&mut self, model: M, mut grads: Grads, lr: f64) -> M {
        self.steps += 1;
        let mut mapper = Update {
            path: PathTracker(Vec::new()),
            opt: self,
            grads: &mut grads,
            lr,
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
