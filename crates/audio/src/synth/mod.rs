//! fugue's built-in synthesizer: the default, so that rendering works with
//! nothing downloaded.
//!
//! Why our own: a SoundFont needs a sample bank of megabytes that fugue may
//! not ship (the small GM fonts are GPL, the good ones are 100+ MB), and the
//! synthesizer crates we know either need such a bank or are real-time
//! audio frameworks (plug-in hosts, audio graphs, device I/O) with no General
//! MIDI instrument set, pedal handling or offline determinism. What a music
//! model needs is an honest, fast, deterministic preview of a score; a few
//! hundred lines of additive synthesis give that.
//!
//! How it works:
//! - Every tonal note is a bank of partials ([`bank`]), each a damped complex
//!   rotation, so pitch, per-partial decay and inharmonicity are exact and
//!   nothing aliases. The instrument families and their designs are in
//!   [`patch`]; the drum kit (for `is_drum` tracks) is in [`drums`].
//! - Each voice has an envelope ([`mod@env`]) started and released at the exact
//!   sample of its event. A note-off while the track's sustain pedal (CC64
//!   ≥ 64) is down leaves the note sounding until the pedal lifts. Striking a
//!   key that still sounds (released, or held up by the pedal) damps the old
//!   voice in a few milliseconds, as a re-struck string would.
//! - Polyphony is limited ([`crate::RenderOptions::max_voices`]). A new note
//!   over the limit steals a voice: released voices before held ones, the
//!   quietest first, then the oldest; the stolen voice fades in 3 ms rather
//!   than clicking off.
//! - Per track: volume (CC7) and expression (CC11) as GM's squared curves,
//!   pan (CC10, equal-power), pitch bend with its range (RPN 0, default ±2
//!   semitones), program changes for the following notes, all-notes-off
//!   (CC123) and all-sound-off (CC120), reset-all-controllers (CC121).
//! - Rendering runs in blocks of 64 samples; the output is stereo.
//!
//! Everything is computed in a fixed order with no randomness except seeded
//! noise, so the same score gives bit-identical audio.

pub(crate) mod bank;
pub(crate) mod drums;
pub(crate) mod env;
pub(crate) mod patch;

use crate::events::{Event, EventKind, TrackInfo};
use bank::{Bank, BLOCK};
use drums::Drum;
use env::{EnvSpec, Envelope};

/// Time constant of a damped re-struck or all-sound-off voice (seconds).
const DAMP: f64 = 0.01;
/// Time constant of a stolen voice's fade (seconds).
const STEAL: f64 = 0.003;
/// Voices quieter than this are over (-90 dBFS).
const GONE: f32 = 3e-5;
/// Output level: designs peak at 0.3 for a full-velocity note; this brings
/// a typical piano piece to about -20 dBFS RMS, loud chords to the limiter.
const MASTER: f32 = 4.0;

#[derive(Clone, Copy, Debug)]
struct Channel {
    info: TrackInfo,
    program: u8,
    volume: u8,
    expression: u8,
    pan: u8,
    sustain: bool,
    bend: i16,
    bend_range: f64,
    rpn: (u8, u8),
}

impl Channel {
    fn new(info: TrackInfo) -> Self {
        Channel {
            info,
            program: info.program,
            volume: 100,
            expression: 127,
            pan: 64,
            sustain: false,
            bend: 0,
            bend_range: 2.0,
            rpn: (127, 127),
        }
    }

    /// Linear gain from volume and expression (GM: 40·log10(v/127) dB each).
    fn gain(&self) -> f32 {
        let v = f32::from(self.volume) / 127.0;
        let e = f32::from(self.expression) / 127.0;
        v * v * e * e
    }

    /// Pan in -1..1.
    fn pan(&self) -> f32 {
        ((f32::from(self.pan) - 64.0) / 63.0).clamp(-1.0, 1.0)
    }

    /// The frequency factor of the current bend.
    fn pitch_factor(&self) -> f64 {
        (f64::from(self.bend) / 8192.0 * self.bend_range / 12.0).exp2()
    }
}

#[derive(Clone, Debug)]
enum Sound {
    Tonal(Bank),
    Drum(Drum),
}

/// The hammer thump of a piano note: low-passed noise fading in ~8 ms.
#[derive(Clone, Debug)]
struct Thump {
    level: f32,
    decay: f32,
    lp: f32,
    a: f32,
    rng: u32,
    left: usize,
    delay: usize,
}

impl Thump {
    fn add(&mut self, out: &mut [f32; BLOCK]) {
        for o in out.iter_mut().skip(self.delay) {
            if self.left == 0 {
                break;
            }
            self.left -= 1;
            let mut x = self.rng;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            self.rng = x;
            let w = (x as f32 / u32::MAX as f32) * 2.0 - 1.0;
            self.lp += self.a * (w - self.lp);
            *o += self.level * self.lp;
            self.level *= self.decay;
        }
        self.delay = 0;
    }
}

#[derive(Clone, Debug)]
struct Voice {
    track: u32,
    note: u32,
    key: u8,
    start: u64,
    /// The key is down.
    held: bool,
    /// Released while the pedal was down: waits for the pedal to lift.
    sustained: bool,
    /// Stolen: fading out, no longer counted against the voice limit.
    dying: bool,
    pan: f32,
    env: Envelope,
    sound: Sound,
    thump: Option<Thump>,
    gain_l: f32,
    gain_r: f32,
}

impl Voice {
    fn set_gains(&mut self, ch: &Channel) {
        let pan = (ch.pan() + self.pan).clamp(-1.0, 1.0);
        let theta = (pan + 1.0) * std::f32::consts::FRAC_PI_4;
        let g = ch.gain() * MASTER;
        self.gain_l = g * theta.cos();
        self.gain_r = g * theta.sin();
    }

    fn loudness(&self) -> f32 {
        let l = match &self.sound {
            Sound::Tonal(b) => b.level() as f32,
            Sound::Drum(_) => 0.3,
        };
        l * self.env.level()
    }
}

/// The built-in synthesizer's state over one render.
pub(crate) struct Engine {
    sample_rate: f64,
    limit: f64,
    channels: Vec<Channel>,
    voices: Vec<Voice>,
    max_voices: usize,
    frame: u64,
    mono: [f32; BLOCK],
    env: [f32; BLOCK],
}

impl Engine {
    pub(crate) fn new(tracks: &[TrackInfo], sample_rate: u32, max_voices: usize) -> Self {
        let sr = f64::from(sample_rate);
        Engine {
            sample_rate: sr,
            limit: (0.4 * sr).min(16_000.0),
            channels: tracks.iter().map(|&t| Channel::new(t)).collect(),
            voices: Vec::with_capacity(max_voices + 8),
            max_voices: max_voices.max(1),
            frame: 0,
            mono: [0.0; BLOCK],
            env: [0.0; BLOCK],
        }
    }

    /// Apply an event `offset` samples into the next block.
    pub(crate) fn event(&mut self, ev: &Event, offset: usize) {
        let t = ev.track as usize;
        let Some(ch) = self.channels.get_mut(t) else {
            return;
        };
        match ev.kind {
            EventKind::Program(p) => ch.program = p,
            EventKind::Bend(b) => {
                ch.bend = b;
                self.retune(ev.track);
            }
            EventKind::Control { number, value } => self.control(ev.track, number, value, offset),
            EventKind::NoteOff { note, .. } => {
                let sustain = ch.sustain;
                let sr = self.sample_rate;
                for v in self.voices.iter_mut().filter(|v| v.note == note && v.track == ev.track) {
                    if let Sound::Drum(_) = v.sound {
                        continue; // one-shots
                    }
                    v.held = false;
                    if sustain {
                        v.sustained = true;
                    } else {
                        v.env.release(offset, None, sr);
                    }
                }
            }
            EventKind::NoteOn { key, velocity, note } => self.note_on(ev.track, key, velocity, note, offset),
        }
    }

    fn control(&mut self, track: u32, number: u8, value: u8, offset: usize) {
        let sr = self.sample_rate;
        let Some(ch) = self.channels.get_mut(track as usize) else {
            return;
        };
        let mut regain = false;
        match number {
            7 => (ch.volume, regain) = (value, true),
            11 => (ch.expression, regain) = (value, true),
            10 => (ch.pan, regain) = (value, true),
            64 => {
                let down = value >= 64;
                if ch.sustain && !down {
                    for v in self.voices.iter_mut().filter(|v| v.track == track && v.sustained) {
                        v.sustained = false;
                        v.env.release(offset, None, sr);
                    }
                }
                ch.sustain = down;
            }
            101 => ch.rpn.0 = value,
            100 => ch.rpn.1 = value,
            6 if ch.rpn == (0, 0) => {
                ch.bend_range = f64::from(value.min(24));
                self.retune(track);
            }
            120 | 123 => {
                let all = number == 120;
                for v in self.voices.iter_mut().filter(|v| v.track == track) {
                    if all || matches!(v.sound, Sound::Tonal(_)) {
                        v.held = false;
                        v.sustained = false;
                        v.env.release(offset, all.then_some(DAMP), sr);
                    }
                }
            }
            121 => {
                ch.expression = 127;
                ch.bend = 0;
                ch.rpn = (127, 127);
                regain = true;
                self.control(track, 64, 0, offset);
                self.retune(track);
            }
            _ => {}
        }
        if regain {
            if let Some(ch) = self.channels.get(track as usize) {
                for v in self.voices.iter_mut().filter(|v| v.track == track) {
                    v.set_gains(ch);
                }
            }
        }
    }

    /// Apply the track's current bend to its sounding voices.
    fn retune(&mut self, track: u32) {
        let Some(ch) = self.channels.get(track as usize) else {
            return;
        };
        let f = ch.pitch_factor();
        for v in self.voices.iter_mut().filter(|v| v.track == track) {
            if let Sound::Tonal(b) = &mut v.sound {
                b.set_pitch(f);
            }
        }
    }

    fn note_on(&mut self, track: u32, key: u8, velocity: u8, note: u32, offset: usize) {
        let sr = self.sample_rate;
        let Some(&ch) = self.channels.get(track as usize) else {
            return;
        };
        let is_drum = ch.info.is_drum;
        // A key struck again: its old sound (released or pedalled) is damped;
        // a closed hi-hat chokes an open one.
        for v in self.voices.iter_mut().filter(|v| v.track == track && !v.dying) {
            let restrike = v.key == key && !v.held && !is_drum;
            let choke = is_drum && drums::is_open_hat(v.key) && drums::closes_hat(key);
            if restrike || choke {
                v.sustained = false;
                v.env.release(offset, Some(DAMP), sr);
            }
        }
        let live = self.voices.iter().filter(|v| !v.dying).count();
        if live >= self.max_voices {
            self.steal(offset);
        }
        let start = self.frame + offset as u64;
        let (sound, env, pan, thump) = if is_drum {
            let gain = 0.2 * (f32::from(velocity) / 127.0).powf(1.5);
            let drum = Drum::new(key, gain, sr as f32, offset, note ^ (u32::from(key) << 24));
            let spec = EnvSpec {
                attack: 0.0,
                decay: 1.0,
                sustain: 1.0,
                release: 0.01,
            };
            (Sound::Drum(drum), Envelope::new(&spec, sr, offset), 0.0, None)
        } else {
            let d = patch::design(ch.program, key, velocity, self.limit);
            let f0 = 440.0 * ((f64::from(key) - 69.0) / 12.0).exp2();
            let mut bank = Bank::new(f0, &d.partials, sr, self.limit);
            if ch.bend != 0 {
                bank.set_pitch(ch.pitch_factor());
            }
            let thump = (d.thump > 0.0).then(|| Thump {
                level: d.thump,
                decay: (-1.0 / (0.008 * sr)).exp() as f32,
                lp: 0.0,
                a: (1.0 - (-std::f64::consts::TAU * (4.0 * f0).clamp(300.0, 3000.0) / sr).exp()) as f32,
                rng: note.wrapping_mul(0x2545_F491) | 1,
                left: (0.04 * sr) as usize,
                delay: offset,
            });
            (Sound::Tonal(bank), Envelope::new(&d.env, sr, offset), d.pan, thump)
        };
        let mut voice = Voice {
            track,
            note,
            key,
            start,
            held: true,
            sustained: false,
            dying: false,
            pan,
            env,
            sound,
            thump,
            gain_l: 0.0,
            gain_r: 0.0,
        };
        voice.set_gains(&ch);
        self.voices.push(voice);
    }

    /// Free a voice for a new note (see the module docs for the order).
    fn steal(&mut self, offset: usize) {
        let victim = self
            .voices
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.dying)
            .min_by(|(_, a), (_, b)| {
                let key = |v: &Voice| (v.held || v.sustained, v.loudness(), v.start);
                let (ka, kb) = (key(a), key(b));
                ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(ka.2.cmp(&kb.2))
            })
            .map(|(i, _)| i);
        if let Some(i) = victim {
            let sr = self.sample_rate;
            let v = &mut self.voices[i];
            v.dying = true;
            v.held = false;
            v.sustained = false;
            v.env.release(offset, Some(STEAL), sr);
        }
    }

    /// Whether nothing sounds.
    pub(crate) fn is_idle(&self) -> bool {
        self.voices.is_empty()
    }
}

impl crate::Player for Engine {
    fn event(&mut self, ev: &Event, offset: usize) {
        Engine::event(self, ev, offset);
    }

    fn render(&mut self, left: &mut [f32; BLOCK], right: &mut [f32; BLOCK]) -> bool {
        Engine::render(self, left, right);
        self.is_idle()
    }
}

impl Engine {
    /// Render the next block into `left` and `right` (overwritten).
    pub(crate) fn render(&mut self, left: &mut [f32; BLOCK], right: &mut [f32; BLOCK]) {
        *left = [0.0; BLOCK];
        *right = [0.0; BLOCK];
        for v in &mut self.voices {
            match &mut v.sound {
                Sound::Tonal(b) => b.render(&mut self.mono),
                Sound::Drum(d) => d.render(&mut self.mono),
            }
            if let Some(t) = &mut v.thump {
                t.add(&mut self.mono);
                if t.left == 0 {
                    v.thump = None;
                }
            }
            v.env.fill(&mut self.env);
            let (gl, gr) = (v.gain_l, v.gain_r);
            for n in 0..BLOCK {
                let s = self.mono[n] * self.env[n];
                left[n] += s * gl;
                right[n] += s * gr;
            }
        }
        self.voices.retain(|v| {
            let over = match &v.sound {
                Sound::Tonal(b) => {
                    v.thump.is_none() && (b.is_silent() || (!v.env.is_starting() && v.loudness() < GONE))
                }
                Sound::Drum(d) => d.is_done(),
            };
            !(v.env.is_done() || over)
        });
        self.frame += BLOCK as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(track: u32, key: u8, note: u32) -> Event {
        Event {
            frame: 0,
            track,
            kind: EventKind::NoteOn {
                key,
                velocity: 100,
                note,
            },
        }
    }

    #[test]
    fn the_voice_limit_steals_the_released_quietest_voice_first() {
        let info = TrackInfo {
            program: 0,
            is_drum: false,
        };
        let mut e = Engine::new(&[info], 44_100, 2);
        e.event(&on(0, 60, 0), 0);
        e.event(&on(0, 64, 1), 0);
        let (mut l, mut r) = ([0.0; BLOCK], [0.0; BLOCK]);
        e.render(&mut l, &mut r);
        e.event(
            &Event {
                frame: 64,
                track: 0,
                kind: EventKind::NoteOff { key: 64, note: 1 },
            },
            0,
        );
        e.event(&on(0, 67, 2), 0);
        let dying: Vec<u8> = e.voices.iter().filter(|v| v.dying).map(|v| v.key).collect();
        assert_eq!(dying, vec![64]);
        for _ in 0..20 {
            e.render(&mut l, &mut r);
        }
        let keys: Vec<u8> = e.voices.iter().map(|v| v.key).collect();
        assert_eq!(keys, vec![60, 67]);
    }
}
