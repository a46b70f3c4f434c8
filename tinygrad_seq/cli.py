"""The command line: ``python -m tinygrad_seq <command> ...`` (also installed as ``tinygrad-seq``).

A thin front end over the library: each subcommand is one ``add_<name>_parser`` function that
declares its options and one ``run_<name>`` function that does the work and returns an exit
code. Adding a command means writing those two and listing the first in ``COMMANDS``.
Training runs and the rules that protect checkpoints on disk are ``train.py``'s (the model
and its training loop ``charlm.py``'s); this module turns options into their arguments, and
their results and refusals into lines.

    python -m tinygrad_seq demo          # about 30 s: train, sample, draw the graph and flow
    python -m tinygrad_seq train --text poems.txt --steps 3000 --out poems.npz
    python -m tinygrad_seq sample --checkpoint poems.npz --prompt "The " --temperature 0.7
    python -m tinygrad_seq graph --model lstm --steps 3 -o lstm.svg
    python -m tinygrad_seq graph --model gru --layers 2 --bidirectional --collapse cell -o gru.png
    python -m tinygrad_seq explore --model lstm --steps 6 -o lstm.html
    python -m tinygrad_seq flow --steps 200 -o flow.png
"""

import argparse
import contextlib
import math
import os
import sys

import numpy as np

from ._threads import limit_blas_threads
from .serialization import atomic_write

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
    from . import viz

    fmt, path = _format_and_path(args)
    _check_writable(path, "-o")
    graph = _draw_unrolled(
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
        with _naming_the_path(path):
            viz.render(graph, path, format=fmt)
    except viz.GraphvizNotFoundError as e:
        source = os.path.splitext(path)[0] + ".gv"
        with _naming_the_path(source):
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
        type=_count_in(1, max_steps),
        default=steps,
        help=f"sequence length, 1 to {max_steps} (default {steps})",
    )
    p.add_argument("--input-size", type=_count_in(1, 256), default=2, help="1 to 256 (default 2)")
    p.add_argument("--hidden-size", type=_count_in(1, 256), default=3, help="1 to 256 (default 3)")
    p.add_argument(
        "--layers", type=_count_in(1, 8), default=1, help="num_layers, 1 to 8 (default 1)"
    )
    p.add_argument(
        "--batch", type=_count_in(1, 256), default=1, help="batch size, 1 to 256 (default 1)"
    )
    p.add_argument("--bidirectional", action="store_true")


def _layer_sizes(args):
    """``_add_layer_options``'s options (and ``--seed``) as ``_unrolled_loss``'s keywords."""
    names = ("steps", "input_size", "hidden_size", "layers", "batch", "bidirectional", "seed")
    return {name: getattr(args, name) for name in names}


def _draw_unrolled(kind, sizes, **draw):
    """The graph of ``_unrolled_loss(kind, **sizes)``; ``draw`` holds viz.draw_graph's options
    (``show_grad``: run backward first)."""
    from . import viz

    loss = _unrolled_loss(kind, **sizes)
    if draw.get("show_grad"):
        loss.backward(keep_grads=True)
    return viz.draw_graph(loss, **draw)


def _unrolled_loss(
    kind, *, steps, input_size, hidden_size, layers=1, batch=1, bidirectional=False, seed=0
):
    """loss = sum(output**2) for a random input through an RNN/LSTM/GRU layer held as `kind`."""
    from . import Tensor, nn

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
    from . import keep_values, viz

    path = args.output or f"{args.model}_explorer.html"
    _check_extension(path, ("html", "htm"), "-o", "the explorer (an HTML page)")
    _check_writable(path, "-o")
    with keep_values():  # every node keeps its value, and the layer records op by op
        loss = _unrolled_loss(args.model, **_layer_sizes(args))
    loss.backward(keep_grads=True)
    collapse = {"auto": "auto", "none": None, "cell": "cell"}[args.collapse]
    with _naming_the_path(path):  # without `dot`, a page without a drawing and a warning
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


def _check_extension(path, allowed, option, what):
    """A CommandError unless ``path``'s extension (lower case, without the dot) is in
    ``allowed``: the file's name must not promise another format than what is written."""
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in allowed:
        named = f"a .{ext} file" if ext else "a file without an extension"
        raise CommandError(
            f"{option} {path}: {what} cannot be written as {named}; name one of "
            f"{', '.join('.' + a for a in allowed)}"
        )


def _count_in(low, high):
    """An argparse type: an integer from ``low`` to ``high``, else one line naming the range.
    Every size has an upper bound, so that a typo such as ``--steps 99999999999999999999`` is
    refused here, naming the option, rather than deep inside NumPy."""

    def integer(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer from {low} to {high}, got {text}")
        return value

    return integer


SEED = _count_in(0, 2**32 - 1)  # NumPy's legacy seeds' range (default_rng refuses negatives)
MAX_NODES = _count_in(0, 100_000)


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _non_negative_float(text):
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or a positive number, got {text}")
    return value


def _fraction(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text}")
    return value


# --- demo -----------------------------------------------------------------------------------------

GRAPH_FILE, FLOW_FILE, CHECKPOINT_FILE = "lstm_graph.svg", "gradient_flow.png", "charlm.npz"
EXPLORER_FILE = "lstm_explorer.html"
INSTALL_GRAPHVIZ = (
    "apt install graphviz | brew install graphviz | conda install graphviz | "
    "winget install graphviz"
)
INSTALL_DEMO = 'pip install "tinygrad_seq[demo]"'
# The demo's sample starts inside a method: from "def " alone the untrained state gives the model
# little to go on, and it often ran into a line of spaces.
DEMO_PROMPT = "    def __init__(self"


def add_demo_parser(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="train a character-level LSTM (about 30 s), draw its graph and gradient flow",
        description=(
            "Train a character-level LSTM language model on the Python standard library's own "
            "source code (no download; --text FILE for any other text), printing generated text "
            "and the held-out loss before and after; then write the graph of a 3-step LSTM, a "
            "gradient-flow plot (tanh RNN vs LSTM), a page that steps through backprop in a "
            "6-step LSTM (open it in a browser) and the model's checkpoint into --out. "
            "With the defaults it takes about 30 seconds on a quiet 2-core machine, start to end. "
            "Ctrl-C while training saves the checkpoint and stops. " + _KEEP_CHECKPOINTS
        ),
    )
    _add_data_options(p)
    _add_model_options(p)
    _add_training_options(p)
    _add_sampling_options(p, default=f"{DEMO_PROMPT!r} (if the text has those characters)")
    p.add_argument("--out", default="tinygrad_seq_demo", metavar="DIR", help="(%(default)s)")
    p.set_defaults(run=run_demo)


def run_demo(args):
    import time

    started = time.perf_counter()
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        raise CommandError(f"--out {args.out}: cannot make this folder: {e.strerror}") from None
    checkpoint = os.path.join(args.out, CHECKPOINT_FILE)
    graph_text = os.path.splitext(GRAPH_FILE)[0] + ".gv"
    for name in (CHECKPOINT_FILE, GRAPH_FILE, graph_text, FLOW_FILE, EXPLORER_FILE):
        _check_writable(os.path.join(args.out, name), "--out")
    floor = _checkpoint_floor(checkpoint, args.steps, args.overwrite, "--out")
    like = "Python" if args.text is None else f"like {os.path.basename(args.text)}"
    print(f"1. A character-level {args.model.upper()} learns to write {like}")
    vocab, train_ids, val_ids = _load_data(args)
    args.prompt = _prompt(args.prompt, vocab, preferred=DEMO_PROMPT)
    model, config = _new_model(args, len(vocab)), _train_config(args)
    before = _evaluate_and_sample(model, vocab, val_ids, config, args, "before training")
    result = _fit(model, vocab, train_ids, val_ids, config, checkpoint, args.save_every, floor)
    if result.interrupted:
        return 130
    after = _evaluate_and_sample(model, vocab, val_ids, config, args, "after training")
    print("\n2. Pictures of what happens inside")
    graph = _write_demo_graph(args.out)
    flow = _write_flow(os.path.join(args.out, FLOW_FILE), steps=100, seed=args.seed)
    explorer = _write_demo_explorer(os.path.join(args.out, EXPLORER_FILE), args.seed)
    print(f"\nSummary ({time.perf_counter() - started:.1f} s)")
    print(
        f"  held-out: {before['bpc']:.2f} -> {after['bpc']:.2f} bits per character "
        f"({before['loss']:.3f} -> {after['loss']:.3f} nats) in {result.step} steps"
    )
    _print_files(args.out, checkpoint, graph, flow, explorer, args.text is None)
    return 0


def _write_demo_graph(folder):
    """Every operation of a 3-step LSTM with its gradients, as SVG (or DOT text without `dot`)."""
    from . import viz

    graph = _draw_unrolled("lstm", dict(steps=3, input_size=2, hidden_size=3), show_grad=True)
    path = os.path.join(folder, GRAPH_FILE)
    try:
        viz.render(graph, path)
        print(f"wrote {path}")
        return path
    except viz.GraphvizNotFoundError:
        source = viz.render(graph, os.path.splitext(path)[0] + ".gv")
        print(
            f"Graphviz's `dot` is not installed: saved the graph as DOT text, {source}; to draw "
            f"it install Graphviz ({INSTALL_GRAPHVIZ}) and run: dot -Tsvg {source} -o {path}"
        )
        return source


def _write_demo_explorer(path, seed):
    """The page that steps through backprop in a 6-step LSTM (``viz.explore``), op by op."""
    import warnings

    from . import keep_values, viz

    with keep_values():  # every node keeps its value, and the layer records op by op
        loss = _unrolled_loss("lstm", steps=6, input_size=2, hidden_size=3, seed=seed)
    loss.backward(keep_grads=True)
    with warnings.catch_warnings():  # without `dot`: said once, by the graph above
        warnings.simplefilter("ignore")
        viz.explore(loss, path)
    print(f"wrote {path}")
    return path


def _print_files(folder, checkpoint, graph, flow, explorer, on_python):
    print(f"  files in {folder}{os.sep}")
    print(f"    {os.path.basename(checkpoint):<20} the trained model; more text from it:")
    prompt = ' --prompt "class "' if on_python else ""
    print(f"{'':27}python -m tinygrad_seq sample --checkpoint {checkpoint}{prompt}")
    what = "open it in a browser" if graph.endswith(".svg") else "DOT text"
    print(f"    {os.path.basename(graph):<20} every operation of a 3-step LSTM ({what})")
    if flow is not None:
        print(f"    {os.path.basename(flow):<20} how the gradient fades through time")
    print(f"    {os.path.basename(explorer):<20} step through backprop (open in a browser)")
    print(
        "  read next: docs/autodiff.md (how backward works), docs/lstm.md (the LSTM, gate by "
        "gate), examples/ (examples/char_lm.py has every knob of this demo)"
    )


# --- train ----------------------------------------------------------------------------------------


def add_train_parser(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train a character-level language model and save a checkpoint",
        description=(
            "Train a character-level RNN/LSTM/GRU language model with truncated backpropagation "
            "through time (Adam, gradient clipping), reporting the held-out loss in bits per "
            "character; save weights, vocabulary, hyperparameters and optimizer state to --out "
            "every --save-every steps, at the end and on Ctrl-C. The weights with the best "
            "held-out loss so far are saved beside it, m.npz -> m_best.npz, at each new best (as "
            "PyTorch's ImageNet example keeps model_best.pth.tar beside checkpoint.pth.tar): on a "
            "small text the held-out loss turns back up while the training loss still falls "
            "(the model learns the text by heart), and a line says so; --patience stops there. "
            "Sample from either with the `sample` command. " + _KEEP_CHECKPOINTS
        ),
    )
    _add_data_options(p)
    _add_model_options(p)
    _add_training_options(p)
    p.add_argument(
        "--out",
        default=CHECKPOINT_FILE,
        metavar="CKPT",
        help="checkpoint of the last step to write; the best goes to CKPT_best.npz (%(default)s)",
    )
    p.set_defaults(run=run_train)


def run_train(args):
    from . import train

    best_path = train.best_checkpoint_path(args.out)
    _check_writable(args.out, "--out")
    _check_writable(best_path, "--out's best checkpoint")
    floor = _checkpoint_floor(args.out, args.steps, args.overwrite, "--out")
    _check_replaceable(best_path, args.overwrite)
    vocab, train_ids, val_ids = _load_data(args)
    model, config = _new_model(args, len(vocab)), _train_config(args)
    result = _fit(
        model, vocab, train_ids, val_ids, config, args.out, args.save_every, floor, best_path
    )
    if result.interrupted:
        return 130
    if result.stopped_early:
        print(
            f"stopped early at step {result.step}: the held-out loss has not improved for "
            f"--patience {args.patience} evaluations"
        )
    last, best = result.evals[-1], result.best
    print(f"held-out after {result.step} steps: {last['bpc']:.3f} bits per character")
    print(f"best held-out: {best['bpc']:.3f} bits per character, at step {best['step']}")
    print(f"saved {args.out} (the last step, optimizer state included) and {best_path} (the best)")
    print(f"sample from the best: python -m tinygrad_seq sample --checkpoint {best_path}")
    return 0


def _check_replaceable(path, overwrite):
    """``train.check_replaceable`` as a CommandError: the best checkpoint must not replace a file
    of the user's that happens to have its name."""
    from . import train

    try:
        train.check_replaceable(path, overwrite)
    except train.ExistingCheckpoint:
        raise CommandError(
            f"{path} (where --out's best checkpoint goes) exists and is not a checkpoint this "
            "command can read; pass --overwrite to replace it, or choose another --out"
        ) from None


# --- sample ---------------------------------------------------------------------------------------


def add_sample_parser(subparsers):
    p = subparsers.add_parser(
        "sample",
        help="generate text from a trained checkpoint",
        description="Continue --prompt with text generated one character at a time.",
    )
    p.add_argument(
        "--checkpoint", required=True, metavar="CKPT", help="written by `train` or `demo`"
    )
    _add_sampling_options(p, default="a newline")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the sampling (default 0)")
    p.set_defaults(run=run_sample)


def run_sample(args):
    from . import charlm

    ckpt = _read_checkpoint(args.checkpoint, "--checkpoint")
    try:
        prompt = _prompt(args.prompt, ckpt.vocab, preferred="\n")
        text = charlm.sample(
            ckpt.model, ckpt.vocab, prompt, args.length, args.temperature, args.seed
        )
    except (OSError, ValueError) as e:
        raise CommandError(str(e)) from None
    print(text)
    return 0


def _read_checkpoint(path, option):
    """``charlm.load_checkpoint(path)``; what stops it as a CommandError naming ``option`` and
    ``path`` in the user's words (a folder, no such file), not as an OS error number."""
    from . import charlm

    if os.path.isdir(path):
        raise CommandError(f"{option} {path}: is a folder; give the checkpoint file inside it")
    if not os.path.exists(path):
        raise CommandError(
            f"{option} {path}: no such file; `train --out` or `demo --out` writes checkpoints"
        )
    try:
        return charlm.load_checkpoint(path)
    except ValueError as e:
        raise CommandError(str(e)) from None
    except OSError as e:
        raise CommandError(f"{option} {path}: cannot read it: {e.strerror or e}") from None


def _prompt(prompt, vocab, preferred):
    """The user's prompt; else ``preferred`` if the vocabulary can spell it; else its first char."""
    if prompt is not None:
        return prompt
    return preferred if all(c in vocab for c in preferred) else vocab.chars[0]


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
        "--steps", type=_count_in(1, 10_000), default=100, help="1 to 10000 (default 100)"
    )
    p.add_argument(
        "--hidden-size", type=_count_in(1, 1024), default=16, help="1 to 1024 (default 16)"
    )
    p.add_argument(
        "--forget-biases", type=_finite_float, nargs="+", default=[1.0, 3.0], help="default 1 3"
    )
    p.add_argument("-o", "--output", default=FLOW_FILE, help="image to write (default %(default)s)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the weights and input")
    p.set_defaults(run=run_flow)


def run_flow(args):
    formats = _image_formats()
    if formats is not None:
        _check_extension(args.output, formats, "-o", "the plot")
    _check_writable(args.output, "-o")
    path = _write_flow(
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


def _write_flow(path, steps, seed, hidden_size=16, forget_biases=(1.0, 3.0)):
    """Measure and plot the gradient flow; print how much reaches t=0. None without matplotlib."""
    from . import viz

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
    with _naming_the_path(path), atomic_write(path) as f:
        figure.savefig(f, format=fmt, dpi=120)
    print(f"wrote {path}")
    return path


# --- shared by demo, train and sample -------------------------------------------------------------


class CommandError(Exception):
    """A problem with the user's input (a file, an option): main prints it, without a traceback."""


def _add_data_options(p):
    p.add_argument(
        "--text",
        metavar="FILE",
        help="UTF-8 text to learn (default: the Python standard library's source, no download)",
    )
    p.add_argument(
        "--chars",
        type=_count_in(1, 10**9),
        default=1_000_000,
        metavar="N",
        help="use at most N (1000000)",
    )


def _add_model_options(p):
    p.add_argument(
        "--model", choices=("lstm", "gru", "rnn"), default="lstm", help="recurrent layer (lstm)"
    )
    p.add_argument(
        "--layers", type=_count_in(1, 16), default=1, metavar="N", help="num_layers, to 16 (1)"
    )
    p.add_argument(
        "--hidden", type=_count_in(1, 4096), default=128, metavar="N", help="hidden_size (128)"
    )
    p.add_argument(
        "--emb", type=_count_in(1, 4096), default=32, metavar="N", help="embedding_dim (32)"
    )
    p.add_argument(
        "--dropout", type=_fraction, default=0.0, metavar="P", help="on the recurrent output (0)"
    )


def _add_training_options(p):
    p.add_argument(
        "--steps", type=_count_in(1, 10**7), default=1500, metavar="N", help="updates (1500)"
    )
    p.add_argument(
        "--batch", type=_count_in(1, 4096), default=32, metavar="N", help="sequences per batch (32)"
    )
    p.add_argument(
        "--seq-len",
        type=_count_in(1, 10_000),
        default=32,
        metavar="N",
        help="characters per window (32)",
    )
    p.add_argument(
        "--lr", type=_positive_float, default=0.01, help="Adam's lr, cosine-decayed (0.01)"
    )
    p.add_argument(
        "--clip", type=_non_negative_float, default=1.0, help="max gradient norm, 0: off (1.0)"
    )
    p.add_argument(
        "--eval-every",
        type=_count_in(1, 10**7),
        default=100,
        metavar="N",
        help="evaluate every N steps (100)",
    )
    p.add_argument(
        "--eval-chars",
        type=_count_in(1, 10**9),
        default=20_000,
        metavar="N",
        help="held-out chars scored, and as many of the training text (20000)",
    )
    p.add_argument("--seed", type=SEED, default=0, help="of the weights and samples (0)")
    p.add_argument(
        "--save-every",
        type=_count_in(0, 10**7),
        default=100,
        metavar="N",
        help="also save the checkpoint every N steps, so that a run that dies keeps its "
        "progress; 0: only at the end and on Ctrl-C (100)",
    )
    p.add_argument(
        "--patience",
        type=_count_in(1, 10**6),
        metavar="N",
        help="stop early once N evaluations in a row have not improved on the best held-out "
        "loss (default: train all --steps)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing checkpoint even if it has more steps than this run",
    )


# At 0.6 the demo's model ran into a line of 30+ spaces in about a third of its samples, at 0.7
# in about a sixth (12 seeds, 300 characters): lower temperatures favour the likeliest character,
# and inside indentation that is one more space.
SAMPLING_TEMPERATURE = 0.7


def _add_sampling_options(p, default):
    p.add_argument("--prompt", help=f"text to continue (default {default})")
    p.add_argument(
        "--length", type=_count_in(0, 10**6), default=300, metavar="N", help="characters (300)"
    )
    p.add_argument(
        "--temperature",
        type=_non_negative_float,
        default=SAMPLING_TEMPERATURE,
        metavar="T",
        help=f"0: greedy; tiny values approach greedy ({SAMPLING_TEMPERATURE})",
    )


def _load_data(args):
    """(vocab, train ids, held-out ids) from --text or the stdlib corpus, checked to be usable."""
    import math

    from . import charlm

    try:
        vocab, train_ids, val_ids = charlm.prepare(charlm.load_text(args.text, args.chars))
    except (OSError, ValueError) as e:
        raise CommandError(str(e)) from None
    needed = args.batch * args.seq_len + 1
    if len(train_ids) < needed or len(val_ids) < 2:
        raise CommandError(
            f"the training text has {len(train_ids)} characters, too few for one batch of "
            f"--batch {args.batch} x --seq-len {args.seq_len} (needs {needed}); use a longer "
            "--text or smaller --batch / --seq-len"
        )
    source = args.text or "the Python standard library's own source code"
    print(
        f"text: {source}: {len(train_ids) + len(val_ids):,} characters, {len(vocab)} distinct "
        f"(guessing uniformly scores log2({len(vocab)}) = {math.log2(len(vocab)):.2f} bits per "
        f"character); {len(val_ids):,} held out"
    )
    return vocab, train_ids, val_ids


def _new_model(args, vocab_size):
    from . import charlm

    model = charlm.CharLM(
        vocab_size, args.emb, args.hidden, args.layers, args.model, args.dropout, seed=args.seed
    )
    print(f"model: {model.kind.upper()} {args.layers}x{args.hidden}, {_count(model):,} parameters")
    return model


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _train_config(args):
    from . import charlm

    return charlm.TrainConfig(
        steps=args.steps,
        batch_size=args.batch,
        seq_len=args.seq_len,
        lr=args.lr,
        clip=args.clip or None,
        eval_every=args.eval_every,
        eval_chars=args.eval_chars,
        patience=args.patience,
    )


def _evaluate_and_sample(model, vocab, val_ids, config, args, when):
    """Print the held-out loss and a sample (``train.evaluate_and_sample``); return the scores."""
    from . import train

    try:
        scores, text = train.evaluate_and_sample(
            model, vocab, val_ids, config, args.prompt, args.length, args.temperature, args.seed
        )
    except ValueError as e:  # a prompt character the text never contains
        raise CommandError(f"--prompt: {e}") from None
    print(f"\nheld-out loss {when}: {scores['loss']:.3f} nats = {scores['bpc']:.2f} bits per char")
    rule = "-" * 24
    print(f"{rule} sample {when} (temperature {args.temperature:g}) {rule}\n{text}\n{rule * 3}")
    return scores


def _fit(model, vocab, train_ids, val_ids, config, path, save_every, floor, best_path=None):
    """``train.fit`` (which saves the checkpoints) with a progress bar, a line per evaluation,
    and a word on what was saved when it stops short."""
    from . import train

    print(_evaluations_said(config))
    progress = _Progress(config.steps, config.eval_every)
    seen = []  # the evaluations, for their lines

    def report(step, loss, scores):
        progress(step, loss, scores)
        if scores is not None:
            progress.write(_evaluation_line(scores, seen))

    try:
        result, saved = train.fit(
            model,
            vocab,
            train_ids,
            val_ids,
            config,
            path,
            save_every=save_every,
            floor=floor,
            best_path=best_path,
            callback=report,
        )
    finally:
        progress.close()
    if result.stopped_early and saved != result.step:
        raise CommandError(
            f"stopped early at step {result.step} (--patience {config.patience}), short of the "
            f"{floor} steps of the checkpoint already at {path}: nothing saved, it is kept; "
            "--overwrite replaces it"
        )
    if not result.interrupted:
        return result
    if saved == result.step:
        print(f"\ninterrupted at step {result.step}: saved the model to {path}", file=sys.stderr)
    else:
        kept = f"{path} keeps its checkpoint of {floor} steps" if floor else f"{path} not written"
        print(f"\ninterrupted at step {result.step}: nothing saved, {kept}", file=sys.stderr)
    return result


def _evaluation_line(scores, earlier):
    """One line for an evaluation: the held-out and training text's bits per character, both of
    the current weights scored the same way on as many characters (``charlm.train``'s
    "train_text_bpc": the mean loss of the steps since the last evaluation was no match, it was
    always higher), and a warning when the held-out loss rose since then while the training
    text's fell and is now below it: the model is learning its training text by heart.
    ``earlier`` collects the evaluations seen."""
    bpc = {e["step"]: (e["bpc"], e["train_text_bpc"]) for e in [*earlier, scores]}
    best = min(bpc, key=lambda step: bpc[step][0])
    line = f"step {scores['step']}: held-out {scores['bpc']:.3f} bpc " + (
        "(best so far)" if scores["best"] else f"(best {bpc[best][0]:.3f} at step {best})"
    )
    line += f", training text {bpc[scores['step']][1]:.3f} bpc"
    if earlier:
        (held_before, train_before), (held, train) = bpc[earlier[-1]["step"]], bpc[scores["step"]]
        if held > held_before and train < train_before and train < held:
            line += (
                f"\noverfitting: held-out got worse ({held_before:.3f} -> {held:.3f} bpc) while "
                f"the training text improved ({train_before:.3f} -> {train:.3f} bpc, better than "
                f"held-out); the best weights so far are those of step {best}"
            )
    earlier.append(scores)
    return line


def _evaluations_said(config):
    """The line before training that says what each evaluation line measures."""
    return (
        f"every {config.eval_every} steps: bits per character (bpc) of the current weights on "
        "the held-out text and, scored the same way, on as many characters of the training text "
        "(those just before it); training text well below held-out: the model is learning its "
        "text by heart"
    )


_KEEP_CHECKPOINTS = (
    "An existing checkpoint is only replaced by one with at least as many completed steps (a "
    "run that cannot reach them stops at once; one stopped early short of them saves nothing), "
    "unless --overwrite is given; a run interrupted before its first step completes saves "
    "nothing."
)


def _checkpoint_floor(path, steps, overwrite, option):
    """``train.checkpoint_floor`` (the steps this run must reach before replacing the checkpoint
    at ``path``), its refusals as CommandErrors naming ``option``, and a note if it must wait."""
    from . import train

    try:
        existing = train.checkpoint_floor(path, steps, overwrite)
    except train.ExistingCheckpoint as e:
        if e.steps is None:
            raise CommandError(
                f"{option} {path} exists and is not a checkpoint this command can read; pass "
                "--overwrite to replace it, or choose another path"
            ) from None
        raise CommandError(
            f"{option} {path} holds a checkpoint trained for {e.steps} steps, more than --steps "
            f"{steps} reaches; pass --overwrite to replace it, or choose another path"
        ) from None
    if existing:
        print(
            f"note: {path} holds a checkpoint trained for {existing} steps; this run replaces it "
            "once it has completed as many (--overwrite: at its first save)"
        )
    return existing


def _check_writable(path, option):
    """A CommandError naming ``path`` unless a file can be written there: not a folder, in an
    existing, writable folder. Checked before any work, so that no work is lost at the end."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CommandError(f"{option} {path}: is a folder; give a file name")
    if not os.path.isdir(folder):
        raise CommandError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CommandError(f"{option} {path}: cannot write into the folder {folder}")


@contextlib.contextmanager
def _naming_the_path(path):
    """An OSError while writing ``path`` (disk full, a folder removed meanwhile) as one line."""
    try:
        yield
    except OSError as e:
        raise CommandError(f"cannot write {path}: {e.strerror or e}") from None


class _Progress:
    """Progress over the training steps, in bits per character as the evaluation lines are. On
    a terminal, a tqdm bar; in a log (stdout or stderr not a terminal: piped, redirected) or
    without tqdm, a plain line every tenth of the way, unless the evaluation lines already come
    at least that often (a bar redrawn with \\r would fill a log with partial lines)."""

    def __init__(self, total, eval_every):
        self.total, self.every, self.bpc = total, max(1, total // 10), None
        self.plain_lines = eval_every > self.every
        self.bar = None
        if _on_a_terminal():
            try:
                from tqdm import tqdm
            except ImportError:
                print(f"(no progress bar: tqdm is not installed; {INSTALL_DEMO})")
            else:
                self.bar = tqdm(total=total, desc="training", unit="step", dynamic_ncols=True)

    def __call__(self, step, loss, evaluation):
        if evaluation is not None:
            self.bpc = evaluation["bpc"]
        info = f"this step {loss / math.log(2):.2f} bpc"
        info += "" if self.bpc is None else f", held-out {self.bpc:.2f} bpc"
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(info, refresh=False)
        elif self.plain_lines and (step % self.every == 0 or step == self.total):
            print(f"step {step}/{self.total}: {info}", flush=True)

    def write(self, text):
        """Print ``text`` above the bar (or as is, without one)."""
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _on_a_terminal():
    """True if both stdout and stderr (where tqdm draws) are terminals."""
    try:
        return sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


# --- the parser -----------------------------------------------------------------------------------

COMMANDS = (
    add_demo_parser,
    add_train_parser,
    add_sample_parser,
    add_graph_parser,
    add_explore_parser,
    add_flow_parser,
)


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
    """Run the command line with ``argv`` (default: sys.argv[1:]); returns the exit code, an
    int, for every command and for ``--help`` (0) and bad options (2) too, where argparse would
    exit: a program that calls ``main`` gets the code back.

    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()) as out:
    ...     code = main([])
    >>> code, "graph" in out.getvalue()
    (2, True)
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0), or a bad option: argparse has printed why (2)
        return e.code if isinstance(e.code, int) else 2
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        with limit_blas_threads():
            return args.run(args)
    except CommandError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # outside training (which saves a checkpoint and returns itself)
        print("\ninterrupted", file=sys.stderr)
        return 130
    except MemoryError:  # each size is bounded, but several large ones together can still be
        print(
            "error: out of memory: the sizes asked for (steps, hidden size, batch, layers...) "
            "together need more than this machine has; make some of them smaller",
            file=sys.stderr,
        )
        return 1
