//! The fused LSTM and GRU layers on plain `f32` buffers: forward and
//! backward (BPTT) over whole sequences, input projection included.
//!
//! Layouts (row-major, batch first, like the tensors around them):
//! - `x` `[b, t, d]`, `w_ih` `[d, G·H]`, `bias` `[G·H]`, `w_hh` `[H, G·H]`,
//!   `h0` (and the LSTM's `c0`) `[b, H]`; `G` = 4 gates for the LSTM in the
//!   order i, f, g, o, 3 for the GRU in the order z, r, n (the GRU's `bias`
//!   holds the input biases plus the update and reset gates' recurrent ones;
//!   the candidate's recurrent bias `bn` `[H]` sits inside the reset gate);
//! - `acts` `[b, t, 4H]`: what the backward pass needs from each step — the
//!   LSTM's activated gates (i, f, g, o), the GRU's (z, r, n) and its
//!   `h·W_n + bn` before the reset gate scales it.
//!
//! Each layer is: one product `x · w_ih` for all steps, then per step one
//! product `h · w_hh` accumulated into the same buffer and one pass of gate
//! arithmetic; backwards, per step one gate pass and one product by `w_hhᵀ`,
//! then the input and weight gradients as three large products. Nothing is
//! allocated per step, and the products are the `gemm` crate's.
//!
//! Parallelism: the sequences of a batch are independent, so the batch is cut
//! into one block of rows per thread and each thread runs the whole time loop
//! of its block — no synchronisation per step (a per-step parallel product of
//! a 32-row batch costs more in fork/join than it saves). The weight
//! gradients, which sum over the whole batch, are single large parallel
//! products after the loop.

use rayon::prelude::*;

use super::primitives::{
    add_into, add_rows, matmul, multiversion, rows, rows_mut, sigmoid, tanh, transpose, transposed, MatMut, Scratch,
};

/// Shape of one layer: `batch` sequences of `time` steps, `input` features
/// in, `hidden` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dims {
    pub batch: usize,
    pub time: usize,
    pub input: usize,
    pub hidden: usize,
}

impl Dims {
    /// Rows of the flattened sequence, `b·t`.
    pub fn steps(&self) -> usize {
        self.batch * self.time
    }

    /// Sequences per thread: one block per thread, or one block when the
    /// work is too small to be worth a fork.
    fn block(&self, gates: usize) -> usize {
        let threads = rayon::current_num_threads().max(1);
        let flops = self.steps() * (self.hidden + self.input) * self.hidden * gates;
        if threads == 1 || self.batch < 2 || flops < 1 << 20 {
            self.batch.max(1)
        } else {
            self.batch.div_ceil(threads.min(self.batch))
        }
    }
}

/// `h_{s-1}` for every step, `[b·t, H]`: the previous step's output, `h0`
/// before the first. The recurrent weights' gradient is `prevᵀ · dgates`.
fn previous_hidden(d: Dims, h0: &[f32], out_h: &[f32]) -> Scratch {
    let (t, hd) = (d.time, d.hidden);
    let mut prev = Scratch::overwritten(d.steps() * hd);
    prev.par_chunks_mut(t * hd)
        .zip(h0.par_chunks(hd).zip(out_h.par_chunks(t * hd)))
        .for_each(|(prev, (h0, out))| {
            prev[..hd].copy_from_slice(h0);
            prev[hd..].copy_from_slice(&out[..(t - 1) * hd]);
        });
    prev
}

/// Sums per-block partial vectors.
fn total(partials: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut sum = vec![0.0; len];
    for p in partials {
        add_rows(&mut sum, &p);
    }
    sum
}

// ----------------------------------------------------------------- cells --

multiversion! {
    /// One row of one LSTM step: `a` holds the products (i, f, g, o) without
    /// the bias and receives the activations; writes `c` and `h`.
    fn lstm_cell(a: &mut [f32], bias: &[f32], c_prev: &[f32], c: &mut [f32], h: &mut [f32]) {
        let n = c.len();
        let (i, rest) = a[..4 * n].split_at_mut(n);
        let (f, rest) = rest.split_at_mut(n);
        let (g, o) = rest.split_at_mut(n);
        let (bi, bf, bg, bo) = (&bias[..n], &bias[n..2 * n], &bias[2 * n..3 * n], &bias[3 * n..4 * n]);
        let (c_prev, h) = (&c_prev[..n], &mut h[..n]);
        for j in 0..n {
            let ij = sigmoid(i[j] + bi[j]);
            let fj = sigmoid(f[j] + bf[j]);
            let gj = tanh(g[j] + bg[j]);
            let oj = sigmoid(o[j] + bo[j]);
            let cj = fj * c_prev[j] + ij * gj;
            (i[j], f[j], g[j], o[j]) = (ij, fj, gj, oj);
            c[j] = cj;
            h[j] = oj * tanh(cj);
        }
    }
}

multiversion! {
    /// One row of one LSTM step backwards. `dh` is the gradient reaching `h`
    /// (from the output and the next step), `dc_out` the one reaching `c`
    /// from the output; `dc` the one reaching `c` from the next step,
    /// replaced by the one for `c_prev`; `dg` receives the pre-activation
    /// gradients (i, f, g, o).
    fn lstm_cell_back(
        a: &[f32],
        c: &[f32],
        c_prev: &[f32],
        dh: &[f32],
        dc_out: &[f32],
        dc: &mut [f32],
        dg: &mut [f32],
    ) {
        let n = c.len();
        let (i, f, g, o) = (&a[..n], &a[n..2 * n], &a[2 * n..3 * n], &a[3 * n..4 * n]);
        let (c_prev, dh, dc_out, dc) = (&c_prev[..n], &dh[..n], &dc_out[..n], &mut dc[..n]);
        let (di, rest) = dg[..4 * n].split_at_mut(n);
        let (df, rest) = rest.split_at_mut(n);
        let (dgg, d_o) = rest.split_at_mut(n);
        for j in 0..n {
            let tc = tanh(c[j]);
            let dcj = dc[j] + dc_out[j] + dh[j] * o[j] * (1.0 - tc * tc);
            di[j] = dcj * g[j] * i[j] * (1.0 - i[j]);
            df[j] = dcj * c_prev[j] * f[j] * (1.0 - f[j]);
            dgg[j] = dcj * i[j] * (1.0 - g[j] * g[j]);
            d_o[j] = dh[j] * tc * o[j] * (1.0 - o[j]);
            dc[j] = dcj * f[j];
        }
    }
}

multiversion! {
    /// One row of one GRU step, in place: `a` holds the input products
    /// (z, r, n) without bias in its first `3H` and receives
    /// (z, r, n, hw_n + bn); `hw` is the recurrent product `h_prev · w_hh`.
    fn gru_cell(a: &mut [f32], bias: &[f32], hw: &[f32], bn: &[f32], h_prev: &[f32], h: &mut [f32]) {
        let n = h.len();
        let (az, rest) = a[..4 * n].split_at_mut(n);
        let (ar, rest) = rest.split_at_mut(n);
        let (an, ahn) = rest.split_at_mut(n);
        let (bz, br, bx) = (&bias[..n], &bias[n..2 * n], &bias[2 * n..3 * n]);
        let (hz, hr, hn) = (&hw[..n], &hw[n..2 * n], &hw[2 * n..3 * n]);
        let (bn, h_prev) = (&bn[..n], &h_prev[..n]);
        for j in 0..n {
            let z = sigmoid(az[j] + bz[j] + hz[j]);
            let r = sigmoid(ar[j] + br[j] + hr[j]);
            let hnj = hn[j] + bn[j];
            let cand = tanh(an[j] + bx[j] + r * hnj);
            (az[j], ar[j], an[j], ahn[j]) = (z, r, cand, hnj);
            h[j] = (1.0 - z) * cand + z * h_prev[j];
        }
    }
}

multiversion! {
    /// One row of one GRU step backwards: `dh` the gradient reaching `h`.
    /// Writes the input-side pre-activation gradients `dx` (z, r, n), the
    /// recurrent-side ones `dhw` (z, r, and the candidate's scaled by the
    /// reset gate) and the direct path `dh_prev = dh·z`.
    fn gru_cell_back(a: &[f32], h_prev: &[f32], dh: &[f32], dx: &mut [f32], dhw: &mut [f32], dh_prev: &mut [f32]) {
        let n = dh.len();
        let (az, ar, an, ahn) = (&a[..n], &a[n..2 * n], &a[2 * n..3 * n], &a[3 * n..4 * n]);
        let (h_prev, dh_prev) = (&h_prev[..n], &mut dh_prev[..n]);
        let (dxz, rest) = dx[..3 * n].split_at_mut(n);
        let (dxr, dxn) = rest.split_at_mut(n);
        let (dhz, rest) = dhw[..3 * n].split_at_mut(n);
        let (dhr, dhn) = rest.split_at_mut(n);
        for j in 0..n {
            let (z, r, cand, hn) = (az[j], ar[j], an[j], ahn[j]);
            let d_cand = dh[j] * (1.0 - z) * (1.0 - cand * cand);
            let dz = dh[j] * (h_prev[j] - cand) * z * (1.0 - z);
            let dr = d_cand * hn * r * (1.0 - r);
            (dxz[j], dxr[j], dxn[j]) = (dz, dr, d_cand);
            (dhz[j], dhr[j], dhn[j]) = (dz, dr, d_cand * r);
            dh_prev[j] = dh[j] * z;
        }
    }
}

// ------------------------------------------------------------------ LSTM --

/// An LSTM layer's inputs, dense row-major.
pub(crate) struct LstmParams<'a> {
    /// `[b, t, d]`; with no `w_ih`, every step's input projection `[b, t, 4H]`.
    pub x: &'a [f32],
    pub w_ih: Option<&'a [f32]>,
    pub bias: Option<&'a [f32]>,
    pub w_hh: &'a [f32],
    pub h0: &'a [f32],
    pub c0: &'a [f32],
    /// Whether the output holds every step's `c` or only the last one.
    pub all_cells: bool,
}

impl LstmParams<'_> {
    fn check(&self, d: Dims) {
        let (b, g) = (d.batch, 4 * d.hidden);
        assert_eq!(self.x.len(), d.steps() * d.input, "LSTM: x");
        match self.w_ih {
            Some(w_ih) => assert_eq!(w_ih.len(), d.input * g, "LSTM: w_ih"),
            None => assert_eq!(d.input, g, "LSTM: x must be the input projection"),
        }
        if let Some(bias) = self.bias {
            assert_eq!(bias.len(), g, "LSTM: bias");
        }
        assert_eq!(self.w_hh.len(), d.hidden * g, "LSTM: w_hh");
        assert_eq!(self.h0.len(), b * d.hidden, "LSTM: h0");
        assert_eq!(self.c0.len(), b * d.hidden, "LSTM: c0");
    }

    /// Rows of `c` in the output: every step's or the last step's.
    fn cell_rows(&self, d: Dims) -> usize {
        if self.all_cells {
            d.steps()
        } else {
            d.batch
        }
    }
}

/// An LSTM layer's forward pass: `out` `[b·t + c, H]` holds every step's
/// `h` then every step's `c` (`c` = `b·t`) or the final `c` (`c` = `b`);
/// `acts` and `cells` (every step's `c`) are kept for the backward pass.
pub(crate) struct LstmForward {
    pub out: Vec<f32>,
    pub acts: Scratch,
    pub cells: Scratch,
}

pub(crate) fn lstm_forward(d: Dims, p: &LstmParams<'_>) -> LstmForward {
    p.check(d);
    let (t, hd, di) = (d.time, d.hidden, d.input);
    let g = 4 * hd;
    let mut out = vec![0.0; (d.steps() + p.cell_rows(d)) * hd];
    // Every element of both is written below before it is read.
    let mut acts = Scratch::overwritten(d.steps() * g);
    let mut cells = Scratch::overwritten(d.steps() * hd);
    if d.steps() == 0 || hd == 0 {
        return LstmForward { out, acts, cells };
    }
    let no_bias = vec![0.0; g];
    let bias = p.bias.unwrap_or(&no_bias);
    let block = d.block(4);
    let (out_h, out_c) = out.split_at_mut(d.steps() * hd);
    out_h
        .par_chunks_mut(block * t * hd)
        .zip(
            acts.par_chunks_mut(block * t * g)
                .zip(cells.par_chunks_mut(block * t * hd)),
        )
        .zip(p.x.par_chunks(block * t * di))
        .zip(p.h0.par_chunks(block * hd).zip(p.c0.par_chunks(block * hd)))
        .for_each(|(((out_h, (acts, cells)), x), (h0, c0))| {
            let n = h0.len() / hd;
            match p.w_ih {
                Some(w_ih) => matmul(
                    rows_mut(acts, 0, n * t, g, g),
                    rows(x, 0, n * t, di, di),
                    rows(w_ih, 0, di, g, g),
                    false,
                    false,
                ),
                None => acts.copy_from_slice(x),
            }
            for s in 0..t {
                let h_prev = if s == 0 {
                    rows(h0, 0, n, hd, hd)
                } else {
                    rows(out_h, (s - 1) * hd, n, hd, t * hd)
                };
                matmul(
                    rows_mut(acts, s * g, n, g, t * g),
                    h_prev,
                    rows(p.w_hh, 0, hd, g, g),
                    true,
                    false,
                );
                for r in 0..n {
                    let at = r * t + s;
                    let (before, from) = cells.split_at_mut(at * hd);
                    let c_prev = if s == 0 {
                        &c0[r * hd..(r + 1) * hd]
                    } else {
                        &before[(at - 1) * hd..]
                    };
                    lstm_cell(
                        &mut acts[at * g..(at + 1) * g],
                        bias,
                        c_prev,
                        &mut from[..hd],
                        &mut out_h[at * hd..(at + 1) * hd],
                    );
                }
            }
        });
    if p.all_cells {
        out_c.copy_from_slice(&cells);
    } else {
        for (r, c_last) in out_c.chunks_exact_mut(hd).enumerate() {
            let last = (r * t + t - 1) * hd;
            c_last.copy_from_slice(&cells[last..last + hd]);
        }
    }
    LstmForward { out, acts, cells }
}

/// Gradients of an LSTM layer's inputs (`w_ih` when it has one).
pub(crate) struct LstmGrads {
    pub x: Vec<f32>,
    pub w_ih: Option<Vec<f32>>,
    pub bias: Vec<f32>,
    pub w_hh: Vec<f32>,
    pub h0: Vec<f32>,
    pub c0: Vec<f32>,
}

/// An LSTM layer's backward pass from its forward pass `f` and the gradient
/// `grad` of its output `out` (`f.out`, which the caller may have moved).
pub(crate) fn lstm_backward(d: Dims, p: &LstmParams<'_>, f: &LstmForward, out: &[f32], grad: &[f32]) -> LstmGrads {
    p.check(d);
    let (b, t, hd, di) = (d.batch, d.time, d.hidden, d.input);
    let g = 4 * hd;
    assert_eq!(out.len(), (d.steps() + p.cell_rows(d)) * hd, "LSTM: output");
    assert_eq!(grad.len(), out.len(), "LSTM: output gradient");
    let mut grads = LstmGrads {
        x: vec![0.0; d.steps() * di],
        w_ih: p.w_ih.map(|_| vec![0.0; di * g]),
        bias: vec![0.0; g],
        w_hh: vec![0.0; hd * g],
        h0: vec![0.0; b * hd],
        c0: vec![0.0; b * hd],
    };
    if d.steps() == 0 || hd == 0 {
        return grads;
    }
    // Written row by row by the gate pass before anything reads it.
    let mut dg = Scratch::overwritten(d.steps() * g);
    // The per-step product by `w_hhᵀ` wants it dense (gemm repacks its
    // operand at every call, and a strided one packs 4× slower); the one
    // product by `w_ihᵀ` per block reads the strided view as fast.
    let w_hh_t = transpose(p.w_hh, hd, g);
    let block = d.block(4);
    let (out_h, grad_h, grad_c) = (&out[..d.steps() * hd], &grad[..d.steps() * hd], &grad[d.steps() * hd..]);
    // The cell-state chain starts from the gradient of the final c, or, when
    // every step's c is an output, takes each step's on the way.
    let no_grad = vec![0.0; hd];
    let grad_c_steps = if p.all_cells { grad_c } else { &[] };
    if !p.all_cells {
        grads.c0.copy_from_slice(grad_c);
    }
    let partial_bias: Vec<Vec<f32>> = dg
        .par_chunks_mut(block * t * g)
        .zip(grads.x.par_chunks_mut(block * t * di))
        .zip(
            grads
                .h0
                .par_chunks_mut(block * hd)
                .zip(grads.c0.par_chunks_mut(block * hd)),
        )
        .zip(f.acts.par_chunks(block * t * g).zip(f.cells.par_chunks(block * t * hd)))
        .zip(grad_h.par_chunks(block * t * hd).zip(p.c0.par_chunks(block * hd)))
        .enumerate()
        .map(|(k, ((((dg, dx), (dh0, dc0)), (acts, cells)), (grad_h, c0)))| {
            let n = c0.len() / hd;
            let first = k * block;
            // dh0 holds the gradient reaching h from the later steps, dc0
            // the one reaching c; after the loop they are h0's and c0's.
            let mut dh = vec![0.0; hd];
            for s in (0..t).rev() {
                for r in 0..n {
                    let at = r * t + s;
                    let c_prev = if s == 0 {
                        &c0[r * hd..(r + 1) * hd]
                    } else {
                        &cells[(at - 1) * hd..at * hd]
                    };
                    let dc_out = if p.all_cells {
                        let global = ((first + r) * t + s) * hd;
                        &grad_c_steps[global..global + hd]
                    } else {
                        &no_grad[..]
                    };
                    add_into(&mut dh, &grad_h[at * hd..(at + 1) * hd], &dh0[r * hd..(r + 1) * hd]);
                    lstm_cell_back(
                        &acts[at * g..(at + 1) * g],
                        &cells[at * hd..(at + 1) * hd],
                        c_prev,
                        &dh,
                        dc_out,
                        &mut dc0[r * hd..(r + 1) * hd],
                        &mut dg[at * g..(at + 1) * g],
                    );
                }
                matmul(
                    rows_mut(dh0, 0, n, hd, hd),
                    rows(dg, s * g, n, g, t * g),
                    rows(&w_hh_t, 0, g, hd, hd),
                    false,
                    false,
                );
            }
            match p.w_ih {
                Some(w_ih) => matmul(
                    rows_mut(dx, 0, n * t, di, di),
                    rows(dg, 0, n * t, g, g),
                    transposed(w_ih, di, g, g),
                    false,
                    false,
                ),
                None => dx.copy_from_slice(dg),
            }
            let mut bias = vec![0.0; g];
            add_rows(&mut bias, dg);
            bias
        })
        .collect();
    grads.bias = total(partial_bias, g);
    let prev = previous_hidden(d, p.h0, out_h);
    let dg_all = rows(&dg, 0, d.steps(), g, g);
    matmul(
        rows_mut(&mut grads.w_hh, 0, hd, g, g),
        transposed(&prev, d.steps(), hd, hd),
        dg_all,
        false,
        true,
    );
    if let Some(dw) = &mut grads.w_ih {
        matmul(
            rows_mut(dw, 0, di, g, g),
            transposed(p.x, d.steps(), di, di),
            dg_all,
            false,
            true,
        );
    }
    grads
}

// ------------------------------------------------------------------- GRU --

/// A GRU layer's inputs, dense row-major.
pub(crate) struct GruParams<'a> {
    pub x: &'a [f32],
    pub w_ih: &'a [f32],
    pub bias: &'a [f32],
    pub w_hh: &'a [f32],
    pub bn: &'a [f32],
    pub h0: &'a [f32],
}

impl GruParams<'_> {
    fn check(&self, d: Dims) {
        let g = 3 * d.hidden;
        assert_eq!(self.x.len(), d.steps() * d.input, "GRU: x");
        assert_eq!(self.w_ih.len(), d.input * g, "GRU: w_ih");
        assert_eq!(self.bias.len(), g, "GRU: bias");
        assert_eq!(self.w_hh.len(), d.hidden * g, "GRU: w_hh");
        assert_eq!(self.bn.len(), d.hidden, "GRU: bn");
        assert_eq!(self.h0.len(), d.batch * d.hidden, "GRU: h0");
    }
}

/// A GRU layer's forward pass: `out` `[b, t, H]`, every step's `h`; `acts`
/// kept for the backward pass.
pub(crate) struct GruForward {
    pub out: Vec<f32>,
    pub acts: Scratch,
}

pub(crate) fn gru_forward(d: Dims, p: &GruParams<'_>) -> GruForward {
    p.check(d);
    let (t, hd, di) = (d.time, d.hidden, d.input);
    let (g, a) = (3 * hd, 4 * hd);
    let mut out = vec![0.0; d.steps() * hd];
    // The projection writes the first 3H of each row, the gate pass all 4H.
    let mut acts = Scratch::overwritten(d.steps() * a);
    if d.steps() == 0 || hd == 0 {
        return GruForward { out, acts };
    }
    let block = d.block(3);
    out.par_chunks_mut(block * t * hd)
        .zip(acts.par_chunks_mut(block * t * a))
        .zip(p.x.par_chunks(block * t * di).zip(p.h0.par_chunks(block * hd)))
        .for_each(|((out, acts), (x, h0))| {
            let n = h0.len() / hd;
            // The input products go to the first 3H of each 4H-wide row.
            let projected = MatMut {
                data: &mut *acts,
                offset: 0,
                rows: n * t,
                cols: g,
                rs: a,
                cs: 1,
            };
            matmul(
                projected,
                rows(x, 0, n * t, di, di),
                rows(p.w_ih, 0, di, g, g),
                false,
                false,
            );
            let mut hw = Scratch::overwritten(n * g);
            for s in 0..t {
                let h_prev = if s == 0 {
                    rows(h0, 0, n, hd, hd)
                } else {
                    rows(out, (s - 1) * hd, n, hd, t * hd)
                };
                matmul(
                    rows_mut(&mut hw, 0, n, g, g),
                    h_prev,
                    rows(p.w_hh, 0, hd, g, g),
                    false,
                    false,
                );
                for r in 0..n {
                    let at = r * t + s;
                    let (before, from) = out.split_at_mut(at * hd);
                    let h_prev = if s == 0 {
                        &h0[r * hd..(r + 1) * hd]
                    } else {
                        &before[(at - 1) * hd..]
                    };
                    gru_cell(
                        &mut acts[at * a..(at + 1) * a],
                        p.bias,
                        &hw[r * g..(r + 1) * g],
                        p.bn,
                        h_prev,
                        &mut from[..hd],
                    );
                }
            }
        });
    GruForward { out, acts }
}

/// Gradients of a GRU layer's inputs.
pub(crate) struct GruGrads {
    pub x: Vec<f32>,
    pub w_ih: Vec<f32>,
    pub bias: Vec<f32>,
    pub w_hh: Vec<f32>,
    pub bn: Vec<f32>,
    pub h0: Vec<f32>,
}

/// A GRU layer's backward pass from its forward pass `f` and the gradient
/// `grad` `[b, t, H]` of its output `out` (`f.out`, which the caller may
/// have moved).
pub(crate) fn gru_backward(d: Dims, p: &GruParams<'_>, f: &GruForward, out: &[f32], grad: &[f32]) -> GruGrads {
    p.check(d);
    let (b, t, hd, di) = (d.batch, d.time, d.hidden, d.input);
    let (g, a) = (3 * hd, 4 * hd);
    assert_eq!(out.len(), d.steps() * hd, "GRU: output");
    assert_eq!(grad.len(), out.len(), "GRU: output gradient");
    let mut grads = GruGrads {
        x: vec![0.0; d.steps() * di],
        w_ih: vec![0.0; di * g],
        bias: vec![0.0; g],
        w_hh: vec![0.0; hd * g],
        bn: vec![0.0; hd],
        h0: vec![0.0; b * hd],
    };
    if d.steps() == 0 || hd == 0 {
        return grads;
    }
    // Written row by row by the gate pass before anything reads them.
    let mut dxw = Scratch::overwritten(d.steps() * g);
    let mut dhw = Scratch::overwritten(d.steps() * g);
    // Dense `w_hhᵀ` for the per-step products, a view of `w_ih` for the one
    // product per block (see `lstm_backward`).
    let w_hh_t = transpose(p.w_hh, hd, g);
    let block = d.block(3);
    let partials: Vec<Vec<f32>> = dxw
        .par_chunks_mut(block * t * g)
        .zip(dhw.par_chunks_mut(block * t * g))
        .zip(
            grads
                .x
                .par_chunks_mut(block * t * di)
                .zip(grads.h0.par_chunks_mut(block * hd)),
        )
        .zip(out.par_chunks(block * t * hd).zip(f.acts.par_chunks(block * t * a)))
        .zip(grad.par_chunks(block * t * hd).zip(p.h0.par_chunks(block * hd)))
        .map(|((((dxw, dhw), (dx, dh0)), (out, acts)), (grad, h0))| {
            let n = h0.len() / hd;
            // dh0 holds the gradient reaching h from the later steps.
            let mut dh = vec![0.0; hd];
            for s in (0..t).rev() {
                for r in 0..n {
                    let at = r * t + s;
                    let h_prev = if s == 0 {
                        &h0[r * hd..(r + 1) * hd]
                    } else {
                        &out[(at - 1) * hd..at * hd]
                    };
                    add_into(&mut dh, &grad[at * hd..(at + 1) * hd], &dh0[r * hd..(r + 1) * hd]);
                    gru_cell_back(
                        &acts[at * a..(at + 1) * a],
                        h_prev,
                        &dh,
                        &mut dxw[at * g..(at + 1) * g],
                        &mut dhw[at * g..(at + 1) * g],
                        &mut dh0[r * hd..(r + 1) * hd],
                    );
                }
                matmul(
                    rows_mut(dh0, 0, n, hd, hd),
                    rows(dhw, s * g, n, g, t * g),
                    rows(&w_hh_t, 0, g, hd, hd),
                    true,
                    false,
                );
            }
            matmul(
                rows_mut(dx, 0, n * t, di, di),
                rows(dxw, 0, n * t, g, g),
                transposed(p.w_ih, di, g, g),
                false,
                false,
            );
            // Column sums: the input-side bias, then the recurrent side's.
            let mut sums = vec![0.0; 2 * g];
            add_rows(&mut sums[..g], dxw);
            add_rows(&mut sums[g..], dhw);
            sums
        })
        .collect();
    let sums = total(partials, 2 * g);
    grads.bias.copy_from_slice(&sums[..g]);
    grads.bn.copy_from_slice(&sums[g + 2 * hd..]);
    let prev = previous_hidden(d, p.h0, out);
    matmul(
        rows_mut(&mut grads.w_hh, 0, hd, g, g),
        transposed(&prev, d.steps(), hd, hd),
        rows(&dhw, 0, d.steps(), g, g),
        false,
        true,
    );
    matmul(
        rows_mut(&mut grads.w_ih, 0, di, g, g),
        transposed(p.x, d.steps(), di, di),
        rows(&dxw, 0, d.steps(), g, g),
        false,
        true,
    );
    grads
}
