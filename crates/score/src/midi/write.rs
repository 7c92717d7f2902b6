//! MIDI writing.
//!
//! A score becomes a type-1 file: a conductor chunk (tempos, time and key
//! signatures, markers, the score's `extra`), then one chunk per part. Events
//! at the same tick are ordered so that reading the file back gives the same
//! score: track name, the initial program change, the part's kept events (in
//! their order), controls, note-offs, note-ons, then the note-offs of
//! zero-length notes. Note-offs are written as note-on with velocity 0, which
//! lets running status cover whole passages.

use crate::error::{Result, ScoreError};
use crate::io::write_atomic;
use crate::score::*;
use crate::time::Tick;
use midly::num::{u14, u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Timing, TrackEvent, TrackEventKind};
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

fn u7_of(v: u8, what: impl Fn() -> String) -> Result<u7> {
    u7::try_from(v).ok_or_else(|| bad(what(), format!("{v} is over 127")))
}

/// One event to place: tick, same-tick order class, index, and the event.
type Placed<'a> = (i64, u8, u32, TrackEventKind<'a>);

fn meta<'a>(kind: u8, data: &'a [u8]) -> TrackEventKind<'a> {
    TrackEventKind::Meta(match kind {
        0x00 if data.len() == 2 => MetaMessage::TrackNumber(Some(u16::from_be_bytes([data[0], data[1]]))),
        0x00 if data.is_empty() => MetaMessage::TrackNumber(None),
        0x01 => MetaMessage::Text(data),
        0x02 => MetaMessage::Copyright(data),
        0x03 => MetaMessage::TrackName(data),
        0x04 => MetaMessage::InstrumentName(data),
        0x05 => MetaMessage::Lyric(data),
        0x06 => MetaMessage::Marker(data),
        0x07 => MetaMessage::CuePoint(data),
        0x08 => MetaMessage::ProgramName(data),
        0x09 => MetaMessage::DeviceName(data),
        0x7F => MetaMessage::SequencerSpecific(data),
        _ => MetaMessage::Unknown(kind, data),
    })
}

fn raw_kind<'a>(k: &'a RawKind, channel: u4, what: &dyn Fn() -> String) -> Result<TrackEventKind<'a>> {
    let midi = |message| TrackEventKind::Midi { channel, message };
    Ok(match k {
        RawKind::SysEx(d) => TrackEventKind::SysEx(d),
        RawKind::Escape(d) => TrackEventKind::Escape(d),
        // Interpreted meta types are always written through their fields;
        // a raw one here is a malformed original, written back as unknown bytes.
        RawKind::Meta { kind, data } => match kind {
            0x2F | 0x51 | 0x58 | 0x59 | 0x00 | 0x20 | 0x21 | 0x54 => {
                TrackEventKind::Meta(MetaMessage::Unknown(*kind, data))
            }
            _ => meta(*kind, data),
        },
        RawKind::ProgramChange(p) => midi(MidiMessage::ProgramChange {
            program: u7_of(*p, what)?,
        }),
        RawKind::ChannelPressure(v) => midi(MidiMessage::ChannelAftertouch { vel: u7_of(*v, what)? }),
        RawKind::PolyPressure { key, pressure } => midi(MidiMessage::Aftertouch {
            key: u7_of(*key, what)?,
            vel: u7_of(*pressure, what)?,
        }),
    })
}

fn check_time(t: i64, what: impl Fn() -> String) -> Result<i64> {
    if t < 0 {
        Err(bad(what(), format!("negative time {t}")))
    } else {
        Ok(t)
    }
}

/// The conductor chunk's events.
fn conductor_events(score: &Score<Tick>) -> Result<Vec<Placed<'_>>> {
    let mut ev: Vec<Placed> = Vec::new();
    for (i, t) in score.tempos.iter().enumerate() {
        let what = || format!("tempo {i}");
        let mspq = u24::try_from(t.mspq)
            .filter(|v| v.as_int() > 0)
            .ok_or_else(|| bad(what(), format!("{} µs per quarter is outside 1..=16777215", t.mspq)))?;
        ev.push((
            check_time(t.time, what)?,
            1,
            i as u32,
            TrackEventKind::Meta(MetaMessage::Tempo(mspq)),
        ));
    }
    for (i, ts) in score.time_signatures.iter().enumerate() {
        let what = || format!("time signature {i}");
        if !ts.denominator.is_power_of_two() || ts.numerator == 0 {
            return Err(bad(
                what(),
                format!("{}/{} is not a MIDI time signature", ts.numerator, ts.denominator),
            ));
        }
        let m = MetaMessage::TimeSignature(
            ts.numerator,
            ts.denominator.trailing_zeros() as u8,
            ts.clocks_per_click,
            ts.notated_32nds_per_quarter,
        );
        ev.push((check_time(ts.time, what)?, 0, i as u32, TrackEventKind::Meta(m)));
    }
    for (i, k) in score.key_signatures.iter().enumerate() {
        let what = || format!("key signature {i}");
        if !(-7..=7).contains(&k.key) {
            return Err(bad(what(), format!("{} sharps/flats is outside -7..=7", k.key)));
        }
        let m = MetaMessage::KeySignature(k.key, k.minor);
        ev.push((check_time(k.time, what)?, 0, i as u32, TrackEventKind::Meta(m)));
    }
    for (i, m) in score.markers.iter().enumerate() {
        let what = || format!("marker {i}");
        ev.push((check_time(m.time, what)?, 2, i as u32, meta(0x06, m.text.as_bytes())));
    }
    for (i, e) in score.extra.iter().enumerate() {
        let what = || format!("score extra event {i}");
        let k = raw_kind(&e.kind, u4::new(0), &what)?;
        ev.push((check_time(e.time, what)?, 0, i as u32, k));
    }
    Ok(ev)
}

/// One part's events.
fn track_events<'a>(ti: usize, tr: &'a Track<Tick>) -> Result<Vec<Placed<'a>>> {
    let ch = if tr.is_drum { 9 } else { tr.channel };
    let channel = u4::try_from(ch).ok_or_else(|| bad(format!("track {ti}"), format!("channel {ch} is over 15")))?;
    let midi = |message| TrackEventKind::Midi { channel, message };
    let mut ev: Vec<Placed> = Vec::with_capacity(tr.notes.len() * 2 + tr.controls.len() + 8);
    if !tr.name.is_empty() {
        ev.push((0, 0, 0, meta(0x03, tr.name.as_bytes())));
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
        let program = u7_of(tr.program, || format!("track {ti} program"))?;
        ev.push((0, 1, 0, midi(MidiMessage::ProgramChange { program })));
    }
    for (i, e) in tr.extra.iter().enumerate() {
        let what = || format!("track {ti} extra event {i}");
        ev.push((
            check_time(e.time, what)?,
            2,
            i as u32,
            raw_kind(&e.kind, channel, &what)?,
        ));
    }
    let n_extra = tr.extra.len() as u32;
    for (i, l) in tr.lyrics.iter().enumerate() {
        let what = || format!("track {ti} lyric {i}");
        ev.push((
            check_time(l.time, what)?,
            2,
            n_extra + i as u32,
            meta(0x05, l.text.as_bytes()),
        ));
    }
    for (i, c) in tr.controls.iter().enumerate() {
        let what = || format!("track {ti} control {i}");
        let m = MidiMessage::Controller {
            controller: u7_of(c.number, what)?,
            value: u7_of(c.value, what)?,
        };
        ev.push((check_time(c.time, what)?, 3, i as u32, midi(m)));
    }
    let n_cc = tr.controls.len() as u32;
    for (i, b) in tr.pitch_bends.iter().enumerate() {
        let what = || format!("track {ti} pitch bend {i}");
        if !(-8192..=8191).contains(&b.value) {
            return Err(bad(what(), format!("{} is outside -8192..=8191", b.value)));
        }
        let bend = midly::PitchBend(u14::new((b.value + 8192) as u16));
        ev.push((
            check_time(b.time, what)?,
            3,
            n_cc + i as u32,
            midi(MidiMessage::PitchBend { bend }),
        ));
    }
    if !tr.controls.iter().any(|c| c.number == 64) {
        let base = n_cc + tr.pitch_bends.len() as u32;
        for (i, p) in tr.pedals.iter().enumerate() {
            let what = || format!("track {ti} pedal {i}");
            let at = check_time(p.time, what)?;
            let down = MidiMessage::Controller {
                controller: u7::new(64),
                value: u7::new(127),
            };
            let up = MidiMessage::Controller {
                controller: u7::new(64),
                value: u7::new(0),
            };
            ev.push((at, 3, base + 2 * i as u32, midi(down)));
            ev.push((at + p.duration.max(0), 3, base + 2 * i as u32 + 1, midi(up)));
        }
    }
    for (i, n) in tr.notes.iter().enumerate() {
        let what = || format!("track {ti} note {i}");
        let key = u7_of(n.pitch, what)?;
        if n.velocity == 0 || n.velocity > 127 {
            return Err(bad(what(), format!("velocity {} is outside 1..=127", n.velocity)));
        }
        if n.duration < 0 {
            return Err(bad(what(), format!("negative duration {}", n.duration)));
        }
        let at = check_time(n.time, what)?;
        let on = MidiMessage::NoteOn {
            key,
            vel: u7::new(n.velocity),
        };
        let off = MidiMessage::NoteOn { key, vel: u7::new(0) };
        ev.push((at, 5, i as u32, midi(on)));
        let off_class = if n.duration == 0 { 6 } else { 4 };
        ev.push((at + n.duration, off_class, i as u32, midi(off)));
    }
    Ok(ev)
}

/// Sort placed events and turn absolute ticks into deltas, ending the chunk.
fn finish(mut ev: Vec<Placed<'_>>) -> Result<Vec<TrackEvent<'_>>> {
    ev.sort_unstable_by_key(|e| (e.0, e.1, e.2));
    let mut out = Vec::with_capacity(ev.len() + 1);
    let mut last = 0i64;
    for (t, _, _, kind) in ev {
        let delta = u28::try_from((t - last) as u32)
            .filter(|_| t - last <= 0x0FFF_FFFF)
            .ok_or_else(|| bad(format!("event at tick {t}"), "gap over 2^28 ticks"))?;
        out.push(TrackEvent { delta, kind });
        last = t;
    }
    out.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    Ok(out)
}

/// Encode a score as a Standard MIDI File.
pub fn write_midi(score: &Score<Tick>, format: MidiFormat) -> Result<Vec<u8>> {
    let tpq = u15::try_from(score.ticks_per_quarter)
        .filter(|v| v.as_int() > 0)
        .ok_or_else(|| {
            bad(
                "ticks_per_quarter",
                format!("{} is outside 1..=32767", score.ticks_per_quarter),
            )
        })?;
    let timing = Timing::Metrical(tpq);
    let mut chunks: Vec<Vec<Placed>> = vec![conductor_events(score)?];
    for (i, tr) in score.tracks.iter().enumerate() {
        chunks.push(track_events(i, tr)?);
    }
    let (fmt, chunks) = match format {
        MidiFormat::Type1 => (Format::Parallel, chunks),
        MidiFormat::Type0 => {
            // Chunk index becomes part of the order so that merged parts keep
            // their own same-tick order.
            let mut all = Vec::new();
            for (ci, c) in chunks.into_iter().enumerate() {
                all.extend(
                    c.into_iter()
                        .map(|(t, class, i, k)| (t, class, ((ci as u32) << 20) | i, k)),
                );
            }
            (Format::SingleTrack, vec![all])
        }
    };
    let tracks = chunks.into_iter().map(finish).collect::<Result<Vec<_>>>()?;
    let header = Header::new(fmt, timing);
    let mut out = Vec::with_capacity(score.note_count() * 8 + 256);
    midly::write_std(&header, tracks.iter(), &mut out).map_err(|e| bad("file", e.to_string()))?;
    Ok(out)
}

/// Write a score to a MIDI file, atomically; refuses to replace an existing
/// file unless `opts.overwrite`.
pub fn write_midi_file(score: &Score<Tick>, path: impl AsRef<Path>, opts: &WriteOptions) -> Result<()> {
    let bytes = write_midi(score, opts.format)?;
    write_atomic(path.as_ref(), &bytes, opts.overwrite)
}
