"""The shape family with PyTorch's names: flips and rolls, triangles and diagonals, splitting,
stacking, expanding, moving axes, grids. Each is composed from reshape, transpose, broadcast_to,
getitem, concatenate and where, so gradients (of every order) come free.

Views: where PyTorch returns a view, so does this (narrow, unbind, chunk, tensor_split,
movedim, unflatten, atleast_*: in-place changes show through, as in PyTorch); expand,
broadcast_tensors, meshgrid and diagonal give read-only views (writing them raises, where PyTorch's
writable views would write through); flip, roll, rot90, tril, triu, diag and the stacks copy.
"""
from __future__ import annotations

import builtins
import math
import operator
import warnings
from typing import Any, Callable, Iterable, Sequence, SupportsIndex, TypeVar, Union, overload

import numpy as np
from numpy.typing import ArrayLike

from .function import Function
from .indexing import ScatterAdd, accepts_axis, concatenate, getitem, stack
from .ops import _as_tensor, _normalize_axis, broadcast_to, permute, reshape, sum, swapaxes, where
from .tensor import Tensor

_T = TypeVar("_T")
# one tensor of the atleast_* and stacking functions: a Tensor, an ndarray or a number (a list
# there is read as a list of tensors)
_OneTensor = Union[Tensor, np.ndarray, float]

__all__ = ["vander", "block_diag", "ravel", "t", "as_strided", "select", "flip", "fliplr", "flipud", "roll", "rot90", "tril", "triu", "diag", "diagonal", "diag_embed",
           "trace", "chunk", "unbind", "expand", "expand_as", "unflatten", "movedim", "moveaxis", "narrow",
           "atleast_1d", "atleast_2d", "atleast_3d", "vstack", "row_stack", "hstack", "dstack", "column_stack",
           "tensor_split", "array_split", "meshgrid", "broadcast_tensors", "broadcast_shapes", "cartesian_prod"]


def _axes(dims: int | Sequence[int], ndim: int, op: str) -> tuple[int, ...]:
    """dims (an int or a sequence) as a tuple of non-negative axes, in the given order."""
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    axes = tuple(_normalize_axis(d, ndim, op)[0] for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated dimension in {dims}")
    return axes


def _ints(args: tuple[Any, ...], op: str) -> tuple[int, ...]:
    """``f(x, 1, 2)`` or ``f(x, (1, 2))`` -> (1, 2)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(operator.index(a) for a in args)


def flip(input: Tensor | ArrayLike, *dims: int | Sequence[int]) -> Tensor:
    """Reverse the order along ``dims`` (``flip(x, (0, 1))`` or ``x.flip(0, 1)``); a copy."""
    input = _as_tensor(input)
    axes = _axes(_ints(dims, "flip"), max(input.ndim, 1), "flip")
    if input.ndim == 0:
        return input.clone()
    index = tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(input.ndim))
    return getitem(input, index).clone()


def fliplr(input: Tensor | ArrayLike) -> Tensor:
    """Flip dimension 1 (left/right); needs at least 2 dimensions."""
    if _as_tensor(input).ndim < 2:
        raise ValueError(f"fliplr: needs a tensor of at least 2 dimensions, got shape {_as_tensor(input).shape}")
    return flip(input, 1)


def flipud(input: Tensor | ArrayLike) -> Tensor:
    """Flip dimension 0 (up/down); needs at least 1 dimension."""
    if _as_tensor(input).ndim < 1:
        raise ValueError("flipud: needs a tensor of at least 1 dimension, got a 0-d tensor")
    return flip(input, 0)


def roll(input: Tensor | ArrayLike, shifts: int | Sequence[int],
         dims: int | Sequence[int] | None = None) -> Tensor:
    """Shift elements along ``dims`` by ``shifts``, wrapping around (without dims: of the
    flattened tensor, then reshaped back)."""
    input = _as_tensor(input)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: without dims, shifts must be one int, got {shifts}")
        return reshape(roll(reshape(input, -1), shifts[0], 0), input.shape)
    axes = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(axes) != len(shifts):
        raise ValueError(f"roll: shifts {shifts} and dims {axes} must have the same length")
    out = input
    for shift, axis in zip(shifts, axes):
        axis = _normalize_axis(axis, input.ndim, "roll")[0]
        n = input.shape[axis]
        if n and shift % n:
            cut, lead = n - shift % n, (slice(None),) * axis
            out = concatenate([out[lead + (slice(cut, None),)], out[lead + (slice(0, cut),)]], axis)
    return out if out is not input else input.clone()


def rot90(input: Tensor | ArrayLike, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first axis toward the
    second (PyTorch's and numpy's direction)."""
    input = _as_tensor(input)
    if len(dims) != 2:
        raise ValueError(f"rot90: dims must be two dimensions, got {dims}")
    d0, d1 = _axes(dims, input.ndim, "rot90")
    k %= 4
    if k == 1:
        return swapaxes(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return swapaxes(flip(input, d0), d0, d1)
    return input.clone()


def _triangle(input: Tensor | ArrayLike, diagonal: int, lower: bool, op: str) -> Tensor:
    input = _as_tensor(input)
    if input.ndim < 2:
        raise ValueError(f"{op}: needs a matrix or a batch of matrices, got shape {input.shape}")
    rows, cols = input.shape[-2:]
    keep = np.tri(rows, cols, diagonal, dtype=bool)
    if not lower:
        keep = ~np.tri(rows, cols, diagonal - 1, dtype=bool)
    return where(keep, input, np.zeros((), input.dtype))


def tril(input: Tensor | ArrayLike, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions (on and below ``diagonal``), zeros elsewhere."""
    return _triangle(input, diagonal, True, "tril")


def triu(input: Tensor | ArrayLike, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions (on and above ``diagonal``), zeros elsewhere."""
    return _triangle(input, diagonal, False, "triu")


def _diagonal_index(rows: int, cols: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    length = max(min(rows - max(-offset, 0), cols - max(offset, 0)), 0)
    return np.arange(length) + max(-offset, 0), np.arange(length) + max(offset, 0)


def _diagonal(input: Tensor | ArrayLike, offset: int, dim1: int, dim2: int, op: str) -> Tensor:
    input = _as_tensor(input)
    if input.ndim < 2:
        raise ValueError(f"{op}: needs at least 2 dimensions, got shape {input.shape}")
    d1, d2 = _axes((dim1, dim2), input.ndim, op)
    moved = movedim(input, (d1, d2), (-2, -1))
    rows, cols = _diagonal_index(input.shape[d1], input.shape[d2], offset)
    return getitem(moved, (Ellipsis, rows, cols))


def diagonal(input: Tensor | ArrayLike, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the planes (dim1, dim2), as a new last dimension (``offset`` > 0: above
    the main diagonal). Read-only: PyTorch's is a writable view, so writing it raises here."""
    out = _diagonal(input, offset, dim1, dim2, "diagonal")
    out.data.flags.writeable = False
    return out


def diag_embed(input: Tensor | ArrayLike, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """(…, n) -> matrices with the last dimension on their ``offset`` diagonal, in the planes
    (dim1, dim2) of the result."""
    input = _as_tensor(input)
    if input.ndim < 1:
        raise ValueError("diag_embed: needs at least 1 dimension, got a 0-d tensor")
    m = input.shape[-1] + abs(offset)
    rows, cols = _diagonal_index(m, m, offset)
    placed = ScatterAdd.apply(input, input.shape[:-1] + (m, m), (Ellipsis, rows, cols), True)
    d1, d2 = _axes((dim1, dim2), input.ndim + 1, "diag_embed")
    return movedim(placed, (-2, -1), (d1, d2))


def diag(input: Tensor | ArrayLike, diagonal: int = 0) -> Tensor:
    """1-D -> the square matrix with it on the ``diagonal``-th diagonal; 2-D -> that diagonal (a copy)."""
    input = _as_tensor(input)
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return _diagonal(input, diagonal, 0, 1, "diag")
    raise ValueError(f"diag: needs a 1-D or 2-D tensor, got shape {input.shape}; use diagonal or diag_embed")


def trace(input: Tensor | ArrayLike) -> Tensor:
    """The sum of the main diagonal of a matrix."""
    input = _as_tensor(input)
    if input.ndim != 2:
        raise ValueError(f"trace: needs a matrix, got shape {input.shape}")
    return sum(_diagonal(input, 0, 0, 1, "trace"))


@accepts_axis
def chunk(input: Tensor | ArrayLike, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of ceil(n / chunks) along ``dim`` (the last may be smaller, and
    there may be fewer pieces): a tuple of views."""
    input = _as_tensor(input)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    axis = _normalize_axis(dim, input.ndim, "chunk")[0]
    n = input.shape[axis]
    size = max(-(-n // chunks), 1)
    lead = (slice(None),) * axis
    return tuple(input[lead + (slice(start, start + size),)] for start in range(0, max(n, 1), size))


@accepts_axis
def unbind(input: Tensor | ArrayLike, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, dimension removed: a tuple of views."""
    input = _as_tensor(input)
    axis = _normalize_axis(dim, input.ndim, "unbind")[0]
    lead = (slice(None),) * axis
    return tuple(input[lead + (i,)] for i in range(input.shape[axis]))


def expand(input: Tensor | ArrayLike, *sizes: int | Sequence[int]) -> Tensor:
    """A read-only broadcast view of size ``sizes`` (-1 keeps a size; new dimensions go in front)."""
    input = _as_tensor(input)
    sizes = _ints(sizes, "expand")
    if len(sizes) < input.ndim:
        raise ValueError(f"expand: sizes {sizes} have fewer dimensions than the tensor (shape {input.shape})")
    lead = len(sizes) - input.ndim
    if -1 in sizes[:lead]:
        raise ValueError(f"expand: -1 is not allowed for the new leading dimensions in {sizes}")
    shape = sizes[:lead] + tuple(n if s == -1 else s for s, n in zip(sizes[lead:], input.shape))
    for s, n in zip(shape[lead:], input.shape):
        if n != 1 and s != n:
            raise ValueError(f"expand: a tensor of shape {input.shape} cannot expand to {sizes}: only dimensions "
                             "of size 1 expand")
    return broadcast_to(input, shape)


def expand_as(input: Tensor | ArrayLike, other: Tensor | ArrayLike) -> Tensor:
    """``expand(input, other.shape)``."""
    return expand(input, _as_tensor(other).shape)


def unflatten(input: Tensor | ArrayLike, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one may be -1): a view."""
    input = _as_tensor(input)
    axis = _normalize_axis(dim, input.ndim, "unflatten")[0]
    sizes = tuple(sizes)
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1 or (-1 not in sizes and known != input.shape[axis]) or (
            -1 in sizes and (known == 0 or input.shape[axis] % known)):
        raise ValueError(f"unflatten: sizes {sizes} do not multiply to {input.shape[axis]}, the size of dimension "
                         f"{axis} of shape {input.shape}")
    return reshape(input, input.shape[:axis] + sizes + input.shape[axis + 1:])


def movedim(input: Tensor | ArrayLike, source: int | Sequence[int],
            destination: int | Sequence[int]) -> Tensor:
    """Move the dimensions ``source`` to the positions ``destination`` (ints or sequences), the
    others keeping their order: a view."""
    input = _as_tensor(input)
    source = _axes(source, input.ndim, "movedim")
    destination = _axes(destination, input.ndim, "movedim")
    if len(source) != len(destination):
        raise ValueError(f"movedim: source {source} and destination {destination} differ in length")
    order = [a for a in range(input.ndim) if a not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return input if order == list(range(input.ndim)) else permute(input, tuple(order))


moveaxis = movedim


@accepts_axis
def narrow(input: Tensor | ArrayLike, dim: int, start: SupportsIndex, length: int) -> Tensor:
    """``length`` elements from ``start`` along ``dim`` (a negative start counts from the end): a view."""
    input = _as_tensor(input)
    axis = _normalize_axis(dim, input.ndim, "narrow")[0]
    n = input.shape[axis]
    start = operator.index(start)
    begin = start + n if start < 0 else start
    if not (0 <= begin <= n and length >= 0 and begin + length <= n):
        raise IndexError(f"narrow: start {start} and length {length} do not fit dimension {axis} of size {n}")
    return input[(slice(None),) * axis + (slice(begin, begin + length),)]


def _atleast(tensors: tuple[Any, ...], ndim: int, op: str) -> Tensor | tuple[Tensor, ...]:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):   # one sequence: a tuple back
        return tuple(_atleast((t,), ndim, op) for t in tensors[0])  # type: ignore[misc]
    shaped = []
    for t in tensors:
        t = _as_tensor(t)
        if t.ndim < ndim:       # numpy's rule: (n,) -> (1, n) -> (1, n, 1); (m, n) -> (m, n, 1)
            shape = (1,) + t.shape + (1,) if ndim == 3 and t.ndim == 1 else (
                t.shape + (1,) if ndim == 3 and t.ndim == 2 else (1,) * (ndim - t.ndim) + t.shape)
            t = reshape(t, shape)
        shaped.append(t)
    return shaped[0] if len(shaped) == 1 else tuple(shaped)


@overload
def atleast_1d(tensor: _OneTensor, /) -> Tensor: ...
@overload
def atleast_1d(tensors: list[Any] | tuple[Any, ...], /) -> tuple[Tensor, ...]: ...
@overload
def atleast_1d(tensor1: _OneTensor, tensor2: _OneTensor, /, *tensors: _OneTensor) -> tuple[Tensor, ...]: ...


def atleast_1d(*tensors: _OneTensor | list[Any] | tuple[Any, ...]) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 1 dimension (0-d -> (1,)); a tuple for several."""
    return _atleast(tensors, 1, "atleast_1d")


@overload
def atleast_2d(tensor: _OneTensor, /) -> Tensor: ...
@overload
def atleast_2d(tensors: list[Any] | tuple[Any, ...], /) -> tuple[Tensor, ...]: ...
@overload
def atleast_2d(tensor1: _OneTensor, tensor2: _OneTensor, /, *tensors: _OneTensor) -> tuple[Tensor, ...]: ...


def atleast_2d(*tensors: _OneTensor | list[Any] | tuple[Any, ...]) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 2 dimensions ((n,) -> (1, n)); a tuple for several."""
    return _atleast(tensors, 2, "atleast_2d")


@overload
def atleast_3d(tensor: _OneTensor, /) -> Tensor: ...
@overload
def atleast_3d(tensors: list[Any] | tuple[Any, ...], /) -> tuple[Tensor, ...]: ...
@overload
def atleast_3d(tensor1: _OneTensor, tensor2: _OneTensor, /, *tensors: _OneTensor) -> tuple[Tensor, ...]: ...


def atleast_3d(*tensors: _OneTensor | list[Any] | tuple[Any, ...]) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 3 dimensions ((n,) -> (1, n, 1), (m, n) -> (m, n, 1))."""
    return _atleast(tensors, 3, "atleast_3d")


def _sequence(tensors: Iterable[_T], op: str) -> list[_T]:
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    return tensors


def vstack(tensors: Sequence[_OneTensor]) -> Tensor:
    """Stack along dimension 0 after atleast_2d: rows on rows."""
    return concatenate([atleast_2d(_as_tensor(t)) for t in _sequence(tensors, "vstack")], 0)


row_stack = vstack


def hstack(tensors: Sequence[_OneTensor]) -> Tensor:
    """Join along dimension 1 (dimension 0 for 1-D tensors), after atleast_1d."""
    pieces = [atleast_1d(_as_tensor(t)) for t in _sequence(tensors, "hstack")]
    return concatenate(pieces, 0 if pieces[0].ndim == 1 else 1)


def dstack(tensors: Sequence[_OneTensor]) -> Tensor:
    """Join along dimension 2 (depth), after atleast_3d."""
    return concatenate([atleast_3d(_as_tensor(t)) for t in _sequence(tensors, "dstack")], 2)


def column_stack(tensors: Sequence[_OneTensor]) -> Tensor:
    """Join as columns: 0-d and 1-D tensors become (n, 1) columns, then join along dimension 1."""
    pieces = [_as_tensor(t) for t in _sequence(tensors, "column_stack")]
    return concatenate([reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in pieces], 1)


@accepts_axis
def tensor_split(input: Tensor | ArrayLike, indices_or_sections: int | Tensor | Sequence[int],
                 dim: int = 0) -> tuple[Tensor, ...]:
    """numpy's array_split: ``n`` sections (the first n % sections one longer), or the pieces
    between the given indices, along ``dim``: a tuple of views."""
    input = _as_tensor(input)
    axis = _normalize_axis(dim, input.ndim, "tensor_split")[0]
    n = input.shape[axis]
    if isinstance(indices_or_sections, Tensor) and indices_or_sections.ndim == 0:
        indices_or_sections = int(indices_or_sections.item())
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"tensor_split: the number of sections must be positive, got {sections}")
        sizes = [n // sections + 1] * (n % sections) + [n // sections] * (sections - n % sections)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    else:
        indices = indices_or_sections.tolist() if isinstance(indices_or_sections, Tensor) else indices_or_sections
        bounds = [0] + [int(i) for i in indices] + [n]
    lead = (slice(None),) * axis
    return tuple(input[lead + (slice(bounds[i], max(bounds[i], bounds[i + 1])),)] for i in range(len(bounds) - 1))


def array_split(ary: Tensor | ArrayLike, indices_or_sections: int | Tensor | Sequence[int],
                axis: int = 0) -> list[Tensor]:
    """numpy's array_split (a list), the same pieces as ``tensor_split``."""
    return list(tensor_split(ary, indices_or_sections, axis))


def broadcast_shapes(*shapes: int | Sequence[int]) -> tuple[int, ...]:
    """The shape that ``shapes`` broadcast to (numpy's rules)."""
    return tuple(np.broadcast_shapes(*shapes))


def broadcast_tensors(*tensors: Tensor | ArrayLike) -> tuple[Tensor, ...]:
    """The tensors broadcast to their common shape: a tuple of read-only views."""
    as_tensors = [_as_tensor(t) for t in tensors]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in as_tensors))
    except ValueError:
        raise ValueError(f"broadcast_tensors: shapes {[t.shape for t in as_tensors]} do not broadcast") from None
    return tuple(broadcast_to(t, shape) for t in as_tensors)


def meshgrid(*tensors: Tensor | ArrayLike, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids of 1-D tensors: output i varies along dimension i (``indexing="ij"``,
    PyTorch's default) or, for "xy", with the first two dimensions swapped (numpy's default)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("meshgrid: pass indexing='ij' (PyTorch's default, used now) or 'xy'", UserWarning,
                      stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    vectors = [reshape(_as_tensor(t), -1) for t in tensors]
    positions = list(range(len(vectors)))
    if indexing == "xy" and len(vectors) >= 2:
        positions[0], positions[1] = 1, 0
    shape = [0] * len(vectors)
    for t, p in zip(vectors, positions):
        shape[p] = t.size
    grids = []
    for t, p in zip(vectors, positions):
        placed = [1] * len(vectors)
        placed[p] = t.size
        grids.append(broadcast_to(reshape(t, tuple(placed)), tuple(shape)))
    return tuple(grids)


def cartesian_prod(*tensors: Tensor | ArrayLike) -> Tensor:
    """Every combination of the elements of 1-D tensors, as rows: (n1 * n2 * ..., k)."""
    if len(tensors) == 1:
        return _as_tensor(tensors[0])
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1)


def _storage(array: np.ndarray) -> tuple[np.ndarray, int]:
    """The 1-d memory ``array`` lives in (its base's, in ``array``'s dtype) and where ``array``'s
    first element sits in it, in elements (PyTorch's storage and storage offset)."""
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    flat = root.reshape(-1, order="A")
    if not np.shares_memory(flat, root):
        raise RuntimeError("as_strided: the tensor's memory is not one contiguous block; use .contiguous() first")
    start = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return flat.view(np.uint8).view(array.dtype), start // array.itemsize


def _positions(offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> np.ndarray:
    """The storage position of each element of a view (size, stride, offset), shaped like it."""
    positions = np.full(size, offset, dtype=np.int64)
    for axis, (n, step) in enumerate(zip(size, stride)):
        positions += (np.arange(n) * step).reshape((n,) + (1,) * (len(size) - axis - 1))
    return positions


class AsStrided(Function):
    """``Tensor.as_strided``: a view of the input's memory. Backward: the output's gradient added
    into the memory's positions (repeats add up), read back at the input's positions, shared
    evenly where the input's own elements overlap (an expanded input), as PyTorch's."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, size: tuple[int, ...], stride: tuple[int, ...],
                storage_offset: int | None) -> np.ndarray:
        storage, start = _storage(x)
        offset = start if storage_offset is None else storage_offset
        needed = offset + builtins.sum((n - 1) * step for n, step in zip(size, stride)) + 1 if all(size) else 0
        if needed > storage.size:
            raise RuntimeError(f"as_strided: size {list(size)}, stride {list(stride)} and storage offset {offset} "
                               f"need {needed} elements of memory, but the tensor's memory holds {storage.size}")
        ctx.geometry = (storage.size, _positions(offset, size, stride),
                        _positions(start, x.shape, tuple(step // x.itemsize for step in x.strides)))
        return np.lib.stride_tricks.as_strided(storage[offset:], size, tuple(step * x.itemsize for step in stride))

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, None, None, None]:
        if isinstance(grad, Tensor):        # create_graph: this backward is numpy only
            raise NotImplementedError("as_strided: second-order gradients (create_graph=True) are not implemented")
        storage_size, out_positions, in_positions = ctx.geometry
        memory = np.zeros(storage_size, dtype=grad.dtype)
        np.add.at(memory, out_positions.reshape(-1), grad.reshape(-1))
        counts = np.bincount(in_positions.reshape(-1), minlength=storage_size)
        return (memory / np.maximum(counts, 1)).astype(grad.dtype, copy=False)[in_positions], None, None, None


def ravel(input: Tensor | ArrayLike) -> Tensor:
    """All elements in one dimension, in row-major order (PyTorch's ravel, flatten's 1-d copy)."""
    return reshape(_as_tensor(input), (-1,))


def t(input: Tensor | ArrayLike) -> Tensor:
    """A matrix transposed; a 0-d or 1-d tensor as it is (``input.t()``)."""
    return _as_tensor(input).t()


def as_strided(input: Tensor | ArrayLike, size: Sequence[int], stride: Sequence[int],
               storage_offset: int | None = None) -> Tensor:
    """A view of input's memory with shape ``size`` and steps ``stride`` (``input.as_strided``)."""
    return _as_tensor(input).as_strided(size, stride, storage_offset)


@accepts_axis
def select(input: Tensor | ArrayLike, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, that dim removed (``input[..., index, ...]``)."""
    input = _as_tensor(input)
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor")
    axis = _normalize_axis(dim, input.ndim, "select")[0]
    size = input.shape[axis]
    index = operator.index(index)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {input.shape} at dimension {dim}")
    return getitem(input, (slice(None),) * axis + (index,))


def vander(x: Tensor | ArrayLike, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-d x (n,) -> (n, N): columns x^(N-1), ..., x, 1 (``increasing``:
    1, x, ..., x^(N-1)); N defaults to n. Built by a running product, so the gradient is
    finite at x = 0, as PyTorch's."""
    x = _as_tensor(x)
    if x.ndim != 1:
        raise ValueError(f"vander: x must be a one-dimensional tensor, got shape {x.shape}")
    columns = x.shape[0] if N is None else N
    if columns < 0:
        raise ValueError(f"vander: N must be non-negative, got {N}")
    if x.dtype == np.bool_:
        x = x.to(np.int64)
    ones = np.ones((x.shape[0], min(columns, 1)), dtype=x.dtype)
    if columns <= 1:
        return _as_tensor(ones)
    from .scans import cumprod     # (scans imports this module)
    powers = cumprod(broadcast_to(reshape(x, (-1, 1)), (x.shape[0], columns - 1)), 1)
    matrix = concatenate([ones, powers], 1)
    return matrix if increasing else flip(matrix, -1)


def block_diag(*tensors: Tensor | ArrayLike) -> Tensor:
    """The tensors (0-d, 1-d as one row, or 2-d) along the diagonal of one matrix, zeros
    elsewhere: (sum of rows, sum of columns), in their promoted dtype."""
    from .promotion import result_type
    blocks = [_as_tensor(t) for t in tensors]
    for position, block in enumerate(blocks):
        if block.ndim > 2:
            raise ValueError(f"block_diag: input {position} has {block.ndim} dimensions; expected 0, 1 or 2")
    if not blocks:
        return Tensor(np.zeros((1, 0), dtype=np.float32))
    dtype = result_type(*[b.data for b in blocks])
    matrices = [reshape(b if b.dtype == dtype else b.to(dtype), (1, -1) if b.ndim < 2 else b.shape) for b in blocks]
    width = builtins.sum(m.shape[1] for m in matrices)
    rows, before = [], 0
    for m in matrices:
        after = width - before - m.shape[1]
        rows.append(concatenate([np.zeros((m.shape[0], before), dtype), m, np.zeros((m.shape[0], after), dtype)], 1))
        before += m.shape[1]
    return concatenate(rows, 0)


TENSOR_METHODS: dict[str, Callable[..., Any]] = {
    "flip": flip, "fliplr": fliplr, "flipud": flipud, "roll": roll, "rot90": rot90, "tril": tril, "triu": triu,
    "diag": diag, "diagonal": diagonal, "diag_embed": diag_embed, "trace": trace, "chunk": chunk,
    "unbind": unbind, "expand": expand, "expand_as": expand_as, "unflatten": unflatten, "movedim": movedim,
    "moveaxis": moveaxis, "narrow": narrow, "tensor_split": tensor_split, "ravel": ravel, "select": select,
}


from .ops import _ARRAY_FUNCTIONS  # noqa: E402
_ARRAY_FUNCTIONS.update({
    np.flip: lambda m, axis=None: flip(m, tuple(range(_as_tensor(m).ndim)) if axis is None else axis),
    np.fliplr: fliplr, np.flipud: flipud, np.roll: lambda a, shift, axis=None: roll(a, shift, axis),
    np.rot90: lambda m, k=1, axes=(0, 1): rot90(m, k, axes), np.tril: tril, np.triu: triu, np.diag: diag,
    np.diagonal: diagonal,
    np.trace: lambda a, offset=0, axis1=0, axis2=1: sum(_diagonal(a, offset, axis1, axis2, "trace"), -1),
    np.moveaxis: movedim, np.atleast_1d: atleast_1d, np.atleast_2d: atleast_2d, np.atleast_3d: atleast_3d,
    np.vstack: vstack, np.hstack: hstack, np.dstack: dstack, np.column_stack: column_stack,
    np.array_split: array_split, np.broadcast_arrays: broadcast_tensors,
    np.meshgrid: lambda *xi, indexing="xy": meshgrid(*xi, indexing=indexing),
})
