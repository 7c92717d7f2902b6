//! `fugue metrics`: muspy's symbolic-music metrics for a file or a folder,
//! and the comparison of a folder with a reference folder (Yang & Lerch).
//!
//! One file: a table, or with `--json` the object of `fugue_eval::MetricSet`
//! (muspy's metric names). A folder (searched recursively for the files fugue
//! reads): mean, standard deviation and count of each metric over the files,
//! and with `--json` every file's metrics too. `--reference DIR` adds, per
//! metric, the reference's figures and the overlapping area and KL
//! divergence between the two sets. `--png` draws each metric's histogram
//! (generated and reference overlaid). Files that fail to read are reported
//! on stderr and left out; files are read on every core.

use crate::cmd::{kind_of, load, ReadArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use fugue_eval::distribution::{compare, mean_std, Comparison};
use fugue_eval::{MetricSet, METRIC_NAMES};
use fugue_score::io::write_atomic;
use plotters::prelude::*;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// A music file, or a folder searched recursively for them.
    pub input: PathBuf,
    /// A folder (or file) of reference music to compare with.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also draw the metrics' histograms into this PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Replace the PNG if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Every readable music file under `dir`, sorted.
fn music_files(root: &Path) -> Result<Vec<PathBuf>> {
    if !root.is_dir() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for e in entries {
            let p = e.with_context(|| format!("cannot list {}", dir.display()))?.path();
            if p.is_dir() {
                stack.push(p);
            } else if kind_of(&p).is_ok() {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Serialize)]
struct FileMetrics {
    file: String,
    metrics: MetricSet,
}

/// The metrics of every file, computed on all cores; failures are printed.
fn measure(files: &[PathBuf], read: &ReadArgs) -> Vec<FileMetrics> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    let mut results: Vec<Option<FileMetrics>> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|f| match load(f, read) {
                            Ok(l) => Some(FileMetrics {
                                file: f.display().to_string(),
                                metrics: MetricSet::of(&l.score),
                            }),
                            Err(e) => {
                                eprintln!("skipped: {e:#}");
                                None
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(v) => results.extend(v),
                Err(_) => eprintln!("skipped: a worker thread failed"),
            }
        }
    });
    results.into_iter().flatten().collect()
}

fn column(set: &[FileMetrics], i: usize) -> Vec<f64> {
    set.iter().map(|f| f.metrics.values()[i].1).collect()
}

#[derive(Serialize)]
struct Summary {
    mean: f64,
    std: f64,
    count: usize,
}

fn summary(set: &[FileMetrics]) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for (i, name) in METRIC_NAMES.iter().enumerate() {
        let col = column(set, i);
        let (mean, std) = mean_std(&col);
        let count = col.iter().filter(|x| x.is_finite()).count();
        m.insert(
            (*name).to_string(),
            serde_json::to_value(Summary { mean, std, count }).unwrap_or_default(),
        );
    }
    m
}

fn fmt(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else {
        format!("{x:.4}")
    }
}

pub fn run(a: MetricsArgs) -> Result<()> {
    if let Some(p) = &a.png {
        if p.extension().is_none_or(|e| !e.eq_ignore_ascii_case("png")) {
            bail!("{}: the picture must be a .png file", p.display());
        }
        if !a.force && p.exists() {
            bail!("{}: already exists (use --force to overwrite)", p.display());
        }
    }
    let single = !a.input.is_dir() && a.reference.is_none();
    if single {
        let loaded = load(&a.input, &a.read)?;
        for w in &loaded.warnings {
            eprintln!("warning: {}: {w}", a.input.display());
        }
        let m = MetricSet::of(&loaded.score);
        let set = [FileMetrics {
            file: a.input.display().to_string(),
            metrics: m.clone(),
        }];
        if let Some(p) = &a.png {
            write_atomic(p, &histograms(&set, None)?, a.force)?;
        }
        let mut out = std::io::stdout().lock();
        if a.json {
            serde_json::to_writer_pretty(&mut out, &m)?;
            writeln!(out)?;
        } else {
            writeln!(out, "file: {}", a.input.display())?;
            for (name, v) in m.values() {
                writeln!(out, "  {name:<26} {}", fmt(v))?;
            }
            writeln!(out, "  {:<26} {}", "measure_resolution", m.measure_resolution)?;
        }
        return Ok(());
    }
    let files = music_files(&a.input)?;
    if files.is_empty() {
        bail!(
            "{}: no music files (.mid, .musicxml, .mxl, .json...)",
            a.input.display()
        );
    }
    let generated = measure(&files, &a.read);
    let reference = match &a.reference {
        Some(r) => {
            let rf = music_files(r)?;
            if rf.is_empty() {
                bail!("{}: no music files (.mid, .musicxml, .mxl, .json...)", r.display());
            }
            Some(measure(&rf, &a.read))
        }
        None => None,
    };
    let comparisons: Option<Vec<Comparison>> = reference.as_ref().map(|r| {
        (0..METRIC_NAMES.len())
            .map(|i| compare(&column(&generated, i), &column(r, i)))
            .collect()
    });
    if let Some(p) = &a.png {
        write_atomic(p, &histograms(&generated, reference.as_deref())?, a.force)?;
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let mut obj = serde_json::Map::new();
        obj.insert("files".into(), serde_json::to_value(&generated)?);
        obj.insert("summary".into(), summary(&generated).into());
        if let (Some(r), Some(c)) = (&reference, &comparisons) {
            obj.insert("reference_files".into(), serde_json::to_value(r)?);
            obj.insert("reference_summary".into(), summary(r).into());
            let mut cm = serde_json::Map::new();
            for (name, c) in METRIC_NAMES.iter().zip(c) {
                cm.insert((*name).to_string(), serde_json::to_value(c)?);
            }
            obj.insert("comparison".into(), cm.into());
        }
        serde_json::to_writer_pretty(&mut out, &obj)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} files read of {} under {}",
        generated.len(),
        files.len(),
        a.input.display()
    )?;
    match (&reference, &comparisons) {
        (Some(r), Some(c)) => {
            writeln!(out, "reference: {} files", r.len())?;
            writeln!(
                out,
                "{:<26} {:>19} {:>19} {:>8} {:>8} {:>8} {:>8}",
                "metric", "generated", "reference", "OA", "KL", "val OA", "val KL"
            )?;
            for (name, c) in METRIC_NAMES.iter().zip(c) {
                writeln!(
                    out,
                    "{name:<26} {:>9}±{:<9} {:>9}±{:<9} {:>8} {:>8} {:>8} {:>8}",
                    fmt(c.generated_mean),
                    fmt(c.generated_std),
                    fmt(c.reference_mean),
                    fmt(c.reference_std),
                    fmt(c.oa),
                    fmt(c.kl),
                    fmt(c.value_oa),
                    fmt(c.value_kl)
                )?;
            }
            writeln!(
                out,
                "OA, KL: Yang & Lerch (reference intra-set vs inter-set distances); val: the values' own densities"
            )?;
        }
        _ => {
            writeln!(out, "{:<26} {:>10} {:>10} {:>6}", "metric", "mean", "std", "files")?;
            for (i, name) in METRIC_NAMES.iter().enumerate() {
                let col = column(&generated, i);
                let (m, s) = mean_std(&col);
                let n = col.iter().filter(|x| x.is_finite()).count();
                writeln!(out, "{name:<26} {:>10} {:>10} {n:>6}", fmt(m), fmt(s))?;
            }
        }
    }
    Ok(())
}

/// A grid of histograms, one per metric (generated in blue, reference in
/// orange), 20 bins over the range of both sets.
fn histograms(generated: &[FileMetrics], reference: Option<&[FileMetrics]>) -> Result<Vec<u8>> {
    let (cols, rows) = (4u32, 4u32);
    let (cw, ch) = (320u32, 200u32);
    let (width, height) = (cols * cw, rows * ch);
    let mut buf = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        for (i, name) in METRIC_NAMES.iter().enumerate() {
            let (cx, cy) = ((i as u32 % cols * cw) as i32, (i as u32 / cols * ch) as i32);
            crate::roll::text(&root, cx + 8, cy + 6, name, RGBColor(30, 30, 30));
            let g: Vec<f64> = column(generated, i).into_iter().filter(|x| x.is_finite()).collect();
            let r: Vec<f64> = reference
                .map(|r| column(r, i).into_iter().filter(|x| x.is_finite()).collect())
                .unwrap_or_default();
            let all = g.iter().chain(&r);
            let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
            if !lo.is_finite() {
                crate::roll::text(&root, cx + 8, cy + 90, "no values", RGBColor(120, 120, 120));
                continue;
            }
            let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
            let bins = 20usize;
            let hist = |v: &[f64]| {
                let mut h = vec![0f64; bins];
                for &x in v {
                    let b = (((x - lo) / (hi - lo)) * bins as f64).floor() as usize;
                    h[b.min(bins - 1)] += 1.0 / v.len() as f64;
                }
                h
            };
            let (hg, hr) = (hist(&g), hist(&r));
            let top = hg.iter().chain(&hr).fold(0f64, |a, &b| a.max(b)).max(1e-9);
            let (left, right, y0, y1) = (cx + 12, cx + cw as i32 - 12, cy + 22, cy + ch as i32 - 22);
            let bw = f64::from(right - left) / bins as f64;
            for (h, color, shift) in [(&hg, RGBColor(60, 110, 200), 0.0), (&hr, RGBColor(230, 140, 40), 0.5)] {
                for (b, v) in h.iter().enumerate() {
                    if *v <= 0.0 {
                        continue;
                    }
                    let x0 = left + ((b as f64 + shift * 0.5) * bw) as i32;
                    let x1 = left + ((b as f64 + 0.5 + shift * 0.5) * bw) as i32;
                    let yt = y1 - (v / top * f64::from(y1 - y0)) as i32;
                    root.draw(&Rectangle::new([(x0, yt), (x1.max(x0 + 1), y1)], color.filled()))?;
                }
            }
            root.draw(&PathElement::new(
                vec![(left, y1), (right, y1)],
                RGBColor(120, 120, 130),
            ))?;
            crate::roll::text(&root, left, y1 + 6, &format!("{lo:.3}"), RGBColor(60, 60, 60));
            let hl = format!("{hi:.3}");
            crate::roll::text(&root, right - 8 * hl.len() as i32, y1 + 6, &hl, RGBColor(60, 60, 60));
        }
        let (lx, ly) = ((2 * cw) as i32 + 12, (3 * ch) as i32 + 40);
        crate::roll::text(&root, lx, ly, "blue: generated (or the file)", RGBColor(60, 110, 200));
        if reference.is_some() {
            crate::roll::text(&root, lx, ly + 14, "orange: reference", RGBColor(230, 140, 40));
        }
        crate::roll::text(
            &root,
            lx,
            ly + 28,
            "bars: share of files, 20 bins",
            RGBColor(60, 60, 60),
        );
        root.present()?;
    }
    let img = image::RgbImage::from_raw(width, height, buf).context("picture buffer has the wrong size")?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageOutputFormat::Png)?;
    Ok(png)
}
