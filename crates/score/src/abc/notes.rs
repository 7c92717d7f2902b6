//! Notes and chords as written: accidentals, letters, octave marks, lengths
//! and ties, turned into pitches (key, bar accidentals, tie carry) and ticks.

use super::body::{scale_ticks, Body, Pos, Propagate, RawNote, Warn, WHOLE};
use super::fields::{letter_index, SEMITONES};
use super::lex::Line;

/// A note as read, before it is placed.
struct Written {
    letter: usize,
    octave: i32,
    /// `None` when the pitch is outside MIDI's range (the note is dropped
    /// but still takes its time).
    pitch: Option<u8>,
    /// Length in ticks.
    len: i64,
    tie: bool,
    at: Pos,
}

impl Body {
    /// A length multiplier after a note, rest or chord: `2`, `/2`, `/`,
    /// `//`, `3/2`, `3/`. Numbers saturate at 9999 and the denominator at
    /// 2^16, so every product stays far from overflow.
    fn multiplier(p: &mut Line) -> (i64, i64) {
        let num = p.number().map_or(1, i64::from);
        let mut den = 1i64;
        while p.peek() == Some(b'/') {
            p.i += 1;
            let d = p.number().map_or(2, i64::from).max(1);
            den = den.saturating_mul(d).min(1 << 16);
        }
        (num, den)
    }

    /// Ticks of `num/den` unit lengths; warns once per tune when the length
    /// is not a whole number of ticks (it is rounded).
    fn ticks<E>(&mut self, num: i64, den: i64, at: Pos, warn: &mut Warn<E>) -> Result<i64, E> {
        let n = WHOLE * self.unit.0;
        let d = self.unit.1 * den;
        if (i128::from(n) * i128::from(num)) % i128::from(d.max(1)) != 0 && !self.rounded_warned {
            self.rounded_warned = true;
            warn(
                at,
                "a note length is not a whole number of 1/480 quarters; rounded".into(),
            )?;
        }
        Ok(scale_ticks(n, num, d))
    }

    /// The length (in ticks) written after a rest or spacer.
    pub(super) fn length<E>(&mut self, p: &mut Line, warn: &mut Warn<E>) -> Result<i64, E> {
        let at = p.at();
        let (n, d) = Self::multiplier(p);
        self.ticks(n, d, at, warn)
    }

    /// A single note: read it and place it.
    pub(super) fn note_element<E>(&mut self, p: &mut Line, warn: &mut Warn<E>) -> Result<(), E> {
        let Some(w) = self.written_note(p, warn)? else {
            return Ok(());
        };
        let notes = w
            .pitch
            .map(|pitch| RawNote {
                onset: 0,
                duration: w.len,
                pitch,
                tie: w.tie,
                at: w.at,
            })
            .into_iter()
            .collect();
        self.place(notes, w.len);
        if let (true, Some(pitch)) = (w.tie, w.pitch) {
            self.tied = vec![(w.letter, w.octave, pitch)];
        }
        Ok(())
    }

    /// `[CEG]2-`: the chord's notes start together; each keeps its own
    /// length times the chord's multiplier, and the first note's length
    /// moves the cursor (ABC 2.1).
    pub(super) fn chord<E>(&mut self, p: &mut Line, warn: &mut Warn<E>) -> Result<(), E> {
        let at = p.at();
        p.i += 1;
        let mut written = Vec::new();
        loop {
            match p.peek() {
                None => {
                    warn(at, "chord '[' without ']' on the line; closed at the line end".into())?;
                    break;
                }
                Some(b']') => {
                    p.i += 1;
                    break;
                }
                Some(b'|') => {
                    warn(at, "bar line inside a chord; the chord is closed there".into())?;
                    break;
                }
                Some(b'^' | b'_' | b'=' | b'A'..=b'G' | b'a'..=b'g') => {
                    if let Some(w) = self.written_note(p, warn)? {
                        written.push(w);
                    }
                }
                Some(b'"') => self.quoted(p, warn)?,
                Some(b' ' | b'\t' | b'-') => p.i += 1,
                Some(b'!' | b'+' | b'.' | b'~' | b'H'..=b'W' | b'h'..=b'w') => self.decoration(p),
                Some(_) => {
                    warn(at, "chord '[' not closed before other music; closed there".into())?;
                    break;
                }
            }
        }
        let (mn, md) = Self::multiplier(p);
        let tie_all = p.peek() == Some(b'-');
        if tie_all {
            p.i += 1;
        }
        let Some(first) = written.first() else {
            return Ok(());
        };
        let advance = scale_ticks(first.len, mn, md);
        let mut notes = Vec::with_capacity(written.len());
        let mut tied = Vec::new();
        for w in &written {
            let Some(pitch) = w.pitch else { continue };
            let tie = w.tie || tie_all;
            notes.push(RawNote {
                onset: 0,
                duration: scale_ticks(w.len, mn, md),
                pitch,
                tie,
                at: w.at,
            });
            if tie {
                tied.push((w.letter, w.octave, pitch));
            }
        }
        self.place(notes, advance);
        self.tied = tied;
        Ok(())
    }

    /// Read one note (accidental, letter, octave marks, length, tie) and
    /// work out its pitch: an explicit accidental holds for that letter (in
    /// every octave, or in its octave, or not at all: `Propagate`) until the
    /// bar line; a note tied from the same letter and
    /// octave keeps the tied note's pitch; otherwise the key decides.
    fn written_note<E>(&mut self, p: &mut Line, warn: &mut Warn<E>) -> Result<Option<Written>, E> {
        let at = p.at();
        let mut acc: Option<i8> = None;
        match p.peek() {
            Some(b'^') => {
                p.i += 1;
                acc = Some(if p.peek() == Some(b'^') { 2 } else { 1 });
            }
            Some(b'_') => {
                p.i += 1;
                acc = Some(if p.peek() == Some(b'_') { -2 } else { -1 });
            }
            Some(b'=') => {
                p.i += 1;
                acc = Some(0);
            }
            _ => {}
        }
        if matches!(acc, Some(2 | -2)) {
            p.i += 1;
        }
        if acc.is_some() && p.peek().is_some_and(|c| c.is_ascii_digit() || c == b'/') {
            while p.peek().is_some_and(|c| c.is_ascii_digit() || c == b'/') {
                p.i += 1;
            }
            warn(at, "microtonal accidental read as a whole semitone".into())?;
        }
        let Some((c, letter)) = p.peek().and_then(|c| letter_index(c).map(|l| (c, l))) else {
            warn(at, "accidental without a note; ignored".into())?;
            return Ok(None);
        };
        p.i += 1;
        let mut octave: i32 = if c.is_ascii_lowercase() { 1 } else { 0 };
        loop {
            match p.peek() {
                Some(b'\'') => octave = (octave + 1).min(12),
                Some(b',') => octave = (octave - 1).max(-12),
                _ => break,
            }
            p.i += 1;
        }
        let len_at = p.at();
        let (n, d) = Self::multiplier(p);
        let len = self.ticks(n, d, len_at, warn)?;
        let tie = p.peek() == Some(b'-');
        if tie {
            p.i += 1;
        }
        let tied = self
            .tied
            .iter()
            .find(|t| t.0 == letter && t.1 == octave)
            .map(|t| i32::from(t.2));
        let pitch = match (acc, tied) {
            (None, Some(pitch)) => pitch,
            _ => {
                // Where an accidental holds (see `Propagate`): `None` for nowhere.
                let slot = match self.propagate {
                    Propagate::Pitch => Some((letter, i32::MIN)),
                    Propagate::Octave => Some((letter, octave)),
                    Propagate::Not => None,
                };
                let alter = match acc {
                    Some(a) => {
                        if let Some(slot) = slot {
                            self.bar_acc.retain(|e| e.0 != slot);
                            self.bar_acc.push((slot, a));
                        }
                        a
                    }
                    None => slot
                        .and_then(|slot| self.bar_acc.iter().find(|e| e.0 == slot))
                        .map_or(self.key.acc[letter], |e| e.1),
                };
                60 + 12 * octave + SEMITONES[letter] + i32::from(alter)
            }
        };
        let pitch = match u8::try_from(pitch) {
            Ok(p) if p <= 127 => Some(p),
            _ => {
                warn(
                    at,
                    format!("pitch {pitch} is outside MIDI's 0..=127; the note is left out"),
                )?;
                None
            }
        };
        Ok(Some(Written {
            letter,
            octave,
            pitch,
            len,
            tie,
            at,
        }))
    }
}
