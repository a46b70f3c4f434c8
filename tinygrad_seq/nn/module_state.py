"""What a Module holds, as data: ``state_dict`` and ``load_state_dict`` (named arrays in and
out, checked before anything is written) and ``to``/``float``/``double``/``half`` (the dtype of
every parameter and floating buffer). ``Module`` inherits these from ``ModuleState``.
"""

import collections

import numpy as np

from .._tensor import Tensor, _check_device
from ..devices import is_device

__all__ = ["IncompatibleKeys", "ModuleState"]


class IncompatibleKeys(collections.namedtuple("IncompatibleKeys", "missing_keys unexpected_keys")):
    """What ``load_state_dict`` returns: the keys it missed and the keys it did not use, as
    PyTorch's named tuple (printed ``<All keys matched successfully>`` when both are empty).

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> layer = nn.Linear(2, 1, seed=0)
    >>> layer.load_state_dict({"weight": np.zeros((1, 2))}, strict=False).missing_keys
    ['bias']
    >>> layer.load_state_dict(layer.state_dict())
    <All keys matched successfully>
    """

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class ModuleState:
    """The state methods of ``nn.Module`` (a mixin: it relies on ``named_modules``,
    ``parameters`` and ``buffers``, which ``Module`` defines).

    >>> from tinygrad_seq import nn
    >>> from tinygrad_seq.nn.module_state import ModuleState
    >>> issubclass(nn.Module, ModuleState), list(nn.Linear(2, 1, seed=0).state_dict())
    (True, ['weight', 'bias'])
    """

    # --- state: named arrays in and out -------------------------------------------------------

    def _state_tensors(self):
        """{dotted name: tensor} of what ``state_dict`` saves: each module's parameters, then its
        persistent buffers, module by module (PyTorch's order); a tied tensor under each name."""
        state = {}
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, p in module._parameters.items():
                state[prefix + name] = p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    state[prefix + name] = b
        return state

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """{dotted name: a copy of the array} of every parameter and persistent buffer, in
        PyTorch's order. A tied parameter appears under each of its names, as in PyTorch.
        ``prefix`` goes before every name, ``keep_vars=True`` gives the tensors themselves, and
        ``destination`` (a dict) is filled and returned.

        >>> import tinygrad_seq as tg
        >>> list(tg.nn.Linear(2, 1, seed=0).state_dict(prefix="fc."))
        ['fc.weight', 'fc.bias']
        """
        out = {} if destination is None else destination
        for name, t in self._state_tensors().items():
            out[prefix + name] = t if keep_vars else np.array(t._data, copy=True)
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into the parameters by name. Everything is checked first: on any missing or
        unexpected key (with ``strict``) or wrong shape, the error names them all and the module is
        left unchanged. Returns (missing keys, unexpected keys) as PyTorch does: a named tuple
        (``.missing_keys``, ``.unexpected_keys``).

        The copy is an in-place write: it counts in each parameter's ``_version``, and a graph
        recorded before it refuses backward."""
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"load_state_dict into {type(self).__name__}: expected a dict of name -> array, "
                f"got {type(state_dict).__name__}"
            )
        params = self._state_tensors()
        arrays = {
            k: np.asarray(v._data if isinstance(v, Tensor) else v) for k, v in state_dict.items()
        }
        missing = [k for k in params if k not in arrays]
        unexpected = [k for k in arrays if k not in params]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        for k, p in params.items():
            if k in arrays and arrays[k].shape != p.shape:
                problems.append(f"'{k}' has shape {arrays[k].shape}, the model expects {p.shape}")
            elif k in arrays and arrays[k].dtype.kind not in "biuf":
                # checked up front: a failing copy halfway would leave the model half loaded
                problems.append(f"'{k}' has dtype {arrays[k].dtype}, not a number")
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__}: " + "; ".join(problems))
        for k, p in params.items():
            if k in arrays:
                p._data[...] = arrays[k]  # in place: optimizers keep referring to the same array
                p._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # --- dtype and device ------------------------------------------------------------------------

    def to(self, *args, dtype=None, device=None, non_blocking=False, memory_format=None):
        """Cast every parameter (and gradient) and floating buffer to ``dtype`` in place and
        return self, as ``torch.nn.Module.to``: ``to(dtype)``, ``to("cpu")`` or
        ``to(tg.device("cpu"))`` (the only device: a no-op), ``to("cpu", dtype)`` or
        ``to(tensor)`` (its dtype). ``non_blocking`` and ``memory_format`` are accepted and
        change nothing: copies between devices and memory layouts do not arise here.

        >>> import tinygrad_seq as tg
        >>> layer = tg.nn.Linear(2, 2, seed=0).to("cpu", tg.float64)
        >>> layer.weight.dtype
        dtype('float64')
        """
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif is_device(arg):  # "cpu", tg.device("cpu"), None
                device = arg
            else:
                dtype = arg
        _check_device(device)
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"to(): parameters must stay floating point, got {dtype}")
        for p in self.parameters():
            p._data = p._data.astype(dtype)
            if p.grad is not None:
                p.grad = p.grad._data.astype(dtype)
        for b in self.buffers():
            if b.dtype.kind == "f":  # as PyTorch: integer and bool buffers keep their dtype
                b._data = b._data.astype(dtype)
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def cpu(self):
        """Self: the CPU is the only device."""
        return self

    def cuda(self, device=None):
        """Refused with the reason: tinygrad_seq runs on the CPU (keep ``.to(device)`` lines
        with ``device = "cpu"``)."""
        _check_device("cuda" if device is None else f"cuda:{device}")
