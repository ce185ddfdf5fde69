"""The interactive graph page: ``ad.draw_graph(loss, params=model).save_html("graph.html")``.

One self-contained HTML file (nothing fetched from the network): the picture, whose module
clusters collapse into one node each and expand again, with the layout closing up; hovering or
clicking a node shows its shape, dtype, values and gradient (a histogram for large tensors); a
search box finds tensors and ops by name; the wheel zooms and a drag pans.

Collapsing is real: every layout the page can show is laid out here, in Python, by the same
renderer as the static picture (one SVG per collapse state), so a collapsed module is one node
and the rest of the graph moves up to close the gap. The states laid out are: all expanded; each
cluster collapsed alone; at each nesting depth, every combination of its clusters when there are
at most 6 of them, else all collapsed, all but one, and the first or last k collapsed. A click
whose exact state was not laid out goes to the nearest state that was (the status line says so).
"""
from __future__ import annotations

import html
import json
import math
import os
from typing import Any, Iterable

import numpy as np
from numpy.typing import ArrayLike

from . import viz

__all__ = ["save_html"]

_FULL = 64          # tensors with at most this many elements are listed in full on the page
_BINS = 20          # histogram bars for larger tensors
_MAX_STATES = 160   # collapse states laid out at most (each one a render of a few ms)
_EVERY_SUBSET = 6   # up to this many modules side by side: every combination is laid out


def _finite_number(x: Any) -> float | str:
    x = float(x)
    return x if math.isfinite(x) else str(x)


def _array_record(array: ArrayLike) -> dict[str, Any]:
    """What the page shows of a value or gradient: every number of a small array; a summary
    and a histogram of a large one."""
    array = np.asarray(array)
    record: dict[str, Any] = {"shape": list(array.shape), "dtype": str(array.dtype)}
    if array.size == 0:
        record["text"] = "(empty)"
        return record
    if array.dtype.kind not in "biuf":
        record["text"] = np.array2string(array, threshold=_FULL)
        return record
    as_float = array.astype(np.float64)
    if array.size <= _FULL:
        record["text"] = np.array2string(array, threshold=_FULL, separator=", ", max_line_width=60,
                                         formatter={"all": viz._number})
    finite = as_float[np.isfinite(as_float)]
    record["summary"] = {
        "norm": _finite_number(np.sqrt(np.sum(as_float * as_float))),
        "min": _finite_number(as_float.min()), "max": _finite_number(as_float.max()),
        "mean": _finite_number(as_float.mean()),
        "nonfinite": int(as_float.size - finite.size)}
    if array.size > _FULL and finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        counts, _ = np.histogram(finite, bins=_BINS, range=(lo, hi) if hi > lo else (lo - 0.5, hi + 0.5))
        record["hist"] = {"counts": counts.tolist(), "lo": lo, "hi": hi}
        record["first"] = [_finite_number(v) for v in as_float.reshape(-1)[:8]]
    return record


def _node_record(node: viz._Node, scene: viz._Scene) -> dict[str, Any]:
    record: dict[str, Any] = {"name": node.name or "", "kind": node.kind, "scope": node.scope,
                              "module": scene.cluster_labels.get(node.scope) if node.scope else None}
    if node.meta is not None:
        shape, dtype = node.meta
        record["shape"], record["dtype"] = list(shape), str(dtype)
    if node.value is not None:
        record["value"] = _array_record(node.value)
    if node.grad is not None:
        record["grad"] = _array_record(node.grad)
    if node.kind in ("summary", "collapsed"):
        record["ops"] = node.ops
    if node.path is not None:
        record["path"] = node.path
    return record


def _state_key(paths: Iterable[str]) -> str:
    """The canonical name of a collapse state: the outermost collapsed paths, sorted, joined."""
    paths = set(paths)
    outer = [p for p in paths if not any(p.startswith(q + ".") for q in paths if q != p)]
    return "\n".join(sorted(outer))


def collapse_states(clusters: list[str]) -> list[str]:
    """The collapse states the page lays out (see the module docstring), as canonical keys."""
    keys = [""]
    keys += [_state_key([c]) for c in clusters]
    by_depth: dict[int, list[str]] = {}
    for c in clusters:
        by_depth.setdefault(c.count("."), []).append(c)
    for depth in sorted(by_depth):
        level = by_depth[depth]
        if len(level) < 2:
            continue
        if len(level) <= _EVERY_SUBSET:
            for mask in range(1, 1 << len(level)):
                keys.append(_state_key([c for i, c in enumerate(level) if mask >> i & 1]))
            continue
        keys.append(_state_key(level))
        keys += [_state_key([c for c in level if c != kept]) for kept in level]
        # the first k, or the last k, closed: "fold what I have read" along a stack of layers
        keys += [_state_key(level[:k]) for k in range(2, len(level))]
        keys += [_state_key(level[-k:]) for k in range(2, len(level))]
    unique = list(dict.fromkeys(keys))
    return unique[:_MAX_STATES]


def page(picture: Any, title: str = "autodiff graph") -> str:
    """The HTML text of the interactive page for a picture made by ``ad.draw_graph``."""
    scene = getattr(picture, "_autodiff_scene", None)
    if scene is None:
        raise TypeError("save_html: this picture was not made by ad.draw_graph; draw it with "
                        "ad.draw_graph(loss, params=model) and call .save_html(path) on the result")
    graphviz = viz._import_graphviz()
    if viz.find_renderer() is None:
        raise viz._no_renderer_error()
    clusters = scene.clusters()
    layouts, records = {}, {}
    for key in collapse_states(clusters):
        state = scene.collapsed(key.split("\n") if key else [])
        svg = state.picture(graphviz).pipe(format="svg", encoding="utf-8", quiet=True)
        layouts[key] = svg[svg.index("<svg"):]      # no XML prolog inside HTML
        for node in state.nodes:
            if node.id not in records:
                records[node.id] = _node_record(node, state)
    data = {"layouts": layouts, "nodes": records, "clusters": clusters,
            "labels": {path: scene.cluster_labels.get(path, path.rsplit(".", 1)[-1]) for path in clusters}}
    # inside <script>, "</" would end the element: JSON allows "<\/"
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return _TEMPLATE.replace("__TITLE__", html.escape(title)).replace("__DATA__", payload)


def save_html(picture: Any, path: str | os.PathLike[str], title: str = "autodiff graph") -> str:
    """Write the interactive page of ``picture`` to ``path`` (UTF-8); returns the path."""
    text = page(picture, title)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    return str(path)


_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
  body { margin: 0; font: 13px Helvetica, Arial, sans-serif; display: flex; height: 100vh; }
  #side { width: 300px; padding: 8px; overflow-y: auto; border-right: 1px solid #ccc; box-sizing: border-box; }
  #main { flex: 1; position: relative; overflow: hidden; cursor: grab; background: #fff; }
  #main.dragging { cursor: grabbing; }
  #stage svg { position: absolute; left: 0; top: 0; }
  #toolbar { position: absolute; right: 8px; top: 8px; z-index: 2; }
  #toolbar button { font-size: 14px; width: 30px; }
  #status { color: #555; margin: 6px 0; min-height: 1.2em; }
  #modules button { margin: 1px 0; text-align: left; width: 100%; }
  #modules button.closed { background: #e8eef7; }
  #info { border-top: 1px solid #ccc; margin-top: 8px; padding-top: 6px; white-space: pre-wrap; word-break: break-word; }
  #info h3 { margin: 2px 0 4px; font-size: 14px; }
  #info .label { color: #666; }
  #search { width: 100%; box-sizing: border-box; }
  #search-results div { cursor: pointer; padding: 1px 2px; }
  #search-results div:hover { background: #eef; }
  g.node { cursor: pointer; }
  g.node.match > polygon, g.node.match > path, g.node.match > ellipse { stroke: #e4572e; stroke-width: 4px; }
  g.node.hovered > polygon, g.node.hovered > ellipse { stroke: #1f77b4; stroke-width: 3px; }
  g.cluster > text { cursor: pointer; text-decoration: underline; }
</style>
</head>
<body>
<div id="side">
  <input id="search" type="search" placeholder="search a tensor or op by name">
  <div id="search-results"></div>
  <div id="status"></div>
  <div>visible nodes: <span id="node-count">0</span></div>
  <div id="modules"></div>
  <div id="info">Hover or click a node to see its shape, dtype, value and gradient.</div>
</div>
<div id="main">
  <div id="toolbar"><button id="zoom-in" title="zoom in">+</button><button id="zoom-out" title="zoom out">−</button><button id="zoom-fit" title="fit">⤢</button></div>
  <div id="stage"></div>
</div>
<script id="graph-data" type="application/json">__DATA__</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("graph-data").textContent);
const stage = document.getElementById("stage"), main = document.getElementById("main");
let collapsed = [];          // outermost collapsed cluster paths, sorted
let pinned = null;
let view = null;             // current viewBox [x, y, w, h]

function canonical(paths) {
  const set = Array.from(new Set(paths));
  return set.filter(p => !set.some(q => q !== p && p.startsWith(q + "."))).sort();
}
function keyOf(paths) { return canonical(paths).join("\n"); }
function inside(path, paths) { return paths.some(q => path === q || path.startsWith(q + ".")); }

function nearest(target, wanted, unwanted) {
  // the laid-out state closest to `target` that collapses `wanted` and not `unwanted`
  const want = canonical(target);
  let best = null, bestScore = Infinity;
  for (const key of Object.keys(DATA.layouts)) {
    const paths = key ? key.split("\n") : [];
    if (wanted && !inside(wanted, paths)) continue;
    if (unwanted && inside(unwanted, paths)) continue;
    // differences from the target; on a tie, keep closed what the user closed (over-collapse)
    const missing = want.filter(p => !paths.includes(p)).length;
    const score = 2 * (paths.filter(p => !want.includes(p)).length + missing) + (missing ? 1 : 0);
    if (score < bestScore) { best = paths; bestScore = score; }
  }
  return best || [];
}

function show(paths, note) {
  let key = keyOf(paths);
  if (!(key in DATA.layouts)) key = "";
  collapsed = key ? key.split("\n") : [];
  stage.innerHTML = DATA.layouts[key];
  const svg = stage.querySelector("svg");
  svg.removeAttribute("width"); svg.removeAttribute("height");
  svg.style.width = "100%"; svg.style.height = "100%";
  main.querySelector("#stage").style.width = "100%";
  stage.style.position = "absolute"; stage.style.inset = "0";
  fit();
  for (const g of svg.querySelectorAll("g.node")) {
    const id = g.querySelector("title").textContent;
    g.dataset.id = id;
    g.addEventListener("mouseenter", () => { hover(g, id); });
    g.addEventListener("mouseleave", () => { g.classList.remove("hovered"); if (!pinned) info(null); else info(pinned); });
    g.addEventListener("click", ev => {
      ev.stopPropagation();
      const n = DATA.nodes[id];
      if (n && n.kind === "collapsed") { toggle(n.path); return; }
      pinned = id; info(id);
    });
  }
  for (const g of svg.querySelectorAll("g.cluster")) {
    const path = g.querySelector("title").textContent.replace(/^cluster_/, "");
    const text = g.querySelector("text");
    if (text) text.addEventListener("click", ev => { ev.stopPropagation(); toggle(path); });
  }
  document.getElementById("node-count").textContent = svg.querySelectorAll("g.node").length;
  document.getElementById("status").textContent = note || "";
  renderModules();
  runSearch();
}

function toggle(path) {
  let target, wanted = null, unwanted = null;
  if (inside(path, collapsed)) {     // expand it (and whatever collapsed cluster holds it)
    target = collapsed.filter(p => !(p === path || path.startsWith(p + ".")));
    unwanted = path;
  } else {
    target = collapsed.concat([path]); wanted = path;
  }
  if (keyOf(target) in DATA.layouts) { show(target); return; }
  const got = nearest(target, wanted, unwanted);
  show(got, "That combination was not laid out; showing the nearest one that was.");
}

function renderModules() {
  const box = document.getElementById("modules");
  box.innerHTML = DATA.clusters.length ? "<div class='label'>modules (click to collapse / expand):</div>" : "";
  for (const path of DATA.clusters) {
    const b = document.createElement("button");
    const closed = inside(path, collapsed);
    b.className = closed ? "closed" : "";
    b.dataset.path = path;
    b.style.paddingLeft = (4 + 12 * (path.split(".").length - 1)) + "px";
    b.textContent = (closed ? "▸ " : "▾ ") + DATA.labels[path];
    b.addEventListener("click", () => toggle(path));
    box.appendChild(b);
  }
}

function fmt(x) {
  if (typeof x === "string") return x;
  if (x === 0) return "0";
  const a = Math.abs(x);
  return (a >= 1e-3 && a < 1e5) ? String(Number(x.toPrecision(4))) : x.toExponential(3);
}
function esc(s) { return String(s).replace(/[&<>]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;"})[c]); }

function histogram(h, color) {
  const w = 260, hh = 60, n = h.counts.length, top = Math.max(...h.counts, 1);
  let bars = "";
  h.counts.forEach((c, i) => {
    const bh = Math.round(hh * c / top);
    bars += `<rect x="${(i * w / n).toFixed(1)}" y="${hh - bh}" width="${(w / n - 1).toFixed(1)}" height="${bh}" fill="${color}"><title>${c}</title></rect>`;
  });
  return `<svg class="hist" width="${w}" height="${hh + 14}"><g>${bars}</g>` +
    `<text x="0" y="${hh + 12}" font-size="10">${esc(fmt(h.lo))}</text>` +
    `<text x="${w}" y="${hh + 12}" font-size="10" text-anchor="end">${esc(fmt(h.hi))}</text></svg>`;
}

function arrayBlock(kind, r, color) {
  let out = `<div class="${kind}"><span class="label">${kind}:</span> `;
  if (r.text !== undefined) out += `<code>${esc(r.text)}</code>`;
  if (r.summary) {
    const s = r.summary;
    out += `${r.text !== undefined ? "\n" : ""}norm ${fmt(s.norm)}, mean ${fmt(s.mean)}, min ${fmt(s.min)}, max ${fmt(s.max)}`;
    if (s.nonfinite) out += `, ${s.nonfinite} nan/inf`;
  }
  if (r.first) out += `\nfirst: ${r.first.map(fmt).join(", ")} …`;
  if (r.hist) out += "\n" + histogram(r.hist, color);
  return out + "</div>";
}

function info(id) {
  const box = document.getElementById("info");
  if (id === null) { box.innerHTML = "Hover or click a node to see its shape, dtype, value and gradient."; return; }
  const n = DATA.nodes[id];
  if (!n) { box.textContent = id; return; }
  let out = `<h3>${esc(n.name || "(unnamed)")}</h3><span class="label">${esc(n.kind)}</span>`;
  if (n.module) out += ` in ${esc(n.module)}`;
  if (n.shape) out += `\n<span class="label">shape:</span> (${n.shape.join(", ")})  <span class="label">dtype:</span> ${esc(n.dtype)}`;
  if (n.ops !== undefined) out += `\n${n.ops} ops inside` + (n.kind === "collapsed" ? " (click to expand)" : "");
  if (n.value) out += arrayBlock("value", n.value, "#3b528b");
  if (n.grad) out += arrayBlock("grad", n.grad, "#5ec962");
  if (n.kind === "op") out += "\nan operation: its output tensor is the box below it";
  box.innerHTML = out;
}

function hover(g, id) {
  for (const other of stage.querySelectorAll("g.node.hovered")) other.classList.remove("hovered");
  g.classList.add("hovered");
  info(id);
}

// ---- search -----------------------------------------------------------------------------------
function runSearch() {
  const q = document.getElementById("search").value.trim().toLowerCase();
  const results = document.getElementById("search-results");
  results.innerHTML = "";
  for (const g of stage.querySelectorAll("g.node.match")) g.classList.remove("match");
  if (!q) return;
  const visible = new Set(Array.from(stage.querySelectorAll("g.node")).map(g => g.dataset.id));
  const hits = Object.entries(DATA.nodes).filter(([id, n]) => n.kind !== "collapsed" && (n.name || "").toLowerCase().includes(q));
  if (!hits.length) { results.textContent = "no match"; return; }
  for (const [id, n] of hits.slice(0, 50)) {
    const row = document.createElement("div");
    row.dataset.id = id;
    const hidden = !visible.has(id);
    row.textContent = n.name + (n.shape ? ` (${n.shape.join(", ")})` : "") + (hidden ? " (in a collapsed module: click to open)" : "");
    row.addEventListener("click", () => reveal(id));
    results.appendChild(row);
    if (!hidden) stage.querySelector(`g.node[data-id="${CSS.escape(id)}"]`).classList.add("match");
  }
}

function reveal(id) {
  const scope = DATA.nodes[id].scope;
  if (scope && inside(scope, collapsed)) {
    const target = collapsed.filter(p => !(scope === p || scope.startsWith(p + ".")));
    show(keyOf(target) in DATA.layouts ? target : nearest(target, null, scope));
  }
  const g = stage.querySelector(`g.node[data-id="${CSS.escape(id)}"]`);
  if (g) { pinned = id; info(id); centerOn(g); }
}

document.getElementById("search").addEventListener("input", runSearch);
document.getElementById("search").addEventListener("keydown", ev => {
  if (ev.key === "Enter") { const first = document.querySelector("#search-results div[data-id]"); if (first) reveal(first.dataset.id); }
});

// ---- pan and zoom: the svg's viewBox ------------------------------------------------------------
function svgEl() { return stage.querySelector("svg"); }
function setView(v) { view = v; svgEl().setAttribute("viewBox", v.map(x => x.toFixed(2)).join(" ")); }
function fit() {
  const svg = svgEl(), b = svg.viewBox.baseVal;
  svg.dataset.full = [b.x, b.y, b.width, b.height].join(" ");
  setView([b.x, b.y, b.width, b.height]);
}
function zoom(factor, cx, cy) {
  const [x, y, w, h] = view, rect = main.getBoundingClientRect();
  const fx = cx === undefined ? 0.5 : (cx - rect.left) / rect.width, fy = cy === undefined ? 0.5 : (cy - rect.top) / rect.height;
  const nw = w * factor, nh = h * factor;
  setView([x + (w - nw) * fx, y + (h - nh) * fy, nw, nh]);
}
function centerOn(g) {
  const b = g.getBBox(), [, , w, h] = view;
  const m = g.closest("svg").querySelector("g.graph").transform.baseVal.consolidate();
  const ox = m ? m.matrix.e : 0, oy = m ? m.matrix.f : 0;
  setView([b.x + ox + b.width / 2 - w / 2, b.y + oy + b.height / 2 - h / 2, w, h]);
}
main.addEventListener("wheel", ev => { ev.preventDefault(); zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, ev.clientX, ev.clientY); }, {passive: false});
let drag = null;
main.addEventListener("mousedown", ev => { drag = [ev.clientX, ev.clientY, view.slice()]; main.classList.add("dragging"); });
window.addEventListener("mouseup", () => { drag = null; main.classList.remove("dragging"); });
window.addEventListener("mousemove", ev => {
  if (!drag) return;
  const rect = main.getBoundingClientRect(), [x, y, w, h] = drag[2];
  const scale = Math.max(w / rect.width, h / rect.height);
  setView([x - (ev.clientX - drag[0]) * scale, y - (ev.clientY - drag[1]) * scale, w, h]);
});
document.getElementById("zoom-in").addEventListener("click", () => zoom(1 / 1.25));
document.getElementById("zoom-out").addEventListener("click", () => zoom(1.25));
document.getElementById("zoom-fit").addEventListener("click", fit);
main.addEventListener("click", () => { pinned = null; });

show([]);
</script>
</body>
</html>
"""
