//! BachBot end to end: `fugue train --model lstm --data bach-chorales`
//! (its default encoding and recipe, shrunk by `--config`), `fugue eval` in
//! nats per token and `fugue generate` from the run folder. The data is a
//! small fake `bach_chorales_musicxml/` of hand-built MusicXML chorales
//! written into a temp folder, so these tests need nothing from
//! `../shared/data`.

use std::path::{Path, PathBuf};

use fugue_data::dataset::{hash_split, sha256};
use fugue_data::Split;
use fugue_score::musicxml::{write_mxl, WriteOptions};
use fugue_score::{KeySignature, Note, Score, Text, Tick, TimeSignature, Track};

mod common;
use common::{fugue, generate_from, s, stderr, stdout, train_small};

/// Four bars of quarter-note chords in D major (two sharps) walking a
/// scale from degree `k`, a fermata on every second bar's last chord;
/// `beats` quarters a bar (4 for 4/4, 3 for the waltz the filter drops).
fn chorale(k: usize, beats: u8) -> Score<Tick> {
    let mut s = Score::new(480);
    s.time_signatures.push(TimeSignature::new(0, beats, 4));
    s.key_signatures.push(KeySignature {
        time: 0,
        key: 2,
        minor: false,
    });
    let scale = [0, 2, 4, 5, 7, 9, 11, 12];
    let quarters = 4 * i64::from(beats);
    let base = [74, 66, 59, 50];
    for (v, name) in ["Soprano", "Alto", "Tenor", "Bass"].iter().enumerate() {
        let mut t = Track::new(*name, 0, v as u8);
        for q in 0..quarters {
            let step = scale[(q as usize + k + v) % scale.len()];
            t.notes.push(Note::new(q * 480, 480, base[v] + step - 6, 80));
        }
        s.tracks.push(t);
    }
    for bar in (2..=4).step_by(2) {
        s.markers.push(Text {
            time: (bar * i64::from(beats) - 1) * 480,
            text: "fermata".into(),
        });
    }
    s
}

/// A fake data root: chorales named so that the hash split gives at least
/// four to train on and one each to validate and test, plus a 3/4 chorale
/// (left out by BachBot's 4/4 filter) and a chorale with a horn part
/// (skipped by the loader).
fn fake_data_root(dir: &Path) -> PathBuf {
    let folder = dir.join("data/bach_chorales_musicxml");
    std::fs::create_dir_all(&folder).unwrap();
    let opts = WriteOptions::default();
    let mut per_split = [0usize; 3];
    let mut n = 0;
    while per_split[0] < 4 || per_split[1] < 1 || per_split[2] < 1 {
        n += 1;
        let name = format!("bwv{n}.6");
        let split = hash_split(&sha256(name.as_bytes()));
        let i = Split::ALL.iter().position(|s| *s == split).unwrap();
        if per_split[i] >= 4 {
            continue;
        }
        per_split[i] += 1;
        let bytes = write_mxl(&chorale(n, 4), &opts).unwrap();
        std::fs::write(folder.join(format!("{name}.mxl")), bytes).unwrap();
    }
    std::fs::write(folder.join("bwv900.1.mxl"), write_mxl(&chorale(1, 3), &opts).unwrap()).unwrap();
    let mut horn = chorale(2, 4);
    horn.tracks.insert(0, Track::new("Horn", 0, 5));
    horn.tracks[0].notes.push(Note::new(0, 480, 60, 80));
    std::fs::write(folder.join("bwv901.1.mxl"), write_mxl(&horn, &opts).unwrap()).unwrap();
    dir.join("data")
}

fn tiny_config(dir: &Path) -> PathBuf {
    let cfg = dir.join("tiny.json");
    std::fs::write(
        &cfg,
        r#"{"model": {"config": {"embedding": 8, "hidden": 24, "layers": 1, "dropout": 0.0}},
            "data": {"batch_size": 4, "seq_len": 32},
            "train": {"eval_every": 10, "checkpoint_every": 10, "patience": null}}"#,
    )
    .unwrap();
    cfg
}

#[test]
fn train_eval_and_generate_bachbot_on_musicxml_chorales() {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_data_root(dir.path());
    let o = fugue(&["data", "list", "--data-root", &s(&root)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("bach-chorales") && l.contains("found")),
        "{}",
        stdout(&o)
    );

    let run = dir.path().join("run");
    let o = train_small("lstm", "bach-chorales", &tiny_config(dir.path()), &root, &run, "30");
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("bwv901.1.mxl: skipped: 5 part(s)"), "{err}");
    assert!(
        err.contains("as BachBot tokens: ") && err.contains("1 not in 4/4 left out"),
        "{err}"
    );
    // The recipe is BachBot's, less what the config shrank.
    let recipe: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        recipe["data"]["encoding"],
        serde_json::json!({"kind": "bachbot", "standardize_key": true, "four_four_only": true})
    );
    assert_eq!(recipe["model"]["config"]["vocab_size"], 260);
    assert_eq!(recipe["train"]["schedule"]["kind"], "step");
    assert_eq!(recipe["train"]["schedule"]["factor"], 0.5);
    assert_eq!(recipe["train"]["clip_norm"], 5.0);

    let o = fugue(&["eval", &s(&run), "--split", "valid", "--data-root", &s(&root)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("bach-chorales valid NLL") && stdout(&o).contains("nats/token"),
        "{}",
        stdout(&o)
    );
    let o = fugue(&["eval", &s(&run), "--split", "valid", "--data-root", &s(&root), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["unit"], "nats/token");
    let nll = v["nll"].as_f64().unwrap();
    // Below a uniform guess over the 260 tokens: it learnt something.
    assert!(nll > 0.0 && nll < (260f64).ln(), "{nll}");

    // Two bars from the run, the same with the same seed.
    let out = dir.path().join("bb.mid");
    let generate = |force: bool| generate_from(&run, &out, ["--seconds", "6"], "5", force);
    let o = generate(false);
    assert!(o.status.success(), "{}", stderr(&o));
    let o2 = fugue(&["info", &s(&out), "--json"]);
    assert!(o2.status.success(), "{}", stderr(&o2));
    let info: serde_json::Value = serde_json::from_slice(&o2.stdout).unwrap();
    assert_eq!(info["tracks"].as_array().unwrap().len(), 4, "{info}");
    assert!(info["notes"].as_u64().unwrap() > 0, "{info}");
    // 6 s at 76 quarters a minute: 7.6 quarters, rounded to 30 sixteenths.
    let seconds = info["duration_seconds"].as_f64().unwrap();
    assert!(seconds <= 6.0 + 1e-6, "{seconds}");
    let first = std::fs::read(&out).unwrap();
    let o = generate(true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), first);
}

/// BachProp on the same fake chorales: the run records the corpus's
/// vocabularies and sizes its network by them; eval is in nats per note;
/// sampling is one merged track, the same for the same seed.
#[test]
fn train_eval_and_generate_bachprop_on_musicxml_chorales() {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_data_root(dir.path());
    let cfg = dir.path().join("bp.json");
    std::fs::write(
        &cfg,
        r#"{"model": {"config": {"hidden": 8}},
            "data": {"batch_size": 4, "seq_len": 16},
            "train": {"eval_every": 10, "checkpoint_every": 10, "patience": null}}"#,
    )
    .unwrap();
    let run = dir.path().join("bp");
    let o = train_small("bachprop", "bach-chorales", &cfg, &root, &run, "20");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("as BachProp notes: "), "{}", stderr(&o));
    let recipe: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    let vocab = &recipe["data"]["encoding"]["vocab"];
    // Quarter notes only, struck together or a quarter apart.
    assert_eq!(vocab["dt"], serde_json::json!([0, 48]), "{vocab}");
    assert_eq!(vocab["t"], serde_json::json!([48]), "{vocab}");
    let pitches = vocab["high"].as_u64().unwrap() - vocab["low"].as_u64().unwrap() + 1;
    assert_eq!(
        recipe["model"]["config"]["sizes"],
        serde_json::json!([3, 2, pitches + 1])
    );

    let o = fugue(&["eval", &s(&run), "--split", "test", "--data-root", &s(&root), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["unit"], "nats/note");
    let nll = v["nll"].as_f64().unwrap();
    // Below a uniform guess over every (dT, T, P).
    assert!(nll > 0.0 && nll < (3.0 * 2.0 * (pitches + 1) as f64).ln(), "{nll}");

    let out = dir.path().join("bp.mid");
    let generate = |force: bool| {
        let mut args = vec!["generate", "--model"];
        let (r, o) = (s(&run), s(&out));
        args.extend([r.as_str(), "-o", o.as_str(), "--tokens", "12", "--seed", "9"]);
        if force {
            args.push("--force");
        }
        fugue(&args)
    };
    let o = generate(false);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = std::fs::read(&out).unwrap();
    let o = generate(true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), first);
    let o = fugue(&["info", &s(&out), "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["tracks"].as_array().unwrap().len(), 1, "{info}");
    assert!(info["notes"].as_u64().unwrap() <= 12, "{info}");
    // By time: 3 s at 100 quarters a minute is 5 quarters; drawing stops at
    // the first note past it, and at 16 notes a quarter at most.
    let timed = dir.path().join("bp-timed.mid");
    let o = fugue(&[
        "generate",
        "--model",
        &s(&run),
        "-o",
        &s(&timed),
        "--seconds",
        "3",
        "--seed",
        "4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let score = common::read_score(&timed);
    let tpq = i64::from(score.ticks_per_quarter);
    let onsets: Vec<i64> = score
        .tracks
        .iter()
        .flat_map(|t| t.notes.iter().map(|n| n.time))
        .collect();
    assert!(
        onsets.iter().all(|&t| t < 5 * tpq),
        "onsets within 5 quarters: {onsets:?}"
    );
    assert!(score.note_count() <= 80);
}
