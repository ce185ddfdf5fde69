"""Scans and order along one dimension: cumsum, cumprod, cummax, cummin, logcumsumexp, sort,
argsort, msort, topk, kthvalue, median.

The order ops find their indices in numpy (no gradient) and gather the values with
``take_along_dim``, so the values' gradient is a scatter-add into the chosen positions (PyTorch's)
and higher orders come free. The three scans with a formula of their own are Functions whose
backward is written with the same ops, so it runs on arrays and, under create_graph, on Tensors.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .function import Function
from .gathering import take_along_dim
from .indexing import accepts_axis, concatenate, getitem
from .ops import _as_tensor, _normalize_axis, mean, reshape, sum, where
from .tensor import Tensor

if TYPE_CHECKING:
    from .engine import _G, _Gradient

__all__ = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "sort", "argsort", "msort", "topk",
           "kthvalue", "median", "diff", "nansum", "nanmean", "count_nonzero", "nanmedian", "quantile", "nanquantile",
           "mode"]

# PyTorch's torch.return_types: tuples whose fields are named (each ignore: the type's name is
# PyTorch's, not the variable's)
sort_result = NamedTuple("sort", [("values", Tensor), ("indices", Tensor)])  # type: ignore[name-match]
topk_result = NamedTuple("topk", [("values", Tensor), ("indices", Tensor)])  # type: ignore[name-match]
kthvalue_result = NamedTuple("kthvalue", [("values", Tensor), ("indices", Tensor)])  # type: ignore[name-match]
median_result = NamedTuple("median", [("values", Tensor), ("indices", Tensor)])  # type: ignore[name-match]
nanmedian_result = NamedTuple("nanmedian", [("values", Tensor), ("indices", Tensor)])  # type: ignore[name-match]
mode_result = NamedTuple("mode", [("values", Tensor), ("indices", Tensor)])  # type: ignore[name-match]
cummax_result = NamedTuple("cummax", [("values", Tensor), ("indices", Tensor)])  # type: ignore[name-match]
cummin_result = NamedTuple("cummin", [("values", Tensor), ("indices", Tensor)])  # type: ignore[name-match]
# one of them: what _running_extreme and _pick build
_Result = TypeVar("_Result", bound=tuple)


def _scan_input(input: Tensor | ArrayLike, dim: int | None, op: str) -> tuple[Tensor, int, bool]:
    """(input as a tensor of at least 1 dimension, the axis, whether it was 0-d)."""
    input = _as_tensor(input)
    if dim is None:
        raise TypeError(f"{op}: give dim, the dimension to scan along (PyTorch's {op} has no default)")
    scalar = input.ndim == 0
    if scalar:
        input = reshape(input, 1)
    return input, _normalize_axis(dim, input.ndim, op)[0], scalar


def _flip(x: _G, axis: int) -> _G:
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


def _reverse_cumsum(g: _G, axis: int) -> _G:
    """sum over j >= i along axis: an array for arrays, a graph node for Tensors."""
    if isinstance(g, np.ndarray):
        return np.flip(np.cumsum(np.flip(g, axis), axis), axis)
    return _flip(CumSum.apply(_flip(g, axis), axis), axis)


class CumSum(Function):
    """Running sum along ``axis``; the gradient is the running sum of the gradient from the end."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: int) -> np.ndarray:
        ctx.axis = axis
        return np.cumsum(x, axis)

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None]:
        return _reverse_cumsum(grad, ctx.axis), None


class CumProd(Function):
    """Running product along ``axis``. Gradient: sum over j >= i of g_j out_j / x_i where x has no
    zeros; otherwise each product of the others is formed exactly (O(n^2) along the axis)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: int) -> np.ndarray:
        out = np.cumprod(x, axis)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None]:
        x, out = ctx.saved_tensors
        values = x.data if isinstance(x, Tensor) else x
        if (values != 0).all():
            return _reverse_cumsum(grad * out, ctx.axis) / x, None
        return _cumprod_grad_with_zeros(grad, x, ctx.axis), None


def _cumprod_grad_with_zeros(grad: np.ndarray | Tensor, x: np.ndarray | Tensor, axis: int) -> Tensor:
    """sum_{j >= i} g_j prod_{k <= j, k != i} x_k = (prod_{k < i} x_k) sum_{j >= i} g_j prod_{i < k <= j} x_k."""
    from .shapes import movedim
    x, grad = movedim(_as_tensor(x), axis, -1), movedim(_as_tensor(grad), axis, -1)
    n = x.shape[-1]
    later = np.triu(np.ones((n, n), bool), 1)           # [i, j]: i < j
    between = CumProd.apply(where(later, reshape(x, x.shape[:-1] + (1, n)), 1.0), x.ndim)
    ones = _as_tensor(np.ones(x.shape[:-1] + (1,), x.dtype))
    before = CumProd.apply(concatenate([ones, x[..., :-1]], -1), x.ndim - 1)
    terms = where(np.triu(np.ones((n, n), bool)), reshape(grad, grad.shape[:-1] + (1, n)) * between, 0.0)
    return movedim(before * sum(terms, -1), -1, axis)


class LogCumSumExp(Function):
    """log(cumsum(exp(x))) along ``axis``, by pairwise logaddexp (stable for any range). Backward
    as PyTorch's: the positive and negative parts of the gradient through reversed
    logcumsumexps, so nothing overflows."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: int) -> np.ndarray:
        out = np.logaddexp.accumulate(x, axis) if x.shape[axis] else x.copy()
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None]:
        x, out = ctx.saved_tensors
        axis = ctx.axis
        lowest = np.finfo(x.dtype).min
        parts = []
        with np.errstate(divide="ignore", over="ignore"):    # log(0) and lowest - out: -inf, as meant
            log_size = np.log(np.abs(grad))
            for side in (grad > 0, grad < 0):
                scaled = np.where(side, log_size, lowest) - out
                parts.append(np.exp(_flip(LogCumSumExp.apply(_flip(scaled, axis), axis), axis) + x))
        return parts[0] - parts[1], None


def _scan(cls: type[Function], input: Tensor | ArrayLike, dim: int, dtype: DTypeLike | None, op: str) -> Tensor:
    input, axis, scalar = _scan_input(input, dim, op)
    if dtype is not None:
        input = input.astype(dtype)
    elif input.dtype.kind in "bu" or input.dtype == np.int32:
        input = input.astype(np.int64)     # PyTorch's integer scans run in int64
    out = cls.apply(input, axis)
    return reshape(out, ()) if scalar else out


@accepts_axis
def cumsum(input: Tensor | ArrayLike, dim: int, dtype: DTypeLike | None = None) -> Tensor:
    """Running sum along ``dim``: out[i] = x[0] + ... + x[i] (integer and bool input in int64)."""
    return _scan(CumSum, input, dim, dtype, "cumsum")


@accepts_axis
def cumprod(input: Tensor | ArrayLike, dim: int, dtype: DTypeLike | None = None) -> Tensor:
    """Running product along ``dim``: out[i] = x[0] * ... * x[i]; gradients exact at zeros."""
    return _scan(CumProd, input, dim, dtype, "cumprod")


@accepts_axis
def logcumsumexp(input: Tensor | ArrayLike, dim: int) -> Tensor:
    """log(exp(x[0]) + ... + exp(x[i])) along ``dim``, computed stably."""
    input = _as_tensor(input)
    if input.dtype.kind != "f":
        raise TypeError(f"logcumsumexp: needs a floating tensor, got {input.dtype}")
    return _scan(LogCumSumExp, input, dim, None, "logcumsumexp")


def _running_extreme(input: Tensor | ArrayLike, dim: int, accumulate: Callable[[np.ndarray, int], np.ndarray],
                     result: Callable[[Tensor, Tensor], _Result], op: str) -> _Result:
    input, axis, scalar = _scan_input(input, dim, op)
    data = input.data
    values = accumulate(data, axis)         # nan, once met, stays (np.maximum propagates it)
    # the index of the last element equal to the running extreme, or of the last nan met
    marked = (data == values) | (np.isnan(data) if data.dtype.kind == "f" else False)
    positions = np.arange(data.shape[axis]).reshape((-1,) + (1,) * (data.ndim - axis - 1))
    indices = np.maximum.accumulate(np.where(marked, positions, 0), axis)
    out = take_along_dim(input, indices, axis)
    if scalar:
        return result(reshape(out, ()), Tensor(indices.reshape(())))
    return result(out, Tensor(indices))


@accepts_axis
def cummax(input: Tensor | ArrayLike, dim: int) -> cummax_result:
    """(values, indices): the running maximum along ``dim`` and where it was (the last of equal
    values; a nan propagates). The gradient goes to those positions."""
    return _running_extreme(input, dim, np.maximum.accumulate, cummax_result, "cummax")


@accepts_axis
def cummin(input: Tensor | ArrayLike, dim: int) -> cummin_result:
    """(values, indices): the running minimum along ``dim`` and where it was (as cummax)."""
    return _running_extreme(input, dim, np.minimum.accumulate, cummin_result, "cummin")


def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sorting indices along axis; nan sorts as the largest value (PyTorch)."""
    if not descending:
        return np.argsort(data, axis, kind="stable")
    # descending and stable: sort the reversed input ascending, then read it backwards
    n = data.shape[axis]
    reversed_order = np.argsort(np.flip(data, axis), axis, kind="stable")
    return np.flip(n - 1 - reversed_order, axis)


@accepts_axis
def argsort(input: Tensor | ArrayLike, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """Indices that sort ``input`` along ``dim`` (int64; ties keep their order; nan last, or first
    when descending). No gradient."""
    data = np.asarray(input.data if isinstance(input, Tensor) else input)
    if data.ndim == 0:
        return Tensor(np.zeros((), np.int64))
    axis = _normalize_axis(dim, data.ndim, "argsort")[0]
    return Tensor(_order(data, axis, descending).astype(np.int64))


@accepts_axis
def sort(input: Tensor | ArrayLike, dim: int = -1, descending: bool = False, stable: bool = False) -> sort_result:
    """(values, indices) of ``input`` sorted along ``dim`` (stable; nan as the largest value).
    The values' gradient goes back to the positions they came from."""
    input = _as_tensor(input)
    indices = argsort(input, dim, descending)
    if input.ndim == 0:
        return sort_result(input, indices)
    return sort_result(take_along_dim(input, indices.data, dim), indices)


def msort(input: Tensor | ArrayLike) -> Tensor:
    """``input`` sorted along dimension 0 (the values of ``sort(input, 0)``)."""
    return sort(input, 0).values


@accepts_axis
def topk(input: Tensor | ArrayLike, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> topk_result:
    """(values, indices) of the ``k`` largest (``largest=False``: smallest) elements along ``dim``,
    in order (nan counts as the largest)."""
    input = _as_tensor(input)
    axis = _normalize_axis(dim, max(input.ndim, 1), "topk")[0]
    size = input.shape[axis] if input.ndim else 1
    if not 0 <= k <= size:
        raise ValueError(f"topk: k={k} is out of range for dimension {axis} of size {size} (input shape "
                         f"{input.shape})")
    values, indices = sort(input, dim, descending=largest)
    if input.ndim == 0:
        return topk_result(values, indices)
    cut = (slice(None),) * axis + (slice(0, k),)
    return topk_result(getitem(values, cut), Tensor(indices.data[cut]))


def _pick(input: Tensor | ArrayLike, dim: int, keepdim: bool, position: Callable[[np.ndarray, int], np.ndarray],
          result: Callable[[Tensor, Tensor], _Result], op: str) -> _Result:
    """The element at ``position`` (per slice) of input sorted ascending along dim."""
    input = _as_tensor(input)
    if input.ndim == 0:
        return result(input, Tensor(np.zeros((), np.int64)))
    axis = _normalize_axis(dim, input.ndim, op)[0]
    order = _order(input.data, axis, False)
    chosen = np.take_along_axis(order, np.expand_dims(position(input.data, axis), axis), axis)
    values = take_along_dim(input, chosen, axis)
    if not keepdim:
        values, chosen = reshape(values, values.shape[:axis] + values.shape[axis + 1:]), chosen.squeeze(axis)
    return result(values, Tensor(chosen.astype(np.int64)))


@accepts_axis
def kthvalue(input: Tensor | ArrayLike, k: int, dim: int = -1, keepdim: bool = False) -> kthvalue_result:
    """(values, indices): the ``k``-th smallest element (k from 1) along ``dim``."""
    input = _as_tensor(input)
    size = input.shape[_normalize_axis(dim, input.ndim, "kthvalue")[0]] if input.ndim else 1
    if not 1 <= k <= size:
        raise ValueError(f"kthvalue: k={k} is out of range for a dimension of size {size}; use 1 <= k <= {size}")
    return _pick(input, dim, keepdim, lambda data, axis: np.full(
        data.shape[:axis] + data.shape[axis + 1:], k - 1), kthvalue_result, "kthvalue")


def _lower_middle(data: np.ndarray, axis: int) -> np.ndarray:
    """Per slice: the lower median's position in ascending order, or the first nan's if any."""
    n = data.shape[axis]
    if n == 0:
        raise ValueError("median: cannot take the median of an empty dimension")
    if data.dtype.kind != "f":
        return np.full(data.shape[:axis] + data.shape[axis + 1:], (n - 1) // 2)
    nans = np.isnan(data).sum(axis)
    return np.where(nans > 0, n - nans, (n - 1) // 2)


@overload
def median(input: Tensor | ArrayLike, dim: None = None, keepdim: bool = False) -> Tensor: ...
@overload
def median(input: Tensor | ArrayLike, dim: int, keepdim: bool = False) -> median_result: ...


@accepts_axis
def median(input: Tensor | ArrayLike, dim: int | None = None, keepdim: bool = False) -> Tensor | median_result:
    """The lower of the two middle values (PyTorch's median, not numpy's average; nan if a nan is
    present). Without ``dim``: of all elements, a 0-d tensor; with ``dim``: (values, indices).
    The gradient goes to the one chosen element."""
    return _median(input, dim, keepdim, _lower_middle, median_result, "median")


def _median(input: Tensor | ArrayLike, dim: int | None, keepdim: bool, middle: Callable[..., Any],
            result: type, op: str) -> Any:
    """median and nanmedian: ``middle`` finds each slice's position in ascending order."""
    input = _as_tensor(input)
    if input.dtype == np.bool_:
        raise TypeError(f"{op}: bool tensors are not supported (as in PyTorch); convert with .int() or .float()")
    if dim is None:
        if input.size == 0:
            if input.dtype.kind == "f":     # PyTorch's answer: nan, on the graph (an empty gradient)
                return input.sum() * math.nan
            raise ValueError(f"{op}: the integer input is empty, so it has no median (PyTorch returns an "
                             "arbitrary value here)")
        return _pick(reshape(input, -1), 0, False, middle, result, op).values
    return _pick(input, dim, keepdim, middle, result, op)


def _lower_middle_of_numbers(data: np.ndarray, axis: int) -> np.ndarray:
    """Per slice: the lower median's position in ascending order among the values that are not
    nan (nan sorts last)."""
    n = data.shape[axis]
    if n == 0:
        raise ValueError("nanmedian: cannot take the median of an empty dimension")
    if data.dtype.kind != "f":
        return np.full(data.shape[:axis] + data.shape[axis + 1:], (n - 1) // 2)
    numbers = n - np.isnan(data).sum(axis)
    # (all nan: the middle of them, where PyTorch looks)
    return np.where(numbers == 0, (n - 1) // 2, (numbers - 1) // 2)


@overload
def nanmedian(input: Tensor | ArrayLike, dim: None = None, keepdim: bool = False) -> Tensor: ...
@overload
def nanmedian(input: Tensor | ArrayLike, dim: int, keepdim: bool = False) -> nanmedian_result: ...


@accepts_axis
def nanmedian(input: Tensor | ArrayLike, dim: int | None = None, keepdim: bool = False) -> Tensor | nanmedian_result:
    """median ignoring nan: the lower middle of the values that are not nan (nan where all are).
    Without ``dim``: a 0-d tensor; with ``dim``: (values, indices)."""
    return _median(input, dim, keepdim, _lower_middle_of_numbers, nanmedian_result, "nanmedian")


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input: Tensor | ArrayLike, q: Tensor | ArrayLike | float, dim: int | None, keepdim: bool,
              interpolation: str, ignore_nan: bool, op: str) -> Tensor:
    """quantile and nanquantile, as PyTorch computes them: sort along dim (nan last), the rank
    q (n - 1) (n: the values that are not nan, for nanquantile), then the values at the ranks
    below and above, interpolated; the gradient goes to those values."""
    from .pointwise import lerp
    input = _as_tensor(input)
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input tensor must be either float or double dtype, got {input.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{op}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, got {interpolation!r}")
    scalar_q = not isinstance(q, Tensor) and np.ndim(q) == 0
    q_values = np.asarray(q.data if isinstance(q, Tensor) else q)
    if isinstance(q, Tensor) and q.dtype != input.dtype:
        raise TypeError(f"{op}: q tensor must be the same dtype as the input ({input.dtype}), got {q.dtype}")
    if q_values.ndim > 1:
        raise ValueError(f"{op}: q must be a scalar or a 1-d tensor, got shape {q_values.shape}")
    if ((q_values < 0) | (q_values > 1)).any() or np.isnan(q_values).any():
        raise ValueError(f"{op}: q values must be in the range [0, 1]")
    if input.size == 0:
        raise ValueError(f"{op}: input tensor must be non-empty")
    scalar_q = scalar_q or (isinstance(q, Tensor) and q.ndim == 0)
    q_values = q_values.reshape(-1).astype(input.dtype)
    ndim = input.ndim
    if dim is None:
        values, axis = reshape(input, (-1,)), 0
    else:
        axis = _normalize_axis(dim, max(ndim, 1), op)[0]
        values = input if ndim else reshape(input, (1,))
    ordered = movedim_last(sort(values, axis).values, axis)            # (..., n)
    n = ordered.shape[-1]
    nans = np.isnan(ordered.data)
    if ignore_nan:
        scale = (n - nans.sum(-1, keepdims=True) - 1).astype(input.dtype)
        ranks = q_values * scale
        fixed = ranks < 0
        ranks = np.where(fixed, 0, ranks)
    else:
        scale = np.asarray(n - 1, input.dtype)
        ranks = q_values * scale
        fixed = nans.any(-1, keepdims=True)
        ranks = np.where(fixed, n - 1, ranks)
    ranks = np.broadcast_to(ranks, ordered.shape[:-1] + (q_values.size,)).astype(input.dtype)
    if interpolation == "nearest":
        ranks = np.round(ranks)             # (halves to even, as PyTorch's round)
    below = np.floor(ranks).astype(np.int64) if interpolation != "higher" else np.ceil(ranks).astype(np.int64)
    result = take_along_dim(ordered, below, -1)
    if interpolation in ("linear", "midpoint"):
        above = np.ceil(ranks).astype(np.int64)
        weights: Any = ranks - below if interpolation == "linear" else np.full(ranks.shape, 0.5, input.dtype)
        weights = Tensor(weights.astype(input.dtype))
        if interpolation == "linear" and isinstance(q, Tensor) and q.requires_grad:
            # q's gradient, as PyTorch's: through the weights q (n - 1) - below (not where the rank is fixed)
            weights = where(np.broadcast_to(fixed, ranks.shape), weights, reshape(q, (-1,)) * scale - below)
        result = lerp(result, take_along_dim(ordered, above, -1), weights)
    # (..., Q) -> (Q, ...), keepdim puts back the reduced dim (all of them for dim=None)
    result = movedim_first(result)
    if keepdim:
        kept = (1,) * ndim if dim is None else input.shape[:axis] + (1,) + input.shape[axis + 1:] if ndim else ()
        result = reshape(result, (q_values.size,) + kept)
    return reshape(result, result.shape[1:]) if scalar_q else result


def movedim_last(x: Tensor, axis: int) -> Tensor:
    from .shapes import movedim
    return x if axis == x.ndim - 1 else movedim(x, axis, -1)


def movedim_first(x: Tensor) -> Tensor:
    from .shapes import movedim
    return x if x.ndim <= 1 else movedim(x, -1, 0)


@accepts_axis
def quantile(input: Tensor | ArrayLike, q: Tensor | ArrayLike | float, dim: int | None = None, keepdim: bool = False,
             *, interpolation: str = "linear") -> Tensor:
    """The q-th quantiles (q in [0, 1], a number or a 1-d tensor: then a leading dim of len(q))
    over ``dim`` (all elements when None), PyTorch's way: rank q (n - 1) of the sorted values,
    ``interpolation`` linear, lower, higher, midpoint or nearest; nan where a nan is present."""
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


@accepts_axis
def nanquantile(input: Tensor | ArrayLike, q: Tensor | ArrayLike | float, dim: int | None = None,
                keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
    """quantile ignoring nan (nan where every value is)."""
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


@accepts_axis
def mode(input: Tensor | ArrayLike, dim: int = -1, keepdim: bool = False) -> mode_result:
    """(values, indices): the most frequent value along ``dim`` (the smallest among equally
    frequent ones) and its last position; the gradient goes to that element. (With nan in a
    slice PyTorch's answer is undefined: its sort is given an order nan breaks.)"""
    input = _as_tensor(input)
    if input.ndim == 0:
        return mode_result(input * 1, Tensor(np.zeros((), np.int64)))
    axis = _normalize_axis(dim, input.ndim, "mode")[0]
    data = np.moveaxis(input.data, axis, -1)
    if data.shape[-1] == 0:
        raise ValueError(f"mode: the dimension {dim} of the input of shape {input.shape} is empty")
    rows = data.reshape(-1, data.shape[-1])
    chosen = np.empty(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        kinds, counts = np.unique(row, return_counts=True, equal_nan=False)   # (ascending; each nan its own)
        value = kinds[np.argmax(counts)]
        matches = np.flatnonzero((row == value) | (np.isnan(row) & np.isnan(value)) if row.dtype.kind == "f"
                                 else row == value)
        chosen[r] = matches[-1]
    index = np.expand_dims(chosen.reshape(data.shape[:-1]), axis)
    values = take_along_dim(input, index, axis)
    if not keepdim:
        values, index = reshape(values, values.shape[:axis] + values.shape[axis + 1:]), index.squeeze(axis)
    return mode_result(values, Tensor(index))


def numpy_median(a: Tensor | ArrayLike, axis: int | None = None, keepdims: bool = False,
                 **unsupported: object) -> Tensor:
    """numpy's median on a tensor (``np.median(t)``): the average of the two middle values for an
    even count, nan if a nan is present."""
    if unsupported:
        raise TypeError(f"np.median on a tensor: {sorted(unsupported)} not supported")
    a = _as_tensor(a)
    if axis is None:
        a, axis = reshape(a, -1), 0
    axis = _normalize_axis(axis, a.ndim, "median")[0]
    n = a.shape[axis]
    values = sort(a, axis).values
    middle = getitem(values, (slice(None),) * axis + (slice((n - 1) // 2, n // 2 + 1),))
    out = mean(middle, axis, keepdim=True)
    if a.dtype.kind == "f":
        has_nan = np.isnan(a.data).any(axis, keepdims=True)
        out = where(has_nan, np.nan, out)
    return out if keepdims else reshape(out, out.shape[:axis] + out.shape[axis + 1:])


@accepts_axis
def diff(input: Tensor | ArrayLike, n: int = 1, dim: int = -1, prepend: Tensor | ArrayLike | None = None,
         append: Tensor | ArrayLike | None = None) -> Tensor:
    """The n-th forward difference along ``dim`` (x[1:] - x[:-1], n times), after joining
    ``prepend`` and ``append`` (same dims as input) along it; bool tensors give x[1:] != x[:-1]."""
    x = _as_tensor(input)
    if x.ndim == 0:
        raise ValueError("diff: needs a tensor of at least one dimension, got a 0-d one")
    axis = _normalize_axis(dim, x.ndim, "diff")[0]
    ends = [_as_tensor(t) for t in (prepend, append) if t is not None]
    if any(t.ndim != x.ndim for t in ends):
        raise ValueError(f"diff: prepend and append must have the input's {x.ndim} dimensions, got shapes "
                         f"{[t.shape for t in ends]} for input {x.shape}")
    if ends:
        x = concatenate([t for t in (prepend, x, append) if t is not None], axis)
    lead = (slice(None),) * axis
    for _ in range(n):
        later, earlier = getitem(x, lead + (slice(1, None),)), getitem(x, lead + (slice(None, -1),))
        x = later != earlier if x.dtype == np.bool_ else later - earlier
    return x


@accepts_axis
def nansum(input: Tensor | ArrayLike, dim: int | tuple[int, ...] | list[int] | None = None, keepdim: bool = False, *,
           dtype: DTypeLike | None = None) -> Tensor:
    """The sum over ``dim`` with nan counted as 0 (gradient 0 at the nans)."""
    x = _as_tensor(input)
    if dtype is not None:
        x = x.astype(dtype)
    # (the mask from the tensor's isnan: a step compiled with ad.compile records it)
    return sum(where(x.isnan(), 0.0, x), dim, keepdim) if x.dtype.kind == "f" else sum(x, dim, keepdim)


@accepts_axis
def nanmean(input: Tensor | ArrayLike, dim: int | tuple[int, ...] | list[int] | None = None, keepdim: bool = False, *,
            dtype: DTypeLike | None = None) -> Tensor:
    """The mean over ``dim`` of the elements that are not nan (nan where all are)."""
    x = _as_tensor(input)
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"nanmean: needs a floating tensor, got {x.dtype}; convert it with .float()")
    counted = sum((~x.isnan()).astype(x.dtype), dim, keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        return nansum(x, dim, keepdim) / counted


@accepts_axis
def count_nonzero(input: Tensor | ArrayLike, dim: int | tuple[int, ...] | list[int] | None = None) -> Tensor:
    """How many elements over ``dim`` (all when None) are non-zero: int64, no gradient."""
    x = _as_tensor(input)
    axes = _normalize_axis(dim, x.ndim, "count_nonzero")
    return Tensor(np.asarray(np.count_nonzero(x.data, axis=axes), dtype=np.int64))


TENSOR_METHODS: dict[str, Callable[..., Any]] = {
    "cumsum": cumsum, "cumprod": cumprod, "cummax": cummax, "cummin": cummin, "logcumsumexp": logcumsumexp,
    "sort": sort, "argsort": argsort, "msort": msort, "topk": topk, "kthvalue": kthvalue, "median": median,
    "diff": diff, "nansum": nansum, "nanmean": nanmean, "count_nonzero": count_nonzero, "nanmedian": nanmedian,
    "quantile": quantile, "nanquantile": nanquantile, "mode": mode}


def _numpy_axis(a: Tensor | ArrayLike, axis: int | None, op: str) -> tuple[Tensor | ArrayLike, int]:
    """numpy's axis=None for scans and sorts: of the flattened array."""
    return (reshape(_as_tensor(a), -1), 0) if axis is None else (a, axis)


from .ops import _ARRAY_FUNCTIONS  # noqa: E402
_ARRAY_FUNCTIONS.update({
    np.cumsum: lambda a, axis=None, dtype=None: cumsum(*_numpy_axis(a, axis, "cumsum"), dtype),
    np.cumprod: lambda a, axis=None, dtype=None: cumprod(*_numpy_axis(a, axis, "cumprod"), dtype),
    np.sort: lambda a, axis=-1, kind=None, stable=None: sort(*_numpy_axis(a, axis, "sort")).values,
    np.argsort: lambda a, axis=-1, kind=None, stable=None: argsort(*_numpy_axis(a, axis, "argsort")),
    np.median: numpy_median,
})
