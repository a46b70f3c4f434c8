"""The benchmark scripts run and print their tables (smoke tests: one repeat, the smallest config).
What they measure is reported by running them, never asserted here."""

import contextlib
import importlib.util
import io
from pathlib import Path

import pytest

from tinygrad_seq._threads import limit_blas_threads

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run(name, argv):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(argv)
    return out.getvalue()


@pytest.mark.parametrize("model", ["lstm", "gru", "rnn"])
def test_rnn_benchmark_prints_a_row_per_model(model):
    argv = ["--models", model, "--configs", "char", "--repeats", "1", "--no-torch", "--no-memory"]
    text = run("rnn", argv)
    assert f"| {model} | char (100, 1, 65, 100) |" in text
    assert "op by op" in text and "inference (no_grad forward)" in text


def test_engine_benchmark_prints_its_table():
    text = run("engine", ["--repeats", "1"])
    assert "| tinygrad_seq µs | NumPy µs | ratio" in text
    for row in ("add (forward, records graph)", "sigmoid (forward, records graph)"):
        assert row in text


def test_rnn_benchmark_times_torch_in_its_own_process():
    pytest.importorskip("torch")
    argv = ["--models", "rnn", "--configs", "char", "--repeats", "1", "--no-memory"]
    with limit_blas_threads():  # as the script runs: torch then gets one thread too
        text = run("rnn", argv)
    assert "in a separate process that runs no NumPy work" in text
    row = next(line for line in text.splitlines() if line.startswith("| rnn | char"))
    assert row.count("|") == 12  # the two torch columns and their ratios are filled in
    assert "| torch fused (own process) |" in text
