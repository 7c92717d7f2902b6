//! Melody RNN and Todd's network end to end: `fugue train --model lstm` and
//! `--model todd` on `nottingham-abc` (their default recipes, shrunk by
//! `--config`), `fugue eval` in nats per event and `fugue generate` with and
//! without a primer. The data is a small fake `nottingham_abc_midi/
//! ABC_cleaned/` tunebook written into a temp folder, so these tests need
//! nothing from `../shared/data`.

use std::path::{Path, PathBuf};

use fugue_data::dataset::{hash_split, sha256};
use fugue_data::nottingham_abc::tune_id;
use fugue_data::Split;

mod common;
use common::{fugue, generate_from, read_score, s, stderr, stdout, train_small, write_melody};

/// A tunebook of short G-major reels (with chord symbols, which the melody
/// encoding leaves out), numbered so that the hash split gives at least
/// three tunes to train on and one each to validate and test.
fn fake_data_root(dir: &Path) -> PathBuf {
    let folder = dir.join("data/nottingham_abc_midi/ABC_cleaned");
    std::fs::create_dir_all(&folder).unwrap();
    let bars = ["\"G\"GABc dedB|\"D\"dBAG FGAF|", "\"G\"gfed BdcA|\"C\"GFGA \"G\"G4|"];
    let mut book = String::new();
    let mut per_split = [0usize; 3];
    let mut x = 0;
    while per_split[0] < 3 || per_split[1] < 1 || per_split[2] < 1 {
        x += 1;
        let i = Split::ALL
            .iter()
            .position(|s| *s == hash_split(&sha256(tune_id("reels.abc", x).as_bytes())))
            .unwrap();
        if per_split[i] >= 3 {
            continue;
        }
        per_split[i] += 1;
        let body = format!("{}{}{}", bars[x as usize % 2], bars[(x as usize + 1) % 2], bars[0]);
        book.push_str(&format!("X:{x}\nT:Reel {x}\nM:4/4\nL:1/8\nK:G\n{body}\n\n"));
    }
    std::fs::write(folder.join("reels.abc"), book).unwrap();
    dir.join("data")
}

#[test]
fn melody_rnn_and_todd_train_evaluate_and_generate_on_abc_tunes() {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_data_root(dir.path());
    let configs = [
        (
            "lstm",
            r#"{"model": {"config": {"hidden": 24, "layers": 1, "dropout": 0.0}},
                "data": {"batch_size": 4, "seq_len": 32},
                "train": {"eval_every": 10, "checkpoint_every": 10, "patience": null}}"#,
        ),
        (
            "todd",
            r#"{"model": {"config": {"hidden": 16}},
                "data": {"batch_size": 4, "seq_len": 32},
                "train": {"eval_every": 10, "checkpoint_every": 10, "patience": null}}"#,
        ),
    ];
    for (model, config) in configs {
        let cfg = dir.path().join(format!("{model}.json"));
        std::fs::write(&cfg, config).unwrap();
        let run = dir.path().join(model);
        let o = train_small(model, "nottingham-abc", &cfg, &root, &run, "30");
        assert!(o.status.success(), "{model}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("nottingham-abc as melody events: "),
            "{}",
            stderr(&o)
        );
        let recipe: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
        assert_eq!(
            recipe["data"]["encoding"],
            serde_json::json!({"kind": "melody", "steps_per_quarter": 4, "min_note": 48, "max_note": 84, "transpose_to_key": 0})
        );
        assert_eq!(recipe["model"]["config"]["vocab_size"], 39);

        let o = fugue(&["eval", &s(&run), "--split", "valid", "--data-root", &s(&root), "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["unit"], "nats/token");
        let nll = v["nll"].as_f64().unwrap();
        // Below a uniform guess over the 38 events: it learnt something.
        assert!(nll > 0.0 && nll < (38f64).ln(), "{model}: {nll}");

        // Four seconds at 120 quarters a minute is 32 sixteenths, one track;
        // the same seed gives the same file.
        let out = dir.path().join(format!("{model}.mid"));
        let o = generate_from(&run, &out, ["--seconds", "4"], "3", false);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("32 steps"), "{}", stdout(&o));
        let score = read_score(&out);
        assert_eq!(score.tracks.len(), 1);
        assert!(score.duration_seconds() <= 4.0 + 1e-6);
        let first = std::fs::read(&out).unwrap();
        let o = generate_from(&run, &out, ["--seconds", "4"], "3", true);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(std::fs::read(&out).unwrap(), first);

        // A primer in C major is kept note for note, then continued.
        let primer = dir.path().join("primer.mid");
        write_melody(&primer, 4, &[(0, 480, 60), (480, 480, 64), (960, 960, 67)]);
        let cont = dir.path().join(format!("{model}-cont.mid"));
        let o = fugue(&[
            "generate",
            "--model",
            &s(&run),
            "--primer",
            &s(&primer),
            "-o",
            &s(&cont),
            "--tokens",
            "16",
            "--seed",
            "1",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let score = read_score(&cont);
        let opening: Vec<(i64, u8)> = score.tracks[0]
            .notes
            .iter()
            .take(2)
            .map(|n| (n.time, n.pitch))
            .collect();
        assert_eq!(opening, vec![(0, 60), (480, 64)], "{model}");
    }
}

#[test]
fn a_melody_run_refuses_a_vocabulary_too_small_for_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_data_root(dir.path());
    let cfg = dir.path().join("bad.json");
    std::fs::write(&cfg, r#"{"model": {"config": {"vocab_size": 20, "pitches": 17}}}"#).unwrap();
    let o = train_small("todd", "nottingham-abc", &cfg, &root, &dir.path().join("run"), "2");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("vocab_size"), "{}", stderr(&o));
    assert!(!dir.path().join("run").exists(), "no run folder is left behind");
}

#[test]
fn eck_schmidhuber_trains_on_chords_and_melody_and_samples_two_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_data_root(dir.path());
    let cfg = dir.path().join("eck.json");
    std::fs::write(
        &cfg,
        r#"{"data": {"batch_size": 4, "seq_len": 16},
            "train": {"eval_every": 10, "checkpoint_every": 10, "patience": null}}"#,
    )
    .unwrap();
    let run = dir.path().join("eck");
    let o = train_small("eck-schmidhuber", "nottingham-abc", &cfg, &root, &run, "30");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("as chord + melody steps: "), "{}", stderr(&o));
    let o = fugue(&["eval", &s(&run), "--split", "valid", "--data-root", &s(&root), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["unit"], "nats/frame");
    let nll = v["nll"].as_f64().unwrap();
    // Below 25 fair coins: it learnt something.
    assert!(nll > 0.0 && nll < 25.0 * 2f64.ln(), "{nll}");
    // Four seconds at 120 quarters a minute: 16 eighths, melody and chords.
    let out = dir.path().join("eck.mid");
    let o = generate_from(&run, &out, ["--seconds", "4"], "2", false);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("16 steps"), "{}", stdout(&o));
    let score = read_score(&out);
    let names: Vec<&str> = score.tracks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Melody", "Chords"]);
    let o = fugue(&[
        "generate",
        "--model",
        &s(&run),
        "--primer",
        &s(&out),
        "-o",
        &s(&dir.path().join("p.mid")),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--primer"), "{}", stderr(&o));
    // A network whose units are not the encoding's is refused before a
    // run folder is written.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"model": {"config": {"melody_units": 5}}}"#).unwrap();
    let o = train_small(
        "eck-schmidhuber",
        "nottingham-abc",
        &bad,
        &root,
        &dir.path().join("bad"),
        "2",
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("melody_units"), "{}", stderr(&o));
    assert!(!dir.path().join("bad").exists());
}
