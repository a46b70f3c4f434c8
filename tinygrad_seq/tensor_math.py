"""The Tensor's arithmetic, comparisons and elementwise functions, as PyTorch spells them.

Every differentiable method is one line that records a primitive of ``ops`` (``self._bind``
is ``apply``); comparisons and logic give bool tensors without gradient (masks for ``where``).

>>> import tinygrad_seq as tg
>>> x = tg.tensor([1.0, -2.0])
>>> (x * 2 + 1).tolist(), (x > 0).tolist(), x.relu().tolist()
([3.0, -3.0], [True, False], [1.0, 0.0])
"""

import numbers

import numpy as np

from . import ops
from ._promotion import with_constants, zero_dim_promoted
from ._tensor_base import TensorBase, _alpha_form, _array_of, _axis, _no_out, _op_error
from .modes import STATE


class TensorMath(TensorBase):
    """Operators (Python numbers on either side), comparisons, logic and elementwise math."""

    __slots__ = ()

    def __add__(self, other):
        return self._bind(ops.add, self, other)

    def __radd__(self, other):
        return self._bind(ops.add, other, self)

    def __sub__(self, other):
        return self._bind(ops.sub, self, other)

    def __rsub__(self, other):
        return self._bind(ops.sub, other, self)

    def __mul__(self, other):
        return self._bind(ops.mul, self, other)

    def __rmul__(self, other):
        return self._bind(ops.mul, other, self)

    def __truediv__(self, other):
        return self._bind(ops.div, self, other)

    def __rtruediv__(self, other):
        return self._bind(ops.div, other, self)

    def __matmul__(self, other):
        return self._bind(ops.matmul, self, other)

    def __rmatmul__(self, other):
        return self._bind(ops.matmul, other, self)

    def __neg__(self):
        return self._bind(ops.neg, self)

    def __pow__(self, exponent):
        if not isinstance(exponent, (numbers.Real, TensorBase, np.ndarray)):
            return NotImplemented
        return self._bind(ops.power, self, exponent)

    def __rpow__(self, base):
        if not isinstance(base, (numbers.Real, np.ndarray)):
            return NotImplemented
        return self._bind(ops.power, base, self)

    def __floordiv__(self, other):
        return _floor_quotient(self, other)

    def __rfloordiv__(self, other):
        return _floor_quotient(other, self)

    def __mod__(self, other):
        return self - _floor_quotient(self, other) * other

    def __rmod__(self, other):
        return other - _floor_quotient(other, self) * self

    # comparisons give bool tensors without gradient (masks for where), == and != too, as in
    # PyTorch: `(pred == y).float().mean()`. Hashing stays by identity (dict and set lookups
    # test identity first); `list.index`, `in` and `remove` on tensors do not: compare `id`s.
    def __eq__(self, other):
        if not _comparable(other):
            return NotImplemented  # `t == None` is False, as in torch
        return _compare("eq (==)", np.equal, self, other)

    def __ne__(self, other):
        if not _comparable(other):
            return NotImplemented
        return _compare("ne (!=)", np.not_equal, self, other)

    def __lt__(self, other):
        return _compare("lt (<)", np.less, self, other)

    def __le__(self, other):
        return _compare("le (<=)", np.less_equal, self, other)

    def __gt__(self, other):
        return _compare("gt (>)", np.greater, self, other)

    def __ge__(self, other):
        return _compare("ge (>=)", np.greater_equal, self, other)

    __hash__ = object.__hash__

    # logic on bool tensors (masks), as in PyTorch
    def __and__(self, other):
        return self._new(self._data & _array_of(other))

    __rand__ = __and__

    def __or__(self, other):
        return self._new(self._data | _array_of(other))

    __ror__ = __or__

    def __xor__(self, other):
        return self._new(self._data ^ _array_of(other))

    __rxor__ = __xor__

    def __invert__(self):
        return self._new(~self._data)

    # the operators as methods, as PyTorch spells them: x.add(y), x.mm(w), (a == b).all()
    def add(self, other, *args, alpha=1):
        """``self + alpha * other`` (``add(alpha, other)``, torch's old form, too)."""
        other, alpha = _alpha_form("add", other, args, alpha)
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *args, alpha=1):
        """``self - alpha * other`` (``sub(alpha, other)``, torch's old form, too)."""
        other, alpha = _alpha_form("sub", other, args, alpha)
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def floor_divide(self, other):
        """``self // other``: the quotient rounded down, as ``torch.floor_divide``. It takes no
        gradient (PyTorch's is zero).

        >>> import tinygrad_seq as tg
        >>> (tg.tensor([7, -7]) // 2).tolist(), tg.tensor([7.5]).floor_divide(2).tolist()
        ([3, -4], [3.0])
        """
        return _floor_quotient(self, other)

    def remainder(self, other):
        """``self % other`` = ``self - (self // other) * other``: the sign of ``other``, as
        ``torch.remainder`` and Python's ``%`` (not C's fmod). Its gradient is 1 for self and
        ``-(self // other)`` for other.

        >>> import tinygrad_seq as tg
        >>> (tg.arange(6) % 3 == 0).tolist(), tg.tensor([-3.0, 3.0]).remainder(2).tolist()
        ([True, False, False, True, False, False], [1.0, 1.0])
        """
        return self % other

    def neg(self):
        return -self

    def matmul(self, other):
        return self @ other

    def mm(self, other):
        """``self @ other`` for two matrices (2-D only, as ``torch.mm``)."""
        other_shape = np.shape(_array_of(other))
        if self.ndim != 2 or len(other_shape) != 2:
            raise ValueError(f"mm: expects two matrices, got shapes {self.shape} and {other_shape}")
        return self @ other

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    # axis/keepdims/out too: np.all(t) and np.any(t) call these methods
    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """Whether every element is nonzero (over ``dim``): a bool tensor, as ``torch.all``."""
        _no_out("all", out)
        keep = bool(keepdim or keepdims)
        return self._new(np.all(self._data, axis=_axis(axis, dim), keepdims=keep))

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """Whether some element is nonzero (over ``dim``): a bool tensor, as ``torch.any``."""
        _no_out("any", out)
        keep = bool(keepdim or keepdims)
        return self._new(np.any(self._data, axis=_axis(axis, dim), keepdims=keep))

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` is True, self elsewhere (``mask`` broadcasts), as
        ``torch.masked_fill``: ``scores.masked_fill(pad, -inf)``."""
        return self._where(mask, value, self)

    def exp(self):
        """e ** x, elementwise."""
        return self._bind(ops.exp, self)

    def log(self):
        """Natural logarithm, elementwise."""
        return self._bind(ops.log, self)

    def sqrt(self):
        """Square root, elementwise."""
        return self._bind(ops.sqrt, self)

    def abs(self):
        """Absolute value, elementwise (gradient 0 at 0, as PyTorch)."""
        return self._bind(ops.absolute, self)

    def tanh(self):
        """Hyperbolic tangent, elementwise."""
        return self._bind(ops.tanh, self)

    def sin(self):
        """Sine, elementwise (radians)."""
        return self._bind(ops.sin, self)

    def cos(self):
        """Cosine, elementwise (radians)."""
        return self._bind(ops.cos, self)

    def sigmoid(self):
        """1 / (1 + exp(-x)), elementwise and stable for any x."""
        return self._bind(ops.sigmoid, self)

    def relu(self):
        """max(x, 0), elementwise."""
        return self._bind(ops.relu, self)

    def clip(self, min=None, max=None):
        """Limit values to [min, max] (NumPy's clip, PyTorch's clamp)."""
        if min is None and max is None:
            raise ValueError("clip: give at least one of min and max")
        return self._bind(ops.clip, self, lo=min, hi=max)

    clamp = clip

    def maximum(self, other):
        """Elementwise maximum; at ties each input gets half the gradient, and NaN
        propagates, as ``torch.maximum``."""
        return _pick(self, other, self > other, self < other)

    def minimum(self, other):
        """Elementwise minimum (see ``maximum``)."""
        return _pick(self, other, self < other, self > other)

    def pow(self, exponent):
        """``self ** exponent``."""
        return self**exponent


def _comparable(x):
    return isinstance(x, (TensorBase, np.ndarray, np.generic, numbers.Number, list, tuple))


def _compare(name, compare, x, y):
    """A comparison: a bool tensor without gradient; bad shapes are named like an op's."""
    if STATE.tracer is not None:  # no primitive: the traced step's result would be replayed
        raise ValueError(
            f"scan: the comparison {name} in the step is computed once, on the values of the "
            "step being traced, and would be replayed at every step; use primitives (relu, "
            "abs, clip), compare outside the loop, or run it under tg.eager()"
        )
    a, b = _array_of(x), _array_of(y)
    try:
        return x._new(compare(a, b))
    except ValueError as e:
        raise _op_error(name, [np.asarray(a), np.asarray(b)], {}, e) from None


def _pick(x, y, first, second):
    """``x`` where ``first``, ``y`` where ``second``, their mean elsewhere (ties and NaN): the
    gradient of ``maximum``/``minimum`` as PyTorch splits it."""
    tie = x * 0.5 + y * 0.5  # exact for equal values; NaN if either is NaN
    return x._where(first, x, x._where(second, y, tie))


def _floor_quotient(x, y):
    """``x // y`` in the dtype PyTorch gives ``x * y``, as a Tensor outside the graph: the
    quotient is piecewise constant, so it has no gradient (``%`` is built on it)."""
    args = (x, y)
    tensor = x if isinstance(x, TensorBase) else y  # the one that can make a Tensor
    arrays = [_array_of(a) for a in args]
    if not all(isinstance(a, TensorBase) for a in args):
        arrays = with_constants(args, arrays)
    x, y = zero_dim_promoted(arrays)
    if x.dtype.kind in "biu" and y.dtype.kind in "biu" and np.any(y == 0):
        raise RuntimeError("ZeroDivisionError: integer floor division by zero (//, %)")
    with np.errstate(divide="ignore", invalid="ignore"):  # floats: inf and nan, as PyTorch
        return tensor._new(np.floor_divide(x, y))
