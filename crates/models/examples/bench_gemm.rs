//! gemm alone on a Transformer training step's linear-layer shapes
//! (`docs/BENCHMARKS.md`): why `fused_linear` splits the weight gradient's
//! rows across threads instead of letting gemm split its output.
//!
//! ```sh
//! cargo build --release -p fugue-models --example bench_gemm
//! RAYON_NUM_THREADS=2 target/release/examples/bench_gemm
//! ```
//! For each layer shape (`rows` × `d_in` → `d_out`) it prints GFLOP/s,
//! median of 20 products after 3 warm-up ones: the weight gradient
//! `Xᵀ dY` with gemm's own threading, the same split into one block of
//! rows per thread with the partial products summed, and for reference
//! the forward product `X W` and the input gradient `dY Wᵀ`.

use rayon::prelude::*;
use std::time::Instant;

/// A strided read-only matrix: element (i, j) at `i·rs + j·cs`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl View<'_> {
    fn last(&self) -> usize {
        (self.rows - 1) * self.rs + (self.cols - 1) * self.cs
    }
}

/// `dst` (row-major `l.rows × r.cols`) = `l · r`, on gemm's threads when
/// `parallel`.
fn product(dst: &mut [f32], l: View<'_>, r: View<'_>, parallel: bool) {
    let (m, n, k) = (l.rows, r.cols, l.cols);
    assert!(r.rows == k && dst.len() == m * n && l.last() < l.data.len() && r.last() < r.data.len());
    // SAFETY: the shapes and every index read or written were checked
    // above; `dst` is a unique borrow, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            l.data.as_ptr(),
            l.cs as isize,
            l.rs as isize,
            r.data.as_ptr(),
            r.cs as isize,
            r.rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            if parallel {
                gemm::Parallelism::Rayon(0)
            } else {
                gemm::Parallelism::None
            },
        );
    }
}

fn median_seconds(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..23)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .skip(3)
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let threads = rayon::current_num_threads();
    for (rows, d_in, d_out) in [
        (2048, 256, 768),
        (2048, 256, 1024),
        (2048, 1024, 256),
        (2048, 256, 256),
        (2048, 256, 310),
    ] {
        let x = vec![0.5f32; rows * d_in];
        let dy = vec![0.25f32; rows * d_out];
        let w = vec![0.1f32; d_in * d_out];
        let mut dw = vec![0f32; d_in * d_out];
        let mut y = vec![0f32; rows * d_out];
        let mut dx = vec![0f32; rows * d_in];
        // Xᵀ over rows r0..r1, as a view of the row-major X.
        let xt = |r0: usize, r1: usize| View {
            data: &x[r0 * d_in..r1 * d_in],
            rows: d_in,
            cols: r1 - r0,
            rs: 1,
            cs: d_in,
        };
        let dy_rows = |r0: usize, r1: usize| View {
            data: &dy[r0 * d_out..r1 * d_out],
            rows: r1 - r0,
            cols: d_out,
            rs: d_out,
            cs: 1,
        };
        let gemm_split = median_seconds(|| product(&mut dw, xt(0, rows), dy_rows(0, rows), true));
        let block = rows.div_ceil(threads);
        let row_split = median_seconds(|| {
            let partials: Vec<Vec<f32>> = (0..threads)
                .into_par_iter()
                .map(|i| {
                    let (r0, r1) = ((i * block).min(rows), ((i + 1) * block).min(rows));
                    let mut part = vec![0f32; d_in * d_out];
                    product(&mut part, xt(r0, r1), dy_rows(r0, r1), false);
                    part
                })
                .collect();
            dw.copy_from_slice(&partials[0]);
            for p in &partials[1..] {
                dw.iter_mut().zip(p).for_each(|(a, v)| *a += v);
            }
        });
        let x_rows = View {
            data: &x,
            rows,
            cols: d_in,
            rs: d_in,
            cs: 1,
        };
        let w_view = View {
            data: &w,
            rows: d_in,
            cols: d_out,
            rs: d_out,
            cs: 1,
        };
        let w_t = View {
            data: &w,
            rows: d_out,
            cols: d_in,
            rs: 1,
            cs: d_out,
        };
        let forward = median_seconds(|| product(&mut y, x_rows, w_view, true));
        let input_grad = median_seconds(|| product(&mut dx, dy_rows(0, rows), w_t, true));
        let gflop = 2.0 * (rows * d_in * d_out) as f64 / 1e9;
        println!(
            "{rows} x {d_in} -> {d_out}: dW gemm-split {:.0}, dW row-split {:.0}, forward {:.0}, dX {:.0} GFLOP/s ({threads} threads)",
            gflop / gemm_split,
            gflop / row_split,
            gflop / forward,
            gflop / input_grad
        );
    }
}
