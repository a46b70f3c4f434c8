"""Module and Parameter: named trees of parameters, as ``torch.nn.Module``.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it; ``named_parameters`` then
gives PyTorch's dotted names (``rnn.weight_ih_l0``), which are also set as each parameter's
``name`` so the graph viewer can label it. All walks over the tree are iterative.
"""

import functools

import numpy as np

from .._tensor import Tensor, _check_device


class Parameter(Tensor):
    """A Tensor that a Module registers as a parameter; it requires grad by default.

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> nn.Parameter(np.zeros(3)).requires_grad
    True
    """

    _kind = "parameter"  # in error messages

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def _recording_arguments(init):
    """Wrap a Module subclass's ``__init__`` to keep the arguments of the outermost call (a
    subclass's ``super().__init__(...)`` does not overwrite them) in ``_init_args``: ``tg.save``
    stores them, so that ``tg.load`` can build the module again without pickle."""

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if "_init_args" not in self.__dict__:
            object.__setattr__(self, "_init_args", (args, kwargs))
        init(self, *args, **kwargs)

    return __init__


class Module:
    """Base class of layers and models: subclass it, assign parameters and submodules in
    ``__init__``, write ``forward``.

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = nn.Parameter(np.ones(2))
    ...     def forward(self, x):
    ...         return x * self.scale
    >>> [name for name, _ in Affine().named_parameters()]
    ['scale']
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_arguments(cls.__dict__["__init__"])

    # --- registration -----------------------------------------------------------------------------

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
            value.name = name
        elif isinstance(value, Module):
            self._modules[name] = value
            for sub_name, p in value.named_parameters(prefix=name):
                p.name = sub_name
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):  # only called when normal lookup fails
        d = self.__dict__
        if name in d.get("_parameters", {}):
            return d["_parameters"][name]
        if name in d.get("_modules", {}):
            return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter or None) under ``name``."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    # --- walks (iterative: a deep stack of layers must not hit the recursion limit) -------------

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every descendant, depth first."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = list(module._modules.items())
            for child_name, child in reversed(children):
                stack.append((f"{name}.{child_name}" if name else child_name, child))

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return iter(self._modules.items())

    def children(self):
        return iter(self._modules.values())

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, parameter) pairs, in registration order, each parameter once (or, with
        ``remove_duplicate=False``, once under every name it is registered by: tied weights)."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, p in module._parameters.items():
                if not remove_duplicate or id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    # --- state --------------------------------------------------------------------------------

    def state_dict(self):
        """{dotted name: a copy of the parameter's array}. A tied parameter appears under each
        of its names, as in PyTorch."""
        named = self.named_parameters(remove_duplicate=False)
        return {name: np.array(p._data, copy=True) for name, p in named}

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into the parameters by name. Everything is checked first: on any missing or
        unexpected key (with ``strict``) or wrong shape, the error names them all and the module is
        left unchanged. Returns (missing keys, unexpected keys) as PyTorch does.

        The copy is an in-place write: it counts in each parameter's ``_version``, and a graph
        recorded before it refuses backward."""
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"load_state_dict into {type(self).__name__}: expected a dict of name -> array, "
                f"got {type(state_dict).__name__}"
            )
        params = dict(self.named_parameters(remove_duplicate=False))
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
        return missing, unexpected

    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def to(self, *args, dtype=None, device=None):
        """Cast every parameter (and gradient) to ``dtype`` in place and return self, as
        ``torch.nn.Module.to``: ``to(dtype)``, ``to("cpu")`` (the only device: a no-op) or
        ``to("cpu", dtype)``."""
        for arg in args:
            if isinstance(arg, str) or arg is None:
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

    # --- calling and printing ---------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self):
        """The text inside the parentheses of this module's repr line."""
        return ""

    def __repr__(self):
        # iterative, like every walk here: a 2,000-deep nest of modules must print
        lines, stack, open_ids = [], [(0, "", self, False)], set()
        while stack:
            depth, label, module, closing = stack.pop()
            pad, name = "  " * depth, type(module).__name__
            if closing:
                open_ids.discard(id(module))
                lines.append(pad + ")")
            elif id(module) in open_ids:  # a module inside itself would print forever
                lines.append(f"{pad}{label}{name}(...)")
            elif module is not self and type(module).__repr__ is not Module.__repr__:
                lines.append(pad + label + repr(module).replace("\n", "\n" + pad))
            elif not module._modules:
                lines.append(f"{pad}{label}{name}({module.extra_repr()})")
            else:
                lines.append(f"{pad}{label}{name}({module.extra_repr()}")
                open_ids.add(id(module))
                stack.append((depth, "", module, True))
                for child_name, child in reversed(module._modules.items()):
                    stack.append((depth + 1, f"({child_name}): ", child, False))
        return "\n".join(lines)
