"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, Scratch, check_number

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton; centered form from Graves 2013), PyTorch's formulation.

    For each parameter ``p`` with gradient ``g``, every step::

        g <- -g                                 if maximize
        g <- g + weight_decay * p               if weight_decay != 0 (coupled: an L2 term in g)
        v <- alpha * v + (1 - alpha) * g * g    square average, v starts at 0
        if centered:
            a <- alpha * a + (1 - alpha) * g    gradient average, a starts at 0
            d = sqrt(v - a * a) + eps
        else:
            d = sqrt(v) + eps                   eps is added after the square root
        if momentum > 0:
            b <- momentum * b + g / d           b starts at 0 (so the first b is g / d)
            p <- p - lr * b
        else:
            p <- p - lr * g / d

    There is no bias correction. State per parameter: ``step``, ``square_avg`` (v), and
    ``grad_avg`` (a) if centered, ``momentum_buffer`` (b) if momentum > 0.

    Args:
        params: tensors, or dicts of parameter groups.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant in [0, 1] (default 0.99).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty lambda (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance instead of its second moment.
        maximize: ascend the objective instead of descending (as in PyTorch).
    """

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, maximize: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_number(group, "lr", "RMSprop", hint="pass a non-negative learning rate such as lr=1e-2")
        check_number(group, "alpha", "RMSprop", high=1.0,
                     hint="alpha is the decay rate of the square average, e.g. alpha=0.99")
        check_number(group, "eps", "RMSprop", hint="use a small positive eps such as 1e-8")
        check_number(group, "weight_decay", "RMSprop", hint="use weight_decay=0 for none, or e.g. 1e-4")
        check_number(group, "momentum", "RMSprop", hint="use momentum=0 for none, or e.g. momentum=0.9")

    # (wants_scratch: scratch is a pair, never the base's None)
    def _update(self, param: np.ndarray, grad: np.ndarray,  # type: ignore[override]
                state: dict[str, Any], group: dict[str, Any], scratch: Scratch) -> None:
        work, tmp = scratch
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
        momentum = float(group["momentum"])
        centered = group["centered"]
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(param)
        if centered and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(param)
        state["step"] += 1
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        weight_decay = float(group["weight_decay"])

        g = grad
        if group["maximize"]:
            g = np.negative(grad, out=work)
        if weight_decay != 0:
            np.multiply(param, weight_decay, out=tmp)
            g = np.add(g, tmp, out=work)

        square_avg = state["square_avg"]
        np.multiply(square_avg, alpha, out=square_avg)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 1 - alpha, out=tmp)
        np.add(square_avg, tmp, out=square_avg)
        if centered:
            grad_avg = state["grad_avg"]
            np.multiply(grad_avg, alpha, out=grad_avg)
            np.multiply(g, 1 - alpha, out=tmp)
            np.add(grad_avg, tmp, out=grad_avg)
            denom = np.multiply(grad_avg, grad_avg, out=tmp)
            np.subtract(square_avg, denom, out=denom)
            np.sqrt(denom, out=denom)
        else:
            denom = np.sqrt(square_avg, out=tmp)
        eps = float(group["eps"])

        if momentum > 0:
            np.add(denom, eps, out=denom)
            buf = state["momentum_buffer"]
            np.multiply(buf, momentum, out=buf)
            np.add(buf, np.divide(g, denom, out=tmp), out=buf)
            update = np.multiply(buf, lr, out=tmp)
        elif lr == 0:
            return
        else:
            # lr * g / (d + eps) == g / (d / lr + eps / lr): one pass over the arrays fewer
            np.multiply(denom, 1 / lr, out=denom)
            np.add(denom, eps / lr, out=denom)
            update = np.divide(g, denom, out=tmp)
        np.subtract(param, update, out=param)
