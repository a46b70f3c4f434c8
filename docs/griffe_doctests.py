"""A griffe extension for the API reference (mkdocs.yml loads it): a docstring's examples, the
doctest ``>>>`` lines and the output under them, become fenced ``pycon`` code blocks. Left as
text, Markdown would read ``>>>`` as a quote and an output such as ``[(2, 2)]`` as a link."""

try:
    from griffe import Extension
except ImportError:  # without the docs extra: fence_doctests still works (tests/test_site.py)
    Extension = object

FENCE = "```"


def fence_doctests(text):
    """``text`` with every run of doctest lines (up to a blank line) inside a code fence.

    >>> print(fence_doctests("Add.\\n\\n>>> 1 + 1\\n2\\n\\nDone."))
    Add.
    <BLANKLINE>
    ```pycon
    >>> 1 + 1
    2
    ```
    <BLANKLINE>
    Done.
    """
    lines, indent = [], None  # indent: that of the open fence, None when no fence is open
    for line in text.splitlines():
        stripped = line.lstrip()
        if indent is None and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            lines.append(indent + FENCE + "pycon")
        elif indent is not None and not stripped:
            lines.append(indent + FENCE)
            indent = None
        lines.append(line)
    if indent is not None:
        lines.append(indent + FENCE)
    return "\n".join(lines)


class DoctestFences(Extension):
    def on_object(self, *, obj, **kwargs):
        docstring = obj.docstring
        if docstring is not None and FENCE + "pycon" not in docstring.value:
            docstring.value = fence_doctests(docstring.value)
