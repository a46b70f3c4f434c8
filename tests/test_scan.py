"""Tests for scan.py: the fused loop gives the numbers op-by-op recording gives (values, states and
every gradient of LSTM/GRU/RNN layers), gradchecks of a custom step (broadcasting, constants,
slices, numpy invariants, two states, both directions), no_grad, clear errors for bad steps, the
Program cache, retain_graph, frozen weights, the graph viewer's per-step expansion with kept
gradients, the op-by-op fallback under detect_anomaly; the written source (names, one backward,
linecache: tracebacks and inspect show it); edited primitives honoured; caches bounded, LRU,
holding no layer alive, safe from two threads."""

import contextlib
import gc
import importlib
import inspect
import re
import threading
import traceback
import weakref
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_seq as tg
from tinygrad_seq import engine, nn, ops
from tinygrad_seq._tensor import matmul_transposed
from tinygrad_seq.scan import SCAN, Program, record, scan
from tinygrad_seq.testing import gradcheck
from tinygrad_seq.viz.trace import build, walk

# ``tinygrad_seq.scan.record`` is the function: the module is reached by its full name
record_module = importlib.import_module("tinygrad_seq.scan.record")

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
EXACT = dict(rtol=1e-12, atol=1e-12)


def _scan_nodes(tensor):
    return [n for n in engine.toposort(tensor.node) if n.prim is SCAN]


def _layer(kind, num_layers=2, bidirectional=False):
    return LAYERS[kind](
        3, 4, num_layers=num_layers, bidirectional=bidirectional, dtype=np.float64, seed=0
    )


def _forward(layer, op_by_op, *, steps=5, batch=2):
    """The layer run fused, or op by op (under tg.eager), on fixed random input and states,
    and a loss that reads the output and every final state: (output, finals, loss, x, states)."""
    kind = type(layer).__name__
    rng = np.random.default_rng(1)
    lead = layer.num_layers * layer.num_directions
    x = tg.Tensor(rng.standard_normal((steps, batch, 3)), requires_grad=True)
    hx = [tg.Tensor(rng.standard_normal((lead, batch, 4)), requires_grad=True)]
    if kind == "LSTM":
        hx.append(tg.Tensor(rng.standard_normal((lead, batch, 4)), requires_grad=True))
    with tg.eager() if op_by_op else contextlib.nullcontext():
        output, final = layer(x, tuple(hx) if kind == "LSTM" else hx[0])
    finals = list(final) if kind == "LSTM" else [final]
    assert bool(_scan_nodes(output)) != op_by_op  # the path under test is the one that ran
    loss = (output * rng.standard_normal(output.shape)).sum()
    for f in finals:  # h and c both reach the loss
        loss = loss + (f * rng.standard_normal(f.shape)).sum()
    return output, finals, loss, x, hx


# --- the fused loop is the op-by-op loop ----------------------------------------------------------


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_fused_layer_matches_op_by_op(kind, bidirectional):
    fused, ref = _layer(kind, 2, bidirectional), _layer(kind, 2, bidirectional)
    out, finals, loss, x, hx = _forward(fused, op_by_op=False)
    out_ref, finals_ref, loss_ref, x_ref, hx_ref = _forward(ref, op_by_op=True)
    loss.backward()
    loss_ref.backward()
    np.testing.assert_allclose(out.numpy(), out_ref.numpy(), **EXACT)
    for f, f_ref in zip(finals, finals_ref, strict=True):
        np.testing.assert_allclose(f.numpy(), f_ref.numpy(), **EXACT)
    np.testing.assert_allclose(x.grad, x_ref.grad, **EXACT)
    for h, h_ref in zip(hx, hx_ref, strict=True):
        np.testing.assert_allclose(h.grad, h_ref.grad, **EXACT)
    params = dict(ref.named_parameters())
    for name, p in fused.named_parameters():
        assert p.grad is not None, name
        np.testing.assert_allclose(p.grad, params[name].grad, **EXACT, err_msg=name)


# --- a custom step: gradcheck --------------------------------------------------------------------


def _custom_step(x_t, state, w, b, mask):
    """Two states; a bias (H,) broadcast over (B, H); ``1 - z``; chunk and slices; a numpy mask."""
    h, c = state
    H = h.shape[-1]
    a, u = tg.chunk(x_t, 2, axis=-1)
    z = (a + h @ w + b).sigmoid()
    n = (x_t[:, H:] * mask + u * c).tanh()
    return (1 - z) * n + z * h, c * 0.5 + n * z


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 4), st.integers(1, 2), st.integers(1, 3), st.booleans(), st.integers(0, 2**16)
)
def test_custom_step_gradcheck(steps, batch, hidden, reverse, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (steps, batch, 2 * hidden))
    h0, c0 = rng.uniform(-1, 1, (2, batch, hidden))
    w, b = rng.uniform(-1, 1, (hidden, hidden)), rng.uniform(-1, 1, hidden)
    mask = rng.uniform(0.5, 1.5, hidden)  # a numpy invariant: no gradient

    def fn(x, h0, c0, w, b):
        out, (h, c) = scan(_custom_step, x, (h0, c0), (w, b, mask), reverse=reverse)
        assert not out.requires_grad or _scan_nodes(out)  # one fused node, no fallback
        return tg.concat([out.reshape(-1), h.reshape(-1), c.reshape(-1)])

    assert gradcheck(fn, x, h0, c0, w, b)


@pytest.mark.parametrize(
    "param_shape, step",
    [
        # a weight: its per-step products are summed as they come, with no x gradient to read
        ((3, 3), lambda x_t, state, w: ((x_t + matmul_transposed(state[0], w)).tanh(),)),
        # a broadcast bias: per-step gradients summed, no products at all
        ((3,), lambda x_t, state, b: ((x_t + state[0] * 0.5 + b).tanh(),)),
    ],
)
def test_invariant_gradient_when_x_needs_none(param_shape, step):
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((4, 2, 3)))
    param = tg.Tensor(rng.standard_normal(param_shape), requires_grad=True)
    h0 = tg.Tensor(np.zeros((2, 3)))
    grads = []
    for mode in (contextlib.nullcontext(), tg.keep_values()):
        param.grad = None
        with mode:
            out, _ = scan(step, x, (h0,), (param,))
        (out * out).sum().backward()
        grads.append(param.grad)
    np.testing.assert_allclose(*grads, **EXACT)


# --- no_grad --------------------------------------------------------------------------------------


def test_no_grad_gives_the_same_values_and_no_graph():
    layer = _layer("LSTM")
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    out, (h, c) = layer(x)
    with tg.no_grad():
        out_ng, (h_ng, c_ng) = layer(x)
    for a, b in ((out, out_ng), (h, h_ng), (c, c_ng)):
        assert b.node is None and not b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # nothing requiring grad records no graph either
    step = lambda x_t, state: ((x_t + state[0]).tanh(),)
    out, (h,) = scan(step, tg.Tensor(x), (tg.zeros(2, 3, dtype=np.float64),))
    assert out.node is None and h.node is None


# --- errors ---------------------------------------------------------------------------------------


def _small():
    return tg.Tensor(np.ones((3, 2, 4), dtype=np.float32)), (tg.zeros(2, 4),)


def test_tensor_closed_over_instead_of_passed_in_invariants_is_an_error():
    x, state = _small()
    w = tg.Tensor(np.eye(4, dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="invariants"):
        scan(lambda x_t, s: ((x_t + s[0] @ w).tanh(),), x, state)


@pytest.mark.parametrize(
    "step",
    [lambda x_t, s: (x_t, x_t), lambda x_t, s: x_t + s[0], lambda x_t, s: [x_t + s[0]]],
    ids=["two for one", "bare tensor", "list"],
)
def test_wrong_number_of_states_is_a_type_error(step):
    x, state = _small()
    with pytest.raises(TypeError, match="tuple of 1 state"):
        scan(step, x, state)


@pytest.mark.parametrize(
    "step, got",
    [
        (lambda x_t, s: ((x_t + s[0]).astype(np.float64),), r"\(2, 4\) float64"),
        (lambda x_t, s: ((x_t + s[0])[:1],), r"\(1, 4\) float32"),
    ],
    ids=["dtype", "shape"],
)
def test_state_changing_dtype_or_shape_is_a_value_error(step, got):
    x, state = _small()
    with pytest.raises(ValueError, match=got + r", expected \(2, 4\) float32"):
        scan(step, x, state)


# --- the Program cache ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, state, error, words",
    [
        (tg.zeros(0, 2, 3), (tg.zeros(2, 3),), ValueError, "at least one step"),
        (np.zeros((3, 2, 3)), (tg.zeros(2, 3),), ValueError, "must be a Tensor"),
        (tg.zeros(3, 2, 3), tg.zeros(2, 3), TypeError, "tuple of Tensors"),
        (tg.zeros(3, 2, 3), (tg.zeros(2, 3), tg.zeros(2, 4)), ValueError, "(2, 3) float32, (2, 4)"),
    ],
)
def test_bad_inputs_are_named(x, state, error, words):
    with pytest.raises(error, match=re.escape(words)):
        scan(lambda x_t, s: s, x, state)


def test_a_number_as_an_invariant_is_refused():
    # it would be baked into the recording: a later call with another number would replay it
    with pytest.raises(TypeError, match="invariants must be Tensors, NumPy arrays or None"):
        scan(lambda x_t, s, k: (s[0] * k,), tg.zeros(2, 1, 3), (tg.zeros(1, 3),), (0.5,))


def test_program_is_compiled_once_per_shape():
    layer = nn.LSTM(3, 4, seed=0)
    x = np.ones((5, 2, 3), dtype=np.float32)
    programs = []
    for batch in (2, 2, 3):
        out, _ = layer(x[:, :1].repeat(batch, axis=1))
        scan_node = out.node.parents[0]  # out is a slice of the scan node's result
        assert scan_node.prim is SCAN
        programs.append(scan_node.params["program"])
    assert isinstance(programs[0], Program) and "def run_backward(" in programs[0].source
    assert programs[0] is programs[1]
    assert programs[2] is not programs[0]


# --- retain_graph, frozen weights -----------------------------------------------------------------


def test_a_changed_setting_is_not_hidden_by_the_reused_recording():
    rnn = nn.RNN(3, 4, seed=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((3, 2, 3))
    tanh_out, _ = rnn(x)
    rnn.nonlinearity = "relu"  # part of the layer's key: the step is recorded again
    relu_out, _ = rnn(x)
    with tg.eager():
        reference, _ = rnn(x)
    np.testing.assert_allclose(relu_out.numpy(), reference.numpy(), **EXACT)
    assert not np.allclose(relu_out.numpy(), tanh_out.numpy())


def test_retain_graph_allows_a_second_backward():
    layer = _layer("GRU", 1)
    _, _, loss, x, _ = _forward(layer, op_by_op=False)
    loss.backward(retain_graph=True)
    first = (layer.weight_hh_l0.grad.numpy().copy(), x.grad.numpy().copy())
    loss.backward()
    np.testing.assert_allclose(layer.weight_hh_l0.grad, 2 * first[0], rtol=1e-12)
    np.testing.assert_allclose(x.grad, 2 * first[1], rtol=1e-12)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()  # the second backward above freed the saved arrays


def test_frozen_recurrent_weight_gets_no_grad_and_the_rest_are_unchanged():
    fused, ref = _layer("LSTM", 1), _layer("LSTM", 1)
    for layer in (fused, ref):
        layer.weight_hh_l0.requires_grad = False
    _, _, loss, x, hx = _forward(fused, op_by_op=False)
    _, _, loss_ref, x_ref, hx_ref = _forward(ref, op_by_op=True)
    loss.backward()
    loss_ref.backward()
    assert fused.weight_hh_l0.grad is None
    for name in ("weight_ih_l0", "bias_ih_l0", "bias_hh_l0"):
        np.testing.assert_allclose(
            getattr(fused, name).grad, getattr(ref, name).grad, **EXACT, err_msg=name
        )
    np.testing.assert_allclose(x.grad, x_ref.grad, **EXACT)
    for h, h_ref in zip(hx, hx_ref, strict=True):
        np.testing.assert_allclose(h.grad, h_ref.grad, **EXACT)


# --- the graph viewer's expansion -----------------------------------------------------------------


def _named_step_nodes(loss):
    """{(name, scope): node} for the named ops inside time steps, as the viewer walks them (not
    leaves: a leaf's node is made where it is first used, a step op by op, the layer fused)."""
    nodes = [n for n in walk([loss.node]) if n.prim and n.name and n.scope[-1:] >= ("t=",)]
    found = {(n.name, n.scope): n for n in nodes}
    assert len(found) == len(nodes)  # one node per name per step
    return found


def test_viewer_expansion_keeps_each_steps_gradients_as_op_by_op_does():
    T = 3
    fused, ref = _layer("LSTM", 1), _layer("LSTM", 1)
    *_, loss, _, _ = _forward(fused, op_by_op=False, steps=T)
    *_, loss_ref, _, _ = _forward(ref, op_by_op=True, steps=T)
    loss.backward(keep_grads=True)
    loss_ref.backward(keep_grads=True)
    shown, recorded = _named_step_nodes(loss), _named_step_nodes(loss_ref)
    forget = [scope for name, scope in shown if name == "forget gate"]
    assert sorted(s[-1] for s in forget) == [f"t={t}" for t in range(T)]
    assert shown.keys() == recorded.keys()
    for key, node in shown.items():
        assert node.grad is not None, key
        np.testing.assert_allclose(node.grad, recorded[key].grad, **EXACT, err_msg=str(key))


def _drawn_loss(kind, bidirectional, lengths, op_by_op):
    """loss over a layer's output and final states, run compiled or under tg.eager()."""
    layer = LAYERS[kind](2, 3, bidirectional=bidirectional, dtype=np.float64, seed=0)
    x = tg.Tensor(np.random.default_rng(1).standard_normal((3, 2, 2)), requires_grad=True)
    with tg.eager() if op_by_op else contextlib.nullcontext():
        output, final = layer(x, lengths=lengths)
    loss = (output * output).sum()
    for f in final if kind == "LSTM" else (final,):
        loss = loss + f.sum()
    return loss


def _drawn(picture, box):
    node = picture.boxes[box].nodes[0]
    return node.op, node.name, node.shape, node.scope if node.prim is not None else ()


_CASES = pytest.mark.parametrize(
    "kind, bidirectional, lengths",
    [(k, b, n) for k in sorted(LAYERS) for b in (False, True) for n in (None, [3, 1])],
)


@_CASES
def test_the_drawing_of_the_compiled_loop_is_the_drawing_of_the_eager_loop(
    kind, bidirectional, lengths
):
    """Same boxes (op, name, shape, scope) and arrows: no slice of the scan's result, no stack
    of the states (T+1 rows) drawn; each x[t] inside its step, as the op-by-op loop takes it."""
    pictures = [
        build([_drawn_loss(kind, bidirectional, lengths, op_by_op).node])
        for op_by_op in (False, True)
    ]
    boxes, arrows = [], []
    for picture in pictures:
        boxes.append(Counter(_drawn(picture, i) for i in range(len(picture.boxes))))
        arrows.append(
            Counter((_drawn(picture, a.src), _drawn(picture, a.dst)) for a in picture.arrows)
        )
    assert boxes[0] == boxes[1]
    assert arrows[0] == arrows[1]
    slices = [key for key in boxes[0] if key[0] == "getitem" and key[2] == (2, 3 * _GATES[kind])]
    assert slices and all(key[3][-1].startswith("t=") for key in slices)


_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


@_CASES
def test_backward_numbers_of_the_compiled_loop_are_the_order_its_vjps_ran(
    kind, bidirectional, lengths
):
    """Under keep_grads the drawn ops, in the order of their drawn "backward #k", are eager's in
    its sweep's order. (Leaves run no VJP; eager visits each where its node was first made.)"""
    orders = []
    for op_by_op in (False, True):
        loss = _drawn_loss(kind, bidirectional, lengths, op_by_op)
        loss.backward(keep_grads=True)
        picture = build([loss.node])
        ops_ = [i for i, b in enumerate(picture.boxes) if b.nodes[0].prim is not None]
        assert all(picture.boxes[i].nodes[0] in picture.visits for i in ops_)
        ops_.sort(key=lambda i: picture.visits[picture.boxes[i].nodes[0]])
        orders.append([_drawn(picture, i) for i in ops_])
    assert orders[0] == orders[1]


def test_a_slice_the_user_takes_of_the_outputs_is_drawn_as_eager_draws_it():
    """Only the slices scan itself takes are drawn as what they hold: out[1] stays a getitem of
    the stacked outputs (with one state, scan's result IS the outputs, as in eager mode)."""

    def step(x_t, state, w):
        return ((x_t + state[0] @ w).tanh(),)

    pictures = []
    for op_by_op in (False, True):
        x = tg.Tensor(np.ones((4, 2, 3)), requires_grad=True)
        w = tg.Tensor(np.full((3, 3), 0.1), requires_grad=True)
        with tg.eager() if op_by_op else contextlib.nullcontext():
            out, (h,) = scan(step, x, (tg.zeros(2, 3, dtype=np.float64),), (w,))
        picture = build([(out[1].sum() + h.sum() + out.sum()).node])
        boxes = Counter(_drawn(picture, i) for i in range(len(picture.boxes)))
        arrows = Counter((_drawn(picture, a.src), _drawn(picture, a.dst)) for a in picture.arrows)
        pictures.append((boxes, arrows))
    assert pictures[0] == pictures[1]
    assert pictures[0][0][("getitem", None, (2, 3), ())] == 1  # out[1], outside the steps


def test_the_fast_backward_loop_keeps_nothing_and_notes_nothing():
    layer = _layer("LSTM", 1)
    program = tg.scan.program(layer, np.ones((3, 2, 3)))
    fast = inspect.getsource(program.run_backward)
    assert "kept" not in fast and "ran" not in fast.replace("range", "")
    # the viewer's backward interprets the same plan, noting every op and x_t's slice per step
    out, _ = layer(tg.Tensor(np.ones((3, 2, 3)), requires_grad=True))
    out.sum().backward(keep_grads=True)
    (node,) = _scan_nodes(out)
    assert len(node.params["view"]["ran"]) == 3 * (len(program.instructions) + 1)


# --- anomaly mode ---------------------------------------------------------------------------------


def test_detect_anomaly_falls_back_to_op_by_op_and_names_the_op():
    layer = _layer("LSTM", 1)
    layer.weight_hh_l0.numpy()[0, 0] = np.nan
    x = np.ones((3, 2, 3))
    with tg.detect_anomaly(), pytest.raises(FloatingPointError, match="'linear' produced NaN"):
        layer(x)
    out, _ = layer(x)  # without anomaly mode: fused, and NaN flows through silently
    assert _scan_nodes(out) and np.isnan(out.numpy()).any()


# --- edge cases: a state the step ignores, index arrays too long for their repr ---------------


@pytest.mark.parametrize("steps", [1, 3])
def test_state_the_step_does_not_read(steps):
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((steps, 2, 3)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    h0, c0 = (tg.Tensor(np.zeros((2, 3)), requires_grad=True) for _ in range(2))
    step = lambda x_t, s, w: ((x_t + s[0] @ w).tanh(), (x_t + s[0] @ w).tanh() * 2)
    out, (h, c) = scan(step, x, (h0, c0), (w,))
    (out.sum() + c.sum()).backward()
    assert c0.grad is None or not c0.grad.numpy().any()


def test_programs_of_different_large_index_arrays_differ():
    n = 1001
    x = tg.Tensor(np.random.default_rng(0).standard_normal((2, 1, n)), requires_grad=True)
    state = (tg.zeros(1, n, dtype=np.float64),)
    a, b = np.arange(n), np.arange(n)
    b[[10, 11]] = b[[11, 10]]  # same length, same first and last elements as a
    scan(lambda x_t, s: (x_t[:, a] + s[0],), x, state)
    out, _ = scan(lambda x_t, s: (x_t[:, b] + s[0],), x, state)
    assert out.numpy()[0, 0, 10] == x.numpy()[0, 0, 11]


def _passes_c_through(x_t, state, w):
    h, c = state
    return (x_t + h @ w + c).tanh(), c


def _makes_x_the_state(x_t, state, w):
    h, c = state
    return (h @ w).tanh() * c, x_t


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("step", [_passes_c_through, _makes_x_the_state])
def test_a_state_returned_as_it_came_or_the_input_returned_as_a_state(step, reverse):
    rng = np.random.default_rng(0)
    x, (h0, c0), w = (
        rng.standard_normal((3, 2, 4)),
        rng.standard_normal((2, 2, 4)),
        rng.standard_normal((4, 4)),
    )

    def fn(x, h0, c0, w):
        out, (h, c) = scan(step, x, (h0, c0), (w,), reverse=reverse)
        return tg.concat([out.reshape(-1), h.reshape(-1) * 2, c.reshape(-1) * 3])

    assert gradcheck(fn, x, h0, c0, w)


# --- the written source: readable, one backward, registered with linecache -----------------------


def _lstm_program():
    return tg.scan.program(_layer("LSTM", 1), np.ones((3, 2, 3)))


def test_the_source_names_each_primitive_and_value():
    program = _lstm_program()
    source = str(program)
    for text in ("sigmoid(", "tanh(", "sigmoid_vjp(", "tanh_vjp(", "mul_vjp_0(", "linear_vjp_1("):
        assert text in source, text
    for gate in ("input_gate", "forget_gate", "output_gate", "candidate", "cell_state"):
        assert f"        {gate} = " in source, gate  # a line of the forward loop computes it
    # the three sigmoid gates: one call on the gates' array, each gate a view of its result
    assert "sigmoid_v1 = sigmoid(v1)  # one call: input gate, forget gate, output gate" in source
    assert "forget_gate = sigmoid_v1[forget_gate_part]  # forget gate" in source
    assert "g_v1_via_sigmoid = sigmoid_vjp(g_sigmoid_v1, None, v1)  # one call" in source
    assert not re.search(r"\b(F\d+|V\d+_\d+|ph\d+_\d+)\b", source)  # no numbered function names
    assert source.count("def run_backward(") == 1 and "keeping" not in source


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_fused_gates_give_the_numbers_of_separate_calls(kind, monkeypatch):
    # one sigmoid on the covering slice computes each element as the separate calls do: the
    # same bits, forward and backward
    from tinygrad_seq.scan import source

    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 2, 3)) * 8  # saturated gates too
    results = []
    for fuse in (True, False):
        monkeypatch.setattr(source, "FUSE", fuse)
        tg.scan.clear_cache()
        layer = _layer(kind, 1)
        xt = tg.Tensor(x, requires_grad=True)
        out, _ = layer(xt)
        (out * out).sum().backward()
        results.append([out.numpy(), xt.grad.numpy(), layer.weight_hh_l0.grad.numpy()])
        assert ("one call" in str(tg.scan.program(layer, xt))) == (fuse and kind == "LSTM")
    tg.scan.clear_cache()
    for fused, separate in zip(*results):
        np.testing.assert_array_equal(fused, separate)


def test_the_source_is_what_inspect_shows():
    program = _lstm_program()
    shown = inspect.getsource(program.run_backward)
    assert shown.startswith("def run_backward(") and shown in program.source
    assert inspect.getsourcefile(program.run_forward) == program.filename


def test_an_error_in_a_vjp_shows_the_line_of_the_program_that_called_it():
    layer = _layer("LSTM", 1)
    x = np.ones((3, 2, 3))
    original = ops.tanh.vjps

    def broken(g, out, x):
        raise ArithmeticError("a broken tanh VJP")

    ops.tanh.vjps = (broken,)
    try:
        out, _ = layer(x)
        with pytest.raises(ArithmeticError) as caught:
            out.sum().backward()
    finally:
        ops.tanh.vjps = original
    shown = "".join(traceback.format_exception(caught.value))
    assert 'File "<tinygrad_seq.scan program' in shown and "in run_backward" in shown
    assert "g_cell_state_1 = tanh_vjp(g_v13, v13, cell_state_shape)" in shown


# --- edits are honoured, caches are bounded and hold nothing alive -------------------------------


def _weight_grad(eager=False):
    layer = _layer("LSTM", 1)
    with tg.eager() if eager else contextlib.nullcontext():
        out, (h, c) = layer(np.linspace(-1, 1, 30).reshape(5, 2, 3))
    (out.sum() + c.sum()).backward()
    return layer.weight_hh_l0.grad


@pytest.mark.parametrize("what", ["vjps", "forward"])
def test_an_edited_primitive_is_used_by_a_new_layer_and_restoring_it_restores_it(what):
    before = _weight_grad()
    original = getattr(ops.tanh, what)
    if what == "vjps":
        edited = (lambda g, out, x: 2 * original[0](g, out, x),)
    else:
        edited = lambda x: original(x) * 0.5  # noqa: E731
    setattr(ops.tanh, what, edited)
    try:
        changed, reference = _weight_grad(), _weight_grad(eager=True)
    finally:
        setattr(ops.tanh, what, original)
    assert not np.allclose(changed, before)
    np.testing.assert_allclose(changed, reference, **EXACT)  # the op-by-op engine's number
    np.testing.assert_array_equal(_weight_grad(), before)


def test_clear_cache_makes_the_next_call_record_again():
    first = _lstm_program()
    assert _lstm_program() is first
    tg.scan.clear_cache()
    assert _lstm_program() is not first


class _Stepper(nn.Module):
    """A module that passes scan a bound method as its step and as its key."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.eye(3) * 0.5)
        self.payload = np.zeros(10_000)  # what a layer kept alive would keep alive

    def step(self, x_t, state, w):
        return ((x_t + state[0] @ w).tanh(),)

    def forward(self, x):
        return scan(self.step, x, (tg.zeros(2, 3, dtype=np.float64),), (self.w,), key=self.step)


def test_layers_created_and_dropped_leave_no_trace_in_the_caches():
    alive = []
    for k in range(40):
        layer = _Stepper() if k % 2 else _layer(["RNN", "LSTM", "GRU"][k % 3], 1)
        out = layer(tg.Tensor(np.ones((3, 2, 3))))[0]
        out.sum().backward()
        alive.append(weakref.ref(layer))
        del layer, out
    gc.collect()
    assert [ref() for ref in alive] == [None] * 40


def test_the_caches_never_exceed_their_bound_and_keep_the_recently_used(monkeypatch):
    monkeypatch.setattr(record_module, "CACHE_SIZE", 3)
    tg.scan.clear_cache()
    step = lambda x_t, state: ((x_t + state[0]).tanh(),)  # noqa: E731
    programs = {}
    for size in [1, 2, 3, 1, 4, 5, 1, 6, 2]:
        x = np.ones((2, 1, size))
        programs.setdefault(size, []).append(record(step, x[0], [x[0]], (), key="k"))
        assert len(record_module._BY_KEY) <= 3 and len(record_module._BY_TRACE) <= 3
    assert programs[1][0] is programs[1][1] is programs[1][2]  # used often: never the oldest
    assert programs[2][0] is not programs[2][1]  # pushed out by 4, 5 and 6, recorded again


def test_two_threads_recording_at_once_get_their_own_programs():
    tg.scan.clear_cache()
    steps = {
        "tanh": lambda x_t, state: ((x_t + state[0]).tanh(),),
        "sigmoid": lambda x_t, state: ((x_t * state[0]).sigmoid(),),
    }
    reference = {
        "tanh": lambda x, h: np.tanh(x + h),
        "sigmoid": lambda x, h: 1 / (1 + np.exp(-x * h)),
    }
    errors = []

    def work(kind):
        rng = np.random.default_rng(len(kind))
        try:
            for k in range(60):
                size = 1 + k % 7
                xs, h = rng.standard_normal((2, 2, size)), rng.standard_normal((2, size))
                program = record(steps[kind], xs[0], [h], (), key=kind)
                outputs = [None, None]
                program.run_infer(xs, range(2), outputs, h)
                expected = reference[kind](xs[1], reference[kind](xs[0], h))
                np.testing.assert_allclose(outputs[1], expected, rtol=1e-12)
                if k % 20 == 19:
                    tg.scan.clear_cache()  # the other thread records again meanwhile
        except Exception as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(kind,)) for kind in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def _oddly_named_step(x_t, state, w):
    """Node names that are Python keywords, names the loops use, primitives' names, repeated."""
    (h,) = state
    a = (h @ w).named("tanh")
    b = (x_t + a).named("g").named("g")
    c = (b * x_t).named("t").tanh().named("v0")
    d = (c + b).named("x_t shape")
    return ((d * 0.5).tanh().named("lambda"),)


def test_node_names_that_clash_with_the_source_get_their_own_variables():
    rng = np.random.default_rng(0)
    x, h0, w = (
        rng.standard_normal((3, 2, 4)),
        rng.standard_normal((2, 4)),
        rng.standard_normal((4, 4)),
    )

    def fn(x, h0, w):
        out, _ = scan(_oddly_named_step, x, (h0,), (w,), key=_oddly_named_step)
        return out

    assert gradcheck(fn, x, h0, w)
    source = str(tg.scan.program(fn, tg.Tensor(x), tg.Tensor(h0), tg.Tensor(w)))
    assert "tanh_2 = linear(" not in source and "tanh_2 = matmul(lambda_prev, w)" in source
    assert "lambda_2 = tanh(" in source


def test_two_threads_training_layers_at_once_get_the_numbers_of_one_thread():
    kinds = ["LSTM", "GRU", "RNN", "LSTM"]
    reference = {}
    for kind in set(kinds):
        tg.scan.clear_cache()
        reference[kind] = _weight_grads(kind)
    results, errors = {}, []

    def work(k, kind):
        try:
            for _ in range(5):
                if k == 0:
                    tg.scan.clear_cache()  # the others record again, while this one does
                results[k] = _weight_grads(kind)
                for a, b in zip(results[k], reference[kind], strict=True):
                    np.testing.assert_allclose(a, b, **EXACT)
        except Exception as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=item) for item in enumerate(kinds)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def _weight_grads(kind):
    layer = _layer(kind, 1, bidirectional=True)
    out, _ = layer(np.linspace(-1, 1, 30).reshape(5, 2, 3))
    out.sum().backward()
    return [p.grad for p in layer.parameters()]


def test_a_users_primitive_returning_a_slice_gradient_runs_in_the_compiled_loop():
    # the loop's writer learns how a gradient is added up from the form the primitive declares,
    # not from the op's name: a user's IndexedGrad is added in place like getitem's
    first_half = ops.primitive(
        "first_half_scan_test",
        lambda x: x[:, : x.shape[1] // 2],
        lambda g, out, x: ops.IndexedGrad((slice(None), slice(0, x.shape[1] // 2)), g, x.shape),
        forms={0: "indexed"},
    )

    def step(x_t, state, w):
        wide = tg.concat([state[0], state[0]], axis=1) @ w  # (B, 2H)
        return ((tg.apply(first_half, wide) + tg.apply(first_half, wide * x_t)).tanh(),)

    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((5, 2, 6)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((6, 6)) * 0.3, requires_grad=True)
    h0 = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    grads = []
    for eager in (False, True):
        x.grad = w.grad = h0.grad = None
        with tg.eager() if eager else contextlib.nullcontext():
            out, _ = scan(step, x, (h0,), (w,))
        (out * out).sum().backward()
        grads.append([x.grad, w.grad, h0.grad])
    for compiled, op_by_op in zip(*grads):
        np.testing.assert_allclose(compiled, op_by_op, rtol=1e-12, atol=1e-15)


def test_a_comparison_inside_a_step_is_an_error_not_a_constant_replayed_at_every_step():
    # a comparison is no primitive: traced, its result would be the first step's, at every step
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((6, 2, 3)))
    w = tg.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    h0 = tg.zeros(2, 3, dtype=np.float64)

    def leaky_step(x_t, state, w):
        pre = x_t + state[0] @ w
        return (tg.where(pre > 0, pre, 0.1 * pre),)

    with pytest.raises(ValueError, match=r"scan: the comparison gt \(>\) in the step .* tg\.eager"):
        scan(leaky_step, x, (h0,), (w,))
    with tg.eager():  # op by op the comparison sees every step's values: allowed
        out, _ = scan(leaky_step, x, (h0,), (w,))
    relu_step = lambda x_t, state, w: ((p := x_t + state[0] @ w).relu() - 0.1 * (-p).relu(),)  # noqa: E731
    np.testing.assert_allclose(scan(relu_step, x, (h0,), (w,))[0].numpy(), out.numpy())


def test_an_equality_inside_a_step_is_an_error_too():
    # == and != are elementwise comparisons (as in PyTorch): no primitive, so no replay either
    x = tg.Tensor(np.zeros((3, 1, 2)))
    w = tg.Tensor(np.eye(2), requires_grad=True)
    step = lambda x_t, state, w: (tg.where(x_t == 0, state[0] @ w, x_t),)  # noqa: E731
    with pytest.raises(ValueError, match=r"scan: the comparison eq \(==\) in the step"):
        scan(step, x, (tg.ones(1, 2, dtype=np.float64),), (w,))
