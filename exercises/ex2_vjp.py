"""Exercise 2 (Writing your own op): the VJP of SiLU, declared as a primitive of your own.

silu(x) = x * sigmoid(x) (also called swish). Its forward is given; write its vector-Jacobian
product: given g = dL/dout (same shape as out), return dL/dx. The checker calls your silu_vjp on
a few x and g and compares it with g times the slope of silu_forward (central differences,
float64), then declares the primitive with tg.ops.primitive and runs backward through it.

Good to know: d sigmoid(x)/dx = sigmoid(x) * (1 - sigmoid(x)). Stuck? The checker has three hints,
each giving away more: add --hint 2, then --hint 3.

Check: python -m tinygrad_seq.exercises check 2
"""

import numpy as np


def silu_forward(x):
    return x / (1.0 + np.exp(-x))


def silu_vjp(g, out, x):
    """dL/dx for out = silu(x), given g = dL/dout."""
    raise NotImplementedError("exercise 2: return g times d silu(x)/dx")
