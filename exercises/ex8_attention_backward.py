"""Exercise 8 (Attention): scaled dot-product attention's backward, by hand, in NumPy.

The forward is given, for one head and a batch (q: (B, L, d), k: (B, S, d), v: (B, S, d_v)):

    scores  = q @ k^T / sqrt(d)            (B, L, S)
    weights = softmax(scores, axis=-1)     each row sums to 1
    context = weights @ v                  (B, L, d_v)

Given dcontext = dL/dcontext, return the gradients of q, k and v. The checker compares them with
the engine's (F.scaled_dot_product_attention, float64), one by one.

Hints: a matrix product's backward is two matrix products (dA = dC @ B^T, dB = A^T @ dC, batched
with swapaxes); the softmax's: dscores = weights * (dweights - sum(dweights * weights, axis=-1)).

Check: python -m tinygrad_seq.exercises check 8
"""

import numpy as np


def attention_forward(q, k, v):
    """The context, and what the backward needs."""
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v, weights


def attention_backward(dcontext, q, k, v):
    """Return a dict with the keys "q", "k" and "v"."""
    context, weights = attention_forward(q, k, v)
    raise NotImplementedError("exercise 8: backpropagate dcontext through the attention")
