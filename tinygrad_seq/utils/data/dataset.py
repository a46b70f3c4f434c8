"""Datasets, as ``torch.utils.data``'s: ``Dataset`` (indexable), ``IterableDataset`` (a stream),
``TensorDataset`` (rows of tensors), ``Subset``, ``ConcatDataset`` and ``random_split``.

>>> import numpy as np
>>> from tinygrad_seq.utils.data import TensorDataset
>>> x, y = TensorDataset(np.arange(6.0).reshape(3, 2), np.array([0, 1, 0]))[1]
>>> x.tolist(), y.item()
([2.0, 3.0], 1)
"""

import bisect
import itertools
import math
import numbers
import warnings
from typing import Generic, TypeVar

import numpy as np

from ..._tensor import Tensor
from .sampler import numpy_generator

__all__ = [
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]


T_co = TypeVar("T_co", covariant=True)  # the sample type: ``Dataset[tuple]`` in type hints


class Dataset(Generic[T_co]):
    """Base class of map-style datasets: define ``__getitem__(index)`` and ``__len__``.
    ``a + b`` concatenates two datasets. Generic, as PyTorch's: ``class Pairs(Dataset[tuple])``.

    >>> from tinygrad_seq.utils.data import Dataset
    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return i * i
    >>> len(Squares() + Squares()), (Squares() + Squares())[5]
    (8, 1)
    """

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """Base class of stream datasets: define ``__iter__``. The ``DataLoader`` batches what it
    yields, in order (no sampler, no shuffling).

    >>> from tinygrad_seq.utils.data import DataLoader, IterableDataset
    >>> class Count(IterableDataset):
    ...     def __iter__(self):
    ...         return iter(range(5))
    >>> [b.tolist() for b in DataLoader(Count(), batch_size=2)]
    [[0, 1], [2, 3], [4]]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        raise TypeError("IterableDataset: '+' concatenates map-style datasets only")


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value))


class TensorDataset(Dataset):
    """Sample i is ``(t[i] for t in tensors)``: the tensors (or arrays) share their first
    dimension.

    >>> import tinygrad_seq as tg
    >>> from tinygrad_seq.utils.data import TensorDataset
    >>> len(TensorDataset(tg.zeros(4, 3), tg.zeros(4)))
    4
    """

    def __init__(self, *tensors):
        self.tensors = tuple(_as_tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if sizes and (None in sizes or len(set(sizes)) > 1):
            shapes = [t.shape for t in self.tensors]
            raise AssertionError(f"Size mismatch between tensors: first dimensions of {shapes}")

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    >>> import numpy as np
    >>> from tinygrad_seq.utils.data import Subset
    >>> part = Subset(np.array([10, 11, 12, 13]), [3, 0])
    >>> len(part), part[0], part[[0, 1]]
    (2, np.int64(13), array([13, 10]))
    """

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx):
        if isinstance(idx, list):  # one lookup of many indices, as PyTorch (tensors, arrays)
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """The samples of several datasets, one after the other.

    >>> from tinygrad_seq.utils.data import ConcatDataset
    >>> both = ConcatDataset(["ab", "cde"])
    >>> len(both), both[2], both[-1]
    (5, 'c', 'e')
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def _split_lengths(lengths, n):
    """Ints as given; fractions summing to 1 become floor(n * f), the remainder dealt out one
    by one from the first subset, as in PyTorch."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        sizes = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=3,
                )
        return sizes
    if not all(isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in lengths):
        raise ValueError(
            f"random_split: lengths must be ints or fractions summing to 1, got {lengths}"
        )
    return [int(k) for k in lengths]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` at random into ``Subset``s of the given ``lengths`` (ints summing to its
    length, or fractions summing to 1). The permutation comes from ``generator`` (a
    ``np.random.Generator`` or an int seed), else from the global Generator (``tg.manual_seed``);
    it is not the permutation torch would draw.

    >>> from tinygrad_seq.utils.data import random_split
    >>> train, val = random_split(range(10), [0.8, 0.2], generator=0)
    >>> len(train), len(val), sorted(list(train) + list(val)) == list(range(10))
    (8, 2, True)
    """
    sizes = _split_lengths(list(lengths), len(dataset))
    if sum(sizes) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = numpy_generator(generator, "random_split").permutation(sum(sizes)).tolist()
    ends = list(itertools.accumulate(sizes))
    return [Subset(dataset, order[end - size : end]) for size, end in zip(sizes, ends)]
