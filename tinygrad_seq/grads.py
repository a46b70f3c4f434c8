"""Gradient bookkeeping, written once: undoing broadcasting, deferred forms, adding gradients up.

The table's VJPs (``ops``) may return a gradient in one of two deferred forms, declared there:
``ProductGrad`` (a weight's ``a.T @ b``, not yet multiplied) and ``IndexedGrad`` (``value`` at
``index``, zero elsewhere). How they are added up decides the speed of a recurrent net's backward,
and it is decided here only, for the sweep (``engine``) and the compiled loop (``scan``) alike:

- ``weight_product``: the sum of a weight's products as ONE GEMM (the only ``a.T @ b`` outside
  the table), whether the factors come as lists (one per time step) or as rows already laid out;
- ``Sums``: the first-order sweep's store, arrays added in place into buffers of its own, slices
  added into them, products kept until the node's turn;
- ``add_up``: the same sum of a list of parts at once (the compiled loop's invariants).
"""

import numpy as np

from .ops import IndexedGrad, ProductGrad

__all__ = [
    "IndexedGrad",
    "ProductGrad",
    "Sums",
    "add_indexed",
    "add_up",
    "dense",
    "dense_indexed",
    "sum_products",
    "unbroadcast",
    "weight_product",
]


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


def weight_product(a, b):
    """``sum_k a_k.T @ b_k`` as ONE product ``concat(a's).T @ concat(b's)``: the same sum of T
    products, run as one large GEMM instead of T small ones and T full-size additions. ``a`` and
    ``b`` are lists of factors (concatenated along their rows), or arrays already holding all the
    rows in order (the compiled loop's: read where they lie, no copy).

    >>> weight_product([np.ones((2, 3))] * 3, [np.ones((2, 4))] * 3)[0]
    array([6., 6., 6., 6.])
    """
    if type(a) is list:
        a = a[0] if len(a) == 1 else np.concatenate(a, axis=0)
    if type(b) is list:
        b = b[0] if len(b) == 1 else np.concatenate(b, axis=0)
    return a.T @ b


def sum_products(products):
    """The sum of ``ProductGrad``s, as one GEMM (``weight_product``).

    >>> sum_products([ProductGrad(np.ones((2, 3)), np.ones((2, 4)))] * 3)[0]
    array([6., 6., 6., 6.])
    """
    return weight_product([p.a for p in products], [p.b for p in products])


def dense(g):
    """A gradient as what it stands for: a deferred form evaluated (recorded, on Tensors).

    >>> dense(IndexedGrad(0, np.ones(2), (2, 2)))
    array([[1., 1.],
           [0., 0.]])
    """
    kind = type(g)
    return g.evaluate() if kind is ProductGrad or kind is IndexedGrad else g


def dense_indexed(g):
    """An ``IndexedGrad`` as a plain array. When the index is a run of leading rows only the
    other rows are zero-filled: fresh memory is then written once, not zeroed and written again
    (measured: 2 MiB of a layer's outputs, 1.5 -> 0.5 ms).

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
    """Add an ``IndexedGrad`` into ``buffer`` (a gradient buffer of ours) in place.

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


def _leading_rows(index, shape):
    """(start, stop) if ``index`` picks rows start..stop-1 of the first axis, else None."""
    if type(index) is int and shape:
        start = index % shape[0]
        return start, start + 1
    if type(index) is slice and index.step in (None, 1) and shape:
        start, stop, _ = index.indices(shape[0])
        return (start, stop) if start < stop else None
    return None


def add_up(parts, shape):
    """The sum of one value's gradient parts (arrays, ``IndexedGrad``s, ``ProductGrad``s), of
    ``shape``: the products as one GEMM, the arrays added in place into one buffer and summed over
    their broadcast axes once, the slices added into it in place.

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
            total = _added(total, a, True)
        total = unbroadcast(total, shape)  # ours still (a sum or a view of ours): slices add in
    for g in slices:
        total = _added_indexed(total, g, True)
    if products:
        product = sum_products(products)
        total = product if total is None else total + product
    return total


def _added(total, g, owned):
    """``total + g``: in place when ``total`` is a buffer of ours of g's shape (a weight shared by
    T steps adds T times here); the result (a 0-d sum is a NumPy scalar, not a buffer)."""
    if owned and g.shape == total.shape:
        total += g
        return total
    return total + g


def _added_indexed(total, g, owned):
    """``total`` (None: nothing yet) with the ``IndexedGrad`` ``g`` added: into it in place when
    it is a buffer of ours, else into a fresh copy."""
    if total is None:
        return dense_indexed(g)
    if not owned or type(total) is not np.ndarray or total.dtype != g.value.dtype:
        total = np.array(total, dtype=np.result_type(total, g.value))
    add_indexed(total, g)
    return total


class Sums:
    """The first-order sweep's gradients, by node: arrays added in place into buffers of ours,
    slices added into them, weight products kept until the node's gradient is asked for (``pop``)
    and summed then as one GEMM. One per sweep: sweeps over one retained graph in several threads
    at once do not mix their sums.

    >>> class Weight: shape = (1, 2)  # anything with a shape stands for a node
    >>> sums, w = Sums({}), Weight()
    >>> sums.add(w, np.ones((1, 2))); sums.add(w, ProductGrad(np.ones((1, 1)), np.ones((1, 2))))
    >>> sums.add(w, np.ones((3, 1, 2)))  # broadcast: summed back to w's shape
    >>> sums.pop(w)
    array([[5., 5.]])
    """

    __slots__ = ("grads", "owned", "products")

    def __init__(self, grads):
        self.grads = grads  # node -> gradient; starts with the roots'
        self.owned = set()  # nodes whose gradient is a buffer of ours, added to in place
        self.products = {}  # node -> ProductGrads still to be summed into its gradient

    def pop(self, node):
        """The whole gradient of ``node`` (None if none reached it), forgotten here."""
        g = self.grads.pop(node, None)
        if self.products:
            products = self.products.pop(node, None)
            if products is not None:
                product = sum_products(products)
                g = product if g is None else g + product
        return g

    def add(self, node, g):
        """Add ``g`` (one VJP's result) to ``node``'s gradient."""
        kind = type(g)
        if kind is ProductGrad:  # summed with its siblings when the node's turn comes
            pending = self.products.get(node)
            if pending is None:
                self.products[node] = [g]
            else:
                pending.append(g)
            return
        grads, prev = self.grads, self.grads.get(node)
        if kind is IndexedGrad:  # a slice's gradient: added into the node's buffer
            grads[node] = _added_indexed(prev, g, node in self.owned)
            self.owned.add(node)
            return
        if g.shape != node.shape:  # checked here: a call per gradient costs 1-2% of a backward
            g = unbroadcast(g, node.shape)
        if prev is None:  # the first gradient to reach the node (for most nodes the only one)
            grads[node] = g
        elif node in self.owned:  # our buffer (a weight shared by T steps adds T times here)
            prev += g
            grads[node] = prev  # again: a 0-d sum is a NumPy scalar, not a buffer
        else:
            grads[node] = prev + g
            self.owned.add(node)
