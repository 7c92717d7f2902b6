//! Coconet's input — Huang, Cooijmans, Roberts, Courville & Eck,
//! "Counterpoint by Convolution" (ISMIR 2017): a chorale as a (T × P × I)
//! one-hot piano-roll, T 16th-note steps, P = 46 pitches (MIDI 36..=81, the
//! range of the JSB 16th data), I = 4 instruments (S, A, T, B).
//!
//! Not a [`crate::Tokenizer`]: Coconet reads a tensor, not a token sequence,
//! so this is a layout helper between [`SatbGrid`] and the flat buffer a
//! model crate turns into a tensor. Layout: row-major `[t][p][i]`, i.e. the
//! value of step `t`, pitch `36 + p`, voice `i` is at `(t * 46 + p) * 4 + i`
//! — the axis order of magenta's `(time, pitch, instrument)` arrays. A silent
//! voice is an all-zero pitch column.
//!
//! Limits, as in Coconet's data: no held/repeated distinction (a run of equal
//! pitches decodes as one held note), no fermatas, no key; a pitch outside
//! 36..=81 is an error, not clipped. The masks Coconet concatenates to the
//! roll belong to the model's training code.

use crate::chorale::SatbGrid;
use crate::TokenError;

/// Lowest pitch of the roll.
pub const LOWEST_PITCH: u8 = 36;
/// Highest pitch of the roll.
pub const HIGHEST_PITCH: u8 = 81;
/// Pitches per step (P).
pub const PITCHES: usize = 46;
/// Voices (I).
pub const INSTRUMENTS: usize = 4;

/// A (T × 46 × 4) one-hot roll, row-major `[t][p][i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct PianoRoll {
    /// The values, 0.0 or 1.0, `steps * 46 * 4` of them.
    pub data: Vec<f32>,
    /// T.
    pub steps: usize,
}

impl PianoRoll {
    /// The tensor shape `[T, P, I]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.steps, PITCHES, INSTRUMENTS]
    }
    /// Where (step, pitch index, voice) is in `data`.
    pub fn index(t: usize, p: usize, i: usize) -> usize {
        (t * PITCHES + p) * INSTRUMENTS + i
    }
}

/// The roll of a grid; a pitch outside 36..=81 is an error naming its cell.
pub fn to_pianoroll(grid: &SatbGrid) -> Result<PianoRoll, TokenError> {
    let mut data = vec![0.0f32; grid.len() * PITCHES * INSTRUMENTS];
    for (t, cell) in grid.steps.iter().enumerate() {
        for (i, p) in cell.iter().enumerate() {
            if let Some(p) = *p {
                if !(LOWEST_PITCH..=HIGHEST_PITCH).contains(&p) {
                    return Err(TokenError::Encode(format!(
                        "step {t}, voice {i}: pitch {p} is outside Coconet's 36..=81"
                    )));
                }
                data[PianoRoll::index(t, usize::from(p - LOWEST_PITCH), i)] = 1.0;
            }
        }
    }
    Ok(PianoRoll {
        data,
        steps: grid.len(),
    })
}

/// The grid of a roll (16th steps): each (step, voice) column must be all
/// zero (a rest) or hold a single 1.0 — sample a model's probabilities first.
pub fn from_pianoroll(roll: &PianoRoll) -> Result<SatbGrid, TokenError> {
    if roll.data.len() != roll.steps * PITCHES * INSTRUMENTS {
        return Err(TokenError::Encode(format!(
            "a roll of {} steps needs {} values, not {}",
            roll.steps,
            roll.steps * PITCHES * INSTRUMENTS,
            roll.data.len()
        )));
    }
    let mut steps = Vec::with_capacity(roll.steps);
    for t in 0..roll.steps {
        let mut cell = [None; 4];
        for (i, c) in cell.iter_mut().enumerate() {
            for p in 0..PITCHES {
                let x = roll.data[PianoRoll::index(t, p, i)];
                if x == 1.0 && c.is_none() {
                    *c = Some(LOWEST_PITCH + p as u8);
                } else if x != 0.0 {
                    return Err(TokenError::Encode(format!(
                        "step {t}, voice {i}: not one-hot (value {x} at pitch {})",
                        usize::from(LOWEST_PITCH) + p
                    )));
                }
            }
        }
        steps.push(cell);
    }
    Ok(SatbGrid::from_pitches(steps, 4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chorale::{jsb_or_skip, tiny_chorale};

    #[test]
    fn two_steps_exact_layout() {
        let g = SatbGrid::from_pitches(
            vec![[Some(81), Some(60), None, Some(36)], [Some(81), None, None, Some(37)]],
            4,
        );
        let r = to_pianoroll(&g).unwrap();
        assert_eq!(r.shape(), [2, 46, 4]);
        let ones: Vec<usize> = (0..r.data.len()).filter(|&k| r.data[k] == 1.0).collect();
        // (t*46 + p)*4 + i: S 81 → p 45; A 60 → p 24; B 36 → p 0; B 37 → p 1.
        assert_eq!(ones, vec![3, 24 * 4 + 1, 45 * 4, 46 * 4 + 4 + 3, (46 + 45) * 4]);
        assert_eq!(from_pianoroll(&r).unwrap(), g);
    }

    #[test]
    fn rejects_out_of_range_and_not_one_hot() {
        let g = SatbGrid::from_pitches(vec![[Some(82), None, None, None]], 4);
        assert!(to_pianoroll(&g).unwrap_err().to_string().contains("82"));
        let mut r = to_pianoroll(&SatbGrid::from_pitches(vec![[Some(60), None, None, None]], 4)).unwrap();
        r.data[PianoRoll::index(0, 0, 0)] = 1.0;
        assert!(from_pianoroll(&r).is_err());
    }

    #[test]
    fn hand_built_chorale_round_trips_up_to_what_coconet_drops() {
        let (mut g, _) = SatbGrid::from_score(&tiny_chorale(), 4).unwrap();
        let back = from_pianoroll(&to_pianoroll(&g).unwrap()).unwrap();
        // Coconet keeps pitches only: repeats become held, no fermata, no key.
        assert_eq!(g.merge_repeats(), 1);
        g.fermatas.fill(false);
        g.key = None;
        assert_eq!(back, g);
    }

    #[test]
    fn every_jsb_piece_round_trips() {
        let Some(s) = jsb_or_skip("coconet every_jsb_piece_round_trips") else {
            return;
        };
        for g in s.train.iter().chain(&s.valid).chain(&s.test) {
            assert_eq!(&from_pianoroll(&to_pianoroll(g).unwrap()).unwrap(), g);
        }
    }
}
