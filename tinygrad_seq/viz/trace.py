"""From output tensors to the boxes and arrows of a picture. No Graphviz here: plain data.

The walk is iterative (an LSTM unrolled over 10,000 steps is far deeper than Python's recursion
limit) and deterministic: nodes come in a depth-first post-order that follows each node's parents
in argument order, so the same program gives the same picture, box for box, on every run.

Three steps, each a small function: ``walk`` the graph, group nodes into ``Box``es (one per node,
or one per cell and time step with ``collapse="cell"``), then ``elide`` boxes beyond ``max_nodes``.
"""

import re
import weakref
from dataclasses import dataclass, field

import numpy as np

from .. import nn
from .._tensor import Tensor
from ..engine import Node
from ..ops import Placeholder
from ..scan import shown_parents

# A scope named like this marks one time step: "t=3", "t = 3", "step 3".
_TIME_STEP = re.compile(r"\s*(?:t|step|time step)\s*=?\s*(-?\d+)\s*", re.IGNORECASE)

# Gate and state roles, recognised from the names the recurrent cells give their tensors.
# First match wins; matching is on the lower-cased name.
_ROLE_WORDS = (
    ("forget gate", ("forget",)),
    ("input gate", ("input gate",)),
    ("output gate", ("output gate",)),
    ("candidate", ("candidate", "new gate")),
    ("reset gate", ("reset",)),
    ("update gate", ("update",)),
    ("cell state", ("cell state",)),
    ("hidden state", ("hidden state",)),
)
_STATE_NAME = re.compile(r"([hc])(?:_?t|_?\d+|\[\d+\]|\(\d+\))?'?")


def time_step(name):
    """The step number of a scope name that marks a time step ("t=3" -> 3), else None.

    >>> time_step("t=3"), time_step("layer 0")
    (3, None)
    """
    m = _TIME_STEP.fullmatch(name)
    return int(m.group(1)) if m else None


def role_of(node):
    """The teaching role of an operation from its name: "forget gate", ..., "cell state", or
    None (always None for leaves: a parameter named "forget_bias" is no forget gate)."""
    name = (node.name or "").strip().lower()
    if not name or node.prim is None:
        return None
    for role, words in _ROLE_WORDS:
        if any(w in name for w in words):
            return role
    m = _STATE_NAME.fullmatch(name)
    if m:
        return "cell state" if m.group(1) == "c" else "hidden state"
    return None


def kind_of(node):
    """The node's kind: "parameter", "input" (another leaf) or "op"."""
    if node.prim is not None:
        return "op"
    return "parameter" if isinstance(node.leaf, nn.Parameter) else "input"  # as a user asks


def root_nodes(root):
    """The graph nodes of ``root``: a Tensor, a Node, or a list/tuple of them."""
    items = list(root) if isinstance(root, (list, tuple)) else [root]
    if not items:
        raise ValueError("draw_graph: got an empty list of tensors to draw")
    nodes = []
    for item in items:
        node = item.node if isinstance(item, Tensor) else item
        if not isinstance(node, Node):
            if isinstance(item, Tensor):
                raise ValueError(
                    "draw_graph: this tensor has no graph to draw: it needs no gradient "
                    "(computed from tensors without requires_grad=True, or under no_grad)"
                )
            raise TypeError(f"draw_graph: expected a Tensor, got {type(item).__name__}")
        nodes.append(node)
    return nodes


_INPUTS = weakref.WeakKeyDictionary()  # node -> {position: the node drawn for that input}


def drawn_parents(node):
    """``shown_parents(node)``, with an "input" leaf in place of each tensor input that has no
    parent node (a raw input that needs no gradient, a zero initial state): drawn as a box of its
    shape, as PyTorch users expect to see ``x``. The same leaf at every call, so that two walks of
    one graph give the same nodes. Numbers and arrays passed to an op are not drawn.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.Tensor(np.ones((3, 2)), requires_grad=True)
    >>> y = tg.Tensor(np.ones((4, 3))).named("x") @ w
    >>> [(p.op, p.name, p.shape) for p in drawn_parents(y.node)]
    [('leaf', 'x', (4, 3)), ('leaf', None, (3, 2))]
    """
    parents = shown_parents(node)
    if node.input_shapes is None:
        return parents
    inputs = _INPUTS.get(node)
    if inputs is None:
        inputs = {}
        for i, shape, dtype, name in node.input_shapes:
            leaf = Node(None, (), None, {}, None, Placeholder(np.empty((0,), dtype)))
            leaf.shape, leaf.name, leaf.scope = tuple(shape), name, ()
            leaf.serial = node.serial  # made with the node that reads it, listed before it
            inputs[i] = leaf
        _INPUTS[node] = inputs
    return tuple(inputs.get(i) if p is None else p for i, p in enumerate(parents))


def walk(roots):
    """Every node reachable from ``roots``, each after all of its parents (inputs first)."""
    order, seen = [], {}
    for root in roots:
        if root in seen:
            continue
        seen[root] = True
        stack = [(root, iter(drawn_parents(root)))]
        while stack:
            node, parents = stack[-1]
            for p in parents:
                if p is not None and p not in seen:
                    seen[p] = True
                    stack.append((p, iter(drawn_parents(p))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


@dataclass
class Box:
    """One drawn node: a single graph node, a whole cell step, or the note about elided boxes."""

    kind: str  # "op", "parameter", "input", "cell" or "elided"
    nodes: list  # the graph nodes it stands for, in traversal order
    cluster: tuple = ()  # scope path of the cluster it is drawn in; () is the top level
    output: bool = False
    step: tuple = ()  # scope path up to the time step it belongs to; () outside time steps
    elided: int = 0  # for the note: how many boxes it stands for


@dataclass
class Arrow:
    """An edge ``src -> dst`` (box indices) carrying the tensor of graph node ``node``."""

    src: int
    dst: int
    node: Node
    state: bool = False  # carries a recurrent state from one time step to another


@dataclass
class Picture:
    """Everything the renderer needs."""

    boxes: list
    arrows: list
    nodes: list = field(default_factory=list)  # every graph node walked
    hidden_weights: list = field(default_factory=list)  # parameters not drawn (collapsed mode)
    elided: int = 0
    max_nodes: int = None
    visits: dict = field(default_factory=dict)  # node -> its "backward #k" (``sweep_numbers``)


def sweep_numbers(nodes):
    """{node: k} for the nodes backward visited: the k-th visit, counted from 1 (#1 is the
    output), as the explorer counts its steps ("backward: visit 1 / 40"). The order is the
    engine's (``node.visit``), the number its rank among these nodes: the engine also numbers
    nodes no drawing shows (the slices a compiled loop takes of its result, drawn as what they
    hold), and a drawing has no gaps where they were.
    """
    visited = sorted((n for n in nodes if n.visit is not None), key=lambda n: n.visit)
    return {n: k for k, n in enumerate(visited, 1)}


def _step_path(node):
    """The node's scope up to and including its first time-step name, () outside time steps."""
    if node.prim is None:  # leaves are created lazily, inside whatever scope first used them
        return ()
    for i, name in enumerate(node.scope):
        if time_step(name) is not None:
            return node.scope[: i + 1]
    return ()


def build(roots, collapse=None):
    """Boxes and arrows for the graph above ``roots`` (Nodes), one box per node or per cell."""
    nodes = walk(roots)
    steps = [_step_path(n) for n in nodes]
    through = {}
    same = _same_inputs(nodes, steps)
    if collapse == "cell":
        box_of, boxes, hidden, through = _group_cells(nodes, steps, same)
    else:
        box_of, boxes, hidden = [], [], []
        for i, (n, step) in enumerate(zip(nodes, steps)):
            if i in same:  # one box for a named input read twice in one place
                box_of.append(box_of[same[i]])
                boxes[box_of[-1]].nodes.append(n)
                continue
            box_of.append(len(boxes))
            boxes.append(Box(kind_of(n), [n], () if n.prim is None else n.scope, step=step))
    position = {n: i for i, n in enumerate(nodes)}
    for r in roots:
        boxes[box_of[position[r]]].output = True
    arrows, seen = [], {}
    for i, n in enumerate(nodes):
        dst = box_of[i]
        if dst is None:
            continue
        for p in drawn_parents(n):
            if p is None:
                continue
            j = position[p]
            for k in through.get(j, [j]):  # contracted nodes pass on their sources
                src = box_of[k]
                if src is None or src == dst:
                    continue
                if collapse == "cell":  # one arrow per tensor between two boxes
                    tensor = same.get(k, k)
                    if (src, dst, tensor) in seen:
                        continue
                    seen[(src, dst, tensor)] = True
                arrows.append(Arrow(src, dst, nodes[k], _is_state(steps[k], steps[i])))
    return Picture(boxes, arrows, nodes, hidden, visits=sweep_numbers(nodes))


def _same_inputs(nodes, steps):
    """{i: j}: node i is an input with no tensor of its own (see ``drawn_parents``) standing for
    the same tensor as node j < i: the same name, shape and dtype, read in the same time step
    (or scope). A recording keeps one such input per reader, but the GRU's h_0, read twice by
    step 0, is one tensor and is drawn as one box."""
    readers = {}
    for n, step in zip(nodes, steps):
        for p in drawn_parents(n):
            if p is not None and p.prim is None and p.leaf is None and p.name is not None:
                readers.setdefault(p, set()).add(step or n.scope)
    first, same = {}, {}
    for i, n in enumerate(nodes):
        if n in readers and len(readers[n]) == 1:
            key = (n.name, n.shape, n.dtype, *readers[n])
            if key in first:
                same[i] = first[key]
            else:
                first[key] = i
    return same


def _is_state(src_step, dst_step):
    """An edge between two time steps of the same layer and direction carries a state."""
    return (
        bool(src_step)
        and bool(dst_step)
        and src_step != dst_step
        and src_step[:-1] == dst_step[:-1]
    )


def step_order(picture):
    """Pairs (a, b) of boxes: b starts time step s + 1 and a carries a state into it. Drawn as
    invisible edges, they keep each step after the previous one, side by side in a row, instead
    of overlapping diagonally because the input's part of a step could start earlier."""
    boxes, arrows = picture.boxes, picture.arrows
    fed_from_own_step = [False] * len(boxes)
    for a in arrows:
        if boxes[a.src].step and boxes[a.src].step == boxes[a.dst].step:
            fed_from_own_step[a.dst] = True
    entries = {}
    for i, b in enumerate(boxes):
        if b.step and b.kind != "cell" and not fed_from_own_step[i]:
            entries.setdefault(b.step, []).append(i)
    pairs, done = [], {}
    for a in arrows:
        key = (boxes[a.src].step, boxes[a.dst].step)
        if a.state and key not in done:
            done[key] = True
            pairs += [(a.src, e) for e in entries.get(key[1], []) if e != a.dst]
    return pairs


def _group_cells(nodes, steps, same):
    """One box per (cell, time step). What only feeds the cells is contracted away (see
    ``_feeds_cells``): arrows then run from its sources straight into the cells. ``same``: the
    inputs drawn in the box of another (``_same_inputs``)."""
    position = {n: i for i, n in enumerate(nodes)}
    contracted = _feeds_cells(nodes, steps, position)
    box_of, boxes, cell_box, through = [], [], {}, {}
    for i, (n, step) in enumerate(zip(nodes, steps)):
        if contracted[i]:
            box_of.append(None)
            sources = []
            for p in drawn_parents(n):
                if p is not None:
                    j = position[p]
                    sources += through[j] if contracted[j] else [j]
            through[i] = list(dict.fromkeys(sources))
        elif step:
            if step not in cell_box:
                cell_box[step] = len(boxes)
                boxes.append(Box("cell", [], step[:-1], step=step))
            boxes[cell_box[step]].nodes.append(n)
            box_of.append(cell_box[step])
        elif i in same:
            box_of.append(box_of[same[i]])
            boxes[box_of[-1]].nodes.append(n)
        else:
            box_of.append(len(boxes))
            boxes.append(Box(kind_of(n), [n], () if n.prim is None else n.scope))
    hidden = [n for n, c in zip(nodes, contracted) if c and kind_of(n) == "parameter"]
    return box_of, boxes, hidden, through


def _feeds_cells(nodes, steps, position):
    """Flags of the nodes outside time steps that only feed the cells, not drawn in the
    collapsed view: the weights (and anything computed from weights alone, like a transpose),
    which would fan out to every step, and a layer's own preparation of its input (the input
    projection of all steps at once, its split into steps), as the textbook figure shows the
    input x_t going straight into the cell at step t."""
    layers = {s[:-1]: True for s in steps if len(s) > 1}  # scopes that hold time steps
    weights_only = []
    for n in nodes:
        parents = [weights_only[position[p]] for p in drawn_parents(n) if p is not None]
        weights_only.append(kind_of(n) == "parameter" or (n.prim is not None and all(parents)))
    consumers = [[] for _ in nodes]
    for i, n in enumerate(nodes):
        for p in drawn_parents(n):
            if p is not None:
                consumers[position[p]].append(i)
    contracted = [False] * len(nodes)
    for i in reversed(range(len(nodes))):  # consumers come later in the order: decide them first
        n = nodes[i]
        if steps[i] or not consumers[i]:
            continue
        if not all(steps[c] or contracted[c] for c in consumers[i]):
            continue
        in_layer = n.prim is not None and any(n.scope[: len(k)] == k for k in layers)
        after_cells = any(p is not None and steps[position[p]] for p in drawn_parents(n))
        contracted[i] = weights_only[i] or (in_layer and not after_cells)
    return contracted


def elide(picture, max_nodes):
    """Keep at most ``max_nodes`` boxes: the last operations of the computation (whole time
    steps where possible) and the leaves feeding them. The rest become one note box, with an
    arrow to each kept box whose inputs it hides."""
    boxes, arrows = picture.boxes, picture.arrows
    picture.max_nodes = max_nodes
    if max_nodes is None or len(boxes) <= max_nodes:
        return picture
    keep = _last_operations(boxes, arrows, max_nodes)
    new_index, kept_boxes = {}, []
    for i, b in enumerate(boxes):
        if keep[i]:
            new_index[i] = len(kept_boxes)
            kept_boxes.append(b)
    note = len(kept_boxes)
    kept_boxes.append(Box("elided", [], elided=len(boxes) - note))
    kept_arrows, noted = [], {}
    for a in arrows:
        if keep[a.src] and keep[a.dst]:
            kept_arrows.append(Arrow(new_index[a.src], new_index[a.dst], a.node, a.state))
        elif keep[a.dst] and a.dst not in noted:
            noted[a.dst] = True
            kept_arrows.append(Arrow(note, new_index[a.dst], a.node))
    picture.boxes, picture.arrows, picture.elided = kept_boxes, kept_arrows, len(boxes) - note
    return picture


def _last_operations(boxes, arrows, max_nodes):
    """Flags of the boxes to keep. The order is topological and follows the program (a depth
    first walk visits step 0 before step 1), so its tail is the end of the computation."""
    is_leaf = [b.kind in ("parameter", "input") for b in boxes]
    feeds = [[] for _ in boxes]
    for a in arrows:
        feeds[a.dst].append(a.src)

    def with_leaves(ops):
        keep = [False] * len(boxes)
        for i in ops:
            keep[i] = True
            for j in feeds[i]:
                keep[j] = keep[j] or is_leaf[j]
        return keep

    ops = [i for i in range(len(boxes)) if not is_leaf[i] and not boxes[i].output]
    outputs = [i for i in range(len(boxes)) if boxes[i].output]
    budget = max(max_nodes - len(outputs), 0)
    tail = ops[max(len(ops) - budget, 0) :]
    leaves = sum(with_leaves(tail + outputs)) - len(tail) - len(outputs)
    budget = max(budget - leaves, 0)  # fewer operations need no more leaves: this fits
    start = max(len(ops) - budget, 0) if budget else len(ops)
    tail = ops[start:]
    cut = {boxes[i].step for i in ops[:start] if boxes[i].step}
    whole_steps = [i for i in tail if boxes[i].step not in cut]
    return with_leaves((whole_steps or tail) + outputs)
