"""Training utilities, as ``torch.nn.utils``: gradient clipping here, padded and packed
sequences in ``nn.utils.rnn``.

>>> import numpy as np, tinygrad_seq as tg
>>> w = tg.nn.Parameter(np.zeros(2))
>>> w.grad = np.array([3.0, 4.0])
>>> tg.nn.utils.clip_grad_norm_([w], max_norm=1.0).item()
5.0
>>> np.round(w.grad, 3)
array([0.6, 0.8])
"""

import math

import numpy as np

from ..._tensor import Tensor
from . import rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "rnn"]


def _norm(array, norm_type):
    if norm_type == math.inf:
        return np.max(np.abs(array)) if array.size else np.zeros((), array.dtype)
    if norm_type == 2:
        return np.sqrt(np.sum(array * array))
    return np.sum(np.abs(array) ** norm_type) ** (1.0 / norm_type)


def _grad_arrays(parameters):
    """(parameters as a list, [the array behind each existing gradient]): ``p.grad`` may be an
    ndarray or a Tensor; the arrays are the ones to scale in place."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    return params, [g._data if isinstance(g, Tensor) else np.asarray(g) for g in grads]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients of ``parameters`` in place so that their joint norm is at most
    ``max_norm``; return the norm before clipping as a 0-d Tensor (as PyTorch does).

    The joint norm is the ``norm_type``-norm of all gradients seen as one vector (``math.inf``
    for the largest magnitude). As in PyTorch, each gradient is multiplied by
    min(max_norm / (total + 1e-6), 1); parameters without a gradient are skipped. The arithmetic
    stays in the gradients' dtype.

    >>> import numpy as np, tinygrad_seq as tg
    >>> p = tg.nn.Parameter(np.zeros(3))
    >>> p.grad = np.array([0.0, 0.0, 2.0])
    >>> tg.nn.utils.clip_grad_norm_(p, 10.0).item(), p.grad.tolist()
    (2.0, [0.0, 0.0, 2.0])
    """
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive, got {norm_type}")
    params, grads = _grad_arrays(parameters)
    if not grads:
        return Tensor(np.zeros((), np.float32))  # torch.tensor(0.)
    # the norm of the per-tensor norms, as PyTorch computes it
    total = _norm(np.stack([_norm(g, norm_type) for g in grads]), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of the gradients is {float(total)}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    coef = np.minimum(float(max_norm) / (total + 1e-6), 1.0)  # a scalar in the grads' dtype
    for g in grads:
        g *= coef.astype(g.dtype)
    return Tensor(np.asarray(total))


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient of ``parameters`` in place to [-clip_value, clip_value]; returns None.

    >>> import numpy as np, tinygrad_seq as tg
    >>> p = tg.nn.Parameter(np.zeros(3))
    >>> p.grad = np.array([-5.0, 0.5, 3.0])
    >>> tg.nn.utils.clip_grad_value_(p, 1.0); p.grad.tolist()
    [-1.0, 0.5, 1.0]
    """
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grad_arrays(parameters)[1]:
        np.clip(g, -clip_value, clip_value, out=g)
