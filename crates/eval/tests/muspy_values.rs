//! The metrics on real files equal the values muspy 0.5.0 computes on the
//! same files (`muspy.read_midi`, default arguments; measure resolution =
//! 4 × ticks per quarter for these 4/4 files). The full comparison over
//! POP909 and the chorales is `bench/muspy_parity.py`; these pin a few
//! values so that a regression shows in `cargo test`.

use fugue_eval::metrics::{self, Meter};
use fugue_eval::MetricSet;
use fugue_score::midi::{read_midi_file, ReadOptions};
use fugue_score::{Score, Tick};
use std::path::{Path, PathBuf};

fn data(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

fn read(p: &Path) -> Score<Tick> {
    read_midi_file(p, &ReadOptions::default()).unwrap().score
}

fn close(ours: f64, muspy: f64) {
    if muspy.is_nan() {
        assert!(ours.is_nan(), "{ours} vs NaN");
    } else {
        assert!((ours - muspy).abs() <= 1e-12, "{ours} vs {muspy}");
    }
}

#[test]
fn pop909_001_and_500() {
    let cases: [(&str, [f64; 12]); 2] = [
        (
            "pop909/POP909/001/001.mid",
            [
                48.0,
                26.0,
                7.0,
                3.362776402969586,
                0.6309505250775924,
                1.0,
                4.15494828648408,
                2.6798135394956915,
                0.023728813559321993,
                0.020270270270270285,
                0.9962443310657596,
                f64::NAN,
            ],
        ),
        (
            "pop909/POP909/500/500.mid",
            [
                55.0,
                34.0,
                9.0,
                4.051032478285849,
                0.8477308583129133,
                0.9812244897959184,
                4.535363835951666,
                2.7874023239004004,
                0.0,
                0.0,
                0.997471438172043,
                f64::NAN,
            ],
        ),
    ];
    for (rel, want) in cases {
        let Some(p) = data(rel) else { return };
        let s = read(&p);
        let mr = 4 * i64::from(s.ticks_per_quarter) * i64::from(s.time_signatures[0].numerator)
            / i64::from(s.time_signatures[0].denominator);
        let m = MetricSet::of(&s);
        assert_eq!(m.measure_resolution, mr);
        let got = [
            f64::from(m.pitch_range),
            m.n_pitches_used as f64,
            m.n_pitch_classes_used as f64,
            m.polyphony,
            m.polyphony_rate,
            m.scale_consistency,
            m.pitch_entropy,
            m.pitch_class_entropy,
            m.empty_beat_rate,
            m.empty_measure_rate,
            m.groove_consistency,
            m.drum_pattern_consistency,
        ];
        for (g, w) in got.iter().zip(want) {
            close(*g, w);
        }
    }
}

#[test]
fn drums_of_a_multitrack_pop_song() {
    let Some(p) = data("multitrack_pop_lmd_sample/MIDIs_multitrack/Aicha.mid") else {
        return;
    };
    let s = read(&p);
    assert_eq!(s.ticks_per_quarter, 384);
    close(metrics::drum_in_pattern_rate(&s, Meter::Duple), 0.5084944346807264);
    close(metrics::drum_in_pattern_rate(&s, Meter::Triple), 0.4206209724663152);
    close(metrics::drum_pattern_consistency(&s), 0.5084944346807264);
    close(metrics::groove_consistency(&s, 4 * 384), 0.9780680338541666);
    assert_eq!(metrics::pitch_range(&s), 74);
    close(metrics::polyphony(&s), 5.7540201689833745);
    close(metrics::empty_beat_rate(&s), 0.007751937984496138);
}
