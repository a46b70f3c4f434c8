"""NumPy's protocols on Tensors: ``np.exp(t)``, ``np.where(m, t, 0)``, ``np.asarray(t)``.

The rule: a NumPy function never silently drops the graph. On a Tensor that needs a gradient
(it requires grad, and grad mode is on), a NumPy function either returns a Tensor recorded in
the graph, or raises a TypeError that names what to call instead:

- the differentiable ufuncs (``np.exp``, ``np.tanh``, ``ndarray * t``, ...) are primitives, and
  ``np.where``, ``np.sum``, ``np.mean``, ``np.reshape``, ``np.transpose``, ``np.concatenate``,
  ``np.stack`` and a few others are recorded as the Tensor methods they mirror;
- functions whose result carries no gradient (``np.allclose``, ``np.argmax``, ``np.shape``,
  comparisons, ...) give NumPy's answer;
- any other function raises a TypeError: use the ``tg`` function or method, or pass
  ``t.detach()`` (or ``np.asarray(t)``) to mean the numbers alone.

On a Tensor that needs no gradient NumPy sees the arrays, as without the protocol
(``np.mean(t)`` is a NumPy number). The same rule lets a VJP written for arrays run unchanged on
Tensors, and record (``backward(create_graph=True)``).

>>> import numpy as np, tinygrad_seq as tg
>>> x = tg.tensor([1.0, -2.0], requires_grad=True)
>>> np.exp(x), np.sum(x)
(Tensor([2.7183, 0.1353], grad_fn=exp), Tensor(-1., grad_fn=sum))
>>> np.median(x)
Traceback (most recent call last):
TypeError: np.median of a Tensor that requires grad would drop the graph: ...
>>> float(np.median(x.detach()))
-0.5
"""

import numpy as np

from . import ops
from ._tensor_base import TensorBase, _array_of, as_mask
from .modes import STATE


class NumpyProtocol(TensorBase):
    """``np.asarray(t)``, ``np.exp(t)``, ``np.where(...)`` on Tensors (see the module)."""

    __slots__ = ()

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.exp(t)``, ``ndarray * t``: the primitive (recorded); a comparison: a mask."""
        prim = _UFUNCS.get(ufunc)
        if prim is not None and method == "__call__" and not kwargs:  # the common case, inline
            return self._bind(prim, *inputs)
        return _array_ufunc(self, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """``np.where``, ``np.sum``, ``np.swapaxes``, ...: recorded in a recorded backward (see
        ``_RECORDED``); elsewhere NumPy sees the arrays, as without the protocol."""
        needs_grad = STATE.recording_backward or (
            STATE.grad_enabled and _any_requires_grad(args, kwargs)
        )
        if needs_grad and func not in _NO_GRADIENT:
            recorded = _RECORDED.get(func)
            if recorded is None:
                raise TypeError(
                    f"np.{func.__name__} of a Tensor that requires grad would drop the graph: "
                    f"use the tg function or Tensor method (tg.{func.__name__}, "
                    f"t.{func.__name__}() if they exist), or np.{func.__name__}(t.detach()) "
                    "for the numbers alone"
                )
            return recorded(self, *args, **kwargs)
        # no gradient involved: NumPy sees the arrays (np.allclose(t, ...), np.mean(t))
        return func(*_arrays_in(args), **dict(zip(kwargs, _arrays_in(kwargs.values()))))


_UFUNCS = {
    np.add: ops.add,
    np.subtract: ops.sub,
    np.multiply: ops.mul,
    np.true_divide: ops.div,
    np.matmul: ops.matmul,
    np.negative: ops.neg,
    np.power: ops.power,
    np.exp: ops.exp,
    np.log: ops.log,
    np.sqrt: ops.sqrt,
    np.absolute: ops.absolute,
    np.tanh: ops.tanh,
    np.sin: ops.sin,
    np.cos: ops.cos,
}
_MASKS = frozenset(
    [np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal, np.sign]
    + [np.logical_and, np.logical_or, np.logical_not, np.isfinite, np.isnan, np.isinf]
)


def _array_ufunc(tensor, ufunc, method, inputs, kwargs):
    if method == "__call__" and not kwargs:
        prim = _UFUNCS.get(ufunc)
        if prim is not None:
            return tensor._bind(prim, *inputs)
        if ufunc in _MASKS:
            return tensor._new(ufunc(*[_array_of(x) for x in inputs]))
    out = kwargs.get("out")
    if method == "__call__" and kwargs.keys() == {"out"} and not any(_is_tensor(o) for o in out):
        # an in-place write into an array (``w.data -= lr * t``): plain arrays, nothing recorded
        return ufunc(*[_array_of(x) for x in inputs], out=out)
    raise TypeError(
        f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method} of a Tensor: not a "
        f"primitive{' (no out=, dtype=, where=)' if kwargs else ''}; use the Tensor's methods"
    )


def _is_tensor(x):
    return isinstance(x, TensorBase)


def _shape_only(shape):
    return np.broadcast_to(np.empty((), bool), shape)  # a shape to ask NumPy about, no memory


def _as_tensor(t, a):
    """``a`` as a Tensor (``t``: the Tensor NumPy called, which knows how to make one)."""
    return a if isinstance(a, TensorBase) else t._new(a)


def _expand_dims(t, a, axis):
    return _as_tensor(t, a).reshape(np.expand_dims(_shape_only(np.shape(a)), axis).shape)


def _squeeze(t, a, axis=None):
    return _as_tensor(t, a).reshape(np.squeeze(_shape_only(np.shape(a)), axis).shape)


def _transpose(t, a, axes=None):
    a = _as_tensor(t, a)
    return a.T if axes is None else a.permute(*[int(i) for i in axes])


# the NumPy functions the VJPs call, as the Tensor methods that record them
_RECORDED = {
    np.where: lambda t, cond, x, y: t._bind(ops.where, as_mask(cond), x, y),
    np.sum: lambda t, a, axis=None, keepdims=False: _as_tensor(t, a).sum(axis, keepdims),
    np.mean: lambda t, a, axis=None, keepdims=False: _as_tensor(t, a).mean(axis, keepdims),
    # broadcast_to(a, shape) = a + zeros(shape): its gradient is summed back by the engine
    np.broadcast_to: lambda t, a, shape: t._bind(
        ops.add, a, np.zeros(shape, _as_tensor(t, a).dtype)
    ),
    np.expand_dims: _expand_dims,
    np.squeeze: _squeeze,
    np.reshape: lambda t, a, shape: _as_tensor(t, a).reshape(shape),
    np.swapaxes: lambda t, a, axis1, axis2: _as_tensor(t, a).transpose(axis1, axis2),
    np.transpose: _transpose,
    np.concatenate: lambda t, arrays, axis=0: t._bind(ops.concat, *arrays, axis=axis),
    np.stack: lambda t, arrays, axis=0: t._bind(ops.stack, *arrays, axis=axis),
}


# functions whose result carries no gradient (booleans, indices, shapes, counts): NumPy's answer
_NO_GRADIENT = frozenset(
    [np.allclose, np.isclose, np.array_equal, np.array_equiv, np.shape, np.ndim, np.size]
    + [np.argmax, np.argmin, np.argsort, np.nonzero, np.flatnonzero, np.count_nonzero]
    + [np.all, np.any, np.result_type, np.may_share_memory, np.shares_memory, np.iscomplexobj]
    + [np.isrealobj, np.searchsorted, np.unique, np.bincount]
)


def _any_requires_grad(args, kwargs):
    """Whether a Tensor among the arguments (or in a list of them) requires grad."""
    for a in (*args, *kwargs.values()):
        items = a if isinstance(a, (list, tuple)) else (a,)
        if any(isinstance(x, TensorBase) and x._requires_grad for x in items):
            return True
    return False


def _arrays_in(items):
    return [type(a)(_arrays_in(a)) if isinstance(a, (list, tuple)) else _array_of(a) for a in items]
