"""Engine overhead: microseconds per op on small arrays, and a 1,000-op chain, against plain NumPy.

    python benchmarks/engine.py [--size 8] [--repeats 7]

Every row times the same arithmetic twice in the same run: once through tinygrad_seq (building
the graph, and running backward where stated) and once as bare NumPy calls. The ratio is what the
engine costs on top of NumPy; for small arrays it is pure Python overhead. NumPy's BLAS runs on
one thread, as in every entry point (``tinygrad_seq._threads``).
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygrad_seq as tg  # noqa: E402
from tinygrad_seq._threads import limit_blas_threads  # noqa: E402


def median_time(fn, repeats, number):
    """Median seconds per call over ``repeats`` batches of ``number`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def op_rows(size, repeats):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(np.float32)
    b = rng.standard_normal((size, size)).astype(np.float32)
    x, y = tg.Tensor(a, requires_grad=True), tg.Tensor(b, requires_grad=True)
    cases = [
        ("add", lambda: x + y, lambda: a + b),
        ("mul", lambda: x * y, lambda: a * b),
        ("matmul", lambda: x @ y, lambda: a @ b),
        ("tanh", lambda: x.tanh(), lambda: np.tanh(a)),
        ("sigmoid", lambda: x.sigmoid(), lambda: 0.5 * np.tanh(0.5 * a) + 0.5),
        ("sum", lambda: x.sum(), lambda: a.sum()),
        ("slice", lambda: x[:, :2], lambda: a[:, :2]),
        ("add scalar", lambda: x + 1.0, lambda: a + 1.0),
    ]
    rows = []
    for name, ours, ref in cases:
        t_ours = median_time(ours, repeats, 2000)
        t_ref = median_time(ref, repeats, 2000)
        rows.append((f"{name} (forward, records graph)", t_ours * 1e6, t_ref * 1e6))
    return rows


def chain_rows(size, repeats, length=1000):
    """h <- tanh(h * w + b), ``length // 3`` times (3 ops each), forward and backward."""
    rng = np.random.default_rng(0)
    h0 = rng.standard_normal((size, size)).astype(np.float32)
    w0 = (rng.standard_normal((size, size)) * 0.5).astype(np.float32)
    b0 = rng.standard_normal((size, size)).astype(np.float32)
    steps = length // 3

    def engine_step():
        w, b = tg.Tensor(w0, requires_grad=True), tg.Tensor(b0, requires_grad=True)
        h = tg.Tensor(h0)
        for _ in range(steps):
            h = (h * w + b).tanh()
        h.sum().backward()
        return w.grad, b.grad

    def numpy_step():
        hs = [h0]
        for _ in range(steps):
            hs.append(np.tanh(hs[-1] * w0 + b0))
        gw, gb = np.zeros_like(w0), np.zeros_like(b0)
        g = np.ones_like(h0)
        for t in range(steps, 0, -1):
            g = g * (1 - hs[t] * hs[t])  # through tanh
            gb += g
            gw += g * hs[t - 1]
            g = g * w0
        return gw, gb

    got, want = engine_step(), numpy_step()
    for ours, ref in zip(got, want, strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-4)

    def engine_forward():
        with tg.no_grad():
            h = tg.Tensor(h0)
            w, b = tg.Tensor(w0), tg.Tensor(b0)
            for _ in range(steps):
                h = (h * w + b).tanh()

    def numpy_forward():
        h = h0
        for _ in range(steps):
            h = np.tanh(h * w0 + b0)

    t_fb = median_time(engine_step, repeats, 3)
    t_fb_ref = median_time(numpy_step, repeats, 3)
    t_f = median_time(engine_forward, repeats, 3)
    t_f_ref = median_time(numpy_forward, repeats, 3)
    return [
        (
            f"{3 * steps}-op chain, forward + backward (per op)",
            *(t * 1e6 / (3 * steps) for t in (t_fb, t_fb_ref)),
        ),
        (
            f"{3 * steps}-op chain, no_grad forward (per op)",
            *(t * 1e6 / (3 * steps) for t in (t_f, t_f_ref)),
        ),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8, help="arrays are size x size float32")
    parser.add_argument("--repeats", type=int, default=7, help="median over this many batches")
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"arrays: {args.size}x{args.size} float32; median of {args.repeats} batches\n")
    rows = op_rows(args.size, args.repeats) + chain_rows(args.size, args.repeats)
    width = max(len(r[0]) for r in rows)
    print(f"{'operation':<{width}} | tinygrad_seq µs | NumPy µs | ratio")
    print(f"{'-' * width}-|-----------------|----------|------")
    for name, ours, ref in rows:
        print(f"{name:<{width}} | {ours:15.2f} | {ref:8.2f} | {ours / ref:5.1f}x")


if __name__ == "__main__":
    with limit_blas_threads():  # as the CLI and the examples do: see tinygrad_seq/_threads.py
        main()
