"""A char-LM training run that keeps its checkpoints on disk: what the ``train`` and ``demo``
commands run, without the command line's options and printing (those are ``cli.py``'s).

``fit`` trains (``charlm.train``) and saves the checkpoint every ``save_every`` steps, at the end
and on Ctrl-C, and the weights of the best held-out evaluation beside it
(``best_checkpoint_path``). A checkpoint already on disk is protected: a run replaces it only once
it has completed as many steps (``checkpoint_floor``), and the best weights never replace a file
that is not a checkpoint (``check_replaceable``); ``ExistingCheckpoint`` says which rule stops a
run before it starts.

>>> import os, tempfile
>>> from tinygrad_seq import charlm
>>> vocab, train_ids, val_ids = charlm.prepare("abcd" * 100, val_fraction=0.2)
>>> model = charlm.CharLM(len(vocab), embedding_dim=4, hidden_size=8, seed=0)
>>> config = charlm.TrainConfig(steps=4, batch_size=2, seq_len=8, eval_every=2)
>>> path = os.path.join(tempfile.mkdtemp(), "lm.npz")
>>> result, saved = fit(model, vocab, train_ids, val_ids, config, path, save_every=2)
>>> saved, charlm.load_checkpoint(path).step, checkpoint_floor(path, steps=10)
(4, 4, 4)
"""

import os

from . import charlm

__all__ = [
    "ExistingCheckpoint",
    "best_checkpoint_path",
    "check_replaceable",
    "checkpoint_floor",
    "evaluate_and_sample",
    "fit",
]


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
        existing = charlm.load_checkpoint(path).step
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
        charlm.load_checkpoint(path)
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


def evaluate_and_sample(model, vocab, val_ids, config, prompt, length, temperature, seed):
    """(held-out scores as ``charlm.evaluate`` gives them, with ``config``'s batch shape and
    ``eval_chars``; ``length`` characters sampled after ``prompt``). A prompt character the
    vocabulary lacks raises ``ValueError``."""
    scores = charlm.evaluate(
        model,
        val_ids,
        batch_size=config.batch_size,
        seq_len=config.seq_len,
        max_chars=config.eval_chars,
    )
    return scores, charlm.sample(model, vocab, prompt, length, temperature, seed)


def fit(
    model,
    vocab,
    train_ids,
    val_ids,
    config,
    path,
    *,
    save_every=0,
    floor=0,
    best_path=None,
    callback=None,
):
    """``charlm.train`` saving as it goes; returns (its ``TrainResult``, the step last saved to
    ``path`` or None). The checkpoint is saved every ``save_every`` steps (0: never), at the end
    and on Ctrl-C; never before a step has completed, nor with fewer steps than ``floor`` (those
    of the checkpoint already at ``path``, see ``checkpoint_floor``). The weights with the best
    held-out loss go to ``best_path`` (if given) at each new best, once the run may write
    ``path``; until then at its first save. ``callback(step, loss, scores)`` (a progress bar) is
    called after each step, before anything is saved. (Example: see the module's docstring.)"""
    optimizer = charlm.make_optimizer(model, config)
    saved = [None]  # the step last saved
    best = _BestCheckpoint(best_path, model, vocab, config)

    def save(step):
        if step >= max(floor, 1) and step != saved[0]:
            charlm.save_checkpoint(path, model, vocab, optimizer, step=step, config=config)
            saved[0] = step
            best.write()

    def after_step(step, loss, scores):
        if callback is not None:
            callback(step, loss, scores)
        if scores is not None:
            best.update(scores, model)
            if step >= max(floor, 1):
                best.write()
        if save_every and step % save_every == 0:
            save(step)

    result = charlm.train(
        model, train_ids, val_ids, config, optimizer=optimizer, callback=after_step
    )
    save(result.step)
    return result, saved[0]


class _BestCheckpoint:
    """The weights of the best held-out evaluation so far, written to ``path`` (None: nowhere)
    as a checkpoint without optimizer state, when ``write`` is called and they are new."""

    def __init__(self, path, model, vocab, config):
        self.path, self.vocab, self.config = path, vocab, config
        self.model_config, self.step, self.weights, self.written = model.config, None, None, None

    def update(self, scores, model):
        if scores["best"]:
            self.step, self.weights = scores["step"], model.state_dict()

    def write(self):
        if self.path is None or self.weights is None or self.written == self.step:
            return
        model = charlm.CharLM(**self.model_config, seed=0)
        model.load_state_dict(self.weights)
        charlm.save_checkpoint(self.path, model, self.vocab, step=self.step, config=self.config)
        self.written = self.step
