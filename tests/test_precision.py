"""Every elementwise primitive, value and gradient, in float32 and float64, against mpmath.

Errors are measured in ulps of the output dtype against a 30-digit reference, on grids that reach
the saturated and extreme ends (sigmoid on [-100, 100], exp up to overflow, log over 60 decades).
Two claims, each a test of its own:

- within ``ULPS`` (4 in float32, 2 in float64) of the exact value: needs mpmath only;
- within PyTorch's own error on the same point plus the same ``ULPS``: needs torch, and skips
  without it (never a weaker bound in its place).

NumPy's float32 SIMD exp/log/tanh are documented at up to ~4 ulps where PyTorch's are closer to
0.5, and replacing them would cost the hot path. A gradient computed from the forward's output
(tanh: 1 - out**2) also inherits that output's rounding, amplified where the gradient is tiny
(1 - out**2 near |out| = 1): that inherited part is allowed too, and nothing more.
"""

from typing import NamedTuple

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import ops

mp = pytest.importorskip("mpmath")

_OTHER = {np.float32: np.float64, np.float64: np.float32}
ULPS = {np.float32: 4.0, np.float64: 2.0}  # NumPy's own float32 SIMD bounds (see above)
N = 500  # points per grid: enough to reach every regime, cheap in mpmath


def _sigmoid(x):
    return 1 / (1 + mp.exp(-x))


def _linear(lo, hi):
    return lambda dtype, rng: np.linspace(lo, hi, N)


def _decades(lo, hi, signed=False):
    def grid(dtype, rng):
        x = np.geomspace(lo, hi, N)
        return x * rng.choice([-1.0, 1.0], N) if signed else x

    return grid


def _sinh(hi, scale):
    """-hi to hi, dense near 0 (spacing ~scale / 70 there), as sparse as _linear at the ends."""

    def grid(dtype, rng):
        u = np.arcsinh(hi / scale)
        return scale * np.sinh(np.linspace(-u, u, N))

    return grid


def _by_dtype(f32, f64):
    return lambda dtype, rng: (f32 if dtype == np.float32 else f64)(dtype, rng)


# name: (our function, torch's, reference value, reference derivatives, grids, d(grad)/d(out))
# d(grad)/d(out) is given where the VJP reads the forward's output: its error is inherited.
UNARY = {
    "exp": (
        lambda t: t.exp(),
        "exp",
        mp.exp,
        mp.exp,
        _by_dtype(_linear(-100, 88), _linear(-740, 709)),
        lambda out: 1.0,
    ),
    "log": (
        lambda t: t.log(),
        "log",
        mp.log,
        lambda x: 1 / x,
        _by_dtype(_decades(1e-30, 1e30), _decades(1e-300, 1e300)),
        None,
    ),
    "sqrt": (
        lambda t: t.sqrt(),
        "sqrt",
        mp.sqrt,
        lambda x: 1 / (2 * mp.sqrt(x)),
        _by_dtype(_decades(1e-30, 1e30), _decades(1e-300, 1e300)),
        lambda out: -1 / (2 * out * out),
    ),
    "tanh": (
        lambda t: t.tanh(),
        "tanh",
        mp.tanh,
        lambda x: mp.sech(x) ** 2,
        _by_dtype(_linear(-20, 20), _linear(-40, 40)),
        lambda out: -2 * out,
    ),
    "sigmoid": (
        lambda t: t.sigmoid(),
        "sigmoid",
        _sigmoid,
        lambda x: _sigmoid(x) * _sigmoid(-x),
        # dense over |x| < 20, where 1 - out cancels (out * (1 - out): 37 ulps at 3.45 in float32)
        _by_dtype(_sinh(100, 5), _sinh(740, 5)),
        None,  # the VJP reads x, not out: nothing inherited
    ),
    "erf": (
        lambda t: tg.apply(ops.erf, t),
        "erf",
        mp.erf,
        lambda x: 2 / mp.sqrt(mp.pi) * mp.exp(-x * x),
        _by_dtype(_linear(-10, 10), _linear(-30, 30)),
        None,
    ),
    "relu": (
        lambda t: t.relu(),
        "relu",
        lambda x: max(x, 0),
        lambda x: float(x > 0),
        _linear(-10, 10),
        None,
    ),
    "abs": (lambda t: t.abs(), "abs", abs, lambda x: mp.sign(x), _decades(1e-30, 1e30, True), None),
    "neg": (lambda t: -t, "neg", lambda x: -x, lambda x: -1, _decades(1e-30, 1e30, True), None),
    "clip": (
        lambda t: t.clip(-0.5, 0.5),
        lambda torch, t: t.clamp(-0.5, 0.5),
        lambda x: min(max(x, -0.5), 0.5),
        lambda x: float(-0.5 < x < 0.5),
        _linear(-2, 2),
        None,
    ),
    "astype": (  # to the other float dtype: float64 -> float32 rounds, float32 -> float64 not
        lambda t: t.astype(_OTHER[t.dtype.type]),
        lambda torch, t: t.to(torch.float32 if t.dtype == torch.float64 else torch.float64),
        lambda x: x,
        lambda x: 1,
        _decades(1e-30, 1e30, True),
        None,
    ),
    "pow": (  # a number exponent; the tensor exponent and the number base are BINARY below
        lambda t: t**2.5,
        lambda torch, t: t**2.5,
        lambda x: x ** mp.mpf(2.5),
        lambda x: mp.mpf(2.5) * x ** mp.mpf(1.5),
        _decades(1e-6, 1e6),
        None,
    ),
}


def _pair(lo, hi, signed=True):
    def grid(dtype, rng):
        x = np.exp(rng.uniform(np.log(lo), np.log(hi), (2, N)))
        return x * rng.choice([-1.0, 1.0], (2, N)) if signed else x

    return grid


def _pow_pair(dtype, rng):
    return np.stack([np.geomspace(1e-3, 1e3, N), rng.uniform(-10, 10, N)])


BINARY = {
    "add": (lambda x, y: x + y, lambda x, y: x + y, lambda x, y: (1, 1), _pair(1e-10, 1e10)),
    "sub": (lambda x, y: x - y, lambda x, y: x - y, lambda x, y: (1, -1), _pair(1e-10, 1e10)),
    "mul": (lambda x, y: x * y, lambda x, y: x * y, lambda x, y: (y, x), _pair(1e-10, 1e10)),
    "div": (
        lambda x, y: x / y,
        lambda x, y: x / y,
        lambda x, y: (1 / y, -x / y**2),
        _pair(1e-8, 1e8),
    ),
    "pow": (
        lambda x, y: x**y,
        lambda x, y: x**y,
        lambda x, y: (y * x ** (y - 1), x**y * mp.log(x)),
        _pow_pair,
    ),
    "where": (
        lambda x, y: tg.where(np.arange(N) % 2 == 0, x, y),
        None,
        lambda x, y: (1, 0),  # on the even points, where x is taken (odd points: checked below)
        _pair(1e-10, 1e10),
    ),
}

# Primitives that are not elementwise: reductions, products and movement (tested elsewhere).
NOT_ELEMENTWISE = {
    "matmul",
    "linear",
    "sum",
    "max",
    "logsumexp",
    "log_softmax",
    "reshape",
    "transpose",
    "setitem",
    "getitem",
    "scatter",
    "concat",
    "stack",
}


def test_every_elementwise_primitive_is_measured():
    measured = set(UNARY) | set(BINARY)
    assert set(ops.BUILTIN) - NOT_ELEMENTWISE <= measured, "add the new primitive to a table"


# --- measuring ------------------------------------------------------------------------------------

_REFERENCES = {}


def _reference(key, fn, *columns):
    """fn at every point, as (hi, lo) float64 pairs: hi + lo is the 30-digit value."""
    if key not in _REFERENCES:
        mp.mp.dps = 30
        values = [fn(*(mp.mpf(float(c)) for c in point)) for point in zip(*columns)]
        values = [v if isinstance(v, tuple) else (v,) for v in values]
        pairs = []
        for k in range(len(values[0])):
            hi = np.array([float(v[k]) for v in values])
            lo = np.array([float(mp.mpf(v[k]) - mp.mpf(h)) for v, h in zip(values, hi)])
            pairs.append((hi, lo))
        _REFERENCES[key] = pairs
    return _REFERENCES[key]


def _ulps(values, reference, dtype):
    hi, lo = reference
    error = np.abs((np.asarray(values, dtype=np.float64) - hi) - lo)
    spacing = np.spacing(np.abs(hi).astype(dtype)).astype(np.float64)
    with np.errstate(over="ignore"):  # PyTorch flushing a subnormal result: infinitely many
        return np.where(error == 0, 0.0, error / spacing)


def _inherited(d_grad_d_out, out_reference, grad_reference, dtype, value_ulps):
    """The gradient error that the output's own error (value_ulps) causes through the VJP."""
    if d_grad_d_out is None:
        return 0.0
    out = out_reference[0]
    slope = np.abs(np.array([float(d_grad_d_out(o)) for o in out]))
    out_spacing = np.spacing(np.abs(out).astype(dtype)).astype(np.float64)
    grad_spacing = np.spacing(np.abs(grad_reference[0]).astype(dtype)).astype(np.float64)
    with np.errstate(over="ignore"):  # a gradient that underflows inherits without bound
        return slope * value_ulps * (out_spacing / grad_spacing)


def _torch_errors(torch, spec, inputs, measured):
    """torch's ulp errors on the same points, for each of ``measured`` (value, then gradients)."""
    fn = getattr(torch, spec) if isinstance(spec, str) else lambda *ts: spec(torch, *ts)
    tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
    out = fn(*tensors)
    out.backward(torch.ones_like(out))
    results = [out.detach().numpy()] + [t.grad.numpy() for t in tensors]
    return [_ulps(r, m.reference, m.dtype) for r, m in zip(results, measured)]


class Measured(NamedTuple):
    what: str  # "value", "gradient", "x gradient", ...
    error: np.ndarray  # ours, in ulps of ``dtype``, per point
    inherited: np.ndarray | float  # the part of it the output's own error explains
    reference: tuple  # (hi, lo)
    dtype: type


def _measure_unary(name, dtype):
    """x, and our value and gradient measured on the grid."""
    ours, _, value, derivative, grid, d_grad_d_out = UNARY[name]
    x = grid(dtype, np.random.default_rng(0)).astype(dtype)
    out_ref = _reference((name, dtype, "value"), value, x)[0]
    grad_ref = _reference((name, dtype, "grad"), derivative, x)[0]
    out_dtype = _OTHER[dtype] if name == "astype" else dtype
    t = tg.Tensor(x.copy(), requires_grad=True)
    out = ours(t)
    out.backward(np.ones(out.shape, dtype=out.dtype))
    assert out.dtype == out_dtype and t.grad.dtype == dtype
    inherited = _inherited(d_grad_d_out, out_ref, grad_ref, dtype, ULPS[dtype])
    return x, [
        Measured("value", _ulps(out.numpy(), out_ref, out_dtype), 0.0, out_ref, out_dtype),
        Measured("gradient", _ulps(t.grad.numpy(), grad_ref, dtype), inherited, grad_ref, dtype),
    ]


def _measure_binary(name, dtype):
    """x, y, and our value and both gradients measured on the grid."""
    ours, theirs, derivatives, grid = BINARY[name]
    x, y = grid(dtype, np.random.default_rng(1)).astype(dtype)
    plain = {"where": lambda a, b: a}.get(name, theirs)  # where's value is x on the even points
    refs = [_reference((name, dtype, "binary value"), plain, x, y)[0]]
    refs += _reference((name, dtype, "binary grads"), derivatives, x, y)
    tx, ty = tg.Tensor(x.copy(), requires_grad=True), tg.Tensor(y.copy(), requires_grad=True)
    out = ours(tx, ty)
    out.backward(np.ones(out.shape, dtype=dtype))
    assert out.dtype == tx.grad.dtype == ty.grad.dtype == dtype
    if name == "where":  # the odd points take y, and its gradient (the even ones are measured)
        odd = np.arange(N) % 2 == 1
        assert np.array_equal(out.numpy()[odd], y[odd]) and np.all(ty.grad.numpy()[odd] == 1)
        assert np.all(tx.grad.numpy()[odd] == 0)
    results = [out.numpy(), tx.grad.numpy(), ty.grad.numpy()]
    whats = ("value", "x gradient", "y gradient")
    return (
        x,
        y,
        [
            Measured(w, _ulps(r, ref, dtype), 0.0, ref, dtype)
            for w, r, ref in zip(whats, results, refs)
        ],
    )


def _assert_within(name, x, measured, theirs=None, points=slice(None)):
    """Each error within ULPS of the exact value, or, given ``theirs``, of PyTorch's error
    (or of the inherited error, where that is more)."""
    for k, m in enumerate(measured):
        base = m.inherited if theirs is None else np.maximum(theirs[k], m.inherited)
        allowed = np.broadcast_to(ULPS[m.dtype] + base, m.error.shape)[points]
        error = m.error[points]
        assert np.all(error <= allowed), _worst(name, m.what, x[points], error, allowed)


# --- the tests ------------------------------------------------------------------------------------

TORCH_BINARY = sorted(name for name in BINARY if BINARY[name][1] is not None)
EVEN = {"where": np.arange(N) % 2 == 0}  # where's measured points: those where x is taken


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_value_and_gradient_within_ulps_of_exact(name, dtype):
    x, measured = _measure_unary(name, dtype)
    _assert_within(name, x, measured)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_value_and_gradient_within_pytorchs_error(name, dtype):
    torch = pytest.importorskip("torch")
    x, measured = _measure_unary(name, dtype)
    _assert_within(name, x, measured, _torch_errors(torch, UNARY[name][1], [x], measured))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_value_and_gradients_within_ulps_of_exact(name, dtype):
    x, _, measured = _measure_binary(name, dtype)
    _assert_within(name, x, measured, points=EVEN.get(name, slice(None)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", TORCH_BINARY)
def test_binary_value_and_gradients_within_pytorchs_error(name, dtype):
    torch = pytest.importorskip("torch")
    x, y, measured = _measure_binary(name, dtype)
    theirs = BINARY[name][1]
    errors = _torch_errors(torch, lambda torch, a, b: theirs(a, b), [x, y], measured)
    _assert_within(name, x, measured, errors)


def _worst(name, what, x, error, allowed):
    excess = error - allowed
    i = int(np.argmax(excess))
    return (
        f"{name} {what}: {error[i]:.3g} ulps at x={x.flat[i]!r} "
        f"(allowed {allowed[i]:.3g}); {int(np.sum(excess > 0))} points over"
    )


def test_pow_x_gradient_where_out_over_x_is_not_used():
    # where y - 1 is rounded (0.1, -1.1 in float32) but x = 0, out is subnormal (1e36 ** -1.1) or
    # NaN (x < 0), the gradient is y * x ** (y - 1) itself; at x = 2, x ** y / x; exact y - 1 too
    x = np.array([0.0, 1e36, -2.0, 2.0, 0.0, 0.0, 0.0, 1e-30, -2.0], dtype=np.float32)
    y = np.array([0.1, -1.1, 0.1, 0.1, 2.0, -1.0, 0.0, 1.5, 3.0], dtype=np.float32)
    assert np.all(((y - 1) + 1 != y)[:4])
    tx = tg.Tensor(x, requires_grad=True)
    with np.errstate(all="ignore"):
        (tx ** tg.Tensor(y)).sum().backward()
        wide = x.astype(np.float64)
        expected = np.where(y == 0, 0, y * wide ** (y.astype(np.float64) - 1)).astype(np.float32)
    assert tx.grad.dtype == np.float32
    np.testing.assert_allclose(tx.grad.numpy(), expected, rtol=1e-6)  # NaN where expected NaN


def test_pow_second_derivative_at_zero_is_not_nan():
    # where x ** y / x is not used (x = 0), a recorded backward must not differentiate 0 ** y
    # (with an upstream gradient of 0: 0 * inf). y = 0.3: y - 1 is rounded, so the quotient is used
    x = tg.Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (first,) = tg.autograd.grad((x**0.3).sum(), x, create_graph=True)
    (second,) = tg.autograd.grad(first.sum(), x)
    np.testing.assert_allclose(second.numpy(), [-np.inf, 0.3 * (0.3 - 1) * 2.0 ** (0.3 - 2)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_x_gradient_of_an_integer_exponent_is_not_rounded_twice(dtype):
    # y - 1 is exact for an integer y: x ** (y - 1) is then one rounding (none for y = 2: 2 * x)
    x = np.random.default_rng(3).uniform(-10, 10, 1000).astype(dtype)
    for y, expected in [(2.0, 2 * x), (3.0, 3 * (x * x))]:
        t = tg.Tensor(x, requires_grad=True)
        (t**y).sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), expected)
