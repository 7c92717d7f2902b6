//! One-token decoding of the Music Transformer on the CPU, on plain `f32`
//! buffers: what [`crate::music_transformer::MusicTransformer`]'s `step`
//! runs on the `flex` backend.
//!
//! Why not burn's operations: sampling one token is a chain of
//! matrix–vector products over a few MB of weights and a short softmax per
//! head. Through burn each of those is a graph operation that allocates
//! its output, and the KV cache grows by concatenation, which copies the
//! whole cache at every token (for 512 tokens and 4 layers of width 256,
//! about 1 GB of copying). Here the weights are copied once, when decoding
//! starts, into the layout the products want (the query, key and value
//! projections side by side, so one pass over the input makes all three);
//! the cache is a per-head buffer reserved for the sequence's expected
//! length (growing it by doubling copied it and faulted in fresh pages:
//! 5% of sampling time in perf); each product is one vectorised pass over
//! the weight rows, and so is a head's weighted sum of its values.
//!
//! Why a team of threads per token rather than rayon per product: a
//! token's products are memory-bound (each weight is read once), so two
//! cores stream the weights twice as fast, but there are four products a
//! layer, and waking a sleeping rayon worker for each cost more than it
//! saved (two threads sampled at half the speed of one). Instead the
//! threads of a team each own a contiguous block of heads and of output
//! columns for the whole token, and meet at a spinning barrier four times a
//! layer, which costs well under a microsecond; the attention of a head
//! needs only that head's queries, keys and values, so a thread computes
//! those columns itself and the heads' caches are split between threads
//! with no sharing. The activations the threads exchange (the residual
//! stream, the attention output, the feed-forward hidden layer) live in
//! atomics, so the exchange needs no `unsafe`.
//!
//! It computes the same function as the tensor path (`Block::step`),
//! which stays for other backends (CUDA) and is what the tests hold this
//! one to.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::Tensor;

use super::recurrent::primitives::{dot, exp, multiversion};
use crate::music_transformer::{timing_rates, timing_row, MusicTransformer};

/// burn-nn's default layer-norm epsilon, which every Music Transformer
/// layer norm is built with.
const LAYER_NORM_EPSILON: f32 = 1e-5;

/// Models with fewer weights per layer than this decode on one thread:
/// below it, starting a second thread for a token (tens of µs) costs more
/// than it saves.
const PARALLEL_WEIGHTS: usize = 1 << 17;

/// Spins before a waiting thread starts yielding its core: long enough for
/// the other threads' share of a product, short enough not to burn a core
/// that another process (a training run) needs.
const SPINS_BEFORE_YIELD: u32 = 1 << 14;

/// The most positions a session's caches reserve up front, whatever the
/// caller expects: 8 KB a position for 4 layers of width 256, so 512 MB
/// here. Longer sequences grow their caches as they go.
const MAX_RESERVED_POSITIONS: usize = 1 << 16;

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()
}

/// A dense layer (or several with the same input, side by side) cut into
/// one block of output columns per thread, each block stored as its own
/// contiguous `[d_in, width]` matrix with its bias.
///
/// Why copies rather than views of one matrix: a thread reading its
/// columns out of the whole matrix reads a short run of every row and
/// skips the rest, which the hardware prefetchers stream far worse than
/// one contiguous block (two threads on views were 1.2× one thread; a
/// matrix–vector product is bound by how fast the weights stream in).
#[derive(Debug, Clone)]
struct Dense {
    /// Per thread: `(weights, bias)`.
    parts: Vec<(Vec<f32>, Vec<f32>)>,
    d_out: usize,
}

type Range = std::ops::Range<usize>;

impl Dense {
    /// `layers` side by side; thread `t` gets the columns `columns[t]`
    /// (ranges of the side-by-side matrix, in order).
    fn new(layers: &[&Linear], columns: &[Vec<Range>]) -> Self {
        let mut weight = Vec::new();
        let mut bias = Vec::new();
        let mut d_out = 0;
        let mut d_in = 0;
        for l in layers {
            let [rows, out] = l.weight.val().dims();
            d_in = rows;
            weight.push((values(l.weight.val()), out));
            bias.extend(l.bias.as_ref().map_or_else(|| vec![0.0; out], |b| values(b.val())));
            d_out += out;
        }
        // Row i of thread t's block: for each of its ranges, the pieces of
        // the layers' rows that the range covers, copied as slices.
        let parts = columns
            .iter()
            .map(|ranges| {
                let width: usize = ranges.iter().map(|r| r.len()).sum();
                let mut w = Vec::with_capacity(d_in * width);
                for i in 0..d_in {
                    for r in ranges {
                        let mut offset = 0;
                        for (layer, out) in &weight {
                            let (lo, hi) = (r.start.max(offset), r.end.min(offset + out));
                            if lo < hi {
                                w.extend_from_slice(&layer[i * out + lo - offset..i * out + hi - offset]);
                            }
                            offset += out;
                        }
                    }
                }
                let b = ranges.iter().flat_map(|r| bias[r.clone()].iter().copied()).collect();
                (w, b)
            })
            .collect();
        Self { parts, d_out }
    }

    /// Thread `t`'s block of `x W + b`, written to `y` (its width).
    fn apply(&self, t: usize, x: &[f32], y: &mut [f32]) {
        let (w, b) = &self.parts[t];
        y.copy_from_slice(b);
        gemv_accumulate(y, x, w, b.len());
    }

    /// Thread `t`'s block width.
    fn width(&self, t: usize) -> usize {
        self.parts[t].1.len()
    }
}

multiversion! {
    /// `y += Σ_i x[i] · w[i·stride ..][.. y.len()]`: a vector times the
    /// first `y.len()` columns of a row-major matrix whose rows are
    /// `stride` apart. Four rows per pass over `y`, so `y` is loaded and
    /// stored a quarter as often.
    fn gemv_accumulate(y: &mut [f32], x: &[f32], w: &[f32], stride: usize) {
        let n = y.len();
        let mut i = 0;
        while i + 8 <= x.len() {
            let r = |k: usize| &w[(i + k) * stride..(i + k) * stride + n];
            let (r0, r1, r2, r3, r4, r5, r6, r7) = (r(0), r(1), r(2), r(3), r(4), r(5), r(6), r(7));
            let c = &x[i..i + 8];
            for j in 0..n {
                let lo = c[0] * r0[j] + c[1] * r1[j] + c[2] * r2[j] + c[3] * r3[j];
                let hi = c[4] * r4[j] + c[5] * r5[j] + c[6] * r6[j] + c[7] * r7[j];
                y[j] += lo + hi;
            }
            i += 8;
        }
        while i + 4 <= x.len() {
            let (a, b, c, d) = (x[i], x[i + 1], x[i + 2], x[i + 3]);
            let r0 = &w[i * stride..i * stride + n];
            let r1 = &w[(i + 1) * stride..(i + 1) * stride + n];
            let r2 = &w[(i + 2) * stride..(i + 2) * stride + n];
            let r3 = &w[(i + 3) * stride..(i + 3) * stride + n];
            for ((((y, r0), r1), r2), r3) in y.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
                *y += a * r0 + b * r1 + c * r2 + d * r3;
            }
            i += 4;
        }
        while i < x.len() {
            let a = x[i];
            for (y, r) in y.iter_mut().zip(&w[i * stride..i * stride + n]) {
                *y += a * r;
            }
            i += 1;
        }
    }
}

multiversion! {
    /// One head's attention for one query: `keys` and `values` are the
    /// visible positions (`[n, d_head]`), `relative` the relative
    /// embeddings of the last `relative.len() / d_head` of them (the
    /// earlier ones are beyond the table: no relative term). Writes the
    /// softmax-weighted sum of `values` to `out`; `weights` is scratch.
    fn attend_head(
        q: &[f32],
        keys: &[f32],
        values: &[f32],
        relative: &[f32],
        weights: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        let dh = q.len();
        let n = keys.len() / dh;
        let plain = n - relative.len() / dh;
        // Plain loops, not `extend(map(..))`: an iterator adapter compiled
        // out of line would lose this function's vector width.
        weights.clear();
        weights.resize(n, 0.0);
        for (w, k) in weights.iter_mut().zip(keys.chunks_exact(dh)) {
            *w = dot(q, k);
        }
        for (w, e) in weights[plain..].iter_mut().zip(relative.chunks_exact(dh)) {
            *w += dot(q, e);
        }
        let max = weights.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // The exponentials in one loop and their sum in eight partial sums,
        // so that both vectorise (a running sum in the same loop would
        // serialise it).
        for w in weights.iter_mut() {
            *w = exp(*w - max);
        }
        let mut partial = [0.0f32; 8];
        let chunks = weights.chunks_exact(8);
        let tail: f32 = chunks.remainder().iter().sum();
        for c in chunks {
            for k in 0..8 {
                partial[k] += c[k];
            }
        }
        let total = partial.iter().sum::<f32>() + tail;
        for w in weights.iter_mut() {
            *w /= total;
        }
        // The weighted sum of the values is the weights times the `[n, d_head]`
        // value matrix: eight positions per pass over `out`.
        out.fill(0.0);
        gemv_accumulate(out, weights, values, dh);
    }
}

#[derive(Debug, Clone)]
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl Norm {
    fn new(norm: &LayerNorm) -> Self {
        let gamma = values(norm.gamma.val());
        let beta = norm
            .beta
            .as_ref()
            .map_or_else(|| vec![0.0; gamma.len()], |b| values(b.val()));
        Self { gamma, beta }
    }

    /// burn's layer norm: biased variance, epsilon inside the root.
    fn apply(&self, x: &[f32], y: &mut [f32]) {
        let n = x.len() as f32;
        let mean = x.iter().sum::<f32>() / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let scale = 1.0 / (var + LAYER_NORM_EPSILON).sqrt();
        for (((y, x), g), b) in y.iter_mut().zip(x).zip(&self.gamma).zip(&self.beta) {
            *y = (x - mean) * scale * g + b;
        }
    }
}

#[derive(Debug, Clone)]
struct Layer {
    norm_attn: Norm,
    /// Query, key and value projections side by side: `[d, 3d]`.
    qkv: Dense,
    output: Dense,
    /// `[heads, max_relative, d_head]`, row `max_relative - 1` distance 0.
    relative: Option<Vec<f32>>,
    norm_ff: Norm,
    ff_in: Dense,
    ff_out: Dense,
}

/// The network's weights in the layout decoding wants; copied from a
/// [`MusicTransformer`] once per `start`.
#[derive(Debug, Clone)]
pub struct CpuDecoder {
    embedding: Vec<f32>,
    layers: Vec<Layer>,
    norm: Norm,
    head: Dense,
    d_model: usize,
    heads: usize,
    max_relative: usize,
    local_window: usize,
    vocab: usize,
    /// Threads per token; the weights are cut for this many.
    threads: usize,
}

#[derive(Debug, Clone)]
struct HeadCache {
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
}

/// A barrier for a team that meets often and briefly: the last thread to
/// arrive opens the next generation; the others spin on it, then yield.
#[derive(Debug)]
struct SpinBarrier {
    arrived: AtomicUsize,
    generation: AtomicUsize,
    threads: usize,
}

impl SpinBarrier {
    fn new(threads: usize) -> Self {
        Self {
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            threads,
        }
    }

    fn wait(&self) {
        if self.threads == 1 {
            return;
        }
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.threads {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if spins < SPINS_BEFORE_YIELD {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Spins, then parks, until `counter` moves past `seen`; returns its value.
fn await_change(counter: &AtomicUsize, seen: usize) -> usize {
    let mut spins = 0u32;
    loop {
        let now = counter.load(Ordering::Acquire);
        if now != seen {
            return now;
        }
        if spins < SPINS_BEFORE_YIELD {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::park();
        }
    }
}

/// Activations shared by a token's team, as `f32` bits. Each element has
/// one writer between two barriers, and is read only after the next one.
fn shared(len: usize) -> Vec<AtomicU32> {
    (0..len).map(|_| AtomicU32::new(0)).collect()
}

fn load(from: &[AtomicU32], to: &mut [f32]) {
    for (t, f) in to.iter_mut().zip(from) {
        *t = f32::from_bits(f.load(Ordering::Relaxed));
    }
}

fn store(to: &[AtomicU32], from: &[f32]) {
    for (t, f) in to.iter().zip(from) {
        t.store(f.to_bits(), Ordering::Relaxed);
    }
}

/// What a decoding team shares: the residual stream, the heads' output,
/// the feed-forward hidden layer and the logits of the token in hand; the
/// job (which sequence) and a counter that announces each new token.
#[derive(Debug)]
struct Team {
    x: Vec<AtomicU32>,
    attn: Vec<AtomicU32>,
    ff: Vec<AtomicU32>,
    logits: Vec<AtomicU32>,
    barrier: SpinBarrier,
    threads: usize,
    tokens: AtomicUsize,
    sequence: AtomicUsize,
    stop: AtomicBool,
}

/// Thread `i`'s columns of the residual update: `x[cols] += dense(input)`,
/// published to the team, then the barrier (`proj` is scratch).
fn add_residual(team: &Team, dense: &Dense, i: usize, input: &[f32], x: &mut [f32], cols: Range, proj: &mut [f32]) {
    dense.apply(i, input, proj);
    x[cols.clone()].iter_mut().zip(proj.iter()).for_each(|(x, a)| *x += a);
    store(&team.x[cols.clone()], &x[cols]);
    team.barrier.wait();
}

/// `[start, end)` of the `i`-th of `n` near-equal blocks of `len`.
fn block(len: usize, i: usize, n: usize) -> std::ops::Range<usize> {
    len * i / n..len * (i + 1) / n
}

impl CpuDecoder {
    /// The decoder for `model`, with as many threads per token as rayon has
    /// (what `--threads` and `RAYON_NUM_THREADS` set), at most one per
    /// head; one for small models, and inside a rayon task (parallel
    /// sequences already use the cores).
    pub fn new(model: &MusicTransformer) -> Self {
        let d = model.d_model;
        let d_ff = model.blocks.first().map_or(0, |b| b.ff_in.weight.val().dims()[1]);
        let per_layer = 4 * d * d + 2 * d * d_ff;
        let threads = if per_layer < PARALLEL_WEIGHTS || rayon::current_thread_index().is_some() {
            1
        } else {
            rayon::current_num_threads()
        };
        Self::with_threads(model, threads)
    }

    /// The decoder for `model` with `threads` threads per token (at most
    /// one per head), whatever the model's size.
    pub fn with_threads(model: &MusicTransformer, threads: usize) -> Self {
        let [vocab, d] = model.embedding.weight.val().dims();
        let first = model.blocks.first();
        let heads = first.map_or(1, |b| b.attention.heads);
        let threads = threads.clamp(1, heads);
        let dh = d / heads;
        let max_relative = first
            .and_then(|b| b.attention.relative.as_ref())
            .map_or(0, |r| r.val().dims()[1]);
        let local_window = first.map_or(0, |b| b.attention.local_window);
        let split = |len: usize| -> Vec<Vec<Range>> { (0..threads).map(|t| vec![block(len, t, threads)]).collect() };
        // Thread t's query, key and value columns: those of its heads.
        let qkv_columns: Vec<Vec<Range>> = (0..threads)
            .map(|t| {
                let own = block(heads, t, threads);
                (0..3)
                    .map(|part| part * d + own.start * dh..part * d + own.end * dh)
                    .collect()
            })
            .collect();
        let layers = model
            .blocks
            .iter()
            .map(|b| {
                let d_ff = b.ff_in.weight.val().dims()[1];
                let a = &b.attention;
                Layer {
                    norm_attn: Norm::new(&b.norm_attn),
                    qkv: Dense::new(&[&a.query, &a.key, &a.value], &qkv_columns),
                    output: Dense::new(&[&a.output], &split(d)),
                    relative: a.relative.as_ref().map(|r: &Param<Tensor<3>>| values(r.val())),
                    norm_ff: Norm::new(&b.norm_ff),
                    ff_in: Dense::new(&[&b.ff_in], &split(d_ff)),
                    ff_out: Dense::new(&[&b.ff_out], &split(d)),
                }
            })
            .collect();
        Self {
            embedding: values(model.embedding.weight.val()),
            layers,
            norm: Norm::new(&model.norm),
            head: Dense::new(&[&model.head], &split(vocab)),
            d_model: d,
            heads,
            max_relative,
            local_window,
            vocab,
            threads,
        }
    }

    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// The caches of thread `i`'s heads, empty, with room for `tokens`
    /// positions (at most [`MAX_RESERVED_POSITIONS`]).
    fn caches(&self, i: usize, tokens: usize) -> Vec<HeadCache> {
        let room = tokens.min(MAX_RESERVED_POSITIONS) * (self.d_model / self.heads);
        let empty = || (0..self.layers.len()).map(|_| Vec::with_capacity(room)).collect();
        block(self.heads, i, self.threads)
            .map(|_| HeadCache {
                keys: empty(),
                values: empty(),
            })
            .collect()
    }

    /// Thread `i` of the team's share of one token.
    fn run(&self, team: &Team, i: usize, heads: &mut [HeadCache]) {
        let d = self.d_model;
        let dh = d / self.heads;
        let n = team.threads;
        let own_heads = block(self.heads, i, n);
        let own = own_heads.len() * dh;
        let cols = block(d, i, n);
        let mut x = vec![0.0; d];
        let mut h = vec![0.0; d];
        let mut qkv = vec![0.0; 3 * own];
        let mut attn = vec![0.0; d];
        let mut proj = vec![0.0; cols.len()];
        let mut weights = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            // Attention: this thread's heads, from its own query, key and
            // value columns.
            load(&team.x, &mut x);
            layer.norm_attn.apply(&x, &mut h);
            layer.qkv.apply(i, &h, &mut qkv);
            let (q, kv) = qkv.split_at(own);
            let (k, v) = kv.split_at(own);
            for (j, head) in heads.iter_mut().enumerate() {
                head.keys[l].extend_from_slice(&k[j * dh..(j + 1) * dh]);
                head.values[l].extend_from_slice(&v[j * dh..(j + 1) * dh]);
                let hd = own_heads.start + j;
                let out = &mut attn[hd * dh..(hd + 1) * dh];
                self.attend(layer, hd, &q[j * dh..(j + 1) * dh], head, l, out, &mut weights);
            }
            let mine = own_heads.start * dh..own_heads.end * dh;
            store(&team.attn[mine.clone()], &attn[mine]);
            team.barrier.wait();
            // Output projection, residual: this thread's columns.
            load(&team.attn, &mut attn);
            add_residual(team, &layer.output, i, &attn, &mut x, cols.clone(), &mut proj);
            // Feed-forward: this thread's hidden units, then its columns.
            load(&team.x, &mut x);
            layer.norm_ff.apply(&x, &mut h);
            let d_ff = team.ff.len();
            let mut hidden = vec![0.0; layer.ff_in.width(i)];
            layer.ff_in.apply(i, &h, &mut hidden);
            hidden.iter_mut().for_each(|v| *v = v.max(0.0));
            store(&team.ff[block(d_ff, i, n)], &hidden);
            team.barrier.wait();
            let mut ff = vec![0.0; d_ff];
            load(&team.ff, &mut ff);
            add_residual(team, &layer.ff_out, i, &ff, &mut x, cols.clone(), &mut proj);
        }
        load(&team.x, &mut x);
        self.norm.apply(&x, &mut h);
        let mut logits = vec![0.0; self.head.width(i)];
        self.head.apply(i, &h, &mut logits);
        store(&team.logits[block(self.vocab, i, n)], &logits);
        team.barrier.wait();
    }

    /// Head `hd`'s attention over its cache (`cache`, layer `l`, the new
    /// position already appended) for the scaled-later query `q`, into `out`.
    #[allow(clippy::too_many_arguments)]
    fn attend(
        &self,
        layer: &Layer,
        hd: usize,
        q: &[f32],
        cache: &HeadCache,
        l: usize,
        out: &mut [f32],
        weights: &mut Vec<f32>,
    ) {
        let dh = q.len();
        let q_scale = (dh as f32).powf(-0.5);
        let q: Vec<f32> = q.iter().map(|v| v * q_scale).collect();
        let seen = cache.keys[l].len() / dh;
        let start = if self.local_window > 0 {
            seen.saturating_sub(self.local_window)
        } else {
            0
        };
        // Key j is `seen - 1 - j` back, table row `r - seen + j`: the
        // visible keys from `max(start, seen - r)` on have rows, ending
        // with row `r - 1` (distance 0) for the newest.
        let relative: &[f32] = match &layer.relative {
            Some(table) => {
                let r = self.max_relative;
                let first = start.max(seen.saturating_sub(r));
                &table[(hd * r + r + first - seen) * dh..(hd * r + r) * dh]
            }
            None => &[],
        };
        attend_head(
            &q,
            &cache.keys[l][start * dh..],
            &cache.values[l][start * dh..],
            relative,
            weights,
            out,
        );
    }
}

/// Decoding `batch` sequences: the decoder, the helper threads of its team
/// (alive as long as the session, each holding its heads' caches), the
/// calling thread's own caches and each sequence's next position.
///
/// Why helpers that live for the session: a thread started per token cost
/// about as much as it saved. Between tokens a helper spins a while (the
/// caller samples the next token in microseconds), then parks.
#[derive(Debug)]
pub struct CpuSession {
    decoder: Arc<CpuDecoder>,
    team: Arc<Team>,
    own: Vec<Vec<HeadCache>>,
    positions: Vec<usize>,
    helpers: Vec<JoinHandle<()>>,
    /// The timing signal's rates, computed once.
    rates: Vec<f64>,
}

impl CpuSession {
    /// A session of `batch` sequences, its caches reserved for `tokens`
    /// positions each (0: grown as needed).
    pub fn new(decoder: CpuDecoder, batch: usize, tokens: usize) -> Self {
        let d = decoder.d_model;
        let team = Arc::new(Team {
            x: shared(d),
            attn: shared(d),
            ff: shared(decoder.layers.first().map_or(0, |l| l.ff_in.d_out)),
            logits: shared(decoder.vocab),
            barrier: SpinBarrier::new(decoder.threads),
            threads: decoder.threads,
            tokens: AtomicUsize::new(0),
            sequence: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let decoder = Arc::new(decoder);
        let helpers = (1..decoder.threads)
            .map(|i| {
                let (decoder, team) = (Arc::clone(&decoder), Arc::clone(&team));
                let mut caches: Vec<Vec<HeadCache>> = (0..batch).map(|_| decoder.caches(i, tokens)).collect();
                std::thread::spawn(move || {
                    let mut seen = 0;
                    loop {
                        seen = await_change(&team.tokens, seen);
                        if team.stop.load(Ordering::Acquire) {
                            return;
                        }
                        let s = team.sequence.load(Ordering::Acquire);
                        decoder.run(&team, i, &mut caches[s]);
                    }
                })
            })
            .collect();
        Self {
            rates: timing_rates(decoder.d_model),
            own: (0..batch).map(|_| decoder.caches(0, tokens)).collect(),
            positions: vec![0; batch],
            decoder,
            team,
            helpers,
        }
    }

    pub fn vocab(&self) -> usize {
        self.decoder.vocab
    }

    pub fn batch(&self) -> usize {
        self.positions.len()
    }

    /// Feeds token `id` (below the vocabulary size) to sequence `seq` and
    /// returns the logits of its next token.
    pub fn step(&mut self, seq: usize, id: usize) -> Vec<f32> {
        let decoder = &self.decoder;
        let d = decoder.d_model;
        let scale = (d as f32).sqrt();
        let mut timing = vec![0.0; d];
        timing_row(self.positions[seq], &self.rates, &mut timing);
        let x: Vec<f32> = decoder.embedding[id * d..(id + 1) * d]
            .iter()
            .zip(&timing)
            .map(|(e, t)| e * scale + t)
            .collect();
        store(&self.team.x, &x);
        self.team.sequence.store(seq, Ordering::Release);
        self.team.tokens.fetch_add(1, Ordering::AcqRel);
        for helper in &self.helpers {
            helper.thread().unpark();
        }
        decoder.run(&self.team, 0, &mut self.own[seq]);
        self.positions[seq] += 1;
        self.team
            .logits
            .iter()
            .map(|v| f32::from_bits(v.load(Ordering::Relaxed)))
            .collect()
    }
}

impl Drop for CpuSession {
    fn drop(&mut self) {
        self.team.stop.store(true, Ordering::Release);
        self.team.tokens.fetch_add(1, Ordering::AcqRel);
        for helper in self.helpers.drain(..) {
            helper.thread().unpark();
            // A helper that panicked has nothing left to clean up.
            let _ = helper.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music_transformer::MusicTransformerConfig;
    use burn::tensor::Device;

    /// Splitting a token between threads changes who computes each value,
    /// not how: every thread count gives the same logits, bit for bit; and
    /// the caches' reservation (none, shorter than the sequences, longer)
    /// changes nothing either.
    #[test]
    fn every_thread_count_and_reservation_gives_the_same_logits() {
        let device = Device::flex();
        device.seed(3);
        let config = MusicTransformerConfig {
            d_model: 24,
            heads: 4,
            max_relative: 5,
            ..MusicTransformerConfig::tiny(13)
        };
        let model = config.init(&device).unwrap_or_else(|e| panic!("{e}"));
        // Two sequences, interleaved, so each helper keeps them apart.
        let run = |threads: usize, reserve: usize| {
            let mut session = CpuSession::new(CpuDecoder::with_threads(&model, threads), 2, reserve);
            (0..12)
                .flat_map(|t| {
                    let mut both = session.step(0, (t * 5) % 13);
                    both.extend(session.step(1, (t * 7 + 1) % 13));
                    both
                })
                .collect::<Vec<f32>>()
        };
        let one = run(1, 0);
        assert_eq!(one.len(), 2 * 12 * 13);
        assert!(one.iter().all(|v| v.is_finite()));
        for threads in [1, 2, 3, 4, 9] {
            for reserve in [0, 5, 64] {
                assert_eq!(run(threads, reserve), one, "{threads} threads, {reserve} reserved");
            }
        }
    }
}
