//! MusicXML in and out: the format of MuseScore, Finale, Sibelius and
//! music21's corpus.
//!
//! [`read_musicxml`] takes `.xml`/`.musicxml` text (UTF-8 or UTF-16) or a
//! compressed `.mxl` zip archive, partwise or timewise, MusicXML 1.0 to 4.0,
//! and returns a [`Score<Tick>`](crate::Score) with warnings, like the MIDI
//! reader. The `<!DOCTYPE>`'s external DTD is never fetched. [`write_musicxml`]
//! writes one part per track, quantized to a grid, so that generated music
//! opens in notation software.
//!
//! # The reading rules, stated once
//! - **Resolution.** Ticks per quarter = the least common multiple of 480 and
//!   every `<divisions>` value of the file, so every duration (tuplets
//!   included: MusicXML durations already count divisions) is an exact
//!   integer and simple files get the usual 480. When that passes 65535 the
//!   multiple of the divisions alone is used, and failing that 480 with
//!   rounding (and a warning).
//! - **Parts → tracks.** Each `<part>` becomes one track, named by its
//!   `<part-name>`, with the MIDI program and channel of its first
//!   `<midi-instrument>` (program 0 and the next free channel otherwise).
//!   Voices and staves of a part are merged into its track.
//! - **Time.** A cursor walks each measure: a note moves it by its
//!   `<duration>`, `<backup>` and `<forward>` move it back and on; a
//!   `<chord/>` note starts with the previous note. A measure lasts as far as
//!   the cursor went, in its longest part (so parts stay aligned and pickup
//!   measures are short). A duration before any `<divisions>` is an error.
//! - **Ties.** A note tied from before (`<tie type="start">`, or `<tied>`
//!   when there is no `<tie>`) continues into the next note of the same
//!   pitch that starts exactly where it ends, in any voice; the two become
//!   one note. The next note's tie stop is not required (editions leave it
//!   out where a tie runs into a second ending; music21 joins those too).
//! - **Grace notes** are dropped, or kept as 32nd notes at the onset of the
//!   note they ornament ([`GraceNotes`]). Cue notes and rests take time but
//!   make no note.
//! - **Pitch** = (octave + 1) × 12 + step + `<alter>` (microtones rounded),
//!   plus the part's `<transpose>` (the score holds sounding pitch).
//! - **Percussion.** A part is a drum track (channel 10) when its MIDI
//!   channel is 10 or it has `<unpitched>` notes; an unpitched note takes
//!   the GM drum key of its `<instrument>`'s `<midi-unpitched>` (else the
//!   part's first one, else its displayed position, with a warning).
//! - **Repeats and voltas** are played out (unless
//!   `ReadOptions::expand_repeats` is off), following the first part's
//!   barlines for every part: a backward repeat goes back to the last
//!   forward repeat (or the start, or the end of the previous repeat)
//!   `times − 1` times; an ending is played on the passes it numbers.
//!   D.C., D.S., coda and fine are not followed.
//! - **Tempo** comes from `<sound tempo>` (quarters per minute), else from a
//!   metronome mark (`per-minute` × the beat unit in quarters).
//!   **Time and key signatures** take effect where they stand, mid-measure
//!   too. These maps are global: the first part to set one at a time wins
//!   and restatements are dropped.
//! - **Velocity** is 64 until a `<sound dynamics>` or a note's `dynamics`
//!   (a percentage of forte = 90) says otherwise.
//! - **Lyrics** go to the part's track at the note's onset; on the n-th pass
//!   of a repeated measure verse n is taken (verse 1 when there is none).
//! - **Fermatas** (`<notations><fermata/>` on a note, a chord's note or a
//!   rest) become score markers whose text is [`FERMATA_MARKER`] at the
//!   note's onset, on every pass of a repeated measure; notes of any parts
//!   that hold one at the same time give one marker. A `<fermata>` in a
//!   `<barline>` is placed at the barline: the measure's start for
//!   `location="left"`, its end for a right barline (so one over the final
//!   barline lies at the end of the music, after every onset); one on a
//!   `location="middle"` barline is ignored. No other markers are read.
//! - **Chord symbols** (`<harmony>`) become a last track named `Chords`
//!   (`ReadOptions::chord_track`): each sounds its chord tones from C3 (the
//!   bass of a slash chord an octave lower) until the next symbol, and its
//!   text (`Bbm7`) is a lyric of that track.
//! - **Errors and warnings** name the part, measure, element and line; a
//!   warning's location is the part index and the byte offset in the XML.
//!
//! # The writing rules
//! See [`write_musicxml`]: one part per track; onsets and ends snapped to a
//! grid of `divisions` per quarter; measures from the time signatures; each
//! track's notes split into as few voices as keep every voice a sequence of
//! chords; notes crossing a barline (or longer than one notated value) are
//! tied; key and time signatures, tempo and lyrics are written, and
//! fermata markers as `<fermata>` on the notes and rests starting at their
//! time, so that read → write → read keeps them.

mod layout;
mod read;
mod write;

pub use read::{read_musicxml, read_musicxml_file, GraceNotes, ReadOptions, ReadResult};
pub use write::{write_musicxml, write_musicxml_file, write_mxl, WriteOptions};

/// The text of the score marker a fermata becomes (and is written back
/// from): `fermata`, the convention `fugue_tokens::chorale` reads too.
pub const FERMATA_MARKER: &str = "fermata";
