#!/usr/bin/env python3
"""MIDI read/write speed per file: fugue vs symusic, pretty_midi, miditoolkit, mido (same run, same files).

What is measured, per file and per library:
  read   time to parse the file from disk into the library's object
         (symusic.Score(path), pretty_midi.PrettyMIDI(path), miditoolkit.MidiFile(path),
         mido.MidiFile(path)). All file bytes are read once beforehand, so they come from
         the OS page cache, for every library alike.
  write  time to write that object to a file (score.dump_midi, .write, .dump, .save) in a
         temp dir on tmpfs (/dev/shm when it exists); no fsync.
Each figure is the minimum over R runs of that file (time.perf_counter, Python's garbage
collector disabled inside the timed region as timeit does, and collected every 100 files). The report gives,
per library, the MEDIAN over files of those per-file minima in microseconds, and each
peer's median divided by fugue's (>1 = slower than fugue). Read medians are taken over
the files every library read without error, write medians over those every library wrote
(the counts are printed; e.g. mido refuses to save a type-0 file holding several tracks).

fugue is timed by its own example binary, which must do the same thing (read from disk
each time, write to a file, per-file minimum over R repeats):
  FUGUE_BENCH --repeat R --json FILE...      or      FUGUE_BENCH --repeat R --json --list paths.txt
printing {"files": [{"path": ..., "read_us": ..., "write_us": ..., "notes": ...}, ...]}.

Fairness: everything is single-threaded per file. OMP/OpenBLAS/MKL/Rayon/numexpr thread
counts are set to 1 before any library is imported and passed to the fugue binary; files
are processed one after another; --cpu N pins this process and the fugue binary to one core.
pretty_midi, miditoolkit and mido are slow: they use --slow-repeat runs per file; by default
(auto) that is 1 when --repeat runs over all files would take that library more than
--slow-budget seconds (default 120, estimated from the first 10 files), else --repeat.

Run from the repository root:
  python3 bench/midi_io_speed.py --fugue-bench target/release/examples/bench_io --corpus pop909 \
      [--data ../shared/data] [--repeat 5] [--slow-repeat N] [--limit N] [--json out.json] [--markdown]
  python3 bench/midi_io_speed.py --peers-only --corpus piano --markdown   # without fugue
Corpora: pop909 = pop909/POP909/*/*.mid (909 files); piano = piano_performance_giantmidi_eval/**/*.mid (160).
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS",
           "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_v] = "1"

import argparse, gc, glob, importlib.metadata, json, platform, statistics, subprocess, sys, tempfile, time, warnings

CORPORA = {"pop909": "pop909/POP909/*/*.mid", "piano": "piano_performance_giantmidi_eval/**/*.mid"}
PEERS = ["symusic", "pretty_midi", "miditoolkit", "mido"]
SLOW = {"pretty_midi", "miditoolkit", "mido"}


def peer_io(name):
    """(read(path) -> obj, write(obj, path)) for one peer library."""
    if name == "symusic":
        import symusic
        return symusic.Score, lambda o, p: o.dump_midi(p)
    if name == "pretty_midi":
        import pretty_midi
        return pretty_midi.PrettyMIDI, lambda o, p: o.write(p)
    if name == "miditoolkit":
        import miditoolkit
        return miditoolkit.MidiFile, lambda o, p: o.dump(p)
    if name == "mido":
        import mido
        return mido.MidiFile, lambda o, p: o.save(p)
    raise ValueError(name)


def time_file(read, write, path, out, repeat):
    best_r = best_w = float("inf")
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            obj = read(path)
            best_r = min(best_r, time.perf_counter() - t0)
        for _ in range(repeat):
            t0 = time.perf_counter()
            write(obj, out)
            best_w = min(best_w, time.perf_counter() - t0)
    except Exception as e:
        if best_r == float("inf"):
            raise
        return {"read_us": best_r * 1e6, "write_us": None, "error": f"write: {type(e).__name__}: {e}"[:200]}
    finally:
        obj = None
        gc.enable()
    return {"read_us": best_r * 1e6, "write_us": best_w * 1e6}


def run_peer(name, files, repeat, slow_repeat, slow_budget, tmp):
    read, write = peer_io(name)
    out = os.path.join(tmp, f"{name}.mid")
    time_file(read, write, files[0], out, 1)  # warm-up: lazy imports, first-call costs
    if name in SLOW:
        if slow_repeat is None:
            probe = files[:10]
            t0 = time.perf_counter()
            for f in probe:
                time_file(read, write, f, out, 1)
            per_run = (time.perf_counter() - t0) / len(probe) * len(files)
            repeat = 1 if per_run * repeat > slow_budget else repeat
        else:
            repeat = slow_repeat
    res, errors = {}, {}
    t0 = time.perf_counter()
    for i, f in enumerate(files):
        if i % 100 == 99:
            gc.collect()  # untimed; not after every file: freeing memory each time slows the next read
        try:
            res[f] = time_file(read, write, f, out, repeat)
            if "error" in res[f]:
                errors[f] = res[f]["error"]
        except Exception as e:
            errors[f] = f"read: {type(e).__name__}: {e}"[:200]
    print(f"  {name}: {len(res) - len(errors)} ok, {len(errors)} failed, repeat={repeat}, {time.perf_counter() - t0:.1f} s",
          file=sys.stderr, flush=True)
    return {"repeat": repeat, "files": res, "errors": errors}


def run_fugue(bench, files, repeat, mode, env, tmp):
    cmd = [bench, "--repeat", str(repeat), "--json"]
    if mode == "list" or (mode == "auto" and sum(len(f) + 1 for f in files) > 100_000):
        lst = os.path.join(tmp, "paths.txt")
        with open(lst, "w") as fh:
            fh.write("\n".join(files) + "\n")
        cmd += ["--list", lst]
    else:
        cmd += files
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"fugue bench failed (exit {p.returncode}): {p.stderr.strip()[-2000:]}")
    data = json.loads(p.stdout)
    res, by_real = {}, {os.path.realpath(f): f for f in files}
    for e in data["files"]:
        f = by_real.get(os.path.realpath(e["path"]))
        if f is not None and e.get("read_us") is not None:
            res[f] = {"read_us": float(e["read_us"]), "notes": e.get("notes"),
                      "write_us": None if e.get("write_us") is None else float(e["write_us"])}
    errors = {f: "missing from fugue output" for f in files if f not in res}
    errors.update({f: "no write time" for f, r in res.items() if r["write_us"] is None})
    print(f"  fugue: {len(res) - len(errors)} ok, {len(errors)} failed, repeat={repeat}, {time.perf_counter() - t0:.1f} s",
          file=sys.stderr, flush=True)
    return {"repeat": repeat, "files": res, "errors": errors, "command": " ".join(cmd[:4]) + " ..."}


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((l.split(":", 1)[1].strip() for l in fh if l.startswith("model name")), cpu)
    except OSError:
        pass
    vers = {}
    for lib in PEERS:
        try:
            vers[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            vers[lib] = "not installed"
    return {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "cpu": cpu,
            "python": platform.python_version(), "platform": platform.platform(), "versions": vers}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fugue-bench", help="path of the fugue bench_io example binary")
    ap.add_argument("--peers-only", action="store_true", help="skip fugue (ratios then are n/a)")
    ap.add_argument("--corpus", choices=sorted(CORPORA), required=True)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--slow-repeat", type=int, default=None,
                    help="runs per file for pretty_midi/miditoolkit/mido (default: auto, see --slow-budget)")
    ap.add_argument("--slow-budget", type=float, default=120.0, help="seconds per slow library for auto")
    ap.add_argument("--limit", type=int, default=0, help="first N files (sorted)")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--pass-files", choices=["auto", "args", "list"], default="auto",
                    help="give fugue the files as arguments or via --list (auto: list if long)")
    ap.add_argument("--cpu", type=int, default=None, help="pin this process and fugue to this core")
    ap.add_argument("--json")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    if not a.peers_only and not a.fugue_bench:
        ap.error("--fugue-bench is required unless --peers-only")
    if a.cpu is not None:
        os.sched_setaffinity(0, {a.cpu})
    warnings.simplefilter("ignore")
    files = sorted(os.path.abspath(f) for f in glob.glob(os.path.join(a.data, CORPORA[a.corpus]), recursive=True))
    if a.limit:
        files = files[:a.limit]
    if not files:
        sys.exit(f"no files for {a.corpus} under {a.data}")
    total_bytes = 0
    for f in files:  # warm the OS page cache for everybody
        with open(f, "rb") as fh:
            total_bytes += len(fh.read())
    info = machine()
    print(f"corpus {a.corpus}: {len(files)} files, {total_bytes / 1e6:.2f} MB; {info['nproc']} CPUs "
          f"({info['cpu']}), python {info['python']}", file=sys.stderr)
    runs = {}
    tmpdir = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="fugue_io_", dir=tmpdir) as tmp:
        if not a.peers_only:
            bench = os.path.abspath(a.fugue_bench) if os.path.exists(a.fugue_bench) else a.fugue_bench
            runs["fugue"] = run_fugue(bench, files, a.repeat, a.pass_files, dict(os.environ), tmp)
        for name in a.peers.split(","):
            runs[name] = run_peer(name, files, a.repeat, a.slow_repeat, a.slow_budget, tmp)
    ok = lambda f, k: all(r["files"].get(f, {}).get(k) is not None for r in runs.values())
    common = {k: [f for f in files if ok(f, k)] for k in ("read_us", "write_us")}
    if not common["read_us"] or not common["write_us"]:
        sys.exit("no file was read (or written) by every library")
    summary = {}
    for name, r in runs.items():
        summary[name] = {k: statistics.median(r["files"][f][k] for f in common[k]) for k in ("read_us", "write_us")}
        summary[name].update(repeat=r["repeat"], failed=len(r["errors"]))
    ref = summary.get("fugue")
    ratio = lambda name, k: f"{summary[name][k] / ref[k]:.2f}x" if ref else "n/a"
    print(f"\n{a.corpus}: median over the files every library read ({len(common['read_us'])}/{len(files)}) / "
          f"wrote ({len(common['write_us'])}/{len(files)}); per-file minimum over repeats; single-threaded, "
          f"one file at a time")
    if a.markdown:
        print("\n| library | read median (µs/file) | write median (µs/file) | read vs fugue | write vs fugue |")
        print("|---|---:|---:|---:|---:|")
        for name, s in summary.items():
            print(f"| {name} | {s['read_us']:.1f} | {s['write_us']:.1f} | {ratio(name, 'read_us')} | "
                  f"{ratio(name, 'write_us')} |")
    else:
        print(f"{'library':<12} {'read_us':>10} {'write_us':>10} {'read/fugue':>11} {'write/fugue':>12} repeat failed")
        for name, s in summary.items():
            print(f"{name:<12} {s['read_us']:>10.1f} {s['write_us']:>10.1f} {ratio(name, 'read_us'):>11} "
                  f"{ratio(name, 'write_us'):>12} {s['repeat']:>6} {s['failed']:>6}")
    print(f"\nmachine: nproc={info['nproc']} (affinity {info['affinity']}{', pinned to cpu %d' % a.cpu if a.cpu is not None else ''}), "
          f"cpu: {info['cpu']}, python {info['python']}, "
          + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + f"; repeats: "
          + ", ".join(f"{n}={s['repeat']}" for n, s in summary.items()))
    for name, r in runs.items():
        for f, e in list(r["errors"].items())[:3]:
            print(f"  {name} failed on {os.path.relpath(f, a.data)}: {e}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"corpus": a.corpus, "n_files": len(files), "n_common": {k: len(v) for k, v in common.items()}, "machine": info,
                       "summary": summary, "runs": runs}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
