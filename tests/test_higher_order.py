"""Derivatives of derivatives: every primitive in the table is second-order gradchecked, the
elementwise ones to third order, from the first-order registry's cases (``tests/test_ops.py``): a
primitive added without a case fails there, and so here."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_ops import CASES

import tinygrad_seq as tg
from tinygrad_seq import ops
from tinygrad_seq.testing import first_gradient, gradgradcheck

ELEMENTWISE = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "tanh", "sigmoid"]
ELEMENTWISE += ["abs", "relu", "clip", "where", "sin", "cos"]


def test_every_primitive_is_second_order_checked():
    assert set(ops.BUILTIN) <= set(CASES), sorted(set(ops.BUILTIN) - set(CASES))
    assert set(ELEMENTWISE) <= set(ops.BUILTIN)


@pytest.mark.parametrize("name", sorted(ops.BUILTIN))
@settings(max_examples=10)
@given(data=st.data())
def test_primitive_second_derivative(name, data):
    fn, inputs = data.draw(CASES[name])
    if name == "pow":  # at an exponent of exactly 0 the base's VJP is masked to 0, as PyTorch's
        assume(all(np.all(y != 0) for y in inputs[1:]))  # (pow_backward): constant there
    assert gradgradcheck(fn, *inputs)


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=5)
@given(data=st.data())
def test_elementwise_third_derivative(name, data):
    fn, inputs = data.draw(CASES[name])
    if name == "pow":
        assume(all(np.all(y != 0) for y in inputs[1:]))
    with tg.no_grad():
        shape = fn(*[tg.Tensor(x) for x in inputs]).shape
    v = np.random.default_rng(2).standard_normal(shape)
    assert gradgradcheck(first_gradient(fn, v), *inputs, atol=1e-4)


def test_np_transpose_without_axes_records_inside_a_create_graph_backward():
    # a VJP written for arrays calls np.transpose(g) with no axes: all axes reversed, as NumPy
    flip = tg.ops.primitive("flip_t_test", lambda x: x.T.copy(), lambda g, out, x: np.transpose(g))
    x = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (gx,) = tg.autograd.grad((tg.apply(flip, x) ** 2).sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), 2 * np.arange(6.0).reshape(2, 3))
    (ggx,) = tg.autograd.grad(gx.sum(), x)
    np.testing.assert_allclose(ggx.numpy(), np.full((2, 3), 2.0))
