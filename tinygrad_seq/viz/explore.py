"""explore: one HTML page that steps through the forward pass and the backward sweep of a graph.

A picture stops where understanding starts: backprop through time is a walk, so the page lets you
walk it. It shows the drawing of ``draw_graph`` (op by op, and one box per cell and time step),
and steps through the nodes in the order the engine really visited them (``node.visit``), or
created them (``node.serial``), with every node's value and gradient, their histograms, and
||dL/dh_t||, ||dL/dc_t|| per time step as the sweep reaches them.

Python computes everything (the SVG from Graphviz, summaries, histograms, the orders) and embeds
it as JSON; the page's script (``explore.js``) and style (``explore.css``) sit next to this file
and are inlined, so the one HTML file opens from disk and works offline.
"""

import html
import json
import os
import tempfile
import warnings
from importlib import resources

import numpy as np

from .._tensor import Tensor
from ..engine import Node
from ..serialization import atomic_write, check_writable
from . import style
from .draw import INSTALL_HINT, GraphvizNotFoundError, draw_graph
from .trace import (
    _step_path,
    build,
    drawn_parents,
    elide,
    kind_of,
    role_of,
    root_nodes,
    sweep_numbers,
    time_step,
    walk,
)

LARGE_GRAPH = 250  # more nodes than this: start in the collapsed view, draw at most this many boxes
# Graphviz's layout time of the one-box-per-cell view grows steeply with its number of boxes (each
# cell has arrows from the input and to the output, and labelled state arrows): measured on a
# 100-step LSTM, 30 boxes take 0.2 s, 40 take 1.2 s, 60 take 9.5 s, all 100 about 10 minutes.
CELL_VIEW_BOXES = 40
DRAW_ALL = "explore(..., max_nodes=None) draws all"  # what the page says to draw every box
BINS = 16


class Explorer:
    """The page ``explore`` wrote: ``path``, the ``html`` text, and an inline view in Jupyter."""

    def __init__(self, path, page, notes):
        self.path, self.html, self.notes = path, page, notes

    def _repr_html_(self):
        # an iframe keeps the page's script, ids and style apart from the notebook's
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            'style="width: 100%; height: 720px; border: 1px solid #ccc"></iframe>'
        )

    def open(self):
        """Open the page in the default web browser."""
        import pathlib
        import webbrowser

        return webbrowser.open(pathlib.Path(self.path).resolve().as_uri())

    def __repr__(self):
        return f"<Explorer {self.path}>"


def explore(
    loss, path=None, *, collapse="auto", max_nodes=LARGE_GRAPH, title=None, draw_all_hint=DRAW_ALL
):
    """Write an interactive HTML page to step through the graph behind ``loss``; return it.

    Record the forward inside ``with tg.keep_values():`` (every node keeps its value, and the
    recurrent layers record op by op, as under ``tg.eager()``) and call
    ``loss.backward(keep_grads=True)`` first: every node then holds its value (``node.value``),
    its gradient (``node.grad``) and its position in the reverse sweep (``node.visit``). Without
    them the page says what is missing, and so does a warning; without Graphviz's ``dot`` the page
    has no drawing (the steppers, the node details and the chart still work) and says how to
    install it.

    path: the HTML file to write (default: a new file in the temporary folder).
    collapse: the view shown first: None (every operation), "cell" (one box per cell and time
        step) or "auto" ("cell" when the graph has time steps and more than ``max_nodes`` nodes).
    max_nodes: each view draws at most this many boxes (those nearest the loss), the
        one-box-per-cell view at most 40 (Graphviz's layout of more takes long); None: all.
    draw_all_hint: what the page says to do to draw the boxes left out (the command line
        names its flag).

    >>> import numpy as np, tinygrad_seq as tg, tempfile, os
    >>> from tinygrad_seq import nn, viz
    >>> lstm = nn.LSTM(2, 3, seed=0)
    >>> with tg.keep_values():
    ...     out, _ = lstm(np.ones((4, 1, 2), dtype=np.float32))
    ...     loss = (out * out).sum()
    >>> loss.backward(keep_grads=True)
    >>> page = viz.explore(loss, os.path.join(tempfile.mkdtemp(), "lstm.html"))
    >>> "backward" in open(page.path, encoding="utf-8").read()
    True
    """
    if collapse not in ("auto", None, "cell"):
        raise ValueError(f"explore: collapse must be 'auto', None or 'cell', got {collapse!r}")
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"explore: max_nodes must be a positive int or None, got {max_nodes!r}")
    if path is not None:
        check_writable(path, "explore")  # before the work, not after
    data = _page_data(_roots(loss), collapse, max_nodes, title, draw_all_hint)
    for note in data["notes"]:
        if note["warn"]:
            warnings.warn(f"explore: {note['text']}", stacklevel=2)
    page = _page(data)
    if path is None:
        fd, path = tempfile.mkstemp(prefix="tinygrad_seq_explore_", suffix=".html")
        os.close(fd)
    with atomic_write(path, "w") as f:
        f.write(page)
    return Explorer(os.fspath(path), page, [n["text"] for n in data["notes"]])


def _page_data(roots, collapse, max_nodes, title, draw_all_hint):
    """Everything the page shows, as plain data for JSON (the SVGs of the views included)."""
    nodes = walk(roots)
    index = {n: i for i, n in enumerate(nodes)}
    has_steps = any(_step_path(n) for n in nodes)
    views = {"ops": _view(roots, None, max_nodes, index, draw_all_hint)}
    if has_steps:
        cells = CELL_VIEW_BOXES if max_nodes is None else min(max_nodes, CELL_VIEW_BOXES)
        cells = None if max_nodes is None else cells
        views["cell"] = _view(roots, "cell", cells, index, draw_all_hint)
    large = max_nodes is not None and len(nodes) > max_nodes
    if collapse == "auto":
        collapse = "cell" if has_steps and large else None
    notes = _notes(roots, nodes, has_steps, large, views, draw_all_hint)
    if views["ops"]["svg"] is None:
        notes.insert(0, {"text": f"no drawing: {INSTALL_HINT}", "warn": True})
    # a parameter's node outlives its graph: its visit and .grad may come from an earlier sweep,
    # so there is a sweep to show only once backward has run through this very graph
    swept = any(r.visit is not None for r in roots)
    visited = [n for n in nodes if n.visit is not None] if swept else []
    numbers = sweep_numbers(visited)  # as the drawings number them
    return {
        "title": title or f"Backprop explorer: {', '.join(r.name or r.op for r in roots)}",
        "nodes": [_node_data(n, index, numbers) for n in nodes],
        "backward": [index[n] for n in sorted(visited, key=_visit_key)],
        "forward": _forward_order(nodes, roots, index),
        "views": views,
        "view": "cell" if collapse == "cell" and has_steps else "ops",
        "flow": _flow_series(nodes, index),
        "heatmaps": _heatmaps(nodes, index),
        "notes": notes,
        "draw_all": draw_all_hint,  # what the panel of the box "not drawn" says
    }


def _roots(loss):
    items = list(loss) if isinstance(loss, (list, tuple)) else [loss]
    if not items:
        raise ValueError("explore: got an empty list of tensors")
    for item in items:
        if isinstance(item, Tensor) and not isinstance(item.node, Node):
            raise ValueError(
                "explore: this tensor has no graph: it needs no gradient (computed from tensors "
                "without requires_grad=True, or under no_grad)"
            )
        if not isinstance(item, (Tensor, Node)):
            raise TypeError(f"explore: expected a Tensor (the loss), got {type(item).__name__}")
    return root_nodes(loss)


def _visit_key(node):
    return node.visit if node.visit is not None else -1


def _forward_order(nodes, roots, index):
    """Creation order. Nodes the viewer made (a compiled loop drawn op by op) were created after
    the loss; for such a graph the walk's own order (each node after its inputs) stands in."""
    newest = max(r.serial for r in roots)
    if any(n.serial > newest for n in nodes):
        return list(range(len(nodes)))
    return [index[n] for n in sorted(nodes, key=lambda n: n.serial)]


def _view(roots, collapse, max_nodes, index, draw_all_hint):
    """One drawing: its SVG, and which graph nodes each box and arrow stands for."""
    graph = draw_graph(roots, collapse=collapse, max_nodes=max_nodes, draw_all_hint=draw_all_hint)
    # the same picture draw_graph drew (build and elide are deterministic): box i is "n{i}"
    picture = elide(build(roots, collapse), max_nodes)
    try:
        svg = graph.pipe(format="svg").decode("utf-8")
        svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype, not allowed inline
    except GraphvizNotFoundError:  # the page still steps through the nodes, without a drawing
        svg = None
    boxes = []
    for box in picture.boxes:
        step = time_step(box.step[-1]) if box.step else None
        label = _cell_title(box) if box.kind == "cell" else None
        members = [index[n] for n in box.nodes if n in index]
        lane = " / ".join(box.step[:-1])  # the layer and direction the step belongs to
        boxes.append({"kind": box.kind, "nodes": members, "t": step, "lane": lane, "label": label})
    arrows = [[a.src, a.dst, index.get(a.node)] for a in picture.arrows]
    return {"svg": svg, "boxes": boxes, "arrows": arrows, "elided": picture.elided}


def _cell_title(box):
    """What kind of cell a collapsed box is, told by its gates' names (as its drawing does)."""
    roles = {role_of(n) for n in box.nodes}
    if "forget gate" in roles:
        return "LSTM cell"
    if roles & {"reset gate", "update gate"}:
        return "GRU cell"
    return "RNN cell" if any(n.op in ("tanh", "relu") for n in box.nodes) else "cell"


def _node_data(node, index, numbers):
    step = _step_path(node)
    return {
        "op": node.op,
        "name": node.name,
        "kind": kind_of(node),
        "role": role_of(node) or style.leaf_role(node),
        "scope": list(node.scope),
        "shape": list(node.shape),
        "dtype": str(node.dtype),
        "serial": node.serial,
        "visit": numbers.get(node),
        "t": time_step(step[-1]) if step else None,
        "parents": [index[p] for p in _parents(node) if p in index],
        "value": _stats(style.value_of(node)),
        "grad": _stats(style.grad_of(node)) if node in numbers else None,
    }


def _parents(node):
    return [p for p in drawn_parents(node) if p is not None]


def _stats(array):
    """min, mean, max, norm and a histogram of an array, as plain numbers for JSON (None if
    absent; non-finite entries are counted and left out of the numbers)."""
    if array is None:
        return None
    a = np.asarray(array)
    if a.dtype.kind not in "biuf":
        return {"size": int(a.size), "nonfinite": 0}
    a = a.astype(np.float64).ravel()  # for display only: a few numbers, nothing flows from them
    finite = a[np.isfinite(a)]
    out = {"size": int(a.size), "nonfinite": int(a.size - finite.size)}
    if finite.size:
        out.update(
            min=float(finite.min()),
            mean=float(finite.mean()),
            max=float(finite.max()),
            norm=float(np.linalg.norm(finite)),
        )
    if finite.size > 1:
        counts, edges = np.histogram(finite, bins=min(BINS, finite.size))
        out["hist"] = {"counts": counts.tolist(), "lo": float(edges[0]), "hi": float(edges[-1])}
    return out


def _flow_series(nodes, index):
    """One series per layer (and direction) and state (h, c): the node holding the state each
    time step passed on, whose gradient is dL/dh_t (dL/dc_t)."""
    series = {}
    for n in nodes:
        role = role_of(n)
        step = _step_path(n)
        if role not in ("hidden state", "cell state") or not step:
            continue
        t = time_step(step[-1])
        points = series.setdefault((step[:-1], role), {})
        if t not in points or points[t].serial < n.serial:  # the last one named so is passed on
            points[t] = n
    # name a series by what tells it apart: "layer 1 / reverse", not "lstm / layer 1 / reverse"
    scopes = [scope for scope, _ in series]
    common = [part for part in scopes[0] if all(part in s for s in scopes)] if scopes else []
    return [
        {
            "state": "h" if role == "hidden state" else "c",
            "where": " / ".join(part for part in scope if part not in common),
            "points": [[t, index[points[t]]] for t in sorted(points)],
        }
        for (scope, role), points in series.items()
    ]


HEATMAP_SIZE = 48  # the heatmap shows at most this many query and key positions (the first)


def _heatmaps(nodes, index):
    """One heatmap per head of every node named "attention weights" whose value is kept: the
    first sequence of the batch, query position x key position, the weights and (once backward
    kept it) their gradient. A (N, L, S) node is one head (``nn.MultiheadAttention`` draws each
    head apart); an (N, heads, L, S) one (``scaled_dot_product_attention``) holds every head."""
    maps = []
    for n in sorted(nodes, key=lambda n: n.serial):  # the heads in the order they were computed
        value = style.value_of(n)
        if (n.name or "").strip().lower() != "attention weights" or value is None:
            continue
        value, grad = np.asarray(value), style.grad_of(n)
        if value.ndim < 2:
            continue
        first = value.ndim - 2 if value.ndim < 4 else 1  # drop the batch; keep a heads axis
        value = value[(0,) * first] if value.ndim > 2 else value
        grad = None if grad is None else np.asarray(grad)[(0,) * first] if grad.ndim > 2 else grad
        heads = [(None, value, grad)] if value.ndim == 2 else [
            (h, value[h], None if grad is None else grad[h]) for h in range(len(value))
        ]  # fmt: skip
        scope = " / ".join(n.scope)
        for h, v, g in heads:
            where = scope if h is None else f"{scope} / head {h}".strip(" /")
            rows, cols = (min(d, HEATMAP_SIZE) for d in v.shape)
            maps.append(
                {
                    "node": index[n],
                    "where": where,
                    "shape": list(v.shape),
                    "value": _rounded(v[:rows, :cols]),
                    "grad": None if g is None else _rounded(g[:rows, :cols]),
                }
            )
    return maps


def _rounded(array):
    """A 2-D array as lists of numbers with 4 significant digits (for display; NaN as None)."""
    a = np.asarray(array, dtype=np.float64)
    return [[float(f"{x:.4g}") if np.isfinite(x) else None for x in row] for row in a]


def _notes(roots, nodes, has_steps, large, views, draw_all_hint):
    """What the page says about the graph; ``warn`` marks what is missing for a full picture."""
    notes = []
    ops = [n for n in nodes if n.prim is not None]
    if all(r.visit is None for r in roots):
        notes.append(
            "no gradients: backward has not run through this graph; call "
            "loss.backward(keep_grads=True) before explore (the backward stepper is empty)"
        )
    elif ops and all(n.grad is None for n in ops):
        notes.append(
            "only the leaves' gradients are kept: call loss.backward(keep_grads=True) to keep "
            "every node's gradient"
        )
    if ops and all(style.value_of(n) is None for n in ops):
        notes.append(
            "no values: record the forward inside `with tg.keep_values():` (backward frees the "
            "others)"
        )
    notes = [{"text": t, "warn": True} for t in notes]
    if large and has_steps:
        text = f"a large graph ({len(nodes)} nodes): the page starts in the one-box-per-cell view"
        notes.append({"text": text, "warn": False})
    for name, view in views.items():
        if view["elided"]:
            what = "every operation" if name == "ops" else "one box per cell"
            notes.append(
                {
                    "text": f"view '{what}': the {view['elided']} earliest boxes are not drawn "
                    f"({draw_all_hint}; Graphviz may then take minutes)",
                    "warn": False,
                }
            )
    if not has_steps:
        notes.append(
            {
                "text": "no time steps (scopes named 't=0', 't=1', ...): no per-step chart",
                "warn": False,
            }
        )
    return notes


def _asset(name):
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _script_json(data):
    """JSON safe inside <script>: no "</script>", "<!--" or "&" can appear in it, and no NaN."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, code)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _page(data):
    title = html.escape(data["title"])
    svgs = "\n".join(
        f'<div class="view" id="view-{name}" hidden>{view.pop("svg") or ""}</div>'
        for name, view in data["views"].items()
    )
    return _asset("explore.html").format(
        title=title,
        css=_asset("explore.css"),
        svgs=svgs,
        data=_script_json(data),
        script=_asset("explore.js"),
    )
