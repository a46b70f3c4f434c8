"""Making tensors as PyTorch does: ``tg.tensor``, ``zeros``, ``arange``, ``randn``, ``manual_seed``.

Shapes are varargs or one tuple (``tg.zeros(2, 3)`` or ``tg.zeros((2, 3))``). Floats default to
float32, integers to int64, as in PyTorch. Random tensors, and the layers and initialisers given
no ``seed``, draw from one global ``np.random.Generator``: ``tg.manual_seed(0)`` makes a script
reproducible, as ``torch.manual_seed`` does (the numbers differ from torch's).

>>> import tinygrad_seq as tg
>>> tg.tensor([[1.0, 2.0]]).shape, tg.arange(3).dtype
((1, 2), dtype('int64'))
"""

import numbers

import numpy as np

from ._tensor import DEFAULT_FLOAT, GENERATOR, Tensor, _check_device, _shape_args, _to_array

__all__ = [
    "BoolTensor",
    "ByteTensor",
    "DoubleTensor",
    "FloatTensor",
    "IntTensor",
    "LongTensor",
    "arange",
    "empty",
    "empty_like",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "generator",
    "linspace",
    "manual_seed",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "tensor",
    "zeros",
    "zeros_like",
]

_GENERATOR = GENERATOR  # the global Generator (kept by _tensor, for Tensor.normal_ and friends)


def manual_seed(seed):
    """Seed the global Generator (random tensors, layers and ``nn.init`` without a ``seed``,
    ``Dropout`` masks) and return it, as ``torch.manual_seed``.

    >>> import tinygrad_seq as tg
    >>> _ = tg.manual_seed(0); a = tg.randn(3)
    >>> _ = tg.manual_seed(0); b = tg.randn(3)
    >>> a.tolist() == b.tolist()
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _GENERATOR.bit_generator.state = np.random.PCG64(int(seed)).state
    return _GENERATOR


def generator():
    """The global ``np.random.Generator`` that ``manual_seed`` seeds.

    >>> import tinygrad_seq as tg
    >>> from tinygrad_seq.factories import generator
    >>> generator() is tg.manual_seed(0)
    True
    """
    return _GENERATOR


def _dtype(dtype, default):
    return np.dtype(default if dtype is None else dtype)


def _made(array, requires_grad, device=None):
    _check_device(device)  # every factory's device=: the CPU, or one clear error
    return Tensor(array, requires_grad=requires_grad)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of ``data`` (numbers, lists, arrays, tensors), as
    ``torch.tensor``: Python floats become float32, ints int64, arrays keep their dtype.

    >>> import numpy as np, tinygrad_seq as tg
    >>> a = np.zeros(2)
    >>> t = tg.tensor(a, requires_grad=True); t.numpy() is a, t.dtype
    (False, dtype('float64'))
    """
    array = _to_array(data, dtype)
    return _made(np.array(array, copy=True), requires_grad, device)


def from_numpy(array):
    """A tensor sharing ``array`` (a write into one is seen by the other), as
    ``torch.from_numpy``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> a = np.zeros(2); tg.from_numpy(a).numpy() is a
    True
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a np.ndarray, got {type(array).__name__}")
    return Tensor(array)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of zeros (float32 unless ``dtype`` says otherwise): ``tg.zeros(2, 3)``.

    >>> import tinygrad_seq as tg
    >>> tg.zeros(2, 3).tolist(), tg.zeros((2,), dtype="int64").dtype
    ([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype('int64'))
    """
    return _made(np.zeros(_shape_args(size), _dtype(dtype, DEFAULT_FLOAT)), requires_grad, device)


def ones(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of ones (float32 unless ``dtype`` says otherwise): ``tg.ones(2, 3)``.

    >>> import tinygrad_seq as tg
    >>> t = tg.ones(2); t.tolist(), t.dtype
    ([1.0, 1.0], dtype('float32'))
    """
    return _made(np.ones(_shape_args(size), _dtype(dtype, DEFAULT_FLOAT)), requires_grad, device)


def empty(*size, dtype=None, requires_grad=False, device=None):
    """An uninitialised tensor (its values are whatever memory held; float32 by default).

    >>> import tinygrad_seq as tg
    >>> t = tg.empty(2, 3); t.shape, t.dtype
    ((2, 3), dtype('float32'))
    """
    return _made(np.empty(_shape_args(size), _dtype(dtype, DEFAULT_FLOAT)), requires_grad, device)


def _scalar_dtype(value):
    """PyTorch's dtype for a Python number: bool, int64 or float32."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    return DEFAULT_FLOAT


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """A tensor of ``size`` filled with ``fill_value`` (its dtype from the value, as PyTorch).

    >>> import tinygrad_seq as tg
    >>> tg.full((2,), 7).tolist(), tg.full((2,), 0.5).dtype
    ([7, 7], dtype('float32'))
    """
    dtype = _dtype(dtype, _scalar_dtype(fill_value))
    return _made(np.full(_shape_args((size,)), fill_value, dtype), requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """``start, start + step, ...`` below ``end`` (``arange(n)`` is 0..n-1); int64 when all
    arguments are ints, float32 otherwise, as in PyTorch.

    >>> import tinygrad_seq as tg
    >>> tg.arange(1, 2, 0.25).tolist()
    [1.0, 1.25, 1.5, 1.75]
    """
    if end is None:
        start, end = 0, start
    ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dtype = _dtype(dtype, np.int64 if ints else DEFAULT_FLOAT)
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    # computed in float64 (or int64) and cast, as torch computes in double precision
    values = np.arange(start, end, step, dtype=np.int64 if ints else np.float64)
    return _made(values.astype(dtype), requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (float32).

    >>> import tinygrad_seq as tg
    >>> tg.linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    values = np.linspace(start, end, steps, dtype=np.float64)
    return _made(values.astype(_dtype(dtype, DEFAULT_FLOAT)), requires_grad, device)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """The ``n`` x ``m`` identity matrix (``m`` defaults to ``n``), float32 by default.

    >>> import tinygrad_seq as tg
    >>> tg.eye(2).tolist(), tg.eye(2, 3).shape
    ([[1.0, 0.0], [0.0, 1.0]], (2, 3))
    """
    return _made(np.eye(n, m, dtype=_dtype(dtype, DEFAULT_FLOAT)), requires_grad, device)


def _like(fn, t, dtype):
    if not isinstance(t, (Tensor, np.ndarray)):
        raise TypeError(f"{fn}: expected a Tensor or an ndarray, got {type(t).__name__}")
    return t.shape, np.dtype(t.dtype if dtype is None else dtype)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    """Zeros of ``t``'s shape and dtype (unless ``dtype`` is given).

    >>> import tinygrad_seq as tg
    >>> z = tg.zeros_like(tg.tensor([[1, 2]])); z.tolist(), z.dtype
    ([[0, 0]], dtype('int64'))
    """
    shape, dtype = _like("zeros_like", t, dtype)
    return _made(np.zeros(shape, dtype), requires_grad, device)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    """Ones of ``t``'s shape and dtype (unless ``dtype`` is given).

    >>> import tinygrad_seq as tg
    >>> o = tg.ones_like(tg.zeros(2, dtype="float64")); o.tolist(), o.dtype
    ([1.0, 1.0], dtype('float64'))
    """
    shape, dtype = _like("ones_like", t, dtype)
    return _made(np.ones(shape, dtype), requires_grad, device)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None):
    """``fill_value`` in ``t``'s shape and dtype.

    >>> import tinygrad_seq as tg
    >>> tg.full_like(tg.zeros(2), 3).tolist()
    [3.0, 3.0]
    """
    shape, dtype = _like("full_like", t, dtype)
    return _made(np.full(shape, fill_value, dtype), requires_grad, device)


def _rng(generator):
    return _GENERATOR if generator is None else generator


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform samples from [0, 1) (float32), from the global Generator unless ``generator``
    (a ``np.random.Generator``) is given: ``tg.rand(2, 3)``.

    >>> import tinygrad_seq as tg
    >>> _ = tg.manual_seed(0); r = tg.rand(2, 3)
    >>> r.shape, r.dtype, bool((r.numpy() >= 0).all() and (r.numpy() < 1).all())
    ((2, 3), dtype('float32'), True)
    """
    values = _rng(generator).random(_shape_args(size))
    return _made(values.astype(_dtype(dtype, DEFAULT_FLOAT)), requires_grad, device)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal samples (float32): ``tg.randn(2, 3)`` (see ``rand``).

    >>> import tinygrad_seq as tg
    >>> _ = tg.manual_seed(0); r = tg.randn(1000)
    >>> r.shape, r.dtype, bool(abs(r.numpy().mean()) < 0.1 and 0.9 < r.numpy().std() < 1.1)
    ((1000,), dtype('float32'), True)
    """
    values = _rng(generator).standard_normal(_shape_args(size))
    return _made(values.astype(_dtype(dtype, DEFAULT_FLOAT)), requires_grad, device)


def randint(
    low, high=None, size=None, *, generator=None, dtype=None, requires_grad=False, device=None
):
    """Random integers in [low, high) of ``size`` (int64), as ``torch.randint``:
    ``randint(high, size)`` or ``randint(low, high, size)``.

    >>> import tinygrad_seq as tg
    >>> t = tg.randint(3, 10, (4,)); t.shape, t.dtype
    ((4,), dtype('int64'))
    """
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: missing the size, e.g. randint(10, (3,))")
    values = _rng(generator).integers(low, high, _shape_args((size,)))
    return _made(values.astype(_dtype(dtype, np.int64)), requires_grad, device)


def randperm(n, *, generator=None, dtype=None, requires_grad=False, device=None):
    """A random permutation of ``0 .. n-1`` (int64), as ``torch.randperm``, from the global
    Generator unless ``generator`` is given (see ``rand``): ``x[tg.randperm(len(x))]`` shuffles.

    >>> import tinygrad_seq as tg
    >>> sorted(tg.randperm(5).tolist()), tg.randperm(3).dtype
    ([0, 1, 2, 3, 4], dtype('int64'))
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise RuntimeError(f"randperm: n must be a non-negative int, got {n!r}")
    values = _rng(generator).permutation(int(n))
    return _made(values.astype(_dtype(dtype, np.int64)), requires_grad, device)


class _TypedTensor(type):
    """``isinstance(x, tg.LongTensor)`` asks for a Tensor of that dtype, as in torch."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype


def _typed(cls, args):
    """``torch.LongTensor(data)`` copies data; ``torch.LongTensor(2, 3)`` is a new tensor of
    that size (zeros here; torch leaves them uninitialised); no argument: an empty tensor."""
    name = cls.__name__
    if not args:
        return Tensor(np.zeros((0,), cls.dtype))
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
        return Tensor(np.zeros(tuple(int(a) for a in args), cls.dtype))
    if len(args) != 1 or isinstance(args[0], (numbers.Number, str)):
        raise TypeError(
            f"{name}(): expected data (a sequence, array or Tensor) or sizes, got {args!r}"
        )
    data = args[0]
    if isinstance(data, Tensor) and data.dtype != cls.dtype:
        raise TypeError(f"{name}(): expected a tensor of dtype {cls.dtype}, got {data.dtype}")
    return Tensor(np.array(_to_array(data, cls.dtype), copy=True))


class FloatTensor(metaclass=_TypedTensor):
    """A float32 tensor, as ``torch.FloatTensor``: ``FloatTensor([1, 2])`` from data,
    ``FloatTensor(2, 3)`` of that size; ``isinstance(x, tg.FloatTensor)`` checks the dtype.

    >>> import tinygrad_seq as tg
    >>> tg.FloatTensor([1, 2]), tg.FloatTensor(2, 3).shape, isinstance(tg.ones(1), tg.FloatTensor)
    (Tensor([1., 2.]), (2, 3), True)
    """

    dtype = np.dtype(np.float32)

    def __new__(cls, *args):
        return _typed(cls, args)


class DoubleTensor(FloatTensor):
    """A float64 tensor, as ``torch.DoubleTensor`` (see ``FloatTensor``).

    >>> import tinygrad_seq as tg
    >>> tg.DoubleTensor([0.5]).dtype
    dtype('float64')
    """

    dtype = np.dtype(np.float64)


class LongTensor(FloatTensor):
    """An int64 tensor (indices, class labels), as ``torch.LongTensor`` (see ``FloatTensor``).

    >>> import tinygrad_seq as tg
    >>> tg.LongTensor([3, 1]).tolist(), tg.LongTensor(3).shape
    ([3, 1], (3,))
    """

    dtype = np.dtype(np.int64)


class IntTensor(FloatTensor):
    """An int32 tensor, as ``torch.IntTensor`` (see ``FloatTensor``).

    >>> import tinygrad_seq as tg
    >>> tg.IntTensor([1]).dtype
    dtype('int32')
    """

    dtype = np.dtype(np.int32)


class BoolTensor(FloatTensor):
    """A bool tensor (a mask), as ``torch.BoolTensor`` (see ``FloatTensor``).

    >>> import tinygrad_seq as tg
    >>> tg.BoolTensor([True, False]).tolist()
    [True, False]
    """

    dtype = np.dtype(np.bool_)


class ByteTensor(FloatTensor):
    """A uint8 tensor, as ``torch.ByteTensor`` (see ``FloatTensor``).

    >>> import tinygrad_seq as tg
    >>> tg.ByteTensor([0, 255]).tolist()
    [0, 255]
    """

    dtype = np.dtype(np.uint8)


def rand_like(t, dtype=None, requires_grad=False, device=None, *, generator=None):
    """Uniform samples from [0, 1) in ``t``'s shape and dtype (see ``rand``).

    >>> import tinygrad_seq as tg
    >>> tg.rand_like(tg.zeros(2, dtype=tg.float64)).dtype
    dtype('float64')
    """
    shape, dtype = _like("rand_like", t, dtype)
    return _made(_rng(generator).random(shape).astype(dtype), requires_grad, device)


def randn_like(t, dtype=None, requires_grad=False, device=None, *, generator=None):
    """Standard normal samples in ``t``'s shape and dtype (see ``randn``): the noise of a
    VAE's ``mu + std * tg.randn_like(std)``.

    >>> import tinygrad_seq as tg
    >>> tg.randn_like(tg.zeros(2, 3)).shape
    (2, 3)
    """
    shape, dtype = _like("randn_like", t, dtype)
    return _made(_rng(generator).standard_normal(shape).astype(dtype), requires_grad, device)


def empty_like(t, dtype=None, requires_grad=False, device=None):
    """An uninitialised tensor of ``t``'s shape and dtype (see ``empty``).

    >>> import tinygrad_seq as tg
    >>> tg.empty_like(tg.zeros(2, 3)).shape
    (2, 3)
    """
    shape, dtype = _like("empty_like", t, dtype)
    return _made(np.empty(shape, dtype), requires_grad, device)
