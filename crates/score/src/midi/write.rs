//! MIDI writing.
//!
//! A score becomes a type-1 file: a conductor chunk (tempos, time and key
//! signatures, markers, the score's `extra`), then one chunk per part. Events
//! at the same tick are ordered so that reading the file back gives the same
//! score: track name, the initial program change, the part's kept events (in
//! their order), controls, note-offs, note-ons, then the note-offs of
//! zero-length notes. Note-offs are written as note-on with velocity 0, which
//! lets running status cover whole passages.
//!
//! The encoder is our own rather than `midly`'s writer: events get a packed
//! 64-bit sort key (tick, order class, position), are ordered by merging
//! already-sorted runs, and are encoded straight into one output buffer with
//! running status. With `midly` (a `TrackEvent` per event, a generic `Write`
//! call per event and a sort of whole events) writing was slower than
//! symusic's; see docs/BENCHMARKS.md.

use crate::error::{Result, ScoreError};
use crate::io::write_atomic;
use crate::score::*;
use crate::time::Tick;
use std::path::Path;

/// SMF layout of the written file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MidiFormat {
    /// One conductor chunk plus one chunk per part (the default).
    #[default]
    Type1,
    /// Everything merged into a single chunk.
    Type0,
}

/// How to write.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteOptions {
    /// SMF layout.
    pub format: MidiFormat,
    /// Replace an existing file.
    pub overwrite: bool,
}

fn bad(what: impl Into<String>, message: impl Into<String>) -> ScoreError {
    ScoreError::Unwritable {
        what: what.into(),
        message: message.into(),
    }
}

fn data7(v: u8, what: impl Fn() -> String) -> Result<u8> {
    if v > 127 {
        Err(bad(what(), format!("{v} is over 127")))
    } else {
        Ok(v)
    }
}

/// One encodable event, borrowing any payload from the score.
#[derive(Clone, Copy)]
enum Ev<'a> {
    /// A channel message: status byte (with channel) and its data bytes.
    Chan { status: u8, d1: u8, d2: u8 },
    /// `FF kind len data`.
    Meta { kind: u8, data: &'a [u8] },
    /// Tempo meta, 24-bit.
    Tempo(u32),
    /// Meta with small inline data (time and key signatures).
    Small { kind: u8, len: u8, data: [u8; 4] },
    /// `F0 len data`.
    SysEx(&'a [u8]),
    /// `F7 len data`.
    Escape(&'a [u8]),
}

/// The events of one MTrk chunk, each with a packed sort key: tick (high 32
/// bits), order class (4 bits) and the event's position in `events` (28
/// bits). Each source list (notes' onsets, their ends, controls, ...) is
/// pushed as a run; runs that come in time order (the usual case) need no
/// sorting, so ordering the chunk is a merge of runs, not a full sort.
#[derive(Default)]
struct Chunk<'a> {
    events: Vec<Ev<'a>>,
    keys: Vec<u64>,
    /// Start of each run in `keys`.
    runs: Vec<usize>,
}

impl<'a> Chunk<'a> {
    fn run(&mut self) {
        if self.runs.last() != Some(&self.keys.len()) {
            self.runs.push(self.keys.len());
        }
    }

    #[inline]
    fn push(&mut self, time: i64, class: u64, ev: Ev<'a>, what: impl Fn() -> String) -> Result<()> {
        if time < 0 {
            return Err(bad(what(), format!("negative time {time}")));
        }
        if time > i64::from(u32::MAX) {
            return Err(bad(what(), format!("time {time} is beyond 2^32 ticks")));
        }
        let pos = self.events.len();
        if pos >= 1 << 28 {
            return Err(bad(what(), "more than 2^28 events in one track"));
        }
        self.keys.push(((time as u64) << 32) | (class << 28) | pos as u64);
        self.events.push(ev);
        Ok(())
    }

    /// The keys in time order.
    fn ordered(mut self) -> (Vec<Ev<'a>>, Vec<u64>) {
        self.runs.push(self.keys.len());
        let mut acc: Vec<u64> = Vec::with_capacity(self.keys.len());
        let mut tmp: Vec<u64> = Vec::with_capacity(self.keys.len());
        for w in self.runs.windows(2) {
            let run = &mut self.keys[w[0]..w[1]];
            if !run.is_sorted() {
                run.sort_unstable();
            }
            tmp.clear();
            let (mut i, mut j) = (0, 0);
            while i < acc.len() && j < run.len() {
                if acc[i] <= run[j] {
                    tmp.push(acc[i]);
                    i += 1;
                } else {
                    tmp.push(run[j]);
                    j += 1;
                }
            }
            tmp.extend_from_slice(&acc[i..]);
            tmp.extend_from_slice(&run[j..]);
            std::mem::swap(&mut acc, &mut tmp);
        }
        (self.events, acc)
    }
}

fn raw_ev<'a>(k: &'a RawKind, channel: u8, what: &dyn Fn() -> String) -> Result<Ev<'a>> {
    Ok(match k {
        RawKind::SysEx(d) => Ev::SysEx(d),
        RawKind::Escape(d) => Ev::Escape(d),
        RawKind::Meta { kind, data } => Ev::Meta { kind: *kind, data },
        RawKind::ProgramChange(p) => Ev::Chan {
            status: 0xC0 | channel,
            d1: data7(*p, what)?,
            d2: 0,
        },
        RawKind::ChannelPressure(v) => Ev::Chan {
            status: 0xD0 | channel,
            d1: data7(*v, what)?,
            d2: 0,
        },
        RawKind::PolyPressure { key, pressure } => Ev::Chan {
            status: 0xA0 | channel,
            d1: data7(*key, what)?,
            d2: data7(*pressure, what)?,
        },
    })
}

fn varlen(out: &mut Vec<u8>, v: u32) {
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    let mut buf = [0u8; 5];
    let mut i = 4;
    let mut v = v;
    buf[i] = (v & 0x7F) as u8;
    while v >= 0x80 {
        v >>= 7;
        i -= 1;
        buf[i] = 0x80 | (v & 0x7F) as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

fn with_len(out: &mut Vec<u8>, data: &[u8]) -> Result<()> {
    let len = u32::try_from(data.len())
        .ok()
        .filter(|l| *l < 1 << 28)
        .ok_or_else(|| bad("event data", "2^28 bytes or more"))?;
    varlen(out, len);
    out.extend_from_slice(data);
    Ok(())
}

/// The conductor chunk's events.
fn conductor_events<'a>(score: &'a Score<Tick>, ev: &mut Chunk<'a>) -> Result<()> {
    ev.run();
    for (i, t) in score.tempos.iter().enumerate() {
        let what = || format!("tempo {i}");
        if t.mspq == 0 || t.mspq > 0xFF_FFFF {
            return Err(bad(
                what(),
                format!("{} µs per quarter is outside 1..=16777215", t.mspq),
            ));
        }
        ev.push(t.time, 1, Ev::Tempo(t.mspq), what)?;
    }
    ev.run();
    for (i, ts) in score.time_signatures.iter().enumerate() {
        let what = || format!("time signature {i}");
        if !ts.denominator.is_power_of_two() || ts.numerator == 0 {
            return Err(bad(
                what(),
                format!("{}/{} is not a MIDI time signature", ts.numerator, ts.denominator),
            ));
        }
        let data = [
            ts.numerator,
            ts.denominator.trailing_zeros() as u8,
            ts.clocks_per_click,
            ts.notated_32nds_per_quarter,
        ];
        ev.push(
            ts.time,
            0,
            Ev::Small {
                kind: 0x58,
                len: 4,
                data,
            },
            what,
        )?;
    }
    ev.run();
    for (i, k) in score.key_signatures.iter().enumerate() {
        let what = || format!("key signature {i}");
        if !(-7..=7).contains(&k.key) {
            return Err(bad(what(), format!("{} sharps/flats is outside -7..=7", k.key)));
        }
        let data = [k.key as u8, u8::from(k.minor), 0, 0];
        ev.push(
            k.time,
            0,
            Ev::Small {
                kind: 0x59,
                len: 2,
                data,
            },
            what,
        )?;
    }
    ev.run();
    for (i, m) in score.markers.iter().enumerate() {
        let what = || format!("marker {i}");
        let e = Ev::Meta {
            kind: 0x06,
            data: m.text.as_bytes(),
        };
        ev.push(m.time, 2, e, what)?;
    }
    ev.run();
    for (i, e) in score.extra.iter().enumerate() {
        let what = || format!("score extra event {i}");
        let k = raw_ev(&e.kind, 0, &what)?;
        ev.push(e.time, 0, k, what)?;
    }
    Ok(())
}

/// One part's events.
fn track_events<'a>(ti: usize, tr: &'a Track<Tick>, ev: &mut Chunk<'a>) -> Result<()> {
    let channel = if tr.is_drum { 9 } else { tr.channel };
    if channel > 15 {
        return Err(bad(format!("track {ti}"), format!("channel {channel} is over 15")));
    }
    ev.events
        .reserve(tr.notes.len() * 2 + tr.controls.len() + tr.extra.len() + 4);
    ev.keys
        .reserve(tr.notes.len() * 2 + tr.controls.len() + tr.extra.len() + 4);
    ev.run();
    // An empty name is written too when a later track-name event is kept, so
    // that the later one does not become the name when read back.
    let later_name = tr
        .extra
        .iter()
        .any(|e| matches!(e.kind, RawKind::Meta { kind: 0x03, .. }));
    if !tr.name.is_empty() || later_name {
        let e = Ev::Meta {
            kind: 0x03,
            data: tr.name.as_bytes(),
        };
        ev.push(0, 0, e, || format!("track {ti} name"))?;
    }
    // The initial program: written at tick 0 unless a kept program change
    // already sets it before the part's first channel event.
    let first_sound = tr
        .notes
        .iter()
        .map(|n| n.time)
        .chain(tr.controls.iter().map(|c| c.time))
        .chain(tr.pitch_bends.iter().map(|c| c.time))
        .chain(tr.pedals.iter().map(|c| c.time))
        .chain(
            tr.extra
                .iter()
                .filter(|e| matches!(e.kind, RawKind::ChannelPressure(_) | RawKind::PolyPressure { .. }))
                .map(|e| e.time),
        )
        .min()
        .unwrap_or(i64::MAX);
    let kept_first = tr
        .extra
        .iter()
        .any(|e| matches!(e.kind, RawKind::ProgramChange(_)) && e.time > 0 && e.time <= first_sound);
    if !kept_first {
        let what = || format!("track {ti} program");
        let e = Ev::Chan {
            status: 0xC0 | channel,
            d1: data7(tr.program, what)?,
            d2: 0,
        };
        ev.push(0, 1, e, what)?;
    }
    ev.run();
    for (i, e) in tr.extra.iter().enumerate() {
        let what = || format!("track {ti} extra event {i}");
        ev.push(e.time, 2, raw_ev(&e.kind, channel, &what)?, what)?;
    }
    ev.run();
    for (i, l) in tr.lyrics.iter().enumerate() {
        let what = || format!("track {ti} lyric {i}");
        let e = Ev::Meta {
            kind: 0x05,
            data: l.text.as_bytes(),
        };
        ev.push(l.time, 2, e, what)?;
    }
    ev.run();
    for (i, c) in tr.controls.iter().enumerate() {
        let what = || format!("track {ti} control {i}");
        let e = Ev::Chan {
            status: 0xB0 | channel,
            d1: data7(c.number, what)?,
            d2: data7(c.value, what)?,
        };
        ev.push(c.time, 3, e, what)?;
    }
    ev.run();
    for (i, b) in tr.pitch_bends.iter().enumerate() {
        let what = || format!("track {ti} pitch bend {i}");
        if !(-8192..=8191).contains(&b.value) {
            return Err(bad(what(), format!("{} is outside -8192..=8191", b.value)));
        }
        let v = (b.value + 8192) as u16;
        let e = Ev::Chan {
            status: 0xE0 | channel,
            d1: (v & 0x7F) as u8,
            d2: (v >> 7) as u8,
        };
        ev.push(b.time, 3, e, what)?;
    }
    ev.run();
    if !tr.controls.iter().any(|c| c.number == 64) {
        for (i, p) in tr.pedals.iter().enumerate() {
            let what = || format!("track {ti} pedal {i}");
            let down = Ev::Chan {
                status: 0xB0 | channel,
                d1: 64,
                d2: 127,
            };
            let up = Ev::Chan {
                status: 0xB0 | channel,
                d1: 64,
                d2: 0,
            };
            ev.push(p.time, 3, down, what)?;
            ev.push(p.time + p.duration.max(0), 3, up, what)?;
        }
    }
    ev.run();
    // Onsets first, as one run (in time order when the notes are), then the
    // ends, as another.
    for (i, n) in tr.notes.iter().enumerate() {
        let what = || format!("track {ti} note {i}");
        let key = data7(n.pitch, what)?;
        if n.velocity == 0 || n.velocity > 127 {
            return Err(bad(what(), format!("velocity {} is outside 1..=127", n.velocity)));
        }
        if n.duration < 0 {
            return Err(bad(what(), format!("negative duration {}", n.duration)));
        }
        ev.push(
            n.time,
            5,
            Ev::Chan {
                status: 0x90 | channel,
                d1: key,
                d2: n.velocity,
            },
            what,
        )?;
    }
    ev.run();
    for (i, n) in tr.notes.iter().enumerate() {
        let class = if n.duration == 0 { 6 } else { 4 };
        let what = || format!("track {ti} note {i}");
        ev.push(
            n.end(),
            class,
            Ev::Chan {
                status: 0x90 | channel,
                d1: n.pitch,
                d2: 0,
            },
            what,
        )?;
    }
    Ok(())
}

/// Sort a chunk's events and encode it (header, deltas, running status, end).
fn encode_chunk(chunk: Chunk<'_>, out: &mut Vec<u8>) -> Result<()> {
    let (events, keys) = chunk.ordered();
    out.extend_from_slice(b"MTrk\0\0\0\0");
    let start = out.len();
    let (mut last, mut running) = (0u32, 0u8);
    for key in keys {
        let t = (key >> 32) as u32;
        let delta = t - last;
        if delta >= 1 << 28 {
            return Err(bad(format!("event at tick {t}"), "gap of 2^28 ticks or more"));
        }
        varlen(out, delta);
        last = t;
        match events[(key & 0x0FFF_FFFF) as usize] {
            Ev::Chan { status, d1, d2 } => {
                if status != running {
                    out.push(status);
                    running = status;
                }
                out.push(d1);
                if !matches!(status & 0xF0, 0xC0 | 0xD0) {
                    out.push(d2);
                }
            }
            Ev::Meta { kind, data } => {
                running = 0;
                out.extend_from_slice(&[0xFF, kind]);
                with_len(out, data)?;
            }
            Ev::Tempo(mspq) => {
                running = 0;
                let b = mspq.to_be_bytes();
                out.extend_from_slice(&[0xFF, 0x51, 3, b[1], b[2], b[3]]);
            }
            Ev::Small { kind, len, data } => {
                running = 0;
                out.extend_from_slice(&[0xFF, kind, len]);
                out.extend_from_slice(&data[..usize::from(len)]);
            }
            Ev::SysEx(data) => {
                running = 0;
                out.push(0xF0);
                with_len(out, data)?;
            }
            Ev::Escape(data) => {
                running = 0;
                out.push(0xF7);
                with_len(out, data)?;
            }
        }
    }
    out.extend_from_slice(&[0, 0xFF, 0x2F, 0]);
    let len = u32::try_from(out.len() - start).map_err(|_| bad("track", "4 GiB or more"))?;
    out[start - 4..start].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Encode a score as a Standard MIDI File.
pub fn write_midi(score: &Score<Tick>, format: MidiFormat) -> Result<Vec<u8>> {
    let tpq = score.ticks_per_quarter;
    if tpq == 0 || tpq > 0x7FFF {
        return Err(bad("ticks_per_quarter", format!("{tpq} is outside 1..=32767")));
    }
    // Type 0 pushes every part into one chunk: positions then keep each
    // part's own same-tick order, parts in order.
    let mut chunks: Vec<Chunk> = Vec::with_capacity(score.tracks.len() + 1);
    let mut chunk = Chunk::default();
    conductor_events(score, &mut chunk)?;
    for (i, tr) in score.tracks.iter().enumerate() {
        if format == MidiFormat::Type1 {
            chunks.push(std::mem::take(&mut chunk));
        }
        track_events(i, tr, &mut chunk)?;
    }
    chunks.push(chunk);
    let fmt: u16 = match format {
        MidiFormat::Type1 => 1,
        MidiFormat::Type0 => 0,
    };
    if chunks.len() > usize::from(u16::MAX) {
        return Err(bad("file", "more than 65535 tracks"));
    }
    let events: usize = chunks.iter().map(|c| c.events.len()).sum();
    let mut out = Vec::with_capacity(events * 4 + 14 + chunks.len() * 12);
    out.extend_from_slice(b"MThd\0\0\0\x06");
    out.extend_from_slice(&fmt.to_be_bytes());
    out.extend_from_slice(&(chunks.len() as u16).to_be_bytes());
    out.extend_from_slice(&tpq.to_be_bytes());
    for c in chunks {
        encode_chunk(c, &mut out)?;
    }
    Ok(out)
}

/// Write a score to a MIDI file, atomically; refuses to replace an existing
/// file unless `opts.overwrite`.
pub fn write_midi_file(score: &Score<Tick>, path: impl AsRef<Path>, opts: &WriteOptions) -> Result<()> {
    let bytes = write_midi(score, opts.format)?;
    write_atomic(path.as_ref(), &bytes, opts.overwrite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varlen_matches_the_smf_examples() {
        // Examples from the Standard MIDI File specification.
        for (v, bytes) in [
            (0u32, &[0x00][..]),
            (0x40, &[0x40]),
            (0x7F, &[0x7F]),
            (0x80, &[0x81, 0x00]),
            (0x2000, &[0xC0, 0x00]),
            (0x3FFF, &[0xFF, 0x7F]),
            (0x4000, &[0x81, 0x80, 0x00]),
            (0x10_0000, &[0xC0, 0x80, 0x00]),
            (0x0FFF_FFFF, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            let mut out = Vec::new();
            varlen(&mut out, v);
            assert_eq!(out, bytes, "{v:#x}");
        }
    }

    #[test]
    fn known_score_encodes_to_known_bytes() {
        let mut s = Score::<Tick>::new(96);
        let mut t = Track::new("", 0, 0);
        t.notes.push(Note::new(0, 96, 60, 100));
        t.notes.push(Note::new(96, 96, 62, 90));
        s.tracks.push(t);
        let b = write_midi(&s, MidiFormat::Type1).unwrap();
        let expected: Vec<u8> = [
            &b"MThd\0\0\0\x06\0\x01\0\x02\0\x60"[..],
            b"MTrk\0\0\0\x04\0\xFF\x2F\0",
            // program change, on 60, off 60 + on 62 with running status, off 62.
            b"MTrk\0\0\0\x14\0\xC0\0\0\x90\x3C\x64\x60\x3C\0\0\x3E\x5A\x60\x3E\0\0\xFF\x2F\0",
        ]
        .concat();
        assert_eq!(b, expected);
    }
}
