//! MusicXML reading. See the module docs of [`crate::musicxml`] for the rules.
//!
//! Reading runs in three steps: unpack (zip container, text encoding, XML
//! parse), *collect* every part's measures into [`MeasureData`] (notes at
//! ticks relative to the measure start, signatures, repeat barlines), then
//! *lay out* the measures in playing order (repeats expanded) and build the
//! score (ties joined, chord track, global maps).

use super::layout::{self, Harmony, MeasureData, PartData, RawNote};
use crate::error::{Location, Result, ScoreError, Warning};
use crate::score::Score;
use crate::time::Tick;
use roxmltree::{Document, Node, ParsingOptions};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// What to do with grace notes (notes without a duration of their own).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GraceNotes {
    /// Leave them out (the default): the score holds only notes that take
    /// metrical time, which is what metrics and most encodings expect.
    #[default]
    Drop,
    /// Keep them as short notes (a 32nd note, an eighth of a quarter) at the
    /// onset of the note they ornament, without shortening that note.
    Short,
}

/// How to read.
#[derive(Clone, Copy, Debug)]
pub struct ReadOptions {
    /// Turn the first warning into an error.
    pub strict: bool,
    /// Grace notes: dropped or kept short.
    pub grace: GraceNotes,
    /// Play repeats and voltas (first/second endings) out in full.
    pub expand_repeats: bool,
    /// Turn `<harmony>` chord symbols into a track named `Chords`.
    pub chord_track: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            strict: false,
            grace: GraceNotes::Drop,
            expand_repeats: true,
            chord_track: true,
        }
    }
}

/// A score and the problems the reader worked around.
#[derive(Clone, Debug)]
pub struct ReadResult {
    /// The score, in ticks (see the module docs for the resolution chosen).
    pub score: Score<Tick>,
    /// What was wrong in the file and what the reader did about it.
    pub warnings: Vec<Warning>,
    /// The document's `version` attribute (`"3.0"`...), when it has one.
    pub version: Option<String>,
    /// `true` for `<score-timewise>` documents.
    pub timewise: bool,
    /// `true` when the bytes were a compressed `.mxl` archive.
    pub compressed: bool,
    /// The work or movement title, when given.
    pub title: Option<String>,
}

/// Read a MusicXML file (`.xml`, `.musicxml` or compressed `.mxl`) from disk;
/// errors name the file.
pub fn read_musicxml_file(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<ReadResult> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ScoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_musicxml(&bytes, opts).map_err(|e| e.with_path(path))
}

/// The longest single duration, backup or offset, in ticks (2^40: some
/// 70,000 years at 480 ticks per quarter and 120 quarters per minute);
/// longer ones are malformed input, and bounding them keeps every time sum
/// far from `i64` overflow.
const MAX_SPAN: i64 = 1 << 40;

/// The most bytes a root file may unpack to: guards against zip bombs.
const MAX_UNPACKED: u64 = 512 << 20;

fn fatal(element: impl Into<String>, message: impl Into<String>) -> ScoreError {
    ScoreError::MusicXml {
        path: None,
        element: element.into(),
        message: message.into(),
    }
}

/// Read a MusicXML score from its bytes: plain XML (UTF-8 or UTF-16) or a
/// compressed `.mxl` zip archive.
pub fn read_musicxml(bytes: &[u8], opts: &ReadOptions) -> Result<ReadResult> {
    let mut warnings = Vec::new();
    let compressed = bytes.starts_with(b"PK\x03\x04");
    let xml = if compressed {
        unzip(bytes, &mut warnings)?
    } else {
        bytes.to_vec()
    };
    let text = decode(&xml)?;
    let doc = Document::parse_with_options(
        &text,
        ParsingOptions {
            allow_dtd: true,
            ..ParsingOptions::default()
        },
    )
    .map_err(|e| fatal("the XML document", e.to_string()))?;
    let mut r = Reader {
        doc: &doc,
        warnings,
        strict: opts.strict,
        opts: *opts,
        tpq: 480,
    };
    for w in std::mem::take(&mut r.warnings) {
        r.warn(None, 0, w.message)?;
    }
    let root = doc.root_element();
    let timewise = match root.tag_name().name() {
        "score-partwise" => false,
        "score-timewise" => true,
        other => {
            return Err(fatal(
                format!("<{other}> (line 1)"),
                "the root element is neither <score-partwise> nor <score-timewise>",
            ))
        }
    };
    let version = root.attribute("version").map(str::to_owned);
    let title = child(root, "work")
        .and_then(|w| child_text(w, "work-title"))
        .or_else(|| child_text(root, "movement-title"))
        .map(str::to_owned);
    let infos = part_list(root);
    let parts = measures_by_part(root, timewise);
    r.tpq = r.resolution(root)?;
    let mut data = Vec::with_capacity(parts.len());
    for (pi, (id, measures)) in parts.iter().enumerate() {
        let info = infos.get(id.as_str()).cloned().unwrap_or_else(|| PartInfo {
            name: String::new(),
            ..PartInfo::default()
        });
        data.push(r.part(pi, id, &info, measures)?);
    }
    let built = layout::build(data, r.tpq, opts, &mut |part, offset, msg| {
        let w = Warning {
            at: Location { track: part, offset },
            message: msg,
        };
        if opts.strict {
            return Err(ScoreError::Strict { path: None, warning: w });
        }
        r.warnings.push(w);
        Ok(())
    })?;
    Ok(ReadResult {
        score: built,
        warnings: r.warnings,
        version,
        timewise,
        compressed,
        title,
    })
}

/// The root score file of an `.mxl` archive: the first `<rootfile>` of
/// `META-INF/container.xml`, else (with a warning) the first `.xml` or
/// `.musicxml` entry outside `META-INF`.
fn unzip(bytes: &[u8], warnings: &mut Vec<Warning>) -> Result<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| fatal("the zip archive", format!("not a readable .mxl archive: {e}")))?;
    let mut root: Option<String> = None;
    if let Ok(container) = read_entry(&mut zip, "META-INF/container.xml") {
        let text = decode(&container)?;
        let doc = Document::parse_with_options(
            &text,
            ParsingOptions {
                allow_dtd: true,
                ..ParsingOptions::default()
            },
        )
        .map_err(|e| fatal("META-INF/container.xml", e.to_string()))?;
        root = doc
            .descendants()
            .filter(|n| n.has_tag_name("rootfile"))
            .find(|n| {
                n.attribute("media-type")
                    .is_none_or(|m| m == "application/vnd.recordare.musicxml+xml")
            })
            .and_then(|n| n.attribute("full-path"))
            .map(str::to_owned);
        if root.is_none() {
            warnings.push(Warning {
                at: Location::default(),
                message: "META-INF/container.xml names no MusicXML <rootfile>; using the first .xml entry".into(),
            });
        }
    } else {
        warnings.push(Warning {
            at: Location::default(),
            message: "the archive has no META-INF/container.xml; using the first .xml entry".into(),
        });
    }
    let name = match root {
        Some(r) => r,
        None => zip
            .file_names()
            .filter(|n| !n.starts_with("META-INF/"))
            .filter(|n| {
                let l = n.to_ascii_lowercase();
                l.ends_with(".xml") || l.ends_with(".musicxml")
            })
            .min()
            .map(str::to_owned)
            .ok_or_else(|| {
                fatal(
                    "the zip archive",
                    "it holds no MusicXML score (no container, no .xml entry)",
                )
            })?,
    };
    read_entry(&mut zip, &name).map_err(|m| fatal(format!("zip entry '{name}'"), m))
}

fn read_entry(zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str) -> std::result::Result<Vec<u8>, String> {
    let entry = zip.by_name(name).map_err(|e| format!("cannot open the entry: {e}"))?;
    let mut out = Vec::new();
    entry
        .take(MAX_UNPACKED + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot unpack the entry: {e}"))?;
    if out.len() as u64 > MAX_UNPACKED {
        return Err(format!("the entry unpacks to more than {MAX_UNPACKED} bytes"));
    }
    Ok(out)
}

/// XML bytes as text: UTF-16 with a byte-order mark, else UTF-8 (a UTF-8
/// byte-order mark is dropped).
fn decode(b: &[u8]) -> Result<String> {
    let utf16 = |le: bool| {
        let units: Vec<u16> = b[2..]
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| fatal("the XML document", "invalid UTF-16 text"))
    };
    match b {
        [0xFF, 0xFE, ..] => utf16(true),
        [0xFE, 0xFF, ..] => utf16(false),
        _ => {
            let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
            match std::str::from_utf8(b) {
                Ok(s) => Ok(s.to_owned()),
                Err(e) => Err(fatal(
                    "the XML document",
                    format!("not valid UTF-8 (byte offset {})", e.valid_up_to()),
                )),
            }
        }
    }
}

/// What `<part-list>` says about a part.
#[derive(Clone, Debug, Default)]
struct PartInfo {
    name: String,
    program: Option<u8>,
    channel: Option<u8>,
    /// `<score-instrument>`/`<midi-instrument>` id → GM drum key (from `<midi-unpitched>`).
    unpitched: HashMap<String, u8>,
    /// The first `<midi-unpitched>` of the part, for notes that name no instrument.
    default_unpitched: Option<u8>,
}

fn part_list(root: Node) -> HashMap<String, PartInfo> {
    let mut out = HashMap::new();
    let Some(list) = child(root, "part-list") else {
        return out;
    };
    for sp in list.children().filter(|n| n.has_tag_name("score-part")) {
        let Some(id) = sp.attribute("id") else { continue };
        let mut info = PartInfo {
            name: child_text(sp, "part-name").unwrap_or_default().to_owned(),
            ..PartInfo::default()
        };
        for mi in sp.children().filter(|n| n.has_tag_name("midi-instrument")) {
            let num = |name: &str| child_text(mi, name).and_then(|t| t.parse::<f64>().ok());
            if let Some(p) = num("midi-program") {
                if info.program.is_none() && (1.0..=128.0).contains(&p) {
                    info.program = Some(p as u8 - 1);
                }
            }
            if let Some(c) = num("midi-channel") {
                if info.channel.is_none() && (1.0..=16.0).contains(&c) {
                    info.channel = Some(c as u8 - 1);
                }
            }
            if let Some(u) = num("midi-unpitched") {
                if (1.0..=128.0).contains(&u) {
                    let key = u as u8 - 1;
                    info.default_unpitched.get_or_insert(key);
                    if let Some(iid) = mi.attribute("id") {
                        info.unpitched.insert(iid.to_owned(), key);
                    }
                }
            }
        }
        out.insert(id.to_owned(), info);
    }
    out
}

/// A measure of one part: the element holding the measure's attributes
/// (`number`, `implicit`) and the element holding its music (the same
/// `<measure>` in partwise documents, the `<part>` inside it in timewise ones).
#[derive(Clone, Copy)]
struct MeasureRef<'a, 'i> {
    head: Node<'a, 'i>,
    body: Node<'a, 'i>,
}

type PartMeasures<'a, 'i> = Vec<(String, Vec<MeasureRef<'a, 'i>>)>;

fn measures_by_part<'a, 'i>(root: Node<'a, 'i>, timewise: bool) -> PartMeasures<'a, 'i> {
    let mut parts: PartMeasures = Vec::new();
    if !timewise {
        for (i, p) in root.children().filter(|n| n.has_tag_name("part")).enumerate() {
            let id = p.attribute("id").map_or_else(|| format!("#{}", i + 1), str::to_owned);
            let ms = p
                .children()
                .filter(|n| n.has_tag_name("measure"))
                .map(|m| MeasureRef { head: m, body: m })
                .collect();
            parts.push((id, ms));
        }
        return parts;
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    for m in root.children().filter(|n| n.has_tag_name("measure")) {
        for (i, p) in m.children().filter(|n| n.has_tag_name("part")).enumerate() {
            let id = p.attribute("id").map_or_else(|| format!("#{}", i + 1), str::to_owned);
            let k = *index.entry(id.clone()).or_insert_with(|| {
                parts.push((id, Vec::new()));
                parts.len() - 1
            });
            parts[k].1.push(MeasureRef { head: m, body: p });
        }
    }
    parts
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

fn child_text<'a>(n: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(n, name).and_then(|c| c.text()).map(str::trim)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn lcm(a: u64, b: u64) -> u64 {
    (a / gcd(a, b)).saturating_mul(b)
}

/// Quarter-note length of a `<type>` name (for metronome beat units).
fn type_quarters(name: &str) -> Option<f64> {
    Some(match name {
        "maxima" => 32.0,
        "long" => 16.0,
        "breve" => 8.0,
        "whole" => 4.0,
        "half" => 2.0,
        "quarter" => 1.0,
        "eighth" => 0.5,
        "16th" => 0.25,
        "32nd" => 0.125,
        "64th" => 0.0625,
        "128th" => 0.03125,
        _ => return None,
    })
}

const STEPS: [(&str, i32); 7] = [("C", 0), ("D", 2), ("E", 4), ("F", 5), ("G", 7), ("A", 9), ("B", 11)];

fn step_class(step: &str) -> Option<i32> {
    STEPS.iter().find(|(s, _)| *s == step).map(|&(_, c)| c)
}

struct Reader<'a, 'i> {
    doc: &'a Document<'i>,
    warnings: Vec<Warning>,
    strict: bool,
    opts: ReadOptions,
    tpq: u16,
}

/// The place of an element, in words, for errors and warnings.
struct Place<'p> {
    part: &'p str,
    name: &'p str,
    measure: String,
}

impl<'a, 'i> Reader<'a, 'i> {
    fn warn(&mut self, part: Option<usize>, offset: usize, message: impl Into<String>) -> Result<()> {
        let w = Warning {
            at: Location { track: part, offset },
            message: message.into(),
        };
        if self.strict {
            return Err(ScoreError::Strict { path: None, warning: w });
        }
        self.warnings.push(w);
        Ok(())
    }

    fn line(&self, n: Node) -> u32 {
        self.doc.text_pos_at(n.range().start).row
    }

    fn describe(&self, at: &Place, n: Node) -> String {
        let part = if at.name.is_empty() {
            format!("part {}", at.part)
        } else {
            format!("part {} ({})", at.part, at.name)
        };
        format!(
            "{part}, measure {}, <{}> (line {})",
            at.measure,
            n.tag_name().name(),
            self.line(n)
        )
    }

    /// Ticks per quarter: the least common multiple of 480 and every
    /// `<divisions>` value, so that every duration is an exact tick count;
    /// when that does not fit MIDI's 16 bits, the multiple of the divisions
    /// alone, and failing that 480 (durations then round, with a warning).
    fn resolution(&mut self, root: Node) -> Result<u16> {
        let mut all = 1u64;
        let mut any = false;
        for d in root.descendants().filter(|n| n.has_tag_name("divisions")) {
            let Some(v) = d.text().and_then(|t| t.trim().parse::<f64>().ok()) else {
                continue;
            };
            if v >= 1.0 && v.fract() == 0.0 && v < 1e9 {
                all = lcm(all, v as u64);
                any = true;
            }
        }
        let with_480 = lcm(all, 480);
        if with_480 <= u64::from(u16::MAX) {
            Ok(with_480 as u16)
        } else if any && all <= u64::from(u16::MAX) {
            Ok(all as u16)
        } else {
            self.warn(
                None,
                0,
                format!("the divisions of this file need {all} ticks per quarter, over MIDI's 65535; using 480 and rounding durations"),
            )?;
            Ok(480)
        }
    }

    /// A `<duration>`-like count of divisions in ticks.
    fn ticks(&mut self, pi: usize, at: &Place, n: Node, value: f64, divisions: f64) -> Result<i64> {
        let exact = value * f64::from(self.tpq) / divisions;
        if !exact.is_finite() || exact.abs() > MAX_SPAN as f64 {
            let place = self.describe(at, n);
            self.warn(
                Some(pi),
                n.range().start,
                format!("{place}: {value} divisions is longer than the reader allows; taken as 0"),
            )?;
            return Ok(0);
        }
        let t = exact.round();
        if (exact - t).abs() > 1e-6 {
            let place = self.describe(at, n);
            self.warn(
                Some(pi),
                n.range().start,
                format!("{place}: {value} divisions is not a whole number of ticks; rounded"),
            )?;
        }
        Ok(t as i64)
    }

    /// The `<duration>` child of `n`, in ticks; `None` (with a warning) when
    /// missing or unreadable.
    fn duration(&mut self, pi: usize, at: &Place, n: Node, div: Option<f64>) -> Result<Option<i64>> {
        let Some(d) = child(n, "duration") else {
            let place = self.describe(at, n);
            self.warn(Some(pi), n.range().start, format!("{place}: no <duration>; ignored"))?;
            return Ok(None);
        };
        let Some(v) = d
            .text()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
        else {
            let place = self.describe(at, d);
            self.warn(Some(pi), d.range().start, format!("{place}: not a duration; ignored"))?;
            return Ok(None);
        };
        let Some(div) = div else {
            return Err(fatal(
                self.describe(at, n),
                "a duration comes before any <divisions> (the part never says how many divisions make a quarter)",
            ));
        };
        Ok(Some(self.ticks(pi, at, d, v, div)?))
    }

    fn part(&mut self, pi: usize, id: &str, info: &PartInfo, measures: &[MeasureRef]) -> Result<PartData> {
        let mut out = PartData {
            label: if info.name.is_empty() {
                id.to_owned()
            } else {
                format!("{id} ({})", info.name)
            },
            name: info.name.clone(),
            program: info.program,
            channel: info.channel,
            is_drum: info.channel == Some(9),
            measures: Vec::with_capacity(measures.len()),
        };
        let mut divisions: Option<f64> = None;
        let mut velocity: u8 = 64;
        let mut transpose: i32 = 0;
        for m in measures {
            let mut md = MeasureData {
                number: m.head.attribute("number").unwrap_or("?").to_owned(),
                ..MeasureData::default()
            };
            let at = Place {
                part: id,
                name: &info.name,
                measure: md.number.clone(),
            };
            let mut pos: i64 = 0;
            let mut last_onset: i64 = 0;
            for e in m.body.children().filter(|n| n.is_element()) {
                match e.tag_name().name() {
                    "attributes" => {
                        self.attributes(pi, &at, e, pos, &mut divisions, &mut transpose, &mut md)?;
                    }
                    "backup" | "forward" => {
                        if let Some(t) = self.duration(pi, &at, e, divisions)? {
                            pos = pos
                                .saturating_add(if e.has_tag_name("backup") { -t } else { t })
                                .min(MAX_SPAN);
                            if pos < 0 {
                                let place = self.describe(&at, e);
                                self.warn(
                                    Some(pi),
                                    e.range().start,
                                    format!("{place}: backs up before the measure start; clamped"),
                                )?;
                                pos = 0;
                            }
                        }
                    }
                    "direction" => {
                        let shift = self.offset(pi, &at, e, divisions)?;
                        for s in e.children().filter(|n| n.has_tag_name("sound")) {
                            self.sound(s, pos + shift, &mut velocity, &mut md);
                        }
                        if !e
                            .children()
                            .any(|s| s.has_tag_name("sound") && s.attribute("tempo").is_some())
                        {
                            if let Some(qpm) = metronome(e) {
                                md.tempos.push((pos + shift, qpm));
                            }
                        }
                    }
                    "sound" => self.sound(e, pos, &mut velocity, &mut md),
                    "harmony" => {
                        let shift = self.offset(pi, &at, e, divisions)?;
                        if let Some(h) = harmony(e) {
                            md.harmonies.push((pos + shift, h));
                        }
                    }
                    "barline" => barline(e, &mut md),
                    "note" => {
                        let note = self.note(pi, &at, e, info, divisions, velocity, transpose, pos, last_onset)?;
                        if let Some((n, advance)) = note {
                            if !n.chord {
                                last_onset = n.onset;
                            }
                            if has_fermata(e) {
                                md.fermatas.push(n.onset);
                            }
                            pos = pos.saturating_add(advance).min(MAX_SPAN);
                            if let Some(n) = n.note {
                                out.is_drum |= n.unpitched;
                                md.notes.push(n);
                            }
                        }
                    }
                    _ => {}
                }
                md.length = md.length.max(pos);
            }
            out.measures.push(md);
        }
        Ok(out)
    }

    /// A direction's or harmony's `<offset>` (in divisions), in ticks.
    fn offset(&mut self, pi: usize, at: &Place, e: Node, div: Option<f64>) -> Result<i64> {
        let Some(o) = child(e, "offset") else { return Ok(0) };
        let (Some(v), Some(div)) = (o.text().and_then(|t| t.trim().parse::<f64>().ok()), div) else {
            return Ok(0);
        };
        if !v.is_finite() {
            return Ok(0);
        }
        self.ticks(pi, at, o, v, div)
    }

    fn sound(&self, s: Node, pos: i64, velocity: &mut u8, md: &mut MeasureData) {
        if let Some(t) = s.attribute("tempo").and_then(|t| t.trim().parse::<f64>().ok()) {
            if t.is_finite() && t > 0.0 && t < 1e7 {
                md.tempos.push((pos, t));
            }
        }
        if let Some(d) = s.attribute("dynamics").and_then(|t| t.trim().parse::<f64>().ok()) {
            if d.is_finite() {
                *velocity = dynamics_velocity(d);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn attributes(
        &mut self,
        pi: usize,
        at: &Place,
        e: Node,
        pos: i64,
        divisions: &mut Option<f64>,
        transpose: &mut i32,
        md: &mut MeasureData,
    ) -> Result<()> {
        if let Some(d) = child(e, "divisions") {
            match d.text().and_then(|t| t.trim().parse::<f64>().ok()) {
                Some(v) if v.is_finite() && v > 0.0 => *divisions = Some(v),
                _ => {
                    return Err(fatal(
                        self.describe(at, d),
                        "<divisions> is not a positive number of divisions per quarter",
                    ))
                }
            }
        }
        if let Some(t) = child(e, "transpose") {
            let chromatic = child_text(t, "chromatic")
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
            let octave = child_text(t, "octave-change")
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
            let total = chromatic.round() + 12.0 * octave.round();
            *transpose = if total.abs() <= 127.0 { total as i32 } else { 0 };
        }
        for k in e.children().filter(|n| n.has_tag_name("key")) {
            if let Some(f) = child_text(k, "fifths").and_then(|v| v.parse::<i32>().ok()) {
                let minor = child_text(k, "mode").is_some_and(|m| m.eq_ignore_ascii_case("minor"));
                md.keys.push((pos, f.clamp(-7, 7) as i8, minor));
            }
        }
        if let Some(t) = child(e, "time") {
            if child(t, "senza-misura").is_none() {
                let beats = child_text(t, "beats").map(|b| {
                    b.split('+')
                        .map(|x| x.trim().parse::<u32>().ok())
                        .try_fold(0u32, |a, x| x.map(|x| a.saturating_add(x)))
                });
                let beat_type = child_text(t, "beat-type").and_then(|b| b.parse::<u32>().ok());
                match (beats, beat_type) {
                    (Some(Some(n)), Some(d)) if (1..=255).contains(&n) && (1..=255).contains(&d) => {
                        md.times.push((pos, n as u8, d as u8));
                    }
                    _ => {
                        let place = self.describe(at, t);
                        self.warn(
                            Some(pi),
                            t.range().start,
                            format!("{place}: unreadable time signature; ignored"),
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// One `<note>`: the note (if it sounds) and how far it moves the cursor.
    #[allow(clippy::too_many_arguments)]
    fn note(
        &mut self,
        pi: usize,
        at: &Place,
        e: Node,
        info: &PartInfo,
        div: Option<f64>,
        velocity: u8,
        transpose: i32,
        pos: i64,
        last_onset: i64,
    ) -> Result<Option<(NoteOut, i64)>> {
        let chord = child(e, "chord").is_some();
        let grace = child(e, "grace").is_some();
        let onset = if chord { last_onset } else { pos };
        let duration = if grace {
            0
        } else {
            match self.duration(pi, at, e, div)? {
                Some(d) => d,
                None => return Ok(None),
            }
        };
        let advance = if chord || grace { 0 } else { duration };
        let mut out = NoteOut {
            onset,
            chord,
            note: None,
        };
        if child(e, "rest").is_some() || child(e, "cue").is_some() || (grace && self.opts.grace == GraceNotes::Drop) {
            // Grace notes never become a chord's reference onset.
            out.chord = out.chord || grace;
            return Ok(Some((out, advance)));
        }
        let (pitch, unpitched) = if let Some(p) = child(e, "pitch") {
            let step = child_text(p, "step").and_then(step_class);
            let octave = child_text(p, "octave").and_then(|o| o.parse::<i32>().ok());
            let alter = child_text(p, "alter")
                .and_then(|a| a.parse::<f64>().ok())
                .unwrap_or(0.0);
            let (Some(step), Some(octave)) = (step, octave) else {
                let place = self.describe(at, p);
                self.warn(
                    Some(pi),
                    p.range().start,
                    format!("{place}: unreadable pitch; note dropped"),
                )?;
                return Ok(Some((out, advance)));
            };
            if alter.fract() != 0.0 {
                let place = self.describe(at, p);
                self.warn(
                    Some(pi),
                    p.range().start,
                    format!("{place}: microtonal <alter> {alter} rounded to a semitone"),
                )?;
            }
            let alter = if alter.is_finite() {
                alter.round().clamp(-12.0, 12.0) as i32
            } else {
                0
            };
            let octave = octave.clamp(-10, 20);
            ((octave + 1) * 12 + step + alter + transpose, false)
        } else if let Some(u) = child(e, "unpitched") {
            let by_instrument = child(e, "instrument")
                .and_then(|i| i.attribute("id"))
                .and_then(|id| info.unpitched.get(id).copied());
            match by_instrument.or(info.default_unpitched) {
                Some(k) => (i32::from(k), true),
                None => {
                    let step = child_text(u, "display-step").and_then(step_class);
                    let octave = child_text(u, "display-octave").and_then(|o| o.parse::<i32>().ok());
                    let place = self.describe(at, u);
                    self.warn(
                        Some(pi),
                        u.range().start,
                        format!("{place}: no <midi-unpitched> for this percussion note; using its displayed position"),
                    )?;
                    match (step, octave) {
                        (Some(s), Some(o)) => ((o.clamp(-10, 20) + 1) * 12 + s, true),
                        _ => return Ok(Some((out, advance))),
                    }
                }
            }
        } else {
            let place = self.describe(at, e);
            self.warn(
                Some(pi),
                e.range().start,
                format!("{place}: no <pitch>, <unpitched> or <rest>; ignored"),
            )?;
            return Ok(Some((out, advance)));
        };
        let Ok(pitch) = u8::try_from(pitch)
            .map_err(|_| ())
            .and_then(|p| if p <= 127 { Ok(p) } else { Err(()) })
        else {
            let place = self.describe(at, e);
            self.warn(
                Some(pi),
                e.range().start,
                format!("{place}: pitch {pitch} is outside MIDI's 0..=127; dropped"),
            )?;
            return Ok(Some((out, advance)));
        };
        let velocity = e
            .attribute("dynamics")
            .and_then(|d| d.trim().parse::<f64>().ok())
            .filter(|d| d.is_finite())
            .map_or(velocity, dynamics_velocity);
        let mut tie_start = false;
        let mut tie_stop = false;
        let ties: Vec<Node> = e.children().filter(|n| n.has_tag_name("tie")).collect();
        let tied: Vec<Node> = e
            .children()
            .filter(|n| n.has_tag_name("notations"))
            .flat_map(|n| n.children().filter(|c| c.has_tag_name("tied")))
            .collect();
        for t in if ties.is_empty() { &tied } else { &ties } {
            match t.attribute("type") {
                Some("start") => tie_start = true,
                Some("stop") => tie_stop = true,
                Some("continue") => {
                    tie_start = true;
                    tie_stop = true;
                }
                _ => {}
            }
        }
        let lyrics = e
            .children()
            .filter(|n| n.has_tag_name("lyric"))
            .filter_map(|l| {
                let text: Vec<&str> = l
                    .children()
                    .filter(|t| t.has_tag_name("text"))
                    .filter_map(|t| t.text())
                    .collect();
                if text.is_empty() {
                    return None;
                }
                let verse = l
                    .attribute("number")
                    .and_then(|n| n.trim().parse::<u32>().ok())
                    .unwrap_or(1);
                Some((verse, text.join(" ")))
            })
            .collect();
        let duration = if grace {
            i64::from(self.tpq / 8).max(1)
        } else {
            duration
        };
        out.note = Some(RawNote {
            onset,
            duration,
            pitch,
            velocity,
            tie_start: tie_start && !grace,
            tie_stop: tie_stop && !grace,
            unpitched,
            at: e.range().start,
            lyrics,
        });
        if grace {
            out.chord = true;
        }
        Ok(Some((out, advance)))
    }
}

struct NoteOut {
    onset: i64,
    /// The note does not set the onset that following `<chord/>` notes share.
    chord: bool,
    note: Option<RawNote>,
}

/// MusicXML dynamics are a percentage of the MIDI forte velocity, 90.
fn dynamics_velocity(d: f64) -> u8 {
    (d * 0.9).round().clamp(1.0, 127.0) as u8
}

/// A metronome mark's quarters per minute: `per-minute` × the beat unit's
/// length in quarters (dots included). Metric modulations (two beat units)
/// give `None`.
fn metronome(direction: Node) -> Option<f64> {
    let m = direction.descendants().find(|n| n.has_tag_name("metronome"))?;
    let units: Vec<Node> = m.children().filter(|n| n.has_tag_name("beat-unit")).collect();
    if units.len() != 1 {
        return None;
    }
    let mut q = type_quarters(units[0].text()?.trim())?;
    let dots = m.children().filter(|n| n.has_tag_name("beat-unit-dot")).count();
    let mut add = q;
    for _ in 0..dots.min(4) {
        add /= 2.0;
        q += add;
    }
    let pm = child_text(m, "per-minute")?;
    let digits: String = pm
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let per_minute = digits.parse::<f64>().ok().filter(|v| *v > 0.0 && v.is_finite())?;
    Some(per_minute * q).filter(|qpm| *qpm < 1e7)
}

fn harmony(e: Node) -> Option<Harmony> {
    let root = child(e, "root")?;
    let step = child_text(root, "root-step").and_then(step_class)?;
    let alter = child_text(root, "root-alter")
        .and_then(|a| a.parse::<f64>().ok())
        .unwrap_or(0.0);
    let kind_node = child(e, "kind");
    let kind = kind_node.and_then(|k| k.text()).map_or("major", str::trim).to_owned();
    let bass = child(e, "bass").and_then(|b| {
        let s = child_text(b, "bass-step").and_then(step_class)?;
        let a = child_text(b, "bass-alter")
            .and_then(|a| a.parse::<f64>().ok())
            .unwrap_or(0.0);
        Some((s + a.round().clamp(-2.0, 2.0) as i32).rem_euclid(12) as u8)
    });
    let root_pc = (step + alter.round().clamp(-2.0, 2.0) as i32).rem_euclid(12) as u8;
    let label_kind = kind_node.and_then(|k| k.attribute("text")).map(str::to_owned);
    let root_name = format!(
        "{}{}",
        child_text(root, "root-step").unwrap_or("?"),
        match alter.round() as i32 {
            -2 => "bb",
            -1 => "b",
            1 => "#",
            2 => "##",
            _ => "",
        }
    );
    Some(Harmony {
        root: root_pc,
        kind,
        bass,
        label: format!("{root_name}{}", label_kind.unwrap_or_default()),
    })
}

/// Whether a `<note>` carries `<notations><fermata/></notations>`.
fn has_fermata(note: Node) -> bool {
    note.children()
        .filter(|n| n.has_tag_name("notations"))
        .any(|n| n.children().any(|c| c.has_tag_name("fermata")))
}

fn barline(e: Node, md: &mut MeasureData) {
    if child(e, "fermata").is_some() {
        // A fermata over a barline: at the measure's start or end; one over
        // a mid-measure barline (`location="middle"`) is ignored.
        match e.attribute("location").unwrap_or("right") {
            "left" => md.fermata_at_start = true,
            "right" => md.fermata_at_end = true,
            _ => {}
        }
    }
    if let Some(r) = child(e, "repeat") {
        match r.attribute("direction") {
            Some("forward") => md.forward_repeat = true,
            Some("backward") => {
                let times = r
                    .attribute("times")
                    .and_then(|t| t.trim().parse::<u32>().ok())
                    .unwrap_or(2);
                md.backward_repeat = Some(times.clamp(1, 16));
            }
            _ => {}
        }
    }
    if let Some(end) = child(e, "ending") {
        let numbers: Vec<u32> = end
            .attribute("number")
            .unwrap_or("")
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse::<u32>().ok())
            .collect();
        match end.attribute("type") {
            Some("start") => md.ending_start = Some(numbers),
            Some("stop") | Some("discontinue") => md.ending_stop = true,
            _ => {}
        }
    }
}
