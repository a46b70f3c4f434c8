"""The docs site (mkdocs.yml, built by `mkdocs build --strict` in CI): every page is in the
navigation in reading order, every module of the package is in the API reference, and the two
helpers mkdocs.yml loads from docs/ do what they say."""

import importlib.util
import pathlib
import pkgutil
import re

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
