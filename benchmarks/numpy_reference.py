"""The speed reference of benchmarks/rnn.py: the fastest training step of a tanh RNN, an LSTM and a
GRU that we know how to write by hand in plain NumPy.

``examples/manual_bptt.py`` derives the same gradients for a reader; this file is written for
speed only, as an expert would, so that a ratio against it does not flatter tinygrad_seq:

- every array is allocated once per (kind, shape) and reused by every call (``out=`` ufuncs,
  in-place updates); a call allocates almost nothing;
- the input projection of all T steps is one GEMM before the loop, and each weight gradient is
  one GEMM over all steps after it;
- the per-step product ``h @ W_hh.T`` multiplies by a contiguous copy of the transposed weight
  (OpenBLAS is 1.5-3.6x slower with a transposed view), and backward by ``W_hh`` itself;
- the LSTM's rows are reordered once to (o, i, f, g): its three sigmoids are then one call on a
  contiguous slice, and the three gates that act through the cell state are another;
- the local derivatives of all steps are computed before the backward loop, in a few calls on
  whole (T, B, H) arrays, so the loop only applies the chain rule (5-6 calls per step);
- it computes what tinygrad_seq's benchmarked step computes (the parameters' gradients of
  ``loss = sum(out * w)``, zero initial states), nothing more: no gradient of ``x`` or ``h0``;
- sigmoid is the same accurate formula as tinygrad_seq's (``exp(u) / (1 + exp(u))`` after
  clamping ``u`` at 40): four ufunc calls, not ``0.5 * tanh(u / 2) + 0.5`` (one call, but it
  rounds the negative tail to a fixed step), so the two compute alike.

tests/test_benchmarks.py checks its values and gradients against nn.RNN / nn.LSTM / nn.GRU in
float64.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> params = {"weight_ih": rng.standard_normal((8, 3)), "weight_hh": rng.standard_normal((8, 2)),
...           "bias_ih": np.zeros(8), "bias_hh": np.zeros(8)}
>>> step = Reference("lstm", params, T=5, B=4)
>>> loss, grads = step.train_step(rng.standard_normal((5, 4, 3)), np.ones((5, 4, 2)))
>>> grads["weight_hh"].shape, step.forward(np.zeros((5, 4, 3))).shape
((8, 2), (5, 4, 2))
"""

import numpy as np

NUM_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# the LSTM's gate blocks: PyTorch's order is (i, f, g, o); ours puts the sigmoids first, and the
# gates that act through c last: (o, i, f, g)
LSTM_ORDER = (3, 0, 1, 2)


class Reference:
    """One layer's forward and backward through time for inputs of shape (T, B, I), with all
    buffers allocated here. ``train_step(x, w)`` returns ``(loss, grads)``, the gradients of
    ``loss = sum(out * w)`` in PyTorch's layout; ``forward(x)`` returns ``out`` (T, B, H). Both
    return views of buffers that the next call overwrites."""

    def __init__(self, kind, params, T, B):
        G = NUM_GATES[kind]
        w_ih, w_hh = (np.ascontiguousarray(params[k]) for k in ("weight_ih", "weight_hh"))
        b_ih, b_hh = np.asarray(params["bias_ih"]), np.asarray(params["bias_hh"])
        GH, I = w_ih.shape
        H = GH // G
        self.kind, self.T, self.B, self.I, self.H = kind, T, B, I, H
        dtype = self.dtype = w_ih.dtype
        if kind == "lstm":  # reorder the gate blocks to (o, i, f, g)
            rows = np.concatenate([np.arange(k * H, (k + 1) * H) for k in LSTM_ORDER])
            w_ih, w_hh, b_ih, b_hh = (a[rows] for a in (w_ih, w_hh, b_ih, b_hh))
            self.order = np.argsort(rows)  # and back
        self.w_ih_t = np.ascontiguousarray(w_ih.T)  # (I, GH)
        self.w_hh_t = np.ascontiguousarray(w_hh.T)  # (H, GH): the forward's per-step product
        self.w_hh = np.ascontiguousarray(w_hh)  # (GH, H): the backward's per-step product
        if kind == "gru":  # b_hn sits inside r * (W_hn h + b_hn): only b_hr, b_hz join b_ih
            self.bias = b_ih.copy()
            self.bias[: 2 * H] += b_hh[: 2 * H]
            self.b_hn = b_hh[2 * H :].copy()
        else:
            self.bias = b_ih + b_hh
        empty = lambda *shape: np.empty(shape, dtype)  # noqa: E731
        self.gates = empty(T, B, GH)  # pre-activations, then activations
        self.hs = empty(T + 1, B, H)  # h_0 .. h_T
        self.hs[0] = 0
        self.rec = empty(B, GH)  # h @ W_hh.T of one step
        self.tmp = empty(B, GH)
        self.dh = empty(B, H)
        self.dgates = empty(T, B, GH)  # the gradient of the gate pre-activations (from h)
        self.grads = {
            "weight_ih": empty(GH, I),
            "weight_hh": empty(GH, H),
            "bias_ih": empty(GH),
            "bias_hh": empty(GH),
        }
        if kind == "lstm":
            self.cs = empty(T + 1, B, H)  # c_0 .. c_T
            self.cs[0] = 0
            self.tanh_cs = empty(T, B, H)
            self.dh_to_dc = empty(T, B, H)
            self.dc = empty(B, H)
            self.torch_grads = {k: np.empty_like(v) for k, v in self.grads.items()}
        if kind == "gru":
            self.hn = empty(T, B, H)  # W_hn h + b_hn of each step
            self.dn = empty(T, B, H)
            self.dh_to_dn = empty(T, B, H)
            self.dgates_ih = empty(T, B, GH)  # from x: differs from dgates in the n block
        self.clamp, self.one = np.array(40, dtype), np.array(1, dtype)

    def _sigmoid(self, a, scratch):
        """a = sigmoid(a) in place, tinygrad_seq's accurate formula."""
        np.minimum(a, self.clamp, out=a)
        np.exp(a, out=a)
        np.add(a, self.one, out=scratch)
        np.divide(a, scratch, out=a)

    def forward(self, x):
        T, B, I, H = self.T, self.B, self.I, self.H
        gates, hs, rec = self.gates, self.hs, self.rec
        np.matmul(x.reshape(T * B, I), self.w_ih_t, out=gates.reshape(T * B, -1))
        gates += self.bias
        w_hh_t, tmp = self.w_hh_t, self.tmp
        if self.kind == "rnn":
            for t in range(T):
                a = gates[t]
                np.matmul(hs[t], w_hh_t, out=rec)
                np.add(a, rec, out=a)
                np.tanh(a, out=hs[t + 1])
        elif self.kind == "lstm":
            cs, tanh_cs, sig_tmp = self.cs, self.tanh_cs, tmp[:, : 3 * H]
            for t in range(T):
                a = gates[t]
                np.matmul(hs[t], w_hh_t, out=rec)
                a += rec
                self._sigmoid(a[:, : 3 * H], sig_tmp)
                g = a[:, 3 * H :]
                np.tanh(g, out=g)
                np.multiply(a[:, 2 * H : 3 * H], cs[t], out=cs[t + 1])  # f * c
                np.multiply(a[:, H : 2 * H], g, out=tmp[:, :H])  # i * g
                cs[t + 1] += tmp[:, :H]
                np.tanh(cs[t + 1], out=tanh_cs[t])
                np.multiply(a[:, :H], tanh_cs[t], out=hs[t + 1])  # o * tanh(c)
        else:
            hn, b_hn, sig_tmp = self.hn, self.b_hn, tmp[:, : 2 * H]
            for t in range(T):
                a = gates[t]
                rz, n = a[:, : 2 * H], a[:, 2 * H :]
                np.matmul(hs[t], w_hh_t, out=rec)
                rz += rec[:, : 2 * H]
                self._sigmoid(rz, sig_tmp)
                np.add(rec[:, 2 * H :], b_hn, out=hn[t])
                np.multiply(a[:, :H], hn[t], out=tmp[:, :H])  # r * (W_hn h + b_hn)
                n += tmp[:, :H]
                np.tanh(n, out=n)
                np.subtract(hs[t], n, out=tmp[:, :H])  # h' = n + z * (h - n)
                tmp[:, :H] *= a[:, H : 2 * H]
                np.add(n, tmp[:, :H], out=hs[t + 1])
        return hs[1:]

    def backward(self, d_out):
        """The parameters' gradients, given d_out (T, B, H) = dloss/dout, after ``forward``."""
        getattr(self, f"_backward_{self.kind}")(d_out)
        T, B, H = self.T, self.B, self.H
        dg = self.dgates.reshape(T * B, -1)
        dg_ih = self.dgates_ih.reshape(T * B, -1) if self.kind == "gru" else dg
        grads = self.grads
        np.matmul(dg_ih.T, self.x_flat, out=grads["weight_ih"])
        np.matmul(dg.T, self.hs[:-1].reshape(T * B, H), out=grads["weight_hh"])
        np.sum(dg_ih, axis=0, out=grads["bias_ih"])
        np.sum(dg, axis=0, out=grads["bias_hh"])
        if self.kind == "lstm":  # back to PyTorch's row order
            for name, internal in grads.items():
                np.take(internal, self.order, axis=0, out=self.torch_grads[name])
            return self.torch_grads
        return grads

    def _backward_rnn(self, d_out):
        hs, dgates, dh, w_hh = self.hs, self.dgates, self.dh, self.w_hh
        np.multiply(hs[1:], hs[1:], out=dgates)  # tanh' = 1 - h^2, all steps at once
        np.subtract(self.one, dgates, out=dgates)
        dh[...] = 0
        for t in reversed(range(self.T)):
            dh += d_out[t]
            dgates[t] *= dh
            if t:
                np.matmul(dgates[t], w_hh, out=dh)

    def _backward_lstm(self, d_out):
        T, B, H = self.T, self.B, self.H
        acts = self.gates.reshape(T, B, 4, H)  # (o, i, f, g)
        o, i, f, g = (acts[:, :, k] for k in range(4))
        local = self.dgates.reshape(T, B, 4, H)  # the local derivatives, then the gradients
        sig, sig_local = self.gates[:, :, : 3 * H], self.dgates[:, :, : 3 * H]
        np.subtract(self.one, sig, out=sig_local)  # sigmoid' = s (1 - s)
        sig_local *= sig
        local[:, :, 0] *= self.tanh_cs  # dh/do_pre
        local[:, :, 1] *= g  # dc/di_pre
        local[:, :, 2] *= self.cs[:-1]  # dc/df_pre
        np.multiply(g, g, out=local[:, :, 3])  # dc/dg_pre = i (1 - g^2)
        np.subtract(self.one, local[:, :, 3], out=local[:, :, 3])
        local[:, :, 3] *= i
        dh_to_dc = self.dh_to_dc  # o (1 - tanh(c)^2)
        np.multiply(self.tanh_cs, self.tanh_cs, out=dh_to_dc)
        np.subtract(self.one, dh_to_dc, out=dh_to_dc)
        dh_to_dc *= o
        dh, dc, tmp, w_hh = self.dh, self.dc, self.tmp[:, :H], self.w_hh
        dh[...] = 0
        dc[...] = 0
        for t in reversed(range(T)):
            dh += d_out[t]
            np.multiply(dh, dh_to_dc[t], out=tmp)
            dc += tmp
            local[t, :, 0] *= dh
            local[t, :, 1:] *= dc[:, None, :]
            if t:
                np.matmul(self.dgates[t], w_hh, out=dh)
                dc *= f[t]

    def _backward_gru(self, d_out):
        T, B, H = self.T, self.B, self.H
        acts = self.gates.reshape(T, B, 3, H)
        r, z, n = acts[:, :, 0], acts[:, :, 1], acts[:, :, 2]
        h_prev = self.hs[:-1]
        # dh_t/dn_pre = (1 - z)(1 - n^2); through n_pre = .. + r * hn: dr_pre = dn_pre hn r (1 - r),
        # dhn = dn_pre r; dh_t/dz_pre = (h_{t-1} - n) z (1 - z); dh_t/dh_{t-1} = z (+ the gates)
        local = self.dgates.reshape(T, B, 3, H)  # [dr_pre, dz_pre, dhn] per unit of dh
        dh_to_dn, tmp = self.dh_to_dn, self.dn
        np.multiply(n, n, out=dh_to_dn)
        np.subtract(self.one, dh_to_dn, out=dh_to_dn)
        np.subtract(self.one, z, out=tmp)
        dh_to_dn *= tmp
        np.subtract(self.one, self.gates[:, :, : 2 * H], out=self.dgates[:, :, : 2 * H])
        self.dgates[:, :, : 2 * H] *= self.gates[:, :, : 2 * H]  # r (1 - r), z (1 - z)
        local[:, :, 0] *= self.hn
        local[:, :, 0] *= dh_to_dn
        np.subtract(h_prev, n, out=tmp)
        local[:, :, 1] *= tmp
        np.multiply(dh_to_dn, r, out=local[:, :, 2])
        dh, dn, rec, w_hh = self.dh, self.dn, self.rec[:, :H], self.w_hh
        dh[...] = 0
        for t in reversed(range(T)):
            dh += d_out[t]
            np.multiply(dh, dh_to_dn[t], out=dn[t])
            local[t] *= dh[:, None, :]
            if t:
                np.matmul(self.dgates[t], w_hh, out=rec)
                dh *= z[t]
                dh += rec
        self.dgates_ih[:, :, : 2 * H] = self.dgates[:, :, : 2 * H]
        self.dgates_ih[:, :, 2 * H :] = dn

    def train_step(self, x, w_out):
        """``(loss, grads)`` of ``loss = sum(out * w_out)``, zero initial states."""
        self.x_flat = x.reshape(self.T * self.B, self.I)
        out = self.forward(x)
        loss = np.vdot(out, w_out)
        return loss, self.backward(w_out)


def main():
    """``python benchmarks/numpy_reference.py``: the median time of each reference step alone."""
    import statistics
    import time

    configs = {"small": (64, 16, 32, 64), "medium": (64, 32, 64, 256), "long": (512, 8, 32, 128)}
    configs["char"] = (100, 1, 65, 100)
    rng = np.random.default_rng(0)
    for kind, G in NUM_GATES.items():
        for name, (T, B, I, H) in configs.items():
            shapes = {"weight_ih": (G * H, I), "weight_hh": (G * H, H)}
            shapes.update(bias_ih=G * H, bias_hh=G * H)
            params = {
                k: rng.uniform(-(H**-0.5), H**-0.5, n).astype(np.float32) for k, n in shapes.items()
            }
            x, w = (rng.standard_normal((T, B, n)).astype(np.float32) for n in (I, H))
            step, times = Reference(kind, params, T, B), []
            for _ in range(16):
                start = time.perf_counter()
                step.train_step(x, w)
                times.append(time.perf_counter() - start)
            print(f"{kind} {name} {(T, B, I, H)}: {1e3 * statistics.median(times[1:]):.2f} ms")


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tinygrad_seq._threads import limit_blas_threads

    with limit_blas_threads():  # as every entry point: see tinygrad_seq/_threads.py
        main()
