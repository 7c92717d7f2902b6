//! Any folder of MIDI files as a dataset (Lakh, MetaMIDI, GiantMIDI,
//! MAESTRO-style trees), and the scanning the MIDI corpora share.
//!
//! Every `.mid`, `.midi`, `.rmi` and `.kar` file under the folder (recursively,
//! in sorted path order) is read once, in parallel: its bytes are hashed
//! (SHA-256) and parsed leniently to check it and count its notes; only the
//! path, digest and count are kept, so a corpus larger than memory can be
//! listed. A file the reader rejects is a warning and is skipped. Files with
//! identical bytes are kept once, the first in path order (Lakh alone holds
//! thousands of byte-identical copies). The split is MAESTRO's when the folder
//! holds a `maestro-v*.csv` that names the file (see [`crate::maestro`]), else
//! the 80/10/10 hash split of the file's bytes ([`crate::dataset::hash_split`]).

use crate::dataset::{hash_split, hex, sha256, Content, Dataset, MidiRef, Piece, Split};
use crate::error::{DataError, DataWarning};
use crate::maestro::MaestroIndex;
use crate::metadata::Meta;
use fugue_score::midi::{read_midi, ReadOptions};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The extensions read as MIDI (lower-cased).
pub const MIDI_EXTENSIONS: [&str; 4] = ["mid", "midi", "rmi", "kar"];

/// Whether a path has a MIDI extension.
pub fn is_midi(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| MIDI_EXTENSIONS.contains(&e.to_string_lossy().to_ascii_lowercase().as_str()))
}

/// Every MIDI file under a folder, recursively, in sorted path order.
pub fn list_midi_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut out = Vec::new();
    walk(dir, &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
    let rd = std::fs::read_dir(dir).map_err(DataError::io(dir))?;
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if is_midi(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// A path relative to a folder, with `/` separators.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// One checked MIDI file.
pub(crate) struct Scanned {
    pub rel: String,
    pub digest: [u8; 32],
    pub midi: MidiRef,
}

/// What scanning found: files (duplicates removed), warnings, duplicates.
pub(crate) struct Scan {
    pub files: Vec<Scanned>,
    pub warnings: Vec<DataWarning>,
    pub duplicates: Vec<(String, String)>,
}

/// A scanned file with the reader's note about it, or why it was skipped.
type Scanning = Result<(Scanned, Option<String>), String>;

/// Read, hash and check files in parallel; drop unreadable files (with a
/// warning) and byte-identical duplicates (keeping the first).
pub(crate) fn scan(root: &Path, files: &[PathBuf]) -> Scan {
    let results: Vec<(String, Scanning)> = files
        .par_iter()
        .map(|p| {
            let rel = relative(root, p);
            let r = std::fs::read(p).map_err(|e| e.to_string()).and_then(|bytes| {
                let digest = sha256(&bytes);
                let read = read_midi(&bytes, &ReadOptions::default()).map_err(|e| e.to_string())?;
                let note = read
                    .warnings
                    .first()
                    .map(|w| format!("read with {} warning(s), first: {w}", read.warnings.len()));
                Ok((
                    Scanned {
                        rel: rel.clone(),
                        digest,
                        midi: MidiRef {
                            path: p.clone(),
                            sha256: hex(&digest),
                            notes: read.score.note_count() as u64,
                        },
                    },
                    note,
                ))
            });
            (rel, r)
        })
        .collect();
    let mut scan = Scan {
        files: Vec::with_capacity(results.len()),
        warnings: Vec::new(),
        duplicates: Vec::new(),
    };
    let mut seen: HashMap<[u8; 32], String> = HashMap::new();
    for (rel, r) in results {
        match r {
            Err(message) => scan.warnings.push(DataWarning {
                path: rel,
                message: format!("skipped: {message}"),
            }),
            Ok((s, note)) => {
                if let Some(message) = note {
                    scan.warnings.push(DataWarning {
                        path: rel.clone(),
                        message,
                    });
                }
                if let Some(first) = seen.get(&s.digest) {
                    scan.duplicates.push((rel, first.clone()));
                } else {
                    seen.insert(s.digest, rel);
                    scan.files.push(s);
                }
            }
        }
    }
    scan
}

/// A folder of MIDI files as a dataset; see the module docs.
pub fn load_midi_folder(dir: &Path) -> Result<Dataset, DataError> {
    if !dir.is_dir() {
        return Err(DataError::Missing {
            name: dir.display().to_string(),
            path: dir.to_path_buf(),
            expected: "a folder of MIDI files (.mid, .midi, .rmi, .kar)".into(),
        });
    }
    let files = list_midi_files(dir)?;
    if files.is_empty() {
        return Err(DataError::Missing {
            name: dir.display().to_string(),
            path: dir.to_path_buf(),
            expected: "MIDI files (.mid, .midi, .rmi, .kar), found none".into(),
        });
    }
    let maestro = MaestroIndex::find_in(dir)?;
    let scan = scan(dir, &files);
    let pieces = scan
        .files
        .into_iter()
        .map(|s| {
            let (split, meta) = match maestro.as_ref().and_then(|m| m.split_of(&s.rel)) {
                Some((split, row)) => (split, Meta::Maestro(row.clone())),
                None => (hash_split(&s.digest), Meta::None),
            };
            Piece {
                id: s.rel,
                split,
                content: Content::Midi(s.midi),
                meta,
            }
        })
        .collect();
    let mut ds = Dataset {
        name: dir.display().to_string(),
        root: dir.to_path_buf(),
        pieces,
        warnings: scan.warnings,
        duplicates: scan.duplicates,
    };
    ds.sort_by_split();
    Ok(ds)
}

/// The split of a scanned file without other information.
pub(crate) fn default_split(s: &Scanned) -> Split {
    hash_split(&s.digest)
}
