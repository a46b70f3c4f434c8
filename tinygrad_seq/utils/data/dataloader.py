"""The ``DataLoader``, as ``torch.utils.data.DataLoader``: batches of a dataset, in order or
shuffled, collated by ``default_collate`` (or your ``collate_fn``).

Batches are loaded in the main process: ``num_workers`` must be 0 (worker processes only make
loading faster in PyTorch; the batches are the same). ``pin_memory=True`` is accepted and does
nothing but warn, as PyTorch does on a machine without an accelerator: pinned (page-locked) host
memory speeds up copies to a GPU, and tinygrad_seq runs on the CPU.

>>> import numpy as np, tinygrad_seq as tg
>>> from tinygrad_seq.utils.data import DataLoader, TensorDataset
>>> loader = DataLoader(TensorDataset(np.zeros((10, 3)), np.arange(10)), batch_size=4)
>>> len(loader), [y.tolist() for _, y in loader]
(3, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
"""

import itertools
import math
import warnings

from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` (``None``: sample by sample),
    shuffled on every pass with ``shuffle=True`` (from ``generator``, else the global Generator
    that ``tg.manual_seed`` seeds: reproducible, but not torch's order, whose random number
    generator is not reproduced). ``sampler`` (any iterable of indices) or ``batch_sampler``
    (of index lists) choose the samples instead. Arguments and their errors are PyTorch's.

    >>> import tinygrad_seq as tg
    >>> from tinygrad_seq.utils.data import DataLoader
    >>> _ = tg.manual_seed(0)
    >>> epoch = [b.tolist() for b in DataLoader(range(6), batch_size=4, shuffle=True)]
    >>> [len(b) for b in epoch], sorted(sum(epoch, []))
    ([4, 2], [0, 1, 2, 3, 4, 5])
    """

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=None,
        sampler=None,
        batch_sampler=None,
        num_workers=0,
        collate_fn=None,
        pin_memory=False,
        drop_last=False,
        timeout=0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers=False,
        pin_memory_device="",
        in_order=True,
    ):
        _check_workers(num_workers, timeout, prefetch_factor, persistent_workers)
        if pin_memory:
            _warn_pin_memory()
        self.dataset, self.num_workers, self.pin_memory = dataset, num_workers, pin_memory
        self.timeout, self.worker_init_fn, self.generator = timeout, worker_init_fn, generator
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            _check_iterable_options(shuffle, sampler, batch_sampler)
        _check_sampler_options(batch_size, shuffle, sampler, batch_sampler, drop_last)
        if batch_sampler is not None:  # the batch sampler decides the batches alone
            batch_size, drop_last = None, False
        if sampler is None and not self._iterable:
            if shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        batching = batch_sampler is not None or (self._iterable and batch_size is not None)
        self._auto_collation = batching
        if collate_fn is None:
            collate_fn = default_collate if batching else default_convert
        self.collate_fn = collate_fn

    def __iter__(self):
        if self._iterable:
            return self._iterate_stream()
        if self._auto_collation:
            return (self._fetch(indices) for indices in self.batch_sampler)
        return (self.collate_fn(self.dataset[index]) for index in self.sampler)

    def _fetch(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)  # a whole batch at once
        samples = getitems(indices) if getitems else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)

    def _iterate_stream(self):
        stream = iter(self.dataset)
        if not self._auto_collation:
            yield from (self.collate_fn(sample) for sample in stream)
            return
        while batch := list(itertools.islice(stream, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield self.collate_fn(batch)

    def __len__(self):
        if self._iterable:  # as PyTorch: from the dataset's own __len__ (a TypeError without)
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return len(self.batch_sampler if self._auto_collation else self.sampler)


def _warn_pin_memory():
    """PyTorch's own warning for ``pin_memory=True`` on a machine without an accelerator."""
    warnings.warn(
        "'pin_memory' argument is set as true but no accelerator is found, then device "
        "pinned memory won't be used.",
        UserWarning,
        stacklevel=3,
    )


def _check_iterable_options(shuffle, sampler, batch_sampler):
    """An IterableDataset chooses its own order: refuse shuffle, sampler and batch_sampler."""
    for name, value in (("shuffle", shuffle), ("sampler", sampler)):
        if value not in (None, False):
            raise ValueError(
                "DataLoader with IterableDataset: expected unspecified "
                f"{name} option, but got {name}={value}"
            )
    if batch_sampler is not None:
        raise ValueError(
            "DataLoader with IterableDataset: expected unspecified "
            f"batch_sampler option, but got batch_sampler={batch_sampler}"
        )


def _check_sampler_options(batch_size, shuffle, sampler, batch_sampler, drop_last):
    """The combinations of sampling options PyTorch refuses, with its messages."""
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ValueError(
                "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                "sampler, and drop_last"
            )
    elif batch_size is None and drop_last:
        raise ValueError(
            "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
        )


def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers):
    if num_workers < 0:
        raise ValueError(
            "num_workers option should be non-negative; use num_workers=0 to disable "
            "multiprocessing."
        )
    if num_workers > 0:
        raise NotImplementedError(
            f"DataLoader: num_workers={num_workers}: tinygrad_seq loads batches in the main "
            "process only; pass num_workers=0 (the batches are the same, PyTorch's workers "
            "only load them in parallel)"
        )
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing."
            "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
        )
    if persistent_workers:
        raise ValueError("persistent_workers option needs num_workers > 0")


def get_worker_info():
    """None: no worker process ever loads here (PyTorch returns None in the main process, and
    ``IterableDataset``s call this to split their stream between workers).

    >>> from tinygrad_seq.utils.data import get_worker_info
    >>> get_worker_info() is None
    True
    """
    return None
