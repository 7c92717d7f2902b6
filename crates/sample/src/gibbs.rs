//! Filling part of a chorale with Coconet: annealed blocked Gibbs sampling
//! (the paper's procedure) or orderless-NADE ancestral sampling.
//!
//! Both work on a grid of cells (per step, each voice's pitch index or
//! `None`) and a region (the cells to write); everything outside the
//! region is context and is never changed — harmonising a melody is the
//! region "alto, tenor, bass everywhere", infilling is "these voices in
//! these bars".
//!
//! Gibbs (Huang et al. 2017, after Yao et al. 2014): N steps (default: the
//! number of cells in the region, as in Magenta); at step n each region
//! cell joins the block with probability
//! `max(pmin, pmax − (pmax − pmin)·n/(α·N))` (0.1, 0.9, 0.7), the network
//! sees everything but the block, and every block cell is redrawn
//! independently from its softmax at temperature 0.99. fugue differs in
//! one stated point: a region cell that has never been drawn (blank at the
//! start) is in every block until it is drawn, so the network never reads
//! a blank cell as a voice resting. Cells of the region that already hold
//! a pitch are the chain's starting point (rewriting rather than writing).
//!
//! Ancestral: the region's cells in a random order, one per network pass,
//! each drawn given the context and the cells drawn before it (the later
//! ones masked): an exact sample of one ordering of the orderless NADE.

use burn::tensor::Device;
use fugue_models::coconet::{inputs, Coconet};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{sample_logits, SampleError, SamplingConfig};

/// How the region is drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum FillStrategy {
    /// Annealed blocked Gibbs; `steps: None` = one step per region cell.
    Gibbs {
        steps: Option<usize>,
        pmin: f64,
        pmax: f64,
        alpha: f64,
    },
    /// One cell per pass in a random order.
    Ancestral,
}

impl FillStrategy {
    /// The paper's schedule over `steps` steps (`None`: one per region cell).
    pub fn gibbs(steps: Option<usize>) -> Self {
        FillStrategy::Gibbs {
            steps,
            pmin: 0.1,
            pmax: 0.9,
            alpha: 0.7,
        }
    }
}

/// Strategy, temperature and seed.
#[derive(Debug, Clone, PartialEq)]
pub struct FillConfig {
    pub strategy: FillStrategy,
    /// Softmax temperature of every draw (Coconet: 0.99).
    pub temperature: f64,
    pub seed: u64,
}

impl Default for FillConfig {
    fn default() -> Self {
        Self {
            strategy: FillStrategy::gibbs(None),
            temperature: 0.99,
            seed: 0,
        }
    }
}

/// What a fill did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillStats {
    /// Network passes.
    pub passes: usize,
    /// Cell draws in all.
    pub draws: usize,
}

/// Writes every cell of `region` in `cells` (per step, each voice's pitch
/// index below the model's `pitches`); cells outside the region are read,
/// never written.
pub fn fill(
    model: &Coconet,
    cells: &mut [[Option<u8>; 4]],
    region: &[[bool; 4]],
    config: &FillConfig,
    device: &Device,
) -> Result<FillStats, SampleError> {
    if region.len() != cells.len() {
        return Err(SampleError::Config {
            field: "region",
            why: format!("{} steps of region for {} steps of music", region.len(), cells.len()),
        });
    }
    if model.instruments != 4 {
        return Err(SampleError::Config {
            field: "model",
            why: format!("a chorale fill needs a 4-voice model, not {}", model.instruments),
        });
    }
    let p = model.pitches;
    if let Some((t, v)) = positions(cells.len(), |t, v| cells[t][v].is_some_and(|x| usize::from(x) >= p)).first() {
        return Err(SampleError::OutOfVocab {
            id: u32::from(cells[*t][*v].unwrap_or(0)),
            vocab: p,
        });
    }
    SamplingConfig {
        temperature: config.temperature,
        ..SamplingConfig::default()
    }
    .validate()?;
    // Only the region and `receptive_radius` steps around it can matter:
    // the network's output at a step sees no further. Running on that
    // window gives the same draws, faster when the region is short.
    let span = region
        .iter()
        .position(|r| r.contains(&true))
        .zip(region.iter().rposition(|r| r.contains(&true)));
    if let Some((lo, hi)) = span {
        let radius = model.receptive_radius();
        let (a, b) = (lo.saturating_sub(radius), (hi + radius + 1).min(cells.len()));
        if a > 0 || b < cells.len() {
            return fill_all(model, &mut cells[a..b], &region[a..b], config, device);
        }
    }
    fill_all(model, cells, region, config, device)
}

/// [`fill`] on the whole of `cells`.
fn fill_all(
    model: &Coconet,
    cells: &mut [[Option<u8>; 4]],
    region: &[[bool; 4]],
    config: &FillConfig,
    device: &Device,
) -> Result<FillStats, SampleError> {
    let sampling = SamplingConfig {
        temperature: config.temperature,
        ..SamplingConfig::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let targets = positions(cells.len(), |t, v| region[t][v]);
    let mut drawn: Vec<[bool; 4]> = cells
        .iter()
        .zip(region)
        .map(|(c, r)| std::array::from_fn(|v| !r[v] || c[v].is_some()))
        .collect();
    let mut stats = FillStats { passes: 0, draws: 0 };
    if targets.is_empty() {
        return Ok(stats);
    }
    match &config.strategy {
        FillStrategy::Gibbs {
            steps,
            pmin,
            pmax,
            alpha,
        } => {
            for (field, v) in [("pmin", *pmin), ("pmax", *pmax)] {
                if !(0.0..=1.0).contains(&v) {
                    return Err(SampleError::Config {
                        field,
                        why: format!("{v} is not a probability"),
                    });
                }
            }
            if *alpha <= 0.0 {
                return Err(SampleError::Config {
                    field: "alpha",
                    why: format!("{alpha} must be positive"),
                });
            }
            let n = steps.unwrap_or(targets.len()).max(1);
            for step in 0..n {
                let pm = (pmax - (pmax - pmin) * step as f64 / (alpha * n as f64)).max(*pmin);
                let mut block: Vec<(usize, usize)> = targets
                    .iter()
                    .copied()
                    .filter(|&(t, v)| !drawn[t][v] || rng.random_bool(pm))
                    .collect();
                if block.is_empty() {
                    block.push(targets[rng.random_range(0..targets.len())]);
                }
                draw(model, cells, &block, &block, &sampling, &mut rng, device)?;
                for &(t, v) in &block {
                    drawn[t][v] = true;
                }
                stats.passes += 1;
                stats.draws += block.len();
            }
        }
        FillStrategy::Ancestral => {
            let mut order = targets.clone();
            order.shuffle(&mut rng);
            for (i, &cell) in order.iter().enumerate() {
                // Hidden: this cell and every region cell drawn after it.
                draw(model, cells, &order[i..], &[cell], &sampling, &mut rng, device)?;
                stats.passes += 1;
                stats.draws += 1;
            }
        }
    }
    Ok(stats)
}

/// The (step, voice) positions where `f` holds, in time order.
fn positions(steps: usize, f: impl Fn(usize, usize) -> bool) -> Vec<(usize, usize)> {
    (0..steps)
        .flat_map(|t| (0..4).map(move |v| (t, v)))
        .filter(|&(t, v)| f(t, v))
        .collect()
}

/// One network pass with `hidden` masked; draws the cells of `write`.
fn draw(
    model: &Coconet,
    cells: &mut [[Option<u8>; 4]],
    hidden: &[(usize, usize)],
    write: &[(usize, usize)],
    sampling: &SamplingConfig,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<(), SampleError> {
    let (t_len, p) = (cells.len(), model.pitches);
    let mut roll = vec![0f32; 4 * t_len * p];
    let mut mask = vec![0f32; 4 * t_len];
    for (t, cell) in cells.iter().enumerate() {
        for (v, pitch) in cell.iter().enumerate() {
            if let Some(x) = pitch {
                roll[(v * t_len + t) * p + usize::from(*x)] = 1.0;
            }
        }
    }
    for &(t, v) in hidden {
        mask[v * t_len + t] = 1.0;
    }
    let (roll, mask) = inputs(roll, mask, [1, t_len], p, device);
    let logits = model.forward(roll, mask).into_data();
    let logits = logits.as_slice::<f32>().map_err(|e| SampleError::Config {
        field: "model",
        why: format!("logits not readable: {e:?}"),
    })?;
    for &(t, v) in write {
        let at = (v * t_len + t) * p;
        let pitch = sample_logits(&logits[at..at + p], sampling, rng).ok_or(SampleError::NothingAllowed(t))?;
        cells[t][v] = Some(pitch as u8);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_models::coconet::CoconetConfig;

    fn setup() -> (Coconet, Device, Vec<[Option<u8>; 4]>) {
        let device = Device::flex();
        let model = CoconetConfig::tiny().init(&device).unwrap_or_else(|e| panic!("{e}"));
        let cells = (0..12u8)
            .map(|t| [Some(t % 12), Some((t + 3) % 12), None, Some(2)])
            .collect();
        (model, device, cells)
    }

    #[test]
    fn only_the_region_changes_and_all_of_it_is_written() {
        let (model, device, mut cells) = setup();
        let original = cells.clone();
        let region: Vec<[bool; 4]> = (0..12).map(|t| [false, (3..7).contains(&t), true, t == 11]).collect();
        for strategy in [FillStrategy::gibbs(None), FillStrategy::Ancestral] {
            let config = FillConfig {
                strategy,
                seed: 3,
                ..FillConfig::default()
            };
            let stats = fill(&model, &mut cells, &region, &config, &device).unwrap_or_else(|e| panic!("{e}"));
            assert!(stats.passes > 0);
            for t in 0..12 {
                for v in 0..4 {
                    if region[t][v] {
                        assert!(cells[t][v].is_some_and(|x| x < 12), "({t},{v}) not written");
                    } else {
                        assert_eq!(cells[t][v], original[t][v], "({t},{v}) changed");
                    }
                }
            }
        }
    }

    #[test]
    fn seeded_and_schedule_sized() {
        let (model, device, cells) = setup();
        let region: Vec<[bool; 4]> = (0..12).map(|_| [false, true, true, true]).collect();
        let run = |seed, strategy| {
            let mut c = cells.clone();
            let config = FillConfig {
                strategy,
                seed,
                ..FillConfig::default()
            };
            let stats = fill(&model, &mut c, &region, &config, &device).unwrap_or_else(|e| panic!("{e}"));
            (c, stats)
        };
        let (a, sa) = run(1, FillStrategy::gibbs(None));
        let (b, _) = run(1, FillStrategy::gibbs(None));
        let (c, _) = run(2, FillStrategy::gibbs(None));
        assert_eq!(a, b);
        assert_ne!(a, c);
        // One Gibbs step per region cell by default; the first block is
        // every (blank) cell.
        assert_eq!(sa.passes, 36);
        assert!(sa.draws >= 36);
        let (_, anc) = run(1, FillStrategy::Ancestral);
        assert_eq!((anc.passes, anc.draws), (36, 36));
        let (_, short) = run(1, FillStrategy::gibbs(Some(5)));
        assert_eq!(short.passes, 5);
    }

    #[test]
    fn a_short_region_runs_on_its_window_with_the_same_draws() {
        // Padding the music far beyond the receptive radius on both sides
        // must not change what is drawn in the region.
        let (model, device, cells) = setup();
        let r = model.receptive_radius();
        let region: Vec<[bool; 4]> = (0..12).map(|t| [false, (4..8).contains(&t), false, false]).collect();
        let config = FillConfig {
            seed: 5,
            ..FillConfig::default()
        };
        let mut small = cells.clone();
        fill(&model, &mut small, &region, &config, &device).unwrap_or_else(|e| panic!("{e}"));
        let pad = 3 * r;
        let mut big: Vec<[Option<u8>; 4]> = vec![[Some(1), Some(2), Some(3), Some(4)]; pad];
        big.extend(cells.iter().copied());
        big.extend(vec![[Some(5), Some(6), Some(7), Some(8)]; pad]);
        let mut big_region = vec![[false; 4]; pad];
        big_region.extend(region.iter().copied());
        big_region.extend(vec![[false; 4]; pad]);
        // The whole padded piece through the network each pass, against
        // the window around the region.
        let mut reference = big.clone();
        fill_all(&model, &mut reference, &big_region, &config, &device).unwrap_or_else(|e| panic!("{e}"));
        fill(&model, &mut big, &big_region, &config, &device).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(big, reference);
        assert!(small[4..8].iter().all(|c| c[1].is_some()));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let (model, device, mut cells) = setup();
        let short: Vec<[bool; 4]> = vec![[true; 4]; 3];
        assert!(fill(&model, &mut cells, &short, &FillConfig::default(), &device).is_err());
        let region = vec![[true; 4]; 12];
        cells[0][0] = Some(40);
        assert!(matches!(
            fill(&model, &mut cells, &region, &FillConfig::default(), &device),
            Err(SampleError::OutOfVocab { id: 40, vocab: 12 })
        ));
        cells[0][0] = None;
        let bad = FillConfig {
            temperature: -1.0,
            ..FillConfig::default()
        };
        assert!(fill(&model, &mut cells, &region, &bad, &device).is_err());
    }
}
