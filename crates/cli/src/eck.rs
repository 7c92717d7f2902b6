//! Eck & Schmidhuber's blues LSTM in the CLI (`--model eck-schmidhuber`):
//! tunes with chord symbols as steps of chord and melody units, and tunes
//! sampled from a trained run.
//!
//! **Data.** Their blues (a fixed 12-bar progression with hand-made
//! melodies) was never published; fugue trains the network on the
//! Nottingham tunes (`nottingham-abc`), which carry a melody and chord
//! symbols. Each tune becomes one step per eighth note (the papers'
//! resolution): the chord symbols' pitch classes sounding at the step (12
//! units) and the melody's pitch (13 units, `melody_low` up an octave; none
//! in a rest). The tune is first moved to C major as the melody encoding
//! moves it (`fugue_tokens::melody`), and the melody is then folded by
//! octaves into the 13 units (Eck's blues melodies fit them; Nottingham
//! tunes need the fold). A held and a repeated note are the same steps, as
//! in the papers. Steps start at the bar line before the first note.
//!
//! **Generation.** [`EckSchmidhuber::sample`] from silence, `--tokens`
//! steps (else `--seconds` at 120 quarters a minute, else 8 bars of 4/4),
//! written as a melody track and a chord track (pitch classes from C3).

use anyhow::{bail, Context, Result};
use fugue_data::{Dataset, Split};
use fugue_models::burn::tensor::Device;
use fugue_models::eck_schmidhuber::EckSchmidhuber;
use fugue_score::{Note, Score, Tempo, Tick, TimeSignature, Track};
use fugue_tokens::melody::{melody_track, Melody, MelodyConfig};
use fugue_train::FrameTask;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::generate::GenerateArgs;

/// Chord units: the 12 pitch classes.
pub const CHORD_UNITS: usize = 12;
/// Tempo of sampled tunes.
const QPM: f64 = 120.0;

/// How tunes become steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChordMelodyEncoding {
    /// Steps per quarter note (2: eighths).
    pub steps_per_quarter: u32,
    /// The lowest melody unit's pitch.
    pub melody_low: u8,
    /// Melody units.
    pub melody_units: usize,
}

impl ChordMelodyEncoding {
    /// Eighths, 13 melody units from C4.
    pub fn eck() -> Self {
        Self {
            steps_per_quarter: 2,
            melody_low: 60,
            melody_units: 13,
        }
    }

    /// Units per step.
    pub fn units(&self) -> usize {
        CHORD_UNITS + self.melody_units
    }

    /// A melody pitch folded by octaves into the units: its unit index.
    fn melody_unit(&self, pitch: i32) -> usize {
        let low = i32::from(self.melody_low);
        let top = low + self.melody_units as i32 - 1;
        let p = if (low..=top).contains(&pitch) {
            pitch
        } else {
            // Into the octave from `low`; a range under an octave cannot
            // hold every pitch class, so what is left clamps.
            (low + (pitch - low).rem_euclid(12)).min(top)
        };
        (p - low) as usize
    }

    /// A tune's steps, unit indices per step (see the module docs).
    pub fn steps(&self, score: &Score<Tick>) -> Result<Vec<Vec<u16>>> {
        let melody = &score.tracks[melody_track(score).context("no melody track")?];
        let chords = score.tracks.iter().find(|t| t.name == "Chords");
        let pitches: Vec<u8> = melody.notes.iter().map(|n| n.pitch).collect();
        // The melody encoding's transposition and bar, on this grid.
        let tok = Melody::new(MelodyConfig {
            steps_per_quarter: self.steps_per_quarter,
            ..MelodyConfig::default()
        })?;
        let shift = tok.transposition(&pitches);
        let bar = tok.bar_steps(score);
        let tpq = i64::from(score.ticks_per_quarter.max(1));
        let spq = i64::from(self.steps_per_quarter.max(1));
        let first = melody.notes.iter().map(|n| n.time).min().unwrap_or(0) * spq / tpq;
        let end = melody.notes.iter().map(|n| n.time + n.duration).max().unwrap_or(0);
        let origin = first.div_euclid(bar) * bar;
        let last = (end * spq + tpq - 1) / tpq;
        let sounding = |notes: &[Note<Tick>], tick: i64| -> Vec<u8> {
            notes
                .iter()
                .filter(|n| n.time <= tick && tick < n.time + n.duration.max(1))
                .map(|n| n.pitch)
                .collect()
        };
        Ok((origin..last)
            .map(|s| {
                let tick = s * tpq / spq;
                let mut units: Vec<u16> = chords
                    .map(|c| sounding(&c.notes, tick))
                    .unwrap_or_default()
                    .iter()
                    .map(|&p| (i32::from(p) + shift).rem_euclid(12) as u16)
                    .collect();
                units.sort_unstable();
                units.dedup();
                if let Some(&p) = sounding(&melody.notes, tick).iter().max() {
                    units.push((CHORD_UNITS + self.melody_unit(i32::from(p) + shift)) as u16);
                }
                units
            })
            .collect())
    }
}

/// The frame task of a dataset of tunes.
pub fn load_task(dataset: &Dataset, enc: &ChordMelodyEncoding, batch_size: usize, seq_len: usize) -> Result<FrameTask> {
    let split = |split: Split| -> Result<Vec<Vec<Vec<u16>>>> {
        dataset
            .split(split)
            .map(|piece| {
                let score = piece
                    .score()
                    .with_context(|| format!("{}: {}", dataset.name, piece.id))?;
                enc.steps(&score)
                    .with_context(|| format!("{}: {}", dataset.name, piece.id))
            })
            .collect()
    };
    let (train, valid, test) = (split(Split::Train)?, split(Split::Valid)?, split(Split::Test)?);
    crate::recipe::report_splits(
        &dataset.name,
        "chord + melody steps",
        "tunes",
        "steps",
        [&train, &valid, &test],
        "",
    )?;
    Ok(FrameTask::new(train, valid, test, enc.units(), batch_size, seq_len))
}

/// Steps back to a melody track and a chord track (channel 2) at 480
/// ticks a quarter: a unit on in consecutive steps is one held note.
pub fn to_score(enc: &ChordMelodyEncoding, steps: &[Vec<usize>]) -> Score<Tick> {
    let step_quarters = 1.0 / f64::from(enc.steps_per_quarter.max(1));
    let part = |melody: bool, low: u8, name: &str| -> Track<Tick> {
        let frames: Vec<Vec<usize>> = steps
            .iter()
            .map(|f| {
                f.iter()
                    .filter(|&&u| (u >= CHORD_UNITS) == melody && u < enc.units())
                    .map(|&u| if melody { u - CHORD_UNITS } else { u })
                    .collect()
            })
            .collect();
        let mut score = crate::recipe::frames_to_score(&frames, low, step_quarters, name);
        score.tracks.pop().unwrap_or_else(|| Track::new(name, 0, 0))
    };
    let mut score = Score::new(480);
    let mut chords = part(false, 48, "Chords");
    chords.channel = 1;
    score.tracks.extend([part(true, enc.melody_low, "Melody"), chords]);
    score
}

/// A tune sampled from a run (see the module docs).
pub fn generate(
    model: &EckSchmidhuber,
    enc: &ChordMelodyEncoding,
    a: &GenerateArgs,
    seed: u64,
    device: &Device,
) -> Result<(Score<Tick>, usize)> {
    if a.primer.is_some() {
        bail!("--primer is not supported for eck-schmidhuber yet");
    }
    if model.units() != enc.units() {
        bail!(
            "the network has {} units but the encoding {}",
            model.units(),
            enc.units()
        );
    }
    let spq = f64::from(enc.steps_per_quarter);
    let steps = match (a.tokens, a.seconds) {
        (Some(t), _) => t,
        (None, Some(s)) => ((s * QPM / 60.0 * spq).round() as usize).max(1),
        (None, None) => (32.0 * spq) as usize,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let out = model.sample(&[], steps, device, || rng.random::<f32>());
    let mut score = to_score(enc, &out);
    score.tempos.push(Tempo::from_qpm(0, QPM));
    score.time_signatures.push(TimeSignature::new(0, 4, 4));
    Ok((score, out.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tune_becomes_chord_and_melody_steps_and_back() {
        // G major (G, F♯, C: no other major scale holds all three): a G
        // chord under G4 F♯4 (eighths), then D under a held C5.
        let mut s = Score::new(480);
        let mut chords = Track::new("Chords", 0, 1);
        for (t, p) in [(0, 55), (0, 59), (0, 62), (480, 50), (480, 54), (480, 57)] {
            chords.notes.push(Note::new(t, 480, p, 80));
        }
        let mut m = Track::new("Tune", 0, 0);
        for (t, d, p) in [(0, 240, 67), (240, 240, 66), (480, 480, 72)] {
            m.notes.push(Note::new(t, d, p, 90));
        }
        s.tracks.extend([m, chords]);
        let enc = ChordMelodyEncoding::eck();
        let steps = enc.steps(&s).unwrap();
        // Down a fifth to C major: chord C E G under C4, then B3 (below the
        // units: folded up to B4), then chord G B D under F4, held.
        // (C5, the 13th unit, stays; C6 folds to C4; a 5-unit range clamps.)
        assert_eq!(enc.melody_unit(72), 12);
        assert_eq!(enc.melody_unit(84), 0);
        let narrow = ChordMelodyEncoding {
            melody_units: 5,
            ..ChordMelodyEncoding::eck()
        };
        assert_eq!(narrow.melody_unit(67), 4);
        assert_eq!(
            steps,
            vec![
                vec![0, 4, 7, 12],
                vec![0, 4, 7, 12 + 11],
                vec![2, 7, 11, 12 + 5],
                vec![2, 7, 11, 12 + 5],
            ]
        );
        let back = to_score(
            &enc,
            &steps
                .iter()
                .map(|f| f.iter().map(|&u| usize::from(u)).collect())
                .collect::<Vec<_>>(),
        );
        let melody: Vec<(i64, i64, u8)> = back.tracks[0]
            .notes
            .iter()
            .map(|n| (n.time, n.duration, n.pitch))
            .collect();
        assert_eq!(melody, vec![(0, 240, 60), (240, 240, 71), (480, 480, 65)]);
        assert!(enc.steps(&Score::new(480)).is_err());
    }
}
