//! The `fugue` binary end to end, in a temporary folder.

use std::path::{Path, PathBuf};

mod common;
use common::{fugue, stderr};

fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples")
        .join(name)
        .display()
        .to_string()
}

fn tmp(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn info_without_a_file_describes_the_embedded_sample() {
    let o = fugue(&["info"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("embedded") && text.contains("Soprano") && text.contains("197"),
        "{text}"
    );
}

#[test]
fn info_json_has_the_documented_fields() {
    let o = fugue(&["info", &sample("features_type0.mid"), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ticks_per_quarter"], 240);
    assert_eq!(v["notes"], 26);
    assert!((v["duration_seconds"].as_f64().unwrap() - 2.7).abs() < 1e-9);
    assert_eq!(v["tracks"].as_array().unwrap().len(), 6);
    assert_eq!(v["tracks"][5]["is_drum"], true);
    assert_eq!(v["tracks"][0]["name"], "Features");
    assert_eq!(v["tracks"][0]["program"], 40);
    assert_eq!(v["tracks"][0]["notes"], 6);
    assert_eq!(v["tempos"][1]["tick"], 720);
    assert_eq!(v["tempos"][1]["qpm"], 150.0);
    assert_eq!(v["time_signatures"][1]["numerator"], 6);
    assert_eq!(v["time_signatures"][1]["denominator"], 8);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
}

#[test]
fn strict_info_fails_on_a_warning() {
    let o = fugue(&["info", &sample("features_type0.mid"), "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("features_type0.mid") && e.contains("never ended"), "{e}");
}

#[test]
fn bad_inputs_give_clear_errors() {
    let o = fugue(&["info", "/no/such/file.mid"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/no/such/file.mid"));
    let o = fugue(&["info", &sample("../Cargo.toml")]);
    assert!(stderr(&o).contains("unsupported file type '.toml'"), "{}", stderr(&o));
    let dir = tempfile::tempdir().unwrap();
    let fake = tmp(&dir, "fake.mid");
    std::fs::write(&fake, b"this is not midi").unwrap();
    let o = fugue(&["info", fake.to_str().unwrap()]);
    let e = stderr(&o);
    assert!(
        e.contains("fake.mid") && e.contains("byte offset 0") && !e.contains("panicked"),
        "{e}"
    );
    let json = tmp(&dir, "bad.json");
    std::fs::write(&json, b"{\"tracks\": 3}").unwrap();
    let o = fugue(&["info", json.to_str().unwrap()]);
    assert!(stderr(&o).contains("not a fugue score JSON"), "{}", stderr(&o));
}

#[test]
fn convert_midi_json_midi_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (j, m) = (tmp(&dir, "a.json"), tmp(&dir, "b.mid"));
    let o = fugue(&["convert", &sample("bach_chorale.mid"), j.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = fugue(&["convert", j.to_str().unwrap(), m.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a = fugue(&["info", &sample("bach_chorale.mid"), "--json"]).stdout;
    let b = fugue(&["info", m.to_str().unwrap(), "--json"]).stdout;
    let strip = |v: &[u8]| {
        let mut v: serde_json::Value = serde_json::from_slice(v).unwrap();
        v["file"] = serde_json::Value::Null;
        v
    };
    assert_eq!(strip(&a), strip(&b));
    // MIDI → MIDI as type 0.
    let z = tmp(&dir, "z.mid");
    let o = fugue(&[
        "convert",
        &sample("bach_chorale.mid"),
        z.to_str().unwrap(),
        "--smf-type",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(&std::fs::read(&z).unwrap()[8..10], &[0, 0]);
}

#[test]
fn convert_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = tmp(&dir, "out.mid");
    std::fs::write(&out, b"precious").unwrap();
    let o = fugue(&["convert", &sample("bach_chorale.mid"), out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let o = fugue(&["convert", &sample("bach_chorale.mid"), out.to_str().unwrap(), "--force"]);
    assert!(o.status.success());
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"MThd");
    let o = fugue(&[
        "convert",
        &sample("bach_chorale.mid"),
        tmp(&dir, "x.wav").to_str().unwrap(),
    ]);
    assert!(stderr(&o).contains("unsupported file type '.wav'"));
}

#[test]
fn roll_draws_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let png = tmp(&dir, "roll.png");
    let o = fugue(&[
        "roll",
        &sample("features.rmi"),
        "-o",
        png.to_str().unwrap(),
        "--width",
        "800",
        "--height",
        "300",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // Width and height from the IHDR chunk.
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 800);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 300);
    let o = fugue(&["roll", &sample("features.rmi"), "-o", png.to_str().unwrap()]);
    assert!(stderr(&o).contains("already exists"));
    let o = fugue(&[
        "roll",
        &sample("features.rmi"),
        "-o",
        tmp(&dir, "r.jpg").to_str().unwrap(),
    ]);
    assert!(stderr(&o).contains(".png"));
    let o = fugue(&[
        "roll",
        &sample("features.rmi"),
        "-o",
        png.to_str().unwrap(),
        "--force",
        "--start",
        "5",
        "--end",
        "2",
    ]);
    assert!(stderr(&o).contains("must be after"));
}

#[test]
fn tokenize_prints_miditok_spelling_and_ids() {
    let o = fugue(&["tokenize", "--scheme", "remi", &sample("bach_chorale.mid"), "--print"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(
        lines[0].starts_with("Bar_None TimeSig_4/4 Position_0 Pitch_"),
        "{}",
        lines[0]
    );
    let o = fugue(&[
        "tokenize",
        "--scheme",
        "performance",
        &sample("bach_chorale.mid"),
        "--print",
        "--ids",
    ]);
    let first: Vec<u32> = String::from_utf8(o.stdout)
        .unwrap()
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    assert!(first.iter().all(|&i| i < 388));
}

#[test]
fn tokenize_remi_plus_octuple_mmm_and_a_bad_program_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tmp(&dir, "plus.json");
    std::fs::write(&cfg, r#"{"use_programs": true}"#).unwrap();
    let chorale = sample("bach_chorale.mid");
    let args = ["tokenize", "--scheme", "remi", &chorale, "--print", "--config"];
    let o = fugue(&[&args[..], &[cfg.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one stream for all tracks");
    assert!(text.contains("Position_0 Program_0 Pitch_"), "{text}");
    let o = fugue(&["tokenize", "--scheme", "octuple", &chorale, "--print"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("Pitch_") && text.contains("|Bar_0|"), "{text}");
    let o = fugue(&["tokenize", "--scheme", "mmm", &chorale, "--print"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("Track_Start Program_0 Bar_None"), "{text}");
    std::fs::write(&cfg, r#"{"program_changes": true}"#).unwrap();
    let o = fugue(&[&args[..], &[cfg.to_str().unwrap()]].concat());
    assert!(!o.status.success());
    assert!(stderr(&o).contains("program_changes"), "{}", stderr(&o));
}

#[test]
fn tokenize_prints_chorale_schemes() {
    let o = fugue(&[
        "tokenize",
        "--scheme",
        "bachbot",
        &sample("bach_chorale.mid"),
        "--print",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("START ("), "{text}");
    assert!(text.trim_end().ends_with("||| END"), "{text}");
    let o = fugue(&[
        "tokenize",
        "--scheme",
        "tonicnet",
        &sample("bach_chorale.mid"),
        "--print",
        "--ids",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ids: Vec<u32> = String::from_utf8(o.stdout)
        .unwrap()
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    assert_eq!(ids.len() % 5, 1);
    assert_eq!(ids.last(), Some(&0));
    assert!(ids.iter().all(|&i| i < 98));
}

#[test]
fn tokenize_folder_resumes_refuses_other_runs_and_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp(&dir, "in");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    for name in ["bach_chorale.mid", "features_type0.mid", "smpte.mid"] {
        std::fs::copy(sample(name), input.join("sub").join(name)).unwrap();
    }
    std::fs::write(input.join("broken.mid"), b"MThd garbage").unwrap();
    let out = tmp(&dir, "tokens");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let run_tsd = || {
        fugue(&[
            "tokenize",
            "--scheme",
            "tsd",
            i,
            "-o",
            o,
            "--files-per-shard",
            "2",
            "--quiet",
        ])
    };
    let r = run_tsd();
    assert!(r.status.success(), "{}", stderr(&r));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["files"].as_array().unwrap().len(), 3);
    assert_eq!(m["failed"][0]["path"], "broken.mid");
    assert_eq!(m["shards"].as_array().unwrap().len(), 2);
    let tokenizer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("tokenizer.json")).unwrap()).unwrap();
    assert_eq!(tokenizer["scheme"], "tsd");
    assert_eq!(tokenizer["vocab"][0], "PAD_None");
    // A second run resumes everything; a damaged shard is redone.
    let r = run_tsd();
    assert!(stderr(&r).contains("(4 resumed)"), "{}", stderr(&r));
    std::fs::write(out.join("shard-00001.ids"), b"x").unwrap();
    let r = run_tsd();
    assert!(stderr(&r).contains("(2 resumed)"), "{}", stderr(&r));
    // Another scheme is refused without --force.
    let r = fugue(&["tokenize", "--scheme", "remi", i, "-o", o, "--quiet"]);
    assert!(stderr(&r).contains("another scheme"), "{}", stderr(&r));
    // Decoding writes one MIDI file per source.
    let midi = tmp(&dir, "midi");
    let r = fugue(&["tokenize", "--decode", o, "-o", midi.to_str().unwrap(), "--quiet"]);
    assert!(r.status.success(), "{}", stderr(&r));
    let v = fugue(&["info", midi.join("sub/bach_chorale.mid").to_str().unwrap(), "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(info["notes"], 197);
    // Bad config file.
    let cfg = tmp(&dir, "cfg.json");
    std::fs::write(&cfg, br#"{"num_velocities": 0}"#).unwrap();
    let r = fugue(&[
        "tokenize",
        "--scheme",
        "remi",
        &sample("smpte.mid"),
        "--print",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(stderr(&r).contains("num_velocities"), "{}", stderr(&r));
}

/// A small MusicXML file: a C major scale fragment with a tie and a chord.
const MUSICXML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>Flute</part-name>
<midi-instrument id="P1-I1"><midi-channel>1</midi-channel><midi-program>74</midi-program></midi-instrument></score-part></part-list>
<part id="P1"><measure number="1"><attributes><divisions>1</divisions><key><fifths>0</fifths></key>
<time><beats>4</beats><beat-type>4</beat-type></time></attributes>
<note><pitch><step>C</step><octave>5</octave></pitch><duration>1</duration></note>
<note><pitch><step>D</step><octave>5</octave></pitch><duration>1</duration></note>
<note><pitch><step>E</step><octave>5</octave></pitch><duration>2</duration><tie type="start"/></note>
<note><chord/><pitch><step>C</step><octave>5</octave></pitch><duration>2</duration></note>
</measure><measure number="2"><note><pitch><step>E</step><octave>5</octave></pitch><duration>2</duration><tie type="stop"/></note>
<note><rest/><duration>2</duration></note></measure></part></score-partwise>"#;

#[test]
fn musicxml_converts_to_json_midi_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let src = tmp(&dir, "in.musicxml");
    std::fs::write(&src, MUSICXML).unwrap();
    let o = fugue(&["info", src.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["notes"], 4);
    assert_eq!(info["tracks"][0]["name"], "Flute");
    assert_eq!(info["tracks"][0]["program"], 73);
    for out in ["out.mxl", "out.musicxml", "out.mid"] {
        let p = tmp(&dir, out);
        let o = fugue(&["convert", src.to_str().unwrap(), p.to_str().unwrap()]);
        assert!(o.status.success(), "{out}: {}", stderr(&o));
        let json = tmp(&dir, &format!("{out}.json"));
        let o = fugue(&["convert", p.to_str().unwrap(), json.to_str().unwrap()]);
        assert!(o.status.success(), "{out}: {}", stderr(&o));
        let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let tpq = s["ticks_per_quarter"].as_i64().unwrap();
        // Simultaneous notes come in each format's own order: compare as sets.
        let mut notes: Vec<(i64, i64, i64)> = s["tracks"][0]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["time"].as_i64().unwrap(),
                    n["duration"].as_i64().unwrap(),
                    n["pitch"].as_i64().unwrap(),
                )
            })
            .collect();
        notes.sort_unstable();
        let q = |x: i64| x * tpq;
        assert_eq!(
            notes,
            vec![(0, q(1), 72), (q(1), q(1), 74), (q(2), q(2), 72), (q(2), q(4), 76)],
            "{out}"
        );
    }
}

#[test]
fn broken_musicxml_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = tmp(&dir, "bad.mxl");
    std::fs::write(&src, b"PK\x03\x04 not really a zip").unwrap();
    let o = fugue(&["info", src.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("bad.mxl") && e.contains("zip archive"), "{e}");
}

#[test]
fn metrics_of_a_file_and_of_a_folder_against_a_reference() {
    let dir = tempfile::tempdir().unwrap();
    let src = tmp(&dir, "in.musicxml");
    std::fs::write(&src, MUSICXML).unwrap();
    let o = fugue(&["metrics", src.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(m["pitch_range"], 4);
    assert_eq!(m["n_pitch_classes_used"], 3);
    assert_eq!(m["scale_consistency"], 1.0);
    assert_eq!(m["measure_resolution"], 1920);
    assert!(m["drum_pattern_consistency"].is_null());
    for k in [
        "pitch_class_entropy",
        "empty_beat_rate",
        "groove_consistency",
        "polyphony",
    ] {
        assert!(m[k].is_number(), "{k}");
    }
    // A folder against a reference folder, with the histogram picture.
    let sample_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let png = tmp(&dir, "h.png");
    let o = fugue(&[
        "metrics",
        dir.path().to_str().unwrap(),
        "--reference",
        sample_dir.to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("pitch_class_entropy") && text.contains("OA"), "{text}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn every_scheme_tokenizes_a_folder_and_decodes_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp(&dir, "in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(sample("bach_chorale.mid"), input.join("c.mid")).unwrap();
    for scheme in ["remi", "tsd", "midilike", "structured", "performance", "octuple", "mmm"] {
        let out = tmp(&dir, &format!("tok-{scheme}"));
        let midi = tmp(&dir, &format!("midi-{scheme}"));
        let r = fugue(&[
            "tokenize",
            "--scheme",
            scheme,
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(r.status.success(), "{scheme}: {}", stderr(&r));
        let r = fugue(&[
            "tokenize",
            "--decode",
            out.to_str().unwrap(),
            "-o",
            midi.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(r.status.success(), "{scheme}: {}", stderr(&r));
        let v = fugue(&["info", midi.join("c.mid").to_str().unwrap(), "--json"]);
        let info: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
        // Performance events merge the four voices into one piano part, where
        // the 4 unisons of this chorale become single notes.
        let expected = if scheme == "performance" { 193 } else { 197 };
        assert_eq!(info["notes"], expected, "{scheme}");
    }
}

#[test]
fn bpe_over_a_folder_decodes_to_the_same_music() {
    let dir = tempfile::tempdir().unwrap();
    let input = tmp(&dir, "in");
    std::fs::create_dir_all(&input).unwrap();
    for name in ["bach_chorale.mid", "features_type0.mid"] {
        std::fs::copy(sample(name), input.join(name)).unwrap();
    }
    let out = tmp(&dir, "tok");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let r = fugue(&["tokenize", "--scheme", "remi", i, "-o", o, "--bpe", "400", "--quiet"]);
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(stderr(&r).contains("shorter"), "{}", stderr(&r));
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("bpe/tokenizer.json")).unwrap()).unwrap();
    assert_eq!(saved["subword"]["config"]["vocab_size"], 400);
    let (plain, bpe) = (tmp(&dir, "plain"), tmp(&dir, "bpe"));
    for (src, dst) in [(out.clone(), &plain), (out.join("bpe"), &bpe)] {
        let r = fugue(&[
            "tokenize",
            "--decode",
            src.to_str().unwrap(),
            "-o",
            dst.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(r.status.success(), "{}", stderr(&r));
    }
    for name in ["bach_chorale.mid", "features_type0.mid"] {
        assert_eq!(
            std::fs::read(plain.join(name)).unwrap(),
            std::fs::read(bpe.join(name)).unwrap(),
            "{name}"
        );
    }
    // A vocabulary no larger than the base one is refused, naming the field.
    let r = fugue(&["tokenize", "--scheme", "remi", i, "-o", o, "--bpe", "10", "--quiet"]);
    assert!(stderr(&r).contains("vocab_size"), "{}", stderr(&r));
}

#[test]
fn abc_converts_one_tune_or_a_whole_book() {
    let dir = tempfile::tempdir().unwrap();
    let book = tmp(&dir, "tunes.abc");
    std::fs::write(
        &book,
        "X:1\nT:The First Tune\nM:4/4\nL:1/8\nK:G\n\"G\"GABc d4|\n\nX:7\nT:Second!\nK:D\nF2|\n",
    )
    .unwrap();
    let book_s = book.to_str().unwrap();
    // One tune, by its X: number.
    let one = tmp(&dir, "seven.json");
    let o = fugue(&["convert", book_s, one.to_str().unwrap(), "--tune", "7"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&one).unwrap()).unwrap();
    assert_eq!(v["tracks"][0]["notes"][0]["pitch"], 66);
    // An absent tune names itself and the file.
    let o = fugue(&["convert", book_s, tmp(&dir, "x.mid").to_str().unwrap(), "--tune", "3"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no tune X:3") && stderr(&o).contains("tunes.abc"),
        "{}",
        stderr(&o)
    );
    // Without --tune: a file output is refused for a book of two tunes...
    let o = fugue(&["convert", book_s, tmp(&dir, "x.mid").to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("--tune"), "{}", stderr(&o));
    // ...and a folder gets one MIDI file per tune, never overwritten without --force.
    let out = tmp(&dir, "midi");
    let o = fugue(&["convert", book_s, out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["1-the-first-tune.mid", "7-second.mid"]);
    let o = fugue(&["info", out.join("1-the-first-tune.mid").to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tracks"][0]["notes"], 5);
    assert_eq!(v["tracks"][1]["name"], "Chords");
    assert_eq!(v["key_signatures"][0]["key"], "G major");
    let o = fugue(&["convert", book_s, out.to_str().unwrap()]);
    assert!(
        !o.status.success() && stderr(&o).contains("already exists"),
        "{}",
        stderr(&o)
    );
    let o = fugue(&["convert", book_s, out.to_str().unwrap(), "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // `info` reads the first tune and says there are more.
    let o = fugue(&["info", book_s, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["format"].as_str().unwrap().contains("X:1"));
    assert!(v["warnings"][0].as_str().unwrap().contains("--tune"));
}

#[test]
fn render_writes_a_wav_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = tmp(&dir, "chorale.wav");
    let out_s = out.to_str().unwrap();
    let input = sample("bach_chorale.mid");
    let o = fugue(&["render", &input, "-o", out_s, "--sample-rate", "22050"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let audio = fugue_audio::read_wav(&out).unwrap();
    assert_eq!((audio.sample_rate, audio.channels), (22_050, 2));
    assert!(audio.duration().as_secs_f64() > 30.0 && audio.rms() > 0.01);
    let before = std::fs::read(&out).unwrap();
    let o = fugue(&["render", &input, "-o", out_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let o = fugue(&["render", &input, "-o", out_s, "--sample-rate", "22050", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Deterministic: the same bytes again.
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn render_reports_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = tmp(&dir, "x.wav");
    let out_s = out.to_str().unwrap();
    let fake = tmp(&dir, "fake.mid");
    std::fs::write(&fake, b"this is not midi").unwrap();
    let o = fugue(&["render", fake.to_str().unwrap(), "-o", out_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("fake.mid") && !stderr(&o).contains("panicked"),
        "{}",
        stderr(&o)
    );
    let input = sample("bach_chorale.mid");
    let o = fugue(&["render", &input, "-o", out_s, "--soundfont", "/no/such/font.sf2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/no/such/font.sf2"), "{}", stderr(&o));
    let bad_font = tmp(&dir, "bad.sf2");
    std::fs::write(&bad_font, b"RIFF\x04\0\0\0sfbk").unwrap();
    let o = fugue(&["render", &input, "-o", out_s, "--soundfont", bad_font.to_str().unwrap()]);
    assert!(stderr(&o).contains("bad.sf2: not a usable SoundFont"), "{}", stderr(&o));
    let o = fugue(&["render", &input, "-o", tmp(&dir, "x.mp3").to_str().unwrap()]);
    assert!(stderr(&o).contains("must be a .wav file"), "{}", stderr(&o));
    let o = fugue(&["render", &input, "-o", out_s, "--sample-rate", "100"]);
    assert!(
        stderr(&o).contains("sample rate 100 Hz is out of range"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}
