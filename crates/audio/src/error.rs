//! The crate's error type.
//!
//! Every error that comes from a file names it. A SoundFont that cannot be
//! parsed, a WAV file that cannot be read, an out-of-range sample rate or a
//! score too long to hold in memory are errors, never panics.

use std::path::PathBuf;

/// Errors of the audio crate.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
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
    /// The bytes are not a SoundFont the synthesizer can use.
    #[error("{}: not a usable SoundFont: {message}", path.display())]
    SoundFont {
        /// The SoundFont file (or the name given to in-memory bytes).
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A WAV file could not be encoded or decoded.
    #[error("{}: WAV: {source}", path.display())]
    Wav {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// The underlying error.
        source: hound::Error,
    },
    /// The requested sample rate is outside what the synthesizer supports.
    #[error("sample rate {rate} Hz is out of range ({min}..={max} Hz for the {synth})")]
    SampleRate {
        /// The rate asked for.
        rate: u32,
        /// The lowest supported rate.
        min: u32,
        /// The highest supported rate.
        max: u32,
        /// Which synthesizer.
        synth: &'static str,
    },
    /// The score would give more audio than the configured limit.
    #[error("the score lasts {seconds:.1} s, over the rendering limit of {limit:.1} s (RenderOptions::max_duration)")]
    TooLong {
        /// The score's length.
        seconds: f64,
        /// The limit.
        limit: f64,
    },
    /// Audio with a shape the operation cannot handle (e.g. zero channels).
    #[error("invalid audio: {0}")]
    InvalidAudio(String),
}

impl AudioError {
    /// Turn a `fugue-score` write error (atomic, no-clobber write) into ours.
    pub(crate) fn from_write(e: fugue_score::ScoreError, path: &std::path::Path) -> Self {
        match e {
            fugue_score::ScoreError::Exists { path } => AudioError::Exists { path },
            fugue_score::ScoreError::Io { path, source } => AudioError::Io { path, source },
            other => AudioError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}

/// The crate's result type.
pub type Result<T, E = AudioError> = std::result::Result<T, E>;
