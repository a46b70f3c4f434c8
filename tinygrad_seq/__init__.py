"""tinygrad_seq: reverse-mode autodiff on NumPy, and the RNN, LSTM and GRU built on it.

>>> import numpy as np, tinygrad_seq as tg
>>> x = tg.Tensor(np.ones((2, 3)), requires_grad=True)
>>> (x.tanh() * 2).sum().backward()
>>> x.grad.shape
(2, 3)
"""

import numpy as np

from . import (  # viz loads graphviz and matplotlib only when drawing
    charlm,
    nn,
    ops,
    optim,
    scan,  # the compiled loop over time: tg.scan.program(layer, x) prints it
    viz,
)
from ._tensor import Tensor, apply, cat, chunk, concat, ones, split, stack, where, zeros
from .engine import (
    detect_anomaly,
    eager,
    enable_grad,
    is_grad_enabled,
    keep_values,
    no_grad,
    scope,
    set_grad_enabled,
)
from .serialization import load, save

float32 = np.float32
float64 = np.float64

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "apply",
    "cat",
    "charlm",
    "chunk",
    "concat",
    "detect_anomaly",
    "eager",
    "enable_grad",
    "float32",
    "float64",
    "is_grad_enabled",
    "keep_values",
    "load",
    "nn",
    "no_grad",
    "ones",
    "ops",
    "optim",
    "save",
    "scan",
    "scope",
    "set_grad_enabled",
    "split",
    "stack",
    "viz",
    "where",
    "zeros",
]
