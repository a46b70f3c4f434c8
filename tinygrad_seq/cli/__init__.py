"""The command line: ``python -m tinygrad_seq <command> ...`` (also installed as ``tinygrad-seq``).

A thin front end over the library: each subcommand is one ``add_<name>_parser`` function that
declares its options and one ``run_<name>`` function that does the work and returns an exit
code. Adding a command means writing those two and listing the first in ``COMMANDS``.
The commands live by what they run: ``drawing.py`` (graph, explore, flow), ``charlm.py`` (train,
sample), ``demo.py`` (both); ``validate.py`` holds the argparse types and the checks of output
paths. Training runs and the rules that protect checkpoints on disk are ``tinygrad_seq.charlm``'s;
the commands turn options into their arguments, and their results and refusals into lines.

    python -m tinygrad_seq demo          # about 30 s: train, sample, draw the graph and flow
    python -m tinygrad_seq train --text poems.txt --steps 3000 --out poems.npz
    python -m tinygrad_seq sample --checkpoint poems.npz --prompt "The " --temperature 0.7
    python -m tinygrad_seq graph --model lstm --steps 3 -o lstm.svg
    python -m tinygrad_seq graph --model gru --layers 2 --bidirectional --collapse cell -o gru.png
    python -m tinygrad_seq explore --model lstm --steps 6 -o lstm.html
    python -m tinygrad_seq flow --steps 200 -o flow.png
"""

import argparse
import sys

from .._threads import limit_blas_threads
from .charlm import add_sample_parser, add_train_parser
from .demo import add_demo_parser
from .drawing import add_explore_parser, add_flow_parser, add_graph_parser
from .validate import CommandError

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
