//! JS Fake Chorales (Peracha 2021): 500 annotated chorales (`midi/N.mid`)
//! and 700 community ones (`jsf-extended/`), four voices each, with the
//! listening test (`metadata/js-fakes-listening-test.csv`: per chorale and
//! listener skill level, answers and how many took it for machine-made)
//! attached to the annotated pieces as [`Meta::ListeningTest`].
//!
//! There is no upstream split: pieces get the 80/10/10 hash split of their
//! bytes. A listening-test row that does not parse is a warning, not an error.

use crate::dataset::{Content, Dataset, Piece};
use crate::error::{DataError, DataWarning};
use crate::metadata::{ListeningRow, Meta, Seconds};
use crate::midi_folder::{default_split, list_midi_files, scan};
use std::collections::HashMap;
use std::path::Path;

/// The listening-test table, relative to the dataset folder.
pub const LISTENING_TEST: &str = "metadata/js-fakes-listening-test.csv";

/// Listening-test rows by `midi_path`.
pub type ListeningTable = HashMap<String, Vec<ListeningRow>>;

/// Read the listening-test CSV: rows per `midi_path`, and the rows skipped.
pub fn load_listening_test(path: &Path) -> Result<(ListeningTable, Vec<DataWarning>), DataError> {
    let mut rd = csv::Reader::from_path(path).map_err(|e| DataError::invalid(path, e.to_string()))?;
    let headers = rd
        .headers()
        .map_err(|e| DataError::invalid(path, e.to_string()))?
        .clone();
    let want = [
        "midi_path",
        "skill_level",
        "responses",
        "correct",
        "ave_plays",
        "ave_time_s",
    ];
    let cols = want
        .iter()
        .map(|w| {
            headers
                .iter()
                .position(|h| h == *w)
                .ok_or_else(|| DataError::invalid(path, format!("no '{w}' column")))
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let mut rows = ListeningTable::new();
    let mut warnings = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let parsed = rec.map_err(|e| e.to_string()).and_then(|rec| {
            let text = |k: usize| rec.get(cols[k]).unwrap_or("").to_string();
            let num = |k: usize| {
                rec.get(cols[k])
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .ok_or_else(|| format!("column {} is not a number", want[k]))
            };
            Ok((
                text(0),
                ListeningRow {
                    skill_level: text(1),
                    responses: num(2)?,
                    correct: num(3)?,
                    ave_plays: num(4)?,
                    ave_time: Seconds(num(5)?),
                },
            ))
        });
        match parsed {
            Ok((midi, row)) => rows.entry(midi).or_default().push(row),
            Err(message) => warnings.push(DataWarning {
                path: format!("{LISTENING_TEST}:{}", i + 2),
                message: format!("row skipped: {message}"),
            }),
        }
    }
    Ok((rows, warnings))
}

/// Load JS Fakes from the `js_fakes/` folder.
pub fn load_js_fakes(dir: &Path, name: &str) -> Result<Dataset, DataError> {
    let midi = dir.join("midi");
    if !midi.is_dir() {
        return Err(DataError::Missing {
            name: name.into(),
            path: midi,
            expected: "midi/0.mid … midi/499.mid (omarperacha/js-fakes), optionally jsf-extended/ and metadata/".into(),
        });
    }
    let mut files = list_midi_files(&midi)?;
    let extended = dir.join("jsf-extended");
    if extended.is_dir() {
        files.extend(list_midi_files(&extended)?);
    }
    let scan = scan(dir, &files);
    let mut warnings = scan.warnings;
    let csv = dir.join(LISTENING_TEST);
    let mut table = if csv.is_file() {
        let (rows, w) = load_listening_test(&csv)?;
        warnings.extend(w);
        rows
    } else {
        warnings.push(DataWarning {
            path: LISTENING_TEST.into(),
            message: "absent: pieces have no listening-test metadata".into(),
        });
        HashMap::new()
    };
    let pieces = scan
        .files
        .into_iter()
        .map(|s| Piece {
            split: default_split(&s),
            meta: table.remove(&s.rel).map(Meta::ListeningTest).unwrap_or_default(),
            id: s.rel,
            content: Content::Midi(s.midi),
        })
        .collect();
    let mut ds = Dataset {
        name: name.into(),
        root: dir.to_path_buf(),
        pieces,
        warnings,
        duplicates: scan.duplicates,
    };
    ds.sort_by_split();
    Ok(ds)
}
