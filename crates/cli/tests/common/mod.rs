//! Helpers the CLI test binaries share: run the built `fugue`, read its
//! output, spell a path as an argument. Each test binary compiles this
//! module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use fugue_score::midi::{read_midi, write_midi, MidiFormat, ReadOptions};
use fugue_score::{Note, Score, Tick, TimeSignature, Track};

/// Runs the `fugue` binary under test with `args`.
pub fn fugue(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fugue")).args(args).output().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `fugue train --model MODEL --data DATA --config CONFIG --data-root ROOT
/// -o RUN --steps STEPS --quiet`: the small training run the dataset tests
/// start from.
pub fn train_small(model: &str, data: &str, config: &Path, root: &Path, run: &Path, steps: &str) -> Output {
    fugue(&[
        "train",
        "--model",
        model,
        "--data",
        data,
        "--config",
        &s(config),
        "--data-root",
        &s(root),
        "-o",
        &s(run),
        "--steps",
        steps,
        "--quiet",
    ])
}

/// A MIDI file written by the binary, as a score.
pub fn read_score(path: &Path) -> Score<Tick> {
    read_midi(&std::fs::read(path).unwrap(), &ReadOptions::default())
        .unwrap()
        .score
}

/// A one-track melody of (time, duration, pitch) notes at 480 ticks per
/// quarter, in `numerator`/4.
pub fn write_melody(path: &Path, numerator: u8, notes: &[(i64, i64, u8)]) {
    let mut score = Score::<Tick>::new(480);
    score.time_signatures.push(TimeSignature::new(0, numerator, 4));
    let mut t = Track::new("melody", 0, 0);
    for &(time, duration, pitch) in notes {
        t.notes.push(Note::new(time, duration, pitch, 90));
    }
    score.tracks.push(t);
    std::fs::write(path, write_midi(&score, MidiFormat::Type1).unwrap()).unwrap();
}

/// A harmonization's tracks are soprano, alto, tenor, bass, and the
/// soprano is `melody`, note for note.
pub fn assert_satb_keeps_soprano(score: &Score<Tick>, melody: &[(i64, i64, u8)]) {
    let names: Vec<&str> = score.tracks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Soprano", "Alto", "Tenor", "Bass"]);
    let soprano: Vec<(i64, i64, u8)> = score.tracks[0]
        .notes
        .iter()
        .map(|n| (n.time, n.duration, n.pitch))
        .collect();
    assert_eq!(soprano, melody, "the soprano is the melody, note for note");
}

/// `fugue generate --model RUN -o OUT --seed SEED` with the length
/// arguments `length` (e.g. `["--seconds", "4"]`), overwriting with `force`.
pub fn generate_from(run: &Path, out: &Path, length: [&str; 2], seed: &str, force: bool) -> Output {
    let (run, out) = (s(run), s(out));
    let mut args = vec![
        "generate", "--model", &run, "-o", &out, length[0], length[1], "--seed", seed,
    ];
    if force {
        args.push("--force");
    }
    fugue(&args)
}
