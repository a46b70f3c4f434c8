"""One training step of a recurrent layer, tinygrad_seq against references, in one run.

    python benchmarks/rnn.py [--models lstm gru rnn] [--configs small medium long char]
                             [--repeats 15] [--no-torch] [--no-memory]

A training step is forward + backward over the whole sequence of a one-layer, unidirectional
layer, float32, loss = sum(out * w). NumPy's BLAS runs on one thread, as in the CLI and the
examples (``tinygrad_seq._threads``; set OPENBLAS_NUM_THREADS to choose otherwise). Every row
times, interleaved so that the machine's slow phases hit all columns alike:

- tinygrad_seq's ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (cells composed of primitives; the loop
  over time runs as one recorded program per direction, ``tinygrad_seq.scan``);
- the same layers recorded op by op, a graph node per primitive per step (under
  ``tg.keep_values()``, which makes the layers record that way; it also keeps every value);
- the same step written by hand in NumPy with a hand-derived backward
  (``examples/manual_bptt.py``) — the reference of the ratios;
- where torch is installed: ``torch.nn.LSTM``/``GRU``/``RNN`` (fused C++ kernels), and the same
  cell composed of torch ops in a Python loop. These are timed first, in a separate process that
  runs no NumPy work, on as many threads as NumPy's BLAS: interleaved in one process, torch's
  OpenMP threads and OpenBLAS's threads spin against each other on a small machine (a fused
  medium LSTM step measured 26 ms alone, 86 ms interleaved with the NumPy reference).

Then, for the LSTM: inference (``no_grad``) against the training forward and against the
hand-written forward (and, where torch is installed, torch's fused layer's no_grad and training
forward), and the peak of NumPy allocations (tracemalloc) of one long-config step against the
hand-written one.
"""

import argparse
import functools
import gc
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

import manual_bptt  # noqa: E402

import tinygrad_seq as tg  # noqa: E402
from tinygrad_seq import nn  # noqa: E402
from tinygrad_seq._threads import limit_blas_threads  # noqa: E402

CONFIGS = {  # (T, B, I, H)
    "small": (64, 16, 32, 64),
    "medium": (64, 32, 64, 256),
    "long": (512, 8, 32, 128),
    "char": (100, 1, 65, 100),
}
LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def make_inputs(kind, config, seed=0):
    T, B, I, H = CONFIGS[config]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    w_out = rng.standard_normal((T, B, H)).astype(np.float32)
    params = manual_bptt.init_params(kind, I, H, dtype=np.float32, seed=seed)
    return x, w_out, params


def ours(kind, config, op_by_op=False):
    """(training step, inference, training forward) of tinygrad_seq's layer."""
    if op_by_op:
        step = ours(kind, config)[0]

        def recorded_op_by_op():
            with tg.keep_values():
                return step()

        return recorded_op_by_op, None, None
    x, w_out, params = make_inputs(kind, config)
    T, B, I, H = CONFIGS[config]
    layer = LAYERS[kind](I, H)
    layer.load_state_dict({f"{k}_l0": v for k, v in params.items()})
    w = tg.Tensor(w_out)

    def step():
        layer.zero_grad()
        out, _ = layer(tg.Tensor(x))
        loss = (out * w).sum()
        loss.backward()
        return loss.item(), layer.weight_hh_l0.grad

    def infer():
        with tg.no_grad():
            return layer(tg.Tensor(x))[0]

    def train_forward():
        out, _ = layer(tg.Tensor(x))
        return (out * w).sum()

    return step, infer, train_forward


def by_hand(kind, config):
    x, w_out, params = make_inputs(kind, config)
    return lambda: manual_bptt.train_step(kind, x, params, w_out)


def torch_fused(kind, config):
    """(training step, inference, training forward) of torch's fused layer."""
    import torch

    x, w_out, params = make_inputs(kind, config)
    T, B, I, H = CONFIGS[config]
    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind](I, H)
    layer.load_state_dict({f"{k}_l0": torch.from_numpy(v) for k, v in params.items()})
    xt, wt = torch.from_numpy(x), torch.from_numpy(w_out)

    def step():
        layer.zero_grad()
        out, _ = layer(xt)
        (out * wt).sum().backward()

    def infer():
        with torch.no_grad():
            return layer(xt)[0]

    def train_forward():
        return (layer(xt)[0] * wt).sum()

    return step, infer, train_forward


def torch_composed(kind, config):
    """The same cell written with torch ops in a Python loop (what tinygrad_seq does in NumPy)."""
    import torch

    x, w_out, params = make_inputs(kind, config)
    T, B, I, H = CONFIGS[config]
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt, wt = torch.from_numpy(x), torch.from_numpy(w_out)

    def step():
        for v in p.values():
            v.grad = None
        gx = (xt.reshape(T * B, I) @ p["weight_ih"].T).reshape(T, B, -1) + p["bias_ih"]
        w_hh_t = p["weight_hh"].T
        h = torch.zeros(B, H)
        c = torch.zeros(B, H)
        outs = []
        for t in range(T):
            gh = h @ w_hh_t + p["bias_hh"]
            if kind == "lstm":
                i, f, g, o = (gx[t] + gh).chunk(4, 1)
                c = f.sigmoid() * c + i.sigmoid() * g.tanh()
                h = o.sigmoid() * c.tanh()
            elif kind == "gru":
                xr, xz, xn = gx[t].chunk(3, 1)
                hr, hz, hn = gh.chunk(3, 1)
                r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
                n = (xn + r * hn).tanh()
                h = (1 - z) * n + z * h
            else:
                h = (gx[t] + gh).tanh()
            outs.append(h)
        (torch.stack(outs) * wt).sum().backward()

    return step


def check_same_gradients(kind, config):
    """The timed steps compute the same thing: compare weight_hh gradients."""
    step, _, _ = ours(kind, config)
    _, grad = step()
    x, w_out, params = make_inputs(kind, config)
    _, grads = manual_bptt.train_step(kind, x, params, w_out)
    scale = np.abs(grads["weight_hh"]).max()
    np.testing.assert_allclose(grad, grads["weight_hh"], atol=2e-3 * scale, rtol=1e-2)


def time_interleaved(fns, repeats):
    """Median seconds of each function, calls interleaved round-robin (one warm-up each)."""
    for fn in fns.values():
        fn()
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}


def peak_numpy_bytes(fn):
    """Peak traced allocation (bytes) while ``fn`` runs (NumPy reports its buffers there)."""
    fn()
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def blas_pools():
    """threadpoolctl's description of the BLAS libraries loaded (empty without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [i for i in threadpool_info() if i.get("user_api") == "blas"]


def machine_line():
    blas = ", ".join(
        f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads, "
        f"{i.get('architecture')})"
        for i in blas_pools()
    )
    blas = blas or "unknown (pip install threadpoolctl to show it)"
    import os

    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
        f"numpy {np.__version__}, BLAS: {blas}"
    )


def torch_worker(args):
    """``--torch-worker``: time the torch columns in this process, which does no NumPy work, and
    print them as one line of JSON for the parent (``time_torch_apart``)."""
    import torch

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    result = {"version": torch.__version__, "threads": torch.get_num_threads()}
    for kind in args.models:
        for config in args.configs:
            fns = {"fused": torch_fused(kind, config)[0], "composed": torch_composed(kind, config)}
            result[f"{kind} {config}"] = time_interleaved(fns, args.repeats)
    for config in args.configs:
        _, infer, train_forward = torch_fused("lstm", config)
        fns = {"torch_infer": infer, "torch_train": train_forward}
        result[f"forward {config}"] = time_interleaved(fns, args.repeats)
    print(json.dumps(result))


def time_torch_apart(args):
    """(the torch columns' medians in seconds, timed by this script in a subprocess, or None;
    why not)."""
    if args.no_torch:
        return None, "--no-torch"
    if importlib.util.find_spec("torch") is None:
        return None, "torch is not installed"
    command = [sys.executable, str(Path(__file__).resolve()), "--torch-worker", "--models"]
    command += [*args.models, "--configs", *args.configs, "--repeats", str(args.repeats)]
    threads = max((i.get("num_threads") or 0 for i in blas_pools()), default=0)
    if threads:  # as many as NumPy's BLAS has, so neither side has more cores to itself
        command += ["--torch-threads", str(threads)]
    print("timing torch in its own process ...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        return None, f"the torch process failed: {last}"
    return json.loads(done.stdout.strip().splitlines()[-1]), None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(LAYERS), choices=list(LAYERS))
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per column")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch columns")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--torch-threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.torch_worker:
        return torch_worker(args)

    torch_times, why_not = time_torch_apart(args)
    has_torch = torch_times is not None
    print(machine_line())
    if has_torch:
        print(
            f"torch {torch_times['version']} ({torch_times['threads']} threads): its columns are "
            "timed first, in a separate process that runs no NumPy work (interleaved in one "
            "process, torch's and OpenBLAS's spinning threads slow each other down)"
        )
    else:
        print(f"no torch columns: {why_not}")
    print(f"float32, median of {args.repeats} interleaved runs, milliseconds per training step\n")

    header = (
        "| model | config (T, B, I, H) | tinygrad_seq | NumPy by hand | ratio | op by op | ratio |"
    )
    rule = "|---|---|---|---|---|---|---|"
    if has_torch:
        header += " torch fused (own process) | ratio | torch composed (own process) | ratio |"
        rule += "---|---|---|---|"
    print(header)
    print(rule)
    for kind in args.models:
        for config in args.configs:
            check_same_gradients(kind, config)
            fns = {
                "ours": ours(kind, config)[0],
                "hand": by_hand(kind, config),
                "op_by_op": ours(kind, config, op_by_op=True)[0],
            }
            t = time_interleaved(fns, args.repeats)
            if has_torch:
                t.update(torch_times[f"{kind} {config}"])
            t = {k: v * 1e3 for k, v in t.items()}
            row = (
                f"| {kind} | {config} {CONFIGS[config]} | {t['ours']:.1f} | {t['hand']:.1f} "
                f"| {t['ours'] / t['hand']:.2f}x | {t['op_by_op']:.1f} "
                f"| {t['ours'] / t['op_by_op']:.2f}x |"
            )
            if has_torch:
                row += (
                    f" {t['fused']:.1f} | {t['ours'] / t['fused']:.2f}x | {t['composed']:.1f} "
                    f"| {t['ours'] / t['composed']:.2f}x |"
                )
            print(row, flush=True)

    print("\ninference (no_grad forward) vs training forward (records the graph), LSTM:")
    header = "| config | no_grad ms | training forward ms | speed-up | forward by hand ms | ratio |"
    rule = "|---|---|---|---|---|---|"
    if has_torch:  # the same comparison for a framework with fused kernels, for reference
        header += " torch no_grad ms (own process) | torch training forward ms | speed-up |"
        rule += "---|---|---|"
    print(header)
    print(rule)
    for config in args.configs:
        _, infer, train_forward = ours("lstm", config)
        x, _, params = make_inputs("lstm", config)
        fns = {"infer": infer, "train": train_forward}
        fns["hand"] = functools.partial(manual_bptt.lstm_forward, x, params)
        t = time_interleaved(fns, args.repeats)
        if has_torch:
            t.update(torch_times[f"forward {config}"])
        t = {k: v * 1e3 for k, v in t.items()}
        row = (
            f"| {config} | {t['infer']:.1f} | {t['train']:.1f} | {t['train'] / t['infer']:.2f}x "
            f"| {t['hand']:.1f} | {t['infer'] / t['hand']:.2f}x |"
        )
        if has_torch:
            row += (
                f" {t['torch_infer']:.1f} | {t['torch_train']:.1f} "
                f"| {t['torch_train'] / t['torch_infer']:.2f}x |"
            )
        print(row)

    if not args.no_memory:
        step = ours("lstm", "long")[0]
        hand = by_hand("lstm", "long")
        ours_mib, hand_mib = (peak_numpy_bytes(f) / 2**20 for f in (step, hand))
        print(
            f"\npeak NumPy allocations of one LSTM training step, long config (tracemalloc): "
            f"tinygrad_seq {ours_mib:.1f} MiB, by hand {hand_mib:.1f} MiB, "
            f"ratio {ours_mib / hand_mib:.2f}x"
        )


if __name__ == "__main__":
    with limit_blas_threads():  # as the CLI and the examples do: see tinygrad_seq/_threads.py
        main()
