#!/usr/bin/env python3
"""Parity of fugue's MusicXML reader with music21, and reading speed.

For every .mxl/.xml of the Bach chorale corpus:
  * fugue: `fugue convert FILE out.json` (repeats expanded, grace notes dropped,
    ties joined), notes per part in quarters (ticks / ticks_per_quarter, exact);
  * music21: `converter.parse(FILE, forceSource=True)`, `expandRepeats()`
    (the unexpanded score when music21 cannot expand it), then per part
    `stripTies()` and `flatten().notes` without grace notes, chords split into
    pitches, sounding pitch (`toSoundingPitch()`).
A part matches when the multisets of (pitch, onset, duration) are equal
(exact fractions). Prints per-file mismatches, the match rates, and the read
speed of both (fugue: the `bench_musicxml` example, minimum of 3 runs per file;
music21: one `converter.parse` per file, no cache), in the same run.

    pip install music21
    cargo build --release -p fugue-cli -p fugue-score --example bench_musicxml
    python3 bench/music21_parity.py [--data DIR] [--fugue target/release/fugue]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time, warnings
from collections import Counter
from fractions import Fraction
from pathlib import Path

import music21
from music21 import converter

ROOT = Path(__file__).resolve().parent.parent


def fugue_notes(fugue, path, tmp):
    out = Path(tmp) / "score.json"
    subprocess.run([fugue, "convert", str(path), str(out), "--force"], check=True, capture_output=True)
    score = json.loads(out.read_text())
    tpq = score["ticks_per_quarter"]
    parts = []
    for tr in score["tracks"]:
        if tr["name"] == "Chords":
            continue
        parts.append(Counter((n["pitch"], Fraction(n["time"], tpq), Fraction(n["duration"], tpq)) for n in tr["notes"]))
    return parts


def music21_notes(path):
    s = converter.parse(str(path), forceSource=True)
    expanded = True
    try:
        s2 = s.expandRepeats()
    except Exception:
        s2, expanded = s, False
    s2 = s2.toSoundingPitch()
    parts = []
    for p in s2.parts:
        p = p.stripTies()
        c = Counter()
        for n in p.flatten().notes:
            if n.duration.isGrace:
                continue
            on = Fraction(n.offset).limit_denominator(100000)
            d = Fraction(n.quarterLength).limit_denominator(100000)
            for pitch in n.pitches:
                c[(int(round(pitch.ps)), on, d)] += 1
        parts.append(c)
    return parts, expanded


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/bach_chorales_musicxml"))
    ap.add_argument("--fugue", default=str(ROOT / "target/release/fugue"))
    ap.add_argument("--bench", default=str(ROOT / "target/release/examples/bench_musicxml"))
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    files = sorted(p for p in Path(args.data).iterdir() if p.suffix in (".mxl", ".xml"))
    if args.limit:
        files = files[: args.limit]
    n_files = n_ok = n_parts = n_parts_ok = n_notes = n_notes_ok = 0
    not_expanded = []
    m21_times = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            n_files += 1
            ours = fugue_notes(args.fugue, f, tmp)
            t = time.perf_counter()
            converter.parse(str(f), forceSource=True)
            m21_times.append((time.perf_counter() - t) * 1e6)
            theirs, expanded = music21_notes(f)
            if not expanded:
                not_expanded.append(f.name)
            ok = len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                n_parts += 1
                common = sum((a & b).values())
                n_notes += max(sum(a.values()), sum(b.values()))
                n_notes_ok += common
                if a == b:
                    n_parts_ok += 1
                else:
                    ok = False
            if ok:
                n_ok += 1
            else:
                diff = ""
                for i, (a, b) in enumerate(zip(ours, theirs)):
                    if a != b:
                        only_a = sorted((a - b).elements())[:3]
                        only_b = sorted((b - a).elements())[:3]
                        diff = f"part {i}: fugue-only {only_a} music21-only {only_b}"
                        break
                print(f"MISMATCH {f.name}: parts {len(ours)} vs {len(theirs)}; {diff}", file=sys.stderr)
    bench = subprocess.run([args.bench, "--repeat", "3", *map(str, files)], check=True, capture_output=True, text=True)
    fugue_times = [r["read_us"] for r in json.loads(bench.stdout)["files"]]
    med_f, med_m = statistics.median(fugue_times), statistics.median(m21_times)
    print(f"music21 {music21.__version__}; files {n_files}")
    print(f"files matching in every part: {n_ok}/{n_files} ({100 * n_ok / n_files:.2f}%)")
    print(f"parts matching: {n_parts_ok}/{n_parts} ({100 * n_parts_ok / max(n_parts, 1):.2f}%)")
    print(f"notes matching: {n_notes_ok}/{n_notes} ({100 * n_notes_ok / max(n_notes, 1):.3f}%)")
    print(f"music21 could not expand repeats in {len(not_expanded)} files: {not_expanded[:10]}")
    print(f"read time per file, median: fugue {med_f:.0f} us, music21 {med_m:.0f} us, ratio {med_m / med_f:.1f}x")
    print(f"whole corpus: fugue {sum(fugue_times) / 1e6:.3f} s, music21 {sum(m21_times) / 1e6:.3f} s")


if __name__ == "__main__":
    main()
