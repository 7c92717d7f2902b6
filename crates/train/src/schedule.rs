//! Learning-rate schedules: the rate as a pure function of the step, so a
//! resumed run needs no schedule state.

use serde::{Deserialize, Serialize};

use crate::TrainError;

/// A schedule; `lr` is the peak (or constant) rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    Constant {
        lr: f64,
    },
    /// Linear warm-up to `lr` over `warmup` steps, then cosine decay to
    /// `lr * final_fraction` at `total` steps.
    WarmupCosine {
        lr: f64,
        warmup: u64,
        total: u64,
        final_fraction: f64,
    },
    /// "Attention Is All You Need": `scale · d_model^-½ · min(s^-½, s · warmup^-1.5)`.
    Noam {
        scale: f64,
        d_model: usize,
        warmup: u64,
    },
    /// Multiply by `factor` every `every` steps (BachBot halves every 5 epochs).
    Step {
        lr: f64,
        every: u64,
        factor: f64,
    },
}

impl Schedule {
    /// The rate for 1-based update number `step`.
    pub fn lr(&self, step: u64) -> f64 {
        let s = step.max(1) as f64;
        match *self {
            Self::Constant { lr } => lr,
            Self::WarmupCosine {
                lr,
                warmup,
                total,
                final_fraction,
            } => {
                if step <= warmup && warmup > 0 {
                    lr * s / warmup as f64
                } else {
                    let span = total.saturating_sub(warmup).max(1) as f64;
                    let progress = ((s - warmup as f64) / span).clamp(0.0, 1.0);
                    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
                    lr * (final_fraction + (1.0 - final_fraction) * cosine)
                }
            }
            Self::Noam { scale, d_model, warmup } => {
                scale * (d_model as f64).powf(-0.5) * s.powf(-0.5).min(s * (warmup.max(1) as f64).powf(-1.5))
            }
            Self::Step { lr, every, factor } => lr * factor.powi(((step.saturating_sub(1)) / every.max(1)) as i32),
        }
    }

    pub fn validate(&self) -> Result<(), TrainError> {
        let peak = match *self {
            Self::Constant { lr } | Self::WarmupCosine { lr, .. } | Self::Step { lr, .. } => lr,
            Self::Noam { scale, .. } => scale,
        };
        if !(peak > 0.0 && peak.is_finite()) {
            return Err(TrainError::Config {
                field: "schedule.lr",
                why: format!("{peak} must be a positive number"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let wc = Schedule::WarmupCosine {
            lr: 1.0,
            warmup: 10,
            total: 110,
            final_fraction: 0.0,
        };
        assert!((wc.lr(5) - 0.5).abs() < 1e-12);
        assert!((wc.lr(10) - 1.0).abs() < 1e-12);
        assert!((wc.lr(60) - 0.5).abs() < 1e-12);
        assert!(wc.lr(110).abs() < 1e-12);
        let noam = Schedule::Noam {
            scale: 1.0,
            d_model: 256,
            warmup: 4000,
        };
        // The peak is at the warm-up step.
        assert!(noam.lr(4000) > noam.lr(3000) && noam.lr(4000) > noam.lr(5000));
        let step = Schedule::Step {
            lr: 2e-3,
            every: 5,
            factor: 0.5,
        };
        assert_eq!(step.lr(5), 2e-3);
        assert_eq!(step.lr(6), 1e-3);
        assert!(Schedule::Constant { lr: 0.0 }.validate().is_err());
    }
}
