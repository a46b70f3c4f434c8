"""The recurrent cells: ``RNNCell``, ``LSTMCell`` and ``GRUCell``, ONE time step each.

A cell's ``step`` method is the one place where its equations are written; the sequence layers
(``RNN``, ``LSTM``, ``GRU`` in ``nn/rnn.py``) unroll that same ``step`` over time, layers and
directions. Parameter names, shapes, gate order and initialisation are PyTorch's, so a torch
``state_dict`` (as NumPy arrays) loads as it is. There is no gradient code here: backprop through
time is the engine's job.

Gates and states are named as taught, for the graph viewer: "input gate", "forget gate", "output
gate", "candidate" (LSTM); "reset gate", "update gate", "candidate" (GRU); "hidden state", "cell
state". A cell used alone opens no scope: wrap your own loop in ``tg.scope``.
"""

import math
import numbers

import numpy as np

from .._tensor import Tensor, _check_device, matmul_transposed
from ..functions import chunk, split
from . import init
from .module import Module, Parameter

__all__ = ["GRUCell", "LSTMCell", "RNNCell"]


class _Cell(Module):
    """What a cell kind declares, and the single-step forward shared by the three cells."""

    num_gates = 1  # blocks of hidden_size rows stacked in weight_ih / weight_hh
    state_names = ("hidden state",)
    bias_hh_in_step = False  # True: b_hh cannot be folded into the input projection (GRU)

    def __init__(
        self, input_size, hidden_size, bias=True, *, dtype=np.float32, seed=None, device=None
    ):
        super().__init__()
        _check_device(device)  # the CPU only: "cpu", None or tg.device("cpu")
        who = type(self).__name__
        check_size(who, "input_size", input_size)
        check_size(who, "hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        make = uniform_maker(who, hidden_size, dtype, seed)
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
        x = as_input(who, input, self.weight_ih.dtype)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{who}: expected input of shape (batch, {self.input_size}) or ({self.input_size},)"
                f" (input_size={self.input_size}), got shape {x.shape}"
            )
        state_shape = x.shape[:-1] + (self.hidden_size,)
        state = initial_states(who, hx, self.state_names, state_shape, x.dtype)
        in_bias, step_bias = self.biases(self.bias_ih, self.bias_hh)
        gates_x = matmul_transposed(
            x, self.weight_ih
        )  # one step: no transposed copy is worth making
        if in_bias is not None:
            gates_x = gates_x + in_bias
        state = self._step(gates_x, state, self.weight_hh, step_bias)
        return state[0] if len(state) == 1 else state

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class Elman:
    """What RNNCell and RNN share: the step is ``RNNCell.step`` with the module's nonlinearity,
    and the repr names the nonlinearity when it is not tanh.

    >>> from tinygrad_seq import nn
    >>> nn.RNNCell(2, 3, nonlinearity="relu", seed=0)
    RNNCell(2, 3, nonlinearity=relu)
    """

    def _step(self, gates_x, state, w_hh, b_hh, w_hh_t=None):
        return RNNCell.step(gates_x, state, w_hh, b_hh, self.nonlinearity, w_hh_t=w_hh_t)

    def _step_key(self):
        return (type(self)._step, RNNCell.step, self.nonlinearity)

    def extra_repr(self):
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity}"
        return super().extra_repr() + extra


class RNNCell(Elman, _Cell):
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
        device=None,
    ):
        nonlinearity = check_nonlinearity(type(self).__name__, nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype=dtype, seed=seed, device=device)
        self.nonlinearity = nonlinearity

    @staticmethod
    def step(gates_x, state, w_hh, b_hh=None, nonlinearity="tanh", *, w_hh_t=None):
        """One step given ``gates_x = W_ih x (+ biases)``: returns the new state ``(h,)``.

        ``w_hh`` is ``weight_hh``; ``w_hh_t`` optionally its transpose as a contiguous array, a
        speed hint a layer makes once for all steps (see ``tensor.linear``)."""
        (h,) = state
        pre = gates_x + matmul_transposed(h, w_hh, w_hh_t)
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
        gates = gates_x + matmul_transposed(
            h, w_hh, w_hh_t
        )  # h @ W_hh^T: all four gates in one matmul
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
        gates_h = matmul_transposed(h, w_hh, w_hh_t)  # h @ W_hh^T: all three gates in one matmul
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


# --- helpers --------------------------------------------------------------------------------------


def uniform_maker(who, hidden_size, dtype, seed):
    """A function shape -> Parameter, uniform in +-1/sqrt(hidden_size) as PyTorch initialises.

    >>> make = uniform_maker("RNN", hidden_size=4, dtype=np.float32, seed=0)
    >>> w = make((3, 4))
    >>> w.shape, bool(abs(w.numpy()).max() <= 0.5)
    ((3, 4), True)
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{who}: dtype must be a floating-point type, got {dtype}")
    rng, bound = init.default_rng(seed), 1.0 / math.sqrt(hidden_size)
    return lambda shape: init.uniform_(Parameter(np.zeros(shape, dtype=dtype)), -bound, bound, rng)


def check_size(who, name, value, allow_zero=False):
    """``value`` as an int, or a ValueError naming ``who`` and the size ``name`` unless it is a
    positive int (non-negative with ``allow_zero``). The size check of every nn layer.

    >>> check_size("RNN", "hidden_size", 0)
    Traceback (most recent call last):
    ValueError: RNN: hidden_size must be a positive int, got 0
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < (0 if allow_zero else 1):
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{who}: {name} must be {kind} int, got {value!r}")
    return int(value)


def check_nonlinearity(who, nonlinearity):
    """``nonlinearity`` if it is "tanh" or "relu", else a ValueError naming ``who``.

    >>> check_nonlinearity("RNN", "relu")
    'relu'
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{who}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


def as_input(who, value, dtype, what="input"):
    """``value`` as a Tensor of the parameters' dtype.

    The module's dtype decides the precision of its work: a float64 NumPy array fed to a float32
    layer is data, cast to float32, the way ``torch.as_tensor(x, dtype=...)`` would be. A Tensor
    of another float dtype is refused, as PyTorch refuses it (a silent cast would hide a float64
    model fed float32 states, or the reverse). Non-float input is an error.

    >>> as_input("RNN", np.ones((2, 3)), np.float32).dtype
    dtype('float32')
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


# the initial states as PyTorch's signatures name them, ``lstm(x, (h_0, c_0))``: the zeros made
# when none is given carry these names, so a drawing tells them from the input x
INITIAL_NAMES = {"hidden state": "h_0", "cell state": "c_0"}


def initial_state(state, name):
    """``state`` named as the initial state of role ``name`` (h_0, c_0) if it is a plain tensor
    (no graph node) without a name of its own; else ``state`` unchanged."""
    if state._name is None and not state._requires_grad and name in INITIAL_NAMES:
        state.named(INITIAL_NAMES[name])
    return state


def initial_states(who, hx, names, shape, dtype):
    """The initial state as a tuple of Tensors of ``shape`` (zeros when ``hx`` is None).

    >>> h, c = initial_states("LSTM", None, ("hidden state", "cell state"), (1, 2, 3), np.float32)
    >>> h.shape, c.name
    ((1, 2, 3), 'c_0')
    """
    if hx is None:
        return tuple(initial_state(Tensor(np.zeros(shape, dtype=dtype)), n) for n in names)
    if len(names) == 1:
        if isinstance(hx, tuple):
            raise TypeError(f"{who}: the state must be one tensor h, got a tuple")
        hx = (hx,)
    elif not isinstance(hx, (tuple, list)) or len(hx) != len(names):
        raise TypeError(f"{who}: the state must be a tuple (h, c) of {len(names)} tensors")
    states = []
    for value, name in zip(hx, names):
        state = as_input(who, value, dtype, what=name)
        if state.shape != shape:
            raise ValueError(f"{who}: {name} has shape {state.shape}, expected {shape}")
        states.append(state)
    return tuple(states)
