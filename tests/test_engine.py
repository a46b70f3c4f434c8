"""The reverse sweep: order, accumulation, freeing, switches, anomaly mode, algebraic laws."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_seq as tg
from tinygrad_seq import modes
from tinygrad_seq.testing import arrays, broadcastable_shapes, shapes


def leaf(array):
    return tg.Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def grads_of(fn, *arrays_):
    leaves = [leaf(a) for a in arrays_]
    fn(*leaves).backward()
    return [x.grad for x in leaves]


def test_issue_example():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    W = tg.Tensor(rng.standard_normal((3, 5)), requires_grad=True)
    y = ((x @ W).tanh() * 2 + 1).sum()
    y.backward()
    d = 2 * (1 - np.tanh(x.numpy() @ W.numpy()) ** 2)
    np.testing.assert_allclose(x.grad, d @ W.numpy().T)
    np.testing.assert_allclose(W.grad, x.numpy().T @ d)
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype


def test_deep_chain_has_no_recursion_limit():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)


def test_fan_out_accumulates():
    x = leaf([2.0, 3.0])
    y = (x * x + x * 3 + x).sum()  # x used four times
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * x.numpy() + 4)


def test_weight_shared_over_many_steps_accumulates():
    w = leaf(0.5)
    h = tg.Tensor(np.array(1.0))
    for _ in range(50):
        h = h * w
    h.backward()
    assert w.grad == pytest.approx(50 * 0.5**49)


def test_leaf_grads_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0, 5.0])


def test_second_backward_through_freed_graph_raises():
    x = leaf([1.0])
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0])
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * np.exp(1.0))


def test_backward_frees_saved_arrays_but_keeps_structure():
    x = leaf(np.ones(3))
    y = (x.tanh() * 2).sum()
    node = y.node
    y.backward()
    assert node.inputs is None and node.out is None
    assert [p.op for p in node.parents] == ["mul"]  # the structure stays for drawing


def test_keep_values_keeps_each_value_through_backward_but_frees_what_the_vjps_saved():
    x = leaf([1.0, 2.0])
    with tg.keep_values():
        h = x.tanh()
        y = (h * 2).sum()
    y.backward()
    np.testing.assert_allclose(h.node.value, np.tanh([1.0, 2.0]), rtol=1e-6)
    np.testing.assert_allclose(y.node.value, 2 * np.tanh([1.0, 2.0]).sum(), rtol=1e-6)
    assert h.node.inputs is None and h.node.out is None  # what the VJPs read is freed
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    assert (x.tanh() * 2).sum().node.value is None  # outside keep_values: nothing kept


def test_intermediate_tensors_are_not_kept_alive_by_the_graph():
    import gc
    import weakref

    x = leaf(np.ones(3))
    hidden = x.tanh()
    ref = weakref.ref(hidden)
    y = (hidden * 2).sum()
    del hidden
    gc.collect()
    assert ref() is None
    y.backward()


def test_backward_on_non_scalar_needs_grad():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\)"):
        (x * 2).backward()
    (x * 2).backward(np.ones((2, 3)))
    np.testing.assert_allclose(x.grad, 2 * np.ones((2, 3)))


def test_backward_grad_of_wrong_shape():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        (x * 2).backward(np.ones(3))


def test_backward_without_graph():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.Tensor([1.0]).sum().backward()


def test_no_grad_context_and_decorator():
    x = leaf([1.0])
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @tg.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert modes.STATE.grad_enabled


def test_detach_cuts_the_graph():
    x = leaf([2.0])
    y = x * 3
    z = (y.detach() * y).sum()  # only the second factor carries gradient
    z.backward()
    np.testing.assert_allclose(x.grad, [18.0])
    assert not y.detach().requires_grad
    assert np.shares_memory(y.detach().numpy(), y.numpy())


def test_inputs_without_grad_get_no_vjp_call():
    calls = []
    probe = tg.ops.Primitive(
        "probe",
        np.multiply,
        [lambda g, out, x, y: calls.append(0) or g * y, lambda g, out, x, y: calls.append(1) or g],
    )
    x = leaf([1.0])
    tg.apply(probe, x, tg.Tensor([2.0])).sum().backward()
    assert calls == [0]


def test_keep_grads_keeps_intermediate_gradients_and_visit_order():
    x = leaf([1.0, -1.0])
    h = x * 2
    y = h.tanh().sum()
    y.backward(keep_grads=True)
    np.testing.assert_allclose(h.node.grad, 1 - np.tanh(h.numpy()) ** 2)
    assert y.node.visit == 0
    assert h.node.visit < x.node.visit


def test_retain_grad_on_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.numpy())


def test_scope_is_recorded_on_nodes():
    x = leaf([1.0])
    with tg.scope("layer 0"), tg.scope("t=1"):
        y = x * 2
    z = y + 1
    assert y.node.scope == ("layer 0", "t=1")
    assert z.node.scope == ()


def test_detect_anomaly_names_op_shapes_and_user_line():
    x = leaf(np.array([[1.0, -1.0]]))
    with tg.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        x.log()  # the user's line
    message = str(info.value)
    assert "'log'" in message and "(1, 2)" in message and "test_engine.py" in message
    assert not modes.STATE.anomaly


def test_detect_anomaly_in_backward():
    x = leaf([0.0])
    with tg.detect_anomaly():
        y = x.sqrt().sum()  # sqrt(0) = 0 is fine, its derivative is not
        with pytest.raises(FloatingPointError, match=r"gradient of input 0 of 'sqrt'"):
            y.backward()


def test_detect_anomaly_checks_a_weight_gradient_deferred_as_a_product():
    # float32: x.T @ g = 1e20 * 1e20 overflows, though x, w, g and the forward are finite
    x = tg.Tensor(np.array([[1e20]], dtype=np.float32))
    for op in ("matmul", "linear"):
        w = tg.Tensor(np.array([[1e-20]], dtype=np.float32), requires_grad=True)
        with tg.detect_anomaly():
            y = x @ w if op == "matmul" else tg.nn.functional.linear(x, w)
            loss = (y * 1e20).sum()  # the user's line
            with pytest.raises(FloatingPointError) as info:
                loss.backward()
        message = str(info.value)
        assert f"the gradient of input 1 of '{op}'" in message, message
        assert "input shapes (1, 1), (1, 1)" in message, message
        assert "test_engine.py" in message and "x @ w if op" in message, message
        assert w.grad is None


def test_detect_anomaly_names_the_uses_whose_finite_products_overflow_when_summed():
    x = tg.Tensor(np.array([[2e19]], dtype=np.float32))
    w = tg.Tensor(np.array([[1e-19]], dtype=np.float32), requires_grad=True)
    with tg.detect_anomaly():
        first = (x @ w * 1e19).sum()  # 2e38: finite
        loss = first + (x @ w * 1e19).sum()  # 2e38 again: their sum is not
        with pytest.raises(FloatingPointError, match=r"the 2 gradients of input 1 of 'matmul'"):
            loss.backward()


def test_detect_anomaly_checks_what_reaches_a_leaf():
    x = tg.Tensor(np.array([1e-30], dtype=np.float32), requires_grad=True)
    x.name = "x"
    with tg.detect_anomaly():
        loss = (x * 2e38).sum() + (x * 2e38).sum()  # each gradient is finite, their sum is not
        with pytest.raises(FloatingPointError, match="the gradient reaching leaf 'x'"):
            loss.backward()
        with pytest.raises(FloatingPointError, match="the gradient passed to backward"):
            x.backward(np.array([np.nan], dtype=np.float32))
    assert x.grad is None


def test_integer_index_gradients_scatter_add():
    w = leaf(np.arange(6.0).reshape(3, 2))
    w[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_allclose(w.grad, [[3, 3], [0, 0], [1, 1]])


# --- algebraic properties, on hypothesis-drawn inputs ---------------------------------------------


@given(st.data())
def test_gradient_of_sum_is_sum_of_gradients(data):
    shape = data.draw(shapes())
    a = data.draw(arrays(shape))
    (g_f,) = grads_of(lambda x: x.tanh().sum(), a)
    (g_g,) = grads_of(lambda x: (x * x).sum(), a)
    (g_fg,) = grads_of(lambda x: x.tanh().sum() + (x * x).sum(), a)
    np.testing.assert_allclose(g_fg, g_f + g_g, rtol=1e-12, atol=1e-12)


@given(st.data())
def test_product_rule(data):
    a = data.draw(arrays(shapes()))
    (g,) = grads_of(lambda x: (x.tanh() * x.exp()).sum(), a)
    np.testing.assert_allclose(g, (1 - np.tanh(a) ** 2) * np.exp(a) + np.tanh(a) * np.exp(a))


@given(st.data())
def test_chain_rule(data):
    a = data.draw(arrays(shapes()))
    (g,) = grads_of(lambda x: (x * 0.5).sigmoid().log().sum(), a)
    s = 1 / (1 + np.exp(-0.5 * a))
    np.testing.assert_allclose(g, 0.5 * (1 - s), rtol=1e-10, atol=1e-12)


@given(st.data())
def test_vjp_is_linear_in_the_cotangent(data):
    sx, sy = data.draw(broadcastable_shapes(2))
    x, y = data.draw(arrays(sx)), data.draw(arrays(sy))
    out_shape = np.broadcast_shapes(sx, sy)
    u, v = data.draw(arrays(out_shape)), data.draw(arrays(out_shape))
    alpha = data.draw(st.floats(-2, 2))

    def vjp(cot):
        a, b = leaf(x), leaf(y)
        (a * b).tanh().backward(cot)
        return a.grad, b.grad

    for lin, (gu, gv) in zip(vjp(alpha * u + v), zip(vjp(u), vjp(v), strict=True), strict=True):
        np.testing.assert_allclose(lin, alpha * gu + gv, rtol=1e-9, atol=1e-12)


@given(st.data())
def test_broadcast_gradients_have_input_shapes(data):
    sx, sy = data.draw(broadcastable_shapes(2))
    gx, gy = grads_of(lambda a, b: (a * b).sum(), np.ones(sx), np.ones(sy))
    assert gx.shape == sx and gy.shape == sy


def test_nodes_keep_only_what_their_vjps_read():
    from tinygrad_seq.ops import Placeholder

    x = leaf(np.ones((2, 3)))
    w = leaf(np.ones((3, 4)))
    pre = x @ w + 1.0
    y = pre.tanh()
    assert all(isinstance(a, Placeholder) for a in pre.node.inputs)  # add reads nothing
    assert pre.node.out is None
    assert isinstance(y.node.inputs[0], Placeholder) and y.node.out is y.numpy()  # tanh reads out
    assert y.node.parents[0].parents[0].inputs[0] is x.numpy()  # matmul reads both operands
    with tg.keep_values():
        kept = x @ w + 1.0
    assert kept.node.out is kept.numpy()


def test_weight_shared_by_many_matmuls_sums_one_product():
    rng = np.random.default_rng(0)
    w = leaf(rng.standard_normal((3, 3)) * 0.5)
    hs = [rng.standard_normal((2, 3)) for _ in range(5)]
    total = sum(((tg.Tensor(h) @ w).tanh() * (i + 1)).sum() for i, h in enumerate(hs))
    total.backward()
    expected = sum(h.T @ ((1 - np.tanh(h @ w.numpy()) ** 2) * (i + 1)) for i, h in enumerate(hs))
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)
