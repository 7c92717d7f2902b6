#!/usr/bin/env python3
"""MIDI read parity: does `fugue convert` read MIDI files the way symusic does?

For every MIDI file of the corpora below (paths relative to the data root) the
script runs `FUGUE convert FILE OUT.json --force`, loads the score JSON fugue
writes (times in ticks), parses the same file with `symusic.Score(path)` (ticks)
and compares:

  notes      all notes over all tracks, as a sorted multiset of
             (time, duration, pitch, velocity)
  per-track  when both sides have the same number of tracks with >= 1 note:
             tracks matched in order, compared as (program, is_drum, sorted notes)
  tempos     (time, mspq), each side stably sorted by time
  timesigs   (time, numerator, denominator)
  keysigs    (time, key, minor)   [symusic: tonality 1 = minor]
  tpq        ticks per quarter

Known, deliberate difference: a note-on never closed by a note-off is dropped
by symusic but closed at track end by fugue. Such notes are counted apart
("notes equal modulo unclosed": the only difference is notes present only in
fugue that end at an MTrk end-of-track tick, read with mido, or at the last
event of their fugue track). Other note differences are classified
(extra in fugue / missing in fugue / durations differ / velocities differ /
mixed) with the first differing note. Tempo and time-signature mismatches are
checked against duplicate handling (several events on one tick; repeats of the
same value) to say which policy would make them agree.

Corpora: pop909 (POP909/NNN/NNN.mid only), js_fakes (midi/), jsf_extended,
nottingham (MIDI/**, melody/ and chords/), giantmidi_eval (**), lmd_sample
(**, without MIDIs_corrupted/) and lmd_corrupted (expected to fail in both).

Run from the repository root:
  python3 bench/symusic_parity.py --fugue target/release/fugue \
      [--data ../shared/data] [--limit N] [--json out.json]
--limit N takes the first N files (sorted) of each corpus. Files are processed
by a pool of 2 worker processes. The exit status is always 0 (it is a report);
the last line printed is a one-line summary.
"""
import argparse, collections, concurrent.futures as cf, glob, json, os, shutil, subprocess, sys, tempfile

CORPORA = [
    ("pop909", ["pop909/POP909/*/*.mid"]),
    ("js_fakes", ["js_fakes/midi/*.mid"]),
    ("jsf_extended", ["js_fakes/jsf-extended/*.mid"]),
    ("nottingham", ["nottingham_abc_midi/MIDI/**/*.mid"]),
    ("giantmidi_eval", ["piano_performance_giantmidi_eval/**/*.mid"]),
    ("lmd_sample", ["multitrack_pop_lmd_sample/**/*.mid"]),
    ("lmd_corrupted", ["multitrack_pop_lmd_sample/MIDIs_corrupted/*.mid"]),
]
CHECKS = ["notes", "per_track", "tempos", "timesigs", "keysigs", "tpq"]
COUNTS = ["total", "fugue_ok", "symusic_ok", "both_ok", "notes_equal", "notes_equal_mod_unclosed",
          "track_count_equal", "per_track_equal", "tempos_equal", "timesigs_equal", "keysigs_equal", "tpq_equal"]


def corpus_files(root, name, patterns, limit):
    files = set()
    for pat in patterns:
        files.update(glob.glob(os.path.join(root, pat), recursive=True))
    if name == "lmd_sample":
        files = {f for f in files if "MIDIs_corrupted" not in f}
    files = sorted(files)
    return files[:limit] if limit else files


def by_time(events):
    return sorted(events, key=lambda e: e[0])  # stable: same-tick order kept


def fugue_view(d):
    tracks = []
    for t in d.get("tracks", []):
        notes = sorted((n["time"], n["duration"], n["pitch"], n["velocity"]) for n in t.get("notes", []))
        end = max([e["time"] for k in ("controls", "pitch_bends", "lyrics") for e in t.get(k, [])]
                  + [p["time"] + p.get("duration", 0) for p in t.get("pedals", [])] + [0])  # non-note events
        tracks.append((t.get("program", 0), bool(t.get("is_drum", False)), notes, end))
    return dict(tpq=d.get("ticks_per_quarter"), tracks=tracks,
                tempos=by_time((x["time"], x["mspq"]) for x in d.get("tempos", [])),
                timesigs=by_time((x["time"], x["numerator"], x["denominator"]) for x in d.get("time_signatures", [])),
                keysigs=by_time((x["time"], x["key"], bool(x.get("minor", False))) for x in d.get("key_signatures", [])))


def symusic_view(s):
    tracks = []
    for t in s.tracks:
        a = t.notes.numpy()
        notes = sorted(zip(*(a[k].tolist() for k in ("time", "duration", "pitch", "velocity"))))
        tracks.append((t.program, bool(t.is_drum), notes, None))
    return dict(tpq=s.ticks_per_quarter, tracks=tracks,
                tempos=by_time((x.time, x.mspq) for x in s.tempos),
                timesigs=by_time((x.time, x.numerator, x.denominator) for x in s.time_signatures),
                keysigs=by_time((x.time, x.key, bool(x.tonality)) for x in s.key_signatures))


def mtrk_end_ticks(path):
    try:
        import mido
        return {sum(m.time for m in tr) for tr in mido.MidiFile(path, clip=True).tracks}
    except Exception:
        return set()


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i, x, y
    n = min(len(a), len(b))
    return n, (a[n] if n < len(a) else None), (b[n] if n < len(b) else None)


def compare_notes(path, F, S):
    fn = sorted(n for t in F["tracks"] for n in t[2])
    sn = sorted(n for t in S["tracks"] for n in t[2])
    if fn == sn:
        return {"equal": True, "mod_unclosed": True}
    fc, sc = collections.Counter(fn), collections.Counter(sn)
    f_only, s_only = sorted((fc - sc).elements()), sorted((sc - fc).elements())
    if not s_only:
        extra = set(f_only)  # track end = MTrk end-of-track tick, or last other event of the fugue track
        ends = mtrk_end_ticks(path) | {max([t[3]] + [n[0] + n[1] for n in t[2] if n not in extra]) for t in F["tracks"]}
        unclosed = all(n[0] + n[1] in ends for n in f_only)
        kind = "extra_in_fugue_at_track_end" if unclosed else "extra_in_fugue"
    elif not f_only:
        kind, unclosed = "missing_in_fugue", False
    else:
        unclosed = False
        proj = lambda ns, keep: collections.Counter(tuple(n[i] for i in keep) for n in ns)
        if proj(f_only, (0, 2, 3)) == proj(s_only, (0, 2, 3)):
            kind = "durations_differ"
        elif proj(f_only, (0, 1, 2)) == proj(s_only, (0, 1, 2)):
            kind = "velocities_differ"
        else:
            kind = "mixed"
    return {"equal": False, "mod_unclosed": unclosed, "kind": kind, "n_fugue": len(fn), "n_symusic": len(sn),
            "n_fugue_only": len(f_only), "n_symusic_only": len(s_only),
            "first": f"(time,dur,pitch,vel) {len(f_only)} only in fugue, first {f_only[:1]}; "
                     f"{len(s_only)} only in symusic, first {s_only[:1]}"}


def dedup(ev, keep):  # keep = "first" | "last" event among those on the same tick
    out = []
    for e in ev:
        if out and out[-1][0] == e[0]:
            if keep == "last":
                out[-1] = e
        else:
            out.append(e)
    return out


def drop_repeats(ev):
    out = []
    for e in ev:
        if not out or out[-1][1:] != e[1:]:
            out.append(e)
    return out


TRANSFORMS = [("keep last per tick", lambda e: dedup(e, "last")), ("keep first per tick", lambda e: dedup(e, "first")),
              ("drop repeated values", drop_repeats), ("keep last per tick + drop repeats", lambda e: drop_repeats(dedup(e, "last")))]


def meta_note(f, s):
    for name, tr in TRANSFORMS:
        if tr(f) == tr(s):
            return f"equal after '{name}'"
    i, fx, sx = first_diff(f, s)
    return f"#{i}: fugue={fx} symusic={sx} (n={len(f)} vs {len(s)})"


def same_tick_dups(ev):
    return sum(1 for a, b in zip(ev, ev[1:]) if a[0] == b[0])


def check(job):
    path, fugue, tmpdir = job
    r = {"path": path, "fugue_ok": False, "symusic_ok": False}
    out = os.path.join(tmpdir, f"{os.getpid()}.json")
    try:
        p = subprocess.run([fugue, "convert", path, out, "--force"], capture_output=True, text=True, timeout=300)
        if p.returncode == 0:
            with open(out) as fh:
                F = fugue_view(json.load(fh))
            r["fugue_ok"] = True
        else:
            r["fugue_error"] = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1][:300]
    except Exception as e:
        r["fugue_error"] = f"{type(e).__name__}: {e}"[:300]
    finally:
        if os.path.exists(out):
            os.remove(out)
    try:
        import symusic
        S = symusic_view(symusic.Score(path))
        r["symusic_ok"] = True
    except Exception as e:
        r["symusic_error"] = f"{type(e).__name__}: {e}"[:300]
    if not (r["fugue_ok"] and r["symusic_ok"]):
        return r
    r["notes"] = compare_notes(path, F, S)
    ft = [t[:3] for t in F["tracks"] if t[2]]
    st = [t[:3] for t in S["tracks"] if t[2]]
    r["track_count"] = [len(ft), len(st)]
    r["per_track"] = {"equal": len(ft) == len(st) and ft == st}
    if len(ft) == len(st) and ft != st:
        i = next(i for i, (a, b) in enumerate(zip(ft, st)) if a != b)
        a, b = ft[i], st[i]
        what = f"program/is_drum fugue={a[:2]} symusic={b[:2]}" if a[:2] != b[:2] else \
            "notes: " + "{1} vs {2}".format(*first_diff(a[2], b[2]))
        r["per_track"]["first"] = f"track #{i}: {what}"
    elif len(ft) != len(st):
        r["per_track"]["first"] = f"tracks with notes: fugue={len(ft)} symusic={len(st)}"
    for key in ("tempos", "timesigs", "keysigs"):
        eq = F[key] == S[key]
        r[key] = {"equal": eq, "dups": [same_tick_dups(F[key]), same_tick_dups(S[key])]}
        if not eq:
            r[key]["first"] = meta_note(F[key], S[key])
    r["tpq"] = {"equal": F["tpq"] == S["tpq"]}
    if not r["tpq"]["equal"]:
        r["tpq"]["first"] = f"fugue={F['tpq']} symusic={S['tpq']}"
    return r


def summarize(results):
    c = collections.Counter(total=len(results))
    kinds, notes = collections.Counter(), collections.Counter()
    for r in results:
        c["fugue_ok"] += r["fugue_ok"]
        c["symusic_ok"] += r["symusic_ok"]
        if not (r["fugue_ok"] and r["symusic_ok"]):
            continue
        c["both_ok"] += 1
        c["notes_equal"] += r["notes"]["equal"]
        c["notes_equal_mod_unclosed"] += r["notes"]["mod_unclosed"]
        c["track_count_equal"] += r["track_count"][0] == r["track_count"][1]
        for k in ("per_track", "tempos", "timesigs", "keysigs", "tpq"):
            c[k + "_equal"] += r[k]["equal"]
        if not r["notes"]["equal"]:
            kinds[r["notes"]["kind"]] += 1
        for k in ("tempos", "timesigs"):
            c[f"{k}_same_tick_dups_fugue"] += r[k]["dups"][0] > 0
            c[f"{k}_same_tick_dups_symusic"] += r[k]["dups"][1] > 0
            if not r[k]["equal"]:
                notes[f"{k}: {r[k]['first']}" if r[k]["first"].startswith("equal after") else f"{k}: other"] += 1
    return {"counts": dict(c), "note_diff_kinds": dict(kinds), "meta_diff_notes": dict(notes)}


def first_problem(r):
    if not r["fugue_ok"] or not r["symusic_ok"]:
        return f"fugue: {r.get('fugue_error', 'ok')} | symusic: {r.get('symusic_error', 'ok')}"
    for k in CHECKS:
        if not r[k]["equal"]:
            extra = f" [{r[k]['kind']}]" if k == "notes" else ""
            return f"{k}{extra}: {r[k].get('first', '')}"
    return None


def only_unclosed(r):
    return r["fugue_ok"] and r["symusic_ok"] and r["notes"]["mod_unclosed"] and \
        r["track_count"][0] == r["track_count"][1] and all(r[k]["equal"] for k in ("tempos", "timesigs", "keysigs", "tpq"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fugue", required=True)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    fugue = os.path.abspath(a.fugue) if os.path.exists(a.fugue) else shutil.which(a.fugue)
    if not fugue:
        print(f"SUMMARY fugue binary not found: {a.fugue}")
        return 0
    per, report, mism = {}, {"fugue": fugue, "data": os.path.abspath(a.data), "corpora": {}}, []
    with tempfile.TemporaryDirectory(prefix="fugue_parity_", dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as tmp, \
            cf.ProcessPoolExecutor(max_workers=a.jobs) as pool:
        for name, pats in CORPORA:
            files = corpus_files(a.data, name, pats, a.limit)
            results = list(pool.map(check, [(f, fugue, tmp) for f in files], chunksize=8))
            summ = summarize(results)
            per[name] = summ
            report["corpora"][name] = dict(summ, files=results)
            c = summ["counts"]
            print(f"[{name}] " + " ".join(f"{k}={c.get(k, 0)}" for k in COUNTS), flush=True)
            if summ["note_diff_kinds"]:
                print(f"    note differences: {summ['note_diff_kinds']}")
            if summ["meta_diff_notes"]:
                print(f"    tempo/timesig differences: {summ['meta_diff_notes']}")
            dups = {k: v for k, v in c.items() if "dups" in k and v}
            if dups:
                print(f"    files with same-tick duplicates: {dups}")
            if name == "lmd_corrupted":
                for r in results:
                    ok = not r["fugue_ok"] and not r["symusic_ok"]
                    print(f"    {'expected failure in both' if ok else 'UNEXPECTED'}: {os.path.basename(r['path'])}: "
                          f"{first_problem(r) or 'both read it, all equal'}")
                continue
            mism += [(name, r["path"], p, only_unclosed(r)) for r in results if (p := first_problem(r))]
    mism.sort(key=lambda m: m[3])  # files differing only by fugue's closing of unclosed notes go last
    print(f"\nmismatching files: {len(mism)} (first 20; unclosed-note-only differences last)")
    for name, path, p, _ in mism[:20]:
        print(f"  [{name}] {os.path.relpath(path, a.data)}: {p}")
    report["mismatches"] = [{"corpus": n, "path": p, "first": d, "only_unclosed": u} for n, p, d, u in mism]
    tot = collections.Counter()
    for name, s in per.items():
        if name != "lmd_corrupted":
            tot.update(s["counts"])
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(report, fh, indent=1)
    both = tot["both_ok"]
    print(f"SUMMARY files={tot['total']} fugue_ok={tot['fugue_ok']} symusic_ok={tot['symusic_ok']} both_ok={both} "
          f"notes_equal={tot['notes_equal']}/{both} (mod unclosed {tot['notes_equal_mod_unclosed']}) "
          f"per_track={tot['per_track_equal']} tempos={tot['tempos_equal']} timesigs={tot['timesigs_equal']} "
          f"keysigs={tot['keysigs_equal']} mismatching={len(mism)} (only unclosed notes: {sum(m[3] for m in mism)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
