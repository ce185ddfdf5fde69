"""PyTorch's named results: ``t.max(dim)`` returns ``return_types.max(values, indices)``, a named
tuple that unpacks as ``values, indices = t.max(1)`` and reads as ``t.max(1).values``, as
``torch.return_types.max`` does."""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["max", "min"]


class max(NamedTuple):     # noqa: A001 (PyTorch's name)
    """The largest values along a dim and their indices (the first, at ties)."""
    values: Tensor
    indices: Tensor


class min(NamedTuple):     # noqa: A001 (PyTorch's name)
    """The smallest values along a dim and their indices (the first, at ties)."""
    values: Tensor
    indices: Tensor
