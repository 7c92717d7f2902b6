//! Commands: arguments as parsed (clap) → a plan with resolved inputs → run.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fugue_models::on_pool;
use fugue_score::io::write_atomic;
use fugue_score::midi::{read_midi, write_midi, MidiFormat, ReadOptions, ReadResult};
use fugue_score::{abc, musicxml};
use fugue_score::{Score, Tick, Warning};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The embedded sample: a Bach chorale harmonisation (public domain),
/// so that `fugue info` shows something on a fresh machine.
pub const SAMPLE_NAME: &str = "samples/bach_chorale.mid";
pub const SAMPLE: &[u8] = include_bytes!("../../../samples/bach_chorale.mid");

#[derive(Parser, Debug)]
#[command(name = "fugue", version, about = "Music modeling and generation toolkit")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Describe a MIDI, MusicXML or score-JSON file (the embedded sample when no file is given).
    Info(InfoArgs),
    /// Convert between MIDI, MusicXML (.musicxml/.xml/.mxl) and JSON, or from ABC (format from the extension).
    ///
    /// An ABC tunebook (.abc) converts one tune with `--tune X`; without it,
    /// OUTPUT is a folder (created if needed) that gets one MIDI file per
    /// tune, named `<X>-<title slug>.mid` (a book of one tune may also go to
    /// a file).
    Convert(ConvertArgs),
    /// Draw a piano-roll picture (PNG).
    Roll(RollArgs),
    /// Turn a score into the tokens of an encoding scheme.
    Tokenize(crate::tokenize::TokenizeArgs),
    /// Symbolic-music metrics (muspy's definitions) of a file or folder; compare with a reference folder.
    Metrics(crate::metrics::MetricsArgs),
    /// Datasets: list the known ones, describe one, prepare one as token shards.
    Data(crate::data::DataArgs),
    /// Render a score to a WAV file (built-in synthesizer, or a SoundFont).
    Render(crate::render::RenderArgs),
    /// Train a model on a dataset into a run folder (resumable).
    Train(crate::train::TrainArgs),
    /// Likelihood of a trained run on a split, in the paper's unit.
    Eval(crate::train::EvalArgs),
    /// Make music with the embedded default model or a trained run.
    Generate(crate::generate::GenerateArgs),
    /// Harmonize a melody: it becomes the soprano, Coconet writes alto, tenor and bass.
    Harmonize(crate::chorale::HarmonizeArgs),
    /// Rewrite chosen voices in chosen bars of a four-part chorale; the rest stays as it is.
    Infill(crate::chorale::InfillArgs),
    /// Voice-leading report of chorales: parallel fifths/octaves, crossings, ranges, spacing.
    EvalChorale(crate::chorale::EvalChoraleArgs),
}

#[derive(Args, Debug, Default)]
pub struct ReadArgs {
    /// Turn reader warnings into errors.
    #[arg(long)]
    pub strict: bool,
    /// MusicXML: keep grace notes (as 32nd notes) instead of dropping them.
    #[arg(long)]
    pub grace_notes: bool,
    /// MusicXML and ABC: read measures as written, without playing out repeats and voltas.
    #[arg(long)]
    pub no_repeats: bool,
    /// ABC: the tune to read, by its X: number (default: the first tune).
    #[arg(long, value_name = "X")]
    pub tune: Option<u32>,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// A .mid/.midi/.rmi/.kar, .musicxml/.xml/.mxl, .abc or .json file.
    pub file: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SmfType {
    #[value(name = "0")]
    Zero,
    #[value(name = "1")]
    One,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Input (.mid/.midi/.rmi/.kar, .musicxml/.xml/.mxl, .abc or .json).
    pub input: PathBuf,
    /// Output (.mid/.midi, .musicxml/.xml, .mxl or .json); for an ABC tunebook without --tune, a folder.
    pub output: PathBuf,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
    /// SMF type of a MIDI output.
    #[arg(long, value_enum, default_value = "1")]
    pub smf_type: SmfType,
    /// MusicXML output: the quantization grid, in divisions per quarter note.
    #[arg(long, default_value_t = 12)]
    pub divisions: u32,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Args, Debug)]
pub struct RollArgs {
    /// Input (.mid/.midi/.rmi/.kar, .musicxml/.xml/.mxl or .json).
    pub input: PathBuf,
    /// The PNG to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
    /// Picture width in pixels.
    #[arg(long, default_value_t = 1600)]
    pub width: u32,
    /// Picture height in pixels.
    #[arg(long, default_value_t = 600)]
    pub height: u32,
    /// Draw from this many seconds into the piece.
    #[arg(long)]
    pub start: Option<f64>,
    /// Draw up to this many seconds into the piece.
    #[arg(long)]
    pub end: Option<f64>,
    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info(a) => info(a),
        Command::Convert(a) => convert(a),
        Command::Roll(a) => crate::roll::run(a),
        Command::Tokenize(a) => crate::tokenize::run(a),
        Command::Metrics(a) => crate::metrics::run(a),
        Command::Data(a) => crate::data::run(a),
        Command::Render(a) => crate::render::run(a),
        // The commands that run networks over whole sequences run on a pool
        // thread (see `on_pool`). Not `generate`: the Transformer's CPU
        // decoder runs its own team of threads per token, and inside a
        // rayon task it assumes the cores are taken and uses one.
        Command::Train(a) => on_pool(|| crate::train::run_train(a)),
        Command::Eval(a) => on_pool(|| crate::train::run_eval(a)),
        Command::Generate(a) => crate::generate::run(a),
        Command::Harmonize(a) => on_pool(|| crate::chorale::run_harmonize(a)),
        Command::Infill(a) => on_pool(|| crate::chorale::run_infill(a)),
        Command::EvalChorale(a) => crate::chorale::run_eval_chorale(a),
    }
}

/// File kinds fugue reads and writes, from the extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Midi,
    Json,
    /// Uncompressed MusicXML (`.musicxml`, `.xml`).
    MusicXml,
    /// Compressed MusicXML (`.mxl`).
    Mxl,
    /// ABC notation (`.abc`), read only.
    Abc,
}

pub fn kind_of(path: &Path) -> Result<Kind> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mid" | "midi" | "rmi" | "kar" | "smf" => Ok(Kind::Midi),
        "json" => Ok(Kind::Json),
        "musicxml" | "xml" => Ok(Kind::MusicXml),
        "mxl" => Ok(Kind::Mxl),
        "abc" => Ok(Kind::Abc),
        "" => bail!(
            "{}: no file extension; use .mid, .musicxml, .mxl, .abc or .json",
            path.display()
        ),
        other => bail!(
            "{}: unsupported file type '.{other}' (fugue reads .mid/.midi/.rmi/.kar, .musicxml/.xml/.mxl, .abc and .json)",
            path.display()
        ),
    }
}

/// A loaded score with where it came from.
pub struct Loaded {
    pub score: Score<Tick>,
    pub warnings: Vec<Warning>,
    pub format: String,
}

pub fn load(path: &Path, read: &ReadArgs) -> Result<Loaded> {
    let opts = ReadOptions { strict: read.strict };
    match kind_of(path)? {
        Kind::Midi => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let r = read_midi(&bytes, &opts).map_err(|e| e.with_path(path))?;
            Ok(from_midi(r))
        }
        Kind::MusicXml | Kind::Mxl => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let opts = musicxml::ReadOptions {
                strict: read.strict,
                grace: if read.grace_notes {
                    musicxml::GraceNotes::Short
                } else {
                    musicxml::GraceNotes::Drop
                },
                expand_repeats: !read.no_repeats,
                ..musicxml::ReadOptions::default()
            };
            let r = musicxml::read_musicxml(&bytes, &opts).map_err(|e| e.with_path(path))?;
            let format = format!(
                "MusicXML {}{}{}",
                r.version.as_deref().unwrap_or("(no version)"),
                if r.timewise { ", timewise" } else { ", partwise" },
                if r.compressed { ", compressed" } else { "" }
            );
            Ok(Loaded {
                score: r.score,
                warnings: r.warnings,
                format,
            })
        }
        Kind::Abc => {
            let tunes = read_abc_book(path, read)?;
            let count = tunes.len();
            let tune = pick_tune(tunes, read.tune, path)?;
            let mut warnings = tune.warnings;
            if read.tune.is_none() && count > 1 {
                warnings.push(Warning {
                    at: fugue_score::Location::default(),
                    message: format!(
                        "the tunebook holds {count} tunes; read X:{} (choose with --tune)",
                        tune.x
                    ),
                });
            }
            Ok(Loaded {
                score: tune.score,
                warnings,
                format: format!(
                    "ABC, tune X:{}{}",
                    tune.x,
                    tune.title.map(|t| format!(" ({t})")).unwrap_or_default()
                ),
            })
        }
        Kind::Json => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let score: Score<Tick> =
                serde_json::from_str(&text).with_context(|| format!("{}: not a fugue score JSON", path.display()))?;
            Ok(Loaded {
                score,
                warnings: Vec::new(),
                format: "fugue score JSON".into(),
            })
        }
    }
}

/// Every tune of an ABC file.
fn read_abc_book(path: &Path, read: &ReadArgs) -> Result<Vec<abc::AbcTune>> {
    let opts = abc::ReadOptions {
        strict: read.strict,
        expand_repeats: !read.no_repeats,
        ..abc::ReadOptions::default()
    };
    Ok(abc::read_abc_file(path, &opts)?)
}

/// Tune `x` of a book (the first when `x` is `None`); an absent tune is an
/// error naming it, the file and the tunes there are.
fn pick_tune(tunes: Vec<abc::AbcTune>, x: Option<u32>, path: &Path) -> Result<abc::AbcTune> {
    let Some(x) = x else {
        return tunes
            .into_iter()
            .next()
            .with_context(|| format!("{}: no tune", path.display()));
    };
    let have: Vec<String> = tunes.iter().take(20).map(|t| t.x.to_string()).collect();
    let more = if tunes.len() > 20 { ", ..." } else { "" };
    tunes.into_iter().find(|t| t.x == x).with_context(|| {
        format!(
            "{}: no tune X:{x} (it holds X: {}{more})",
            path.display(),
            have.join(", ")
        )
    })
}

/// A file-name slug of a title: lower-case ASCII letters and digits, other
/// runs of characters as one `-`, at most 60 characters.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

/// An ABC tunebook to a folder of MIDI files, one per tune. Every target
/// is checked before anything is written, so a refused run writes nothing.
fn convert_book(a: &ConvertArgs, tunes: Vec<abc::AbcTune>) -> Result<()> {
    std::fs::create_dir_all(&a.output).with_context(|| format!("cannot create the folder {}", a.output.display()))?;
    let mut planned: Vec<(PathBuf, abc::AbcTune)> = Vec::with_capacity(tunes.len());
    for t in tunes {
        let s = slug(t.title.as_deref().unwrap_or(""));
        let stem = if s.is_empty() {
            t.x.to_string()
        } else {
            format!("{}-{s}", t.x)
        };
        let mut path = a.output.join(format!("{stem}.mid"));
        let mut n = 2;
        while planned.iter().any(|(p, _)| *p == path) {
            path = a.output.join(format!("{stem}-{n}.mid"));
            n += 1;
        }
        if !a.force && path.exists() {
            bail!("{}: already exists (use --force to overwrite)", path.display());
        }
        planned.push((path, t));
    }
    let fmt = match a.smf_type {
        SmfType::Zero => MidiFormat::Type0,
        SmfType::One => MidiFormat::Type1,
    };
    for (path, t) in &planned {
        print_warnings(&a.input, &t.warnings);
        let bytes = write_midi(&t.score, fmt).with_context(|| format!("cannot write {}", path.display()))?;
        write_atomic(path, &bytes, a.force)?;
    }
    eprintln!("wrote {} tunes to {}", planned.len(), a.output.display());
    Ok(())
}

fn from_midi(r: ReadResult) -> Loaded {
    Loaded {
        score: r.score,
        warnings: r.warnings,
        format: match r.smpte {
            Some((fps, sub)) => format!("MIDI (SMF type {}, SMPTE {fps} fps x {sub} ticks per frame)", r.format),
            None => format!("MIDI (SMF type {})", r.format),
        },
    }
}

fn print_warnings(name: &Path, warnings: &[Warning]) {
    for w in warnings {
        eprintln!("warning: {}: {w}", name.display());
    }
}

#[derive(Serialize)]
struct TrackInfo<'a> {
    name: &'a str,
    program: u8,
    channel: u8,
    is_drum: bool,
    notes: usize,
}

#[derive(Serialize)]
struct TempoInfo {
    tick: i64,
    qpm: f64,
}

#[derive(Serialize)]
struct TimeSigInfo {
    tick: i64,
    numerator: u8,
    denominator: u8,
}

#[derive(Serialize)]
struct KeySigInfo {
    tick: i64,
    key: String,
}

#[derive(Serialize)]
struct Info<'a> {
    file: String,
    format: &'a str,
    ticks_per_quarter: u16,
    notes: usize,
    duration_seconds: f64,
    tracks: Vec<TrackInfo<'a>>,
    tempos: Vec<TempoInfo>,
    time_signatures: Vec<TimeSigInfo>,
    key_signatures: Vec<KeySigInfo>,
    warnings: Vec<String>,
}

const SHARP_KEYS: [&str; 15] = [
    "Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#",
];
const MINOR_KEYS: [&str; 15] = [
    "ab", "eb", "bb", "f", "c", "g", "d", "a", "e", "b", "f#", "c#", "g#", "d#", "a#",
];

fn key_name(key: i8, minor: bool) -> String {
    let i = (i32::from(key) + 7).clamp(0, 14) as usize;
    if minor {
        format!("{} minor", MINOR_KEYS[i])
    } else {
        format!("{} major", SHARP_KEYS[i])
    }
}

fn info(a: InfoArgs) -> Result<()> {
    let (name, loaded) = match &a.file {
        Some(p) => (p.display().to_string(), load(p, &a.read)?),
        None => {
            let r = read_midi(SAMPLE, &ReadOptions { strict: a.read.strict }).map_err(|e| e.with_path(SAMPLE_NAME))?;
            (format!("{SAMPLE_NAME} (embedded)"), from_midi(r))
        }
    };
    let s = &loaded.score;
    let info = Info {
        file: name,
        format: &loaded.format,
        ticks_per_quarter: s.ticks_per_quarter,
        notes: s.note_count(),
        duration_seconds: s.duration_seconds(),
        tracks: s
            .tracks
            .iter()
            .map(|t| TrackInfo {
                name: &t.name,
                program: t.program,
                channel: t.channel,
                is_drum: t.is_drum,
                notes: t.notes.len(),
            })
            .collect(),
        tempos: s
            .tempos
            .iter()
            .map(|t| TempoInfo {
                tick: t.time,
                qpm: t.qpm(),
            })
            .collect(),
        time_signatures: s
            .time_signatures
            .iter()
            .map(|t| TimeSigInfo {
                tick: t.time,
                numerator: t.numerator,
                denominator: t.denominator,
            })
            .collect(),
        key_signatures: s
            .key_signatures
            .iter()
            .map(|k| KeySigInfo {
                tick: k.time,
                key: key_name(k.key, k.minor),
            })
            .collect(),
        warnings: loaded.warnings.iter().map(|w| w.to_string()).collect(),
    };
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &info)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "file:        {}", info.file)?;
    writeln!(out, "format:      {}", info.format)?;
    writeln!(out, "resolution:  {} ticks per quarter", info.ticks_per_quarter)?;
    writeln!(out, "duration:    {:.2} s", info.duration_seconds)?;
    writeln!(out, "notes:       {}", info.notes)?;
    writeln!(out, "tracks:      {}", info.tracks.len())?;
    for (i, t) in info.tracks.iter().enumerate() {
        let inst = if t.is_drum {
            "drums".to_string()
        } else {
            format!("program {}", t.program)
        };
        writeln!(
            out,
            "  {i:>3}  {:<24} {inst:<12} channel {:<2} {:>7} notes",
            format!("{:?}", t.name),
            t.channel + 1,
            t.notes
        )?;
    }
    let list = |v: Vec<String>| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    let shown = 8;
    let mut tempos: Vec<String> = info
        .tempos
        .iter()
        .take(shown)
        .map(|t| format!("{:.2} qpm @{}", t.qpm, t.tick))
        .collect();
    if info.tempos.len() > shown {
        tempos.push(format!("... ({} in all)", info.tempos.len()));
    }
    writeln!(out, "tempos:      {}", list(tempos))?;
    let ts = info
        .time_signatures
        .iter()
        .take(shown)
        .map(|t| format!("{}/{} @{}", t.numerator, t.denominator, t.tick));
    writeln!(out, "time sigs:   {}", list(ts.collect()))?;
    let ks = info
        .key_signatures
        .iter()
        .take(shown)
        .map(|k| format!("{} @{}", k.key, k.tick));
    writeln!(out, "key sigs:    {}", list(ks.collect()))?;
    writeln!(out, "warnings:    {}", info.warnings.len())?;
    for w in &info.warnings {
        writeln!(out, "  {w}")?;
    }
    Ok(())
}

fn convert(a: ConvertArgs) -> Result<()> {
    if kind_of(&a.input).ok() == Some(Kind::Abc) && a.read.tune.is_none() {
        let folder = a.output.is_dir() || a.output.extension().is_none();
        let tunes = read_abc_book(&a.input, &a.read)?;
        if folder {
            return convert_book(&a, tunes);
        }
        if tunes.len() > 1 {
            bail!(
                "{} holds {} tunes: choose one with --tune X, or give a folder as OUTPUT for one MIDI file per tune",
                a.input.display(),
                tunes.len()
            );
        }
    } else if a.read.tune.is_some() && kind_of(&a.input).ok() != Some(Kind::Abc) {
        bail!("--tune applies to ABC input (.abc) only");
    }
    let out_kind = kind_of(&a.output)?;
    if !a.force && a.output.exists() {
        bail!("{}: already exists (use --force to overwrite)", a.output.display());
    }
    let loaded = load(&a.input, &a.read)?;
    print_warnings(&a.input, &loaded.warnings);
    let bytes = match out_kind {
        Kind::Midi => {
            let fmt = match a.smf_type {
                SmfType::Zero => MidiFormat::Type0,
                SmfType::One => MidiFormat::Type1,
            };
            write_midi(&loaded.score, fmt).with_context(|| format!("cannot write {}", a.output.display()))?
        }
        Kind::MusicXml | Kind::Mxl => {
            let opts = musicxml::WriteOptions {
                divisions: a.divisions,
                ..musicxml::WriteOptions::default()
            };
            let written = if out_kind == Kind::Mxl {
                musicxml::write_mxl(&loaded.score, &opts)
            } else {
                musicxml::write_musicxml(&loaded.score, &opts).map(String::into_bytes)
            };
            written.with_context(|| format!("cannot write {}", a.output.display()))?
        }
        Kind::Abc => bail!("{}: fugue reads ABC but does not write it", a.output.display()),
        Kind::Json => {
            let mut v = serde_json::to_vec(&loaded.score)?;
            v.push(b'\n');
            v
        }
    };
    write_atomic(&a.output, &bytes, a.force)?;
    Ok(())
}
