"""Gibbs sampling time for a 16-bar chorale: fugue vs the same Coconet in PyTorch.

fugue: `fugue harmonize` of a 16-bar melody (64 quarter notes = 256 sixteenth
steps; alto, tenor, bass written) with the embedded Coconet (12 layers x 48
filters), 96 annealed blocked-Gibbs steps; the time is the sampler's own
(fugue prints it; model loading and file writing excluded).

PyTorch: the same network (3x3 and 2x2 "same" convolutions, batch norm in
inference mode, residual every two layers), the same 96 passes over a
[1, 8, 256, 46] input, the same annealed block masks and a categorical draw
per masked cell. Random weights: the time does not depend on them.
Median of N runs after one warm-up, both with the same thread count.

    pip install torch
    cargo build --release -p fugue-cli
    python bench/coconet_gibbs.py [--runs 5] [--threads 2]

Other sizes and the GPU: `--model RUN_DIR --layers L --filters F` times a
trained Coconet run of that size (PyTorch builds the same L x F network);
`--device vulkan` (or `cuda`) runs both on the GPU (fugue built with
`--features fugue-models/vulkan`, PyTorch on CUDA, synchronized before the
clock stops); `--fugue PATH` names the binary (default target/release/fugue).
"""
import argparse, os, re, statistics, struct, subprocess, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS, PITCHES, LAYERS, FILTERS, GIBBS = 256, 46, 12, 48, 96


def melody_midi(path):
    """64 quarter notes (a scale up and down around C5), 480 tpq, format 0."""
    pitches = [72, 74, 76, 77, 79, 77, 76, 74] * 8
    ev = b""
    for p in pitches:
        ev += b"\x00\x90" + bytes([p, 90]) + b"\x83\x60\x80" + bytes([p, 0])  # delta 480 = 0x83 0x60
    ev += b"\x00\xff\x2f\x00"
    data = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(ev)) + ev
    Path(path).write_bytes(data)


def fugue_runs(runs, threads, exe, model, device):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    times = []
    with tempfile.TemporaryDirectory() as d:
        mel = Path(d) / "melody.mid"
        melody_midi(mel)
        for i in range(runs + 1):
            out = subprocess.run(
                [str(exe), "harmonize", str(mel), "-o", str(Path(d) / "h.mid"), "--seed", str(i), "--force",
                 "--gibbs-steps", str(GIBBS), "--device", device] + (["--model", model] if model else []),
                capture_output=True, text=True, env=env, check=True)
            m = re.search(r"(\d+) network passes, \d+ draws in ([\d.]+) s", out.stderr)
            assert m and int(m.group(1)) == GIBBS, out.stderr
            if i > 0:
                times.append(float(m.group(2)))
    return times


def torch_runs(runs, threads, layers, filters, device):
    import torch
    torch.set_num_threads(threads)
    nn = torch.nn

    class Coconet(nn.Module):
        def __init__(self):
            super().__init__()
            ks = [3] * (layers - 2) + [2]
            chans = [8] + [filters] * (layers - 1)
            self.convs = nn.ModuleList(nn.Conv2d(chans[i], filters, k, padding="same") for i, k in enumerate(ks))
            self.norms = nn.ModuleList(nn.BatchNorm2d(filters) for _ in ks)
            self.out = nn.Conv2d(filters, 4, 2, padding="same")

        def forward(self, roll, mask):
            h = torch.cat([roll * (1 - mask), mask], 1)
            skip = None
            for i, (c, n) in enumerate(zip(self.convs, self.norms)):
                y = n(c(h))
                if i >= 2 and i % 2 == 0:
                    y = y + skip
                h = torch.relu(y)
                if i % 2 == 0:
                    skip = h
            return self.out(h)

    model = Coconet().to(device).eval()
    times = []
    g = torch.Generator(device=device).manual_seed(0)
    for r in range(runs + 1):
        roll = torch.zeros(1, 4, STEPS, PITCHES, device=device)
        roll[0, 0, torch.arange(STEPS), 36] = 1.0  # the soprano, fixed
        region = torch.zeros(1, 4, STEPS, 1, device=device)
        region[0, 1:] = 1.0
        drawn = torch.zeros_like(region)
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.no_grad():
            for s in range(GIBBS):
                pm = max(0.1, 0.9 - 0.8 * s / (0.7 * GIBBS))
                block = region * ((torch.rand(region.shape, generator=g, device=device) < pm).float().maximum(1 - drawn))
                logits = model(roll, block.expand(-1, -1, -1, PITCHES)) / 0.99
                probs = torch.softmax(logits, -1).reshape(-1, PITCHES)
                pick = torch.multinomial(probs, 1, generator=g).reshape(1, 4, STEPS)
                new = torch.nn.functional.one_hot(pick, PITCHES).float()
                roll = torch.where(block > 0, new, roll)
                drawn = drawn.maximum(block)
        if device == "cuda":
            torch.cuda.synchronize()
        if r > 0:
            times.append(time.perf_counter() - start)
    return times, torch.__version__


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda", "vulkan"], default="cpu")
    ap.add_argument("--fugue", default=str(ROOT / "target" / "release" / "fugue"))
    ap.add_argument("--model", help="a Coconet run folder (default: the embedded model)")
    ap.add_argument("--layers", type=int, default=LAYERS)
    ap.add_argument("--filters", type=int, default=FILTERS)
    a = ap.parse_args()
    f = fugue_runs(a.runs, a.threads, a.fugue, a.model, a.device)
    t, version = torch_runs(a.runs, a.threads, a.layers, a.filters, "cpu" if a.device == "cpu" else "cuda")
    fm, tm = statistics.median(f), statistics.median(t)
    print(f"16-bar harmonization, {GIBBS} Gibbs steps, Coconet {a.layers}x{a.filters}, {a.device}, {a.threads} threads")
    print(f"fugue   median {fm:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in f)})")
    print(f"PyTorch {version} median {tm:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in t)})")
    print(f"ratio (PyTorch / fugue): {tm / fm:.2f}x")


if __name__ == "__main__":
    main()
