"""gradcheck catches wrong derivatives and says where; the strategies draw what they promise."""

import numpy as np
import pytest
from hypothesis import given

import tinygrad_seq as tg
from tinygrad_seq.testing import GradcheckError, arrays, broadcastable_shapes, gradcheck

WRONG_TANH = tg.ops.Primitive("wrong_tanh", np.tanh, [lambda g, out, x: g * (1 - out)])


def test_gradcheck_passes_a_correct_function():
    assert gradcheck(lambda x, y: (x @ y).sigmoid(), np.ones((2, 3)), np.ones((3, 2)) * 0.1)


def test_gradcheck_names_function_argument_element_and_values():
    def uses_wrong_tanh(x, y):
        return x * tg.apply(WRONG_TANH, y)

    with pytest.raises(GradcheckError) as info:
        gradcheck(uses_wrong_tanh, np.ones(2), np.array([0.0, 1.0]))
    message = str(info.value)
    assert "uses_wrong_tanh" in message and "argument 1" in message
    assert "element (1,)" in message and "central difference" in message


def test_gradcheck_works_in_float64_whatever_the_input_dtype():
    seen = []

    def record(x):
        seen.append(x.dtype)
        return x * 2

    gradcheck(record, np.ones(2, dtype=np.float32))
    assert seen and all(dtype == np.float64 for dtype in seen)


def test_gradcheck_needs_a_tensor_result():
    with pytest.raises(TypeError, match="must return a Tensor"):
        gradcheck(lambda x: 3.0, np.ones(2))


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    np.broadcast_shapes(*shapes)


@given(arrays((2, 3), -1, 1, away_from=0.0))
def test_arrays_respect_bounds(a):
    assert a.shape == (2, 3) and np.all(np.abs(a) <= 1) and np.all(np.abs(a) > 0.05)
