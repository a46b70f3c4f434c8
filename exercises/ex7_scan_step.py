"""Exercise 7 (From the tape to a compiled loop): a step that the compiled loop can replay.

``leaky_step`` is one step of a leaky-ReLU RNN: h_t = leaky_relu(x_t + h_{t-1} @ w), with slope
0.1 below zero. The checker runs it over 12 steps with ``tg.scan.scan``, compiled and under
``tg.eager()``, and compares the outputs and the gradient of w with the right ones. As written,
it is right op by op and wrong compiled: it reads values out of a tensor (``.numpy()``), and the
compiled loop records such a value once, on the step it traces, and replays it at every step.
Rewrite it with tensor operations only (no ``.numpy()``, no comparison) so that both are right.

Check: python -m tinygrad_seq.exercises check 7
"""

import numpy as np


def leaky_step(x_t, state, w):
    """The new state, a tuple of one tensor: leaky_relu(x_t + state[0] @ w), slope 0.1."""
    pre = x_t + state[0] @ w
    slope = np.where(pre.numpy() > 0, 1.0, 0.1)  # read from the values of the step being traced
    return (pre * slope,)
