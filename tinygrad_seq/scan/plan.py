"""A recorded step's backward plan, built once per program: which values take a gradient, which
VJPs run in which order, how each result is added up, and what the forward must save for them.

The code generator (``source``) writes ``run_backward`` from the plan; ``Plan.run`` interprets the
same plan step by step, the reference: it serves the graph viewer's backward (``keep_grads``),
which keeps every op's gradient and notes the order the VJPs ran.
"""

import numpy as np

from ..grads import add_up
from ..ops import Placeholder

# the viewer notes x_t's slice, whose gradient goes into grad_x, under this instruction number
# (the instructions are numbered from 0)
X_SLICE = -1


class Plan:
    """The backward of one step of ``program``.

    ``calls``: one ``(instruction j, input i, ref r, form, kind)`` per VJP, in the order they run
    (the last instruction first): ``form`` as the primitive declares it (``"same"``: no call, the
    result is ``g`` itself), ``kind`` how the result is added up (``_kind``). ``saved``: the refs
    the VJPs read, in the order the forward saves them on its tape; ``reads``: the invariants they
    read; ``args[j]``: instruction j's VJP arguments, (ref, whether its value is read).

    >>> import numpy as np
    >>> from tinygrad_seq.scan import record
    >>> step = lambda x_t, s: ((x_t + s[0]).tanh(),)
    >>> plan = record(step, np.ones(2), [np.zeros(2)], ()).plan
    >>> [(j, i, form) for j, i, _, form, _ in plan.calls], plan.saved
    ([(1, 0, None), (0, 0, 'same'), (0, 1, 'same')], [3])
    """

    def __init__(self, program):
        self.program = p = program
        n_in, self.invariants = p.n_inputs, range(1 + p.n_states, p.n_inputs)
        self.live = live = _live(p)
        self.calls, self.saved, self.reads, self.args, self.placeholders = [], [], set(), {}, {}
        for j in range(len(p.instructions) - 1, -1, -1):
            if n_in + j not in live:
                continue
            prim, refs, params, *_ = p.instructions[j]
            if prim.saves_out and n_in + j not in self.saved:
                self.saved.append(n_in + j)
            for i, r in enumerate(refs):
                if type(r) is not tuple and r in live and prim.differentiable(i):
                    form = prim.grad_form(i, params)
                    kind = _kind(form, p.shape_of(r), p.shape_of(n_in + j))
                    self.calls.append((j, i, r, form, kind))
                    if form != "same" and j not in self.args:
                        self.args[j] = self._args(prim, refs)

    def _args(self, prim, refs):
        """A VJP's arguments as (ref, read): the values it reads (noted as saved), and for the
        rest a ``Placeholder`` (shape and dtype, ``placeholder``)."""
        args = []
        for q, r in enumerate(refs):
            if prim.saves is not None and q not in prim.saves:
                args.append((r, False))
                continue
            if type(r) is not tuple and r not in self.saved and r not in self.invariants:
                self.saved.append(r)
            if r in self.invariants:
                self.reads.add(r)
            args.append((r, True))
        return args

    def placeholder(self, ref):
        """A ``Placeholder`` (shape and dtype) for a value no VJP reads, made once per ref."""
        shown = self.placeholders.get(ref)
        if shown is None:
            p = self.program
            if type(ref) is tuple:
                shown = Placeholder(np.asarray(p.constants[ref[1]]))
            else:  # a zero-strided view has the shape and dtype and no memory
                zero = np.zeros((), p.dtype_of(ref))
                shown = Placeholder(np.broadcast_to(zero, p.shape_of(ref)))
            self.placeholders[ref] = shown
        return shown

    def run(self, g, order, tape, free, grad_x, kept, ran, finals, invariants, sinks):
        """The backward loop interpreted: what ``run_backward`` computes (the carried gradients
        returned, x's rows written into ``grad_x``, the invariants' parts appended to ``sinks``),
        keeping every op's gradient in ``kept`` and noting in ``ran`` each op as its VJPs run."""
        p, n_in, carried = self.program, self.program.n_inputs, list(finals)
        for position in range(len(order) - 1, -1, -1):
            t = order[position]
            carried[0] = carried[0] + g[t]  # the output at t is the first state
            values = dict(zip(self.saved, tape.pop() if free else tape[position]))
            values.update(zip(self.invariants, invariants))
            parts = {r: [] for r in self.live}
            for k, r in enumerate(p.outputs):
                parts[r].append(carried[k])
            grads = {}
            for j, i, r, form, _ in self.calls:
                if n_in + j not in grads:
                    grads[n_in + j] = add_up(parts[n_in + j], p.shape_of(n_in + j))
                    ran.append((position, j))
                parts[r].append(self._vjp(j, i, form, grads[n_in + j], values))
            kept[position] = {r - n_in: v for r, v in grads.items()}
            if parts.get(0):  # x_t's slice: its gradient goes into grad_x, as getitem's VJP's
                kept[position][X_SLICE] = g_x = add_up(parts[0], p.shapes[0])
                if grad_x is not None:
                    grad_x[t] = g_x
                    ran.append((position, X_SLICE))
            for k, r in enumerate(self.invariants):
                sinks[k].extend(parts.get(r, ()))
            carried = [  # zero for a state the step never reads
                add_up(parts[r], p.shapes[r])
                if parts.get(r)
                else np.zeros(p.shapes[r], p.dtypes[r])
                for r in range(1, 1 + p.n_states)
            ]
        return carried

    def _vjp(self, j, i, form, g, values):
        if form == "same":
            return g
        prim, _, params, *_ = self.program.instructions[j]
        constants = self.program.constants
        inputs = [
            self.placeholder(r) if not read else constants[r[1]] if type(r) is tuple else values[r]
            for r, read in self.args[j]
        ]
        out = values[self.program.n_inputs + j] if prim.saves_out else None
        return prim.vjp(i, g, out, inputs, params)


def _live(p):
    """Refs that take a gradient: computed from an input, and reaching an output."""
    n_in = p.n_inputs
    from_inputs = set(range(n_in))  # every input may require grad (decided at run time)
    for j, (prim, refs, *_) in enumerate(p.instructions):
        if any(r in from_inputs and prim.differentiable(i) for i, r in _refs(refs)):
            from_inputs.add(n_in + j)
    live = {r for r in p.outputs if r in from_inputs}
    for j in range(len(p.instructions) - 1, -1, -1):
        if n_in + j in live:
            prim, refs, *_ = p.instructions[j]
            live.update(r for i, r in _refs(refs) if r in from_inputs and prim.differentiable(i))
    return live


def _refs(refs):
    return [(i, r) for i, r in enumerate(refs) if not isinstance(r, tuple)]


def _kind(form, shape, out_shape):
    """How a VJP's result is added up, from the form its primitive declares (``grad_form``):
    "indexed" (an IndexedGrad), "product" (maybe a ProductGrad), "broadcast" (to be summed back
    to the input's shape) or "other" (as it is)."""
    if form == "indexed" or form == "product":
        return form
    if shape != out_shape and _broadcasts_to(shape, out_shape):
        return "broadcast"  # an elementwise op broadcast this input: its VJP has out's shape
    return "other"


def _broadcasts_to(shape, out_shape):
    try:
        return np.broadcast_shapes(shape, out_shape) == tuple(out_shape)
    except ValueError:
        return False
