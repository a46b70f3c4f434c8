"""``torch.nn.modules.normalization``'s path to LayerNorm (the class of ``nn``)."""

from ..layers import LayerNorm

__all__ = ["LayerNorm"]
