//! REMI — Huang & Yang, "Pop Music Transformer: Beat-based Modeling and
//! Generation of Expressive Pop Piano Compositions" (ACM MM 2020).
//!
//! Time is written as the bar and the position in it: `Bar`, then
//! `Position_p` before the notes that start at position `p` (in
//! `1/max_res`-beat steps), each note as `Pitch`, `Velocity`, `Duration`. With
//! time signatures on, every bar opens with `Bar TimeSig_n/d` and positions
//! count beats of the signature's denominator. This is MidiTok's REMI token
//! for token: one sequence per track, each carrying the time signatures; the
//! preprocessing is the shared beat grid ([`crate::beat_grid`]).
//! With `use_programs` this is REMI+ (see [`crate::programs`]): `Program`
//! tokens before the notes, all tracks in one sequence by default.
//! Not covered yet: MidiTok's optional REMI extras (rests, tempos, chords,
//! pedals, pitch bends, bar-end tokens, numbered bars).

use crate::beat_grid::{ticks_per_bar, BeatConfig, Grid};
use crate::events::{sequences, GridEvent, NoteDecoder, ProgramTokens};
use crate::{with_ids, Grammar, Preprocessed, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Score, Tick, TimeSignature, Track};

/// The REMI tokenizer.
#[derive(Clone, Debug)]
pub struct Remi {
    grid: Grid,
    vocab: Vocab,
}

impl Remi {
    /// A tokenizer for a configuration (validated).
    pub fn new(config: BeatConfig) -> Result<Self, TokenError> {
        crate::programs::refuse_bar_embedding(&config, "REMI")?;
        let grid = Grid::new(config)?;
        let mut tokens = grid.specials.clone();
        tokens.push(Token::Bar);
        // A bar holds numerator × max_res positions whatever the denominator.
        let max_numerator = grid.time_sigs.iter().map(|&(n, _)| n).max().unwrap_or(4);
        let positions = u16::from(max_numerator) * grid.max_res;
        tokens.extend((0..positions).map(Token::Position));
        tokens.extend(grid.pitch_vocab());
        tokens.extend(grid.velocity_vocab());
        tokens.extend(grid.durations.iter().map(|&d| Token::Duration(d)));
        tokens.extend(grid.time_sig_vocab());
        tokens.extend(grid.program_vocab());
        let vocab = Vocab::new(tokens)?;
        Ok(Remi { grid, vocab })
    }

    /// The grid (configuration and tables).
    pub fn grid(&self) -> &Grid {
        &self.grid
    }
}

/// Bar bookkeeping while walking a score or a token stream.
struct Bars {
    tpq: u16,
    max_res: u16,
    ts: (u8, u8),
    current_bar: i64,
    bar_at_ts: i64,
    tick_at_ts: i64,
    tick_at_bar: i64,
}

impl Bars {
    fn new(tpq: u16, max_res: u16, ts: (u8, u8)) -> Self {
        Bars {
            tpq,
            max_res,
            ts,
            current_bar: -1,
            bar_at_ts: 0,
            tick_at_ts: 0,
            tick_at_bar: 0,
        }
    }
    fn ticks_per_bar(&self) -> i64 {
        ticks_per_bar(&TimeSignature::<Tick>::new(0, self.ts.0, self.ts.1), self.tpq).max(1)
    }
    fn ticks_per_pos(&self) -> i64 {
        (Grid::ticks_per_beat(self.ts.1, self.tpq) / i64::from(self.max_res)).max(1)
    }
}

impl Tokenizer for Remi {
    fn name(&self) -> &'static str {
        "remi"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        use TokenType::*;
        let c = &self.grid.config;
        let note_start: &[TokenType] = if c.use_programs {
            &[Program, Pitch, PitchDrum]
        } else {
            &[Pitch, PitchDrum]
        };
        let after_duration: &[TokenType] = if c.use_programs {
            &[Bar, Position, Program, Pitch, PitchDrum]
        } else {
            &[Bar, Position, Pitch, PitchDrum]
        };
        let vel_or_dur = if c.use_velocities { Velocity } else { Duration };
        Grammar::new(
            &[Bar, Program],
            &[
                (Bar, &[Bar, TimeSig, Position]),
                (TimeSig, &[Bar, Position]),
                (Position, note_start),
                // A per-track sequence opens with its program, then a bar.
                (Program, &[Pitch, PitchDrum, Bar]),
                (Pitch, &[vel_or_dur]),
                (PitchDrum, &[vel_or_dur]),
                (Velocity, &[Duration]),
                (Duration, after_duration),
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
            let mut bars = Bars::new(
                tpq,
                self.grid.max_res,
                sigs.first().map_or((4, 4), |s| (s.numerator, s.denominator)),
            );
            let (mut tokens, mut ticks) = (
                Vec::with_capacity(events.len() * 3),
                Vec::with_capacity(events.len() * 3),
            );
            let mut programs = ProgramTokens::start(c, part, &mut tokens, &mut ticks);
            let mut previous = -1i64;
            for &(time, ev) in &events {
                let is_sig = matches!(ev, GridEvent::Sig(..));
                if time != previous {
                    // New bars up to this event.
                    let tpbar = bars.ticks_per_bar();
                    let n_new = bars.bar_at_ts + (time - bars.tick_at_ts).div_euclid(tpbar) - bars.current_bar;
                    for i in 0..n_new.max(0) {
                        bars.current_bar += 1;
                        bars.tick_at_bar = bars.tick_at_ts + (bars.current_bar - bars.bar_at_ts) * tpbar;
                        tokens.push(Token::Bar);
                        ticks.push(bars.tick_at_bar);
                        if c.use_time_signatures && !(is_sig && i + 1 == n_new) {
                            tokens.push(Token::TimeSig(bars.ts.0, bars.ts.1));
                            ticks.push(bars.tick_at_bar);
                        }
                    }
                    if !is_sig {
                        let pos = (time - bars.tick_at_bar).div_euclid(bars.ticks_per_pos());
                        tokens.push(Token::Position(pos as u16));
                        ticks.push(time);
                    }
                    previous = time;
                }
                match ev {
                    GridEvent::Sig(n, d) => {
                        bars.bar_at_ts += (time - bars.tick_at_ts).div_euclid(bars.ticks_per_bar());
                        bars.tick_at_ts = time;
                        bars.ts = (n, d);
                        previous -= 1;
                        tokens.push(Token::TimeSig(n, d));
                        ticks.push(time);
                    }
                    GridEvent::Note(note, part) => {
                        let tpb = Grid::ticks_per_beat(bars.ts.1, tpq);
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
            let mut bars = Bars::new(tpq, self.grid.max_res, (4, 4));
            let mut sigs: Vec<TimeSignature<Tick>> = Vec::new();
            let mut notes = NoteDecoder::new(c);
            let mut now = 0i64;
            for (index, t) in seq.iter().enumerate() {
                if notes.feed(t, now, Grid::ticks_per_beat(bars.ts.1, tpq), index)? {
                    continue;
                }
                match *t {
                    Token::Bar => {
                        bars.current_bar += 1;
                        if bars.current_bar > 0 {
                            bars.tick_at_bar += bars.ticks_per_bar();
                        }
                        now = bars.tick_at_bar;
                    }
                    Token::TimeSig(n, d) => {
                        if bars.ts != (n, d) || sigs.is_empty() {
                            bars.ts = (n, d);
                            sigs.push(TimeSignature::new(bars.tick_at_bar.max(0), n, d));
                        }
                    }
                    Token::Position(p) => now = bars.tick_at_bar.max(0) + i64::from(p) * bars.ticks_per_pos(),
                    Token::Pad | Token::Bos | Token::Eos | Token::Mask => {}
                    _ => {
                        return Err(TokenError::Decode {
                            index,
                            token: t.to_string(),
                            message: "not a REMI token".into(),
                        })
                    }
                }
            }
            if si == 0 && c.use_time_signatures {
                score.time_signatures = sigs;
            }
            score.tracks.extend(notes.finish());
        }
        if c.use_time_signatures && score.time_signatures.is_empty() {
            score.time_signatures.push(TimeSignature::new(0, 4, 4));
        }
        Ok(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chorale_sample_round_trips_and_reads_like_miditok() {
        let bytes = include_bytes!("../../../samples/bach_chorale.mid");
        let s = fugue_score::midi::read_midi(bytes, &Default::default()).unwrap().score;
        let tok = Remi::new(BeatConfig::default()).unwrap();
        let (seqs, report) = tok.encode(&s).unwrap();
        assert_eq!(seqs.len(), 4);
        assert_eq!(report.notes_in, 197);
        // 480 → 8 ticks per quarter; a 16th note is 2 ticks = Duration_0.2.8.
        assert!(
            seqs[0].text().starts_with("Bar_None TimeSig_4/4 Position_0 Pitch_"),
            "{}",
            seqs[0].text()
        );
        let tokens: Vec<Vec<Token>> = seqs.iter().map(|s| s.tokens.clone()).collect();
        assert_eq!(tok.decode(&tokens).unwrap(), tok.preprocess(&s).score);
        for s in &seqs {
            assert!(tok.grammar().violations(&s.tokens).is_empty());
        }
    }
}
