"""detect_anomaly: find where a NaN or inf is born, and blame the op (and the line) that made it.

Only inside ``with ad.detect_anomaly():`` do nodes record their creation stack and whether their
forward values were finite; normal runs pay nothing.
"""
from __future__ import annotations

import itertools
from typing import Any, Literal, Sequence

import numpy as np

from .function import _SAME, Function
from . import grad_mode
from .tensor import Tensor

__all__ = ["detect_anomaly", "AnomalyError"]

_sequence = itertools.count()


class AnomalyError(RuntimeError):
    """A non-finite value found by ``detect_anomaly``, with the op and line that produced it."""


class detect_anomaly:
    """Context manager: during backward, raise as soon as a gradient becomes non-finite, naming the
    forward op whose local derivative made it so, its shapes and the line of your code that created
    it; before backward, report a non-finite loss with the first op on its path that produced a
    non-finite value."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self.previous: tuple[bool, bool, bool] | None = None

    def __enter__(self) -> detect_anomaly:
        on = bool(self.check_nan)
        self.previous = grad_mode.set_tracing(on, anomaly=on)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        grad_mode.restore_tracing(self.previous)  # type: ignore[arg-type]  # (set by __enter__)
        return False


def record_forward(ctx: Any, args: Sequence[object], out: np.ndarray) -> None:
    """Anomaly mode, at node creation: creation order, and which forward values were finite.
    (``ctx``: the new node, a Function; Any, as these attributes are its instance dict's.)"""
    ctx.sequence = next(_sequence)
    finite = np.isfinite(out)
    ctx.nonfinite_output = None if finite.all() else ~finite
    arrays = [a.data if isinstance(a, Tensor) else a for a in args]
    ctx.inputs_finite = all(np.isfinite(a).all() for a in arrays
                            if isinstance(a, np.ndarray) and a.dtype.kind == "f")


def _describe(node: Function, output_shape: tuple[int, ...] | None = None) -> str:
    site = node.creation_site()
    # an elementwise op made outside anomaly mode keeps "same as the output" (_SAME) for inputs
    # of the output's shape and dtype; the gradient of the output tells that shape, when known
    same = str(output_shape) if output_shape is not None else "the output's"
    shapes = ", ".join(same if meta is _SAME else str(meta[0])
                       for meta in node.input_meta if meta is not None)
    return f"{node.name} (inputs of shape {shapes}" + (f"; created at {site})" if site else ")")


def check_root(root: Tensor) -> None:
    """A non-finite loss: name the first op on its path that turned finite inputs into non-finite values."""
    if np.isfinite(root.data).all() or root.grad_fn is None:
        return
    origins: list[Function] = []
    seen: set[Function] = set()
    stack = [root.grad_fn]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if getattr(node, "nonfinite_output", None) is not None and getattr(node, "inputs_finite", False):
            origins.append(node)
        stack.extend(n for n in node.input_nodes if n is not None and not isinstance(n, Tensor))
    if not origins:
        return
    first = min(origins, key=lambda n: getattr(n, "sequence", 0))
    raise AnomalyError(
        f"detect_anomaly: the output you are differentiating is not finite ({root.data.ravel()[:4]}...). "
        f"The first op on its path that produced a non-finite value from finite inputs is "
        f"{_describe(first)}. {getattr(type(first), 'anomaly_hint', '')}".rstrip())


def check_gradients(node: Function, g: Any, input_grads: Sequence[Any],
                    consumers: dict[Function, list[Function]]) -> None:
    """After ``node``'s backward: a finite incoming gradient must not give non-finite input gradients."""
    incoming = g.data if isinstance(g, Tensor) else g
    if not np.isfinite(incoming).all():
        return
    for i, gi in enumerate(input_grads):
        if gi is None:
            continue
        array = gi.data if isinstance(gi, Tensor) else np.asarray(gi)
        if np.isfinite(array).all():
            continue
        bad = "nan" if np.isnan(array).any() else "inf"
        message = (f"detect_anomaly: the backward of {_describe(node, np.shape(incoming))} turned a "
                   "finite gradient into "
                   f"{bad} for its input {i}. {getattr(type(node), 'anomaly_hint', '')}").rstrip()
        masked = getattr(node, "nonfinite_output", None)
        wheres = [c for c in consumers.get(node, ()) if c.name == "Where"]
        if masked is not None and wheres:
            message += (
                f"\nThis op's forward already had non-finite values, which a `where` "
                f"({_describe(wheres[0])}) masked out; but the zero gradient that `where` sends back "
                "to the masked positions times this op's non-finite derivative is nan. Fix: mask the "
                "input, not only the output, e.g. where(x > 0, sqrt(where(x > 0, x, 1)), 0).")
        raise AnomalyError(message)
