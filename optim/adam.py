"""Adam and AdamW: adaptive moment estimation, with coupled or decoupled weight decay."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import Optimizer, Params, Scratch, check_number

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch's formulation, with L2 weight decay coupled into the gradient.

    For each parameter ``p`` with gradient ``g``, at its step ``t = 1, 2, ...``::

        g <- -g                                 if maximize
        g <- g + weight_decay * p               if weight_decay != 0 (coupled: an L2 term in g)
        m <- beta1 * m + (1 - beta1) * g        first moment, m starts at 0
        v <- beta2 * v + (1 - beta2) * g * g    second moment, v starts at 0
        v_max <- max(v_max, v)                  if amsgrad (v_max starts at 0; raw v, not v_hat)
        m_hat = m / (1 - beta1 ** t)            bias corrections
        v_hat = v / (1 - beta2 ** t)            (v_max / (1 - beta2 ** t) if amsgrad)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    eps is added *after* the square root of the bias-corrected second moment. State per
    parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with amsgrad,
    ``max_exp_avg_sq`` (v_max).

    Args:
        params: tensors, or dicts of parameter groups.
        lr: learning rate (default 1e-3).
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty lambda, added to the gradient (default 0). For decoupled
            weight decay use :class:`AdamW`.
        amsgrad: use the running maximum of v (Reddi et al.).
        maximize: ascend the objective instead of descending.

    >>> import autodiff as ad, optim
    >>> x = ad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Adam([x], lr=0.1)
    >>> (x * x).sum().backward()
    >>> opt.step()
    >>> x   # the first Adam step moves each coordinate by about lr
    tensor([ 0.9, -1.9], requires_grad=True)
    """

    decoupled_weight_decay = False

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        name = type(self).__name__
        check_number(group, "lr", name, hint="pass a non-negative learning rate such as lr=1e-3")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}; e.g. betas=(0.9, 0.999)")
        group["betas"] = tuple(betas)  # a JSON round trip gives a list back
        for i, beta in enumerate(betas):
            check_number({f"betas[{i}]": beta}, f"betas[{i}]", name, high=1.0, high_open=True,
                         hint="each beta is a decay rate in [0, 1), e.g. betas=(0.9, 0.999)")
        check_number(group, "eps", name, hint="use a small positive eps such as 1e-8")
        check_number(group, "weight_decay", name, hint="use weight_decay=0 for none, or e.g. 1e-2")

    # (wants_scratch: scratch is a pair, never the base's None)
    def _update(self, param: np.ndarray, grad: np.ndarray,  # type: ignore[override]
                state: dict[str, Any], group: dict[str, Any], scratch: Scratch) -> None:
        work, tmp = scratch
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        amsgrad = group["amsgrad"]
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        step = state["step"] = state["step"] + 1
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay = float(group["weight_decay"])

        g = grad
        if group["maximize"]:
            g = np.negative(grad, out=work)
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                np.multiply(param, 1 - lr * weight_decay, out=param)
            else:
                np.multiply(param, weight_decay, out=tmp)
                g = np.add(g, tmp, out=work)

        np.multiply(exp_avg, beta1, out=exp_avg)
        np.multiply(g, 1 - beta1, out=tmp)
        np.add(exp_avg, tmp, out=exp_avg)
        np.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 1 - beta2, out=tmp)
        np.add(exp_avg_sq, tmp, out=exp_avg_sq)
        if amsgrad:
            second = np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        else:
            second = exp_avg_sq

        step_size = lr / (1 - beta1 ** step)
        if step_size == 0:
            return
        # lr * m_hat / (sqrt(v_hat) + eps) == m / (sqrt(v) * c + eps / step_size), with
        # c = 1 / (sqrt(1 - beta2 ** t) * step_size): one pass over the arrays fewer
        denom = np.sqrt(second, out=tmp)
        np.multiply(denom, 1 / (math.sqrt(1 - beta2 ** step) * step_size), out=denom)
        np.add(denom, float(group["eps"]) / step_size, out=denom)
        update = np.divide(exp_avg, denom, out=tmp)
        np.subtract(param, update, out=param)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's formulation.

    For each parameter ``p`` with gradient ``g``, at its step ``t = 1, 2, ...``::

        g <- -g                                 if maximize
        p <- p * (1 - lr * weight_decay)        decoupled: shrinks p, never enters m or v
        m <- beta1 * m + (1 - beta1) * g        m starts at 0
        v <- beta2 * v + (1 - beta2) * g * g    v starts at 0
        v_max <- max(v_max, v)                  if amsgrad (raw v, not v_hat)
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)            (v_max / (1 - beta2 ** t) if amsgrad)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    The decay is scaled by ``lr`` (so schedulers scale it too) and applied before the Adam step.
    Arguments as :class:`Adam`, except ``weight_decay`` defaults to 1e-2.
    """

    decoupled_weight_decay = True

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)
