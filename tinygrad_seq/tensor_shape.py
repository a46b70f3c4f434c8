"""The Tensor's shapes and pieces: reshape, permute, expand, indexing, split, gather, ...

>>> import tinygrad_seq as tg
>>> x = tg.zeros(2, 3)
>>> x.reshape(3, 2).shape, x.T.shape, x[0].shape, [p.shape for p in x.split(2, dim=1)]
((3, 2), (3, 2), (3,), [(2, 2), (2, 1)])
"""

import numbers

import numpy as np

from . import ops
from ._tensor_base import TensorBase, _array_of, _axis, _gather, _index_of, _shape_args, _wrap_axis


class TensorShape(TensorBase):
    """Views and pieces of a tensor: shapes, axes, indexing, split and gather."""

    __slots__ = ()

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def reshape(self, *shape):
        """The same data in another shape: ``reshape(2, 3)`` or ``reshape((2, 3))``.

        >>> import numpy as np, tinygrad_seq as tg
        >>> tg.Tensor(np.arange(6.0)).reshape(2, -1).shape
        (2, 3)
        """
        return self._bind(ops.reshape, self, shape=_shape_args(shape))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        """Axes ``start_dim`` to ``end_dim`` (inclusive) merged into one, as ``torch.flatten``.

        >>> import tinygrad_seq as tg
        >>> x = tg.zeros(2, 3, 4); x.flatten().shape, x.flatten(1).shape, x.flatten(0, 1).shape
        ((24,), (2, 12), (6, 4))
        """
        shape = self._data.shape
        if not shape:
            return self.reshape(1)
        start = _wrap_axis("flatten", start_dim, len(shape), shape)
        end = _wrap_axis("flatten", end_dim, len(shape), shape)
        if start > end:
            raise IndexError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(shape[:start] + (-1,) + shape[end + 1 :])

    def permute(self, *dims):
        """Reorder the axes: axis ``i`` of the result is axis ``dims[i]`` of self, as
        ``torch.permute`` (``np.transpose(x, dims)``).

        >>> import tinygrad_seq as tg
        >>> tg.zeros(2, 3, 4).permute(2, 0, 1).shape
        (4, 2, 3)
        """
        dims, shape = _shape_args(dims), self._data.shape
        axes = tuple(_wrap_axis("permute", d, len(shape), shape) for d in dims)
        if sorted(axes) != list(range(len(shape))):
            raise ValueError(
                f"permute: dims {dims} are not a permutation of the {len(shape)} axes of a "
                f"tensor of shape {shape}"
            )
        return self._bind(ops.transpose, self, axes=axes)

    def transpose(self, dim0, dim1):
        """Exchange axes ``dim0`` and ``dim1``, as ``torch.transpose`` (NumPy's ``swapaxes``;
        NumPy's ``transpose(axes)`` is ``permute``).

        >>> import tinygrad_seq as tg
        >>> tg.zeros(2, 3, 4).transpose(0, 2).shape
        (4, 3, 2)
        """
        shape = self._data.shape
        axes = list(range(max(len(shape), 1)))  # a 0-d tensor takes dims 0 and -1, as in torch
        a = _wrap_axis("transpose", dim0, len(shape), shape)
        b = _wrap_axis("transpose", dim1, len(shape), shape)
        axes[a], axes[b] = axes[b], axes[a]
        return self._bind(ops.transpose, self, axes=tuple(axes[: len(shape)]))

    swapaxes = transpose

    def t(self):
        """The transpose of a matrix (a vector or scalar as it is), as ``torch.t``."""
        if self._data.ndim > 2:
            raise ValueError(f"t(): expects at most 2 axes, got shape {self.shape}")
        return self.T

    @property
    def T(self):
        """All axes reversed (the transpose of a matrix)."""
        return self._bind(ops.transpose, self, axes=tuple(reversed(range(self._data.ndim))))

    def expand(self, *sizes):
        """Self broadcast to ``sizes`` (-1 keeps an axis; new axes go in front), as
        ``torch.expand``; the gradient is summed back.

        >>> import tinygrad_seq as tg
        >>> tg.ones(3, 1).expand(2, 3, 4).shape, tg.ones(3, 1).expand(-1, 5).shape
        ((2, 3, 4), (3, 5))
        """
        sizes, shape = _shape_args(sizes), self._data.shape
        lead = len(sizes) - len(shape)
        target = tuple(n if n != -1 or i < lead else shape[i - lead] for i, n in enumerate(sizes))
        if lead < 0 or any(n < 0 or (shape[i] not in (1, n)) for i, n in enumerate(target[lead:])):
            raise ValueError(f"expand: cannot expand shape {shape} to {sizes}")
        if target == shape:
            return self
        return self * np.ones(target, dtype=self._data.dtype)  # x * 1 keeps -0.0, NaN, inf

    def repeat(self, *repeats):
        """Self tiled ``repeats`` times along each axis (new axes in front), as
        ``torch.Tensor.repeat`` (``np.tile``).

        >>> import tinygrad_seq as tg
        >>> tg.tensor([1.0, 2.0]).repeat(2, 2).tolist()
        [[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]
        """
        repeats = _shape_args(repeats)
        if len(repeats) < self._data.ndim:
            raise ValueError(
                f"repeat: {len(repeats)} repeat counts for a tensor of {self._data.ndim} axes"
            )
        shape = (1,) * (len(repeats) - self._data.ndim) + self._data.shape
        # each axis n as (1, n), broadcast to (r, n), merged into r * n
        paired = self.reshape(tuple(k for n in shape for k in (1, n)))
        tiled = paired.expand(tuple(k for r, n in zip(repeats, shape) for k in (r, n)))
        return tiled.reshape(tuple(r * n for r, n in zip(repeats, shape)))

    def unsqueeze(self, axis=None, *, dim=None):
        """Insert an axis of size 1 at ``axis`` (-ndim - 1 <= axis <= ndim)."""
        shape = self.shape
        at = _wrap_axis("unsqueeze", _axis(axis, dim), len(shape) + 1, shape)
        return self.reshape(shape[:at] + (1,) + shape[at:])

    def squeeze(self, axis=None, *, dim=None):
        """Remove axes of size 1: all, or those of ``axis`` (an int or a tuple) that have size
        1; as in PyTorch, a named axis of another size stays."""
        axis, shape = _axis(axis, dim), self.shape
        if axis is None:
            return self.reshape(tuple(n for n in shape if n != 1))
        axes = {_wrap_axis("squeeze", a, len(shape), shape) for a in np.atleast_1d(axis).tolist()}
        return self.reshape(tuple(n for i, n in enumerate(shape) if n != 1 or i not in axes))

    def __getitem__(self, index):
        return self._bind(ops.getitem, self, index=_index_of(index))

    def split(self, split_size_or_sections, axis=None, *, dim=None):
        """Cut self along ``axis`` into pieces of ``split_size`` (an int, the last piece may be
        smaller) or of the listed sizes, as ``torch.split``. The pieces are views, not copies.

        >>> import numpy as np, tinygrad_seq as tg
        >>> [p.shape for p in tg.Tensor(np.zeros((2, 8))).split(2, axis=1)]
        [(2, 2), (2, 2), (2, 2), (2, 2)]
        """
        axis = _axis(axis, dim, default=0)
        n = _length(self, axis, "split")
        if isinstance(split_size_or_sections, numbers.Integral):
            if n == 0 and split_size_or_sections >= 0:  # one empty piece, as PyTorch
                return [self._bind(ops.getitem, self, index=(slice(None),) * self.ndim)]
            if split_size_or_sections <= 0:
                raise ValueError(
                    f"split: split size must be positive, got {split_size_or_sections}"
                )
            sizes = [split_size_or_sections] * (n // split_size_or_sections)
            if n % split_size_or_sections:
                sizes.append(n % split_size_or_sections)
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise ValueError(
                    f"split: sizes {sizes} sum to {sum(sizes)}, but axis {axis} has {n}"
                )
        lead = (slice(None),) * (axis % self.ndim)
        pieces, start = [], 0
        for size in sizes:
            pieces.append(self._bind(ops.getitem, self, index=lead + (slice(start, start + size),)))
            start += size
        return pieces

    def chunk(self, chunks, axis=None, *, dim=None):
        """Cut self into ``chunks`` pieces along ``axis`` (the last may be smaller), as
        ``torch.chunk``: ``i, f, g, o = gates.chunk(4, dim=1)``."""
        axis = _axis(axis, dim, default=0)
        n = _length(self, axis, "chunk")
        if chunks <= 0:
            raise ValueError(f"chunk: number of chunks must be positive, got {chunks}")
        if n == 0:  # PyTorch gives ``chunks`` empty pieces
            return self.split([0] * chunks, axis)
        return self.split(-(-n // chunks), axis)

    def gather(self, dim, index):
        """The elements at ``index`` along ``dim`` (``out[i][j] = self[i][index[i][j]]`` for
        dim 1), as ``torch.gather``: a DQN's ``q.gather(1, actions)``. The gradient goes back
        to the gathered elements (added up where an index repeats).

        >>> import tinygrad_seq as tg
        >>> q = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> q.gather(1, tg.tensor([[1], [0]])).tolist()
        [[2.0], [3.0]]
        """
        index = np.asarray(_array_of(index))
        shape = self._data.shape
        axis = _wrap_axis("gather", dim, len(shape), shape)
        if index.dtype.kind not in "iu":
            raise RuntimeError(f"gather(): Expected dtype int64 for index, got {index.dtype}")
        if index.ndim != len(shape) or any(
            k > n for d, (k, n) in enumerate(zip(index.shape, shape)) if d != axis
        ):
            raise RuntimeError(
                f"gather(): index of shape {index.shape} does not fit input of shape {shape} "
                f"(same number of dimensions, no larger except along dim {axis})"
            )
        return _gather(self, index, axis)

    def view_as(self, other):
        """Self in ``other``'s shape (``reshape``), as ``torch.Tensor.view_as``:
        ``pred.eq(target.view_as(pred))``.

        >>> import tinygrad_seq as tg
        >>> tg.arange(4).view_as(tg.zeros(2, 2)).shape
        (2, 2)
        """
        return self.reshape(np.shape(_array_of(other)))

    reshape_as = view_as

    def expand_as(self, other):
        """Self broadcast to ``other``'s shape (see ``expand``)."""
        return self.expand(np.shape(_array_of(other)))

    def narrow(self, dim, start, length):
        """The ``length`` elements from ``start`` along ``dim`` (a view), as ``torch.narrow``.

        >>> import tinygrad_seq as tg
        >>> tg.arange(6).reshape(2, 3).narrow(1, 1, 2).tolist()
        [[1, 2], [4, 5]]
        """
        shape = self._data.shape
        axis = _wrap_axis("narrow", dim, len(shape), shape)
        n, start, length = shape[axis], int(start), int(length)
        if not -n <= start <= n:
            raise IndexError(
                f"start out of range (expected to be in range of [{-n}, {n}], but got {start})"
            )
        start = start + n if start < 0 else start
        if length < 0 or start + length > n:
            raise RuntimeError(
                f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n})."
            )
        index = (slice(None),) * axis + (slice(start, start + length),)
        return self._bind(ops.getitem, self, index=index)

    def contiguous(self, memory_format=None):
        """Self: a NumPy-backed tensor needs no copy to be used as contiguous (as ``torch``'s
        ``x.contiguous()`` on a contiguous tensor).

        >>> import tinygrad_seq as tg
        >>> x = tg.zeros(2, 3).t(); x.contiguous() is x
        True
        """
        return self


def _length(tensor, axis, fn):
    if not -tensor.ndim <= axis < tensor.ndim:
        raise IndexError(f"{fn}: axis {axis} is out of range for shape {tensor.shape}")
    return tensor.shape[axis]
