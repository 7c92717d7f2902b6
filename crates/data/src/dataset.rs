//! What every loader returns: a [`Dataset`] of [`Piece`]s, each with its
//! [`Split`], its content and the metadata its corpus ships.
//!
//! Content comes in the form the corpus has it, so that nothing is converted
//! twice or guessed: binary piano-rolls ([`Roll`], the Boulanger-Lewandowski
//! benchmarks and the JSB resolutions), SATB grids (Coconet's JSB set),
//! MIDI files ([`MidiRef`], read again on demand so that a corpus larger than
//! memory can be listed without holding its scores) and scores read from
//! text notation (the Nottingham ABC tunes: [`Content::Score`], held in
//! memory, as a tunebook is small). [`Piece::score`] turns any of them into a
//! `Score<Tick>` for tokenizers.
//!
//! Corpora without an official split get a deterministic one from a hash
//! ([`hash_split`]): the first 8 bytes of the SHA-256 digest, read as a
//! big-endian `u64`, modulo 100: below 80 is train, below 90 valid, the rest
//! test. The digest is of the file's bytes (so a renamed or moved file keeps
//! its split and duplicates cannot straddle splits), or of a group key where
//! versions of one piece must stay together (the piano set).

use crate::error::{DataError, DataWarning};
use crate::metadata::Meta;
use fugue_score::{Note, Score, Tick, Track};
use fugue_tokens::chorale::SatbGrid;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// A part of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training.
    Train,
    /// Validation.
    Valid,
    /// Test.
    Test,
}

impl Split {
    /// All three, in the usual order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// `train`, `valid`, `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }

    /// Read a split name; MAESTRO's `validation` is `valid`.
    pub fn parse(s: &str) -> Option<Split> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" | "training" => Some(Split::Train),
            "valid" | "validation" | "val" | "dev" => Some(Split::Valid),
            "test" => Some(Split::Test),
            _ => None,
        }
    }
}

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A digest as lower-case hex.
pub fn hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    digest.iter().fold(String::with_capacity(digest.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The split of a corpus without one: 80/10/10 by digest (see the module docs).
pub fn hash_split(digest: &[u8; 32]) -> Split {
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    match u64::from_be_bytes(head) % 100 {
        0..=79 => Split::Train,
        80..=89 => Split::Valid,
        _ => Split::Test,
    }
}

/// A binary piano-roll: per frame, the MIDI pitches that sound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Roll {
    /// Per frame, the sounding pitches, ascending, no repeats.
    pub frames: Vec<Vec<u8>>,
    /// Frames per quarter note when the corpus says (JSB: 1, 2 or 4); the
    /// Boulanger-Lewandowski Nottingham, MuseData and Piano-midi.de rolls do
    /// not state it.
    pub steps_per_quarter: Option<u32>,
}

impl Roll {
    /// A roll from frames in any order; pitches are sorted and de-duplicated.
    pub fn new(mut frames: Vec<Vec<u8>>, steps_per_quarter: Option<u32>) -> Self {
        for f in &mut frames {
            f.sort_unstable();
            f.dedup();
        }
        Roll {
            frames,
            steps_per_quarter,
        }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Shift every pitch; `None` if one would leave `lo..=hi`.
    pub fn transposed(&self, semitones: i32, lo: u8, hi: u8) -> Option<Roll> {
        let frames = self
            .frames
            .iter()
            .map(|f| {
                f.iter()
                    .map(|&p| {
                        u8::try_from(i32::from(p) + semitones)
                            .ok()
                            .filter(|q| (lo..=hi).contains(q))
                    })
                    .collect::<Option<Vec<u8>>>()
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Roll {
            frames,
            steps_per_quarter: self.steps_per_quarter,
        })
    }

    /// The roll as a one-track score, one tick per frame: a run of frames in
    /// which a pitch sounds is one held note (a binary roll cannot tell a
    /// held note from a repeated one). `steps_per_quarter` is the roll's own,
    /// or `default` when the corpus does not state it.
    pub fn to_score(&self, default: u32) -> Score<Tick> {
        let spq = self.steps_per_quarter.unwrap_or(default).clamp(1, u32::from(u16::MAX));
        let mut score = Score::new(spq as u16);
        let mut track = Track::new("Piano", 0, 0);
        let mut open: [Option<usize>; 128] = [None; 128];
        let mut sounding = [false; 128];
        for t in 0..=self.frames.len() {
            let mut now = [false; 128];
            if let Some(f) = self.frames.get(t) {
                for &p in f {
                    if let Some(x) = now.get_mut(usize::from(p)) {
                        *x = true;
                    }
                }
            }
            for p in 0..128 {
                if sounding[p] && !now[p] {
                    if let Some(s) = open[p].take() {
                        track.notes.push(Note::new(s as i64, (t - s) as i64, p as u8, 100));
                    }
                } else if !sounding[p] && now[p] {
                    open[p] = Some(t);
                }
            }
            sounding = now;
        }
        track.notes.sort_by_key(|n| (n.time, n.pitch));
        score.tracks.push(track);
        score
    }
}

/// A MIDI file of a corpus, checked when the corpus was loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MidiRef {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of its bytes, hex (the de-duplication key).
    pub sha256: String,
    /// Notes it held when loaded.
    pub notes: u64,
}

/// A piece's music, in the corpus's own form.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// A binary piano-roll.
    Roll(Roll),
    /// Four voices on a 16th grid (Coconet's JSB set).
    Grid(SatbGrid),
    /// A MIDI file, read on demand.
    Midi(MidiRef),
    /// A score read when the corpus was loaded (an ABC tune).
    Score(Box<Score<Tick>>),
}

/// One piece of a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    /// A stable name: the file's path relative to the dataset folder, or
    /// `split/index` for pieces of a split file.
    pub id: String,
    /// Its split.
    pub split: Split,
    /// The music.
    pub content: Content,
    /// What the corpus says about it beyond the music.
    pub meta: Meta,
}

/// Steps per quarter assumed for rolls whose corpus does not state it when
/// they become scores (for tokenizers): 4, a 16th per frame.
pub const DEFAULT_ROLL_STEPS_PER_QUARTER: u32 = 4;

impl Piece {
    /// Frames, for rolls and grids (`None` for MIDI files and scores).
    pub fn frames(&self) -> Option<u64> {
        match &self.content {
            Content::Roll(r) => Some(r.len() as u64),
            Content::Grid(g) => Some(g.len() as u64),
            Content::Midi(_) | Content::Score(_) => None,
        }
    }

    /// Notes: counted in the score for rolls, grids and scores, as loaded
    /// for MIDI.
    pub fn notes(&self) -> u64 {
        match &self.content {
            Content::Midi(m) => m.notes,
            Content::Score(s) => s.note_count() as u64,
            Content::Roll(r) => r.to_score(DEFAULT_ROLL_STEPS_PER_QUARTER).note_count() as u64,
            Content::Grid(g) => g.to_score().note_count() as u64,
        }
    }

    /// The piece as a score (reads a MIDI file again; leniently, as when it
    /// was loaded).
    pub fn score(&self) -> Result<Score<Tick>, DataError> {
        match &self.content {
            Content::Roll(r) => Ok(r.to_score(DEFAULT_ROLL_STEPS_PER_QUARTER)),
            Content::Grid(g) => Ok(g.to_score()),
            Content::Score(s) => Ok(s.as_ref().clone()),
            Content::Midi(m) => {
                let r = fugue_score::midi::read_midi_file(&m.path, &fugue_score::midi::ReadOptions::default())?;
                Ok(r.score)
            }
        }
    }
}

/// A loaded dataset.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Its registry name, or the folder's path.
    pub name: String,
    /// The folder or file it was loaded from.
    pub root: PathBuf,
    /// The pieces, train first, then valid, then test, each in corpus order.
    pub pieces: Vec<Piece>,
    /// Files skipped or read with problems.
    pub warnings: Vec<DataWarning>,
    /// Files dropped because their bytes equal an earlier file's (first kept,
    /// in sorted path order), as (dropped, kept).
    pub duplicates: Vec<(String, String)>,
}

impl Dataset {
    /// A dataset of scores already in memory (no folder behind it): each
    /// `(id, split, score)` becomes a piece without metadata, in the order
    /// given. For library users who bring their own scores, and for tests.
    pub fn from_scores(name: &str, scores: impl IntoIterator<Item = (String, Split, Score<Tick>)>) -> Dataset {
        let mut ds = Dataset {
            name: name.into(),
            pieces: scores
                .into_iter()
                .map(|(id, split, score)| Piece {
                    id,
                    split,
                    content: Content::Score(Box::new(score)),
                    meta: Meta::default(),
                })
                .collect(),
            ..Dataset::default()
        };
        ds.sort_by_split();
        ds
    }

    /// The pieces of one split.
    pub fn split(&self, split: Split) -> impl Iterator<Item = &Piece> {
        self.pieces.iter().filter(move |p| p.split == split)
    }

    /// Pieces per split (train, valid, test).
    pub fn split_sizes(&self) -> [usize; 3] {
        Split::ALL.map(|s| self.split(s).count())
    }

    /// Frames per split (rolls and grids; MIDI pieces count 0).
    pub fn split_frames(&self) -> [u64; 3] {
        Split::ALL.map(|s| self.split(s).filter_map(Piece::frames).sum())
    }

    /// Order pieces train, valid, test, keeping corpus order inside a split.
    pub(crate) fn sort_by_split(&mut self) {
        self.pieces.sort_by_key(|p| p.split);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_in_memory_become_pieces_train_first() {
        let score = || Score::<Tick>::new(480);
        let ds = Dataset::from_scores(
            "mine",
            [
                ("a".to_string(), Split::Test, score()),
                ("b".into(), Split::Train, score()),
                ("c".into(), Split::Test, score()),
            ],
        );
        let ids: Vec<&str> = ds.pieces.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"]);
        assert_eq!(ds.split_sizes(), [1, 0, 2]);
        assert!(matches!(ds.pieces[0].content, Content::Score(_)));
        assert_eq!(ds.name, "mine");
    }

    #[test]
    fn hash_split_is_about_80_10_10_and_stable() {
        let mut n = [0usize; 3];
        for i in 0u32..10_000 {
            let s = hash_split(&sha256(&i.to_le_bytes()));
            n[s as usize] += 1;
        }
        assert!((7700..8300).contains(&n[0]) && (800..1200).contains(&n[1]), "{n:?}");
        assert_eq!(hash_split(&sha256(b"fugue")), hash_split(&sha256(b"fugue")));
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
    }

    #[test]
    fn roll_to_score_holds_runs() {
        let r = Roll::new(vec![vec![60, 64], vec![64, 60], vec![60], vec![], vec![60]], Some(1));
        let s = r.to_score(4);
        let notes: Vec<(i64, i64, u8)> = s.tracks[0]
            .notes
            .iter()
            .map(|n| (n.time, n.duration, n.pitch))
            .collect();
        assert_eq!(notes, vec![(0, 3, 60), (0, 2, 64), (4, 1, 60)]);
        assert_eq!(s.ticks_per_quarter, 1);
        assert!(r.transposed(50, 21, 108).is_none());
        assert_eq!(r.transposed(2, 21, 108).unwrap().frames[0], vec![62, 66]);
    }
}
