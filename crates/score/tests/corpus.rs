//! Corpus round-trip: every MIDI file in `../shared/data` reads, writes and
//! reads back to an identical score, and the second write is byte-identical
//! to the first (the event stream is stable). Skips, saying why, when the
//! data folder is absent.

use fugue_score::midi::{read_midi, write_midi, MidiFormat, ReadOptions};
use std::path::{Path, PathBuf};

fn data_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    root.is_dir().then_some(root)
}

fn midi_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            midi_files(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
        {
            out.push(p);
        }
    }
}

#[test]
fn every_shared_midi_file_round_trips() {
    let Some(root) = data_root() else {
        eprintln!("skipped: ../shared/data not found");
        return;
    };
    let mut files = Vec::new();
    midi_files(&root, &mut files);
    assert!(
        files.len() > 2000,
        "expected the shared corpora, found {} MIDI files",
        files.len()
    );
    let (mut ok, mut unreadable) = (0, Vec::new());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let first = match read_midi(&bytes, &ReadOptions::default()) {
            Ok(r) => r.score,
            Err(e) => {
                unreadable.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        let w1 = write_midi(&first, MidiFormat::Type1).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let second = read_midi(&w1, &ReadOptions { strict: true })
            .unwrap_or_else(|e| panic!("{}: rewritten file fails strict reading: {e}", f.display()))
            .score;
        if first != second {
            let diff = first_difference(&first, &second);
            panic!("{}: score changed after write/read: {diff}", f.display());
        }
        let w2 = write_midi(&second, MidiFormat::Type1).unwrap();
        assert!(w1 == w2, "{}: second write differs from the first", f.display());
        ok += 1;
    }
    eprintln!("{ok} of {} files round-trip; unreadable: {unreadable:?}", files.len());
    // The one deliberately corrupt file is still read (leniently).
    assert!(unreadable.is_empty(), "unreadable: {unreadable:?}");
}

fn first_difference(a: &fugue_score::Score<fugue_score::Tick>, b: &fugue_score::Score<fugue_score::Tick>) -> String {
    if a.tracks.len() != b.tracks.len() {
        return format!("{} tracks vs {}", a.tracks.len(), b.tracks.len());
    }
    for (i, (x, y)) in a.tracks.iter().zip(&b.tracks).enumerate() {
        if x != y {
            if let Some((j, (n, m))) = x.notes.iter().zip(&y.notes).enumerate().find(|(_, (n, m))| n != m) {
                return format!("track {i} note {j}: {n:?} vs {m:?}");
            }
            if x.extra != y.extra {
                return format!(
                    "track {i} extra: {:?} vs {:?}",
                    &x.extra[..x.extra.len().min(6)],
                    &y.extra[..y.extra.len().min(6)]
                );
            }
            return format!(
                "track {i} ({} notes vs {}; name {:?} vs {:?}; program {} vs {}; controls {} vs {})",
                x.notes.len(),
                y.notes.len(),
                x.name,
                y.name,
                x.program,
                y.program,
                x.controls.len(),
                y.controls.len()
            );
        }
    }
    if a.extra != b.extra {
        return format!("score extra {:?} vs {:?}", a.extra, b.extra);
    }
    "global maps differ".into()
}
