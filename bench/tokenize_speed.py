"""Whole-corpus tokenization time: fugue vs MidiTok, same machine, same run.

    pip install miditok
    cargo build --release -p fugue-cli
    python3 bench/tokenize_speed.py --fugue target/release/fugue --corpus pop909 [--scheme remi] [--data ../shared/data]

MidiTok: `tokenizer.encode(path)` for every file, one process (MidiTok's own
corpus helpers run this same call per file). fugue: `fugue tokenize --scheme S
DIR -o OUT` with `--threads 1` and with all cores, timed as whole commands
(reading, tokenizing and writing shards included). Each timing is the median
of --repeat runs. Also prints tokens per file for both as a sanity check.
"""
import argparse, glob, os, shutil, statistics, subprocess, sys, tempfile, time

CORPORA = {"pop909": "pop909/POP909", "piano": "piano_performance_giantmidi_eval", "js_fakes": "js_fakes/midi"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fugue", required=True)
    ap.add_argument("--corpus", default="pop909", choices=list(CORPORA))
    ap.add_argument("--scheme", default="remi", choices=["remi", "tsd", "midilike"])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    root = os.path.join(a.data, CORPORA[a.corpus])
    files = sorted(glob.glob(os.path.join(root, "**", "*.mid"), recursive=True))
    import miditok
    tok = {"remi": miditok.REMI, "tsd": miditok.TSD, "midilike": miditok.MIDILike}[a.scheme]()
    for f in files[:5]:
        tok.encode(f)  # warm-up (imports, caches)
    mt_times, mt_tokens = [], 0
    for _ in range(a.repeat):
        t = time.perf_counter()
        n = 0
        for f in files:
            out = tok.encode(f)
            n += sum(len(s.ids) for s in (out if isinstance(out, list) else [out]))
        mt_times.append(time.perf_counter() - t)
        mt_tokens = n
    res = {}
    for label, threads in (("1 thread", ["--threads", "1"]), (f"{os.cpu_count()} threads", [])):
        times = []
        for _ in range(a.repeat):
            out = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
            t = time.perf_counter()
            subprocess.run([a.fugue, "tokenize", "--scheme", a.scheme, root, "-o", out, "--quiet", *threads],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - t)
            tokens = sum(s["ids"] for s in __import__("json").load(open(os.path.join(out, "manifest.json")))["shards"])
            shutil.rmtree(out)
        res[label] = (statistics.median(times), tokens)
    mt = statistics.median(mt_times)
    print(f"machine: {os.cpu_count()} cores; {len(files)} files of {a.corpus}; scheme {a.scheme}; miditok {miditok.__dict__.get('__version__', 'installed')}")
    print("| tool | wall time (s, median of %d) | files/s | tokens | speed-up vs MidiTok |" % a.repeat)
    print("|---|---|---|---|---|")
    print(f"| MidiTok (1 process) | {mt:.2f} | {len(files)/mt:.0f} | {mt_tokens} | 1.0x |")
    for label, (t, tokens) in res.items():
        print(f"| fugue ({label}) | {t:.3f} | {len(files)/t:.0f} | {tokens} | {mt/t:.0f}x |")


if __name__ == "__main__":
    sys.exit(main())
