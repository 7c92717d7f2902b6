//! The symbolic-music metrics of muspy (`muspy.metrics`), with muspy's
//! definitions to the letter, so that a figure computed here can be put next
//! to one from a paper that used muspy.
//!
//! Every metric reads a [`Score<Tick>`] at its own resolution (muspy's
//! `Music.resolution` is the same thing: ticks per quarter note, which its
//! MIDI reader takes from the file, as fugue's does). muspy's conventions,
//! kept here on purpose:
//! - drum tracks are left out of the pitch metrics (range, pitches used,
//!   entropies, polyphony, scale) but count for the rhythm ones (empty beats
//!   and measures, groove consistency);
//! - the *length* of a score is the latest note end or control-change time
//!   of any track (muspy's `Track.get_end_time` over notes and annotations;
//!   its MIDI reader stores control changes as track annotations and lyrics
//!   at the song level);
//! - a note covers the beats (measures) from the one holding its onset to
//!   the one holding its end, both included: a note ending exactly on a beat
//!   marks that beat as not empty;
//! - the piano-roll of polyphony is boolean per (tick, pitch): two notes of
//!   one pitch sounding together count once;
//! - `pitch_range` of a score whose only notes are drums is −127 (muspy
//!   starts from highest = 0, lowest = 127 and finds no pitched note);
//! - a metric with nothing to measure is NaN (`None` in JSON).
//!
//! Memory and time are linear in the number of notes (and the number of
//! beats or measures), not in the number of ticks: the piano-roll metrics
//! use interval sweeps, not a dense roll.

use fugue_score::{Score, Tick};

/// Ticks per quarter note of the score, as an `i64` (never 0).
fn resolution(s: &Score<Tick>) -> i64 {
    i64::from(s.ticks_per_quarter.max(1))
}

/// The latest note end or control-change time of any track (muspy's
/// `max(track.get_end_time())`); `None` when the score has no track.
pub fn length(s: &Score<Tick>) -> Option<i64> {
    if s.tracks.is_empty() {
        return None;
    }
    let mut end = 0i64;
    for t in &s.tracks {
        t.notes.iter().for_each(|n| end = end.max(n.end()));
        t.controls.iter().for_each(|c| end = end.max(c.time));
    }
    Some(end)
}

fn pitched(s: &Score<Tick>) -> impl Iterator<Item = &fugue_score::Note<Tick>> {
    s.tracks.iter().filter(|t| !t.is_drum).flat_map(|t| t.notes.iter())
}

/// Highest minus lowest pitch of the pitched notes (0 without notes; see the
/// module docs for the drum-only case).
pub fn pitch_range(s: &Score<Tick>) -> i32 {
    if s.tracks.iter().all(|t| t.notes.is_empty()) {
        return 0;
    }
    let (mut hi, mut lo) = (0i32, 127i32);
    for n in pitched(s) {
        hi = hi.max(i32::from(n.pitch));
        lo = lo.min(i32::from(n.pitch));
    }
    hi - lo
}

/// How many distinct pitches the pitched notes use.
pub fn n_pitches_used(s: &Score<Tick>) -> usize {
    let mut used = [false; 128];
    pitched(s).for_each(|n| used[usize::from(n.pitch & 127)] = true);
    used.iter().filter(|u| **u).count()
}

/// How many distinct pitch classes the pitched notes use.
pub fn n_pitch_classes_used(s: &Score<Tick>) -> usize {
    let mut used = [false; 12];
    pitched(s).for_each(|n| used[usize::from(n.pitch % 12)] = true);
    used.iter().filter(|u| **u).count()
}

fn entropy(counts: &[f64]) -> f64 {
    let total: f64 = counts.iter().sum();
    if total < 1.0 {
        return f64::NAN;
    }
    -counts
        .iter()
        .filter(|c| **c > 0.0)
        .map(|c| {
            let p = c / total;
            p * p.log2()
        })
        .sum::<f64>()
}

/// Shannon entropy (bits) of the pitch histogram of the pitched notes.
pub fn pitch_entropy(s: &Score<Tick>) -> f64 {
    let mut c = [0f64; 128];
    pitched(s).for_each(|n| c[usize::from(n.pitch & 127)] += 1.0);
    entropy(&c)
}

/// Shannon entropy (bits) of the pitch-class histogram of the pitched notes.
pub fn pitch_class_entropy(s: &Score<Tick>) -> f64 {
    let mut c = [0f64; 12];
    pitched(s).for_each(|n| c[usize::from(n.pitch % 12)] += 1.0);
    entropy(&c)
}

/// For each pitch, the union of its notes' `[onset, end)` intervals (pitched
/// notes only), as sorted disjoint intervals.
fn pitch_unions(s: &Score<Tick>) -> Vec<(i64, i64)> {
    let mut per: Vec<Vec<(i64, i64)>> = vec![Vec::new(); 128];
    for n in pitched(s) {
        if n.duration > 0 {
            per[usize::from(n.pitch & 127)].push((n.time.max(0), n.end()));
        }
    }
    let mut out = Vec::new();
    for mut v in per {
        v.sort_unstable();
        let mut cur: Option<(i64, i64)> = None;
        for (a, b) in v {
            match cur {
                Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
                Some(c) => {
                    out.push(c);
                    cur = Some((a, b));
                }
                None => cur = Some((a, b)),
            }
        }
        out.extend(cur);
    }
    out
}

/// Sweep of the number of distinct sounding pitches: `(from, to, count)`
/// segments with count > 0, in time order.
fn sounding_counts(s: &Score<Tick>) -> Vec<(i64, i64, i64)> {
    let mut ev: Vec<(i64, i64)> = Vec::new();
    for (a, b) in pitch_unions(s) {
        ev.push((a, 1));
        ev.push((b, -1));
    }
    ev.sort_unstable();
    let mut out = Vec::new();
    let (mut count, mut last) = (0i64, 0i64);
    for (t, d) in ev {
        if t > last && count > 0 {
            out.push((last, t, count));
        }
        count += d;
        last = t;
    }
    out
}

/// Mean number of distinct pitches sounding over the ticks where at least
/// one sounds (pitched notes).
pub fn polyphony(s: &Score<Tick>) -> f64 {
    let (mut cells, mut steps) = (0i64, 0i64);
    for (a, b, c) in sounding_counts(s) {
        cells += (b - a) * c;
        steps += b - a;
    }
    if steps < 1 {
        return f64::NAN;
    }
    cells as f64 / steps as f64
}

/// The share of all ticks (up to the score's length) where more than
/// `threshold` distinct pitches sound; muspy's default threshold is 2.
pub fn polyphony_rate(s: &Score<Tick>, threshold: usize) -> f64 {
    let len = length(s).unwrap_or(0);
    if len < 1 {
        return f64::NAN;
    }
    let th = threshold as i64;
    let over: i64 = sounding_counts(s).iter().filter(|x| x.2 > th).map(|x| x.1 - x.0).sum();
    over as f64 / len as f64
}

/// A scale as 12 booleans, rooted at a pitch class.
fn scale(root: u8, minor: bool) -> [bool; 12] {
    let c = if minor {
        [
            true, false, true, true, false, true, false, true, true, false, true, false,
        ]
    } else {
        [
            true, false, true, false, true, true, false, true, false, true, false, true,
        ]
    };
    let mut out = [false; 12];
    for (i, v) in c.iter().enumerate() {
        out[(i + usize::from(root % 12)) % 12] = *v;
    }
    out
}

/// The share of pitched notes whose pitch class is in the major (or minor)
/// scale on `root` (a pitch class, 0 = C).
pub fn pitch_in_scale_rate(s: &Score<Tick>, root: u8, minor: bool) -> f64 {
    let sc = scale(root, minor);
    let (mut all, mut inside) = (0usize, 0usize);
    for n in pitched(s) {
        all += 1;
        inside += usize::from(sc[usize::from(n.pitch % 12)]);
    }
    if all < 1 {
        return f64::NAN;
    }
    inside as f64 / all as f64
}

/// The largest pitch-in-scale rate over the 24 major and minor scales.
pub fn scale_consistency(s: &Score<Tick>) -> f64 {
    let mut hist = [0usize; 12];
    pitched(s).for_each(|n| hist[usize::from(n.pitch % 12)] += 1);
    let all: usize = hist.iter().sum();
    if all < 1 {
        return f64::NAN;
    }
    let mut best = 0.0f64;
    for minor in [false, true] {
        for root in 0..12u8 {
            let sc = scale(root, minor);
            let inside: usize = (0..12).filter(|&i| sc[i]).map(|i| hist[i]).sum();
            best = best.max(inside as f64 / all as f64);
        }
    }
    best
}

/// Mark the `unit`-long cells each note touches (onset cell to end cell,
/// both included) and return the share left empty.
fn empty_rate(s: &Score<Tick>, unit: i64) -> f64 {
    let len = length(s).unwrap_or(0);
    if len < 1 || unit < 1 {
        return f64::NAN;
    }
    let n = (len / unit + 1) as usize;
    let mut full = vec![false; n];
    for t in &s.tracks {
        for note in &t.notes {
            let a = (note.time.max(0) / unit) as usize;
            let b = ((note.end().max(0) / unit) as usize).min(n - 1);
            for f in full.iter_mut().take(b + 1).skip(a) {
                *f = true;
            }
        }
    }
    1.0 - full.iter().filter(|f| **f).count() as f64 / n as f64
}

/// The share of beats (quarter notes at the score's resolution) where no
/// note of any track sounds.
pub fn empty_beat_rate(s: &Score<Tick>) -> f64 {
    empty_rate(s, resolution(s))
}

/// The share of measures (`measure_resolution` ticks each) where no note of
/// any track sounds.
pub fn empty_measure_rate(s: &Score<Tick>, measure_resolution: i64) -> f64 {
    empty_rate(s, measure_resolution)
}

/// 1 − the mean Hamming distance between the onset patterns (which ticks of
/// the measure hold an onset, any track) of consecutive measures, divided by
/// the measure length. NaN with fewer than two measures.
pub fn groove_consistency(s: &Score<Tick>, measure_resolution: i64) -> f64 {
    let len = length(s).unwrap_or(0);
    if measure_resolution < 1 {
        return f64::NAN;
    }
    let n = (len / measure_resolution + 1) as usize;
    if n < 2 {
        return f64::NAN;
    }
    let mut onsets: Vec<Vec<i64>> = vec![Vec::new(); n];
    for t in &s.tracks {
        for note in &t.notes {
            let m = (note.time.max(0) / measure_resolution) as usize;
            if let Some(v) = onsets.get_mut(m) {
                v.push(note.time.max(0) % measure_resolution);
            }
        }
    }
    for v in &mut onsets {
        v.sort_unstable();
        v.dedup();
    }
    let mut hamming = 0usize;
    for w in onsets.windows(2) {
        // Size of the symmetric difference of two sorted sets.
        let (a, b) = (&w[0], &w[1]);
        let (mut i, mut j, mut common) = (0, 0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        hamming += a.len() + b.len() - 2 * common;
    }
    1.0 - hamming as f64 / (measure_resolution as f64 * (n - 1) as f64)
}

/// The meter a drum pattern is judged against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meter {
    /// Beats divided in two and four.
    Duple,
    /// Beats divided in three.
    Triple,
}

/// muspy's drum pattern: which ticks of a beat are on the grid.
fn drum_pattern(res: i64, meter: Meter) -> Vec<bool> {
    let n = res.max(1) as usize;
    let mut p = vec![false; n];
    p[0] = true;
    let mut mark = |step: usize| {
        if step > 0 {
            for x in p.iter_mut().step_by(step) {
                *x = true;
            }
        }
    };
    match meter {
        Meter::Duple => {
            if n.is_multiple_of(4) {
                mark(n / 4);
            }
            if n.is_multiple_of(2) {
                mark(n / 2);
            }
        }
        Meter::Triple => {
            if n.is_multiple_of(3) {
                mark(n / 3);
            }
        }
    }
    p
}

/// The share of drum notes whose onset falls on the meter's grid within
/// the beat.
pub fn drum_in_pattern_rate(s: &Score<Tick>, meter: Meter) -> f64 {
    let res = resolution(s);
    let p = drum_pattern(res, meter);
    let (mut all, mut inside) = (0usize, 0usize);
    for t in s.tracks.iter().filter(|t| t.is_drum) {
        for n in &t.notes {
            all += 1;
            inside += usize::from(p[n.time.rem_euclid(res) as usize]);
        }
    }
    if all < 1 {
        return f64::NAN;
    }
    inside as f64 / all as f64
}

/// The larger of the duple and triple drum-in-pattern rates.
pub fn drum_pattern_consistency(s: &Score<Tick>) -> f64 {
    let duple = drum_in_pattern_rate(s, Meter::Duple);
    if duple.is_nan() {
        return f64::NAN;
    }
    let triple = drum_in_pattern_rate(s, Meter::Triple);
    if duple > triple {
        duple
    } else {
        triple
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_score::{Note, Track};

    fn score(notes: &[(i64, i64, u8)], drums: &[(i64, i64, u8)]) -> Score<Tick> {
        let mut s = Score::new(4);
        let mut t = Track::new("p", 0, 0);
        t.notes = notes.iter().map(|&(a, d, p)| Note::new(a, d, p, 64)).collect();
        s.tracks.push(t);
        if !drums.is_empty() {
            let mut d = Track::new("d", 0, 9);
            d.notes = drums.iter().map(|&(a, dd, p)| Note::new(a, dd, p, 64)).collect();
            s.tracks.push(d);
        }
        s
    }

    #[test]
    fn pitch_counts_and_range_ignore_drums() {
        let s = score(&[(0, 4, 60), (4, 4, 72), (8, 4, 64)], &[(0, 1, 36)]);
        assert_eq!(pitch_range(&s), 12);
        assert_eq!(n_pitches_used(&s), 3);
        assert_eq!(n_pitch_classes_used(&s), 2);
        assert_eq!(pitch_range(&score(&[], &[(0, 1, 36)])), -127);
        assert_eq!(pitch_range(&score(&[], &[])), 0);
    }

    #[test]
    fn entropies_are_in_bits() {
        let s = score(&[(0, 1, 60), (1, 1, 62), (2, 1, 64), (3, 1, 65)], &[]);
        assert!((pitch_entropy(&s) - 2.0).abs() < 1e-12);
        assert!((pitch_class_entropy(&s) - 2.0).abs() < 1e-12);
        assert!(pitch_entropy(&score(&[], &[])).is_nan());
    }

    #[test]
    fn polyphony_counts_distinct_pitches_over_sounding_ticks() {
        // ticks 0..4: 60 (and a duplicate 60 at 0..2); 2..6: 64; 8..10: 67,71,74.
        let s = score(
            &[(0, 4, 60), (0, 2, 60), (2, 4, 64), (8, 2, 67), (8, 2, 71), (8, 2, 74)],
            &[],
        );
        // Sounding ticks: 0..6 and 8..10 = 8; cells: 4 + 4 + 6 = 14.
        assert!((polyphony(&s) - 14.0 / 8.0).abs() < 1e-12);
        // More than 2 pitches only at 8..10, over length 10.
        assert!((polyphony_rate(&s, 2) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn empty_beats_count_the_end_beat() {
        // Resolution 4: a note 0..4 touches beats 0 and 1; length 12 → 4 beats.
        let s = score(&[(0, 4, 60), (11, 1, 60)], &[]);
        assert!((empty_beat_rate(&s) - 0.0).abs() < 1e-12);
        let s = score(&[(0, 3, 60), (12, 0, 60)], &[]);
        // Beats 0 and 3 touched of 4.
        assert!((empty_beat_rate(&s) - 0.5).abs() < 1e-12);
        assert!((empty_measure_rate(&s, 16) - 0.0).abs() < 1e-12);
    }

    #[test]
    fn scale_consistency_finds_the_best_key() {
        let s = score(&[(0, 1, 60), (1, 1, 62), (2, 1, 64), (3, 1, 66)], &[]);
        assert_eq!(scale_consistency(&s), 1.0); // G major
        assert_eq!(pitch_in_scale_rate(&s, 0, false), 0.75);
    }

    #[test]
    fn groove_and_drums() {
        let s = score(
            &[(0, 1, 60), (2, 1, 60), (4, 1, 60), (7, 1, 60)],
            &[(0, 1, 36), (1, 1, 38), (3, 1, 42)],
        );
        // Measures of 4: onsets {0,2} and {0,3} → Hamming 2 over 4 × 1.
        assert!((groove_consistency(&s, 4) - 0.5).abs() < 1e-12);
        // Resolution 4, duple grid {0,1,2,3}: all drum onsets on it.
        assert_eq!(drum_in_pattern_rate(&s, Meter::Duple), 1.0);
        assert_eq!(drum_in_pattern_rate(&s, Meter::Triple), 1.0 / 3.0);
        assert_eq!(drum_pattern_consistency(&s), 1.0);
    }
}
