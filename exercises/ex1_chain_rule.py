"""Exercise 1 (Autodiff from scratch): the gradients of L = tanh(a * b + c), by hand.

Walk the graph from L back to the leaves, one local derivative per node, as the picture in
docs/autodiff.md does: d tanh(u)/du = 1 - tanh(u)**2, an add passes its gradient to both inputs,
a mul sends each input the gradient times the other input.

Check: python -m tinygrad_seq.exercises check 1
"""

import math


def gradients(a, b, c):
    """Return (dL/da, dL/db, dL/dc) for L = tanh(a * b + c), as three floats."""
    L = math.tanh(a * b + c)  # noqa: F841  (you will need it)
    raise NotImplementedError("exercise 1: return (dL/da, dL/db, dL/dc)")
