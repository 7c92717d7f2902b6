//! DeepBach's task: predict each voice's token at a tick from the window of
//! `context` ticks either side (Hadjeres et al. 2017).
//!
//! Training: windows of `2·context + 1` ticks centred on random ticks of
//! random chorales (a chorale drawn in proportion to its length, a tick
//! uniformly: every tick of the corpus equally likely), `START` before and
//! `END` after the piece, metadata 0 there, as DeepBach pads. Each window
//! is transposed by a semitone shift drawn uniformly among those that keep
//! every voice of the window inside that voice's range over the training
//! corpus (DeepBach's augmentation: its dataset holds every window in every
//! such transposition; drawing one at random samples the same set). Pitch
//! tokens and the key metadata move with the shift. The loss is the mean
//! cross-entropy of the four voices' tokens at the centre; its unit is one
//! (voice, tick) cell, called a "note" as Coconet's figures are.
//!
//! Validation: every tick of every chorale of the split, untransposed, in a
//! fixed shuffled order, so that the first few batches (the periodic
//! estimate) are spread over the whole split and the same each time.
//! [`voice_scores`] gives the per-voice NLL and accuracy the reference code
//! reports.

use burn::tensor::{Device, Int, Tensor, TensorData};
pub use fugue_models::deepbach::TokenLayout;
use fugue_models::deepbach::{DeepBach, VOICES};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::tasks::{cumulative, pick, step_rng, Split, Task};
use crate::TrainError;

/// Metadata streams, in the order the network reads them.
pub const METADATA: [&str; 3] = ["fermata", "tick", "key"];

/// One chorale as ids, without padding: per voice one token per tick, and
/// per tick the metadata indices (fermata 0/1, tick in beat, key
/// `sharps + 8` with 0 = unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeepBachPiece {
    pub voices: [Vec<u32>; 4],
    pub fermata: Vec<u8>,
    pub tick: Vec<u8>,
    pub key: Vec<u8>,
}

impl DeepBachPiece {
    pub fn len(&self) -> usize {
        self.fermata.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fermata.is_empty()
    }

    /// An error naming what is inconsistent.
    pub fn validate(&self, layout: &TokenLayout) -> Result<(), String> {
        let n = self.len();
        if self.tick.len() != n || self.key.len() != n || self.voices.iter().any(|v| v.len() != n) {
            return Err("voices and metadata differ in length".into());
        }
        if let Some(&id) = self.voices.iter().flatten().find(|&&id| id as usize >= layout.size()) {
            return Err(format!("token id {id} is outside the vocabulary of {}", layout.size()));
        }
        Ok(())
    }
}

/// Key index (`sharps + 8`, 0 = unknown) after transposing by `shift`
/// semitones: the fifths move by 7·shift, spelled with the fewest
/// accidentals (−6..=5); unknown stays unknown and shift 0 changes nothing.
pub fn transpose_key(key: u8, shift: i32) -> u8 {
    if key == 0 || shift == 0 {
        return key;
    }
    let sharps = i32::from(key) - 8 + 7 * shift;
    ((sharps + 6).rem_euclid(12) - 6 + 8) as u8
}

/// The three splits and how to batch them.
#[derive(Debug, Clone)]
pub struct DeepBachTask {
    pub train: Vec<DeepBachPiece>,
    pub valid: Vec<DeepBachPiece>,
    pub test: Vec<DeepBachPiece>,
    pub layout: TokenLayout,
    /// Ticks either side of the predicted one.
    pub context: usize,
    pub batch_size: usize,
    /// Per voice, the lowest and highest MIDI pitch of the training split.
    pub ranges: [(u8, u8); 4],
    cumulative: Vec<usize>,
}

/// `batch` windows: tokens `[b, window, 4]`, metadata `[b, window, 3]`,
/// the centre tokens `[b, 4]`.
#[derive(Debug, Clone)]
pub struct DeepBachBatch {
    pub notes: Vec<i64>,
    pub meta: Vec<i64>,
    pub targets: Vec<i64>,
    pub batch: usize,
    pub window: usize,
}

impl DeepBachTask {
    pub fn new(
        train: Vec<DeepBachPiece>,
        valid: Vec<DeepBachPiece>,
        test: Vec<DeepBachPiece>,
        layout: TokenLayout,
        context: usize,
        batch_size: usize,
    ) -> Result<Self, TrainError> {
        for (name, split) in [("train", &train), ("valid", &valid), ("test", &test)] {
            for (i, piece) in split.iter().enumerate() {
                piece.validate(&layout).map_err(|why| TrainError::Config {
                    field: "data",
                    why: format!("{name} piece {i}: {why}"),
                })?;
            }
        }
        if train.iter().all(DeepBachPiece::is_empty) {
            return Err(TrainError::Config {
                field: "data",
                why: "the training split has no ticks".into(),
            });
        }
        if batch_size == 0 || context == 0 {
            return Err(TrainError::Config {
                field: if batch_size == 0 { "batch_size" } else { "context" },
                why: "must be positive".into(),
            });
        }
        let ranges = voice_ranges(&train, &layout);
        let cumulative = cumulative(train.iter().map(DeepBachPiece::len));
        Ok(Self {
            train,
            valid,
            test,
            layout,
            context,
            batch_size,
            ranges,
            cumulative,
        })
    }

    pub fn split(&self, split: Split) -> &[DeepBachPiece] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }

    pub fn window(&self) -> usize {
        2 * self.context + 1
    }

    /// The semitone shifts that keep every pitch of the window centred on
    /// `centre` inside its voice's training range (0 always included).
    pub fn shifts(&self, piece: &DeepBachPiece, centre: usize) -> Vec<i32> {
        let lo = centre.saturating_sub(self.context);
        let hi = (centre + self.context + 1).min(piece.len());
        let (mut down, mut up) = (-127i32, 127i32);
        for v in 0..VOICES {
            let pitches = piece.voices[v][lo..hi].iter().filter_map(|&id| self.layout.pitch(id));
            let (min, max) = pitches.fold((u8::MAX, 0u8), |(a, b), p| (a.min(p), b.max(p)));
            if min <= max {
                let (r_lo, r_hi) = self.ranges[v];
                down = down.max(i32::from(r_lo) - i32::from(min));
                up = up.min(i32::from(r_hi) - i32::from(max));
            }
        }
        if down > up {
            return vec![0];
        }
        (down.min(0)..=up.max(0)).collect()
    }

    /// Appends the window centred on `centre` of `piece`, shifted by
    /// `shift` semitones, to `out`.
    pub fn push_window(&self, piece: &DeepBachPiece, centre: usize, shift: i32, out: &mut DeepBachBatch) {
        let l = &self.layout;
        for k in 0..self.window() {
            let tick = (centre + k).checked_sub(self.context).filter(|&t| t < piece.len());
            match tick {
                Some(t) => {
                    for v in 0..VOICES {
                        let id = piece.voices[v][t];
                        let id = match l.pitch(id) {
                            Some(p) => l.pitch_id((i32::from(p) + shift).clamp(0, 127) as u8),
                            None => id,
                        };
                        out.notes.push(i64::from(id));
                    }
                    out.meta.push(i64::from(piece.fermata[t]));
                    out.meta.push(i64::from(piece.tick[t]));
                    out.meta.push(i64::from(transpose_key(piece.key[t], shift)));
                }
                None => {
                    let pad = if centre + k < self.context { l.start } else { l.end };
                    out.notes.extend([i64::from(pad); VOICES]);
                    out.meta.extend([0; 3]);
                }
            }
        }
        out.targets
            .extend(out.notes[out.notes.len() - (self.context + 1) * VOICES..][..VOICES].iter());
        out.batch += 1;
    }

    fn empty_batch(&self, rows: usize) -> DeepBachBatch {
        let w = self.window();
        DeepBachBatch {
            notes: Vec::with_capacity(rows * w * VOICES),
            meta: Vec::with_capacity(rows * w * 3),
            targets: Vec::with_capacity(rows * VOICES),
            batch: 0,
            window: w,
        }
    }

    /// Every (piece, tick) of a split in a fixed shuffled order.
    fn eval_cells(&self, split: Split) -> Vec<(usize, usize)> {
        let mut cells: Vec<(usize, usize)> = self
            .split(split)
            .iter()
            .enumerate()
            .flat_map(|(i, p)| (0..p.len()).map(move |t| (i, t)))
            .collect();
        cells.shuffle(&mut step_rng(0xDEE9_BAC4, 0, 8));
        cells
    }

    /// The windows of a split, untransposed, batched.
    pub fn eval_windows(&self, split: Split) -> Vec<DeepBachBatch> {
        let pieces = self.split(split);
        self.eval_cells(split)
            .chunks(self.batch_size.max(1))
            .map(|chunk| {
                let mut b = self.empty_batch(chunk.len());
                for &(i, t) in chunk {
                    self.push_window(&pieces[i], t, 0, &mut b);
                }
                b
            })
            .collect()
    }
}

/// Per voice, the lowest and highest pitch over `pieces` (60..=60 for a
/// voice that never sounds).
pub fn voice_ranges(pieces: &[DeepBachPiece], layout: &TokenLayout) -> [(u8, u8); 4] {
    std::array::from_fn(|v| {
        let (lo, hi) = pieces
            .iter()
            .flat_map(|p| p.voices[v].iter())
            .filter_map(|&id| layout.pitch(id))
            .fold((u8::MAX, 0u8), |(a, b), p| (a.min(p), b.max(p)));
        if lo <= hi {
            (lo, hi)
        } else {
            (60, 60)
        }
    })
}

/// The batch's tensors: tokens, metadata, targets `[b, 4, 1]`.
fn batch_tensors(batch: &DeepBachBatch, device: &Device) -> (Tensor<3, Int>, Tensor<3, Int>, Tensor<3, Int>) {
    let (b, w) = (batch.batch, batch.window);
    (
        Tensor::from_data(TensorData::new(batch.notes.clone(), [b, w, VOICES]), device),
        Tensor::from_data(TensorData::new(batch.meta.clone(), [b, w, 3]), device),
        Tensor::from_data(TensorData::new(batch.targets.clone(), [b, VOICES, 1]), device),
    )
}

impl Task<DeepBach> for DeepBachTask {
    type Batch = DeepBachBatch;

    fn train_batch(&self, seed: u64, step: u64) -> DeepBachBatch {
        let mut rng: ChaCha8Rng = step_rng(seed, step, 7);
        let mut b = self.empty_batch(self.batch_size);
        for _ in 0..self.batch_size {
            let piece = &self.train[pick(&self.cumulative, &mut rng).min(self.train.len().saturating_sub(1))];
            let centre = rng.random_range(0..piece.len().max(1));
            let shifts = self.shifts(piece, centre);
            let shift = shifts[rng.random_range(0..shifts.len())];
            self.push_window(piece, centre, shift, &mut b);
        }
        b
    }

    fn eval_batches(&self, split: Split) -> Vec<DeepBachBatch> {
        self.eval_windows(split)
    }

    fn loss(&self, model: &DeepBach, batch: &DeepBachBatch, device: &Device) -> (Tensor<1>, usize) {
        let (notes, meta, targets) = batch_tensors(batch, device);
        let logp = model.log_probs(notes, meta).gather(2, targets);
        (logp.sum().neg(), batch.batch * VOICES)
    }

    fn unit(&self) -> &'static str {
        "note"
    }
}

/// Per-voice negative log-likelihood (nats) and accuracy (argmax = the
/// true token) at every tick of a split.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceScores {
    pub nll: [f64; 4],
    pub accuracy: [f64; 4],
    /// Ticks scored (each counts once per voice).
    pub ticks: usize,
}

impl VoiceScores {
    /// The mean over the four voices.
    pub fn overall(&self) -> (f64, f64) {
        (
            self.nll.iter().sum::<f64>() / 4.0,
            self.accuracy.iter().sum::<f64>() / 4.0,
        )
    }
}

/// [`VoiceScores`] of `model` on `split` (the periodic validation's
/// windows, all of them, without dropout).
pub fn voice_scores(model: &DeepBach, task: &DeepBachTask, split: Split, device: &Device) -> VoiceScores {
    use burn::module::Module;
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let (mut nll, mut hits, mut ticks) = ([0f64; 4], [0usize; 4], 0usize);
    for batch in task.eval_windows(split) {
        let (notes, meta, _) = batch_tensors(&batch, &device);
        let logp = model.log_probs(notes, meta).into_data();
        let Ok(values) = logp.as_slice::<f32>() else {
            continue;
        };
        let vocab = values.len() / (batch.batch * VOICES).max(1);
        for r in 0..batch.batch {
            for v in 0..VOICES {
                let row = &values[(r * VOICES + v) * vocab..][..vocab];
                let target = batch.targets[r * VOICES + v] as usize;
                nll[v] -= f64::from(row.get(target).copied().unwrap_or(f32::NEG_INFINITY));
                let best = (0..vocab).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
                hits[v] += usize::from(best == target);
            }
        }
        ticks += batch.batch;
    }
    let per = |x: f64| if ticks > 0 { x / ticks as f64 } else { f64::NAN };
    VoiceScores {
        nll: nll.map(per),
        accuracy: hits.map(|h| per(h as f64)),
        ticks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_models::deepbach::DeepBachConfig;

    const L: TokenLayout = TokenLayout::FUGUE;

    /// A piece whose voices move by step around (72, 65, 57, 48).
    fn piece(len: usize, offset: u8, key: u8) -> DeepBachPiece {
        let voices = std::array::from_fn(|v| {
            (0..len)
                .map(|t| {
                    if t % 2 == 1 {
                        L.hold
                    } else {
                        L.pitch_id([72u8, 65, 57, 48][v] + ((t as u8 / 2 + offset) % 5))
                    }
                })
                .collect()
        });
        DeepBachPiece {
            voices,
            fermata: (0..len).map(|t| u8::from(t % 16 == 15)).collect(),
            tick: (0..len).map(|t| (t % 4) as u8).collect(),
            key: vec![key; len],
        }
    }

    fn task() -> DeepBachTask {
        DeepBachTask::new(
            vec![piece(40, 0, 8), piece(12, 3, 9)],
            vec![piece(9, 1, 7)],
            vec![],
            L,
            4,
            5,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn windows_pad_with_start_and_end_and_target_the_centre() {
        let t = task();
        let p = &t.valid[0];
        let mut b = t.empty_batch(2);
        t.push_window(p, 0, 0, &mut b);
        t.push_window(p, 8, 0, &mut b);
        let w = t.window();
        let row = |r: usize, k: usize| &b.notes[(r * w + k) * 4..][..4];
        for k in 0..4 {
            assert_eq!(row(0, k), [i64::from(L.start); 4]);
            assert_eq!(row(1, 5 + k), [i64::from(L.end); 4]);
        }
        assert_eq!(row(0, 4), p.voices.each_ref().map(|v| i64::from(v[0])));
        assert_eq!(&b.targets[..4], row(0, 4));
        assert_eq!(&b.targets[4..], row(1, 4));
        // Metadata is zero on padding, the piece's inside.
        assert_eq!(&b.meta[..3], [0, 0, 0]);
        assert_eq!(&b.meta[4 * 3..5 * 3], [0, 0, 7]);
    }

    #[test]
    fn transposition_stays_in_range_and_moves_the_key() {
        let t = task();
        assert_eq!(t.ranges[0], (72, 76));
        let p = &t.train[0];
        // The piece spans the whole range: only shift 0 fits.
        assert_eq!(t.shifts(p, 20), vec![0]);
        let narrow = piece(40, 0, 8);
        let mut short = narrow.clone();
        for v in 0..4 {
            for id in short.voices[v].iter_mut() {
                if let Some(p) = L.pitch(*id) {
                    *id = L.pitch_id(p.min([72u8, 65, 57, 48][v] + 2));
                }
            }
        }
        let shifts = t.shifts(&short, 20);
        assert_eq!(shifts, vec![0, 1, 2]);
        let mut b = t.empty_batch(1);
        t.push_window(&short, 20, 2, &mut b);
        for (k, id) in b.notes.iter().enumerate() {
            if let Some(pitch) = L.pitch(*id as u32) {
                let (lo, hi) = t.ranges[k % 4];
                assert!((lo..=hi).contains(&pitch), "{pitch} outside voice {}", k % 4);
            }
        }
        // C major (index 8) up two semitones is D major (2 sharps).
        assert_eq!(b.meta[2], 10);
        assert_eq!(transpose_key(8, 1), 3); // D♭: 5 flats
        assert_eq!(transpose_key(15, 0), 15);
        assert_eq!(transpose_key(0, 3), 0);
        // Training batches draw among the shifts and depend on (seed, step).
        let a = <DeepBachTask as Task<DeepBach>>::train_batch(&t, 3, 1);
        let again = <DeepBachTask as Task<DeepBach>>::train_batch(&t, 3, 1);
        let other = <DeepBachTask as Task<DeepBach>>::train_batch(&t, 3, 2);
        assert_eq!(a.notes, again.notes);
        assert_ne!(a.notes, other.notes);
        assert_eq!(a.batch, 5);
    }

    #[test]
    fn validation_covers_every_tick_once_untransposed() {
        let t = task();
        let batches = <DeepBachTask as Task<DeepBach>>::eval_batches(&t, Split::Valid);
        assert_eq!(batches.iter().map(|b| b.batch).sum::<usize>(), 9);
        let mut centres: Vec<Vec<i64>> = batches
            .iter()
            .flat_map(|b| b.targets.chunks(4).map(<[i64]>::to_vec))
            .collect();
        let mut expected: Vec<Vec<i64>> = (0..9)
            .map(|i| t.valid[0].voices.iter().map(|v| i64::from(v[i])).collect())
            .collect();
        centres.sort();
        expected.sort();
        assert_eq!(centres, expected);
        let again = <DeepBachTask as Task<DeepBach>>::eval_batches(&t, Split::Valid);
        assert_eq!(again[0].notes, batches[0].notes);
    }

    #[test]
    fn an_untrained_model_scores_near_uniform_per_voice() {
        let device = Device::flex();
        let config = DeepBachConfig {
            context: 4,
            ..DeepBachConfig::tiny()
        };
        let model = config.init(&device).unwrap_or_else(|e| panic!("{e}"));
        let t = task();
        let s = voice_scores(&model, &t, Split::Valid, &device);
        assert_eq!(s.ticks, 9);
        for v in 0..4 {
            assert!((s.nll[v] - (132f64).ln()).abs() < 0.5, "{:?}", s.nll);
            assert!((0.0..=1.0).contains(&s.accuracy[v]));
        }
        let (loss, n) = <DeepBachTask as Task<DeepBach>>::loss(&t, &model, &t.eval_windows(Split::Valid)[0], &device);
        assert_eq!(n, 20);
        assert!(loss.into_scalar::<f32>() > 0.0);
    }

    #[test]
    fn bad_pieces_are_errors() {
        let mut bad = piece(5, 0, 8);
        bad.key.pop();
        assert!(DeepBachTask::new(vec![bad], vec![], vec![], L, 4, 2).is_err());
        let mut out_of_vocab = piece(5, 0, 8);
        out_of_vocab.voices[2][1] = 999;
        let e = DeepBachTask::new(vec![piece(5, 0, 8)], vec![out_of_vocab], vec![], L, 4, 2).unwrap_err();
        assert!(e.to_string().contains("999"), "{e}");
        assert!(DeepBachTask::new(vec![], vec![], vec![], L, 4, 2).is_err());
    }
}
