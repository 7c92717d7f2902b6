//! `decode(encode(s)) == preprocess(s)`, exactly, for every scheme × a set of
//! configurations × every file: the embedded samples always; POP909, JS Fake
//! Chorales and the piano set when `../shared/data` is present.

use fugue_score::midi::{read_midi, ReadOptions};
use fugue_score::{Score, Tick};
use fugue_tokens::beat_grid::{BeatConfig, BeatRes};
use fugue_tokens::cp_word::CpWord;
use fugue_tokens::midi_like::MidiLike;
use fugue_tokens::performance::{Performance, PerformanceConfig};
use fugue_tokens::remi::Remi;
use fugue_tokens::structured::Structured;
use fugue_tokens::tsd::Tsd;
use fugue_tokens::Tokenizer;
use std::path::{Path, PathBuf};

fn tokenizers() -> Vec<(String, Box<dyn Tokenizer>)> {
    let mut v: Vec<(String, Box<dyn Tokenizer>)> = vec![
        (
            "remi default".into(),
            Box::new(Remi::new(BeatConfig::default()).unwrap()),
        ),
        (
            "remi 4/4 only, no velocity".into(),
            Box::new(
                Remi::new(BeatConfig {
                    use_time_signatures: false,
                    use_velocities: false,
                    ..Default::default()
                })
                .unwrap(),
            ),
        ),
        (
            "remi 16th grid".into(),
            Box::new(
                Remi::new(BeatConfig {
                    beat_res: vec![BeatRes {
                        start: 0,
                        end: 8,
                        res: 4,
                    }],
                    num_velocities: 8,
                    ..Default::default()
                })
                .unwrap(),
            ),
        ),
        (
            "performance".into(),
            Box::new(Performance::new(PerformanceConfig::default()).unwrap()),
        ),
        ("tsd default".into(), Box::new(Tsd::new(BeatConfig::default()).unwrap())),
        (
            "midilike default".into(),
            Box::new(MidiLike::new(BeatConfig::default()).unwrap()),
        ),
        (
            "structured default".into(),
            Box::new(Structured::new(BeatConfig::default()).unwrap()),
        ),
        (
            "cpword default".into(),
            Box::new(CpWord::new(BeatConfig::default()).unwrap()),
        ),
        (
            "performance score2perf".into(),
            Box::new(Performance::new(PerformanceConfig::music_transformer()).unwrap()),
        ),
    ];
    v.push((
        "performance no velocity, no pedal".into(),
        Box::new(
            Performance::new(PerformanceConfig {
                num_velocity_bins: 0,
                sustain: false,
                ..Default::default()
            })
            .unwrap(),
        ),
    ));
    v
}

fn check(tok: &dyn Tokenizer, name: &str, s: &Score<Tick>, what: &Path) {
    let pre = tok.preprocess(s).score;
    let seqs = tok
        .encode_preprocessed(&pre)
        .unwrap_or_else(|e| panic!("{name} {}: {e}", what.display()));
    let ids: Vec<Vec<u32>> = seqs.iter().map(|q| q.ids.clone()).collect();
    let back = tok
        .decode_ids(&ids)
        .unwrap_or_else(|e| panic!("{name} {}: {e}", what.display()));
    if back != pre {
        let (a, b) = (&back, &pre);
        let detail = if a.tracks.len() != b.tracks.len() {
            format!("{} tracks vs {}", a.tracks.len(), b.tracks.len())
        } else if a.time_signatures != b.time_signatures {
            format!("time signatures {:?} vs {:?}", a.time_signatures, b.time_signatures)
        } else {
            let t = a.tracks.iter().zip(&b.tracks).position(|(x, y)| x != y).unwrap_or(0);
            let j = a.tracks[t]
                .notes
                .iter()
                .zip(&b.tracks[t].notes)
                .position(|(x, y)| x != y);
            format!(
                "track {t} note {j:?}; tpq {} vs {}",
                a.ticks_per_quarter, b.ticks_per_quarter
            )
        };
        panic!(
            "{name} {}: decode(encode(s)) != preprocess(s): {detail}",
            what.display()
        );
    }
    for q in &seqs {
        let bad = tok.grammar().violations(&q.tokens);
        assert!(
            bad.is_empty(),
            "{name} {}: grammar violated at {:?}",
            what.display(),
            &bad[..bad.len().min(5)]
        );
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "mid" || e == "rmi") {
            out.push(p);
        }
    }
}

fn run_over(paths: &[PathBuf], all_configs: bool) {
    let toks = tokenizers();
    for p in paths {
        let bytes = std::fs::read(p).unwrap();
        let Ok(r) = read_midi(&bytes, &ReadOptions::default()) else {
            continue;
        };
        for (name, tok) in toks.iter().take(if all_configs { toks.len() } else { 1 }) {
            check(tok.as_ref(), name, &r.score, p);
        }
        if !all_configs {
            check(toks[3].1.as_ref(), &toks[3].0, &r.score, p);
            check(toks[4].1.as_ref(), &toks[4].0, &r.score, p);
            check(toks[5].1.as_ref(), &toks[5].0, &r.score, p);
            check(toks[6].1.as_ref(), &toks[6].0, &r.score, p);
            check(toks[7].1.as_ref(), &toks[7].0, &r.score, p);
        }
    }
}

#[test]
fn samples_round_trip_in_every_scheme_and_config() {
    let mut v = Vec::new();
    files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples"), &mut v);
    assert!(v.len() >= 4);
    run_over(&v, true);
}

#[test]
fn corpora_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if !root.is_dir() {
        eprintln!("skipped: ../shared/data not found");
        return;
    }
    for (sub, all) in [
        ("pop909/POP909", false),
        ("js_fakes/midi", true),
        ("piano_performance_giantmidi_eval", false),
    ] {
        let mut v = Vec::new();
        files(&root.join(sub), &mut v);
        assert!(!v.is_empty(), "no MIDI files in {sub}");
        run_over(&v, all);
        eprintln!("{sub}: {} files round-trip", v.len());
    }
}
