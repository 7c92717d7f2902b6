//! BachBot (Liang, Gotham, Johnson & Shotton, ISMIR 2017) in the CLI: its
//! token streams as a training task for the token LMs, and chorales sampled
//! from a trained run.
//!
//! **Data.** Each chorale of a dataset of SATB scores (`bach-chorales`)
//! becomes one stream of `fugue-tokens`' [`bachbot`](fugue_tokens::bachbot)
//! tokens at 16ths, `START` … `END`. As BachBot: `four_four_only` leaves out
//! the chorales not in 4/4 throughout, `standardize_key` transposes each to
//! C major / A minor (by its key signature; BachBot used music21's key
//! analysis). The task is the other token tasks' [`TokenTask`]: a training
//! row is a random window of `seq_len` tokens of one chorale, evaluation
//! scores every token once, in nats per token. BachBot instead cut its
//! concatenated corpus into 50 streams for truncated BPTT, so a window
//! could span two chorales; here one never does.
//!
//! **Generation.** Ancestral sampling from `START` (or a primer's tokens),
//! token by token, under the tokenizer's grammar and with at most four
//! notes a frame, so that every sample decodes into four voices.

use anyhow::{bail, Context, Result};
use fugue_data::{Dataset, Split};
use fugue_models::burn::tensor::Device;
use fugue_score::{Score, Tempo, Tick, TimeSignature};
use fugue_tokens::bachbot::{in_four_four, BachBot, BachBotConfig};
use fugue_tokens::{Token, Tokenizer};
use fugue_train::TokenTask;

use crate::generate::{GenerateArgs, CHORALE_QPM};

/// The most tokens a frame can take: `(.)`, four notes, `|||`.
const MAX_FRAME_TOKENS: usize = 6;

/// BachBot's tokenizer on 16ths, as the encoding configures it.
pub fn tokenizer(standardize_key: bool) -> Result<BachBot> {
    Ok(BachBot::new(BachBotConfig {
        steps_per_quarter: 4,
        standardize_key,
    })?)
}

/// The id of a token the vocabulary must hold.
fn id(bb: &BachBot, t: Token) -> Result<u32> {
    bb.vocab()
        .id(&t)
        .with_context(|| format!("the BachBot vocabulary has no `{t}`"))
}

/// One split's streams, without their leading `START` (the task puts it
/// back as every piece's first input), and how many chorales the meter
/// filter left out.
fn split_ids(
    dataset: &Dataset,
    split: Split,
    bb: &BachBot,
    four_four_only: bool,
    unstandardized: &mut usize,
) -> Result<(Vec<Vec<u32>>, usize)> {
    let start = id(bb, Token::Start)?;
    let mut out = Vec::new();
    let mut not_four_four = 0;
    for piece in dataset.split(split) {
        let score = piece
            .score()
            .with_context(|| format!("{}: {}", dataset.name, piece.id))?;
        if four_four_only && !in_four_four(&score) {
            not_four_four += 1;
            continue;
        }
        let (seqs, report) = bb
            .encode(&score)
            .with_context(|| format!("{}: {}: not a BachBot chorale", dataset.name, piece.id))?;
        if report.warnings.iter().any(|w| w.starts_with("key not standardized")) {
            *unstandardized += 1;
        }
        let Some(ids) = seqs.into_iter().next().map(|s| s.ids) else {
            bail!("{}: {}: the BachBot tokenizer gave no sequence", dataset.name, piece.id);
        };
        match ids.split_first() {
            Some((&first, rest)) if first == start => out.push(rest.to_vec()),
            _ => bail!("{}: {}: a BachBot stream must open with START", dataset.name, piece.id),
        }
    }
    Ok((out, not_four_four))
}

/// The token task of a dataset of SATB scores (see the module docs). The
/// padding id is `END`'s: BachBot has no padding token, and a padded
/// position is never a target.
pub fn load_task(
    dataset: &Dataset,
    standardize_key: bool,
    four_four_only: bool,
    batch_size: usize,
    seq_len: usize,
) -> Result<TokenTask> {
    let bb = tokenizer(standardize_key)?;
    let mut unstandardized = 0;
    let mut left_out = 0;
    let mut splits = Vec::with_capacity(3);
    for split in Split::ALL {
        let (ids, skipped) = split_ids(dataset, split, &bb, four_four_only, &mut unstandardized)?;
        left_out += skipped;
        splits.push(ids);
    }
    let tokens = |s: &[Vec<u32>]| s.iter().map(|p| p.len() + 1).sum::<usize>();
    eprintln!(
        "{} as BachBot tokens: {}/{}/{} chorales, {}/{}/{} tokens (train/valid/test){}{}",
        dataset.name,
        splits[0].len(),
        splits[1].len(),
        splits[2].len(),
        tokens(&splits[0]),
        tokens(&splits[1]),
        tokens(&splits[2]),
        if left_out > 0 {
            format!("; {left_out} not in 4/4 left out")
        } else {
            String::new()
        },
        if unstandardized > 0 {
            format!("; {unstandardized} kept in their own key (no key signature, or out of range)")
        } else {
            String::new()
        },
    );
    if splits[0].is_empty() {
        bail!("{}: no chorale to train on as BachBot tokens", dataset.name);
    }
    let test = splits.pop().unwrap_or_default();
    let valid = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok(TokenTask::new(
        train,
        valid,
        test,
        id(&bb, Token::Start)?,
        id(&bb, Token::End)?,
        batch_size,
        seq_len,
    ))
}

/// A BachBot id sequence as a four-voice score on 16ths (lenient: see
/// [`BachBot::decode_grid`]).
pub fn decode(ids: &[u32]) -> Result<Score<Tick>> {
    let bb = tokenizer(false)?;
    let tokens = bb.vocab().decode(ids)?;
    Ok(bb.decode_grid(&tokens)?.to_score())
}

/// A chorale sampled from a token LM trained on BachBot tokens. Length:
/// `--tokens` counts new tokens and the model may end the chorale sooner;
/// `--seconds` and the default (8 bars of 4/4) count 16th frames, and
/// `END` is held back until there are that many, then forced.
pub fn generate<M: fugue_models::TokenLm>(
    model: &M,
    standardize_key: bool,
    a: &GenerateArgs,
    seed: u64,
    device: &Device,
) -> Result<(Score<Tick>, usize)> {
    let bb = tokenizer(standardize_key)?;
    let (start, end, bar) = (id(&bb, Token::Start)?, id(&bb, Token::End)?, id(&bb, Token::FrameEnd)?);
    let primer = match &a.primer {
        Some(p) => {
            let loaded = crate::cmd::load(p, &crate::cmd::ReadArgs::default())
                .with_context(|| format!("cannot read primer {}", p.display()))?;
            let (grid, _) = bb
                .grid(&loaded.score)
                .with_context(|| format!("primer {}: BachBot needs four voices S, A, T, B", p.display()))?;
            let mut ids = bb.grid_tokens(&grid)?.ids;
            ids.pop(); // `END`
            ids
        }
        None => vec![start],
    };
    let primer_frames = primer.iter().filter(|&&i| i == bar).count();
    let (budget, frames) = match (a.tokens, a.seconds) {
        (Some(t), _) => (t, None),
        (None, seconds) => {
            let new = seconds.map_or(8 * 16, |s| ((s * CHORALE_QPM / 60.0 * 4.0).round() as usize).max(1));
            (new * MAX_FRAME_TOKENS + 1, Some(primer_frames + new))
        }
    };
    let vocab = bb.vocab();
    let grammar = bb.grammar();
    let constrain = |sofar: &[u32], logits: &mut [f32]| {
        let prev = sofar.last().and_then(|&i| vocab.token(i));
        let allowed = grammar.mask(vocab, prev.as_ref());
        let notes = sofar
            .iter()
            .rev()
            .take_while(|&&i| i != bar)
            .filter(|&&i| matches!(vocab.token(i), Some(Token::NoteTie(..))))
            .count();
        let enough = frames.map(|f| sofar.iter().filter(|&&i| i == bar).count() >= f);
        let at_frame_start = prev == Some(Token::FrameEnd);
        for (i, l) in logits.iter_mut().enumerate() {
            let ok = match vocab.token(i as u32) {
                _ if !allowed.get(i).copied().unwrap_or(false) => false,
                Some(Token::End) => enough.unwrap_or(true),
                _ if enough == Some(true) && at_frame_start => false,
                Some(Token::NoteTie(..)) => notes < 4,
                Some(Token::Start) | None => false,
                Some(_) => true,
            };
            if !ok {
                *l = f32::NEG_INFINITY;
            }
        }
    };
    let (all, drawn) = a.continue_primer(model, primer, budget, Some(end), seed, vocab.len(), device, constrain)?;
    let mut score = decode(&all)?.resample(480, None)?;
    score.tempos.push(Tempo::from_qpm(0, CHORALE_QPM));
    score.time_signatures.push(TimeSignature::new(0, 4, 4));
    Ok((score, drawn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{chorale, dataset};

    #[test]
    fn a_hand_built_chorale_with_a_fermata_round_trips_through_the_task() {
        let mut waltz = chorale();
        waltz.time_signatures[0].numerator = 3;
        let ds = dataset(vec![
            (Split::Train, chorale()),
            (Split::Train, waltz),
            (Split::Valid, chorale()),
        ]);
        let task = load_task(&ds, false, true, 2, 8).unwrap();
        assert_eq!(
            (task.train.len(), task.valid.len(), task.test.len()),
            (1, 1, 0),
            "3/4 left out"
        );
        // START is the task's, so the stream is START + the piece.
        let mut ids = vec![task.bos];
        ids.extend(&task.train[0]);
        let bb = tokenizer(false).unwrap();
        let text: Vec<String> = bb.vocab().decode(&ids).unwrap().iter().map(|t| t.to_string()).collect();
        assert_eq!(text.first().map(String::as_str), Some("START"));
        assert_eq!(text.last().map(String::as_str), Some("END"));
        assert!(
            text.join(" ")
                .contains("||| (.) (67, False) (62, False) (59, False) (43, False) |||"),
            "{text:?}"
        );
        // Decoding gives the chorale back: its notes, and the fermata over
        // the last chord (a grid-level equality: the same notes and marks).
        let back = decode(&ids).unwrap();
        let (want, _) = bb.grid(&chorale()).unwrap();
        let (got, _) = bb.grid(&back).unwrap();
        assert_eq!(got, want);
        assert!(got.fermatas[8..].iter().all(|&f| f) && !got.fermatas[7]);
        // Standardized, G major goes up a fourth to C major.
        let up = load_task(&ds, true, true, 2, 8).unwrap();
        let first_note = |t: &TokenTask| bb.vocab().token(t.train[0][0]);
        assert_eq!(first_note(&task), Some(Token::NoteTie(67, false)));
        assert_eq!(first_note(&up), Some(Token::NoteTie(72, false)));
    }

    /// The recipe's epoch length is the real corpus's: its training tokens
    /// over 50 × 128 per update (skipped without `../shared/data`).
    #[test]
    fn the_recipe_epoch_matches_the_bach_chorales_corpus() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
        let k = fugue_data::Known::BachChorales;
        if !k.found(&root) {
            eprintln!("skipped: {} is absent", k.path(&root).display());
            return;
        }
        let ds = fugue_data::load(&fugue_data::DatasetRef::Known(k), &root, &Default::default()).unwrap();
        let task = load_task(&ds, true, true, 50, 128).unwrap();
        let tokens: usize = task.train.iter().map(|p| p.len() + 1).sum();
        assert_eq!((task.train.len(), tokens), (260, 279_818));
        let per_epoch = (tokens as f64 / (50.0 * 128.0)).round() as u64;
        assert_eq!(per_epoch, crate::recipe::BACHBOT_UPDATES_PER_EPOCH);
        assert_eq!((task.valid.len(), task.test.len()), (37, 29));
    }

    #[test]
    fn a_dataset_of_non_chorales_is_an_error_naming_the_piece() {
        let mut solo = chorale();
        solo.tracks.truncate(1);
        let e = load_task(&dataset(vec![(Split::Train, solo)]), true, true, 2, 8).unwrap_err();
        assert!(format!("{e:#}").contains("0.mxl"), "{e:#}");
    }
}
