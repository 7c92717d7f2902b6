//! The values of ABC information fields — `K:` (key and mode), `M:`, `L:`,
//! `Q:`, part orders (`P:` in the header, the Nottingham set's `Y:`) — and
//! chord symbols. Pure functions from text to values; a value that cannot be
//! read comes back as `Err(message)` so the caller can warn with its place.

/// Letter index of a note name: C = 0, D = 1, ..., B = 6.
pub(crate) fn letter_index(c: u8) -> Option<usize> {
    match c.to_ascii_uppercase() {
        b'C' => Some(0),
        b'D' => Some(1),
        b'E' => Some(2),
        b'F' => Some(3),
        b'G' => Some(4),
        b'A' => Some(5),
        b'B' => Some(6),
        _ => None,
    }
}

/// Semitones above C of each letter (C D E F G A B).
pub(crate) const SEMITONES: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];

/// Position of each letter (C D E F G A B) on the circle of fifths from C.
const FIFTHS: [i32; 7] = [0, 2, 4, -1, 1, 3, 5];

/// The order in which sharps are added (F C G D A E B), as letter indices;
/// flats are added in the reverse order.
const SHARP_ORDER: [usize; 7] = [3, 0, 4, 1, 5, 2, 6];

/// A key: the alteration of each letter and the signature to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    /// Semitones added to each letter (C D E F G A B) by the signature and
    /// any explicit accidentals of the `K:` field.
    pub acc: [i8; 7],
    /// The signature as sharps (positive) or flats (negative), folded into
    /// -7..=7 enharmonically; `None` for `K:none` / `K:HP` (no signature event).
    pub fifths: Option<i8>,
    /// Aeolian (minor) mode; every other mode is reported as the major key
    /// with the same signature.
    pub minor: bool,
}

impl Key {
    /// C major: no accidentals.
    pub(crate) const NONE: Key = Key {
        acc: [0; 7],
        fifths: Some(0),
        minor: false,
    };

    fn with_fifths(fifths: i32, minor: bool) -> Key {
        let mut acc = [0i8; 7];
        for i in 0..fifths.unsigned_abs() as usize {
            if fifths > 0 {
                acc[SHARP_ORDER[i % 7]] += 1;
            } else {
                acc[SHARP_ORDER[6 - i % 7]] -= 1;
            }
        }
        let mut folded = fifths;
        while folded > 7 {
            folded -= 12;
        }
        while folded < -7 {
            folded += 12;
        }
        Key {
            acc,
            fifths: Some(folded as i8),
            minor,
        }
    }
}

/// Read a `K:` field. `current` is the key in force: a field that names no
/// tonic (only `clef=...` or explicit accidentals) keeps its signature.
/// Clef, `transpose=`, `octave=` and other `name=value` settings are ignored.
pub(crate) fn parse_key(text: &str, current: &Key) -> Result<Key, String> {
    let mut words = text.split_whitespace().peekable();
    let Some(first) = words.peek().copied() else {
        return Ok(Key::NONE);
    };
    let mut key = *current;
    let b = first.as_bytes();
    if first.eq_ignore_ascii_case("none") {
        words.next();
        key = Key {
            fifths: None,
            ..Key::NONE
        };
    } else if first == "HP" {
        // Highland pipes, written without a signature.
        words.next();
        key = Key {
            fifths: None,
            ..Key::NONE
        };
    } else if first == "Hp" {
        // Highland pipes with F sharp and C sharp marked (G natural).
        words.next();
        key = Key::with_fifths(2, false);
    } else if let Some(tonic) = b
        .first()
        .and_then(|&c| letter_index(c).filter(|_| c.is_ascii_uppercase()))
    {
        words.next();
        let mut rest = &first[1..];
        let mut fifths = FIFTHS[tonic];
        if let Some(r) = rest.strip_prefix('#') {
            fifths += 7;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('b') {
            fifths -= 7;
            rest = r;
        }
        let mut mode = rest.to_string();
        if mode.is_empty() {
            if let Some(next) = words.peek() {
                if next.bytes().all(|c| c.is_ascii_alphabetic()) {
                    mode = next.to_string();
                    words.next();
                }
            }
        }
        let lower = mode.to_ascii_lowercase();
        let three = lower.get(..3).unwrap_or(&lower);
        let (shift, minor, explicit) = match three {
            "" | "maj" | "ion" => (0, false, false),
            "m" | "min" | "aeo" => (-3, true, false),
            "mix" => (-1, false, false),
            "dor" => (-2, false, false),
            "phr" => (-4, false, false),
            "lyd" => (1, false, false),
            "loc" => (-5, false, false),
            "exp" => (0, false, true),
            _ => return Err(format!("unknown mode '{mode}' in K:{text}; read as major")),
        };
        key = if explicit {
            Key {
                fifths: None,
                ..Key::NONE
            }
        } else {
            Key::with_fifths(fifths + shift, minor)
        };
    }
    for w in words {
        let wb = w.as_bytes();
        let (alter, skip) = match wb {
            [b'^', b'^', ..] => (2, 2),
            [b'_', b'_', ..] => (-2, 2),
            [b'^', ..] => (1, 1),
            [b'_', ..] => (-1, 1),
            [b'=', ..] => (0, 1),
            _ => continue, // clef=..., transpose=..., middle=...: not about pitch
        };
        match wb.get(skip).and_then(|&c| letter_index(c)) {
            Some(l) if wb.len() == skip + 1 => key.acc[l] = alter,
            _ => return Err(format!("cannot read the accidental '{w}' in K:{text}")),
        }
    }
    Ok(key)
}

/// A meter: `Some((numerator, denominator))`, or `None` for free meter (`M:none`).
pub(crate) type Meter = Option<(u32, u32)>;

/// Read an `M:` field: `6/8`, `C` (4/4), `C|` (2/2), `2+3/8`, `(2+2+3)/8`, `none`.
pub(crate) fn parse_meter(text: &str) -> Result<Meter, String> {
    let t: String = text.split_whitespace().collect();
    match t.as_str() {
        "" | "none" | "None" => return Ok(None),
        "C" => return Ok(Some((4, 4))),
        "C|" => return Ok(Some((2, 2))),
        _ => {}
    }
    let bad = || format!("cannot read the meter M:{text}");
    let (num, den) = t.split_once('/').ok_or_else(bad)?;
    let num = num.trim_start_matches('(').trim_end_matches(')');
    let mut sum = 0u32;
    for part in num.split('+') {
        sum = sum.saturating_add(small_number(part).ok_or_else(bad)?);
    }
    let den = small_number(den).ok_or_else(bad)?;
    if sum == 0 || den == 0 {
        return Err(bad());
    }
    Ok(Some((sum, den)))
}

/// A positive decimal number of at most 4 digits (ABC's numbers are small;
/// bounding them keeps every length product far from overflow).
fn small_number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A fraction of a whole note, both terms positive and at most 9999.
pub(crate) type Length = (i64, i64);

/// Read an `L:` field: `1/8`, `1/16`, `1` (a whole note), `1/4`.
pub(crate) fn parse_length(text: &str) -> Result<Length, String> {
    let t: String = text.split_whitespace().collect();
    let bad = || format!("cannot read the unit note length L:{text}");
    let (n, d) = match t.split_once('/') {
        Some((n, d)) => (small_number(n).ok_or_else(bad)?, small_number(d).ok_or_else(bad)?),
        None => (small_number(&t).ok_or_else(bad)?, 1),
    };
    if n == 0 || d == 0 {
        return Err(bad());
    }
    Ok((i64::from(n), i64::from(d)))
}

/// The unit note length a tune gets when it has no `L:` field: 1/16 when the
/// meter's value is below 3/4, else 1/8 (free meter: 1/8).
pub(crate) fn default_length(meter: Meter) -> Length {
    match meter {
        Some((n, d)) if 4 * n < 3 * d => (1, 16),
        _ => (1, 8),
    }
}

/// Read a `Q:` field into quarter notes per minute. `1/4=120`, `3/8=60`,
/// `1/4 1/8=40` (the beats add up), `"Allegro" 1/4=120` (text ignored),
/// and the old form `120` or `C=120` (a beat of one unit length `unit`).
/// `Ok(None)` for a field with only text.
pub(crate) fn parse_tempo(text: &str, unit: Length) -> Result<Option<f64>, String> {
    // Drop quoted text.
    let mut t = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            t.push(c);
        }
    }
    let bad = || format!("cannot read the tempo Q:{text}");
    let t = t.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let (beats, bpm) = match t.split_once('=') {
        Some((b, n)) => (b.trim(), n.trim()),
        None => ("", t),
    };
    let bpm: f64 = bpm.parse().map_err(|_| bad())?;
    let mut whole = 0.0;
    if beats.is_empty() || beats.bytes().all(|c| c.is_ascii_alphabetic()) {
        whole = unit.0 as f64 / unit.1 as f64;
    } else {
        for b in beats.split_whitespace() {
            let (n, d) = parse_length(b).map_err(|_| bad())?;
            whole += n as f64 / d as f64;
        }
    }
    let qpm = bpm * whole * 4.0;
    if !(qpm.is_finite() && qpm > 0.5 && qpm < 100_000.0) {
        return Err(format!("tempo Q:{text} is out of range"));
    }
    Ok(Some(qpm))
}

/// Expand a part order (`ABAC`, `A2B`, `(AB)2C`, `A.B.C`) into part labels.
/// At most 10,000 labels (a guard against `((A9)9)9...`).
pub(crate) fn parse_part_order(text: &str) -> Result<Vec<u8>, String> {
    fn group(b: &[u8], i: &mut usize, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
        while *i < b.len() {
            let c = b[*i];
            *i += 1;
            let item: Vec<u8> = match c {
                b'A'..=b'Z' => vec![c],
                b'(' if depth < 8 => {
                    let mut inner = Vec::new();
                    group(b, i, depth + 1, &mut inner)?;
                    inner
                }
                b')' if depth > 0 => return Ok(()),
                b'.' | b' ' | b'\t' | b',' => continue,
                _ => return Err(format!("unexpected '{}' in the part order", char::from(c))),
            };
            let mut times = 0usize;
            while let Some(d) = b.get(*i).filter(|d| d.is_ascii_digit()) {
                times = times.saturating_mul(10).saturating_add(usize::from(d - b'0'));
                *i += 1;
            }
            for _ in 0..times.max(1) {
                if out.len() + item.len() > 10_000 {
                    return Err("the part order is too long".into());
                }
                out.extend_from_slice(&item);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    group(text.trim().as_bytes(), &mut 0, 0, &mut out)?;
    Ok(out)
}

/// A chord symbol read from a quoted string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chord {
    /// Root pitch class (0 = C).
    pub root: u8,
    /// Chord tones in semitones above the root.
    pub intervals: &'static [u8],
    /// Bass pitch class of a slash chord (`C/E`, the Nottingham set's `C/e`).
    pub bass: Option<u8>,
    /// The symbol as written.
    pub label: String,
}

/// What a quoted string is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Quoted {
    /// A chord symbol.
    Chord(Chord),
    /// Placed text (`"^text"`, `"_text"`, `"<"`, `">"`, `"@"`) or an
    /// alternate chord in parentheses (`"(E7)"`): not played.
    Text,
    /// Starts like a chord symbol but is not one we can read.
    Unreadable,
}

/// Chord-tone intervals of a chord quality as written after the root.
fn quality(q: &str) -> Option<&'static [u8]> {
    Some(match q {
        "" | "maj" | "M" => &[0, 4, 7],
        "m" | "min" | "mi" | "-" => &[0, 3, 7],
        "7" | "dom7" => &[0, 4, 7, 10],
        "m7" | "min7" | "mi7" | "-7" => &[0, 3, 7, 10],
        "maj7" | "M7" | "Maj7" | "ma7" | "^7" => &[0, 4, 7, 11],
        "dim" | "d" | "o" | "°" => &[0, 3, 6],
        "dim7" | "d7" | "o7" | "°7" => &[0, 3, 6, 9],
        "m7b5" | "min7b5" | "-7b5" | "ø" | "ø7" => &[0, 3, 6, 10],
        "aug" | "a" | "+" => &[0, 4, 8],
        "aug7" | "a7" | "+7" | "7#5" | "7+5" => &[0, 4, 8, 10],
        "6" | "maj6" | "M6" => &[0, 4, 7, 9],
        "m6" | "min6" | "-6" => &[0, 3, 7, 9],
        "9" => &[0, 4, 7, 10, 14],
        "maj9" | "M9" => &[0, 4, 7, 11, 14],
        "m9" | "min9" => &[0, 3, 7, 10, 14],
        "7b9" => &[0, 4, 7, 10, 13],
        "7#9" => &[0, 4, 7, 10, 15],
        "11" => &[0, 4, 7, 10, 14, 17],
        "m11" => &[0, 3, 7, 10, 14, 17],
        "13" => &[0, 4, 7, 10, 14, 21],
        "sus" | "sus4" => &[0, 5, 7],
        "sus2" => &[0, 2, 7],
        "7sus" | "7sus4" => &[0, 5, 7, 10],
        "5" => &[0, 7],
        "add9" => &[0, 4, 7, 14],
        "mM7" | "mmaj7" | "m(maj7)" => &[0, 3, 7, 11],
        _ => return None,
    })
}

/// A letter with an optional accidental (`#`, `+`, `b`, `-`, `♯`, `♭`) as a
/// pitch class, and the rest of the text. The Nottingham set writes slash
/// basses in lower case with `+` for sharp (`A/c+`).
fn pitch_class(s: &str) -> Option<(u8, &str)> {
    let l = letter_index(*s.as_bytes().first()?)?;
    let rest = &s[1..];
    let (alter, rest) = if let Some(r) = rest.strip_prefix('#').or_else(|| rest.strip_prefix('♯')) {
        (1, r)
    } else if let Some(r) = rest.strip_prefix('b').or_else(|| rest.strip_prefix('♭')) {
        (-1, r)
    } else {
        (0, rest)
    };
    Some(((SEMITONES[l] + alter).rem_euclid(12) as u8, rest))
}

/// Read the text of a quoted string (without the quotes).
pub(crate) fn parse_quoted(text: &str) -> Quoted {
    let t = text.trim();
    match t.as_bytes().first() {
        None | Some(b'^' | b'_' | b'<' | b'>' | b'@' | b'(') => return Quoted::Text,
        Some(c) if letter_index(*c).is_none() || !c.is_ascii_uppercase() => return Quoted::Text,
        _ => {}
    }
    let Some((root, rest)) = pitch_class(t) else {
        return Quoted::Unreadable;
    };
    let (q, bass) = match rest.split_once('/') {
        Some((q, b)) => {
            let bass = match b.strip_suffix('+') {
                Some(b) => pitch_class(b).filter(|(_, r)| r.is_empty()).map(|(p, _)| (p + 1) % 12),
                None => pitch_class(b).filter(|(_, r)| r.is_empty()).map(|(p, _)| p),
            };
            match bass {
                Some(p) => (q, Some(p)),
                None => return Quoted::Unreadable,
            }
        }
        None => (rest, None),
    };
    match quality(q) {
        Some(intervals) => Quoted::Chord(Chord {
            root,
            intervals,
            bass,
            label: t.to_string(),
        }),
        None => Quoted::Unreadable,
    }
}
