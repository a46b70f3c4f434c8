"""Learning-rate schedules, as ``torch.optim.lr_scheduler``: StepLR, ExponentialLR,
CosineAnnealingLR, LambdaLR and ReduceLROnPlateau.

A scheduler writes ``group["lr"]`` of its optimizer's parameter groups. Make it after the
optimizer, call ``scheduler.step()`` once per epoch after ``optimizer.step()``
(``ReduceLROnPlateau.step(metric)`` with the validation loss). As in PyTorch, constructing one
is its first step (``last_epoch`` becomes 0), the first scheduler records ``initial_lr`` in each
group, and the updates are PyTorch's chainable ones (each lr is computed from the current
``group["lr"]``, so schedulers compose), so the sequence of rates is PyTorch's to the last bit.
``state_dict`` is every attribute but the optimizer (lambdas: None, as PyTorch saves them).

>>> import numpy as np, tinygrad_seq as tg
>>> opt = tg.optim.SGD([tg.nn.Parameter(np.zeros(1))], lr=1.0)
>>> sched = tg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     opt.step()  # the epoch's training
...     lrs.append(sched.get_last_lr()[0]); sched.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

import math
import types
import warnings

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "ReduceLROnPlateau",
    "StepLR",
]


def _check_optimizer(optimizer, who):
    if not isinstance(getattr(optimizer, "param_groups", None), list):
        raise TypeError(f"{who}: {type(optimizer).__name__} is not an optimizer")
    return optimizer


def _lrs(optimizer):
    return [group["lr"] for group in optimizer.param_groups]


class LRScheduler:
    """Base class: ``base_lrs``, ``last_epoch``, ``step``, ``get_last_lr``, ``state_dict``;
    a subclass gives ``get_lr`` (the chainable rule) and optionally ``_get_closed_form_lr``.

    ``last_epoch=-1`` starts a schedule; a larger value resumes one, and then every group must
    hold ``initial_lr`` (saved with the optimizer's state_dict).

    >>> import numpy as np, tinygrad_seq as tg
    >>> opt = tg.optim.SGD([tg.nn.Parameter(np.zeros(1))], lr=0.1)
    >>> sched = tg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> sched.last_epoch, opt.param_groups[0]["initial_lr"]
    (0, 0.1)
    """

    def __init__(self, optimizer, last_epoch=-1):
        who = type(self).__name__
        self.optimizer = _check_optimizer(optimizer, who)
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"{who}: param_groups[{i}] has no 'initial_lr', needed to resume a schedule "
                    f"at last_epoch={last_epoch}; load the optimizer's state_dict first"
                )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True  # the constructor's step leaves the rates as they are
        self.step()
        self._is_initial = False

    def get_lr(self):
        """The rates for ``last_epoch``, from the current ones (PyTorch's chainable form)."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self, epoch=None):
        """Advance one epoch and write the new rates into the optimizer's groups. (``epoch``
        sets ``last_epoch`` directly; deprecated in PyTorch, kept for ported code.)"""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            warnings.warn(
                "passing an epoch to scheduler.step() is deprecated, as in PyTorch",
                UserWarning,
                stacklevel=2,
            )
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = _lrs(self.optimizer)

    def get_last_lr(self):
        """The rates the last ``step`` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self):
        """Every attribute but the optimizer, as PyTorch's schedulers save themselves."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict`` returned (after ``tg.load``, say)."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs.

    >>> import numpy as np, tinygrad_seq as tg
    >>> opt = tg.optim.SGD([tg.nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = tg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    >>> sched.step(); sched.get_last_lr()
    [0.1]
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _lrs(self.optimizer)
        return [lr * self.gamma for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch.

    >>> import numpy as np, tinygrad_seq as tg
    >>> opt = tg.optim.SGD([tg.nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = tg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> sched.step(); sched.step(); sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [lr * self.gamma for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self):
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from the initial rate down to ``eta_min`` over ``T_max`` epochs
    (and back up over the next ``T_max``, as PyTorch's recursive form does):
    ``eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> opt = tg.optim.SGD([tg.nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    >>> sched.step(); [round(lr, 6) for lr in sched.get_last_lr()]
    [0.5]
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, low = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return _lrs(self.optimizer)
        if self._step_count == 1 and t > 0:  # resumed: no current rate to build on
            return [
                low + (base - low) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs
            ]
        pairs = zip(self.base_lrs, _lrs(self.optimizer))
        if (t - 1 - T) % (2 * T) == 0:  # the bottom: the ratio below would divide by zero
            return [lr + (base - low) * (1 - math.cos(math.pi / T)) / 2 for base, lr in pairs]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - low) + low for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self):
        t, T, low = self.last_epoch, self.T_max, self.eta_min
        return [low + (base - low) * (1 + math.cos(math.pi * t / T)) / 2 for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """The rate is ``initial_lr * lr_lambda(epoch)``; one function, or one per group.

    >>> import numpy as np, tinygrad_seq as tg
    >>> opt = tg.optim.SGD([tg.nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = tg.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    >>> sched.step(); sched.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = _check_optimizer(optimizer, "LambdaLR").param_groups
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(groups):
                raise ValueError(
                    f"LambdaLR: expected {len(groups)} lr_lambdas (one per parameter group), "
                    f"got {len(lr_lambda)}"
                )
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(groups)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {fn!r}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        """As the base's, with ``lr_lambdas``: None for a function, the attributes of a callable
        object (PyTorch's rule: code is not saved)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
            for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        self.__dict__.update(state)
        for fn, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                fn.__dict__.update(attributes)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` once ``metric`` has not improved for more than
    ``patience`` epochs; ``step(metric)`` once per epoch. "Improved" is relative
    (``threshold_mode="rel"``: below best * (1 - threshold) in ``mode="min"``) or absolute;
    after a reduction ``cooldown`` epochs are not counted; no rate goes below ``min_lr``, and a
    change smaller than ``eps`` is not made.

    >>> import numpy as np, tinygrad_seq as tg
    >>> opt = tg.optim.SGD([tg.nn.Parameter(np.zeros(1))], lr=1.0)
    >>> sched = tg.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0]:
    ...     sched.step(loss)
    >>> sched.get_last_lr()
    [0.5]
    """

    def __init__(
        self,
        optimizer,
        mode="min",
        factor=0.1,
        patience=10,
        threshold=1e-4,
        threshold_mode="rel",
        cooldown=0,
        min_lr=0,
        eps=1e-8,
    ):
        who = "ReduceLROnPlateau"
        if not factor < 1.0:
            raise ValueError(f"{who}: factor must be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"{who}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{who}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        self.optimizer = _check_optimizer(optimizer, who)
        groups = optimizer.param_groups
        self.factor = factor
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(groups):
                raise ValueError(f"{who}: expected {len(groups)} min_lrs, got {len(min_lr)}")
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * len(groups)
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.last_epoch = 0
        self._last_lr = _lrs(optimizer)
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best, self.cooldown_counter, self.num_bad_epochs = self.mode_worse, 0, 0

    def step(self, metrics, epoch=None):
        """Record this epoch's ``metrics`` (a number or a 0-d tensor) and reduce if it is time."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = _lrs(self.optimizer)

    def _is_better(self, current):
        if self.threshold_mode == "rel":
            sign = -1 if self.mode == "min" else 1
            bar = self.best * (1 + sign * self.threshold)
        else:
            bar = self.best - self.threshold if self.mode == "min" else self.best + self.threshold
        return current < bar if self.mode == "min" else current > bar

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups, "
                    f"min_lr was given for {len(self.min_lrs)}"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new
