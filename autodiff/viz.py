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
follow the traversal (depth first from the roots, inputs in ``next_functions`` order).
"""
import contextlib
import math
import os
import shutil
import sys
import sysconfig
import threading

import numpy as np

from .function import _OUTPUT, _SAME
from .tensor import Tensor, _wrap

__all__ = ["draw_graph", "find_renderer", "RendererNotFoundError"]

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

def _interpreter_script_dirs():
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


def find_renderer():
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


def _no_renderer_error():
    return RendererNotFoundError(
        "no Graphviz renderer found to render this graph picture (looked for $AUTODIFF_DOT, `dot` "
        "and `graphviz-pure` on PATH, and `graphviz-pure` beside " + sys.executable + "). Install "
        f'one: {_INSTALL} (brings graphviz-pure), or the system package graphviz '
        "(apt install graphviz, brew install graphviz, conda install graphviz). The DOT text in "
        ".source needs no renderer.")


_render_lock = threading.Lock()


@contextlib.contextmanager
def _using_renderer():
    """Point the graphviz package at the renderer we found, for the duration of one call."""
    path = find_renderer()
    if path is None:
        raise _no_renderer_error()
    from graphviz.backend import dot_command
    with _render_lock:
        previous = dot_command.DOT_BINARY
        dot_command.DOT_BINARY = path
        try:
            yield path
        finally:
            dot_command.DOT_BINARY = previous


_picture_type = None


def _picture_class(graphviz):
    """graphviz.Digraph whose pipe/render (and so Jupyter's display and view) use find_renderer."""
    global _picture_type
    if _picture_type is None:
        class GraphPicture(graphviz.Digraph):
            """A ``graphviz.Digraph`` that renders with the program :func:`find_renderer` finds."""

            def pipe(self, *args, **kwargs):
                with _using_renderer() as path:
                    try:
                        return super().pipe(*args, **kwargs)
                    except graphviz.CalledProcessError as error:
                        raise _explain_render_error(error, path, args, kwargs) from None

            def render(self, *args, **kwargs):
                with _using_renderer() as path:
                    try:
                        return super().render(*args, **kwargs)
                    except graphviz.CalledProcessError as error:
                        raise _explain_render_error(error, path, args, kwargs) from None

        GraphPicture.__module__ = __name__
        _picture_type = GraphPicture
    return _picture_type


def _explain_render_error(error, path, args, kwargs):
    stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else str(error.stderr)
    if "not recognized" in stderr and "graphviz-pure" in os.path.basename(path):
        return RuntimeError(
            f"the renderer {path} (graphviz-pure) cannot write this format: {stderr.strip()}. "
            "It writes svg, png and jpeg; for pdf install the system package graphviz (its dot is "
            "found first), or set AUTODIFF_DOT to a dot that can")
    return error


def _import_graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError("draw_graph needs the graphviz Python package, which writes the DOT text: "
                          f"{_INSTALL} (it also installs the graphviz-pure renderer)") from None
    return graphviz


# ---- reading the graph ------------------------------------------------------------------------

def _walk(starts):
    """Every node and leaf reachable from ``starts``, depth first, inputs in next_functions order."""
    order = []
    index = {}
    stack = list(reversed(starts))
    while stack:
        item = stack.pop()
        if item in index:
            continue
        index[item] = len(order)
        order.append(item)
        if not isinstance(item, Tensor):
            for child in reversed(item.next_functions):
                if child is not None and child not in index:
                    stack.append(child)
    return order, index


def named_tensors(params, op="draw_graph"):
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


def _output_meta(order, roots):
    """(shape, dtype) of each node's output: from a root, or from a consumer's input_meta."""
    meta = {}
    for root in roots:
        if root.grad_fn is not None:
            meta.setdefault(root.grad_fn, (root.data.shape, root.data.dtype))
    for item in order:
        if not isinstance(item, Tensor):
            for child, child_meta in zip(item.next_functions, item.input_meta or ()):
                if child_meta is _SAME:     # an elementwise op's input: the op's own shape and dtype
                    child_meta = meta.get(item)
                if child is not None and child_meta is not None and not isinstance(child, Tensor):
                    meta.setdefault(child, child_meta)
    return meta


def _values(order, given):
    """The value of each drawn tensor that the graph (or the caller) still holds."""
    values = {}
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
        saved, sources = item.saved, item.saved_sources
        if saved and sources:
            for array, source in zip(saved, sources):
                if source is _OUTPUT:
                    values.setdefault(item, array)
                elif isinstance(source, Tensor) and source.grad_fn is not None:
                    values.setdefault(source.grad_fn, source.data)
    return values


def _gradients(order, roots, given, meta):
    """Gradients of the roots for every drawn tensor; returns (grads, freed, failure)."""
    ops = [item for item in order if not isinstance(item, Tensor)]
    if any(op.freed for op in ops):
        grads = {}
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
    targets, inputs, placeholders = [], [], {}
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

def _fold(order, index, roots, max_nodes):
    """Choose the ops to draw when the whole graph has more than ``max_nodes`` nodes.

    Ops are ranked by their longest distance from the roots (the layers dot draws). Whole ranks
    are kept from both ends, the output end and the input end, while they fit; the band in the
    middle (the middle of a long chain, most blocks of a deep stack) is folded. Returns (kept ops,
    folded regions as lists of ops in traversal order, rank of each op or None).
    """
    ops = [item for item in order if not isinstance(item, Tensor)]
    leaves = len(order) - len(ops)
    if max_nodes is None or 2 * len(ops) + leaves <= max_nodes:
        return set(ops), [], None

    # longest-path rank from the roots: visit each op after all its consumers (Kahn's order)
    consumers = dict.fromkeys(ops, 0)
    for op in ops:
        for child in op.next_functions:
            if child is not None and not isinstance(child, Tensor):
                consumers[child] += 1
    ready = [op for op in ops if consumers[op] == 0]
    rank = dict.fromkeys(ops, 0)
    while ready:
        op = ready.pop()
        below = rank[op] + 1
        for child in op.next_functions:
            if child is not None and not isinstance(child, Tensor):
                if rank[child] < below:
                    rank[child] = below
                consumers[child] -= 1
                if consumers[child] == 0:
                    ready.append(child)
    deepest = max(rank.values())
    levels = {}
    for op in ops:
        levels.setdefault(min(rank[op], deepest - rank[op]), []).append(op)

    budget = max_nodes - 1
    kept, drawn_leaves, used = set(), set(), 0

    def cost_of(level_ops):
        new_leaves = {}
        for op in level_ops:
            for child in op.next_functions:
                if isinstance(child, Tensor) and child not in drawn_leaves:
                    new_leaves[id(child)] = child
        return 2 * len(level_ops) + len(new_leaves), new_leaves.values()

    starts = [root.grad_fn for root in roots if root.grad_fn is not None]
    cost, new_leaves = cost_of(list(dict.fromkeys(starts)))
    kept.update(starts)
    drawn_leaves.update(new_leaves)
    used += cost
    for level in sorted(levels):
        level_ops = [op for op in levels[level] if op not in kept]
        cost, new_leaves = cost_of(level_ops)
        if used + cost > budget:
            break
        kept.update(level_ops)
        drawn_leaves.update(new_leaves)
        used += cost

    # folded ops that touch each other form one region (union-find, iterative)
    parent = {op: op for op in ops if op not in kept}

    def find(op):
        while parent[op] is not op:
            parent[op] = parent[parent[op]]
            op = parent[op]
        return op

    for op in parent:
        for child in op.next_functions:
            if child is not None and child in parent:
                a, b = find(op), find(child)
                if a is not b:
                    if index[a] < index[b]:
                        parent[b] = a
                    else:
                        parent[a] = b
    regions = {}
    for op in sorted(parent, key=index.__getitem__):
        regions.setdefault(find(op), []).append(op)
    regions = list(regions.values())
    if len(regions) > _MAX_SUMMARIES:
        regions = [sorted((op for region in regions for op in region), key=index.__getitem__)]
    return kept, regions, rank


# ---- words and colours ----------------------------------------------------------------------------

def _html(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _number(x):
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.4g}"


def _describe(kind, array, summary_only=False):
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


def _mean_abs(grad):
    if grad.size == 1 and grad.dtype.kind == "f":
        return abs(float(grad.item()))      # the common case in long scalar chains, 20x faster
    if grad.size == 0 or grad.dtype.kind not in "fc":
        return None
    return float(np.mean(np.abs(grad.astype(np.float64))))


def _viridis(t):
    """Hex colour at ``t`` in [0, 1] on viridis (linear in RGB between the table's points)."""
    t = min(max(t, 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    frac = t - i
    lo, hi = _VIRIDIS[i], _VIRIDIS[i + 1]
    rgb = [round(int(lo[k:k + 2], 16) * (1 - frac) + int(hi[k:k + 2], 16) * frac) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


class _Scale:
    """Log-scale gradient colours spanning whole decades around the magnitudes drawn."""

    def __init__(self, magnitudes):
        logs = [math.log10(m) for m in magnitudes if m is not None and m > 0 and math.isfinite(m)]
        self.has_zero = any(m == 0 for m in magnitudes if m is not None)
        self.has_nonfinite = any(m is not None and not math.isfinite(m) for m in magnitudes)
        self.empty = not logs
        if logs:
            self.lo = math.floor(min(logs))
            self.hi = max(math.ceil(max(logs)), self.lo + 1)

    def color(self, magnitude):
        """(fill colour, font colour) for a mean |grad|."""
        if magnitude is None:
            return _PLAIN_COLOR, "black"
        if not math.isfinite(magnitude):
            return _NONFINITE_COLOR, "black"
        if magnitude == 0:
            return _ZERO_COLOR, "black"
        t = (math.log10(magnitude) - self.lo) / (self.hi - self.lo)
        return _viridis(t), ("white" if t < 0.55 else "black")

    def legend(self):
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


def _shape_text(shape, dtype):
    shape = tuple(shape)
    if not shape:
        return f"scalar {dtype}"
    return f"({', '.join(str(n) for n in shape)}) {dtype}"


def _tensor_label(title, italic, meta, value, grad, show_values, summary_only):
    lines = [f'<font point-size="12"><{"i" if italic else "b"}>{_html(title)}</{"i" if italic else "b"}></font>'
             if title else None]
    if meta is not None:
        lines.append(_html(_shape_text(*meta)))
    if show_values and value is not None:
        lines.extend(_html(line) for line in _describe("value", value, summary_only))
    if grad is not None:
        lines.extend(_html(line) for line in _describe("grad", grad, summary_only))
    # left-aligned lines, so that wrapped rows of numbers line up under each other
    return "<" + "".join(line + '<br align="left"/>' for line in lines if line is not None) + ">"


def _common_scope(scopes):
    """The deepest scope path shared by all ``scopes`` ('a.b' and 'a.c' share 'a'), or None."""
    common = None
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


def _region_label(region, rank, absorbed, magnitudes):
    counts = {}
    for op in region:
        counts[op.name] = counts.get(op.name, 0) + 1
    kinds = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{name} x{n:,}" for name, n in kinds[:4])
    if len(kinds) > 4:
        shown += f", {len(kinds) - 4} more kinds"
    lines = [f"... {len(region):,} ops ({shown}) ..."]
    scopes = []
    for op in sorted(region, key=lambda op: -rank[op]):     # in data-flow order: inputs first
        scope = op.scope
        if scope is not None and (not scopes or scopes[-1] != scope) and scope not in scopes:
            scopes.append(scope)
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

def draw_graph(*roots, params=None, show_values="auto", show_grads=True, rankdir="LR", max_nodes=500):
    """Draw the graph that computed ``roots`` as a ``graphviz.Digraph`` (DOT text in ``.source``).

    Tensors are boxes with a name (from ``params``: a Module, a mapping or (name, tensor) pairs,
    so parameters read ``0.weight``), shape, dtype, value and gradient; ops are ellipses named by
    their Function class. Edges follow the data: inputs -> op -> output. Parameters have a bold
    rounded border, inputs a dashed one, outputs a double one. A tensor's fill is its mean |grad|
    on viridis, log scale (legend at the bottom), so vanishing and exploding paths stand out. Ops
    made under ``ad.name_scope`` (every nn.Module call) are boxed by module, nested scopes nested.

    Arguments:
        roots: the tensor(s) to draw from, usually the loss.
        params: names for tensors; a Module (``named_parameters()``), a mapping, or pairs. Any
            tensor named here (an intermediate one too) also has its value shown.
        show_values: ``"auto"`` or True: tensors of up to 8 elements printed in full, larger ones
            summarized (norm, min, max); ``"summary"``: summaries only; False: no values.
        show_grads: gradients (as text and colour) of the roots' sum with respect to each tensor,
            computed with ``ad.grad`` while the graph is alive; after a backward that freed it,
            the surviving ``.grad`` only (see the caption).
        rankdir: graphviz's direction, "LR" (left to right) or "TB".
        max_nodes: beyond this many drawn nodes the middle of long chains and of repeated blocks
            is folded into summary nodes ("... 9,990 ops (Add x4,995, Mul x4,995) ..."). None: never.

    Rendering (``.render()``, ``.pipe()``, Jupyter) uses :func:`find_renderer`; ``.source`` never does.
    """
    graphviz = _import_graphviz()
    if len(roots) == 1 and isinstance(roots[0], (list, tuple)):
        roots = tuple(roots[0])
    if not roots:
        raise TypeError("draw_graph: pass the tensor(s) to draw, e.g. ad.draw_graph(loss)")
    unique_roots = []
    for root in roots:
        if not isinstance(root, Tensor):
            raise TypeError(f"draw_graph: expected Tensors, got {type(root).__name__}")
        if not any(root is seen for seen in unique_roots):
            unique_roots.append(root)
    roots = unique_roots
    if show_values not in ("auto", "summary", True, False):
        raise ValueError(f'draw_graph: show_values must be "auto", "summary", True or False, got {show_values!r}')
    summary_only = show_values == "summary"
    show_values = bool(show_values)

    named = named_tensors(params)
    order, index = _walk([root.grad_fn or root for root in roots])
    names = {}
    for name, tensor in named:
        item = tensor.grad_fn or tensor
        if item in index:
            names.setdefault(item, name)
    user_named = set(names)
    root_items = [root.grad_fn or root for root in roots]
    role_root = set(root_items)
    for i, item in enumerate(root_items):
        names.setdefault(item, "output" if len(roots) == 1 else f"output {i}")

    given = list(roots) + [tensor for _, tensor in named if (tensor.grad_fn or tensor) in index]
    meta = _output_meta(order, roots)
    values = _values(order, given) if show_values else {}
    grads, freed, failure = _gradients(order, roots, given, meta) if show_grads else ({}, False, None)
    magnitudes = {item: _mean_abs(g) for item, g in grads.items()}
    scale = _Scale(list(magnitudes.values()))

    kept, regions, rank = _fold(order, index, roots, max_nodes)
    region_of = {}
    for k, region in enumerate(regions):
        for op in region:
            region_of[op] = k
    consumers = {}      # leaf -> ops that use it, in traversal order
    for item in order:
        if not isinstance(item, Tensor):
            for child in item.next_functions:
                if child is not None and isinstance(child, Tensor):
                    users = consumers.setdefault(child, [])
                    if not users or users[-1] is not item:
                        users.append(item)
    drawn_leaves = [item for item in order if isinstance(item, Tensor)
                    and (item in role_root or any(op in kept for op in consumers.get(item, ())))]
    drawn_leaf_set = set(drawn_leaves)
    leaf_ids = {index[item] for item in drawn_leaves}
    absorbed = [0] * len(regions)
    for item in order:
        if isinstance(item, Tensor) and item not in drawn_leaf_set:
            absorbed[region_of[consumers[item][0]]] += 1

    def node_id(item):
        return f"t{index[item]}"

    picture = _picture_class(graphviz)(
        name="autodiff", graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "11",
                                     "nodesep": "0.2", "ranksep": "0.3", "labelloc": "b",
                                     "labeljust": "l"},
        node_attr={"fontname": "Helvetica", "fontsize": "10", "margin": "0.11,0.05"},
        edge_attr={"color": _LINE_COLOR, "arrowsize": "0.6"})

    # (scope, statement) pairs; statements go into the cluster of their scope
    statements = []

    def tensor_node(item, scope):
        name = names.get(item)
        is_leaf = isinstance(item, Tensor)
        if item in role_root:
            attrs = {"style": "filled", "peripheries": "2"}
        elif is_leaf and name is not None:
            attrs = {"style": "filled,rounded", "penwidth": "2"}
        elif is_leaf:
            attrs = {"style": "filled,dashed"}
            if name is None:
                name = "input" if params is not None else "leaf"
        else:
            attrs = {"style": "filled", "color": "#777777"}
        italic = item not in user_named
        fill, font = scale.color(magnitudes.get(item)) if show_grads else (_PLAIN_COLOR, "black")
        item_meta = (item.data.shape, item.data.dtype) if is_leaf else meta.get(item)
        label = _tensor_label(name, italic, item_meta, values.get(item), grads.get(item),
                              show_values, summary_only)
        statements.append((scope, ("node", node_id(item), dict(
            label=label, shape="box", fillcolor=fill, fontcolor=font, **attrs))))

    for item in drawn_leaves:
        scope = None
        if item in names and item not in role_root:
            scope = _common_scope([op.scope for op in consumers.get(item, ())])
        tensor_node(item, scope)
    for item in order:
        if not isinstance(item, Tensor) and item in kept:
            statements.append((item.scope, ("node", f"op{index[item]}", dict(
                label=graphviz.nohtml(item.name), shape="ellipse", style="filled",
                fillcolor=_OP_COLOR, fontsize="11", height="0.3"))))
            tensor_node(item, item.scope)
    for k, region in enumerate(regions):
        label = _region_label(region, rank, absorbed[k],
                              [magnitudes.get(op) for op in region] if show_grads else [])
        statements.append((_common_scope([op.scope for op in region]), ("node", f"s{k}", dict(
            label=graphviz.nohtml(label), shape="box", style="dashed,filled,rounded",
            fillcolor="#f4f4f4", fontsize="11"))))

    edges, seen_edges = [], set()
    scope_of_node = {node: scope for scope, (_, node, _) in statements}

    def source_of(child):
        if not isinstance(child, Tensor) and child not in kept:
            return f"s{region_of[child]}"
        return node_id(child)

    def add_edge(tail, head, dedupe, attrs=None):
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
            tails = [source_of(child) for child in item.next_functions if child is not None]
            # A parameter drawn in this op's box sits one rank above the op; an input arriving
            # from another box must come from further up, or dot sets the two boxes side by side
            # (they would share that rank) and the picture drifts sideways layer after layer.
            boxed_param = item.scope is not None and any(
                tail.startswith("t") and scope_of_node[tail] == item.scope and int(tail[1:]) in leaf_ids
                for tail in tails)
            for tail in tails:
                longer = boxed_param and scope_of_node.get(tail) != item.scope
                add_edge(tail, head, tail.startswith("s"), {"minlen": "2"} if longer else None)
            add_edge(head, node_id(item), False)
        else:
            head = f"s{region_of[item]}"
            for child in item.next_functions:
                if child is not None and (isinstance(child, Tensor) and child in drawn_leaf_set
                                          or not isinstance(child, Tensor) and child in kept):
                    add_edge(node_id(child), head, True)

    _emit(graphviz, picture, statements)
    for tail, head, attrs in edges:
        picture.edge(tail, head, **attrs)

    caption = []
    if show_grads:
        if failure is not None:
            caption.append(f"gradients not shown: ad.grad failed on this graph ({failure})")
        elif freed:
            caption.append("The graph was freed by backward(): only gradients that survive it are "
                           "shown (leaves' .grad, retain_grad() tensors).")
            caption.append("Draw before backward(), or call backward(retain_graph=True), to see the "
                           "gradient of every tensor.")
        elif grads:
            of = (names[root_items[0]] if len(roots) == 1 and roots[0].data.size == 1
                  else "sum(" + " + ".join(names[item] for item in root_items) + ")")
            caption.append(f"grad: d {of} / d tensor, computed with ad.grad on the live graph")
    if regions:
        folded = sum(len(region) for region in regions)
        total = sum(1 for item in order if not isinstance(item, Tensor))
        caption.append(f"{folded:,} of {total:,} ops folded into {len(regions)} summary "
                       f"node{'s' if len(regions) != 1 else ''} (max_nodes={max_nodes})")
    legend = scale.legend() if show_grads else ""
    if legend or caption:
        rows = [legend] if legend else []
        rows += [f'<tr><td align="left" border="0">{_html(line)}</td></tr>' for line in caption]
        picture.attr(label='<<table border="0" cellspacing="2" cellpadding="1">' + "".join(rows) + "</table>>")
    return picture


def _emit(graphviz, picture, statements):
    """Write node statements, nesting a cluster per scope path ('a.b' inside 'a'); iterative."""
    clusters = {}       # scope path -> Digraph, created in first-use order
    order = {}
    for scope, _ in statements:
        if scope is None:
            continue
        parts = scope.split(".")
        for n in range(1, len(parts) + 1):
            path = ".".join(parts[:n])
            if path not in clusters:
                clusters[path] = graphviz.Digraph(name=f"cluster_{path}", graph_attr={
                    "label": graphviz.nohtml(path), "style": "rounded,dashed", "color": "#888888",
                    "fontcolor": "#444444", "fontsize": "11", "labeljust": "l", "labelloc": "t"})
                order[path] = len(order)
    for scope, (_, node, attrs) in statements:
        (picture if scope is None else clusters[scope]).node(node, **attrs)
    # children before parents, so a parent copies finished children
    for path in sorted(order, key=lambda p: (-p.count("."), order[p])):
        parent = path.rsplit(".", 1)[0] if "." in path else None
        (picture if parent is None else clusters[parent]).subgraph(clusters[path])
