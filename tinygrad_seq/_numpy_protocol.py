"""NumPy's protocols on Tensors: a VJP written for arrays runs unchanged on Tensors, and records
(``backward(create_graph=True)``).

Differentiable ufuncs are primitives (``ndarray * t`` records, as ``t * ndarray`` does);
comparisons and sign are piecewise constant: a mask without gradient. The NumPy functions VJPs
use (``np.where``, ``np.sum``, ...) record inside a recorded backward; elsewhere, and for other
functions, NumPy sees the arrays, as before (``np.allclose(t, ...)``, ``np.stack(ts)``).

>>> import numpy as np, tinygrad_seq as tg
>>> np.exp(tg.tensor([0.0], requires_grad=True))
Tensor([1.], grad_fn=exp)
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
        recorded = _RECORDED.get(func) if STATE.recording_backward else None
        if recorded is not None:
            return recorded(self, *args, **kwargs)
        # as before the protocol: NumPy sees the arrays (np.allclose(t, ...), np.mean(t))
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


def _arrays_in(items):
    return [type(a)(_arrays_in(a)) if isinstance(a, (list, tuple)) else _array_of(a) for a in items]
