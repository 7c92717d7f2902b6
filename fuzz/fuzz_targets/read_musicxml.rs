//! Fuzz the MusicXML reader, and the writer through it.
//!
//! For any input bytes (plain XML, or a zip archive when they start with
//! `PK\x03\x04`):
//! 1. lenient and strict reading never panic;
//! 2. they agree: strict success implies lenient success with no warnings and
//!    the same score; lenient failure implies strict failure;
//! 3. when lenient reading succeeds and the music is not absurdly long
//!    (under 100,000 quarter notes), writing it at its own resolution either
//!    succeeds or refuses with `Unwritable` (a time signature whose bar is
//!    not a whole number of ticks), never panics; the written text reads
//!    back, and its notes (onset, duration, pitch; unisons merged) are the
//!    same.
#![no_main]

use fugue_score::musicxml::{read_musicxml, write_musicxml, ReadOptions, WriteOptions};
use fugue_score::{Score, ScoreError, Tick};
use libfuzzer_sys::fuzz_target;

fn notes(s: &Score<Tick>) -> Vec<Vec<(i64, i64, u8)>> {
    s.tracks
        .iter()
        .map(|t| {
            // The writer gives a zero-length note one grid step (here one tick).
            let mut v: Vec<(i64, i64, u8)> = t.notes.iter().map(|n| (n.time, n.duration.max(1), n.pitch)).collect();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let lenient = read_musicxml(data, &ReadOptions::default());
    let strict = read_musicxml(data, &ReadOptions { strict: true, ..ReadOptions::default() });
    let score = match (lenient, strict) {
        (Err(_), Ok(_)) => panic!("strict reading succeeded where lenient reading failed"),
        (Err(_), Err(_)) => return,
        (Ok(l), Ok(s)) => {
            assert!(l.warnings.is_empty(), "strict reading succeeded but lenient reading warned: {:?}", l.warnings);
            assert!(l.score == s.score, "strict and lenient reading give different scores");
            l.score
        }
        (Ok(l), Err(_)) => {
            assert!(!l.warnings.is_empty(), "strict reading failed but lenient reading had no warning");
            l.score
        }
    };
    if score.end() > 100_000 * i64::from(score.ticks_per_quarter) {
        return;
    }
    let opts = WriteOptions { divisions: u32::from(score.ticks_per_quarter), ..WriteOptions::default() };
    let text = match write_musicxml(&score, &opts) {
        Ok(t) => t,
        Err(ScoreError::Unwritable { .. }) => return,
        Err(e) => panic!("unexpected writer error: {e}"),
    };
    let back = match read_musicxml(text.as_bytes(), &ReadOptions::default()) {
        Ok(r) => r.score,
        Err(e) => panic!("the written file does not read back: {e}"),
    };
    assert_eq!(notes(&back), notes(&score), "notes changed after write/read");
});
