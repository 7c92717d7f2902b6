//! Performance RNN and the piano Music Transformer end to end: `fugue train
//! --model lstm --data FOLDER` (the Performance RNN recipe, shrunk by
//! `--config`) on a folder of fake piano performances, `fugue eval` in nats
//! per event and `fugue generate` from the run folder; the same for
//! `--model music-transformer`. The MIDI files are written into a temp
//! folder, so these tests need nothing from `../shared/data`.

use std::path::{Path, PathBuf};
use std::process::Output;

use fugue_data::dataset::{hash_split, sha256};
use fugue_data::Split;
use fugue_score::midi::{write_midi, MidiFormat};
use fugue_score::{Note, Pedal, Score, Tempo, Tick, Track};

mod common;
use common::{fugue, generate_from, s, stderr, stdout};

/// A 12 s "performance" at 120 qpm (960 ticks a second): broken chords in
/// a key set by `k`, uneven timing and velocities, the pedal down for the
/// first half.
fn performance(k: u64) -> Score<Tick> {
    let mut s = Score::new(480);
    s.tempos.push(Tempo::from_qpm(0, 120.0));
    let mut t = Track::new("Piano", 0, 0);
    let root = 48 + (k % 12) as u8;
    let mut at = 0i64;
    let mut i = 0u64;
    while at < 12 * 960 {
        let step = [0u8, 4, 7, 12, 16, 12, 7, 4][(i % 8) as usize];
        let jitter = ((i * 37 + k * 11) % 29) as i64;
        t.notes.push(Note::new(
            at,
            200 + jitter * 5,
            root + step,
            50 + ((i * 13 + k) % 60) as u8,
        ));
        at += 180 + jitter * 3;
        i += 1;
    }
    t.pedals.push(Pedal {
        time: 0,
        duration: 6 * 960,
    });
    s.tracks.push(t);
    s
}

/// A folder of MIDI performances whose hash split gives at least three to
/// train on and one each to validate and test.
fn fake_folder(dir: &Path) -> PathBuf {
    let folder = dir.join("performances");
    std::fs::create_dir_all(&folder).unwrap();
    let mut per_split = [0usize; 3];
    let mut k = 0;
    while per_split[0] < 3 || per_split[1] < 1 || per_split[2] < 1 {
        k += 1;
        let bytes = write_midi(&performance(k), MidiFormat::Type1).unwrap();
        let i = Split::ALL
            .iter()
            .position(|s| *s == hash_split(&sha256(&bytes)))
            .unwrap();
        if per_split[i] >= 3 {
            continue;
        }
        per_split[i] += 1;
        std::fs::write(folder.join(format!("perf{k}.mid")), bytes).unwrap();
    }
    folder
}

fn write_config(dir: &Path, name: &str, model: &str) -> PathBuf {
    let cfg = dir.join(name);
    let text = format!(
        r#"{{"model": {{"config": {model}}},
            "data": {{"batch_size": 4, "seq_len": 32, "encoding": {{"chunk_seconds": 5}}}},
            "train": {{"eval_every": 10, "checkpoint_every": 10, "patience": null}}}}"#
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

fn train(model: &str, folder: &Path, cfg: &Path, run: &Path, steps: &str) -> Output {
    fugue(&[
        "train",
        "--model",
        model,
        "--data",
        &s(folder),
        "--config",
        &s(cfg),
        "-o",
        &s(run),
        "--steps",
        steps,
        "--quiet",
    ])
}

fn generate(run: &Path, out: &Path, force: bool) -> Output {
    generate_from(run, out, ["--seconds", "4"], "9", force)
}

#[test]
fn train_eval_and_generate_performance_rnn_on_a_midi_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = fake_folder(dir.path());
    let cfg = write_config(
        dir.path(),
        "tiny.json",
        r#"{"embedding": 16, "hidden": 32, "layers": 1}"#,
    );
    let run = dir.path().join("prnn");
    let o = train("lstm", &folder, &cfg, &run, "30");
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("as performance events (389 ids, 5 s chunks): pieces "),
        "{err}"
    );
    // The recipe is Performance RNN's, less what the config shrank.
    let recipe: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    let enc = &recipe["data"]["encoding"];
    assert_eq!(enc["kind"], "performance");
    assert_eq!(enc["transpose"], 3);
    assert_eq!(enc["stretch"], serde_json::json!([0.95, 0.975, 1.0, 1.025, 1.05]));
    assert_eq!(enc["events"]["num_velocity_bins"], 32);
    assert_eq!(recipe["model"]["config"]["vocab_size"], 389);
    assert_eq!(recipe["model"]["config"]["dropout"], 0.0);
    assert_eq!(recipe["train"]["clip_norm"], 3.0);
    assert_eq!(
        recipe["train"]["schedule"],
        serde_json::json!({"kind": "constant", "lr": 0.001})
    );

    let o = fugue(&["eval", &s(&run), "--split", "valid"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("valid NLL") && stdout(&o).contains("nats/token"),
        "{}",
        stdout(&o)
    );
    let o = fugue(&["eval", &s(&run), "--split", "valid", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["unit"], "nats/token");
    let nll = v["nll"].as_f64().unwrap();
    // Below a uniform guess over the 389 ids: it learnt something.
    assert!(nll > 0.0 && nll < (389f64).ln(), "{nll}");

    // Four seconds of piano from the run, the same with the same seed.
    let out = dir.path().join("prnn.mid");
    let o = generate(&run, &out, false);
    assert!(o.status.success(), "{}", stderr(&o));
    let o2 = fugue(&["info", &s(&out), "--json"]);
    assert!(o2.status.success(), "{}", stderr(&o2));
    let info: serde_json::Value = serde_json::from_slice(&o2.stdout).unwrap();
    assert_eq!(info["tracks"].as_array().unwrap().len(), 1, "{info}");
    assert!(info["notes"].as_u64().unwrap() > 0, "{info}");
    assert!(info["duration_seconds"].as_f64().unwrap() <= 4.0 + 1e-6, "{info}");
    let first = std::fs::read(&out).unwrap();
    let o = generate(&run, &out, true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), first);
}

#[test]
fn the_piano_music_transformer_trains_evaluates_and_generates() {
    let dir = tempfile::tempdir().unwrap();
    let folder = fake_folder(dir.path());
    let cfg = write_config(
        dir.path(),
        "tiny.json",
        r#"{"d_model": 16, "layers": 1, "heads": 2, "d_ff": 32, "dropout": 0.0}"#,
    );
    let run = dir.path().join("mt");
    let o = train("music-transformer", &folder, &cfg, &run, "10");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(310 ids, 5 s chunks)"), "{}", stderr(&o));
    let recipe: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(recipe["model"]["config"]["relative"], true);
    assert_eq!(recipe["model"]["config"]["max_relative"], 512);
    assert_eq!(recipe["data"]["encoding"]["events"]["pitch_low"], 21);
    let o = fugue(&["eval", &s(&run), "--split", "test", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["count"].as_u64().unwrap() > 0, "{v}");
    let out = dir.path().join("mt.mid");
    let o = generate(&run, &out, false);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("wrote "), "{}", stdout(&o));
}

/// A config that changes the vocabulary but not the model is refused
/// before training starts, naming the field.
#[test]
fn a_vocabulary_larger_than_the_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let folder = fake_folder(dir.path());
    let cfg = dir.path().join("bad.json");
    std::fs::write(
        &cfg,
        r#"{"model": {"config": {"vocab_size": 300, "embedding": 8, "hidden": 8, "layers": 1}},
            "data": {"batch_size": 2, "seq_len": 16}}"#,
    )
    .unwrap();
    let o = train("lstm", &folder, &cfg, &dir.path().join("bad"), "2");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("vocab_size is 300"), "{}", stderr(&o));
}
