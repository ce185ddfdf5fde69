"""Backprop: an iterative walk of the graph in reverse topological order.

The idea, in the 15 lines of ``reference_backward`` below: order the nodes so that every node
comes after all the nodes that consume its output, then walk them in that order, each handing
``node.backward(grad)`` (the chain rule: the gradient of its output times its local derivative)
to its inputs, where gradients that meet are summed. Everything after it in this file is that
walk made fast and careful:

- Nodes are ``Function`` instances; an edge points from a node to each input's node, or to the
  input tensor itself when that input is a leaf that requires grad. Gradients of a broadcast
  input are summed back to its shape, and cast to its dtype, in one place: ``_fit``.
- Two walks. ``_run_plain``, for an ordinary ``loss.backward()``, knows that a node is ready from
  the consumers counted as the graph was built (``node.uses``), so it needs no counting pass, and
  it follows a chain of single-input elementwise nodes straight on (``node._straight``).
  ``_run_counting`` counts the consumers first and serves everything else: create_graph,
  ``ad.grad``, anomaly mode, and nodes that wait for a consumer outside the backward.
- Either way ``.grad`` is written only once the walk has gone through (``_deliver_leaves``), so
  a backward that fails half way changes no gradient; and a node's saved values are freed as
  the walk leaves it (``_free``) unless ``retain_graph``.
"""
from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from . import grad_mode
from .function import _OUTPUT, _SAME, Function, _new_tensor
from .grad_mode import state
from .tensor import Tensor, _wrap, inplace_epoch

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["backward", "grad", "unbroadcast", "reference_backward"]

_G = TypeVar("_G", np.ndarray, Tensor)
# A gradient on its way through a walk: an ndarray, or a Tensor under create_graph=True. (Any, as
# Tensor's arithmetic is not declared in its class body yet.)
_Gradient = Any
# An entry of node.input_meta: (shape, dtype), function._SAME, or None (an input without a
# gradient). (Any: a test `meta is _SAME` cannot narrow it.)
_InputMeta = Any

def reference_backward(root: Tensor) -> dict[Tensor, np.ndarray]:
    """d(root)/d(leaf) for every leaf that requires grad, as {leaf: array}: the textbook walk.

    A plain restatement of what ``backward`` computes, without its speed or its checks; the tests
    compare the two. It leaves the graph and every ``.grad`` as they were."""
    order: list[Function] = []
    seen: set[Function] = set()
    stack: list[tuple[Function, bool]] = [(root.grad_fn, False)]  # type: ignore[list-item]  # (root has a node)
    while stack:                        # topological order: every node after its inputs
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((n, False) for n in node.input_nodes if isinstance(n, Function))
    grads: dict[Function, np.ndarray] = {root.grad_fn: np.ones_like(root.data)}  # type: ignore[dict-item]  # (as above)
    leaves: dict[Tensor, np.ndarray] = {}
    for node in reversed(order):        # the chain rule, consumers before their inputs
        output_grad = grads.pop(node)
        input_grads = node.backward(node, output_grad)
        input_grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
        for nxt, meta, g in zip(node.input_nodes, node.input_meta, input_grads):
            if nxt is not None and g is not None:
                g = unbroadcast(np.asarray(g), output_grad.shape if meta is _SAME else meta[0])
                total: dict[Any, np.ndarray] = grads if isinstance(nxt, Function) else leaves
                total[nxt] = total[nxt] + g if nxt in total else g
    return leaves


def unbroadcast(grad: _G, shape: tuple[int, ...]) -> _G:
    """Sum ``grad`` over the axes along which an input of ``shape`` was broadcast: the leading
    axes it lacked and the axes where it had size 1. Works on arrays and Tensors alike."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape) if extra or grad.shape != shape else grad


def _fit(grad: _G, meta: tuple[tuple[int, ...], np.dtype], node: Function) -> _G:
    """Give ``grad`` the input's shape (un-broadcasting) and dtype (``meta``, an entry of
    ``node.input_meta``), or say which op got it wrong."""
    shape, dtype = meta
    if grad.shape != shape:
        if grad.ndim < len(shape) or any(
                g != n and n != 1 for g, n in zip(grad.shape[grad.ndim - len(shape):], shape)):
            index = next(i for i, m in enumerate(node.input_meta) if m is meta)
            raise RuntimeError(
                f"{type(node).__name__}.backward returned a gradient of shape {grad.shape} for input "
                f"{index}, whose shape is {shape}; it must have the input's shape (or one that "
                "broadcasts from it)")
        grad = unbroadcast(grad, shape)
    if grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def _broken_promise(node: Function, grad: _Gradient, expected: _Gradient) -> RuntimeError:
    """The error for an elementwise op (``Elementwise``) whose backward returned a gradient that is
    not of its output's shape and dtype (those of ``expected``, the output's gradient)."""
    return RuntimeError(
        f"{type(node).__name__}.backward returned a gradient of shape {tuple(grad.shape)} and dtype "
        f"{grad.dtype} for an input, but {type(node).__name__} is elementwise (an Elementwise "
        f"subclass, or same_shape = True): its gradients must have the output's shape "
        f"{tuple(expected.shape)} and dtype {expected.dtype}. Fix the backward, or do not declare "
        "the op elementwise (then the engine sums a broadcast gradient back itself)")


def _input_gradient(gi: Any, meta: _InputMeta, node: Function, g: _Gradient,
                    create_graph: bool = False) -> _Gradient:
    """What a backward returned for one input, made ready to route: an array (a Tensor under
    create_graph) of the input's shape and dtype. ``g`` is the node's incoming gradient (the
    output's shape and dtype, which an elementwise op's gradients must have)."""
    if type(gi) is not np.ndarray:
        gi = _normalize(gi, create_graph, node)
    if meta is _SAME:
        if gi.shape != g.shape or gi.dtype != g.dtype:
            raise _broken_promise(node, gi, g)
    elif (gi.shape, gi.dtype) != meta:
        gi = _fit(gi, meta, node)
    return gi


def _normalize(grad: object, create_graph: bool, node: Function) -> _Gradient:
    """Accept what a backward returned: arrays, numbers, or Tensors (under create_graph)."""
    if create_graph:
        if isinstance(grad, Tensor):
            return grad
        return _wrap(np.asarray(grad))
    if isinstance(grad, Tensor):
        return grad.data
    if isinstance(grad, (np.generic, int, float)):
        return np.asarray(grad)
    raise TypeError(f"{type(node).__name__}.backward returned a {type(grad).__name__}; "
                    "return arrays (or Tensors), one per input, None where there is no gradient")


def _as_tuple(input_grads: object, node: Function) -> tuple[Any, ...]:
    """backward's result as one gradient per input (None for the inputs it left out)."""
    if type(input_grads) is not tuple:
        input_grads = tuple(input_grads) if isinstance(input_grads, list) else (input_grads,)
    if len(input_grads) < len(node.input_meta):
        edges = node.input_nodes
        if any(f is not None for f in edges[len(input_grads):]):
            raise RuntimeError(
                f"{type(node).__name__}.backward returned {len(input_grads)} gradient(s) but its "
                f"forward had {len(edges)} input(s); return one per input (None where an input "
                "needs no gradient)")
        input_grads += (None,) * (len(edges) - len(input_grads))
    return input_grads


def _free(node: Function) -> None:
    """Release what ``node`` saved for its backward (a backward without retain_graph). Its epoch
    becomes _FREED, earlier than any, so that the walk's in-place check finds it (and raises)."""
    node.saved_tensors = node.saved_sources = None
    node.epoch = _FREED


def _own(gi: np.ndarray, incoming: object, siblings: Sequence[object],
         saved: Sequence[object] | None) -> np.ndarray:
    """``gi`` (a gradient on its way to a leaf), or a copy of it when the array is also held
    elsewhere: the node's incoming gradient passed through, a view, another input's gradient or
    a saved array. A leaf may keep it as its ``.grad`` and accumulate into it in place."""
    if gi is incoming or gi.base is not None or _held_elsewhere(gi, siblings, saved or ()):
        return gi.copy()
    return gi


class _Waiting:
    """A node's gradient summed so far, and how many of its consumers have delivered theirs."""

    __slots__ = ("grad", "delivered")

    def __init__(self, grad: np.ndarray | None) -> None:
        self.grad, self.delivered = grad, 1


_FREED = -1     # the epoch of a freed node

# Above this many nodes, the counting walk turns the cyclic collector off while it runs: a
# backward makes no reference cycles, but the collector would walk the whole (live) graph again
# and again.
_GC_OFF_ABOVE_NODES = 10_000

_FREED_MESSAGE = (
    "trying to backward through the graph a second time (or to use a tensor's graph after its "
    "saved values were freed by backward). Pass retain_graph=True to the first backward() or "
    "ad.grad() if you need to go through the graph again.")


def _run(roots: Sequence[Tensor], root_grads: Sequence[_Gradient], retain_graph: bool, create_graph: bool,
         capture: dict[Function | Tensor, int] | None = None) -> list[_Gradient] | None:
    """Propagate ``root_grads`` from ``roots`` (tensors) to the leaves.

    Without ``capture`` the leaves' ``.grad`` accumulate. With ``capture`` (a dict from a leaf
    tensor or a node to a slot index) gradients go into the returned list instead and no ``.grad``
    is touched.
    """
    captured = None if capture is None else [None] * (max(capture.values()) + 1 if capture else 0)
    anomaly = state.mode.anomaly
    if anomaly:
        from . import anomaly as anomaly_checks
        for root in roots:
            anomaly_checks.check_root(root)
    grads: dict[Function, _Gradient] = {}     # node -> gradient of its output, summed over its consumers
    leaves: list[tuple[Tensor, _Gradient]] = []     # (leaf, gradient) pairs, delivered once the walk is through
    for root, g in zip(roots, root_grads):
        node = root.grad_fn
        if node is None:        # a leaf was asked to backward
            leaves.append((root, g if isinstance(g, Tensor) else g.copy()))
        elif node in grads:
            grads[node] = grads[node] + g
        else:
            grads[node] = g
    if capture is None and not create_graph and not anomaly and grads:
        _walk(grads, retain_graph, leaves)
        return captured
    return _run_counting(grads, leaves, [], retain_graph, create_graph, capture, captured,
                         anomaly_checks if anomaly else None)


def _walk(grads: dict[Function, np.ndarray | None], retain_graph: bool,
          leaves: list[tuple[Tensor, np.ndarray]]) -> None:
    """An ordinary backward from ``grads`` (node -> gradient): the plain walk with grad mode off,
    then the counting walk for whatever it left, or else the leaves' gradients."""
    previous = grad_mode.suspend()
    try:
        grads, retained = _run_plain(grads, retain_graph, leaves)
    finally:
        grad_mode.restore(previous)
    if grads:
        _run_counting(grads, leaves, retained, retain_graph)
    else:
        _deliver_leaves(leaves, retained)


def _run_counting(grads: dict[Function, _Gradient], leaves: list[tuple[Tensor, _Gradient]],
                  retained: list[tuple[Function, _Gradient]], retain_graph: bool, create_graph: bool = False,
                  capture: dict[Function | Tensor, int] | None = None, captured: list[_Gradient] | None = None,
                  anomaly_checks: ModuleType | None = None) -> list[_Gradient] | None:
    """The general walk from the nodes in ``grads`` (node -> gradient), after counting each node's
    consumers inside the graph: create_graph, ad.grad's capture, anomaly mode, and whatever an
    ordinary walk (``_run_plain``) left. Returns ``captured``."""
    start = list(grads)
    pending = _count_consumers(start)       # node -> consumers whose gradient has not come yet
    consumers: dict[Function, list[Function]] | None = {} if anomaly_checks is not None else None
    # ready: (node, gradient) pairs whose consumers are all done; grads holds partial sums only
    ready = [(node, grads.pop(node)) for node in start if node not in pending]
    previous = grad_mode.set_enabled(create_graph)
    turn_gc_off = len(pending) > _GC_OFF_ABOVE_NODES and gc.isenabled()
    if turn_gc_off:
        gc.disable()
    try:
        while ready:
            node, g = ready.pop()
            edges = node.input_nodes
            saved = node.saved_tensors
            if g is None:
                input_grads = (None,) * len(edges)
            else:
                input_grads = _call_backward(node, g, create_graph, capture, captured, retained)
                if anomaly_checks is not None:
                    anomaly_checks.check_gradients(node, g, input_grads, consumers)
                    for nxt in edges:
                        if nxt is not None and not isinstance(nxt, Tensor):
                            # (consumers is a dict whenever anomaly_checks is given)
                            consumers.setdefault(nxt, []).append(node)  # type: ignore[union-attr]
            if not retain_graph:
                _free(node)
            for nxt, gi, meta in zip(edges, input_grads, node.input_meta):
                if nxt is None:
                    continue
                if gi is not None:
                    gi = _input_gradient(gi, meta, node, g, create_graph)
                if isinstance(nxt, Tensor):
                    if gi is not None:
                        leaves.append((nxt, gi if create_graph else _own(gi, g, input_grads, saved)))
                    continue
                count = pending[nxt] - 1
                if count:
                    pending[nxt] = count
                    if gi is not None:
                        previous_sum = grads.get(nxt)
                        grads[nxt] = gi if previous_sum is None else _sum(previous_sum, gi)
                else:       # the last consumer: nxt is ready (its stale count of 0 is never read)
                    previous_sum = grads.pop(nxt, None)
                    if previous_sum is not None:
                        gi = previous_sum if gi is None else _sum(previous_sum, gi)
                    ready.append((nxt, gi))
        _deliver_leaves(leaves, retained, create_graph, capture, captured)
    finally:
        grad_mode.restore(previous)
        if turn_gc_off:
            gc.enable()
    return captured


def _count_consumers(start: list[Function]) -> dict[Function, int]:
    """For every node reachable from ``start``: how many nodes of this graph consume it."""
    pending: dict[Function, int] = {}
    seen = set(start)       # a start node may also be reached from another one: walk it once
    stack = list(start)
    while stack:
        node = stack.pop()
        if node.saved_tensors is None:
            raise RuntimeError(f"{node.name}: " + _FREED_MESSAGE)
        for nxt in node.input_nodes:
            if nxt is not None and not isinstance(nxt, Tensor):
                pending[nxt] = pending.get(nxt, 0) + 1
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
    return pending


def _call_backward(node: Function, g: _Gradient, create_graph: bool,
                   capture: dict[Function | Tensor, int] | None, captured: list[_Gradient] | None,
                   retained: list[tuple[Function, _Gradient]]) -> tuple[Any, ...]:
    """The counting walk's call of ``node.backward`` on its incoming gradient ``g``, with the
    checks and extras around it; returns one gradient per input."""
    if node.epoch < inplace_epoch[0]:   # an in-place op came after the node saved tensors
        _check_versions(node)
    if node.special or capture is not None:
        g = _node_extras(node, g, create_graph, capture, captured, retained)
    saved = node.saved_tensors
    if create_graph and saved:
        node.saved_tensors = node.unpack_saved()
        try:
            return _as_tuple(node.backward(node, g), node)
        finally:
            node.saved_tensors = saved
    return _as_tuple(node.backward(node, g), node)


def _sum(a: _Gradient, b: _Gradient) -> _Gradient:
    """a + b for two gradients (numpy makes a scalar of two 0-d arrays: keep an array)."""
    total = a + b
    return total if type(total) is np.ndarray or isinstance(total, Tensor) else np.asarray(total)


def _run_plain(grads: dict[Function, np.ndarray | None], retain_graph: bool,
               leaves: list[tuple[Tensor, np.ndarray]],
               ) -> tuple[dict[Function, np.ndarray | None], list[tuple[Function, np.ndarray]]]:
    """The ordinary backward (no create_graph, no ad.grad capture, no anomaly mode), lean.

    A node is ready when its gradient has come from all of its consumers, counted in forward
    (``node.uses``), so no counting pass is needed. A node that waits for a consumer outside this
    backward (an output never used, or used by another loss) is left in the returned dict with its
    partial gradient, and the counting walk finishes from there. Gradients of leaves go to
    ``leaves`` (and retain_grad's to the returned list), to be delivered once no node can fail.

    A chain of single-input elementwise nodes, each its input's only consumer (activations), is
    walked straight through, without the edge loop: a "run". Its nodes all have one shape and
    dtype, so the gradient that leaves a run must have those of the gradient that entered it;
    ``_end_run`` checks that (the Elementwise promise, once per run instead of once per node),
    then frees the run's nodes.
    """
    ready = []
    waiting: dict[Function, _Waiting] = {}     # node -> its gradient so far, from some of its consumers
    node: Function | None
    for node, g in grads.items():
        if node.uses:       # a root that other nodes consume: let the counting walk do it all
            return grads, []
        ready.append((node, g))
    retained: list[tuple[Function, np.ndarray]] = []
    ndarray = np.ndarray
    run = None              # the nodes of the current run, after run_grad, the gradient entering it
    node, g = ready.pop()
    epoch = inplace_epoch[0]    # read again after any code but a built-in op's backward ran
    while node is not None:
        if node.epoch < epoch:      # an in-place op came after the node saved tensors (or freed)
            _check_versions(node)
        following = node._straight
        if following is not None and g is not None:
            try:
                input_grads = node.backward(node, g)
            except Exception:
                if run is not None:     # a gradient of the wrong shape may be the cause: say so
                    _end_run(run, run_grad, None, True)
                raise
            gi = input_grads[0] if type(input_grads) is tuple else input_grads
            if type(gi) is ndarray and following.uses == 1:    # straight on
                if run is None:
                    run = [node]
                    run_grad = g
                else:
                    run.append(node)
                node, g = following, gi
                continue
            input_grads = _as_tuple(input_grads, node)
            if run is not None:
                run = _end_run(run, run_grad, g, retain_graph)
        else:
            if run is not None:
                run = _end_run(run, run_grad, g, retain_graph)
            if g is None:
                input_grads = (None,) * len(node.input_meta)
            else:
                if node.special:
                    g = _node_extras(node, g, False, None, None, retained)
                input_grads = node.backward(node, g)
                if type(input_grads) is not tuple or len(input_grads) < len(node.input_meta):
                    input_grads = _as_tuple(input_grads, node)
                epoch = inplace_epoch[0]    # (a user's backward may change a tensor in place)
        saved = node.saved_tensors
        if not retain_graph:        # _free(node), inline: every node of a plain walk but runs' ends here
            node.saved_tensors = node.saved_sources = None
            node.epoch = _FREED
        following = None    # a ready input node, walked next without going through the list
        edges = node._edges
        for nxt, gi, meta in zip(node.input_nodes if edges is None else edges, input_grads, node.input_meta):
            if nxt is None:
                continue
            if gi is not None and (type(gi) is not ndarray or meta is _SAME or (gi.shape, gi.dtype) != meta):
                gi = _input_gradient(gi, meta, node, g)
            if isinstance(nxt, Tensor):
                if gi is not None:
                    leaves.append((nxt, gi if node.fresh_grads else _own(gi, g, input_grads, saved)))
                continue
            uses = nxt.uses
            if uses != 1:
                entry = waiting.get(nxt)
                if entry is None:
                    waiting[nxt] = _Waiting(gi)
                    continue
                if gi is not None:
                    entry.grad = gi if entry.grad is None else _sum(entry.grad, gi)
                entry.delivered += 1
                if entry.delivered != uses:
                    continue
                del waiting[nxt]
                gi = entry.grad
            if following is None:
                following, following_grad = nxt, gi
            else:
                ready.append((nxt, gi))
        if following is not None:
            node, g = following, following_grad
        elif ready:
            node, g = ready.pop()
        else:
            node = None
    if waiting:
        return {node: entry.grad for node, entry in waiting.items()}, retained
    return waiting, retained    # type: ignore[return-value]  # (empty)


def _end_run(run: list[Function], entering: np.ndarray, leaving: np.ndarray | None,
             retain_graph: bool) -> list[Function] | None:
    """The end of a run of elementwise nodes (see ``_run_plain``): check that the gradient
    ``leaving`` it (None: unknown, check every node) has the shape and dtype of the one
    ``entering`` it, then free its nodes. Returns None (no run any more).

    Checked once per run, a gradient of the wrong shape that numpy broadcasts back to the right
    one inside the run (a backward returning ``g.sum()``) goes unnoticed; every other broken
    promise raises, naming the node."""
    if leaving is None or leaving.shape != entering.shape or leaving.dtype != entering.dtype:
        g = entering        # find the node that broke the promise: walk the run again
        for node in run:
            gi = node.backward(node, g)
            gi = gi[0] if type(gi) is tuple else gi
            if gi.shape != g.shape or gi.dtype != g.dtype:
                raise _broken_promise(node, gi, g)
            g = gi
    if not retain_graph:
        for node in run:            # _free(node), inline
            node.saved_tensors = node.saved_sources = None
            node.epoch = _FREED
    return None


def _deliver_leaves(leaves: list[tuple[Tensor, _Gradient]], retained: list[tuple[Function, _Gradient]],
                    create_graph: bool = False, capture: dict[Function | Tensor, int] | None = None,
                    captured: list[_Gradient] | None = None) -> None:
    """Hand out the gradients collected by a walk that went through (``leaves``: (leaf, gradient)
    pairs, each gradient an array of the leaf's own): retain_grad's, then the leaves'. A leaf with
    hooks gets its gradients summed first, so its hooks see the total (PyTorch); the others
    accumulate them one by one. The leaves' hooks (user code, which may fail) run before any
    gradient is handed out, so a backward that fails changes no ``.grad``."""
    hooked: dict[Tensor, _Gradient] | None = None
    for leaf, gi in leaves:
        if leaf._hooks:
            if hooked is None:
                hooked = {}
            total = hooked.get(leaf)
            hooked[leaf] = gi if total is None else _sum(total, gi)
    if hooked:
        for leaf, gi in hooked.items():
            gi = _run_hooks(leaf._hooks, gi)  # type: ignore[arg-type]  # (hooked: it has hooks)
            # the hook saw (or returned) this array: .grad gets its own
            hooked[leaf] = gi if create_graph else gi.copy()
    for node, g in retained:
        _retain(node, g, create_graph)
    plain = capture is None and not create_graph
    for leaf, gi in leaves:
        if leaf._hooks:
            continue
        if plain and leaf._grad is None:     # _deliver_leaf's first case, inline (the usual one)
            grad = _new_tensor(Tensor)      # _wrap(gi), inline
            grad._array = gi
            grad._grad = grad.grad_fn = grad._hooks = grad._counter = None
            grad._requires_grad = False
            leaf._grad = grad
        else:
            _deliver_leaf(leaf, gi, create_graph, capture, captured)
    if hooked:
        for leaf, gi in hooked.items():
            _deliver_leaf(leaf, gi, create_graph, capture, captured)


def _deliver_leaf(leaf: Tensor, gi: _Gradient, create_graph: bool, capture: dict[Function | Tensor, int] | None,
                  captured: list[_Gradient] | None) -> None:
    """Hand a gradient to a leaf: into ``captured`` for ad.grad, else accumulate into ``.grad``
    (written as ``_grad``: the engine's gradients have the leaf's shape and dtype, which the
    ``.grad`` setter checks of a user's)."""
    if capture is not None:
        slot = capture.get(leaf)
        if slot is not None:
            _capture(captured, slot, gi)  # type: ignore[arg-type]  # (a list when capture is given)
        return
    existing = leaf._grad
    if create_graph:
        if not isinstance(gi, Tensor):
            gi = _wrap(gi)
        leaf._grad = gi if existing is None else existing + gi
        return
    if existing is None:
        leaf._grad = _wrap(gi)
    elif existing.grad_fn is not None or existing._requires_grad or not existing.data.flags.writeable:
        leaf._grad = _wrap(existing.data + gi)
    else:
        np.add(existing.data, gi, out=existing.data)


def _check_versions(node: Function) -> None:
    """Fail if the node's saved values were freed by an earlier backward, or if a tensor it saved
    was changed in place after the node was made."""
    if node.saved_tensors is None:
        raise RuntimeError(f"{node.name}: " + _FREED_MESSAGE)
    if node.saved_sources is None:
        return
    for i, source in enumerate(node.saved_sources):
        if source is None:
            continue
        counter = node.output_version if source is _OUTPUT else source._counter
        if counter is None or counter.epoch <= node.epoch:
            continue
        array = node.saved_tensors[i]
        what = "its own output" if source is _OUTPUT else (
            f"{'a leaf' if source.grad_fn is None else 'a'} tensor of shape {array.shape} ({array.dtype})")
        writer = f" by {counter.writer}" if counter.writer else (
            " (run under ad.detect_anomaly() to see the line that changed it)")
        site = node.creation_site()
        made = f" (created at {site})" if site else ""
        raise RuntimeError(
            f"backward: {node.name}{made} saved {what} for its backward, but it was changed in place "
            f"afterwards{writer}; it is now at version {counter.version}. Use an out-of-place op (y = y + 1 "
            "instead of y += 1), or change it only after backward (e.g. call optimizer.step() after "
            "loss.backward(), not between the forward and the backward)")


def _node_extras(node: Function, g: _Gradient, create_graph: bool, capture: dict[Function | Tensor, int] | None,
                 captured: list[_Gradient] | None, retained: list[tuple[Function, _Gradient]]) -> _Gradient:
    """The rare per-node work: tensor hooks, retain_grad (into ``retained``, handed out when the
    walk is through), and capture for ad.grad."""
    if node.hooks:
        g = _run_hooks(node.hooks, g)
    if node.retained is not None and capture is None:     # ad.grad leaves every .grad alone
        retained.append((node, g))
    if capture is not None and node in capture:
        _capture(captured, capture[node], g)  # type: ignore[arg-type]  # (a list when capture is given)
    return g


def _run_hooks(hooks: list[Callable[[Tensor], Any]], g: _Gradient) -> _Gradient:
    for hook in list(hooks):
        result = hook(g if isinstance(g, Tensor) else _wrap(g))
        if result is not None:
            new: _Gradient
            if isinstance(g, Tensor):
                new = result if isinstance(result, Tensor) else _wrap(np.asarray(result))
            else:
                new = np.asarray(result.data if isinstance(result, Tensor) else result)
            if new.shape != g.shape:
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} returned a gradient of shape "
                                   f"{tuple(new.shape)} for a tensor of shape {tuple(g.shape)}; "
                                   "a hook must return a gradient of the same shape (or None)")
            g = new if new.dtype == g.dtype else new.astype(g.dtype)
    return g


def _retain(node: Function, g: _Gradient, create_graph: bool) -> None:
    tensor = node.retained()  # type: ignore[misc]  # (a weakref here; function.py types it as None)
    if tensor is None:
        return
    if not create_graph:
        g = _wrap(g.copy())
    tensor._grad = g if tensor._grad is None else tensor._grad + g


def _capture(captured: list[_Gradient], slot: int, g: _Gradient) -> None:
    captured[slot] = g if captured[slot] is None else captured[slot] + g


def _held_elsewhere(array: np.ndarray, siblings: Iterable[object], saved: Iterable[object]) -> bool:
    """Is ``array`` another input's gradient too, or one of the node's saved arrays?"""
    seen = False
    for x in siblings:
        if x is array:
            if seen:
                return True
            seen = True
    for x in saved:
        if x is array:
            return True
    return False


def _as_root_grad(root: Tensor, gradient: Tensor | ArrayLike | None, create_graph: bool, op: str) -> _Gradient:
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for a one-element output, but this one has "
                f"shape {root.data.shape}; reduce it first (e.g. loss.sum() or loss.mean()) or pass "
                "gradient= with the output's shape")
        g = np.array(1, root.data.dtype)      # np.ones costs four times as much
        if root.data.ndim:
            g = g.reshape(root.data.shape)
    else:
        dtype = root.data.dtype
        g = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient, dtype=dtype)
        if g.shape != root.data.shape:
            raise RuntimeError(f"{op}: gradient has shape {g.shape} but the output has shape "
                               f"{root.data.shape}; they must match")
        if create_graph and isinstance(gradient, Tensor):
            return gradient if gradient.dtype == dtype else gradient.astype(dtype)
        if g.dtype != dtype:        # every gradient has its tensor's dtype, the roots' too
            g = g.astype(dtype)
    return _wrap(g) if create_graph else g


def _check_roots(tensors: Tensor | Iterable[Tensor], op: str) -> tuple[Tensor, ...]:
    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError(
                f"{op}: a tensor that does not require grad has no graph to differentiate; "
                "make its inputs with requires_grad=True (and compute it outside ad.no_grad())")
    return tensors


def backward(tensors: Tensor | Sequence[Tensor],
             grad_tensors: Tensor | np.ndarray | Sequence[Tensor | ArrayLike | None] | None = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Tensor | Sequence[Tensor] | None = None) -> None:
    """Accumulate the gradients of ``tensors`` (weighted by ``grad_tensors``) into the leaves' ``.grad``.

    With ``inputs``, only those tensors' ``.grad`` are accumulated. The graph is freed afterwards
    unless ``retain_graph`` (default: ``create_graph``).
    """
    tensors = _check_roots(tensors, "backward")
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    elif isinstance(grad_tensors, (Tensor, np.ndarray)):
        grad_tensors = (grad_tensors,)
    root_grads = []
    for t, g in zip(tensors, grad_tensors):
        root_grads.append(_as_root_grad(t, g, create_graph, "backward"))
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        _run(tensors, root_grads, retain_graph, create_graph)
        return
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    results = grad(tensors, inputs, root_grads, retain_graph, create_graph, allow_unused=True)
    for t, g in zip(inputs, results):
        if g is not None:
            t._grad = g if t._grad is None else t._grad + g


def backward_of_loss(root: Tensor, retain_graph: bool | None) -> None:
    """``loss.backward()``, backward's usual call: a one-element tensor on a graph, gradient 1,
    no create_graph, no inputs; without the general argument handling."""
    data = root.data
    g = np.array(1, data.dtype)      # np.ones costs four times as much
    if data.ndim:
        g = g.reshape(data.shape)
    retain_graph = bool(retain_graph)
    if state.mode.anomaly:
        _run((root,), (g,), retain_graph, False)
        return
    _walk({root.grad_fn: g}, retain_graph, [])  # type: ignore[dict-item]  # _run's plain case, without its set-up


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | np.ndarray | Sequence[Tensor | ArrayLike | None] | None = None,
         retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple; ``.grad`` is untouched.

    ``grad_outputs`` weights each output (required for outputs with more than one element). With
    ``create_graph=True`` the results are on the graph, so they can be differentiated again.

    >>> import autodiff as ad
    >>> x = ad.tensor(3.0, dtype="float64", requires_grad=True)
    >>> (dx,) = ad.grad(x ** 3, x, create_graph=True)
    >>> dx.item(), ad.grad(dx, x)[0].item()
    (27.0, 18.0)
    """
    outputs = _check_roots(outputs, "grad")
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)  # type: ignore[assignment]  # (single: a Tensor)
    for t in inputs:
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError("grad: every input must be a Tensor that requires grad")
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    root_grads = [_as_root_grad(t, g, create_graph, "grad") for t, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    capture: dict[Function | Tensor, int] = {}
    for i, t in enumerate(inputs):
        capture.setdefault(t if t.grad_fn is None else t.grad_fn, i)
    captured = _run(outputs, root_grads, retain_graph, create_graph, capture)
    results: list[Tensor | None] = []
    handed_out = {id(r) for r in root_grads}
    for i, t in enumerate(inputs):
        g = captured[capture[t if t.grad_fn is None else t.grad_fn]]  # type: ignore[index]  # (capture given)
        if g is not None and not isinstance(g, Tensor):
            if g.base is not None or id(g) in handed_out:
                g = g.copy()    # never hand out an array the caller or another result holds
            handed_out.add(id(g))
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {t.shape}) was not used to compute the outputs; pass "
                    "allow_unused=True to get None for it")
            results.append(None)
        elif isinstance(g, Tensor):
            results.append(g)
        else:
            results.append(_wrap(g))
    return tuple(results)
