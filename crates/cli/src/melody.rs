//! Melody models in the CLI: Magenta's Melody RNN (`basic_rnn`, an LSTM
//! language model) and Todd's 1989 network, both on `fugue-tokens`'
//! [`melody`](fugue_tokens::melody) events.
//!
//! **Data.** Each tune of a dataset of scores (`nottingham-abc`: the
//! Nottingham folk tunes read from ABC, repeats played out) becomes one
//! event sequence: its melody track on 16ths, moved to C major and into
//! 48..84 as Magenta does. The task is the other token tasks'
//! [`TokenTask`]: a training row is a random window of `seq_len` events of
//! one tune; evaluation scores every event of every tune once, from
//! `START`, in nats per event (per 16th step).
//!
//! **Generation.** Ancestral sampling from `START` (or a primer melody's
//! events), one event per 16th; the melody is written as one track at 120
//! quarter notes a minute in 4/4 (the events carry no meter or tempo).

use anyhow::{Context, Result};
use fugue_data::{Dataset, Split};
use fugue_models::burn::tensor::Device;
use fugue_score::{Score, Tempo, Tick, TimeSignature};
use fugue_tokens::melody::{Melody, MelodyConfig};
use fugue_tokens::Tokenizer;
use fugue_train::TokenTask;

use crate::generate::GenerateArgs;

/// Magenta's default tempo for melodies.
const MELODY_QPM: f64 = 120.0;

/// One split's event ids, and the tunes left out for having no melody.
fn split_ids(dataset: &Dataset, split: Split, tok: &Melody) -> Result<Vec<Vec<u32>>> {
    let mut out = Vec::new();
    for piece in dataset.split(split) {
        let score = piece
            .score()
            .with_context(|| format!("{}: {}", dataset.name, piece.id))?;
        let (events, _) = tok
            .events(&score)
            .with_context(|| format!("{}: {}: no melody to encode", dataset.name, piece.id))?;
        out.push(tok.vocab().encode(&events)?);
    }
    Ok(out)
}

/// The token task of a dataset of tunes (see the module docs). `START` is
/// both the first input and the padding id (a padded position is never a
/// target).
pub fn load_task(dataset: &Dataset, config: &MelodyConfig, batch_size: usize, seq_len: usize) -> Result<TokenTask> {
    let tok = Melody::new(config.clone())?;
    let splits = Split::ALL
        .iter()
        .map(|&s| split_ids(dataset, s, &tok))
        .collect::<Result<Vec<_>>>()?;
    crate::recipe::report_splits(
        &dataset.name,
        "melody events",
        "tunes",
        "events",
        [&splits[0], &splits[1], &splits[2]],
        "",
    )?;
    let mut splits = splits.into_iter();
    let (train, valid, test) = (
        splits.next().unwrap_or_default(),
        splits.next().unwrap_or_default(),
        splits.next().unwrap_or_default(),
    );
    let start = tok.start_id();
    Ok(TokenTask::new(train, valid, test, start, start, batch_size, seq_len))
}

/// Event ids as a one-track score on 16ths.
pub fn decode(config: &MelodyConfig, ids: &[u32]) -> Result<Score<Tick>> {
    let tok = Melody::new(config.clone())?;
    let events = tok.vocab().decode(ids)?;
    Ok(tok.decode_events(&events)?)
}

/// A melody sampled from a token LM trained on melody events. Length:
/// `--tokens` events (16ths), else `--seconds` at 120 quarters a minute,
/// else 8 bars of 4/4 (Magenta's default 128 steps).
pub fn generate<M: fugue_models::TokenLm>(
    model: &M,
    config: &MelodyConfig,
    a: &GenerateArgs,
    seed: u64,
    device: &Device,
) -> Result<(Score<Tick>, usize)> {
    let tok = Melody::new(config.clone())?;
    let start = tok.start_id();
    let mut primer = vec![start];
    if let Some(p) = &a.primer {
        let loaded = crate::cmd::load(p, &crate::cmd::ReadArgs::default())
            .with_context(|| format!("cannot read primer {}", p.display()))?;
        let (events, _) = tok
            .events(&loaded.score)
            .with_context(|| format!("primer {}: no melody", p.display()))?;
        primer.extend(tok.vocab().encode(&events)?);
    }
    let spq = f64::from(config.steps_per_quarter);
    let budget = match (a.tokens, a.seconds) {
        (Some(t), _) => t,
        (None, Some(s)) => ((s * MELODY_QPM / 60.0 * spq).round() as usize).max(1),
        (None, None) => (16.0 * spq) as usize * 2,
    };
    let constrain = |_: &[u32], logits: &mut [f32]| {
        if let Some(l) = logits.get_mut(start as usize) {
            *l = f32::NEG_INFINITY;
        }
    };
    let (all, drawn) = a.continue_primer(model, primer, budget, None, seed, tok.vocab().len(), device, constrain)?;
    let mut score = decode(config, &all)?.resample(480, None)?;
    score.tempos.push(Tempo::from_qpm(0, MELODY_QPM));
    score.time_signatures.push(TimeSignature::new(0, 4, 4));
    Ok((score, drawn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::dataset;
    use fugue_score::{Note, Track};

    fn tune(pitches: &[u8]) -> Score<Tick> {
        let mut s = Score::new(480);
        let mut t = Track::new("Tune", 0, 0);
        for (i, &p) in pitches.iter().enumerate() {
            t.notes.push(Note::new(i as i64 * 240, 240, p, 90));
        }
        s.tracks.push(t);
        s
    }

    #[test]
    fn tunes_become_windows_of_events_and_decode_back() {
        let ds = dataset(vec![
            (Split::Train, tune(&[67, 72, 66, 67])),
            (Split::Train, tune(&[60, 62])),
            (Split::Test, tune(&[72, 71])),
        ]);
        let config = MelodyConfig::default();
        let task = load_task(&ds, &config, 2, 8).unwrap();
        assert_eq!((task.train.len(), task.valid.len(), task.test.len()), (2, 0, 1));
        assert_eq!(task.bos, 38);
        // G C F♯ G (G major: F♯) moves down a fifth to C major: C F B C.
        let back = decode(&config, &task.train[0]).unwrap();
        let notes: Vec<(i64, i64, u8)> = back.tracks[0]
            .notes
            .iter()
            .map(|n| (n.time, n.duration, n.pitch))
            .collect();
        assert_eq!(notes, vec![(0, 2, 60), (2, 2, 65), (4, 2, 59), (6, 2, 60)]);
    }

    #[test]
    fn a_tune_without_a_melody_is_an_error_naming_it() {
        let mut chords = tune(&[60]);
        chords.tracks[0].name = "Chords".into();
        let e = load_task(&dataset(vec![(Split::Train, chords)]), &MelodyConfig::default(), 2, 8).unwrap_err();
        assert!(format!("{e:#}").contains("no melody"), "{e:#}");
    }
}
