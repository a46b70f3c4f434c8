"""The shell commands the README and the docs show a newcomer parse: every
``python -m tinygrad_seq <command> ...`` and ``python -m tinygrad_seq.exercises ...`` they print
names a command and options that exist (test_docs.py runs their Python blocks, not these)."""

import pathlib
import re
import shlex

import pytest

from tinygrad_seq import cli, exercises

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHOWN = [
    ROOT / "README.md",
    ROOT / "exercises" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
# a command in a ```bash block or in `backticks`, up to the end of the line, the closing
# backtick or a "# comment"; a trailing backslash continues it on the next line
_COMMAND = re.compile(r"python -m tinygrad_seq(\.exercises)? ((?:[^`#\n\\]|\\\n)*)")


def _shown_commands():
    for path in SHOWN:
        for match in _COMMAND.finditer(path.read_text(encoding="utf-8")):
            words = shlex.split(match[2].replace("\\\n", " "))
            if words and not any("{" in word or word == "N" for word in words):  # no template
                name = path.relative_to(ROOT).as_posix()
                yield pytest.param(bool(match[1]), words, id=f"{name}: {' '.join(words)}")


def test_the_readme_shows_commands():
    commands = list(_shown_commands())
    assert any(param.values[1][0] == "demo" for param in commands)
    assert any(param.values[1][0] == "graph" for param in commands)


@pytest.mark.parametrize("exercises_module, words", list(_shown_commands()))
def test_a_shown_command_parses(exercises_module, words, capsys):
    if exercises_module:  # check N [--hint K], or list: only N and K can go stale
        assert words[0] in ("check", "list"), words
        if words[0] == "check":
            assert int(words[1]) in exercises.EXERCISES, words
        return
    try:
        args = cli.build_parser().parse_args(words)
    except SystemExit as error:  # argparse printed why
        pytest.fail(f"{' '.join(words)}: exit {error.code}: {capsys.readouterr().err}")
    assert hasattr(args, "run"), words
