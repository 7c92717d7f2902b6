//! What the music-making commands (`generate`, `harmonize`, `infill`)
//! share about their outputs: a seed from the clock, the checks before any
//! work (a `.mid` name, nothing overwritten without `--force`, the WAV and
//! PNG siblings included), and writing those siblings.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use fugue_score::io::write_atomic;
use fugue_score::{Score, Tick};

/// A seed when the user gave none: from the clock, short enough to type
/// back with `--seed`.
pub fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() % 100_000)
}

/// Refuses an output that is not `.mid`/`.midi`, or that exists (with its
/// requested `.wav`/`.png` siblings) unless `force`.
pub fn check_outputs(output: &Path, wav: bool, png: bool, force: bool) -> Result<()> {
    if output
        .extension()
        .is_none_or(|e| !(e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi")))
    {
        bail!("{}: the output must be a .mid file", output.display());
    }
    let siblings: Vec<PathBuf> = [(wav, "wav"), (png, "png")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, ext)| output.with_extension(ext))
        .collect();
    if !force {
        for p in std::iter::once(&output.to_path_buf()).chain(&siblings) {
            if p.exists() {
                bail!("{}: already exists (use --force to overwrite)", p.display());
            }
        }
    }
    Ok(())
}

/// Writes the piano-roll PNG and/or the WAV (built-in synthesizer) next to
/// `output`, printing each path.
pub fn write_siblings(score: &Score<Tick>, output: &Path, wav: bool, png: bool, force: bool) -> Result<()> {
    if png {
        let path = output.with_extension("png");
        write_atomic(&path, &crate::roll::render(score, 1200, 400, None, None)?, force)?;
        println!("wrote {}", path.display());
    }
    if wav {
        let path = output.with_extension("wav");
        let audio = fugue_audio::render(score, &fugue_audio::RenderOptions::default())?;
        fugue_audio::write_wav(&path, &audio, force)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
