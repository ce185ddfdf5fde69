"""Questions about dtypes and tensors, answered as PyTorch answers them: result_type,
promote_types, can_cast (PyTorch's promotion categories: bool < integer < floating < complex,
not numpy's), is_floating_point, is_complex, is_nonzero."""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import promotion
from .dtypes import as_dtype
from .tensor import Tensor

__all__ = ["result_type", "promote_types", "can_cast", "is_floating_point", "is_complex", "is_nonzero"]


def result_type(tensor: Any, other: Any) -> np.dtype:
    """The dtype of an arithmetic op on ``tensor`` and ``other`` (tensors or numbers), by
    PyTorch's rules: an int64 tensor and 1.5 give float32, a float32 tensor and a float64 0-d
    tensor float32."""
    return promotion.result_type(tensor, other)


def promote_types(type1: DTypeLike, type2: DTypeLike) -> np.dtype:
    """The smallest dtype both promote to, by PyTorch's categories (int64 and float32 give
    float32, where numpy says float64)."""
    first, second = as_dtype(type1, "promote_types"), as_dtype(type2, "promote_types")
    return promotion.result_type(np.empty(1, first), np.empty(1, second))


def can_cast(from_: DTypeLike, to: DTypeLike) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` to ``to``: any cast that does not go down a
    category (float to integer, integer to bool); within a category narrowing is allowed."""
    source, target = as_dtype(from_, "can_cast"), as_dtype(to, "can_cast")
    return _CATEGORY[source.kind] <= _CATEGORY[target.kind]


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _tensor(input: Any, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    return input


def is_floating_point(input: Tensor) -> bool:
    """Whether the tensor's dtype is a floating one."""
    return _tensor(input, "is_floating_point").dtype.kind == "f"


def is_complex(input: Tensor) -> bool:
    """Whether the tensor's dtype is a complex one (autodiff's tensors are real: False, unless
    made from complex data)."""
    return _tensor(input, "is_complex").dtype.kind == "c"


def is_nonzero(input: Tensor) -> bool:
    """Whether a one-element tensor is non-zero (an error for more or fewer elements, as
    PyTorch's)."""
    data = _tensor(input, "is_nonzero").data
    if data.size == 0:
        raise RuntimeError("is_nonzero: Boolean value of Tensor with no values is ambiguous")
    if data.size > 1:
        raise RuntimeError(f"is_nonzero: Boolean value of Tensor with more than one value is ambiguous (shape "
                           f"{data.shape}); use .any() or .all()")
    return bool(data.reshape(()) != 0)


TENSOR_METHODS = {"is_floating_point": is_floating_point, "is_complex": is_complex, "is_nonzero": is_nonzero}
