import numpy as np


def silu_forward(x):
    return x / (1.0 + np.exp(-x))


def silu_vjp(g, out, x):
    s = 1.0 / (1.0 + np.exp(-x))
    return g * (s + x * s * (1 - s))
