//! The crate's error and warning types.
//!
//! Every error names the file (when there is one) and the place inside it:
//! for MIDI the track and the byte offset from the start of the file, for
//! MusicXML the element, part, measure and line, for ABC the tune (`X:`),
//! line and column. Reading is
//! lenient: problems that leave a usable score are [`Warning`]s, returned next
//! to the score; `strict` reading turns the first warning into an error.

use std::fmt;
use std::path::PathBuf;

/// Where in a file something happened.
///
/// For MIDI: the track chunk and the byte offset from the start of the file.
/// For MusicXML: the part (0-based, in document order) and the byte offset
/// in the XML text (of the root file, for a compressed `.mxl`); the warning's
/// message names the part, measure and element in words.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize)]
pub struct Location {
    /// The MIDI track chunk or MusicXML part (0-based), when inside one.
    pub track: Option<usize>,
    /// The byte offset from the start of the file (MIDI) or XML text (MusicXML).
    pub offset: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.track {
            Some(t) => write!(f, "track {t}, byte offset {}", self.offset),
            None => write!(f, "byte offset {}", self.offset),
        }
    }
}

/// A problem the reader worked around.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    /// Where it happened.
    pub at: Location,
    /// What happened and what the reader did about it.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Errors of the score crate.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// The bytes are not a MIDI file we can read at all.
    #[error("{}: not a readable MIDI file at {at}: {message}", display_path(path))]
    Midi {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// Where the reader stopped.
        at: Location,
        /// What was wrong.
        message: String,
    },
    /// The bytes are not a MusicXML score we can read (broken XML, a zip
    /// archive without a score, a duration with no `<divisions>`...).
    #[error("{}: not a readable MusicXML file at {element}: {message}", display_path(path))]
    MusicXml {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// The element where reading stopped, with its place (part, measure,
        /// line), e.g. `part P1 (Soprano), measure 3, <note> (line 120)`.
        element: String,
        /// What was wrong.
        message: String,
    },
    /// The text holds no ABC tune we can read.
    #[error("{}: not a readable ABC file: {message}", display_path(path))]
    Abc {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// What was wrong.
        message: String,
    },
    /// Strict reading met a problem that lenient reading would have worked around.
    #[error("{}: {warning} (strict mode)", display_path(path))]
    Strict {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// The problem.
        warning: Warning,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The destination exists and overwriting was not allowed.
    #[error("{}: already exists (use --force to overwrite)", path.display())]
    Exists {
        /// The file that was not overwritten.
        path: PathBuf,
    },
    /// A score cannot be written because a value does not fit the format.
    #[error("cannot write {what}: {message}")]
    Unwritable {
        /// The part of the score (e.g. `track 2 note 17`).
        what: String,
        /// Why.
        message: String,
    },
    /// A transform's argument is out of range or would make the score invalid.
    #[error("invalid {what}: {message}")]
    Invalid {
        /// The argument or element.
        what: String,
        /// Why.
        message: String,
    },
}

fn display_path(p: &Option<PathBuf>) -> String {
    match p {
        Some(p) => p.display().to_string(),
        None => "<memory>".to_string(),
    }
}

impl ScoreError {
    /// Attach a file path to an error produced from bytes.
    pub fn with_path(self, file: impl Into<PathBuf>) -> Self {
        let file = file.into();
        match self {
            ScoreError::Midi { at, message, .. } => ScoreError::Midi {
                path: Some(file),
                at,
                message,
            },
            ScoreError::MusicXml { element, message, .. } => ScoreError::MusicXml {
                path: Some(file),
                element,
                message,
            },
            ScoreError::Abc { message, .. } => ScoreError::Abc {
                path: Some(file),
                message,
            },
            ScoreError::Strict { warning, .. } => ScoreError::Strict {
                path: Some(file),
                warning,
            },
            other => other,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = ScoreError> = std::result::Result<T, E>;
