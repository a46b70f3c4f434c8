"""The documentation runs: every ```python block in README.md and docs/*.md, and every docstring
example in the package.

Conventions for documentation authors:

- The ```python blocks of one Markdown file run in order, in one shared namespace, so a later block
  may use names from an earlier one. Blocks tagged ```bash, ```text, ```console or untagged are
  shown, not run.
- ```python no-run marks a block that is shown but not run. Use it sparingly (a block that needs a
  GPU, the network, or minutes of training); a doc whose code runs cannot drift from the code.
- The working directory is a fresh temporary directory, so files an example writes land there.
- A file containing the comment ``# needs: dot`` is skipped when Graphviz's ``dot`` is not on PATH;
  one containing ``# needs: torch`` is skipped when torch is not installed.
- Matplotlib runs with the Agg backend (no window).
- Shown outputs are tested outputs: a ``# -> ...`` comment shows what the statement it stands on
  (or directly under) prints, and the test compares them; every statement that prints must show
  its output. Numbers compare within a relative 1e-3, ``...`` stands for any text, whitespace is
  ignored: ``tests/shown_output.py`` states the rules. Output that depends on random numbers
  comes from a generator seeded in the same block (``np.random.default_rng(1)``), so that it
  does not change when an earlier block draws more or fewer numbers.

A failing block is reported with the file and the line where the block starts, a disagreeing
output with the line of its statement; line numbers are those of the Markdown file.
"""

import contextlib
import doctest
import importlib
import io
import pathlib
import pkgutil
import re
import shutil
import sys
import traceback

import pytest
import shown_output

import tinygrad_seq

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC_FILES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
DOC_FILES = [p for p in DOC_FILES if p.exists()]

# An opening fence: indentation, ``` or ~~~ (3 or more), then the info string.
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def python_blocks(text):
    """The ```python blocks of a Markdown text as (fence line, source, flags), in order; lines
    count from 1, and the source is dedented to the fence's indentation."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        words = opening["info"].strip().split()
        start, body, i = i + 1, [], i + 1
        # the block ends at a fence of the same character, at least as long, with nothing after it
        while i < len(lines) and not re.match(
            rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", lines[i]
        ):
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1  # past the closing fence
        if words and words[0] == "python":
            blocks.append((start, "".join(line + "\n" for line in body), words[1:]))
    return blocks


def _skip_unless_available(text):
    if "# needs: dot" in text and shutil.which("dot") is None:
        pytest.skip("needs Graphviz's `dot` on PATH")
    if "# needs: torch" in text:
        pytest.importorskip("torch")


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A temporary working directory and a headless matplotlib."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].switch_backend("Agg")
    yield tmp_path
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.mark.parametrize("path", DOC_FILES, ids=[p.name for p in DOC_FILES])
def test_markdown_code_blocks_run(path, sandbox):
    text = path.read_text(encoding="utf-8")
    _skip_unless_available(text)
    namespace = {"__name__": f"docs_{path.stem}"}
    problems = []
    for start, source, flags in python_blocks(text):
        if "no-run" in flags:
            continue
        try:  # line numbers in tracebacks and reports are those of the Markdown file
            problems += shown_output.run_and_compare(source, str(path), namespace, start)
        except Exception as error:
            # the traceback from the block's own frame on, without the checker's frames
            frames = traceback.extract_tb(error.__traceback__)
            trace = "".join(traceback.format_list([f for f in frames if f.filename == str(path)]))
            pytest.fail(
                f"{path.name}: the ```python block starting at line {start} raised "
                f"{type(error).__name__}: {error}\n{trace}",
                pytrace=False,
            )
    # a picture a page's code draws is one the page shows, under the same name (make_images.py)
    for made in sorted(sandbox.iterdir()):
        if made.suffix in (".svg", ".png") and not (IMAGES / made.name).exists():
            problems.append(
                f"{path.name}: the code draws {made.name}, which is not in docs/images: link it "
                f"as images/{made.name} and run python docs/make_images.py docs/{path.name}"
            )
        elif made.suffix in (".svg", ".png") and made.name not in linked_images(text):
            problems.append(f"{path.name}: the code draws {made.name} but the page never shows it")
    if problems:
        pytest.fail(
            f"{path.name}: {len(problems)} shown outputs or pictures disagree with the code\n"
            + "\n".join(problems),
            pytrace=False,
        )


IMAGES = ROOT / "docs" / "images"


def linked_images(text):
    """The file names a Markdown page links to as images/NAME (or docs/images/NAME)."""
    return set(re.findall(r"\((?:docs/)?images/([^)\s]+)\)", text))


@pytest.mark.parametrize("path", DOC_FILES, ids=[p.name for p in DOC_FILES])
def test_every_image_a_page_shows_exists(path):
    missing = sorted(
        name
        for name in linked_images(path.read_text(encoding="utf-8"))
        if not (IMAGES / name).exists()
    )
    assert not missing, f"{path.name} shows images that are not in docs/images: {missing}"


def test_markdown_parser():
    text = (
        "intro\n```python\na = 1\n```\n\n```python no-run\nb = 2\n```\n"
        "```\nnot run\n```\n- item\n\n  ```python\n  c = 3\n  ```\n~~~~python\nd = '```'\n~~~~\n"
    )
    blocks = python_blocks(text)
    assert [(start, flags) for start, _, flags in blocks] == [
        (2, []),
        (6, ["no-run"]),
        (14, []),
        (17, []),
    ]
    assert [source for _, source, _ in blocks] == ["a = 1\n", "b = 2\n", "c = 3\n", "d = '```'\n"]


def _compare(source):
    """The problems ``run_and_compare`` reports for ``source``, run in a fresh namespace."""
    return shown_output.run_and_compare(source, "page.md", {})


def test_a_drifted_output_is_reported():
    # the drift this check was written for: a page showed 0.49 and (29, 20) after the code moved
    problems = _compare(
        'print(f"{0.5:.2f} per step")  # -> 0.49 per step\nprint((13, 8))\n# -> (29, 20)\n'
    )
    assert len(problems) == 2
    assert "page.md, line 1: shows\n    0.49 per step\nbut prints\n    0.50 per step" in problems[0]
    assert "page.md, line 2: shows\n    (29, 20)\nbut prints\n    (13, 8)" in problems[1]
    assert _compare('print(f"{0.5:.2f} per step")  # -> 0.50 per step\n') == []


def test_shown_output_belongs_to_the_statement_it_stands_on_or_under():
    source = (
        "x = 2  # an ordinary comment\n"
        "for k in range(2):\n"
        "    print(k * x)\n"
        "# -> 0\n"
        "# -> 2\n"
        "# prose below the output is not compared\n"
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError as error:\n"
        "    print(error)  # -> division by ...\n"
    )
    assert _compare(source) == []
    assert (
        "shows\n    0\n    3\nbut prints\n    0\n    2"
        in _compare(source.replace("-> 2", "-> 3"))[0]
    )


def test_every_print_is_shown_and_every_shown_output_printed():
    (unshown,) = _compare("print('hello')  # hello, without the arrow\n")
    assert "line 1: prints output but shows none" in unshown and "hello" in unshown
    (silent,) = _compare("x = 1  # -> 1\n")
    assert "line 1: shows output but prints nothing" in silent
    (orphan,) = _compare("print(1)  # -> 1\n\n# -> 2\nx = 3\n")
    assert "line 3: a '# ->' comment that belongs to no statement" in orphan


@pytest.mark.parametrize(
    "shown, printed, same",
    [
        ("2.718268237192295", "2.7182682371922954", True),  # ulps apart
        ("[8.8e-09 8.1e-06]", "[8.80004e-09 8.1e-06]", True),  # within REL_TOL = 1e-3
        ("[8.8e-09 8.1e-06]", "[3.2e-09 8.1e-06]", False),
        ("[1889.4  123.1]", "[1889.4\n 123.1]", True),  # whitespace is ignored
        ("10 nodes", "11 nodes", False),  # integers are exact
        ("[6.]", "[6]", False),  # a decimal is not an integer
        ("[0.0, 0.5, nan] inf", "[0.0, 0.5, nan] inf", True),
        ("[0.0, 0.5, nan]", "[0.0, 0.5, 0.5]", False),
        ("created at ..., line ...", "created at a.py:3, line 7", True),
        ("engine gradient 3.975... vs", "engine gradient 3.975358 vs", True),
        ("error ...", "warning x", False),
    ],
)
def test_numbers_are_compared_within_the_stated_tolerance(shown, printed, same):
    assert shown_output.matches(shown, printed) is same


def test_checker_docstring_examples():
    assert doctest.testmod(shown_output, optionflags=DOCTEST_FLAGS).failed == 0


# --- docstring examples in the package ------------------------------------------------------------

# Missing optional dependencies excuse a module from its doctests; anything else is a failure.
OPTIONAL = {"graphviz", "matplotlib", "tqdm", "torch"}
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL


class TolerantChecker(doctest.OutputChecker):
    """doctest's comparison, and failing that the docs pages' one (numbers within a relative
    1e-3, see shown_output.py): a docstring's printed float survives an ulp-level change."""

    def check_output(self, want, got, optionflags):
        return super().check_output(want, got, optionflags) or shown_output.matches(want, got)


def test_docstring_checker_tolerates_ulps_not_drift():
    checker = TolerantChecker()
    assert checker.check_output("0.7310585786300049\n", "0.7310585786300048\n", DOCTEST_FLAGS)
    assert not checker.check_output("0.73\n", "0.74\n", DOCTEST_FLAGS)


def _package_modules():
    # a subpackage that fails to import is kept in the list, so its test reports why
    names = ["tinygrad_seq"]
    for info in pkgutil.walk_packages(tinygrad_seq.__path__, "tinygrad_seq.", names.append):
        if not info.name.endswith("__main__"):  # importing __main__ would run the CLI
            names.append(info.name)
    return sorted(set(names))


MODULES = _package_modules()


def test_this_file_sees_the_package():
    assert {"tinygrad_seq.engine", "tinygrad_seq.ops", "tinygrad_seq._tensor"} <= set(MODULES)


# strategies' docstrings show .example(), which hypothesis warns is meant for interactive use
@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, sandbox):
    try:
        module = importlib.import_module(name)
    except ImportError as error:
        if error.name is not None and error.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs {error.name}, which is not installed")
        raise
    report = io.StringIO()
    runner = doctest.DocTestRunner(checker=TolerantChecker(), optionflags=DOCTEST_FLAGS)
    with contextlib.redirect_stdout(report):
        for test in doctest.DocTestFinder().find(module):
            runner.run(test, out=report.write)
    result = runner.summarize(verbose=False)
    if result.failed:
        pytest.fail(
            f"{name}: {result.failed} of {result.attempted} docstring examples failed\n"
            f"{report.getvalue()}",
            pytrace=False,
        )
