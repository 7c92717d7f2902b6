//! Structured — Hadjeres & Crestel, "The Piano Inpainting Application"
//! (2021), as MidiTok writes it: every note is `TimeShift Pitch Velocity
//! Duration`, in that strict order, the time shift counted from the previous
//! note's onset (`TimeShift_0.0.1` when there is none).
//!
//! As in MidiTok, the scheme has no time signatures (4/4 is assumed) and
//! snaps each time shift to the nearest duration value. Decoding adds the
//! snapped shifts up, so preprocessing moves each onset to that position
//! (counted in the report): the tokens are MidiTok's, and decoding gives the
//! preprocessed score back exactly. One sequence per track.

use crate::beat_grid::{closest, BeatConfig, Grid};
use crate::events::NoteDecoder;
use crate::token::Beats;
use crate::{with_ids, Grammar, Preprocessed, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Score, Tick};

/// The time shift of zero (MidiTok's `TimeShift_0.0.1`).
const NO_SHIFT: Beats = Beats {
    beats: 0,
    pos: 0,
    res: 1,
};

/// The Structured tokenizer.
#[derive(Clone, Debug)]
pub struct Structured {
    grid: Grid,
    vocab: Vocab,
}

impl Structured {
    /// A tokenizer for a configuration (validated). Time signatures are
    /// turned off, as MidiTok does for this scheme.
    pub fn new(mut config: BeatConfig) -> Result<Self, TokenError> {
        crate::programs::refuse(&config, "Structured")?;
        crate::programs::refuse_bar_embedding(&config, "Structured")?;
        config.use_time_signatures = false;
        let grid = Grid::new(config)?;
        let mut tokens = grid.specials.clone();
        tokens.extend(grid.pitch_vocab());
        tokens.extend(grid.velocity_vocab());
        tokens.extend(grid.durations.iter().map(|&d| Token::Duration(d)));
        tokens.extend(grid.durations.iter().map(|&d| Token::TimeShift(d)));
        tokens.push(Token::TimeShift(NO_SHIFT));
        let vocab = Vocab::new(tokens)?;
        Ok(Structured { grid, vocab })
    }

    fn ticks_per_beat(&self, tpq: u16) -> i64 {
        Grid::ticks_per_beat(4, tpq)
    }
}

impl Tokenizer for Structured {
    fn name(&self) -> &'static str {
        "structured"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        use TokenType::*;
        let after_pitch = if self.grid.config.use_velocities {
            Velocity
        } else {
            Duration
        };
        Grammar::new(
            &[TimeShift],
            &[
                (TimeShift, &[Pitch, PitchDrum]),
                (Pitch, &[after_pitch]),
                (PitchDrum, &[after_pitch]),
                (Velocity, &[Duration]),
                (Duration, &[TimeShift]),
            ],
        )
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        let Preprocessed { mut score, mut report } = self.grid.preprocess(score);
        let table = self
            .grid
            .duration_ticks(self.ticks_per_beat(score.ticks_per_quarter))
            .into_owned();
        for t in &mut score.tracks {
            // Onsets where the snapped shifts put them.
            let (mut original_prev, mut decoded) = (0i64, 0i64);
            for n in &mut t.notes {
                let shift = n.time - original_prev;
                original_prev = n.time;
                if shift != 0 {
                    decoded += closest(&table, shift);
                }
                report.onsets_moved += usize::from(decoded != n.time);
                n.time = decoded;
            }
        }
        Preprocessed { score, report }
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        let tpb = self.ticks_per_beat(score.ticks_per_quarter);
        let table = self.grid.duration_ticks(tpb);
        let mut out = Vec::with_capacity(score.tracks.len().max(1));
        for tr in &score.tracks {
            let (mut tokens, mut ticks) = (
                Vec::with_capacity(tr.notes.len() * 4),
                Vec::with_capacity(tr.notes.len() * 4),
            );
            let mut previous = 0i64;
            for n in &tr.notes {
                let shift = n.time - previous;
                let value = if shift == 0 {
                    NO_SHIFT
                } else {
                    let i = table.binary_search(&shift).map_err(|_| {
                        TokenError::Encode(format!(
                            "a time shift of {shift} ticks before the note at tick {} is not on the grid (preprocess first)",
                            n.time
                        ))
                    })?;
                    self.grid.durations[i]
                };
                tokens.push(Token::TimeShift(value));
                ticks.push(n.time);
                self.grid
                    .push_note_tokens(n, tr.is_drum, tpb, &mut tokens, &mut ticks)?;
                previous = n.time;
            }
            out.push(with_ids(&self.vocab, tokens, ticks)?);
        }
        if out.is_empty() {
            out.push(TokSeq::default());
        }
        Ok(out)
    }

    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError> {
        let tpq = self.grid.max_res;
        let tpb = self.ticks_per_beat(tpq);
        let mut score = Score::new(tpq);
        for seq in seqs {
            let mut notes = NoteDecoder::new(&self.grid.config);
            let mut now = 0i64;
            for (index, t) in seq.iter().enumerate() {
                if notes.feed(t, now, tpb, index)? {
                    continue;
                }
                match *t {
                    Token::TimeShift(d) => now += d.ticks(tpb),
                    Token::Pad | Token::Bos | Token::Eos | Token::Mask => {}
                    _ => {
                        return Err(TokenError::Decode {
                            index,
                            token: t.to_string(),
                            message: "not a Structured token".into(),
                        })
                    }
                }
            }
            score.tracks.extend(notes.finish());
        }
        Ok(score)
    }
}
