//! ABC notation in: the text format of folk-tune collections (the
//! Nottingham Music Database, thesession.org, most tunebooks on the web).
//!
//! [`read_abc_str`] reads a tunebook (one or more tunes, each opening with
//! an `X:` line) into one [`AbcTune`] per tune: its `X:` number, title, a
//! [`Score<Tick>`](crate::Score) and the warnings of that tune.
//! [`read_abc`] takes bytes (UTF-8, or Latin-1 when they are not UTF-8) and
//! [`read_abc_file`] a path. Reading is lenient like the other readers:
//! what cannot be read is skipped with a warning naming the tune's `X:`
//! number, the line and the column; `strict` turns the first warning into
//! an error. Text with no tune in it is an error ([`ScoreError::Abc`](crate::ScoreError::Abc)).
//!
//! # The reading rules, stated once
//! - **Tunes.** A tune starts at an `X:` line and ends at a blank line. Its
//!   header runs to the first `K:` line; fields before the first `X:` (the
//!   file header) apply to every tune. Text between tunes is ignored (a
//!   line in it that holds a `|` gets a warning: music cut off by a blank
//!   line). Text without any `X:` line is read as one tune numbered 1.
//! - **Fields.** Header `T:` (the first is the title), `M:`, `L:`, `Q:`,
//!   `K:`, `P:` (the part order) and the Nottingham set's `Y:` (also a part
//!   order) are read; every other field (`S:`, `R:`, `N:`, `Z:`...) is
//!   tolerated and ignored. In the body, `K:`, `M:`, `L:`, `Q:` and `P:` (a
//!   part label) change the music from where they stand, on their own line
//!   or inline (`[K:G]`); `V:` selects a voice; others are ignored. `%` starts
//!   a comment; a `\` at a line end continues the line (music lines join
//!   anyway: line ends do not matter in the music); `%%` lines are
//!   directives, of which only `propagate-accidentals` is read. Music before
//!   any `K:` is read in C major, with a warning.
//! - **Resolution.** 480 ticks per quarter (2^5 x 3 x 5): lengths down to
//!   1/128 notes, triplets down to 1/64 notes and quintuplets of 1/32 notes
//!   are exact. A length that is not a whole number of ticks is rounded,
//!   with one warning per tune.
//! - **Lengths.** A note lasts the unit length (`L:`) times its multiplier
//!   (`A2`, `A/2`, `A/` = `A/2`, `A//` = `A/4`, `A3/2`). Without `L:` the
//!   unit is 1/16 when the header's meter is below 3/4 (2/4, 3/8...) and
//!   1/8 otherwise (also without `M:` or with `M:none`), as ABC 2.1 says.
//!   Broken rhythm `a>b` makes `a` 3/2 and `b` 1/2 as long (`>>`: 7/4 and
//!   1/4, `>>>`: 15/8 and 1/8; `<` the other way round). A tuplet `(p:q:r`
//!   plays the next r notes (rests and chords count, default r = p) in the
//!   time of q (default: 3 for p = 2, 4, 8; 2 for p = 3, 6; else 3 in
//!   compound meter — 6/8, 9/8, 12/8 — and 2 otherwise). In a chord `[CEG]2`
//!   every note keeps its own length times the chord's multiplier; the
//!   first note's length moves on the time.
//! - **Pitch.** `C` is middle C (60), `c` the octave above; `'` raises and
//!   `,` lowers an octave. The key gives each letter its accidental: any
//!   tonic with a mode (`maj`/`ion`, `m`/`min`/`aeo`, `mix`, `dor`, `phr`,
//!   `lyd`, `loc`; only the first three letters count), `exp` (only the
//!   listed accidentals), explicit accidentals after the key (`K:D =c`),
//!   `K:none` and `K:HP` (no accidentals), `K:Hp` (F sharp, C sharp).
//!   An accidental (`^`, `^^`, `_`, `__`, `=`) holds for later notes of
//!   that letter until the next bar line — in every octave, ABC 2.1's
//!   default; `%%propagate-accidentals octave` (or `I:propagate-accidentals
//!   octave`) limits it to its octave and `not` to its own note. A note tied
//!   from a note of the same letter and octave keeps its pitch across the
//!   bar line. A `K:` change mid-bar clears the bar's accidentals.
//!   Microtonal accidentals are read as whole semitones (warning); a pitch
//!   outside 0..=127 is left out (warning) but takes its time.
//! - **Rests.** `z` and `x` rest for their length; `Z` and `Z4` (also `X`)
//!   rest for one or four bars of the meter in force (4/4 in free meter).
//! - **Ties** (`-`) join a note to the next note of the same pitch that
//!   starts where it ends, in playing order (so a tie into a repeat works);
//!   a tie with no such note is kept unjoined, with a warning.
//! - **Fermatas** (`H`, `!fermata!`, `+fermata+`, `!invertedfermata!`
//!   before a note, chord or rest, or inside a chord) become score markers
//!   whose text is [`FERMATA_MARKER`](crate::musicxml::FERMATA_MARKER) at
//!   its onset, on every pass of a repeat, as the MusicXML reader's: the
//!   chorale models read phrase ends from them.
//! - **Left out, cleanly:** grace notes `{...}` (no time, no notes: the
//!   default of the MusicXML reader too), other decorations (`.`, `~`,
//!   `I`–`W`, `h`–`w`, `!trill!`, `+trill+`), slurs, annotations (`"^text"`),
//!   dynamics (every note has velocity 64), lyrics (`w:`), voice overlay `&`
//!   (the rest of the bar is skipped, with a warning), and every voice but
//!   the first (`V:`; warning).
//! - **Repeats and endings** are played out (unless
//!   [`ReadOptions::expand_repeats`] is off): `:|` goes back to the last
//!   `|:`, else to the start of the part (or tune), else to just after the
//!   previous `:|`, and plays once more; `::` / `:|:` / `:||:` end one
//!   repeat and start the next. An ending (`[1`, `|1`, `:|2`, `[1,3`,
//!   `[1-3`) runs until a `||`, `|]`, `[|`, `:|`, `|:` or the next ending,
//!   and is played on the passes it names; a `:|` inside an ending numbered
//!   up to n repeats until pass n + 1.
//! - **Parts.** With a part order (`P:ABAC`, `P:A2B`, `P:(AB)2C`, `P:A.B.C`
//!   in the header, or the Nottingham set's `Y:AB`) and `P:` labels in the
//!   body, the music before the first label is played once, then each part
//!   of the order with its repeats played out. When a tune has a `Y:`, a
//!   header `P:` is not an order but the label of the music that follows
//!   (the Nottingham set's use). Without an order the body
//!   is played as written. Each played part's label is a marker at its start.
//! - **Pickup.** When the first played bar is shorter than its meter's bar,
//!   the music starts late so that the pickup ends on the first bar line
//!   (bar positions then follow the meter, as in the Nottingham set's MIDI
//!   renderings). Signatures and the tempo still start at tick 0.
//! - **Tempo** from `Q:` (`1/4=120`, `3/8=60`, `1/4 1/8=40`, the old `Q:120`
//!   counting unit lengths; text in quotes ignored), in quarter notes per
//!   minute; **120 quarters per minute when a tune has no `Q:`**, written as
//!   a tempo event at tick 0. **Time signatures** from `M:` (`C` = 4/4,
//!   `C|` = 2/2, `2+3/8` = 5/8; `M:none` and denominators that are not a
//!   power of two give none). **Key signatures** from `K:` — the signature's
//!   sharps or flats (folded into -7..=7), minor for `m`/`min`/`aeo`, every
//!   other mode as the major key of the same signature; `K:none`/`K:HP` give
//!   none. Changes take effect where they stand; a restatement is dropped.
//! - **Tracks.** Track 0, `Melody` (program 0, MIDI channel 1: `channel: 0`), holds the notes.
//!   Chord symbols (`"Am"`, `"G7"`, `"D/f+"`, the Nottingham set's `"Cd"`
//!   diminished and `"Ca"` augmented) become a second track, `Chords`
//!   (program 0, MIDI channel 2; [`ReadOptions::chord_track`]): each symbol
//!   sounds from its place until the next symbol, the last until the end of
//!   the music, voiced as in the MusicXML reader — root from C3 (MIDI
//!   48–59), chord tones stacked above it in root position, a slash chord's
//!   bass in the octave below (36–47) — and its text is a lyric of that
//!   track at its onset. Alternate chords in parentheses (`"(E7)"`) and
//!   placed text are not played; a quoted string that starts like a chord
//!   but cannot be read (`"From the..."`) is skipped with a warning.

mod body;
mod fields;
mod layout;
mod lex;
mod notes;
mod read;

pub use read::{read_abc, read_abc_file, read_abc_str, AbcTune, ReadOptions};

#[cfg(test)]
mod tests;
