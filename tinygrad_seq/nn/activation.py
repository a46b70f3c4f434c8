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

import numpy as np

from .._tensor import _check_device
from . import functional as F
from .module import Module, Parameter

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "PReLU",
    "ReLU",
    "ReLU6",
    "SELU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softmin",
    "Softplus",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Threshold",
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


class _Simple(Module):
    """An activation without settings besides ``inplace``: calls ``function``."""

    function = None
    shows_inplace = True  # False where PyTorch's repr leaves it out

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self).function(input)

    def extra_repr(self):
        return _inplace_repr(self.inplace and self.shows_inplace)


class SELU(_Simple):
    """``selu`` (a scaled ELU with fixed constants) as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.SELU()(tg.zeros(1)).tolist()
    [0.0]
    """

    function = staticmethod(F.selu)


class Mish(_Simple):
    """``mish`` (x * tanh(softplus(x))) as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.Mish()(tg.zeros(1)).tolist()
    [0.0]
    """

    function = staticmethod(F.mish)


class Hardsigmoid(_Simple):
    """``hardsigmoid`` as a module (its repr never shows ``inplace``, as PyTorch's).

    >>> import tinygrad_seq as tg
    >>> tg.nn.Hardsigmoid()(tg.zeros(1)).tolist()
    [0.5]
    """

    function = staticmethod(F.hardsigmoid)
    shows_inplace = False


class Hardswish(_Simple):
    """``hardswish`` as a module (its repr never shows ``inplace``, as PyTorch's).

    >>> import tinygrad_seq as tg
    >>> tg.nn.Hardswish()(tg.Tensor([4.0])).tolist()
    [4.0]
    """

    function = staticmethod(F.hardswish)
    shows_inplace = False


class LogSigmoid(Module):
    """``logsigmoid`` as a module.

    >>> import tinygrad_seq as tg
    >>> round(tg.nn.LogSigmoid()(tg.zeros(1)).item(), 4)
    -0.6931
    """

    def forward(self, input):
        return F.logsigmoid(input)


class Softsign(Module):
    """``softsign`` (x / (1 + |x|)) as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.Softsign()(tg.Tensor([1.0])).tolist()
    [0.5]
    """

    def forward(self, input):
        return F.softsign(input)


class Tanhshrink(Module):
    """``tanhshrink`` (x - tanh(x)) as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.Tanhshrink()(tg.zeros(1)).tolist()
    [0.0]
    """

    def forward(self, input):
        return F.tanhshrink(input)


class CELU(Module):
    """``celu`` as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.CELU(alpha=2.0)
    CELU(alpha=2.0)
    """

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.celu(input, self.alpha)

    def extra_repr(self):
        return _inplace_repr(self.inplace, f"alpha={self.alpha}")


class Threshold(Module):
    """``threshold`` (x above ``threshold``, else ``value``) as a module.

    >>> import tinygrad_seq as tg
    >>> tg.nn.Threshold(0.1, 20.0)(tg.Tensor([0.0, 1.0])).tolist()
    [20.0, 1.0]
    """

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self):
        return _inplace_repr(self.inplace, f"threshold={self.threshold}, value={self.value}")


class PReLU(Module):
    """``prelu`` with a learnt slope: one (``num_parameters=1``) or one per channel, all
    starting at ``init``.

    >>> import tinygrad_seq as tg
    >>> act = tg.nn.PReLU()
    >>> act(tg.Tensor([[-4.0, 4.0]])).tolist(), [n for n, _ in act.named_parameters()]
    ([[-1.0, 4.0]], ['weight'])
    """

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=np.float32):
        super().__init__()
        _check_device(device)
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(np.full(num_parameters, init, dtype=dtype))

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


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


class Softmin(Module):
    """``softmin`` (softmax of -x) along ``dim`` (``dim=None``: see ``Softmax``).

    >>> import tinygrad_seq as tg
    >>> tg.nn.Softmin(dim=1)(tg.zeros(1, 2)).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        x = F._as_float_tensor(input, "softmin")
        dim = _implicit_dim("softmin", x.ndim) if self.dim is None else self.dim
        return F.softmin(x, dim)

    def extra_repr(self):
        return f"dim={self.dim}"
