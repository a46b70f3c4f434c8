"""Padded and packed batches of sequences of different lengths, as ``torch.nn.utils.rnn``.

``pad_sequence`` stacks sequences into one padded tensor; ``pack_padded_sequence`` keeps only
the real steps, time-major (step 0 of every sequence, then step 1 of those that have one, ...),
in a ``PackedSequence`` that ``nn.RNN``/``LSTM``/``GRU`` accept in place of a tensor;
``pad_packed_sequence`` undoes it. Packing and unpacking are index gathers on the Tensor, so
gradients flow through them to the padded input.

>>> import numpy as np, tinygrad_seq as tg
>>> from tinygrad_seq.nn.utils.rnn import pad_sequence, pack_padded_sequence, pad_packed_sequence
>>> a, b = tg.Tensor(np.array([1.0, 2.0, 3.0])), tg.Tensor(np.array([4.0]))
>>> padded = pad_sequence([a, b], batch_first=True)
>>> padded.tolist()
[[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]]
>>> packed = pack_padded_sequence(padded, [3, 1], batch_first=True)
>>> packed.data.tolist(), packed.batch_sizes.tolist()
([1.0, 4.0, 2.0, 3.0], [2, 1, 1])
>>> pad_packed_sequence(packed, batch_first=True)[1].tolist()
[3, 1]
"""

from typing import NamedTuple

import numpy as np

from ..._tensor import Tensor, concat

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
]


class PackedSequence(NamedTuple):
    """The real steps of a batch of sequences, as ``torch.nn.utils.rnn.PackedSequence``.

    ``data`` (sum of lengths, *features): the steps, time-major, within a step the sequences
    from the longest to the shortest; ``batch_sizes`` (int64, one per step): how many sequences
    are that long; ``sorted_indices``/``unsorted_indices``: the permutation into that order and
    its inverse (None when the batch was already sorted, ``enforce_sorted=True``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> from tinygrad_seq.nn.utils.rnn import pack_padded_sequence
    >>> x = np.arange(6.0).reshape(3, 2)  # (T=3, B=2)
    >>> packed = pack_padded_sequence(x, [1, 3], enforce_sorted=False)
    >>> packed.data.tolist(), packed.sorted_indices.tolist()
    ([1.0, 0.0, 3.0, 5.0], [1, 0])
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def _ints(values, what, fn):
    array = np.asarray(values._data if isinstance(values, Tensor) else values)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise TypeError(
            f"{fn}: {what} must be a 1-D list or array of integers, got shape {array.shape} and "
            f"dtype {array.dtype}"
        )
    return array.astype(np.int64)


def _tensor(value, fn):
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic, list, tuple)):
        return Tensor(value)
    raise TypeError(f"{fn}: expected a Tensor or an ndarray, got {type(value).__name__}")


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into one (max L, B, *) tensor ((B, max L, *) with
    ``batch_first``), filling the missing steps with ``padding_value`` after each sequence
    (before it with ``padding_side="left"``).

    >>> import numpy as np, tinygrad_seq as tg
    >>> from tinygrad_seq.nn.utils.rnn import pad_sequence
    >>> pad_sequence([np.ones(2), np.ones(1)], padding_side="left").tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    fn = "pad_sequence"
    if padding_side not in ("right", "left"):
        raise ValueError(f"{fn}: padding_side must be 'right' or 'left', got {padding_side!r}")
    seqs = [_tensor(s, fn) for s in sequences]
    if not seqs:
        raise ValueError(f"{fn}: needs at least one sequence")
    trailing = seqs[0].shape[1:]
    for i, s in enumerate(seqs):
        if s.ndim == 0 or s.shape[1:] != trailing or s.dtype != seqs[0].dtype:
            raise ValueError(
                f"{fn}: every sequence must be (length, *{trailing}) of dtype {seqs[0].dtype}; "
                f"sequence {i} has shape {s.shape} and dtype {s.dtype}"
            )
    lengths = np.array([s.shape[0] for s in seqs])
    steps, starts = int(lengths.max()), np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pad_row = Tensor(np.full((1,) + trailing, padding_value, dtype=seqs[0].dtype))
    rows = concat(seqs + [pad_row], axis=0)  # the padding is the last row
    t = np.arange(steps)[:, None]
    if padding_side == "left":
        t = t - (steps - lengths)[None, :]
    index = np.where((t >= 0) & (t < lengths), starts + t, len(rows) - 1)  # (T, B)
    return rows[index.T if batch_first else index]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded (T, B, *) batch ((B, T, *) with ``batch_first``) whose sequence ``b`` has
    ``lengths[b]`` real steps. With ``enforce_sorted`` the lengths must be decreasing;
    otherwise the batch is sorted here and the permutation kept to undo it.

    >>> import numpy as np
    >>> from tinygrad_seq.nn.utils.rnn import pack_padded_sequence
    >>> pack_padded_sequence(np.zeros((4, 3, 5)), [4, 2, 2]).data.shape
    (8, 5)
    """
    fn = "pack_padded_sequence"
    x = _tensor(input, fn)
    if x.ndim < 2:
        raise ValueError(f"{fn}: input must have a time and a batch axis, got shape {x.shape}")
    if batch_first:
        x = x.swapaxes(0, 1)
    steps, batch = x.shape[:2]
    lengths = _ints(lengths, "lengths", fn)
    if lengths.shape != (batch,):
        raise ValueError(f"{fn}: expected {batch} lengths (one per sequence), got {len(lengths)}")
    if lengths.min() < 1 or lengths.max() > steps:
        raise ValueError(
            f"{fn}: every length must be in 1..{steps} (the padded length), got {lengths.tolist()}"
        )
    if enforce_sorted:
        if (np.diff(lengths) > 0).any():
            raise ValueError(
                f"{fn}: lengths {lengths.tolist()} must be sorted in decreasing order when "
                "enforce_sorted=True; pass enforce_sorted=False to pack an unsorted batch"
            )
        order = None
    else:
        order = np.argsort(-lengths, kind="stable")
    return _pack(x, lengths, order)


def _pack(x, lengths, order):
    """Pack time-major ``x`` (T, B, *): one gather of the real steps in the sorted order."""
    steps, batch = x.shape[:2]
    ranked = np.arange(batch) if order is None else order  # the sequences, longest first
    batch_sizes = (lengths[None, :] > np.arange(steps)[:, None]).sum(axis=1)
    batch_sizes = batch_sizes[batch_sizes > 0]
    index = np.concatenate([t * batch + ranked[:n] for t, n in enumerate(batch_sizes)])
    data = x.reshape((steps * batch,) + x.shape[2:])[index]
    if order is None:
        return PackedSequence(data, Tensor(batch_sizes.astype(np.int64)))
    unsorted = np.argsort(order)
    return PackedSequence(
        data, Tensor(batch_sizes.astype(np.int64)), Tensor(order), Tensor(unsorted)
    )


def pack_sequence(sequences, enforce_sorted=True):
    """``pack_padded_sequence(pad_sequence(sequences), lengths)``.

    >>> import numpy as np
    >>> from tinygrad_seq.nn.utils.rnn import pack_sequence
    >>> pack_sequence([np.ones(3), np.ones(2)]).batch_sizes.tolist()
    [2, 2, 1]
    """
    seqs = [_tensor(s, "pack_sequence") for s in sequences]
    lengths = [s.shape[0] if s.ndim else 0 for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def _lengths(sequence):
    """The length of each sequence, in the batch's original order."""
    batch_sizes = sequence.batch_sizes._data
    by_rank = (batch_sizes[None, :] > np.arange(batch_sizes[0])[:, None]).sum(axis=1)
    if sequence.unsorted_indices is None:
        return by_rank
    return by_rank[sequence.unsorted_indices._data]


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: (padded (T, B, *) tensor ((B, T, *) with
    ``batch_first``), lengths (int64 Tensor)), in the batch's original order. ``total_length``
    pads to that many steps instead of the longest sequence's.

    >>> import numpy as np
    >>> from tinygrad_seq.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    >>> packed = pack_padded_sequence(np.ones((3, 2)), [1, 3], enforce_sorted=False)
    >>> padded, lengths = pad_packed_sequence(packed, padding_value=-1.0)
    >>> padded.tolist(), lengths.tolist()
    ([[1.0, 1.0], [-1.0, 1.0], [-1.0, 1.0]], [1, 3])
    """
    fn = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{fn}: expected a PackedSequence, got {type(sequence).__name__}")
    data, batch_sizes = sequence.data, sequence.batch_sizes._data
    steps, batch = len(batch_sizes), int(batch_sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                f"{fn}: total_length={total_length} is shorter than the longest sequence "
                f"({steps} steps)"
            )
        steps = total_length
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])  # where each step starts in data
    rank = np.arange(batch)
    if sequence.unsorted_indices is not None:
        rank = sequence.unsorted_indices._data  # the original sequence b sits at rank[b]
    t = np.arange(steps)[:, None]
    real = (t < len(batch_sizes)) & (rank[None, :] < np.append(batch_sizes, [0] * steps)[t])
    pad_row = Tensor(np.full((1,) + data.shape[1:], padding_value, dtype=data.dtype))
    rows = concat([data, pad_row], axis=0)
    index = np.where(real, offsets[np.minimum(t, len(batch_sizes))] + rank, len(rows) - 1)
    padded = rows[index.T if batch_first else index]
    return padded, Tensor(_lengths(sequence))


def _pack_like(output, packed, batch_first):
    """``output`` of a layer run on ``packed`` unpacked, packed again the same way."""
    x = output.swapaxes(0, 1) if batch_first else output
    order = None if packed.sorted_indices is None else packed.sorted_indices._data
    return _pack(x, _lengths(packed), order)
