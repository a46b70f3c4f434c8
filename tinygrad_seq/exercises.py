"""Checkers for the exercises at the end of each docs chapter (the files in ``exercises/``).

A learner fills in a function in ``exercises/exN_*.py`` and runs
``python -m tinygrad_seq.exercises check N``: the checker loads that file, compares the function
with the engine (or with finite differences), and says what is wrong, or that it passes.
``python -m tinygrad_seq.exercises list`` lists them. Exit status 0 means passed, 1 failed.

>>> from tinygrad_seq import exercises
>>> exercises.EXERCISES[2].file, exercises.EXERCISES[2].chapter
('ex2_vjp.py', 'Writing your own op')
"""

import argparse
import contextlib
import importlib.util
import math
import pathlib
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from . import nn, optim, viz
from ._tensor import Tensor, apply
from .modes import eager
from .ops import primitive
from .scan import scan
from .testing import GradcheckError, gradcheck


class ExerciseFailed(Exception):
    """An exercise's function is missing, raises, or gives a wrong answer; the message says how.

    >>> check(99)
    Traceback (most recent call last):
    tinygrad_seq.exercises.ExerciseFailed: there is no exercise 99: choose one of [1, 2, ...]
    """


@dataclass(frozen=True)
class Exercise:
    """One exercise: the ``file`` in ``exercises/`` the learner fills in, the ``function`` in it
    that is checked, the docs ``chapter`` it closes, and its ``task`` in a few words.

    >>> EXERCISES[2].function, EXERCISES[2].task
    ('silu_vjp', 'the VJP of SiLU')
    """

    file: str
    function: str
    chapter: str
    task: str


EXERCISES = {
    1: Exercise(
        "ex1_chain_rule.py",
        "gradients",
        "Autodiff from scratch",
        "dL/da, dL/db, dL/dc of tanh(a*b+c)",
    ),
    2: Exercise("ex2_vjp.py", "silu_vjp", "Writing your own op", "the VJP of SiLU"),
    3: Exercise(
        "ex3_vanishing.py",
        "vanished_step",
        "The RNN and BPTT",
        "the step where the gradient has vanished",
    ),
    4: Exercise("ex4_clipping.py", "training_step", "The RNN and BPTT", "train an exploding RNN"),
    5: Exercise(
        "ex5_forget_bias.py",
        "open_forget_gate",
        "Inside the LSTM",
        "an LSTM that remembers 100 steps",
    ),
    6: Exercise(
        "ex6_gru_backward.py", "gru_backward", "The GRU", "one GRU step's backward by hand"
    ),
    7: Exercise(
        "ex7_scan_step.py",
        "leaky_step",
        "From the tape to a compiled loop",
        "a step the compiled loop replays right",
    ),
}


def default_folder():
    """``./exercises`` if it exists, else the ``exercises/`` folder of the source checkout.

    >>> default_folder().name
    'exercises'
    """
    here = pathlib.Path.cwd() / "exercises"
    return here if here.is_dir() else pathlib.Path(__file__).resolve().parent.parent / "exercises"


def check(number, folder=None):
    """Check exercise ``number`` in ``folder`` (default: ``default_folder()``); return a message
    saying it passed, or raise ``ExerciseFailed`` saying what is wrong.

    >>> import pathlib, tempfile
    >>> from tinygrad_seq import exercises
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> answer = "def gradients(a, b, c):\\n    return 0, 0, 0"
    >>> _ = (folder / "ex1_chain_rule.py").write_text(answer)
    >>> exercises.check(1, folder)
    Traceback (most recent call last):
    tinygrad_seq.exercises.ExerciseFailed: exercise 1: dL/da at a=2, b=-3, c=6.5 is ...
    """
    if number not in EXERCISES:
        raise ExerciseFailed(f"there is no exercise {number}: choose one of {sorted(EXERCISES)}")
    exercise = EXERCISES[number]
    path = pathlib.Path(folder if folder is not None else default_folder()) / exercise.file
    function = _load(number, path, exercise.function)
    _CHECKS[number](_Guarded(number, path, function))
    return f"exercise {number} passed: {exercise.task} ({path})"


def _load(number, path, name):
    if not path.is_file():
        raise ExerciseFailed(
            f"exercise {number}: {path} not found; run from the repository's root or pass --dir"
        )
    spec = importlib.util.spec_from_file_location(f"tinygrad_seq_exercise_{number}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ExerciseFailed(
            f"exercise {number}: {path} does not load: {_where(error, path)}"
        ) from None
    if not callable(getattr(module, name, None)):
        raise ExerciseFailed(f"exercise {number}: {path} has no function {name}()")
    return getattr(module, name), module


class _Guarded:
    """The learner's function, called so that a stub or a crash becomes a clear message."""

    def __init__(self, number, path, loaded):
        self.number, self.path = number, path
        self.function, self.module = loaded

    def __call__(self, *args, **kwargs):
        try:
            return self.function(*args, **kwargs)
        except NotImplementedError as error:
            raise ExerciseFailed(
                f"exercise {self.number} is not done yet: {self.function.__name__}() in "
                f"{self.path} raises NotImplementedError ({error}). Read its docstring, fill it "
                "in, and check again."
            ) from None
        except Exception as error:
            raise ExerciseFailed(
                f"exercise {self.number}: {self.function.__name__}() raised "
                f"{_where(error, self.path)}"
            ) from None

    def fail(self, message):
        raise ExerciseFailed(f"exercise {self.number}: {message}")


def _where(error, path):
    """``TypeError: ... (ex2_vjp.py, line 7: return g * x)``: the error, at its line in ``path``."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
    at = f" ({path.name}, line {frames[-1].lineno}: {frames[-1].line})" if frames else ""
    return f"{type(error).__name__}: {error}{at}"


# --- the checks: each compares the learner's answer with the engine's ----------------------------


def _check_chain_rule(gradients):
    rng = np.random.default_rng(0)
    points = [(2.0, -3.0, 6.5)] + [tuple(rng.uniform(-1.5, 1.5, 3)) for _ in range(4)]
    hints = (
        "a mul sends a its gradient times b",
        "a mul sends b its gradient times a",
        "an add passes its gradient through unchanged",
    )
    for a, b, c in points:
        leaves = [Tensor(np.float64(v), requires_grad=True) for v in (a, b, c)]
        (leaves[0] * leaves[1] + leaves[2]).tanh().backward()
        answer = gradients(a, b, c)
        if not (isinstance(answer, (tuple, list)) and len(answer) == 3):
            gradients.fail(
                f"gradients() must return 3 numbers (dL/da, dL/db, dL/dc), got {answer!r}"
            )
        for name, yours, leaf, hint in zip("abc", answer, leaves, hints):
            if not math.isclose(float(yours), float(leaf.grad), rel_tol=1e-6, abs_tol=1e-12):
                gradients.fail(
                    f"dL/d{name} at a={a:.3g}, b={b:.3g}, c={c:.3g} is {float(leaf.grad):.6g} "
                    f"(the engine's), yours is {float(yours):.6g}. Hint: 1 - tanh(u)**2 at the "
                    f"top, then {hint}."
                )


def _check_vjp(silu_vjp):
    forward = getattr(silu_vjp.module, "silu_forward", None)
    if not callable(forward):
        silu_vjp.fail(f"{silu_vjp.path} has no function silu_forward()")
    silu = primitive("exercise_silu", forward, silu_vjp)
    rng = np.random.default_rng(0)
    for x in (np.linspace(-6.0, 6.0, 13), rng.standard_normal((2, 3))):
        try:
            gradcheck(lambda t: apply(silu, t), x)
        except GradcheckError as error:
            silu_vjp.fail(
                f"silu_vjp does not match finite differences: {error}. Hint: d silu/dx = "
                "s + x * s * (1 - s) with s = sigmoid(x)."
            )


def _check_vanishing(vanished_step):
    for seed, threshold in ((0, 1e-4), (1, 1e-6), (2, 1e-30)):
        cell = nn.RNNCell(3, 16, dtype=np.float64, seed=seed)
        x = np.random.default_rng(seed).standard_normal((30, 2, 3))
        norms = viz.gradient_flow(cell, x)
        small = np.flatnonzero(norms < threshold)
        expected = int(small[-1]) if small.size else None
        answer = vanished_step(cell, x, threshold)
        if answer != expected:
            shown = "" if answer is None else f" (||dL/dh_{answer}|| = {norms[answer]:.3g})"
            gradients = ", ".join(f"{t}: {n:.2g}" for t, n in enumerate(norms))
            vanished_step.fail(
                f"for a 30-step RNNCell(3, 16, seed={seed}) and threshold {threshold:g} the last "
                f"step below it is {expected}, you returned {answer}{shown}. The gradient norms "
                f"by step: {gradients}"
            )


class _ExplodingRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(3, 16, dtype=np.float64, seed=0)
        q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((16, 16)))
        self.rnn.weight_hh_l0._data[...] = 3 * q  # docs/rnn.md: gradients grow ~x1.3 per step
        self.head = nn.Linear(16, 1, dtype=np.float64, seed=1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


def _check_clipping(training_step, steps=40, lr=0.1, max_norm=1.0):
    model = _ExplodingRNN()
    params = list(model.parameters())
    opt = optim.SGD(params, lr=lr)
    x = 0.1 * np.random.default_rng(0).standard_normal((20, 32, 3))
    target = Tensor(10 * x[-1, :, :1])
    losses = []
    for step in range(steps):
        before = [p._data.copy() for p in params]
        losses.append(float(training_step(model, opt, Tensor(x), target, max_norm)))
        moved = math.sqrt(sum(float(((p._data - b) ** 2).sum()) for p, b in zip(params, before)))
        if not math.isfinite(losses[-1]) or moved > lr * max_norm * (1 + 1e-6):
            training_step.fail(
                f"step {step} moved the weights by {moved:.3g} (loss {losses[-1]:.3g}): with "
                f"lr = {lr} and max_norm = {max_norm} no step may be longer than "
                f"{lr * max_norm:g}. Hint: nn.utils.clip_grad_norm_ between backward and step."
            )
    if not losses[-1] < 0.9 * losses[0]:
        training_step.fail(
            f"the loss went from {losses[0]:.3g} to {losses[-1]:.3g} in {steps} steps; it must go "
            "down (did the step still update the weights?)"
        )


def _check_forget_bias(open_forget_gate, hidden=16):
    cell = nn.LSTMCell(4, hidden, dtype=np.float64, seed=0)
    before = {name: p._data.copy() for name, p in cell.named_parameters()}
    open_forget_gate(cell)
    forget_rows = slice(hidden, 2 * hidden)  # PyTorch's order: i, f, g, o
    for name, p in cell.named_parameters():
        changed = p._data != before[name]
        if name.startswith("bias"):
            changed[forget_rows] = False
        if changed.any():
            row = int(np.argwhere(changed)[0][0])
            gate = "ifgo"[row // hidden]
            open_forget_gate.fail(
                f"{name} changed at row {row}, a row of gate '{gate}' (rows are stacked i, f, g, "
                f"o, {hidden} each): change only the forget gate's biases, rows {hidden}:"
                f"{2 * hidden}"
            )
    seq = np.random.default_rng(0).standard_normal((100, 1, 4))
    norms = viz.gradient_flow(cell, seq)
    if not norms[0] > 1e-3:
        forget = (cell.bias_ih._data + cell.bias_hh._data)[forget_rows]
        open_forget_gate.fail(
            f"||dL/dh_0|| over 100 steps is {norms[0]:.3g}, it must stay above 1e-3; the forget "
            f"gate's total bias is now between {forget.min():.3g} and {forget.max():.3g} "
            "(bias_ih + bias_hh; sigmoid(3) is about 0.95)"
        )


def _check_gru_backward(gru_backward, batch=2, input_size=3, hidden=4):
    cell = nn.GRUCell(input_size, hidden, dtype=np.float64, seed=0)
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((batch, input_size)), requires_grad=True)
    h = Tensor(rng.standard_normal((batch, hidden)), requires_grad=True)
    dh_new = rng.standard_normal((batch, hidden))
    (cell(x, h) * Tensor(dh_new)).sum().backward()
    engine = {"x": x.grad._data, "h": h.grad._data}
    engine.update({name: p.grad._data for name, p in cell.named_parameters()})
    weights = [cell.weight_ih._data, cell.weight_hh._data, cell.bias_ih._data, cell.bias_hh._data]
    answer = gru_backward(dh_new, x._data.copy(), h._data.copy(), *(w.copy() for w in weights))
    if not isinstance(answer, dict):
        gru_backward.fail(f"gru_backward must return a dict of gradients, got {type(answer)}")
    weights_named = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    for name, expected in engine.items():
        if name not in answer:
            gru_backward.fail(f"the dict has no '{name}' (keys needed: {list(engine)})")
        yours = np.asarray(answer[name], dtype=np.float64)
        if yours.shape != expected.shape:
            gru_backward.fail(f"'{name}' has shape {yours.shape}, {name} has {expected.shape}")
        if not np.allclose(yours, expected, rtol=1e-7, atol=1e-10):
            worst = np.unravel_index(np.argmax(np.abs(yours - expected)), yours.shape)
            block = f", a row of block {'rzn'[worst[0] // hidden]}" if name in weights_named else ""
            gru_backward.fail(
                f"the gradient of {name} differs from the engine's: at {tuple(map(int, worst))}"
                f"{block} yours is {yours[worst]:.6g}, the engine's {expected[worst]:.6g}"
            )


def _check_scan_step(leaky_step, steps=12, batch=3, size=4):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps, batch, size))
    w = Tensor(0.5 * rng.standard_normal((size, size)), requires_grad=True)
    h = np.zeros((batch, size))
    expected = []
    for t in range(steps):  # the leaky-ReLU RNN in NumPy
        pre = x[t] + h @ w._data
        h = np.where(pre > 0, pre, 0.1 * pre)
        expected.append(h)
    expected = np.stack(expected)
    runs = {}
    for mode in ("op by op (tg.eager())", "compiled"):
        w.grad = None
        with eager() if mode != "compiled" else contextlib.nullcontext():
            out, _ = scan(leaky_step, Tensor(x), (Tensor(np.zeros((batch, size))),), (w,))
        (out * out).sum().backward()
        runs[mode] = (np.asarray(out._data), np.asarray(w.grad, dtype=np.float64))
    for mode, (out, _) in runs.items():
        if out.shape != expected.shape or not np.allclose(out, expected, rtol=1e-9, atol=1e-12):
            wrong = [t for t in range(steps) if not np.allclose(out[t], expected[t])]
            first = wrong[0] if wrong else 0
            hint = (
                "the values it reads (.numpy(), .item(), np.where on them) are those of the step "
                "scan traced, replayed at every step: use tensor operations only (relu)"
                if mode == "compiled"
                else "h_t must be leaky_relu(x_t + h_{t-1} @ w), slope 0.1 below zero"
            )
            leaky_step.fail(f"run {mode}, the outputs are wrong from step {first} on: {hint}")
    op_by_op, compiled = (grad for _, grad in runs.values())
    if not np.allclose(compiled, op_by_op, rtol=1e-9, atol=1e-12):
        leaky_step.fail("the gradient of w differs between the compiled loop and tg.eager()")


_CHECKS = {
    1: _check_chain_rule,
    2: _check_vjp,
    3: _check_vanishing,
    4: _check_clipping,
    5: _check_forget_bias,
    6: _check_gru_backward,
    7: _check_scan_step,
}


def main(argv=None):
    """The command line ``python -m tinygrad_seq.exercises {check N [--dir D], list}``; returns
    the exit status (0 passed, 1 failed).

    >>> main(["list"])
    1. exercises/ex1_chain_rule.py ...
    7. exercises/ex7_scan_step.py ...
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m tinygrad_seq.exercises", description="Check the docs' exercises."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("check", help="check one exercise")
    run.add_argument("number", type=int, choices=sorted(EXERCISES))
    run.add_argument("--dir", default=None, help="the exercises folder (default: ./exercises)")
    commands.add_parser("list", help="list the exercises")
    args = parser.parse_args(argv)
    if args.command == "list":
        for number, ex in EXERCISES.items():
            print(f"{number}. exercises/{ex.file:22s} {ex.task} ({ex.chapter})")
        return 0
    try:
        print(check(args.number, args.dir))
    except ExerciseFailed as failure:
        print(failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
