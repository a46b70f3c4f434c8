import math


def gradients(a, b, c):
    L = math.tanh(a * b + c)
    d = 1 - L**2  # dL/d(a*b + c): through the tanh
    return d * b, d * a, d  # mul: times the other input; add: unchanged
