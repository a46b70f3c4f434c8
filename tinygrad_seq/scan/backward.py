"""A scan node's gradients (``ops.scan``'s rule, ``Program.vjp``): the program's backward loop,
first order; or, for a backward that records (``create_graph=True``), the loop replayed op by op
from the arrays it started from, and that graph swept back, recording."""

import numpy as np

from .._tensor import apply
from ..engine import gradients
from ..grads import ProductGrad, add_up, weight_product
from ..modes import scope
from ..ops import reshape, stack
from .source import XRows


def vjp(program, g, inputs, needs, options, parents, *, order, step_scope, view):
    """The gradients of every input of a scan node: one run of the program's backward loop.

    ``g`` is the gradient of the outputs, then of the final states after the first. The loop
    writes x's gradient into one buffer and collects each invariant's per-step gradients, summed
    here once. A recording ``g`` (``create_graph=True``): the loop is replayed op by op instead
    (``replayed``). ``options``: the sweep's (what to free, what to keep for the viewer)."""
    tape, invariants, result, start = inputs
    if type(g) is not np.ndarray:
        return replayed(program, g, invariants, start, order, step_scope, parents)
    steps, n_states = len(order), program.n_states
    grad_x = np.zeros((steps,) + program.shapes[0], g.dtype) if needs[0] else None
    sinks = [[] for _ in invariants]
    free = not options.retain_graph  # each step's arrays go once used, as the sweep frees nodes'
    # the last output is the first state's final value: its gradient is already in g[order[-1]]
    finals = [np.zeros((), g.dtype)] + [g[steps + k] for k in range(n_states - 1)]
    # the backward reads only some invariants and sums only some: it takes those (``source``)
    reads = [invariants[k] for k in program.backward_reads]
    sums = [sinks[k] for k in program.backward_sums]
    take_x = [grad_x] if program.backward_takes_x else []
    if options.keep_grads:  # the plan interpreted, noting its ops as their VJPs run (viewer)
        kept, ran = [None] * steps, []
        carried = program.plan.run(
            g, order, tape, free, grad_x, kept, ran, finals, invariants, sinks
        )
        view["grads"], view["ran"] = kept, ran
        options.inner_visits = len(ran)  # the sweep numbers them after this node, in this order
    else:
        carried = program.run_backward(g, order, tape, free, *take_x, *finals, *reads, *sums)
    shapes = program.shapes[1 + n_states :]
    summed = [_sum_grads(c, s, grad_x, result, order) for c, s in zip(sinks, shapes)]
    return [grad_x, *carried, *summed]


def replayed(program, g, invariants, start, order, step_scope, parents):
    """The gradients of a scan node's inputs as recording Tensors (``create_graph=True``): the loop
    is replayed op by op from the arrays it started from (``Program.unroll``), its primitives
    recorded as ``tg.eager()`` records them, with the scan's inputs standing for its parents'
    values; the replayed graph is then swept back to those inputs, recording. The compiled
    backward loop is first order only."""
    n_states = program.n_states
    # an input with a parent joins the graph through an identity node of its own (a reshape to its
    # shape) whose parent is that parent: the replay's sweep stops at these, so a gradient that
    # also flows between the inputs outside the loop (an initial state made from x) is added by
    # the outer sweep only, once
    joined = [
        a if p is None else apply(reshape, type(g)._from_op(a, p), shape=a.shape)
        for a, p in zip((*start, *invariants), parents)
    ]
    x, state, invariants = joined[0], joined[1 : 1 + n_states], joined[1 + n_states :]

    def op(t, j, prim, args, params):
        with scope(step_scope.format(t)):
            return apply(prim, *args, **params)

    outputs, state = program.unroll(order, lambda t: x[t], state, invariants, op)
    replay = apply(stack, *outputs, *state[1:], axis=0)
    wanted = [v.node for v, p in zip(joined, parents) if p is not None]
    reaching = iter(gradients([replay.node], [g], wanted, retain_graph=True, create_graph=True))
    return [None if p is None else next(reaching) for p in parents]


def _sum_grads(contributions, shape, grad_x, result, order):
    """An invariant's gradient: its per-step parts added up (``grads.add_up``), after the
    products whose left factor is grad_x itself (``XRows``) are read where they lie."""
    rows = [c for c in contributions if type(c) is XRows]
    parts = [c for c in contributions if type(c) is not XRows]
    if rows and rows[0].t > rows[-1].t:
        rows.reverse()  # they come from the backward loop, last step first
    total = None
    products = any(type(c) is ProductGrad for c in parts)
    if rows and not products and [c.t for c in rows] == list(range(len(grad_x))):
        # one per step, in order: the left factor of all of them is grad_x as it lies
        total, rows = _rows_product(rows, grad_x, result, order)
    parts += [ProductGrad(grad_x[c.t].reshape(-1, grad_x.shape[-1]), c.b) for c in rows]
    if not parts:
        return total
    summed = add_up(parts, shape)
    return summed if total is None else total + summed


def _rows_product(rows, grad_x, result, order):
    """sum_t grad_x[t]^T @ b_t over all steps, reading grad_x's rows where they lie. Where every
    b_t but the first step's is the previous step's output, those are rows of the scan's result
    too, read where they lie as well: (the product, the rows still to multiply one by one)."""
    a = grad_x.reshape(-1, grad_x.shape[-1])
    first = order[0]
    if len(rows) > 1 and all(c.from_state for c in rows if c.t != first):
        batch = a.shape[0] // len(rows)
        if first == 0:  # forward: step t read the output of step t-1
            a, states = a[batch:], result[: len(rows) - 1]
        else:  # reverse: step t read the output of step t+1
            a, states = a[: a.shape[0] - batch], result[1 : len(rows)]
        return weight_product(a, states.reshape(-1, states.shape[-1])), [rows[first]]
    return weight_product(a, [c.b for c in rows]), []
