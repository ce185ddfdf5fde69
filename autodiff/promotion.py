"""PyTorch's type promotion, for the ops' operands (numpy's rules differ for mixed kinds).

The result dtype of an op on several operands (PyTorch's ``torch.result_type``) is decided in
three groups, highest first: tensors of one or more dims, 0-d tensors (and numpy scalars), and
Python numbers (a float counts as the default float dtype, an int as int64). Within a group,
dtypes promote as usual (the higher category, bool < integer < floating, wins; within a
category the wider dtype); a lower group changes the result only when its category is higher.
So a float32 tensor times a float64 0-d tensor stays float32, an int64 tensor times 1.5 is
float32, and an int64 tensor plus a float16 tensor is float16 (numpy: float64 each time).
Integer results of ops whose value is floating (true division, ``exp``, ``sqrt``...) take the
default float dtype.

The adapters of ``autodiff.function`` call ``operands`` only off their plain path (two float
arrays of one dtype, or a float array and a Python number), where numpy's answer is already
PyTorch's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .tensor import _to_array, get_default_dtype

if TYPE_CHECKING:
    from .function import Function

__all__ = ["result_type", "operands", "floating"]

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_INT64 = np.dtype(np.int64)
_BOOL = np.dtype(np.bool_)


def _category(dtype: np.dtype) -> int:
    return _CATEGORY.get(dtype.kind, 1)


def _promote(a: np.dtype | None, b: np.dtype | None) -> np.dtype | None:
    """Two dtypes of one group: the higher category's, or within a category numpy's promotion."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    category_a, category_b = _category(a), _category(b)
    if category_a != category_b:
        return a if category_a > category_b else b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """A higher group's dtype, unless the lower group's category is higher (c10's combine_categories)."""
    if higher is None:
        return lower
    if lower is not None and _category(lower) > _category(higher):
        if lower.kind == "c" and higher.kind == "f":     # a complex number keeps a float tensor's precision
            return np.dtype(np.complex128 if higher == np.float64 else np.complex64)
        return lower
    return higher


def result_type(*operands: Any) -> np.dtype:
    """The dtype PyTorch gives an op on ``operands`` (arrays, numpy scalars, Python numbers;
    Tensors by their data)."""
    dims = zero_dim = numbers = None
    for x in operands:
        data = getattr(x, "data", x) if not isinstance(x, (np.ndarray, np.generic)) else x
        if isinstance(data, np.ndarray) and data.ndim:
            dims = _promote(dims, data.dtype)
        elif isinstance(data, (np.ndarray, np.generic)):
            zero_dim = _promote(zero_dim, data.dtype)
        elif isinstance(data, bool):
            numbers = _promote(numbers, _BOOL)
        elif isinstance(data, int):
            numbers = _promote(numbers, _INT64)
        elif isinstance(data, float):
            numbers = _promote(numbers, get_default_dtype())
        elif isinstance(data, complex):
            numbers = _promote(numbers, np.dtype(np.complex128 if get_default_dtype() == np.float64
                                                 else np.complex64))
    dtype = _combine(dims, _combine(zero_dim, numbers))
    return get_default_dtype() if dtype is None else dtype


def _cast(x: Any, dtype: np.dtype) -> Any:
    """An array or numpy scalar operand in ``dtype`` (Python numbers stay: NEP 50 then does the rest)."""
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype != dtype:
        return np.asarray(x).astype(dtype)
    return x


def operands(a: Any, b: Any, cls: type[Function] | None = None) -> tuple[Any, Any, np.dtype]:
    """``(a, b, dtype)``: the two operands of a binary op (arrays or numbers) cast to PyTorch's
    result dtype, and that dtype. An op class that refuses bool operands as PyTorch does says so
    with ``refuses_bool``: ``"operand"`` (subtraction), ``"result"`` (pow of two bools)."""
    if isinstance(a, (list, tuple)):        # nested lists: a tensor by ad.tensor's rules
        a = _to_array(a)
    if isinstance(b, (list, tuple)):
        b = _to_array(b)
    dtype = result_type(a, b)
    refuses = getattr(cls, "refuses_bool", None)
    if refuses is not None and (dtype == _BOOL if refuses == "result" else _BOOL in (
            getattr(a, "dtype", None), getattr(b, "dtype", None)) or isinstance(a, bool) or isinstance(b, bool)):
        op = (cls.display_name or cls.__name__).lower()  # type: ignore[union-attr]  # (refuses: a class)
        raise TypeError(f"{op}: bool operands are not supported (as in PyTorch); to invert a mask use ~mask, "
                        "and for arithmetic convert first with .int() or .float()")
    return _cast(a, dtype), _cast(b, dtype), dtype


def floating(*arrays: Any) -> tuple[Any, ...]:
    """The operands in the default float dtype: an op whose value is floating (true division)
    on bool or integer operands."""
    dtype = get_default_dtype()
    return tuple(_cast(x, dtype) if isinstance(x, (np.ndarray, np.generic)) else x for x in arrays)
