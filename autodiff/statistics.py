"""Statistics over a tensor: var_mean, std_mean, aminmax, cov, corrcoef, dist, renorm, histc and
the trapezoid rule (trapezoid, trapz, cumulative_trapezoid), each composed from the engine's reductions, so the
gradients (and higher orders) are theirs."""
from __future__ import annotations

import warnings
from typing import Any, Callable, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import linalg
from .ops import _as_tensor, _normalize_axis, _one_of, amax, amin, matmul, mean, reshape, sqrt, std, sum, var, where
from .scans import cumsum
from .shapes import diagonal, narrow
from .tensor import Tensor, get_default_dtype

__all__ = ["var_mean", "std_mean", "aminmax", "cov", "corrcoef", "dist", "trapezoid", "trapz",
           "cumulative_trapezoid", "renorm", "histc"]

# PyTorch's torch.return_types.aminmax (the ignore: the type's name is PyTorch's)
aminmax_result = NamedTuple("aminmax", [("min", Tensor), ("max", Tensor)])  # type: ignore[name-match]


def _mean_dim(dim: Any) -> Any:
    """The dim of the mean beside var/std: none where var's first argument was ``unbiased``."""
    return None if isinstance(dim, bool) else dim


def var_mean(input: Tensor | ArrayLike, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None, **aliases: Any) -> tuple[Tensor, Tensor]:
    """(var, mean) over ``dim``, with var's arguments (``correction=1``, unbiased, by default):
    a plain tuple, as PyTorch's."""
    axis = aliases.get("axis")
    variance = var(input, dim, unbiased, keepdim, correction=correction, **aliases)
    return variance, mean(input, _mean_dim(dim if axis is None else axis), keepdim)


def std_mean(input: Tensor | ArrayLike, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None, **aliases: Any) -> tuple[Tensor, Tensor]:
    """(std, mean) over ``dim``, with std's arguments (unbiased by default): a plain tuple."""
    axis = aliases.get("axis")
    deviation = std(input, dim, unbiased, keepdim, correction=correction, **aliases)
    return deviation, mean(input, _mean_dim(dim if axis is None else axis), keepdim)


def aminmax(input: Tensor | ArrayLike, *, dim: int | None = None, keepdim: bool = False,
            **aliases: Any) -> aminmax_result:
    """(min, max) over ``dim`` (all elements when None), a named tuple; tied extremes share the
    gradient evenly, as amin and amax."""
    input = _as_tensor(input)
    if aliases:
        dim = _one_of(dim, aliases, "aminmax", "dim")
    if input.size == 0 and (dim is None or input.ndim == 0 or input.shape[dim] == 0):
        raise ValueError(f"aminmax: the input of shape {input.shape} is empty along the reduced dimension; there is "
                         "no minimum or maximum")
    if dim is None:
        every = tuple(range(input.ndim))
        return aminmax_result(amin(input, every, keepdim), amax(input, every, keepdim))
    _normalize_axis(dim, max(input.ndim, 1), "aminmax")
    return aminmax_result(amin(input, dim, keepdim), amax(input, dim, keepdim))


def dist(input: Tensor | ArrayLike, other: Tensor | ArrayLike, p: float = 2) -> Tensor:
    """The p-norm of input - other (broadcast) over all elements: a 0-d tensor (p = 0 counts the
    non-zero differences, inf takes the largest, -inf the smallest); gradient 0 at distance 0."""
    difference = _as_tensor(input) - _as_tensor(other)
    if difference.dtype.kind != "f":
        raise TypeError(f"dist: needs floating tensors (as PyTorch), got {difference.dtype}; convert with .float()")
    return linalg.vector_norm(difference, p)


def cov(input: Tensor | ArrayLike, *, correction: int = 1, fweights: Tensor | ArrayLike | None = None,
        aweights: Tensor | ArrayLike | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (V, N) -> (V, V) (a 1-d
    input is one variable: a 0-d result), with frequency (integer) and observation weights, and
    ``correction`` subtracted from the weight total (1: Bessel's, the default)."""
    input = _as_tensor(input)
    if input.ndim > 2:
        raise ValueError(f"cov: expects a 1-d or 2-d input (variables in rows), got shape {input.shape}")
    if input.dtype == np.bool_:
        raise TypeError("cov: bool tensors are not supported (as in PyTorch); convert with .float()")
    if input.dtype.kind != "f":
        input = input.to(get_default_dtype())
    observations = reshape(input, (1, -1)) if input.ndim < 2 else input
    count = observations.shape[1]
    weights: Tensor | None = None
    if fweights is not None:
        fweights = _as_tensor(fweights)
        if fweights.ndim > 1 or fweights.shape[0] != count or fweights.dtype.kind not in "iu":
            raise ValueError(f"cov: fweights must be a 1-d integer tensor of {count} elements, got "
                             f"{fweights.dtype} of shape {fweights.shape}")
        if (fweights.data < 0).any():
            raise ValueError("cov: fweights cannot be negative")
        weights = fweights
    if aweights is not None:
        aweights = _as_tensor(aweights)
        if aweights.ndim > 1 or aweights.shape[0] != count or aweights.dtype.kind != "f":
            raise ValueError(f"cov: aweights must be a 1-d floating tensor of {count} elements, got "
                             f"{aweights.dtype} of shape {aweights.shape}")
        if (aweights.data < 0).any():
            raise ValueError("cov: aweights cannot be negative")
        weights = aweights if weights is None else weights * aweights
    if weights is None:
        average = mean(observations, 1)
        total: Any = float(count)
        factor: Any = total - correction
    else:
        total = sum(weights)
        if not total.data:
            raise ValueError("cov: the weights sum to zero, so they can't be normalized (as in PyTorch)")
        average = sum(observations * weights, 1) / total
        if correction == 0:
            factor = total
        elif aweights is None:
            factor = total - correction
        else:
            factor = total - correction * sum(weights * aweights) / total
    factor_value = float(np.asarray(factor.data if isinstance(factor, Tensor) else factor))
    if factor_value <= 0:
        warnings.warn("cov: degrees of freedom <= 0 for the correction; the result is inf or nan, as PyTorch's",
                      RuntimeWarning, stacklevel=2)
        factor = 0.0
    centered = observations - reshape(average, (-1, 1))
    other = centered if weights is None else centered * weights
    with np.errstate(divide="ignore", invalid="ignore"):     # (inf or nan at factor 0: warned above)
        covariance = matmul(centered, other.T) / factor
    # (PyTorch squeezes: one variable, a 1-d input or a single row, gives a 0-d tensor)
    return reshape(covariance, ()) if covariance.shape == (1, 1) else covariance


def corrcoef(input: Tensor | ArrayLike) -> Tensor:
    """Pearson's correlation coefficients of the variables in the rows of ``input``: cov divided
    by the standard deviations, clipped to [-1, 1]."""
    covariance = cov(input)
    if covariance.ndim == 0:
        return covariance / covariance
    deviations = sqrt(diagonal(covariance))
    with np.errstate(divide="ignore", invalid="ignore"):     # (a constant variable: nan, as PyTorch's)
        scaled = covariance / reshape(deviations, (-1, 1)) / reshape(deviations, (1, -1))
    return scaled.clip(-1, 1)


def _trapezoid_axis(y: Tensor, dim: int, aliases: dict[str, Any], op: str) -> int:
    """The axis of ``dim`` (or of numpy's ``axis=``, PyTorch's alias)."""
    if aliases:
        axis = aliases.pop("axis", None)
        if aliases:
            raise TypeError(f"{op}() got an unexpected keyword argument {next(iter(aliases))!r}")
        dim = dim if axis is None else axis
    return _normalize_axis(dim, y.ndim, op)[0]


def _spacing(y: Tensor, x: Tensor, axis: int, op: str) -> Tensor:
    """x's differences along the axis, shaped to broadcast with y's intervals."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[axis]:
            raise ValueError(f"{op}: x has {x.shape[0]} points but y has {y.shape[axis]} along dim {axis}")
        steps = x[1:] - x[:-1]
        return reshape(steps, (-1,) + (1,) * (y.ndim - axis - 1))
    length = x.shape[axis - y.ndim + x.ndim] if x.ndim >= y.ndim - axis else 0
    if x.ndim < y.ndim - axis or length != y.shape[axis]:
        raise ValueError(f"{op}: x of shape {x.shape} does not match y of shape {y.shape} along dim {axis}")
    x_axis = axis - y.ndim + x.ndim
    return narrow(x, x_axis, 1, length - 1) - narrow(x, x_axis, 0, length - 1)


def _no_bool(y: Tensor, x: Any, op: str) -> None:
    if y.dtype == np.bool_ or (isinstance(x, Tensor) and x.dtype == np.bool_):
        raise TypeError(f"{op}: bool tensors are not supported (as in PyTorch); convert with .int() or .float()")


def _empty_integral(y: Tensor, axis: int) -> Tensor:
    """PyTorch's integral along an empty dim: zeros of y's dtype, off the graph."""
    return Tensor(np.zeros(y.shape[:axis] + y.shape[axis + 1:], dtype=y.dtype))


def trapezoid(y: Tensor | ArrayLike, x: Tensor | ArrayLike | None = None, *, dx: float | None = None,
              dim: int = -1, **aliases: Any) -> Tensor:
    """The integral of y along ``dim`` by the trapezoid rule: sum of (x[i+1] - x[i]) (y[i] +
    y[i+1]) / 2, with points ``x`` (1-d, or broadcasting with y) or spacing ``dx`` (1 by default)."""
    y = _as_tensor(y)
    if x is not None and dx is not None:
        raise TypeError("trapezoid: give x or dx, not both")
    _no_bool(y, x, "trapezoid")
    axis = _trapezoid_axis(y, dim, aliases, "trapezoid")
    length = y.shape[axis]
    if x is None or not isinstance(x, Tensor) and np.ndim(x) == 0:
        step = 1.0 if dx is None and x is None else (dx if dx is not None else float(x))  # type: ignore[arg-type]
        if length == 0:
            return _empty_integral(y, axis)
        ends = narrow(y, axis, 0, 1).squeeze(axis) + narrow(y, axis, length - 1, 1).squeeze(axis)
        return (sum(y, axis) - ends * 0.5) * step
    spacing = _spacing(y, _as_tensor(x), axis, "trapezoid")
    if length == 0:
        return _empty_integral(y, axis)
    left, right = narrow(y, axis, 0, length - 1), narrow(y, axis, 1, length - 1)
    return sum(spacing * (left + right), axis) / 2.0


def trapz(y: Tensor | ArrayLike, x: Tensor | ArrayLike | float | None = None, *, dx: float | None = None,
          dim: int = -1, **aliases: Any) -> Tensor:
    """PyTorch's older name of ``trapezoid`` (``trapz(y, x, dim=)`` or ``trapz(y, dx=, dim=)``)."""
    return trapezoid(y, x, dx=dx, dim=dim, **aliases)


def cumulative_trapezoid(y: Tensor | ArrayLike, x: Tensor | ArrayLike | None = None, *, dx: float | None = None,
                         dim: int = -1, **aliases: Any) -> Tensor:
    """The running trapezoid-rule integral of y along ``dim``: one element fewer than y there."""
    y = _as_tensor(y)
    if x is not None and dx is not None:
        raise TypeError("cumulative_trapezoid: give x or dx, not both")
    _no_bool(y, x, "cumulative_trapezoid")
    axis = _trapezoid_axis(y, dim, aliases, "cumulative_trapezoid")
    length = y.shape[axis]
    pieces = max(length - 1, 0)
    left, right = narrow(y, axis, 0, pieces), narrow(y, axis, min(1, length), pieces)
    if x is None or not isinstance(x, Tensor) and np.ndim(x) == 0:
        step = 1.0 if dx is None and x is None else (dx if dx is not None else float(x))  # type: ignore[arg-type]
        return cumsum(left + right, axis) * (step / 2.0)
    spacing = _spacing(y, _as_tensor(x), axis, "cumulative_trapezoid")
    return cumsum(spacing * (left + right) / 2.0, axis)


def renorm(input: Tensor | ArrayLike, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` whose p-norm (over the other dims) exceeds ``maxnorm`` scaled down
    to norm maxnorm (PyTorch's factor maxnorm / (norm + 1e-7)); the others as they are."""
    input = _as_tensor(input)
    if input.dtype.kind != "f":
        raise TypeError(f"renorm: needs a floating tensor, got {input.dtype}")
    if p <= 0:
        raise ValueError(f"renorm: non-positive norm (p={p}) not supported")
    if maxnorm < 0:
        raise ValueError(f"renorm: expected maxnorm to be >= 0, got {maxnorm}")
    if input.ndim <= 1:
        raise ValueError(f"renorm: needs at least 2 dimensions, got shape {input.shape}")
    axis = _normalize_axis(dim, input.ndim, "renorm")[0]
    others = tuple(d for d in range(input.ndim) if d != axis)
    norms = linalg.vector_norm(input, p, others, True)
    factor = where(norms.data > maxnorm, maxnorm / (norms + 1e-7), np.ones((), input.dtype))
    return input * factor


def histc(input: Tensor | ArrayLike, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """The counts of input's values in ``bins`` equal bins over [min, max] (min = max: the data's
    range, widened by 1 each way if that is a point); values outside are not counted, max goes to
    the last bin. A tensor of input's dtype, off the graph."""
    input = _as_tensor(input)
    if input.dtype.kind != "f":
        raise TypeError(f"histc: not implemented for {input.dtype} tensors (as PyTorch's); convert with .float()")
    if bins <= 0:
        raise ValueError(f"histc: bins must be > 0, got {bins}")
    data = input.data.reshape(-1)
    low, high = float(min), float(max)
    if low == high and data.size:
        low, high = float(data.min()), float(data.max())
    if low == high:
        low, high = low - 1, high + 1
    if low > high or not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"histc: range of [{low}, {high}] is not finite or max < min")
    inside = data[(data >= low) & (data <= high)]
    # PyTorch's bin of x: int((x - min) * bins / (max - min)), the top edge in the last bin
    positions = ((inside - np.asarray(low, data.dtype)) * bins / np.asarray(high - low, data.dtype)).astype(np.int64)
    counts = np.bincount(np.minimum(positions, bins - 1), minlength=bins)
    return Tensor(counts.astype(input.dtype))


TENSOR_METHODS: dict[str, Callable[..., Any]] = {
    "aminmax": aminmax, "cov": cov, "corrcoef": corrcoef, "dist": dist, "renorm": renorm, "histc": histc}
