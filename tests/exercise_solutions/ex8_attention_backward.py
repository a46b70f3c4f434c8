import numpy as np


def attention_backward(dcontext, q, k, v):
    scale = 1 / np.sqrt(q.shape[-1])
    scores = q @ k.swapaxes(-1, -2) * scale
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    # context = weights @ v
    dweights = dcontext @ v.swapaxes(-1, -2)
    dv = weights.swapaxes(-1, -2) @ dcontext
    # weights = softmax(scores): the softmax's VJP
    dscores = weights * (dweights - (dweights * weights).sum(-1, keepdims=True))
    # scores = q @ k^T * scale
    dq = dscores @ k * scale
    dk = dscores.swapaxes(-1, -2) @ q * scale
    return {"q": dq, "k": dk, "v": dv}
