"""Recording a step: the tracer's list of primitives becomes a ``Program``, cached by its shape.

Two caches, each bounded (the least recently used program goes first) and guarded by one lock:
by trace (the recorded primitives themselves, their params, constants, shapes and names), and by
``scan``'s ``key`` with the inputs' shapes and dtypes, which skips the tracing. A key's objects are
held by weak reference (a bound method as its function and its object), so no cache keeps a layer
alive. A program reads its primitives' forwards and VJPs at each call, so an edit of ``ops`` needs
no clearing; ``clear_cache`` forgets every program.
"""

import inspect
import itertools
import linecache
import threading
import types
import weakref
from collections import OrderedDict

import numpy as np

from .._tensor import Tensor
from ..modes import STATE, no_grad
from . import backward
from .plan import Plan
from .source import write

CACHE_SIZE = 256  # programs per cache
_BY_TRACE = OrderedDict()  # trace signature -> Program
_BY_KEY = OrderedDict()  # (scan's key, held weakly; input shapes and dtypes) -> Program
# Recording runs under the lock too: a step is traced through the engine's switches, and two
# threads must not trace into one list. Reentrant: a step may itself run a scan.
_LOCK = threading.RLock()
_SERIALS = itertools.count()


class Program:
    """One recorded step, and the loops written from it (``source``; ``print(program)`` shows it).

    ``instructions``: one ``(primitive, argument refs, params, name, shape, dtype)`` per op, in
    order. A ref is 0 for the step input x_t, 1..S for the state, then the invariants, then one
    per instruction; ``("const", k)`` is ``constants[k]``. ``outputs``: the refs of the new state.
    The source is registered with ``linecache`` under ``filename``, as ``dataclasses`` registers
    the code it writes: tracebacks, ``pdb`` and ``inspect.getsource`` show its lines.

    >>> import numpy as np
    >>> from tinygrad_seq.scan import record
    >>> step = lambda x_t, s: ((x_t + s[0]).tanh().named("h"),)
    >>> program = record(step, np.ones(3), [np.zeros(3)], ())
    >>> [prim.name for prim, *_ in program.instructions], program.outputs
    (['add', 'tanh'], (3,))
    >>> print(program.source.split("\\n\\n")[0])
    def run_infer(xs, order, outputs, h_prev):
        # read from the primitives at each call: an edited forward or VJP is what runs
        add = table["add"].forward
        tanh = table["tanh"].forward
        for t in order:
            x_t = xs[t]
            v0 = add(x_t, h_prev)
            h = tanh(v0)  # h
            h_prev = h
            outputs[t] = h_prev
        return (h_prev,)
    """

    def __init__(self, instructions, constants, outputs, shapes, dtypes, n_states, input_names):
        self.instructions, self.constants, self.outputs = instructions, constants, outputs
        self.shapes, self.dtypes, self.n_states = shapes, dtypes, n_states
        self.n_inputs = len(shapes)
        # what ``run_backward`` takes besides the gradients: grad_x's buffer if x_t takes a
        # gradient, the invariants its VJPs read and the lists of the invariants that take one
        # (positions among the invariants), set by the writer
        self.backward_takes_x, self.backward_reads, self.backward_sums = False, [], []
        self.plan = Plan(self)  # the backward, planned once: written out, and interpreted
        self.source, self._namespace = write(self, input_names)
        self.filename = f"<tinygrad_seq.scan program {next(_SERIALS)}>"
        _compile(self, self.source, self.filename)
        namespace = self._namespace
        self.run_infer, self.run_forward = namespace["run_infer"], namespace["run_forward"]
        self.run_backward = namespace["run_backward"]

    def vjp(self, g, inputs, needs, options, parents, **params):
        """A scan node's gradients (the table's ``scan`` rule): see ``backward.vjp``."""
        return backward.vjp(self, g, inputs, needs, options, parents, **params)

    def unroll(self, order, x_at, state, invariants, op):
        """The step interpreted op by op over the steps in ``order``, the reference every replay
        of the program uses (the recorded backward, the viewer's expansion): each instruction's
        value is ``op(t, j, primitive, args, params)``, its args the values of its refs
        (constants as recorded). ``x_at(t)``: the step input at t. Returns (the first state's
        value after each step, by t; the state after the last step).

        >>> import numpy as np
        >>> from tinygrad_seq.scan import record
        >>> program = record(lambda x_t, s: ((x_t + s[0]) * 2,), np.ones(1), [np.zeros(1)], ())
        >>> run = lambda t, j, prim, args, params: prim.forward(*args, **params)
        >>> outputs, _ = program.unroll(range(3), lambda t: np.ones(1), [np.zeros(1)], [], run)
        >>> [float(o[0]) for o in outputs]
        [2.0, 6.0, 14.0]
        """
        outputs = [None] * len(order)
        constants = self.constants
        for t in order:
            env = [x_at(t), *state, *invariants]
            for j, (prim, refs, params, *_) in enumerate(self.instructions):
                args = [constants[r[1]] if type(r) is tuple else env[r] for r in refs]
                env.append(op(t, j, prim, args, params))
            state = [env[r] for r in self.outputs]
            outputs[t] = state[0]
        return outputs, state

    def __str__(self):
        return self.source

    def __repr__(self):
        return f"<Program {self.filename[1:-1]}: {len(self.instructions)} ops>"

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


def _compile(program, source, filename):
    """Run ``source`` into the program's namespace, its lines registered under ``filename``."""
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    weakref.finalize(program, linecache.cache.pop, filename, None)
    exec(compile(source, filename, "exec"), program._namespace)


def clear_cache():
    """Forget every recorded program: each loop records its step again at its next call. Needed
    only when what a step applies changed without its ``key`` changing (editing a primitive's
    forward or VJP needs none: programs read them at each call).

    >>> from tinygrad_seq.scan import clear_cache
    >>> clear_cache()
    """
    with _LOCK:
        _BY_TRACE.clear()
        _BY_KEY.clear()


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
    if key is None:
        with _LOCK:
            return _record(step, x_t, state, invariants)
    arrays = (x_t, *state, *[v._data if isinstance(v, Tensor) else v for v in invariants])
    known = (_weakly(key), *[None if a is None else (a.shape, a.dtype.str) for a in arrays])
    with _LOCK:
        program = _BY_KEY.get(known)
        if program is None:
            program = _remember(_BY_KEY, known, _record(step, x_t, state, invariants))
        else:
            _BY_KEY.move_to_end(known)
        return program


def _record(step, x_t, state, invariants):
    x_in = Tensor._from_op(x_t, None)
    state_in = tuple(Tensor._from_op(s, None) for s in state)
    inv_in = [Tensor._from_op(v._data, None) if isinstance(v, Tensor) else v for v in invariants]
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
    arrays = [x_t, *state, *[v._data if isinstance(v, Tensor) else v for v in invariants]]
    shapes = [None if a is None else np.shape(a) for a in arrays]
    dtypes = [None if a is None else np.asarray(a).dtype for a in arrays]
    names = _input_names(step, len(invariants))
    key = (
        # the primitives themselves, not their ids (an id is reused once its object is gone)
        tuple(
            (p, refs, _key(params), name, shape, dtype.str)
            for p, refs, params, name, shape, dtype in instructions
        ),
        tuple(_key(c) for c in constants),
        outputs,
        tuple(shapes),
        tuple(None if d is None else d.str for d in dtypes),
        names,
    )
    program = _BY_TRACE.get(key)
    if program is None:
        program = Program(instructions, constants, outputs, shapes, dtypes, len(state), names)
        return _remember(_BY_TRACE, key, program)
    _BY_TRACE.move_to_end(key)
    return program


def _remember(cache, key, program):
    """Insert, forgetting the least recently used program past ``CACHE_SIZE`` (lock held)."""
    cache[key] = program
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return program


def _weakly(value):
    """``value`` as a cache key that keeps no object alive: a tuple part by part, a bound method as
    its function and its object, any object that allows it by weak reference (equal while alive,
    never equal to a live object once dead), the rest (numbers, strings) as it is."""
    kind = type(value)
    if kind is tuple:
        return tuple([_weakly(v) for v in value])  # a list first: faster than a generator
    if kind is types.MethodType:
        return (types.MethodType, _weakly(value.__func__), _weakly(value.__self__))
    return weakref.ref(value) if kind.__weakrefoffset__ else value


def _input_names(step, n_invariants):
    """The names the step gives x_t and the invariants, for the written source: ("x_t",
    "invariant0", ...) where its signature does not tell."""
    names = ("x_t",) + tuple(f"invariant{k}" for k in range(n_invariants))
    try:
        params = list(inspect.signature(step).parameters.values())
    except (TypeError, ValueError):  # a builtin or a callable without a signature
        return names
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2 + n_invariants:
        return names
    return (positional[0],) + tuple(positional[2 : 2 + n_invariants])


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
        return (kind, value)  # 1, 1.0 and True are equal keys, and may not give equal programs
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
    try:
        hash(value)
    except TypeError:  # no stand-in that is sure to be equal only for equal values:
        return object()  # a key equal to no other, so this program is never reused
    return (kind, value)
