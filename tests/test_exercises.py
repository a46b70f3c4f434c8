"""The exercises: the stubs in exercises/ fail their checks with a helpful message, the reference
solutions in tests/exercise_solutions/ pass, and typical mistakes are named."""

import pathlib
import textwrap

import pytest

from tinygrad_seq import exercises

ROOT = pathlib.Path(__file__).resolve().parent.parent
STUBS = ROOT / "exercises"
SOLUTIONS = pathlib.Path(__file__).resolve().parent / "exercise_solutions"
NUMBERS = sorted(exercises.EXERCISES)


def test_every_exercise_has_a_stub_and_a_solution():
    for exercise in exercises.EXERCISES.values():
        assert (STUBS / exercise.file).is_file(), exercise.file
        assert (SOLUTIONS / exercise.file).is_file(), exercise.file


@pytest.mark.parametrize("number", NUMBERS)
def test_the_stub_as_shipped_fails_with_a_helpful_message(number):
    exercise = exercises.EXERCISES[number]
    with pytest.raises(exercises.ExerciseFailed) as failure:
        exercises.check(number, STUBS)
    message = str(failure.value)
    assert message.startswith(f"exercise {number}")
    if number == 4:  # the stub runs: it trains without clipping, and the loss runs away
        assert "no step may be longer than 0.1" in message and "clip_grad_norm_" in message
    elif number == 7:  # the stub runs: right op by op, wrong compiled (it reads .data)
        assert "run compiled, the outputs are wrong from step 1 on" in message
        assert "use tensor operations only" in message
    else:
        assert "is not done yet" in message and exercise.file in message
        assert f"{exercise.function}()" in message


@pytest.mark.parametrize("number", NUMBERS)
def test_the_reference_solution_passes(number):
    assert exercises.check(number, SOLUTIONS).startswith(f"exercise {number} passed")


def _with_change(tmp_path, number, old, new):
    """A copy of the reference solution with one mistake: ``old`` replaced by ``new``."""
    name = exercises.EXERCISES[number].file
    source = (SOLUTIONS / name).read_text()
    assert old in source
    (tmp_path / name).write_text(source.replace(old, new))
    with pytest.raises(exercises.ExerciseFailed) as failure:
        exercises.check(number, tmp_path)
    return str(failure.value)


@pytest.mark.parametrize(
    "number, old, new, expected",
    [
        (1, "d * b, d * a", "d * a, d * b", "dL/da at a=2, b=-3, c=6.5 is -2.35934"),
        (2, "g * (s + x * s * (1 - s))", "g * s", "the slope of silu_forward there is"),
        (2, "g * (s + x * s * (1 - s))", "s + x * s * (1 - s)", "right only when g = 1"),
        (3, "small[-1]", "small[-1] + 1", "the last step below it is"),
        (4, "nn.utils.clip_grad_norm_(model.parameters(), max_norm)", "pass", "moved the weights"),
        (5, "data[H : 2 * H] = 3.0", "data[:H] = 3.0", "a row of gate 'i'"),
        (5, "data[H : 2 * H] = 3.0", "data[H : 2 * H] = 0.5", "it must stay above 1e-3"),
        (6, "da_n * r]", "da_n]", "the gradient of h differs from the engine's"),
        (
            6,
            "dgh.sum(0)",
            "dgh.sum(1)",
            "'bias_hh' (dL/dbias_hh) has shape (2,), it must have shape (12,)",
        ),
        (6, '"x": dgx @ weight_ih,', "", "the dict has no 'x'"),
        (7, "0.1 * (-pre)", "0.2 * (-pre)", "run op by op (tg.eager()), the outputs are wrong"),
    ],
)
def test_a_mistake_is_named(tmp_path, number, old, new, expected):
    assert expected in _with_change(tmp_path, number, old, new)


def test_a_crash_names_the_line(tmp_path):
    message = _with_change(tmp_path, 2, "s = 1.0 / (1.0 + np.exp(-x))", "s = 1.0 / (1.0 + y)")
    assert "NameError" in message and "ex2_vjp.py, line 9: s = 1.0 / (1.0 + y)" in message


def test_a_missing_file_or_function_is_named(tmp_path):
    with pytest.raises(exercises.ExerciseFailed, match="ex1_chain_rule.py not found"):
        exercises.check(1, tmp_path)
    (tmp_path / "ex1_chain_rule.py").write_text("def gradient(a, b, c):\n    pass\n")
    with pytest.raises(exercises.ExerciseFailed, match=r"has no function gradients\(\)"):
        exercises.check(1, tmp_path)
    (tmp_path / "ex1_chain_rule.py").write_text("def gradients(a, b, c)\n")
    with pytest.raises(exercises.ExerciseFailed, match="does not load: SyntaxError"):
        exercises.check(1, tmp_path)
    with pytest.raises(exercises.ExerciseFailed, match="there is no exercise 9"):
        exercises.check(9, tmp_path)


def test_the_command_line(tmp_path, capsys):
    assert exercises.main(["check", "1", "--dir", str(SOLUTIONS)]) == 0
    assert "exercise 1 passed" in capsys.readouterr().out
    assert exercises.main(["check", "1", "--dir", str(STUBS)]) == 1
    assert "is not done yet" in capsys.readouterr().err
    assert exercises.main(["list"]) == 0
    listing = capsys.readouterr().out
    assert all(ex.file in listing for ex in exercises.EXERCISES.values())


def test_the_stubs_say_how_to_check_them():
    for number, exercise in exercises.EXERCISES.items():
        text = (STUBS / exercise.file).read_text()
        assert f"python -m tinygrad_seq.exercises check {number}" in text
        runs_as_shipped = number in (4, 7)  # and fails its check, saying why
        assert textwrap.dedent(text).count("NotImplementedError") == (not runs_as_shipped)


# --- a learner's wrong answer of any kind gets a message in the learner's words -------------------

# For each exercise, a file whose function gives back {value}; before it, what {value} needs.
_PROLOGUE = {
    1: "",
    2: "def silu_forward(x):\n    return x / (1.0 + np.exp(-x))\n\n\n",
    3: "",
    4: "",
    5: "",
    6: "",
    7: "",
    8: "",
}
_BODY = {  # the function's body, with {value} where the wrong answer goes
    1: "def gradients(a, b, c):\n    return {value}\n",
    2: "def silu_vjp(g, out, x):\n    return {value}\n",
    3: "def vanished_step(cell, x, threshold):\n    return {value}\n",
    4: "def training_step(model, opt, x, target, max_norm=1.0):\n    return {value}\n",
    5: "def open_forget_gate(cell):\n    {value}\n",
    6: "def gru_backward(*args):\n    grads = _right(*args)\n    grads['x'] = {value}\n"
    "    return grads\n",
    7: "def leaky_step(x_t, state, w):\n    pre = x_t + state[0] @ w\n    return {value}\n",
    8: "def attention_backward(*args):\n    grads = _right(*args)\n    grads['q'] = {value}\n"
    "    return grads\n",
}
_WRONG = {  # kind -> {exercise: the wrong value}; every exercise meets every kind
    "float": {
        1: "0.5", 2: "0.5", 3: "3.5", 4: "0.5", 5: "cell.bias_hh = 3.0", 6: "0.5", 7: "0.5",
        8: "0.5",
    },
    "None": {
        1: "None", 2: "None", 3: "None", 4: "None", 5: "cell.bias_hh = None", 6: "None",
        7: "None", 8: "None",
    },
    "shape": {
        1: "(np.zeros(2), 0.0, 0.0)", 2: "g[:1]", 3: "np.array([1, 2])", 4: "np.zeros(3)",
        5: "cell.bias_hh.data = np.zeros(3)", 6: "grads['x'][:1]", 7: "(pre.sum(0),)",
        8: "grads['q'][:1]",
    },
    "NaN": {
        1: "(float('nan'), 0.0, 0.0)", 2: "g * np.nan", 3: "float('nan')", 4: "float('nan')",
        5: "cell.bias_hh.data[...] = np.nan", 6: "grads['x'] * np.nan", 7: "(pre * np.nan,)",
        8: "grads['q'] * np.nan",
    },
    "exception": dict.fromkeys(range(1, 9), "_oops()"),
    "dtype": {
        1: "(1 + 2j, 0.0, 0.0)", 2: "g.astype(complex)", 3: "5 + 0j", 4: "1 + 0j",
        5: "cell.bias_hh.data = cell.bias_hh.data.astype(complex)",
        6: "grads['x'].astype(complex)", 7: "(pre.to(tg.float32),)",
        8: "grads['q'].astype(complex)",
    },
}  # fmt: skip
_SAID = {  # kind -> what the message must name (besides the function)
    "float": ("float",),
    "None": ("None",),
    "shape": ("shape",),
    "NaN": ("NaN",),
    "exception": ("ValueError", "my own bug", "line"),
    "dtype": ("complex",),
}
_HEADER = (
    "import numpy as np\n\nimport tinygrad_seq as tg\n\n\n"
    "def _oops():\n    raise ValueError('my own bug')\n\n\n"
)


@pytest.mark.parametrize("kind", sorted(_WRONG))
@pytest.mark.parametrize("number", NUMBERS)
def test_every_kind_of_wrong_answer_gets_a_message_in_the_learners_words(tmp_path, number, kind):
    exercise = exercises.EXERCISES[number]
    source = _HEADER + _PROLOGUE[number]
    if number in (6, 8):  # the reference solution, renamed, gives the right gradients to spoil
        solution = (SOLUTIONS / exercise.file).read_text()
        source += solution.replace(f"def {exercise.function}", "def _right") + "\n\n"
    if number == 4:  # a step that trains (clipped), then returns the wrong kind of loss
        source += _BODY[4].replace(
            "    return",
            "    loss = ((model(x) - target) ** 2).mean()\n    opt.zero_grad()\n"
            "    loss.backward()\n    tg.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n"
            "    opt.step()\n    return",
        )
    else:
        source += _BODY[number]
    (tmp_path / exercise.file).write_text(source.replace("{value}", _WRONG[kind][number]))
    with pytest.raises(exercises.ExerciseFailed) as failure:
        exercises.check(number, tmp_path)
    message = str(failure.value)
    assert message.startswith(f"exercise {number}: "), message
    for engine_word in ("engine", "unbroadcast", "<locals>", "<lambda>", "Traceback", "gradcheck"):
        assert engine_word not in message, message
    said = {(4, "float"): ("loss",), (7, "dtype"): ("float32", "dtype")}.get((number, kind))
    said = said or _SAID[kind]  # (a float is a loss's type; a tensor's dtype cannot be complex)
    assert all(word in message for word in said), message
    if kind != "exception" and (number, kind) != (4, "float"):
        assert "checker could not use" not in message, message  # named, not caught by the net


def test_exercise_2_names_things_as_the_learner_knows_them_and_hints_escalate(tmp_path):
    source = (SOLUTIONS / "ex2_vjp.py").read_text()
    wrong = source.replace("g * (s + x * s * (1 - s))", "g * x * s * (1 - s)")
    (tmp_path / "ex2_vjp.py").write_text(wrong)
    messages = []
    for hint in (1, 2, 3):
        with pytest.raises(exercises.ExerciseFailed) as failure:
            exercises.check(2, tmp_path, hint=hint)
        messages.append(str(failure.value))
    first, rule, formula = messages
    assert "at x = 6, your silu_vjp returned dL/dx = " in first
    assert "the slope of silu_forward there" in first and "engine" not in first
    assert "Hint 1 of 3" in first and "product" in first and "s + x * s" not in first
    assert "--hint 2" in first
    assert "Hint 2 of 3" in rule and "product rule" in rule and "s + x * s" not in rule
    assert "--hint 3" in rule
    assert "Hint 3 of 3" in formula and "g * (s + x * s * (1 - s))" in formula
    assert "Next hint" not in formula


def test_the_command_line_passes_the_hint_asked_for(tmp_path, capsys):
    source = (SOLUTIONS / "ex2_vjp.py").read_text()
    (tmp_path / "ex2_vjp.py").write_text(source.replace("(s + x * s * (1 - s))", "s"))
    assert exercises.main(["check", "2", "--dir", str(tmp_path), "--hint", "3"]) == 1
    assert "Hint 3 of 3" in capsys.readouterr().err


@pytest.mark.parametrize(
    "answer",
    [
        "(tg.Tensor(np.where(pre.numpy() > 0, pre.numpy(), 0.1 * pre.numpy())),)",  # via NumPy
        "(x_t,)",  # ignores the state and w
    ],
)
def test_exercise_7_a_step_whose_output_has_no_graph_is_named(tmp_path, answer):
    """A step built from NumPy values (or not from w at all) gives h_t no graph: backward cannot
    run, and the learner is told why, not shown backward()'s RuntimeError through the net."""
    body = _BODY[7].replace("{value}", answer)
    (tmp_path / "ex7_scan_step.py").write_text(_HEADER + body)
    with pytest.raises(exercises.ExerciseFailed) as failure:
        exercises.check(7, tmp_path)
    message = str(failure.value)
    assert message.startswith("exercise 7: "), message
    assert "checker could not use" not in message and "backward()" not in message, message
    assert "tensor operations" in message and "w" in message, message
