//! CP-Word — Hsiao, Liu, Yeh & Yang, "Compound Word Transformer: Learning to
//! Compose Full-Song Music over Dynamic Directed Hypergraphs" (AAAI 2021), as
//! MidiTok writes it.
//!
//! REMI's events grouped into compound steps of fixed width: a metric step
//! `[Family_Metric, Bar|Position, Ignore…, TimeSig|Ignore]` for each bar (its
//! time signature in the last slot) and each position, and a note step
//! `[Family_Note, Ignore, Pitch, Velocity, Duration, Ignore]` for each note.
//! Slots a configuration does not use (velocity, time signature) are left
//! out, so the width is 4 to 6. Built on [`crate::remi`]: same
//! preprocessing, and decoding ungroups the steps and decodes them as REMI.
//! One vocabulary for all slots (MidiTok keeps one per slot; the texts are
//! the same). Not covered: MidiTok's optional CP-Word extras (programs,
//! rests, tempos, chords).

use crate::beat_grid::BeatConfig;
use crate::remi::Remi;
use crate::{Grammar, Preprocessed, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Score, Tick};

/// The CP-Word tokenizer.
#[derive(Clone, Debug)]
pub struct CpWord {
    remi: Remi,
    vocab: Vocab,
    velocity: bool,
    time_sig: bool,
}

impl CpWord {
    /// A tokenizer for a configuration (validated).
    pub fn new(config: BeatConfig) -> Result<Self, TokenError> {
        crate::programs::refuse(&config, "CP-Word")?;
        let (velocity, time_sig) = (config.use_velocities, config.use_time_signatures);
        let remi = Remi::new(config)?;
        let mut tokens = remi.vocab().tokens().to_vec();
        tokens.extend([Token::FamilyMetric, Token::FamilyNote, Token::Ignore]);
        let vocab = Vocab::new(tokens)?;
        Ok(CpWord {
            remi,
            vocab,
            velocity,
            time_sig,
        })
    }

    /// Tokens per compound step.
    pub fn width(&self) -> usize {
        4 + usize::from(self.velocity) + usize::from(self.time_sig)
    }

    /// Group one REMI sequence into compound steps.
    fn group(&self, remi: &TokSeq) -> Result<(Vec<Token>, Vec<i64>), TokenError> {
        let w = self.width();
        let (t, ticks) = (&remi.tokens, &remi.ticks);
        let mut out = Vec::with_capacity(t.len() * 2);
        let mut times = Vec::with_capacity(t.len());
        let mut i = 0;
        let unexpected = |i: usize| TokenError::Encode(format!("REMI token {} at {i} has no CP-Word step", t[i]));
        while i < t.len() {
            let mut step = vec![Token::Ignore; w];
            match t[i] {
                Token::Bar | Token::Position(_) => {
                    step[0] = Token::FamilyMetric;
                    step[1] = t[i];
                    if t[i] == Token::Bar && self.time_sig {
                        if let Some(ts @ Token::TimeSig(..)) = t.get(i + 1) {
                            step[w - 1] = *ts;
                            i += 1;
                        }
                    }
                    times.push(ticks[i]);
                    i += 1;
                }
                Token::Pitch(_) | Token::PitchDrum(_) => {
                    step[0] = Token::FamilyNote;
                    step[2] = t[i];
                    times.push(ticks[i]);
                    let mut slot = 3;
                    if self.velocity {
                        step[slot] = *t
                            .get(i + 1)
                            .filter(|x| matches!(x, Token::Velocity(_)))
                            .ok_or_else(|| unexpected(i))?;
                        slot += 1;
                    }
                    let dur = i + slot - 2;
                    step[slot] = *t
                        .get(dur)
                        .filter(|x| matches!(x, Token::Duration(_)))
                        .ok_or_else(|| unexpected(i))?;
                    i = dur + 1;
                }
                _ => return Err(unexpected(i)),
            }
            out.extend(step);
        }
        Ok((out, times))
    }
}

impl Tokenizer for CpWord {
    fn name(&self) -> &'static str {
        "cpword"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        use TokenType::*;
        let step_start: &[TokenType] = &[FamilyMetric, FamilyNote];
        let after_pitch: &[TokenType] = if self.velocity { &[Velocity] } else { &[Duration] };
        Grammar::new(
            &[FamilyMetric],
            &[
                (FamilyMetric, &[Bar, Position]),
                (FamilyNote, &[Ignore]),
                (Bar, &[Ignore]),
                (Position, &[Ignore]),
                (Ignore, &[Ignore, Pitch, PitchDrum, TimeSig, FamilyMetric, FamilyNote]),
                (Pitch, after_pitch),
                (PitchDrum, after_pitch),
                (Velocity, &[Duration]),
                (Duration, &[Ignore, FamilyMetric, FamilyNote]),
                (TimeSig, step_start),
            ],
        )
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        self.remi.preprocess(score)
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        self.remi
            .encode_preprocessed(score)?
            .iter()
            .map(|seq| {
                let (tokens, ticks) = self.group(seq)?;
                let ids = self.vocab.encode(&tokens)?;
                Ok(TokSeq {
                    tokens,
                    ids,
                    ticks,
                    width: self.width(),
                })
            })
            .collect()
    }

    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError> {
        let w = self.width();
        let mut remi_seqs = Vec::with_capacity(seqs.len());
        for seq in seqs {
            if seq.len() % w != 0 {
                return Err(TokenError::Decode {
                    index: seq.len(),
                    token: String::new(),
                    message: format!("{} tokens are not whole steps of {w}", seq.len()),
                });
            }
            let mut flat = Vec::with_capacity(seq.len());
            for (si, step) in seq.chunks(w).enumerate() {
                match step[0] {
                    Token::FamilyMetric => {
                        flat.push(step[1]);
                        if self.time_sig && step[w - 1] != Token::Ignore {
                            flat.push(step[w - 1]);
                        }
                    }
                    Token::FamilyNote => flat.extend(step[2..w - usize::from(self.time_sig)].iter().copied()),
                    Token::Pad | Token::Bos | Token::Eos | Token::Mask => {}
                    other => {
                        return Err(TokenError::Decode {
                            index: si * w,
                            token: other.to_string(),
                            message: "a compound step must start with its family".into(),
                        })
                    }
                }
            }
            remi_seqs.push(flat);
        }
        self.remi.decode(&remi_seqs)
    }
}
