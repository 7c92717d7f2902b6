"""Pseudo-Gibbs time for a 16-bar chorale: fugue's DeepBach vs the same network in PyTorch.

fugue: `fugue harmonize` of a 16-bar melody (64 quarter notes = 256 sixteenth
ticks; alto, tenor, bass written) with a DeepBach run folder, at its default
number of iterations (500 per 64 ticks: 2000 here, each drawing 8 random
ticks of each of the three voices); the time is the sampler's own (fugue
prints it; model loading and file writing excluded).

PyTorch: the same per-voice network at the run's sizes (read from its
run.json): one token embedding per voice and one per metadata stream, a
left and a right LSTM stack over `context` ticks, the centre MLP over the
other voices' tokens and the metadata, the output MLP. The same parallel
pseudo-Gibbs loop: per iteration and voice, 8 random ticks are cut out of
the padded state as windows, run as one batch, drawn from the softmax at the
annealed temperature (1.1 x 0.9993 per iteration, floor 1.0) restricted to
the voice's range, and written once every voice is drawn. Random weights:
the time does not depend on them. Median of N runs after one warm-up, both
with the same thread count.

    pip install torch
    cargo build --release -p fugue-cli
    python bench/deepbach_gibbs.py --run runs/deepbach-jsb [--runs 3] [--threads 2]
"""
import argparse, json, os, re, statistics, subprocess, tempfile, time
from pathlib import Path

from coconet_gibbs import melody_midi  # the same 16-bar melody as the Coconet benchmark

ROOT = Path(__file__).resolve().parent.parent
TICKS, BATCH = 256, 8
ITERATIONS = TICKS * 500 // 64


def fugue_runs(run, runs, threads):
    exe = ROOT / "target" / "release" / "fugue"
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    times = []
    with tempfile.TemporaryDirectory() as d:
        mel = Path(d) / "melody.mid"
        melody_midi(mel)
        for i in range(runs + 1):
            out = subprocess.run(
                [str(exe), "harmonize", str(mel), "-o", str(Path(d) / "h.mid"), "--seed", str(i), "--force",
                 "--model", str(run)],
                capture_output=True, text=True, env=env, check=True)
            m = re.search(r"(\d+) network passes, \d+ draws in ([\d.]+) s", out.stderr)
            assert m and int(m.group(1)) == 3 * ITERATIONS, out.stderr
            if i > 0:
                times.append(float(m.group(2)))
    return times


def torch_runs(cfg, ranges, runs, threads):
    import torch
    torch.set_num_threads(threads)
    nn = torch.nn
    vocab, ne, me = cfg["vocab_size"], cfg["note_embedding"], cfg["metadata_embedding"]
    h, layers, c = cfg["lstm_hidden"], cfg["lstm_layers"], cfg["context"]
    metas = cfg["metadata_sizes"]

    class VoiceNet(nn.Module):
        def __init__(self, voice):
            super().__init__()
            self.voice = voice
            self.notes = nn.ModuleList(nn.Embedding(vocab, ne) for _ in range(4))
            self.metas = nn.ModuleList(nn.Embedding(n, me) for n in metas)
            per_tick = 4 * ne + len(metas) * me
            self.left = nn.LSTM(per_tick, h, layers, batch_first=True)
            self.right = nn.LSTM(per_tick, h, layers, batch_first=True)
            self.centre = nn.Sequential(nn.Linear(3 * ne + len(metas) * me, cfg["centre_hidden"]), nn.ReLU(),
                                        nn.Linear(cfg["centre_hidden"], h))
            self.out = nn.Sequential(nn.Linear(3 * h, cfg["output_hidden"]), nn.ReLU(),
                                     nn.Linear(cfg["output_hidden"], vocab))

        def forward(self, notes, meta):  # [b, 2c+1, 4], [b, 2c+1, streams]
            voices = [e(notes[:, :, j]) for j, e in enumerate(self.notes)]
            ms = [e(meta[:, :, j]) for j, e in enumerate(self.metas)]
            ticks = torch.cat(voices + ms, 2)
            left = self.left(ticks[:, :c])[0][:, -1]
            right = self.right(ticks[:, c + 1:].flip(1))[0][:, -1]
            centre = torch.cat([x[:, c] for j, x in enumerate(voices) if j != self.voice] + [x[:, c] for x in ms], 1)
            return self.out(torch.cat([left, self.centre(centre), right], 1))

    nets = [VoiceNet(v).eval() for v in range(4)]
    start_id, end_id, hold, rest, first_pitch = 0, 1, 2, 3, 4  # fugue's DeepBach vocabulary
    allowed = []
    for lo, hi in ranges:
        mask = torch.full((vocab,), float("-inf"))
        mask[[hold, rest]] = 0.0
        mask[first_pitch + lo:first_pitch + hi + 1] = 0.0
        allowed.append(mask)
    g = torch.Generator().manual_seed(0)
    times = []
    for r in range(runs + 1):
        state = torch.randint(first_pitch + 50, first_pitch + 70, (TICKS + 2 * c, 4), generator=g)
        state[:c], state[TICKS + c:] = start_id, end_id
        meta = torch.zeros(TICKS + 2 * c, len(metas), dtype=torch.long)
        meta[c:TICKS + c, 1] = torch.arange(TICKS) % 4
        offsets = torch.arange(2 * c + 1)
        temperature = 1.1
        begin = time.perf_counter()
        with torch.no_grad():
            for _ in range(ITERATIONS):
                writes = []
                for v in (1, 2, 3):
                    ticks = torch.randperm(TICKS, generator=g)[:BATCH]
                    rows = ticks[:, None] + offsets[None, :]
                    logits = nets[v](state[rows], meta[rows])
                    probs = torch.softmax(logits / temperature + allowed[v], -1)
                    writes.append((v, ticks, torch.multinomial(probs, 1, generator=g)[:, 0]))
                for v, ticks, ids in writes:
                    state[ticks + c, v] = ids
                temperature = max(1.0, temperature * 0.9993)
        if r > 0:
            times.append(time.perf_counter() - begin)
    return times, torch.__version__


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True, help="a DeepBach run folder (fugue train --model deepbach)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    recipe = json.loads((Path(a.run) / "run.json").read_text())
    cfg = recipe["model"]["config"]
    ranges = recipe["data"]["encoding"]["corpus"]["voice_ranges"]
    f = fugue_runs(a.run, a.runs, a.threads)
    t, version = torch_runs(cfg, ranges, a.runs, a.threads)
    fm, tm = statistics.median(f), statistics.median(t)
    print(f"16-bar harmonization, {ITERATIONS} pseudo-Gibbs iterations x 3 voices x {BATCH} ticks, "
          f"DeepBach LSTM {cfg['lstm_layers']}x{cfg['lstm_hidden']}, {a.threads} threads")
    print(f"fugue   median {fm:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in f)})")
    print(f"PyTorch {version} median {tm:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in t)})")
    print(f"ratio (PyTorch / fugue): {tm / fm:.2f}x")


if __name__ == "__main__":
    main()
