//! `fugue tokenize`: a score as the token sequences of a scheme.

use crate::cmd::{load, ReadArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use fugue_tokens::beat_grid::BeatConfig;
use fugue_tokens::performance::{Performance, PerformanceConfig};
use fugue_tokens::remi::Remi;
use fugue_tokens::tsd::Tsd;
use fugue_tokens::Tokenizer;
use std::io::Write;
use std::path::PathBuf;

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Scheme {
    /// REMI (Huang & Yang 2020), MidiTok-compatible.
    Remi,
    /// TSD (time shift, duration), MidiTok-compatible.
    Tsd,
    /// Performance events (Oore et al. 2018).
    Performance,
}

#[derive(Args, Debug)]
pub struct TokenizeArgs {
    /// A MIDI or score-JSON file.
    pub input: PathBuf,
    /// The encoding.
    #[arg(long, value_enum)]
    pub scheme: Scheme,
    /// The scheme's configuration as JSON (defaults: MidiTok's for REMI,
    /// Performance RNN's for performance events).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print the tokens as text, one line per sequence (MidiTok's spelling).
    #[arg(long)]
    pub print: bool,
    /// Print ids instead of token texts.
    #[arg(long, requires = "print")]
    pub ids: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Build the tokenizer of a scheme, from a config file or the defaults.
pub fn tokenizer(scheme: Scheme, config: Option<&PathBuf>) -> Result<Box<dyn Tokenizer>> {
    let text = match config {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => None,
    };
    let name = config.map(|p| p.display().to_string()).unwrap_or_default();
    Ok(match scheme {
        Scheme::Remi => {
            let c: BeatConfig = match text {
                Some(t) => serde_json::from_str(&t).with_context(|| format!("{name}: not a REMI config"))?,
                None => BeatConfig::default(),
            };
            Box::new(Remi::new(c).with_context(|| format!("{name}: invalid config"))?)
        }
        Scheme::Tsd => {
            let c: BeatConfig = match text {
                Some(t) => serde_json::from_str(&t).with_context(|| format!("{name}: not a TSD config"))?,
                None => BeatConfig::default(),
            };
            Box::new(Tsd::new(c).with_context(|| format!("{name}: invalid config"))?)
        }
        Scheme::Performance => {
            let c: PerformanceConfig = match text {
                Some(t) => serde_json::from_str(&t).with_context(|| format!("{name}: not a performance config"))?,
                None => PerformanceConfig::default(),
            };
            Box::new(Performance::new(c).with_context(|| format!("{name}: invalid config"))?)
        }
    })
}

pub fn run(a: TokenizeArgs) -> Result<()> {
    if !a.print {
        bail!("only --print is available for now: fugue tokenize --scheme S FILE --print");
    }
    let tok = tokenizer(a.scheme, a.config.as_ref())?;
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
