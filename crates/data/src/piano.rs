//! The piano performance set (`piano_performance_giantmidi_eval/`, from the
//! GiantMIDI-Piano paper's evaluation): 52 pieces, each as a MAESTRO
//! performance (`maestro/`), a GiantMIDI-Piano transcription
//! (`giantmidi-piano/`) and a sequenced score-like MIDI (`ground_truth/`),
//! plus 4 full transcriptions (`midis_preview/`).
//!
//! Split: MAESTRO's `split` column (`maestro-v2.0.0.csv`) where it applies,
//! and the three versions of one piece always in the same split (they are
//! the same music; splitting them apart would leak test pieces into
//! training). A piece, as listed in `groundtruth_maestro_giantmidi-piano.csv`
//! (tab-separated despite its name), takes the MAESTRO split of its MAESTRO
//! file when that file matches a CSV row ([`crate::maestro`]), else the hash
//! split of its name. Files in no listed piece take their own MAESTRO split,
//! else the hash split of their bytes. All 49 matchable MAESTRO files are in
//! MAESTRO's test split, so most of this set is test data: it is an
//! evaluation set, not a training corpus.

use crate::dataset::{hash_split, sha256, Content, Dataset, Piece, Split};
use crate::error::DataError;
use crate::maestro::MaestroIndex;
use crate::metadata::Meta;
use crate::midi_folder::{default_split, list_midi_files, scan};
use std::collections::HashMap;
use std::path::Path;

/// The alignment table, relative to the dataset folder.
pub const ALIGNMENT: &str = "midis_for_evaluation/groundtruth_maestro_giantmidi-piano.csv";
/// The MAESTRO metadata, relative to the dataset folder.
pub const MAESTRO_CSV: &str = "maestro-v2.0.0.csv";
const VERSIONS: [(&str, usize); 3] = [("ground_truth", 1), ("maestro", 2), ("giantmidi-piano", 3)];

/// Map `version/file name` → piece name from the alignment table.
fn alignment(path: &Path) -> Result<HashMap<String, String>, DataError> {
    let mut rd = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .flexible(true)
        .from_path(path)
        .map_err(|e| DataError::invalid(path, e.to_string()))?;
    let mut out = HashMap::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| DataError::invalid(path, e.to_string()))?;
        let Some(name) = rec.get(0).map(str::trim).filter(|n| !n.is_empty()) else {
            continue;
        };
        for (folder, col) in VERSIONS {
            if let Some(file) = rec.get(col).map(str::trim).filter(|f| !f.is_empty()) {
                out.insert(format!("midis_for_evaluation/{folder}/{file}"), name.to_string());
            }
        }
    }
    Ok(out)
}

/// Load the piano set from its folder.
pub fn load_piano(dir: &Path, name: &str) -> Result<Dataset, DataError> {
    let eval = dir.join("midis_for_evaluation");
    if !eval.is_dir() {
        return Err(DataError::Missing {
            name: name.into(),
            path: eval,
            expected: "midis_for_evaluation/{maestro,giantmidi-piano,ground_truth}/*.mid (bytedance/GiantMIDI-Piano), \
                       optionally midis_preview/ and maestro-v2.0.0.csv"
                .into(),
        });
    }
    let mut files = list_midi_files(&eval)?;
    let preview = dir.join("midis_preview");
    if preview.is_dir() {
        files.extend(list_midi_files(&preview)?);
    }
    let maestro = match dir.join(MAESTRO_CSV) {
        p if p.is_file() => Some(MaestroIndex::load(&p)?),
        _ => MaestroIndex::find_in(dir)?,
    };
    let align = match dir.join(ALIGNMENT) {
        p if p.is_file() => alignment(&p)?,
        _ => HashMap::new(),
    };
    let scan = scan(dir, &files);
    let is_maestro = |rel: &str| rel.starts_with("midis_for_evaluation/maestro/");
    let maestro_of = |rel: &str| {
        if is_maestro(rel) {
            maestro.as_ref().and_then(|m| m.split_of(rel))
        } else {
            None
        }
    };
    // A piece's split: that of its MAESTRO file if matched, else its name's hash.
    let mut group_split: HashMap<&str, Split> = HashMap::new();
    for (rel, group) in &align {
        if let Some((split, _)) = maestro_of(rel) {
            group_split.insert(group.as_str(), split);
        }
    }
    let pieces = scan
        .files
        .into_iter()
        .map(|s| {
            let own = maestro_of(&s.rel);
            let split = match align.get(&s.rel) {
                Some(g) => group_split
                    .get(g.as_str())
                    .copied()
                    .unwrap_or_else(|| hash_split(&sha256(g.as_bytes()))),
                None => own.map(|(sp, _)| sp).unwrap_or_else(|| default_split(&s)),
            };
            Piece {
                meta: own.map(|(_, row)| Meta::Maestro(row.clone())).unwrap_or_default(),
                split,
                id: s.rel,
                content: Content::Midi(s.midi),
            }
        })
        .collect();
    let mut ds = Dataset {
        name: name.into(),
        root: dir.to_path_buf(),
        pieces,
        warnings: scan.warnings,
        duplicates: scan.duplicates,
    };
    ds.sort_by_split();
    Ok(ds)
}
