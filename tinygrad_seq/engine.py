"""The graph and the reverse sweep. This module knows no operation: derivatives live in ``ops``.

Every result of a primitive that needs a gradient gets a ``Node``: the primitive, the parent nodes
(one per input, ``None`` where no gradient is needed), and the arrays the VJPs need. A node refers
to arrays and nodes, and to a Tensor only where that Tensor receives ``.grad`` (leaves), so a
user's intermediate tensors die as usual while the graph keeps what backward needs; after backward
those arrays are dropped and the bare structure (names, shapes) stays for drawing, as in PyTorch.

``backward`` walks the nodes in reverse topological order found with an explicit stack (a recurrent
net unrolled over 10,000 steps is far deeper than Python's recursion limit), calls each VJP, undoes
broadcasting in one place (``unbroadcast``) and accumulates gradients with ``+``.
"""

import contextlib
import itertools
import os
import traceback

import numpy as np

from .ops import IndexedGrad, ProductGrad


class _State:
    """Global switches: recording on/off, anomaly mode, the current name scope."""

    grad_enabled = True
    anomaly = False
    keep_values = False  # keep every op's result on its node, not only what the VJPs read
    scope = ()  # tuple of names, outermost first: ("lstm", "layer 0", "t=3")
    tracer = None  # a list that ``apply`` appends each primitive it runs to (``scan`` records)
    # the options of the backward running now, for an op that stands for many nodes (vjp_all):
    # it frees and keeps of them what the sweep frees and keeps of its own nodes
    retain_graph = False
    keep_grads = False
    inner_visits = 0  # how many nodes such an op visited (numbered after the op itself)


STATE = _State()


_SERIALS = itertools.count()


class Node:
    """One recorded operation (or a leaf that receives a gradient)."""

    __slots__ = (
        "prim",  # the ops.Primitive, None for a leaf
        "parents",  # tuple of Node | None, one per input, in argument order
        "inputs",  # tuple of input arrays for the VJPs; None once freed
        "params",  # dict of non-tensor parameters (axis, shape, index, ...)
        "out",  # the forward result; None once freed
        "shape",
        "dtype",
        "leaf",  # the Tensor that receives .grad (leaves, and tensors with retain_grad)
        "name",  # e.g. "forget gate", or a parameter's dotted name
        "scope",  # names of the enclosing scopes when the node was created
        "created_at",  # "file:line" of user code, recorded in anomaly mode
        "serial",  # creation order: parents are always created before the nodes that use them
        "visit",  # position in the last backward sweep (0 = first), for teaching views
        "grad",  # gradient kept for inspection when backward was asked to keep gradients
        "_g",  # gradient being accumulated during a sweep
        "_g_owned",  # whether _g is a buffer of ours that may be added to in place
        "_products",  # ProductGrads still to be summed into _g (one GEMM for all of them)
        "__weakref__",
    )

    def __init__(self, prim, parents, inputs, params, out, result, leaf=None):
        # ``out`` is what the VJPs keep of the result (None if they never read it); ``result``
        # is the forward result itself, only looked at for its shape and dtype
        self.prim, self.parents, self.inputs, self.params, self.out = (
            prim,
            parents,
            inputs,
            params,
            out,
        )
        self.shape, self.dtype = result.shape, result.dtype
        self.leaf = leaf
        self.name = None
        self.scope = STATE.scope
        self.created_at = _user_frame() if STATE.anomaly else None
        self.serial = next(_SERIALS)
        self.visit = None
        self.grad = None
        self._g = None
        self._g_owned = False
        self._products = None

    @property
    def op(self):
        """The primitive's name, or "leaf"."""
        return self.prim.name if self.prim is not None else "leaf"

    def __repr__(self):
        return f"<Node {self.op} {self.shape} {self.dtype}>"


def toposort(root):
    """Nodes reachable from ``root``, each after every node that consumes it (root first).

    A node is always created after its inputs, so creation order is a topological order: collect
    what is reachable with an explicit stack (no recursion: a recurrent net unrolled over 10,000
    steps is far deeper than Python's recursion limit), then sort by creation, newest first.
    """
    seen, stack = {root}, [root]
    while stack:
        for p in stack.pop().parents:
            if p is not None and p not in seen:
                seen.add(p)
                stack.append(p)
    return sorted(seen, key=_by_serial, reverse=True)


def _by_serial(node):
    return node.serial


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return np.sum(g, axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


def backward(root, grad, retain_graph=False, keep_grads=False):
    """Propagate ``grad`` (the gradient of something w.r.t. ``root``'s value) to every leaf.

    ``retain_graph`` keeps the saved arrays for another sweep; ``keep_grads`` stores every node's
    gradient on ``node.grad`` for inspection (the graph viewer shows them).
    """
    order = toposort(root)
    root._g, root._g_owned = grad, False
    prev = STATE.retain_graph, STATE.keep_grads
    STATE.retain_graph, STATE.keep_grads = retain_graph, keep_grads
    try:
        _sweep(order, retain_graph, keep_grads)
    finally:
        STATE.retain_graph, STATE.keep_grads = prev


def _sweep(order, retain_graph, keep_grads):
    skipped = 0  # visit numbers taken by the nodes a vjp_all op stands for (STATE.inner_visits)
    for visit, node in enumerate(order):
        g = node._g
        node._g = None
        if node._products is not None:
            product = ProductGrad.sum(node._products)
            node._products = None
            g = product if g is None else g + product
        if g is None:
            continue
        node.visit = visit = visit + skipped
        if keep_grads:
            node.grad = g
        if node.leaf is not None:
            _accumulate_into_leaf(node.leaf, g)
        if node.prim is None:
            continue
        if node.inputs is None:
            raise RuntimeError(
                f"backward through the graph a second time: the arrays saved by "
                f"'{node.op}' {node.shape} were freed after the first backward. "
                "Pass retain_graph=True to the first backward to keep them."
            )
        prim, out, inputs, params = node.prim, node.out, node.inputs, node.params
        vjps = prim.vjps if prim.vjp_argnum is None else None
        all_grads = None
        if prim.vjp_all is not None:
            needs = tuple(p is not None for p in node.parents)
            STATE.inner_visits = 0
            all_grads = prim.vjp_all(g, out, *inputs, needs=needs, **params)
            skipped += STATE.inner_visits
        for i, parent in enumerate(node.parents):
            if parent is None:
                continue
            if all_grads is not None:
                gi = all_grads[i]
            elif vjps is not None:  # the common case, without the extra call of prim.vjp
                gi = vjps[i](g, out, *inputs, **params)
            else:
                gi = prim.vjp(i, g, out, inputs, params)
            kind = type(gi)
            if STATE.anomaly and kind is not ProductGrad:
                value = gi.value if kind is IndexedGrad else gi
                _check_finite(value, node, f"the gradient of input {i} of ")
            if kind is ProductGrad:  # summed with its siblings when the parent's turn comes
                if parent._products is None:
                    parent._products = []
                parent._products.append(gi)
            elif kind is IndexedGrad:  # a slice's gradient: added into the parent's buffer
                _accumulate_indexed(parent, gi)
            else:
                _accumulate(parent, unbroadcast(gi, parent.shape))
        if not retain_graph:
            node.inputs = node.out = None


def _accumulate(node, g):
    if node._g is None:
        node._g, node._g_owned = g, False
    elif node._g_owned:
        node._g += g  # our own buffer (a weight shared by T steps adds T times here)
    else:
        node._g, node._g_owned = node._g + g, True


def _accumulate_indexed(node, g):
    if node._g is None:
        node._g, node._g_owned = g.dense(), True
        return
    # a copy if not ours, or a NumPy scalar (two 0-d gradients added make one): add_to writes
    if not node._g_owned or type(node._g) is not np.ndarray:
        node._g, node._g_owned = np.array(node._g, dtype=np.result_type(node._g, g.value)), True
    g.add_to(node._g)


def _accumulate_into_leaf(tensor, g):
    if g.dtype != tensor.data.dtype:
        g = g.astype(tensor.data.dtype)
    if tensor.grad is None:
        # a copy: g may be a view of the user's array or a read-only broadcast
        tensor.grad = np.array(g, copy=True)
    else:
        tensor.grad = tensor.grad + g


# --- switches -------------------------------------------------------------------------------------


class no_grad(contextlib.ContextDecorator):
    """Record no graph inside: a context manager and a decorator, as ``torch.no_grad``.

    >>> import tinygrad_seq as tg
    >>> with tg.no_grad():
    ...     y = tg.Tensor([1.0], requires_grad=True) * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self):
        self._prev, STATE.grad_enabled = STATE.grad_enabled, False

    def __exit__(self, *exc):
        STATE.grad_enabled = self._prev


class enable_grad(no_grad):
    """Record the graph again inside a ``no_grad`` block."""

    def __enter__(self):
        self._prev, STATE.grad_enabled = STATE.grad_enabled, True


class detect_anomaly(contextlib.ContextDecorator):
    """Raise at the first op whose result or gradient holds NaN or Inf, naming the op, the
    shapes and the line of user code that created the node.

    >>> import numpy as np, tinygrad_seq as tg
    >>> with tg.detect_anomaly():
    ...     tg.Tensor(np.array([-1.0])).log()
    Traceback (most recent call last):
    FloatingPointError: 'log' produced NaN/Inf ...
    """

    def __enter__(self):
        self._prev, STATE.anomaly = STATE.anomaly, True
        self._errstate = np.errstate(all="ignore")  # we report it ourselves, with context
        self._errstate.__enter__()

    def __exit__(self, *exc):
        self._errstate.__exit__(*exc)
        STATE.anomaly = self._prev


class keep_values(contextlib.ContextDecorator):
    """Keep every op's result on its graph node, for drawing values (``viz.draw_graph(...,
    show_data=True)``). Normally a node keeps only what its VJPs read.

    >>> import tinygrad_seq as tg
    >>> x = tg.Tensor([1.0, 2.0], requires_grad=True)
    >>> with tg.keep_values():
    ...     y = x + 1
    >>> y.node.out
    array([2., 3.], dtype=float32)
    """

    def __enter__(self):
        self._prev, STATE.keep_values = STATE.keep_values, True

    def __exit__(self, *exc):
        STATE.keep_values = self._prev


@contextlib.contextmanager
def scope(name):
    """Group the nodes created inside under ``name`` (the graph viewer draws one cluster each).

    >>> import tinygrad_seq as tg
    >>> with tg.scope("t=0"):
    ...     y = tg.Tensor([1.0], requires_grad=True) * 2
    >>> y.node.scope
    ('t=0',)
    """
    prev = STATE.scope
    STATE.scope = prev + (str(name),)
    try:
        yield
    finally:
        STATE.scope = prev


def _check_finite(array, node, what):
    if np.issubdtype(array.dtype, np.inexact) and not np.isfinite(array).all():
        _raise_anomaly(what, node.op, node.inputs or (), node.shape, node.created_at)


def check_forward(op, inputs, out):
    """Anomaly mode: fail at the op whose forward result is not finite."""
    if np.issubdtype(out.dtype, np.inexact) and not np.isfinite(out).all():
        _raise_anomaly("", op, inputs, out.shape, _user_frame())


def _raise_anomaly(what, op, inputs, out_shape, created_at):
    shapes = ", ".join(str(tuple(x.shape)) for x in inputs)
    where = f", created at {created_at}" if created_at else ""
    raise FloatingPointError(
        f"{what}'{op}' produced NaN/Inf (input shapes {shapes}; output shape {out_shape}){where}"
    )


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame():
    """'file:line' of the innermost caller outside this package (the user's line)."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno} ({frame.line})"
    return None
