"""Datasets and batching utilities for character-level and sequence models.

This module depends only on NumPy and the Python standard library.  All randomness goes
through an explicit :class:`numpy.random.Generator` (or an integer seed that is turned into
one), so results are reproducible and the global NumPy random state is never touched.

Contents
--------
Text:
    :func:`stdlib_corpus`, :func:`read_text`, :class:`CharVocab`, :func:`train_val_split`
Batching:
    :func:`char_batches` (random windows), :func:`contiguous_batches` (truncated BPTT)
Synthetic / small benchmarks:
    :func:`adding_problem`, :func:`digits_sequences`

Example
-------
>>> from tinygrad_seq import data
>>> text = data.stdlib_corpus(max_chars=5_000)
>>> vocab = data.CharVocab.from_text(text)
>>> ids = vocab.encode(text)
>>> train, val = data.train_val_split(ids, val_fraction=0.1)
>>> x, y = next(data.char_batches(train, batch_size=4, seq_len=16, rng=0))
>>> x.shape, y.shape
((4, 16), (4, 16))
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterable, Iterator, Mapping
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CharVocab",
    "UnknownCharError",
    "adding_problem",
    "char_batches",
    "contiguous_batches",
    "digits_sequences",
    "read_text",
    "stdlib_corpus",
    "train_val_split",
]

# Directory names that are never descended into when collecting the stdlib corpus.
_SKIPPED_DIRS = frozenset(
    {
        "test",
        "tests",
        "idle_test",
        "idlelib",
        "site-packages",
        "dist-packages",
        "__pycache__",
        "lib-dynload",
    }
)


# --------------------------------------------------------------------------- helpers


def _as_generator(rng: np.random.Generator | int, name: str = "rng") -> np.random.Generator:
    """Return ``rng`` if it is a Generator, or a new Generator seeded with the integer ``rng``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be a numpy.random.Generator or an int seed, got {type(rng).__name__}; "
        "e.g. pass np.random.default_rng(0)"
    )


def _check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Validate that ``value`` is an integer >= ``minimum`` and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _as_id_stream(ids: Any, name: str = "ids") -> np.ndarray:
    """Convert ``ids`` to a 1-D int64 array, rejecting non-integer or multi-dimensional input."""
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of token ids, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must contain integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


# --------------------------------------------------------------------------- corpora


def stdlib_corpus(
    max_chars: int | None = 2_000_000,
    seed: np.random.Generator | int | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
) -> str:
    """Return Python source code from the running interpreter's standard library as one string.

    This is the built-in demo corpus: it is always available and needs no download.  The
    ``.py`` files below ``sysconfig.get_paths()["stdlib"]`` are collected, skipping test
    suites (``test/``, ``tests/``, ``idle_test/``), ``idlelib/``, ``site-packages`` and
    caches.  Files are read in sorted path order (or, if ``seed`` is given, in an order
    shuffled by that seed), decoded as UTF-8 with undecodable bytes replaced by U+FFFD,
    separated by newlines and concatenated until ``max_chars`` characters are collected.

    The result is deterministic for a given interpreter, ``max_chars`` and ``seed``.  Note
    that different Python versions ship different standard libraries, so the exact text (and
    therefore the vocabulary) can differ between interpreters.

    Args:
        max_chars: maximum length of the returned string (``None`` reads every file).
        seed: ``None`` for sorted file order, or an int / Generator to shuffle the file order.
        root: directory to read instead of the stdlib (mainly for testing).

    Raises:
        FileNotFoundError: if the directory does not exist or contains no ``.py`` files.

    >>> text = stdlib_corpus(max_chars=1_000)
    >>> len(text)
    1000
    >>> text == stdlib_corpus(max_chars=1_000)
    True
    """
    if max_chars is not None:
        max_chars = _check_positive_int(max_chars, "max_chars")
    base = Path(root) if root is not None else Path(sysconfig.get_paths()["stdlib"])
    if not base.is_dir():
        raise FileNotFoundError(f"standard library directory not found: {str(base)!r}")

    files: list[tuple[str, ...]] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [
            d for d in dirnames if d not in _SKIPPED_DIRS and not d.startswith("config-")
        ]
        rel_dir = Path(dirpath).relative_to(base).parts
        files.extend((*rel_dir, f) for f in filenames if f.endswith(".py"))
    if not files:
        raise FileNotFoundError(
            f"no .py files found under {str(base)!r}; cannot build the standard-library corpus"
        )
    files.sort()
    if seed is not None:
        order = _as_generator(seed, "seed").permutation(len(files))
        files = [files[i] for i in order]

    pieces: list[str] = []
    total = 0
    for parts in files:
        try:
            with open(base.joinpath(*parts), encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:  # unreadable file (permissions, broken link): skip it
            continue
        if not text:
            continue
        if not text.endswith("\n"):
            text += "\n"
        pieces.append(text)
        total += len(text)
        if max_chars is not None and total >= max_chars:
            break
    corpus = "".join(pieces)
    if not corpus:
        raise FileNotFoundError(f"all .py files under {str(base)!r} are empty or unreadable")
    return corpus if max_chars is None else corpus[:max_chars]


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 text file for training, with clear errors for unusable files.

    A leading byte-order mark is dropped and Windows / old Mac line endings are normalised
    to ``"\\n"``.

    Raises:
        FileNotFoundError: the path does not exist.
        IsADirectoryError: the path is a directory.
        ValueError: the file is empty, looks binary (contains NUL bytes) or is not UTF-8.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "poem.txt")
    ...     with open(p, "w", encoding="utf-8") as fh:
    ...         _ = fh.write("roses are red\\r\\n")
    ...     read_text(p)
    'roses are red\\n'
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"text file not found: {str(p)!r}")
    if p.is_dir():
        raise IsADirectoryError(f"expected a text file but got a directory: {str(p)!r}")
    raw = p.read_bytes()
    if not raw:
        raise ValueError(f"text file is empty: {str(p)!r}")
    if b"\x00" in raw:
        raise ValueError(f"file looks binary (contains NUL bytes), not text: {str(p)!r}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"file is not valid UTF-8 text (bad byte at offset {err.start}): {str(p)!r}"
        ) from err
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        raise ValueError(f"text file is empty: {str(p)!r}")
    return text


# --------------------------------------------------------------------------- vocabulary


class UnknownCharError(KeyError, ValueError):
    """Raised by :meth:`CharVocab.encode` for a character that is not in the vocabulary.

    It is both a ``KeyError`` and a ``ValueError``, so either can be caught.  The offending
    character is available as ``.char`` and its index in the input string as ``.position``.

    >>> vocab = CharVocab("ab")
    >>> try:
    ...     vocab.encode("abc")
    ... except UnknownCharError as err:
    ...     print(err.char, err.position)
    c 2
    """

    def __init__(self, message: str, char: str, position: int) -> None:
        super().__init__(message)
        self.char = char
        self.position = position

    def __str__(self) -> str:  # KeyError would otherwise show the message in quotes
        return str(self.args[0])


class CharVocab:
    """A character-level vocabulary mapping each character to an integer id.

    Ids follow the order of ``chars``: ``chars[i]`` has id ``i``.  Build one from a corpus
    with :meth:`from_text` (sorted unique characters) or directly from a string of distinct
    characters.  If ``unknown`` is given it must be one of ``chars``, and :meth:`encode` maps
    characters missing from the vocabulary to it instead of raising
    :class:`UnknownCharError`.

    The vocabulary is stored as plain strings by :meth:`to_dict` / :meth:`from_dict`, so it
    can go into a JSON file or an ``np.savez`` checkpoint without pickle.

    >>> vocab = CharVocab.from_text("hello")
    >>> vocab.chars, len(vocab)
    ('ehlo', 4)
    >>> vocab.encode("hole")
    array([1, 3, 2, 0])
    >>> vocab.decode([1, 0, 2, 2, 3])
    'hello'
    """

    def __init__(self, chars: str | Iterable[str], unknown: str | None = None) -> None:
        chars = list(chars)
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"vocabulary entries must be single characters, got {c!r}")
        if not chars:
            raise ValueError("a CharVocab needs at least one character")
        self._ids = {c: i for i, c in enumerate(chars)}
        if len(self._ids) < len(chars):  # a repeated character kept only its last id
            repeated = next(c for i, c in enumerate(chars) if self._ids[c] != i)
            raise ValueError(f"duplicate character {repeated!r} in vocabulary")
        if unknown is not None and unknown not in self._ids:
            raise ValueError(
                f"unknown={unknown!r} must be one of the vocabulary's characters; "
                "use CharVocab.from_text(text, unknown=...) to add it automatically"
            )
        self._chars, self._unknown = "".join(chars), unknown

    @classmethod
    def from_text(cls, text: str, unknown: str | None = None) -> CharVocab:
        """Build a vocabulary of the sorted distinct characters of ``text``.

        If ``unknown`` is given it is added to the vocabulary (when not already present) and
        used as the fallback for unseen characters.

        >>> v = CharVocab.from_text("banana", unknown="?")
        >>> v.chars
        '?abn'
        >>> v.decode(v.encode("bandana"))
        'ban?ana'
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        alphabet = set(text) | ({unknown} if unknown is not None else set())
        if not alphabet:
            raise ValueError("cannot build a vocabulary from empty text")
        return cls(sorted(alphabet), unknown=unknown)

    @property
    def chars(self) -> str:
        """All characters in id order, as one string.

        >>> CharVocab("xyz").chars
        'xyz'
        """
        return self._chars

    @property
    def unknown(self) -> str | None:
        """The fallback character for unseen input, or ``None`` if encoding is strict.

        >>> CharVocab("ab?", unknown="?").unknown
        '?'
        """
        return self._unknown

    def __len__(self) -> int:
        return len(self._chars)

    def __contains__(self, char: object) -> bool:
        return isinstance(char, str) and char in self._ids

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CharVocab):
            return NotImplemented
        return (self._chars, self._unknown) == (other._chars, other._unknown)

    def __hash__(self) -> int:
        return hash((self._chars, self._unknown))

    def __repr__(self) -> str:
        shown = self._chars if len(self._chars) <= 40 else self._chars[:37] + "..."
        extra = f", unknown={self._unknown!r}" if self._unknown is not None else ""
        return f"CharVocab(size={len(self)}, chars={shown!r}{extra})"

    def encode(self, text: str) -> np.ndarray:
        """Convert a string to a 1-D ``int64`` array of ids.

        Raises:
            UnknownCharError: (a ``KeyError`` and ``ValueError``) for a character not in the
                vocabulary, unless the vocabulary has an ``unknown`` fallback.

        >>> CharVocab("abc").encode("cab")
        array([2, 0, 1])
        """
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        fallback = -1 if self._unknown is None else self._ids[self._unknown]  # -1: not known
        ids = np.fromiter(map(self._ids.get, text, repeat(fallback)), np.int64, len(text))
        if fallback < 0 and (ids < 0).any():
            position = int(np.argmax(ids < 0))
            ch = text[position]
            raise UnknownCharError(
                f"character {ch!r} (U+{ord(ch):04X}) at position {position} is not in the "
                f"vocabulary of {len(self)} characters; build the vocabulary from text "
                "that contains it, or pass unknown=<char> to map unseen characters",
                char=ch,
                position=position,
            )
        return ids

    def decode(self, ids: Any) -> str:
        """Convert a 1-D sequence (or a single scalar) of integer ids back to a string.

        Raises:
            TypeError: if the ids are not integers.
            ValueError: if an id is outside ``[0, len(vocab))`` or the input is not 1-D.

        >>> CharVocab("abc").decode(np.array([2, 0, 1]))
        'cab'
        """
        arr = np.asarray(ids)
        if arr.size == 0:
            return ""
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"decode expects integer ids, got dtype {arr.dtype}")
        if arr.ndim > 1:
            raise ValueError(f"decode expects a 1-D sequence of ids, got shape {arr.shape}")
        arr = arr.reshape(-1)  # a scalar id is a sequence of one
        bad = (arr < 0) | (arr >= len(self))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"id {int(arr[i])} at position {i} is out of range for a vocabulary of "
                f"{len(self)} characters (valid ids are 0..{len(self) - 1})"
            )
        return "".join([self._chars[i] for i in arr.tolist()])

    def to_dict(self) -> dict[str, str]:
        """Return a plain ``{"chars": str, "unknown": str}`` dict (``""`` means no fallback).

        The values are ordinary strings, safe for JSON or ``np.savez(..., allow_pickle=False)``.

        >>> CharVocab("ab?", unknown="?").to_dict()
        {'chars': 'ab?', 'unknown': '?'}
        """
        return {"chars": self._chars, "unknown": self._unknown or ""}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> CharVocab:
        """Rebuild a vocabulary from :meth:`to_dict` output.

        Values may also be 0-d NumPy string arrays, as returned by ``np.load`` on an ``.npz``.

        >>> v = CharVocab.from_text("hello world")
        >>> CharVocab.from_dict(v.to_dict()) == v
        True
        """
        if "chars" not in state:
            raise KeyError("vocabulary state must have a 'chars' entry (see CharVocab.to_dict)")
        chars = _as_str(state["chars"], "chars")
        unknown = _as_str(state.get("unknown", ""), "unknown")
        return cls(chars, unknown=unknown or None)


def _as_str(value: Any, key: str) -> str:
    """A vocabulary field as a str; ``np.load`` gives a string as a 0-d array."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"vocabulary {key!r} must be a single string")
        value = value.item()
    if not isinstance(value, str):
        raise TypeError(f"vocabulary {key!r} must be a str, got {type(value).__name__}")
    return value


# --------------------------------------------------------------------------- splitting & batching


def train_val_split(ids: Any, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Split a 1-D token stream into a leading training part and a trailing validation part.

    The split is contiguous (no shuffling), so neither part leaks text into the other except
    at the single boundary.  With ``val_fraction > 0`` the validation part has at least one
    element; with ``val_fraction == 0`` it is empty.

    Raises:
        ValueError: if ``val_fraction`` is not in ``[0, 1)`` or a part would be empty.

    >>> train, val = train_val_split(np.arange(10), val_fraction=0.2)
    >>> train, val
    (array([0, 1, 2, 3, 4, 5, 6, 7]), array([8, 9]))
    """
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {arr.shape}")
    val_fraction = float(val_fraction)
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n = len(arr)
    n_val = round(n * val_fraction)
    if val_fraction > 0:
        n_val = max(n_val, 1)
    n_train = n - n_val
    if n_train < 1:
        raise ValueError(
            f"cannot split {n} ids with val_fraction={val_fraction}: the training part "
            "would be empty"
        )
    return arr[:n_train], arr[n_train:]


def char_batches(
    ids: Any,
    batch_size: int,
    seq_len: int,
    rng: np.random.Generator | int,
    num_batches: int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield random ``(x, y)`` windows of a token stream for next-token prediction.

    Each batch holds ``batch_size`` windows starting at independent uniformly random offsets;
    ``x`` and ``y`` are ``int64`` arrays of shape ``(batch_size, seq_len)`` with
    ``y[:, t] == x[:, t + 1]``, i.e. ``y`` is ``x`` shifted left by one position.  The
    iterator is infinite unless ``num_batches`` is given.

    Raises:
        ValueError: if the stream is shorter than ``seq_len + 1``.

    >>> ids = np.arange(100)
    >>> x, y = next(char_batches(ids, batch_size=2, seq_len=5, rng=np.random.default_rng(0)))
    >>> x.shape, bool((y[:, :-1] == x[:, 1:]).all())
    ((2, 5), True)
    """
    arr = _as_id_stream(ids)
    batch_size = _check_positive_int(batch_size, "batch_size")
    seq_len = _check_positive_int(seq_len, "seq_len")
    if num_batches is not None:
        num_batches = _check_positive_int(num_batches, "num_batches", minimum=0)
    gen = _as_generator(rng)
    if len(arr) < seq_len + 1:
        raise ValueError(
            f"need at least seq_len + 1 = {seq_len + 1} ids to make a window, got {len(arr)}"
        )
    return _random_windows(arr, batch_size, seq_len, gen, num_batches)


def _random_windows(
    arr: np.ndarray,
    batch_size: int,
    seq_len: int,
    gen: np.random.Generator,
    num_batches: int | None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Generator behind :func:`char_batches` (arguments already validated)."""
    offsets = np.arange(seq_len + 1)
    high = len(arr) - seq_len  # exclusive upper bound for a start index
    count = 0
    while num_batches is None or count < num_batches:
        starts = gen.integers(0, high, size=batch_size)
        window = arr[starts[:, None] + offsets]
        yield window[:, :-1], window[:, 1:]
        count += 1


def contiguous_batches(
    ids: Any,
    batch_size: int,
    seq_len: int,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield consecutive ``(x, y)`` windows for truncated backpropagation through time.

    The stream is cut into ``batch_size`` equal, contiguous sub-streams (row ``b`` of every
    batch always comes from sub-stream ``b``), and the sub-streams are walked ``seq_len``
    steps at a time.  Row ``b`` of one batch therefore continues exactly where row ``b`` of
    the previous batch ended, so a model's hidden state can be carried from batch to batch.
    ``y`` is ``x`` shifted by one (the next token).  A few trailing ids that do not fill a
    sub-stream are dropped.  The last batch can be shorter than ``seq_len`` in time unless
    ``drop_last`` is true.

    Raises:
        ValueError: if there are fewer than ``batch_size + 1`` ids.

    >>> batches = list(contiguous_batches(np.arange(13), batch_size=2, seq_len=3))
    >>> batches[0][0]
    array([[0, 1, 2],
           [6, 7, 8]])
    >>> batches[1][0]
    array([[ 3,  4,  5],
           [ 9, 10, 11]])
    >>> batches[1][1]
    array([[ 4,  5,  6],
           [10, 11, 12]])
    """
    arr = _as_id_stream(ids)
    batch_size = _check_positive_int(batch_size, "batch_size")
    seq_len = _check_positive_int(seq_len, "seq_len")
    stream_len = (len(arr) - 1) // batch_size
    if stream_len < 1:
        raise ValueError(
            f"need at least batch_size + 1 = {batch_size + 1} ids for contiguous batches, "
            f"got {len(arr)}"
        )
    used = arr[: batch_size * stream_len + 1]
    xs = used[:-1].reshape(batch_size, stream_len)
    ys = used[1:].reshape(batch_size, stream_len)
    return _sequential_windows(xs, ys, seq_len, drop_last)


def _sequential_windows(
    xs: np.ndarray, ys: np.ndarray, seq_len: int, drop_last: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Generator behind :func:`contiguous_batches` (arguments already validated)."""
    stream_len = xs.shape[1]
    for start in range(0, stream_len, seq_len):
        stop = min(start + seq_len, stream_len)
        if drop_last and stop - start < seq_len:
            break
        yield xs[:, start:stop], ys[:, start:stop]


# --------------------------------------------------------------------------- benchmarks


def adding_problem(n: int, T: int, rng: np.random.Generator | int) -> tuple[np.ndarray, np.ndarray]:
    """Generate the adding problem, a classic long-term-memory benchmark for RNNs.

    Introduced by Hochreiter & Schmidhuber (1997); this is the common variant used by
    Le et al. (2015) and later work.  Each of the ``n`` sequences has length ``T`` and two
    input channels:

    * channel 0: numbers drawn uniformly from ``[0, 1)``;
    * channel 1: a marker that is ``1.0`` at exactly two positions and ``0.0`` elsewhere,
      one position in the first half (``t < T // 2``) and one in the second half.

    The target is the sum of the two marked numbers.  A model that ignores its input and
    always predicts ``1.0`` (the mean target) gets a mean squared error of about
    ``1/6 ≈ 0.167`` (the variance of a sum of two uniforms), so a model has learned
    something only once its MSE falls clearly below that baseline.

    Returns:
        ``x`` of shape ``(n, T, 2)`` and ``y`` of shape ``(n, 1)``, both ``float32``.

    Raises:
        ValueError: if ``n < 1`` or ``T < 2``.

    >>> x, y = adding_problem(3, 10, rng=np.random.default_rng(0))
    >>> x.shape, y.shape, x.dtype
    ((3, 10, 2), (3, 1), dtype('float32'))
    >>> x[:, :, 1].sum(axis=1)
    array([2., 2., 2.], dtype=float32)
    """
    n = _check_positive_int(n, "n", minimum=1)
    T = _check_positive_int(T, "T", minimum=2)
    gen = _as_generator(rng)
    values = gen.random((n, T))
    half = T // 2
    first = gen.integers(0, half, size=n)
    second = gen.integers(half, T, size=n)
    rows = np.arange(n)
    marks = np.zeros((n, T))
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    x = np.stack([values, marks], axis=-1).astype(np.float32)
    # Sum the float32 values so that y matches the inputs the model sees exactly.
    y = (x[rows, first, 0] + x[rows, second, 0]).reshape(n, 1).astype(np.float32)
    return x, y


def digits_sequences() -> tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's bundled 8x8 handwritten digits as sequences of image rows.

    The data ship with scikit-learn (no download).  Each image is returned as a sequence of
    8 time steps with 8 features (its pixel rows), scaled from ``0..16`` to ``[0, 1]``, for
    sequence classification with an RNN.

    Returns:
        ``x`` of shape ``(n, 8, 8)`` (``float32``) and labels ``y`` of shape ``(n,)``
        (``int64``, values 0-9), with ``n == 1797``.

    Raises:
        ImportError: if scikit-learn is not installed.

    >>> x, y = digits_sequences()
    >>> x.shape, y.shape, float(x.max()) <= 1.0
    ((1797, 8, 8), (1797,), True)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError(
            "digits_sequences() needs scikit-learn for its bundled digits dataset; "
            "install it with: pip install scikit-learn"
        ) from err
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)
    x = (images / 16.0).astype(np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    return x, y
