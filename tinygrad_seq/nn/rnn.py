"""Recurrent layers with PyTorch's parameter names, shapes, gate order and initialisation.

``RNN``, ``LSTM`` and ``GRU`` share one driver that unrolls a cell's ``step`` (``nn/cells.py``:
``RNNCell``, ``LSTMCell``, ``GRUCell``, ONE time step each, where the equations are written) over
time, layers and directions. A torch ``state_dict`` (as NumPy arrays) loads into them as it is.
There is no gradient code here: backprop through time is the engine's job.

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
directly under the module scope. Inside a step, gates and states carry the names the cells give
them ("forget gate", "hidden state", ...: see ``nn/cells.py``).
"""

import numbers
import warnings

import numpy as np

from .._tensor import Tensor, _check_device, concat, linear, stack, where
from ..modes import scope
from ..scan import scan
from . import init
from .cells import (
    Elman,
    GRUCell,
    LSTMCell,
    RNNCell,
    as_input,
    check_nonlinearity,
    check_size,
    initial_state,
    initial_states,
    uniform_maker,
)
from .module import Module
from .utils.rnn import PackedSequence, _pack_like, pad_packed_sequence

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]  # the cells live in cells.py

LAYER_SCOPE = "layer {}"  # .format(layer index)
DIRECTIONS = ("forward", "reverse")
STEP_SCOPE = "t={}"  # .format(position in the sequence)


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
        device=None,
    ):
        super().__init__()
        _check_device(device)  # the CPU only: "cpu", None or tg.device("cpu")
        who = type(self).__name__
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            check_size(who, name, value)
        check_size(who, "num_layers", num_layers)
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
        make = uniform_maker(who, hidden_size, dtype, self._rng)
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

    def flatten_parameters(self):
        """Does nothing, and exists so that scripts calling it run: in PyTorch it packs the
        weights into one contiguous cuDNN buffer, and there is no cuDNN here.

        >>> import tinygrad_seq as tg
        >>> tg.nn.LSTM(2, 3, seed=0).flatten_parameters() is None
        True
        """

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
            output, final = self.forward(padded, hx, lengths._data)
            return _pack_like(output, input, self.batch_first), final
        x = as_input(who, input, self.weight_ih_l0.dtype)
        self._check_input(x)
        batched = x.ndim == 3
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.swapaxes(0, 1)  # time-major inside
        steps, batch = x.shape[:2]
        lead = (self.num_layers * self.num_directions,)
        shape = lead + ((batch,) if batched else ()) + (self.hidden_size,)
        states = initial_states(who, hx, self.cell.state_names, shape, x.dtype)
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
                        k = layer * self.num_directions + direction
                        names = self.cell.state_names
                        state = tuple(initial_state(s[k], n) for s, n in zip(states, names))
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
        w_hh_t = np.ascontiguousarray(w_hh._data.T)  # once for all T steps: BLAS prefers it
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


class RNN(Elman, _Recurrent):
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
        device=None,
    ):
        nonlinearity = check_nonlinearity("RNN", nonlinearity)
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
            device=device,
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


def _valid_steps(who, lengths, steps, batch, batched):
    """(T, B, 1) bool mask of the steps within each sequence, or None if all are."""
    if lengths is None:
        return None
    lengths = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths)
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
