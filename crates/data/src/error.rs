//! The one error type of `fugue-data`, and the warning a loader gives for a
//! file it skipped.
//!
//! Loading is lenient the way reading is in `fugue-score`: a corrupt file
//! inside a corpus becomes a [`DataWarning`] and the corpus loads without
//! it. Only what makes the whole dataset unusable (its folder is missing,
//! its split file does not parse) is a [`DataError`].

use std::path::PathBuf;

/// Errors of the data layer.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A dataset's folder or main file is not where the data root says.
    #[error("dataset '{name}' not found: tried {}; expected there: {expected}", path.display())]
    Missing {
        /// The dataset's name.
        name: String,
        /// The path that was tried.
        path: PathBuf,
        /// What should be there.
        expected: String,
    },
    /// A name that is neither a known dataset nor an existing path.
    #[error("unknown dataset '{name}' (known: {known}); a path to a folder of MIDI files also works")]
    Unknown {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file does not hold what it should (and the dataset cannot do without it).
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A prepared folder holds another run and `force` was not given.
    #[error("{}: holds tokens of another scheme, configuration or shard size (use --force to start over)", path.display())]
    OtherRun {
        /// The folder.
        path: PathBuf,
    },
    /// A batching configuration that cannot work.
    #[error("invalid batch configuration: {0}")]
    Config(String),
    /// The token store failed.
    #[error(transparent)]
    Shard(#[from] crate::shards::ShardError),
    /// A tokenizer or chorale file failed.
    #[error(transparent)]
    Token(#[from] fugue_tokens::TokenError),
    /// Reading or writing a score failed.
    #[error(transparent)]
    Score(#[from] fugue_score::ScoreError),
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DataError {
        let path = path.into();
        move |source| DataError::Io { path, source }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> DataError {
        DataError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A file a loader skipped or read with problems, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DataWarning {
    /// The file, relative to the dataset's folder when it is inside it.
    pub path: String,
    /// What was wrong and what the loader did.
    pub message: String,
}
