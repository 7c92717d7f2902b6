//! `fugue data` end to end, in temporary folders; the real-corpus checks skip
//! with a printed reason when `../shared/data` is absent.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fugue(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fugue"))
        .args(args)
        .env_remove("FUGUE_DATA")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn shared() -> Option<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p.display().to_string())
    } else {
        println!("skipped: {} is absent", p.display());
        None
    }
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

#[test]
fn list_shows_known_names_found_or_not_and_leaves_abc_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let o = fugue(&["data", "list", "--data-root", &root]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    for name in [
        "jsb",
        "nottingham",
        "musedata",
        "piano-midi",
        "jsb-16th",
        "js-fakes",
        "pop909",
        "piano",
        "nottingham-abc",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name}: {text}"
        );
    }
    assert!(text.contains("missing") && !text.contains("found "), "{text}");
    // $FUGUE_DATA is the root when no flag is given.
    let o = Command::new(env!("CARGO_BIN_EXE_fugue"))
        .args(["data", "list"])
        .env("FUGUE_DATA", &root)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains(&root));
}

#[test]
fn info_json_has_the_documented_shape_and_published_sizes() {
    let Some(root) = shared() else { return };
    for (name, sizes) in [
        ("jsb", [229, 76, 77]),
        ("nottingham", [694, 173, 170]),
        ("musedata", [524, 135, 124]),
        ("piano-midi", [87, 12, 25]),
    ] {
        let o = fugue(&["data", "info", name, "--json", "--data-root", &root]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 2);
        assert_eq!(v["name"], name);
        for (split, n) in ["train", "valid", "test"].into_iter().zip(sizes) {
            assert_eq!(v["splits"][split]["pieces"], n, "{name} {split}");
            assert!(v["splits"][split]["frames"].as_u64().unwrap() > 0);
            assert!(v["splits"][split]["tokens"].as_u64().unwrap() > 0);
        }
    }
    let o = fugue(&["data", "info", "jsb", "--json", "--data-root", &root]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["splits"]["train"]["frames"], 13_807);
}

#[test]
fn missing_data_and_unknown_names_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let o = fugue(&["data", "info", "pop909", "--data-root", &root]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains(&root) && e.contains("expected there"), "{e}");
    let o = fugue(&["data", "info", "no-such-set", "--data-root", &root]);
    assert!(stderr(&o).contains("unknown dataset"), "{}", stderr(&o));
    let o = fugue(&["data", "info", "nottingham-abc", "--data-root", &root]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("ABC_cleaned"), "{}", stderr(&o));
}

#[test]
fn prepare_a_folder_writes_split_shards_resumes_and_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for f in std::fs::read_dir(samples()).unwrap().flatten() {
        std::fs::copy(f.path(), corpus.join(f.file_name())).unwrap();
    }
    std::fs::write(corpus.join("corrupt.mid"), b"not midi at all").unwrap();
    let out = dir.path().join("out").display().to_string();
    let c = corpus.display().to_string();
    let o = fugue(&["data", "prepare", &c, "--scheme", "remi", "-o", &out, "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("corrupt.mid"), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&out).join("dataset.json")).unwrap()).unwrap();
    let total: u64 = ["train", "valid", "test"]
        .iter()
        .map(|s| summary["splits"][s]["tokenized"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 4);
    for s in ["train", "valid", "test"] {
        assert!(Path::new(&out).join(s).join("manifest.json").is_file());
    }
    let again = fugue(&["data", "prepare", &c, "--scheme", "remi", "-o", &out, "--quiet"]);
    assert!(again.status.success());
    assert!(stderr(&again).contains("resumed"), "{}", stderr(&again));
    let other = fugue(&["data", "prepare", &c, "--scheme", "tsd", "-o", &out, "--quiet"]);
    assert_eq!(other.status.code(), Some(1));
    assert!(stderr(&other).contains("--force"), "{}", stderr(&other));
    let forced = fugue(&[
        "data", "prepare", &c, "--scheme", "tsd", "-o", &out, "--quiet", "--force",
    ]);
    assert!(forced.status.success(), "{}", stderr(&forced));
}

#[test]
fn prepared_jsb_decodes_back_with_tokenize_decode() {
    let Some(root) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("jsb").display().to_string();
    let o = fugue(&[
        "data",
        "prepare",
        "jsb-16th",
        "--scheme",
        "remi",
        "-o",
        &out,
        "--data-root",
        &root,
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&out).join("test/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["files"].as_array().unwrap().len(), 77);
    let midi = dir.path().join("midi").display().to_string();
    let d = fugue(&["tokenize", "--decode", &format!("{out}/test"), "-o", &midi, "--quiet"]);
    assert!(d.status.success(), "{}", stderr(&d));
    assert!(stderr(&d).contains("77 MIDI files written"), "{}", stderr(&d));
}
