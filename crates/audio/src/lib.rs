//! # fugue-audio
//!
//! Scores to sound: render a [`Score`] with the built-in synthesizer (the
//! default, nothing to download) or with a SoundFont, then write a WAV file.
//!
//! ```
//! use fugue_audio::{render, wav_bytes, RenderOptions};
//! use fugue_score::{Note, Score, Tick, Track};
//!
//! let mut score = Score::<Tick>::new(480);
//! let mut piano = Track::new("piano", 0, 0);
//! piano.notes.push(Note::new(0, 480, 60, 90)); // middle C, half a second at 120 qpm
//! score.tracks.push(piano);
//!
//! let audio = render(&score, &RenderOptions::default()).unwrap();
//! assert_eq!((audio.sample_rate, audio.channels), (44_100, 2));
//! assert!(audio.duration().as_secs_f64() > 0.5); // the note plus its release
//! let wav = wav_bytes(&audio).unwrap(); // or write_wav(path, &audio, overwrite)
//! assert_eq!(&wav[..4], b"RIFF");
//! ```
//!
//! What is played: every track's notes, program changes, control changes
//! (volume, expression, pan, sustain pedal, pitch-bend range...) and pitch
//! bends, in time order (the rules are in the docs of the `events` module
//! and of [`soundfont`] for channel assignment). The audio starts at time 0
//! of the score and ends when the last sound has died away after the last
//! event, or [`RenderOptions::max_tail`] after it. A look-ahead limiter keeps
//! peaks under -1 dBFS ([`limiter::THRESHOLD`]) without clipping.
//!
//! Rendering is deterministic: the same score and options give bit-identical
//! samples. This crate knows nothing of tokens, models or terminals; it
//! returns typed errors ([`AudioError`]) and never panics on input.
#![warn(missing_docs)]

pub mod error;
mod events;
pub mod limiter;
pub mod soundfont;
mod synth;
pub mod wav;

pub use error::{AudioError, Result};
pub use soundfont::SoundFont;
pub use wav::{read_wav, read_wav_bytes, wav_bytes, write_wav};

use fugue_score::{Quarter, Score, Second, Tick};
use std::borrow::Cow;
use std::time::Duration;
use synth::bank::BLOCK;

/// Rendered audio: interleaved samples in -1..1.
#[derive(Clone, Debug, PartialEq)]
pub struct Audio {
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels per frame (2 for renders: left, right).
    pub channels: u16,
    /// Samples, frame after frame (`L R L R ...` for stereo).
    pub samples: Vec<f32>,
}

impl Audio {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    /// Length in time.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.frames() as f64 / f64::from(self.sample_rate.max(1)))
    }

    /// The largest absolute sample.
    pub fn peak(&self) -> f32 {
        self.samples.iter().fold(0.0, |m, &x| m.max(x.abs()))
    }

    /// Root mean square over all samples.
    pub fn rms(&self) -> f32 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let sum: f64 = self.samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        (sum / self.samples.len() as f64).sqrt() as f32
    }
}

/// Which synthesizer renders.
#[derive(Clone, Debug, Default)]
pub enum Synth {
    /// fugue's own additive synthesizer (see the `synth` module docs in the
    /// source: piano, GM families, drum kit).
    #[default]
    BuiltIn,
    /// A SoundFont through `rustysynth`.
    SoundFont(SoundFont),
}

/// How to render.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Frames per second (default 44,100). The built-in synthesizer takes
    /// 8,000–192,000, the SoundFont one 16,000–192,000.
    pub sample_rate: u32,
    /// The synthesizer (default: built-in).
    pub synth: Synth,
    /// Most notes sounding at once (default 64); more steal the quietest.
    pub max_voices: usize,
    /// Longest sound after the last event (default 5 s): a release or a
    /// reverb tail is cut there.
    pub max_tail: Duration,
    /// Longest score accepted (default 1 hour), so that a bogus tempo cannot
    /// ask for terabytes of audio.
    pub max_duration: Duration,
    /// Linear gain on the mix before the limiter (default 1).
    pub gain: f32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            sample_rate: 44_100,
            synth: Synth::BuiltIn,
            max_voices: 64,
            max_tail: Duration::from_secs(5),
            max_duration: Duration::from_secs(3600),
            gain: 1.0,
        }
    }
}

/// A score in any time unit, seen in seconds for rendering.
pub trait ToSeconds {
    /// The score timed in seconds (borrowed when it already is).
    fn in_seconds(&self) -> Cow<'_, Score<Second>>;
}

impl ToSeconds for Score<Second> {
    fn in_seconds(&self) -> Cow<'_, Score<Second>> {
        Cow::Borrowed(self)
    }
}

impl ToSeconds for Score<Tick> {
    fn in_seconds(&self) -> Cow<'_, Score<Second>> {
        Cow::Owned(self.to_second())
    }
}

impl ToSeconds for Score<Quarter> {
    fn in_seconds(&self) -> Cow<'_, Score<Second>> {
        Cow::Owned(self.to_second())
    }
}

/// Peak under which a block counts as silent when the synthesizer cannot
/// tell that it is idle (-80 dBFS).
const QUIET: f32 = 1e-4;
/// How long the SoundFont synthesizer must stay quiet to be over.
const QUIET_FRAMES: u64 = 4096;

/// Render a score (in ticks, quarters or seconds) to stereo audio.
pub fn render<S: ToSeconds + ?Sized>(score: &S, options: &RenderOptions) -> Result<Audio> {
    let sr = options.sample_rate;
    let (min, max, name) = match &options.synth {
        Synth::BuiltIn => (8_000, 192_000, "built-in synthesizer"),
        Synth::SoundFont(_) => (soundfont::RATES.0, soundfont::RATES.1, "SoundFont synthesizer"),
    };
    if !(min..=max).contains(&sr) {
        return Err(AudioError::SampleRate {
            rate: sr,
            min,
            max,
            synth: name,
        });
    }
    let score = score.in_seconds();
    let max_frames = (options.max_duration.as_secs_f64() * f64::from(sr)) as u64;
    let timeline = events::timeline(&score, sr, max_frames)?;
    let mut samples = match &options.synth {
        Synth::BuiltIn => {
            let mut engine = synth::Engine::new(&timeline.tracks, sr, options.max_voices);
            drive(&mut engine, &timeline.events, options)
        }
        Synth::SoundFont(font) => {
            let mut player = soundfont::SoundFontPlayer::new(font, &timeline.tracks, sr, options.max_voices)?;
            // `rustysynth` can index out of its sample data on a font whose
            // generators point outside it; the player is dropped with the
            // failed render, so containing that is sound.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                drive(&mut player, &timeline.events, options)
            }))
            .map_err(|_| AudioError::SoundFont {
                path: font.path().to_path_buf(),
                message: "the synthesizer failed on its data (sample or generator ranges out of bounds)".into(),
            })?
        }
    };
    if options.gain != 1.0 {
        for s in &mut samples {
            *s *= options.gain;
        }
    }
    limiter::limit(&mut samples, 2, sr);
    Ok(Audio {
        sample_rate: sr,
        channels: 2,
        samples,
    })
}

/// A synthesizer as the render loop drives it.
pub(crate) trait Player {
    /// Apply an event `offset` frames into the next block.
    fn event(&mut self, ev: &events::Event, offset: usize);
    /// Fill the next block (overwriting); true when nothing sounds any more
    /// (a player that cannot tell returns false and ends after a quiet stretch).
    fn render(&mut self, left: &mut [f32; BLOCK], right: &mut [f32; BLOCK]) -> bool;
}

/// Run a synthesizer over the events block by block and collect
/// interleaved stereo, up to the end rule of the crate docs.
fn drive(player: &mut impl Player, events: &[events::Event], options: &RenderOptions) -> Vec<f32> {
    let Some(last) = events.last().map(|e| e.frame) else {
        return Vec::new();
    };
    let sr = f64::from(options.sample_rate);
    let tail_end = last + (options.max_tail.as_secs_f64() * sr) as u64;
    let mut out = Vec::with_capacity(((last as usize).saturating_add(sr as usize)).saturating_mul(2));
    let (mut l, mut r) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    let mut frame = 0u64;
    let mut next = 0;
    let mut quiet = 0u64;
    loop {
        let block_end = frame + BLOCK as u64;
        while let Some(ev) = events.get(next).filter(|e| e.frame < block_end) {
            player.event(ev, (ev.frame - frame) as usize);
            next += 1;
        }
        let idle = player.render(&mut l, &mut r);
        for n in 0..BLOCK {
            out.push(l[n]);
            out.push(r[n]);
        }
        frame = block_end;
        if next < events.len() {
            continue;
        }
        let peak = l.iter().chain(&r).fold(0.0f32, |m, &x| m.max(x.abs()));
        quiet = if peak < QUIET { quiet + BLOCK as u64 } else { 0 };
        if idle || quiet >= QUIET_FRAMES || frame >= tail_end {
            break;
        }
    }
    out
}
