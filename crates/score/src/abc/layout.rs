//! From bars in written order to a score: the playing order (parts,
//! repeats, endings), the pickup, tie joining, the chord track and the
//! global maps. Knows nothing of ABC's characters.

use super::body::{Bar, Change, Pos, Warn, MAX_TIME, TPQ};
use super::fields::Chord;
use crate::score::*;
use crate::time::Tick;

/// The most bars a tune may play in all (repeats and parts expanded): a
/// guard against part orders like `(((A9)9)9)9` over a long part.
const MAX_PLAYED: usize = 100_000;

/// Velocity of every note: ABC has no dynamics we play (`!f!` and friends
/// are ignored), and 64 is what the MusicXML reader uses without dynamics.
const VELOCITY: u8 = 64;

/// The bars of one section (a part, or the whole tune) in playing order. A
/// `:|` goes back to the last `|:` — or, when there is none since the last
/// repeat or ending, to the last part label, or the section's start, or just
/// after the previous `:|` or the last ending — once; inside an ending
/// numbered up to n, until pass n + 1 (`[1,2 ... :| [3` plays three times).
/// An ending is played on the passes it numbers and skipped on the others.
fn section_order(bars: &[Bar], idx: &[usize]) -> Vec<usize> {
    let n = idx.len();
    let limit = n.saturating_mul(16).saturating_add(16);
    let mut order = Vec::with_capacity(n);
    let (mut i, mut start, mut pass, mut in_ending) = (0usize, 0usize, 1u32, false);
    // A `|:` was seen since the last repeat or ending was left.
    let mut open = false;
    while i < n && order.len() < limit {
        let b = &bars[idx[i]];
        match &b.ending {
            Some(nums) => {
                in_ending = true;
                if !nums.contains(&pass) {
                    i += 1;
                    continue;
                }
            }
            None if in_ending => {
                // Past the last ending: the repeated section is over.
                in_ending = false;
                pass = 1;
                start = i;
                open = false;
            }
            None => {}
        }
        if b.repeat_start {
            start = i;
            open = true;
        } else if b.section_start && !open {
            start = i;
        }
        order.push(idx[i]);
        if b.repeat_end {
            let passes = b
                .ending
                .as_ref()
                .and_then(|e| e.iter().max())
                .map_or(2, |m| m.saturating_add(1));
            if pass < passes {
                pass += 1;
                i = start;
                // Going back is not leaving the ending: the pass number stands.
                in_ending = false;
                continue;
            }
            if b.ending.is_none() {
                pass = 1;
                start = i + 1;
                open = false;
            }
        }
        i += 1;
    }
    order
}

/// The played bars: without a part order (or without `P:` labels in the
/// body) every bar in written order with repeats played out; with one, the
/// unlabelled bars before the first `P:` once, then each part of the order.
/// Each played bar comes with the part label it starts, if any.
fn playing_order<E>(
    bars: &[Bar],
    parts: Option<&[u8]>,
    expand: bool,
    at: Pos,
    warn: &mut Warn<E>,
) -> Result<Vec<(usize, Option<u8>)>, E> {
    let all: Vec<usize> = (0..bars.len()).collect();
    let seq = |idx: &[usize]| if expand { section_order(bars, idx) } else { idx.to_vec() };
    let mut out: Vec<(usize, Option<u8>)> = Vec::new();
    let labelled = bars.iter().any(|b| b.part.is_some());
    match parts {
        Some(order) if labelled && !order.is_empty() => {
            let intro: Vec<usize> = all.iter().copied().filter(|&i| bars[i].part.is_none()).collect();
            out.extend(seq(&intro).into_iter().map(|i| (i, None)));
            let mut missing: Vec<u8> = Vec::new();
            for &label in order {
                let idx: Vec<usize> = all.iter().copied().filter(|&i| bars[i].part == Some(label)).collect();
                if idx.is_empty() {
                    if !missing.contains(&label) {
                        missing.push(label);
                        warn(at, format!("part {} of the part order has no music", char::from(label)))?;
                    }
                    continue;
                }
                let played = seq(&idx);
                out.extend(played.iter().enumerate().map(|(k, &i)| (i, (k == 0).then_some(label))));
                if out.len() > MAX_PLAYED {
                    break;
                }
            }
            let mut unplayed: Vec<u8> = bars
                .iter()
                .filter_map(|b| b.part)
                .filter(|p| !order.contains(p))
                .collect();
            unplayed.dedup();
            for p in unplayed {
                warn(
                    at,
                    format!("part {} is not in the part order; not played", char::from(p)),
                )?;
            }
        }
        _ => {
            let mut last = None;
            for i in seq(&all) {
                let label = bars[i].part.filter(|p| Some(*p) != last);
                last = bars[i].part;
                out.push((i, label));
            }
        }
    }
    if out.len() > MAX_PLAYED {
        warn(at, format!("more than {MAX_PLAYED} bars to play; the rest is left out"))?;
        out.truncate(MAX_PLAYED);
    }
    Ok(out)
}

/// What the layout needs besides the bars.
pub(crate) struct Plan<'a> {
    pub bars: &'a [Bar],
    /// The part order (`P:` in the header, or `Y:`), expanded.
    pub parts: Option<&'a [u8]>,
    pub expand_repeats: bool,
    pub chord_track: bool,
    /// Where the tune starts, for warnings about the whole tune.
    pub at: Pos,
}

/// A note laid out in playing order, before ties are joined.
struct Laid {
    note: Note<Tick>,
    tie: bool,
    at: Pos,
}

/// Lay the bars out in playing order and build the score.
pub(crate) fn build<E>(plan: &Plan, warn: &mut Warn<E>) -> Result<Score<Tick>, E> {
    let bars = plan.bars;
    let order = playing_order(bars, plan.parts, plan.expand_repeats, plan.at, warn)?;
    let mut score = Score::<Tick>::new(TPQ as u16);
    // A pickup: a first bar shorter than its meter's bar ends on the first
    // bar line, so the music starts at (bar length - pickup length).
    let offset = order.first().map_or(0, |&(i, _)| {
        let b = &bars[i];
        let meter = b.changes.iter().rev().find_map(|(t, c)| match c {
            Change::Meter(Some((n, d))) if *t == 0 => Some((*n, *d)),
            _ => None,
        });
        match meter {
            Some((n, d)) => {
                let full = 4 * TPQ * i64::from(n) / i64::from(d.max(1));
                if b.length > 0 && b.length < full {
                    full - b.length
                } else {
                    0
                }
            }
            None => 0,
        }
    });
    let mut laid: Vec<Laid> = Vec::new();
    let mut chords: Vec<(i64, &Chord)> = Vec::new();
    let mut events: Vec<(i64, &Change)> = Vec::new();
    let mut t = offset;
    for (k, &(i, label)) in order.iter().enumerate() {
        let b = &bars[i];
        if let Some(l) = label {
            score.markers.push(Text {
                time: if k == 0 { 0 } else { t },
                text: char::from(l).to_string(),
            });
        }
        score.markers.extend(b.fermatas.iter().map(|&o| Text {
            time: t.saturating_add(o).min(MAX_TIME),
            text: crate::musicxml::FERMATA_MARKER.to_owned(),
        }));
        for n in &b.notes {
            laid.push(Laid {
                note: Note::new(t.saturating_add(n.onset).min(MAX_TIME), n.duration, n.pitch, VELOCITY),
                tie: n.tie,
                at: n.at,
            });
        }
        chords.extend(b.chords.iter().map(|(o, c)| (t.saturating_add(*o).min(MAX_TIME), c)));
        for (o, c) in &b.changes {
            let time = if k == 0 && *o == 0 {
                0
            } else {
                t.saturating_add(*o).min(MAX_TIME)
            };
            events.push((time, c));
        }
        t = t.saturating_add(b.length).min(MAX_TIME);
    }
    let mut melody = Track::new("Melody", 0, 0);
    melody.notes = join_ties(laid, warn)?;
    melody.notes.sort_by_key(|n| (n.time, n.pitch, n.duration));
    let end = melody.end().max(t);
    score.tracks.push(melody);
    global_maps(&mut score, events);
    if plan.chord_track && !chords.is_empty() {
        score.tracks.push(chord_track(chords, end));
    }
    Ok(score)
}

/// Tempo, time and key signatures: at one time the last change wins, and a
/// change that restates what is in force is dropped.
fn global_maps(score: &mut Score<Tick>, mut events: Vec<(i64, &Change)>) {
    events.sort_by_key(|e| e.0);
    let mut k = 0;
    while k < events.len() {
        let time = events[k].0;
        let mut j = k;
        let (mut key, mut meter, mut tempo) = (None, None, None);
        while j < events.len() && events[j].0 == time {
            match events[j].1 {
                Change::Key(x) => key = Some(x),
                Change::Meter(x) => meter = Some(x),
                Change::Tempo(x) => tempo = Some(x),
            }
            j += 1;
        }
        if let Some(q) = tempo {
            let tempo = Tempo::from_qpm(time, *q);
            if score.tempos.last().is_none_or(|l| l.mspq != tempo.mspq) {
                score.tempos.push(tempo);
            }
        }
        if let Some(Some((n, d))) = meter {
            // MIDI needs a power-of-two denominator and 8-bit numbers.
            if let (Ok(n), Ok(d)) = (u8::try_from(*n), u8::try_from(*d)) {
                if d.is_power_of_two()
                    && score
                        .time_signatures
                        .last()
                        .is_none_or(|l| (l.numerator, l.denominator) != (n, d))
                {
                    score.time_signatures.push(TimeSignature::new(time, n, d));
                }
            }
        }
        if let Some(key) = key {
            if let Some(f) = key.fifths {
                if score
                    .key_signatures
                    .last()
                    .is_none_or(|l| (l.key, l.minor) != (f, key.minor))
                {
                    score.key_signatures.push(KeySignature {
                        time,
                        key: f,
                        minor: key.minor,
                    });
                }
            }
        }
        k = j;
    }
}

/// Join ties in playing order: a tied note continues into the next note of
/// the same pitch that starts where it ends. A tie with no such note is
/// kept as it is, with a warning.
fn join_ties<E>(mut laid: Vec<Laid>, warn: &mut Warn<E>) -> Result<Vec<Note<Tick>>, E> {
    laid.sort_by_key(|l| l.note.time);
    let mut out: Vec<Note<Tick>> = Vec::with_capacity(laid.len());
    // Indices into `out` of tied notes waiting for their continuation, with
    // the place of the tie.
    let mut open: Vec<(usize, Pos)> = Vec::new();
    for l in laid {
        let note = l.note;
        // Ties whose note ended before this onset found nothing.
        let mut k = 0;
        while k < open.len() {
            let o = &out[open[k].0];
            if o.end() < note.time {
                let (o, at) = open.swap_remove(k);
                warn(
                    at,
                    format!(
                        "tie from pitch {} has no following note of that pitch; not joined",
                        out[o].pitch
                    ),
                )?;
            } else {
                k += 1;
            }
        }
        if let Some(k) = open
            .iter()
            .position(|&(o, _)| out[o].pitch == note.pitch && out[o].end() == note.time)
        {
            let o = open[k].0;
            out[o].duration = out[o].duration.saturating_add(note.duration).min(MAX_TIME);
            if l.tie {
                open[k].1 = l.at;
            } else {
                open.swap_remove(k);
            }
            continue;
        }
        out.push(note);
        if l.tie {
            open.push((out.len() - 1, l.at));
        }
    }
    for (o, at) in open {
        warn(
            at,
            format!(
                "tie from pitch {} has no following note of that pitch; not joined",
                out[o].pitch
            ),
        )?;
    }
    Ok(out)
}

/// The `Chords` track: each symbol sounds from its place until the next
/// symbol (the last one until the end of the music) — root from C3 (MIDI
/// 48–59) with its chord tones stacked above, a slash chord's bass in the
/// octave below (36–47), the rule of the MusicXML reader — and its text is a
/// lyric of the track.
fn chord_track(mut chords: Vec<(i64, &Chord)>, end: i64) -> Track<Tick> {
    chords.sort_by_key(|c| c.0);
    // Two symbols at one time: the later one (in the text) wins.
    chords.reverse();
    chords.dedup_by_key(|c| c.0);
    chords.reverse();
    let mut track = Track::new("Chords", 0, 1);
    for (k, (t, c)) in chords.iter().enumerate() {
        let until = chords.get(k + 1).map_or(end.max(*t), |n| n.0);
        track.lyrics.push(Text {
            time: *t,
            text: c.label.clone(),
        });
        if until <= *t {
            continue;
        }
        for iv in c.intervals {
            track.notes.push(Note::new(*t, until - t, 48 + c.root + iv, VELOCITY));
        }
        if let Some(b) = c.bass {
            track.notes.push(Note::new(*t, until - t, 36 + b, VELOCITY));
        }
    }
    track.notes.sort_by_key(|n| (n.time, n.pitch));
    track
}
