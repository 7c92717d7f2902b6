//! TonicNet's training and scoring (Peracha 2019): next-token
//! cross-entropy over every token of its chord, S, B, A, T sequence while
//! training, and over the **note tokens only** when scoring, as TonicNet's
//! `eval_on_test_set(notes_only=True)` does (the chord and `end` targets
//! are left out; the paper's 0.220 is that figure on the JSB test set).
//!
//! Training draws a piece (in proportion to its length), one of its
//! transpositions (uniformly: TonicNet adds every transposition that keeps
//! the voices in range to its training set) and a window of whole steps,
//! each window started from a random N(0, 1) state as TonicNet starts every
//! piece, and carrying the piece's true Z counts at the window's start.
//! With `window_steps` 0 it trains as TonicNet does, on whole pieces: every
//! (piece, transposition) equally likely, as one pass over TonicNet's
//! training set visits each once, the batch padded to its longest piece.
//! Scoring runs every piece whole from a zero state.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use fugue_models::tonicnet::{TonicNet, PARTS};
use rand::Rng;

use crate::tasks::{crop_start, cumulative, pick, step_rng, Split, Task};

/// One encoded piece: TonicNet ids (ending with `end`) and each id's Z count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TonicSeq {
    pub ids: Vec<u32>,
    pub z: Vec<u32>,
}

impl TonicSeq {
    /// Whole steps (chord + 4 voices) in the piece.
    fn steps(&self) -> usize {
        self.ids.len().saturating_sub(1) / PARTS
    }
}

/// TonicNet's data: training pieces with their transpositions, and the
/// untransposed validation and test pieces.
#[derive(Debug, Clone)]
pub struct TonicNetTask {
    /// Per training piece, its transpositions (the untransposed one included).
    pub train: Vec<Vec<TonicSeq>>,
    pub valid: Vec<TonicSeq>,
    pub test: Vec<TonicSeq>,
    pub batch_size: usize,
    /// Steps per training window (5 tokens each); 0 for whole pieces.
    pub window_steps: usize,
    cumulative: Vec<usize>,
}

/// `batch × len` inputs, Z counts, targets and 0/1 weights.
#[derive(Debug, Clone)]
pub struct TonicBatch {
    pub inputs: Vec<i64>,
    pub z: Vec<i64>,
    pub targets: Vec<i64>,
    pub weights: Vec<f32>,
    pub batch: usize,
    pub len: usize,
}

impl TonicNetTask {
    pub fn new(
        train: Vec<Vec<TonicSeq>>,
        valid: Vec<TonicSeq>,
        test: Vec<TonicSeq>,
        batch_size: usize,
        window_steps: usize,
    ) -> Self {
        // A piece without sequences could never be drawn from.
        let train: Vec<Vec<TonicSeq>> = train.into_iter().filter(|t| !t.is_empty()).collect();
        let cumulative = cumulative(train.iter().map(|t| t.first().map_or(0, TonicSeq::steps)));
        Self {
            train,
            valid,
            test,
            batch_size,
            window_steps,
            cumulative,
        }
    }

    /// The pieces a split is scored on (training pieces untransposed).
    pub fn pieces(&self, split: Split) -> Vec<&TonicSeq> {
        match split {
            Split::Train => self.train.iter().filter_map(|t| t.first()).collect(),
            Split::Valid => self.valid.iter().collect(),
            Split::Test => self.test.iter().collect(),
        }
    }

    fn empty_batch(rows: usize, len: usize) -> TonicBatch {
        TonicBatch {
            inputs: Vec::with_capacity(rows * len),
            z: Vec::with_capacity(rows * len),
            targets: Vec::with_capacity(rows * len),
            weights: Vec::with_capacity(rows * len),
            batch: rows,
            len,
        }
    }

    /// Appends the row of `len` positions from `start`: input `i` predicts
    /// id `i + 1`. `notes_only` weights only targets that are voice tokens
    /// (a target at a multiple of 5 is a chord or the final `end`).
    fn row(seq: &TonicSeq, start: usize, len: usize, notes_only: bool, b: &mut TonicBatch) {
        for i in start..start + len {
            match (seq.ids.get(i), seq.ids.get(i + 1)) {
                (Some(&input), Some(&target)) => {
                    b.inputs.push(i64::from(input));
                    b.z.push(i64::from(seq.z.get(i).copied().unwrap_or(0)));
                    b.targets.push(i64::from(target));
                    let counts = !notes_only || (i + 1) % PARTS != 0;
                    b.weights.push(if counts { 1.0 } else { 0.0 });
                }
                _ => {
                    b.inputs.push(0);
                    b.z.push(0);
                    b.targets.push(0);
                    b.weights.push(0.0);
                }
            }
        }
    }

    /// Whole pieces of a split, `batch_size` per batch, each padded to its
    /// batch's longest piece.
    fn whole_pieces(&self, split: Split, notes_only: bool) -> Vec<TonicBatch> {
        self.pieces(split)
            .chunks(self.batch_size.max(1))
            .map(|chunk| {
                let len = chunk.iter().map(|s| s.ids.len().saturating_sub(1)).max().unwrap_or(0);
                let mut b = Self::empty_batch(chunk.len(), len);
                for seq in chunk {
                    Self::row(seq, 0, len, notes_only, &mut b);
                }
                b
            })
            .collect()
    }

    /// Per-position weighted log-likelihoods `[b, t]` of a batch, from a
    /// random N(0, 1) start state (training, or `random_start`) or zeros.
    fn log_likelihoods(model: &TonicNet, batch: &TonicBatch, random_start: bool, device: &Device) -> Tensor<2> {
        let (b, t) = (batch.batch, batch.len);
        let int = |v: &[i64]| Tensor::<2, Int>::from_data(TensorData::new(v.to_vec(), [b, t]), device);
        let start = if random_start || device.is_autodiff() {
            model.random_state(b, device).into_iter().map(Some).collect()
        } else {
            vec![None; model.grus.len()]
        };
        let (logits, _) = model.forward(int(&batch.inputs), int(&batch.z), start);
        let targets = Tensor::<3, Int>::from_data(TensorData::new(batch.targets.clone(), [b, t, 1]), device);
        let weights = Tensor::<2>::from_data(TensorData::new(batch.weights.clone(), [b, t]), device);
        log_softmax(logits, 2).gather(2, targets).reshape([b, t]) * weights
    }

    /// Per piece of `split`: summed NLL (nats) over its note tokens (every
    /// target, chords and `end` too, when `notes_only` is false) and their
    /// number. TonicNet reports the mean over pieces of each piece's mean:
    /// over note tokens for its test figure, over every token for the
    /// validation loss it logs while training. Each piece starts from a
    /// zero state, or with `random_start: Some(seed)` from a seeded N(0, 1)
    /// draw, as TonicNet's evaluation starts it.
    pub fn piece_nll(
        &self,
        model: &TonicNet,
        split: Split,
        notes_only: bool,
        random_start: Option<u64>,
        device: &Device,
    ) -> Vec<(f64, usize)> {
        let mut out = Vec::new();
        for (i, batch) in self.whole_pieces(split, notes_only).into_iter().enumerate() {
            if let Some(seed) = random_start {
                device.seed(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            }
            let sums = Self::log_likelihoods(model, &batch, random_start.is_some(), device)
                .sum_dim(1)
                .into_data()
                .convert::<f64>()
                .try_into_vec::<f64>()
                .unwrap_or_default();
            for (row, sum) in sums.iter().enumerate() {
                let w = &batch.weights[row * batch.len..(row + 1) * batch.len];
                out.push((-sum, w.iter().filter(|&&x| x > 0.0).count()));
            }
        }
        out
    }
}

/// TonicNet's average: the mean over pieces of each piece's mean NLL, from
/// [`TonicNetTask::piece_nll`]'s (summed NLL, count) pairs; pieces with
/// nothing scored are left out.
pub fn mean_of_piece_means(per_piece: &[(f64, usize)]) -> f64 {
    let means: Vec<f64> = per_piece.iter().filter(|p| p.1 > 0).map(|p| p.0 / p.1 as f64).collect();
    means.iter().sum::<f64>() / means.len().max(1) as f64
}

impl Task<TonicNet> for TonicNetTask {
    type Batch = TonicBatch;

    fn train_batch(&self, seed: u64, step: u64) -> TonicBatch {
        let mut rng = step_rng(seed, step, 1);
        if self.window_steps == 0 {
            let total: usize = self.train.iter().map(Vec::len).sum();
            let chosen: Vec<&TonicSeq> = (0..self.batch_size)
                .filter_map(|_| self.train.iter().flatten().nth(rng.random_range(0..total.max(1))))
                .collect();
            let len = chosen.iter().map(|s| s.ids.len().saturating_sub(1)).max().unwrap_or(0);
            let mut b = Self::empty_batch(chosen.len(), len);
            for seq in chosen {
                Self::row(seq, 0, len, false, &mut b);
            }
            return b;
        }
        let len = self.window_steps * PARTS;
        let mut b = Self::empty_batch(self.batch_size, len);
        for _ in 0..self.batch_size {
            let piece = &self.train[pick(&self.cumulative, &mut rng).min(self.train.len().saturating_sub(1))];
            // `new` keeps only pieces with at least one sequence.
            let seq = &piece[rng.random_range(0..piece.len())];
            let start = crop_start(seq.steps(), self.window_steps, &mut rng) * PARTS;
            Self::row(seq, start, len, false, &mut b);
        }
        b
    }

    /// Whole pieces, `batch_size` per batch, each padded to its batch's
    /// longest piece; note tokens only.
    fn eval_batches(&self, split: Split) -> Vec<TonicBatch> {
        self.whole_pieces(split, true)
    }

    fn loss(&self, model: &TonicNet, batch: &TonicBatch, device: &Device) -> (Tensor<1>, usize) {
        let count = batch.weights.iter().filter(|&&w| w > 0.0).count();
        (Self::log_likelihoods(model, batch, false, device).sum().neg(), count)
    }

    fn unit(&self) -> &'static str {
        "note"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_models::tonicnet::{z_of, TonicNetConfig};

    fn seq(steps: usize, offset: u32) -> TonicSeq {
        let mut ids: Vec<u32> = (0..steps * PARTS).map(|i| 1 + (i as u32 * 7 + offset) % 40).collect();
        for s in 0..steps {
            ids[s * PARTS] = 50 + (s as u32 % 3);
        }
        ids.push(0);
        let z = z_of(&ids, 80);
        TonicSeq { ids, z }
    }

    fn task() -> TonicNetTask {
        let train = vec![vec![seq(12, 0), seq(12, 3)], vec![seq(7, 1)]];
        TonicNetTask::new(train, vec![seq(9, 2), seq(4, 5)], vec![seq(6, 4)], 3, 4)
    }

    #[test]
    fn scoring_counts_exactly_the_note_tokens() {
        let t = task();
        let batches = <TonicNetTask as Task<TonicNet>>::eval_batches(&t, Split::Valid);
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        // 9 and 4 steps: 36 + 16 notes; chords and `end` are not counted.
        assert_eq!(b.weights.iter().filter(|&&w| w > 0.0).count(), 4 * 9 + 4 * 4);
        for (i, (&w, &target)) in b.weights.iter().zip(&b.targets).enumerate() {
            if w > 0.0 {
                assert!(
                    (1..48).contains(&target),
                    "position {i} scores a non-note target {target}"
                );
            }
        }
    }

    #[test]
    fn training_windows_start_on_a_step_with_the_pieces_z() {
        let t = task();
        let b = <TonicNetTask as Task<TonicNet>>::train_batch(&t, 7, 3);
        assert_eq!((b.batch, b.len), (3, 20));
        for row in 0..3 {
            let input = b.inputs[row * 20];
            assert!(input >= 48, "row {row} starts at a chord token, not {input}");
            // Every real position's Z is the piece's own count for that id.
            let found = t.train.iter().flatten().any(|s| {
                s.ids.windows(20).zip(s.z.windows(20)).any(|(ids, z)| {
                    ids.iter()
                        .map(|&v| i64::from(v))
                        .eq(b.inputs[row * 20..row * 20 + 20].iter().copied())
                        && z.iter()
                            .map(|&v| i64::from(v))
                            .eq(b.z[row * 20..row * 20 + 20].iter().copied())
                })
            });
            // The 7-step piece's window is padded; only full rows are checked.
            let full = b.weights[row * 20..row * 20 + 20].iter().all(|&w| w > 0.0);
            assert!(found || !full, "row {row} is not a window of a training piece");
        }
        let again = <TonicNetTask as Task<TonicNet>>::train_batch(&t, 7, 3);
        assert_eq!(b.inputs, again.inputs);
    }

    /// `window_steps` 0: whole pieces from their first chord, padded to the
    /// batch's longest, every transposition drawn.
    #[test]
    fn whole_piece_batches() {
        let t = TonicNetTask::new(vec![vec![seq(9, 0), seq(9, 1)], vec![seq(4, 2)]], vec![], vec![], 3, 0);
        let mut seen = std::collections::BTreeSet::new();
        for step in 0..40 {
            let b = <TonicNetTask as Task<TonicNet>>::train_batch(&t, 1, step);
            assert_eq!(b.batch, 3);
            assert!(b.len == 45 || b.len == 20, "len {}", b.len);
            for row in 0..3 {
                let first = b.inputs[row * b.len];
                assert!(first >= 48, "row {row} starts at a chord, not {first}");
                let real = b.weights[row * b.len..(row + 1) * b.len]
                    .iter()
                    .filter(|&&w| w > 0.0)
                    .count();
                assert!(real == 45 || real == 20, "{real} targets");
                seen.insert((real, b.inputs[row * b.len + 1]));
            }
        }
        assert_eq!(
            seen.len(),
            3,
            "both transpositions of the long piece and the short one: {seen:?}"
        );
    }

    #[test]
    fn piece_nll_matches_the_batched_loss() {
        let device = Device::flex();
        let model = TonicNetConfig::tiny(98).init(&device).expect("valid config");
        let t = task();
        let per_piece = t.piece_nll(&model, Split::Valid, true, None, &device);
        assert_eq!(per_piece.iter().map(|p| p.1).collect::<Vec<_>>(), vec![36, 16]);
        // Every target: 9 and 4 steps of 5 tokens, less the first chord
        // (never a target), plus `end`.
        let every = t.piece_nll(&model, Split::Valid, false, None, &device);
        assert_eq!(every.iter().map(|p| p.1).collect::<Vec<_>>(), vec![45, 20]);
        assert!(every[0].0 > per_piece[0].0, "chords add loss");
        let mean = mean_of_piece_means(&per_piece);
        let by_hand = (per_piece[0].0 / 36.0 + per_piece[1].0 / 16.0) / 2.0;
        assert!((mean - by_hand).abs() < 1e-12, "{mean} vs {by_hand}");
        // A seeded random start is reproducible and not the zero start.
        let r1 = t.piece_nll(&model, Split::Valid, true, Some(3), &device);
        let r2 = t.piece_nll(&model, Split::Valid, true, Some(3), &device);
        assert_eq!(r1, r2);
        assert_ne!(r1, per_piece);
        let batches = <TonicNetTask as Task<TonicNet>>::eval_batches(&t, Split::Valid);
        let (loss, n) = t.loss(&model, &batches[0], &device);
        let total: f64 = per_piece.iter().map(|p| p.0).sum();
        let loss = f64::from(loss.into_scalar::<f32>());
        assert_eq!(n, 52);
        assert!((total - loss).abs() < 1e-3 * loss.abs(), "{total} vs {loss}");
        // A padded row scores the same as the piece alone: padding is inert.
        let alone = TonicNetTask::new(vec![], vec![seq(4, 5)], vec![], 1, 4);
        let single = alone.piece_nll(&model, Split::Valid, true, None, &device);
        assert!(
            (single[0].0 - per_piece[1].0).abs() < 1e-3,
            "{single:?} vs {per_piece:?}"
        );
    }
}
