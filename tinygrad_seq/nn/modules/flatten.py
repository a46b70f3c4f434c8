"""``torch.nn.modules.flatten``'s path to Flatten and Unflatten (the classes of ``nn``)."""

from ..layers import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
