//! BachBot's serialized chorales — Liang, Gotham, Johnson & Shotton,
//! "Automatic Stylistic Composition of Bach Chorales with Deep LSTM" (ISMIR
//! 2017; Liang's 2016 MPhil thesis "BachBot"), as its code
//! (feynmanliang/bachbot, `scripts/datasets.py`) writes them.
//!
//! One stream per chorale: `START`, then per 16th-note frame an optional
//! fermata `(.)`, one `(pitch, tie)` token per sounding note in S, A, T, B
//! order (`tie` = True when the note goes on from the previous frame), the
//! frame delimiter `|||`; finally `END`. A silent frame is `|||` alone. The
//! vocabulary: `START`, `END`, `|||`, `(.)`, then `(p, False)`, `(p, True)`
//! for p in 0..=127 (260 tokens).
//!
//! Input: a four-track SATB score ([`SatbGrid::from_score`] rules, 16ths).
//! Limits and differences:
//! - The tokens do not say which voice sings a note. With four notes in a
//!   frame they are S, A, T, B; with fewer, fugue's decoder gives each tied
//!   note to the highest voice that held that pitch, then the new notes to
//!   the free voices from the top. Preprocessing applies the same rule, so
//!   `decode(encode(s)) == preprocess(s)`; moved notes are counted in
//!   `notes_revoiced` (BachBot's own decoder rebuilds voices from music21's
//!   chordify order, which it does not pin down either).
//! - Tempos, time signatures, key signatures, velocities and non-fermata
//!   markers are not in the tokens and are dropped. Fermatas come from
//!   `fermata` markers, which the MusicXML reader writes for `<fermata>`
//!   notations (MIDI files carry none).
//! - BachBot keeps only 4/4 chorales and transposes every one to C major or
//!   A minor with music21's key analysis. The tokenizer encodes any meter
//!   (its tokens do not say the meter); [`in_four_four`] is BachBot's corpus
//!   filter, for the caller that builds a corpus. With `standardize_key` it
//!   transposes by the score's first key signature (a major key to C, a
//!   minor one to A, whichever way is nearer, up to a tritone up or down),
//!   and when the score has none it leaves the key alone and says so in the
//!   report's warnings — there is no key analysis here.
//! - Not produced: BachBot's `??` blank token (its harmonisation mask).

use crate::chorale::{preprocessed_grid, SatbGrid};
use crate::{with_ids, Grammar, Preprocessed, Report, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Score, Tick};
use serde::{Deserialize, Serialize};

/// The vocabulary's size: `START`, `END`, `|||`, `(.)`, then `(p, False)`,
/// `(p, True)` for every MIDI pitch (a model sizes its read-out by it).
pub const VOCAB_SIZE: usize = 4 + 2 * 128;

/// BachBot settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BachBotConfig {
    /// Frames per quarter note (BachBot: 4, 16ths).
    pub steps_per_quarter: u32,
    /// Transpose to C major / A minor by the first key signature (BachBot
    /// does, by key analysis; default false).
    pub standardize_key: bool,
}

impl Default for BachBotConfig {
    fn default() -> Self {
        BachBotConfig {
            steps_per_quarter: 4,
            standardize_key: false,
        }
    }
}

/// The BachBot tokenizer.
#[derive(Clone, Debug)]
pub struct BachBot {
    config: BachBotConfig,
    vocab: Vocab,
}

impl BachBot {
    /// A tokenizer for a configuration.
    pub fn new(config: BachBotConfig) -> Result<Self, TokenError> {
        if !(1..=960).contains(&config.steps_per_quarter) {
            return Err(TokenError::Config {
                field: "steps_per_quarter".into(),
                message: format!("{} is outside 1..=960", config.steps_per_quarter),
            });
        }
        let mut tokens = vec![Token::Start, Token::End, Token::FrameEnd, Token::Fermata];
        for p in 0..=127u8 {
            tokens.push(Token::NoteTie(p, false));
            tokens.push(Token::NoteTie(p, true));
        }
        Ok(BachBot {
            config,
            vocab: Vocab::new(tokens)?,
        })
    }

    /// The grid a score becomes, with the report of what changed.
    pub fn grid(&self, score: &Score<Tick>) -> Result<(SatbGrid, Report), TokenError> {
        let (mut grid, mut report) = SatbGrid::from_score(score, self.config.steps_per_quarter)?;
        if self.config.standardize_key {
            match grid.key {
                Some(k) => {
                    // The signature's major tonic, a minor third lower in minor.
                    let tonic = (i32::from(k.sharps) * 7 + if k.minor { 9 } else { 0 }).rem_euclid(12);
                    let target = if k.minor { 9 } else { 0 };
                    let shift = (target - tonic + 6).rem_euclid(12) - 6;
                    let mut moved = grid.clone();
                    match moved.transpose(shift) {
                        Ok(()) => grid = moved,
                        Err(e) => report.warnings.push(format!("key not standardized: {e}")),
                    }
                }
                None => report
                    .warnings
                    .push("key not standardized: the score has no key signature".into()),
            }
        }
        grid.key = None;
        let frames = frames(&grid);
        let canonical = frames_to_grid(&frames, grid.steps_per_quarter);
        report.notes_revoiced = (0..grid.len())
            .map(|t| (0..4).filter(|&v| grid.steps[t][v] != canonical.steps[t][v]).count())
            .sum();
        Ok((canonical, report))
    }

    /// The tokens of a grid (its key is ignored).
    pub fn grid_tokens(&self, grid: &SatbGrid) -> Result<TokSeq, TokenError> {
        grid.validate()?;
        let mut tokens = Vec::with_capacity(grid.len() * 6 + 2);
        let mut ticks = Vec::with_capacity(grid.len() * 6 + 2);
        tokens.push(Token::Start);
        ticks.push(0);
        for (t, frame) in frames(grid).into_iter().enumerate() {
            let tick = t as i64;
            if frame.fermata {
                tokens.push(Token::Fermata);
                ticks.push(tick);
            }
            for (p, tie) in frame.notes {
                tokens.push(Token::NoteTie(p, tie));
                ticks.push(tick);
            }
            tokens.push(Token::FrameEnd);
            ticks.push(tick);
        }
        tokens.push(Token::End);
        ticks.push(grid.len() as i64);
        with_ids(&self.vocab, tokens, ticks)
    }

    /// The grid of a token sequence (lenient: tokens before `START` or after
    /// `END` are ignored, a missing final `|||` closes the last frame).
    pub fn decode_grid(&self, seq: &[Token]) -> Result<SatbGrid, TokenError> {
        let mut frames = Vec::new();
        let mut cur = Frame::default();
        let mut open = false;
        for (index, t) in seq.iter().enumerate() {
            match *t {
                Token::Start => {}
                Token::End => break,
                Token::Fermata => {
                    cur.fermata = true;
                    open = true;
                }
                Token::NoteTie(p, tie) if p <= 127 => {
                    if cur.notes.len() == 4 {
                        return Err(TokenError::Decode {
                            index,
                            token: t.to_string(),
                            message: "a fifth note in a four-voice frame".into(),
                        });
                    }
                    cur.notes.push((p, tie));
                    open = true;
                }
                Token::FrameEnd => {
                    frames.push(std::mem::take(&mut cur));
                    open = false;
                }
                Token::Pad | Token::Bos | Token::Eos | Token::Mask => {}
                _ => {
                    return Err(TokenError::Decode {
                        index,
                        token: t.to_string(),
                        message: "not a BachBot token".into(),
                    })
                }
            }
        }
        if open {
            frames.push(cur);
        }
        Ok(frames_to_grid(&frames, self.config.steps_per_quarter))
    }
}

/// BachBot's corpus filter: whether a score is in 4/4 throughout (a score
/// without a time signature is in 4/4, as everywhere in fugue). BachBot
/// keeps only such chorales, so that every frame index modulo 16 is the
/// same place in the bar; the tokens themselves do not say the meter.
pub fn in_four_four(score: &Score<Tick>) -> bool {
    score
        .time_signatures
        .iter()
        .all(|ts| ts.numerator == 4 && ts.denominator == 4)
}

/// One frame: fermata flag and (pitch, tie) in voice order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Frame {
    fermata: bool,
    notes: Vec<(u8, bool)>,
}

fn frames(grid: &SatbGrid) -> Vec<Frame> {
    (0..grid.len())
        .map(|t| Frame {
            fermata: grid.fermatas[t],
            notes: (0..4)
                .filter_map(|v| grid.steps[t][v].map(|p| (p, !grid.onsets[t][v])))
                .collect(),
        })
        .collect()
}

/// The decoder's voice assignment (see the module docs).
fn frames_to_grid(frames: &[Frame], steps_per_quarter: u32) -> SatbGrid {
    let mut grid = SatbGrid::new(steps_per_quarter);
    for f in frames {
        let prev = grid.steps.last().copied().unwrap_or([None; 4]);
        let mut cell = [None; 4];
        let mut onsets = [false; 4];
        if f.notes.len() == 4 {
            for (v, &(p, tie)) in f.notes.iter().enumerate() {
                cell[v] = Some(p);
                onsets[v] = !(tie && prev[v] == Some(p));
            }
        } else {
            let mut fresh = Vec::new();
            for &(p, tie) in &f.notes {
                match (0..4).find(|&v| tie && cell[v].is_none() && prev[v] == Some(p)) {
                    Some(v) => cell[v] = Some(p),
                    None => fresh.push(p),
                }
            }
            for p in fresh {
                if let Some(v) = (0..4).find(|&v| cell[v].is_none()) {
                    cell[v] = Some(p);
                    onsets[v] = true;
                }
            }
        }
        grid.push(cell, onsets, f.fermata);
    }
    grid
}

impl Tokenizer for BachBot {
    fn name(&self) -> &'static str {
        "bachbot"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        use TokenType::*;
        let frame_start: &[TokenType] = &[Fermata, NoteTie, FrameEnd, End];
        Grammar::new(
            &[Start],
            &[
                (Start, frame_start),
                (FrameEnd, frame_start),
                (Fermata, &[NoteTie, FrameEnd]),
                (NoteTie, &[NoteTie, FrameEnd]),
                (End, &[]),
            ],
        )
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        preprocessed_grid(score, self.grid(score))
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        let (grid, _) = SatbGrid::from_score(score, self.config.steps_per_quarter)?;
        Ok(vec![self.grid_tokens(&grid)?])
    }

    /// Errors (instead of encoding nothing) when the score is not SATB.
    fn encode(&self, score: &Score<Tick>) -> Result<(Vec<TokSeq>, Report), TokenError> {
        let (grid, report) = self.grid(score)?;
        Ok((vec![self.grid_tokens(&grid)?], report))
    }

    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError> {
        match seqs {
            [seq] => Ok(self.decode_grid(seq)?.to_score()),
            _ => Err(TokenError::Encode(format!(
                "BachBot decodes one sequence per chorale, not {}",
                seqs.len()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chorale::{jsb_or_skip, tiny_chorale};

    #[test]
    fn two_steps_exact_tokens() {
        let mut g = SatbGrid::from_pitches(
            vec![
                [Some(60), Some(57), None, Some(48)],
                [Some(60), Some(55), None, Some(48)],
            ],
            4,
        );
        g.fermatas[1] = true;
        let bb = BachBot::new(BachBotConfig::default()).unwrap();
        assert_eq!(bb.vocab().len(), VOCAB_SIZE);
        let s = bb.grid_tokens(&g).unwrap();
        assert_eq!(
            s.text(),
            "START (60, False) (57, False) (48, False) ||| (.) (60, True) (55, False) (48, True) ||| END"
        );
        assert_eq!(s.ids[..3], [0, 4 + 120, 4 + 114]);
        // Three voices sound: the decoder puts them on S, A, T.
        let d = bb.decode_grid(&s.tokens).unwrap();
        assert_eq!(d.steps[1], [Some(60), Some(55), Some(48), None]);
        assert!(bb.grammar().violations(&s.tokens).is_empty());
        assert_eq!(
            bb.grammar().violations(&[Token::Start, Token::Fermata, Token::Fermata]),
            vec![2]
        );
    }

    #[test]
    fn hand_built_chorale_round_trips_with_revoicing_reported() {
        let bb = BachBot::new(BachBotConfig::default()).unwrap();
        let s = tiny_chorale();
        let (seqs, report) = bb.encode(&s).unwrap();
        let p = bb.preprocess(&s);
        assert_eq!(report, p.report);
        // The alto's beat of rest makes the tenor and bass move up a voice there.
        assert_eq!(report.notes_revoiced, 8);
        let tokens: Vec<Vec<Token>> = seqs.iter().map(|s| s.tokens.clone()).collect();
        assert_eq!(bb.decode(&tokens).unwrap(), p.score);
        assert!(seqs[0].text().contains("(.) (69, False)"));
        assert!(bb.grammar().violations(&seqs[0].tokens).is_empty());
        // Decoding the ids gives the same.
        assert_eq!(bb.decode_ids(&[seqs[0].ids.clone()]).unwrap(), p.score);
    }

    #[test]
    fn standardize_key_transposes_by_the_key_signature() {
        let bb = BachBot::new(BachBotConfig {
            standardize_key: true,
            ..BachBotConfig::default()
        })
        .unwrap();
        let s = tiny_chorale(); // G major: down 7 would be far, up 5 is nearer.
        let (g, r) = bb.grid(&s).unwrap();
        assert_eq!(g.steps[0][0], Some(72));
        assert!(r.warnings.iter().all(|w| !w.contains("key not standardized")));
        let mut no_key = s.clone();
        no_key.key_signatures.clear();
        let (g, r) = bb.grid(&no_key).unwrap();
        assert_eq!(g.steps[0][0], Some(67));
        assert!(r.warnings.iter().any(|w| w.contains("no key signature")));
    }

    /// A minor key goes to A minor: E minor (one sharp) up a fourth, as its
    /// relative G major goes to C, not up a tone to F# minor.
    #[test]
    fn standardize_key_takes_a_minor_key_to_a_minor() {
        let bb = BachBot::new(BachBotConfig {
            standardize_key: true,
            ..BachBotConfig::default()
        })
        .unwrap();
        let mut s = tiny_chorale();
        s.key_signatures[0].minor = true;
        let (g, _) = bb.grid(&s).unwrap();
        assert_eq!(g.steps[0][0], Some(72));
        s.key_signatures[0].key = -1; // D minor: down a fourth to A minor.
        let (g, _) = bb.grid(&s).unwrap();
        assert_eq!(g.steps[0][0], Some(62));
    }

    #[test]
    fn four_four_is_every_time_signature_or_none() {
        use fugue_score::TimeSignature;
        let mut s = tiny_chorale();
        assert!(in_four_four(&s), "no time signature is 4/4");
        s.time_signatures.push(TimeSignature::new(0, 4, 4));
        assert!(in_four_four(&s));
        s.time_signatures.push(TimeSignature::new(1920, 3, 4));
        assert!(!in_four_four(&s));
        s.time_signatures = vec![TimeSignature::new(0, 2, 2)];
        assert!(!in_four_four(&s), "2/2 is not BachBot's 4/4");
    }

    #[test]
    fn not_satb_is_an_error() {
        let bb = BachBot::new(BachBotConfig::default()).unwrap();
        let mut s = tiny_chorale();
        s.tracks.truncate(2);
        assert!(bb.encode(&s).unwrap_err().to_string().contains("exactly 4 tracks"));
        assert_eq!(bb.preprocess(&s).report.tracks_dropped, 2);
    }

    #[test]
    fn every_jsb_piece_round_trips() {
        let Some(splits) = jsb_or_skip("bachbot every_jsb_piece_round_trips") else {
            return;
        };
        let bb = BachBot::new(BachBotConfig::default()).unwrap();
        let (mut revoiced, mut pieces) = (0, 0);
        for g in splits.train.iter().chain(&splits.valid).chain(&splits.test) {
            let score = g.to_score();
            let (seqs, report) = bb.encode(&score).unwrap();
            let tokens: Vec<Vec<Token>> = seqs.iter().map(|s| s.tokens.clone()).collect();
            assert_eq!(bb.decode(&tokens).unwrap(), bb.preprocess(&score).score);
            revoiced += report.notes_revoiced;
            pieces += 1;
        }
        eprintln!("bachbot: {pieces} JSB pieces round-trip; {revoiced} cells revoiced");
    }
}
