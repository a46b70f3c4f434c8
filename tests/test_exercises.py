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
        (2, "g * (s + x * s * (1 - s))", "g * s", "does not match finite differences"),
        (3, "small[-1]", "small[-1] + 1", "the last step below it is"),
        (4, "nn.utils.clip_grad_norm_(model.parameters(), max_norm)", "pass", "moved the weights"),
        (5, "data[H : 2 * H] = 3.0", "data[:H] = 3.0", "a row of gate 'i'"),
        (5, "data[H : 2 * H] = 3.0", "data[H : 2 * H] = 0.5", "it must stay above 1e-3"),
        (6, "da_n * r]", "da_n]", "the gradient of h differs from the engine's"),
        (6, "dgh.sum(0)", "dgh.sum(1)", "'bias_hh' has shape (2,), bias_hh has (12,)"),
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
