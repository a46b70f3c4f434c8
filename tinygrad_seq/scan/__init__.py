"""A loop over time as ONE graph node: the step is recorded once, its primitives replayed T times.

Why: an LSTM step is ~16 primitives. Recording each of them as a graph node at each step costs
microseconds of Python per op, more than NumPy's own work on small arrays (``benchmarks/rnn.py``).
``scan`` runs the step once under a tracer that notes every primitive it applies, and writes the
trace out as Python source (``print(tg.scan.program(layer, x))`` shows it):

- the forward loop calls each primitive's ``forward``, in the recorded order;
- the backward loop calls each primitive's VJPs in reverse, and adds gradients up as the engine
  does (``+``, slices joined into one buffer, broadcasting undone).

Every line names the primitive it calls and the node it computes (``cell_state = add(v10, v11)``,
``g_v4 = tanh_vjp(g_candidate, candidate, v4_shape)``); the loops read the forwards and
VJPs from the primitives at each call, so an edit of ``ops`` is what runs; the source is
registered with ``linecache``, so tracebacks and ``pdb`` show its lines.

Nothing is hand-derived: the program is the composition of primitives the step is, and its numbers
are the ones op-by-op recording gives (the same NumPy calls in the same order). What it saves is
the Python around them: graph nodes, the sweep's bookkeeping, a function call per op.

- ``loop``: ``scan`` itself (a node of the table's ``ops.scan`` primitive), ``op_by_op``,
  ``program``;
- ``record``: the tracer, the ``Program`` (with ``unroll``, the op-by-op interpreter every replay
  uses), and the bounded caches of programs (``clear_cache``);
- ``plan``: the backward plan built once per program, and its interpreter (the viewer's backward);
- ``source``: the writer of a program's source, from the plan;
- ``backward``: ``ops.scan``'s rule: the written backward loop, or the recorded replay;
- ``view``: the graph viewer's op-by-op view of a scan node (``unrolled``).

``scan`` records op by op instead under ``tg.eager()`` (as ``jax.disable_jit()``: the real graph
of every step), and where a mode needs every node: ``detect_anomaly`` (to name the failing op)
and ``keep_values`` (to draw every value).

The backward loop is first order. A backward that records (``create_graph=True``: derivatives of
derivatives) replays the loop op by op from the arrays the scan node saved, as ``tg.eager()``
would have recorded it, and records the backward of that: the same numbers, at the price of
op-by-op recording, paid only when a graph of the backward is asked for.
"""

from .loop import SCAN, op_by_op, program, scan
from .record import Program, clear_cache, record
from .view import shown_parents, unrolled

__all__ = [
    "SCAN",
    "Program",
    "clear_cache",
    "op_by_op",
    "program",
    "record",
    "scan",
    "shown_parents",
    "unrolled",
]
