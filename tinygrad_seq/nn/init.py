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
>>> bool(np.all(np.abs(w.numpy()) <= 0.1)), w.dtype
(True, dtype('float32'))
"""

import math
import numbers

import numpy as np

from .._tensor import Tensor
from ..factories import generator

__all__ = [
    "calculate_gain",
    "constant_",
    "default_rng",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


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
    array = tensor._data if isinstance(tensor, Tensor) else tensor
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


def _generator(generator, rng, fn):
    """The Generator to draw from: ``generator`` (PyTorch's name) or ``rng`` (this package's),
    each an int seed, a ``np.random.Generator`` or None (the global one)."""
    if generator is not None and rng is not None:
        raise TypeError(f"{fn}: pass generator or rng, not both (they are the same argument)")
    return default_rng(rng if generator is None else generator)


def uniform_(tensor, a=0.0, b=1.0, generator=None, *, rng=None):
    """Fill ``tensor`` in place with values drawn uniformly from [a, b); returns it.
    ``generator`` (or ``rng``): an int seed, a ``np.random.Generator``, or None for the global
    one (``tg.manual_seed``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> t = tg.nn.init.uniform_(tg.zeros(3), 0.0, 1.0, np.random.default_rng(0))
    >>> t.shape
    (3,)
    """
    array = _array(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: a must be <= b, got a={a}, b={b}")
    array[...] = _generator(generator, rng, "uniform_").uniform(a, b, size=array.shape)
    return _written(tensor)


def normal_(tensor, mean=0.0, std=1.0, generator=None, *, rng=None):
    """Fill ``tensor`` in place with values drawn from N(mean, std**2); returns it.

    >>> import numpy as np, tinygrad_seq as tg
    >>> tg.nn.init.normal_(tg.zeros(2, 2), 0.0, 0.02, np.random.default_rng(0)).shape
    (2, 2)
    """
    array = _array(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    array[...] = _generator(generator, rng, "normal_").normal(mean, std, size=array.shape)
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


# --- scaled initialisations (Glorot, He, orthogonal), with PyTorch's fans and gains -------------

_LINEAR_GAINS = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The factor by which a nonlinearity's output std should be scaled, as PyTorch tabulates it:
    1 for linear and sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for
    leaky_relu (slope ``param``, default 0.01), 3/4 for selu.

    >>> from tinygrad_seq.nn import init
    >>> init.calculate_gain("tanh"), round(init.calculate_gain("leaky_relu", 0.2), 4)
    (1.6666666666666667, 1.3868)
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, numbers.Real):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fans(array, fn):
    """(fan_in, fan_out) of a weight (out, in, *kernel), as PyTorch counts them."""
    if array.ndim < 2:
        raise ValueError(
            f"{fn}: fan in and fan out need a tensor with at least 2 dimensions, got shape "
            f"{array.shape}"
        )
    receptive = math.prod(array.shape[2:])
    return array.shape[1] * receptive, array.shape[0] * receptive


def xavier_uniform_(tensor, gain=1.0, generator=None, *, rng=None):
    """Glorot uniform in place: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)); returns
    ``tensor``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.init.xavier_uniform_(tg.zeros(3, 5), rng=0)
    >>> bool(np.abs(w.numpy()).max() <= np.sqrt(6 / 8))
    True
    """
    fan_in, fan_out = _fans(_array(tensor, "xavier_uniform_"), "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, _generator(generator, rng, "xavier_uniform_"))


def xavier_normal_(tensor, gain=1.0, generator=None, *, rng=None):
    """Glorot normal in place: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    >>> import tinygrad_seq as tg
    >>> tg.nn.init.xavier_normal_(tg.zeros(3, 5), rng=0).shape
    (3, 5)
    """
    fan_in, fan_out = _fans(_array(tensor, "xavier_normal_"), "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, _generator(generator, rng, "xavier_normal_"))


def _kaiming_std(tensor, a, mode, nonlinearity, fn):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(_array(tensor, fn), fn)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"{fn}: cannot initialise a tensor with a zero {mode}")
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *, rng=None
):
    """He uniform in place: U(-b, b) with b = gain * sqrt(3 / fan), ``gain`` from
    ``calculate_gain(nonlinearity, a)`` and ``fan`` from ``mode``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.init.kaiming_uniform_(tg.zeros(4, 6), a=np.sqrt(5), rng=0)
    >>> bool(np.abs(w.numpy()).max() <= 1 / np.sqrt(6))  # nn.Linear's bound
    True
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(tensor, -bound, bound, _generator(generator, rng, "kaiming_uniform_"))


def kaiming_normal_(
    tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *, rng=None
):
    """He normal in place: N(0, std^2) with std = gain / sqrt(fan).

    >>> import tinygrad_seq as tg
    >>> tg.nn.init.kaiming_normal_(tg.zeros(4, 6), nonlinearity="relu", rng=0).shape
    (4, 6)
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return normal_(tensor, 0.0, std, _generator(generator, rng, "kaiming_normal_"))


def orthogonal_(tensor, gain=1, generator=None, *, rng=None):
    """Fill in place with a (semi-)orthogonal matrix times ``gain``, as PyTorch: the Q of a QR
    decomposition of a standard normal (rows, prod(rest)) matrix, signs fixed by R's diagonal so
    that Q is uniformly distributed. Rows are orthonormal if rows <= columns, else columns.

    >>> import numpy as np, tinygrad_seq as tg
    >>> q = tg.nn.init.orthogonal_(tg.zeros(3, 5, dtype=tg.float64), rng=0).numpy()
    >>> np.allclose(q @ q.T, np.eye(3))
    True
    """
    array = _array(tensor, "orthogonal_")
    if array.ndim < 2:
        raise ValueError(f"orthogonal_: needs at least 2 dimensions, got shape {array.shape}")
    if array.size == 0:
        return tensor
    rows = array.shape[0]
    flat = _generator(generator, rng, "orthogonal_").standard_normal((rows, array.size // rows))
    if rows < flat.shape[1]:
        flat = flat.T  # QR of the tall orientation; transposed back below
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # Q's column signs: without this Q is not uniformly distributed
    if rows < array.size // rows:
        q = q.T
    array[...] = (gain * q).reshape(array.shape)
    return _written(tensor)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None, *, rng=None):
    """Fill in place from N(mean, std^2) truncated to [a, b] (values outside are drawn again);
    returns ``tensor``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.init.trunc_normal_(tg.zeros(1000), std=1.0, a=-0.5, b=0.5, generator=0)
    >>> bool(np.abs(w.numpy()).max() <= 0.5)
    True
    """
    array = _array(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_: a must be < b, got a={a}, b={b}")
    if std < 0:
        raise ValueError(f"trunc_normal_: std must be non-negative, got {std}")
    draw = _generator(generator, rng, "trunc_normal_")
    values = draw.normal(mean, std, size=array.shape)
    for _ in range(1000):  # each pass redraws the values outside [a, b]
        outside = (values < a) | (values > b)
        if not outside.any():
            break
        values[outside] = draw.normal(mean, std, size=int(outside.sum()))
    array[...] = np.clip(values, a, b)  # a far-away interval: the bounds after the passes
    return _written(tensor)


def eye_(tensor):
    """Fill a 2-D ``tensor`` in place with the identity (ones on the diagonal); returns it.

    >>> import tinygrad_seq as tg
    >>> tg.nn.init.eye_(tg.zeros(2, 3)).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    array = _array(tensor, "eye_")
    if array.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    array[...] = np.eye(*array.shape)
    return _written(tensor)
