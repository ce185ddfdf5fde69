"""Elementwise ops with parameters, composed from the elementwise table's rows (autodiff.ops):
round with decimals, lerp, nan_to_num, and the whole-tensor comparisons allclose and equal."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike

from . import ops
from .ops import _as_tensor, where
from .tensor import Tensor

__all__ = ["round", "lerp", "nan_to_num", "allclose", "equal", "all", "any", "clone", "addcmul", "addcdiv",
           "clamp_min", "clamp_max"]


def round(input: Tensor | ArrayLike, decimals: int = 0) -> Tensor:
    """Round to the nearest integer, halves to even (PyTorch's and numpy's rule), or to
    ``decimals`` places (x * 10^d rounded, divided back, as PyTorch); gradient 0."""
    if not decimals:
        return ops.round(input)
    scale = 10.0 ** decimals
    return ops.round(_as_tensor(input) * scale) / scale


def lerp(input: Tensor | ArrayLike, end: Tensor | ArrayLike, weight: Tensor | float) -> Tensor:
    """input + weight * (end - input), weight a number or a tensor (all three broadcast), in
    PyTorch's form: from the nearer end, so weight 1 gives exactly ``end``."""
    input, end = _as_tensor(input), _as_tensor(end)
    difference = end - input
    if not isinstance(weight, Tensor):
        if abs(weight) < 0.5:
            return input + difference * weight
        return end - difference * (1 - weight)
    near_start = np.abs(weight.data) < 0.5
    return where(near_start, input + weight * difference, end - difference * (1 - weight))


def addcmul(input: Tensor | ArrayLike, tensor1: Tensor | ArrayLike, tensor2: Tensor | ArrayLike, *,
            value: float = 1) -> Tensor:
    """input + value * tensor1 * tensor2 (all three broadcast)."""
    product = ops.mul(tensor1, tensor2)
    return ops.add(input, product if value == 1 else product * value)


def addcdiv(input: Tensor | ArrayLike, tensor1: Tensor | ArrayLike, tensor2: Tensor | ArrayLike, *,
            value: float = 1) -> Tensor:
    """input + value * tensor1 / tensor2 (all three broadcast); integer tensor1 and tensor2 are
    refused, as PyTorch (its old integer division)."""
    numerator, denominator = _as_tensor(tensor1), _as_tensor(tensor2)
    if numerator.dtype.kind in "iub" and denominator.dtype.kind in "iub":
        raise RuntimeError(f"addcdiv: integer division of tensor1 ({numerator.dtype}) by tensor2 "
                           f"({denominator.dtype}) is not supported (as in PyTorch); for true division "
                           "convert one of them to a floating dtype, or use ad.floor_divide")
    quotient = ops.div(numerator, denominator)
    return ops.add(input, quotient if value == 1 else quotient * value)


def clamp_min(input: Tensor | ArrayLike, min: Tensor | ArrayLike) -> Tensor:  # noqa: A002
    """Values below ``min`` raised to it: ``clamp(input, min=min)``."""
    return ops.clamp(input, min=min)


def clamp_max(input: Tensor | ArrayLike, max: Tensor | ArrayLike) -> Tensor:  # noqa: A002
    """Values above ``max`` lowered to it: ``clamp(input, max=max)``."""
    return ops.clamp(input, max=max)


def nan_to_num(input: Tensor | ArrayLike, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """nan, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the
    dtype's largest and smallest finite values); the gradient passes where x is finite and is 0
    at the replaced places (PyTorch)."""
    input = _as_tensor(input)
    if input.dtype.kind != "f":
        return input.clone()
    replaced = np.nan_to_num(input.data, nan=nan, posinf=posinf, neginf=neginf)
    return where(np.isfinite(input.data), input, replaced)


def allclose(input: Tensor | ArrayLike, other: Tensor | ArrayLike, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True if every |input - other| <= atol + rtol |other| (broadcast): a Python bool."""
    return bool(ops.isclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan).data.all())


def equal(input: Tensor | ArrayLike, other: Tensor | ArrayLike) -> bool:
    """True if both have the same shape and the same elements: a Python bool."""
    a, b = _as_tensor(input).data, _as_tensor(other).data
    return a.shape == b.shape and bool((a == b).all())


def all(input: Tensor | ArrayLike, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    """Whether every element (over ``dim``) is non-zero: ``input.all(dim, keepdim)``."""
    return _as_tensor(input).all(dim, keepdim, **aliases)


def any(input: Tensor | ArrayLike, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    """Whether any element (over ``dim``) is non-zero: ``input.any(dim, keepdim)``."""
    return _as_tensor(input).any(dim, keepdim, **aliases)


def clone(input: Tensor | ArrayLike, *, memory_format: object = None) -> Tensor:
    """A copy of the data that stays on the graph: ``input.clone()``."""
    return _as_tensor(input).clone()


TENSOR_METHODS: dict[str, Callable[..., Any]] = {
    "round": round, "lerp": lerp, "nan_to_num": nan_to_num, "allclose": allclose, "equal": equal,
    "addcmul": addcmul, "addcdiv": addcdiv, "clamp_min": clamp_min, "clamp_max": clamp_max}


from .ops import _ARRAY_FUNCTIONS  # noqa: E402
_ARRAY_FUNCTIONS.update({
    np.round: round, np.around: round, np.fix: ops.trunc, np.array_equal: lambda a1, a2: equal(a1, a2),
    np.isclose: lambda a, b, rtol=1e-05, atol=1e-08, equal_nan=False: ops.isclose(a, b, rtol=rtol, atol=atol,
                                                                                  equal_nan=equal_nan),
    np.allclose: allclose,
    np.nan_to_num: lambda x, copy=True, nan=0.0, posinf=None, neginf=None: nan_to_num(x, nan, posinf, neginf),
})
