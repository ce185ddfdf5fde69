"""Backprop: an iterative walk of the graph in reverse topological order.

Nodes are ``Function`` instances; an edge points from a node to each input's node, or to the input
tensor itself when that input is a leaf that requires grad. Gradients of a broadcast input are
summed back to its shape, and cast to its dtype, in one place: ``_fit`` (built-in elementwise
ops next to a number skip it: their gradient has the input's shape and dtype already).

Two walks: ``_run_plain`` for an ordinary backward, which knows a node is ready from the
consumers counted in forward (``node.uses``), and the counting walk of ``_run`` for everything
else (create_graph, ad.grad, anomaly mode, and nodes that wait for a consumer outside the
backward). Either way ``.grad`` is written only once the walk has gone through, so a backward
that fails half way changes no gradient. In the plain walk, a chain of single-input elementwise
nodes is followed straight on (``node._straight``: no edge loop, no fitting).
"""
import gc

import numpy as np

from .function import _OUTPUT, _SAME, _new_tensor
from .grad_mode import state
from .tensor import Tensor, _wrap, inplace_epoch

__all__ = ["backward", "grad", "unbroadcast"]


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes along which an input of ``shape`` was broadcast: the leading
    axes it lacked and the axes where it had size 1. Works on arrays and Tensors alike."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape) if extra or grad.shape != shape else grad


def _fit(grad, meta, node):
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


def _normalize(grad, create_graph, node):
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


_GC_PAUSE_NODES = 10_000

_FREED_MESSAGE = (
    "trying to backward through the graph a second time (or to use a tensor's graph after its "
    "saved values were freed by backward). Pass retain_graph=True to the first backward() or "
    "ad.grad() if you need to go through the graph again.")


def _run(roots, root_grads, retain_graph, create_graph, capture=None):
    """Propagate ``root_grads`` from ``roots`` (tensors) to the leaves.

    Without ``capture`` the leaves' ``.grad`` accumulate. With ``capture`` (a dict from a leaf
    tensor or a node to a slot index) gradients go into the returned list instead and no ``.grad``
    is touched.
    """
    captured = None if capture is None else [None] * (max(capture.values()) + 1 if capture else 0)
    mode = state.mode
    anomaly = mode.anomaly
    consumers = {} if anomaly else None
    if anomaly:
        from . import anomaly as anomaly_checks
        for root in roots:
            anomaly_checks.check_root(root)
    grads = {}          # node -> gradient of its output, summed over its consumers
    leaves = []         # (leaf, gradient, ...): delivered once the walk is through
    for root, g in zip(roots, root_grads):
        node = root.grad_fn
        if node is None:        # a leaf was asked to backward
            leaves.append((root, g, g, (), ()))
        elif node in grads:
            grads[node] = grads[node] + g
        else:
            grads[node] = g
    if capture is None and not create_graph and not anomaly and grads:
        _walk(grads, retain_graph, leaves, mode)
        return captured
    return _run_counting(grads, leaves, [], retain_graph, create_graph, capture, captured,
                         anomaly_checks if anomaly else None, consumers)


def _walk(grads, retain_graph, leaves, mode):
    """An ordinary backward from ``grads`` (node -> gradient): the plain walk with grad mode off
    (as ad.no_grad(), without its calls; ``mode`` is the thread's state), then the counting walk
    for whatever it left, or else the leaves' gradients."""
    previous_mode, previous_plain = mode._grad_enabled, state.plain
    mode._grad_enabled = state.plain = False
    try:
        grads, retained = _run_plain(grads, retain_graph, leaves)
    finally:
        mode._grad_enabled, state.plain = previous_mode, previous_plain
    if grads:
        _run_counting(grads, leaves, retained, retain_graph)
    else:
        _deliver_leaves(leaves, retained)


def _run_counting(grads, leaves, retained, retain_graph, create_graph=False, capture=None,
                  captured=None, anomaly_checks=None, consumers=None):
    """The general walk from the nodes in ``grads`` (node -> gradient), after counting each node's
    consumers inside the graph: create_graph, ad.grad's capture, anomaly mode, and whatever an
    ordinary walk (``_run_plain``) left. Returns ``captured``."""
    anomaly = anomaly_checks is not None
    start = list(grads)

    # count each node's consumers inside this graph (iteratively: 10^6-deep chains are fine)
    pending = {}
    seen = set(start)       # a start node may also be reached from another one: walk it once
    stack = list(start)
    while stack:
        node = stack.pop()
        if node.saved is None:
            raise RuntimeError(f"{type(node).__name__}: " + _FREED_MESSAGE)
        for nxt in node.next_functions:
            if nxt is not None and not isinstance(nxt, Tensor):
                pending[nxt] = pending.get(nxt, 0) + 1
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)

    # ready: (node, gradient) pairs whose consumers are all done; grads holds partial sums only
    ready = [(node, grads.pop(node)) for node in start if node not in pending]
    previous_mode = state.grad_enabled
    state.grad_enabled = create_graph
    # a backward makes no reference cycles, but on a large graph the cyclic collector would walk
    # the whole (live) graph again and again: pause it for the walk
    pause_gc = len(pending) > _GC_PAUSE_NODES and gc.isenabled()
    if pause_gc:
        gc.disable()
    try:
        while ready:
            node, g = ready.pop()
            next_functions = node.next_functions
            saved = node.saved
            if g is not None:
                if node.epoch < inplace_epoch[0]:   # an in-place op came after the node saved tensors
                    _check_versions(node)
                if node.special or capture is not None:
                    g = _node_extras(node, g, create_graph, capture, captured, retained)
                if create_graph and saved:
                    node.saved_tensors = node.unpack_saved()
                input_grads = node.backward(node, g)
                if type(input_grads) is not tuple:
                    input_grads = tuple(input_grads) if isinstance(input_grads, list) else (input_grads,)
                if len(input_grads) < len(next_functions):
                    input_grads = _pad_grads(node, input_grads)
                if anomaly:
                    anomaly_checks.check_gradients(node, g, input_grads, consumers)
                    for nxt in next_functions:
                        if nxt is not None and not isinstance(nxt, Tensor):
                            consumers.setdefault(nxt, []).append(node)
            if retain_graph:
                if create_graph and saved:
                    node.saved_tensors = saved
            else:
                node.saved = node.saved_tensors = None
                if node.saved_sources is not None:
                    node.saved_sources = None
            if g is None:
                input_grads = (None,) * len(next_functions)
            for i, (nxt, gi) in enumerate(zip(next_functions, input_grads)):
                if nxt is None:
                    continue
                if gi is not None:
                    if type(gi) is not np.ndarray:
                        gi = _normalize(gi, create_graph, node)
                    meta = node.input_meta[i]
                    if meta is not _SAME and (gi.shape, gi.dtype) != meta:
                        gi = _fit(gi, meta, node)
                if isinstance(nxt, Tensor):
                    if gi is not None:
                        leaves.append((nxt, gi, g, input_grads, saved or ()))
                    continue
                count = pending[nxt] - 1
                if count:
                    pending[nxt] = count
                    if gi is not None:
                        previous = grads.get(nxt)
                        grads[nxt] = gi if previous is None else _sum(previous, gi)
                else:       # the last consumer: nxt is ready (its stale count of 0 is never read)
                    previous = grads.pop(nxt, None)
                    if previous is not None:
                        gi = previous if gi is None else _sum(previous, gi)
                    ready.append((nxt, gi))
        _deliver_leaves(leaves, retained, create_graph, capture, captured)
    finally:
        state.grad_enabled = previous_mode
        if pause_gc:
            gc.enable()
    return captured


def _sum(a, b):
    """a + b for two gradients (numpy makes a scalar of two 0-d arrays: keep an array)."""
    total = a + b
    return total if type(total) is np.ndarray or isinstance(total, Tensor) else np.asarray(total)


def _run_plain(grads, retain_graph, leaves):
    """The ordinary backward (no create_graph, no ad.grad capture, no anomaly mode), lean.

    A node is ready when its gradient has come from all of its consumers, counted in forward
    (``node.uses``), so no counting pass is needed. A node that waits for a consumer outside this
    backward (an output never used, or used by another loss) is left in the returned dict with its
    partial gradient, and the counting walk of ``_run`` finishes from there. Gradients of leaves
    go to ``leaves`` (and retain_grad's to the returned list), to be delivered once no node can
    fail: a failed backward changes no ``.grad``.
    """
    ready = []
    waiting = {}            # node -> [gradient so far, deliveries so far]
    for node, g in grads.items():
        if node.uses:       # a root that other nodes consume: let the counting walk do it all
            return grads, []
        ready.append((node, g))
    retained = []
    ndarray = np.ndarray
    node, g = ready.pop()
    epoch = inplace_epoch[0]    # read again after any code but a built-in op's backward ran
    while node is not None:
        saved = node.saved
        if saved is None:
            raise RuntimeError(f"{type(node).__name__}: " + _FREED_MESSAGE)
        if node.epoch < epoch:      # an in-place op came after the node saved tensors
            _check_versions(node)
        following = node._straight
        if g is not None:
            if following is None:
                if node.special:
                    g = _node_extras(node, g, False, None, None, retained)
                input_grads = node.backward(node, g)
                epoch = inplace_epoch[0]
            else:   # the usual case: straight on to the only input, when this node is its only consumer
                input_grads = node.backward(node, g)
                gi = input_grads[0] if type(input_grads) is tuple else input_grads
                if type(gi) is ndarray and following.uses == 1:
                    if not retain_graph:
                        node.saved = node.saved_tensors = None
                        if node.saved_sources is not None:
                            node.saved_sources = None
                    node, g = following, gi
                    continue
            next_functions = node._edges      # node.next_functions, without the property's call
            if next_functions is None:
                next_functions = node.next_functions
            if type(input_grads) is not tuple:
                input_grads = tuple(input_grads) if isinstance(input_grads, list) else (input_grads,)
            if len(input_grads) < len(next_functions):
                input_grads = _pad_grads(node, input_grads)
        else:
            next_functions = node.next_functions
            input_grads = (None,) * len(next_functions)
        if not retain_graph:
            node.saved = node.saved_tensors = None
            if node.saved_sources is not None:
                node.saved_sources = None
        following = None    # a ready input node, walked next without going through the list
        for nxt, gi, meta in zip(next_functions, input_grads, node.input_meta):
            if nxt is None:
                continue
            if gi is not None:
                if type(gi) is not ndarray:
                    gi = _normalize(gi, False, node)
                if meta is not _SAME and (gi.shape, gi.dtype) != meta:
                    gi = _fit(gi, meta, node)
            if isinstance(nxt, Tensor):
                if gi is not None:     # (g None: fresh, see Function.fresh_grads)
                    leaves.append((nxt, gi, None, (), ()) if node.fresh_grads else
                                  (nxt, gi, g, input_grads, saved or ()))
                continue
            uses = nxt.uses
            if uses != 1:
                entry = waiting.get(nxt)
                if entry is None:
                    waiting[nxt] = [gi, 1]
                    continue
                if gi is not None:
                    entry[0] = gi if entry[0] is None else _sum(entry[0], gi)
                entry[1] += 1
                if entry[1] != uses:
                    continue
                del waiting[nxt]
                gi = entry[0]
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
        return {node: entry[0] for node, entry in waiting.items()}, retained
    return waiting, retained


def _deliver_leaves(leaves, retained, create_graph=False, capture=None, captured=None):
    """Hand out the gradients collected by a walk that went through: retain_grad's, then the
    leaves'. A leaf with hooks gets its gradients summed first, so its hooks see the total
    (PyTorch); the others accumulate them one by one."""
    for node, g in retained:
        _retain(node, g, create_graph)
    plain = capture is None and not create_graph
    hooked = None
    for entry in leaves:
        leaf, gi, g, siblings, saved = entry
        if leaf._hooks:
            if hooked is None:
                hooked = {}
            total = hooked.get(leaf)    # a sum is a new array: no alias to guard against
            hooked[leaf] = entry if total is None else (leaf, _sum(total[1], gi), None, (), ())
        elif plain and leaf.grad is None:       # _deliver_leaf's first case, inline
            # (g None: a fresh gradient, see Function.fresh_grads)
            if g is not None and (gi is g or gi.base is not None or _held_elsewhere(gi, siblings, saved)):
                gi = gi.copy()
            grad = _new_tensor(Tensor)      # _wrap(gi), inline
            grad.data = gi
            grad.grad = grad.grad_fn = grad._hooks = grad._counter = None
            grad._requires_grad = grad._retains_grad = False
            leaf.grad = grad
        else:
            _deliver_leaf(leaf, gi, g, siblings, create_graph, capture, captured, saved)
    if hooked:
        for leaf, gi, g, siblings, saved in hooked.values():
            _deliver_leaf(leaf, gi, g, siblings, create_graph, capture, captured, saved)


def _check_versions(node):
    """Fail if a tensor the node saved was changed in place after the node was made."""
    if node.saved_sources is None:      # freed
        return
    for i, source in enumerate(node.saved_sources):
        if source is None:
            continue
        counter = node.output_version if source is _OUTPUT else source._counter
        if counter is None or counter[2] <= node.epoch:
            continue
        name = type(node).__name__
        array = node.saved[i]
        what = "its own output" if source is _OUTPUT else (
            f"{'a leaf' if source.grad_fn is None else 'a'} tensor of shape {array.shape} ({array.dtype})")
        writer = f" by {counter[1]}" if counter[1] else (
            " (run under ad.detect_anomaly() to see the line that changed it)")
        site = node.creation_site()
        made = f" (created at {site})" if site else ""
        raise RuntimeError(
            f"backward: {name}{made} saved {what} for its backward, but it was changed in place "
            f"afterwards{writer}; it is now at version {counter[0]}. Use an out-of-place op (y = y + 1 "
            "instead of y += 1), or change it only after backward (e.g. call optimizer.step() after "
            "loss.backward(), not between the forward and the backward)")


def _node_extras(node, g, create_graph, capture, captured, retained):
    """The rare per-node work: tensor hooks, retain_grad (into ``retained``, handed out when the
    walk is through), and capture for ad.grad."""
    if node.hooks:
        g = _run_hooks(node.hooks, g)
    if node.retained is not None and capture is None:     # ad.grad leaves every .grad alone
        retained.append((node, g))
    if capture is not None and node in capture:
        _capture(captured, capture[node], g)
    return g


def _pad_grads(node, input_grads):
    missing = node.next_functions[len(input_grads):]
    if any(f is not None for f in missing):
        raise RuntimeError(
            f"{type(node).__name__}.backward returned {len(input_grads)} gradient(s) but its "
            f"forward had {len(node.next_functions)} input(s); return one per input (None where "
            "an input needs no gradient)")
    return input_grads + (None,) * len(missing)


def _run_hooks(hooks, g):
    for hook in list(hooks):
        result = hook(g if isinstance(g, Tensor) else _wrap(g))
        if result is not None:
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


def _retain(node, g, create_graph):
    tensor = node.retained()
    if tensor is None:
        return
    if not create_graph:
        g = _wrap(g.copy())
    tensor.grad = g if tensor.grad is None else tensor.grad + g


def _capture(captured, slot, g):
    captured[slot] = g if captured[slot] is None else captured[slot] + g


def _deliver_leaf(leaf, gi, g, siblings, create_graph, capture, captured, saved=()):
    """Hand a gradient to a leaf: into ``captured`` for ad.grad, else accumulate into ``.grad``."""
    if leaf._hooks:
        gi = _run_hooks(leaf._hooks, gi)
        if not create_graph:        # the hook saw (or returned) this array: .grad gets its own
            gi = gi.copy()
    if capture is not None:
        slot = capture.get(leaf)
        if slot is not None:
            _capture(captured, slot, gi)
        return
    if create_graph:
        if not isinstance(gi, Tensor):
            gi = _wrap(gi)
        leaf.grad = gi if leaf.grad is None else leaf.grad + gi
        return
    existing = leaf.grad
    if existing is None:
        # the array may be held elsewhere (the incoming gradient passed through, a view, a sibling
        # or a saved array): copy it so that in-place accumulation never writes into another tensor
        if gi is g or gi.base is not None or _held_elsewhere(gi, siblings, saved):
            gi = gi.copy()
        leaf.grad = _wrap(gi)
    elif existing.grad_fn is not None or existing._requires_grad or not existing.data.flags.writeable:
        leaf.grad = _wrap(existing.data + gi)
    else:
        np.add(existing.data, gi, out=existing.data)


def _held_elsewhere(array, siblings, saved):
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


def _as_root_grad(root, gradient, create_graph, op):
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


def _check_roots(tensors, op):
    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError(
                f"{op}: a tensor that does not require grad has no graph to differentiate; "
                "make its inputs with requires_grad=True (and compute it outside ad.no_grad())")
    return tensors


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
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
            t.grad = g if t.grad is None else t.grad + g


def backward_of_loss(root, retain_graph):
    """``loss.backward()``, backward's usual call: a one-element tensor on a graph, gradient 1,
    no create_graph, no inputs; without the general argument handling."""
    data = root.data
    g = np.array(1, data.dtype)      # np.ones costs four times as much
    if data.ndim:
        g = g.reshape(data.shape)
    retain_graph = bool(retain_graph)
    mode = state.mode
    if mode.anomaly:
        _run((root,), (g,), retain_graph, False)
        return
    _walk({root.grad_fn: g}, retain_graph, [], mode)     # _run's plain case, without its set-up


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
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
    inputs = (inputs,) if single else tuple(inputs)
    for t in inputs:
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError("grad: every input must be a Tensor that requires grad")
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    root_grads = [_as_root_grad(t, g, create_graph, "grad") for t, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    capture = {}
    for i, t in enumerate(inputs):
        capture.setdefault(t if t.grad_fn is None else t.grad_fn, i)
    captured = _run(outputs, root_grads, retain_graph, create_graph, capture)
    results = []
    handed_out = {id(r) for r in root_grads}
    for i, t in enumerate(inputs):
        g = captured[capture[t if t.grad_fn is None else t.grad_fn]]
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
