//! Octuple — Zeng, Tan, Wang, Ju, Qin & Liu, "MusicBERT: Symbolic Music
//! Understanding with Large-Scale Pre-Training" (Findings of ACL 2021), as
//! MidiTok writes it.
//!
//! One compound step per note, its slots in MidiTok's order:
//! `[Pitch|PitchDrum, Position, Bar_n, Velocity, Duration, Program, TimeSig]`,
//! the velocity, program and time-signature slots only when the
//! configuration uses them (so the width is 4 to 7). `Bar_n` numbers the
//! note's bar from 0, up to `max_bar_embedding` (MidiTok's default 60);
//! notes of later bars are dropped and counted in the report
//! (`notes_beyond_max_bar`). Without programs there is one sequence per
//! track; with them, one for the whole score by default. Notes come in
//! MidiTok's order: by time, then track order. One vocabulary for all
//! slots (as CP-Word here); [`Octuple::slot_vocabs`] gives MidiTok's
//! per-slot sub-vocabularies. Not covered: MidiTok's tempo slot.
//!
//! **Time signatures of empty bars.** Each step carries its bar's signature,
//! so a signature is only ever seen through the notes of its bars; the bars
//! without a note onset carry nothing. Preprocessing therefore states the
//! rule decoding follows: *a bar without any note onset (in any track)
//! takes the signature of the last bar before it that has one (before the
//! first note: the first note's bar's signature).* Bar numbers and
//! positions stay as the file gives them; the time of an onset is the sum of
//! the lengths of the bars before it, so notes after re-signed empty bars
//! move (counted in `onsets_moved`), and the signature changes move to the
//! first bar with a note (counted in `time_signatures_changed`). With that,
//! `decode(encode(s)) == preprocess(s)` exactly. MidiTok's own decoder reads
//! each track's signatures from that track's notes alone, so its tracks can
//! disagree; fugue decodes all sequences against one bar map.

use crate::beat_grid::{BeatConfig, Grid, DEFAULT_VELOCITY};
use crate::events::{parts, NoteDecoder, Part};
use crate::{Grammar, Preprocessed, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Note, Score, Tick, TimeSignature, Track};
use std::collections::BTreeMap;

/// MidiTok's default `max_bar_embedding` for Octuple.
pub const DEFAULT_MAX_BAR_EMBEDDING: u16 = 60;

/// The Octuple tokenizer.
#[derive(Clone, Debug)]
pub struct Octuple {
    grid: Grid,
    vocab: Vocab,
    slots: Vec<Vec<Token>>,
    max_bar: u16,
}

/// A bar of the bar map: its start tick and signature.
type Bar = (i64, (u8, u8));

/// Where a note sits: bar number, position in the bar, the bar's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    bar: u16,
    pos: u16,
    sig: (u8, u8),
}

impl Octuple {
    /// A tokenizer for a configuration (validated).
    pub fn new(config: BeatConfig) -> Result<Self, TokenError> {
        if config.program_changes {
            return Err(TokenError::Config {
                field: "program_changes".into(),
                message: "Octuple writes the program in every note".into(),
            });
        }
        let max_bar = config.max_bar_embedding.unwrap_or(DEFAULT_MAX_BAR_EMBEDDING);
        let grid = Grid::new(config)?;
        let c = &grid.config;
        let max_numerator = grid.time_sigs.iter().map(|&(n, _)| n).max().unwrap_or(4);
        let mut slots = vec![
            grid.pitch_vocab(),
            (0..u16::from(max_numerator) * grid.max_res)
                .map(Token::Position)
                .collect(),
            (0..max_bar).map(Token::BarIndex).collect(),
        ];
        if c.use_velocities {
            slots.push(grid.velocity_vocab().collect());
        }
        slots.push(grid.durations.iter().map(|&d| Token::Duration(d)).collect());
        if c.use_programs {
            slots.push(grid.program_vocab());
        }
        if c.use_time_signatures {
            slots.push(grid.time_sig_vocab());
        }
        let mut tokens = grid.specials.clone();
        tokens.extend(slots.iter().flatten().copied());
        let vocab = Vocab::new(tokens)?;
        Ok(Octuple {
            grid,
            vocab,
            slots,
            max_bar,
        })
    }

    /// Tokens per compound step.
    pub fn width(&self) -> usize {
        self.slots.len()
    }

    /// MidiTok's per-slot vocabularies: the special tokens, then the slot's tokens.
    pub fn slot_vocabs(&self) -> Result<Vec<Vocab>, TokenError> {
        self.slots
            .iter()
            .map(|s| Vocab::new(self.grid.specials.iter().chain(s).copied().collect()))
            .collect()
    }

    fn sig_or_default(&self, s: (u8, u8)) -> (u8, u8) {
        if self.grid.config.use_time_signatures {
            s
        } else {
            (4, 4)
        }
    }

    fn ticks_per_bar(sig: (u8, u8), tpq: u16) -> i64 {
        (Grid::ticks_per_beat(sig.1, tpq) * i64::from(sig.0)).max(1)
    }

    fn ticks_per_pos(&self, sig: (u8, u8), tpq: u16) -> i64 {
        (Grid::ticks_per_beat(sig.1, tpq) / i64::from(self.grid.max_res)).max(1)
    }

    /// The place of time `t` under time signatures on bar lines.
    fn locate(&self, sigs: &[TimeSignature<Tick>], tpq: u16, t: i64) -> (i64, u16, (u8, u8)) {
        let (mut bar, mut at, mut sig) = (0i64, 0i64, self.sig_or_default((4, 4)));
        for s in sigs.iter().take_while(|s| s.time <= t) {
            bar += (s.time - at).div_euclid(Self::ticks_per_bar(sig, tpq));
            at = s.time;
            sig = self.sig_or_default((s.numerator, s.denominator));
        }
        let tpbar = Self::ticks_per_bar(sig, tpq);
        bar += (t - at).div_euclid(tpbar);
        let start = at + (t - at).div_euclid(tpbar) * tpbar;
        let pos = (t - start).div_euclid(self.ticks_per_pos(sig, tpq));
        (bar, pos.clamp(0, i64::from(u16::MAX)) as u16, sig)
    }

    /// The bar map decoding builds from the places of all notes: each bar's
    /// start tick and signature (the rule of the module docs), bars
    /// `0..=last`, and the time signatures it implies.
    fn bar_map(&self, places: &BTreeMap<u16, (u8, u8)>, tpq: u16) -> (Vec<Bar>, Vec<TimeSignature<Tick>>) {
        let first = places.values().next().copied().unwrap_or((4, 4));
        let last = places.keys().next_back().copied().unwrap_or(0);
        let mut bars = Vec::with_capacity(usize::from(last) + 1);
        let mut sigs = Vec::new();
        let (mut at, mut sig) = (0i64, first);
        for b in 0..=last {
            sig = places.get(&b).copied().unwrap_or(sig);
            if sigs
                .last()
                .is_none_or(|s: &TimeSignature<Tick>| (s.numerator, s.denominator) != sig)
            {
                sigs.push(TimeSignature::new(at, sig.0, sig.1));
            }
            bars.push((at, sig));
            at += Self::ticks_per_bar(sig, tpq);
        }
        if !self.grid.config.use_time_signatures {
            sigs.clear();
        }
        (bars, sigs)
    }

    /// Clip to `max_bar_embedding` bars and re-time by the bar map (module docs).
    fn retime(&self, score: &mut Score<Tick>, report: &mut crate::Report) {
        let tpq = score.ticks_per_quarter;
        let sigs = score.time_signatures.clone();
        let mut places: BTreeMap<u16, (u8, u8)> = BTreeMap::new();
        let mut located: Vec<Vec<Option<Place>>> = Vec::with_capacity(score.tracks.len());
        for t in &score.tracks {
            let mut v = Vec::with_capacity(t.notes.len());
            for n in &t.notes {
                let (bar, pos, sig) = self.locate(&sigs, tpq, n.time);
                if bar >= i64::from(self.max_bar) {
                    v.push(None);
                    continue;
                }
                let bar = bar as u16;
                places.entry(bar).or_insert(sig);
                v.push(Some(Place { bar, pos, sig }));
            }
            located.push(v);
        }
        let (bars, new_sigs) = self.bar_map(&places, tpq);
        for (t, places) in score.tracks.iter_mut().zip(located) {
            let mut kept = Vec::with_capacity(t.notes.len());
            for (n, p) in t.notes.iter().zip(places) {
                let Some(p) = p else {
                    report.notes_beyond_max_bar += 1;
                    continue;
                };
                let time = bars[usize::from(p.bar)].0 + i64::from(p.pos) * self.ticks_per_pos(p.sig, tpq);
                report.onsets_moved += usize::from(time != n.time);
                kept.push(Note { time, ..*n });
            }
            t.notes = kept;
        }
        let before = score.tracks.len();
        score.tracks.retain(|t| !t.notes.is_empty());
        report.tracks_dropped += before - score.tracks.len();
        if new_sigs != score.time_signatures {
            report.time_signatures_changed += 1;
        }
        score.time_signatures = new_sigs;
        // Decoding's resolution follows the largest denominator written.
        let new_tpq = self.grid.decode_tpq(&[self.sig_tokens(score)]);
        if new_tpq < tpq && new_tpq > 0 {
            let f = i64::from(tpq / new_tpq);
            score.ticks_per_quarter = new_tpq;
            for n in score.tracks.iter_mut().flat_map(|t| t.notes.iter_mut()) {
                n.time /= f;
                n.duration = (n.duration / f).max(1);
            }
            for s in &mut score.time_signatures {
                s.time /= f;
            }
        }
    }

    fn sig_tokens(&self, score: &Score<Tick>) -> Vec<Token> {
        score
            .time_signatures
            .iter()
            .map(|s| Token::TimeSig(s.numerator, s.denominator))
            .collect()
    }

    fn bad(index: usize, t: &Token, message: &str) -> TokenError {
        TokenError::Decode {
            index,
            token: t.to_string(),
            message: message.into(),
        }
    }
}

impl Tokenizer for Octuple {
    fn name(&self) -> &'static str {
        "octuple"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        // Slot types in order; the last slot is followed by the next pitch.
        let kinds: Vec<Vec<TokenType>> = self
            .slots
            .iter()
            .map(|s| {
                let mut k: Vec<TokenType> = s.iter().map(|t| t.kind()).collect();
                k.dedup();
                k
            })
            .collect();
        let mut next = std::collections::HashMap::new();
        for (i, ks) in kinds.iter().enumerate() {
            let follow = kinds[(i + 1) % kinds.len()].clone();
            for k in ks {
                next.insert(*k, follow.clone());
            }
        }
        Grammar {
            first: kinds[0].clone(),
            next,
        }
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        let Preprocessed { mut score, mut report } = self.grid.preprocess(score);
        self.retime(&mut score, &mut report);
        Preprocessed { score, report }
    }

    /// Tracks in file order, so that ties between tracks are written as
    /// MidiTok writes them (see [`crate::programs`]).
    fn encode(&self, score: &Score<Tick>) -> Result<(Vec<TokSeq>, crate::Report), TokenError> {
        let Preprocessed { mut score, mut report } = self.grid.preprocess_in_file_order(score);
        self.retime(&mut score, &mut report);
        Ok((self.encode_preprocessed(&score)?, report))
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        let c = &self.grid.config;
        let tpq = score.ticks_per_quarter;
        let sigs = self.grid.sigs(score);
        let empty = Track::new("", 0, 0);
        let parts = parts(score, &empty);
        let groups: Vec<Vec<&Track<Tick>>> = if c.use_programs && c.one_token_stream_for_programs {
            vec![parts]
        } else {
            parts.into_iter().map(|p| vec![p]).collect()
        };
        let w = self.width();
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            // Notes by time, then track order (a stable sort).
            let mut notes: Vec<(&Note<Tick>, Part)> = g
                .iter()
                .flat_map(|t| t.notes.iter().map(move |n| (n, Part::of(t))))
                .collect();
            notes.sort_by_key(|(n, _)| n.time);
            let (mut tokens, mut ticks) = (Vec::with_capacity(notes.len() * w), Vec::with_capacity(notes.len()));
            for (n, part) in notes {
                let (bar, pos, sig) = self.locate(sigs, tpq, n.time);
                if bar >= i64::from(self.max_bar) {
                    return Err(TokenError::Encode(format!(
                        "note at tick {} is in bar {bar}, beyond max_bar_embedding (preprocess first)",
                        n.time
                    )));
                }
                let tpb = Grid::ticks_per_beat(sig.1, tpq);
                let d = self.grid.duration_token(n.duration, tpb).ok_or_else(|| {
                    TokenError::Encode(format!(
                        "note at tick {} lasts {} ticks, not a duration of the grid (preprocess first)",
                        n.time, n.duration
                    ))
                })?;
                tokens.push(self.grid.pitch_token(n.pitch, part.drum));
                tokens.push(Token::Position(pos));
                tokens.push(Token::BarIndex(bar as u16));
                if c.use_velocities {
                    tokens.push(Token::Velocity(n.velocity));
                }
                tokens.push(Token::Duration(d));
                if c.use_programs {
                    tokens.push(Token::Program(part.program));
                }
                if c.use_time_signatures {
                    tokens.push(Token::TimeSig(sig.0, sig.1));
                }
                ticks.push(n.time);
            }
            let ids = self.vocab.encode(&tokens)?;
            out.push(TokSeq {
                tokens,
                ids,
                ticks,
                width: w,
            });
        }
        Ok(out)
    }

    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError> {
        let c = &self.grid.config;
        let w = self.width();
        let tpq = self.grid.decode_tpq(seqs);
        // Pass 1: every note's place and the bar map of all sequences.
        struct Step {
            pitch: u8,
            drum: bool,
            place: Place,
            velocity: u8,
            duration: crate::Beats,
            program: i8,
        }
        let mut steps: Vec<Vec<Step>> = Vec::with_capacity(seqs.len());
        let mut places: BTreeMap<u16, (u8, u8)> = BTreeMap::new();
        for seq in seqs {
            if seq.len() % w != 0 {
                return Err(TokenError::Decode {
                    index: seq.len(),
                    token: String::new(),
                    message: format!("{} tokens are not whole steps of {w}", seq.len()),
                });
            }
            let mut v = Vec::with_capacity(seq.len() / w);
            for (si, step) in seq.chunks(w).enumerate() {
                let i = si * w;
                if step.iter().any(|t| t.kind() == TokenType::Special) {
                    continue; // padding or a mask: not a note
                }
                let (pitch, drum) = match step[0] {
                    Token::Pitch(p) => (p, false),
                    Token::PitchDrum(p) => (p, true),
                    ref t => return Err(Self::bad(i, t, "slot 0 must be a Pitch")),
                };
                let Token::Position(pos) = step[1] else {
                    return Err(Self::bad(i + 1, &step[1], "slot 1 must be a Position"));
                };
                let Token::BarIndex(bar) = step[2] else {
                    return Err(Self::bad(i + 2, &step[2], "slot 2 must be a numbered Bar"));
                };
                let mut k = 3;
                let velocity = if c.use_velocities {
                    k += 1;
                    match step[k - 1] {
                        Token::Velocity(v) => v,
                        ref t => return Err(Self::bad(i + k - 1, t, "expected a Velocity")),
                    }
                } else {
                    DEFAULT_VELOCITY
                };
                let Token::Duration(duration) = step[k] else {
                    return Err(Self::bad(i + k, &step[k], "expected a Duration"));
                };
                k += 1;
                let program = if c.use_programs {
                    k += 1;
                    match step[k - 1] {
                        Token::Program(p) => p,
                        ref t => return Err(Self::bad(i + k - 1, t, "expected a Program")),
                    }
                } else {
                    0
                };
                let sig = if c.use_time_signatures {
                    match step[k] {
                        Token::TimeSig(n, d) => (n, d),
                        ref t => return Err(Self::bad(i + k, t, "expected a TimeSig")),
                    }
                } else {
                    (4, 4)
                };
                places.entry(bar).or_insert(sig);
                v.push(Step {
                    pitch,
                    drum,
                    place: Place { bar, pos, sig },
                    velocity,
                    duration,
                    program,
                });
            }
            steps.push(v);
        }
        let (bars, sigs) = self.bar_map(&places, tpq);
        // Pass 2: notes at their bars' times.
        let mut score = Score::new(tpq);
        score.time_signatures = sigs;
        for v in steps {
            let mut notes = NoteDecoder::new(c);
            for s in v {
                // A bar's signature is the first its notes carry (a generated
                // sequence may disagree with itself).
                let (start, sig) = bars[usize::from(s.place.bar)];
                let time = start + i64::from(s.place.pos) * self.ticks_per_pos(sig, tpq);
                let duration = s.duration.ticks(Grid::ticks_per_beat(sig.1, tpq));
                notes.feed(&Token::Program(s.program), time, 0, 0)?;
                notes.push(Note::new(time, duration, s.pitch, s.velocity), s.drum);
            }
            score.tracks.extend(notes.finish());
        }
        Ok(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_bars_take_the_previous_signature() {
        // 4/4, then 3/4 at bar 1 whose first note is in the 3/4 section's
        // third bar: the two empty bars keep 4/4.
        let mut s = Score::new(8);
        s.time_signatures = vec![TimeSignature::new(0, 4, 4), TimeSignature::new(32, 3, 4)];
        let mut t = Track::new("", 0, 0);
        t.notes = vec![Note::new(0, 8, 60, 99), Note::new(32 + 48 + 2, 8, 62, 99)];
        s.tracks.push(t);
        let tok = Octuple::new(BeatConfig::default()).unwrap();
        let p = tok.preprocess(&s);
        assert_eq!(
            p.score.time_signatures,
            vec![TimeSignature::new(0, 4, 4), TimeSignature::new(96, 3, 4)]
        );
        assert_eq!(p.score.tracks[0].notes[1].time, 96 + 2);
        assert_eq!(p.report.onsets_moved, 1);
        let (seqs, _) = tok.encode(&s).unwrap();
        assert_eq!(
            seqs[0].text(),
            "Pitch_60|Position_0|Bar_0|Velocity_99|Duration_1.0.8|TimeSig_4/4 \
             Pitch_62|Position_2|Bar_3|Velocity_99|Duration_1.0.8|TimeSig_3/4"
        );
        let tokens: Vec<Vec<Token>> = seqs.iter().map(|q| q.tokens.clone()).collect();
        assert_eq!(tok.decode(&tokens).unwrap(), p.score);
        assert!(tok.grammar().violations(&seqs[0].tokens).is_empty());
    }

    #[test]
    fn bars_beyond_the_embedding_are_dropped_and_counted() {
        let mut s = Score::new(8);
        let mut t = Track::new("", 0, 0);
        t.notes = (0..10).map(|b| Note::new(b * 32, 8, 60, 99)).collect();
        s.tracks.push(t);
        let tok = Octuple::new(BeatConfig {
            max_bar_embedding: Some(4),
            ..Default::default()
        })
        .unwrap();
        let p = tok.preprocess(&s);
        assert_eq!(p.score.tracks[0].notes.len(), 4);
        assert_eq!(p.report.notes_beyond_max_bar, 6);
        assert_eq!(tok.slot_vocabs().unwrap()[2].len(), 4 + 4);
        let bad = BeatConfig {
            program_changes: true,
            use_programs: true,
            ..Default::default()
        };
        assert!(Octuple::new(bad).unwrap_err().to_string().contains("program_changes"));
    }
}
