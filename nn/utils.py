"""nn.utils: gradient clipping and flattening parameters to one vector (PyTorch's formulas)."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor
from autodiff.compiler import replayed

from .grad_flow import grad_flow  # noqa: E402  (re-exported: nn.utils.grad_flow)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters",
           "grad_flow"]


def _tensors(parameters: Tensor | Iterable[Tensor], op: str) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        tensors = list(parameters)
    except TypeError:
        raise TypeError(f"{op}: expected a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}") from None
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors, got a {type(t).__name__}")
    return tensors


def _scale_grad(param: Tensor, factor: float) -> None:
    grad: Tensor = param.grad  # type: ignore[assignment]  # (the callers' parameters have a .grad)
    if grad.grad_fn is None and grad.data.flags.writeable:
        grad.data *= factor
    else:
        param.grad = Tensor(grad.data * factor)


@replayed       # inside a compiled step: clipped again at every replay
def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients in place so that their total norm is at most ``max_norm``.

    total_norm = ||(||g_1||_p, ..., ||g_k||_p)||_p over the parameters that have a gradient (the
    max of |g| for ``norm_type=inf``); when clip_coef = max_norm / (total_norm + 1e-6) is below 1
    every gradient is multiplied by it (PyTorch's formula, 1e-6 included). Returns total_norm (as
    it was before clipping) as a 0-d Tensor.
    """
    params = [p for p in _tensors(parameters, "clip_grad_norm_") if p.grad is not None]
    norm_type = float(norm_type)
    if not params:
        return ad.tensor(0.0)
    grads = [p.grad.data for p in params]  # type: ignore[union-attr]  # (kept: .grad is not None)
    dtype = np.result_type(*grads)
    if math.isinf(norm_type) and norm_type > 0:
        total = max((np.abs(g).max() if g.size else 0.0) for g in grads)
    else:
        norms = [np.linalg.norm(g.reshape(-1), ord=norm_type) if g.size else 0.0 for g in grads]
        total = np.linalg.norm(np.asarray(norms, dtype=dtype), ord=norm_type)
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                           f"{float(total)}, so they cannot be clipped; pass error_if_nonfinite=False to "
                           "clip anyway")
    clip_coef = float(max_norm) / (float(total) + 1e-6)
    if clip_coef < 1:
        for p in params:
            _scale_grad(p, clip_coef)
    return ad.tensor(total)


@replayed
def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient elementwise to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for p in _tensors(parameters, "clip_grad_value_"):
        if p.grad is None:
            continue
        if p.grad.grad_fn is None and p.grad.data.flags.writeable:
            np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)
        else:
            p.grad = Tensor(np.clip(p.grad.data, -clip_value, clip_value))


def parameters_to_vector(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (on the graph)."""
    tensors = _tensors(parameters, "parameters_to_vector")
    if not tensors:
        raise ValueError("parameters_to_vector: no parameters given")
    return ad.concatenate([t.reshape(-1) for t in tensors])


def vector_to_parameters(vec: Tensor | ArrayLike, parameters: Tensor | Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place (PyTorch re-points
    ``.data`` at views of ``vec``; copying keeps the arrays of optimizers and of ``vec`` apart)."""
    array = vec.data if isinstance(vec, Tensor) else np.asarray(vec)
    if array.ndim != 1:
        raise TypeError(f"vector_to_parameters: expected a 1-D vector, got shape {array.shape}")
    tensors = _tensors(parameters, "vector_to_parameters")
    total = sum(t.data.size for t in tensors)
    if total != array.size:
        raise ValueError(f"vector_to_parameters: the vector has {array.size} elements but the parameters "
                         f"have {total}")
    offset = 0
    with ad.no_grad():
        for t in tensors:
            n = t.data.size
            np.copyto(t.data, array[offset:offset + n].reshape(t.data.shape), casting="same_kind")
            offset += n
