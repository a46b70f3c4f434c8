"""Tests for examples/manual_bptt.py: hand-derived BPTT for RNN, LSTM and GRU."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

_PATH = Path(__file__).resolve().parents[1] / "examples" / "manual_bptt.py"
_spec = importlib.util.spec_from_file_location("manual_bptt", _PATH)
mb = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("manual_bptt", mb)
_spec.loader.exec_module(mb)

KINDS = ["lstm", "gru", "rnn"]
PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _problem(kind, T, B, I, H, seed, dtype=np.float64):
    """Random inputs (params, x, h0[, c0]) and the weights of a linear loss."""
    rng = np.random.default_rng(seed)
    inputs = dict(mb.init_params(kind, I, H, dtype=dtype, seed=seed))
    inputs["x"] = rng.standard_normal((T, B, I)).astype(dtype)
    inputs["h0"] = rng.standard_normal((B, H)).astype(dtype)
    weights = {
        "out": rng.standard_normal((T, B, H)).astype(dtype),
        "h_T": rng.standard_normal((B, H)).astype(dtype),
    }
    if kind == "lstm":
        inputs["c0"] = rng.standard_normal((B, H)).astype(dtype)
        weights["c_T"] = rng.standard_normal((B, H)).astype(dtype)
    return inputs, weights


def _forward(kind, inputs):
    """(out, h_T, c_T or None, cache)."""
    params = {k: inputs[k] for k in PARAMS}
    if kind == "lstm":
        return mb.lstm_forward(inputs["x"], params, inputs["h0"], inputs["c0"])
    out, h_T, cache = getattr(mb, f"{kind}_forward")(inputs["x"], params, inputs["h0"])
    return out, h_T, None, cache


def _loss(kind, inputs, weights):
    out, h_T, c_T, _ = _forward(kind, inputs)
    loss = np.sum(out * weights["out"]) + np.sum(h_T * weights["h_T"])
    if c_T is not None:
        loss += np.sum(c_T * weights["c_T"])
    return float(loss)


def _grads(kind, inputs, weights):
    *_, cache = _forward(kind, inputs)
    if kind == "lstm":
        return mb.lstm_backward(weights["out"], cache, weights["h_T"], weights["c_T"])
    return getattr(mb, f"{kind}_backward")(weights["out"], cache, weights["h_T"])


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=8, deadline=None)
@given(
    T=st.integers(1, 4),
    B=st.integers(1, 3),
    I=st.integers(1, 3),
    H=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_gradients_match_central_differences(kind, T, B, I, H, seed):
    inputs, weights = _problem(kind, T, B, I, H, seed)
    grads = _grads(kind, inputs, weights)
    assert set(grads) == set(inputs)
    eps = 1e-6
    for name, arr in inputs.items():
        flat = arr.reshape(-1)  # view: perturbing it perturbs the input
        numeric = np.empty(flat.size)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            up = _loss(kind, inputs, weights)
            flat[j] = old - eps
            down = _loss(kind, inputs, weights)
            flat[j] = old
            numeric[j] = (up - down) / (2 * eps)
        assert grads[name].shape == arr.shape, name
        np.testing.assert_allclose(grads[name].reshape(-1), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", KINDS)
def test_matches_torch(kind):
    torch = pytest.importorskip("torch")
    T, B, I, H = 6, 3, 4, 5
    torch.manual_seed(0)
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
    layer = cls(I, H).double()
    # torch's weights, loaded as they are
    params = {k: getattr(layer, k + "_l0").detach().numpy().copy() for k in PARAMS}
    _, weights = _problem(kind, T, B, I, H, seed=1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((T, B, I))
    h0 = rng.standard_normal((B, H))
    c0 = rng.standard_normal((B, H))

    tx = torch.tensor(x, requires_grad=True)
    th0 = torch.tensor(h0[None], requires_grad=True)
    tc0 = torch.tensor(c0[None], requires_grad=True)
    if kind == "lstm":
        t_out, (t_hT, t_cT) = layer(tx, (th0, tc0))
    else:
        t_out, t_hT = layer(tx, th0)
    loss = (t_out * torch.tensor(weights["out"])).sum()
    loss = loss + (t_hT[0] * torch.tensor(weights["h_T"])).sum()
    if kind == "lstm":
        loss = loss + (t_cT[0] * torch.tensor(weights["c_T"])).sum()
    loss.backward()

    inputs = {**params, "x": x, "h0": h0}
    if kind == "lstm":
        inputs["c0"] = c0
    out, h_T, c_T, _ = _forward(kind, inputs)
    grads = _grads(kind, inputs, weights)

    def close(ours, theirs):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-9, atol=1e-12)

    close(out, t_out)
    close(h_T, t_hT[0])
    if kind == "lstm":
        close(c_T, t_cT[0])
        close(grads["c0"], tc0.grad[0])
    for k in PARAMS:
        close(grads[k], getattr(layer, k + "_l0").grad)
    close(grads["x"], tx.grad)
    close(grads["h0"], th0.grad[0])


@pytest.mark.parametrize("kind", KINDS)
def test_float32_stays_float32(kind):
    inputs, weights = _problem(kind, 5, 2, 3, 4, seed=3, dtype=np.float32)
    out, h_T, c_T, _ = _forward(kind, inputs)
    grads = _grads(kind, inputs, weights)
    assert out.dtype == h_T.dtype == np.float32
    if c_T is not None:
        assert c_T.dtype == np.float32
    for name, g in grads.items():
        assert g.dtype == np.float32, name

    loss, step_grads = mb.train_step(
        kind, inputs["x"], {k: inputs[k] for k in PARAMS}, weights["out"]
    )
    assert loss.dtype == np.float32
    assert all(g.dtype == np.float32 for g in step_grads.values())

    # and float32 agrees with float64 to float32 accuracy
    inputs64 = {k: v.astype(np.float64) for k, v in inputs.items()}
    weights64 = {k: v.astype(np.float64) for k, v in weights.items()}
    grads64 = _grads(kind, inputs64, weights64)
    for name in grads:
        np.testing.assert_allclose(grads[name], grads64[name], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_train_step_and_defaults(kind):
    T, B, I, H = 4, 2, 3, 5
    params = mb.init_params(kind, I, H, dtype=np.float64, seed=4)
    assert params["weight_ih"].shape == (mb.NUM_GATES[kind] * H, I)
    assert np.all(np.abs(params["weight_hh"]) <= H**-0.5)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((T, B, I))
    w_out = rng.standard_normal((T, B, H))

    loss, grads = mb.train_step(kind, x, params, w_out)
    # same as an explicit forward/backward with zero initial states
    inputs = {**params, "x": x, "h0": np.zeros((B, H))}
    weights = {"out": w_out, "h_T": np.zeros((B, H))}
    if kind == "lstm":
        inputs["c0"] = np.zeros((B, H))
        weights["c_T"] = np.zeros((B, H))
    assert loss == pytest.approx(_loss(kind, inputs, weights), rel=1e-12)
    expected = _grads(kind, inputs, weights)
    for name in expected:
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-12, atol=1e-14)

    # the backward pass must not modify the gradients it is given
    dh_T = rng.standard_normal((B, H))
    keep = dh_T.copy()
    *_, cache = _forward(kind, inputs)
    getattr(mb, f"{kind}_backward")(w_out, cache, dh_T)
    np.testing.assert_array_equal(dh_T, keep)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=8, deadline=None)
@given(
    T=st.integers(1, 4),
    B=st.integers(1, 3),
    I=st.integers(1, 3),
    H=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_hand_gradients_equal_the_engines(kind, T, B, I, H, seed):
    inputs, weights = _problem(kind, T, B, I, H, seed)
    hand = _grads(kind, inputs, weights)
    engine = mb.engine_gradients(kind, inputs, weights)
    assert set(engine) == set(hand) == set(inputs)
    for name in hand:
        assert engine[name].shape == hand[name].shape and engine[name].dtype == np.float64
        np.testing.assert_allclose(hand[name], engine[name], rtol=0, atol=1e-10, err_msg=name)


def test_main_fails_when_the_engine_disagrees(capsys, monkeypatch):
    real = mb.engine_gradients

    def off_by_a_little(kind, inputs, weights):
        grads = real(kind, inputs, weights)
        grads["weight_hh"] = grads["weight_hh"] + 1e-8  # far below finite differences' noise
        return grads

    monkeypatch.setattr(mb, "engine_gradients", off_by_a_little)
    assert mb.main(["--kind", "gru", "--T", "3", "--hidden", "3"]) == 1
    out = capsys.readouterr().out
    assert "GRADIENT MISMATCH" in out
    assert [line.split()[0] for line in out.splitlines() if "too large" in line] == ["weight_hh"]


def test_main_runs(capsys):
    argv = ["--kind", "all", "--T", "3", "--batch", "2", "--input", "2", "--hidden", "3"]
    assert mb.main(argv) == 0
    text = capsys.readouterr().out
    for word in ("lstm", "gru", "rnn", "weight_hh", "c0", "vs engine", "all gradients match"):
        assert word in text


def test_main_help(capsys):
    with pytest.raises(SystemExit) as exc:
        mb.main(["--help"])
    assert exc.value.code == 0
    assert "--hidden" in capsys.readouterr().out
