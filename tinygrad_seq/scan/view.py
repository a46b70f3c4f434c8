"""The graph viewer's view of a scan node: the op-by-op graph it ran, built for drawing.

What is drawn is what ``tg.eager()`` records for the same loop, node for node: per step the slice
``x[t]`` and the step's primitives, in the step's scope; the outputs stacked (T rows) in the
loop's scope; each final state the last step's node. The scan's result layout (one array of the
outputs and the final states, and the slices ``scan`` takes of it) is not drawn: it is how the
compiled loop returns several values from one node, not part of the computation.
"""

import numpy as np

from ..engine import Node
from ..ops import Placeholder, getitem, stack
from .loop import SCAN
from .plan import X_SLICE


def shown_parents(node):
    """``node.parents`` as the op-by-op loop has them: a scan node's result, or a slice ``scan``
    took of it, replaced by what it holds in the graph the loop ran (``unrolled``).

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> out, h_n = nn.RNN(2, 3, seed=0)(np.ones((4, 1, 2), dtype=np.float32))
    >>> out.node.op, h_n.node.parents[0].parents[0].op  # h_n stacks a slice of the scan's result
    ('scan', 'scan')
    >>> [p.name for p in shown_parents(h_n.node)]  # the viewer sees the last step's state
    ['hidden state']
    """
    return tuple(_shown(p) for p in node.parents)


def _shown(p):
    if p is None:
        return None
    if p.prim is SCAN:  # with one state, the result is the outputs
        return _outputs(p, p)
    if p.prim is getitem:
        source = p.parents[0]
        if source is not None and source.prim is getitem:  # a final state taken of the outputs
            source = source.parents[0]
        if source is not None and source.prim is SCAN:
            part = source.params["view"].get("parts", {}).get(p.serial)
            if part == "outputs":
                return _outputs(source, p)
            if part is not None:
                return _expand(source)[1][part]
    return p


def _outputs(scan_node, holder):
    """The stacked outputs; ``holder`` is the node that holds them in the compiled graph (the scan
    node, or the slice of its result): its gradient and visit are theirs."""
    stacked = _expand(scan_node)[0]
    stacked.grad, stacked.visit = holder.grad, holder.visit
    return stacked


def unrolled(node):
    """The graph a scan node stands for: one node per primitive per step, in the step's scope,
    named and shaped as recorded, holding its gradient if backward kept them (and the number of
    its visit in the sweep, as the backward loop noted it). Returns the node that stacks the
    outputs, as the op-by-op loop does.

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> out, _ = nn.RNN(2, 3, seed=0)(np.ones((4, 1, 2), dtype=np.float32))
    >>> shown = unrolled(out.node)
    >>> [p.name for p in shown.parents], sorted({p.scope[-1] for p in shown.parents})
    (['hidden state', 'hidden state', 'hidden state', 'hidden state'], ['t=0', 't=1', 't=2', 't=3'])
    """
    return _outputs(node, node) if node.params["program"].n_states == 1 else _expand(node)[0]


def _expand(node):
    """(the node stacking the outputs, [the last step's node of each state]), made once per
    backward (the gradients kept may change between drawings)."""
    params, view = node.params, node.params["view"]
    kept = view.get("grads")
    if "unrolled" in view and view["unrolled_with"] is kept:  # drawn before: same picture
        return view["unrolled"]
    program, order = params["program"], params["order"]
    n_in = program.n_inputs
    visits = _visits(node.visit, view.get("ran"))
    position = {t: k for k, t in enumerate(order)}
    # the loop's tensor inputs without a parent node: op by op, a step's op would see them so
    plain = {i: (shape, dtype, name) for i, shape, dtype, name in node.input_boxes or ()}

    def x_at(t):  # x[t], sliced inside the step as the op-by-op loop does
        if node.parents[0] is None:
            return None
        step_scope = node.scope + (params["step_scope"].format(t),)
        shape, dtype = program.shapes[0], program.dtypes[0]
        return _shown_op(
            getitem, node.parents[:1], {"index": t}, shape, dtype, step_scope, t, X_SLICE
        )

    def op(t, j, prim, args, op_params):
        refs, name, shape, dtype = program.instructions[j][1], *program.instructions[j][3:]
        parents = tuple(a if type(a) is Node else None for a in args)
        if all(p is None for p in parents):
            return None  # computed from constants only: not recorded op by op either
        step_scope = node.scope + (params["step_scope"].format(t),)
        shown = _shown_op(prim, parents, op_params, shape, dtype, step_scope, t, j, name)
        shown.input_boxes = _plain_inputs(program, refs, parents, plain, n_in)
        return shown

    def _shown_op(prim, parents, op_params, shape, dtype, step_scope, t, j, name=None):
        shown = _node(prim, parents, op_params, shape, dtype, step_scope, name)
        shown.grad = kept[position[t]].get(j) if kept else None
        shown.visit = visits.get((position[t], j))
        return shown

    invariants = node.parents[1 + program.n_states :]
    state = node.parents[1 : 1 + program.n_states]
    outputs, state = program.unroll(order, x_at, state, invariants, op)
    shape = (len(order),) + program.shapes[1]
    stacked = _node(stack, tuple(outputs), {"axis": 0}, shape, node.dtype, node.scope)
    view["unrolled"], view["unrolled_with"] = (stacked, state), kept
    return stacked, state


def _plain_inputs(program, refs, parents, plain, n_in):
    """``Node.input_boxes`` of a step's op as op-by-op recording gives them: the step input, a
    state or an invariant that was a tensor with no parent node, and the result of an op computed
    from constants only (a tensor with no node too); constants (numbers, arrays) are no tensors."""
    boxes = []
    for i, (r, p) in enumerate(zip(refs, parents)):
        if p is not None or isinstance(r, tuple):
            continue
        if r >= n_in:
            _, _, _, name, shape, dtype = program.instructions[r - n_in]
            boxes.append((i, shape, dtype, name))
        elif r == 0:  # x[t] of a loop input that needs no gradient
            boxes.append((i, program.shapes[0], program.dtypes[0], None))
        elif r in plain:
            shape, dtype, name = plain[r]
            boxes.append((i, shape, dtype, name))
    return tuple(boxes) or None


def _visits(visit, ran):
    """{(position, instruction): visit number}: the ops in the order the backward loop noted them
    as their VJPs ran, numbered after the scan node itself."""
    if not ran or visit is None:
        return {}
    return {op: visit + 1 + k for k, op in enumerate(ran)}


def _node(prim, parents, params, shape, dtype, scope, name=None):
    shown = Node(prim, parents, None, params, None, Placeholder(np.empty((0,), dtype)))
    shown.shape, shown.scope, shown.name = shape, scope, name
    return shown
