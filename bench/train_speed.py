"""Training-step and sampling speed: fugue (burn, flex CPU backend) vs PyTorch.

Same models, same shapes, same threads, one run:
  - LSTM and GRU language models (vocab 130, embedding 128, 2 x 256, batch 32 x 64);
  - a 4-layer Transformer (d 256, 8 heads, FFN 1024, batch 8 x 256), absolute
    positions (PyTorch has no built-in relative attention; fugue's relative
    Music Transformer is measured too);
  - sampling 512 tokens with a KV cache from the 4-layer Transformer (PyTorch:
    a hand-written KV cache over the same layers, as in the papers' code);
  - RNN-NADE (Magenta's rnn-nade: LSTM 3 x 128 with dropout 0.5, NADE 88 x 128)
    on batches of 16 x 100 piano-roll frames of random four-note chords; the
    PyTorch NADE is timed both ways it is usually written (all pitches at once
    through an exclusive cumulative sum of v_k W_k, or Magenta's loop over the
    pitches with a running pre-activation) and the faster counts.
One step = forward, cross-entropy, backward, grad-norm clip 1.0, AdamW.
Median of N steps after 3 warm-up steps.

    pip install torch --index-url https://download.pytorch.org/whl/cpu
    cargo build --release -p fugue-train --example bench_step
    cargo build --release -p fugue-sample --example bench_sample
    python bench/train_speed.py [--steps 20] [--threads 2]

On a GPU: build the two examples with `--features fugue-models/vulkan` (or
`cuda`) and run `python bench/train_speed.py --device vulkan [--bin-dir DIR]`:
fugue runs on that burn backend (a device sync ends each step), PyTorch on
CUDA (a synchronize ends each timed step or token). `--bin-dir` names the
folder holding `bench_step` and `bench_sample` (default
target/release/examples).
"""
import argparse, json, math, os, subprocess, statistics, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


BIN_DIR = ROOT / "target" / "release" / "examples"
TORCH = "cpu"  # PyTorch's device: cuda whenever fugue's --device is a GPU


def sync(torch):
    if TORCH == "cuda":
        torch.cuda.synchronize()


def fugue(example, *args, threads):
    exe = Path(BIN_DIR) / example
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def torch_models(torch):
    nn = torch.nn

    class RnnLm(nn.Module):
        def __init__(self, cell):
            super().__init__()
            self.emb = nn.Embedding(130, 128)
            self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(128, 256, num_layers=2, batch_first=True)
            self.out = nn.Linear(256, 130)

        def forward(self, x):
            return self.out(self.rnn(self.emb(x))[0])

    class Block(nn.Module):
        def __init__(self, d, heads, ff):
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.ff = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, d))
            self.h = heads

        def attend(self, x, cache=None):
            b, t, d = x.shape
            q, k, v = self.qkv(self.n1(x)).view(b, t, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
            if cache is not None:
                if cache:
                    k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
                cache[:] = [k, v]
            causal = cache is None
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
            return self.o(a.transpose(1, 2).reshape(b, t, d))

        def forward(self, x, cache=None):
            x = x + self.attend(x, cache)
            return x + self.ff(self.n2(x))

    class Transformer(nn.Module):
        def __init__(self, vocab=310, d=256, layers=4, heads=8, ff=1024, max_len=2048):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            pos = torch.arange(max_len)[:, None] * torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
            self.register_buffer("pe", torch.cat([torch.sin(pos), torch.cos(pos)], 1))
            self.blocks = nn.ModuleList(Block(d, heads, ff) for _ in range(layers))
            self.norm, self.out = nn.LayerNorm(d), nn.Linear(d, vocab)

        def forward(self, x, caches=None, offset=0):
            h = self.emb(x) + self.pe[offset : offset + x.shape[1]]
            for i, blk in enumerate(self.blocks):
                h = blk(h, None if caches is None else caches[i])
            return self.out(self.norm(h))

    class RnnNade(nn.Module):
        def __init__(self, p=88, hidden=128, layers=3, nade=128, loop=False):
            super().__init__()
            self.loop = loop
            self.rnn = nn.LSTM(p, hidden, num_layers=layers, batch_first=True, dropout=0.5)
            self.drop = nn.Dropout(0.5)
            self.biases = nn.Linear(hidden, nade + p)
            self.w_enc = nn.Parameter(torch.randn(p, nade) * 0.01)
            self.w_dec = nn.Parameter(torch.randn(p, nade) * 0.01)
            self.nade = nade

        def forward(self, v):
            # Frame t's NADE is conditioned on the frames before it.
            prev = torch.cat([torch.zeros_like(v[:, :1]), v[:, :-1]], 1)
            out = self.biases(self.drop(self.rnn(prev)[0]))
            b_enc, b_dec = out[..., : self.nade], out[..., self.nade :]
            if self.loop:
                # Magenta's nade.py: one pitch at a time, a running pre-activation.
                a, logits = b_enc, []
                for i in range(v.shape[-1]):
                    logits.append((torch.sigmoid(a) * self.w_dec[i]).sum(-1) + b_dec[..., i])
                    a = a + v[..., i : i + 1] * self.w_enc[i]
                logits = torch.stack(logits, -1)
            else:
                contrib = v.unsqueeze(-1) * self.w_enc
                a = b_enc.unsqueeze(2) + torch.cumsum(contrib, 2) - contrib
                logits = (torch.sigmoid(a) * self.w_dec).sum(-1) + b_dec
            nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, v, reduction="none")
            return nll.sum(-1).mean()

    return RnnLm, Transformer, RnnNade


def torch_time_steps(torch, model, loss_of_batch, steps):
    """Median ms of `steps` AdamW steps after 3 warm-up ones; `loss_of_batch(g)`
    draws a batch from the generator `g` and returns its loss."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(0)
    times = []
    for i in range(steps + 3):
        sync(torch)
        t = time.perf_counter()
        loss = loss_of_batch(g)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sync(torch)
        if i >= 3:
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def torch_step_ms(torch, model, vocab, batch, length, steps):
    def loss(g):
        x = torch.randint(1, vocab, (batch, length + 1), generator=g).to(TORCH)
        logits = model(x[:, :-1])
        return torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), x[:, 1:].reshape(-1))

    return torch_time_steps(torch, model, loss, steps)


def torch_nade_step_ms(torch, model, batch, length, steps):
    def loss(g):
        v = torch.zeros(batch, length, 88)
        v.scatter_(2, torch.randint(0, 88, (batch, length, 4), generator=g), 1.0)
        return model(v.to(TORCH))

    return torch_time_steps(torch, model, loss, steps)


def torch_sample_tok_s(torch, model, tokens):
    model.eval()
    g = torch.Generator(device=TORCH).manual_seed(0)
    best = 0.0
    with torch.inference_mode():
        for _ in range(3):
            caches = [[] for _ in model.blocks]
            x = torch.zeros((1, 1), dtype=torch.long, device=TORCH)
            sync(torch)
            t = time.perf_counter()
            for pos in range(tokens):
                logits = model(x, caches, pos)[:, -1]
                x = torch.multinomial(torch.softmax(logits, -1), 1, generator=g)
            sync(torch)
            best = max(best, tokens / (time.perf_counter() - t))
    return best


def main():
    global TORCH, BIN_DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda", "vulkan"], default="cpu")
    ap.add_argument("--bin-dir", default=str(BIN_DIR))
    a = ap.parse_args()
    BIN_DIR = a.bin_dir
    TORCH = "cpu" if a.device == "cpu" else "cuda"
    import torch

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    RnnLm, Transformer, RnnNade = torch_models(torch)
    rows = []
    for name, make, vocab, b, t in [
        ("lstm", lambda: RnnLm("lstm"), 130, 32, 64),
        ("gru", lambda: RnnLm("gru"), 130, 32, 64),
        ("vanilla-transformer", Transformer, 310, 8, 256),
    ]:
        pt = torch_step_ms(torch, make().to(TORCH), vocab, b, t, a.steps)
        fu = fugue("bench_step", name, a.steps, a.device, threads=a.threads)["median_ms"]
        rows.append((f"train step: {name} (batch {b} x {t})", pt, fu, "ms"))
        print(f"{rows[-1][0]}: PyTorch {pt:.1f} ms, fugue {fu:.1f} ms", flush=True)
    fu = fugue("bench_step", "transformer", a.steps, a.device, threads=a.threads)["median_ms"]
    rows.append(("train step: music-transformer, relative (batch 8 x 256)", float("nan"), fu, "ms"))
    # The faster of the two usual formulations (all pitches at once, or
    # Magenta's loop over pitches).
    pt = min(torch_nade_step_ms(torch, RnnNade(loop=loop).to(TORCH), 16, 100, a.steps) for loop in (False, True))
    fu = fugue("bench_step", "rnn-nade", a.steps, a.device, threads=a.threads)["median_ms"]
    rows.append(("train step: rnn-nade (batch 16 x 100 frames)", pt, fu, "ms"))
    pt = torch_sample_tok_s(torch, Transformer().to(TORCH).eval(), 512)
    fu = fugue("bench_sample", 512, a.device, threads=a.threads)
    rows.append(("sampling 512 tokens, KV cache, 4 x d256 (tok/s)", pt, fu["vanilla_tok_s"], "tok/s"))
    rows.append(("sampling 512 tokens, relative attention (tok/s)", float("nan"), fu["relative_tok_s"], "tok/s"))
    where = torch.cuda.get_device_name() if TORCH == "cuda" else f"{a.threads} threads"
    print(f"torch {torch.__version__} on {TORCH}, fugue on {a.device} ({where}), median of {a.steps} steps")
    print("| measure | PyTorch | fugue | fugue speed-up |")
    print("|---|---|---|---|")
    for name, pt, fu, unit in rows:
        ratio = (pt / fu if unit == "ms" else fu / pt) if pt == pt else float("nan")
        pts = "–" if pt != pt else f"{pt:.1f} {unit}"
        rs = "–" if ratio != ratio else f"{ratio:.2f}×"
        print(f"| {name} | {pts} | {fu:.1f} {unit} | {rs} |")


if __name__ == "__main__":
    main()
