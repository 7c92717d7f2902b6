//! The chorale doors: `fugue harmonize` (a melody becomes the soprano of a
//! four-part chorale), `fugue infill` (regenerate chosen voices in chosen
//! bars) and `fugue eval-chorale` (a voice-leading report).
//!
//! Both generators fill a region of the 16th-note SATB grid with Coconet
//! ([`fugue_sample::gibbs`]) or with a DeepBach run
//! ([`fugue_sample::pseudo_gibbs`], chosen by the run's recipe); everything
//! outside the region is copied from the input cell by cell. `harmonize`
//! also takes HARMONET (the embedded `harmonet` or a run): its harmony net
//! and chord-skeleton stage write alto, tenor and bass in quarters under a
//! soprano kept note for note ([`crate::harmonet`]); it only harmonizes a
//! whole melody, so `infill` refuses it. The output has
//! one track per voice, soprano first, at 480 ticks per quarter, with the
//! input's tempos, meters and keys (76 qpm and 4/4 when it has none).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use fugue_data::{DatasetRef, LoadOptions, Split};
use fugue_eval::voice_leading::{self, VoiceLeading};
use fugue_models::burn::tensor::Device;
use fugue_models::coconet::Coconet;
use fugue_models::deepbach::DeepBach;
use fugue_models::harmonet::Harmonet;
use fugue_sample::gibbs::{fill, FillConfig, FillStrategy};
use fugue_sample::pseudo_gibbs::{pseudo_gibbs, CellRule, PseudoGibbsConfig};
use fugue_score::io::write_atomic;
use fugue_score::midi::{write_midi, MidiFormat};
use fugue_score::{Score, Tempo, Tick, TimeSignature, Track};
use fugue_tokens::chorale::{SatbGrid, VOICE_NAMES};
use fugue_tokens::coconet::LOWEST_PITCH;

use crate::recipe::{
    data_root, deepbach_layout, deepbach_piece, grid_cells, piece_grid, AnyModel, DeepBachCorpus, Encoding,
};

/// Quarter notes per minute when the input has no tempo.
const DEFAULT_QPM: f64 = 76.0;
/// Ticks per quarter of every file written here.
const TPQ: u16 = 480;

/// How the region is drawn (shared by harmonize and infill).
#[derive(Args, Debug, Clone)]
pub struct FillArgs {
    /// `coconet` (the embedded chorale model), `harmonet` (the embedded
    /// HARMONET, harmonize only), or a Coconet, DeepBach or HARMONET run folder.
    #[arg(long, default_value = "coconet")]
    pub model: String,
    /// Seed (default: from the clock, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Gibbs steps. Coconet: network passes, each redrawing an annealed
    /// random block of the cells; 96 by default, fugue's choice for speed
    /// (each cell is still redrawn ~40 times under the annealed schedule);
    /// `0` runs the paper's one step per cell to write. DeepBach:
    /// pseudo-Gibbs iterations, each redrawing 8 random ticks of every
    /// voice; by default as many as give each cell of the region the
    /// draws DeepBach's command line gives (500 iterations over its 64
    /// ticks: ~62 per cell), i.e. 500 per 64 ticks of the longest voice
    /// region.
    #[arg(long)]
    pub gibbs_steps: Option<usize>,
    /// Orderless-NADE ancestral sampling (one cell per pass) instead of Gibbs.
    #[arg(long)]
    pub ancestral: bool,
    /// Softmax temperature of every draw (Coconet: 0.99 by default).
    /// DeepBach anneals from 1.1·T down to T (T = 1 by default). HARMONET:
    /// of each beat's harmony, 0 by default (the most likely one).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// DeepBach infill: keep the rhythm of the rewritten cells (onsets stay
    /// onsets and draw a pitch, held and silent cells stay as they are).
    #[arg(long)]
    pub keep_rhythm: bool,
    /// Which checkpoint of a run folder: best or last.
    #[arg(long, default_value = "best")]
    pub checkpoint: String,
    /// cpu, or cuda / vulkan (a GPU) when built with that feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Also write a WAV (built-in synthesizer) next to the MIDI file.
    #[arg(long)]
    pub wav: bool,
    /// Also write a piano-roll PNG next to the MIDI file.
    #[arg(long)]
    pub png: bool,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
    /// Set by `harmonize` for one melody: HARMONET prints its key and skeleton.
    #[arg(skip)]
    pub verbose_skeleton: bool,
}

#[derive(Args, Debug)]
pub struct HarmonizeArgs {
    /// The melody (.mid, .musicxml/.xml/.mxl or .abc): the highest note of
    /// its first track with notes, on the 16th-note grid, becomes the soprano.
    pub melody: Option<PathBuf>,
    /// Harmonize the soprano of every chorale of this dataset's split
    /// instead (e.g. `jsb-16th`); OUTPUT is then a folder.
    #[arg(long, conflicts_with = "melody")]
    pub data: Option<String>,
    /// The split for --data.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Where datasets live (else $FUGUE_DATA, else ../shared/data).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// The MIDI file to write (a folder with --data).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Fermatas to place, comma-separated `BAR.BEAT` positions (1-based,
    /// bars and beats of the first meter from the start: `4.3,8.3`; `4`
    /// is `4.1`): the melody note sounding there is held under a fermata,
    /// in addition to any the melody file has. HARMONET ends a phrase
    /// there; a DeepBach run trained with fermatas reads them as metadata.
    #[arg(long, value_delimiter = ',', conflicts_with = "data")]
    pub fermatas: Vec<String>,
    #[command(flatten)]
    pub fill: FillArgs,
}

#[derive(Args, Debug)]
pub struct InfillArgs {
    /// A four-track chorale (soprano, alto, tenor, bass).
    pub input: PathBuf,
    /// Voices to rewrite, comma-separated: soprano, alto, tenor, bass (or s, a, t, b). Default: all.
    #[arg(long, value_delimiter = ',')]
    pub voices: Vec<String>,
    /// Bars to rewrite, 1-based and inclusive: `3-5` or `4`. Default: all.
    #[arg(long)]
    pub bars: Option<String>,
    /// The MIDI file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub fill: FillArgs,
}

#[derive(Args, Debug)]
pub struct EvalChoraleArgs {
    /// Four-track chorale files, or folders of them.
    pub files: Vec<PathBuf>,
    /// Report on a dataset's chorales instead (e.g. `jsb-16th`: Bach's own rate).
    #[arg(long)]
    pub data: Option<String>,
    /// The split for --data.
    #[arg(long, default_value = "test")]
    pub split: String,
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Print JSON (totals, rates and one entry per file).
    #[arg(long)]
    pub json: bool,
}

fn read_score(path: &Path) -> Result<Score<Tick>> {
    if !path.is_file() {
        bail!("{}: no such file", path.display());
    }
    Ok(crate::cmd::load(path, &crate::cmd::ReadArgs::default())
        .with_context(|| format!("cannot read {}", path.display()))?
        .score)
}

/// A model that fills chorales.
// One per command, loaded once: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum ChoraleModel {
    Coconet(Coconet),
    /// With what its run learnt of its corpus (older runs: unknown).
    DeepBach(DeepBach, Option<DeepBachCorpus>),
    Harmonet(Harmonet),
}

impl ChoraleModel {
    /// Whether fermatas change what the model writes: HARMONET ends a
    /// phrase at one; DeepBach reads them as metadata unless its corpus had
    /// none (then it reads "no fermata" everywhere); Coconet has no input
    /// for them.
    fn reads_fermatas(&self) -> bool {
        match self {
            ChoraleModel::Coconet(_) => false,
            ChoraleModel::DeepBach(_, corpus) => corpus.as_ref().is_none_or(|c| c.fermatas),
            ChoraleModel::Harmonet(_) => true,
        }
    }
}

/// The chorale model: the embedded Coconet or HARMONET, a Coconet, DeepBach or HARMONET run.
fn load_chorale_model(name: &str, checkpoint: &str, device: &Device) -> Result<ChoraleModel> {
    let (recipe, model) = crate::embedded::load_model(name, checkpoint, device)?;
    match (model, &recipe.data.encoding) {
        (AnyModel::Coconet(m), Encoding::CoconetRoll { steps_per_quarter }) => {
            if *steps_per_quarter != 4 {
                bail!(
                    "model `{name}` works on {steps_per_quarter} steps per quarter; the chorale doors need 16ths (4)"
                );
            }
            Ok(ChoraleModel::Coconet(m))
        }
        (AnyModel::DeepBach(m), Encoding::DeepBach { corpus }) => Ok(ChoraleModel::DeepBach(m, corpus.clone())),
        (AnyModel::Harmonet(m), Encoding::Harmonet) => Ok(ChoraleModel::Harmonet(m)),
        _ => bail!("model `{name}` is not a Coconet, DeepBach or HARMONET model (harmonize and infill need one)"),
    }
}

fn fill_config(fill: &FillArgs, seed: u64) -> FillConfig {
    let steps = fill.gibbs_steps.unwrap_or(96);
    FillConfig {
        strategy: if fill.ancestral {
            FillStrategy::Ancestral
        } else {
            FillStrategy::gibbs((steps > 0).then_some(steps))
        },
        temperature: fill.temperature.unwrap_or(0.99),
        seed,
    }
}

/// Fills `region` of `grid` with whichever model was given.
fn fill_chorale(
    model: &ChoraleModel,
    grid: &SatbGrid,
    region: &[[bool; 4]],
    fill: &FillArgs,
    seed: u64,
    device: &Device,
) -> Result<SatbGrid> {
    match model {
        ChoraleModel::Coconet(m) => {
            if fill.keep_rhythm {
                bail!("--keep-rhythm needs a DeepBach model (Coconet does not tell a held note from a repeated one)");
            }
            fill_grid(m, grid, region, &fill_config(fill, seed), device)
        }
        ChoraleModel::DeepBach(m, corpus) => deepbach_fill_grid(m, corpus.as_ref(), grid, region, fill, seed, device),
        ChoraleModel::Harmonet(_) => bail!(
            "HARMONET harmonizes a whole melody (fugue harmonize); it cannot rewrite chosen voices and bars: use coconet or a DeepBach run for infill"
        ),
    }
}

/// DeepBach's default number of pseudo-Gibbs iterations for a region of
/// `ticks` ticks per voice. The reference command line runs 500 iterations
/// of 8 draws per voice over a 64-tick excerpt, ~62 draws per cell; a fixed
/// 500 over a whole chorale (~250 ticks) would give each cell a quarter of
/// that, too few for the chain to leave its random start.
fn deepbach_iterations(ticks: usize) -> usize {
    (ticks * 500).div_ceil(64).max(1)
}

/// [`fill_grid`] with DeepBach's pseudo-Gibbs sampling. The region's cells
/// are drawn as tokens (a pitch starts a note, `__` holds, `rest`), the
/// grid is decoded from the tokens, and cells outside the region keep their
/// pitch; a note held across the region's end goes on only if the cell
/// before it still has its pitch, as in [`fill_grid`].
// Each argument is a separate concern the caller owns; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
fn deepbach_fill_grid(
    model: &DeepBach,
    corpus: Option<&DeepBachCorpus>,
    grid: &SatbGrid,
    region: &[[bool; 4]],
    fill: &FillArgs,
    seed: u64,
    device: &Device,
) -> Result<SatbGrid> {
    if fill.ancestral {
        bail!("--ancestral is Coconet's sampler; DeepBach samples by pseudo-Gibbs");
    }
    let region_ticks = (0..4)
        .map(|v| region.iter().filter(|r| r[v]).count())
        .max()
        .unwrap_or(0);
    let iterations = fill.gibbs_steps.unwrap_or_else(|| deepbach_iterations(region_ticks));
    if iterations == 0 {
        bail!("--gibbs-steps 0: DeepBach needs at least one pseudo-Gibbs iteration");
    }
    let temperature = fill.temperature.unwrap_or(1.0);
    let layout = deepbach_layout()?;
    let piece = deepbach_piece(grid)?;
    // A fermata or key the training data never had has an untrained
    // embedding: the model reads "none" instead.
    let metadata = vec![
        if corpus.is_some_and(|c| !c.fermatas) {
            vec![0; piece.len()]
        } else {
            piece.fermata.clone()
        },
        piece.tick.clone(),
        if corpus.is_some_and(|c| !c.keys) {
            vec![0; piece.len()]
        } else {
            piece.key.clone()
        },
    ];
    let rules: Vec<[CellRule; 4]> = (0..piece.len())
        .map(|t| {
            std::array::from_fn(|v| match (region[t][v], fill.keep_rhythm) {
                (false, _) => CellRule::Fixed,
                (true, false) => CellRule::Free,
                (true, true) if grid.onsets[t][v] => CellRule::Pitch,
                (true, true) if grid.steps[t][v].is_some() => CellRule::Hold,
                (true, true) => CellRule::Fixed,
            })
        })
        .collect();
    let config = PseudoGibbsConfig {
        iterations,
        temperature: 1.1 * temperature,
        min_temperature: temperature,
        ranges: corpus.map(|c| c.voice_ranges.map(|[lo, hi]| (lo, hi))),
        seed,
        ..PseudoGibbsConfig::default()
    };
    let mut voices = piece.voices.clone();
    let started = std::time::Instant::now();
    let stats = pseudo_gibbs(model, &layout, &mut voices, &metadata, &rules, &config, device)?;
    eprintln!(
        "{} network passes, {} draws in {:.1} s",
        stats.passes,
        stats.draws,
        started.elapsed().as_secs_f64()
    );
    let db = fugue_tokens::deepbach::DeepBach::new(0)?;
    let [s, a, t, b] = &voices;
    let seqs = fugue_tokens::deepbach::DeepBachSeqs {
        voices: [
            db.vocab().decode(s)?,
            db.vocab().decode(a)?,
            db.vocab().decode(t)?,
            db.vocab().decode(b)?,
        ],
        fermata: piece.fermata.clone(),
        tick: piece.tick.clone(),
        key: piece.key.clone(),
    };
    let drawn = db.decode(&seqs)?;
    if drawn.len() != grid.len() {
        bail!("DeepBach's tokens decoded to {} steps, not {}", drawn.len(), grid.len());
    }
    let mut out = grid.clone();
    for (t, r) in region.iter().enumerate() {
        for (v, &inside) in r.iter().enumerate() {
            if inside {
                out.steps[t][v] = drawn.steps[t][v];
                out.onsets[t][v] = drawn.onsets[t][v];
            } else if t > 0 && region[t - 1][v] {
                // Just after the region: the held note goes on only if the
                // pitch before it is still its pitch.
                out.onsets[t][v] =
                    out.steps[t][v].is_some() && (grid.onsets[t][v] || out.steps[t - 1][v] != out.steps[t][v]);
            }
        }
    }
    out.validate()?;
    Ok(out)
}

/// Fills `region` of `grid` and returns the new grid: cells outside the
/// region keep their pitch and onset; inside, a note starts where the
/// pitch changes or the region begins. A held note that enters the region
/// is cut at the region's edge; one that leaves it goes on held only if the
/// drawn cell before it has its pitch (else it starts at the edge).
fn fill_grid(
    model: &Coconet,
    grid: &SatbGrid,
    region: &[[bool; 4]],
    config: &FillConfig,
    device: &Device,
) -> Result<SatbGrid> {
    let mut cells = grid_cells(&grid.steps, 1)?;
    for (cell, r) in cells.iter_mut().zip(region) {
        for v in 0..4 {
            if r[v] {
                cell[v] = None;
            }
        }
    }
    let started = std::time::Instant::now();
    let stats = fill(model, &mut cells, region, config, device)?;
    eprintln!(
        "{} network passes, {} draws in {:.1} s",
        stats.passes,
        stats.draws,
        started.elapsed().as_secs_f64()
    );
    let mut out = grid.clone();
    for t in 0..out.len() {
        for v in 0..4 {
            if region[t][v] {
                out.steps[t][v] = cells[t][v].map(|p| p + LOWEST_PITCH);
            }
        }
    }
    for (t, r) in region.iter().enumerate() {
        for (v, &inside) in r.iter().enumerate() {
            let before = if t == 0 { None } else { out.steps[t - 1][v] };
            let edge = t == 0 || region[t - 1][v] != inside;
            if inside || edge {
                // Inside: a change of pitch starts a note, and so does the
                // region's edge; outside at the edge: the held note goes on
                // only if the pitch before it is still its pitch.
                out.onsets[t][v] = out.steps[t][v].is_some()
                    && (before != out.steps[t][v] || (inside && edge) || (!inside && grid.onsets[t][v]));
            }
        }
    }
    out.validate()?;
    Ok(out)
}

/// The grid as a 480-tpq score with `meta`'s tempos, meters and keys.
fn grid_score(grid: &SatbGrid, meta: Option<&Score<Tick>>) -> Result<Score<Tick>> {
    let mut score = grid.to_score().resample(TPQ, None)?;
    let meta = meta.map(|m| m.resample(TPQ, None)).transpose()?;
    score.tempos = meta.as_ref().map(|m| m.tempos.clone()).unwrap_or_default();
    if score.tempos.is_empty() {
        score.tempos.push(Tempo::from_qpm(0, DEFAULT_QPM));
    }
    score.time_signatures = meta.as_ref().map(|m| m.time_signatures.clone()).unwrap_or_default();
    if score.time_signatures.is_empty() {
        score.time_signatures.push(TimeSignature::new(0, 4, 4));
    }
    if let Some(m) = &meta {
        if !m.key_signatures.is_empty() {
            score.key_signatures = m.key_signatures.clone();
        }
    }
    Ok(score)
}

fn write_outputs(score: &Score<Tick>, output: &Path, fill: &FillArgs) -> Result<()> {
    write_atomic(output, &write_midi(score, MidiFormat::Type1)?, fill.force)?;
    println!("wrote {} ({} notes)", output.display(), score.note_count());
    crate::output::write_siblings(score, output, fill.wav, fill.png, fill.force)
}

/// The soprano line of a melody file: the highest note of its first track
/// with notes, on the 16th grid (repeated notes stay repeated).
fn melody_grid(score: &Score<Tick>, path: &Path) -> Result<SatbGrid> {
    let Some(track) = score.tracks.iter().find(|t| !t.notes.is_empty()) else {
        bail!("{}: no notes to harmonize", path.display());
    };
    let mut four = Score::new(score.ticks_per_quarter);
    four.tracks.push(track.clone());
    for name in &VOICE_NAMES[1..] {
        four.tracks.push(Track::new(*name, 0, 0));
    }
    four.key_signatures = score.key_signatures.clone();
    four.markers = score.markers.clone();
    let (grid, _) = SatbGrid::from_score(&four, 4).with_context(|| format!("{}: not a melody", path.display()))?;
    Ok(grid)
}

fn harmonize_grid(
    model: &ChoraleModel,
    soprano: &SatbGrid,
    fill: &FillArgs,
    seed: u64,
    device: &Device,
) -> Result<SatbGrid> {
    if fill.keep_rhythm {
        bail!("--keep-rhythm applies to infill: a melody has no alto, tenor or bass rhythm to keep");
    }
    if let ChoraleModel::Harmonet(m) = model {
        if fill.ancestral || fill.gibbs_steps.is_some() {
            bail!("--ancestral and --gibbs-steps are Coconet's and DeepBach's; HARMONET draws one harmony per beat");
        }
        let config = crate::harmonet::config(fill.temperature, seed)?;
        return crate::harmonet::harmonize(m, soprano, &config, fill.verbose_skeleton, device);
    }
    let region: Vec<[bool; 4]> = vec![[false, true, true, true]; soprano.len()];
    fill_chorale(model, soprano, &region, fill, seed, device)
}

pub fn run_harmonize(a: HarmonizeArgs) -> Result<()> {
    let seed = a.fill.seed.unwrap_or_else(crate::output::clock_seed);
    let device = fugue_models::device(&a.fill.device, false)?;
    if let Some(data) = &a.data {
        // Every chorale of a split: its soprano harmonized, one file each.
        let split = Split::parse(&a.split).with_context(|| format!("unknown split `{}`", a.split))?;
        let what = DatasetRef::parse(data)?;
        let dataset = fugue_data::load(&what, &data_root(a.data_root.as_deref()), &LoadOptions::default())?;
        if a.output.exists() && !a.output.is_dir() {
            bail!("{}: --data writes a folder, and this is a file", a.output.display());
        }
        std::fs::create_dir_all(&a.output).with_context(|| format!("cannot create {}", a.output.display()))?;
        let model = load_chorale_model(&a.fill.model, &a.fill.checkpoint, &device)?;
        let mut done = 0;
        let mut not_satb = 0;
        for (i, piece) in dataset.split(split).enumerate() {
            let Some(bach) = piece_grid(&dataset, piece)? else {
                not_satb += 1;
                continue;
            };
            let out = a.output.join(format!("{:03}.mid", i));
            if out.exists() && !a.fill.force {
                bail!("{}: already exists (use --force to overwrite)", out.display());
            }
            let mut soprano = bach.into_owned();
            for cell in soprano.steps.iter_mut() {
                cell[1..].fill(None);
            }
            for onset in soprano.onsets.iter_mut() {
                onset[1..].fill(false);
            }
            let grid = harmonize_grid(&model, &soprano, &a.fill, seed.wrapping_add(i as u64), &device)
                .with_context(|| piece.id.clone())?;
            write_atomic(
                &out,
                &write_midi(&grid_score(&grid, None)?, MidiFormat::Type1)?,
                a.fill.force,
            )?;
            done += 1;
        }
        println!(
            "harmonized {done} chorales of {data} {} into {} (seed {seed}){}",
            a.split,
            a.output.display(),
            if not_satb > 0 {
                format!("; {not_satb} pieces that are not four-voice chorales left out")
            } else {
                String::new()
            }
        );
        return Ok(());
    }
    let Some(melody) = &a.melody else {
        bail!("give a melody file, or --data NAME to harmonize a dataset's sopranos");
    };
    crate::output::check_outputs(&a.output, a.fill.wav, a.fill.png, a.fill.force)?;
    let score = read_score(melody)?;
    let mut soprano = melody_grid(&score, melody)?;
    let model = load_chorale_model(&a.fill.model, &a.fill.checkpoint, &device)?;
    if !a.fermatas.is_empty() {
        let at = a
            .fermatas
            .iter()
            .map(|f| parse_fermata(f))
            .collect::<Result<Vec<_>>>()?;
        place_fermatas(&mut soprano, &score, &at)?;
        if !model.reads_fermatas() {
            eprintln!(
                "warning: --fermatas: this model does not read fermatas (Coconet, or DeepBach trained without them); they only mark the output"
            );
        }
    }
    let fill = FillArgs {
        verbose_skeleton: true,
        ..a.fill.clone()
    };
    let grid = harmonize_grid(&model, &soprano, &fill, seed, &device)
        .with_context(|| format!("{}: the melody", melody.display()))?;
    write_outputs(&grid_score(&grid, Some(&score))?, &a.output, &a.fill)?;
    println!("seed {seed}");
    Ok(())
}

/// `4.3` (bar 4, beat 3) or `4` (its first beat), both 1-based.
fn parse_fermata(s: &str) -> Result<(usize, usize)> {
    let number = |x: &str, what: &str| -> Result<usize> {
        x.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1)
            .with_context(|| format!("--fermatas {s}: `{x}` is not a {what} number (1, 2, …)"))
    };
    match s.split_once('.') {
        Some((bar, beat)) => Ok((number(bar, "bar")?, number(beat, "beat")?)),
        None => Ok((number(s, "bar")?, 1)),
    }
}

/// Puts the soprano note sounding at each `(bar, beat)` (of the first
/// meter, from the start) under a fermata, all its steps.
fn place_fermatas(grid: &mut SatbGrid, score: &Score<Tick>, at: &[(usize, usize)]) -> Result<()> {
    let (numerator, denominator) = first_meter(score);
    let beat_steps = (4 * grid.steps_per_quarter as usize / denominator).max(1);
    for &(bar, beat) in at {
        if beat > numerator {
            bail!("--fermatas {bar}.{beat}: a bar of {numerator}/{denominator} has {numerator} beats");
        }
        let step = ((bar - 1) * numerator + beat - 1) * beat_steps;
        if step >= grid.len() {
            bail!(
                "--fermatas {bar}.{beat}: the melody has {} bars",
                grid.len().div_ceil(numerator * beat_steps)
            );
        }
        if grid.steps[step][0].is_none() {
            bail!("--fermatas {bar}.{beat}: the melody rests there; a fermata goes over a note");
        }
        let start = (0..=step).rev().find(|&t| grid.onsets[t][0]).unwrap_or(0);
        let end = (step + 1..grid.len())
            .find(|&t| grid.onsets[t][0] || grid.steps[t][0].is_none())
            .unwrap_or(grid.len());
        grid.fermatas[start..end].fill(true);
    }
    Ok(())
}

/// The first meter's (numerator, denominator), 4/4 when the score has
/// none: `--bars` and `--fermatas` count bars of it from the start.
fn first_meter(score: &Score<Tick>) -> (usize, usize) {
    score.time_signatures.first().map_or((4, 4), |ts| {
        (usize::from(ts.numerator), usize::from(ts.denominator.max(1)))
    })
}

/// `3-5` or `4` as a 1-based inclusive range.
fn parse_bars(s: &str) -> Result<(usize, usize)> {
    let parse = |x: &str| -> Result<usize> {
        x.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1)
            .with_context(|| format!("--bars {s}: `{x}` is not a bar number (1, 2, …)"))
    };
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => (parse(s)?, parse(s)?),
    };
    if b < a {
        bail!("--bars {s}: the range runs backwards");
    }
    Ok((a, b))
}

fn parse_voice(s: &str) -> Result<usize> {
    match s.trim().to_ascii_lowercase().as_str() {
        "s" | "soprano" => Ok(0),
        "a" | "alto" => Ok(1),
        "t" | "tenor" => Ok(2),
        "b" | "bass" => Ok(3),
        other => bail!("--voices: unknown voice `{other}` (soprano, alto, tenor, bass)"),
    }
}

/// The cells to rewrite: `voices` × the steps of `bars` (bars of the first
/// meter, counted from the start of the piece).
fn infill_region(
    score: &Score<Tick>,
    steps: usize,
    voices: &[usize],
    bars: Option<(usize, usize)>,
) -> Result<Vec<[bool; 4]>> {
    let (numerator, denominator) = first_meter(score);
    let bar_steps = (numerator * 16 / denominator).max(1);
    let span = match bars {
        Some((a, b)) => {
            let bars_in_piece = steps.div_ceil(bar_steps);
            if a > bars_in_piece {
                bail!("--bars {a}-{b}: the piece has {bars_in_piece} bars");
            }
            ((a - 1) * bar_steps)..(b * bar_steps).min(steps)
        }
        None => 0..steps,
    };
    let voices: Vec<usize> = if voices.is_empty() {
        vec![0, 1, 2, 3]
    } else {
        voices.to_vec()
    };
    Ok((0..steps)
        .map(|t| std::array::from_fn(|v| span.contains(&t) && voices.contains(&v)))
        .collect())
}

pub fn run_infill(a: InfillArgs) -> Result<()> {
    crate::output::check_outputs(&a.output, a.fill.wav, a.fill.png, a.fill.force)?;
    let seed = a.fill.seed.unwrap_or_else(crate::output::clock_seed);
    let score = read_score(&a.input)?;
    let (grid, _) = SatbGrid::from_score(&score, 4)
        .with_context(|| format!("{}: infill needs a chorale of four tracks", a.input.display()))?;
    let voices = a.voices.iter().map(|v| parse_voice(v)).collect::<Result<Vec<_>>>()?;
    let bars = a.bars.as_deref().map(parse_bars).transpose()?;
    let region = infill_region(&score, grid.len(), &voices, bars)?;
    let device = fugue_models::device(&a.fill.device, false)?;
    let model = load_chorale_model(&a.fill.model, &a.fill.checkpoint, &device)?;
    let out = fill_chorale(&model, &grid, &region, &a.fill, seed, &device)
        .with_context(|| format!("{}", a.input.display()))?;
    write_outputs(&grid_score(&out, Some(&score))?, &a.output, &a.fill)?;
    println!("seed {seed}");
    Ok(())
}

fn chorale_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        ["mid", "midi", "musicxml", "xml", "mxl"].contains(&e.to_ascii_lowercase().as_str())
                    })
                })
                .collect();
            inside.sort();
            out.extend(inside);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            bail!("{}: no such file or folder", p.display());
        }
    }
    Ok(out)
}

pub fn run_eval_chorale(a: EvalChoraleArgs) -> Result<()> {
    let mut reports: Vec<(String, VoiceLeading)> = Vec::new();
    if let Some(data) = &a.data {
        let split = Split::parse(&a.split).with_context(|| format!("unknown split `{}`", a.split))?;
        let what = DatasetRef::parse(data)?;
        let dataset = fugue_data::load(&what, &data_root(a.data_root.as_deref()), &LoadOptions::default())?;
        for piece in dataset.split(split) {
            // Pieces that are not four-voice chorales have no voice leading
            // to report; the loader has already named them.
            if let Some(g) = piece_grid(&dataset, piece)? {
                reports.push((piece.id.clone(), voice_leading::report(&g.steps, &g.onsets)?));
            }
        }
    }
    for path in chorale_files(&a.files)? {
        let score = read_score(&path)?;
        let (grid, _) =
            SatbGrid::from_score(&score, 4).with_context(|| format!("{}: not a four-voice chorale", path.display()))?;
        let r = voice_leading::report(&grid.steps, &grid.onsets).with_context(|| format!("{}", path.display()))?;
        reports.push((path.display().to_string(), r));
    }
    if reports.is_empty() {
        bail!("nothing to report on: give chorale files or folders, or --data NAME");
    }
    let total: VoiceLeading = reports.iter().map(|(_, r)| r).sum();
    let rates = total.rates();
    if a.json {
        let files: Vec<_> = reports
            .iter()
            .map(|(name, r)| serde_json::json!({"file": name, "report": r}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"chorales": reports.len(), "total": total, "rates": rates, "files": files})
        );
        return Ok(());
    }
    println!(
        "{} chorales: {} notes, {} sonorities, {} transitions",
        reports.len(),
        total.notes,
        total.sonorities,
        total.transitions
    );
    println!(
        "parallel fifths  {:>6}  ({:.2} per 100 transitions)",
        total.parallel_fifths, rates.parallel_fifths_per_100_transitions
    );
    println!(
        "parallel octaves {:>6}  ({:.2} per 100 transitions)",
        total.parallel_octaves, rates.parallel_octaves_per_100_transitions
    );
    println!(
        "voice crossings  {:>6}  ({:.2} per 100 sonorities)",
        total.voice_crossings, rates.crossings_per_100_sonorities
    );
    println!(
        "spacing errors   {:>6}  ({:.2} per 100 sonorities)",
        total.spacing_errors, rates.spacing_errors_per_100_sonorities
    );
    println!(
        "range violations {:>6}  ({:.2} per 100 notes)",
        total.range_violations, rates.range_violations_per_100_notes
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deepbach_iterations_give_each_cell_the_reference_draws() {
        // The reference: 500 iterations over 64 ticks.
        assert_eq!(deepbach_iterations(64), 500);
        assert_eq!(deepbach_iterations(256), 2000);
        assert_eq!(deepbach_iterations(1), 8);
        assert_eq!(deepbach_iterations(0), 1);
    }

    #[test]
    fn fermatas_are_placed_over_the_whole_note_sounding_at_a_beat() {
        assert_eq!(parse_fermata("4.3").unwrap_or_else(|e| panic!("{e}")), (4, 3));
        assert_eq!(parse_fermata("2").unwrap_or_else(|e| panic!("{e}")), (2, 1));
        assert!(parse_fermata("0.1").is_err() && parse_fermata("1.x").is_err());
        // 3/4, one bar: a dotted half (steps 0..12) ... then bar 2: a
        // quarter, a quarter rest, a quarter.
        let mut score = Score::new(480);
        score.time_signatures.push(fugue_score::TimeSignature::new(0, 3, 4));
        let mut grid = SatbGrid {
            steps: Vec::new(),
            onsets: Vec::new(),
            fermatas: Vec::new(),
            steps_per_quarter: 4,
            key: None,
        };
        for t in 0..24 {
            let sounding = !(16..20).contains(&t);
            grid.steps.push([sounding.then_some(67), None, None, None]);
            grid.onsets
                .push([sounding && (t == 0 || t == 12 || t == 20), false, false, false]);
            grid.fermatas.push(false);
        }
        // Beat 2 of bar 1 is inside the dotted half: all of it is held.
        place_fermatas(&mut grid, &score, &[(1, 2)]).unwrap_or_else(|e| panic!("{e}"));
        let held: Vec<usize> = (0..24).filter(|&t| grid.fermatas[t]).collect();
        assert_eq!(held, (0..12).collect::<Vec<_>>());
        place_fermatas(&mut grid, &score, &[(2, 3)]).unwrap_or_else(|e| panic!("{e}"));
        assert!(grid.fermatas[20..].iter().all(|&f| f) && !grid.fermatas[12]);
        let err = |at| {
            place_fermatas(&mut grid.clone(), &score, &[at])
                .unwrap_err()
                .to_string()
        };
        assert!(err((2, 2)).contains("rests there"), "{}", err((2, 2)));
        assert!(err((3, 1)).contains("has 2 bars"), "{}", err((3, 1)));
        assert!(err((1, 4)).contains("has 3 beats"), "{}", err((1, 4)));
    }

    #[test]
    fn bars_and_voices_parse_or_explain() {
        assert_eq!(parse_bars("3-5").unwrap_or_else(|e| panic!("{e}")), (3, 5));
        assert_eq!(parse_bars("4").unwrap_or_else(|e| panic!("{e}")), (4, 4));
        assert!(parse_bars("0-2").is_err());
        assert!(parse_bars("5-3").unwrap_err().to_string().contains("backwards"));
        assert!(parse_bars("x").is_err());
        assert_eq!(parse_voice("Alto").unwrap_or_else(|e| panic!("{e}")), 1);
        assert_eq!(parse_voice("b").unwrap_or_else(|e| panic!("{e}")), 3);
        assert!(parse_voice("viola").unwrap_err().to_string().contains("viola"));
    }

    #[test]
    fn the_region_is_the_chosen_voices_in_the_chosen_bars() {
        let mut score = Score::<Tick>::new(480);
        score.time_signatures.push(TimeSignature::new(0, 3, 4));
        // 3/4: 12 steps a bar; bars 2-3 of a 40-step piece are steps 12..36.
        let r = infill_region(&score, 40, &[1, 2], Some((2, 3))).unwrap_or_else(|e| panic!("{e}"));
        for (t, cell) in r.iter().enumerate() {
            let inside = (12..36).contains(&t);
            assert_eq!(*cell, [false, inside, inside, false], "step {t}");
        }
        assert!(infill_region(&score, 40, &[1], Some((5, 6))).is_err());
        let all = infill_region(&score, 10, &[], None).unwrap_or_else(|e| panic!("{e}"));
        assert!(all.iter().all(|c| *c == [true; 4]));
    }
}
