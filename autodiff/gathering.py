"""Gather and scatter: PyTorch's index-driven ops, composed from getitem (whose backward is a
scatter-add, and whose scatter-add's backward is a gather again), ``where`` and the reductions,
so first and second derivatives come free. Also the ops without a gradient that go with them:
nonzero, one_hot, bincount, unique, and the searches searchsorted, bucketize and isin.

``index`` arguments are integer tensors or arrays; as in PyTorch, an index out of range (or
negative) raises an IndexError naming the op, the index and the size.
"""
from __future__ import annotations

from typing import Any, Callable, Literal, overload

import numpy as np
from numpy.typing import ArrayLike

from .indexing import ScatterAdd, accepts_axis, concatenate, getitem
from .ops import _as_tensor, _normalize_axis, amax, amin, broadcast_to, prod, reshape, sum, where
from .tensor import Tensor

__all__ = ["gather", "take_along_dim", "index_select", "masked_fill", "masked_select", "scatter",
           "scatter_add", "scatter_reduce", "index_add", "nonzero", "argwhere", "one_hot", "bincount", "unique",
           "searchsorted", "bucketize", "isin", "index_fill", "index_copy", "index_put", "masked_scatter",
           "select_scatter", "slice_scatter", "diagonal_scatter"]


def _indices(index: Tensor | ArrayLike, op: str) -> np.ndarray:
    """An index argument as an int64 array, or a TypeError that names the op."""
    array = np.asarray(index.data if isinstance(index, Tensor) else index)
    if array.dtype.kind not in "iu" and not (array.size == 0 and array.dtype.kind == "f"):
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {array.dtype}; convert it with .long()")
    return array.astype(np.int64, copy=False)


def _dim(x: Tensor, dim: int, op: str) -> int:
    return _normalize_axis(dim, max(x.ndim, 1), op)[0]


def _along(index: np.ndarray, dim: int) -> tuple[np.ndarray, ...]:
    """The numpy index that reads ``x[i0, .., index[i0, .., id, ..], ..]`` for every position of
    ``index`` (PyTorch's gather rule): open grids on every axis but ``dim``."""
    if index.ndim <= 1:
        return (index,)
    grids = list(np.ogrid[tuple(slice(n) for n in index.shape)])
    grids[dim] = index
    return tuple(grids)


def _check_gather(x_shape: tuple[int, ...], index: np.ndarray, dim: int, op: str, other: str = "input") -> None:
    if index.ndim != len(x_shape) and not (index.ndim <= 1 and len(x_shape) <= 1):
        raise ValueError(f"{op}: index of shape {index.shape} must have as many dimensions as the {other} "
                         f"(shape {x_shape}); unsqueeze it or use take_along_dim, which broadcasts")
    for d, (n, m) in enumerate(zip(index.shape, x_shape)):
        if d != dim and n > m:
            raise ValueError(f"{op}: index of shape {index.shape} is larger than the {other} (shape {x_shape}) "
                             f"along dimension {d}; only dimension {dim} may differ")
    size = x_shape[dim] if x_shape else 1
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index.min() if index.min() < 0 else index.max()
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}; "
                         f"indices must be in [0, {size - 1}]")


@accepts_axis
def gather(input: Tensor | ArrayLike, dim: int, index: Tensor | ArrayLike, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for dim 0 (and so on): (index's shape) out, values of
    ``input`` picked along ``dim``. index has input's number of dimensions and is no larger off
    ``dim``. The gradient scatter-adds into the picked positions (repeats accumulate; it is
    dense whatever ``sparse_grad`` says)."""
    input = _as_tensor(input)
    dim = _dim(input, dim, "gather")
    index = _indices(index, "gather")
    _check_gather(input.shape, index, dim, "gather")
    if input.ndim == 0:
        return reshape(getitem(reshape(input, 1), index.reshape(-1)), index.shape)
    return getitem(input, _along(index, dim))


@accepts_axis
def take_along_dim(input: Tensor | ArrayLike, indices: Tensor | ArrayLike, dim: int | None = None) -> Tensor:
    """``gather`` with input and indices broadcast against each other off ``dim``; with
    ``dim=None`` both are flattened first."""
    input = _as_tensor(input)
    indices = _indices(indices, "take_along_dim")
    if dim is None:
        return gather(reshape(input, -1), 0, indices.reshape(-1))
    dim = _dim(input, dim, "take_along_dim")
    if indices.ndim != input.ndim:
        raise ValueError(f"take_along_dim: input (shape {input.shape}) and indices (shape {indices.shape}) "
                         "must have the same number of dimensions")
    try:
        shape = list(np.broadcast_shapes(input.shape[:dim] + (1,) + input.shape[dim + 1:],
                                         indices.shape[:dim] + (1,) + indices.shape[dim + 1:]))
    except ValueError:
        raise ValueError(f"take_along_dim: input of shape {input.shape} and indices of shape {indices.shape} "
                         f"do not broadcast off dimension {dim}") from None
    input = broadcast_to(input, tuple(shape[:dim] + [input.shape[dim]] + shape[dim + 1:]))
    indices = np.broadcast_to(indices, tuple(shape[:dim] + [indices.shape[dim]] + shape[dim + 1:]))
    return gather(input, dim, indices)


@accepts_axis
def index_select(input: Tensor | ArrayLike, dim: int, index: Tensor | ArrayLike) -> Tensor:
    """The slices ``index`` (1-D) of ``input`` along ``dim``; repeats allowed (their gradients add)."""
    input = _as_tensor(input)
    dim = _dim(input, dim, "index_select")
    index = _indices(index, "index_select")
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D (or 0-d), got shape {index.shape}")
    _check_gather((input.shape[dim] if input.ndim else 1,), index.reshape(-1), 0, "index_select")
    if input.ndim == 0:
        return reshape(input, ()) if index.size else reshape(input, 1)[:0]
    return getitem(input, (slice(None),) * dim + (index.reshape(-1),))


def masked_fill(input: Tensor | ArrayLike, mask: Tensor | ArrayLike, value: Tensor | ArrayLike) -> Tensor:
    """``value`` where ``mask`` (bool, broadcast with input) is True, else ``input``; value is a
    number or a 0-d tensor (which gets the gradient of the filled places), cast to input's dtype."""
    input = _as_tensor(input)
    mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}; compare first, e.g. "
                        "mask = labels == 0")
    if isinstance(value, Tensor):
        if value.ndim:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        value = value.astype(input.dtype)
    else:
        value = np.asarray(value).astype(input.dtype)
    try:
        np.broadcast_shapes(mask.shape, input.shape)
    except ValueError:
        raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast with input of shape "
                         f"{input.shape}") from None
    return where(mask, value, input)


def masked_select(input: Tensor | ArrayLike, mask: Tensor | ArrayLike) -> Tensor:
    """The elements of ``input`` where ``mask`` (bool, broadcast together) is True, as a 1-D tensor."""
    input = _as_tensor(input)
    mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor, got dtype {mask.dtype}")
    shape = np.broadcast_shapes(mask.shape, input.shape)
    return getitem(broadcast_to(input, shape), np.broadcast_to(mask, shape))


def _scatter_parts(input: Tensor | ArrayLike, dim: int, index: Tensor | ArrayLike, src: Tensor | ArrayLike,
                   op: str) -> tuple[Tensor, int, tuple[Any, ...], Tensor]:
    """Checked (input, dim, numpy index, src cut to index's shape) of a scatter op."""
    input = _as_tensor(input)
    dim = _dim(input, dim, op)
    index = _indices(index, op)
    _check_gather(input.shape, index, dim, op)
    if isinstance(src, (Tensor, np.ndarray)) and np.ndim(src.data if isinstance(src, Tensor) else src):
        src = _as_tensor(src)
        if src.ndim != index.ndim or any(n > m for n, m in zip(index.shape, src.shape)):
            raise ValueError(f"{op}: src of shape {src.shape} must have index's number of dimensions and be "
                             f"at least as large as index (shape {index.shape})")
        src = getitem(src, tuple(slice(n) for n in index.shape))
        if src.dtype != input.dtype:
            src = src.astype(input.dtype)
    else:       # a number (or a 0-d tensor): the same value at every index
        src = broadcast_to(_as_tensor(src).astype(input.dtype), index.shape)
    return input, dim, (_along(index, dim) if input.ndim else (index.reshape(-1),)), src


@accepts_axis
def scatter(input: Tensor | ArrayLike, dim: int, index: Tensor | ArrayLike, src: Tensor | ArrayLike | None = None,
            value: Tensor | ArrayLike | None = None, reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``src[i][j]`` written at ``[index[i][j]][j]`` (dim 0; and so on);
    ``src`` may be a number (or given as ``value=``). The gradient: ``input``'s where nothing was
    written, ``src``'s gathered at index. With repeated indices which write wins is unspecified
    (as in PyTorch). ``reduce="add"``/``"multiply"``: scatter_reduce's "sum"/"prod"."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: give src (a tensor or a number) or value=")
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        return scatter_reduce(input, dim, index, src, "sum" if reduce == "add" else "prod")
    input, dim, where_to, src = _scatter_parts(input, dim, index, src, "scatter")
    written = np.zeros(input.shape, bool)
    written[where_to] = True
    return where(written, ScatterAdd.apply(src, input.shape, where_to, True), input)


@accepts_axis
def scatter_add(input: Tensor | ArrayLike, dim: int, index: Tensor | ArrayLike, src: Tensor | ArrayLike) -> Tensor:
    """``input`` plus ``src`` added at the positions ``index`` names along ``dim`` (repeats add)."""
    input, dim, where_to, src = _scatter_parts(input, dim, index, src, "scatter_add")
    return input + ScatterAdd.apply(src, input.shape, where_to, True)


_PADS: dict[str, float] = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}


@accepts_axis
def scatter_reduce(input: Tensor | ArrayLike, dim: int, index: Tensor | ArrayLike, src: Tensor | ArrayLike, reduce: str,
                   include_self: bool = True) -> Tensor:
    """Reduce the ``src`` values sent to each position (and input's own value unless
    ``include_self=False``; positions nothing is sent to keep input's) with ``reduce``: "sum",
    "prod", "mean", "amax" or "amin". Gradients as PyTorch: prod's are the product of the others
    (exact at zeros); amax/amin share the gradient evenly among ties; mean divides by the count.

    How: each output position gets a row of its contributors (padded with the reduction's
    identity), and the reduction runs along the rows."""
    if reduce not in _PADS:
        raise ValueError(f"scatter_reduce: reduce must be one of {sorted(_PADS)}, got {reduce!r}")
    input, dim, where_to, src = _scatter_parts(input, dim, index, src, "scatter_reduce")
    size = input.size
    targets = np.ravel_multi_index(tuple(np.broadcast_arrays(*where_to)), input.shape).reshape(-1)
    counts = np.bincount(targets, minlength=size)
    order = np.argsort(targets, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(targets.size) - starts[targets[order]]
    pad = size + targets.size
    table = np.full((size, 1 + (counts.max() if size and targets.size else 0)), pad)
    own = include_self | (counts == 0)
    table[own, 0] = np.arange(size)[own]
    table[targets[order], 1 + rank] = size + order
    pad_value = _PADS[reduce]
    if input.dtype.kind in "iu" and reduce in ("amax", "amin"):
        info = np.iinfo(input.dtype)
        pad_value = info.min if reduce == "amax" else info.max
    values = concatenate([reshape(input, -1), reshape(src, -1), _as_tensor(np.array([pad_value], input.dtype))])
    rows = getitem(values, table)
    if reduce == "sum":
        out = sum(rows, 1)
    elif reduce == "prod":
        out = prod(rows, 1)
    elif reduce == "amax":
        out = amax(rows, 1)
    elif reduce == "amin":
        out = amin(rows, 1)
    else:
        count = (counts + own).astype(input.dtype)
        out = sum(rows, 1) // count if input.dtype.kind in "iub" else sum(rows, 1) / count
    return reshape(out, input.shape)


@accepts_axis
def index_add(input: Tensor | ArrayLike, dim: int, index: Tensor | ArrayLike, source: Tensor | ArrayLike,
              alpha: float = 1) -> Tensor:
    """``input`` plus ``alpha * source`` added at the slices ``index`` (1-D) along ``dim``; repeats add."""
    input = _as_tensor(input)
    dim = _dim(input, dim, "index_add")
    index = _indices(index, "index_add").reshape(-1)
    _check_gather((input.shape[dim] if input.ndim else 1,), index, 0, "index_add")
    source = _as_tensor(source)
    expected = input.shape[:dim] + (index.size,) + input.shape[dim + 1:]
    if source.shape != expected and not (input.ndim == 0 and source.size == index.size):
        raise ValueError(f"index_add: source of shape {source.shape} does not fit: for input of shape {input.shape} "
                         f"and {index.size} indices along dimension {dim} it must be {expected}")
    if alpha != 1:
        source = source * alpha
    if input.ndim == 0:
        return input + sum(source)
    return input + ScatterAdd.apply(source.astype(input.dtype), input.shape, (slice(None),) * dim + (index,), True)


@overload
def nonzero(input: Tensor | ArrayLike, as_tuple: Literal[False] = False) -> Tensor: ...
@overload
def nonzero(input: Tensor | ArrayLike, as_tuple: Literal[True]) -> tuple[Tensor, ...]: ...
@overload
def nonzero(input: Tensor | ArrayLike, as_tuple: bool) -> Tensor | tuple[Tensor, ...]: ...


def nonzero(input: Tensor | ArrayLike, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """The indices of the non-zero elements: (count, ndim) int64, or with ``as_tuple`` one 1-D
    int64 tensor per dimension (``where(input)``). No gradient."""
    array = np.asarray(input.data if isinstance(input, Tensor) else input)
    if as_tuple:
        return tuple(Tensor(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(array)))
    return Tensor(np.argwhere(array).astype(np.int64))


def one_hot(tensor: Tensor | ArrayLike, num_classes: int = -1) -> Tensor:
    """(…) integer class indices -> (…, num_classes) int64 with a 1 at each index (num_classes=-1:
    the largest index plus one). No gradient."""
    labels = _indices(tensor, "one_hot")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {labels.min()}")
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
        if not labels.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"one_hot: class value {labels.max()} is not smaller than num_classes={num_classes}")
    return Tensor(np.eye(num_classes, dtype=np.int64)[labels])


def bincount(input: Tensor | ArrayLike, weights: Tensor | ArrayLike | None = None, minlength: int = 0) -> Tensor:
    """Counts of each value of a 1-D non-negative integer tensor (with ``weights``: their sums,
    in the weights' dtype). No gradient."""
    values = _indices(input, "bincount")
    if values.ndim != 1 or (values.size and values.min() < 0):
        raise ValueError(f"bincount: input must be a 1-D tensor of non-negative integers, got shape {values.shape}"
                         + (f" with minimum {values.min()}" if values.size else ""))
    if weights is None:
        return Tensor(np.bincount(values, minlength=minlength).astype(np.int64))
    weights = np.asarray(weights.data if isinstance(weights, Tensor) else weights)
    dtype = weights.dtype if weights.dtype.kind == "f" else np.float64
    return Tensor(np.bincount(values, weights, minlength).astype(dtype))


@overload
def unique(input: Tensor | ArrayLike, sorted: bool = True, return_inverse: Literal[False] = False,
           return_counts: Literal[False] = False, dim: int | None = None) -> Tensor: ...
@overload
def unique(input: Tensor | ArrayLike, sorted: bool = True, *, return_inverse: Literal[True],
           return_counts: Literal[False] = False, dim: int | None = None) -> tuple[Tensor, Tensor]: ...
@overload
def unique(input: Tensor | ArrayLike, sorted: bool = True, *, return_inverse: Literal[False] = False,
           return_counts: Literal[True], dim: int | None = None) -> tuple[Tensor, Tensor]: ...
@overload
def unique(input: Tensor | ArrayLike, sorted: bool = True, *, return_inverse: Literal[True],
           return_counts: Literal[True], dim: int | None = None) -> tuple[Tensor, Tensor, Tensor]: ...
@overload
def unique(input: Tensor | ArrayLike, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Tensor | tuple[Tensor, ...]: ...


def unique(input: Tensor | ArrayLike, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Tensor | tuple[Tensor, ...]:
    """The distinct values (sorted), and optionally the inverse indices (input's shape) and the
    counts; with ``dim``, the distinct slices along it. No gradient."""
    array = np.asarray(input.data if isinstance(input, Tensor) else input)
    found = np.unique(array, return_inverse=True, return_counts=True, axis=dim)
    out = [Tensor(found[0])]
    if return_inverse:
        inverse = found[1].astype(np.int64)
        out.append(Tensor(inverse.reshape(array.shape if dim is None else (array.shape[dim],))))
    if return_counts:
        out.append(Tensor(found[2].astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def _in_place(op: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """PyTorch's in-place form of ``op`` (``t.masked_fill_(...)``): the result copied into self
    (``copy_``: on the graph, the gradient flows through ``op``)."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self.copy_(op(self, *args, **kwargs))
    method.__name__ = op.__name__ + "_"
    method.__doc__ = f"In place: ``t.{op.__name__}(...)`` written into t."
    return method


def argwhere(input: Tensor | ArrayLike) -> Tensor:
    """The indices of the non-zero elements, one row each: (count, ndim) int64 (``nonzero``)."""
    return nonzero(input)


def _search_side(right: bool, side: str | None, op: str) -> str:
    if side is None:
        return "right" if right else "left"
    if side not in ("left", "right"):
        raise ValueError(f"{op}: side must be 'left' or 'right', not {side!r}")
    if right and side == "left":
        raise ValueError(f"{op}: side and right can't be set to opposites (side='left' with right=True)")
    return side


def searchsorted(sorted_sequence: Tensor | ArrayLike, input: Tensor | ArrayLike | float, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter: Tensor | ArrayLike | None = None) -> Tensor:
    """Where ``input``'s values would go in ``sorted_sequence`` (sorted along its last dim) to keep
    it sorted: the first such index (``right=True`` or ``side="right"``: the last). A 1-d sequence
    serves every value; an (..., M) one has one row per leading index of input (..., K).
    int64 (int32 with ``out_int32``), no gradient. ``sorter``: the indices that sort the sequence."""
    side = _search_side(right, side, "searchsorted")
    boundaries = _as_tensor(sorted_sequence).data
    scalar = not isinstance(input, Tensor) and np.ndim(input) == 0
    values = _as_tensor(input).data
    if boundaries.ndim == 0:
        raise ValueError("searchsorted: sorted_sequence must have at least one dimension")
    if scalar and boundaries.ndim != 1:
        raise ValueError("searchsorted: a number as input needs a 1-d sorted_sequence (PyTorch's rule)")
    if boundaries.ndim > 1 and (values.ndim != boundaries.ndim or values.shape[:-1] != boundaries.shape[:-1]):
        raise ValueError(f"searchsorted: sorted_sequence of shape {boundaries.shape} and input of shape "
                         f"{values.shape} must have the same leading dimensions (all but the last)")
    if sorter is not None:
        order = _indices(sorter, "searchsorted")
        if order.shape != boundaries.shape:
            raise ValueError(f"searchsorted: sorter of shape {order.shape} must have sorted_sequence's shape "
                             f"{boundaries.shape}")
        if order.size and (order.min() < 0 or order.max() >= boundaries.shape[-1]):
            raise IndexError(f"searchsorted: sorter holds an index out of range for size {boundaries.shape[-1]}")
        boundaries = np.take_along_axis(boundaries, order, -1)
    dtype = np.int32 if out_int32 else np.int64
    if boundaries.ndim == 1:
        found = np.searchsorted(boundaries, values, side=side)  # type: ignore[call-overload]
    else:
        rows, length = boundaries.reshape(-1, boundaries.shape[-1]), values.shape[-1]
        flat = values.reshape(rows.shape[0], length)
        found = np.stack([np.searchsorted(row, v, side=side) for row, v in zip(rows, flat)]).reshape(  # type: ignore[call-overload]
            values.shape) if rows.shape[0] else np.zeros(values.shape, dtype)
    return Tensor(np.asarray(found, dtype=dtype))


def bucketize(input: Tensor | ArrayLike | float, boundaries: Tensor | ArrayLike, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each value among the 1-d sorted ``boundaries``: i with boundaries[i-1] < x <=
    boundaries[i] (``right=True``: boundaries[i-1] <= x < boundaries[i]); int64, no gradient."""
    if _as_tensor(boundaries).ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-d, got shape {_as_tensor(boundaries).shape}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements: Tensor | ArrayLike | float, test_elements: Tensor | ArrayLike | float, *,
         assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` is among ``test_elements`` (either may be a number):
    bool, of elements' shape (``invert``: is not)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin: give at least one tensor (PyTorch's rule)")
    arrays = _as_tensor(elements).data, _as_tensor(test_elements).data
    if any(array.dtype == np.bool_ for array in arrays):
        raise TypeError("isin: bool tensors are not supported (as in PyTorch); compare with ad.eq or convert "
                        "with .int()")
    found = np.isin(*arrays, invert=invert)
    return Tensor(np.asarray(found))


# ---------------------------------------------------------------------------------------------
# writing into a copy: each finds the flat positions it writes (numpy, on a grid of positions),
# then one ``_put`` places the values there (a scatter whose backward gathers them back), so the
# gradient is input's where nothing was written and the values' at their positions

def _same_dtype(input: Tensor, source: Any, op: str, name: str) -> None:
    """PyTorch's index_copy, index_put and masked_scatter write a tensor of input's dtype only
    (no silent cast); a list or number still takes input's dtype."""
    if isinstance(source, Tensor) and source.dtype != input.dtype:
        raise TypeError(f"{op}: input and {name} must have the same dtype (as in PyTorch), got {input.dtype} and "
                        f"{source.dtype}; convert {name} with .to({input.dtype})")


def _put(input: Tensor, positions: np.ndarray, values: Tensor | ArrayLike, accumulate: bool, op: str) -> Tensor:
    """input with ``values`` (broadcast to positions' shape) written (``accumulate``: added) at the
    flat ``positions`` of input."""
    values = _as_tensor(values)
    try:
        values = broadcast_to(values, positions.shape)
    except ValueError:
        raise ValueError(f"{op}: values of shape {values.shape} do not fit the {positions.shape} places written"
                         ) from None
    if values.dtype != input.dtype:
        values = values.astype(input.dtype)
    flat = positions.reshape(-1)
    size = input.numel()
    if accumulate:
        placed = ScatterAdd.apply(reshape(values, (-1,)), (size,), (flat,), True)
        return input + reshape(placed, input.shape)
    written = np.zeros(size, bool)
    written[flat] = True
    placed = ScatterAdd.apply(reshape(values, (-1,)), (size,), (flat,), False)
    return where(written.reshape(input.shape), reshape(placed, input.shape), input)


def _grid(input: Tensor) -> np.ndarray:
    """Each element's flat position, in input's shape."""
    return np.arange(input.numel()).reshape(input.shape)


def _slices_along(input: Tensor, dim: int, index: Tensor | ArrayLike, op: str, negative: bool = False
                  ) -> np.ndarray:
    """The positions of the slices ``index`` (0-d or 1-d) along ``dim`` (``negative``: indices
    from -size count from the end, as index_fill's do)."""
    axis = _dim(input, dim, op)
    picks = _indices(index, op)
    if picks.ndim > 1:
        raise ValueError(f"{op}: index must be 0-d or 1-d, got shape {picks.shape}")
    if negative:
        size = input.shape[axis] if input.ndim else 1
        picks = np.where((picks < 0) & (picks >= -size), picks + size, picks)
    _check_gather((input.shape[axis] if input.ndim else 1,), picks.reshape(-1), 0, op)
    grid = _grid(input)
    if input.ndim == 0:
        return grid.reshape(1)[picks.reshape(-1)]
    return grid[(slice(None),) * axis + (picks.reshape(-1),)]


@accepts_axis
def index_fill(input: Tensor | ArrayLike, dim: int, index: Tensor | ArrayLike, value: Tensor | float) -> Tensor:
    """A copy of input with the slices ``index`` along ``dim`` (negative ones from the end) set to
    ``value`` (a number or a 0-d tensor, which gets the gradient of the filled places)."""
    input = _as_tensor(input)
    if isinstance(value, Tensor) and value.ndim:
        raise ValueError(f"index_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
    return _put(input, _slices_along(input, dim, index, "index_fill", negative=True), value, False, "index_fill")


@accepts_axis
def index_copy(input: Tensor | ArrayLike, dim: int, index: Tensor | ArrayLike, source: Tensor | ArrayLike) -> Tensor:
    """A copy of input with source's slices written at the slices ``index`` along ``dim`` (source:
    input's shape with len(index) along dim)."""
    input = _as_tensor(input)
    _same_dtype(input, source, "index_copy", "source")
    source = _as_tensor(source)
    positions = _slices_along(input, dim, index, "index_copy")
    if source.shape != positions.shape and not (source.numel() == positions.size and input.ndim <= 1):
        raise ValueError(f"index_copy: source of shape {source.shape} does not fit: for input of shape {input.shape} "
                         f"and these indices along dimension {dim} it must be {positions.shape}")
    return _put(input, positions, reshape(source, positions.shape), False, "index_copy")


def index_put(input: Tensor | ArrayLike, indices: tuple[Tensor | ArrayLike, ...] | list[Tensor | ArrayLike],
              values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of input with ``input[indices] = values`` (``accumulate``: ``+=``, repeated
    positions adding up); indices: a tuple of integer or bool tensors, as PyTorch's."""
    input = _as_tensor(input)
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put: values must be a tensor (as PyTorch's), not {type(values).__name__}; wrap it "
                        "with ad.tensor(...)")
    _same_dtype(input, values, "index_put", "values")
    key = []
    for index in indices:
        array = np.asarray(index.data if isinstance(index, Tensor) else index)
        if array.dtype != np.bool_:
            array = _indices(array, "index_put")
        key.append(array)
    try:
        positions = _grid(input)[tuple(key)]
    except IndexError as error:
        raise IndexError(f"index_put: {error} (input of shape {input.shape})") from None
    return _put(input, np.asarray(positions), values, accumulate, "index_put")


def masked_scatter(input: Tensor | ArrayLike, mask: Tensor | ArrayLike, source: Tensor | ArrayLike) -> Tensor:
    """A copy of input with source's first elements (in order) written where ``mask`` (bool,
    broadcast to input's shape) is True; source needs at least as many elements."""
    input = _as_tensor(input)
    _same_dtype(input, source, "masked_scatter", "source")
    source = _as_tensor(source)
    mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_scatter: mask must be a bool tensor, got dtype {mask.dtype}")
    try:
        mask = np.broadcast_to(mask, input.shape)
    except ValueError:
        raise ValueError(f"masked_scatter: mask of shape {mask.shape} does not broadcast to input's shape "
                         f"{input.shape}") from None
    positions = _grid(input)[mask]
    if source.numel() < positions.size:
        raise ValueError(f"masked_scatter: source has {source.numel()} elements but the mask selects "
                         f"{positions.size}; it needs at least as many")
    return _put(input, positions, reshape(source, (-1,))[:positions.size], False, "masked_scatter")


@accepts_axis
def select_scatter(input: Tensor | ArrayLike, src: Tensor | ArrayLike, dim: int, index: int) -> Tensor:
    """A copy of input with ``src`` written at ``input.select(dim, index)``."""
    input = _as_tensor(input)
    axis = _dim(input, dim, "select_scatter")
    size = input.shape[axis]
    if not -size <= index < size:
        raise IndexError(f"select_scatter: index {index} is out of range for dimension {dim} with size {size}")
    positions = _grid(input)[(slice(None),) * axis + (index,)]
    return _placed_exactly(input, positions, src, "select_scatter")


def _placed_exactly(input: Tensor, positions: np.ndarray, src: Tensor | ArrayLike, op: str) -> Tensor:
    src = _as_tensor(src)
    if src.shape != positions.shape:
        raise ValueError(f"{op}: src of shape {src.shape} must have the shape {positions.shape} of the places "
                         f"written in input of shape {input.shape}")
    return _put(input, positions, src, False, op)


@accepts_axis
def slice_scatter(input: Tensor | ArrayLike, src: Tensor | ArrayLike, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1) -> Tensor:
    """A copy of input with ``src`` written at the slice start:end:step along ``dim``."""
    input = _as_tensor(input)
    axis = _dim(input, dim, "slice_scatter")
    if step < 1:
        raise ValueError(f"slice_scatter: step must be positive, got {step}")
    positions = _grid(input)[(slice(None),) * axis + (slice(start, end, step),)]
    return _placed_exactly(input, positions, src, "slice_scatter")


def diagonal_scatter(input: Tensor | ArrayLike, src: Tensor | ArrayLike, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of input with ``src`` written on ``input.diagonal(offset, dim1, dim2)`` (the
    diagonal's dim last, as diagonal's)."""
    input = _as_tensor(input)
    first, second = _dim(input, dim1, "diagonal_scatter"), _dim(input, dim2, "diagonal_scatter")
    if first == second:
        raise ValueError(f"diagonal_scatter: dim1 and dim2 cannot be the same dimension ({dim1})")
    positions = np.diagonal(_grid(input), offset, first, second)
    return _placed_exactly(input, positions, src, "diagonal_scatter")


TENSOR_METHODS: dict[str, Callable[..., Any]] = {
    "argwhere": argwhere, "gather": gather, "take_along_dim": take_along_dim, "index_select": index_select,
    "masked_fill": masked_fill, "masked_select": masked_select, "scatter": scatter,
    "scatter_add": scatter_add, "scatter_reduce": scatter_reduce, "index_add": index_add,
    "nonzero": nonzero, "bincount": bincount, "unique": unique, "index_fill": index_fill, "index_copy": index_copy,
    "index_put": index_put, "masked_scatter": masked_scatter, "select_scatter": select_scatter,
    "slice_scatter": slice_scatter, "diagonal_scatter": diagonal_scatter,
    **{op.__name__ + "_": _in_place(op) for op in (masked_fill, scatter, scatter_add, scatter_reduce, index_add)},
}


def _numpy_take_along_axis(arr: Tensor | ArrayLike, indices: Tensor | np.ndarray, axis: int | None = -1) -> Tensor:
    """numpy's take_along_axis: negative indices count from the end; axis=None flattens."""
    arr = _as_tensor(arr)
    if axis is None:
        arr, axis = reshape(arr, -1), 0
    size = arr.shape[_dim(arr, axis, "take_along_axis")]
    return take_along_dim(arr, np.where(_indices(indices, "take_along_axis") < 0, indices + size, indices), axis)


from .ops import _ARRAY_FUNCTIONS  # noqa: E402
_ARRAY_FUNCTIONS.update({np.take_along_axis: _numpy_take_along_axis, np.nonzero: lambda a: nonzero(a, True)})
