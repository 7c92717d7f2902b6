//! Subword vocabularies over a scheme's tokens: byte-pair encoding (Sennrich
//! et al. 2016; Fradet et al., "Byte Pair Encoding for Symbolic Music", EMNLP
//! 2023) and Unigram (Kudo 2018), trained with Hugging Face's `tokenizers`,
//! the way MidiTok 3 does it.
//!
//! Each base token id becomes one Unicode character (`id + 33`, MidiTok's
//! offset); a sequence is cut into "words" (MidiTok cuts at bars) and the
//! subword model learns merges inside words only. Encoding maps every word
//! to subword ids; decoding maps each subword back to its characters and so
//! to base ids, so `decode(encode(x)) == x` for any base ids the model knows.
//! Training takes an iterator and keeps only word counts, so a corpus never
//! has to fit in memory.

use crate::TokenError;
use serde::{Deserialize, Serialize};
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::unigram::{Unigram, UnigramTrainer};
use tokenizers::models::TrainerWrapper;
use tokenizers::Tokenizer as HfTokenizer;

/// MidiTok's first character for base id 0 (`chr(id + 33)`).
const CHAR_OFFSET: u32 = 33;

/// Which subword model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubwordModel {
    /// Byte-pair encoding.
    Bpe,
    /// Unigram language model.
    Unigram,
}

/// Subword training settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubwordConfig {
    /// The model.
    pub model: SubwordModel,
    /// Vocabulary size to reach (base tokens included).
    pub vocab_size: usize,
    /// Pairs seen fewer times are never merged (BPE).
    pub min_frequency: u64,
}

impl Default for SubwordConfig {
    fn default() -> Self {
        SubwordConfig {
            model: SubwordModel::Bpe,
            vocab_size: 1000,
            min_frequency: 2,
        }
    }
}

fn hf(e: impl std::fmt::Display) -> TokenError {
    TokenError::Encode(format!("subword model: {e}"))
}

/// The character of a base id.
fn id_char(id: u32) -> Result<char, TokenError> {
    id.checked_add(CHAR_OFFSET)
        .and_then(char::from_u32)
        .ok_or_else(|| TokenError::Encode(format!("base id {id} has no character (vocabulary too large)")))
}

/// A trained subword model over a base vocabulary.
pub struct Subword {
    model: HfTokenizer,
    base_size: u32,
}

impl std::fmt::Debug for Subword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subword")
            .field("base_size", &self.base_size)
            .field("size", &self.vocab_size())
            .finish()
    }
}

impl Subword {
    /// Train on words of base ids (each item one word, e.g. one bar).
    pub fn train<I>(base_size: usize, words: I, config: &SubwordConfig) -> Result<Self, TokenError>
    where
        I: Iterator<Item = Vec<u32>> + Send,
    {
        if config.vocab_size <= base_size && config.model == SubwordModel::Bpe {
            return Err(TokenError::Config {
                field: "vocab_size".into(),
                message: format!("{} is not above the base vocabulary ({base_size})", config.vocab_size),
            });
        }
        let base = u32::try_from(base_size).map_err(|_| hf("base vocabulary too large"))?;
        let alphabet = (0..base).map(id_char).collect::<Result<Vec<char>, _>>()?;
        let texts = words
            .filter(|w| !w.is_empty())
            .map(|w| w.iter().filter_map(|&id| id_char(id).ok()).collect::<String>());
        let (mut model, mut trainer): (HfTokenizer, TrainerWrapper) = match config.model {
            SubwordModel::Bpe => (
                HfTokenizer::new(BPE::default()),
                BpeTrainerBuilder::new()
                    .vocab_size(config.vocab_size)
                    .min_frequency(config.min_frequency)
                    .show_progress(false)
                    .initial_alphabet(alphabet.iter().copied().collect())
                    .limit_alphabet(base_size)
                    .build()
                    .into(),
            ),
            SubwordModel::Unigram => (
                HfTokenizer::new(Unigram::default()),
                UnigramTrainer::builder()
                    .vocab_size(config.vocab_size as u32)
                    .show_progress(false)
                    .initial_alphabet(alphabet.iter().copied().collect())
                    .unk_token(Some(alphabet[0].to_string()))
                    .build()
                    .map_err(hf)?
                    .into(),
            ),
        };
        model.train(&mut trainer, texts).map_err(hf)?;
        Ok(Subword { model, base_size: base })
    }

    /// Size of the subword vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.model.get_vocab_size(false)
    }

    /// Base vocabulary size.
    pub fn base_size(&self) -> u32 {
        self.base_size
    }

    /// Subword ids of words of base ids, concatenated.
    pub fn encode(&self, words: &[Vec<u32>]) -> Result<Vec<u32>, TokenError> {
        let mut out = Vec::new();
        for w in words.iter().filter(|w| !w.is_empty()) {
            let text = w.iter().map(|&id| id_char(id)).collect::<Result<String, _>>()?;
            let enc = self.model.encode(text.as_str(), false).map_err(hf)?;
            out.extend_from_slice(enc.get_ids());
        }
        Ok(out)
    }

    /// Base ids of subword ids.
    pub fn decode(&self, ids: &[u32]) -> Result<Vec<u32>, TokenError> {
        let mut out = Vec::with_capacity(ids.len() * 2);
        for (index, &id) in ids.iter().enumerate() {
            let piece = self.model.id_to_token(id).ok_or(TokenError::UnknownId {
                id,
                index,
                size: self.vocab_size(),
            })?;
            out.extend(piece.chars().map(|c| u32::from(c).saturating_sub(CHAR_OFFSET)));
        }
        Ok(out)
    }

    /// The model as JSON (Hugging Face's tokenizer format), to save beside a run.
    pub fn to_json(&self) -> Result<String, TokenError> {
        self.model.to_string(false).map_err(hf)
    }

    /// A model saved by [`Subword::to_json`].
    pub fn from_json(json: &str, base_size: u32) -> Result<Self, TokenError> {
        let model: HfTokenizer = json.parse().map_err(|e| TokenError::Config {
            field: "subword model".into(),
            message: format!("not a saved subword model: {e}"),
        })?;
        Ok(Subword { model, base_size })
    }
}

/// Cut a token sequence into words at `Bar` tokens (each bar one word), as
/// MidiTok's default `encode_ids_split = "bar"` does for REMI.
pub fn split_at_bars(tokens: &[crate::Token], ids: &[u32]) -> Vec<Vec<u32>> {
    let mut words: Vec<Vec<u32>> = Vec::new();
    for (t, &id) in tokens.iter().zip(ids) {
        if *t == crate::Token::Bar || words.is_empty() {
            words.push(Vec::new());
        }
        if let Some(w) = words.last_mut() {
            w.push(id);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<Vec<u32>> {
        // A "bar" pattern repeated with variations over a 20-token vocabulary.
        (0..200u32)
            .map(|i| vec![0, 1 + i % 3, 5, 6, 7, 5, 6, 7, 10 + i % 5])
            .collect()
    }

    #[test]
    fn bpe_shortens_sequences_and_decodes_back() {
        let cfg = SubwordConfig {
            vocab_size: 40,
            ..Default::default()
        };
        let bpe = Subword::train(20, corpus().into_iter(), &cfg).unwrap();
        assert!(bpe.vocab_size() > 20 && bpe.vocab_size() <= 40, "{}", bpe.vocab_size());
        let words = corpus();
        let ids = bpe.encode(&words).unwrap();
        let base: Vec<u32> = words.iter().flatten().copied().collect();
        assert!(ids.len() * 2 < base.len(), "{} vs {}", ids.len(), base.len());
        assert_eq!(bpe.decode(&ids).unwrap(), base);
        // Unseen base ids still encode (every base token is in the alphabet).
        let odd = vec![vec![19, 18, 17]];
        assert_eq!(bpe.decode(&bpe.encode(&odd).unwrap()).unwrap(), vec![19, 18, 17]);
        // Save and load.
        let again = Subword::from_json(&bpe.to_json().unwrap(), 20).unwrap();
        assert_eq!(again.encode(&words).unwrap(), ids);
        assert!(Subword::from_json("{", 20).is_err());
    }

    #[test]
    fn unigram_round_trips() {
        let cfg = SubwordConfig {
            model: SubwordModel::Unigram,
            vocab_size: 60,
            min_frequency: 1,
        };
        let uni = Subword::train(20, corpus().into_iter(), &cfg).unwrap();
        let words = corpus();
        let ids = uni.encode(&words).unwrap();
        let base: Vec<u32> = words.iter().flatten().copied().collect();
        assert!(ids.len() < base.len());
        assert_eq!(uni.decode(&ids).unwrap(), base);
    }

    #[test]
    fn vocab_size_must_grow() {
        let cfg = SubwordConfig {
            vocab_size: 10,
            ..Default::default()
        };
        let e = Subword::train(20, corpus().into_iter(), &cfg).unwrap_err();
        assert!(e.to_string().contains("vocab_size"));
    }

    #[test]
    fn bars_cut_words() {
        use crate::Token;
        let t = [
            Token::Bar,
            Token::Position(0),
            Token::Pitch(60),
            Token::Bar,
            Token::Position(0),
        ];
        assert_eq!(split_at_bars(&t, &[1, 2, 3, 1, 2]), vec![vec![1, 2, 3], vec![1, 2]]);
    }
}
