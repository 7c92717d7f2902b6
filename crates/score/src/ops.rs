//! Transforms, as pure/in-place pairs.
//!
//! Each transform exists twice: `x_inplace(&mut self, ..)` changes the score,
//! `x(&self, ..)` returns a changed copy. The pure form is always the in-place
//! one applied to a clone, so the two can never disagree.

use crate::error::{Result, ScoreError};
use crate::score::*;
use crate::time::{Tick, TimeUnit, TimeValue};

fn invalid(what: impl Into<String>, message: impl Into<String>) -> ScoreError {
    ScoreError::Invalid {
        what: what.into(),
        message: message.into(),
    }
}

/// Keep the events of `v` inside `[start, end)`, plus the one in effect at
/// `start` moved to `start` (for maps such as tempo, where it still applies).
fn clip_map<E: Clone>(v: &mut Vec<E>, start: f64, end: f64, time: impl Fn(&E) -> f64, set: impl Fn(&mut E, f64)) {
    let carried = v.iter().rev().find(|e| time(e) < start).cloned();
    v.retain(|e| time(e) >= start && time(e) < end);
    if let Some(mut c) = carried {
        if !v.first().is_some_and(|e| time(e) == start) {
            set(&mut c, start);
            v.insert(0, c);
        }
    }
}

impl<T: TimeUnit> Score<T> {
    /// Transpose every pitched (non-drum) note by `semitones`. Fails, leaving
    /// the score untouched, if a note would leave 0..=127.
    pub fn transpose_inplace(&mut self, semitones: i32) -> Result<()> {
        for (ti, tr) in self.tracks.iter().enumerate().filter(|(_, t)| !t.is_drum) {
            if let Some(n) = tr
                .notes
                .iter()
                .find(|n| !(0..=127).contains(&(i32::from(n.pitch) + semitones)))
            {
                return Err(invalid(
                    format!("transposition by {semitones}"),
                    format!("track {ti} pitch {} would leave 0..=127", n.pitch),
                ));
            }
        }
        for tr in self.tracks.iter_mut().filter(|t| !t.is_drum) {
            for n in &mut tr.notes {
                n.pitch = (i32::from(n.pitch) + semitones) as u8;
            }
        }
        Ok(())
    }
    /// Pure form of [`Score::transpose_inplace`].
    pub fn transpose(&self, semitones: i32) -> Result<Self> {
        let mut s = self.clone();
        s.transpose_inplace(semitones)?;
        Ok(s)
    }

    /// Add `offset` to every time stamp.
    pub fn shift_time_inplace(&mut self, offset: T::Value) {
        *self = self.map_time::<T>(|t| t + offset);
    }
    /// Pure form of [`Score::shift_time_inplace`].
    pub fn shift_time(&self, offset: T::Value) -> Self {
        self.map_time::<T>(|t| t + offset)
    }

    /// Keep what starts in `[start, end)`. With `clip_end`, notes and pedals
    /// are also cut at `end`. The tempo, time and key signature in effect at
    /// `start` are kept, moved to `start`.
    pub fn clip_inplace(&mut self, start: T::Value, end: T::Value, clip_end: bool) {
        let (s, e) = (start.to_f64(), end.to_f64());
        let inside = |t: T::Value| t >= start && t < end;
        for tr in &mut self.tracks {
            tr.notes.retain(|n| inside(n.time));
            tr.pedals.retain(|p| inside(p.time));
            if clip_end {
                tr.notes
                    .iter_mut()
                    .for_each(|n| n.duration = n.duration.min_of(end - n.time));
                tr.pedals
                    .iter_mut()
                    .for_each(|p| p.duration = p.duration.min_of(end - p.time));
            }
            tr.controls.retain(|c| inside(c.time));
            tr.pitch_bends.retain(|c| inside(c.time));
            tr.lyrics.retain(|c| inside(c.time));
            tr.extra.retain(|c| inside(c.time));
        }
        let tf = |t: T::Value| t.to_f64();
        let back = |x: f64| T::Value::from_f64(x);
        clip_map(&mut self.tempos, s, e, |x| tf(x.time), |x, v| x.time = back(v));
        clip_map(&mut self.time_signatures, s, e, |x| tf(x.time), |x, v| x.time = back(v));
        clip_map(&mut self.key_signatures, s, e, |x| tf(x.time), |x, v| x.time = back(v));
        self.markers.retain(|m| inside(m.time));
        self.extra.retain(|m| inside(m.time));
    }
    /// Pure form of [`Score::clip_inplace`].
    pub fn clip(&self, start: T::Value, end: T::Value, clip_end: bool) -> Self {
        let mut s = self.clone();
        s.clip_inplace(start, end, clip_end);
        s
    }

    /// Clip to `[start, end)` (cutting notes at `end`) and move `start` to zero.
    pub fn trim_inplace(&mut self, start: T::Value, end: T::Value) {
        self.clip_inplace(start, end, true);
        let zero = T::Value::zero();
        self.shift_time_inplace(zero - start);
    }
    /// Pure form of [`Score::trim_inplace`].
    pub fn trim(&self, start: T::Value, end: T::Value) -> Self {
        let mut s = self.clone();
        s.trim_inplace(start, end);
        s
    }

    /// Snap onsets and note ends to the nearest multiple of `grid`; a note
    /// that would vanish keeps one grid step. Controls snap too.
    pub fn quantize_inplace(&mut self, grid: T::Value) -> Result<()> {
        let g = grid.to_f64();
        if g.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(invalid("quantization grid", format!("{grid:?} is not positive")));
        }
        let snap = |t: T::Value| T::Value::from_f64((t.to_f64() / g).round() * g);
        *self = self.map_time::<T>(snap);
        for tr in &mut self.tracks {
            for n in &mut tr.notes {
                if n.duration <= T::Value::zero() {
                    n.duration = grid;
                }
            }
        }
        Ok(())
    }
    /// Pure form of [`Score::quantize_inplace`].
    pub fn quantize(&self, grid: T::Value) -> Result<Self> {
        let mut s = self.clone();
        s.quantize_inplace(grid)?;
        Ok(s)
    }

    /// Keep only the notes for which `keep(track_index, note)` holds.
    pub fn filter_notes_inplace(&mut self, mut keep: impl FnMut(usize, &Note<T>) -> bool) {
        for (i, tr) in self.tracks.iter_mut().enumerate() {
            tr.notes.retain(|n| keep(i, n));
        }
    }
    /// Pure form of [`Score::filter_notes_inplace`].
    pub fn filter_notes(&self, keep: impl FnMut(usize, &Note<T>) -> bool) -> Self {
        let mut s = self.clone();
        s.filter_notes_inplace(keep);
        s
    }

    /// Merge the tracks at `indices` into one, placed where the first was; it
    /// keeps the first one's name, program and channel.
    pub fn merge_tracks_inplace(&mut self, indices: &[usize]) -> Result<()> {
        let mut idx: Vec<usize> = indices.to_vec();
        idx.sort_unstable();
        idx.dedup();
        if let Some(&bad) = idx.iter().find(|&&i| i >= self.tracks.len()) {
            return Err(invalid(
                "track index",
                format!("{bad} (the score has {} tracks)", self.tracks.len()),
            ));
        }
        let Some(&first) = idx.first() else { return Ok(()) };
        for &i in idx[1..].iter().rev() {
            let t = self.tracks.remove(i);
            let dst = &mut self.tracks[first];
            dst.notes.extend(t.notes);
            dst.controls.extend(t.controls);
            dst.pitch_bends.extend(t.pitch_bends);
            dst.pedals.extend(t.pedals);
            dst.lyrics.extend(t.lyrics);
            dst.extra.extend(t.extra);
        }
        self.tracks[first].sort_inplace();
        Ok(())
    }
    /// Pure form of [`Score::merge_tracks_inplace`].
    pub fn merge_tracks(&self, indices: &[usize]) -> Result<Self> {
        let mut s = self.clone();
        s.merge_tracks_inplace(indices)?;
        Ok(s)
    }

    /// Split the track at `index` by a key computed per note (e.g. `pitch >= 60`
    /// for the two hands); the parts replace it, in key order. Controls and
    /// other events stay with the first part.
    pub fn split_track_inplace<K: Ord + Copy>(&mut self, index: usize, key: impl Fn(&Note<T>) -> K) -> Result<()> {
        if index >= self.tracks.len() {
            return Err(invalid(
                "track index",
                format!("{index} (the score has {} tracks)", self.tracks.len()),
            ));
        }
        let mut src = self.tracks.remove(index);
        let mut keys: Vec<K> = src.notes.iter().map(&key).collect();
        keys.sort_unstable();
        keys.dedup();
        let notes = std::mem::take(&mut src.notes);
        let mut parts: Vec<Track<T>> = keys
            .iter()
            .map(|_| Track {
                name: src.name.clone(),
                program: src.program,
                channel: src.channel,
                is_drum: src.is_drum,
                ..Track::default()
            })
            .collect();
        for n in notes {
            let k = key(&n);
            if let Ok(i) = keys.binary_search(&k) {
                parts[i].notes.push(n);
            }
        }
        match parts.first_mut() {
            Some(p) => {
                let notes = std::mem::take(&mut p.notes);
                *p = Track { notes, ..src };
            }
            None => parts.push(src),
        }
        for (i, p) in parts.into_iter().enumerate() {
            self.tracks.insert(index + i, p);
        }
        Ok(())
    }

    /// Sort every list by time. Stable, so same-time events keep their order
    /// (for notes, the reader's note-on order).
    pub fn sort_inplace(&mut self) {
        let by = |a: &T::Value, b: &T::Value| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal);
        for t in &mut self.tracks {
            t.sort_inplace();
        }
        self.tempos.sort_by(|a, b| by(&a.time, &b.time));
        self.time_signatures.sort_by(|a, b| by(&a.time, &b.time));
        self.key_signatures.sort_by(|a, b| by(&a.time, &b.time));
        self.markers.sort_by(|a, b| by(&a.time, &b.time));
        self.extra.sort_by(|a, b| by(&a.time, &b.time));
    }
    /// Pure form of [`Score::sort_inplace`].
    pub fn sorted(&self) -> Self {
        let mut s = self.clone();
        s.sort_inplace();
        s
    }
}

impl<T: TimeUnit> Track<T> {
    /// Sort every list by time; stable, as the reader's order.
    pub fn sort_inplace(&mut self) {
        use std::cmp::Ordering::Equal;
        let by = |a: &T::Value, b: &T::Value| a.partial_cmp(b).unwrap_or(Equal);
        self.notes.sort_by(|a, b| by(&a.time, &b.time));
        self.controls.sort_by(|a, b| by(&a.time, &b.time));
        self.pitch_bends.sort_by(|a, b| by(&a.time, &b.time));
        self.pedals.sort_by(|a, b| by(&a.time, &b.time));
        self.lyrics.sort_by(|a, b| by(&a.time, &b.time));
        self.extra.sort_by(|a, b| by(&a.time, &b.time));
    }
}

impl Score<Tick> {
    /// Change the resolution to `ticks_per_quarter`, rounding every time to
    /// the nearest new tick. With `min_duration`, notes shorter than it after
    /// rounding (zero-length ones included) are lengthened to it.
    pub fn resample_inplace(&mut self, ticks_per_quarter: u16, min_duration: Option<i64>) -> Result<()> {
        if ticks_per_quarter == 0 {
            return Err(invalid("resolution", "0 ticks per quarter"));
        }
        let ratio = f64::from(ticks_per_quarter) / f64::from(self.ticks_per_quarter.max(1));
        let mut s = self.map_time::<Tick>(|t| (t as f64 * ratio).round() as i64);
        s.ticks_per_quarter = ticks_per_quarter;
        if let Some(m) = min_duration {
            for tr in &mut s.tracks {
                tr.notes.iter_mut().for_each(|n| n.duration = n.duration.max(m));
            }
        }
        *self = s;
        Ok(())
    }
    /// Pure form of [`Score::resample_inplace`].
    pub fn resample(&self, ticks_per_quarter: u16, min_duration: Option<i64>) -> Result<Self> {
        let mut s = self.clone();
        s.resample_inplace(ticks_per_quarter, min_duration)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score() -> Score<Tick> {
        let mut s = Score::new(480);
        let mut t = Track::new("a", 0, 0);
        t.notes = vec![
            Note::new(0, 480, 60, 90),
            Note::new(500, 470, 64, 80),
            Note::new(1000, 2000, 67, 70),
        ];
        t.controls.push(ControlChange {
            time: 700,
            number: 7,
            value: 100,
        });
        s.tracks.push(t);
        s.tempos = vec![
            Tempo { time: 0, mspq: 500_000 },
            Tempo {
                time: 960,
                mspq: 600_000,
            },
        ];
        s
    }

    #[test]
    fn transpose_skips_drums_and_refuses_out_of_range() {
        let mut s = score();
        let mut d = Track::new("drums", 0, 9);
        d.notes.push(Note::new(0, 10, 36, 100));
        s.tracks.push(d);
        let up = s.transpose(5).unwrap();
        assert_eq!(up.tracks[0].notes[0].pitch, 65);
        assert_eq!(up.tracks[1].notes[0].pitch, 36);
        assert!(s.transpose(70).is_err());
        assert_eq!(s.transpose(-60).unwrap().tracks[0].notes[0].pitch, 0);
    }

    #[test]
    fn clip_and_trim_keep_the_tempo_in_effect() {
        let s = score();
        let c = s.clip(480, 1200, true);
        assert_eq!(c.tracks[0].notes.len(), 2);
        assert_eq!(c.tracks[0].notes[1].duration, 200);
        assert_eq!(
            c.tempos[0],
            Tempo {
                time: 480,
                mspq: 500_000
            }
        );
        let t = s.trim(480, 1200);
        assert_eq!(t.tracks[0].notes[0].time, 20);
        assert_eq!(t.tempos[0].time, 0);
        assert_eq!(
            t.tempos[1],
            Tempo {
                time: 480,
                mspq: 600_000
            }
        );
    }

    #[test]
    fn quantize_snaps_to_grid() {
        let q = score().quantize(120).unwrap();
        assert_eq!(q.tracks[0].notes[1], Note::new(480, 480, 64, 80));
        assert_eq!(q.tracks[0].controls[0].time, 720);
        assert!(score().quantize(0).is_err());
    }

    #[test]
    fn resample_rounds_and_keeps_notes() {
        let r = score().resample(4, Some(1)).unwrap();
        assert_eq!(r.ticks_per_quarter, 4);
        assert_eq!(r.tracks[0].notes[1], Note::new(4, 4, 64, 80));
        assert_eq!(r.tempos[1].time, 8);
    }

    #[test]
    fn merge_then_split_restores_parts() {
        let mut s = score();
        let mut b = Track::new("b", 0, 1);
        b.notes.push(Note::new(10, 10, 40, 50));
        s.tracks.push(b);
        let m = s.merge_tracks(&[0, 1]).unwrap();
        assert_eq!(m.tracks.len(), 1);
        assert_eq!(m.tracks[0].notes.len(), 4);
        assert_eq!(m.tracks[0].notes[0].pitch, 60);
        let mut sp = m.clone();
        sp.split_track_inplace(0, |n| n.pitch >= 48).unwrap();
        assert_eq!(sp.tracks.len(), 2);
        assert_eq!(sp.tracks[0].notes.len(), 1);
        assert_eq!(sp.tracks[1].notes.len(), 3);
        assert!(s.merge_tracks(&[0, 5]).is_err());
    }

    #[test]
    fn shift_and_filter() {
        let s = score().shift_time(100);
        assert_eq!(s.tracks[0].notes[0].time, 100);
        assert_eq!(s.tempos[1].time, 1060);
        let f = s.filter_notes(|_, n| n.pitch != 64);
        assert_eq!(f.note_count(), 2);
    }
}
