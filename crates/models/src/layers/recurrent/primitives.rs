//! What the recurrent kernels are built from: a bounds-checked strided
//! matrix product (the `gemm` crate, which burn-flex multiplies with too), a
//! small pool of scratch buffers, and `exp`/`sigmoid`/`tanh` written so that
//! the compiler vectorises them, compiled for AVX-512, AVX2+FMA and the
//! baseline and chosen at run time.
//!
//! Why not libm: the unfused LSTM spent 18% of its step in scalar
//! `expf`/`tanhf`. Why a pool: a training step allocates tens of MB of
//! activations and gradients and frees them again; glibc hands large blocks
//! back to the kernel, so every step paid a page fault per 4 kB touched
//! (about a fifth of the step after fusing). The pool keeps the kernels' own
//! scratch buffers (gates, gate gradients) mapped from one step to the next.

use std::sync::Mutex;

// ---------------------------------------------------------------- matmul --

/// A strided matrix inside a slice: element `(i, j)` is at
/// `offset + i·rs + j·cs`.
#[derive(Clone, Copy)]
pub(in crate::layers) struct MatRef<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

pub(in crate::layers) struct MatMut<'a> {
    pub data: &'a mut [f32],
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

/// A row-major view: `rows × cols` from `offset`, rows `rs` apart.
pub(in crate::layers) fn rows(data: &[f32], offset: usize, rows: usize, cols: usize, rs: usize) -> MatRef<'_> {
    MatRef {
        data,
        offset,
        rows,
        cols,
        rs,
        cs: 1,
    }
}

pub(in crate::layers) fn rows_mut(data: &mut [f32], offset: usize, rows: usize, cols: usize, rs: usize) -> MatMut<'_> {
    MatMut {
        data,
        offset,
        rows,
        cols,
        rs,
        cs: 1,
    }
}

/// The transpose of the row-major `[n, cols]` matrix at the start of
/// `data` (rows `rs` apart), as a view: `[cols, n]`.
pub(in crate::layers) fn transposed(data: &[f32], n: usize, cols: usize, rs: usize) -> MatRef<'_> {
    MatRef {
        data,
        offset: 0,
        rows: cols,
        cols: n,
        rs: 1,
        cs: rs,
    }
}

/// The largest index a strided `rows × cols` view touches (both positive).
fn last_index(offset: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    offset + (rows - 1) * rs + (cols - 1) * cs
}

/// gemm's threads for an `m × k` by `k × n` product: the rayon pool for a
/// large one when the caller allows it, none otherwise.
fn parallelism(m: usize, n: usize, k: usize, parallel: bool) -> gemm::Parallelism {
    if parallel && m * n * k >= 1 << 21 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` when `accumulate`. `parallel`
/// lets gemm use the rayon pool: only for the large products outside the
/// per-thread time loops.
pub(in crate::layers) fn matmul(dst: MatMut<'_>, lhs: MatRef<'_>, rhs: MatRef<'_>, accumulate: bool, parallel: bool) {
    let (m, n, k) = (dst.rows, dst.cols, lhs.cols);
    assert!(
        lhs.rows == m && rhs.rows == k && rhs.cols == n,
        "matmul: shapes do not agree"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst.data[dst.offset + i * dst.rs + j * dst.cs] = 0.0;
                }
            }
        }
        return;
    }
    assert!(last_index(dst.offset, m, n, dst.rs, dst.cs) < dst.data.len());
    // SAFETY: every element the product writes was bounds-checked above
    // (strides are non-negative, so the last index is the largest); `dst`
    // is a unique borrow, so it cannot alias `lhs` or `rhs`; every caller
    // lays `dst` out with distinct rows and columns.
    unsafe {
        gemm_into(
            dst.data.as_mut_ptr().add(dst.offset),
            dst.rs,
            dst.cs,
            accumulate,
            lhs,
            rhs,
            parallel,
        )
    };
}

/// `lhs · rhs` as a new row-major `[lhs.rows, rhs.cols]` buffer that the
/// product alone writes: no zero-fill first. A backward pass allocates
/// tens of MB of gradients per Transformer step, and zeroing them is a
/// serial pass over memory (3–4% of the step) that the product then
/// overwrites. `parallel` as for [`matmul`].
pub(in crate::layers) fn matmul_new(lhs: MatRef<'_>, rhs: MatRef<'_>, parallel: bool) -> Vec<f32> {
    let (m, n, k) = (lhs.rows, rhs.cols, lhs.cols);
    assert_eq!(rhs.rows, k, "matmul: shapes do not agree");
    if m == 0 || n == 0 || k == 0 {
        return vec![0.0; m * n];
    }
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    // SAFETY: `out` has room for the `m × n` row-major result; with
    // `accumulate` false gemm never reads `dst` and writes each of its
    // `m · n` elements (m, n, k > 0), so after the call all of them are
    // initialised and `set_len` exposes only written values. A fresh
    // allocation cannot alias the inputs.
    unsafe {
        gemm_into(out.as_mut_ptr(), n, 1, false, lhs, rhs, parallel);
        out.set_len(m * n);
    }
    out
}

/// gemm on a `lhs.rows × rhs.cols` destination at `dst` (rows `rs`,
/// columns `cs` apart), `lhs` and `rhs` bounds-checked here.
///
/// # Safety
/// `dst` must be valid for writes (and reads when `accumulate`) at every
/// `i·rs + j·cs` of the product's shape, must not overlap `lhs` or `rhs`,
/// and distinct `(i, j)` must map to distinct elements; `lhs.cols`,
/// `lhs.rows` and `rhs.cols` must be positive.
unsafe fn gemm_into(
    dst: *mut f32,
    rs: usize,
    cs: usize,
    accumulate: bool,
    lhs: MatRef<'_>,
    rhs: MatRef<'_>,
    parallel: bool,
) {
    let (m, n, k) = (lhs.rows, rhs.cols, lhs.cols);
    assert!(last_index(lhs.offset, m, k, lhs.rs, lhs.cs) < lhs.data.len());
    assert!(last_index(rhs.offset, k, n, rhs.rs, rhs.cs) < rhs.data.len());
    // SAFETY: the inputs' indices were checked just above, the
    // destination's are the caller's promise.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            cs as isize,
            rs as isize,
            accumulate,
            lhs.data.as_ptr().add(lhs.offset),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr().add(rhs.offset),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism(m, n, k, parallel),
        );
    }
}

/// The row-major `[rows, cols]` matrix `w` transposed, in a scratch buffer:
/// the backward pass multiplies by `Wᵀ` at every step, and a dense copy made
/// once reads better than a strided view each time. Copied in 32 × 32 tiles
/// so that both sides stay in cache (the plain double loop, writing down
/// columns, was 2% of a training step).
pub(super) fn transpose(w: &[f32], rows: usize, cols: usize) -> Scratch {
    const TILE: usize = 32;
    assert_eq!(w.len(), rows * cols, "transpose: shape");
    let mut out = Scratch::overwritten(rows * cols);
    for i0 in (0..rows).step_by(TILE) {
        for j0 in (0..cols).step_by(TILE) {
            for i in i0..(i0 + TILE).min(rows) {
                let row = &w[i * cols..(i + 1) * cols];
                for j in j0..(j0 + TILE).min(cols) {
                    out[j * rows + i] = row[j];
                }
            }
        }
    }
    out
}

// ------------------------------------------------------------ scratch pool --

/// Buffers kept for reuse; a step of a 2-layer model takes about six.
const POOL_BUFFERS: usize = 16;

static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// An `f32` buffer taken from the pool and given back when dropped.
pub(super) struct Scratch(Vec<f32>);

impl Scratch {
    /// A buffer of `len` unspecified values (left from an earlier use), for
    /// a caller that overwrites all of it: zeroing tens of MB per step that
    /// are about to be overwritten is measurable.
    pub fn overwritten(len: usize) -> Self {
        let mut buf = Self::take(len);
        if buf.len() >= len {
            buf.truncate(len);
        } else {
            buf.resize(len, 0.0);
        }
        Scratch(buf)
    }

    /// The smallest pooled buffer that holds `len` values, or a new one.
    fn take(len: usize) -> Vec<f32> {
        let reused = POOL.lock().ok().and_then(|mut pool| {
            let best = pool
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i)?;
            Some(pool.swap_remove(best))
        });
        reused.unwrap_or_else(|| Vec::with_capacity(len))
    }
}

impl std::ops::Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.0);
        if buf.capacity() == 0 {
            return;
        }
        if let Ok(mut pool) = POOL.lock() {
            if pool.len() < POOL_BUFFERS {
                pool.push(buf);
            } else if let Some(smallest) = pool.iter_mut().min_by_key(|b| b.capacity()) {
                // Keep the larger buffers: they are the ones worth keeping mapped.
                if smallest.capacity() < buf.capacity() {
                    *smallest = buf;
                }
            }
        }
    }
}

// ------------------------------------------------------ vectorised maths --

/// `Σ a[i]·b[i]` in eight independent partial sums, so that the loop
/// vectorises without reassociating a single running sum. Inlined into the
/// multiversioned kernels, which compile it for the CPU's vector width.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = a.len().min(b.len()) / 8;
    for (ca, cb) in a[..chunks * 8].chunks_exact(8).zip(b[..chunks * 8].chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += ca[k] * cb[k];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in a[chunks * 8..].iter().zip(&b[chunks * 8..]) {
        sum += x * y;
    }
    sum
}

/// `e^x` for `f32`, vectorisable: `x = k·ln2 + r` with `|r| ≤ ln2/2`, `e^r`
/// by its Taylor polynomial to degree 7 (truncation error < 6e-9), `2^k` by
/// building the exponent bits. Inputs are clamped to where `e^x` is a normal
/// number; NaN stays NaN.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // ln 2 split so that k·LN2_HI is exact for |k| < 2^8.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding 1.5·2^23 rounds to the nearest integer and leaves it, as a
    // two's-complement offset, in the low bits of the sum's mantissa: `k`
    // as an integer without a float-to-int conversion (whose saturation
    // checks stop the loop from being vectorised).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let k_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    p * f32::from_bits(k_bits.wrapping_add(127) << 23)
}

#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh x = 1 - 2/(1 + e^{2x})`: saturates cleanly at ±1; absolute error
/// near 0 is a few 1e-8.
#[inline(always)]
pub(super) fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + exp(2.0 * x))
}

/// Compiles a function body three times — for AVX-512, for AVX2+FMA and for
/// the baseline — and picks at run time, so that its element-wise loops are
/// vectorised as wide as the CPU allows in a portable binary.
#[macro_export]
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn imp($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                #[allow(clippy::too_many_arguments)]
                fn v4($($arg: $ty),*) $(-> $ret)? {
                    imp($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn v3($($arg: $ty),*) $(-> $ret)? {
                    imp($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the features `v4` is compiled for.
                    return unsafe { v4($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `v3` is compiled for.
                    return unsafe { v3($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}
pub(crate) use multiversion;

multiversion! {
    /// `dst = a + b`, element-wise.
    pub(super) fn add_into(dst: &mut [f32], a: &[f32], b: &[f32]) {
        for ((d, a), b) in dst.iter_mut().zip(a).zip(b) {
            *d = a + b;
        }
    }
}

multiversion! {
    /// `sum += row` for every `cols`-wide row of `rows`.
    pub(super) fn add_rows(sum: &mut [f32], rows: &[f32]) {
        let cols = sum.len();
        for row in rows.chunks_exact(cols) {
            for (s, v) in sum.iter_mut().zip(row) {
                *s += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomial_exp_sigmoid_and_tanh_match_libm() {
        let mut worst = [0.0f32; 3];
        for i in -20_000..=20_000 {
            let x = i as f32 * 0.005;
            if x.abs() <= 80.0 {
                worst[0] = worst[0].max(((exp(x) - x.exp()) / x.exp()).abs());
            }
            worst[1] = worst[1].max((sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs());
            worst[2] = worst[2].max((tanh(x) - x.tanh()).abs());
        }
        assert!(worst[0] < 4e-7, "exp relative error {}", worst[0]);
        assert!(worst[1] < 2e-7, "sigmoid error {}", worst[1]);
        assert!(worst[2] < 3e-7, "tanh error {}", worst[2]);
        assert_eq!(tanh(1e4), 1.0);
        assert_eq!(tanh(-1e4), -1.0);
        assert!(sigmoid(-1e4) < 1e-37);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn strided_matmul_matches_the_naive_product() {
        // lhs is every other row of a 6x3 buffer, rhs a transposed view.
        let lhs_buf: Vec<f32> = (0..18).map(|v| v as f32 * 0.5 - 3.0).collect();
        let rhs_buf: Vec<f32> = (0..12).map(|v| 1.0 - v as f32 * 0.25).collect();
        let lhs = rows(&lhs_buf, 0, 3, 3, 6);
        let rhs = transposed(&rhs_buf, 4, 3, 3);
        let mut out = vec![1.0; 12];
        matmul(rows_mut(&mut out, 0, 3, 4, 4), lhs, rhs, true, false);
        for i in 0..3 {
            for j in 0..4 {
                let want: f32 = 1.0 + (0..3).map(|k| lhs_buf[i * 6 + k] * rhs_buf[j * 3 + k]).sum::<f32>();
                assert!((out[i * 4 + j] - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn tiled_transpose_is_the_transpose() {
        for (rows, cols) in [(1, 1), (3, 70), (33, 65), (64, 32)] {
            let w: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
            let t = transpose(&w, rows, cols);
            for i in 0..rows {
                for j in 0..cols {
                    assert_eq!(t[j * rows + i], w[i * cols + j]);
                }
            }
        }
    }

    #[test]
    fn scratch_buffers_have_the_length_asked_for() {
        let mut a = Scratch::overwritten(1000);
        a.fill(3.0);
        drop(a);
        for len in [700, 1000, 1500, 0] {
            assert_eq!(Scratch::overwritten(len).len(), len);
        }
    }
}
