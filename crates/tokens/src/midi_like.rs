//! MIDI-Like — Oore et al. 2018's event vocabulary on a beat grid, as MidiTok
//! writes it (Fradet et al., "MidiTok", ISMIR 2021 LBD).
//!
//! Each note is `NoteOn_p Velocity_v` at its onset and `NoteOff_p` at its end
//! (`DrumOn`/`DrumOff` for drums); time moves by `TimeShift` tokens (several,
//! largest first, for a long shift); time signatures are `TimeSig` tokens. One
//! sequence per track, token for token MidiTok's. Preprocessing is the beat
//! grid's note-on/off variant ([`Grid::preprocess_on_off`]): durations are
//! not snapped to duration tokens. Not covered yet: MidiTok's optional
//! MIDI-Like extras (programs, rests, tempos, chords, pedals, pitch bends).

use crate::beat_grid::{BeatConfig, Grid, DEFAULT_VELOCITY};
use crate::events::{finish_track, parts};
use crate::{with_ids, Grammar, Preprocessed, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Note, Score, Tick, TimeSignature, Track};

/// The MIDI-Like tokenizer.
#[derive(Clone, Debug)]
pub struct MidiLike {
    grid: Grid,
    vocab: Vocab,
}

impl MidiLike {
    /// A tokenizer for a configuration (validated).
    pub fn new(config: BeatConfig) -> Result<Self, TokenError> {
        crate::programs::refuse(&config, "MIDI-Like")?;
        crate::programs::refuse_bar_embedding(&config, "MIDI-Like")?;
        let grid = Grid::new(config)?;
        let c = &grid.config;
        let mut tokens = grid.specials.clone();
        let pitches = c.pitch_range.0..=c.pitch_range.1;
        tokens.extend(pitches.clone().map(Token::NoteOn));
        tokens.extend(pitches.map(Token::NoteOff));
        if c.use_pitchdrum_tokens {
            let drums = c.drums_pitch_range.0..=c.drums_pitch_range.1;
            tokens.extend(drums.clone().map(Token::DrumOn));
            tokens.extend(drums.map(Token::DrumOff));
        }
        tokens.extend(grid.velocity_vocab());
        tokens.extend(grid.durations.iter().map(|&d| Token::TimeShift(d)));
        tokens.extend(grid.time_sig_vocab());
        let vocab = Vocab::new(tokens)?;
        Ok(MidiLike { grid, vocab })
    }
}

/// What happens at a tick, in MidiTok's order.
#[derive(Clone, Copy)]
enum Ev {
    Sig(u8, u8),
    On(u8, u8),
    Off(u8),
}

impl Tokenizer for MidiLike {
    fn name(&self) -> &'static str {
        "midilike"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        use TokenType::*;
        let free: &[TokenType] = &[NoteOn, NoteOff, DrumOn, DrumOff, TimeShift, TimeSig];
        let (on_next, drum_next): (&[TokenType], &[TokenType]) = if self.grid.config.use_velocities {
            (&[Velocity], &[Velocity])
        } else {
            (free, free)
        };
        Grammar::new(
            free,
            &[
                (NoteOn, on_next),
                (DrumOn, drum_next),
                (Velocity, free),
                (NoteOff, free),
                (DrumOff, free),
                (TimeShift, free),
                (TimeSig, free),
            ],
        )
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        self.grid.preprocess_on_off(score)
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        let c = &self.grid.config;
        let tpq = score.ticks_per_quarter;
        let sigs = self.grid.sigs(score);
        let empty = Track::new("", 0, 0);
        let parts = parts(score, &empty);
        let mut out = Vec::with_capacity(parts.len());
        for tr in parts {
            // Time signatures first, then each note's on and off, stably by time.
            let mut events: Vec<(i64, Ev)> = Vec::with_capacity(sigs.len() + tr.notes.len() * 2);
            events.extend(sigs.iter().map(|t| (t.time, Ev::Sig(t.numerator, t.denominator))));
            for n in &tr.notes {
                events.push((n.time, Ev::On(n.pitch, n.velocity)));
                events.push((n.end(), Ev::Off(n.pitch)));
            }
            events.sort_by_key(|e| e.0);
            let drum = tr.is_drum && c.use_pitchdrum_tokens;
            let (mut tokens, mut ticks) = (
                Vec::with_capacity(events.len() * 3),
                Vec::with_capacity(events.len() * 3),
            );
            let (mut previous, mut tpb) = (0i64, Grid::ticks_per_beat(4, tpq));
            for (time, ev) in events {
                previous = self.grid.push_shifts(previous, time, tpb, &mut tokens, &mut ticks);
                match ev {
                    Ev::Sig(n, d) => {
                        tpb = Grid::ticks_per_beat(d, tpq);
                        tokens.push(Token::TimeSig(n, d));
                    }
                    Ev::On(p, v) => {
                        tokens.push(if drum { Token::DrumOn(p) } else { Token::NoteOn(p) });
                        if c.use_velocities {
                            ticks.push(time);
                            tokens.push(Token::Velocity(v));
                        }
                    }
                    Ev::Off(p) => tokens.push(if drum { Token::DrumOff(p) } else { Token::NoteOff(p) }),
                }
                ticks.push(time);
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
            let mut track = Track::new("", 0, 0);
            let mut sigs: Vec<TimeSignature<Tick>> = Vec::new();
            let (mut now, mut tpb) = (0i64, Grid::ticks_per_beat(4, tpq));
            // Sounding notes: (pitch, index in track.notes), first in, first out.
            let mut open: Vec<(u8, usize)> = Vec::new();
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
                    Token::NoteOn(p) | Token::DrumOn(p) => {
                        track.is_drum |= matches!(t, Token::DrumOn(_));
                        open.push((p, track.notes.len()));
                        track.notes.push(Note::new(now, 0, p, DEFAULT_VELOCITY));
                    }
                    Token::Velocity(v) => match track.notes.last_mut() {
                        Some(n) if c.use_velocities && n.time == now => n.velocity = v,
                        _ => return Err(bad("a Velocity that follows no NoteOn")),
                    },
                    Token::NoteOff(p) | Token::DrumOff(p) => {
                        if let Some(k) = open.iter().position(|o| o.0 == p) {
                            let (_, i) = open.remove(k);
                            track.notes[i].duration = now - track.notes[i].time;
                        }
                    }
                    Token::Pad | Token::Bos | Token::Eos | Token::Mask => {}
                    _ => return Err(bad("not a MIDI-Like token")),
                }
            }
            // Notes never ended keep one beat.
            for (_, i) in open {
                track.notes[i].duration = tpb;
            }
            if si == 0 && c.use_time_signatures {
                score.time_signatures = sigs;
            }
            score.tracks.extend(finish_track(track));
        }
        Ok(score)
    }
}
