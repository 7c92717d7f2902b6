"""The independent-pitch baseline for the Boulanger-Lewandowski benchmarks.

Fits one Bernoulli per pitch (MIDI 21..108) on the training frames and
prints the validation and test NLL in nats per frame: the floor any
frame model must beat (docs/RESULTS.md quotes it for JSB).

    python3 bench/marginal_baseline.py [../shared/data/boulanger2012/jsb_chorales.json]
"""
import json
import math
import sys
from collections import Counter

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/boulanger2012/jsb_chorales.json"
data = json.load(open(path))
counts, frames = Counter(), 0
for piece in data["train"]:
    for frame in piece:
        frames += 1
        counts.update(set(frame))
p = {k: min(max(counts[k] / frames, 1e-6), 1 - 1e-6) for k in range(21, 109)}
for split in ("valid", "test"):
    total, n = 0.0, 0
    for piece in data[split]:
        for frame in piece:
            on = set(frame)
            n += 1
            total -= sum(math.log(p[k]) if k in on else math.log(1 - p[k]) for k in range(21, 109))
    print(f"{split}: {total / n:.3f} nats/frame over {n} frames")
