//! The tempo map: conversion between ticks, quarters and seconds.
//!
//! MIDI stores tempo as microseconds per quarter note, changing at given
//! ticks. Between two changes, seconds grow linearly with ticks, so the map is
//! a list of linear segments searched by binary search. Conversions between
//! score units map every time stamp through it; a duration is converted as
//! `f(end) - f(start)`, so that notes keep their ends under tempo changes.

use crate::score::*;
use crate::time::{Quarter, Second, Tick, TimeUnit, TimeValue};

/// Default MIDI tempo: 120 quarters per minute.
pub const DEFAULT_MSPQ: u32 = 500_000;

#[derive(Clone, Copy, Debug)]
struct Segment {
    tick: f64,
    second: f64,
    seconds_per_tick: f64,
}

/// Piecewise-linear map between ticks and seconds.
#[derive(Clone, Debug)]
pub struct TempoMap {
    segments: Vec<Segment>,
}

fn seconds_per_tick(mspq: u32, tpq: u16) -> f64 {
    f64::from(mspq.max(1)) / 1e6 / f64::from(tpq.max(1))
}

impl TempoMap {
    /// The map of a tick-timed tempo list (sorted or not).
    pub fn new(ticks_per_quarter: u16, tempos: &[Tempo<Tick>]) -> Self {
        let mut changes: Vec<(f64, u32)> = tempos.iter().map(|t| (t.time as f64, t.mspq)).collect();
        changes.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self::from_tick_changes(ticks_per_quarter, &changes)
    }

    fn from_tick_changes(tpq: u16, changes: &[(f64, u32)]) -> Self {
        let mut segments = vec![Segment {
            tick: 0.0,
            second: 0.0,
            seconds_per_tick: seconds_per_tick(DEFAULT_MSPQ, tpq),
        }];
        for &(tick, mspq) in changes {
            let tick = tick.max(0.0);
            let last = segments[segments.len() - 1];
            let second = last.second + (tick - last.tick) * last.seconds_per_tick;
            let seg = Segment {
                tick,
                second,
                seconds_per_tick: seconds_per_tick(mspq, tpq),
            };
            if tick == last.tick {
                // A later change at the same tick wins (as a player would do).
                let n = segments.len();
                segments[n - 1] = seg;
            } else {
                segments.push(seg);
            }
        }
        TempoMap { segments }
    }

    /// The map of a second-timed tempo list.
    pub fn from_seconds(ticks_per_quarter: u16, tempos: &[Tempo<Second>]) -> Self {
        let mut changes: Vec<(f64, u32)> = tempos.iter().map(|t| (t.time, t.mspq)).collect();
        changes.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut tick_changes = Vec::with_capacity(changes.len());
        let (mut sec, mut tick, mut spt) = (0.0, 0.0, seconds_per_tick(DEFAULT_MSPQ, ticks_per_quarter));
        for (s, mspq) in changes {
            let s = s.max(0.0);
            tick += (s - sec) / spt;
            sec = s;
            spt = seconds_per_tick(mspq, ticks_per_quarter);
            tick_changes.push((tick, mspq));
        }
        Self::from_tick_changes(ticks_per_quarter, &tick_changes)
    }

    fn segment_by_tick(&self, tick: f64) -> &Segment {
        let i = self.segments.partition_point(|s| s.tick <= tick);
        &self.segments[i.saturating_sub(1)]
    }

    fn segment_by_second(&self, second: f64) -> &Segment {
        let i = self.segments.partition_point(|s| s.second <= second);
        &self.segments[i.saturating_sub(1)]
    }

    /// Seconds at a (possibly fractional) tick.
    pub fn tick_to_second_f64(&self, tick: f64) -> f64 {
        let s = self.segment_by_tick(tick);
        s.second + (tick - s.tick) * s.seconds_per_tick
    }

    /// Seconds at a tick.
    pub fn tick_to_second(&self, tick: i64) -> f64 {
        self.tick_to_second_f64(tick as f64)
    }

    /// The (fractional) tick at a time in seconds.
    pub fn second_to_tick_f64(&self, second: f64) -> f64 {
        let s = self.segment_by_second(second);
        s.tick + (second - s.second) / s.seconds_per_tick
    }

    /// The nearest tick to a time in seconds.
    pub fn second_to_tick(&self, second: f64) -> i64 {
        self.second_to_tick_f64(second).round() as i64
    }
}

impl<T: TimeUnit> Score<T> {
    /// Map every time stamp through `f`; durations become `f(end) - f(start)`.
    /// This is the one place that knows every timed field of a score.
    pub fn map_time<U: TimeUnit>(&self, f: impl Fn(T::Value) -> U::Value) -> Score<U> {
        let span = |t: T::Value, d: T::Value| {
            let a = f(t);
            (a, f(t + d) - a)
        };
        let raw = |v: &[RawEvent<T>]| -> Vec<RawEvent<U>> {
            v.iter()
                .map(|e| RawEvent {
                    time: f(e.time),
                    kind: e.kind.clone(),
                })
                .collect()
        };
        let text = |v: &[Text<T>]| -> Vec<Text<U>> {
            v.iter()
                .map(|e| Text {
                    time: f(e.time),
                    text: e.text.clone(),
                })
                .collect()
        };
        Score {
            ticks_per_quarter: self.ticks_per_quarter,
            tracks: self
                .tracks
                .iter()
                .map(|tr| Track {
                    name: tr.name.clone(),
                    program: tr.program,
                    channel: tr.channel,
                    is_drum: tr.is_drum,
                    notes: tr
                        .notes
                        .iter()
                        .map(|n| {
                            let (time, duration) = span(n.time, n.duration);
                            Note {
                                time,
                                duration,
                                pitch: n.pitch,
                                velocity: n.velocity,
                            }
                        })
                        .collect(),
                    controls: tr
                        .controls
                        .iter()
                        .map(|c| ControlChange {
                            time: f(c.time),
                            number: c.number,
                            value: c.value,
                        })
                        .collect(),
                    pitch_bends: tr
                        .pitch_bends
                        .iter()
                        .map(|c| PitchBend {
                            time: f(c.time),
                            value: c.value,
                        })
                        .collect(),
                    pedals: tr
                        .pedals
                        .iter()
                        .map(|p| {
                            let (time, duration) = span(p.time, p.duration);
                            Pedal { time, duration }
                        })
                        .collect(),
                    lyrics: text(&tr.lyrics),
                    extra: raw(&tr.extra),
                })
                .collect(),
            tempos: self
                .tempos
                .iter()
                .map(|t| Tempo {
                    time: f(t.time),
                    mspq: t.mspq,
                })
                .collect(),
            time_signatures: self
                .time_signatures
                .iter()
                .map(|t| TimeSignature {
                    time: f(t.time),
                    numerator: t.numerator,
                    denominator: t.denominator,
                    clocks_per_click: t.clocks_per_click,
                    notated_32nds_per_quarter: t.notated_32nds_per_quarter,
                })
                .collect(),
            key_signatures: self
                .key_signatures
                .iter()
                .map(|k| KeySignature {
                    time: f(k.time),
                    key: k.key,
                    minor: k.minor,
                })
                .collect(),
            markers: text(&self.markers),
            extra: raw(&self.extra),
        }
    }
}

impl Score<Tick> {
    /// The score's tempo map.
    pub fn tempo_map(&self) -> TempoMap {
        TempoMap::new(self.ticks_per_quarter, &self.tempos)
    }
    /// Times in quarter notes (exact: ticks / ticks_per_quarter).
    pub fn to_quarter(&self) -> Score<Quarter> {
        let tpq = f64::from(self.ticks_per_quarter.max(1));
        self.map_time(|t| t as f64 / tpq)
    }
    /// Times in seconds through the tempo map.
    pub fn to_second(&self) -> Score<Second> {
        let map = self.tempo_map();
        self.map_time(|t| map.tick_to_second(t))
    }
}

impl Score<Quarter> {
    /// Times in ticks, rounded to the nearest tick.
    pub fn to_tick(&self) -> Score<Tick> {
        let tpq = f64::from(self.ticks_per_quarter.max(1));
        self.map_time(|q| i64::from_f64(q * tpq))
    }
    /// Times in seconds through the tempo map.
    pub fn to_second(&self) -> Score<Second> {
        let tpq = f64::from(self.ticks_per_quarter.max(1));
        let mut fr: Vec<(f64, u32)> = self.tempos.iter().map(|t| (t.time * tpq, t.mspq)).collect();
        fr.sort_by(|a, b| a.0.total_cmp(&b.0));
        let map = TempoMap::from_tick_changes(self.ticks_per_quarter, &fr);
        self.map_time(|q| map.tick_to_second_f64(q * tpq))
    }
}

impl Score<Second> {
    /// The score's tempo map.
    pub fn tempo_map(&self) -> TempoMap {
        TempoMap::from_seconds(self.ticks_per_quarter, &self.tempos)
    }
    /// Times in ticks, rounded to the nearest tick.
    pub fn to_tick(&self) -> Score<Tick> {
        let map = self.tempo_map();
        self.map_time(|s| map.second_to_tick(s))
    }
    /// Times in quarter notes through the tempo map.
    pub fn to_quarter(&self) -> Score<Quarter> {
        let map = self.tempo_map();
        let tpq = f64::from(self.ticks_per_quarter.max(1));
        self.map_time(|s| map.second_to_tick_f64(s) / tpq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tempo_is_120_qpm() {
        let map = TempoMap::new(480, &[]);
        assert_eq!(map.tick_to_second(480), 0.5);
        assert_eq!(map.second_to_tick(1.0), 960);
    }

    #[test]
    fn tempo_change_splits_the_map() {
        // 480 tpq; 120 qpm for the first quarter, then 60 qpm.
        let tempos = [
            Tempo { time: 0, mspq: 500_000 },
            Tempo {
                time: 480,
                mspq: 1_000_000,
            },
        ];
        let map = TempoMap::new(480, &tempos);
        assert!((map.tick_to_second(480) - 0.5).abs() < 1e-12);
        assert!((map.tick_to_second(960) - 1.5).abs() < 1e-12);
        assert_eq!(map.second_to_tick(1.5), 960);
        assert_eq!(map.second_to_tick(0.25), 240);
    }

    #[test]
    fn units_convert_both_ways() {
        let mut s = Score::<Tick>::new(480);
        s.tempos = vec![
            Tempo { time: 0, mspq: 400_000 },
            Tempo {
                time: 960,
                mspq: 800_000,
            },
        ];
        let mut tr = Track::new("p", 0, 0);
        tr.notes.push(Note::new(480, 960, 60, 90));
        s.tracks.push(tr);
        let sec = s.to_second();
        let n = sec.tracks[0].notes[0];
        assert!((n.time - 0.4).abs() < 1e-12);
        // 480 ticks at 400 ms/q then 480 ticks at 800 ms/q.
        assert!((n.duration - 1.2).abs() < 1e-12);
        assert_eq!(sec.to_tick(), s);
        assert_eq!(s.to_quarter().tracks[0].notes[0].duration, 2.0);
        assert_eq!(s.to_quarter().to_tick(), s);
        let q2s = s.to_quarter().to_second();
        assert!((q2s.tracks[0].notes[0].duration - 1.2).abs() < 1e-12);
        assert_eq!(sec.to_quarter().to_tick(), s);
    }
}
