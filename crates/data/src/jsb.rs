//! JSB Chorales at a fixed step (`jsb-16th`): Coconet's SATB set
//! (`Jsb16thSeparated.json`, four voices per 16th, read by fugue-tokens'
//! chorale loader) or czhuang's piano-rolls at a quarter, an 8th or a 16th
//! (`jsb-chorales-{quarter,8th,16th}.json`). All have the 229 / 76 / 77 split.
//!
//! The forms are not interchangeable: the quarter file is Boulanger's
//! (transposed) encoding, the 8th and 16th files are in the original keys,
//! and the 16th roll file lists the same pieces as `Jsb16thSeparated.json`
//! in another order. Never mix forms in one experiment.

use crate::boulanger::load_roll_splits;
use crate::dataset::{Content, Dataset, Piece, Split};
use crate::error::DataError;
use crate::metadata::Meta;
use fugue_tokens::chorale::load_jsb16th_separated;
use std::path::Path;

/// Which JSB form to load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JsbForm {
    /// Coconet's SATB grids on 16ths (`Jsb16thSeparated.json`); the default.
    #[default]
    Satb,
    /// Piano-roll, a frame per 16th.
    Sixteenth,
    /// Piano-roll, a frame per 8th.
    Eighth,
    /// Piano-roll, a frame per quarter.
    Quarter,
}

impl JsbForm {
    /// The file inside `jsb_chorales_coconet/`.
    pub fn file(self) -> &'static str {
        match self {
            JsbForm::Satb => "Jsb16thSeparated.json",
            JsbForm::Sixteenth => "jsb-chorales-16th.json",
            JsbForm::Eighth => "jsb-chorales-8th.json",
            JsbForm::Quarter => "jsb-chorales-quarter.json",
        }
    }

    /// Read `satb`, `16th`, `8th`, `quarter`.
    pub fn parse(s: &str) -> Option<JsbForm> {
        match s {
            "satb" => Some(JsbForm::Satb),
            "16th" => Some(JsbForm::Sixteenth),
            "8th" => Some(JsbForm::Eighth),
            "quarter" => Some(JsbForm::Quarter),
            _ => None,
        }
    }
}

/// Load JSB in one form from the `jsb_chorales_coconet/` folder.
pub fn load_jsb(dir: &Path, form: JsbForm, name: &str) -> Result<Dataset, DataError> {
    let path = dir.join(form.file());
    if !path.is_file() {
        return Err(DataError::Missing {
            name: name.into(),
            path,
            expected: format!("{} (czhuang/JSB-Chorales-dataset)", form.file()),
        });
    }
    let pieces = match form {
        JsbForm::Satb => {
            let s = load_jsb16th_separated(&path)?;
            let mut pieces = Vec::with_capacity(s.train.len() + s.valid.len() + s.test.len());
            for (split, list) in [(Split::Train, s.train), (Split::Valid, s.valid), (Split::Test, s.test)] {
                pieces.extend(list.into_iter().enumerate().map(|(i, g)| Piece {
                    id: format!("{}/{i}", split.name()),
                    split,
                    content: Content::Grid(g),
                    meta: Meta::None,
                }));
            }
            pieces
        }
        JsbForm::Sixteenth => load_roll_splits(&path, Some(4))?,
        JsbForm::Eighth => load_roll_splits(&path, Some(2))?,
        JsbForm::Quarter => load_roll_splits(&path, Some(1))?,
    };
    Ok(Dataset {
        name: name.into(),
        root: path,
        pieces,
        ..Dataset::default()
    })
}
