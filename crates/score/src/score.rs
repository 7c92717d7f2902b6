//! The score model: plain data with public fields.
//!
//! A [`Score`] is what a music-ML pipeline needs from a file: tracks of notes
//! with their controls, plus the global tempo, meter, key and marker maps. It
//! also keeps, in `extra`, every MIDI event it does not interpret (sysex,
//! sequencer-specific and unknown meta events, aftertouch, program changes
//! after the first...), so that writing a score read from a file loses
//! nothing. Times are in the score's unit `T` (see [`crate::time`]).

use crate::time::{Tick, TimeUnit, TimeValue};
use serde::{Deserialize, Serialize};

/// A sounding note: onset, duration, MIDI pitch (60 = middle C) and velocity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Note<T: TimeUnit> {
    /// Onset.
    pub time: T::Value,
    /// Length (never negative; may be zero).
    pub duration: T::Value,
    /// MIDI pitch, 0..=127.
    pub pitch: u8,
    /// Note-on velocity, 1..=127.
    pub velocity: u8,
}

impl<T: TimeUnit> Note<T> {
    /// A note.
    pub fn new(time: T::Value, duration: T::Value, pitch: u8, velocity: u8) -> Self {
        Note {
            time,
            duration,
            pitch,
            velocity,
        }
    }
    /// When the note ends.
    pub fn end(&self) -> T::Value {
        self.time + self.duration
    }
}

/// A control change (CC) message.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ControlChange<T: TimeUnit> {
    /// When.
    pub time: T::Value,
    /// Controller number, 0..=127 (64 = sustain pedal).
    pub number: u8,
    /// Value, 0..=127.
    pub value: u8,
}

/// A pitch-bend message, centred on 0 (-8192..=8191).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct PitchBend<T: TimeUnit> {
    /// When.
    pub time: T::Value,
    /// Bend, -8192..=8191.
    pub value: i16,
}

/// A sustain-pedal press, derived from CC64 (down at value ≥ 64, up below).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Pedal<T: TimeUnit> {
    /// Pedal down.
    pub time: T::Value,
    /// How long it stays down.
    pub duration: T::Value,
}

impl<T: TimeUnit> Pedal<T> {
    /// When the pedal is released.
    pub fn end(&self) -> T::Value {
        self.time + self.duration
    }
}

/// A tempo change, kept as MIDI stores it: microseconds per quarter note.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Tempo<T: TimeUnit> {
    /// When.
    pub time: T::Value,
    /// Microseconds per quarter note (500,000 = 120 quarters per minute).
    pub mspq: u32,
}

impl<T: TimeUnit> Tempo<T> {
    /// A tempo from quarters per minute.
    pub fn from_qpm(time: T::Value, qpm: f64) -> Self {
        Tempo {
            time,
            mspq: (60_000_000.0 / qpm).round() as u32,
        }
    }
    /// Quarter notes per minute.
    pub fn qpm(&self) -> f64 {
        60_000_000.0 / f64::from(self.mspq.max(1))
    }
}

/// A time signature. The denominator is the note value itself (4, 8, ...),
/// not MIDI's power-of-two exponent.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct TimeSignature<T: TimeUnit> {
    /// When.
    pub time: T::Value,
    /// Beats per bar.
    pub numerator: u8,
    /// Beat note value (a power of two).
    pub denominator: u8,
    /// MIDI clocks per metronome click (kept for lossless writing; 24 by default).
    #[serde(default = "default_clocks")]
    pub clocks_per_click: u8,
    /// Notated 32nd notes per MIDI quarter (kept for lossless writing; 8 by default).
    #[serde(default = "default_32nds")]
    pub notated_32nds_per_quarter: u8,
}

fn default_clocks() -> u8 {
    24
}
fn default_32nds() -> u8 {
    8
}

impl<T: TimeUnit> TimeSignature<T> {
    /// A time signature with MIDI's default metronome settings.
    pub fn new(time: T::Value, numerator: u8, denominator: u8) -> Self {
        TimeSignature {
            time,
            numerator,
            denominator,
            clocks_per_click: 24,
            notated_32nds_per_quarter: 8,
        }
    }
    /// Length of one bar in quarter notes.
    pub fn bar_quarters(&self) -> f64 {
        f64::from(self.numerator) * 4.0 / f64::from(self.denominator.max(1))
    }
}

/// A key signature: sharps (positive) or flats (negative), and major/minor.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct KeySignature<T: TimeUnit> {
    /// When.
    pub time: T::Value,
    /// Sharps (1..=7) or flats (-1..=-7); 0 = C major / A minor.
    pub key: i8,
    /// Minor mode.
    pub minor: bool,
}

impl<T: TimeUnit> KeySignature<T> {
    /// The tonic's pitch class (0 = C), from the circle of fifths.
    pub fn tonic_pitch_class(&self) -> u8 {
        let major = (i32::from(self.key) * 7).rem_euclid(12);
        let pc = if self.minor { major + 9 } else { major };
        (pc % 12) as u8
    }
}

/// Text at a time: a lyric syllable or a marker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Text<T: TimeUnit> {
    /// When.
    pub time: T::Value,
    /// The text (decoded as UTF-8, or Latin-1 when it is not valid UTF-8).
    pub text: String,
}

/// A MIDI event the score model keeps without interpreting it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawKind {
    /// A system-exclusive message (`F0`): the bytes after the `F0`.
    SysEx(Vec<u8>),
    /// An escape sequence (`F7`): bytes sent as they are.
    Escape(Vec<u8>),
    /// A meta event the model does not interpret: its type byte and data
    /// (text, copyright, instrument name, cue, sequencer-specific, SMPTE
    /// offset, channel prefix, port, unknown types...).
    Meta {
        /// The meta type (the byte after `FF`).
        kind: u8,
        /// Its data.
        data: Vec<u8>,
    },
    /// A program change that is not the track's initial one.
    ProgramChange(u8),
    /// Channel aftertouch.
    ChannelPressure(u8),
    /// Polyphonic key pressure.
    PolyPressure {
        /// The key.
        key: u8,
        /// The pressure.
        pressure: u8,
    },
}

/// An uninterpreted event at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RawEvent<T: TimeUnit> {
    /// When.
    pub time: T::Value,
    /// What.
    pub kind: RawKind,
}

/// One instrument part: the notes and controls of one MIDI channel and program
/// within one MIDI track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Track<T: TimeUnit> {
    /// Track name (the MIDI track-name meta event).
    #[serde(default)]
    pub name: String,
    /// General MIDI program, 0..=127.
    #[serde(default)]
    pub program: u8,
    /// MIDI channel, 0..=15.
    #[serde(default)]
    pub channel: u8,
    /// A percussion track (MIDI channel 10, i.e. `channel == 9`).
    #[serde(default)]
    pub is_drum: bool,
    /// Notes; after reading, in onset order with ties in note-on order
    /// (symusic's order, which MidiTok's token order follows).
    #[serde(default)]
    pub notes: Vec<Note<T>>,
    /// Control changes in time order (CC64 included: pedals are derived from it).
    #[serde(default)]
    pub controls: Vec<ControlChange<T>>,
    /// Pitch bends in time order.
    #[serde(default)]
    pub pitch_bends: Vec<PitchBend<T>>,
    /// Sustain-pedal presses derived from CC64. Written as CC64 only when
    /// `controls` holds no CC64 (controls are the source of truth).
    #[serde(default)]
    pub pedals: Vec<Pedal<T>>,
    /// Lyric syllables.
    #[serde(default)]
    pub lyrics: Vec<Text<T>>,
    /// Events kept for lossless writing.
    #[serde(default)]
    pub extra: Vec<RawEvent<T>>,
}

impl<T: TimeUnit> Default for Track<T> {
    fn default() -> Self {
        Track {
            name: String::new(),
            program: 0,
            channel: 0,
            is_drum: false,
            notes: Vec::new(),
            controls: Vec::new(),
            pitch_bends: Vec::new(),
            pedals: Vec::new(),
            lyrics: Vec::new(),
            extra: Vec::new(),
        }
    }
}

impl<T: TimeUnit> Track<T> {
    /// An empty track for a program on a channel (channel 9 makes it a drum track).
    pub fn new(name: impl Into<String>, program: u8, channel: u8) -> Self {
        Track {
            name: name.into(),
            program,
            channel,
            is_drum: channel == 9,
            ..Track::default()
        }
    }

    /// Whether the track holds no event at all.
    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
            && self.controls.is_empty()
            && self.pitch_bends.is_empty()
            && self.pedals.is_empty()
            && self.lyrics.is_empty()
            && self.extra.is_empty()
    }

    /// The time of the earliest event, or zero for an empty track.
    pub fn start(&self) -> T::Value {
        let mut t: Option<T::Value> = None;
        let mut see = |v: T::Value| t = Some(t.map_or(v, |x| x.min_of(v)));
        self.notes.iter().for_each(|n| see(n.time));
        self.controls.iter().for_each(|c| see(c.time));
        self.pitch_bends.iter().for_each(|c| see(c.time));
        self.pedals.iter().for_each(|c| see(c.time));
        self.lyrics.iter().for_each(|c| see(c.time));
        self.extra.iter().for_each(|c| see(c.time));
        t.unwrap_or_default()
    }

    /// The time the last event ends (note and pedal ends included).
    pub fn end(&self) -> T::Value {
        let mut t = T::Value::zero();
        self.notes.iter().for_each(|n| t = t.max_of(n.end()));
        self.controls.iter().for_each(|c| t = t.max_of(c.time));
        self.pitch_bends.iter().for_each(|c| t = t.max_of(c.time));
        self.pedals.iter().for_each(|c| t = t.max_of(c.end()));
        self.lyrics.iter().for_each(|c| t = t.max_of(c.time));
        self.extra.iter().for_each(|c| t = t.max_of(c.time));
        t
    }
}

/// A piece of music: tracks plus the global tempo, meter, key and marker maps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Score<T: TimeUnit> {
    /// MIDI resolution: ticks per quarter note. Kept in every unit so a score
    /// can go back to ticks exactly.
    pub ticks_per_quarter: u16,
    /// The instrument parts.
    #[serde(default)]
    pub tracks: Vec<Track<T>>,
    /// Tempo changes in time order (empty means 120 quarters per minute).
    #[serde(default)]
    pub tempos: Vec<Tempo<T>>,
    /// Time-signature changes in time order (empty means 4/4).
    #[serde(default)]
    pub time_signatures: Vec<TimeSignature<T>>,
    /// Key-signature changes in time order.
    #[serde(default)]
    pub key_signatures: Vec<KeySignature<T>>,
    /// Markers (rehearsal letters, section names).
    #[serde(default)]
    pub markers: Vec<Text<T>>,
    /// Uninterpreted events of MIDI tracks that hold no part (e.g. the
    /// conductor track's name, a GM-reset sysex), kept for lossless writing.
    #[serde(default)]
    pub extra: Vec<RawEvent<T>>,
}

impl<T: TimeUnit> Score<T> {
    /// An empty score at a resolution.
    pub fn new(ticks_per_quarter: u16) -> Self {
        Score {
            ticks_per_quarter,
            tracks: Vec::new(),
            tempos: Vec::new(),
            time_signatures: Vec::new(),
            key_signatures: Vec::new(),
            markers: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Total number of notes over all tracks.
    pub fn note_count(&self) -> usize {
        self.tracks.iter().map(|t| t.notes.len()).sum()
    }

    /// The time the last event of any track ends, or the last global event.
    pub fn end(&self) -> T::Value {
        let mut t = T::Value::zero();
        self.tracks.iter().for_each(|tr| t = t.max_of(tr.end()));
        self.tempos.iter().for_each(|x| t = t.max_of(x.time));
        self.time_signatures.iter().for_each(|x| t = t.max_of(x.time));
        self.key_signatures.iter().for_each(|x| t = t.max_of(x.time));
        self.markers.iter().for_each(|x| t = t.max_of(x.time));
        t
    }

    /// The earliest event time over all tracks.
    pub fn start(&self) -> T::Value {
        let mut it = self.tracks.iter().filter(|t| !t.is_empty()).map(|t| t.start());
        let first = it.next().unwrap_or_default();
        it.fold(first, |a, b| a.min_of(b))
    }
}

impl Score<Tick> {
    /// Duration in seconds through the tempo map.
    pub fn duration_seconds(&self) -> f64 {
        crate::tempo_map::TempoMap::new(self.ticks_per_quarter, &self.tempos).tick_to_second(self.end())
    }
}
