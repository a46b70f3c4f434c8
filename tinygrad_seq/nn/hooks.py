"""Hook handles, as ``torch.utils.hooks``: registering a forward hook on a Module returns a
``RemovableHandle`` whose ``remove()`` takes the hook off again.

>>> import tinygrad_seq as tg
>>> layer = tg.nn.ReLU()
>>> with layer.register_forward_hook(lambda m, args, out: out * 2):
...     doubled = layer(tg.ones(1)).tolist()
>>> doubled, layer(tg.ones(1)).tolist()
([2.0], [1.0])
"""

import itertools

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """What registering a hook returns: ``remove()`` takes the hook off (also as a context
    manager's exit), as ``torch.utils.hooks.RemovableHandle``.

    >>> import tinygrad_seq as tg
    >>> layer = tg.nn.Tanh()
    >>> handle = layer.register_forward_hook(print)
    >>> handle.remove(); layer(tg.zeros(1)).tolist()
    [0.0]
    """

    _ids = itertools.count()  # next() is atomic: handles made in threads get distinct ids

    def __init__(self, hooks):
        self._hooks, self.id = hooks, next(RemovableHandle._ids)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _add_hook(module, kind, entry, prepend):
    """Store ``entry`` in ``module``'s hook dict ``kind`` (first if ``prepend``); its handle."""
    if kind not in module.__dict__:
        object.__setattr__(module, kind, {})
    hooks = module.__dict__[kind]
    handle = RemovableHandle(hooks)
    hooks[handle.id] = entry
    if prepend:  # first in the calling order: rebuild the dict with it in front
        others = [(k, v) for k, v in hooks.items() if k != handle.id]
        hooks.clear()
        hooks.update([(handle.id, entry), *others])
    return handle
