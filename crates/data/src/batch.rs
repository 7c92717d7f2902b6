//! Batches for training, with no deep-learning dependency: token ids as a
//! row-major `rows × len` `Vec<u32>` with a `u8` mask (1 = a real token,
//! 0 = padding), and for piano-roll datasets `rows × time × pitches` binary
//! frames with a `rows × time` mask. A model crate turns these into tensors.
//!
//! How sequences become examples ([`Windowing`]): whole pieces (cut into
//! consecutive chunks of at most `max_len`, so every token is in exactly one
//! example), or fixed windows of `len` every `stride` (the last window of a
//! sequence may be shorter and is padded). Batches of whole pieces are as
//! long as their longest example; window batches are always `len` long.
//!
//! Order: with `shuffle`, each epoch's examples are shuffled with a generator
//! seeded by (seed, epoch, pool); with `bucket = k > 0`, shuffled examples
//! are then sorted by length inside groups of `k` batches, cut into batches,
//! and the batches of the epoch shuffled again (similar lengths share a batch,
//! less padding, still a random order). The last, smaller batch is kept
//! unless `drop_last`.
//!
//! Streaming: a [`Source`] hands examples over in pools. [`InMemory`] is one
//! pool; [`ShardStream`] reads a tokenized folder a few shards at a time
//! (pools visited in a seeded order per epoch, shuffling inside a pool), so
//! a corpus larger than memory streams with one pool resident.
//!
//! Resuming: [`BatcherState`] (seed, epoch, pool position, batch position) is
//! all the position there is; it is serde-serializable and
//! [`Batcher::resume`] with it yields exactly the batches the interrupted
//! run would have yielded next, because every epoch's plan is recomputed
//! from the seed and the lengths.

use crate::dataset::Roll;
use crate::error::DataError;
use crate::rng::{rng, shuffle};
use crate::shards::Manifest;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How sequences become examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Windowing {
    /// Whole sequences, cut into consecutive chunks of at most `max_len`.
    Whole {
        /// Longest example (`usize::MAX` for no limit).
        max_len: usize,
    },
    /// Windows of `len` starting every `stride`.
    Windows {
        /// Window length.
        len: usize,
        /// Distance between window starts (`len` = no overlap).
        stride: usize,
    },
}

/// A batching configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchConfig {
    /// Examples per batch.
    pub batch_size: usize,
    /// Examples from sequences.
    pub windowing: Windowing,
    /// The id written in padding.
    pub pad_id: u32,
    /// Shuffle each epoch.
    pub shuffle: bool,
    /// Bucket by length in groups of this many batches (0 = off).
    pub bucket: usize,
    /// Drop an epoch's last batch of a pool when it is not full.
    pub drop_last: bool,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            batch_size: 32,
            windowing: Windowing::Whole { max_len: usize::MAX },
            pad_id: 0,
            shuffle: true,
            bucket: 0,
            drop_last: false,
        }
    }
}

impl BatchConfig {
    fn validate(&self) -> Result<(), DataError> {
        if self.batch_size == 0 {
            return Err(DataError::Config("batch_size must be at least 1".into()));
        }
        match self.windowing {
            Windowing::Whole { max_len: 0 } => Err(DataError::Config("max_len must be at least 1".into())),
            Windowing::Windows { len, stride } if len == 0 || stride == 0 => {
                Err(DataError::Config("window len and stride must be at least 1".into()))
            }
            _ => Ok(()),
        }
    }
}

/// Where a batcher is: enough to resume at the same data position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatcherState {
    /// The seed of every shuffle.
    pub seed: u64,
    /// The epoch (from 0).
    pub epoch: u64,
    /// Position in the epoch's pool order.
    pub pool: usize,
    /// Next batch in that pool's plan.
    pub batch: usize,
}

/// One example: a span of one sequence of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The pool it comes from.
    pub pool: usize,
    /// The sequence in that pool.
    pub seq: usize,
    /// First position in the sequence.
    pub start: usize,
    /// Length (before padding).
    pub len: usize,
}

/// Hands sequences over in pools.
pub trait Source {
    /// A sequence: token ids, or a roll.
    type Item: Send + Sync;
    /// Number of pools.
    fn pools(&self) -> usize;
    /// One pool's sequences.
    fn pool(&self, index: usize) -> Result<Arc<Vec<Self::Item>>, DataError>;
    /// A sequence's length (ids or frames).
    fn item_len(item: &Self::Item) -> usize;
}

/// Sequences held in memory: one pool.
#[derive(Clone, Debug)]
pub struct InMemory<T>(pub Arc<Vec<T>>);

impl<T> InMemory<T> {
    /// Wrap sequences.
    pub fn new(items: Vec<T>) -> Self {
        InMemory(Arc::new(items))
    }
}

impl Source for InMemory<Vec<u32>> {
    type Item = Vec<u32>;
    fn pools(&self) -> usize {
        1
    }
    fn pool(&self, _: usize) -> Result<Arc<Vec<Vec<u32>>>, DataError> {
        Ok(self.0.clone())
    }
    fn item_len(item: &Vec<u32>) -> usize {
        item.len()
    }
}

impl Source for InMemory<Roll> {
    type Item = Roll;
    fn pools(&self) -> usize {
        1
    }
    fn pool(&self, _: usize) -> Result<Arc<Vec<Roll>>, DataError> {
        Ok(self.0.clone())
    }
    fn item_len(item: &Roll) -> usize {
        item.len()
    }
}

/// A tokenized folder read a few shards at a time. A pool's sequences are
/// those of its shards' files, in manifest order, every sequence of a file
/// (one per track for multi-sequence schemes).
#[derive(Clone, Debug)]
pub struct ShardStream {
    dir: PathBuf,
    manifest: Manifest,
    shards_per_pool: usize,
}

impl ShardStream {
    /// Open a tokenized folder; `shards_per_pool` shards are resident at once.
    pub fn open(dir: &Path, shards_per_pool: usize) -> Result<Self, DataError> {
        let manifest = Manifest::load(dir)?.ok_or_else(|| DataError::Missing {
            name: dir.display().to_string(),
            path: Manifest::path(dir),
            expected: "manifest.json of a tokenized folder (fugue tokenize / fugue data prepare)".into(),
        })?;
        Ok(ShardStream {
            dir: dir.to_path_buf(),
            manifest,
            shards_per_pool: shards_per_pool.max(1),
        })
    }

    /// The folder's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

impl Source for ShardStream {
    type Item = Vec<u32>;
    fn pools(&self) -> usize {
        self.manifest.shards.len().div_ceil(self.shards_per_pool)
    }
    fn pool(&self, index: usize) -> Result<Arc<Vec<Vec<u32>>>, DataError> {
        let mut seqs = Vec::new();
        let first = index * self.shards_per_pool;
        for info in self.manifest.shards.iter().skip(first).take(self.shards_per_pool) {
            if !self.manifest.shard_is_done(&self.dir, info.index) {
                return Err(DataError::invalid(
                    self.dir.join(&info.file),
                    "shard does not match its checksum in the manifest",
                ));
            }
            let ids = self.manifest.read_shard(&self.dir, info.index)?;
            for f in self.manifest.files.iter().filter(|f| f.shard == info.index) {
                seqs.extend(self.manifest.slices(f, &ids)?.into_iter().map(<[u32]>::to_vec));
            }
        }
        Ok(Arc::new(seqs))
    }
    fn item_len(item: &Vec<u32>) -> usize {
        item.len()
    }
}

/// The examples of one sequence.
fn examples_of(pool: usize, seq: usize, n: usize, w: Windowing, out: &mut Vec<Example>) {
    let (len, stride) = match w {
        Windowing::Whole { max_len } => (max_len, max_len),
        Windowing::Windows { len, stride } => (len, stride),
    };
    let mut start = 0;
    while start < n {
        let l = len.min(n - start);
        out.push(Example {
            pool,
            seq,
            start,
            len: l,
        });
        if start + len >= n {
            break;
        }
        start += stride;
    }
}

/// The batches of one pool in one epoch, from its sequences' lengths (see
/// the module docs): a pure function of its arguments.
pub fn plan(lengths: &[usize], pool: usize, cfg: &BatchConfig, seed: u64, epoch: u64) -> Vec<Vec<Example>> {
    let mut ex = Vec::new();
    for (i, &n) in lengths.iter().enumerate() {
        examples_of(pool, i, n, cfg.windowing, &mut ex);
    }
    let mut r = rng(seed, (epoch << 24) ^ pool as u64);
    if cfg.shuffle {
        shuffle(&mut r, &mut ex);
    }
    if cfg.bucket > 0 {
        for group in ex.chunks_mut(cfg.bucket.saturating_mul(cfg.batch_size)) {
            group.sort_by_key(|e| e.len);
        }
    }
    let mut batches: Vec<Vec<Example>> = ex
        .chunks(cfg.batch_size)
        .filter(|c| !cfg.drop_last || c.len() == cfg.batch_size)
        .map(<[Example]>::to_vec)
        .collect();
    if cfg.shuffle && cfg.bucket > 0 {
        shuffle(&mut r, &mut batches);
    }
    batches
}

/// The epoch's pool order: seeded when shuffling.
fn pool_order(n: usize, cfg: &BatchConfig, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if cfg.shuffle {
        shuffle(&mut rng(seed, (epoch << 24) ^ 0xFF_FFFF), &mut order);
    }
    order
}

/// A pool's sequences and the examples of one batch from it.
type Group<T> = (Arc<Vec<T>>, Vec<Example>);

struct Loaded<T> {
    epoch: u64,
    pool: usize,
    items: Arc<Vec<T>>,
    plan: Vec<Vec<Example>>,
}

/// The epoch / pool / batch walk shared by token and frame batchers.
struct Walk<S: Source> {
    source: S,
    cfg: BatchConfig,
    state: BatcherState,
    order: Option<(u64, Vec<usize>)>,
    loaded: Option<Loaded<S::Item>>,
}

impl<S: Source> Walk<S> {
    fn new(source: S, cfg: BatchConfig, state: BatcherState) -> Result<Self, DataError> {
        cfg.validate()?;
        Ok(Walk {
            source,
            cfg,
            state,
            order: None,
            loaded: None,
        })
    }

    /// The next batch's examples and their pool, or `None` at the end of an
    /// epoch (the state then points at the start of the next one).
    fn next(&mut self) -> Result<Option<Group<S::Item>>, DataError> {
        loop {
            let epoch = self.state.epoch;
            if self.order.as_ref().is_none_or(|(e, _)| *e != epoch) {
                self.order = Some((
                    epoch,
                    pool_order(self.source.pools(), &self.cfg, self.state.seed, epoch),
                ));
            }
            let pool = match self.order.as_ref().and_then(|(_, o)| o.get(self.state.pool)) {
                Some(p) => *p,
                None => {
                    self.state = BatcherState {
                        epoch: epoch + 1,
                        pool: 0,
                        batch: 0,
                        ..self.state
                    };
                    self.loaded = None;
                    return Ok(None);
                }
            };
            if self.loaded.as_ref().is_none_or(|l| l.epoch != epoch || l.pool != pool) {
                let items = self.source.pool(pool)?;
                let lengths: Vec<usize> = items.iter().map(S::item_len).collect();
                let plan = plan(&lengths, pool, &self.cfg, self.state.seed, epoch);
                self.loaded = Some(Loaded {
                    epoch,
                    pool,
                    items,
                    plan,
                });
            }
            let Some(l) = self.loaded.as_ref() else { continue };
            match l.plan.get(self.state.batch) {
                Some(b) => {
                    self.state.batch += 1;
                    return Ok(Some((l.items.clone(), b.clone())));
                }
                None => {
                    self.state.pool += 1;
                    self.state.batch = 0;
                }
            }
        }
    }
}

/// A batch of token ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// `rows × len` ids, row-major, padded with the configured id.
    pub ids: Vec<u32>,
    /// `rows × len`: 1 for a real token, 0 for padding.
    pub mask: Vec<u8>,
    /// Rows (examples).
    pub rows: usize,
    /// Columns.
    pub len: usize,
    /// Where each row comes from.
    pub examples: Vec<Example>,
}

/// Token batches from a [`Source`]; see the module docs.
pub struct Batcher<S: Source<Item = Vec<u32>>> {
    walk: Walk<S>,
}

impl<S: Source<Item = Vec<u32>>> Batcher<S> {
    /// A batcher at the start of epoch 0.
    pub fn new(source: S, cfg: BatchConfig, seed: u64) -> Result<Self, DataError> {
        Self::resume(
            source,
            cfg,
            BatcherState {
                seed,
                epoch: 0,
                pool: 0,
                batch: 0,
            },
        )
    }

    /// A batcher at a saved position (same source and configuration).
    pub fn resume(source: S, cfg: BatchConfig, state: BatcherState) -> Result<Self, DataError> {
        Ok(Batcher {
            walk: Walk::new(source, cfg, state)?,
        })
    }

    /// The position of the next batch; save it with a checkpoint.
    pub fn state(&self) -> BatcherState {
        self.walk.state
    }

    /// The next batch of the epoch, or `None` when the epoch is over (the
    /// next call starts the next epoch).
    pub fn next_batch(&mut self) -> Result<Option<Batch>, DataError> {
        let Some((items, examples)) = self.walk.next()? else {
            return Ok(None);
        };
        let len = match self.walk.cfg.windowing {
            Windowing::Windows { len, .. } => len,
            Windowing::Whole { .. } => examples.iter().map(|e| e.len).max().unwrap_or(0),
        };
        let rows = examples.len();
        let mut ids = vec![self.walk.cfg.pad_id; rows * len];
        let mut mask = vec![0u8; rows * len];
        for (r, e) in examples.iter().enumerate() {
            let src = items
                .get(e.seq)
                .and_then(|s| s.get(e.start..e.start + e.len))
                .unwrap_or(&[]);
            ids[r * len..r * len + src.len()].copy_from_slice(src);
            mask[r * len..r * len + src.len()].fill(1);
        }
        Ok(Some(Batch {
            ids,
            mask,
            rows,
            len,
            examples,
        }))
    }
}

/// A batch of binary piano-roll frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameBatch {
    /// `rows × time × pitches`, row-major: 1 where a pitch sounds.
    pub frames: Vec<u8>,
    /// `rows × time`: 1 for a real frame, 0 for padding.
    pub mask: Vec<u8>,
    /// Rows (examples).
    pub rows: usize,
    /// Frames per row.
    pub time: usize,
    /// Pitch columns (88 or 128).
    pub pitches: usize,
    /// Where each row comes from.
    pub examples: Vec<Example>,
}

/// Frame batches of piano-rolls; column `j` is MIDI pitch `lowest + j`.
pub struct FrameBatcher {
    walk: Walk<InMemory<Roll>>,
    lowest: u8,
    pitches: usize,
}

impl FrameBatcher {
    /// 88 columns, A0 (21) to C8 (108): the Boulanger-Lewandowski layout.
    pub const PIANO_88: (u8, usize) = (21, 88);
    /// All 128 MIDI pitches.
    pub const MIDI_128: (u8, usize) = (0, 128);

    /// A batcher over rolls with a column layout `(lowest pitch, columns)`;
    /// an error if a roll has a pitch outside it. `pad_id` is unused.
    pub fn new(
        rolls: Vec<Roll>,
        layout: (u8, usize),
        cfg: BatchConfig,
        state: BatcherState,
    ) -> Result<Self, DataError> {
        let (lowest, pitches) = layout;
        let top = usize::from(lowest) + pitches;
        if pitches == 0 || top > 128 {
            return Err(DataError::Config(format!(
                "{pitches} columns from pitch {lowest} leave 0..=127"
            )));
        }
        for (i, r) in rolls.iter().enumerate() {
            if let Some(p) = r
                .frames
                .iter()
                .flatten()
                .find(|&&p| p < lowest || usize::from(p) >= top)
            {
                return Err(DataError::Config(format!(
                    "roll {i} has pitch {p}, outside the {pitches} columns from {lowest}"
                )));
            }
        }
        Ok(FrameBatcher {
            walk: Walk::new(InMemory::new(rolls), cfg, state)?,
            lowest,
            pitches,
        })
    }

    /// The position of the next batch.
    pub fn state(&self) -> BatcherState {
        self.walk.state
    }

    /// The next batch of the epoch, or `None` when it is over.
    pub fn next_batch(&mut self) -> Result<Option<FrameBatch>, DataError> {
        let Some((items, examples)) = self.walk.next()? else {
            return Ok(None);
        };
        let time = match self.walk.cfg.windowing {
            Windowing::Windows { len, .. } => len,
            Windowing::Whole { .. } => examples.iter().map(|e| e.len).max().unwrap_or(0),
        };
        let (rows, w) = (examples.len(), self.pitches);
        let mut frames = vec![0u8; rows * time * w];
        let mut mask = vec![0u8; rows * time];
        for (r, e) in examples.iter().enumerate() {
            let Some(roll) = items.get(e.seq) else { continue };
            for t in 0..e.len {
                mask[r * time + t] = 1;
                for &p in roll.frames.get(e.start + t).map(Vec::as_slice).unwrap_or(&[]) {
                    let c = usize::from(p - self.lowest);
                    frames[(r * time + t) * w + c] = 1;
                }
            }
        }
        Ok(Some(FrameBatch {
            frames,
            mask,
            rows,
            time,
            pitches: w,
            examples,
        }))
    }
}
