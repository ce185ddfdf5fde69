"""nn.functional's margin, embedding and likelihood losses, composed from autodiff ops with
PyTorch's formulas, options and reductions ("mean", "sum", "none"; kl_div also "batchmean").

Kinks follow PyTorch: its ``clamp_min(0)`` passes the gradient at 0 (``ad.clip``), while
multi_margin_loss's hinge counts only strictly positive margins (``ad.relu``)."""
from __future__ import annotations

import math
from typing import Callable, Union

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor

from .functional_activations import _softplus, logsigmoid
from .functional_layers import _clamped_below, pairwise_distance

__all__ = ["kl_div", "soft_margin_loss", "multilabel_soft_margin_loss", "margin_ranking_loss",
           "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
           "triplet_margin_with_distance_loss", "poisson_nll_loss", "gaussian_nll_loss", "multi_margin_loss"]

# a tensor argument: a Tensor, or what ad.tensor takes (an array, a number, nested lists)
_TensorLike = Union[Tensor, ArrayLike]


def _tensor(x: _TensorLike, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    array = np.asarray(x)
    if like is not None and array.dtype.kind in "iubf" and like.dtype.kind == "f":
        array = array.astype(like.dtype)
    return ad.tensor(array)


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(a: Tensor, b: Tensor, op: str, names: tuple[str, str] = ("input", "target")) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{op}: {names[0]} of shape {a.shape} and {names[1]} of shape {b.shape} must have the same "
                         "shape (broadcasting them would compare every pair); reshape one")


def kl_div(input: _TensorLike, target: _TensorLike, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise for log-probabilities ``input``: target (log target -
    input), 0 where target is 0 (``log_target``: target given as log-probabilities).
    ``reduction="batchmean"`` divides the sum by the batch size (the mathematically right KL);
    "mean" divides by the number of elements, as PyTorch."""
    input = _tensor(input)
    target = _tensor(target, input)
    if log_target:
        loss = ad.exp(target) * (target - input)
    else:
        loss = ad.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction, "kl_div")


def soft_margin_loss(input: _TensorLike, target: _TensorLike, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) for labels y in {-1, 1}, computed stably."""
    input = _tensor(input)
    target = _tensor(target, input)
    _same_shape(input, target, "soft_margin_loss")
    return _reduce(_softplus(-target * input), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(input: _TensorLike, target: _TensorLike, weight: _TensorLike | None = None,
                                reduction: str = "mean") -> Tensor:
    """-(y log sigmoid(x) + (1 - y) log sigmoid(-x)), averaged over the classes (N, C) -> (N,)
    (times ``weight`` per class), then reduced."""
    input = _tensor(input)
    target = _tensor(target, input)
    _same_shape(input, target, "multilabel_soft_margin_loss")
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * _tensor(weight, input)
    return _reduce(loss.sum(-1) / input.shape[-1], reduction, "multilabel_soft_margin_loss")


def margin_ranking_loss(input1: _TensorLike, input2: _TensorLike, target: _TensorLike, margin: float = 0.0,
                        reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin): x1 should rank above x2 where y = 1, below where y = -1."""
    input1, input2 = _tensor(input1), _tensor(input2)
    target = _tensor(target, input1)
    if not input1.shape == input2.shape == target.shape:
        raise ValueError(f"margin_ranking_loss: input1 {input1.shape}, input2 {input2.shape} and target "
                         f"{target.shape} must have the same shape")
    return _reduce(ad.clip(-target * (input1 - input2) + margin, min=0), reduction, "margin_ranking_loss")


def hinge_embedding_loss(input: _TensorLike, target: _TensorLike, margin: float = 1.0,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (x: a distance)."""
    input = _tensor(input)
    target = _tensor(target, input)
    zero = np.zeros((), input.dtype)
    loss = ad.where(target != 1, ad.clip(margin - input, min=0), zero) + ad.where(target != -1, input, zero)
    return _reduce(loss, reduction, "hinge_embedding_loss")


def cosine_embedding_loss(input1: _TensorLike, input2: _TensorLike, target: _TensorLike, margin: float = 0.0,
                          reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1; rows of (N, D) (or
    one (D,) pair), cos with PyTorch's 1e-12 added to each squared norm."""
    input1, input2 = _tensor(input1), _tensor(input2)
    target = _tensor(target, input1)
    dim = 1 if input1.ndim == 2 else 0
    products = (input1 * input2).sum(dim)
    squares = ((input1 * input1).sum(dim) + 1e-12) * ((input2 * input2).sum(dim) + 1e-12)
    cos = products / ad.sqrt(squares)
    zero = np.zeros((), cos.dtype)
    loss = ad.where(target == 1, 1 - cos, zero) + ad.where(target == -1, ad.clip(cos - margin, min=0), zero)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def triplet_margin_with_distance_loss(anchor: _TensorLike, positive: _TensorLike, negative: _TensorLike, *,
                                      distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) for any distance function (default pairwise_distance);
    ``swap``: d(a, n) replaced by the smaller of it and d(p, n)."""
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: margin must be positive, got {margin}")
    distance = pairwise_distance if distance_function is None else distance_function
    anchor, positive, negative = _tensor(anchor), _tensor(positive), _tensor(negative)
    to_positive, to_negative = distance(anchor, positive), distance(anchor, negative)
    if swap:
        to_negative = ad.minimum(to_negative, distance(positive, negative))
    return _reduce(ad.clip(to_positive - to_negative + margin, min=0), reduction, "triplet_margin_loss")


def triplet_margin_loss(anchor: _TensorLike, positive: _TensorLike, negative: _TensorLike, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, ||a - p|| - ||a - n|| + margin) with pairwise_distance(p, eps) on the last dimension."""
    def distance(x: Tensor, y: Tensor) -> Tensor:
        return pairwise_distance(x, y, p, eps)
    return triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=distance,
                                             margin=margin, swap=swap, reduction=reduction)


def poisson_nll_loss(input: _TensorLike, target: _TensorLike, log_input: bool = True, full: bool = False,
                     eps: float = 1e-8, reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: exp(x) - y x for log-rates (``log_input``), else
    x - y log(x + eps); ``full`` adds Stirling's y log y - y + log(2 pi y)/2 where y > 1."""
    input = _tensor(input)
    target = _tensor(target, input)
    loss = ad.exp(input) - target * input if log_input else input - target * ad.log(input + eps)
    if full:
        counted = target.data > 1
        y = ad.where(counted, target, np.ones((), target.dtype))     # log's argument 1 where masked off
        stirling = y * ad.log(y) - y + 0.5 * ad.log(2 * math.pi * y)
        loss = loss + ad.where(counted, stirling, np.zeros((), loss.dtype))
    return _reduce(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input: _TensorLike, target: _TensorLike, var: _TensorLike, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """(log(var) + (x - y)^2 / var) / 2 (+ log(2 pi) / 2 if ``full``), the variance clamped below
    at ``eps`` in value (its gradient unclamped, as PyTorch). ``var`` has input's shape, or it
    without the last dimension, or with a last dimension of 1 (one variance per row), or is a
    number (one variance for all, as PyTorch)."""
    input = _tensor(input)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("gaussian_nll_loss: var is negative; a variance must be non-negative")
        var = np.full(input.shape, var, dtype=input.dtype)
    target, var = _tensor(target, input), _tensor(var, input)
    if var.shape != input.shape:
        if var.shape == input.shape[:-1]:
            var = var.reshape(var.shape + (1,))
        elif not (var.shape[:-1] == input.shape[:-1] and var.shape[-1:] == (1,)):
            raise ValueError(f"gaussian_nll_loss: var of shape {var.shape} does not fit input of shape {input.shape}")
    if (var.data < 0).any():
        raise ValueError("gaussian_nll_loss: var has negative entries; variances must be non-negative")
    var = _clamped_below(var, eps)
    diff = input - target
    loss = 0.5 * (ad.log(var) + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def multi_margin_loss(input: _TensorLike, target: _TensorLike, p: int = 1, margin: float = 1.0,
                      weight: _TensorLike | None = None, reduction: str = "mean") -> Tensor:
    """The multi-class hinge: sum over i != y of max(0, margin - x[y] + x[i])^p / C per row of
    (N, C) (or one (C,) row), times ``weight[y]``."""
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p}")
    input = _tensor(input)
    rows = input if input.ndim == 2 else input.reshape(1, -1)
    labels = np.asarray(target.data if isinstance(target, Tensor) else target).reshape(-1)
    if labels.shape != rows.shape[:1] or labels.dtype.kind not in "iu":
        raise ValueError(f"multi_margin_loss: target must be {rows.shape[:1]} integer class indices for input of "
                         f"shape {input.shape}, got shape {labels.shape} dtype {labels.dtype}")
    classes = rows.shape[1]
    chosen = ad.gather(rows, 1, labels[:, None])
    hinge = ad.relu(margin - chosen + rows)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * _tensor(weight, input)[labels][:, None]
    others = labels[:, None] != np.arange(classes)
    loss = ad.where(others, hinge, np.zeros((), hinge.dtype)).sum(1) / classes
    return _reduce(loss if input.ndim == 2 else loss.reshape(()), reduction, "multi_margin_loss")
