//! An additive oscillator bank: each partial is a damped complex rotation.
//!
//! A partial is `z(n) = a·rⁿ·e^{i(φ + ωn)}` and the sound is `Im z`. It
//! obeys `z(n+1) = z(n)·w` with `w = r·e^{iω}`, so one complex multiply per
//! step gives a pure, alias-free sine that also decays exponentially at its
//! own rate (`r`) — the per-partial decay that makes a piano's tone darken as
//! it dies costs nothing extra.
//!
//! Speed: a block of [`BLOCK`] samples is computed eight lanes at a time.
//! With `pⱼ = wʲ` (j = 0..8) tabled per partial, eight consecutive samples
//! are `Im(c·pⱼ) = c.re·pⱼ.im + c.im·pⱼ.re` — two multiplies and two adds on
//! eight-wide vectors, no horizontal sums — and `c` steps by `w⁸` between
//! them. The per-lane loop is plain array code that the compiler vectorizes.
//! Within a block that runs in `f32`; the state at block boundaries is kept in
//! `f64` and advanced by `w^BLOCK`, so rounding does not build up over long
//! notes. A partial whose amplitude falls under [`SILENT`] is dropped, so a
//! decaying note gets cheaper as it fades.
//!
//! A pitch bend changes `ω` for every partial (`set_pitch`); the tables are
//! rebuilt then, which costs one `sin_cos` and a few multiplies per partial.

/// Samples per block: the unit of rendering.
pub(crate) const BLOCK: usize = 64;
const LANES: usize = 8;
/// Amplitude under which a partial is inaudible (-100 dBFS) and dropped.
pub(crate) const SILENT: f64 = 1e-5;

/// One partial as designed: frequency ratio to the fundamental, amplitude,
/// decay time constant (seconds; `f64::INFINITY` for none) and start phase.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PartialSpec {
    pub ratio: f64,
    pub amp: f64,
    pub decay: f64,
    pub phase: f64,
}

#[derive(Clone, Debug)]
struct Partial {
    /// Frequency relative to the fundamental.
    ratio: f64,
    /// Per-sample amplitude factor (≤ 1).
    r: f64,
    /// State at the start of the next block.
    re: f64,
    im: f64,
    /// `w^BLOCK`, to advance the `f64` state one block.
    wb_re: f64,
    wb_im: f64,
    /// `wʲ` for j in 0..LANES.
    p_re: [f32; LANES],
    p_im: [f32; LANES],
    /// `w^LANES`.
    w8_re: f32,
    w8_im: f32,
}

impl Partial {
    /// Rebuild the rotation tables for a per-sample angle `omega`.
    fn tune(&mut self, omega: f64) {
        let (s, c) = omega.sin_cos();
        let (wr, wi) = (self.r * c, self.r * s);
        let (mut pr, mut pi) = (1.0f64, 0.0f64);
        for j in 0..LANES {
            self.p_re[j] = pr as f32;
            self.p_im[j] = pi as f32;
            (pr, pi) = (pr * wr - pi * wi, pr * wi + pi * wr);
        }
        self.w8_re = pr as f32;
        self.w8_im = pi as f32;
        // w^64 = ((w^8)^2)^2)^2.
        for _ in 0..3 {
            (pr, pi) = (pr * pr - pi * pi, 2.0 * pr * pi);
        }
        self.wb_re = pr;
        self.wb_im = pi;
    }
}

/// The partials of one voice.
#[derive(Clone, Debug)]
pub(crate) struct Bank {
    partials: Vec<Partial>,
    /// Fundamental in Hz before any bend.
    f0: f64,
    sample_rate: f64,
}

impl Bank {
    /// A bank for fundamental `f0`; partials at or above `limit` Hz are left out.
    pub(crate) fn new(f0: f64, specs: &[PartialSpec], sample_rate: f64, limit: f64) -> Self {
        let mut partials = Vec::with_capacity(specs.len());
        for s in specs {
            if s.ratio * f0 >= limit || s.amp <= SILENT {
                continue;
            }
            let r = if s.decay.is_finite() && s.decay > 0.0 {
                (-1.0 / (s.decay * sample_rate)).exp()
            } else {
                1.0
            };
            let (sin, cos) = s.phase.sin_cos();
            let mut p = Partial {
                ratio: s.ratio,
                r,
                re: s.amp * cos,
                im: s.amp * sin,
                wb_re: 1.0,
                wb_im: 0.0,
                p_re: [0.0; LANES],
                p_im: [0.0; LANES],
                w8_re: 1.0,
                w8_im: 0.0,
            };
            p.tune(std::f64::consts::TAU * f0 * s.ratio / sample_rate);
            partials.push(p);
        }
        Bank {
            partials,
            f0,
            sample_rate,
        }
    }

    /// Retune for a pitch factor (a bend of `b` semitones is `2^(b/12)`).
    /// Partials pushed over 0.49 of the sample rate are dropped (they would alias).
    pub(crate) fn set_pitch(&mut self, factor: f64) {
        let nyquist = 0.49 * self.sample_rate;
        let base = std::f64::consts::TAU * self.f0 * factor / self.sample_rate;
        let f = self.f0 * factor;
        self.partials.retain(|p| p.ratio * f < nyquist);
        for p in &mut self.partials {
            p.tune(base * p.ratio);
        }
    }

    /// Write the next block (overwrites `out`).
    pub(crate) fn render(&mut self, out: &mut [f32; BLOCK]) {
        *out = [0.0; BLOCK];
        for p in &mut self.partials {
            let (mut cr, mut ci) = (p.re as f32, p.im as f32);
            for k in 0..BLOCK / LANES {
                let o = &mut out[k * LANES..(k + 1) * LANES];
                for ((o, &pi), &pr) in o.iter_mut().zip(&p.p_im).zip(&p.p_re) {
                    *o += cr * pi + ci * pr;
                }
                (cr, ci) = (cr * p.w8_re - ci * p.w8_im, cr * p.w8_im + ci * p.w8_re);
            }
            (p.re, p.im) = (p.re * p.wb_re - p.im * p.wb_im, p.re * p.wb_im + p.im * p.wb_re);
        }
        self.partials.retain(|p| p.re * p.re + p.im * p.im > SILENT * SILENT);
    }

    /// An upper bound of the bank's amplitude (the sum of its partials').
    pub(crate) fn level(&self) -> f64 {
        self.partials.iter().map(|p| (p.re * p.re + p.im * p.im).sqrt()).sum()
    }

    /// Whether every partial has died away.
    pub(crate) fn is_silent(&self) -> bool {
        self.partials.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_is_a_sine_of_the_right_frequency_and_decay() {
        let sr = 48_000.0;
        let spec = PartialSpec {
            ratio: 1.0,
            amp: 0.5,
            decay: 0.1,
            phase: 0.3,
        };
        let mut bank = Bank::new(440.0, &[spec], sr, 20_000.0);
        let mut out = [0.0; BLOCK];
        for b in 0..200 {
            bank.render(&mut out);
            for (j, &y) in out.iter().enumerate() {
                let n = (b * BLOCK + j) as f64;
                let want = 0.5 * (-n / (0.1 * sr)).exp() * (0.3 + std::f64::consts::TAU * 440.0 * n / sr).sin();
                assert!((f64::from(y) - want).abs() < 2e-6, "sample {n}: {y} vs {want}");
            }
        }
    }

    #[test]
    fn partials_above_the_limit_are_left_out_and_silent_ones_dropped() {
        let spec = |ratio, decay| PartialSpec {
            ratio,
            amp: 0.1,
            decay,
            phase: 0.0,
        };
        let mut bank = Bank::new(1000.0, &[spec(1.0, 0.001), spec(30.0, 1.0)], 44_100.0, 20_000.0);
        assert_eq!(bank.partials.len(), 1);
        let mut out = [0.0; BLOCK];
        for _ in 0..100 {
            bank.render(&mut out);
        }
        assert!(bank.is_silent());
    }
}
