//! Sampling speed with the KV cache, for `bench/train_speed.py`.
//!
//! ```sh
//! cargo run --release -p fugue-sample --example bench_sample -- 512 [cpu|cuda|vulkan]
//! ```
//! A 4-layer Transformer (vocab 310, d 256, 8 heads, FFN 1024), untrained
//! weights, one sequence of N tokens from a start token through
//! [`fugue_sample::generate`] (temperature 1, full distribution), best of
//! three runs; with absolute positions and with relative attention.
//! Prints `{"tokens", "device", "vanilla_tok_s", "relative_tok_s"}`.

/// The `fugue` binary's allocator, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use fugue_models::device;
use fugue_models::music_transformer::MusicTransformerConfig;
use fugue_sample::{generate, SamplingConfig};

fn main() {
    let tokens: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(512);
    let on = std::env::args().nth(2).unwrap_or_else(|| "cpu".into());
    let dev = device(&on, false).unwrap_or_else(|e| panic!("{e}"));
    let mut rates = Vec::new();
    for relative in [false, true] {
        dev.seed(0);
        let config = MusicTransformerConfig {
            vocab_size: 310,
            d_model: 256,
            layers: 4,
            heads: 8,
            d_ff: 1024,
            dropout: 0.0,
            max_relative: tokens.max(1),
            relative,
            local_window: 0,
        };
        let model = config.init(&dev).unwrap_or_else(|e| panic!("{e}"));
        let mut best = 0f64;
        for seed in 0..3 {
            let sampling = SamplingConfig {
                seed,
                ..SamplingConfig::default()
            };
            let t = std::time::Instant::now();
            let out =
                generate(&model, &[0], tokens, None, &sampling, 310, &dev, |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
            best = best.max(out.len() as f64 / t.elapsed().as_secs_f64());
        }
        rates.push(best);
    }
    println!(
        "{}",
        serde_json::json!({"tokens": tokens, "device": on, "vanilla_tok_s": rates[0], "relative_tok_s": rates[1]})
    );
}
