"""``torch.nn.modules.container``'s path to the containers (the classes of ``nn``)."""

from ..container import ModuleDict, ModuleList, Sequential
from ..parameter_list import ParameterDict, ParameterList

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]
