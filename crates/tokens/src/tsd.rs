//! TSD (Time-Shift-Duration) — MidiTok's variant of MIDI-Like in which a
//! note carries its `Duration` instead of a `NoteOff` (Fradet et al., "MidiTok:
//! A Python package for MIDI file tokenization", ISMIR 2021 LBD).
//!
//! Time moves by `TimeShift` tokens between events (a long shift is written
//! as several, largest first, as MidiTok does); each note is `Pitch`,
//! `Velocity`, `Duration`; time signatures are `TimeSig` tokens at their
//! changes. One sequence per track. Preprocessing is the shared beat grid
//! ([`crate::beat_grid`]). With `use_programs`, `Program` tokens as in
//! [`crate::programs`]. Not covered yet: MidiTok's optional TSD extras
//! (rests, tempos, chords, pedals, pitch bends).

use crate::beat_grid::{BeatConfig, Grid};
use crate::events::{sequences, GridEvent, NoteDecoder, ProgramTokens};
use crate::{with_ids, Grammar, Preprocessed, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Score, Tick, TimeSignature, Track};

/// The TSD tokenizer.
#[derive(Clone, Debug)]
pub struct Tsd {
    grid: Grid,
    vocab: Vocab,
}

impl Tsd {
    /// A tokenizer for a configuration (validated).
    pub fn new(config: BeatConfig) -> Result<Self, TokenError> {
        crate::programs::refuse_bar_embedding(&config, "TSD")?;
        let grid = Grid::new(config)?;
        let mut tokens = grid.specials.clone();
        tokens.extend(grid.pitch_vocab());
        tokens.extend(grid.velocity_vocab());
        tokens.extend(grid.durations.iter().map(|&d| Token::Duration(d)));
        tokens.extend(grid.durations.iter().map(|&d| Token::TimeShift(d)));
        tokens.extend(grid.time_sig_vocab());
        tokens.extend(grid.program_vocab());
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
        let free: &[TokenType] = &[Program, Pitch, PitchDrum, TimeShift, TimeSig];
        let vel_or_dur = if self.grid.config.use_velocities {
            Velocity
        } else {
            Duration
        };
        Grammar::new(
            free,
            &[
                (TimeShift, free),
                (Program, free),
                (TimeSig, free),
                (Pitch, &[vel_or_dur]),
                (PitchDrum, &[vel_or_dur]),
                (Velocity, &[Duration]),
                (Duration, free),
            ],
        )
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        self.grid.preprocess(score)
    }

    /// Tracks in file order, so that ties between tracks are written as
    /// MidiTok writes them (see [`crate::programs`]).
    fn encode(&self, score: &Score<Tick>) -> Result<(Vec<TokSeq>, crate::Report), TokenError> {
        let p = self.grid.preprocess_in_file_order(score);
        Ok((self.encode_preprocessed(&p.score)?, p.report))
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        let c = &self.grid.config;
        let tpq = score.ticks_per_quarter;
        let sigs = self.grid.sigs(score);
        let empty = Track::new("", 0, 0);
        let streams = sequences(c, sigs, score, &empty);
        let mut out = Vec::with_capacity(streams.len());
        for (part, events) in streams {
            let (mut tokens, mut ticks) = (
                Vec::with_capacity(events.len() * 4),
                Vec::with_capacity(events.len() * 4),
            );
            let mut programs = ProgramTokens::start(c, part, &mut tokens, &mut ticks);
            let mut previous = 0i64;
            let mut tpb = Grid::ticks_per_beat(4, tpq);
            for (time, ev) in events {
                previous = self.grid.push_shifts(previous, time, tpb, &mut tokens, &mut ticks);
                match ev {
                    GridEvent::Sig(n, d) => {
                        tpb = Grid::ticks_per_beat(d, tpq);
                        tokens.push(Token::TimeSig(n, d));
                        ticks.push(time);
                    }
                    GridEvent::Note(note, part) => {
                        programs.before_note(part, time, &mut tokens, &mut ticks);
                        self.grid
                            .push_note_tokens(note, part.drum, tpb, &mut tokens, &mut ticks)?;
                    }
                }
            }
            out.push(with_ids(&self.vocab, tokens, ticks)?);
        }
        Ok(out)
    }

    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError> {
        let c = &self.grid.config;
        let tpq = self.grid.decode_tpq(seqs);
        let mut score = Score::new(tpq);
        for (si, seq) in seqs.iter().enumerate() {
            let mut notes = NoteDecoder::new(c);
            let mut sigs: Vec<TimeSignature<Tick>> = Vec::new();
            let (mut now, mut tpb) = (0i64, Grid::ticks_per_beat(4, tpq));
            for (index, t) in seq.iter().enumerate() {
                if notes.feed(t, now, tpb, index)? {
                    continue;
                }
                match *t {
                    Token::TimeShift(d) => now += d.ticks(tpb),
                    Token::TimeSig(n, d) => {
                        tpb = Grid::ticks_per_beat(d, tpq);
                        sigs.push(TimeSignature::new(now, n, d));
                    }
                    Token::Pad | Token::Bos | Token::Eos | Token::Mask => {}
                    _ => {
                        return Err(TokenError::Decode {
                            index,
                            token: t.to_string(),
                            message: "not a TSD token".into(),
                        })
                    }
                }
            }
            if si == 0 && c.use_time_signatures {
                score.time_signatures = sigs;
            }
            score.tracks.extend(notes.finish());
        }
        Ok(score)
    }
}
