//! Vocabularies: the bijection between tokens and the integer ids a model sees.

use crate::error::TokenError;
use crate::token::Token;
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

/// An ordered list of tokens; a token's id is its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    tokens: Vec<Token>,
    ids: HashMap<Token, u32>,
}

impl Vocab {
    /// A vocabulary from tokens in id order. Duplicates are an error.
    pub fn new(tokens: Vec<Token>) -> Result<Self, TokenError> {
        let mut ids = HashMap::with_capacity_and_hasher(tokens.len(), Default::default());
        for (i, t) in tokens.iter().enumerate() {
            if ids.insert(*t, i as u32).is_some() {
                return Err(TokenError::Config {
                    field: "vocabulary".into(),
                    message: format!("token {t} appears twice"),
                });
            }
        }
        Ok(Vocab { tokens, ids })
    }
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }
    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
    /// The id of a token.
    pub fn id(&self, t: &Token) -> Option<u32> {
        self.ids.get(t).copied()
    }
    /// The token of an id.
    pub fn token(&self, id: u32) -> Option<Token> {
        self.tokens.get(id as usize).copied()
    }
    /// All tokens in id order.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }
    /// Ids of a token sequence; a token outside the vocabulary is an error.
    pub fn encode(&self, tokens: &[Token]) -> Result<Vec<u32>, TokenError> {
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                self.id(t).ok_or_else(|| TokenError::NotInVocab {
                    token: t.to_string(),
                    index: i,
                })
            })
            .collect()
    }
    /// Tokens of an id sequence; an unknown id is an error.
    pub fn decode(&self, ids: &[u32]) -> Result<Vec<Token>, TokenError> {
        ids.iter()
            .enumerate()
            .map(|(i, &id)| {
                self.token(id).ok_or_else(|| TokenError::UnknownId {
                    id,
                    index: i,
                    size: self.len(),
                })
            })
            .collect()
    }
    /// The vocabulary as text, for saving next to a model.
    pub fn to_file_form(&self) -> VocabFile {
        VocabFile {
            tokens: self.tokens.iter().map(|t| t.to_string()).collect(),
        }
    }
    /// Read the saved text form back.
    pub fn from_file_form(f: &VocabFile) -> Result<Self, TokenError> {
        let tokens = f
            .tokens
            .iter()
            .map(|s| {
                s.parse::<Token>().map_err(|e| TokenError::Config {
                    field: "vocabulary".into(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Vocab::new(tokens)
    }
}

/// The on-disk form of a vocabulary: token texts in id order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VocabFile {
    /// Token texts; the position is the id.
    pub tokens: Vec<String>,
}
