"""Math as functions, as PyTorch offers it: ``tg.exp(x)`` is ``x.exp()``, ``tg.sum(x, dim=1)`` is
``x.sum(dim=1)``. Each takes a Tensor or a NumPy array (wrapped, no copy) and calls the method, so
the method's docstring is the one to read.

>>> import tinygrad_seq as tg
>>> x = tg.tensor([[1.0, -2.0], [3.0, 0.5]])
>>> tg.relu(x).tolist(), tg.max(x, dim=1).indices.tolist(), tg.matmul(x, x).shape
([[1.0, 0.0], [3.0, 0.5]], [0, 0], (2, 2))
"""

import numpy as np

from . import ops
from ._tensor import Tensor, apply
from ._tensor_base import _axis, as_mask

__all__ = [
    "cat",
    "chunk",
    "concat",
    "multinomial",
    "split",
    "stack",
    "where",
    "abs",
    "allclose",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "argsort",
    "bmm",
    "clamp",
    "cos",
    "equal",
    "exp",
    "flatten",
    "gather",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mm",
    "narrow",
    "norm",
    "permute",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "sin",
    "softmax",
    "sort",
    "sqrt",
    "std",
    "squeeze",
    "sum",
    "tanh",
    "topk",
    "transpose",
    "unsqueeze",
    "var",
]


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def exp(x):
    """``x.exp()``: e ** x, elementwise (see ``Tensor.exp``)."""
    return _t(x).exp()


def log(x):
    """``x.log()``: the natural logarithm, elementwise (see ``Tensor.log``)."""
    return _t(x).log()


def sqrt(x):
    """``x.sqrt()``: the square root, elementwise (see ``Tensor.sqrt``)."""
    return _t(x).sqrt()


def abs(x):  # noqa: A001 -- torch.abs; the builtin is not used in this module
    """``x.abs()``: the absolute value, elementwise (see ``Tensor.abs``)."""
    return _t(x).abs()


def tanh(x):
    """``x.tanh()``: the hyperbolic tangent, elementwise (see ``Tensor.tanh``)."""
    return _t(x).tanh()


def sin(x):
    """``x.sin()``: the sine, elementwise (see ``Tensor.sin``)."""
    return _t(x).sin()


def cos(x):
    """``x.cos()``: the cosine, elementwise (see ``Tensor.cos``)."""
    return _t(x).cos()


def sigmoid(x):
    """``x.sigmoid()``: 1 / (1 + exp(-x)), elementwise (see ``Tensor.sigmoid``)."""
    return _t(x).sigmoid()


def relu(x):
    """``x.relu()``: max(x, 0), elementwise (see ``Tensor.relu``)."""
    return _t(x).relu()


def softmax(x, dim=None):
    """``x.softmax(dim=dim)``: softmax over ``dim``, by default the last (``Tensor.softmax``)."""
    return _t(x).softmax(dim=dim)


def log_softmax(x, dim=None):
    """``x.log_softmax(dim=dim)``: log of the softmax over ``dim`` (see ``Tensor.log_softmax``)."""
    return _t(x).log_softmax(dim=dim)


def logsumexp(x, dim=None, keepdim=False):
    """``x.logsumexp(dim=dim, keepdim=keepdim)``: log(sum(exp(x))), stably (see
    ``Tensor.logsumexp``)."""
    return _t(x).logsumexp(dim=dim, keepdim=keepdim)


def clamp(x, min=None, max=None):  # noqa: A002 -- torch's argument names
    """``x.clamp(min, max)``: x limited to [min, max], elementwise (see ``Tensor.clamp``)."""
    return _t(x).clamp(min, max)


def pow(x, exponent):  # noqa: A001 -- torch.pow
    """``x ** exponent``, elementwise (see ``Tensor.__pow__``)."""
    return _t(x) ** exponent


def maximum(x, other):
    """``x.maximum(other)``: the elementwise maximum (see ``Tensor.maximum``)."""
    return _t(x).maximum(other)


def minimum(x, other):
    """``x.minimum(other)``: the elementwise minimum (see ``Tensor.minimum``)."""
    return _t(x).minimum(other)


def sum(x, dim=None, keepdim=False):  # noqa: A001 -- torch.sum
    """``x.sum(dim=dim, keepdim=keepdim)``: the sum over ``dim``, all by default (see
    ``Tensor.sum``)."""
    return _t(x).sum(dim=dim, keepdim=keepdim)


def mean(x, dim=None, keepdim=False):
    """``x.mean(dim=dim, keepdim=keepdim)``: the mean over ``dim`` (see ``Tensor.mean``)."""
    return _t(x).mean(dim=dim, keepdim=keepdim)


def max(x, dim=None, keepdim=False):  # noqa: A001 -- torch.max
    """``x.max(dim, keepdim)``: the largest element, or (values, indices) over ``dim`` (see
    ``Tensor.max``)."""
    return _t(x).max(dim, keepdim)


def min(x, dim=None, keepdim=False):  # noqa: A001 -- torch.min
    """``x.min(dim, keepdim)``: the smallest element, or (values, indices) over ``dim`` (see
    ``Tensor.min``)."""
    return _t(x).min(dim, keepdim)


def amax(x, dim=None, keepdim=False):
    """``x.amax(dim=dim, keepdim=keepdim)``: the maximum over ``dim`` (see ``Tensor.amax``)."""
    return _t(x).amax(dim=dim, keepdim=keepdim)


def amin(x, dim=None, keepdim=False):
    """``x.amin(dim=dim, keepdim=keepdim)``: the minimum over ``dim`` (see ``Tensor.amin``)."""
    return _t(x).amin(dim=dim, keepdim=keepdim)


def argmax(x, dim=None, keepdim=False):
    """``x.argmax(dim=dim, keepdim=keepdim)``: indices of the maxima (see ``Tensor.argmax``)."""
    return _t(x).argmax(dim=dim, keepdim=keepdim)


def argmin(x, dim=None, keepdim=False):
    """``x.argmin(dim=dim, keepdim=keepdim)``: indices of the minima (see ``Tensor.argmin``)."""
    return _t(x).argmin(dim=dim, keepdim=keepdim)


def norm(x, p=2, dim=None, keepdim=False):
    """``x.norm(p, dim, keepdim)``: the ``p``-norm over ``dim``, all by default (see
    ``Tensor.norm``)."""
    return _t(x).norm(p, dim, keepdim)


def matmul(x, y):
    """``x @ y``, with NumPy's broadcasting rules (see ``Tensor.__matmul__``)."""
    return _t(x) @ y


def mm(x, y):
    """``x.mm(y)``: ``x @ y`` for two matrices, 2-D only (see ``Tensor.mm``)."""
    return _t(x).mm(y)


def bmm(x, y):
    """Batched ``x[i] @ y[i]`` of shapes (b, n, m) and (b, m, p), as ``torch.bmm``."""
    x, y = _t(x), _t(y)
    if x.ndim != 3 or y.ndim != 3 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"bmm: expects (b, n, m) and (b, m, p) with the same b, got {x.shape} and {y.shape}"
        )
    return x @ y


def allclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether ``|x - y| <= atol + rtol * |y|`` everywhere (a Python bool), as
    ``torch.allclose``."""
    return bool(np.allclose(_array(x), _array(y), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(x, y):
    """Whether ``x`` and ``y`` have the same shape and elements (a Python bool)."""
    return bool(np.array_equal(_array(x), _array(y)))


def _array(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def transpose(x, dim0, dim1):
    """``x.transpose(dim0, dim1)``: axes ``dim0`` and ``dim1`` exchanged (see
    ``Tensor.transpose``)."""
    return _t(x).transpose(dim0, dim1)


def permute(x, dims):
    """``x.permute(dims)``: the axes reordered (see ``Tensor.permute``)."""
    return _t(x).permute(dims)


def reshape(x, shape):
    """``x.reshape(shape)``: the same data in another shape (see ``Tensor.reshape``)."""
    return _t(x).reshape(shape)


def flatten(x, start_dim=0, end_dim=-1):
    """``x.flatten(start_dim, end_dim)``: those axes merged into one (see ``Tensor.flatten``)."""
    return _t(x).flatten(start_dim, end_dim)


def squeeze(x, dim=None):
    """``x.squeeze(dim=dim)``: axes of size 1 removed (see ``Tensor.squeeze``)."""
    return _t(x).squeeze(dim=dim)


def unsqueeze(x, dim):
    """``x.unsqueeze(dim=dim)``: a new axis of size 1 at ``dim`` (see ``Tensor.unsqueeze``)."""
    return _t(x).unsqueeze(dim=dim)


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002 -- torch's argument names
    """``x.topk(k, dim, largest, sorted)``: the named tuple (values, indices) of the ``k``
    largest elements along ``dim`` (see ``Tensor.topk``).

    >>> import tinygrad_seq as tg
    >>> values, indices = tg.topk(tg.tensor([1.0, 5.0, 3.0]), 2)
    >>> values.tolist(), indices.tolist()
    ([5.0, 3.0], [1, 2])
    """
    return _t(x).topk(k, dim, largest, sorted)


def sort(x, dim=-1, descending=False, stable=False):
    """``x.sort(dim, descending)``: the named tuple (values, indices) sorted along ``dim`` (see
    ``Tensor.sort``).

    >>> import tinygrad_seq as tg
    >>> tg.sort(tg.tensor([2, 0, 1])).values.tolist()
    [0, 1, 2]
    """
    return _t(x).sort(dim, descending, stable)


def argsort(x, dim=-1, descending=False, stable=False):
    """``x.argsort(dim, descending)``: the indices that sort along ``dim`` (see
    ``Tensor.argsort``).

    >>> import tinygrad_seq as tg
    >>> tg.argsort(tg.tensor([2, 0, 1]), descending=True).tolist()
    [0, 2, 1]
    """
    return _t(x).argsort(dim, descending, stable)


def narrow(x, dim, start, length):
    """``x.narrow(dim, start, length)``: ``length`` elements from ``start`` along ``dim`` (see
    ``Tensor.narrow``).

    >>> import tinygrad_seq as tg
    >>> tg.narrow(tg.arange(5), 0, 1, 3).tolist()
    [1, 2, 3]
    """
    return _t(x).narrow(dim, start, length)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``x.var(dim, unbiased, keepdim, correction=...)``: the variance (see ``Tensor.var``).

    >>> import tinygrad_seq as tg
    >>> tg.var(tg.tensor([1.0, 3.0])).item(), tg.std(tg.tensor([1.0, 3.0]), correction=0).item()
    (2.0, 1.0)
    """
    return _t(x).var(dim, unbiased, keepdim, correction=correction)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``x.std(dim, unbiased, keepdim, correction=...)``: the standard deviation (see
    ``Tensor.std``)."""
    return _t(x).std(dim, unbiased, keepdim, correction=correction)


def gather(x, dim, index):
    """``x.gather(dim, index)``: the elements at ``index`` along ``dim`` (see
    ``Tensor.gather``).

    >>> import tinygrad_seq as tg
    >>> tg.gather(tg.tensor([[1.0, 2.0]]), 1, tg.tensor([[1, 1, 0]])).tolist()
    [[2.0, 2.0, 1.0]]
    """
    return _t(x).gather(dim, index)


# --- functions over several tensors (and the pieces of one) -------------------------------------


def _tensors(items, fn):
    items = list(items)
    if not items:
        raise ValueError(f"{fn}: needs at least one tensor")
    return items


def concat(tensors, axis=None, *, dim=None):
    """Join tensors along an existing axis (default 0), as ``torch.cat``/``np.concatenate``.

    >>> import tinygrad_seq as tg
    >>> tg.cat([tg.zeros(2, 3), tg.ones(1, 3)]).shape
    (3, 3)
    """
    return apply(ops.concat, *_tensors(tensors, "concat"), axis=_axis(axis, dim, default=0))


cat = concat


def stack(tensors, axis=None, *, dim=None):
    """Join tensors along a new axis (default 0).

    >>> import tinygrad_seq as tg
    >>> tg.stack([tg.zeros(3), tg.ones(3)], dim=1).shape
    (3, 2)
    """
    return apply(ops.stack, *_tensors(tensors, "stack"), axis=_axis(axis, dim, default=0))


def split(tensor, split_size_or_sections, axis=None, *, dim=None):
    """Cut ``tensor`` along ``axis`` into pieces of ``split_size`` (an int, the last piece may be
    smaller) or of the listed sizes, as ``torch.split`` (see ``Tensor.split``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> [p.shape for p in tg.split(tg.Tensor(np.zeros((2, 8))), 2, axis=1)]
    [(2, 2), (2, 2), (2, 2), (2, 2)]
    """
    return _t(tensor).split(split_size_or_sections, axis, dim=dim)


def chunk(tensor, chunks, axis=None, *, dim=None):
    """Cut ``tensor`` into ``chunks`` pieces along ``axis`` (the last may be smaller), as
    ``torch.chunk``: ``i, f, g, o = tg.chunk(gates, 4, axis=1)`` (see ``Tensor.chunk``)."""
    return _t(tensor).chunk(chunks, axis, dim=dim)


def where(condition, x, y):
    """Elementwise ``x`` where ``condition`` else ``y``; the condition takes no gradient.

    >>> import tinygrad_seq as tg
    >>> tg.where(tg.tensor([True, False]), tg.ones(2), 0.0).tolist()
    [1.0, 0.0]
    """
    return apply(ops.where, as_mask(condition), x, y)


def multinomial(input, num_samples, replacement=False, *, generator=None):  # noqa: A002
    """Draw ``num_samples`` category indices (int64) per row of ``input`` (1-D, or 2-D: one
    row per distribution), each category with probability proportional to its weight, as
    ``torch.multinomial``. Without ``replacement`` each category is drawn at most once (once the
    categories of nonzero weight are used up, those of weight 0 follow, as in torch). From the
    global Generator that ``tg.manual_seed`` seeds unless ``generator`` (a
    ``np.random.Generator``) is given; the numbers differ from torch's.

    >>> import tinygrad_seq as tg
    >>> _ = tg.manual_seed(0)
    >>> tg.multinomial(tg.tensor([0.0, 3.0, 1.0]), 2).tolist() in ([1, 2], [2, 1])
    True
    """
    return _t(input).multinomial(num_samples, replacement, generator=generator)
