"""The docs site (mkdocs.yml, built by `mkdocs build --strict` in CI): every page is in the
navigation in reading order, every module of the package is in the API reference, and the two
helpers mkdocs.yml loads from docs/ do what they say."""

import fnmatch
import importlib.util
import pathlib
import pkgutil
import posixpath
import re
import subprocess
import sys
import types

import pytest

import tinygrad_seq

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nav_pages():
    # mkdocs.yml's nav as "  - Title: page.md" lines (read without a YAML parser)
    config = (ROOT / "mkdocs.yml").read_text()
    nav = config.split("\nnav:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\s+- [^:]+: (\S+\.md)$", nav, flags=re.M)


def test_the_navigation_has_every_page_in_the_order_of_the_index():
    pages = _nav_pages()
    assert sorted(pages) == sorted(p.name for p in DOCS.glob("*.md"))
    chapters = re.findall(r"^\d+\. \[[^\]]+\]\((\w+\.md)\)", (DOCS / "index.md").read_text(), re.M)
    assert pages == ["index.md", *chapters]


def test_the_api_reference_names_every_module():
    directives = re.findall(r"^::: (\S+)$", (DOCS / "api.md").read_text(), flags=re.M)
    for name in directives:
        assert importlib.util.find_spec(name) is not None, f"api.md: no module {name}"
    modules = [
        info.name
        for info in pkgutil.iter_modules(tinygrad_seq.__path__, "tinygrad_seq.")
        if not info.name.rsplit(".", 1)[1].startswith("_")
    ]
    missing = sorted(set(modules) - set(directives))
    assert not missing, f"docs/api.md has no '::: name' for {missing}"


def test_docstring_examples_become_code_blocks():
    fence = _load("griffe_doctests").fence_doctests
    text = "Sum.\n\n>>> [p for p in (1, 2)]\n[1, 2]\n\nMore.\n    >>> x = 1"
    assert fence(text) == (
        "Sum.\n\n```pycon\n>>> [p for p in (1, 2)]\n[1, 2]\n```\n\nMore.\n"
        "    ```pycon\n    >>> x = 1\n    ```"
    )


def test_links_out_of_docs_point_into_the_repository_or_become_text():
    hook = _load("mkdocs_hooks").on_page_markdown
    page = "See [ops.py](../tinygrad_seq/ops.py) and [the GRU](gru.md)."
    assert hook(page, None, {}, None) == "See ops.py and [the GRU](gru.md)."
    with_repo = hook(page, None, {"repo_url": "https://github.com/u/r/"}, None)
    assert "[ops.py](https://github.com/u/r/blob/main/tinygrad_seq/ops.py)" in with_repo


# --- links to excluded files, zoomable drawings, code that fits the page ------------------------


def _excluded_patterns():
    # mkdocs.yml's exclude_docs block ("exclude_docs: |" and its indented lines)
    config = (ROOT / "mkdocs.yml").read_text()
    block = config.split("\nexclude_docs: |\n", 1)[1]
    return [line.strip() for line in block.splitlines() if line.startswith(" ") and line.strip()]


class _Files:
    """mkdocs' ``Files`` as the hook asks it: a file of docs/ by path, and whether it is excluded
    (``exclude_docs`` patterns are gitignore-style; ``*.py`` matches a name in any folder)."""

    def __init__(self, patterns):
        self.patterns = patterns

    def get_file_from_path(self, path):
        if not (DOCS / path).is_file():
            return None
        excluded = any(fnmatch.fnmatch(posixpath.basename(path), p) for p in self.patterns)
        return types.SimpleNamespace(inclusion=types.SimpleNamespace(is_excluded=lambda: excluded))


def _page(name):
    return types.SimpleNamespace(file=types.SimpleNamespace(src_uri=name))


def test_a_link_to_a_file_the_site_excludes_is_a_warning(caplog):
    hooks = _load("mkdocs_hooks")
    files = _Files(["*.py"])
    markdown = "[script](quoted_numbers.py), [page](gru.md), [out](../docs/quoted_numbers.py)"
    assert hooks.excluded_targets(markdown, "index.md", files) == ["quoted_numbers.py"]
    with caplog.at_level("WARNING", logger="mkdocs"):
        hooks.on_page_markdown(markdown, _page("index.md"), {}, files)
    assert "quoted_numbers.py" in caplog.text and "excludes" in caplog.text


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_no_page_links_to_a_file_the_site_excludes(path):
    # mkdocs only notes such a link (INFO), and the built site answers it with a 404
    hooks = _load("mkdocs_hooks")
    found = hooks.excluded_targets(path.read_text(), path.name, _Files(_excluded_patterns()))
    assert not found, f"{path.name} links to {found}, which the site excludes: link ../docs/..."


def _pictures(text):
    """(alt, target) of every Markdown image on a page."""
    return re.findall(r"!\[([^\]]*)\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_every_drawing_opens_full_size_on_click(path):
    # the big ones (every operation of an unrolled LSTM, the explorer) are unreadable at the
    # page's width: each picture is a link to its own file, which the browser shows full size
    text = path.read_text()
    for alt, target in _pictures(text):
        assert f"[![{alt}]({target})]({target})" in text, f"{path.name}: {target} is not a link"


def _code_blocks(text):
    """(fence line, info string, lines) of every fenced code block."""
    blocks, info, start, lines = [], None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if info is None and line.startswith("```"):
            info, start, lines = line[3:].strip(), number, []
        elif info is not None and line.startswith("```"):
            blocks.append((start, info, lines))
            info = None
        elif info is not None:
            lines.append(line)
    return blocks


def test_the_lstm_pages_equations_and_commands_fit_the_page():
    # Material shows 80 columns of code in its content column at 1220 px and wider (and at 960);
    # beyond, a block scrolls sideways and its comment column is cut off. The Python blocks
    # follow ruff's 100 columns and scroll; the equations and commands fit
    text = (DOCS / "lstm.md").read_text()
    blocks = [b for b in _code_blocks(text) if not b[1].startswith("python")]
    assert blocks
    for start, info, lines in blocks:
        wide = [line for line in lines if len(line) > 80]
        assert not wide, f"lstm.md: the ```{info} block at line {start} is wider than 80: {wide}"


def test_the_built_site_has_no_link_to_a_missing_file(tmp_path):
    # what a reader clicks: every relative href and src of every built page is a file of the site
    pytest.importorskip("mkdocs")
    site = tmp_path / "site"
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    result = subprocess.run(build, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    broken = set()
    for page in site.rglob("*.html"):
        for target in re.findall(r'(?:href|src)="([^"]+)"', page.read_text(encoding="utf-8")):
            path = target.split("#")[0].split("?")[0]
            if not path or re.match(r"^([a-z][a-z0-9+.-]*:|/)", path):
                continue  # an anchor on the page, a URL, an absolute path
            resolved = (page.parent / path).resolve()
            if not (resolved.is_file() or (resolved / "index.html").is_file()):
                broken.add(f"{page.relative_to(site)} -> {target}")
    assert not broken, sorted(broken)
    lstm = (site / "lstm" / "index.html").read_text(encoding="utf-8")
    assert '<a href="../images/lstm_graph.svg"><img' in lstm  # the drawing opens full size
