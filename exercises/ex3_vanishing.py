"""Exercise 3 (The RNN and BPTT): at which step has the gradient vanished?

Run ``cell`` (an nn.RNNCell) over the sequence ``x`` of shape (T, batch, input_size) from a zero
state, take L = sum(h_{T-1}) (the last hidden state), backpropagate, and find how far back the
gradient reaches: return the LAST step t whose ||dL/dh_t|| is below ``threshold`` (None if no step
is). Every earlier step has vanished too, with a tanh RNN's geometric decay.

Do it with the engine, not with viz.gradient_flow (the checker compares with it): keep each
h_t's gradient with h.retain_grad() before backward, then read h.grad (np.linalg.norm of it).

Check: python -m tinygrad_seq.exercises check 3
"""

import numpy as np  # noqa: F401

import tinygrad_seq as tg  # noqa: F401


def vanished_step(cell, x, threshold):
    """The last step t with ||dL/dh_t|| < threshold, where L = sum of the last hidden state."""
    raise NotImplementedError("exercise 3: return the last step whose gradient norm is small")
