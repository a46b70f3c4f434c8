"""How each box, arrow and cluster looks, and the text inside: colours by role, HTML-like labels.

Kept apart from the Graphviz calls so the palette reads as one table. Labels use Graphviz's
HTML-like syntax (bold names, small grey details); every piece of user text goes through
``escape``, and every label holding user text is an HTML-like label: no user text ever lands in
a DOT quoted string, where a trailing backslash or ``\\N`` would mean something.
"""

import html
import unicodedata

import numpy as np

from ..nn.cells import INITIAL_NAMES
from .trace import kind_of, role_of, time_step

FONT = "Helvetica"

KIND_STYLE = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "color": "#666666"},
    "parameter": {"shape": "box", "style": "filled", "fillcolor": "#e6e6e6", "color": "#444444"},
    "input": {"shape": "box", "style": "filled", "fillcolor": "#d6e9fb", "color": "#44688f"},
    "cell": {
        "shape": "box",
        "style": "rounded,filled,bold",
        "fillcolor": "#fdf6e3",
        "color": "#7a6a3a",
    },
    "elided": {"shape": "note", "style": "dashed", "fontcolor": "#555555", "color": "#888888"},
}
OUTPUT_STYLE = {"fillcolor": "#f6c6c6", "peripheries": "2", "color": "#a33b3b"}

# One colour per gate and state, as taught: the LSTM's three stages read off by colour.
ROLE_FILL = {
    "forget gate": "#f4a582",
    "input gate": "#b8e186",
    "candidate": "#e7d4e8",
    "output gate": "#92c5de",
    "reset gate": "#fdb863",
    "update gate": "#c2a5cf",
    "cell state": "#ffe680",
    "hidden state": "#b3e2cd",
}
ROLE_SHORT = {
    "forget gate": "forget",
    "input gate": "input",
    "candidate": "cand.",
    "output gate": "output",
    "reset gate": "reset",
    "update gate": "update",
}
# the order gates are taught in: LSTM forget, select memory (input, candidate), output; GRU
GATE_ORDER = {
    "LSTM cell": ("forget gate", "input gate", "candidate", "output gate"),
    "GRU cell": ("reset gate", "update gate", "candidate"),
}
STATE_EDGE = {"cell state": "#b8860b", "hidden state": "#1b9e77", None: "#333333"}
PARAMETER_EDGE = "#b0b0b0"


def escape(text):
    r"""User text (a tensor, parameter, module or scope name, a title) as the text of an HTML-like
    label, drawn literally. ``<``, ``>``, ``&`` and quotes become entities, so a name is never
    markup (no ``<B>``, no ``HREF`` link); a backslash is doubled, since Graphviz expands ``\N``,
    ``\G`` and the like even in HTML-like labels; control characters are made ``visible``.

    >>> escape('<b>w</b>')
    '&lt;b&gt;w&lt;/b&gt;'
    >>> print(escape("\\G\\"), escape("h\n"))
    \\G\\ h⏎
    """
    return html.escape(visible(text).replace("\\", "\\\\"), quote=True)


def visible(text):
    r"""``str(text)`` with every character XML (so SVG) cannot hold, and ``dot`` rejects, shown
    instead of dropped: a line break as ``⏎``, any other control character as its code
    (``\x07``), a lone surrogate or a non-character as ``\ud800``. Used for matplotlib too.

    >>> print(visible("bell\x07 two\nlines"))
    bell\x07 two⏎lines
    """
    return "".join(_visible(c) for c in str(text))


def _visible(c):
    if c == "\n":
        return "⏎"
    if unicodedata.category(c) in ("Cc", "Cs") or c in "\ufffe\uffff":
        return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
    return c


def text_label(text):
    """A whole label that is only user text (a cluster's scope name, an arrow's tensor name)."""
    return f"<{escape(text)}>"


def small(text, color="#555555"):
    return f'<FONT POINT-SIZE="9" COLOR="{color}">{escape(text)}</FONT>'


def lines(*parts):
    """An HTML-like label from already-formatted parts, one per line."""
    return "<" + "<BR/>".join(p for p in parts if p) + ">"


def shape_text(node):
    shape = "scalar" if node.shape == () else str(tuple(node.shape))
    return f"{shape} {node.dtype}"


def summary(array):
    """A few numbers describing an array: the value itself if one element, else norm and range."""
    a = np.asarray(array)
    if a.size == 0:
        return "empty"
    if a.size == 1:
        return f"{a.item():.4g}"
    if a.dtype.kind not in "biuf":
        return f"{a.dtype}"
    # float64 here only formats a few numbers for display; no computation flows from it
    a = a.astype(np.float64, copy=False)
    lo, hi = a.min() + 0.0, a.max() + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"‖·‖ {np.linalg.norm(a):.3g}  ∈ [{lo:.3g}, {hi:.3g}]"


def value_of(node):
    """The node's value if still held: kept under ``keep_values``, its output until backward
    frees it, or the tensor's data for leaves and retain_grad tensors; else None."""
    if node.value is not None:
        return node.value
    if node.out is not None:
        return node.out
    return node.leaf._data if node.leaf is not None else None


def grad_of(node):
    """The gradient kept by backward(keep_grads=True), or a leaf's (retain_grad tensor's) .grad."""
    if node.grad is not None:
        return node.grad
    leaf = node.leaf
    return leaf.grad._data if leaf is not None and leaf.grad is not None else None


def node_label(node, show_data, show_grad, visit=None):
    """The box of one node: name, op, shape; value, gradient and ``backward #visit`` if asked."""
    kind = kind_of(node)
    title = node.name or (node.op if kind == "op" else kind)
    sub = (node.op if kind == "op" else leaf_role(node) or kind) if node.name else ""
    parts = [f"<B>{escape(title)}</B>", escape(sub), small(shape_text(node))]
    if show_data or show_grad:
        value = value_of(node)
        parts.append(small("value " + summary(value)) if value is not None else "")
    if show_grad:
        grad = grad_of(node)
        if grad is not None:
            parts.append(small("grad " + summary(grad), "#a33b3b"))
        if visit is not None:
            parts.append(small(f"backward #{visit}", "#a33b3b"))
    return lines(*parts)


def leaf_role(node):
    """ "initial state" for the zero states a recurrent layer starts from (h_0, c_0), drawn with
    no node of their own, which the name alone would not tell from the state a step computes."""
    if node.prim is None and node.leaf is None and node.name in INITIAL_NAMES.values():
        return "initial state"
    return None


def node_style(node):
    style = dict(KIND_STYLE[kind_of(node)])
    role = role_of(node)
    if role is not None:
        style["fillcolor"] = ROLE_FILL[role]
    return style


def cell_label(box, show_data, show_grad):
    """The collapsed cell: its kind, one coloured chip per gate, the step, the state summaries."""
    roles = [role_of(n) for n in box.nodes]
    if "forget gate" in roles:
        title = "LSTM cell"
    elif "reset gate" in roles or "update gate" in roles:
        title = "GRU cell"
    else:
        title = "RNN cell" if any(n.op in ("tanh", "relu") for n in box.nodes) else "cell"
    gates = [r for r in GATE_ORDER.get(title, ROLE_SHORT) if r in roles]
    step = pretty_scope(box.step[-1])
    ops = sum(n.prim is not None for n in box.nodes)
    width = max(len(gates), 1)
    rows = [f'<TR><TD COLSPAN="{width}"><B>{escape(title)}</B>  {escape(step)}</TD></TR>']
    if gates:
        chips = "".join(_chip(ROLE_FILL[g], ROLE_SHORT[g]) for g in gates)
        rows.append(f"<TR>{chips}</TR>")
    details = [small(f"{ops} ops")] + _state_lines(box, roles, show_data, show_grad)
    rows.append(f'<TR><TD COLSPAN="{width}">{"<BR/>".join(details)}</TD></TR>')
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1">'
    return "<" + table + "".join(rows) + "</TABLE>>"


def _state_lines(box, roles, show_data, show_grad):
    """Value and gradient summaries of the states a step computed (h and c), if asked for."""
    states = {r: n for n, r in zip(box.nodes, roles) if r in ("hidden state", "cell state")}
    lines = []
    for role in ("cell state", "hidden state"):  # the last node named so is the one passed on
        if role not in states:
            continue
        node = states[role]
        short = state_label(node, box.step)  # "h₃": the state this step computed
        value = value_of(node) if show_data or show_grad else None
        if value is not None:
            lines.append(small(f"{short} {summary(value)}"))
        grad = grad_of(node) if show_grad else None
        if grad is not None:
            lines.append(small(f"∂L/∂{short} {summary(grad)}", "#a33b3b"))
    return lines


_SUBSCRIPT = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def state_label(node, step):
    """ "h₃" for the hidden state leaving step t=3, "c₃" for the cell state; else the name."""
    short = {"hidden state": "h", "cell state": "c"}.get(role_of(node))
    t = time_step(step[-1]) if step else None
    if short is None:
        return node.name or node.op
    return short + ("" if t is None else str(t).translate(_SUBSCRIPT))


def _chip(color, text):
    """A small coloured table cell with a label: a gate in a cell box, a swatch in the legend."""
    return f'<TD BGCOLOR="{color}" BORDER="1" COLOR="#808080">{small(text, "#000000")}</TD>'


def pretty_scope(name):
    """ "t=3" -> "t = 3"; other scope names unchanged."""
    step = time_step(name)
    return f"t = {step}" if step is not None and name.strip().lower().startswith("t") else name


def cluster_style(name):
    if time_step(name) is not None:
        return {
            "label": text_label(pretty_scope(name)),
            "style": "rounded,filled",
            "fillcolor": "#f5f5f5",
            "color": "#b5b5b5",
        }
    return {
        "label": text_label(name),
        "style": "rounded,dashed",
        "color": "#777777",
        "fontsize": "13",
    }


def legend(title, kinds, roles, state_roles, notes):
    """The graph's label: a title, one swatch per kind and role drawn, and notes."""
    swatches = []
    for kind in ("parameter", "input", "op", "cell"):
        if kind in kinds:
            name = {"op": "operation", "cell": "cell step"}.get(kind, kind)
            swatches.append((KIND_STYLE[kind]["fillcolor"], name))
    if "output" in kinds:
        swatches.append((OUTPUT_STYLE["fillcolor"], "output"))
    swatches += [(ROLE_FILL[r], r) for r in ROLE_FILL if r in roles]
    cells = "".join(_chip(color, text) for color, text in swatches)
    cells += "".join(
        f"<TD>{small('━━ ' + (r or 'state') + ' →', STATE_EDGE[r])}</TD>"
        for r in STATE_EDGE
        if r in state_roles
    )
    # one column of rows, the swatches in a table of their own so a long note cannot widen them
    # an empty <B></B> is a syntax error to dot: an empty title is no row at all
    rows = [f'<TR><TD ALIGN="LEFT"><B>{escape(title)}</B></TD></TR>'] if str(title) else []
    swatch_table = f'<TABLE BORDER="0" CELLSPACING="3"><TR>{cells}</TR></TABLE>'
    rows.append(f'<TR><TD ALIGN="LEFT">{swatch_table}</TD></TR>')
    rows += [f'<TR><TD ALIGN="LEFT">{small(note)}</TD></TR>' for note in notes]
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
    return "<" + table + "".join(rows) + "</TABLE>>"
