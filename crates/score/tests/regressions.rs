//! Inputs the fuzzer found (`fuzz/regressions/`), each pinned: reading never
//! panics, and whatever reads writes back to a file that reads strictly to the
//! same score, with a byte-identical second write. ABC inputs (`*.abc`) must
//! read leniently and strictly without panicking, and every tune must write
//! as MIDI and read back with the same onsets and pitches.

use fugue_score::abc;
use fugue_score::midi::{read_midi, write_midi, MidiFormat, ReadOptions};
use std::path::Path;

#[test]
fn fuzzer_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_none_or(|e| e != "abc"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "expected the regression inputs in {}", dir.display());
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let _ = read_midi(&bytes, &ReadOptions { strict: true });
        let Ok(first) = read_midi(&bytes, &ReadOptions::default()) else {
            continue;
        };
        let name = f.display();
        let w1 = write_midi(&first.score, MidiFormat::Type1).unwrap_or_else(|e| panic!("{name}: {e}"));
        let second = read_midi(&w1, &ReadOptions { strict: true }).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(first.score, second.score, "{name}");
        assert_eq!(write_midi(&second.score, MidiFormat::Type1).unwrap(), w1, "{name}");
    }
}

#[test]
fn abc_fuzzer_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "abc"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "expected ABC regression inputs in {}", dir.display());
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let name = f.display();
        let strict = abc::ReadOptions {
            strict: true,
            ..abc::ReadOptions::default()
        };
        let _ = abc::read_abc(&bytes, &strict);
        let Ok(tunes) = abc::read_abc(&bytes, &abc::ReadOptions::default()) else {
            continue;
        };
        for t in tunes {
            let w = write_midi(&t.score, MidiFormat::Type1).unwrap_or_else(|e| panic!("{name}: {e}"));
            let back = read_midi(&w, &ReadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let onsets = |s: &fugue_score::Score<fugue_score::Tick>| {
                let mut v: Vec<(i64, u8)> = s
                    .tracks
                    .iter()
                    .flat_map(|t| t.notes.iter().map(|n| (n.time, n.pitch)))
                    .collect();
                v.sort_unstable();
                v
            };
            assert_eq!(onsets(&back.score), onsets(&t.score), "{name}");
        }
    }
}
