//! Fuzz the MIDI reader, and the writer through it.
//!
//! For any input bytes:
//! 1. lenient and strict reading never panic;
//! 2. they agree: strict success implies lenient success with no warnings and
//!    the same score (and format / SMPTE); lenient failure implies strict
//!    failure;
//! 3. when lenient reading succeeds, the score is writable (`write_midi`
//!    Type 1 returns Ok: the reader only produces writable scores);
//! 4. the written file reads back *strictly* (no warnings) to an identical
//!    score;
//! 5. writing the re-read score gives byte-identical output.
#![no_main]

use fugue_score::midi::{read_midi, write_midi, MidiFormat, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lenient = read_midi(data, &ReadOptions { strict: false });
    let strict = read_midi(data, &ReadOptions { strict: true });

    let first = match (lenient, strict) {
        (Err(_), Ok(_)) => panic!("strict reading succeeded where lenient reading failed"),
        (Err(_), Err(_)) => return,
        (Ok(l), Ok(s)) => {
            assert!(l.warnings.is_empty(), "strict reading succeeded but lenient reading warned: {:?}", l.warnings);
            assert!(l.score == s.score, "strict and lenient reading give different scores");
            assert_eq!((l.format, l.smpte), (s.format, s.smpte));
            l.score
        }
        (Ok(l), Err(_)) => {
            assert!(!l.warnings.is_empty(), "strict reading failed but lenient reading had no warning");
            l.score
        }
    };

    let w1 = match write_midi(&first, MidiFormat::Type1) {
        Ok(b) => b,
        Err(e) => panic!("the reader produced a score the writer refuses: {e}"),
    };
    let second = match read_midi(&w1, &ReadOptions { strict: true }) {
        Ok(r) => r.score,
        Err(e) => panic!("the written file fails strict reading: {e}"),
    };
    assert!(first == second, "score changed after write/read:\nfirst:  {first:?}\nsecond: {second:?}");
    let w2 = write_midi(&second, MidiFormat::Type1).expect("re-read score is not writable");
    assert!(w1 == w2, "second write differs from the first");
});
