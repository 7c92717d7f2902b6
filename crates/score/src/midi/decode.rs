//! Decoding the events of one MTrk chunk.
//!
//! The hot loop of reading: a varlen delta time, a status byte (or running
//! status), and one or two data bytes for channel messages; a length-prefixed
//! body for meta, sysex and escape events. Channel messages become `midly`'s
//! `MidiMessage` values. We decode here rather than through `midly`'s event
//! iterator because that was a third of the reader's time and kept it under
//! its speed target (see docs/BENCHMARKS.md), and because a data byte over
//! 127 can be skipped on its own instead of ending the track. The rules are
//! `midly`'s: running status applies to channel messages only and is
//! cancelled by meta, sysex and escape events; system common and real-time
//! statuses cannot appear in a file.

use midly::num::{u14, u4, u7};
use midly::{MidiMessage, PitchBend};

/// One decoded event's content.
pub(crate) enum Kind<'a> {
    /// A channel message.
    Midi { channel: u8, message: MidiMessage },
    /// A meta event: its type and data.
    Meta { kind: u8, body: &'a [u8] },
    /// A system-exclusive message (the bytes after `F0`).
    SysEx(&'a [u8]),
    /// An escape sequence (the bytes after `F7`).
    Escape(&'a [u8]),
}

/// What the next bytes hold.
pub(crate) enum Step<'a> {
    /// An event after `delta` ticks.
    Event { delta: u32, kind: Kind<'a> },
    /// A channel message with a data byte over 127, skipped whole.
    BadData { delta: u32, value: u8 },
    /// Bytes that are no event: the rest of the chunk cannot be read.
    Malformed,
}

/// Decodes a chunk's bytes event by event.
pub(crate) struct Decoder<'a> {
    data: &'a [u8],
    /// Position of the next event in `data`.
    pub pos: usize,
    running: Option<u8>,
}

/// A variable-length quantity (at most 4 bytes) and its length.
#[inline]
fn varlen(b: &[u8]) -> Option<(u32, usize)> {
    let mut v = 0u32;
    for (i, &byte) in b.iter().take(4).enumerate() {
        v = (v << 7) | u32::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Decoder {
            data,
            pos: 0,
            running: None,
        }
    }

    /// Bytes not decoded yet.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next step, or `None` at the end of the chunk.
    #[inline]
    pub(crate) fn next_step(&mut self) -> Option<Step<'a>> {
        let d = self.data;
        if self.pos >= d.len() {
            return None;
        }
        let Some((delta, n)) = varlen(&d[self.pos..]) else {
            return Some(Step::Malformed);
        };
        let mut p = self.pos + n;
        let Some(&first) = d.get(p) else {
            return Some(Step::Malformed);
        };
        let status = if first >= 0x80 {
            p += 1;
            first
        } else {
            match self.running {
                Some(s) => s,
                None => return Some(Step::Malformed),
            }
        };
        match status {
            0x80..=0xEF => {
                let len = if matches!(status & 0xF0, 0xC0 | 0xD0) { 1 } else { 2 };
                let Some(bytes) = d.get(p..p + len) else {
                    return Some(Step::Malformed);
                };
                self.running = Some(status);
                self.pos = p + len;
                if let Some(&value) = bytes.iter().find(|b| **b > 127) {
                    return Some(Step::BadData { delta, value });
                }
                let (a, b) = (u7::new(bytes[0]), u7::new(*bytes.get(1).unwrap_or(&0)));
                let message = match status >> 4 {
                    0x8 => MidiMessage::NoteOff { key: a, vel: b },
                    0x9 => MidiMessage::NoteOn { key: a, vel: b },
                    0xA => MidiMessage::Aftertouch { key: a, vel: b },
                    0xB => MidiMessage::Controller {
                        controller: a,
                        value: b,
                    },
                    0xC => MidiMessage::ProgramChange { program: a },
                    0xD => MidiMessage::ChannelAftertouch { vel: a },
                    _ => MidiMessage::PitchBend {
                        bend: PitchBend(u14::new(
                            u16::from(bytes[0]) | u16::from(*bytes.get(1).unwrap_or(&0)) << 7,
                        )),
                    },
                };
                let channel = u4::new(status & 0x0F).as_int();
                Some(Step::Event {
                    delta,
                    kind: Kind::Midi { channel, message },
                })
            }
            0xFF | 0xF0 | 0xF7 => {
                self.running = None;
                let kind_byte = if status == 0xFF {
                    let Some(&k) = d.get(p) else {
                        return Some(Step::Malformed);
                    };
                    p += 1;
                    k
                } else {
                    0
                };
                let Some((len, m)) = d.get(p..).and_then(varlen) else {
                    return Some(Step::Malformed);
                };
                let start = p + m;
                let Some(body) = d.get(start..start + len as usize) else {
                    return Some(Step::Malformed);
                };
                self.pos = start + len as usize;
                let kind = match status {
                    0xFF => Kind::Meta { kind: kind_byte, body },
                    0xF0 => Kind::SysEx(body),
                    _ => Kind::Escape(body),
                };
                Some(Step::Event { delta, kind })
            }
            _ => Some(Step::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_running_status_meta_and_sysex() {
        // on 60, (running) on 62, meta text "hi", sysex, then a bad data byte.
        let bytes = [
            0x00, 0x90, 60, 100, 0x10, 62, 90, 0x00, 0xFF, 0x01, 2, b'h', b'i', 0x05, 0xF0, 2, 0x7E, 0xF7, 0x00, 0xB0,
            7, 200, 0x00, 0x40,
        ];
        let mut d = Decoder::new(&bytes);
        let mut seen = Vec::new();
        while let Some(s) = d.next_step() {
            seen.push(match s {
                Step::Event {
                    delta,
                    kind: Kind::Midi { message, .. },
                } => format!("{delta} {message:?}"),
                Step::Event {
                    delta,
                    kind: Kind::Meta { kind, body },
                } => format!("{delta} meta {kind} {body:?}"),
                Step::Event {
                    delta,
                    kind: Kind::SysEx(b),
                } => format!("{delta} sysex {b:?}"),
                Step::Event {
                    kind: Kind::Escape(_), ..
                } => "escape".into(),
                Step::BadData { delta, value } => format!("{delta} bad {value}"),
                Step::Malformed => {
                    seen.push("malformed".into());
                    break;
                }
            });
        }
        assert_eq!(seen[1], "16 NoteOn { key: u7(62), vel: u7(90) }");
        assert_eq!(seen[2], "0 meta 1 [104, 105]");
        assert_eq!(seen[3], "5 sysex [126, 247]");
        assert_eq!(seen[4], "0 bad 200");
        // After sysex, running status is cancelled: a lone data byte is malformed.
        assert_eq!(seen[5], "malformed");
    }
}
