"""Activation modules, as ``torch.nn``'s: each holds its settings and calls the function of the
same name in ``nn.functional`` (composed from primitives: no derivative is defined here).

``inplace=True`` is accepted wherever PyTorch accepts it and shown in the repr, but the result
is always a new tensor (see ``functional.elu``).

>>> import tinygrad_seq as tg
>>> from tinygrad_seq import nn
>>> nn.LogSoftmax(dim=1), nn.LeakyReLU(0.2, inplace=True)
(LogSoftmax(dim=1), LeakyReLU(negative_slope=0.2, inplace=True))
>>> nn.GELU()(tg.zeros(2)).tolist()
[0.0, 0.0]
"""

import warnings

from . import functional as F
from .module import Module

__all__ = [
    "ELU",
    "GELU",
    "Hardtanh",
    "LeakyReLU",
    "LogSoftmax",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]


def _inplace_repr(inplace, before=""):
    if not inplace:
        return before
    return f"{before}, inplace=True" if before else "inplace=True"


class Tanh(Module):
    """tanh as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.Tanh()(tg.zeros(1)).tolist()
    [0.0]
    """

    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    """sigmoid as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.Sigmoid()(tg.zeros(1)).tolist()
    [0.5]
    """

    def forward(self, input):
        return F.sigmoid(input)


class ReLU(Module):
    """relu as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.ReLU()(tg.Tensor([-1.0, 1.0])).tolist()
    [0.0, 1.0]
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class LeakyReLU(Module):
    """``leaky_relu`` as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.LeakyReLU(0.1)(tg.Tensor([-1.0, 1.0])).tolist()
    [-0.1, 1.0]
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return _inplace_repr(self.inplace, f"negative_slope={self.negative_slope}")


class ELU(Module):
    """``elu`` as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.ELU()(tg.Tensor([0.0, 1.0])).tolist()
    [0.0, 1.0]
    """

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return _inplace_repr(self.inplace, f"alpha={self.alpha}")


class Softplus(Module):
    """``softplus`` as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.Softplus(threshold=1.0)(tg.Tensor([5.0])).tolist()
    [5.0]
    """

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(Module):
    """``silu`` (x * sigmoid(x)) as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.SiLU()(tg.zeros(1)).tolist()
    [0.0]
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.silu(input)

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class GELU(Module):
    """``gelu`` as a module: ``approximate`` is "none" (erf, composed) or "tanh".

    >>> import tinygrad_seq as tg
    >>> tg.nn.GELU(approximate="tanh")
    GELU(approximate='tanh')
    """

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise RuntimeError("approximate argument must be either none or tanh.")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Hardtanh(Module):
    """``hardtanh`` (clip to [min_val, max_val], zero gradient at the bounds) as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.Hardtanh(-2.0, 2.0)(tg.Tensor([-5.0, 5.0])).tolist()
    [-2.0, 2.0]
    """

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return _inplace_repr(self.inplace, f"min_val={self.min_val}, max_val={self.max_val}")


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)``: a Hardtanh from 0 to 6, as in PyTorch.

    >>> import tinygrad_seq as tg
    >>> tg.nn.ReLU6()(tg.Tensor([-1.0, 9.0])).tolist()
    [0.0, 6.0]
    """

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace)


def _implicit_dim(name, ndim):
    # PyTorch's legacy rule for dim=None, with its deprecation warning
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """``softmax`` along ``dim``. With ``dim=None`` PyTorch's deprecated implicit choice is
    made (dim 0 for 0-, 1- and 3-d inputs, else 1) with its warning: pass ``dim``.

    >>> import tinygrad_seq as tg
    >>> tg.nn.Softmax(dim=1)(tg.zeros(1, 2)).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        x = F._as_float_tensor(input, "softmax")
        dim = _implicit_dim("softmax", x.ndim) if self.dim is None else self.dim
        return F.softmax(x, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``log_softmax`` along ``dim`` (``dim=None``: see ``Softmax``).

    >>> import tinygrad_seq as tg
    >>> tg.nn.LogSoftmax(dim=0)
    LogSoftmax(dim=0)
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        x = F._as_float_tensor(input, "log_softmax")
        dim = _implicit_dim("log_softmax", x.ndim) if self.dim is None else self.dim
        return F.log_softmax(x, dim)

    def extra_repr(self):
        return f"dim={self.dim}"
