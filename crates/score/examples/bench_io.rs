//! Per-file MIDI read and write times, for `bench/midi_io_speed.py`.
//!
//! ```sh
//! cargo run --release -p fugue-score --example bench_io -- --repeat 5 --json FILE...
//! cargo run --release -p fugue-score --example bench_io -- --repeat 5 --json --list paths.txt
//! ```
//! Read = read the file from disk and parse it into a `Score<Tick>` (what
//! `symusic.Score(path)` does). Write = encode the score and write it to a
//! file in a temporary folder (under /dev/shm when present), without fsync —
//! as the peers do. Each figure is the minimum over `--repeat` runs; one
//! thread. Prints `{"files": [{"path", "read_us", "write_us", "notes"}]}`.

use fugue_score::midi::{read_midi, write_midi, MidiFormat, ReadOptions};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut repeat, mut files) = (5usize, Vec::<String>::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repeat" => repeat = args.next().and_then(|v| v.parse().ok()).unwrap_or(5).max(1),
            "--json" => {}
            "--list" => {
                let list = args.next().expect("--list needs a file");
                let text = std::fs::read_to_string(&list).expect("cannot read the --list file");
                files.extend(text.lines().filter(|l| !l.is_empty()).map(String::from));
            }
            _ => files.push(a),
        }
    }
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").expect("temp dir")
    } else {
        tempfile::tempdir().expect("temp dir")
    };
    let out = dir.path().join("out.mid");
    let opts = ReadOptions::default();
    let mut rows = Vec::new();
    for f in &files {
        let (mut best_r, mut best_w, mut notes) = (f64::MAX, f64::MAX, 0);
        for _ in 0..repeat {
            let t = Instant::now();
            let bytes = match std::fs::read(f) {
                Ok(b) => b,
                Err(e) => panic!("{f}: {e}"),
            };
            let score = match read_midi(&bytes, &opts) {
                Ok(r) => r.score,
                Err(e) => {
                    eprintln!("skipped {f}: {e}");
                    break;
                }
            };
            best_r = best_r.min(t.elapsed().as_secs_f64() * 1e6);
            notes = score.note_count();
            let t = Instant::now();
            let encoded = write_midi(&score, MidiFormat::Type1).expect("writable");
            std::fs::write(&out, &encoded).expect("write");
            best_w = best_w.min(t.elapsed().as_secs_f64() * 1e6);
        }
        if best_r < f64::MAX {
            let path = serde_json::to_string(f).expect("a string serializes");
            rows.push(format!(
                "{{\"path\": {path}, \"read_us\": {best_r:.3}, \"write_us\": {best_w:.3}, \"notes\": {notes}}}"
            ));
        }
    }
    println!("{{\"files\": [{}]}}", rows.join(",\n"));
}
