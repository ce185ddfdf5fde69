"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad in 1, 2 and
3 dims, thin Modules over ``F.pad`` with PyTorch's arguments, attributes and reprs."""
from __future__ import annotations

from typing import Sequence, Union

from autodiff import Tensor

from . import functional as F
from .module import Module

__all__ = [
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d",
    "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
]

# one amount for every side, or (left, right[, top, bottom[, front, back]])
_Padding = Union[int, Sequence[int]]
_SIDES = {1: "(left, right)", 2: "(left, right, top, bottom)", 3: "(left, right, top, bottom, front, back)"}


class _PadNd(Module):
    dims: int       # how many trailing dims the layer pads
    mode: str

    def __init__(self, padding: _Padding) -> None:
        super().__init__()
        name, count = type(self).__name__, 2 * self.dims
        if isinstance(padding, int) and not isinstance(padding, bool):
            self.padding = (padding,) * count
        else:
            try:
                amounts = tuple(padding)      # type: ignore[arg-type]
            except TypeError:
                raise TypeError(f"{name}: padding must be an int or a tuple of {count} ints {_SIDES[self.dims]}, "
                                f"got {padding!r}") from None
            if len(amounts) != count or not all(isinstance(a, int) and not isinstance(a, bool) for a in amounts):
                raise ValueError(f"{name}: padding must be an int or a tuple of {count} ints {_SIDES[self.dims]}, "
                                 f"got {padding!r}")
            self.padding = amounts

    def _check_input(self, x: Tensor) -> None:
        d = self.dims
        if x.ndim not in (d + 1, d + 2):
            raise ValueError(f"{type(self).__name__}: expected a {d + 1}-D (C, {_SPATIAL[d]}) or {d + 2}-D "
                             f"(N, C, {_SPATIAL[d]}) input, got shape {x.shape}")

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        return self._pad(x, self.mode, None)

    def _pad(self, x: Tensor, mode: str, value: float | None) -> Tensor:
        try:
            return F.pad(x, self.padding, mode, value)
        except ValueError as error:     # F.pad's message, under this layer's name
            raise ValueError(f"{type(self).__name__}: {str(error).removeprefix('pad: ')}") from None

    def extra_repr(self) -> str:
        return f"{self.padding}"


_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


class _ConstantPadNd(_PadNd):
    mode = "constant"

    def __init__(self, padding: _Padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def _check_input(self, x: Tensor) -> None:
        # constant padding pads the last dims of any input with enough of them, as PyTorch's
        if x.ndim < self.dims:
            raise ValueError(f"{type(self).__name__}: pads the last {self.dims} dims, but the input of shape "
                             f"{x.shape} has {x.ndim}")

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        return self._pad(x, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: ``padding`` an int, or (left, right)."""
    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with ``value``: ``padding`` an int, or (left, right, top, bottom)."""
    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with ``value``: ``padding`` an int, or (left, right, top, bottom,
    front, back)."""
    dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: _Padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros: ``padding`` an int, or (left, right)."""
    dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 dims with zeros: ``padding`` an int, or (left, right, top, bottom)."""
    dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 dims with zeros: ``padding`` an int, or (left, right, top, bottom, front, back)."""
    dims = 3


class ReflectionPad1d(_PadNd):
    """Mirror (N, C, L) or (C, L) at its edges, without repeating the edge: ``padding`` an int or
    (left, right), each smaller than L."""
    dims, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Mirror the last 2 dims of (N, C, H, W) or (C, H, W) at their edges (see ReflectionPad1d)."""
    dims, mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Mirror the last 3 dims of (N, C, D, H, W) or (C, D, H, W) at their edges."""
    dims, mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Repeat the edge values of (N, C, L) or (C, L): ``padding`` an int or (left, right)."""
    dims, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Repeat the edge values of the last 2 dims of (N, C, H, W) or (C, H, W)."""
    dims, mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Repeat the edge values of the last 3 dims of (N, C, D, H, W) or (C, D, H, W)."""
    dims, mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """Wrap (N, C, L) or (C, L) around: the left padding comes from the right end and vice versa."""
    dims, mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Wrap the last 2 dims of (N, C, H, W) or (C, H, W) around."""
    dims, mode = 2, "circular"


class CircularPad3d(_PadNd):
    """Wrap the last 3 dims of (N, C, D, H, W) or (C, D, H, W) around."""
    dims, mode = 3, "circular"
