"""Containers, as ``torch.nn``'s: ``Sequential`` (called in order), ``ModuleList`` and
``ModuleDict`` (held, not called). Children are registered under PyTorch's names ("0", "1", ...
or the dict's keys), so ``layers.0.weight`` in a torch ``state_dict`` loads unchanged.

>>> import tinygrad_seq as tg
>>> from tinygrad_seq import nn
>>> class Net(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.layers = nn.ModuleList([nn.Linear(2, 2, seed=i) for i in range(2)])
>>> [name for name, _ in Net().named_parameters()][:2]
['layers.0.weight', 'layers.0.bias']
"""

import operator
from collections.abc import Iterable, Mapping

from .module import Module

__all__ = ["ModuleDict", "ModuleList", "Sequential"]


def _index(container, idx):
    """``idx`` (an int, negative counting from the end) as an index into ``container``."""
    idx = operator.index(idx)
    if not -len(container) <= idx < len(container):
        raise IndexError(
            f"{type(container).__name__}: index {idx} is out of range for {len(container)} modules"
        )
    return idx + len(container) if idx < 0 else idx


def _renumber(container, modules):
    """Re-register ``modules`` under "0", "1", ... (after a deletion or an insertion)."""
    container._modules.clear()
    for i, module in enumerate(modules):
        container.add_module(str(i), module)


class Sequential(Module):
    """Modules applied one after the other, registered as "0", "1", ... (or under the keys of a
    dict / ``OrderedDict``), so parameter names match PyTorch's (``0.weight``). Indexing takes
    negative ints and slices (a slice is a Sequential keeping the names).

    >>> import tinygrad_seq as tg
    >>> seq = tg.nn.Sequential(tg.nn.Linear(2, 2, seed=0), tg.nn.ReLU())
    >>> len(seq), type(seq[-1]).__name__, list(seq[1:]._modules)
    (2, 'ReLU', ['1'])
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], Mapping):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return type(self)(dict(items[idx]))
        return items[_index(self, idx)][1]

    def __setitem__(self, idx, module):
        name = list(self._modules)[_index(self, idx)]
        self.add_module(name, module)

    def __delitem__(self, idx):
        names = list(self._modules)
        doomed = names[idx] if isinstance(idx, slice) else [names[_index(self, idx)]]
        kept = [m for name, m in self._modules.items() if name not in doomed]
        _renumber(self, kept)  # as PyTorch: the names become "0", "1", ... again

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(
                f"add operator supports only objects of Sequential class, "
                f"but {type(other).__name__} is given."
            )
        return Sequential(*self, *other)

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(
                f"add operator supports only objects of Sequential class, "
                f"but {type(other).__name__} is given."
            )
        return self.extend(other)

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, sequential):
        """Append every module of ``sequential`` (any iterable of modules); returns self."""
        for module in sequential:
            self.append(module)
        return self

    def insert(self, index, module):
        """Put ``module`` before position ``index`` (negative counts from the end); returns self."""
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        modules = list(self)
        modules.insert(index, module)
        _renumber(self, modules)
        return self

    def pop(self, key):
        """Remove and return the module at ``key``."""
        module = self[key]
        del self[key]
        return module

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


def _compressed_repr(container):
    """PyTorch's ModuleList repr: a run of equal children prints once, ``(0-2): 3 x Linear(..)``."""
    blocks = []  # [first index, last index, repr]
    for i, module in enumerate(container):
        text = repr(module)
        if blocks and blocks[-1][2] == text:
            blocks[-1][1] = i
        else:
            blocks.append([i, i, text])
    if not blocks:
        return f"{type(container).__name__}()"
    lines = []
    for first, last, text in blocks:
        label = f"({first}): " if first == last else f"({first}-{last}): {last - first + 1} x "
        lines.append("  " + (label + text).replace("\n", "\n  "))
    return f"{type(container).__name__}(\n" + "\n".join(lines) + "\n)"


class ModuleList(Module):
    """A list of modules, registered as "0", "1", ... (``layers.0.weight``). It holds, it does
    not call: write the loop in your ``forward``.

    >>> from tinygrad_seq import nn
    >>> layers = nn.ModuleList([nn.Tanh()])
    >>> _ = layers.append(nn.ReLU())
    >>> layers += [nn.Sigmoid()]
    >>> len(layers), type(layers[-1]).__name__, len(layers[1:])
    (3, 'Sigmoid', 2)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self)[idx])
        return self._modules[str(_index(self, idx))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(self, idx)), module)

    def __delitem__(self, idx):
        modules = list(self)
        if isinstance(idx, slice):
            del modules[idx]
        else:
            del modules[_index(self, idx)]
        _renumber(self, modules)  # as PyTorch: the names stay "0", "1", ...

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList([*self, *other])

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append every module of the iterable ``modules``; returns self."""
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleList.extend should be called with an iterable, "
                f"but got {type(modules).__name__}"
            )
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Put ``module`` before position ``index``, as ``list.insert``."""
        modules = list(self)
        modules.insert(index, module)
        _renumber(self, modules)

    def pop(self, key):
        """Remove and return the module at ``key`` (an int or a slice)."""
        module = self[key]
        del self[key]
        return module

    def __repr__(self):
        return _compressed_repr(self)


class ModuleDict(Module):
    """A dict of modules, registered under their keys (``heads.cls.weight``); insertion ordered.
    It holds, it does not call.

    >>> from tinygrad_seq import nn
    >>> heads = nn.ModuleDict({"cls": nn.Linear(4, 2, seed=0)})
    >>> heads["act"] = nn.ReLU()
    >>> list(heads.keys()), "cls" in heads, len(heads)
    (['cls', 'act'], True, 2)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        """Remove every module."""
        self._modules.clear()

    def pop(self, key):
        """Remove the module under ``key`` and return it."""
        module = self[key]
        del self[key]
        return module

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        """Add (or replace) modules from a mapping, or from an iterable of (key, module) pairs."""
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleDict.update should be called with an iterable of key/value pairs, "
                f"but got {type(modules).__name__}"
            )
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        for j, pair in enumerate(modules):
            if not isinstance(pair, Iterable):
                raise TypeError(
                    f"ModuleDict update sequence element #{j} should be Iterable; "
                    f"is {type(pair).__name__}"
                )
            if len(pair) != 2:
                raise ValueError(
                    f"ModuleDict update sequence element #{j} has length {len(pair)}; 2 is required"
                )
            self[pair[0]] = pair[1]
