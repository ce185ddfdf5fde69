"""Indexing and joining: getitem (with its scatter-add backward), concatenate, stack, split, pad,
repeat and tile. All follow numpy's semantics."""
import numpy as np

from .function import Function
from .tensor import Tensor, share_version
from .ops import _as_tensor, _normalize_axis, broadcast_to, where

__all__ = ["getitem", "concatenate", "stack", "split", "pad", "repeat", "tile"]


def _normalize_index(index):
    """numpy index with Tensors and lists turned into arrays, and bool masks into integer arrays
    (numpy defines a mask as its ``nonzero()``), so the backward can scatter-add."""
    items = index if isinstance(index, tuple) else (index,)
    normalized = []
    advanced = False
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, list):
            item = np.asarray(item)
            if item.size == 0:
                item = item.astype(np.intp)
        if isinstance(item, np.ndarray):
            if item.dtype == np.bool_:
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


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index, advanced):
        ctx.shape, ctx.index, ctx.advanced = x.shape, index, advanced
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        return scatter_add(grad, ctx.shape, ctx.index, ctx.advanced), None, None


class ScatterAdd(Function):
    """zeros(shape) with ``grad`` added at ``index`` (repeated indices accumulate); GetItem's backward."""

    @staticmethod
    def forward(ctx, grad, shape, index, advanced):
        ctx.index, ctx.advanced = index, advanced
        return _scatter(grad, shape, index, advanced)

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, ctx.index, ctx.advanced), None, None, None


def _scatter(grad, shape, index, advanced):
    out = np.zeros(shape, dtype=grad.dtype)
    if advanced:
        np.add.at(out, index, grad)
    else:
        out[index] = grad
    return out


def scatter_add(grad, shape, index, advanced):
    """zeros(shape) with grad added at index: an array for arrays, a graph node for Tensors."""
    if isinstance(grad, Tensor):
        return ScatterAdd.apply(grad, shape, index, advanced)
    return _scatter(grad, shape, index, advanced)


def getitem(x, index):
    """``x[index]`` with numpy's semantics; differentiable (repeated indices accumulate)."""
    index, advanced = _normalize_index(index)
    try:
        out = GetItem.apply(x, index, advanced)
        return out if advanced or not isinstance(x, Tensor) else share_version(out, x)
    except IndexError as error:
        raise IndexError(f"getitem: index {index!r} does not fit a tensor of shape {x.shape}: {error}") from None


class Concatenate(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        ctx.bounds = np.cumsum([0] + [a.shape[axis] for a in arrays])
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.axis
        b = ctx.bounds
        return (None,) + tuple(_basic_getitem(grad, lead + (slice(b[i], b[i + 1]),))
                               for i in range(len(b) - 1))


class Stack(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.axis
        return (None,) + tuple(_basic_getitem(grad, lead + (i,)) for i in range(grad.shape[ctx.axis]))


def _basic_getitem(x, index):
    return x[index] if isinstance(x, np.ndarray) else GetItem.apply(x, index, False)


def _join_inputs(tensors, op):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    return [_as_tensor(t) for t in tensors]


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis (numpy's ``concatenate``); other axes must match."""
    tensors = _join_inputs(tensors, "concatenate")
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated; use stack")
    axis = _normalize_axis(axis, ndim, "concatenate")[0]
    for t in tensors:
        if t.ndim != ndim or t.shape[:axis] + t.shape[axis + 1:] != tensors[0].shape[:axis] + tensors[0].shape[axis + 1:]:
            raise ValueError(f"concatenate: shapes {[t.shape for t in tensors]} differ outside axis {axis}")
    return Concatenate.apply(axis, *tensors)


def cat(tensors, axis=0, dim=None):
    """PyTorch's name for ``concatenate`` (``dim`` is accepted for ``axis``)."""
    return concatenate(tensors, axis if dim is None else dim)


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis (numpy's ``stack``)."""
    tensors = _join_inputs(tensors, "stack")
    if any(t.shape != tensors[0].shape for t in tensors):
        raise ValueError(f"stack: all tensors must have the same shape, got {[t.shape for t in tensors]}")
    axis = _normalize_axis(axis, tensors[0].ndim + 1, "stack")[0]
    return Stack.apply(axis, *tensors)


def split(x, indices_or_sections, axis=0):
    """Split into a list of tensors (numpy's ``split``: a number of equal sections, or the indices
    where each piece starts)."""
    x = _as_tensor(x)
    axis = _normalize_axis(axis, x.ndim, "split")[0]
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0 or n % sections:
            raise ValueError(f"split: axis {axis} of length {n} does not divide into {sections} equal sections")
        bounds = list(range(0, n + 1, n // sections))
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(bounds[i], bounds[i + 1]),)) for i in range(len(bounds) - 1)]


class Pad(Function):
    @staticmethod
    def forward(ctx, x, pad_width, value):
        ctx.interior = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return _basic_getitem(grad, ctx.interior), None, None


def pad(x, pad_width, mode="constant", constant_values=0):
    """Pad with a constant (numpy's ``pad`` in ``constant`` mode; ``pad_width`` as numpy's)."""
    x = _as_tensor(x)
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width!r}")
    return Pad.apply(x, tuple(map(tuple, widths.tolist())), constant_values)


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times (numpy's ``repeat``; PyTorch's ``repeat`` is ``tile``).
    Without ``axis`` the input is flattened first."""
    x = _as_tensor(x)
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    axis = _normalize_axis(axis, x.ndim, "repeat")[0]
    index = np.repeat(np.arange(x.shape[axis]), repeats)
    return getitem(x, (slice(None),) * axis + (index,))


def tile(x, reps):
    """Repeat the whole tensor ``reps`` times along each axis (numpy's ``tile``)."""
    x = _as_tensor(x)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    if len(reps) > x.ndim:
        x = x.reshape((1,) * (len(reps) - x.ndim) + x.shape)
    reps = (1,) * (x.ndim - len(reps)) + reps
    for axis, r in enumerate(reps):
        if r != 1:
            index = np.tile(np.arange(x.shape[axis]), r)
            x = getitem(x, (slice(None),) * axis + (index,))
    return x


def setitem(self, index, value):
    """``t[index] = value`` in place (numpy's semantics); on the graph the gradient flows to
    ``value`` at ``index`` and to the old values elsewhere."""
    index, advanced = _normalize_index(index)
    mask = np.zeros(self.data.shape, dtype=bool)
    mask[index] = True

    def assign(old, new):
        target_shape = old.data[index].shape
        new = _as_tensor(new) if isinstance(new, Tensor) else new
        if isinstance(new, Tensor):
            placed = scatter_add(broadcast_to(new, target_shape), old.shape, index, advanced)
        else:
            placed = np.zeros(old.shape, old.dtype)
            placed[index] = new
        return where(mask, placed, old)

    return self._inplace("setitem", value, assign)


def _method_setitem(self, index, value):
    setitem(self, index, value)


def _method_repeat(self, repeats, axis=None):
    return repeat(self, repeats, axis)


Tensor.__getitem__ = getitem
Tensor.__setitem__ = _method_setitem
Tensor.repeat = _method_repeat
Tensor.tile = tile

# numpy's joining functions on tensors stay on the graph
from .ops import _ARRAY_FUNCTIONS  # noqa: E402
_ARRAY_FUNCTIONS.update({
    np.concatenate: lambda arrays, axis=0: concatenate(arrays, axis),
    np.stack: lambda arrays, axis=0: stack(arrays, axis),
    np.split: split, np.pad: pad, np.repeat: repeat, np.tile: tile,
})
