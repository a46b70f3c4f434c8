"""Tensor: a NumPy array that records the primitives applied to it. This file is the core:
the tensor's state, the versions of in-place writes, and ``apply``, which runs a primitive and
records a graph node. Read it first.

The PyTorch surface is inherited from mixins, one file per theme: ``tensor_math`` (operators,
comparisons, elementwise functions), ``tensor_reduce`` (sum, max, softmax, sort, ...),
``tensor_shape`` (reshape, indexing, split, ...), ``tensor_inplace`` (``add_``, ``t[i] = v``,
...), ``tensor_convert`` (dtypes, device, Python numbers) and ``_numpy_protocol`` (``np.exp(t)``).
Promotion (which dtype an op's result takes) is ``_promotion``.
"""

import functools

import numpy as np

from . import ops
from ._anomaly import check_forward
from ._numpy_protocol import NumpyProtocol
from ._promotion import DEFAULT_FLOAT, _to_array, with_constants, zero_dim_promoted
from ._tensor_base import _array_of, _op_error
from .devices import check as _check_device  # noqa: F401 -- the one check of every device=
from .engine import Node, Version, backward, note_write
from .modes import STATE
from .tensor_convert import TensorConvert
from .tensor_inplace import TensorInPlace
from .tensor_math import TensorMath
from .tensor_reduce import TensorReduce
from .tensor_shape import TensorShape


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


def apply(prim, *args, **params):
    """Run primitive ``prim`` on ``args`` (Tensors or constants) and record it for backward.

    >>> import tinygrad_seq as tg
    >>> tg.apply(tg.ops.mul, tg.Tensor([2.0]), 3.0)
    Tensor([6.])
    """
    links = graph_links(prim, args) if STATE.grad_enabled else None  # None: not recorded
    arrays, constants = [], False
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a._data)
        else:
            arrays.append(a)
            constants = True
    if constants:  # numbers take the dtype of the first tensor (no float32 upcast)
        arrays = with_constants(args, arrays)
    if len(arrays) > 1 and (
        arrays[0].dtype is not arrays[1].dtype
        or (len(arrays) > 2 and arrays[1].dtype is not arrays[2].dtype)
    ):  # mixed dtypes (rare, so the common case pays two comparisons)
        arrays = zero_dim_promoted(arrays)
    try:
        out = prim.forward(*arrays, **params)
    except (ValueError, IndexError, TypeError) as e:
        raise _op_error(prim.name, arrays, params, e) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if STATE.anomaly:
        check_forward(prim.name, arrays, out)
    node = None
    if links is not None:
        saved_inputs, saved_out = prim.saved(arrays, out)
        node = record_node(prim, args, saved_inputs, params, saved_out, out, links)
        if STATE.keep_values:  # for drawing: ``value`` outlives backward, which frees ``out``
            node.out = node.value = out
    result = Tensor._from_op(out, node)
    if STATE.tracer is not None:  # scan is recording a step
        STATE.tracer.append((prim, args, arrays, params, result))
    return result


def graph_links(prim, args):
    """What a node of ``prim`` on ``args`` links to, in one pass over the inputs: (parents,
    watched, input boxes), or None when no differentiable input requires grad (then the op is
    not recorded). Parents are the nodes of the inputs that require grad (where ``prim``
    differentiates them); ``watched`` holds (position, Version, version) of each saved input
    Tensor without a parent node, whose in-place writes backward must refuse (an input with a
    parent needs none: a write into it marks that node, ``engine.note_write``); the boxes are the
    Tensors without a parent node, which the drawings show as inputs.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w, x = tg.ones(2, requires_grad=True), tg.ones(2)
    >>> parents, watched, boxes = graph_links(tg.ops.mul, (w, x))
    >>> parents == (w.node, None), [i for i, _, count in watched], boxes
    (True, [1], ((1, (2,), dtype('float32'), None),))
    >>> graph_links(tg.ops.mul, (x, 2.0)) is None
    True
    """
    mask, saves = prim.grad_mask, prim.saves  # mask None: every input differentiable
    parents, watched, boxes, recorded = [], None, None, False
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            if a._requires_grad and (mask is None or mask[i]):
                parents.append(a._node or a.node)  # .node makes a leaf's node on first use
                recorded = True
                continue
            version = a._version_counter
            if version is not None and (saves is None or i in saves):
                watched = (watched or ()) + ((i, version, version.count),)
            boxes = (boxes or ()) + ((i, a._data.shape, a._data.dtype, a._name),)
        parents.append(None)
    return (tuple(parents), watched, boxes) if recorded else None


def record_node(prim, args, saved_inputs, params, saved_out, out, links=None):
    """The graph node of ``prim`` applied to ``args``: the one place a node is made (``apply``,
    and the compiled loop for its ``scan`` node), linked as ``graph_links`` says (computed here
    unless given).

    >>> import numpy as np, tinygrad_seq as tg
    >>> w, x = tg.ones(2, requires_grad=True), tg.ones(2)
    >>> node = record_node(tg.ops.mul, (w, x), (w.numpy(), x.numpy()), {}, None, np.ones(2))
    >>> node.parents == (w.node, None), node.input_boxes
    (True, ((1, (2,), dtype('float32'), None),))
    """
    parents, watched, boxes = links or graph_links(prim, args)
    node = Node(prim, parents, saved_inputs, params, saved_out, out)
    node.watched, node.input_boxes = watched, boxes
    return node


class Tensor(NumpyProtocol, TensorMath, TensorReduce, TensorShape, TensorInPlace, TensorConvert):
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

    __slots__ = (
        "_data",
        "_requires_grad",
        "_node",
        "_grad",
        "_name",
        "_version_counter",
        "__weakref__",
    )

    _kind = "tensor"  # how error messages call it ("parameter" for nn.Parameter)

    def __init__(self, data, requires_grad=False, dtype=None, *more_sizes):
        if type(data) is int:  # torch.Tensor(2, 3): a float32 tensor of that size (zeros here)
            data, requires_grad, dtype = _sizes_form(data, requires_grad, dtype, more_sizes)
        self._data = _to_array(data, dtype)
        if dtype is None and type(data) in (list, tuple) and self._data.dtype.kind in "biu":
            self._data = self._data.astype(DEFAULT_FLOAT)  # torch.Tensor([0, 1]) is float32
        if requires_grad:
            _check_can_require_grad(self._data)
        self._requires_grad = bool(requires_grad)
        self._node = None
        self._grad = None
        self._name = None
        # made now, not at the first write: a node that saves a tensor with no node of its own (a
        # frozen parameter) keeps this to check. An op's result gets one at its first write.
        self._version_counter = Version()

    @classmethod
    def _from_op(cls, array, node):
        t = object.__new__(cls)
        t._data, t._node, t._requires_grad, t._grad = array, node, node is not None, None
        t._name = t._version_counter = (
            None  # _version_counter: made at the first in-place write, if one ever comes
        )
        return t

    @property
    def _version(self):
        """How many times the library wrote this tensor in place (as ``torch.Tensor._version``)."""
        return 0 if self._version_counter is None else self._version_counter.count

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
        version, node = self._version_counter, self._node
        if version is None:
            version = self._version_counter = Version()
        version.count += 1
        version.about = (self._kind, self._name, self._data.shape, self._data.dtype)  # for errors
        note_write(node, version, version.count - 1)
        if node is not None and node.prim is None:
            self._node = None  # the next forward gets a fresh leaf node, of the new version

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
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value:
            _check_can_require_grad(self._data)
        elif self._node is not None and self._node.prim is not None:
            raise RuntimeError("requires_grad can only be switched off on leaves; use detach()")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return self, as in PyTorch."""
        self.requires_grad = requires_grad
        return self

    @property
    def node(self):
        """The graph node behind this tensor (None if it needs no gradient)."""
        if self._node is None and self._requires_grad:
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
        if self._requires_grad and STATE.grad_enabled:
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

    @staticmethod
    def _new(data, requires_grad=False):
        """A Tensor of ``data`` (never a subclass such as nn.Parameter): how the surface mixins
        make one."""
        return Tensor(data, requires_grad)

    # ``apply`` itself, with no call in between (every op of the surface goes through it): how
    # ``Primitive.bind`` records on a Tensor (ops knows no Tensor), and how the surface mixins,
    # which sit below this module, record a primitive: ``x._bind(prim, x, y)``
    _bind = staticmethod(apply)

    def _in_place(self, op, ufunc, other, out_of_place=None, recorded=None):
        """Write ``ufunc(self, other)`` (``other`` itself if ufunc is None) into self's array and
        count the write. A leaf that requires grad takes one only under ``no_grad``, as in
        PyTorch. When self or ``other`` requires grad the write is recorded: on a result in the
        graph the operators rebind (``h += x`` is ``h = h + x``, which backward follows); the
        methods (``add_``, ``copy_``, ...), and the operators on a tensor outside the graph,
        keep self, which takes the op's node (``recorded``, or the ufunc's or ``setitem``'s),
        as torch records an in-place op (see ``_rebase``)."""
        if STATE.grad_enabled and (
            self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)
        ):
            if self._requires_grad and self.is_leaf:
                raise RuntimeError(
                    f"{op}: a leaf Variable that requires grad is being used in an in-place "
                    "operation (update parameters under `with tg.no_grad():`)"
                )
            if out_of_place is not None and self._requires_grad:
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
        self._node, self._requires_grad = out._node, out._requires_grad
        return self

    def _reshaped_in_place(self, op, result):
        if self._requires_grad and STATE.grad_enabled and self.is_leaf:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        self._data, self._node = result._data, result._node
        if self._node is not None and self._node.prim is None:
            self._node = None
        return self


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
    if not output._requires_grad:
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


def matmul_transposed(x, weight, weight_t=None):
    """``x @ weight.T`` for a weight stored (out_features, in_features), as PyTorch stores it.

    ``weight_t`` is an optional speed hint: ``np.ascontiguousarray(weight.numpy().T)``, made once by
    a layer that multiplies by the same weight at every time step (BLAS is slower on a transposed
    view). It takes no gradient. ``nn.functional.linear`` adds checks and a bias.

    >>> import numpy as np, tinygrad_seq as tg
    >>> from tinygrad_seq._tensor import matmul_transposed
    >>> matmul_transposed(tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((4, 3)))).shape
    (2, 4)
    """
    if weight_t is None:
        return apply(ops.linear, x, weight)
    return apply(ops.linear, x, weight, weight_t)
