//! HARMONET's chord-skeleton stage, symbolic: a harmonic skeleton (one
//! [`Harmony`] per quarter beat, see [`crate::harmonet`]) and a soprano
//! become alto, tenor and bass.
//!
//! The paper says that its harmonic skeleton is expanded into a chord
//! skeleton and that symbolic algorithms sit beside the nets; how that
//! expansion works is fugue's reading (the rest of the paper could not be
//! read). Here it is a shortest path (Viterbi) over the voicings of each
//! beat:
//!
//! - **Candidates** of a beat: a bass on the harmony's bass tone, tenor and
//!   alto on chord tones, inside [`RANGES`]; no crossing (B < T ≤ A ≤ the
//!   soprano's lowest pitch in the beat), alto–tenor and soprano–alto within
//!   an octave, tenor–bass within a twelfth; root and third sounding, and
//!   the seventh when the harmony has one. When a beat has no such voicing
//!   (a very low soprano), the spacing rules go first, then completeness,
//!   then the soprano bound (a crossing is the last resort).
//! - **Cost of a voicing**: distance from the voices' middle registers, a
//!   missing fifth, a doubled third, leading tone or seventh, wide spacing.
//! - **Cost of a move**: the semitones each voice moves (inner voices
//!   dearer than the bass), leaps, parallel fifths and octaves between any
//!   two of the four voices (priced out of reach), hidden fifths and octaves
//!   of the outer voices under a soprano leap, an unresolved leading tone
//!   after a dominant, a seventh that does not fall by step (or stay as a
//!   common tone), voice overlap.
//!
//! The soprano is never touched: it keeps its own 16th-note rhythm, and the
//! moves are priced against the pitch it actually sounds at the end of one
//! beat and the start of the next, so the parallels a listener (and
//! `fugue eval-chorale`) hears are the ones avoided. The lower voices move
//! in quarters: a voice holds its note into the next beat when both its
//! pitch and the harmony stay, and strikes it again otherwise. HARMONET's
//! ornamentation net (eighth-note passing tones) is not part of fugue.

use crate::chorale::SatbGrid;
use crate::harmonet::{beats, Bass, Harmony, Quality, Tonality, BEAT_STEPS};
use crate::TokenError;

/// Ranges (MIDI, inclusive) of alto, tenor and bass: inside the textbook
/// ranges `fugue-eval` checks (alto 53–77, tenor 48–69, bass 36–64).
pub const RANGES: [(u8, u8); 3] = [(55, 74), (48, 67), (36, 62)];
/// Middle registers the voicing cost pulls towards (alto, tenor, bass).
const CENTRES: [i32; 3] = [65, 57, 48];
/// Voicings kept per beat (the cheapest), so that a path costs at most
/// `beats × KEEP²` moves.
const KEEP: usize = 64;
/// The price of a parallel fifth or octave: never worth paying while
/// anything else is possible.
const PARALLEL: f64 = 50.0;

/// The soprano as one beat sees it.
#[derive(Clone, Copy, Debug)]
struct Soprano {
    first: Option<u8>,
    last: Option<u8>,
    low: Option<u8>,
    high: Option<u8>,
}

/// A beat's voicings (alto, tenor, bass; `None`: silent) and their own cost.
type Layer = Vec<(Option<[u8; 3]>, f64)>;

/// Which rules a candidate must keep (relaxed in this order when a beat
/// has no voicing).
#[derive(Clone, Copy)]
struct Rules {
    spacing: bool,
    below_soprano: bool,
    complete: bool,
}

fn pc_rel(p: u8, key: Tonality) -> u8 {
    (p % 12 + 12 - key.tonic % 12) % 12
}

/// The voicings of one beat with their own cost.
fn candidates(h: &Harmony, s: Soprano, key: Tonality, rules: Rules) -> Vec<([u8; 3], f64)> {
    let mask = h.mask();
    let tone = |p: u8| mask & (1 << pc_rel(p, key)) != 0;
    let bass_pc = h.bass_pc();
    let mut out = Vec::new();
    for b in RANGES[2].0..=RANGES[2].1 {
        if pc_rel(b, key) != bass_pc {
            continue;
        }
        for t in (RANGES[1].0..=RANGES[1].1).filter(|&t| t > b && tone(t)) {
            if rules.spacing && t - b > 19 {
                continue;
            }
            for a in (RANGES[0].0..=RANGES[0].1).filter(|&a| a >= t && tone(a)) {
                if rules.spacing && (a - t > 12 || s.first.is_some_and(|sp| sp > a + 12)) {
                    continue;
                }
                if rules.below_soprano && s.low.is_some_and(|lo| a > lo) {
                    continue;
                }
                let v = [a, t, b];
                let count = |pc: Option<u8>| {
                    pc.map_or(0, |pc| {
                        v.iter()
                            .chain(s.first.as_ref())
                            .filter(|&&p| pc_rel(p, key) == pc)
                            .count()
                    })
                };
                let (root, third, fifth, seventh) = (
                    count(h.tone(Bass::Root)),
                    count(h.tone(Bass::Third)),
                    count(h.tone(Bass::Fifth)),
                    count(h.tone(Bass::Seventh)),
                );
                let has_seventh = h.tone(Bass::Seventh).is_some();
                if rules.complete && (root == 0 || third == 0 || (has_seventh && seventh == 0)) {
                    continue;
                }
                let mut cost: f64 = v
                    .iter()
                    .zip(CENTRES)
                    .map(|(&p, c)| 0.05 * f64::from((i32::from(p) - c).unsigned_abs()))
                    .sum();
                if fifth == 0 {
                    cost += if has_seventh { 0.3 } else { 1.0 };
                }
                if third >= 2 {
                    cost += if h.quality == Quality::Major { 0.8 } else { 0.3 };
                }
                if seventh >= 2 {
                    cost += 8.0;
                }
                let leading = v
                    .iter()
                    .chain(s.first.as_ref())
                    .filter(|&&p| pc_rel(p, key) == 11)
                    .count();
                if leading >= 2 {
                    cost += 5.0;
                }
                if s.high.is_some_and(|hi| hi > a + 12) {
                    cost += 3.0;
                }
                if t - b > 12 {
                    cost += 0.3;
                }
                if a == t {
                    cost += 1.0;
                }
                out.push((v, cost));
            }
        }
    }
    out.sort_by(|x, y| x.1.total_cmp(&y.1));
    out.truncate(KEEP);
    out
}

/// Whether a harmony acts as a dominant (V or vii°, with or without seventh).
fn dominant(h: &Harmony) -> bool {
    matches!((h.root, h.quality), (7, Quality::Major) | (11, Quality::Diminished))
}

/// The cost of moving from voicing `u` (harmony `hu`, the soprano ending
/// the beat on `s_before`) to `v` (`hv`, the soprano starting on `s_after`).
fn move_cost(
    (u, hu, s_before): ([u8; 3], &Harmony, Option<u8>),
    (v, hv, s_after): ([u8; 3], &Harmony, Option<u8>),
    key: Tonality,
) -> f64 {
    let d = |i: usize| i32::from(v[i]) - i32::from(u[i]);
    let mut cost = 0.25 * f64::from(d(0).unsigned_abs() + d(1).unsigned_abs()) + 0.08 * f64::from(d(2).unsigned_abs());
    for i in 0..2 {
        if d(i).abs() > 7 {
            cost += 2.0;
        }
    }
    if d(2).abs() > 12 {
        cost += 2.0;
    }
    if d(2).abs() == 6 {
        cost += 1.0;
    }
    let before = [s_before, Some(u[0]), Some(u[1]), Some(u[2])];
    let after = [s_after, Some(v[0]), Some(v[1]), Some(v[2])];
    for i in 0..4 {
        for j in i + 1..4 {
            let (Some(a0), Some(b0), Some(a1), Some(b1)) = (before[i], before[j], after[i], after[j]) else {
                continue;
            };
            let (ma, mb) = (i32::from(a1) - i32::from(a0), i32::from(b1) - i32::from(b0));
            if ma == 0 || mb == 0 || ma.signum() != mb.signum() {
                continue;
            }
            let i0 = (i32::from(a0) - i32::from(b0)).abs() % 12;
            let i1 = (i32::from(a1) - i32::from(b1)).abs() % 12;
            if i0 == i1 && (i0 == 0 || i0 == 7) {
                cost += PARALLEL;
            } else if i == 0 && j == 3 && (i1 == 0 || i1 == 7) && ma.abs() > 2 {
                cost += 2.0;
            }
        }
    }
    if dominant(hu) && hv.mask() & 1 != 0 {
        for (i, &p) in u.iter().enumerate() {
            if pc_rel(p, key) == 11 && d(i) != 1 {
                cost += if i == 2 { 3.0 } else { 1.5 };
            }
        }
    }
    if let Some(s7) = hu.tone(Bass::Seventh) {
        for (i, &p) in u.iter().enumerate() {
            let stays = d(i) == 0 && hv.mask() & (1 << s7) != 0;
            if pc_rel(p, key) == s7 && !(d(i) == -1 || d(i) == -2 || stays) {
                cost += 3.0;
            }
        }
    }
    let overlaps = [v[0] < u[1], v[1] > u[0], v[1] < u[2], v[2] > u[1]];
    cost + 0.5 * overlaps.iter().filter(|&&o| o).count() as f64
}

/// Alto, tenor and bass for each beat (`None`: silent), the cheapest path
/// through the beats' voicings. `soprano` is the melody on 16ths;
/// `harmonies` has one entry per quarter beat (`None`: the lower voices
/// rest).
pub fn realize(
    soprano: &[Option<u8>],
    harmonies: &[Option<Harmony>],
    key: Tonality,
) -> Result<Vec<Option<[u8; 3]>>, TokenError> {
    let n = beats(soprano.len());
    if harmonies.len() != n {
        return Err(TokenError::Encode(format!(
            "the chord skeleton needs one harmony per beat: {} harmonies for {n} beats",
            harmonies.len()
        )));
    }
    let sop = |q: usize| {
        let range = &soprano[q * BEAT_STEPS..((q + 1) * BEAT_STEPS).min(soprano.len())];
        let sounding = range.iter().flatten();
        Soprano {
            first: range.first().copied().flatten(),
            last: range.last().copied().flatten(),
            low: sounding.clone().min().copied(),
            high: sounding.max().copied(),
        }
    };
    // Per beat: its voicings and their own cost. A silent beat (a rest, or
    // no voicing at all) carries the voicings of the beat before it
    // unchanged, so that the move from the last chord before a rest to the
    // first after it — consecutive sonorities to the ear — is priced too.
    let mut layers: Vec<Layer> = Vec::with_capacity(n);
    let mut silent = vec![false; n];
    // The harmony sounding at each beat (a silent beat: the one before).
    let mut sounding: Vec<Option<&Harmony>> = Vec::with_capacity(n);
    // The soprano's last pitch up to the end of each beat.
    let mut last_soprano: Vec<Option<u8>> = Vec::with_capacity(n);
    for (q, h) in harmonies.iter().enumerate() {
        let before = q.checked_sub(1).and_then(|p| last_soprano[p]);
        last_soprano.push(sop(q).last.or_else(|| {
            soprano[q * BEAT_STEPS..((q + 1) * BEAT_STEPS).min(soprano.len())]
                .iter()
                .rev()
                .flatten()
                .next()
                .copied()
                .or(before)
        }));
        let carry = |layers: &[Layer]| match layers.last() {
            Some(prev) => prev.iter().map(|&(v, _)| (v, 0.0)).collect(),
            None => vec![(None, 0.0)],
        };
        let Some(h) = h else {
            silent[q] = true;
            sounding.push(q.checked_sub(1).and_then(|p| sounding[p]));
            layers.push(carry(&layers));
            continue;
        };
        let s = sop(q);
        let relaxations = [
            Rules {
                spacing: true,
                below_soprano: true,
                complete: true,
            },
            Rules {
                spacing: false,
                below_soprano: true,
                complete: true,
            },
            Rules {
                spacing: false,
                below_soprano: true,
                complete: false,
            },
            Rules {
                spacing: false,
                below_soprano: false,
                complete: false,
            },
        ];
        let found = relaxations
            .iter()
            .map(|&r| candidates(h, s, key, r))
            .find(|c| !c.is_empty())
            .unwrap_or_default();
        if found.is_empty() {
            silent[q] = true;
            sounding.push(q.checked_sub(1).and_then(|p| sounding[p]));
            layers.push(carry(&layers));
        } else {
            sounding.push(Some(h));
            layers.push(found.into_iter().map(|(v, c)| (Some(v), c)).collect());
        }
    }
    // Viterbi: best[q][k] = the cheapest path ending in voicing k of beat q.
    let mut best: Vec<Vec<(f64, usize)>> = Vec::with_capacity(n);
    for q in 0..n {
        let layer = &layers[q];
        let row = if q == 0 {
            layer.iter().map(|&(_, c)| (c, 0)).collect()
        } else if silent[q] {
            // The carried voicings: each continues its own path.
            (0..layer.len()).map(|k| (best[q - 1][k].0, k)).collect()
        } else {
            let (prev, hu, hv) = (&layers[q - 1], sounding[q - 1], harmonies[q].as_ref());
            let (s_before, s_after) = (last_soprano[q - 1], sop(q).first);
            layer
                .iter()
                .map(|&(v, own)| {
                    let mut choice = (f64::INFINITY, 0);
                    for (j, &(u, _)) in prev.iter().enumerate() {
                        let step = match (u, hu, v, hv) {
                            (Some(u), Some(hu), Some(v), Some(hv)) => {
                                move_cost((u, hu, s_before), (v, hv, s_after), key)
                            }
                            _ => 0.0,
                        };
                        let total = best[q - 1][j].0 + step;
                        if total < choice.0 {
                            choice = (total, j);
                        }
                    }
                    (choice.0 + own, choice.1)
                })
                .collect()
        };
        best.push(row);
    }
    let mut out = vec![None; n];
    let Some(last) = best.last() else {
        return Ok(out);
    };
    let mut k = (0..last.len())
        .min_by(|&a, &b| last[a].0.total_cmp(&last[b].0))
        .unwrap_or(0);
    for q in (0..n).rev() {
        out[q] = layers[q][k].0.filter(|_| !silent[q]);
        k = best[q][k].1;
    }
    Ok(out)
}

/// The four-voice grid: the soprano of `melody` (voice 0, steps and onsets)
/// exactly as it is, alto, tenor and bass from [`realize`]. Voices 1..3 of
/// `melody` are overwritten.
pub fn harmonize(melody: &SatbGrid, harmonies: &[Option<Harmony>], key: Tonality) -> Result<SatbGrid, TokenError> {
    if melody.steps_per_quarter as usize != BEAT_STEPS {
        return Err(TokenError::Encode(format!(
            "the chord skeleton works on 16ths ({BEAT_STEPS} steps per quarter), not {}",
            melody.steps_per_quarter
        )));
    }
    let soprano: Vec<Option<u8>> = melody.steps.iter().map(|c| c[0]).collect();
    let voicing = realize(&soprano, harmonies, key)?;
    let mut out = melody.clone();
    for (t, (cell, onset)) in out.steps.iter_mut().zip(out.onsets.iter_mut()).enumerate() {
        let q = t / BEAT_STEPS;
        for v in 0..3 {
            let pitch = voicing[q].map(|x| x[v]);
            cell[v + 1] = pitch;
            let held = q > 0 && voicing[q - 1].map(|x| x[v]) == pitch && harmonies[q - 1] == harmonies[q];
            onset[v + 1] = pitch.is_some() && t % BEAT_STEPS == 0 && !held;
        }
    }
    out.validate()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harmonet::Seventh;

    const C_MAJOR: Tonality = Tonality { tonic: 0, minor: false };

    fn h(root: u8, quality: Quality, seventh: Seventh, bass: Bass) -> Option<Harmony> {
        Some(Harmony {
            root,
            quality,
            seventh,
            bass,
        })
    }

    /// A hand-written melody in C major (quarters, a half note at the
    /// phrase end, a 16th run on beat 5) with a plain harmonization.
    fn melody() -> (SatbGrid, Vec<Option<Harmony>>) {
        use Bass::{Root, Third};
        use Quality::{Major, Minor};
        const NO: Seventh = Seventh::None;
        let notes: [(&[u8], usize); 9] = [
            (&[72], 1),
            (&[71], 1),
            (&[72], 1),
            (&[74], 1),
            (&[76, 74, 72, 74], 1),
            (&[76], 1),
            (&[74], 1),
            (&[72], 2),
            (&[74], 1),
        ];
        let mut grid = SatbGrid::new(4);
        for (pitches, quarters) in notes {
            let each = BEAT_STEPS * quarters / pitches.len();
            for &p in pitches {
                for k in 0..each {
                    grid.push([Some(p), None, None, None], [k == 0, false, false, false], false);
                }
            }
        }
        let harmonies = vec![
            h(0, Major, NO, Root),
            h(7, Major, Seventh::Minor, Third),
            h(0, Major, NO, Root),
            h(5, Major, NO, Root),
            h(0, Major, NO, Third),
            h(9, Minor, NO, Root),
            h(7, Major, Seventh::Minor, Root),
            h(0, Major, NO, Root),
            h(0, Major, NO, Root),
            h(7, Major, NO, Root),
        ];
        (grid, harmonies)
    }

    #[test]
    fn the_soprano_is_kept_exactly_and_the_rules_hold() {
        let (grid, harmonies) = melody();
        let out = harmonize(&grid, &harmonies, C_MAJOR).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.len(), grid.len());
        for t in 0..grid.len() {
            assert_eq!(out.steps[t][0], grid.steps[t][0], "soprano pitch at {t}");
            assert_eq!(out.onsets[t][0], grid.onsets[t][0], "soprano onset at {t}");
        }
        for (t, cell) in out.steps.iter().enumerate() {
            let [Some(s), Some(a), Some(te), Some(b)] = *cell else {
                panic!("step {t} has a silent voice: {cell:?}");
            };
            // No crossings, ranges, spacing.
            assert!(s >= a && a >= te && te > b, "step {t}: {cell:?}");
            for (p, (lo, hi)) in [a, te, b].into_iter().zip(RANGES) {
                assert!((lo..=hi).contains(&p), "step {t}: {p} outside {lo}..={hi}");
            }
            assert!(a - te <= 12, "step {t}: {cell:?}");
            // Every voice on the beat is a chord tone of its harmony.
            if let Some(hq) = harmonies[t / BEAT_STEPS] {
                for p in [a, te, b] {
                    assert!(
                        hq.mask() & (1 << (p % 12)) != 0,
                        "step {t}: {p} not in {}",
                        hq.name(false)
                    );
                }
                assert_eq!(b % 12, hq.bass_pc(), "step {t}: the bass is not the harmony's bass");
            }
        }
        // No parallel fifths or octaves between any two voices, sonority to sonority.
        let sonorities: Vec<usize> = (0..out.len()).filter(|&t| out.onsets[t].contains(&true)).collect();
        for w in sonorities.windows(2) {
            let (x, y) = (out.steps[w[0]], out.steps[w[1]]);
            for i in 0..4 {
                for j in i + 1..4 {
                    let (Some(a0), Some(b0), Some(a1), Some(b1)) = (x[i], x[j], y[i], y[j]) else {
                        continue;
                    };
                    let (ma, mb) = (i32::from(a1) - i32::from(a0), i32::from(b1) - i32::from(b0));
                    let same = ma != 0 && mb != 0 && ma.signum() == mb.signum();
                    let (i0, i1) = (
                        (i32::from(a0) - i32::from(b0)) % 12,
                        (i32::from(a1) - i32::from(b1)) % 12,
                    );
                    assert!(
                        !(same && i0 == i1 && (i0 == 0 || i0 == 7)),
                        "parallel {} between voices {i} and {j} at step {}",
                        if i0 == 0 { "octaves" } else { "fifths" },
                        w[1]
                    );
                }
            }
        }
        // The leading tone of the D7 (beat 6) rises to the tonic or is in
        // the soprano; the seventh (F) falls.
        let (d7, tonic) = (out.steps[6 * BEAT_STEPS], out.steps[7 * BEAT_STEPS]);
        for v in 1..4 {
            let (Some(p), Some(next)) = (d7[v], tonic[v]) else {
                continue;
            };
            if p % 12 == 5 {
                assert!(next + 1 == p || next + 2 == p, "the seventh {p} goes to {next}");
            }
        }
    }

    #[test]
    fn held_harmonies_hold_and_rests_stay_silent() {
        let (mut grid, mut harmonies) = melody();
        // The half note's second beat repeats the harmony: the lower voices hold.
        let out = harmonize(&grid, &harmonies, C_MAJOR).unwrap_or_else(|e| panic!("{e}"));
        let second = 8 * BEAT_STEPS;
        for v in 1..4 {
            if out.steps[second][v] == out.steps[second - 1][v] {
                assert!(!out.onsets[second][v]);
            }
        }
        // A silent last beat: no harmony, no lower voices.
        for t in 9 * BEAT_STEPS..grid.len() {
            grid.steps[t][0] = None;
            grid.onsets[t][0] = false;
        }
        harmonies[9] = None;
        let out = harmonize(&grid, &harmonies, C_MAJOR).unwrap_or_else(|e| panic!("{e}"));
        assert!(out.steps[9 * BEAT_STEPS..]
            .iter()
            .all(|c| c.iter().all(Option::is_none)));
        // A harmony count that does not match the beats is an error.
        assert!(harmonize(&grid, &harmonies[..5], C_MAJOR).is_err());
    }

    #[test]
    fn a_rest_between_phrases_does_not_hide_parallels() {
        // A major, a silent beat, then C♯ minor in first inversion over a
        // held soprano C♯: tenor and bass must not both rise a third
        // from A–E to C♯–G♯ across the rest (the test chorale where this was found).
        let key = Tonality { tonic: 9, minor: false };
        let soprano: Vec<Option<u8>> = [Some(73); 8]
            .into_iter()
            .chain([None; 4])
            .chain([Some(73); 4])
            .collect();
        let harmonies = vec![
            Some(Harmony::triad(0, Quality::Major)),
            Some(Harmony::triad(0, Quality::Major)),
            None,
            Some(Harmony::triad(4, Quality::Minor)),
        ];
        let v = realize(&soprano, &harmonies, key).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v[2], None);
        let (Some(x), Some(y)) = (v[1], v[3]) else {
            panic!("{v:?}");
        };
        for i in 0..3 {
            for j in i + 1..3 {
                let (mi, mj) = (i32::from(y[i]) - i32::from(x[i]), i32::from(y[j]) - i32::from(x[j]));
                let (i0, i1) = ((x[i] - x[j]) % 12, (y[i] - y[j]) % 12);
                assert!(
                    !(mi != 0 && mj != 0 && mi.signum() == mj.signum() && i0 == i1 && (i0 == 0 || i0 == 7)),
                    "{x:?} → {y:?}"
                );
            }
        }
    }

    #[test]
    fn a_low_soprano_still_gets_three_voices() {
        // The soprano at G3: nothing fits below it with full spacing, so the
        // rules relax instead of failing.
        let mut grid = SatbGrid::new(4);
        for k in 0..8 {
            grid.push([Some(55), None, None, None], [k % 4 == 0, false, false, false], false);
        }
        let t = Some(Harmony::triad(0, Quality::Major));
        let out = harmonize(&grid, &[t, t], C_MAJOR).unwrap_or_else(|e| panic!("{e}"));
        assert!(out.steps.iter().all(|c| c.iter().all(Option::is_some)));
    }
}
