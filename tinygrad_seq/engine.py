"""The graph and the reverse sweep. This module knows no operation: derivatives live in ``ops``.

Every result of a primitive that needs a gradient gets a ``Node``: the primitive, the parent nodes
(one per input, ``None`` where no gradient is needed), and the arrays the VJPs need. A node refers
to arrays and nodes, and to a Tensor only where that Tensor receives ``.grad`` (leaves), so a
user's intermediate tensors die as usual while the graph keeps what backward needs; after backward
those arrays are dropped and the bare structure (names, shapes) stays for drawing, as in PyTorch.

``sweep`` is backprop itself, fifteen lines: it walks the nodes in reverse topological order
(found with an explicit stack: a recurrent net unrolled over 10,000 steps is far deeper than
Python's recursion limit), takes each node's gradient, calls its VJPs and adds the results into
its parents'. What differs between its uses is passed in:

- a gradient store (how VJPs run and results add up): ``FirstOrder`` adds arrays in place and
  defers weight products (``grads.Sums``); ``Recorded`` (``create_graph=True``) runs the same VJPs
  on recording Tensors, so the gradients are Tensors with a graph, differentiable again;
- observers ``f(node, g)``: the leaves receiving ``.grad`` (``Leaves``), ``autograd.grad``'s
  targets (``Targets``), anomaly checks, and for the viewer every gradient and visit number;
- ``Options`` (``retain_graph``, ``keep_grads``), explicit, also for an op standing for many nodes.

The sums live in the store, not on the nodes: two threads may run backward on one retained graph
at once. What the sweep does write on a node: it frees the saved arrays (``inputs``, ``out``)
unless ``retain_graph``, and its observers note ``visit`` (and under ``keep_grads``, ``grad``).

In-place writes by the library (optimizer steps, ``nn.init``, ``load_state_dict``) are versioned
as in PyTorch: a node that saved a value written afterwards refuses to run its VJPs
(``check_versions``) rather than give silently wrong gradients.

The switches the sweep and the recording read (``no_grad``, ``keep_values``, ``scope``, ...) live
in ``modes``; anomaly mode's checks in ``_anomaly``.
"""

import itertools
import operator
import threading

import numpy as np

from ._anomaly import check_finite, check_products, check_reaching, user_frame
from .grads import IndexedGrad, ProductGrad, Sums, dense, sum_products, unbroadcast
from .modes import STATE

_SERIALS = itertools.count()


class Node:
    """One recorded operation (or a leaf that receives a gradient): ``None`` among the parents
    stands for an input that needs no gradient (here the constant 3).

    >>> import numpy as np, tinygrad_seq as tg
    >>> x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> y = x * 3
    >>> y.node, y.node.parents
    (<Node mul (2,) float64>, (<Node leaf (2,) float64>, None))
    """

    __slots__ = (
        "prim",  # the ops.Primitive, None for a leaf
        "parents",  # tuple of Node | None, one per input, in argument order
        "inputs",  # tuple of input arrays for the VJPs; None once freed
        "params",  # dict of non-tensor parameters (axis, shape, index, ...)
        "out",  # the forward result; None once freed
        "value",  # the forward result recorded under keep_values, for drawing: never freed
        "shape",
        "dtype",
        "leaf",  # the Tensor that receives .grad (leaves, and tensors with retain_grad)
        "name",  # e.g. "forget gate", or a parameter's dotted name
        "scope",  # names of the enclosing scopes when the node was created
        "created_at",  # "file:line" of user code, recorded in anomaly mode
        "serial",  # creation order: parents are always created before the nodes that use them
        "visit",  # position in the last backward sweep (0 = first), for teaching views
        "grad",  # gradient kept for inspection when backward was asked to keep gradients
        "writes",  # (serial, Version, version before) of each in-place write into this value
        "watched",  # (position, Version, version) of saved inputs that have no parent node
        "input_boxes",  # for drawing: (position, shape, dtype, name) of each tensor input with no
        # parent node, drawn as an input box
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
        self.created_at = user_frame() if STATE.anomaly else None
        self.serial = next(_SERIALS)
        self.visit = None
        self.grad = None
        self.writes = self.watched = self.input_boxes = self.value = None

    @property
    def op(self):
        """The primitive's name, or "leaf"."""
        return self.prim.name if self.prim is not None else "leaf"

    def __repr__(self):
        return f"<Node {self.op} {self.shape} {self.dtype}>"


# --- versions of values written in place --------------------------------------------------------


class Version:
    """How often the library wrote a tensor's array in place (``Tensor._version``). The tensor and
    the nodes that saved it share this object, not the tensor: a node keeps no tensor alive.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.Parameter(np.zeros(2))
    >>> tg.nn.init.ones_(w)._version
    1
    """

    __slots__ = ("count", "about")

    def __init__(self):
        self.count = 0
        self.about = None  # (kind, name, shape, dtype) at the latest write, for error messages

    def describe(self):
        """E.g. "parameter 'rnn.weight_hh_l0' shape (8, 2) float64"."""
        kind, name, shape, dtype = self.about
        return f"{kind}{f' {name!r}' if name else ''} shape {shape} {dtype}"


_last_write = -1  # serial of the latest in-place write: nodes made after it need no check


def note_write(node, version, before):
    """An in-place write into the value of ``node`` (None if it has no node): nodes made before
    it that saved the value now refuse backward.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.Parameter(np.array([1.0, 2.0])); leaf = w.node
    >>> _ = tg.nn.init.zeros_(w)  # calls note_write(leaf, w's Version, 0)
    >>> [(before, version.count) for _, version, before in leaf.writes]
    [(0, 1)]
    """
    global _last_write
    _last_write = serial = next(_SERIALS)
    if node is not None:
        node.writes = (node.writes or ()) + ((serial, version, before),)


def check_versions(node):
    """Raise if a value ``node``'s VJPs read was written in place after ``node`` was made.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.Parameter(np.array([1.0, 2.0])); loss = (w * w).sum()
    >>> _ = tg.nn.init.zeros_(w)
    >>> check_versions(loss.node.parents[0])  # the mul node, which saved w
    Traceback (most recent call last):
    RuntimeError: one of the tensors ... 'mul' saved input 0, parameter shape (2,) float64, ...
    """
    saves = node.prim.saves  # None: the VJPs read every input and the result
    for i, parent in enumerate(node.parents):
        if parent is not None and parent.writes and (saves is None or i in saves):
            _refuse(node, f"saved input {i}", parent.writes)
    if node.writes and node.prim.saves_out:
        _refuse(node, "saved output", node.writes)
    for i, version, seen in node.watched or ():
        if version.count != seen:
            _refuse(node, f"saved input {i}", ((node.serial + 1, version, seen),))


def _refuse(node, what, writes):
    for serial, version, before in writes:
        if serial > node.serial:  # the first write after node saved the value
            raise RuntimeError(
                "one of the tensors needed for gradient computation has been modified by an "
                f"inplace operation: '{node.op}' {what}, {version.describe()}, is at version "
                f"{version.count}; expected version {before} (it was changed after the forward "
                "pass: call backward before optimizer.step(), nn.init or load_state_dict)"
            )


def toposort(root):
    """Nodes reachable from ``root``, each after every node that consumes it (root first).

    A node is always created after its inputs, so creation order is a topological order: collect
    what is reachable with an explicit stack (no recursion: a recurrent net unrolled over 10,000
    steps is far deeper than Python's recursion limit), then sort by creation, newest first.

    >>> import numpy as np, tinygrad_seq as tg
    >>> x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> [node.op for node in toposort((x.exp() * 2).sum().node)]
    ['sum', 'mul', 'exp', 'leaf']
    """
    return _toposort((root,))


def _toposort(roots):
    seen, stack = set(roots), list(roots)
    while stack:
        for p in stack.pop().parents:
            if p is not None and p not in seen:
                seen.add(p)
                stack.append(p)
    return sorted(seen, key=_BY_SERIAL, reverse=True)


_BY_SERIAL = operator.attrgetter("serial")  # no Python call per node


# --- the reverse sweep ----------------------------------------------------------------------------


def sweep(order, store, options, observers=()):
    """The reverse sweep, the whole of backprop: in ``order`` (each node after every node that
    consumes it), take a node's whole gradient from the ``store``, show it to the ``observers``,
    run the node's VJPs and add each result into its parent's gradient in the store.

    What differs between uses is passed in: the ``store`` (``FirstOrder``: arrays added in place,
    weight products deferred; ``Recorded``: gradients that record, for ``create_graph``), the
    ``observers`` (``f(node, g)``: the leaves or targets collecting their gradients, anomaly
    checks, kept gradients and visit numbers for the viewer), the ``Options``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> y = (x * x).sum()
    >>> reaching = Targets.fromkeys([x.node])
    >>> sweep(toposort(y.node), FirstOrder({y.node: np.array(1.0)}), Options(), [reaching.note])
    >>> reaching[x.node]
    array([2., 4.])
    """
    pop, vjps, add, free = store.pop, store.vjps, store.add, not options.retain_graph
    for node in order:
        g = pop(node)
        if g is None:
            continue
        for observe in observers:
            observe(node, g)
        if node.prim is None:  # a leaf: no VJP
            continue
        if node.inputs is None or node.serial < _last_write:  # inline: a call per node costs 3%
            _check_saved(node)
        for parent, gi in zip(node.parents, vjps(node, g, options)):
            if parent is not None and gi is not None:
                add(parent, gi)
        if free:  # the saved arrays go; the structure stays for drawing
            node.inputs = node.out = None


def backward(root, grad, retain_graph=False, keep_grads=False, create_graph=False):
    """Propagate ``grad`` (the gradient of something w.r.t. ``root``'s value) to every leaf.

    ``retain_graph`` keeps the saved arrays for another sweep; ``keep_grads`` stores every node's
    gradient on ``node.grad`` for inspection (the graph viewer shows them). ``create_graph``: the
    VJPs run on recording Tensors (``grad`` is one), so the leaves' ``.grad`` are Tensors with a
    graph of their own, differentiable again.

    >>> import numpy as np, tinygrad_seq as tg
    >>> x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> backward((x * x).sum().node, np.array(1.0)); x.grad  # what .backward() calls
    Tensor([2., 4.], dtype=float64)
    """
    if create_graph and keep_grads:
        raise ValueError("backward: keep_grads (for the graph viewer) is first order only")
    options = Options(retain_graph, keep_grads)
    leaves = Leaves(options)
    _run(toposort(root), {root: grad}, options, create_graph, [leaves.note])
    leaves.deposit()


def gradients(roots, grads, targets, retain_graph=False, create_graph=False):
    """The gradients reaching the nodes ``targets`` (None for a node not reached) from ``grads``
    of the ``roots``, as ``autograd.grad`` returns them: no ``.grad`` is touched.

    >>> import numpy as np, tinygrad_seq as tg
    >>> x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> gradients([(x * x).sum().node], [np.array(1.0)], [x.node]), x.grad is None
    ([array([2., 4.])], True)
    """
    start = {}
    for root, grad in zip(roots, grads):
        start[root] = grad if root not in start else start[root] + grad
    reaching = Targets.fromkeys(targets)
    order = _leading_to(_toposort(tuple(start)), reaching)
    if not order:  # no output depends on a target
        return [None] * len(targets)
    options = Options(retain_graph)
    _run(order, start, options, create_graph, [Visits(options).number, reaching.note])
    return [reaching[t] for t in targets]


def _run(order, grads, options, create_graph, observers):
    """``sweep`` with the store and the observers the options and modes ask for."""
    if create_graph:
        modes = STATE.grad_enabled, STATE.recording_backward
        STATE.grad_enabled = STATE.recording_backward = True
        try:
            sweep(order, Recorded(grads), options, observers[-1:])  # the leaves or targets
        finally:
            STATE.grad_enabled, STATE.recording_backward = modes
        return
    if options.keep_grads:
        observers = [_keep, *observers]
    if STATE.anomaly:
        sweep(order, Checked(grads), options, [Checked.reaching(), *observers])
    else:
        sweep(order, FirstOrder(grads), options, observers)


def _leading_to(order, targets):
    """The nodes of ``order`` on a path to a target: the sweep goes no further (the graph beyond
    the targets may be freed already, and it is work for nothing)."""
    needed = set()
    for node in reversed(order):  # oldest first: parents before the nodes that use them
        if node in targets or any(p in needed for p in node.parents if p is not None):
            needed.add(node)
    return [node for node in order if node in needed]


def _check_saved(node):
    if node.inputs is None:
        raise RuntimeError(
            f"backward through the graph a second time: the arrays saved by "
            f"'{node.op}' {node.shape} were freed after the first backward. "
            "Pass retain_graph=True to the first backward to keep them."
        )
    if node.serial < _last_write:  # written in place since: did that touch what we read?
        check_versions(node)


class Options:
    """A backward's options, passed explicitly to the sweep and on to an op that stands for many
    nodes (``scan``: it frees and keeps of its inner steps what the sweep frees and keeps of its
    own nodes). ``inner_visits``: how many inner nodes such an op visited, set by the op (the
    viewer numbers them after it)."""

    __slots__ = ("retain_graph", "keep_grads", "inner_visits")

    def __init__(self, retain_graph=False, keep_grads=False):
        self.retain_graph, self.keep_grads, self.inner_visits = retain_graph, keep_grads, 0


# --- the stores: how the VJPs run and how their results are added up ---------------------------


class FirstOrder(Sums):
    """The first-order store: the VJPs run on arrays, their results added up by ``grads.Sums``."""

    __slots__ = ()

    def vjps(self, node, g, options):
        """Each input's gradient, None where its parent is None (no gradient needed)."""
        prim, parents = node.prim, node.parents
        vjps = prim.vjps  # the common case first, without the extra call of prim.vjp
        if len(parents) == 1 and prim.grad_mask is not None:  # its parent needs a gradient
            return (vjps[0](g, node.out, *node.inputs, **node.params),)
        out, inputs, params = node.out, node.inputs, node.params
        if prim.vjp_all is not None:  # one rule for all inputs (a compiled loop)
            needs = tuple(p is not None for p in parents)
            return prim.vjp_all(g, out, *inputs, needs=needs, options=options, **params)
        if prim.vjp_argnum is not None:  # variadic (concat, stack)
            vjp = prim.vjp_argnum
            return [
                None if p is None else vjp(i, g, out, *inputs, **params)
                for i, p in enumerate(parents)
            ]
        if len(parents) == 2:  # unrolled: a comprehension is a call of its own
            first, second = parents
            return (
                None if first is None else vjps[0](g, out, *inputs, **params),
                None if second is None else vjps[1](g, out, *inputs, **params),
            )
        return [
            None if p is None else vjps[i](g, out, *inputs, **params) for i, p in enumerate(parents)
        ]


class Checked(FirstOrder):
    """The first-order store under anomaly mode: every VJP's result is checked as it is made
    (a deferred product when its sum is: the inputs that made it are noted for the message)."""

    __slots__ = ("makers",)

    def __init__(self, grads):
        super().__init__(grads)
        self.makers = {}  # node -> (op node, input index, inputs) of each of its pending products

    def vjps(self, node, g, options):
        grads = super().vjps(node, g, options)
        for i, (parent, gi) in enumerate(zip(node.parents, grads)):
            if parent is None:
                continue
            if type(gi) is ProductGrad:  # the inputs too: freed before the products are summed
                self.makers.setdefault(parent, []).append((node, i, node.inputs))
            else:
                check_finite(gi.value if type(gi) is IndexedGrad else gi, node, i)
        return grads

    def pop(self, node):
        products = self.products.pop(node, None)
        g = self.grads.pop(node, None)
        if products is None:
            return g
        product = sum_products(products)
        check_products(product, products, self.makers.pop(node))
        return product if g is None else g + product

    @staticmethod
    def reaching():
        """The observer checking the whole gradient that reaches each node (0: the root's)."""
        visits = itertools.count()
        return lambda node, g: check_reaching(g, node, next(visits))


class Recorded:
    """The store of ``create_graph=True``: the same VJPs, run on Tensors that record, so every
    gradient is a Tensor with a graph of its own (derivatives of derivatives, to any order).

    A node's saved arrays join the graph as Tensors of the node they came from (an input as its
    parent's value, ``out`` as the node's own), so the recorded VJP is differentiable in them too.
    Gradients are added out of place (a recorded value is never written), and the first order's
    deferred forms are recorded as what they stand for (``grads.dense``). Slower than
    ``FirstOrder``, which therefore records nothing."""

    __slots__ = ("grads", "wrap")

    def __init__(self, grads):
        self.grads = grads
        self.wrap = type(next(iter(grads.values())))._from_op  # a recording gradient's: Tensor

    def pop(self, node):
        return self.grads.pop(node, None)

    def add(self, node, g):
        g = unbroadcast(dense(g), node.shape)
        prev = self.grads.get(node)
        self.grads[node] = g if prev is None else prev + g

    def vjps(self, node, g, options):
        prim, params, wrap = node.prim, node.params, self.wrap
        out = None if node.out is None else wrap(node.out, node)
        if prim.vjp_all is not None:  # its inputs are its own (a loop's tape): it wraps them
            needs = tuple(p is not None for p in node.parents)
            return prim.vjp_all(
                g, out, *node.inputs, needs=needs, options=options, parents=node.parents, **params
            )
        inputs = tuple(
            wrap(x, p) if p is not None and type(x) is np.ndarray else x
            for x, p in zip(node.inputs, node.parents)
        )
        return [
            None if p is None else prim.vjp(i, g, out, inputs, params)
            for i, p in enumerate(node.parents)
        ]


# --- the observers -------------------------------------------------------------------------------


class Targets(dict):
    """``autograd.grad``'s observer: the gradients reaching its target nodes (None: not reached)."""

    def note(self, node, g):
        if node in self:
            self[node] = g


# two threads' sweeps may reach one leaf at once: its read-add-write of .grad must not interleave.
# A sweep adds to its leaves at its end, all under one lock (a lock per leaf cost 3% of a small
# MLP's backward)
_LEAF_LOCK = threading.Lock()


class Leaves:
    """``backward``'s observer: the gradients reaching leaves, added into ``.grad`` at the end.
    It numbers the visits too (as ``Visits`` does, inline: one call per node fewer, ~2% of a
    backward on small arrays)."""

    __slots__ = ("reached", "options", "next")

    def __init__(self, options):
        self.reached = []  # (leaf tensor, its gradient)
        self.options, self.next = options, 0

    def note(self, node, g):
        inner, options = self.options.inner_visits, self.options
        if inner:  # taken by the node visited before this one
            self.next += inner
            options.inner_visits = 0
        node.visit = self.next
        self.next += 1
        if node.leaf is not None:
            self.reached.append((node.leaf, g))

    def deposit(self):
        with _LEAF_LOCK:
            for tensor, g in self.reached:
                if g.dtype != tensor._data.dtype:
                    g = g.astype(tensor._data.dtype)
                if type(g) is not np.ndarray:  # create_graph: .grad is the recording Tensor
                    tensor.grad = g if tensor.grad is None else tensor.grad + g
                    continue
                grad = tensor.grad  # a Tensor (``Tensor.grad`` wraps the arrays assigned here)
                if grad is None:
                    # a copy: g may be a view of the user's array or a read-only broadcast
                    tensor.grad = np.array(g, copy=True)
                else:
                    tensor.grad = grad._data + g


def _keep(node, g):
    """``keep_grads``' observer: every node keeps its gradient, for inspection."""
    node.grad = g


class Visits:
    """The observer numbering the nodes in the order the first-order sweep visits them (0 first,
    ``node.visit``, kept for drawing); an op that stands for many nodes takes a number for each
    of them (``Options.inner_visits``)."""

    __slots__ = ("options", "next")

    def __init__(self, options):
        self.options, self.next = options, 0

    def number(self, node, g):
        options = self.options
        self.next += options.inner_visits  # those of the node visited before this one
        options.inner_visits = 0
        node.visit = self.next
        self.next += 1
