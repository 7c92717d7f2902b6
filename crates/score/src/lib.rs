//! # fugue-score
//!
//! The score model every other fugue crate stands on: plain data types with
//! public fields ([`Score`], [`Track`], [`Note`], [`Tempo`], ...), time units
//! as types ([`Tick`], [`Quarter`], [`Second`]) with explicit conversion
//! through the tempo map, transforms as pure/in-place pairs, piano-rolls and
//! struct-of-arrays views, lossless MIDI reading and writing, and MusicXML
//! reading (`.xml`, `.musicxml`, `.mxl`) and writing, and ABC reading
//! (tunebooks, one score per tune).
//!
//! ```
//! use fugue_score::{midi, Note, Score, Tick, Track};
//!
//! let mut score = Score::<Tick>::new(480);
//! let mut piano = Track::new("piano", 0, 0);
//! piano.notes.push(Note::new(0, 480, 60, 90));
//! score.tracks.push(piano);
//!
//! let bytes = midi::write_midi(&score, midi::MidiFormat::Type1).unwrap();
//! let back = midi::read_midi(&bytes, &midi::ReadOptions::default()).unwrap();
//! assert!(back.warnings.is_empty());
//! assert_eq!(back.score.tracks[0].notes, score.tracks[0].notes);
//! assert_eq!(back.score.to_second().tracks[0].notes[0].duration, 0.5);
//! ```
//!
//! This crate knows nothing about tokens or tensors.
#![warn(missing_docs)]

pub mod abc;
pub mod error;
pub mod io;
pub mod midi;
pub mod musicxml;
pub mod ops;
pub mod pianoroll;
pub mod score;
pub mod tempo_map;
pub mod time;

pub use error::{Location, Result, ScoreError, Warning};
pub use pianoroll::{NoteArrays, PianoRoll, RollMode};
pub use score::{
    ControlChange, KeySignature, Note, Pedal, PitchBend, RawEvent, RawKind, Score, Tempo, Text, TimeSignature, Track,
};
pub use tempo_map::TempoMap;
pub use time::{Quarter, Second, Tick, TimeUnit, TimeValue};
