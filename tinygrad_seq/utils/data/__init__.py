"""Datasets, samplers and the ``DataLoader``, as ``torch.utils.data``: a dataset maps indices to
samples, a sampler chooses the indices, a batch sampler groups them, and the loader collates each
group into a batch (tensors stacked, numbers made tensors, dicts and tuples collated per field).

Shuffling draws from the global Generator that ``tg.manual_seed`` seeds (or the ``generator``
given), so a seeded script shuffles the same way on every run. The order is not torch's: torch's
random number generator is not reproduced here, only its semantics.

>>> import numpy as np, tinygrad_seq as tg
>>> from tinygrad_seq.utils.data import DataLoader, TensorDataset
>>> data = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
>>> x, y = next(iter(DataLoader(data, batch_size=2)))
>>> x.shape, y.tolist()
((2, 2), [0, 1])
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
