//! RNN-RBM end to end: `fugue train --model rnn-rbm --data jsb` (its
//! default recipe, shrunk by `--config`), `fugue eval` (an AIS estimate, in
//! text and JSON) and `fugue generate` from the run folder. The data is a
//! small fake `boulanger2012/jsb_chorales.json` written into a temp folder,
//! so this test needs nothing from `../shared/data`.

use std::path::{Path, PathBuf};

mod common;
use common::{fugue, generate_from, s, stderr, stdout, train_small};

/// Pieces of four-note chords walking up a scale, in Boulanger's layout.
fn fake_data_root(dir: &Path) -> PathBuf {
    let piece = |k: usize, len: usize| -> serde_json::Value {
        let scale = [0, 2, 4, 5, 7, 9, 11];
        (0..len)
            .map(|t| {
                let root = 48 + scale[(t + k) % 7];
                serde_json::json!([root, root + 4, root + 7, root + 12])
            })
            .collect()
    };
    let data = serde_json::json!({
        "train": (0..6).map(|k| piece(k, 24 + k)).collect::<Vec<_>>(),
        "valid": [piece(1, 12), piece(3, 9)],
        "test": [piece(2, 10)],
    });
    let folder = dir.join("data/boulanger2012");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("jsb_chorales.json"), data.to_string()).unwrap();
    dir.join("data")
}

fn tiny_config(dir: &Path) -> PathBuf {
    let cfg = dir.join("tiny.json");
    std::fs::write(
        &cfg,
        r#"{"model": {"config": {"hidden": 12, "recurrent": 8, "cd_steps": 3, "ais_chains": 8, "ais_betas": 40}},
            "data": {"batch_size": 2, "seq_len": 16},
            "train": {"eval_every": 10, "checkpoint_every": 10}}"#,
    )
    .unwrap();
    cfg
}

#[test]
fn train_eval_and_generate_rnn_rbm_on_fake_jsb() {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_data_root(dir.path());
    let run = dir.path().join("run");
    let o = train_small("rnn-rbm", "jsb", &tiny_config(dir.path()), &root, &run, "30");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("step 30: valid"), "{}", stderr(&o));
    // The recipe is the tutorial's, less what the config shrank.
    let recipe: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(recipe["model"]["kind"], "rnn_rbm");
    assert_eq!(recipe["model"]["config"]["pitches"], 88);
    assert_eq!(recipe["model"]["config"]["generate_gibbs_steps"], 25);
    assert_eq!(recipe["train"]["optimizer"]["kind"], "sgd");
    assert_eq!(recipe["train"]["schedule"]["lr"], 0.001);
    assert_eq!(recipe["train"]["clip_norm"], serde_json::Value::Null);

    let o = fugue(&["eval", &s(&run), "--split", "valid", "--data-root", &s(&root)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("jsb valid NLL (AIS estimate, 8 chains × 40 β)")
            && text.contains("nats/frame over 21 frames")
            && text.contains("biased low"),
        "{text}"
    );
    let json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "eval",
            run.to_str().unwrap(),
            "--split",
            "test",
            "--json",
            "--data-root",
        ];
        let r = s(&root);
        args.push(&r);
        args.extend_from_slice(extra);
        let o = fugue(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let v = json(&[]);
    assert_eq!(v["unit"], "nats/frame");
    assert_eq!(v["estimator"], "ais");
    assert_eq!(v["count"], 10);
    assert_eq!((v["ais_chains"].as_u64(), v["ais_betas"].as_u64()), (Some(8), Some(40)));
    let nll = v["nll"].as_f64().unwrap();
    // Positive and below the 88 ln 2 = 61 nats of a coin per pitch.
    assert!(nll > 0.0 && nll < 88.0 * 2f64.ln(), "{nll}");
    // The flags override the run's AIS settings; the estimate moves little.
    let v = json(&["--ais-chains", "16", "--ais-betas", "80"]);
    assert_eq!(
        (v["ais_chains"].as_u64(), v["ais_betas"].as_u64()),
        (Some(16), Some(80))
    );
    assert!((v["nll"].as_f64().unwrap() - nll).abs() < 1.0, "{v} vs {nll}");
    let o = fugue(&["eval", &s(&run), "--data-root", &s(&root), "--ais-chains", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("must be positive"), "{}", stderr(&o));

    // 16 frames from the run, the same with the same seed.
    let out = dir.path().join("rbm.mid");
    let generate = |seed: &str, force: bool| generate_from(&run, &out, ["--tokens", "16"], seed, force);
    let o = generate("5", false);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("16 steps"), "{}", stdout(&o));
    let o2 = fugue(&["info", &s(&out), "--json"]);
    assert!(o2.status.success(), "{}", stderr(&o2));
    let info: serde_json::Value = serde_json::from_slice(&o2.stdout).unwrap();
    assert_eq!(info["tracks"].as_array().unwrap().len(), 1, "{info}");
    let first = std::fs::read(&out).unwrap();
    let o = generate("5", true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), first);

    // Unknown models are listed with rnn-rbm among the known ones.
    let o = fugue(&[
        "train",
        "--model",
        "rbm",
        "--data",
        "jsb",
        "-o",
        &s(&dir.path().join("x")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown model `rbm`") && stderr(&o).contains("rnn-rbm"),
        "{}",
        stderr(&o)
    );
}

/// A dataset that is not there is an error naming it, and it leaves no run
/// folder behind: the retry with the data in place needs no `--force`.
#[test]
fn a_missing_dataset_writes_no_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let empty_root = dir.path().join("nothing-here");
    let run = dir.path().join("run");
    let o = train_small("rnn-rbm", "jsb", &tiny_config(dir.path()), &empty_root, &run, "10");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("jsb_chorales.json"), "{}", stderr(&o));
    assert!(!run.join("run.json").exists(), "a failed start wrote run.json");
    let root = fake_data_root(dir.path());
    let o = train_small("rnn-rbm", "jsb", &tiny_config(dir.path()), &root, &run, "10");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(run.join("run.json").exists());
}
