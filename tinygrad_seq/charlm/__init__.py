"""A character-level language model: Embedding -> RNN/LSTM/GRU -> Linear, and how to train it.

The model reads characters and predicts the next one at every position. Training uses truncated
backpropagation through time over *contiguous* batches (``data.contiguous_batches``): row ``b`` of
one batch continues where row ``b`` of the previous batch stopped, so the recurrent state is
carried from window to window, and detached at each window's start, which cuts the graph there.
The loss is the mean cross-entropy in nats; ``/ ln 2`` turns it into bits per character (bpc).
A model that knows nothing about a vocabulary of V characters scores log2(V) bpc.

The package, in the order a run uses it: ``model.py`` (the model, its text, scoring and
sampling), ``config.py`` (``TrainConfig``, the optimizer, the learning-rate schedule),
``checkpoint.py`` (saving, loading with every field checked, the rules that protect a checkpoint
on disk) and ``training.py`` (``train``; ``fit``, a run that saves as it goes).

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

from .checkpoint import (
    Checkpoint,
    ExistingCheckpoint,
    best_checkpoint_path,
    check_replaceable,
    checkpoint_floor,
    load_checkpoint,
    save_checkpoint,
)
from .config import OPTIMIZERS, SCHEDULES, TrainConfig, learning_rate, make_optimizer
from .model import KINDS, CharLM, detach_state, evaluate, load_text, prepare, sample
from .training import TrainResult, evaluate_and_sample, fit, train, train_step, window_loss

__all__ = [
    "KINDS",
    "OPTIMIZERS",
    "SCHEDULES",
    "CharLM",
    "Checkpoint",
    "ExistingCheckpoint",
    "TrainConfig",
    "TrainResult",
    "best_checkpoint_path",
    "check_replaceable",
    "checkpoint_floor",
    "detach_state",
    "evaluate",
    "evaluate_and_sample",
    "fit",
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
