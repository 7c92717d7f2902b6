//! The Nottingham Music Database as ABC (Jukedeck's cleaned tunebooks,
//! `nottingham_abc_midi/ABC_cleaned/`): 14 `.abc` files holding 1,034 folk
//! tunes, read with [`fugue_score::abc`] into one piece per tune.
//!
//! Every `.abc` file of the folder (not its subfolders) is read, in sorted
//! name order, in parallel; tunes keep their order inside a file. A tune is
//! read leniently, with the reader's defaults (repeats and parts played out,
//! chord symbols as a `Chords` track), and its score is the piece's content
//! ([`Content::Score`]); its `X:` number and title are its [`Meta::AbcTune`].
//! A piece's id is `<file>#X:<n>` (`jigs.abc#X:12`); a second tune with the
//! same number in one file gets `~2`, `~3`... appended, with a warning.
//!
//! A tune with no melody note (what is left of a tune the reader could not
//! make sense of) is skipped with a warning naming the file and its `X:`
//! number; a tune read with warnings is kept, and its first warning is
//! reported. A file the reader rejects as a whole (no tune in it) or that
//! cannot be read is skipped with a warning. Neither aborts the load.
//!
//! There is no upstream split (Boulanger-Lewandowski's split of Nottingham
//! exists only as piano-rolls, see [`crate::boulanger`]): tunes get the
//! 80/10/10 hash split ([`hash_split`]) of their id, so the split depends on
//! the file name and `X:` number only, the same on every machine.

use crate::dataset::{hash_split, sha256, Content, Dataset, Piece};
use crate::error::{DataError, DataWarning};
use crate::metadata::Meta;
use fugue_score::abc::{read_abc, AbcTune, ReadOptions};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Every `.abc` file directly in a folder, in sorted path order.
pub fn list_abc_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let rd = std::fs::read_dir(dir).map_err(DataError::io(dir))?;
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("abc")))
        .collect();
    files.sort();
    Ok(files)
}

/// The id of tune `x` of a tunebook (before de-duplication).
pub fn tune_id(file: &str, x: u32) -> String {
    format!("{file}#X:{x}")
}

/// Whether a tune has a note outside its `Chords` track.
fn has_melody(t: &AbcTune) -> bool {
    t.score
        .tracks
        .iter()
        .any(|tr| tr.name != "Chords" && !tr.notes.is_empty())
}

/// Load the cleaned Nottingham ABC tunebooks from `dir`; see the module docs.
pub fn load_nottingham_abc(dir: &Path, name: &str) -> Result<Dataset, DataError> {
    let expected = "the cleaned Nottingham ABC tunebooks ashover.abc … xmas.abc \
                    (jukedeck/nottingham-dataset, ABC_cleaned/)";
    if !dir.is_dir() {
        return Err(DataError::Missing {
            name: name.into(),
            path: dir.to_path_buf(),
            expected: expected.into(),
        });
    }
    let files = list_abc_files(dir)?;
    if files.is_empty() {
        return Err(DataError::Missing {
            name: name.into(),
            path: dir.to_path_buf(),
            expected: format!("{expected}; found no .abc file"),
        });
    }
    let opts = ReadOptions::default();
    let books: Vec<(String, Result<Vec<AbcTune>, String>)> = files
        .par_iter()
        .map(|p| {
            let file = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let tunes = std::fs::read(p)
                .map_err(|e| e.to_string())
                .and_then(|bytes| read_abc(&bytes, &opts).map_err(|e| e.to_string()));
            (file, tunes)
        })
        .collect();
    let mut pieces = Vec::new();
    let mut warnings = Vec::new();
    for (file, tunes) in books {
        let tunes = match tunes {
            Ok(t) => t,
            Err(message) => {
                warnings.push(DataWarning {
                    path: file,
                    message: format!("skipped: {message}"),
                });
                continue;
            }
        };
        let mut seen: HashMap<u32, usize> = HashMap::new();
        for t in tunes {
            let warn = |message: String| DataWarning {
                path: file.clone(),
                message,
            };
            let first = t.warnings.first().map(|w| w.message.as_str());
            if !has_melody(&t) {
                let why = first
                    .map(|w| format!("; first reader warning: {w}"))
                    .unwrap_or_default();
                warnings.push(warn(format!("skipped: tune X:{} has no melody note{why}", t.x)));
                continue;
            }
            if let Some(w) = first {
                warnings.push(warn(format!(
                    "tune X:{} read with {} warning(s), first: {w}",
                    t.x,
                    t.warnings.len()
                )));
            }
            let n = seen.entry(t.x).or_insert(0);
            *n += 1;
            let mut id = tune_id(&file, t.x);
            if *n > 1 {
                warnings.push(warn(format!(
                    "tune X:{} appears {} times; this one is {id}~{n}",
                    t.x, n
                )));
                id = format!("{id}~{n}");
            }
            pieces.push(Piece {
                split: hash_split(&sha256(id.as_bytes())),
                meta: Meta::AbcTune { x: t.x, title: t.title },
                content: Content::Score(Box::new(t.score)),
                id,
            });
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

    const BOOK: &str = "\
% a small tunebook
X: 1
T:First Reel
M:4/4
L:1/8
K:G
\"G\"GABc dBAG|\"D\"FGAB cAFD:|

X: 2
T:Broken
K:G
&&& ### @@@

X: 3
T:Second Jig
Y:AB
M:6/8
K:D
P:A
|:\"D\"A2d fed|\"A\"cBA \"D\"d3:|
P:B
|:\"G\"B2e \"A\"c2e|\"D\"d3 d3:|
";

    fn book_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("book.abc"), BOOK).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a tunebook").unwrap();
        std::fs::write(dir.path().join("empty.abc"), "no tune here\n").unwrap();
        dir
    }

    #[test]
    fn one_piece_per_tune_a_broken_tune_is_a_warning_and_the_split_is_stable() {
        let dir = book_dir();
        let ds = load_nottingham_abc(dir.path(), "nottingham-abc").unwrap();
        let mut ids: Vec<&str> = ds.pieces.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["book.abc#X:1", "book.abc#X:3"]);
        for p in &ds.pieces {
            assert_eq!(p.split, hash_split(&sha256(p.id.as_bytes())), "{}", p.id);
            let Content::Score(s) = &p.content else {
                panic!("{}: not a score", p.id)
            };
            assert!(s.note_count() > 0 && p.notes() == s.note_count() as u64);
            assert_eq!(p.frames(), None);
            assert_eq!(p.score().unwrap(), **s);
        }
        let third = ds.pieces.iter().find(|p| p.id == "book.abc#X:3").unwrap();
        assert_eq!(
            third.meta,
            Meta::AbcTune {
                x: 3,
                title: Some("Second Jig".into())
            }
        );
        let broken: Vec<&DataWarning> = ds
            .warnings
            .iter()
            .filter(|w| w.message.starts_with("skipped"))
            .collect();
        assert_eq!(broken.len(), 2, "{:?}", ds.warnings);
        assert!(broken.iter().any(|w| w.path == "book.abc" && w.message.contains("X:2")));
        assert!(broken.iter().any(|w| w.path == "empty.abc"));
        // The split depends on file name and X: only: the same in another
        // folder, on another run.
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("book.abc"), BOOK).unwrap();
        let again = load_nottingham_abc(other.path(), "nottingham-abc").unwrap();
        let key = |d: &Dataset| d.pieces.iter().map(|p| (p.id.clone(), p.split)).collect::<Vec<_>>();
        assert_eq!(key(&ds), key(&again));
        // Pieces are ordered train, valid, test.
        assert!(ds.pieces.windows(2).all(|w| w[0].split <= w[1].split));
        assert!(Split::ALL.contains(&ds.pieces[0].split));
    }

    #[test]
    fn a_repeated_tune_number_keeps_both_tunes() {
        let dir = tempfile::tempdir().unwrap();
        let tune = "X: 7\nT:Twice\nK:C\nCDEF GABc|\n\n";
        std::fs::write(dir.path().join("b.abc"), format!("{tune}{tune}")).unwrap();
        let ds = load_nottingham_abc(dir.path(), "nottingham-abc").unwrap();
        let mut ids: Vec<&str> = ds.pieces.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["b.abc#X:7", "b.abc#X:7~2"]);
        assert!(ds.warnings.iter().any(|w| w.message.contains("appears 2 times")));
    }

    #[test]
    fn a_missing_or_empty_folder_is_a_typed_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("ABC_cleaned");
        let e = load_nottingham_abc(&gone, "nottingham-abc").unwrap_err();
        assert!(matches!(e, DataError::Missing { .. }), "{e}");
        assert!(e.to_string().contains(&gone.display().to_string()), "{e}");
        let e = load_nottingham_abc(dir.path(), "nottingham-abc").unwrap_err();
        assert!(
            matches!(e, DataError::Missing { .. }) && e.to_string().contains("no .abc file"),
            "{e}"
        );
    }
}
