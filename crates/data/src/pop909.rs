//! POP909 (Wang, Chen et al., ISMIR 2020): 909 pop songs as piano
//! arrangements (`NNN/NNN.mid`: tracks MELODY, BRIDGE, PIANO) with beat,
//! chord and key annotations, parsed into [`Pop909Annotations`].
//!
//! Annotation files (times in seconds): `beat_midi.txt` (`time flag
//! downbeat`, space-separated), `beat_audio.txt` (`time<TAB>beat in bar`),
//! `chord_midi.txt`, `chord_audio.txt`, `key_audio.txt` (`start<TAB>end<TAB>label`).
//! A missing annotation file leaves its list empty; a line that does not
//! parse is skipped with a warning. Alternative versions (`versions/`) are
//! not read. No upstream split: songs get the 80/10/10 hash split of their
//! MIDI bytes (the common practice is a random 8:1:1 by song).

use crate::dataset::{Content, Dataset, Piece};
use crate::error::{DataError, DataWarning};
use crate::metadata::{AudioBeat, Meta, MidiBeat, Pop909Annotations, Seconds, Segment};
use crate::midi_folder::{default_split, relative, scan};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn num(s: Option<&str>) -> Option<f64> {
    s.and_then(|v| v.trim().parse::<f64>().ok()).filter(|v| v.is_finite())
}

/// Parse `beat_midi.txt`.
pub fn parse_midi_beats(text: &str) -> (Vec<MidiBeat>, Vec<usize>) {
    parse_lines(text, |f| {
        Some(MidiBeat {
            time: Seconds(num(f.first().copied())?),
            flag: num(f.get(1).copied())? != 0.0,
            downbeat: num(f.get(2).copied())? != 0.0,
        })
    })
}

/// Parse `beat_audio.txt`.
pub fn parse_audio_beats(text: &str) -> (Vec<AudioBeat>, Vec<usize>) {
    parse_lines(text, |f| {
        let b = num(f.get(1).copied())?;
        Some(AudioBeat {
            time: Seconds(num(f.first().copied())?),
            beat_in_bar: if b >= 0.0 && b.fract() == 0.0 {
                b as u32
            } else {
                return None;
            },
        })
    })
}

/// Parse a `start end label` file (chords, keys).
pub fn parse_segments(text: &str) -> (Vec<Segment>, Vec<usize>) {
    parse_lines(text, |f| {
        Some(Segment {
            start: Seconds(num(f.first().copied())?),
            end: Seconds(num(f.get(1).copied())?),
            label: f.get(2)?.to_string(),
        })
    })
}

/// Parse non-empty lines split on whitespace; returns the rows and the
/// (1-based) numbers of lines that did not parse.
fn parse_lines<T>(text: &str, row: impl Fn(&[&str]) -> Option<T>) -> (Vec<T>, Vec<usize>) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        match row(&fields) {
            Some(r) => rows.push(r),
            None => bad.push(i + 1),
        }
    }
    (rows, bad)
}

fn annotations(song: &Path, root: &Path, warnings: &mut Vec<DataWarning>) -> Pop909Annotations {
    let mut a = Pop909Annotations::default();
    let mut read = |file: &str| -> Option<String> {
        let p = song.join(file);
        match std::fs::read_to_string(&p) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                warnings.push(DataWarning {
                    path: relative(root, &p),
                    message: format!("unreadable, ignored: {e}"),
                });
                None
            }
        }
    };
    let texts: Vec<(&str, Option<String>)> = [
        "beat_midi.txt",
        "beat_audio.txt",
        "chord_midi.txt",
        "chord_audio.txt",
        "key_audio.txt",
    ]
    .into_iter()
    .map(|f| (f, read(f)))
    .collect();
    for (file, text) in texts {
        let Some(text) = text else { continue };
        let bad = match file {
            "beat_midi.txt" => {
                let (r, b) = parse_midi_beats(&text);
                a.beats_midi = r;
                b
            }
            "beat_audio.txt" => {
                let (r, b) = parse_audio_beats(&text);
                a.beats_audio = r;
                b
            }
            "chord_midi.txt" => {
                let (r, b) = parse_segments(&text);
                a.chords_midi = r;
                b
            }
            "chord_audio.txt" => {
                let (r, b) = parse_segments(&text);
                a.chords_audio = r;
                b
            }
            _ => {
                let (r, b) = parse_segments(&text);
                a.keys = r;
                b
            }
        };
        if let Some(first) = bad.first() {
            warnings.push(DataWarning {
                path: relative(root, &song.join(file)),
                message: format!("{} line(s) skipped, first: line {first}", bad.len()),
            });
        }
    }
    a
}

/// The song rows of `index.csv` by `song_id`, as (column, value) pairs.
fn index(path: &Path) -> Result<HashMap<String, Vec<(String, String)>>, DataError> {
    let mut rd = csv::Reader::from_path(path).map_err(|e| DataError::invalid(path, e.to_string()))?;
    let headers: Vec<String> = rd
        .headers()
        .map_err(|e| DataError::invalid(path, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut out = HashMap::new();
    for rec in rd.records().flatten() {
        let cols: Vec<(String, String)> = headers.iter().cloned().zip(rec.iter().map(str::to_string)).collect();
        if let Some(id) = rec.get(0) {
            out.insert(id.to_string(), cols);
        }
    }
    Ok(out)
}

/// Load POP909 from `pop909/` (or the `POP909/` folder inside it).
pub fn load_pop909(dir: &Path, name: &str) -> Result<Dataset, DataError> {
    let songs_dir = if dir.join("POP909").is_dir() {
        dir.join("POP909")
    } else {
        dir.to_path_buf()
    };
    let mut songs: Vec<(PathBuf, PathBuf)> = match std::fs::read_dir(&songs_dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .filter_map(|p| {
                let stem = p.file_name()?.to_string_lossy().into_owned();
                let midi = p.join(format!("{stem}.mid"));
                midi.is_file().then_some((p, midi))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    if songs.is_empty() {
        return Err(DataError::Missing {
            name: name.into(),
            path: songs_dir,
            expected: "POP909/NNN/NNN.mid song folders with beat/chord/key .txt files (music-x-lab/POP909-Dataset)"
                .into(),
        });
    }
    songs.sort();
    let midis: Vec<PathBuf> = songs.iter().map(|(_, m)| m.clone()).collect();
    let scan = scan(&songs_dir, &midis);
    let mut warnings = scan.warnings;
    let idx_path = songs_dir.join("index.csv");
    let mut idx = if idx_path.is_file() {
        index(&idx_path)?
    } else {
        HashMap::new()
    };
    let dirs: HashMap<String, PathBuf> = songs
        .iter()
        .map(|(d, m)| (relative(&songs_dir, m), d.clone()))
        .collect();
    let mut pieces = Vec::with_capacity(scan.files.len());
    for s in scan.files {
        let Some(song) = dirs.get(&s.rel) else { continue };
        let mut a = annotations(song, &songs_dir, &mut warnings);
        let id = song
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        a.index = idx.remove(&id).unwrap_or_default();
        pieces.push(Piece {
            split: default_split(&s),
            id: s.rel,
            content: Content::Midi(s.midi),
            meta: Meta::Pop909(Box::new(a)),
        });
    }
    let mut ds = Dataset {
        name: name.into(),
        root: songs_dir,
        pieces,
        warnings,
        duplicates: scan.duplicates,
    };
    ds.sort_by_split();
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_lines_parse_and_bad_ones_are_counted() {
        let (b, bad) = parse_midi_beats("0.05 1.0 1.0\n0.72 0.0 0.0\nx y z\n\n");
        assert_eq!(b.len(), 2);
        assert!(b[0].downbeat && !b[1].downbeat);
        assert_eq!(bad, vec![3]);
        let (s, bad) = parse_segments("0.0\t2.5\tN\n2.5\t3.9\tB:maj7\n");
        assert_eq!(s[1].label, "B:maj7");
        assert_eq!(s[1].start, Seconds(2.5));
        assert!(bad.is_empty());
        let (a, bad) = parse_audio_beats("2.66\t1.0\n3.33\t2.5\n");
        assert_eq!(a[0].beat_in_bar, 1);
        assert_eq!(bad, vec![2]);
    }
}
