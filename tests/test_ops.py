"""Every primitive in the derivative table is gradchecked on hypothesis-drawn inputs.

The cases are keyed by primitive name and the test is parametrized by the registry itself: a
primitive added to ``ops.py`` without a case here fails ``test_every_primitive_has_a_case``.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_seq as tg
from tinygrad_seq import ops
from tinygrad_seq.testing import arrays, broadcastable_shapes, gradcheck, shapes


def unary(fn, low=-2.0, high=2.0, away_from=None):
    @st.composite
    def case(draw):
        return fn, [draw(arrays(shapes(), low, high, away_from=away_from))]

    return case()


def binary(fn, divisor=False):
    @st.composite
    def case(draw):
        sx, sy = draw(broadcastable_shapes(2))
        x = draw(arrays(sx))
        if divisor:  # |y| in [0.5, 2] with either sign: far from the pole at 0
            y = draw(arrays(sy, 0.5, 2.0)) * np.where(draw(arrays(sy)) < 0, -1.0, 1.0)
        else:
            y = draw(arrays(sy))
        return fn, [x, y]

    return case()


@st.composite
def matmul_case(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["2d", "batched", "broadcast", "vec@mat", "mat@vec", "vec@vec"]))
    a_shape, b_shape = {
        "2d": ((n, k), (k, m)),
        "batched": ((2, n, k), (2, k, m)),
        "broadcast": ((3, 1, n, k), (2, k, m)),
        "vec@mat": ((k,), (2, k, m)),
        "mat@vec": ((2, n, k), (k,)),
        "vec@vec": ((k,), (k,)),
    }[kind]
    return (lambda a, b: a @ b), [draw(arrays(a_shape)), draw(arrays(b_shape))]


@st.composite
def linear_case(draw):
    lead = draw(st.sampled_from([(), (3,), (2, 3)]))  # 1-D, 2-D and batched inputs
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x, w = draw(arrays(lead + (n_in,))), draw(arrays((n_out, n_in)))
    from tinygrad_seq._tensor import linear

    if draw(st.booleans()):  # with the contiguous transposed copy a layer passes as a hint
        return (lambda x, w: linear(x, w, np.ascontiguousarray(w.numpy().T))), [x, w]
    return (lambda x, w: linear(x, w)), [x, w]


@st.composite
def where_case(draw):
    sc, sx, sy = draw(broadcastable_shapes(3))
    cond = draw(arrays(sc)) > 0
    return (lambda x, y: tg.where(cond, x, y)), [draw(arrays(sx)), draw(arrays(sy))]


@st.composite
def pow_case(draw):
    kind = draw(st.sampled_from(["number exponent", "tensor exponent", "number base"]))
    if kind == "number exponent":
        exponent = draw(st.sampled_from([2, 3, 0.5, -1, 1.5, -0.5, 0]))
        return (lambda x: x**exponent), [draw(arrays(shapes(), 0.3, 2.0))]
    if kind == "number base":  # a negative base with a whole exponent is real; its log is not
        base = draw(st.sampled_from([0.5, 2.0, 3.0]))
        return (lambda y: base**y), [draw(arrays(shapes()))]
    sx, sy = draw(broadcastable_shapes(2))
    return (lambda x, y: x**y), [draw(arrays(sx, 0.3, 2.0)), draw(arrays(sy))]


@st.composite
def axis_and_keepdims(draw, ndim):
    choice = draw(st.sampled_from(["none", "int", "tuple"])) if ndim else "none"
    if choice == "none":
        axis = None
    elif choice == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axis = tuple(draw(st.lists(st.integers(0, ndim - 1), min_size=1, unique=True)))
    return axis, draw(st.booleans())


def reduction(method, distinct=False):
    @st.composite
    def case(draw):
        shape = draw(shapes())
        x = draw(arrays(shape))
        if distinct:  # max: no ties, where the derivative is one-sided
            order = draw(st.permutations(range(x.size)))
            x = np.asarray(order, dtype=np.float64).reshape(shape) * 0.1 + x * 0.01
        axis, keepdims = draw(axis_and_keepdims(len(shape)))
        return (lambda t: getattr(t, method)(axis, keepdims)), [x]

    return case()


@st.composite
def log_softmax_case(draw):
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return (lambda t: t.log_softmax(axis)), [draw(arrays(shape))]


@st.composite
def reshape_case(draw):
    shape = draw(shapes())
    target = draw(st.sampled_from([(-1,), tuple(reversed(shape)), (1,) + shape, shape + (1,)]))
    return (lambda t: t.reshape(target)), [draw(arrays(shape))]


@st.composite
def transpose_case(draw):
    shape = draw(shapes())
    axes = tuple(draw(st.permutations(range(len(shape)))))
    return (lambda t: t.permute(*axes)), [draw(arrays(shape))]


@st.composite
def index_case(draw):
    """(shape, index): basic and advanced indices, repeated rows and masks among them."""
    shape = draw(shapes(min_dims=1))
    n = shape[0]
    index = draw(
        st.sampled_from(
            [
                0,
                -1,
                slice(None, None, 2),
                slice(1, None),
                (Ellipsis, 0),
                (None, slice(None)),
                np.array([0, n - 1, 0, 0]),  # repeats: gradients must add up
                np.array([[n - 1], [0]]),
            ]
        )
    )
    if draw(st.booleans()):
        mask = draw(arrays(shape)) > 0
        index = mask
    return shape, index


@st.composite
def getitem_case(draw):
    shape, index = draw(index_case())
    return (lambda t: t[index]), [draw(arrays(shape))]


@st.composite
def scatter_case(draw):
    # getitem's adjoint, on the same indices: repeated rows add up
    shape, index = draw(index_case())
    value = draw(arrays(np.zeros(shape)[index].shape))
    return (lambda v: tg.apply(ops.scatter, v, index=index, shape=shape)), [value]


@st.composite
def setitem_case(draw):
    """x[index] = value with every index kind (no repeated index: there the values written
    last win, and only torch's convention, not a derivative, says who gets the gradient) and a
    value broadcast to the slot from fewer axes, axes of size 1, or a leading 1 NumPy drops."""
    shape = draw(shapes(min_dims=1))
    n = shape[0]
    index = draw(
        st.sampled_from(
            [0, -1, slice(None, None, 2), (Ellipsis, 0), (None, slice(1, None))]
            + [np.array([n - 1]), np.arange(n)[::-1].copy(), np.arange(n) % 2 == 0]
        )
    )
    if draw(st.booleans()):
        index = draw(arrays(shape)) > 0
    slot = np.zeros(shape)[index].shape
    kind = draw(st.sampled_from(["same", "trailing", "ones", "leading one"]))
    value_shape = {
        "same": slot,
        "trailing": slot[1:],
        "ones": tuple(1 if draw(st.booleans()) else k for k in slot),
        "leading one": (1,) + slot,
    }[kind]
    fn = lambda x, v: tg.apply(ops.setitem, x, v, index=index)  # noqa: E731
    return fn, [draw(arrays(shape)), draw(arrays(value_shape))]


@st.composite
def concat_case(draw, new_axis=False):
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(0, len(shape) - (0 if new_axis else 1)))
    count = draw(st.integers(1, 3))
    inputs = []
    for _ in range(count):
        s = list(shape)
        if not new_axis:
            s[axis] = draw(st.integers(1, 3))
        inputs.append(draw(arrays(tuple(s))))
    join = tg.stack if new_axis else tg.concat
    return (lambda *xs: join(list(xs), axis=axis)), inputs


CASES = {
    "add": binary(lambda x, y: x + y),
    "sub": binary(lambda x, y: x - y),
    "mul": binary(lambda x, y: x * y),
    "div": binary(lambda x, y: x / y, divisor=True),
    "matmul": matmul_case(),
    "linear": linear_case(),
    "where": where_case(),
    "neg": unary(lambda x: -x),
    "pow": pow_case(),
    "exp": unary(lambda x: x.exp()),
    "log": unary(lambda x: x.log(), 0.2, 3.0),
    "sqrt": unary(lambda x: x.sqrt(), 0.2, 3.0),
    "abs": unary(lambda x: x.abs(), away_from=0.0),
    "tanh": unary(lambda x: x.tanh()),
    "erf": unary(lambda x: tg.apply(ops.erf, x)),
    "sigmoid": unary(lambda x: x.sigmoid(), -6.0, 6.0),
    "relu": unary(lambda x: x.relu(), away_from=0.0),
    "clip": unary(lambda x: x.clip(-0.5, 0.5), away_from=(-0.5, 0.5)),
    "astype": unary(lambda x: tg.apply(ops.astype, x, dtype=np.dtype(np.float64))),
    "sum": reduction("sum"),
    "max": reduction("amax", distinct=True),
    "logsumexp": reduction("logsumexp"),
    "log_softmax": log_softmax_case(),
    "reshape": reshape_case(),
    "transpose": transpose_case(),
    "getitem": getitem_case(),
    "scatter": scatter_case(),
    "setitem": setitem_case(),
    "concat": concat_case(),
    "stack": concat_case(new_axis=True),
}


def test_every_primitive_has_a_case():
    missing = set(ops.BUILTIN) - set(CASES)
    assert not missing, f"primitives without a gradient test case: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(ops.BUILTIN))
@given(data=st.data())
def test_primitive_gradient(name, data):
    fn, inputs = data.draw(CASES[name])
    out = fn(*[tg.Tensor(x) for x in inputs])
    assert out.grad_fn is None  # constants record nothing
    assert gradcheck(fn, *inputs)


def _ulps(value, reference, dtype):
    """|value - reference| in units of the last place of ``dtype`` at the reference."""
    reference = np.asarray(reference, dtype=np.longdouble)
    spacing = np.spacing(np.abs(reference).astype(dtype)).astype(np.longdouble)
    return np.abs(np.asarray(value, dtype=np.longdouble) - reference) / spacing


@pytest.mark.parametrize(("dtype", "low"), [(np.float32, -87.0), (np.float64, -700.0)])
def test_sigmoid_keeps_relative_accuracy_in_the_saturated_tails(dtype, low):
    # the tanh form 0.5 * tanh(x / 2) + 0.5 rounded the negative tail to a fixed step, then to 0
    x = np.linspace(low, -low, 20001).astype(dtype)
    reference = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    t = tg.Tensor(x, requires_grad=True)
    out = t.sigmoid()
    out.sum().backward()
    assert out.dtype == dtype and t.grad.dtype == dtype
    assert _ulps(out.numpy(), reference, dtype).max() <= 4
    # the gradient is read from x, so accurate on both sides (out * (1 - out), as PyTorch, would
    # inherit the rounding of out near 1: 0 from x = 17 in float32)
    grad_reference = reference / (1 + np.exp(x.astype(np.longdouble)))  # sigmoid(x) sigmoid(-x)
    assert _ulps(t.grad.numpy(), grad_reference, dtype).max() <= 4


def test_sigmoid_has_a_finite_log_far_below_zero():
    x = tg.Tensor(np.array([-20.0, -80.0], dtype=np.float32))
    np.testing.assert_allclose(x.sigmoid().log().numpy(), [-20.0, -80.0], rtol=1e-6)


def test_sigmoid_saturates_without_warnings_or_nan():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in (np.float32, np.float64):
            x = np.array([-np.inf, -1e4, -750.0, -100.0, 0.0, 100.0, 1e4, np.inf], dtype=dtype)
            out = tg.Tensor(x).sigmoid().numpy()
            assert out.dtype == dtype
            assert out[0] == 0 and out[-1] == 1 and out[4] == 0.5 and not np.isnan(out).any()
            assert np.all(np.diff(out) >= 0)
