//! MusicXML writing: enough notation for a generated score to open, look
//! plausible and play back right in MuseScore (or any MusicXML reader).
//!
//! - One `<part>` per track (an empty score gets one empty part), with its
//!   name, MIDI channel and program; drum tracks get a percussion clef and
//!   one `<score-instrument>` per drum key, so each note's GM key survives.
//! - Times are snapped to a grid of `divisions` per quarter note (onsets and
//!   ends round to the nearest grid point; a note never shrinks below one
//!   grid step). Choose a grid that holds the music's rhythms to get it back
//!   exactly (12 holds sixteenths and eighth-note triplets).
//! - Measures follow the time signatures (4/4 when there is none); a
//!   signature that falls inside a bar ends that bar early. Key signatures
//!   are written at the start of the bar they fall in.
//! - A track's notes are grouped into chords (same onset and end) and the
//!   chords into as few voices as keep each voice a sequence; each voice is
//!   written bar by bar, with rests (voice 1) or `<forward>` (other voices)
//!   in the gaps. A chord crossing a barline, or lasting longer than a
//!   notated value (plain, dotted or triplet), is split into tied notes,
//!   longest value first; a remainder that no value fits (e.g. 5/12 of a
//!   quarter on a grid of 12) is written as one note without a `<type>`,
//!   which MusicXML allows and readers time by its `<duration>`.
//!   Spelling follows the key: sharps in sharp keys and C, flats otherwise.
//! - Tempo changes are written in the first part as metronome marks with
//!   `<sound tempo>` (exact to the microsecond per quarter), velocities as
//!   the notes' `dynamics`, lyrics on the note that starts at their time
//!   (lyrics at no onset are dropped).
//! - A marker whose text is `fermata` ([`FERMATA_MARKER`](super::FERMATA_MARKER))
//!   becomes `<fermata type="upright"/>` in the `<notations>` of every note
//!   and voice-1 rest, in every part, that starts at its time (the pieces of
//!   a tied note count); one at a time where nothing starts is dropped.
//!   Other markers are not written.

use crate::error::{Result, ScoreError};
use crate::io::write_atomic;
use crate::score::*;
use crate::time::Tick;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// How to write.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// The grid, in divisions per quarter note (1..=65535; default 12). The
    /// score's own `ticks_per_quarter` loses nothing.
    pub divisions: u32,
    /// Replace an existing file.
    pub overwrite: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            divisions: 12,
            overwrite: false,
        }
    }
}

fn bad(what: impl Into<String>, message: impl Into<String>) -> ScoreError {
    ScoreError::Unwritable {
        what: what.into(),
        message: message.into(),
    }
}

/// Write a score to a MusicXML file, atomically; `.mxl` paths get the
/// compressed container. Refuses to replace a file unless `opts.overwrite`.
pub fn write_musicxml_file(score: &Score<Tick>, path: impl AsRef<Path>, opts: &WriteOptions) -> Result<()> {
    let path = path.as_ref();
    let mxl = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("mxl"));
    let bytes = if mxl {
        write_mxl(score, opts)?
    } else {
        write_musicxml(score, opts)?.into_bytes()
    };
    write_atomic(path, &bytes, opts.overwrite)
}

/// A compressed `.mxl` archive: `mimetype`, `META-INF/container.xml` and the
/// score as `score.musicxml`.
pub fn write_mxl(score: &Score<Tick>, opts: &WriteOptions) -> Result<Vec<u8>> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let xml = write_musicxml(score, opts)?;
    let container = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<container>\n  <rootfiles>\n    <rootfile \
                     full-path=\"score.musicxml\" media-type=\"application/vnd.recordare.musicxml+xml\"/>\n  \
                     </rootfiles>\n</container>\n";
    let zerr = |e: &dyn std::fmt::Display| bad("the .mxl archive", e.to_string());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let entries = [
        ("mimetype", "application/vnd.recordare.musicxml", stored),
        ("META-INF/container.xml", container, deflated),
        ("score.musicxml", xml.as_str(), deflated),
    ];
    for (name, text, o) in entries {
        zip.start_file(name, o).map_err(|e| zerr(&e))?;
        zip.write_all(text.as_bytes()).map_err(|e| zerr(&e))?;
    }
    let cursor = zip.finish().map_err(|e| zerr(&e))?;
    Ok(cursor.into_inner())
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\r' => o.push_str("&#13;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => o.push(c),
        }
    }
    o
}

/// A notated value: length in grid units, type name, dots, triplet.
#[derive(Clone, Copy)]
struct Value {
    len: i64,
    name: &'static str,
    dots: u8,
    triplet: bool,
}

const TYPES: [(&str, u32); 7] = [
    ("whole", 4096),
    ("half", 2048),
    ("quarter", 1024),
    ("eighth", 512),
    ("16th", 256),
    ("32nd", 128),
    ("64th", 64),
];

/// Every plain, dotted and triplet value that is a whole number of grid units,
/// longest first.
fn values(g: u32) -> Vec<Value> {
    let mut v = Vec::new();
    for (name, q1024) in TYPES {
        let base = u64::from(q1024) * u64::from(g);
        for (num, den, dots, triplet) in [(3u64, 2u64, 1u8, false), (1, 1, 0, false), (2, 3, 0, true)] {
            let x = base * num;
            let d = 1024 * den;
            if x % d == 0 {
                v.push(Value {
                    len: (x / d) as i64,
                    name,
                    dots,
                    triplet,
                });
            }
        }
    }
    v.sort_by_key(|b| std::cmp::Reverse(b.len));
    v
}

/// Split a length into notated values (greedy, longest first); a remainder no
/// value fits is written without a type.
fn split(mut len: i64, vals: &[Value]) -> Vec<Option<Value>> {
    let mut out = Vec::new();
    while len > 0 {
        match vals.iter().find(|v| v.len <= len) {
            Some(v) => {
                out.push(Some(*v));
                len -= v.len;
            }
            None => {
                out.push(None);
                break;
            }
        }
    }
    out
}

const SHARP_NAMES: [(&str, i8); 12] = [
    ("C", 0),
    ("C", 1),
    ("D", 0),
    ("D", 1),
    ("E", 0),
    ("F", 0),
    ("F", 1),
    ("G", 0),
    ("G", 1),
    ("A", 0),
    ("A", 1),
    ("B", 0),
];
const FLAT_NAMES: [(&str, i8); 12] = [
    ("C", 0),
    ("D", -1),
    ("D", 0),
    ("E", -1),
    ("E", 0),
    ("F", 0),
    ("G", -1),
    ("G", 0),
    ("A", -1),
    ("A", 0),
    ("B", -1),
    ("B", 0),
];

/// A chord: notes sharing onset and end (grid units).
struct Chord {
    on: i64,
    off: i64,
    /// (pitch, velocity)
    notes: Vec<(u8, u8)>,
}

/// Bars as (start, end, time signature to announce, key to announce).
struct Bar {
    start: i64,
    end: i64,
    time: Option<(u8, u8)>,
    key: Option<(i8, bool)>,
    tempos: Vec<(i64, u32)>,
}

/// The score as MusicXML text (partwise, version 4.0).
pub fn write_musicxml(score: &Score<Tick>, opts: &WriteOptions) -> Result<String> {
    let g = opts.divisions;
    if !(1..=65535).contains(&g) {
        return Err(bad("MusicXML divisions", format!("{g} is not in 1..=65535")));
    }
    let tpq = i64::from(score.ticks_per_quarter.max(1));
    let unit = |t: i64| -> i64 { ((t as i128 * i128::from(g) * 2 + i128::from(tpq)) / (2 * i128::from(tpq))) as i64 };
    if score.start() < 0 {
        return Err(bad("the score", "it has events before time zero"));
    }
    // Notes in grid units, per track.
    let mut end = 0i64;
    let mut tracks_chords: Vec<Vec<Vec<Chord>>> = Vec::new();
    for tr in &score.tracks {
        let mut by: BTreeMap<(i64, i64), Vec<(u8, u8)>> = BTreeMap::new();
        for n in &tr.notes {
            let on = unit(n.time);
            let off = unit(n.end()).max(on + 1);
            end = end.max(off);
            let c = by.entry((on, off)).or_default();
            if !c.iter().any(|x| x.0 == n.pitch) {
                c.push((n.pitch.min(127), n.velocity.clamp(1, 127)));
            }
        }
        let mut voices: Vec<Vec<Chord>> = Vec::new();
        for ((on, off), mut notes) in by {
            notes.sort_unstable();
            let chord = Chord { on, off, notes };
            match voices.iter_mut().find(|v| v.last().is_none_or(|c| c.off <= on)) {
                Some(v) => v.push(chord),
                None => voices.push(vec![chord]),
            }
        }
        tracks_chords.push(voices);
    }
    let bars = bars(score, g, end, &unit)?;
    // Fermata markers, in grid units: written on every note and rest that
    // starts there.
    let fermatas: BTreeSet<i64> = score
        .markers
        .iter()
        .filter(|m| m.text == super::FERMATA_MARKER)
        .map(|m| unit(m.time))
        .collect();
    let vals = values(g);
    let mut x = String::with_capacity(64 * score.note_count() + 4096);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
    x.push_str(
        "<!DOCTYPE score-partwise PUBLIC \"-//Recordare//DTD MusicXML 4.0 Partwise//EN\" \
         \"http://www.musicxml.org/dtds/partwise.dtd\">\n",
    );
    x.push_str("<score-partwise version=\"4.0\">\n  <identification>\n    <encoding>\n");
    x.push_str("      <software>fugue</software>\n    </encoding>\n  </identification>\n  <part-list>\n");
    let empty = Track::<Tick>::new("Music", 0, 0);
    let tracks: Vec<&Track<Tick>> = if score.tracks.is_empty() {
        tracks_chords.push(Vec::new());
        vec![&empty]
    } else {
        score.tracks.iter().collect()
    };
    for (i, tr) in tracks.iter().enumerate() {
        let id = format!("P{}", i + 1);
        let _ = writeln!(
            x,
            "    <score-part id=\"{id}\">\n      <part-name>{}</part-name>",
            esc(&tr.name)
        );
        if tr.is_drum {
            let keys = drum_keys(tr);
            for k in &keys {
                let _ = writeln!(
                    x,
                    "      <score-instrument id=\"{id}-I{k}\"><instrument-name>drum {k}</instrument-name></score-instrument>"
                );
            }
            for k in &keys {
                let _ = writeln!(
                    x,
                    "      <midi-instrument id=\"{id}-I{k}\"><midi-channel>10</midi-channel><midi-unpitched>{}</midi-unpitched></midi-instrument>",
                    k + 1
                );
            }
        } else {
            let _ = writeln!(
                x,
                "      <score-instrument id=\"{id}-I1\"><instrument-name>{}</instrument-name></score-instrument>",
                esc(&tr.name)
            );
            let _ = writeln!(
                x,
                "      <midi-instrument id=\"{id}-I1\"><midi-channel>{}</midi-channel><midi-program>{}</midi-program></midi-instrument>",
                tr.channel.min(15) + 1,
                tr.program.min(127) + 1
            );
        }
        x.push_str("    </score-part>\n");
    }
    x.push_str("  </part-list>\n");
    for (i, (tr, voices)) in tracks.iter().zip(&tracks_chords).enumerate() {
        let id = format!("P{}", i + 1);
        let lyrics: BTreeMap<i64, &str> = tr
            .lyrics
            .iter()
            .rev()
            .map(|l| (unit(l.time), l.text.as_str()))
            .collect();
        let clef = if tr.is_drum {
            "<clef><sign>percussion</sign></clef>"
        } else {
            let mut p: Vec<u8> = tr.notes.iter().map(|n| n.pitch).collect();
            p.sort_unstable();
            if p.get(p.len() / 2).is_some_and(|&m| m < 60) {
                "<clef><sign>F</sign><line>4</line></clef>"
            } else {
                "<clef><sign>G</sign><line>2</line></clef>"
            }
        };
        let _ = writeln!(x, "  <part id=\"{id}\">");
        let mut next = vec![0usize; voices.len()];
        let mut key = 0i8;
        let mut used_lyrics = BTreeSet::new();
        for (bi, bar) in bars.iter().enumerate() {
            let _ = writeln!(x, "    <measure number=\"{}\">", bi + 1);
            if bi == 0 || bar.time.is_some() || bar.key.is_some() {
                x.push_str("      <attributes>\n");
                if bi == 0 {
                    let _ = writeln!(x, "        <divisions>{g}</divisions>");
                }
                if let Some((k, minor)) = bar.key {
                    key = k;
                    let _ = writeln!(
                        x,
                        "        <key><fifths>{k}</fifths><mode>{}</mode></key>",
                        if minor { "minor" } else { "major" }
                    );
                }
                if let Some((n, d)) = bar.time {
                    let _ = writeln!(x, "        <time><beats>{n}</beats><beat-type>{d}</beat-type></time>");
                }
                if bi == 0 {
                    let _ = writeln!(x, "        {clef}");
                }
                x.push_str("      </attributes>\n");
            }
            if i == 0 {
                for &(t, mspq) in &bar.tempos {
                    let qpm = 60_000_000.0 / f64::from(mspq.max(1));
                    let _ = writeln!(
                        x,
                        "      <direction placement=\"above\"><direction-type><metronome><beat-unit>quarter</beat-unit><per-minute>{}</per-minute></metronome></direction-type>{}<sound tempo=\"{qpm}\"/></direction>",
                        (qpm * 100.0).round() / 100.0,
                        if t > bar.start { format!("<offset>{}</offset>", t - bar.start) } else { String::new() }
                    );
                }
            }
            let len = bar.end - bar.start;
            let mut wrote_voice = false;
            for (vi, voice) in voices.iter().enumerate() {
                let mut k = next[vi];
                while k < voice.len() && voice[k].off <= bar.start {
                    k += 1;
                }
                next[vi] = k;
                let busy = voice.get(k).is_some_and(|c| c.on < bar.end);
                if !busy && (vi > 0 || voices.len() > 1) {
                    continue;
                }
                if wrote_voice {
                    let _ = writeln!(x, "      <backup><duration>{len}</duration></backup>");
                }
                wrote_voice = true;
                let mut cursor = bar.start;
                while k < voice.len() && voice[k].on < bar.end {
                    let c = &voice[k];
                    let s = c.on.max(bar.start);
                    let e = c.off.min(bar.end);
                    gap(&mut x, cursor, s, vi, &vals, &fermatas);
                    let pieces = split(e - s, &vals);
                    let mut at = s;
                    for (pk, piece) in pieces.iter().enumerate() {
                        let plen = piece.map_or(e - at, |v| v.len);
                        let tie_stop = at > c.on;
                        let tie_start = at + plen < c.off;
                        let lyric = if at == c.on && !used_lyrics.contains(&at) {
                            lyrics.get(&at).copied()
                        } else {
                            None
                        };
                        if lyric.is_some() {
                            used_lyrics.insert(at);
                        }
                        for (ni, &(p, vel)) in c.notes.iter().enumerate() {
                            note(
                                &mut x,
                                NoteOut {
                                    chord: ni > 0,
                                    pitch: p,
                                    velocity: vel,
                                    len: plen,
                                    value: *piece,
                                    voice: vi + 1,
                                    tie_start,
                                    tie_stop,
                                    key,
                                    drum: tr.is_drum.then(|| format!("{id}-I{p}")),
                                    lyric: if ni == 0 { lyric } else { None },
                                    fermata: fermatas.contains(&at),
                                },
                            );
                        }
                        at += plen;
                        let _ = pk;
                    }
                    cursor = e;
                    if c.off <= bar.end {
                        k += 1;
                    } else {
                        break;
                    }
                }
                next[vi] = k;
                if vi == 0 && cursor == bar.start && !voice.iter().skip(k).any(|c| c.on < bar.end) {
                    measure_rest(&mut x, len, fermatas.contains(&bar.start));
                } else {
                    gap(&mut x, cursor, bar.end, vi, &vals, &fermatas);
                }
            }
            if !wrote_voice {
                measure_rest(&mut x, len, fermatas.contains(&bar.start));
            }
            x.push_str("    </measure>\n");
        }
        x.push_str("  </part>\n");
    }
    x.push_str("</score-partwise>\n");
    Ok(x)
}

fn drum_keys(tr: &Track<Tick>) -> Vec<u8> {
    let mut k: Vec<u8> = tr.notes.iter().map(|n| n.pitch.min(127)).collect();
    k.sort_unstable();
    k.dedup();
    k
}

/// The `<notations>` of a fermata.
const FERMATA_NOTATIONS: &str = "<notations><fermata type=\"upright\"/></notations>";

/// A whole-measure rest of `len` units in voice 1.
fn measure_rest(x: &mut String, len: i64, fermata: bool) {
    let _ = writeln!(
        x,
        "      <note><rest measure=\"yes\"/><duration>{len}</duration><voice>1</voice>{}</note>",
        if fermata { FERMATA_NOTATIONS } else { "" }
    );
}

/// Silence from `from` to `to` (grid units) in voice `vi`: rests in the
/// first voice (a rest starting at a time in `fermatas` gets a fermata), a
/// `<forward>` in the others.
fn gap(x: &mut String, from: i64, to: i64, vi: usize, vals: &[Value], fermatas: &BTreeSet<i64>) {
    let len = to - from;
    if len <= 0 {
        return;
    }
    if vi > 0 {
        let _ = writeln!(
            x,
            "      <forward><duration>{len}</duration><voice>{}</voice></forward>",
            vi + 1
        );
        return;
    }
    let mut left = len;
    for v in split(len, vals) {
        let l = v.map_or(left, |v| v.len);
        let _ = write!(x, "      <note><rest/><duration>{l}</duration><voice>1</voice>");
        type_xml(x, v);
        if fermatas.contains(&(to - left)) {
            x.push_str(FERMATA_NOTATIONS);
        }
        x.push_str("</note>\n");
        left -= l;
    }
}

fn type_xml(x: &mut String, v: Option<Value>) {
    if let Some(v) = v {
        let _ = write!(x, "<type>{}</type>", v.name);
        for _ in 0..v.dots {
            x.push_str("<dot/>");
        }
        if v.triplet {
            x.push_str(
                "<time-modification><actual-notes>3</actual-notes><normal-notes>2</normal-notes></time-modification>",
            );
        }
    }
}

struct NoteOut<'a> {
    chord: bool,
    pitch: u8,
    velocity: u8,
    len: i64,
    value: Option<Value>,
    voice: usize,
    tie_start: bool,
    tie_stop: bool,
    key: i8,
    drum: Option<String>,
    lyric: Option<&'a str>,
    fermata: bool,
}

fn note(x: &mut String, n: NoteOut) {
    let dynamics = f64::from(n.velocity) / 0.9;
    let _ = write!(x, "      <note dynamics=\"{dynamics:.2}\">");
    if n.chord {
        x.push_str("<chord/>");
    }
    let names = if n.key >= 0 { &SHARP_NAMES } else { &FLAT_NAMES };
    let (step, alter) = names[usize::from(n.pitch % 12)];
    let octave = i32::from(n.pitch / 12) - 1;
    if n.drum.is_some() {
        let _ = write!(
            x,
            "<unpitched><display-step>{step}</display-step><display-octave>{octave}</display-octave></unpitched>"
        );
    } else if alter != 0 {
        let _ = write!(
            x,
            "<pitch><step>{step}</step><alter>{alter}</alter><octave>{octave}</octave></pitch>"
        );
    } else {
        let _ = write!(x, "<pitch><step>{step}</step><octave>{octave}</octave></pitch>");
    }
    let _ = write!(x, "<duration>{}</duration>", n.len);
    if n.tie_stop {
        x.push_str("<tie type=\"stop\"/>");
    }
    if n.tie_start {
        x.push_str("<tie type=\"start\"/>");
    }
    if let Some(id) = &n.drum {
        let _ = write!(x, "<instrument id=\"{id}\"/>");
    }
    let _ = write!(x, "<voice>{}</voice>", n.voice);
    type_xml(x, n.value);
    if n.tie_start || n.tie_stop || n.fermata {
        x.push_str("<notations>");
        if n.tie_stop {
            x.push_str("<tied type=\"stop\"/>");
        }
        if n.tie_start {
            x.push_str("<tied type=\"start\"/>");
        }
        if n.fermata {
            x.push_str("<fermata type=\"upright\"/>");
        }
        x.push_str("</notations>");
    }
    if let Some(l) = n.lyric {
        let _ = write!(
            x,
            "<lyric number=\"1\"><syllabic>single</syllabic><text>{}</text></lyric>",
            esc(l)
        );
    }
    x.push_str("</note>\n");
}

/// The bars of the score, in grid units, covering `end` (at least one bar).
fn bars(score: &Score<Tick>, g: u32, end: i64, unit: &dyn Fn(i64) -> i64) -> Result<Vec<Bar>> {
    let mut times: Vec<(i64, u8, u8)> = score
        .time_signatures
        .iter()
        .map(|t| (unit(t.time), t.numerator, t.denominator))
        .collect();
    if times.first().is_none_or(|t| t.0 > 0) {
        times.insert(0, (0, 4, 4));
    }
    let bar_len = |n: u8, d: u8| -> Result<i64> {
        let num = 4 * i64::from(g) * i64::from(n);
        if n == 0 || d == 0 || num % i64::from(d) != 0 {
            return Err(bad(
                format!("time signature {n}/{d}"),
                format!("a bar is not a whole number of divisions at {g} divisions per quarter"),
            ));
        }
        Ok(num / i64::from(d))
    };
    let mut bars: Vec<Bar> = Vec::new();
    let mut start = 0i64;
    let mut ti = 0usize;
    let (mut num, mut den) = (times[0].1, times[0].2);
    let mut announce = true;
    let bar_cap = 1_000_000usize;
    loop {
        while ti + 1 < times.len() && times[ti + 1].0 <= start {
            ti += 1;
            if (times[ti].1, times[ti].2) != (num, den) {
                announce = true;
            }
            (num, den) = (times[ti].1, times[ti].2);
        }
        let mut stop = start + bar_len(num, den)?;
        if let Some(t) = times.get(ti + 1) {
            if t.0 < stop {
                stop = t.0;
            }
        }
        bars.push(Bar {
            start,
            end: stop,
            time: announce.then_some((num, den)),
            key: None,
            tempos: Vec::new(),
        });
        announce = false;
        start = stop;
        if start >= end || bars.len() >= bar_cap {
            break;
        }
    }
    let find = |bars: &[Bar], t: i64| bars.partition_point(|b| b.end <= t).min(bars.len() - 1);
    let mut last_key: Option<(i8, bool)> = None;
    let mut keyed: Vec<(usize, (i8, bool))> = Vec::new();
    for k in &score.key_signatures {
        let b = find(&bars, unit(k.time));
        if last_key != Some((k.key, k.minor)) {
            keyed.push((b, (k.key, k.minor)));
            last_key = Some((k.key, k.minor));
        }
    }
    for (b, k) in keyed {
        bars[b].key = Some(k);
    }
    for t in &score.tempos {
        let u = unit(t.time);
        let b = find(&bars, u);
        let at = u.clamp(bars[b].start, bars[b].end);
        bars[b].tempos.retain(|x| x.0 != at);
        bars[b].tempos.push((at, t.mspq));
    }
    Ok(bars)
}
