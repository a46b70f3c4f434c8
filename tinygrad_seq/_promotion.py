"""Promotion: the dtype of an op's result when its inputs differ, as PyTorch decides it.

NumPy promotes arrays of the same standing as PyTorch does; the differences are numbers next to
a tensor (a Python or NumPy scalar is "weak": ``float32 * 2.0`` stays float32) and 0-d tensors
next to tensors with axes (they count like numbers of their category, bool < integer < float).
``apply`` calls ``with_constants`` when an argument is not a tensor and ``zero_dim_promoted``
when the arrays' dtypes differ.

>>> import numpy as np
>>> zero_dim_promoted([np.ones(2, np.float32), np.array(2.0)])[1].dtype
dtype('float32')
"""

import numbers

import numpy as np

from ._tensor_base import TensorBase

DEFAULT_FLOAT = np.dtype(np.float32)  # Python floats and lists become float32, as in PyTorch


def _to_array(data, dtype):
    """The ndarray behind ``Tensor(data)``: ndarrays keep their dtype, Python floats -> float32."""
    if isinstance(data, TensorBase):
        array = data._data
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        try:
            array = np.asarray(data)
        except (ValueError, TypeError) as e:
            raise TypeError(f"Tensor: cannot make an array of {type(data).__name__}: {e}") from None
        if array.dtype == np.float64:
            array = array.astype(DEFAULT_FLOAT)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"Tensor: data must be numeric (bool, int or float), got dtype {array.dtype} "
            f"from {type(data).__name__}"
        )
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < float, as PyTorch orders them


def _constant(value, like):
    """A number or array next to a tensor (``like``: its array, or None), promoted as PyTorch
    promotes: Python and NumPy scalars are weak, a tensor of their kind keeps its dtype
    (float32 * np.float64(2) is float32) and a float scalar makes an integer tensor the default
    float32; a 0-d array does not widen a tensor with axes of its kind (PyTorch's 0-d tensor)."""
    scalar = isinstance(value, (numbers.Number, np.generic))
    if not scalar or like is None:  # Python floats alone are float32, as Tensor(2.0)
        array = _to_array(value, None)
        if like is None or array.ndim or not like.ndim:
            return array  # arrays of the same standing: NumPy promotes them as PyTorch does
    else:
        array = np.asarray(value)  # not float32 yet: a float64 tensor keeps all of 1 / 3
        if array.dtype.kind not in "biuf":
            raise TypeError(f"cannot combine a tensor with a {type(value).__name__} scalar")
    if array.dtype.kind == "b":
        return array  # NumPy promotes a bool as PyTorch does
    kind, like_kind = _CATEGORY[array.dtype.kind], _CATEGORY[like.dtype.kind]
    if kind <= like_kind:
        return array.astype(like.dtype)
    if scalar:  # a float scalar with an integer tensor, an int with a bool tensor
        return array.astype(DEFAULT_FLOAT if kind == 2 else np.int64)
    return array


def with_constants(args, arrays):
    """The forward's arrays when some arguments are not tensors (see ``_constant``)."""
    like = next((a._data for a in args if isinstance(a, TensorBase)), None)
    arrays = [a if isinstance(t, TensorBase) else _constant(a, like) for a, t in zip(arrays, args)]
    if like is not None and like.dtype.kind != "f":  # an integer tensor made float by a scalar:
        floats = [a.dtype for a in arrays if a.dtype.kind == "f"]  # cast it, or NumPy widens it
        if floats:
            arrays = [
                a.astype(floats[0]) if isinstance(t, TensorBase) and a.dtype.kind != "f" else a
                for a, t in zip(arrays, args)
            ]
    return arrays


def _promote_types(dtypes):
    """``torch.promote_types`` over several dtypes: the highest category (bool < integer < float)
    decides, and within it the widest type (float32 with int64 is float32; NumPy says float64)."""
    rank = max(_CATEGORY[d.kind] for d in dtypes)
    return np.result_type(*[d for d in dtypes if _CATEGORY[d.kind] == rank])


def zero_dim_promoted(arrays):
    """The arrays of one op in the dtype PyTorch gives tensors of mixed dtypes: the promotion of
    the tensors with dimensions (see ``_promote_types``); 0-d tensors count like numbers, so
    they decide only with a higher category (float32 times a 0-d float64 tensor stays float32,
    an int64 tensor times a 0-d float64 is float64). Boolean masks are left as they are."""
    if any(a.dtype.kind not in _CATEGORY for a in arrays):
        return arrays  # complex, strings: NumPy's rules
    dimensioned = [a.dtype for a in arrays if a.ndim]
    zero_dim = [a.dtype for a in arrays if not a.ndim]
    target = _promote_types(dimensioned) if dimensioned else None
    if zero_dim:
        scalar_like = _promote_types(zero_dim)
        if target is None or _CATEGORY[scalar_like.kind] > _CATEGORY[target.kind]:
            target = scalar_like
    return [a if a.dtype == target or a.dtype.kind == "b" else a.astype(target) for a in arrays]
