//! Inputs the fuzzer found (`fuzz/regressions/`), each pinned: reading never
//! panics, and whatever reads writes back to a file that reads strictly to the
//! same score, with a byte-identical second write.

use fugue_score::midi::{read_midi, write_midi, MidiFormat, ReadOptions};
use std::path::Path;

#[test]
fn fuzzer_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
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
