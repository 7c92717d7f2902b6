//! Monophonic melody events, as Magenta's Melody RNN reads them (note_seq's
//! `Melody` and `MelodyOneHotEncoding`; the encoding of `basic_rnn`, and of
//! the Note-RNN that RL-Tuner fine-tunes).
//!
//! One event per grid step (16ths at the default 4 steps per quarter): a
//! pitch where a note starts, `NOTE_OFF` where the sounding note stops and
//! silence begins, and `__` (Magenta's NO_EVENT) where nothing changes: a
//! note going on, or silence going on. The ids are Magenta's one-hot
//! indices: 0 = `__`, 1 = `NOTE_OFF`, 2.. = pitches `min_note..max_note`
//! (48..84 by default: 38 classes); fugue adds one more, `START`, as every
//! sequence's first input (Magenta feeds the first event without
//! predicting it; fugue predicts it from `START`).
//!
//! What a score becomes ([`Melody::events`]):
//! - the melody is its first pitched track that is not a `Chords` track
//!   (the ABC and MusicXML readers put chord symbols there), the other
//!   tracks are dropped;
//! - onsets and ends are rounded to the grid; a note rounded to no length
//!   gets one step; of notes starting on the same step the highest is kept
//!   (Magenta's `ignore_polyphonic_notes`), and a note still sounding when
//!   the next starts is cut there;
//! - the events start at the bar line before the first note (the bar from
//!   the score's first time signature), so a step's place in the bar is
//!   its index modulo the bar, and end with the `NOTE_OFF` of the last note;
//! - with `transpose_to_key: Some(k)` (Magenta's `transpose_to_key`, 0 = C)
//!   the melody moves from its major key — the major scale holding the most
//!   of its notes, note_seq's `get_major_key` heuristic — to `k`, by the
//!   octave that best centres it in the range, then every note still
//!   outside `min_note..max_note` is folded into the range by octaves
//!   (note_seq's `squash`).
//!
//! Not done, stated: Magenta's melody extractor also cuts a track at every
//! bar of silence and drops melodies shorter than 7 bars or with fewer than
//! 5 distinct pitches; fugue keeps a tune whole (its windows are cut by the
//! training task). [`Melody::decode_events`] rebuilds the notes on the grid
//! (ticks = steps), and `decode(encode(s)) == preprocess(s)`.

use crate::chorale::GRID_VELOCITY;
use crate::{with_ids, Grammar, Preprocessed, Report, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Note, Score, Tick, Track};
use serde::{Deserialize, Serialize};

/// The id of `__` (no event: the note or the silence goes on).
pub const NO_EVENT: u32 = 0;
/// The id of `NOTE_OFF`.
pub const NOTE_OFF: u32 = 1;
/// The id of the lowest pitch, `min_note`.
pub const FIRST_PITCH: u32 = 2;

/// Melody settings (Magenta's `basic_rnn` defaults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MelodyConfig {
    /// Grid steps per quarter note (Magenta: 4).
    pub steps_per_quarter: u32,
    /// Lowest pitch (Magenta: 48).
    pub min_note: u8,
    /// One past the highest pitch (Magenta: 84).
    pub max_note: u8,
    /// The major key (0 = C … 11 = B) every melody is moved to, or `None`
    /// to keep melodies where they are (out-of-range notes still fold).
    pub transpose_to_key: Option<u8>,
}

impl Default for MelodyConfig {
    fn default() -> Self {
        MelodyConfig {
            steps_per_quarter: 4,
            min_note: 48,
            max_note: 84,
            transpose_to_key: Some(0),
        }
    }
}

/// The melody tokenizer.
#[derive(Clone, Debug)]
pub struct Melody {
    config: MelodyConfig,
    vocab: Vocab,
}

/// Pitch classes of the major scale on C.
const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];

/// The index of a score's melody track: its first pitched track with notes
/// that is not a `Chords` track (where the ABC and MusicXML readers put
/// chord symbols).
pub fn melody_track(score: &Score<Tick>) -> Option<usize> {
    score
        .tracks
        .iter()
        .position(|t| !t.is_drum && t.name != "Chords" && !t.notes.is_empty())
}

/// note_seq's major-key heuristic: the key whose major scale holds the most
/// of `pitches` (each note counted once; the lowest key wins a tie).
pub fn major_key(pitches: &[u8]) -> u8 {
    let mut histogram = [0usize; 12];
    for &p in pitches {
        histogram[usize::from(p % 12)] += 1;
    }
    let in_key = |k: u8| -> usize { MAJOR.iter().map(|&d| histogram[usize::from((k + d) % 12)]).sum() };
    let mut best = 0u8;
    for k in 1..12 {
        if in_key(k) > in_key(best) {
            best = k;
        }
    }
    best
}

impl Melody {
    /// A tokenizer for a configuration.
    pub fn new(config: MelodyConfig) -> Result<Self, TokenError> {
        let bad = |field: &str, message: String| TokenError::Config {
            field: field.into(),
            message,
        };
        if !(1..=960).contains(&config.steps_per_quarter) {
            return Err(bad(
                "steps_per_quarter",
                format!("{} is outside 1..=960", config.steps_per_quarter),
            ));
        }
        if config.max_note > 128 || i32::from(config.max_note) - i32::from(config.min_note) < 12 {
            return Err(bad(
                "max_note",
                format!(
                    "the range {}..{} must span at least an octave and end by 128",
                    config.min_note, config.max_note
                ),
            ));
        }
        if config.transpose_to_key.is_some_and(|k| k > 11) {
            return Err(bad("transpose_to_key", "a key is 0 (C) … 11 (B)".into()));
        }
        let mut tokens = vec![Token::Hold, Token::MelodyOff];
        tokens.extend((config.min_note..config.max_note).map(Token::VoicePitch));
        tokens.push(Token::Start);
        Ok(Melody {
            config,
            vocab: Vocab::new(tokens)?,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MelodyConfig {
        &self.config
    }

    /// The id of `START` (the last).
    pub fn start_id(&self) -> u32 {
        self.vocab.len() as u32 - 1
    }

    /// Pitches in the range.
    pub fn pitches(&self) -> usize {
        usize::from(self.config.max_note - self.config.min_note)
    }

    /// The melody of a score as events (see the module docs), with what
    /// changed. A score with no pitched note outside a `Chords` track is an
    /// error.
    pub fn events(&self, score: &Score<Tick>) -> Result<(Vec<Token>, Report), TokenError> {
        let mut report = Report::default();
        let Some(index) = melody_track(score) else {
            return Err(TokenError::Encode(
                "no melody: every track is empty, drums or chord symbols".into(),
            ));
        };
        report.notes_in = score.tracks.iter().map(|t| t.notes.len()).sum();
        report.tracks_dropped = score.tracks.len() - 1;
        report.notes_merged += score
            .tracks
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, t)| t.notes.len())
            .sum::<usize>();
        let tpq = i64::from(score.ticks_per_quarter.max(1));
        let spq = i64::from(self.config.steps_per_quarter);
        // Nearest step, halves rounded up.
        let step = |tick: i64| (2 * tick * spq + tpq).div_euclid(2 * tpq);
        // (start, end, pitch) on the grid, highest pitch first on a tie.
        let mut notes: Vec<(i64, i64, u8)> = score.tracks[index]
            .notes
            .iter()
            .map(|n| {
                let s = step(n.time);
                let e = step(n.time + n.duration).max(s + 1);
                if s * tpq != n.time * spq {
                    report.onsets_moved += 1;
                }
                if (e - s) * tpq != n.duration * spq {
                    report.durations_changed += 1;
                }
                (s, e, n.pitch)
            })
            .collect();
        notes.sort_by_key(|&(s, _, p)| (s, std::cmp::Reverse(p)));
        let before = notes.len();
        notes.dedup_by_key(|n| n.0);
        report.notes_merged += before - notes.len();
        // Cut each note where the next starts.
        for i in 1..notes.len() {
            let next = notes[i].0;
            if notes[i - 1].1 > next {
                notes[i - 1].1 = next;
                report.durations_changed += 1;
            }
        }
        let shift = self.transposition(&notes.iter().map(|n| n.2).collect::<Vec<_>>());
        if shift != 0 {
            report.warnings.push(format!("transposed by {shift} semitones"));
        }
        let (lo, hi) = (i32::from(self.config.min_note), i32::from(self.config.max_note));
        let bar = self.bar_steps(score);
        let origin = notes[0].0.div_euclid(bar) * bar;
        let end = notes.iter().map(|n| n.1).max().unwrap_or(origin) - origin;
        let mut events = vec![Token::Hold; end as usize + 1];
        for &(s, e, p) in &notes {
            let mut q = i32::from(p) + shift;
            if q < lo {
                q = lo + (q - lo).rem_euclid(12);
                report.notes_out_of_range += 1;
            } else if q >= hi {
                q = hi - 12 + (q - hi).rem_euclid(12);
                report.notes_out_of_range += 1;
            }
            let (s, e) = ((s - origin) as usize, (e - origin) as usize);
            events[s] = Token::VoicePitch(q as u8);
            if events[e] == Token::Hold {
                events[e] = Token::MelodyOff;
            }
        }
        Ok((events, report))
    }

    /// Steps per bar of the score's first meter (4/4 when it has none).
    pub fn bar_steps(&self, score: &Score<Tick>) -> i64 {
        let (num, den) = score
            .time_signatures
            .first()
            .map_or((4, 4), |t| (i64::from(t.numerator), i64::from(t.denominator)));
        let spq = i64::from(self.config.steps_per_quarter);
        (4 * spq * num / den.max(1)).max(1)
    }

    /// The transposition of `transpose_to_key`: from the melody's major key
    /// to the target, by the octave that puts the middle of its span
    /// nearest the middle of the range (0 when not transposing).
    pub fn transposition(&self, pitches: &[u8]) -> i32 {
        let (Some(target), Some(&low), Some(&high)) =
            (self.config.transpose_to_key, pitches.iter().min(), pitches.iter().max())
        else {
            return 0;
        };
        let key_diff = i32::from(target) - i32::from(major_key(pitches));
        let centre = f64::from(i32::from(low) + i32::from(high)) / 2.0;
        let target_centre = f64::from(i32::from(self.config.min_note) + i32::from(self.config.max_note) - 1) / 2.0;
        let octaves = ((target_centre - (centre + f64::from(key_diff))) / 12.0).round() as i32;
        key_diff + 12 * octaves
    }

    /// The notes of an event sequence on the grid (ticks = steps, one
    /// `Melody` track). `START` is skipped; a note runs until the next
    /// pitch or `NOTE_OFF`, or the end.
    pub fn decode_events(&self, events: &[Token]) -> Result<Score<Tick>, TokenError> {
        let mut score = Score::new(self.config.steps_per_quarter.clamp(1, u32::from(u16::MAX)) as u16);
        let mut track = Track::new("Melody", 0, 0);
        let mut open: Option<(i64, u8)> = None;
        let mut t = 0i64;
        for (index, token) in events.iter().enumerate() {
            match *token {
                Token::Start | Token::Pad | Token::Bos => continue,
                Token::Hold => {}
                Token::MelodyOff | Token::VoicePitch(_) => {
                    if let Some((s, p)) = open.take() {
                        track.notes.push(Note::new(s, t - s, p, GRID_VELOCITY));
                    }
                    if let Token::VoicePitch(p) = *token {
                        open = Some((t, p));
                    }
                }
                _ => {
                    return Err(TokenError::Decode {
                        index,
                        token: token.to_string(),
                        message: "not a melody event".into(),
                    })
                }
            }
            t += 1;
        }
        if let Some((s, p)) = open {
            track.notes.push(Note::new(s, t - s, p, GRID_VELOCITY));
        }
        score.tracks.push(track);
        Ok(score)
    }
}

impl Tokenizer for Melody {
    fn name(&self) -> &'static str {
        "melody"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        use TokenType::*;
        let events: &[TokenType] = &[VoicePitch, NoteOff, Hold];
        Grammar::new(
            &[Start, VoicePitch, NoteOff, Hold],
            &[(Start, events), (VoicePitch, events), (NoteOff, events), (Hold, events)],
        )
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        match self.events(score).and_then(|(e, r)| Ok((self.decode_events(&e)?, r))) {
            Ok((score, report)) => Preprocessed { score, report },
            Err(e) => Preprocessed {
                score: Score::new(self.config.steps_per_quarter.clamp(1, u32::from(u16::MAX)) as u16),
                report: Report {
                    warnings: vec![e.to_string()],
                    ..Report::default()
                },
            },
        }
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        let (events, _) = self.events(score)?;
        let ticks = (0..events.len() as i64).collect();
        Ok(vec![with_ids(&self.vocab, events, ticks)?])
    }

    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError> {
        match seqs {
            [seq] => self.decode_events(seq),
            _ => Err(TokenError::Encode(format!(
                "a melody decodes from one sequence, not {}",
                seqs.len()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_score::TimeSignature;

    /// A score at 480 ticks a quarter with a melody and a chord track.
    fn tune(notes: &[(i64, i64, u8)]) -> Score<Tick> {
        let mut s = Score::new(480);
        let mut chords = Track::new("Chords", 0, 1);
        chords.notes.push(Note::new(0, 1920, 48, 80));
        s.tracks.push(chords);
        let mut m = Track::new("Tune", 0, 0);
        for &(t, d, p) in notes {
            m.notes.push(Note::new(t, d, p, 90));
        }
        s.tracks.push(m);
        s.time_signatures.push(TimeSignature::new(0, 3, 4));
        s
    }

    fn text(tokens: &[Token]) -> String {
        tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn events_are_magentas_with_holds_offs_and_the_bar_origin() {
        let m = Melody::new(MelodyConfig {
            transpose_to_key: None,
            ..Default::default()
        })
        .unwrap();
        // A pickup eighth at beat 3 of a 3/4 bar, a dotted quarter, an
        // eighth rest, then two 16ths (the second sounding past the end).
        let (ev, report) = m
            .events(&tune(&[
                (960, 240, 67),
                (1440, 720, 72),
                (2400, 120, 71),
                (2520, 120, 69),
            ]))
            .unwrap();
        assert_eq!(
            text(&ev),
            "__ __ __ __ __ __ __ __ 67 __ NOTE_OFF __ 72 __ __ __ __ __ NOTE_OFF __ 71 69 NOTE_OFF"
        );
        assert_eq!(report.tracks_dropped, 1);
        assert_eq!(report.notes_merged, 1, "the chord track's note");
        let ids = m.vocab().encode(&ev).unwrap();
        assert_eq!(&ids[8..11], &[FIRST_PITCH + 67 - 48, NO_EVENT, NOTE_OFF]);
        assert_eq!(ids[12], FIRST_PITCH + 72 - 48);
        assert_eq!(m.vocab().len(), 39);
        assert_eq!(m.start_id(), 38);
    }

    #[test]
    fn quantizing_keeps_the_highest_of_simultaneous_notes_and_cuts_overlaps() {
        let m = Melody::new(MelodyConfig {
            transpose_to_key: None,
            ..Default::default()
        })
        .unwrap();
        // 60 and 64 together (64 kept), 64 held over 67's onset (cut), 67
        // a few ticks early (moved to the step).
        let (ev, report) = m.events(&tune(&[(0, 480, 60), (0, 600, 64), (470, 240, 67)])).unwrap();
        assert_eq!(text(&ev), "64 __ __ __ 67 __ NOTE_OFF");
        assert_eq!(report.notes_merged, 2, "60 and the chord note");
        assert_eq!(report.onsets_moved, 1);
        assert!(report.durations_changed >= 1);
    }

    #[test]
    fn melodies_move_to_c_and_into_the_range() {
        let m = Melody::new(MelodyConfig::default()).unwrap();
        // D major scale up from D5: key D (2) moves down a tone, centred.
        let d_major = [74, 76, 78, 79, 81, 83, 85, 86];
        assert_eq!(major_key(&d_major), 2);
        let notes: Vec<_> = d_major
            .iter()
            .enumerate()
            .map(|(i, &p)| (i as i64 * 480, 480, p))
            .collect();
        let (ev, report) = m.events(&tune(&notes)).unwrap();
        let pitches: Vec<u8> = ev
            .iter()
            .filter_map(|t| match t {
                Token::VoicePitch(p) => Some(*p),
                _ => None,
            })
            .collect();
        // 74 − 2 = 72, centre (72 + 84)/2 = 78 against the range's 65.5:
        // one octave down, to C4 … C5.
        assert_eq!(pitches, vec![60, 62, 64, 65, 67, 69, 71, 72]);
        assert_eq!(report.warnings, vec!["transposed by -14 semitones".to_string()]);
        // A four-octave leap does not fit: after the octave down (centre
        // 72 → 60), both ends fold into 48..84.
        let (ev, report) = m.events(&tune(&[(0, 480, 48), (480, 480, 96)])).unwrap();
        assert_eq!(text(&ev), "48 __ __ __ 72 __ __ __ NOTE_OFF");
        assert_eq!(report.notes_out_of_range, 2);
    }

    #[test]
    fn decoding_inverts_encoding_and_errors_name_the_problem() {
        let m = Melody::new(MelodyConfig::default()).unwrap();
        let s = tune(&[(960, 240, 67), (1440, 720, 72), (2400, 120, 71), (2520, 120, 69)]);
        let p = m.preprocess(&s);
        let (seqs, _) = m.encode(&s).unwrap();
        let back = m.decode_ids(&[seqs[0].ids.clone()]).unwrap();
        assert_eq!(back, p.score);
        let (again, _) = m.encode(&back).unwrap();
        assert_eq!(again[0].ids, seqs[0].ids, "a decoded melody encodes to the same ids");
        assert_eq!(back.tracks[0].notes.len(), 4);
        assert!(m.events(&Score::new(480)).is_err());
        assert!(m.decode(&[vec![Token::Bar]]).is_err());
        assert!(Melody::new(MelodyConfig {
            max_note: 50,
            ..Default::default()
        })
        .is_err());
        assert!(Melody::new(MelodyConfig {
            transpose_to_key: Some(12),
            ..Default::default()
        })
        .is_err());
    }
}
