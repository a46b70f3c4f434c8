"""A character-level language model: Embedding -> RNN/LSTM/GRU -> Linear, and how to train it.

The model reads characters and predicts the next one at every position. Training uses truncated
backpropagation through time over *contiguous* batches (``data.contiguous_batches``): row ``b`` of
one batch continues where row ``b`` of the previous batch stopped, so the recurrent state is
carried from window to window, and detached at each window's start, which cuts the graph there.
The loss is the mean cross-entropy in nats; ``/ ln 2`` turns it into bits per character (bpc).
A model that knows nothing about a vocabulary of V characters scores log2(V) bpc.

>>> import numpy as np
>>> from tinygrad_seq import charlm, data
>>> vocab = data.CharVocab.from_text("abcd")
>>> ids = vocab.encode("abcd" * 50)
>>> model = charlm.CharLM(len(vocab), embedding_dim=8, hidden_size=16, seed=0)
>>> config = charlm.TrainConfig(steps=30, batch_size=4, seq_len=8, lr=0.02)
>>> result = charlm.train(model, ids, ids, config)
>>> bool(result.evals[-1]["bpc"] < 1.0)  # 2 bits would be guessing; "abcd" repeats
True
>>> charlm.sample(model, vocab, "ab", length=6, temperature=0)
'abcdabcd'
"""

import contextlib
import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field

import numpy as np

from . import nn, optim
from ._tensor import Tensor
from .data import CharVocab, contiguous_batches, read_text, stdlib_corpus, train_val_split
from .modes import no_grad
from .nn import functional as F
from .nn.init import default_rng
from .serialization import load, save

__all__ = [
    "KINDS",
    "OPTIMIZERS",
    "SCHEDULES",
    "CharLM",
    "Checkpoint",
    "TrainConfig",
    "TrainResult",
    "detach_state",
    "evaluate",
    "learning_rate",
    "load_checkpoint",
    "load_text",
    "make_optimizer",
    "prepare",
    "sample",
    "save_checkpoint",
    "train",
    "train_step",
    "window_loss",
]

KINDS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("cosine", "constant")
FINAL_LR_FRACTION = 0.05  # the cosine schedule ends at lr / 20
_FORMAT = "tinygrad_seq.charlm/1"  # written into every checkpoint, checked on load


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


# --- training -------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """How to train; stored in checkpoints, so a run can be resumed as it was configured.

    steps: total number of updates (a resumed run continues up to it). Each update sees a window
    of ``batch_size`` x ``seq_len`` characters. bptt: gradient horizon in steps inside a window
    (the state is detached every ``bptt`` characters; None: once per window). clip: max gradient
    norm (None: no clipping). optimizer: "adam", "adamw" or "sgd" (momentum for sgd only).
    schedule: "cosine" (lr decays to lr/20 at the last step: see ``learning_rate``) or "constant".
    eval_every: evaluation period in steps, on at most ``eval_chars`` held-out characters (and
    as many of the training text, scored the same way).
    patience: early stopping: stop once that many evaluations in a row have not improved on the
    best held-out loss (None: train all ``steps``).
    The defaults are the demo's: on 2 cores they take a 1-layer, 128-unit LSTM on the standard
    library's source from 6.59 to 1.48 bits per character in about 30 seconds
    (``docs/quoted_numbers.py`` measures it).

    >>> TrainConfig(steps=10, lr=0.003).seq_len
    32
    """

    steps: int = 1500
    batch_size: int = 32
    seq_len: int = 32
    bptt: int | None = None
    lr: float = 0.01
    clip: float | None = 1.0
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "cosine"
    eval_every: int = 100
    eval_chars: int | None = 20_000
    patience: int | None = None

    def __post_init__(self):
        for name in ("steps", "batch_size", "seq_len", "eval_every"):
            _check_positive(name, getattr(self, name))
        for name in ("bptt", "eval_chars", "patience"):
            if getattr(self, name) is not None:
                _check_positive(name, getattr(self, name))
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"TrainConfig: schedule must be one of {SCHEDULES}, got {self.schedule!r}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"TrainConfig: optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"
            )
        if not (self.lr > 0 and (self.clip is None or self.clip > 0)):
            raise ValueError(
                f"TrainConfig: lr and clip must be positive, got {self.lr}, {self.clip}"
            )


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"TrainConfig: {name} must be a positive int, got {value!r}")


@dataclass
class TrainResult:
    """What ``train`` did: the last completed ``step``, the training loss of every step (nats),
    the held-out ``evals``, the optimizer, and whether Ctrl-C stopped it (``interrupted``: the
    weights are those after ``step``, plus any part of the next update that had been applied
    when the interrupt landed) or early stopping did (``stopped_early``, see
    ``TrainConfig.patience``).

    Each evaluation is a dict: "step", held-out "loss" (nats) and "bpc", "train_text_loss" and
    "train_text_bpc" (the same weights scored the same way on as many characters of the training
    text: comparable with the held-out scores), "train_loss" (the mean training loss of the steps
    since the previous evaluation) and "best" (True if its held-out
    loss is the lowest so far in this run). ``best`` is the best evaluation and ``best_state``
    the model's ``state_dict()`` at that step (copies): on a small text the held-out loss turns
    back up while the training loss still falls, and those are the weights to keep.

    >>> import numpy as np
    >>> ids = np.tile([0, 1, 2], 20)
    >>> config = TrainConfig(steps=4, batch_size=2, seq_len=4, eval_every=2)
    >>> result = train(CharLM(3, 2, 4, seed=0), ids, ids, config)
    >>> result.step, len(result.losses), [e["step"] for e in result.evals], result.interrupted
    (4, 4, [2, 4], False)
    >>> sorted(result.evals[-1])
    ['best', 'bpc', 'loss', 'step', 'train_loss', 'train_text_bpc', 'train_text_loss']
    """

    step: int
    optimizer: optim.Optimizer
    losses: list = field(default_factory=list)
    evals: list = field(default_factory=list)
    interrupted: bool = False
    stopped_early: bool = False
    best: dict | None = None
    best_state: dict | None = None


def make_optimizer(model, config):
    """The optimizer ``config.optimizer`` names, over ``model.parameters()``.

    >>> make_optimizer(CharLM(5, 2, 3, seed=0), TrainConfig(optimizer="sgd", lr=0.1)).defaults["lr"]
    0.1
    """
    params, wd = list(model.parameters()), config.weight_decay
    if config.optimizer == "sgd":
        return optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=wd)
    kind = optim.AdamW if config.optimizer == "adamw" else optim.Adam
    return kind(params, lr=config.lr, weight_decay=wd)


def learning_rate(config, step):
    """The learning rate of update number ``step`` (1-based): ``config.lr`` throughout with the
    "constant" schedule; with "cosine", half a cosine from ``lr`` down to ``lr / 20`` at the last
    step. Measured on the demo: 1.598 bpc after 1000 steps, 1.664 with a constant rate.

    >>> config = TrainConfig(steps=100, lr=0.01)
    >>> learning_rate(config, 1) > learning_rate(config, 50) > learning_rate(config, 100)
    True
    >>> round(learning_rate(config, 100), 6)
    0.0005
    """
    if config.schedule == "constant":
        return config.lr
    progress = (step - 1) / max(1, config.steps - 1)  # 0 at the first step, 1 at the last
    final = config.lr * FINAL_LR_FRACTION
    return final + (config.lr - final) * 0.5 * (1 + math.cos(math.pi * progress))


def window_loss(model, x, y, state=None, bptt=None):
    """Mean cross-entropy (nats) of predicting ``y`` from ``x`` (both (batch, seq) ids), starting
    from ``state``; returns (loss, final state). The state is detached at the window's start and
    then every ``bptt`` steps, so gradients flow back at most ``bptt`` characters.

    >>> import numpy as np
    >>> model = CharLM(4, 2, 3, seed=0)
    >>> x = np.zeros((1, 6), dtype=np.int64)
    >>> loss, state = window_loss(model, x, x, bptt=2)
    >>> round(loss.item(), 2) > 0, state[0].shape
    (True, (1, 1, 3))
    """
    seq = x.shape[1]
    bptt = bptt or seq
    total = None
    for start in range(0, seq, bptt):
        stop = min(start + bptt, seq)
        logits, state = model(x[:, start:stop], detach_state(state))
        flat = logits.reshape(-1, logits.shape[-1])
        part = F.cross_entropy(flat, y[:, start:stop].reshape(-1), reduction="sum")
        total = part if total is None else total + part
    return total / float(y.size), state


def train_step(model, optimizer, x, y, state=None, *, bptt=None, clip=None):
    """One truncated-BPTT update on the window (x, y): zero grads, forward, backward, clip the
    gradient norm to ``clip``, step. Returns (loss as a float, the final state, detached).

    >>> import numpy as np
    >>> model = CharLM(4, 2, 3, seed=0)
    >>> opt = make_optimizer(model, TrainConfig())
    >>> x = np.zeros((2, 5), dtype=np.int64)
    >>> loss, (h, c) = train_step(model, opt, x, x, clip=1.0)
    >>> h.requires_grad
    False
    """
    optimizer.zero_grad()
    loss, state = window_loss(model, x, y, state, bptt)
    loss.backward()
    if clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item(), detach_state(state)


def _windows(ids, config, skip):
    """Endless (x, y, new epoch?) over contiguous batches, the first ``skip`` windows skipped
    (a resumed run continues where it stopped)."""
    count = 0
    while True:
        fresh = True
        for x, y in contiguous_batches(ids, config.batch_size, config.seq_len, drop_last=True):
            if count >= skip:
                yield x, y, fresh
            fresh, count = False, count + 1
        if count == 0:
            raise ValueError(
                f"train: {len(ids)} training characters make no window of {config.batch_size} "
                f"rows x {config.seq_len} characters; use a longer text or a smaller "
                "batch_size/seq_len"
            )


def train(
    model, train_ids, val_ids=None, config=None, *, optimizer=None, start_step=0, callback=None
):
    """Train ``model`` on the id stream ``train_ids`` with truncated BPTT until step
    ``config.steps``; every ``config.eval_every`` steps (and at the end) measure the held-out
    loss on ``val_ids``. ``callback(step, loss, evaluation or None)`` is called after every step
    (a progress bar). Ctrl-C stops training cleanly: the result says ``interrupted``.

    The state is carried across windows and reset to zeros when the data start over (a new
    epoch). Resuming: pass the restored ``optimizer`` and ``start_step``.

    >>> import numpy as np
    >>> model = CharLM(3, 4, 8, seed=0)
    >>> ids = np.tile([0, 1, 2], 40)
    >>> config = TrainConfig(steps=20, batch_size=2, seq_len=6, lr=0.05)
    >>> result = train(model, ids, ids[:30], config)
    >>> result.step, len(result.losses), result.evals[-1]["step"]
    (20, 20, 20)
    >>> bool(result.losses[-1] < result.losses[0])
    True
    """
    config = config or TrainConfig()
    optimizer = optimizer or make_optimizer(model, config)
    result = TrainResult(step=start_step, optimizer=optimizer)
    windows = _windows(np.asarray(train_ids), config, skip=start_step)
    state = None
    model.train()
    try:
        for step in range(start_step + 1, config.steps + 1):
            x, y, fresh = next(windows)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, step)
            loss, state = train_step(
                model, optimizer, x, y, None if fresh else state, bptt=config.bptt, clip=config.clip
            )
            result.losses.append(loss)
            result.step = step
            scores = _evaluate_at(step, model, val_ids, config, train_ids)
            if scores is not None:
                _record(result, scores, model, start_step)
            if callback is not None:
                callback(step, loss, scores)
            if _out_of_patience(result.evals, config.patience):
                result.stopped_early = True
                break
    except KeyboardInterrupt:
        result.interrupted = True
    return result


def _record(result, scores, model, start_step):
    """Add the evaluation ``scores`` to ``result``, with its "train_loss" and "best" entries, and
    keep a copy of the weights if it is the best so far."""
    since = result.evals[-1]["step"] if result.evals else start_step
    recent = result.losses[since - start_step :]
    scores["train_loss"] = float(sum(recent) / len(recent))
    scores["best"] = result.best is None or scores["loss"] < result.best["loss"]
    if scores["best"]:
        result.best, result.best_state = scores, model.state_dict()
    result.evals.append(scores)


def _out_of_patience(evals, patience):
    """True once the last ``patience`` evaluations have all failed to improve on the best."""
    if patience is None or len(evals) <= patience:
        return False
    return not any(e["best"] for e in evals[-patience:])


def _evaluate_at(step, model, val_ids, config, train_ids):
    """Every ``eval_every`` steps and at the last one: {"step", "loss", "bpc"} on the held-out
    ids, and "train_text_loss", "train_text_bpc": the same weights scored the same way on as
    many characters of the training text, those just before the held-out part (the most alike).
    Else None.

    The mean training loss of the steps before is no match for the held-out loss: it mixes the
    whole training text, scored while the weights were still changing. On the standard library's
    source the final weights score 2.3 bpc on its first 20,000 characters and 1.49 on its last,
    beside the held-out 1.48: the text differs more than the weights."""
    if val_ids is None or (step % config.eval_every and step != config.steps):
        return None
    held_out = np.asarray(val_ids)[: None if config.eval_chars is None else config.eval_chars + 1]
    scores = {"step": step, **_score(model, held_out, config)}
    train_ids = np.asarray(train_ids)
    seen = _score(model, train_ids[max(0, len(train_ids) - len(held_out)) :], config)
    scores["train_text_loss"], scores["train_text_bpc"] = seen["loss"], seen["bpc"]
    return scores


def _score(model, ids, config):
    return evaluate(model, ids, batch_size=config.batch_size, seq_len=config.seq_len)


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


# --- checkpoints ----------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns: the model (weights loaded), its vocabulary, the step,
    the TrainConfig (or None) and the optimizer with its state restored (or None).

    >>> import os, tempfile
    >>> from tinygrad_seq import data
    >>> path = os.path.join(tempfile.mkdtemp(), "lm.npz")
    >>> config = TrainConfig(steps=10)
    >>> _ = save_checkpoint(path, CharLM(3, 2, 4, seed=0), data.CharVocab("abc"), config=config)
    >>> checkpoint = load_checkpoint(path)
    >>> checkpoint.vocab, checkpoint.config.steps, checkpoint.optimizer
    (CharVocab(size=3, chars='abc'), 10, None)
    """

    model: CharLM
    vocab: CharVocab
    step: int = 0
    config: TrainConfig | None = None
    optimizer: optim.Optimizer | None = None


def save_checkpoint(path, model, vocab, optimizer=None, *, step=0, config=None):
    """Write weights, vocabulary, hyperparameters, ``config`` and the optimizer's state to one
    ``.npz`` file (``tg.save``: no pickle). Returns ``path``.

    >>> import os, tempfile
    >>> from tinygrad_seq import data
    >>> path = os.path.join(tempfile.mkdtemp(), "lm.npz")
    >>> model = CharLM(3, 2, 4, seed=0)
    >>> _ = save_checkpoint(path, model, data.CharVocab("abc"), step=5)
    >>> load_checkpoint(path).step
    5
    """
    state = {
        "format": _FORMAT,
        "model_config": model.config,
        "vocab": vocab.to_dict(),
        "model": model.state_dict(),
        "step": int(step),
        "train_config": None if config is None else dataclasses.asdict(config),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
    }
    save(state, path)
    return path


def load_checkpoint(path):
    """Rebuild a ``Checkpoint`` from a file written by ``save_checkpoint``. Every field is checked
    before anything is built from it (types, ranges, the weights' shapes against the model's
    configuration, so a forged ``hidden_size`` cannot make it allocate terabytes; weights and
    optimizer state real and finite, so a diverged run is not resumed); a file that is
    not a valid checkpoint raises ``ValueError`` naming the path and the field (a valid one:
    see ``save_checkpoint``).

    >>> import os, tempfile, tinygrad_seq as tg
    >>> path = os.path.join(tempfile.mkdtemp(), "other.npz")
    >>> _ = tg.save({"weights": np.zeros(2)}, path)
    >>> load_checkpoint(path)
    Traceback (most recent call last):
    ValueError: load_checkpoint: '...other.npz' is not a CharLM checkpoint (written by ...)
    """
    state = load(path)
    where = f"load_checkpoint: {os.fspath(path)!r}"
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(
            f"{where} is not a CharLM checkpoint "
            "(written by charlm.save_checkpoint / `python -m tinygrad_seq train`)"
        )
    try:
        return _rebuild(state)
    except _BadField as e:
        raise ValueError(f"{where}: {e}") from None


class _BadField(ValueError):
    """A checkpoint field that is missing or wrong; the message starts with the field's name."""


def _rebuild(state):
    model_config = _checked_model_config(state.get("model_config"))
    weights = _checked_weights(state.get("model"), model_config)
    vocab = _checked_vocab(state.get("vocab"), model_config["vocab_size"])
    step = state.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise _BadField(f"step must be an int >= 0, got {step!r}")
    config = _checked_train_config(state.get("train_config"))
    model = CharLM(**model_config, seed=0)  # seed: the weights are overwritten anyway
    model.load_state_dict(weights)
    optimizer = None
    _checked_optimizer_state(state.get("optimizer"))
    if state.get("optimizer") is not None and config is not None:
        optimizer = make_optimizer(model, config)
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            raise _BadField(f"optimizer: {type(e).__name__}: {e}") from None
    return Checkpoint(model, vocab, step, config, optimizer)


def _what(value):
    return "nothing (the field is missing)" if value is None else type(value).__name__


_SIZES = ("vocab_size", "embedding_dim", "hidden_size", "num_layers")


def _checked_model_config(config):
    if not isinstance(config, dict):
        raise _BadField(f"model_config must be a dict, got {_what(config)}")
    expected = set(_SIZES) | {"kind", "dropout"}
    if set(config) != expected:
        missing = [f"model_config.{k}" for k in sorted(expected - set(config))]
        extra = [f"model_config.{k}" for k in sorted(set(config) - expected)]
        raise _BadField(f"missing fields {missing}, unexpected fields {extra}")
    for name in _SIZES:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _BadField(f"model_config.{name} must be a positive int, got {value!r}")
    if config["kind"] not in KINDS:
        raise _BadField(f"model_config.kind must be one of {sorted(KINDS)}, got {config['kind']!r}")
    dropout = config["dropout"]
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise _BadField(f"model_config.dropout must be a number in [0, 1), got {dropout!r}")
    return config


_GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def _checked_weights(weights, config):
    """The weights, checked against the shapes ``config`` gives them (before any is built)."""
    if not isinstance(weights, dict):
        raise _BadField(f"model must be a dict of weights, got {_what(weights)}")
    vocab, emb, hidden = config["vocab_size"], config["embedding_dim"], config["hidden_size"]
    gates = _GATES[config["kind"]] * hidden
    shapes = {"embedding.weight": ((vocab, emb), ("vocab_size", "embedding_dim"))}
    for k in range(config["num_layers"]):
        inputs = (emb, "embedding_dim") if k == 0 else (hidden, "hidden_size")
        shapes[f"rnn.weight_ih_l{k}"] = ((gates, inputs[0]), ("hidden_size", inputs[1]))
        shapes[f"rnn.weight_hh_l{k}"] = ((gates, hidden), ("hidden_size",))
        shapes[f"rnn.bias_ih_l{k}"] = shapes[f"rnn.bias_hh_l{k}"] = ((gates,), ("hidden_size",))
    shapes["head.weight"] = ((vocab, hidden), ("vocab_size", "hidden_size"))
    shapes["head.bias"] = ((vocab,), ("vocab_size",))
    if set(weights) - set(shapes):
        raise _BadField(f"model has unexpected weights {sorted(set(weights) - set(shapes))}")
    for name, (shape, because) in shapes.items():
        if name not in weights:
            raise _BadField(f"model.{name} is missing")
        array = weights[name]
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            raise _BadField(f"model.{name} must be a float array, got {_what(array)}")
        if array.shape != shape:
            said = " and ".join(f"model_config.{f}={config[f]}" for f in because)
            raise _BadField(f"model.{name} has shape {array.shape}; {said} imply {shape}")
        _check_finite(f"model.{name}", array)
    return weights


def _check_finite(name, array):
    """Refuse NaN or inf in the field ``name``: a run that diverged saved them, and training
    on from them or sampling with them only spreads them (or NumPy's warnings)."""
    bad = array.size - int(np.count_nonzero(np.isfinite(array)))
    if bad:
        raise _BadField(
            f"{name} holds {bad} NaN or inf value(s) of {array.size}: the run that saved it "
            "diverged (try a smaller lr or clip); this checkpoint cannot be used"
        )


def _checked_optimizer_state(state):
    """The optimizer's saved state, refused if a value is not a real, finite number or array
    (complex values would be cast with a warning, NaN would spread into the weights)."""
    if state is None:
        return None
    if not isinstance(state, dict) or not isinstance(state.get("state"), dict):
        raise _BadField(f"optimizer must be a dict with a 'state' dict, got {_what(state)}")
    for key, entries in state["state"].items():
        if not isinstance(entries, dict):
            raise _BadField(f"optimizer.state.{key} must be a dict, got {_what(entries)}")
        for name, value in entries.items():
            where = f"optimizer.state.{key}.{name}"
            if isinstance(value, (np.ndarray, np.generic)):
                if value.dtype.kind not in "fiu":
                    raise _BadField(f"{where} must hold real numbers, got dtype {value.dtype}")
                _check_finite(where, np.asarray(value))
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _BadField(f"{where} must be a real number or array, got {value!r}")
            elif not math.isfinite(value):
                raise _BadField(f"{where} is {value}: the run that saved it diverged")
    return state


def _checked_vocab(state, size):
    if not isinstance(state, dict):
        raise _BadField(f"vocab must be a dict (CharVocab.to_dict), got {_what(state)}")
    for key in ("chars", "unknown"):
        if key in state and not isinstance(state[key], (str, np.ndarray)):
            raise _BadField(f"vocab.{key} must be a string, got {_what(state[key])}")
    try:
        vocab = CharVocab.from_dict(state)
    except (KeyError, TypeError, ValueError) as e:
        raise _BadField(f"vocab: {e}") from None
    if len(vocab) != size:
        raise _BadField(f"vocab has {len(vocab)} characters, model_config.vocab_size is {size}")
    return vocab


def _checked_train_config(state):
    if state is None:
        return None
    if not isinstance(state, dict):
        raise _BadField(f"train_config must be a dict or None, got {_what(state)}")
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for name, value in state.items():
        if name not in fields:
            raise _BadField(f"train_config has an unknown field {name!r}")
        allowed = typing.get_args(fields[name].type) or (fields[name].type,)
        if float in allowed:
            allowed += (int,)
        if isinstance(value, bool) or not isinstance(value, allowed):
            names = " or ".join("None" if t is type(None) else t.__name__ for t in allowed)
            raise _BadField(f"train_config.{name} must be {names}, got {value!r}")
    try:
        return TrainConfig(**state)
    except ValueError as e:
        raise _BadField(f"train_config: {e}") from None
