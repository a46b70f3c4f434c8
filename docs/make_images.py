"""Redraw the pictures that the docs pages' own code blocks make.

A page's ```python blocks write their pictures into the working directory under the names the page
links to (``viz.render(graph, "autodiff_graph.svg")`` for ``![...](images/autodiff_graph.svg)``).
The test suite runs them in a temporary folder and checks those names; this script runs them as
the suite does and copies the pictures into docs/images, so what a page shows is what its code
draws::

    python docs/make_images.py                    # every page
    python docs/make_images.py docs/autodiff.md   # one page
"""

import contextlib
import io
import os
import pathlib
import re
import shutil
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
IMAGE_SUFFIXES = (".svg", ".png")


def linked_images(text):
    """The file names a Markdown page links to as images/NAME."""
    return set(re.findall(r"\(images/([^)\s]+)\)", text))


def run_page(page, folder):
    """Run the page's ```python blocks in ``folder``, in order, in one namespace, with this
    checkout's package (not whichever one is installed: the pictures show this code)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from test_docs import python_blocks  # the suite's own reading of a page

    namespace = {"__name__": f"docs_{page.stem}"}
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the suite checks what the page prints
            for start, source, flags in python_blocks(page.read_text(encoding="utf-8")):
                if "no-run" not in flags:
                    exec(compile("\n" * start + source, str(page), "exec"), namespace)
    finally:
        os.chdir(cwd)


def main(argv):
    os.environ.setdefault("MPLBACKEND", "Agg")
    pages = [pathlib.Path(p) for p in argv] or sorted((ROOT / "docs").glob("*.md"))
    for page in pages:
        linked = linked_images(page.read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory() as folder:
            run_page(page.resolve(), folder)
            for made in sorted(pathlib.Path(folder).iterdir()):
                if made.suffix in IMAGE_SUFFIXES and made.name in linked:
                    shutil.copyfile(made, IMAGES / made.name)
                    print(f"{page.name}: docs/images/{made.name}")


if __name__ == "__main__":
    main(sys.argv[1:])
