"""Neural-network layers built from the engine's primitives, named as in ``torch.nn``."""

from . import functional, init, modules, utils  # modules: torch's class paths (nn.modules.rnn)
from .activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .cells import GRUCell, LSTMCell, RNNCell  # one time step each: the equations
from .container import ModuleDict, ModuleList, Sequential
from .layers import Dropout, Embedding, Flatten, Identity, LayerNorm, Linear, Unflatten
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter
from .rnn import GRU, LSTM, RNN  # the driver: time, layers, directions, lengths

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GELU",
    "GRUCell",
    "Hardtanh",
    "Identity",
    "LeakyReLU",
    "LogSoftmax",
    "LSTMCell",
    "LayerNorm",
    "Linear",
    "ModuleDict",
    "ModuleList",
    "MSELoss",
    "Module",
    "NLLLoss",
    "Parameter",
    "ReLU6",
    "RNNCell",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SiLU",
    "Softmax",
    "Softplus",
    "Tanh",
    "Unflatten",
    "functional",
    "init",
    "modules",
    "utils",
]
