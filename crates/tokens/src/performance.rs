//! Performance events — Oore, Simon, Dieleman, Eck & Simonyan, "This Time with
//! Feeling: Learning Expressive Musical Performance" (2018), the encoding of
//! Performance RNN and of Music Transformer's piano experiments.
//!
//! A performance is a stream of `NOTE_ON_p`, `NOTE_OFF_p`, `TIME_SHIFT_n`
//! (n steps of 1/`steps_per_second` s, 1..=`max_shift_steps`) and
//! `VELOCITY_b` (a bin that holds for the following note-ons). The default
//! configuration is Performance RNN's "performance with dynamics": 128 +
//! 128 + 100 shifts of 10 ms + 32 velocity bins = 388 events, no special
//! tokens. [`PerformanceConfig::music_transformer`] is the score2perf variant
//! (pitches 21..=108 and PAD, EOS: 310 ids).
//!
//! As in Magenta's pipeline: sustain-pedal presses lengthen the notes they
//! hold (a note re-struck under the pedal ends the sustained one); times are
//! quantized to the nearest step (half up) and a note is at least one step
//! long; velocity bin `b = (v - 1) / ceil(127 / bins) + 1` decodes to
//! `ceil(127 / bins) * (b - 1) + 1`; at each step note-offs and note-ons are
//! ordered by note (notes sorted by onset, then pitch), a note's off after its
//! own on; a `VELOCITY` event is written only when the bin changes.
//! Drum tracks are dropped (Performance RNN models piano). Notes of the same
//! pitch that would overlap are cut where the next one starts, so that every
//! note-off ends exactly one note.
//!
//! [`Performance::chunks`] cuts a performance into the fixed-length pieces
//! (30 s in Performance RNN) that Magenta trains and evaluates on.

use crate::{with_ids, Grammar, Preprocessed, Report, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Note, Score, Tempo, Tick, Track};
use serde::{Deserialize, Serialize};

/// Performance-event settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceConfig {
    /// Time steps per second (100 = 10 ms). Must divide 1000.
    pub steps_per_second: u32,
    /// Longest single `TIME_SHIFT`, in steps.
    pub max_shift_steps: u8,
    /// Velocity bins (0 = no `VELOCITY` events, all notes at velocity 64).
    pub num_velocity_bins: u8,
    /// Lowest pitch (inclusive).
    pub pitch_low: u8,
    /// Highest pitch (inclusive).
    pub pitch_high: u8,
    /// Lengthen notes held by the sustain pedal.
    pub sustain: bool,
    /// Special tokens placed first in the vocabulary (e.g. `["PAD_None", "EOS_None"]`).
    pub special_tokens: Vec<String>,
}

impl Default for PerformanceConfig {
    /// Performance RNN's "performance with dynamics" (388 events).
    fn default() -> Self {
        PerformanceConfig {
            steps_per_second: 100,
            max_shift_steps: 100,
            num_velocity_bins: 32,
            pitch_low: 0,
            pitch_high: 127,
            sustain: true,
            special_tokens: Vec::new(),
        }
    }
}

impl PerformanceConfig {
    /// Music Transformer's score2perf encoding: pitches 21..=108, PAD and EOS (310 ids).
    pub fn music_transformer() -> Self {
        PerformanceConfig {
            pitch_low: 21,
            pitch_high: 108,
            special_tokens: vec!["PAD_None".into(), "EOS_None".into()],
            ..Self::default()
        }
    }

    /// Check the settings, naming the first bad field.
    pub fn validate(&self) -> Result<(), TokenError> {
        let bad = |field: &str, message: String| {
            Err(TokenError::Config {
                field: field.into(),
                message,
            })
        };
        if self.steps_per_second == 0 || 1000 % self.steps_per_second != 0 {
            return bad(
                "steps_per_second",
                format!("{} must divide 1000", self.steps_per_second),
            );
        }
        if self.max_shift_steps == 0 {
            return bad("max_shift_steps", "must be at least 1".into());
        }
        if self.num_velocity_bins > 127 {
            return bad("num_velocity_bins", format!("{} is over 127", self.num_velocity_bins));
        }
        if self.pitch_low > self.pitch_high || self.pitch_high > 127 {
            return bad(
                "pitch_high",
                format!("range {}..={} is not within 0..=127", self.pitch_low, self.pitch_high),
            );
        }
        Ok(())
    }

    fn bin_size(&self) -> u8 {
        127u8.div_ceil(self.num_velocity_bins.max(1))
    }
    fn velocity_bin(&self, v: u8) -> u8 {
        (v.max(1) - 1) / self.bin_size() + 1
    }
    fn bin_velocity(&self, b: u8) -> u8 {
        self.bin_size() * (b - 1) + 1
    }
    fn ms_per_step(&self) -> i64 {
        i64::from(1000 / self.steps_per_second)
    }
}

/// The performance-event tokenizer.
#[derive(Clone, Debug)]
pub struct Performance {
    config: PerformanceConfig,
    vocab: Vocab,
}

/// Decoded scores use one tick per millisecond: 1000 ticks per quarter at 60 qpm.
const TPQ: u16 = 1000;
const MSPQ: u32 = 1_000_000;

impl Performance {
    /// A tokenizer for a validated configuration.
    pub fn new(config: PerformanceConfig) -> Result<Self, TokenError> {
        config.validate()?;
        let mut tokens = Vec::new();
        for s in &config.special_tokens {
            let t: Token = s
                .parse()
                .map_err(|e: crate::token::ParseTokenError| TokenError::Config {
                    field: "special_tokens".into(),
                    message: e.to_string(),
                })?;
            if t.kind() != TokenType::Special {
                return Err(TokenError::Config {
                    field: "special_tokens".into(),
                    message: format!("{s} is not a special token"),
                });
            }
            tokens.push(t);
        }
        let pitches = config.pitch_low..=config.pitch_high;
        tokens.extend(pitches.clone().map(Token::PerfNoteOn));
        tokens.extend(pitches.map(Token::PerfNoteOff));
        tokens.extend((1..=config.max_shift_steps).map(Token::PerfShift));
        tokens.extend((1..=config.num_velocity_bins).map(Token::PerfVelocity));
        let vocab = Vocab::new(tokens)?;
        Ok(Performance { config, vocab })
    }

    /// The configuration.
    pub fn config(&self) -> &PerformanceConfig {
        &self.config
    }

    /// Preprocesses a score ([`Tokenizer::preprocess`]: sustain, quantization)
    /// and cuts the performance into chunks of `chunk_steps` time steps, as
    /// Magenta's `Splitter` cuts a performance into 30 s pieces before
    /// Performance RNN's pipeline encodes each: a note belongs to the chunk
    /// its onset falls in, its time is made relative to the chunk's start,
    /// and it ends at the chunk's end at the latest (note_seq's
    /// `_extract_subsequences`). Each chunk comes with its index `k` (it
    /// covers steps `k·chunk_steps ..`), so that chunks of differently
    /// stretched copies of a piece can be matched; chunks without notes are
    /// left out. Every chunk is a preprocessed score:
    /// [`Tokenizer::encode_preprocessed`] takes it as is.
    pub fn chunks(&self, score: &Score<Tick>, chunk_steps: u32) -> (Vec<(usize, Score<Tick>)>, Report) {
        let Preprocessed { score: pre, report } = self.preprocess(score);
        let len = i64::from(chunk_steps.max(1)) * self.config.ms_per_step();
        let mut chunks: std::collections::BTreeMap<usize, Vec<Note<Tick>>> = Default::default();
        for n in pre.tracks.iter().flat_map(|t| t.notes.iter()) {
            let k = (n.time.max(0) / len) as usize;
            let start = k as i64 * len;
            let end = n.end().min(start + len);
            chunks
                .entry(k)
                .or_default()
                .push(Note::new(n.time - start, end - n.time, n.pitch, n.velocity));
        }
        let chunks = chunks
            .into_iter()
            .map(|(k, notes)| {
                let mut s = Score::new(TPQ);
                s.tempos.push(Tempo { time: 0, mspq: MSPQ });
                let mut track = Track::new("Piano", 0, 0);
                track.notes = notes;
                s.tracks.push(track);
                (k, s)
            })
            .collect();
        (chunks, report)
    }
}

/// Lengthen the notes of a track held by its sustain pedal (in seconds).
fn apply_sustain(notes: &mut [Note<fugue_score::Second>], pedals: &[fugue_score::Pedal<fugue_score::Second>]) {
    if pedals.is_empty() {
        return;
    }
    // Notes by onset, so that a re-strike can end the sustained note before it.
    notes.sort_by(|a, b| a.time.total_cmp(&b.time));
    let mut ends: Vec<f64> = notes
        .iter()
        .map(|n| {
            let end = n.end();
            match pedals.iter().find(|p| p.time <= end && end < p.end()) {
                Some(p) => p.end(),
                None => end,
            }
        })
        .collect();
    for i in 0..notes.len() {
        if ends[i] <= notes[i].end() {
            continue;
        }
        // A later note of the same pitch starting before the extended end cuts it.
        if let Some(j) = (i + 1..notes.len()).find(|&j| notes[j].pitch == notes[i].pitch && notes[j].time < ends[i]) {
            ends[i] = ends[i].min(notes[j].time).max(notes[i].end());
        }
    }
    for (n, e) in notes.iter_mut().zip(ends) {
        n.duration = e - n.time;
    }
}

impl Tokenizer for Performance {
    fn name(&self) -> &'static str {
        "performance"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        use TokenType::*;
        let all: &[TokenType] = &[PerfNoteOn, PerfNoteOff, PerfShift, PerfVelocity];
        // A velocity change is always followed by the note-on it applies to.
        Grammar::new(
            all,
            &[
                (PerfNoteOn, all),
                (PerfNoteOff, all),
                (PerfShift, all),
                (PerfVelocity, &[PerfNoteOn]),
            ],
        )
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        let cfg = &self.config;
        let mut report = Report {
            notes_in: score.note_count(),
            ..Report::default()
        };
        let sec = score.to_second();
        let sps = f64::from(cfg.steps_per_second);
        let step = |t: f64| (t * sps + 0.5).floor().max(0.0) as i64;
        // (start step, end step, pitch, velocity)
        let mut notes: Vec<(i64, i64, u8, u8)> = Vec::with_capacity(report.notes_in);
        for tr in &sec.tracks {
            if tr.is_drum {
                report.drum_notes_dropped += tr.notes.len();
                continue;
            }
            let mut tn = tr.notes.clone();
            if cfg.sustain {
                apply_sustain(&mut tn, &tr.pedals);
            }
            for n in &tn {
                if n.pitch < cfg.pitch_low || n.pitch > cfg.pitch_high {
                    report.notes_out_of_range += 1;
                    continue;
                }
                let s = step(n.time);
                let e = step(n.end()).max(s + 1);
                if (s as f64 - n.time * sps).abs() > 1e-9 {
                    report.onsets_moved += 1;
                }
                if ((e - s) as f64 - n.duration * sps).abs() > 1e-9 {
                    report.durations_changed += 1;
                }
                let v = if cfg.num_velocity_bins == 0 {
                    64
                } else {
                    cfg.bin_velocity(cfg.velocity_bin(n.velocity))
                };
                if v != n.velocity {
                    report.velocities_changed += 1;
                }
                notes.push((s, e, n.pitch, v));
            }
        }
        // One note per (onset, pitch): keep the longest; then cut same-pitch overlaps.
        notes.sort_unstable_by_key(|&(s, e, p, v)| (s, p, std::cmp::Reverse(e), v));
        let before = notes.len();
        notes.dedup_by_key(|n| (n.0, n.2));
        report.notes_merged += before - notes.len();
        let mut last_of_pitch: [Option<usize>; 128] = [None; 128];
        for i in 0..notes.len() {
            let p = usize::from(notes[i].2);
            if let Some(j) = last_of_pitch[p] {
                if notes[j].1 > notes[i].0 {
                    notes[j].1 = notes[i].0;
                    report.durations_changed += 1;
                }
            }
            last_of_pitch[p] = Some(i);
        }
        let ms = cfg.ms_per_step();
        let mut out = Score::new(TPQ);
        out.tempos.push(Tempo { time: 0, mspq: MSPQ });
        let mut track = Track::new("Piano", 0, 0);
        track.notes = notes
            .iter()
            .map(|&(s, e, p, v)| Note::new(s * ms, (e - s) * ms, p, v))
            .collect();
        report.tracks_dropped = score
            .tracks
            .iter()
            .filter(|t| !t.notes.is_empty())
            .count()
            .saturating_sub(1);
        if !track.notes.is_empty() {
            out.tracks.push(track);
        }
        Preprocessed { score: out, report }
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        let cfg = &self.config;
        let ms = cfg.ms_per_step();
        let mut notes: Vec<&Note<Tick>> = score.tracks.iter().flat_map(|t| t.notes.iter()).collect();
        notes.sort_by_key(|n| (n.time, n.pitch));
        // (step, note index, is_off)
        let mut events: Vec<(i64, usize, bool)> = Vec::with_capacity(notes.len() * 2);
        for (i, n) in notes.iter().enumerate() {
            events.push((n.time / ms, i, false));
            events.push((n.end() / ms, i, true));
        }
        events.sort_unstable();
        let (mut tokens, mut ticks) = (
            Vec::with_capacity(events.len() * 2),
            Vec::with_capacity(events.len() * 2),
        );
        let (mut now, mut bin) = (0i64, 0u8);
        for (step, i, off) in events {
            while step > now {
                let shift = (step - now).min(i64::from(cfg.max_shift_steps));
                now += shift;
                tokens.push(Token::PerfShift(shift as u8));
                ticks.push(now * ms);
            }
            let n = notes[i];
            if off {
                tokens.push(Token::PerfNoteOff(n.pitch));
            } else {
                if cfg.num_velocity_bins > 0 {
                    let b = cfg.velocity_bin(n.velocity);
                    if b != bin {
                        bin = b;
                        tokens.push(Token::PerfVelocity(b));
                        ticks.push(now * ms);
                    }
                }
                tokens.push(Token::PerfNoteOn(n.pitch));
            }
            ticks.push(now * ms);
        }
        Ok(vec![with_ids(&self.vocab, tokens, ticks)?])
    }

    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError> {
        let cfg = &self.config;
        let ms = cfg.ms_per_step();
        let mut track = Track::new("Piano", 0, 0);
        for seq in seqs {
            let (mut now, mut velocity) = (0i64, 64u8);
            let mut open: Vec<(u8, usize)> = Vec::new();
            for (index, t) in seq.iter().enumerate() {
                let bad = |message: &str| TokenError::Decode {
                    index,
                    token: t.to_string(),
                    message: message.into(),
                };
                match *t {
                    Token::PerfShift(s) if s >= 1 && s <= cfg.max_shift_steps => now += i64::from(s),
                    Token::PerfVelocity(b) if b >= 1 && b <= cfg.num_velocity_bins => velocity = cfg.bin_velocity(b),
                    Token::PerfNoteOn(p) if p >= cfg.pitch_low && p <= cfg.pitch_high => {
                        open.push((p, track.notes.len()));
                        track.notes.push(Note::new(now * ms, 0, p, velocity));
                    }
                    Token::PerfNoteOff(p) => {
                        // The earliest sounding note of the pitch ends (first in, first out).
                        if let Some(k) = open.iter().position(|o| o.0 == p) {
                            let (_, i) = open.remove(k);
                            let n: &mut Note<Tick> = &mut track.notes[i];
                            n.duration = (now * ms - n.time).max(ms);
                        }
                    }
                    Token::Pad | Token::Bos | Token::Mask => {}
                    Token::Eos => break,
                    _ => return Err(bad("not a performance event of this configuration")),
                }
            }
            // Notes never ended last until the end of the performance (at least a step).
            for (_, i) in open {
                let n: &mut Note<Tick> = &mut track.notes[i];
                n.duration = (now * ms - n.time).max(ms);
            }
        }
        track.notes.sort_by_key(|n| (n.time, n.pitch, n.duration, n.velocity));
        let mut score = Score::new(TPQ);
        score.tempos.push(Tempo { time: 0, mspq: MSPQ });
        if !track.notes.is_empty() {
            score.tracks.push(track);
        }
        Ok(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Score<Tick> {
        // 480 ticks per quarter at 120 qpm: a quarter is 0.5 s = 50 steps.
        let mut s = Score::new(480);
        let mut t = Track::new("", 0, 0);
        t.notes = vec![
            Note::new(0, 480, 60, 80),
            Note::new(480, 1200, 64, 100),
            Note::new(480, 480, 67, 100),
        ];
        s.tracks.push(t);
        s
    }

    #[test]
    fn vocabulary_sizes_match_the_papers() {
        assert_eq!(
            Performance::new(PerformanceConfig::default()).unwrap().vocab().len(),
            388
        );
        assert_eq!(
            Performance::new(PerformanceConfig::music_transformer())
                .unwrap()
                .vocab()
                .len(),
            310
        );
        let no_vel = PerformanceConfig {
            num_velocity_bins: 0,
            ..Default::default()
        };
        assert_eq!(Performance::new(no_vel).unwrap().vocab().len(), 356);
    }

    #[test]
    fn known_score_encodes_to_the_exact_event_list() {
        let tok = Performance::new(PerformanceConfig::default()).unwrap();
        let (seqs, _) = tok.encode(&small()).unwrap();
        assert_eq!(
            seqs[0].text(),
            "VELOCITY_20 NOTE_ON_60 TIME_SHIFT_50 NOTE_OFF_60 VELOCITY_25 NOTE_ON_64 NOTE_ON_67 \
             TIME_SHIFT_50 NOTE_OFF_67 TIME_SHIFT_75 NOTE_OFF_64"
        );
        // Ids follow Performance RNN's layout: on 0..127, off 128..255, shift 256.., velocity 356..
        assert_eq!(&seqs[0].ids[..4], &[356 + 19, 60, 256 + 49, 128 + 60]);
        let back = tok.decode(&[seqs[0].tokens.clone()]).unwrap();
        assert_eq!(back, tok.preprocess(&small()).score);
        assert_eq!(back.tracks[0].notes[1], Note::new(500, 1250, 64, 97));
    }

    #[test]
    fn long_silences_take_several_shifts_and_pedal_lengthens() {
        let tok = Performance::new(PerformanceConfig::default()).unwrap();
        let mut s = Score::<Tick>::new(480);
        let mut t = Track::new("", 0, 0);
        t.notes = vec![Note::new(0, 240, 60, 64), Note::new(2400, 240, 62, 64)];
        t.pedals = vec![fugue_score::Pedal {
            time: 100,
            duration: 860,
        }];
        s.tracks.push(t);
        let (seqs, _) = tok.encode(&s).unwrap();
        // The pedal holds C4 until 960 ticks = 1 s; D4 starts at 2.5 s.
        assert_eq!(
            seqs[0].text(),
            "VELOCITY_16 NOTE_ON_60 TIME_SHIFT_100 NOTE_OFF_60 TIME_SHIFT_100 TIME_SHIFT_50 NOTE_ON_62 TIME_SHIFT_25 NOTE_OFF_62"
        );
    }

    #[test]
    fn chunks_cut_at_onsets_truncate_held_notes_and_skip_empty_spans() {
        let tok = Performance::new(PerformanceConfig::default()).unwrap();
        // 480 ticks per quarter at 120 qpm: 960 ticks a second. The pedal
        // (0.1 s to 1.5 s) holds C4 and E4 over the 1 s chunk boundary.
        let mut s = Score::<Tick>::new(480);
        let mut t = Track::new("", 0, 0);
        t.notes = vec![
            Note::new(0, 240, 60, 80),
            Note::new(480, 240, 64, 80),
            Note::new(1200, 240, 67, 80),
            Note::new(3072, 240, 69, 80),
        ];
        t.pedals = vec![fugue_score::Pedal {
            time: 96,
            duration: 1344,
        }];
        s.tracks.push(t);
        let (chunks, report) = tok.chunks(&s, 100);
        assert_eq!(report.notes_in, 4);
        let text = |c: &Score<Tick>| tok.encode_preprocessed(c).unwrap()[0].text();
        let got: Vec<(usize, String)> = chunks.iter().map(|(k, c)| (*k, text(c))).collect();
        assert_eq!(
            got,
            vec![
                (
                    0,
                    "VELOCITY_20 NOTE_ON_60 TIME_SHIFT_50 NOTE_ON_64 TIME_SHIFT_50 NOTE_OFF_60 NOTE_OFF_64".into()
                ),
                (
                    1,
                    "TIME_SHIFT_25 VELOCITY_20 NOTE_ON_67 TIME_SHIFT_25 NOTE_OFF_67".into()
                ),
                (
                    3,
                    "TIME_SHIFT_20 VELOCITY_20 NOTE_ON_69 TIME_SHIFT_25 NOTE_OFF_69".into()
                ),
            ]
        );
        // One chunk as long as the piece is the piece itself.
        let (whole, _) = tok.chunks(&s, 1000);
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].1, tok.preprocess(&s).score);
    }

    #[test]
    fn bad_config_names_the_field() {
        let e = Performance::new(PerformanceConfig {
            steps_per_second: 300,
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("steps_per_second"));
        let e = Performance::new(PerformanceConfig {
            special_tokens: vec!["Pitch_3".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("special_tokens"));
    }
}
