"""Recording a step: the tracer's list of primitives becomes a ``Program``, cached by its shape."""

import numpy as np

from ..engine import STATE, no_grad
from ..tensor import Tensor
from .source import write

_CACHE = {}  # trace signature -> Program
_KNOWN = {}  # (scan's key, input shapes and dtypes) -> Program, for steps that need no tracing
_CACHE_LIMIT = 256


class Program:
    """One recorded step, and the loops written from it (``source``).

    ``instructions``: one ``(primitive, argument refs, params, name, shape, dtype)`` per op, in
    order. A ref is 0 for the step input x_t, 1..S for the state, then the invariants, then one
    per instruction; ``("const", k)`` is ``constants[k]``. ``outputs``: the refs of the new state.

    >>> import numpy as np
    >>> from tinygrad_seq.scan import record
    >>> program = record(lambda x_t, s: ((x_t + s[0]).tanh(),), np.ones(3), [np.zeros(3)], ())
    >>> [prim.name for prim, *_ in program.instructions], program.outputs
    (['add', 'tanh'], (3,))
    >>> print(program.source.split("\\n\\n")[0])
    def run_infer(xs, order, outputs, a1):
        for t in order:
            a0 = xs[t]
            v0 = F0(a0, a1)
            v1 = F1(v0)
            a1 = v1
            outputs[t] = a1
        return (a1,)
    """

    def __init__(self, instructions, constants, outputs, shapes, dtypes, n_states):
        self.instructions, self.constants, self.outputs = instructions, constants, outputs
        self.shapes, self.dtypes, self.n_states = shapes, dtypes, n_states
        self.n_inputs = len(shapes)
        self.source, namespace = write(self)
        exec(compile(self.source, f"<scan of {len(instructions)} ops>", "exec"), namespace)
        self.run_infer, self.run_forward = namespace["run_infer"], namespace["run_forward"]
        self.run_backward = namespace["run_backward"]
        self.run_backward_keeping = namespace["run_backward_keeping"]

    def shape_of(self, ref):
        if ref < self.n_inputs:
            return self.shapes[ref]
        return self.instructions[ref - self.n_inputs][4]

    def dtype_of(self, ref):
        if isinstance(ref, tuple):
            return np.asarray(self.constants[ref[1]]).dtype
        if ref < self.n_inputs:
            return self.dtypes[ref]
        return self.instructions[ref - self.n_inputs][5]


def record(step, x_t, state, invariants, key=None):
    """Run ``step`` once on these arrays under the tracer: the ``Program`` of what it applied.

    With a ``key`` (see ``scan``), a program recorded before for the same key, shapes and dtypes
    is returned without running the step.

    >>> import numpy as np
    >>> step = lambda x_t, s: ((x_t * s[0]).sigmoid(),)
    >>> first = record(step, np.ones(2), [np.ones(2)], (), key="gate")
    >>> record(step, np.zeros(2), [np.zeros(2)], (), key="gate") is first  # same shapes: reused
    True
    """
    if key is not None:
        arrays = (x_t, *state, *[v.data if isinstance(v, Tensor) else v for v in invariants])
        known = (key, *[None if a is None else (a.shape, a.dtype.str) for a in arrays])
        program = _KNOWN.get(known)
        if program is None:
            program = _KNOWN[known] = record(step, x_t, state, invariants)
        return program
    x_in = Tensor._from_op(x_t, None)
    state_in = tuple(Tensor._from_op(s, None) for s in state)
    inv_in = [Tensor._from_op(v.data, None) if isinstance(v, Tensor) else v for v in invariants]
    trace = []
    prev, STATE.tracer = STATE.tracer, trace
    try:
        with no_grad():
            result = step(x_in, state_in, *inv_in)
    finally:
        STATE.tracer = prev
    _check_result(result, state)
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
    outputs = tuple(refs.get(id(r)) for r in result)
    if None in outputs:
        raise ValueError("scan: the step returned a tensor it did not compute from its inputs")
    arrays = [x_t, *state, *[v.data if isinstance(v, Tensor) else v for v in invariants]]
    shapes = [None if a is None else np.shape(a) for a in arrays]
    dtypes = [None if a is None else np.asarray(a).dtype for a in arrays]
    key = (
        tuple(
            (id(p), refs, _key(params), name, shape, dtype.str)
            for p, refs, params, name, shape, dtype in instructions
        ),
        tuple(_key(c) for c in constants),
        outputs,
        tuple(shapes),
        tuple(None if d is None else d.str for d in dtypes),
    )
    program = _CACHE.get(key)
    if program is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
            _KNOWN.clear()
        program = Program(instructions, constants, outputs, shapes, dtypes, len(state))
        _CACHE[key] = program
    return program


def _check_result(result, state):
    if not isinstance(result, tuple) or len(result) != len(state):
        raise TypeError(f"scan: the step must return a tuple of {len(state)} state tensor(s)")
    for s, r in zip(state, result):
        if not isinstance(r, Tensor) or r.shape != s.shape or r.dtype != s.dtype:
            got = f"{r.shape} {r.dtype}" if isinstance(r, Tensor) else type(r).__name__
            raise ValueError(
                f"scan: the step returned a new state of {got}, expected {s.shape} {s.dtype} "
                "(the state must keep its shape and dtype from step to step)"
            )


def _key(value):
    """A hashable stand-in for a parameter or constant: arrays by value (not by repr, which elides
    the middle of a long array)."""
    kind = type(value)
    if kind in (int, float, str, bool) or value is None:
        return value
    if kind is slice:
        return (slice, value.start, value.stop, value.step)
    if kind is tuple or kind is list:
        return (kind,) + tuple(_key(v) for v in value)
    if kind is dict:
        return (dict,) + tuple((k, _key(v)) for k, v in value.items())
    if isinstance(value, (np.ndarray, np.generic)):
        return (value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.dtype):
        return (np.dtype, value.str)
    return (kind, repr(value))
