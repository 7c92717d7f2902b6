//! From a score to one time-ordered list of synthesizer events.
//!
//! Both synthesizers (the built-in one and the SoundFont one) are fed the
//! same list, so they agree on what is played and when. Times become sample
//! frames (`round(seconds × rate)`; a negative or NaN time plays at 0). Each
//! note gives a note-on and a note-off at least one frame later (a
//! zero-length note still sounds briefly instead of hanging). At one frame,
//! note-offs come first (a repeated note is released before it is struck
//! again), then program changes, controls, pitch bends, and note-ons last, so
//! a note starts with its track's settings of that instant.
//!
//! Controls and pitch bends follow the MIDI channel they were on; notes and
//! programs follow the track. A MIDI file's channel is one set of
//! controllers shared by every part on it, and `fugue-score` splits a
//! channel into one track per program (symusic's rule), which often leaves
//! the channel's volume and pan in a part without notes. So a track's
//! controls and bends are played on every track with the same `channel`
//! value, as a MIDI player would; scores from MusicXML or models give each
//! part its own channel and are not affected.
//!
//! The sustain pedal is taken from the track's CC64 controls when it has any
//! (they are the source of truth in `fugue-score`); otherwise its `pedals`
//! become CC64 127 / 0 pairs. Later program changes come from the track's
//! `extra` events. Values that do not fit MIDI (from a hand-written JSON
//! score) are clamped: velocities to 1..=127, controls to 0..=127, bends to
//! -8192..=8191; notes with a pitch over 127 are skipped.

use crate::error::{AudioError, Result};
use fugue_score::{RawKind, Score, Second};

/// What happens at an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// Release note number `note` (its index in the score) on key `key`.
    NoteOff { key: u8, note: u32 },
    /// Select a General MIDI program for the following notes.
    Program(u8),
    /// A control change.
    Control { number: u8, value: u8 },
    /// A pitch bend, -8192..=8191.
    Bend(i16),
    /// Strike note number `note`.
    NoteOn { key: u8, velocity: u8, note: u32 },
}

impl EventKind {
    /// Order of kinds at the same frame (see the module docs).
    fn class(&self) -> u8 {
        match self {
            EventKind::NoteOff { .. } => 0,
            EventKind::Program(_) => 1,
            EventKind::Control { .. } => 2,
            EventKind::Bend(_) => 3,
            EventKind::NoteOn { .. } => 4,
        }
    }
}

/// An event of one track at a sample frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub frame: u64,
    pub track: u32,
    pub kind: EventKind,
}

/// What a synthesizer needs to know about a track before it plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TrackInfo {
    pub program: u8,
    pub is_drum: bool,
}

/// The whole score as events.
#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    pub events: Vec<Event>,
    pub tracks: Vec<TrackInfo>,
}

/// The frame of a time in seconds.
pub(crate) fn frame_of(seconds: f64, sample_rate: u32) -> u64 {
    let f = seconds * f64::from(sample_rate);
    if f > 0.0 {
        // `as` saturates; the caller checks the length limit.
        f.round() as u64
    } else {
        0
    }
}

fn clamp7(v: u8) -> u8 {
    v.min(127)
}

/// The events of a score, sorted; an error when the score would play past
/// `max_frames`.
pub(crate) fn timeline(score: &Score<Second>, sample_rate: u32, max_frames: u64) -> Result<Timeline> {
    let mut events = Vec::new();
    let mut tracks = Vec::with_capacity(score.tracks.len());
    let mut note_id: u32 = 0;
    // The tracks of each MIDI channel value (see the module docs).
    let mut by_channel: Vec<Vec<u32>> = vec![Vec::new(); 256];
    for (ti, track) in score.tracks.iter().enumerate() {
        by_channel[usize::from(track.channel)].push(ti as u32);
    }
    for (ti, track) in score.tracks.iter().enumerate() {
        let t = ti as u32;
        let group = &by_channel[usize::from(track.channel)];
        let program = clamp7(track.program);
        tracks.push(TrackInfo {
            program,
            is_drum: track.is_drum,
        });
        let at = |s: f64| frame_of(s, sample_rate);
        events.push(Event {
            frame: 0,
            track: t,
            kind: EventKind::Program(program),
        });
        for raw in &track.extra {
            if let RawKind::ProgramChange(p) = raw.kind {
                events.push(Event {
                    frame: at(raw.time),
                    track: t,
                    kind: EventKind::Program(clamp7(p)),
                });
            }
        }
        let has_cc64 = track.controls.iter().any(|c| c.number == 64);
        for c in &track.controls {
            if c.number > 127 {
                continue;
            }
            for &m in group {
                events.push(Event {
                    frame: at(c.time),
                    track: m,
                    kind: EventKind::Control {
                        number: c.number,
                        value: clamp7(c.value),
                    },
                });
            }
        }
        if !has_cc64 {
            for p in &track.pedals {
                let down = at(p.time);
                for (frame, value) in [(down, 127), (at(p.end()).max(down), 0)] {
                    for &m in group {
                        events.push(Event {
                            frame,
                            track: m,
                            kind: EventKind::Control { number: 64, value },
                        });
                    }
                }
            }
        }
        for b in &track.pitch_bends {
            for &m in group {
                events.push(Event {
                    frame: at(b.time),
                    track: m,
                    kind: EventKind::Bend(b.value.clamp(-8192, 8191)),
                });
            }
        }
        for n in &track.notes {
            let note = note_id;
            note_id = note_id.wrapping_add(1);
            if n.pitch > 127 {
                continue;
            }
            let on = at(n.time);
            let off = at(n.end()).max(on + 1);
            events.push(Event {
                frame: on,
                track: t,
                kind: EventKind::NoteOn {
                    key: n.pitch,
                    velocity: n.velocity.clamp(1, 127),
                    note,
                },
            });
            events.push(Event {
                frame: off,
                track: t,
                kind: EventKind::NoteOff { key: n.pitch, note },
            });
        }
    }
    let last = events.iter().map(|e| e.frame).max().unwrap_or(0);
    if last > max_frames {
        return Err(AudioError::TooLong {
            seconds: last as f64 / f64::from(sample_rate),
            limit: max_frames as f64 / f64::from(sample_rate),
        });
    }
    // Stable: events of one frame and class keep track order, then list order.
    events.sort_by_key(|e| (e.frame, e.kind.class()));
    Ok(Timeline { events, tracks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fugue_score::{ControlChange, Note, Pedal, Track};

    fn score() -> Score<Second> {
        let mut s = Score::<Second>::new(480);
        let mut t = Track::new("p", 0, 0);
        t.notes.push(Note::new(0.5, 0.5, 60, 100));
        t.notes.push(Note::new(1.0, 0.0, 60, 0));
        t.pedals.push(Pedal {
            time: 0.0,
            duration: 2.0,
        });
        s.tracks.push(t);
        s
    }

    #[test]
    fn repeated_notes_release_before_they_strike_and_zero_lengths_sound() {
        let tl = timeline(&score(), 1000, u64::MAX).unwrap();
        let kinds: Vec<(u64, u8)> = tl.events.iter().map(|e| (e.frame, e.kind.class())).collect();
        assert_eq!(
            kinds,
            vec![(0, 1), (0, 2), (500, 4), (1000, 0), (1000, 4), (1001, 0), (2000, 2)]
        );
        assert!(matches!(tl.events[4].kind, EventKind::NoteOn { velocity: 1, .. }));
    }

    #[test]
    fn cc64_controls_win_over_pedals() {
        let mut s = score();
        s.tracks[0].controls.push(ControlChange {
            time: 0.25,
            number: 64,
            value: 100,
        });
        let tl = timeline(&s, 1000, u64::MAX).unwrap();
        let cc: Vec<u64> = tl
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Control { .. }))
            .map(|e| e.frame)
            .collect();
        assert_eq!(cc, vec![250]);
    }

    #[test]
    fn controls_reach_every_track_of_their_channel() {
        let mut s = score();
        let mut silent = Track::new("p", 0, 0);
        silent.controls.push(ControlChange {
            time: 0.0,
            number: 7,
            value: 70,
        });
        s.tracks.insert(0, silent);
        s.tracks.push(Track::new("other", 0, 1));
        let tl = timeline(&s, 1000, u64::MAX).unwrap();
        let vol: Vec<u32> = tl
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Control { number: 7, .. }))
            .map(|e| e.track)
            .collect();
        assert_eq!(vol, vec![0, 1]);
    }

    #[test]
    fn too_long_is_an_error() {
        assert!(matches!(
            timeline(&score(), 1000, 1500),
            Err(AudioError::TooLong { .. })
        ));
    }
}
