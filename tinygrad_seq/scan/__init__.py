"""A loop over time as ONE graph node: the step is recorded once, its primitives replayed T times.

Why: an LSTM step is ~16 primitives. Recording each of them as a graph node at each step costs
microseconds of Python per op, more than NumPy's own work on small arrays (``benchmarks/rnn.py``).
``scan`` runs the step once under a tracer that notes every primitive it applies, and writes the
trace out as Python source (read it: ``program.source``):

- the forward loop calls each primitive's ``forward`` from ``ops``, in the recorded order;
- the backward loop calls each primitive's VJPs from ``ops`` in reverse, and adds gradients up as
  the engine does (``+``, slices joined into one buffer, broadcasting undone).

Nothing is hand-derived: the program is the composition of primitives the step is, and its numbers
are the ones op-by-op recording gives (the same NumPy calls in the same order). What it saves is
the Python around them: graph nodes, the sweep's bookkeeping, a function call per op.

- ``loop``: ``scan`` itself and the scan primitive (its VJP runs the backward loop);
- ``record``: the tracer, and the cache of programs (a layer records the same step every call);
- ``source``: the writer of a program's source;
- ``view``: the graph viewer's op-by-op view of a scan node (``unrolled``).

``scan`` records op by op instead where a mode needs every node: ``detect_anomaly`` (to name the
failing op) and ``keep_values`` (to draw every value).
"""

from .loop import SCAN, program, scan
from .record import Program, clear_cache, record
from .view import shown_parents, unrolled

__all__ = [
    "SCAN",
    "Program",
    "clear_cache",
    "program",
    "record",
    "scan",
    "shown_parents",
    "unrolled",
]
