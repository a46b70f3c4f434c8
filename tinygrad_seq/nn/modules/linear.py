"""``torch.nn.modules.linear``'s path to Linear and Identity (the same classes as in ``nn``)."""

from ..attention import NonDynamicallyQuantizableLinear
from ..layers import Identity, Linear

__all__ = ["Identity", "Linear", "NonDynamicallyQuantizableLinear"]
