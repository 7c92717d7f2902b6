//! `fugue harmonize`, `fugue infill` and `fugue eval-chorale` end to end,
//! with the embedded Coconet model (no data needed).

use std::path::Path;

use fugue_score::midi::{write_midi, MidiFormat};
use fugue_score::{Note, Score, Tick, Track};
use fugue_tokens::chorale::SatbGrid;

mod common;
use common::{assert_satb_keeps_soprano, fugue, read_score as read, s, stderr};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/bach_chorale.mid");

fn grid(path: &Path) -> SatbGrid {
    SatbGrid::from_score(&read(path), 4).unwrap().0
}

/// A two-bar melody in 3/4 with a repeated note (quarter notes, 480 tpq).
/// Quarter notes in 3/4.
fn write_melody(path: &Path, pitches: &[u8]) {
    let notes: Vec<(i64, i64, u8)> = pitches
        .iter()
        .enumerate()
        .map(|(i, &p)| (i as i64 * 480, 480, p))
        .collect();
    common::write_melody(path, 3, &notes);
}

#[test]
fn harmonize_keeps_the_melody_and_writes_three_voices_below_it() {
    let dir = tempfile::tempdir().unwrap();
    let melody = dir.path().join("melody.mid");
    let pitches = [67u8, 67, 69, 71, 72, 71];
    write_melody(&melody, &pitches);
    let out = dir.path().join("h.mid");
    let args = |o: &Path| {
        vec![
            "harmonize".to_string(),
            s(&melody),
            "-o".into(),
            s(o),
            "--seed".into(),
            "3".into(),
            "--gibbs-steps".into(),
            "20".into(),
        ]
    };
    let run = |o: &Path| fugue(&args(o).iter().map(String::as_str).collect::<Vec<_>>());
    let o = run(&out);
    assert!(o.status.success(), "{}", stderr(&o));
    let score = read(&out);
    // The soprano is the melody, note for note (the repeated G included).
    let expected: Vec<(i64, i64, u8)> = pitches
        .iter()
        .enumerate()
        .map(|(i, &p)| (i as i64 * 480, 480, p))
        .collect();
    assert_satb_keeps_soprano(&score, &expected);
    // Alto, tenor and bass sound all through, inside Coconet's range.
    let g = grid(&out);
    assert_eq!(g.len(), 24);
    for cell in &g.steps {
        for p in &cell[1..] {
            assert!(p.is_some_and(|p| (36..=81).contains(&p)), "{cell:?}");
        }
    }
    assert_eq!(score.time_signatures[0].numerator, 3, "the melody's meter is kept");
    // Same seed, same file; an existing output is refused.
    let again = dir.path().join("h2.mid");
    assert!(run(&again).status.success());
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    let before = std::fs::read(&out).unwrap();
    let o = run(&out);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn harmonize_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("h.mid");
    let o = fugue(&["harmonize", "nope.mid", "-o", &s(&out)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nope.mid"), "{}", stderr(&o));
    let high = dir.path().join("high.mid");
    write_melody(&high, &[72, 90, 72]);
    let o = fugue(&["harmonize", &s(&high), "-o", &s(&out)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("90"), "{}", stderr(&o));
    let o = fugue(&["harmonize", SAMPLE, "-o", &s(&out), "--model", "deepbach"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("deepbach"), "{}", stderr(&o));
    // A Music Transformer is not a chorale filler.
    let o = fugue(&["harmonize", SAMPLE, "-o", &s(&out), "--model", "default"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a Coconet"), "{}", stderr(&o));
    // A GPU this build lacks, or no such device: an error naming it.
    let o = fugue(&["harmonize", SAMPLE, "-o", &s(&out), "--device", "vulkan"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--features fugue-models/vulkan"), "{}", stderr(&o));
    let o = fugue(&["infill", SAMPLE, "-o", &s(&out), "--device", "tpu"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown device `tpu`"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn infill_rewrites_only_the_chosen_voices_and_bars() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("i.mid");
    let o = fugue(&[
        "infill",
        SAMPLE,
        "--voices",
        "alto,tenor",
        "--bars",
        "3-5",
        "-o",
        &s(&out),
        "--seed",
        "1",
        "--gibbs-steps",
        "30",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (before, after) = (grid(Path::new(SAMPLE)), grid(&out));
    assert_eq!(before.len(), after.len());
    // 4/4: bars 3-5 are 16th steps 32..80.
    let inside = |t: usize, v: usize| (32..80).contains(&t) && (v == 1 || v == 2);
    let mut changed = 0;
    for t in 0..before.len() {
        for v in 0..4 {
            if inside(t, v) {
                changed += usize::from(before.steps[t][v] != after.steps[t][v]);
                continue;
            }
            assert_eq!(before.steps[t][v], after.steps[t][v], "pitch at step {t}, voice {v}");
            // A note held across the region's end may be cut there; every
            // other onset is as it was.
            if t != 80 {
                assert_eq!(before.onsets[t][v], after.onsets[t][v], "onset at step {t}, voice {v}");
            }
        }
    }
    assert!(changed > 0, "the region was rewritten");
}

#[test]
fn infill_refuses_bad_regions_and_non_chorales() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("i.mid");
    for (flag, value, needle) in [
        ("--voices", "viola", "viola"),
        ("--bars", "99", "bars"),
        ("--bars", "5-3", "backwards"),
    ] {
        let o = fugue(&["infill", SAMPLE, flag, value, "-o", &s(&out)]);
        assert!(!o.status.success(), "{flag} {value}");
        assert!(stderr(&o).contains(needle), "{flag} {value}: {}", stderr(&o));
    }
    let melody = dir.path().join("melody.mid");
    write_melody(&melody, &[60, 62]);
    let o = fugue(&["infill", &s(&melody), "-o", &s(&out)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("four tracks"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn eval_chorale_counts_a_known_parallel_fifth() {
    let dir = tempfile::tempdir().unwrap();
    // S and B move C5/F3 → D5/G3 in parallel fifths (two octaves apart);
    // A and T hold. Half notes, 480 tpq.
    let mut score = Score::<Tick>::new(480);
    for (name, a, b) in [("S", 72u8, 74u8), ("A", 65, 65), ("T", 60, 60), ("B", 53, 55)] {
        let mut t = Track::new(name, 0, 0);
        t.notes = vec![Note::new(0, 960, a, 80), Note::new(960, 960, b, 80)];
        score.tracks.push(t);
    }
    let path = dir.path().join("fifths.mid");
    std::fs::write(&path, write_midi(&score, MidiFormat::Type1).unwrap()).unwrap();
    let o = fugue(&["eval-chorale", &s(&path), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["chorales"], 1);
    assert_eq!(v["total"]["parallel_fifths"], 1, "{v}");
    assert_eq!(v["total"]["parallel_octaves"], 0, "{v}");
    assert_eq!(v["total"]["transitions"], 1, "{v}");
    // A folder is read file by file; a non-chorale is an error naming it.
    let o = fugue(&["eval-chorale", &s(dir.path()), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let melody = dir.path().join("melody.mid");
    write_melody(&melody, &[60, 62]);
    let o = fugue(&["eval-chorale", &s(&melody)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("melody.mid"), "{}", stderr(&o));
    let o = fugue(&["eval-chorale"]);
    assert!(!o.status.success());
}
