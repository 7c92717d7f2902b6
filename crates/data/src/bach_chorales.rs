//! Bach's chorales as MusicXML, from music21's corpus
//! (`bach_chorales_musicxml/`: `bwv<cantata>.<movement>.mxl`, two `.xml`):
//! the four-part chorales with their fermatas, key and time signatures,
//! which the JSB piano-rolls and grids do not keep. BachBot trains on this
//! corpus (through music21), so this is the dataset its recipe reads.
//!
//! Every `.mxl`, `.xml` and `.musicxml` file of the folder (not its
//! subfolders: `choraleAnalyses/` holds harmonic analyses, not scores) is
//! read in parallel, in sorted name order, with [`fugue_score::musicxml`]:
//! - **Repeats are not played out** (`expand_repeats: false`): the music as
//!   written, as music21 parses it for BachBot.
//! - **Only four-part SATB scores are kept**: exactly four parts named
//!   Soprano, Alto, Tenor, Bass, in that order (names compared without case
//!   or surrounding spaces). The rest (chorales with instrumental parts:
//!   horns, violins, continuo) are skipped with a warning naming their parts
//!   — a four-voice encoding cannot say which of six parts is the tenor.
//! - A Humdrum `.krn` file is skipped with a warning: the corpus's three are
//!   other encodings of chorales it also has as `.mxl`, and fugue has no
//!   Humdrum reader.
//! - A file the reader rejects is skipped with a warning; one read with
//!   warnings is kept and its first warning reported.
//!
//! A piece's id is its file name (`bwv1.6.mxl`), its content the score
//! ([`Content::Score`]), its metadata none.
//!
//! There is no upstream split (BachBot splits its concatenated token stream
//! 80/10/10): pieces get the 80/10/10 hash split ([`hash_split`]) of their
//! *chorale name*, the file name without extension and without the version
//! suffix that follows a `-` (`bwv248.9-s.mxl` and `bwv248.9-1.mxl` are
//! both `bwv248.9`), so that two versions of one chorale never straddle
//! splits, and the split depends on file names only, the same on every
//! machine.

use crate::dataset::{hash_split, sha256, Content, Dataset, Piece};
use crate::error::{DataError, DataWarning};
use crate::metadata::Meta;
use fugue_score::musicxml::{read_musicxml_file, ReadOptions};
use fugue_score::{Score, Tick};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The part names a kept score has, in order.
pub const SATB_PART_NAMES: [&str; 4] = ["Soprano", "Alto", "Tenor", "Bass"];

/// The extensions read as MusicXML (lower-cased).
pub const MUSICXML_EXTENSIONS: [&str; 3] = ["mxl", "xml", "musicxml"];

/// What a file of the folder is to this loader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    MusicXml,
    Humdrum,
    Other,
}

fn kind(path: &Path) -> Kind {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if MUSICXML_EXTENSIONS.contains(&ext.as_str()) {
        Kind::MusicXml
    } else if ext == "krn" {
        Kind::Humdrum
    } else {
        Kind::Other
    }
}

/// The chorale a file holds a version of: its name without extension and
/// without a `-suffix` (`bwv248.9-s.mxl` → `bwv248.9`); the split key.
pub fn chorale_name(file: &str) -> &str {
    let stem = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or(file);
    stem.split('-').next().unwrap_or(stem)
}

/// Whether a score's parts are exactly Soprano, Alto, Tenor, Bass; else
/// why not, naming the parts.
pub fn check_satb(score: &Score<Tick>) -> Result<(), String> {
    let names: Vec<&str> = score.tracks.iter().map(|t| t.name.trim()).collect();
    let satb = names.len() == 4
        && names
            .iter()
            .zip(SATB_PART_NAMES)
            .all(|(n, want)| n.eq_ignore_ascii_case(want));
    if satb {
        Ok(())
    } else {
        Err(format!(
            "{} part(s) ({}), not four parts {}",
            names.len(),
            names.join(", "),
            SATB_PART_NAMES.join(", ")
        ))
    }
}

/// Load the chorales from the `bach_chorales_musicxml/` folder; see the
/// module docs.
pub fn load_bach_chorales(dir: &Path, name: &str) -> Result<Dataset, DataError> {
    let expected = "music21's Bach chorales as MusicXML, bwv1.6.mxl … bwv438.mxl (music21/corpus/bach)";
    if !dir.is_dir() {
        return Err(DataError::Missing {
            name: name.into(),
            path: dir.to_path_buf(),
            expected: expected.into(),
        });
    }
    let rd = std::fs::read_dir(dir).map_err(DataError::io(dir))?;
    let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    let file_name = |p: &Path| p.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let mut warnings: Vec<DataWarning> = files
        .iter()
        .filter(|p| kind(p) == Kind::Humdrum)
        .map(|p| DataWarning {
            path: file_name(p),
            message: "skipped: a Humdrum file (the corpus's .krn chorales are also there as .mxl)".into(),
        })
        .collect();
    let scores: Vec<PathBuf> = files.into_iter().filter(|p| kind(p) == Kind::MusicXml).collect();
    if scores.is_empty() {
        return Err(DataError::Missing {
            name: name.into(),
            path: dir.to_path_buf(),
            expected: format!("{expected}; found no MusicXML file"),
        });
    }
    let opts = ReadOptions {
        expand_repeats: false,
        chord_track: false,
        ..ReadOptions::default()
    };
    let read: Vec<(String, Result<Piece, String>, Option<String>)> = scores
        .par_iter()
        .map(|p| {
            let file = file_name(p);
            let read = read_musicxml_file(p, &opts).map_err(|e| format!("skipped: {e}"));
            let (piece, note) = match read {
                Err(e) => (Err(e), None),
                Ok(r) => {
                    let note = r
                        .warnings
                        .first()
                        .map(|w| format!("read with {} warning(s), first: {}", r.warnings.len(), w.message));
                    let piece = check_satb(&r.score)
                        .map_err(|why| format!("skipped: {why}"))
                        .map(|()| Piece {
                            split: hash_split(&sha256(chorale_name(&file).as_bytes())),
                            content: Content::Score(Box::new(r.score)),
                            meta: Meta::None,
                            id: file.clone(),
                        });
                    (piece, note)
                }
            };
            (file, piece, note)
        })
        .collect();
    let mut pieces = Vec::with_capacity(read.len());
    for (file, piece, note) in read {
        match piece {
            Ok(p) => {
                if let Some(message) = note {
                    warnings.push(DataWarning { path: file, message });
                }
                pieces.push(p);
            }
            Err(message) => warnings.push(DataWarning { path: file, message }),
        }
    }
    let mut ds = Dataset {
        name: name.into(),
        root: dir.to_path_buf(),
        pieces,
        warnings,
        duplicates: Vec::new(),
    };
    ds.sort_by_split();
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Split;
    use fugue_score::musicxml::{write_musicxml, write_mxl, WriteOptions};
    use fugue_score::{Note, TimeSignature, Track};

    /// A score with one track per name, each holding a bar of quarters.
    fn score(names: &[&str]) -> Score<Tick> {
        let mut s = Score::new(480);
        s.time_signatures.push(TimeSignature::new(0, 4, 4));
        for (v, n) in names.iter().enumerate() {
            let mut t = Track::new(*n, 0, v as u8);
            for i in 0..4 {
                t.notes.push(Note::new(i * 480, 480, 72 - 7 * v as u8, 64));
            }
            s.tracks.push(t);
        }
        s
    }

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let opts = WriteOptions::default();
        let satb = score(&SATB_PART_NAMES);
        std::fs::write(dir.path().join("bwv1.6.mxl"), write_mxl(&satb, &opts).unwrap()).unwrap();
        std::fs::write(dir.path().join("bwv248.9-s.mxl"), write_mxl(&satb, &opts).unwrap()).unwrap();
        std::fs::write(dir.path().join("bwv248.9-1.xml"), write_musicxml(&satb, &opts).unwrap()).unwrap();
        let five = score(&["Horn", "Soprano", "Alto", "Tenor", "Bass"]);
        std::fs::write(dir.path().join("bwv2.6.mxl"), write_mxl(&five, &opts).unwrap()).unwrap();
        std::fs::write(dir.path().join("bwv277.krn"), "**kern\n*-\n").unwrap();
        std::fs::write(dir.path().join("broken.mxl"), "not a score").unwrap();
        std::fs::write(dir.path().join("readme.txt"), "not a score").unwrap();
        std::fs::create_dir(dir.path().join("choraleAnalyses")).unwrap();
        dir
    }

    #[test]
    fn satb_scores_are_kept_the_rest_skipped_with_a_reason() {
        let dir = folder();
        let ds = load_bach_chorales(dir.path(), "bach-chorales").unwrap();
        let mut ids: Vec<&str> = ds.pieces.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["bwv1.6.mxl", "bwv248.9-1.xml", "bwv248.9-s.mxl"]);
        for p in &ds.pieces {
            let s = p.score().unwrap();
            assert_eq!(s.tracks.len(), 4);
            assert_eq!(s.note_count(), 16, "{}", p.id);
            assert_eq!(s.time_signatures.len(), 1);
        }
        let skipped: Vec<(&str, &str)> = ds
            .warnings
            .iter()
            .filter(|w| w.message.starts_with("skipped"))
            .map(|w| (w.path.as_str(), w.message.as_str()))
            .collect();
        assert_eq!(skipped.len(), 3, "{:?}", ds.warnings);
        assert!(skipped
            .iter()
            .any(|(p, m)| *p == "bwv2.6.mxl" && m.contains("5 part(s) (Horn, Soprano")));
        assert!(skipped.iter().any(|(p, m)| *p == "bwv277.krn" && m.contains("Humdrum")));
        assert!(skipped.iter().any(|(p, _)| *p == "broken.mxl"));
    }

    #[test]
    fn versions_of_one_chorale_share_a_split_and_the_split_is_stable() {
        assert_eq!(chorale_name("bwv248.9-s.mxl"), "bwv248.9");
        assert_eq!(chorale_name("bwv248.35-3c.mxl"), "bwv248.35");
        assert_eq!(chorale_name("bwv67.4.xml"), "bwv67.4");
        assert_eq!(chorale_name("bwv145-a.mxl"), "bwv145");
        let dir = folder();
        let ds = load_bach_chorales(dir.path(), "bach-chorales").unwrap();
        let split = |id: &str| ds.pieces.iter().find(|p| p.id == id).unwrap().split;
        assert_eq!(split("bwv248.9-s.mxl"), split("bwv248.9-1.xml"));
        for p in &ds.pieces {
            assert_eq!(p.split, hash_split(&sha256(chorale_name(&p.id).as_bytes())));
        }
        assert!(ds.pieces.windows(2).all(|w| w[0].split <= w[1].split));
        assert!(Split::ALL.contains(&ds.pieces[0].split));
    }

    #[test]
    fn a_missing_or_empty_folder_is_a_typed_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("bach_chorales_musicxml");
        let e = load_bach_chorales(&gone, "bach-chorales").unwrap_err();
        assert!(matches!(e, DataError::Missing { .. }), "{e}");
        assert!(e.to_string().contains(&gone.display().to_string()), "{e}");
        let e = load_bach_chorales(dir.path(), "bach-chorales").unwrap_err();
        assert!(e.to_string().contains("no MusicXML file"), "{e}");
    }
}
