"""What every part of the Tensor shares: the base class of its surface and the small helpers
the surface and the core both use (axes, shapes, indices, the global Generator).

``Tensor`` (``_tensor.py``, the core) inherits the surface from mixins, one file per theme:
``tensor_math`` (arithmetic, comparisons, elementwise functions), ``tensor_reduce``
(reductions, softmax, sorting), ``tensor_shape`` (shapes, indexing, pieces), ``tensor_inplace``
(in-place methods), ``tensor_convert`` (dtype, device, Python numbers) and ``_numpy_protocol``.
The mixins sit below the core, so they reach it through two methods every Tensor has:
``self._bind(prim, *args)`` is ``apply`` (run a primitive and record it) and
``self._new(array)`` makes a Tensor.
"""

import collections
import numbers

import numpy as np

from . import ops


class TensorBase:
    """The base of every surface mixin: what they may call on ``self`` besides each other's
    methods. ``_bind`` and ``_new`` are the core's (``_tensor.Tensor``)."""

    __slots__ = ()

    def _where(self, condition, x, y):
        """``x`` where ``condition`` else ``y``, recorded (``tg.where``)."""
        return self._bind(ops.where, as_mask(condition), x, y)


def as_mask(condition):
    """``condition`` as a bool array (``where``'s condition takes no gradient)."""
    cond = _array_of(condition)
    if not isinstance(cond, np.ndarray) or cond.dtype != np.bool_:
        cond = np.asarray(cond, dtype=bool)
    return cond


def _axis(axis, dim, default=None):
    """Accept NumPy's ``axis`` or PyTorch's ``dim`` (not both); ``default`` if neither."""
    if dim is None:
        return default if axis is None else axis
    if axis is not None and axis != dim:
        raise TypeError(f"got both axis={axis!r} and dim={dim!r}; pass one of them")
    return dim


def _wrap_axis(op, axis, ndim, shape):
    """``axis`` in 0..ndim-1, or an IndexError naming the op (a 0-d tensor takes -1 and 0)."""
    n = max(ndim, 1)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not -n <= axis < n:
        raise IndexError(
            f"{op}: axis {axis!r} is out of range for a tensor of shape {shape} "
            f"(expected {-n} <= axis < {n})"
        )
    return int(axis) % n


def _shape_args(shape):
    """reshape(2, 3) and reshape((2, 3)) both mean the shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _array_of(x):
    return x._data if isinstance(x, TensorBase) else x


def _index_of(index):
    """An index with Tensors replaced by their arrays, lists by int arrays."""
    if type(index) in (int, slice):
        return index
    if isinstance(index, tuple):
        return tuple(_index_of(i) for i in index)
    if isinstance(index, TensorBase):
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _no_out(op, out):
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (tensors are not written into by NumPy)")


def _dtype_of(dtype):
    """``np.dtype(dtype)``, with an error naming what is wrong."""
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r} (use e.g. tg.float32 or tg.int64)") from None


def _renamed(error, name):
    """The error of the op a composite is made of (max for min), named after the composite."""
    return type(error)(f"{name}: {str(error).partition(': ')[2]}")


def _op_error(name, arrays, params, error):
    shapes = " and ".join(str(a.shape) for a in arrays)
    if name == "matmul" and all(a.ndim for a in arrays):
        a, b = arrays
        k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        return ValueError(
            f"matmul: shapes {a.shape} @ {b.shape} do not match: the last axis of the left "
            f"({a.shape[-1]}) must equal the {'first' if b.ndim == 1 else 'second-to-last'} "
            f"axis of the right ({k_b})"
        )
    detail = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "index")
    if "index" in params:
        detail = f"index {params['index']!r}"
    kind = IndexError if isinstance(error, IndexError) else ValueError
    return kind(
        f"{name}: cannot apply to shape(s) {shapes}{' with ' if detail else ''}{detail}: {error}"
    )


ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "``(values, indices)`` of ``max(dim)``/``min(dim)`` (torch.return_types)."


def _gather(x, order, axis):
    """``x``'s elements at indices ``order`` along ``axis`` (as ``torch.gather``), through
    ``getitem``: the gradient goes back to the gathered elements."""
    if x._data.ndim == 0:
        return (
            x.reshape(order.shape) if order.size else x._bind(ops.getitem, x.reshape(1), index=[])
        )
    grids, axis = np.indices(order.shape, sparse=True), axis % order.ndim
    index = tuple(order if i == axis else grid for i, grid in enumerate(grids))
    return x._bind(ops.getitem, x, index=index)


# the global Generator of random tensors and in-place fills: reseeded in place by
# ``tg.manual_seed`` (factories), so every holder sees the new seed
GENERATOR = np.random.default_rng()


def _rng(generator):
    """``generator``, or the global Generator that ``tg.manual_seed`` seeds."""
    return GENERATOR if generator is None else generator


def _alpha_form(op, other, args, alpha):
    """(other, alpha) of ``add(other, alpha=a)`` or of torch's deprecated ``add(a, other)``."""
    if not args:
        return other, alpha
    if len(args) == 1 and isinstance(other, numbers.Number) and alpha == 1:
        return args[0], other
    raise TypeError(
        f"{op}: expected ({op}(other, alpha=number) or {op}(number, other)), got "
        f"{1 + len(args)} positional arguments"
    )
