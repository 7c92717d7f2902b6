//! Filling part of a chorale with DeepBach: pseudo-Gibbs sampling
//! (Hadjeres et al. 2017, the parallel variant of the reference code).
//!
//! The chorale is DeepBach's token grid: per voice one token per tick
//! (`__`, `rest`, a pitch), per tick the metadata. Each cell has a
//! [`CellRule`]: `Fixed` cells are context and are never written (a given
//! melody, the bars outside an infill); the others are the region. A
//! region cell starts from a random token it may hold, then for N
//! iterations: for each voice, a batch of random region ticks is predicted
//! from the current state by that voice's network (which never reads the
//! cell it predicts), and only once all voices are predicted are the draws
//! written. Draws use probabilities raised to 1/T and renormalised; T
//! starts at 1.1 and is multiplied by 0.9993 per iteration down to 1.0 (the
//! reference's schedule).
//!
//! Constraints are positional, as in the paper: any note is fixed by
//! making its cell `Fixed`; a rhythm is fixed by the rules `Pitch` (an
//! onset: only pitch tokens may be drawn) and `Hold` (a continuation: only
//! `__`); fermatas are metadata, which the caller sets. Pitches are also
//! limited to each voice's range when one is given (DeepBach's per-voice
//! vocabularies only hold the pitches a voice sings in the corpus).

use burn::tensor::{Device, Int, Tensor, TensorData};
use fugue_models::deepbach::{DeepBach, TokenLayout, VOICES};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{sample_logits, SampleError, SamplingConfig};

/// What a cell may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellRule {
    /// Context: read, never written.
    Fixed,
    /// Any of `__`, `rest` or a pitch in the voice's range.
    Free,
    /// A note starts here: a pitch in the voice's range.
    Pitch,
    /// The note (or rest) before goes on: `__`.
    Hold,
}

/// Iterations, batch, temperature schedule and seed.
#[derive(Debug, Clone, PartialEq)]
pub struct PseudoGibbsConfig {
    /// Iterations; each predicts `batch_per_voice` ticks of every voice.
    pub iterations: usize,
    pub batch_per_voice: usize,
    /// Starting temperature (1.1).
    pub temperature: f64,
    /// Per-iteration factor (0.9993).
    pub decay: f64,
    /// The temperature never goes below this (1.0).
    pub min_temperature: f64,
    /// Per voice, the lowest and highest MIDI pitch that may be drawn
    /// (`None`: any).
    pub ranges: Option<[(u8, u8); 4]>,
    pub seed: u64,
}

impl Default for PseudoGibbsConfig {
    /// The reference command line's settings: 500 iterations of 8 ticks
    /// per voice.
    fn default() -> Self {
        Self {
            iterations: 500,
            batch_per_voice: 8,
            temperature: 1.1,
            decay: 0.9993,
            min_temperature: 1.0,
            ranges: None,
            seed: 0,
        }
    }
}

impl PseudoGibbsConfig {
    pub fn validate(&self) -> Result<(), SampleError> {
        let bad = |field: &'static str, why: String| Err(SampleError::Config { field, why });
        if self.batch_per_voice == 0 {
            return bad("batch_per_voice", "must be at least 1".into());
        }
        for (field, t) in [
            ("temperature", self.temperature),
            ("min_temperature", self.min_temperature),
        ] {
            if !(t > 0.0 && t.is_finite()) {
                return bad(field, format!("{t} must be positive"));
            }
        }
        if !(self.decay > 0.0 && self.decay <= 1.0) {
            return bad("decay", format!("{} is not in (0, 1]", self.decay));
        }
        if let Some((v, (lo, hi))) = self
            .ranges
            .iter()
            .flatten()
            .enumerate()
            .find(|(_, (lo, hi))| lo > hi || *hi > 127)
        {
            return bad("ranges", format!("voice {v}: {lo}..={hi} is not a pitch range"));
        }
        Ok(())
    }
}

/// What a fill did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PseudoGibbsStats {
    /// Network passes (one per voice with cells to draw, per iteration).
    pub passes: usize,
    /// Cells drawn in all.
    pub draws: usize,
}

/// Rewrites the region of `voices` (ids, one per tick, no padding) under
/// `rules` (per tick, per voice); `metadata` holds one vector per stream
/// the model reads (fermata, tick, key), one value per tick. `Fixed` cells
/// are never written.
// Each argument is a separate concern the caller owns; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn pseudo_gibbs(
    model: &DeepBach,
    layout: &TokenLayout,
    voices: &mut [Vec<u32>; 4],
    metadata: &[Vec<u8>],
    rules: &[[CellRule; 4]],
    config: &PseudoGibbsConfig,
    device: &Device,
) -> Result<PseudoGibbsStats, SampleError> {
    config.validate()?;
    let n = rules.len();
    if let Some(v) = voices.iter().position(|x| x.len() != n) {
        return Err(SampleError::Config {
            field: "voices",
            why: format!("voice {v} has {} ticks for {n} ticks of rules", voices[v].len()),
        });
    }
    if metadata.len() != model.metadata_streams || metadata.iter().any(|m| m.len() != n) {
        return Err(SampleError::Config {
            field: "metadata",
            why: format!(
                "the model reads {} metadata streams of {n} ticks; got {} of {:?}",
                model.metadata_streams,
                metadata.len(),
                metadata.iter().map(Vec::len).collect::<Vec<_>>()
            ),
        });
    }
    let vocab = model.vocab_size;
    if layout.size() > vocab {
        return Err(SampleError::Config {
            field: "layout",
            why: format!("the layout needs {} ids; the model has {vocab}", layout.size()),
        });
    }
    if let Some(&id) = voices.iter().flatten().find(|&&id| id as usize >= vocab) {
        return Err(SampleError::OutOfVocab { id, vocab });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let allowed = |v: usize, rule: CellRule| -> Vec<u32> {
        let (lo, hi) = config.ranges.map_or((0, 127), |r| r[v]);
        let pitches = (lo..=hi).map(|p| layout.pitch_id(p));
        match rule {
            CellRule::Fixed => Vec::new(),
            CellRule::Hold => vec![layout.hold],
            CellRule::Pitch => pitches.collect(),
            CellRule::Free => [layout.hold, layout.rest].into_iter().chain(pitches).collect(),
        }
    };
    // Per voice: the allowed ids of each rule, and the ticks to draw.
    let choices: [[Vec<u32>; 4]; 4] = std::array::from_fn(|v| {
        [CellRule::Fixed, CellRule::Free, CellRule::Pitch, CellRule::Hold].map(|r| allowed(v, r))
    });
    let rule_index = |r: CellRule| r as usize;
    let mut targets: [Vec<usize>; 4] = Default::default();
    for (t, cell) in rules.iter().enumerate() {
        for v in 0..VOICES {
            let options = &choices[v][rule_index(cell[v])];
            if cell[v] != CellRule::Fixed {
                voices[v][t] = options[rng.random_range(0..options.len())];
            }
            if matches!(cell[v], CellRule::Free | CellRule::Pitch) {
                targets[v].push(t);
            }
        }
    }
    let mut stats = PseudoGibbsStats { passes: 0, draws: 0 };
    if targets.iter().all(Vec::is_empty) {
        return Ok(stats);
    }
    // The state, padded with `context` ticks of START / END (metadata 0).
    let c = model.context;
    let pad = |x: &[u32], start: u32, end: u32| -> Vec<u32> {
        let mut out = vec![start; c];
        out.extend_from_slice(x);
        out.extend(std::iter::repeat_n(end, c));
        out
    };
    let mut state: [Vec<u32>; 4] = std::array::from_fn(|v| pad(&voices[v], layout.start, layout.end));
    let meta: Vec<Vec<u32>> = metadata
        .iter()
        .map(|m| pad(&m.iter().map(|&x| u32::from(x)).collect::<Vec<_>>(), 0, 0))
        .collect();
    let w = model.window();
    let mut temperature = config.temperature;
    for _ in 0..config.iterations {
        let sampling = SamplingConfig {
            temperature,
            ..SamplingConfig::default()
        };
        let mut writes: Vec<(usize, usize, u32)> = Vec::new();
        for v in 0..VOICES {
            if targets[v].is_empty() {
                continue;
            }
            let k = config.batch_per_voice.min(targets[v].len());
            let ticks: Vec<usize> = rand::seq::index::sample(&mut rng, targets[v].len(), k)
                .into_iter()
                .map(|i| targets[v][i])
                .collect();
            let mut notes = Vec::with_capacity(k * w * VOICES);
            let mut metas = Vec::with_capacity(k * w * meta.len());
            for &t in &ticks {
                // Padded index t is the window's first tick (t − context).
                for s in t..t + w {
                    notes.extend(state.iter().map(|x| i64::from(x[s])));
                    metas.extend(meta.iter().map(|m| i64::from(m[s])));
                }
            }
            let notes = Tensor::<3, Int>::from_data(TensorData::new(notes, [k, w, VOICES]), device);
            let metas = Tensor::<3, Int>::from_data(TensorData::new(metas, [k, w, meta.len()]), device);
            let logits = model.forward_voice(v, notes, metas).into_data();
            let logits = logits.as_slice::<f32>().map_err(|e| SampleError::Config {
                field: "model",
                why: format!("logits not readable: {e:?}"),
            })?;
            let mut masked = vec![f32::NEG_INFINITY; vocab];
            for (r, &t) in ticks.iter().enumerate() {
                masked.fill(f32::NEG_INFINITY);
                for &id in &choices[v][rule_index(rules[t][v])] {
                    masked[id as usize] = logits[r * vocab + id as usize];
                }
                let id = sample_logits(&masked, &sampling, &mut rng).ok_or(SampleError::NothingAllowed(t))?;
                writes.push((v, t, id as u32));
            }
            stats.passes += 1;
            stats.draws += k;
        }
        for (v, t, id) in writes {
            state[v][t + c] = id;
        }
        temperature = (temperature * config.decay).max(config.min_temperature);
    }
    for v in 0..VOICES {
        voices[v].copy_from_slice(&state[v][c..c + n]);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_models::deepbach::DeepBachConfig;

    const L: TokenLayout = TokenLayout::FUGUE;

    fn setup(n: usize) -> (DeepBach, Device, [Vec<u32>; 4], Vec<Vec<u8>>) {
        let device = Device::flex();
        let model = DeepBachConfig::tiny().init(&device).unwrap_or_else(|e| panic!("{e}"));
        let voices = std::array::from_fn(|v| {
            (0..n)
                .map(|t| {
                    if t % 2 == 1 {
                        L.hold
                    } else {
                        L.pitch_id(72 - 7 * v as u8 + (t % 5) as u8)
                    }
                })
                .collect()
        });
        let meta = vec![vec![0; n], (0..n).map(|t| (t % 4) as u8).collect(), vec![8; n]];
        (model, device, voices, meta)
    }

    fn config(seed: u64) -> PseudoGibbsConfig {
        PseudoGibbsConfig {
            iterations: 20,
            batch_per_voice: 3,
            ranges: Some([(60, 81), (52, 74), (46, 69), (36, 66)]),
            seed,
            ..PseudoGibbsConfig::default()
        }
    }

    #[test]
    fn fixed_cells_never_change_and_region_cells_follow_their_rule() {
        let (model, device, mut voices, meta) = setup(16);
        let original = voices.clone();
        // Soprano fixed; alto free in ticks 4..12; tenor's rhythm fixed
        // (onsets on even ticks, holds on odd); bass fixed.
        let rules: Vec<[CellRule; 4]> = (0..16)
            .map(|t| {
                [
                    CellRule::Fixed,
                    if (4..12).contains(&t) {
                        CellRule::Free
                    } else {
                        CellRule::Fixed
                    },
                    if t % 2 == 0 { CellRule::Pitch } else { CellRule::Hold },
                    CellRule::Fixed,
                ]
            })
            .collect();
        let stats =
            pseudo_gibbs(&model, &L, &mut voices, &meta, &rules, &config(4), &device).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stats.passes, 40);
        assert_eq!(stats.draws, 40 * 3);
        let mut changed = 0;
        for t in 0..16 {
            for v in 0..4 {
                let id = voices[v][t];
                match rules[t][v] {
                    CellRule::Fixed => assert_eq!(id, original[v][t], "({v},{t}) changed"),
                    CellRule::Hold => assert_eq!(id, L.hold, "({v},{t})"),
                    CellRule::Pitch => {
                        let p = L.pitch(id).unwrap_or_else(|| panic!("({v},{t}): {id} is not a pitch"));
                        assert!((46..=69).contains(&p), "tenor pitch {p}");
                    }
                    CellRule::Free => {
                        assert!(id == L.hold || id == L.rest || L.pitch(id).is_some_and(|p| (52..=74).contains(&p)))
                    }
                }
                changed += usize::from(id != original[v][t]);
            }
        }
        assert!(changed > 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_chorale() {
        let (model, device, voices, meta) = setup(12);
        let rules = vec![[CellRule::Fixed, CellRule::Free, CellRule::Free, CellRule::Free]; 12];
        let run = |seed| {
            let mut x = voices.clone();
            pseudo_gibbs(&model, &L, &mut x, &meta, &rules, &config(seed), &device).unwrap_or_else(|e| panic!("{e}"));
            x
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn an_empty_region_writes_nothing() {
        let (model, device, mut voices, meta) = setup(6);
        let original = voices.clone();
        let rules = vec![[CellRule::Fixed; 4]; 6];
        let stats =
            pseudo_gibbs(&model, &L, &mut voices, &meta, &rules, &config(0), &device).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stats.passes, 0);
        assert_eq!(voices, original);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let (model, device, mut voices, meta) = setup(8);
        let rules = vec![[CellRule::Free; 4]; 8];
        let short = vec![[CellRule::Free; 4]; 7];
        assert!(pseudo_gibbs(&model, &L, &mut voices, &meta, &short, &config(0), &device).is_err());
        assert!(pseudo_gibbs(&model, &L, &mut voices, &meta[..2], &rules, &config(0), &device).is_err());
        let mut big = voices.clone();
        big[2][3] = 500;
        assert!(matches!(
            pseudo_gibbs(&model, &L, &mut big, &meta, &rules, &config(0), &device),
            Err(SampleError::OutOfVocab { id: 500, vocab: 132 })
        ));
        for bad in [
            PseudoGibbsConfig {
                batch_per_voice: 0,
                ..config(0)
            },
            PseudoGibbsConfig {
                temperature: 0.0,
                ..config(0)
            },
            PseudoGibbsConfig {
                decay: 1.5,
                ..config(0)
            },
            PseudoGibbsConfig {
                ranges: Some([(60, 50), (0, 1), (0, 1), (0, 1)]),
                ..config(0)
            },
        ] {
            assert!(pseudo_gibbs(&model, &L, &mut voices, &meta, &rules, &bad, &device).is_err());
        }
    }
}
