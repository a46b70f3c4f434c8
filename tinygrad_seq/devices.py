"""Devices as PyTorch names them, for a library that runs on the CPU only: ``tg.device``,
``tg.cuda`` and ``tg.backends``, so that a script's device lines run unchanged.

``device = tg.device("cuda" if tg.cuda.is_available() else "cpu")`` picks the CPU; using CUDA
(``.to("cuda")``, ``.cuda()``, ``device="cuda"``) raises one clear error (``check``).

>>> import tinygrad_seq as tg
>>> device = tg.device("cuda" if tg.cuda.is_available() else "cpu")
>>> device, tg.zeros(2, device=device).device == device
(device(type='cpu'), True)
"""

import re

import numpy as np

__all__ = ["backends", "check", "cuda", "device"]

# the device types torch knows (a string naming another is an error, as in torch)
_TYPES = [
    "cpu",
    "cuda",
    "ipu",
    "xpu",
    "mkldnn",
    "opengl",
    "opencl",
    "ideep",
    "hip",
    "ve",
    "fpga",
    "maia",
    "xla",
    "lazy",
    "vulkan",
    "mps",
    "meta",
    "hpu",
    "mtia",
    "privateuseone",
]


class device:  # noqa: N801 -- torch.device
    """A device, as ``torch.device``: ``device("cpu")``, ``device("cuda:1")``,
    ``device("cuda", 1)``; ``.type`` and ``.index`` (None unless given). Any device torch names
    can be constructed; only the CPU can hold tensors here.

    >>> import tinygrad_seq as tg
    >>> d = tg.device("cpu:0")
    >>> d, str(d), d.type, d.index, d == tg.device("cpu"), tg.device("cpu") == tg.device("cpu")
    (device(type='cpu', index=0), 'cpu:0', 'cpu', 0, False, True)
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 -- torch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string like 'cpu', got {type!r}")
        match = re.fullmatch(r"([a-z_]+)(?::(\d+))?", type)
        if match is None:
            raise RuntimeError(f"Invalid device string: {type!r}")
        kind, number = match.groups()
        if kind not in _TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_TYPES)} device type at start of device string: {type}"
            )
        if number is not None and index is not None:
            raise RuntimeError(
                f"type (string) must not include an index because index was passed "
                f"explicitly: {type}"
            )
        index = int(number) if number is not None else index
        if index is not None and (isinstance(index, bool) or int(index) < 0):
            raise RuntimeError(f"Device index must not be negative, got {index!r}")
        self.type, self.index = kind, None if index is None else int(index)

    def __eq__(self, other):
        if not isinstance(other, device):
            return NotImplemented  # device("cpu") == "cpu" is False, as in torch
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"


CPU = device("cpu")


def check(where):
    """Accept the CPU (``"cpu"``, ``"cpu:0"``, ``tg.device("cpu")``) or None; refuse any other
    device with the one error that says what to write instead. Every ``device=`` goes here.

    >>> check("cpu"), check(None)
    (None, None)
    >>> check("cuda")
    Traceback (most recent call last):
    RuntimeError: device 'cuda' is not available: tinygrad_seq runs on the CPU only ...
    """
    if where is None:
        return
    if isinstance(where, int) and not isinstance(where, bool):
        where = device("cuda", where)  # torch reads a bare int as an accelerator's index
    if not isinstance(where, (str, device)):
        where = str(where)  # another library's device object (torch.device) reads as its str
    name = where if isinstance(where, device) else device(where)
    if name.type != "cpu":
        raise RuntimeError(
            f"device {str(name)!r} is not available: tinygrad_seq runs on the CPU only "
            "(tg.cuda.is_available() is False). Write "
            '`device = torch.device("cuda" if torch.cuda.is_available() else "cpu")` and move '
            "tensors and models with .to(device); or use 'cpu'"
        )


def is_device(arg):
    """Whether a positional argument of ``to(...)`` names a device (else a dtype or a tensor):
    None, a string, a ``tg.device``, or another library's device object (``torch.device``),
    recognised by not being a dtype."""
    if arg is None or isinstance(arg, (str, device)):
        return True
    try:
        np.dtype(arg)
    except TypeError:
        return not hasattr(arg, "shape")  # a tensor is neither
    return False


class _Cuda:
    """``tg.cuda``: no GPU here. ``is_available()`` is False and ``device_count()`` 0, and the
    seeding and cache calls scripts make do nothing.

    >>> import tinygrad_seq as tg
    >>> tg.cuda.is_available(), tg.cuda.device_count(), tg.cuda.manual_seed_all(0)
    (False, 0, None)
    """

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def device_count():
        return 0

    @staticmethod
    def manual_seed(seed):
        """Nothing to seed (as torch without a GPU): use ``tg.manual_seed``."""

    @staticmethod
    def manual_seed_all(seed):
        """Nothing to seed (as torch without a GPU): use ``tg.manual_seed``."""

    @staticmethod
    def empty_cache():
        """No GPU memory to free."""

    @staticmethod
    def synchronize(device=None):
        """Nothing runs asynchronously here."""


class _Unavailable:
    """A backend that is absent here: ``is_available()`` and ``is_built()`` are False."""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def is_built():
        return False


class _Cudnn(_Unavailable):
    """``tg.backends.cudnn``: the flags scripts set (``deterministic``, ``benchmark``,
    ``enabled``) are kept and change nothing (the CPU path is deterministic)."""

    deterministic = False
    benchmark = False
    enabled = True


class _Backends:
    """``tg.backends``: ``mps`` and ``cudnn`` are not available here.

    >>> import tinygrad_seq as tg
    >>> tg.backends.mps.is_available(), tg.backends.cudnn.is_available()
    (False, False)
    >>> tg.backends.cudnn.deterministic = True  # accepted, as scripts write it
    """

    mps = _Unavailable()
    cudnn = _Cudnn()


cuda = _Cuda()
backends = _Backends()
