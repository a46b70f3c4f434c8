"""The drawing commands: ``graph`` (the computation graph of a recurrent layer unrolled over
time), ``explore`` (an HTML page stepping through its backward sweep) and ``flow`` (how the
gradient fades through time).
"""

import os
import sys

import numpy as np

from ..serialization import atomic_write
from .validate import (
    INSTALL_DEMO,
    MAX_NODES,
    SEED,
    CommandError,
    check_extension,
    check_writable,
    count_in,
    finite_float,
    naming_the_path,
    require_graphviz,
)

FLOW_FILE = "gradient_flow.png"

# --- graph ----------------------------------------------------------------------------------------

# what Graphviz's `dot` renders (gv and dot: the DOT text itself, which needs no Graphviz)
FORMATS = ("svg", "png", "jpg", "jpeg", "gif", "pdf", "ps", "eps", "gv", "dot")
SAME_FORMAT = {"jpeg": "jpg", "dot": "gv"}


def add_graph_parser(subparsers):
    p = subparsers.add_parser(
        "graph",
        help="draw the computation graph of a recurrent layer unrolled over time",
        description=(
            "Run a small RNN, LSTM or GRU over a random sequence, take loss = sum(output**2) and "
            "draw the graph that computed it: one cluster per layer, direction and time step, "
            "gates coloured by role, in the format -o's extension names (svg, png, jpg, pdf...). "
            "Rendering needs Graphviz's `dot`; gv or dot (the DOT text) does not."
        ),
    )
    _add_layer_options(p, steps=3, max_steps=1000)
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
    p.add_argument(
        "--rankdir",
        choices=("auto", "LR", "TB"),
        default="auto",
        help="auto: steps stacked top to bottom when every operation is drawn, cells left to "
        "right with --collapse cell (default auto)",
    )
    p.add_argument(
        "--max-nodes",
        type=MAX_NODES,
        default=200,
        help="draw at most this many boxes, 0 for no limit (default 200)",
    )
    p.add_argument(
        "--format", choices=FORMATS, help="output format (default: from -o's extension, else svg)"
    )
    p.add_argument("-o", "--output", help="file to write (default: <model>.<format>)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the weights and input")
    p.set_defaults(run=run_graph)


def run_graph(args):
    from .. import viz

    require_graphviz("graph")
    fmt, path = _format_and_path(args)
    check_writable(path, "-o")
    graph = draw_unrolled(
        args.model,
        _layer_sizes(args),
        collapse=None if args.collapse == "none" else "cell",
        show_grad=args.show_grad,
        show_data=args.show_data,
        rankdir=None if args.rankdir == "auto" else args.rankdir,
        max_nodes=args.max_nodes or None,
        draw_all_hint="pass --max-nodes 0 to draw all, or --collapse cell for fewer boxes",
    )
    try:
        with naming_the_path(path):
            viz.render(graph, path, format=fmt)
    except viz.GraphvizNotFoundError as e:
        source = os.path.splitext(path)[0] + ".gv"
        with naming_the_path(source):
            viz.render(graph, source)
        print(f"error: {e}\nwrote the DOT text to {source} instead", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _add_layer_options(p, steps, max_steps):
    """The options of the small recurrent layer that ``graph`` and ``explore`` run."""
    p.add_argument("--model", choices=("lstm", "gru", "rnn"), default="lstm")
    p.add_argument(
        "--steps",
        type=count_in(1, max_steps),
        default=steps,
        help=f"sequence length, 1 to {max_steps} (default {steps})",
    )
    p.add_argument("--input-size", type=count_in(1, 256), default=2, help="1 to 256 (default 2)")
    p.add_argument("--hidden-size", type=count_in(1, 256), default=3, help="1 to 256 (default 3)")
    p.add_argument(
        "--layers", type=count_in(1, 8), default=1, help="num_layers, 1 to 8 (default 1)"
    )
    p.add_argument(
        "--batch", type=count_in(1, 256), default=1, help="batch size, 1 to 256 (default 1)"
    )
    p.add_argument("--bidirectional", action="store_true")


def _layer_sizes(args):
    """``_add_layer_options``'s options (and ``--seed``) as ``unrolled_loss``'s keywords."""
    names = ("steps", "input_size", "hidden_size", "layers", "batch", "bidirectional", "seed")
    return {name: getattr(args, name) for name in names}


def draw_unrolled(kind, sizes, **draw):
    """The graph of ``unrolled_loss(kind, **sizes)``; ``draw`` holds viz.draw_graph's options
    (``show_grad``: run backward first)."""
    from .. import viz

    loss = unrolled_loss(kind, **sizes)
    if draw.get("show_grad"):
        loss.backward(keep_grads=True)
    return viz.draw_graph(loss, **draw)


def unrolled_loss(
    kind, *, steps, input_size, hidden_size, layers=1, batch=1, bidirectional=False, seed=0
):
    """loss = sum(output**2) for a random input through an RNN/LSTM/GRU layer held as `kind`."""
    from .. import Tensor, nn

    layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
    # a container, so parameters get dotted names, named as the layer's cluster: lstm.weight_ih_l0
    net = nn.Module()
    setattr(
        net, kind, layer(input_size, hidden_size, layers, bidirectional=bidirectional, seed=seed)
    )
    x = np.random.default_rng(seed).standard_normal((steps, batch, input_size)).astype(np.float32)
    x = Tensor(x, requires_grad=True).named("x")  # requires grad so the input is drawn too
    output, _ = getattr(net, kind)(x)
    return (output * output).sum().named("loss")


# --- explore --------------------------------------------------------------------------------------


def add_explore_parser(subparsers):
    p = subparsers.add_parser(
        "explore",
        help="write an HTML page that steps through backprop in a recurrent layer, op by op",
        description=(
            "Run a small RNN, LSTM or GRU over a random sequence, take loss = sum(output**2), run "
            "backward, and write one self-contained HTML page (no network: open it from disk) "
            "that steps through the backward sweep in the order the engine ran it, shows every "
            "node's value and gradient, and ||dL/dh_t||, ||dL/dc_t|| per time step. The drawing "
            "needs Graphviz's `dot`."
        ),
    )
    _add_layer_options(p, steps=6, max_steps=200)
    p.add_argument(
        "--collapse",
        choices=("auto", "none", "cell"),
        default="auto",
        help="the view shown first; auto: one box per cell for large graphs (default auto)",
    )
    p.add_argument(
        "--max-nodes",
        type=MAX_NODES,
        default=250,
        help="draw at most this many boxes per view, 0 for no limit (default 250)",
    )
    p.add_argument("-o", "--output", help="page to write (default: <model>_explorer.html)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the weights and input")
    p.set_defaults(run=run_explore)


def run_explore(args):
    from .. import keep_values, viz

    require_graphviz("explore")
    path = args.output or f"{args.model}_explorer.html"
    check_extension(path, ("html", "htm"), "-o", "the explorer (an HTML page)")
    check_writable(path, "-o")
    with keep_values():  # every node keeps its value, and the layer records op by op
        loss = unrolled_loss(args.model, **_layer_sizes(args))
    loss.backward(keep_grads=True)
    collapse = {"auto": "auto", "none": None, "cell": "cell"}[args.collapse]
    with naming_the_path(path):  # without `dot`, a page without a drawing and a warning
        viz.explore(
            loss,
            path,
            collapse=collapse,
            max_nodes=args.max_nodes or None,
            draw_all_hint="--max-nodes 0 draws all",
        )
    print(f"wrote {path}: open it in a browser (it works offline)")
    return 0


def _format_and_path(args):
    """(format, path) of ``graph``'s drawing: the format -o's extension names (else --format,
    else svg). An extension Graphviz is not asked to write, or one --format contradicts, is
    refused naming it: a .jpg must hold a JPEG, not SVG text."""
    ext = os.path.splitext(args.output or "")[1].lstrip(".").lower()
    if ext and ext not in FORMATS:
        raise CommandError(
            f"-o {args.output}: cannot draw a .{ext} file; name one of "
            f"{', '.join('.' + f for f in FORMATS)} (or no extension and --format)"
        )
    if (
        ext
        and args.format
        and SAME_FORMAT.get(ext, ext) != SAME_FORMAT.get(args.format, args.format)
    ):
        raise CommandError(
            f"-o {args.output} names the format {ext}, --format says {args.format}; "
            "drop one or make them agree"
        )
    fmt = args.format or ext or "svg"
    return fmt, args.output or f"{args.model}.{fmt}"


# --- flow -----------------------------------------------------------------------------------------


def add_flow_parser(subparsers):
    p = subparsers.add_parser(
        "flow",
        help="plot how the gradient fades through time in a tanh RNN and in LSTMs",
        description=(
            "Measure ||dL/dh_t|| for every step t of a tanh RNN cell and of LSTM cells (one per "
            "forget-gate bias) over the same random sequence, the loss at the last step, and plot "
            "it on a log scale (needs matplotlib)."
        ),
    )
    p.add_argument(
        "--steps", type=count_in(1, 10_000), default=100, help="1 to 10000 (default 100)"
    )
    p.add_argument(
        "--hidden-size", type=count_in(1, 1024), default=16, help="1 to 1024 (default 16)"
    )
    p.add_argument(
        "--forget-biases", type=finite_float, nargs="+", default=[1.0, 3.0], help="default 1 3"
    )
    p.add_argument("-o", "--output", default=FLOW_FILE, help="image to write (default %(default)s)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the weights and input")
    p.set_defaults(run=run_flow)


def run_flow(args):
    formats = _image_formats()
    if formats is not None:
        check_extension(args.output, formats, "-o", "the plot")
    check_writable(args.output, "-o")
    path = write_flow(
        args.output, args.steps, args.seed, args.hidden_size, tuple(args.forget_biases)
    )
    return 0 if path is not None else 1


def _image_formats():
    """The extensions matplotlib can save a figure as (png, pdf, svg...); None without it."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # said later, when the plot is due
        return None
    return tuple(sorted(Figure().canvas.get_supported_filetypes()))


def write_flow(path, steps, seed, hidden_size=16, forget_biases=(1.0, 3.0)):
    """Measure and plot the gradient flow; print how much reaches t=0. None without matplotlib."""
    from .. import viz

    flows = viz.compare_gradient_flow(
        steps, forget_biases=forget_biases, hidden_size=hidden_size, seed=seed
    )
    reached = "; ".join(f"{name}: {norms[0]:.1e}" for name, norms in flows.items())
    print(f"||dL/dh_0||, the gradient reaching t=0 from the loss at t={steps - 1}: {reached}")
    try:
        figure = viz.plot_gradient_flow(flows)
    except ImportError:
        print(f"matplotlib is not installed, so there is no plot; get it with: {INSTALL_DEMO}")
        return None
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    with naming_the_path(path), atomic_write(path) as f:
        figure.savefig(f, format=fmt, dpi=120)
    print(f"wrote {path}")
    return path
