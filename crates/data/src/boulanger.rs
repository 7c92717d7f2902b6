//! The four polyphonic benchmarks of Boulanger-Lewandowski et al. (ICML
//! 2012): JSB Chorales, Nottingham, MuseData and Piano-midi.de, as binary
//! piano-rolls with their original train / valid / test split.
//!
//! Read from the JSON files of `boulanger2012/` (converted from the TCN
//! repository's `.mat` copies of the original pickles; same layout:
//! `{"train": [piece], "valid": [...], "test": [...]}`, a piece a list of
//! frames, a frame the list of sounding MIDI pitches). The pieces keep the
//! file's order, so an index means the same piece as in the papers' code.
//! JSB frames are quarter notes; the frame length of the other three is
//! not stated by the data and is left unknown ([`Roll::steps_per_quarter`]).

use crate::dataset::{Content, Dataset, Piece, Roll, Split};
use crate::error::DataError;
use crate::metadata::Meta;
use serde::Deserialize;
use std::path::Path;

/// One of the four benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Benchmark {
    /// JSB Chorales (229 / 76 / 77 pieces).
    Jsb,
    /// Nottingham (694 / 173 / 170).
    Nottingham,
    /// MuseData (524 / 135 / 124).
    MuseData,
    /// Piano-midi.de (87 / 12 / 25).
    PianoMidi,
}

impl Benchmark {
    /// The JSON file inside `boulanger2012/`.
    pub fn file(self) -> &'static str {
        match self {
            Benchmark::Jsb => "jsb_chorales.json",
            Benchmark::Nottingham => "nottingham.json",
            Benchmark::MuseData => "musedata.json",
            Benchmark::PianoMidi => "piano_midi_de.json",
        }
    }

    /// Frames per quarter, where known.
    pub fn steps_per_quarter(self) -> Option<u32> {
        match self {
            Benchmark::Jsb => Some(1),
            _ => None,
        }
    }
}

/// Pitches are read as numbers: czhuang's JSB files write some as floats
/// (`73.0`); a pitch must still be a whole number in 0..=127.
#[derive(Deserialize)]
struct SplitFile {
    train: Vec<Vec<Vec<f64>>>,
    valid: Vec<Vec<Vec<f64>>>,
    test: Vec<Vec<Vec<f64>>>,
}

/// Read a split file of frames (`{"train": [[[pitch]]], ...}`), the layout
/// the Boulanger-Lewandowski and czhuang JSB files share.
pub(crate) fn load_roll_splits(path: &Path, steps_per_quarter: Option<u32>) -> Result<Vec<Piece>, DataError> {
    let text = std::fs::read_to_string(path).map_err(DataError::io(path))?;
    let f: SplitFile = serde_json::from_str(&text)
        .map_err(|e| DataError::invalid(path, format!("not a {{train, valid, test}} file of frames: {e}")))?;
    let mut pieces = Vec::with_capacity(f.train.len() + f.valid.len() + f.test.len());
    for (split, list) in [(Split::Train, f.train), (Split::Valid, f.valid), (Split::Test, f.test)] {
        for (i, frames) in list.into_iter().enumerate() {
            let frames = frames
                .into_iter()
                .map(|f| {
                    f.into_iter()
                        .map(|p| {
                            (p.fract() == 0.0 && (0.0..=127.0).contains(&p))
                                .then_some(p as u8)
                                .ok_or_else(|| {
                                    DataError::invalid(
                                        path,
                                        format!("{} piece {i}: pitch {p} is not a MIDI note number", split.name()),
                                    )
                                })
                        })
                        .collect::<Result<Vec<u8>, DataError>>()
                })
                .collect::<Result<Vec<_>, DataError>>()?;
            pieces.push(Piece {
                id: format!("{}/{i}", split.name()),
                split,
                content: Content::Roll(Roll::new(frames, steps_per_quarter)),
                meta: Meta::None,
            });
        }
    }
    Ok(pieces)
}

/// Load one benchmark from the `boulanger2012/` folder.
pub fn load_boulanger(dir: &Path, which: Benchmark, name: &str) -> Result<Dataset, DataError> {
    let path = dir.join(which.file());
    if !path.is_file() {
        return Err(DataError::Missing {
            name: name.into(),
            path,
            expected: format!(
                "{} (Boulanger-Lewandowski 2012 piano-rolls as JSON: {{\"train\", \"valid\", \"test\"}})",
                which.file()
            ),
        });
    }
    Ok(Dataset {
        name: name.into(),
        root: path.clone(),
        pieces: load_roll_splits(&path, which.steps_per_quarter())?,
        ..Dataset::default()
    })
}
