"""Vanishing gradients, measured: how much of the error signal reaches step t of a sequence?

A tanh RNN, LSTMs and GRUs read the same random sequence of T steps; the loss is taken at the last
step, and backward gives ||dL/dh_t|| for every step t (``viz.gradient_flow``: the engine's own
gradients, kept with ``retain_grad``). The tanh RNN's gradient shrinks by a near-constant factor
per step. The LSTM's cell state ``c_t = f * c_{t-1} + i * g`` passes the gradient back scaled by
the forget gate f, so it decays at the rate the forget-gate bias sets; the GRU's
``h_t = (1 - z) * n + z * h_{t-1}`` does the same with its update gate z, here given the same bias.
All cells start from PyTorch's default initial weights; float64, so tiny norms are measured, not
rounded to zero.

    python examples/gradient_flow.py                         # table + gradient_flow.png
    python examples/gradient_flow.py --steps 200 --gate-biases 1 2 4 -o flow.png
"""

import argparse
import sys

import numpy as np

from tinygrad_seq import nn, viz
from tinygrad_seq._threads import limit_blas_threads


def gru_flow(x, hidden_size, seed, update_bias=None):
    """||dL/dh_t|| of a GRU cell over ``x`` (T, batch, input_size), float64; ``update_bias``
    (if given) replaces the update gate's bias, as a forget-gate bias is set in an LSTM.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((10, 1, 4))
    >>> norms = gru_flow(x, 8, seed=0, update_bias=3.0)
    >>> norms.shape, bool(norms[0] < norms[-1])
    ((10,), True)
    """
    cell = nn.GRUCell(x.shape[-1], hidden_size, dtype=np.float64, seed=seed)
    if update_bias is not None:
        h = hidden_size
        cell.bias_ih.data[h : 2 * h] = update_bias  # gates are stacked r, z, n: rows H..2H are z
        cell.bias_hh.data[h : 2 * h] = 0.0
    return viz.gradient_flow(cell, x)


def all_flows(steps, gate_biases, input_size, hidden_size, seed):
    """{label: norms} for the tanh RNN, a GRU at its default initialisation, and an LSTM and a GRU
    for each gate bias (the LSTM's forget gate, the GRU's update gate)."""
    lstm_flows = viz.compare_gradient_flow(
        steps, forget_biases=gate_biases, input_size=input_size, hidden_size=hidden_size, seed=seed
    )
    # the same sequence compare_gradient_flow draws, so every model reads the same input
    x = np.random.default_rng(seed).standard_normal((steps, 1, input_size))
    flows = {"tanh RNN": lstm_flows.pop("tanh RNN")}
    flows["GRU (default init)"] = gru_flow(x, hidden_size, seed)
    for bias, (label, norms) in zip(gate_biases, lstm_flows.items()):
        flows[label] = norms
        flows[f"GRU, update bias {bias:g}"] = gru_flow(x, hidden_size, seed, update_bias=bias)
    return flows


def per_step_factor(norms):
    """The geometric-mean ratio ||dL/dh_t|| / ||dL/dh_{t+1}|| over the first three quarters of
    the sequence (the last steps, next to the loss, are not yet in the steady regime).

    >>> per_step_factor(np.array([0.125, 0.25, 0.5, 1.0, 2.0]))
    0.5
    """
    stop = max(2, (3 * len(norms)) // 4 + 1)
    first, last = norms[0], norms[stop - 1]
    return float((first / last) ** (1.0 / (stop - 1)))


def table(flows, at):
    """A text table: one row per model, ||dL/dh_t|| at the steps ``at``, and the per-step factor.

    >>> print(table({"tanh RNN": np.array([0.25, 0.5, 1.0])}, [0, 2]))
    | model    | t=0     | t=2     | per step |
    |:---------|--------:|--------:|---------:|
    | tanh RNN | 2.5e-01 | 1.0e+00 |     0.50 |
    """
    width = max(len("model"), *(len(k) for k in flows))
    header = ["model".ljust(width)] + [f"t={t}".ljust(7) for t in at] + ["per step"]
    lines = ["| " + " | ".join(header) + " |"]
    rule = [":" + "-" * (width + 1)] + ["-" * 8 + ":" for _ in at] + ["-" * 9 + ":"]
    lines.append("|" + "|".join(rule) + "|")
    for label, norms in flows.items():
        cells = [label.ljust(width)] + [f"{norms[t]:.1e}" for t in at]
        cells.append(f"{per_step_factor(norms):8.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pair_styles(ax):
    """Draw each GRU dashed, in the colour of the LSTM with the same gate bias, so the pairs read
    together; then redraw the legend with the new styles."""
    colours = {}
    for line in ax.get_lines():
        label = line.get_label()
        if label.startswith("LSTM"):
            colours[label.rsplit(" ", 1)[-1]] = line.get_color()
    for line in ax.get_lines():
        label = line.get_label()
        if label.startswith("GRU"):
            line.set_linestyle("--")
            bias = label.rsplit(" ", 1)[-1]
            if bias in colours:
                line.set_color(colours[bias])
    ax.legend()


def build_parser():
    p = argparse.ArgumentParser(
        description=(
            "Measure ||dL/dh_t|| (loss at the last step) for a tanh RNN, LSTMs and GRUs over one "
            "random sequence; print a table and plot it (log scale)."
        )
    )
    p.add_argument("--steps", type=int, default=100, help="sequence length T (default 100)")
    p.add_argument(
        "--gate-biases",
        type=float,
        nargs="+",
        default=[1.0, 3.0],
        help="initial forget-gate bias of the LSTM and update-gate bias of the GRU (default 1 3)",
    )
    p.add_argument("--input-size", type=int, default=4, help="(default %(default)s)")
    p.add_argument("--hidden-size", type=int, default=16, help="(default %(default)s)")
    p.add_argument(
        "--seed", type=int, default=0, help="of the weights and input (default %(default)s)"
    )
    p.add_argument(
        "-o",
        "--output",
        default="gradient_flow.png",
        help="the plot: PNG, SVG, PDF (default %(default)s)",
    )
    p.add_argument(
        "--no-plot", action="store_true", help="print the table only (default: also plot)"
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.steps < 2:
        raise SystemExit("gradient_flow: --steps must be at least 2")
    flows = all_flows(args.steps, args.gate_biases, args.input_size, args.hidden_size, args.seed)
    last = args.steps - 1
    at = sorted({0, last // 4, last // 2, (3 * last) // 4, last})
    print(
        f"||dL/dh_t|| with the loss at t={last} (sum of h_{last}); hidden size "
        f"{args.hidden_size}, seed {args.seed}\n"
    )
    print(table(flows, at))
    if args.no_plot:
        return 0
    try:
        fig = viz.plot_gradient_flow(
            flows, title=f"Gradient flowing back through {args.steps} steps"
        )
    except ImportError as e:
        print(f"\n{e}", file=sys.stderr)
        return 1
    pair_styles(fig.axes[0])
    fig.savefig(args.output, dpi=120)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    with limit_blas_threads():  # as the CLI does: see tinygrad_seq/_threads.py
        sys.exit(main())
