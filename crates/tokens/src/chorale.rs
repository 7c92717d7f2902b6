//! The SATB grid that every chorale encoding starts from (Coconet, DeepBach,
//! BachBot, TonicNet), and the JSB / JS Fakes data files in that form.
//!
//! The chorale papers do not read scores: they read four voices (soprano,
//! alto, tenor, bass) sampled on a 16th-note grid, one pitch or a rest per
//! voice and step. [`SatbGrid`] is that grid, plus what some of them need on
//! top: whether a cell starts a note or holds the one before (DeepBach's `__`,
//! BachBot's tie flag), a fermata flag per step (DeepBach, BachBot) and the
//! key signature (DeepBach's key metadata). Keeping one grid type means each
//! scheme only maps the grid to its tokens, and the score ↔ grid rules (the
//! lossy part) are written and tested once.
//!
//! Score → grid ([`SatbGrid::from_score`]): the score must have exactly four
//! tracks, soprano, alto, tenor, bass in that order (an error otherwise, never
//! a guess). Onsets and ends are rounded to the nearest step (half up), a note
//! lasts at least one step; in a voice, of notes starting on the same step the
//! highest is kept, and a note is cut where the voice's next note starts.
//! Fermatas are read from markers whose text is `fermata` (fugue's
//! convention, written back by [`SatbGrid::to_score`]). fugue's MusicXML
//! reader makes one such marker per distinct onset of a note or rest that
//! carries `<fermata>`; the grid flags every step of the notes that start
//! there (as DeepBach's and BachBot's data do), and the MusicXML writer
//! writes the markers back; the
//! MIDI reader has no fermatas (only MIDI marker events with that text).
//! The first key signature is kept; tempos, time signatures, other markers,
//! velocities and everything else are dropped. All of it is counted in the
//! [`Report`].
//!
//! Data files: `Jsb16thSeparated.json` (Coconet's split of the 382 JSB
//! chorales, `[S, A, T, B]` per 16th step, `-1` = silence) and JS Fakes'
//! `js-fakes-16thSeparated.json` (the same plus TonicNet chord codes per
//! step). Neither tells a held note from a repeated one, so
//! [`SatbGrid::from_jsb_json_piece`] holds every run of equal pitches; neither
//! has fermatas or keys.

use crate::{Report, TokenError};
use fugue_score::{KeySignature, Note, Score, Text, Tick, Track};
use serde::Deserialize;
use std::path::Path;

/// The voices' track names, top down.
pub const VOICE_NAMES: [&str; 4] = ["Soprano", "Alto", "Tenor", "Bass"];
/// The marker text that marks a fermata step in a score.
pub const FERMATA_MARKER: &str = "fermata";
/// The velocity of every note a grid writes (grids carry no dynamics).
pub const GRID_VELOCITY: u8 = 100;

/// A key signature: sharps (positive) or flats (negative), and the mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// −7..=7.
    pub sharps: i8,
    /// Minor mode.
    pub minor: bool,
}

/// Four voices on a fixed grid.
///
/// Invariants ([`SatbGrid::validate`]): all per-step vectors have the same
/// length; a cell that is an onset sounds; a sounding cell that is not an
/// onset holds the same pitch as the voice's previous cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SatbGrid {
    /// Per step, the pitch of S, A, T, B (`None` = silent).
    pub steps: Vec<[Option<u8>; 4]>,
    /// Per step and voice, whether the note starts here (`false`: it goes on
    /// from the previous step; always `false` for a silent cell).
    pub onsets: Vec<[bool; 4]>,
    /// Per step, whether it is under a fermata.
    pub fermatas: Vec<bool>,
    /// Steps per quarter note (4 = 16ths).
    pub steps_per_quarter: u32,
    /// The key signature, if the source had one.
    pub key: Option<Key>,
}

fn grid_error(message: impl Into<String>) -> TokenError {
    TokenError::Encode(message.into())
}

/// A chorale scheme's preprocessing result: the grid as a score, or, for a
/// score that is not four S, A, T, B tracks, an empty score whose report
/// says why (nothing of it can be expressed).
pub fn preprocessed_grid(score: &Score<Tick>, grid: Result<(SatbGrid, Report), TokenError>) -> crate::Preprocessed {
    match grid {
        Ok((grid, report)) => crate::Preprocessed {
            score: grid.to_score(),
            report,
        },
        Err(e) => crate::Preprocessed {
            score: Score::new(score.ticks_per_quarter),
            report: Report {
                notes_in: score.note_count(),
                tracks_dropped: score.tracks.len(),
                warnings: vec![e.to_string()],
                ..Report::default()
            },
        },
    }
}

impl SatbGrid {
    /// An empty grid.
    pub fn new(steps_per_quarter: u32) -> Self {
        SatbGrid {
            steps: Vec::new(),
            onsets: Vec::new(),
            fermatas: Vec::new(),
            steps_per_quarter,
            key: None,
        }
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether there are no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Append a step.
    pub fn push(&mut self, pitches: [Option<u8>; 4], onsets: [bool; 4], fermata: bool) {
        self.steps.push(pitches);
        self.onsets.push(onsets);
        self.fermatas.push(fermata);
    }

    /// A grid from pitches alone: a run of equal pitches is one held note
    /// (what a grid without articulation, like JSB's or a piano-roll, means).
    pub fn from_pitches(steps: Vec<[Option<u8>; 4]>, steps_per_quarter: u32) -> Self {
        let onsets = steps
            .iter()
            .enumerate()
            .map(|(t, cell)| std::array::from_fn(|v| cell[v].is_some() && (t == 0 || steps[t - 1][v] != cell[v])))
            .collect();
        let fermatas = vec![false; steps.len()];
        SatbGrid {
            steps,
            onsets,
            fermatas,
            steps_per_quarter,
            key: None,
        }
    }

    /// Check the invariants, naming the first broken cell.
    pub fn validate(&self) -> Result<(), TokenError> {
        if self.steps_per_quarter == 0 || self.steps_per_quarter > u32::from(u16::MAX) {
            return Err(grid_error(format!(
                "steps_per_quarter {} is outside 1..=65535",
                self.steps_per_quarter
            )));
        }
        if self.onsets.len() != self.steps.len() || self.fermatas.len() != self.steps.len() {
            return Err(grid_error(format!(
                "grid has {} steps but {} onset rows and {} fermata flags",
                self.steps.len(),
                self.onsets.len(),
                self.fermatas.len()
            )));
        }
        for (t, (cell, on)) in self.steps.iter().zip(&self.onsets).enumerate() {
            for v in 0..4 {
                match cell[v] {
                    Some(p) if p > 127 => return Err(grid_error(format!("step {t}, voice {v}: pitch {p} > 127"))),
                    None if on[v] => return Err(grid_error(format!("step {t}, voice {v}: an onset on a rest"))),
                    Some(p) if !on[v] && (t == 0 || self.steps[t - 1][v] != Some(p)) => {
                        return Err(grid_error(format!(
                            "step {t}, voice {v}: holds pitch {p} that the previous step does not sound"
                        )))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Make every repeated note a held one (for encodings that cannot tell
    /// them apart); returns how many notes were merged into the one before.
    pub fn merge_repeats(&mut self) -> usize {
        let mut merged = 0;
        for t in 1..self.steps.len() {
            for v in 0..4 {
                if self.onsets[t][v] && self.steps[t][v].is_some() && self.steps[t - 1][v] == self.steps[t][v] {
                    self.onsets[t][v] = false;
                    merged += 1;
                }
            }
        }
        merged
    }

    /// Shift every pitch by `semitones`; an error if one leaves 0..=127.
    pub fn transpose(&mut self, semitones: i32) -> Result<(), TokenError> {
        for (t, cell) in self.steps.iter_mut().enumerate() {
            for (v, p) in cell.iter_mut().enumerate() {
                if let Some(p) = p {
                    let q = i32::from(*p) + semitones;
                    *p = u8::try_from(q)
                        .ok()
                        .filter(|q| *q <= 127)
                        .ok_or_else(|| grid_error(format!("step {t}, voice {v}: pitch {q} leaves 0..=127")))?;
                }
            }
        }
        Ok(())
    }

    /// One piece of `Jsb16thSeparated.json`: `[S, A, T, B]` per 16th step,
    /// a negative value = silence. The dataset does not tell a repeated note
    /// from a held one, so a run of equal pitches is one held note.
    pub fn from_jsb_json_piece(piece: &[[i32; 4]]) -> Result<Self, TokenError> {
        let steps = piece
            .iter()
            .enumerate()
            .map(|(t, frame)| {
                let mut cell = [None; 4];
                for v in 0..4 {
                    cell[v] = match frame[v] {
                        x if x < 0 => None,
                        x => Some(
                            u8::try_from(x)
                                .ok()
                                .filter(|p| *p <= 127)
                                .ok_or_else(|| grid_error(format!("step {t}, voice {v}: pitch {x} > 127")))?,
                        ),
                    };
                }
                Ok(cell)
            })
            .collect::<Result<Vec<_>, TokenError>>()?;
        Ok(Self::from_pitches(steps, 4))
    }

    /// A four-track SATB score on the grid; see the module docs for the rules.
    pub fn from_score(score: &Score<Tick>, steps_per_quarter: u32) -> Result<(Self, Report), TokenError> {
        if score.tracks.len() != 4 {
            return Err(grid_error(format!(
                "a chorale grid needs exactly 4 tracks (soprano, alto, tenor, bass, in that order); this score has {}",
                score.tracks.len()
            )));
        }
        let mut grid = SatbGrid::new(steps_per_quarter);
        grid.validate()?;
        let mut report = Report {
            notes_in: score.note_count(),
            time_signatures_changed: score.time_signatures.len(),
            ..Report::default()
        };
        let tpq = i64::from(score.ticks_per_quarter.max(1));
        let spq = i64::from(steps_per_quarter);
        // Nearest step, half up; times before 0 go to 0.
        let step = |t: i64| ((t.max(0) * spq * 2 + tpq) / (2 * tpq)).max(0);
        let mut voices: Vec<Vec<(i64, i64, u8)>> = Vec::with_capacity(4);
        for tr in &score.tracks {
            let mut notes: Vec<(i64, i64, u8)> = Vec::with_capacity(tr.notes.len());
            for n in &tr.notes {
                let s = step(n.time);
                let e = step(n.end()).max(s + 1);
                if s * tpq != n.time * spq {
                    report.onsets_moved += 1;
                }
                if (e - s) * tpq != n.duration * spq {
                    report.durations_changed += 1;
                }
                if n.velocity != GRID_VELOCITY {
                    report.velocities_changed += 1;
                }
                notes.push((s, e, n.pitch));
            }
            // Highest first among notes that start together; keep that one.
            notes.sort_by_key(|&(s, e, p)| (s, std::cmp::Reverse(p), std::cmp::Reverse(e)));
            let before = notes.len();
            notes.dedup_by_key(|n| n.0);
            report.notes_merged += before - notes.len();
            for k in 1..notes.len() {
                if notes[k - 1].1 > notes[k].0 {
                    notes[k - 1].1 = notes[k].0;
                    report.durations_changed += 1;
                }
            }
            voices.push(notes);
        }
        let fermata_steps: Vec<i64> = score
            .markers
            .iter()
            .filter(|m| m.text.eq_ignore_ascii_case(FERMATA_MARKER))
            .map(|m| step(m.time))
            .collect();
        let other_markers = score.markers.len() - fermata_steps.len();
        let len = voices
            .iter()
            .flat_map(|v| v.last().map(|n| n.1))
            .chain(fermata_steps.iter().map(|s| s + 1))
            .max()
            .unwrap_or(0);
        let len = usize::try_from(len).map_err(|_| grid_error("score too long for a grid"))?;
        grid.steps = vec![[None; 4]; len];
        grid.onsets = vec![[false; 4]; len];
        grid.fermatas = vec![false; len];
        for (v, notes) in voices.iter().enumerate() {
            for &(s, e, p) in notes {
                for t in s..e {
                    grid.steps[t as usize][v] = Some(p);
                }
                grid.onsets[s as usize][v] = true;
            }
        }
        // A fermata lasts as long as the notes it sits on: DeepBach's
        // fermata metadata and BachBot's `(.)` mark every step of the held
        // chord, not just its first (a fermata on a rest marks that step).
        for s in fermata_steps {
            let s = s as usize;
            let end = grid.fermata_end(s);
            for flag in &mut grid.fermatas[s..end] {
                *flag = true;
            }
        }
        grid.key = score.key_signatures.first().map(|k| Key {
            sharps: k.key,
            minor: k.minor,
        });
        if score.key_signatures.len() > 1 {
            report
                .warnings
                .push(format!("{} key changes dropped", score.key_signatures.len() - 1));
        }
        if other_markers > 0 {
            report.warnings.push(format!("{other_markers} markers dropped"));
        }
        if !score.tempos.is_empty() {
            report.warnings.push(format!("{} tempos dropped", score.tempos.len()));
        }
        Ok((grid, report))
    }

    /// Where a fermata placed at step `s` ends: a fermata lasts as long as
    /// the notes that start under it (DeepBach's fermata metadata and
    /// BachBot's `(.)` mark every step of the held chord); on a step where
    /// nothing starts, just that step.
    pub fn fermata_end(&self, s: usize) -> usize {
        let mut end = s + 1;
        for v in (0..4).filter(|&v| self.onsets.get(s).is_some_and(|o| o[v])) {
            let mut t = s + 1;
            while t < self.steps.len() && self.steps[t][v] == self.steps[s][v] && !self.onsets[t][v] {
                t += 1;
            }
            end = end.max(t);
        }
        end.min(self.steps.len().max(s + 1))
    }

    /// The grid as a score: four tracks (always, even silent ones) named
    /// Soprano..Bass on channels 0..3, one tick per step, velocity
    /// [`GRID_VELOCITY`], fermatas as `fermata` markers, the key signature at 0.
    pub fn to_score(&self) -> Score<Tick> {
        let mut score = Score::new(self.steps_per_quarter.clamp(1, u32::from(u16::MAX)) as u16);
        for (v, name) in VOICE_NAMES.iter().enumerate() {
            let mut track = Track::new(*name, 0, v as u8);
            let mut open: Option<(usize, u8)> = None;
            for t in 0..=self.steps.len() {
                let cell = self.steps.get(t).map(|c| c[v]).unwrap_or(None);
                let onset = self.onsets.get(t).is_some_and(|o| o[v]);
                let goes_on = matches!((open, cell), (Some((_, p)), Some(q)) if p == q && !onset);
                if !goes_on {
                    if let Some((s, p)) = open.take() {
                        track.notes.push(Note::new(s as i64, (t - s) as i64, p, GRID_VELOCITY));
                    }
                    open = cell.map(|p| (t, p));
                }
            }
            score.tracks.push(track);
        }
        // Markers where `from_score` needs them to flag exactly these steps:
        // at each span's start, and again wherever the chords marked so far
        // end inside a span.
        let mut markers = Vec::new();
        let mut covered = 0;
        for t in 0..self.fermatas.len() {
            if self.fermatas[t] && t >= covered {
                markers.push(Text {
                    time: t as i64,
                    text: FERMATA_MARKER.to_string(),
                });
                covered = self.fermata_end(t);
            }
        }
        score.markers = markers;
        if let Some(k) = self.key {
            score.key_signatures.push(KeySignature {
                time: 0,
                key: k.sharps,
                minor: k.minor,
            });
        }
        score
    }
}

/// The three splits of a chorale dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Splits {
    /// Training pieces.
    pub train: Vec<SatbGrid>,
    /// Validation pieces.
    pub valid: Vec<SatbGrid>,
    /// Test pieces.
    pub test: Vec<SatbGrid>,
}

#[derive(Deserialize)]
struct JsbFile {
    train: Vec<Vec<[i32; 4]>>,
    valid: Vec<Vec<[i32; 4]>>,
    test: Vec<Vec<[i32; 4]>>,
}

#[derive(Deserialize)]
struct JsFakesFile {
    pitches: Vec<Vec<[i32; 4]>>,
    chords: Vec<Vec<i64>>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, TokenError> {
    let data_error = |message: String| TokenError::Data {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| data_error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| data_error(e.to_string()))
}

/// Read `Jsb16thSeparated.json` (Coconet's JSB chorales: 229 / 76 / 77 pieces).
pub fn load_jsb16th_separated(path: &Path) -> Result<Splits, TokenError> {
    let f: JsbFile = read_json(path)?;
    let grids = |pieces: Vec<Vec<[i32; 4]>>, split: &str| {
        pieces
            .iter()
            .enumerate()
            .map(|(i, p)| {
                SatbGrid::from_jsb_json_piece(p).map_err(|e| TokenError::Data {
                    path: path.display().to_string(),
                    message: format!("{split} piece {i}: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(Splits {
        train: grids(f.train, "train")?,
        valid: grids(f.valid, "valid")?,
        test: grids(f.test, "test")?,
    })
}

/// Read JS Fakes' `js-fakes-16thSeparated.json`: each piece's grid with its
/// TonicNet chord class (0..=49) per step.
pub fn load_js_fakes_16th(path: &Path) -> Result<Vec<(SatbGrid, Vec<u8>)>, TokenError> {
    let f: JsFakesFile = read_json(path)?;
    let bad = |message: String| TokenError::Data {
        path: path.display().to_string(),
        message,
    };
    if f.pitches.len() != f.chords.len() {
        return Err(bad(format!(
            "{} pieces but {} chord lists",
            f.pitches.len(),
            f.chords.len()
        )));
    }
    f.pitches
        .iter()
        .zip(&f.chords)
        .enumerate()
        .map(|(i, (p, c))| {
            let grid = SatbGrid::from_jsb_json_piece(p).map_err(|e| bad(format!("piece {i}: {e}")))?;
            if c.len() != grid.len() {
                return Err(bad(format!("piece {i}: {} steps but {} chords", grid.len(), c.len())));
            }
            let chords = c
                .iter()
                .map(|&x| u8::try_from(x).ok().filter(|x| *x <= 49))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| bad(format!("piece {i}: a chord code outside 0..=49")))?;
            Ok((grid, chords))
        })
        .collect()
}

/// Where the shared data lives, seen from this crate (tests only).
#[cfg(test)]
pub(crate) fn shared_data() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// The JSB 16th splits when the shared data is there (tests only).
#[cfg(test)]
pub(crate) fn jsb_or_skip(test: &str) -> Option<Splits> {
    let p = shared_data().join("jsb_chorales_coconet/Jsb16thSeparated.json");
    if !p.exists() {
        eprintln!("{test}: skipped, {} is absent", p.display());
        return None;
    }
    Some(load_jsb16th_separated(&p).expect("the shared JSB file parses"))
}

/// A small hand-built chorale with everything a grid can say: held and
/// repeated notes, a rest in one voice, a fermata, a key (tests only).
#[cfg(test)]
pub(crate) fn tiny_chorale() -> Score<Tick> {
    let mut s = Score::new(480);
    // (onset, duration) in 16ths, pitch; soprano repeats G4, the alto rests a beat.
    let parts: [&[(i64, i64, u8)]; 4] = [
        &[(0, 4, 67), (4, 4, 67), (8, 8, 69)],
        &[(0, 4, 62), (8, 8, 64)],
        &[(0, 8, 59), (8, 8, 60)],
        &[(0, 4, 43), (4, 4, 47), (8, 8, 45)],
    ];
    for (v, notes) in parts.iter().enumerate() {
        let mut tr = Track::new(VOICE_NAMES[v], 0, v as u8);
        tr.notes = notes
            .iter()
            .map(|&(t, d, p)| Note::new(t * 120, d * 120, p, 80))
            .collect();
        s.tracks.push(tr);
    }
    s.markers.push(Text {
        time: 8 * 120,
        text: FERMATA_MARKER.into(),
    });
    s.key_signatures.push(KeySignature {
        time: 0,
        key: 1,
        minor: false,
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_to_grid_keeps_held_repeated_rests_fermatas_and_key() {
        let (g, report) = SatbGrid::from_score(&tiny_chorale(), 4).unwrap();
        g.validate().unwrap();
        assert_eq!(g.len(), 16);
        assert_eq!(g.steps[0], [Some(67), Some(62), Some(59), Some(43)]);
        assert_eq!(g.onsets[4], [true, false, false, true], "soprano re-strikes G4");
        assert_eq!(g.steps[4][1], None, "the alto rests");
        let flagged: Vec<usize> = (0..g.len()).filter(|&t| g.fermatas[t]).collect();
        assert_eq!(flagged, (8..16).collect::<Vec<_>>(), "the fermata lasts its chord");
        assert_eq!(
            g.key,
            Some(Key {
                sharps: 1,
                minor: false
            })
        );
        assert_eq!(report.notes_in, 10);
        assert_eq!(report.velocities_changed, 10);
        assert_eq!(report.onsets_moved, 0);
        // Back to a score and again: nothing more changes.
        let s = g.to_score();
        assert_eq!(s.tracks[0].notes.len(), 3, "the repeated G4 stays two notes");
        let (g2, r2) = SatbGrid::from_score(&s, 4).unwrap();
        assert_eq!(g2, g);
        assert_eq!(
            (r2.velocities_changed, r2.durations_changed, r2.notes_merged),
            (0, 0, 0)
        );
    }

    #[test]
    fn quantizes_merges_and_cuts() {
        let mut s = tiny_chorale();
        s.markers.clear();
        // A soprano note 50 ticks late (rounds to step 0), a second note on
        // the same onset (lower: dropped), and a long one cut by the next.
        s.tracks[0].notes = vec![
            Note::new(50, 2000, 72, 100),
            Note::new(0, 480, 60, 100),
            Note::new(480, 480, 74, 100),
        ];
        let (g, r) = SatbGrid::from_score(&s, 4).unwrap();
        assert_eq!(g.steps[0][0], Some(72));
        assert_eq!(g.steps[4][0], Some(74));
        assert!(g.onsets[4][0]);
        assert_eq!(r.notes_merged, 1);
        assert_eq!(r.onsets_moved, 1);
        assert!(r.durations_changed >= 2);
    }

    #[test]
    fn wrong_track_count_is_a_clear_error() {
        let mut s = tiny_chorale();
        s.tracks.pop();
        let e = SatbGrid::from_score(&s, 4).unwrap_err().to_string();
        assert!(e.contains("exactly 4 tracks") && e.contains("has 3"), "{e}");
    }

    #[test]
    fn jsb_piece_holds_equal_pitches() {
        let g = SatbGrid::from_jsb_json_piece(&[[60, -1, 50, 40], [60, 55, 52, 40], [62, 55, -1, 40]]).unwrap();
        g.validate().unwrap();
        assert_eq!(
            g.onsets,
            vec![
                [true, false, true, true],
                [false, true, true, false],
                [true, false, false, false]
            ]
        );
        assert!(SatbGrid::from_jsb_json_piece(&[[60, 200, 50, 40]]).is_err());
    }

    #[test]
    fn validate_names_broken_cells() {
        let mut g = SatbGrid::from_pitches(vec![[Some(60), None, None, None]; 2], 4);
        g.onsets[0][0] = false;
        assert!(g.validate().unwrap_err().to_string().contains("step 0, voice 0"));
        g.onsets[0][0] = true;
        g.onsets[1][1] = true;
        assert!(g.validate().unwrap_err().to_string().contains("onset on a rest"));
    }

    #[test]
    fn jsb_splits_have_the_published_sizes() {
        let Some(s) = jsb_or_skip("jsb_splits_have_the_published_sizes") else {
            return;
        };
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (229, 76, 77));
        let steps: usize = s.train.iter().map(|g| g.len()).sum();
        assert_eq!(steps, 55_228);
        for g in s.train.iter().chain(&s.valid).chain(&s.test) {
            g.validate().unwrap();
        }
    }
}
