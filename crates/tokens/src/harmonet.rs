//! HARMONET's harmonic skeleton (Hild, Feulner & Menzel, "HARMONET: A
//! Neural Net for Harmonizing Chorales in the Style of J. S. Bach", NIPS 4,
//! 1991): one harmonic function per quarter beat, the labels fugue derives
//! from Bach's four voices, and what the harmony net reads of a melody.
//!
//! What the paper's readable first pages confirm: a chorale reduces to a
//! *chord skeleton* (eighths and sixteenths are ornaments) and further to a
//! *harmonic skeleton*, thoroughbass-like harmonies with attributes such as
//! the inversion and a characteristic dissonance; a new coding scheme and
//! backprop nets combined with symbolic algorithms. Everything below the
//! level of that sentence — which functions, which inputs, which window —
//! is fugue's reading, because the rest of the paper could not be read:
//!
//! - **Key**: one key per chorale, Krumhansl–Schmuckler ([`find_key`]: the
//!   16th-step pitch-class histogram of all voices correlated with the
//!   Krumhansl–Kessler profiles). Everything else is relative to its tonic,
//!   which is the transposition to a common key (C major / C minor).
//! - **Harmony** ([`Harmony`]): the chord root relative to the tonic (12),
//!   the triad (major, minor, diminished), the characteristic dissonance
//!   (none, minor, major or diminished seventh) and which chord tone is in
//!   the bass. Ids are `((root·3 + quality)·4 + seventh)·4 + bass`
//!   ([`LABELS`] = 577 with the rest label); only the combinations that
//!   make sense are ever produced ([`Harmony::is_valid`]). Names follow
//!   Riemann's functions where they have one (T, S, D, Tp, Sp, Dp, DD,
//!   secondary dominants such as (D)Tp; t, s, tP, sP, dP in minor), Roman
//!   numerals otherwise, then the figure (7, 6, 64, 65, 43, 2).
//! - **Labeller** ([`label_beat`]): every template is scored on the
//!   pitch classes sounding in the beat, the beat's first 16th weighing
//!   double (so that a passing 16th does not change the harmony, while a
//!   suspension resolving inside the beat does not hide it); a seventh
//!   counts only if it sounds on the beat or for two 16ths; the bass note on
//!   the beat gives the inversion. Every beat with a sounding voice gets a
//!   label; [`fits_onset`] says whether the beat's onset sonority is made of
//!   chord tones only (the coverage figure of `docs/RESULTS.md`).
//! - **Melody coding** ([`MelodyContext::features`]): each soprano pitch is
//!   coded by the 36 triads (root × quality, relative to the tonic) that
//!   contain it — the paper's stated idea of coding pitches by harmonic
//!   function; the window is the beat before, the beat, the eighth after the
//!   beat and the next beat. Then the three harmonies before (function,
//!   seventh, bass), the mode, beat stress, whether the soprano strikes on
//!   the beat, and the distance in beats since the last and to the next
//!   phrase end.
//! - **Phrase ends**: fermatas where the input has them; otherwise (the
//!   Coconet JSB set and MIDI melodies have none) a soprano note of a half
//!   note or longer struck on a beat, and the last note. **Stress**: the
//!   grids carry no meter, so strong beats are every other beat, in the
//!   phase that puts most of those long notes on strong beats.

use crate::chorale::SatbGrid;

/// 16th steps per quarter beat: the skeleton has one harmony per quarter.
pub const BEAT_STEPS: usize = 4;
/// Chord roots × triad qualities: the harmonic functions without attributes.
pub const FUNCTIONS: usize = 36;
/// The rest label (every voice silent for the whole beat).
pub const REST: u32 = 576;
/// Label ids, the rest label included.
pub const LABELS: usize = 577;
/// Width of one melody slot: the 36 functions that contain the pitch, then
/// "silent or outside the piece".
const MELODY_SLOT: usize = FUNCTIONS + 1;
/// Melody slots: beat t−1, t, the eighth after t, t+1.
const MELODY_SLOTS: usize = 4;
/// Width of one earlier harmony: function, seventh (4), bass (4), rest, before the start.
const HISTORY_SLOT: usize = FUNCTIONS + 4 + 4 + 2;
/// Earlier harmonies read (t−3..t−1).
pub const HISTORY: usize = 3;
/// Phrase-distance bins (0..=6 beats, then 7 or more).
const PHRASE_BINS: usize = 8;
/// Inputs of the harmony net.
pub const FEATURES: usize = MELODY_SLOTS * MELODY_SLOT + HISTORY * HISTORY_SLOT + 3 + 2 * PHRASE_BINS;

/// Krumhansl–Kessler probe-tone ratings, from the tonic up.
const MAJOR_PROFILE: [f64; 12] = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
const MINOR_PROFILE: [f64; 12] = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

/// A key: its tonic pitch class (0 = C) and mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tonality {
    /// Pitch class of the tonic, 0..12.
    pub tonic: u8,
    /// Minor mode.
    pub minor: bool,
}

impl std::fmt::Display for Tonality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [&str; 12] = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
        let mode = if self.minor { "minor" } else { "major" };
        write!(f, "{} {mode}", NAMES[usize::from(self.tonic % 12)])
    }
}

/// Krumhansl–Schmuckler: the key whose rotated profile correlates best
/// with the pitch-class histogram (C major for an empty one; the first of
/// equals, major before minor, C upwards).
pub fn key_from_histogram(hist: &[f64; 12]) -> Tonality {
    let mean = |x: &[f64; 12]| x.iter().sum::<f64>() / 12.0;
    let hm = mean(hist);
    let mut best = (f64::NEG_INFINITY, Tonality { tonic: 0, minor: false });
    for minor in [false, true] {
        let profile = if minor { &MINOR_PROFILE } else { &MAJOR_PROFILE };
        let pm = mean(profile);
        for tonic in 0..12u8 {
            let (mut num, mut dh, mut dp) = (0.0, 0.0, 0.0);
            for (pc, &h) in hist.iter().enumerate() {
                let p = profile[(pc + 12 - usize::from(tonic)) % 12] - pm;
                num += (h - hm) * p;
                dh += (h - hm) * (h - hm);
                dp += p * p;
            }
            let r = if dh > 0.0 { num / (dh * dp).sqrt() } else { 0.0 };
            if r > best.0 {
                best = (r, Tonality { tonic, minor });
            }
        }
    }
    best.1
}

/// The key of a chorale: every sounding 16th cell of every voice counts once.
pub fn find_key(steps: &[[Option<u8>; 4]]) -> Tonality {
    let mut hist = [0.0; 12];
    for p in steps.iter().flatten().flatten() {
        hist[usize::from(p % 12)] += 1.0;
    }
    key_from_histogram(&hist)
}

/// The triad over the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quality {
    /// Major third, perfect fifth.
    Major,
    /// Minor third, perfect fifth.
    Minor,
    /// Minor third, diminished fifth.
    Diminished,
}

/// The characteristic dissonance: a seventh above the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seventh {
    /// A plain triad.
    None,
    /// Ten semitones (dominant, minor and half-diminished sevenths).
    Minor,
    /// Eleven semitones (major sevenths).
    Major,
    /// Nine semitones (diminished sevenths).
    Diminished,
}

/// Which chord tone the bass sings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bass {
    /// Root position.
    Root,
    /// Sixth chord (first inversion).
    Third,
    /// Six-four chord (second inversion).
    Fifth,
    /// Third inversion of a seventh chord.
    Seventh,
}

const QUALITIES: [Quality; 3] = [Quality::Major, Quality::Minor, Quality::Diminished];
const SEVENTHS: [Seventh; 4] = [Seventh::None, Seventh::Minor, Seventh::Major, Seventh::Diminished];
const BASSES: [Bass; 4] = [Bass::Root, Bass::Third, Bass::Fifth, Bass::Seventh];

/// A harmonic function with its attributes, relative to the key's tonic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Harmony {
    /// Semitones from the tonic up to the root, 0..12.
    pub root: u8,
    /// The triad.
    pub quality: Quality,
    /// The seventh, if any.
    pub seventh: Seventh,
    /// The chord tone in the bass.
    pub bass: Bass,
}

impl Harmony {
    /// A root-position triad.
    pub fn triad(root: u8, quality: Quality) -> Self {
        Harmony {
            root: root % 12,
            quality,
            seventh: Seventh::None,
            bass: Bass::Root,
        }
    }

    /// The label id (see the module docs).
    pub fn id(&self) -> u32 {
        let q = QUALITIES.iter().position(|&q| q == self.quality).unwrap_or(0) as u32;
        let s = SEVENTHS.iter().position(|&s| s == self.seventh).unwrap_or(0) as u32;
        let b = BASSES.iter().position(|&b| b == self.bass).unwrap_or(0) as u32;
        ((u32::from(self.root % 12) * 3 + q) * 4 + s) * 4 + b
    }

    /// The harmony of a label id; `None` for the rest label or an id out of range.
    pub fn from_id(id: u32) -> Option<Harmony> {
        if id >= REST {
            return None;
        }
        let (rest, b) = (id / 4, id % 4);
        let (function, s) = (rest / 4, rest % 4);
        Some(Harmony {
            root: (function / 3) as u8,
            quality: QUALITIES[(function % 3) as usize],
            seventh: SEVENTHS[s as usize],
            bass: BASSES[b as usize],
        })
    }

    /// The function index, root × quality (0..36).
    pub fn function(&self) -> usize {
        usize::from(self.root % 12) * 3 + QUALITIES.iter().position(|&q| q == self.quality).unwrap_or(0)
    }

    /// Whether the label is one the labeller can produce: a seventh that
    /// belongs to the triad (minor or major over major, minor over minor,
    /// minor or diminished over diminished) and a seventh in the bass only
    /// when there is one.
    pub fn is_valid(&self) -> bool {
        let seventh_fits = matches!(
            (self.quality, self.seventh),
            (_, Seventh::None)
                | (Quality::Major, Seventh::Minor | Seventh::Major)
                | (Quality::Minor, Seventh::Minor)
                | (Quality::Diminished, Seventh::Minor | Seventh::Diminished)
        );
        seventh_fits && (self.bass != Bass::Seventh || self.seventh != Seventh::None)
    }

    /// Semitones above the root of root, third, fifth and (if any) seventh.
    pub fn intervals(&self) -> ([u8; 3], Option<u8>) {
        let triad = match self.quality {
            Quality::Major => [0, 4, 7],
            Quality::Minor => [0, 3, 7],
            Quality::Diminished => [0, 3, 6],
        };
        let seventh = match self.seventh {
            Seventh::None => None,
            Seventh::Minor => Some(10),
            Seventh::Major => Some(11),
            Seventh::Diminished => Some(9),
        };
        (triad, seventh)
    }

    /// Pitch class (relative to the tonic) of root, third, fifth, seventh.
    pub fn tone(&self, which: Bass) -> Option<u8> {
        let (triad, seventh) = self.intervals();
        let i = match which {
            Bass::Root => Some(triad[0]),
            Bass::Third => Some(triad[1]),
            Bass::Fifth => Some(triad[2]),
            Bass::Seventh => seventh,
        };
        i.map(|i| (self.root + i) % 12)
    }

    /// The chord's pitch classes relative to the tonic, as a 12-bit mask.
    pub fn mask(&self) -> u16 {
        BASSES.iter().filter_map(|&b| self.tone(b)).fold(0, |m, pc| m | 1 << pc)
    }

    /// The bass's pitch class relative to the tonic.
    pub fn bass_pc(&self) -> u8 {
        self.tone(self.bass).unwrap_or(self.root)
    }

    /// The name: the function (Riemann's where it has one, else a Roman
    /// numeral) and the figure.
    pub fn name(&self, minor: bool) -> String {
        use Quality::{Diminished as Dim, Major as Maj, Minor as Min};
        // A tonic triad with a minor seventh is the subdominant's dominant.
        let secondary = self.root == 0 && self.quality == Maj && self.seventh == Seventh::Minor;
        let function = match (minor, self.root, self.quality) {
            (false, 0, Maj) if secondary => "(D)S",
            (true, 0, Maj) if secondary => "(D)s",
            (false, 0, Maj) => "T",
            (false, 5, Maj) => "S",
            (false, 7, Maj) => "D",
            (false, 9, Min) => "Tp",
            (false, 2, Min) => "Sp",
            (false, 4, Min) => "Dp",
            (false, 2, Maj) | (true, 2, Maj) => "DD",
            (false, 4, Maj) => "(D)Tp",
            (false, 9, Maj) => "(D)Sp",
            (false, 11, Maj) => "(D)Dp",
            (false, 11, Dim) | (true, 11, Dim) => "vii°",
            (false, 5, Min) => "s",
            (true, 0, Min) => "t",
            (true, 0, Maj) => "T",
            (true, 5, Min) => "s",
            (true, 5, Maj) => "S",
            (true, 7, Maj) => "D",
            (true, 7, Min) => "d",
            (true, 3, Maj) => "tP",
            (true, 8, Maj) => "sP",
            (true, 10, Maj) => "dP",
            (true, 2, Dim) => "ii°",
            (true, 1, Maj) => "sN",
            _ => "",
        };
        let function = if function.is_empty() {
            const NUMERALS: [&str; 12] = [
                "I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII",
            ];
            let n = NUMERALS[usize::from(self.root % 12)];
            match self.quality {
                Maj => n.to_string(),
                Min => n.to_lowercase(),
                Dim => format!("{}°", n.to_lowercase()),
            }
        } else {
            function.to_string()
        };
        let figure = match (self.seventh != Seventh::None, self.bass) {
            (false, Bass::Root) => "",
            (false, Bass::Third) => "6",
            (false, _) => "64",
            (true, Bass::Root) => "7",
            (true, Bass::Third) => "65",
            (true, Bass::Fifth) => "43",
            (true, Bass::Seventh) => "2",
        };
        format!("{function}{figure}")
    }
}

/// The name of a label id in a mode (`rest` for the rest label).
pub fn label_name(id: u32, minor: bool) -> String {
    Harmony::from_id(id).map_or_else(|| "rest".to_string(), |h| h.name(minor))
}

/// Every valid label id, the rest label last.
pub fn valid_labels() -> Vec<u32> {
    (0..REST)
        .filter(|&id| Harmony::from_id(id).is_some_and(|h| h.is_valid()))
        .chain([REST])
        .collect()
}

/// The harmony of one quarter beat (its 16th steps, S A T B each) relative
/// to `tonic`; `None` when every voice is silent. See the module docs for
/// the rule.
pub fn label_beat(beat: &[[Option<u8>; 4]], tonic: u8) -> Option<Harmony> {
    let rel = |p: u8| (p % 12 + 12 - tonic % 12) % 12;
    let mut weight = [0.0f64; 12];
    for (s, cell) in beat.iter().enumerate() {
        for p in cell.iter().flatten() {
            weight[usize::from(rel(*p))] += if s == 0 { 2.0 } else { 1.0 };
        }
    }
    if weight.iter().all(|&w| w == 0.0) {
        return None;
    }
    // The bass on the beat: the lowest sounding voice of the first step
    // that sounds, then the later steps' for a bass that is no chord tone.
    let basses: Vec<u8> = beat
        .iter()
        .filter_map(|cell| cell.iter().flatten().min().copied())
        .map(rel)
        .collect();
    let on_beat_bass = basses.first().copied();
    let mut best: Option<(f64, Harmony)> = None;
    let order = on_beat_bass.into_iter().chain(0..12u8).collect::<Vec<_>>();
    let mut seen = [false; 12];
    for root in order {
        if std::mem::replace(&mut seen[usize::from(root)], true) {
            continue;
        }
        for quality in QUALITIES {
            for seventh in SEVENTHS {
                let h = Harmony {
                    root,
                    quality,
                    seventh,
                    bass: Bass::Root,
                };
                if !h.is_valid() {
                    continue;
                }
                let mask = h.mask();
                let w = |b: Bass| h.tone(b).map_or(0.0, |pc| weight[usize::from(pc)]);
                if seventh != Seventh::None && w(Bass::Seventh) < 2.0 {
                    continue;
                }
                let inside: f64 = (0..12).filter(|pc| mask & (1 << pc) != 0).map(|pc| weight[pc]).sum();
                let outside: f64 = (0..12).filter(|pc| mask & (1 << pc) == 0).map(|pc| weight[pc]).sum();
                let mut score = inside - outside;
                if w(Bass::Root) == 0.0 {
                    score -= 4.0;
                }
                if w(Bass::Third) == 0.0 {
                    score -= 2.0;
                }
                if w(Bass::Fifth) == 0.0 {
                    score -= 0.5;
                }
                if seventh != Seventh::None {
                    score -= 0.75;
                }
                match on_beat_bass {
                    Some(b) if b == root => score += 1.0,
                    Some(b) if mask & (1 << b) != 0 => score += 0.5,
                    Some(_) => score -= 1.5,
                    None => {}
                }
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, h));
                }
            }
        }
    }
    let (_, mut h) = best?;
    let bass = basses.iter().copied().find(|&b| h.mask() & (1 << b) != 0);
    h.bass = BASSES
        .into_iter()
        .find(|&b| bass.is_some() && h.tone(b) == bass)
        .unwrap_or(Bass::Root);
    Some(h)
}

/// Whether every pitch sounding on the beat's first step is a chord tone
/// of `h` (relative to `tonic`).
pub fn fits_onset(beat: &[[Option<u8>; 4]], h: &Harmony, tonic: u8) -> bool {
    beat.first().is_some_and(|cell| {
        cell.iter()
            .flatten()
            .all(|p| h.mask() & (1 << ((p % 12 + 12 - tonic % 12) % 12)) != 0)
    })
}

/// Beats in a grid of `steps` 16ths (a last partial beat counts).
pub fn beats(steps: usize) -> usize {
    steps.div_ceil(BEAT_STEPS)
}

/// Bach's harmonic skeleton of a chorale: one label per quarter beat.
pub fn label_chorale(grid: &SatbGrid, key: Tonality) -> Vec<u32> {
    grid.steps
        .chunks(BEAT_STEPS)
        .map(|beat| label_beat(beat, key.tonic).map_or(REST, |h| h.id()))
        .collect()
}

/// What the harmony net reads of a melody, per quarter beat.
#[derive(Clone, Debug, PartialEq)]
pub struct MelodyContext {
    /// The key every pitch and label is relative to.
    pub key: Tonality,
    /// The soprano's pitch on each beat.
    pub on_beat: Vec<Option<u8>>,
    /// The soprano's pitch an eighth after each beat.
    pub on_eighth: Vec<Option<u8>>,
    /// Whether the soprano strikes a note on the beat.
    pub struck: Vec<bool>,
    /// Whether the soprano is silent for the whole beat (no harmony then).
    pub silent: Vec<bool>,
    /// Whether the beat ends a phrase (see the module docs).
    pub phrase_end: Vec<bool>,
    /// Whether the beat is a strong one.
    pub strong: Vec<bool>,
}

impl MelodyContext {
    /// The context of a soprano line on 16ths (`onsets[t]`: a note starts
    /// at `t`; `fermatas[t]`: step `t` is under a fermata, may be empty).
    pub fn new(soprano: &[Option<u8>], onsets: &[bool], fermatas: &[bool], key: Tonality) -> Self {
        let n = beats(soprano.len());
        let at = |t: usize| soprano.get(t).copied().flatten();
        let struck = |t: usize| onsets.get(t).copied().unwrap_or(false) && at(t).is_some();
        // The length in steps of the note struck at `t`.
        let length = |t: usize| {
            let p = at(t);
            1 + (t + 1..soprano.len())
                .take_while(|&u| at(u) == p && !onsets.get(u).copied().unwrap_or(false))
                .count()
        };
        let last_onset = (0..soprano.len()).rev().find(|&t| struck(t));
        let long: Vec<bool> = (0..n)
            .map(|q| struck(q * BEAT_STEPS) && length(q * BEAT_STEPS) >= 2 * BEAT_STEPS)
            .collect();
        let phrase_end: Vec<bool> = (0..n)
            .map(|q| {
                let s = q * BEAT_STEPS;
                let last = last_onset.is_some_and(|t| t / BEAT_STEPS == q);
                let fermata = if fermatas.iter().any(|&f| f) {
                    fermatas.get(s).copied().unwrap_or(false)
                        && (q == 0 || !fermatas.get(s - BEAT_STEPS).copied().unwrap_or(false))
                } else {
                    long[q]
                };
                fermata || last
            })
            .collect();
        let even = (0..n).filter(|&q| long[q] && q % 2 == 0).count();
        let odd = (0..n).filter(|&q| long[q] && q % 2 == 1).count();
        let phase = usize::from(odd > even);
        MelodyContext {
            key,
            on_beat: (0..n).map(|q| at(q * BEAT_STEPS)).collect(),
            on_eighth: (0..n).map(|q| at(q * BEAT_STEPS + 2)).collect(),
            struck: (0..n).map(|q| struck(q * BEAT_STEPS)).collect(),
            silent: (0..n)
                .map(|q| (q * BEAT_STEPS..(q + 1) * BEAT_STEPS).all(|t| at(t).is_none()))
                .collect(),
            phrase_end,
            strong: (0..n).map(|q| (q + phase) % 2 == 0).collect(),
        }
    }

    /// The context of a grid's soprano (its fermatas included).
    pub fn from_grid(grid: &SatbGrid, key: Tonality) -> Self {
        let soprano: Vec<Option<u8>> = grid.steps.iter().map(|c| c[0]).collect();
        let onsets: Vec<bool> = grid.onsets.iter().map(|o| o[0]).collect();
        Self::new(&soprano, &onsets, &grid.fermatas, key)
    }

    /// Quarter beats.
    pub fn len(&self) -> usize {
        self.on_beat.len()
    }

    /// Whether there are no beats.
    pub fn is_empty(&self) -> bool {
        self.on_beat.is_empty()
    }

    /// The pitch class of `pitch` relative to the tonic.
    pub fn relative(&self, pitch: u8) -> u8 {
        (pitch % 12 + 12 - self.key.tonic % 12) % 12
    }

    /// The net's [`FEATURES`] inputs for beat `q`, given the labels of the
    /// beats before it (`history[..q]`; a shorter history reads as the
    /// start of the piece for the missing beats).
    pub fn features(&self, q: usize, history: &[u32]) -> Vec<f32> {
        let mut x = vec![0.0f32; FEATURES];
        let mut at = 0;
        let beat = |i: Option<usize>| i.filter(|&i| i < self.len());
        let slots = [
            beat(q.checked_sub(1)).and_then(|i| self.on_beat[i]),
            beat(Some(q)).and_then(|i| self.on_beat[i]),
            beat(Some(q)).and_then(|i| self.on_eighth[i]),
            beat(Some(q + 1)).and_then(|i| self.on_beat[i]),
        ];
        for pitch in slots {
            match pitch {
                Some(p) => {
                    let pc = self.relative(p);
                    for root in 0..12u8 {
                        for (qi, quality) in QUALITIES.iter().enumerate() {
                            if Harmony::triad(root, *quality).mask() & (1 << pc) != 0 {
                                x[at + usize::from(root) * 3 + qi] = 1.0;
                            }
                        }
                    }
                }
                None => x[at + FUNCTIONS] = 1.0,
            }
            at += MELODY_SLOT;
        }
        for back in (1..=HISTORY).rev() {
            match q.checked_sub(back).and_then(|i| history.get(i)) {
                None => x[at + HISTORY_SLOT - 1] = 1.0,
                Some(&id) => match Harmony::from_id(id) {
                    None => x[at + HISTORY_SLOT - 2] = 1.0,
                    Some(h) => {
                        x[at + h.function()] = 1.0;
                        let s = SEVENTHS.iter().position(|&s| s == h.seventh).unwrap_or(0);
                        let b = BASSES.iter().position(|&b| b == h.bass).unwrap_or(0);
                        x[at + FUNCTIONS + s] = 1.0;
                        x[at + FUNCTIONS + 4 + b] = 1.0;
                    }
                },
            }
            at += HISTORY_SLOT;
        }
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        x[at] = flag(self.key.minor);
        x[at + 1] = flag(self.strong.get(q).copied().unwrap_or(false));
        x[at + 2] = flag(self.struck.get(q).copied().unwrap_or(false));
        at += 3;
        let since = (0..q).rev().find(|&i| self.phrase_end[i]).map_or(q + 1, |i| q - i);
        let until = (q..self.len())
            .find(|&i| self.phrase_end[i])
            .map_or(self.len() - q, |i| i - q);
        // `since` is at least 1 (the beat after a phrase end); `until` is 0 on the end itself.
        x[at + (since - 1).min(PHRASE_BINS - 1)] = 1.0;
        x[at + PHRASE_BINS + until.min(PHRASE_BINS - 1)] = 1.0;
        x
    }
}

/// One chorale as training examples: the key, each beat's features (with
/// Bach's harmonies as the history) and each beat's label. Beats where the
/// soprano is silent are left out (generation writes a rest there).
pub fn chorale_examples(grid: &SatbGrid) -> (Tonality, Vec<(Vec<f32>, u32)>) {
    let key = find_key(&grid.steps);
    let labels = label_chorale(grid, key);
    let context = MelodyContext::from_grid(grid, key);
    let examples = (0..context.len())
        .filter(|&q| !context.silent[q])
        .map(|q| (context.features(q, &labels), labels[q]))
        .collect();
    (key, examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid of quarter-note chords (S, A, T, B per beat).
    fn chords(beats: &[[u8; 4]]) -> SatbGrid {
        let steps = beats
            .iter()
            .flat_map(|c| std::iter::repeat_n(c.map(Some), BEAT_STEPS))
            .collect();
        SatbGrid::from_pitches(steps, 4)
    }

    #[test]
    fn the_key_finder_names_textbook_keys() {
        // A C major cadence I IV V I and an A minor one i iv V i.
        let c_major = chords(&[[72, 67, 64, 48], [72, 69, 65, 53], [71, 67, 62, 55], [72, 67, 64, 48]]);
        assert_eq!(find_key(&c_major.steps), Tonality { tonic: 0, minor: false });
        let a_minor = chords(&[[76, 72, 69, 57], [74, 69, 65, 50], [76, 71, 68, 52], [76, 72, 69, 45]]);
        assert_eq!(find_key(&a_minor.steps), Tonality { tonic: 9, minor: true });
        // The same cadence up a fourth: F major.
        let mut f = c_major.clone();
        f.transpose(5).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(find_key(&f.steps), Tonality { tonic: 5, minor: false });
        assert_eq!(find_key(&[]), Tonality { tonic: 0, minor: false });
        assert_eq!(Tonality { tonic: 10, minor: true }.to_string(), "Bb minor");
    }

    fn label(beat: [u8; 4], tonic: u8, minor: bool) -> String {
        let grid = chords(&[beat]);
        label_beat(&grid.steps, tonic).map_or("rest".into(), |h| h.name(minor))
    }

    #[test]
    fn the_labeller_names_functions_inversions_and_sevenths() {
        // C major.
        assert_eq!(label([72, 67, 64, 48], 0, false), "T");
        assert_eq!(label([72, 69, 65, 53], 0, false), "S");
        assert_eq!(label([71, 67, 62, 55], 0, false), "D");
        assert_eq!(label([71, 65, 62, 55], 0, false), "D7");
        assert_eq!(label([72, 67, 64, 52], 0, false), "T6");
        assert_eq!(label([72, 67, 64, 55], 0, false), "T64");
        assert_eq!(label([77, 67, 62, 59], 0, false), "D65");
        assert_eq!(label([71, 67, 62, 53], 0, false), "D2");
        assert_eq!(label([72, 69, 64, 57], 0, false), "Tp");
        assert_eq!(label([74, 69, 65, 50], 0, false), "Sp");
        assert_eq!(label([74, 69, 66, 50], 0, false), "DD");
        assert_eq!(label([72, 69, 66, 62], 0, false), "DD7");
        assert_eq!(label([71, 68, 64, 52], 0, false), "(D)Tp");
        assert_eq!(label([72, 67, 64, 58], 0, false), "(D)S2");
        // A minor (tonic 9).
        assert_eq!(label([76, 72, 69, 57], 9, true), "t");
        assert_eq!(label([76, 71, 68, 52], 9, true), "D");
        assert_eq!(label([74, 69, 65, 50], 9, true), "s");
        assert_eq!(label([72, 67, 64, 48], 9, true), "tP");
        assert_eq!(label([74, 71, 62, 56], 9, true), "vii°");
        // A diminished seventh over G#: vii°7.
        assert_eq!(label([77, 71, 62, 56], 9, true), "vii°7");
        // Silence is no harmony.
        let silent = SatbGrid::from_pitches(vec![[None; 4]; 4], 4);
        assert_eq!(label_beat(&silent.steps, 0), None);
    }

    #[test]
    fn passing_sixteenths_and_suspensions_keep_the_beat_harmony() {
        // C major chord; the soprano passes E D C D (a 16th run) over it.
        let mut grid = chords(&[[76, 67, 60, 48]]);
        for (t, p) in [76, 74, 72, 74].into_iter().enumerate() {
            grid.steps[t][0] = Some(p);
        }
        let h = label_beat(&grid.steps, 0).unwrap_or_else(|| panic!("no label"));
        assert_eq!(h.name(false), "T");
        // A 4-3 suspension over G (C resolving to B on the second eighth).
        let mut sus = chords(&[[74, 72, 67, 55]]);
        sus.steps[2][1] = Some(71);
        sus.steps[3][1] = Some(71);
        let h = label_beat(&sus.steps, 0).unwrap_or_else(|| panic!("no label"));
        assert_eq!(h.name(false), "D");
        assert!(!fits_onset(&sus.steps, &h, 0));
        assert!(fits_onset(&chords(&[[71, 67, 62, 55]]).steps, &h, 0));
    }

    #[test]
    fn ids_round_trip_and_only_sensible_labels_are_valid() {
        let valid = valid_labels();
        for &id in &valid[..valid.len() - 1] {
            let h = Harmony::from_id(id).unwrap_or_else(|| panic!("{id}"));
            assert_eq!(h.id(), id);
            assert!(h.is_valid());
        }
        assert_eq!(valid.last(), Some(&REST));
        // 12 roots × (major 3×3 + 4×2, minor 3 + 4, diminished 3 + 4×2) .
        assert_eq!(valid.len(), 12 * ((3 + 8) + (3 + 4) + (3 + 8)) + 1);
        assert_eq!(Harmony::from_id(REST), None);
        assert_eq!(label_name(REST, false), "rest");
    }

    #[test]
    fn the_melody_is_coded_by_the_functions_that_contain_it() {
        // G in C major: the soprano of beat 0.
        let grid = chords(&[[67, 64, 60, 48], [69, 65, 60, 53]]);
        let key = Tonality { tonic: 0, minor: false };
        let ctx = MelodyContext::from_grid(&grid, key);
        let x = ctx.features(0, &[]);
        assert_eq!(x.len(), FEATURES);
        // Slot t−1 is outside the piece; slot t codes G.
        assert_eq!(x[FUNCTIONS], 1.0);
        let slot = &x[MELODY_SLOT..2 * MELODY_SLOT];
        let on: Vec<String> = (0..FUNCTIONS)
            .filter(|&f| slot[f] == 1.0)
            .map(|f| Harmony::triad((f / 3) as u8, QUALITIES[f % 3]).name(false))
            .collect();
        // Three major (C, E♭, G), three minor (c, e, g), three diminished triads.
        assert_eq!(on.len(), 9, "{on:?}");
        assert!(on.contains(&"T".to_string()) && on.contains(&"D".to_string()) && on.contains(&"Dp".to_string()));
        // Before the start every history slot says so.
        let hist = &x[MELODY_SLOTS * MELODY_SLOT..][..HISTORY * HISTORY_SLOT];
        assert_eq!(hist.iter().sum::<f32>(), 3.0);
        // The features of beat 1 read beat 0's label.
        let labels = label_chorale(&grid, key);
        let x1 = ctx.features(1, &labels);
        let last = &x1[MELODY_SLOTS * MELODY_SLOT + 2 * HISTORY_SLOT..][..HISTORY_SLOT];
        assert_eq!(last[0], 1.0, "T's function bit");
        assert_eq!(last[FUNCTIONS], 1.0, "no seventh");
        assert_eq!(last[FUNCTIONS + 4], 1.0, "root position");
    }

    #[test]
    fn phrase_ends_come_from_fermatas_or_long_notes() {
        // Quarter, quarter, half (a phrase end on beat 2), quarter, half.
        let mut soprano = Vec::new();
        let mut onsets = Vec::new();
        for (p, beats) in [(72u8, 1usize), (74, 1), (76, 2), (74, 1), (72, 2)] {
            for t in 0..beats * BEAT_STEPS {
                soprano.push(Some(p));
                onsets.push(t == 0);
            }
        }
        let key = Tonality { tonic: 0, minor: false };
        let ctx = MelodyContext::new(&soprano, &onsets, &[], key);
        assert_eq!(ctx.phrase_end, vec![false, false, true, false, false, true, false]);
        assert_eq!(ctx.strong, vec![true, false, true, false, true, false, true]);
        // A fermata on beat 3 instead.
        let mut fermatas = vec![false; soprano.len()];
        fermatas[3 * BEAT_STEPS] = true;
        let ctx = MelodyContext::new(&soprano, &onsets, &fermatas, key);
        assert_eq!(ctx.phrase_end, vec![false, false, false, true, false, true, false]);
        assert!(ctx.silent.iter().all(|s| !s));
    }
}
