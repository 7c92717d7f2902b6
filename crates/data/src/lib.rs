//! # fugue-data
//!
//! The data layer between tokenizers and models: dataset loaders with their
//! canonical splits, seeded augmentation, parallel preparation into token
//! shards, and batching.
//!
//! - [`registry`]: the known dataset names, the data root (`--data-root`,
//!   `$FUGUE_DATA`, `../shared/data`) and [`registry::load`].
//! - Loaders, one file per source, each returning a [`Dataset`] of
//!   [`Piece`]s with their [`Split`]: [`boulanger`] (JSB, Nottingham,
//!   MuseData, Piano-midi.de rolls), [`jsb`] (JSB on 16ths: Coconet's SATB
//!   set, or rolls at a 16th / 8th / quarter), [`js_fakes`], [`pop909`],
//!   [`piano`], [`nottingham_abc`] (the Nottingham ABC tunebooks, one score
//!   per tune), [`bach_chorales`] (music21's Bach chorales as MusicXML,
//!   four-part SATB scores only), and [`midi_folder`] for any folder of MIDI files (SHA-256
//!   de-duplication, MAESTRO CSV split or an 80/10/10 hash split).
//! - [`augment`]: transposition within instrument ranges, tempo stretch,
//!   velocity jitter, all seeded.
//! - [`prepare`]: tokenizing pieces into [`shards`] in parallel, resumably.
//! - [`batch`]: id and frame batches with masks, windows or whole pieces,
//!   bucketing, seeded shuffling, streaming from shards, resumable state.
//!
//! Loading never aborts on one bad file: it is skipped and reported in
//! [`Dataset::warnings`]. This crate knows nothing of models or tensors.
#![warn(missing_docs)]

pub mod augment;
pub mod bach_chorales;
pub mod batch;
pub mod boulanger;
pub mod dataset;
pub mod error;
pub mod js_fakes;
pub mod jsb;
pub mod maestro;
pub mod metadata;
pub mod midi_folder;
pub mod nottingham_abc;
pub mod piano;
pub mod pop909;
pub mod prepare;
pub mod registry;
pub mod rng;
pub mod shards;

pub use batch::{Batch, BatchConfig, Batcher, BatcherState, FrameBatch, FrameBatcher, Windowing};
pub use dataset::{Content, Dataset, MidiRef, Piece, Roll, Split};
pub use error::{DataError, DataWarning};
pub use metadata::Meta;
pub use registry::{load, resolve_root, DatasetRef, Known, LoadOptions};
