//! Token shards on disk.
//!
//! A tokenized corpus is a folder: `tokenizer.json` (scheme, configuration,
//! vocabulary), `shard-NNNNN.ids` files (token ids as little-endian `u32`,
//! sequences one after another) and `manifest.json`, which lists every source
//! file with the shard, offset and length of each of its sequences, the files
//! that failed with their error, and each shard's CRC-32. Shards hold a fixed
//! number of source files, so a run that stops can resume: a shard listed in
//! the manifest whose bytes still match its checksum is not redone. Every
//! file is written atomically, the manifest last.

use fugue_score::io::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Errors of the shard store.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A manifest or tokenizer file is not what it should be.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] fugue_score::ScoreError),
}

/// One sequence of one source file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqRef {
    /// Offset in the shard, in ids.
    pub offset: u64,
    /// Length in ids.
    pub len: u64,
}

/// One source file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The path, relative to the input folder.
    pub path: String,
    /// The shard holding its sequences.
    pub shard: u32,
    /// Its sequences (one per track, or one for the score, as the scheme does).
    pub sequences: Vec<SeqRef>,
    /// Notes in the source file.
    pub notes: u64,
}

/// A source file that could not be tokenized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedFile {
    /// The path, relative to the input folder.
    pub path: String,
    /// Why.
    pub error: String,
}

/// One finished shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Shard number.
    pub index: u32,
    /// File name in the folder.
    pub file: String,
    /// Ids in the shard.
    pub ids: u64,
    /// CRC-32 of the shard's bytes.
    pub crc32: u32,
}

/// The index of a tokenized corpus.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The scheme's name.
    pub scheme: String,
    /// The scheme's configuration (as saved in `tokenizer.json`).
    pub config: serde_json::Value,
    /// Vocabulary size.
    pub vocab_size: u64,
    /// Source files per shard.
    pub files_per_shard: u32,
    /// Finished shards.
    pub shards: Vec<ShardInfo>,
    /// Tokenized files, in input order.
    pub files: Vec<FileEntry>,
    /// Files that failed.
    pub failed: Vec<FailedFile>,
}

impl Manifest {
    /// The manifest's path in a corpus folder.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("manifest.json")
    }

    /// Read a folder's manifest, if there is one.
    pub fn load(dir: &Path) -> Result<Option<Manifest>, ShardError> {
        let path = Manifest::path(dir);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ShardError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map(Some).map_err(|e| ShardError::Invalid {
            path,
            message: format!("not a fugue token manifest: {e}"),
        })
    }

    /// Write the manifest atomically.
    pub fn save(&self, dir: &Path) -> Result<(), ShardError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| ShardError::Invalid {
            path: Manifest::path(dir),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        write_atomic(&Manifest::path(dir), &bytes, true)?;
        Ok(())
    }

    /// Whether a shard is finished and its bytes still match.
    pub fn shard_is_done(&self, dir: &Path, index: u32) -> bool {
        self.shards.iter().find(|s| s.index == index).is_some_and(|s| {
            std::fs::read(dir.join(&s.file))
                .is_ok_and(|b| crc32fast::hash(&b) == s.crc32 && b.len() as u64 == s.ids * 4)
        })
    }

    /// All ids of one shard.
    pub fn read_shard(&self, dir: &Path, index: u32) -> Result<Vec<u32>, ShardError> {
        let info = self
            .shards
            .iter()
            .find(|s| s.index == index)
            .ok_or_else(|| ShardError::Invalid {
                path: Manifest::path(dir),
                message: format!("shard {index} is not in the manifest"),
            })?;
        let path = dir.join(&info.file);
        let bytes = std::fs::read(&path).map_err(|source| ShardError::Io {
            path: path.clone(),
            source,
        })?;
        if bytes.len() % 4 != 0 {
            return Err(ShardError::Invalid {
                path,
                message: "length is not a whole number of ids".into(),
            });
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// The sequences of a file, sliced from the ids of its shard.
    pub fn slices<'a>(&self, file: &FileEntry, shard: &'a [u32]) -> Result<Vec<&'a [u32]>, ShardError> {
        file.sequences
            .iter()
            .map(|r| {
                shard
                    .get(r.offset as usize..(r.offset + r.len) as usize)
                    .ok_or_else(|| ShardError::Invalid {
                        path: PathBuf::from(&file.path),
                        message: format!("a sequence runs past the end of shard {}", file.shard),
                    })
            })
            .collect()
    }

    /// Read the ids of one sequence.
    pub fn read_sequence(&self, dir: &Path, file: &FileEntry, seq: usize) -> Result<Vec<u32>, ShardError> {
        let shard = self.read_shard(dir, file.shard)?;
        let slices = self.slices(file, &shard)?;
        slices.get(seq).map(|s| s.to_vec()).ok_or_else(|| ShardError::Invalid {
            path: PathBuf::from(&file.path),
            message: format!("{} has no sequence {seq}", file.path),
        })
    }
}

/// Name of shard `index`.
pub fn shard_file(index: u32) -> String {
    format!("shard-{index:05}.ids")
}

/// Write one shard from the sequences of its files (in order); returns its
/// info and each file's sequence references.
pub fn write_shard(
    dir: &Path,
    index: u32,
    files: &[Vec<Vec<u32>>],
) -> Result<(ShardInfo, Vec<Vec<SeqRef>>), ShardError> {
    let total: usize = files.iter().flatten().map(Vec::len).sum();
    let mut bytes = Vec::with_capacity(total * 4);
    let mut refs = Vec::with_capacity(files.len());
    let mut offset = 0u64;
    for f in files {
        let mut r = Vec::with_capacity(f.len());
        for seq in f {
            for id in seq {
                bytes.extend_from_slice(&id.to_le_bytes());
            }
            r.push(SeqRef {
                offset,
                len: seq.len() as u64,
            });
            offset += seq.len() as u64;
        }
        refs.push(r);
    }
    let file = shard_file(index);
    write_atomic(&dir.join(&file), &bytes, true)?;
    Ok((
        ShardInfo {
            index,
            file,
            ids: offset,
            crc32: crc32fast::hash(&bytes),
        },
        refs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_round_trip_and_detect_damage() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![vec![vec![1, 2, 3], vec![4]], vec![vec![5, 6]]];
        let (info, refs) = write_shard(dir.path(), 0, &files).unwrap();
        assert_eq!(info.ids, 6);
        let m = Manifest {
            scheme: "x".into(),
            shards: vec![info],
            files: refs
                .into_iter()
                .enumerate()
                .map(|(i, sequences)| FileEntry {
                    path: format!("{i}.mid"),
                    shard: 0,
                    sequences,
                    notes: 0,
                })
                .collect(),
            ..Manifest::default()
        };
        m.save(dir.path()).unwrap();
        let back = Manifest::load(dir.path()).unwrap().unwrap();
        assert_eq!(back, m);
        assert_eq!(back.read_sequence(dir.path(), &back.files[0], 1).unwrap(), vec![4]);
        assert_eq!(back.read_sequence(dir.path(), &back.files[1], 0).unwrap(), vec![5, 6]);
        assert!(back.shard_is_done(dir.path(), 0));
        std::fs::write(dir.path().join(shard_file(0)), [0u8; 24]).unwrap();
        assert!(!back.shard_is_done(dir.path(), 0));
        std::fs::write(Manifest::path(dir.path()), "{").unwrap();
        assert!(Manifest::load(dir.path())
            .unwrap_err()
            .to_string()
            .contains("manifest.json"));
    }
}
