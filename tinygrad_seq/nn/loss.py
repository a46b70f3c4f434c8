"""Losses as modules, as in ``torch.nn``: ``criterion = nn.CrossEntropyLoss(); criterion(x, y)``.

Each holds its options (``reduction``, ``weight``, ``ignore_index``, ``pos_weight``) and calls the
function of the same name in ``nn.functional``; the options past ``weight`` are keyword-only, so a
call that relied on PyTorch's deprecated positional ``size_average``/``reduce`` fails loudly.

>>> import numpy as np, tinygrad_seq as tg
>>> criterion = tg.nn.CrossEntropyLoss(ignore_index=0)
>>> logits = tg.Tensor(np.zeros((3, 4)), requires_grad=True)
>>> loss = criterion(logits, np.array([0, 1, 2]))
>>> loss.backward()
>>> round(loss.item(), 4), logits.grad[0].tolist()
(1.3863, [0.0, 0.0, 0.0, 0.0])
"""

from . import functional as F
from .module import Module

__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss", "NLLLoss"]


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        F._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction  # not in the repr: PyTorch shows no options there


class MSELoss(_Loss):
    """Mean squared error (see ``functional.mse_loss``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> tg.nn.MSELoss(reduction="sum")(tg.Tensor([1.0, 3.0]), np.array([0.0, 1.0])).item()
    5.0
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class NLLLoss(_Loss):
    """Negative log-likelihood of class targets under log-probabilities (see
    ``functional.nll_loss``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> logp = tg.Tensor(np.log(np.array([[0.5, 0.5]])))
    >>> round(tg.nn.NLLLoss()(logp, np.array([1])).item(), 4)
    0.6931
    """

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, input, target):
        return F.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class CrossEntropyLoss(NLLLoss):
    """Softmax cross-entropy of logits against class targets (see ``functional.cross_entropy``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> round(tg.nn.CrossEntropyLoss()(tg.Tensor(np.zeros((1, 2))), np.array([1])).item(), 4)
    0.6931
    """

    def forward(self, input, target):
        return F.cross_entropy(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable function (see
    ``functional.binary_cross_entropy_with_logits``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> loss = tg.nn.BCEWithLogitsLoss(pos_weight=np.array([2.0]))
    >>> round(loss(tg.Tensor(np.zeros((2, 1))), np.array([[1.0], [0.0]])).item(), 4)
    1.0397
    """

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )
