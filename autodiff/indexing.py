"""Indexing and joining: getitem (with its scatter-add backward), concatenate/cat, stack, split,
pad, repeat, repeat_interleave and tile. Indexing follows numpy's (and PyTorch's) semantics; the
functions that PyTorch also has take PyTorch's arguments (``dim``, ``split(size)``, ``repeat``
as tile). numpy's functions on tensors (``np.split``, ``np.repeat``) are in ``numpy_api``."""
from __future__ import annotations

import functools
import inspect
import operator
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, TypeVar

import numpy as np

from .function import Function
from .promotion import result_type
from .tensor import Tensor, share_version
from .ops import _as_tensor, _normalize_axis, broadcast_to, where

if TYPE_CHECKING:
    from ._typing import ShapeLike, TensorLike

# A gradient in a backward: an ndarray, or a Tensor under create_graph=True
_Grad = Any

_F = TypeVar("_F", bound=Callable[..., Any])


def accepts_axis(function: _F) -> _F:
    """``function(..., axis=d)`` is ``function(..., dim=d)``: PyTorch takes ``axis`` as an alias of
    ``dim`` wherever it takes ``dim``. Both at once raise, as PyTorch's do (a ``dim`` passed
    positionally as None, a delegating method's "not given", counts as absent)."""
    position = list(inspect.signature(function).parameters).index("dim")

    @functools.wraps(function)
    def with_axis(*args: Any, **kwargs: Any) -> Any:
        if "axis" in kwargs:
            axis = kwargs.pop("axis")
            if "dim" in kwargs or (len(args) > position and args[position] is not None):
                raise TypeError(f"{function.__name__}(): got both dim and axis (axis is PyTorch's alias of dim); "
                                "pass one of them")
            if len(args) > position:
                args = args[:position] + (axis,) + args[position + 1:]
            else:
                kwargs["dim"] = axis
        return function(*args, **kwargs)
    return with_axis  # type: ignore[return-value]


__all__ = ["getitem", "concatenate", "cat", "stack", "split", "pad", "repeat", "repeat_interleave", "tile"]


def _normalize_index(index: Any, shape: tuple[int, ...] | None = None) -> tuple[tuple[Any, ...], bool]:
    """numpy index with Tensors, lists and tuples inside it turned into arrays, and bool masks
    into integer arrays (numpy defines a mask as its ``nonzero()``), so the backward can
    scatter-add. With ``shape`` (the indexed tensor's), a mask must match the dims it covers
    (numpy's and PyTorch's IndexError otherwise)."""
    items = index if isinstance(index, tuple) else (index,)
    normalized: list[Any] = []
    advanced = False
    masks = None
    for position, item in enumerate(items):
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, (list, tuple)):   # a sequence inside an index is an index array
            item = np.asarray([i.data if isinstance(i, Tensor) else i for i in item])
            if item.size == 0:
                item = item.astype(np.intp)
        if isinstance(item, np.ndarray):
            if item.dtype == np.bool_:
                if shape is not None:
                    if masks is None:
                        masks = _mask_positions(items, len(shape))
                    _check_mask(item, shape, masks[position])
                normalized.extend(item.nonzero())
                advanced = True
                continue
            if item.dtype.kind not in "iu":
                raise IndexError(f"getitem: index arrays must be integer or bool, got {item.dtype}")
            advanced = True
        elif isinstance(item, (bool, np.bool_)):
            raise IndexError("getitem: a bare True/False index is not supported; use a bool array mask")
        elif not (item is None or item is Ellipsis or isinstance(item, (slice, int, np.integer))):
            raise IndexError(f"getitem: unsupported index {item!r}; use ints, slices, None, ..., "
                             "integer arrays or bool masks")
        normalized.append(item)
    return tuple(normalized), advanced


def _mask_positions(items: tuple[Any, ...], ndim: int) -> list[int]:
    """For each item of an index: the first dim it covers (None for items that cover none)."""
    def width(item: Any) -> int:
        if item is None:
            return 0
        if isinstance(item, Tensor):
            item = item.data
        if isinstance(item, np.ndarray) and item.dtype == np.bool_:
            return item.ndim
        if isinstance(item, list) and np.asarray(item).dtype == np.bool_:
            return np.asarray(item).ndim
        return 1
    widths = [0 if item is Ellipsis else width(item) for item in items]
    ellipsis = ndim - sum(widths)
    positions, dim = [], 0
    for item, w in zip(items, widths):
        positions.append(dim)
        dim += ellipsis if item is Ellipsis else w
    return positions


def _check_mask(mask: np.ndarray, shape: tuple[int, ...], first: int) -> None:
    covered = shape[first:first + mask.ndim]
    if mask.shape != covered:
        for i, (n, m) in enumerate(zip(covered + (None,) * mask.ndim, mask.shape)):
            if n != m:
                raise IndexError(f"getitem: the boolean mask of shape {mask.shape} does not match the indexed "
                                 f"tensor of shape {shape} at dim {first + i}: its size there is "
                                 f"{'missing' if n is None else n}, the mask's {m}; a mask must have the "
                                 "shape of the dims it indexes")



class GetItem(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, index: tuple[Any, ...], advanced: bool) -> np.ndarray:
        ctx.shape, ctx.index, ctx.advanced = x.shape, index, advanced
        return x[index]

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return scatter_add(grad, ctx.shape, ctx.index, ctx.advanced), None, None


class ScatterAdd(Function):
    """zeros(shape) with ``grad`` added at ``index`` (repeated indices accumulate); GetItem's backward."""

    @staticmethod
    def forward(ctx: Any, grad: np.ndarray, shape: tuple[int, ...], index: tuple[Any, ...], advanced: bool
                ) -> np.ndarray:
        ctx.index, ctx.advanced = index, advanced
        return _scatter(grad, shape, index, advanced)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return GetItem.apply(grad, ctx.index, ctx.advanced), None, None, None


def _scatter(grad: np.ndarray, shape: tuple[int, ...], index: tuple[Any, ...], advanced: bool) -> np.ndarray:
    out = np.zeros(shape, dtype=grad.dtype)
    if advanced:
        np.add.at(out, index, grad)
    else:
        out[index] = grad
    return out


def scatter_add(grad: _Grad, shape: tuple[int, ...], index: tuple[Any, ...], advanced: bool) -> _Grad:
    """zeros(shape) with grad added at index: an array for arrays, a graph node for Tensors."""
    if isinstance(grad, Tensor):
        return ScatterAdd.apply(grad, shape, index, advanced)
    return _scatter(grad, shape, index, advanced)


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with numpy's semantics; differentiable (repeated indices accumulate)."""
    index, advanced = _normalize_index(index, x.shape)
    try:
        out = GetItem.apply(x, index, advanced)
        return out if advanced or not isinstance(x, Tensor) else share_version(out, x)
    except IndexError as error:
        raise IndexError(f"getitem: index {index!r} does not fit a tensor of shape {x.shape}: {error}") from None


class Concatenate(Function):
    @staticmethod
    def forward(ctx: Any, axis: int, *arrays: np.ndarray) -> np.ndarray:
        ctx.axis = axis
        ctx.bounds = np.cumsum([0] + [a.shape[axis] for a in arrays])
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        lead = (slice(None),) * ctx.axis
        b = ctx.bounds
        return (None,) + tuple(_basic_getitem(grad, lead + (slice(b[i], b[i + 1]),))
                               for i in range(len(b) - 1))


class Stack(Function):
    @staticmethod
    def forward(ctx: Any, axis: int, *arrays: np.ndarray) -> np.ndarray:
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        lead = (slice(None),) * ctx.axis
        return (None,) + tuple(_basic_getitem(grad, lead + (i,)) for i in range(grad.shape[ctx.axis]))


def _basic_getitem(x: _Grad, index: tuple[Any, ...]) -> _Grad:
    return x[index] if isinstance(x, np.ndarray) else GetItem.apply(x, index, False)


def _join_inputs(tensors: Iterable[Any], op: str) -> list[Tensor]:
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    tensors = [_as_tensor(t) for t in tensors]
    dtype = result_type(*(t.data for t in tensors))
    # PyTorch's promotion of mixed dtypes (an int64 and a float32 tensor join as float32)
    return [t if t.data.dtype == dtype else t.astype(dtype) for t in tensors]


def _join_axis(dim: int | None, axis: int | None, op: str) -> Any:     # (dim, or axis when given)
    """The dim of cat/stack, given as ``dim`` (PyTorch) or ``axis`` (numpy's name, accepted too)."""
    if axis is not None and dim is not None and axis != dim:
        raise TypeError(f"{op}: give the dim once, as dim= or axis=, not both")
    return axis if dim is None else dim


def concatenate(tensors: Iterable[TensorLike], dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim (0 by default; ``axis=`` accepted); the other dims must
    match. Mixed dtypes promote as PyTorch's ``cat``."""
    dim = _join_axis(dim, axis, "concatenate")
    tensors = _join_inputs(tensors, "concatenate")
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated; use stack")
    axis = _normalize_axis(0 if dim is None else dim, ndim, "concatenate")[0]
    for t in tensors:
        if t.ndim != ndim or t.shape[:axis] + t.shape[axis + 1:] != tensors[0].shape[:axis] + tensors[0].shape[axis + 1:]:
            raise ValueError(f"concatenate: shapes {[t.shape for t in tensors]} differ outside dim {axis}")
    return Concatenate.apply(axis, *tensors)


def cat(tensors: Iterable[TensorLike], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """PyTorch's name for ``concatenate``: join along ``dim`` (``axis=`` accepted)."""
    return concatenate(tensors, axis if axis is not None else dim)


def stack(tensors: Iterable[TensorLike], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new dim ``dim`` (``axis=`` accepted)."""
    dim = _join_axis(None if axis is not None and dim == 0 else dim, axis, "stack")
    tensors = _join_inputs(tensors, "stack")
    if any(t.shape != tensors[0].shape for t in tensors):
        raise ValueError(f"stack: all tensors must have the same shape, got {[t.shape for t in tensors]}")
    axis = _normalize_axis(dim, tensors[0].ndim + 1, "stack")[0]
    return Stack.apply(axis, *tensors)


def _pieces(x: Tensor, bounds: Sequence[int], axis: int) -> list[Tensor]:
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(bounds[i], bounds[i + 1]),)) for i in range(len(bounds) - 1)]


def split(x: TensorLike, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's ``split``: pieces along ``dim`` of ``split_size_or_sections`` elements each (an
    int; the last piece may be smaller) or of the sizes listed (they must add up to the dim's
    size). Returns a tuple. numpy's sections are ``np.split(t, n)``/``np.array_split``."""
    x = _as_tensor(x)
    if x.ndim == 0:
        raise ValueError("split: a 0-d tensor has no dim to split")
    axis = _normalize_axis(dim, x.ndim, "split")[0]
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)) and not isinstance(split_size_or_sections, bool):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n):
            raise ValueError(f"split: split_size must be a positive int (pieces of that many elements along dim "
                             f"{axis}), got {size}")
        bounds = list(range(0, n, size)) + [n] if n else [0, 0]
    else:
        sizes = [int(s) for s in split_size_or_sections]  # type: ignore[union-attr]  # (a bool: TypeError)
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: the sizes {sizes} must be non-negative and add up to {n}, the size of dim "
                             f"{axis} of shape {x.shape} (PyTorch's split takes sizes; numpy's split "
                             "points are np.split(t, indices))")
        bounds = [0] + list(np.cumsum(sizes).tolist())
    return tuple(_pieces(x, bounds, axis))


class Pad(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, pad_width: tuple[tuple[int, int], ...], value: Any) -> np.ndarray:
        ctx.interior = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return _basic_getitem(grad, ctx.interior), None, None


def pad(x: TensorLike, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Tensor:
    """Pad with a constant (numpy's ``pad`` in ``constant`` mode; ``pad_width`` as numpy's)."""
    x = _as_tensor(x)
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width!r}")
    return Pad.apply(x, tuple(map(tuple, widths.tolist())), constant_values)


class Repeat(Function):
    """The tensor repeated ``reps[i]`` times along each dim i (``reps`` as long as x's dims):
    PyTorch's ``repeat``, numpy's ``tile``. Backward: the copies' gradients summed."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, reps: tuple[int, ...]) -> np.ndarray:
        ctx.shape, ctx.reps = x.shape, reps
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        # (r0 * n0, r1 * n1, ...) -> (r0, n0, r1, n1, ...), summed over the r axes: runs on arrays
        # and, under create_graph, on Tensors
        split = tuple(size for pair in zip(ctx.reps, ctx.shape) for size in pair)
        return grad.reshape(split).sum(axis=tuple(range(0, 2 * len(ctx.reps), 2))), None


def _repeat(x: Tensor, reps: tuple[int, ...], op: str) -> Tensor:
    if any(r < 0 for r in reps):
        raise ValueError(f"{op}: repeats must be non-negative, got {reps}")
    if len(reps) > x.ndim:
        x = x.reshape((1,) * (len(reps) - x.ndim) + x.shape)
    if all(r == 1 for r in reps):
        return x
    return Repeat.apply(x, reps)


def repeat(x: TensorLike, *sizes: ShapeLike, **numpy_style: Any) -> Tensor:
    """PyTorch's ``repeat``: the whole tensor repeated ``sizes[i]`` times along dim i,
    ``repeat(x, 2, 1)`` or ``repeat(x, (2, 1))``; at least as many sizes as x has dims (more add
    leading dims). numpy's ``repeat`` (each element) is ``repeat_interleave`` or ``np.repeat``."""
    x = _as_tensor(x)
    if numpy_style:
        raise TypeError(f"repeat: got {sorted(numpy_style)}: repeat is PyTorch's (the whole tensor, "
                        "repeat(2, 1)); to repeat each element along a dim use repeat_interleave(repeats, dim) "
                        "or np.repeat(t, repeats, axis)")
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    try:
        reps = tuple(operator.index(r) for r in sizes)  # type: ignore[arg-type]  # (one sequence: unpacked above)
    except TypeError:
        raise TypeError(f"repeat: the sizes are ints, repeat(2, 1) or repeat((2, 1)); got {sizes!r}") from None
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: {len(reps)} size(s) {reps} for a tensor of {x.ndim} dims (shape {x.shape}); "
                         f"give one per dim (PyTorch's repeat tiles the whole tensor; to repeat each element "
                         "use repeat_interleave)")
    return _repeat(x, reps, "repeat")


@accepts_axis
def repeat_interleave(x: TensorLike, repeats: TensorLike, dim: int | None = None, *, output_size: int | None = None
                      ) -> Tensor:
    """Repeat each element ``repeats`` times along ``dim`` (None: of the flattened tensor);
    ``repeats`` an int or one count per element of that dim (numpy's ``repeat``)."""
    x = _as_tensor(x)
    if dim is None:
        x = x.reshape(-1)
        dim = 0
    axis = _normalize_axis(dim, x.ndim, "repeat_interleave")[0] if x.ndim else 0
    if x.ndim == 0:
        x = x.reshape(1)
    counts = repeats.data if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or (counts.ndim == 1 and counts.size not in (1, x.shape[axis])):
        raise ValueError(f"repeat_interleave: repeats must be an int or one int per element of dim {axis} "
                         f"({x.shape[axis]}), got {repeats!r}")
    if (counts < 0).any():
        raise ValueError("repeat_interleave: repeats must be non-negative")
    index = np.repeat(np.arange(x.shape[axis]), counts.reshape(-1) if counts.ndim else int(counts))
    if output_size is not None and output_size != index.size:
        raise ValueError(f"repeat_interleave: output_size={output_size} but the repeats make {index.size}")
    return getitem(x, (slice(None),) * axis + (index,))


def tile(x: TensorLike, dims: int | Sequence[int]) -> Tensor:
    """Repeat the whole tensor ``dims`` times along each dim (numpy's and PyTorch's ``tile``:
    fewer reps than dims repeat the last dims)."""
    x = _as_tensor(x)
    reps = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    reps = tuple(operator.index(r) for r in reps)
    return _repeat(x, (1,) * (x.ndim - len(reps)) + reps, "tile")


def setitem(self: Tensor, index: Any, value: TensorLike) -> Tensor:
    """``t[index] = value`` in place (numpy's semantics); on the graph the gradient flows to
    ``value`` at ``index`` and to the old values elsewhere."""
    index, advanced = _normalize_index(index, self.data.shape)
    mask = np.zeros(self.data.shape, dtype=bool)
    mask[index] = True

    def assign(old: Tensor, new: Any) -> Tensor:
        target_shape = old.data[index].shape
        new = _as_tensor(new) if isinstance(new, Tensor) else new
        if isinstance(new, Tensor):
            placed = scatter_add(broadcast_to(new, target_shape), old.shape, index, advanced)
        else:
            placed = np.zeros(old.shape, old.dtype)
            placed[index] = new
        return where(mask, placed, old)

    return self._inplace("setitem", value, assign)


def _method_setitem(self: Tensor, index: Any, value: TensorLike) -> None:
    setitem(self, index, value)


# (the signatures of the class body's, which these replace)
Tensor.__getitem__ = getitem  # type: ignore[method-assign]
Tensor.__setitem__ = _method_setitem  # type: ignore[method-assign]
