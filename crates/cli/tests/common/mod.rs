//! Helpers the CLI test binaries share: run the built `fugue`, read its
//! output, spell a path as an argument. Each test binary compiles this
//! module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

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
