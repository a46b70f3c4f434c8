"""Activation functions composed from primitives (where, exp, logsumexp, sigmoid, tanh, clip),
as in ``torch.nn.functional``, which re-exports them: ``F.elu``, ``F.silu``, ``F.mish``, ...
Their gradients come from ops.py; at each kink the gradient is PyTorch's choice (tested).

``inplace=True`` is accepted for PyTorch's signatures, but the result is always a new tensor and
the input is left unchanged: an in-place write would cut a recorded graph, and scripts use the
returned value.

>>> import tinygrad_seq as tg
>>> F = tg.nn.functional
>>> F.leaky_relu(tg.Tensor([-2.0, 3.0]), 0.5).tolist(), F.relu6(tg.Tensor([-1.0, 7.0])).tolist()
([-1.0, 3.0], [0.0, 6.0])
"""

import numbers

import numpy as np

from .._tensor import Tensor, stack, where

__all__ = [
    "celu",
    "elu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leaky_relu",
    "logsigmoid",
    "mish",
    "prelu",
    "relu6",
    "selu",
    "silu",
    "softmin",
    "softplus",
    "softsign",
    "tanhshrink",
    "threshold",
]

# SELU's constants (Klambauer et al., 2017), as PyTorch spells them
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _float_input(x, fn):
    """``x`` as a floating-point Tensor (arrays and numbers wrapped), or a TypeError naming ``fn``
    (as ``functional._as_float_tensor``, which imports this module)."""
    if isinstance(x, (np.ndarray, np.generic, numbers.Number, list, tuple)):
        x = Tensor(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: expected a Tensor or an ndarray, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: expected a floating-point input, got dtype {x.dtype}")
    return x


def _float_constant(value, x):
    return np.asarray(value, dtype=x.dtype)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else ``negative_slope * x`` (at 0 the slope's side, as PyTorch).

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.leaky_relu(tg.Tensor([-2.0, 3.0]), 0.5).tolist()
    [-1.0, 3.0]
    """
    x = _float_input(input, "leaky_relu")
    return where(x._data > 0, x, x * _float_constant(negative_slope, x))


def _exp_minus_one_below_zero(x, alpha, input_scale=1.0):
    # exp of the clipped input: the unused branch stays finite, so its zero gradient is not NaN
    scaled = x.clip(max=0) * _float_constant(input_scale, x)
    return (scaled.exp() - 1) * _float_constant(alpha, x)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else ``alpha * (exp(x) - 1)``.

    >>> import tinygrad_seq as tg
    >>> [round(v, 4) for v in tg.nn.functional.elu(tg.Tensor([-1.0, 2.0])).tolist()]
    [-0.6321, 2.0]
    """
    x = _float_input(input, "elu")
    return where(x._data > 0, x, _exp_minus_one_below_zero(x, alpha))


def celu(input, alpha=1.0, inplace=False):
    """x where x > 0, else ``alpha * (exp(x / alpha) - 1)``.

    >>> import tinygrad_seq as tg
    >>> [round(v, 4) for v in tg.nn.functional.celu(tg.Tensor([-1.0, 2.0]), 2.0).tolist()]
    [-0.7869, 2.0]
    """
    x = _float_input(input, "celu")
    if alpha == 0:
        raise ZeroDivisionError("celu: alpha must not be 0 (it divides the input)")
    return where(x._data > 0, x, _exp_minus_one_below_zero(x, alpha, 1 / alpha))


def selu(input, inplace=False):
    """``scale * elu(x, alpha)`` with SELU's fixed alpha and scale.

    >>> import tinygrad_seq as tg
    >>> round(tg.nn.functional.selu(tg.Tensor([1.0])).item(), 4)
    1.0507
    """
    x = _float_input(input, "selu")
    scale = _float_constant(_SELU_SCALE, x)
    return where(x._data > 0, x * scale, _exp_minus_one_below_zero(x, _SELU_ALPHA * _SELU_SCALE))


def _log_one_plus_exp(z):
    """log(1 + exp(z)) as logsumexp([0, z]): a primitive, so it never overflows and its gradient
    is sigmoid(z) everywhere."""
    return stack([Tensor(np.zeros(z.shape, z.dtype)), z], axis=0).logsumexp(axis=0)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, and x itself where ``beta * x > threshold``. Far in
    the negative tail the error is absolute, below the dtype's epsilon (NumPy's log1p is no
    primitive here), where PyTorch keeps a relative accuracy.

    >>> import tinygrad_seq as tg
    >>> round(tg.nn.functional.softplus(tg.Tensor([0.0])).item(), 4)
    0.6931
    """
    x = _float_input(input, "softplus")
    beta_ = _float_constant(beta, x)
    return where(x._data * beta > threshold, x, _log_one_plus_exp(x * beta_) / beta_)


def logsigmoid(input):
    """``log(sigmoid(x)) = -log(1 + exp(-x))``, computed without overflow.

    >>> import tinygrad_seq as tg
    >>> round(tg.nn.functional.logsigmoid(tg.Tensor([0.0])).item(), 4)
    -0.6931
    """
    x = _float_input(input, "logsigmoid")
    return -_log_one_plus_exp(-x)


def silu(input, inplace=False):
    """``x * sigmoid(x)`` (also called swish).

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.silu(tg.Tensor([0.0])).tolist()
    [0.0]
    """
    x = _float_input(input, "silu")
    return x * x.sigmoid()


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``.

    >>> import tinygrad_seq as tg
    >>> round(tg.nn.functional.mish(tg.Tensor([1.0])).item(), 4)
    0.8651
    """
    x = _float_input(input, "mish")
    return x * softplus(x).tanh()


def softsign(input):
    """``x / (1 + |x|)``.

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.softsign(tg.Tensor([-3.0, 1.0])).tolist()
    [-0.75, 0.5]
    """
    x = _float_input(input, "softsign")
    return x / (x.abs() + 1)


def tanhshrink(input):
    """``x - tanh(x)``.

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.tanhshrink(tg.Tensor([0.0])).tolist()
    [0.0]
    """
    x = _float_input(input, "tanhshrink")
    return x - x.tanh()


def threshold(input, threshold, value, inplace=False):
    """x where x > ``threshold``, else ``value``.

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.threshold(tg.Tensor([0.5, 2.0]), 1.0, -1.0).tolist()
    [-1.0, 2.0]
    """
    x = _float_input(input, "threshold")
    return where(x._data > threshold, x, np.full(x.shape, value, dtype=x.dtype))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]; the gradient is 0 at the bounds too, as PyTorch's.

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.hardtanh(tg.Tensor([-3.0, 0.5, 3.0])).tolist()
    [-1.0, 0.5, 1.0]
    """
    x = _float_input(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    inside = (x._data > min_val) & (x._data < max_val)
    bound = np.where(x._data <= min_val, min_val, max_val).astype(x.dtype)
    return where(inside, x, bound)


def relu6(input, inplace=False):
    """``hardtanh(x, 0, 6)``.

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.relu6(tg.Tensor([-1.0, 7.0])).tolist()
    [0.0, 6.0]
    """
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input, inplace=False):
    """0 below -3, 1 above 3, ``x / 6 + 1 / 2`` between.

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.hardsigmoid(tg.Tensor([-4.0, 0.0, 4.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    x = _float_input(input, "hardsigmoid")
    inside = (x._data > -3) & (x._data < 3)
    bound = (x._data >= 3).astype(x.dtype)
    return where(inside, x / _float_constant(6, x) + _float_constant(0.5, x), bound)


def hardswish(input, inplace=False):
    """``x * hardsigmoid(x)``: 0 below -3, x above 3, ``x (x + 3) / 6`` between.

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.hardswish(tg.Tensor([-4.0, 0.0, 4.0])).tolist()
    [0.0, 0.0, 4.0]
    """
    x = _float_input(input, "hardswish")
    middle = x * (x + _float_constant(3, x)) / _float_constant(6, x)
    # as PyTorch's gradient: 0 up to -3, (2x + 3) / 6 strictly between -3 and 3, 1 from 3 on
    upper = where(x._data < 3, middle, x)
    return where(x._data <= -3, np.zeros(x.shape, x.dtype), upper)


def prelu(input, weight):
    """x where x > 0, else ``weight * x``; ``weight`` has one slope, or one per channel (the
    input's dimension 1).

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.prelu(tg.Tensor([[-2.0, 2.0]]), tg.Tensor([0.5])).tolist()
    [[-1.0, 2.0]]
    """
    x = _float_input(input, "prelu")
    w = _float_input(weight, "prelu")
    if w.dtype != x.dtype:  # as PyTorch: no promotion between the input and the slopes
        raise RuntimeError(f"prelu: Type promoting not supported. Got {x.dtype} and {w.dtype}")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if w.numel() not in (1, channels) or w.ndim > 1:
        raise RuntimeError(
            "Mismatch of parameter numbers and input channel size. Found parameter numbers = "
            f"{w.numel()} and channel size = {channels}."
        )
    if w.numel() > 1:  # one slope per channel: broadcast along dimension 1
        w = w.reshape(channels, *([1] * (x.ndim - 2)))
    return where(x._data > 0, x, x * w)


def softmin(input, dim=None):
    """``softmax(-x)`` along ``dim`` (default: the last axis).

    >>> import tinygrad_seq as tg
    >>> tg.nn.functional.softmin(tg.Tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
    """
    x = _float_input(input, "softmin")
    return (-x).softmax(-1 if dim is None else dim)
