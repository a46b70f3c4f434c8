"""Backpropagation through time, derived by hand, in plain NumPy.

This file shows what an autodiff framework does for a recurrent layer by
writing every derivative out explicitly, for three cells:

* a vanilla (tanh) RNN,
* an LSTM (long short-term memory),
* a GRU (gated recurrent unit).

It is meant to be read top to bottom by a student, so it tries to be fast
without becoming unreadable; the benchmarks of the framework compare against
``benchmarks/numpy_reference.py``, written for speed alone.

Conventions (identical to PyTorch, so weights of a single-layer,
unidirectional ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` load as they are)
---------------------------------------------------------------------------
Shapes: ``x`` is (T, B, I) = (time steps, batch, input features); hidden
states are (B, H).  A cell with G gates has the parameters

    weight_ih (G*H, I)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)

with the gates stacked along the first axis.

RNN (G = 1)::

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

LSTM (G = 4, gate order i, f, g, o).  The cell keeps two states: the
hidden state h (what the layer outputs) and the memory cell c.  Every step
works in three stages:

1. forget:        the forget gate f = sigmoid(...) in (0, 1) decides how much
                  of the old memory c_{t-1} to keep;
2. select memory: the candidate g = tanh(...) proposes new content and the
                  input gate i = sigmoid(...) decides how much of it to write:
                  c_t = f * c_{t-1} + i * g;
3. output:        the output gate o = sigmoid(...) decides how much of the
                  squashed memory to show:  h_t = o * tanh(c_t).

Here every "(...)" is W_i* x_t + b_i* + W_h* h_{t-1} + b_h* with the rows
of the weights that belong to that gate.

GRU (G = 3, gate order r, z, n)::

    r   = sigmoid(W_ir x + b_ir + W_hr h + b_hr)        reset gate
    z   = sigmoid(W_iz x + b_iz + W_hz h + b_hz)        update gate
    n   = tanh(W_in x + b_in + r * (W_hn h + b_hn))     candidate
    h'  = (1 - z) * n + z * h

Backward through time
---------------------
The loss depends on the outputs h_1..h_T (and possibly on the final states).
Walking backwards in time we carry ``dh`` (and ``dc`` for the LSTM): the
gradient of the loss with respect to the current state, made of the direct
contribution ``d_out[t]`` plus what flows back from step t+1.  At every step
we turn it into the gradient with respect to the gate pre-activations
(``dgates``), and send ``dgates @ W_hh`` back to the previous hidden state.
The parameter gradients are sums over time, so they are computed once, after
the loop, with one big matrix product each.

Speed notes (measured on a 2-core machine with OpenBLAS)
--------------------------------------------------------
* The input projection W_ih x_t does not depend on the recurrence, so it is
  done for all T steps in ONE matrix product before the time loop.
* For ``h @ W_hh.T`` we multiply by a contiguous copy of the transposed
  weight: OpenBLAS is 1.5-3.6x slower with a transposed view.
* sigmoid(u) = 0.5 * tanh(0.5 * u) + 0.5.  This is numerically stable (no
  overflow in exp) and lets us call tanh once for all gates together.  The
  factor 0.5 is a power of two, so folding it into the weights is exact.
* Everything that does not depend on the incoming gradient (the local
  derivatives of every gate) is computed for all steps at once before the
  backward loop, which then only applies the chain rule.
* Ufuncs write into preallocated arrays (``out=``) to avoid temporaries.

Everything works in float32 and float64; float32 stays float32.

Run ``python examples/manual_bptt.py`` to check the gradients against central
finite differences and against the gradients the engine of tinygrad_seq computes
for the same layer (``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``, the same weights, float64):
they agree to 1e-10.  ``--help`` lists the sizes and ``--time N`` times one
training step.
"""

import numpy as np

NUM_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


# ----------------------------------------------------------------------------
# parameters and small helpers
# ----------------------------------------------------------------------------


def init_params(kind, input_size, hidden_size, dtype=np.float32, seed=0):
    """Random parameters for a cell, initialised like PyTorch: U(-1/sqrt(H), 1/sqrt(H)).

    ``kind`` is "lstm", "gru" or "rnn".  Returns a dict with the keys
    ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih`` (G*H,),
    ``bias_hh`` (G*H,), where G is 4, 3 or 1.

    >>> p = init_params("lstm", input_size=3, hidden_size=5)
    >>> p["weight_ih"].shape, p["weight_hh"].shape, p["bias_hh"].dtype
    ((20, 3), (20, 5), dtype('float32'))
    """
    if kind not in NUM_GATES:
        raise ValueError(f"kind must be one of {sorted(NUM_GATES)}, got {kind!r}")
    G, I, H = NUM_GATES[kind], input_size, hidden_size
    rng = np.random.default_rng(seed)
    bound = H**-0.5  # a Python float, so nothing is upcast
    shapes = {
        "weight_ih": (G * H, I),
        "weight_hh": (G * H, H),
        "bias_ih": (G * H,),
        "bias_hh": (G * H,),
    }
    return {name: rng.uniform(-bound, bound, shape).astype(dtype) for name, shape in shapes.items()}


def _prepare(kind, x, params, h0):
    """Check shapes, pick the working dtype and cast everything to it."""
    G = NUM_GATES[kind]
    x = np.asarray(x)
    W_ih = np.asarray(params["weight_ih"])
    dtype = np.result_type(x.dtype, W_ih.dtype)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (T, B, I), got {x.shape}")
    T, B, I = x.shape
    # ascontiguousarray makes x.reshape(T*B, I) a view and the weights row-major.
    x = np.ascontiguousarray(x, dtype=dtype)
    W_ih, W_hh, b_ih, b_hh = (np.ascontiguousarray(params[k], dtype=dtype) for k in PARAM_NAMES)
    H = W_hh.shape[1]
    expected = ((G * H, I), (G * H, H), (G * H,), (G * H,))
    for name, arr, shape in zip(PARAM_NAMES, (W_ih, W_hh, b_ih, b_hh), expected):
        if arr.shape != shape:
            raise ValueError(f"{kind}: {name} has shape {arr.shape}, expected {shape}")
    h0 = _state(h0, B, H, dtype)
    return x, W_ih, W_hh, b_ih, b_hh, h0, dtype, (T, B, I, H)


def _state(s, B, H, dtype):
    """An initial state: zeros if None, otherwise (B, H) (or torch's (1, B, H))."""
    if s is None:
        return np.zeros((B, H), dtype=dtype)
    return np.asarray(s, dtype=dtype).reshape(B, H)


def _gate_vector(values, H, dtype):
    """Repeat one number per gate H times: [a, b] -> [a]*H + [b]*H."""
    return np.repeat(np.asarray(values, dtype=dtype), H)


def _upstream(d, shape, dtype):
    """Gradient coming into the backward pass (None means zero), as an own copy."""
    if d is None:
        return np.zeros(shape, dtype=dtype)
    return np.array(np.broadcast_to(np.asarray(d, dtype=dtype), shape))


def _param_grads(dg_ih, dg_hh, x_flat, h_prev_flat, W_ih):
    """Parameter and input gradients from the gate gradients of ALL steps.

    ``dg_ih`` (T*B, G*H) is the gradient w.r.t. the pre-activations that are
    computed from x (W_ih x + b_ih), ``dg_hh`` the one w.r.t. those computed
    from h_{t-1} (W_hh h + b_hh).  For the RNN and the LSTM they are the same
    array; they differ for the GRU because of r * (W_hn h + b_hn).

    Summing over time and batch is a single matrix product for each weight
    instead of T small ones inside the loop.
    """
    db_ih = dg_ih.sum(axis=0)
    return {
        "weight_ih": dg_ih.T @ x_flat,
        "weight_hh": dg_hh.T @ h_prev_flat,
        "bias_ih": db_ih,
        "bias_hh": db_ih.copy() if dg_hh is dg_ih else dg_hh.sum(axis=0),
        "x": dg_ih @ W_ih,
    }


# ----------------------------------------------------------------------------
# vanilla RNN
# ----------------------------------------------------------------------------


def rnn_forward(x, params, h0=None):
    """Forward pass of a tanh RNN over a whole sequence.

    ``x`` is (T, B, I); ``h0`` is (B, H) or None for zeros.
    Returns ``(out, h_T, cache)`` with ``out`` (T, B, H) = h_1..h_T and
    ``h_T`` (B, H).  ``out`` and ``h_T`` are views into the cache: do not
    modify them in place before calling :func:`rnn_backward`.

    >>> p = init_params("rnn", 3, 4)
    >>> out, h_T, cache = rnn_forward(np.ones((5, 2, 3), np.float32), p)
    >>> out.shape, h_T.shape, out.dtype
    ((5, 2, 4), (2, 4), dtype('float32'))
    """
    x, W_ih, W_hh, b_ih, b_hh, h0, dtype, (T, B, I, H) = _prepare("rnn", x, params, h0)
    W_hh_T = np.ascontiguousarray(W_hh.T)  # contiguous copy: faster than a .T view

    # hs[0] = h0, hs[t] = h_t.  The input part of every pre-activation is
    # written straight into hs[1:], one matrix product for all steps.
    hs = np.empty((T + 1, B, H), dtype=dtype)
    hs[0] = h0
    np.matmul(x.reshape(T * B, I), np.ascontiguousarray(W_ih.T), out=hs[1:].reshape(T * B, H))
    hs[1:] += b_ih + b_hh
    for t in range(T):
        a = hs[t + 1]  # holds W_ih x_t + b_ih + b_hh
        a += hs[t] @ W_hh_T  # + W_hh h_{t-1}
        np.tanh(a, out=a)  # h_t
    cache = {"kind": "rnn", "x": x, "W_ih": W_ih, "W_hh": W_hh, "hs": hs}
    return hs[1:], hs[T], cache


def rnn_backward(d_out, cache, dh_T=None):
    """Backward pass of :func:`rnn_forward`.

    ``d_out`` (T, B, H) is dLoss/d out, ``dh_T`` (B, H) an optional extra
    gradient on the final state.  Returns a dict with the gradients of
    ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``, ``x`` and ``h0``.

    >>> p = init_params("rnn", 3, 4, dtype=np.float64)
    >>> out, h_T, cache = rnn_forward(np.ones((5, 2, 3)), p)
    >>> g = rnn_backward(np.ones_like(out), cache)   # loss = out.sum()
    >>> g["weight_hh"].shape, g["x"].shape, g["h0"].shape
    ((4, 4), (5, 2, 3), (2, 4))
    """
    x, W_ih, W_hh, hs = cache["x"], cache["W_ih"], cache["W_hh"], cache["hs"]
    T, B, I = x.shape
    H = hs.shape[2]
    dtype = hs.dtype
    d_out = np.broadcast_to(np.asarray(d_out, dtype=dtype), (T, B, H))

    # Local derivative, all steps at once: d tanh(a)/da = 1 - tanh(a)^2.
    local = 1 - hs[1:] * hs[1:]
    dgates = np.empty((T, B, H), dtype=dtype)  # dLoss/d(pre-activation) per step
    dh = _upstream(dh_T, (B, H), dtype)
    for t in reversed(range(T)):
        dh += d_out[t]  # direct gradient on h_t + what came back from t+1
        np.multiply(dh, local[t], out=dgates[t])
        dh = dgates[t] @ W_hh  # gradient on h_{t-1}

    dg = dgates.reshape(T * B, H)
    grads = _param_grads(dg, dg, x.reshape(T * B, I), hs[:-1].reshape(T * B, H), W_ih)
    grads["x"] = grads["x"].reshape(T, B, I)
    grads["h0"] = dh
    return grads


# ----------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------


def lstm_forward(x, params, h0=None, c0=None):
    """Forward pass of an LSTM over a whole sequence (PyTorch gate order i, f, g, o).

    ``x`` is (T, B, I); ``h0`` and ``c0`` are (B, H) or None for zeros.
    Returns ``(out, h_T, c_T, cache)``; ``out`` (T, B, H) holds h_1..h_T.
    The returned arrays are views into the cache: do not modify them in place
    before calling :func:`lstm_backward`.

    >>> p = init_params("lstm", 3, 4)
    >>> out, h_T, c_T, cache = lstm_forward(np.ones((5, 2, 3), np.float32), p)
    >>> out.shape, c_T.shape, out.dtype
    ((5, 2, 4), (2, 4), dtype('float32'))
    """
    x, W_ih, W_hh, b_ih, b_hh, h0, dtype, (T, B, I, H) = _prepare("lstm", x, params, h0)
    c0 = _state(c0, B, H, dtype)

    # One tanh for all four gates: sigmoid(u) = 0.5 * tanh(0.5 * u) + 0.5.
    # `half` scales the pre-activations of the sigmoid gates (i, f, o) by 0.5
    # (folded into weights and bias, which is exact) and the same vector and
    # `shift` turn tanh into sigmoid afterwards; the candidate g keeps tanh.
    half = _gate_vector([0.5, 0.5, 1.0, 0.5], H, dtype)
    shift = _gate_vector([0.5, 0.5, 0.0, 0.5], H, dtype)
    W_ih_T = np.ascontiguousarray(W_ih.T) * half  # (I, 4H), row-major
    W_hh_T = np.ascontiguousarray(W_hh.T) * half  # (H, 4H), row-major

    # Input projection of all steps in one product; this array is then
    # overwritten step by step with the gate activations [i, f, g, o].
    gates = (x.reshape(T * B, I) @ W_ih_T).reshape(T, B, 4 * H)
    gates += (b_ih + b_hh) * half

    hs = np.empty((T + 1, B, H), dtype=dtype)  # hs[t] = h_t, hs[0] = h0
    cs = np.empty((T + 1, B, H), dtype=dtype)  # cs[t] = c_t, cs[0] = c0
    tanh_cs = np.empty((T, B, H), dtype=dtype)  # tanh(c_t), t = 1..T
    hs[0], cs[0] = h0, c0
    ig = np.empty((B, H), dtype=dtype)  # scratch for i * g
    for t in range(T):
        a = gates[t]  # (B, 4H) view
        a += hs[t] @ W_hh_T  # add the recurrent part
        np.tanh(a, out=a)
        a *= half  # i, f, o: 0.5 * tanh(0.5 u) + 0.5 = sigmoid(u)
        a += shift
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        # 1. forget  and  2. select memory:  c_t = f * c_{t-1} + i * g
        np.multiply(f, cs[t], out=cs[t + 1])
        np.multiply(i, g, out=ig)
        cs[t + 1] += ig
        # 3. output:  h_t = o * tanh(c_t)
        np.tanh(cs[t + 1], out=tanh_cs[t])
        np.multiply(o, tanh_cs[t], out=hs[t + 1])

    cache = {
        "kind": "lstm",
        "x": x,
        "W_ih": W_ih,
        "W_hh": W_hh,
        "gates": gates,
        "hs": hs,
        "cs": cs,
        "tanh_cs": tanh_cs,
    }
    return hs[1:], hs[T], cs[T], cache


def lstm_backward(d_out, cache, dh_T=None, dc_T=None):
    """Backward pass of :func:`lstm_forward`.

    ``d_out`` (T, B, H) is dLoss/d out; ``dh_T`` and ``dc_T`` (B, H) are
    optional extra gradients on the final states.  Returns a dict with the
    gradients of ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``,
    ``x``, ``h0`` and ``c0``.

    >>> p = init_params("lstm", 3, 4, dtype=np.float64)
    >>> out, h_T, c_T, cache = lstm_forward(np.ones((5, 2, 3)), p)
    >>> g = lstm_backward(np.ones_like(out), cache)   # loss = out.sum()
    >>> g["weight_ih"].shape, g["c0"].shape
    ((16, 3), (2, 4))
    """
    x, W_ih, W_hh = cache["x"], cache["W_ih"], cache["W_hh"]
    hs, cs, tanh_cs, gates = cache["hs"], cache["cs"], cache["tanh_cs"], cache["gates"]
    T, B, I = x.shape
    H = hs.shape[2]
    dtype = hs.dtype
    d_out = np.broadcast_to(np.asarray(d_out, dtype=dtype), (T, B, H))

    acts = gates.reshape(T, B, 4, H)
    i, f, g, o = acts[:, :, 0], acts[:, :, 1], acts[:, :, 2], acts[:, :, 3]  # (T, B, H) each

    # Local derivatives for all steps at once (they do not depend on the
    # incoming gradient).  sigmoid' = s (1 - s), tanh' = 1 - t^2.
    #   c_t = f c_{t-1} + i g   and   h_t = o tanh(c_t), so
    #   dc_t/d(i pre-act) = g * i'     dc_t/d(f pre-act) = c_{t-1} * f'
    #   dc_t/d(g pre-act) = i * g'     dh_t/d(o pre-act) = tanh(c_t) * o'
    #   dh_t/dc_t         = o * (1 - tanh(c_t)^2)
    local = np.empty((T, B, 4, H), dtype=dtype)
    local[:, :, 0] = g * i * (1 - i)
    local[:, :, 1] = cs[:-1] * f * (1 - f)
    local[:, :, 2] = i * (1 - g * g)
    local[:, :, 3] = tanh_cs * o * (1 - o)
    dh_to_dc = o * (1 - tanh_cs * tanh_cs)

    dgates = np.empty((T, B, 4 * H), dtype=dtype)  # dLoss/d(gate pre-activations)
    dgates4 = dgates.reshape(T, B, 4, H)
    dh = _upstream(dh_T, (B, H), dtype)
    dc = _upstream(dc_T, (B, H), dtype)
    tmp = np.empty((B, H), dtype=dtype)
    for t in reversed(range(T)):
        dh += d_out[t]  # total gradient on h_t
        np.multiply(dh, dh_to_dc[t], out=tmp)
        dc += tmp  # total gradient on c_t (through h_t and from c_{t+1})
        # input, forget and candidate gates act through c_t, the output gate through h_t
        np.multiply(dc[:, None, :], local[t, :, :3], out=dgates4[t, :, :3])
        np.multiply(dh, local[t, :, 3], out=dgates4[t, :, 3])
        dh = dgates[t] @ W_hh  # gradient on h_{t-1}
        dc *= f[t]  # gradient on c_{t-1} through  f * c_{t-1}

    dg = dgates.reshape(T * B, 4 * H)
    grads = _param_grads(dg, dg, x.reshape(T * B, I), hs[:-1].reshape(T * B, H), W_ih)
    grads["x"] = grads["x"].reshape(T, B, I)
    grads["h0"] = dh
    grads["c0"] = dc
    return grads


# ----------------------------------------------------------------------------
# GRU
# ----------------------------------------------------------------------------


def gru_forward(x, params, h0=None):
    """Forward pass of a GRU over a whole sequence (PyTorch gate order r, z, n).

    ``x`` is (T, B, I); ``h0`` is (B, H) or None for zeros.
    Returns ``(out, h_T, cache)`` with ``out`` (T, B, H) = h_1..h_T (views into
    the cache: do not modify them in place before :func:`gru_backward`).

    >>> p = init_params("gru", 3, 4)
    >>> out, h_T, cache = gru_forward(np.ones((5, 2, 3), np.float32), p)
    >>> out.shape, out.dtype
    ((5, 2, 4), dtype('float32'))
    """
    x, W_ih, W_hh, b_ih, b_hh, h0, dtype, (T, B, I, H) = _prepare("gru", x, params, h0)

    # r and z are sigmoids: as for the LSTM, scale their pre-activations by 0.5
    # (folded into the weights) so that one tanh computes both.
    half = _gate_vector([0.5, 0.5, 1.0], H, dtype)
    W_ih_T = np.ascontiguousarray(W_ih.T) * half  # (I, 3H)
    W_hh_T = np.ascontiguousarray(W_hh.T) * half  # (H, 3H)

    # Input projection of all steps at once.  The recurrent biases of r and z
    # can be added here too; b_hn cannot, because r multiplies (W_hn h + b_hn).
    gates = (x.reshape(T * B, I) @ W_ih_T).reshape(T, B, 3 * H)
    gates += b_ih * half
    gates[:, :, : 2 * H] += b_hh[: 2 * H] * 0.5
    b_hn = b_hh[2 * H :]

    hs = np.empty((T + 1, B, H), dtype=dtype)  # hs[t] = h_t, hs[0] = h0
    hn = np.empty((T, B, H), dtype=dtype)  # W_hn h_{t-1} + b_hn (needed by backward)
    hs[0] = h0
    tmp = np.empty((B, H), dtype=dtype)
    for t in range(T):
        a = gates[t]  # (B, 3H): becomes [r, z, n]
        rz, n = a[:, : 2 * H], a[:, 2 * H :]
        hw = hs[t] @ W_hh_T  # recurrent part of all three gates
        rz += hw[:, : 2 * H]
        np.tanh(rz, out=rz)
        rz *= 0.5  # -> sigmoid
        rz += 0.5
        r, z = rz[:, :H], rz[:, H:]
        np.add(hw[:, 2 * H :], b_hn, out=hn[t])
        np.multiply(r, hn[t], out=tmp)  # reset gate scales the recurrent candidate part
        n += tmp
        np.tanh(n, out=n)
        # h_t = (1 - z) * n + z * h_{t-1} = n + z * (h_{t-1} - n)
        np.subtract(hs[t], n, out=tmp)
        tmp *= z
        np.add(n, tmp, out=hs[t + 1])

    cache = {"kind": "gru", "x": x, "W_ih": W_ih, "W_hh": W_hh, "gates": gates, "hs": hs, "hn": hn}
    return hs[1:], hs[T], cache


def gru_backward(d_out, cache, dh_T=None):
    """Backward pass of :func:`gru_forward`.

    ``d_out`` (T, B, H) is dLoss/d out, ``dh_T`` (B, H) an optional extra
    gradient on the final state.  Returns a dict with the gradients of
    ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``, ``x`` and ``h0``.

    >>> p = init_params("gru", 3, 4, dtype=np.float64)
    >>> out, h_T, cache = gru_forward(np.ones((5, 2, 3)), p)
    >>> g = gru_backward(np.ones_like(out), cache)   # loss = out.sum()
    >>> g["weight_hh"].shape, g["h0"].shape
    ((12, 4), (2, 4))
    """
    x, W_ih, W_hh, gates, hs, hn = (cache[k] for k in ("x", "W_ih", "W_hh", "gates", "hs", "hn"))
    T, B, I = x.shape
    H = hs.shape[2]
    dtype = hs.dtype
    d_out = np.broadcast_to(np.asarray(d_out, dtype=dtype), (T, B, H))

    acts = gates.reshape(T, B, 3, H)
    r, z, n = acts[:, :, 0], acts[:, :, 1], acts[:, :, 2]  # (T, B, H) each
    h_prev = hs[:-1]

    # Local derivatives for all steps at once.  With n_pre the argument of the
    # tanh in n, and r_pre, z_pre those of the sigmoids:
    #   dh_t/dn_pre     = (1 - z) * (1 - n^2)
    #   dh_t/dz_pre     = (h_{t-1} - n) * z (1 - z)
    #   dn_pre/dr_pre   = hn * r (1 - r)           (hn = W_hn h_{t-1} + b_hn)
    #   dn_pre/dhn      = r
    #   dh_t/dh_{t-1}   = z   (directly, besides the path through the gates)
    dn_local = (1 - z) * (1 - n * n)
    dz_local = (h_prev - n) * z * (1 - z)
    dr_local = hn * r * (1 - r)

    # Gradients w.r.t. the pre-activations coming from h (W_hh h + b_hh) and
    # from x (W_ih x + b_ih).  Both share the r and z parts; for the n part the
    # h side gets r * dn_pre, the x side dn_pre.
    dg_hh = np.empty((T, B, 3 * H), dtype=dtype)
    dg_ih = np.empty((T, B, 3 * H), dtype=dtype)
    dh = _upstream(dh_T, (B, H), dtype)
    for t in reversed(range(T)):
        dh += d_out[t]  # total gradient on h_t
        dn = dg_ih[t, :, 2 * H :]
        np.multiply(dh, dn_local[t], out=dn)  # d n_pre
        np.multiply(dn, dr_local[t], out=dg_hh[t, :, :H])  # d r_pre
        np.multiply(dh, dz_local[t], out=dg_hh[t, :, H : 2 * H])  # d z_pre
        np.multiply(dn, r[t], out=dg_hh[t, :, 2 * H :])  # d hn
        dh_gates = dg_hh[t] @ W_hh
        dh *= z[t]  # direct path  z * h_{t-1}
        dh += dh_gates  # path through the three gates
    dg_ih[:, :, : 2 * H] = dg_hh[:, :, : 2 * H]

    grads = _param_grads(
        dg_ih.reshape(T * B, 3 * H),
        dg_hh.reshape(T * B, 3 * H),
        x.reshape(T * B, I),
        h_prev.reshape(T * B, H),
        W_ih,
    )
    grads["x"] = grads["x"].reshape(T, B, I)
    grads["h0"] = dh
    return grads


# ----------------------------------------------------------------------------
# one training step, gradient check, command line
# ----------------------------------------------------------------------------

FORWARD = {"rnn": rnn_forward, "lstm": lstm_forward, "gru": gru_forward}
BACKWARD = {"rnn": rnn_backward, "lstm": lstm_backward, "gru": gru_backward}


def train_step(kind, x, params, w_out):
    """One training step of a layer: forward, loss = sum(out * w_out), backward.

    ``w_out`` has the shape of the output (T, B, H) (or broadcasts to it); it
    is the gradient of this linear loss with respect to the output.  Initial
    states are zero.  Returns ``(loss, grads)`` where ``grads`` has the
    gradients of all parameters and of ``x``, ``h0`` (and ``c0`` for the LSTM).

    >>> p = init_params("gru", 3, 4)
    >>> x = np.ones((5, 2, 3), np.float32)
    >>> loss, grads = train_step("gru", x, p, np.ones((5, 2, 4), np.float32))
    >>> loss.dtype, grads["weight_ih"].dtype
    (dtype('float32'), dtype('float32'))
    """
    result = FORWARD[kind](x, params)
    out, cache = result[0], result[-1]
    w_out = np.broadcast_to(np.asarray(w_out, dtype=out.dtype), out.shape)
    loss = np.vdot(out, w_out)  # = sum(out * w_out), one BLAS dot
    return loss, BACKWARD[kind](w_out, cache)


def _full_loss(kind, inputs, weights):
    """Loss that reaches every backward path: outputs AND final states."""
    params = {k: inputs[k] for k in PARAM_NAMES}
    if kind == "lstm":
        out, h_T, c_T, _ = lstm_forward(inputs["x"], params, inputs["h0"], inputs["c0"])
        extra = np.sum(c_T * weights["c_T"])
    else:
        out, h_T, _ = FORWARD[kind](inputs["x"], params, inputs["h0"])
        extra = 0.0
    return float(np.sum(out * weights["out"]) + np.sum(h_T * weights["h_T"]) + extra)


def _problem(kind, T, B, I, H, seed):
    """Random float64 inputs (parameters, x, h0 and for the LSTM c0) and the weights of the
    linear loss sum(out * w_out) + sum(h_T * w_hT) (+ sum(c_T * w_cT) for the LSTM)."""
    rng = np.random.default_rng(seed)
    inputs = dict(init_params(kind, I, H, dtype=np.float64, seed=seed))
    inputs["x"] = rng.standard_normal((T, B, I))
    inputs["h0"] = rng.standard_normal((B, H))
    weights = {"out": rng.standard_normal((T, B, H)), "h_T": rng.standard_normal((B, H))}
    if kind == "lstm":
        inputs["c0"] = rng.standard_normal((B, H))
        weights["c_T"] = rng.standard_normal((B, H))
    return inputs, weights, rng


def _hand_gradients(kind, inputs, weights):
    params = {k: inputs[k] for k in PARAM_NAMES}
    if kind == "lstm":
        *_, cache = lstm_forward(inputs["x"], params, inputs["h0"], inputs["c0"])
        return lstm_backward(weights["out"], cache, weights["h_T"], weights["c_T"])
    *_, cache = FORWARD[kind](inputs["x"], params, inputs["h0"])
    return BACKWARD[kind](weights["out"], cache, weights["h_T"])


def engine_gradients(kind, inputs, weights):
    """The gradients of the same loss from tinygrad_seq's engine: the same weights loaded into
    ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (float64), forward, ``backward()``. Nothing here is
    derived by hand: the engine differentiates the layer's primitives.

    >>> inputs, weights, _ = _problem("gru", T=3, B=2, I=2, H=3, seed=0)
    >>> grads = engine_gradients("gru", inputs, weights)
    >>> grads["weight_hh"].shape, grads["h0"].shape
    ((9, 3), (2, 3))
    """
    import tinygrad_seq as tg
    from tinygrad_seq import nn

    _, _, I = inputs["x"].shape
    H = inputs["h0"].shape[1]
    layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](I, H, dtype=np.float64)
    layer.load_state_dict({f"{name}_l0": inputs[name] for name in PARAM_NAMES})
    x = tg.Tensor(inputs["x"], requires_grad=True)
    states = {
        k: tg.Tensor(inputs[k][None], requires_grad=True) for k in ("h0", "c0") if k in inputs
    }
    out, final = layer(x, (states["h0"], states["c0"]) if kind == "lstm" else states["h0"])
    h_T, c_T = final if kind == "lstm" else (final, None)
    loss = (out * weights["out"]).sum() + (h_T * weights["h_T"][None]).sum()
    if c_T is not None:
        loss = loss + (c_T * weights["c_T"][None]).sum()
    loss.backward()
    grads = {name: getattr(layer, f"{name}_l0").grad for name in PARAM_NAMES}
    grads["x"] = x.grad
    grads.update({k: state.grad[0] for k, state in states.items()})  # (1, B, H) -> (B, H)
    return grads


def gradient_check(kind, T, B, I, H, seed=0, entries=5, eps=1e-6):
    """Compare the hand-derived gradients with central finite differences and with the engine's
    gradients (``engine_gradients``), all in float64.

    ``entries`` random entries of every tensor are checked against finite differences (None =
    all); against the engine, every entry. Returns ``{name: (shape, max abs error against
    finite differences, max abs difference from the engine, max abs gradient)}``.

    >>> errors = gradient_check("rnn", T=3, B=2, I=2, H=3)
    >>> max(fd for _, fd, _, _ in errors.values()) < 1e-7
    True
    >>> max(engine for _, _, engine, _ in errors.values()) < 1e-10
    True
    """
    inputs, weights, rng = _problem(kind, T, B, I, H, seed)
    grads = _hand_gradients(kind, inputs, weights)
    engine = engine_gradients(kind, inputs, weights)

    report = {}
    for name, arr in inputs.items():
        flat = arr.reshape(-1)  # a view: perturbing it perturbs the input
        idx = np.arange(flat.size) if entries is None else rng.integers(0, flat.size, entries)
        err = 0.0
        for j in idx:
            old = flat[j]
            flat[j] = old + eps
            up = _full_loss(kind, inputs, weights)
            flat[j] = old - eps
            down = _full_loss(kind, inputs, weights)
            flat[j] = old
            numeric = (up - down) / (2 * eps)
            err = max(err, abs(numeric - float(grads[name].reshape(-1)[j])))
        vs_engine = float(np.abs(grads[name] - engine[name]).max())
        report[name] = (arr.shape, err, vs_engine, float(np.abs(grads[name]).max()))
    return report


def _time_train_step(kind, T, B, I, H, repeats, seed):
    """Median wall time (ms) of train_step in float32."""
    import time

    rng = np.random.default_rng(seed)
    params = init_params(kind, I, H, dtype=np.float32, seed=seed)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    w_out = rng.standard_normal((T, B, H)).astype(np.float32)
    train_step(kind, x, params, w_out)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        train_step(kind, x, params, w_out)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


ENGINE_TOL = 1e-10  # hand and engine compute the same float64 formulas, up to rounding


def build_parser():
    import argparse

    parser = argparse.ArgumentParser(
        description="Hand-derived BPTT for RNN/LSTM/GRU, checked against central finite "
        "differences and against the gradients tinygrad_seq's engine computes for the same layer."
    )
    parser.add_argument(
        "--kind", choices=["lstm", "gru", "rnn", "all"], default="all", help="(default all)"
    )
    parser.add_argument("--T", type=int, default=20, help="sequence length (default %(default)s)")
    parser.add_argument("--batch", type=int, default=4, help="(default %(default)s)")
    parser.add_argument("--input", type=int, default=3, help="input size I (default %(default)s)")
    parser.add_argument("--hidden", type=int, default=8, help="hidden size H (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="(default %(default)s)")
    parser.add_argument(
        "--entries",
        type=int,
        default=6,
        help="random entries checked by finite differences per tensor (default %(default)s)",
    )
    parser.add_argument(
        "--eps", type=float, default=1e-6, help="finite-difference step (default %(default)s)"
    )
    parser.add_argument(
        "--tol",
        type=float,
        default=1e-6,
        help="allowed finite-difference error, times max |grad| if that is > 1 (default "
        f"%(default)s); against the engine the allowed difference is {ENGINE_TOL:g}",
    )
    parser.add_argument(
        "--time",
        type=int,
        default=0,
        metavar="N",
        help="also time train_step in float32 (median of N runs) at these sizes (default 0: no)",
    )
    return parser


def main(argv=None):
    """Check the hand-derived gradients against finite differences and the engine; print a table.

    Returns 0 if every error is below ``--tol`` (and every difference from the engine below
    ``ENGINE_TOL``, relative for gradients above 1), 1 otherwise.

    >>> main(["--kind", "rnn", "--T", "3", "--hidden", "2"])  # doctest: +ELLIPSIS
    rnn  T=3 B=4 I=3 H=2, float64: ...
    all gradients match
    0
    """
    args = build_parser().parse_args(argv)
    kinds = ["lstm", "gru", "rnn"] if args.kind == "all" else [args.kind]
    sizes = (args.T, args.batch, args.input, args.hidden)
    ok = True
    for kind in kinds:
        report = gradient_check(kind, *sizes, seed=args.seed, entries=args.entries, eps=args.eps)
        print(
            f"{kind}  T={args.T} B={args.batch} I={args.input} H={args.hidden}, float64: "
            "the hand-derived gradients against"
        )
        print(
            f"  central differences (eps={args.eps:g}, {args.entries} random entries per tensor) "
            "and the engine (every entry)"
        )
        columns = ("vs differences", "vs engine", "max |grad|")
        print(f"  {'tensor':<10} {'shape':<14} {columns[0]:>14} {columns[1]:>10} {columns[2]:>11}")
        for name, (shape, err, vs_engine, gmax) in report.items():
            scale = max(1.0, gmax)  # relative for large gradients
            good = err < args.tol * scale and vs_engine < ENGINE_TOL * scale
            flag = "" if good else "  <-- too large"
            ok &= good
            print(
                f"  {name:<10} {str(shape):<14} {err:>14.2e} {vs_engine:>10.1e} {gmax:>11.3g}{flag}"
            )
        if args.time:
            ms = _time_train_step(kind, *sizes, args.time, args.seed)
            print(f"  train_step float32: {ms:.3f} ms (median of {args.time})")
        print()
    print("all gradients match" if ok else "GRADIENT MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    from tinygrad_seq._threads import limit_blas_threads

    with limit_blas_threads():  # as the CLI does: see tinygrad_seq/_threads.py
        raise SystemExit(main())
