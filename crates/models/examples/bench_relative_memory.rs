//! Peak memory of the relative-attention logits: Huang et al.'s skewing vs
//! Shaw et al.'s gather of one embedding per (query, key) pair.
//!
//! ```sh
//! cargo run --release -p fugue-models --example bench_relative_memory
//! ```
//! A counting global allocator records the peak heap growth while one
//! batch's relative logits `[1, heads, L, L]` are computed (forward only,
//! flex CPU backend). Shape: Music Transformer's MAESTRO setting (8 heads,
//! d_head 48). Shaw's intermediate `[heads, L, L, d_head]` grows as L²·D;
//! skewing's extra memory is the `[heads, L, L]` logits themselves plus one
//! padded copy: linear in L per logit row. Prints one JSON line per (method, L).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use fugue_models::burn::tensor::{Distribution, Int, Tensor, TensorData};
use fugue_models::device;
use fugue_models::layers::relative_attention::skew;

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only
// counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Shaw et al.: gather `E(j - i)` for every pair into `[h, L, L, dh]`,
/// then a dot product per pair.
fn shaw(q: Tensor<4>, e: Tensor<3>) -> Tensor<4> {
    let [b, h, l, dh] = q.dims();
    let dev = q.device();
    // Pair (i, j) reads row L-1-i+j of `e` (distance j-i); future pairs
    // read row 0 (masked later anyway).
    let idx: Vec<i64> = (0..l)
        .flat_map(|i| (0..l).map(move |j| if j <= i { (l - 1 - i + j) as i64 } else { 0 }))
        .collect();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [l * l]), &dev);
    let r = e.select(1, idx).reshape([1, h, l, l, dh]);
    (q.unsqueeze_dim::<5>(3) * r).sum_dim(4).reshape([b, h, l, l])
}

fn main() {
    let dev = device("cpu", false).unwrap_or_else(|e| panic!("{e}"));
    let (h, dh) = (8usize, 48usize);
    for l in [256usize, 512, 1024, 2048] {
        for method in ["skew", "shaw"] {
            if method == "shaw" && l > 1024 {
                continue; // 8 × 2048² × 48 floats = 6.4 GB
            }
            let q = Tensor::<4>::random([1, h, l, dh], Distribution::Normal(0.0, 1.0), &dev);
            let e = Tensor::<3>::random([h, l, dh], Distribution::Normal(0.0, 1.0), &dev);
            let base = CURRENT.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let t = std::time::Instant::now();
            let logits = match method {
                "skew" => skew(q.matmul(e.swap_dims(1, 2).unsqueeze_dim(0))),
                _ => shaw(q, e),
            };
            let _forced: f32 = logits.sum().into_scalar();
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let peak = PEAK.load(Ordering::Relaxed) - base;
            println!(
                "{}",
                serde_json::json!({"method": method, "L": l, "peak_mib": peak as f64 / 1048576.0,
                    "logits_mib": (h * l * l * 4) as f64 / 1048576.0, "ms": ms})
            );
        }
    }
}
