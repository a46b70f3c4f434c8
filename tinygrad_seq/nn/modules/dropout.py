"""``torch.nn.modules.dropout``'s path to Dropout (the same class as ``nn.Dropout``)."""

from ..layers import Dropout

__all__ = ["Dropout"]
