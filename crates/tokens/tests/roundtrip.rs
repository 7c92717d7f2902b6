//! `decode(encode(s)) == preprocess(s)`, exactly, for every scheme × a set of
//! configurations × every file: the embedded samples always; POP909, JS Fake
//! Chorales, the piano set and the multitrack LMD sample when
//! `../shared/data` is present.

use fugue_score::midi::{read_midi, ReadOptions};
use fugue_score::{Score, Tick};
use fugue_tokens::beat_grid::{BeatConfig, BeatRes};
use fugue_tokens::cp_word::CpWord;
use fugue_tokens::midi_like::MidiLike;
use fugue_tokens::mmm::{Mmm, MmmBase, MmmConfig};
use fugue_tokens::octuple::Octuple;
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
    let programs = BeatConfig {
        use_programs: true,
        ..Default::default()
    };
    v.push((
        "remi+ (programs, one stream)".into(),
        Box::new(Remi::new(programs.clone()).unwrap()),
    ));
    v.push(("tsd programs".into(), Box::new(Tsd::new(programs.clone()).unwrap())));
    v.push((
        "octuple default".into(),
        Box::new(Octuple::new(BeatConfig::default()).unwrap()),
    ));
    v.push((
        "octuple programs".into(),
        Box::new(Octuple::new(programs.clone()).unwrap()),
    ));
    v.push(("mmm remi".into(), Box::new(Mmm::new(MmmConfig::default()).unwrap())));
    v.push((
        "remi programs per track, program changes".into(),
        Box::new(
            Remi::new(BeatConfig {
                one_token_stream_for_programs: false,
                program_changes: true,
                ..programs.clone()
            })
            .unwrap(),
        ),
    ));
    v.push((
        "remi+ program changes".into(),
        Box::new(
            Remi::new(BeatConfig {
                program_changes: true,
                ..programs.clone()
            })
            .unwrap(),
        ),
    ));
    v.push((
        "octuple no time signatures, no velocity, 8 bars".into(),
        Box::new(
            Octuple::new(BeatConfig {
                use_time_signatures: false,
                use_velocities: false,
                max_bar_embedding: Some(8),
                ..Default::default()
            })
            .unwrap(),
        ),
    ));
    v.push((
        "mmm tsd, programs 0-7 and drums".into(),
        Box::new(
            Mmm::new(MmmConfig {
                base: MmmBase::Tsd,
                beat: BeatConfig {
                    programs: (-1..8).collect(),
                    ..Default::default()
                },
            })
            .unwrap(),
        ),
    ));
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
    // `encode` may walk the tracks in another order (ties between tracks as
    // MidiTok writes them); it decodes to the same score.
    let (direct, _) = tok
        .encode(s)
        .unwrap_or_else(|e| panic!("{name} {}: {e}", what.display()));
    let direct: Vec<Vec<u32>> = direct.iter().map(|q| q.ids.clone()).collect();
    if direct != ids {
        let back = tok
            .decode_ids(&direct)
            .unwrap_or_else(|e| panic!("{name} {}: {e}", what.display()));
        assert!(
            back == pre,
            "{name} {}: decode(encode(s)) != preprocess(s)",
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

/// The configurations run on every file of every corpus (the others only on
/// the samples and JS Fakes): each scheme's default, and the new schemes'
/// program variants.
const EVERYWHERE: &[&str] = &[
    "remi default",
    "performance",
    "tsd default",
    "midilike default",
    "structured default",
    "cpword default",
    "remi+ (programs, one stream)",
    "tsd programs",
    "octuple default",
    "octuple programs",
    "mmm remi",
];

fn run_over(paths: &[PathBuf], all_configs: bool) {
    let toks = tokenizers();
    for p in paths {
        let bytes = std::fs::read(p).unwrap();
        let Ok(r) = read_midi(&bytes, &ReadOptions::default()) else {
            continue;
        };
        for (name, tok) in &toks {
            if all_configs || EVERYWHERE.contains(&name.as_str()) {
                check(tok.as_ref(), name, &r.score, p);
            }
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
        ("multitrack_pop_lmd_sample/MIDIs_multitrack", true),
        ("multitrack_pop_lmd_sample/MIDIs_one_track", true),
    ] {
        let mut v = Vec::new();
        files(&root.join(sub), &mut v);
        assert!(!v.is_empty(), "no MIDI files in {sub}");
        run_over(&v, all);
        eprintln!("{sub}: {} files round-trip", v.len());
    }
}
