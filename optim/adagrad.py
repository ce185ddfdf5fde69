"""Adagrad: per-coordinate learning rates from the sum of all past squared gradients."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, Scratch, check_number

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), PyTorch's formulation.

    For each parameter ``p`` with gradient ``g``, at its step ``t = 1, 2, ...``::

        g <- -g                                 if maximize
        g <- g + weight_decay * p               if weight_decay != 0 (coupled: an L2 term in g)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s <- s + g * g                          s starts at initial_accumulator_value
        p <- p - lr_t * g / (sqrt(s) + eps)     eps is added after the square root

    State per parameter: ``step`` (int) and ``sum`` (s).

    Args:
        params: tensors, or dicts of parameter groups.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty lambda (default 0).
        initial_accumulator_value: starting value of every entry of s (default 0).
        eps: added to the denominator for stability (default 1e-10).
        maximize: ascend the objective instead of descending (as in PyTorch).
    """

    def __init__(self, params: Params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, maximize: bool = False) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_number(group, "lr", "Adagrad", hint="pass a non-negative learning rate such as lr=1e-2")
        check_number(group, "lr_decay", "Adagrad", hint="use lr_decay=0 for none")
        check_number(group, "weight_decay", "Adagrad", hint="use weight_decay=0 for none, or e.g. 1e-4")
        check_number(group, "initial_accumulator_value", "Adagrad",
                     hint="the accumulator of squared gradients starts at this value, e.g. 0 or 0.1")
        check_number(group, "eps", "Adagrad", hint="use a small positive eps such as 1e-10")

    # (wants_scratch: scratch is a pair, never the base's None)
    def _update(self, param: np.ndarray, grad: np.ndarray,  # type: ignore[override]
                state: dict[str, Any], group: dict[str, Any], scratch: Scratch) -> None:
        work, tmp = scratch
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param, float(group["initial_accumulator_value"]))
        step = state["step"] = state["step"] + 1
        weight_decay = float(group["weight_decay"])
        lr = float(group["lr"]) / (1 + (step - 1) * float(group["lr_decay"]))

        g = grad
        if group["maximize"]:
            g = np.negative(grad, out=work)
        if weight_decay != 0:
            np.multiply(param, weight_decay, out=tmp)
            g = np.add(g, tmp, out=work)

        total = state["sum"]
        np.multiply(g, g, out=tmp)
        np.add(total, tmp, out=total)
        if lr == 0:
            return
        # lr_t * g / (sqrt(s) + eps) == g / (sqrt(s) / lr_t + eps / lr_t): one pass fewer
        denom = np.sqrt(total, out=tmp)
        np.multiply(denom, 1 / lr, out=denom)
        np.add(denom, float(group["eps"]) / lr, out=denom)
        update = np.divide(g, denom, out=denom)
        np.subtract(param, update, out=param)
