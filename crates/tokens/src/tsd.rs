//! TSD (Time-Shift-Duration) — MidiTok's variant of MIDI-Like in which a
//! note carries its `Duration` instead of a `NoteOff` (Fradet et al., "MidiTok:
//! A Python package for MIDI file tokenization", ISMIR 2021 LBD).
//!
//! Time moves by `TimeShift` tokens between events (a long shift is written
//! as several, largest first, as MidiTok does); each note is `Pitch`,
//! `Velocity`, `Duration`; time signatures are `TimeSig` tokens at their
//! changes. One sequence per track. Preprocessing is the shared beat grid
//! ([`crate::beat_grid`]). Not covered yet: MidiTok's optional TSD extras
//! (programs, rests, tempos, chords, pedals, pitch bends).

use crate::beat_grid::{track_events, BeatConfig, Grid, GridEvent, DEFAULT_VELOCITY};
use crate::{with_ids, Grammar, Preprocessed, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Note, Score, Tick, TimeSignature, Track};

/// The TSD tokenizer.
#[derive(Clone, Debug)]
pub struct Tsd {
    grid: Grid,
    vocab: Vocab,
}

impl Tsd {
    /// A tokenizer for a configuration (validated).
    pub fn new(config: BeatConfig) -> Result<Self, TokenError> {
        let grid = Grid::new(config)?;
        let c = &grid.config;
        let mut tokens = grid.specials.clone();
        tokens.extend((c.pitch_range.0..=c.pitch_range.1).map(Token::Pitch));
        if c.use_pitchdrum_tokens {
            tokens.extend((c.drums_pitch_range.0..=c.drums_pitch_range.1).map(Token::PitchDrum));
        }
        tokens.extend(grid.velocities.iter().map(|&v| Token::Velocity(v)));
        tokens.extend(grid.durations.iter().map(|&d| Token::Duration(d)));
        tokens.extend(grid.durations.iter().map(|&d| Token::TimeShift(d)));
        if c.use_time_signatures {
            tokens.extend(grid.time_sigs.iter().map(|&(n, d)| Token::TimeSig(n, d)));
        }
        let vocab = Vocab::new(tokens)?;
        Ok(Tsd { grid, vocab })
    }
}

impl Tokenizer for Tsd {
    fn name(&self) -> &'static str {
        "tsd"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        use TokenType::*;
        let free: &[TokenType] = &[Pitch, PitchDrum, TimeShift, TimeSig];
        let vel_or_dur = if self.grid.config.use_velocities {
            Velocity
        } else {
            Duration
        };
        Grammar::new(
            free,
            &[
                (TimeShift, free),
                (TimeSig, free),
                (Pitch, &[vel_or_dur]),
                (PitchDrum, &[vel_or_dur]),
                (Velocity, &[Duration]),
                (Duration, free),
            ],
        )
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        let (score, report) = self.grid.preprocess(score);
        Preprocessed { score, report }
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        let c = &self.grid.config;
        let tpq = score.ticks_per_quarter;
        let sigs: &[TimeSignature<Tick>] = if c.use_time_signatures {
            &score.time_signatures
        } else {
            &[]
        };
        let empty = Track::new("", 0, 0);
        let parts: Vec<&Track<Tick>> = if score.tracks.is_empty() {
            vec![&empty]
        } else {
            score.tracks.iter().collect()
        };
        let mut out = Vec::with_capacity(parts.len());
        for tr in parts {
            let events = track_events(sigs, tr);
            let (mut tokens, mut ticks) = (
                Vec::with_capacity(events.len() * 4),
                Vec::with_capacity(events.len() * 4),
            );
            let mut previous = 0i64;
            let mut tpb = Grid::ticks_per_beat(4, tpq);
            for (time, ev) in events {
                if time != previous {
                    for (d, dt) in self.grid.shift_tokens(time - previous, tpb) {
                        tokens.push(Token::TimeShift(d));
                        ticks.push(previous);
                        previous += dt;
                    }
                    previous = time;
                }
                match ev {
                    GridEvent::Sig(n, d) => {
                        tpb = Grid::ticks_per_beat(d, tpq);
                        tokens.push(Token::TimeSig(n, d));
                        ticks.push(time);
                    }
                    GridEvent::Note(note) => {
                        self.grid
                            .push_note_tokens(note, tr.is_drum, tpb, &mut tokens, &mut ticks)?;
                    }
                }
            }
            out.push(with_ids(&self.vocab, tokens, ticks)?);
        }
        Ok(out)
    }

    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError> {
        let c = &self.grid.config;
        let max_den = seqs
            .iter()
            .flatten()
            .filter_map(|t| if let Token::TimeSig(_, d) = t { Some(*d) } else { None })
            .max()
            .unwrap_or(4)
            .max(4);
        let tpq = (u32::from(self.grid.max_res) * u32::from(max_den) / 4).max(1) as u16;
        let mut score = Score::new(tpq);
        for (si, seq) in seqs.iter().enumerate() {
            let mut track = Track::new("", 0, 0);
            let mut sigs: Vec<TimeSignature<Tick>> = Vec::new();
            let (mut now, mut tpb) = (0i64, Grid::ticks_per_beat(4, tpq));
            let (mut pitch, mut velocity): (Option<(u8, bool)>, u8) = (None, DEFAULT_VELOCITY);
            for (index, t) in seq.iter().enumerate() {
                let bad = |m: &str| TokenError::Decode {
                    index,
                    token: t.to_string(),
                    message: m.into(),
                };
                match *t {
                    Token::TimeShift(d) => now += d.ticks(tpb),
                    Token::TimeSig(n, d) => {
                        tpb = Grid::ticks_per_beat(d, tpq);
                        sigs.push(TimeSignature::new(now, n, d));
                    }
                    Token::Pitch(p) => pitch = Some((p, false)),
                    Token::PitchDrum(p) => pitch = Some((p, true)),
                    Token::Velocity(v) => velocity = v,
                    Token::Duration(d) => {
                        let (p, drum) = pitch.take().ok_or_else(|| bad("a Duration without its Pitch"))?;
                        track.is_drum |= drum;
                        let v = if c.use_velocities { velocity } else { DEFAULT_VELOCITY };
                        track.notes.push(Note::new(now, d.ticks(tpb), p, v));
                    }
                    Token::Pad | Token::Bos | Token::Eos | Token::Mask => {}
                    _ => return Err(bad("not a TSD token")),
                }
            }
            if track.is_drum {
                track.channel = 9;
            }
            if si == 0 && c.use_time_signatures {
                score.time_signatures = sigs;
            }
            if !track.notes.is_empty() {
                score.tracks.push(track);
            }
        }
        Ok(score)
    }
}
