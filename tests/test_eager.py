"""Tests for ``tg.eager``: inside it every layer records op by op (a node per primitive per step),
with the compiled loop's outputs and gradients; as a context manager it is re-entrant and restores
what it found; as a decorator it makes a fresh context per call and covers generators."""

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import engine, modes, nn
from tinygrad_seq.scan import SCAN

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
EXACT = dict(rtol=1e-12, atol=1e-12)


def _run(kind, bidirectional, lengths, eager):
    """A 2-layer float64 layer on fixed data, a loss reading the output and every final state,
    backward: (output, finals, input and state grads, parameter grads, scan nodes in the graph)."""
    layer = LAYERS[kind](3, 4, num_layers=2, bidirectional=bidirectional, dtype=np.float64, seed=0)
    rng = np.random.default_rng(1)
    lead = 2 * layer.num_directions
    x = tg.Tensor(rng.standard_normal((5, 3, 3)), requires_grad=True)
    hx = [tg.Tensor(rng.standard_normal((lead, 3, 4)), requires_grad=True)]
    if kind == "LSTM":
        hx.append(tg.Tensor(rng.standard_normal((lead, 3, 4)), requires_grad=True))
    state = tuple(hx) if kind == "LSTM" else hx[0]
    if eager:
        with tg.eager():
            output, final = layer(x, state, lengths=lengths)
    else:
        output, final = layer(x, state, lengths=lengths)
    finals = list(final) if kind == "LSTM" else [final]
    loss = (output * rng.standard_normal(output.shape)).sum()
    for f in finals:
        loss = loss + (f * rng.standard_normal(f.shape)).sum()
    scans = sum(n.prim is SCAN for n in engine.toposort(loss.node))
    loss.backward()
    grads = [x.grad] + [h.grad for h in hx]
    params = {name: p.grad for name, p in layer.named_parameters()}
    return output.numpy(), [f.numpy() for f in finals], grads, params, scans


@pytest.mark.parametrize("lengths", [None, [5, 2, 4]], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_eager_gives_the_compiled_loops_outputs_and_gradients(kind, bidirectional, lengths):
    out, finals, grads, params, scans = _run(kind, bidirectional, lengths, eager=False)
    out_e, finals_e, grads_e, params_e, scans_e = _run(kind, bidirectional, lengths, eager=True)
    assert scans_e == 0  # op by op: no compiled loop anywhere in the graph
    if lengths is None:
        assert scans == 2 * (2 if bidirectional else 1)  # one per layer and direction
    np.testing.assert_allclose(out_e, out, **EXACT)
    for a, b in zip(finals_e + grads_e, finals + grads, strict=True):
        np.testing.assert_allclose(a, b, **EXACT)
    assert params_e.keys() == params.keys()
    for name, g in params.items():
        assert g is not None, name
        np.testing.assert_allclose(params_e[name], g, **EXACT, err_msg=name)


def test_eager_records_a_node_per_primitive_per_step():
    rnn = nn.RNN(2, 3, seed=0)
    x = np.ones((4, 1, 2), dtype=np.float32)
    with tg.eager():
        out, _ = rnn(x)
    named = [n for n in engine.toposort(out.node) if n.name == "hidden state"]
    assert sorted(n.scope[-1] for n in named) == [f"t={t}" for t in range(4)]
    out, _ = rnn(x)  # outside: compiled again
    assert any(n.prim is SCAN for n in engine.toposort(out.node))


def test_eager_is_reentrant_and_restores_what_it_found():
    mode = tg.eager()
    assert not modes.STATE.eager
    with mode:
        with mode:  # the same object entered inside itself
            assert modes.STATE.eager
        assert modes.STATE.eager  # the inner exit restored the outer's True
    assert not modes.STATE.eager
    with pytest.raises(KeyError), tg.eager():
        raise KeyError("an error inside still restores")
    assert not modes.STATE.eager


def test_eager_as_decorator_makes_a_fresh_context_per_call():
    seen = []

    @tg.eager()
    def countdown(n):
        seen.append(modes.STATE.eager)
        if n:
            countdown(n - 1)  # recursion enters the decorator's context again
        seen.append(modes.STATE.eager)

    countdown(3)
    assert seen == [True] * 8
    assert not modes.STATE.eager


def test_eager_decorates_a_generator_only_while_it_runs():
    @tg.eager()
    def eager_items():
        received = yield modes.STATE.eager
        assert received == "sent"
        try:
            yield modes.STATE.eager
        except ValueError:
            yield "caught"
        return "done"

    gen = eager_items()
    assert not modes.STATE.eager  # nothing ran yet
    assert next(gen) is True
    assert not modes.STATE.eager  # between items the caller's mode holds
    assert gen.send("sent") is True
    assert gen.throw(ValueError("into the generator")) == "caught"
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done"
    assert not modes.STATE.eager


def test_eager_is_per_thread():
    import threading

    inside, seen = threading.Event(), {}

    def other():
        inside.wait()
        seen["other"] = modes.STATE.eager
        rnn = nn.RNN(2, 3, seed=0)
        out, _ = rnn(np.ones((3, 1, 2), dtype=np.float32))
        seen["compiled"] = any(n.prim is SCAN for n in engine.toposort(out.node))

    thread = threading.Thread(target=other)
    thread.start()
    with tg.eager():
        inside.set()
        thread.join()
    assert seen == {"other": False, "compiled": True}
