//! The characters of the music that need more than one byte of lookahead:
//! a cursor over a line, bar lines (`|`, `||`, `|]`, `[|`, `|:`, `:|`,
//! `::`, `|1`, `:|2`) and ending numbers.

use super::body::Pos;

/// A bar line as read: `|`, `||`, `|]`, `[|`, `|:`, `:|`, `::`, `|1`, `:|2`...
#[derive(Clone, Debug, Default)]
pub(crate) struct BarLine {
    pub end_repeat: bool,
    pub start_repeat: bool,
    /// `||`, `|]`, `[|`: closes an ending.
    pub double: bool,
    pub ending: Option<Vec<u32>>,
}

/// A cursor over one line's bytes.
pub(crate) struct Line<'a> {
    pub s: &'a [u8],
    pub i: usize,
    pub text: &'a str,
    pub pos: Pos,
}

impl Line<'_> {
    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// The place of the cursor.
    pub(crate) fn at(&self) -> Pos {
        let col = self.text.get(..self.i).map_or(self.i, |s| s.chars().count());
        Pos {
            line: self.pos.line,
            col: self.pos.col + col,
            offset: self.pos.offset + self.i,
        }
    }

    /// A decimal number, saturating at 9999 (ABC's numbers are small; the
    /// bound keeps length products far from overflow).
    pub(crate) fn number(&mut self) -> Option<u32> {
        let start = self.i;
        let mut v = 0u32;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            v = (v * 10 + u32::from(d - b'0')).min(9999);
            self.i += 1;
        }
        (self.i > start).then_some(v)
    }
}

/// A bar line starting at `|` or `:`.
pub(crate) fn bar_token(p: &mut Line) -> BarLine {
    let mut b = BarLine::default();
    while p.peek() == Some(b':') {
        b.end_repeat = true;
        p.i += 1;
    }
    let mut bars = 0;
    while p.peek() == Some(b'|') {
        bars += 1;
        p.i += 1;
    }
    if p.peek() == Some(b']') {
        b.double = true;
        p.i += 1;
    }
    b.double |= bars > 1;
    if bars == 0 && b.end_repeat {
        // `::` is an end and a start repeat; a lone `:` the same.
        b.start_repeat = true;
        return b;
    }
    let tail = bar_tail(p);
    b.start_repeat = tail.start_repeat;
    b.ending = tail.ending;
    b
}

/// What may follow the bars of a bar line: `:` (start repeat), an ending
/// number (`|1`, `|[2`, `:|2`).
pub(crate) fn bar_tail(p: &mut Line) -> BarLine {
    let mut b = BarLine::default();
    while p.peek() == Some(b':') {
        b.start_repeat = true;
        p.i += 1;
    }
    if p.peek().is_some_and(|c| c.is_ascii_digit()) {
        b.ending = Some(ending_numbers(p));
    } else if p.peek() == Some(b'[') && p.s.get(p.i + 1).is_some_and(|c| c.is_ascii_digit()) {
        p.i += 1;
        b.ending = Some(ending_numbers(p));
    }
    b
}

/// Ending numbers: `1`, `2`, `1,3`, `1-3` (at most 1..=64).
pub(crate) fn ending_numbers(p: &mut Line) -> Vec<u32> {
    let mut nums = Vec::new();
    while let Some(a) = p.number() {
        let mut b = a;
        if p.peek() == Some(b'-') && p.s.get(p.i + 1).is_some_and(|c| c.is_ascii_digit()) {
            p.i += 1;
            b = p.number().unwrap_or(a);
        }
        for n in a.min(64)..=b.min(64) {
            nums.push(n);
        }
        if p.peek() == Some(b',') && p.s.get(p.i + 1).is_some_and(|c| c.is_ascii_digit()) {
            p.i += 1;
        } else {
            break;
        }
    }
    nums
}
