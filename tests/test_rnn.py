"""Tests for nn/cells.py and nn/rnn.py without PyTorch: the cells against NumPy equations,
gradchecks of cells and layers, variable lengths, truncated BPTT, dropout, a 10,000-step sequence,
dtypes, scopes and names, and clear errors for bad input. PyTorch parity: test_rnn_torch.py."""

import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_seq as tg
from tinygrad_seq import engine, nn
from tinygrad_seq.nn import cells, rnn
from tinygrad_seq.scan import shown_parents
from tinygrad_seq.testing import gradcheck
from tinygrad_seq.viz.trace import walk

KINDS = ["RNN", "LSTM", "GRU"]
CELLS = {"RNN": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}
LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
PARAM_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _state_count(kind):
    return 2 if kind == "LSTM" else 1


def _as_state(kind, tensors):
    return tuple(tensors) if kind == "LSTM" else tensors[0]


def _flat(result):
    if not isinstance(result, tuple):
        return [result]
    return [t for item in result for t in _flat(item)]


def _use_leaves(module, names, leaves):
    """Make ``module`` compute with ``leaves`` as its parameters (gradcheck owns the leaves)."""
    for name, leaf in zip(names, leaves):
        module._parameters[name] = leaf


@pytest.mark.parametrize(
    "test",
    [
        t
        for m in (cells, rnn)
        for t in doctest.DocTestFinder(exclude_empty=True).find(m)
        if t.examples
    ],
    ids=lambda t: t.name,
)
def test_docstring_examples_run(test):
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test)
    assert result.failed == 0


# --- parameters -----------------------------------------------------------------------------------


def test_parameter_names_order_and_shapes_follow_pytorch():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, seed=0)
    names = [
        f"{kind}_l{layer}{suffix}"
        for layer in range(2)
        for suffix in ("", "_reverse")
        for kind in PARAM_KINDS
    ]
    params = dict(lstm.named_parameters())
    assert list(params) == names
    assert params["weight_ih_l0"].shape == (16, 3)
    assert params["weight_ih_l1_reverse"].shape == (16, 8)  # fed both directions of layer 0
    assert params["weight_hh_l1"].shape == (16, 4)
    assert params["bias_hh_l0_reverse"].shape == (16,)
    assert [n for n, _ in nn.GRUCell(2, 5).named_parameters()] == list(PARAM_KINDS)
    assert nn.GRUCell(2, 5).weight_hh.shape == (15, 5)


@pytest.mark.parametrize("kind", KINDS)
def test_bias_false_registers_no_biases(kind):
    layer = LAYERS[kind](2, 3, num_layers=2, bias=False, seed=0)
    assert [n for n, _ in layer.named_parameters()] == [
        "weight_ih_l0",
        "weight_hh_l0",
        "weight_ih_l1",
        "weight_hh_l1",
    ]
    cell = CELLS[kind](2, 3, bias=False, seed=0)
    assert cell.bias_ih is None and cell.bias_hh is None
    assert cell(np.ones((1, 2), dtype=np.float32)) is not None


@pytest.mark.parametrize("kind", KINDS)
def test_initialisation_is_uniform_in_pytorch_bound_and_seeded(kind):
    H = 16
    a = LAYERS[kind](5, H, num_layers=2, seed=3)
    b = LAYERS[kind](5, H, num_layers=2, seed=3)
    c = LAYERS[kind](5, H, num_layers=2, seed=4)
    d = LAYERS[kind](5, H, num_layers=2, seed=None)
    bound = 1 / np.sqrt(H)
    values = np.concatenate([p.numpy().ravel() for p in a.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound
    for (_, pa), (_, pb), (_, pc), (_, pd) in zip(
        a.named_parameters(), b.named_parameters(), c.named_parameters(), d.named_parameters()
    ):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())
        assert not np.array_equal(pa.numpy(), pc.numpy())
        assert not np.array_equal(pa.numpy(), pd.numpy())
    assert CELLS[kind](2, 3, dtype=np.float64).weight_ih.dtype == np.float64


# --- the cells' equations -------------------------------------------------------------------------


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference_cell(kind, x, state, p, nonlinearity="tanh"):
    """The equations of the docstrings, written directly in NumPy (PyTorch's gate order)."""
    h = state[0]
    gx = x @ p["weight_ih"].T + p["bias_ih"]
    gh = h @ p["weight_hh"].T + p["bias_hh"]
    if kind == "RNN":
        return ((np.tanh if nonlinearity == "tanh" else lambda v: np.maximum(v, 0))(gx + gh),)
    if kind == "LSTM":
        i, f, g, o = np.split(gx + gh, 4, axis=-1)
        c = _sigmoid(f) * state[1] + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c
    x_r, x_z, x_n = np.split(gx, 3, axis=-1)
    h_r, h_z, h_n = np.split(gh, 3, axis=-1)
    r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)  # b_hn inside r * (...)
    return ((1 - z) * n + z * h,)


@pytest.mark.parametrize("kind, nonlinearity", [(k, "tanh") for k in KINDS] + [("RNN", "relu")])
@pytest.mark.parametrize("lead", [(3,), ()], ids=["batched", "unbatched"])
def test_cell_follows_its_equations(kind, nonlinearity, lead):
    extra = {"nonlinearity": nonlinearity} if kind == "RNN" else {}
    cell = CELLS[kind](4, 5, dtype=np.float64, seed=0, **extra)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(lead + (4,))
    state = [rng.standard_normal(lead + (5,)) for _ in range(_state_count(kind))]
    params = {k: getattr(cell, k).numpy() for k in PARAM_KINDS}
    expected = reference_cell(kind, x, state, params, nonlinearity)
    got = _flat(cell(x, _as_state(kind, state)))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-12, atol=1e-14)
    zeros = [np.zeros(lead + (5,))] * _state_count(kind)
    for g, e in zip(_flat(cell(x)), reference_cell(kind, x, zeros, params, nonlinearity)):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_layer_is_the_cell_unrolled_in_both_directions(kind):
    T, B, I, H = 4, 2, 3, 5
    layer = LAYERS[kind](I, H, bidirectional=True, dtype=np.float64, seed=0)
    x = np.random.default_rng(1).standard_normal((T, B, I))
    output, final = layer(x)
    for suffix, order, half in [
        ("", range(T), slice(0, H)),
        ("_reverse", range(T)[::-1], slice(H, None)),
    ]:
        cell = CELLS[kind](I, H, dtype=np.float64)
        cell.load_state_dict({k: getattr(layer, f"{k}_l0{suffix}").numpy() for k in PARAM_KINDS})
        state = None
        for t in order:
            state = cell(x[t], state)
            h = state[0] if kind == "LSTM" else state
            np.testing.assert_allclose(output.numpy()[t, :, half], h.numpy(), rtol=1e-12)
        direction = 1 if suffix else 0
        np.testing.assert_allclose(_flat(final)[0].numpy()[direction], h.numpy(), rtol=1e-12)


def test_gates_and_states_are_named_as_taught():
    h, c = nn.LSTMCell(2, 3, seed=0)(tg.Tensor(np.ones((1, 2), dtype=np.float32)))
    assert (h.name, c.name) == ("hidden state", "cell state")
    names = {node.name for node in engine.toposort((h.sum() + c.sum()).node)}
    assert {"input gate", "forget gate", "candidate", "output gate", "cell state"} <= names
    h = nn.GRUCell(2, 3, seed=0)(np.ones((1, 2), dtype=np.float32))
    names = {node.name for node in engine.toposort(h.sum().node)}
    assert {"reset gate", "update gate", "candidate", "hidden state"} <= names
    assert nn.RNNCell(2, 3, seed=0)(np.ones(2, dtype=np.float32)).name == "hidden state"


def _producer(final):
    """The drawn node that computed a final hidden state: ``final`` picks one step of the outputs,
    which are the scan's result (one state) or its first T rows (two states)."""
    (outputs,) = shown_parents(final)
    if outputs.op == "getitem":
        (outputs,) = shown_parents(outputs)
    return shown_parents(outputs)[final.params["index"]]


def test_layer_records_scopes_per_layer_direction_and_time_step():
    T = 3
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True, seed=0)
    output, (h_n, c_n) = lstm(np.ones((T, 1, 2), dtype=np.float32))
    # each direction runs as one scan node; the graph viewer sees the steps it ran
    nodes = walk([(output.sum() + h_n.sum() + c_n.sum()).node])
    step_scopes = {n.scope for n in nodes if len(n.scope) == 4}
    assert step_scopes == {
        ("lstm", rnn.LAYER_SCOPE.format(k), d, rnn.STEP_SCOPE.format(t))
        for k in range(2)
        for d in rnn.DIRECTIONS
        for t in range(T)
    }
    # h_n stacks the final states: forward ends at t=T-1, reverse (from each end) at t=0
    final_forward, final_reverse = map(_producer, h_n.node.parents[2:])  # layer 1's directions
    assert final_forward.scope[1:] == ("layer 1", "forward", f"t={T - 1}")
    assert final_reverse.scope[1:] == ("layer 1", "reverse", "t=0")
    gate_scopes = {n.scope[-1] for n in nodes if n.name == "forget gate"}
    assert gate_scopes == {f"t={t}" for t in range(T)}


# --- gradient checks (float64, central differences) -----------------------------------------------

sizes = st.integers(1, 3)


@given(st.sampled_from(KINDS), sizes, sizes, sizes, st.booleans(), st.integers(0, 2**16))
def test_cell_gradcheck(kind, batch, input_size, hidden_size, batched, seed):
    cell = CELLS[kind](input_size, hidden_size, dtype=np.float64, seed=seed)
    rng = np.random.default_rng(seed)
    lead = (batch,) if batched else ()
    x = rng.uniform(-2, 2, lead + (input_size,))
    states = [rng.uniform(-1, 1, lead + (hidden_size,)) for _ in range(_state_count(kind))]
    params = [getattr(cell, k).numpy() for k in PARAM_KINDS]

    def fn(x, *rest):
        states, leaves = rest[: len(rest) - 4], rest[len(rest) - 4 :]
        _use_leaves(cell, PARAM_KINDS, leaves)
        return tg.concat(_flat(cell(x, _as_state(kind, states))), axis=-1)

    assert gradcheck(fn, x, *states, *params)


@st.composite
def layer_cases(draw):
    kind = draw(st.sampled_from(KINDS))
    num_layers, bidirectional = draw(st.integers(1, 2)), draw(st.booleans())
    steps, batch = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    lengths = draw(st.none() | st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    config = dict(
        num_layers=num_layers, bidirectional=bidirectional, batch_first=draw(st.booleans())
    )
    return kind, config, steps, batch, lengths, draw(st.integers(0, 2**16))


@given(layer_cases(), st.integers(1, 2), st.integers(1, 2))
def test_layer_gradcheck(case, I, H):
    kind, config, steps, batch, lengths, seed = case
    layer = LAYERS[kind](I, H, dtype=np.float64, seed=seed, **config)
    names = [n for n, _ in layer.named_parameters()]
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (batch, steps, I) if config["batch_first"] else (steps, batch, I))
    lead = (config["num_layers"] * (2 if config["bidirectional"] else 1), batch, H)
    states = [rng.uniform(-1, 1, lead) for _ in range(_state_count(kind))]

    def fn(x, *rest):
        states, leaves = rest[: _state_count(kind)], rest[_state_count(kind) :]
        _use_leaves(layer, names, leaves)
        out = _flat(layer(x, _as_state(kind, states), lengths=lengths))
        return tg.concat([t.reshape(-1) for t in out])

    assert gradcheck(fn, x, *states, *(p.numpy() for p in layer.parameters()))


# --- variable lengths -----------------------------------------------------------------------------


@given(layer_cases())
def test_lengths_give_what_each_sequence_gives_alone(case):
    kind, config, steps, batch, lengths, seed = case
    lengths = lengths or [steps] * batch
    I, H, bf = 3, 2, config["batch_first"]
    layer = LAYERS[kind](I, H, dtype=np.float64, seed=seed, **config)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, steps, I) if bf else (steps, batch, I))
    w_out = rng.standard_normal(x.shape[:2] + (H * (2 if config["bidirectional"] else 1),))

    def run(x_array, lengths, w):
        """(output, final states, grads of params, grad of x) of loss = <output, w> + sum(h_n)."""
        layer.zero_grad()
        x_leaf = tg.Tensor(x_array, requires_grad=True)
        output, final = layer(x_leaf, lengths=lengths)
        finals = _flat(final)
        loss = (output * w).sum() + sum(((i + 1) * f).sum() for i, f in enumerate(finals))
        loss.backward()
        grads = {n: p.grad.numpy().copy() for n, p in layer.named_parameters()}
        return output.numpy(), [f.numpy() for f in finals], grads, x_leaf.grad

    out, finals, grads, x_grad = run(x, lengths, w_out)
    total = {n: np.zeros_like(g) for n, g in grads.items()}
    for b, length in enumerate(lengths):
        pick = (b, slice(0, length)) if bf else (slice(0, length), b)
        # alone: an unbatched (length, I) sequence, which ignores batch_first as PyTorch does
        a_out, a_finals, a_grads, a_x_grad = run(x[pick], None, w_out[pick])
        np.testing.assert_allclose(out[pick], a_out, rtol=1e-10, atol=1e-12)
        for f, a in zip(finals, a_finals):
            np.testing.assert_allclose(f[:, b], a, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(x_grad[pick], a_x_grad, rtol=1e-9, atol=1e-12)
        padded = (b, slice(length, None)) if bf else (slice(length, None), b)
        assert not out[padded].any() and not x_grad.numpy()[padded].any()
        for n in total:
            total[n] += a_grads[n]
    for n in total:
        np.testing.assert_allclose(grads[n], total[n], rtol=1e-9, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("lengths", [[4, 4], np.array([4, 4]), tg.Tensor(np.array([4, 4]))])
def test_full_lengths_change_nothing(lengths):
    gru = nn.GRU(2, 3, seed=0)
    x = np.random.default_rng(0).standard_normal((4, 2, 2)).astype(np.float32)
    np.testing.assert_array_equal(gru(x, lengths=lengths)[0].numpy(), gru(x)[0].numpy())


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_equals_a_batch_of_one(kind):
    layer = LAYERS[kind](3, 2, num_layers=2, bidirectional=True, dtype=np.float64, seed=0)
    x = np.random.default_rng(0).standard_normal((4, 3))
    single = _flat(layer(x, lengths=3))
    batch = _flat(layer(x[:, None], lengths=[3]))
    assert single[0].shape == (4, 4) and single[1].shape == (4, 2)
    np.testing.assert_allclose(single[0].numpy(), batch[0].numpy()[:, 0])
    for s, b in zip(single[1:], batch[1:]):
        np.testing.assert_allclose(s.numpy(), b.numpy()[:, 0])


# --- truncated BPTT, dropout, long sequences, dtypes ----------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_detached_state_stops_gradients(kind):
    layer = LAYERS[kind](2, 3, seed=0)
    rng = np.random.default_rng(0)
    first = tg.Tensor(rng.standard_normal((3, 1, 2)).astype(np.float32), requires_grad=True)
    second = tg.Tensor(rng.standard_normal((3, 1, 2)).astype(np.float32), requires_grad=True)
    _, state = layer(first)
    detached = tuple(s.detach() for s in _flat(state))
    output, _ = layer(second, _as_state(kind, detached))
    output.sum().backward()
    assert first.grad is None  # the graph is cut: nothing reaches the earlier chunk
    assert second.grad is not None and np.abs(second.grad.numpy()).sum() > 0
    layer.zero_grad()
    output, _ = layer(second, state)  # not detached: gradients flow back into the first chunk
    output.sum().backward()
    assert first.grad is not None and np.abs(first.grad.numpy()).sum() > 0


def test_dropout_acts_between_layers_in_training_only():
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5, seed=0)
    plain = nn.LSTM(3, 4, num_layers=2, seed=1)
    plain.load_state_dict(lstm.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    first, second = lstm(x)[0].numpy(), lstm(x)[0].numpy()
    assert not np.allclose(first, second)  # fresh masks each call
    assert not np.allclose(first, plain(x)[0].numpy())
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].numpy(), lstm(x)[0].numpy())
    np.testing.assert_allclose(lstm(x)[0].numpy(), plain(x)[0].numpy())
    a = nn.GRU(3, 4, num_layers=2, dropout=0.5, seed=7)
    b = nn.GRU(3, 4, num_layers=2, dropout=0.5, seed=7)
    np.testing.assert_array_equal(a(x)[0].numpy(), b(x)[0].numpy())  # masks come from the seed
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.RNN(3, 4, dropout=0.2)


def test_lstm_backpropagates_through_ten_thousand_steps():
    lstm = nn.LSTM(1, 2, seed=0)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((10_000, 1, 1)), dtype=np.float32)
    output, (h_n, c_n) = lstm(x)
    (output.sum() + c_n.sum()).backward()
    for name, p in lstm.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad.numpy()).all(), name


@pytest.mark.parametrize("kind", KINDS)
def test_float32_in_float32_out_and_float32_gradients(kind):
    layer = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, seed=0)
    x = tg.Tensor(np.ones((5, 2, 3), dtype=np.float32), requires_grad=True)
    output, final = layer(x, lengths=[5, 3])
    assert all(t.dtype == np.float32 for t in [output, *_flat(final)])
    output.sum().backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())
    cell = CELLS[kind](3, 4, seed=0)
    out = _flat(cell(x[0]))
    assert all(t.dtype == np.float32 for t in out)


# --- bad input and printing -----------------------------------------------------------------------


_LSTM = nn.LSTM(3, 4, num_layers=2)
_X = np.zeros((5, 2, 3), dtype=np.float32)
_H = np.zeros((2, 2, 4), dtype=np.float32)
_f32 = lambda *shape: np.zeros(shape, dtype=np.float32)

BAD_INPUT = {
    "features": (
        ValueError,
        r"input_size = 3, got shape \(5, 2, 7\)",
        lambda: _LSTM(_f32(5, 2, 7)),
    ),
    "rank": (ValueError, r"got shape \(5, 2, 3, 1\)", lambda: _LSTM(_f32(5, 2, 3, 1))),
    "empty": (ValueError, r"at least one step", lambda: _LSTM(_f32(0, 2, 3))),
    "h_0 shape": (
        ValueError,
        r"hidden state has shape \(1, 2, 4\), expected \(2, 2, 4\)",
        lambda: _LSTM(_X, (_H[:1], _H)),
    ),
    "c_0 shape": (
        ValueError,
        r"cell state has shape \(2, 2, 5\), expected \(2, 2, 4\)",
        lambda: _LSTM(_X, (_H, _f32(2, 2, 5))),
    ),
    "lstm state not a pair": (TypeError, r"tuple \(h, c\)", lambda: _LSTM(_X, _H)),
    "gru state a pair": (TypeError, r"one tensor h", lambda: nn.GRU(3, 4)(_X, (_H, _H))),
    "length 0": (ValueError, r"in 1..5.*\[0, 2\]", lambda: _LSTM(_X, lengths=[0, 2])),
    "length > T": (ValueError, r"in 1..5.*\[6, 2\]", lambda: _LSTM(_X, lengths=[6, 2])),
    "lengths count": (ValueError, r"2 integer.*shape \(3,\)", lambda: _LSTM(_X, lengths=[1, 2, 3])),
    "float lengths": (ValueError, r"integer.*float64", lambda: _LSTM(_X, lengths=[1.0, 2.0])),
    "int input": (
        TypeError,
        r"floating-point input, got dtype int64",
        lambda: _LSTM(_X.astype(np.int64)),
    ),
    "cell features": (
        ValueError,
        r"\(batch, 3\).*got shape \(2, 5\)",
        lambda: nn.LSTMCell(3, 4)(_f32(2, 5)),
    ),
    "cell state": (
        ValueError,
        r"hidden state has shape \(2, 5\), expected \(2, 4\)",
        lambda: nn.LSTMCell(3, 4)(_X[0], (_f32(2, 5), _f32(2, 5))),
    ),
    "hidden_size": (ValueError, r"hidden_size must be a positive int, got 0", lambda: nn.GRU(3, 0)),
    "nonlinearity": (
        ValueError,
        r"nonlinearity must be 'tanh' or 'relu', got 'sigmoid'",
        lambda: nn.RNN(3, 4, nonlinearity="sigmoid"),
    ),
    "dropout": (
        ValueError,
        r"dropout must be a number in \[0, 1\], got 1.5",
        lambda: nn.LSTM(3, 4, 2, dropout=1.5),
    ),
    "int dtype": (TypeError, r"floating-point", lambda: nn.GRUCell(3, 4, dtype=np.int32)),
}


@pytest.mark.parametrize("case", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_reported_with_expected_and_actual_sizes(case):
    error, message, call = case
    with pytest.raises(error, match=message):
        call()


def test_repr_reads_like_pytorch():
    assert repr(nn.LSTM(10, 20, num_layers=2, batch_first=True)) == (
        "LSTM(10, 20, num_layers=2, batch_first=True)"
    )
    text = repr(nn.GRU(3, 4, 2, bias=False, dropout=0.5, bidirectional=True))
    assert text == "GRU(3, 4, num_layers=2, bias=False, dropout=0.5, bidirectional=True)"
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4, nonlinearity=relu)"
    assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == (
        "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    )
    assert repr(nn.LSTMCell(3, 4)) == "LSTMCell(3, 4)"


def test_float64_array_meets_float32_layer_as_float32():
    # the issue's own example: np.ones is float64 data, the layer float32 decides the precision
    lstm = nn.LSTM(2, 3, seed=0)
    out, (h, c) = lstm(np.ones((3, 1, 2)))
    assert out.dtype == h.dtype == c.dtype == np.float32
    (out * out).sum().backward()
    assert lstm.weight_ih_l0.grad.dtype == np.float32


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_a_tensor_of_another_float_dtype_is_refused_as_in_pytorch(kind):
    # a float64 tensor used to come out float32 silently; PyTorch raises, naming both dtypes
    x64 = tg.Tensor(np.zeros((2, 1, 3)), requires_grad=True)
    for layer, x in ((LAYERS[kind](3, 4), x64), (CELLS[kind](3, 4), x64[0])):
        with pytest.raises(TypeError, match=rf"{kind}.*input dtype float64.*weight.*float32"):
            layer(x)
    layer64 = LAYERS[kind](3, 4, dtype=np.float64)
    state = tg.Tensor(np.zeros((1, 1, 4), dtype=np.float32))
    hx = (state, state) if kind == "LSTM" else state
    with pytest.raises(TypeError, match=rf"{kind}: hidden state dtype float32.*weight.*float64"):
        layer64(x64, hx)
    cell64 = CELLS[kind](3, 4, dtype=np.float64)
    message = rf"{kind}Cell: hidden state dtype float32.*weight.*float64"
    with pytest.raises(TypeError, match=message):
        cell64(x64[0], (state[0], state[0]) if kind == "LSTM" else state[0])
