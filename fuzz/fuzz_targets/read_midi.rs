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
use fugue_score::{Score, Tick};
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
    assert!(first == second, "score changed after write/read: {}", first_difference(&first, &second));
    let w2 = write_midi(&second, MidiFormat::Type1).expect("re-read score is not writable");
    assert!(w1 == w2, "second write differs from the first");
});

/// A short description of where two scores differ (the full Debug output of
/// a score can run to megabytes).
fn first_difference(a: &Score<Tick>, b: &Score<Tick>) -> String {
    fn show<T: std::fmt::Debug>(x: &T) -> String {
        let s = format!("{x:?}");
        if s.len() > 600 {
            format!("{}…", &s[..s.char_indices().nth(600).map_or(s.len(), |(i, _)| i)])
        } else {
            s
        }
    }
    macro_rules! cmp {
        ($what:expr, $x:expr, $y:expr) => {
            if $x != $y {
                return format!("{}: {} vs {}", $what, show(&$x), show(&$y));
            }
        };
    }
    cmp!("ticks_per_quarter", a.ticks_per_quarter, b.ticks_per_quarter);
    cmp!("number of tracks", a.tracks.len(), b.tracks.len());
    for (i, (x, y)) in a.tracks.iter().zip(&b.tracks).enumerate() {
        cmp!(format!("track {i} name"), x.name, y.name);
        cmp!(format!("track {i} program"), x.program, y.program);
        cmp!(format!("track {i} channel"), x.channel, y.channel);
        cmp!(format!("track {i} is_drum"), x.is_drum, y.is_drum);
        if let Some((j, (n, m))) = x.notes.iter().zip(&y.notes).enumerate().find(|(_, (n, m))| n != m) {
            return format!("track {i} note {j}: {n:?} vs {m:?}");
        }
        cmp!(format!("track {i} notes"), x.notes.len(), y.notes.len());
        cmp!(format!("track {i} controls"), x.controls, y.controls);
        cmp!(format!("track {i} pitch_bends"), x.pitch_bends, y.pitch_bends);
        cmp!(format!("track {i} pedals"), x.pedals, y.pedals);
        cmp!(format!("track {i} lyrics"), x.lyrics, y.lyrics);
        cmp!(format!("track {i} extra"), x.extra, y.extra);
    }
    cmp!("tempos", a.tempos, b.tempos);
    cmp!("time_signatures", a.time_signatures, b.time_signatures);
    cmp!("key_signatures", a.key_signatures, b.key_signatures);
    cmp!("markers", a.markers, b.markers);
    cmp!("score extra", a.extra, b.extra);
    "a field outside those compared here".into()
}
