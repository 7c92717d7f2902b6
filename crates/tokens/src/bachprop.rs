//! BachProp's note representation (Colombo, Brea & Gerstner, "Learning to
//! Generate Music with BachProp", SMC 2019; its code, `src/utils.py`).
//!
//! A score becomes one sequence of notes, every track merged, ordered by
//! onset then pitch (low to high). A note is three numbers: **dT**, the time
//! since the previous note's onset (0 for notes struck together), **T**, its
//! duration, and **P**, its MIDI pitch. dT and T are in quarter notes and
//! "normalised": snapped to the nearest value of a grid that holds every
//! multiple of a 64th note and of a 32nd-note triplet below 64 quarters
//! (`d + m/16` and `d + m/12`). fugue keeps them as integers in 48ths of a
//! quarter (the grid is then every multiple of 3 or 4), so they compare
//! exactly.
//!
//! The vocabularies are a corpus's own ([`BachPropVocab::from_corpus`]): the
//! sorted dT and T values that occur in it and every pitch from its lowest
//! to its highest, each with one more symbol that starts and ends a
//! sequence. A note whose values the vocabulary lacks cannot be encoded
//! ([`BachPropVocab::ids`] names it).

use fugue_score::{Note, Score, Tick, Track};
use serde::{Deserialize, Serialize};

use crate::TokenError;

/// Grid values per quarter note (dT and T are counted in 48ths).
pub const PER_QUARTER: u32 = 48;
/// The grid's end: values snap below 64 quarters.
const MAX: u32 = 64 * PER_QUARTER;
/// Velocity of decoded notes (BachProp keeps none).
const VELOCITY: u8 = 90;

/// The grid value nearest `x` (48ths of a quarter, any real): the nearest
/// multiple of 3 (64ths) or 4 (32nd triplets) in `0..64` quarters; on a tie
/// the smaller.
pub fn snap(x: f64) -> u32 {
    let x = x.clamp(0.0, f64::from(MAX - 1));
    let near = |step: f64| -> f64 { ((x / step).round() * step).min(f64::from(MAX) - step) };
    let (a, b) = (near(3.0), near(4.0));
    let pick = if (a - x).abs() < (b - x).abs() || ((a - x).abs() == (b - x).abs() && a < b) {
        a
    } else {
        b
    };
    pick as u32
}

/// One note: dT and T in 48ths of a quarter, and the pitch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NoteTriple {
    /// Time since the previous onset.
    pub dt: u32,
    /// Duration.
    pub t: u32,
    /// MIDI pitch.
    pub pitch: u8,
}

/// A score's notes as BachProp reads them (see the module docs). Drum
/// tracks are left out. The first note's dT is its onset.
pub fn notes(score: &Score<Tick>) -> Vec<NoteTriple> {
    let tpq = f64::from(score.ticks_per_quarter.max(1));
    let mut all: Vec<(i64, u8, i64)> = score
        .tracks
        .iter()
        .filter(|t| !t.is_drum)
        .flat_map(|t| t.notes.iter().map(|n| (n.time, n.pitch, n.duration)))
        .collect();
    all.sort_unstable();
    let per = f64::from(PER_QUARTER);
    let mut previous = 0i64;
    all.iter()
        .map(|&(time, pitch, duration)| {
            let dt = snap((time - previous) as f64 / tpq * per);
            previous = time;
            NoteTriple {
                dt,
                t: snap(duration as f64 / tpq * per),
                pitch,
            }
        })
        .collect()
}

/// A corpus's vocabularies. Ids: dT `0..dt.len()` are the values in order,
/// `dt.len()` the start/end symbol; T likewise; P `pitch − low`, then the
/// symbol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BachPropVocab {
    /// The dT values (48ths), ascending.
    pub dt: Vec<u32>,
    /// The T values (48ths), ascending.
    pub t: Vec<u32>,
    /// The lowest pitch.
    pub low: u8,
    /// The highest pitch.
    pub high: u8,
}

impl BachPropVocab {
    /// The vocabularies of these pieces' notes; `None` when there is no note.
    pub fn from_corpus<'a>(pieces: impl IntoIterator<Item = &'a [NoteTriple]>) -> Option<Self> {
        let (mut dt, mut t) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
        let (mut low, mut high) = (u8::MAX, 0u8);
        for n in pieces.into_iter().flatten() {
            dt.insert(n.dt);
            t.insert(n.t);
            low = low.min(n.pitch);
            high = high.max(n.pitch);
        }
        (low <= high).then(|| BachPropVocab {
            dt: dt.into_iter().collect(),
            t: t.into_iter().collect(),
            low,
            high,
        })
    }

    /// Sizes of the three vocabularies, symbols included.
    pub fn sizes(&self) -> [usize; 3] {
        [
            self.dt.len() + 1,
            self.t.len() + 1,
            usize::from(self.high - self.low) + 2,
        ]
    }

    /// The start/end symbol's ids.
    pub fn symbol(&self) -> [u32; 3] {
        self.sizes().map(|s| s as u32 - 1)
    }

    /// A note's ids; a value outside the vocabulary is an error naming it.
    pub fn ids(&self, n: &NoteTriple) -> Result<[u32; 3], TokenError> {
        let missing = |what: &str, v: String| TokenError::Encode(format!("{what} {v} is not in the corpus vocabulary"));
        let dt = self
            .dt
            .binary_search(&n.dt)
            .map_err(|_| missing("dT", format!("{}/48", n.dt)))?;
        let t = self
            .t
            .binary_search(&n.t)
            .map_err(|_| missing("T", format!("{}/48", n.t)))?;
        if !(self.low..=self.high).contains(&n.pitch) {
            return Err(missing("pitch", n.pitch.to_string()));
        }
        Ok([dt as u32, t as u32, u32::from(n.pitch - self.low)])
    }

    /// The note of three ids, `None` at a symbol or an unknown id.
    pub fn note(&self, ids: [u32; 3]) -> Option<NoteTriple> {
        let [dt, t, p] = ids.map(|i| i as usize);
        Some(NoteTriple {
            dt: *self.dt.get(dt)?,
            t: *self.t.get(t)?,
            pitch: (p <= usize::from(self.high - self.low)).then(|| self.low + p as u8)?,
        })
    }

    /// Notes back to a one-track score at 48 ticks a quarter (a grid
    /// value is a tick), stopping at the first symbol.
    pub fn decode(&self, ids: &[[u32; 3]]) -> Score<Tick> {
        let mut score = Score::new(PER_QUARTER as u16);
        let mut track = Track::new("BachProp", 0, 0);
        let mut onset = 0i64;
        for &n in ids {
            let Some(n) = self.note(n) else { break };
            onset += i64::from(n.dt);
            track.notes.push(Note::new(onset, i64::from(n.t), n.pitch, VELOCITY));
        }
        score.tracks.push(track);
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapping_reaches_64ths_and_32nd_triplets() {
        assert_eq!(snap(48.0), 48); // a quarter
        assert_eq!(snap(16.0), 16); // a triplet eighth (multiple of 4)
        assert_eq!(snap(3.0), 3); // a 64th
        assert_eq!(snap(7.4), 8); // 8 (4·2) is nearer than 6 or 9
        assert_eq!(snap(1.5), 0); // a tie of 0 and 3: the smaller
        assert_eq!(snap(-5.0), 0);
        assert_eq!(snap(1e9), MAX - 3, "below 64 quarters");
    }

    #[test]
    fn chords_then_melody_become_triples_and_decode_back() {
        let mut s = Score::new(480);
        let mut upper = Track::new("S", 0, 0);
        upper.notes.push(Note::new(0, 480, 72, 80));
        upper.notes.push(Note::new(480, 160, 74, 80)); // a triplet eighth
        let mut lower = Track::new("B", 0, 1);
        lower.notes.push(Note::new(0, 960, 48, 80));
        s.tracks.extend([upper, lower]);
        let n = notes(&s);
        assert_eq!(
            n,
            vec![
                NoteTriple {
                    dt: 0,
                    t: 96,
                    pitch: 48
                },
                NoteTriple {
                    dt: 0,
                    t: 48,
                    pitch: 72
                },
                NoteTriple {
                    dt: 48,
                    t: 16,
                    pitch: 74
                },
            ]
        );
        let vocab = BachPropVocab::from_corpus([n.as_slice()]).unwrap();
        assert_eq!(vocab.dt, vec![0, 48]);
        assert_eq!(vocab.t, vec![16, 48, 96]);
        assert_eq!(vocab.sizes(), [3, 4, 28]);
        assert_eq!(vocab.symbol(), [2, 3, 27]);
        let ids: Vec<[u32; 3]> = n.iter().map(|x| vocab.ids(x).unwrap()).collect();
        assert_eq!(ids[2], [1, 0, 26]);
        let back = vocab.decode(&[ids.clone(), vec![vocab.symbol()], ids].concat());
        let got: Vec<(i64, i64, u8)> = back.tracks[0]
            .notes
            .iter()
            .map(|n| (n.time, n.duration, n.pitch))
            .collect();
        assert_eq!(got, vec![(0, 96, 48), (0, 48, 72), (48, 16, 74)], "stops at the symbol");
        let e = vocab
            .ids(&NoteTriple {
                dt: 3,
                t: 48,
                pitch: 60,
            })
            .unwrap_err();
        assert!(e.to_string().contains("dT 3/48"), "{e}");
        assert!(BachPropVocab::from_corpus([[].as_slice()]).is_none());
    }
}
