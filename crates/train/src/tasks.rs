//! What a model is trained on and scored by: token sequences (next-token
//! cross-entropy, nats per token) and piano-roll frames (exact frame NLL,
//! nats per frame; for RNN-RBM, contrastive divergence in training and an
//! AIS estimate of the frame NLL in evaluation).
//!
//! Training batches are a pure function of `(seed, step)`: random crops
//! drawn from an RNG seeded by both, as score2perf trains on random crops.
//! A resumed run therefore sees exactly the batches an uninterrupted run
//! would have seen, with no data cursor to save. Evaluation covers every
//! token (frame) of a split exactly once.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use fugue_data::augment::roll_shifts;
use fugue_models::eck_schmidhuber::EckSchmidhuber;
use fugue_models::layers::fused_cross_entropy::weighted_nll;
use fugue_models::rnn_nade::{RnnNade, RnnRbm};
use fugue_models::TokenLm;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use fugue_data::Split;

/// How a model is fed and scored.
pub trait Task<M: Module> {
    type Batch;

    /// The batch of update number `step` (1-based).
    fn train_batch(&self, seed: u64, step: u64) -> Self::Batch;

    /// Batches covering `split` once.
    fn eval_batches(&self, split: Split) -> Vec<Self::Batch>;

    /// Summed loss in nats over the batch and the units it covers.
    fn loss(&self, model: &M, batch: &Self::Batch, device: &Device) -> (Tensor<1>, usize);

    /// The summed loss [`crate::evaluate`] reports (validation, `fugue
    /// eval`): [`Task::loss`], unless a model trains on something that is
    /// not its likelihood (RNN-RBM trains on a contrastive-divergence cost
    /// and is scored by an AIS estimate of its NLL).
    fn eval_loss(&self, model: &M, batch: &Self::Batch, device: &Device) -> (Tensor<1>, usize) {
        self.loss(model, batch, device)
    }

    /// The unit losses are counted in (`token`, `frame`).
    fn unit(&self) -> &'static str;
}

/// An RNG for one purpose at one step.
pub fn step_rng(seed: u64, step: u64, purpose: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(
        seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ purpose.wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}

/// Picks a piece with probability proportional to its length.
pub(crate) fn pick(cumulative: &[usize], rng: &mut ChaCha8Rng) -> usize {
    let total = cumulative.last().copied().unwrap_or(0).max(1);
    let x = rng.random_range(0..total);
    cumulative.partition_point(|&c| c <= x)
}

/// A uniform start for a window of `window` items in `len` items (0 when
/// the window does not fit: the batch pads the rest).
pub(crate) fn crop_start(len: usize, window: usize, rng: &mut ChaCha8Rng) -> usize {
    match len.saturating_sub(window) {
        0 => 0,
        max_start => rng.random_range(0..=max_start),
    }
}

pub(crate) fn cumulative(lengths: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut acc = 0;
    lengths
        .map(|l| {
            acc += l.max(1);
            acc
        })
        .collect()
}

/// Token sequences; every piece starts with `bos` so its first token is
/// predicted too.
#[derive(Debug, Clone)]
pub struct TokenTask {
    pub train: Vec<Vec<u32>>,
    pub valid: Vec<Vec<u32>>,
    pub test: Vec<Vec<u32>>,
    pub bos: u32,
    pub pad: u32,
    pub batch_size: usize,
    pub seq_len: usize,
    /// Token ids whose prediction counts in the loss (all when `None`):
    /// TonicNet scores only note tokens, not its chord tokens.
    pub counted: Option<Vec<bool>>,
    /// Tokens per time step when a piece is a fixed-width serialization
    /// (4 for serialized SATB; 1 otherwise). Training crops then start on
    /// a step boundary, as the evaluation windows and whole pieces do, so
    /// that a token's absolute position in its window says which voice it
    /// is: without that a Transformer with absolute positions (the vanilla
    /// baseline) sees voices at random offsets in training and cannot use
    /// its positions at all.
    pub frame: usize,
    cumulative: Vec<usize>,
}

/// `batch × seq_len` inputs, targets and 0/1 weights.
#[derive(Debug, Clone)]
pub struct TokenBatch {
    pub inputs: Vec<i64>,
    pub targets: Vec<i64>,
    pub weights: Vec<f32>,
    pub batch: usize,
    pub len: usize,
}

impl TokenTask {
    pub fn new(
        train: Vec<Vec<u32>>,
        valid: Vec<Vec<u32>>,
        test: Vec<Vec<u32>>,
        bos: u32,
        pad: u32,
        batch_size: usize,
        seq_len: usize,
    ) -> Self {
        let cumulative = cumulative(train.iter().map(Vec::len));
        Self {
            train,
            valid,
            test,
            bos,
            pad,
            batch_size,
            seq_len,
            counted: None,
            frame: 1,
            cumulative,
        }
    }

    /// Crops start on multiples of `frame` tokens (see [`Self::frame`]).
    pub fn with_frame(mut self, frame: usize) -> Self {
        self.frame = frame.max(1);
        self
    }

    fn split(&self, split: Split) -> &[Vec<u32>] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }

    /// Windows `(piece, start)` of `[bos] + piece`, each `seq_len + 1` long
    /// and overlapping by one token: every token is a target once.
    fn windows(&self, split: Split) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (i, piece) in self.split(split).iter().enumerate() {
            let mut start = 0;
            while start < piece.len() {
                out.push((i, start));
                start += self.seq_len;
            }
        }
        out
    }

    /// Fills one row from `[bos] + piece` starting at `start`.
    fn row(&self, piece: &[u32], start: usize, b: &mut TokenBatch) {
        let token = |i: usize| {
            if i == 0 {
                Some(self.bos)
            } else {
                piece.get(i - 1).copied()
            }
        };
        for j in 0..self.seq_len {
            let (input, target) = (token(start + j), token(start + j + 1));
            b.inputs.push(input.unwrap_or(self.pad) as i64);
            b.targets.push(target.unwrap_or(self.pad) as i64);
            let counts = match (input, target, &self.counted) {
                (Some(_), Some(t), Some(mask)) => mask.get(t as usize).copied().unwrap_or(false),
                (Some(_), Some(_), None) => true,
                _ => false,
            };
            b.weights.push(if counts { 1.0 } else { 0.0 });
        }
    }

    fn empty_batch(&self, rows: usize) -> TokenBatch {
        let n = rows * self.seq_len;
        TokenBatch {
            inputs: Vec::with_capacity(n),
            targets: Vec::with_capacity(n),
            weights: Vec::with_capacity(n),
            batch: rows,
            len: self.seq_len,
        }
    }
}

impl<M: Module + TokenLm> Task<M> for TokenTask {
    type Batch = TokenBatch;

    fn train_batch(&self, seed: u64, step: u64) -> TokenBatch {
        let mut rng = step_rng(seed, step, 1);
        let mut b = self.empty_batch(self.batch_size);
        for _ in 0..self.batch_size {
            let piece = &self.train[pick(&self.cumulative, &mut rng).min(self.train.len().saturating_sub(1))];
            // `[bos] + piece` has len+1 tokens; a window needs seq_len+1.
            let start = crop_start(piece.len() + 1, self.seq_len + 1, &mut rng);
            let start = start - start % self.frame.max(1);
            self.row(piece, start, &mut b);
        }
        b
    }

    fn eval_batches(&self, split: Split) -> Vec<TokenBatch> {
        let pieces = self.split(split);
        self.windows(split)
            .chunks(self.batch_size.max(1))
            .map(|chunk| {
                let mut b = self.empty_batch(chunk.len());
                for &(i, start) in chunk {
                    self.row(&pieces[i], start, &mut b);
                }
                b
            })
            .collect()
    }

    fn loss(&self, model: &M, batch: &TokenBatch, device: &Device) -> (Tensor<1>, usize) {
        let (b, t) = (batch.batch, batch.len);
        let inputs = Tensor::<2, Int>::from_data(TensorData::new(batch.inputs.clone(), [b, t]), device);
        // Token ids are vocabulary indices, so they fit in `u32`.
        let targets: Vec<u32> = batch.targets.iter().map(|&x| x as u32).collect();
        let count = batch.weights.iter().filter(|&&w| w > 0.0).count();
        (weighted_nll(model.logits(inputs), &targets, &batch.weights), count)
    }

    fn unit(&self) -> &'static str {
        "token"
    }
}

/// Binary piano-roll pieces (active pitch indices per frame, already
/// offset to `0..pitches`).
#[derive(Debug, Clone)]
pub struct FrameTask {
    pub train: Vec<Vec<Vec<u16>>>,
    pub valid: Vec<Vec<Vec<u16>>>,
    pub test: Vec<Vec<Vec<u16>>>,
    pub pitches: usize,
    pub batch_size: usize,
    pub seq_len: usize,
    /// Training crops are shifted by a uniform random number of semitones
    /// in `-transpose..=transpose` (limited so that every note of the crop
    /// stays in range; 0 = none). The small polyphonic sets overfit within
    /// a few hundred updates; transposed copies of the training pieces are
    /// the usual remedy, and RNN-NADE's default recipe draws ±4 (on JSB the
    /// test NLL fell from 5.90 to 5.27 nats/frame: docs/RESULTS.md).
    /// Evaluation never transposes.
    pub transpose: u8,
    cumulative: Vec<usize>,
}

/// `batch × len × pitches` frames and `batch × len` weights.
#[derive(Debug, Clone)]
pub struct FrameBatch {
    pub frames: Vec<f32>,
    pub weights: Vec<f32>,
    pub batch: usize,
    pub len: usize,
}

impl FrameTask {
    pub fn new(
        train: Vec<Vec<Vec<u16>>>,
        valid: Vec<Vec<Vec<u16>>>,
        test: Vec<Vec<Vec<u16>>>,
        pitches: usize,
        batch_size: usize,
        seq_len: usize,
    ) -> Self {
        let cumulative = cumulative(train.iter().map(Vec::len));
        Self {
            train,
            valid,
            test,
            pitches,
            batch_size,
            seq_len,
            transpose: 0,
            cumulative,
        }
    }

    /// The same task with training crops transposed by up to `semitones`
    /// (see [`FrameTask::transpose`]).
    pub fn with_transpose(mut self, semitones: u8) -> Self {
        self.transpose = semitones;
        self
    }

    fn split(&self, split: Split) -> &[Vec<Vec<u16>>] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }

    /// Rows of frames, each shifted by its semitones (`shifts` empty: none;
    /// a note shifted out of range is dropped).
    fn batch_of(&self, rows: &[&[Vec<u16>]], shifts: &[i32], len: usize) -> FrameBatch {
        let p = self.pitches;
        let mut frames = vec![0f32; rows.len() * len * p];
        let mut weights = vec![0f32; rows.len() * len];
        for (r, row) in rows.iter().enumerate() {
            let shift = shifts.get(r).copied().unwrap_or(0);
            for (t, frame) in row.iter().take(len).enumerate() {
                weights[r * len + t] = 1.0;
                for &pitch in frame {
                    let q = i64::from(pitch) + i64::from(shift);
                    if (0..p as i64).contains(&q) {
                        frames[(r * len + t) * p + q as usize] = 1.0;
                    }
                }
            }
        }
        FrameBatch {
            frames,
            weights,
            batch: rows.len(),
            len,
        }
    }
}

impl FrameTask {
    /// Random crops of `seq_len` frames, a pure function of `(seed, step)`.
    fn crops(&self, seed: u64, step: u64) -> FrameBatch {
        let mut rng = step_rng(seed, step, 2);
        let rows: Vec<&[Vec<u16>]> = (0..self.batch_size)
            .map(|_| {
                let piece = &self.train[pick(&self.cumulative, &mut rng).min(self.train.len().saturating_sub(1))];
                &piece[crop_start(piece.len(), self.seq_len, &mut rng)..]
            })
            .collect();
        // Drawn after the crops so that `transpose: 0` keeps the crops (and
        // the runs) of the untransposed recipe.
        let shifts: Vec<i32> = if self.transpose == 0 {
            Vec::new()
        } else {
            rows.iter().map(|row| self.draw_shift(row, &mut rng)).collect()
        };
        self.batch_of(&rows, &shifts, self.seq_len)
    }

    /// A uniform shift in `-transpose..=transpose` that keeps every note of
    /// the crop's first `seq_len` frames in `0..pitches` (fugue-data's
    /// reject rule, as `augment_roll` applies it to whole pieces).
    fn draw_shift(&self, row: &[Vec<u16>], rng: &mut ChaCha8Rng) -> i32 {
        let notes = row.iter().take(self.seq_len).flatten().map(|&p| i32::from(p));
        // Loaded notes lie in `0..pitches`, so at least 0 is allowed.
        let (down, up) = roll_shifts(notes, self.transpose, 0, self.pitches as i32 - 1).unwrap_or((0, 0));
        rng.random_range(down..=up)
    }

    /// Whole pieces (the recurrent state runs through each piece), a few
    /// of similar length per batch.
    fn whole_pieces(&self, split: Split) -> Vec<FrameBatch> {
        let mut pieces: Vec<&[Vec<u16>]> = self.split(split).iter().map(Vec::as_slice).collect();
        pieces.sort_by_key(|p| p.len());
        pieces
            .chunks(self.batch_size.clamp(1, 8))
            .map(|chunk| self.batch_of(chunk, &[], chunk.iter().map(|p| p.len()).max().unwrap_or(1).max(1)))
            .collect()
    }

    fn tensors(&self, batch: &FrameBatch, device: &Device) -> (Tensor<3>, Tensor<2>, usize) {
        let (b, t, p) = (batch.batch, batch.len, self.pitches);
        let frames = Tensor::<3>::from_data(TensorData::new(batch.frames.clone(), [b, t, p]), device);
        let weights = Tensor::<2>::from_data(TensorData::new(batch.weights.clone(), [b, t]), device);
        let count = batch.weights.iter().filter(|&&w| w > 0.0).count();
        (frames, weights, count)
    }
}

/// A model with an exact likelihood per frame: `−log p(frame_t | frames
/// before t)` for every frame of `[b, t, pitches]` 0/1 frames, `[b, t]`.
/// Such models share one [`Task`] over [`FrameTask`]; RNN-RBM, which
/// trains on a CD cost and is scored by AIS, has its own.
pub trait FrameNll: Module {
    fn frame_nll(&self, frames: Tensor<3>) -> Tensor<2>;
}

/// RNN-NADE: the NADE's exact NLL of each frame.
impl FrameNll for RnnNade {
    fn frame_nll(&self, frames: Tensor<3>) -> Tensor<2> {
        RnnNade::frame_nll(self, frames)
    }
}

/// Eck & Schmidhuber's LSTM: each step's units' cross-entropies, summed.
impl FrameNll for EckSchmidhuber {
    fn frame_nll(&self, frames: Tensor<3>) -> Tensor<2> {
        EckSchmidhuber::frame_nll(self, frames)
    }
}

impl<M: FrameNll> Task<M> for FrameTask {
    type Batch = FrameBatch;

    fn train_batch(&self, seed: u64, step: u64) -> FrameBatch {
        self.crops(seed, step)
    }

    fn eval_batches(&self, split: Split) -> Vec<FrameBatch> {
        self.whole_pieces(split)
    }

    fn loss(&self, model: &M, batch: &FrameBatch, device: &Device) -> (Tensor<1>, usize) {
        let (frames, weights, count) = self.tensors(batch, device);
        ((model.frame_nll(frames) * weights).sum(), count)
    }

    fn unit(&self) -> &'static str {
        "frame"
    }
}

/// RNN-RBM on the same batches: training minimises the CD-k cost (not a
/// likelihood; the logged training loss is that cost per frame), and
/// evaluation reports −log p(v_t | v_<t) = F(v_t) + log Z_t per frame with
/// log Z_t estimated by AIS ([`crate::ais`]) under the model's
/// `ais_chains` and `ais_betas`. AIS's log Z is biased low in expectation,
/// so this NLL is slightly optimistic.
impl Task<RnnRbm> for FrameTask {
    type Batch = FrameBatch;

    fn train_batch(&self, seed: u64, step: u64) -> FrameBatch {
        self.crops(seed, step)
    }

    fn eval_batches(&self, split: Split) -> Vec<FrameBatch> {
        self.whole_pieces(split)
    }

    fn loss(&self, model: &RnnRbm, batch: &FrameBatch, device: &Device) -> (Tensor<1>, usize) {
        let (frames, weights, count) = self.tensors(batch, device);
        ((model.cd_cost(frames) * weights).sum(), count)
    }

    fn eval_loss(&self, model: &RnnRbm, batch: &FrameBatch, device: &Device) -> (Tensor<1>, usize) {
        let (frames, _, count) = self.tensors(batch, device);
        let rbm = model.rbm_frames(frames);
        // The AIS streams are seeded by the batch's content: the same batch
        // scores the same whatever the order it is scored in.
        let seed = batch
            .frames
            .iter()
            .chain(&batch.weights)
            .fold(0xCBF2_9CE4_8422_2325u64, |h, &x| {
                (h ^ u64::from(x.to_bits())).wrapping_mul(0x0000_0100_0000_01B3)
            });
        let config = crate::ais::AisConfig {
            chains: model.ais_chains,
            betas: model.ais_betas,
            seed,
        };
        let total: f64 = crate::ais::frame_nll(&rbm, &batch.frames, &batch.weights, config)
            .iter()
            .sum();
        (
            Tensor::from_data(TensorData::new(vec![total as f32], [1]), device),
            count,
        )
    }

    fn unit(&self) -> &'static str {
        "frame"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lowest and highest sounding pitch of each row of a frame batch.
    fn row_ranges(b: &FrameBatch, pitches: usize) -> Vec<(usize, usize)> {
        b.frames
            .chunks(b.len * pitches)
            .map(|row| {
                let on: Vec<usize> = row
                    .iter()
                    .enumerate()
                    .filter(|(_, &x)| x > 0.0)
                    .map(|(i, _)| i % pitches)
                    .collect();
                (
                    on.iter().copied().min().unwrap_or(0),
                    on.iter().copied().max().unwrap_or(0),
                )
            })
            .collect()
    }

    #[test]
    fn transposed_crops_stay_in_range_and_cover_every_allowed_shift() {
        // One 40-frame piece on pitches 1 and 5 of 8, crops of 10: up to 3
        // down would fall off at the bottom (1 - 3 < 0), so shifts lie in
        // -1..=2 with `transpose: 3`.
        let piece: Vec<Vec<u16>> = (0..40).map(|_| vec![1, 5]).collect();
        let plain = FrameTask::new(vec![piece.clone()], vec![], vec![], 8, 4, 10);
        let moved = FrameTask::new(vec![piece], vec![], vec![], 8, 4, 10).with_transpose(3);
        let mut seen = std::collections::BTreeSet::new();
        for step in 0..50 {
            assert!(row_ranges(&plain.crops(7, step), 8).iter().all(|&r| r == (1, 5)));
            let batch = moved.crops(7, step);
            for (lo, hi) in row_ranges(&batch, 8) {
                assert_eq!(hi - lo, 4, "the chord is moved whole");
                seen.insert(lo as i32 - 1);
            }
            assert!(batch.weights.iter().all(|&w| w == 1.0));
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![-1, 0, 1, 2]);
        // Evaluation batches are never transposed.
        let eval = FrameTask::new(vec![], vec![vec![vec![1, 5]; 12]], vec![], 8, 4, 10).with_transpose(3);
        assert_eq!(row_ranges(&eval.whole_pieces(Split::Valid)[0], 8), vec![(1, 5)]);
    }

    #[test]
    fn eval_windows_target_every_token_once() {
        let pieces = vec![vec![5u32, 6, 7, 8, 9], vec![3u32], vec![4u32, 4, 4, 4]];
        let task = TokenTask::new(vec![], pieces.clone(), vec![], 1, 0, 2, 3);
        let batches = <TokenTask as Task<fugue_models::lstm::LstmLm>>::eval_batches(&task, Split::Valid);
        let mut targets: Vec<i64> = Vec::new();
        for b in &batches {
            for (t, w) in b.targets.iter().zip(&b.weights) {
                if *w > 0.0 {
                    targets.push(*t);
                }
            }
        }
        let expected: Vec<i64> = pieces.iter().flatten().map(|&t| t as i64).collect();
        assert_eq!(targets, expected);
    }

    #[test]
    fn train_batches_depend_only_on_seed_and_step() {
        let task = TokenTask::new(
            vec![(0..50).collect(), (100..120).collect()],
            vec![],
            vec![],
            1,
            0,
            4,
            8,
        );
        let a = <TokenTask as Task<fugue_models::lstm::LstmLm>>::train_batch(&task, 7, 3);
        let b = <TokenTask as Task<fugue_models::lstm::LstmLm>>::train_batch(&task, 7, 3);
        let c = <TokenTask as Task<fugue_models::lstm::LstmLm>>::train_batch(&task, 7, 4);
        assert_eq!(a.inputs, b.inputs);
        assert_ne!(a.inputs, c.inputs);
        // Targets are the inputs shifted by one within each row.
        for r in 0..4 {
            for j in 0..7 {
                if a.weights[r * 8 + j] > 0.0 && a.weights[r * 8 + j + 1] > 0.0 {
                    assert_eq!(a.targets[r * 8 + j], a.inputs[r * 8 + j + 1]);
                }
            }
        }
    }

    #[test]
    fn framed_crops_start_on_a_step() {
        // Token value = 10 + its voice (index mod 4), as serialized SATB.
        let piece = |steps: usize| (0..4 * steps).map(|k| 10 + (k % 4) as u32).collect::<Vec<u32>>();
        let free = TokenTask::new(vec![piece(40), piece(25)], vec![], vec![], 1, 0, 16, 12);
        let framed = free.clone().with_frame(4);
        let mut unaligned = 0;
        for step in 0..20 {
            for (task, aligned) in [(&framed, true), (&free, false)] {
                let b = <TokenTask as Task<fugue_models::lstm::LstmLm>>::train_batch(task, 3, step);
                for r in 0..16 {
                    let row_aligned = (0..12).all(|j| b.targets[r * 12 + j] == 10 + (j % 4) as i64);
                    if aligned {
                        assert!(row_aligned, "step {step} row {r}: {:?}", &b.targets[r * 12..][..12]);
                    } else {
                        unaligned += usize::from(!row_aligned);
                    }
                }
            }
        }
        // Without a frame, crops start anywhere.
        assert!(unaligned > 100, "{unaligned}");
    }
}
