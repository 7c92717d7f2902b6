"""Render speed: fugue's built-in synthesizer, fugue + rustysynth and FluidSynth.

    apt-get install -y fluidsynth
    cargo build --release -p fugue-cli
    python3 bench/render_speed.py --fugue target/release/fugue [--data ../shared/data] [--repeat 5]

Each tool renders the same MIDI files to a 44.1 kHz 16-bit stereo WAV file,
timed as a whole command (reading the MIDI file, loading the SoundFont,
rendering, writing the WAV):

- fugue built-in:  fugue render IN.mid -o OUT.wav --force
- fugue rustysynth: fugue render IN.mid -o OUT.wav --force --soundfont TimGM6mb.sf2
- FluidSynth:      fluidsynth -ni -F OUT.wav -r 44100 TimGM6mb.sf2 IN.mid

Both SoundFont renders use the same font (TimGM6mb, GPL-2, read at run time)
with reverb and chorus on (both tools' defaults). Outputs go to /dev/shm when
it exists, so the disk does not time the runs (fugue's atomic write still
fsyncs). The tools take turns within each repeat, so a busy machine slows
all three alike. Figures: median wall time per file; the real-time factor is
the score's duration (as `fugue info` reports it) over that time; CPU is the
median user+system time of the process.
"""
import argparse, json, os, resource, shutil, statistics, subprocess, tempfile, time

FILES = [
    "pop909/POP909/001/001.mid",
    "pop909/POP909/002/002.mid",
    "pop909/POP909/003/003.mid",
    "piano_performance_giantmidi_eval/midis_for_evaluation/maestro/MIDI-UNPROCESSED_09-10_R1_2014_MID--AUDIO_09_R1_2014_wav--4_cut_no_1.mid",
    "piano_performance_giantmidi_eval/midis_for_evaluation/giantmidi-piano/Bach_Prelude_and_Fugue_in_A-flat_major_BWV862_gCL5Zvnt0TU_a.mid",
    "multitrack_pop_lmd_sample/MIDIs_multitrack/Funkytown.mid",
]


def timed(cmd):
    """Wall and CPU seconds of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fugue", required=True)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    ap.add_argument("--soundfont", default=None, help="default: DATA/soundfonts/TimGM6mb.sf2")
    ap.add_argument("--fluidsynth", default="fluidsynth")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    font = a.soundfont or os.path.join(a.data, "soundfonts", "TimGM6mb.sf2")
    files = [os.path.join(a.data, f) for f in FILES if os.path.exists(os.path.join(a.data, f))]
    if not files:
        raise SystemExit(f"no benchmark files under {a.data}")
    tools = {
        "fugue built-in": lambda i, o: [a.fugue, "render", i, "-o", o, "--force"],
        "fugue + rustysynth": lambda i, o: [a.fugue, "render", i, "-o", o, "--force", "--soundfont", font],
        "FluidSynth": lambda i, o: [a.fluidsynth, "-ni", "-F", o, "-r", "44100", font, i],
    }
    out_dir = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    rows, totals = [], {t: [0.0, 0.0] for t in tools}
    total_audio = 0.0
    try:
        for f in files:
            info = json.loads(subprocess.run([a.fugue, "info", f, "--json"], check=True, capture_output=True).stdout)
            seconds = info["duration_seconds"]
            total_audio += seconds
            walls, cpus = {t: [] for t in tools}, {t: [] for t in tools}
            for _ in range(a.repeat):
                for name, cmd in tools.items():
                    w, c = timed(cmd(f, os.path.join(out_dir, "out.wav")))
                    walls[name].append(w)
                    cpus[name].append(c)
            row = {"file": os.path.basename(f), "seconds": seconds, "tracks": len(info["tracks"]), "notes": info["notes"]}
            for name in tools:
                w, c = statistics.median(walls[name]), statistics.median(cpus[name])
                row[name] = (w, c)
                totals[name][0] += w
                totals[name][1] += c
            rows.append(row)
    finally:
        shutil.rmtree(out_dir)
    fl = subprocess.run([a.fluidsynth, "--version"], capture_output=True, text=True).stdout.splitlines()
    print(f"machine: {os.cpu_count()} cores; {len(files)} files; median of {a.repeat} runs; {fl[0] if fl else 'fluidsynth'}")
    names = list(tools)
    print("| file | audio (s) | " + " | ".join(f"{n}: wall s (RTF)" for n in names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for r in rows:
        cells = [f"{r[n][0]:.3f} ({r['seconds'] / r[n][0]:.0f}x)" for n in names]
        print(f"| {r['file'][:48]} | {r['seconds']:.1f} | " + " | ".join(cells) + " |")
    cells = [f"{totals[n][0]:.2f} ({total_audio / totals[n][0]:.0f}x)" for n in names]
    print(f"| **all** | {total_audio:.1f} | " + " | ".join(cells) + " |")
    print()
    print("CPU seconds (user+system), all files: " + ", ".join(
        f"{n} {totals[n][1]:.2f} s ({total_audio / max(totals[n][1], 1e-9):.0f}x)" for n in names))


if __name__ == "__main__":
    main()
