"""Gradient flow through time: ||dL/dh_t|| for every step t, and a plot of it.

The loss is taken at the last step only, so ``dL/dh_t`` measures how much of the error signal
survives the trip back from step T-1 to step t: it vanishes geometrically in a tanh RNN with small
weights, and decays far more slowly along an LSTM's cell state (the forget gate sets the rate).
The numbers are the engine's own gradients, not a separate computation: for a cell the hidden
states are kept with ``retain_grad``, for a layer backward keeps every node's gradient and the
hidden states are found in the graph by their scope ("t=i") and name ("hidden state").
"""

import numpy as np

from .._tensor import Tensor
from ..modes import scope
from ..nn.rnn import GRUCell, LSTMCell, RNNCell
from .style import visible
from .trace import role_of, time_step, walk

_CELLS = (RNNCell, LSTMCell, GRUCell)


def gradient_flow(model, x, hx=None, *, loss=None):
    """||dL/dh_t|| for t = 0..T-1, where L = ``loss(h_{T-1})`` (default: its sum).

    ``model`` is a cell (``RNNCell``, ``LSTMCell``, ``GRUCell``), run here step by step over
    ``x`` of shape (T, batch, input_size) or (T, input_size), or a unidirectional layer
    (``RNN``, ``LSTM``, ``GRU``, or any module that opens "t=i" scopes and names its hidden state
    "hidden state", as they do): then h_t is the top layer's. ``hx`` is the initial state.
    The model's gradients are accumulated as by any backward; zero them afterwards if you train.

    >>> import numpy as np
    >>> from tinygrad_seq import nn, viz
    >>> cell = nn.RNNCell(2, 4, seed=0)
    >>> norms = viz.gradient_flow(cell, np.ones((5, 1, 2), dtype=np.float32))
    >>> norms.shape, bool(norms[0] < norms[-1])
    ((5,), True)
    """
    loss = loss if loss is not None else (lambda h: h.sum())
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim not in (2, 3) or x.shape[0] == 0:
        raise ValueError(
            "gradient_flow: x must be a sequence of shape (T, batch, input_size) or "
            f"(T, input_size) with T >= 1, got shape {x.shape}"
        )
    if isinstance(model, _CELLS):
        return _flow_of_cell(model, x, hx, loss)
    if getattr(model, "bidirectional", False):
        raise ValueError(
            "gradient_flow: a bidirectional layer has no single 'last step' (its reverse "
            "direction ends at t=0); measure a unidirectional layer"
        )
    return _flow_of_layer(model, x, hx, loss)


def _scalar_loss(loss, h):
    value = loss(h)
    if not isinstance(value, Tensor) or value.numel() != 1:
        shape = value.shape if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"gradient_flow: loss(h) must return a one-element Tensor, got {shape}")
    return value


def _flow_of_cell(cell, x, hx, loss):
    state, hs = hx, []
    for t in range(x.shape[0]):
        with scope(f"t={t}"):
            state = cell(x[t], state)
        h = state[0] if isinstance(state, tuple) else state
        h.retain_grad()  # h_t is an intermediate: keep its gradient after backward
        hs.append(h)
    _scalar_loss(loss, hs[-1]).backward()
    return np.array([_norm(h.grad) for h in hs])


def _flow_of_layer(layer, x, hx, loss):
    output = layer(x) if hx is None else layer(x, hx)
    output = output[0] if isinstance(output, tuple) else output
    batch_first = getattr(layer, "batch_first", False) and output.ndim == 3
    last = output[:, -1] if batch_first else output[-1]
    root = _scalar_loss(loss, last)
    root.backward(keep_grads=True)
    hidden = _hidden_states_by_step(root.node)
    if not hidden:
        raise ValueError(
            f"gradient_flow: found no hidden states in the graph of {type(layer).__name__}: a "
            "layer must compute each step under tg.scope('t=<i>') and name its hidden state "
            "'hidden state' (as nn.RNN, nn.LSTM and nn.GRU do); or pass a cell"
        )
    steps = output.shape[1] if batch_first else output.shape[0]
    return np.array([_norm(hidden[t].grad) if t in hidden else 0.0 for t in range(steps)])


def _hidden_states_by_step(root):
    """{t: node of h_t} for the last layer and direction met in the graph (the top layer: its
    steps come after every layer below in the walk); the last hidden state named in a step wins
    (with ``lengths``, the masked state that is carried on)."""
    found = {}
    for node in walk([root]):
        if node.prim is None or role_of(node) != "hidden state":
            continue
        for i, name in enumerate(node.scope):
            t = time_step(name)
            if t is not None:
                found.setdefault(node.scope[:i], {})[t] = node
                break
    return found[list(found)[-1]] if found else {}


def _norm(g):
    # the norm of a float32 gradient is formed in float64 only to report it; nothing trains on it
    return 0.0 if g is None else float(np.linalg.norm(np.asarray(g, dtype=np.float64)))


def compare_gradient_flow(
    steps=100, *, forget_biases=(1.0, 3.0), input_size=4, hidden_size=16, seed=0
):
    """``gradient_flow`` of a tanh RNN cell and of LSTM cells over the same random sequence:
    {"tanh RNN": norms, "LSTM, forget bias 1": norms, ...}, one LSTM per forget-gate bias.

    All cells start from PyTorch's default (small) initial weights drawn from ``seed``; each LSTM
    gets the same weights, its forget gate's bias set to the given value (a bias of 1 is the usual
    trick that makes an LSTM keep its memory by default). The tanh RNN's gradient shrinks by a
    near-constant factor per step; the LSTM's by roughly its forget gate, sigmoid(bias).
    Float64, so the vanishing norms are measured, not rounded to zero.

    >>> from tinygrad_seq import viz
    >>> flows = viz.compare_gradient_flow(steps=30)
    >>> first = {name: norms[0] for name, norms in flows.items()}  # ||dL/dh_0||
    >>> bool(first["tanh RNN"] < first["LSTM, forget bias 1"] < first["LSTM, forget bias 3"])
    True
    """
    x = np.random.default_rng(seed).standard_normal((steps, 1, input_size))
    rnn = RNNCell(input_size, hidden_size, dtype=np.float64, seed=seed)
    flows = {"tanh RNN": gradient_flow(rnn, x)}
    for bias in forget_biases:
        lstm = LSTMCell(input_size, hidden_size, dtype=np.float64, seed=seed)
        h = hidden_size
        lstm.bias_ih._data[h : 2 * h] = bias  # gates are stacked i, f, g, o
        lstm.bias_hh._data[h : 2 * h] = 0.0
        flows[f"LSTM, forget bias {bias:g}"] = gradient_flow(lstm, x)
    return flows


def plot_gradient_flow(flows, *, ax=None, title=None):
    """Plot ||dL/dh_t|| against t on a log scale; ``flows`` is one array or {label: array}.
    Returns the matplotlib Figure (save it with ``fig.savefig("flow.png")``). The title and
    labels are shown as typed: a "$" is a dollar sign, not the start of math.

    >>> from tinygrad_seq import viz
    >>> fig = viz.plot_gradient_flow({"tanh RNN": [1e-6, 1e-3, 1.0]})
    >>> fig.axes[0].get_yscale()
    'log'
    """
    flows = flows if isinstance(flows, dict) else {"‖∂L/∂h_t‖": flows}
    if ax is None:
        fig = _figure()
        ax = fig.subplots()
    else:
        fig = ax.figure
    for label, norms in flows.items():
        norms = np.asarray(norms, dtype=np.float64)
        # a norm of exactly zero has no place on a log axis: it is left out, not faked
        t = np.arange(len(norms))
        keep = norms > 0
        ax.plot(t[keep], norms[keep], label=_literal(label), linewidth=2)
    ax.set_yscale("log")
    ax.set_xlabel("time step t  (the loss is computed at the last step)")
    ax.set_ylabel(r"$\Vert\partial L / \partial h_t\Vert$  (log scale)")
    ax.set_title(_literal(title) if title else "Gradient flowing back through time")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    ax.annotate(
        "← backward: from the last step to the first",
        xy=(0.98, 0.04),
        xycoords="axes fraction",
        ha="right",
        fontsize=9,
        color="#555555",
    )
    return fig


def _literal(text):
    """User text shown as typed: matplotlib reads "$...$" as math (and fails on bad math)."""
    return visible(text).replace("$", r"\$")


def _figure():
    """A matplotlib Figure made without pyplot: no global state, no window, no backend switch
    (savefig renders it with Agg); in a notebook pass ``ax=`` from your own plt.subplots()."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plot_gradient_flow needs matplotlib: pip install matplotlib "
            "(or pip install 'tinygrad_seq[demo]'); gradient_flow itself works without it"
        ) from None
    return Figure(figsize=(7.5, 4.2), layout="constrained")
