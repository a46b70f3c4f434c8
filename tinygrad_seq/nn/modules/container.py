"""``torch.nn.modules.container``'s path to the containers (the classes of ``nn``)."""

from ..container import ModuleDict, ModuleList, Sequential

__all__ = ["ModuleDict", "ModuleList", "Sequential"]
