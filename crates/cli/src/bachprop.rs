//! BachProp (Colombo, Brea & Gerstner, SMC 2019) in the CLI: a dataset's
//! pieces as BachProp's notes, and pieces sampled from a trained run.
//!
//! **Data.** Every piece of a dataset of scores or grids (`bach-chorales`,
//! BachProp's own music21 chorales; `jsb-16th`; `nottingham-abc`) becomes
//! its notes, every part merged ([`fugue_tokens::bachprop`]). The
//! vocabularies are the whole dataset's, all three splits (BachProp builds
//! them over its corpus before holding out validation pieces): the first
//! run records them in its recipe, and evaluation and sampling reuse them.
//!
//! **Generation.** Notes drawn one by one from the start symbol (or after
//! a primer's notes) at `--temperature` (BachProp's default is 0.5, fugue's
//! flag defaults to 1), until the end symbol or `--tokens` notes; 64 notes
//! when neither `--tokens` nor `--seconds` is given (`--seconds` stops at
//! the first note past that time at 100 quarters a minute). One track.

use anyhow::{bail, Context, Result};
use fugue_data::{Content, Dataset, Split};
use fugue_models::bachprop::BachProp;
use fugue_models::burn::tensor::Device;
use fugue_score::{Score, Tempo, Tick};
use fugue_tokens::bachprop::{notes, BachPropVocab, NoteTriple};
use fugue_train::BachPropTask;
use rand::{Rng, SeedableRng};

use crate::generate::GenerateArgs;

/// Tempo of sampled pieces.
const QPM: f64 = 100.0;

/// A piece's notes: a score's, or a grid's through its score.
fn piece_notes(dataset: &Dataset, piece: &fugue_data::Piece) -> Result<Vec<NoteTriple>> {
    let score = match &piece.content {
        Content::Grid(g) => g.to_score(),
        _ => piece
            .score()
            .with_context(|| format!("{}: {}", dataset.name, piece.id))?,
    };
    Ok(notes(&score))
}

/// The task of a dataset (see the module docs) and the vocabularies it
/// used: `vocab`, or the dataset's own when `None`.
pub fn load_task(
    dataset: &Dataset,
    vocab: Option<&BachPropVocab>,
    batch_size: usize,
    seq_len: usize,
) -> Result<(BachPropTask, BachPropVocab)> {
    let mut splits: Vec<Vec<(String, Vec<NoteTriple>)>> = Vec::with_capacity(3);
    for split in Split::ALL {
        let mut pieces = Vec::new();
        for piece in dataset.split(split) {
            let n = piece_notes(dataset, piece)?;
            if !n.is_empty() {
                pieces.push((piece.id.clone(), n));
            }
        }
        splits.push(pieces);
    }
    let vocab = match vocab {
        Some(v) => v.clone(),
        None => BachPropVocab::from_corpus(splits.iter().flatten().map(|(_, n)| n.as_slice()))
            .with_context(|| format!("{}: no note to build BachProp's vocabularies from", dataset.name))?,
    };
    let ids = |pieces: &[(String, Vec<NoteTriple>)]| -> Result<Vec<Vec<[u32; 3]>>> {
        pieces
            .iter()
            .map(|(id, n)| {
                n.iter()
                    .map(|x| vocab.ids(x))
                    .collect::<Result<Vec<_>, _>>()
                    .with_context(|| format!("{}: {id}", dataset.name))
            })
            .collect()
    };
    let (train, valid, test) = (ids(&splits[0])?, ids(&splits[1])?, ids(&splits[2])?);
    let [nd, nt, np] = vocab.sizes();
    crate::recipe::report_splits(
        &dataset.name,
        "BachProp notes",
        "pieces",
        "notes",
        [&train, &valid, &test],
        &format!("; vocabularies dT {nd}, T {nt}, P {np} (symbols included)"),
    )?;
    let symbol = vocab.symbol();
    Ok((
        BachPropTask::new(train, valid, test, symbol, batch_size, seq_len),
        vocab,
    ))
}

/// A piece sampled from a BachProp run (see the module docs).
pub fn generate(
    model: &BachProp,
    vocab: &BachPropVocab,
    a: &GenerateArgs,
    seed: u64,
    device: &Device,
) -> Result<(Score<Tick>, usize)> {
    if model.sizes() != vocab.sizes() {
        bail!(
            "the run's network has vocabularies {:?} but its recipe {:?}",
            model.sizes(),
            vocab.sizes()
        );
    }
    let mut primer = vec![vocab.symbol()];
    if let Some(p) = &a.primer {
        let loaded = crate::cmd::load(p, &crate::cmd::ReadArgs::default())
            .with_context(|| format!("cannot read primer {}", p.display()))?;
        for n in notes(&loaded.score) {
            primer.push(
                vocab
                    .ids(&n)
                    .with_context(|| format!("primer {}: a note BachProp's vocabularies lack", p.display()))?,
            );
        }
    }
    // `--seconds` stops at the first note past the time, below; drawing
    // is capped at 16 notes a quarter (four voices in 16ths) so that a
    // model that rarely ends still stops.
    let max_notes = match (a.tokens, a.seconds) {
        (Some(t), _) => t,
        (None, Some(s)) => ((s * QPM / 60.0 * 16.0).ceil() as usize).max(1),
        (None, None) => 64,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut drawn = model.sample(&primer, max_notes, a.temperature, device, || rng.random::<f32>());
    if let Some(s) = a.seconds {
        let limit = (s * QPM / 60.0 * f64::from(fugue_tokens::bachprop::PER_QUARTER)) as i64;
        let mut onset: i64 = primer[1..]
            .iter()
            .filter_map(|&n| vocab.note(n))
            .map(|n| i64::from(n.dt))
            .sum();
        let keep = drawn
            .iter()
            .take_while(|&&n| {
                onset += vocab.note(n).map_or(0, |n| i64::from(n.dt));
                onset < limit
            })
            .count();
        drawn.truncate(keep);
    }
    let new = drawn.len();
    let all: Vec<[u32; 3]> = primer[1..].iter().copied().chain(drawn).collect();
    let mut score = vocab.decode(&all).resample(480, None)?;
    score.tempos.push(Tempo::from_qpm(0, QPM));
    Ok((score, new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{chorale, dataset};

    #[test]
    fn a_dataset_becomes_notes_with_its_own_vocabularies() {
        let ds = dataset(vec![(Split::Train, chorale()), (Split::Test, chorale())]);
        let (task, vocab) = load_task(&ds, None, 2, 8).unwrap();
        assert_eq!((task.train.len(), task.valid.len(), task.test.len()), (1, 0, 1));
        // The fixture: 4 voices, 11 notes; the first chord struck at once.
        assert_eq!(task.train[0].len(), 11);
        assert_eq!(vocab.low, 43);
        assert_eq!(vocab.high, 67);
        let dts: Vec<u32> = task.train[0].iter().take(4).map(|n| vocab.dt[n[0] as usize]).collect();
        assert_eq!(dts, vec![0, 0, 0, 0]);
        // A narrower given vocabulary cannot encode the piece: the error names it.
        let narrow = BachPropVocab {
            high: 60,
            ..vocab.clone()
        };
        let e = load_task(&ds, Some(&narrow), 2, 8).unwrap_err();
        assert!(format!("{e:#}").contains("0.mxl"), "{e:#}");
    }
}
