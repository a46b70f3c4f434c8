"""``torch.nn.modules.module``'s path to Module: the same class as ``tinygrad_seq.nn.Module``."""

from ..module import Module

__all__ = ["Module"]
