"""Math as functions, as PyTorch offers it: ``tg.exp(x)`` is ``x.exp()``, ``tg.sum(x, dim=1)`` is
``x.sum(dim=1)``. Each takes a Tensor or a NumPy array (wrapped, no copy) and calls the method, so
the method's docstring is the one to read.

>>> import tinygrad_seq as tg
>>> x = tg.tensor([[1.0, -2.0], [3.0, 0.5]])
>>> tg.relu(x).tolist(), tg.max(x, dim=1).indices.tolist(), tg.matmul(x, x).shape
([[1.0, 0.0], [3.0, 0.5]], [0, 0], (2, 2))
"""

import numpy as np

from ._tensor import Tensor

__all__ = [
    "abs",
    "allclose",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "argsort",
    "bmm",
    "clamp",
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
