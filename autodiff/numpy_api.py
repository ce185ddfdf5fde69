"""numpy's functions called on tensors (``np.sum(t)``, ``np.transpose(t)``, ``np.split(t, 3)``):
numpy's meanings, on the graph.

numpy hands a call that meets a Tensor to ``Tensor.__array_function__``, which looks the function
up in ``ops._ARRAY_FUNCTIONS``, filled here. Where numpy and PyTorch share a name their meanings
can differ, and here each function keeps numpy's, built from the ``ad.`` ops: ``np.transpose``
permutes (PyTorch's swaps two dims), ``np.squeeze`` refuses an axis whose size is not 1,
``np.split`` takes a number of equal sections or split points, ``np.repeat`` repeats elements,
``np.var``/``np.std`` are biased (``ddof=0``), ``np.max`` has no indices, ``np.dot`` contracts
N-d arrays, ``np.mean`` of integers is float64, and mixed dtypes promote as numpy's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

import numpy as np

from . import indexing, ops
from .ops import _array, _as_tensor, _in_dtype
from .tensor import Tensor

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

    from ._typing import TensorLike

__all__ = ["ARRAY_FUNCTIONS"]

_T = TypeVar("_T")


def _refuse(name: str, **arguments: Any) -> None:
    """numpy arguments that this engine does not support on tensors (``out=``, ``where=``...)."""
    given = [key for key, value in arguments.items() if value is not None]
    if given:
        raise TypeError(f"np.{name}(tensor, ..., {given[0]}=...) is not supported on autodiff tensors; "
                        "leave it out (or call it on t.detach().numpy() if you need no gradient)")


def _numpy_accumulator(x: Tensor, dtype: DTypeLike | None) -> np.dtype:
    """numpy's dtype for a sum or product of x: ``dtype`` if given, else x's, except that bool and
    small integers accumulate as numpy's default integer."""
    if dtype is not None:
        return np.dtype(dtype)
    if x.dtype.kind in "biu":
        return np.add.reduce(np.zeros(0, x.dtype)).dtype
    return x.dtype


def _in(x: Tensor, dtype: np.dtype) -> Tensor:
    return x if x.dtype == dtype else x.astype(dtype)


def _reduce_args(x: Tensor, axis: Any, keepdims: Any, op: str) -> tuple[Any, bool]:
    return ops._dims(x, axis, bool(keepdims), {}, op, empty_is_all=False)


def np_sum(a: TensorLike, axis: Any = None, dtype: DTypeLike | None = None, out: Any = None, keepdims: bool = False,
           initial: Any = None, where: Any = None) -> Tensor:
    """numpy's ``sum``: bool and small integers sum as numpy's default integer."""
    _refuse("sum", out=out, initial=initial, where=where)
    x = _as_tensor(a)
    x = _in(x, _numpy_accumulator(x, dtype))
    return ops.apply1(ops.Sum, x, *_reduce_args(x, axis, keepdims, "sum"))


def np_prod(a: TensorLike, axis: Any = None, dtype: DTypeLike | None = None, out: Any = None, keepdims: bool = False,
            initial: Any = None, where: Any = None) -> Tensor:
    """numpy's ``prod``."""
    _refuse("prod", out=out, initial=initial, where=where)
    x = _as_tensor(a)
    x = _in(x, _numpy_accumulator(x, dtype))
    return ops.Prod.apply(x, *_reduce_args(x, axis, keepdims, "prod"))


def np_mean(a: TensorLike, axis: Any = None, dtype: DTypeLike | None = None, out: Any = None, keepdims: bool = False,
            where: Any = None) -> Tensor:
    """numpy's ``mean``: bool and integer tensors average in float64."""
    _refuse("mean", out=out, where=where)
    x = _as_tensor(a)
    if dtype is None and x.dtype.kind != "f":
        dtype = np.float64
    if dtype is not None:
        x = _in(x, np.dtype(dtype))
    axes, keepdims = _reduce_args(x, axis, keepdims, "mean")
    count = ops._reduced_count(x.shape, axes)
    total = ops.apply1(ops.Sum, x, axes, keepdims)
    return total / count if count else total * np.nan


def _np_extremum(reduce: Callable[..., Any], name: str) -> Callable[..., Tensor]:
    def extremum(a: TensorLike, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None,
                 where: Any = None) -> Tensor:
        _refuse(name, out=out, initial=initial, where=where)
        x = _as_tensor(a)
        axes, keepdims = _reduce_args(x, axis, keepdims, name)
        if x.size == 0:
            raise ValueError(f"np.{name}: zero-size array to reduction operation, which has no identity")
        return ops.Max.apply(x, axes, keepdims, reduce)
    extremum.__name__ = f"np_{name}"
    extremum.__doc__ = f"numpy's ``{name}``: the values alone (no indices); ties share the gradient evenly."
    return extremum


np_max = _np_extremum(np.max, "max")
np_min = _np_extremum(np.min, "min")


def _np_variance(cls: type[ops.Var] | type[ops.Std], name: str) -> Callable[..., Tensor]:
    def variance(a: TensorLike, axis: Any = None, dtype: DTypeLike | None = None, out: Any = None, ddof: float = 0,
                 keepdims: bool = False, where: Any = None, mean: Any = None, correction: float | None = None
                 ) -> Tensor:
        _refuse(name, out=out, where=where, mean=mean)
        x = _as_tensor(a)
        if dtype is not None:
            x = _in(x, np.dtype(dtype))
        elif x.dtype.kind != "f":
            x = _in(x, np.dtype(np.float64))
        axes, keepdims = _reduce_args(x, axis, keepdims, name)
        return cls.apply(x, axes, ddof if correction is None else correction, keepdims)
    variance.__name__ = f"np_{name}"
    variance.__doc__ = f"numpy's ``{name}``: ``ddof=0`` (biased) by default; integers in float64."
    return variance


np_var = _np_variance(ops.Var, "var")
np_std = _np_variance(ops.Std, "std")


def np_argmax(a: TensorLike, axis: int | None = None, out: Any = None, *, keepdims: bool = False) -> Tensor:
    """numpy's ``argmax``."""
    _refuse("argmax", out=out)
    return ops.argmax(a, axis, keepdims)


def np_argmin(a: TensorLike, axis: int | None = None, out: Any = None, *, keepdims: bool = False) -> Tensor:
    """numpy's ``argmin``."""
    _refuse("argmin", out=out)
    return ops.argmin(a, axis, keepdims)


def np_transpose(a: TensorLike, axes: Sequence[int] | None = None) -> Tensor:
    """numpy's ``transpose``: ``axes`` a permutation (None reverses)."""
    x = _as_tensor(a)
    return ops.permute(x, tuple(range(x.ndim))[::-1] if axes is None else tuple(axes))


def np_swapaxes(a: TensorLike, axis1: int, axis2: int) -> Tensor:
    """numpy's ``swapaxes``."""
    return ops.swapaxes(a, axis1, axis2)


def np_squeeze(a: TensorLike, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """numpy's ``squeeze``: an axis whose size is not 1 is an error."""
    x = _as_tensor(a)
    if axis is not None:
        for i in ops._normalize_axis(axis, x.ndim, "squeeze") or ():
            if x.shape[i] != 1:
                raise ValueError(f"np.squeeze: cannot select an axis to squeeze out which has size not equal to "
                                 f"one (axis {i} of shape {x.shape})")
    return ops.squeeze(x, axis)


def np_expand_dims(a: TensorLike, axis: int | tuple[int, ...]) -> Tensor:
    """numpy's ``expand_dims``."""
    return ops.unsqueeze(a, axis)


def np_reshape(a: TensorLike, shape: Any = None, order: str = "C", *, newshape: Any = None, copy: bool | None = None
               ) -> Tensor:
    """numpy's ``reshape`` (C order)."""
    if order != "C":
        raise TypeError(f"np.reshape: order={order!r} is not supported on autodiff tensors; only 'C'")
    return ops.reshape(a, newshape if shape is None else shape)


def np_broadcast_to(array: TensorLike, shape: Any, subok: bool = False) -> Tensor:
    """numpy's ``broadcast_to``."""
    return ops.broadcast_to(array, shape)


def _numpy_common(*operands: _T) -> tuple[_T, ...]:
    """The operands in numpy's result dtype (tensors cast on the graph, numbers as they are)."""
    arrays = [_array(x) for x in operands]
    if all(isinstance(a, (np.ndarray, np.generic)) for a in arrays) and len({a.dtype for a in arrays}) == 1:
        return operands
    dtype = np.result_type(*arrays)
    return tuple(_in_dtype(x, dtype) if isinstance(x, (Tensor, np.ndarray, np.generic)) else x for x in operands)


def np_where(condition: TensorLike, x: TensorLike | None = None, y: TensorLike | None = None
             ) -> Tensor | tuple[np.ndarray, ...]:
    """numpy's ``where``: the indices of the non-zero elements, or x where condition else y
    (numpy's promotion of x and y)."""
    if x is None and y is None:
        return np.where(_array(condition))
    x, y = _numpy_common(x, y)
    return ops.where(condition, x, y)  # type: ignore[arg-type]  # (x or y None: numpy's error, from where)


def np_clip(a: TensorLike, a_min: ArrayLike | None = None, a_max: ArrayLike | None = None, out: Any = None, *,
            min: ArrayLike | None = None, max: ArrayLike | None = None, **kwargs: Any) -> Tensor:
    """numpy's ``clip``."""
    _refuse("clip", out=out, **{key: value for key, value in kwargs.items() if key != "dtype"})
    low = a_min if a_min is not None else min
    high = a_max if a_max is not None else max
    x = _as_tensor(a)
    dtype = np.result_type(x.data, *(bound for bound in (low, high) if bound is not None))
    return ops.clip(_in(x, dtype), low, high)


def np_shape(a: TensorLike) -> tuple[int, ...]:
    return ops._shape(a)


def np_ndim(a: TensorLike) -> int:
    return ops._ndim(a)


def np_size(a: TensorLike, axis: int | None = None) -> int:
    data = _array(a)
    return data.size if axis is None else data.shape[axis]


def np_dot(a: TensorLike, b: TensorLike, out: Any = None) -> Tensor:
    """numpy's ``dot``: a product with a scalar, the inner product of vectors, the matrix product,
    and for N-d arrays the sum over the last axis of a and the second-to-last of b:
    (..., k), (..., k, m) -> a.shape[:-1] + b.shape[:-2] + (m,)."""
    _refuse("dot", out=out)
    a, b = _numpy_common(_as_tensor(a), _as_tensor(b))
    if a.ndim == 0 or b.ndim == 0:
        return ops.mul(a, b)
    if b.ndim <= 2 or a.ndim == 1:
        return ops.matmul(a, b)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"np.dot: shapes {a.shape} and {b.shape} not aligned: {a.shape[-1]} (dim {a.ndim - 1}) != "
                         f"{b.shape[-2]} (dim {b.ndim - 2})")
    k = a.shape[-1]
    rows = a.reshape(-1, k)
    order = (b.ndim - 2,) + tuple(range(b.ndim - 2)) + (b.ndim - 1,)
    columns = ops.permute(b, order).reshape(k, -1)
    return (rows @ columns).reshape(a.shape[:-1] + b.shape[:-2] + b.shape[-1:])


def np_concatenate(arrays: Sequence[TensorLike], axis: int | None = 0, out: Any = None, dtype: DTypeLike | None = None,
                   casting: Any = None) -> Tensor:
    """numpy's ``concatenate`` (``axis=None`` joins the flattened tensors)."""
    _refuse("concatenate", out=out, casting=casting)
    tensors = [_as_tensor(t) for t in arrays]
    if dtype is not None:
        tensors = [_in(t, np.dtype(dtype)) for t in tensors]
    tensors = list(_numpy_common(*tensors))
    if axis is None:
        tensors, axis = [t.reshape(-1) for t in tensors], 0
    return indexing.concatenate(tensors, axis)


def np_stack(arrays: Sequence[TensorLike], axis: int = 0, out: Any = None, *, dtype: DTypeLike | None = None,
             casting: Any = None) -> Tensor:
    """numpy's ``stack``."""
    _refuse("stack", out=out, casting=casting)
    tensors = [_as_tensor(t) for t in arrays]
    if dtype is not None:
        tensors = [_in(t, np.dtype(dtype)) for t in tensors]
    return indexing.stack(list(_numpy_common(*tensors)), axis)


def _split_at(x: Tensor, points: Sequence[int] | range, axis: int) -> list[Tensor]:
    """Pieces of x between numpy's split points (as slices: out-of-range points give empty pieces)."""
    lead = (slice(None),) * axis
    bounds = [None] + list(points) + [None]
    return [indexing.getitem(x, lead + (slice(bounds[i], bounds[i + 1]),)) for i in range(len(bounds) - 1)]


def np_split(ary: TensorLike, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """numpy's ``split``: a number of equal sections, or the indices where the pieces start."""
    x = _as_tensor(ary)
    axis = ops._normalize_axis(axis, x.ndim, "split")[0]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections, n = int(indices_or_sections), x.shape[axis]
        if sections <= 0 or n % sections:
            raise ValueError(f"np.split: array split does not result in an equal division (axis {axis} of size {n} "
                             f"into {sections}); np.array_split allows unequal pieces")
        return _split_at(x, range(n // sections, n, n // sections), axis)
    return _split_at(x, [int(i) for i in indices_or_sections], axis)


def np_array_split(ary: TensorLike, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """numpy's ``array_split``: as ``split``, but a number of sections need not divide the axis
    (the first pieces get one more element)."""
    x = _as_tensor(ary)
    axis = ops._normalize_axis(axis, x.ndim, "array_split")[0]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("np.array_split: number sections must be larger than 0")
        each, extras = divmod(x.shape[axis], sections)
        sizes = [each + 1] * extras + [each] * (sections - extras)
        return _split_at(x, np.cumsum(sizes[:-1]).tolist(), axis)
    return _split_at(x, [int(i) for i in indices_or_sections], axis)


def np_repeat(a: TensorLike, repeats: TensorLike, axis: int | None = None) -> Tensor:
    """numpy's ``repeat``: each element ``repeats`` times (PyTorch's ``repeat_interleave``)."""
    return indexing.repeat_interleave(a, repeats, axis)


def np_tile(A: TensorLike, reps: int | Sequence[int]) -> Tensor:
    """numpy's ``tile``."""
    return indexing.tile(A, reps)


def np_pad(array: TensorLike, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Tensor:
    """numpy's ``pad`` (``mode="constant"``)."""
    return indexing.pad(array, pad_width, mode, **kwargs)


ARRAY_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {
    np.sum: np_sum, np.prod: np_prod, np.mean: np_mean, np.max: np_max, np.amax: np_max, np.min: np_min,
    np.amin: np_min, np.var: np_var, np.std: np_std, np.argmax: np_argmax, np.argmin: np_argmin,
    np.transpose: np_transpose, np.swapaxes: np_swapaxes, np.squeeze: np_squeeze,
    np.expand_dims: np_expand_dims, np.reshape: np_reshape, np.broadcast_to: np_broadcast_to,
    np.where: np_where, np.clip: np_clip, np.shape: np_shape, np.ndim: np_ndim, np.size: np_size,
    np.dot: np_dot, np.concatenate: np_concatenate, np.stack: np_stack, np.split: np_split,
    np.array_split: np_array_split, np.repeat: np_repeat, np.tile: np_tile, np.pad: np_pad,
}
ops._ARRAY_FUNCTIONS.update(ARRAY_FUNCTIONS)
