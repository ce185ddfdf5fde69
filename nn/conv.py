"""Convolution layers: Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
ConvTranspose3d (PyTorch's arguments, attributes, initialisation, state-dict keys and reprs)."""
from __future__ import annotations

import math
import numbers
from typing import Any, Literal, Sequence, Union

import numpy as np
from numpy.typing import DTypeLike

from autodiff import Tensor

from . import functional as F
from . import init
from .layers import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_CONVOLVE = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONVOLVE_TRANSPOSED = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

# a size per spatial dimension: one int for all, or one each
_Size = Union[int, Sequence[int]]


def _tuple(value: Any, d: int, name: str, owner: str) -> tuple[int, ...]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * d
    values = tuple(value)
    if len(values) != d or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{owner}: {name} must be an int or a tuple of {d} ints, got {value!r}")
    return tuple(int(v) for v in values)


class _ConvNd(Module):
    """What Conv1d/2d and ConvTranspose1d/2d share: the weight (out, in / groups, *kernel) (a
    transposed conv's is (in, out / groups, *kernel)), the bias (out,), PyTorch's default
    initialisation and repr."""

    _dims = 2
    _transposed = False
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Literal["same", "valid"] | tuple[int, ...]     # or per dimension
    dilation: tuple[int, ...]
    transposed: bool
    output_padding: tuple[int, ...]
    groups: int
    padding_mode: str
    weight: Parameter
    bias: Parameter | None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _Size, stride: _Size = 1,
                 padding: _Size | str = 0, dilation: _Size = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: DTypeLike | None = None, output_padding: _Size = 0) -> None:
        super().__init__()
        owner = type(self).__name__
        d = self._dims
        if not isinstance(groups, numbers.Integral) or groups < 1:
            raise ValueError(f"{owner}: groups must be a positive int, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{owner}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{owner}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{owner}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _tuple(kernel_size, d, "kernel_size", owner)
        self.stride = _tuple(stride, d, "stride", owner)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{owner}: padding must be 'same', 'valid', an int or a tuple of {d} ints, "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{owner}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _tuple(padding, d, "padding", owner)
        self.dilation = _tuple(dilation, d, "dilation", owner)
        self.transposed = self._transposed
        self.output_padding = _tuple(output_padding, d, "output_padding", owner)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        dtype = _dtype(dtype)
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight from kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in),
        1/sqrt(fan_in)) with fan_in = weight.shape[1] * prod(kernel_size); bias from the same
        bound."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if isinstance(self.padding, str) or self.padding != (0,) * self._dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: _Size, stride: _Size = 1,
                 padding: _Size | str = 0, dilation: _Size = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: DTypeLike | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype)

    def _explicit_padding(self) -> list[int] | None:
        """PyTorch's F.pad amounts (last dim first) for a non-zeros padding_mode."""
        if self.padding == "valid":
            return None
        if self.padding == "same":
            pairs = []
            for k, dl in zip(self.kernel_size, self.dilation):
                total = dl * (k - 1)
                pairs.append((total // 2, total - total // 2))
        else:
            pairs = [(p, p) for p in self.padding]
        return [amount for pair in reversed(pairs) for amount in pair]

    def forward(self, x: Tensor) -> Tensor:
        convolve = _CONVOLVE[self._dims]
        if self.padding_mode != "zeros":
            amounts = self._explicit_padding()
            if amounts is not None:
                x = F.pad(x, amounts, mode=self.padding_mode)
            return convolve(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return convolve(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-d convolution over (N, C_in, L) -> (N, C_out, L_out) (see ``F.conv1d``); weight
    (C_out, C_in / groups, k), bias (C_out,), initialised as PyTorch's. ``padding_mode``:
    'zeros', 'reflect', 'replicate' or 'circular'."""
    _dims = 1


class Conv2d(_Conv):
    """2-d convolution over (N, C_in, H, W) -> (N, C_out, H_out, W_out) (see ``F.conv2d``);
    weight (C_out, C_in / groups, kH, kW), bias (C_out,), both from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in / groups * kH * kW, as PyTorch's.
    ``padding``: an int, a pair, 'valid' or 'same'; ``padding_mode``: 'zeros', 'reflect',
    'replicate' or 'circular'.

    >>> import autodiff as ad, nn
    >>> nn.Conv2d(1, 32, 3, padding=1)
    Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    >>> nn.Conv2d(1, 32, 3, padding=1)(ad.zeros(64, 1, 8, 8)).shape
    (64, 32, 8, 8)
    """
    _dims = 2


class Conv3d(_Conv):
    """3-d convolution over (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out) (see
    ``F.conv3d``); weight (C_out, C_in / groups, kD, kH, kW), bias (C_out,), initialised as
    PyTorch's."""
    _dims = 3


class _ConvTranspose(_ConvNd):
    _transposed = True
    padding: tuple[int, ...]    # (never 'same' or 'valid')

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _Size, stride: _Size = 1,
                 padding: _Size = 0, output_padding: _Size = 0, groups: int = 1, bias: bool = True,
                 dilation: _Size = 1, padding_mode: str = "zeros", dtype: DTypeLike | None = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype, output_padding)

    def _output_padding(self, x: Tensor, output_size: Sequence[int] | None) -> tuple[int, ...]:
        """PyTorch's rule: the output_padding that makes the output ``output_size``."""
        if output_size is None:
            return self.output_padding
        d = self._dims
        size = tuple(output_size)[-d:]
        spatial = x.shape[-d:]
        extra = []
        for i in range(d):
            smallest = ((spatial[i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not smallest <= size[i] < smallest + self.stride[i]:
                raise ValueError(f"{type(self).__name__}: requested output size {tuple(output_size)} is not "
                                 f"reachable from an input of shape {x.shape}: along dim {i} it must be in "
                                 f"[{smallest}, {smallest + self.stride[i] - 1}]")
            extra.append(size[i] - smallest)
        return tuple(extra)

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        convolve = _CONVOLVE_TRANSPOSED[self._dims]
        return convolve(x, self.weight, self.bias, self.stride, self.padding, self._output_padding(x, output_size),
                        self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-d convolution (N, C_in, L) -> (N, C_out, L_out) (see ``F.conv_transpose1d``);
    weight (C_in, C_out / groups, k), bias (C_out,), initialised as PyTorch's.
    ``forward(x, output_size=None)``: ``output_size`` picks the output_padding."""
    _dims = 1


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-d convolution (N, C_in, H, W) -> (N, C_out, H_out, W_out) (see
    ``F.conv_transpose2d``); weight (C_in, C_out / groups, kH, kW), bias (C_out,), initialised
    as PyTorch's. ``forward(x, output_size=None)``: ``output_size`` picks the output_padding."""
    _dims = 2


class ConvTranspose3d(_ConvTranspose):
    """Transposed 3-d convolution (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out) (see
    ``F.conv_transpose3d``); weight (C_in, C_out / groups, kD, kH, kW), bias (C_out,)."""
    _dims = 3
