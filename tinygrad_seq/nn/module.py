"""Module and Parameter: named trees of parameters, as ``torch.nn.Module``.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it; ``named_parameters`` then
gives PyTorch's dotted names (``rnn.weight_ih_l0``), which are also set as each parameter's
``name`` so the graph viewer can label it. All walks over the tree are iterative.
"""

import functools

import numpy as np

from .._tensor import Tensor
from .hooks import _add_hook
from .module_state import IncompatibleKeys, ModuleState  # noqa: F401 (IncompatibleKeys: here too)


def _typename(obj):
    """What PyTorch names ``obj`` in its errors: ``int``, or ``module.Qualified.name``."""
    module = getattr(obj, "__module__", None)
    prefix = f"{module}." if module not in (None, "builtins") else ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return prefix + name if name else type(obj).__name__


def _buffer_value(value, name):
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):  # arrays are accepted wherever a tensor is
        return Tensor(value)
    raise TypeError(
        f"cannot assign '{_typename(value)}' as buffer '{name}' (Tensor or None expected)"
    )


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


class Module(ModuleState):
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
        object.__setattr__(self, "_buffers", {})  # state that is not trained: running means, masks
        object.__setattr__(self, "_non_persistent_buffers_set", set())  # left out of state_dict
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
        # a replaced parameter, buffer or module keeps its place in the order, as in PyTorch
        buffers = self.__dict__.get("_buffers", {})  # absent in a module unpickled from before
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            self._forget_buffer(name)
            self._parameters[name] = value
            value.name = name
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._forget_buffer(name)
            self._modules[name] = value
            for sub_name, p in value.named_parameters(prefix=name):
                p.name = sub_name
        elif name in buffers:  # assigning to a buffer replaces it, as in PyTorch
            buffers[name] = _buffer_value(value, name)
            return
        else:
            # as PyTorch: only None may replace a parameter or a child module (it unregisters
            # it); anything else would silently take a parameter out of training
            for registry, kind, expected in (
                (self._parameters, "parameter", "nn.Parameter"),
                (self._modules, "child module", "nn.Module"),
            ):
                if name in registry:
                    if value is not None:
                        raise TypeError(
                            f"cannot assign '{_typename(value)}' as {kind} '{name}' "
                            f"({expected} or None expected)"
                        )
                    del registry[name]
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):  # only called when normal lookup fails
        d = self.__dict__
        if name in d.get("_parameters", {}):
            return d["_parameters"][name]
        if name in d.get("_buffers", {}):
            return d["_buffers"][name]
        if name in d.get("_modules", {}):
            return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            self._forget_buffer(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter or None) under ``name``, with PyTorch's checks.

        >>> import numpy as np
        >>> from tinygrad_seq import nn
        >>> block = nn.Module()
        >>> block.register_parameter("scale", nn.Parameter(np.ones(2)))
        >>> [name for name, _ in block.named_parameters()]
        ['scale']
        """
        if not isinstance(name, str):
            raise TypeError(f"parameter name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError('parameter name can\'t contain "."')
        if name == "":
            raise KeyError('parameter name can\'t be empty string ""')
        taken = name not in self._parameters and hasattr(self, name)
        if taken and not (name in self.__dict__ and self.__dict__[name] is None):  # None: a
            raise KeyError(f"attribute '{name}' already exists")  # parameter registered as None
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(nn.Parameter or None required)"
            )
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Register ``tensor`` (a Tensor, an array, or None) as a buffer: state that is no
        parameter (an optimizer leaves it alone) but is cast by ``to`` and, if ``persistent``,
        saved in ``state_dict``, as PyTorch's (a positional-encoding table, a causal mask).

        >>> import numpy as np, tinygrad_seq as tg
        >>> from tinygrad_seq import nn
        >>> block = nn.Module()
        >>> block.register_buffer("pe", tg.zeros(4, 2))
        >>> block.pe.shape, list(block.state_dict()), list(block.parameters())
        ((4, 2), ['pe'], [])
        """
        if not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'buffer name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('buffer name can\'t be empty string ""')
        if name not in self._buffers and hasattr(self, name):
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, (Tensor, np.ndarray)):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(Tensor or None required)"
            )
        self._buffers[name] = _buffer_value(tensor, name)
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def _forget_buffer(self, name):
        self.__dict__.get("_buffers", {}).pop(name, None)
        self.__dict__.get("_non_persistent_buffers_set", set()).discard(name)

    def add_module(self, name, module):
        """Register ``module`` as a child under ``name`` (what assigning an attribute does), with
        PyTorch's checks of the name and the module.

        >>> from tinygrad_seq import nn
        >>> block = nn.Module()
        >>> block.add_module("act", nn.Tanh())
        >>> block.act
        Tanh()
        """
        if not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        if name not in self._modules and hasattr(self, name):
            raise KeyError(f"attribute '{name}' already exists")
        setattr(self, name, module)

    register_module = add_module

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

    def get_submodule(self, target):
        """The submodule at the dotted path ``target`` ("" is self), as PyTorch.

        >>> from tinygrad_seq import nn
        >>> model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Sequential(nn.Tanh()))
        >>> model.get_submodule("1.0")
        Tanh()
        """
        module = self
        for item in target.split(".") if target else []:
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def get_parameter(self, target):
        """The parameter at the dotted path ``target`` (``"0.weight"``), as PyTorch.

        >>> from tinygrad_seq import nn
        >>> nn.Sequential(nn.Linear(2, 3, seed=0)).get_parameter("0.weight").shape
        (3, 2)
        """
        module, name = self._owner_of(target)
        if name not in module._parameters:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return module._parameters[name]

    def get_buffer(self, target):
        """The buffer at the dotted path ``target``, as PyTorch (see ``register_buffer``)."""
        module, name = self._owner_of(target)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return module._buffers[name]

    def _owner_of(self, target):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        return module, name

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

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, buffer) pairs, as ``named_parameters`` (None buffers are skipped).

        >>> import tinygrad_seq as tg
        >>> from tinygrad_seq import nn
        >>> outer = nn.Sequential(nn.Module())
        >>> outer[0].register_buffer("mask", tg.ones(2))
        >>> [name for name, _ in outer.named_buffers()]
        ['0.mask']
        """
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, b in module._buffers.items():
                if b is not None and (not remove_duplicate or id(b) not in seen):
                    seen.add(id(b))
                    yield (f"{module_name}.{name}" if module_name else name), b

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def apply(self, fn):
        """Call ``fn`` on every submodule, then on self (children first, as PyTorch); returns
        self. The usual way to initialise a model's layers by type.

        >>> from tinygrad_seq import nn
        >>> model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Tanh())
        >>> _ = model.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
        >>> model[0].bias.tolist()
        [0.0, 0.0]
        """
        stack = [(self, False)]  # iterative post-order: each module after all its children
        while stack:
            module, children_done = stack.pop()
            if children_done:
                fn(module)
            else:
                stack.append((module, True))
                stack.extend((child, False) for child in reversed(module._modules.values()))
        return self

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on every parameter (e.g. False to freeze a layer); returns self.

        >>> from tinygrad_seq import nn
        >>> layer = nn.Linear(2, 2, seed=0).requires_grad_(False)
        >>> [p.requires_grad for p in layer.parameters()]
        [False, False]
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget the parameters' gradients: set them to None (PyTorch's default), or with
        ``set_to_none=False`` fill them with zeros in place.

        >>> import numpy as np
        >>> from tinygrad_seq import nn
        >>> layer = nn.Linear(2, 1, seed=0)
        >>> layer(np.ones((1, 2), dtype=np.float32)).sum().backward()
        >>> layer.zero_grad(set_to_none=False); layer.weight.grad.tolist()
        [[0.0, 0.0]]
        >>> layer.zero_grad(); layer.weight.grad is None
        True
        """
        for p in self.parameters():
            grad = p.grad
            if set_to_none or grad is None:
                p.grad = None
            elif grad.requires_grad:  # recorded (create_graph=True): detached, as PyTorch does
                p.grad = np.zeros_like(grad._data)
            else:
                grad.zero_()  # in place: a reference held to the gradient sees the zeros

    # --- calling and printing ---------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        pre_hooks = self.__dict__.get("_forward_pre_hooks", {})
        hooks = self.__dict__.get("_forward_hooks", {})
        if not pre_hooks and not hooks:  # the usual case: one dict lookup each
            return self.forward(*args, **kwargs)
        for hook, with_kwargs in list(pre_hooks.values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(hooks.values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            output = output if result is None else result
        return output

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before each ``forward`` (``hook(module, args, kwargs)``
        with ``with_kwargs``); what it returns, if not None, replaces the arguments. Returns a
        handle whose ``remove()`` takes the hook off, as PyTorch.

        >>> import tinygrad_seq as tg
        >>> layer = tg.nn.Tanh()
        >>> handle = layer.register_forward_pre_hook(lambda module, args: (args[0] * 0,))
        >>> layer(tg.ones(2)).tolist()
        [0.0, 0.0]
        >>> handle.remove(); layer(tg.zeros(1)).tolist()
        [0.0]
        """
        return _add_hook(self, "_forward_pre_hooks", (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call ``hook(module, args, output)`` after each ``forward`` (``hook(module, args,
        kwargs, output)`` with ``with_kwargs``); a non-None result replaces the output. Returns a
        removable handle. The usual way to read a hidden layer's activations.

        >>> import tinygrad_seq as tg
        >>> model = tg.nn.Sequential(tg.nn.Linear(2, 3, seed=0), tg.nn.ReLU())
        >>> seen = {}
        >>> handle = model[0].register_forward_hook(lambda m, args, out: seen.update(fc=out.shape))
        >>> _ = model(tg.ones(4, 2)); handle.remove()
        >>> seen
        {'fc': (4, 3)}
        """
        return _add_hook(self, "_forward_hooks", (hook, with_kwargs), prepend)

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
