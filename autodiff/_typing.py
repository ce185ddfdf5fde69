"""The type aliases of the public API's annotations, named once (for mypy and editors: nothing
here runs on an op's path)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence, SupportsIndex, Union

from numpy.typing import ArrayLike, DTypeLike

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["TensorLike", "Dims", "ShapeLike", "DTypeLike"]

# An operand: a Tensor, or data numpy makes an array of (an ndarray, a number, nested lists), which
# the ops take as a constant
TensorLike = Union["Tensor", ArrayLike]
# The dims of a reduction: one, several, or None (all of them)
Dims = Union[int, tuple[int, ...], list[int], None]
# A shape given as ints or as one sequence of them: reshape(2, 3) or reshape((2, 3))
ShapeLike = Union[SupportsIndex, Sequence[SupportsIndex]]
