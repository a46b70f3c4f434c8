"""Initialisers that fill a parameter in place from an explicit ``np.random.Generator``.

Every random number in tinygrad_seq comes from a Generator handed over at the API surface (a
``seed`` or an ``rng``), never from NumPy's global state, so a run is reproduced by its seeds.
Values are drawn in float64 and cast to the tensor's dtype, so a float32 and a float64 model made
from the same seed hold the same numbers (up to rounding). A fill is an in-place write: it counts
in the tensor's ``_version``, and a graph recorded before it refuses backward.

>>> import numpy as np
>>> from tinygrad_seq import nn
>>> w = nn.Parameter(np.zeros((2, 3), dtype=np.float32))
>>> nn.init.uniform_(w, -0.1, 0.1, nn.init.default_rng(0)) is w
True
>>> bool(np.all(np.abs(w.data) <= 0.1)), w.dtype
(True, dtype('float32'))
"""

import numbers

import numpy as np

from .._tensor import Tensor
from ..factories import generator

__all__ = ["constant_", "default_rng", "normal_", "ones_", "uniform_", "zeros_"]


def default_rng(seed=None):
    """A ``np.random.Generator`` from a seed (int or None); a Generator is returned as is.

    ``None`` gives the global Generator that ``tg.manual_seed`` seeds (fresh entropy until
    then), as PyTorch's unseeded initialisation draws from its global generator.

    >>> from tinygrad_seq.nn import init
    >>> float(init.default_rng(0).random()) == float(init.default_rng(0).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return generator()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.default_rng(seed)
    raise TypeError(
        f"seed must be None, an int or a np.random.Generator, got {type(seed).__name__}"
    )


def _array(tensor, fn):
    """The writable float array behind ``tensor`` (a Tensor/Parameter or an ndarray)."""
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{fn}: expected a Tensor or an ndarray, got {type(tensor).__name__}")
    if array.dtype.kind != "f":
        raise TypeError(f"{fn}: can only fill floating-point tensors, got dtype {array.dtype}")
    return array


def _written(tensor):
    """Count the write just made (a graph that saved the old values then refuses backward)."""
    if isinstance(tensor, Tensor):
        tensor._bump_version()
    return tensor


def uniform_(tensor, low=0.0, high=1.0, rng=None):
    """Fill ``tensor`` in place with values drawn uniformly from [low, high); returns it.

    >>> import numpy as np, tinygrad_seq as tg
    >>> t = tg.nn.init.uniform_(tg.zeros(3), 0.0, 1.0, np.random.default_rng(0))
    >>> t.shape
    (3,)
    """
    array = _array(tensor, "uniform_")
    if not low <= high:
        raise ValueError(f"uniform_: low must be <= high, got low={low}, high={high}")
    array[...] = default_rng(rng).uniform(low, high, size=array.shape)
    return _written(tensor)


def normal_(tensor, mean=0.0, std=1.0, rng=None):
    """Fill ``tensor`` in place with values drawn from N(mean, std**2); returns it.

    >>> import numpy as np, tinygrad_seq as tg
    >>> tg.nn.init.normal_(tg.zeros(2, 2), 0.0, 0.02, np.random.default_rng(0)).shape
    (2, 2)
    """
    array = _array(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    array[...] = default_rng(rng).normal(mean, std, size=array.shape)
    return _written(tensor)


def constant_(tensor, value):
    """Fill ``tensor`` in place with ``value``; returns it.

    >>> import tinygrad_seq as tg
    >>> tg.nn.init.constant_(tg.zeros(2), 0.5).tolist()
    [0.5, 0.5]
    """
    _array(tensor, "constant_")[...] = value
    return _written(tensor)


def zeros_(tensor):
    """Fill ``tensor`` with zeros in place; returns it.

    >>> import tinygrad_seq as tg
    >>> tg.nn.init.zeros_(tg.ones(2)).tolist()
    [0.0, 0.0]
    """
    return constant_(tensor, 0)


def ones_(tensor):
    """Fill ``tensor`` with ones in place; returns it.

    >>> import tinygrad_seq as tg
    >>> tg.nn.init.ones_(tg.zeros(2)).tolist()
    [1.0, 1.0]
    """
    return constant_(tensor, 1)
