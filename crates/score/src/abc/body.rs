//! The tune body, in written order: notes with their pitches (key, bar
//! accidentals, ties) and lengths (unit length, broken rhythms, tuplets),
//! cut into bars at the bar lines, with the repeat, ending and part marks the
//! layout needs. Field lines and inline fields change the state in force.
//! Knows nothing of playing order: see `layout.rs`.

use super::fields::{self, Chord, Key, Length, Meter, Quoted};
use super::lex::{bar_tail, bar_token, ending_numbers, BarLine, Line};

/// Ticks per quarter note of every ABC score: 480 = 2^5 x 3 x 5, so lengths
/// down to 1/128 notes, triplets down to 1/64 and quintuplets of 1/32 notes
/// are whole numbers of ticks.
pub(crate) const TPQ: i64 = 480;
/// Ticks in a whole note.
pub(super) const WHOLE: i64 = 4 * TPQ;
/// Times and lengths are capped here (2^40 ticks): malformed input cannot
/// overflow a sum.
pub(crate) const MAX_TIME: i64 = 1 << 40;

/// A place in the text, for warnings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// Byte offset from the start of the text.
    pub offset: usize,
}

/// A note as written, at ticks from its bar's start.
#[derive(Clone, Debug)]
pub(crate) struct RawNote {
    pub onset: i64,
    pub duration: i64,
    pub pitch: u8,
    /// Followed by a tie (`-`).
    pub tie: bool,
    pub at: Pos,
}

/// How far a written accidental holds, up to the bar line: ABC 2.1's
/// `%%propagate-accidentals` directive (also as `I:propagate-accidentals`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Propagate {
    /// Only the note it is written on.
    Not,
    /// Later notes of that letter in that octave.
    Octave,
    /// Later notes of that letter in every octave (ABC 2.1's default).
    #[default]
    Pitch,
}

impl Propagate {
    /// Read the value of a `propagate-accidentals` directive.
    pub(crate) fn parse(value: &str) -> Option<Propagate> {
        match value.trim() {
            "not" => Some(Propagate::Not),
            "octave" => Some(Propagate::Octave),
            "pitch" => Some(Propagate::Pitch),
            _ => None,
        }
    }
}

/// A change of state at a time in a bar.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Change {
    Key(Key),
    Meter(Meter),
    Tempo(f64),
}

/// Music between two bar lines, times in ticks from the bar's start.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bar {
    pub notes: Vec<RawNote>,
    pub chords: Vec<(i64, Chord)>,
    /// The key, meter and tempo in force at the bar's start (at time 0),
    /// then every change inside it.
    pub changes: Vec<(i64, Change)>,
    /// How far the music of the bar goes.
    pub length: i64,
    /// The part (`P:` label) the bar belongs to.
    pub part: Option<u8>,
    /// A start repeat (`|:`) opens the bar.
    pub repeat_start: bool,
    /// A part label (`P:`) opens the bar: where a `:|` goes back to when no
    /// `|:` stands in between.
    pub section_start: bool,
    /// An end repeat (`:|`) closes the bar.
    pub repeat_end: bool,
    /// The numbers of the ending (volta) the bar belongs to.
    pub ending: Option<Vec<u32>>,
    /// Onsets (from the bar's start) of the notes, chords and rests under
    /// a fermata (`H`, `!fermata!`, `+fermata+`).
    pub fermatas: Vec<i64>,
}

impl Bar {
    fn has_music(&self) -> bool {
        self.length > 0 || !self.notes.is_empty() || !self.chords.is_empty()
    }
}

/// Report a warning at a place; an error ends reading (strict mode).
pub(crate) type Warn<'w, E> = dyn FnMut(Pos, String) -> Result<(), E> + 'w;

/// The tune's state and the bars read so far.
pub(crate) struct Body {
    pub unit: Length,
    pub meter: Meter,
    pub key: Key,
    pub tempo: f64,
    pub bars: Vec<Bar>,
    pub(super) cur: Bar,
    /// Ticks from the current bar's start.
    pub(super) cursor: i64,
    pub(super) propagate: Propagate,
    /// Accidentals written in the current bar: (letter, octave, or
    /// `i32::MIN` for every octave) → alteration.
    pub(super) bar_acc: Vec<((usize, i32), i8)>,
    /// Tuplet in force: (p, q, notes left).
    pub(super) tuplet: Option<(i64, i64, u32)>,
    /// Factor of a broken rhythm for the next note, rest or chord.
    pub(super) broken_next: Option<(i64, i64)>,
    /// The last note, rest or chord of the bar: index of its first note,
    /// and how far it moved the cursor.
    pub(super) last: Option<(usize, i64)>,
    /// Notes tied from the previous element: (letter, octave, pitch).
    pub(super) tied: Vec<(usize, i32, u8)>,
    /// A fermata was written before the next note, chord or rest.
    pub(super) fermata_next: bool,
    pub(super) ending: Option<Vec<u32>>,
    pub(super) part: Option<u8>,
    pub(super) next_repeat_start: bool,
    pub(super) next_section_start: bool,
    /// The voice being read (`V:`): music of voices other than the first is skipped.
    pub(super) voice: Option<String>,
    pub(super) first_voice: Option<String>,
    pub(super) skipped_voices: Vec<String>,
    /// A rounded length was already reported for this tune.
    pub(super) rounded_warned: bool,
}

impl Body {
    pub(crate) fn new(unit: Length, meter: Meter, key: Key, tempo: f64) -> Body {
        let mut b = Body {
            unit,
            meter,
            key,
            tempo,
            bars: Vec::new(),
            cur: Bar::default(),
            cursor: 0,
            propagate: Propagate::default(),
            bar_acc: Vec::new(),
            tuplet: None,
            broken_next: None,
            last: None,
            tied: Vec::new(),
            fermata_next: false,
            ending: None,
            part: None,
            next_repeat_start: false,
            next_section_start: false,
            voice: None,
            first_voice: None,
            skipped_voices: Vec::new(),
            rounded_warned: false,
        };
        b.open_bar();
        b
    }

    /// The length of a bar of the meter in force (4/4 in free meter).
    pub(crate) fn bar_length(&self) -> i64 {
        match self.meter {
            Some((n, d)) => (WHOLE * i64::from(n) / i64::from(d.max(1))).clamp(1, MAX_TIME),
            None => WHOLE,
        }
    }

    fn open_bar(&mut self) {
        self.cur = Bar {
            part: self.part,
            repeat_start: std::mem::take(&mut self.next_repeat_start),
            section_start: std::mem::take(&mut self.next_section_start),
            ending: self.ending.clone(),
            ..Bar::default()
        };
        self.cur.changes = vec![
            (0, Change::Key(self.key)),
            (0, Change::Meter(self.meter)),
            (0, Change::Tempo(self.tempo)),
        ];
        self.cursor = 0;
        self.bar_acc.clear();
        self.last = None;
    }

    /// Record a change of key, meter or tempo at the cursor.
    fn change(&mut self, c: Change) {
        if self.cur.has_music() {
            self.cur.changes.push((self.cursor, c));
        } else {
            // Before any music of the bar: the bar starts with it.
            self.cur
                .changes
                .retain(|(_, old)| std::mem::discriminant(old) != std::mem::discriminant(&c));
            self.cur.changes.push((0, c));
        }
    }

    /// Close the current bar and open the next one.
    fn bar_line(&mut self, b: BarLine) {
        if b.end_repeat {
            match self.bars.last_mut() {
                // `:|` with nothing since the last bar line closes that bar.
                Some(prev) if !self.cur.has_music() && !self.cur.repeat_start => prev.repeat_end = true,
                _ => self.cur.repeat_end = true,
            }
        }
        self.finish_bar();
        if b.end_repeat || b.start_repeat || b.double {
            self.ending = None;
        }
        self.next_repeat_start |= b.start_repeat;
        self.open_bar();
        if let Some(nums) = b.ending {
            self.start_ending(nums);
        }
    }

    fn finish_bar(&mut self) {
        let bar = std::mem::take(&mut self.cur);
        if bar.has_music() || bar.repeat_end {
            self.bars.push(bar);
        } else {
            // An empty bar passes its marks on to the next one.
            self.next_repeat_start |= bar.repeat_start;
            self.next_section_start |= bar.section_start;
        }
    }

    fn start_ending(&mut self, nums: Vec<u32>) {
        if self.cur.has_music() {
            self.bar_line(BarLine::default());
        }
        self.ending = Some(nums.clone());
        self.cur.ending = Some(nums);
    }

    /// A body `P:` field: the music from here on belongs to part `label`.
    pub(crate) fn set_part(&mut self, label: u8) {
        if self.cur.has_music() {
            self.bar_line(BarLine::default());
        }
        self.ending = None;
        self.part = Some(label);
        self.cur.part = Some(label);
        self.cur.section_start = true;
        self.cur.ending = None;
    }

    pub(crate) fn set_key(&mut self, key: Key) {
        self.key = key;
        self.bar_acc.clear();
        self.change(Change::Key(key));
    }

    pub(crate) fn set_meter(&mut self, meter: Meter) {
        self.meter = meter;
        self.change(Change::Meter(meter));
    }

    pub(crate) fn set_tempo(&mut self, qpm: f64) {
        self.tempo = qpm;
        self.change(Change::Tempo(qpm));
    }

    /// A `V:` field. Returns the name of a newly skipped voice, for a warning.
    pub(crate) fn set_voice(&mut self, text: &str) -> Option<String> {
        let id = text.split_whitespace().next().unwrap_or("").to_string();
        if self.first_voice.is_none() {
            self.first_voice = Some(id.clone());
        }
        self.voice = Some(id.clone());
        if self.first_voice.as_deref() != Some(id.as_str()) && !self.skipped_voices.contains(&id) {
            self.skipped_voices.push(id.clone());
            return Some(id);
        }
        None
    }

    fn reading_voice(&self) -> bool {
        self.voice == self.first_voice
    }

    /// The last bars, after the end of the tune.
    pub(crate) fn finish(mut self) -> Vec<Bar> {
        self.finish_bar();
        self.bars
    }

    /// Read one line of music. `line` is its text, `pos` the place of its first byte.
    pub(crate) fn music<E>(&mut self, line: &str, pos: Pos, warn: &mut Warn<E>) -> Result<(), E> {
        if !self.reading_voice() {
            return Ok(());
        }
        let mut p = Line {
            s: line.as_bytes(),
            i: 0,
            text: line,
            pos,
        };
        while let Some(c) = p.peek() {
            let at = p.at();
            match c {
                b' ' | b'\t' | b'\r' | b'`' | b'$' | b')' | b'\\' | b'*' | b';' => p.i += 1,
                b'"' => self.quoted(&mut p, warn)?,
                b'!' | b'+' | b'.' | b'~' | b'H'..=b'W' | b'h'..=b'w' => self.decoration(&mut p),
                b'{' => {
                    // Grace notes take no time and are left out.
                    match p.s[p.i..].iter().position(|&x| x == b'}') {
                        Some(end) => p.i += end + 1,
                        None => {
                            warn(
                                at,
                                "grace notes '{' without '}' on the line; the brace is ignored".into(),
                            )?;
                            p.i += 1;
                        }
                    }
                }
                b'(' => self.tuplet_or_slur(&mut p, warn)?,
                b'>' | b'<' => self.broken(&mut p, warn)?,
                b'|' | b':' => {
                    let b = bar_token(&mut p);
                    self.bar_line(b);
                }
                b'[' => match p.s.get(p.i + 1) {
                    Some(b'|') => {
                        p.i += 2;
                        let mut b = bar_tail(&mut p);
                        b.double = true;
                        self.bar_line(b);
                    }
                    Some(d) if d.is_ascii_digit() => {
                        p.i += 1;
                        let nums = ending_numbers(&mut p);
                        self.start_ending(nums);
                    }
                    Some(l) if l.is_ascii_alphabetic() && p.s.get(p.i + 2) == Some(&b':') => {
                        self.inline_field(&mut p, warn)?;
                    }
                    _ => self.chord(&mut p, warn)?,
                },
                b'^' | b'_' | b'=' | b'A'..=b'G' | b'a'..=b'g' => self.note_element(&mut p, warn)?,
                b'z' | b'x' => {
                    p.i += 1;
                    let len = self.length(&mut p, warn)?;
                    self.place(Vec::new(), len);
                }
                b'Z' | b'X' => {
                    p.i += 1;
                    let bars = p.number().unwrap_or(1).max(1);
                    let len = self.bar_length().saturating_mul(i64::from(bars)).min(MAX_TIME);
                    self.tuplet = None;
                    self.broken_next = None;
                    self.advance(len);
                    self.last = None;
                }
                b'y' => {
                    p.i += 1;
                    let _ = self.length(&mut p, warn)?;
                }
                b'&' => {
                    warn(
                        at,
                        "voice overlay '&' is not supported; the rest of the bar is skipped".into(),
                    )?;
                    while p.peek().is_some_and(|x| x != b'|') {
                        p.i += 1;
                    }
                }
                b'-' => p.i += 1, // a tie after a bar line or a space: nothing to tie
                _ => {
                    let ch = p.text.get(p.i..).and_then(|s| s.chars().next()).unwrap_or('?');
                    warn(at, format!("unexpected character '{ch}' ignored"))?;
                    p.i += ch.len_utf8().max(1);
                }
            }
        }
        Ok(())
    }

    pub(super) fn advance(&mut self, by: i64) {
        self.cursor = self.cursor.saturating_add(by).min(MAX_TIME);
        self.cur.length = self.cur.length.max(self.cursor);
    }

    /// A decoration: `!name!`, `+name+` or one symbol (`.`, `~`, `H`–`W`,
    /// `h`–`w`). A fermata (`H`, `!fermata!`, `!invertedfermata!`) is kept
    /// for the next note, chord or rest; every other decoration is ignored.
    /// A lone `!` is an old line break.
    pub(super) fn decoration(&mut self, p: &mut Line) {
        let c = p.s[p.i];
        p.i += 1;
        if c == b'H' {
            self.fermata_next = true;
        }
        if c != b'!' && c != b'+' {
            return;
        }
        if let Some(end) = p.s[p.i..].iter().position(|&x| x == c) {
            let name = &p.s[p.i..p.i + end];
            if name == b"fermata" || name == b"invertedfermata" {
                self.fermata_next = true;
            }
            p.i += end + 1;
        }
    }

    /// Place a note, chord (several notes) or rest (no note) at the cursor:
    /// the tuplet and broken-rhythm factors in force scale it.
    pub(super) fn place(&mut self, mut notes: Vec<RawNote>, advance: i64) {
        if std::mem::take(&mut self.fermata_next) {
            self.cur.fermatas.push(self.cursor);
        }
        let (mut num, mut den) = (1i64, 1i64);
        if let Some((p, q, left)) = self.tuplet {
            num *= q;
            den *= p;
            self.tuplet = (left > 1).then_some((p, q, left - 1));
        }
        if let Some((n, d)) = self.broken_next.take() {
            num *= n;
            den *= d;
        }
        let scale = |v: i64| scale_ticks(v, num, den);
        let first = self.cur.notes.len();
        self.tied.clear();
        for n in &mut notes {
            n.onset = self.cursor;
            n.duration = scale(n.duration);
        }
        let advance = scale(advance);
        self.cur.notes.append(&mut notes);
        self.advance(advance);
        self.last = Some((first, advance));
    }

    /// A broken rhythm (`>`, `>>`, `<`...) between the last element and the next.
    fn broken<E>(&mut self, p: &mut Line, warn: &mut Warn<E>) -> Result<(), E> {
        let at = p.at();
        let c = p.s[p.i];
        let mut n = 0u32;
        while p.peek() == Some(c) {
            n += 1;
            p.i += 1;
        }
        if n > 3 {
            warn(at, format!("{n} broken-rhythm marks read as 3"))?;
            n = 3;
        }
        let Some((first, adv)) = self.last else {
            return warn(at, "broken rhythm with no note before it in the bar; ignored".into());
        };
        let pow = 1i64 << n;
        let long = (2 * pow - 1, pow);
        let short = (1, pow);
        let (this, next) = if c == b'>' { (long, short) } else { (short, long) };
        for note in &mut self.cur.notes[first..] {
            note.duration = scale_ticks(note.duration, this.0, this.1);
        }
        let new = scale_ticks(adv, this.0, this.1);
        self.cursor = (self.cursor - adv + new).clamp(0, MAX_TIME);
        self.cur.length = self
            .cursor
            .max(self.cur.notes.iter().map(|n| n.onset).max().unwrap_or(0));
        self.last = Some((first, new));
        self.broken_next = Some(next);
        Ok(())
    }

    /// `(3`, `(p:q:r`: a tuplet; a `(` not followed by a digit opens a slur (ignored).
    fn tuplet_or_slur<E>(&mut self, p: &mut Line, warn: &mut Warn<E>) -> Result<(), E> {
        let at = p.at();
        p.i += 1;
        let Some(pn) = p.number() else { return Ok(()) };
        let mut q = None;
        let mut r = None;
        if p.peek() == Some(b':') {
            p.i += 1;
            q = p.number();
            if p.peek() == Some(b':') {
                p.i += 1;
                r = p.number();
            }
        }
        let compound = matches!(self.meter, Some((n, _)) if n % 3 == 0 && n > 3);
        let q = q.filter(|&q| q > 0).unwrap_or(match pn {
            2 | 4 | 8 => 3,
            3 | 6 => 2,
            _ if compound => 3,
            _ => 2,
        });
        if pn == 0 {
            return warn(at, "tuplet of 0 notes ignored".into());
        }
        let r = r.filter(|&r| r > 0).unwrap_or(pn);
        self.tuplet = Some((i64::from(pn), i64::from(q), r));
        Ok(())
    }

    /// A quoted string: a chord symbol at the cursor, or text.
    pub(super) fn quoted<E>(&mut self, p: &mut Line, warn: &mut Warn<E>) -> Result<(), E> {
        let at = p.at();
        p.i += 1;
        let Some(len) = p.s[p.i..].iter().position(|&x| x == b'"') else {
            p.i = p.s.len();
            return warn(at, "unclosed quote; the rest of the line is skipped".into());
        };
        let text = p.text.get(p.i..p.i + len).unwrap_or("");
        p.i += len + 1;
        match fields::parse_quoted(text) {
            Quoted::Chord(c) => self.cur.chords.push((self.cursor, c)),
            Quoted::Text => {}
            Quoted::Unreadable => warn(at, format!("\"{text}\" is not a chord symbol fugue can read; ignored"))?,
        }
        Ok(())
    }

    /// `[K:G]`, `[M:3/4]`, `[L:1/16]`, `[Q:1/4=90]`, `[P:B]`, `[V:2]`...
    fn inline_field<E>(&mut self, p: &mut Line, warn: &mut Warn<E>) -> Result<(), E> {
        let at = p.at();
        let Some(len) = p.s[p.i..].iter().position(|&x| x == b']') else {
            p.i = p.s.len();
            return warn(at, "inline field without ']'; the rest of the line is skipped".into());
        };
        let name = p.s[p.i + 1];
        let value = p.text.get(p.i + 3..p.i + len).unwrap_or("").to_string();
        p.i += len + 1;
        self.field(name, &value, at, warn)
    }

    /// A field inside the body (its own line or inline). Fields that do not
    /// change the music (titles, words, notes, instructions) are ignored.
    pub(crate) fn field<E>(&mut self, name: u8, value: &str, at: Pos, warn: &mut Warn<E>) -> Result<(), E> {
        let value = value.trim();
        if name == b'V' {
            if let Some(v) = self.set_voice(value) {
                warn(at, format!("voice V:{v} skipped: only the first voice is read"))?;
            }
            return Ok(());
        }
        if !self.reading_voice() {
            return Ok(());
        }
        match name {
            b'K' => match fields::parse_key(value, &self.key) {
                Ok(k) => self.set_key(k),
                Err(m) => warn(at, m)?,
            },
            b'M' => match fields::parse_meter(value) {
                Ok(m) => self.set_meter(m),
                Err(m) => warn(at, m)?,
            },
            b'L' => match fields::parse_length(value) {
                Ok(l) => self.unit = l,
                Err(m) => warn(at, m)?,
            },
            b'Q' => match fields::parse_tempo(value, self.unit) {
                Ok(Some(q)) => self.set_tempo(q),
                Ok(None) => {}
                Err(m) => warn(at, m)?,
            },
            b'I' => self.directive(value, at, warn)?,
            b'P' => match value.bytes().next() {
                Some(l) if l.is_ascii_alphabetic() => self.set_part(l.to_ascii_uppercase()),
                _ => warn(at, format!("cannot read the part label P:{value}"))?,
            },
            _ => {}
        }
        Ok(())
    }
}

impl Body {
    /// An instruction (`I:` field or `%%` line); only
    /// `propagate-accidentals` changes the music.
    pub(crate) fn directive<E>(&mut self, text: &str, at: Pos, warn: &mut Warn<E>) -> Result<(), E> {
        if let Some(v) = text.trim().strip_prefix("propagate-accidentals") {
            match Propagate::parse(v) {
                Some(p) => self.propagate = p,
                None => warn(at, format!("unknown propagate-accidentals value '{}'", v.trim()))?,
            }
        }
        Ok(())
    }
}

/// Scale ticks by num/den, rounding to the nearest tick.
pub(super) fn scale_ticks(v: i64, num: i64, den: i64) -> i64 {
    let v = i128::from(v) * i128::from(num);
    let d = i128::from(den.max(1));
    ((v + d / 2) / d).clamp(0, i128::from(MAX_TIME)) as i64
}
