"""The Tensor's reductions (sum, mean, max, norm, var, ...), softmax, sorting and sampling.

Reductions take NumPy's ``axis``/``keepdims`` and PyTorch's ``dim``/``keepdim``.

>>> import tinygrad_seq as tg
>>> x = tg.tensor([[1.0, 5.0], [4.0, 2.0]])
>>> x.sum(dim=0).tolist(), x.max(dim=1).indices.tolist(), x.sort().values.tolist()
([5.0, 7.0], [1, 0], [[1.0, 5.0], [2.0, 4.0]])
"""

import numbers

import numpy as np

from . import ops
from ._tensor_base import (
    TensorBase,
    ValuesIndices,
    _axis,
    _gather,
    _renamed,
    _rng,
    _wrap_axis,
)


class TensorReduce(TensorBase):
    """Reductions over axes, softmax, sorting, top-k and multinomial sampling."""

    __slots__ = ()

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Sum over ``axis`` (None: all; an int or a tuple), as ``np.sum``; ``dim``/``keepdim``
        are PyTorch's spellings.

        >>> import numpy as np, tinygrad_seq as tg
        >>> tg.Tensor(np.ones((2, 3))).sum(axis=1).tolist()
        [3.0, 3.0]
        """
        keep = keepdims if keepdim is None else keepdim
        return self._bind(ops.sum_, self, axis=_axis(axis, dim), keepdims=keep)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Mean over ``axis`` (see ``sum``)."""
        axis = _axis(axis, dim)
        try:
            total = self.sum(axis, keepdims if keepdim is None else keepdim)
        except (ValueError, IndexError) as e:
            raise _renamed(e, "mean") from None
        return total * (total._data.size / self._data.size if self._data.size else np.nan)

    def amax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Maximum over ``axis`` (see ``sum``); ties share the gradient equally, as
        ``torch.amax``."""
        keep = keepdims if keepdim is None else keepdim
        return self._bind(ops.max_, self, axis=_axis(axis, dim), keepdims=keep)

    def amin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Minimum over ``axis`` (see ``amax``)."""
        try:
            return -((-self).amax(axis, keepdims, dim=dim, keepdim=keepdim))
        except (ValueError, IndexError) as e:
            raise _renamed(e, "amin") from None

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """As ``torch.max``: the largest element (a tensor) without ``dim``; with ``dim``, the
        named tuple ``(values, indices)`` over that axis, the gradient going to the chosen
        element; with a tensor, ``maximum``.

        >>> import tinygrad_seq as tg
        >>> x = tg.tensor([[1.0, 5.0], [4.0, 2.0]])
        >>> x.max().item(), x.max(dim=1).values.tolist(), x.max(1).indices.tolist()
        (5.0, [5.0, 4.0], [1, 0])
        """
        if isinstance(dim, (TensorBase, np.ndarray)):
            return self.maximum(dim)
        dim, keep = _axis(axis, dim), bool(keepdim or keepdims)
        if dim is None:
            try:
                return self.amax()
            except (ValueError, IndexError) as e:
                raise _renamed(e, "max") from None
        return _values_indices(self, np.argmax, "max", dim, keep)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """As ``torch.min`` (see ``max``)."""
        if isinstance(dim, (TensorBase, np.ndarray)):
            return self.minimum(dim)
        dim, keep = _axis(axis, dim), bool(keepdim or keepdims)
        if dim is None:
            try:
                return self.amin()
            except (ValueError, IndexError) as e:
                raise _renamed(e, "min") from None
        return _values_indices(self, np.argmin, "min", dim, keep)

    def argmax(self, axis=None, keepdim=False, *, dim=None):
        """Indices of the maxima (an integer tensor, no gradient)."""
        return self._new(np.argmax(self._data, axis=_axis(axis, dim), keepdims=keepdim))

    def argmin(self, axis=None, keepdim=False, *, dim=None):
        """Indices of the minima (an integer tensor, no gradient)."""
        return self._new(np.argmin(self._data, axis=_axis(axis, dim), keepdims=keepdim))

    def norm(self, p=2, dim=None, keepdim=False):
        """The ``p``-norm over ``dim`` (all elements by default; ``p`` may be ``"fro"`` or
        ``inf``), as ``torch.norm``; the gradient at a zero vector is 0, as in PyTorch.

        >>> import tinygrad_seq as tg
        >>> tg.tensor([3.0, -4.0]).norm().item(), tg.tensor([3.0, -4.0]).norm(1).item()
        (5.0, 7.0)
        """
        if p == "fro":
            p = 2
        if p in (np.inf, -np.inf):
            a = self.abs()
            return a.amax(dim=dim, keepdim=keepdim) if p > 0 else a.amin(dim=dim, keepdim=keepdim)
        if not isinstance(p, numbers.Real) or p <= 0:
            raise ValueError(f"norm: p must be a positive number, 'fro' or inf, got {p!r}")
        powered = self * self if p == 2 else self.abs() ** p
        total = powered.sum(dim=dim, keepdim=keepdim)
        nonzero = total > 0  # where the norm is 0 the root's derivative is infinite: give 0
        safe = self._where(nonzero, total, 1.0)
        root = safe.sqrt() if p == 2 else safe ** (1.0 / p)
        return self._where(nonzero, root, 0.0)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """log(sum(exp(x))) over ``axis``, computed stably (see ``sum``)."""
        keep = keepdims if keepdim is None else keepdim
        return self._bind(ops.logsumexp, self, axis=_axis(axis, dim), keepdims=keep)

    def log_softmax(self, axis=None, *, dim=None):
        """x - logsumexp(x) over ``axis`` (default: the last), computed as
        (x - max) - log(sum(exp(x - max))) so that large logits keep their digits."""
        return self._log_softmax("log_softmax", _axis(axis, dim, default=-1))

    def softmax(self, axis=None, *, dim=None):
        """exp(log_softmax(x)) over ``axis`` (default: the last)."""
        return self._log_softmax("softmax", _axis(axis, dim, default=-1)).exp()

    def _log_softmax(self, op, axis):
        # the axis is checked here, naming the op: NumPy never looks at it on an empty tensor
        _wrap_axis(op, axis, self.ndim, self.shape)
        return self._bind(ops.log_softmax, self, axis=axis)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The variance over ``dim`` (all elements by default), as ``torch.var``: divided by
        n - ``correction`` (1 by default, Bessel's; ``unbiased=False`` means 0). Composed of
        mean, subtraction and squares, so it is differentiable.

        >>> import tinygrad_seq as tg
        >>> x = tg.tensor([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
        >>> x.var().item(), x.var(1).tolist(), x.std(0, unbiased=False).tolist()
        (8.0, [2.3333332538604736, 9.333333015441895], [1.0, 1.5, 2.5])
        """
        if isinstance(dim, bool):  # the old form var(unbiased)
            dim, unbiased = None, dim
        if correction is None:
            correction = 0 if unbiased is False else 1
        elif unbiased is not None:
            raise TypeError("var: give unbiased or correction, not both")
        centred = self - self.mean(dim=dim, keepdim=True)
        total = (centred * centred).sum(dim=dim, keepdim=keepdim)
        n = self._data.size // max(total._data.size, 1) if self._data.size else 0
        with np.errstate(divide="ignore", invalid="ignore"):
            return total / np.array(max(n - correction, 0), dtype=self.dtype)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The standard deviation: ``sqrt(var(...))`` (see ``var``), as ``torch.std``."""
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def sort(self, dim=-1, descending=False, stable=False):
        """``(values, indices)`` sorted along ``dim``, as ``torch.sort``: ascending unless
        ``descending``; equal elements keep their order (the sort is always stable); NaN sorts
        as the largest value. The gradient goes back to where each value came from.

        >>> import tinygrad_seq as tg
        >>> values, indices = tg.tensor([3.0, 1.0, 2.0]).sort(descending=True)
        >>> values.tolist(), indices.tolist()
        ([3.0, 2.0, 1.0], [0, 2, 1])
        """
        order = self.argsort(dim, descending, stable)
        return ValuesIndices(_gather(self, order._data, dim), order)

    def argsort(self, dim=-1, descending=False, stable=False):
        """The indices that sort along ``dim`` (see ``sort``), as ``torch.argsort``.

        >>> import tinygrad_seq as tg
        >>> tg.tensor([[3, 1, 2]]).argsort(dim=1).tolist()
        [[1, 2, 0]]
        """
        x = self._data.reshape(1) if self._data.ndim == 0 else self._data
        axis = _wrap_axis("sort", dim, x.ndim, self.shape)
        if not descending:
            order = np.argsort(x, axis=axis, kind="stable")
        else:  # ascending on the reversed axis, reversed: ties keep their order, NaN comes first
            n = x.shape[axis]
            order = n - 1 - np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
        return self._new(order.reshape(self._data.shape))

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002 -- torch's names
        """The ``k`` largest (or smallest) elements along ``dim`` and their indices, as
        ``torch.topk``: a named tuple ``(values, indices)``, largest first (the result is always
        sorted). The gradient goes to the chosen elements.

        >>> import tinygrad_seq as tg
        >>> scores = tg.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
        >>> top = scores.topk(1)
        >>> top.values.tolist(), top.indices.tolist()
        ([[0.7], [0.5]], [[1], [0]])
        """
        shape = self._data.shape
        axis = _wrap_axis("topk", dim, len(shape), shape)
        n = shape[axis] if shape else 1
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k <= n:
            raise RuntimeError(f"topk: selected index k ({k!r}) out of range (size {n})")
        order = self.argsort(axis, descending=largest)._data
        if shape:
            order = order[(slice(None),) * axis + (slice(0, int(k)),)]
        return ValuesIndices(_gather(self, order, axis), self._new(order))

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """Draw ``num_samples`` category indices per row with probabilities proportional to
        self (1-D, or 2-D: one row each), as ``torch.multinomial`` (see ``tg.multinomial``).

        >>> import tinygrad_seq as tg
        >>> tg.tensor([0.0, 1.0, 0.0]).multinomial(2, replacement=True).tolist()
        [1, 1]
        """
        drawn = _multinomial(self._data, num_samples, replacement, generator)
        return self._new(drawn)


def _values_indices(x, arg, op, dim, keepdim):
    """(values, indices) of the elements ``arg`` (np.argmax/argmin) picks along ``dim``; the
    values are gathered from ``x``, so the gradient goes to the picked element only."""
    shape = x._data.shape
    if not shape:  # a 0-d tensor takes dim 0 or -1: itself, at index 0
        _wrap_axis(op, dim, 0, shape)
        return ValuesIndices(x.reshape(()), x._new(np.array(0)))
    axis = _wrap_axis(op, dim, len(shape), shape)
    if shape[axis] == 0:
        raise IndexError(f"{op}(): cannot reduce over axis {dim} of size 0 (shape {shape})")
    picked = arg(x._data, axis=axis, keepdims=True)
    grids = np.indices(picked.shape, sparse=True)
    index = tuple(picked if i == axis else grid for i, grid in enumerate(grids))
    values = x._bind(ops.getitem, x, index=index)
    if not keepdim:
        values, picked = values.squeeze(axis), picked.squeeze(axis)
    return ValuesIndices(values, x._new(picked))


def _multinomial(weights, num_samples, replacement, generator):
    """The int64 indices ``Tensor.multinomial`` draws (``weights``: an array)."""
    probs = np.asarray(weights, dtype=np.float64)
    if probs.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {probs.shape}")
    n = probs.shape[-1]
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral):
        raise TypeError(f"multinomial: num_samples must be an int, got {num_samples!r}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples ({num_samples})")
    if not replacement and num_samples > n:
        raise RuntimeError(
            f"multinomial: cannot sample n_sample ({num_samples}) > prob_dist.size(-1) ({n}) "
            "samples without replacement"
        )
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise RuntimeError(
            "multinomial: probability tensor contains either `inf`, `nan` or element < 0"
        )
    rng = _rng(generator)
    rows = []
    for row in probs.reshape(-1, n):
        total = row.sum()
        if total <= 0:
            raise RuntimeError(
                "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
            )
        drawn = min(num_samples, np.count_nonzero(row)) if not replacement else num_samples
        picked = rng.choice(n, size=drawn, replace=replacement, p=row / total)
        if drawn < num_samples:  # as torch: the weighted ones first, then zero-weight ones
            zero = rng.permutation(np.flatnonzero(row == 0))[: num_samples - drawn]
            picked = np.concatenate([picked, zero])
        rows.append(picked)
    drawn = np.stack(rows).astype(np.int64)
    return drawn.reshape(probs.shape[:-1] + (num_samples,))
