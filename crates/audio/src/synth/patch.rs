//! Instrument designs: from a General MIDI program, key and velocity to
//! partials and an envelope.
//!
//! The 128 GM programs fall into a dozen families, each designed once from
//! what makes that family recognisable:
//!
//! - **piano** (0–3): stretched partials (`fₖ = k·f₀·√(1+Bk²)`, B growing
//!   towards the treble), a spectrum whose slope follows velocity (soft notes
//!   dull, loud ones bright), a notch pattern from the hammer striking at 1/7
//!   of the string, higher partials dying faster, a weak slightly detuned
//!   "aftersound" copy of the lowest partials for the long two-stage decay,
//!   a short hammer thump, and a damper on key release. Low notes ring
//!   longer than high ones.
//! - **electric piano** (4–5): few harmonics plus a fast-fading tine partial.
//! - **mallets** (8–15, 112–119): marimba or bell ratios, decaying.
//! - **organ** (16–23): drawbar harmonics (16', 8', 5⅓', 4', ...), steady.
//! - **plucked** (6–7, 24–31, 45–46, 104–108): harmonics shaped by the
//!   plucking point, decaying faster with height.
//! - **bass** (32–39): a darker pluck that rings longer.
//! - **strings** (40–44, 48–51, 110) and **pads/choir** (52–54, 88–103,
//!   120–127): sawtooth spectra through a gentle low-pass, two voices detuned
//!   by a few cents (the ensemble shimmer), slow attacks.
//! - **brass** (55–63): bright sawtooth, brighter with velocity.
//! - **reeds** (64–71, 109, 111): odd harmonics strongest (clarinet-like).
//! - **pipes** (72–79): a nearly pure tone.
//! - **synth leads** (80–87): square-and-saw, detuned pair.
//!
//! Partials above min(0.4 × sample rate, 16 kHz) are left out, so nothing
//! aliases even under a two-semitone bend up. Each design is normalised so
//! the sum of its partials' amplitudes is the note's gain: a voice can never
//! exceed it.

use super::bank::PartialSpec;
use super::env::EnvSpec;

/// What a note of an instrument is made of.
#[derive(Clone, Debug)]
pub(crate) struct Design {
    pub partials: Vec<PartialSpec>,
    pub env: EnvSpec,
    /// Pan offset added to the track's pan (-1..1), e.g. a piano's width.
    pub pan: f32,
    /// Level of the hammer thump (0 for none).
    pub thump: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Piano,
    EPiano,
    Mallet,
    Bell,
    Organ,
    Pluck,
    Bass,
    Strings,
    Pad,
    Brass,
    Reed,
    Pipe,
    Lead,
}

fn family(program: u8) -> Family {
    match program {
        0..=3 => Family::Piano,
        4 | 5 => Family::EPiano,
        6 | 7 => Family::Pluck,
        8..=10 | 14 => Family::Bell,
        11..=13 | 15 => Family::Mallet,
        16..=23 => Family::Organ,
        24..=31 => Family::Pluck,
        32..=39 => Family::Bass,
        45 | 46 => Family::Pluck,
        40..=44 | 47..=51 | 110 => Family::Strings,
        52..=54 | 88..=103 | 120..=127 => Family::Pad,
        55..=63 => Family::Brass,
        64..=71 | 109 | 111 => Family::Reed,
        72..=79 => Family::Pipe,
        80..=87 => Family::Lead,
        104..=108 => Family::Pluck,
        112..=119 => Family::Mallet,
        _ => Family::Piano,
    }
}

/// Start phases with a low crest factor (Schroeder's rule), so that a chord
/// of partials does not start with one tall spike.
fn phase(k: usize, n: usize) -> f64 {
    std::f64::consts::PI * (k * k.saturating_sub(1)) as f64 / n.max(1) as f64
}

/// Harmonic partials `k = 1..=n` with `shape(k) -> (amp, decay)`.
fn harmonics(n: usize, mut shape: impl FnMut(f64) -> (f64, f64)) -> Vec<PartialSpec> {
    (1..=n)
        .map(|k| {
            let (amp, decay) = shape(k as f64);
            PartialSpec {
                ratio: k as f64,
                amp,
                decay,
                phase: phase(k, n),
            }
        })
        .collect()
}

/// Add a copy of every partial detuned by `cents` (the copy gets `share` of
/// the amplitude, the original the rest), for an ensemble sound.
fn detuned(mut p: Vec<PartialSpec>, cents: f64, share: f64) -> Vec<PartialSpec> {
    let f = (cents / 1200.0).exp2();
    let copies: Vec<PartialSpec> = p
        .iter()
        .map(|s| PartialSpec {
            ratio: s.ratio * f,
            amp: s.amp * share,
            decay: s.decay,
            phase: s.phase + 1.3,
        })
        .collect();
    for s in &mut p {
        s.amp *= 1.0 - share;
    }
    p.extend(copies);
    p
}

/// Scale amplitudes so they sum to `gain`.
fn normalise(p: &mut [PartialSpec], gain: f64) {
    let sum: f64 = p.iter().map(|s| s.amp).sum();
    if sum > 0.0 {
        for s in p {
            s.amp *= gain / sum;
        }
    }
}

/// A gentle low-pass: amplitude factor at `hz` for a corner `fc`.
fn lowpass(hz: f64, fc: f64) -> f64 {
    1.0 / (1.0 + (hz / fc).powi(2)).sqrt()
}

/// How many harmonics of `f0` fit under `limit` Hz, at most `cap`.
fn fit(f0: f64, limit: f64, cap: usize) -> usize {
    ((limit / f0) as usize).clamp(1, cap)
}

/// The design of a note. `limit` is the highest partial frequency allowed.
pub(crate) fn design(program: u8, key: u8, velocity: u8, limit: f64) -> Design {
    let v = f64::from(velocity.clamp(1, 127)) / 127.0;
    let f0 = 440.0 * ((f64::from(key) - 69.0) / 12.0).exp2();
    // Loudness follows velocity over about 40 dB.
    let gain = 0.3 * v.powf(1.7);
    let height = (f64::from(key) - 21.0) / 87.0; // 0 at A0, 1 at C8
    let env = |attack, decay, sustain, release| EnvSpec {
        attack,
        decay,
        sustain,
        release,
    };
    let (mut partials, env, pan, thump) = match family(program) {
        Family::Piano => {
            let b = 0.00008 * ((f64::from(key) - 60.0) / 18.0).exp2();
            let t60 = (14.0 * (-(f64::from(key) - 21.0) / 20.0).exp2()).clamp(0.5, 14.0);
            let tau = t60 / 6.9;
            let slope = 2.6 - 1.5 * v;
            let n = fit(f0, limit, 40);
            let mut p: Vec<PartialSpec> = Vec::with_capacity(n + 3);
            for k in 1..=n {
                let kf = k as f64;
                let ratio = kf * (1.0 + b * kf * kf).sqrt();
                if ratio * f0 >= limit {
                    break;
                }
                let hammer = 0.3 + 0.7 * (std::f64::consts::PI * kf / 7.0).sin().abs();
                let amp = kf.powf(-slope) * hammer;
                let decay = 0.6 * tau / (1.0 + 0.3 * (kf - 1.0));
                p.push(PartialSpec {
                    ratio,
                    amp,
                    decay,
                    phase: phase(k, n),
                });
                if k <= 3 {
                    p.push(PartialSpec {
                        ratio: ratio * 1.0004,
                        amp: amp * 0.2,
                        decay: 2.5 * tau / kf,
                        phase: phase(k, n) + 2.0,
                    });
                }
            }
            let attack = 0.002 + 0.003 * (1.0 - v);
            let damper = 0.03 + 0.09 * (1.0 - height);
            (
                p,
                env(attack, 1.0, 1.0, damper),
                (height as f32 - 0.5) * 0.5,
                (0.04 * v * v) as f32,
            )
        }
        Family::EPiano => {
            let n = fit(f0, limit, 4);
            let mut p = harmonics(n, |k| ([1.0, 0.35, 0.1, 0.05][k as usize - 1] * v.max(0.3), 3.0 / k));
            if 7.0 * f0 < limit {
                p.push(PartialSpec {
                    ratio: 7.0,
                    amp: 0.25 * v * v,
                    decay: 0.04,
                    phase: 0.0,
                });
            }
            (p, env(0.002, 1.0, 1.0, 0.12), (height as f32 - 0.5) * 0.3, 0.0)
        }
        Family::Mallet | Family::Bell => {
            let (ratios, amps, t60): (&[f64], &[f64], f64) = if family(program) == Family::Bell {
                (&[1.0, 2.76, 5.40, 8.93], &[1.0, 0.5, 0.25, 0.12], 3.0)
            } else if program == 11 {
                (&[1.0, 4.0, 10.0], &[1.0, 0.25, 0.08], 4.0)
            } else {
                (&[1.0, 3.93, 9.2], &[1.0, 0.3, 0.1], 1.2)
            };
            let p = ratios
                .iter()
                .zip(amps)
                .enumerate()
                .map(|(i, (&ratio, &amp))| PartialSpec {
                    ratio,
                    amp: amp * if i == 0 { 1.0 } else { v },
                    decay: t60 / 6.9 / ratio.sqrt() * (1.2 - 0.8 * height),
                    phase: 0.0,
                })
                .collect();
            (p, env(0.001, 1.0, 1.0, 0.3), 0.0, 0.0)
        }
        Family::Organ => {
            const DRAW: [(f64, f64); 9] = [
                (0.5, 0.5),
                (1.0, 1.0),
                (1.5, 0.35),
                (2.0, 0.6),
                (3.0, 0.25),
                (4.0, 0.35),
                (5.0, 0.1),
                (6.0, 0.12),
                (8.0, 0.1),
            ];
            let p = DRAW
                .iter()
                .enumerate()
                .map(|(i, &(ratio, amp))| PartialSpec {
                    ratio,
                    amp,
                    decay: f64::INFINITY,
                    phase: phase(i + 1, DRAW.len()),
                })
                .collect();
            (p, env(0.008, 1.0, 1.0, 0.04), 0.0, 0.0)
        }
        Family::Pluck | Family::Bass => {
            let bass = family(program) == Family::Bass;
            let (point, fc, t60, cap) = if bass {
                (0.25, 600.0 + 2500.0 * v, 6.0, 24)
            } else {
                (
                    0.18,
                    1500.0 + 5000.0 * v,
                    4.0 * (-(f64::from(key) - 40.0) / 30.0).exp2(),
                    30,
                )
            };
            let tau = t60.clamp(0.4, 10.0) / 6.9;
            let n = fit(f0, limit, cap);
            let p = harmonics(n, |k| {
                (
                    (std::f64::consts::PI * k * point).sin().abs() / k * lowpass(k * f0, fc),
                    tau / (1.0 + 0.4 * (k - 1.0)),
                )
            });
            (p, env(0.0015, 1.0, 1.0, 0.08), 0.0, 0.0)
        }
        Family::Strings | Family::Pad => {
            let pad = family(program) == Family::Pad;
            let fc = if pad { 1200.0 } else { 1500.0 + 3000.0 * v };
            let n = fit(f0, limit.min(8000.0), 24);
            let p = detuned(harmonics(n, |k| (lowpass(k * f0, fc) / k, f64::INFINITY)), 7.0, 0.45);
            let e = if pad {
                env(0.3, 1.0, 1.0, 0.35)
            } else {
                env(0.12 - 0.07 * v, 1.0, 1.0, 0.12)
            };
            (p, e, 0.0, 0.0)
        }
        Family::Brass => {
            let n = fit(f0, limit.min(10_000.0), 24);
            let fc = 700.0 + 3500.0 * v;
            let p = harmonics(n, |k| (lowpass(k * f0, fc) / k, f64::INFINITY));
            (p, env(0.035, 0.2, 0.8, 0.06), 0.0, 0.0)
        }
        Family::Reed => {
            let n = fit(f0, limit.min(8000.0), 20);
            let p = harmonics(n, |k| {
                let odd = if k as usize % 2 == 1 { 1.0 } else { 0.25 };
                (odd / k * lowpass(k * f0, 2500.0 + 2000.0 * v), f64::INFINITY)
            });
            (p, env(0.025, 0.3, 0.9, 0.05), 0.0, 0.0)
        }
        Family::Pipe => {
            let n = fit(f0, limit, 4);
            let p = harmonics(n, |k| ([1.0, 0.2, 0.08, 0.04][k as usize - 1], f64::INFINITY));
            (p, env(0.05, 1.0, 1.0, 0.06), 0.0, 0.0)
        }
        Family::Lead => {
            let n = fit(f0, limit.min(10_000.0), 20);
            let p = harmonics(n, |k| {
                let odd = if k as usize % 2 == 1 { 1.0 } else { 0.35 };
                (odd / k * lowpass(k * f0, 4000.0), f64::INFINITY)
            });
            (detuned(p, 5.0, 0.4), env(0.005, 0.5, 0.85, 0.05), 0.0, 0.0)
        }
    };
    // Sustained families sound louder than decaying ones at the same peak.
    let level = match family(program) {
        Family::Organ | Family::Strings | Family::Pad | Family::Brass | Family::Reed | Family::Lead => 0.6,
        Family::Pipe => 0.7,
        _ => 1.0,
    };
    normalise(&mut partials, gain * level);
    Design {
        partials,
        env,
        pan,
        thump: thump * level as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_and_key_gives_a_bounded_audible_design() {
        for program in 0..=127u8 {
            for key in [0u8, 21, 60, 108, 127] {
                let d = design(program, key, 100, 16_000.0);
                assert!(!d.partials.is_empty() || key == 127, "program {program} key {key}");
                let sum: f64 = d.partials.iter().map(|p| p.amp).sum();
                assert!(sum <= 0.31, "program {program} key {key}: {sum}");
                assert!(d.partials.iter().all(|p| p.amp.is_finite() && p.ratio.is_finite()));
            }
        }
    }

    #[test]
    fn loud_piano_notes_are_brighter() {
        let centroid = |vel| {
            let d = design(0, 60, vel, 16_000.0);
            let s: f64 = d.partials.iter().map(|p| p.amp).sum();
            d.partials.iter().map(|p| p.amp * p.ratio).sum::<f64>() / s
        };
        assert!(centroid(120) > 1.3 * centroid(30));
    }
}
