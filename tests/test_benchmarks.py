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
    for column in ("by hand ms", "op by op ms", "no_grad ms", "forward by hand ms", "peak MiB"):
        assert f"| {column} |" in text


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
    assert row.count("|") == 18  # the two torch columns and their ratios are filled in
    assert "| torch fused ms (own process) |" in text


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_the_hand_written_reference_computes_what_the_layers_compute(kind):
    """benchmarks/numpy_reference.py: its output and parameter gradients equal nn.LSTM / nn.GRU /
    nn.RNN's in float64, for the loss the benchmark times (sum(out * w), zero initial states)."""
    import numpy as np

    import tinygrad_seq as tg
    from tinygrad_seq import nn

    path = BENCHMARKS / "numpy_reference.py"
    spec = importlib.util.spec_from_file_location("numpy_reference", path)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    T, B, I, H = 7, 3, 4, 5
    G = reference.NUM_GATES[kind]
    rng = np.random.default_rng(1)
    params = {
        "weight_ih": rng.standard_normal((G * H, I)),
        "weight_hh": rng.standard_normal((G * H, H)),
        "bias_ih": rng.standard_normal(G * H),
        "bias_hh": rng.standard_normal(G * H),
    }
    layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](I, H, dtype=np.float64)
    layer.load_state_dict({f"{k}_l0": v for k, v in params.items()})
    step = reference.Reference(kind, params, T, B)
    for _ in range(2):  # the second call reuses the buffers of the first
        x, w = rng.standard_normal((T, B, I)) * 3, rng.standard_normal((T, B, H))
        layer.zero_grad()
        out, _ = layer(tg.Tensor(x))
        loss = (out * w).sum()
        loss.backward()
        hand_loss, grads = step.train_step(x, w)
        np.testing.assert_allclose(step.forward(x), out.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(hand_loss, loss.item(), rtol=1e-9)
        for name in params:
            ours = getattr(layer, f"{name}_l0").grad.numpy()
            np.testing.assert_allclose(grads[name], ours, rtol=1e-9, atol=1e-9, err_msg=name)


TRANSFORMER_TINY = [
    "--repeats",
    "1",
    "--seq",
    "4",
    "--batch",
    "2",
    "--d-model",
    "8",
    "--nhead",
    "2",
]


def test_transformer_benchmark_times_each_column_in_its_own_process():
    pytest.importorskip("torch")
    text = run("transformer", TRANSFORMER_TINY)
    row = next(line for line in text.splitlines() if line.startswith("| 2-layer encoder"))
    assert "| (4, 2, 8, 2) |" in row and row.count("x |") == 2  # both torch ratios filled in
    assert "torch fused (own process) ms" in text and "torch composed (own process) ms" in text
    text = run("transformer", [*TRANSFORMER_TINY, "--no-torch"])
    assert "torch" not in text.split("| model |")[1]


def test_transformer_benchmark_composed_reference_is_torch_layer():
    torch = pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("bench_t", BENCHMARKS / "transformer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 32, 0.0, batch_first=True)
    model = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    x = torch.randn(3, 5, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(module.composed_forward(model, x, 2), model(x), atol=1e-5)
