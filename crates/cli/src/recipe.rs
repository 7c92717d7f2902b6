//! A run's recipe (`run.json`): which network with which config, which
//! data with which encoding, and how it was trained. `fugue train` writes
//! it, `fugue eval` and `fugue generate` rebuild everything from it, and
//! the embedded default model is one such recipe plus its weights.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use fugue_data::{Content, Dataset, DatasetRef, LoadOptions, Split};
use fugue_models::bachprop::{BachProp, BachPropConfig};
use fugue_models::burn::tensor::Device;
use fugue_models::coconet::{Coconet, CoconetConfig};
use fugue_models::deepbach::{DeepBach, DeepBachConfig};
use fugue_models::eck_schmidhuber::{EckSchmidhuber, EckSchmidhuberConfig};
use fugue_models::harmonet::{Harmonet, HarmonetConfig};
use fugue_models::lstm::{Cell, LstmLm, LstmLmConfig};
use fugue_models::music_transformer::{MusicTransformer, MusicTransformerConfig};
use fugue_models::rnn_nade::{RnnNade, RnnNadeConfig, RnnRbm, RnnRbmConfig};
use fugue_models::todd::{Todd, ToddConfig};
use fugue_models::tonicnet::{TonicNet, TonicNetConfig};
use fugue_score::{Score, Tick};
use fugue_tokens::{serialized_satb, Tokenizer};
use fugue_train::{CoconetTask, FrameTask, OptimizerConfig, Schedule, TokenTask, TonicNetTask, TonicSeq, TrainConfig};
use fugue_train::{DeepBachPiece, DeepBachTask, HarmonetTask, TokenLayout};
use serde::{Deserialize, Serialize};

use crate::performance::PerformanceEncoding;

/// The network and its hyperparameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "config", rename_all = "snake_case")]
pub enum ModelSpec {
    MusicTransformer(MusicTransformerConfig),
    Lstm(LstmLmConfig),
    RnnNade(RnnNadeConfig),
    RnnRbm(RnnRbmConfig),
    Coconet(CoconetConfig),
    #[serde(rename = "deepbach")]
    DeepBach(DeepBachConfig),
    #[serde(rename = "tonicnet")]
    TonicNet(TonicNetConfig),
    #[serde(rename = "harmonet")]
    Harmonet(HarmonetConfig),
    Todd(ToddConfig),
    #[serde(rename = "bachprop")]
    BachProp(BachPropConfig),
    EckSchmidhuber(EckSchmidhuberConfig),
}

/// How pieces become model inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Encoding {
    /// Music Transformer's JSB setup: the 16th-note SATB grid, S A T B per step.
    SerializedSatb,
    /// Binary piano-roll frames of `pitches` pitches from `low`, one frame
    /// per `frame_quarters` quarter notes (for writing MIDI back).
    /// `transpose`: training crops moved by up to that many semitones
    /// either way (0, the default, none; see `FrameTask::transpose`).
    PianoRoll {
        low: u8,
        pitches: usize,
        frame_quarters: f64,
        #[serde(default, skip_serializing_if = "is_zero")]
        transpose: u8,
    },
    /// Coconet's input: each voice's pitch (MIDI 36..=81) per step, the
    /// 16th-note grid kept as is (`steps_per_quarter: 4`) or subsampled
    /// (2: eighths, 1: quarters, as the paper's coarser resolutions).
    CoconetRoll { steps_per_quarter: u32 },
    /// DeepBach's per-voice tokens (`fugue-tokens`' `deepbach`, 16ths) with
    /// fermata, tick and key metadata; windows of `seq_len` = 2·context + 1
    /// ticks. `corpus` is filled in from the training split when the run
    /// starts: what sampling may draw.
    #[serde(rename = "deepbach")]
    DeepBach { corpus: Option<DeepBachCorpus> },
    /// TonicNet's sequence: per 16th step the chord, then S, B, A, T;
    /// every in-range transposition of each training piece (`transpose:
    /// true`, as TonicNet trains), its chords' roots moved with it. `chords`
    /// names the labeler: `music21` (TonicNet's) in new recipes; a run
    /// written before the field existed used fugue's `template`.
    /// `data.seq_len` is the window in 16th steps; 0 trains on whole pieces,
    /// as TonicNet does.
    #[serde(rename = "tonicnet")]
    TonicNet {
        transpose: bool,
        #[serde(default = "template_chords")]
        chords: fugue_tokens::tonicnet::ChordLabels,
    },
    /// BachBot's token stream per chorale (`fugue-tokens`' `bachbot`, 16ths:
    /// `START`, per frame `(.)`, `(pitch, tie)` in S A T B order, `|||`,
    /// then `END`), read from SATB scores (`bach-chorales`). As BachBot,
    /// `standardize_key` transposes each chorale to C major / A minor and
    /// `four_four_only` keeps only chorales in 4/4 (both default true).
    #[serde(rename = "bachbot")]
    BachBot {
        #[serde(default = "yes")]
        standardize_key: bool,
        #[serde(default = "yes")]
        four_four_only: bool,
    },
    /// HARMONET's harmonic skeleton: per quarter beat of a 16th-note SATB
    /// grid, the harmony net's inputs and Bach's harmonic function
    /// (`fugue-tokens`' `harmonet`); `seq_len` is unused (a beat is an example).
    #[serde(rename = "harmonet")]
    Harmonet,
    /// Performance events (Performance RNN, Music Transformer's piano
    /// setup) of 30 s chunks of piano performances, the training chunks
    /// pre-expanded by time stretch and transposition (see
    /// [`crate::performance`]).
    Performance(PerformanceEncoding),
    /// Monophonic melody events on 16ths (`fugue-tokens`' `melody`:
    /// Magenta's Melody RNN encoding), one sequence per tune of a dataset
    /// of scores (`nottingham-abc`); see [`crate::melody`].
    Melody(fugue_tokens::melody::MelodyConfig),
    /// BachProp's notes (dT, T, P; `fugue-tokens`' `bachprop`), every part
    /// merged. `vocab` is filled in from the dataset when the run starts
    /// (see [`crate::bachprop`]).
    #[serde(rename = "bachprop")]
    BachProp {
        vocab: Option<fugue_tokens::bachprop::BachPropVocab>,
    },
    /// Eck & Schmidhuber's steps: chord pitch classes and a melody note
    /// per eighth, from tunes with chord symbols (`nottingham-abc`); see
    /// [`crate::eck`].
    ChordMelody(crate::eck::ChordMelodyEncoding),
}

/// The chord labeler of TonicNet runs recorded before `chords` existed.
fn template_chords() -> fugue_tokens::tonicnet::ChordLabels {
    fugue_tokens::tonicnet::ChordLabels::Template
}

/// serde's default for a flag that is on unless said otherwise.
fn yes() -> bool {
    true
}

/// What a DeepBach run learnt from its training split: each voice's pitch
/// range (DeepBach's per-voice vocabularies hold only the pitches a voice
/// sings; sampling keeps to it) and whether fermatas and keys ever appeared
/// (if not, their embeddings were never trained, and sampling feeds 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeepBachCorpus {
    pub voice_ranges: [[u8; 2]; 4],
    pub fermatas: bool,
    pub keys: bool,
}

/// The data a run trains on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// A dataset name (`jsb-16th`, `bach-chorales`, `jsb`, `nottingham`, `musedata`, `piano-midi`).
    pub name: String,
    pub encoding: Encoding,
    pub batch_size: usize,
    /// Tokens (frames) per training window.
    pub seq_len: usize,
    /// Validation batches per periodic evaluation (all at the end).
    pub eval_batches: Option<usize>,
}

/// Everything needed to rebuild, resume, evaluate and sample a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub model: ModelSpec,
    pub data: DataSpec,
    pub train: TrainConfig,
}

/// Model names `--model` accepts.
pub const MODEL_NAMES: &[&str] = &[
    "music-transformer",
    "vanilla-transformer",
    "lstm",
    "gru",
    "rnn-nade",
    "rnn-rbm",
    "coconet",
    "deepbach",
    "tonicnet",
    "harmonet",
    "todd",
    "bachprop",
    "eck-schmidhuber",
];

/// RNN-RBM's default updates, one 100-frame chunk each: the tutorial's 200
/// epochs over JSB's training split, which cuts into 243 chunks of at most
/// 100 frames (229 pieces, 14 of them longer than 100 frames). About 5 ms
/// an update on a busy CPU core.
const RNN_RBM_STEPS: u64 = 200 * 243;

/// The four Boulanger-Lewandowski benchmarks.
const BOULANGER: &[&str] = &["jsb", "nottingham", "musedata", "piano-midi"];

/// DeepBach's default updates: about half an hour on two busy CPU cores.
const DEEPBACH_STEPS: u64 = 12_000;

/// Updates per epoch of BachBot's recipe on `bach-chorales`. BachBot's
/// epoch is its concatenated training stream once, in batches of 50 ×
/// 128 tokens; the training split here holds 260 chorales in 4/4, 279,818
/// tokens (START to END, keys standardized; `fugue train` prints the
/// count), so an epoch is 279,818 / 6,400 ≈ 44 updates. It is counted from
/// the corpus, not at run time, so that the recipe on disk states its
/// schedule in updates; a test pins it to the data (`bachbot.rs`).
pub const BACHBOT_UPDATES_PER_EPOCH: u64 = 44;

/// BachBot trains 50 epochs (torch-rnn's `max_epochs`) and keeps the best
/// checkpoint.
const BACHBOT_EPOCHS: u64 = 50;

/// Performance RNN's updates by default: a first run, far short of
/// Magenta's training. Measured with `--steps 10` on `piano` (two CPU cores
/// shared with another training run): 7.5 s an update at the recipe's 64 ×
/// 512 events and 6.4 M weights, so about 2 hours; 1,000 updates are 33 M
/// events, about 3.8 passes over the 8.8 M augmented training events of
/// `piano`. `--resume --steps N` goes on from there.
const PERFORMANCE_RNN_STEPS: u64 = 1000;

/// The piano Music Transformer's updates by default: 4 s an update at 16 ×
/// 512 events (measured as Performance RNN's), about 2.2 hours; 2,000
/// updates are 16 M events, about 1.9 passes over `piano`'s augmented
/// training events.
const PIANO_TRANSFORMER_STEPS: u64 = 2000;

/// Melody RNN's updates by default: validation still fell at 3,000 and
/// 5,000 and was best at 7,500 (docs/RESULTS.md); 1 h 45 min on two cores
/// shared with other trainings.
const MELODY_STEPS: u64 = 8000;

/// Todd's updates by default: 27 minutes on one core shared with other
/// trainings (the network is two small matmuls a step).
const TODD_STEPS: u64 = 10_000;

/// Whether `--data` names piano performances: the `piano` set, or any
/// folder of MIDI files that is not a known dataset (a MAESTRO copy, with
/// its CSV, gets MAESTRO's split).
fn performance_data(data: &str) -> bool {
    data == "piano" || (fugue_data::Known::parse(data).is_none() && Path::new(data).is_dir())
}

/// The data root: `--data-root`, else `$FUGUE_DATA`, else `../shared/data`.
pub fn data_root(arg: Option<&Path>) -> PathBuf {
    fugue_data::resolve_root(arg, std::env::var_os("FUGUE_DATA").as_deref())
}

fn default_train(steps: u64, lr: f64, clip: f64) -> TrainConfig {
    TrainConfig {
        optimizer: OptimizerConfig::adam(),
        schedule: Schedule::Constant { lr },
        steps,
        accumulate: 1,
        clip_norm: Some(clip),
        eval_every: 200,
        patience: Some(5),
        checkpoint_every: 100,
        seed: 0,
    }
}

/// [`default_train`] with a warmup then cosine decay to 5 % of `lr` over
/// all `steps` (a fixed schedule keeps a resumed run exact).
fn cosine_train(steps: u64, lr: f64, warmup: u64, clip: f64) -> TrainConfig {
    let mut train = default_train(steps, lr, clip);
    train.schedule = Schedule::WarmupCosine {
        lr,
        warmup,
        total: steps,
        final_fraction: 0.05,
    };
    train
}

/// The default recipe for a model on a dataset (the papers' settings
/// where they exist, sized for a CPU where they do not).
pub fn default_recipe(model: &str, data: &str) -> Result<Recipe> {
    let boulanger = BOULANGER.contains(&data);
    let token_data = data == "jsb-16th";
    let vocab = serialized_satb::VOCAB_SIZE;
    let recipe = match model {
        // Performance RNN (Oore et al. 2018; Magenta's
        // `performance_with_dynamics`): 3 × 512 LSTM (6.4 M weights), no
        // dropout, an input embedding as wide as the vocabulary (Magenta
        // feeds one-hot vectors: the same function class), Adam at 1e-3
        // (constant), clip 3, batches of 64 windows of 512 events. The
        // events: its 388 plus a start token, 30 s chunks, training chunks
        // in 5 stretches × 7 transpositions
        // (`PerformanceEncoding::performance_rnn`). Evaluated every 100
        // updates on 4 batches, early stop after 5 without improvement.
        "lstm" | "gru" if performance_data(data) => {
            let encoding = PerformanceEncoding::performance_rnn();
            let config = LstmLmConfig {
                cell: if model == "gru" { Cell::Gru } else { Cell::Lstm },
                ..LstmLmConfig::performance_rnn(encoding.tokenizer()?.vocab().len())
            };
            let mut train = default_train(PERFORMANCE_RNN_STEPS, 1e-3, 3.0);
            train.eval_every = 100;
            train.checkpoint_every = 25;
            train.patience = Some(5);
            Recipe {
                model: ModelSpec::Lstm(config),
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::Performance(encoding),
                    batch_size: 64,
                    seq_len: 512,
                    eval_batches: Some(4),
                },
                train,
            }
        }
        // Music Transformer's piano setup on the same chunks, in
        // score2perf's vocabulary (310 ids: pitches 21..=108, PAD, EOS), at
        // CPU size: `MusicTransformerConfig::small` (d_model 128, 4 layers,
        // 4 heads, FFN 512, dropout 0.1; 1.1 M weights) with relative
        // embeddings for every distance of the 512-event window (the paper's
        // MAESTRO model is 8 × 384 on 2,048-event crops). AdamW at 1e-3
        // with warmup and cosine decay, clip 1, batches of 16 windows.
        "music-transformer" | "vanilla-transformer" if performance_data(data) => {
            let encoding = PerformanceEncoding::score2perf();
            let seq_len = 512;
            let mut config = MusicTransformerConfig::small(encoding.tokenizer()?.vocab().len());
            config.relative = model == "music-transformer";
            config.max_relative = seq_len;
            let mut train = cosine_train(PIANO_TRANSFORMER_STEPS, 1e-3, 200, 1.0);
            train.optimizer = OptimizerConfig::adamw(0.01);
            train.eval_every = 100;
            train.checkpoint_every = 50;
            Recipe {
                model: ModelSpec::MusicTransformer(config),
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::Performance(encoding),
                    batch_size: 16,
                    seq_len,
                    eval_batches: Some(16),
                },
                train,
            }
        }
        // BachBot: its LSTM (embedding 32, 3 × 256, dropout 0.3; without
        // its BatchNorm, see `LstmLmConfig::bachbot`) on its tokens, with
        // its training: Adam at 2e-3 halved every 5 epochs, clip 5, batches
        // of 50 windows of 128 tokens, 50 epochs, the best checkpoint kept
        // (evaluated once an epoch; patience 5 epochs stops a run that
        // stopped improving, which BachBot did not do).
        "lstm" | "gru" if data == "bach-chorales" => {
            let config = LstmLmConfig {
                cell: if model == "gru" { Cell::Gru } else { Cell::Lstm },
                ..LstmLmConfig::bachbot(fugue_tokens::bachbot::VOCAB_SIZE)
            };
            let epoch = BACHBOT_UPDATES_PER_EPOCH;
            let mut train = default_train(BACHBOT_EPOCHS * epoch, 2e-3, 5.0);
            train.schedule = Schedule::Step {
                lr: 2e-3,
                every: 5 * epoch,
                factor: 0.5,
            };
            train.eval_every = epoch;
            Recipe {
                model: ModelSpec::Lstm(config),
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::BachBot {
                        standardize_key: true,
                        four_four_only: true,
                    },
                    batch_size: 50,
                    seq_len: 128,
                    eval_batches: None,
                },
                train,
            }
        }
        "music-transformer" | "vanilla-transformer" if token_data => {
            let mut config = MusicTransformerConfig::small(vocab);
            config.relative = model == "music-transformer";
            let mut train = cosine_train(3000, 1e-3, 200, 1.0);
            train.optimizer = OptimizerConfig::adamw(0.01);
            Recipe {
                model: ModelSpec::MusicTransformer(config),
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::SerializedSatb,
                    batch_size: 16,
                    seq_len: 256,
                    eval_batches: Some(8),
                },
                train,
            }
        }
        // Magenta's Melody RNN, `basic_rnn` (2 × 128 LSTM, dropout 0.5, a
        // one-hot-wide input, Adam at 1e-3, clip 5), on the Nottingham
        // tunes' melodies as its events (C major, 48..84). Magenta trains
        // batches of 128 whole melodies of up to 512 steps; fugue draws
        // 64 windows of 256 steps (four bars of 4/4 is 64), evaluates
        // whole tunes, and keeps the best of 8,000 updates.
        "lstm" | "gru" if data == "nottingham-abc" => {
            let encoding = fugue_tokens::melody::MelodyConfig::default();
            let vocab = fugue_tokens::melody::Melody::new(encoding.clone())?.vocab().len();
            let config = LstmLmConfig {
                cell: if model == "gru" { Cell::Gru } else { Cell::Lstm },
                ..LstmLmConfig::melody_rnn(vocab)
            };
            let mut train = default_train(MELODY_STEPS, 1e-3, 5.0);
            train.eval_every = 250;
            train.checkpoint_every = 250;
            train.patience = Some(4);
            Recipe {
                model: ModelSpec::Lstm(config),
                data: melody_data(data, encoding),
                train,
            }
        }
        // Todd's 1989 network (decaying context of the melody so far, one
        // logistic hidden layer of 128, decay 0.5; `fugue_models::todd`) on
        // the same events. Todd trained by plain backpropagation; fugue
        // uses Adam at 3e-3 with warmup and cosine decay over 10,000
        // updates, clip 5 (validation still fell slowly at the end). Decay
        // 0.5 validated best of 0.3, 0.5, 0.7, 0.9 (docs/RESULTS.md).
        "todd" if data == "nottingham-abc" => {
            let encoding = fugue_tokens::melody::MelodyConfig::default();
            let vocab = fugue_tokens::melody::Melody::new(encoding.clone())?.vocab().len();
            let mut train = cosine_train(TODD_STEPS, 3e-3, 100, 5.0);
            train.eval_every = 500;
            train.checkpoint_every = 500;
            train.patience = None;
            Recipe {
                model: ModelSpec::Todd(ToddConfig::melody(vocab)),
                data: melody_data(data, encoding),
                train,
            }
        }
        // BachProp's network (four GRUs of 128, three heads) and training:
        // Adam at 1e-3, loss weights 0.1 / 0.3 / 0.6, batches of 32 windows
        // of 128 notes, each transposed at random within the pitch range,
        // the best validation checkpoint kept (BachProp: up to 500 epochs
        // with the best kept; here 6,000 updates, about 370 passes over
        // `bach-chorales`' 66,000 training notes, with an early stop). No gradient
        // clipping in BachProp; clip 5 here guards the first updates. The
        // vocabulary sizes are the data's, filled in when the run starts.
        "bachprop" if matches!(data, "bach-chorales" | "jsb-16th" | "nottingham-abc" | "js-fakes") => {
            let mut train = default_train(6000, 1e-3, 5.0);
            train.eval_every = 250;
            train.checkpoint_every = 250;
            train.patience = Some(6);
            Recipe {
                model: ModelSpec::BachProp(BachPropConfig::paper([0, 0, 0])),
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::BachProp { vocab: None },
                    batch_size: 32,
                    seq_len: 128,
                    eval_batches: None,
                },
                train,
            }
        }
        // Eck & Schmidhuber's LSTM (16 cells, logistic outputs; see
        // `fugue_models::eck_schmidhuber`) on the Nottingham tunes' chords
        // and melodies per eighth (their blues set is not public). The
        // papers trained by gradient descent with momentum; fugue uses Adam
        // at 3e-3, clip 5, batches of 32 windows of 96 steps (one 12-bar
        // chorus of their blues), the best of 20,000 updates (4 minutes on
        // two busy cores; validation still fell slowly at the end).
        "eck-schmidhuber" if data == "nottingham-abc" => {
            let encoding = crate::eck::ChordMelodyEncoding::eck();
            let mut train = default_train(20_000, 3e-3, 5.0);
            train.eval_every = 1000;
            train.checkpoint_every = 1000;
            train.patience = Some(6);
            Recipe {
                model: ModelSpec::EckSchmidhuber(EckSchmidhuberConfig {
                    melody_units: encoding.melody_units,
                    ..EckSchmidhuberConfig::paper()
                }),
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::ChordMelody(encoding),
                    batch_size: 32,
                    seq_len: 96,
                    eval_batches: None,
                },
                train,
            }
        }
        // A token LSTM/GRU language model on the serialized SATB tokens, at
        // BachBot's size (3 × 256). Not BachBot or Performance RNN
        // themselves (their arms read `bach-chorales`, piano performances
        // and `nottingham-abc`).
        "lstm" | "gru" if token_data => {
            let config = LstmLmConfig {
                cell: if model == "gru" { Cell::Gru } else { Cell::Lstm },
                ..LstmLmConfig::bachbot(vocab)
            };
            Recipe {
                model: ModelSpec::Lstm(config),
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::SerializedSatb,
                    batch_size: 32,
                    seq_len: 128,
                    eval_batches: Some(8),
                },
                train: default_train(3000, 2e-3, 5.0),
            }
        }
        // Coconet at CPU size (12 layers × 48 filters; `CoconetConfig::paper`
        // is 64 × 128), batches of 10 crops (the paper: 20) of 64 steps.
        // Adam at 2e-3 with warmup and cosine decay instead of Magenta's
        // 2^-4 halved on plateaus: a fixed schedule keeps resume exact.
        "coconet" if token_data => {
            let mut train = cosine_train(3000, 2e-3, 200, 5.0);
            train.eval_every = 250;
            train.patience = Some(6);
            Recipe {
                model: ModelSpec::Coconet(CoconetConfig::small()),
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::CoconetRoll { steps_per_quarter: 4 },
                    batch_size: 10,
                    seq_len: 64,
                    eval_batches: Some(10),
                },
                train,
            }
        }
        // TonicNet_Z at the paper's size (3 × 256 GRU). TonicNet trains on
        // whole pieces with SGD and a one-cycle schedule for 60 epochs (hours
        // on a GPU); fugue trains batches of 32-step windows with Adam and
        // warmup + cosine, a budget that fits a CPU session.
        "tonicnet" if token_data => {
            let mut train = cosine_train(8000, 2e-3, 100, 5.0);
            train.eval_every = 250;
            train.patience = Some(6);
            Recipe {
                model: ModelSpec::TonicNet(TonicNetConfig::paper(fugue_tokens::tonicnet::VOCAB_SIZE)),
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::TonicNet {
                        transpose: true,
                        chords: fugue_tokens::tonicnet::ChordLabels::Music21,
                    },
                    batch_size: 16,
                    seq_len: 32,
                    eval_batches: None,
                },
                train,
            }
        }
        // DeepBach at CPU size (`DeepBachConfig::small`: two LSTM layers of
        // 128 per side; `paper()` is the reference's 2 × 256), Adam at 1e-3
        // as the reference, batches of 64 windows (the reference: 256) of
        // 2·16 + 1 ticks. The reference trains 5 epochs over every window in
        // every transposition; fugue's budget is a fraction of that.
        // On `bach-chorales` (music21's MusicXML) the same recipe, and the
        // fermata and key metadata are real: the JSB set has neither.
        "deepbach" if token_data || data == "bach-chorales" => {
            let mut train = default_train(DEEPBACH_STEPS, 1e-3, 5.0);
            train.eval_every = 500;
            train.patience = Some(6);
            train.checkpoint_every = 250;
            let config = DeepBachConfig::small();
            Recipe {
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::DeepBach { corpus: None },
                    batch_size: 64,
                    seq_len: config.window(),
                    eval_batches: Some(16),
                },
                model: ModelSpec::DeepBach(config),
                train,
            }
        }
        // HARMONET's harmony net (`HarmonetConfig::standard`: 128 tanh
        // units) on every quarter beat of the training chorales, batches of
        // 64 beats, Adam at 3e-4 (the paper trained by plain backprop; its
        // settings are not known), the best validation checkpoint kept
        // (early stop after 6 evaluations without improvement: about
        // 10,000 updates, 20 s on a CPU core). About 14,000 training
        // beats: an epoch is ~220 updates. Wider nets (256, 512 units) and
        // Adam at 1e-3 validated slightly worse.
        "harmonet" if token_data => {
            let mut train = default_train(20_000, 3e-4, 5.0);
            train.eval_every = 250;
            train.patience = Some(6);
            train.checkpoint_every = 250;
            Recipe {
                model: ModelSpec::Harmonet(HarmonetConfig::standard(
                    fugue_tokens::harmonet::FEATURES,
                    fugue_tokens::harmonet::LABELS,
                )),
                data: DataSpec {
                    name: data.into(),
                    encoding: Encoding::Harmonet,
                    batch_size: 64,
                    seq_len: 1,
                    eval_batches: None,
                },
                train,
            }
        }
        // RNN-NADE: Magenta's network (LSTM 3 × 128, NADE 128, dropout
        // 0.5, batches of 16 crops of 100 frames, clip 5) and Magenta's
        // transposition of each training crop by up to ±4 semitones. The
        // sets are small (JSB's training split is 13,807 frames) and overfit
        // within ~1,500 updates untransposed; transposed, JSB's validation
        // NLL keeps falling to ~10,000 updates and ends 0.67 nats/frame
        // lower (docs/RESULTS.md, "Transposed training crops"). Adam at 3e-3 until validation
        // levels off, then 3e-4; the updates per set are the measured runs'
        // (the `best` checkpoint is kept, so no early stop).
        "rnn-nade" if boulanger => {
            let (steps, drop_at) = nade_schedule(data);
            let mut train = default_train(steps, 3e-3, 5.0);
            train.schedule = Schedule::Step {
                lr: 3e-3,
                every: drop_at,
                factor: 0.1,
            };
            train.eval_every = 500;
            train.checkpoint_every = 250;
            train.patience = None;
            Recipe {
                model: ModelSpec::RnnNade(RnnNadeConfig::magenta(88)),
                data: boulanger_rolls(data, 16, None, NADE_TRANSPOSE),
                train,
            }
        }
        // RNN-RBM as Boulanger-Lewandowski's tutorial trains it: 150 hidden
        // units, 100 recurrent, CD-15, plain SGD at 1e-3 (no momentum, no
        // clipping) on one chunk of 100 frames per update (the tutorial
        // walks each piece's consecutive chunks; fugue draws random 100-frame
        // crops, the same distribution of chunks without a data cursor).
        // Pieces are drawn in proportion to their length rather than chunk
        // by chunk. The tutorial's 200 epochs ([`RNN_RBM_STEPS`], counted on
        // JSB) are the default for every set. Validation every ~33 epochs is
        // an AIS estimate of the NLL on the 16 shortest validation pieces
        // (AIS over a full split takes minutes); the training
        // loss logged is the CD cost, not a likelihood.
        "rnn-rbm" if boulanger => {
            let mut train = default_train(RNN_RBM_STEPS, 1e-3, 1.0);
            train.optimizer = OptimizerConfig::Sgd {
                momentum: 0.0,
                weight_decay: 0.0,
            };
            train.clip_norm = None;
            train.eval_every = 8100;
            train.checkpoint_every = 1000;
            train.patience = None;
            Recipe {
                model: ModelSpec::RnnRbm(RnnRbmConfig::tutorial(88)),
                // One piece per evaluation batch (batch size 1).
                data: boulanger_rolls(data, 1, Some(16), 0),
                train,
            }
        }
        m if !MODEL_NAMES.contains(&m) => bail!("unknown model `{m}` (known: {})", MODEL_NAMES.join(", ")),
        m => bail!(
            "model `{m}` does not train on `{data}`: token models, coconet, deepbach, tonicnet and harmonet read `jsb-16th`, lstm and gru (BachBot) and deepbach also `bach-chorales`, token models also `piano` or a MIDI folder (performance events), lstm, gru (Melody RNN), todd and eck-schmidhuber read `nottingham-abc`, bachprop reads bach-chorales, jsb-16th, nottingham-abc and js-fakes, rnn-nade and rnn-rbm read {}",
            BOULANGER.join(", ")
        ),
    };
    Ok(recipe)
}

/// A set of tunes as melody-event windows: batches of 64 windows of 256
/// events, 16 validation batches between checks (all at the end).
fn melody_data(data: &str, encoding: fugue_tokens::melody::MelodyConfig) -> DataSpec {
    DataSpec {
        name: data.into(),
        encoding: Encoding::Melody(encoding),
        batch_size: 64,
        seq_len: 256,
        eval_batches: Some(16),
    }
}

/// RNN-NADE's training transposition, Magenta's `range(-4, 5)`.
const NADE_TRANSPOSE: u8 = 4;

/// RNN-NADE's updates in all and the update at which Adam's rate drops
/// tenfold, per Boulanger-Lewandowski set: about where validation levelled
/// off at the constant rate in the measured runs (docs/RESULTS.md; the two
/// larger sets, MuseData and Nottingham, share one schedule).
fn nade_schedule(data: &str) -> (u64, u64) {
    match data {
        "jsb" => (13_000, 10_000),
        "piano-midi" => (12_000, 9_000),
        _ => (20_000, 15_000),
    }
}

/// A Boulanger-Lewandowski set as 88-key piano-roll windows of 100
/// frames: quarter-note frames for JSB, eighths for the others (the
/// release's own resolutions), training crops transposed by up to
/// `transpose` semitones.
fn boulanger_rolls(data: &str, batch_size: usize, eval_batches: Option<usize>, transpose: u8) -> DataSpec {
    DataSpec {
        name: data.into(),
        encoding: Encoding::PianoRoll {
            low: 21,
            pitches: 88,
            frame_quarters: if data == "jsb" { 1.0 } else { 0.5 },
            transpose,
        },
        batch_size,
        seq_len: 100,
        eval_batches,
    }
}

fn is_zero(x: &u8) -> bool {
    *x == 0
}

/// Merges `patch` into `base` (objects key by key; anything else replaces).
/// An object whose `kind` changes (a schedule, an optimizer, an encoding)
/// is replaced whole: the old kind's fields mean nothing to the new one.
pub fn merge_json(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p))
            if p.get("kind").is_some_and(|k| b.get("kind") != Some(k)) =>
        {
            *b = p;
        }
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge_json(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// A trained or untrained model of any family.
pub enum AnyModel {
    Transformer(MusicTransformer),
    Lstm(LstmLm),
    Nade(RnnNade),
    Rbm(RnnRbm),
    Coconet(Coconet),
    DeepBach(DeepBach),
    TonicNet(TonicNet),
    Harmonet(Harmonet),
    Todd(Todd),
    /// Boxed, as the next: burn's recurrent layers hold their gates inline,
    /// which makes these two the largest variants by far.
    BachProp(Box<BachProp>),
    EckSchmidhuber(Box<EckSchmidhuber>),
}

impl ModelSpec {
    pub fn build(&self, device: &Device) -> Result<AnyModel> {
        Ok(match self {
            ModelSpec::MusicTransformer(c) => AnyModel::Transformer(c.init(device)?),
            ModelSpec::Lstm(c) => AnyModel::Lstm(c.init(device)?),
            ModelSpec::RnnNade(c) => AnyModel::Nade(c.init(device)?),
            ModelSpec::RnnRbm(c) => AnyModel::Rbm(c.init(device)?),
            ModelSpec::Coconet(c) => AnyModel::Coconet(c.init(device)?),
            ModelSpec::DeepBach(c) => AnyModel::DeepBach(c.init(device)?),
            ModelSpec::TonicNet(c) => AnyModel::TonicNet(c.init(device)?),
            ModelSpec::Harmonet(c) => AnyModel::Harmonet(c.init(device)?),
            ModelSpec::Todd(c) => AnyModel::Todd(c.init(device)?),
            ModelSpec::BachProp(c) => AnyModel::BachProp(Box::new(c.init(device)?)),
            ModelSpec::EckSchmidhuber(c) => AnyModel::EckSchmidhuber(Box::new(c.init(device)?)),
        })
    }
}

/// The loaded data, shaped for the model family.
pub enum AnyTask {
    Tokens(TokenTask),
    Frames(FrameTask),
    Coconet(CoconetTask),
    DeepBach(DeepBachTask),
    TonicNet(TonicNetTask),
    Harmonet(HarmonetTask),
    BachProp(fugue_train::BachPropTask, fugue_tokens::bachprop::BachPropVocab),
}

/// The pieces of one split as the model family reads them.
fn split_pieces(dataset: &Dataset, split: Split) -> impl Iterator<Item = &Content> {
    dataset.split(split).map(|p| &p.content)
}

impl DataSpec {
    /// Loads the splits through `fugue-data` from `root`.
    pub fn load(&self, root: &Path) -> Result<AnyTask> {
        let what = DatasetRef::parse(&self.name)?;
        let dataset = fugue_data::load(&what, root, &LoadOptions::default())?;
        for w in &dataset.warnings {
            eprintln!("warning: {}: {}", w.path, w.message);
        }
        match &self.encoding {
            Encoding::Performance(enc) => Ok(AnyTask::Tokens(crate::performance::load_task(
                &dataset,
                enc,
                self.batch_size,
                self.seq_len,
            )?)),
            Encoding::ChordMelody(enc) => Ok(AnyTask::Frames(crate::eck::load_task(
                &dataset,
                enc,
                self.batch_size,
                self.seq_len,
            )?)),
            Encoding::BachProp { vocab } => {
                let (task, vocab) =
                    crate::bachprop::load_task(&dataset, vocab.as_ref(), self.batch_size, self.seq_len)?;
                Ok(AnyTask::BachProp(task, vocab))
            }
            Encoding::Melody(config) => Ok(AnyTask::Tokens(crate::melody::load_task(
                &dataset,
                config,
                self.batch_size,
                self.seq_len,
            )?)),
            Encoding::BachBot {
                standardize_key,
                four_four_only,
            } => Ok(AnyTask::Tokens(crate::bachbot::load_task(
                &dataset,
                *standardize_key,
                *four_four_only,
                self.batch_size,
                self.seq_len,
            )?)),
            Encoding::SerializedSatb => {
                if !self.seq_len.is_multiple_of(4) {
                    bail!(
                        "data.seq_len {}: serialized SATB windows must hold whole steps (a multiple of 4 tokens)",
                        self.seq_len
                    );
                }
                let encode = |split| -> Result<Vec<Vec<u32>>> {
                    split_pieces(&dataset, split)
                        .map(|c| match c {
                            Content::Grid(g) => Ok(serialized_satb::encode(g)?),
                            _ => bail!("dataset `{}` is not a set of SATB grids", self.name),
                        })
                        .collect()
                };
                Ok(AnyTask::Tokens(
                    TokenTask::new(
                        encode(Split::Train)?,
                        encode(Split::Valid)?,
                        encode(Split::Test)?,
                        serialized_satb::START,
                        serialized_satb::PAD,
                        self.batch_size,
                        self.seq_len,
                    )
                    .with_frame(4),
                ))
            }
            Encoding::Harmonet => Ok(AnyTask::Harmonet(crate::harmonet::load_task(
                &dataset,
                &self.name,
                self.batch_size,
            )?)),
            Encoding::CoconetRoll { steps_per_quarter } => {
                let every = coconet_stride(*steps_per_quarter)?;
                let cells = |split| -> Result<Vec<fugue_train::orderless::Cells>> {
                    split_pieces(&dataset, split)
                        .map(|c| match c {
                            Content::Grid(g) => grid_cells(&g.steps, every),
                            _ => bail!("dataset `{}` is not a set of SATB grids", self.name),
                        })
                        .collect()
                };
                Ok(AnyTask::Coconet(CoconetTask::new(
                    cells(Split::Train)?,
                    cells(Split::Valid)?,
                    cells(Split::Test)?,
                    fugue_tokens::coconet::PITCHES,
                    self.batch_size,
                    self.seq_len,
                )))
            }
            Encoding::TonicNet { transpose, chords } => {
                let tn = tonicnet_tokenizer(*chords)?;
                let grids = |split| -> Result<Vec<fugue_tokens::chorale::SatbGrid>> {
                    split_pieces(&dataset, split)
                        .map(|c| match c {
                            Content::Grid(g) => {
                                let mut g = g.clone();
                                fugue_tokens::tonicnet::drop_out_of_range(&mut g);
                                Ok(g)
                            }
                            _ => bail!("dataset `{}` is not a set of SATB grids", self.name),
                        })
                        .collect()
                };
                let train = grids(Split::Train)?
                    .iter()
                    .map(|g| {
                        let (lo, hi) = if *transpose {
                            fugue_tokens::tonicnet::transposition_range(g)
                        } else {
                            (0, 0)
                        };
                        // As TonicNet: the piece's chords are labelled once and
                        // their roots move with each transposition.
                        let labels = tn.chords(g);
                        // The untransposed piece first: it is the one scored.
                        std::iter::once(0)
                            .chain((lo..=hi).filter(|&s| s != 0))
                            .map(|shift| {
                                let mut t = g.clone();
                                t.transpose(shift)?;
                                let moved: Vec<u8> = labels
                                    .iter()
                                    .map(|&c| fugue_tokens::tonicnet::shift_chord(c, shift))
                                    .collect();
                                tonicnet_seq(&tn, &t, Some(&moved))
                            })
                            .collect::<Result<Vec<_>>>()
                    })
                    .collect::<Result<Vec<_>>>()?;
                let plain = |split| -> Result<Vec<TonicSeq>> {
                    grids(split)?.iter().map(|g| tonicnet_seq(&tn, g, None)).collect()
                };
                Ok(AnyTask::TonicNet(TonicNetTask::new(
                    train,
                    plain(Split::Valid)?,
                    plain(Split::Test)?,
                    self.batch_size,
                    self.seq_len,
                )))
            }
            Encoding::DeepBach { .. } => deepbach_task(&dataset, self.seq_len, self.batch_size),
            Encoding::PianoRoll {
                low,
                pitches,
                transpose,
                ..
            } => {
                let frames = |split| -> Result<Vec<Vec<Vec<u16>>>> {
                    split_pieces(&dataset, split)
                        .map(|c| match c {
                            Content::Roll(r) => Ok(r
                                .frames
                                .iter()
                                .map(|f| {
                                    f.iter()
                                        .filter(|&&p| p >= *low && ((p - low) as usize) < *pitches)
                                        .map(|&p| (p - low) as u16)
                                        .collect()
                                })
                                .collect()),
                            _ => bail!("dataset `{}` is not a set of piano-rolls", self.name),
                        })
                        .collect()
                };
                Ok(AnyTask::Frames(
                    FrameTask::new(
                        frames(Split::Train)?,
                        frames(Split::Valid)?,
                        frames(Split::Test)?,
                        *pitches,
                        self.batch_size,
                        self.seq_len,
                    )
                    .with_transpose(*transpose),
                ))
            }
        }
    }
}

/// Prints what a dataset became: `NAME as WHAT: a/b/c PIECES, d/e/f
/// UNITS (train/valid/test)` and `extra`, from each split's pieces; an
/// error naming the dataset when the training split is empty.
pub fn report_splits<T>(
    name: &str,
    what: &str,
    pieces: &str,
    units: &str,
    splits: [&[Vec<T>]; 3],
    extra: &str,
) -> Result<()> {
    let [a, b, c] = splits.map(<[Vec<T>]>::len);
    let [d, e, f] = splits.map(|s| s.iter().map(Vec::len).sum::<usize>());
    eprintln!("{name} as {what}: {a}/{b}/{c} {pieces}, {d}/{e}/{f} {units} (train/valid/test){extra}");
    if a == 0 {
        bail!("{name}: no {pieces} to train on as {what}");
    }
    Ok(())
}

/// A token task's ids must fit the model's vocabulary: a recipe whose
/// encoding `--config` changed without the model's `vocab_size` would
/// otherwise index past the embedding. Likewise a frame model's units must
/// be the data's (Eck & Schmidhuber's chord and melody units against the
/// encoding's).
pub fn check_vocab(model: &ModelSpec, task: &AnyTask) -> Result<()> {
    if let (ModelSpec::EckSchmidhuber(c), AnyTask::Frames(t)) = (model, task) {
        if c.units() != t.pitches {
            bail!(
                "eck-schmidhuber: the network has {} units (model.config chord_units + melody_units) but the data {}",
                c.units(),
                t.pitches
            );
        }
    }
    let vocab = match model {
        ModelSpec::MusicTransformer(c) => c.vocab_size,
        ModelSpec::Lstm(c) => c.vocab_size,
        ModelSpec::Todd(c) => c.vocab_size,
        _ => return Ok(()),
    };
    let AnyTask::Tokens(t) = task else {
        return Ok(());
    };
    let ids = t.train.iter().chain(&t.valid).chain(&t.test).flatten();
    if let Some(max) = ids.copied().chain([t.bos, t.pad]).max() {
        if max as usize >= vocab {
            bail!(
                "the data has token id {max} but model.config.vocab_size is {vocab}: set it to at least {}",
                max + 1
            );
        }
    }
    Ok(())
}

/// The TonicNet tokenizer of a run's chord labeler.
pub fn tonicnet_tokenizer(chords: fugue_tokens::tonicnet::ChordLabels) -> Result<fugue_tokens::tonicnet::TonicNet> {
    Ok(fugue_tokens::tonicnet::TonicNet::new(
        fugue_tokens::tonicnet::TonicNetConfig {
            chords,
            ..Default::default()
        },
    )?)
}

/// TonicNet ids of a grid (the given chord classes, or the tokenizer's
/// labeler's) and their Z counts.
pub fn tonicnet_seq(
    tn: &fugue_tokens::tonicnet::TonicNet,
    g: &fugue_tokens::chorale::SatbGrid,
    chords: Option<&[u8]>,
) -> Result<TonicSeq> {
    let ids = tn.grid_tokens(g, chords)?.ids;
    let z = fugue_models::tonicnet::z_of(&ids, fugue_tokens::tonicnet::Z_MOD as usize);
    Ok(TonicSeq { ids, z })
}

/// Turns generated ids back into a score (token encodings only).
pub fn tokens_to_score(encoding: &Encoding, ids: &[u32]) -> Result<Score<Tick>> {
    match encoding {
        Encoding::SerializedSatb => Ok(serialized_satb::decode(ids, 4).to_score()),
        Encoding::TonicNet { .. } => {
            let tn = fugue_tokens::tonicnet::TonicNet::new(Default::default())?;
            let tokens = tn.vocab().decode(ids)?;
            Ok(tn.decode_grid(&tokens)?.to_score())
        }
        Encoding::BachBot { .. } => crate::bachbot::decode(ids),
        Encoding::Melody(config) => crate::melody::decode(config, ids),
        Encoding::Performance(enc) => crate::performance::decode(enc, ids),
        Encoding::PianoRoll { .. }
        | Encoding::CoconetRoll { .. }
        | Encoding::DeepBach { .. }
        | Encoding::Harmonet
        | Encoding::BachProp { .. }
        | Encoding::ChordMelody(_) => {
            bail!("a piano-roll model does not produce tokens")
        }
    }
}

/// DeepBach's task over a dataset of SATB grids (`jsb-16th`) or scores
/// (`bach-chorales`: read onto 16ths with their fermatas and keys); windows
/// of `seq_len` = 2·context + 1 ticks.
fn deepbach_task(dataset: &Dataset, seq_len: usize, batch_size: usize) -> Result<AnyTask> {
    if seq_len < 3 || seq_len.is_multiple_of(2) {
        bail!("deepbach: seq_len {seq_len} must be an odd window of 2·context + 1 ticks");
    }
    let mut not_satb = Vec::new();
    let mut pieces = |split| -> Result<Vec<DeepBachPiece>> {
        let mut out = Vec::new();
        for piece in dataset.split(split) {
            let Some(grid) = piece_grid(dataset, piece)? else {
                not_satb.push(piece.id.clone());
                continue;
            };
            out.push(deepbach_piece(&grid).with_context(|| format!("{}: {}", dataset.name, piece.id))?);
        }
        Ok(out)
    };
    let (train, valid, test) = (pieces(Split::Train)?, pieces(Split::Valid)?, pieces(Split::Test)?);
    if let Some(first) = not_satb.first() {
        eprintln!(
            "{}: {} pieces are not four-voice chorales and are left out (first: {first})",
            dataset.name,
            not_satb.len(),
        );
    }
    if train.is_empty() {
        bail!("{}: no four-voice chorale to train DeepBach on", dataset.name);
    }
    Ok(AnyTask::DeepBach(DeepBachTask::new(
        train,
        valid,
        test,
        deepbach_layout()?,
        seq_len / 2,
        batch_size,
    )?))
}

/// A dataset piece as a four-voice grid on 16ths: the grid itself
/// (`jsb-16th`), or a score read onto 16ths with its fermatas and key
/// (`bach-chorales`). `None` for a score that is not four S, A, T, B parts
/// (an instrumental line, five voices): callers count those and go on.
/// A grid piece is borrowed, not copied.
pub fn piece_grid<'a>(
    dataset: &Dataset,
    piece: &'a fugue_data::Piece,
) -> Result<Option<Cow<'a, fugue_tokens::chorale::SatbGrid>>> {
    if let Content::Grid(g) = &piece.content {
        return Ok(Some(Cow::Borrowed(g)));
    }
    let score = piece
        .score()
        .with_context(|| format!("{}: {}", dataset.name, piece.id))?;
    Ok(fugue_tokens::chorale::SatbGrid::from_score(&score, 4)
        .ok()
        .map(|(g, _)| Cow::Owned(g)))
}

/// fugue's DeepBach vocabulary as ids, checked against `fugue-tokens`.
pub fn deepbach_layout() -> Result<TokenLayout> {
    use fugue_tokens::Token;
    let db = fugue_tokens::deepbach::DeepBach::new(0)?;
    let id = |t: Token| db.vocab().id(&t);
    let layout = TokenLayout::FUGUE;
    let expected = [
        (Token::Start, layout.start),
        (Token::End, layout.end),
        (Token::Hold, layout.hold),
        (Token::Rest, layout.rest),
        (Token::VoicePitch(0), layout.pitch_base),
        (Token::VoicePitch(127), layout.pitch_base + 127),
    ];
    if expected.iter().any(|(t, i)| id(*t) != Some(*i)) || db.vocab().len() != layout.size() {
        bail!("fugue-tokens' DeepBach vocabulary no longer matches the model's token layout");
    }
    Ok(layout)
}

/// A 16th-note grid as DeepBach's ids and metadata, without padding.
pub fn deepbach_piece(g: &fugue_tokens::chorale::SatbGrid) -> Result<DeepBachPiece> {
    if g.steps_per_quarter != 4 {
        bail!(
            "DeepBach reads 16th notes (4 steps per quarter), not {}",
            g.steps_per_quarter
        );
    }
    let db = fugue_tokens::deepbach::DeepBach::new(0)?;
    let seqs = db.encode(g)?;
    Ok(DeepBachPiece {
        voices: db.ids(&seqs)?,
        fermata: seqs.fermata,
        tick: seqs.tick,
        key: seqs.key,
    })
}

/// What a DeepBach run records of its training split (`None` for other tasks).
pub fn deepbach_corpus(task: &AnyTask) -> Option<DeepBachCorpus> {
    let AnyTask::DeepBach(t) = task else {
        return None;
    };
    Some(DeepBachCorpus {
        voice_ranges: t.ranges.map(|(lo, hi)| [lo, hi]),
        fermatas: t.train.iter().any(|p| p.fermata.contains(&1)),
        keys: t.train.iter().any(|p| p.key.iter().any(|&k| k != 0)),
    })
}

/// Every how many 16th steps a Coconet encoding samples the grid.
pub fn coconet_stride(steps_per_quarter: u32) -> Result<usize> {
    match steps_per_quarter {
        4 => Ok(1),
        2 => Ok(2),
        1 => Ok(4),
        n => bail!("coconet steps_per_quarter {n}: the 16th-note data gives 4, 2 or 1"),
    }
}

/// SATB MIDI pitches (every `every`-th step) as Coconet's pitch indices;
/// a pitch outside 36..=81 is an error naming its step and voice.
pub fn grid_cells(steps: &[[Option<u8>; 4]], every: usize) -> Result<fugue_train::orderless::Cells> {
    use fugue_tokens::coconet::{HIGHEST_PITCH, LOWEST_PITCH};
    steps
        .iter()
        .enumerate()
        .step_by(every.max(1))
        .map(|(t, cell)| {
            let mut out = [None; 4];
            for (v, p) in cell.iter().enumerate() {
                if let Some(p) = *p {
                    if !(LOWEST_PITCH..=HIGHEST_PITCH).contains(&p) {
                        bail!(
                            "step {t}, {}: pitch {p} is outside Coconet's range {LOWEST_PITCH}..={HIGHEST_PITCH}",
                            fugue_tokens::chorale::VOICE_NAMES[v]
                        );
                    }
                    out[v] = Some(p - LOWEST_PITCH);
                }
            }
            Ok(out)
        })
        .collect()
}

/// Piano-roll frames (pitch indices) back into a one-track score; a pitch
/// active on consecutive frames is one held note (the rolls do not mark
/// re-articulation).
pub fn frames_to_score(frames: &[Vec<usize>], low: u8, frame_quarters: f64, name: &str) -> Score<Tick> {
    let tpq = 480u16;
    let step = (frame_quarters * tpq as f64).round() as i64;
    let mut score = Score::new(tpq);
    let mut track = fugue_score::Track::new(name, 0, 0);
    let mut open: std::collections::BTreeMap<usize, i64> = std::collections::BTreeMap::new();
    for (t, frame) in frames.iter().chain(std::iter::once(&Vec::new())).enumerate() {
        let now = t as i64 * step;
        let ended: Vec<usize> = open.keys().copied().filter(|p| !frame.contains(p)).collect();
        for p in ended {
            if let Some(start) = open.remove(&p) {
                track
                    .notes
                    .push(fugue_score::Note::new(start, now - start, low + p as u8, 90));
            }
        }
        for &p in frame {
            open.entry(p).or_insert(now);
        }
    }
    track.notes.sort_by_key(|n| (n.time, n.pitch));
    score.tracks.push(track);
    score
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `bach-chorales`-like scores: the fermata and key reach DeepBach's
    /// metadata, and a piece that is not four voices is left out.
    #[test]
    fn deepbach_reads_scores_with_their_fermatas_and_keys() {
        use crate::fixtures::{chorale, dataset};
        let mut trio = chorale();
        trio.tracks.pop();
        let ds = dataset(vec![
            (Split::Train, chorale()),
            (Split::Train, trio.clone()),
            (Split::Valid, chorale()),
        ]);
        let task = deepbach_task(&ds, 5, 2).unwrap_or_else(|e| panic!("{e:#}"));
        let AnyTask::DeepBach(t) = &task else {
            panic!("not a DeepBach task")
        };
        assert_eq!(
            (t.train.len(), t.valid.len(), t.test.len()),
            (1, 1, 0),
            "the trio is left out"
        );
        // Four quarters on 16ths; the fermata over the last half note.
        let piece = &t.train[0];
        assert_eq!(piece.fermata.len(), 16);
        assert!(piece.fermata[8..].iter().all(|&f| f == 1) && piece.fermata[..8].iter().all(|&f| f == 0));
        assert!(piece.key.iter().all(|&k| k != 0), "G major is a known key");
        let corpus = deepbach_corpus(&task).expect("a DeepBach corpus");
        assert!(corpus.fermatas && corpus.keys);
        // Only non-chorales: an error naming the dataset.
        let err = deepbach_task(&dataset(vec![(Split::Train, trio)]), 5, 2)
            .err()
            .expect("nothing to train on");
        assert!(err.to_string().contains("test: no four-voice chorale"), "{err}");
        assert!(deepbach_task(&ds, 4, 2).is_err(), "an even window");
    }

    #[test]
    fn merging_keeps_unpatched_fields_and_replaces_a_changed_kind() {
        let mut base = json!({"train": {"steps": 10, "seed": 1,
            "schedule": {"kind": "warmup_cosine", "lr": 0.001, "warmup": 5, "total": 10, "final_fraction": 0.1}}});
        merge_json(
            &mut base,
            json!({"train": {"steps": 20, "schedule": {"kind": "constant", "lr": 0.003}}}),
        );
        assert_eq!(
            base,
            json!({"train": {"steps": 20, "seed": 1, "schedule": {"kind": "constant", "lr": 0.003}}})
        );
        merge_json(&mut base, json!({"train": {"schedule": {"lr": 0.5}}}));
        assert_eq!(base["train"]["schedule"], json!({"kind": "constant", "lr": 0.5}));
    }

    #[test]
    fn rnn_nade_trains_on_transposed_crops_and_rnn_rbm_does_not() {
        let transpose = |r: &Recipe| match r.data.encoding {
            Encoding::PianoRoll { transpose, .. } => transpose,
            _ => panic!("not a piano-roll encoding"),
        };
        for (data, steps, drop_at) in [
            ("jsb", 13_000, 10_000),
            ("piano-midi", 12_000, 9_000),
            ("musedata", 20_000, 15_000),
        ] {
            let r = default_recipe("rnn-nade", data).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(transpose(&r), 4, "{data}");
            assert_eq!(r.train.steps, steps, "{data}");
            assert_eq!(
                r.train.schedule,
                Schedule::Step {
                    lr: 3e-3,
                    every: drop_at,
                    factor: 0.1
                },
                "{data}"
            );
            let rbm = default_recipe("rnn-rbm", data).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(transpose(&rbm), 0, "{data}");
        }
    }

    /// New TonicNet recipes label chords as TonicNet did (music21); a
    /// run.json from before the field existed keeps the template labeler it
    /// was trained with.
    #[test]
    fn tonicnet_chord_labeler_new_and_legacy() {
        use fugue_tokens::tonicnet::ChordLabels;
        let r = default_recipe("tonicnet", "jsb-16th").unwrap_or_else(|e| panic!("{e}"));
        let Encoding::TonicNet { transpose, chords } = r.data.encoding else {
            panic!("not TonicNet's encoding")
        };
        assert!(transpose);
        assert_eq!(chords, ChordLabels::Music21);
        let legacy: Encoding =
            serde_json::from_value(json!({"kind": "tonicnet", "transpose": true})).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            legacy,
            Encoding::TonicNet {
                chords: ChordLabels::Template,
                ..
            }
        ));
        let bad = serde_json::from_value::<Encoding>(json!({"kind": "tonicnet", "transpose": true, "chords": "roman"}));
        assert!(bad.is_err());
    }

    #[test]
    fn every_default_recipe_survives_json_and_builds() {
        let device = fugue_models::device("cpu", false).unwrap_or_else(|e| panic!("{e}"));
        for (model, data) in [
            ("music-transformer", "jsb-16th"),
            ("vanilla-transformer", "jsb-16th"),
            ("lstm", "jsb-16th"),
            ("gru", "jsb-16th"),
            ("lstm", "bach-chorales"),
            ("gru", "bach-chorales"),
            ("lstm", "piano"),
            ("music-transformer", "piano"),
            ("rnn-nade", "nottingham"),
            ("rnn-rbm", "jsb"),
            ("rnn-rbm", "piano-midi"),
            ("coconet", "jsb-16th"),
            ("deepbach", "jsb-16th"),
            ("deepbach", "bach-chorales"),
            ("harmonet", "jsb-16th"),
        ] {
            let r = default_recipe(model, data).unwrap_or_else(|e| panic!("{e}"));
            let text = serde_json::to_string(&r).unwrap_or_else(|e| panic!("{e}"));
            let back: Recipe = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{model}: {e}"));
            back.train.validate().unwrap_or_else(|e| panic!("{model}: {e}"));
            assert!(back.model.build(&device).is_ok(), "{model}");
        }
        assert!(default_recipe("rnn-nade", "jsb-16th").is_err());
        assert!(default_recipe("rnn-rbm", "jsb-16th").is_err());
        assert!(default_recipe("coconet", "bach-chorales").is_err());
        // An encoding written without its flags takes BachBot's.
        let e: Encoding = serde_json::from_str(r#"{"kind": "bachbot"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            e,
            Encoding::BachBot {
                standardize_key: true,
                four_four_only: true
            }
        );
        let unknown = default_recipe("nope", "jsb")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(unknown.contains("rnn-rbm") && unknown.contains("rnn-nade"), "{unknown}");
    }

    #[test]
    fn frames_become_held_notes() {
        let frames = vec![vec![0, 4], vec![0], vec![], vec![4]];
        let score = frames_to_score(&frames, 60, 1.0, "RNN-NADE");
        let notes: Vec<(i64, i64, u8)> = score.tracks[0]
            .notes
            .iter()
            .map(|n| (n.time, n.duration, n.pitch))
            .collect();
        assert_eq!(notes, vec![(0, 960, 60), (0, 480, 64), (1440, 480, 64)]);
    }
}
