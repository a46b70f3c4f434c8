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


class ExerciseFailed(Exception):
    """An exercise's function is missing, raises, or gives a wrong answer; the message says how.

    >>> check(99)
    Traceback (most recent call last):
    tinygrad_seq.exercises.ExerciseFailed: there is no exercise 99: choose one of [1, 2, ...]
    """


@dataclass(frozen=True)
class Exercise:
    """One exercise: the ``file`` in ``exercises/`` the learner fills in, the ``function`` in it
    that is checked, the docs ``chapter`` it closes, its ``task`` in a few words, and its
    ``hints``, each giving away more than the one before (a failure shows the first, and says how
    to ask for the next).

    >>> EXERCISES[2].function, EXERCISES[2].task
    ('silu_vjp', 'the VJP of SiLU')
    """

    file: str
    function: str
    chapter: str
    task: str
    hints: tuple = ()  # from a nudge to the rule to the formula: ``check N --hint K`` shows K


EXERCISES = {
    1: Exercise(
        "ex1_chain_rule.py",
        "gradients",
        "Autodiff from scratch",
        "dL/da, dL/db, dL/dc of tanh(a*b+c)",
        hints=(
            "walk back from L one node at a time (the tanh, then the add, then the mul), "
            "multiplying the local derivatives as you go.",
            "d tanh(u)/du = 1 - tanh(u)**2; an add passes its gradient to both inputs "
            "unchanged; a mul sends each input the gradient times the other input.",
            "with d = 1 - tanh(a*b + c)**2: dL/da = d * b, dL/db = d * a, dL/dc = d.",
        ),
    ),
    2: Exercise(
        "ex2_vjp.py",
        "silu_vjp",
        "Writing your own op",
        "the VJP of SiLU",
        hints=(
            "silu(x) = x * sigmoid(x) is a product of two functions of x: which rule "
            "differentiates a product? The VJP returns g times that derivative.",
            "the product rule: d(u*v)/dx = u' * v + u * v', here with u = x and v = sigmoid(x), "
            "whose derivative is sigmoid(x) * (1 - sigmoid(x)); then multiply by g.",
            "dL/dx = g * (s + x * s * (1 - s)) with s = sigmoid(x) = 1 / (1 + np.exp(-x)).",
        ),
    ),
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
    8: Exercise(
        "ex8_attention_backward.py",
        "attention_backward",
        "Attention",
        "attention's backward by hand",
    ),
}


def default_folder():
    """``./exercises`` if it exists, else the ``exercises/`` folder of the source checkout.

    >>> default_folder().name
    'exercises'
    """
    here = pathlib.Path.cwd() / "exercises"
    return here if here.is_dir() else pathlib.Path(__file__).resolve().parent.parent / "exercises"


def check(number, folder=None, hint=1):
    """Check exercise ``number`` in ``folder`` (default: ``default_folder()``); return a message
    saying it passed, or raise ``ExerciseFailed`` saying what is wrong, in the learner's words
    (whatever the function returns or raises), with hint number ``hint`` where it has hints.

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
    function = _Guarded(number, path, _load(number, path, exercise.function), hint)
    try:
        _CHECKS[number](function)
    except ExerciseFailed:
        raise
    except Exception as error:  # the checks name each wrong kind of answer; this is the net
        raise ExerciseFailed(
            f"exercise {number}: the checker could not use what {exercise.function}() gave it "
            f"({type(error).__name__}: {error}); compare what it returns with its docstring"
        ) from None
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

    def __init__(self, number, path, loaded, hint=1):
        self.number, self.path, self.hint_level = number, path, hint
        self.function, self.module = loaded
        self.__name__ = self.function.__name__

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

    def hint(self):
        """The hint asked for (the first by default), and how to ask for the next one."""
        hints = EXERCISES[self.number].hints
        level = min(max(self.hint_level, 1), len(hints))
        more = len(hints) - level
        then = f" Stuck? Next hint: python -m tinygrad_seq.exercises check {self.number} --hint "
        return f"Hint {level} of {len(hints)}: {hints[level - 1]}" + (
            f"{then}{level + 1}" if more else ""
        )


def _where(error, path):
    """``TypeError: ... (ex2_vjp.py, line 7: return g * x)``: the error, at its line in ``path``."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
    at = f" ({path.name}, line {frames[-1].lineno}: {frames[-1].line})" if frames else ""
    return f"{type(error).__name__}: {error}{at}"


# --- what the learner's function gave back, described and checked in the learner's words --------


def _describe(value):
    """A learner's value in a few words: "None", "the float 0.5", "an array of shape (2,)"."""
    if value is None:
        return "None"
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)} ({value.dtype})"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return f"NaN (the {type(value).__name__} nan: not a number)"
    if isinstance(value, (bool, int, float, complex, str, np.generic)):
        return f"the {type(value).__name__} {value!r}"
    if isinstance(value, (tuple, list, dict)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return f"a {type(value).__name__}"


def _as_array(value):
    """``value`` as a NumPy array if it is a number, an array or a tensor; else None."""
    if isinstance(value, Tensor):
        return np.asarray(value._data)
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (np.ndarray, int, float, complex, np.generic)):
        return np.asarray(value)
    return None


def _checked_number(value, what, fail):
    """``value`` as a float if it is one real, finite number; else ``fail`` says what it is."""
    array = _as_array(value)
    if array is None or array.shape != ():
        fail(f"{what} must be one number; it is {_describe(value)}")
    if array.dtype.kind not in "fiu":
        fail(f"{what} must be a real number; it is {_describe(value)}")
    number = float(array)
    if not math.isfinite(number):
        fail(f"{what} is {number}: NaN or infinite, where a finite number is expected")
    return number


def _checked_array(value, like, what, fail):
    """``value`` as a float64 array shaped like ``like``, real and finite; else ``fail`` says
    how it differs (a float, None, a wrong shape, a complex dtype, NaN)."""
    array = _as_array(value)
    if array is None or (array.shape == () and like.shape != ()):
        fail(f"{what} is {_describe(value)}; it must be an array of shape {like.shape}")
    if array.shape != like.shape:
        fail(f"{what} has shape {array.shape}, it must have shape {like.shape}")
    if array.dtype.kind not in "fiu":
        fail(f"{what} has dtype {array.dtype}; gradients of real numbers are real (float64)")
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        at = tuple(int(i) for i in bad[0])
        fail(f"{what} holds NaN or infinite values ({len(bad)} of {array.size}, the first at {at})")
    return array.astype(np.float64)


# --- the checks: each compares the learner's answer with the engine's ----------------------------


def _check_chain_rule(gradients):
    rng = np.random.default_rng(0)
    points = [(2.0, -3.0, 6.5)] + [tuple(rng.uniform(-1.5, 1.5, 3)) for _ in range(4)]
    for a, b, c in points:
        leaves = [Tensor(np.float64(v), requires_grad=True) for v in (a, b, c)]
        (leaves[0] * leaves[1] + leaves[2]).tanh().backward()
        at = f"a={a:.3g}, b={b:.3g}, c={c:.3g}"
        answer = gradients(a, b, c)
        if not (isinstance(answer, (tuple, list)) and len(answer) == 3):
            gradients.fail(
                f"gradients() must return 3 numbers (dL/da, dL/db, dL/dc); at {at} it returned "
                f"{_describe(answer)}"
            )
        for name, yours, leaf in zip("abc", answer, leaves):
            yours = _checked_number(yours, f"dL/d{name} at {at}", gradients.fail)
            expected = float(np.asarray(leaf.grad._data))
            if not math.isclose(yours, expected, rel_tol=1e-6, abs_tol=1e-12):
                gradients.fail(
                    f"dL/d{name} at {at} is {expected:.6g} (the engine's), yours is "
                    f"{yours:.6g}. {gradients.hint()}"
                )


def _check_vjp(silu_vjp):
    """The learner's silu_vjp called alone against central differences of silu_forward (the
    messages speak of x, g and the slope), then declared as a primitive and run by backward."""
    forward = getattr(silu_vjp.module, "silu_forward", None)
    if not callable(forward):
        silu_vjp.fail(f"{silu_vjp.path} has no function silu_forward()")
    rng = np.random.default_rng(0)
    inputs = (np.linspace(-6.0, 6.0, 13), rng.standard_normal((2, 3)))
    for x in inputs:
        slope = (forward(x + 1e-6) - forward(x - 1e-6)) / 2e-6  # silu_forward's, elementwise
        for g in (np.ones_like(x), rng.uniform(-2.0, 2.0, x.shape)):
            returned = silu_vjp(g.copy(), forward(x), x.copy())
            what = f"what silu_vjp(g, out, x) returned for x of shape {x.shape}"
            yours = _checked_array(returned, x, what, silu_vjp.fail)
            _compare_vjp(silu_vjp, x, g, slope, yours)
    silu = primitive("exercise_silu", forward, silu_vjp)
    for x in inputs:  # now as an op of its own, inside a graph that backward walks
        g = rng.uniform(-2.0, 2.0, x.shape)
        leaf = Tensor(x.copy(), requires_grad=True)
        (apply(silu, leaf) * Tensor(g)).sum().backward()
        expected = g * (forward(x + 1e-6) - forward(x - 1e-6)) / 2e-6
        got = np.asarray(leaf.grad._data)
        if not np.allclose(got, expected, rtol=1e-5, atol=1e-6):
            i = np.unravel_index(np.argmax(np.abs(got - expected)), x.shape)
            silu_vjp.fail(
                "called alone your silu_vjp gives the right dL/dx, but declared as a primitive "
                f"and run by backward() it gives {got[i]:.6g} at x = {x[i]:.3g} where "
                f"{expected[i]:.6g} is right: does it change g, out or x in place?"
            )


def _compare_vjp(silu_vjp, x, g, slope, yours):
    expected = g * slope
    if np.allclose(yours, expected, rtol=1e-5, atol=1e-6):
        return
    if not np.allclose(g, 1.0) and np.allclose(yours, slope, rtol=1e-5, atol=1e-6):
        silu_vjp.fail(
            "your silu_vjp returns the slope of silu itself, which is right only when g = 1: "
            "the VJP multiplies it by g = dL/dout, the gradient arriving from above"
        )
    i = np.unravel_index(np.argmax(np.abs(yours - expected)), x.shape)
    with_g = "" if np.allclose(g, 1.0) else f" and g = {g[i]:.3g}"
    silu_vjp.fail(
        f"at x = {x[i]:.3g}{with_g}, your silu_vjp returned dL/dx = {yours[i]:.6g}; the slope of "
        f"silu_forward there is {slope[i]:.6g} (by finite differences), so dL/dx = g * slope = "
        f"{expected[i]:.6g}. {silu_vjp.hint()}"
    )


def _check_vanishing(vanished_step):
    for seed, threshold in ((0, 1e-4), (1, 1e-6), (2, 1e-30)):
        cell = nn.RNNCell(3, 16, dtype=np.float64, seed=seed)
        x = np.random.default_rng(seed).standard_normal((30, 2, 3))
        norms = viz.gradient_flow(cell, x)
        small = np.flatnonzero(norms < threshold)
        expected = int(small[-1]) if small.size else None
        answer = vanished_step(cell, x, threshold)
        is_int = isinstance(answer, (int, np.integer)) and not isinstance(answer, (bool, np.bool_))
        if answer is not None and not (is_int and 0 <= answer < len(norms)):
            vanished_step.fail(
                f"vanished_step must return a step number, an int from 0 to {len(norms) - 1} "
                f"(or None if no step is below the threshold); it returned {_describe(answer)}"
            )
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
        before = {name: p._data.copy() for name, p in model.named_parameters()}
        returned = training_step(model, opt, Tensor(x), target, max_norm)
        what = f"what training_step returned at step {step} (the loss, as loss.item())"
        losses.append(_checked_number(returned, what, training_step.fail))
        _check_weights(model, before, f"after step {step}", training_step.fail)
        moved = math.sqrt(
            sum(float(((p._data - before[n]) ** 2).sum()) for n, p in model.named_parameters())
        )
        if moved > lr * max_norm * (1 + 1e-6):
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


def _check_weights(module, before, when, fail):
    """``fail`` unless ``module``'s parameters are those named in ``before`` ({name: its values
    before}), each with its shape and dtype and finite: written in place, not replaced."""
    params = dict(module.named_parameters())
    for name, old in before.items():
        p = params.get(name)
        if p is None:
            now = _describe(getattr(module, name.rsplit(".", 1)[-1], None))
            fail(f"{when}, {name} is no longer a parameter: it is {now}; write into it in place")
        data = p._data
        if data.shape != old.shape or data.dtype != old.dtype:
            fail(
                f"{when}, {name} is {_describe(data)}; it was {_describe(old)}: change its values "
                "in place (p.data[...] = ...), keeping its shape and dtype"
            )
        bad = np.argwhere(~np.isfinite(data))
        if bad.size:
            at = tuple(int(i) for i in bad[0])
            fail(f"{when}, {name} holds NaN or infinite values, the first at {at}")


def _check_forget_bias(open_forget_gate, hidden=16):
    cell = nn.LSTMCell(4, hidden, dtype=np.float64, seed=0)
    before = {name: p._data.copy() for name, p in cell.named_parameters()}
    open_forget_gate(cell)
    _check_weights(cell, before, "after open_forget_gate(cell)", open_forget_gate.fail)
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
    weights_named = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

    def block(name, worst):  # the stacked weights' rows are the r, z, n blocks
        return f", a row of block {'rzn'[worst[0] // hidden]}" if name in weights_named else ""

    _compare_gradients(gru_backward, "gru_backward", answer, engine, where=block)


def _validated_step(leaky_step, batch, size):
    """The learner's step as scan replays it, its output checked: (h_t,) of the state's shape."""

    def step(x_t, state, w):
        new = leaky_step(x_t, state, w)
        if not (isinstance(new, (tuple, list)) and len(new) == 1):
            leaky_step.fail(
                "leaky_step must return a tuple of one tensor, (h_t,); it returned "
                f"{_describe(new)}"
            )
        h = new[0]
        if not isinstance(h, Tensor):
            leaky_step.fail(
                f"leaky_step must return (h_t,) with h_t a tensor; h_t is {_describe(h)}"
            )
        if tuple(h.shape) != (batch, size) or h.dtype != np.float64:
            leaky_step.fail(
                f"leaky_step's h_t is {_describe(h)}; it must be like the state it got, of "
                f"shape {(batch, size)} (float64): keep the shape and dtype"
            )
        return new

    return step


def _leaky_rnn_in_numpy(x, w):
    """The states of the leaky-ReLU RNN h_t = leaky_relu(x_t + h_{t-1} @ w), slope 0.1."""
    h = np.zeros(x.shape[1:])
    expected = []
    for x_t in x:
        pre = x_t + h @ w
        h = np.where(pre > 0, pre, 0.1 * pre)
        expected.append(h)
    return np.stack(expected)


def _check_scan_outputs(leaky_step, mode, out, expected):
    """The outputs of one run (``mode``) finite and equal to the NumPy RNN's, step by step."""
    steps = len(expected)
    broken = [t for t in range(steps) if not np.isfinite(out[t]).all()]
    if broken:
        leaky_step.fail(
            f"run {mode}, leaky_step gives NaN or infinite values from step {broken[0]} on"
        )
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


def _check_scan_step(leaky_step, steps=12, batch=3, size=4):
    step = _validated_step(leaky_step, batch, size)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps, batch, size))
    w = Tensor(0.5 * rng.standard_normal((size, size)), requires_grad=True)
    expected = _leaky_rnn_in_numpy(x, w._data)
    runs = {}
    for mode in ("op by op (tg.eager())", "compiled"):
        w.grad = None
        with eager() if mode != "compiled" else contextlib.nullcontext():
            out, _ = scan(step, Tensor(x), (Tensor(np.zeros((batch, size))),), (w,))
        if not out.requires_grad:  # else backward() fails, in words of its own
            leaky_step.fail(
                f"run {mode}, leaky_step's h_t has no graph: it is not computed from state[0] "
                "and w with tensor operations (a tensor made from NumPy values, .numpy() or "
                "tg.Tensor(...), starts a new graph), so no gradient can reach w"
            )
        (out * out).sum().backward()
        runs[mode] = (np.asarray(out._data), np.asarray(w.grad, dtype=np.float64))
    for mode, (out, _) in runs.items():
        _check_scan_outputs(leaky_step, mode, out, expected)
    op_by_op, compiled = (grad for _, grad in runs.values())
    if not np.allclose(compiled, op_by_op, rtol=1e-9, atol=1e-12):
        leaky_step.fail("the gradient of w differs between the compiled loop and tg.eager()")


def _check_attention_backward(attention_backward, batch=2, queries=3, keys=4, d=5):
    rng = np.random.default_rng(0)
    q, k, v = (
        Tensor(rng.standard_normal((batch, n, d)), requires_grad=True)
        for n in (queries, keys, keys)
    )
    dcontext = rng.standard_normal((batch, queries, d))
    (nn.functional.scaled_dot_product_attention(q, k, v) * Tensor(dcontext)).sum().backward()
    engine = {"q": q.grad._data, "k": k.grad._data, "v": v.grad._data}
    answer = attention_backward(dcontext, *(t._data.copy() for t in (q, k, v)))
    _compare_gradients(attention_backward, "attention_backward", answer, engine)


def _compare_gradients(exercise, name, answer, engine, where=None):
    """The learner's dict of gradients (``answer``) against the engine's, key by key: each key
    present, each array of the right shape and close; ``where(key, index)`` adds words about the
    worst entry (which block of rows it is in)."""
    if not isinstance(answer, dict):
        exercise.fail(f"{name} must return a dict of gradients; it returned {_describe(answer)}")
    for key, expected in engine.items():
        if key not in answer:
            exercise.fail(f"the dict has no '{key}' (keys needed: {list(engine)})")
        what = f"the dict's '{key}' (dL/d{key})"
        yours = _checked_array(answer[key], expected, what, exercise.fail)
        if not np.allclose(yours, expected, rtol=1e-7, atol=1e-10):
            worst = tuple(
                int(i) for i in np.unravel_index(np.argmax(np.abs(yours - expected)), yours.shape)
            )
            more = where(key, worst) if where else ""
            exercise.fail(
                f"the gradient of {key} differs from the engine's: at {worst}{more} yours is "
                f"{yours[worst]:.6g}, the engine's {expected[worst]:.6g}"
            )


_CHECKS = {
    1: _check_chain_rule,
    2: _check_vjp,
    3: _check_vanishing,
    4: _check_clipping,
    5: _check_forget_bias,
    6: _check_gru_backward,
    7: _check_scan_step,
    8: _check_attention_backward,
}


def main(argv=None):
    """The command line ``python -m tinygrad_seq.exercises {check N [--dir D] [--hint K], list}``;
    returns the exit status (0 passed, 1 failed).

    >>> main(["list"])
    1. exercises/ex1_chain_rule.py ...
    8. exercises/ex8_attention_backward.py ...
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m tinygrad_seq.exercises", description="Check the docs' exercises."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("check", help="check one exercise")
    run.add_argument("number", type=int, choices=sorted(EXERCISES))
    run.add_argument("--dir", default=None, help="the exercises folder (default: ./exercises)")
    run.add_argument(
        "--hint",
        type=int,
        choices=(1, 2, 3),
        default=1,
        help="which hint to show on a failure: 1 a nudge, 2 the rule, 3 the formula (default 1)",
    )
    commands.add_parser("list", help="list the exercises")
    args = parser.parse_args(argv)
    if args.command == "list":
        for number, ex in EXERCISES.items():
            print(f"{number}. exercises/{ex.file:22s} {ex.task} ({ex.chapter})")
        return 0
    try:
        print(check(args.number, args.dir, args.hint))
    except ExerciseFailed as failure:
        print(failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
