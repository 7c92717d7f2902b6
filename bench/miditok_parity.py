"""Token-for-token comparison of fugue's tokenizers with MidiTok's.

    pip install miditok
    cargo build --release -p fugue-cli
    python3 bench/miditok_parity.py --fugue target/release/fugue [--data ../shared/data] \
        [--scheme remi] [--corpus pop909,js_fakes,...] [--limit N]

For every MIDI file of the chosen corpora, MidiTok (`TokenizerConfig()` with
the scheme's settings, see SCHEMES) tokenizes the file, and
`fugue tokenize --scheme S FILE --print [--config C]` prints fugue's tokens for
the same file (one line per sequence). A file matches when every
sequence is identical. Files that MidiTok cannot read are counted apart, and so
are files where fugue's reader closes notes that were never ended (symusic
drops them, so the inputs differ). Prints one summary line per corpus.
"""
import argparse, glob, os, subprocess, sys
from concurrent.futures import ProcessPoolExecutor

CORPORA = {
    "pop909": "pop909/POP909/*/*.mid",
    "js_fakes": "js_fakes/midi/*.mid",
    "nottingham": "nottingham_abc_midi/MIDI/*.mid",
    "piano": "piano_performance_giantmidi_eval/**/*.mid",
    "lmd_sample": "multitrack_pop_lmd_sample/MIDIs_*/*.mid",
}
# name: (MidiTok class, TokenizerConfig arguments, fugue scheme, fugue --config JSON)
PROGRAMS = {"use_programs": True}
SCHEMES = {
    "remi": ("REMI", {}, "remi", None),
    "tsd": ("TSD", {}, "tsd", None),
    "midilike": ("MIDILike", {}, "midilike", None),
    "structured": ("Structured", {}, "structured", None),
    "cpword": ("CPWord", {}, "cpword", None),
    "remi+": ("REMI", PROGRAMS, "remi", PROGRAMS),
    "remi+changes": ("REMI", {**PROGRAMS, "program_changes": True}, "remi", {**PROGRAMS, "program_changes": True}),
    "remi_programs_per_track": ("REMI", {**PROGRAMS, "one_token_stream_for_programs": False}, "remi",
                                {**PROGRAMS, "one_token_stream_for_programs": False}),
    "tsd+": ("TSD", PROGRAMS, "tsd", PROGRAMS),
    "octuple": ("Octuple", {}, "octuple", None),
    "octuple+": ("Octuple", PROGRAMS, "octuple", PROGRAMS),
    "mmm": ("MMM", {"base_tokenizer": "REMI"}, "mmm", None),
    "mmm_tsd": ("MMM", {"base_tokenizer": "TSD"}, "mmm", {"base": "tsd"}),
}
_tok = None


def miditok_tokens(scheme, path):
    global _tok
    import miditok, warnings
    warnings.filterwarnings("ignore")  # Octuple warns on every clipped file
    if _tok is None:
        cls, kwargs, _, _ = SCHEMES[scheme]
        _tok = getattr(miditok, cls)(miditok.TokenizerConfig(**kwargs))
    out = _tok.encode(path)
    seqs = out if isinstance(out, list) else [out]
    # Compound tokens (CP-Word): the slots of a step joined by "|", as fugue prints them.
    return [" ".join(t if isinstance(t, str) else "|".join(t) for t in s.tokens) for s in seqs if len(s.tokens) > 0]


def compare(args):
    fugue, scheme, config, path = args
    try:
        theirs = miditok_tokens(scheme, path)
    except Exception as e:  # MidiTok (symusic) cannot read the file
        return path, "miditok_error", str(e)[:80]
    cmd = [fugue, "tokenize", "--scheme", SCHEMES[scheme][2], path, "--print"]
    if config:
        cmd += ["--config", config]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return path, "fugue_error", r.stderr.strip()[:200]
    ours = [l for l in r.stdout.splitlines() if l.strip()]
    if ours == theirs:
        return path, "match", ""
    unclosed = "never ended" in r.stderr
    if len(ours) != len(theirs):
        return path, "unclosed" if unclosed else "differ", f"{len(ours)} sequences vs {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            ta, tb = a.split(), b.split()
            j = next((k for k, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
            return path, "unclosed" if unclosed else "differ", f"seq {i} token {j}: fugue {ta[max(0,j-3):j+3]} miditok {tb[max(0,j-3):j+3]}"
    return path, "differ", "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fugue", required=True)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    ap.add_argument("--scheme", default="remi", choices=list(SCHEMES))
    ap.add_argument("--corpus", default=",".join(CORPORA))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    total = {}
    config = None
    if SCHEMES[a.scheme][3] is not None:
        import json, tempfile
        f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(SCHEMES[a.scheme][3], f)
        f.close()
        config = f.name
    for name in a.corpus.split(","):
        files = sorted(glob.glob(os.path.join(a.data, CORPORA[name]), recursive=True))
        if a.limit:
            files = files[: a.limit]
        with ProcessPoolExecutor(a.jobs) as ex:
            results = list(ex.map(compare, [(a.fugue, a.scheme, config, f) for f in files], chunksize=8))
        counts = {}
        for _, status, _ in results:
            counts[status] = counts.get(status, 0) + 1
        comparable = len(results) - counts.get("miditok_error", 0) - counts.get("unclosed", 0)
        rate = 100.0 * counts.get("match", 0) / comparable if comparable else 0.0
        print(f"[{a.scheme} {name}] files={len(results)} " + " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
              + f" match_rate={rate:.2f}% (of {comparable} comparable)")
        for p, status, detail in [r for r in results if r[1] in ("differ", "fugue_error")][:5]:
            print(f"    {status}: {os.path.relpath(p, a.data)}: {detail}")
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    print("TOTAL " + " ".join(f"{k}={v}" for k, v in sorted(total.items())))


if __name__ == "__main__":
    sys.exit(main())
