//! The training loop: batches → loss → gradients (accumulated, clipped) →
//! update, evaluation every N steps with early stopping, checkpoints, and
//! an exact resume.
//!
//! Exactness: the batch and the dropout masks of update `s` depend only on
//! `(seed, s)` ([`crate::tasks::step_rng`], `Device::seed`), the schedule
//! is a function of `s`, and a checkpoint holds the weights and optimizer
//! moments after `s`. So a run killed after its checkpoint at `s` and
//! resumed replays updates `s+1..` exactly as the uninterrupted run did.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, TrainState};
use crate::optim::{Grads, Optimizer, OptimizerConfig};
use crate::schedule::Schedule;
use crate::tasks::{Split, Task};
use crate::TrainError;

/// How to train (saved in the run folder next to the model config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub optimizer: OptimizerConfig,
    pub schedule: Schedule,
    /// Updates in all.
    pub steps: u64,
    /// Micro-batches per update (gradient accumulation).
    pub accumulate: u32,
    /// Global gradient-norm clip.
    pub clip_norm: Option<f64>,
    /// Evaluate on the validation split every this many updates (0 = never).
    pub eval_every: u64,
    /// Stop after this many evaluations without improvement.
    pub patience: Option<u32>,
    /// Write the `last` checkpoint every this many updates.
    pub checkpoint_every: u64,
    pub seed: u64,
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), TrainError> {
        self.optimizer.validate()?;
        self.schedule.validate()?;
        if self.steps == 0 {
            return Err(TrainError::Config {
                field: "steps",
                why: "must be positive".into(),
            });
        }
        if self.accumulate == 0 {
            return Err(TrainError::Config {
                field: "accumulate",
                why: "must be at least 1".into(),
            });
        }
        if self.checkpoint_every == 0 {
            return Err(TrainError::Config {
                field: "checkpoint_every",
                why: "must be positive".into(),
            });
        }
        if let Some(c) = self.clip_norm {
            if c <= 0.0 || !c.is_finite() {
                return Err(TrainError::Config {
                    field: "clip_norm",
                    why: format!("{c} must be a positive number"),
                });
            }
        }
        Ok(())
    }
}

/// What the loop reports to its caller (the CLI draws the progress bar).
#[derive(Debug, Clone)]
pub enum Event {
    Step {
        step: u64,
        total: u64,
        loss: f64,
        lr: f64,
        units_per_s: f64,
        eta_s: f64,
    },
    Eval {
        step: u64,
        valid: f64,
        best: f64,
        improved: bool,
    },
    Checkpoint {
        step: u64,
    },
    EarlyStop {
        step: u64,
    },
    Resumed {
        step: u64,
    },
}

/// The result of a run.
#[derive(Debug)]
pub struct Outcome<M> {
    pub model: M,
    pub state: TrainState,
}

/// Mean loss per unit over a split ([`Task::eval_loss`]), without
/// gradients. `max_batches` caps the cost of the periodic evaluation.
pub fn evaluate<M: Module, T: Task<M>>(
    model: &M,
    task: &T,
    split: Split,
    device: &Device,
    max_batches: Option<usize>,
) -> (f64, usize) {
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let (mut total, mut units) = (0f64, 0usize);
    for batch in task.eval_batches(split).iter().take(max_batches.unwrap_or(usize::MAX)) {
        let (loss, n) = task.eval_loss(&model, batch, &device);
        total += loss.into_scalar::<f32>() as f64;
        units += n;
    }
    (if units > 0 { total / units as f64 } else { f64::NAN }, units)
}

fn append_metric(run_dir: &Path, value: serde_json::Value) -> Result<(), TrainError> {
    let path = run_dir.join("metrics.jsonl");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| TrainError::Io {
            path: path.clone(),
            source: e,
        })?;
    writeln!(file, "{value}").map_err(|e| TrainError::Io { path, source: e })
}

/// Drops metric lines after `step` (they belong to work a kill undid).
fn truncate_metrics(run_dir: &Path, step: u64) -> Result<(), TrainError> {
    let path = run_dir.join("metrics.jsonl");
    let Ok(text) = fs::read_to_string(&path) else {
        return Ok(());
    };
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["step"].as_u64())
                .is_some_and(|s| s <= step)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&path, kept).map_err(|e| TrainError::Io { path, source: e })
}

/// Trains `model` on `task` into `run_dir` (which must exist). With
/// `resume`, continues from the `last` checkpoint there.
///
/// Exact reproducibility (and a resume that reaches the same weights)
/// holds for one training per process: the backend's RNG, which dropout
/// draws from, is process-wide, and this loop re-seeds it at every
/// micro-step from (seed, step).
// Each argument is a separate concern the caller owns; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn train<M, T>(
    model: M,
    task: &T,
    config: &TrainConfig,
    run_dir: &Path,
    device: &Device,
    resume: bool,
    eval_max_batches: Option<usize>,
    observer: &mut dyn FnMut(&Event),
) -> Result<Outcome<M>, TrainError>
where
    M: Module + Clone,
    T: Task<M>,
{
    config.validate()?;
    let mut opt = Optimizer::new(config.optimizer.clone());
    let (mut model, mut state) = match (resume, checkpoint::find(run_dir, "last")) {
        (true, Some(dir)) => {
            let (m, s) = checkpoint::load(&dir, model, &mut opt, device)?;
            truncate_metrics(run_dir, s.step)?;
            observer(&Event::Resumed { step: s.step });
            (m, s)
        }
        (true, None) => return Err(TrainError::NothingToResume(run_dir.to_path_buf())),
        (false, _) => (
            model,
            TrainState {
                step: 0,
                seed: config.seed,
                best_valid: None,
                best_step: 0,
                evals_since_best: 0,
                elapsed_s: 0.0,
                data_position: "batches are drawn from (seed, step); none to save".into(),
            },
        ),
    };
    let started = Instant::now();
    let elapsed_before = state.elapsed_s;
    let first_step = state.step;
    let mut units_done = 0usize;
    while state.step < config.steps {
        let step = state.step + 1;
        let lr = config.schedule.lr(step);
        let mut grads = Grads::default();
        let mut loss_sum = 0f64;
        for micro in 0..config.accumulate as u64 {
            let index = (step - 1) * config.accumulate as u64 + micro + 1;
            device.seed(config.seed ^ index.wrapping_mul(0x2545_F491_4F6C_DD1D));
            let batch = task.train_batch(config.seed, index);
            let (loss, units) = task.loss(&model, &batch, device);
            let mean = loss.div_scalar(units.max(1) as f64);
            loss_sum += mean.clone().into_scalar::<f32>() as f64;
            units_done += units;
            let g = GradientsParams::from_grads(mean.backward(), &model);
            grads.accumulate(&model, g);
        }
        if config.accumulate > 1 {
            grads.scale(1.0 / config.accumulate as f64);
        }
        if let Some(max) = config.clip_norm {
            grads.clip_norm(max);
        }
        let loss = loss_sum / config.accumulate as f64;
        if !loss.is_finite() {
            return Err(TrainError::Diverged { step, loss });
        }
        let momentum = config.schedule.momentum(step);
        model = opt.step_with_momentum(model, grads, lr, momentum);
        state.step = step;
        let secs = started.elapsed().as_secs_f64();
        state.elapsed_s = elapsed_before + secs;
        let units_per_s = units_done as f64 / secs.max(1e-9);
        let eta_s = secs / (step - first_step) as f64 * (config.steps - step) as f64;
        observer(&Event::Step {
            step,
            total: config.steps,
            loss,
            lr,
            units_per_s,
            eta_s,
        });
        let mut line = serde_json::json!({"step": step, "split": "train", "loss": loss, "lr": lr});
        if let Some(m) = momentum {
            line["momentum"] = m.into();
        }
        append_metric(run_dir, line)?;

        let mut stop = false;
        if config.eval_every > 0 && step % config.eval_every == 0 {
            let (valid, _) = evaluate(&model, task, Split::Valid, device, eval_max_batches);
            let improved = state.best_valid.is_none_or(|b| valid < b);
            if improved {
                state.best_valid = Some(valid);
                state.best_step = step;
                state.evals_since_best = 0;
                checkpoint::save(run_dir, "best", &model, &opt, &state)?;
            } else {
                state.evals_since_best += 1;
            }
            append_metric(
                run_dir,
                serde_json::json!({"step": step, "split": "valid", "loss": valid, "unit": task.unit()}),
            )?;
            observer(&Event::Eval {
                step,
                valid,
                best: state.best_valid.unwrap_or(valid),
                improved,
            });
            if config.patience.is_some_and(|p| state.evals_since_best >= p) {
                observer(&Event::EarlyStop { step });
                stop = true;
            }
        }
        if step % config.checkpoint_every == 0 || step == config.steps || stop {
            checkpoint::save(run_dir, "last", &model, &opt, &state)?;
            observer(&Event::Checkpoint { step });
        }
        if stop {
            break;
        }
    }
    Ok(Outcome { model, state })
}
