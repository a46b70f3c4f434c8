"""What the command line checks before it works: argparse types with bounded ranges, output
paths that can be written, and ``CommandError``, the refusal ``main`` prints as one line.
"""

import argparse
import contextlib
import math
import os

from .. import serialization

# what to install, said where an optional dependency or program is missing
INSTALL_GRAPHVIZ = (
    "apt install graphviz | brew install graphviz | conda install graphviz | "
    "winget install graphviz"
)
INSTALL_DEMO = 'pip install "tinygrad_seq[demo]"'
INSTALL_VIZ = 'pip install "tinygrad_seq[viz]"'


class CommandError(Exception):
    """A problem with the user's input (a file, an option): main prints it, without a traceback."""


def count_in(low, high):
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


SEED = count_in(0, 2**32 - 1)  # NumPy's legacy seeds' range (default_rng refuses negatives)
MAX_NODES = count_in(0, 100_000)


def finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text):
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or a positive number, got {text}")
    return value


def fraction(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text}")
    return value


def check_extension(path, allowed, option, what):
    """A CommandError unless ``path``'s extension (lower case, without the dot) is in
    ``allowed``: the file's name must not promise another format than what is written."""
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in allowed:
        named = f"a .{ext} file" if ext else "a file without an extension"
        raise CommandError(
            f"{option} {path}: {what} cannot be written as {named}; name one of "
            f"{', '.join('.' + a for a in allowed)}"
        )


def check_writable(path, option):
    """``serialization.check_writable`` as a CommandError naming ``option``: a file can be written
    at ``path``. Checked before any work, so that no work is lost at the end."""
    try:
        serialization.check_writable(path, option)
    except OSError as e:
        raise CommandError(str(e)) from None


@contextlib.contextmanager
def naming_the_path(path):
    """An OSError while writing ``path`` (disk full, a folder removed meanwhile) as one line."""
    try:
        yield
    except OSError as e:
        raise CommandError(f"cannot write {path}: {e.strerror or e}") from None


def has_graphviz():
    """True if the graphviz Python package, which every drawing needs, can be imported (it is an
    optional dependency: the ``viz``, ``demo`` and ``test`` extras bring it)."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return True


def require_graphviz(command):
    """A CommandError saying how to install the graphviz Python package, unless it is there;
    checked before any work."""
    if not has_graphviz():
        raise CommandError(
            f"{command} draws with the graphviz Python package, which is not installed; get it "
            f"with: {INSTALL_VIZ}"
        )
