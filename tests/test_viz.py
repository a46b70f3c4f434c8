"""The graph viewer and the gradient-flow measurement: DOT structure, collapse, elision,
determinism, deep graphs, rendering with and without Graphviz, and ||dL/dh_t|| checked against
the engine's own gradients."""

import contextlib
import pathlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import modes, nn, viz
from tinygrad_seq.viz import style
from tinygrad_seq.viz.trace import build

ROOT = pathlib.Path(__file__).resolve().parent.parent  # subprocesses import the package from here
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's `dot`")


def run_layer(kind="lstm", steps=3, layers=1, bidirectional=False, input_grad=False):
    """loss = sum(output**2) of a small layer held as `net.rnn` (dotted parameter names)."""
    net = nn.Module()
    layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
    net.rnn = layer(2, 3, num_layers=layers, bidirectional=bidirectional, seed=0)
    x = tg.Tensor(np.ones((steps, 1, 2), dtype=np.float32), requires_grad=input_grad)
    output, _ = net.rnn(x.named("x"))
    return (output * output).sum().named("loss")


def cluster_labels(source):
    """The label of every cluster, in order (the attribute line after each `subgraph`)."""
    lines = source.splitlines()
    heads = [lines[i + 1] for i, line in enumerate(lines) if "subgraph cluster_" in line]
    return [re.search(r"label=<(.*?)> ", head).group(1) for head in heads]


def node_count(source):
    return len(re.findall(r"^\s*n\d+ \[", source, flags=re.MULTILINE))


# --- structure of the DOT text --------------------------------------------------------------------


def test_lstm_graph_has_time_step_clusters_parameter_names_gates_and_shapes():
    source = viz.draw_graph(run_layer("lstm", steps=3)).source
    labels = cluster_labels(source)
    for t in range(3):
        assert labels.count(f"t = {t}") == 1
    assert {"lstm", "layer 0", "forward"} <= set(labels)
    for name in ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"):
        assert f"<B>{name}</B>" in source
    for gate in ("input gate", "forget gate", "candidate", "output gate"):
        assert source.count(f"<B>{gate}</B>") == 3  # one per step
    assert "(1, 3) float32" in source and "(12, 2) float32" in source
    assert "computation graph of loss" in source


def test_gru_gates_are_named_as_taught():
    source = viz.draw_graph(run_layer("gru", steps=2)).source
    for gate in ("reset gate", "update gate", "candidate"):
        assert source.count(f"<B>{gate}</B>") == 2


def test_layers_and_directions_get_their_own_clusters():
    source = viz.draw_graph(run_layer("rnn", steps=2, layers=2, bidirectional=True)).source
    labels = cluster_labels(source)
    assert labels.count("layer 0") == labels.count("layer 1") == 1
    assert labels.count("forward") == labels.count("reverse") == 2
    assert labels.count("t = 0") == labels.count("t = 1") == 4  # 2 layers x 2 directions


def test_clusters_nest_in_scope_order():
    source = viz.draw_graph(run_layer("rnn", steps=1)).source
    assert cluster_labels(source) == ["rnn", "layer 0", "forward", "t = 0"]
    depth = [line.index("subgraph") for line in source.splitlines() if "subgraph" in line]
    assert depth == sorted(depth) and len(set(depth)) == 4  # each inside the one before


def test_leaves_parameters_intermediates_and_output_look_different():
    source = viz.draw_graph(run_layer("rnn", steps=2, input_grad=True)).source
    line = {
        name: next(row for row in source.splitlines() if f"<B>{name}</B>" in row)
        for name in ("x", "rnn.weight_hh_l0", "loss", "hidden state")
    }
    fills = {name: re.search(r'fillcolor="([^"]+)"', row).group(1) for name, row in line.items()}
    assert len(set(fills.values())) == 4
    assert "peripheries=2" in line["loss"]


def test_own_loop_with_scopes_is_clustered_and_unnamed_states_are_still_states():
    w = nn.Parameter(np.full(2, 0.5)).named("w")
    h = tg.Tensor(np.ones(2))
    for t in range(3):
        with viz.scope(f"t={t}"):
            h = (h * w).tanh()
    picture_source = viz.draw_graph(h.sum()).source
    assert cluster_labels(picture_source).count("t = 2") == 1
    assert "━━ state →" in picture_source  # the legend explains the thick state arrows
    collapsed = viz.draw_graph(h.sum(), collapse="cell").source
    assert collapsed.count("<B>RNN cell</B>") == 3
    assert "weights shared by every step, not drawn: w" in collapsed


# --- collapse="cell" ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, layers, bidirectional", [("lstm", 1, False), ("gru", 2, True), ("rnn", 2, False)]
)
def test_collapse_draws_exactly_one_box_per_cell_per_step(kind, layers, bidirectional):
    steps = 4
    loss = run_layer(kind, steps, layers, bidirectional, input_grad=True)
    source = viz.draw_graph(loss, collapse="cell").source
    title = {"lstm": "LSTM cell", "gru": "GRU cell", "rnn": "RNN cell"}[kind]
    cells = steps * layers * (2 if bidirectional else 1)
    assert source.count(f"<B>{title}</B>") == cells
    for t in range(steps):  # each labelled with its step
        assert source.count(f"</B>  t = {t}</TD>") == layers * (2 if bidirectional else 1)
    assert "weight_ih_l0" not in source.split("subgraph")[1]  # weights are only named in the note


def test_collapsed_lstm_passes_h_and_c_between_steps():
    source = viz.draw_graph(run_layer("lstm", steps=3), collapse="cell").source
    for t in range(2):
        assert f"label=<h{'₀₁'[t]}>" in source and f"label=<c{'₀₁'[t]}>" in source
    assert source.count("label=<h₂>") == 0  # nothing follows the last step


def _laid_out(source):
    """{box id: (x, y)} as dot lays the graph out."""
    plain = subprocess.run(["dot", "-Tplain"], input=source, capture_output=True, text=True)
    rows = [line.split() for line in plain.stdout.splitlines() if line.startswith("node ")]
    return {r[1]: (float(r[2]), float(r[3])) for r in rows}


@needs_dot
@pytest.mark.parametrize("kind, layers, bidirectional", [("lstm", 1, False), ("gru", 2, True)])
def test_leaves_read_in_one_place_are_drawn_beside_it(kind, layers, bidirectional):
    """x, the biases, h_0 and c_0, where each is read in one place (one operation, or one step
    of one layer and direction), are drawn beside it: their arrows are short, never across the
    whole drawing."""
    loss = run_layer(kind, 3, layers, bidirectional, input_grad=True)
    source = viz.draw_graph(loss, max_nodes=None).source  # all: box i is build's box i
    places = _laid_out(source)
    width = max(x for x, _ in places.values()) - min(x for x, _ in places.values())
    picture = build([loss.node])
    readers = {}
    for a in picture.arrows:
        readers.setdefault(a.src, set()).add(a.dst)
    spots = {
        i: {(picture.boxes[r].cluster, picture.boxes[r].step) for r in readers[i]}
        for i, box in enumerate(picture.boxes)
        if box.kind in ("parameter", "input")
    }
    local = {i for i, where in spots.items() if len(where) == 1}
    names = {picture.boxes[i].nodes[0].name for i in local}
    wanted = {"h_0"} | ({"c_0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"} if kind == "lstm" else set())
    assert wanted | ({"x"} if not bidirectional else set()) <= names
    for i in local:  # beside its reader (the first, if one step reads it twice: the GRU's h_0)
        (x0, y0), near = places[f"n{i}"], []
        for r in readers[i]:
            x1, y1 = places[f"n{r}"]
            assert abs(x1 - x0) < 0.25 * width, picture.boxes[i].nodes[0]
            near.append(abs(y1 - y0) < 2.5)
        assert any(near), picture.boxes[i].nodes[0]


@needs_dot
@pytest.mark.parametrize(
    "kind, steps, bidirectional", [("lstm", 3, False), ("lstm", 5, False), ("gru", 4, True)]
)
def test_gates_keep_the_taught_order_in_every_step(kind, steps, bidirectional):
    """Left to right as taught (LSTM forget, input, candidate, output; GRU reset, update), in
    one row, in every step: dot swapped them from one step to the next."""
    loss = run_layer(kind, steps, bidirectional=bidirectional)
    source = viz.draw_graph(loss, max_nodes=None).source
    position = _laid_out(source)
    taught = {"lstm": style.GATE_ORDER["LSTM cell"], "gru": style.GATE_ORDER["GRU cell"][:2]}
    gates = {}  # (the step's cluster, in order) -> [(gate, box)]
    cluster = None
    for line in source.splitlines():
        if "subgraph cluster_" in line:
            cluster = line.split()[1]
        found = re.match(r"\s*(n\d+) \[label=<<B>([a-z ]+)</B>", line)
        if found and found.group(2) in taught[kind]:
            gates.setdefault(cluster, []).append((taught[kind].index(found.group(2)), found[1]))
    assert len(gates) == steps * (2 if bidirectional else 1)
    for row in gates.values():
        xs = [position[box][0] for _, box in sorted(row)]
        assert xs == sorted(xs) and len({position[box][1] for _, box in row}) == 1


def test_collapsed_long_lstm_stays_small_for_dot():
    """One arrow from the input into the lane, one from the lane's outputs, state names as
    xlabels: dot laid a 100-step LSTM out in minutes with labelled arrows from and to every cell."""
    steps = 30
    source = viz.draw_graph(run_layer("lstm", steps, input_grad=True), collapse="cell").source
    edges = re.findall(r"^\s*(n\d+) -> (n\d+) \[(.*)\]$", source, flags=re.MULTILINE)
    x_box = re.search(r"^\s*(n\d+) \[label=<<B>x</B>", source, flags=re.MULTILINE).group(1)
    (from_x,) = [e for e in edges if e[0] == x_box]
    assert "lhead=cluster_" in from_x[2] and "to every step" in from_x[2]
    stack = re.search(r"^\s*(n\d+) \[label=<<B>stack</B>", source, flags=re.MULTILINE).group(1)
    assert len([e for e in edges if e[1] == stack]) == 1
    states = [e for e in edges if "penwidth=2.4" in e[2]]
    assert len(states) == 2 * (steps - 1)
    assert all("xlabel=" in e[2] and " label=" not in e[2] for e in states)


def test_collapsed_cell_loop_of_a_real_cell():
    cell = nn.LSTMCell(2, 3, seed=0)
    state = None
    for t in range(5):
        with viz.scope(f"t={t}"):
            state = cell(np.ones((1, 2), dtype=np.float32), state)
    source = viz.draw_graph(state[0].sum(), collapse="cell").source
    assert source.count("<B>LSTM cell</B>") == 5
    assert "label=<c₃>" in source


# --- teaching annotations -------------------------------------------------------------------------


def test_show_grad_before_backward_says_how_to_get_gradients():
    source = viz.draw_graph(run_layer("rnn", steps=2), show_grad=True).source
    assert "no gradients yet: call loss.backward(keep_grads=True) first" in source


def test_show_grad_ignores_gradients_left_by_an_earlier_graph():
    layer = nn.RNN(2, 3, seed=0)
    x = np.ones((2, 1, 2), dtype=np.float32)
    layer(x)[0].sum().backward()  # the parameters now hold .grad and a visit number
    source = viz.draw_graph(layer(x)[0].sum(), show_grad=True).source
    assert "no gradients yet" in source and "backward #" not in source.split("no gradients")[0]


def test_show_grad_after_plain_backward_shows_leaf_gradients_and_explains_the_rest():
    loss = run_layer("rnn", steps=2)
    loss.backward()
    source = viz.draw_graph(loss, show_grad=True).source
    assert "keep_grads=True" in source
    weight_row = next(row for row in source.splitlines() if "<B>rnn.weight_hh_l0</B>" in row)
    assert "grad ‖·‖" in weight_row and "backward #" in weight_row
    assert "value ‖·‖" in weight_row  # leaves keep their data after backward


def test_show_grad_with_keep_grads_shows_every_gradient_and_the_backward_order():
    loss = run_layer("lstm", steps=2)
    loss.backward(keep_grads=True)
    source = viz.draw_graph(loss, show_grad=True).source
    loss_row = next(row for row in source.splitlines() if "<B>loss</B>" in row)
    assert "backward #1" in loss_row and "grad 1" in loss_row  # counted from 1, as the explorer
    assert "backward #k: the k-th node the reverse sweep visited (#1: the output)" in source
    visits = [int(v) for v in re.findall(r"backward #(\d+)", source)]
    assert sorted(visits) == list(range(1, len(visits) + 1))  # every visited node, each once
    assert "only leaf gradients" not in source
    forget = [row for row in source.splitlines() if "<B>forget gate</B>" in row]
    assert all("grad ‖·‖" in row for row in forget)


def test_show_data_before_backward_summarises_values():
    with tg.keep_values():
        loss = run_layer("rnn", steps=2)
    source = viz.draw_graph(loss, show_data=True).source
    inputs = len(plain_inputs(source))  # inputs with no node: their shapes are kept, no value
    assert source.count("value ") >= node_count(source) - 1 - inputs
    assert "not kept by the graph" not in source


def test_show_data_after_backward_under_keep_values_summarises_values():
    with tg.keep_values():
        loss = run_layer("lstm", steps=2)
    loss.backward(keep_grads=True)  # no retain_graph: the values stay all the same
    # every box shows its value, but the loss and the input boxes (inputs with no node: no value)
    source = viz.draw_graph(loss, show_data=True, show_grad=True).source
    assert source.count("value ") >= node_count(source) - 1 - len(plain_inputs(source))
    assert "not kept by the graph" not in source
    forget = [row for row in source.splitlines() if "<B>forget gate</B>" in row]
    assert forget and all("value ‖·‖" in row and "grad ‖·‖" in row for row in forget)


def test_summary_of_values():
    from tinygrad_seq.viz.style import summary

    assert summary(np.array(2.5)) == "2.5"
    assert summary(np.array([3.0, -4.0])) == "‖·‖ 5  ∈ [-4, 3]"
    assert summary(np.array([-0.0, 0.0])) == "‖·‖ 0  ∈ [0, 0]"
    assert summary(np.zeros((0, 3))) == "empty"


# --- big graphs -----------------------------------------------------------------------------------


def long_loop(steps):
    w = nn.Parameter(np.full(2, 0.5)).named("w")
    h = tg.Tensor(np.ones(2))
    for t in range(steps):
        with viz.scope(f"t={t}"):
            h = (h * w + 0.1).tanh().named("hidden state")
    return h.sum().named("loss")


def test_max_nodes_keeps_the_last_whole_steps_and_says_what_was_elided():
    loss = long_loop(50)  # 3 boxes per step
    source = viz.draw_graph(loss, max_nodes=20).source
    assert node_count(source) <= 21  # the boxes and the note
    assert "earlier boxes not drawn" in source
    elided = int(re.search(r"(\d+) earliest boxes of the computation", source).group(1))
    # every box drawn or counted: 3 per step, w, the loss and the initial h (an input box)
    assert elided + node_count(source) - 1 == 50 * 3 + 3
    steps = {int(t) for t in re.findall(r"label=<t = (\d+)>", source)}
    assert steps == set(range(50 - len(steps), 50))  # the last steps, contiguous
    for t in steps:  # whole steps only
        body = source.split(f"label=<t = {t}>")[1].split("}")[0]
        assert node_count(body) == 3
    assert "<B>w</B>" in source  # the weight feeding the kept steps is kept


def test_ten_thousand_steps_draw_without_recursion_error():
    loss = long_loop(10_000)
    assert node_count(viz.draw_graph(loss, max_nodes=60).source) <= 61
    collapsed = viz.draw_graph(loss, collapse="cell", max_nodes=30).source
    assert collapsed.count("RNN cell") == 29  # and the loss; the weight is listed, not drawn
    assert "label=<t = 9999>" not in collapsed and "9999" in collapsed


def test_max_nodes_none_draws_everything():
    source = viz.draw_graph(long_loop(200), max_nodes=None).source
    assert node_count(source) == 200 * 3 + 3  # w, the loss, the initial h
    assert "not drawn" not in source


# --- determinism ----------------------------------------------------------------------------------


def test_dot_text_is_the_same_run_to_run():
    first = viz.draw_graph(run_layer("lstm", 3, 2, True), collapse=None).source
    again = viz.draw_graph(run_layer("lstm", 3, 2, True), collapse=None).source
    assert first == again
    ids = [int(i) for i in re.findall(r"^\s*n(\d+) \[", first, flags=re.MULTILINE)]
    assert sorted(ids) == list(range(len(ids)))


def test_dot_text_is_the_same_in_a_fresh_interpreter():
    code = (
        "import numpy as np, tinygrad_seq as tg; from tinygrad_seq import nn, viz;"
        "lstm = nn.LSTM(2, 3, num_layers=2, seed=0);"
        "out, _ = lstm(np.ones((3, 1, 2), dtype=np.float32));"
        "print(viz.draw_graph((out * out).sum(), collapse='cell').source)"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        for _ in range(2)
    ]
    assert runs[0].stdout == runs[1].stdout and "LSTM cell" in runs[0].stdout


def test_without_the_graphviz_package_draw_graph_says_how_to_get_it(monkeypatch):
    from tinygrad_seq.viz import draw

    loss = run_layer("rnn", steps=1)
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import now raises ImportError
    draw._digraph_class.cache_clear()  # made once per process, on the first drawing
    try:
        with pytest.raises(ImportError, match=r'graphviz Python package.*"tinygrad_seq\[viz\]"'):
            viz.draw_graph(loss)
    finally:
        draw._digraph_class.cache_clear()


# --- rendering ------------------------------------------------------------------------------------


@needs_dot
def test_renders_a_valid_svg(tmp_path):
    graph = viz.draw_graph(run_layer("lstm", steps=2))
    path = viz.render(graph, tmp_path / "lstm.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = "".join(root.itertext())
    assert "forget gate" in text and "t = 1" in text and "rnn.weight_ih_l0" in text


@needs_dot
def test_graphviz_render_api_works_on_the_returned_digraph(tmp_path):
    graph = viz.draw_graph(run_layer("gru", steps=2), collapse="cell")
    out = graph.render(tmp_path / "gru", format="png")
    assert pathlib.Path(out).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_dot_the_digraph_still_exists_and_rendering_explains(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    graph = viz.draw_graph(run_layer("rnn", steps=2))
    assert graph.source.startswith("digraph")
    with pytest.raises(viz.GraphvizNotFoundError, match="apt install graphviz"):
        viz.render(graph, tmp_path / "g.svg")
    with pytest.raises(RuntimeError, match="graph.save"):
        graph.render(tmp_path / "g", format="png")
    path = viz.render(graph, tmp_path / "g.gv")
    assert pathlib.Path(path).read_text(encoding="utf-8") == graph.source
    graph.save(tmp_path / "saved.gv")
    assert (tmp_path / "saved.gv").exists()


# --- names drawn literally -----------------------------------------------------------------------

# Names a user may give (on purpose or from data): markup with a link, a script, bold text, a
# trailing backslash that would escape the closing quote, Graphviz escapes, control characters.
HOSTILE_NAMES = {
    "link": '<<TABLE HREF="javascript:alert(1)"><TR><TD>click</TD></TR></TABLE>>',
    "script": "<script>alert(1)</script>",
    "bold": "<<b>bold</b>>",
    "trailing backslash": "tail\\",
    "graphviz escapes": r"\G and \N",
    "control characters": "bell\x07 nul\x00 two\nlines",
}
SVG = "{http://www.w3.org/2000/svg}"


def hostile_graph(name):
    """A loop over two steps inside scope ``name``; tensors, parameter and module named ``name``."""
    net, inner = nn.Module(), nn.Module()
    inner.register_parameter(name, nn.Parameter(np.full(2, 0.5)))
    setattr(net, name, inner)  # the parameter's dotted name is "<name>.<name>"
    (w,) = net.parameters()
    h = tg.Tensor(np.ones(2), requires_grad=True).named(name)
    with tg.scope(name):
        for t in range(2):
            with tg.scope(f"t={t}"):
                h = (h * w).tanh().named(name)
    return h.sum().named(name)


def svg_of(graph):
    svg = subprocess.run(["dot", "-Tsvg"], input=graph.source.encode(), capture_output=True)
    assert svg.returncode == 0, svg.stderr.decode()
    return ET.fromstring(svg.stdout)  # parses: valid XML


def shown(name):
    return name.replace("\n", "⏎").replace("\x07", "\\x07").replace("\x00", "\\x00")


@needs_dot
@pytest.mark.parametrize("collapse", [None, "cell"])
@pytest.mark.parametrize("case", list(HOSTILE_NAMES))
def test_names_are_drawn_literally_never_as_markup(case, collapse):
    name = HOSTILE_NAMES[case]
    root = svg_of(viz.draw_graph(hostile_graph(name), collapse=collapse, title=name))
    tags = {el.tag.removeprefix(SVG) for el in root.iter()}
    assert not tags & {"a", "script", "b"}  # no link, script or markup made from a name
    texts = [el.text for el in root.iter(SVG + "text")]
    assert "bold" not in texts and "click" not in texts  # no name was split into markup
    assert texts.count(shown(name)) >= 3  # the title, the scope's cluster, a box or an arrow
    if collapse is None:
        assert f"{shown(name)}.{shown(name)}" in texts  # the parameter's module and own name
    clusters = {
        g.find(SVG + "title").text: g for g in root.iter(SVG + "g") if g.get("class") == "cluster"
    }
    scope = next(
        g for g in clusters.values() if shown(name) in [t.text for t in g.iter(SVG + "text")]
    )
    outline = scope.find(SVG + "path")  # the attributes after the label survive
    assert outline.get("stroke") == "#777777" and outline.get("stroke-dasharray")


@needs_dot
def test_a_name_ending_in_a_backslash_keeps_the_state_arrow_label_colour():
    source = viz.draw_graph(hostile_graph("tail\\"), collapse="cell")
    labels = [el for el in svg_of(source).iter(SVG + "text") if el.text == "tail\\"]
    state_arrow = [el for el in labels if el.get("fill") == style.STATE_EDGE[None]]
    assert state_arrow  # fontcolor comes after the label: a swallowed quote would drop it


@needs_dot
def test_an_empty_title_draws_no_title():
    svg_of(viz.draw_graph(hostile_graph("x"), title=""))


def test_escape_is_one_helper_for_every_label():
    assert style.escape('<b>"x"</b>\\') == "&lt;b&gt;&quot;x&quot;&lt;/b&gt;\\\\"
    assert style.escape("a\nb\x07\x7f\x85\ud800") == "a⏎b\\\\x07\\\\x7f\\\\x85\\\\ud800"
    assert style.visible("\t") == "\\x09"


@pytest.mark.parametrize("name", ["$\\frac$ cost", "$x$ per step", "bell\x07 two\nlines"])
def test_plot_gradient_flow_shows_titles_and_labels_as_typed(tmp_path, name):
    matplotlib = pytest.importorskip("matplotlib")
    fig = viz.plot_gradient_flow({name: [1.0, 0.5]}, title=name)
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text kept as text, not paths
        fig.savefig(tmp_path / "flow.svg")
    root = ET.parse(tmp_path / "flow.svg").getroot()  # valid XML
    texts = ["".join(el.itertext()) for el in root.iter(SVG + "text")]
    assert texts.count(shown(name)) == 2  # the title and the legend's label


# --- bad input ------------------------------------------------------------------------------------


def test_clear_errors():
    with pytest.raises(ValueError, match="no graph to draw"):
        viz.draw_graph(tg.Tensor(np.ones(2)) * 2)
    loss = run_layer("rnn", steps=1)
    with pytest.raises(ValueError, match="collapse must be None or 'cell'"):
        viz.draw_graph(loss, collapse="layer")
    with pytest.raises(ValueError, match="max_nodes must be a positive int"):
        viz.draw_graph(loss, max_nodes=0)
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_graph(loss, rankdir="sideways")
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.draw_graph(np.ones(2))


def test_several_outputs_and_top_to_bottom():
    x = tg.Tensor(np.ones(2), requires_grad=True).named("x")
    y, z = (x * 2).named("y"), (x * 3).named("z")
    source = viz.draw_graph([y, z], rankdir="TB").source
    assert source.count("peripheries=2") == 2 and "rankdir=TB" in source


def test_scope_is_the_engines():
    assert viz.scope is modes.scope is tg.scope


def test_importing_viz_imports_neither_graphviz_nor_matplotlib():
    code = (
        "import sys, tinygrad_seq.viz;print('graphviz' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split() == ["False", "False"]


# --- gradient flow --------------------------------------------------------------------------------


def sequence(steps, size=3, seed=0):
    return np.random.default_rng(seed).standard_normal((steps, 2, size))


@pytest.mark.parametrize("cell_class", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_gradient_flow_of_a_cell_equals_the_gradient_of_a_perturbation(cell_class):
    """dL/dh_t is the gradient of a zero tensor added to h_t: an independent measurement."""
    steps, x = 100, sequence(100)
    cell = cell_class(3, 4, dtype=np.float64, seed=1)
    norms = viz.gradient_flow(cell, x)
    state, deltas = None, []
    for t in range(steps):
        state = cell(x[t], state)
        delta = tg.Tensor(np.zeros((2, 4)), requires_grad=True)
        deltas.append(delta)
        state = (state[0] + delta, state[1]) if isinstance(state, tuple) else state + delta
    last = state[0] if isinstance(state, tuple) else state
    last.sum().backward()
    expected = np.array([np.linalg.norm(d.grad) for d in deltas])
    assert norms.shape == (steps,)
    np.testing.assert_allclose(norms, expected, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_gradient_flow_of_a_layer_equals_that_of_its_cell(kind):
    """Layers are measured through the graph (keep_grads), cells through retain_grad."""
    layer_class, cell_class = {
        "rnn": (nn.RNN, nn.RNNCell),
        "lstm": (nn.LSTM, nn.LSTMCell),
        "gru": (nn.GRU, nn.GRUCell),
    }[kind]
    layer = layer_class(3, 4, dtype=np.float64, seed=2)
    cell = cell_class(3, 4, dtype=np.float64, seed=3)
    cell.load_state_dict({k[: -len("_l0")]: v for k, v in layer.state_dict().items()})
    x = sequence(100)
    np.testing.assert_allclose(
        viz.gradient_flow(layer, x), viz.gradient_flow(cell, x), rtol=1e-9, atol=1e-300
    )


def test_gradient_flow_of_a_multilayer_layer_measures_the_top_layer():
    layer = nn.LSTM(3, 4, num_layers=2, dtype=np.float64, seed=0)
    x = sequence(20)
    norms = viz.gradient_flow(layer, x)
    # the top layer's last hidden state receives the loss's gradient directly: ones(2, 4)
    assert norms[-1] == pytest.approx(np.sqrt(8))
    batch_first = nn.LSTM(3, 4, num_layers=2, batch_first=True, dtype=np.float64, seed=0)
    np.testing.assert_allclose(viz.gradient_flow(batch_first, x.swapaxes(0, 1)), norms)


def test_tanh_rnn_gradients_vanish_where_the_lstm_keeps_them():
    flows = viz.compare_gradient_flow(steps=100)
    decay = {name: norms[0] / norms[-1] for name, norms in flows.items()}
    assert decay["tanh RNN"] < 1e-15  # the error signal all but gone after 100 steps
    assert decay["LSTM, forget bias 1"] > 1e6 * decay["tanh RNN"]  # orders of magnitude more
    assert decay["LSTM, forget bias 3"] > 1e-3  # a forget gate near 1 keeps it


def test_gradient_flow_custom_loss_and_errors():
    cell = nn.RNNCell(3, 4, dtype=np.float64, seed=0)
    x = sequence(5)
    doubled = viz.gradient_flow(cell, x, loss=lambda h: 2 * h.sum())
    np.testing.assert_allclose(doubled, 2 * viz.gradient_flow(cell, x))
    with pytest.raises(ValueError, match="one-element Tensor"):
        viz.gradient_flow(cell, x, loss=lambda h: h)
    with pytest.raises(ValueError, match=r"shape \(T, batch, input_size\)"):
        viz.gradient_flow(cell, np.ones(3))
    with pytest.raises(ValueError, match="bidirectional"):
        viz.gradient_flow(nn.GRU(3, 4, bidirectional=True, dtype=np.float64), x)
    with pytest.raises(ValueError, match="found no hidden states"):
        viz.gradient_flow(nn.Linear(3, 4, dtype=np.float64), x)


def test_plot_gradient_flow(tmp_path):
    pytest.importorskip("matplotlib")
    flows = viz.compare_gradient_flow(steps=20)
    fig = viz.plot_gradient_flow(flows)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == len(flows)
    fig.savefig(tmp_path / "flow.png")
    assert (tmp_path / "flow.png").read_bytes()[:4] == b"\x89PNG"
    single = viz.plot_gradient_flow(np.array([0.0, 1e-3, 1.0]))  # a zero is left off the log axis
    assert len(single.axes[0].get_lines()[0].get_xdata()) == 2


# --- inputs that need no gradient ---------------------------------------------------------------


def input_boxes(source):
    """The labels (shape, dtype) of the "input" boxes: inputs drawn without a node of their own."""
    return re.findall(r"<B>input</B><BR/><FONT [^>]*>([^<]*)</FONT>", source)


def plain_inputs(source):
    """The input boxes drawn for tensors without a node: unnamed ones and the initial states."""
    return input_boxes(source) + re.findall(r"<B>[hc]_0</B><BR/>initial state<BR/>", source)


@pytest.mark.parametrize("eager", [False, True])
def test_an_input_without_requires_grad_is_drawn_with_its_shape(eager):
    lstm = nn.LSTM(3, 4, seed=0)
    x = tg.Tensor(np.ones((5, 2, 3), dtype=np.float32))  # needs no gradient: no node of its own
    with tg.eager() if eager else contextlib.nullcontext():
        out, _ = lstm(x)
        loss = out.sum()
    loss.backward()  # frees the arrays the nodes saved: the shapes must outlive them
    source = viz.draw_graph(loss).source
    # the input projection reads x as (T * B, I); the zero initial states h_0 and c_0, (B, H),
    # are drawn under their names
    assert input_boxes(source) == ["(10, 3) float32"]
    for name in ("h_0", "c_0"):
        assert f"<B>{name}</B><BR/>initial state<BR/>" in source
        assert source.count(f"<B>{name}</B>") == 1


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("collapse", [None, "cell"])
def test_the_initial_states_are_named_h0_and_c0_not_input(kind, collapse):
    net = nn.Module()
    net.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](2, 3, num_layers=2, seed=0)
    x = tg.Tensor(np.ones((3, 1, 2), dtype=np.float32), requires_grad=True).named("x")
    out, _ = net.rnn(x)
    source = viz.draw_graph(out.sum(), collapse=collapse).source
    assert input_boxes(source) == []  # x has its name; h_0, c_0 theirs, in every layer
    names = ["h_0", "c_0"] if kind == "lstm" else ["h_0"]
    for name in names:
        assert f"<B>{name}</B><BR/>initial state<BR/>" in source
        assert source.count(f"<B>{name}</B>") == 2  # one per layer: the GRU reads h_0 twice
    assert "<B>c_0</B>" not in source or kind == "lstm"
    given = tg.Tensor(np.ones((2, 1, 3), dtype=np.float32)).named("mine")  # a user's own state
    out = net.rnn(x, (given, given) if kind == "lstm" else given)[0]
    assert "<B>h_0</B>" in viz.draw_graph(out.sum(), collapse=collapse).source  # its layers'
    assert given.name == "mine"  # the user's tensor keeps its name


def test_inputs_are_drawn_alike_by_the_compiled_loop_and_eager_mode():
    w = tg.Tensor(np.full((3, 3), 0.5), requires_grad=True)
    x = tg.Tensor(np.ones((4, 2, 3)))  # the scan's own input and state need no gradient
    step = lambda x_t, state, w: ((x_t + state[0] @ w).tanh(),)  # noqa: E731
    out, _ = tg.scan.scan(step, x, (tg.zeros(2, 3, dtype=np.float64).named("h0"),), (w,))
    compiled = viz.draw_graph(out.sum()).source
    with tg.eager():
        out, _ = tg.scan.scan(step, x, (tg.zeros(2, 3, dtype=np.float64).named("h0"),), (w,))
    assert compiled == viz.draw_graph(out.sum()).source
    assert compiled.count("<B>h0</B>") == 1
    assert input_boxes(compiled).count("(2, 3) float64") == 4  # x[t] at every step


def test_numbers_and_arrays_an_op_reads_are_not_drawn_tensors_are():
    x = tg.Tensor(np.ones(3), requires_grad=True).named("x")
    source = viz.draw_graph((2.0 * x + np.ones((2, 3))).sum()).source
    assert input_boxes(source) == []
    source = viz.draw_graph((2.0 * x + tg.Tensor(np.ones((2, 3)))).sum()).source
    assert input_boxes(source) == ["(2, 3) float64"]


def test_the_readme_quotes_no_drawing_size_it_did_not_measure():
    """A size in inches goes stale with every change of layout: the README quotes one only from
    docs/quoted_numbers.py's last measurement (tests/test_quoted_numbers.py checks those)."""
    import importlib.util
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("qn", root / "docs" / "quoted_numbers.py")
    qn = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(qn)
    measured = " ".join(
        text for path, text in qn.quoted_texts(qn.load_results()["values"]) if path == "README.md"
    )
    readme = (root / "README.md").read_text(encoding="utf-8")
    for size in re.findall(r"\b\d+(?:\.\d+)? inch", readme):
        assert size in measured, f"README.md quotes {size}es, not measured by quoted_numbers.py"
