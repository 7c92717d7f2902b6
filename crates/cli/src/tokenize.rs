//! `fugue tokenize`: scores as the token sequences of a scheme.
//!
//! - `fugue tokenize --scheme S FILE --print [--ids]`: one file's tokens on
//!   stdout, one line per sequence, in MidiTok's spelling.
//! - `fugue tokenize --scheme S DIR -o OUT`: a whole folder, in parallel, into
//!   token shards with a manifest (see `fugue_data::shards`); broken files
//!   are reported and skipped; a stopped run resumes where it was.
//! - `fugue tokenize --decode OUT -o MIDI_DIR`: tokens back to MIDI files.

use crate::cmd::{load, ReadArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use fugue_data::midi_folder::list_midi_files;
use fugue_data::prepare::{write_shards, ShardJob, ShardRun};
use fugue_data::shards::{write_shard, FileEntry, Manifest};
use fugue_score::io::write_atomic;
use fugue_score::midi::{read_midi_file, write_midi, MidiFormat, ReadOptions};
use fugue_tokens::bachbot::{BachBot, BachBotConfig};
use fugue_tokens::beat_grid::BeatConfig;
use fugue_tokens::cp_word::CpWord;
use fugue_tokens::melody::{Melody, MelodyConfig};
use fugue_tokens::midi_like::MidiLike;
use fugue_tokens::mmm::{Mmm, MmmConfig};
use fugue_tokens::octuple::Octuple;
use fugue_tokens::performance::{Performance, PerformanceConfig};
use fugue_tokens::remi::Remi;
use fugue_tokens::structured::Structured;
use fugue_tokens::subword::{Subword, SubwordConfig, SubwordModel};
use fugue_tokens::tonicnet::{TonicNet, TonicNetConfig};
use fugue_tokens::tsd::Tsd;
use fugue_tokens::{Token, Tokenizer};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// REMI (Huang & Yang 2020), MidiTok-compatible; REMI+ with
    /// `{"use_programs": true}` in --config.
    Remi,
    /// TSD (time shift, duration), MidiTok-compatible.
    Tsd,
    /// MIDI-Like (note-on, note-off, time shift), MidiTok-compatible.
    Midilike,
    /// Structured (time shift, pitch, velocity, duration per note), MidiTok-compatible.
    Structured,
    /// CP-Word compound tokens (Hsiao et al. 2021), MidiTok-compatible.
    Cpword,
    /// Octuple compound tokens, one per note (Zeng et al. 2021), MidiTok-compatible.
    Octuple,
    /// MMM: tracks one after another, bar infilling (Ens & Pasquier 2020), MidiTok-compatible.
    Mmm,
    /// Performance events (Oore et al. 2018).
    Performance,
    /// BachBot's serialized SATB chorales (Liang et al. 2017); needs 4 tracks S, A, T, B.
    Bachbot,
    /// TonicNet's chord + S, B, A, T steps (Peracha 2019); needs 4 tracks S, A, T, B.
    Tonicnet,
    /// Monophonic melody events on 16ths (Magenta's Melody RNN): the
    /// first track that is not chord symbols.
    Melody,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubwordKind {
    /// Byte-pair encoding.
    Bpe,
    /// Unigram language model.
    Unigram,
}

impl Scheme {
    fn from_name(s: &str) -> Option<Scheme> {
        Scheme::value_variants()
            .iter()
            .copied()
            .find(|v| v.to_possible_value().is_some_and(|p| p.get_name() == s))
    }
}

#[derive(Args, Debug)]
pub struct TokenizeArgs {
    /// A MIDI or score-JSON file (with --print), a folder of MIDI files, or
    /// (with --decode) a tokenized folder.
    pub input: PathBuf,
    /// The encoding.
    #[arg(long, value_enum, required_unless_present = "decode")]
    pub scheme: Option<Scheme>,
    /// The scheme's configuration as JSON (defaults: MidiTok's for REMI/TSD,
    /// Performance RNN's for performance events, 16ths for BachBot/TonicNet).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print one file's tokens as text, one line per sequence (MidiTok's spelling).
    #[arg(long, conflicts_with_all = ["output", "decode"])]
    pub print: bool,
    /// With --print: ids instead of token texts.
    #[arg(long, requires = "print")]
    pub ids: bool,
    /// Output folder (tokens, or MIDI files with --decode).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Decode a tokenized folder back to MIDI files.
    #[arg(long)]
    pub decode: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Source files per shard (a resumed run redoes at most one shard).
    #[arg(long, default_value_t = 256)]
    pub files_per_shard: u32,
    /// Also learn a subword vocabulary of this size over the folder's tokens
    /// and write the corpus in it to OUT/bpe (a tokenized folder of its own).
    #[arg(long, requires = "output")]
    pub bpe: Option<usize>,
    /// With --bpe: the subword model.
    #[arg(long, value_enum, default_value = "bpe")]
    pub subword: SubwordKind,
    /// Start over even if the output folder holds another run.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Build the tokenizer of a scheme from a config file or the defaults; also
/// returns the configuration as JSON, to be saved next to the tokens.
pub fn tokenizer(scheme: Scheme, config: Option<&PathBuf>) -> Result<(Box<dyn Tokenizer>, serde_json::Value)> {
    let text = match config {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => None,
    };
    let value: Option<serde_json::Value> = match &text {
        Some(t) => {
            let name = config.map(|p| p.display().to_string()).unwrap_or_default();
            Some(serde_json::from_str(t).with_context(|| format!("{name}: not JSON"))?)
        }
        None => None,
    };
    from_value(
        scheme,
        value,
        &config
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "default config".into()),
    )
}

fn from_value(
    scheme: Scheme,
    value: Option<serde_json::Value>,
    name: &str,
) -> Result<(Box<dyn Tokenizer>, serde_json::Value)> {
    fn parse<C: serde::de::DeserializeOwned + Default + serde::Serialize>(
        v: Option<serde_json::Value>,
        name: &str,
    ) -> Result<(C, serde_json::Value)> {
        let c: C = match v {
            Some(v) => serde_json::from_value(v).with_context(|| format!("{name}: invalid config"))?,
            None => C::default(),
        };
        let v = serde_json::to_value(&c)?;
        Ok((c, v))
    }
    Ok(match scheme {
        Scheme::Remi => {
            let (c, v) = parse::<BeatConfig>(value, name)?;
            (
                Box::new(Remi::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
        Scheme::Tsd => {
            let (c, v) = parse::<BeatConfig>(value, name)?;
            (
                Box::new(Tsd::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
        Scheme::Cpword => {
            let (c, v) = parse::<BeatConfig>(value, name)?;
            (
                Box::new(CpWord::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
        Scheme::Octuple => {
            let (c, v) = parse::<BeatConfig>(value, name)?;
            (
                Box::new(Octuple::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
        Scheme::Mmm => {
            let (c, v) = parse::<MmmConfig>(value, name)?;
            (
                Box::new(Mmm::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
        Scheme::Structured => {
            let (c, v) = parse::<BeatConfig>(value, name)?;
            (
                Box::new(Structured::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
        Scheme::Midilike => {
            let (c, v) = parse::<BeatConfig>(value, name)?;
            (
                Box::new(MidiLike::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
        Scheme::Performance => {
            let (c, v) = parse::<PerformanceConfig>(value, name)?;
            (
                Box::new(Performance::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
        Scheme::Bachbot => {
            let (c, v) = parse::<BachBotConfig>(value, name)?;
            (
                Box::new(BachBot::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
        Scheme::Tonicnet => {
            let (c, v) = parse::<TonicNetConfig>(value, name)?;
            (
                Box::new(TonicNet::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
        Scheme::Melody => {
            let (c, v) = parse::<MelodyConfig>(value, name)?;
            (
                Box::new(Melody::new(c).with_context(|| format!("{name}: invalid config"))?),
                v,
            )
        }
    })
}

pub fn run(a: TokenizeArgs) -> Result<()> {
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot start the thread pool")?;
    }
    if a.decode {
        return decode_folder(&a);
    }
    let scheme = a.scheme.context("--scheme is required")?;
    let (tok, config) = tokenizer(scheme, a.config.as_ref())?;
    if a.print {
        return print_file(&a, tok.as_ref());
    }
    if !a.input.is_dir() {
        bail!("{}: not a folder (use --print to tokenize one file)", a.input.display());
    }
    let out = a.output.as_ref().context("give the output folder with -o OUT_DIR")?;
    tokenize_folder(&a, tok.as_ref(), config, out)
}

fn print_file(a: &TokenizeArgs, tok: &dyn Tokenizer) -> Result<()> {
    let loaded = load(&a.input, &a.read)?;
    for w in &loaded.warnings {
        eprintln!("warning: {}: {w}", a.input.display());
    }
    let (seqs, _report) = tok
        .encode(&loaded.score)
        .with_context(|| format!("cannot tokenize {}", a.input.display()))?;
    let mut out = std::io::stdout().lock();
    for s in &seqs {
        if a.ids {
            let ids: Vec<String> = s.ids.iter().map(|i| i.to_string()).collect();
            writeln!(out, "{}", ids.join(" "))?;
        } else {
            writeln!(out, "{}", s.text())?;
        }
    }
    Ok(())
}

pub fn progress(len: u64, quiet: bool, what: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} files {per_sec} eta {eta}") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix(what.to_string());
    pb
}

/// Print a shard run's summary line and its first failures.
pub fn report_run(out: &Path, run: &ShardRun, items: usize, secs: f64) {
    let m = &run.manifest;
    let tokens: u64 = m.shards.iter().map(|s| s.ids).sum();
    let seqs: usize = m.files.iter().map(|f| f.sequences.len()).sum();
    eprintln!(
        "{}: {} files ({} resumed), {} sequences, {} tokens, {} failed, {:.2} s ({:.0} files/s)",
        out.display(),
        m.files.len(),
        run.resumed,
        seqs,
        tokens,
        m.failed.len(),
        secs,
        (items - run.resumed) as f64 / secs.max(1e-9)
    );
    for f in m.failed.iter().take(10) {
        eprintln!("  failed: {}: {}", f.path, f.error);
    }
}

fn tokenize_folder(a: &TokenizeArgs, tok: &dyn Tokenizer, config: serde_json::Value, out: &Path) -> Result<()> {
    let files = list_midi_files(&a.input)?;
    if files.is_empty() {
        bail!("{}: no MIDI files (.mid, .midi, .rmi, .kar) found", a.input.display());
    }
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(&a.input).unwrap_or(p).to_string_lossy().into_owned())
        .collect();
    let started = Instant::now();
    let pb = progress(files.len() as u64, a.quiet, &format!("tokenize {}", tok.name()));
    let opts = ReadOptions { strict: a.read.strict };
    let job = ShardJob {
        out,
        tokenizer: tok,
        config: &config,
        files_per_shard: a.files_per_shard,
        force: a.force,
    };
    let run = write_shards(
        &job,
        &names,
        |i| {
            read_midi_file(&files[i], &opts)
                .map(|r| r.score)
                .map_err(|e| e.to_string())
        },
        || pb.inc(1),
    )?;
    pb.finish_and_clear();
    report_run(out, &run, files.len(), started.elapsed().as_secs_f64());
    if let Some(size) = a.bpe {
        subword_folder(a, tok, &run.manifest, out, size)?;
    }
    Ok(())
}

/// Words of a sequence for subword training and encoding: bars for schemes
/// with `Bar` tokens (MidiTok's default split), else the whole sequence.
fn words(ids: &[u32], bar: Option<u32>) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    for &id in ids {
        if out.is_empty() || Some(id) == bar {
            out.push(Vec::new());
        }
        if let Some(w) = out.last_mut() {
            w.push(id);
        }
    }
    out
}

/// Learn a subword vocabulary over a tokenized folder (streaming its shards)
/// and write the corpus in it to `out/bpe`.
fn subword_folder(a: &TokenizeArgs, tok: &dyn Tokenizer, base: &Manifest, out: &Path, size: usize) -> Result<()> {
    let started = Instant::now();
    for s in &base.shards {
        if !base.shard_is_done(out, s.index) {
            bail!("{}: shard {} is damaged; run again to redo it", out.display(), s.index);
        }
    }
    let bar = tok.vocab().id(&Token::Bar);
    let config = SubwordConfig {
        model: match a.subword {
            SubwordKind::Bpe => SubwordModel::Bpe,
            SubwordKind::Unigram => SubwordModel::Unigram,
        },
        vocab_size: size,
        ..SubwordConfig::default()
    };
    // Training reads one shard at a time; only word counts are kept.
    let training = base.shards.iter().flat_map(|s| {
        let ids = base.read_shard(out, s.index).unwrap_or_default();
        let files: Vec<&FileEntry> = base.files.iter().filter(|f| f.shard == s.index).collect();
        let mut w = Vec::new();
        for f in files {
            for seq in base.slices(f, &ids).unwrap_or_default() {
                w.extend(words(seq, bar));
            }
        }
        w
    });
    let model = Subword::train(tok.vocab().len(), training, &config)
        .with_context(|| format!("cannot train the subword model on {}", out.display()))?;
    let dir = out.join("bpe");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut manifest = Manifest {
        vocab_size: model.vocab_size() as u64,
        shards: Vec::new(),
        files: Vec::new(),
        ..base.clone()
    };
    for s in &base.shards {
        let ids = base.read_shard(out, s.index)?;
        let files: Vec<&FileEntry> = base.files.iter().filter(|f| f.shard == s.index).collect();
        let encoded = files
            .par_iter()
            .map(|f| {
                base.slices(f, &ids)?
                    .into_iter()
                    .map(|seq| model.encode(&words(seq, bar)).map_err(anyhow::Error::from))
                    .collect::<Result<Vec<Vec<u32>>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let (info, refs) = write_shard(&dir, s.index, &encoded)?;
        manifest.shards.push(info);
        for (f, sequences) in files.into_iter().zip(refs) {
            manifest.files.push(FileEntry { sequences, ..f.clone() });
        }
    }
    let saved = serde_json::json!({
        "scheme": base.scheme,
        "config": base.config,
        "vocab": tok.vocab().to_file_form().tokens,
        "subword": { "config": config, "model": serde_json::from_str::<serde_json::Value>(&model.to_json()?)? },
    });
    let mut bytes = serde_json::to_vec(&saved)?;
    bytes.push(b'\n');
    write_atomic(&dir.join("tokenizer.json"), &bytes, true)?;
    manifest.save(&dir)?;
    let (before, after): (u64, u64) = (
        base.shards.iter().map(|s| s.ids).sum(),
        manifest.shards.iter().map(|s| s.ids).sum(),
    );
    eprintln!(
        "{}: {:?} vocabulary of {} over {} base tokens; {} tokens → {} ({:.2}x shorter), {:.2} s",
        dir.display(),
        config.model,
        model.vocab_size(),
        tok.vocab().len(),
        before,
        after,
        before as f64 / after.max(1) as f64,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn decode_folder(a: &TokenizeArgs) -> Result<()> {
    let dir = &a.input;
    let out = a
        .output
        .as_ref()
        .context("give the MIDI output folder with -o MIDI_DIR")?;
    let manifest = Manifest::load(dir)?
        .with_context(|| format!("{}: no manifest.json (not a tokenized folder)", dir.display()))?;
    let saved: serde_json::Value = {
        let p = dir.join("tokenizer.json");
        let t = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        serde_json::from_str(&t).with_context(|| format!("{}: not JSON", p.display()))?
    };
    let scheme =
        Scheme::from_name(&manifest.scheme).with_context(|| format!("unknown scheme '{}'", manifest.scheme))?;
    let (tok, _) = from_value(scheme, saved.get("config").cloned(), "tokenizer.json")?;
    let subword = match saved.get("subword").and_then(|s| s.get("model")) {
        Some(m) => Some(Subword::from_json(&m.to_string(), tok.vocab().len() as u32)?),
        None => None,
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let pb = progress(manifest.files.len() as u64, a.quiet, "decode");
    let results: Vec<Result<()>> = manifest
        .files
        .par_iter()
        .map(|f| {
            let mut ids = (0..f.sequences.len())
                .map(|i| manifest.read_sequence(dir, f, i))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(sw) = &subword {
                ids = ids.iter().map(|s| sw.decode(s)).collect::<Result<Vec<_>, _>>()?;
            }
            let score = tok
                .decode_ids(&ids)
                .with_context(|| format!("cannot decode {}", f.path))?;
            let bytes = write_midi(&score, MidiFormat::Type1).with_context(|| format!("cannot write {}", f.path))?;
            let target = out.join(Path::new(&f.path).with_extension("mid"));
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
            }
            write_atomic(&target, &bytes, a.force)?;
            pb.inc(1);
            Ok(())
        })
        .collect();
    pb.finish_and_clear();
    let failed: Vec<_> = results.into_iter().filter_map(|r| r.err()).collect();
    for e in failed.iter().take(10) {
        eprintln!("  failed: {e:#}");
    }
    eprintln!(
        "{}: {} MIDI files written, {} failed",
        out.display(),
        manifest.files.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("{} files could not be decoded", failed.len())
    }
}
