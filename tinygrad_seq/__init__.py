"""tinygrad_seq: reverse-mode autodiff on NumPy, and the RNN, LSTM and GRU built on it.

>>> import numpy as np, tinygrad_seq as tg
>>> x = tg.Tensor(np.ones((2, 3)), requires_grad=True)
>>> (x.tanh() * 2).sum().backward()
>>> x.grad.shape
(2, 3)
"""

import numpy as np

from . import (  # viz loads graphviz and matplotlib only when drawing
    autograd,  # tg.autograd.grad: gradients of chosen inputs, differentiable again
    nn,
    ops,
    optim,
    scan,  # the compiled loop over time: tg.scan.program(layer, x) prints it
    utils,  # tg.utils.data: Dataset, DataLoader, samplers, as torch.utils.data
    viz,
)
from ._tensor import Tensor, apply, cat, chunk, concat, multinomial, split, stack, where
from .devices import backends, cuda, device
from .factories import (
    BoolTensor,
    ByteTensor,
    DoubleTensor,
    FloatTensor,
    IntTensor,
    LongTensor,
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .functions import (  # tg.exp(x), tg.sum(x, dim=1), ...: the methods as functions
    abs,
    allclose,
    amax,
    amin,
    argmax,
    argmin,
    argsort,
    bmm,
    clamp,
    equal,
    exp,
    flatten,
    gather,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    narrow,
    norm,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    softmax,
    sort,
    sqrt,
    squeeze,
    std,
    sum,
    tanh,
    topk,
    transpose,
    unsqueeze,
    var,
)
from .modes import (
    detect_anomaly,
    eager,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    keep_values,
    no_grad,
    scope,
    set_grad_enabled,
)
from .serialization import load, save

# dtypes as PyTorch names them; they are NumPy's, so ``x.dtype == tg.float32`` holds
float16 = half = np.float16
float32 = np.float32
float64 = double = np.float64
int8 = np.int8
int16 = short = np.int16
int32 = np.int32
int64 = long = np.int64
uint8 = np.uint8
bool = np.bool_  # torch.bool (a name in this namespace only)
float = np.float32  # torch.float
int = np.int32  # torch.int

__version__ = "0.1.0"

# The apps built on the library (the char-LM and its data, the CLI) and the onnx stub are imported
# by name, as any submodule: `from tinygrad_seq import charlm`, `import tinygrad_seq.onnx`.


def __dir__():
    """``dir(tg)``: the public names (``__all__``) and the public submodules imported so far; not
    the helpers this file imports (numpy) nor the private modules (_tensor...)."""
    submodules = [
        name
        for name, value in globals().items()
        if not name.startswith("_") and getattr(value, "__name__", None) == f"{__name__}.{name}"
    ]
    return sorted({*__all__, *submodules})


__all__ = [
    "BoolTensor",
    "ByteTensor",
    "DoubleTensor",
    "FloatTensor",
    "IntTensor",
    "LongTensor",
    "Tensor",
    "abs",
    "allclose",
    "amax",
    "amin",
    "apply",
    "arange",
    "argmax",
    "argmin",
    "argsort",
    "autograd",
    "backends",
    "bmm",
    "bool",
    "cat",
    "chunk",
    "clamp",
    "concat",
    "cuda",
    "detect_anomaly",
    "device",
    "double",
    "eager",
    "empty",
    "empty_like",
    "enable_grad",
    "equal",
    "exp",
    "eye",
    "flatten",
    "float",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "gather",
    "half",
    "inference_mode",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "is_grad_enabled",
    "keep_values",
    "linspace",
    "load",
    "log",
    "log_softmax",
    "logsumexp",
    "long",
    "manual_seed",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mm",
    "multinomial",
    "narrow",
    "nn",
    "no_grad",
    "norm",
    "ones",
    "ones_like",
    "ops",
    "optim",
    "permute",
    "pow",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "relu",
    "reshape",
    "save",
    "scan",
    "scope",
    "set_grad_enabled",
    "short",
    "sigmoid",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sum",
    "tanh",
    "tensor",
    "topk",
    "transpose",
    "uint8",
    "unsqueeze",
    "utils",
    "var",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]
