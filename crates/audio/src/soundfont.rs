//! Rendering with a SoundFont (`.sf2`) through the `rustysynth` crate.
//!
//! A [`SoundFont`] is loaded once (parsing a few MB of samples takes a
//! moment) and can render many scores. The font is read at run time from
//! wherever the user keeps it; fugue ships none.
//!
//! **Channel rule.** A MIDI synthesizer has 16 channels, channel 10 (index
//! 9) for drums, and a score may have more tracks. Tracks that shared a
//! channel would share its volume, pan, pedal and bend, so fugue gives every
//! melodic track a channel of its own: tracks 1–15 take channels 1–9 and
//! 11–16 of a first synthesizer, tracks 16–30 those of a second one, and so
//! on; the synthesizers (all on the same font) are mixed. Drum tracks share
//! the drum channel of one synthesizer per drum kit (program): most scores'
//! drum parts are one kit split into several tracks, which a file plays on
//! one channel too. The track's own `channel` field is not used: scores made
//! by models or read from MusicXML have no meaningful one.
//!
//! Robustness: a file that is not a SoundFont or is truncated is rejected
//! up front; `rustysynth` checks much of the rest, and where it would panic
//! on malformed data instead (a zone or sample range out of bounds, when
//! loading or when a note plays), the panic is contained and returned as an
//! [`AudioError::SoundFont`]. The Rust runtime still prints the panic
//! message to stderr in that case.
//!
//! Timing: events apply at the start of the 64-sample block that holds them
//! (about 1.5 ms at 44.1 kHz), as in `rustysynth`'s own MIDI player. The
//! synthesizer's reverb and chorus are on, like FluidSynth's defaults.

use crate::error::{AudioError, Result};
use crate::events::{Event, EventKind, TrackInfo};
use crate::synth::bank::BLOCK;
use rustysynth::{Synthesizer, SynthesizerSettings};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A parsed SoundFont, shareable between renders.
#[derive(Clone, Debug)]
pub struct SoundFont {
    path: PathBuf,
    font: Arc<rustysynth::SoundFont>,
}

/// The sample rates `rustysynth` accepts.
pub(crate) const RATES: (u32, u32) = (16_000, 192_000);

impl SoundFont {
    /// Read and parse a `.sf2` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| AudioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, path)
    }

    /// Parse a SoundFont held in memory; `name` is used in errors.
    pub fn from_bytes(bytes: &[u8], name: impl AsRef<Path>) -> Result<Self> {
        let path = name.as_ref().to_path_buf();
        let bad = |message: String| AudioError::SoundFont {
            path: path.clone(),
            message,
        };
        // Cheap checks first, so the common mistakes (a wrong or truncated
        // file) get a precise message.
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"sfbk" {
            return Err(bad("no RIFF 'sfbk' header (not a SoundFont 2 file)".into()));
        }
        let declared = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        if declared.saturating_add(8) > bytes.len() {
            return Err(bad(format!(
                "truncated: the header announces {} bytes, the file has {}",
                declared.saturating_add(8),
                bytes.len()
            )));
        }
        // The parser returns errors for what it checks; a panic on a file it
        // does not expect is turned into an error too, never passed on.
        let parsed = std::panic::catch_unwind(|| rustysynth::SoundFont::new(&mut std::io::Cursor::new(bytes)));
        match parsed {
            Ok(Ok(font)) if !font.get_presets().is_empty() => Ok(SoundFont {
                path,
                font: Arc::new(font),
            }),
            Ok(Ok(_)) => Err(bad("it holds no preset".into())),
            Ok(Err(e)) => Err(bad(e.to_string())),
            Err(_) => Err(bad("the SoundFont parser failed on malformed data".into())),
        }
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of presets (instruments and drum kits) it offers.
    pub fn preset_count(&self) -> usize {
        self.font.get_presets().len()
    }
}

/// Which synthesizer and MIDI channel plays a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub synth: usize,
    pub channel: u8,
}

/// The channel rule of the module docs.
pub(crate) fn layout(tracks: &[TrackInfo]) -> (Vec<Slot>, usize) {
    const MELODIC: [u8; 15] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15];
    let mut melodic = 0usize;
    let mut kits: Vec<u8> = Vec::new();
    let slots: Vec<Slot> = tracks
        .iter()
        .map(|t| {
            if t.is_drum {
                let k = kits.iter().position(|&p| p == t.program).unwrap_or_else(|| {
                    kits.push(t.program);
                    kits.len() - 1
                });
                Slot { synth: k, channel: 9 }
            } else {
                let i = melodic;
                melodic += 1;
                Slot {
                    synth: i / MELODIC.len(),
                    channel: MELODIC[i % MELODIC.len()],
                }
            }
        })
        .collect();
    let synths = slots.iter().map(|s| s.synth + 1).max().unwrap_or(1);
    (slots, synths)
}

/// A render in progress on one font.
pub(crate) struct SoundFontPlayer {
    synths: Vec<Synthesizer>,
    slots: Vec<Slot>,
    left: [f32; BLOCK],
    right: [f32; BLOCK],
}

impl SoundFontPlayer {
    pub(crate) fn new(font: &SoundFont, tracks: &[TrackInfo], sample_rate: u32, max_voices: usize) -> Result<Self> {
        let (slots, n) = layout(tracks);
        let mut settings = SynthesizerSettings::new(sample_rate as i32);
        settings.block_size = BLOCK;
        settings.maximum_polyphony = max_voices.clamp(8, 256);
        let mut synths = Vec::with_capacity(n);
        for _ in 0..n {
            synths.push(
                Synthesizer::new(&font.font, &settings).map_err(|e| AudioError::SampleRate {
                    rate: sample_rate,
                    min: RATES.0,
                    max: RATES.1,
                    synth: match e {
                        rustysynth::SynthesizerError::SampleRateOutOfRange(_) => "SoundFont synthesizer",
                        _ => "SoundFont synthesizer (settings)",
                    },
                })?,
            );
        }
        Ok(SoundFontPlayer {
            synths,
            slots,
            left: [0.0; BLOCK],
            right: [0.0; BLOCK],
        })
    }

    /// Apply an event (at the start of the next block).
    pub(crate) fn event(&mut self, ev: &Event) {
        let Some(slot) = self.slots.get(ev.track as usize) else {
            return;
        };
        let Some(s) = self.synths.get_mut(slot.synth) else {
            return;
        };
        let ch = i32::from(slot.channel);
        match ev.kind {
            EventKind::NoteOn { key, velocity, .. } => s.note_on(ch, i32::from(key), i32::from(velocity)),
            EventKind::NoteOff { key, .. } => s.note_off(ch, i32::from(key)),
            EventKind::Program(p) => s.process_midi_message(ch, 0xC0, i32::from(p), 0),
            EventKind::Control { number, value } => {
                s.process_midi_message(ch, 0xB0, i32::from(number), i32::from(value))
            }
            EventKind::Bend(b) => {
                let v = i32::from(b) + 8192;
                s.process_midi_message(ch, 0xE0, v & 0x7F, v >> 7)
            }
        }
    }

    /// Render the next block into `left` and `right` (overwritten).
    pub(crate) fn render(&mut self, left: &mut [f32; BLOCK], right: &mut [f32; BLOCK]) {
        *left = [0.0; BLOCK];
        *right = [0.0; BLOCK];
        for s in &mut self.synths {
            s.render(&mut self.left, &mut self.right);
            for n in 0..BLOCK {
                left[n] += self.left[n];
                right[n] += self.right[n];
            }
        }
    }
}

impl crate::Player for SoundFontPlayer {
    fn event(&mut self, ev: &Event, _offset: usize) {
        SoundFontPlayer::event(self, ev);
    }

    fn render(&mut self, left: &mut [f32; BLOCK], right: &mut [f32; BLOCK]) -> bool {
        SoundFontPlayer::render(self, left, right);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_get_their_own_channels_and_drums_share_one_per_kit() {
        let mel = TrackInfo {
            program: 0,
            is_drum: false,
        };
        let drum = |program| TrackInfo { program, is_drum: true };
        let mut tracks = vec![mel; 16];
        tracks.insert(3, drum(0));
        tracks.push(drum(0));
        tracks.push(drum(25));
        let (slots, n) = layout(&tracks);
        assert_eq!(n, 2);
        assert_eq!(slots[3], Slot { synth: 0, channel: 9 });
        assert_eq!(slots[17], Slot { synth: 0, channel: 9 });
        assert_eq!(slots[18], Slot { synth: 1, channel: 9 });
        assert_eq!(slots[9], Slot { synth: 0, channel: 8 });
        assert_eq!(slots[10], Slot { synth: 0, channel: 10 });
        assert_eq!(slots[16], Slot { synth: 1, channel: 0 });
    }

    #[test]
    fn broken_soundfonts_are_errors() {
        for bytes in [&b""[..], b"RIFF\x04\0\0\0sfbk", b"RIFF\xff\0\0\0sfbkLIST"] {
            let e = SoundFont::from_bytes(bytes, "x.sf2").unwrap_err();
            assert!(e.to_string().starts_with("x.sf2: not a usable SoundFont"), "{e}");
        }
    }
}
