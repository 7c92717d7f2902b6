//! Performance RNN (Oore et al. 2018) and Music Transformer's piano setup in
//! the CLI: piano performances as `fugue-tokens`' performance events, a
//! training task for the token LMs, and performances sampled from a run.
//!
//! **Data, as Magenta's `performance_rnn_create_dataset`.** Each piece is
//! preprocessed by the tokenizer (the sustain pedal lengthens the notes it
//! holds, times on 10 ms steps, 32 velocity bins) and cut into 30 s chunks
//! ([`Performance::chunks`]); each chunk is one token sequence, opened by
//! the vocabulary's start token (Performance RNN's 388 events have none, so
//! its recipe adds `BOS_None`: 389 ids, the start only ever an input; the
//! score2perf vocabulary's `PAD_None` plays that part for the Transformer,
//! as tensor2tensor shifts targets right with 0). Training rows are random
//! windows of `seq_len` events of a chunk ([`TokenTask`]), where Magenta
//! kept the first 512 events of each chunk and dropped chunks under 32
//! events; evaluation scores every event of every chunk once (windows of
//! `seq_len`, each from a fresh state), in nats per event.
//!
//! **Augmentation, pre-expanded as Magenta does.** Every training chunk is
//! stored in each time stretch (0.95, 0.975, 1, 1.025, 1.05: the tempo
//! scaled before quantization, the chunk boundaries scaled with it so that
//! chunk `k` of every stretch holds the same music) and each transposition
//! in -3..=+3 that keeps all its notes in the vocabulary's pitch range
//! (Magenta's `TranspositionPipeline` drops the others too): up to 35
//! copies, in memory (about 4 bytes × 35 per training event). A training
//! window therefore comes from a uniformly drawn augmented copy, weighted
//! by length. Validation and test chunks are unaugmented.
//!
//! **Validation when the dataset has none.** The `piano` set puts every
//! MAESTRO file it can match in MAESTRO's test split and the rest in train,
//! so it has no validation pieces. Then every `holdout_every`-th chunk of
//! each training piece (chunk `k` with `k % n == n - 1`, in every stretch)
//! validates instead of training: a measure of fit to unseen passages of
//! the training performances, not to unseen pieces (Magenta held out 10 %
//! of the pieces). Said on stderr when it happens.
//!
//! **Generation.** Ancestral sampling from the start token (or a primer's
//! events) under the tokenizer's grammar (a `VELOCITY` is followed by a
//! `NOTE_ON`), decoded into one piano track.

use anyhow::{bail, Context, Result};
use fugue_data::augment::{stretch, transpose, OutOfRange, PitchRange, Ranges};
use fugue_data::{Dataset, Piece, Split};
use fugue_models::burn::tensor::Device;
use fugue_score::{Score, Tick};
use fugue_tokens::performance::{Performance, PerformanceConfig};
use fugue_tokens::{Token, TokenType, Tokenizer};
use fugue_train::TokenTask;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::generate::GenerateArgs;

/// How pieces become performance-event sequences (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceEncoding {
    /// The event vocabulary. Its first special token is every chunk's start
    /// input (and the padding of short windows, never a target).
    pub events: PerformanceConfig,
    /// Chunk length in seconds (Performance RNN: 30).
    pub chunk_seconds: u32,
    /// Training copies in every transposition `-transpose..=transpose`
    /// that keeps a chunk in the pitch range (Performance RNN: 3).
    pub transpose: u8,
    /// Training copies in each time stretch (above 1 slower; Performance
    /// RNN: 0.95, 0.975, 1, 1.025, 1.05). Empty means `[1]`.
    pub stretch: Vec<f64>,
    /// With no validation pieces in the dataset, every `holdout_every`-th
    /// chunk of each training piece validates instead (0: never; then the
    /// validation split stays empty).
    pub holdout_every: u32,
}

/// Magenta's training time stretches.
pub const MAGENTA_STRETCH: [f64; 5] = [0.95, 0.975, 1.0, 1.025, 1.05];

impl PerformanceEncoding {
    /// Performance RNN's data: its 388 events plus a start token (389 ids),
    /// 30 s chunks, ±3 semitones, Magenta's five stretches, 1 chunk in 10
    /// held out when the dataset has no validation split (Magenta's
    /// `eval_ratio` 0.1).
    pub fn performance_rnn() -> Self {
        PerformanceEncoding {
            events: PerformanceConfig {
                special_tokens: vec!["BOS_None".into()],
                ..PerformanceConfig::default()
            },
            chunk_seconds: 30,
            transpose: 3,
            stretch: MAGENTA_STRETCH.to_vec(),
            holdout_every: 10,
        }
    }

    /// The same chunks and augmentation in score2perf's vocabulary (Music
    /// Transformer on MAESTRO: pitches 21..=108, `PAD`, `EOS`; 310 ids).
    pub fn score2perf() -> Self {
        PerformanceEncoding {
            events: PerformanceConfig::music_transformer(),
            ..Self::performance_rnn()
        }
    }

    /// The tokenizer, after checking every field.
    pub fn tokenizer(&self) -> Result<Performance> {
        if self.chunk_seconds == 0 {
            bail!("performance encoding: chunk_seconds must be at least 1");
        }
        if self.holdout_every == 1 {
            bail!("performance encoding: holdout_every 1 would hold out every chunk (0 = never, else at least 2)");
        }
        if let Some(f) = self.stretch.iter().find(|f| !(0.5..=2.0).contains(*f)) {
            bail!("performance encoding: stretch factor {f} is not within 0.5..=2");
        }
        if self.events.special_tokens.is_empty() {
            bail!("performance encoding: events.special_tokens must name a start token (e.g. [\"BOS_None\"])");
        }
        Ok(Performance::new(self.events.clone())?)
    }

    /// The id every chunk starts from: the first special token's.
    pub fn start_id(&self, tok: &Performance) -> Result<u32> {
        let first = self.events.special_tokens.first().context("no start token")?;
        let t: Token = first
            .parse()
            .map_err(|e| anyhow::anyhow!("performance encoding: special token {first}: {e}"))?;
        tok.vocab()
            .id(&t)
            .with_context(|| format!("the performance vocabulary has no `{t}`"))
    }

    /// Chunk length in time steps at a stretch `factor`.
    fn chunk_steps(&self, factor: f64) -> u32 {
        let steps = f64::from(self.chunk_seconds) * f64::from(self.events.steps_per_second) * factor;
        (steps.round() as u32).max(1)
    }

    fn stretches(&self) -> Vec<f64> {
        if self.stretch.is_empty() {
            vec![1.0]
        } else {
            self.stretch.clone()
        }
    }
}

/// One piece's sequences.
#[derive(Debug, Default)]
struct PieceSeqs {
    /// What the piece's split gets (every augmented copy for training).
    kept: Vec<Vec<u32>>,
    /// Held-out chunks, unaugmented (training pieces under `holdout`).
    held_out: Vec<Vec<u32>>,
    /// Chunks of the unaugmented piece.
    chunks: usize,
    /// Events of the unaugmented chunks in `kept`.
    plain_events: usize,
    /// Notes outside the vocabulary's pitch range, dropped.
    out_of_range: usize,
}

/// A chunk's ids (without the start token: the task puts it back).
fn ids(tok: &Performance, chunk: &Score<Tick>) -> Result<Vec<u32>> {
    let seqs = tok.encode_preprocessed(chunk)?;
    Ok(seqs.into_iter().next().map(|s| s.ids).unwrap_or_default())
}

/// The sequences of one piece: with `augment`, every stretch and
/// transposition of every chunk; with `holdout` (n), chunks `k % n == n - 1`
/// are held out unaugmented instead.
fn encode_piece(
    tok: &Performance,
    enc: &PerformanceEncoding,
    score: &Score<Tick>,
    augment: bool,
    holdout: Option<u32>,
) -> Result<PieceSeqs> {
    let (base, report) = tok.chunks(score, enc.chunk_steps(1.0));
    let held = |k: usize| holdout.is_some_and(|n| k as u64 % u64::from(n) == u64::from(n) - 1);
    let mut out = PieceSeqs {
        chunks: base.len(),
        out_of_range: report.notes_out_of_range,
        ..PieceSeqs::default()
    };
    if !augment {
        for (k, chunk) in &base {
            let seq = ids(tok, chunk)?;
            if held(*k) {
                out.held_out.push(seq);
            } else {
                out.plain_events += seq.len();
                out.kept.push(seq);
            }
        }
        return Ok(out);
    }
    for (k, chunk) in &base {
        let seq = ids(tok, chunk)?;
        if held(*k) {
            out.held_out.push(seq);
        } else {
            out.plain_events += seq.len();
        }
    }
    let range = Ranges::Fixed(PitchRange {
        lo: enc.events.pitch_low,
        hi: enc.events.pitch_high,
    });
    let t = i32::from(enc.transpose);
    for factor in enc.stretches() {
        let chunks = if factor == 1.0 {
            None
        } else {
            Some(tok.chunks(&stretch(score, factor), enc.chunk_steps(factor)).0)
        };
        for (k, chunk) in chunks.as_ref().unwrap_or(&base) {
            if held(*k) {
                continue;
            }
            for shift in -t..=t {
                // `None`: a note would leave the range; this copy is skipped.
                if let Some((moved, _)) = transpose(chunk, shift, range, OutOfRange::Reject) {
                    out.kept.push(ids(tok, &moved)?);
                }
            }
        }
    }
    Ok(out)
}

/// What one split gave, for the summary line.
#[derive(Debug, Default)]
struct SplitSeqs {
    seqs: Vec<Vec<u32>>,
    held_out: Vec<Vec<u32>>,
    pieces: usize,
    chunks: usize,
    plain_events: usize,
    out_of_range: usize,
}

fn encode_split(
    dataset: &Dataset,
    split: Split,
    tok: &Performance,
    enc: &PerformanceEncoding,
    holdout: Option<u32>,
) -> Result<SplitSeqs> {
    let pieces: Vec<&Piece> = dataset.split(split).collect();
    let augment = split == Split::Train;
    let per_piece = pieces
        .par_iter()
        .map(|piece| {
            let score = piece
                .score()
                .with_context(|| format!("{}: {}", dataset.name, piece.id))?;
            encode_piece(tok, enc, &score, augment, holdout)
                .with_context(|| format!("{}: {}: not encodable as performance events", dataset.name, piece.id))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = SplitSeqs {
        pieces: pieces.len(),
        ..SplitSeqs::default()
    };
    for p in per_piece {
        out.seqs.extend(p.kept);
        out.held_out.extend(p.held_out);
        out.chunks += p.chunks;
        out.plain_events += p.plain_events;
        out.out_of_range += p.out_of_range;
    }
    Ok(out)
}

/// The token task of a dataset of piano performances (see the module docs).
pub fn load_task(dataset: &Dataset, enc: &PerformanceEncoding, batch_size: usize, seq_len: usize) -> Result<TokenTask> {
    let tok = enc.tokenizer()?;
    let start = enc.start_id(&tok)?;
    let no_valid = dataset.split(Split::Valid).next().is_none();
    let holdout = (no_valid && enc.holdout_every > 0).then_some(enc.holdout_every);
    let train = encode_split(dataset, Split::Train, &tok, enc, holdout)?;
    let valid = encode_split(dataset, Split::Valid, &tok, enc, None)?;
    let test = encode_split(dataset, Split::Test, &tok, enc, None)?;
    if train.seqs.is_empty() {
        bail!("{}: no training chunk with notes", dataset.name);
    }
    let events = |s: &[Vec<u32>]| s.iter().map(Vec::len).sum::<usize>();
    let valid_seqs = if holdout.is_some() { train.held_out } else { valid.seqs };
    let train_plain = train.chunks - valid_seqs.len() * usize::from(holdout.is_some());
    eprintln!(
        "{} as performance events ({} ids, {} s chunks): pieces {}/{}/{}, chunks {}/{}/{}, events {}/{}/{} \
         (train/valid/test, unaugmented); training: {} augmented chunks, {} events",
        dataset.name,
        tok.vocab().len(),
        enc.chunk_seconds,
        train.pieces,
        valid.pieces,
        test.pieces,
        train_plain,
        valid_seqs.len(),
        test.seqs.len(),
        train.plain_events,
        events(&valid_seqs),
        events(&test.seqs),
        train.seqs.len(),
        events(&train.seqs),
    );
    if let Some(n) = holdout {
        eprintln!(
            "{} has no validation pieces: every {n}th {} s chunk of the training pieces validates instead \
             (unseen passages of the training performances, not unseen pieces)",
            dataset.name, enc.chunk_seconds
        );
    }
    let dropped = train.out_of_range + valid.out_of_range + test.out_of_range;
    if dropped > 0 {
        eprintln!(
            "{dropped} notes outside pitches {}..={} dropped",
            enc.events.pitch_low, enc.events.pitch_high
        );
    }
    Ok(TokenTask::new(
        train.seqs, valid_seqs, test.seqs, start, start, batch_size, seq_len,
    ))
}

/// Performance-event ids as a one-track piano score (1 tick = 1 ms);
/// special tokens are skipped, `EOS` ends it.
pub fn decode(enc: &PerformanceEncoding, ids: &[u32]) -> Result<Score<Tick>> {
    let tok = enc.tokenizer()?;
    Ok(tok.decode_ids(&[ids.to_vec()])?)
}

/// Events per second of music at most when generating by `--seconds`
/// (dense MAESTRO passages reach about half of it); a model that stops
/// moving time ends there.
const MAX_EVENTS_PER_SECOND: f64 = 100.0;

/// A performance sampled from a token LM trained on performance events.
/// Length: `--tokens` counts new events; `--seconds` (default 30, as
/// Performance RNN's 3,000 steps) counts time shifts: a shift past the end
/// is never drawn, and at the end the start token is forced as the stop.
pub fn generate<M: fugue_models::TokenLm>(
    model: &M,
    enc: &PerformanceEncoding,
    a: &GenerateArgs,
    seed: u64,
    device: &Device,
) -> Result<(Score<Tick>, usize)> {
    let tok = enc.tokenizer()?;
    let start = enc.start_id(&tok)?;
    let mut primer = vec![start];
    if let Some(p) = &a.primer {
        let loaded = crate::cmd::load(p, &crate::cmd::ReadArgs::default())
            .with_context(|| format!("cannot read primer {}", p.display()))?;
        let (seqs, _) = tok
            .encode(&loaded.score)
            .with_context(|| format!("primer {}: not encodable as performance events", p.display()))?;
        primer.extend(seqs.into_iter().flat_map(|s| s.ids));
    }
    let (budget, limit) = match (a.tokens, a.seconds) {
        (Some(t), _) => (t, None),
        (None, s) => {
            let s = s.unwrap_or(30.0);
            if !(s > 0.0 && s.is_finite()) {
                bail!("--seconds {s}: must be a positive number");
            }
            let steps = (s * f64::from(enc.events.steps_per_second)).round() as i64;
            ((s * MAX_EVENTS_PER_SECOND).ceil() as usize + 1, Some(steps))
        }
    };
    let vocab = tok.vocab();
    let grammar = tok.grammar();
    let (mut elapsed, mut seen) = (0i64, primer.len());
    let constrain = |sofar: &[u32], logits: &mut [f32]| {
        for &id in &sofar[seen.min(sofar.len())..] {
            if let Some(Token::PerfShift(n)) = vocab.token(id) {
                elapsed += i64::from(n);
            }
        }
        seen = sofar.len();
        let left = limit.map(|l| l - elapsed);
        let over = left.is_some_and(|l| l <= 0);
        let prev = sofar.last().and_then(|&i| vocab.token(i));
        let allowed = grammar.mask(vocab, prev.as_ref());
        for (i, l) in logits.iter_mut().enumerate() {
            let ok = match vocab.token(i as u32) {
                Some(t) if t.kind() == TokenType::Special => over && i as u32 == start,
                _ if over || !allowed.get(i).copied().unwrap_or(false) => false,
                Some(Token::PerfShift(n)) => left.is_none_or(|l| i64::from(n) <= l),
                Some(_) => true,
                None => false,
            };
            if !ok {
                *l = f32::NEG_INFINITY;
            }
        }
    };
    let (all, drawn) = a.continue_primer(model, primer, budget, Some(start), seed, vocab.len(), device, constrain)?;
    Ok((decode(enc, &all)?, drawn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_score::{Note, Pedal, Track};
    use fugue_train::Task;

    /// A hand-built performance, 480 ticks a quarter at 120 qpm (960 ticks
    /// a second): a phrase under the pedal, then one every 2 s, velocities
    /// rising; `seconds` long.
    fn performance(seconds: i64, low: u8) -> Score<Tick> {
        let mut s = Score::new(480);
        let mut t = Track::new("Piano", 0, 0);
        for i in 0..seconds / 2 {
            let at = i * 1920;
            let p = low + (i % 12) as u8;
            t.notes.push(Note::new(at, 240, p, 40 + (i % 80) as u8));
            t.notes.push(Note::new(at + 480, 480, p + 4, 90));
        }
        t.pedals.push(Pedal { time: 0, duration: 900 });
        s.tracks.push(t);
        s
    }

    fn dataset(scores: Vec<(Split, Score<Tick>)>) -> Dataset {
        let named = scores
            .into_iter()
            .enumerate()
            .map(|(i, (split, s))| (format!("{i}.mid"), split, s));
        Dataset::from_scores("test", named)
    }

    fn small() -> PerformanceEncoding {
        PerformanceEncoding {
            chunk_seconds: 10,
            ..PerformanceEncoding::performance_rnn()
        }
    }

    #[test]
    fn vocabularies_and_start_tokens() {
        for (enc, len) in [
            (PerformanceEncoding::performance_rnn(), 389),
            (PerformanceEncoding::score2perf(), 310),
        ] {
            let tok = enc.tokenizer().unwrap();
            assert_eq!(tok.vocab().len(), len);
            assert_eq!(enc.start_id(&tok).unwrap(), 0);
        }
        let mut bad = small();
        bad.events.special_tokens.clear();
        assert!(bad.tokenizer().is_err());
        let mut bad = small();
        bad.stretch = vec![0.0];
        assert!(bad.tokenizer().is_err());
    }

    #[test]
    fn chunks_augmentation_and_holdout() {
        let enc = small();
        let tok = enc.tokenizer().unwrap();
        // 45 s: chunks 0..=4 of 10 s (the last one 5 s).
        let score = performance(45, 60);
        let plain = encode_piece(&tok, &enc, &score, false, None).unwrap();
        assert_eq!((plain.chunks, plain.kept.len()), (5, 5));
        // Every chunk starts afresh: time 0 is the chunk's start, and the
        // pedal of the first chunk does not reach the second.
        let text = |ids: &[u32]| -> Vec<Token> { tok.vocab().decode(ids).unwrap() };
        assert_eq!(text(&plain.kept[1])[0], Token::PerfVelocity(12));
        // 5 stretches × 7 shifts of every chunk, all valid ids.
        let aug = encode_piece(&tok, &enc, &score, true, None).unwrap();
        assert_eq!(aug.kept.len(), 5 * 7 * 5);
        assert!(aug.kept.iter().flatten().all(|&i| (1..389).contains(&i)));
        // Transposition moves every note by the shift and nothing else: the
        // unstretched copies of chunk 0 come first, shifts -3..=3.
        let notes = |ids: &[u32]| -> Vec<(u8, bool)> {
            text(ids)
                .into_iter()
                .filter_map(|t| match t {
                    Token::PerfNoteOn(p) => Some((p, true)),
                    Token::PerfNoteOff(p) => Some((p, false)),
                    _ => None,
                })
                .collect()
        };
        let at_one = enc.stretch.iter().position(|&f| f == 1.0).unwrap();
        let copies = &aug.kept[at_one * 35..][..35];
        assert_eq!(copies[3], plain.kept[0], "shift 0 is the piece itself");
        for (j, shift) in (-3i32..=3).enumerate() {
            let moved: Vec<(u8, bool)> = notes(&plain.kept[0])
                .into_iter()
                .map(|(p, on)| ((i32::from(p) + shift) as u8, on))
                .collect();
            assert_eq!(notes(&copies[j]), moved, "shift {shift}");
            let others = |ids: &[u32]| -> Vec<Token> {
                text(ids)
                    .into_iter()
                    .filter(|t| !matches!(t, Token::PerfNoteOn(_) | Token::PerfNoteOff(_)))
                    .collect()
            };
            assert_eq!(others(&copies[j]), others(&plain.kept[0]));
        }
        // Stretched copies move time: 1.05 × the shifts of the piece.
        let time = |ids: &[u32]| -> i64 {
            text(ids)
                .iter()
                .map(|t| match t {
                    Token::PerfShift(n) => i64::from(*n),
                    _ => 0,
                })
                .sum()
        };
        let slow = enc.stretch.iter().position(|&f| f == 1.05).unwrap();
        let (a, b) = (time(&aug.kept[slow * 35 + 3]), time(&plain.kept[0]));
        assert!((a as f64 - 1.05 * b as f64).abs() <= 2.0, "{a} vs {b}");
        // Near the top of the range only the shifts that fit are kept.
        let high = encode_piece(&tok, &enc, &performance(9, 120), true, None).unwrap();
        assert_eq!(high.kept.len(), 5 * 4, "the highest note is 127: shifts -3..=0 only");
        // Holding out every 2nd chunk: chunks 1 and 3, unaugmented, and none
        // of their copies train.
        let split = encode_piece(&tok, &enc, &score, true, Some(2)).unwrap();
        assert_eq!(split.held_out, vec![plain.kept[1].clone(), plain.kept[3].clone()]);
        assert_eq!(split.kept.len(), 5 * 7 * 3);
        assert!(!split.kept.contains(&plain.kept[1]) && !split.kept.contains(&plain.kept[3]));
    }

    #[test]
    fn the_task_scores_every_event_of_valid_and_test_once() {
        let ds = dataset(vec![
            (Split::Train, performance(25, 50)),
            (Split::Valid, performance(33, 60)),
            (Split::Test, performance(12, 70)),
        ]);
        let enc = small();
        let task = load_task(&ds, &enc, 3, 8).unwrap();
        let tok = enc.tokenizer().unwrap();
        for (split, score, seqs) in [
            (Split::Valid, performance(33, 60), &task.valid),
            (Split::Test, performance(12, 70), &task.test),
        ] {
            let plain = encode_piece(&tok, &enc, &score, false, None).unwrap().kept;
            assert_eq!(seqs, &plain);
            let batches = <TokenTask as Task<fugue_models::lstm::LstmLm>>::eval_batches(&task, split);
            let targets: Vec<i64> = batches
                .iter()
                .flat_map(|b| {
                    b.targets
                        .iter()
                        .zip(&b.weights)
                        .filter(|(_, w)| **w > 0.0)
                        .map(|(t, _)| *t)
                })
                .collect();
            let expected: Vec<i64> = plain.iter().flatten().map(|&i| i64::from(i)).collect();
            assert_eq!(targets, expected, "{split:?}");
            // Each chunk opens with the start token (id 0), an input only.
            let starts = batches
                .iter()
                .flat_map(|b| b.inputs.iter().zip(&b.weights).filter(|(i, w)| **i == 0 && **w > 0.0))
                .count();
            assert_eq!(starts, plain.len(), "{split:?}");
        }
        // With no validation pieces, one chunk in `holdout_every` validates.
        let ds = dataset(vec![
            (Split::Train, performance(45, 60)),
            (Split::Test, performance(12, 70)),
        ]);
        let held = load_task(
            &ds,
            &PerformanceEncoding {
                holdout_every: 2,
                ..small()
            },
            3,
            8,
        )
        .unwrap();
        assert_eq!((held.valid.len(), held.train.len()), (2, 3 * 35));
        let none = load_task(
            &ds,
            &PerformanceEncoding {
                holdout_every: 0,
                ..small()
            },
            3,
            8,
        )
        .unwrap();
        assert_eq!((none.valid.len(), none.train.len()), (0, 5 * 35));
    }

    #[test]
    fn generation_keeps_the_time_limit_and_the_grammar() {
        let enc = small();
        let tok = enc.tokenizer().unwrap();
        let device = fugue_models::device("cpu", false).unwrap();
        let model = fugue_models::lstm::LstmLmConfig::tiny(tok.vocab().len())
            .init(&device)
            .unwrap();
        let args = GenerateArgs {
            output: None,
            model: "x".into(),
            primer: None,
            seconds: Some(2.5),
            tokens: None,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            seed: Some(3),
            wav: false,
            png: false,
            checkpoint: "best".into(),
            device: "cpu".into(),
            force: false,
        };
        let (score, n) = generate(&model, &enc, &args, 3, &device).unwrap();
        assert!(n > 0 && n <= 251, "{n}");
        // Decoded at 1 tick = 1 ms: nothing sounds past 2.5 s.
        assert!(score.tracks.iter().flat_map(|t| &t.notes).all(|n| n.end() <= 2500));
        let again = generate(&model, &enc, &args, 3, &device).unwrap().0;
        assert_eq!(again, score);
    }

    /// The `piano` set as the recipes read it: its split has no validation
    /// pieces, so one training chunk in ten validates (skipped without
    /// `../shared/data`).
    #[test]
    fn the_piano_set_as_performance_rnn_chunks() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
        let k = fugue_data::Known::Piano;
        if !k.found(&root) {
            eprintln!("skipped: {} is absent", k.path(&root).display());
            return;
        }
        let ds = fugue_data::load(&fugue_data::DatasetRef::Known(k), &root, &Default::default()).unwrap();
        let enc = PerformanceEncoding::performance_rnn();
        let task = load_task(&ds, &enc, 64, 512).unwrap();
        let events = |s: &[Vec<u32>]| s.iter().map(Vec::len).sum::<usize>();
        assert_eq!(
            (task.train.len(), task.valid.len(), task.test.len()),
            (179 * 35, 15, 1545)
        );
        assert_eq!((events(&task.valid), events(&task.test)), (15_946, 1_672_240));
        assert!(task
            .train
            .iter()
            .chain(&task.valid)
            .flatten()
            .all(|&i| (1..389).contains(&i)));
    }

    #[test]
    fn encoding_json_takes_the_defaults_by_name() {
        let e = PerformanceEncoding::performance_rnn();
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains("\"chunk_seconds\":30"), "{text}");
        let back: PerformanceEncoding = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        let _ = decode(&e, &[0, 1, 300, 129]).unwrap();
    }
}
