"""grad_flow: how big each parameter's gradient is, as a table and a bar picture.

The vanishing-gradient lesson in one call: after ``loss.backward()``, ``print(nn.grad_flow(model))``
shows mean and max |grad| per parameter, first layer to last; a first layer whose mean |grad| is
orders of magnitude below the last layer's is not learning.
"""
from __future__ import annotations

import math
import os
from collections import namedtuple
from typing import TYPE_CHECKING, Any

import numpy as np

from autodiff import Tensor
from autodiff.viz import named_tensors

if TYPE_CHECKING:
    from autodiff.viz import NamedTensors

__all__ = ["grad_flow", "GradFlow", "GradFlowRow"]

GradFlowRow = namedtuple("GradFlowRow", ["name", "shape", "mean_abs_grad", "max_abs_grad"])
GradFlowRow.__doc__ = ("One parameter: its name, shape, and mean and max of |grad| over its elements "
                       "(None when it has no gradient).")


class GradFlow(list):
    """The rows of :func:`grad_flow` (a list of ``GradFlowRow``); ``str()`` is the table, and
    ``.figure`` the matplotlib figure when one was drawn."""

    figure: Any = None      # a matplotlib Figure, once drawn

    def table(self) -> str:
        """The rows as an aligned text table, with a line on the spread of mean |grad|."""
        header = ("parameter", "shape", "mean |grad|", "max |grad|")
        cells = [header] + [(row.name, str(tuple(row.shape)),
                             _fmt(row.mean_abs_grad), _fmt(row.max_abs_grad)) for row in self]
        widths = [max(len(cell[i]) for cell in cells) for i in range(len(header))]
        lines = ["  ".join(cell[i].ljust(widths[i]) if i < 2 else cell[i].rjust(widths[i])
                           for i in range(len(header))).rstrip() for cell in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        means = [(row.mean_abs_grad, row.name) for row in self
                 if row.mean_abs_grad is not None and row.mean_abs_grad > 0]
        if len(means) >= 2:
            (low, low_name), (high, high_name) = min(means), max(means)
            lines.append(f"mean |grad| spans {math.log10(high / low):.1f} decades: smallest "
                         f"{low_name} ({_fmt(low)}), largest {high_name} ({_fmt(high)})")
        missing = [row.name for row in self if row.mean_abs_grad is None]
        if missing:
            lines.append(f"no gradient (.grad is None): {', '.join(missing)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _named_parameters(model_or_named_parameters: NamedTensors) -> list[tuple[str, Tensor]]:
    return named_tensors(model_or_named_parameters, "grad_flow")


def grad_flow(model_or_named_parameters: NamedTensors, plot: bool = False,
              path: str | os.PathLike[str] | None = None) -> GradFlow:
    """Mean and max |grad| of each parameter, after ``loss.backward()``.

    ``model_or_named_parameters``: a Module (``named_parameters()``), a mapping name -> tensor, or
    (name, tensor) pairs. For a parameter ``p`` with gradient ``g`` (any shape, n elements)::

        mean_abs_grad = sum(|g|) / n        max_abs_grad = max(|g|)

    Returns a :class:`GradFlow`: a list of ``GradFlowRow(name, shape, mean_abs_grad,
    max_abs_grad)`` (None for a parameter without ``.grad``) that prints as a table. With
    ``plot=True`` or a ``path`` it also draws the classic bar picture with matplotlib (max |grad|
    and mean |grad| per parameter on a log axis), kept in ``.figure`` and saved to ``path``.

    >>> import autodiff as ad
    >>> w = ad.tensor([[1.0, -2.0]], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> print(grad_flow([("w", w)]))
    parameter  shape   mean |grad|  max |grad|
    ---------  ------  -----------  ----------
    w          (1, 2)            3           4
    """
    rows = GradFlow()
    for name, tensor in _named_parameters(model_or_named_parameters):
        grad = tensor.grad
        if grad is None:
            rows.append(GradFlowRow(name, tuple(tensor.shape), None, None))
            continue
        magnitude = np.abs(np.asarray(grad.data, dtype=np.float64))
        if magnitude.size == 0:
            rows.append(GradFlowRow(name, tuple(tensor.shape), None, None))
            continue
        rows.append(GradFlowRow(name, tuple(tensor.shape), float(magnitude.mean()), float(magnitude.max())))
    if plot or path is not None:
        rows.figure = _plot(rows, path, pyplot=bool(plot))
    return rows


def _plot(rows: GradFlow, path: str | os.PathLike[str] | None, pyplot: bool) -> Any:
    figure: Any     # (matplotlib is optional: checked alike whether it is installed or not)
    try:
        if pyplot:      # through pyplot, so that notebooks and GUIs show it
            import matplotlib.pyplot as plt
            figure = plt.figure(figsize=(max(4.0, 0.55 * len(rows) + 1.5), 3.6), layout="constrained")
        else:           # only a file: no pyplot, no backend, no window
            from matplotlib.figure import Figure
            figure = Figure(figsize=(max(4.0, 0.55 * len(rows) + 1.5), 3.6), layout="constrained")
    except ImportError:
        raise ImportError('grad_flow(plot=True) needs matplotlib: pip install "numpy-autodiff[demo]" '
                          '(from a checkout: pip install ".[demo]"; or pip install matplotlib); the table '
                          "needs nothing") from None
    axes = figure.add_subplot()
    names = [row.name for row in rows]
    positions = np.arange(len(rows))
    means = [row.mean_abs_grad or 0.0 for row in rows]
    maxes = [row.max_abs_grad or 0.0 for row in rows]
    axes.bar(positions, maxes, width=0.8, color="#5ec962", label="max |grad|")
    axes.bar(positions, means, width=0.8, color="#3b528b", label="mean |grad|")
    axes.set_xticks(positions, names, rotation=60, ha="right")
    positive = [v for v in means + maxes if v > 0]
    if positive:
        axes.set_yscale("log")
        axes.set_ylim(min(positive) / 3, max(positive) * 3)
    axes.set_xlim(-0.6, len(rows) - 0.4)
    for position, row in zip(positions, rows):
        if row.mean_abs_grad is None:
            axes.text(position, 0.02, "no grad", rotation=90, ha="center", va="bottom",
                      transform=axes.get_xaxis_transform(), fontsize="small", color="#777777")
    axes.set_ylabel("|grad| (log scale)")
    axes.set_title("gradient flow, first layer to last")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    if path is not None:
        figure.savefig(path, dpi=110)
    return figure
