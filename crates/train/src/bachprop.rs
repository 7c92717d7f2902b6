//! BachProp's task (Colombo et al. 2019): predict each note's dT, T and P
//! from the notes before it.
//!
//! A piece is its notes' ids (`fugue-tokens`' `bachprop`) between two start
//! and end symbols. Training rows are random windows of `seq_len` notes
//! (a piece drawn in proportion to its length) with the next note of each as
//! its target; each window is transposed by a semitone shift drawn
//! uniformly among those that keep its pitches inside the pitch vocabulary
//! (BachProp transposes each piece at random every epoch within the same
//! bound). The training loss weighs the three heads 0.1, 0.3, 0.6, as
//! BachProp's; evaluation reports their sum, −log p(dT, T, P), in nats per
//! note, over whole pieces from the start symbol, untransposed.
//!
//! BachProp carried the GRU state from one 128-note window of a piece to
//! the next (stateful truncated backpropagation); fugue's windows start
//! from a zero state, as every other recurrent task here.

use burn::tensor::{Device, Tensor};
use fugue_models::bachprop::BachProp;
use fugue_models::layers::fused_cross_entropy::weighted_nll;
use rand::Rng;

use crate::tasks::{crop_start, cumulative, pick, step_rng, Split, Task};

/// The three splits and how to batch them.
#[derive(Debug, Clone)]
pub struct BachPropTask {
    pub train: Vec<Vec<[u32; 3]>>,
    pub valid: Vec<Vec<[u32; 3]>>,
    pub test: Vec<Vec<[u32; 3]>>,
    /// The start/end symbol of each vocabulary (its last id).
    pub symbol: [u32; 3],
    pub batch_size: usize,
    pub seq_len: usize,
    cumulative: Vec<usize>,
}

/// `batch × len` input notes, target notes and 0/1 weights, row-major.
#[derive(Debug, Clone)]
pub struct BachPropBatch {
    pub inputs: [Vec<u32>; 3],
    pub targets: [Vec<u32>; 3],
    pub weights: Vec<f32>,
    pub batch: usize,
    pub len: usize,
}

/// BachProp's loss weights for the dT, T and P heads.
pub const HEAD_WEIGHTS: [f32; 3] = [0.1, 0.3, 0.6];

impl BachPropTask {
    pub fn new(
        train: Vec<Vec<[u32; 3]>>,
        valid: Vec<Vec<[u32; 3]>>,
        test: Vec<Vec<[u32; 3]>>,
        symbol: [u32; 3],
        batch_size: usize,
        seq_len: usize,
    ) -> Self {
        let cumulative = cumulative(train.iter().map(|p| p.len() + 1));
        BachPropTask {
            train,
            valid,
            test,
            symbol,
            batch_size: batch_size.max(1),
            seq_len: seq_len.max(1),
            cumulative,
        }
    }

    pub fn split(&self, split: Split) -> &[Vec<[u32; 3]>] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }

    /// A piece between its symbols.
    fn framed(&self, piece: &[[u32; 3]]) -> Vec<[u32; 3]> {
        let mut s = Vec::with_capacity(piece.len() + 2);
        s.push(self.symbol);
        s.extend_from_slice(piece);
        s.push(self.symbol);
        s
    }

    /// Rows of framed notes, `len + 1` long at most, as inputs and targets;
    /// pitches moved by each row's shift.
    fn batch_of(&self, rows: &[(Vec<[u32; 3]>, i64)], len: usize) -> BachPropBatch {
        let n = rows.len() * len;
        let mut inputs = [vec![0; n], vec![0; n], vec![0; n]];
        let mut targets = [vec![0; n], vec![0; n], vec![0; n]];
        let mut weights = vec![0f32; n];
        let move_pitch = |p: u32, shift: i64| {
            if p == self.symbol[2] {
                p
            } else {
                (i64::from(p) + shift) as u32
            }
        };
        for (r, (row, shift)) in rows.iter().enumerate() {
            for (i, pair) in row.windows(2).take(len).enumerate() {
                let at = r * len + i;
                for c in 0..3 {
                    let (a, b) = (pair[0][c], pair[1][c]);
                    inputs[c][at] = if c == 2 { move_pitch(a, *shift) } else { a };
                    targets[c][at] = if c == 2 { move_pitch(b, *shift) } else { b };
                }
                weights[at] = 1.0;
            }
        }
        BachPropBatch {
            inputs,
            targets,
            weights,
            batch: rows.len(),
            len,
        }
    }

    /// The shifts that keep a window's pitch ids in `0..symbol`.
    fn shift_range(&self, row: &[[u32; 3]]) -> (i64, i64) {
        let pitches = row.iter().map(|n| n[2]).filter(|&p| p != self.symbol[2]);
        let (lo, hi) = pitches.fold((u32::MAX, 0), |(lo, hi), p| (lo.min(p), hi.max(p)));
        if lo > hi {
            return (0, 0);
        }
        (-i64::from(lo), i64::from(self.symbol[2]) - 1 - i64::from(hi))
    }

    fn logits(&self, model: &BachProp, batch: &BachPropBatch, device: &Device) -> [Tensor<3>; 3] {
        let [a, b, c] = &batch.inputs;
        model.forward(
            [a, b, c],
            [&batch.targets[0], &batch.targets[1]],
            batch.batch,
            batch.len,
            device,
        )
    }

    /// Summed NLL per head over the batch.
    pub fn head_nll(&self, model: &BachProp, batch: &BachPropBatch, device: &Device) -> [Tensor<1>; 3] {
        let [dt, t, p] = self.logits(model, batch, device);
        [
            weighted_nll(dt, &batch.targets[0], &batch.weights),
            weighted_nll(t, &batch.targets[1], &batch.weights),
            weighted_nll(p, &batch.targets[2], &batch.weights),
        ]
    }
}

impl Task<BachProp> for BachPropTask {
    type Batch = BachPropBatch;

    fn train_batch(&self, seed: u64, step: u64) -> BachPropBatch {
        let mut rng = step_rng(seed, step, 7);
        let rows: Vec<(Vec<[u32; 3]>, i64)> = (0..self.batch_size)
            .map(|_| {
                let piece = &self.train[pick(&self.cumulative, &mut rng).min(self.train.len().saturating_sub(1))];
                let framed = self.framed(piece);
                let start = crop_start(framed.len(), self.seq_len + 1, &mut rng);
                let window: Vec<[u32; 3]> = framed[start..].iter().take(self.seq_len + 1).copied().collect();
                let (down, up) = self.shift_range(&window);
                let shift = rng.random_range(down..=up);
                (window, shift)
            })
            .collect();
        self.batch_of(&rows, self.seq_len)
    }

    fn eval_batches(&self, split: Split) -> Vec<BachPropBatch> {
        let mut pieces: Vec<Vec<[u32; 3]>> = self.split(split).iter().map(|p| self.framed(p)).collect();
        pieces.sort_by_key(Vec::len);
        pieces
            .chunks(self.batch_size.clamp(1, 8))
            .map(|chunk| {
                let len = chunk.iter().map(|p| p.len() - 1).max().unwrap_or(1).max(1);
                let rows: Vec<(Vec<[u32; 3]>, i64)> = chunk.iter().map(|p| (p.clone(), 0)).collect();
                self.batch_of(&rows, len)
            })
            .collect()
    }

    fn loss(&self, model: &BachProp, batch: &BachPropBatch, device: &Device) -> (Tensor<1>, usize) {
        let [a, b, c] = self.head_nll(model, batch, device);
        let [wa, wb, wc] = HEAD_WEIGHTS;
        let count = batch.weights.iter().filter(|&&w| w > 0.0).count();
        (a * wa + b * wb + c * wc, count)
    }

    fn eval_loss(&self, model: &BachProp, batch: &BachPropBatch, device: &Device) -> (Tensor<1>, usize) {
        let [a, b, c] = self.head_nll(model, batch, device);
        let count = batch.weights.iter().filter(|&&w| w > 0.0).count();
        (a + b + c, count)
    }

    fn unit(&self) -> &'static str {
        "note"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> BachPropTask {
        let piece = vec![[0, 1, 2], [1, 0, 3], [0, 2, 1]];
        BachPropTask::new(vec![piece.clone()], vec![piece], vec![], [2, 3, 5], 3, 2)
    }

    #[test]
    fn windows_pair_each_note_with_the_next_and_shift_pitches_in_range() {
        let t = task();
        for step in 1..20 {
            let b = t.train_batch(4, step);
            assert_eq!((b.batch, b.len), (3, 2));
            for r in 0..3 {
                for i in 0..2 {
                    let at = r * 2 + i;
                    if b.weights[at] == 0.0 {
                        continue;
                    }
                    // A pitch is the symbol or inside 0..5 after the shift.
                    assert!(b.inputs[2][at] <= 5 && b.targets[2][at] <= 5);
                    // The next row position's input is this target.
                    if i + 1 < 2 && b.weights[at + 1] > 0.0 {
                        assert_eq!(
                            [b.inputs[0][at + 1], b.inputs[1][at + 1], b.inputs[2][at + 1]],
                            [b.targets[0][at], b.targets[1][at], b.targets[2][at]]
                        );
                    }
                }
            }
        }
        // Pitch ids 1..=3 of 0..5 move by −1..=+1.
        assert_eq!(t.shift_range(&[[2, 3, 5], [0, 1, 2], [1, 0, 3], [0, 2, 1]]), (-1, 1));
        // Whole pieces: start symbol … end symbol, 4 targets for 3 notes.
        let e = t.eval_batches(Split::Valid);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].len, 4);
        assert_eq!(e[0].inputs[0], vec![2, 0, 1, 0]);
        assert_eq!(e[0].targets[2], vec![2, 3, 1, 5]);
    }
}
