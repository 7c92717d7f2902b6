//! Time units as types.
//!
//! A score's times are ticks, quarter notes or seconds, and the unit is part of
//! the type (`Score<Tick>`, `Score<Quarter>`, `Score<Second>`), so a tick can
//! never be added to a second by accident. Conversions go through the score's
//! tempo map ([`crate::TempoMap`]) and are explicit (`Score::to_second`, ...).

use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;
use std::ops::{Add, Sub};

/// The value type of a time unit: `i64` for ticks, `f64` for quarters and seconds.
pub trait TimeValue:
    Copy
    + Debug
    + Default
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The value as a float, for arithmetic that needs one (frames, seconds).
    fn to_f64(self) -> f64;
    /// The nearest value to a float (ticks round to the nearest integer).
    fn from_f64(v: f64) -> Self;
    /// The zero time.
    fn zero() -> Self {
        Self::default()
    }
    /// The larger of two times (`f64` is not `Ord`).
    fn max_of(self, other: Self) -> Self {
        if other > self {
            other
        } else {
            self
        }
    }
    /// The smaller of two times.
    fn min_of(self, other: Self) -> Self {
        if other < self {
            other
        } else {
            self
        }
    }
}

impl TimeValue for i64 {
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v.round() as i64
    }
}

impl TimeValue for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// A time unit: a marker type naming what a score's times mean.
pub trait TimeUnit: Copy + Clone + Debug + Default + PartialEq + Send + Sync + 'static {
    /// How a time in this unit is stored.
    type Value: TimeValue;
    /// The unit's name, as shown to users and written in JSON.
    const NAME: &'static str;
}

/// MIDI ticks: the file's own resolution, exact integers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tick;
/// Quarter notes (beats of a 4/4 bar): musical time independent of resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quarter;
/// Seconds of performance time, through the tempo map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Second;

impl TimeUnit for Tick {
    type Value = i64;
    const NAME: &'static str = "tick";
}
impl TimeUnit for Quarter {
    type Value = f64;
    const NAME: &'static str = "quarter";
}
impl TimeUnit for Second {
    type Value = f64;
    const NAME: &'static str = "second";
}
