"""``torch.nn.modules.sparse``'s path to Embedding (the same class as ``nn.Embedding``)."""

from ..layers import Embedding

__all__ = ["Embedding"]
