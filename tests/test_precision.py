"""Every elementwise primitive, value and gradient, in float32 and float64, against mpmath.

Errors are measured in ulps of the output dtype against a 30-digit reference, on grids that reach
the saturated and extreme ends (sigmoid on [-100, 100], exp up to overflow, log over 60 decades).
A result may be off by a small fixed bound more than PyTorch's on the same point:
NumPy's float32 SIMD exp/log/tanh are documented at up to ~4 ulps where PyTorch's are closer to
0.5, and replacing them would cost the hot path. A gradient computed from the forward's output
(tanh: 1 - out**2) also inherits that output's rounding, amplified where the gradient is tiny
(1 - out**2 near |out| = 1): that inherited part is allowed too, and nothing more.
"""

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import ops

mp = pytest.importorskip("mpmath")

_OTHER = {np.float32: np.float64, np.float64: np.float32}
FIXED_ULPS = {np.float32: 4.0, np.float64: 2.0}  # without torch: NumPy's own float32 SIMD bounds
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
        _by_dtype(_linear(-100, 100), _linear(-740, 740)),
        lambda out: 1 - 2 * out,
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
    "getitem",
    "scatter",
    "concat",
    "stack",
    "scan",
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


def _torch_errors(torch, fn, inputs, dtypes, references):
    """torch's ulp errors on the same points (value, then each input's gradient), or None."""
    if torch is None or fn is None:
        return None
    tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
    out = fn(*tensors)
    out.backward(torch.ones_like(out))
    results = [out.detach().numpy()] + [t.grad.numpy() for t in tensors]
    return [_ulps(r, ref, d) for r, ref, d in zip(results, references, dtypes)]


def _allowed(torch_errors, k, dtype, inherited=0.0):
    """Per point: the fixed bound on top of PyTorch's error there or of the inherited error."""
    base = inherited if torch_errors is None else np.maximum(torch_errors[k], inherited)
    return FIXED_ULPS[dtype] + base


@pytest.fixture(scope="module")
def torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _torch_fn(torch, spec):
    if torch is None or spec is None:
        return None
    if isinstance(spec, str):
        return getattr(torch, spec)
    return lambda *ts: spec(torch, *ts)


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_value_and_gradient_within_pytorchs_error(name, dtype, torch):
    ours, theirs, value, derivative, grid, d_grad_d_out = UNARY[name]
    x = grid(dtype, np.random.default_rng(0)).astype(dtype)
    out_ref = _reference((name, dtype, "value"), value, x)[0]
    grad_ref = _reference((name, dtype, "grad"), derivative, x)[0]
    out_dtype = _OTHER[dtype] if name == "astype" else dtype
    t = tg.Tensor(x.copy(), requires_grad=True)
    out = ours(t)
    out.backward(np.ones(out.shape, dtype=out.dtype))
    assert out.dtype == out_dtype and t.grad.dtype == dtype
    refs, dtypes = [out_ref, grad_ref], [out_dtype, dtype]
    theirs = _torch_errors(torch, _torch_fn(torch, theirs), [x], dtypes, refs)
    value_error = _ulps(out.numpy(), out_ref, out_dtype)
    allowed = _allowed(theirs, 0, out_dtype)
    assert np.all(value_error <= allowed), _worst(name, "value", x, value_error, allowed)
    grad_error = _ulps(t.grad, grad_ref, dtype)
    inherited = _inherited(d_grad_d_out, out_ref, grad_ref, dtype, FIXED_ULPS[dtype])
    allowed = _allowed(theirs, 1, dtype, inherited)
    assert np.all(grad_error <= allowed), _worst(name, "gradient", x, grad_error, allowed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_value_and_gradients_within_pytorchs_error(name, dtype, torch):
    ours, theirs, derivatives, grid = BINARY[name]
    x, y = grid(dtype, np.random.default_rng(1)).astype(dtype)
    plain = {"where": lambda a, b: a}.get(name, theirs)  # where's value is x on the even points
    refs = [_reference((name, dtype, "binary value"), plain, x, y)[0]]
    refs += _reference((name, dtype, "binary grads"), derivatives, x, y)
    tx, ty = tg.Tensor(x.copy(), requires_grad=True), tg.Tensor(y.copy(), requires_grad=True)
    out = ours(tx, ty)
    out.backward(np.ones(out.shape, dtype=dtype))
    assert out.dtype == tx.grad.dtype == ty.grad.dtype == dtype
    torch_fn = _torch_fn(torch, (lambda t, a, b: theirs(a, b)) if theirs else None)
    theirs_errors = _torch_errors(torch, torch_fn, [x, y], [dtype] * 3, refs)
    even = np.arange(N) % 2 == 0 if name == "where" else slice(None)
    for k, result in enumerate([out.numpy(), tx.grad, ty.grad]):
        error = _ulps(result, refs[k], dtype)[even]
        allowed = _allowed(theirs_errors, k, dtype)
        allowed = allowed[even] if np.ndim(allowed) else allowed
        what = ("value", "x gradient", "y gradient")[k]
        assert np.all(error <= allowed), _worst(name, what, x[even], error, allowed)
    if name == "where":  # the odd points take y, and its gradient
        odd = ~even
        assert np.array_equal(out.numpy()[odd], y[odd]) and np.all(ty.grad.numpy()[odd] == 1)
        assert np.all(tx.grad.numpy()[odd] == 0)


def _worst(name, what, x, error, allowed):
    excess = error - allowed
    i = int(np.argmax(excess))
    return (
        f"{name} {what}: {error[i]:.3g} ulps at x={x.flat[i]!r} "
        f"(allowed {np.broadcast_to(allowed, error.shape)[i]:.3g}); "
        f"{int(np.sum(excess > 0))} points over"
    )
