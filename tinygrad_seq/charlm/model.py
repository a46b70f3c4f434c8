"""The char-LM itself: Embedding -> RNN/LSTM/GRU -> Linear, the text it reads, and how it is
scored (``evaluate``) and sampled from (``sample``). Training is ``training.py``'s.
"""

import contextlib
import math

import numpy as np

from .. import nn
from .._tensor import Tensor
from ..data import CharVocab, contiguous_batches, read_text, stdlib_corpus, train_val_split
from ..modes import no_grad
from ..nn import functional as F
from ..nn.init import default_rng

KINDS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


# --- the model ------------------------------------------------------------------------------------


class CharLM(nn.Module):
    """Next-character model: ``logits, state = model(ids, state=None)``.

    ids (batch, seq) integers -> Embedding (batch, seq, embedding_dim) -> ``kind`` ("lstm", "gru"
    or "rnn": ``nn.LSTM``/``nn.GRU``/``nn.RNN`` with ``num_layers``, batch first) -> Dropout ->
    Linear -> logits (batch, seq, vocab_size). ``state`` is the recurrent layer's: (h, c) for the
    LSTM, h for the others, each (num_layers, batch, hidden_size); None means zeros. ``dropout``
    acts on the recurrent output and between layers; ``seed`` draws the weights and the masks.

    >>> import numpy as np
    >>> model = CharLM(vocab_size=10, embedding_dim=4, hidden_size=8, seed=0)
    >>> logits, (h, c) = model(np.zeros((2, 5), dtype=np.int64))
    >>> logits.shape, h.shape
    ((2, 5, 10), (1, 2, 8))
    """

    def __init__(
        self,
        vocab_size,
        embedding_dim=32,
        hidden_size=128,
        num_layers=1,
        kind="lstm",
        dropout=0.0,
        *,
        seed=None,
    ):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"CharLM: kind must be one of {sorted(KINDS)}, got {kind!r}")
        rng = default_rng(seed)  # one generator, so one seed fixes every layer
        self.kind, self.dropout = kind, float(dropout)
        self.embedding = nn.Embedding(vocab_size, embedding_dim, seed=rng)
        between = self.dropout if num_layers > 1 else 0.0  # nn.LSTM warns about it with 1 layer
        self.rnn = KINDS[kind](
            embedding_dim, hidden_size, num_layers, batch_first=True, dropout=between, seed=rng
        )
        self.drop = nn.Dropout(self.dropout, seed=rng)
        self.head = nn.Linear(hidden_size, vocab_size, seed=rng)

    @property
    def config(self):
        """The constructor's arguments as a plain dict: ``CharLM(**model.config)`` rebuilds it."""
        return {
            "vocab_size": self.embedding.num_embeddings,
            "embedding_dim": self.embedding.embedding_dim,
            "hidden_size": self.rnn.hidden_size,
            "num_layers": self.rnn.num_layers,
            "kind": self.kind,
            "dropout": self.dropout,
        }

    def forward(self, ids, state=None):
        ids = ids._data if isinstance(ids, Tensor) else np.asarray(ids)
        if ids.ndim != 2:
            raise ValueError(f"CharLM: expected ids of shape (batch, seq), got shape {ids.shape}")
        output, state = self.rnn(self.embedding(ids), state)
        return self.head(self.drop(output)), state

    def extra_repr(self):
        return f"kind={self.kind!r}"


def detach_state(state):
    """The recurrent state cut from the graph (None, a tensor, or an LSTM's (h, c) tuple).

    Truncated BPTT: the values go on into the next window, the gradient stops here.

    >>> import tinygrad_seq as tg
    >>> h = tg.Tensor([1.0], requires_grad=True) * 2
    >>> detach_state((h, h))[0].requires_grad
    False
    """
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


# --- data -----------------------------------------------------------------------------------------


def load_text(path=None, max_chars=1_000_000):
    """The training text: the file at ``path`` (UTF-8), or by default the Python standard
    library's own source code (``data.stdlib_corpus``, no download); at most ``max_chars``.

    >>> len(load_text(max_chars=500))
    500
    """
    text = stdlib_corpus(max_chars=max_chars) if path is None else read_text(path)
    return text if max_chars is None else text[:max_chars]


def prepare(text, val_fraction=0.05, vocab=None):
    """(vocab, train ids, held-out ids): the vocabulary of ``text`` (or the given one, e.g. a
    checkpoint's) and a contiguous split, the held-out part at the end.

    >>> vocab, train_ids, val_ids = prepare("hello world" * 10, val_fraction=0.1)
    >>> len(vocab), len(train_ids), len(val_ids)
    (8, 99, 11)
    """
    vocab = vocab if vocab is not None else CharVocab.from_text(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), val_fraction)
    return vocab, train_ids, val_ids


# --- scoring --------------------------------------------------------------------------------------


def evaluate(model, ids, *, batch_size=32, seq_len=32, max_chars=None):
    """Held-out next-character loss: {"loss": nats, "bpc": bits per character}, over the first
    ``max_chars`` ids (all by default) in contiguous windows with the state carried, without
    recording a graph and with dropout off.

    >>> import numpy as np
    >>> model = CharLM(4, 2, 3, seed=0)
    >>> scores = evaluate(model, np.arange(100) % 4)
    >>> round(scores["bpc"] / scores["loss"], 4)  # 1 / ln 2
    1.4427
    """
    ids = np.asarray(ids)
    ids = ids if max_chars is None else ids[: max_chars + 1]
    if len(ids) < 2:
        raise ValueError(f"evaluate: needs at least 2 ids (an input and its next), got {len(ids)}")
    rows = max(1, min(batch_size, (len(ids) - 1) // seq_len))
    total, count, state = 0.0, 0, None
    with _evaluating(model):
        for x, y in contiguous_batches(ids, rows, seq_len):
            logits, state = model(x, state)
            flat = logits.reshape(-1, logits.shape[-1])
            total += F.cross_entropy(flat, y.reshape(-1), reduction="sum").item()
            count += y.size
    loss = total / count
    return {"loss": loss, "bpc": loss / math.log(2)}


@contextlib.contextmanager
def _evaluating(model):
    """Dropout off and no graph recorded inside; the model's mode is put back afterwards."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        model.train(was_training)


# --- sampling -------------------------------------------------------------------------------------


def sample(model, vocab, prompt, length=200, temperature=1.0, rng=None):
    """``prompt`` followed by ``length`` characters generated one at a time, each drawn from
    softmax(logits / temperature) with ``rng`` (a Generator or int seed; temperature 0 takes the
    most likely character, and a tiny one, down to 5e-324, approaches that argmax). The state is
    carried from step to step; no graph is recorded. A model whose logits are not finite (NaN
    weights after a diverged run) raises ``ValueError`` naming the weights, rather than writing
    noise.

    >>> from tinygrad_seq import data
    >>> vocab = data.CharVocab("ab")
    >>> model = CharLM(2, 2, 4, seed=0)
    >>> text = sample(model, vocab, "a", length=5, rng=0)
    >>> len(text), text == sample(model, vocab, "a", length=5, rng=0)
    (6, True)
    """
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("sample: prompt must be a non-empty string (the model continues it)")
    if not (isinstance(length, int) and length >= 0):
        raise ValueError(f"sample: length must be a non-negative int, got {length!r}")
    if not (temperature >= 0 and math.isfinite(temperature)):
        raise ValueError(f"sample: temperature must be a finite number >= 0, got {temperature!r}")
    rng = default_rng(rng)
    ids = vocab.encode(prompt)  # UnknownCharError names a character the model has never seen
    picked = []
    with _evaluating(model):
        logits, state = model(ids[None, :])
        for i in range(length):
            picked.append(_pick(_finite(logits._data[0, -1], model), float(temperature), rng))
            if i + 1 < length:
                logits, state = model(np.array([[picked[-1]]]), state)
    return prompt + vocab.decode(np.array(picked, dtype=np.int64))


def _finite(logits, model):
    """``logits``, if they are all finite numbers; else a ValueError naming the bad weights."""
    if np.isfinite(logits).all():
        return logits
    bad = [name for name, p in model.named_parameters() if not np.isfinite(p._data).all()]
    cause = f"non-finite weights: {', '.join(bad)}" if bad else "an overflow inside the model"
    raise ValueError(f"sample: the model's logits are not finite (NaN or inf), from {cause}")


def _pick(logits, temperature, rng):
    """A character id drawn from softmax(logits / temperature), by inverting the CDF. In float64,
    the max subtracted first: exp never overflows, and as temperature -> 0 (1e-300 included) every
    logit below the max underflows to weight 0, so the draw becomes the argmax, as in PyTorch
    (ties: one of the maxima at random; temperature 0 takes the first)."""
    if temperature == 0:
        return int(np.argmax(logits))
    logits = logits.astype(np.float64)
    with np.errstate(over="ignore", under="ignore"):  # -inf and 0 are the right limits here
        weights = np.exp((logits - logits.max()) / temperature)
    cdf = np.cumsum(weights)
    index = np.searchsorted(cdf, rng.random() * cdf[-1], side="right")
    return int(min(index, len(cdf) - 1))
