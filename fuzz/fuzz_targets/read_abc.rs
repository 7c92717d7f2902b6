//! Fuzz the ABC reader.
//!
//! For any input bytes (UTF-8, or Latin-1 otherwise):
//! 1. lenient and strict reading never panic;
//! 2. they agree: strict success implies lenient success with no warnings and
//!    the same scores; lenient failure implies strict failure;
//! 3. every tune's score is one the MIDI writer accepts (unless its music is
//!    absurdly long: over 2^26 ticks, where the writer may refuse a gap),
//!    and reads back with the same note onsets and pitches (durations may
//!    change where a melody overlaps notes of one pitch, which MIDI cannot
//!    pair back the same way).
#![no_main]

use fugue_score::abc::{read_abc, ReadOptions};
use fugue_score::midi::{read_midi, write_midi, MidiFormat, ReadOptions as MidiOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lenient = read_abc(data, &ReadOptions::default());
    let strict = read_abc(data, &ReadOptions { strict: true, ..ReadOptions::default() });
    let tunes = match (lenient, strict) {
        (Err(_), Ok(_)) => panic!("strict reading succeeded where lenient reading failed"),
        (Err(_), Err(_)) => return,
        (Ok(l), Ok(s)) => {
            assert!(l.iter().all(|t| t.warnings.is_empty()), "strict reading succeeded but lenient reading warned");
            assert_eq!(l.len(), s.len());
            for (a, b) in l.iter().zip(&s) {
                assert!(a.score == b.score, "strict and lenient reading give different scores");
            }
            l
        }
        (Ok(l), Err(_)) => {
            assert!(l.iter().any(|t| !t.warnings.is_empty()), "strict reading failed but lenient reading had no warning");
            l
        }
    };
    for t in tunes {
        if t.score.end() > 1 << 26 {
            continue;
        }
        let bytes = match write_midi(&t.score, MidiFormat::Type1) {
            Ok(b) => b,
            Err(e) => panic!("the MIDI writer refuses an ABC score: {e}"),
        };
        let back = read_midi(&bytes, &MidiOptions::default()).expect("written MIDI reads back");
        let notes = |s: &fugue_score::Score<fugue_score::Tick>| -> Vec<(i64, u8)> {
            let mut v: Vec<_> = s.tracks.iter().flat_map(|t| t.notes.iter().map(|n| (n.time, n.pitch))).collect();
            v.sort_unstable();
            v
        };
        assert_eq!(notes(&back.score), notes(&t.score), "notes changed after MIDI write/read");
    }
});
