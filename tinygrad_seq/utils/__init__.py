"""Utilities named as in ``torch.utils``: ``tinygrad_seq.utils.data`` (datasets, samplers and the
``DataLoader``), so that ``from torch.utils.data import DataLoader`` ports by renaming ``torch``.

>>> from tinygrad_seq.utils.data import DataLoader
>>> [b.tolist() for b in DataLoader([1, 2, 3], batch_size=2)]
[[1, 2], [3]]
"""

from . import data

__all__ = ["data"]
