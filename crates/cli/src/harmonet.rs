//! HARMONET in the CLI (Hild, Feulner & Menzel 1991): the harmony net's
//! task from a chorale dataset (`fugue train --model harmonet`), its
//! evaluation (`fugue eval`: accuracy and NLL per beat, plus how well the
//! labels fit Bach's sonorities), and harmonizing a soprano
//! (`fugue harmonize --model harmonet|RUN`).
//!
//! The labels are derived from Bach's four voices by `fugue-tokens`'
//! `harmonet` (key per chorale, one harmonic function per quarter beat);
//! what of it is the paper's and what is fugue's reading is stated there.

use anyhow::{bail, Context, Result};
use fugue_data::{Content, Dataset, Split};
use fugue_models::burn::tensor::Device;
use fugue_models::harmonet::Harmonet;
use fugue_sample::harmonet::HarmonetConfig;
use fugue_tokens::chorale::SatbGrid;
use fugue_tokens::harmonet::{
    chorale_examples, find_key, fits_onset, label_beat, label_name, BEAT_STEPS, FEATURES, LABELS,
};
use fugue_train::{Beats, HarmonetTask};

/// The 16th-note SATB grids of one split.
fn grids<'a>(dataset: &'a Dataset, split: Split, name: &str) -> Result<Vec<&'a SatbGrid>> {
    dataset
        .split(split)
        .map(|p| match &p.content {
            Content::Grid(g) if g.steps_per_quarter as usize == BEAT_STEPS => Ok(g),
            Content::Grid(g) => bail!(
                "{}: HARMONET reads 16th-note grids (4 steps per quarter), not {}",
                p.id,
                g.steps_per_quarter
            ),
            _ => bail!("dataset `{name}` is not a set of SATB grids"),
        })
        .collect()
}

/// Every beat of every chorale of each split, labelled from Bach's voices.
pub fn load_task(dataset: &Dataset, name: &str, batch_size: usize) -> Result<HarmonetTask> {
    let beats = |split| -> Result<Beats> {
        let examples = grids(dataset, split, name)?
            .into_iter()
            .flat_map(|g| chorale_examples(g).1);
        Ok(Beats::new(examples, FEATURES)?)
    };
    Ok(HarmonetTask::new(
        beats(Split::Train)?,
        beats(Split::Valid)?,
        beats(Split::Test)?,
        FEATURES,
        LABELS,
        batch_size,
    )?)
}

/// How well the label set describes a split: beats labelled, beats whose
/// onset sonority is all chord tones of its label, beats where the soprano
/// strikes (and of those, where its note is in the label: what
/// `harmonize`'s soprano-in-chord rule assumes), distinct labels, and the
/// most frequent labels (named in each chorale's mode).
pub struct Coverage {
    pub beats: usize,
    pub fitting: usize,
    pub struck: usize,
    pub soprano_in_label: usize,
    pub distinct: usize,
    pub top: Vec<(String, usize)>,
}

pub fn coverage(dataset: &Dataset, split: Split, name: &str) -> Result<Coverage> {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let mut ids = std::collections::BTreeSet::new();
    let (mut beats, mut fitting, mut struck, mut soprano_in_label) = (0, 0, 0, 0);
    for g in grids(dataset, split, name)? {
        let key = find_key(&g.steps);
        let onsets: Vec<[bool; 4]> = g.onsets.iter().step_by(BEAT_STEPS).copied().collect();
        for (q, beat) in g.steps.chunks(BEAT_STEPS).enumerate() {
            let Some(h) = label_beat(beat, key.tonic) else {
                continue;
            };
            beats += 1;
            fitting += usize::from(fits_onset(beat, &h, key.tonic));
            if let (Some(s), Some(&[true, ..])) = (beat[0][0], onsets.get(q)) {
                struck += 1;
                soprano_in_label += usize::from(h.mask() & (1 << ((s % 12 + 12 - key.tonic) % 12)) != 0);
            }
            ids.insert(h.id());
            *counts.entry(label_name(h.id(), key.minor)).or_default() += 1;
        }
    }
    let mut top: Vec<(String, usize)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(12);
    Ok(Coverage {
        beats,
        fitting,
        struck,
        soprano_in_label,
        distinct: ids.len(),
        top,
    })
}

/// The sampling settings of `harmonize` for HARMONET: `--temperature`
/// (default 0, the most likely harmony each beat) and the seed.
pub fn config(temperature: Option<f64>, seed: u64) -> Result<HarmonetConfig> {
    let temperature = temperature.unwrap_or(0.0);
    if !(temperature >= 0.0 && temperature.is_finite()) {
        bail!("--temperature {temperature}: must be a number ≥ 0 (0 takes the most likely harmony)");
    }
    Ok(HarmonetConfig {
        temperature,
        seed,
        soprano_in_chord: true,
    })
}

/// Harmonizes the soprano of `soprano` (voices 1..3 are ignored); `verbose`
/// prints the key and the harmonic skeleton.
pub fn harmonize(
    model: &Harmonet,
    soprano: &SatbGrid,
    config: &HarmonetConfig,
    verbose: bool,
    device: &Device,
) -> Result<SatbGrid> {
    if soprano.steps_per_quarter as usize != BEAT_STEPS {
        bail!(
            "HARMONET harmonizes 16th-note grids, not {} steps per quarter",
            soprano.steps_per_quarter
        );
    }
    let out = fugue_sample::harmonet::harmonize(model, soprano, config, device).context("HARMONET")?;
    if verbose {
        let names: Vec<String> = out.labels.iter().map(|&id| label_name(id, out.key.minor)).collect();
        eprintln!("key {}; harmonic skeleton: {}", out.key, names.join(" "));
    }
    Ok(out.grid)
}
