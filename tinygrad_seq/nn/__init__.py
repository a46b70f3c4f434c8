"""Neural-network layers built from the engine's primitives, named as in ``torch.nn``."""

from .module import Module, Parameter

__all__ = ["Module", "Parameter"]
