"""``ParameterList`` and ``ParameterDict``, as ``torch.nn``'s: parameters held in a list or a dict,
registered under "0", "1", ... or their keys (``slopes.0``), so a torch ``state_dict`` loads.
Tensors and arrays put in are wrapped as Parameters, as PyTorch wraps tensors.

>>> import numpy as np
>>> from tinygrad_seq import nn
>>> scales = nn.ParameterList([np.ones(2), np.zeros(3)])
>>> [(name, p.shape) for name, p in scales.named_parameters()]
[('0', (2,)), ('1', (3,))]
"""

from collections.abc import Iterable, Mapping

import numpy as np

from .._tensor import Tensor
from .container import _index
from .module import Module, Parameter

__all__ = ["ParameterDict", "ParameterList"]


def _as_parameter(value):
    if isinstance(value, Parameter) or not isinstance(value, (Tensor, np.ndarray)):
        return value  # PyTorch keeps any other object too, as a plain attribute
    return Parameter(value._data if isinstance(value, Tensor) else value)


def _describe(value):
    if isinstance(value, Tensor):
        size = "x".join(str(n) for n in value.shape)
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        return f"{kind} containing: [{value.dtype} of size {size}]"
    return f"Object of type: {type(value).__name__}"


def _listing(container, items):
    if not items:
        return f"{type(container).__name__}()"
    lines = [f"  ({key}): {_describe(value)}" for key, value in items]
    return f"{type(container).__name__}(\n" + "\n".join(lines) + "\n)"


class ParameterList(Module):
    """A list of parameters: indexing (negative, slices), ``append``, ``extend``, ``+=``.

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> weights = nn.ParameterList()
    >>> weights.append(np.ones((2, 3)))
    ParameterList(
      (0): Parameter containing: [float64 of size 2x3]
    )
    >>> len(weights), weights[-1].requires_grad
    (1, True)
    """

    def __init__(self, values=None):
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def __len__(self):
        return self._size

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)([self[i] for i in range(len(self))[idx]])
        return getattr(self, str(_index(self, idx)))

    def __setitem__(self, idx, value):
        setattr(self, str(_index(self, idx)), _as_parameter(value))

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        """Add ``value`` at the end (a Tensor or an array becomes a Parameter); returns self."""
        object.__setattr__(self, "_size", self._size + 1)
        self[self._size - 1] = value
        return self

    def extend(self, values):
        """Append every value of the iterable ``values``; returns self."""
        if not isinstance(values, Iterable) or isinstance(values, (Tensor, np.ndarray)):
            raise TypeError(
                "ParameterList.extend should be called with an iterable, "
                f"but got {type(values).__name__}"
            )
        for value in values:
            self.append(value)
        return self

    def __repr__(self):
        return _listing(self, list(enumerate(self)))


class ParameterDict(Module):
    """A dict of parameters under string keys, insertion ordered, with the dict methods.

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> params = nn.ParameterDict({"scale": np.ones(2)})
    >>> params["shift"] = np.zeros(2)
    >>> list(params), "scale" in params, params.get("missing") is None
    (['scale', 'shift'], True, True)
    """

    def __init__(self, parameters=None):
        super().__init__()
        object.__setattr__(self, "_keys", {})  # insertion order, for keys of plain objects too
        if parameters is not None:
            self.update(parameters)

    def _check_key(self, key):
        if not isinstance(key, str):
            raise TypeError(
                "Index given to ParameterDict cannot be used as a key as it is not a string "
                f"(type is '{type(key).__name__}')"
            )

    def __getitem__(self, key):
        self._check_key(key)
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        self._check_key(key)
        if key not in self._keys and hasattr(self, key):  # "keys", "update": as PyTorch
            raise KeyError(f"attribute '{key}' already exists")
        self._keys[key] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def keys(self):
        return self._keys.keys()

    def values(self):
        return [self[k] for k in self._keys]

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def get(self, key, default=None):
        """``self[key]`` if present, else ``default``."""
        return self.__getitem__(key) if key in self._keys else default

    def setdefault(self, key, default=None):
        """``self[key]``, first set to ``default`` if absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key):
        """Remove the parameter under ``key`` and return it."""
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        """Remove and return the last (key, parameter) pair."""
        key = next(reversed(self._keys))
        return key, self.pop(key)

    def clear(self):
        """Remove every parameter."""
        for key in list(self._keys):
            del self[key]

    def update(self, parameters):
        """Add (or replace) parameters from a mapping or an iterable of (key, value) pairs."""
        if not isinstance(parameters, Iterable):
            raise TypeError(
                "ParametersDict.update should be called with an iterable of key/value pairs, "
                f"but got {type(parameters).__name__}"
            )
        if isinstance(parameters, (Mapping, ParameterDict)):
            pairs = list(parameters.items())
        else:
            pairs = []
            for j, pair in enumerate(parameters):
                if not isinstance(pair, Iterable) or len(pair) != 2:
                    raise ValueError(
                        f"ParameterDict update sequence element #{j} should be a (key, value) "
                        f"pair, got {pair!r}"
                    )
                pairs.append(tuple(pair))
        for key, value in pairs:
            self[key] = value

    def __repr__(self):
        return _listing(self, self.items())
