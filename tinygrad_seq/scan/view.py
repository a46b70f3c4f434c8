"""The graph viewer's view of a scan node: the op-by-op graph it ran, built for drawing."""

import numpy as np

from ..engine import Node
from ..ops import Placeholder, getitem, stack
from .loop import SCAN


def shown_parents(node):
    """``node.parents``, each scan node replaced by the op-by-op graph it ran (``unrolled``).

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> out, h_n = nn.RNN(2, 3, seed=0)(np.ones((4, 1, 2), dtype=np.float32))
    >>> out.node.op, h_n.node.parents[0].parents[0].op  # h_n stacks a slice of the scan's result
    ('scan', 'scan')
    >>> [p.op for p in shown_parents(h_n.node.parents[0])]  # the viewer sees the steps' outputs
    ['stack']
    """
    return tuple(unrolled(p) if p is not None and p.prim is SCAN else p for p in node.parents)


def unrolled(node):
    """The graph a scan node stands for: one node per primitive per step, in the step's scope,
    named and shaped as recorded, holding its gradient if backward kept them (and the number of
    its visit in the sweep). Returns the node that stacks the outputs and the final states after
    the first (as the scan's result does): it stands in for the scan node.

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> out, _ = nn.RNN(2, 3, seed=0)(np.ones((4, 1, 2), dtype=np.float32))
    >>> shown = unrolled(out.node)
    >>> [p.name for p in shown.parents], sorted({p.scope[-1] for p in shown.parents})
    (['hidden state', 'hidden state', 'hidden state', 'hidden state'], ['t=0', 't=1', 't=2', 't=3'])
    """
    params, view = node.params, node.params["view"]
    kept = view.get("grads")
    if "unrolled" in view and view["unrolled_with"] is kept:  # drawn before: same picture
        return view["unrolled"]
    program, order = params["program"], params["order"]
    n_in = program.n_inputs
    visits = _visits(node.visit, kept, len(order))
    state = list(node.parents[1 : 1 + program.n_states])
    outputs = [None] * len(order)
    for position, t in enumerate(order):
        env = dict(enumerate(node.parents))
        if node.parents[0] is not None:  # x[t], sliced outside the steps as a layer does
            shape, dtype = program.shapes[0], program.dtypes[0]
            env[0] = _node(getitem, node.parents[:1], {"index": t}, shape, dtype, node.scope)
        env.update((1 + k, s) for k, s in enumerate(state))
        step_scope = node.scope + (params["step_scope"].format(t),)
        for j, (prim, refs, op_params, name, shape, dtype) in enumerate(program.instructions):
            parents = tuple(None if isinstance(r, tuple) else env[r] for r in refs)
            if all(p is None for p in parents):
                env[n_in + j] = None  # computed from constants only: not recorded op by op either
                continue
            shown = _node(prim, parents, op_params, shape, dtype, step_scope, name)
            shown.grad = kept[position].get(j) if kept else None
            shown.visit = visits.get((position, j))
            env[n_in + j] = shown
        state = [env[r] for r in program.outputs]
        outputs[t] = state[0]
    stacked = _node(
        stack, tuple(outputs + state[1:]), {"axis": 0}, node.shape, node.dtype, node.scope
    )
    stacked.name, stacked.grad, stacked.visit = node.name, node.grad, node.visit
    view["unrolled"], view["unrolled_with"] = stacked, kept
    return stacked


def _visits(visit, kept, steps):
    """{(position, instruction): visit number}: backward visited the last step first, each step's
    ops from its outputs back, right after the scan node itself."""
    visits = {}
    if kept and visit is not None:
        for position in range(steps - 1, -1, -1):
            for j in sorted(kept[position], reverse=True):
                visit += 1
                visits[position, j] = visit
    return visits


def _node(prim, parents, params, shape, dtype, scope, name=None):
    shown = Node(prim, parents, None, params, None, Placeholder(np.empty((0,), dtype)))
    shown.shape, shown.scope, shown.name = shape, scope, name
    return shown
