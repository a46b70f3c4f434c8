"""Exercise 6 (The GRU): one GRU step's backward, by hand, in NumPy.

The forward is given, with the gate layout of PyTorch (rows r, z, n) and b_hn inside r * (...):

    r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
    z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
    h_new = (1 - z) * n + z * h

Given dh_new = dL/dh_new, return the gradients of x, h, weight_ih, weight_hh, bias_ih and bias_hh.
The checker compares them with the engine's (nn.GRUCell, float64), one by one.

Hints: sigmoid' = s (1 - s) and tanh' = 1 - t**2; h is used twice (in the gates and in z * h);
a weight's gradient is (gradient of the pre-activation).T @ input, summed over the batch.

Check: python -m tinygrad_seq.exercises check 6
"""

import numpy as np


def sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


def gru_forward(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """One step: the new state, and what the backward needs."""
    H = h.shape[-1]
    gx = x @ weight_ih.T + bias_ih  # (B, 3H): rows r, z, n of the input side
    gh = h @ weight_hh.T + bias_hh  # (B, 3H): the hidden side, b_hn included
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
    n = np.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
    h_new = (1 - z) * n + z * h
    return h_new, (r, z, n, gh)


def gru_backward(dh_new, x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """Return a dict with the keys "x", "h", "weight_ih", "weight_hh", "bias_ih", "bias_hh"."""
    h_new, (r, z, n, gh) = gru_forward(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    raise NotImplementedError("exercise 6: backpropagate dh_new through the step")
