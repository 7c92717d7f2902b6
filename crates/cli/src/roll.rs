//! `fugue roll`: a piano-roll picture of a score.
//!
//! Time runs left to right in seconds (so the picture matches what one hears),
//! pitch bottom to top. Rows of black keys are shaded, every C is labelled,
//! bar lines come from the time-signature map and are numbered, and each
//! track has its own colour, brighter for louder notes. Drawing uses
//! plotters' bitmap backend into memory; labels use the public-domain 8×8
//! font of `font8x8` (no system fonts needed, so the picture looks the same on
//! every machine); the PNG is written atomically.

use crate::cmd::{load, RollArgs};
use anyhow::{bail, Context, Result};
use font8x8::UnicodeFonts;
use fugue_score::io::write_atomic;
use fugue_score::{Score, Tick};
use plotters::prelude::*;

const PALETTE: [(u8, u8, u8); 8] = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (148, 103, 189),
    (255, 127, 14),
    (23, 190, 207),
    (140, 86, 75),
    (227, 119, 194),
];

const NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

pub(crate) fn text<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    x: i32,
    y: i32,
    s: &str,
    c: RGBColor,
) {
    for (i, ch) in s.chars().enumerate() {
        let Some(glyph) = font8x8::BASIC_FONTS.get(ch) else {
            continue;
        };
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    let _ = area.draw_pixel((x + i as i32 * 8 + col, y + row as i32), &c);
                }
            }
        }
    }
}

/// Bar start times in ticks up to `end`, from the time-signature map.
fn bar_ticks(score: &Score<Tick>, end: i64) -> Vec<i64> {
    let tpq = i64::from(score.ticks_per_quarter.max(1));
    let mut sigs: Vec<(i64, i64)> = score
        .time_signatures
        .iter()
        .map(|t| {
            (
                t.time,
                (i64::from(t.numerator) * tpq * 4 / i64::from(t.denominator.max(1))).max(1),
            )
        })
        .collect();
    if sigs.first().is_none_or(|s| s.0 > 0) {
        sigs.insert(0, (0, 4 * tpq));
    }
    let mut bars = Vec::new();
    let mut t = 0;
    let mut k = 0;
    while t <= end && bars.len() < 100_000 {
        while k + 1 < sigs.len() && sigs[k + 1].0 <= t {
            k += 1;
        }
        bars.push(t);
        let next = t + sigs[k].1;
        // A signature change inside a bar starts a new bar there.
        t = match sigs.get(k + 1) {
            Some(s) if s.0 < next => s.0,
            _ => next,
        };
    }
    bars
}

/// Render the picture as PNG bytes.
pub fn render(score: &Score<Tick>, width: u32, height: u32, start: Option<f64>, end: Option<f64>) -> Result<Vec<u8>> {
    if !(200..=20_000).contains(&width) || !(100..=20_000).contains(&height) {
        bail!("picture size {width}x{height} is outside 200..=20000 x 100..=20000");
    }
    let sec = score.to_second();
    let notes: Vec<(usize, &fugue_score::Note<fugue_score::Second>)> = sec
        .tracks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.notes.iter().map(move |n| (i, n)))
        .collect();
    let t0 = start.unwrap_or(0.0).max(0.0);
    let t1 = end.unwrap_or_else(|| sec.end().max(1e-3));
    if t1 <= t0 {
        bail!("--end ({t1}) must be after --start ({t0})");
    }
    let (lo, hi) = notes
        .iter()
        .filter(|(_, n)| n.end() >= t0 && n.time <= t1)
        .fold((127u8, 0u8), |(lo, hi), (_, n)| (lo.min(n.pitch), hi.max(n.pitch)));
    let (lo, hi) = if lo > hi {
        (55, 79)
    } else {
        (lo.saturating_sub(2), hi.saturating_add(2).min(127))
    };

    let mut buf = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right, top, bottom) = (40i32, width as i32 - 8, 22i32, height as i32 - 22);
        let rows = i32::from(hi - lo) + 1;
        let row_h = f64::from(bottom - top) / f64::from(rows);
        let x_of = |t: f64| left + ((t - t0) / (t1 - t0) * f64::from(right - left)).round() as i32;
        let y_of = |p: u8| bottom - ((f64::from(p - lo) + 1.0) * row_h).round() as i32;
        for p in lo..=hi {
            let (y0, y1) = (y_of(p), y_of(p) + row_h.round().max(1.0) as i32);
            if matches!(p % 12, 1 | 3 | 6 | 8 | 10) {
                root.draw(&Rectangle::new(
                    [(left, y0), (right, y1)],
                    RGBColor(236, 236, 240).filled(),
                ))?;
            }
            if p % 12 == 0 {
                root.draw(&PathElement::new(
                    vec![(left, y1), (right, y1)],
                    RGBColor(190, 190, 200),
                ))?;
                if row_h >= 1.0 {
                    let label = format!("{}{}", NAMES[usize::from(p % 12)], i32::from(p) / 12 - 1);
                    text(&root, 2, y1 - 8, &label, RGBColor(60, 60, 60));
                }
            }
        }
        // Bar lines, numbered when they are far enough apart.
        let map = score.tempo_map();
        let end_tick = map.second_to_tick(t1);
        let bars = bar_ticks(score, end_tick);
        let mut last_label = i32::MIN;
        for (i, &b) in bars.iter().enumerate() {
            let t = map.tick_to_second(b);
            if t < t0 || t > t1 {
                continue;
            }
            let x = x_of(t);
            root.draw(&PathElement::new(vec![(x, top), (x, bottom)], RGBColor(205, 205, 215)))?;
            let label = (i + 1).to_string();
            let fits = x + 2 + 8 * label.len() as i32 <= width as i32;
            if i64::from(x) - i64::from(last_label) > 40 && fits {
                text(&root, x + 2, bottom + 4, &label, RGBColor(90, 90, 90));
                last_label = x;
            }
        }
        for (ti, n) in &notes {
            if n.end() < t0 || n.time > t1 || n.pitch < lo || n.pitch > hi {
                continue;
            }
            let (r, g, b) = PALETTE[ti % PALETTE.len()];
            let a = 0.35 + 0.65 * f64::from(n.velocity) / 127.0;
            let mix = |c: u8| (255.0 - (255.0 - f64::from(c)) * a).round() as u8;
            let (x0, x1) = (
                x_of(n.time.max(t0)),
                x_of(n.end().min(t1)).max(x_of(n.time.max(t0)) + 2),
            );
            let (y0, y1) = (y_of(n.pitch), y_of(n.pitch) + row_h.round().max(2.0) as i32 - 1);
            root.draw(&Rectangle::new(
                [(x0, y0), (x1, y1)],
                RGBColor(mix(r), mix(g), mix(b)).filled(),
            ))?;
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], RGBColor(r / 2, g / 2, b / 2)))?;
        }
        root.draw(&Rectangle::new([(left, top), (right, bottom)], RGBColor(120, 120, 130)))?;
        let title = format!(
            "{} tracks, {} notes, {:.1}-{:.1} s",
            score.tracks.len(),
            notes.len(),
            t0,
            t1
        );
        text(&root, left, 6, &title, RGBColor(30, 30, 30));
        root.present()?;
    }
    let img = image::RgbImage::from_raw(width, height, buf).context("picture buffer has the wrong size")?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageOutputFormat::Png)?;
    Ok(png)
}

pub fn run(a: RollArgs) -> Result<()> {
    if a.output.extension().is_none_or(|e| !e.eq_ignore_ascii_case("png")) {
        bail!("{}: the picture must be a .png file", a.output.display());
    }
    if !a.force && a.output.exists() {
        bail!("{}: already exists (use --force to overwrite)", a.output.display());
    }
    let loaded = load(&a.input, &a.read)?;
    for w in &loaded.warnings {
        eprintln!("warning: {}: {w}", a.input.display());
    }
    let png = render(&loaded.score, a.width, a.height, a.start, a.end)?;
    write_atomic(&a.output, &png, a.force)?;
    Ok(())
}
