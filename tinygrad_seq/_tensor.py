"""Tensor: a NumPy array that records the primitives applied to it, and the user-facing API.

Every differentiable method is one line that calls ``apply`` with a primitive from ``ops``; the rest
(mean, softmax, split, ...) are compositions of those. Reading order: ``apply``, then the methods.
"""

import collections
import functools
import numbers

import numpy as np

from . import ops
from ._anomaly import check_forward
from .devices import CPU, is_device
from .devices import check as _check_device  # the one check of every device= (nn imports it)
from .engine import Node, Version, backward, note_write
from .modes import STATE

DEFAULT_FLOAT = np.dtype(np.float32)  # Python floats and lists become float32, as in PyTorch


def _to_array(data, dtype):
    """The ndarray behind ``Tensor(data)``: ndarrays keep their dtype, Python floats -> float32."""
    if isinstance(data, Tensor):
        array = data._data
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        try:
            array = np.asarray(data)
        except (ValueError, TypeError) as e:
            raise TypeError(f"Tensor: cannot make an array of {type(data).__name__}: {e}") from None
        if array.dtype == np.float64:
            array = array.astype(DEFAULT_FLOAT)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"Tensor: data must be numeric (bool, int or float), got dtype {array.dtype} "
            f"from {type(data).__name__}"
        )
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


def _sizes_form(first, requires_grad, dtype, more):
    """``Tensor(2, 3)`` as torch reads it: sizes (in the places of requires_grad and dtype too),
    giving zeros of that shape in float32 (torch leaves them uninitialised)."""
    sizes = [first]
    if type(requires_grad) is int:
        sizes.append(requires_grad)
        requires_grad = False
        if type(dtype) is int:
            sizes.append(dtype)
            dtype = None
            sizes += list(more)
    if more and len(sizes) < 3 or any(type(n) is not int for n in sizes):
        raise TypeError(f"Tensor(): sizes must be ints, got {(first, *more)}")
    if min(sizes) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: {sizes}")
    return np.zeros(sizes, DEFAULT_FLOAT), requires_grad, dtype


def _check_can_require_grad(array):
    if array.dtype.kind != "f":
        raise TypeError(
            f"only floating-point tensors can require gradients, got dtype {array.dtype} "
            "(integer tensors are indices: cast with .float() first if you mean values)"
        )


def _axis(axis, dim, default=None):
    """Accept NumPy's ``axis`` or PyTorch's ``dim`` (not both); ``default`` if neither."""
    if dim is None:
        return default if axis is None else axis
    if axis is not None and axis != dim:
        raise TypeError(f"got both axis={axis!r} and dim={dim!r}; pass one of them")
    return dim


def _wrap_axis(op, axis, ndim, shape):
    """``axis`` in 0..ndim-1, or an IndexError naming the op (a 0-d tensor takes -1 and 0)."""
    n = max(ndim, 1)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not -n <= axis < n:
        raise IndexError(
            f"{op}: axis {axis!r} is out of range for a tensor of shape {shape} "
            f"(expected {-n} <= axis < {n})"
        )
    return int(axis) % n


def _shape_args(shape):
    """reshape(2, 3) and reshape((2, 3)) both mean the shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    >>> import numpy as np, tinygrad_seq as tg
    >>> x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    Tensor([2., 4.], dtype=float64)

    The array is shared, not copied (like ``torch.from_numpy``). Python floats and lists become
    float32, as ``torch.Tensor([0, 1])`` does (``tg.tensor`` keeps ints as int64); NumPy arrays
    keep their dtype; integer tensors hold indices and take no gradient. Python ints are sizes,
    as in torch: ``Tensor(2, 3)`` is a float32 tensor of shape (2, 3) (zeros; torch leaves them
    uninitialised), and ``nn.Parameter(tg.Tensor(4))`` a vector.

    In-place writes (``w -= lr * w.grad`` under ``no_grad``, ``zero_()``, ``add_()``, optimizer
    steps, ``nn.init``, ``load_state_dict``) count in ``_version``, and backward refuses a value
    changed after the forward pass read it, as PyTorch does. Writes through ``.data`` or the
    NumPy array are not counted (nor checked), as in PyTorch; unlike PyTorch, nor are writes
    through a ``detach()``-ed alias, which shares the array but not the counter.
    """

    __slots__ = ("_data", "_rg", "_node", "_grad", "_name", "_vc", "__weakref__")
    _kind = "tensor"  # how error messages call it ("parameter" for nn.Parameter)

    def __init__(self, data, requires_grad=False, dtype=None, *more_sizes):
        if type(data) is int:  # torch.Tensor(2, 3): a float32 tensor of that size (zeros here)
            data, requires_grad, dtype = _sizes_form(data, requires_grad, dtype, more_sizes)
        self._data = _to_array(data, dtype)
        if dtype is None and type(data) in (list, tuple) and self._data.dtype.kind in "biu":
            self._data = self._data.astype(DEFAULT_FLOAT)  # torch.Tensor([0, 1]) is float32
        if requires_grad:
            _check_can_require_grad(self._data)
        self._rg = bool(requires_grad)
        self._node = None
        self._grad = None
        self._name = None
        # made now, not at the first write: a node that saves a tensor with no node of its own (a
        # frozen parameter) keeps this to check. An op's result gets one at its first write.
        self._vc = Version()

    @classmethod
    def _from_op(cls, array, node):
        t = object.__new__(cls)
        t._data, t._node, t._rg, t._grad = array, node, node is not None, None
        t._name = t._vc = None  # _vc: made at the first in-place write, if one ever comes
        return t

    # --- versions of in-place writes ------------------------------------------------------------

    @property
    def _version(self):
        """How many times the library wrote this tensor in place (as ``torch.Tensor._version``)."""
        return 0 if self._vc is None else self._vc.count

    def _bump_version(self):
        """Count an in-place write the library just made into this tensor's array: graph nodes
        that saved the old values refuse backward from now on.

        >>> import numpy as np, tinygrad_seq as tg
        >>> w = tg.nn.Parameter(np.array([1.0, 2.0]))
        >>> loss = (w * w).sum()
        >>> w.numpy()[...] = 0; w._bump_version()  # what an optimizer step does
        >>> loss.backward()
        Traceback (most recent call last):
        RuntimeError: one of the tensors ... 'mul' saved input 0, parameter shape (2,) float64, ...
        """
        version, node = self._vc, self._node
        if version is None:
            version = self._vc = Version()
        version.count += 1
        version.about = (self._kind, self._name, self._data.shape, self._data.dtype)  # for errors
        note_write(node, version, version.count - 1)
        if node is not None and node.prim is None:
            self._node = None  # the next forward gets a fresh leaf node, of the new version

    # --- state ------------------------------------------------------------------------------------

    @property
    def data(self):
        """A Tensor sharing this tensor's array, outside the graph (no gradient, no node), as
        ``torch.Tensor.data``: writes through it change this tensor but are not versioned, so a
        manual SGD step ``p.data.add_(p.grad, alpha=-lr)`` needs no ``no_grad``. Assigning a
        Tensor or an array (``p.data = x``) replaces the array. ``.numpy()`` is the ndarray.

        >>> import tinygrad_seq as tg
        >>> p = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> (p * p).sum().backward()
        >>> _ = p.data.add_(p.grad, alpha=-0.25)
        >>> p, p.data.requires_grad
        (Tensor([0.5, 1. ], requires_grad=True), False)
        """
        return Tensor._from_op(self._data, None)

    @data.setter
    def data(self, value):
        array = value._data if isinstance(value, Tensor) else np.asarray(value)
        if array is self._data:  # ``p.data -= x``: written in place already, then assigned back
            return
        self._data = array
        if self._node is not None and self._node.prim is None:
            self._node = None  # a leaf's node describes the old array; make a new one lazily

    @property
    def grad(self):
        """The gradient that backward accumulated here, a Tensor (None before any backward), as
        in PyTorch: ``x.grad.zero_()``, ``x.grad.numpy()``. Assigning an ndarray wraps it (shared).

        >>> import numpy as np, tinygrad_seq as tg
        >>> x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        Tensor([2., 4.], dtype=float64)
        >>> x.grad.numpy()
        array([2., 4.])
        """
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = _as_grad(value, self)

    @property
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        if value:
            _check_can_require_grad(self._data)
        elif self._node is not None and self._node.prim is not None:
            raise RuntimeError("requires_grad can only be switched off on leaves; use detach()")
        self._rg = bool(value)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return self, as in PyTorch."""
        self.requires_grad = requires_grad
        return self

    @property
    def node(self):
        """The graph node behind this tensor (None if it needs no gradient)."""
        if self._node is None and self._rg:
            self._node = Node(None, (), None, None, self._data, self._data, leaf=self)
            self._node.name = self._name
        return self._node

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded op (their ``.grad`` is kept)."""
        return self._node is None or self._node.prim is None

    @property
    def grad_fn(self):
        """Name of the primitive that produced this tensor, None for leaves."""
        return None if self.is_leaf else self._node.op

    @property
    def name(self):
        """A label shown by the graph viewer (gate names, parameter names)."""
        return self._name

    @name.setter
    def name(self, value):
        self._name = value
        if self._node is not None:
            self._node.name = value

    def named(self, name):
        """Set ``name`` and return self: ``forget = u.sigmoid().named("forget gate")``."""
        self.name = name
        return self

    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    dtype = property(lambda self: self._data.dtype)

    def size(self, dim=None):
        """The shape, or the length of axis ``dim``, as ``torch.Tensor.size`` (a method: NumPy's
        ``.size`` count of elements is ``numel()``).

        >>> import tinygrad_seq as tg
        >>> x = tg.zeros(2, 3); x.size(), x.size(-1), x.numel(), x.dim()
        ((2, 3), 3, 6, 2)
        """
        shape = self._data.shape
        if dim is None:
            return shape
        return shape[_wrap_axis("size", dim, len(shape), shape)]

    def dim(self):
        """The number of axes (``ndim``)."""
        return self._data.ndim

    def numel(self):
        """The number of elements."""
        return self._data.size

    def _one_number(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    def __float__(self):
        return float(self._one_number())

    def __int__(self):
        return int(self._one_number())

    def __bool__(self):
        # as torch: `if loss > 0:` works on one element, and more is ambiguous (not "non-empty")
        n = self._data.size
        if n != 1:
            what = "no values" if n == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        return bool(self._data.reshape(()).item())

    def numpy(self):
        """The underlying array (shared, not copied)."""
        return self._data

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item(): needs a tensor of one element, got shape {self.shape}")
        return self._data.item()

    def tolist(self):
        """The data as nested Python lists."""
        return self._data.tolist()

    def detach(self):
        """The same data, cut from the graph (how truncated BPTT stops gradients)."""
        return Tensor(self._data)

    def clone(self):
        """A copy of the data that stays in the graph (gradients flow back to self), as
        ``torch.clone``.

        >>> import tinygrad_seq as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> y = x.clone(); y.numpy() is x.numpy(), y.requires_grad
        (False, True)
        """
        if self._rg and STATE.grad_enabled:
            return self * 1  # a copy recorded as an op: x * 1 keeps -0.0, NaN and inf
        return Tensor(self._data.copy())

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward, as in PyTorch."""
        if self._node is not None:
            self._node.leaf = self

    def backward(self, grad=None, retain_graph=None, create_graph=False, keep_grads=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is needed unless self has one element. ``retain_graph`` keeps the saved arrays for
        a second backward (default: ``create_graph``); ``keep_grads`` keeps every node's gradient
        for the graph viewer. ``create_graph=True`` records the backward itself: ``.grad`` is then
        a Tensor with a graph, to differentiate again (see ``tg.autograd.grad``).
        """
        grad = seed_gradient(self, grad, create_graph)
        retain = create_graph if retain_graph is None else retain_graph
        backward(self.node, grad, retain, keep_grads, create_graph)

    # --- NumPy functions on Tensors: a VJP written for arrays records when run on Tensors -------

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.exp(t)``, ``ndarray * t``: the primitive (recorded); a comparison: a mask."""
        prim = _UFUNCS.get(ufunc)
        if prim is not None and method == "__call__" and not kwargs:  # the common case, inline
            return apply(prim, *inputs)
        return _array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """``np.where``, ``np.sum``, ``np.swapaxes``, ...: recorded in a recorded backward (see
        ``_RECORDED``); elsewhere NumPy sees the arrays, as without the protocol."""
        return _array_function(func, args, kwargs)

    def _bind(self, prim, *args, **params):
        """How ``Primitive.bind`` records on a Tensor (ops knows no Tensor)."""
        return apply(prim, *args, **params)

    def __repr__(self):
        body = np.array2string(self._data, precision=4, separator=", ", prefix="Tensor(")
        extra = f", dtype={self.dtype}" if self.dtype != DEFAULT_FLOAT else ""
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn}"
        elif self._rg:
            extra += ", requires_grad=True"
        if self._name:
            extra += f", name={self._name!r}"
        return f"Tensor({body}{extra})"

    def __format__(self, spec):
        # f"{loss:.4f}" formats the number of a 0-d tensor, as in PyTorch
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return object.__format__(self, spec)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # --- arithmetic (Python scalars on either side) ----------------------------------------------

    def __add__(self, other):
        return apply(ops.add, self, other)

    def __radd__(self, other):
        return apply(ops.add, other, self)

    def __sub__(self, other):
        return apply(ops.sub, self, other)

    def __rsub__(self, other):
        return apply(ops.sub, other, self)

    def __mul__(self, other):
        return apply(ops.mul, self, other)

    def __rmul__(self, other):
        return apply(ops.mul, other, self)

    def __truediv__(self, other):
        return apply(ops.div, self, other)

    def __rtruediv__(self, other):
        return apply(ops.div, other, self)

    def __matmul__(self, other):
        return apply(ops.matmul, self, other)

    def __rmatmul__(self, other):
        return apply(ops.matmul, other, self)

    def __neg__(self):
        return apply(ops.neg, self)

    def __pow__(self, exponent):
        if not isinstance(exponent, (numbers.Real, Tensor, np.ndarray)):
            return NotImplemented
        return apply(ops.power, self, exponent)

    def __rpow__(self, base):
        if not isinstance(base, (numbers.Real, np.ndarray)):
            return NotImplemented
        return apply(ops.power, base, self)

    # --- in-place updates: `with tg.no_grad(): w -= lr * w.grad` keeps w the same leaf ----------

    def __iadd__(self, other):
        return self._in_place("+=", np.add, other, self.__add__)

    def __isub__(self, other):
        return self._in_place("-=", np.subtract, other, self.__sub__)

    def __imul__(self, other):
        return self._in_place("*=", np.multiply, other, self.__mul__)

    def __itruediv__(self, other):
        return self._in_place("/=", np.true_divide, other, self.__truediv__)

    def add_(self, other, *args, alpha=1):
        """``self += alpha * other`` in place; returns self (see ``zero_``). The old form
        ``add_(alpha, other)`` (a number, then a tensor) is accepted too, as torch still does.

        >>> import tinygrad_seq as tg
        >>> p, g = tg.ones(2), tg.tensor([1.0, 2.0])
        >>> p.add_(g, alpha=-0.5)
        Tensor([0.5, 0. ])
        >>> p.add_(-0.5, g)
        Tensor([ 0., -1.])
        """
        other, alpha = _alpha_form("add_", other, args, alpha)
        return self._in_place("add_", np.add, _scaled(other, alpha))

    def sub_(self, other, *args, alpha=1):
        """``self -= alpha * other`` in place; returns self (see ``add_``)."""
        other, alpha = _alpha_form("sub_", other, args, alpha)
        return self._in_place("sub_", np.subtract, _scaled(other, alpha))

    def mul_(self, other):
        """``self *= other`` in place; returns self (see ``zero_``)."""
        return self._in_place("mul_", np.multiply, other)

    def div_(self, other):
        """``self /= other`` in place; returns self (see ``zero_``)."""
        return self._in_place("div_", np.true_divide, other)

    def copy_(self, src):
        """Write ``src`` (broadcast, cast to self's dtype) into self; returns self."""
        return self._in_place("copy_", None, src)

    def fill_(self, value):
        """Set every element to ``value``; returns self."""
        return self._in_place("fill_", None, value)

    def clamp_(self, min=None, max=None):  # noqa: A002 -- torch's argument names
        """Limit the values to [min, max] in place; returns self (weight clipping:
        ``p.data.clamp_(-0.01, 0.01)``).

        >>> import tinygrad_seq as tg
        >>> tg.tensor([-2.0, 0.5, 3.0]).clamp_(-1, 1)
        Tensor([-1. ,  0.5,  1. ])
        """
        if min is None and max is None:
            raise RuntimeError("clamp_: at least one of 'min' or 'max' must not be None")
        recorded = functools.partial(Tensor.clip, min=min, max=max)
        return self._in_place("clamp_", None, np.clip(self._data, min, max), recorded=recorded)

    clip_ = clamp_

    def uniform_(self, from_=0.0, to=1.0, *, generator=None):
        """Fill in place with samples from U(from_, to), drawn from the global Generator that
        ``tg.manual_seed`` seeds (or ``generator``, a ``np.random.Generator``); returns self.

        >>> import tinygrad_seq as tg
        >>> w = tg.zeros(1000); _ = w.data.uniform_(-0.1, 0.1)
        >>> bool(w.abs().max() <= 0.1), bool(w.abs().max() > 0.09)
        (True, True)
        """
        shape = self._data.shape
        return self._in_place("uniform_", None, _rng(generator).uniform(from_, to, shape))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill in place with samples from N(mean, std**2) (see ``uniform_``); returns self.

        >>> import tinygrad_seq as tg
        >>> _ = tg.manual_seed(0); w = tg.zeros(1000); _ = w.data.normal_(0, 0.1)
        >>> 0.07 < float(w.abs().mean()) < 0.09  # 0.1 * sqrt(2 / pi) on average
        True
        """
        if std < 0:
            raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
        shape = self._data.shape
        return self._in_place("normal_", None, _rng(generator).normal(mean, std, shape))

    def zero_(self):
        """Set every element to 0 in place and return self, as ``torch.Tensor.zero_``:
        ``x.grad.zero_()``. In-place updates are allowed on tensors that need no gradient, and
        on any tensor under ``no_grad``; each counts in ``_version`` (a graph that saved the
        old values then refuses backward).

        >>> import tinygrad_seq as tg
        >>> w = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> with tg.no_grad():
        ...     w -= 0.5 * w.grad
        >>> w, w.grad.zero_()
        (Tensor([0., 0.], requires_grad=True), Tensor([0., 0.]))
        """
        return self._in_place("zero_", None, 0)

    def _in_place(self, op, ufunc, other, out_of_place=None, recorded=None):
        """Write ``ufunc(self, other)`` (``other`` itself if ufunc is None) into self's array and
        count the write. A leaf that requires grad takes one only under ``no_grad``, as in
        PyTorch. When self or ``other`` requires grad the write is recorded: on a result in the
        graph the operators rebind (``h += x`` is ``h = h + x``, which backward follows); the
        methods (``add_``, ``copy_``, ...), and the operators on a tensor outside the graph,
        keep self, which takes the op's node (``recorded``, or the ufunc's or ``setitem``'s),
        as torch records an in-place op (see ``_rebase``)."""
        if STATE.grad_enabled and (self._rg or (isinstance(other, Tensor) and other._rg)):
            if self._rg and self.is_leaf:
                raise RuntimeError(
                    f"{op}: a leaf Variable that requires grad is being used in an in-place "
                    "operation (update parameters under `with tg.no_grad():`)"
                )
            if out_of_place is not None and self._rg:
                return out_of_place(other)
            if recorded is None:
                recorded = functools.partial(_recorded_in_place, ufunc=ufunc, other=other)
            return self._rebase(op, recorded)
        value = _array_of(other)
        try:
            if ufunc is None:  # copy_, fill_, zero_: cast as PyTorch does
                np.copyto(self._data, value, casting="unsafe")
            else:
                ufunc(self._data, value, out=self._data, casting="same_kind")
        except (TypeError, ValueError) as e:
            shape = getattr(value, "shape", ())
            raise RuntimeError(
                f"{op}: cannot write a value of shape {shape} into a {self._kind} of shape "
                f"{self._data.shape} {self._data.dtype} in place: {e}"
            ) from None
        self._bump_version()
        return self

    # comparisons give bool tensors without gradient (masks for where), == and != too, as in
    # PyTorch: `(pred == y).float().mean()`. Hashing stays by identity (dict and set lookups
    # test identity first); `list.index`, `in` and `remove` on tensors do not: compare `id`s.
    def __eq__(self, other):
        if not _comparable(other):
            return NotImplemented  # `t == None` is False, as in torch
        return _compare("eq (==)", np.equal, self, other)

    def __ne__(self, other):
        if not _comparable(other):
            return NotImplemented
        return _compare("ne (!=)", np.not_equal, self, other)

    def __lt__(self, other):
        return _compare("lt (<)", np.less, self, other)

    def __le__(self, other):
        return _compare("le (<=)", np.less_equal, self, other)

    def __gt__(self, other):
        return _compare("gt (>)", np.greater, self, other)

    def __ge__(self, other):
        return _compare("ge (>=)", np.greater_equal, self, other)

    __hash__ = object.__hash__

    # logic on bool tensors (masks), as in PyTorch
    def __and__(self, other):
        return Tensor(self._data & _array_of(other))

    __rand__ = __and__

    def __or__(self, other):
        return Tensor(self._data | _array_of(other))

    __ror__ = __or__

    def __xor__(self, other):
        return Tensor(self._data ^ _array_of(other))

    __rxor__ = __xor__

    def __invert__(self):
        return Tensor(~self._data)

    # the operators as methods, as PyTorch spells them: x.add(y), x.mm(w), (a == b).all()
    def add(self, other, *args, alpha=1):
        """``self + alpha * other`` (``add(alpha, other)``, torch's old form, too)."""
        other, alpha = _alpha_form("add", other, args, alpha)
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *args, alpha=1):
        """``self - alpha * other`` (``sub(alpha, other)``, torch's old form, too)."""
        other, alpha = _alpha_form("sub", other, args, alpha)
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def neg(self):
        return -self

    def matmul(self, other):
        return self @ other

    def mm(self, other):
        """``self @ other`` for two matrices (2-D only, as ``torch.mm``)."""
        other_shape = np.shape(_array_of(other))
        if self.ndim != 2 or len(other_shape) != 2:
            raise ValueError(f"mm: expects two matrices, got shapes {self.shape} and {other_shape}")
        return self @ other

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    # axis/keepdims/out too: np.all(t) and np.any(t) call these methods
    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """Whether every element is nonzero (over ``dim``): a bool tensor, as ``torch.all``."""
        _no_out("all", out)
        keep = bool(keepdim or keepdims)
        return Tensor(np.all(self._data, axis=_axis(axis, dim), keepdims=keep))

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
        """Whether some element is nonzero (over ``dim``): a bool tensor, as ``torch.any``."""
        _no_out("any", out)
        keep = bool(keepdim or keepdims)
        return Tensor(np.any(self._data, axis=_axis(axis, dim), keepdims=keep))

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` is True, self elsewhere (``mask`` broadcasts), as
        ``torch.masked_fill``: ``scores.masked_fill(pad, -inf)``."""
        return where(mask, value, self)

    # --- elementwise ------------------------------------------------------------------------------

    def exp(self):
        """e ** x, elementwise."""
        return apply(ops.exp, self)

    def log(self):
        """Natural logarithm, elementwise."""
        return apply(ops.log, self)

    def sqrt(self):
        """Square root, elementwise."""
        return apply(ops.sqrt, self)

    def abs(self):
        """Absolute value, elementwise (gradient 0 at 0, as PyTorch)."""
        return apply(ops.absolute, self)

    def tanh(self):
        """Hyperbolic tangent, elementwise."""
        return apply(ops.tanh, self)

    def sigmoid(self):
        """1 / (1 + exp(-x)), elementwise and stable for any x."""
        return apply(ops.sigmoid, self)

    def relu(self):
        """max(x, 0), elementwise."""
        return apply(ops.relu, self)

    def clip(self, min=None, max=None):
        """Limit values to [min, max] (NumPy's clip, PyTorch's clamp)."""
        if min is None and max is None:
            raise ValueError("clip: give at least one of min and max")
        return apply(ops.clip, self, lo=min, hi=max)

    clamp = clip

    def astype(self, dtype):
        """A cast (self if the dtype is already ``dtype``). Between floating types it is
        differentiable, the gradient cast back; to an integer or bool type it leaves the graph,
        as in PyTorch."""
        dtype = _dtype_of(dtype)
        if dtype == self._data.dtype:
            return self
        if dtype.kind != "f":
            return Tensor(self._data.astype(dtype))
        return apply(ops.astype, self, dtype=dtype)

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)`` (other's dtype
        and device), as ``torch.Tensor.to``: self when nothing changes. The CPU is the only
        device (``"cpu"``, ``tg.device("cpu")``); CUDA is refused with what to write instead.

        >>> import tinygrad_seq as tg
        >>> x = tg.ones(2)
        >>> x.to("cpu") is x, x.to(tg.device("cpu"), tg.float64).dtype, x.to(x) is x
        (True, dtype('float64'), True)
        """
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif is_device(arg):
                device = arg
            else:
                dtype = arg
        _check_device(device)
        out = self if dtype is None else self.astype(dtype)
        return out.clone() if copy and out is self else out

    def cpu(self):
        """Self: tensors live in main memory (``x.detach().cpu().numpy()`` works as in torch)."""
        return self

    def cuda(self, device=None, non_blocking=False):
        """Refused: tinygrad_seq runs on the CPU only (the error says what to write instead).

        >>> import tinygrad_seq as tg
        >>> tg.ones(1).cuda()
        Traceback (most recent call last):
        RuntimeError: device 'cuda' is not available: tinygrad_seq runs on the CPU only ...
        """
        _check_device("cuda" if device is None else device)
        return self

    device = property(lambda self: CPU, doc="``tg.device('cpu')``: where every tensor lives.")
    is_cuda = property(lambda self: False, doc="False: no tensor lives on a GPU here.")

    def get_device(self):
        """-1, torch's answer for a tensor on the CPU."""
        return -1

    def float(self):
        """As float32, in the graph (self if already float32)."""
        return self.astype(np.float32)

    def double(self):
        """As float64, in the graph (self if already float64)."""
        return self.astype(np.float64)

    def half(self):
        """As float16, in the graph (self if already float16)."""
        return self.astype(np.float16)

    def long(self):
        """As int64 (an index tensor, without gradient)."""
        return self.astype(np.int64)

    def int(self):
        """As int32 (without gradient)."""
        return self.astype(np.int32)

    def bool(self):
        """As bool (a mask, without gradient)."""
        return self.astype(np.bool_)

    # --- reductions (NumPy's axis/keepdims; PyTorch's dim/keepdim accepted) -----------------------

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Sum over ``axis`` (None: all; an int or a tuple), as ``np.sum``; ``dim``/``keepdim``
        are PyTorch's spellings.

        >>> import numpy as np, tinygrad_seq as tg
        >>> tg.Tensor(np.ones((2, 3))).sum(axis=1).tolist()
        [3.0, 3.0]
        """
        keep = keepdims if keepdim is None else keepdim
        return apply(ops.sum_, self, axis=_axis(axis, dim), keepdims=keep)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Mean over ``axis`` (see ``sum``)."""
        axis = _axis(axis, dim)
        try:
            total = self.sum(axis, keepdims if keepdim is None else keepdim)
        except (ValueError, IndexError) as e:
            raise _renamed(e, "mean") from None
        return total * (total._data.size / self._data.size if self._data.size else np.nan)

    def amax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Maximum over ``axis`` (see ``sum``); ties share the gradient equally, as
        ``torch.amax``."""
        keep = keepdims if keepdim is None else keepdim
        return apply(ops.max_, self, axis=_axis(axis, dim), keepdims=keep)

    def amin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Minimum over ``axis`` (see ``amax``)."""
        try:
            return -((-self).amax(axis, keepdims, dim=dim, keepdim=keepdim))
        except (ValueError, IndexError) as e:
            raise _renamed(e, "amin") from None

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """As ``torch.max``: the largest element (a tensor) without ``dim``; with ``dim``, the
        named tuple ``(values, indices)`` over that axis, the gradient going to the chosen
        element; with a tensor, ``maximum``.

        >>> import tinygrad_seq as tg
        >>> x = tg.tensor([[1.0, 5.0], [4.0, 2.0]])
        >>> x.max().item(), x.max(dim=1).values.tolist(), x.max(1).indices.tolist()
        (5.0, [5.0, 4.0], [1, 0])
        """
        if isinstance(dim, (Tensor, np.ndarray)):
            return self.maximum(dim)
        dim, keep = _axis(axis, dim), bool(keepdim or keepdims)
        if dim is None:
            try:
                return self.amax()
            except (ValueError, IndexError) as e:
                raise _renamed(e, "max") from None
        return _values_indices(self, np.argmax, "max", dim, keep)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """As ``torch.min`` (see ``max``)."""
        if isinstance(dim, (Tensor, np.ndarray)):
            return self.minimum(dim)
        dim, keep = _axis(axis, dim), bool(keepdim or keepdims)
        if dim is None:
            try:
                return self.amin()
            except (ValueError, IndexError) as e:
                raise _renamed(e, "min") from None
        return _values_indices(self, np.argmin, "min", dim, keep)

    def maximum(self, other):
        """Elementwise maximum; at ties each input gets half the gradient, and NaN
        propagates, as ``torch.maximum``."""
        return _pick(self, other, self > other, self < other)

    def minimum(self, other):
        """Elementwise minimum (see ``maximum``)."""
        return _pick(self, other, self < other, self > other)

    def argmax(self, axis=None, keepdim=False, *, dim=None):
        """Indices of the maxima (an integer tensor, no gradient)."""
        return Tensor(np.argmax(self._data, axis=_axis(axis, dim), keepdims=keepdim))

    def argmin(self, axis=None, keepdim=False, *, dim=None):
        """Indices of the minima (an integer tensor, no gradient)."""
        return Tensor(np.argmin(self._data, axis=_axis(axis, dim), keepdims=keepdim))

    def pow(self, exponent):
        """``self ** exponent``."""
        return self**exponent

    def norm(self, p=2, dim=None, keepdim=False):
        """The ``p``-norm over ``dim`` (all elements by default; ``p`` may be ``"fro"`` or
        ``inf``), as ``torch.norm``; the gradient at a zero vector is 0, as in PyTorch.

        >>> import tinygrad_seq as tg
        >>> tg.tensor([3.0, -4.0]).norm().item(), tg.tensor([3.0, -4.0]).norm(1).item()
        (5.0, 7.0)
        """
        if p == "fro":
            p = 2
        if p in (np.inf, -np.inf):
            a = self.abs()
            return a.amax(dim=dim, keepdim=keepdim) if p > 0 else a.amin(dim=dim, keepdim=keepdim)
        if not isinstance(p, numbers.Real) or p <= 0:
            raise ValueError(f"norm: p must be a positive number, 'fro' or inf, got {p!r}")
        powered = self * self if p == 2 else self.abs() ** p
        total = powered.sum(dim=dim, keepdim=keepdim)
        nonzero = total > 0  # where the norm is 0 the root's derivative is infinite: give 0
        safe = where(nonzero, total, 1.0)
        root = safe.sqrt() if p == 2 else safe ** (1.0 / p)
        return where(nonzero, root, 0.0)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """log(sum(exp(x))) over ``axis``, computed stably (see ``sum``)."""
        keep = keepdims if keepdim is None else keepdim
        return apply(ops.logsumexp, self, axis=_axis(axis, dim), keepdims=keep)

    def log_softmax(self, axis=None, *, dim=None):
        """x - logsumexp(x) over ``axis`` (default: the last), computed as
        (x - max) - log(sum(exp(x - max))) so that large logits keep their digits."""
        return self._log_softmax("log_softmax", _axis(axis, dim, default=-1))

    def softmax(self, axis=None, *, dim=None):
        """exp(log_softmax(x)) over ``axis`` (default: the last)."""
        return self._log_softmax("softmax", _axis(axis, dim, default=-1)).exp()

    def _log_softmax(self, op, axis):
        # the axis is checked here, naming the op: NumPy never looks at it on an empty tensor
        _wrap_axis(op, axis, self.ndim, self.shape)
        return apply(ops.log_softmax, self, axis=axis)

    # --- movement ---------------------------------------------------------------------------------

    def reshape(self, *shape):
        """The same data in another shape: ``reshape(2, 3)`` or ``reshape((2, 3))``.

        >>> import numpy as np, tinygrad_seq as tg
        >>> tg.Tensor(np.arange(6.0)).reshape(2, -1).shape
        (2, 3)
        """
        return apply(ops.reshape, self, shape=_shape_args(shape))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        """Axes ``start_dim`` to ``end_dim`` (inclusive) merged into one, as ``torch.flatten``.

        >>> import tinygrad_seq as tg
        >>> x = tg.zeros(2, 3, 4); x.flatten().shape, x.flatten(1).shape, x.flatten(0, 1).shape
        ((24,), (2, 12), (6, 4))
        """
        shape = self._data.shape
        if not shape:
            return self.reshape(1)
        start = _wrap_axis("flatten", start_dim, len(shape), shape)
        end = _wrap_axis("flatten", end_dim, len(shape), shape)
        if start > end:
            raise IndexError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(shape[:start] + (-1,) + shape[end + 1 :])

    def permute(self, *dims):
        """Reorder the axes: axis ``i`` of the result is axis ``dims[i]`` of self, as
        ``torch.permute`` (``np.transpose(x, dims)``).

        >>> import tinygrad_seq as tg
        >>> tg.zeros(2, 3, 4).permute(2, 0, 1).shape
        (4, 2, 3)
        """
        dims, shape = _shape_args(dims), self._data.shape
        axes = tuple(_wrap_axis("permute", d, len(shape), shape) for d in dims)
        if sorted(axes) != list(range(len(shape))):
            raise ValueError(
                f"permute: dims {dims} are not a permutation of the {len(shape)} axes of a "
                f"tensor of shape {shape}"
            )
        return apply(ops.transpose, self, axes=axes)

    def transpose(self, dim0, dim1):
        """Exchange axes ``dim0`` and ``dim1``, as ``torch.transpose`` (NumPy's ``swapaxes``;
        NumPy's ``transpose(axes)`` is ``permute``).

        >>> import tinygrad_seq as tg
        >>> tg.zeros(2, 3, 4).transpose(0, 2).shape
        (4, 3, 2)
        """
        shape = self._data.shape
        axes = list(range(max(len(shape), 1)))  # a 0-d tensor takes dims 0 and -1, as in torch
        a = _wrap_axis("transpose", dim0, len(shape), shape)
        b = _wrap_axis("transpose", dim1, len(shape), shape)
        axes[a], axes[b] = axes[b], axes[a]
        return apply(ops.transpose, self, axes=tuple(axes[: len(shape)]))

    swapaxes = transpose

    def t(self):
        """The transpose of a matrix (a vector or scalar as it is), as ``torch.t``."""
        if self._data.ndim > 2:
            raise ValueError(f"t(): expects at most 2 axes, got shape {self.shape}")
        return self.T

    @property
    def T(self):
        """All axes reversed (the transpose of a matrix)."""
        return apply(ops.transpose, self, axes=tuple(reversed(range(self._data.ndim))))

    def expand(self, *sizes):
        """Self broadcast to ``sizes`` (-1 keeps an axis; new axes go in front), as
        ``torch.expand``; the gradient is summed back.

        >>> import tinygrad_seq as tg
        >>> tg.ones(3, 1).expand(2, 3, 4).shape, tg.ones(3, 1).expand(-1, 5).shape
        ((2, 3, 4), (3, 5))
        """
        sizes, shape = _shape_args(sizes), self._data.shape
        lead = len(sizes) - len(shape)
        target = tuple(n if n != -1 or i < lead else shape[i - lead] for i, n in enumerate(sizes))
        if lead < 0 or any(n < 0 or (shape[i] not in (1, n)) for i, n in enumerate(target[lead:])):
            raise ValueError(f"expand: cannot expand shape {shape} to {sizes}")
        if target == shape:
            return self
        return self * np.ones(target, dtype=self._data.dtype)  # x * 1 keeps -0.0, NaN, inf

    def repeat(self, *repeats):
        """Self tiled ``repeats`` times along each axis (new axes in front), as
        ``torch.Tensor.repeat`` (``np.tile``).

        >>> import tinygrad_seq as tg
        >>> tg.tensor([1.0, 2.0]).repeat(2, 2).tolist()
        [[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]
        """
        repeats = _shape_args(repeats)
        if len(repeats) < self._data.ndim:
            raise ValueError(
                f"repeat: {len(repeats)} repeat counts for a tensor of {self._data.ndim} axes"
            )
        shape = (1,) * (len(repeats) - self._data.ndim) + self._data.shape
        # each axis n as (1, n), broadcast to (r, n), merged into r * n
        paired = self.reshape(tuple(k for n in shape for k in (1, n)))
        tiled = paired.expand(tuple(k for r, n in zip(repeats, shape) for k in (r, n)))
        return tiled.reshape(tuple(r * n for r, n in zip(repeats, shape)))

    def unsqueeze(self, axis=None, *, dim=None):
        """Insert an axis of size 1 at ``axis`` (-ndim - 1 <= axis <= ndim)."""
        shape = self.shape
        at = _wrap_axis("unsqueeze", _axis(axis, dim), len(shape) + 1, shape)
        return self.reshape(shape[:at] + (1,) + shape[at:])

    def squeeze(self, axis=None, *, dim=None):
        """Remove axes of size 1: all, or those of ``axis`` (an int or a tuple) that have size
        1; as in PyTorch, a named axis of another size stays."""
        axis, shape = _axis(axis, dim), self.shape
        if axis is None:
            return self.reshape(tuple(n for n in shape if n != 1))
        axes = {_wrap_axis("squeeze", a, len(shape), shape) for a in np.atleast_1d(axis).tolist()}
        return self.reshape(tuple(n for i, n in enumerate(shape) if n != 1 or i not in axes))

    def __getitem__(self, index):
        return apply(ops.getitem, self, index=_index_of(index))

    def __setitem__(self, index, value):
        """``t[index] = value``, as in PyTorch: ``value`` (a number, array or Tensor) broadcast
        into the slot; any index ``t[...]`` takes (ints, slices, None, Ellipsis, bool masks,
        integer tensors or arrays). The tensor stays the same object and counts the write in
        ``_version`` (a graph that saved its old values then refuses backward).

        Outside the graph (no gradient involved, or under ``no_grad``) it writes into the array,
        so ``t[i][j] = 1`` writes through the view ``t[i]`` as in NumPy and torch. When ``t`` or
        ``value`` requires grad, the write is recorded (the primitive ``setitem``) and ``t`` takes
        its node: gradients flow into ``value`` (its slot's gradient) and into what ``t`` kept.
        A recorded write into a view (``t[i][j] = v``, a reshape's result) is refused, as the
        viewed tensor's graph would not know of it: write ``t[i, j] = v``.

        >>> import tinygrad_seq as tg
        >>> h = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> outs = tg.zeros(3, 2)
        >>> for i in range(3):
        ...     outs[i] = h * i
        >>> (outs * outs).sum().backward(); h.grad  # d/dh of sum_i (i h)^2 = 2 h (0 + 1 + 4)
        Tensor([10., 20.])
        """
        index = _index_of(index)
        array = _array_of(value)
        if not (STATE.grad_enabled and (self._rg or (isinstance(value, Tensor) and value._rg))):
            try:
                self._data[index] = array
            except ValueError as e:
                raise _setitem_error(self, index, array, e) from None
            self._bump_version()
            return
        if self._rg and self.is_leaf:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                "(t[index] = value on a tensor that requires grad: write it under "
                "`with tg.no_grad():`, or into a copy: t = t.clone())"
            )
        try:
            recorded = functools.partial(_setitem_recorded, value=value, index=index)
            self._rebase("setitem", recorded, snapshot=False)  # setitem saves nothing
        except ValueError as e:
            raise _setitem_error(self, index, array, e) from None

    def _rebase(self, op, recorded, snapshot=True):
        """An in-place op on a tensor in the graph, as torch rebases it: ``recorded(x)`` runs the
        op out of place on a snapshot ``x`` of self (what its node saves stays intact), its
        values are written into self's array (aliases such as ``.data`` see them), and self takes
        its node. The version counts the write: nodes that saved the old values refuse backward.
        ``snapshot=False``: the op saves nothing of self (``setitem``), so it needs no copy.
        """
        if self._data.base is not None:
            raise RuntimeError(
                f"{op}: a recorded write into a view of another tensor's array (shape "
                f"{self.shape}: the result of t[i], reshape or transpose) would not reach that "
                "tensor's graph; index it once instead: t[i, j] = value, not t[i][j] = value"
            )
        before = Tensor._from_op(self._data.copy() if snapshot else self._data, self._node)
        self._bump_version()  # first: the nodes made before it, not the op's own, are refused
        out = recorded(before)
        if out._data.shape != self._data.shape:
            raise RuntimeError(
                f"{op}: the result has shape {out._data.shape}, but the {self._kind} written in "
                f"place has shape {self._data.shape}"
            )
        np.copyto(self._data, out._data, casting="unsafe")
        self._node, self._rg = out._node, out._rg
        return self

    def masked_fill_(self, mask, value):
        """``value`` where ``mask`` (broadcast to self's shape) is True, in place; returns self,
        as ``torch.Tensor.masked_fill_`` (recorded in the graph, see ``__setitem__``).

        >>> import tinygrad_seq as tg
        >>> scores = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> scores.masked_fill_(tg.tensor([True, False]), 0.0)
        Tensor([[0., 2.],
                [0., 4.]])
        """
        mask = np.asarray(_array_of(mask))
        if mask.dtype != np.bool_:
            raise RuntimeError(
                f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}"
            )
        self[np.broadcast_to(mask, self.shape)] = value
        return self

    def split(self, split_size_or_sections, axis=None, *, dim=None):
        """Pieces of ``split_size_or_sections`` along ``axis``: see ``tg.split``."""
        return split(self, split_size_or_sections, axis, dim=dim)

    def chunk(self, chunks, axis=None, *, dim=None):
        """``chunks`` pieces along ``axis``: see ``tg.chunk``."""
        return chunk(self, chunks, axis, dim=dim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The variance over ``dim`` (all elements by default), as ``torch.var``: divided by
        n - ``correction`` (1 by default, Bessel's; ``unbiased=False`` means 0). Composed of
        mean, subtraction and squares, so it is differentiable.

        >>> import tinygrad_seq as tg
        >>> x = tg.tensor([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
        >>> x.var().item(), x.var(1).tolist(), x.std(0, unbiased=False).tolist()
        (8.0, [2.3333332538604736, 9.333333015441895], [1.0, 1.5, 2.5])
        """
        if isinstance(dim, bool):  # the old form var(unbiased)
            dim, unbiased = None, dim
        if correction is None:
            correction = 0 if unbiased is False else 1
        elif unbiased is not None:
            raise TypeError("var: give unbiased or correction, not both")
        centred = self - self.mean(dim=dim, keepdim=True)
        total = (centred * centred).sum(dim=dim, keepdim=keepdim)
        n = self._data.size // max(total._data.size, 1) if self._data.size else 0
        with np.errstate(divide="ignore", invalid="ignore"):
            return total / np.array(max(n - correction, 0), dtype=self.dtype)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The standard deviation: ``sqrt(var(...))`` (see ``var``), as ``torch.std``."""
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def gather(self, dim, index):
        """The elements at ``index`` along ``dim`` (``out[i][j] = self[i][index[i][j]]`` for
        dim 1), as ``torch.gather``: a DQN's ``q.gather(1, actions)``. The gradient goes back
        to the gathered elements (added up where an index repeats).

        >>> import tinygrad_seq as tg
        >>> q = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> q.gather(1, tg.tensor([[1], [0]])).tolist()
        [[2.0], [3.0]]
        """
        index = np.asarray(_array_of(index))
        shape = self._data.shape
        axis = _wrap_axis("gather", dim, len(shape), shape)
        if index.dtype.kind not in "iu":
            raise RuntimeError(f"gather(): Expected dtype int64 for index, got {index.dtype}")
        if index.ndim != len(shape) or any(
            k > n for d, (k, n) in enumerate(zip(index.shape, shape)) if d != axis
        ):
            raise RuntimeError(
                f"gather(): index of shape {index.shape} does not fit input of shape {shape} "
                f"(same number of dimensions, no larger except along dim {axis})"
            )
        return _gather(self, index, axis)

    def view_as(self, other):
        """Self in ``other``'s shape (``reshape``), as ``torch.Tensor.view_as``:
        ``pred.eq(target.view_as(pred))``.

        >>> import tinygrad_seq as tg
        >>> tg.arange(4).view_as(tg.zeros(2, 2)).shape
        (2, 2)
        """
        return self.reshape(np.shape(_array_of(other)))

    reshape_as = view_as

    def expand_as(self, other):
        """Self broadcast to ``other``'s shape (see ``expand``)."""
        return self.expand(np.shape(_array_of(other)))

    def type_as(self, other):
        """Self cast to ``other``'s dtype, as ``torch.Tensor.type_as``.

        >>> import tinygrad_seq as tg
        >>> tg.tensor([1, 2]).type_as(tg.zeros(1)).dtype
        dtype('float32')
        """
        return self.astype(other.dtype)

    def narrow(self, dim, start, length):
        """The ``length`` elements from ``start`` along ``dim`` (a view), as ``torch.narrow``.

        >>> import tinygrad_seq as tg
        >>> tg.arange(6).reshape(2, 3).narrow(1, 1, 2).tolist()
        [[1, 2], [4, 5]]
        """
        shape = self._data.shape
        axis = _wrap_axis("narrow", dim, len(shape), shape)
        n, start, length = shape[axis], int(start), int(length)
        if not -n <= start <= n:
            raise IndexError(
                f"start out of range (expected to be in range of [{-n}, {n}], but got {start})"
            )
        start = start + n if start < 0 else start
        if length < 0 or start + length > n:
            raise RuntimeError(
                f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n})."
            )
        index = (slice(None),) * axis + (slice(start, start + length),)
        return apply(ops.getitem, self, index=index)

    def contiguous(self, memory_format=None):
        """Self: a NumPy-backed tensor needs no copy to be used as contiguous (as ``torch``'s
        ``x.contiguous()`` on a contiguous tensor).

        >>> import tinygrad_seq as tg
        >>> x = tg.zeros(2, 3).t(); x.contiguous() is x
        True
        """
        return self

    def sort(self, dim=-1, descending=False, stable=False):
        """``(values, indices)`` sorted along ``dim``, as ``torch.sort``: ascending unless
        ``descending``; equal elements keep their order (the sort is always stable); NaN sorts
        as the largest value. The gradient goes back to where each value came from.

        >>> import tinygrad_seq as tg
        >>> values, indices = tg.tensor([3.0, 1.0, 2.0]).sort(descending=True)
        >>> values.tolist(), indices.tolist()
        ([3.0, 2.0, 1.0], [0, 2, 1])
        """
        order = self.argsort(dim, descending, stable)
        return ValuesIndices(_gather(self, order._data, dim), order)

    def argsort(self, dim=-1, descending=False, stable=False):
        """The indices that sort along ``dim`` (see ``sort``), as ``torch.argsort``.

        >>> import tinygrad_seq as tg
        >>> tg.tensor([[3, 1, 2]]).argsort(dim=1).tolist()
        [[1, 2, 0]]
        """
        x = self._data.reshape(1) if self._data.ndim == 0 else self._data
        axis = _wrap_axis("sort", dim, x.ndim, self.shape)
        if not descending:
            order = np.argsort(x, axis=axis, kind="stable")
        else:  # ascending on the reversed axis, reversed: ties keep their order, NaN comes first
            n = x.shape[axis]
            order = n - 1 - np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
        return Tensor(order.reshape(self._data.shape))

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002 -- torch's names
        """The ``k`` largest (or smallest) elements along ``dim`` and their indices, as
        ``torch.topk``: a named tuple ``(values, indices)``, largest first (the result is always
        sorted). The gradient goes to the chosen elements.

        >>> import tinygrad_seq as tg
        >>> scores = tg.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
        >>> top = scores.topk(1)
        >>> top.values.tolist(), top.indices.tolist()
        ([[0.7], [0.5]], [[1], [0]])
        """
        shape = self._data.shape
        axis = _wrap_axis("topk", dim, len(shape), shape)
        n = shape[axis] if shape else 1
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k <= n:
            raise RuntimeError(f"topk: selected index k ({k!r}) out of range (size {n})")
        order = self.argsort(axis, descending=largest)._data
        if shape:
            order = order[(slice(None),) * axis + (slice(0, int(k)),)]
        return ValuesIndices(_gather(self, order, axis), Tensor(order))

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """Draw ``num_samples`` category indices per row with probabilities proportional to
        self (1-D, or 2-D: one row each), as ``torch.multinomial`` (see ``tg.multinomial``).

        >>> import tinygrad_seq as tg
        >>> tg.tensor([0.0, 1.0, 0.0]).multinomial(2, replacement=True).tolist()
        [1, 1]
        """
        return multinomial(self, num_samples, replacement, generator=generator)

    def new_tensor(self, data, dtype=None, requires_grad=False, device=None):
        """A copy of ``data`` as a tensor of self's dtype (unless ``dtype``), as
        ``torch.Tensor.new_tensor``.

        >>> import tinygrad_seq as tg
        >>> tg.zeros(1, dtype=tg.float64).new_tensor([1, 2]).dtype
        dtype('float64')
        """
        _check_device(device)
        array = np.array(_to_array(data, self.dtype if dtype is None else dtype), copy=True)
        return Tensor(array, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, requires_grad=False, device=None):
        """Zeros of ``size`` in self's dtype (unless ``dtype``), as ``torch.Tensor.new_zeros``.

        >>> import tinygrad_seq as tg
        >>> tg.tensor([1, 2]).new_zeros(2, 3).dtype, tg.ones(1).new_ones((2,)).tolist()
        (dtype('int64'), [1.0, 1.0])
        """
        return self.new_full(_shape_args(size), 0, dtype, requires_grad, device)

    def new_ones(self, *size, dtype=None, requires_grad=False, device=None):
        """Ones of ``size`` in self's dtype (see ``new_zeros``)."""
        return self.new_full(_shape_args(size), 1, dtype, requires_grad, device)

    def new_empty(self, *size, dtype=None, requires_grad=False, device=None):
        """An uninitialised tensor of ``size`` in self's dtype (see ``new_zeros``)."""
        _check_device(device)
        array = np.empty(_shape_args(size), self.dtype if dtype is None else _dtype_of(dtype))
        return Tensor(array, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False, device=None):
        """``fill_value`` in ``size`` and self's dtype (unless ``dtype``), as
        ``torch.Tensor.new_full``.

        >>> import tinygrad_seq as tg
        >>> tg.zeros(1).new_full((2,), 7).tolist()
        [7.0, 7.0]
        """
        _check_device(device)
        dtype = self.dtype if dtype is None else _dtype_of(dtype)
        return Tensor(np.full(_shape_args((size,)), fill_value, dtype), requires_grad=requires_grad)

    # in-place shape changes: self takes the new shape (and, in the graph, the new node)
    def unsqueeze_(self, dim):
        """``unsqueeze`` in place; returns self."""
        return self._reshaped_in_place("unsqueeze_", self.unsqueeze(dim=dim))

    def squeeze_(self, dim=None):
        """``squeeze`` in place; returns self."""
        return self._reshaped_in_place("squeeze_", self.squeeze(dim=dim))

    def t_(self):
        """``t`` in place; returns self."""
        return self._reshaped_in_place("t_", self.t())

    def transpose_(self, dim0, dim1):
        """``transpose`` in place; returns self.

        >>> import tinygrad_seq as tg
        >>> x = tg.zeros(2, 3); x.transpose_(0, 1) is x, x.shape
        (True, (3, 2))
        """
        return self._reshaped_in_place("transpose_", self.transpose(dim0, dim1))

    def _reshaped_in_place(self, op, result):
        if self._rg and STATE.grad_enabled and self.is_leaf:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        self._data, self._node = result._data, result._node
        if self._node is not None and self._node.prim is None:
            self._node = None
        return self

    def __index__(self):
        """A one-element integer tensor used as a Python index: ``items[t]``, ``range(t)``."""
        if self._data.size != 1 or self._data.dtype.kind not in "biu":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()).item())

    def type(self, dtype=None, non_blocking=False):
        """Without an argument, torch's name of the tensor's type (``'torch.FloatTensor'``);
        with a dtype or such a name, the tensor cast to it, as ``torch.Tensor.type``.

        >>> import tinygrad_seq as tg
        >>> x = tg.ones(2); x.type(), x.type("torch.LongTensor").dtype, x.type(tg.int32).dtype
        ('torch.FloatTensor', dtype('int64'), dtype('int32'))
        """
        if dtype is None:
            name = _TYPE_NAMES.get(self.dtype)
            if name is None:
                raise TypeError(f"type(): torch has no tensor type name for dtype {self.dtype}")
            return f"torch.{name}"
        if isinstance(dtype, str):
            found = {f"torch.{v}": k for k, v in _TYPE_NAMES.items()}.get(dtype)
            if found is None:
                if dtype.startswith("torch.cuda."):
                    _check_device("cuda")
                raise ValueError(f"type(): invalid type {dtype!r} (e.g. 'torch.LongTensor')")
            dtype = found
        elif isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), np.dtype):
            dtype = dtype.dtype  # tg.LongTensor and friends
        return self.astype(dtype)


ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "``(values, indices)`` of ``max(dim)``/``min(dim)`` (torch.return_types)."

# torch's tensor type names (``x.type()``, ``tg.LongTensor``), by dtype
_TYPE_NAMES = {
    np.dtype(np.float32): "FloatTensor",
    np.dtype(np.float64): "DoubleTensor",
    np.dtype(np.float16): "HalfTensor",
    np.dtype(np.int64): "LongTensor",
    np.dtype(np.int32): "IntTensor",
    np.dtype(np.int16): "ShortTensor",
    np.dtype(np.int8): "CharTensor",
    np.dtype(np.uint8): "ByteTensor",
    np.dtype(np.bool_): "BoolTensor",
}


def _gather(x, order, axis):
    """``x``'s elements at indices ``order`` along ``axis`` (as ``torch.gather``), through
    ``getitem``: the gradient goes back to the gathered elements."""
    if x._data.ndim == 0:
        return x.reshape(order.shape) if order.size else apply(ops.getitem, x.reshape(1), index=[])
    grids, axis = np.indices(order.shape, sparse=True), axis % order.ndim
    index = tuple(order if i == axis else grid for i, grid in enumerate(grids))
    return apply(ops.getitem, x, index=index)


def multinomial(input, num_samples, replacement=False, *, generator=None):  # noqa: A002
    """Draw ``num_samples`` category indices (int64) per row of ``input`` (1-D, or 2-D: one
    row per distribution), each category with probability proportional to its weight, as
    ``torch.multinomial``. Without ``replacement`` each category is drawn at most once (once the
    categories of nonzero weight are used up, those of weight 0 follow, as in torch). From the
    global Generator that ``tg.manual_seed`` seeds unless ``generator`` (a
    ``np.random.Generator``) is given; the numbers differ from torch's.

    >>> import tinygrad_seq as tg
    >>> _ = tg.manual_seed(0)
    >>> tg.multinomial(tg.tensor([0.0, 3.0, 1.0]), 2).tolist() in ([1, 2], [2, 1])
    True
    """
    probs = np.asarray(_array_of(input), dtype=np.float64)
    if probs.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {probs.shape}")
    n = probs.shape[-1]
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral):
        raise TypeError(f"multinomial: num_samples must be an int, got {num_samples!r}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples ({num_samples})")
    if not replacement and num_samples > n:
        raise RuntimeError(
            f"multinomial: cannot sample n_sample ({num_samples}) > prob_dist.size(-1) ({n}) "
            "samples without replacement"
        )
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise RuntimeError(
            "multinomial: probability tensor contains either `inf`, `nan` or element < 0"
        )
    rng = _rng(generator)
    rows = []
    for row in probs.reshape(-1, n):
        total = row.sum()
        if total <= 0:
            raise RuntimeError(
                "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
            )
        drawn = min(num_samples, np.count_nonzero(row)) if not replacement else num_samples
        picked = rng.choice(n, size=drawn, replace=replacement, p=row / total)
        if drawn < num_samples:  # as torch: the weighted ones first, then zero-weight ones
            zero = rng.permutation(np.flatnonzero(row == 0))[: num_samples - drawn]
            picked = np.concatenate([picked, zero])
        rows.append(picked)
    drawn = np.stack(rows).astype(np.int64)
    return Tensor(drawn.reshape(probs.shape[:-1] + (num_samples,)))


def _values_indices(x, arg, op, dim, keepdim):
    """(values, indices) of the elements ``arg`` (np.argmax/argmin) picks along ``dim``; the
    values are gathered from ``x``, so the gradient goes to the picked element only."""
    shape = x._data.shape
    if not shape:  # a 0-d tensor takes dim 0 or -1: itself, at index 0
        _wrap_axis(op, dim, 0, shape)
        return ValuesIndices(x.reshape(()), Tensor(np.array(0)))
    axis = _wrap_axis(op, dim, len(shape), shape)
    if shape[axis] == 0:
        raise IndexError(f"{op}(): cannot reduce over axis {dim} of size 0 (shape {shape})")
    picked = arg(x._data, axis=axis, keepdims=True)
    grids = np.indices(picked.shape, sparse=True)
    index = tuple(picked if i == axis else grid for i, grid in enumerate(grids))
    values = apply(ops.getitem, x, index=index)
    if not keepdim:
        values, picked = values.squeeze(axis), picked.squeeze(axis)
    return ValuesIndices(values, Tensor(picked))


def _pick(x, y, first, second):
    """``x`` where ``first``, ``y`` where ``second``, their mean elsewhere (ties and NaN): the
    gradient of ``maximum``/``minimum`` as PyTorch splits it."""
    tie = x * 0.5 + y * 0.5  # exact for equal values; NaN if either is NaN
    return where(first, x, where(second, y, tie))


def _scaled(other, alpha):
    """``alpha * other``: recorded if ``other`` requires grad, a plain array otherwise."""
    if alpha == 1:
        return other
    if isinstance(other, Tensor) and other._rg and STATE.grad_enabled:
        return other * alpha
    return _array_of(other) * alpha


def _recorded_in_place(x, *, ufunc, other):
    """``x`` after the in-place op ``ufunc`` (None: a write of ``other``), recorded out of place
    in x's dtype: the node an in-place method on a tensor in the graph takes."""
    if ufunc is None:
        return apply(ops.setitem, x, other, index=Ellipsis)
    result = apply(_IN_PLACE_PRIMITIVES[ufunc], x, other)
    return result.astype(x.dtype) if result.dtype != x.dtype else result


_IN_PLACE_PRIMITIVES = {
    np.add: ops.add,
    np.subtract: ops.sub,
    np.multiply: ops.mul,
    np.true_divide: ops.div,
}


def _alpha_form(op, other, args, alpha):
    """(other, alpha) of ``add(other, alpha=a)`` or of torch's deprecated ``add(a, other)``."""
    if not args:
        return other, alpha
    if len(args) == 1 and isinstance(other, numbers.Number) and alpha == 1:
        return args[0], other
    raise TypeError(
        f"{op}: expected ({op}(other, alpha=number) or {op}(number, other)), got "
        f"{1 + len(args)} positional arguments"
    )


# the global Generator of random tensors and in-place fills: reseeded in place by
# ``tg.manual_seed`` (factories), so every holder sees the new seed
GENERATOR = np.random.default_rng()


def _rng(generator):
    """``generator``, or the global Generator that ``tg.manual_seed`` seeds."""
    return GENERATOR if generator is None else generator


def _setitem_recorded(x, *, value, index):
    return apply(ops.setitem, x, value, index=index)


def _setitem_error(tensor, index, value, error):
    """torch's RuntimeError for a value that does not fit the slot it is written into."""
    try:
        slot = np.empty(tensor.shape, bool)[index].shape
    except (IndexError, ValueError, TypeError):
        slot = "?"
    return RuntimeError(
        f"setitem: shape mismatch: a value of shape {np.shape(value)} cannot be broadcast to "
        f"the indexed slot of shape {slot} (tensor shape {tensor.shape}): {error}"
    )


def _no_out(op, out):
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (tensors are not written into by NumPy)")


def _dtype_of(dtype):
    """``np.dtype(dtype)``, with an error naming what is wrong."""
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r} (use e.g. tg.float32 or tg.int64)") from None


def _as_grad(value, tensor):
    """What ``tensor.grad`` holds for ``value``: None, or a Tensor of the tensor's shape. Backward
    assigns its arrays here, and so may users: an array is wrapped, not copied."""
    if type(value) is np.ndarray:  # what backward assigns, once per leaf: no more checks
        grad = Tensor._from_op(value, None)
    elif value is None or isinstance(value, Tensor):
        grad = value
    else:
        grad = Tensor._from_op(np.asarray(value), None)
    if grad is not None and grad._data.shape != tensor._data.shape:
        raise RuntimeError(
            f"assigned grad has shape {grad._data.shape}, but the {tensor._kind} has shape "
            f"{tensor._data.shape}"
        )
    return grad


def _comparable(x):
    return isinstance(x, (Tensor, np.ndarray, np.generic, numbers.Number, list, tuple))


def _array_of(x):
    return x._data if isinstance(x, Tensor) else x


def _index_of(index):
    """An index with Tensors replaced by their arrays, lists by int arrays."""
    if type(index) in (int, slice):
        return index
    if isinstance(index, tuple):
        return tuple(_index_of(i) for i in index)
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _compare(name, compare, x, y):
    """A comparison: a bool tensor without gradient; bad shapes are named like an op's."""
    if STATE.tracer is not None:  # no primitive: the traced step's result would be replayed
        raise ValueError(
            f"scan: the comparison {name} in the step is computed once, on the values of the "
            "step being traced, and would be replayed at every step; use primitives (relu, "
            "abs, clip), compare outside the loop, or run it under tg.eager()"
        )
    a, b = _array_of(x), _array_of(y)
    try:
        return Tensor(compare(a, b))
    except ValueError as e:
        raise _op_error(name, [np.asarray(a), np.asarray(b)], {}, e) from None


def _renamed(error, name):
    """The error of the op a composite is made of (max for min), named after the composite."""
    return type(error)(f"{name}: {str(error).partition(': ')[2]}")


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < float, as PyTorch orders them


def _constant(value, like):
    """A number or array next to a tensor (``like``: its array, or None), promoted as PyTorch
    promotes: Python and NumPy scalars are weak, a tensor of their kind keeps its dtype
    (float32 * np.float64(2) is float32) and a float scalar makes an integer tensor the default
    float32; a 0-d array does not widen a tensor with axes of its kind (PyTorch's 0-d tensor)."""
    scalar = isinstance(value, (numbers.Number, np.generic))
    if not scalar or like is None:  # Python floats alone are float32, as Tensor(2.0)
        array = _to_array(value, None)
        if like is None or array.ndim or not like.ndim:
            return array  # arrays of the same standing: NumPy promotes them as PyTorch does
    else:
        array = np.asarray(value)  # not float32 yet: a float64 tensor keeps all of 1 / 3
        if array.dtype.kind not in "biuf":
            raise TypeError(f"cannot combine a tensor with a {type(value).__name__} scalar")
    if array.dtype.kind == "b":
        return array  # NumPy promotes a bool as PyTorch does
    kind, like_kind = _CATEGORY[array.dtype.kind], _CATEGORY[like.dtype.kind]
    if kind <= like_kind:
        return array.astype(like.dtype)
    if scalar:  # a float scalar with an integer tensor, an int with a bool tensor
        return array.astype(DEFAULT_FLOAT if kind == 2 else np.int64)
    return array


def _with_constants(args, arrays):
    """The forward's arrays when some arguments are not tensors (see ``_constant``)."""
    like = next((a._data for a in args if isinstance(a, Tensor)), None)
    arrays = [a if isinstance(t, Tensor) else _constant(a, like) for a, t in zip(arrays, args)]
    if like is not None and like.dtype.kind != "f":  # an integer tensor made float by a scalar:
        floats = [a.dtype for a in arrays if a.dtype.kind == "f"]  # cast it, or NumPy widens it
        if floats:
            arrays = [
                a.astype(floats[0]) if isinstance(t, Tensor) and a.dtype.kind != "f" else a
                for a, t in zip(arrays, args)
            ]
    return arrays


def seed_gradient(output, grad, create_graph, names=("backward()", "grad", "the tensor")):
    """The gradient a backward from ``output`` starts with: ``grad`` checked against its shape
    (ones for a one-element output when None), in its dtype; an array for a first-order sweep, a
    Tensor (which may itself require grad) when the backward records. ``names``: who asks, and
    what it calls the gradient and the output, for the errors.

    >>> import tinygrad_seq as tg
    >>> seed_gradient((tg.ones(1, requires_grad=True) * 2).sum(), None, False)
    array(1., dtype=float32)
    """
    caller, grad_name, output_name = names
    if not output._rg:
        raise RuntimeError(
            f"{caller}: {output_name} does not require grad and has no graph (shape {output.shape})"
        )
    if grad is None:
        if output._data.size != 1:
            raise RuntimeError(
                f"{caller}: {grad_name} can be omitted only for a one-element output, got shape "
                f"{output.shape}; pass {grad_name} of that shape (or call .sum() first)"
            )
        grad = np.ones_like(output._data)
    if np.shape(grad) != output.shape:
        raise ValueError(
            f"{caller}: {grad_name} has shape {np.shape(grad)} but {output_name} has shape "
            f"{output.shape}"
        )
    if create_graph:  # the backward records: its gradient is a Tensor (which may need grad)
        if isinstance(grad, Tensor):
            return grad.astype(output.dtype)
        return Tensor(np.asarray(grad, output.dtype))
    return np.asarray(grad._data if isinstance(grad, Tensor) else grad, dtype=output.dtype)


def _zero_dim_promoted(arrays):
    """PyTorch's rule for 0-d tensors next to tensors with dimensions: like a number, a 0-d tensor
    takes their dtype unless its category (bool < integer < float) is higher (float32 times a 0-d
    float64 tensor stays float32; NumPy would widen it)."""
    dimensioned = [a.dtype for a in arrays if a.ndim and a.dtype.kind != "b"]  # not masks
    if not dimensioned or all(a.dtype == dimensioned[0] for a in arrays):
        return arrays
    target = np.result_type(*dimensioned)
    rank = _CATEGORY.get(target.kind)
    if rank is None:
        return arrays
    return [
        a.astype(target)
        if a.ndim == 0 and a.dtype != target and _CATEGORY.get(a.dtype.kind, 3) <= rank
        else a
        for a in arrays
    ]


def apply(prim, *args, **params):
    """Run primitive ``prim`` on ``args`` (Tensors or constants) and record it for backward.

    >>> import tinygrad_seq as tg
    >>> tg.apply(tg.ops.mul, tg.Tensor([2.0]), 3.0)
    Tensor([6.])
    """
    # one pass over the inputs: arrays for the forward, parent nodes for the graph
    record, mask = STATE.grad_enabled, prim.grad_mask  # mask None: every input differentiable
    arrays, parents, constants, recorded, watch, plain = [], [], False, False, None, None
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            arrays.append(a._data)
            if record and a._rg and (mask is None or mask[i]):
                parents.append(a._node or a.node)  # .node makes a leaf's node on first use
                recorded = True
                continue
            version = a._vc
            if record and version is not None and (prim.saves is None or i in prim.saves):
                # saved with no parent node that a write into it would mark: keep its version
                watch = (watch or ()) + ((i, version, version.count),)
            if record:  # a tensor with no parent node: the drawings show it as an input box
                plain = (plain or ()) + ((i, a._data.shape, a._data.dtype, a._name),)
        else:
            arrays.append(a)
            constants = True
        parents.append(None)
    if constants:  # numbers take the dtype of the first tensor (no float32 upcast)
        arrays = _with_constants(args, arrays)
    if len(arrays) > 1 and (
        arrays[0].dtype is not arrays[1].dtype
        or (len(arrays) > 2 and arrays[1].dtype is not arrays[2].dtype)
    ):  # mixed dtypes (rare, so the common case pays two comparisons)
        arrays = _zero_dim_promoted(arrays)
    try:
        out = prim.forward(*arrays, **params)
    except (ValueError, IndexError, TypeError) as e:
        raise _op_error(prim.name, arrays, params, e) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if STATE.anomaly:
        check_forward(prim.name, arrays, out)
    node = None
    if recorded:
        saved_inputs, saved_out = prim.saved(arrays, out)
        node = Node(prim, tuple(parents), saved_inputs, params, saved_out, out)
        node.watched, node.input_shapes = watch, plain
        if STATE.keep_values:  # for drawing: ``value`` outlives backward, which frees ``out``
            node.out = node.value = out
    result = Tensor._from_op(out, node)
    if STATE.tracer is not None:  # scan is recording a step
        STATE.tracer.append((prim, args, arrays, params, result))
    return result


def watched(args, parents, saves):
    """(position, Version, version) of each saved input Tensor without a parent node, for a node
    built outside ``apply`` (``scan``); None if there is none. ``apply`` does the same inline.

    An input with a parent node needs no entry: a write into it marks that node
    (``engine.note_write``), which the graph refers to anyway.

    >>> import numpy as np, tinygrad_seq as tg
    >>> data = tg.Tensor(np.ones(2))
    >>> [(i, count) for i, _, count in watched((data, 2.0), (None, None), None)]
    [(0, 0)]
    """
    found = None
    for i, a in enumerate(args):
        if parents[i] is None and (saves is None or i in saves) and isinstance(a, Tensor):
            version = a._vc
            if version is not None:
                found = (found or ()) + ((i, version, version.count),)
    return found


def _op_error(name, arrays, params, error):
    shapes = " and ".join(str(a.shape) for a in arrays)
    if name == "matmul" and all(a.ndim for a in arrays):
        a, b = arrays
        k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        return ValueError(
            f"matmul: shapes {a.shape} @ {b.shape} do not match: the last axis of the left "
            f"({a.shape[-1]}) must equal the {'first' if b.ndim == 1 else 'second-to-last'} "
            f"axis of the right ({k_b})"
        )
    detail = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "index")
    if "index" in params:
        detail = f"index {params['index']!r}"
    kind = IndexError if isinstance(error, IndexError) else ValueError
    return kind(
        f"{name}: cannot apply to shape(s) {shapes}{' with ' if detail else ''}{detail}: {error}"
    )


# --- functions over several tensors ---------------------------------------------------------------


def _tensors(items, fn):
    items = list(items)
    if not items:
        raise ValueError(f"{fn}: needs at least one tensor")
    return items


def concat(tensors, axis=None, *, dim=None):
    """Join tensors along an existing axis (default 0), as ``torch.cat``/``np.concatenate``."""
    return apply(ops.concat, *_tensors(tensors, "concat"), axis=_axis(axis, dim, default=0))


cat = concat


def stack(tensors, axis=None, *, dim=None):
    """Join tensors along a new axis (default 0)."""
    return apply(ops.stack, *_tensors(tensors, "stack"), axis=_axis(axis, dim, default=0))


def split(tensor, split_size_or_sections, axis=None, *, dim=None):
    """Cut ``tensor`` along ``axis`` into pieces of ``split_size`` (an int, the last piece may be
    smaller) or of the listed sizes, as ``torch.split``. The pieces are views, not copies.

    >>> import numpy as np, tinygrad_seq as tg
    >>> [p.shape for p in tg.split(tg.Tensor(np.zeros((2, 8))), 2, axis=1)]
    [(2, 2), (2, 2), (2, 2), (2, 2)]
    """
    axis = _axis(axis, dim, default=0)
    n = _length(tensor, axis, "split")
    if isinstance(split_size_or_sections, numbers.Integral):
        if n == 0 and split_size_or_sections >= 0:  # one empty piece, as PyTorch
            return [apply(ops.getitem, tensor, index=(slice(None),) * tensor.ndim)]
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split size must be positive, got {split_size_or_sections}")
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} sum to {sum(sizes)}, but axis {axis} has {n}")
    lead = (slice(None),) * (axis % tensor.ndim)
    pieces, start = [], 0
    for size in sizes:
        pieces.append(apply(ops.getitem, tensor, index=lead + (slice(start, start + size),)))
        start += size
    return pieces


def chunk(tensor, chunks, axis=None, *, dim=None):
    """Cut ``tensor`` into ``chunks`` pieces along ``axis`` (the last may be smaller), as
    ``torch.chunk``: ``i, f, g, o = tg.chunk(gates, 4, axis=1)``."""
    axis = _axis(axis, dim, default=0)
    n = _length(tensor, axis, "chunk")
    if chunks <= 0:
        raise ValueError(f"chunk: number of chunks must be positive, got {chunks}")
    if n == 0:  # PyTorch gives ``chunks`` empty pieces
        return split(tensor, [0] * chunks, axis)
    return split(tensor, -(-n // chunks), axis)


def _length(tensor, axis, fn):
    if not -tensor.ndim <= axis < tensor.ndim:
        raise IndexError(f"{fn}: axis {axis} is out of range for shape {tensor.shape}")
    return tensor.shape[axis]


def linear(x, weight, weight_t=None):
    """``x @ weight.T`` for a weight stored (out_features, in_features), as PyTorch stores it.

    ``weight_t`` is an optional speed hint: ``np.ascontiguousarray(weight.numpy().T)``, made once by
    a layer that multiplies by the same weight at every time step (BLAS is slower on a transposed
    view). It takes no gradient. ``nn.functional.linear`` adds checks and a bias.

    >>> import numpy as np, tinygrad_seq as tg
    >>> from tinygrad_seq._tensor import linear
    >>> linear(tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((4, 3)))).shape
    (2, 4)
    """
    if weight_t is None:
        return apply(ops.linear, x, weight)
    return apply(ops.linear, x, weight, weight_t)


def where(condition, x, y):
    """Elementwise ``x`` where ``condition`` else ``y``; the condition takes no gradient."""
    cond = _array_of(condition)
    if not isinstance(cond, np.ndarray) or cond.dtype != np.bool_:
        cond = np.asarray(cond, dtype=bool)
    return apply(ops.where, cond, x, y)


# --- NumPy's protocols: a VJP runs unchanged on Tensors, and records ------------------------------
# (``backward(create_graph=True)``). Differentiable ufuncs are primitives (``ndarray * t`` records,
# as ``t * ndarray`` does); comparisons and sign are piecewise constant: a mask without gradient.
# The NumPy functions VJPs use (np.where, np.sum, ...) record inside a recorded backward; elsewhere,
# and for other functions, NumPy sees the arrays, as before (np.allclose(t, ...), np.stack(ts)).

_UFUNCS = {
    np.add: ops.add,
    np.subtract: ops.sub,
    np.multiply: ops.mul,
    np.true_divide: ops.div,
    np.matmul: ops.matmul,
    np.negative: ops.neg,
    np.power: ops.power,
    np.exp: ops.exp,
    np.log: ops.log,
    np.sqrt: ops.sqrt,
    np.absolute: ops.absolute,
    np.tanh: ops.tanh,
}
_MASKS = frozenset(
    [np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal, np.sign]
    + [np.logical_and, np.logical_or, np.logical_not, np.isfinite, np.isnan, np.isinf]
)


def _array_ufunc(ufunc, method, inputs, kwargs):
    if method == "__call__" and not kwargs:
        prim = _UFUNCS.get(ufunc)
        if prim is not None:
            return apply(prim, *inputs)
        if ufunc in _MASKS:
            return Tensor(ufunc(*[_array_of(x) for x in inputs]))
    out = kwargs.get("out")
    if method == "__call__" and kwargs.keys() == {"out"} and not any(_is_tensor(o) for o in out):
        # an in-place write into an array (``w.data -= lr * t``): plain arrays, nothing recorded
        return ufunc(*[_array_of(x) for x in inputs], out=out)
    raise TypeError(
        f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method} of a Tensor: not a "
        f"primitive{' (no out=, dtype=, where=)' if kwargs else ''}; use the Tensor's methods"
    )


def _is_tensor(x):
    return isinstance(x, Tensor)


def _dummy(shape):
    return np.broadcast_to(np.empty((), bool), shape)  # a shape to ask NumPy about, no memory


_RECORDED = {
    np.where: lambda cond, x, y: where(cond, x, y),
    np.sum: lambda a, axis=None, keepdims=False: _tensor(a).sum(axis, keepdims),
    # broadcast_to(a, shape) = a + zeros(shape): its gradient is summed back by the engine
    np.broadcast_to: lambda a, shape: apply(ops.add, a, np.zeros(shape, _tensor(a).dtype)),
    np.expand_dims: lambda a, axis: _tensor(a).reshape(np.expand_dims(_dummy(a.shape), axis).shape),
    np.squeeze: lambda a, axis=None: _tensor(a).reshape(np.squeeze(_dummy(a.shape), axis).shape),
    np.reshape: lambda a, shape: _tensor(a).reshape(shape),
    np.swapaxes: lambda a, axis1, axis2: _tensor(a).transpose(axis1, axis2),
    np.transpose: lambda a, axes=None: _tensor(a).permute(*[int(i) for i in _or_empty(axes)]),
    np.concatenate: lambda arrays, axis=0: concat(arrays, axis=axis),
    np.stack: lambda arrays, axis=0: stack(arrays, axis=axis),
}


def _or_empty(axes):
    return () if axes is None else axes


def _tensor(a):
    return a if isinstance(a, Tensor) else Tensor(a)


def _array_function(func, args, kwargs):
    recorded = _RECORDED.get(func) if STATE.recording_backward else None
    if recorded is not None:
        return recorded(*args, **kwargs)
    # as before the protocol: NumPy sees the arrays (np.allclose(t, ...), np.mean(t))
    return func(*_arrays_in(args), **dict(zip(kwargs, _arrays_in(kwargs.values()))))


def _arrays_in(items):
    return [type(a)(_arrays_in(a)) if isinstance(a, (list, tuple)) else _array_of(a) for a in items]
