#!/usr/bin/env python3
"""Parity of fugue's metrics (`fugue metrics FILE --json`) with muspy's, and speed.

Two corpora:
  * POP909 (MIDI): muspy reads each NNN.mid itself (`muspy.read_midi`, mido
    backend, resolution = the file's ticks per beat, as fugue's).
  * The Bach chorales (MusicXML): muspy's own MusicXML reader lays measures
    out differently from music21 and fugue (grace notes kept, measures advanced
    by the last cursor position...), so to compare the *metrics* both sides
    take the same notes: fugue's reading of the file (`fugue convert FILE
    x.json`), loaded into a `muspy.Music` (resolution = ticks per quarter).
    As a side figure, muspy's own `read_musicxml` is compared too.
Every metric is compared within 1e-6 (NaN equals NaN); measure-based metrics
use the `measure_resolution` fugue reports, pitch_in_scale_rate the first key
signature, drum_in_pattern_rate the meter of the first time signature.

Speed (same run): fugue `metrics DIR --json` over POP909 on one core
(`taskset -c 0`) and on all cores, against muspy read_midi + the 14 metrics per
file, one process.

    pip install muspy
    cargo build --release -p fugue-cli
    python3 bench/muspy_parity.py [--pop909 DIR] [--jsb DIR] [--limit N]
"""
import argparse, json, math, os, shutil, statistics, subprocess, sys, tempfile, time, warnings
from pathlib import Path

import muspy

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["pitch_range", "n_pitches_used", "n_pitch_classes_used", "polyphony", "polyphony_rate",
         "pitch_in_scale_rate", "scale_consistency", "pitch_entropy", "pitch_class_entropy",
         "empty_beat_rate", "empty_measure_rate", "groove_consistency", "drum_in_pattern_rate",
         "drum_pattern_consistency"]


def muspy_metrics(music, mr, key, triple):
    m = muspy
    out = {
        "pitch_range": m.pitch_range(music),
        "n_pitches_used": m.n_pitches_used(music),
        "n_pitch_classes_used": m.n_pitch_classes_used(music),
        "polyphony": m.polyphony(music),
        "polyphony_rate": m.polyphony_rate(music),
        "pitch_in_scale_rate": m.pitch_in_scale_rate(music, key[0], key[1]) if key else math.nan,
        "scale_consistency": m.scale_consistency(music),
        "pitch_entropy": m.pitch_entropy(music),
        "pitch_class_entropy": m.pitch_class_entropy(music),
        "empty_beat_rate": m.empty_beat_rate(music),
        "empty_measure_rate": m.empty_measure_rate(music, mr),
        "groove_consistency": m.groove_consistency(music, mr),
        "drum_in_pattern_rate": m.drum_in_pattern_rate(music, "triple" if triple else "duple"),
        "drum_pattern_consistency": m.drum_pattern_consistency(music),
    }
    return {k: float(v) for k, v in out.items()}


def same(a, b):
    a = math.nan if a is None else float(a)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-6


def fugue_json(fugue, path):
    r = subprocess.run([fugue, "metrics", str(path), "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout)


class Tally:
    def __init__(self, name):
        self.name, self.ok, self.n, self.bad = name, {k: 0 for k in NAMES}, 0, {k: [] for k in NAMES}

    def add(self, file, ours, theirs):
        self.n += 1
        for k in NAMES:
            if same(ours[k], theirs[k]):
                self.ok[k] += 1
            else:
                self.bad[k].append((Path(file).name, ours[k], theirs[k]))

    def report(self):
        print(f"\n## {self.name}: {self.n} files")
        print(f"| metric | equal within 1e-6 | rate |")
        print(f"|---|---|---|")
        for k in NAMES:
            print(f"| {k} | {self.ok[k]}/{self.n} | {100 * self.ok[k] / max(self.n, 1):.2f}% |")
        for k in NAMES:
            if self.bad[k]:
                print(f"  {k}: first differences {self.bad[k][:3]}", file=sys.stderr)


def key_of(ks):
    if not ks:
        return None
    k = ks[0]
    if k.root is None or k.mode is None:
        return None
    return (k.root, k.mode)


def music_from_fugue_json(path, tmp, fugue):
    out = Path(tmp) / "s.json"
    subprocess.run([fugue, "convert", str(path), str(out), "--force"], check=True, capture_output=True)
    s = json.loads(out.read_text())
    tracks = []
    for t in s["tracks"]:
        notes = [muspy.Note(time=n["time"], pitch=n["pitch"], duration=n["duration"], velocity=n["velocity"])
                 for n in t["notes"]]
        tracks.append(muspy.Track(program=t["program"], is_drum=t["is_drum"], name=t["name"], notes=notes))
    music = muspy.Music(resolution=s["ticks_per_quarter"], tracks=tracks)
    key = None
    if s["key_signatures"]:
        k = s["key_signatures"][0]
        major = (k["key"] * 7) % 12
        key = ((major + 9) % 12, "minor") if k["minor"] else (major, "major")
    ts = s["time_signatures"]
    triple = bool(ts) and ts[0]["numerator"] % 3 == 0
    return music, key, triple


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pop909", default=str(ROOT.parent / "shared/data/pop909/POP909"))
    ap.add_argument("--jsb", default=str(ROOT.parent / "shared/data/bach_chorales_musicxml"))
    ap.add_argument("--fugue", default=str(ROOT / "target/release/fugue"))
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    pop = sorted(Path(args.pop909).glob("*/[0-9][0-9][0-9].mid"))
    jsb = sorted(p for p in Path(args.jsb).iterdir() if p.suffix in (".mxl", ".xml"))
    if args.limit:
        pop, jsb = pop[: args.limit], jsb[: args.limit]

    t_pop = Tally("POP909 (MIDI; both read the file)")
    muspy_times = []
    for f in pop:
        t = time.perf_counter()
        music = muspy.read_midi(str(f))
        ours = fugue_json(args.fugue, f)
        mr = ours["measure_resolution"]
        triple = bool(music.time_signatures) and music.time_signatures[0].numerator % 3 == 0
        key = key_of(music.key_signatures)
        t = time.perf_counter()
        music = muspy.read_midi(str(f))
        theirs = muspy_metrics(music, mr, key, triple)
        muspy_times.append(time.perf_counter() - t)
        t_pop.add(f, ours, theirs)
    t_pop.report()

    t_jsb = Tally("Bach chorales MusicXML (same notes: fugue's reading loaded into muspy)")
    t_own = Tally("Bach chorales MusicXML (muspy's own read_musicxml; reader differences included)")
    with tempfile.TemporaryDirectory() as tmp:
        for f in jsb:
            ours = fugue_json(args.fugue, f)
            music, key, triple = music_from_fugue_json(f, tmp, args.fugue)
            t_jsb.add(f, ours, muspy_metrics(music, ours["measure_resolution"], key, triple))
            try:
                own = muspy.read_musicxml(str(f))
                # muspy's resolution is the LCM of the divisions; scale fugue's measure length to it.
                mr = ours["measure_resolution"] * own.resolution // music.resolution
                t_own.add(f, ours, muspy_metrics(own, mr, key, triple))
            except Exception as e:  # muspy cannot read some files
                print(f"muspy read_musicxml failed on {f.name}: {e}", file=sys.stderr)
    t_jsb.report()
    t_own.report()

    # Speed over POP909, same run. Put the files in one folder so that fugue reads exactly these.
    with tempfile.TemporaryDirectory() as tmp:
        for f in pop:
            os.symlink(f, Path(tmp) / f.name)
        runs = {}
        for label, prefix in [("fugue, 1 core", ["taskset", "-c", "0"]), ("fugue, all cores", [])]:
            best = math.inf
            for _ in range(3):
                t = time.perf_counter()
                subprocess.run(prefix + [args.fugue, "metrics", tmp, "--json"], check=True, capture_output=True)
                best = min(best, time.perf_counter() - t)
            runs[label] = best
    total_muspy = sum(muspy_times)
    print(f"\n## Speed: read + 14 metrics over {len(pop)} POP909 files (muspy {muspy.__version__})")
    print(f"muspy (read_midi + metrics, one process): {total_muspy:.2f} s, median {1e3 * statistics.median(muspy_times):.1f} ms/file")
    for label, v in runs.items():
        print(f"{label} (`fugue metrics DIR --json`, whole run, best of 3): {v:.3f} s, {total_muspy / v:.1f}x faster")


if __name__ == "__main__":
    main()
