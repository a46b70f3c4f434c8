"""``scan``: a loop over time recorded as ONE node of the table's ``scan`` primitive."""

import threading

import numpy as np

from .._tensor import Tensor, apply, record_node
from ..modes import STATE, scope
from ..ops import scan as SCAN  # the table's entry: its rule runs the program's backward
from ..ops import stack
from .record import record


def scan(step, x, state, invariants=(), *, reverse=False, step_scope="t={}", key=None):
    """Run ``state = step(x[t], state, *invariants)`` over the first axis of ``x``.

    ``state`` is a tuple of Tensors of one shape and dtype; ``state[0]`` after step t is the output
    at t. ``invariants`` are the same at every step: Tensors (weights), arrays (constant hints) or
    None. Returns ``(outputs, final_state)``: outputs stacked as (T, *state shape) at their
    positions in ``x`` (``reverse=True`` runs from the last step to the first), and the state after
    the last step run. The graph viewer shows step t under ``tg.scope(step_scope.format(t))``.

    The step is recorded once and replayed: it must apply the same primitives at every step (no
    Python branching on values, no values read out of tensors with ``.data`` or ``.item()``, no
    fresh random numbers inside: those would be replayed as recorded), and use no tensor it is
    not given (that is an error).
    It is recorded again at every call (about one op-by-op step of work) unless ``key`` is given: a
    hashable that, with the inputs' shapes and dtypes, fixes what the step applies (a layer passes
    its step functions and settings); then the recording is reused. The cache holds the key's
    objects by weak reference: a bound method as key keeps its object alive no longer. Under
    ``tg.eager()`` the loop is recorded op by op, a node per primitive per step.

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
    _check_inputs(x, state, invariants)
    steps = x.shape[0]
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    if STATE.eager or STATE.anomaly or STATE.keep_values:
        return op_by_op(step, x.__getitem__, state, invariants, order, step_scope)
    state_data = [s._data for s in state]
    values = [v._data if isinstance(v, Tensor) else v for v in invariants]
    program = record(step, x._data[order[0]], state_data, invariants, key)
    watching = getattr(_WATCHING, "programs", None)
    if watching is not None:  # inside ``program``
        watching.append(program)
    outputs = [None] * steps
    recording = STATE.grad_enabled and _requires_grad(x, *state, *invariants)
    if recording:
        tape = []
        final = program.run_forward(x._data, order, outputs, tape, *state_data, *values)
    else:
        final = program.run_infer(x._data, order, outputs, *state_data, *values)
    # the outputs, then the final value of every state but the first (the last output is that):
    # one copy at the end, not one per step
    out = np.stack(outputs + list(final[1:]))
    if not recording:
        return _split(Tensor._from_op(out, None), order)
    # "view": what the graph viewer reads (the gradients backward kept, the drawn expansion)
    params = {"program": program, "order": order, "step_scope": step_scope, "view": {}}
    # the result is kept for backward too: its rows are the states the weight's GEMM reads
    # and the arrays the loop started from (references): a recorded backward replays it from them
    start = (x._data, *state_data)
    inputs = (x, *state, *invariants)
    node = record_node(SCAN, inputs, (tape, values, out, start), params, None, out)
    return _split(Tensor._from_op(out, node), order)


_WATCHING = threading.local()  # .programs: the list ``program`` collects into, in this thread


def program(fn, *args, **kwargs):
    """The ``Program`` of the first loop ``fn(*args, **kwargs)`` runs: ``print`` it to read the
    step as the loop runs it, forward and backward (every line names the primitive it calls).

    >>> import numpy as np, tinygrad_seq as tg
    >>> rnn = tg.nn.RNN(2, 3, seed=0)
    >>> print(tg.scan.program(rnn, np.ones((4, 1, 2), dtype=np.float32)))
    def run_infer(xs, order, outputs, hidden_state_prev, w_hh, b_hh, w_hh_t):
    ...
            hidden_state = tanh(v1)  # hidden state
    ...
    def run_backward(g, order, tape, free, grad_x, g_state0, w_hh, grads_w_hh):
    ...
            g_v1 = tanh_vjp(g_state0, hidden_state, v1_shape)
    ...
    """
    previous, _WATCHING.programs = getattr(_WATCHING, "programs", None), []
    try:
        fn(*args, **kwargs)
        ran = _WATCHING.programs
    finally:
        _WATCHING.programs = previous
    if not ran:
        raise ValueError(
            "scan.program: the call ran no compiled loop (inside tg.eager(), tg.keep_values() "
            "or tg.detect_anomaly() every loop runs op by op)"
        )
    return ran[0]


def _check_inputs(x, state, invariants):
    if not isinstance(x, Tensor) or x.ndim == 0 or x.shape[0] == 0:
        got = f"shape {x.shape}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"scan: x must be a Tensor with at least one step on axis 0, got {got}")
    if not isinstance(state, tuple) or not state or not all(isinstance(s, Tensor) for s in state):
        raise TypeError("scan: the state must be a non-empty tuple of Tensors")
    for v in invariants:  # a number would be baked into the recording, not passed each call
        if v is not None and not isinstance(v, (Tensor, np.ndarray)):
            raise TypeError(
                f"scan: invariants must be Tensors, NumPy arrays or None, got {type(v).__name__}"
            )
    if len({(s.shape, s.dtype) for s in state}) > 1:
        shapes = ", ".join(f"{s.shape} {s.dtype}" for s in state)
        raise ValueError(f"scan: the state's tensors must share one shape and dtype, got {shapes}")


def _split(out, order):
    """(outputs, final state) of the scan's result. With one state the result IS the outputs: their
    gradient then reaches the scan as it is, with no buffer to assemble it in.

    The slices taken here are the result's layout, not the loop's computation: the scan node's
    view notes them ("parts", by serial), and the graph viewer draws what each stands for (the
    stacked outputs, the last step's states) as the op-by-op loop has them (``view``)."""
    steps = len(order)
    outputs = out if out.shape[0] == steps else out[:steps]
    extra = tuple(out[k] for k in range(steps, out.shape[0]))
    final = (outputs[order[-1]],) + extra
    node = out._node
    if node is not None:
        parts = {t._node.serial: k for k, t in enumerate(final)}
        if outputs is not out:
            parts[outputs._node.serial] = "outputs"
        node.params["view"]["parts"] = parts
    return outputs, final


def _requires_grad(*values):
    return any(isinstance(v, Tensor) and v._requires_grad for v in values)


def op_by_op(step, x_at, state, invariants, order, step_scope="t={}"):
    """The loop of ``scan`` recorded op by op, a node per primitive per step: at each t of
    ``order``, under ``tg.scope(step_scope.format(t))``, ``state = step(x_at(t), state,
    *invariants)``. ``x_at(t)`` is called inside the step's scope, so a slice it takes is drawn in
    the step. Returns (the first state after each step stacked by t, the final state). ``scan``
    runs this under ``tg.eager()``; a layer runs it where steps differ (padded sequences).

    >>> import tinygrad_seq as tg
    >>> x, step = tg.ones(3, 2), lambda x_t, s: (s[0] + x_t,)
    >>> out, (h,) = op_by_op(step, x.__getitem__, (tg.zeros(2),), (), range(3))
    >>> out.tolist(), h.tolist()
    ([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], [3.0, 3.0])
    """
    outputs = [None] * len(order)
    for t in order:
        with scope(step_scope.format(t)):
            state = step(x_at(t), state, *invariants)
        outputs[t] = state[0]
    return apply(stack, *outputs, axis=0), tuple(state)
