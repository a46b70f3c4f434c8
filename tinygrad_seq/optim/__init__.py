"""Optimizers with PyTorch's update rules: SGD (momentum, Nesterov, weight decay), Adam, AdamW,
Adagrad, RMSprop, Adadelta, LBFGS (``optim/lbfgs.py``); learning-rate schedules in
``optim.lr_scheduler``.

An optimizer holds Parameters in ``param_groups`` (a list of dicts, as in PyTorch: change
``opt.param_groups[0]["lr"]`` to schedule the learning rate) and per-parameter ``state``. ``step``
updates each ``p.data`` in place, in the parameter's dtype, from ``p.grad``; parameters whose grad
is None are skipped. Each update counts in ``p._version``: a graph recorded before ``step`` then
refuses backward, as in PyTorch (call ``backward`` first). Your own writes through ``p.data`` are
not counted. ``state_dict`` holds only arrays, numbers, lists and dicts, so ``tg.save``
stores it without pickle.

>>> import numpy as np, tinygrad_seq as tg
>>> w = tg.nn.Parameter(np.array([1.0, -2.0]))
>>> opt = tg.optim.SGD([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step(); opt.zero_grad()
>>> w.numpy()
array([ 0.8, -1.6])
"""

import math

import numpy as np

from .._tensor import Tensor
from . import lr_scheduler

__all__ = [
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "lr_scheduler",
]


class Optimizer:
    """Base class: parameter groups, state, ``zero_grad`` and ``state_dict``; subclasses give
    ``defaults`` and ``step``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> a, b = tg.nn.Parameter(np.zeros(2)), tg.nn.Parameter(np.zeros(3))
    >>> opt = tg.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
    >>> [g["lr"] for g in opt.param_groups]
    [0.1, 0.01]
    """

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, got "
                "a single Tensor; pass [tensor] or model.parameters()"
            )
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # Parameter -> {name: array or number}
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add a dict {"params": [...], option: value} whose missing options take the defaults."""
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, got {p!r}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__} can't optimize a non-leaf Tensor")
            if id(p) in seen:
                raise ValueError("some parameters appear in more than one parameter group")
            seen.add(id(p))
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown options {sorted(unknown)}")
        full = {**self.defaults, **group, "params": params}
        self._check_options(full)
        self.param_groups.append(full)

    def _check_options(self, group):
        if not group["lr"] >= 0:
            raise ValueError(f"Invalid learning rate: {group['lr']}")
        if not group["weight_decay"] >= 0:
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set them to None, or with ``set_to_none=False`` zero each one in
        place (the same Tensor, cut from any graph ``backward(create_graph=True)`` gave it), as
        PyTorch does."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if set_to_none or grad is None:
                    p._grad = None
                    continue
                grad._node, grad._requires_grad = None, False  # torch's detach_()
                if grad._data.flags.writeable:
                    grad._data[...] = 0
                else:  # a read-only array (a broadcast view someone assigned): replace it
                    grad._data = np.zeros_like(grad._data)
                grad._bump_version()

    def _with_grads(self):
        """(group, parameter, gradient) for every parameter that has a gradient."""
        for group in self.param_groups:
            for p in group["params"]:
                # the array behind p.grad, read without its two properties (150 ns a parameter,
                # 2% of a small Adam step): a step runs no Tensor op
                grad = p._grad
                if grad is not None:
                    yield group, p, grad._data

    # --- state_dict: parameters are referred to by their position over all groups -------------

    def state_dict(self):
        """{"state": {index: {name: array or number}}, "param_groups": [{options, "params":
        [indices]}]}, as PyTorch lays it out; arrays are copies."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                ids.append(index.setdefault(id(p), len(index)))
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for p, s in self.state.items():
            state[index[id(p)]] = {k: _copied(v) for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state saved by ``state_dict`` (e.g. after ``tg.load``). Everything
        is checked first; on a mismatch the error says what differs and nothing is changed."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or {"state", "param_groups"} - set(state_dict):
            raise ValueError(
                f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                "(from Optimizer.state_dict())"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter "
                f"groups, this optimizer has {len(self.param_groups)}"
            )
        params = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: group {i} has {len(saved['params'])} parameters "
                    f"in the saved state, {len(group['params'])} here"
                )
            params.update({int(k): p for k, p in zip(saved["params"], group["params"])})
        new_state = {}
        for key, saved in state_dict["state"].items():
            if int(key) not in params:
                raise ValueError(f"{name}.load_state_dict: state for unknown parameter {key}")
            p = params[int(key)]
            new_state[p] = {k: self._restore(v, p, f"{key}.{k}") for k, v in saved.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            options = {k: v for k, v in saved.items() if k != "params"}
            group.update(
                {k: tuple(v) if isinstance(group.get(k), tuple) else v for k, v in options.items()}
            )
        self.state = new_state

    def _restore(self, value, p, where):
        if isinstance(value, np.generic):  # a NumPy scalar counter: back to a Python number
            return value.item()
        if not isinstance(value, np.ndarray):
            return value
        if value.shape != p.shape:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: state '{where}' has shape {value.shape}, "
                f"the parameter has shape {p.shape}"
            )
        return value.astype(p.dtype)  # a copy, in the parameter's dtype (as PyTorch casts)

    def step(self):
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _copied(value):
    """A state value with its arrays copied, also inside lists (LBFGS keeps lists of arrays)."""
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


def _check_non_negative(**options):
    for name, value in options.items():
        if not value >= 0:
            raise ValueError(f"Invalid {name} value: {value}")


def _floats(group, *names):
    # Python floats: a NumPy float64 option (say from a schedule) would upcast float32 arithmetic
    return tuple(float(group[name]) for name in names)


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's rule: with weight decay ``g += wd * p``; with
    momentum ``buf = momentum * buf + (1 - dampening) * g`` (buf = g at the first step) and
    ``g = buf`` (or ``g + momentum * buf`` for Nesterov); then ``p -= lr * g``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.Parameter(np.array([1.0]))
    >>> opt = tg.optim.SGD([w], lr=0.5, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = np.array([1.0]); opt.step()
    >>> w.numpy()
    array([-0.45])
    """

    def __init__(
        self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False
    ):
        if not momentum >= 0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        super().__init__(params, defaults)

    def step(self):
        """One update of every parameter that has a gradient."""
        for group, p, g in self._with_grads():
            lr, momentum, wd = _floats(group, "lr", "momentum", "weight_decay")
            if wd != 0:
                g = g + wd * p._data
            if momentum != 0:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
                else:
                    buf *= momentum
                    buf += (1 - float(group["dampening"])) * g
                g = g + momentum * buf if group["nesterov"] else buf
            data = p._data
            data -= lr * g  # in place (``p.data -= ...`` would also run the setter)
            p._bump_version()


class Adam(Optimizer):
    """Adam, PyTorch's rule: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``. ``weight_decay`` adds
    ``wd * p`` to the gradient (L2); for decoupled decay use AdamW. ``amsgrad`` uses the running
    maximum of ``v``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.Parameter(np.array([1.0]))
    >>> opt = tg.optim.Adam([w], lr=0.1)
    >>> w.grad = np.array([5.0]); opt.step()
    >>> np.round(w.numpy(), 6)  # the first Adam step has length lr whatever the gradient's size
    array([0.9])
    """

    _decoupled = False

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False
    ):
        if not eps >= 0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0 <= beta < 1:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
        }
        self._scratch = {}  # parameter -> its scratch array (see _scratch_for)
        super().__init__(params, defaults)

    def step(self):
        """One update of every parameter that has a gradient."""
        for group, p, g in self._with_grads():
            lr, eps, wd = _floats(group, "lr", "eps", "weight_decay")
            beta1, beta2 = (float(b) for b in group["betas"])
            state = self.state.setdefault(p, {})
            if not state:
                state.update(
                    step=0, exp_avg=np.zeros_like(p._data), exp_avg_sq=np.zeros_like(p._data)
                )
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = np.zeros_like(p._data)
            state["step"] += 1
            data = p._data
            if wd != 0:
                if self._decoupled:
                    data *= 1 - lr * wd
                else:
                    g = g + wd * p._data
            m, v = state["exp_avg"], state["exp_avg_sq"]
            fast = g.dtype == m.dtype == v.dtype == data.dtype and g.shape == data.shape
            if not fast:  # mixed dtypes: the expressions as written, promoting as they do
                m += (1 - beta1) * (g - m)  # PyTorch's lerp towards g
                v *= beta2
                v += (1 - beta2) * (g * g)
            else:  # the same operations in the same order, into one scratch array (see _scratch)
                tmp = self._scratch_for(p)
                m += np.multiply(np.subtract(g, m, out=tmp), 1 - beta1, out=tmp)
                v *= beta2
                v += np.multiply(np.multiply(g, g, out=tmp), 1 - beta2, out=tmp)
            if group["amsgrad"]:
                np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                v = state["max_exp_avg_sq"]
            step = state["step"]
            step_size = lr / (1 - beta1**step)
            if not fast or v.dtype != data.dtype:
                denom = np.sqrt(v) / math.sqrt(1 - beta2**step) + eps
                data -= step_size * (m / denom)
            else:
                denom = np.sqrt(v, out=self._scratch_for(p))
                np.add(np.divide(denom, math.sqrt(1 - beta2**step), out=denom), eps, out=denom)
                data -= np.multiply(np.divide(m, denom, out=denom), step_size, out=denom)
            p._bump_version()

    def _scratch_for(self, p):
        """An array like ``p``'s data to compute in, kept between steps and not in ``state`` (so
        not in ``state_dict``). Fresh temporaries of a large weight would each be a new mmap
        whose pages the kernel zeroes again at every step (the demo: 9 of 256 KiB per step)."""
        data = p._data
        scratch = self._scratch.get(p)
        if scratch is None or scratch.shape != data.shape or scratch.dtype != data.dtype:
            scratch = self._scratch[p] = np.empty_like(data)
        return scratch


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's rule: before the Adam
    update ``p *= 1 - lr * weight_decay``; the gradient itself is not changed.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.Parameter(np.array([1.0]))
    >>> opt = tg.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = np.array([0.0]); opt.step()
    >>> w.numpy()
    array([0.95])
    """

    _decoupled = True

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class Adagrad(Optimizer):
    """Adagrad, PyTorch's rule: with weight decay ``g += wd * p``; ``sum += g^2``;
    ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)`` at step ``t``. ``sum`` starts
    at ``initial_accumulator_value``; as in PyTorch the state exists from construction on.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.Parameter(np.array([1.0]))
    >>> opt = tg.optim.Adagrad([w], lr=0.5)
    >>> w.grad = np.array([4.0]); opt.step()
    >>> np.round(w.numpy(), 6)  # the first step has length lr: 4 / sqrt(16)
    array([0.5])
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
    ):
        _check_non_negative(
            lr_decay=lr_decay, initial_accumulator_value=initial_accumulator_value, epsilon=eps
        )
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._state_of(p, group)

    def _state_of(self, p, group):
        state = self.state.setdefault(p, {})
        if not state:
            start = float(group["initial_accumulator_value"])
            state.update(step=0, sum=np.full_like(p._data, start))
        return state

    def step(self):
        """One update of every parameter that has a gradient."""
        for group, p, g in self._with_grads():
            g = np.asarray(g)
            lr, lr_decay, eps, wd = _floats(group, "lr", "lr_decay", "eps", "weight_decay")
            state = self._state_of(p, group)
            state["step"] += 1
            if wd != 0:
                g = g + wd * p._data
            clr = lr / (1 + (state["step"] - 1) * lr_decay)
            state["sum"] += g * g
            data = p._data
            data -= clr * (g / (np.sqrt(state["sum"]) + eps))
            p._bump_version()


class RMSprop(Optimizer):
    """RMSprop, PyTorch's rule: with weight decay ``g += wd * p``; ``v = alpha v + (1 - alpha)
    g^2``; ``avg = sqrt(v) + eps`` (``centered``: ``sqrt(v - m^2) + eps`` with ``m`` the running
    mean of ``g``); then ``p -= lr * g / avg``, or with momentum ``buf = momentum * buf + g /
    avg`` and ``p -= lr * buf``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.Parameter(np.array([1.0]))
    >>> opt = tg.optim.RMSprop([w], lr=0.01, alpha=0.99)
    >>> w.grad = np.array([2.0]); opt.step()
    >>> np.round(w.numpy(), 6)  # 1 - 0.01 * 2 / sqrt(0.01 * 4)
    array([0.9])
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
    ):
        _check_non_negative(epsilon=eps, momentum=momentum, alpha=alpha)
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
        }
        super().__init__(params, defaults)

    def step(self):
        """One update of every parameter that has a gradient."""
        for group, p, g in self._with_grads():
            g = np.asarray(g)
            lr, alpha, eps, wd = _floats(group, "lr", "alpha", "eps", "weight_decay")
            momentum = float(group["momentum"])
            state = self.state.setdefault(p, {})
            if not state:
                state.update(step=0, square_avg=np.zeros_like(p._data))
                if momentum > 0:
                    state["momentum_buffer"] = np.zeros_like(p._data)
                if group["centered"]:
                    state["grad_avg"] = np.zeros_like(p._data)
            state["step"] += 1
            if wd != 0:
                g = g + wd * p._data
            v = state["square_avg"]
            v *= alpha
            v += (1 - alpha) * (g * g)
            if group["centered"]:
                m = state["grad_avg"]
                m += (1 - alpha) * (g - m)  # PyTorch's lerp towards g
                avg = np.sqrt(v - m * m) + eps
            else:
                avg = np.sqrt(v) + eps
            data = p._data
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += g / avg
                data -= lr * buf
            else:
                data -= lr * (g / avg)
            p._bump_version()


class Adadelta(Optimizer):
    """Adadelta, PyTorch's rule: with weight decay ``g += wd * p``; ``v = rho v + (1 - rho) g^2``;
    ``delta = sqrt(u + eps) / sqrt(v + eps) * g``; ``u = rho u + (1 - rho) delta^2``; then
    ``p -= lr * delta``. ``lr`` is 1.0 by default, as PyTorch's MNIST example runs it.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.Parameter(np.array([1.0]))
    >>> opt = tg.optim.Adadelta([w], lr=1.0, rho=0.9, eps=1e-6)
    >>> w.grad = np.array([2.0]); opt.step()
    >>> np.round(w.numpy(), 6)  # 1 - sqrt(1e-6) / sqrt(0.1 * 4 + 1e-6) * 2
    array([0.996838])
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        _check_non_negative(epsilon=eps)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` (re-evaluating the
        model and returning the loss) is called first when given, and its loss returned."""
        loss = closure() if closure is not None else None
        for group, p, g in self._with_grads():
            lr, rho, eps, wd = _floats(group, "lr", "rho", "eps", "weight_decay")
            state = self.state.setdefault(p, {})
            if not state:
                state.update(step=0, square_avg=np.zeros_like(p._data))
                state["acc_delta"] = np.zeros_like(p._data)
            state["step"] += 1
            if wd != 0:
                g = g + wd * p._data
            v, u = state["square_avg"], state["acc_delta"]
            v *= rho
            v += (1 - rho) * (g * g)
            delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
            u *= rho
            u += (1 - rho) * (delta * delta)
            p._data -= lr * delta
            p._bump_version()
        return loss


# last: LBFGS subclasses Optimizer, defined above
from .lbfgs import LBFGS  # noqa: E402
