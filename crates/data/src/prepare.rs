//! Tokenizing a list of pieces into a shard folder ([`crate::shards`]) in
//! parallel, resumably: the machinery behind both `fugue tokenize DIR` and
//! `fugue data prepare`.
//!
//! Items are processed a shard at a time (`files_per_shard` items), each
//! shard's items in parallel on rayon's pool; a shard is written, then the
//! manifest, so a stopped run loses at most one shard. A folder that already
//! holds a run of the same scheme, configuration and shard size resumes: a
//! shard whose bytes still match its CRC is kept. A folder holding another
//! run is an error unless `force`. An item that fails to load or tokenize is
//! recorded in the manifest's `failed` list and the run goes on.
//!
//! The caller supplies the items as names plus a loader closure, and a
//! progress callback: this crate does not draw progress bars.

use crate::error::DataError;
use crate::shards::{write_shard, FailedFile, FileEntry, Manifest};
use fugue_score::io::write_atomic;
use fugue_score::{Score, Tick};
use fugue_tokens::Tokenizer;
use rayon::prelude::*;
use std::path::Path;

/// Where and how to write.
pub struct ShardJob<'a> {
    /// The output folder.
    pub out: &'a Path,
    /// The scheme.
    pub tokenizer: &'a dyn Tokenizer,
    /// The scheme's configuration, saved in `tokenizer.json` and the manifest.
    pub config: &'a serde_json::Value,
    /// Items per shard (a resumed run redoes at most one shard).
    pub files_per_shard: u32,
    /// Start over when the folder holds another run.
    pub force: bool,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct ShardRun {
    /// The final manifest.
    pub manifest: Manifest,
    /// Items taken from shards of an earlier run.
    pub resumed: usize,
}

/// Write `tokenizer.json` (scheme, configuration, vocabulary) into a folder.
pub fn write_tokenizer_file(out: &Path, tok: &dyn Tokenizer, config: &serde_json::Value) -> Result<(), DataError> {
    let vocab = tok.vocab().to_file_form();
    let saved = serde_json::json!({ "scheme": tok.name(), "config": config, "vocab": vocab.tokens });
    let mut bytes = serde_json::to_vec_pretty(&saved).map_err(|e| DataError::invalid(out, e.to_string()))?;
    bytes.push(b'\n');
    write_atomic(&out.join("tokenizer.json"), &bytes, true)?;
    Ok(())
}

/// One item's token ids (one vector per sequence) and its note count.
type Tokenized = (Vec<Vec<u32>>, u64);

/// Tokenize `names.len()` items into `job.out`; see the module docs.
/// `load(i)` gives item `i`'s score or why it cannot; `done()` is called once
/// per item (also for resumed ones).
pub fn write_shards<L, P>(job: &ShardJob<'_>, names: &[String], load: L, done: P) -> Result<ShardRun, DataError>
where
    L: Fn(usize) -> Result<Score<Tick>, String> + Sync,
    P: Fn() + Sync,
{
    let out = job.out;
    std::fs::create_dir_all(out).map_err(DataError::io(out))?;
    let tok = job.tokenizer;
    let scheme = tok.name().to_string();
    let per = job.files_per_shard.max(1);
    let mut manifest = match Manifest::load(out)? {
        Some(m) if m.scheme == scheme && &m.config == job.config && m.files_per_shard == per => m,
        Some(_) if !job.force => {
            return Err(DataError::OtherRun {
                path: out.to_path_buf(),
            })
        }
        _ => Manifest {
            scheme,
            config: job.config.clone(),
            vocab_size: tok.vocab().len() as u64,
            files_per_shard: per,
            ..Manifest::default()
        },
    };
    write_tokenizer_file(out, tok, job.config)?;
    let mut resumed = 0usize;
    let indices: Vec<usize> = (0..names.len()).collect();
    for (si, chunk) in indices.chunks(per as usize).enumerate() {
        let si = si as u32;
        if manifest.shard_is_done(out, si) {
            resumed += chunk.len();
            chunk.iter().for_each(|_| done());
            continue;
        }
        manifest.shards.retain(|s| s.index != si);
        manifest.files.retain(|f| f.shard != si);
        let chunk_names: Vec<&String> = chunk.iter().filter_map(|&i| names.get(i)).collect();
        manifest.failed.retain(|f| !chunk_names.contains(&&f.path));
        let results: Vec<Result<Tokenized, String>> = chunk
            .par_iter()
            .map(|&i| {
                let r = load(i).and_then(|score| {
                    let notes = score.note_count() as u64;
                    tok.encode(&score)
                        .map(|(seqs, _)| (seqs.into_iter().map(|s| s.ids).collect(), notes))
                        .map_err(|e| format!("{}: {e}", names.get(i).map(String::as_str).unwrap_or("?")))
                });
                done();
                r
            })
            .collect();
        let mut ok_files = Vec::new();
        let mut ok_names = Vec::new();
        for (name, r) in chunk_names.into_iter().zip(results) {
            match r {
                Ok((seqs, notes)) => {
                    ok_files.push(seqs);
                    ok_names.push((name.clone(), notes));
                }
                Err(error) => manifest.failed.push(FailedFile {
                    path: name.clone(),
                    error,
                }),
            }
        }
        let (info, refs) = write_shard(out, si, &ok_files)?;
        manifest.shards.push(info);
        for ((path, notes), sequences) in ok_names.into_iter().zip(refs) {
            manifest.files.push(FileEntry {
                path,
                shard: si,
                sequences,
                notes,
            });
        }
        manifest.shards.sort_by_key(|s| s.index);
        manifest.files.sort_by_key(|f| f.shard);
        manifest.save(out)?;
    }
    // An empty item list still leaves a valid (empty) tokenized folder.
    if names.is_empty() {
        manifest.save(out)?;
    }
    Ok(ShardRun { manifest, resumed })
}
