"""Shown outputs are tested outputs: run a documentation code block statement by statement and
compare what each statement printed with the ``# ->`` comments shown for it.

The convention (docs/*.md and README.md):

- A comment starting with ``# ->`` shows output. It belongs to the top-level statement on whose
  lines it stands (``print(x)  # -> 0.50``, or a ``print`` inside a loop or a ``try``), or to the
  statement directly above the comment lines it stands in::

      for steps in (1, 10):
          print(steps)
      # -> 1
      # -> 10

  The ``# ->`` lines of one statement, in order, are its expected output, one line each. Other
  comments are prose and are not compared.
- Every top-level statement that prints must show its output, and every ``# ->`` comment must
  belong to a statement that printed: nothing is shown unchecked, nothing printed goes unseen.
- Comparison: ``...`` stands for any text (as doctest's ELLIPSIS); whitespace is ignored;
  numbers are compared as numbers. Integers (``14``, ``(5, 2, 4)``) must be equal. Decimals
  (``0.50``, ``8.8e-09``, ``inf``, ``nan``) must agree to a relative tolerance of ``REL_TOL``
  (1e-3): a last-ulp change in a float computation passes, a changed printed digit at the
  precision the docs print (0.49 -> 0.50, 3.2e-09 -> 8.8e-09) fails. An integer never matches a
  decimal (``6`` is not ``6.``).
"""

import ast
import contextlib
import io
import math
import re
import tokenize

REL_TOL = 1e-3
MARK = "# ->"

_NUMBER = re.compile(
    r"[-+]?(?:(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+|(?<![A-Za-z_])(?:nan|inf)"
    r"(?![A-Za-z_]))"
)
_ELLIPSIS = object()


def _tokens(text, ellipsis):
    """``text`` as a list of ("text", str without whitespace) / ("int", int) / ("float", float)
    tokens, and ``_ELLIPSIS`` for each ``...`` when ``ellipsis`` is true."""
    pieces = text.split("...") if ellipsis else [text]
    tokens = []
    for k, piece in enumerate(pieces):
        if k:
            tokens.append(_ELLIPSIS)
        at = 0
        for number in _NUMBER.finditer(piece):
            tokens.extend(_text_tokens(piece[at : number.start()]))
            word = number.group()
            if re.fullmatch(r"[-+]?\d+", word):
                tokens.append(("int", int(word)))
            else:
                tokens.append(("float", float(word)))
            at = number.end()
        tokens.extend(_text_tokens(piece[at:]))
    return tokens


def _text_tokens(text):
    # one token per character: ``...`` may then end or start anywhere inside a text run
    return [("text", char) for char in re.sub(r"\s+", "", text)]


def _same(expected, printed):
    if expected[0] != printed[0]:
        return False
    if expected[0] != "float":
        return expected[1] == printed[1]
    a, b = expected[1], printed[1]
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)


def matches(expected, printed):
    """Whether ``printed`` (what the code wrote) agrees with ``expected`` (what the docs show).

    >>> matches("loss 2.40 -> 0.23", "loss 2.4001 -> 0.23")
    True
    >>> matches("0.49 per step", "0.50 per step"), matches("(29, 20)", "(13, 8)")
    (False, False)
    >>> matches("[[12.] [12.]]", "[[12.]\\n [12.]]"), matches("in 'log' ...", "in 'log' at x")
    (True, True)
    """
    want, got = _tokens(expected, ellipsis=True), _tokens(printed, ellipsis=False)
    # ok[j]: want[i:] matches got[j:], for i from the end back to 0 (as fnmatch matches "*")
    ok = [False] * len(got) + [True]
    for item in reversed(want):
        if item is _ELLIPSIS:  # matches got[j:k] for any k >= j
            for j in range(len(got) - 1, -1, -1):
                ok[j] = ok[j] or ok[j + 1]
        else:
            ok = [j < len(got) and ok[j + 1] and _same(item, got[j]) for j in range(len(got) + 1)]
    return ok[0]


def _comments(source):
    """{line: comment text} of ``source``, and the set of lines holding only a comment."""
    comments, alone = {}, set()
    code_lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            for line in range(token.start[0], token.end[0] + 1):
                code_lines.add(line)
    alone = {line for line in comments if line not in code_lines}
    return comments, alone


def _shown_output(statement, comments, alone):
    """The ``# ->`` comments of a top-level statement: on its lines, then in the run of comment
    lines directly below it. Returns (expected text or None, the lines used)."""
    first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
    lines = list(range(first, statement.end_lineno + 1))
    below = statement.end_lineno + 1
    while below in alone:
        lines.append(below)
        below += 1
    used = [line for line in lines if line in comments and comments[line].startswith(MARK)]
    if not used:
        return None, used
    return "\n".join(comments[line][len(MARK) :].strip() for line in used), used


def run_and_compare(source, filename, namespace, first_line=0):
    """Run ``source`` (a code block whose first line is line ``first_line + 1`` of ``filename``)
    in ``namespace``, one top-level statement at a time, and return the list of disagreements
    between what each statement printed and the output shown for it (empty: all agree).
    Exceptions of the code propagate, with line numbers of ``filename``."""
    padded = "\n" * first_line + source
    comments, alone = _comments(padded)
    problems, claimed = [], set()
    for statement in ast.parse(padded, filename).body:
        expected, used = _shown_output(statement, comments, alone)
        claimed.update(used)
        code = compile(ast.Module(body=[statement], type_ignores=[]), filename, "exec")
        with contextlib.redirect_stdout(io.StringIO()) as out:
            exec(code, namespace)
        printed = out.getvalue().rstrip("\n")
        where = f"{filename}, line {statement.lineno}"
        if expected is None:
            if printed:
                problems.append(
                    f"{where}: prints output but shows none (add '{MARK} ...' comments):\n"
                    f"{_indent(printed)}"
                )
        elif not printed:
            problems.append(f"{where}: shows output but prints nothing:\n{_indent(expected)}")
        elif not matches(expected, printed):
            problems.append(f"{where}: shows\n{_indent(expected)}\nbut prints\n{_indent(printed)}")
    for line in sorted(set(comments) - claimed):
        if comments[line].startswith(MARK):
            problems.append(
                f"{filename}, line {line}: a '{MARK}' comment that belongs to no statement "
                "(it must stand on a top-level statement's lines or directly below them)"
            )
    return problems


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines())
