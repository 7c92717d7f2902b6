//! The beat grid shared by MidiTok's schemes (REMI, TSD, MIDI-Like...): the
//! configuration, with MidiTok 3.x `TokenizerConfig()` defaults, and the
//! preprocessing that brings a score onto the grid exactly as MidiTok does,
//! so that the same file gives the same tokens in both.
//!
//! What preprocessing does, in MidiTok's order:
//! 1. Time signatures the configuration does not list are dropped; 4/4 is
//!    assumed at tick 0 when none is there.
//! 2. The score is resampled to `max_res × (largest denominator) / 4` ticks
//!    per quarter, as symusic does it: onsets and durations are each rounded
//!    (half away from zero), durations to at least one tick; time-signature
//!    times are truncated.
//! 3. Each time signature moves to the next bar line if it falls inside a bar;
//!    repeated ones are dropped.
//! 4. With several denominators, onsets are rounded (half to even) to the
//!    position grid of their section.
//! 5. Notes outside the pitch range are dropped (drums use their own range);
//!    velocities go to the nearest of the `num_velocities` bins and
//!    durations to the nearest duration token of their section (ties to the
//!    larger value); empty tracks are dropped.
//! 6. What the schemes here do not express is dropped and counted: tempos,
//!    key signatures, controls, pedals, pitch bends, lyrics, markers,
//!    programs and track names.
//!
//! One deliberate difference: MidiTok keeps notes at the top of the pitch
//! range (e.g. 109 for the range (21, 109)) although its vocabulary has no
//! token for them; fugue keeps them too and its vocabulary has the token.

use crate::token::{Beats, Token, TokenType};
use crate::{Preprocessed, Report, TokenError};
use fugue_score::{Note, Score, Tick, TimeSignature, Track};
use serde::{Deserialize, Serialize};

/// The velocity of every note when velocities are not encoded (MidiTok's).
pub const DEFAULT_VELOCITY: u8 = 100;

/// A beat range and its resolution (positions per beat).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeatRes {
    /// First beat of the range.
    pub start: u16,
    /// Beat the range ends at (exclusive).
    pub end: u16,
    /// Positions per beat in the range.
    pub res: u16,
}

/// The numerators allowed with one denominator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSigRange {
    /// The denominator (a power of two).
    pub denominator: u8,
    /// The numerators.
    pub numerators: Vec<u8>,
}

/// Settings of the MidiTok-family schemes. Defaults are MidiTok 3.x's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BeatConfig {
    /// Pitches kept: `low..=high` (MidiTok: `(21, 109)`).
    pub pitch_range: (u8, u8),
    /// Duration/position resolution per beat range (MidiTok: 0–4 beats at 8, 4–12 at 4).
    pub beat_res: Vec<BeatRes>,
    /// Velocity bins (MidiTok: 32).
    pub num_velocities: u8,
    /// Special tokens, first in the vocabulary.
    pub special_tokens: Vec<String>,
    /// Write `Velocity` tokens.
    pub use_velocities: bool,
    /// Write `TimeSig` tokens and follow time-signature changes.
    pub use_time_signatures: bool,
    /// The time signatures understood (MidiTok: x/8 for 3, 12, 6; x/4 for 5, 6, 3, 2, 1, 4).
    pub time_signature_range: Vec<TimeSigRange>,
    /// Drum notes as `PitchDrum` tokens.
    pub use_pitchdrum_tokens: bool,
    /// Drum pitches kept: `low..=high` (MidiTok: `(27, 88)`).
    pub drums_pitch_range: (u8, u8),
    /// Write `Program` tokens so that tracks keep their instrument (MidiTok's
    /// `use_programs`; REMI with programs and time signatures is REMI+).
    /// Default off. See [`crate::programs`].
    pub use_programs: bool,
    /// The programs kept with `use_programs` (`-1` is drums); tracks of other
    /// programs are dropped. Default: all, `-1..=127`.
    pub programs: Vec<i8>,
    /// With `use_programs`: every track in one sequence, tracks of one program
    /// merged (MidiTok's default, `true`); else one sequence per track.
    pub one_token_stream_for_programs: bool,
    /// With `use_programs`: a `Program` token only where the program changes
    /// (or once at the start of each track's sequence) instead of before
    /// every note. Default off.
    pub program_changes: bool,
    /// Octuple only: how many bars `Bar_n` can number (MidiTok's
    /// `max_bar_embedding`); notes of later bars are dropped. Default: none
    /// here, which Octuple reads as MidiTok's 60.
    pub max_bar_embedding: Option<u16>,
}

impl Default for BeatConfig {
    fn default() -> Self {
        BeatConfig {
            pitch_range: (21, 109),
            beat_res: vec![
                BeatRes {
                    start: 0,
                    end: 4,
                    res: 8,
                },
                BeatRes {
                    start: 4,
                    end: 12,
                    res: 4,
                },
            ],
            num_velocities: 32,
            special_tokens: ["PAD_None", "BOS_None", "EOS_None", "MASK_None"]
                .map(String::from)
                .to_vec(),
            use_velocities: true,
            use_time_signatures: true,
            time_signature_range: vec![
                TimeSigRange {
                    denominator: 8,
                    numerators: vec![3, 12, 6],
                },
                TimeSigRange {
                    denominator: 4,
                    numerators: vec![5, 6, 3, 2, 1, 4],
                },
            ],
            use_pitchdrum_tokens: true,
            drums_pitch_range: (27, 88),
            use_programs: false,
            programs: (-1..=127).collect(),
            one_token_stream_for_programs: true,
            program_changes: false,
            max_bar_embedding: None,
        }
    }
}

pub(crate) fn config_error(field: &str, message: impl Into<String>) -> TokenError {
    TokenError::Config {
        field: field.into(),
        message: message.into(),
    }
}

/// A validated configuration with its derived tables.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The configuration.
    pub config: BeatConfig,
    /// Largest resolution: positions per beat at the finest.
    pub max_res: u16,
    /// Supported (numerator, denominator) pairs.
    pub time_sigs: Vec<(u8, u8)>,
    /// Duration tokens, shortest first (MidiTok's order).
    pub durations: Vec<Beats>,
    /// Velocity bins, ascending.
    pub velocities: Vec<u8>,
    /// Special tokens.
    pub specials: Vec<Token>,
    /// Duration tables in ticks for the ticks-per-beat values in use.
    tables: Vec<(i64, Vec<i64>)>,
}

impl Grid {
    /// Validate a configuration, naming the first bad field.
    pub fn new(config: BeatConfig) -> Result<Self, TokenError> {
        let c = &config;
        if c.beat_res.is_empty() {
            return Err(config_error("beat_res", "needs at least one range"));
        }
        let mut ranges = c.beat_res.clone();
        ranges.sort_by_key(|r| r.start);
        for (i, r) in ranges.iter().enumerate() {
            if r.start >= r.end || r.res == 0 {
                return Err(config_error(
                    "beat_res",
                    format!("range {}..{} at resolution {} is empty", r.start, r.end, r.res),
                ));
            }
            if i > 0 && ranges[i - 1].end > r.start {
                return Err(config_error("beat_res", format!("ranges overlap at beat {}", r.start)));
            }
        }
        if ranges[0].start != 0 {
            return Err(config_error("beat_res", "the first range must start at beat 0"));
        }
        if c.pitch_range.0 > c.pitch_range.1 || c.pitch_range.1 > 127 {
            return Err(config_error(
                "pitch_range",
                format!("{:?} is not within 0..=127", c.pitch_range),
            ));
        }
        if c.drums_pitch_range.0 > c.drums_pitch_range.1 || c.drums_pitch_range.1 > 127 {
            return Err(config_error(
                "drums_pitch_range",
                format!("{:?} is not within 0..=127", c.drums_pitch_range),
            ));
        }
        if c.use_velocities && !(1..=127).contains(&c.num_velocities) {
            return Err(config_error(
                "num_velocities",
                format!("{} is outside 1..=127", c.num_velocities),
            ));
        }
        crate::programs::validate(c)?;
        let mut time_sigs = Vec::new();
        for r in &c.time_signature_range {
            if !r.denominator.is_power_of_two() || r.denominator > 64 {
                return Err(config_error(
                    "time_signature_range",
                    format!("denominator {} is not a power of two up to 64", r.denominator),
                ));
            }
            if r.numerators.contains(&0) {
                return Err(config_error("time_signature_range", "numerator 0"));
            }
            time_sigs.extend(r.numerators.iter().map(|&n| (n, r.denominator)));
        }
        if c.use_time_signatures && time_sigs.is_empty() {
            return Err(config_error(
                "time_signature_range",
                "no time signature while use_time_signatures is on",
            ));
        }
        if !c.use_time_signatures {
            time_sigs = vec![(4, 4)];
        } else if !time_sigs.contains(&(4, 4)) {
            // A score without a time signature is read as 4/4.
            time_sigs.push((4, 4));
        }
        let mut specials = Vec::new();
        for s in &c.special_tokens {
            let t: Token = s
                .parse()
                .map_err(|e: crate::token::ParseTokenError| config_error("special_tokens", e.to_string()))?;
            if t.kind() != TokenType::Special {
                return Err(config_error("special_tokens", format!("{s} is not a special token")));
            }
            specials.push(t);
        }
        let max_res = ranges.iter().map(|r| r.res).max().unwrap_or(1);
        // MidiTok's duration list: every (beat, position) of each range, then
        // the end of the last range, without the zero duration.
        let mut durations: Vec<Beats> = c
            .beat_res
            .iter()
            .flat_map(|r| {
                (r.start..r.end).flat_map(move |b| {
                    (0..r.res).map(move |p| Beats {
                        beats: b,
                        pos: p,
                        res: r.res,
                    })
                })
            })
            .collect();
        let last = c
            .beat_res
            .iter()
            .max_by_key(|r| (r.start, r.end))
            .copied()
            .unwrap_or(ranges[0]);
        durations.push(Beats {
            beats: last.end.max(last.start),
            pos: 0,
            res: last.res,
        });
        durations.remove(0);
        let n = f64::from(c.num_velocities);
        let velocities = if c.use_velocities {
            (1..=c.num_velocities)
                .map(|i| (127.0 * f64::from(i) / n) as u8)
                .collect()
        } else {
            Vec::new()
        };
        let mut grid = Grid {
            config,
            max_res,
            time_sigs,
            durations,
            velocities,
            specials,
            tables: Vec::new(),
        };
        // Every ticks-per-beat a preprocessed score can have: max_res × max_den / den
        // for each pair of denominators.
        let dens: std::collections::BTreeSet<u8> = grid.time_sigs.iter().map(|t| t.1).chain([4]).collect();
        for &max_den in &dens {
            let tpq = (u32::from(grid.max_res) * u32::from(max_den) / 4).max(1) as u16;
            for &den in &dens {
                let tpb = Grid::ticks_per_beat(den, tpq);
                if tpb > 0 && !grid.tables.iter().any(|t| t.0 == tpb) {
                    let table = grid.durations.iter().map(|d| d.ticks(tpb)).collect();
                    grid.tables.push((tpb, table));
                }
            }
        }
        Ok(grid)
    }

    /// Ticks per beat for a denominator at a resolution (MidiTok's `compute_ticks_per_beat`).
    pub fn ticks_per_beat(denominator: u8, tpq: u16) -> i64 {
        i64::from(tpq) * 4 / i64::from(denominator.max(1))
    }

    /// Duration tokens' lengths in ticks at `ticks_per_beat`, ascending.
    pub fn duration_ticks(&self, ticks_per_beat: i64) -> std::borrow::Cow<'_, [i64]> {
        match self.tables.iter().find(|t| t.0 == ticks_per_beat) {
            Some(t) => std::borrow::Cow::Borrowed(&t.1),
            None => std::borrow::Cow::Owned(self.durations.iter().map(|d| d.ticks(ticks_per_beat)).collect()),
        }
    }

    /// The duration token of exactly `ticks` at `ticks_per_beat`, if there is one.
    pub fn duration_token(&self, ticks: i64, ticks_per_beat: i64) -> Option<Beats> {
        let table = self.duration_ticks(ticks_per_beat);
        table.binary_search(&ticks).ok().map(|i| self.durations[i])
    }

    /// MidiTok's decomposition of a time shift into duration values: the
    /// largest one that fits, repeatedly (what is left under the smallest is
    /// dropped).
    pub fn shift_tokens(&self, mut ticks: i64, ticks_per_beat: i64) -> Vec<(Beats, i64)> {
        let table = self.duration_ticks(ticks_per_beat);
        let mut out = Vec::new();
        while ticks >= table[0].max(1) {
            let i = table.partition_point(|&d| d <= ticks) - 1;
            out.push((self.durations[i], table[i]));
            ticks -= table[i];
        }
        out
    }

    /// The pitch-type token of a note.
    pub fn pitch_token(&self, pitch: u8, drum: bool) -> Token {
        if drum && self.config.use_pitchdrum_tokens {
            Token::PitchDrum(pitch)
        } else {
            Token::Pitch(pitch)
        }
    }

    /// Push the `TimeShift` tokens that move time from `from` to `to`
    /// (MidiTok's decomposition); returns the new current time, `to`.
    pub fn push_shifts(
        &self,
        from: i64,
        to: i64,
        ticks_per_beat: i64,
        tokens: &mut Vec<Token>,
        ticks: &mut Vec<i64>,
    ) -> i64 {
        let mut at = from;
        if to != from {
            for (d, dt) in self.shift_tokens(to - from, ticks_per_beat) {
                tokens.push(Token::TimeShift(d));
                ticks.push(at);
                at += dt;
            }
        }
        to
    }

    /// Push the tokens of a note (pitch or drum pitch, velocity if used,
    /// duration at the section's ticks per beat), each at `time`.
    pub fn push_note_tokens(
        &self,
        note: &Note<Tick>,
        drum: bool,
        ticks_per_beat: i64,
        tokens: &mut Vec<Token>,
        ticks: &mut Vec<i64>,
    ) -> Result<(), TokenError> {
        let d = self.duration_token(note.duration, ticks_per_beat).ok_or_else(|| {
            TokenError::Encode(format!(
                "note at tick {} lasts {} ticks, not a duration of the grid (preprocess first)",
                note.time, note.duration
            ))
        })?;
        tokens.push(self.pitch_token(note.pitch, drum));
        if self.config.use_velocities {
            tokens.push(Token::Velocity(note.velocity));
        }
        tokens.push(Token::Duration(d));
        ticks.resize(tokens.len(), note.time);
        Ok(())
    }

    /// Bring a score onto the grid (see the module docs), for schemes that
    /// write note durations as tokens.
    pub fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        let mut p = self.preprocess_in_file_order(score);
        crate::programs::order(&self.config, &mut p.score.tracks);
        p
    }

    /// [`Grid::preprocess`] with the tracks left in the file's order (merged
    /// tracks at the place of their first): what an encoder walks to break
    /// ties between tracks as MidiTok does (see [`crate::programs`]).
    pub fn preprocess_in_file_order(&self, score: &Score<Tick>) -> Preprocessed {
        let (score, report) = self.preprocess_with(score, false);
        Preprocessed { score, report }
    }

    /// Bring a score onto the grid for note-on/note-off schemes (MIDI-Like):
    /// durations are not snapped to duration tokens; with several
    /// denominators both ends of a note go to their section's grid (a note
    /// that collapses keeps one grid step). Notes of one pitch that overlap
    /// are paired first in, first out, as decoding pairs note-offs.
    pub fn preprocess_on_off(&self, score: &Score<Tick>) -> Preprocessed {
        let (mut score, report) = self.preprocess_with(score, true);
        for t in &mut score.tracks {
            fifo_pairing(&mut t.notes);
        }
        Preprocessed { score, report }
    }

    fn preprocess_with(&self, score: &Score<Tick>, on_off: bool) -> (Score<Tick>, Report) {
        let c = &self.config;
        let mut report = Report {
            notes_in: score.note_count(),
            ..Report::default()
        };
        // 1. Time signatures.
        let mut ts: Vec<TimeSignature<Tick>> = if c.use_time_signatures {
            let kept: Vec<_> = score
                .time_signatures
                .iter()
                .filter(|t| self.time_sigs.contains(&(t.numerator, t.denominator)))
                .map(|t| TimeSignature::new(t.time, t.numerator, t.denominator))
                .collect();
            report.time_signatures_changed += score.time_signatures.len() - kept.len();
            kept
        } else {
            Vec::new()
        };
        if ts.first().is_none_or(|t| t.time != 0) {
            ts.insert(0, TimeSignature::new(0, 4, 4));
        }
        let max_den = ts.iter().map(|t| t.denominator).max().unwrap_or(4);
        let tpq = (u32::from(self.max_res) * u32::from(max_den) / 4).max(1) as u16;
        // 2. Resample, as symusic's `resample(tpq, min_dur=1)`.
        let factor = f64::from(tpq) / f64::from(score.ticks_per_quarter.max(1));
        let same = tpq == score.ticks_per_quarter;
        let mut tracks: Vec<Track<Tick>> = Vec::new();
        for tr in &score.tracks {
            if tr.notes.is_empty() {
                if !tr.is_empty() {
                    report.tracks_dropped += 1;
                }
                continue;
            }
            let mut t = crate::programs::part(c, tr);
            t.notes = tr
                .notes
                .iter()
                .map(|n| {
                    if same {
                        *n
                    } else {
                        let time = (n.time as f64 * factor).round() as i64;
                        let duration = ((n.duration as f64 * factor).round() as i64).max(1);
                        Note { time, duration, ..*n }
                    }
                })
                .collect();
            tracks.push(t);
        }
        crate::programs::merge_and_filter(c, &mut tracks, &mut report);
        if !same {
            for t in &mut ts {
                t.time = (t.time as f64 * factor) as i64;
            }
        }
        // 3. Time signatures on bar lines.
        if c.use_time_signatures {
            let before = ts.clone();
            delay_time_signatures(&mut ts, tpq);
            if ts != before {
                report.time_signatures_changed += 1;
            }
        }
        let end = tracks
            .iter()
            .flat_map(|t| t.notes.iter().map(|n| n.end()))
            .max()
            .unwrap_or(0);
        // Sections of constant ticks-per-beat: (end tick, ticks per beat).
        let tpb_sections = sections(&ts, end, |den| Grid::ticks_per_beat(den, tpq));
        // 4. Several denominators: onsets to each section's position grid.
        let dens: std::collections::BTreeSet<u8> = ts.iter().map(|t| t.denominator).collect();
        let step_sections = if c.use_time_signatures && dens.len() > 1 {
            Some(sections(&ts, end, |den| {
                (f64::from(tpq) / (f64::from(self.max_res) * (f64::from(den) / 4.0))).floor() as i64
            }))
        } else {
            None
        };
        // 5. Notes.
        let mut out_tracks = Vec::with_capacity(tracks.len());
        for mut t in tracks {
            let (lo, hi) = if t.is_drum && c.use_pitchdrum_tokens {
                c.drums_pitch_range
            } else {
                c.pitch_range
            };
            let before = t.notes.len();
            t.notes.retain(|n| n.pitch >= lo && n.pitch <= hi);
            report.notes_out_of_range += before - t.notes.len();
            if t.notes.is_empty() {
                report.tracks_dropped += 1;
                continue;
            }
            for n in &mut t.notes {
                // Without velocity tokens every note decodes at MidiTok's default, 100.
                let v = if c.use_velocities {
                    closest(&self.velocities, n.velocity)
                } else {
                    DEFAULT_VELOCITY
                };
                report.velocities_changed += usize::from(v != n.velocity);
                n.velocity = v;
            }
            if let Some(steps) = &step_sections {
                let snap = |x: i64| {
                    let k = steps.partition_point(|s| s.0 <= x).min(steps.len() - 1);
                    let grid_start = if k == 0 { 0 } else { steps[k - 1].0 };
                    let step = steps[k].1.max(1);
                    (
                        round_half_even((x - grid_start) as f64 / step as f64) * step + grid_start,
                        step,
                    )
                };
                for n in &mut t.notes {
                    let (q, step) = snap(n.time);
                    if on_off {
                        // Both ends to their own section's grid.
                        let (end, _) = snap(n.time + n.duration);
                        n.duration = if end <= q { step } else { end - q };
                    }
                    report.onsets_moved += usize::from(q != n.time);
                    n.time = q;
                }
            }
            if !on_off {
                let mut k = 0;
                let mut table = self.duration_ticks(tpb_sections[0].1);
                for n in &mut t.notes {
                    while k + 1 < tpb_sections.len() && n.time >= tpb_sections[k].0 {
                        k += 1;
                        table = self.duration_ticks(tpb_sections[k].1);
                    }
                    let d = closest(&table, n.duration);
                    report.durations_changed += usize::from(d != n.duration);
                    n.duration = d;
                }
            }
            out_tracks.push(t);
        }
        let mut out = Score::new(tpq);
        out.tracks = out_tracks;
        out.time_signatures = if c.use_time_signatures { ts } else { Vec::new() };
        (out, report)
    }
}

impl Grid {
    /// `Pitch` tokens over the pitch range, then `PitchDrum` over the drum
    /// range when drum tokens are used.
    pub fn pitch_vocab(&self) -> Vec<Token> {
        let c = &self.config;
        let mut v: Vec<Token> = (c.pitch_range.0..=c.pitch_range.1).map(Token::Pitch).collect();
        if c.use_pitchdrum_tokens {
            v.extend((c.drums_pitch_range.0..=c.drums_pitch_range.1).map(Token::PitchDrum));
        }
        v
    }

    /// `Velocity` tokens, one per bin.
    pub fn velocity_vocab(&self) -> impl Iterator<Item = Token> + '_ {
        self.velocities.iter().map(|&v| Token::Velocity(v))
    }

    /// `Program` tokens, when programs are used.
    pub fn program_vocab(&self) -> Vec<Token> {
        if self.config.use_programs {
            self.config.programs.iter().map(|&p| Token::Program(p)).collect()
        } else {
            Vec::new()
        }
    }

    /// `TimeSig` tokens, when time signatures are used.
    pub fn time_sig_vocab(&self) -> Vec<Token> {
        if self.config.use_time_signatures {
            self.time_sigs.iter().map(|&(n, d)| Token::TimeSig(n, d)).collect()
        } else {
            Vec::new()
        }
    }

    /// The time signatures an encoder writes: the score's, or none.
    pub fn sigs<'a>(&self, score: &'a Score<Tick>) -> &'a [TimeSignature<Tick>] {
        if self.config.use_time_signatures {
            &score.time_signatures
        } else {
            &[]
        }
    }

    /// The resolution decoding gives: the one preprocessing chose, from the
    /// largest denominator among the sequences' `TimeSig` tokens.
    pub fn decode_tpq(&self, seqs: &[Vec<Token>]) -> u16 {
        let max_den = seqs
            .iter()
            .flatten()
            .filter_map(|t| if let Token::TimeSig(_, d) = t { Some(*d) } else { None })
            .max()
            .unwrap_or(4)
            .max(4);
        (u32::from(self.max_res) * u32::from(max_den) / 4).max(1) as u16
    }
}

/// Re-pair the ends of overlapping notes of one pitch first in, first out:
/// the k-th note to start gets the k-th end. Token streams of note-on/off
/// schemes cannot tell the pairings apart, so this is the pairing decoding
/// gives back.
fn fifo_pairing(notes: &mut [Note<Tick>]) {
    let mut by_pitch: Vec<Vec<usize>> = vec![Vec::new(); 128];
    for (i, n) in notes.iter().enumerate() {
        by_pitch[usize::from(n.pitch.min(127))].push(i);
    }
    for idx in by_pitch.iter().filter(|v| v.len() > 1) {
        let mut ends: Vec<i64> = idx.iter().map(|&i| notes[i].end()).collect();
        if ends.is_sorted() {
            continue;
        }
        ends.sort_unstable();
        for (&i, e) in idx.iter().zip(ends) {
            notes[i].duration = e - notes[i].time;
        }
    }
}

/// The nearest value of an ascending table (a tie goes to the larger value),
/// as MidiTok's `np_get_closest`.
pub fn closest<T: Copy + Into<i64>>(table: &[T], v: T) -> T {
    let x: i64 = v.into();
    let i = table.partition_point(|&t| t.into() < x);
    if i == 0 {
        return table[0];
    }
    if i == table.len() {
        return table[i - 1];
    }
    let (lo, hi) = (table[i - 1], table[i]);
    if (x - lo.into()).abs() < (hi.into() - x).abs() {
        lo
    } else {
        hi
    }
}

/// Round half to even (numpy's `np.round`).
fn round_half_even(x: f64) -> i64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && (r as i64) % 2 != 0 {
        (r - x.signum()) as i64
    } else {
        r as i64
    }
}

/// Sections of a per-denominator value: `(end tick, value)`, merged when
/// equal, the last one ending after `end`.
fn sections(ts: &[TimeSignature<Tick>], end: i64, value: impl Fn(u8) -> i64) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(ts.len());
    for (i, t) in ts.iter().enumerate() {
        let stop = ts.get(i + 1).map_or(end + 1, |n| n.time);
        let v = value(t.denominator);
        match out.last_mut() {
            Some(last) if last.1 == v => last.0 = stop,
            _ => out.push((stop, v)),
        }
    }
    if out.is_empty() {
        out.push((end + 1, value(4)));
    }
    out
}

/// Ticks per bar of a time signature.
pub fn ticks_per_bar(t: &TimeSignature<Tick>, tpq: u16) -> i64 {
    Grid::ticks_per_beat(t.denominator, tpq) * i64::from(t.numerator)
}

/// MidiTok's time-signature clean-up: each change moves to the next bar line
/// if it falls inside a bar, repeats are dropped, and of two changes on one
/// tick the later wins.
fn delay_time_signatures(ts: &mut Vec<TimeSignature<Tick>>, tpq: u16) {
    let same =
        |a: &TimeSignature<Tick>, b: &TimeSignature<Tick>| (a.numerator, a.denominator) == (b.numerator, b.denominator);
    let mut i = 0;
    let mut tpbar = ticks_per_bar(&ts[0], tpq).max(1);
    let mut previous = 0;
    while i < ts.len() {
        if i >= 1 && same(&ts[i], &ts[i - 1]) {
            ts.remove(i);
            continue;
        }
        if i >= 1 && ts[i].time < ts[i - 1].time {
            ts[i].time = ts[i - 1].time;
        }
        let (bars, rest) = (
            (ts[i].time - previous).div_euclid(tpbar),
            (ts[i].time - previous).rem_euclid(tpbar),
        );
        if rest > 0 {
            ts[i].time = previous + (bars + 1) * tpbar;
        }
        tpbar = ticks_per_bar(&ts[i], tpq).max(1);
        previous = ts[i].time;
        if i >= 1 && ts[i].time == ts[i - 1].time {
            ts.remove(i - 1);
            if i >= 2 && same(&ts[i - 1], &ts[i - 2]) {
                ts.remove(i - 1);
                tpbar = ticks_per_bar(&ts[i - 2], tpq).max(1);
                previous = ts[i - 2].time;
                i -= 1;
            }
            continue;
        }
        i += 1;
    }
    if ts.first().is_none_or(|t| t.time != 0) {
        ts.insert(0, TimeSignature::new(0, 4, 4));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_miditok_defaults() {
        let g = Grid::new(BeatConfig::default()).unwrap();
        assert_eq!(g.max_res, 8);
        assert_eq!(g.durations.len(), 64);
        assert_eq!(
            g.durations[0],
            Beats {
                beats: 0,
                pos: 1,
                res: 8
            }
        );
        assert_eq!(
            *g.durations.last().unwrap(),
            Beats {
                beats: 12,
                pos: 0,
                res: 4
            }
        );
        assert_eq!(&g.velocities[..3], &[3, 7, 11]);
        assert_eq!(*g.velocities.last().unwrap(), 127);
        assert_eq!(g.duration_ticks(8)[..3], [1, 2, 3]);
        assert_eq!(closest(&g.velocities, 69u8), 71);
        assert_eq!(closest(&g.velocities, 68u8), 67);
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(3.5), 4);
        assert_eq!(round_half_even(-0.5), 0);
    }

    #[test]
    fn bad_config_names_the_field() {
        let bad = BeatConfig {
            beat_res: vec![BeatRes {
                start: 0,
                end: 4,
                res: 0,
            }],
            ..Default::default()
        };
        assert!(Grid::new(bad).unwrap_err().to_string().contains("beat_res"));
        let bad = BeatConfig {
            num_velocities: 0,
            ..Default::default()
        };
        assert!(Grid::new(bad).unwrap_err().to_string().contains("num_velocities"));
        let bad = BeatConfig {
            time_signature_range: vec![TimeSigRange {
                denominator: 3,
                numerators: vec![4],
            }],
            ..Default::default()
        };
        assert!(Grid::new(bad).unwrap_err().to_string().contains("time_signature_range"));
    }

    #[test]
    fn time_signatures_move_to_bar_lines() {
        let mut ts = vec![
            TimeSignature::new(0, 4, 4),
            TimeSignature::new(40, 3, 4),
            TimeSignature::new(56, 3, 4),
        ];
        delay_time_signatures(&mut ts, 8);
        assert_eq!(
            ts.iter().map(|t| (t.time, t.numerator)).collect::<Vec<_>>(),
            vec![(0, 4), (64, 3)]
        );
    }
}
