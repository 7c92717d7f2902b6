//! `fugue data`: the datasets fugue knows, what is in them, and preparing
//! them as token shards for training.
//!
//! - `fugue data list`: each known name, whether it is under the data root,
//!   and where.
//! - `fugue data info NAME [--json]`: pieces, frames (piano-roll and grid
//!   datasets), notes and tokens (of `--scheme`, REMI by default) per split.
//! - `fugue data prepare NAME --scheme S -o DIR`: each split tokenized in
//!   parallel into `DIR/train`, `DIR/valid`, `DIR/test` (each a tokenized
//!   folder with its manifest, as `fugue tokenize` writes; resumable), plus
//!   `DIR/dataset.json` (where the data came from, split sizes, skipped files).
//!
//! NAME is a known name or a path to a folder of MIDI files. The data root is
//! `--data-root`, else `$FUGUE_DATA`, else `../shared/data`.

use crate::tokenize::{progress, report_run, tokenizer, Scheme};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use fugue_data::jsb::JsbForm;
use fugue_data::prepare::{write_shards, ShardJob};
use fugue_data::registry::DATA_ENV;
use fugue_data::{load, resolve_root, Dataset, DatasetRef, Known, LoadOptions, Piece, Split};
use fugue_score::io::write_atomic;
use fugue_tokens::Tokenizer;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct DataArgs {
    /// The folder holding the datasets (default: $FUGUE_DATA, else ../shared/data).
    #[arg(long, global = true)]
    pub data_root: Option<PathBuf>,
    #[command(subcommand)]
    pub command: DataCommand,
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Every known dataset, whether it is under the data root, and where.
    List,
    /// Pieces, frames or notes, and tokens per split of a dataset.
    Info(InfoArgs),
    /// Tokenize each split of a dataset into token shards.
    Prepare(PrepareArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum JsbArg {
    /// Coconet's SATB grids on 16ths.
    #[default]
    Satb,
    /// Piano-roll, a frame per 16th.
    #[value(name = "16th")]
    Sixteenth,
    /// Piano-roll, a frame per 8th.
    #[value(name = "8th")]
    Eighth,
    /// Piano-roll, a frame per quarter.
    Quarter,
}

impl From<JsbArg> for JsbForm {
    fn from(a: JsbArg) -> JsbForm {
        match a {
            JsbArg::Satb => JsbForm::Satb,
            JsbArg::Sixteenth => JsbForm::Sixteenth,
            JsbArg::Eighth => JsbForm::Eighth,
            JsbArg::Quarter => JsbForm::Quarter,
        }
    }
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// A known dataset name or a folder of MIDI files.
    pub name: String,
    /// Print JSON: {"name": ..., "splits": {"train": {"pieces": N, ...}, ...}}.
    #[arg(long)]
    pub json: bool,
    /// The scheme whose tokens are counted.
    #[arg(long, value_enum, default_value = "remi")]
    pub scheme: Scheme,
    /// The scheme's configuration as JSON.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The form of jsb-16th.
    #[arg(long, value_enum, default_value = "satb")]
    pub jsb: JsbArg,
}

#[derive(Args, Debug)]
pub struct PrepareArgs {
    /// A known dataset name or a folder of MIDI files.
    pub name: String,
    /// The encoding.
    #[arg(long, value_enum)]
    pub scheme: Scheme,
    /// Output folder (one tokenized folder per split inside).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The scheme's configuration as JSON.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Start over if the output holds another run.
    #[arg(long)]
    pub force: bool,
    /// The form of jsb-16th.
    #[arg(long, value_enum, default_value = "satb")]
    pub jsb: JsbArg,
    /// Pieces per shard (a resumed run redoes at most one shard per split).
    #[arg(long, default_value_t = 256)]
    pub files_per_shard: u32,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(a: DataArgs) -> Result<()> {
    let env = std::env::var_os(DATA_ENV);
    let root = resolve_root(a.data_root.as_deref(), env.as_deref());
    match a.command {
        DataCommand::List => list(&root),
        DataCommand::Info(i) => info(&root, i),
        DataCommand::Prepare(p) => prepare(&root, p),
    }
}

fn list(root: &Path) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "data root: {}", root.display())?;
    for k in Known::listed() {
        let found = if k.found(root) { "found  " } else { "missing" };
        writeln!(
            out,
            "{:<12} {found} {}  {}",
            k.name(),
            k.path(root).display(),
            k.description()
        )?;
    }
    Ok(())
}

fn open(root: &Path, name: &str, jsb: JsbArg) -> Result<Dataset> {
    let what = DatasetRef::parse(name)?;
    let ds = load(&what, root, &LoadOptions { jsb_form: jsb.into() })?;
    let skipped = ds.warnings.iter().filter(|w| w.message.starts_with("skipped")).count();
    if skipped > 0 || !ds.duplicates.is_empty() {
        eprintln!(
            "{}: {} file(s) skipped, {} duplicate(s) dropped, {} warning(s)",
            ds.name,
            skipped,
            ds.duplicates.len(),
            ds.warnings.len()
        );
        for w in ds.warnings.iter().filter(|w| w.message.starts_with("skipped")).take(10) {
            eprintln!("  {}: {}", w.path, w.message);
        }
    }
    Ok(ds)
}

/// Per split: pieces, frames, notes, tokens, pieces that failed to tokenize.
struct SplitStats {
    pieces: usize,
    frames: Option<u64>,
    notes: u64,
    tokens: u64,
    failed: usize,
}

fn stats(ds: &Dataset, split: Split, tok: &dyn Tokenizer) -> SplitStats {
    let pieces: Vec<&Piece> = ds.split(split).collect();
    let frames = pieces
        .iter()
        .map(|p| p.frames())
        .try_fold(0u64, |acc, f| f.map(|f| acc + f));
    let counted: Vec<(u64, Option<u64>)> = pieces
        .par_iter()
        .map(|p| match p.score() {
            Ok(s) => (
                s.note_count() as u64,
                tok.encode(&s)
                    .ok()
                    .map(|(seqs, _)| seqs.iter().map(|q| q.ids.len() as u64).sum()),
            ),
            Err(_) => (0, None),
        })
        .collect();
    SplitStats {
        pieces: pieces.len(),
        frames: frames.filter(|_| !pieces.is_empty()),
        notes: counted.iter().map(|c| c.0).sum(),
        tokens: counted.iter().filter_map(|c| c.1).sum(),
        failed: counted.iter().filter(|c| c.1.is_none()).count(),
    }
}

/// `fugue data info --json`: fields in this order.
#[derive(Serialize)]
struct InfoJson<'a> {
    name: &'a str,
    splits: SplitsJson,
}

#[derive(Serialize)]
struct SplitsJson {
    train: SplitJson,
    valid: SplitJson,
    test: SplitJson,
}

#[derive(Serialize)]
struct SplitJson {
    pieces: usize,
    /// Piano-roll and grid datasets only.
    #[serde(skip_serializing_if = "Option::is_none")]
    frames: Option<u64>,
    notes: u64,
    tokens: u64,
}

fn info(root: &Path, a: InfoArgs) -> Result<()> {
    let ds = open(root, &a.name, a.jsb)?;
    let (tok, _) = tokenizer(a.scheme, a.config.as_ref())?;
    let all: Vec<(Split, SplitStats)> = Split::ALL.iter().map(|&s| (s, stats(&ds, s, tok.as_ref()))).collect();
    let mut out = std::io::stdout().lock();
    if a.json {
        let split = |i: usize| {
            let st = &all[i].1;
            SplitJson {
                pieces: st.pieces,
                frames: st.frames,
                notes: st.notes,
                tokens: st.tokens,
            }
        };
        let v = InfoJson {
            name: &ds.name,
            splits: SplitsJson {
                train: split(0),
                valid: split(1),
                test: split(2),
            },
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    writeln!(out, "{} ({})", ds.name, ds.root.display())?;
    for (s, st) in &all {
        let frames = st.frames.map(|f| format!("{f} frames, ")).unwrap_or_default();
        let failed = if st.failed > 0 {
            format!(" ({} pieces could not be tokenized)", st.failed)
        } else {
            String::new()
        };
        writeln!(
            out,
            "  {:<5} {:>6} pieces, {frames}{} notes, {} {} tokens{failed}",
            s.name(),
            st.pieces,
            st.notes,
            st.tokens,
            tok.name()
        )?;
    }
    if !ds.duplicates.is_empty() || !ds.warnings.is_empty() {
        writeln!(
            out,
            "  {} duplicate file(s) dropped, {} warning(s)",
            ds.duplicates.len(),
            ds.warnings.len()
        )?;
    }
    Ok(())
}

fn prepare(root: &Path, a: PrepareArgs) -> Result<()> {
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot start the thread pool")?;
    }
    let (tok, config) = tokenizer(a.scheme, a.config.as_ref())?;
    let ds = open(root, &a.name, a.jsb)?;
    std::fs::create_dir_all(&a.output).with_context(|| format!("cannot create {}", a.output.display()))?;
    let started = Instant::now();
    let mut sizes = serde_json::Map::new();
    for split in Split::ALL {
        let pieces: Vec<&Piece> = ds.split(split).collect();
        let names: Vec<String> = pieces.iter().map(|p| p.id.clone()).collect();
        let out = a.output.join(split.name());
        let t = Instant::now();
        let pb = progress(
            pieces.len() as u64,
            a.quiet,
            &format!("{} {}", split.name(), tok.name()),
        );
        let job = ShardJob {
            out: &out,
            tokenizer: tok.as_ref(),
            config: &config,
            files_per_shard: a.files_per_shard,
            force: a.force,
        };
        let run = write_shards(
            &job,
            &names,
            |i| pieces[i].score().map_err(|e| e.to_string()),
            || pb.inc(1),
        )?;
        pb.finish_and_clear();
        report_run(&out, &run, pieces.len(), t.elapsed().as_secs_f64());
        sizes.insert(
            split.name().into(),
            json!({
                "pieces": pieces.len(),
                "tokenized": run.manifest.files.len(),
                "failed": run.manifest.failed.len(),
                "tokens": run.manifest.shards.iter().map(|s| s.ids).sum::<u64>(),
            }),
        );
    }
    let summary = json!({
        "name": ds.name,
        "source": ds.root.display().to_string(),
        "scheme": tok.name(),
        "config": config,
        "splits": sizes,
        "duplicates": ds.duplicates,
        "warnings": ds.warnings,
    });
    let mut bytes = serde_json::to_vec_pretty(&summary)?;
    bytes.push(b'\n');
    // The run's own record, rewritten on every (resumed) run of it.
    write_atomic(&a.output.join("dataset.json"), &bytes, true)?;
    eprintln!(
        "{}: {} prepared with {} in {:.2} s",
        a.output.display(),
        ds.name,
        tok.name(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
