//! Standard MIDI files in and out.
//!
//! Reading walks the chunks and decodes events without copying (borrowing
//! the file's bytes, `midly`'s message types for channel events), so that
//! every problem names its track and byte offset, RIFF `.rmi` wrappers and
//! SMPTE time division are accepted, and a bad data byte skips one event
//! rather than the rest of a track. Writing encodes events with packed sort
//! keys and running status (see `write.rs`).
//!
//! # The rules, stated once
//! - **Parts.** A MIDI track chunk (MTrk) becomes one [`Track`](crate::Track)
//!   per (channel, program) pair that it uses, ordered by (channel, program),
//!   like symusic. Every event of a channel goes to the part of that channel's
//!   current program; a program change switches parts.
//! - **Note pairing.** A note-off (or a note-on with velocity 0) ends the
//!   *earliest* sounding note of the same channel and pitch (first in, first
//!   out), whatever program is current; the note stays in the part it started
//!   in. This is symusic's rule. A note-off with nothing to end is ignored.
//!   A note never ended is closed at the end of its track chunk, with a
//!   warning (symusic drops it).
//! - **Pedals** are derived from CC64: down at the first value ≥ 64 while up,
//!   up at the first value < 64 while down; a pedal never released is dropped
//!   (as symusic does). The CC64 events stay in `controls`.
//! - **Global maps.** Tempo, time- and key-signature and marker events of any
//!   chunk go to the score.
//! - **Everything else** (sysex, escapes, other meta events, aftertouch,
//!   non-initial program changes) is kept in the part's `extra`, or in the
//!   score's `extra` when its chunk holds no part, and written back.
//! - **SMPTE division** (frames per second × ticks per frame) becomes a
//!   metrical resolution of one second per quarter note: ticks per quarter =
//!   frames × subframes, one tempo of 1,000,000 µs per quarter (1,001,000 for
//!   29.97 fps drop-frame). Tempo events in such a file do not affect timing
//!   and are dropped with a warning.

mod decode;
mod read;
mod write;

pub use read::{pedals_from_controls, read_midi, read_midi_file, ReadOptions, ReadResult};
pub use write::{write_midi, write_midi_file, MidiFormat, WriteOptions};
