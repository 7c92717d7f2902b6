//! DeepBach's sequences — Hadjeres, Pachet & Nielsen, "DeepBach: a Steerable
//! Model for Bach Chorales Generation" (ICML 2017), as its reference code
//! (Ghadjeres/DeepBach, `DatasetManager`) builds them.
//!
//! Per voice, one token per 16th tick: the note's pitch at its onset, `__`
//! on every following tick of the same note, `rest` where a silence starts
//! (and `__` on its following ticks, as DeepBach writes a rest lasting
//! several ticks), with `pad` ticks of `START` before and `END` after the
//! piece. Beside them, per tick, the metadata DeepBach embeds, as its
//! indices: fermata (0/1), tick in the beat (`t mod steps_per_quarter`:
//! 0..=3 at 16ths) and key (`sharps + 8`, 1..=15; 0 = no constraint).
//! Metadata on padding ticks is 0, as DeepBach pads it.
//!
//! Deliberate differences: DeepBach names notes with music21's spelled
//! names (`C#4`, `D-4`) and keeps one vocabulary per voice; fugue writes the
//! MIDI number (`61`) and shares one vocabulary (128 pitches + `__`, `rest`,
//! `START`, `END`), so enharmonic spelling is not kept. DeepBach's key
//! metadata comes from music21's floating key analysis per measure; fugue
//! uses the grid's key signature for every tick (0 when it has none). Not
//! produced: `OOR` (every MIDI pitch has a token) and the voice-id metadata
//! (it is the voice's index, known to the model). A held note and a re-struck
//! one differ (`__` vs the pitch again) when the grid knows; the JSB data
//! does not, so there every run of equal pitches is held.

use crate::chorale::{Key, SatbGrid};
use crate::{Token, TokenError, Vocab};

/// DeepBach's encoder and decoder.
#[derive(Clone, Debug)]
pub struct DeepBach {
    pad: usize,
    vocab: Vocab,
}

/// One chorale as DeepBach's model reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeepBachSeqs {
    /// Per voice (S, A, T, B), one token per tick, padding included.
    pub voices: [Vec<Token>; 4],
    /// Per tick: 1 under a fermata.
    pub fermata: Vec<u8>,
    /// Per tick: the tick's position in its beat.
    pub tick: Vec<u8>,
    /// Per tick: `sharps + 8`, 0 = unknown.
    pub key: Vec<u8>,
}

impl DeepBach {
    /// An encoder with `pad` ticks of `START`/`END` on each side (DeepBach
    /// pads 16 when generating).
    pub fn new(pad: usize) -> Result<Self, TokenError> {
        let mut tokens: Vec<Token> = vec![Token::Start, Token::End, Token::Hold, Token::Rest];
        tokens.extend((0..=127u8).map(Token::VoicePitch));
        Ok(DeepBach {
            pad,
            vocab: Vocab::new(tokens)?,
        })
    }

    /// The shared vocabulary (`START`, `END`, `__`, `rest`, `0`..`127`).
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The sequences of a grid.
    pub fn encode(&self, grid: &SatbGrid) -> Result<DeepBachSeqs, TokenError> {
        grid.validate()?;
        let spq = grid.steps_per_quarter;
        let voices = std::array::from_fn(|v| {
            let mut seq = Vec::with_capacity(grid.len() + 2 * self.pad);
            seq.extend(std::iter::repeat_n(Token::Start, self.pad));
            for (t, cell) in grid.steps.iter().enumerate() {
                seq.push(match cell[v] {
                    Some(p) if grid.onsets[t][v] => Token::VoicePitch(p),
                    Some(_) => Token::Hold,
                    None if t > 0 && grid.steps[t - 1][v].is_none() => Token::Hold,
                    None => Token::Rest,
                });
            }
            seq.extend(std::iter::repeat_n(Token::End, self.pad));
            seq
        });
        let padded = |inner: &mut dyn Iterator<Item = u8>| {
            let mut out = vec![0u8; self.pad];
            out.extend(inner);
            out.extend(std::iter::repeat_n(0, self.pad));
            out
        };
        let key = grid.key.map_or(0, |k| (k.sharps.clamp(-7, 7) + 8) as u8);
        Ok(DeepBachSeqs {
            voices,
            fermata: padded(&mut grid.fermatas.iter().map(|&f| u8::from(f))),
            tick: padded(&mut (0..grid.len()).map(|t| (t as u32 % spq) as u8)),
            key: padded(&mut std::iter::repeat_n(key, grid.len())),
        })
    }

    /// The grid of sequences (16th steps). Padding is dropped wherever it is;
    /// `__` after a rest or at the start continues the silence; fermatas come
    /// from the metadata, the key from the first non-zero key index (its mode
    /// is unknown to DeepBach: major is assumed).
    pub fn decode(&self, seqs: &DeepBachSeqs) -> Result<SatbGrid, TokenError> {
        let n = seqs.voices[0].len();
        if seqs.voices.iter().any(|v| v.len() != n) {
            return Err(TokenError::Encode("the four voices differ in length".into()));
        }
        let mut grid = SatbGrid::new(4);
        for t in 0..n {
            if seqs.voices.iter().all(|v| matches!(v[t], Token::Start | Token::End)) {
                continue;
            }
            let prev = grid.steps.last().copied().unwrap_or([None; 4]);
            let mut cell = [None; 4];
            let mut onsets = [false; 4];
            for v in 0..4 {
                match seqs.voices[v][t] {
                    Token::VoicePitch(p) if p <= 127 => {
                        cell[v] = Some(p);
                        onsets[v] = true;
                    }
                    Token::Hold => cell[v] = prev[v],
                    Token::Rest | Token::Start | Token::End => {}
                    other => {
                        return Err(TokenError::Decode {
                            index: t,
                            token: other.to_string(),
                            message: format!("not a DeepBach token (voice {v})"),
                        })
                    }
                }
            }
            grid.push(cell, onsets, seqs.fermata.get(t).is_some_and(|&f| f == 1));
        }
        grid.key = seqs.key.iter().find(|&&k| k != 0).map(|&k| Key {
            sharps: k.clamp(1, 15) as i8 - 8,
            minor: false,
        });
        Ok(grid)
    }

    /// The ids of each voice's tokens.
    pub fn ids(&self, seqs: &DeepBachSeqs) -> Result<[Vec<u32>; 4], TokenError> {
        let [s, a, t, b] = &seqs.voices;
        Ok([
            self.vocab.encode(s)?,
            self.vocab.encode(a)?,
            self.vocab.encode(t)?,
            self.vocab.encode(b)?,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chorale::{jsb_or_skip, tiny_chorale};

    fn text(v: &[Token]) -> String {
        v.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn two_steps_exact_tokens() {
        let mut g = SatbGrid::from_pitches(
            vec![
                [Some(60), Some(57), None, Some(48)],
                [Some(60), Some(55), None, Some(48)],
            ],
            4,
        );
        g.onsets[1][3] = true; // the bass re-strikes
        g.fermatas[1] = true;
        g.key = Some(Key {
            sharps: -2,
            minor: false,
        });
        let db = DeepBach::new(1).unwrap();
        let s = db.encode(&g).unwrap();
        assert_eq!(text(&s.voices[0]), "START 60 __ END");
        assert_eq!(text(&s.voices[1]), "START 57 55 END");
        assert_eq!(text(&s.voices[2]), "START rest __ END");
        assert_eq!(text(&s.voices[3]), "START 48 48 END");
        assert_eq!(s.fermata, vec![0, 0, 1, 0]);
        assert_eq!(s.tick, vec![0, 0, 1, 0]);
        assert_eq!(s.key, vec![0, 6, 6, 0]);
        assert_eq!(db.ids(&s).unwrap()[0], vec![0, 64, 2, 1]);
        assert_eq!(db.decode(&s).unwrap(), g);
    }

    #[test]
    fn hand_built_chorale_round_trips() {
        let (g, _) = SatbGrid::from_score(&tiny_chorale(), 4).unwrap();
        let db = DeepBach::new(16).unwrap();
        let s = db.encode(&g).unwrap();
        assert_eq!(s.voices[0].len(), 16 + 32);
        assert!(s.voices[0].contains(&Token::VoicePitch(67)));
        assert_eq!(db.decode(&s).unwrap(), g);
    }

    #[test]
    fn every_jsb_piece_round_trips() {
        let Some(splits) = jsb_or_skip("deepbach every_jsb_piece_round_trips") else {
            return;
        };
        let db = DeepBach::new(16).unwrap();
        for g in splits.train.iter().chain(&splits.valid).chain(&splits.test) {
            let s = db.encode(g).unwrap();
            db.ids(&s).unwrap();
            assert_eq!(&db.decode(&s).unwrap(), g);
        }
    }
}
