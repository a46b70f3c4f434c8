"""Turning a list of samples into a batch, as ``torch.utils.data.default_collate`` does: tensors
and arrays are stacked along a new first axis, numbers become a tensor (floats float64, ints
int64), strings stay a list, and dicts, tuples and lists are collated field by field.

>>> import numpy as np
>>> from tinygrad_seq.utils.data import default_collate
>>> batch = default_collate([{"x": np.zeros(3), "y": 1}, {"x": np.ones(3), "y": 0}])
>>> batch["x"].shape, batch["y"].tolist()
((2, 3), [1, 0])
"""

import collections.abc
import numbers

import numpy as np

from ..._tensor import Tensor, stack

__all__ = ["default_collate", "default_convert"]

_FOUND = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _stack(tensors):
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != first:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 "
                f"and {list(t.shape)} at entry {i}"
            )
    return stack(tensors, 0)


def _rebuilt(like, values):
    """``values`` in a container of ``like``'s type when it can be built from them, else a list
    or dict (as PyTorch falls back)."""
    try:
        return type(like)(values)
    except TypeError:
        return dict(values) if isinstance(like, collections.abc.Mapping) else list(values)


def default_collate(batch):
    """Collate a list of samples into a batch (see the module docstring). Tuples become lists
    of batched fields, as in PyTorch; namedtuples stay namedtuples.

    >>> from tinygrad_seq.utils.data import default_collate
    >>> x, label = default_collate([(1.5, "a"), (2.5, "b")])
    >>> x.tolist(), x.dtype, label
    ([1.5, 2.5], dtype('float64'), ('a', 'b'))
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        if elem.dtype.kind in "OUSV":
            raise TypeError(_FOUND.format(elem.dtype))
        if elem.shape == ():  # NumPy scalars keep their dtype
            return Tensor(np.array(batch))
        return _stack([Tensor(np.asarray(b)) for b in batch])
    if isinstance(elem, bool):  # before int: True is an int too, and torch keeps bool
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, numbers.Integral):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuilt(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(field) for field in zip(*batch)]
        return fields if isinstance(elem, tuple) else _rebuilt(elem, fields)
    raise TypeError(_FOUND.format(type(elem)))


def default_convert(data):
    """What the ``DataLoader`` does to each sample when it does not batch (``batch_size=None``):
    NumPy arrays and scalars become tensors, containers are converted field by field.

    >>> import numpy as np
    >>> from tinygrad_seq.utils.data import default_convert
    >>> default_convert({"x": np.ones(2), "name": "a"})
    {'x': Tensor([1., 1.], dtype=float64), 'name': 'a'}
    """
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind not in "OUSV":
        return Tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuilt(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuilt(data, [default_convert(d) for d in data])
    return data
