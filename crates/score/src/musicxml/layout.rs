//! From collected measures to a score: the playing order (repeats and
//! voltas), measure placement, tie joining, lyric verses, the chord track and
//! the global maps. Knows nothing of XML.

use super::read::ReadOptions;
use crate::error::Result;
use crate::score::*;
use crate::time::Tick;

/// A note as written, at ticks from its measure's start.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawNote {
    pub onset: i64,
    pub duration: i64,
    pub pitch: u8,
    pub velocity: u8,
    pub tie_start: bool,
    pub tie_stop: bool,
    pub unpitched: bool,
    /// Byte offset of the `<note>` in the XML text, for warnings.
    pub at: usize,
    /// (verse number, text) of each `<lyric>`.
    pub lyrics: Vec<(u32, String)>,
}

/// A chord symbol.
#[derive(Clone, Debug, Default)]
pub(crate) struct Harmony {
    /// Root pitch class.
    pub root: u8,
    /// The MusicXML `<kind>` value (`major`, `minor-seventh`, ...).
    pub kind: String,
    /// Bass pitch class of a slash chord.
    pub bass: Option<u8>,
    /// The symbol as text (`C`, `Bbm7`...).
    pub label: String,
}

/// One measure of one part, times in ticks from the measure's start.
#[derive(Clone, Debug, Default)]
pub(crate) struct MeasureData {
    pub number: String,
    /// The furthest the cursor went (after every `<backup>`/`<forward>`).
    pub length: i64,
    pub notes: Vec<RawNote>,
    pub tempos: Vec<(i64, f64)>,
    pub times: Vec<(i64, u8, u8)>,
    pub keys: Vec<(i64, i8, bool)>,
    pub harmonies: Vec<(i64, Harmony)>,
    /// Onsets of the notes and rests that carry a `<fermata>`.
    pub fermatas: Vec<i64>,
    /// A `<barline location="left">` holds a `<fermata>`.
    pub fermata_at_start: bool,
    /// A right-hand `<barline>` holds a `<fermata>`.
    pub fermata_at_end: bool,
    pub forward_repeat: bool,
    pub backward_repeat: Option<u32>,
    /// The ending (volta) numbers that start at this measure.
    pub ending_start: Option<Vec<u32>>,
    /// An ending stops (or is discontinued) at this measure.
    pub ending_stop: bool,
}

/// One part, as collected.
#[derive(Clone, Debug, Default)]
pub(crate) struct PartData {
    /// The part in words for warnings: `P1 (Soprano)`.
    pub label: String,
    pub name: String,
    pub program: Option<u8>,
    pub channel: Option<u8>,
    pub is_drum: bool,
    pub measures: Vec<MeasureData>,
}

/// The playing order of `n` measures given their repeat barlines: a backward
/// repeat jumps to the last forward repeat (or the start, or just after the
/// previous backward repeat) until it has been played `times` times; a volta
/// is played on the passes its numbers name. D.C./D.S./coda/fine are not
/// followed. The order is capped at 16 × n measures (a guard against
/// malformed nesting).
pub(crate) fn playing_order(measures: &[MeasureData]) -> Vec<usize> {
    let n = measures.len();
    let mut endings: Vec<Option<Vec<u32>>> = vec![None; n];
    let mut current: Option<Vec<u32>> = None;
    for (i, m) in measures.iter().enumerate() {
        if let Some(nums) = &m.ending_start {
            current = Some(nums.clone());
        }
        endings[i] = current.clone();
        if m.ending_stop {
            current = None;
        }
    }
    let limit = n.saturating_mul(16).saturating_add(16);
    let mut order = Vec::with_capacity(n);
    let (mut i, mut start, mut pass, mut in_ending) = (0usize, 0usize, 1u32, false);
    let mut taken = vec![0u32; n];
    while i < n && order.len() < limit {
        let m = &measures[i];
        if m.forward_repeat {
            start = i;
        }
        match &endings[i] {
            Some(nums) => {
                in_ending = true;
                if !nums.is_empty() && !nums.contains(&pass) {
                    i += 1;
                    continue;
                }
            }
            None if in_ending => {
                in_ending = false;
                pass = 1;
            }
            None => {}
        }
        order.push(i);
        if let Some(times) = m.backward_repeat {
            if taken[i] + 1 < times {
                taken[i] += 1;
                pass += 1;
                i = start;
                // Going back is not leaving the volta: the pass number stands.
                in_ending = false;
                continue;
            }
            taken[i] = 0;
            if endings[i].is_none() {
                pass = 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    order
}

/// Pitch classes above the root of a MusicXML chord `<kind>`.
fn kind_intervals(kind: &str) -> &'static [u8] {
    match kind {
        "major" | "" => &[0, 4, 7],
        "minor" => &[0, 3, 7],
        "augmented" => &[0, 4, 8],
        "diminished" => &[0, 3, 6],
        "dominant" => &[0, 4, 7, 10],
        "major-seventh" => &[0, 4, 7, 11],
        "minor-seventh" => &[0, 3, 7, 10],
        "diminished-seventh" => &[0, 3, 6, 9],
        "augmented-seventh" => &[0, 4, 8, 10],
        "half-diminished" => &[0, 3, 6, 10],
        "major-minor" => &[0, 3, 7, 11],
        "major-sixth" => &[0, 4, 7, 9],
        "minor-sixth" => &[0, 3, 7, 9],
        "dominant-ninth" => &[0, 4, 7, 10, 14],
        "major-ninth" => &[0, 4, 7, 11, 14],
        "minor-ninth" => &[0, 3, 7, 10, 14],
        "dominant-11th" => &[0, 4, 7, 10, 14, 17],
        "major-11th" => &[0, 4, 7, 11, 14, 17],
        "minor-11th" => &[0, 3, 7, 10, 14, 17],
        "dominant-13th" => &[0, 4, 7, 10, 14, 21],
        "major-13th" => &[0, 4, 7, 11, 14, 21],
        "minor-13th" => &[0, 3, 7, 10, 14, 21],
        "suspended-second" => &[0, 2, 7],
        "suspended-fourth" => &[0, 5, 7],
        "power" => &[0, 7],
        "pedal" => &[0],
        _ => &[],
    }
}

/// The chord track: each symbol sounds (root from C3, bass an octave lower)
/// until the next symbol, the last one until the end of the music.
fn chord_track(mut chords: Vec<(i64, Harmony)>, end: i64) -> Track<Tick> {
    chords.sort_by_key(|c| c.0);
    chords.dedup_by(|b, a| a.0 == b.0);
    let mut track = Track::new("Chords", 0, 0);
    for (k, (t, h)) in chords.iter().enumerate() {
        let until = chords.get(k + 1).map_or(end.max(*t), |n| n.0);
        track.lyrics.push(Text {
            time: *t,
            text: h.label.clone(),
        });
        if until <= *t {
            continue;
        }
        let base = 48 + h.root;
        for iv in kind_intervals(&h.kind) {
            track.notes.push(Note::new(*t, until - t, base + iv, 64));
        }
        if let Some(b) = h.bass {
            track.notes.push(Note::new(*t, until - t, 36 + b, 64));
        }
    }
    sort_notation_order(&mut track);
    track
}

/// Notation has no note-on order: simultaneous notes of a MusicXML part are
/// ordered by pitch (then duration, velocity), every other list by time.
fn sort_notation_order(track: &mut Track<Tick>) {
    track.sort_inplace();
    track.notes.sort_by_key(|n| (n.time, n.pitch, n.duration, n.velocity));
}

/// Times are capped here (2^52 ticks), far inside `i64`, so that malformed
/// input (huge durations, runaway repeats) cannot overflow a sum.
const MAX_TIME: i64 = 1 << 52;

/// Report a warning: part index, byte offset, message.
type Warn<'w> = dyn FnMut(Option<usize>, usize, String) -> Result<()> + 'w;

/// A note laid out in playing order, with what tie joining and its warnings need.
struct Laid<'m> {
    note: Note<Tick>,
    tie_start: bool,
    tie_stop: bool,
    measure: &'m str,
    at: usize,
}

/// Lay out every part along the playing order of the first part's barlines
/// and build the score.
pub(crate) fn build(parts: Vec<PartData>, tpq: u16, opts: &ReadOptions, warn: &mut Warn) -> Result<Score<Tick>> {
    let mut score = Score::<Tick>::new(tpq);
    let n = parts.iter().map(|p| p.measures.len()).max().unwrap_or(0);
    let order: Vec<usize> = match parts.first() {
        Some(p) if opts.expand_repeats => {
            let mut o = playing_order(&p.measures);
            // Measures that only later parts have are played once, at the end.
            o.extend(p.measures.len()..n);
            o
        }
        _ => (0..n).collect(),
    };
    // A measure lasts as long as its longest part, so parts stay aligned.
    let lengths: Vec<i64> = (0..n)
        .map(|i| {
            parts
                .iter()
                .filter_map(|p| p.measures.get(i))
                .map(|m| m.length)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut starts = Vec::with_capacity(order.len());
    let mut t = 0i64;
    for &i in &order {
        starts.push(t);
        t = t.saturating_add(lengths[i]).min(MAX_TIME);
    }
    let mut tempos: Vec<(i64, f64)> = Vec::new();
    let mut times: Vec<(i64, u8, u8)> = Vec::new();
    let mut keys: Vec<(i64, i8, bool)> = Vec::new();
    let mut harmonies: Vec<(i64, Harmony)> = Vec::new();
    let mut fermatas: Vec<i64> = Vec::new();
    let mut next_channel = 0u8;
    for (pi, p) in parts.iter().enumerate() {
        let channel = match p.channel {
            Some(c) => c,
            None if p.is_drum => 9,
            None => {
                if next_channel == 9 {
                    next_channel += 1;
                }
                let c = next_channel % 16;
                next_channel = next_channel.wrapping_add(1);
                c
            }
        };
        let mut track = Track::new(p.name.clone(), p.program.unwrap_or(0), channel);
        track.is_drum = p.is_drum || channel == 9;
        let mut plays = vec![0u32; p.measures.len()];
        // Notes in playing order, with their tie flags, before joining.
        let mut laid: Vec<Laid> = Vec::new();
        for (&i, &start) in order.iter().zip(&starts) {
            let Some(m) = p.measures.get(i) else { continue };
            plays[i] += 1;
            let verse = plays[i];
            for r in &m.notes {
                let time = start.saturating_add(r.onset).min(MAX_TIME);
                laid.push(Laid {
                    note: Note::new(time, r.duration, r.pitch, r.velocity),
                    tie_start: r.tie_start,
                    tie_stop: r.tie_stop,
                    measure: &m.number,
                    at: r.at,
                });
                let lyric = r
                    .lyrics
                    .iter()
                    .find(|l| l.0 == verse)
                    .or_else(|| r.lyrics.iter().find(|l| l.0 == 1))
                    .or_else(|| r.lyrics.first());
                if let Some((_, text)) = lyric {
                    track.lyrics.push(Text {
                        time,
                        text: text.clone(),
                    });
                }
            }
            let at = |t: i64| start.saturating_add(t).clamp(0, MAX_TIME);
            tempos.extend(m.tempos.iter().map(|&(t, q)| (at(t), q)));
            times.extend(m.times.iter().map(|&(t, a, b)| (at(t), a, b)));
            keys.extend(m.keys.iter().map(|&(t, k, mi)| (at(t), k, mi)));
            harmonies.extend(m.harmonies.iter().map(|(t, h)| (at(*t), h.clone())));
            fermatas.extend(m.fermatas.iter().map(|&t| at(t)));
            if m.fermata_at_start {
                fermatas.push(at(0));
            }
            if m.fermata_at_end {
                fermatas.push(at(lengths[i]));
            }
        }
        track.notes = join_ties(laid, pi, &p.label, warn)?;
        sort_notation_order(&mut track);
        score.tracks.push(track);
    }
    // Global maps: the first event at a time wins; an event that repeats the
    // one in force (a part restating the key, a repeat pass) is dropped.
    tempos.sort_by_key(|e| e.0);
    tempos.dedup_by_key(|e| e.0);
    for (t, q) in tempos {
        let tempo = Tempo::from_qpm(t, q);
        if score.tempos.last().is_none_or(|l| l.mspq != tempo.mspq) {
            score.tempos.push(tempo);
        }
    }
    times.sort_by_key(|e| e.0);
    times.dedup_by_key(|e| e.0);
    for (t, a, b) in times {
        if score
            .time_signatures
            .last()
            .is_none_or(|l| (l.numerator, l.denominator) != (a, b))
        {
            score.time_signatures.push(TimeSignature::new(t, a, b));
        }
    }
    keys.sort_by_key(|e| e.0);
    keys.dedup_by_key(|e| e.0);
    for (t, k, minor) in keys {
        if score
            .key_signatures
            .last()
            .is_none_or(|l| (l.key, l.minor) != (k, minor))
        {
            score.key_signatures.push(KeySignature { time: t, key: k, minor });
        }
    }
    // Fermatas: one marker per distinct time, whichever parts hold one.
    fermatas.sort_unstable();
    fermatas.dedup();
    score.markers.extend(fermatas.into_iter().map(|time| Text {
        time,
        text: super::FERMATA_MARKER.to_owned(),
    }));
    if opts.chord_track && !harmonies.is_empty() {
        let end = score.end().max(t);
        let mut track = chord_track(harmonies, end);
        let used: Vec<u8> = score.tracks.iter().map(|t| t.channel).collect();
        track.channel = (0..16u8).find(|c| *c != 9 && !used.contains(c)).unwrap_or(0);
        score.tracks.push(track);
    }
    Ok(score)
}

/// Join tied notes: a note continues the sounding note of the same pitch
/// that ends exactly at its onset and started a tie (any voice of the part),
/// whether or not it carries the matching tie stop (editions often leave the
/// stop out where a tie runs into a second ending, and music21 joins those
/// too). A tie stop with nothing to continue starts a new note, with a
/// warning.
fn join_ties(mut laid: Vec<Laid>, part: usize, label: &str, warn: &mut Warn) -> Result<Vec<Note<Tick>>> {
    // Stable: notes at one onset keep their document order.
    laid.sort_by_key(|l| l.note.time);
    let mut out: Vec<Note<Tick>> = Vec::with_capacity(laid.len());
    // Indices into `out` of notes whose tie started and is not yet continued.
    let mut open: Vec<usize> = Vec::new();
    for l in laid {
        let note = l.note;
        if let Some(k) = open
            .iter()
            .position(|&o| out[o].pitch == note.pitch && out[o].end() == note.time)
        {
            let o = open[k];
            out[o].duration = out[o].duration.saturating_add(note.duration).min(MAX_TIME);
            if !l.tie_start {
                open.swap_remove(k);
            }
            continue;
        }
        if l.tie_stop {
            warn(
                Some(part),
                l.at,
                format!(
                    "part {label}, measure {}, <note>: tie into pitch {} (tick {}) has no tied note of that pitch \
                     ending there; kept as a new note",
                    l.measure, note.pitch, note.time
                ),
            )?;
        }
        out.push(note);
        if l.tie_start {
            open.push(out.len() - 1);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(fwd: bool, back: Option<u32>, ending: Option<Vec<u32>>, stop: bool) -> MeasureData {
        MeasureData {
            forward_repeat: fwd,
            backward_repeat: back,
            ending_start: ending,
            ending_stop: stop,
            ..MeasureData::default()
        }
    }

    #[test]
    fn plain_repeat_goes_back_to_the_start() {
        let ms = vec![
            m(false, None, None, false),
            m(false, Some(2), None, false),
            m(false, None, None, false),
        ];
        assert_eq!(playing_order(&ms), vec![0, 1, 0, 1, 2]);
    }

    #[test]
    fn voltas_take_their_pass() {
        // |: 0 1 |1. 2 :|2. 3 | 4
        let ms = vec![
            m(true, None, None, false),
            m(false, None, None, false),
            m(false, Some(2), Some(vec![1]), true),
            m(false, None, Some(vec![2]), true),
            m(false, None, None, false),
        ];
        assert_eq!(playing_order(&ms), vec![0, 1, 2, 0, 1, 3, 4]);
    }

    #[test]
    fn three_passes_with_shared_volta() {
        // 0 |: 1 |1.,2. 2 :| 3. 3 | 4  (times=3)
        let ms = vec![
            m(false, None, None, false),
            m(true, None, None, false),
            m(false, Some(3), Some(vec![1, 2]), true),
            m(false, None, Some(vec![3]), true),
            m(false, None, None, false),
        ];
        assert_eq!(playing_order(&ms), vec![0, 1, 2, 1, 2, 1, 3, 4]);
    }

    #[test]
    fn second_repeat_starts_after_the_first() {
        // 0 1 :| 2 3 :|
        let ms = vec![
            m(false, None, None, false),
            m(false, Some(2), None, false),
            m(false, None, None, false),
            m(false, Some(2), None, false),
        ];
        assert_eq!(playing_order(&ms), vec![0, 1, 0, 1, 2, 3, 2, 3]);
    }

    #[test]
    fn ties_join_only_adjacent_notes_of_the_same_pitch() {
        let mut warns = Vec::new();
        let l = |note, tie_start, tie_stop| Laid {
            note,
            tie_start,
            tie_stop,
            measure: "1",
            at: 0,
        };
        let laid = vec![
            l(Note::new(0, 10, 60, 64), true, false),
            l(Note::new(0, 10, 64, 64), false, false),
            l(Note::new(10, 5, 60, 64), true, true),
            l(Note::new(15, 5, 60, 64), false, true),
            l(Note::new(30, 5, 62, 64), false, true),
            // A tie start with no stop still continues into the next note.
            l(Note::new(40, 5, 65, 64), true, false),
            l(Note::new(45, 5, 65, 64), false, false),
        ];
        let out = join_ties(laid, 0, "P1", &mut |_, _, w| {
            warns.push(w);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            out,
            vec![
                Note::new(0, 20, 60, 64),
                Note::new(0, 10, 64, 64),
                Note::new(30, 5, 62, 64),
                Note::new(40, 10, 65, 64)
            ]
        );
        assert_eq!(warns.len(), 1);
    }
}
