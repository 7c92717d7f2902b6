//! HARMONET end to end: the embedded model harmonizes a small melody (MIDI
//! and ABC) with the soprano kept note for note; bad arguments are clear
//! errors; with the JSB data, a short training run, its evaluation and the
//! batch harmonization of a split.

use std::path::Path;

use fugue_tokens::chorale::SatbGrid;

mod common;
use common::{assert_satb_keeps_soprano, fugue, read_score as read, s, stderr, stdout};

/// A phrase in G major (quarters, a 16th run, a closing half note).
fn write_melody(path: &Path) -> Vec<(i64, i64, u8)> {
    let notes: &[(i64, i64, u8)] = &[
        (0, 480, 67),
        (480, 480, 71),
        (960, 480, 74),
        (1440, 120, 72),
        (1560, 120, 71),
        (1680, 120, 69),
        (1800, 120, 71),
        (1920, 480, 72),
        (2400, 480, 71),
        (2880, 480, 69),
        (3360, 960, 67),
    ];
    common::write_melody(path, 4, notes);
    notes.to_vec()
}

/// `--fermatas` holds the melody note at a beat under a fermata: the
/// written chorale carries it (a `fermata` marker at the note's onset), the
/// soprano is unchanged, and a bar past the end or a beat past the meter
/// is a clear error (a rest: the unit tests of `chorale.rs`).
#[test]
fn fermatas_placed_from_the_command_line_reach_the_chorale() {
    let dir = tempfile::tempdir().unwrap();
    let melody = dir.path().join("melody.mid");
    let notes = write_melody(&melody);
    let out = dir.path().join("f.mid");
    let run = |at: &str, out: &Path| {
        fugue(&[
            "harmonize",
            &s(&melody),
            "-o",
            &s(out),
            "--model",
            "harmonet",
            "--fermatas",
            at,
            "--seed",
            "1",
        ])
    };
    // Bar 1 beat 4 is the B (1440 is the 16th run's first note: beat 4).
    let o = run("1.4,2.4", &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let score = read(&out);
    assert_satb_keeps_soprano(&score, &notes);
    let marks: Vec<i64> = score
        .markers
        .iter()
        .filter(|m| m.text == "fermata")
        .map(|m| m.time)
        .collect();
    assert_eq!(marks, [1440, 3360], "the 16th at beat 4 and the closing half note");
    // Nine quarters: bar 3 holds the end of the half note, bar 4 is past it.
    let o = run("4.1", &dir.path().join("g.mid"));
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--fermatas 4.1: the melody has 3 bars"),
        "{}",
        stderr(&o)
    );
    let o = run("1.5", &dir.path().join("g.mid"));
    assert!(stderr(&o).contains("has 4 beats"), "{}", stderr(&o));
}

#[test]
fn the_embedded_harmonet_keeps_the_soprano_and_writes_three_voices() {
    let dir = tempfile::tempdir().unwrap();
    let melody = dir.path().join("melody.mid");
    let notes = write_melody(&melody);
    let out = dir.path().join("h.mid");
    let o = fugue(&[
        "harmonize",
        &s(&melody),
        "-o",
        &s(&out),
        "--model",
        "harmonet",
        "--seed",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("G major"), "{}", stderr(&o));
    let score = read(&out);
    assert_satb_keeps_soprano(&score, &notes);
    for t in &score.tracks[1..] {
        assert!(!t.notes.is_empty(), "{} is empty", t.name);
    }
    // No parallels, crossings or range violations.
    let (grid, _) = SatbGrid::from_score(&score, 4).unwrap();
    let r = fugue_eval::voice_leading::report(&grid.steps, &grid.onsets).unwrap();
    assert_eq!(
        (
            r.parallel_fifths,
            r.parallel_octaves,
            r.voice_crossings,
            r.range_violations
        ),
        (0, 0, 0, 0),
        "{r:?}"
    );
    // The same seed gives the same file; ABC melodies work too.
    let again = dir.path().join("again.mid");
    let o = fugue(&[
        "harmonize",
        &s(&melody),
        "-o",
        &s(&again),
        "--model",
        "harmonet",
        "--seed",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    let abc = dir.path().join("tune.abc");
    std::fs::write(&abc, "X:1\nT:test\nM:4/4\nL:1/4\nK:F\nF A c B | A G F2 |]\n").unwrap();
    let abc_out = dir.path().join("abc.mid");
    let o = fugue(&["harmonize", &s(&abc), "-o", &s(&abc_out), "--model", "harmonet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(&abc_out).tracks.len(), 4);
}

#[test]
fn bad_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let melody = dir.path().join("melody.mid");
    write_melody(&melody);
    let out = s(&dir.path().join("x.mid"));
    let m = s(&melody);
    for (args, expected) in [
        (
            vec!["harmonize", &m, "-o", &out, "--model", "harmonet", "--temperature=-1"],
            "temperature",
        ),
        (
            vec!["harmonize", &m, "-o", &out, "--model", "harmonet", "--gibbs-steps", "5"],
            "HARMONET",
        ),
        (vec!["infill", &m, "-o", &out, "--model", "harmonet"], "infill"),
        (
            vec!["harmonize", &m, "-o", &out, "--model", "harmonettt"],
            "unknown model",
        ),
    ] {
        let o = fugue(&args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr(&o).contains(expected), "{args:?}: {}", stderr(&o));
    }
    let o = fugue(&["train", "--model", "harmonet", "--data", "jsb", "-o", &out]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("harmonet read `jsb-16th`"), "{}", stderr(&o));
}

#[test]
fn train_eval_and_harmonize_a_split_with_the_jsb_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if !root.join("jsb_chorales_coconet/Jsb16thSeparated.json").is_file() {
        eprintln!("skipped: no JSB data under {}", root.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"model": {"config": {"hidden": 16}}, "train": {"eval_every": 20}}"#,
    )
    .unwrap();
    let run = dir.path().join("run");
    let o = common::train_small("harmonet", "jsb-16th", &config, &root, &run, "40");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = fugue(&["eval", &s(&run), "--split", "valid", "--data-root", &s(&root), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["unit"], "nats/beat");
    let nll = v["nll"].as_f64().unwrap();
    assert!(nll > 0.0 && nll < (577f64).ln(), "{v}");
    assert!(v["labels_fitting_onset"].as_f64().unwrap() > 0.8, "{v}");
    let harm = dir.path().join("harm");
    let o = fugue(&[
        "harmonize",
        "--data",
        "jsb-16th",
        "--split",
        "valid",
        "--data-root",
        &s(&root),
        "-o",
        &s(&harm),
        "--model",
        &s(&run),
        "--seed",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&harm).unwrap().count(), 76);
    let o = fugue(&["eval-chorale", &s(&harm), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["total"]["voice_crossings"], 0, "{v}");
}
