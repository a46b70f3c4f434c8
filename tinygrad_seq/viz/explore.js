// The explorer page: steps through the graph tinygrad_seq recorded. Python (viz/explore.py)
// computed everything shown here and embedded it as JSON; this script only looks it up and
// sets classes on the SVG that Graphviz drew. User text goes in through textContent only.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("explore-data").textContent);
  const N = D.nodes;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const state = { view: D.view, mode: "backward", pos: 0, pinned: null, t: null, timer: null };
  const orders = { backward: D.backward, forward: D.forward };
  // a node's place in each order, counted from 1 as the status line counts its steps
  const place = { backward: new Map(), forward: new Map() };
  for (const mode in orders) orders[mode].forEach((n, i) => place[mode].set(n, i + 1));
  // a view opens no smaller than this, its labels legible (scrolled if larger than the pane);
  // the "fit" button shrinks it further if need be
  const READABLE = 0.65;

  // --- the drawings: box index <-> SVG group, graph node -> box --------------------------------
  const views = {};
  for (const name of Object.keys(D.views)) {
    const data = D.views[name];
    const root = document.getElementById("view-" + name);
    const boxEl = [];
    for (const g of $$("g.node", root)) {
      const i = Number($("title", g).textContent.slice(1)); // Graphviz's title is the DOT id "n<i>"
      boxEl[i] = g;
      g.dataset.box = i;
      const shape = Array.from(g.children).find((c) => ["path", "polygon", "ellipse"].includes(c.tagName));
      if (shape) shape.classList.add("shape");
      g.addEventListener("mouseenter", () => { g.classList.add("hovered"); showBox(name, i); });
      g.addEventListener("mouseleave", () => { g.classList.remove("hovered"); showDefault(); });
      g.addEventListener("click", (e) => { e.stopPropagation(); pin(name, i); });
    }
    const boxOf = new Map();
    data.boxes.forEach((b, i) => b.nodes.forEach((n) => boxOf.set(n, i)));
    // arrows by their SVG title "n<src>->n<dst>"; several between two boxes keep their order
    const queue = {};
    data.arrows.forEach((a, k) => (queue["n" + a[0] + "->n" + a[1]] ||= []).push(k));
    const edgeEl = [];
    for (const g of $$("g.edge", root)) {
      const ks = queue[$("title", g).textContent];
      if (ks && ks.length) edgeEl[ks.shift()] = g;
    }
    views[name] = { data, root, boxEl, boxOf, edgeEl };
  }
  document.getElementById("graph").addEventListener("click", () => { state.pinned = null; render(); });

  // --- formatting -------------------------------------------------------------------------------
  function num(x) {
    if (x === undefined || x === null) return "–";
    if (x === 0) return "0";
    const a = Math.abs(x);
    return a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(4))) : x.toExponential(2);
  }
  function shapeText(shape) {
    if (!shape.length) return "scalar";
    return "(" + shape.join(", ") + (shape.length === 1 ? ",)" : ")");
  }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function nodeTitle(n) { return N[n].name || (N[n].kind === "op" ? N[n].op : N[n].kind); }
  function stepText(t) { return t === null ? "" : " (t = " + t + ")"; }

  // --- the side panel: one node, or a collapsed cell ------------------------------------------
  function statsTable(value, grad, gradName) {
    // value and gradient side by side: min, mean, max, norm, then their histograms
    const box = el("div", undefined, "stats");
    const table = el("table");
    const head = el("tr");
    head.append(el("td"), el("td", "value", "col value"), el("td", gradName, "col grad"));
    table.appendChild(head);
    for (const [label, key] of [["min", "min"], ["mean", "mean"], ["max", "max"], ["norm ‖·‖", "norm"]]) {
      const tr = el("tr");
      tr.appendChild(el("td", label));
      for (const s of [value, grad]) tr.appendChild(el("td", s ? num(s[key]) : "–", "num"));
      table.appendChild(tr);
    }
    box.appendChild(table);
    const hists = el("div", undefined, "hists");
    hists.appendChild(histogram(value, "value", "value not kept"));
    hists.appendChild(histogram(grad, "grad", "no gradient kept"));
    box.appendChild(hists);
    for (const [s, what] of [[value, "value"], [grad, "gradient"]]) {
      if (s && s.nonfinite) box.appendChild(el("div", what + ": " + s.nonfinite + " entries NaN or ±inf, left out", "missing"));
    }
    return box;
  }
  function histogram(s, cls, missing) {
    const wrap = el("div", undefined, "hist-wrap " + cls);
    if (!s) { wrap.appendChild(el("div", missing, "missing")); return wrap; }
    if (!s.hist) { wrap.appendChild(el("div", s.size === 1 ? "one number" : "no histogram", "missing")); return wrap; }
    const h = s.hist, w = 150, hgt = 40, pad = 12, max = Math.max(...h.counts, 1), bw = w / h.counts.length;
    const svg = svgEl("svg", { width: w, height: hgt + pad, class: "hist" });
    h.counts.forEach((c, i) => {
      const bh = (c / max) * (hgt - 2);
      const r = svgEl("rect", { x: i * bw + 0.5, y: hgt - bh, width: Math.max(bw - 1, 1), height: bh });
      r.appendChild(svgEl("title", {}, c + " entries in bin " + (i + 1)));
      svg.appendChild(r);
    });
    svg.appendChild(svgEl("text", { x: 0, y: hgt + pad - 1 }, num(h.lo)));
    svg.appendChild(svgEl("text", { x: w, y: hgt + pad - 1, "text-anchor": "end" }, num(h.hi)));
    wrap.appendChild(svg);
    return wrap;
  }
  function showNode(n, note) {
    const d = N[n], panel = $("#panel");
    panel.replaceChildren();
    panel.appendChild(el("h3", nodeTitle(n)));
    const what = d.kind === "op" ? "operation " + d.op : d.kind;
    panel.appendChild(el("div", what + (d.role ? " · " + d.role : "") + stepText(d.t), "sub"));
    const table = el("table");
    // the node's place in each stepper, numbered as the status line numbers its steps (and the
    // drawings their "backward #k"); the engine's own counters mean nothing to a reader
    const rows = [
      ["shape", shapeText(d.shape) + " " + d.dtype], ["scope", d.scope.join(" / ") || "(top level)"],
      ["forward", placeText("forward", n)], ["backward", placeText("backward", n)],
    ];
    for (const [k, v] of rows) {
      const tr = el("tr");
      tr.appendChild(el("td", k));
      tr.appendChild(el("td", v));
      table.appendChild(tr);
    }
    panel.appendChild(table);
    if (note) panel.appendChild(el("div", note, "sub"));
    panel.appendChild(statsTable(d.value, d.grad, "gradient"));
  }
  function placeText(mode, n) {
    const k = place[mode].get(n);
    if (k === undefined) return mode === "backward" ? "not visited" : "–";
    return (mode === "backward" ? "visit " : "node ") + k + " / " + orders[mode].length;
  }
  function showBox(view, i) {
    const b = views[view].data.boxes[i];
    if (b.kind === "elided") {
      const panel = $("#panel");
      panel.replaceChildren(el("h3", "not drawn"), el("div", "the earliest boxes of the graph are left out of this view; " + D.draw_all, "sub"));
      return;
    }
    if (b.kind !== "cell") return showNode(b.nodes[0]);
    const panel = $("#panel");
    panel.replaceChildren(el("h3", b.label + stepText(b.t)), el("div", b.nodes.length + " nodes inside: every operation of this step", "sub"));
    for (const s of D.flow) {
      const p = s.points.find((pt) => b.nodes.includes(pt[1]));
      if (!p) continue;
      panel.appendChild(el("h4", s.state + " leaving this step: " + nodeTitle(p[1]) + " " + shapeText(N[p[1]].shape)));
      panel.appendChild(statsTable(N[p[1]].value, N[p[1]].grad, "∂L/∂" + s.state));
    }
  }
  function currentNode() {
    const seq = orders[state.mode];
    return state.pos > 0 ? seq[state.pos - 1] : null;
  }
  function showDefault() {
    if (state.pinned) return showBox(state.pinned.view, state.pinned.box);
    const n = currentNode();
    if (n !== null) {
      const v = views[state.view];
      const b = v.boxOf.get(n);
      const where = b === undefined ? "not drawn in this view" : v.data.boxes[b].kind === "cell" ? "inside " + v.data.boxes[b].label + stepText(v.data.boxes[b].t) : "";
      return showNode(n, where);
    }
    $("#panel").replaceChildren(el("p", "Hover or click a box to see its value and gradient; step with the buttons or the arrow keys.", "hint"));
  }
  function pin(view, box) {
    const same = state.pinned && state.pinned.view === view && state.pinned.box === box;
    state.pinned = same ? null : { view, box };
    render();
    if (state.pinned) scrollTo(views[view].boxEl[box]);
  }

  // --- the stepper ------------------------------------------------------------------------------
  function render() {
    const v = views[state.view];
    for (const name in views) views[name].root.hidden = name !== state.view;
    document.body.classList.toggle("forward-mode", state.mode === "forward");
    for (const g of $$("g.node", v.root)) g.classList.remove("visited", "computed", "current", "pinned", "in-step");
    for (const g of $$("g.edge", v.root)) g.classList.remove("flow");
    const seq = orders[state.mode];
    const done = state.mode === "backward" ? "visited" : "computed";
    for (let k = 0; k < state.pos; k++) {
      const b = v.boxOf.get(seq[k]);
      if (b !== undefined && v.boxEl[b]) v.boxEl[b].classList.add(done);
    }
    const n = currentNode();
    if (n !== null) {
      const b = v.boxOf.get(n);
      if (b !== undefined && v.boxEl[b]) {
        v.boxEl[b].classList.add("current");
      }
      // the arrows into the node: its inputs forward, where its gradient goes backward
      v.data.arrows.forEach((a, k) => {
        if (a[1] === b && N[n].parents.includes(a[2]) && v.edgeEl[k]) v.edgeEl[k].classList.add("flow");
      });
    }
    if (state.pinned && state.pinned.view === state.view) v.boxEl[state.pinned.box].classList.add("pinned");
    stepBand(v);
    for (const b of $$("[data-view]")) b.setAttribute("aria-pressed", String(b.dataset.view === state.view));
    for (const b of $$("[data-mode]")) b.setAttribute("aria-pressed", String(b.dataset.mode === state.mode));
    $("#first").disabled = $("#prev").disabled = state.pos === 0;
    $("#next").disabled = $("#last").disabled = state.pos === seq.length;
    $("#play").disabled = seq.length === 0;
    $("#play").textContent = state.timer ? "❚❚ pause" : "▶ play";
    status(n, seq);
    showDefault();
    drawChart();
    drawHeatmaps();
  }
  function status(n, seq) {
    const s = $("#status");
    s.className = state.mode;
    s.replaceChildren();
    if (!seq.length) {
      s.textContent = state.mode === "backward" ? "no backward sweep recorded (see the notes above)" : "no nodes";
      return;
    }
    const verb = state.mode === "backward" ? "backward: visit " : "forward: node ";
    s.appendChild(document.createTextNode(verb + state.pos + " / " + seq.length));
    if (n !== null) {
      s.appendChild(document.createTextNode(" · "));
      s.appendChild(el("b", nodeTitle(n)));
      const d = N[n];
      s.appendChild(document.createTextNode(" " + (d.kind === "op" && d.name ? d.op + " " : "") + shapeText(d.shape) + stepText(d.t)));
    } else {
      s.appendChild(document.createTextNode(state.mode === "backward" ? " · press → to start at the loss" : " · press → to start at the inputs"));
    }
  }
  function stepBand(v) {
    // the slider's time step: one translucent band behind its boxes (kept out of their outlines,
    // which show the sweep)
    for (const old of $$(".step-band", v.root)) old.remove();
    if (state.t === null) return;
    const lanes = {}; // one band per layer and direction: their rows lie apart
    v.data.boxes.forEach((b, i) => {
      if (b.t !== state.t || !v.boxEl[i]) return;
      v.boxEl[i].classList.add("in-step");
      const r = v.boxEl[i].getBBox(), l = (lanes[b.lane] ||= [Infinity, Infinity, -Infinity, -Infinity]);
      l[0] = Math.min(l[0], r.x); l[1] = Math.min(l[1], r.y);
      l[2] = Math.max(l[2], r.x + r.width); l[3] = Math.max(l[3], r.y + r.height);
    });
    const graph = $("g.graph", v.root);
    if (!graph) return;
    for (const [x0, y0, x1, y1] of Object.values(lanes)) {
      const band = svgEl("rect", { x: x0 - 8, y: y0 - 8, width: x1 - x0 + 16, height: y1 - y0 + 16, rx: 10, class: "step-band", "data-t": state.t });
      graph.insertBefore(band, graph.children[2] || null); // after the title and the background
    }
  }
  function zoom(v, scale) {
    const svg = $("svg", v.root);
    if (!svg) return; // no drawing (Graphviz missing): the notes say so
    v.natural ||= [parseFloat(svg.getAttribute("width")) * 4 / 3, parseFloat(svg.getAttribute("height")) * 4 / 3];
    v.scale = Math.max(0.02, Math.min(scale, 3));
    svg.style.width = v.natural[0] * v.scale + "px";
    svg.style.height = v.natural[1] * v.scale + "px";
  }
  function fitScale(v) {
    // the whole drawing inside the pane (its padding and a scroll bar's width spared)
    const area = $("#graph"), svg = $("svg", v.root);
    if (!svg) return 1;
    const w = parseFloat(svg.getAttribute("width")) * 4 / 3, h = parseFloat(svg.getAttribute("height")) * 4 / 3;
    const pad = 2 * parseFloat(getComputedStyle(area).paddingLeft) + 4;
    return Math.min((area.clientWidth - pad) / w, (area.clientHeight - pad) / h, 1.4);
  }
  $("#zoom-in").addEventListener("click", () => zoom(views[state.view], views[state.view].scale * 1.25));
  $("#zoom-out").addEventListener("click", () => zoom(views[state.view], views[state.view].scale / 1.25));
  $("#zoom-fit").addEventListener("click", () => zoom(views[state.view], fitScale(views[state.view])));
  function scrollTo(g) {
    if (!g) return;
    const area = $("#graph"), r = g.getBoundingClientRect(), a = area.getBoundingClientRect();
    if (r.left < a.left || r.right > a.right || r.top < a.top || r.bottom > a.bottom) {
      area.scrollBy({ left: r.left + r.width / 2 - (a.left + a.width / 2), top: r.top + r.height / 2 - (a.top + a.height / 2) });
    }
  }
  function go(pos) {
    state.pos = Math.max(0, Math.min(orders[state.mode].length, pos));
    render();
    const v = views[state.view], b = v.boxOf.get(currentNode());
    if (b !== undefined) scrollTo(v.boxEl[b]); // the box the step reached, into view
  }
  function play() {
    if (state.timer) { clearInterval(state.timer); state.timer = null; return render(); }
    if (state.pos === orders[state.mode].length) state.pos = 0;
    state.timer = setInterval(() => {
      if (state.pos >= orders[state.mode].length) { clearInterval(state.timer); state.timer = null; render(); return; }
      go(state.pos + 1);
    }, 350);
    render();
  }
  $("#first").addEventListener("click", () => go(0));
  $("#prev").addEventListener("click", () => go(state.pos - 1));
  $("#next").addEventListener("click", () => go(state.pos + 1));
  $("#last").addEventListener("click", () => go(Infinity));
  $("#play").addEventListener("click", play);
  for (const b of $$("[data-view]")) {
    if (!views[b.dataset.view]) { b.disabled = true; b.title = "this graph has no time steps"; }
    b.addEventListener("click", () => {
      const area = $("#graph"), old = views[state.view];
      old.scroll = [area.scrollLeft, area.scrollTop]; // each view keeps where it was scrolled to
      state.view = b.dataset.view;
      state.pinned = null;
      show();
    });
  }
  for (const b of $$("[data-mode]")) {
    b.addEventListener("click", () => { if (state.mode !== b.dataset.mode) { state.mode = b.dataset.mode; state.pos = 0; } render(); });
  }
  document.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("input, select, textarea")) return; // the slider's own keys
    const keys = { ArrowRight: () => go(state.pos + 1), ArrowLeft: () => go(state.pos - 1), Home: () => go(0), End: () => go(Infinity), " ": play };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });

  // --- gradient norm through time -------------------------------------------------------------
  const steps = [...new Set(D.flow.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const COLORS = {
    h: ["#1b9e77", "#7570b3", "#e7298a", "#1f78b4", "#66a61e", "#6a3d9a"],
    c: ["#b8860b", "#d95f02", "#a6761d", "#e6ab02", "#8c510a", "#666666"],
  };
  function reached(n) {
    // the sweep has reached a state once its node was visited at or before the current step
    if (N[n].visit === null || !N[n].grad) return false;
    if (state.mode !== "backward") return true;
    const cur = currentNode();
    return cur !== null && N[n].visit <= N[cur].visit;
  }
  function drawChart() {
    const chart = $("#flow-chart");
    chart.replaceChildren();
    if (!steps.length) return;
    const W = 360, H = 140, L = 44, R = 10, T = 8, B = 30;
    const norms = D.flow.flatMap((s) => s.points.map((p) => (N[p[1]].grad || {}).norm)).filter((x) => x > 0);
    const lo = norms.length ? Math.floor(Math.log10(Math.min(...norms))) : -1;
    const hi = norms.length ? Math.max(Math.ceil(Math.log10(Math.max(...norms))), lo + 1) : 0;
    const t0 = steps[0], t1 = steps[steps.length - 1];
    const x = (t) => L + (t1 === t0 ? (W - L - R) / 2 : ((t - t0) / (t1 - t0)) * (W - L - R));
    const y = (v) => T + (1 - (Math.log10(v) - lo) / (hi - lo)) * (H - T - B);
    const every = Math.max(1, Math.ceil((hi - lo) / 5));
    for (let e = lo; e <= hi; e += every) {
      chart.appendChild(svgEl("line", { x1: L, x2: W - R, y1: y(10 ** e), y2: y(10 ** e), class: "grid" }));
      chart.appendChild(svgEl("text", { x: L - 4, y: y(10 ** e) + 3, "text-anchor": "end" }, "1e" + e));
    }
    chart.appendChild(svgEl("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));
    chart.appendChild(svgEl("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
    const tickEvery = Math.max(1, Math.ceil(steps.length / 10));
    steps.forEach((t, i) => { if (i % tickEvery === 0 || t === t1) chart.appendChild(svgEl("text", { x: x(t), y: H - B + 12, "text-anchor": "middle" }, t)); });
    chart.appendChild(svgEl("text", { x: (L + W - R) / 2, y: H - B + 24, "text-anchor": "middle" }, "time step t"));
    if (state.t !== null) chart.appendChild(svgEl("line", { x1: x(state.t), x2: x(state.t), y1: T, y2: H - B, class: "marker", "data-t": state.t }));
    const count = { h: 0, c: 0 };
    const legend = $("#flow-legend");
    legend.replaceChildren();
    for (const s of D.flow) {
      const color = COLORS[s.state][count[s.state]++ % COLORS[s.state].length];
      const pts = s.points.filter((p) => N[p[1]].grad && N[p[1]].grad.norm > 0);
      const line = (ps) => ps.map((p) => x(p[0]).toFixed(1) + "," + y(N[p[1]].grad.norm).toFixed(1)).join(" ");
      chart.appendChild(svgEl("polyline", { points: line(pts), class: "full", stroke: color }));
      chart.appendChild(svgEl("polyline", { points: line(pts.filter((p) => reached(p[1]))), class: "reached", stroke: color }));
      for (const p of pts) {
        const cls = (reached(p[1]) ? "" : "pending") + (p[0] === state.t ? " active" : "");
        const c = svgEl("circle", { cx: x(p[0]), cy: y(N[p[1]].grad.norm), r: 3.2, fill: color, class: cls.trim(), "data-t": p[0] });
        c.appendChild(svgEl("title", {}, "‖∂L/∂" + s.state + "‖ at t = " + p[0] + ": " + num(N[p[1]].grad.norm)));
        c.addEventListener("click", () => setStep(p[0]));
        chart.appendChild(c);
      }
      const item = el("span", undefined, "legend-item");
      const swatch = el("span", undefined, "swatch");
      swatch.style.background = color;
      // one line per series: what it is, and its value at the slider's step (one list, not a
      // legend and a readout repeating its names: a deep network has eight series)
      item.append(swatch, "‖∂L/∂" + s.state + "‖ " + (s.state === "h" ? "hidden" : "cell") + " state" + (s.where ? " · " + s.where : ""));
      const p = s.points.find((q) => q[0] === state.t);
      if (p) item.appendChild(el("span", " = " + valueAt(p[1]), "value"));
      legend.appendChild(item);
    }
    $("#time-value").textContent = state.t === null ? "" : "t = " + state.t;
  }
  function valueAt(n) {
    const g = N[n].grad;
    return !g ? "no gradient" : reached(n) ? num(g.norm) : "not reached";
  }
  function setStep(t) {
    state.t = t;
    $("#time-slider").value = String(t);
    render();
    scrollTo($("#view-" + state.view + " .step-band")); // the chosen step, into view
  }
  if (steps.length) {
    const slider = $("#time-slider");
    slider.min = String(steps[0]);
    slider.max = String(steps[steps.length - 1]);
    state.t = steps[steps.length - 1];
    slider.value = String(state.t);
    slider.addEventListener("input", () => setStep(Number(slider.value)));
  } else {
    $("#time").hidden = true;
  }

  // --- attention weights as heatmaps (query position x key position), one head at a time -------
  // beside the weights their gradient, filled in once the backward stepper has reached the node;
  // a click on a cell or a map selects the node in the drawing
  const heat = { k: 0, cell: null };
  function heatColor(x) { // 0 -> white, 1 -> dark blue
    const t = Math.max(0, Math.min(1, x));
    const c = [[247, 251, 255], [107, 174, 214], [8, 48, 107]];
    const [a, b, u] = t < 0.5 ? [c[0], c[1], t * 2] : [c[1], c[2], t * 2 - 1];
    return "rgb(" + a.map((v, i) => Math.round(v + (b[i] - v) * u)).join(",") + ")";
  }
  function gradColor(x, max) { // negative blue, positive red, by size
    const u = max > 0 ? Math.min(1, Math.abs(x) / max) : 0;
    const to = x < 0 ? [33, 102, 172] : [178, 24, 43];
    return "rgb(" + to.map((v) => Math.round(255 + (v - 255) * u)).join(",") + ")";
  }
  function selectHeatNode(n) {
    const v = views[state.view], b = v.boxOf.get(n);
    if (b !== undefined && v.boxEl[b]) {
      state.pinned = { view: state.view, box: b };
      render();
      scrollTo(v.boxEl[b]);
    } else {
      state.pinned = null;
      render();
      showNode(n, "not drawn in this view");
    }
  }
  function heatMap(m, kind) {
    const rows = m.value.length, cols = m.value[0].length, size = 124, pad = 16;
    const cell = Math.min(size / rows, size / cols);
    const svg = svgEl("svg", { width: cols * cell + pad, height: rows * cell + pad + 12, class: "heatmap " + kind, "data-kind": kind });
    const grid = kind === "grad" ? m.grad : m.value;
    const shown = kind === "value" || (grid && reached(m.node));
    const max = shown && kind === "grad" ? Math.max(...grid.flat().map((x) => Math.abs(x || 0))) : 1;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const x = shown ? grid[i][j] : null;
        const fill = x === null ? "#e4e4e4" : kind === "grad" ? gradColor(x, max) : heatColor(x);
        const r = svgEl("rect", { x: pad + j * cell, y: i * cell, width: cell, height: cell, fill, "data-i": i, "data-j": j });
        if (heat.cell && heat.cell[0] === i && heat.cell[1] === j) r.classList.add("chosen");
        r.addEventListener("click", (e) => { e.stopPropagation(); heat.cell = [i, j]; selectHeatNode(m.node); });
        svg.appendChild(r);
      }
    }
    svg.appendChild(svgEl("text", { x: pad + (cols * cell) / 2, y: rows * cell + 11, "text-anchor": "middle" }, "key position →"));
    const label = svgEl("text", { x: 10, y: (rows * cell) / 2, "text-anchor": "middle", transform: "rotate(-90 10 " + (rows * cell) / 2 + ")" }, "query ↓");
    svg.appendChild(label);
    svg.addEventListener("click", () => selectHeatNode(m.node));
    const wrap = el("div", undefined, "heatmap-wrap");
    const caption = kind === "value" ? "weights" : shown ? "∂L/∂weights" : grid ? "∂L/∂weights: not reached" : "∂L/∂weights: none kept";
    wrap.append(el("div", caption, "caption " + kind), svg);
    return wrap;
  }
  function drawHeatmaps() {
    const maps = D.heatmaps || [];
    const section = $("#attention");
    section.hidden = !maps.length;
    if (!maps.length) return;
    // the node the reader is on (pinned box, else the stepper's) picks its head's map
    const v = views[state.view];
    const on = state.pinned && state.pinned.view === state.view ? v.data.boxes[state.pinned.box].nodes[0] : currentNode();
    const k = maps.findIndex((m) => m.node === on);
    if (k >= 0 && k !== heat.k && !(maps[heat.k] && maps[heat.k].node === on)) { heat.k = k; heat.cell = null; }
    const m = maps[heat.k];
    section.classList.toggle("current", currentNode() === m.node);
    section.classList.toggle("pinned", on === m.node && state.pinned !== null);
    $("#heatmap-where").textContent = "· " + (m.where || "(top level)") + " " + shapeText(m.shape);
    const heads = $("#heatmap-heads");
    heads.replaceChildren();
    if (maps.length > 1) {
      maps.forEach((mm, i) => {
        const b = el("button", mm.where.split(" / ").pop() || String(i));
        b.type = "button";
        b.setAttribute("aria-pressed", String(i === heat.k));
        b.addEventListener("click", () => { heat.k = i; heat.cell = null; selectHeatNode(mm.node); });
        heads.appendChild(b);
      });
    }
    $("#heatmaps").replaceChildren(heatMap(m, "value"), heatMap(m, "grad"));
    const out = $("#heatmap-readout");
    if (heat.cell) {
      const [i, j] = heat.cell, g = m.grad && reached(m.node) ? num(m.grad[i][j]) : "not reached";
      out.textContent = "query " + i + ", key " + j + ": weight " + num(m.value[i][j]) + " · ∂L/∂weight " + g;
    } else {
      const at = place.backward.get(m.node);
      out.textContent = at === undefined ? "click a cell: its weight and gradient" : "backward reaches these weights at visit " + at + " / " + orders.backward.length;
    }
  }

  // --- notes and start ----------------------------------------------------------------------
  for (const note of D.notes) $("#notes").appendChild(el("li", note.text, note.warn ? "warn" : ""));
  function show() {
    // a view is sized when first shown (it must be visible to measure), then drawn
    for (const name in views) views[name].root.hidden = name !== state.view;
    // a view opens at its start, the legend and t = 0 in sight, fitted if it stays legible
    const v = views[state.view];
    if (v.scale === undefined) zoom(v, Math.max(READABLE, fitScale(v)));
    const [left, top] = v.scroll || [0, 0];
    $("#graph").scrollTo(left, top);
    render();
  }
  show();
})();
