//! Fermatas from MusicXML into SATB grids: the Bach chorales of
//! `../shared/data/bach_chorales_musicxml` (skipped when absent) read with
//! their fermatas as `fermata` markers, and the grids built from them flag
//! every step of each fermata chord (as DeepBach and BachBot do), the last
//! chord of the piece included.

use fugue_score::musicxml::{read_musicxml_file, ReadOptions};
use fugue_tokens::chorale::{SatbGrid, FERMATA_MARKER, VOICE_NAMES};
use std::path::{Path, PathBuf};

fn chorales() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bach_chorales_musicxml");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("skipped: {} is absent", dir.display());
        return None;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "mxl" || e == "xml"))
        .collect();
    files.sort();
    Some(files)
}

#[test]
fn the_reader_and_the_grid_share_the_fermata_marker() {
    assert_eq!(fugue_score::musicxml::FERMATA_MARKER, FERMATA_MARKER);
}

#[test]
fn chorale_grids_have_fermatas_at_the_phrase_ends() {
    let Some(files) = chorales() else { return };
    let (mut satb, mut with, mut steps, mut on_onset) = (0usize, 0usize, 0usize, 0usize);
    let (mut starts_on_onset, mut spans, mut end_flagged) = (0usize, 0usize, 0usize);
    for f in &files {
        let score = read_musicxml_file(f, &ReadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .score;
        let names: Vec<&str> = score.tracks.iter().map(|t| t.name.as_str()).collect();
        if names != VOICE_NAMES {
            continue;
        }
        satb += 1;
        let (g, report) = SatbGrid::from_score(&score, 4).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        g.validate().unwrap();
        // Every marker the reader makes is a fermata: none is dropped.
        assert!(
            !report.warnings.iter().any(|w| w.contains("markers dropped")),
            "{}: {:?}",
            f.display(),
            report.warnings
        );
        let flagged: Vec<usize> = (0..g.len()).filter(|&s| g.fermatas[s]).collect();
        with += usize::from(!flagged.is_empty());
        steps += flagged.len();
        // Each span starts where a chord starts, and lasts beyond that step
        // (a fermata chord is longer than a sixteenth).
        for (i, &t) in flagged.iter().enumerate() {
            if i == 0 || flagged[i - 1] + 1 != t {
                spans += 1;
                starts_on_onset += usize::from(g.onsets[t].iter().any(|&o| o));
            }
        }
        on_onset += flagged.iter().filter(|&&t| g.onsets[t].iter().any(|&o| o)).count();
        // Back to a score and again: the same flags.
        let (again, _) = SatbGrid::from_score(&g.to_score(), 4).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.fermatas, g.fermatas, "{}", f.display());
        let Some(last) = (0..g.len()).rev().find(|&t| g.steps[t].iter().any(Option::is_some)) else {
            continue;
        };
        end_flagged += usize::from(g.fermatas[last]);
    }
    println!(
        "{satb} SATB chorales: {with} have fermatas ({spans} spans of {steps} steps, {starts_on_onset} \
         spans start on an onset, {on_onset} steps are onsets); the last sounding step is flagged in {end_flagged}"
    );
    assert!(satb >= 300, "{satb}");
    assert!(with * 100 >= satb * 98, "{with} of {satb}");
    assert!(starts_on_onset * 100 >= spans * 99, "{starts_on_onset} of {spans}");
    assert!(
        steps >= spans * 2,
        "{steps} steps in {spans} spans: the spans are not held"
    );
    assert!(end_flagged * 100 >= satb * 95, "{end_flagged} of {satb}");
}
