//! `fugue generate`: music from a trained run or the embedded default
//! model, as MIDI, and on request a WAV and a piano-roll PNG beside it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use fugue_models::burn::tensor::Device;
use fugue_score::io::write_atomic;
use fugue_score::midi::{write_midi, MidiFormat};
use fugue_score::{Score, Tempo, Tick, TimeSignature};
use fugue_tokens::chorale::SatbGrid;
use fugue_tokens::serialized_satb;
use rand::{Rng, SeedableRng};

use crate::recipe::{frames_to_score, tokens_to_score, AnyModel, Encoding, Recipe};

/// Quarter notes per minute of the chorales fugue writes (a grid has no tempo).
pub(crate) const CHORALE_QPM: f64 = 76.0;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// The MIDI file to write (default: a new `fugue-<seed>.mid` here).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// `default` (the embedded model) or a run folder from `fugue train`.
    #[arg(long, default_value = "default")]
    pub model: String,
    /// Continue this MIDI file (a chorale model needs four tracks S, A, T, B).
    #[arg(long)]
    pub primer: Option<PathBuf>,
    /// Length in seconds of new music.
    #[arg(long, conflicts_with = "tokens")]
    pub seconds: Option<f64>,
    /// Length in tokens (frames for a piano-roll model).
    #[arg(long)]
    pub tokens: Option<usize>,
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Sample among the K most likely tokens (0 = all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Sample among the most likely tokens whose probability reaches P.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Seed (default: from the clock, printed so the piece can be made again).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also write a WAV (built-in synthesizer) next to the MIDI file.
    #[arg(long)]
    pub wav: bool,
    /// Also write a piano-roll PNG next to the MIDI file.
    #[arg(long)]
    pub png: bool,
    /// Which checkpoint of a run folder: best or last.
    #[arg(long, default_value = "best")]
    pub checkpoint: String,
    /// cpu, or cuda / vulkan (a GPU) when built with that feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
}

impl GenerateArgs {
    /// Draws up to `budget` tokens after `primer` (stopping early at
    /// `stop`) with the shared sampler under these flags and the caller's
    /// grammar (`constrain`); returns the primer followed by the new
    /// tokens, and how many are new. Every token model's generate path
    /// goes through here, so they all honour the same flags.
    // Each argument is a separate concern the caller owns.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn continue_primer<M: fugue_models::TokenLm>(
        &self,
        model: &M,
        primer: Vec<u32>,
        budget: usize,
        stop: Option<u32>,
        seed: u64,
        vocab: usize,
        device: &Device,
        constrain: impl FnMut(&[u32], &mut [f32]),
    ) -> Result<(Vec<u32>, usize)> {
        let config = fugue_sample::SamplingConfig {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            seed,
        };
        let new = fugue_sample::generate(model, &primer, budget, stop, &config, vocab, device, constrain)?;
        let drawn = new.len();
        let mut all = primer;
        all.extend(new);
        Ok((all, drawn))
    }
}

fn pick_output(a: &GenerateArgs, seed: u64) -> PathBuf {
    if let Some(o) = &a.output {
        return o.clone();
    }
    let mut n = 0;
    loop {
        let name = if n == 0 {
            format!("fugue-{seed}.mid")
        } else {
            format!("fugue-{seed}-{n}.mid")
        };
        let p = PathBuf::from(name);
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

/// The primer's tokens for a chorale model: the file's four tracks on the
/// 16th grid.
fn chorale_primer(path: &Path) -> Result<Vec<u32>> {
    let loaded = crate::cmd::load(path, &crate::cmd::ReadArgs::default())
        .with_context(|| format!("cannot read primer {}", path.display()))?;
    let (grid, _) = SatbGrid::from_score(&loaded.score, 4).with_context(|| {
        format!(
            "primer {}: a chorale model needs four voices S, A, T, B",
            path.display()
        )
    })?;
    Ok(serialized_satb::encode(&grid)?)
}

fn generate_tokens<M: fugue_models::TokenLm>(
    model: &M,
    recipe: &Recipe,
    a: &GenerateArgs,
    seed: u64,
    device: &Device,
) -> Result<(Score<Tick>, usize)> {
    let mut primer = vec![serialized_satb::START];
    if let Some(p) = &a.primer {
        primer.extend(chorale_primer(p)?);
    }
    // 16th steps: 4 per quarter, 4 tokens per step.
    let steps = match (a.tokens, a.seconds) {
        (Some(t), _) => t,
        (None, Some(s)) => ((s * CHORALE_QPM / 60.0 * 4.0).round() as usize) * 4,
        (None, None) => 8 * 16 * 4, // 8 bars of 4/4: 16 sixteenths of 4 voices each
    };
    // Every position holds a rest or a pitch; padding and the start marker
    // would break the 4-voice frame.
    let constrain = |_: &[u32], logits: &mut [f32]| {
        logits[serialized_satb::PAD as usize] = f32::NEG_INFINITY;
        logits[serialized_satb::START as usize] = f32::NEG_INFINITY;
    };
    let (all, drawn) = a.continue_primer(
        model,
        primer,
        steps,
        None,
        seed,
        serialized_satb::VOCAB_SIZE,
        device,
        constrain,
    )?;
    let score = tokens_to_score(&recipe.data.encoding, &all)?;
    // One tick per sixteenth is exact but unusual: DAWs and players expect
    // a fine grid, a meter and a tempo (the chorales are in common time).
    let mut score = score.resample(480, None)?;
    score.tempos.push(Tempo::from_qpm(0, CHORALE_QPM));
    score.time_signatures.push(TimeSignature::new(0, 4, 4));
    Ok((score, drawn))
}

/// TonicNet: from a primer's steps (its chords named by `chords`, the run's
/// labeler), else (as TonicNet samples) from one major or minor chord token
/// drawn with the seed; `--tokens` counts
/// tokens (5 per 16th step), `--seconds` music. Chord positions may hold a
/// chord class or `end`, voice positions a pitch or `Rest`, so every
/// sample decodes.
fn generate_tonicnet(
    model: &fugue_models::tonicnet::TonicNet,
    chords: fugue_tokens::tonicnet::ChordLabels,
    recipe: &Recipe,
    a: &GenerateArgs,
    seed: u64,
    device: &Device,
) -> Result<(Score<Tick>, usize)> {
    use fugue_models::tonicnet::PARTS;
    use fugue_tokens::tonicnet::{CHORD_NONE, VOCAB_SIZE};
    const CHORD0: usize = 48;
    let primer = match &a.primer {
        Some(p) => {
            let loaded = crate::cmd::load(p, &crate::cmd::ReadArgs::default())
                .with_context(|| format!("cannot read primer {}", p.display()))?;
            let tn = crate::recipe::tonicnet_tokenizer(chords)?;
            let (grid, _) = tn
                .grid(&loaded.score)
                .with_context(|| format!("primer {}: TonicNet needs four voices S, A, T, B", p.display()))?;
            let mut ids = crate::recipe::tonicnet_seq(&tn, &grid, None)?.ids;
            ids.pop(); // `end`
            ids
        }
        None => vec![(CHORD0 + rand_chacha::ChaCha8Rng::seed_from_u64(seed).random_range(0..24)) as u32],
    };
    let tokens = match (a.tokens, a.seconds) {
        (Some(t), _) => t,
        (None, Some(s)) => ((s * CHORALE_QPM / 60.0 * 4.0).round() as usize) * PARTS,
        (None, None) => 8 * 16 * PARTS, // 8 bars of 4/4 in 16ths
    };
    let constrain = |sofar: &[u32], logits: &mut [f32]| {
        let chord_slot = sofar.len().is_multiple_of(PARTS);
        for (id, l) in logits.iter_mut().enumerate() {
            let allowed = if chord_slot {
                id == 0 || (CHORD0..=CHORD0 + CHORD_NONE as usize).contains(&id)
            } else {
                (1..CHORD0).contains(&id)
            };
            if !allowed {
                *l = f32::NEG_INFINITY;
            }
        }
    };
    let (mut all, drawn) = a.continue_primer(model, primer, tokens, Some(0), seed, VOCAB_SIZE, device, constrain)?;
    // A sample cut mid-step by `--tokens` keeps only its whole steps.
    if all.last() != Some(&0) {
        all.truncate(all.len() / PARTS * PARTS);
    }
    let mut score = tokens_to_score(&recipe.data.encoding, &all)?.resample(480, None)?;
    score.tempos.push(Tempo::from_qpm(0, CHORALE_QPM));
    score.time_signatures.push(TimeSignature::new(0, 4, 4));
    Ok((score, drawn))
}

/// How many piano-roll frames a piano-roll model generates: `--tokens`
/// frames, else `--seconds` at 120 quarter notes a minute, else 64. Such
/// models take no primer yet.
fn roll_frames(a: &GenerateArgs, frame_quarters: f64) -> Result<usize> {
    if a.primer.is_some() {
        bail!("--primer is not supported for piano-roll models yet");
    }
    Ok(match (a.tokens, a.seconds) {
        (Some(t), _) => t,
        (None, Some(s)) => (s * 2.0 / frame_quarters).round() as usize,
        (None, None) => 64,
    })
}

pub fn run(a: GenerateArgs) -> Result<()> {
    let seed = a.seed.unwrap_or_else(crate::output::clock_seed);
    let output = pick_output(&a, seed);
    crate::output::check_outputs(&output, a.wav, a.png, a.force)?;
    if let Some(p) = &a.primer {
        if !p.is_file() {
            bail!("primer {}: no such file", p.display());
        }
    }
    let device = fugue_models::device(&a.device, false)?;
    let (recipe, model) = crate::embedded::load_model(&a.model, &a.checkpoint, &device)?;
    let started = std::time::Instant::now();
    let (score, produced) = match (&model, &recipe.data.encoding) {
        (AnyModel::Transformer(m), Encoding::SerializedSatb) => generate_tokens(m, &recipe, &a, seed, &device)?,
        (AnyModel::Lstm(m), Encoding::SerializedSatb) => generate_tokens(m, &recipe, &a, seed, &device)?,
        (AnyModel::TonicNet(m), Encoding::TonicNet { chords, .. }) => {
            generate_tonicnet(m, *chords, &recipe, &a, seed, &device)?
        }
        (AnyModel::Lstm(m), Encoding::BachBot { standardize_key, .. }) => {
            crate::bachbot::generate(m, *standardize_key, &a, seed, &device)?
        }
        (AnyModel::BachProp(m), Encoding::BachProp { vocab: Some(vocab) }) => {
            crate::bachprop::generate(m, vocab, &a, seed, &device)?
        }
        (AnyModel::EckSchmidhuber(m), Encoding::ChordMelody(enc)) => crate::eck::generate(m, enc, &a, seed, &device)?,
        (AnyModel::Lstm(m), Encoding::Melody(config)) => crate::melody::generate(m, config, &a, seed, &device)?,
        (AnyModel::Todd(m), Encoding::Melody(config)) => crate::melody::generate(m, config, &a, seed, &device)?,
        (AnyModel::Lstm(m), Encoding::Performance(enc)) => crate::performance::generate(m, enc, &a, seed, &device)?,
        (AnyModel::Transformer(m), Encoding::Performance(enc)) => {
            crate::performance::generate(m, enc, &a, seed, &device)?
        }
        (
            AnyModel::Nade(m),
            Encoding::PianoRoll {
                low, frame_quarters, ..
            },
        ) => {
            let frames = roll_frames(&a, *frame_quarters)?;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let out = m.sample(&[], frames, &device, || rng.random::<f32>());
            (frames_to_score(&out, *low, *frame_quarters, "RNN-NADE"), out.len())
        }
        (
            AnyModel::Rbm(m),
            Encoding::PianoRoll {
                low, frame_quarters, ..
            },
        ) => {
            let frames = roll_frames(&a, *frame_quarters)?;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let out = m.sample(&[], frames, || rng.random::<f32>());
            (frames_to_score(&out, *low, *frame_quarters, "RNN-RBM"), out.len())
        }
        _ => bail!("the model's recipe pairs it with an encoding it cannot produce"),
    };
    let bytes = write_midi(&score, MidiFormat::Type1)?;
    write_atomic(&output, &bytes, a.force)?;
    let secs = score.duration_seconds();
    println!(
        "wrote {} ({} notes, {:.1} s of music; {produced} steps in {:.1} s; seed {seed})",
        output.display(),
        score.note_count(),
        secs,
        started.elapsed().as_secs_f64()
    );
    crate::output::write_siblings(&score, &output, a.wav, a.png, a.force)
}
