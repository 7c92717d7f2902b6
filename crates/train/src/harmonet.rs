//! HARMONET's task: predict the harmonic function of each quarter beat
//! from that beat's input vector (melody window, the three harmonies
//! before it — Bach's own while training, teacher forcing — and phrase
//! position; built by `fugue-tokens`' `harmonet`).
//!
//! Each beat is one example, so a batch is a set of beats drawn uniformly
//! from the whole training split (a pure function of `(seed, step)`, so a
//! resumed run sees the same batches). Evaluation covers every beat of a
//! split once, in order; the unit is the beat. [`harmony_scores`] adds
//! the accuracy of the most likely label.

use burn::tensor::{Device, Int, Tensor, TensorData};
use fugue_models::harmonet::Harmonet;
use rand::Rng;

use crate::tasks::{step_rng, Split, Task};
use crate::TrainError;

/// Beats of one split: inputs row-major (`labels.len() × width`) and labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Beats {
    pub inputs: Vec<f32>,
    pub labels: Vec<u32>,
}

impl Beats {
    /// Collects `(inputs, label)` pairs; every input must be `width` long.
    pub fn new(examples: impl IntoIterator<Item = (Vec<f32>, u32)>, width: usize) -> Result<Self, TrainError> {
        let mut out = Beats::default();
        for (i, (x, y)) in examples.into_iter().enumerate() {
            if x.len() != width {
                return Err(TrainError::Config {
                    field: "data",
                    why: format!("beat {i} has {} inputs, not {width}", x.len()),
                });
            }
            out.inputs.extend(x);
            out.labels.push(y);
        }
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// The three splits and how to batch them.
#[derive(Debug, Clone)]
pub struct HarmonetTask {
    pub train: Beats,
    pub valid: Beats,
    pub test: Beats,
    /// Inputs per beat.
    pub width: usize,
    /// Output classes: every label must be below it.
    pub labels: usize,
    pub batch_size: usize,
}

/// `rows` beats: inputs `[rows, width]`, labels `[rows]`.
#[derive(Debug, Clone)]
pub struct HarmonetBatch {
    pub inputs: Vec<f32>,
    pub labels: Vec<i64>,
    pub rows: usize,
}

impl HarmonetTask {
    pub fn new(
        train: Beats,
        valid: Beats,
        test: Beats,
        width: usize,
        labels: usize,
        batch_size: usize,
    ) -> Result<Self, TrainError> {
        if train.is_empty() {
            return Err(TrainError::Config {
                field: "data",
                why: "the training split has no beats".into(),
            });
        }
        if batch_size == 0 || width == 0 {
            return Err(TrainError::Config {
                field: if batch_size == 0 { "batch_size" } else { "width" },
                why: "must be positive".into(),
            });
        }
        for (name, split) in [("train", &train), ("valid", &valid), ("test", &test)] {
            if split.inputs.len() != split.len() * width {
                return Err(TrainError::Config {
                    field: "data",
                    why: format!("{name}: inputs are not {width} per beat"),
                });
            }
            if let Some(&y) = split.labels.iter().find(|&&y| y as usize >= labels) {
                return Err(TrainError::Config {
                    field: "data",
                    why: format!("{name}: label {y} is outside the {labels} classes"),
                });
            }
        }
        Ok(Self {
            train,
            valid,
            test,
            width,
            labels,
            batch_size,
        })
    }

    pub fn split(&self, split: Split) -> &Beats {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }

    fn batch_of(&self, beats: &Beats, rows: impl Iterator<Item = usize>) -> HarmonetBatch {
        let mut b = HarmonetBatch {
            inputs: Vec::new(),
            labels: Vec::new(),
            rows: 0,
        };
        for i in rows {
            b.inputs
                .extend_from_slice(&beats.inputs[i * self.width..(i + 1) * self.width]);
            b.labels.push(i64::from(beats.labels[i]));
            b.rows += 1;
        }
        b
    }

    fn tensors(&self, batch: &HarmonetBatch, device: &Device) -> (Tensor<2>, Tensor<2, Int>) {
        (
            Tensor::from_data(TensorData::new(batch.inputs.clone(), [batch.rows, self.width]), device),
            Tensor::from_data(TensorData::new(batch.labels.clone(), [batch.rows, 1]), device),
        )
    }
}

impl Task<Harmonet> for HarmonetTask {
    type Batch = HarmonetBatch;

    fn train_batch(&self, seed: u64, step: u64) -> HarmonetBatch {
        let mut rng = step_rng(seed, step, 11);
        let n = self.train.len();
        let rows: Vec<usize> = (0..self.batch_size).map(|_| rng.random_range(0..n)).collect();
        self.batch_of(&self.train, rows.into_iter())
    }

    fn eval_batches(&self, split: Split) -> Vec<HarmonetBatch> {
        let beats = self.split(split);
        (0..beats.len())
            .step_by(self.batch_size)
            .map(|start| self.batch_of(beats, start..(start + self.batch_size).min(beats.len())))
            .collect()
    }

    fn loss(&self, model: &Harmonet, batch: &HarmonetBatch, device: &Device) -> (Tensor<1>, usize) {
        let (x, y) = self.tensors(batch, device);
        (model.log_probs(x).gather(1, y).sum().neg(), batch.rows)
    }

    fn unit(&self) -> &'static str {
        "beat"
    }
}

/// NLL (nats per beat) and accuracy of the most likely label on a split;
/// `coarse_accuracy`: how often the most likely label falls in the true
/// label's class under a coarser grouping (HARMONET: the function alone,
/// without inversion and seventh).
#[derive(Debug, Clone, PartialEq)]
pub struct HarmonyScores {
    pub nll: f64,
    pub accuracy: f64,
    pub coarse_accuracy: f64,
    pub beats: usize,
}

/// [`HarmonyScores`] of `model` on `split` (no dropout); `coarse` maps a
/// label to its coarser class.
pub fn harmony_scores(
    model: &Harmonet,
    task: &HarmonetTask,
    split: Split,
    device: &Device,
    coarse: &dyn Fn(u32) -> u32,
) -> HarmonyScores {
    use burn::module::Module;
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let (mut nll, mut hits, mut coarse_hits, mut beats) = (0f64, 0usize, 0usize, 0usize);
    for batch in <HarmonetTask as Task<Harmonet>>::eval_batches(task, split) {
        let (x, _) = task.tensors(&batch, &device);
        let logp = model.log_probs(x).into_data();
        let Ok(values) = logp.as_slice::<f32>() else {
            continue;
        };
        let classes = values.len() / batch.rows.max(1);
        for (r, &y) in batch.labels.iter().enumerate() {
            let row = &values[r * classes..(r + 1) * classes];
            nll -= f64::from(row.get(y as usize).copied().unwrap_or(f32::NEG_INFINITY));
            let best = (0..classes).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
            hits += usize::from(best as i64 == y);
            coarse_hits += usize::from(coarse(best as u32) == coarse(y as u32));
        }
        beats += batch.rows;
    }
    let per = |x: f64| if beats > 0 { x / beats as f64 } else { f64::NAN };
    HarmonyScores {
        nll: per(nll),
        accuracy: per(hits as f64),
        coarse_accuracy: per(coarse_hits as f64),
        beats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{train, OptimizerConfig, Schedule, TrainConfig};
    use burn::optim::GradientsParams;
    use fugue_models::harmonet::HarmonetConfig;

    /// Eight beats whose label is which of the first four inputs is on.
    fn beats(n: usize) -> Beats {
        Beats::new(
            (0..n).map(|i| {
                let mut x = vec![0.0; 6];
                x[i % 4] = 1.0;
                x[4 + i % 2] = 1.0;
                (x, (i % 4) as u32 + 1)
            }),
            6,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn task() -> HarmonetTask {
        HarmonetTask::new(beats(8), beats(5), Beats::default(), 6, 5, 4).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_parameter_gets_a_gradient() {
        let d = Device::flex().autodiff();
        let t = task();
        let model = HarmonetConfig::tiny(6, 5).init(&d).unwrap_or_else(|e| panic!("{e}"));
        let batch = <HarmonetTask as Task<Harmonet>>::train_batch(&t, 1, 1);
        let (loss, n) = t.loss(&model, &batch, &d);
        assert_eq!(n, 4);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let nonzero2 = |id| {
            grads
                .get::<2>(id)
                .is_some_and(|g| g.abs().sum().into_scalar::<f32>() > 0.0)
        };
        let nonzero1 = |id| {
            grads
                .get::<1>(id)
                .is_some_and(|g| g.abs().sum().into_scalar::<f32>() > 0.0)
        };
        assert!(nonzero2(model.hidden.weight.id), "hidden weight");
        assert!(nonzero2(model.output.weight.id), "output weight");
        for (name, bias) in [("hidden", &model.hidden.bias), ("output", &model.output.bias)] {
            let bias = bias.as_ref().unwrap_or_else(|| panic!("{name} has no bias"));
            assert!(nonzero1(bias.id), "{name} bias");
        }
    }

    #[test]
    fn a_tiny_net_overfits_a_tiny_set() {
        let d = Device::flex().autodiff();
        d.seed(1);
        let t = HarmonetTask::new(beats(8), beats(8), Beats::default(), 6, 5, 8).unwrap_or_else(|e| panic!("{e}"));
        let model = HarmonetConfig::tiny(6, 5).init(&d).unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cfg = TrainConfig {
            optimizer: OptimizerConfig::adam(),
            schedule: Schedule::Constant { lr: 3e-2 },
            steps: 150,
            accumulate: 1,
            clip_norm: None,
            eval_every: 150,
            patience: None,
            checkpoint_every: 150,
            seed: 2,
        };
        let out = train(model, &t, &cfg, dir.path(), &d, false, None, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
        let s = harmony_scores(&out.model, &t, Split::Valid, &d, &|y| y);
        assert_eq!(s.beats, 8);
        assert!(s.nll < 0.05, "NLL after overfitting: {}", s.nll);
        assert_eq!(s.accuracy, 1.0);
        assert_eq!(s.coarse_accuracy, 1.0);
        let everything_alike = harmony_scores(&out.model, &t, Split::Valid, &d, &|_| 0);
        assert_eq!(everything_alike.coarse_accuracy, 1.0);
    }

    #[test]
    fn batches_are_seeded_and_evaluation_covers_each_beat_once() {
        let t = task();
        let a = <HarmonetTask as Task<Harmonet>>::train_batch(&t, 3, 1);
        let again = <HarmonetTask as Task<Harmonet>>::train_batch(&t, 3, 1);
        assert_eq!(a.labels, again.labels);
        assert_eq!(a.inputs, again.inputs);
        let eval = <HarmonetTask as Task<Harmonet>>::eval_batches(&t, Split::Valid);
        let labels: Vec<i64> = eval.iter().flat_map(|b| b.labels.clone()).collect();
        assert_eq!(labels, t.valid.labels.iter().map(|&y| i64::from(y)).collect::<Vec<_>>());
    }

    #[test]
    fn bad_data_is_an_error() {
        assert!(Beats::new([(vec![0.0; 5], 1)], 6).is_err());
        let e = HarmonetTask::new(beats(4), beats(2), Beats::default(), 6, 3, 4).unwrap_err();
        assert!(e.to_string().contains("label 3"), "{e}");
        assert!(HarmonetTask::new(Beats::default(), beats(2), Beats::default(), 6, 5, 4).is_err());
    }
}
