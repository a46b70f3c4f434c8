"""The command line: ``python -m tinygrad_seq <command> ...`` (also installed as ``tinygrad-seq``).

A thin front end over the library: each subcommand is one ``add_<name>_parser`` function that
declares its options and one ``run_<name>`` function that does the work and returns an exit
code. Adding a command means writing those two and listing the first in ``COMMANDS``.

    python -m tinygrad_seq graph --model lstm --steps 3 -o lstm.svg
    python -m tinygrad_seq graph --model gru --layers 2 --bidirectional --collapse cell -o gru.png
"""

import argparse
import os
import sys

import numpy as np

# --- graph ----------------------------------------------------------------------------------------

FORMATS = ("svg", "png", "pdf", "gv")


def add_graph_parser(subparsers):
    p = subparsers.add_parser(
        "graph",
        help="draw the computation graph of a recurrent layer unrolled over time",
        description=(
            "Run a small RNN, LSTM or GRU over a random sequence, take loss = sum(output**2) and "
            "draw the graph that computed it: one cluster per layer, direction and time step, "
            "gates coloured by role. Rendering svg/png/pdf needs Graphviz's `dot`; gv (the DOT "
            "text) does not."
        ),
    )
    p.add_argument("--model", choices=("lstm", "gru", "rnn"), default="lstm")
    p.add_argument("--steps", type=_positive, default=3, help="sequence length (default 3)")
    p.add_argument("--input-size", type=_positive, default=2, help="default 2")
    p.add_argument("--hidden-size", type=_positive, default=3, help="default 3")
    p.add_argument("--layers", type=_positive, default=1, help="num_layers (default 1)")
    p.add_argument("--batch", type=_positive, default=1, help="batch size (default 1)")
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument(
        "--collapse",
        choices=("none", "cell"),
        default="none",
        help="cell: one box per cell per time step, the unrolled diagram (default none)",
    )
    p.add_argument(
        "--show-grad",
        action="store_true",
        help="run backward(keep_grads=True) first and annotate gradients and backward order",
    )
    p.add_argument("--show-data", action="store_true", help="annotate value summaries")
    p.add_argument("--rankdir", choices=("LR", "TB"), default="LR", help="default LR")
    p.add_argument(
        "--max-nodes",
        type=_non_negative,
        default=200,
        help="draw at most this many boxes, 0 for no limit (default 200)",
    )
    p.add_argument(
        "--format", choices=FORMATS, help="output format (default: from -o's extension, else svg)"
    )
    p.add_argument("-o", "--output", help="file to write (default: <model>.<format>)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and input")
    p.set_defaults(run=run_graph)


def run_graph(args):
    from . import Tensor, nn, viz

    fmt, path = _format_and_path(args)
    layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[args.model]
    model = layer(
        args.input_size,
        args.hidden_size,
        num_layers=args.layers,
        bidirectional=args.bidirectional,
        seed=args.seed,
    )
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.steps, args.batch, args.input_size)).astype(np.float32)
    x = Tensor(x, requires_grad=True).named("x")  # requires grad so the input is drawn too
    net = nn.Module()  # a container, so parameters get dotted names: rnn.weight_ih_l0
    net.rnn = model
    output, _ = net.rnn(x)
    loss = (output * output).sum().named("loss")
    if args.show_grad:
        loss.backward(keep_grads=True)
    graph = viz.draw_graph(
        loss,
        collapse=None if args.collapse == "none" else "cell",
        show_data=args.show_data,
        show_grad=args.show_grad,
        rankdir=args.rankdir,
        max_nodes=args.max_nodes or None,
    )
    try:
        viz.render(graph, path, format=fmt)
    except viz.GraphvizNotFoundError as e:
        source = os.path.splitext(path)[0] + ".gv"
        viz.render(graph, source)
        print(f"error: {e}\nwrote the DOT text to {source} instead", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _format_and_path(args):
    ext = os.path.splitext(args.output or "")[1].lstrip(".").lower()
    fmt = args.format or (ext if ext in FORMATS or ext == "dot" else "svg")
    return ("gv" if fmt == "dot" else fmt), args.output or f"{args.model}.{fmt}"


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive integer, got {text}")
    return value


# --- the parser -----------------------------------------------------------------------------------

COMMANDS = (add_graph_parser,)


def build_parser():
    """The argparse parser with one subparser per command in ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="python -m tinygrad_seq",
        description="tinygrad_seq: autodiff on NumPy and the RNN, LSTM and GRU built on it.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="<command>")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv=None):
    """Run the command line with ``argv`` (default: sys.argv[1:]); returns the exit code.

    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()) as out:
    ...     code = main([])
    >>> code, "graph" in out.getvalue()
    (2, True)
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    return args.run(args)
