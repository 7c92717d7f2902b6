//! The dataset names fugue knows, where each lives under the data root, and
//! one [`load`] that dispatches to the loaders.
//!
//! The data root is, in order: the folder given explicitly (`--data-root`),
//! else `$FUGUE_DATA`, else `../shared/data` relative to the current folder
//! ([`resolve_root`]). A name that is not known but is an existing folder is
//! loaded as a MIDI folder ([`crate::midi_folder`]).
//!
//! Adding a dataset is one [`Known`] variant with its name, folder and
//! expectation, and one match arm in [`load`].

use crate::bach_chorales::load_bach_chorales;
use crate::boulanger::{load_boulanger, Benchmark};
use crate::dataset::Dataset;
use crate::error::DataError;
use crate::js_fakes::load_js_fakes;
use crate::jsb::{load_jsb, JsbForm};
use crate::midi_folder::load_midi_folder;
use crate::nottingham_abc::load_nottingham_abc;
use crate::piano::load_piano;
use crate::pop909::load_pop909;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The environment variable naming the data root.
pub const DATA_ENV: &str = "FUGUE_DATA";
/// The data root when neither a folder nor the variable is given, relative to
/// the current folder.
pub const DEFAULT_ROOT: &str = "../shared/data";

/// The data root: `explicit`, else the environment value, else [`DEFAULT_ROOT`].
pub fn resolve_root(explicit: Option<&Path>, env: Option<&OsStr>) -> PathBuf {
    match (explicit, env) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(v)) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_ROOT),
    }
}

/// A dataset fugue knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Known {
    /// Boulanger-Lewandowski's JSB Chorales piano-rolls.
    Jsb,
    /// Boulanger-Lewandowski's Nottingham piano-rolls.
    Nottingham,
    /// Boulanger-Lewandowski's MuseData piano-rolls.
    MuseData,
    /// Boulanger-Lewandowski's Piano-midi.de piano-rolls.
    PianoMidi,
    /// JSB at 16ths: Coconet's SATB grids (or czhuang's rolls at a chosen step).
    Jsb16th,
    /// JS Fake Chorales, MIDI + listening test.
    JsFakes,
    /// POP909, MIDI + beat / chord / key annotations.
    Pop909,
    /// The piano performance set (MAESTRO, GiantMIDI-Piano, sequenced).
    Piano,
    /// The Nottingham Music Database as ABC (Jukedeck's cleaned tunebooks),
    /// one piece per tune.
    NottinghamAbc,
    /// Bach's four-part chorales as MusicXML (music21's corpus), with
    /// fermatas, keys and meters: BachBot's corpus.
    BachChorales,
}

impl Known {
    /// Every known name.
    pub const ALL: [Known; 10] = [
        Known::Jsb,
        Known::Nottingham,
        Known::MuseData,
        Known::PianoMidi,
        Known::Jsb16th,
        Known::JsFakes,
        Known::Pop909,
        Known::Piano,
        Known::NottinghamAbc,
        Known::BachChorales,
    ];

    /// The name users type.
    pub fn name(self) -> &'static str {
        match self {
            Known::Jsb => "jsb",
            Known::Nottingham => "nottingham",
            Known::MuseData => "musedata",
            Known::PianoMidi => "piano-midi",
            Known::Jsb16th => "jsb-16th",
            Known::JsFakes => "js-fakes",
            Known::Pop909 => "pop909",
            Known::Piano => "piano",
            Known::NottinghamAbc => "nottingham-abc",
            Known::BachChorales => "bach-chorales",
        }
    }

    /// A name's dataset.
    pub fn parse(name: &str) -> Option<Known> {
        Known::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether its loader exists (every known dataset's does).
    pub fn is_available(self) -> bool {
        true
    }

    /// The datasets `fugue data list` shows: those with a loader.
    pub fn listed() -> impl Iterator<Item = Known> {
        Known::ALL.into_iter().filter(|k| k.is_available())
    }

    /// What it is, in a line.
    pub fn description(self) -> &'static str {
        match self {
            Known::Jsb => "JSB Chorales piano-rolls, quarter frames (Boulanger-Lewandowski 2012), 229/76/77",
            Known::Nottingham => "Nottingham piano-rolls (Boulanger-Lewandowski 2012), 694/173/170",
            Known::MuseData => "MuseData piano-rolls (Boulanger-Lewandowski 2012), 524/135/124",
            Known::PianoMidi => "Piano-midi.de piano-rolls (Boulanger-Lewandowski 2012), 87/12/25",
            Known::Jsb16th => "JSB Chorales SATB on 16ths (Coconet), 229/76/77; rolls at 16th/8th/quarter",
            Known::JsFakes => "JS Fake Chorales MIDI + listening test (hash split)",
            Known::Pop909 => "POP909 MIDI + beat/chord/key annotations (hash split)",
            Known::Piano => "piano performances: MAESTRO/GiantMIDI/sequenced (MAESTRO split, else hash)",
            Known::NottinghamAbc => "Nottingham ABC tunebooks (cleaned), one piece per tune (hash split)",
            Known::BachChorales => {
                "Bach chorales as MusicXML (music21), SATB scores with fermatas, keys, meters (hash split)"
            }
        }
    }

    /// The folder or file it is read from, relative to the data root.
    pub fn relative_path(self) -> &'static str {
        match self {
            Known::Jsb => "boulanger2012/jsb_chorales.json",
            Known::Nottingham => "boulanger2012/nottingham.json",
            Known::MuseData => "boulanger2012/musedata.json",
            Known::PianoMidi => "boulanger2012/piano_midi_de.json",
            Known::Jsb16th => "jsb_chorales_coconet",
            Known::JsFakes => "js_fakes",
            Known::Pop909 => "pop909",
            Known::Piano => "piano_performance_giantmidi_eval",
            Known::NottinghamAbc => "nottingham_abc_midi/ABC_cleaned",
            Known::BachChorales => "bach_chorales_musicxml",
        }
    }

    /// Where it should be under a data root.
    pub fn path(self, root: &Path) -> PathBuf {
        root.join(self.relative_path())
    }

    /// Whether it is there.
    pub fn found(self, root: &Path) -> bool {
        self.path(root).exists()
    }
}

/// What to load: a known dataset or a folder of MIDI files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatasetRef {
    /// A known name.
    Known(Known),
    /// A folder of MIDI files.
    Folder(PathBuf),
}

impl DatasetRef {
    /// A known name, else an existing folder, else [`DataError::Unknown`].
    pub fn parse(name: &str) -> Result<DatasetRef, DataError> {
        if let Some(k) = Known::parse(name) {
            return Ok(DatasetRef::Known(k));
        }
        let p = Path::new(name);
        if p.is_dir() {
            return Ok(DatasetRef::Folder(p.to_path_buf()));
        }
        Err(DataError::Unknown {
            name: name.into(),
            known: Known::listed().map(Known::name).collect::<Vec<_>>().join(", "),
        })
    }

    /// The name to show.
    pub fn name(&self) -> String {
        match self {
            DatasetRef::Known(k) => k.name().into(),
            DatasetRef::Folder(p) => p.display().to_string(),
        }
    }
}

/// Choices some loaders take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// The JSB form of `jsb-16th` (default: Coconet's SATB grids).
    pub jsb_form: JsbForm,
}

/// Load a dataset; see the module docs.
pub fn load(what: &DatasetRef, root: &Path, opts: &LoadOptions) -> Result<Dataset, DataError> {
    let k = match what {
        DatasetRef::Folder(p) => return load_midi_folder(p),
        DatasetRef::Known(k) => *k,
    };
    let name = k.name();
    let boulanger = |b: Benchmark| load_boulanger(&root.join("boulanger2012"), b, name);
    match k {
        Known::Jsb => boulanger(Benchmark::Jsb),
        Known::Nottingham => boulanger(Benchmark::Nottingham),
        Known::MuseData => boulanger(Benchmark::MuseData),
        Known::PianoMidi => boulanger(Benchmark::PianoMidi),
        Known::Jsb16th => load_jsb(&k.path(root), opts.jsb_form, name),
        Known::JsFakes => load_js_fakes(&k.path(root), name),
        Known::Pop909 => load_pop909(&k.path(root), name),
        Known::Piano => load_piano(&k.path(root), name),
        Known::NottinghamAbc => load_nottingham_abc(&k.path(root), name),
        Known::BachChorales => load_bach_chorales(&k.path(root), name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_order_is_flag_then_env_then_default() {
        let env = OsStr::new("/env");
        assert_eq!(
            resolve_root(Some(Path::new("/flag")), Some(env)),
            PathBuf::from("/flag")
        );
        assert_eq!(resolve_root(None, Some(env)), PathBuf::from("/env"));
        assert_eq!(resolve_root(None, None), PathBuf::from("../shared/data"));
        assert_eq!(
            resolve_root(None, Some(OsStr::new(""))),
            PathBuf::from("../shared/data")
        );
    }

    #[test]
    fn names_round_trip_every_known_name_is_listed_and_unknown_names_fail() {
        for k in Known::ALL {
            assert_eq!(Known::parse(k.name()), Some(k));
            assert_eq!(DatasetRef::parse(k.name()).unwrap(), DatasetRef::Known(k));
        }
        assert_eq!(Known::listed().collect::<Vec<_>>(), Known::ALL);
        assert!(Known::listed().any(|k| k == Known::NottinghamAbc));
        assert!(matches!(
            DatasetRef::parse("no-such-dataset-xyz"),
            Err(DataError::Unknown { .. })
        ));
    }

    #[test]
    fn a_missing_folder_names_the_path_and_what_was_expected() {
        let dir = tempfile::tempdir().unwrap();
        for k in Known::listed() {
            let e = load(&DatasetRef::Known(k), dir.path(), &LoadOptions::default()).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, DataError::Missing { .. }), "{k:?}: {text}");
            assert!(
                text.contains(&dir.path().display().to_string()) && text.contains("expected"),
                "{text}"
            );
        }
    }
}
