//! `fugue generate`, `fugue train` and `fugue eval` end to end.
//!
//! The generate tests use the embedded default model, so they run
//! everywhere; training tests read `../shared/data` and skip without it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fugue(args: &[&str]) -> Output {
    fugue_in(Path::new("."), args)
}

fn fugue_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fugue"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn info_json(path: &Path) -> serde_json::Value {
    let o = fugue(&["info", &s(path), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn default_model_writes_midi_wav_and_png_and_repeats_with_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("piece.mid");
    let o = fugue(&[
        "generate",
        "-o",
        &s(&out),
        "--tokens",
        "128",
        "--seed",
        "7",
        "--wav",
        "--png",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("seed 7"), "{}", stdout(&o));
    // 128 tokens are 32 sixteenth-note steps of four voices: two bars.
    let v = info_json(&out);
    assert_eq!(v["tracks"].as_array().unwrap().len(), 4, "{v}");
    assert_eq!(v["ticks_per_quarter"], 480);
    assert_eq!(v["time_signatures"][0]["numerator"], 4);
    assert!(
        (v["tempos"][0]["qpm"].as_f64().unwrap() - 76.0).abs() < 1e-3,
        "MIDI stores whole microseconds"
    );
    let notes = v["notes"].as_u64().unwrap();
    assert!((4..=128).contains(&notes), "{notes} notes");
    let wav = std::fs::read(dir.path().join("piece.wav")).unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[8..12], b"WAVE");
    assert!(wav.len() > 44 + 44_100, "a WAV of {} bytes is too short", wav.len());
    let png = std::fs::read(dir.path().join("piece.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // The same seed gives the same music; --force allows the rewrite.
    let first = std::fs::read(&out).unwrap();
    let o = fugue(&["generate", "-o", &s(&out), "--tokens", "128", "--seed", "7", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), first);
    // Another seed gives other music.
    let other = dir.path().join("other.mid");
    let o = fugue(&["generate", "-o", &s(&other), "--tokens", "128", "--seed", "8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(std::fs::read(&other).unwrap(), first);
}

#[test]
fn generate_without_arguments_picks_a_new_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let o = fugue_in(dir.path(), &["generate", "--tokens", "32", "--seed", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("fugue-3.mid").is_file());
    // A second run does not overwrite the first: it takes the next name.
    let o = fugue_in(dir.path(), &["generate", "--tokens", "32", "--seed", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("fugue-3-1.mid"), "{}", stdout(&o));
}

#[test]
fn generate_refuses_to_overwrite_and_reports_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.mid");
    std::fs::write(&out, b"precious").unwrap();
    let o = fugue(&["generate", "-o", &s(&out), "--tokens", "16"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("already exists") && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");

    // A sibling WAV that exists is refused before any work, too.
    let out2 = dir.path().join("new.mid");
    std::fs::write(dir.path().join("new.wav"), b"precious").unwrap();
    let o = fugue(&["generate", "-o", &s(&out2), "--tokens", "16", "--wav"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("new.wav"), "{}", stderr(&o));
    assert!(!out2.exists());

    let missing = dir.path().join("nope.mid");
    let o = fugue(&[
        "generate",
        "-o",
        &s(&dir.path().join("a.mid")),
        "--primer",
        &s(&missing),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope.mid"), "{}", stderr(&o));

    let o = fugue(&[
        "generate",
        "-o",
        &s(&dir.path().join("b.mid")),
        "--model",
        "no-such-model",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown model `no-such-model`"), "{}", stderr(&o));

    let o = fugue(&["generate", "-o", &s(&dir.path().join("c.mid")), "--device", "cuda"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--features fugue-models/cuda"), "{}", stderr(&o));
    assert!(!dir.path().join("c.mid").exists());

    let o = fugue(&["generate", "-o", &s(&dir.path().join("c.txt"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(".mid"), "{}", stderr(&o));

    let unwritable = dir.path().join("no/such/folder/d.mid");
    let o = fugue(&["generate", "-o", &s(&unwritable), "--tokens", "16"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("d.mid"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));

    // A primer that is not a chorale (one track) is an error, not a panic.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/features_type0.mid");
    let o = fugue(&["generate", "-o", &s(&dir.path().join("e.mid")), "--primer", &s(&sample)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("features_type0.mid"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn generate_continues_a_chorale_primer() {
    let dir = tempfile::tempdir().unwrap();
    let primer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/bach_chorale.mid");
    let out = dir.path().join("cont.mid");
    let o = fugue(&[
        "generate",
        "-o",
        &s(&out),
        "--primer",
        &s(&primer),
        "--tokens",
        "64",
        "--seed",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The output holds the whole primer and 16 more sixteenth-note steps.
    let before = info_json(&primer);
    let after = info_json(&out);
    let (b, a) = (
        before["duration_seconds"].as_f64().unwrap(),
        after["duration_seconds"].as_f64().unwrap(),
    );
    assert!(a > b * 0.9, "primer {b} s, output {a} s");
    assert!(after["notes"].as_u64().unwrap() >= before["notes"].as_u64().unwrap() / 2);
}

fn shared_data() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if root.join("jsb_chorales").is_dir() || root.join("MANIFEST.md").is_file() {
        Some(root)
    } else {
        println!("skipped: ../shared/data is absent");
        None
    }
}

#[test]
fn train_reports_bad_configs_and_missing_data() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.json");
    std::fs::write(&cfg, r#"{"train": {"stepz": 5}}"#).unwrap();
    let run = dir.path().join("run");
    let o = fugue(&[
        "train",
        "--model",
        "music-transformer",
        "--data",
        "jsb-16th",
        "--config",
        &s(&cfg),
        "-o",
        &s(&run),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("stepz") && stderr(&o).contains("bad.json"),
        "{}",
        stderr(&o)
    );
    assert!(!run.exists(), "a refused config must not create the run folder");

    let o = fugue(&["train", "--model", "wavenet", "--data", "jsb-16th", "-o", &s(&run)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown model `wavenet`"), "{}", stderr(&o));

    let o = fugue(&["train", "--model", "rnn-nade", "--data", "jsb-16th", "-o", &s(&run)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not train on"), "{}", stderr(&o));

    let nowhere = dir.path().join("empty-root");
    std::fs::create_dir(&nowhere).unwrap();
    let o = fugue(&[
        "train",
        "--model",
        "music-transformer",
        "--data",
        "jsb-16th",
        "--data-root",
        &s(&nowhere),
        "-o",
        &s(&run),
        "--steps",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("empty-root"), "{}", stderr(&o));

    let o = fugue(&["eval", &s(&dir.path().join("not-a-run"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a run folder"), "{}", stderr(&o));
}

/// A tiny transformer recipe that trains in seconds.
fn tiny_config(dir: &Path) -> PathBuf {
    let cfg = dir.join("tiny.json");
    std::fs::write(
        &cfg,
        r#"{"model": {"config": {"d_model": 32, "layers": 1, "heads": 2, "d_ff": 64, "max_relative": 32}},
            "data": {"batch_size": 4, "seq_len": 32, "eval_batches": 2},
            "train": {"eval_every": 3, "checkpoint_every": 3, "patience": null,
                      "schedule": {"kind": "constant", "lr": 0.003}}}"#,
    )
    .unwrap();
    cfg
}

#[test]
fn train_eval_generate_and_resume_after_sigkill() {
    let Some(root) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config(dir.path());
    let train = |run: &Path, steps: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--model",
            "music-transformer",
            "--data",
            "jsb-16th",
            "--config",
            cfg.to_str().unwrap(),
            "--data-root",
            root.to_str().unwrap(),
            "-o",
            run.to_str().unwrap(),
            "--steps",
            steps,
            "--quiet",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let whole = dir.path().join("whole");
    let o = fugue(&train(&whole, "300", &[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("trained 300 steps"), "{}", stdout(&o));
    // A second train into the same folder is refused.
    let again = fugue(&train(&whole, "300", &[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already holds a run"), "{}", stderr(&again));

    let eval = |run: &Path, which: &str| -> f64 {
        let o = fugue(&[
            "eval",
            &s(run),
            "--split",
            "valid",
            "--checkpoint",
            which,
            "--json",
            "--data-root",
            &s(&root),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["unit"], "nats/token");
        v["nll"].as_f64().unwrap()
    };
    let nll = eval(&whole, "last");
    // Untrained, a 49-token vocabulary costs ln 49 = 3.89 nats; 300 steps learn something.
    assert!(nll < 3.8, "valid NLL {nll}");

    // Kill a run for real once it has a checkpoint, then resume it.
    let killed = dir.path().join("killed");
    let args = train(&killed, "300", &[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fugue")).args(&args).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !killed.join("last/state.json").is_file() && std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
    // A resume runs the run's own recipe: a --config would change it.
    let o = fugue(
        &train(&killed, "300", &["--resume"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--config and --seed cannot change it"),
        "{}",
        stderr(&o)
    );
    let resume = |run: &Path, steps: &str| {
        fugue(&[
            "train",
            "--model",
            "music-transformer",
            "--data",
            "jsb-16th",
            "--data-root",
            &s(&root),
            "-o",
            &s(run),
            "--steps",
            steps,
            "--quiet",
            "--resume",
        ])
    };
    let o = resume(&killed, "300");
    assert!(o.status.success(), "{}", stderr(&o));
    // It really was cut short: the resume starts from an early checkpoint.
    let at: u64 = stderr(&o)
        .split("resumed at step ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no resume line in {}", stderr(&o)));
    assert!(at < 300, "the run was not killed before its end (resumed at {at})");
    let resumed = eval(&killed, "last");
    assert!(
        (resumed - nll).abs() < 1e-6,
        "resumed run ends at {resumed}, the uninterrupted one at {nll}"
    );

    // --resume --steps extends a finished run, and its recipe says so.
    let o = resume(&whole, "320");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("resumed at step 300"), "{}", stderr(&o));
    let recipe: serde_json::Value = serde_json::from_slice(&std::fs::read(whole.join("run.json")).unwrap()).unwrap();
    assert_eq!(recipe["train"]["steps"], 320);
    let longer = eval(&whole, "last");
    assert!(
        (longer - nll).abs() > 1e-7,
        "20 more updates changed nothing ({longer})"
    );

    // The run generates through the same door as the default model.
    let out = dir.path().join("from-run.mid");
    let o = fugue(&[
        "generate",
        "--model",
        &s(&whole),
        "-o",
        &s(&out),
        "--tokens",
        "32",
        "--seed",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(info_json(&out)["tracks"].as_array().unwrap().len(), 4);
}

/// Trains a TonicNet run on `jsb-16th` under `config` for `steps` updates
/// into `dir/tn`; asserts it succeeded.
fn train_tonicnet(dir: &Path, data: &Path, config: &str, steps: &str) -> PathBuf {
    let cfg = dir.join("tn.json");
    std::fs::write(&cfg, config).unwrap();
    let run = dir.join("tn");
    let o = fugue(&[
        "train",
        "--model",
        "tonicnet",
        "--data",
        "jsb-16th",
        "--config",
        &s(&cfg),
        "--steps",
        steps,
        "--quiet",
        "--data-root",
        &s(data),
        "-o",
        &s(&run),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    run
}

#[test]
fn tonicnet_trains_scores_note_tokens_and_generates() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let run = train_tonicnet(
        dir.path(),
        &data,
        r#"{"model": {"config": {"vocab_size": 98, "hidden": 24, "layers": 2, "z_size": 4, "z_table": 80, "dropout": 0.1}},
            "data": {"batch_size": 8, "seq_len": 16},
            "train": {"eval_every": 20, "checkpoint_every": 20, "patience": null,
                      "schedule": {"kind": "constant", "lr": 0.01}}}"#,
        "40",
    );
    let o = fugue(&["eval", &s(&run), "--split", "valid", "--json", "--data-root", &s(&data)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["unit"], "nats/note");
    // Every valid step's four voices are scored, no chord or `end` token.
    let notes = v["count"].as_u64().unwrap();
    assert_eq!(notes % 4, 0, "{v}");
    // Trained a little, it beats a uniform guess over the 47 note ids.
    let nll = v["nll"].as_f64().unwrap();
    assert!(nll < (47f64).ln(), "{v}");
    let per_piece = v["piece_mean_nll"].as_f64().unwrap();
    assert!((per_piece - nll).abs() < 0.5, "{v}");

    let out = dir.path().join("tn.mid");
    let o = fugue(&[
        "generate",
        "--model",
        &s(&run),
        "-o",
        &s(&out),
        "--tokens",
        "83",
        "--seed",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let info = info_json(&out);
    assert_eq!(info["tracks"].as_array().unwrap().len(), 4, "{info}");
}

/// TonicNet's own regime: whole pieces (`seq_len` 0) and SGD under 1cycle,
/// whose momentum each update logs.
#[test]
fn tonicnet_trains_on_whole_pieces_with_one_cycle_sgd() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let run = train_tonicnet(
        dir.path(),
        &data,
        r#"{"model": {"config": {"vocab_size": 98, "hidden": 16, "layers": 1, "z_size": 4, "z_table": 80, "dropout": 0.0}},
            "data": {"batch_size": 2, "seq_len": 0},
            "train": {"eval_every": 0, "checkpoint_every": 5, "patience": null,
                      "optimizer": {"kind": "sgd", "momentum": 0.0, "weight_decay": 0.0},
                      "schedule": {"kind": "one_cycle", "lr": 0.2, "total": 10, "pct_start": 0.3,
                                   "div_factor": 25.0, "final_div_factor": 1000.0, "momentum": [0.8, 0.95]}}}"#,
        "10",
    );
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let train: Vec<&serde_json::Value> = lines.iter().filter(|l| l["split"] == "train").collect();
    assert_eq!(train.len(), 10);
    assert!((train[0]["lr"].as_f64().unwrap() - 0.008).abs() < 1e-9, "{}", train[0]);
    assert!(
        (train[0]["momentum"].as_f64().unwrap() - 0.95).abs() < 1e-9,
        "{}",
        train[0]
    );
    assert!(train.iter().all(|l| l["loss"].as_f64().unwrap().is_finite()));
}
