//! The crate's error type: what is wrong, and where (config field, token index).

/// Errors of tokenization.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    /// A configuration value is invalid or inconsistent.
    #[error("invalid tokenizer config field '{field}': {message}")]
    Config {
        /// The field.
        field: String,
        /// Why.
        message: String,
    },
    /// A token is not in the vocabulary.
    #[error("token {token} (position {index}) is not in the vocabulary")]
    NotInVocab {
        /// The token's text.
        token: String,
        /// Its position in the sequence.
        index: usize,
    },
    /// An id is outside the vocabulary.
    #[error("id {id} (position {index}) is outside the vocabulary of {size} tokens")]
    UnknownId {
        /// The id.
        id: u32,
        /// Its position.
        index: usize,
        /// The vocabulary size.
        size: usize,
    },
    /// A token sequence breaks the scheme's grammar and cannot be decoded.
    #[error("cannot decode token {index} ({token}): {message}")]
    Decode {
        /// Position.
        index: usize,
        /// The token's text.
        token: String,
        /// Why.
        message: String,
    },
    /// A data file cannot be read or does not hold what it should.
    #[error("{path}: {message}")]
    Data {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The score cannot be encoded.
    #[error("cannot encode: {0}")]
    Encode(String),
}
