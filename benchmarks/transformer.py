"""One training step of a 2-layer Transformer encoder: tinygrad_seq against torch.

    python benchmarks/transformer.py [--repeats 15] [--no-torch]
                                     [--d-model 64] [--nhead 4] [--seq 32] [--batch 16]

A training step is forward + backward of ``nn.TransformerEncoder`` (2 layers, post-norm, ReLU,
dim_feedforward = 4 d_model, no dropout, batch_first, float32), loss = sum(out * w). Each column
is timed in a process of its own (so that torch's OpenMP threads and NumPy's BLAS threads never
spin against each other, as in benchmarks/rnn.py), every process on one BLAS/OpenMP thread
unless OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or MKL_NUM_THREADS says otherwise:

- tinygrad_seq: ``tg.nn.TransformerEncoder``, attention composed of the primitives;
- torch fused: ``torch.nn.TransformerEncoder`` (its C++ attention kernel, fused layer norm...);
- torch composed: the same layer written with torch's basic ops (matmul, softmax, layer_norm),
  as ours is composed: the cost of the framework around the same arithmetic.

The ratio is tinygrad_seq's median time divided by the reference's (below 1x: faster).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinygrad_seq._threads import limit_blas_threads, threads_chosen_by_user  # noqa: E402

COLUMNS = ("torch fused", "torch composed")


def inputs(args):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.seq, args.d_model)).astype(np.float32)
    w = rng.standard_normal(x.shape).astype(np.float32)
    return x, w


def ours_step(args):
    import tinygrad_seq as tg

    layer = tg.nn.TransformerEncoderLayer(
        args.d_model, args.nhead, 4 * args.d_model, 0.0, batch_first=True, seed=0
    )
    model = tg.nn.TransformerEncoder(layer, 2)
    x, w = inputs(args)
    x = tg.tensor(x, requires_grad=True)

    def step():
        model.zero_grad()
        x.grad = None
        (model(x) * w).sum().backward()

    return step


def torch_step(args, composed):
    import torch

    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(
        args.d_model, args.nhead, 4 * args.d_model, 0.0, batch_first=True
    )
    model = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    x, w = (torch.from_numpy(a) for a in inputs(args))
    x.requires_grad_(True)
    forward = (lambda v: composed_forward(model, v, args.nhead)) if composed else model

    def step():
        model.zero_grad()
        x.grad = None
        (forward(x) * w).sum().backward()

    return step


def composed_forward(model, x, nhead):
    """torch's encoder layers, recomputed from torch's basic ops (post-norm, ReLU)."""
    import torch

    n, length, e = x.shape
    d = e // nhead
    for layer in model.layers:
        attn = layer.self_attn
        q, k, v = (x @ attn.in_proj_weight.T + attn.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.reshape(n, length, nhead, d).transpose(1, 2) for t in (q, k, v))
        weights = torch.softmax(q @ k.transpose(-2, -1) / d**0.5, dim=-1)
        context = (weights @ v).transpose(1, 2).reshape(n, length, e)
        x = layer.norm1(x + attn.out_proj(context))
        x = layer.norm2(x + layer.linear2(torch.relu(layer.linear1(x))))
    return x


def time_step(step, repeats):
    step()  # warm up: caches, allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def worker(args):
    """``--worker NAME``: time one column in this process and print its median as JSON."""
    if args.worker == "tinygrad_seq":
        step = ours_step(args)
    else:
        import torch

        if not threads_chosen_by_user():
            torch.set_num_threads(1)
        step = torch_step(args, composed=args.worker == "torch composed")
    print(json.dumps({"median": time_step(step, args.repeats)}))
    return 0


def time_apart(name, args):
    """The median seconds of column ``name``, timed by this script in a process of its own."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name]
    for option in ("repeats", "d_model", "nhead", "seq", "batch"):
        command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    env = dict(os.environ)
    if not threads_chosen_by_user():  # one thread for BLAS and torch's OpenMP, as the CLI does
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["median"]


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=15, help="timed steps (default %(default)s)")
    p.add_argument("--d-model", type=int, default=64, help="(default %(default)s)")
    p.add_argument("--nhead", type=int, default=4, help="(default %(default)s)")
    p.add_argument("--seq", type=int, default=32, help="sequence length (default %(default)s)")
    p.add_argument("--batch", type=int, default=16, help="(default %(default)s)")
    p.add_argument("--no-torch", action="store_true", help="only tinygrad_seq (default: off)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.worker:
        return worker(args)
    try:
        import torch  # noqa: F401  (only whether it is installed)

        columns = () if args.no_torch else COLUMNS
    except ImportError:
        columns = ()
    ours = time_apart("tinygrad_seq", args)
    config = f"({args.seq}, {args.batch}, {args.d_model}, {args.nhead})"
    header = "| model | config (L, N, E, heads) | tinygrad_seq ms |"
    row = f"| 2-layer encoder | {config} | {ours * 1e3:.1f} |"
    for name in columns:
        theirs = time_apart(name, args)
        header += f" {name} (own process) ms | ratio |"
        row += f" {theirs * 1e3:.1f} | {ours / theirs:.2f}x |"
    threads = "threads as the environment sets" if threads_chosen_by_user() else "one thread"
    print(f"{platform.machine()}, Python {platform.python_version()}, {threads} per process")
    print("training step (forward + backward), median of", args.repeats, "\n")
    print(header)
    print("|---|---|" + "---:|" * (header.count("|") - 3))
    print(row)
    return 0


if __name__ == "__main__":
    with limit_blas_threads():  # as the CLI does: see tinygrad_seq/_threads.py
        sys.exit(main())
