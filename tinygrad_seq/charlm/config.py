"""How to train the char-LM: ``TrainConfig`` (stored in checkpoints), the optimizer it names and
its learning-rate schedule.
"""

import math
from dataclasses import dataclass

from .. import optim

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("cosine", "constant")
FINAL_LR_FRACTION = 0.05  # the cosine schedule ends at lr / 20


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


def make_optimizer(model, config):
    """The optimizer ``config.optimizer`` names, over ``model.parameters()``.

    >>> from tinygrad_seq.charlm import CharLM
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
