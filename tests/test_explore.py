"""The explorer page: its embedded data checked against the engine's own graph (visit order,
creation order, values, gradients), its escaping, and the page itself driven in a real browser
(Debian's chromium through Playwright: loads offline, steps the sweep, switches views)."""

import json
import pathlib
import re
import shutil
import warnings

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn, ops, viz
from tinygrad_seq.viz import style
from tinygrad_seq.viz.trace import walk

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's `dot`")
HOSTILE = "<script>alert(1)</script> \"double\" 'single'\nsecond line & </b>"


def lstm_loss(steps=3, layers=1, keep=True, backward=True):
    net = nn.Module()
    net.rnn = nn.LSTM(2, 3, num_layers=layers, seed=0)
    x = np.random.default_rng(0).standard_normal((steps, 1, 2)).astype(np.float32)
    x = tg.Tensor(x, requires_grad=True).named("x")
    with tg.keep_values() if keep else _nothing():
        output, _ = net.rnn(x)
        loss = (output * output).sum().named("loss")
    if backward:
        loss.backward(keep_grads=True)
    return loss


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_CUBE = ops.primitive("explore_test_cube", lambda x: x**3, lambda g, out, x: 3 * g * x**2)


def mlp_loss(weight_name="W2"):
    """A two-layer net with a user's own primitive; every node has a name of its own."""
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.standard_normal((2, 3)).astype(np.float32), requires_grad=True).named("x")
    w1 = tg.Tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True).named("W1")
    w2 = tg.Tensor(rng.standard_normal((4, 1)).astype(np.float32), requires_grad=True)
    w2 = w2.named(weight_name)
    with tg.keep_values():
        h = (x @ w1).named("pre").tanh().named("hidden")
        y = tg.apply(_CUBE, (h @ w2).named("out")).named("cubed")
        loss = y.sum().named("loss")
    loss.backward(keep_grads=True)
    return loss


def page_data(page_html):
    found = re.search(
        r'<script type="application/json" id="explore-data">(.*?)</script>', page_html
    )
    return json.loads(found.group(1))


def explore(loss, tmp_path, name="page.html", **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a complete graph warns about nothing
        return viz.explore(loss, tmp_path / name, **options)


# --- the page's data, without a browser -----------------------------------------------------------


@needs_dot
def test_backward_and_forward_orders_are_the_engines(tmp_path):
    loss = lstm_loss()
    data = page_data(explore(loss, tmp_path).html)
    nodes = walk([loss.node])
    visited = sorted((n for n in nodes if n.visit is not None), key=lambda n: n.visit)
    # numbered from 1 in the engine's order, as the status line counts the steps
    assert [data["nodes"][i]["visit"] for i in data["backward"]] == list(range(1, len(visited) + 1))
    assert [data["nodes"][i]["serial"] for i in data["backward"]] == [n.serial for n in visited]
    assert data["nodes"][data["backward"][0]]["name"] == "loss"  # the sweep starts at the loss
    serials = [data["nodes"][i]["serial"] for i in data["forward"]]
    assert serials == sorted(n.serial for n in nodes)


@needs_dot
def test_summaries_and_histograms_are_the_nodes_values_and_gradients(tmp_path):
    loss = lstm_loss()
    data = page_data(explore(loss, tmp_path).html)
    nodes = walk([loss.node])
    forget = next(i for i, n in enumerate(nodes) if n.name == "forget gate")
    value, grad = nodes[forget].value.astype(np.float64), nodes[forget].grad.astype(np.float64)
    shown = data["nodes"][forget]
    assert (
        shown["shape"] == [1, 3] and shown["dtype"] == "float32" and shown["role"] == "forget gate"
    )
    for stats, array in ((shown["value"], value), (shown["grad"], grad)):
        assert stats["min"] == pytest.approx(array.min())
        assert stats["mean"] == pytest.approx(array.mean())
        assert stats["max"] == pytest.approx(array.max())
        assert stats["norm"] == pytest.approx(np.linalg.norm(array))
        assert sum(stats["hist"]["counts"]) == array.size


@needs_dot
def test_flow_series_hold_the_state_gradients_per_time_step(tmp_path):
    loss = lstm_loss(steps=4)
    data = page_data(explore(loss, tmp_path).html)
    nodes = walk([loss.node])
    series = {s["state"]: s["points"] for s in data["flow"]}
    assert sorted(series) == ["c", "h"]
    for state, role in (("h", "hidden state"), ("c", "cell state")):
        assert [t for t, _ in series[state]] == [0, 1, 2, 3]
        for t, i in series[state]:
            assert nodes[i].name == role and nodes[i].scope[-1] == f"t={t}"
            norm = np.linalg.norm(nodes[i].grad.astype(np.float64))
            assert data["nodes"][i]["grad"]["norm"] == pytest.approx(norm)


@needs_dot
def test_every_box_of_each_view_is_in_its_svg(tmp_path):
    page = explore(lstm_loss(), tmp_path).html
    data = page_data(page)
    assert set(data["views"]) == {"ops", "cell"}
    for name, view in data["views"].items():
        svg = page.split(f'id="view-{name}"')[1].split("</svg>")[0]
        assert svg.count('class="node"') == len(view["boxes"])
    assert sum(b["kind"] == "cell" for b in data["views"]["cell"]["boxes"]) == 3


@needs_dot
def test_page_is_self_contained(tmp_path):
    page = explore(lstm_loss(), tmp_path).html
    assert page.count("<script") == 2 and "<script src" not in page  # the data and the code
    assert "<link" not in page and "@import" not in page and "url(" not in page
    # the only addresses are the SVG namespaces, which are names, not downloads
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@needs_dot
def test_hostile_names_are_escaped_in_the_page(tmp_path):
    page = explore(mlp_loss(HOSTILE), tmp_path).html
    assert "<script>alert" not in page and "</b>" not in page.split("<svg")[0]
    names = [n["name"] for n in page_data(page)["nodes"]]
    assert HOSTILE in names  # the JSON gives the name back exactly
    title = page_data(explore(lstm_loss(), tmp_path, title=HOSTILE).html)["title"]
    assert title == HOSTILE


@needs_dot
def test_any_graph_an_mlp_with_a_users_primitive(tmp_path):
    data = page_data(explore(mlp_loss(), tmp_path).html)
    assert set(data["views"]) == {"ops"} and data["view"] == "ops" and data["flow"] == []
    ops_seen = {n["op"] for n in data["nodes"]}
    assert {"explore_test_cube", "matmul", "tanh", "sum"} <= ops_seen
    assert any("no time steps" in note["text"] for note in data["notes"])


@needs_dot
def test_a_large_graph_starts_collapsed_and_says_so(tmp_path):
    data = page_data(explore(lstm_loss(steps=45), tmp_path, max_nodes=120).html)
    assert data["view"] == "cell"
    notes = " ".join(note["text"] for note in data["notes"])
    assert "large graph" in notes and "view 'every operation': the" in notes
    assert "view 'one box per cell': the" in notes  # at most 40 boxes: Graphviz's layout is slow
    ops_boxes, cell_boxes = data["views"]["ops"]["boxes"], data["views"]["cell"]["boxes"]
    assert len(ops_boxes) <= 121 and ops_boxes[-1]["kind"] == "elided"  # 120 and the note
    assert len(cell_boxes) <= 41 and cell_boxes[-1]["kind"] == "elided"
    data = page_data(explore(lstm_loss(steps=20), tmp_path, collapse=None, max_nodes=120).html)
    assert data["view"] == "ops"


@needs_dot
def test_missing_gradients_or_values_are_said_and_warned(tmp_path):
    with pytest.warns(UserWarning, match=r"explore: no gradients.*backward\(keep_grads=True"):
        page = viz.explore(lstm_loss(backward=False), tmp_path / "a.html")
    data = page_data(page.html)
    assert data["backward"] == [] and "no gradients" in data["notes"][0]["text"]
    loss = lstm_loss(keep=False, backward=False)
    loss.backward()  # frees the values, keeps only the leaves' gradients
    with pytest.warns(UserWarning) as caught:
        viz.explore(loss, tmp_path / "b.html")
    said = " ".join(str(w.message) for w in caught)
    assert "only the leaves' gradients" in said and "no values" in said and "keep_values" in said


@needs_dot
def test_a_compiled_loop_is_shown_op_by_op_with_its_gradients(tmp_path):
    loss = lstm_loss(steps=3, keep=False, backward=False)  # the layer runs as one scan node
    loss.backward(keep_grads=True)
    with pytest.warns(UserWarning, match="no values"):
        page = viz.explore(loss, tmp_path / "page.html")
    data = page_data(page.html)
    assert {n["op"] for n in data["nodes"]} >= {"sigmoid", "tanh"}  # the step's own ops
    assert len({n["t"] for n in data["nodes"] if n["role"] == "forget gate"}) == 3
    visits = [data["nodes"][i]["visit"] for i in data["backward"]]
    assert visits == sorted(visits) and len(visits) == len(set(visits))
    assert all(data["nodes"][i]["grad"] for i in data["backward"])
    # the viewer made these nodes after the loss: the forward steps in the walk's order
    assert data["forward"] == list(range(len(data["nodes"])))


@needs_dot
def test_a_sweep_through_an_earlier_graph_is_not_shown(tmp_path):
    w = tg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True).named("w")
    (w * 2).sum().backward(keep_grads=True)  # gives w's node a visit and w a gradient
    with pytest.warns(UserWarning) as caught:
        page = viz.explore((w * 3).sum(), tmp_path / "page.html")
    assert any("no gradients" in str(warning.message) for warning in caught)
    data = page_data(page.html)
    assert data["backward"] == []
    assert all(n["visit"] is None and n["grad"] is None for n in data["nodes"])


@needs_dot
def test_returned_object_knows_its_path_and_shows_in_jupyter(tmp_path, monkeypatch):
    page = explore(mlp_loss(HOSTILE), tmp_path)
    assert pathlib.Path(page.path).read_text(encoding="utf-8") == page.html
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "<script" not in frame  # all of it escaped
    assert repr(page) == f"<Explorer {page.path}>"
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    page.open()
    assert opened == [pathlib.Path(page.path).resolve().as_uri()]
    temporary = viz.explore(mlp_loss())
    try:
        assert temporary.path.endswith(".html") and pathlib.Path(temporary.path).is_file()
    finally:
        pathlib.Path(temporary.path).unlink()


def test_without_dot_the_page_steps_without_a_drawing_and_says_how_to_get_one(
    tmp_path, monkeypatch
):
    loss = lstm_loss()
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    with pytest.warns(UserWarning, match="no drawing: .*apt install graphviz"):
        page = viz.explore(loss, tmp_path / "page.html")
    data = page_data(page.html)
    assert "<svg" not in page.html.split("<aside>")[0]  # only the chart's, in the side panel
    assert data["backward"] and data["flow"] and "no drawing" in data["notes"][0]["text"]


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="explore: this tensor has no graph"):
        viz.explore(tg.Tensor([1.0]).sum(), tmp_path / "x.html")
    with pytest.raises(TypeError, match="explore: expected a Tensor"):
        viz.explore("loss", tmp_path / "x.html")
    with pytest.raises(ValueError, match="explore: got an empty list"):
        viz.explore([], tmp_path / "x.html")
    loss = (tg.Tensor([1.0], requires_grad=True) * 2).sum()
    with pytest.raises(ValueError, match="collapse must be"):
        viz.explore(loss, tmp_path / "x.html", collapse="cells")
    with pytest.raises(ValueError, match="max_nodes must be"):
        viz.explore(loss, tmp_path / "x.html", max_nodes=0)
    with pytest.raises(FileNotFoundError, match="explore: cannot write .*: no folder"):
        viz.explore(loss, tmp_path / "missing" / "x.html")
    with pytest.raises(IsADirectoryError, match="explore: cannot write .*: it is a folder"):
        viz.explore(loss, tmp_path)


@needs_dot
def test_cli_writes_the_page_and_checks_the_path_first(tmp_path, capsys):
    from tinygrad_seq import cli

    path = tmp_path / "lstm.html"
    assert cli.main(["explore", "--model", "gru", "--steps", "4", "-o", str(path)]) == 0
    data = page_data(path.read_text(encoding="utf-8"))
    assert len({t for s in data["flow"] for t, _ in s["points"]}) == 4 and data["backward"]
    assert data["draw_all"] == "--max-nodes 0 draws all"  # its flag, not explore's argument
    assert cli.main(["explore", "-o", str(tmp_path / "missing" / "x.html")]) == 1
    assert "no folder" in capsys.readouterr().err


# --- in a real browser ----------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if pathlib.Path("/usr/bin/chromium").exists() else None
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("needs chromium (Debian: apt install chromium)")
    if shutil.which("dot") is None:
        pytest.skip("needs Graphviz's `dot`")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class Opened:
    """A page loaded from disk, with every request, console error and dialog it made."""

    def __init__(self, browser, path, size=(1400, 860)):
        self.url = pathlib.Path(path).resolve().as_uri()
        self.page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        self.requests, self.errors, self.dialogs = [], [], []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(self.url)

    def clean(self):
        return self.requests == [self.url] and not self.errors and not self.dialogs

    def marked(self, cls, view="ops"):
        """The box numbers (DOT ids n<i>) carrying ``cls`` in ``view``."""
        titles = self.page.eval_on_selector_all(
            f"#view-{view} g.node.{cls} > title", "els => els.map(e => e.textContent)"
        )
        return sorted(int(t[1:]) for t in titles)


@pytest.fixture
def lstm_page(browser, tmp_path):
    loss = lstm_loss(steps=4)
    opened = Opened(browser, explore(loss, tmp_path).path)
    opened.nodes = walk([loss.node])  # box i of the op-by-op view is node i of the walk
    yield opened
    opened.page.close()


def test_loads_from_disk_offline_without_errors(lstm_page):
    assert lstm_page.page.locator("#view-ops svg").is_visible()
    assert lstm_page.clean(), (lstm_page.requests, lstm_page.errors)


def test_next_k_times_highlights_the_engines_first_k_visits(lstm_page):
    order = sorted((n for n in lstm_page.nodes if n.visit is not None), key=lambda n: n.visit)
    position = {n: i for i, n in enumerate(lstm_page.nodes)}
    done = 0
    for k in (1, 2, 7, 40, len(order)):
        lstm_page.page.click("#next")  # one real click, the rest through the button's handler
        lstm_page.page.evaluate(f"for (let i = 0; i < {k - done - 1}; i++) next.click()")
        done = k
        expected = sorted(position[n] for n in order[:k])
        assert lstm_page.marked("visited") == expected
        assert lstm_page.marked("current") == [position[order[k - 1]]]
    assert lstm_page.page.locator("#next").is_disabled()
    lstm_page.page.click("#first")
    assert lstm_page.marked("visited") == []
    lstm_page.page.keyboard.press("ArrowRight")  # the keyboard steps too
    assert lstm_page.marked("current") == [position[order[0]]]
    assert lstm_page.clean()


def test_next_follows_names_in_a_graph_of_named_nodes(browser, tmp_path):
    loss = mlp_loss()
    opened = Opened(browser, explore(loss, tmp_path).path)
    order = sorted((n for n in walk([loss.node]) if n.visit is not None), key=lambda n: n.visit)
    for k in range(1, len(order) + 1):
        opened.page.click("#next")
        names = opened.page.eval_on_selector_all(
            "#view-ops g.node.visited > text:first-of-type", "els => els.map(e => e.textContent)"
        )
        assert sorted(names) == sorted(n.name for n in order[:k])
        assert opened.page.text_content("#status b") == order[k - 1].name
    opened.page.click("#mode-forward")  # the forward stepper: creation order
    opened.page.click("#next")
    first = min(walk([loss.node]), key=lambda n: n.serial)
    assert opened.page.text_content("#status b") == first.name
    assert opened.clean()
    opened.page.close()


def test_clicking_a_node_shows_its_shape_and_gradient(browser, tmp_path):
    loss = mlp_loss()
    opened = Opened(browser, explore(loss, tmp_path).path)
    opened.page.locator("#view-ops g.node", has_text="W1").click()
    panel = opened.page.text_content("#panel")
    w1 = next(n for n in walk([loss.node]) if n.name == "W1")
    assert "W1" in panel and "(3, 4)" in panel and "float32" in panel
    assert "gradient" in panel and f"{np.linalg.norm(w1.grad.astype(np.float64)):.4g}" in panel
    assert opened.page.locator("#panel .hist-wrap.grad svg rect").count() > 1  # its histogram
    opened.page.locator("#view-ops g.node", has_text="hidden").hover()  # hovering shows another
    assert opened.page.text_content("#panel h3") == "hidden"
    opened.page.mouse.move(1, 1)  # and leaving it shows the pinned one again
    assert opened.page.text_content("#panel h3") == "W1"
    assert opened.clean()
    opened.page.close()


def test_the_slider_moves_the_chart(lstm_page):
    page = lstm_page.page
    assert page.get_attribute("#flow-chart .marker", "data-t") == "3"
    page.focus("#time-slider")
    page.keyboard.press("ArrowLeft")
    assert page.get_attribute("#flow-chart .marker", "data-t") == "2"
    active = page.eval_on_selector_all("#flow-chart circle.active", "e => e.map(c => c.dataset.t)")
    assert active == ["2", "2"]  # h and c at t = 2
    assert "t = 2" in page.text_content("#time-value")
    assert page.get_attribute("#view-ops .step-band", "data-t") == "2"
    assert lstm_page.marked("visited") == []  # the slider's arrow keys do not step the sweep
    assert lstm_page.clean()


def test_switching_views_with_a_screenshot_of_each(lstm_page, tmp_path):
    page = lstm_page.page
    for _ in range(12):
        page.click("#next")
    page.screenshot(path=tmp_path / "ops.png")
    page.click("#view-button-cell")
    assert page.locator("#view-cell").is_visible() and page.locator("#view-ops").is_hidden()
    cells = page.locator("#view-cell g.node", has_text="LSTM cell")
    assert cells.count() == 4
    assert len(lstm_page.marked("current", "cell")) == 1  # the sweep shown in this view too
    page.screenshot(path=tmp_path / "cell.png")
    page.click("#view-button-ops")
    assert page.locator("#view-ops").is_visible() and page.locator("#view-cell").is_hidden()
    assert (tmp_path / "ops.png").stat().st_size > 10_000
    assert (tmp_path / "cell.png").stat().st_size > 10_000
    assert lstm_page.clean()


def test_a_hostile_name_shows_literally_and_runs_nothing(browser, tmp_path):
    opened = Opened(browser, explore(mlp_loss(HOSTILE), tmp_path, title=HOSTILE).path)
    assert opened.page.title() == HOSTILE.replace("\n", " ")  # a title shows one line
    assert opened.page.text_content("h1") == HOSTILE
    for _ in range(3):  # the sweep reaches the hostile weight: the status names it
        opened.page.click("#next")
    opened.page.locator("#view-ops g.node", has_text="alert").click()
    assert opened.page.text_content("#panel h3") == HOSTILE
    assert opened.page.evaluate("document.querySelectorAll('script').length") == 2
    assert opened.clean(), (opened.requests, opened.errors, opened.dialogs)
    opened.page.close()


def test_a_page_without_a_drawing_still_steps(browser, tmp_path, monkeypatch):
    loss = lstm_loss()
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    with pytest.warns(UserWarning, match="no drawing"):
        path = viz.explore(loss, tmp_path / "page.html").path
    opened = Opened(browser, path)
    opened.page.click("#next")
    assert opened.page.text_content("#status b") == "loss"
    assert "apt install graphviz" in opened.page.text_content("#notes")
    assert opened.clean(), opened.errors
    opened.page.close()


def test_the_jupyter_view_works_in_its_iframe(browser, tmp_path):
    notebook = tmp_path / "notebook.html"
    page = explore(mlp_loss(HOSTILE), tmp_path)
    notebook.write_text(f"<!DOCTYPE html><body>{page._repr_html_()}</body>", encoding="utf-8")
    opened = Opened(browser, notebook)
    frame = opened.page.frame_locator("iframe")
    frame.locator("#next").click()
    assert frame.locator("#status b").text_content() == "loss"
    assert not opened.errors and not opened.dialogs
    opened.page.close()


# --- what a newcomer sees first: numbering, fitting, scrolling, layout, at two window sizes -----

SIZES = [(1280, 720), (900, 700)]


@pytest.fixture(scope="module")
def six_steps(browser, tmp_path_factory):
    """The command line's page: a 6-step LSTM, its loss and its graph's nodes."""
    loss = lstm_loss(steps=6)
    path = tmp_path_factory.mktemp("six") / "lstm.html"
    page = explore(loss, path.parent, name=path.name)
    return page.path, loss, page_data(page.html)


def rect(page, selector):
    return page.eval_on_selector(
        selector,
        "e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }",
    )


def pane(page):
    """The graph pane's visible inside (its client area: no scroll bars)."""
    return page.eval_on_selector(
        "#graph",
        "e => { const r = e.getBoundingClientRect(); "
        "return [r.left + e.clientLeft, r.top + e.clientTop, "
        "r.left + e.clientLeft + e.clientWidth, r.top + e.clientTop + e.clientHeight]; }",
    )


def inside(inner, outer, slack=0.5):
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def box_of(page, view, text, t):
    """The selector of the box of ``view`` labelled ``text`` in step t (by its DOT id)."""
    data = page.evaluate("JSON.parse(document.getElementById('explore-data').textContent)")
    nodes = data["nodes"]
    for i, box in enumerate(data["views"][view]["boxes"]):
        names = [nodes[n]["name"] for n in box["nodes"]] + [box["label"]]
        if box["t"] == t and text in names:
            return f"#view-{view} g.node:has(> title:text-is('n{i}'))"
    raise AssertionError(f"no box {text!r} at t = {t}")


def test_the_status_the_panel_and_the_drawing_count_visits_alike(browser, six_steps):
    path, loss, data = six_steps
    opened = Opened(browser, path, SIZES[0])
    page, total = opened.page, len(data["backward"])
    drawn = viz.draw_graph(loss, show_grad=True).source
    nodes = walk([loss.node])
    done = 0
    for k in (1, 8, 30):
        page.evaluate(f"for (let i = 0; i < {k - done}; i++) next.click()")
        done = k
        assert f"visit {k} / {total}" in page.text_content("#status")
        assert f"visit {k} / {total}" in page.text_content("#panel")  # not "visit #{k - 1}"
        node = nodes[data["backward"][k - 1]]
        assert data["nodes"][data["backward"][k - 1]]["visit"] == k
        label = style.node_label(node, False, True, k)  # what the drawing writes on its box
        assert f"backward #{k}<" in label and label[1:-1] in drawn
    assert opened.clean(), (opened.requests, opened.errors)
    opened.page.close()


def test_the_panel_shows_places_in_the_graph_not_internal_counters(browser, six_steps):
    path, loss, data = six_steps
    opened = Opened(browser, path, SIZES[0])
    forget = box_of(opened.page, "ops", "forget gate", 0)
    opened.page.click(forget)
    panel = opened.page.text_content("#panel")
    i = next(i for i, n in enumerate(data["nodes"]) if n["name"] == "forget gate" and n["t"] == 0)
    assert "created" not in panel and f"#{data['nodes'][i]['serial']}" not in panel
    place = data["forward"].index(i) + 1
    assert f"node {place} / {len(data['forward'])}" in panel
    opened.page.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", ["ops", "cell"])
def test_fit_fits_the_whole_drawing_in_the_pane(browser, six_steps, size, view):
    opened = Opened(browser, six_steps[0], size)
    page = opened.page
    page.click(f"#view-button-{view}")
    page.click("#zoom-fit")
    assert inside(rect(page, f"#view-{view} svg"), pane(page))
    opened.page.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_cell_view_opens_at_its_start_with_t0_and_the_legend(browser, six_steps, size):
    opened = Opened(browser, six_steps[0], size)
    page = opened.page
    page.evaluate("for (let i = 0; i < 8; i++) next.click()")  # the sweep is at t = 5
    page.click("#view-button-cell")
    legend = "#view-cell g.graph > text"  # the drawing's title, above its swatches
    assert "computation graph" in page.text_content(legend)
    assert inside(rect(page, legend), pane(page))
    assert inside(rect(page, box_of(page, "cell", "LSTM cell", 0)), pane(page))
    opened.page.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pinning_or_choosing_a_step_brings_it_into_view(browser, six_steps, size):
    opened = Opened(browser, six_steps[0], size)
    page = opened.page
    page.evaluate("for (let i = 0; i < 8; i++) next.click()")  # the drawing follows to t = 5
    forget = box_of(page, "ops", "forget gate", 0)
    page.click(forget)  # scrolled to by the click itself; pinning must not scroll away
    assert page.get_attribute(forget, "class").split().count("pinned") == 1
    assert inside(rect(page, forget), pane(page))
    page.click("#first")
    page.evaluate("for (let i = 0; i < 8; i++) next.click()")  # back to t = 5
    page.click("#flow-chart circle[data-t='0']")  # t = 0 chosen on the chart
    band = "#view-ops .step-band"
    assert page.get_attribute(band, "data-t") == "0"
    box = rect(page, band)
    view = pane(page)
    assert box[1] < view[3] and box[3] > view[1]  # the band of t = 0 is (partly) in sight
    opened.page.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_controls_lie_in_the_window_apart_and_the_drawing_keeps_its_place(
    browser, six_steps, size, tmp_path
):
    opened = Opened(browser, six_steps[0], size)
    page = opened.page
    window = [0, 0, size[0], size[1]]
    page.evaluate("for (let i = 0; i < 8; i++) next.click()")
    for view in ("ops", "cell"):
        page.click(f"#view-button-{view}")
        footer = rect(page, "footer")
        parts = ["#flow-chart", "#flow-legend", "#time-slider", "#time-value"]
        boxes = {p: rect(page, p) for p in parts}
        for part, box in boxes.items():
            assert inside(box, window) and not overlap(box, footer), (part, box, footer)
        for a in parts:
            for b in parts:
                if a < b and not (a == "#time-slider" and b == "#time-value"):
                    assert not overlap(boxes[a], boxes[b]), (a, b)
        assert not overlap(boxes["#time-slider"], boxes["#time-value"])
        for button in page.query_selector_all("#toolbar button"):
            box = button.bounding_box()
            box = [box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"]]
            assert inside(box, window)
        page.screenshot(path=tmp_path / f"{view}.png")
    # every step of both steppers: the status keeps one line and the drawing its place
    for mode in ("backward", "forward"):
        page.click(f"#mode-{mode}")
        places = page.evaluate(
            """() => { const seen = new Set();
                 for (let i = 0; i <= 120; i++) {
                   const g = document.getElementById("graph").getBoundingClientRect();
                   const s = document.getElementById("status").getBoundingClientRect();
                   seen.add(g.top + "," + s.height); next.click(); }
                 return [...seen]; }"""
        )
        assert len(places) == 1, places
    opened.page.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_histogram_ticks_do_not_run_together(browser, six_steps, size):
    opened = Opened(browser, six_steps[0], size)
    page = opened.page
    page.click(box_of(page, "ops", "forget gate", 0))
    ticks = page.eval_on_selector_all(
        "#panel .hist text",
        "ts => ts.map(t => { const r = t.getBoundingClientRect(); "
        "return [r.left, r.top, r.right, r.bottom]; })",
    )
    assert len(ticks) == 4  # low and high of the value's and of the gradient's histogram
    panel = page.eval_on_selector(
        "#panel",
        "e => { const r = e.getBoundingClientRect(); "
        "return [r.left, r.top - 1e4, r.left + e.clientWidth, r.bottom + 1e4]; }",
    )
    for tick in ticks:
        assert inside(tick, panel), (tick, panel)  # not cut off by the panel's edge
    for a, b, gap in zip(ticks, ticks[1:], (6, 14, 6)):
        # left to right, apart; the value's high end and the gradient's low end far enough
        # apart not to read as one line of numbers ("0.7093 -0.5")
        assert a[2] + gap <= b[0], ticks
    opened.page.close()


@needs_dot
def test_the_initial_states_are_named_h0_and_c0_in_the_explorer(tmp_path):
    data = page_data(explore(lstm_loss(), tmp_path).html)
    assert sorted(n["name"] for n in data["nodes"] if n["kind"] == "input") == ["c_0", "h_0", "x"]


def test_eight_series_leave_room_for_the_panel_and_the_slider(browser, tmp_path):
    """A 2-layer bidirectional LSTM has eight series (h and c of four lanes): the chart's list
    scrolls, the slider and the panel stay in the window."""
    net = nn.Module()
    net.rnn = nn.LSTM(2, 3, num_layers=2, bidirectional=True, seed=0)
    x = tg.Tensor(np.ones((4, 1, 2), dtype=np.float32), requires_grad=True).named("x")
    with tg.keep_values():
        out, _ = net.rnn(x)
        loss = (out * out).sum().named("loss")
    loss.backward(keep_grads=True)
    opened = Opened(browser, viz.explore(loss, tmp_path / "deep.html").path, (900, 700))
    page = opened.page
    page.evaluate("for (let i = 0; i < 5; i++) next.click()")
    assert page.locator("#flow-legend .legend-item").count() == 8
    footer, window = rect(page, "footer"), [0, 0, 900, 700]
    for part in ("#flow-chart", "#time-slider", "#time-value"):
        assert inside(rect(page, part), window) and not overlap(rect(page, part), footer), part
    panel = rect(page, "#panel")
    assert panel[3] - panel[1] >= 100  # the panel is not squeezed away
    assert "=" in page.text_content("#flow-legend")  # each series' value at the chosen step
    assert opened.clean(), (opened.requests, opened.errors)
    opened.page.close()


# --- attention weights as heatmaps ---------------------------------------------------------------


def attention_loss(heads=2, length=5):
    mha = nn.MultiheadAttention(8, heads, batch_first=True, seed=0)
    x = np.random.default_rng(0).standard_normal((2, length, 8)).astype(np.float32)
    x = tg.Tensor(x, requires_grad=True).named("x")
    with tg.keep_values():
        out, _ = mha(x, x, x)
        loss = (out * out).sum().named("loss")
    loss.backward(keep_grads=True)
    return loss


@needs_dot
def test_a_heatmap_per_head_holds_the_first_sequences_weights_and_gradient(tmp_path):
    loss = attention_loss()
    data = page_data(explore(loss, tmp_path).html)
    nodes = walk([loss.node])
    maps = data["heatmaps"]
    assert [m["where"] for m in maps] == [  # in the order the heads were computed
        "multihead attention / head 0",
        "multihead attention / head 1",
    ]
    for m in maps:
        node = nodes[m["node"]]
        assert node.name == "attention weights" and m["shape"] == [5, 5]
        np.testing.assert_allclose(m["value"], style.value_of(node)[0], rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(m["grad"], style.grad_of(node)[0], rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(np.sum(m["value"], axis=1), 1.0, rtol=1e-3)


@needs_dot
def test_heatmaps_of_scaled_dot_product_attention_one_per_head_and_none_without_attention(
    tmp_path,
):
    q = tg.Tensor(np.random.default_rng(1).standard_normal((1, 3, 4, 2)), requires_grad=True)
    with tg.keep_values():
        loss = tg.nn.functional.scaled_dot_product_attention(q, q, q).sum()
    loss.backward(keep_grads=True)
    maps = page_data(explore(loss, tmp_path).html)["heatmaps"]
    assert [m["where"] for m in maps] == ["head 0", "head 1", "head 2"]
    assert all(m["shape"] == [4, 4] for m in maps)
    assert page_data(explore(mlp_loss(), tmp_path, name="mlp.html").html)["heatmaps"] == []


@pytest.mark.parametrize("size", SIZES)
def test_the_heatmap_is_linked_to_the_graph_and_the_backward_stepper(browser, tmp_path, size):
    loss = attention_loss()
    data = page_data(explore(loss, tmp_path).html)
    opened = Opened(browser, tmp_path / "page.html", size)
    page = opened.page
    assert page.locator("#attention").is_visible()
    shown = data["heatmaps"][0]
    assert page.locator("#heatmaps svg.value rect").count() == 25
    # before the sweep reaches the weights, their gradient is not shown
    assert "not reached" in page.text_content("#heatmaps")
    # step the backward sweep up to the weights' node: the map is the current step, its
    # gradient filled in
    visit = data["backward"].index(shown["node"]) + 1
    page.evaluate(f"for (let i = 0; i < {visit}; i++) next.click()")
    assert "current" in page.get_attribute("#attention", "class")
    assert "not reached" not in page.text_content("#heatmaps")
    assert page.locator("#heatmaps svg.grad rect[fill='#e4e4e4']").count() == 0
    # a cell: its numbers, and the node's box pinned in the drawing
    page.click("#heatmaps svg.value rect[data-i='2'][data-j='3']")
    readout = page.text_content("#heatmap-readout")
    assert f"weight {shown['value'][2][3]:.4g}"[:12] in readout and "∂L/∂weight" in readout
    pinned = page.eval_on_selector_all(
        "#view-ops g.node.pinned > title", "els => els.map(e => e.textContent)"
    )
    box = int(pinned[0][1:])
    assert data["views"]["ops"]["boxes"][box]["nodes"] == [shown["node"]]
    assert "attention weights" in page.text_content("#panel")
    # the other head's button switches the map and pins that head's box
    page.click("#heatmap-heads button[aria-pressed='false']")
    other = data["heatmaps"][1]
    assert other["where"] in page.text_content("#attention h2")
    pinned = page.eval_on_selector_all(
        "#view-ops g.node.pinned > title", "els => els.map(e => e.textContent)"
    )
    assert data["views"]["ops"]["boxes"][int(pinned[0][1:])]["nodes"] == [other["node"]]
    # clicking the graph's box of a head shows that head's map
    first_box = data["views"]["ops"]["boxes"].index(
        next(b for b in data["views"]["ops"]["boxes"] if b["nodes"] == [shown["node"]])
    )
    page.click(f"#view-ops g.node:has(> title:text-is('n{first_box}'))")
    assert shown["where"] in page.text_content("#attention h2")
    box = page.locator("#attention").bounding_box()
    assert box["y"] + box["height"] <= size[1] and box["x"] + box["width"] <= size[0]
    page.screenshot(path=tmp_path / f"attention_{size[0]}.png")
    assert opened.clean(), (opened.requests, opened.errors)
    page.close()
