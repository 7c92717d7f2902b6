//! Per-file MusicXML read times, for `bench/music21_parity.py`.
//!
//! ```sh
//! cargo run --release -p fugue-score --example bench_musicxml -- --repeat 3 FILE...
//! ```
//! Read = read the file from disk, unzip an `.mxl`, parse the XML and build
//! the `Score<Tick>` (ties joined, repeats expanded). Each figure is the
//! minimum over `--repeat` runs; one thread. Prints
//! `{"files": [{"path", "read_us", "notes"}]}`.

use fugue_score::musicxml::{read_musicxml, ReadOptions};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut repeat, mut files) = (3usize, Vec::<String>::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repeat" => repeat = args.next().and_then(|v| v.parse().ok()).unwrap_or(3).max(1),
            _ => files.push(a),
        }
    }
    let mut rows = Vec::new();
    for f in &files {
        let mut best = f64::INFINITY;
        let mut notes = 0;
        for _ in 0..repeat {
            let t = Instant::now();
            let bytes = match std::fs::read(f) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("{f}: {e}");
                    break;
                }
            };
            match read_musicxml(&bytes, &ReadOptions::default()) {
                Ok(r) => notes = r.score.note_count(),
                Err(e) => {
                    eprintln!("{f}: {e}");
                    break;
                }
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e6);
        }
        rows.push(format!(
            "{{\"path\": {f:?}, \"read_us\": {best:.1}, \"notes\": {notes}}}"
        ));
    }
    println!("{{\"files\": [{}]}}", rows.join(", "));
}
