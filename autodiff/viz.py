"""Graph pictures: draw the graph behind a tensor, with values, gradients and module boxes.

>>> import autodiff as ad
>>> a = ad.tensor(2.0, requires_grad=True)
>>> b = ad.tensor(-3.0, requires_grad=True)
>>> c = a * b + a
>>> picture = ad.draw_graph(c, params={"a": a, "b": b, "c": c})
>>> "Mul" in picture.source and "a" in picture.source
True

``picture.source`` is the DOT text and needs nothing else; ``picture.render(...)``,
``picture.pipe(...)`` and Jupyter's display run a renderer found by :func:`find_renderer`.
``picture.save_html(path)`` writes the interactive page (see viz_html.py).

Readable at any size: rendered at 96 dpi, a picture fits ``max_size`` (2000 x 4000 px by
default). draw_graph lays it out top to bottom, measures the layout with the renderer, and folds
more of the middle of long chains and deep stacks into labelled summary nodes until it fits
(a wide, shallow graph is tried left to right first).

Where values and gradients come from. A node keeps neither its output tensor nor its output's
gradient, so the picture gathers what the graph does hold:

* values: the tensors it is given (the roots, and every tensor named in ``params``: parameters,
  and any intermediate tensor you name there), the leaves, tensors kept by ``retain_grad()``, and
  the arrays ops saved for backward (an op's own output, or a consumer's saved input). Other
  intermediate tensors show their shape and dtype only.
* gradients: while the graph is alive (drawn before ``backward()``, or after
  ``backward(retain_graph=True)``) the picture runs ``ad.grad`` itself, with ``retain_graph=True``,
  on the roots (a non-scalar root is weighted by ones, as ``root.sum()``), for every tensor it
  draws; ``.grad`` is left alone (hooks registered with ``register_hook`` do run, as in any
  backward, so a hook that changes gradients is reflected). After a backward that freed the
  graph, only the gradients that survive are shown (leaves' ``.grad``, ``retain_grad()``
  tensors) and the caption says so.

The walk is iterative (no recursion limit) and the DOT text is the same on every run: node ids
follow the traversal (depth first from the roots, inputs in ``input_nodes`` order).
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import re
import shutil
import sys
import sysconfig
import threading
from types import ModuleType
from typing import TYPE_CHECKING, AbstractSet, Any, Iterable, Iterator, Literal, Mapping, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from .function import _NONE_SAME, _OUTPUT, _SAME, _SAME_NONE, Function
from .tensor import Tensor, _wrap

if TYPE_CHECKING:
    from typing import Protocol

    class _HasNamedParameters(Protocol):
        """A Module, as far as naming its tensors goes."""

        def named_parameters(self) -> Iterable[tuple[str, Tensor]]: ...

    # names for tensors: a Module (named_parameters()), a mapping, or (name, tensor) pairs
    NamedTensors = Union[_HasNamedParameters, Mapping[str, Tensor], Iterable[tuple[str, Tensor]]]

__all__ = ["draw_graph", "find_renderer", "RendererNotFoundError", "MAX_SIZE"]

# what a picture draws: op nodes and leaf tensors
_Item = Union[Function, Tensor]
# an op output's (shape, dtype)
_Meta = tuple[tuple[int, ...], np.dtype]

_INSTALL = 'pip install "numpy-autodiff[viz]" (from a checkout: pip install ".[viz]")'
_SMALL = 8               # tensors with at most this many elements are printed in full
_MAX_SUMMARIES = 4       # more folded regions than this are merged into one summary node

# matplotlib's viridis at 17 evenly spaced points (0, 1/16, ..., 1); interpolated in between
_VIRIDIS = (
    "#440154", "#48186a", "#472d7b", "#424086", "#3b528b", "#33638d", "#2c728e", "#26828e",
    "#21918c", "#1fa088", "#28ae80", "#3fbc73", "#5ec962", "#84d44b", "#addc30", "#d8e219",
    "#fde725",
)
_ZERO_COLOR = "#d9d9d9"       # a gradient that is exactly zero
_NONFINITE_COLOR = "#e4572e"  # nan or inf in a gradient
_PLAIN_COLOR = "#ffffff"      # no gradient known
_OP_COLOR = "#eeeeee"
_LINE_COLOR = "#555555"


class RendererNotFoundError(RuntimeError):
    """No dot-compatible program was found to render a graph picture."""


# ---- finding a renderer -------------------------------------------------------------------------

def _interpreter_script_dirs() -> list[str]:
    """Where pip puts console programs for the running interpreter (venv bin/, user scripts)."""
    dirs = [os.path.dirname(os.path.abspath(sys.executable))]
    for scheme in (None, f"{os.name}_user"):
        try:
            path = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        if path and path not in dirs:
            dirs.append(path)
    return dirs


def find_renderer() -> str | None:
    """Path of the program that renders pictures, or None when there is none.

    Looked for in this order: the ``AUTODIFF_DOT`` environment variable (a path or a program
    name), Graphviz's ``dot`` on PATH, ``graphviz-pure`` (``pip install "numpy-autodiff[viz]"``) on
    PATH, then ``graphviz-pure`` beside the running interpreter (its ``bin/`` or ``Scripts\\``
    and the user scripts directory), so that a virtualenv's renderer is found without activating it.
    """
    named = os.environ.get("AUTODIFF_DOT")
    if named:
        found = shutil.which(named)
        if found is None:
            raise RendererNotFoundError(
                f"AUTODIFF_DOT={named!r} is not an executable program; point it at Graphviz's dot "
                "or graphviz-pure, or unset it to let autodiff look for one")
        return found
    for program in ("dot", "graphviz-pure"):
        found = shutil.which(program)
        if found is not None:
            return found
    for directory in _interpreter_script_dirs():
        found = shutil.which("graphviz-pure", path=directory)
        if found is not None:
            return found
    return None


def _no_renderer_error() -> RendererNotFoundError:
    return RendererNotFoundError(
        "no Graphviz renderer found to render this graph picture (looked for $AUTODIFF_DOT, `dot` "
        "and `graphviz-pure` on PATH, and `graphviz-pure` beside " + sys.executable + "). Install "
        f'one: {_INSTALL} (brings graphviz-pure), or the system package graphviz '
        "(apt install graphviz, brew install graphviz, conda install graphviz). The DOT text in "
        ".source needs no renderer.")


_render_lock = threading.Lock()
# what a renderer without font files (graphviz-pure) says of each label with a character such as
# "→" or "×": it sizes that character as a space. Nothing for the user to do: not passed on.
_FONT_WIDTH_NOTE = "no value for width of non-ASCII character"


@contextlib.contextmanager
def _using_renderer() -> Iterator[str]:
    """Point the graphviz package at the renderer we found, for the duration of one call; pass
    on what the renderer writes to stderr, except its font-width notes."""
    path = find_renderer()
    if path is None:
        raise _no_renderer_error()
    from graphviz.backend import dot_command
    with _render_lock:
        previous = dot_command.DOT_BINARY
        dot_command.DOT_BINARY = path
        notes = io.StringIO()
        try:
            with contextlib.redirect_stderr(notes):
                yield path
        finally:
            dot_command.DOT_BINARY = previous
            for line in notes.getvalue().splitlines(keepends=True):
                if _FONT_WIDTH_NOTE not in line:
                    sys.stderr.write(line)


_picture_type: Any = None    # the GraphPicture class, made on first use


def _picture_class(graphviz: Any) -> Any:     # (Any: its Digraph is a base class here)
    """graphviz.Digraph whose pipe/render (and so Jupyter's display and view) use find_renderer."""
    global _picture_type
    if _picture_type is None:
        class GraphPicture(graphviz.Digraph):
            """A ``graphviz.Digraph`` that renders with the program :func:`find_renderer` finds."""

            def pipe(self, *args: Any, **kwargs: Any) -> Any:
                with _using_renderer() as path:
                    try:
                        return super().pipe(*args, **kwargs)
                    except graphviz.CalledProcessError as error:
                        raise _explain_render_error(error, path, args, kwargs) from None

            def render(self, *args: Any, **kwargs: Any) -> Any:
                with _using_renderer() as path:
                    try:
                        return super().render(*args, **kwargs)
                    except graphviz.CalledProcessError as error:
                        raise _explain_render_error(error, path, args, kwargs) from None

            def _repr_svg_(self) -> str:
                """The picture as SVG text (Jupyter's display, and anything that asks for SVG)."""
                return self.pipe(format="svg", encoding="utf-8")

            def save_html(self, path: str | os.PathLike[str], title: str = "autodiff graph") -> str:
                """Write an interactive page of this picture to ``path``: one self-contained HTML
                file (nothing fetched from the network) where module clusters collapse into one
                node and expand again (the layout closes up), hovering or clicking a node shows
                its shape, dtype, values and gradient (a histogram for large tensors), a search
                box finds a tensor by name, and the wheel and a drag zoom and pan. Needs the
                renderer (each collapse state is laid out by it). Returns the path."""
                from .viz_html import save_html
                return save_html(self, path, title)

        GraphPicture.__module__ = __name__
        _picture_type = GraphPicture
    return _picture_type


def _explain_render_error(error: Any, path: str, args: tuple[Any, ...],
                          kwargs: dict[str, Any]) -> Exception:
    stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else str(error.stderr)
    if "not recognized" in stderr and "graphviz-pure" in os.path.basename(path):
        return RuntimeError(
            f"the renderer {path} (graphviz-pure) cannot write this format: {stderr.strip()}. "
            "It writes svg, png and jpeg; for pdf install the system package graphviz (its dot is "
            "found first), or set AUTODIFF_DOT to a dot that can")
    return error


def _import_graphviz() -> ModuleType:
    try:
        import graphviz
    except ImportError:
        raise ImportError("draw_graph needs the graphviz Python package, which writes the DOT text: "
                          f"{_INSTALL} (it also installs the graphviz-pure renderer)") from None
    return graphviz


# ---- reading the graph ------------------------------------------------------------------------

def _walk(starts: Sequence[_Item]) -> tuple[list[_Item], dict[_Item, int]]:
    """Every node and leaf reachable from ``starts``, depth first, inputs in input_nodes order."""
    order: list[_Item] = []
    index: dict[_Item, int] = {}
    stack = list(reversed(starts))
    while stack:
        item = stack.pop()
        if item in index:
            continue
        index[item] = len(order)
        order.append(item)
        if not isinstance(item, Tensor):
            for child in reversed(item.input_nodes):
                if child is not None and child not in index:
                    stack.append(child)
    return order, index


def named_tensors(params: NamedTensors | None, op: str = "draw_graph") -> list[tuple[str, Tensor]]:
    """(name, tensor) pairs from a Module, a mapping, or an iterable of pairs (``op`` names the
    caller in errors)."""
    if params is None:
        return []
    if hasattr(params, "named_parameters"):
        pairs = params.named_parameters()
    elif hasattr(params, "items"):
        pairs = params.items()
    else:
        pairs = params
    named = []
    for pair in pairs:
        try:
            name, tensor = pair
        except (TypeError, ValueError):
            raise TypeError(f"{op}: params must be a Module (with named_parameters()), a mapping "
                            f"or an iterable of (name, tensor) pairs; got an item {pair!r}") from None
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{op}: params entry {name!r} is a {type(tensor).__name__}, not a Tensor")
        named.append((str(name), tensor))
    return named


def _output_meta(order: list[_Item], roots: Sequence[Tensor]) -> dict[Function, _Meta]:
    """(shape, dtype) of each node's output: from a root, or from a consumer's input_meta."""
    meta: dict[Function, _Meta] = {}
    for root in roots:
        if root.grad_fn is not None:
            meta.setdefault(root.grad_fn, (root.data.shape, root.data.dtype))
    for item in order:
        if not isinstance(item, Tensor):
            for child, child_meta in zip(item.input_nodes, item.input_meta or ()):
                if child_meta is _SAME:     # an elementwise op's input: the op's own shape and dtype
                    child_meta = meta.get(item)
                if child is not None and child_meta is not None and not isinstance(child, Tensor):
                    meta.setdefault(child, child_meta)
    return meta


def _values(order: list[_Item], given: list[Tensor]) -> dict[_Item, np.ndarray]:
    """The value of each drawn tensor that the graph (or the caller) still holds."""
    values: dict[_Item, np.ndarray] = {}
    tensor: Tensor | None
    for tensor in given:
        values.setdefault(tensor.grad_fn or tensor, tensor.data)
    for item in order:
        if isinstance(item, Tensor):
            values.setdefault(item, item.data)
            continue
        if item.retained is not None:
            tensor = item.retained()
            if tensor is not None:
                values.setdefault(item, tensor.data)
        saved, sources = item.saved_tensors, item.saved_sources
        if saved and sources:
            for array, source in zip(saved, sources):
                if source is _OUTPUT:
                    values.setdefault(item, array)
                elif isinstance(source, Tensor) and source.grad_fn is not None:
                    values.setdefault(source.grad_fn, source.data)
    return values


def _gradients(order: list[_Item], roots: Sequence[Tensor], given: list[Tensor],
               meta: dict[Function, _Meta]) -> tuple[dict[_Item, np.ndarray], bool, str | None]:
    """Gradients of the roots for every drawn tensor; returns (grads, freed, failure)."""
    ops = [item for item in order if not isinstance(item, Tensor)]
    if any(op.freed for op in ops):
        grads: dict[_Item, np.ndarray] = {}
        tensor: Tensor | None
        for tensor in given:
            if tensor.grad is not None:
                grads.setdefault(tensor.grad_fn or tensor, tensor.grad.data)
        for item in order:
            if isinstance(item, Tensor):
                if item.grad is not None:
                    grads.setdefault(item, item.grad.data)
            elif item.retained is not None:
                tensor = item.retained()
                if tensor is not None and tensor.grad is not None:
                    grads.setdefault(item, tensor.grad.data)
        return grads, True, None

    outputs = [root for root in roots if root.requires_grad]
    if not outputs:
        return {}, False, None
    targets: list[_Item] = []
    inputs: list[Tensor] = []
    placeholders: dict[np.dtype, np.ndarray] = {}
    for item in order:
        if isinstance(item, Tensor):
            if item.requires_grad:
                targets.append(item)
                inputs.append(item)
        elif item in meta:
            shape, dtype = meta[item]
            # stands for the node's output: ad.grad captures a non-leaf input at its grad_fn and
            # never reads its data, so one shared 0-d array will do
            placeholder = placeholders.get(dtype)
            if placeholder is None:
                placeholder = placeholders[dtype] = np.zeros((), dtype)
            inputs.append(_wrap(placeholder, True, item))
            targets.append(item)
    from .engine import grad
    # retain_grad() tensors would accumulate into .grad during ad.grad; the picture must not
    retained = [(op, op.retained) for op in ops if op.retained is not None]
    for op, _ in retained:
        op.retained = None
    try:
        results = grad(outputs, inputs, [np.ones_like(root.data) for root in outputs],
                       retain_graph=True, allow_unused=True)
    except Exception as error:  # a picture of a broken graph is still useful: say why, draw on
        return {}, False, f"{type(error).__name__}: {error}"
    finally:
        for op, ref in retained:
            op.retained = ref
    grads = {target: result.data for target, result in zip(targets, results) if result is not None}
    return grads, False, None


# ---- folding a big graph -------------------------------------------------------------------------

def _ranks(ops: list[Function]) -> dict[Function, int]:
    """Each op's longest distance from the roots (the layers dot draws), by Kahn's order: an op
    is visited after all its consumers. Iterative."""
    consumers = dict.fromkeys(ops, 0)
    for op in ops:
        for child in op.input_nodes:
            if child is not None and not isinstance(child, Tensor):
                consumers[child] += 1
    ready = [op for op in ops if consumers[op] == 0]
    rank = dict.fromkeys(ops, 0)
    while ready:
        op = ready.pop()
        below = rank[op] + 1
        for child in op.input_nodes:
            if child is not None and not isinstance(child, Tensor):
                if rank[child] < below:
                    rank[child] = below
                consumers[child] -= 1
                if consumers[child] == 0:
                    ready.append(child)
    return rank


def _fold(order: list[_Item], index: dict[_Item, int], roots: Sequence[Tensor], max_nodes: int | None,
          rank: dict[Function, int], max_level: int | None = None) -> tuple[set[Function], list[list[Function]]]:
    """Choose the ops to draw when the whole graph has more than ``max_nodes`` nodes, or more
    than ``max_level`` levels from either end.

    An op's level is its distance from the nearer end of the graph (from the roots, or from the
    deepest op): whole levels are kept from both ends, the output end and the input end, while
    they fit; the band in the middle (the middle of a long chain, most blocks of a deep stack) is
    folded. Returns (kept ops, folded regions as lists of ops in traversal order).
    """
    ops = [item for item in order if not isinstance(item, Tensor)]
    if not ops:
        return set(), []
    deepest = max(rank.values())
    leaves = len(order) - len(ops)
    fits_nodes = max_nodes is None or 2 * len(ops) + leaves <= max_nodes
    if fits_nodes and (max_level is None or deepest // 2 < max_level):
        return set(ops), []
    levels: dict[int, list[Function]] = {}
    for op in ops:
        levels.setdefault(min(rank[op], deepest - rank[op]), []).append(op)

    budget = max_nodes - 1 if max_nodes is not None else math.inf
    kept: set[Function] = set()
    drawn_leaves: set[Tensor] = set()
    used = 0

    def cost_of(level_ops: list[Function]) -> tuple[int, Iterable[Tensor]]:
        new_leaves = {}
        for op in level_ops:
            for child in op.input_nodes:
                if isinstance(child, Tensor) and child not in drawn_leaves:
                    new_leaves[id(child)] = child
        return 2 * len(level_ops) + len(new_leaves), new_leaves.values()

    starts = [root.grad_fn for root in roots if root.grad_fn is not None]
    cost, new_leaves = cost_of(list(dict.fromkeys(starts)))
    kept.update(starts)
    drawn_leaves.update(new_leaves)
    used += cost
    for level in sorted(levels):
        if max_level is not None and level >= max_level:
            break
        level_ops = [op for op in levels[level] if op not in kept]
        cost, new_leaves = cost_of(level_ops)
        if used + cost > budget:
            break
        kept.update(level_ops)
        drawn_leaves.update(new_leaves)
        used += cost

    # folded ops that touch each other form one region (union-find, iterative)
    parent = {op: op for op in ops if op not in kept}

    def find(op: Function) -> Function:
        while parent[op] is not op:
            parent[op] = parent[parent[op]]
            op = parent[op]
        return op

    for op in parent:
        for child in op.input_nodes:
            if child is not None and child in parent:
                a, b = find(op), find(child)  # type: ignore[arg-type]  # (in parent: a node)
                if a is not b:
                    if index[a] < index[b]:
                        parent[b] = a
                    else:
                        parent[a] = b
    regions: Any = {}       # root -> its region's ops, then the list of regions
    for op in sorted(parent, key=index.__getitem__):
        regions.setdefault(find(op), []).append(op)
    regions = list(regions.values())
    if len(regions) > _MAX_SUMMARIES:
        regions = [sorted((op for region in regions for op in region), key=index.__getitem__)]
    return kept, regions


# ---- words and colours ----------------------------------------------------------------------------

def _html(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _number(x: Any) -> str:     # (a number: also numpy's formatter for one)
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.4g}"


def _describe(kind: str, array: ArrayLike, summary_only: bool = False) -> list[str]:
    """Lines that print a small array in full and summarize a large one (norm, min, max)."""
    array = np.asarray(array)
    if array.size == 0:
        return [f"{kind} (empty)"]
    if array.size <= _SMALL and not summary_only:
        if array.ndim == 0:
            return [f"{kind} {_number(array.item())}"]
        if array.ndim >= 2 and array.size == array.shape[0]:
            # a column (n, 1): numpy would give each element a line; wrap it like a row instead
            nest = array.ndim - 1
            items = ["[" * nest + _number(x) + "]" * nest for x in array.reshape(-1)]
            lines, line = [], kind + " ["
            for i, item in enumerate(items):
                piece = item + ("]" if i == len(items) - 1 else ",")
                if len(line) + len(piece) > 44 and not line.endswith("["):
                    lines.append(line)
                    line = " " * (len(kind) + 2)
                line += ("" if line.endswith("[") or not line.strip() else " ") + piece
            return lines + [line]
        # numpy wraps long rows and nests brackets; lines of about 40 characters keep nodes narrow
        text = np.array2string(array, separator=", ", max_line_width=46 - len(kind),
                               formatter={"all": _number}, prefix=kind + " ")
        return [line for line in (kind + " " + text).split("\n") if line.strip()]
    as_float = array.astype(np.float64)
    norm = math.sqrt(float(np.sum(as_float * as_float)))
    return [f"{kind} norm {_number(norm)}, min {_number(as_float.min())}, max {_number(as_float.max())}"]


def _mean_abs(grad: np.ndarray) -> float | None:
    if grad.size == 1 and grad.dtype.kind == "f":
        return abs(float(grad.item()))      # the common case in long scalar chains, 20x faster
    if grad.size == 0 or grad.dtype.kind not in "fc":
        return None
    return float(np.mean(np.abs(grad.astype(np.float64))))


def _viridis(t: float) -> str:
    """Hex colour at ``t`` in [0, 1] on viridis (linear in RGB between the table's points)."""
    t = min(max(t, 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    frac = t - i
    lo, hi = _VIRIDIS[i], _VIRIDIS[i + 1]
    rgb = [round(int(lo[k:k + 2], 16) * (1 - frac) + int(hi[k:k + 2], 16) * frac) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


class _Scale:
    """Log-scale gradient colours spanning whole decades around the magnitudes drawn."""

    def __init__(self, magnitudes: Sequence[float | None]) -> None:
        logs = [math.log10(m) for m in magnitudes if m is not None and m > 0 and math.isfinite(m)]
        self.has_zero = any(m == 0 for m in magnitudes if m is not None)
        self.has_nonfinite = any(m is not None and not math.isfinite(m) for m in magnitudes)
        self.empty = not logs
        if logs:
            self.lo = math.floor(min(logs))
            self.hi = max(math.ceil(max(logs)), self.lo + 1)

    def color(self, magnitude: float | None) -> tuple[str, str]:
        """(fill colour, font colour) for a mean |grad|."""
        if magnitude is None:
            return _PLAIN_COLOR, "black"
        if not math.isfinite(magnitude):
            return _NONFINITE_COLOR, "black"
        if magnitude == 0:
            return _ZERO_COLOR, "black"
        t = (math.log10(magnitude) - self.lo) / (self.hi - self.lo)
        return _viridis(t), ("white" if t < 0.55 else "black")

    def legend(self) -> str:
        """HTML table rows: a swatch per decade, then zero and nan/inf when they occur."""
        cells = []
        if not self.empty:
            step = max(1, math.ceil((self.hi - self.lo) / 7))
            for decade in range(self.lo, self.hi + 1, step):
                fill, font = self.color(10.0 ** decade)
                cells.append(f'<td bgcolor="{fill}"><font color="{font}">1e{decade}</font></td>')
        if self.has_zero:
            cells.append(f'<td bgcolor="{_ZERO_COLOR}">0</td>')
        if self.has_nonfinite:
            cells.append(f'<td bgcolor="{_NONFINITE_COLOR}">nan/inf</td>')
        if not cells:
            return ""
        return ('<tr><td align="left" border="0"><table border="0" cellborder="1" cellspacing="0" '
                'cellpadding="3"><tr><td border="0">mean |grad| (log scale):</td>'
                + "".join(cells) + "</tr></table></td></tr>")


def _shape_text(shape: Iterable[int], dtype: object) -> str:
    shape = tuple(shape)
    if not shape:
        return f"scalar {dtype}"
    return f"({', '.join(str(n) for n in shape)}) {dtype}"


def _tensor_label(title: str | None, italic: bool, meta: _Meta | None, value: ArrayLike | None,
                  grad: ArrayLike | None, show_values: bool, summary_only: bool, grad_hidden: bool = False) -> str:
    lines = [f'<font point-size="12"><{"i" if italic else "b"}>{_html(title)}</{"i" if italic else "b"}></font>'
             if title else None]
    if meta is not None:
        lines.append(_html(_shape_text(*meta)))
    if show_values and value is not None:
        lines.extend(_html(line) for line in _describe("value", value, summary_only))
    if grad is not None:
        # hidden (animate_backward's frames before the walk reaches it): written in the fill
        # colour, so that the layout is the same in every frame
        lines.extend(f'<font color="{_PLAIN_COLOR}">{_html(line)}</font>' if grad_hidden else _html(line)
                     for line in _describe("grad", grad, summary_only))
    # left-aligned lines, so that wrapped rows of numbers line up under each other
    return "<" + "".join(line + '<br align="left"/>' for line in lines if line is not None) + ">"


def _common_scope(scopes: Iterable[str | None]) -> str | None:
    """The deepest scope path shared by all ``scopes`` ('a.b' and 'a.c' share 'a'), or None."""
    common: list[str] = None  # type: ignore[assignment]  # (set at i == 0, before any read)
    for i, scope in enumerate(scopes):
        if scope is None:
            return None
        parts = scope.split(".")
        if i == 0:
            common = parts
        else:
            n = 0
            while n < len(common) and n < len(parts) and common[n] == parts[n]:
                n += 1
            common = common[:n]
        if not common:
            return None
    return ".".join(common) if common else None


def _region_label(region: list[Function], rank: dict[Function, int], absorbed: int,
                  magnitudes: Sequence[float | None], cluster_labels: dict[str, str] | None = None) -> str:
    counts: dict[str, int] = {}
    for op in region:
        counts[op.name] = counts.get(op.name, 0) + 1
    kinds = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{name} x{n:,}" for name, n in kinds[:4])
    if len(kinds) > 4:
        shown += f", {len(kinds) - 4} more kinds"
    lines = [f"... {len(region):,} ops ({shown}) ..."]
    scopes: list[str] = []
    for op in sorted(region, key=lambda op: -rank[op]):     # in data-flow order: inputs first
        scope = op.scope
        if scope is not None and (not scopes or scopes[-1] != scope) and scope not in scopes:
            scopes.append(scope)
    cluster_labels = cluster_labels or {}
    scopes = [f"{scope} ({cluster_labels[scope]})" if scope in cluster_labels else scope for scope in scopes]
    if len(scopes) == 1:
        lines.append(f"in {scopes[0]}")
    elif len(scopes) > 1:
        lines.append(f"in {len(scopes)} scopes: {scopes[0]} ... {scopes[-1]}" if len(scopes) > 3
                     else "in " + ", ".join(scopes))
    if absorbed:
        lines.append(f"+ {absorbed:,} leaf tensor{'s' if absorbed != 1 else ''}")
    finite = [m for m in magnitudes if m is not None and m > 0 and math.isfinite(m)]
    if finite:
        lines.append(f"mean |grad| {_number(min(finite))} to {_number(max(finite))}")
    return "\\n".join(lines)


# ---- the picture ---------------------------------------------------------------------------------

MAX_SIZE = (2000, 4000)     # px at 96 dpi, (width, length): a picture a notebook column can show
_GUESSED_LEVELS = 12        # without a renderer to measure a layout: levels kept from each end
_PX_PER_PT = 96 / 72

# ops whose saved arrays line up with their inputs (saved[i] is input i, or None), so an input
# that is not on the graph (a number, a data tensor) can be read back from what the op saved
_ALIGNED_SAVES = frozenset({"Mul", "Div", "Pow", "MatMul", "Maximum", "Minimum", "Linear"})
_SYMBOLS = {"Add": "+", "Sub": "−", "Mul": "×", "Div": "÷", "Pow": "**", "Maximum": "max",
            "Minimum": "min"}


class OffGraphInput:
    """An input of an op that has no edge on the graph: a data tensor, an array or a number.
    ``value`` is None where the op kept no copy of it (``x + 1.0`` keeps nothing)."""

    __slots__ = ("op", "slot", "tensor", "value", "number")

    def __init__(self, op: Function, slot: int, tensor: Tensor | None, value: Any, number: bool) -> None:
        self.op, self.slot, self.tensor, self.value, self.number = op, slot, tensor, value, number

    @property
    def scalar(self) -> bool:
        """A bare constant of one element (written into its op's label: ``× 2.0``)."""
        return self.tensor is None and (self.number or self.value is not None and np.size(self.value) == 1)


def off_graph_inputs(op: Function) -> list[OffGraphInput]:
    """The inputs of ``op`` that are not on the graph (data, constants), in input order."""
    edges = op.input_nodes
    saved = op.saved_tensors or ()
    sources = op.saved_sources or ()
    metas = op.input_meta or ()
    aligned = op.name in _ALIGNED_SAVES and len(saved) >= len(edges)
    data = [] if aligned else [source for source in sources if isinstance(source, Tensor)
                               and not source.requires_grad]
    found = []
    for slot, edge in enumerate(edges):
        if edge is not None:
            continue
        tensor = value = None
        if aligned:
            source = sources[slot] if slot < len(sources) else None
            if isinstance(source, Tensor):
                tensor, value = source, source.data
            elif saved[slot] is not None:
                value = saved[slot]
        elif data:
            tensor = data.pop(0)
            value = tensor.data
        if tensor is None and value is None and op.name == "Linear" and slot == 2:
            continue        # bias=None, or a bias that needs no gradient: the node cannot tell which
        # a Python number next to a tensor leaves these marks in input_meta (see binary_op)
        number = (slot == 1 and metas is _SAME_NONE) or (slot == 0 and metas is _NONE_SAME)
        found.append(OffGraphInput(op, slot, tensor, value, number))
    return found


def _constant_text(value: Any) -> str:
    """A constant as a person writes it: 2.0 for a float two, 2 for an integer."""
    value = np.asarray(value).reshape(-1)[0] if not isinstance(value, (int, float)) else value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    text = f"{float(value):.4g}"
    return text + ".0" if text.lstrip("-").isdigit() else text


def op_label(op: Function, extras: Sequence[OffGraphInput] = ()) -> str:
    """The text of an op node: its name, with a scalar constant written in (``Mul × 2.0``)."""
    name = op.name
    if name == "PowScalar":
        p = getattr(op, "p", None)
        return f"Pow ** {_constant_text(p)}" if isinstance(p, (int, float, np.number)) else "Pow"
    if name == "Mul" and len(op.input_nodes) == 1:
        return "Mul x × x"      # x * x: one edge (see ops.MulSelf)
    if name == "Clip" and hasattr(op, "low"):
        low, high = op.low, op.high  # type: ignore[attr-defined]  # (Clip's bounds)
        low = "-inf" if low is None else _constant_text(low)
        high = "inf" if high is None else _constant_text(high)
        return f"Clip [{low}, {high}]"
    symbol = _SYMBOLS.get(name)
    scalars = [extra for extra in extras if extra.scalar]
    if symbol is None or len(scalars) != 1 or len(op.input_nodes) != 2:
        return name
    extra = scalars[0]
    text = "a number" if extra.value is None else _constant_text(extra.value)
    if symbol in ("max", "min"):
        return f"{name} {symbol}(x, {text})"
    return f"{name} {symbol} {text}" if extra.slot == 1 else f"{name} {text} {symbol} x"


def _short(text: str, width: int = 28) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def module_description(module: object) -> str:
    """``Linear(2→8)``, ``MLP(2→8→1)``, ``Tanh``: what a module is, in a few characters."""
    kind = type(module).__name__
    n_in, n_out = getattr(module, "in_features", None), getattr(module, "out_features", None)
    if isinstance(n_in, int) and isinstance(n_out, int):
        return f"{kind}({n_in}→{n_out})"
    sizes = getattr(module, "sizes", None)
    if isinstance(sizes, (list, tuple)) and sizes and all(isinstance(n, int) for n in sizes):
        return f"{kind}({'→'.join(str(n) for n in sizes)})"
    extra = ""
    if hasattr(module, "extra_repr"):
        try:
            extra = str(module.extra_repr())
        except Exception:       # a description is a nicety: never fail a picture for it
            extra = ""
    return f"{kind}({_short(extra)})" if extra and "\n" not in extra else kind


def module_labels(params: object) -> dict[str, str]:
    """scope path -> cluster label (``MLP.0`` -> ``0: Linear(2→8)``), from a Module's tree."""
    if not hasattr(params, "named_modules"):
        return {}
    root = getattr(params, "_scope_name", type(params).__name__)
    labels = {}
    for name, module in params.named_modules():
        if name:
            labels[f"{root}.{name}"] = f"{name.rsplit('.', 1)[-1]}: {module_description(module)}"
        else:
            labels[root] = module_description(module)
    return labels


class _Node:
    """One node of the picture: DOT attributes, the scope (cluster) it sits in, and what the
    interactive page shows about it."""

    __slots__ = ("id", "scope", "attrs", "kind", "name", "meta", "value", "grad", "ops", "path")

    def __init__(self, id: str, scope: str | None, attrs: dict[str, Any], kind: str, name: str | None = None,
                 meta: _Meta | None = None, value: Any = None, grad: Any = None, ops: int = 1,
                 path: str | None = None) -> None:
        self.id, self.scope, self.attrs, self.kind, self.name = id, scope, attrs, kind, name
        self.meta, self.value, self.grad, self.ops, self.path = meta, value, grad, ops, path


class _Scene:
    """A drawn graph before it becomes DOT: nodes, edges, cluster labels, caption and legend."""

    def __init__(self, nodes: list[_Node], edges: list[tuple[str, str, dict[str, str]]],
                 cluster_labels: dict[str, str], caption: list[str], legend: str, rankdir: str,
                 magnitudes: dict[str, Any]) -> None:     # (node id -> mean |grad| or None)
        self.nodes, self.edges, self.cluster_labels = nodes, edges, cluster_labels
        self.caption, self.legend, self.rankdir, self.magnitudes = caption, legend, rankdir, magnitudes

    def clusters(self) -> list[str]:
        """Every scope path with a node in it (and their parents), parents first, children in
        their natural order (``MLP.2`` before ``MLP.10``)."""
        found: dict[str, None] = {}
        for node in self.nodes:
            if node.scope is not None:
                parts = node.scope.split(".")
                for n in range(1, len(parts) + 1):
                    found.setdefault(".".join(parts[:n]), None)
        return sorted(found, key=lambda path: [(0, int(part), "") if part.isdigit() else (1, 0, part)
                                               for part in path.split(".")])

    def collapsed(self, paths: Iterable[str]) -> _Scene:
        """The scene with each cluster in ``paths`` drawn as one node (edges into and out of the
        cluster go to that node): the picture of the graph with those modules closed up."""
        paths = sorted(set(paths), key=lambda p: (p.count("."), p))
        outer = [p for p in paths if not any(p.startswith(q + ".") for q in paths if q != p)]
        if not outer:
            return self

        def owner(scope: str | None) -> str | None:
            if scope is None:
                return None
            for path in outer:
                if scope == path or scope.startswith(path + "."):
                    return path
            return None

        nodes: list[_Node] = []
        replaced: dict[str, str] = {}
        members: dict[str, list[_Node]] = {}
        ids = {path: f"k{i}" for i, path in enumerate(self.clusters()) if path in outer}
        for node in self.nodes:
            path = owner(node.scope)
            if path is None:
                nodes.append(node)
            else:
                replaced[node.id] = ids[path]
                members.setdefault(path, []).append(node)
        for path in outer:
            inside = members.get(path)
            if not inside:
                continue
            n_ops = sum(node.ops for node in inside if node.kind in ("op", "summary"))
            n_tensors = sum(1 for node in inside if node.kind in ("tensor", "parameter", "input"))
            label = self.cluster_labels.get(path, path.rsplit(".", 1)[-1])
            lines = [label, f"{n_ops:,} op{'s' if n_ops != 1 else ''}, "
                            f"{n_tensors:,} tensor{'s' if n_tensors != 1 else ''} (collapsed)"]
            finite = [self.magnitudes[node.id] for node in inside if self.magnitudes.get(node.id)
                      and math.isfinite(self.magnitudes[node.id])]
            if finite:
                lines.append(f"mean |grad| {_number(min(finite))} to {_number(max(finite))}")
            parent = path.rsplit(".", 1)[0] if "." in path else None
            nodes.append(_Node(ids[path], parent, dict(
                label=_nohtml("\\n".join(lines)), shape="box3d", style="filled", fillcolor="#e8eef7",
                fontsize="11"), "collapsed", name=label, ops=n_ops, path=path))
        edges, seen, closed_ids = [], set(), set(ids.values())
        for tail, head, attrs in self.edges:
            tail, head = replaced.get(tail, tail), replaced.get(head, head)
            closed = tail in closed_ids or head in closed_ids
            if tail == head or closed and (tail, head) in seen:
                continue
            seen.add((tail, head))
            edges.append((tail, head, {} if closed else attrs))
        return _Scene(nodes, edges, self.cluster_labels, self.caption, self.legend, self.rankdir,
                      self.magnitudes)

    def picture(self, graphviz: ModuleType, rankdir: str | None = None) -> Any:
        """The scene as a GraphPicture (DOT); nested scopes become nested clusters."""
        picture = _picture_class(graphviz)(
            name="autodiff", format="svg",
            graph_attr={"rankdir": rankdir or self.rankdir, "fontname": "Helvetica", "fontsize": "11",
                        "nodesep": "0.2", "ranksep": "0.3", "labelloc": "b", "labeljust": "l"},
            node_attr={"fontname": "Helvetica", "fontsize": "10", "margin": "0.11,0.05"},
            edge_attr={"color": _LINE_COLOR, "arrowsize": "0.6"})
        clusters: dict[str, Any] = {}       # path -> its graphviz.Digraph
        order: dict[str, int] = {}
        for node in self.nodes:
            if node.scope is None:
                continue
            parts = node.scope.split(".")
            for n in range(1, len(parts) + 1):
                path = ".".join(parts[:n])
                if path not in clusters:
                    label = self.cluster_labels.get(path, parts[n - 1])
                    clusters[path] = graphviz.Digraph(name=f"cluster_{path}", graph_attr={
                        "label": graphviz.nohtml(label), "style": "rounded,dashed", "color": "#888888",
                        "fontcolor": "#444444", "fontsize": "11", "labeljust": "l", "labelloc": "t"})
                    order[path] = len(order)
        for node in self.nodes:
            attrs = {key: (graphviz.nohtml(value.text) if isinstance(value, _nohtml) else value)
                     for key, value in node.attrs.items()}
            (picture if node.scope is None else clusters[node.scope]).node(node.id, **attrs)
        # children before parents, so a parent copies finished children
        for path in sorted(order, key=lambda p: (-p.count("."), order[p])):
            parent = path.rsplit(".", 1)[0] if "." in path else None
            (picture if parent is None else clusters[parent]).subgraph(clusters[path])
        for tail, head, attrs in self.edges:
            picture.edge(tail, head, **attrs)
        rows = [self.legend] if self.legend else []
        rows += [f'<tr><td align="left" border="0">{_html(line)}</td></tr>' for line in self.caption]
        if rows:
            picture.attr(label='<<table border="0" cellspacing="2" cellpadding="1">' + "".join(rows) + "</table>>")
        picture._autodiff_scene = self
        return picture


class _nohtml:
    """Label text that graphviz must not read as an HTML label (wrapped at DOT time)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Reading:
    """What draw_graph reads from the graph once: the walk, names, values, gradients, ranks.
    Layouts (which ops to fold, the direction) are chosen after, without reading again."""

    names: dict[_Item, str]
    hidden_grads: AbstractSet[_Item]

    def __init__(self, roots: Sequence[Any], params: NamedTensors | None, show_values: bool | str,
                 show_grads: bool) -> None:
        if len(roots) == 1 and isinstance(roots[0], (list, tuple)):
            roots = tuple(roots[0])
        if not roots:
            raise TypeError("draw_graph: pass the tensor(s) to draw, e.g. ad.draw_graph(loss)")
        unique_roots: list[Tensor] = []
        for root in roots:
            if not isinstance(root, Tensor):
                raise TypeError(f"draw_graph: expected Tensors, got {type(root).__name__}")
            if not any(root is seen for seen in unique_roots):
                unique_roots.append(root)
        roots = self.roots = unique_roots
        if show_values not in ("auto", "summary", True, False):
            raise ValueError(f'draw_graph: show_values must be "auto", "summary", True or False, got {show_values!r}')
        self.summary_only = show_values == "summary"
        self.show_values = bool(show_values)
        self.show_grads = show_grads
        self.params_given = params is not None

        named = named_tensors(params)
        self.order, self.index = order, index = _walk([root.grad_fn or root for root in roots])
        names: dict[_Item, str]
        self.names = names = {}
        for name, tensor in named:
            item = tensor.grad_fn or tensor
            if item in index:
                names.setdefault(item, name)
        self.user_named = set(names)
        # data tensors (requires_grad=False) are off the graph: they are named by identity
        self.data_names = {id(tensor): name for name, tensor in named if not tensor.requires_grad}
        self.root_items = [root.grad_fn or root for root in roots]
        self.role_root = set(self.root_items)
        for i, item in enumerate(self.root_items):
            names.setdefault(item, "output" if len(roots) == 1 else f"output {i}")

        given = list(roots) + [tensor for _, tensor in named if (tensor.grad_fn or tensor) in index]
        self.meta = _output_meta(order, roots)
        self.values = _values(order, given) if self.show_values else {}
        self.grads, self.freed, self.failure = (_gradients(order, roots, given, self.meta) if show_grads
                                                else ({}, False, None))
        self.magnitudes = {item: _mean_abs(g) for item, g in self.grads.items()}
        self.scale = _Scale(list(self.magnitudes.values()))
        self.ops = [item for item in order if not isinstance(item, Tensor)]
        self.rank = _ranks(self.ops) if self.ops else {}
        self.cluster_labels = module_labels(params)
        self.consumers: dict[Tensor, list[Function]] = {}      # leaf -> ops that use it, in traversal order
        for item in order:
            if not isinstance(item, Tensor):
                for child in item.input_nodes:
                    if child is not None and isinstance(child, Tensor):
                        users = self.consumers.setdefault(child, [])
                        if not users or users[-1] is not item:
                            users.append(item)
        self._extras: dict[Function, list[OffGraphInput]] = {}
        self.hidden_grads = frozenset()     # see animate_backward

    def extras(self, op: Function) -> list[OffGraphInput]:
        """off_graph_inputs(op), read once (only for the ops a picture keeps)."""
        found = self._extras.get(op)
        if found is None:
            found = self._extras[op] = off_graph_inputs(op)
        return found

    def levels(self) -> int:
        """How many levels the fold can keep from each end (half the depth, rounded up)."""
        return max(self.rank.values()) // 2 + 1 if self.rank else 0

    def hint(self) -> list[str]:
        """What to say when there is no graph behind the roots."""
        if self.ops:
            return []
        if all(root.requires_grad for root in self.roots):
            return ["No graph yet: this is a leaf tensor (no op made it). Draw the result of a "
                    "computation on it, e.g. ad.draw_graph((x * 2).sum())."]
        return ["No graph to draw: this tensor does not require grad, so no op recorded it (it was "
                "made under ad.no_grad(), or from tensors that do not require grad).",
                "Create the inputs with requires_grad=True (parameters do), compute outside "
                "no_grad, then draw the result."]

    def scene(self, kept: set[Function], regions: list[list[Function]], rankdir: str, max_nodes: int | None,
              fit_note: str | None = None) -> _Scene:
        """The nodes and edges of the picture that keeps the ops in ``kept`` and folds ``regions``."""
        names, index, order, role_root = self.names, self.index, self.order, self.role_root
        show_grads, show_values = self.show_grads, self.show_values
        region_of = {}
        for k, region in enumerate(regions):
            for op in region:
                region_of[op] = k
        consumers = self.consumers
        drawn_leaves = [item for item in order if isinstance(item, Tensor)
                        and (item in role_root or any(op in kept for op in consumers.get(item, ())))]
        drawn_leaf_set = set(drawn_leaves)
        absorbed = [0] * len(regions)
        for item in order:
            if isinstance(item, Tensor) and item not in drawn_leaf_set:
                absorbed[region_of[consumers[item][0]]] += 1

        def node_id(item: _Item) -> str:
            return f"t{index[item]}"

        nodes = []
        magnitudes = {}

        def tensor_node(item: _Item, scope: str | None) -> None:
            name = names.get(item)
            is_leaf = isinstance(item, Tensor)
            if item in role_root:
                attrs, kind = {"style": "filled", "peripheries": "2"}, "output"
            elif is_leaf and name is not None:
                attrs, kind = {"style": "filled,rounded", "penwidth": "2"}, "parameter"
            elif is_leaf:
                attrs, kind = {"style": "filled,dashed"}, "input"
                if name is None:
                    name = "input" if self.params_given else "leaf"
            else:
                attrs, kind = {"style": "filled", "color": "#777777"}, "tensor"
            italic = item not in self.user_named
            magnitude = self.magnitudes.get(item)
            fill, font = self.scale.color(magnitude) if show_grads else (_PLAIN_COLOR, "black")
            # (type: ignore: is_leaf says that item is a Tensor)
            item_meta = ((item.data.shape, item.data.dtype) if is_leaf  # type: ignore[union-attr]
                         else self.meta.get(item))  # type: ignore[arg-type]
            value, grad = self.values.get(item), self.grads.get(item)
            label = _tensor_label(name, italic, item_meta, value, grad, show_values, self.summary_only,
                                  item in self.hidden_grads)
            magnitudes[node_id(item)] = magnitude
            nodes.append(_Node(node_id(item), scope, dict(
                label=label, shape="box", fillcolor=fill, fontcolor=font, **attrs), kind,
                name=name, meta=item_meta, value=value if show_values else None, grad=grad))

        data_ids: dict[object, str] = {}       # id(tensor) or (op, slot) -> node id
        data_scopes: dict[str, str | None] = {}
        edges, seen_edges = [], set()

        def data_node(extra: OffGraphInput, op_index: int) -> str:
            key = id(extra.tensor) if extra.tensor is not None else (op_index, extra.slot)
            if key in data_ids:
                node = data_ids[key]
                scope = extra.op.scope
                if data_scopes[node] != scope:      # used in several modules: lift it out
                    data_scopes[node] = _common_scope([data_scopes[node], scope])
                return node
            node = data_ids[key] = f"d{op_index}_{extra.slot}"
            data_scopes[node] = extra.op.scope
            named = extra.tensor is not None and id(extra.tensor) in self.data_names
            name = (self.data_names[id(extra.tensor)] if named else
                    "number" if extra.number else "data" if extra.tensor is not None or extra.value is None
                    else "constant")
            value = extra.value
            meta = (np.shape(value), np.asarray(value).dtype) if value is not None else None
            style = "b" if named else "i"
            lines = [f'<font point-size="10"><{style}>{_html(name)}</{style}></font>']
            if meta is not None:
                lines.append(_html(_shape_text(*meta)))
                if show_values:
                    lines.extend(_html(line) for line in _describe("value", value, self.summary_only))
            else:
                lines.append("(value not kept by the op)")
            nodes.append(_Node(node, None, dict(
                label="<" + "".join(line + '<br align="left"/>' for line in lines) + ">",
                shape="box", style="filled,dotted", fillcolor="#f7f7f7", color="#999999",
                fontsize="9", margin="0.06,0.03", height="0.2"), "data", name=name, meta=meta,
                value=value if show_values else None))
            return node

        for item in drawn_leaves:
            scope = None
            if item in names and item not in role_root:
                scope = _common_scope([op.scope for op in consumers.get(item, ())])
            tensor_node(item, scope)
        op_extras = {}
        for item in order:
            if not isinstance(item, Tensor) and item in kept:
                extras = self.extras(item)
                op_extras[item] = extras
                nodes.append(_Node(f"op{index[item]}", item.scope, dict(
                    label=_nohtml(op_label(item, extras)), shape="ellipse", style="filled",
                    fillcolor=_OP_COLOR, fontsize="11", height="0.3"), "op", name=op_label(item, extras)))
                tensor_node(item, item.scope)
        for k, region in enumerate(regions):
            label = _region_label(region, self.rank, absorbed[k],
                                  [self.magnitudes.get(op) for op in region] if show_grads else [],
                                  self.cluster_labels)
            nodes.append(_Node(f"s{k}", _common_scope([op.scope for op in region]), dict(
                label=_nohtml(label), shape="box", style="dashed,filled,rounded",
                fillcolor="#f4f4f4", fontsize="11"), "summary", name=label.split("\\n")[0],
                ops=len(region)))

        scope_of_node = {node.id: node.scope for node in nodes}
        leaf_ids = {index[item] for item in drawn_leaves}

        def source_of(child: _Item) -> str:
            if not isinstance(child, Tensor) and child not in kept:
                return f"s{region_of[child]}"
            return node_id(child)

        def add_edge(tail: str, head: str, dedupe: bool, attrs: dict[str, str] | None = None) -> None:
            if dedupe:
                if (tail, head) in seen_edges:
                    return
                seen_edges.add((tail, head))
            edges.append((tail, head, attrs or {}))

        for item in order:
            if isinstance(item, Tensor):
                continue
            if item in kept:
                head = f"op{index[item]}"
                tails = [source_of(child) for child in item.input_nodes if child is not None]
                # A parameter drawn in this op's box sits one rank above the op; an input arriving
                # from another box must come from further up, or dot sets the two boxes side by side
                # (they would share that rank) and the picture drifts sideways layer after layer.
                boxed_param = item.scope is not None and any(
                    tail.startswith("t") and scope_of_node[tail] == item.scope and int(tail[1:]) in leaf_ids
                    for tail in tails)
                for tail in tails:
                    longer = boxed_param and scope_of_node.get(tail) != item.scope
                    add_edge(tail, head, tail.startswith("s"), {"minlen": "2"} if longer else None)
                for extra in op_extras[item]:
                    if extra.scalar:
                        continue        # written into the op's label
                    add_edge(data_node(extra, index[item]), head, True)
                add_edge(head, node_id(item), False)
            else:
                head = f"s{region_of[item]}"
                for child in item.input_nodes:
                    if child is not None and (isinstance(child, Tensor) and child in drawn_leaf_set
                                              or not isinstance(child, Tensor) and child in kept):
                        add_edge(node_id(child), head, True)
        for node in nodes:
            if node.kind == "data":
                node.scope = data_scopes[node.id]

        caption = self.hint()
        if show_grads and self.ops:
            if self.failure is not None:
                caption.append(f"gradients not shown: ad.grad failed on this graph ({self.failure})")
            elif self.freed:
                caption.append("The graph was freed by backward(): only gradients that survive it are "
                               "shown (leaves' .grad, retain_grad() tensors).")
                caption.append("Draw before backward(), or call backward(retain_graph=True), to see the "
                               "gradient of every tensor.")
            elif self.grads:
                roots = self.roots
                of = (names[self.root_items[0]] if len(roots) == 1 and roots[0].data.size == 1
                      else "sum(" + " + ".join(names[item] for item in self.root_items) + ")")
                caption.append(f"grad: d {of} / d tensor, computed with ad.grad on the live graph")
        if regions:
            folded = sum(len(region) for region in regions)
            caption.append(f"{folded:,} of {len(self.ops):,} ops folded into {len(regions)} summary "
                           f"node{'s' if len(regions) != 1 else ''} ({fit_note or f'max_nodes={max_nodes}'})")
        legend = self.scale.legend() if show_grads else ""
        return _Scene(nodes, edges, self.cluster_labels, caption, legend, rankdir, magnitudes)


def _measure(picture: Any) -> tuple[float, float] | None:
    """(width, height) in px at 96 dpi of the picture as the renderer lays it out, or None when
    there is no renderer (or it fails: the caller then guesses)."""
    if find_renderer() is None:
        return None
    try:
        svg = picture.pipe(format="svg", encoding="utf-8", quiet=True)
    except Exception:       # a layout that fails here fails again, with its message, on render
        return None
    match = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if match is None:
        return None
    return float(match.group(1)) * _PX_PER_PT, float(match.group(2)) * _PX_PER_PT


def draw_graph(*roots: Tensor | Sequence[Tensor], params: NamedTensors | None = None,
               show_values: bool | Literal["auto", "summary"] = "auto", show_grads: bool = True,
               rankdir: Literal["auto", "TB", "LR", "BT", "RL"] = "auto", max_nodes: int | None = 500,
               max_size: tuple[int, int] | None = MAX_SIZE) -> Any:
    """Draw the graph that computed ``roots`` as a ``graphviz.Digraph`` (DOT text in ``.source``).

    Tensors are boxes with a name (from ``params``: a Module, a mapping or (name, tensor) pairs,
    so parameters read ``0.weight``), shape, dtype, value and gradient; ops are ellipses named by
    their Function class, with a scalar constant written in (``Mul × 2.0``, ``Pow ** 2``). Data
    tensors and other constants the op kept are small dotted boxes with their arrows. Edges follow
    the data: inputs -> op -> output. Parameters have a bold rounded border, inputs a dashed one,
    outputs a double one. A tensor's fill is its mean |grad| on viridis, log scale (legend at the
    bottom), so vanishing and exploding paths stand out. Ops made under ``ad.name_scope`` (every
    nn.Module call) are boxed by module, nested scopes nested, labelled with the module when
    ``params`` is one (``0: Linear(2→8)``).

    Arguments:
        roots: the tensor(s) to draw from, usually the loss; or a step compiled with ``ad.compile``
            (its recorded plan: ops, backward, replayed calls).
        params: names for tensors; a Module (``named_parameters()``), a mapping, or pairs. Any
            tensor named here (an intermediate one, or a data tensor such as ``x``) also has its
            value shown.
        show_values: ``"auto"`` or True: tensors of up to 8 elements printed in full, larger ones
            summarized (norm, min, max); ``"summary"``: summaries only; False: no values.
        show_grads: gradients (as text and colour) of the roots' sum with respect to each tensor,
            computed with ``ad.grad`` while the graph is alive; after a backward that freed it,
            the surviving ``.grad`` only (see the caption).
        rankdir: ``"auto"`` (top to bottom, or left to right when that is what fits), ``"TB"``
            or ``"LR"``.
        max_nodes: beyond this many drawn nodes the middle of long chains and of repeated blocks
            is folded into summary nodes ("... 9,990 ops (Add x4,995, Mul x4,995) ..."). None: never.
        max_size: (width, length) in px at 96 dpi that the rendered picture must fit
            (default 2000 x 4000): the layout is measured with the renderer and more of the
            middle is folded until it fits. None: no limit.

    The result shows itself in Jupyter (``_repr_svg_``), renders with ``.render()``/``.pipe()``
    (svg by default, as ``view()``), and writes an interactive page with ``.save_html(path)``.
    Rendering uses :func:`find_renderer`; ``.source`` never does (without a renderer the fit to
    ``max_size`` is a guess by levels).
    """
    from .compiler import CompiledStep
    if len(roots) == 1 and isinstance(roots[0], CompiledStep):
        return roots[0].graph       # a compiled step: its recorded plan
    graphviz = _import_graphviz()
    if rankdir not in ("auto", "TB", "LR", "BT", "RL"):
        raise ValueError(f'draw_graph: rankdir must be "auto", "TB" or "LR", got {rankdir!r}')
    reading = _Reading(roots, params, show_values, show_grads)
    return _fit(graphviz, reading, rankdir, max_nodes, max_size)


def _fit(graphviz: ModuleType, reading: _Reading, rankdir: str, max_nodes: int | None, max_size: Any) -> Any:
    """The picture of ``reading`` within ``max_size``: measured with the renderer, folding more
    of the middle (and trying left to right for a wide, shallow graph) until it fits.
    (``max_size``: (width, length), or None, which the picture is then never measured against.)"""
    direction = "TB" if rankdir == "auto" else rankdir
    max_level, fit_note = None, None
    try:
        measured = max_size is not None and find_renderer() is not None
    except RendererNotFoundError:   # a bad AUTODIFF_DOT: .source needs no renderer; render() says why
        measured = False
    if max_size is not None and not measured and reading.levels() > _GUESSED_LEVELS:
        max_level, fit_note = _GUESSED_LEVELS, f"to fit {max_size[0]}x{max_size[1]} px (guessed)"
    tried_lr = False
    picture = None
    for _ in range(16):
        kept, regions = _fold(reading.order, reading.index, reading.roots, max_nodes, reading.rank, max_level)
        picture = reading.scene(kept, regions, direction, max_nodes, fit_note).picture(graphviz)
        picture._autodiff_fit = (kept, regions, direction, max_nodes, fit_note)
        picture._autodiff_reading = reading
        if not measured:
            return picture
        size = _measure(picture)
        if size is None:
            return picture
        width, height = size
        if width <= max_size[0] and height <= max_size[1]:
            return picture
        if rankdir == "auto" and not tried_lr and direction == "TB" and width > max_size[0] \
                and height < max_size[1] / 2:
            tried_lr, direction = True, "LR"     # wide and shallow: left to right may fit
            continue
        along = height if direction in ("TB", "BT") else width
        limit = max_size[1] if direction in ("TB", "BT") else max_size[0]
        kept_levels = max_level if max_level is not None else reading.levels()
        if along > limit and kept_levels > 1:
            shrink = max(1, min(kept_levels - 1, int(kept_levels * limit / along * 0.92)))
            max_level = shrink
            fit_note = f"to fit {max_size[0]}x{max_size[1]} px"
            continue
        if max_nodes is None or max_nodes > 16:
            total = 2 * len(reading.ops) + (len(reading.order) - len(reading.ops))
            max_nodes = max(16, int((max_nodes or total) * 0.7))
            fit_note = f"to fit {max_size[0]}x{max_size[1]} px"
            continue
        break
    return picture
