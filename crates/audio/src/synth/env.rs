//! The voice envelope: delay, linear attack, exponential decay to a sustain
//! level, exponential release.
//!
//! Exponential segments are how real instruments fade and how ears hear
//! evenly. A voice starts and is released at an exact sample inside a block
//! (the `delay` and `release_at` offsets), so note timing is sample-accurate
//! even though rendering works in blocks. Blocks with no such event and no
//! attack — nearly all of them — are filled by a straight line between the
//! exact levels at the block's two ends (the curve over 1.5 ms is
//! indistinguishable from a line), which keeps the envelope's cost per
//! sample at one multiply-add.

use super::bank::BLOCK;

/// The shape of an envelope, in seconds and levels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EnvSpec {
    /// Time of the linear rise from 0 to 1.
    pub attack: f64,
    /// Time constant of the fall from 1 to `sustain`.
    pub decay: f64,
    /// Level held while the key is down (0..=1).
    pub sustain: f64,
    /// Time constant of the fall to 0 after release.
    pub release: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Attack,
    Decay,
    Sustain,
    Release,
    Done,
}

/// Level under which a released envelope has ended (-80 dB).
const END: f32 = 1e-4;

/// A running envelope.
#[derive(Clone, Debug)]
pub(crate) struct Envelope {
    stage: Stage,
    level: f32,
    /// Samples of silence before the attack (the note's start inside its block).
    delay: usize,
    /// Where in the current block the release starts.
    release_at: Option<usize>,
    attack_step: f32,
    sustain: f32,
    decay_c: f32,
    decay_cb: f32,
    release_c: f32,
    release_cb: f32,
}

/// Per-sample and per-block factors of an exponential with time constant `tc` seconds.
fn coefs(tc: f64, sample_rate: f64) -> (f32, f32) {
    let c = (-1.0 / (tc.max(1e-4) * sample_rate)).exp();
    (c as f32, c.powi(BLOCK as i32) as f32)
}

impl Envelope {
    /// An envelope that starts `delay` samples into the next block.
    pub(crate) fn new(spec: &EnvSpec, sample_rate: f64, delay: usize) -> Self {
        let (decay_c, decay_cb) = coefs(spec.decay, sample_rate);
        let (release_c, release_cb) = coefs(spec.release, sample_rate);
        Envelope {
            stage: Stage::Attack,
            level: 0.0,
            delay,
            release_at: None,
            attack_step: (1.0 / (spec.attack * sample_rate).max(1.0)) as f32,
            sustain: spec.sustain.clamp(0.0, 1.0) as f32,
            decay_c,
            decay_cb,
            release_c,
            release_cb,
        }
    }

    /// Start the release at `offset` in the next block. A `time_constant`
    /// replaces the designed one (a damped re-strike, a stolen voice).
    pub(crate) fn release(&mut self, offset: usize, time_constant: Option<f64>, sample_rate: f64) {
        if let Some(tc) = time_constant {
            let (c, cb) = coefs(tc, sample_rate);
            if c < self.release_c {
                (self.release_c, self.release_cb) = (c, cb);
            }
        }
        if self.stage != Stage::Release && self.stage != Stage::Done {
            let at = offset.min(BLOCK - 1);
            self.release_at = Some(self.release_at.map_or(at, |r| r.min(at)));
        }
    }

    /// Whether the envelope has ended.
    pub(crate) fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Whether the voice has not reached its full level yet (silence is then
    /// not the end).
    pub(crate) fn is_starting(&self) -> bool {
        self.stage == Stage::Attack
    }

    /// The current level.
    pub(crate) fn level(&self) -> f32 {
        self.level
    }

    /// Fill the next block of levels.
    pub(crate) fn fill(&mut self, out: &mut [f32; BLOCK]) {
        let fast = self.delay == 0 && self.release_at.is_none();
        match self.stage {
            Stage::Done => *out = [0.0; BLOCK],
            Stage::Sustain if fast => *out = [self.level; BLOCK],
            Stage::Decay | Stage::Release if fast => {
                let (target, cb) = if self.stage == Stage::Decay {
                    (self.sustain, self.decay_cb)
                } else {
                    (0.0, self.release_cb)
                };
                let l0 = self.level;
                let l1 = target + (l0 - target) * cb;
                let step = (l1 - l0) / BLOCK as f32;
                for (n, o) in out.iter_mut().enumerate() {
                    *o = l0 + step * (n + 1) as f32;
                }
                self.level = l1;
                self.settle();
            }
            _ => self.fill_exact(out),
        }
    }

    /// Move on from a stage whose target is reached.
    fn settle(&mut self) {
        match self.stage {
            Stage::Decay if (self.level - self.sustain).abs() < 1e-4 => {
                self.level = self.sustain;
                self.stage = Stage::Sustain;
            }
            Stage::Release if self.level < END => {
                self.level = 0.0;
                self.stage = Stage::Done;
            }
            _ => {}
        }
    }

    /// Sample by sample, for blocks with a start, a release or an attack.
    fn fill_exact(&mut self, out: &mut [f32; BLOCK]) {
        for (n, o) in out.iter_mut().enumerate() {
            if n < self.delay {
                *o = 0.0;
                continue;
            }
            if self.release_at == Some(n) {
                self.stage = Stage::Release;
            }
            match self.stage {
                Stage::Attack => {
                    self.level += self.attack_step;
                    if self.level >= 1.0 {
                        self.level = 1.0;
                        self.stage = Stage::Decay;
                    }
                }
                Stage::Decay => self.level = self.sustain + (self.level - self.sustain) * self.decay_c,
                Stage::Sustain => {}
                Stage::Release => {
                    self.level *= self.release_c;
                    if self.level < END {
                        self.level = 0.0;
                        self.stage = Stage::Done;
                    }
                }
                Stage::Done => self.level = 0.0,
            }
            *o = self.level;
        }
        self.delay = self.delay.saturating_sub(BLOCK);
        self.release_at = None;
        self.settle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: EnvSpec = EnvSpec {
        attack: 0.001,
        decay: 0.05,
        sustain: 0.5,
        release: 0.01,
    };

    #[test]
    fn starts_at_its_offset_rises_decays_and_releases() {
        let sr = 64_000.0;
        let mut env = Envelope::new(&SPEC, sr, 10);
        let mut out = [0.0; BLOCK];
        env.fill(&mut out);
        assert!(out[..10].iter().all(|&x| x == 0.0) && out[10] > 0.0);
        for _ in 0..400 {
            env.fill(&mut out);
        }
        assert!((env.level() - 0.5).abs() < 1e-3, "{}", env.level());
        env.release(5, None, sr);
        env.fill(&mut out);
        assert!((out[4] - out[3]).abs() < 1e-5);
        assert!(out[6] < out[5]);
        let mut blocks = 0;
        while !env.is_done() {
            env.fill(&mut out);
            blocks += 1;
        }
        // -80 dB from 0.5 with a 10 ms time constant: about 85 ms = 85 blocks.
        assert!((80..=90).contains(&blocks), "{blocks}");
    }
}
