"""Whole-dataset preparation time: `fugue data prepare` vs MidiTok's own
dataset tokenization, same machine, same run.

    pip install miditok symusic
    cargo build --release -p fugue-cli
    python3 bench/prepare_speed.py --fugue target/release/fugue --corpus pop909 [--data ../shared/data]
    python3 bench/prepare_speed.py --fugue target/release/fugue --corpus piano

MidiTok (3.x): `REMI().tokenize_dataset(files, out_dir)` — read every MIDI
file of the set, tokenize it, save its tokens (one JSON file per MIDI file),
which is MidiTok's preparation step; timed with its default process pool
(all cores) and with one worker. fugue: the whole `fugue data prepare NAME
--scheme remi -o OUT` command — start-up, loading the dataset (hashing every
file for de-duplication and the split, parsing POP909's annotations / the
MAESTRO CSV), reading, tokenizing, writing the shards and manifests of the
three splits — with all cores and with `--threads 1`. Both use REMI with
MidiTok's default configuration (fugue's default `BeatConfig` is MidiTok
3.x's). Each timing is the median of --repeat runs; outputs go to /dev/shm.
Token totals are printed for both as a sanity check.
"""
import argparse, contextlib, glob, io, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

CORPORA = {
    "pop909": ("pop909", lambda root: sorted(glob.glob(os.path.join(root, "pop909", "POP909", "*", "*.mid")))),
    "piano": (
        "piano",
        lambda root: sorted(glob.glob(os.path.join(root, "piano_performance_giantmidi_eval", "**", "*.mid"), recursive=True)),
    ),
}


def tmpdir():
    return tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)


def miditok_run(files, workers):
    import miditok

    tok = miditok.REMI()
    out = tmpdir()
    paths = [Path(f) for f in files]
    cpu0 = time.process_time() + children_cpu()
    t = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # MidiTok's tqdm bar
        tok.tokenize_dataset(paths, Path(out), verbose=False, parallel_workers_size=workers)
    dt = time.perf_counter() - t
    cpu = time.process_time() + children_cpu() - cpu0
    tokens = 0
    for p in glob.glob(os.path.join(out, "**", "*.json"), recursive=True):
        ids = json.load(open(p))["ids"]
        tokens += sum(len(s) for s in ids) if ids and isinstance(ids[0], list) else len(ids)
    shutil.rmtree(out)
    return dt, tokens, cpu


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def fugue_run(fugue, name, data, threads):
    out = tmpdir()
    shutil.rmtree(out)
    cpu0 = children_cpu()
    t = time.perf_counter()
    subprocess.run([fugue, "data", "prepare", name, "--scheme", "remi", "-o", out, "--data-root", data, "--quiet", *threads],
                   check=True, capture_output=True)
    dt = time.perf_counter() - t
    cpu = children_cpu() - cpu0
    summary = json.load(open(os.path.join(out, "dataset.json")))
    tokens = sum(s["tokens"] for s in summary["splits"].values())
    shutil.rmtree(out)
    return dt, tokens, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fugue", required=True)
    ap.add_argument("--corpus", default="pop909", choices=list(CORPORA))
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    name, find = CORPORA[a.corpus]
    files = find(a.data)
    import miditok
    import importlib.metadata as md

    miditok.REMI().encode(files[0])  # warm-up (imports, caches)
    rows = []
    cores = os.cpu_count()
    for label, workers in ((f"MidiTok tokenize_dataset ({cores} processes)", 6), ("MidiTok tokenize_dataset (1 process)", 1)):
        runs = [miditok_run(files, workers) for _ in range(a.repeat)]
        rows.append((label, statistics.median(r[0] for r in runs), runs[-1][1], statistics.median(r[2] for r in runs)))
    for label, threads in ((f"fugue data prepare ({cores} threads)", []), ("fugue data prepare (1 thread)", ["--threads", "1"])):
        runs = [fugue_run(a.fugue, name, a.data, threads) for _ in range(a.repeat)]
        rows.append((label, statistics.median(r[0] for r in runs), runs[-1][1], statistics.median(r[2] for r in runs)))
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.1f}; {len(files)} files of {a.corpus}; REMI; "
          f"miditok {md.version('miditok')}, symusic {md.version('symusic')}")
    print("| tool | wall time (s, median of %d) | CPU time (s) | files/s | tokens | wall speed-up vs MidiTok (same cores) | CPU-time ratio |" % a.repeat)
    print("|---|---|---|---|---|---|---|")
    base = {cores: rows[0], 1: rows[1]}
    for label, t, tokens, cpu in rows:
        ref = base[1] if "(1 " in label else base[cores]
        print(f"| {label} | {t:.3f} | {cpu:.2f} | {len(files)/t:.0f} | {tokens} | {ref[1]/t:.0f}x | {ref[3]/cpu:.0f}x |")


if __name__ == "__main__":
    sys.exit(main())
