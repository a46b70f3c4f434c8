"""Neural-network layers built from the engine's primitives, named as in ``torch.nn``."""

from . import functional, init, utils
from .cells import GRUCell, LSTMCell, RNNCell  # one time step each: the equations
from .layers import Dropout, Embedding, Identity, Linear, ReLU, Sequential, Sigmoid, Tanh
from .module import Module, Parameter
from .rnn import GRU, LSTM, RNN  # the driver: time, layers, directions, lengths

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Dropout",
    "Embedding",
    "GRUCell",
    "Identity",
    "LSTMCell",
    "Linear",
    "Module",
    "Parameter",
    "RNNCell",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
    "init",
    "utils",
]
