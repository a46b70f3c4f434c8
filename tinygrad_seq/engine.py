"""The graph and the reverse sweep. This module knows no operation: derivatives live in ``ops``.

Every result of a primitive that needs a gradient gets a ``Node``: the primitive, the parent nodes
(one per input, ``None`` where no gradient is needed), and the arrays the VJPs need. A node refers
to arrays and nodes, and to a Tensor only where that Tensor receives ``.grad`` (leaves), so a
user's intermediate tensors die as usual while the graph keeps what backward needs; after backward
those arrays are dropped and the bare structure (names, shapes) stays for drawing, as in PyTorch.

``backward`` walks the nodes in reverse topological order found with an explicit stack (a recurrent
net unrolled over 10,000 steps is far deeper than Python's recursion limit), calls each VJP, undoes
broadcasting in one place (``unbroadcast``) and accumulates gradients with ``+``. A sweep keeps
its gradients in its own dict, never on the nodes: two threads may run backward on one retained
graph at once.

``backward(..., create_graph=True)`` runs the same VJPs on recording Tensors instead of arrays
(``_sweep_graph``): the gradients are then Tensors with a graph, differentiable again. The
first-order sweep records nothing and pays nothing for this.

In-place writes by the library (optimizer steps, ``nn.init``, ``load_state_dict``) are versioned
as in PyTorch: a node that saved a value written afterwards refuses to run its VJPs
(``check_versions``) rather than give silently wrong gradients.

The switches the sweep and the recording read (``no_grad``, ``keep_values``, ``scope``, ...) live
in ``modes``; anomaly mode's checks in ``_anomaly``.
"""

import itertools
import threading

import numpy as np

from ._anomaly import check_finite, check_products, check_reaching, user_frame
from .modes import STATE
from .ops import IndexedGrad, ProductGrad

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
        "input_shapes",  # (position, shape, dtype, name) of each tensor input with no parent node
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
        self.writes = self.watched = self.input_shapes = self.value = None

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
    return sorted(seen, key=_by_serial, reverse=True)


def _by_serial(node):
    return node.serial


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape``.

    >>> unbroadcast(np.ones((4, 2, 3)), (1, 3))
    array([[8., 8., 8.]])
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return np.sum(g, axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


# --- how gradients are represented and added up: the sweep's and the compiled loop's -------------


def sum_products(products):
    """The sum of weight gradients ``a.T @ b`` (``ops.ProductGrad``) as ONE product
    ``concat(a's).T @ concat(b's)``: the same sum of T products, run as one large GEMM instead of
    T small ones and T full-size additions.

    >>> import numpy as np
    >>> from tinygrad_seq.ops import ProductGrad
    >>> sum_products([ProductGrad(np.ones((2, 3)), np.ones((2, 4)))] * 3)[0]
    array([6., 6., 6., 6.])
    """
    if len(products) == 1:
        return products[0].a.T @ products[0].b
    a = np.concatenate([p.a for p in products], axis=0)
    b = np.concatenate([p.b for p in products], axis=0)
    return a.T @ b


def dense_indexed(g):
    """An ``ops.IndexedGrad`` as a plain array. When the index is a run of leading rows only the
    other rows are zero-filled: fresh memory is then written once, not zeroed and written again
    (measured: 2 MiB of a layer's outputs, 1.5 -> 0.5 ms).

    >>> from tinygrad_seq.ops import IndexedGrad
    >>> dense_indexed(IndexedGrad(1, np.array([5.0, 6.0]), (3, 2)))
    array([[0., 0.],
           [5., 6.],
           [0., 0.]])
    """
    rows = _leading_rows(g.index, g.shape)
    if rows is None:
        grad = np.zeros(g.shape, dtype=g.value.dtype)
        grad[g.index] = g.value
        return grad
    start, stop = rows
    grad = np.empty(g.shape, dtype=g.value.dtype)
    grad[start:stop] = g.value
    grad[:start] = 0
    grad[stop:] = 0
    return grad


def add_indexed(buffer, g):
    """Add an ``ops.IndexedGrad`` into ``buffer`` (a gradient buffer of ours) in place.

    >>> from tinygrad_seq.ops import IndexedGrad
    >>> buffer = np.ones((3, 2))
    >>> add_indexed(buffer, IndexedGrad(slice(0, 2), np.ones((2, 2)), (3, 2))); buffer
    array([[2., 2.],
           [2., 2.],
           [1., 1.]])
    """
    view = buffer[g.index]
    if type(view) is np.ndarray:  # a view (basic index): adding in place needs no write-back
        view += g.value
    else:  # a single element comes out as a scalar, not a view
        buffer[g.index] = view + g.value


def add_up(parts, shape):
    """The sum of one value's gradient parts (arrays, ``IndexedGrad``s, ``ProductGrad``s), of
    ``shape``: the products as one GEMM, the arrays added in place into one buffer and summed over
    their broadcast axes once, the slices added into it in place.

    >>> import numpy as np
    >>> from tinygrad_seq.ops import IndexedGrad, ProductGrad
    >>> product = ProductGrad(np.ones((1, 3)), np.ones((1, 3)))  # ones((3, 3))
    >>> add_up([np.ones((2, 3, 3)), IndexedGrad(0, np.ones(3), (3, 3)), product], (3, 3))
    array([[4., 4., 4.],
           [3., 3., 3.],
           [3., 3., 3.]])
    """
    products = [p for p in parts if type(p) is ProductGrad]
    slices = [p for p in parts if type(p) is IndexedGrad]
    arrays = [p for p in parts if type(p) is not ProductGrad and type(p) is not IndexedGrad]
    total = None
    if arrays:
        # one buffer of ours (np.sum of the list would first copy them all into one array)
        total = np.array(arrays[0], dtype=np.result_type(*arrays))
        for a in arrays[1:]:
            if a.shape == total.shape:
                total += a
            else:
                total = total + a
        total = unbroadcast(total, shape)  # ours still (a sum or a view of ours): slices add in
    for g in slices:
        if total is None:
            total = dense_indexed(g)
        else:
            if total.dtype != g.value.dtype:
                total = total.astype(np.result_type(total, g.value))
            add_indexed(total, g)
    if products:
        product = sum_products(products)
        total = product if total is None else total + product
    return total


def _leading_rows(index, shape):
    """(start, stop) if ``index`` picks rows start..stop-1 of the first axis, else None."""
    if type(index) is int and shape:
        start = index % shape[0]
        return start, start + 1
    if type(index) is slice and index.step in (None, 1) and shape:
        start, stop, _ = index.indices(shape[0])
        return (start, stop) if start < stop else None
    return None


# --- the reverse sweep ----------------------------------------------------------------------------


def backward(root, grad, retain_graph=False, keep_grads=False, create_graph=False):
    """Propagate ``grad`` (the gradient of something w.r.t. ``root``'s value) to every leaf.

    ``retain_graph`` keeps the saved arrays for another sweep; ``keep_grads`` stores every node's
    gradient on ``node.grad`` for inspection (the graph viewer shows them). ``create_graph``: the
    VJPs run on recording Tensors (``grad`` is one), so the leaves' ``.grad`` are Tensors with a
    graph of their own, differentiable again (``_sweep_graph``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> backward((x * x).sum().node, np.array(1.0)); x.grad  # what .backward() calls
    Tensor([2., 4.], dtype=float64)
    """
    if create_graph:
        if keep_grads:
            raise ValueError("backward: keep_grads (for the graph viewer) is first order only")
        _sweep_graph(toposort(root), {root: grad}, retain_graph, None)
    else:
        _sweep(toposort(root), {root: grad}, retain_graph, keep_grads)


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
    found = dict.fromkeys(targets)
    order = _leading_to(_toposort(tuple(start)), found)
    if not order:  # no output depends on a target
        return [None] * len(targets)
    if create_graph:
        _sweep_graph(order, start, retain_graph, found)
    else:
        _sweep(order, start, retain_graph, False, found)
    return [found[t] for t in targets]


def _leading_to(order, targets):
    """The nodes of ``order`` on a path to a target: the sweep goes no further (the graph beyond
    the targets may be freed already, and it is work for nothing)."""
    needed = set()
    for node in reversed(order):  # oldest first: parents before the nodes that use them
        if node in targets or any(p in needed for p in node.parents if p is not None):
            needed.add(node)
    return [node for node in order if node in needed]


def _sweep(order, grads, retain_graph, keep_grads, found=None):
    # this sweep's gradients, by node (``grads`` starts with the roots'): kept here, not on the
    # nodes, so that sweeps over one retained graph in several threads at once do not mix their
    # sums. ``found``: the nodes whose gradients autograd.grad returns (then no leaf is touched)
    owned = set()  # nodes whose gradient in grads is a buffer of ours, added to in place
    products = {}  # node -> ProductGrads still to be summed into its gradient (one GEMM for all)
    anomaly = STATE.anomaly
    makers = {} if anomaly else None  # node -> (op node, input index, inputs) of each product
    reached = []  # (leaf tensor, its gradient), added to .grad when the sweep is done
    skipped = 0  # visit numbers taken by the nodes a vjp_all op stands for (STATE.inner_visits)
    for visit, node in enumerate(order):
        g = grads.pop(node, None)
        if products and node in products:
            g = _add_products(g, products.pop(node), makers and makers.pop(node))
        if g is None:
            continue
        node.visit = visit = visit + skipped
        if anomaly:
            check_reaching(g, node, visit)
        if keep_grads:
            node.grad = g
        if found is not None:
            if node in found:
                found[node] = g
        elif node.leaf is not None:
            reached.append((node.leaf, g))
        if node.prim is None:
            continue
        if node.inputs is None or node.serial < _last_write:  # inline: a call per node costs 3%
            _check_saved(node)
        prim, out, inputs, params = node.prim, node.out, node.inputs, node.params
        vjps = prim.vjps if prim.vjp_argnum is None else None
        all_grads = None
        if prim.vjp_all is not None:
            all_grads, inner_visits = _vjp_all(node, g, retain_graph, keep_grads)
            skipped += inner_visits
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
            if kind is ProductGrad:  # summed with its siblings when the parent's turn comes
                pending = products.get(parent)
                if pending is None:
                    products[parent] = [gi]
                else:
                    pending.append(gi)
                if anomaly:  # the inputs too: the node frees them before the products are summed
                    makers.setdefault(parent, []).append((node, i, inputs))
                continue
            if anomaly:
                check_finite(gi.value if kind is IndexedGrad else gi, node, i)
            if kind is IndexedGrad:  # a slice's gradient: added into the parent's buffer
                _accumulate_indexed(grads, owned, parent, gi)
            elif parent in grads:
                _accumulate(grads, owned, parent, unbroadcast(gi, parent.shape))
            else:  # the first gradient to reach the parent (for most nodes the only one)
                grads[parent] = unbroadcast(gi, parent.shape)
        if not retain_graph:
            node.inputs = node.out = None
    _accumulate_into_leaves(reached)


def _check_saved(node):
    if node.inputs is None:
        raise RuntimeError(
            f"backward through the graph a second time: the arrays saved by "
            f"'{node.op}' {node.shape} were freed after the first backward. "
            "Pass retain_graph=True to the first backward to keep them."
        )
    if node.serial < _last_write:  # written in place since: did that touch what we read?
        check_versions(node)


def _sweep_graph(order, grads, retain_graph, found):
    """The sweep of ``create_graph=True``: the same VJPs, run on Tensors that record, so every
    gradient is a Tensor with a graph of its own (derivatives of derivatives, to any order).

    A node's saved arrays join the graph as Tensors of the node they came from (an input as its
    parent's value, ``out`` as the node's own), so the recorded VJP is differentiable in them too.
    Gradients are added out of place (a recorded value is never written), and the first order's
    deferred forms are recorded as what they stand for (``ProductGrad``: a.T @ b; ``IndexedGrad``:
    ``ops.scatter``). Slower than ``_sweep``, which therefore records nothing.
    """
    wrap = type(next(iter(grads.values())))._from_op  # a recording gradient's class: Tensor
    reached = []
    modes = STATE.grad_enabled, STATE.recording_backward
    STATE.grad_enabled = STATE.recording_backward = True
    try:
        for node in order:
            g = grads.pop(node, None)
            if g is None:
                continue
            if found is not None:
                if node in found:
                    found[node] = g
            elif node.leaf is not None:
                reached.append((node.leaf, g))
            if node.prim is None:
                continue
            _check_saved(node)
            for parent, gi in zip(node.parents, _recorded_vjps(node, g, wrap)):
                if parent is not None and gi is not None:
                    gi = unbroadcast(_dense(gi), parent.shape)
                    prev = grads.get(parent)
                    grads[parent] = gi if prev is None else prev + gi
            if not retain_graph:
                node.inputs = node.out = None
    finally:
        STATE.grad_enabled, STATE.recording_backward = modes
    _accumulate_into_leaves(reached)


def _recorded_vjps(node, g, wrap):
    """Each input's gradient (None where it takes none), the VJPs run on recording Tensors."""
    prim, params = node.prim, node.params
    out = None if node.out is None else wrap(node.out, node)
    if prim.vjp_all is not None:  # its inputs are its own (a loop's tape): it wraps what it needs
        needs = tuple(p is not None for p in node.parents)
        return prim.vjp_all(g, out, *node.inputs, needs=needs, parents=node.parents, **params)
    inputs = tuple(
        wrap(x, p) if p is not None and type(x) is np.ndarray else x
        for x, p in zip(node.inputs, node.parents)
    )
    return [
        None if p is None else prim.vjp(i, g, out, inputs, params)
        for i, p in enumerate(node.parents)
    ]


def _dense(gi):
    """A VJP's gradient as what it stands for, recorded: the first order's deferred forms too."""
    return gi.evaluate() if type(gi) in (ProductGrad, IndexedGrad) else gi


def _vjp_all(node, g, retain_graph, keep_grads):
    """(every input's gradient, how many nodes it visited) of an op that stands for many nodes:
    it reads this backward's options from STATE, to free and keep of them what the sweep frees
    and keeps of its own nodes."""
    found = STATE.retain_graph, STATE.keep_grads, STATE.inner_visits
    STATE.retain_graph, STATE.keep_grads, STATE.inner_visits = retain_graph, keep_grads, 0
    try:
        needs = tuple(p is not None for p in node.parents)
        grads = node.prim.vjp_all(g, node.out, *node.inputs, needs=needs, **node.params)
        return grads, STATE.inner_visits
    finally:
        STATE.retain_graph, STATE.keep_grads, STATE.inner_visits = found


def _add_products(g, products, makers):
    product = sum_products(products)
    if makers:
        check_products(product, products, makers)
    return product if g is None else g + product


def _accumulate(grads, owned, node, g):
    if node in owned:
        # our own buffer (a weight shared by T steps adds T times here); stored again for a 0-d
        # gradient, which numpy's + returns as a scalar, not a buffer
        prev = grads[node]
        prev += g
        grads[node] = prev
    else:
        grads[node] = grads[node] + g
        owned.add(node)


def _accumulate_indexed(grads, owned, node, g):
    prev = grads.get(node)
    if prev is None:
        grads[node] = dense_indexed(g)
    else:
        # a copy if not ours, or a NumPy scalar (two 0-d gradients added make one): add_to writes
        if node not in owned or type(prev) is not np.ndarray:
            prev = grads[node] = np.array(prev, dtype=np.result_type(prev, g.value))
        add_indexed(prev, g)
    owned.add(node)


# two threads' sweeps may reach one leaf at once: its read-add-write of .grad must not interleave.
# A sweep adds to its leaves at its end, all under one lock (a lock per leaf cost 3% of a small
# MLP's backward)
_LEAF_LOCK = threading.Lock()


def _accumulate_into_leaves(reached):
    with _LEAF_LOCK:
        for tensor, g in reached:
            if g.dtype != tensor._data.dtype:
                g = g.astype(tensor._data.dtype)
            if type(g) is not np.ndarray:  # create_graph: .grad is the recording Tensor itself
                tensor.grad = g if tensor.grad is None else tensor.grad + g
                continue
            grad = tensor.grad  # a Tensor (``Tensor.grad`` wraps the arrays assigned here)
            if grad is None:
                # a copy: g may be a view of the user's array or a read-only broadcast
                tensor.grad = np.array(g, copy=True)
            else:
                tensor.grad = grad._data + g
