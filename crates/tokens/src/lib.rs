//! # fugue-tokens
//!
//! The token sequences the papers' models read, and back. Every scheme
//! implements one [`Tokenizer`] trait: `preprocess` (quantize to the scheme's
//! grid, clamp ranges, drop what the scheme cannot express, all counted in a
//! [`Report`]), `encode` a score into one or more [`TokSeq`]s, and `decode`
//! tokens back to a score, with the guarantee tested on real corpora that
//! `decode(encode(s)) == preprocess(s)`.
//!
//! Schemes, one file each:
//! - [`performance`]: performance events (Oore et al. 2018; Music Transformer).
//! - [`remi`]: REMI (Huang & Yang 2020), MidiTok-compatible, over the shared
//!   [`beat_grid`].
//! - [`tsd`]: TSD (time shift, duration), MidiTok-compatible, same grid.
//! - [`midi_like`]: MIDI-Like (note-on/note-off), MidiTok-compatible, same grid.
//! - [`structured`]: Structured (Hadjeres & Crestel 2021), MidiTok-compatible.
//! - [`cp_word`]: CP-Word compound tokens (Hsiao et al. 2021), MidiTok-compatible.
//! - [`octuple`]: Octuple compound tokens, one per note (Zeng et al. 2021,
//!   MusicBERT), MidiTok-compatible.
//! - [`mmm`]: MMM, tracks one after another with bar infilling (Ens &
//!   Pasquier 2020), MidiTok-compatible.
//! - [`programs`]: `Program` tokens for REMI and TSD (REMI+, Rütte et al. 2022),
//!   MidiTok-compatible, set in the shared configuration.
//! - [`chorale`]: the SATB grid the chorale schemes share (score ↔ grid, the
//!   JSB and JS Fakes files); not a scheme itself.
//! - [`coconet`]: Coconet's (T × 46 × 4) one-hot piano-roll (Huang et al.
//!   2017), a tensor layout helper rather than a `Tokenizer`.
//! - [`deepbach`]: DeepBach's per-voice sequences with `__`, `rest`, padding
//!   and metadata (Hadjeres et al. 2017), an encoder/decoder of grids.
//! - [`bachbot`]: BachBot's serialized frames (Liang et al. 2017).
//! - [`tonicnet`]: TonicNet's chord + S, B, A, T steps and its Z feature
//!   (Peracha 2019).
//! - [`bachprop`]: BachProp's notes as (dT, T, P) on a normalised rhythm
//!   grid, with a corpus's vocabularies (Colombo et al. 2019).
//! - [`melody`]: monophonic melody events, one per 16th (Magenta's Melody
//!   RNN and the Note-RNN of RL-Tuner; also what fugue's Todd network reads).
//!
//! [`subword`] learns BPE or Unigram vocabularies over any scheme's tokens.
//!
//! This crate knows nothing of tensors or models.
#![warn(missing_docs)]

pub mod bachbot;
pub mod bachprop;
pub mod beat_grid;
pub mod chorale;
pub mod chord_skeleton;
pub mod coconet;
pub mod cp_word;
pub mod deepbach;
pub mod error;
pub mod events;
pub mod grammar;
pub mod harmonet;
pub mod melody;
pub mod midi_like;
pub mod mmm;
pub mod music21_chord;
pub mod octuple;
pub mod performance;
pub mod programs;
pub mod remi;
pub mod serialized_satb;
pub mod structured;
pub mod subword;
pub mod token;
pub mod tonicnet;
pub mod tsd;
pub mod vocab;

pub use error::TokenError;
pub use grammar::Grammar;
pub use token::{Beats, Token, TokenType};
pub use vocab::Vocab;

use fugue_score::{Score, Tick};
use serde::Serialize;

/// One token sequence with its ids and the tick of each token in the
/// preprocessed score.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TokSeq {
    /// The tokens.
    pub tokens: Vec<Token>,
    /// Their ids in the tokenizer's vocabulary.
    pub ids: Vec<u32>,
    /// The time of each token (of each compound step when `width > 1`), in
    /// ticks of the preprocessed score.
    pub ticks: Vec<i64>,
    /// Tokens per step: 1, or the slots of a compound token (CP-Word).
    pub width: usize,
}

impl TokSeq {
    /// The tokens as MidiTok writes them: texts separated by spaces; the
    /// slots of a compound step joined by `|`.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let width = self.width.max(1);
        let mut s = String::with_capacity(self.tokens.len() * 10);
        for (i, t) in self.tokens.iter().enumerate() {
            if i > 0 {
                s.push(if i % width == 0 { ' ' } else { '|' });
            }
            let _ = write!(s, "{t}");
        }
        s
    }
}

/// What preprocessing changed or dropped, so that nothing is lost silently.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Notes in the input.
    pub notes_in: usize,
    /// Notes dropped because their pitch is outside the scheme's range.
    pub notes_out_of_range: usize,
    /// Notes dropped as duplicates or merged with an overlapping note.
    pub notes_merged: usize,
    /// Notes of drum tracks dropped by a scheme without drums.
    pub drum_notes_dropped: usize,
    /// Notes whose onset moved when quantized.
    pub onsets_moved: usize,
    /// Notes whose duration changed when quantized.
    pub durations_changed: usize,
    /// Notes whose velocity changed when binned.
    pub velocities_changed: usize,
    /// Tracks dropped (empty after preprocessing, or not expressible).
    pub tracks_dropped: usize,
    /// Tracks merged into another track of the same program (one token
    /// stream with programs: the tokens cannot tell such tracks apart).
    pub tracks_merged: usize,
    /// Notes dropped because they start after the last bar the scheme can
    /// number (Octuple's `max_bar_embedding`).
    pub notes_beyond_max_bar: usize,
    /// Time signatures dropped or moved to a bar line.
    pub time_signatures_changed: usize,
    /// Grid cells (voice × step) whose note went to another voice (chorale
    /// schemes whose tokens do not say which voice sings a note).
    pub notes_revoiced: usize,
    /// Whatever else preprocessing changed or could not do, in words.
    pub warnings: Vec<String>,
}

/// A score prepared for a scheme, with what preparing it changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocessed {
    /// The score as the scheme sees it.
    pub score: Score<Tick>,
    /// What changed.
    pub report: Report,
}

/// One encoding scheme.
pub trait Tokenizer: Send + Sync {
    /// The scheme's name (`remi`, `performance`, ...).
    fn name(&self) -> &'static str;
    /// The vocabulary.
    fn vocab(&self) -> &Vocab;
    /// The token grammar.
    fn grammar(&self) -> Grammar;
    /// Bring a score to what the scheme can express.
    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed;
    /// Encode a score that `preprocess` produced (one sequence per track, or
    /// one for the whole score, as the scheme defines).
    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError>;
    /// Decode token sequences back to a score.
    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError>;

    /// Preprocess then encode.
    fn encode(&self, score: &Score<Tick>) -> Result<(Vec<TokSeq>, Report), TokenError> {
        let p = self.preprocess(score);
        Ok((self.encode_preprocessed(&p.score)?, p.report))
    }
    /// Decode id sequences.
    fn decode_ids(&self, ids: &[Vec<u32>]) -> Result<Score<Tick>, TokenError> {
        let seqs = ids
            .iter()
            .map(|s| self.vocab().decode(s))
            .collect::<Result<Vec<_>, _>>()?;
        self.decode(&seqs)
    }
}

/// Attach ids to tokens (all tokens a scheme emits are in its vocabulary).
pub(crate) fn with_ids(vocab: &Vocab, tokens: Vec<Token>, ticks: Vec<i64>) -> Result<TokSeq, TokenError> {
    let ids = vocab.encode(&tokens)?;
    Ok(TokSeq {
        tokens,
        ids,
        ticks,
        width: 1,
    })
}
