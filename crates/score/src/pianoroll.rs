//! Piano-rolls and struct-of-arrays views: the score as arrays for tensors.

use crate::error::{Result, ScoreError};
use crate::score::*;
use crate::time::{Tick, TimeUnit, TimeValue};

/// What a piano-roll plane marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollMode {
    /// The frame where a note starts.
    Onset,
    /// Every frame a note sounds.
    Frame,
    /// The frame where a note ends.
    Offset,
}

/// A dense piano-roll, `[mode][track][pitch][frame]`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct PianoRoll {
    /// The planes, in the order asked for.
    pub modes: Vec<RollMode>,
    /// Number of tracks.
    pub tracks: usize,
    /// Lowest pitch (the first row).
    pub pitch_low: u8,
    /// Number of pitch rows.
    pub pitches: usize,
    /// Number of frames.
    pub frames: usize,
    /// Cells: 0/1, or the velocity when asked for.
    pub data: Vec<u8>,
}

impl PianoRoll {
    /// The cell for (mode index, track, pitch row, frame).
    pub fn get(&self, mode: usize, track: usize, row: usize, frame: usize) -> u8 {
        self.data[((mode * self.tracks + track) * self.pitches + row) * self.frames + frame]
    }
}

impl<T: TimeUnit> Score<T> {
    /// A piano-roll at `frames_per_unit` frames per unit of `T` (per tick, per
    /// quarter or per second), over pitches `low..high`. A note covers frames
    /// `floor(time·r)` up to, not including, `floor(end·r)`, and at least one
    /// frame. Notes outside the pitch range are left out.
    pub fn piano_roll(
        &self,
        frames_per_unit: f64,
        modes: &[RollMode],
        pitch_range: (u8, u8),
        encode_velocity: bool,
    ) -> Result<PianoRoll> {
        let (low, high) = pitch_range;
        if low >= high || high > 128 || frames_per_unit.is_nan() || frames_per_unit <= 0.0 || modes.is_empty() {
            return Err(ScoreError::Invalid {
                what: "piano-roll settings".into(),
                message: format!(
                    "pitch range {low}..{high}, {frames_per_unit} frames per unit, {} modes",
                    modes.len()
                ),
            });
        }
        let frame = |t: T::Value| (t.to_f64() * frames_per_unit).floor().max(0.0) as usize;
        let frames = self
            .tracks
            .iter()
            .flat_map(|t| t.notes.iter())
            .map(|n| frame(n.end()).max(frame(n.time) + 1))
            .max()
            .unwrap_or(0)
            + 1;
        let pitches = usize::from(high - low);
        let tracks = self.tracks.len();
        let mut data = vec![0u8; modes.len() * tracks * pitches * frames];
        for (ti, tr) in self.tracks.iter().enumerate() {
            for n in tr.notes.iter().filter(|n| n.pitch >= low && n.pitch < high) {
                let v = if encode_velocity { n.velocity } else { 1 };
                let (s, e) = (frame(n.time), frame(n.end()).max(frame(n.time) + 1));
                let row = usize::from(n.pitch - low);
                for (mi, m) in modes.iter().enumerate() {
                    let base = ((mi * tracks + ti) * pitches + row) * frames;
                    match m {
                        RollMode::Onset => data[base + s] = v,
                        RollMode::Frame => data[base + s..base + e].iter_mut().for_each(|c| *c = v),
                        RollMode::Offset => data[base + e.min(frames - 1)] = v,
                    }
                }
            }
        }
        Ok(PianoRoll {
            modes: modes.to_vec(),
            tracks,
            pitch_low: low,
            pitches,
            frames,
            data,
        })
    }
}

impl Score<Tick> {
    /// A piano-roll at `frames_per_quarter` frames per quarter note.
    pub fn piano_roll_per_quarter(
        &self,
        frames_per_quarter: u32,
        modes: &[RollMode],
        pitch_range: (u8, u8),
        encode_velocity: bool,
    ) -> Result<PianoRoll> {
        let r = f64::from(frames_per_quarter) / f64::from(self.ticks_per_quarter.max(1));
        self.piano_roll(r, modes, pitch_range, encode_velocity)
    }
}

/// A track's notes as parallel arrays (struct of arrays), ready for tensors.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NoteArrays<T: TimeUnit> {
    /// Onsets.
    pub time: Vec<T::Value>,
    /// Durations.
    pub duration: Vec<T::Value>,
    /// Pitches.
    pub pitch: Vec<u8>,
    /// Velocities.
    pub velocity: Vec<u8>,
}

impl<T: TimeUnit> NoteArrays<T> {
    /// Back to notes; fails if the arrays differ in length.
    pub fn to_notes(&self) -> Result<Vec<Note<T>>> {
        let n = self.time.len();
        if self.duration.len() != n || self.pitch.len() != n || self.velocity.len() != n {
            return Err(ScoreError::Invalid {
                what: "note arrays".into(),
                message: "time, duration, pitch and velocity differ in length".into(),
            });
        }
        Ok((0..n)
            .map(|i| Note::new(self.time[i], self.duration[i], self.pitch[i], self.velocity[i]))
            .collect())
    }
}

impl<T: TimeUnit> Track<T> {
    /// The notes as parallel arrays.
    pub fn note_arrays(&self) -> NoteArrays<T> {
        NoteArrays {
            time: self.notes.iter().map(|n| n.time).collect(),
            duration: self.notes.iter().map(|n| n.duration).collect(),
            pitch: self.notes.iter().map(|n| n.pitch).collect(),
            velocity: self.notes.iter().map(|n| n.velocity).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_marks_onset_frame_offset() {
        let mut s = Score::<Tick>::new(4);
        let mut t = Track::new("", 0, 0);
        t.notes = vec![Note::new(0, 8, 60, 100), Note::new(4, 1, 62, 50)];
        s.tracks.push(t);
        let r = s
            .piano_roll_per_quarter(
                1,
                &[RollMode::Onset, RollMode::Frame, RollMode::Offset],
                (60, 64),
                false,
            )
            .unwrap();
        assert_eq!((r.tracks, r.pitches, r.frames), (1, 4, 3));
        assert_eq!((0..3).map(|f| r.get(1, 0, 0, f)).collect::<Vec<_>>(), vec![1, 1, 0]);
        assert_eq!((0..3).map(|f| r.get(1, 0, 2, f)).collect::<Vec<_>>(), vec![0, 1, 0]);
        assert_eq!(r.get(0, 0, 2, 1), 1);
        assert_eq!(r.get(2, 0, 0, 2), 1);
        let v = s.piano_roll_per_quarter(4, &[RollMode::Frame], (0, 128), true).unwrap();
        assert_eq!(v.get(0, 0, 62, 4), 50);
        assert!(s.piano_roll_per_quarter(4, &[RollMode::Frame], (64, 60), true).is_err());
    }

    #[test]
    fn arrays_round_trip() {
        let mut t = Track::<Tick>::new("", 0, 0);
        t.notes = vec![Note::new(0, 8, 60, 100), Note::new(4, 1, 62, 50)];
        let a = t.note_arrays();
        assert_eq!(a.pitch, vec![60, 62]);
        assert_eq!(a.to_notes().unwrap(), t.notes);
    }
}
