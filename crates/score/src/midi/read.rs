//! MIDI reading. See the module docs of [`crate::midi`] for the rules.

use super::decode::{Decoder, Kind, Step};
use crate::error::{Location, Result, ScoreError, Warning};
use crate::score::*;
use crate::time::Tick;
use midly::MidiMessage;
use std::path::Path;

/// How to read.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// Turn the first warning into an error.
    pub strict: bool,
}

/// A score and the problems the reader worked around.
#[derive(Clone, Debug)]
pub struct ReadResult {
    /// The score, in ticks.
    pub score: Score<Tick>,
    /// What was wrong in the file and what the reader did about it.
    pub warnings: Vec<Warning>,
    /// The SMF format of the file (0, 1 or 2).
    pub format: u16,
    /// The SMPTE time division (frames per second, ticks per frame) of the
    /// file, when it has one; the score is then metrical (see the module docs).
    pub smpte: Option<(u8, u8)>,
}

/// Read a MIDI file from disk; errors name the file.
pub fn read_midi_file(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<ReadResult> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ScoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_midi(&bytes, opts).map_err(|e| e.with_path(path))
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
fn be_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn fatal(offset: usize, track: Option<usize>, message: impl Into<String>) -> ScoreError {
    ScoreError::Midi {
        path: None,
        at: Location { track, offset },
        message: message.into(),
    }
}

/// Strip a RIFF `RMID` wrapper, returning the SMF bytes and their offset in the file.
fn unwrap_riff(bytes: &[u8]) -> Result<(&[u8], usize)> {
    if bytes.len() < 12 || &bytes[8..12] != b"RMID" {
        return Err(fatal(8, None, "RIFF file is not of type RMID"));
    }
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]) as usize;
        let start = at + 8;
        if id == b"data" {
            let end = start.saturating_add(len).min(bytes.len());
            return Ok((&bytes[start..end], start));
        }
        at = start.saturating_add(len).saturating_add(len & 1);
    }
    Err(fatal(12, None, "RIFF RMID file has no 'data' chunk"))
}

/// Text bytes as a string: UTF-8 when valid, else Latin-1 (no byte is lost).
fn decode_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => b.iter().map(|&c| char::from(c)).collect(),
    }
}

struct Reader {
    score: Score<Tick>,
    warnings: Vec<Warning>,
    strict: bool,
    smpte: bool,
}

impl Reader {
    fn warn(&mut self, track: Option<usize>, offset: usize, message: impl Into<String>) -> Result<()> {
        let w = Warning {
            at: Location { track, offset },
            message: message.into(),
        };
        if self.strict {
            return Err(ScoreError::Strict { path: None, warning: w });
        }
        self.warnings.push(w);
        Ok(())
    }
}

/// A sounding note waiting for its note-off.
#[derive(Clone, Copy)]
struct Open {
    channel: u8,
    pitch: u8,
    track: u32,
    note: u32,
}

/// Read a MIDI file from its bytes (SMF, or RIFF-wrapped `.rmi`).
pub fn read_midi(bytes: &[u8], opts: &ReadOptions) -> Result<ReadResult> {
    let (smf, base) = match bytes.get(..4) {
        Some(b"RIFF") => unwrap_riff(bytes)?,
        Some(b"MThd") => (bytes, 0),
        _ => return Err(fatal(0, None, "not a MIDI file (no 'MThd' header)")),
    };
    if smf.len() < 14 || &smf[..4] != b"MThd" {
        return Err(fatal(base, None, "truncated or missing 'MThd' header"));
    }
    let header_len = be_u32(&smf[4..8]) as usize;
    if header_len < 6 {
        return Err(fatal(
            base + 4,
            None,
            format!("header chunk length {header_len} is under 6"),
        ));
    }
    let format = be_u16(&smf[8..10]);
    let announced = be_u16(&smf[10..12]) as usize;
    let division = be_u16(&smf[12..14]);
    let mut rd = Reader {
        score: Score::new(480),
        warnings: Vec::new(),
        strict: opts.strict,
        smpte: division & 0x8000 != 0,
    };
    let mut smpte = None;
    if format > 2 {
        rd.warn(None, base + 8, format!("unknown SMF format {format}, read as format 1"))?;
    }
    if rd.smpte {
        let fps = -i32::from((division >> 8) as u8 as i8);
        let sub = i32::from(division & 0xff);
        let (frames, mspq) = match fps {
            24 | 25 | 30 => (fps, 1_000_000),
            29 => (30, 1_001_000),
            _ => return Err(fatal(base + 12, None, format!("invalid SMPTE frame rate {fps}"))),
        };
        if sub == 0 {
            return Err(fatal(base + 12, None, "SMPTE division with 0 ticks per frame"));
        }
        rd.score.ticks_per_quarter = (frames * sub) as u16;
        rd.score.tempos.push(Tempo { time: 0, mspq });
        smpte = Some((fps as u8, sub as u8));
    } else {
        if division == 0 {
            return Err(fatal(base + 12, None, "ticks per quarter note is 0"));
        }
        rd.score.ticks_per_quarter = division;
    }

    let mut at = 8usize.saturating_add(header_len);
    if at > smf.len() {
        return Err(fatal(
            base + 4,
            None,
            format!("header chunk length {header_len} runs past the end of the file"),
        ));
    }
    let mut mtrk = 0usize;
    while at < smf.len() {
        if smf.len() - at < 8 {
            rd.warn(
                None,
                base + at,
                format!("{} stray bytes after the last chunk ignored", smf.len() - at),
            )?;
            break;
        }
        let id = &smf[at..at + 4];
        let len = be_u32(&smf[at + 4..at + 8]) as usize;
        let start = at + 8;
        let mut end = start.saturating_add(len);
        if end > smf.len() {
            let msg = format!(
                "chunk length {len} runs past the end of the file (truncated?); reading the {} bytes present",
                smf.len() - start
            );
            rd.warn(Some(mtrk), base + at + 4, msg)?;
            end = smf.len();
        }
        if id == b"MTrk" {
            read_track(&mut rd, &smf[start..end], mtrk, base + start)?;
            mtrk += 1;
        } else if id == b"MThd" {
            rd.warn(None, base + at, "second 'MThd' header ignored")?;
        } else if !id.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            // Not a chunk id at all: the chunk lengths are wrong from here on.
            rd.warn(
                Some(mtrk),
                base + at,
                "garbage where a chunk was expected; rest of file ignored",
            )?;
            break;
        }
        at = end;
    }
    if mtrk != announced {
        rd.warn(
            None,
            base + 10,
            format!("header announces {announced} tracks, file holds {mtrk}"),
        )?;
    }

    let mut score = rd.score;
    score.tracks.retain(|t| !t.is_empty());
    for t in &mut score.tracks {
        // symusic's order: by onset, ties in note-on order (a chunk's notes
        // already come in that order; the stable sort only guards it).
        t.notes.sort_by_key(|n| n.time);
        t.pedals = pedals_from_controls(&t.controls);
    }
    score.tempos.sort_by_key(|t| t.time);
    score.time_signatures.sort_by_key(|t| t.time);
    score.key_signatures.sort_by_key(|t| t.time);
    score.markers.sort_by_key(|t| t.time);
    score.extra.sort_by_key(|e| e.time);
    Ok(ReadResult {
        score,
        warnings: rd.warnings,
        format,
        smpte,
    })
}

/// Pedal presses from CC64, with symusic's rule (see the module docs).
pub fn pedals_from_controls(controls: &[ControlChange<Tick>]) -> Vec<Pedal<Tick>> {
    let mut out = Vec::new();
    let mut down: Option<i64> = None;
    for c in controls.iter().filter(|c| c.number == 64) {
        match (down, c.value >= 64) {
            (None, true) => down = Some(c.time),
            (Some(t), false) => {
                out.push(Pedal {
                    time: t,
                    duration: c.time - t,
                });
                down = None;
            }
            _ => {}
        }
    }
    out
}

/// The last tick the reader accepts. Beyond it a writer could not express the
/// gap between two events in one MIDI delta time (under 2^28 ticks).
const MAX_TICK: i64 = 0x0FFF_FFFF;

/// Read one MTrk chunk into the score.
fn read_track(rd: &mut Reader, data: &[u8], mtrk: usize, base: usize) -> Result<()> {
    let first_part = rd.score.tracks.len();
    // Current program and part of each channel.
    let mut program = [0u8; 16];
    let mut part: [Option<u32>; 16] = [None; 16];
    let mut open: Vec<Open> = Vec::with_capacity(64);
    let mut pending: Vec<RawEvent<Tick>> = Vec::new();
    let mut time: i64 = 0;
    let mut had_program_change: Vec<u32> = Vec::new();
    let mut dec = Decoder::new(data);

    // Find or create the part of (channel, program) in this chunk.
    // The chunk's first part reserves room for the notes the chunk can hold
    // (an event takes at least 3 bytes, a note two events), so that pushing
    // rarely regrows; later parts of a multi-channel chunk grow as needed.
    let note_room = data.len() / 8;
    let part_of = |score: &mut Score<Tick>, first_part: usize, channel: u8, program: u8| -> u32 {
        let found = score.tracks[first_part..]
            .iter()
            .position(|t| t.channel == channel && t.program == program);
        match found {
            Some(i) => (first_part + i) as u32,
            None => {
                let mut t = Track::new(String::new(), program, channel);
                if score.tracks.len() == first_part {
                    t.notes.reserve(note_room);
                    t.controls.reserve(note_room);
                }
                score.tracks.push(t);
                (score.tracks.len() - 1) as u32
            }
        }
    };

    loop {
        let offset = base + dec.pos;
        let remaining = dec.remaining();
        let (delta, kind) = match dec.next_step() {
            None => break,
            Some(Step::Event { delta, kind }) => (delta, kind),
            // A channel message with a data byte over 127: skip just that
            // event and go on with the track.
            Some(Step::BadData { delta, value }) => {
                rd.warn(
                    Some(mtrk),
                    offset,
                    format!("data byte {value} over 127 in a channel message; event skipped"),
                )?;
                if time + i64::from(delta) > MAX_TICK {
                    rd.warn(
                        Some(mtrk),
                        offset,
                        format!("events after tick {MAX_TICK} (2^28 - 1) ignored"),
                    )?;
                    break;
                }
                time += i64::from(delta);
                continue;
            }
            Some(Step::Malformed) => {
                rd.warn(
                    Some(mtrk),
                    offset,
                    format!("malformed event; the last {remaining} bytes of the track are ignored"),
                )?;
                break;
            }
        };
        let next = time + i64::from(delta);
        if next > MAX_TICK {
            rd.warn(
                Some(mtrk),
                offset,
                format!("events after tick {MAX_TICK} (2^28 - 1) ignored; the rest of the track is dropped"),
            )?;
            break;
        }
        time = next;
        match kind {
            Kind::Midi { channel: ch, message } => {
                if let MidiMessage::ProgramChange { program: p } = message {
                    let p = p.as_int();
                    program[ch as usize] = p;
                    let idx = part_of(&mut rd.score, first_part, ch, p);
                    part[ch as usize] = Some(idx);
                    // The first program change of a part, at tick 0, is its
                    // initial program; any other is kept to be written back.
                    let initial = time == 0 && !had_program_change.contains(&idx);
                    had_program_change.push(idx);
                    if !initial {
                        rd.score.tracks[idx as usize].extra.push(RawEvent {
                            time,
                            kind: RawKind::ProgramChange(p),
                        });
                    }
                    continue;
                }
                let idx = match part[ch as usize] {
                    Some(i) => i,
                    None => {
                        let i = part_of(&mut rd.score, first_part, ch, program[ch as usize]);
                        part[ch as usize] = Some(i);
                        i
                    }
                };
                let tr = &mut rd.score.tracks[idx as usize];
                match message {
                    MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                        open.push(Open {
                            channel: ch,
                            pitch: key.as_int(),
                            track: idx,
                            note: tr.notes.len() as u32,
                        });
                        tr.notes.push(Note::new(time, 0, key.as_int(), vel.as_int()));
                    }
                    MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                        let k = key.as_int();
                        if let Some(pos) = open.iter().position(|o| o.channel == ch && o.pitch == k) {
                            let o = open.remove(pos);
                            let n = &mut rd.score.tracks[o.track as usize].notes[o.note as usize];
                            n.duration = time - n.time;
                        }
                    }
                    MidiMessage::Controller { controller, value } => tr.controls.push(ControlChange {
                        time,
                        number: controller.as_int(),
                        value: value.as_int(),
                    }),
                    MidiMessage::PitchBend { bend } => tr.pitch_bends.push(PitchBend {
                        time,
                        value: bend.as_int(),
                    }),
                    MidiMessage::Aftertouch { key, vel } => tr.extra.push(RawEvent {
                        time,
                        kind: RawKind::PolyPressure {
                            key: key.as_int(),
                            pressure: vel.as_int(),
                        },
                    }),
                    MidiMessage::ChannelAftertouch { vel } => tr.extra.push(RawEvent {
                        time,
                        kind: RawKind::ChannelPressure(vel.as_int()),
                    }),
                    MidiMessage::ProgramChange { .. } => {}
                }
            }
            Kind::Meta { kind, body } => {
                match (kind, body.len()) {
                    (0x2F, _) => break,
                    // Track names and lyrics stay in file order among the
                    // chunk's other events until we know whether it holds a part.
                    (0x03 | 0x05, _) => pending.push(RawEvent {
                        time,
                        kind: RawKind::Meta {
                            kind,
                            data: body.to_vec(),
                        },
                    }),
                    (0x06, _) => rd.score.markers.push(Text {
                        time,
                        text: decode_text(body),
                    }),
                    (0x51, 3) if rd.smpte => {
                        rd.warn(Some(mtrk), offset, "tempo event in an SMPTE-timed file dropped")?;
                    }
                    (0x51, 3) => {
                        let mspq = u32::from_be_bytes([0, body[0], body[1], body[2]]);
                        if mspq == 0 {
                            rd.warn(Some(mtrk), offset, "tempo of 0 µs per quarter dropped")?;
                        } else {
                            rd.score.tempos.push(Tempo { time, mspq });
                        }
                    }
                    (0x58, 4) if body[1] <= 7 && body[0] > 0 => rd.score.time_signatures.push(TimeSignature {
                        time,
                        numerator: body[0],
                        denominator: 1 << body[1],
                        clocks_per_click: body[2],
                        notated_32nds_per_quarter: body[3],
                    }),
                    (0x59, 2) if (-7..=7).contains(&(body[0] as i8)) && body[1] <= 1 => {
                        rd.score.key_signatures.push(KeySignature {
                            time,
                            key: body[0] as i8,
                            minor: body[1] == 1,
                        })
                    }
                    (0x51 | 0x58 | 0x59, _) => {
                        // Kept, it would be written back and read as malformed again.
                        rd.warn(Some(mtrk), offset, format!("malformed meta event 0x{kind:02X} dropped"))?;
                    }
                    _ => pending.push(RawEvent {
                        time,
                        kind: RawKind::Meta {
                            kind,
                            data: body.to_vec(),
                        },
                    }),
                }
            }
            Kind::SysEx(d) => pending.push(RawEvent {
                time,
                kind: RawKind::SysEx(d.to_vec()),
            }),
            Kind::Escape(d) => pending.push(RawEvent {
                time,
                kind: RawKind::Escape(d.to_vec()),
            }),
        }
    }

    if !open.is_empty() {
        let n = open.len();
        for o in open.drain(..) {
            let note = &mut rd.score.tracks[o.track as usize].notes[o.note as usize];
            note.duration = time - note.time;
        }
        rd.warn(
            Some(mtrk),
            base + data.len(),
            format!("{n} note(s) never ended; closed at the end of the track (tick {time})"),
        )?;
    }

    // Parts of one chunk are ordered by (channel, program), as symusic does.
    rd.score.tracks[first_part..].sort_by_key(|t| (t.channel, t.program));
    if rd.score.tracks.len() > first_part {
        // The first track-name event names the parts; lyrics go to the first
        // part; everything else is kept in its extra events.
        let mut name = None;
        let mut lyrics = Vec::new();
        let mut kept = Vec::with_capacity(pending.len());
        for e in pending {
            match &e.kind {
                RawKind::Meta { kind: 0x03, data } if name.is_none() => name = Some(decode_text(data)),
                RawKind::Meta { kind: 0x05, data } => lyrics.push(Text {
                    time: e.time,
                    text: decode_text(data),
                }),
                _ => kept.push(e),
            }
        }
        let name = name.unwrap_or_default();
        for t in &mut rd.score.tracks[first_part..] {
            t.name.clone_from(&name);
        }
        let first = &mut rd.score.tracks[first_part];
        first.lyrics = lyrics;
        if !kept.is_empty() {
            first.extra.extend(kept);
            first.extra.sort_by_key(|e| e.time);
        }
    } else {
        // A chunk with no part: keep what it says, in order, for lossless writing.
        rd.score.extra.extend(pending);
    }
    Ok(())
}
