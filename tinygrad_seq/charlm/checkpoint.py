"""Char-LM checkpoints: one ``.npz`` file (``tg.save``, no pickle) with the weights, vocabulary,
hyperparameters, ``TrainConfig`` and optimizer state; every field checked on load. And the rules
that protect a checkpoint on disk: a run replaces it only once it has completed as many steps
(``checkpoint_floor``), and the best weights never replace a file that is not a checkpoint
(``check_replaceable``); ``ExistingCheckpoint`` says which rule stops a run before it starts.
"""

import dataclasses
import math
import os
import typing
from dataclasses import dataclass

import numpy as np

from .. import optim
from ..data import CharVocab
from ..serialization import load, save
from .config import TrainConfig, make_optimizer
from .model import KINDS, CharLM

_FORMAT = "tinygrad_seq.charlm/1"  # written into every checkpoint, checked on load


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
            "(written by save_checkpoint / `python -m tinygrad_seq train`)"
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


# --- checkpoints on disk --------------------------------------------------------------------------


class ExistingCheckpoint(ValueError):
    """``path`` holds a file this run may not replace: a checkpoint of ``steps`` completed steps,
    more than the run reaches, or (``steps`` None) a file that is not a checkpoint."""

    def __init__(self, path, steps):
        what = "is not a checkpoint" if steps is None else f"holds {steps} steps"
        super().__init__(f"{path} {what}")
        self.path, self.steps = path, steps


def checkpoint_floor(path, steps, overwrite=False):
    """The steps of the checkpoint at ``path``, which a run of ``steps`` steps must reach before
    replacing it (0 if there is none, or with ``overwrite``); ``ExistingCheckpoint`` if it can
    never replace it."""
    if overwrite or not os.path.exists(path):
        return 0
    try:
        existing = load_checkpoint(path).step
    except (OSError, ValueError):
        raise ExistingCheckpoint(path, None) from None
    if existing > steps:
        raise ExistingCheckpoint(path, existing)
    return existing


def check_replaceable(path, overwrite=False):
    """``ExistingCheckpoint`` if ``path`` holds a file that is not a checkpoint (unless
    ``overwrite``): the best checkpoint must not replace a file of the user's that happens to
    have its name."""
    if overwrite or not os.path.exists(path):
        return
    try:
        load_checkpoint(path)
    except (OSError, ValueError):
        raise ExistingCheckpoint(path, None) from None


def best_checkpoint_path(path):
    """Where ``train --out path`` keeps the best held-out weights: ``m.npz`` -> ``m_best.npz``
    (as PyTorch's ImageNet example keeps ``model_best.pth.tar`` beside ``checkpoint.pth.tar``).

    >>> best_checkpoint_path("runs/m.npz")
    'runs/m_best.npz'
    """
    stem, ext = os.path.splitext(os.fspath(path))
    return f"{stem}_best{ext}"
