//! Four-part voice-leading report for chorales: the textbook rule violations
//! that papers on DeepBach, Coconet and BachBot count to compare a
//! harmonization model with Bach.
//!
//! The input is a grid of 16th-note steps, one cell per voice (Soprano, Alto,
//! Tenor, Bass, in that order), independent of any other fugue crate so that
//! any encoding can be measured once converted. `steps[t][v]` is the MIDI
//! pitch voice `v` sounds at step `t` (`None`: a rest); `onsets[t][v]` is true
//! where a note starts. A sounding cell without an onset continues the note
//! of the step before, so it must hold the same pitch.
//!
//! Everything is counted on **sonorities**, the steps where at least one
//! voice has an onset, rather than on every step: a held chord is one event
//! for the ear, and counting per step would weigh long notes more than short
//! ones. Two consecutive sonorities form a **transition**.
//!
//! Counts add up ([`VoiceLeading`] implements `AddAssign` and `Sum`), so a
//! corpus total is the sum of its chorales' reports, and [`VoiceLeading::rates`]
//! of that total gives pooled rates (each transition weighs the same), the
//! figure the papers report.

use std::ops::{AddAssign, RangeInclusive};

use serde::Serialize;

/// The voice names, in grid order, used in error messages.
pub const VOICES: [&str; 4] = ["soprano", "alto", "tenor", "bass"];

/// The textbook vocal ranges, MIDI numbers inclusive, in grid order:
/// soprano C4–A5 (60–81), alto F3–F5 (53–77), tenor C3–A4 (48–69), bass
/// C2–E4 (36–64). Public so that a report states what it measured against.
pub const RANGES: [RangeInclusive<u8>; 4] = [60..=81, 53..=77, 48..=69, 36..=64];

/// Why a grid cannot be measured.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VoiceLeadingError {
    /// The pitch grid and the onset grid have different lengths.
    #[error("the pitch grid has {steps} steps but the onset grid has {onsets}: they differ from step {first}")]
    LengthMismatch {
        /// Steps in the pitch grid.
        steps: usize,
        /// Steps in the onset grid.
        onsets: usize,
        /// The first step present in only one grid.
        first: usize,
    },
    /// A note starts on a rest.
    #[error("step {step}: the {voice} has an onset but no pitch")]
    OnsetOnRest {
        /// The step.
        step: usize,
        /// The voice's name (see [`VOICES`]).
        voice: &'static str,
    },
    /// A sounding cell without an onset does not continue the previous
    /// step's pitch (a new pitch, or a note after a rest, with no onset).
    #[error("step {step}: the {voice} sounds a pitch the step before does not hold, without an onset")]
    MissingOnset {
        /// The step.
        step: usize,
        /// The voice's name (see [`VOICES`]).
        voice: &'static str,
    },
}

/// Voice-leading counts of one chorale, or of a corpus once summed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VoiceLeading {
    /// Note onsets, all voices together.
    pub notes: usize,
    /// Steps where at least one voice has an onset.
    pub sonorities: usize,
    /// Pairs of consecutive sonorities (`sonorities − 1` for one chorale).
    pub transitions: usize,
    /// (transition, voice pair), over all 6 voice pairs, where both voices
    /// sound in both sonorities, both change pitch (a held or re-attacked
    /// pitch is no motion) in the same direction, and the interval
    /// `|upper − lower| mod 12` is a perfect fifth (7) in both sonorities.
    pub parallel_fifths: usize,
    /// As `parallel_fifths`, with an interval of 0 mod 12 (unison, octave or
    /// compound octave) in both sonorities.
    pub parallel_octaves: usize,
    /// (sonority, adjacent pair S/A, A/T, T/B) where both sound and the lower
    /// voice is strictly above the upper one.
    pub voice_crossings: usize,
    /// Note onsets outside their voice's range in [`RANGES`].
    pub range_violations: usize,
    /// (sonority, pair S/A or A/T) where both sound and the upper voice is
    /// more than 12 semitones above the lower (T/B may be wider).
    pub spacing_errors: usize,
}

/// Violations per 100 opportunities; NaN where there is nothing to count
/// (no transitions, sonorities or notes), as elsewhere in this crate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rates {
    /// Parallel fifths and octaves together per 100 transitions.
    pub parallels_per_100_transitions: f64,
    /// Parallel fifths per 100 transitions.
    pub parallel_fifths_per_100_transitions: f64,
    /// Parallel octaves per 100 transitions.
    pub parallel_octaves_per_100_transitions: f64,
    /// Voice crossings per 100 sonorities.
    pub crossings_per_100_sonorities: f64,
    /// Spacing errors per 100 sonorities.
    pub spacing_errors_per_100_sonorities: f64,
    /// Range violations per 100 notes.
    pub range_violations_per_100_notes: f64,
}

fn per_100(count: usize, of: usize) -> f64 {
    if of == 0 {
        f64::NAN
    } else {
        100.0 * count as f64 / of as f64
    }
}

impl VoiceLeading {
    /// The counts as rates, so that chorales and corpora of any length compare.
    pub fn rates(&self) -> Rates {
        Rates {
            parallels_per_100_transitions: per_100(self.parallel_fifths + self.parallel_octaves, self.transitions),
            parallel_fifths_per_100_transitions: per_100(self.parallel_fifths, self.transitions),
            parallel_octaves_per_100_transitions: per_100(self.parallel_octaves, self.transitions),
            crossings_per_100_sonorities: per_100(self.voice_crossings, self.sonorities),
            spacing_errors_per_100_sonorities: per_100(self.spacing_errors, self.sonorities),
            range_violations_per_100_notes: per_100(self.range_violations, self.notes),
        }
    }
}

impl AddAssign<&VoiceLeading> for VoiceLeading {
    fn add_assign(&mut self, o: &VoiceLeading) {
        self.notes += o.notes;
        self.sonorities += o.sonorities;
        self.transitions += o.transitions;
        self.parallel_fifths += o.parallel_fifths;
        self.parallel_octaves += o.parallel_octaves;
        self.voice_crossings += o.voice_crossings;
        self.range_violations += o.range_violations;
        self.spacing_errors += o.spacing_errors;
    }
}

impl<'a> std::iter::Sum<&'a VoiceLeading> for VoiceLeading {
    fn sum<I: Iterator<Item = &'a VoiceLeading>>(iter: I) -> VoiceLeading {
        iter.fold(VoiceLeading::default(), |mut total, r| {
            total += r;
            total
        })
    }
}

/// The voice-leading report of one chorale (see [`VoiceLeading`] for each
/// count's definition).
///
/// The interval of a voice pair is the distance between the two pitches
/// (`|upper − lower| mod 12`), so that crossed voices a fifth apart still
/// form a fifth and crossed voices a fourth apart do not.
pub fn report(steps: &[[Option<u8>; 4]], onsets: &[[bool; 4]]) -> Result<VoiceLeading, VoiceLeadingError> {
    use VoiceLeadingError::{LengthMismatch, MissingOnset, OnsetOnRest};
    let (n, m) = (steps.len(), onsets.len());
    if n != m {
        return Err(LengthMismatch {
            steps: n,
            onsets: m,
            first: n.min(m),
        });
    }
    let mut r = VoiceLeading::default();
    let mut previous: Option<&[Option<u8>; 4]> = None;
    for (t, (pitches, starts)) in steps.iter().zip(onsets).enumerate() {
        for (v, &voice) in VOICES.iter().enumerate() {
            match (pitches[v], starts[v]) {
                (None, true) => return Err(OnsetOnRest { step: t, voice }),
                (Some(p), false) if t.checked_sub(1).and_then(|u| steps[u][v]) != Some(p) => {
                    return Err(MissingOnset { step: t, voice })
                }
                (Some(p), true) => {
                    r.notes += 1;
                    r.range_violations += usize::from(!RANGES[v].contains(&p));
                }
                _ => {}
            }
        }
        if !starts.contains(&true) {
            continue;
        }
        r.sonorities += 1;
        for (upper, lower) in [(0, 1), (1, 2), (2, 3)] {
            if let (Some(hi), Some(lo)) = (pitches[upper], pitches[lower]) {
                r.voice_crossings += usize::from(lo > hi);
                r.spacing_errors += usize::from(lower < 3 && i16::from(hi) - i16::from(lo) > 12);
            }
        }
        if let Some(before) = previous {
            r.transitions += 1;
            count_parallels(before, pitches, &mut r);
        }
        previous = Some(pitches);
    }
    Ok(r)
}

/// Adds the parallel fifths and octaves of one transition to `r`.
fn count_parallels(before: &[Option<u8>; 4], after: &[Option<u8>; 4], r: &mut VoiceLeading) {
    for upper in 0..4 {
        for lower in upper + 1..4 {
            let (Some(a0), Some(b0), Some(a1), Some(b1)) = (before[upper], before[lower], after[upper], after[lower])
            else {
                continue;
            };
            let (da, db) = (i16::from(a1) - i16::from(a0), i16::from(b1) - i16::from(b0));
            if da == 0 || db == 0 || da.signum() != db.signum() {
                continue;
            }
            match (a0.abs_diff(b0) % 12, a1.abs_diff(b1) % 12) {
                (7, 7) => r.parallel_fifths += 1,
                (0, 0) => r.parallel_octaves += 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pitch grid from MIDI numbers, 0 for a rest.
    fn g(rows: &[[u8; 4]]) -> Vec<[Option<u8>; 4]> {
        rows.iter().map(|r| r.map(|p| (p > 0).then_some(p))).collect()
    }

    /// One step per chord, every sounding voice with an onset.
    fn chords(rows: &[[u8; 4]]) -> VoiceLeading {
        let onsets: Vec<_> = rows.iter().map(|r| r.map(|p| p > 0)).collect();
        report(&g(rows), &onsets).expect("a valid grid")
    }

    /// (notes, sonorities, transitions, fifths, octaves, crossings, range, spacing)
    fn counts(r: &VoiceLeading) -> [usize; 8] {
        [
            r.notes,
            r.sonorities,
            r.transitions,
            r.parallel_fifths,
            r.parallel_octaves,
            r.voice_crossings,
            r.range_violations,
            r.spacing_errors,
        ]
    }

    #[test]
    fn one_parallel_fifth_tenor_bass_c_d_over_f_g() {
        // F major to G major: tenor C4→D4 over bass F3→G3; the other pairs
        // move by sixths, tenths or contrary motion.
        let r = chords(&[[69, 65, 60, 53], [71, 62, 62, 55]]);
        assert_eq!(counts(&r), [8, 2, 1, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn one_parallel_octave_soprano_bass() {
        // Soprano C5→D5 over bass C3→D3 (a double octave both times).
        let r = chords(&[[72, 67, 64, 48], [74, 65, 62, 50]]);
        assert_eq!(counts(&r), [8, 2, 1, 0, 1, 0, 0, 0]);
        // Both up, an octave to a seventh, then a sixth to an octave.
        assert_eq!(chords(&[[72, 0, 0, 48], [74, 0, 0, 52]]).parallel_octaves, 0);
        assert_eq!(chords(&[[72, 0, 0, 57], [74, 0, 0, 62]]).parallel_octaves, 0);
    }

    #[test]
    fn contrary_and_hidden_fifths_are_not_parallel() {
        // Tenor G4→D4 down, bass C3→G3 up: a fifth both times, contrary motion.
        let r = chords(&[[76, 72, 67, 48], [74, 71, 62, 55]]);
        assert_eq!(counts(&r), [8, 2, 1, 0, 0, 0, 0, 0]);
        // Both up, a fifth to a sixth, then a sixth to a fifth.
        assert_eq!(chords(&[[0, 0, 55, 48], [0, 0, 59, 50]]).parallel_fifths, 0);
        assert_eq!(chords(&[[0, 0, 57, 48], [0, 0, 62, 55]]).parallel_fifths, 0);
    }

    #[test]
    fn crossed_voices_use_the_sounding_interval() {
        // Soprano a fifth below the alto, both up a step: parallel fifths
        // (and a crossing at both sonorities).
        let fifth = chords(&[[60, 67, 0, 0], [62, 69, 0, 0]]);
        assert_eq!(counts(&fifth), [4, 2, 1, 1, 0, 2, 0, 0]);
        // Soprano a fourth below the alto: parallel fourths, not fifths.
        let fourth = chords(&[[60, 65, 0, 0], [62, 67, 0, 0]]);
        assert_eq!(counts(&fourth), [4, 2, 1, 0, 0, 2, 0, 0]);
    }

    #[test]
    fn held_and_repeated_notes_do_not_move() {
        // Tenor and bass a fifth apart: held, then the tenor re-attacks the
        // same pitch while the soprano moves. Step 1 has no onset at all.
        let steps = g(&[[72, 64, 55, 48], [72, 64, 55, 48], [74, 64, 55, 48]]);
        let onsets = [[true; 4], [false; 4], [true, false, true, false]];
        let r = report(&steps, &onsets).expect("a valid grid");
        assert_eq!(counts(&r), [6, 2, 1, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_crossing_is_counted_at_every_sonority() {
        // Alto G3 below tenor C4; the soprano moves, the crossing is held.
        // S–A exactly an octave is no spacing error.
        let steps = g(&[[67, 55, 60, 48], [65, 55, 60, 48]]);
        let r = report(&steps, &[[true; 4], [true, false, false, false]]).expect("a valid grid");
        assert_eq!(counts(&r), [5, 2, 1, 0, 0, 2, 0, 0]);
    }

    #[test]
    fn range_violations_count_onsets_with_inclusive_bounds() {
        // Soprano C6 (84 > 81) and bass B♭1 (34 < 36); alto 77 and tenor 69
        // sit on their upper bounds. The second step holds every note.
        let steps = g(&[[84, 77, 69, 34], [84, 77, 69, 34]]);
        let r = report(&steps, &[[true; 4], [false; 4]]).expect("a valid grid");
        assert_eq!(counts(&r), [4, 1, 0, 0, 0, 0, 2, 0]);
    }

    #[test]
    fn spacing_errors_in_the_upper_pairs_only() {
        // S–A 13 apart, then A–T 14 apart; T–B is 20 apart throughout.
        let steps = g(&[[77, 64, 60, 40], [76, 74, 60, 40]]);
        let r = report(&steps, &[[true; 4], [true, true, false, false]]).expect("a valid grid");
        assert_eq!(counts(&r), [6, 2, 1, 0, 0, 0, 0, 2]);
    }

    #[test]
    fn broken_grids_are_errors_naming_the_step() {
        let steps = g(&[[72, 64, 55, 48], [74, 64, 0, 48]]);
        let err = |onsets: &[[bool; 4]]| report(&steps, onsets).unwrap_err().to_string();
        assert_eq!(
            err(&[[true; 4]]),
            "the pitch grid has 2 steps but the onset grid has 1: they differ from step 1"
        );
        assert_eq!(
            err(&[[true; 4], [true, false, true, false]]),
            "step 1: the tenor has an onset but no pitch"
        );
        let missing = "step 1: the soprano sounds a pitch the step before does not hold, without an onset";
        assert_eq!(err(&[[true; 4], [false; 4]]), missing);
        let first = report(&steps[..1], &[[false; 4]]).unwrap_err();
        assert_eq!(
            first,
            VoiceLeadingError::MissingOnset {
                step: 0,
                voice: "soprano"
            }
        );
    }

    #[test]
    fn totals_and_rates_add_up_over_a_corpus() {
        let corpus = [
            chords(&[[69, 65, 60, 53], [71, 62, 62, 55]]), // a parallel fifth
            chords(&[[72, 67, 64, 48], [74, 65, 62, 50]]), // a parallel octave
            chords(&[[60, 67, 0, 0], [62, 69, 0, 0]]),     // crossed parallel fifths
            chords(&[[84, 64, 60, 34]]),                   // 2 out of range, S–A too wide
        ];
        let mut total = VoiceLeading::default();
        for r in &corpus {
            total += r;
        }
        assert_eq!(counts(&total), [24, 7, 3, 2, 1, 2, 2, 1]);
        assert_eq!(corpus.iter().sum::<VoiceLeading>(), total);
        let rates = total.rates();
        assert_eq!(rates.parallels_per_100_transitions, 100.0);
        assert_eq!(rates.parallel_fifths_per_100_transitions, 200.0 / 3.0);
        assert_eq!(rates.parallel_octaves_per_100_transitions, 100.0 / 3.0);
        assert_eq!(rates.crossings_per_100_sonorities, 200.0 / 7.0);
        assert_eq!(rates.spacing_errors_per_100_sonorities, 100.0 / 7.0);
        assert_eq!(rates.range_violations_per_100_notes, 200.0 / 24.0);
        assert!(VoiceLeading::default().rates().parallels_per_100_transitions.is_nan());
        assert_eq!(report(&[], &[]), Ok(VoiceLeading::default()));
    }
}
