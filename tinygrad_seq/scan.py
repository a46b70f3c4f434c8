"""A loop over time as ONE graph node: the step is recorded once, its primitives replayed T times.

Why: an LSTM step is ~16 primitives. Recording each of them as a graph node at each step costs
microseconds of Python per op, more than NumPy's own work on small arrays (``benchmarks/rnn.py``).
``scan`` runs the step once under a tracer that notes every primitive it applies (``record``), then
writes the trace out as two straight-line Python functions (``Program``):

- ``forward``: each primitive's ``forward`` from ``ops``, in the recorded order;
- ``backward``: each primitive's VJPs from ``ops``, in reverse, gradients accumulated as the engine
  accumulates them (``+``, slices added into one buffer, undone broadcasting).

Nothing is hand-derived: the program is the composition of primitives that the step is, and its
numbers are the ones op-by-op recording gives (the same NumPy calls in the same order). The layer
runs those functions over the T steps inside one graph node; the weight's gradients of all steps
are still summed as one GEMM. The graph viewer expands the node back into its primitives, one
cluster per time step (``unrolled``).

``scan`` falls back to recording op by op where a mode needs every node: ``detect_anomaly`` (to
name the failing op) and ``keep_values`` (to draw every value).
"""

import numpy as np

from .engine import STATE, Node, no_grad, scope, unbroadcast
from .ops import (
    IndexedGrad,
    Placeholder,
    Primitive,
    ProductGrad,
    _is_basic_index,
    getitem,
    linear,
    matmul,
    stack,
)
from .tensor import Tensor, apply

__all__ = ["scan"]

_CACHE = {}  # trace signature -> Program; a layer records the same step on every call
_CACHE_LIMIT = 256


def scan(step, x, state, invariants=(), *, reverse=False, step_scope="t={}"):
    """Run ``state = step(x[t], state, *invariants)`` over the first axis of ``x``.

    ``state`` is a tuple of Tensors of one shape; ``state[0]`` after step t is the output at t.
    ``invariants`` are the same at every step: Tensors (weights), arrays (constant hints) or None.
    Returns ``(outputs, final_state)``: outputs stacked as (T, *state shape) at their positions in
    ``x`` (``reverse=True`` runs from the last step to the first), and the state after the last
    step run. Every step runs under ``tg.scope(step_scope.format(t))``.

    >>> import numpy as np, tinygrad_seq as tg
    >>> from tinygrad_seq.scan import scan
    >>> x = tg.ones(5, 2, 3)
    >>> w = tg.Tensor(np.full((3, 3), 0.1, dtype=np.float32), requires_grad=True)
    >>> step = lambda x_t, state, w: ((x_t + state[0] @ w).tanh(),)
    >>> out, (h,) = scan(step, x, (tg.zeros(2, 3),), (w,))
    >>> out.shape, h.shape
    ((5, 2, 3), (2, 3))
    >>> out.sum().backward(); w.grad.shape
    (3, 3)
    """
    steps = x.shape[0]
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    if STATE.anomaly or STATE.keep_values:
        return _unrolled(step, x, state, invariants, order, step_scope)
    program = record(step, x.data[order[0]], [s.data for s in state], invariants)
    record_graph = STATE.grad_enabled and _any_requires_grad(x, state, invariants)
    values = [_array(v) for v in invariants]
    if not record_graph:
        out = _run(program.infer, x.data, [s.data for s in state], values, order, tape=None)
        return _split(Tensor._from_op(out, None), steps, len(state))
    tape = []
    out = _run(program.forward, x.data, [s.data for s in state], values, order, tape)
    inputs = (x, *state, *invariants)
    parents = tuple(_parent(v) for v in inputs)
    # "view": what the graph viewer reads (the gradients backward kept, the drawn expansion)
    params = {"program": program, "order": order, "step_scope": step_scope, "view": {}}
    node = Node(SCAN, parents, (tape, values), params, None, out)
    return _split(Tensor._from_op(out, node), steps, len(state))


def _run(step_fn, xs, state, invariants, order, tape):
    """The forward loop; returns the (T + S, ...) array of outputs followed by the final state."""
    outputs = [None] * len(order)
    for t in order:
        if tape is None:
            state = step_fn(xs[t], *state, *invariants)
        else:
            state, saved = step_fn(xs[t], *state, *invariants)
            tape.append(saved)
        outputs[t] = state[0]
    return np.stack(outputs + list(state))  # one copy at the end, not one per step


def _split(out, steps, n_states):
    return out[:steps], tuple(out[steps + k] for k in range(n_states))


def _scan_vjp(g, out, tape, invariants, *, program, order, step_scope, view, needs):
    """Gradients of every input of a scan node, from one reverse sweep over the steps."""
    steps, n_states, keep = len(order), program.n_states, STATE.keep_grads
    carry = [g[steps + k] for k in range(n_states)]
    # written step by step into one buffer: a list stacked at the end would hold it twice
    grad_x = np.zeros((steps,) + program.shapes[0], g.dtype) if needs[0] else None
    contributions = [[] for _ in invariants]  # the invariants' per-step gradients, summed last
    backward = program.backward_keeping if keep else program.backward
    kept_grads = [None] * steps
    for position in range(steps - 1, -1, -1):
        t = order[position]
        carry[0] = carry[0] + g[t]
        grads = backward(*invariants, tape[position], *carry)
        if not STATE.retain_graph:  # free each step's arrays once used, as the sweep frees nodes'
            tape[position] = None
        if keep:
            grads, kept_grads[position] = grads
        if grad_x is not None:
            _write(grad_x, t, grads[0])
        carry = list(grads[1 : 1 + n_states])
        for k, step_grads in enumerate(grads[1 + n_states :]):
            for c in step_grads:
                if grad_x is not None and type(c) is ProductGrad and _rows_of(c.a, grads[0]):
                    c = _XRows(t, c.b)  # a_t is x_t's gradient, already in grad_x: no 2nd copy
                contributions[k].append(c)
    if keep:
        view["grads"] = kept_grads
        STATE.inner_visits = sum(len(k) for k in kept_grads)
    shapes = program.shapes[1 + n_states :]
    sums = [_sum_grads(c, shape, grad_x) for c, shape in zip(contributions, shapes)]
    return [grad_x, *carry, *sums]


class _XRows:
    """A weight's gradient ``grad_x[t]^T @ b`` (as rows), left to be summed over all t at once."""

    __slots__ = ("t", "b")

    def __init__(self, t, b):
        self.t, self.b = t, b


def _rows_of(a, gx):
    """Whether ``a`` is all of the array ``gx``, reshaped to rows (a view of the same buffer)."""
    return a.base is gx and a.size == gx.size and a.flags.c_contiguous and gx.flags.c_contiguous


def _write(grad_x, t, g):
    """Step t's gradient of x into its row of the (zero-filled) buffer."""
    if type(g) is np.ndarray and g.shape == grad_x.shape[1:]:
        grad_x[t] = g
    elif type(g) is IndexedGrad:
        g.add_to(grad_x[t])
    elif g is not None:
        grad_x[t] += unbroadcast(g, grad_x.shape[1:])


def _sum_grads(contributions, shape, grad_x):
    """An invariant's gradient: ProductGrads as one GEMM, the rest summed and unbroadcast."""
    rows = sorted((c for c in contributions if type(c) is _XRows), key=lambda c: c.t)
    products = [c for c in contributions if type(c) is ProductGrad]
    if rows and len(rows) == len(grad_x) and not products:  # every step: grad_x as it lies
        a = grad_x.reshape(-1, grad_x.shape[-1])
        products = [ProductGrad(a, np.concatenate([c.b for c in rows], axis=0))]
    else:
        products += [ProductGrad(grad_x[c.t].reshape(-1, grad_x.shape[-1]), c.b) for c in rows]
    dense = [
        c.dense() if type(c) is IndexedGrad else c
        for c in contributions
        if type(c) not in (ProductGrad, _XRows)
    ]
    total = ProductGrad.sum(products) if products else None
    if dense:
        if all(c.shape == dense[0].shape for c in dense):  # one sum over all steps
            summed = unbroadcast(np.sum(dense, axis=0), shape)
        else:
            summed = sum(unbroadcast(c, shape) for c in dense)
        total = summed if total is None else total + summed
    return total


SCAN = Primitive("scan", None, vjp_all=_scan_vjp)


# --- recording a step -----------------------------------------------------------------------------


def record(step, x_t, state, invariants):
    """Run ``step`` once on these arrays under the tracer; the ``Program`` of what it applied."""
    x_in = Tensor._from_op(x_t, None)
    state_in = tuple(Tensor._from_op(s, None) for s in state)
    inv_in = [Tensor._from_op(_array(v), None) if isinstance(v, Tensor) else v for v in invariants]
    trace = []
    prev, STATE.tracer = STATE.tracer, trace
    try:
        with no_grad():
            result = step(x_in, state_in, *inv_in)
    finally:
        STATE.tracer = prev
    if not isinstance(result, tuple) or len(result) != len(state):
        raise TypeError(f"scan: the step must return a tuple of {len(state)} state tensor(s)")
    refs = {id(t): i for i, t in enumerate((x_in, *state_in, *inv_in)) if t is not None}
    n_inputs = 1 + len(state) + len(invariants)
    instructions, constants = [], []  # the trace keeps every object alive: ids stay unique
    for prim, args, arrays, params, res in trace:
        arg_refs = []
        for a, array in zip(args, arrays):
            if id(a) in refs:
                arg_refs.append(refs[id(a)])
            elif isinstance(a, Tensor):
                raise ValueError(
                    f"scan: the step's '{prim.name}' uses a tensor that is neither the step input, "
                    "the state nor an invariant; pass it in invariants"
                )
            else:
                constants.append(array)
                arg_refs.append(("const", len(constants) - 1))
        refs[id(res)] = n_inputs + len(instructions)
        instructions.append((prim, tuple(arg_refs), params, res._name, res.shape, res.dtype))
    for s, r in zip(state, result):
        if not isinstance(r, Tensor) or r.shape != s.shape or r.dtype != s.dtype:
            got = f"{_shape(r)} {r.dtype}" if isinstance(r, Tensor) else type(r).__name__
            raise ValueError(
                f"scan: the step returned a new state of {got}, expected {s.shape} {s.dtype} "
                "(the state must keep its shape and dtype from step to step)"
            )
    outputs = tuple(refs.get(id(r)) for r in result)
    if None in outputs:
        raise ValueError("scan: the step returned a tensor it did not compute from its inputs")
    shapes = [x_t.shape] + [s.shape for s in state] + [_shape(v) for v in invariants]
    dtypes = (
        [x_t.dtype]
        + [s.dtype for s in state]
        + [_array(v).dtype if v is not None else None for v in invariants]
    )
    key = _signature(instructions, constants, outputs, shapes, dtypes)
    program = _CACHE.get(key)
    if program is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        program = _CACHE[key] = Program(
            instructions, constants, outputs, shapes, dtypes, len(state)
        )
    return program


def _signature(instructions, constants, outputs, shapes, dtypes):
    body = tuple((id(p), refs, _key(params), name) for p, refs, params, name, *_ in instructions)
    return body, _key(constants), outputs, tuple(shapes), tuple(map(str, dtypes))


def _key(value):
    """A hashable stand-in for a constant or parameter: arrays by value (a repr elides them)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return (value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (tuple, list)):
        return (type(value).__name__,) + tuple(_key(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _key(v)) for k, v in value.items())
    return repr(value)


class Program:
    """One recorded step: its instructions, and the compiled forward / backward functions.

    Refs: 0 is the step input, 1..S the state, then the invariants, then one per instruction.
    """

    def __init__(self, instructions, constants, outputs, shapes, dtypes, n_states):
        self.instructions, self.constants, self.outputs = instructions, constants, outputs
        self.shapes, self.dtypes, self.n_states = shapes, dtypes, n_states
        self.n_inputs = len(shapes)
        code = _Writer(self)
        self.source = code.source()
        namespace = dict(code.namespace)
        exec(compile(self.source, f"<scan program of {len(instructions)} ops>", "exec"), namespace)
        self.infer, self.forward = namespace["infer"], namespace["forward"]
        self.backward, self.backward_keeping = namespace["backward"], namespace["backward_keeping"]

    def shape_of(self, ref):
        return (
            self.shapes[ref] if ref < self.n_inputs else self.instructions[ref - self.n_inputs][4]
        )


class _Writer:
    """Writes a Program's functions as Python source (read it: ``program.source``)."""

    def __init__(self, program):
        self.p = program
        self.namespace = {"np": np, "unbroadcast": unbroadcast, "ProductGrad": ProductGrad}
        for c, value in enumerate(program.constants):
            self.namespace[f"k{c}"] = value

    def var(self, ref):
        if isinstance(ref, tuple):
            return f"k{ref[1]}"
        return f"a{ref}" if ref < self.p.n_inputs else f"v{ref - self.p.n_inputs}"

    def call(self, j, fn, args):
        prim, _, params, *_ = self.p.instructions[j]
        kwargs = []
        for name, value in params.items():
            self.namespace[f"p{j}_{name}"] = value
            kwargs.append(f"{name}=p{j}_{name}")
        return f"{fn}({', '.join(list(args) + kwargs)})"

    def source(self):
        p = self.p
        inputs = ", ".join(f"a{i}" for i in range(p.n_inputs))
        body = []
        for j, (prim, refs, *_rest) in enumerate(p.instructions):
            self.namespace[f"F{j}"] = prim.forward
            body.append(f"    v{j} = {self.call(j, f'F{j}', [self.var(r) for r in refs])}")
        outs = ", ".join(self.var(r) for r in p.outputs)
        backward, saved = self.backward(keep=False)
        backward_keeping, _ = self.backward(keep=True)
        saved_vars = "".join(f"{self.var(r)}, " for r in saved)
        return "\n".join(
            [
                f"def infer({inputs}):",
                *body,
                f"    return ({outs},)",
                "",
                f"def forward({inputs}):",
                *body,
                f"    return ({outs},), ({saved_vars})",
                "",
                backward,
                "",
                backward_keeping,
            ]
        )

    def backward(self, keep):
        """Source of the backward of one step, and the refs it needs saved by the forward."""
        p, n_in, n_st = self.p, self.p.n_inputs, self.p.n_states
        invariant = range(1 + n_st, n_in)
        live = self.live()
        contributions = {r: [] for r in live}  # ref -> list of (variable, kind)
        lines, saved, counter = [], [], iter(range(10**9))
        for k, r in enumerate(p.outputs):
            contributions[r].append((f"g_out{k}", "dense", None))
        grads = {}  # ref -> the variable holding its complete gradient

        def finish(r):
            grads[r] = self.accumulate(r, contributions[r], lines)

        for j in range(len(p.instructions) - 1, -1, -1):
            r_out = n_in + j
            if r_out not in live:
                continue
            finish(r_out)
            prim, refs, params, *_ = p.instructions[j]
            for i, r in enumerate(refs):
                if isinstance(r, tuple) or r not in live or not prim.differentiable(i):
                    continue
                args = []
                for q, rq in enumerate(refs):
                    if prim.saves is None or q in prim.saves:
                        if not isinstance(rq, tuple) and rq not in saved and rq not in invariant:
                            saved.append(rq)
                        args.append(self.var(rq))
                    else:
                        name = f"ph{j}_{q}"
                        self.namespace[name] = Placeholder(self.example(rq))
                        args.append(name)
                out = f"v{j}" if prim.saves_out else "None"
                if prim.saves_out and r_out not in saved:
                    saved.append(r_out)
                c = f"c{next(counter)}"
                if prim.vjp_argnum is not None:
                    self.namespace[f"VA{j}"] = prim.vjp_argnum
                    call = self.call(j, f"VA{j}", [str(i), grads[r_out], out, *args])
                else:
                    self.namespace[f"V{j}_{i}"] = prim.vjps[i]
                    call = self.call(j, f"V{j}_{i}", [grads[r_out], out, *args])
                lines.append(f"    {c} = {call}")
                kind = _kind(prim, i, params, p.shape_of(r), p.shape_of(r_out))
                contributions[r].append((c, kind, params.get("index")))
        results = []
        for r in range(n_in):
            if r in invariant:
                results.append("(" + "".join(f"{c}, " for c, *_ in contributions.get(r, [])) + ")")
            elif r in live and contributions[r]:
                finish(r)
                results.append(grads[r])
            elif 1 <= r <= n_st:  # a state the step never reads: its carried gradient is zero
                results.append(self.zeros(r, lines))
            else:
                results.append("None")
        saved_vars = "".join(f"{self.var(r)}, " for r in saved)
        invariants = "".join(f"a{r}, " for r in invariant)
        g_outs = ", ".join(f"g_out{k}" for k in range(n_st))
        name = "backward_keeping" if keep else "backward"
        head = [f"def {name}({invariants}saved, {g_outs}):", f"    ({saved_vars}) = saved"]
        ret = f"    return ({', '.join(results)},)"
        if keep:
            kept = ", ".join(f"{r - n_in}: {grads[r]}" for r in sorted(grads) if r >= n_in)
            ret = f"    return ({', '.join(results)},), {{{kept}}}"
        return "\n".join(head + lines + [ret]), saved

    def accumulate(self, r, contributions, lines):
        """Lines summing a ref's contributions into one variable; returns its name."""
        if not contributions:
            return "None"
        shape = self.p.shape_of(r)
        name = f"g{r}"
        kinds = [k for _, k, _ in contributions]
        if len(contributions) == 1 and kinds[0] in ("dense", "other"):
            return contributions[0][0]
        tiles = _tiling([index for _, k, index in contributions if k == "indexed"], shape)
        if tiles and len(tiles) == len(contributions):  # the slices cover it: join, no zero fill
            axis, order = tiles
            values = "".join(f"{contributions[k][0]}.value, " for k in order)
            lines.append(f"    {name} = np.concatenate(({values}), axis={axis})")
            return name
        if "indexed" in kinds:  # a fresh buffer of ours, that slices add into in place
            name = self.zeros(r, lines)
            for c, kind, _ in contributions:
                if kind == "indexed":
                    lines.append(f"    {c}.add_to({name})")
                else:
                    lines.append(f"    {name} += {self.dense(c, kind, shape)}")
            return name
        (first, first_kind, _), *rest = contributions
        lines.append(f"    {name} = {self.dense(first, first_kind, shape)}")
        for c, kind, _ in rest:
            lines.append(f"    {name} = {name} + {self.dense(c, kind, shape)}")
        return name

    def zeros(self, r, lines):
        """A line making a zero gradient buffer for ref ``r``; returns its variable."""
        self.namespace[f"dt{r}"] = self.example(r).dtype
        lines.append(f"    g{r} = np.zeros({self.p.shape_of(r)!r}, dt{r})")
        return f"g{r}"

    def dense(self, c, kind, shape):
        if kind == "broadcast":
            return f"unbroadcast({c}, {shape!r})"
        if kind == "product":  # a weight computed inside the step: multiplied out at once
            return f"({c}.a.T @ {c}.b if type({c}) is ProductGrad else {c})"
        return c

    def live(self):
        """Refs that take a gradient: computed from an input, and reaching an output."""
        p, n_in = self.p, self.p.n_inputs
        grad_from_inputs = set(range(n_in))  # every input may require grad (decided at runtime)
        for j, (prim, refs, *_rest) in enumerate(p.instructions):
            if any(
                r in grad_from_inputs and prim.differentiable(i)
                for i, r in enumerate(refs)
                if not isinstance(r, tuple)
            ):
                grad_from_inputs.add(n_in + j)
        live = {r for r in p.outputs if r in grad_from_inputs}
        for j in range(len(p.instructions) - 1, -1, -1):
            if n_in + j in live:
                prim, refs, *_rest = p.instructions[j]
                live.update(
                    r
                    for i, r in enumerate(refs)
                    if not isinstance(r, tuple) and r in grad_from_inputs and prim.differentiable(i)
                )
        return live

    def example(self, r):
        """Shape and dtype of ref ``r`` (for placeholders and buffers)."""
        p = self.p
        if isinstance(r, tuple):
            return np.asarray(p.constants[r[1]])
        if r < p.n_inputs:
            return np.empty(p.shapes[r], p.dtypes[r])
        _, _, _, _, shape, dtype = p.instructions[r - p.n_inputs]
        return np.empty(shape, dtype)


def _tiling(indices, shape):
    """(axis, order) if the basic indices are slices along one axis that cover ``shape``
    exactly, end to end (``order``: the contributions by position); else None."""
    spans = []
    for index in indices:
        items = index if isinstance(index, tuple) else (index,)
        if items[:1] == (Ellipsis,):
            items = (slice(None),) * (len(shape) - len(items) + 1) + items[1:]
        if len(items) != len(shape) or not all(isinstance(i, slice) for i in items):
            return None
        cut = [a for a, i in enumerate(items) if i != slice(None)]
        if len(cut) != 1:
            return None
        start, stop, step = items[cut[0]].indices(shape[cut[0]])
        if step != 1:
            return None
        spans.append((cut[0], start, stop))
    if not spans or len({axis for axis, _, _ in spans}) != 1:
        return None
    order = sorted(range(len(spans)), key=lambda k: spans[k][1])
    ends = [0] + [spans[k][2] for k in order]
    if [spans[k][1] for k in order] != ends[:-1] or ends[-1] != shape[spans[0][0]]:
        return None
    return spans[0][0], order


def _kind(prim, argnum, params, shape, out_shape):
    """How a VJP's result is added up: "indexed" (an IndexedGrad), "product" (maybe a
    ProductGrad), "broadcast" (to be summed back to the input's shape) or "other" (as it is)."""
    if prim is getitem and _is_basic_index(params.get("index")):
        return "indexed"
    if prim in (linear, matmul) and argnum == 1:
        return "product"
    if shape != out_shape and _broadcasts_to(shape, out_shape):
        return "broadcast"  # an elementwise op broadcast this input: its VJP has out's shape
    return "other"


def _broadcasts_to(shape, out_shape):
    try:
        return np.broadcast_shapes(shape, out_shape) == tuple(out_shape)
    except ValueError:
        return False


# --- helpers --------------------------------------------------------------------------------------


def _array(v):
    return v.data if isinstance(v, Tensor) else v


def _shape(v):
    return None if v is None else tuple(np.shape(_array(v)))


def _parent(v):
    if isinstance(v, Tensor) and v._rg and STATE.grad_enabled:
        return v._node or v.node
    return None


def _any_requires_grad(x, state, invariants):
    return any(isinstance(v, Tensor) and v._rg for v in (x, *state, *invariants))


def _unrolled(step, x, state, invariants, order, step_scope):
    """The same loop recorded op by op (every node kept, for anomaly and keep_values modes)."""
    outputs = [None] * len(order)
    for t in order:
        with scope(step_scope.format(t)):
            state = step(x[t], state, *invariants)
        outputs[t] = state[0]
    return apply(stack, *outputs, axis=0), tuple(state)


# --- the graph viewer's view of a scan node -------------------------------------------------------


def shown_parents(node):
    """``node.parents``, each scan node replaced by the op-by-op graph it ran (``unrolled``)."""
    return tuple(unrolled(p) if p is not None and p.prim is SCAN else p for p in node.parents)


def unrolled(node):
    """The graph a scan node stands for, built for drawing: one node per primitive per step, in
    the step's scope, named and shaped as recorded, holding its gradient if backward kept them.
    Returns the node that stacks the outputs and final state, standing in for the scan node."""
    params, view = node.params, node.params["view"]
    kept = view.get("grads")
    if "unrolled" in view and view["unrolled_with"] is kept:  # drawn before: same picture
        return view["unrolled"]
    program, order = params["program"], params["order"]
    n_in, n_states = program.n_inputs, program.n_states
    x_parent = node.parents[0]
    state = list(node.parents[1 : 1 + n_states])
    outputs = [None] * len(order)
    # backward visited the last step first, each step's ops from its outputs back
    visit = node.visit
    visits = {}
    if kept and visit is not None:
        for position in range(len(order) - 1, -1, -1):
            for j in sorted(kept[position], reverse=True):
                visit += 1
                visits[position, j] = visit
    for position, t in enumerate(order):
        env = dict(enumerate(node.parents))
        env[0] = (
            None
            if x_parent is None
            else _shown_node(
                getitem,
                (x_parent,),
                {"index": t},
                None,
                program.shapes[0],
                program.dtypes[0],
                node.scope,
            )
        )
        env.update((1 + k, s) for k, s in enumerate(state))
        step_scope = node.scope + (params["step_scope"].format(t),)
        for j, (prim, refs, op_params, name, shape, dtype) in enumerate(program.instructions):
            parents = tuple(None if isinstance(r, tuple) else env[r] for r in refs)
            if all(p is None for p in parents):
                env[n_in + j] = None  # computed from constants only: not recorded op by op either
                continue
            shown = _shown_node(prim, parents, op_params, name, shape, dtype, step_scope)
            shown.grad = kept[position].get(j) if kept else None
            shown.visit = visits.get((position, j))
            env[n_in + j] = shown
        state = [env[r] for r in program.outputs]
        outputs[t] = state[0]
    stacked = _shown_node(
        stack, tuple(outputs + state), {"axis": 0}, node.name, node.shape, node.dtype, node.scope
    )
    stacked.grad, stacked.visit = node.grad, node.visit
    view["unrolled"], view["unrolled_with"] = stacked, kept
    return stacked


def _shown_node(prim, parents, params, name, shape, dtype, node_scope):
    shown = Node(prim, parents, None, params, None, Placeholder(np.empty((0,), dtype)))
    shown.shape, shown.name, shown.scope = shape, name, node_scope
    return shown
