import numpy as np


def sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


def gru_backward(dh_new, x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    H = h.shape[-1]
    gx = x @ weight_ih.T + bias_ih
    gh = h @ weight_hh.T + bias_hh
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
    n = np.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
    # h_new = (1 - z) * n + z * h
    dn = dh_new * (1 - z)
    dz = dh_new * (h - n)
    dh = dh_new * z
    da_n = dn * (1 - n**2)  # through the tanh
    dr = da_n * gh[:, 2 * H :]  # b_hn is inside r * (...)
    da_r = dr * r * (1 - r)
    da_z = dz * z * (1 - z)
    dgx = np.concatenate([da_r, da_z, da_n], axis=1)
    dgh = np.concatenate([da_r, da_z, da_n * r], axis=1)
    dh = dh + dgh @ weight_hh
    return {
        "x": dgx @ weight_ih,
        "h": dh,
        "weight_ih": dgx.T @ x,
        "weight_hh": dgh.T @ h,
        "bias_ih": dgx.sum(0),
        "bias_hh": dgh.sum(0),
    }
