//! Seeded data augmentation: transposition within each instrument's range,
//! tempo stretch and velocity jitter. The same score, configuration and seed
//! always give the same result ([`crate::rng`]).
//!
//! Transposition rule: each pitched track has a range ([`Ranges`]: the
//! General MIDI family's usual range by program, or one fixed range); drum
//! tracks are never transposed. With [`OutOfRange::Reject`] (the default) a
//! random shift is drawn uniformly among the shifts in `-max..=max` that keep
//! every note of every track inside its range (0 when only 0 does), so
//! intervals are never changed. With [`OutOfRange::Clamp`] the shift is drawn
//! from all of `-max..=max` and a note that leaves its range is moved by
//! octaves back inside it (pitch class kept; to the nearest bound if the
//! range is narrower than an octave); such notes are counted.
//!
//! Tempo stretch multiplies every tempo's microseconds per quarter by a
//! factor drawn uniformly from `[1 - stretch, 1 + stretch]` (above 1 plays
//! slower); ticks do not move, so beat-based tokens are unchanged and
//! time-based ones (performance events) see the new timing. A score without
//! a tempo gets one at tick 0 (the MIDI default of 120 qpm, stretched).
//! Velocity jitter adds a uniform integer in `-jitter..=jitter` to every
//! note's velocity, kept within 1..=127.

use crate::dataset::Roll;
use crate::rng::{between, rng, unit};
use fugue_score::{Score, Tempo, Tick, Track};
use serde::{Deserialize, Serialize};

/// A pitch range, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitchRange {
    /// Lowest pitch.
    pub lo: u8,
    /// Highest pitch.
    pub hi: u8,
}

/// The 88 keys of a piano, A0..C8.
pub const PIANO: PitchRange = PitchRange { lo: 21, hi: 108 };

impl PitchRange {
    /// The usual range of a General MIDI program's family (approximate, and
    /// generous: it bounds augmentation, not orchestration).
    pub fn of_program(program: u8) -> PitchRange {
        let (lo, hi) = match program {
            0..=7 => (21, 108),    // piano
            8..=15 => (36, 108),   // chromatic percussion
            16..=23 => (36, 96),   // organ
            24..=31 => (40, 88),   // guitar
            32..=39 => (28, 67),   // bass
            40 => (55, 103),       // violin
            41 => (48, 91),        // viola
            42 => (36, 76),        // cello
            43 => (28, 67),        // contrabass
            44..=55 => (28, 103),  // strings, ensembles, choirs
            56..=63 => (34, 84),   // brass
            64..=71 => (34, 93),   // reeds
            72..=79 => (48, 108),  // pipes
            80..=103 => (21, 108), // synths
            _ => (0, 127),
        };
        PitchRange { lo, hi }
    }
}

/// How tracks get their range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ranges {
    /// By General MIDI program ([`PitchRange::of_program`]).
    #[default]
    Program,
    /// One range for every track.
    Fixed(PitchRange),
}

/// What to do with shifts that would leave a range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutOfRange {
    /// Draw only shifts that keep every note in range.
    #[default]
    Reject,
    /// Draw any shift; fold notes that leave back by octaves.
    Clamp,
}

/// An augmentation configuration; zero fields switch that part off.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Largest transposition, in semitones either way.
    pub max_transpose: u8,
    /// Largest relative tempo change (0.1 = ±10 %); below 1.
    pub stretch: f64,
    /// Largest velocity change either way.
    pub velocity_jitter: u8,
    /// Track ranges.
    pub ranges: Ranges,
    /// Out-of-range rule.
    pub out_of_range: OutOfRange,
}

impl Default for Augment {
    /// ±6 semitones, ±10 % tempo, ±8 velocity, GM ranges, reject.
    fn default() -> Self {
        Augment {
            max_transpose: 6,
            stretch: 0.1,
            velocity_jitter: 8,
            ranges: Ranges::Program,
            out_of_range: OutOfRange::Reject,
        }
    }
}

/// What an augmentation did.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Applied {
    /// The shift, in semitones.
    pub semitones: i32,
    /// The tempo factor (1 = unchanged).
    pub stretch: f64,
    /// Notes folded back into range ([`OutOfRange::Clamp`]).
    pub clamped: usize,
}

fn range_of(track: &Track<Tick>, ranges: Ranges) -> PitchRange {
    match ranges {
        Ranges::Program => PitchRange::of_program(track.program),
        Ranges::Fixed(r) => r,
    }
}

/// The shifts in `-max..=max` that keep every pitched note in its range,
/// as an interval (`None` when even 0 does not: the score is already out).
pub fn allowed_shifts(score: &Score<Tick>, max: u8, ranges: Ranges) -> Option<(i32, i32)> {
    let (mut lo, mut hi) = (-i32::from(max), i32::from(max));
    for t in score.tracks.iter().filter(|t| !t.is_drum) {
        let r = range_of(t, ranges);
        for n in &t.notes {
            lo = lo.max(i32::from(r.lo) - i32::from(n.pitch));
            hi = hi.min(i32::from(r.hi) - i32::from(n.pitch));
        }
    }
    (lo <= hi).then_some((lo, hi))
}

fn fold(p: i32, r: PitchRange) -> u8 {
    let (lo, hi) = (i32::from(r.lo), i32::from(r.hi));
    let mut q = p;
    while q < lo && q + 12 <= hi {
        q += 12;
    }
    while q > hi && q - 12 >= lo {
        q -= 12;
    }
    q.clamp(lo, hi).clamp(0, 127) as u8
}

/// Shift pitched tracks by `semitones` under a rule: with `Reject`, `None`
/// if a note would leave its range; with `Clamp`, the score and the number
/// of notes folded back.
pub fn transpose(
    score: &Score<Tick>,
    semitones: i32,
    ranges: Ranges,
    rule: OutOfRange,
) -> Option<(Score<Tick>, usize)> {
    let mut out = score.clone();
    let mut clamped = 0;
    for t in out.tracks.iter_mut().filter(|t| !t.is_drum) {
        let r = range_of(t, ranges);
        for n in &mut t.notes {
            let q = i32::from(n.pitch) + semitones;
            if (i32::from(r.lo)..=i32::from(r.hi)).contains(&q) {
                n.pitch = q as u8;
            } else if rule == OutOfRange::Clamp {
                n.pitch = fold(q, r);
                clamped += 1;
            } else {
                return None;
            }
        }
    }
    Some((out, clamped))
}

/// A score played `factor` times as long (above 1 slower): every tempo's
/// microseconds per quarter times `factor`, ticks unchanged (see the module
/// docs). Performance RNN's fixed factors (0.95 … 1.05) go through here.
pub fn stretch(score: &Score<Tick>, factor: f64) -> Score<Tick> {
    let mut out = score.clone();
    stretch_in_place(&mut out, factor);
    out
}

fn stretch_in_place(score: &mut Score<Tick>, factor: f64) {
    if score.tempos.is_empty() {
        score.tempos.push(Tempo::from_qpm(0, 120.0));
    }
    for t in &mut score.tempos {
        t.mspq = ((f64::from(t.mspq) * factor).round() as u32).clamp(1, 0x00FF_FFFF);
    }
}

/// Augment a score with a seed; see the module docs.
pub fn augment(score: &Score<Tick>, cfg: &Augment, seed: u64) -> (Score<Tick>, Applied) {
    let mut r = rng(seed, 0);
    let m = i64::from(cfg.max_transpose);
    let semitones = match cfg.out_of_range {
        OutOfRange::Reject => match allowed_shifts(score, cfg.max_transpose, cfg.ranges) {
            Some((lo, hi)) => between(&mut r, i64::from(lo), i64::from(hi)) as i32,
            None => {
                let _ = between(&mut r, -m, m);
                0
            }
        },
        OutOfRange::Clamp => between(&mut r, -m, m) as i32,
    };
    let (mut out, clamped) =
        transpose(score, semitones, cfg.ranges, cfg.out_of_range).unwrap_or_else(|| (score.clone(), 0));
    let s = cfg.stretch.clamp(0.0, 0.99);
    let factor = 1.0 - s + 2.0 * s * unit(&mut r);
    if s > 0.0 {
        stretch_in_place(&mut out, factor);
    }
    let j = i64::from(cfg.velocity_jitter);
    if j > 0 {
        for t in &mut out.tracks {
            for n in &mut t.notes {
                n.velocity = (i64::from(n.velocity) + between(&mut r, -j, j)).clamp(1, 127) as u8;
            }
        }
    }
    (
        out,
        Applied {
            semitones,
            stretch: if s > 0.0 { factor } else { 1.0 },
            clamped,
        },
    )
}

/// The shifts in `-max..=max` that keep every one of `pitches` inside
/// `lo..=hi` (the reject rule), as an inclusive range; `None` when no shift
/// does (a pitch is already outside). No pitches: all of `-max..=max`.
pub fn roll_shifts(pitches: impl IntoIterator<Item = i32>, max: u8, lo: i32, hi: i32) -> Option<(i32, i32)> {
    let (mut down, mut up) = (-i32::from(max), i32::from(max));
    for p in pitches {
        down = down.max(lo - p);
        up = up.min(hi - p);
    }
    (down <= up).then_some((down, up))
}

/// Transpose a piano-roll by a seeded shift in `-max..=max` that keeps it in
/// `range` (the reject rule); returns the roll and the shift.
pub fn augment_roll(roll: &Roll, max: u8, range: PitchRange, seed: u64) -> (Roll, i32) {
    let pitches = roll.frames.iter().flatten().map(|&p| i32::from(p));
    let shift = match roll_shifts(pitches, max, i32::from(range.lo), i32::from(range.hi)) {
        Some((lo, hi)) => between(&mut rng(seed, 0), i64::from(lo), i64::from(hi)) as i32,
        None => 0,
    };
    match roll.transposed(shift, range.lo, range.hi) {
        Some(r) => (r, shift),
        None => (roll.clone(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_score::Note;

    fn score() -> Score<Tick> {
        let mut s = Score::new(480);
        let mut t = Track::new("violin", 40, 0);
        for (i, p) in [56u8, 70, 100].into_iter().enumerate() {
            t.notes.push(Note::new(i as i64 * 480, 480, p, 64));
        }
        s.tracks.push(t);
        let mut d = Track::new("drums", 0, 9);
        d.is_drum = true;
        d.notes.push(Note::new(0, 10, 36, 100));
        s.tracks.push(d);
        s
    }

    #[test]
    fn same_seed_same_output_and_ranges_hold() {
        let cfg = Augment::default();
        let (a, x) = augment(&score(), &cfg, 42);
        let (b, y) = augment(&score(), &cfg, 42);
        assert_eq!(a, b);
        assert_eq!(x, y);
        // Violin 55..=103 with notes 56..=100: shifts -1..=3 only.
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let (s, ap) = augment(&score(), &cfg, seed);
            seen.insert(ap.semitones);
            assert!(s.tracks[0].notes.iter().all(|n| (55..=103).contains(&n.pitch)));
            assert_eq!(s.tracks[1].notes[0].pitch, 36, "drums never move");
            assert!(s
                .tracks
                .iter()
                .flat_map(|t| &t.notes)
                .all(|n| (56..=72).contains(&n.velocity) || n.velocity.abs_diff(100) <= 8));
            assert!((0.9..=1.1).contains(&ap.stretch));
            assert_eq!(s.tempos.len(), 1);
        }
        assert_eq!(seen, (-1..=3).collect());
    }

    #[test]
    fn clamp_folds_by_octaves_and_reject_refuses() {
        assert!(transpose(&score(), 5, Ranges::Program, OutOfRange::Reject).is_none());
        let (s, n) = transpose(&score(), 5, Ranges::Program, OutOfRange::Clamp).unwrap();
        assert_eq!(n, 1);
        assert_eq!(s.tracks[0].notes[2].pitch, 93);
        let full = Ranges::Fixed(PitchRange { lo: 0, hi: 127 });
        assert_eq!(allowed_shifts(&score(), 6, full), Some((-6, 6)));
    }

    #[test]
    fn stretch_scales_seconds_and_keeps_ticks() {
        let s = score();
        let slow = stretch(&s, 1.05);
        assert_eq!(slow.tracks, s.tracks);
        // No tempo: the MIDI default of 120 qpm, stretched.
        assert_eq!(slow.tempos, vec![Tempo::from_qpm(0, 120.0 / 1.05)]);
        let sec = slow.to_second();
        assert!((sec.tracks[0].notes[2].time - 2.0 * 0.5 * 1.05).abs() < 1e-6);
    }

    #[test]
    fn roll_transposition_stays_on_the_keyboard() {
        let r = Roll::new(vec![vec![22, 60], vec![107]], None);
        for seed in 0..50 {
            let (t, k) = augment_roll(&r, 6, PIANO, seed);
            assert!((-1..=1).contains(&k));
            assert!(t.frames.iter().flatten().all(|p| (21..=108).contains(p)));
        }
    }
}
