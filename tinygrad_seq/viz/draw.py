"""draw_graph: a computation graph as a ``graphviz.Digraph``, clustered by scope and time step.

Graphviz (the Python package) is imported only when a graph is drawn; the ``dot`` program is
needed only to render, and its absence gives a message saying how to install it.
"""

import functools
import os

from ..serialization import atomic_write
from . import style
from .trace import build, elide, kind_of, role_of, root_nodes, step_order

INSTALL_HINT = (
    "rendering needs Graphviz's `dot` program, which was not found on PATH. Install Graphviz "
    "(Debian/Ubuntu: apt install graphviz; macOS: brew install graphviz; conda: conda install "
    "graphviz; others: https://graphviz.org/download/), or save the DOT text without it: "
    "graph.save('graph.gv') or open graph.source in any DOT viewer."
)


# what the notes about boxes left out tell the reader to do; a front end names its own options
DRAW_ALL = "pass max_nodes=None to draw all, or collapse='cell' for fewer boxes"


class GraphvizNotFoundError(RuntimeError):
    """Rendering was asked for but Graphviz's ``dot`` program is not installed."""


@functools.cache
def _digraph_class():
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "draw_graph needs the graphviz Python package, an optional dependency: "
            'pip install "tinygrad_seq[viz]" (or pip install graphviz)'
        ) from None

    class Digraph(graphviz.Digraph):
        """A ``graphviz.Digraph`` whose rendering explains how to install ``dot`` if absent."""

        def pipe(self, *args, **kwargs):
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise GraphvizNotFoundError(INSTALL_HINT) from e

        def render(self, *args, **kwargs):
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise GraphvizNotFoundError(INSTALL_HINT) from e

    return Digraph


def draw_graph(
    root,
    *,
    collapse=None,
    show_data=False,
    show_grad=False,
    rankdir=None,
    max_nodes=200,
    title=None,
    draw_all_hint=DRAW_ALL,
):
    """Draw the computation graph that produced ``root`` (a Tensor, or a list of Tensors).

    Each box is one operation and the tensor it produced (name, shape, dtype); parameters carry
    their module names (``rnn.weight_ih_l0``); gates are coloured by role. Everything computed
    inside ``tg.scope(name)`` is drawn in a cluster labelled ``name``; the recurrent layers open
    one per layer, direction and time step ("t=3"), and so can a loop of your own. Names and
    the title are drawn as typed, never read as markup; control characters are shown by their
    code (a line break as "⏎").

    collapse: None draws every operation; "cell" draws one box per cell per time step, with the
        states (h, c) flowing between them: the unrolled diagram of the textbook.
    show_data: add a summary of each tensor's value (the value itself if one element, otherwise
        its norm, min and max). Backward frees intermediate values, except those recorded under
        ``tg.keep_values()``; after it, only leaves, retain_grad tensors and those show one.
    show_grad: after ``backward``, add each tensor's value and gradient summaries and the step at
        which the reverse sweep visited it (#0 is the output). Intermediate gradients exist
        only after ``loss.backward(keep_grads=True)``; otherwise the leaves' ``.grad`` is shown.
    rankdir: "LR" (left to right) or "TB" (top to bottom). None: "TB" where every operation of
        two or more time steps is drawn (the steps stacked: a row of them is too wide to read
        once fitted to a screen), else "LR" (the cells of ``collapse="cell"`` side by side,
        time running left to right as in the textbook).
    max_nodes: draw at most this many boxes, those nearest the output; one note box says how
        many were left out. None draws everything.
    draw_all_hint: what the notes about boxes left out say to do (the command line names its
        flags: "pass --max-nodes 0 to draw all, ...").

    >>> import numpy as np, tinygrad_seq as tg
    >>> from tinygrad_seq import viz
    >>> w = tg.Tensor(np.ones(3), requires_grad=True).named("w")
    >>> with viz.scope("t=0"):
    ...     y = (w * 2).tanh()
    >>> g = viz.draw_graph(y.sum())
    >>> "cluster" in g.source and "w" in g.source
    True
    """
    if collapse not in (None, "cell"):
        raise ValueError(f"draw_graph: collapse must be None or 'cell', got {collapse!r}")
    if rankdir not in (None, "LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR' or 'TB', got {rankdir!r}")
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"draw_graph: max_nodes must be a positive int or None, got {max_nodes!r}")
    roots = root_nodes(root)
    picture = elide(build(roots, collapse), max_nodes)
    if rankdir is None:
        steps = {b.step for b in picture.boxes if b.step}
        rankdir = "TB" if collapse is None and len(steps) > 1 else "LR"
    graph = _digraph_class()(name="tinygrad_seq", graph_attr=_graph_attrs(rankdir))
    graph.attr("node", fontname=style.FONT, fontsize="10", margin="0.08,0.04")
    graph.attr("edge", color="#555555", arrowsize="0.6", fontname=style.FONT, fontsize="9")
    # a parameter's node outlives its graph: its .grad and visit may come from an earlier sweep,
    # so gradients are shown only once backward has run through this very graph
    swept = any(r.visit is not None for r in roots)
    rows = _gate_rows(picture) if collapse is None else {}
    fans = _fans(picture, rows)
    if rows:  # dot's last pass over the whole graph would swap gates the rows put in order
        graph.attr(remincross="false")
    shown = (show_data or show_grad, show_grad and swept, draw_all_hint)
    places, ranked = _leaf_places(picture)
    clusters = _add_boxes(graph, picture, shown, rows, fans, places)
    _add_arrows(graph, picture, collapse, clusters, fans, ranked)
    notes = _notes(picture, show_data, show_grad, swept, draw_all_hint)
    graph.attr(label=_legend(picture, roots, title, notes))
    return graph


def _graph_attrs(rankdir):
    return {
        "rankdir": rankdir,
        "fontname": style.FONT,
        "fontsize": "11",
        "labelloc": "t",
        "labeljust": "l",
        "nodesep": "0.2",
        "ranksep": "0.3",
    }


def _add_boxes(graph, picture, shown, rows, fans, places):
    """Nodes into nested clusters; subgraphs are filled first, then added deepest first.
    ``shown``: (show_data, show_grad, draw_all_hint); ``rows``, ``fans``: the gates' order (see
    ``_gate_rows``, ``_fans``); ``places``: where leaves are drawn (``_leaf_places``).
    """
    clusters = {(): graph}
    order = []  # cluster paths in order of first use, parents before children
    Digraph = type(graph)
    for i, box in enumerate(picture.boxes):
        cluster = places.get(i, box.cluster)
        for depth in range(1, len(cluster) + 1):
            path = cluster[:depth]
            if path not in clusters:
                sub = Digraph(name=f"cluster_{len(order)}")
                sub.attr(**style.cluster_style(path[-1]), labeljust="l", fontname=style.FONT)
                clusters[path] = sub
                order.append(path)
        attrs = _box_attrs(box, *shown, picture.visits)
        if i in fans:
            attrs["ordering"] = "out"
        clusters[cluster].node(f"n{i}", **attrs)
    for step, step_rows in rows.items():
        # the gates in the order taught, the same in every step (left to right; top to bottom
        # with rankdir LR), and the slices that feed them, in a rank each: invisible arrows
        # within a rank ask for that order (dot does not always grant it: see ``_fans``)
        for boxes in step_rows:
            row = Digraph()
            row.attr(rank="same")
            for a, b in zip(boxes, boxes[1:]):
                row.edge(f"n{a}", f"n{b}", style="invis")
            clusters[step].subgraph(row)
    for path in sorted(order, key=len, reverse=True):  # stable: same depth keeps first-use order
        clusters[path[:-1]].subgraph(clusters[path])
    return {path: f"cluster_{k}" for k, path in enumerate(order)}


def _gate_rows(picture):
    """{cluster: rows}: the box indices of the gates of a cluster (a time step, or a cell drawn
    alone) that no other gate of it feeds (the LSTM's four; the GRU's reset and update, not its
    candidate, which reads the reset gate), in the order taught, where two or more are drawn
    op by op; and if each gate is fed by one slice, a row of those, in the same order."""
    boxes, feeds = picture.boxes, {}
    for a in picture.arrows:
        feeds.setdefault(a.dst, []).append(a.src)
    taught = [g for order in style.GATE_ORDER.values() for g in order]
    gates = {}
    for i, box in enumerate(boxes):
        role = role_of(box.nodes[0]) if box.kind == "op" else None
        if role in taught:
            gates.setdefault(box.cluster, []).append(i)
    rows = {}
    for step, members in gates.items():
        first = [i for i in members if not _fed_by(i, set(members) - {i}, feeds, boxes, step)]
        first.sort(key=lambda i: taught.index(role_of(boxes[i].nodes[0])))
        if len(first) > 1:
            rows[step] = [first]
            fed = [feeds.get(i, []) for i in first]
            slices = [f[0] for f in fed if len(f) == 1 and boxes[f[0]].nodes[0].op == "getitem"]
            if len(set(slices)) == len(first):  # one slice of its own per gate
                rows[step].append(slices)
    return rows


def _fans(picture, rows):
    """{box: [the slices it feeds, in the order of the gates they feed]} for a box (the gates'
    pre-activations) that alone feeds the slices of a gate row. Drawn with ``ordering=out`` and
    its arrows in that order: dot then keeps the order, where the rows alone let it swap gates.
    """
    feeds = {}
    for a in picture.arrows:
        feeds.setdefault(a.dst, []).append(a.src)
    fans = {}
    for step_rows in rows.values():
        if len(step_rows) > 1:
            slices = step_rows[1]
            sources = {src for i in slices for src in feeds.get(i, [])}
            if len(sources) == 1 and all(len(feeds.get(i, [])) == 1 for i in slices):
                fans[sources.pop()] = slices
    return fans


def _arrow_order(picture, fans):
    """The arrows' indices in drawing order: as built, but the arrows of each fan in its order,
    in the places the fan's arrows held."""
    order = list(range(len(picture.arrows)))
    for src, slices in fans.items():
        places = [k for k, a in enumerate(picture.arrows) if a.src == src and a.dst in slices]
        ranked = sorted(places, key=lambda k: slices.index(picture.arrows[k].dst))
        for place, k in zip(places, ranked):
            order[place] = k
    return order


def _fed_by(box, others, feeds, boxes, cluster):
    """Whether any of ``others`` feeds ``box`` through boxes of the same cluster."""
    seen, todo = set(), [box]
    while todo:
        for src in feeds.get(todo.pop(), ()):
            if src in others:
                return True
            if src not in seen and boxes[src].cluster == cluster:
                seen.add(src)
                todo.append(src)
    return False


def _box_attrs(box, show_data, show_grad, draw_all_hint, visits):
    if box.kind == "elided":
        attrs = dict(style.KIND_STYLE["elided"])
        hint = [style.escape(part) for part in f"({draw_all_hint})".split(", ")]
        attrs["label"] = style.lines(f"{box.elided} earlier boxes not drawn", ",<BR/>".join(hint))
        return attrs
    if box.kind == "cell":
        attrs = dict(style.KIND_STYLE["cell"])
        attrs["label"] = style.cell_label(box, show_data, show_grad)
    else:
        node = box.nodes[0]
        attrs = style.node_style(node)
        attrs["label"] = style.node_label(node, show_data, show_grad, visits.get(node))
    if box.output:  # double red border; a gate or a cell keeps its colour
        fill = attrs.get("fillcolor")
        attrs.update(style.OUTPUT_STYLE)
        if box.kind == "cell" or role_of(box.nodes[0]) is not None:
            attrs["fillcolor"] = fill
    return attrs


def _add_arrows(graph, picture, collapse, clusters, fans, ranked):
    boxes = picture.boxes
    lanes = _lane_arrows(picture) if collapse == "cell" else {}
    if lanes:
        graph.attr(compound="true")  # an arrow may end at a cluster's border (lhead)
    for k in _arrow_order(picture, fans):
        a = picture.arrows[k]
        attrs = {}
        role = role_of(a.node)
        lane = lanes.get(k)
        if lane is None and k in lanes:
            continue  # drawn as the one arrow into its lane
        if boxes[a.src].kind == "elided":
            attrs = {"style": "dashed", "color": "#999999"}
        elif a.state:
            attrs = {"color": style.STATE_EDGE.get(role, "#333333"), "penwidth": "2.4"}
            if collapse == "cell":
                # an xlabel, placed after the layout: a label is laid out as a node of its
                # own, and made dot 10x slower on a 50-step LSTM
                attrs["xlabel"] = style.text_label(style.state_label(a.node, boxes[a.src].step))
                attrs["fontcolor"] = attrs["color"]
        elif boxes[a.src].kind in ("parameter", "input"):
            # a leaf feeding several steps must not pull on the ranks: the steps would stack
            # diagonally instead of side by side as in the textbook's unrolled figure; one
            # read in a single place is ranked just above it, its arrow short
            attrs = {} if a.src in ranked else {"constraint": "false"}
            if boxes[a.src].kind == "parameter":
                attrs["color"] = style.PARAMETER_EDGE
        elif role in ("cell state", "hidden state"):
            attrs = {"color": style.STATE_EDGE[role], "penwidth": "1.4"}
        if lane is not None:
            end, path = lane
            text = "to every step" if end == "lhead" else "from every step"
            attrs["label"] = style.text_label(text)  # one per lane: laid out, not overlapping
            other = boxes[a.src if end == "lhead" else a.dst].cluster
            if other[: len(path)] != path:  # dot ignores (and warns) an end inside the lane
                attrs[end] = clusters[path]
        graph.edge(f"n{a.src}", f"n{a.dst}", **attrs)
    for a, b in step_order(picture):
        graph.edge(f"n{a}", f"n{b}", style="invis")


def _leaf_places(picture):
    """({leaf box: the cluster to draw it in}, {the leaf boxes ranked above their reader}).

    A leaf (parameter, input) is drawn near its readers, its arrows short. One read in a single
    place (x by the input projection, the biases added once, h_0 and c_0 by step 0) is ranked
    just above its reader; one read by every step (the recurrent weight) is not: it would pull
    the steps into a staircase. A parameter, or an input with no tensor of its own (h_0), goes
    into the cluster of its readers' layer and direction (never into a time step: no step made
    it); a tensor of the user's (x) stays outside every cluster."""
    lanes, spots = {}, {}
    for a in picture.arrows:
        dst = picture.boxes[a.dst]
        lanes.setdefault(a.src, set()).add(dst.step[:-1] if dst.step else dst.cluster)
        spots.setdefault(a.src, set()).add((dst.cluster, dst.step))
    places, ranked = {}, set()
    for i, lane in lanes.items():
        box = picture.boxes[i]
        if box.kind not in ("parameter", "input"):
            continue
        if len(spots[i]) == 1:
            ranked.add(i)
        if len(lane) == 1 and (box.kind == "parameter" or box.nodes[0].leaf is None):
            places[i] = lane.pop()
    return places, ranked


def _lane_arrows(picture):
    """{arrow index: (lhead or ltail, lane) | None} for the collapsed view: arrows between one
    box outside a lane (a layer and direction) and two or more of its cells (an input read by
    every step, the outputs stacked) are drawn as ONE arrow to or from the lane's border (the
    first arrow of each group, None for the others). One arrow per cell crosses the picture T
    times: unreadable, dot minutes slow on 100 steps, and the steps pushed into a staircase."""
    boxes, groups = picture.boxes, {}
    for k, a in enumerate(picture.arrows):
        src, dst = boxes[a.src], boxes[a.dst]
        if a.state or "elided" in (src.kind, dst.kind):
            continue
        if dst.kind == "cell" and src.kind != "cell" and src.cluster != dst.cluster:
            groups.setdefault(("lhead", dst.cluster, a.src), []).append(k)  # into every step
        elif src.kind == "cell" and dst.kind != "cell":  # out of every step (the outputs)
            groups.setdefault(("ltail", src.cluster, a.dst), []).append(k)
    lanes = {}
    for (end, lane, _), arrows in groups.items():
        if len(arrows) > 1:
            lanes.update(dict.fromkeys(arrows))
            # the arrow nearest the other end: from the first step in, from the last out
            lanes[arrows[0] if end == "lhead" else arrows[-1]] = (end, lane)
    return lanes


def _legend(picture, roots, title, notes):
    kinds = {b.kind for b in picture.boxes if b.kind != "cell" or b.nodes}
    if any(b.output for b in picture.boxes):
        kinds.add("output")
    # a cell shows its gates as chips; its states are arrows, not boxes of that colour
    roles = {
        role_of(n)
        for b in picture.boxes
        for n in b.nodes
        if b.kind != "cell" or role_of(n) in style.ROLE_SHORT
    }
    state_roles = [role_of(a.node) for a in picture.arrows if a.state]
    if title is None:
        ops = sum(n.prim is not None for n in picture.nodes)
        params = sum(kind_of(n) == "parameter" for n in picture.nodes)
        what = ", ".join(r.name or r.op for r in roots)
        title = f"computation graph of {what}: {ops} operations, {params} parameters"
    return style.legend(title, kinds, roles, state_roles, notes)


def _notes(picture, show_data, show_grad, swept, draw_all_hint):
    notes = []
    if picture.elided:
        notes.append(
            f"{picture.elided} earliest boxes of the computation are not drawn (at most "
            f"{picture.max_nodes} are); {draw_all_hint}"
        )
    if picture.hidden_weights:
        names = [n.name or "unnamed" for n in picture.hidden_weights]
        shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
        notes.append(f"weights shared by every step, not drawn: {shown}")
    ops = [n for n in picture.nodes if n.prim is not None]
    if show_data and any(style.value_of(n) is None for n in ops):
        notes.append(
            "some values are not kept by the graph: run the forward inside "
            "`with tg.keep_values():` to see them all"
        )
    if show_grad:
        if not swept:
            notes.append("no gradients yet: call loss.backward(keep_grads=True) first")
        else:
            notes.append("backward #k: the k-th node the reverse sweep visited (#1: the output)")
            if ops and all(n.grad is None for n in ops):
                notes.append(
                    "only leaf gradients are kept: loss.backward(keep_grads=True) keeps every "
                    "node's gradient"
                )
    return notes


def render(graph, path, format=None):
    """Write ``graph`` to ``path``; the format comes from the extension (.svg, .png, .pdf, ...)
    unless given. ".gv"/".dot" write the DOT text and need no Graphviz program.

    >>> import numpy as np, tinygrad_seq as tg, tempfile, os
    >>> from tinygrad_seq import viz
    >>> g = viz.draw_graph((tg.Tensor(np.ones(2), requires_grad=True) * 3).sum())
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = viz.render(g, os.path.join(folder, "g.gv"))
    ...     open(path).read().startswith("digraph")
    True
    """
    path = os.fspath(path)
    fmt = (format or os.path.splitext(path)[1].lstrip(".") or "gv").lower()
    if fmt in ("gv", "dot"):
        with atomic_write(path, "w") as f:  # a crash leaves the old file or the whole new one
            f.write(graph.source)
        return path
    data = graph.pipe(format=fmt)
    with atomic_write(path) as f:
        f.write(data)
    return path
