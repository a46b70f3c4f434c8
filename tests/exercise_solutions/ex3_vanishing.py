import numpy as np

import tinygrad_seq as tg


def vanished_step(cell, x, threshold):
    h, hs = None, []
    for t in range(len(x)):
        h = cell(tg.Tensor(x[t]), h)
        h.retain_grad()
        hs.append(h)
    h.sum().backward()
    small = [t for t, h in enumerate(hs) if np.linalg.norm(h.grad) < threshold]
    return small[-1] if small else None
