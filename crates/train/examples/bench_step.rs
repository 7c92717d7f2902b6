//! Training-step time of fugue's models, for `bench/train_speed.py`.
//!
//! ```sh
//! cargo run --release -p fugue-train --example bench_step -- lstm 20 [cpu|cuda|vulkan]
//! ```
//! One step = a batch drawn by `TokenTask`, forward, cross-entropy,
//! backward, gradient clipping and an AdamW update: exactly the trainer's
//! inner loop. Models and shapes are those of the issue's bake-off table:
//! `lstm`/`gru`: vocab 130, embedding 128, 2 × 256, batch 32 × 64;
//! `transformer`: 4 layers, d 256, 8 heads, FFN 1024, batch 8 × 256
//! (Music Transformer with relative attention, or `vanilla-transformer`
//! with absolute positions); `rnn-nade`: the default RNN-NADE recipe's
//! model (LSTM 3 × 128, dropout 0.5, NADE 88 × 128) on batches of 16 crops
//! of 100 frames, random four-note chords. Prints `{"model", "device",
//! "median_ms", "steps"}`. On a GPU (`cuda` or `vulkan`,
//! a build with `--features fugue-models/<that>`) each step ends with a
//! device sync, so its time is the GPU's work and not only the launches.

/// The `fugue` binary's allocator, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use fugue_models::lstm::{Cell, LstmLmConfig};
use fugue_models::music_transformer::MusicTransformerConfig;
use fugue_models::rnn_nade::RnnNadeConfig;
use fugue_models::{burn, device};
use fugue_train::optim::Grads;
use fugue_train::{FrameTask, Optimizer, OptimizerConfig, Task, TokenTask};
use rand::{Rng, SeedableRng};

fn corpus(vocab: u32, batch: usize, len: usize) -> TokenTask {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let pieces: Vec<Vec<u32>> = (0..64)
        .map(|_| (0..600).map(|_| rng.random_range(1..vocab)).collect())
        .collect();
    TokenTask::new(pieces.clone(), pieces.clone(), pieces, 0, 0, batch, len)
}

/// Piano-roll pieces of random four-note chords, a chord per frame.
fn frames(pitches: usize, batch: usize, len: usize) -> FrameTask {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let pieces: Vec<Vec<Vec<u16>>> = (0..64)
        .map(|_| {
            (0..300)
                .map(|_| (0..4).map(|_| rng.random_range(0..pitches as u16)).collect())
                .collect()
        })
        .collect();
    FrameTask::new(pieces.clone(), pieces.clone(), pieces, pitches, batch, len)
}

fn time_steps<M: Module + Clone, T: Task<M>>(mut model: M, task: &T, steps: usize, device: &Device) -> Vec<f64> {
    let mut opt = Optimizer::new(OptimizerConfig::adamw(0.01));
    let mut times = Vec::new();
    for i in 0..steps + 3 {
        let t = std::time::Instant::now();
        let batch = task.train_batch(0, i as u64 + 1);
        let (loss, units) = task.loss(&model, &batch, device);
        let mean = loss.div_scalar(units.max(1) as f64);
        let mut grads = Grads::default();
        grads.accumulate(&model, GradientsParams::from_grads(mean.backward(), &model));
        grads.clip_norm(1.0);
        model = opt.step(model, grads, 1e-3);
        device.sync().unwrap_or_else(|e| panic!("device sync: {e:?}"));
        if i >= 3 {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    times
}

fn main() {
    fugue_train::allocator::keep_freed_memory();
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "lstm".into());
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let on = args.next().unwrap_or_else(|| "cpu".into());
    let dev = device(&on, true).unwrap_or_else(|e| panic!("{e}"));
    dev.seed(0);
    let run = || match which.as_str() {
        "lstm" | "gru" => {
            let config = LstmLmConfig {
                vocab_size: 130,
                embedding: 128,
                hidden: 256,
                layers: 2,
                dropout: 0.0,
                cell: if which == "gru" { Cell::Gru } else { Cell::Lstm },
            };
            let task = corpus(130, 32, 64);
            time_steps(config.init(&dev).unwrap_or_else(|e| panic!("{e}")), &task, steps, &dev)
        }
        "transformer" | "vanilla-transformer" => {
            let config = MusicTransformerConfig {
                vocab_size: 310,
                d_model: 256,
                layers: 4,
                heads: 8,
                d_ff: 1024,
                dropout: 0.0,
                max_relative: 256,
                relative: which == "transformer",
                local_window: 0,
            };
            let task = corpus(310, 8, 256);
            time_steps(config.init(&dev).unwrap_or_else(|e| panic!("{e}")), &task, steps, &dev)
        }
        "rnn-nade" => {
            let config = RnnNadeConfig::magenta(88);
            let task = frames(config.pitches, 16, 100);
            time_steps(config.init(&dev).unwrap_or_else(|e| panic!("{e}")), &task, steps, &dev)
        }
        other => panic!("unknown model {other}: lstm, gru, transformer, vanilla-transformer, rnn-nade"),
    };
    // As the `fugue` binary runs its model commands (`on_pool`'s doc).
    let mut times = fugue_models::on_pool(run);
    times.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({"model": which, "device": on, "median_ms": times[times.len() / 2], "steps": times.len()})
    );
}
