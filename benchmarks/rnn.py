"""One training step of a recurrent layer, tinygrad_seq against references, in one run.

    python benchmarks/rnn.py [--models lstm gru rnn] [--configs small medium long char]
                             [--repeats 15] [--no-torch] [--no-memory]

A training step is forward + backward over the whole sequence of a one-layer, unidirectional
layer, float32, loss = sum(out * w), zero initial states. NumPy's BLAS runs on one thread, as in
the CLI and the examples (``tinygrad_seq._threads``; set OPENBLAS_NUM_THREADS to choose
otherwise). Each row, for one cell and one configuration, prints:

- the step of tinygrad_seq's ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (the loop over time runs as one
  compiled program per direction, ``tinygrad_seq.scan``), against the best step we can write by
  hand in NumPy (``benchmarks/numpy_reference.py``: buffers allocated once, ``out=`` ufuncs, one
  GEMM for the input projection and one per weight gradient, the same accurate sigmoid), and
  against the same layer recorded op by op (``tg.keep_values()``: a graph node per primitive);
- the ``no_grad`` forward against the hand-written forward;
- the peak of traced allocations (tracemalloc, which sees NumPy's buffers) of a step against the
  hand-written one's: the most traced memory above what was allocated before a first call,
  during a second call, so buffers kept between calls (the reference's, any cache) count;
- where torch is installed, torch's ``nn.LSTM`` / ``GRU`` / ``RNN`` (fused C++ kernels for the
  LSTM) and the same cell composed of torch ops in a Python loop, timed first in a separate process
  that runs no NumPy work, on as many threads as NumPy's BLAS: interleaved in one process, torch's
  OpenMP threads and OpenBLAS's spin against each other on a small machine (a fused medium LSTM
  step measured 26 ms alone, 86 ms interleaved with the NumPy reference).

Times are medians of calls interleaved round-robin (every column of a row alternates), so that the
machine's slow phases hit all columns alike. A ratio below 1x: tinygrad_seq is faster.
"""

import argparse
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
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import numpy_reference  # noqa: E402

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
    G, bound = numpy_reference.NUM_GATES[kind], H**-0.5  # PyTorch's initialisation
    shapes = {"weight_ih": (G * H, I), "weight_hh": (G * H, H), "bias_ih": G * H, "bias_hh": G * H}
    params = {k: rng.uniform(-bound, bound, n).astype(np.float32) for k, n in shapes.items()}
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
    """(training step, forward) written by hand; the buffers are allocated at the first call."""
    x, w_out, params = make_inputs(kind, config)
    T, B, I, H = CONFIGS[config]
    reference = []

    def made():
        if not reference:
            reference.append(numpy_reference.Reference(kind, params, T, B))
        return reference[0]

    return lambda: made().train_step(x, w_out), lambda: made().forward(x)


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
    _, grads = by_hand(kind, config)[0]()
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


def peak_traced_bytes(fn):
    """The most traced memory (tracemalloc: NumPy reports its buffers there) during a second call
    of ``fn``, above what was traced before its first: what a step needs, buffers and caches
    kept between calls included."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    gc.collect()
    tracemalloc.reset_peak()
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
    print(
        f"float32, median of {args.repeats} interleaved runs (each row's columns alternate), "
        "milliseconds; ratio = tinygrad_seq / the column before it (below 1x: faster)\n"
    )

    print(HEADER + (TORCH_HEADER if has_torch else ""))
    print("|---|---|" + "---:|" * (15 if has_torch else 11))
    for kind in args.models:
        for config in args.configs:
            print(row(kind, config, args, torch_times), flush=True)
    if not args.no_memory:
        print(
            "\npeak MiB: tracemalloc's peak during a second call above what was traced before the "
            "first (buffers and caches kept between calls count)"
        )


HEADER = (
    "| model | config (T, B, I, H) | step ms | by hand ms | ratio | op by op ms | ratio "
    "| no_grad ms | forward by hand ms | ratio | peak MiB | by hand MiB | ratio |"
)
TORCH_HEADER = " torch fused ms (own process) | ratio | torch composed ms (own process) | ratio |"


def row(kind, config, args, torch_times):
    """One row of the table: the timings interleaved, then (unless --no-memory) the peaks."""
    check_same_gradients(kind, config)
    step, infer, _ = ours(kind, config)
    hand_step, hand_forward = by_hand(kind, config)
    fns = {
        "ours": step,
        "hand": hand_step,
        "op_by_op": ours(kind, config, op_by_op=True)[0],
        "infer": infer,
        "hand_forward": hand_forward,
    }
    t = {k: v * 1e3 for k, v in time_interleaved(fns, args.repeats).items()}
    ratio = lambda a, b: f"{t[a] / t[b]:.2f}x"  # noqa: E731
    cells = [kind, f"{config} {CONFIGS[config]}", f"{t['ours']:.1f}", f"{t['hand']:.1f}"]
    cells += [ratio("ours", "hand"), f"{t['op_by_op']:.1f}", ratio("ours", "op_by_op")]
    cells += [f"{t['infer']:.1f}", f"{t['hand_forward']:.1f}", ratio("infer", "hand_forward")]
    if args.no_memory:
        cells += ["-", "-", "-"]
    else:
        ours_mib = peak_traced_bytes(ours(kind, config)[0]) / 2**20
        hand_mib = peak_traced_bytes(by_hand(kind, config)[0]) / 2**20
        cells += [f"{ours_mib:.1f}", f"{hand_mib:.1f}", f"{ours_mib / hand_mib:.2f}x"]
    if torch_times is not None:
        for name in ("fused", "composed"):
            ms = torch_times[f"{kind} {config}"][name] * 1e3
            cells += [f"{ms:.1f}", f"{t['ours'] / ms:.2f}x"]
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    with limit_blas_threads():  # as the CLI and the examples do: see tinygrad_seq/_threads.py
        main()
