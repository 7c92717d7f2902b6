//! ABC reading: the text cut into tunes, each tune's header read, its body
//! handed line by line to [`Body`], and the bars laid out into a score. See
//! the module docs of [`crate::abc`] for the rules.

use super::body::{self, Body, Pos, Propagate};
use super::fields::{self, Key, Length, Meter};
use super::layout::{self, Plan};
use crate::error::{Location, Result, ScoreError, Warning};
use crate::score::Score;
use crate::time::Tick;
use std::path::Path;

/// How to read.
#[derive(Clone, Copy, Debug)]
pub struct ReadOptions {
    /// Turn the first warning into an error.
    pub strict: bool,
    /// Play repeats and endings out in full (otherwise every bar is played
    /// once, as written).
    pub expand_repeats: bool,
    /// Turn chord symbols into a track named `Chords`.
    pub chord_track: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            strict: false,
            expand_repeats: true,
            chord_track: true,
        }
    }
}

/// One tune of a tunebook.
#[derive(Clone, Debug)]
pub struct AbcTune {
    /// The `X:` reference number (0 when it cannot be read).
    pub x: u32,
    /// The first `T:` field of the header.
    pub title: Option<String>,
    /// The music: a `Melody` track and, with chord symbols, a `Chords` track.
    pub score: Score<Tick>,
    /// What was wrong in this tune and what the reader did about it; each
    /// message names the tune (`X:`), line and column.
    pub warnings: Vec<Warning>,
}

/// Read an ABC file from disk; errors name the file.
pub fn read_abc_file(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Vec<AbcTune>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ScoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_abc(&bytes, opts).map_err(|e| e.with_path(path))
}

/// Read ABC from bytes: UTF-8 (a byte-order mark is skipped), else Latin-1
/// (older tunebooks, the Nottingham set among them, are Latin-1).
pub fn read_abc(bytes: &[u8], opts: &ReadOptions) -> Result<Vec<AbcTune>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => read_abc_str(text, opts),
        Err(_) => {
            let text: String = bytes.iter().map(|&b| char::from(b)).collect();
            read_abc_str(&text, opts)
        }
    }
}

/// Read a tunebook from text: one [`AbcTune`] per tune, in file order.
pub fn read_abc_str(text: &str, opts: &ReadOptions) -> Result<Vec<AbcTune>> {
    let lines = split_lines(text);
    let has_x = lines.iter().any(|l| l.text.starts_with("X:"));
    let mut tunes: Vec<AbcTune> = Vec::new();
    let mut file_header: Vec<(u8, String, Pos)> = Vec::new();
    let mut tune: Option<TuneReader> = None;
    if !has_x {
        if !lines
            .iter()
            .any(|l| field_of(l.text, false).is_some_and(|f| f.0 == b'K'))
        {
            return Err(ScoreError::Abc {
                path: None,
                message: "no tune found (no X: or K: field)".into(),
            });
        }
        let mut t = TuneReader::new(1, Pos::default(), opts);
        t.warn(
            Pos {
                line: 1,
                col: 1,
                offset: 0,
            },
            "no X: field; read as one tune numbered 1".into(),
        )?;
        tune = Some(t);
    }
    // After a tune's blank line: text until the next X: is not music.
    let mut after_end_warned = false;
    for l in &lines {
        if l.directive {
            match tune.as_mut() {
                Some(t) => t.header_field(b'I', l.text, l.pos)?,
                None if tunes.is_empty() => file_header.push((b'I', l.text.to_string(), l.pos)),
                None => {}
            }
            continue;
        }
        if let Some(rest) = l.text.strip_prefix("X:") {
            if let Some(t) = tune.take() {
                tunes.push(t.finish()?);
            }
            let x = rest.trim().parse::<u32>().ok();
            let mut t = TuneReader::new(x.unwrap_or(0), l.pos, opts);
            if x.is_none() {
                t.warn(l.pos, format!("cannot read the tune number X:{}; 0 used", rest.trim()))?;
            }
            for (name, value, at) in &file_header {
                t.header_field(*name, value, *at)?;
            }
            tune = Some(t);
            after_end_warned = false;
            continue;
        }
        match tune.as_mut() {
            None => {
                // The file header (or free text between tunes).
                if tunes.is_empty() {
                    if let Some((name, value)) = field_of(l.text, false) {
                        if matches!(name, b'L' | b'M' | b'Q' | b'I') {
                            file_header.push((name, value.to_string(), l.pos));
                        }
                    }
                } else if l.text.contains('|') && !after_end_warned {
                    after_end_warned = true;
                    if let Some(last) = tunes.last_mut() {
                        let w = warning(last.x, l.pos, "music after the tune's blank line is not read".into());
                        if opts.strict {
                            return Err(ScoreError::Strict { path: None, warning: w });
                        }
                        last.warnings.push(w);
                    }
                }
            }
            Some(t) => {
                if l.text.trim().is_empty() {
                    if let Some(t) = tune.take() {
                        tunes.push(t.finish()?);
                    }
                    continue;
                }
                t.line(l)?;
            }
        }
    }
    if let Some(t) = tune.take() {
        tunes.push(t.finish()?);
    }
    if tunes.is_empty() {
        return Err(ScoreError::Abc {
            path: None,
            message: "no tune found (no X: line followed by a tune)".into(),
        });
    }
    Ok(tunes)
}

/// A line without its comment, with its place.
struct SrcLine<'a> {
    text: &'a str,
    pos: Pos,
    /// A `%%` directive line (the text without the `%%`).
    directive: bool,
}

/// Lines without `\r`, `%` comments and `%%` directives.
fn split_lines(text: &str) -> Vec<SrcLine<'_>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for (n, raw) in text.split('\n').enumerate() {
        let pos = Pos {
            line: n + 1,
            col: 1,
            offset,
        };
        offset += raw.len() + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(d) = raw.strip_prefix("%%") {
            out.push(SrcLine {
                text: d,
                pos,
                directive: true,
            });
            continue;
        }
        let mut end = raw.len();
        let b = raw.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            if c == b'%' && (i == 0 || b[i - 1] != b'\\') {
                end = i;
                break;
            }
        }
        // A comment-only line is no line at all (it must not end a tune).
        if end < raw.len() && raw[..end].trim().is_empty() {
            continue;
        }
        out.push(SrcLine {
            text: &raw[..end],
            pos,
            directive: false,
        });
    }
    out
}

/// `Some((name, value))` when the line is a field (`T:Title`). In the body a
/// note letter followed by `:|` or `::` is music (`A:|`), not a field.
fn field_of(text: &str, body: bool) -> Option<(u8, &str)> {
    let b = text.as_bytes();
    match b {
        [name, b':', rest @ ..] if name.is_ascii_alphabetic() || *name == b'+' => {
            let note = matches!(name, b'A'..=b'G' | b'a'..=b'g' | b'z' | b'x' | b'Z');
            if body && note && matches!(rest.first(), None | Some(b'|' | b':')) {
                return None;
            }
            Some((*name, &text[2..]))
        }
        _ => None,
    }
}

fn warning(x: u32, at: Pos, message: String) -> Warning {
    Warning {
        at: Location {
            track: None,
            offset: at.offset,
        },
        message: format!("tune X:{x}, line {}, column {}: {message}", at.line, at.col),
    }
}

/// One tune being read.
struct TuneReader {
    x: u32,
    at: Pos,
    opts: ReadOptions,
    title: Option<String>,
    warnings: Vec<Warning>,
    unit: Option<Length>,
    meter: Meter,
    tempo: Option<(String, Pos)>,
    /// The header's `P:` (the part order, or with `Y:` a part label).
    header_p: Option<(String, Pos)>,
    /// The Nottingham set's `Y:` part order.
    y_order: Option<Vec<u8>>,
    parts: Option<Vec<u8>>,
    propagate: Propagate,
    /// Set once the `K:` line (or the first music line) is read.
    body: Option<Body>,
}

impl TuneReader {
    fn new(x: u32, at: Pos, opts: &ReadOptions) -> Self {
        TuneReader {
            x,
            at,
            opts: *opts,
            title: None,
            warnings: Vec::new(),
            unit: None,
            meter: None,
            tempo: None,
            header_p: None,
            y_order: None,
            parts: None,
            propagate: Propagate::default(),
            body: None,
        }
    }

    fn warn(&mut self, at: Pos, message: String) -> Result<()> {
        let w = warning(self.x, at, message);
        if self.opts.strict {
            return Err(ScoreError::Strict { path: None, warning: w });
        }
        self.warnings.push(w);
        Ok(())
    }

    fn line(&mut self, l: &SrcLine) -> Result<()> {
        let field = field_of(l.text, self.body.is_some());
        let value_at = Pos {
            col: l.pos.col + 2,
            offset: l.pos.offset + 2,
            ..l.pos
        };
        match (field, self.body.is_some()) {
            (Some((name, value)), false) => self.header_field(name, value, value_at),
            (None, false) => {
                self.warn(l.pos, "music before the K: field; C major assumed".into())?;
                self.start_body(Key::NONE);
                self.line(l)
            }
            (Some((name, value)), true) => {
                let (x, strict) = (self.x, self.opts.strict);
                let (body, warnings) = (self.body.as_mut(), &mut self.warnings);
                let Some(body) = body else { return Ok(()) };
                body.field(name, value, value_at, &mut |at, m| push(warnings, x, strict, at, m))
            }
            (None, true) => {
                let (x, strict) = (self.x, self.opts.strict);
                let (body, warnings) = (self.body.as_mut(), &mut self.warnings);
                let Some(body) = body else { return Ok(()) };
                body.music(l.text, l.pos, &mut |at, m| push(warnings, x, strict, at, m))
            }
        }
    }

    fn header_field(&mut self, name: u8, value: &str, at: Pos) -> Result<()> {
        let value = value.trim();
        if let Some(body) = self.body.as_mut() {
            // A directive line inside the body.
            let (x, strict, warnings) = (self.x, self.opts.strict, &mut self.warnings);
            return body.field(name, value, at, &mut |at, m| push(warnings, x, strict, at, m));
        }
        match name {
            b'T' if self.title.is_none() => self.title = Some(value.to_string()),
            b'L' => match fields::parse_length(value) {
                Ok(l) => self.unit = Some(l),
                Err(m) => self.warn(at, m)?,
            },
            b'M' => match fields::parse_meter(value) {
                Ok(m) => self.meter = m,
                Err(m) => self.warn(at, m)?,
            },
            b'Q' => self.tempo = Some((value.to_string(), at)),
            b'I' => {
                if let Some(v) = value.strip_prefix("propagate-accidentals") {
                    match Propagate::parse(v) {
                        Some(p) => self.propagate = p,
                        None => self.warn(at, format!("unknown propagate-accidentals value '{}'", v.trim()))?,
                    }
                }
            }
            // The Nottingham set writes the order as `Y:` and may also put a
            // part label `P:A` in the header; with a `Y:` the header `P:`
            // labels the music that follows.
            b'P' => self.header_p = Some((value.to_string(), at)),
            b'Y' => match fields::parse_part_order(value) {
                Ok(order) => self.y_order = Some(order),
                Err(m) => self.warn(at, format!("{m} (part order Y:{value}); ignored"))?,
            },
            b'K' => {
                let key = match fields::parse_key(value, &Key::NONE) {
                    Ok(k) => k,
                    Err(m) => {
                        self.warn(at, m)?;
                        Key::NONE
                    }
                };
                self.start_body(key);
            }
            _ => {}
        }
        Ok(())
    }

    fn start_body(&mut self, key: Key) {
        let unit = self.unit.unwrap_or_else(|| fields::default_length(self.meter));
        let mut tempo = 120.0;
        let mut bad = None;
        if let Some((q, at)) = &self.tempo {
            match fields::parse_tempo(q, unit) {
                Ok(Some(t)) => tempo = t,
                Ok(None) => {}
                Err(m) => bad = Some((*at, m)),
            }
        }
        if let Some((at, m)) = bad {
            // Warnings here cannot fail in lenient mode; in strict mode the
            // error surfaces when the tune finishes.
            let w = warning(self.x, at, m);
            self.warnings.push(w);
        }
        let mut body = Body::new(unit, self.meter, key, tempo);
        body.propagate = self.propagate;
        let header_p = self.header_p.take();
        if let Some(order) = self.y_order.take() {
            self.parts = Some(order);
            if let Some(label) = header_p.as_ref().and_then(|(p, _)| p.bytes().next()) {
                if label.is_ascii_alphabetic() {
                    body.set_part(label.to_ascii_uppercase());
                }
            }
        } else if let Some((p, at)) = header_p {
            match fields::parse_part_order(&p) {
                Ok(order) => self.parts = Some(order),
                Err(m) => self
                    .warnings
                    .push(warning(self.x, at, format!("{m} (part order P:{p}); ignored"))),
            }
        }
        self.body = Some(body);
    }

    fn finish(mut self) -> Result<AbcTune> {
        if self.opts.strict {
            if let Some(w) = self.warnings.first() {
                return Err(ScoreError::Strict {
                    path: None,
                    warning: w.clone(),
                });
            }
        }
        let Some(body) = self.body.take() else {
            self.warn(self.at, "no K: field and no music".into())?;
            return Ok(AbcTune {
                x: self.x,
                title: self.title,
                score: Score::new(body::TPQ as u16),
                warnings: self.warnings,
            });
        };
        let bars = body.finish();
        let plan = Plan {
            bars: &bars,
            parts: self.parts.as_deref(),
            expand_repeats: self.opts.expand_repeats,
            chord_track: self.opts.chord_track,
            at: self.at,
        };
        let (x, strict) = (self.x, self.opts.strict);
        let warnings = &mut self.warnings;
        let score = layout::build(&plan, &mut |at, m| push(warnings, x, strict, at, m))?;
        Ok(AbcTune {
            x: self.x,
            title: self.title,
            score,
            warnings: self.warnings,
        })
    }
}

/// Record a warning of tune `x`, or fail with it in strict mode.
fn push(warnings: &mut Vec<Warning>, x: u32, strict: bool, at: Pos, message: String) -> Result<()> {
    let w = warning(x, at, message);
    if strict {
        return Err(ScoreError::Strict { path: None, warning: w });
    }
    warnings.push(w);
    Ok(())
}
