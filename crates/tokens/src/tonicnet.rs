//! TonicNet's sequences — Peracha, "Improving Polyphonic Music Models with
//! Feature-Rich Encoding" (arXiv 1911.11775, 2019), as its code
//! (omarperacha/TonicNet, `preprocessing/nn_dataset.py`) builds them.
//!
//! Per 16th step five tokens: the chord, then soprano, **bass**, alto, tenor;
//! after the last step one `end`. The 98 ids are TonicNet's: 0 = `end`,
//! 1..=46 = MIDI 36..=81, 47 = `Rest`, 48..=97 = chord class 0..=49 (root +
//! 12 × quality for major, minor, diminished, augmented; 48 other; 49 none).
//! [`z_counts`] is the "Z" input of TonicNet_Z: per token, how many steps in a
//! row its part has had the same value, mod 80 (the model's table size).
//!
//! Chords. TonicNet reads its chords from pickles shipped with the code; the
//! function that made them (`preprocessing/utils.py`, `chord_from_pitches`)
//! builds a music21 `Chord` from the MIDI numbers ≥ 36 (S, A, T, B) and maps
//! its `root()` and `quality`. fugue's default labeler,
//! [`ChordLabels::Music21`], is that reading ([`crate::music21_chord`]:
//! music21 respells a chord of bare MIDI numbers before naming it, which is
//! why a port that keeps the default spellings, G# and E-, misses A-flat
//! major). It agrees with TonicNet's pickled JSB labels on 98.7% of the test
//! steps and with the chords JS Fakes ships on 98.6%; the rest are mostly
//! diminished sevenths whose root music21's versions name differently.
//! [`ChordLabels::Template`] is fugue's earlier labeler (a root whose third
//! and fifth sound, sevenths allowed; 93% agreement), kept so that runs made
//! with it still read their data as they were trained. Silence is "none".
//! Given chords (JS Fakes) can be encoded as they are with
//! [`TonicNet::grid_tokens`]. A transposed piece keeps its chords' qualities
//! and moves their roots ([`shift_chord`]), as TonicNet's augmentation does.
//!
//! Limits: a pitch below 36 is a `Rest` in TonicNet; fugue's preprocessing
//! drops notes outside 36..=81 (they have no token) and counts them. Held and
//! repeated notes are the same tokens, so repeats are merged; fermatas, keys,
//! tempos and meters are dropped. Decoding ignores the chord tokens (they
//! are derived from the notes). TonicNet's transposition augmentation and
//! its major/minor swap belong to the data pipeline, not here.

use crate::chorale::{preprocessed_grid, SatbGrid};
use crate::{with_ids, Grammar, Preprocessed, Report, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Score, Tick};
use serde::{Deserialize, Serialize};

/// Lowest pitch with a token.
pub const LOWEST_PITCH: u8 = 36;
/// Highest pitch with a token.
pub const HIGHEST_PITCH: u8 = 81;
/// The chord class "other".
pub const CHORD_OTHER: u8 = 48;
/// The chord class "none" (silence).
pub const CHORD_NONE: u8 = 49;
/// TonicNet's vocabulary size: `end`, 46 pitches, `Rest`, 50 chord classes.
pub const VOCAB_SIZE: usize = 98;
/// Size of TonicNet's Z embedding table.
pub const Z_MOD: u32 = 80;

/// Which labeler names the chord of each step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChordLabels {
    /// music21's root and quality, as TonicNet made its labels.
    #[default]
    Music21,
    /// fugue's template labeler ([`template_chord`]).
    Template,
}

/// TonicNet settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TonicNetConfig {
    /// Steps per quarter note (TonicNet: 4, 16ths).
    pub steps_per_quarter: u32,
    /// The chord labeler (default music21's reading, TonicNet's).
    pub chords: ChordLabels,
}

impl Default for TonicNetConfig {
    fn default() -> Self {
        TonicNetConfig {
            steps_per_quarter: 4,
            chords: ChordLabels::default(),
        }
    }
}

/// The TonicNet tokenizer.
#[derive(Clone, Debug)]
pub struct TonicNet {
    config: TonicNetConfig,
    vocab: Vocab,
}

/// The pitches a chord labeler reads: the sounding ones, in voice order,
/// a pitch below 36 being a rest to TonicNet.
fn sounding(pitches: &[Option<u8>]) -> Vec<u8> {
    pitches
        .iter()
        .flatten()
        .copied()
        .filter(|&p| p >= LOWEST_PITCH)
        .collect()
}

/// TonicNet's label: music21's root and quality of the sounding pitches
/// (≥ 36), `pitches` in voice order (S, A, T, B), as a chord class 0..=49.
pub fn music21_chord(pitches: &[Option<u8>]) -> u8 {
    use crate::music21_chord::{root_and_quality, Quality};
    let sounding = sounding(pitches);
    match root_and_quality(&sounding) {
        None => CHORD_NONE,
        Some((root, quality)) => match quality {
            Quality::Major => root,
            Quality::Minor => root + 12,
            Quality::Diminished => root + 24,
            Quality::Augmented => root + 36,
            Quality::Other => CHORD_OTHER,
        },
    }
}

/// A chord class moved by `shift` semitones: the root moves, the quality
/// stays; "other" and "none" stay as they are.
pub fn shift_chord(class: u8, shift: i32) -> u8 {
    if class >= CHORD_OTHER {
        return class;
    }
    let root = (i32::from(class % 12) + shift).rem_euclid(12) as u8;
    root + 12 * (class / 12)
}

/// The fugue template labeler (see the module docs): a chord class 0..=49
/// from the sounding pitches, `pitches` in voice order (S, A, T, B).
pub fn template_chord(pitches: &[Option<u8>]) -> u8 {
    let sounding = sounding(pitches);
    let Some(&bass) = sounding.iter().min() else {
        return CHORD_NONE;
    };
    let mut pcs: u16 = 0;
    for p in &sounding {
        pcs |= 1 << (p % 12);
    }
    let count = pcs.count_ones();
    let bass = bass % 12;
    let roots = std::iter::once(bass).chain((0..12u8).filter(|&r| r != bass));
    // (triad found, -extra tones), class; strictly better replaces.
    let mut best: Option<((u8, i32), u8)> = None;
    for r in roots.filter(|r| pcs & (1 << r) != 0) {
        let has = |i: u8| pcs & (1 << ((r + i) % 12)) != 0;
        for (q, (third, fifth)) in [(4u8, 7u8), (3, 7), (3, 6), (4, 8)].into_iter().enumerate() {
            let q = q as u8;
            let score = if has(third) && has(fifth) {
                // Sevenths do not count against the chord: minor 7th always,
                // major 7th over a major triad, diminished 7th over a diminished one.
                let mut allowed: u16 = 1 | 1 << third | 1 << fifth | 1 << 10;
                if q == 0 {
                    allowed |= 1 << 11;
                }
                if q == 2 {
                    allowed |= 1 << 9;
                }
                let extra = (0..12u8).filter(|&i| has(i) && allowed & (1 << i) == 0).count();
                (3, -(extra as i32))
            } else if count == 2 && q < 2 && has(third) {
                (2, 0)
            } else {
                continue;
            };
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, r + 12 * q));
            }
        }
    }
    best.map_or(CHORD_OTHER, |(_, c)| c)
}

/// TonicNet's Z input: for each of the 5 tokens of every step (the final
/// `end` excluded, as TonicNet's model input is the sequence without it), the
/// number of consecutive previous steps the same part (chord, S, B, A, T) had
/// the same token, mod 80 (TonicNet counts without bound and takes the count
/// mod 80 in the model).
pub fn z_counts(tokens: &[Token]) -> Vec<u32> {
    let steps = tokens.len() / 5;
    let mut out = Vec::with_capacity(steps * 5);
    let mut run = [0u32; 5];
    for t in 0..steps {
        for (part, r) in run.iter_mut().enumerate() {
            let i = t * 5 + part;
            *r = if t > 0 && tokens[i] == tokens[i - 5] { *r + 1 } else { 0 };
            out.push(*r % Z_MOD);
        }
    }
    out
}

/// TonicNet's voice ranges for transposition (S, A, T, B; MIDI, inclusive).
pub const VOICE_RANGES: [(u8, u8); 4] = [(60, 81), (53, 77), (45, 72), (36, 64)];

/// The semitone shifts TonicNet trains a piece in: every shift that keeps
/// each voice inside its [`VOICE_RANGES`] entry, where a voice already
/// outside its range may still move as far as it could from inside (so the
/// untransposed piece, 0, is always allowed). Returns `lo..=hi`, both
/// ends included, as TonicNet's `range(lower, higher + 1)`.
pub fn transposition_range(grid: &SatbGrid) -> (i32, i32) {
    let (mut lo, mut hi) = (i32::MIN, i32::MAX);
    for (v, &(low, high)) in VOICE_RANGES.iter().enumerate() {
        let pitches = grid.steps.iter().filter_map(|c| c[v]).map(i32::from);
        let (Some(min), Some(max)) = (pitches.clone().min(), pitches.max()) else {
            continue;
        };
        lo = lo.max((i32::from(low) - min).min(0));
        hi = hi.min((i32::from(high) - max).max(0));
    }
    if lo > hi {
        (0, 0)
    } else {
        (lo.max(-127), hi.min(127))
    }
}

/// Silences every cell whose pitch has no TonicNet token (outside
/// 36..=81; TonicNet reads a pitch below 36 as `Rest`) and returns how
/// many notes started in those cells.
pub fn drop_out_of_range(grid: &mut SatbGrid) -> usize {
    let mut dropped = 0;
    for (cell, onsets) in grid.steps.iter_mut().zip(grid.onsets.iter_mut()) {
        for (p, onset) in cell.iter_mut().zip(onsets.iter_mut()) {
            if p.is_some_and(|p| !(LOWEST_PITCH..=HIGHEST_PITCH).contains(&p)) {
                dropped += usize::from(*onset);
                *p = None;
                *onset = false;
            }
        }
    }
    dropped
}

impl TonicNet {
    /// A tokenizer for a configuration.
    pub fn new(config: TonicNetConfig) -> Result<Self, TokenError> {
        if !(1..=960).contains(&config.steps_per_quarter) {
            return Err(TokenError::Config {
                field: "steps_per_quarter".into(),
                message: format!("{} is outside 1..=960", config.steps_per_quarter),
            });
        }
        let mut tokens = vec![Token::TnEnd];
        tokens.extend((LOWEST_PITCH..=HIGHEST_PITCH).map(Token::VoicePitch));
        tokens.push(Token::TnRest);
        tokens.extend((0..=CHORD_NONE).map(Token::Chord));
        Ok(TonicNet {
            config,
            vocab: Vocab::new(tokens)?,
        })
    }

    /// The grid a score becomes (pitches outside 36..=81 dropped, repeats
    /// merged, no fermatas, no key), with what changed.
    pub fn grid(&self, score: &Score<Tick>) -> Result<(SatbGrid, Report), TokenError> {
        let (mut grid, mut report) = SatbGrid::from_score(score, self.config.steps_per_quarter)?;
        report.notes_out_of_range += drop_out_of_range(&mut grid);
        report.notes_merged += grid.merge_repeats();
        grid.fermatas.fill(false);
        grid.key = None;
        Ok((grid, report))
    }

    /// The chord class of every step of a grid, by the configured labeler.
    pub fn chords(&self, grid: &SatbGrid) -> Vec<u8> {
        let label = match self.config.chords {
            ChordLabels::Music21 => music21_chord,
            ChordLabels::Template => template_chord,
        };
        grid.steps.iter().map(|cell| label(cell)).collect()
    }

    /// The tokens of a grid, with the given chord class per step, or the
    /// configured labeler's when `chords` is `None`.
    pub fn grid_tokens(&self, grid: &SatbGrid, chords: Option<&[u8]>) -> Result<TokSeq, TokenError> {
        if let Some(c) = chords {
            if c.len() != grid.len() {
                return Err(TokenError::Encode(format!(
                    "{} chords for {} steps",
                    c.len(),
                    grid.len()
                )));
            }
        }
        let labelled;
        let chords = match chords {
            Some(c) => c,
            None => {
                labelled = self.chords(grid);
                &labelled
            }
        };
        let mut tokens = Vec::with_capacity(grid.len() * 5 + 1);
        let mut ticks = Vec::with_capacity(grid.len() * 5 + 1);
        for (t, cell) in grid.steps.iter().enumerate() {
            let chord = chords[t];
            tokens.push(Token::Chord(chord));
            for v in [0, 3, 1, 2] {
                tokens.push(match cell[v] {
                    Some(p) if (LOWEST_PITCH..=HIGHEST_PITCH).contains(&p) => Token::VoicePitch(p),
                    Some(p) => {
                        return Err(TokenError::Encode(format!(
                            "step {t}, voice {v}: pitch {p} is outside TonicNet's 36..=81"
                        )))
                    }
                    None => Token::TnRest,
                });
            }
            ticks.extend([t as i64; 5]);
        }
        tokens.push(Token::TnEnd);
        ticks.push(grid.len() as i64);
        with_ids(&self.vocab, tokens, ticks)
    }

    /// The grid of a token sequence: chords are skipped, a run of equal
    /// pitches is one held note, decoding stops at `end`.
    pub fn decode_grid(&self, seq: &[Token]) -> Result<SatbGrid, TokenError> {
        let mut steps = Vec::new();
        let mut cell = [None; 4];
        let mut part = 0usize;
        for (index, t) in seq.iter().enumerate() {
            let bad = |m: &str| TokenError::Decode {
                index,
                token: t.to_string(),
                message: m.into(),
            };
            match *t {
                Token::TnEnd => break,
                Token::Chord(_) if part == 0 => part = 1,
                Token::VoicePitch(_) | Token::TnRest if part > 0 => {
                    // S, B, A, T
                    let v = [0, 3, 1, 2][part - 1];
                    cell[v] = match *t {
                        Token::VoicePitch(p) => Some(p),
                        _ => None,
                    };
                    part += 1;
                    if part == 5 {
                        steps.push(std::mem::take(&mut cell));
                        part = 0;
                    }
                }
                Token::Pad | Token::Bos | Token::Eos | Token::Mask => {}
                _ => return Err(bad("out of place in TonicNet's chord, S, B, A, T order")),
            }
        }
        if part != 0 {
            return Err(TokenError::Decode {
                index: seq.len(),
                token: "end".into(),
                message: "the last step is incomplete".into(),
            });
        }
        Ok(SatbGrid::from_pitches(steps, self.config.steps_per_quarter))
    }
}

impl Tokenizer for TonicNet {
    fn name(&self) -> &'static str {
        "tonicnet"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        use TokenType::*;
        // The exact 5-token rhythm is positional; by type: a chord is followed
        // by four voice tokens, and a voice token by a voice, a chord or `end`.
        Grammar::new(
            &[Chord],
            &[
                (Chord, &[VoicePitch, Rest]),
                (VoicePitch, &[VoicePitch, Rest, Chord, End]),
                (Rest, &[VoicePitch, Rest, Chord, End]),
                (End, &[]),
            ],
        )
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        preprocessed_grid(score, self.grid(score))
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        let (grid, _) = self.grid(score)?;
        Ok(vec![self.grid_tokens(&grid, None)?])
    }

    /// Errors (instead of encoding nothing) when the score is not SATB.
    fn encode(&self, score: &Score<Tick>) -> Result<(Vec<TokSeq>, Report), TokenError> {
        let (grid, report) = self.grid(score)?;
        Ok((vec![self.grid_tokens(&grid, None)?], report))
    }

    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError> {
        match seqs {
            [seq] => Ok(self.decode_grid(seq)?.to_score()),
            _ => Err(TokenError::Encode(format!(
                "TonicNet decodes one sequence per chorale, not {}",
                seqs.len()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chorale::{jsb_or_skip, load_js_fakes_16th, shared_data, tiny_chorale};

    #[test]
    fn transposition_range_keeps_voices_in_range() {
        // S 72..=76, A 65, T 60, B 48: the soprano may go up 5 (to 81) and
        // down 12 (to 60); the tenor down 15, the bass down 12 and up 16,
        // the alto down 12 and up 12.
        let grid = SatbGrid::from_pitches(
            vec![
                [Some(72), Some(65), Some(60), Some(48)],
                [Some(76), Some(65), Some(60), Some(48)],
            ],
            4,
        );
        assert_eq!(transposition_range(&grid), (-12, 5));
        // A soprano above its range may not go further up, but 0 stays.
        let high = SatbGrid::from_pitches(vec![[Some(84), Some(65), Some(60), Some(48)]], 4);
        assert_eq!(transposition_range(&high), (-12, 0));
    }

    #[test]
    fn vocabulary_is_tonicnets_98_ids() {
        let tn = TonicNet::new(TonicNetConfig::default()).unwrap();
        let v = tn.vocab();
        assert_eq!(v.len(), VOCAB_SIZE);
        assert_eq!(v.id(&Token::TnEnd), Some(0));
        assert_eq!(v.id(&Token::VoicePitch(36)), Some(1));
        assert_eq!(v.id(&Token::VoicePitch(81)), Some(46));
        assert_eq!(v.id(&Token::TnRest), Some(47));
        assert_eq!(v.id(&Token::Chord(0)), Some(48));
        assert_eq!(v.id(&Token::Chord(49)), Some(97));
    }

    #[test]
    fn two_steps_exact_tokens() {
        let g = SatbGrid::from_pitches(
            vec![
                [Some(72), Some(67), Some(64), Some(48)],
                [Some(72), None, Some(69), Some(53)],
            ],
            4,
        );
        let tn = TonicNet::new(TonicNetConfig::default()).unwrap();
        let s = tn.grid_tokens(&g, None).unwrap();
        // C major, then F major (F A C) under a held soprano C.
        assert_eq!(s.text(), "Chord_0 72 48 67 64 Chord_5 72 53 Rest 69 end");
        assert_eq!(s.ids, vec![48, 37, 13, 32, 29, 53, 37, 18, 47, 34, 0]);
        assert_eq!(z_counts(&s.tokens), vec![0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(tn.decode_grid(&s.tokens).unwrap(), g);
        assert!(tn.grammar().violations(&s.tokens).is_empty());
    }

    /// Both labelers on the same chords (S, A, T, B): where music21's
    /// reading (TonicNet's) and the template differ is where the template
    /// falls back to "other" or picks another root.
    #[test]
    fn labelers_on_textbook_chords() {
        let cases: &[(&[u8], u8, u8, &str)] = &[
            (&[67, 64, 60, 48], 0, 0, "C major"),
            (&[68, 63, 60, 48], 8, 8, "A-flat major (music21 respells G# D# B#)"),
            (&[69, 64, 60, 45], 21, 21, "A minor"),
            (&[69, 60, 70, 67], 21, CHORD_OTHER, "A minor 7 with B-flat, no fifth"),
            (&[71, 65, 62, 47], 35, 35, "B diminished"),
            (
                &[68, 64, 60, 48],
                44,
                36,
                "augmented: on G# to music21, on the bass to the template",
            ),
            (&[65, 62, 59, 43], 7, 7, "G7, not B diminished with an added G"),
            (&[60, 61, 62, 48], CHORD_OTHER, CHORD_OTHER, "a cluster"),
            (&[64, 60], 0, 0, "a major third alone"),
            (&[64, 60, 30], 0, 0, "a pitch below 36 is a rest to TonicNet"),
        ];
        for &(ps, m21, template, what) in cases {
            let cell: Vec<Option<u8>> = ps.iter().map(|&p| Some(p)).collect();
            assert_eq!(music21_chord(&cell), m21, "music21: {what}");
            assert_eq!(template_chord(&cell), template, "template: {what}");
        }
        for silent in [[None; 4], [Some(30), None, None, None]] {
            assert_eq!(music21_chord(&silent), CHORD_NONE);
        }
        assert_eq!(template_chord(&[None; 4]), CHORD_NONE);
    }

    #[test]
    fn shifting_moves_roots_and_keeps_qualities() {
        assert_eq!(shift_chord(0, 2), 2);
        assert_eq!(shift_chord(11, 1), 0);
        assert_eq!(shift_chord(21, -10), 23, "A minor down 10 is B minor");
        assert_eq!(shift_chord(35, 1), 24, "B diminished up 1 is C diminished");
        assert_eq!(shift_chord(CHORD_OTHER, 5), CHORD_OTHER);
        assert_eq!(shift_chord(CHORD_NONE, -3), CHORD_NONE);
    }

    #[test]
    fn configured_labeler_names_the_chords() {
        // A7 without its fifth over C#: music21 hears A major, the
        // template labeler (no fifth, more than two pitch classes) "other".
        let g = SatbGrid::from_pitches(vec![[Some(67), Some(61), Some(57), Some(49)]], 4);
        let m21 = TonicNet::new(TonicNetConfig::default()).unwrap();
        let template = TonicNet::new(TonicNetConfig {
            chords: ChordLabels::Template,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(m21.chords(&g), vec![9]);
        assert_eq!(template.chords(&g), vec![CHORD_OTHER]);
        assert_eq!(m21.grid_tokens(&g, None).unwrap().tokens[0], Token::Chord(9));
        let json = serde_json::to_string(&TonicNetConfig::default()).unwrap();
        assert_eq!(json, r#"{"steps_per_quarter":4,"chords":"music21"}"#);
    }

    #[test]
    fn z_counts_wrap_at_80() {
        let g = SatbGrid::from_pitches(vec![[Some(60), None, None, None]; 85], 4);
        let tn = TonicNet::new(TonicNetConfig::default()).unwrap();
        let z = z_counts(&tn.grid_tokens(&g, None).unwrap().tokens);
        assert_eq!(z.len(), 85 * 5);
        assert_eq!(z[79 * 5 + 1], 79);
        assert_eq!(z[80 * 5 + 1], 0);
        assert_eq!(z[84 * 5 + 4], 4);
    }

    #[test]
    fn hand_built_chorale_round_trips() {
        let tn = TonicNet::new(TonicNetConfig::default()).unwrap();
        let s = tiny_chorale();
        let (seqs, report) = tn.encode(&s).unwrap();
        assert_eq!(report.notes_merged, 1, "the repeated G4 is held");
        assert_eq!(seqs[0].tokens.len(), 16 * 5 + 1);
        let tokens: Vec<Vec<Token>> = seqs.iter().map(|s| s.tokens.clone()).collect();
        assert_eq!(tn.decode(&tokens).unwrap(), tn.preprocess(&s).score);
        assert!(tn.grammar().violations(&seqs[0].tokens).is_empty());
    }

    #[test]
    fn every_jsb_piece_round_trips() {
        let Some(splits) = jsb_or_skip("tonicnet every_jsb_piece_round_trips") else {
            return;
        };
        let tn = TonicNet::new(TonicNetConfig::default()).unwrap();
        for g in splits.train.iter().chain(&splits.valid).chain(&splits.test) {
            let score = g.to_score();
            let (seqs, _) = tn.encode(&score).unwrap();
            let tokens: Vec<Vec<Token>> = seqs.iter().map(|s| s.tokens.clone()).collect();
            assert_eq!(tn.decode(&tokens).unwrap(), tn.preprocess(&score).score);
            assert_eq!(&tn.decode_grid(&seqs[0].tokens).unwrap(), g);
        }
    }

    #[test]
    fn labelers_agree_with_js_fakes_chords() {
        let p = shared_data().join("js_fakes/js-fakes-16thSeparated.json");
        if !p.exists() {
            eprintln!(
                "labelers_agree_with_js_fakes_chords: skipped, {} is absent",
                p.display()
            );
            return;
        }
        let pieces = load_js_fakes_16th(&p).unwrap();
        assert_eq!(pieces.len(), 500);
        let tn = TonicNet::new(TonicNetConfig::default()).unwrap();
        let (mut same, mut same_template, mut total) = (0usize, 0usize, 0usize);
        for (g, chords) in &pieces {
            for (cell, &c) in g.steps.iter().zip(chords) {
                same += usize::from(music21_chord(cell) == c);
                same_template += usize::from(template_chord(cell) == c);
                total += 1;
            }
            // Given chords are encoded as they are.
            let s = tn.grid_tokens(g, Some(chords)).unwrap();
            assert_eq!(s.tokens[0], Token::Chord(chords[0]));
        }
        let rate = same as f64 / total as f64;
        let rate_template = same_template as f64 / total as f64;
        eprintln!(
            "tonicnet labelers vs JS Fakes chords: music21 {same}/{total} steps agree ({:.1}%), template {same_template} ({:.1}%)",
            rate * 100.0,
            rate_template * 100.0
        );
        assert!(rate > 0.98, "music21 agreement {rate}");
        assert!(rate_template > 0.9, "template agreement {rate_template}");
    }
}
