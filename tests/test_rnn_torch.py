"""PyTorch parity of nn/rnn.py: with torch's weights loaded, every cell and layer gives torch's
outputs, final states and gradients (of every parameter and of the input), in float64.

torch is a test oracle only; these tests skip without it.
"""

import itertools

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn

torch = pytest.importorskip("torch")

KINDS = ["RNN", "LSTM", "GRU"]
RTOL, ATOL = 1e-9, 1e-12


def _load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _assert_close(actual, expected, what):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    actual = actual.numpy() if isinstance(actual, tg.Tensor) else actual
    assert actual is not None, f"{what}: no gradient"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def _loss_weights(rng, tensors):
    return [rng.standard_normal(t.shape) for t in tensors]


def _both_losses(ours, theirs, weights):
    """sum(out_k * w_k) over every returned tensor, for our tensors and torch's."""
    ours_loss = sum((o * w).sum() for o, w in zip(ours, weights))
    theirs_loss = sum((t * torch.from_numpy(w)).sum() for t, w in zip(theirs, weights))
    return ours_loss, theirs_loss


def _flat(result):
    """(output, h) or (output, (h, c)) or (h, c) or h -> list of tensors."""
    if not isinstance(result, tuple):
        return [result]
    return [t for item in result for t in _flat(item)]


# --- cells ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, batched, with_state, extra",
    [
        (kind, batched, with_state, extra)
        for kind, batched, with_state in itertools.product(KINDS, [True, False], [True, False])
        for extra in ([{}, {"nonlinearity": "relu"}] if kind == "RNN" else [{}])
    ]
    + [("LSTM", True, True, {"bias": False}), ("GRU", True, True, {"bias": False})],
)
def test_cell_matches_torch(kind, batched, with_state, extra):
    I, H, B = 4, 3, 2
    torch.manual_seed(0)
    theirs = getattr(torch.nn, f"{kind}Cell")(I, H, dtype=torch.float64, **extra)
    ours = getattr(nn, f"{kind}Cell")(I, H, dtype=np.float64, seed=0, **extra)
    _load_from_torch(ours, theirs)
    rng = np.random.default_rng(1)
    lead = (B,) if batched else ()
    x = rng.standard_normal(lead + (I,))
    states = [rng.standard_normal(lead + (H,)) for _ in range(2 if kind == "LSTM" else 1)]
    x_ours, x_theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    s_ours = [tg.Tensor(s, requires_grad=True) for s in states]
    s_theirs = [torch.tensor(s, requires_grad=True) for s in states]
    state_arg = (lambda s: tuple(s) if kind == "LSTM" else s[0]) if with_state else lambda s: None

    out_ours = _flat(ours(x_ours, state_arg(s_ours)))
    out_theirs = _flat(theirs(x_theirs, state_arg(s_theirs)))
    for o, t in zip(out_ours, out_theirs):
        _assert_close(o, t, f"{kind}Cell output")
    loss_ours, loss_theirs = _both_losses(out_ours, out_theirs, _loss_weights(rng, out_theirs))
    states = zip(s_ours, s_theirs) if with_state else ()
    _backward_and_compare(loss_ours, loss_theirs, (x_ours, x_theirs), states, ours, theirs)


def _backward_and_compare(loss_ours, loss_theirs, inputs, states, ours, theirs):
    """Backward in both frameworks, then the gradients of the input, of each (ours, theirs)
    initial-state pair in ``states`` and of every parameter must agree."""
    loss_ours.backward()
    loss_theirs.backward()
    x_ours, x_theirs = inputs
    _assert_close(x_ours.grad, x_theirs.grad, "grad of the input")
    for so, st in states:
        _assert_close(so.grad, st.grad, "grad of the initial state")
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        _assert_close(ours_params[name].grad, p.grad, f"grad of {name}")


# --- layers ---------------------------------------------------------------------------------------

LAYER_CASES = [
    # num_layers, bidirectional, batch_first, initial state, lengths
    (1, False, False, False, None),
    (1, False, True, True, None),
    (2, False, False, True, None),
    (1, True, False, False, None),
    (2, True, True, True, None),
    (1, False, False, False, [5, 2, 4]),
    (2, True, False, True, [3, 5, 1]),
    (2, True, True, False, [2, 2, 5]),
    (2, True, False, True, [2, 3, 1]),  # no sequence fills the batch's T steps
]


def _run_torch_layer(theirs, x, hx, lengths, batch_first, steps):
    if lengths is None:
        return theirs(x, hx)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False
    )
    output, final = theirs(packed, hx)
    output, _ = torch.nn.utils.rnn.pad_packed_sequence(
        output, batch_first=batch_first, total_length=steps
    )
    return output, final


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers, bidirectional, batch_first, with_state, lengths", LAYER_CASES)
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, with_state, lengths):
    T, B, I, H = 5, 3, 4, 3
    config = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(I, H, dtype=torch.float64, **config)
    ours = getattr(nn, kind)(I, H, dtype=np.float64, seed=0, **config)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    _load_from_torch(ours, theirs)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    directions = 2 if bidirectional else 1
    states = [
        rng.standard_normal((num_layers * directions, B, H))
        for _ in range(2 if kind == "LSTM" else 1)
    ]
    x_ours, x_theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    s_ours = [tg.Tensor(s, requires_grad=True) for s in states]
    s_theirs = [torch.tensor(s, requires_grad=True) for s in states]
    state_arg = (lambda s: tuple(s) if kind == "LSTM" else s[0]) if with_state else lambda s: None

    out_ours = _flat(ours(x_ours, state_arg(s_ours), lengths=lengths))
    out_theirs = _flat(
        _run_torch_layer(theirs, x_theirs, state_arg(s_theirs), lengths, batch_first, T)
    )
    names = ["output", "h_n", "c_n"]
    for name, o, t in zip(names, out_ours, out_theirs):
        assert o.shape == tuple(t.shape), name
        _assert_close(o, t, f"{kind} {name}")
    loss_ours, loss_theirs = _both_losses(out_ours, out_theirs, _loss_weights(rng, out_theirs))
    states = zip(s_ours, s_theirs) if with_state else ()
    _backward_and_compare(loss_ours, loss_theirs, (x_ours, x_theirs), states, ours, theirs)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_layer_matches_torch(kind):
    T, I, H = 4, 3, 2
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(I, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True, dtype=np.float64, seed=0)
    _load_from_torch(ours, theirs)
    x = np.random.default_rng(1).standard_normal((T, I))
    out_ours = _flat(ours(x))
    out_theirs = _flat(theirs(torch.from_numpy(x)))
    for o, t in zip(out_ours, out_theirs):
        assert o.shape == tuple(t.shape)
        _assert_close(o, t, f"unbatched {kind}")


def test_float32_lstm_close_to_torch_float32():
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(4, 8, num_layers=2)
    ours = nn.LSTM(4, 8, num_layers=2, seed=0)
    _load_from_torch(ours, theirs)
    x = np.random.default_rng(1).standard_normal((6, 2, 4)).astype(np.float32)
    output, (h_n, c_n) = ours(x)
    expected, (h_t, c_t) = theirs(torch.from_numpy(x))
    assert output.dtype == h_n.dtype == c_n.dtype == np.float32
    np.testing.assert_allclose(output.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_n.numpy(), c_t.detach().numpy(), rtol=1e-5, atol=1e-6)
