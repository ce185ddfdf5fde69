"""Backprop explained: the chain rule at every node, with the numbers.

``ad.explain(loss)`` walks the graph behind ``loss`` in the order of the backward walk and, at
each node, prints the local derivative of the node's output with respect to each input and the
chain-rule product that the input receives, then every leaf's gradient:

>>> import autodiff as ad
>>> a = ad.tensor(2.0, requires_grad=True)
>>> b = ad.tensor(-3.0, requires_grad=True)
>>> c = a * b
>>> L = c + a
>>> steps = ad.explain(L, params={"a": a, "b": b, "c": c, "L": L}, file=None)
>>> [(s.input, float(s.local), float(s.product)) for s in steps if s.kind == "edge"]
[('c', 1.0, 1.0), ('a', 1.0, 1.0), ('a', -3.0, -3.0), ('b', 2.0, 2.0)]
>>> a.grad is None      # nothing is accumulated: the graph and every .grad stay as they were
True

``ad.animate_backward(loss, params=model, path="backward.gif")`` draws the same walk as frames,
one per node, the gradients appearing in the picture's colours: an animated GIF (``.gif``,
Pillow) or an HTML page with a slider (``.html``).

The walk runs each node's own ``backward`` on the saved values (as the engine does, with
gradients of broadcast inputs summed back by ``ad.unbroadcast``), and accumulates gradients in
its own dictionary, out of place: ``.grad`` is not written, no hook runs, nothing is freed.
"""
from __future__ import annotations

import math
import os
import sys
from typing import TYPE_CHECKING, Any, Iterator, Sequence, TextIO, Union

import numpy as np
from numpy.typing import ArrayLike

from .engine import unbroadcast
from .function import _SAME, Function
from .tensor import Tensor

if TYPE_CHECKING:
    from .viz import NamedTensors, _Reading, _Scene

# a node of the walk, or a leaf tensor
_Item = Union[Function, Tensor]
# one input of a walked node: (slot, input, its share of the gradient, local derivative)
_Row = tuple[int, _Item, Any, Any]
# one step of the walk as animate_backward draws it: (step, node, gradient, leaf gradients so far)
_Frame = tuple[int, Function, Any, dict[Tensor, Any]]

__all__ = ["explain", "animate_backward", "ExplainStep"]

_SCALAR_FORMULAS = {
    # op name -> per input slot: the local derivative in words, from the input names (x, y)
    "Add": ("1", "1"),
    "Sub": ("1", "-1"),
    "Neg": ("-1",),
    "Exp": ("exp({x})",),
    "Log": ("1/{x}",),
    "Sqrt": ("1/(2·sqrt({x}))",),
    "Tanh": ("1 - tanh({x})²",),
    "Sigmoid": ("σ({x})·(1 - σ({x}))",),
    "Relu": ("(1 if {x} > 0 else 0)",),
    "Abs": ("sign({x})",),
    "Sin": ("cos({x})",),
    "Cos": ("-sin({x})",),
    "Sum": ("1",),
}


class ExplainStep:
    """One line of the explanation.

    ``kind`` "edge": at walk step ``step`` the gradient ``incoming`` of node ``node``'s output
    (named ``output``) times the local derivative ``local`` of that output with respect to input
    ``input`` gives ``product``, which is added to that input's gradient. ``local`` is the
    number d output / d input for scalars; for tensors it is the vector-Jacobian product with
    ones (d sum(output) / d input), as the Jacobian itself is never formed. ``kind`` "leaf":
    ``product`` is the leaf ``input``'s whole gradient (``node`` is the leaf tensor).
    """

    __slots__ = ("kind", "step", "node", "op", "output", "input", "formula", "local", "incoming",
                 "product")

    def __init__(self, kind: str, step: int | None, node: _Item, op: str | None, output: str | None, input: str,
                 formula: str | None, local: Any, incoming: Any, product: Any) -> None:
        self.kind, self.step, self.node, self.op = kind, step, node, op
        self.output, self.input = output, input
        self.formula, self.local, self.incoming, self.product = formula, local, incoming, product

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return f"ExplainStep(leaf {self.input}: grad {_brief(self.product)})"
        return (f"ExplainStep({self.step}: {self.op}, d{self.output}/d{self.input} = {_brief(self.local)}, "
                f"incoming {_brief(self.incoming)}, product {_brief(self.product)})")


def _number(x: Any, digits: int = 6) -> str:
    x = float(x)
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}" if 1e-4 <= abs(x) < 1e6 else f"{x:.{digits - 2}e}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _brief(array: ArrayLike, digits: int = 6) -> str:
    """A scalar as its number; a tensor as its shape and norm."""
    array = np.asarray(array)
    if array.ndim == 0:
        return _number(array, digits)
    if array.size == 1:
        return "[" * array.ndim + _number(array.reshape(-1)[0], digits) + "]" * array.ndim
    norm = np.linalg.norm(array.astype(np.float64).reshape(-1))
    return f"{tuple(array.shape)} ‖{_number(norm, digits)}‖"


class _Walk:
    """The backward walk of ``root``, in the engine's order, without touching the graph."""

    leaf_grads: dict[Tensor, np.ndarray | None]

    def __init__(self, root: Tensor) -> None:
        if not isinstance(root, Tensor):
            raise TypeError("explain: expected the Tensor to differentiate (the loss), got "
                            f"{type(root).__name__}")
        self.root = root
        if root.grad_fn is None:
            raise ValueError(
                "explain: this tensor has no graph behind it (" +
                ("it is a leaf: explain the result of a computation on it" if root.requires_grad else
                 "it does not require grad: it was made under ad.no_grad() or from tensors that do "
                 "not require grad; create the inputs with requires_grad=True") + ")")
        # consumers of each node within the graph behind root, one per edge (as node.uses counts)
        pending: dict[Function, int] = {}
        order: list[Function] = []
        seen = {root.grad_fn}
        stack = [root.grad_fn]
        while stack:
            node = stack.pop()
            order.append(node)
            if node.freed:
                raise RuntimeError(
                    f"explain: the graph was freed by a backward ({node.name} has no saved "
                    "values left). Explain before calling backward(), or call "
                    "backward(retain_graph=True)")
            for child in node.input_nodes:
                if child is not None and not isinstance(child, Tensor):
                    pending[child] = pending.get(child, 0) + 1
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)
        self.nodes = order
        self.pending = pending

    def run(self) -> Iterator[tuple[int, Function, np.ndarray, list[_Row]]]:
        """Yield (step, node, incoming gradient, [(slot, input, contribution, local)]) per node,
        and keep the leaves' gradients in ``self.leaf_grads`` (first-reached order)."""
        root = self.root
        pending = dict(self.pending)
        waiting: dict[Function, np.ndarray] = {}
        self.leaf_grads = {}
        ready = []
        node, g = root.grad_fn, np.ones_like(root.data)
        step = 0
        while node is not None:
            step += 1
            contributions = self._backward(node, g)
            ones = self._backward(node, np.ones_like(g))
            rows = []
            following = None
            for slot, (child, gi) in enumerate(zip(node.input_nodes, contributions)):
                if child is None:
                    continue
                rows.append((slot, child, gi, ones[slot]))
                if isinstance(child, Tensor):
                    if gi is not None:
                        previous = self.leaf_grads.get(child)
                        self.leaf_grads[child] = gi if previous is None else previous + gi
                    elif child not in self.leaf_grads:
                        self.leaf_grads[child] = None
                    continue
                if gi is not None:
                    previous = waiting.get(child)
                    waiting[child] = gi if previous is None else previous + gi
                pending[child] -= 1
                if pending[child] == 0:
                    if following is None:
                        following = child
                    else:
                        ready.append(child)
            yield step, node, g, rows
            if following is None and ready:
                following = ready.pop()
            node = following
            g = waiting.pop(node, None) if node is not None else None  # type: ignore[assignment,arg-type]  # (see below)
            if node is not None and g is None:
                g = np.zeros(node_shape(node, self), dtype=root.data.dtype)

    def _backward(self, node: Function, g: np.ndarray) -> list[np.ndarray | None]:
        """node.backward on the gradient ``g``, each input's share fitted to the input (broadcast
        summed back, dtype cast), as the engine does; None where an input gets none."""
        grads = type(node).backward(node, g.copy())     # a backward may write into its gradient
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        grads = list(grads) + [None] * (len(node.input_nodes) - len(grads))
        fitted: list[np.ndarray | None] = []
        for child, gi, meta in zip(node.input_nodes, grads, node.input_meta):
            if child is None or gi is None:
                fitted.append(None)
                continue
            gi = gi.data if isinstance(gi, Tensor) else np.asarray(gi)
            if meta is _SAME:
                meta = (g.shape, g.dtype)
            if meta is not None:
                shape, dtype = meta
                if gi.shape != shape:
                    gi = unbroadcast(gi, shape)
                if gi.dtype != dtype:
                    gi = gi.astype(dtype)
            fitted.append(gi)
        return fitted


def node_shape(node: Function, walk: _Walk) -> tuple[int, ...]:
    """The shape of a node's output, from a consumer's input_meta (a node reached with no
    gradient at all, every path to it having given None)."""
    for other in walk.nodes:
        for child, meta in zip(other.input_nodes, other.input_meta or ()):
            if child is node and meta is not None and meta is not _SAME:
                return meta[0]
    return ()


def _walk_names(walk: _Walk, params: NamedTensors | None,
                visited: Sequence[tuple[int, Function]]) -> dict[_Item, str]:
    """Names for the walk's nodes and leaves: those in ``params``, 'L' for an unnamed root, then
    t2, t3... by the step that walks the node, and leaf1, leaf2... for unnamed leaves."""
    from .viz import named_tensors
    names: dict[_Item, str] = {}
    for name, tensor in named_tensors(params, op="explain"):
        names.setdefault(tensor.grad_fn or tensor, name)
    names.setdefault(walk.root.grad_fn, "L")  # type: ignore[arg-type]  # (the root has a node)
    for step, node in visited:
        names.setdefault(node, f"t{step}")
    for k, leaf in enumerate(walk.leaf_grads):
        names.setdefault(leaf, f"leaf{k + 1}")
    return names


def _input_text(op: Function, slot: int, child: _Item | None, names: dict[_Item, str],
                values: object) -> str:
    """How an input reads in a formula: its name, or the constant it is."""
    if child is not None:
        return names.get(child, "x")
    return "c"


def _formula(op: Function, slot: int, inputs: list[str]) -> str | None:
    """The local derivative of a scalar op with respect to input ``slot``, in words, or None."""
    name = op.name
    x = inputs[slot]
    other = inputs[1 - slot] if len(inputs) == 2 else None
    if name == "Mul":
        return f"2·{x}" if len(inputs) == 1 else other
    if name == "Div":
        return f"1/{other}" if slot == 0 else f"-{inputs[0]}/{x}²"
    if name == "PowScalar":
        p = getattr(op, "p", None)
        if isinstance(p, (int, float, np.number)):
            p_text = _const(p)
            q = p - 1
            return f"{p_text}·{x}" if q == 1 else f"{p_text}·{x}^{_const(q)}"
    if name == "Pow" and len(inputs) == 2:
        base, exponent = inputs
        return f"{exponent}·{base}^({exponent} - 1)" if slot == 0 else f"{base}^{exponent}·ln({base})"
    table = _SCALAR_FORMULAS.get(name)
    if table and slot < len(table):
        return table[slot].format(x=x)
    return None


def _const(value: Any) -> str:
    from .viz import _constant_text
    return _constant_text(value)


def _op_text(op: Function) -> str:
    from .viz import op_label, off_graph_inputs
    return op_label(op, off_graph_inputs(op))


def _collect(loss: Tensor, params: NamedTensors | None,
             ) -> tuple[_Walk, dict[_Item, str], list[ExplainStep], list[_Frame]]:
    walk = _Walk(loss)
    from .viz import off_graph_inputs
    visited = []
    for step, node, g, rows in walk.run():
        visited.append((step, node, g, rows, dict(walk.leaf_grads)))
    names = _walk_names(walk, params, [(step, node) for step, node, *_ in visited])
    steps, frames = [], []
    for step, node, g, rows, leaf_grads in visited:
        out_name = names[node]
        extras = {extra.slot: extra for extra in off_graph_inputs(node)}
        inputs = []
        for slot, child in enumerate(node.input_nodes):
            if child is not None:
                inputs.append(names[child])
            else:
                extra = extras.get(slot)
                known = extra is not None and extra.scalar and extra.value is not None
                inputs.append(_const(extra.value) if known else "c")  # type: ignore[union-attr]  # (known)
        op = _op_text(node)
        for slot, child, gi, local in rows:
            formula = _formula(node, slot, inputs) if np.size(g) == 1 else None
            steps.append(ExplainStep("edge", step, node, op, out_name, names[child], formula,
                                     local, g, gi))
        frames.append((step, node, g, leaf_grads))
    for leaf, grad in walk.leaf_grads.items():
        steps.append(ExplainStep("leaf", None, leaf, None, None, names[leaf], None, None, None, grad))
    return walk, names, steps, frames


def _lines(walk: _Walk, names: dict[_Item, str], steps: list[ExplainStep]) -> list[str]:
    """The printed explanation, line by line."""
    root = walk.root
    L = names[root.grad_fn]  # type: ignore[index]  # (the root has a node)
    scalar = root.data.size == 1
    value = _brief(root.data)
    lines = [f"Backward walk of {L} = {value}: {len(walk.nodes)} ops in the order backward visits "
             f"them; d{L}/d{L} = 1." if scalar else
             f"Backward walk of {L} {tuple(root.data.shape)} (gradient of sum({L}): ones): "
             f"{len(walk.nodes)} ops in the order backward visits them."]
    current: str | int | None = None     # the step being written, or "leaves"
    for s in steps:
        if s.kind == "leaf":
            if current != "leaves":
                lines.append(f"Leaf gradients (what backward() would put in .grad):")
                current = "leaves"
            lines.append(f"  {s.input}.grad = " + ("None (no path carries a gradient)" if s.product is None
                                                   else _brief(s.product, 7)))
            continue
        if s.step != current:
            current = s.step
            out = s.output
            shape = "" if np.size(s.incoming) == 1 else f" {tuple(np.shape(s.incoming))}"
            lines.append(f"[{s.step}] {s.op} -> {out}{shape}; d{L}/d{out} = {_brief(s.incoming)}")
        inp = s.input
        if s.product is None:
            lines.append(f"    d{L}/d{inp}: no gradient flows to this input")
            continue
        if np.size(s.incoming) == 1 and np.size(s.product) == 1 and np.size(s.local) == 1:
            local = _number(np.asarray(s.local).reshape(-1)[0])
            same = s.formula is not None and _is_number(s.formula) and float(s.formula) == float(local)
            said = f"{s.formula} = {local}" if s.formula and not same else local
            lines.append(f"    d{s.output}/d{inp} = {said}")
            lines.append(f"    d{L}/d{inp} += d{L}/d{s.output} · d{s.output}/d{inp} = "
                         f"{_brief(s.incoming)} · {local} = {_brief(s.product)}")
        else:
            rows = np.size(s.incoming)
            cols = np.size(s.product)
            lines.append(f"    d{s.output}/d{inp}: a {rows}×{cols} Jacobian, applied as a vector-Jacobian "
                         f"product (d sum({s.output})/d{inp} = {_brief(s.local)})")
            lines.append(f"    d{L}/d{inp} += d{L}/d{s.output} {_brief(s.incoming)} through "
                         f"{s.op.split()[0]} = {_brief(s.product)}")  # type: ignore[union-attr]  # (an edge's op)
    return lines


def explain(loss: Tensor, params: NamedTensors | None = None,
            file: TextIO | None = sys.stdout) -> list[ExplainStep]:
    """Print backprop through ``loss`` step by step, and return the steps as ExplainStep records.

    In the order of the backward walk, for each node: its gradient d loss / d output, then for
    each input the local derivative d output / d input (for scalars as a formula and a number:
    ``dL/da += dL/dc · dc/da = 1 · -3 = -3``; for tensors the shapes and norms of the
    vector-Jacobian product), and the product the input receives. Ends with every leaf's
    gradient (what ``loss.backward()`` would put in ``.grad``). A non-scalar ``loss`` is
    explained as ``loss.sum()`` (its gradient is ones).

    Arguments:
        loss: the tensor to differentiate; its graph must be alive (before ``backward()``, or
            after ``backward(retain_graph=True)``).
        params: names, as for ``ad.draw_graph``: a Module, a mapping or (name, tensor) pairs.
            Unnamed outputs are called t1, t2... in walk order; the root is L.
        file: where to print (a file object); None prints nothing.

    Nothing is changed: no ``.grad`` is written, no hook runs, the graph is not freed.
    """
    walk, names, steps, _ = _collect(loss, params)
    if file is not None:
        print("\n".join(_lines(walk, names, steps)), file=file)
    return steps


# ---- the walk as frames -------------------------------------------------------------------------

def _frame_scenes(loss: Tensor, params: NamedTensors | None, max_size: tuple[int, int] | None,
                  ) -> tuple[Any, list[tuple[_Scene, str]], str, str]:
    """(reading, frames, texts): per walk step, the picture's scene with the gradients known by
    then coloured in and the node being walked outlined in red."""
    from . import viz
    graphviz = viz._import_graphviz()
    walk, names, steps, frames = _collect(loss, params)
    picture = viz.draw_graph(loss, params=params, max_size=max_size)
    reading = picture._autodiff_reading
    kept, regions, direction, max_nodes, fit_note = picture._autodiff_fit
    lines = _lines(walk, names, steps)
    texts: list[str] = []
    current: list[str] = []
    for line in lines[1:]:
        if line.startswith("[") and current:
            texts.append("\n".join(current))
            current = []
        if line.startswith("Leaf gradients"):
            texts.append("\n".join(current))
            current = []
        current.append(line)
    leaf_text = "\n".join(current)
    region_of = {op: k for k, region in enumerate(regions) for op in region}
    for item, name in names.items():     # the picture says what the text says: t3, L...
        if item not in reading.user_named and item in reading.index:
            reading.names[item] = name
    full_grads = dict(reading.grads)
    scenes = []
    known: dict[_Item, np.ndarray | None] = {loss.grad_fn: None}  # type: ignore[dict-item]  # (the loss has a node)
    for k, (step, node, g, leaf_grads) in enumerate(frames):
        known[node] = g
        shown = {}
        for item, grad in known.items():
            if item in full_grads:
                shown[item] = full_grads[item]
        for leaf, grad in leaf_grads.items():
            if grad is not None:
                shown[leaf] = grad
        scene = _masked_scene(reading, shown, kept, regions, direction, max_nodes, fit_note)
        target = (f"op{reading.index[node]}" if node in kept else
                  f"s{region_of[node]}" if node in region_of else None)
        for drawn in scene.nodes:
            if drawn.id == target:
                drawn.attrs = dict(drawn.attrs, color="#e4572e", penwidth="4")
        scenes.append((scene, texts[k] if k < len(texts) else ""))
    return graphviz, scenes, lines[0], leaf_text


def _masked_scene(reading: _Reading, shown: dict[_Item, Any], kept: set[Function], regions: list[list[Function]],
                  direction: str, max_nodes: int | None, fit_note: str | None) -> _Scene:
    """The reading's scene where only the gradients in ``shown`` are coloured and written; the
    others' text is there but drawn in the fill colour, so every frame has the same layout."""
    from . import viz
    saved = reading.grads, reading.magnitudes, reading.hidden_grads
    try:
        reading.magnitudes = {item: viz._mean_abs(grad) for item, grad in shown.items()}
        reading.hidden_grads = {item for item in saved[0] if item not in shown}
        reading.grads = {**saved[0], **shown}
        return reading.scene(kept, regions, direction, max_nodes, fit_note)
    finally:
        reading.grads, reading.magnitudes, reading.hidden_grads = saved


def animate_backward(loss: Tensor, params: NamedTensors | None = None,
                     path: str | os.PathLike[str] = "backward.gif", duration: float = 0.8,
                     max_size: tuple[int, int] | None = None, max_frames: int | None = 400) -> str:
    """Write the backward walk of ``loss`` as frames: the picture of the graph (as
    ``ad.draw_graph`` draws it) once per node of the walk, with the gradients known by then in
    the picture's colours and the node being walked outlined in red.

    ``path`` ending in ``.gif``: an animated GIF (Pillow), one frame per node, ``duration``
    seconds each. Ending in ``.html``: one self-contained page with a slider over the frames and
    the explanation of each step (as ``ad.explain`` prints it). Returns the path. Nothing is
    changed: no ``.grad`` written, the graph kept. Needs the renderer (``pip install "numpy-autodiff[viz]"``).
    A walk of more than ``max_frames`` nodes raises (each frame is one render) instead of
    running for minutes; animate a smaller graph, or raise the limit.
    """
    from . import viz
    path = os.fspath(path)
    kind = os.path.splitext(path)[1].lower()
    if kind not in (".gif", ".html", ".htm"):
        raise ValueError(f"animate_backward: path must end in .gif (an animated GIF) or .html (a page "
                         f"with a slider), got {path!r}")
    if viz.find_renderer() is None:
        raise viz._no_renderer_error()
    walked = len(_Walk(loss).nodes)
    if max_frames is not None and walked > max_frames:
        raise ValueError(f"animate_backward: the walk has {walked:,} nodes, one frame each, more than "
                         f"max_frames={max_frames}; animate a smaller graph (ad.explain prints any "
                         "size), or pass a larger max_frames")
    graphviz, scenes, header, leaf_text = _frame_scenes(loss, params, max_size)
    if kind == ".gif":
        try:
            from PIL import Image
        except ImportError:
            raise ImportError('animate_backward writes GIFs with Pillow: pip install "numpy-autodiff[demo]" '
                              "(matplotlib brings it) or pip install pillow") from None
        import io
        images = []
        for scene, _ in scenes:
            png = scene.picture(graphviz).pipe(format="png", quiet=True)
            images.append(Image.open(io.BytesIO(png)).convert("RGB"))
        width = max(image.width for image in images)
        height = max(image.height for image in images)
        frames = []
        for image in images:     # one canvas size: the layout is the same, but be safe
            canvas = Image.new("RGB", (width, height), "white")
            canvas.paste(image, (0, 0))
            frames.append(canvas.quantize(colors=255, method=Image.Quantize.MEDIANCUT,
                                          dither=Image.Dither.NONE))
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(duration * 1000),
                       loop=0, disposal=1)
        return path
    import html
    import json
    svgs = []
    for scene, text in scenes:
        svg = scene.picture(graphviz).pipe(format="svg", encoding="utf-8", quiet=True)
        svgs.append({"svg": svg[svg.index("<svg"):], "text": text})
    payload = json.dumps({"frames": svgs, "header": header, "leaves": leaf_text}).replace("</", "<\\/")
    with open(path, "w", encoding="utf-8") as file:
        file.write(_SLIDER.replace("__DATA__", payload).replace("__TITLE__", html.escape(header)))
    return path


_SLIDER = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>backward walk</title>
<style>
 body { font: 13px Helvetica, Arial, sans-serif; margin: 10px; }
 #controls { position: sticky; top: 0; background: #fff; padding: 4px 0; }
 #slider { width: 60%; vertical-align: middle; }
 #text { white-space: pre; font-family: Menlo, Consolas, monospace; background: #f6f6f6; padding: 6px; }
 #picture svg { max-width: 100%; height: auto; }
</style></head><body>
<div>__TITLE__</div>
<div id="controls"><button id="prev">◀</button> <input id="slider" type="range" min="0" value="0">
<button id="next">▶</button> <button id="play">play</button> step <span id="step"></span></div>
<div id="text"></div>
<div id="picture"></div>
<script id="frames" type="application/json">__DATA__</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("frames").textContent);
const slider = document.getElementById("slider");
slider.max = DATA.frames.length - 1;
function show(k) {
  slider.value = k;
  const f = DATA.frames[k];
  document.getElementById("picture").innerHTML = f.svg;
  document.getElementById("step").textContent = (k + 1) + " / " + DATA.frames.length;
  document.getElementById("text").textContent = f.text + (k === DATA.frames.length - 1 ? "\n" + DATA.leaves : "");
}
slider.addEventListener("input", () => show(Number(slider.value)));
document.getElementById("prev").addEventListener("click", () => show(Math.max(0, Number(slider.value) - 1)));
document.getElementById("next").addEventListener("click", () => show(Math.min(DATA.frames.length - 1, Number(slider.value) + 1)));
let timer = null;
document.getElementById("play").addEventListener("click", () => {
  if (timer) { clearInterval(timer); timer = null; return; }
  timer = setInterval(() => { const k = Number(slider.value); if (k >= DATA.frames.length - 1) { clearInterval(timer); timer = null; } else show(k + 1); }, 800);
});
show(0);
</script></body></html>
"""
