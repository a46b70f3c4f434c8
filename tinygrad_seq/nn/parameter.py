"""``torch.nn.parameter``'s path to Parameter: the same class as ``tinygrad_seq.nn.Parameter``.

>>> from tinygrad_seq import nn
>>> from tinygrad_seq.nn.parameter import Parameter
>>> Parameter is nn.Parameter
True
"""

from .module import Parameter

__all__ = ["Parameter"]
