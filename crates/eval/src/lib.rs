//! # fugue-eval
//!
//! Objective measures for generated music, for models without a likelihood
//! (GANs, VAEs, diffusion) and for comparing any generated set with real
//! music:
//! - [`metrics`]: the symbolic-music metrics of muspy, with muspy's exact
//!   definitions (checked against muspy on POP909 and the Bach chorales by
//!   `bench/muspy_parity.py`);
//! - [`distribution`]: per-feature comparisons of a generated set with a
//!   reference set (overlapping area and KL divergence of kernel density
//!   estimates, as in Yang & Lerch 2018);
//! - [`voice_leading`]: four-part voice-leading rule violations of chorales
//!   (parallel fifths and octaves, crossings, ranges, spacing), as papers on
//!   DeepBach, Coconet and BachBot count them to compare a model with Bach.
//!
//! [`MetricSet::of`] computes every metric of one score under muspy's names,
//! the object `fugue metrics FILE --json` prints.
//!
//! ```
//! use fugue_eval::MetricSet;
//! use fugue_score::{Note, Score, Tick, Track};
//!
//! let mut s = Score::<Tick>::new(4);
//! let mut t = Track::new("piano", 0, 0);
//! t.notes = vec![Note::new(0, 4, 60, 64), Note::new(0, 4, 64, 64), Note::new(4, 4, 67, 64)];
//! s.tracks.push(t);
//! let m = MetricSet::of(&s);
//! assert_eq!(m.pitch_range, 7);
//! assert_eq!(m.n_pitch_classes_used, 3);
//! assert_eq!(m.polyphony, 1.5);
//! ```
#![warn(missing_docs)]

pub mod distribution;
pub mod metrics;
pub mod voice_leading;

use fugue_score::{Score, Tick};
use metrics::Meter;
use serde::Serialize;

/// Every metric of one score, under muspy's names. NaN (JSON `null`) marks a
/// metric with nothing to measure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricSet {
    /// Highest minus lowest pitch.
    pub pitch_range: i32,
    /// Distinct pitches used.
    pub n_pitches_used: usize,
    /// Distinct pitch classes used.
    pub n_pitch_classes_used: usize,
    /// Mean number of distinct pitches over the ticks where one sounds.
    pub polyphony: f64,
    /// Share of ticks with more than 2 distinct pitches (muspy's default threshold).
    pub polyphony_rate: f64,
    /// Share of pitched notes in the scale of the score's first key
    /// signature (NaN without one).
    pub pitch_in_scale_rate: f64,
    /// Largest pitch-in-scale rate over the 24 major and minor scales.
    pub scale_consistency: f64,
    /// Entropy (bits) of the pitch histogram.
    pub pitch_entropy: f64,
    /// Entropy (bits) of the pitch-class histogram.
    pub pitch_class_entropy: f64,
    /// Share of beats with no sounding note.
    pub empty_beat_rate: f64,
    /// Share of measures with no sounding note.
    pub empty_measure_rate: f64,
    /// 1 − mean Hamming distance of consecutive measures' onset patterns.
    pub groove_consistency: f64,
    /// Share of drum onsets on the grid of the score's meter (triple when the
    /// first time signature's numerator is a multiple of 3, else duple).
    pub drum_in_pattern_rate: f64,
    /// The larger of the duple and triple drum-in-pattern rates.
    pub drum_pattern_consistency: f64,
    /// The measure length, in ticks, used by the measure metrics.
    pub measure_resolution: i64,
}

/// The names of the metrics, in [`MetricSet`]'s order (not counting
/// `measure_resolution`), for tables.
pub const METRIC_NAMES: [&str; 14] = [
    "pitch_range",
    "n_pitches_used",
    "n_pitch_classes_used",
    "polyphony",
    "polyphony_rate",
    "pitch_in_scale_rate",
    "scale_consistency",
    "pitch_entropy",
    "pitch_class_entropy",
    "empty_beat_rate",
    "empty_measure_rate",
    "groove_consistency",
    "drum_in_pattern_rate",
    "drum_pattern_consistency",
];

/// The length of a measure in ticks from the first time signature (4/4 when
/// there is none, or when the bar is not a whole number of ticks): muspy
/// leaves this to the caller; this is the choice `fugue metrics` makes.
pub fn measure_resolution(s: &Score<Tick>) -> i64 {
    let tpq = i64::from(s.ticks_per_quarter.max(1));
    match s.time_signatures.first() {
        Some(ts) if ts.denominator > 0 && (tpq * 4 * i64::from(ts.numerator)) % i64::from(ts.denominator) == 0 => {
            (tpq * 4 * i64::from(ts.numerator) / i64::from(ts.denominator)).max(1)
        }
        _ => tpq * 4,
    }
}

impl MetricSet {
    /// Every metric of a score.
    pub fn of(s: &Score<Tick>) -> MetricSet {
        let mr = measure_resolution(s);
        let meter = match s.time_signatures.first() {
            Some(ts) if ts.numerator % 3 == 0 => Meter::Triple,
            _ => Meter::Duple,
        };
        let in_scale = s.key_signatures.first().map_or(f64::NAN, |k| {
            metrics::pitch_in_scale_rate(s, k.tonic_pitch_class(), k.minor)
        });
        MetricSet {
            pitch_range: metrics::pitch_range(s),
            n_pitches_used: metrics::n_pitches_used(s),
            n_pitch_classes_used: metrics::n_pitch_classes_used(s),
            polyphony: metrics::polyphony(s),
            polyphony_rate: metrics::polyphony_rate(s, 2),
            pitch_in_scale_rate: in_scale,
            scale_consistency: metrics::scale_consistency(s),
            pitch_entropy: metrics::pitch_entropy(s),
            pitch_class_entropy: metrics::pitch_class_entropy(s),
            empty_beat_rate: metrics::empty_beat_rate(s),
            empty_measure_rate: metrics::empty_measure_rate(s, mr),
            groove_consistency: metrics::groove_consistency(s, mr),
            drum_in_pattern_rate: metrics::drum_in_pattern_rate(s, meter),
            drum_pattern_consistency: metrics::drum_pattern_consistency(s),
            measure_resolution: mr,
        }
    }

    /// The metrics as (name, value) pairs in [`METRIC_NAMES`] order.
    pub fn values(&self) -> [(&'static str, f64); 14] {
        let v = [
            f64::from(self.pitch_range),
            self.n_pitches_used as f64,
            self.n_pitch_classes_used as f64,
            self.polyphony,
            self.polyphony_rate,
            self.pitch_in_scale_rate,
            self.scale_consistency,
            self.pitch_entropy,
            self.pitch_class_entropy,
            self.empty_beat_rate,
            self.empty_measure_rate,
            self.groove_consistency,
            self.drum_in_pattern_rate,
            self.drum_pattern_consistency,
        ];
        std::array::from_fn(|i| (METRIC_NAMES[i], v[i]))
    }
}
