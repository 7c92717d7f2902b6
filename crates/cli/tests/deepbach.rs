//! DeepBach end to end: `fugue train --model deepbach`, `fugue eval` with
//! per-voice figures, and `fugue harmonize` / `fugue infill` from the run
//! folder. The data is a small fake `jsb-16th` written into a temp folder,
//! so these tests need nothing from `../shared/data`.

use std::path::{Path, PathBuf};

use fugue_score::midi::{read_midi, write_midi, MidiFormat, ReadOptions};
use fugue_score::{Note, Score, Tick, TimeSignature, Track};
use fugue_tokens::chorale::SatbGrid;

mod common;
use common::{fugue, s, stderr};

fn grid(path: &Path) -> SatbGrid {
    let score = read_midi(&std::fs::read(path).unwrap(), &ReadOptions::default())
        .unwrap()
        .score;
    SatbGrid::from_score(&score, 4).unwrap().0
}

/// A fake `jsb-16th`: chorales of quarter notes moving by step, each voice
/// in its own octave, 64 ticks long.
fn fake_data_root(dir: &Path) -> PathBuf {
    let piece = |k: usize| -> Vec<[i32; 4]> {
        (0..64)
            .map(|t| {
                let step = [0, 2, 4, 5, 7, 5, 4, 2][(t / 4 + k) % 8];
                [67 + step, 60 + step / 2, 55 + step / 2, 43 + step]
            })
            .collect()
    };
    let split = |ks: &[usize]| ks.iter().map(|&k| piece(k)).collect::<Vec<_>>();
    let json = serde_json::json!({
        "train": split(&[0, 1, 2, 3, 4, 5]),
        "valid": split(&[6, 7]),
        "test": split(&[1]),
    });
    let folder = dir.join("data/jsb_chorales_coconet");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("Jsb16thSeparated.json"), json.to_string()).unwrap();
    dir.join("data")
}

/// A tiny DeepBach that trains in seconds.
fn tiny_config(dir: &Path) -> PathBuf {
    let cfg = dir.join("tiny.json");
    std::fs::write(
        &cfg,
        r#"{"model": {"config": {"note_embedding": 4, "metadata_embedding": 3, "lstm_hidden": 16,
                                  "lstm_layers": 1, "centre_hidden": 16, "output_hidden": 16,
                                  "dropout": 0.0, "context": 4}},
            "data": {"batch_size": 16, "seq_len": 9, "eval_batches": 2},
            "train": {"eval_every": 20, "checkpoint_every": 20, "patience": null,
                      "schedule": {"kind": "constant", "lr": 0.01}}}"#,
    )
    .unwrap();
    cfg
}

/// A two-bar melody in 4/4 with a repeated note (quarter notes, 480 tpq).
fn write_melody(path: &Path, pitches: &[u8]) {
    let mut score = Score::<Tick>::new(480);
    score.time_signatures.push(TimeSignature::new(0, 4, 4));
    let mut t = Track::new("melody", 0, 0);
    for (i, &p) in pitches.iter().enumerate() {
        t.notes.push(Note::new(i as i64 * 480, 480, p, 90));
    }
    score.tracks.push(t);
    std::fs::write(path, write_midi(&score, MidiFormat::Type1).unwrap()).unwrap();
}

/// Trains the tiny model once into `dir/run`.
fn train(dir: &Path) -> (PathBuf, PathBuf) {
    let root = fake_data_root(dir);
    let run = dir.join("run");
    let cfg = tiny_config(dir);
    let o = fugue(&[
        "train",
        "--model",
        "deepbach",
        "--data",
        "jsb-16th",
        "--config",
        &s(&cfg),
        "--data-root",
        &s(&root),
        "-o",
        &s(&run),
        "--steps",
        "60",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    (run, root)
}

#[test]
fn train_eval_harmonize_and_infill_with_a_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (run, root) = train(dir.path());
    // The recipe records the training corpus' voice ranges.
    let recipe: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(recipe["model"]["kind"], "deepbach");
    assert_eq!(
        recipe["data"]["encoding"]["corpus"]["voice_ranges"][0],
        serde_json::json!([67, 74])
    );
    assert_eq!(recipe["data"]["encoding"]["corpus"]["keys"], false);

    // Per-voice NLL and accuracy on every tick of the valid split.
    let o = fugue(&["eval", &s(&run), "--split", "valid", "--json", "--data-root", &s(&root)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ticks"], 128, "{v}");
    assert_eq!(v["count"], 512, "{v}");
    assert_eq!(v["unit"], "nats/note");
    let mut mean = 0.0;
    for voice in ["soprano", "alto", "tenor", "bass"] {
        let nll = v["voices"][voice]["nll"].as_f64().unwrap();
        let acc = v["voices"][voice]["accuracy"].as_f64().unwrap();
        assert!(nll.is_finite() && nll > 0.0, "{voice}: {nll}");
        assert!((0.0..=1.0).contains(&acc), "{voice}: {acc}");
        mean += nll / 4.0;
    }
    assert!((v["nll"].as_f64().unwrap() - mean).abs() < 1e-9);
    // Untrained, 132 tokens cost ln 132 = 4.88 nats; 60 steps learn the holds.
    assert!(mean < 3.0, "valid NLL {mean}");
    let o = fugue(&["eval", &s(&run), "--split", "test", "--data-root", &s(&root)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Soprano") && text.contains("overall"), "{text}");

    // Harmonize: the melody is kept note for note (its repeated note
    // included), alto, tenor and bass come from the corpus' ranges.
    let melody = dir.path().join("melody.mid");
    let pitches = [67u8, 67, 69, 71, 72, 71, 69, 67];
    write_melody(&melody, &pitches);
    let harmonize = |out: &Path| {
        fugue(&[
            "harmonize",
            &s(&melody),
            "-o",
            &s(out),
            "--model",
            &s(&run),
            "--seed",
            "5",
            "--gibbs-steps",
            "40",
        ])
    };
    let out = dir.path().join("h.mid");
    let o = harmonize(&out);
    assert!(o.status.success(), "{}", stderr(&o));
    let g = grid(&out);
    assert_eq!(g.len(), 32);
    let (melody_grid, _) = {
        let score = read_midi(&std::fs::read(&melody).unwrap(), &ReadOptions::default())
            .unwrap()
            .score;
        let mut four = Score::<Tick>::new(score.ticks_per_quarter);
        four.tracks.push(score.tracks[0].clone());
        for name in ["Alto", "Tenor", "Bass"] {
            four.tracks.push(Track::new(name, 0, 0));
        }
        SatbGrid::from_score(&four, 4).unwrap()
    };
    for t in 0..32 {
        assert_eq!(g.steps[t][0], melody_grid.steps[t][0], "soprano at {t}");
        assert_eq!(g.onsets[t][0], melody_grid.onsets[t][0], "soprano onset at {t}");
    }
    let ranges = &recipe["data"]["encoding"]["corpus"]["voice_ranges"];
    assert_eq!(ranges[1], serde_json::json!([60, 63]));
    for cell in &g.steps {
        for v in 1..4 {
            let (lo, hi) = (ranges[v][0].as_u64().unwrap(), ranges[v][1].as_u64().unwrap());
            if let Some(p) = cell[v] {
                assert!((lo..=hi).contains(&u64::from(p)), "voice {v} pitch {p}");
            }
        }
    }
    // The same seed, the same file.
    let again = dir.path().join("h2.mid");
    assert!(harmonize(&again).status.success());
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());

    // Infill bar 2 of alto and tenor, keeping their rhythm.
    let infilled = dir.path().join("i.mid");
    let o = fugue(&[
        "infill",
        &s(&out),
        "--voices",
        "alto,tenor",
        "--bars",
        "2",
        "--keep-rhythm",
        "-o",
        &s(&infilled),
        "--model",
        &s(&run),
        "--seed",
        "1",
        "--gibbs-steps",
        "30",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = grid(&infilled);
    assert_eq!(after.len(), g.len());
    for t in 0..g.len() {
        for v in 0..4 {
            let inside = (16..32).contains(&t) && (v == 1 || v == 2);
            if inside {
                // Kept rhythm: an onset stays an onset, a held cell held.
                assert_eq!(after.onsets[t][v], g.onsets[t][v], "onset at ({t}, {v})");
                assert_eq!(after.steps[t][v].is_some(), g.steps[t][v].is_some());
            } else {
                assert_eq!(after.steps[t][v], g.steps[t][v], "pitch at ({t}, {v})");
            }
        }
    }

    // Coconet's sampler and bad settings are refused with a reason.
    for (flag, value, needle) in [
        ("--ancestral", None, "pseudo-Gibbs"),
        ("--gibbs-steps", Some("0"), "at least one"),
        ("--keep-rhythm", None, "infill"),
    ] {
        let bad = dir.path().join("bad.mid");
        let mut args = vec![
            "harmonize",
            melody.to_str().unwrap(),
            "-o",
            bad.to_str().unwrap(),
            "--model",
        ];
        let run_s = s(&run);
        args.push(&run_s);
        args.push(flag);
        if let Some(v) = value {
            args.push(v);
        }
        let o = fugue(&args);
        assert!(!o.status.success(), "{flag}");
        assert!(stderr(&o).contains(needle), "{flag}: {}", stderr(&o));
        assert!(!bad.exists());
    }
}

#[test]
fn keep_rhythm_needs_deepbach() {
    let dir = tempfile::tempdir().unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/bach_chorale.mid");
    let out = dir.path().join("i.mid");
    let o = fugue(&["infill", sample, "--keep-rhythm", "-o", &s(&out)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("DeepBach"), "{}", stderr(&o));
    assert!(!out.exists());
}
