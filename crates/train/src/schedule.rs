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
    /// 1cycle (Smith & Topin 2018) as PyTorch's `OneCycleLR` with cosine
    /// annealing in two phases, which TonicNet trains with: over the first
    /// `pct_start` of `total` updates the rate rises from `lr / div_factor`
    /// to `lr`, then falls to `lr / div_factor / final_div_factor`. With
    /// `momentum: [base, max]` the momentum (SGD's, or Adam's β1) moves the
    /// other way, from max to base and back; without it the optimizer's own
    /// is kept.
    OneCycle {
        lr: f64,
        total: u64,
        pct_start: f64,
        div_factor: f64,
        final_div_factor: f64,
        #[serde(default)]
        momentum: Option<[f64; 2]>,
    },
}

/// PyTorch's `_annealing_cos`: from `start` at `pct` 0 to `end` at 1.
fn cosine(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0)
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
            Self::OneCycle {
                lr,
                div_factor,
                final_div_factor,
                ..
            } => {
                let initial = lr / div_factor;
                let (rising, pct) = self.one_cycle_phase(step);
                if rising {
                    cosine(initial, lr, pct)
                } else {
                    cosine(lr, initial / final_div_factor, pct)
                }
            }
        }
    }

    /// The momentum the schedule sets for update `step`, if it cycles one.
    pub fn momentum(&self, step: u64) -> Option<f64> {
        match *self {
            Self::OneCycle {
                momentum: Some([base, max]),
                ..
            } => {
                let (rising, pct) = self.one_cycle_phase(step);
                Some(if rising {
                    cosine(max, base, pct)
                } else {
                    cosine(base, max, pct)
                })
            }
            _ => None,
        }
    }

    /// For 1cycle: whether 1-based update `step` is in the rising phase, and
    /// how far through its phase it is (PyTorch's step count starts at 0;
    /// the rising phase ends at `pct_start · total − 1`, the falling one at
    /// `total − 1`, and the rate stays at its floor after that).
    fn one_cycle_phase(&self, step: u64) -> (bool, f64) {
        let Self::OneCycle { total, pct_start, .. } = *self else {
            return (false, 0.0);
        };
        let n = step.saturating_sub(1) as f64;
        let end_rise = pct_start * total as f64 - 1.0;
        let end_fall = total as f64 - 1.0;
        if n <= end_rise {
            (true, if end_rise > 0.0 { n / end_rise } else { 1.0 })
        } else {
            (
                false,
                ((n - end_rise) / (end_fall - end_rise).max(f64::MIN_POSITIVE)).min(1.0),
            )
        }
    }

    pub fn validate(&self) -> Result<(), TrainError> {
        let peak = match *self {
            Self::Constant { lr }
            | Self::WarmupCosine { lr, .. }
            | Self::Step { lr, .. }
            | Self::OneCycle { lr, .. } => lr,
            Self::Noam { scale, .. } => scale,
        };
        if let Self::OneCycle {
            total,
            pct_start,
            div_factor,
            final_div_factor,
            momentum,
            ..
        } = *self
        {
            let bad = |field, why: String| Err(TrainError::Config { field, why });
            if total == 0 {
                return bad("schedule.total", "must be at least 1".into());
            }
            if !(pct_start > 0.0 && pct_start < 1.0) {
                return bad("schedule.pct_start", format!("{pct_start} is not in (0, 1)"));
            }
            if !(div_factor > 0.0 && final_div_factor > 0.0) {
                return bad(
                    "schedule.div_factor",
                    format!("{div_factor} and final_div_factor {final_div_factor} must be positive"),
                );
            }
            if let Some([base, max]) = momentum {
                if !((0.0..1.0).contains(&base) && (0.0..1.0).contains(&max)) {
                    return bad("schedule.momentum", format!("[{base}, {max}] must lie in [0, 1)"));
                }
            }
        }
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
        assert_eq!(step.momentum(3), None);
    }

    /// PyTorch 2.15's `OneCycleLR(SGD(lr=0.2), 0.2, total_steps=100,
    /// pct_start=0.3, base_momentum=0.8, max_momentum=0.95)`, TonicNet's
    /// settings: the rate and momentum of updates 1, 2, 15, 30, 31, 65, 99, 100.
    #[test]
    fn one_cycle_matches_pytorch() {
        let s = Schedule::OneCycle {
            lr: 0.2,
            total: 100,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1000.0,
            momentum: Some([0.8, 0.95]),
        };
        s.validate().unwrap();
        let torch = [
            (1, 0.008000000000000007, 0.95),
            (2, 0.008562756113181497, 0.949560346786577),
            (15, 0.09880266477579992, 0.8790604181439063),
            (29, 0.19943724388681852, 0.800439653213423),
            (30, 0.2, 0.8),
            (31, 0.1998993106818653, 0.8000755200094014),
            (65, 0.100004, 0.875),
            (99, 0.00010868931813470633, 0.9499244799905986),
            (100, 8e-06, 0.95),
        ];
        for (step, lr, momentum) in torch {
            assert!((s.lr(step) - lr).abs() < 1e-12, "lr at {step}: {} vs {lr}", s.lr(step));
            let m = s.momentum(step).unwrap();
            assert!((m - momentum).abs() < 1e-12, "momentum at {step}: {m} vs {momentum}");
        }
        // Past the end the floor holds.
        assert!((s.lr(150) - 8e-6).abs() < 1e-15);
        let bad = Schedule::OneCycle {
            lr: 0.2,
            total: 100,
            pct_start: 1.5,
            div_factor: 25.0,
            final_div_factor: 1000.0,
            momentum: None,
        };
        assert!(bad.validate().is_err());
    }
}
