//! Coconet's task: orderless-NADE training on SATB piano-rolls, and the
//! exact chronological likelihood.
//!
//! Training (Huang et al. 2017, after Uria et al. 2014): each example is a
//! random crop of a chorale; a mask size k is drawn uniformly from
//! 1..=T·I, then k distinct (step, voice) cells uniformly; the network sees
//! the other cells and predicts the masked ones. The loss of an example is
//! its masked cells' negative log-likelihood scaled by n/k (n = its
//! cells): an unbiased estimate of the NLL of the whole crop under a random
//! ordering, so the summed loss over the sounding cells is in nats per note, the
//! "orderless" note-wise NLL. Validation uses the same estimator with masks
//! fixed by the window's index, so it is comparable from one evaluation to
//! the next.
//!
//! The chronological NLL ([`chronological_nll`]) is exact: note by note,
//! step by step, voices S, A, T, B within a step, each predicted from all
//! the notes before it (the later ones masked). The network's output at a
//! step depends only on `receptive_radius` steps either side, so each
//! conditional is computed on a window of that radius, batched.
//!
//! Silent cells (a voice resting) have no pitch to predict: they are never
//! counted, as in Coconet's data where a rest is an all-zero column.

use burn::tensor::{Device, Int, Tensor, TensorData};
use fugue_models::coconet::{inputs, Coconet};
use rand::Rng;

use crate::tasks::{crop_start, cumulative, pick, step_rng, Split, Task};

/// A chorale as the network reads it: per step, each voice's pitch index
/// (`0..pitches`) or `None` when silent.
pub type Cells = Vec<[Option<u8>; 4]>;

/// The three splits and how to batch them.
#[derive(Debug, Clone)]
pub struct CoconetTask {
    pub train: Vec<Cells>,
    pub valid: Vec<Cells>,
    pub test: Vec<Cells>,
    pub pitches: usize,
    pub batch_size: usize,
    /// Steps per training crop (Coconet: 64, four 4/4 bars of 16ths).
    pub crop: usize,
    cumulative: Vec<usize>,
}

/// Rolls, masks, targets and weights for `batch` crops of `len` steps.
#[derive(Debug, Clone)]
pub struct CoconetBatch {
    /// `[batch, 4, len, pitches]` one-hot.
    pub roll: Vec<f32>,
    /// `[batch, 4, len]` 1 = predict (expanded over pitch on the device).
    pub mask: Vec<f32>,
    /// `[batch, 4, len]` pitch index (0 where silent or padding).
    pub targets: Vec<i64>,
    /// `[batch, 4, len]` loss weight: cells/k on masked sounding cells, else 0.
    pub weights: Vec<f32>,
    /// The sounding cells (notes) the loss estimates the NLL of.
    pub count: usize,
    pub batch: usize,
    pub len: usize,
}

impl CoconetTask {
    pub fn new(
        train: Vec<Cells>,
        valid: Vec<Cells>,
        test: Vec<Cells>,
        pitches: usize,
        batch_size: usize,
        crop: usize,
    ) -> Self {
        let cumulative = cumulative(train.iter().map(Vec::len));
        Self {
            train,
            valid,
            test,
            pitches,
            batch_size,
            crop,
            cumulative,
        }
    }

    pub fn split(&self, split: Split) -> &[Cells] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }

    /// One batch from `(piece, start)` crops, each with its own random mask.
    fn batch_of(&self, crops: &[(&[[Option<u8>; 4]], usize)], rng: &mut impl Rng) -> CoconetBatch {
        let (b, t, p) = (crops.len(), self.crop, self.pitches);
        let mut out = CoconetBatch {
            roll: vec![0.0; b * 4 * t * p],
            mask: vec![0.0; b * 4 * t],
            targets: vec![0; b * 4 * t],
            weights: vec![0.0; b * 4 * t],
            count: 0,
            batch: b,
            len: t,
        };
        let mut order: Vec<usize> = Vec::with_capacity(4 * t);
        for (r, &(piece, start)) in crops.iter().enumerate() {
            let steps = piece.len().saturating_sub(start).min(t);
            let mut sounding = 0usize;
            for (s, cell) in piece[start..start + steps].iter().enumerate() {
                for (v, pitch) in cell.iter().enumerate() {
                    if let Some(pitch) = *pitch {
                        let pitch = usize::from(pitch).min(p - 1);
                        out.roll[((r * 4 + v) * t + s) * p + pitch] = 1.0;
                        out.targets[(r * 4 + v) * t + s] = pitch as i64;
                        sounding += 1;
                    }
                }
            }
            // k uniform in 1..=D_cells, then k distinct cells (a partial
            // Fisher–Yates shuffle over the crop's real cells).
            let cells = 4 * steps;
            if cells == 0 {
                continue;
            }
            let k = rng.random_range(1..=cells);
            order.clear();
            order.extend(0..cells);
            let mut masked_sounding = 0usize;
            for i in 0..k {
                let j = rng.random_range(i..cells);
                order.swap(i, j);
                let (s, v) = (order[i] / 4, order[i] % 4);
                let at = (r * 4 + v) * t + s;
                out.mask[at] = 1.0;
                if piece[start + s][v].is_some() {
                    masked_sounding += 1;
                }
            }
            // Each cell is masked with probability k/cells: scaling by cells/k
            // makes the expected loss the sum over every sounding cell.
            let scale = cells as f32 / k as f32;
            if masked_sounding > 0 {
                for (s, cell) in piece[start..start + steps].iter().enumerate() {
                    for (v, pitch) in cell.iter().enumerate() {
                        let at = (r * 4 + v) * t + s;
                        if out.mask[at] > 0.0 && pitch.is_some() {
                            out.weights[at] = scale;
                        }
                    }
                }
            }
            out.count += sounding;
        }
        out
    }

    /// Non-overlapping windows of `crop` steps covering every piece.
    fn windows(&self, split: Split) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (i, piece) in self.split(split).iter().enumerate() {
            let mut start = 0;
            while start < piece.len() {
                out.push((i, start));
                start += self.crop;
            }
        }
        out
    }
}

impl Task<Coconet> for CoconetTask {
    type Batch = CoconetBatch;

    fn train_batch(&self, seed: u64, step: u64) -> CoconetBatch {
        let mut rng = step_rng(seed, step, 3);
        let crops: Vec<(&[[Option<u8>; 4]], usize)> = (0..self.batch_size)
            .map(|_| {
                let i = pick(&self.cumulative, &mut rng).min(self.train.len().saturating_sub(1));
                let piece = self.train[i].as_slice();
                (piece, crop_start(piece.len(), self.crop, &mut rng))
            })
            .collect();
        self.batch_of(&crops, &mut rng)
    }

    fn eval_batches(&self, split: Split) -> Vec<CoconetBatch> {
        let pieces = self.split(split);
        self.windows(split)
            .chunks(self.batch_size.max(1))
            .enumerate()
            .map(|(n, chunk)| {
                // Masks fixed per batch index: the same estimate every time.
                let mut rng = step_rng(0x00C0_C0E7, n as u64, 4);
                let crops: Vec<(&[[Option<u8>; 4]], usize)> =
                    chunk.iter().map(|&(i, start)| (pieces[i].as_slice(), start)).collect();
                self.batch_of(&crops, &mut rng)
            })
            .collect()
    }

    fn loss(&self, model: &Coconet, batch: &CoconetBatch, device: &Device) -> (Tensor<1>, usize) {
        let (b, t) = (batch.batch, batch.len);
        let (roll, mask) = inputs(batch.roll.clone(), batch.mask.clone(), [b, t], self.pitches, device);
        let targets = Tensor::<4, Int>::from_data(TensorData::new(batch.targets.clone(), [b, 4, t, 1]), device);
        let weights = Tensor::<4>::from_data(TensorData::new(batch.weights.clone(), [b, 4, t, 1]), device);
        let logp = model.log_probs(roll, mask).gather(3, targets);
        ((logp * weights).sum().neg(), batch.count)
    }

    fn unit(&self) -> &'static str {
        "note"
    }
}

/// The exact chronological NLL of `pieces`: summed nats and the number of
/// notes (sounding cells) it covers. Steps in time order, voices S, A, T,
/// B within a step; each note is predicted with every later cell masked.
/// `radius` must be at least the network's receptive radius (then every
/// conditional is the whole-piece one); `batch` conditionals run per pass.
pub fn chronological_nll(
    model: &Coconet,
    pieces: &[Cells],
    radius: usize,
    batch: usize,
    device: &Device,
) -> (f64, usize) {
    let p = model.pitches;
    // Each query (piece, step, voice) runs on the window of `radius` steps
    // either side, cut at the piece's ends (there the padding is the
    // piece's own boundary, as for the whole piece). Windows of one length
    // batch together: all of them but the first and last `radius` steps'.
    let mut by_len: std::collections::BTreeMap<usize, Vec<Query>> = std::collections::BTreeMap::new();
    for (i, piece) in pieces.iter().enumerate() {
        for (s, cell) in piece.iter().enumerate() {
            let start = s.saturating_sub(radius);
            let len = (s + radius + 1).min(piece.len()) - start;
            for v in (0..4).filter(|&v| cell[v].is_some()) {
                by_len.entry(len).or_default().push(Query {
                    piece: i,
                    start,
                    step: s,
                    voice: v,
                });
            }
        }
    }
    let (mut total, mut count) = (0f64, 0usize);
    for (len, queries) in by_len {
        for group in queries.chunks(batch.max(1)) {
            let g = group.len();
            let mut roll = vec![0f32; g * 4 * len * p];
            let mut mask = vec![0f32; g * 4 * len];
            let mut at = Vec::with_capacity(g);
            for (r, q) in group.iter().enumerate() {
                let piece = &pieces[q.piece];
                for w in 0..len {
                    let step = q.start + w;
                    for (voice, pitch) in piece[step].iter().enumerate() {
                        let hidden = step > q.step || (step == q.step && voice >= q.voice);
                        let cell = (r * 4 + voice) * len + w;
                        if hidden {
                            mask[cell] = 1.0;
                        } else if let Some(pitch) = *pitch {
                            roll[cell * p + usize::from(pitch).min(p - 1)] = 1.0;
                        }
                    }
                }
                let target = piece[q.step][q.voice].map_or(0, usize::from).min(p - 1);
                at.push(((r * 4 + q.voice) * len + (q.step - q.start)) * p + target);
            }
            let (roll, mask) = inputs(roll, mask, [g, len], p, device);
            let logp = model.log_probs(roll, mask).into_data();
            let values = logp.as_slice::<f32>().unwrap_or(&[]);
            for &k in &at {
                if let Some(x) = values.get(k) {
                    total -= f64::from(*x);
                    count += 1;
                }
            }
        }
    }
    (total, count)
}

/// One conditional of the chronological likelihood.
#[derive(Debug, Clone, Copy)]
struct Query {
    piece: usize,
    /// First step of its window.
    start: usize,
    step: usize,
    voice: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_models::coconet::CoconetConfig;

    fn piece(len: usize, offset: u8) -> Cells {
        (0..len)
            .map(|s| {
                let x = (s as u8 / 2 + offset) % 8;
                [
                    Some(x + 4),
                    Some(x + 2),
                    if s == 3 { None } else { Some(x + 1) },
                    Some(x),
                ]
            })
            .collect()
    }

    #[test]
    fn masks_weights_and_counts() {
        let task = CoconetTask::new(vec![piece(40, 0), piece(9, 3)], vec![], vec![], 12, 4, 16);
        let b = <CoconetTask as Task<Coconet>>::train_batch(&task, 1, 1);
        assert_eq!(b.roll.len(), 4 * 4 * 16 * 12);
        // Every row has at least one masked cell; weights sit only on
        // masked sounding cells, all equal to cells/k within a row.
        for r in 0..4 {
            let row = |v: &Vec<f32>| v[r * 64..(r + 1) * 64].to_vec();
            let (mask, weights) = (row(&b.mask), row(&b.weights));
            let k = mask.iter().filter(|&&m| m > 0.0).count();
            assert!(k >= 1);
            let w: Vec<f32> = weights.iter().copied().filter(|&w| w > 0.0).collect();
            assert!(w.len() <= k);
            assert!(w.windows(2).all(|p| p[0] == p[1]));
            for (m, w) in mask.iter().zip(&weights) {
                assert!(*w == 0.0 || *m > 0.0);
            }
        }
        // Same (seed, step), same batch; another step, another.
        let again = <CoconetTask as Task<Coconet>>::train_batch(&task, 1, 1);
        assert_eq!(again.mask, b.mask);
        let other = <CoconetTask as Task<Coconet>>::train_batch(&task, 1, 2);
        assert_ne!(other.mask, b.mask);
    }

    #[test]
    fn the_weighted_estimate_is_unbiased_for_a_known_model() {
        // With a model-free check: for fixed per-cell losses the expected
        // weighted sum over random masks equals the sum over all cells.
        let task = CoconetTask::new(vec![piece(6, 0)], vec![], vec![], 12, 1, 6);
        let cell_loss = |i: usize| 1.0 + (i % 7) as f64;
        let exact: f64 = (0..24)
            .filter(|&i| piece(6, 0)[i % 6][i / 6].is_some())
            .map(cell_loss)
            .sum();
        let mut total = 0f64;
        let trials = 20_000;
        for step in 0..trials {
            let b = <CoconetTask as Task<Coconet>>::train_batch(&task, 9, step);
            total += b
                .weights
                .iter()
                .enumerate()
                .map(|(i, w)| f64::from(*w) * cell_loss(i))
                .sum::<f64>();
        }
        let mean = total / trials as f64;
        assert!((mean - exact).abs() / exact < 0.02, "{mean} vs {exact}");
    }

    #[test]
    fn chronological_windows_equal_whole_piece_conditionals() {
        let device = Device::flex();
        let config = CoconetConfig::tiny();
        let model = config.init(&device).unwrap_or_else(|e| panic!("{e}"));
        let pieces = vec![piece(14, 1), piece(5, 2)];
        let (windowed, n) = chronological_nll(&model, &pieces, config.receptive_radius(), 7, &device);
        // Radius larger than any piece: every query sees its whole piece.
        let (whole, m) = chronological_nll(&model, &pieces, 100, 3, &device);
        assert_eq!(n, m);
        assert_eq!(n, 14 * 4 - 1 + 5 * 4 - 1);
        assert!(
            (windowed - whole).abs() < 1e-3 * whole.abs().max(1.0),
            "{windowed} vs {whole}"
        );
        // An untrained net is near uniform over 12 pitches.
        assert!((whole / n as f64 - (12f64).ln()).abs() < 0.5);
    }
}
