//! Causal multi-head attention, forward and backward, on plain `f32`
//! buffers: one task per (sequence, head), row blocks that skip the keys a
//! causal mask hides, softmax with the vectorised `exp`, and a backward pass
//! that recomputes the probabilities from the saved row log-sum-exps
//! instead of keeping the `[b, h, t, t]` attention weights.
//!
//! Layouts (row-major): `q`, `k`, `v` and the output are `[b, t, h·dh]`,
//! head `h` in columns `h·dh .. (h+1)·dh` (the projections' own layout, so
//! heads are never split out or merged back); the relative embeddings `e`
//! are `[h, t, dh]`, row `m` for distance `m - (t-1)` (Music Transformer's
//! skewing order, zero rows beyond the table). Logits are
//! `scale · (q_i·k_j + q_i·e_{t-1-i+j})` for the visible `j` (`j ≤ i`, and
//! `j > i - window` with a window); attention weights are dropped out
//! (kept with probability `1 - p`, scaled by `1/(1 - p)`) by a hash of
//! (seed, sequence, head, i, j), so that the backward pass draws the same
//! mask without storing it.

use rayon::prelude::*;

use crate::layers::recurrent::primitives::{exp, matmul, multiversion, MatMut, MatRef};

/// Rows of queries handled together: the keys a block can see end at its
/// last row, so later keys are never multiplied.
const BLOCK: usize = 64;

/// The shape and options of one attention call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttnDims {
    pub batch: usize,
    pub time: usize,
    pub heads: usize,
    pub d_head: usize,
    /// Relative logits from `e` (Music Transformer) or none (vanilla).
    pub relative: bool,
    /// Visible keys per query (0 = all earlier ones).
    pub window: usize,
    /// Probability of dropping an attention weight (0 = none).
    pub dropout: f32,
    pub seed: u64,
}

impl AttnDims {
    fn d_model(&self) -> usize {
        self.heads * self.d_head
    }

    fn scale(&self) -> f32 {
        (self.d_head as f32).powf(-0.5)
    }

    /// The first key query `i` sees.
    fn first_key(&self, i: usize) -> usize {
        if self.window > 0 {
            (i + 1).saturating_sub(self.window)
        } else {
            0
        }
    }

    /// Elements of `q` (`[b, t, h·dh]`).
    pub fn activations(&self) -> usize {
        self.batch * self.time * self.d_model()
    }

    /// Elements of `e` (`[h, t, dh]`).
    pub fn embeddings(&self) -> usize {
        self.heads * self.time * self.d_head
    }
}

/// The hash value below which a weight is dropped, for probability `p`.
pub(crate) fn drop_threshold(p: f32) -> u32 {
    (p as f64 * 4_294_967_296.0).min(u32::MAX as f64) as u32
}

/// Whether the dropout mask keeps weight (i, j) of a (sequence, head) task.
#[inline(always)]
pub(crate) fn kept(seed: u64, task: usize, i: usize, j: usize, threshold: u32) -> bool {
    // splitmix64's finaliser over the pair's coordinates: a counter-based
    // draw, the same in the forward and the backward pass.
    let mut z = seed ^ ((task as u64) << 40) ^ ((i as u64) << 20) ^ j as u64;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ((z >> 32) as u32) >= threshold
}

/// A head's `rows × dh` slice of a `[b, t, h·dh]` buffer, from row `r0`.
fn head_rows<'a>(data: &'a [f32], d: &AttnDims, b: usize, h: usize, r0: usize, rows: usize) -> MatRef<'a> {
    MatRef {
        data,
        offset: (b * d.time + r0) * d.d_model() + h * d.d_head,
        rows,
        cols: d.d_head,
        rs: d.d_model(),
        cs: 1,
    }
}

/// The transpose of [`head_rows`]: `dh × rows`.
fn head_cols<'a>(data: &'a [f32], d: &AttnDims, b: usize, h: usize, r0: usize, rows: usize) -> MatRef<'a> {
    let m = head_rows(data, d, b, h, r0, rows);
    MatRef {
        rows: m.cols,
        cols: m.rows,
        rs: m.cs,
        cs: m.rs,
        ..m
    }
}

/// A dense `rows × cols` matrix with rows `stride` apart.
fn dense(data: &[f32], rows: usize, cols: usize, stride: usize) -> MatRef<'_> {
    MatRef {
        data,
        offset: 0,
        rows,
        cols,
        rs: stride,
        cs: 1,
    }
}

fn dense_t(data: &[f32], rows: usize, cols: usize, stride: usize) -> MatRef<'_> {
    MatRef {
        data,
        offset: 0,
        rows: cols,
        cols: rows,
        rs: 1,
        cs: stride,
    }
}

fn dense_mut(data: &mut [f32], offset: usize, rows: usize, cols: usize, stride: usize) -> MatMut<'_> {
    MatMut {
        data,
        offset,
        rows,
        cols,
        rs: stride,
        cs: 1,
    }
}

/// The inputs of one call.
pub struct AttnInputs<'a> {
    pub q: &'a [f32],
    pub k: &'a [f32],
    pub v: &'a [f32],
    /// `[h, t, dh]` when `relative`.
    pub e: &'a [f32],
}

impl AttnInputs<'_> {
    fn check(&self, d: &AttnDims) {
        let n = d.activations();
        assert!(
            self.q.len() == n && self.k.len() == n && self.v.len() == n,
            "attention: q, k, v must be [b, t, h·dh]"
        );
        assert!(
            !d.relative || self.e.len() == d.embeddings(),
            "attention: e must be [h, t, dh]"
        );
    }
}

/// Scratch of one task: the logits/probabilities of a row block and, for
/// the backward pass, the relative logits and their gradient.
struct Block {
    p: Vec<f32>,
    qe: Vec<f32>,
}

impl Block {
    fn new(d: &AttnDims) -> Self {
        let len = BLOCK * d.time;
        Self {
            p: vec![0.0; len],
            qe: if d.relative { vec![0.0; len] } else { Vec::new() },
        }
    }
}

/// Lanes of the reductions below: a float sum or maximum in one chain
/// cannot be vectorised (reassociating changes the result), sixteen
/// independent chains can.
const LANES: usize = 16;

#[inline(always)]
fn lane_max(s: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = s.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = a.max(x);
        }
    }
    let tail = chunks.remainder().iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x));
    acc.iter().fold(tail, |a, &x| a.max(x))
}

#[inline(always)]
fn lane_dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for ((s, &x), &y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn lane_sum(s: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = s.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

multiversion! {
    /// Softmax of one row's visible logits `s` in place (the row's other
    /// entries are zeroed by the caller); returns `max + ln Σ exp`.
    fn softmax_row(s: &mut [f32]) -> f32 {
        let max = lane_max(s);
        for x in s.iter_mut() {
            *x = exp(*x - max);
        }
        let sum = lane_sum(s);
        let inv = 1.0 / sum;
        for x in s.iter_mut() {
            *x *= inv;
        }
        max + sum.ln()
    }
}

multiversion! {
    /// `p = exp(s - lse)` over one row's visible entries.
    fn probabilities_row(s: &mut [f32], lse: f32) {
        for x in s.iter_mut() {
            *x = exp(*x - lse);
        }
    }
}

impl AttnDims {
    /// The scaled logits of rows `r0..r1` against the keys they can see,
    /// `k0..r1` with `k0` the first row's first key (`first_key` grows with
    /// the row), into `blk.p` as `[rows, r1 - k0]` with rows `t` apart,
    /// relative term included; entries outside each row's visible keys are
    /// left unspecified.
    fn logits(&self, x: &AttnInputs, blk: &mut Block, b: usize, h: usize, r0: usize, r1: usize) {
        let (rows, t) = (r1 - r0, self.time);
        let k0 = self.first_key(r0);
        let cols = r1 - k0;
        matmul(
            dense_mut(&mut blk.p, 0, rows, cols, t),
            head_rows(x.q, self, b, h, r0, rows),
            head_cols(x.k, self, b, h, k0, cols),
            false,
            false,
        );
        if self.relative {
            // Distances of this block reach back to -(r1-1-k0): embedding
            // rows t-r1+k0 .. t, i.e. `cols` of them.
            let e = MatRef {
                data: x.e,
                offset: (h * t + t - cols) * self.d_head,
                rows: self.d_head,
                cols,
                rs: 1,
                cs: self.d_head,
            };
            matmul(
                dense_mut(&mut blk.qe, 0, rows, cols, t),
                head_rows(x.q, self, b, h, r0, rows),
                e,
                false,
                false,
            );
        }
        let scale = self.scale();
        for r in 0..rows {
            let i = r0 + r;
            let (lo, hi) = (self.first_key(i) - k0, i + 1 - k0);
            let row = &mut blk.p[r * t..r * t + cols];
            if self.relative {
                // Column c of `qe` is distance c - (cols-1); key j (column
                // c = j - k0) is at distance j - i, i.e. `qe` column
                // c + cols - hi: the skew as an index shift.
                let qe = &blk.qe[r * t..r * t + cols];
                let shift = cols - hi;
                for c in lo..hi {
                    row[c] = scale * (row[c] + qe[c + shift]);
                }
            } else {
                for v in &mut row[lo..hi] {
                    *v *= scale;
                }
            }
        }
    }
}

/// The forward pass: `out` `[b, t, h·dh]` and each row's log-sum-exp
/// `[b, h, t]` (what the backward pass recomputes the weights from).
pub fn forward(d: &AttnDims, x: &AttnInputs) -> (Vec<f32>, Vec<f32>) {
    x.check(d);
    let (t, dh) = (d.time, d.d_head);
    let tasks = d.batch * d.heads;
    let mut parts = vec![0.0f32; tasks * t * dh];
    let mut lse = vec![0.0f32; tasks * t];
    let keep_scale = 1.0 / (1.0 - d.dropout);
    let threshold = drop_threshold(d.dropout);
    parts
        .par_chunks_mut(t * dh)
        .zip(lse.par_chunks_mut(t))
        .enumerate()
        .for_each_init(
            || Block::new(d),
            |blk, (task, (out, lse))| {
                let (b, h) = (task / d.heads, task % d.heads);
                for r0 in (0..t).step_by(BLOCK) {
                    let r1 = (r0 + BLOCK).min(t);
                    let k0 = d.first_key(r0);
                    let cols = r1 - k0;
                    d.logits(x, blk, b, h, r0, r1);
                    for r in 0..r1 - r0 {
                        let i = r0 + r;
                        let (lo, hi) = (d.first_key(i) - k0, i + 1 - k0);
                        let row = &mut blk.p[r * t..r * t + cols];
                        row[..lo].fill(0.0);
                        row[hi..].fill(0.0);
                        lse[i] = softmax_row(&mut row[lo..hi]);
                        if d.dropout > 0.0 {
                            for (c, w) in row.iter_mut().enumerate().take(hi).skip(lo) {
                                *w = if kept(d.seed, task, i, c + k0, threshold) {
                                    *w * keep_scale
                                } else {
                                    0.0
                                };
                            }
                        }
                    }
                    matmul(
                        dense_mut(out, r0 * dh, r1 - r0, dh, dh),
                        dense(&blk.p, r1 - r0, cols, t),
                        head_rows(x.v, d, b, h, k0, cols),
                        false,
                        false,
                    );
                }
            },
        );
    (merge_heads(d, &parts, t * dh, 0), lse)
}

/// `[b, h, t, dh]` → `[b, t, h·dh]`, reading task `i`'s `[t, dh]` block at
/// `offset + i·stride` of `parts`.
fn merge_heads(d: &AttnDims, parts: &[f32], stride: usize, offset: usize) -> Vec<f32> {
    let (t, dh, dm) = (d.time, d.d_head, d.d_model());
    let mut out = vec![0.0f32; d.activations()];
    out.par_chunks_mut(t * dm).enumerate().for_each(|(b, seq)| {
        for h in 0..d.heads {
            let part = &parts[(b * d.heads + h) * stride + offset..][..t * dh];
            for i in 0..t {
                seq[i * dm + h * dh..][..dh].copy_from_slice(&part[i * dh..][..dh]);
            }
        }
    });
    out
}

/// Gradients of [`forward`]'s inputs.
pub struct AttnGrads {
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    /// `[h, t, dh]` (empty without relative logits).
    pub e: Vec<f32>,
}

/// The backward pass from the output gradient `dout` `[b, t, h·dh]` and the
/// forward pass's log-sum-exps.
pub fn backward(d: &AttnDims, x: &AttnInputs, lse: &[f32], dout: &[f32]) -> AttnGrads {
    x.check(d);
    assert_eq!(
        dout.len(),
        d.activations(),
        "attention: the output gradient must be [b, t, h·dh]"
    );
    assert_eq!(
        lse.len(),
        d.batch * d.heads * d.time,
        "attention: one log-sum-exp per row"
    );
    let (t, dh) = (d.time, d.d_head);
    let tasks = d.batch * d.heads;
    let part = t * dh;
    // Per task: dq, dk, dv, de as [t, dh] each.
    let mut parts = vec![0.0f32; tasks * 4 * part];
    let scale = d.scale();
    let keep_scale = 1.0 / (1.0 - d.dropout);
    let threshold = drop_threshold(d.dropout);
    parts.par_chunks_mut(4 * part).enumerate().for_each_init(
        || (Block::new(d), vec![0.0f32; BLOCK * t], vec![0.0f32; BLOCK * t]),
        |(blk, dp, dqe), (task, grads)| {
            let (b, h) = (task / d.heads, task % d.heads);
            let (dq, rest) = grads.split_at_mut(part);
            let (dk, rest) = rest.split_at_mut(part);
            let (dv, de) = rest.split_at_mut(part);
            let lse = &lse[task * t..(task + 1) * t];
            for r0 in (0..t).step_by(BLOCK) {
                let r1 = (r0 + BLOCK).min(t);
                let rows = r1 - r0;
                let k0 = d.first_key(r0);
                let cols = r1 - k0;
                d.logits(x, blk, b, h, r0, r1);
                // dPd = dO · Vᵀ over the block's keys.
                matmul(
                    dense_mut(dp, 0, rows, cols, t),
                    head_rows(dout, d, b, h, r0, rows),
                    head_cols(x.v, d, b, h, k0, cols),
                    false,
                    false,
                );
                for r in 0..rows {
                    let i = r0 + r;
                    let (lo, hi) = (d.first_key(i) - k0, i + 1 - k0);
                    let p = &mut blk.p[r * t..r * t + cols];
                    let g = &mut dp[r * t..r * t + cols];
                    p[..lo].fill(0.0);
                    p[hi..].fill(0.0);
                    g[..lo].fill(0.0);
                    g[hi..].fill(0.0);
                    probabilities_row(&mut p[lo..hi], lse[i]);
                    if d.dropout > 0.0 {
                        // Through the mask: dP = dPd·m/(1-p); and the weights
                        // that multiplied V (for dV) are P·m/(1-p). `g`
                        // keeps dP, and `dqe` (free until the relative
                        // gradient) the dropped-out weights.
                        let pd = &mut dqe[r * t..r * t + cols];
                        pd.fill(0.0);
                        for c in lo..hi {
                            if kept(d.seed, task, i, c + k0, threshold) {
                                g[c] *= keep_scale;
                                pd[c] = p[c] * keep_scale;
                            } else {
                                g[c] = 0.0;
                            }
                        }
                    }
                }
                // dV += Pdᵀ · dO.
                let weights = if d.dropout > 0.0 { &dqe[..] } else { &blk.p[..] };
                matmul(
                    dense_mut(dv, k0 * dh, cols, dh, dh),
                    dense_t(weights, rows, cols, t),
                    head_rows(dout, d, b, h, r0, rows),
                    true,
                    false,
                );
                // dS = P ⊙ (dP - rowsum(dP ⊙ P)), times the logits' scale.
                for r in 0..rows {
                    let i = r0 + r;
                    let (lo, hi) = (d.first_key(i) - k0, i + 1 - k0);
                    let p = &blk.p[r * t + lo..r * t + hi];
                    let g = &mut dp[r * t + lo..r * t + hi];
                    softmax_grad_row(g, p, scale);
                }
                // dQ = dS · K (+ dQE · E); dK += dSᵀ · Q.
                matmul(
                    dense_mut(dq, r0 * dh, rows, dh, dh),
                    dense(dp, rows, cols, t),
                    head_rows(x.k, d, b, h, k0, cols),
                    false,
                    false,
                );
                matmul(
                    dense_mut(dk, k0 * dh, cols, dh, dh),
                    dense_t(dp, rows, cols, t),
                    head_rows(x.q, d, b, h, r0, rows),
                    true,
                    false,
                );
                if d.relative {
                    // Unskew: logit (i, j) used embedding column
                    // c + shift of this block's `cols` (see `logits`).
                    for r in 0..rows {
                        let i = r0 + r;
                        let (lo, hi) = (d.first_key(i) - k0, i + 1 - k0);
                        let shift = cols - hi;
                        let row = &mut dqe[r * t..r * t + cols];
                        row.fill(0.0);
                        for c in lo..hi {
                            row[c + shift] = dp[r * t + c];
                        }
                    }
                    let e_rows = MatRef {
                        data: x.e,
                        offset: (h * t + t - cols) * dh,
                        rows: cols,
                        cols: dh,
                        rs: dh,
                        cs: 1,
                    };
                    matmul(
                        dense_mut(dq, r0 * dh, rows, dh, dh),
                        dense(dqe, rows, cols, t),
                        e_rows,
                        true,
                        false,
                    );
                    matmul(
                        dense_mut(de, (t - cols) * dh, cols, dh, dh),
                        dense_t(dqe, rows, cols, t),
                        head_rows(x.q, d, b, h, r0, rows),
                        true,
                        false,
                    );
                }
            }
        },
    );
    let pick = |which: usize| merge_heads(d, &parts, 4 * part, which * part);
    let mut e = Vec::new();
    if d.relative {
        // Each sequence's tasks wrote their head's embedding gradient apart;
        // the embeddings are shared by the batch, so sum over it.
        e = vec![0.0f32; d.embeddings()];
        for (task, g) in parts.chunks(4 * part).enumerate() {
            let h = task % d.heads;
            for (acc, v) in e[h * part..(h + 1) * part].iter_mut().zip(&g[3 * part..]) {
                *acc += v;
            }
        }
    }
    AttnGrads {
        q: pick(0),
        k: pick(1),
        v: pick(2),
        e,
    }
}

multiversion! {
    /// One row of the softmax's backward pass, in place: `g ← scale · p ⊙
    /// (g - Σ g⊙p)`.
    fn softmax_grad_row(g: &mut [f32], p: &[f32], scale: f32) {
        let dot = lane_dot(g, p);
        for (g, &p) in g.iter_mut().zip(p) {
            *g = scale * p * (*g - dot);
        }
    }
}
