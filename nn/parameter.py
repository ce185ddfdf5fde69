"""Parameter: a Tensor that a Module registers as one of its learnable weights."""
from __future__ import annotations

from typing import Any, SupportsIndex

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor that requires grad (unless told otherwise) and that ``Module.__setattr__``
    registers, so it shows up in ``parameters()`` and ``state_dict()``.

    ``data`` may be a Tensor (its array is shared, as in PyTorch), an ndarray (shared too) or
    Python numbers (copied into the default dtype).

    >>> import nn
    >>> p = nn.Parameter([1.0, 2.0])
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Tensor | ArrayLike | None = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, ad.get_default_dtype())
        if isinstance(data, Tensor):
            data = data.data        # share the array, leave the graph (PyTorch's Parameter(t))
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        # copy.deepcopy / copy.copy: a Parameter again, with its array copied by copy's memo
        return (_rebuild_parameter, (self.data, self._requires_grad, self.grad))


def _rebuild_parameter(data: np.ndarray, requires_grad: bool, grad: Tensor | None) -> Parameter:
    parameter = Parameter(data, requires_grad)
    parameter.grad = grad
    return parameter
