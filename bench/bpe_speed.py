"""BPE training time: fugue vs MidiTok on the same corpus, same run.

    pip install miditok
    cargo build --release -p fugue-cli
    python3 bench/bpe_speed.py --fugue target/release/fugue --corpus pop909 --vocab 1000

MidiTok: `REMI().train(vocab_size=N, model="BPE", files_paths=files)`, which
reads and tokenizes every file, splits at bars and trains Hugging Face BPE.
fugue: `fugue tokenize --scheme remi DIR -o OUT --bpe N`, which does the same
and also writes the base and the BPE token shards. Wall time of each, median
of --repeat runs; also the vocabulary size reached and, for fugue, how much
shorter the corpus becomes.
"""
import argparse, glob, os, re, shutil, statistics, subprocess, sys, tempfile, time

CORPORA = {"pop909": "pop909/POP909", "piano": "piano_performance_giantmidi_eval", "js_fakes": "js_fakes/midi"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fugue", required=True)
    ap.add_argument("--corpus", default="pop909", choices=list(CORPORA))
    ap.add_argument("--vocab", type=int, default=1000)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    import miditok
    root = os.path.join(a.data, CORPORA[a.corpus])
    files = sorted(glob.glob(os.path.join(root, "**", "*.mid"), recursive=True))
    mt = []
    for _ in range(a.repeat):
        tok = miditok.REMI()
        t = time.perf_counter()
        tok.train(vocab_size=a.vocab, model="BPE", files_paths=files)
        mt.append(time.perf_counter() - t)
        mt_vocab = len(tok.vocab_model)
    fg, line = [], ""
    for _ in range(a.repeat):
        out = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        t = time.perf_counter()
        r = subprocess.run([a.fugue, "tokenize", "--scheme", "remi", root, "-o", out, "--bpe", str(a.vocab), "--quiet"],
                           check=True, capture_output=True, text=True)
        fg.append(time.perf_counter() - t)
        line = [l for l in r.stderr.splitlines() if "shorter" in l][-1]
        shutil.rmtree(out)
    m, f = statistics.median(mt), statistics.median(fg)
    fg_vocab = re.search(r"of (\d+) over", line).group(1)
    print(f"machine: {os.cpu_count()} cores; {len(files)} files of {a.corpus}; REMI + BPE to {a.vocab}")
    print(f"| tool | wall time (s, median of {a.repeat}) | vocabulary | speed-up |")
    print("|---|---|---|---|")
    print(f"| MidiTok `train` (1 process) | {m:.2f} | {mt_vocab} | 1.0x |")
    print(f"| fugue `tokenize --bpe` ({os.cpu_count()} threads) | {f:.2f} | {fg_vocab} | {m/f:.1f}x |")
    print("fugue:", line.split(": ", 1)[1])


if __name__ == "__main__":
    sys.exit(main())
