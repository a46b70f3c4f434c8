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

A failing block is reported with the file and the line where the block starts; line numbers in its
traceback are line numbers of the Markdown file.
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
    for start, source, flags in python_blocks(text):
        if "no-run" in flags:
            continue
        # pad with newlines so tracebacks give line numbers of the Markdown file
        code = compile("\n" * start + source, str(path), "exec")
        try:
            exec(code, namespace)
        except Exception as error:
            # the traceback from the block's own frame on, without this test's frame
            trace = "".join(traceback.format_tb(error.__traceback__.tb_next))
            pytest.fail(
                f"{path.name}: the ```python block starting at line {start} raised "
                f"{type(error).__name__}: {error}\n{trace}",
                pytrace=False,
            )


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


# --- docstring examples in the package ------------------------------------------------------------

# Missing optional dependencies excuse a module from its doctests; anything else is a failure.
OPTIONAL = {"graphviz", "matplotlib", "tqdm", "torch"}
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL


def _package_modules():
    # a subpackage that fails to import is kept in the list, so its test reports why
    names = ["tinygrad_seq"]
    for info in pkgutil.walk_packages(tinygrad_seq.__path__, "tinygrad_seq.", names.append):
        if not info.name.endswith("__main__"):  # importing __main__ would run the CLI
            names.append(info.name)
    return sorted(set(names))


MODULES = _package_modules()


def test_this_file_sees_the_package():
    assert {"tinygrad_seq.engine", "tinygrad_seq.ops", "tinygrad_seq.tensor"} <= set(MODULES)


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
    with contextlib.redirect_stdout(report):
        result = doctest.testmod(module, optionflags=DOCTEST_FLAGS, report=False)
    if result.failed:
        pytest.fail(
            f"{name}: {result.failed} of {result.attempted} docstring examples failed\n"
            f"{report.getvalue()}",
            pytrace=False,
        )
