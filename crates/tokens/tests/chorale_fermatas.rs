//! Fermatas from MusicXML into SATB grids: the Bach chorales of
//! `../shared/data/bach_chorales_musicxml` (skipped when absent) read with
//! their fermatas as `fermata` markers, and the grids built from them flag
//! the phrase ends, the last chord of the piece included.

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

/// Per step, whether it lies under a fermata: from a fermata step to the end
/// of every note that starts there.
fn under_fermata(g: &SatbGrid) -> Vec<bool> {
    let mut under = vec![false; g.len()];
    for s in (0..g.len()).filter(|&s| g.fermatas[s]) {
        under[s] = true;
        for v in 0..4 {
            if !g.onsets[s][v] {
                continue;
            }
            let mut t = s + 1;
            while t < g.len() && g.steps[t][v].is_some() && !g.onsets[t][v] {
                under[t] = true;
                t += 1;
            }
        }
    }
    under
}

#[test]
fn the_reader_and_the_grid_share_the_fermata_marker() {
    assert_eq!(fugue_score::musicxml::FERMATA_MARKER, FERMATA_MARKER);
}

#[test]
fn chorale_grids_have_fermatas_at_the_phrase_ends() {
    let Some(files) = chorales() else { return };
    let (mut satb, mut with, mut steps, mut on_onset) = (0usize, 0usize, 0usize, 0usize);
    let (mut end_under, mut end_flagged) = (0usize, 0usize);
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
        // A fermata stands on a note or rest: in these chorales, on a note
        // starting in some voice.
        on_onset += flagged.iter().filter(|&&s| g.onsets[s].iter().any(|&o| o)).count();
        let Some(last) = (0..g.len()).rev().find(|&t| g.steps[t].iter().any(Option::is_some)) else {
            continue;
        };
        end_under += usize::from(under_fermata(&g)[last]);
        // The flag itself stands on the last chord's onset, not on every
        // step it lasts.
        end_flagged += usize::from(g.fermatas[last]);
    }
    println!(
        "{satb} SATB chorales: {with} have fermata steps ({steps} in all, {on_onset} on an onset); \
         the last sounding step is under a fermata in {end_under}, itself flagged in {end_flagged}"
    );
    assert!(satb >= 300, "{satb}");
    assert!(with * 100 >= satb * 98, "{with} of {satb}");
    assert!(on_onset * 100 >= steps * 99, "{on_onset} of {steps}");
    assert!(end_under * 100 >= satb * 95, "{end_under} of {satb}");
}
