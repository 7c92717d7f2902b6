//! A small synthesized General MIDI drum kit.
//!
//! Each sound is built from up to three parts, the classic analog-drum
//! recipe: a *body* (a sine whose pitch falls quickly, for kicks, toms and
//! the snare's shell), *noise* through a band of one-pole filters (snare
//! wires, claps, shakers, the wash of cymbals) and *metal* (six square waves
//! at inharmonic ratios, high-passed, for hi-hats, cymbals and the cowbell).
//! Every part decays exponentially. Drum notes are one-shots: a note-off does
//! not cut them, but a closed or pedal hi-hat chokes an open one, as on a
//! real kit. The noise generator is seeded from the note's index, so a
//! render is the same every time.
//!
//! Keys map by GM families (35–81); keys outside that range play a short
//! high block sound.

use super::bank::BLOCK;
use std::f32::consts::TAU;

/// The recipe of one drum sound.
#[derive(Clone, Copy, Debug, Default)]
struct Recipe {
    /// Body: start and end pitch (Hz), pitch-fall and amplitude time constants (s), level.
    body_from: f32,
    body_to: f32,
    body_fall: f32,
    body_decay: f32,
    body: f32,
    /// Noise: band (Hz) and amplitude time constant, level.
    noise_low: f32,
    noise_high: f32,
    noise_decay: f32,
    noise: f32,
    /// Metal: base frequency of the six squares, high-pass corner, decay, level.
    metal_base: f32,
    metal_decay: f32,
    metal: f32,
    /// Clap: the noise is re-struck this many times, 10 ms apart.
    bursts: u8,
}

/// Ratios of the six square oscillators of the metal part (as in classic
/// analog drum machines: inharmonic, so they clang instead of chording).
const METAL: [f32; 6] = [1.0, 1.4830, 1.8003, 2.5460, 2.6303, 3.8968];

/// Whether `key` is an open hi-hat that a closed one cuts off.
pub(crate) fn is_open_hat(key: u8) -> bool {
    key == 46
}

/// Whether `key` closes the hi-hat.
pub(crate) fn closes_hat(key: u8) -> bool {
    key == 42 || key == 44
}

fn recipe(key: u8) -> Recipe {
    let r = Recipe::default();
    let tom = |hz: f32| Recipe {
        body_from: hz * 1.6,
        body_to: hz,
        body_fall: 0.03,
        body_decay: 0.12,
        body: 0.9,
        noise_low: 200.0,
        noise_high: 3000.0,
        noise_decay: 0.02,
        noise: 0.15,
        ..r
    };
    let hat = |decay: f32| Recipe {
        noise_low: 7000.0,
        noise_high: 16000.0,
        noise_decay: decay,
        noise: 0.2,
        metal_base: 410.0,
        metal_decay: decay,
        metal: 0.18,
        ..r
    };
    let cymbal = |decay: f32, level: f32| Recipe {
        noise_low: 4000.0,
        noise_high: 14000.0,
        noise_decay: decay,
        noise: 0.2 * level,
        metal_base: 340.0,
        metal_decay: decay * 0.8,
        metal: 0.15 * level,
        ..r
    };
    let block = |hz: f32| Recipe {
        body_from: hz * 1.05,
        body_to: hz,
        body_fall: 0.01,
        body_decay: 0.04,
        body: 0.6,
        noise_low: hz,
        noise_high: hz * 4.0,
        noise_decay: 0.008,
        noise: 0.2,
        ..r
    };
    match key {
        35 | 36 => Recipe {
            body_from: 160.0,
            body_to: 48.0,
            body_fall: 0.035,
            body_decay: 0.16,
            body: 1.0,
            noise_low: 1000.0,
            noise_high: 6000.0,
            noise_decay: 0.004,
            noise: 0.25,
            ..r
        },
        37 => block(1700.0),
        38 | 40 => Recipe {
            body_from: 260.0,
            body_to: 180.0,
            body_fall: 0.02,
            body_decay: 0.06,
            body: 0.55,
            noise_low: 1500.0,
            noise_high: 9000.0,
            noise_decay: 0.07,
            noise: 0.6,
            ..r
        },
        39 => Recipe {
            noise_low: 900.0,
            noise_high: 5000.0,
            noise_decay: 0.05,
            noise: 0.8,
            bursts: 3,
            ..r
        },
        41 | 43 | 45 | 47 | 48 | 50 => tom(match key {
            41 => 75.0,
            43 => 90.0,
            45 => 110.0,
            47 => 130.0,
            48 => 155.0,
            _ => 185.0,
        }),
        42 => hat(0.03),
        44 => hat(0.02),
        46 => hat(0.35),
        49 | 57 => cymbal(0.9, 1.0),
        52 => cymbal(0.7, 1.0),
        55 => cymbal(0.4, 0.8),
        51 | 59 => cymbal(0.6, 0.55),
        53 => Recipe {
            metal_base: 620.0,
            metal_decay: 0.5,
            metal: 0.35,
            ..cymbal(0.3, 0.3)
        },
        54 | 69 | 70 | 82 => Recipe {
            noise_low: 5000.0,
            noise_high: 14000.0,
            noise_decay: 0.05,
            noise: 0.4,
            ..r
        },
        56 => Recipe {
            metal_base: 540.0,
            metal_decay: 0.12,
            metal: 0.5,
            ..r
        },
        58 => Recipe {
            noise_low: 2000.0,
            noise_high: 5000.0,
            noise_decay: 0.4,
            noise: 0.3,
            ..r
        },
        60..=68 => block([400.0, 300.0, 330.0, 260.0, 200.0, 190.0, 150.0, 750.0, 560.0][usize::from(key - 60)]),
        71 | 72 => Recipe {
            body_from: 2600.0,
            body_to: 2400.0,
            body_fall: 0.05,
            body_decay: if key == 71 { 0.08 } else { 0.25 },
            body: 0.4,
            ..r
        },
        73 | 74 => Recipe {
            noise_low: 2500.0,
            noise_high: 8000.0,
            noise_decay: if key == 73 { 0.03 } else { 0.12 },
            noise: 0.4,
            ..r
        },
        75..=77 => block([2500.0, 1200.0, 900.0][usize::from(key - 75)]),
        78 | 79 => block(if key == 78 { 500.0 } else { 380.0 }),
        80 | 81 => Recipe {
            body_from: 5200.0,
            body_to: 5200.0,
            body_fall: 1.0,
            body_decay: if key == 80 { 0.05 } else { 0.5 },
            body: 0.3,
            ..r
        },
        _ => block(1000.0),
    }
}

/// One-pole low-pass coefficient for a corner at `hz`.
fn one_pole(hz: f32, sample_rate: f32) -> f32 {
    1.0 - (-TAU * hz.min(0.45 * sample_rate) / sample_rate).exp()
}

/// A cheap sine for the body's swept oscillator: a sine-shaped parabola
/// refined once (error under 0.1 %), on a phase in turns (0..1).
fn sine_turns(x: f32) -> f32 {
    let t = 2.0 * x - 1.0; // -1..1, sine of π·t is -sin(2πx)
    let y = 4.0 * t * (1.0 - t.abs());
    -(y * (0.775 + 0.225 * y.abs()))
}

/// A sounding drum.
#[derive(Clone, Debug)]
pub(crate) struct Drum {
    recipe: Recipe,
    sample_rate: f32,
    /// Samples since the hit (negative while waiting for the start offset).
    t: i64,
    /// Total length in samples.
    length: i64,
    gain: f32,
    rng: u32,
    body_phase: f32,
    metal_phase: [f32; 6],
    lp_a: f32,
    lp_b: f32,
    lp_c: f32,
    hp_a: f32,
    hp_b: f32,
    metal_hp: f32,
    metal_hp_a: f32,
    /// Running envelopes (body, pitch fall, noise, metal) and their
    /// per-sample factors: multiplying is far cheaper than `exp` per sample.
    env: [f32; 4],
    step: [f32; 4],
    /// Samples between clap bursts, and the fade-in increment.
    burst_len: i64,
    fade_step: f32,
}

impl Drum {
    /// A hit on `key` with amplitude `gain`, starting `delay` samples into the
    /// next block; `seed` makes its noise its own.
    pub(crate) fn new(key: u8, gain: f32, sample_rate: f32, delay: usize, seed: u32) -> Self {
        let recipe = recipe(key);
        let longest = [
            recipe.body_decay * (recipe.body > 0.0) as u8 as f32,
            recipe.noise_decay * (recipe.noise > 0.0) as u8 as f32 + 0.01 * f32::from(recipe.bursts),
            recipe.metal_decay * (recipe.metal > 0.0) as u8 as f32,
        ]
        .into_iter()
        .fold(0.0f32, f32::max);
        // -70 dB after 8 time constants: under everything else in a mix.
        let length = ((longest * 8.0).min(4.0) * sample_rate) as i64 + 1;
        Drum {
            recipe,
            sample_rate,
            t: -(delay as i64),
            length,
            gain,
            rng: seed.wrapping_mul(0x9E37_79B9) | 1,
            body_phase: 0.0,
            metal_phase: [0.0, 0.17, 0.41, 0.63, 0.29, 0.83],
            lp_a: one_pole(recipe.noise_high, sample_rate),
            lp_b: 0.0,
            lp_c: 0.0,
            hp_a: one_pole(recipe.noise_low, sample_rate),
            hp_b: 0.0,
            metal_hp: 0.0,
            metal_hp_a: one_pole(6000.0, sample_rate),
            env: [1.0; 4],
            step: [
                recipe.body_decay,
                recipe.body_fall,
                recipe.noise_decay,
                recipe.metal_decay,
            ]
            .map(|tc| {
                if tc > 0.0 {
                    (-1.0 / (tc * sample_rate)).exp()
                } else {
                    0.0
                }
            }),
            burst_len: ((0.01 * sample_rate) as i64).max(1),
            fade_step: 2000.0 / sample_rate,
        }
    }

    /// Whether the sound has ended.
    pub(crate) fn is_done(&self) -> bool {
        self.t >= self.length
    }

    /// Uniform noise in -1..1 (xorshift32).
    fn noise(&mut self) -> f32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        (x as f32 / u32::MAX as f32) * 2.0 - 1.0
    }

    /// Write the next block (overwrites `out`).
    ///
    /// Each part runs as its own loop over the block and is skipped once its
    /// envelope has reached zero, so a kick's click or a snare's shell costs
    /// nothing after its first few milliseconds.
    pub(crate) fn render(&mut self, out: &mut [f32; BLOCK]) {
        *out = [0.0; BLOCK];
        let r = self.recipe;
        let inv_sr = 1.0 / self.sample_rate;
        let t0 = self.t;
        self.t += BLOCK as i64;
        // The part of the block where the drum sounds.
        let from = (-t0).clamp(0, BLOCK as i64) as usize;
        let to = (self.length - t0).clamp(0, BLOCK as i64) as usize;
        if from >= to {
            return;
        }
        let span = &mut out[from..to];
        if r.body > 0.0 && self.env[0] > 0.0 {
            let (mut e, mut fall) = (self.env[0], self.env[1]);
            for o in span.iter_mut() {
                let hz = r.body_to + (r.body_from - r.body_to) * fall;
                self.body_phase += hz * inv_sr;
                if self.body_phase >= 1.0 {
                    self.body_phase -= 1.0;
                }
                *o += r.body * e * sine_turns(self.body_phase);
                e *= self.step[0];
                fall *= self.step[1];
            }
            (self.env[0], self.env[1]) = (e, fall);
        }
        if r.noise > 0.0 && (self.env[2] > 0.0 || r.bursts > 1) {
            let mut e = self.env[2];
            for (i, o) in span.iter_mut().enumerate() {
                let t = t0 + (from + i) as i64;
                // A clap: the noise is re-struck every 10 ms, the last burst rings out.
                if r.bursts > 1 && t > 0 && t % self.burst_len == 0 && t / self.burst_len < i64::from(r.bursts) {
                    e = 1.0;
                }
                let w = self.noise();
                // Two low-pass poles (12 dB/octave) above the band, one
                // high-pass pole below it.
                self.lp_b += self.lp_a * (w - self.lp_b);
                self.lp_c += self.lp_a * (self.lp_b - self.lp_c);
                self.hp_b += self.hp_a * (self.lp_c - self.hp_b);
                *o += r.noise * 2.0 * e * (self.lp_c - self.hp_b);
                e *= self.step[2];
            }
            self.env[2] = e;
        }
        if r.metal > 0.0 && self.env[3] > 0.0 {
            let mut sum = [0.0f32; BLOCK];
            let sum = &mut sum[..span.len()];
            for (i, ph) in self.metal_phase.iter_mut().enumerate() {
                let inc = r.metal_base * METAL[i] * inv_sr;
                for (k, m) in sum.iter_mut().enumerate() {
                    // Phase in turns; `as i32` truncates (phases are positive).
                    let x = *ph + inc * (k + 1) as f32;
                    let frac = x - (x as i32) as f32;
                    *m += if frac < 0.5 { 1.0 } else { -1.0 };
                }
                let x = *ph + inc * sum.len() as f32;
                *ph = x - (x as i32) as f32;
            }
            let mut e = self.env[3];
            let gain = r.metal / 6.0;
            for (o, &m) in span.iter_mut().zip(sum.iter()) {
                // High-pass: the signal minus its low-passed self.
                self.metal_hp += self.metal_hp_a * (m - self.metal_hp);
                *o += gain * e * (m - self.metal_hp);
                e *= self.step[3];
            }
            self.env[3] = e;
        }
        // Flushed to zero well before the slow subnormal range.
        for e in &mut self.env {
            if *e < 1e-6 {
                *e = 0.0;
            }
        }
        // A 0.5 ms fade-in avoids a click from the noise's first sample.
        for (i, o) in span.iter_mut().enumerate() {
            let t = (t0 + (from + i) as i64) as f32;
            *o *= self.gain * (t * self.fade_step).min(1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gm_drum_sounds_and_ends() {
        for key in 30..=90u8 {
            let mut d = Drum::new(key, 0.5, 44_100.0, 3, u32::from(key));
            let mut out = [0.0; BLOCK];
            let mut peak = 0.0f32;
            let mut blocks = 0;
            while !d.is_done() {
                d.render(&mut out);
                peak = out.iter().fold(peak, |p, &x| p.max(x.abs()));
                blocks += 1;
            }
            assert!(peak > 0.01 && peak < 1.5, "key {key}: peak {peak}");
            assert!(blocks < 44_100 * 5 / BLOCK, "key {key}");
        }
    }

    #[test]
    fn the_cheap_sine_is_close() {
        for i in 0..1000 {
            let x = i as f32 / 1000.0;
            assert!((sine_turns(x) - (TAU * x).sin()).abs() < 2e-3, "{x}");
        }
    }
}
