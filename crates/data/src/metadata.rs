//! What corpora say about their pieces beyond the notes: JS Fakes' listening
//! test, POP909's beat / chord / key annotations, MAESTRO's metadata row, an
//! ABC tune's number and title.
//! Plain data, kept with the piece so that conditioning models and
//! evaluations can use it without going back to the files.

use serde::Serialize;

/// A time in seconds from the start of the audio or MIDI file (POP909's
/// annotations are in seconds, not ticks).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Seconds(pub f64);

/// A piece's metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub enum Meta {
    /// Nothing beyond the music.
    #[default]
    None,
    /// JS Fakes: the listening-test rows of this chorale.
    ListeningTest(Vec<ListeningRow>),
    /// POP909: the song's annotations.
    Pop909(Box<Pop909Annotations>),
    /// A MAESTRO performance: its row of the MAESTRO CSV.
    Maestro(MaestroRow),
    /// A tune of an ABC tunebook: its `X:` number and first `T:` title.
    AbcTune {
        /// The `X:` reference number (0 when the reader could not read it).
        x: u32,
        /// The title, when the tune has one.
        title: Option<String>,
    },
}

/// One row of `js-fakes-listening-test.csv`: how listeners of one skill
/// level judged one chorale.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ListeningRow {
    /// `skill_0` .. `skill_5`, or `total`.
    pub skill_level: String,
    /// Answers.
    pub responses: f64,
    /// Answers that identified the chorale as machine-made.
    pub correct: f64,
    /// Mean number of plays.
    pub ave_plays: f64,
    /// Mean listening time.
    pub ave_time: Seconds,
}

/// A time span with a label (a chord or a key).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Segment {
    /// Start.
    pub start: Seconds,
    /// End.
    pub end: Seconds,
    /// Harte-style label (`B:maj7`, `Gb:maj`; `N` = none).
    pub label: String,
}

/// One row of `beat_midi.txt`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MidiBeat {
    /// When.
    pub time: Seconds,
    /// The second column (upstream: marks every other beat row; its meaning
    /// is not documented upstream, so it is kept as is).
    pub flag: bool,
    /// The third column: a downbeat.
    pub downbeat: bool,
}

/// One row of `beat_audio.txt`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioBeat {
    /// When.
    pub time: Seconds,
    /// The beat's position in its bar, from 1.
    pub beat_in_bar: u32,
}

/// POP909's annotations of one song (each list empty when its file is absent).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Pop909Annotations {
    /// `beat_midi.txt`.
    pub beats_midi: Vec<MidiBeat>,
    /// `beat_audio.txt`.
    pub beats_audio: Vec<AudioBeat>,
    /// `chord_midi.txt`.
    pub chords_midi: Vec<Segment>,
    /// `chord_audio.txt`.
    pub chords_audio: Vec<Segment>,
    /// `key_audio.txt`.
    pub keys: Vec<Segment>,
    /// The song's row of `index.csv` (name, artist, ...), as columns.
    pub index: Vec<(String, String)>,
}

/// One row of a MAESTRO metadata CSV.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MaestroRow {
    /// `canonical_composer`.
    pub composer: String,
    /// `canonical_title`.
    pub title: String,
    /// `split` as written (`train`, `validation`, `test`).
    pub split: String,
    /// `year`.
    pub year: String,
    /// `midi_filename`.
    pub midi_filename: String,
    /// `duration`.
    pub duration: Seconds,
}
