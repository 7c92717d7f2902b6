//! `fugue render`: a score to a WAV file.
//!
//! The built-in synthesizer plays by default, so this works on a fresh
//! machine; `--soundfont FILE.sf2` plays through that SoundFont instead
//! (loaded at run time, never bundled). Output is 16-bit stereo PCM, written
//! atomically; an existing file is kept unless `--force`.

use crate::cmd::{load, ReadArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use fugue_audio::{render, write_wav, RenderOptions, SoundFont, Synth};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// Input (.mid/.midi/.rmi/.kar, .musicxml/.xml/.mxl or .json).
    pub input: PathBuf,
    /// The WAV file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Play through this SoundFont (.sf2) instead of the built-in synthesizer.
    #[arg(long)]
    pub soundfont: Option<PathBuf>,
    /// Frames per second.
    #[arg(long, default_value_t = 44_100)]
    pub sample_rate: u32,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(a: RenderArgs) -> Result<()> {
    if a.output.extension().is_none_or(|e| !e.eq_ignore_ascii_case("wav")) {
        bail!("{}: the output must be a .wav file", a.output.display());
    }
    if !a.force && a.output.exists() {
        bail!("{}: already exists (use --force to overwrite)", a.output.display());
    }
    let loaded = load(&a.input, &a.read)?;
    for w in &loaded.warnings {
        eprintln!("warning: {}: {w}", a.input.display());
    }
    let synth = match &a.soundfont {
        Some(path) => Synth::SoundFont(SoundFont::load(path)?),
        None => Synth::BuiltIn,
    };
    let options = RenderOptions {
        sample_rate: a.sample_rate,
        synth,
        ..RenderOptions::default()
    };
    let audio = render(&loaded.score, &options).with_context(|| format!("cannot render {}", a.input.display()))?;
    write_wav(&a.output, &audio, a.force)?;
    Ok(())
}
