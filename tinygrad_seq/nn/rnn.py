"""Recurrent layers with PyTorch's parameter names, shapes, gate order and initialisation.

``RNNCell``, ``LSTMCell`` and ``GRUCell`` are ONE time step each; their ``step`` method is the one
place where a cell's equations are written. ``RNN``, ``LSTM`` and ``GRU`` share one driver that
unrolls any cell over time, layers and directions. A torch ``state_dict`` (as NumPy arrays) loads
into them as it is. There is no gradient code here: backprop through time is the engine's job.

How a layer spends its time (each point measured, see the notes in the code):

1. the input projection of all T steps is ONE matmul ``(T*B, I) @ W_ih^T``, with ``b_ih + b_hh``
   added once (the GRU adds ``b_hh`` per step: ``b_hn`` sits inside ``r * (...)``);
2. per time step, ONE matmul ``h @ W_hh^T`` for all gates, with ``W_hh^T`` made C-contiguous once
   per call;
3. ``step`` splits the gates with views (slices);
4. with ``lengths``, a ``where`` per step keeps the state of sequences that have ended, and steps
   past every sequence's end are skipped.

Graph scopes, for the graph viewer: every node a layer creates is recorded under the scope

    (<"rnn" | "lstm" | "gru">, "layer k", "forward" | "reverse", "t=i")

(see ``LAYER_SCOPE``, ``DIRECTIONS``, ``STEP_SCOPE``). ``i`` is the position in the sequence: the
reverse direction visits ``t=T-1`` first. Nodes of a whole layer/direction (input projection,
transposed weights, stacking the outputs) have no ``t=`` scope; the final ``h_n``/``c_n`` stack sits
directly under the module scope. Cells used alone open no scope: wrap your own loop in
``tg.scope``. Gates and states are named as taught: "input gate", "forget gate", "output gate",
"candidate" (LSTM); "reset gate", "update gate", "candidate" (GRU); "hidden state", "cell state".
"""

import math
import numbers
import warnings

import numpy as np

from .._tensor import Tensor, chunk, concat, linear, split, stack, where
from ..engine import scope
from ..scan import scan
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence, _pack_like, pad_packed_sequence

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]

LAYER_SCOPE = "layer {}"  # .format(layer index)
DIRECTIONS = ("forward", "reverse")
STEP_SCOPE = "t={}"  # .format(position in the sequence)


# --- the cells: one time step each ----------------------------------------------------------------


class _Cell(Module):
    """What a cell kind declares, and the single-step forward shared by the three cells."""

    num_gates = 1  # blocks of hidden_size rows stacked in weight_ih / weight_hh
    state_names = ("hidden state",)
    bias_hh_in_step = False  # True: b_hh cannot be folded into the input projection (GRU)

    def __init__(self, input_size, hidden_size, bias=True, *, dtype=np.float32, seed=None):
        super().__init__()
        who = type(self).__name__
        _check_size(who, "input_size", input_size)
        _check_size(who, "hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        make = _uniform_maker(who, hidden_size, dtype, seed)
        gates = self.num_gates * hidden_size
        self.weight_ih = make((gates, input_size))
        self.weight_hh = make((gates, hidden_size))
        for name in ("bias_ih", "bias_hh"):
            self.register_parameter(name, make((gates,)) if bias else None)

    @classmethod
    def biases(cls, b_ih, b_hh):
        """(bias added to the input projection, bias passed to ``step``)."""
        if b_ih is None:
            return None, None
        if cls.bias_hh_in_step:
            return b_ih, b_hh
        return b_ih + b_hh, None

    def _step(self, gates_x, state, w_hh, b_hh, w_hh_t=None):
        return self.step(gates_x, state, w_hh, b_hh, w_hh_t=w_hh_t)

    def forward(self, input, hx=None):
        who = type(self).__name__
        x = _as_input(who, input, self.weight_ih.dtype)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{who}: expected input of shape (batch, {self.input_size}) or ({self.input_size},)"
                f" (input_size={self.input_size}), got shape {x.shape}"
            )
        state_shape = x.shape[:-1] + (self.hidden_size,)
        state = _states(who, hx, self.state_names, state_shape, x.dtype)
        in_bias, step_bias = self.biases(self.bias_ih, self.bias_hh)
        gates_x = linear(x, self.weight_ih)  # one step: no transposed copy is worth making
        if in_bias is not None:
            gates_x = gates_x + in_bias
        state = self._step(gates_x, state, self.weight_hh, step_bias)
        return state[0] if len(state) == 1 else state

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class _Elman:
    """What RNNCell and RNN share: the step is ``RNNCell.step`` with the module's nonlinearity,
    and the repr names the nonlinearity when it is not tanh."""

    def _step(self, gates_x, state, w_hh, b_hh, w_hh_t=None):
        return RNNCell.step(gates_x, state, w_hh, b_hh, self.nonlinearity, w_hh_t=w_hh_t)

    def _step_key(self):
        return (type(self)._step, RNNCell.step, self.nonlinearity)

    def extra_repr(self):
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity}"
        return super().extra_repr() + extra


class RNNCell(_Elman, _Cell):
    """An Elman RNN step, as ``torch.nn.RNNCell``: ``h = cell(x, h=None)``.

        h' = tanh(W_ih x + b_ih + W_hh h + b_hh)        (relu instead of tanh if asked)

    Shapes: x (B, input_size) or (input_size,); h (B, hidden_size) or (hidden_size,), zeros if
    omitted. Parameters are uniform in +-1/sqrt(hidden_size), drawn from ``seed``.

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> cell = nn.RNNCell(3, 5, seed=0)
    >>> h = cell(np.zeros((2, 3), dtype=np.float32))
    >>> h = cell(np.ones((2, 3), dtype=np.float32), h)
    >>> h.shape, h.name
    ((2, 5), 'hidden state')
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        bias=True,
        nonlinearity="tanh",
        *,
        dtype=np.float32,
        seed=None,
    ):
        nonlinearity = _check_nonlinearity(type(self).__name__, nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype=dtype, seed=seed)
        self.nonlinearity = nonlinearity

    @staticmethod
    def step(gates_x, state, w_hh, b_hh=None, nonlinearity="tanh", *, w_hh_t=None):
        """One step given ``gates_x = W_ih x (+ biases)``: returns the new state ``(h,)``.

        ``w_hh`` is ``weight_hh``; ``w_hh_t`` optionally its transpose as a contiguous array, a
        speed hint a layer makes once for all steps (see ``tensor.linear``)."""
        (h,) = state
        pre = gates_x + linear(h, w_hh, w_hh_t)
        if b_hh is not None:
            pre = pre + b_hh
        h = pre.tanh() if nonlinearity == "tanh" else pre.relu()
        return (h.named("hidden state"),)


class LSTMCell(_Cell):
    """A long short-term memory step, as ``torch.nn.LSTMCell``: ``h, c = cell(x, (h, c)=None)``.

        i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     input gate
        f  = sigmoid(W_if x + b_if + W_hf h + b_hf)     forget gate
        g  = tanh(W_ig x + b_ig + W_hg h + b_hg)        candidate
        o  = sigmoid(W_io x + b_io + W_ho h + b_ho)     output gate
        c' = f * c + i * g                              cell state
        h' = o * tanh(c')                               hidden state

    The four gates are stacked in the order i, f, g, o in ``weight_ih`` (4H, I), ``weight_hh``
    (4H, H) and the biases (4H,), exactly as PyTorch, so its weights load unchanged.

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> cell = nn.LSTMCell(3, 5, seed=0)
    >>> h, c = cell(np.zeros((2, 3), dtype=np.float32))
    >>> h, c = cell(np.ones((2, 3), dtype=np.float32), (h, c))
    >>> h.shape, c.name
    ((2, 5), 'cell state')
    """

    num_gates = 4
    state_names = ("hidden state", "cell state")

    @staticmethod
    def step(gates_x, state, w_hh, b_hh=None, *, w_hh_t=None):
        """One step given ``gates_x = W_ih x (+ biases)``: returns the new state ``(h, c)``.

        ``w_hh`` is ``weight_hh``; ``w_hh_t`` optionally its transpose as a contiguous array, a
        speed hint a layer makes once for all steps (see ``tensor.linear``)."""
        h, c = state
        gates = gates_x + linear(h, w_hh, w_hh_t)  # h @ W_hh^T: all four gates in one matmul
        if b_hh is not None:
            gates = gates + b_hh
        i, f, g, o = chunk(gates, 4, axis=-1)
        i = i.sigmoid().named("input gate")
        f = f.sigmoid().named("forget gate")
        g = g.tanh().named("candidate")
        o = o.sigmoid().named("output gate")
        # 1. forget: f (in [0, 1]) scales how much of the old cell state c_{t-1} is kept.
        # 2. select memory: i scales how much of the candidate g is written: c_t = f*c_{t-1} + i*g
        c = (f * c + i * g).named("cell state")
        # 3. output: o selects what of tanh(c_t) is shown as the hidden state h_t = o * tanh(c_t)
        h = (o * c.tanh()).named("hidden state")
        return h, c


class GRUCell(_Cell):
    """A gated recurrent unit step, as ``torch.nn.GRUCell``: ``h = cell(x, h=None)``.

        r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)        reset gate
        z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)        update gate
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))     candidate
        h' = (1 - z) * n + z * h                           hidden state

    Gates are stacked r, z, n as in PyTorch. Note ``b_hn`` sits inside ``r * (...)``: it is not the
    same as adding it to ``b_in``.

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> cell = nn.GRUCell(3, 5, seed=0)
    >>> cell(np.ones(3, dtype=np.float32)).shape  # unbatched input, as PyTorch allows
    (5,)
    """

    num_gates = 3
    bias_hh_in_step = True  # b_hn is scaled by r, so b_hh joins h @ W_hh^T at every step

    @staticmethod
    def step(gates_x, state, w_hh, b_hh=None, *, w_hh_t=None):
        """One step given ``gates_x = W_ih x + b_ih``: returns the new state ``(h,)``.

        ``w_hh`` is ``weight_hh``; ``w_hh_t`` optionally its transpose as a contiguous array, a
        speed hint a layer makes once for all steps (see ``tensor.linear``)."""
        (h,) = state
        gates_h = linear(h, w_hh, w_hh_t)  # h @ W_hh^T: all three gates in one matmul
        if b_hh is not None:
            gates_h = gates_h + b_hh
        hidden = h.shape[-1]
        x_rz, x_n = split(gates_x, [2 * hidden, hidden], axis=-1)
        h_rz, h_n = split(gates_h, [2 * hidden, hidden], axis=-1)
        r, z = chunk((x_rz + h_rz).sigmoid(), 2, axis=-1)  # both gates in one sigmoid
        r, z = r.named("reset gate"), z.named("update gate")
        n = (x_n + r * h_n).tanh().named("candidate")
        # n + z * (h - n) is (1 - z) * n + z * h with one op fewer: z interpolates from n to h
        return ((n + z * (h - n)).named("hidden state"),)


# --- the sequence layers: one driver for every cell -----------------------------------------------


class _Recurrent(Module):
    """The driver behind RNN, LSTM and GRU; ``cell`` is the class whose ``step`` is unrolled."""

    cell = None

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        *,
        dtype=np.float32,
        seed=None,
    ):
        super().__init__()
        who = type(self).__name__
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            _check_size(who, name, value)
        _check_size(who, "num_layers", num_layers)
        if (
            not isinstance(dropout, numbers.Real)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(f"{who}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{who}: dropout={dropout} acts between layers only, so it does nothing with "
                "num_layers=1",
                stacklevel=2,
            )
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self._rng = init.default_rng(seed)  # initial weights, then dropout masks
        make = _uniform_maker(who, hidden_size, dtype, self._rng)
        gates = self.cell.num_gates * hidden_size
        # registered in torch's order, so named_parameters() lists the same names in the same order
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes:
                setattr(self, f"weight_ih_l{layer}{suffix}", make((gates, layer_input)))
                setattr(self, f"weight_hh_l{layer}{suffix}", make((gates, hidden_size)))
                for kind in ("ih", "hh"):
                    name = f"bias_{kind}_l{layer}{suffix}"
                    self.register_parameter(name, make((gates,)) if bias else None)

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    @property
    def _suffixes(self):
        return ("", "_reverse")[: self.num_directions]

    def _step(self, gates_x, state, w_hh, b_hh, w_hh_t=None):
        return self.cell.step(gates_x, state, w_hh, b_hh, w_hh_t=w_hh_t)

    def _step_key(self):
        """What ``_step`` applies depends on, for ``scan`` to reuse its recording: the functions
        (a subclass or another cell brings its own) and settings. A subclass whose step reads
        another setting must add it here, or a changed setting would replay the old recording."""
        return (type(self)._step, self.cell.step)

    def forward(self, input, hx=None, lengths=None):
        """Run the whole sequence; ``lengths`` (one per sequence) ignores steps past each end.

        Returns ``(output, h_n)`` (``(output, (h_n, c_n))`` for the LSTM) with PyTorch's shapes:
        output (T, B, D*H) ((B, T, D*H) with batch_first; (T, D*H) unbatched), h_n (L*D, B, H).
        With ``lengths``, each sequence gives what it gives alone: padded output steps are zero,
        h_n is the state at the sequence's own last step, padded inputs receive no gradient.
        A ``PackedSequence`` input gives a ``PackedSequence`` output, as in PyTorch.
        """
        who = type(self).__name__
        if isinstance(input, PackedSequence):  # unpack, run with lengths, pack the output alike
            if lengths is not None:
                raise ValueError(f"{who}: a PackedSequence carries its lengths; pass no lengths")
            padded, lengths = pad_packed_sequence(input, self.batch_first)
            output, final = self.forward(padded, hx, lengths.data)
            return _pack_like(output, input, self.batch_first), final
        x = _as_input(who, input, self.weight_ih_l0.dtype)
        self._check_input(x)
        batched = x.ndim == 3
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.swapaxes(0, 1)  # time-major inside
        steps, batch = x.shape[:2]
        lead = (self.num_layers * self.num_directions,)
        shape = lead + ((batch,) if batched else ()) + (self.hidden_size,)
        states = _states(who, hx, self.cell.state_names, shape, x.dtype)
        if not batched:
            states = tuple(s.reshape(lead + (1, self.hidden_size)) for s in states)
        valid = _valid_steps(who, lengths, steps, batch, batched)
        with scope(who.lower()):
            output, finals = self._unroll(x, states, valid)
            final = tuple(stack([f[i] for f in finals], axis=0) for i in range(len(states)))
        if not batched:
            output = output.reshape(steps, output.shape[-1])
            final = tuple(s.reshape(lead + (self.hidden_size,)) for s in final)
        elif self.batch_first:
            output = output.swapaxes(0, 1)
        return output, (final[0] if len(final) == 1 else final)

    def _unroll(self, x, states, valid):
        """Layers bottom-up, each direction over the whole sequence: (top output, final states)."""
        finals = []
        for layer in range(self.num_layers):
            with scope(LAYER_SCOPE.format(layer)):
                outputs = []
                for direction, suffix in enumerate(self._suffixes):
                    with scope(DIRECTIONS[direction]):
                        state = tuple(s[layer * self.num_directions + direction] for s in states)
                        hs, state = self._run_direction(x, state, layer, suffix, valid)
                        outputs.append(hs)
                        finals.append(state)
                x = concat(outputs, axis=2) if len(outputs) > 1 else outputs[0]
                if valid is not None:
                    x = where(valid, x, 0.0)  # padded steps output zero, as pad_packed_sequence
                if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                    x = self._drop(x)
        return x, finals

    def _run_direction(self, x, state, layer, suffix, valid):
        """One layer, one direction: ([h_t for t in 0..T-1], final state)."""
        weight = lambda kind: getattr(self, f"{kind}_l{layer}{suffix}")
        in_bias, step_bias = self.cell.biases(weight("bias_ih"), weight("bias_hh"))
        steps, batch = x.shape[:2]
        # the input projection of all T steps at once: one large GEMM
        gates_x = linear(x.reshape(steps * batch, x.shape[2]), weight("weight_ih"))
        if in_bias is not None:
            gates_x = gates_x + in_bias
        gates_x = gates_x.reshape(steps, batch, gates_x.shape[1])
        w_hh = weight("weight_hh")
        w_hh_t = np.ascontiguousarray(w_hh.data.T)  # once for all T steps: BLAS prefers it
        if valid is None:  # the step recorded once, run T times as one graph node
            invariants = (w_hh, step_bias, w_hh_t)
            return scan(
                self._step,
                gates_x,
                state,
                invariants,
                reverse=bool(suffix),
                step_scope=STEP_SCOPE,
                key=self._step_key(),
            )
        outputs = [None] * steps
        order = range(steps - 1, -1, -1) if suffix else range(steps)
        for t in order:
            with scope(STEP_SCOPE.format(t)):
                ongoing = None if valid is None else valid[t]
                if ongoing is not None and not ongoing.any():
                    outputs[t] = state[0]  # every sequence is past its end: nothing changes
                    continue
                # a slice of one tensor, taken in the step as scan's op-by-op loop does: the
                # engine adds each slice's gradient into one buffer in place
                new = self._step(gates_x[t], state, w_hh, step_bias, w_hh_t)
                if ongoing is not None and not ongoing.all():  # ended sequences keep their state
                    names = self.cell.state_names
                    new = tuple(where(ongoing, n, s).named(k) for n, s, k in zip(new, state, names))
                state = new
                outputs[t] = state[0]
        return stack(outputs, axis=0), state

    def _drop(self, x):
        """Inverted dropout between layers, masks drawn from the layer's generator."""
        keep = self._rng.random(x.shape) >= self.dropout
        scale = 0.0 if self.dropout == 1 else 1.0 / (1.0 - self.dropout)
        return x * (keep.astype(x.dtype) * scale)

    def _check_input(self, x):
        who = type(self).__name__
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(batch, seq, features)" if self.batch_first else "(seq, batch, features)"
            raise ValueError(
                f"{who}: expected input of shape {layout} or unbatched (seq, features) with "
                f"features = input_size = {self.input_size}, got shape {x.shape}"
            )
        if 0 in x.shape:
            raise ValueError(
                f"{who}: input of shape {x.shape} is empty; it needs at least one step and one "
                "sequence"
            )

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(_Elman, _Recurrent):
    """A multi-layer Elman RNN over a sequence, as ``torch.nn.RNN`` (steps: ``RNNCell``).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, *, dtype=float32, seed=None)``;
    ``output, h_n = rnn(x, h_0=None, lengths=None)`` (see ``forward``).

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> rnn = nn.RNN(4, 8, num_layers=2, bidirectional=True, seed=0)
    >>> output, h_n = rnn(np.zeros((5, 3, 4), dtype=np.float32), lengths=[5, 2, 3])
    >>> output.shape, h_n.shape
    ((5, 3, 16), (4, 3, 8))
    """

    cell = RNNCell

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        *,
        dtype=np.float32,
        seed=None,
    ):
        nonlinearity = _check_nonlinearity("RNN", nonlinearity)
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype=dtype,
            seed=seed,
        )
        self.nonlinearity = nonlinearity


class LSTM(_Recurrent):
    """A multi-layer LSTM over a sequence, as ``torch.nn.LSTM`` (steps: ``LSTMCell``).

    ``output, (h_n, c_n) = lstm(x, (h_0, c_0)=None, lengths=None)`` (see ``forward``).

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True, seed=0)
    >>> lstm
    LSTM(10, 20, num_layers=2, batch_first=True)
    >>> output, (h_n, c_n) = lstm(np.zeros((3, 7, 10), dtype=np.float32))
    >>> output.shape, h_n.shape, c_n.shape
    ((3, 7, 20), (2, 3, 20), (2, 3, 20))
    """

    cell = LSTMCell


class GRU(_Recurrent):
    """A multi-layer GRU over a sequence, as ``torch.nn.GRU`` (steps: ``GRUCell``).

    ``output, h_n = gru(x, h_0=None, lengths=None)`` (see ``forward``).

    >>> import numpy as np
    >>> from tinygrad_seq import nn
    >>> gru = nn.GRU(4, 6, seed=0)
    >>> output, h_n = gru(np.zeros((5, 4), dtype=np.float32))  # unbatched (seq, features)
    >>> output.shape, h_n.shape
    ((5, 6), (1, 6))
    """

    cell = GRUCell


# --- helpers --------------------------------------------------------------------------------------


def _uniform_maker(who, hidden_size, dtype, seed):
    """A function shape -> Parameter, uniform in +-1/sqrt(hidden_size) as PyTorch initialises."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{who}: dtype must be a floating-point type, got {dtype}")
    rng, bound = init.default_rng(seed), 1.0 / math.sqrt(hidden_size)
    return lambda shape: init.uniform_(Parameter(np.zeros(shape, dtype=dtype)), -bound, bound, rng)


def _check_size(who, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")


def _check_nonlinearity(who, nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{who}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


def _as_input(who, value, dtype, what="input"):
    """``value`` as a Tensor of the parameters' dtype.

    The module's dtype decides the precision of its work: a float64 NumPy array fed to a float32
    layer is data, cast to float32, the way ``torch.as_tensor(x, dtype=...)`` would be. A Tensor
    of another float dtype is refused, as PyTorch refuses it (a silent cast would hide a float64
    model fed float32 states, or the reverse). Non-float input is an error.
    """
    if isinstance(value, Tensor):
        x = value
        if x.dtype.kind == "f" and x.dtype != dtype:
            raise TypeError(
                f"{who}: {what} dtype {x.dtype} does not match the weight dtype {dtype}; cast "
                f"the {what} (.astype(np.{dtype})) or build the layer with dtype=np.{x.dtype}"
            )
    else:
        x = Tensor(value)
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: expected a floating-point {what}, got dtype {x.dtype}")
    return x.astype(dtype)


def _states(who, hx, names, shape, dtype):
    """The initial state as a tuple of Tensors of ``shape`` (zeros when ``hx`` is None)."""
    if hx is None:
        zeros = Tensor(np.zeros(shape, dtype=dtype))
        return (zeros,) * len(names)
    if len(names) == 1:
        if isinstance(hx, tuple):
            raise TypeError(f"{who}: the state must be one tensor h, got a tuple")
        hx = (hx,)
    elif not isinstance(hx, (tuple, list)) or len(hx) != len(names):
        raise TypeError(f"{who}: the state must be a tuple (h, c) of {len(names)} tensors")
    states = []
    for value, name in zip(hx, names):
        state = _as_input(who, value, dtype, what=name)
        if state.shape != shape:
            raise ValueError(f"{who}: {name} has shape {state.shape}, expected {shape}")
        states.append(state)
    return tuple(states)


def _valid_steps(who, lengths, steps, batch, batched):
    """(T, B, 1) bool mask of the steps within each sequence, or None if all are."""
    if lengths is None:
        return None
    lengths = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    if not batched and lengths.ndim == 0:
        lengths = lengths.reshape(1)
    if lengths.dtype.kind not in "iu" or lengths.shape != (batch,):
        raise ValueError(
            f"{who}: lengths must hold {batch} integer(s), one per sequence in the batch, got "
            f"an array of shape {lengths.shape} and dtype {lengths.dtype}"
        )
    if lengths.min() < 1 or lengths.max() > steps:
        raise ValueError(
            f"{who}: every length must be in 1..{steps} (the sequence length), got "
            f"{lengths.tolist()}"
        )
    valid = np.arange(steps)[:, None] < lengths[None, :]
    return None if valid.all() else valid[:, :, None]
