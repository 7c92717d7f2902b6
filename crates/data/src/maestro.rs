//! MAESTRO's metadata CSV (`maestro-v*.csv`): its `split` column is the
//! canonical split of every performance, and it is honoured wherever a
//! corpus holds one (the piano set, a MAESTRO-style MIDI folder).
//!
//! A performance is matched to its row by its path relative to the folder
//! (`2018/MIDI-Unprocessed_...midi`), else by its normalised file stem:
//! lower-cased, without extension, without the suffixes the GiantMIDI
//! authors gave the movements they cut (`_cut`, `_no_N`, `_mov_N`,
//! `_cut_no_N`, `_cut_mov_N`). Files renamed otherwise (`_a`, `_part1`)
//! are not matched and get the hash split.

use crate::dataset::Split;
use crate::error::DataError;
use crate::metadata::{MaestroRow, Seconds};
use std::collections::HashMap;
use std::path::Path;

/// The rows of a MAESTRO CSV, indexed for matching.
#[derive(Clone, Debug, Default)]
pub struct MaestroIndex {
    rows: Vec<MaestroRow>,
    by_path: HashMap<String, usize>,
    by_stem: HashMap<String, usize>,
}

/// A file name's stem as matching sees it (see the module docs).
pub fn normalized_stem(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = match base.rfind('.') {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    };
    let mut s = stem.to_ascii_lowercase();
    for tag in ["_no_", "_mov_"] {
        if let Some(i) = s.rfind(tag) {
            let digits = &s[i + tag.len()..];
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                s.truncate(i);
            }
        }
    }
    if let Some(t) = s.strip_suffix("_cut") {
        s = t.to_string();
    }
    s
}

impl MaestroIndex {
    /// Read a MAESTRO CSV (RFC 4180; columns by header name).
    pub fn load(path: &Path) -> Result<Self, DataError> {
        let mut rd = csv::Reader::from_path(path).map_err(|e| DataError::invalid(path, e.to_string()))?;
        let headers = rd
            .headers()
            .map_err(|e| DataError::invalid(path, e.to_string()))?
            .clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| DataError::invalid(path, format!("no '{name}' column")))
        };
        let (c_comp, c_title, c_split, c_year, c_midi, c_dur) = (
            col("canonical_composer")?,
            col("canonical_title")?,
            col("split")?,
            col("year")?,
            col("midi_filename")?,
            col("duration")?,
        );
        let mut index = MaestroIndex::default();
        for (i, rec) in rd.records().enumerate() {
            let rec = rec.map_err(|e| DataError::invalid(path, format!("row {}: {e}", i + 2)))?;
            let get = |c: usize| rec.get(c).unwrap_or("").to_string();
            let row = MaestroRow {
                composer: get(c_comp),
                title: get(c_title),
                split: get(c_split),
                year: get(c_year),
                midi_filename: get(c_midi),
                duration: Seconds(rec.get(c_dur).and_then(|d| d.trim().parse().ok()).unwrap_or(f64::NAN)),
            };
            let n = index.rows.len();
            index.by_path.insert(row.midi_filename.replace('\\', "/"), n);
            index.by_stem.insert(normalized_stem(&row.midi_filename), n);
            index.rows.push(row);
        }
        Ok(index)
    }

    /// The first `maestro-v*.csv` directly inside a folder, if any.
    pub fn find_in(dir: &Path) -> Result<Option<Self>, DataError> {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Ok(None);
        };
        let mut csvs: Vec<_> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().to_ascii_lowercase())
                    .is_some_and(|n| n.starts_with("maestro-v") && n.ends_with(".csv"))
            })
            .collect();
        csvs.sort();
        csvs.first().map(|p| MaestroIndex::load(p)).transpose()
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row of a file (path relative to the folder), if it matches one.
    pub fn lookup(&self, rel: &str) -> Option<&MaestroRow> {
        let rel = rel.replace('\\', "/");
        self.by_path
            .get(&rel)
            .or_else(|| self.by_stem.get(&normalized_stem(&rel)))
            .and_then(|&i| self.rows.get(i))
    }

    /// The split of a matched file.
    pub fn split_of(&self, rel: &str) -> Option<(Split, &MaestroRow)> {
        self.lookup(rel).and_then(|r| Split::parse(&r.split).map(|s| (s, r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_drop_cut_suffixes() {
        assert_eq!(normalized_stem("a/MIDI-X_wav--4_cut_no_1.mid"), "midi-x_wav--4");
        assert_eq!(normalized_stem("MIDI-X_WAV_mov_2.mid"), "midi-x_wav");
        assert_eq!(normalized_stem("2018/MIDI-X_wav--1.midi"), "midi-x_wav--1");
        assert_eq!(normalized_stem("x_cut.mid"), "x");
        assert_eq!(normalized_stem("x_a.mid"), "x_a");
    }
}
