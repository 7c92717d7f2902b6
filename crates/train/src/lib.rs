//! fugue's training loop: optimizers with path-keyed state, learning-rate
//! schedules, gradient accumulation and clipping, evaluation with early
//! stopping, atomic checkpoints (safetensors + JSON) and an exact resume.
//!
//! A run folder holds `run.json` (written by the caller: model, encoding,
//! this crate's [`TrainConfig`]), `metrics.jsonl`, and the `last` and
//! `best` checkpoints ([`checkpoint`]).

pub mod ais;
pub mod allocator;
pub mod bachprop;
pub mod checkpoint;
pub mod deepbach;
pub mod harmonet;
pub mod optim;
pub mod orderless;
pub mod schedule;
pub mod tasks;
pub mod tonicnet;
pub mod trainer;

use std::path::PathBuf;

pub use ais::AisConfig;
pub use bachprop::{BachPropBatch, BachPropTask};
pub use deepbach::{voice_scores, DeepBachPiece, DeepBachTask, TokenLayout, VoiceScores};
pub use harmonet::{harmony_scores, Beats, HarmonetTask, HarmonyScores};
pub use optim::{Optimizer, OptimizerConfig};
pub use orderless::{chronological_nll, CoconetTask};
pub use schedule::Schedule;
pub use tasks::{FrameNll, FrameTask, Split, Task, TokenTask};
pub use tonicnet::{mean_of_piece_means, TonicNetTask, TonicSeq};
pub use trainer::{evaluate, train, Event, Outcome, TrainConfig};

/// Everything that can go wrong training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("bad training config: `{field}`: {why}")]
    Config { field: &'static str, why: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("nothing to resume in {0}: no complete `last` checkpoint")]
    NothingToResume(PathBuf),
    #[error("training diverged at step {step}: loss {loss}")]
    Diverged { step: u64, loss: f64 },
    #[error(transparent)]
    Model(#[from] fugue_models::ModelError),
}
