//! HARMONET's generation (Hild, Feulner & Menzel, 1991): the harmony net
//! chooses the harmonic skeleton left to right, each beat reading the
//! harmonies it chose for the three beats before; the symbolic chord
//! skeleton stage (`fugue-tokens`' `chord_skeleton`) then writes alto,
//! tenor and bass under the voice-leading rules.
//!
//! What the user steers: the temperature of each beat's draw (0 = the most
//! likely label, as a deterministic harmonizer would choose), the seed, and
//! whether a harmony must contain the soprano's note when the soprano
//! strikes on the beat (on by default: a chord that clashes with the
//! melody's own note is the one mistake the chord skeleton cannot repair;
//! Bach's labels contain that note on most such beats, the rest being
//! suspensions and appoggiaturas). Labels the labeller never produces are
//! never drawn, and beats where the soprano is silent are rests.

use burn::tensor::{Device, Tensor, TensorData};
use fugue_models::harmonet::Harmonet;
use fugue_tokens::chorale::SatbGrid;
use fugue_tokens::chord_skeleton;
use fugue_tokens::harmonet::{find_key, Harmony, MelodyContext, Tonality, FEATURES, LABELS, REST};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::SampleError;

/// How the harmonic skeleton is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct HarmonetConfig {
    /// Softmax temperature; 0 takes the most likely label.
    pub temperature: f64,
    pub seed: u64,
    /// A beat where the soprano strikes a note gets a harmony containing it.
    pub soprano_in_chord: bool,
}

impl Default for HarmonetConfig {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            seed: 0,
            soprano_in_chord: true,
        }
    }
}

/// A harmonization: the key found, each beat's label and the four voices.
#[derive(Debug, Clone, PartialEq)]
pub struct Harmonization {
    pub key: Tonality,
    pub labels: Vec<u32>,
    pub grid: SatbGrid,
}

/// The harmonic skeleton of `context`: one label per beat, drawn left to right.
pub fn harmonic_skeleton(
    model: &Harmonet,
    context: &MelodyContext,
    config: &HarmonetConfig,
    device: &Device,
) -> Result<Vec<u32>, SampleError> {
    if !(config.temperature >= 0.0 && config.temperature.is_finite()) {
        return Err(SampleError::Config {
            field: "temperature",
            why: format!("{} must be ≥ 0", config.temperature),
        });
    }
    if model.inputs() != FEATURES {
        return Err(SampleError::Config {
            field: "model",
            why: format!(
                "the net reads {} inputs per beat, HARMONET's coding has {FEATURES}",
                model.inputs()
            ),
        });
    }
    let allowed: Vec<Option<Harmony>> = (0..LABELS as u32)
        .map(|id| Harmony::from_id(id).filter(Harmony::is_valid))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut labels: Vec<u32> = Vec::with_capacity(context.len());
    for q in 0..context.len() {
        if context.silent[q] {
            labels.push(REST);
            continue;
        }
        let x = Tensor::<2>::from_data(TensorData::new(context.features(q, &labels), [1, FEATURES]), device);
        let logp = model.log_probs(x).into_data();
        let values = logp.as_slice::<f32>().map_err(|e| SampleError::Config {
            field: "model",
            why: format!("{e:?}"),
        })?;
        if values.len() < LABELS {
            return Err(SampleError::OutOfVocab {
                id: LABELS as u32 - 1,
                vocab: values.len(),
            });
        }
        let melody = context.on_beat[q].filter(|_| config.soprano_in_chord && context.struck[q]);
        let ok = |h: &Harmony| melody.is_none_or(|p| h.mask() & (1 << context.relative(p)) != 0);
        let mut scores: Vec<(u32, f64)> = allowed
            .iter()
            .enumerate()
            .filter_map(|(id, h)| h.filter(ok).map(|_| (id as u32, f64::from(values[id]))))
            .collect();
        if scores.is_empty() {
            scores = allowed
                .iter()
                .enumerate()
                .filter_map(|(id, h)| h.map(|_| (id as u32, f64::from(values[id]))))
                .collect();
        }
        let pick = if config.temperature == 0.0 {
            scores.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|s| s.0)
        } else {
            let top = scores.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = scores
                .iter()
                .map(|s| ((s.1 - top) / config.temperature).exp())
                .collect();
            let total: f64 = weights.iter().sum();
            let mut x = rng.random::<f64>() * total;
            let mut chosen = scores.last().map(|s| s.0);
            for (s, w) in scores.iter().zip(&weights) {
                if x < *w {
                    chosen = Some(s.0);
                    break;
                }
                x -= w;
            }
            chosen
        };
        labels.push(pick.ok_or(SampleError::NothingAllowed(q))?);
    }
    Ok(labels)
}

/// Harmonizes the soprano of `melody` (voice 0 on 16ths; its fermatas are
/// read as phrase ends): the key, the harmonic skeleton, the chord skeleton.
pub fn harmonize(
    model: &Harmonet,
    melody: &SatbGrid,
    config: &HarmonetConfig,
    device: &Device,
) -> Result<Harmonization, SampleError> {
    let soprano: Vec<[Option<u8>; 4]> = melody.steps.iter().map(|c| [c[0], None, None, None]).collect();
    let key = find_key(&soprano);
    let context = MelodyContext::from_grid(melody, key);
    let labels = harmonic_skeleton(model, &context, config, device)?;
    let harmonies: Vec<Option<Harmony>> = labels.iter().map(|&id| Harmony::from_id(id)).collect();
    let grid = chord_skeleton::harmonize(melody, &harmonies, key).map_err(|e| SampleError::Config {
        field: "melody",
        why: e.to_string(),
    })?;
    Ok(Harmonization { key, labels, grid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_models::harmonet::HarmonetConfig as NetConfig;

    fn melody() -> SatbGrid {
        let mut grid = SatbGrid::new(4);
        for (p, quarters) in [(72u8, 1usize), (74, 1), (76, 1), (77, 1), (79, 2), (76, 1), (72, 2)] {
            for k in 0..quarters * 4 {
                grid.push([Some(p), None, None, None], [k == 0, false, false, false], false);
            }
        }
        grid
    }

    #[test]
    fn an_untrained_net_still_harmonizes_and_the_seed_decides() {
        let device = Device::flex();
        let model = NetConfig::tiny(FEATURES, LABELS)
            .init(&device)
            .unwrap_or_else(|e| panic!("{e}"));
        let m = melody();
        let greedy = harmonize(&model, &m, &HarmonetConfig::default(), &device).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(greedy.key, Tonality { tonic: 0, minor: false });
        assert_eq!(greedy.labels.len(), 9);
        for t in 0..m.len() {
            assert_eq!(greedy.grid.steps[t][0], m.steps[t][0]);
            assert_eq!(greedy.grid.onsets[t][0], m.onsets[t][0]);
        }
        // Each struck soprano note is in its beat's harmony.
        for (q, &id) in greedy.labels.iter().enumerate() {
            let h = Harmony::from_id(id).unwrap_or_else(|| panic!("beat {q} is a rest"));
            assert!(h.is_valid());
            if let Some(p) = m.steps[q * 4][0].filter(|_| m.onsets[q * 4][0]) {
                assert!(h.mask() & (1 << (p % 12)) != 0, "beat {q}");
            }
        }
        let warm = |seed| HarmonetConfig {
            temperature: 3.0,
            seed,
            soprano_in_chord: true,
        };
        let a = harmonize(&model, &m, &warm(1), &device).unwrap_or_else(|e| panic!("{e}"));
        let again = harmonize(&model, &m, &warm(1), &device).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, again);
        let differs =
            (2..10).any(|s| harmonize(&model, &m, &warm(s), &device).map(|h| h.labels).ok() != Some(a.labels.clone()));
        assert!(differs, "the seed never changes the skeleton");
        let bad = HarmonetConfig {
            temperature: -1.0,
            ..HarmonetConfig::default()
        };
        assert!(harmonize(&model, &m, &bad, &device).is_err());
    }
}
