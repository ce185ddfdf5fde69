"""nn.functional's rearrangements and the threshold activation: pixel_shuffle, pixel_unshuffle,
channel_shuffle (reshapes and permutes, so their gradients are the inverse rearrangements) and
threshold (a where), as PyTorch's."""
from __future__ import annotations

from typing import Union

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "threshold", "threshold_", "upsample",
           "upsample_nearest", "upsample_bilinear"]

_TensorLike = Union[Tensor, ArrayLike]


def _tensor(x: _TensorLike) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _factor(value: int, name: str, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


def pixel_shuffle(input: _TensorLike, upscale_factor: int) -> Tensor:
    """Move channel blocks into space: (*, C * r**2, H, W) -> (*, C, H * r, W * r), r the
    ``upscale_factor``; output[c, h * r + i, w * r + j] = input[c * r * r + i * r + j, h, w].

    >>> import autodiff as ad
    >>> from nn import functional as F
    >>> F.pixel_shuffle(ad.arange(4.0).reshape(1, 4, 1, 1), 2).data.tolist()
    [[[[0.0, 1.0], [2.0, 3.0]]]]
    """
    op = "pixel_shuffle"
    x = _tensor(input)
    r = _factor(upscale_factor, "upscale_factor", op)
    if x.ndim < 3:
        raise ValueError(f"{op}: expected an input of at least 3 dims (*, C * r**2, H, W), got shape {x.shape}")
    *batch, channels, height, width = x.shape
    if channels % (r * r):
        raise ValueError(f"{op}: the input's channel dim (dim -3, of size {channels}, input shape {x.shape}) must be "
                         f"divisible by upscale_factor**2 = {r * r}")
    lead = len(batch)
    out = x.reshape(tuple(batch) + (channels // (r * r), r, r, height, width))
    out = out.permute(*range(lead), lead, lead + 3, lead + 1, lead + 4, lead + 2)
    return out.reshape(tuple(batch) + (channels // (r * r), height * r, width * r))


def pixel_unshuffle(input: _TensorLike, downscale_factor: int) -> Tensor:
    """The inverse of ``pixel_shuffle``: (*, C, H * r, W * r) -> (*, C * r**2, H, W), r the
    ``downscale_factor``."""
    op = "pixel_unshuffle"
    x = _tensor(input)
    r = _factor(downscale_factor, "downscale_factor", op)
    if x.ndim < 3:
        raise ValueError(f"{op}: expected an input of at least 3 dims (*, C, H * r, W * r), got shape {x.shape}")
    *batch, channels, height, width = x.shape
    for name, size, dim in (("height", height, -2), ("width", width, -1)):
        if size % r:
            raise ValueError(f"{op}: the input's {name} (dim {dim}, of size {size}, input shape {x.shape}) must be "
                             f"divisible by downscale_factor = {r}")
    lead = len(batch)
    out = x.reshape(tuple(batch) + (channels, height // r, r, width // r, r))
    out = out.permute(*range(lead), lead, lead + 2, lead + 4, lead + 1, lead + 3)
    return out.reshape(tuple(batch) + (channels * r * r, height // r, width // r))


def channel_shuffle(input: _TensorLike, groups: int) -> Tensor:
    """Interleave the channels of (N, C, *) from ``groups`` groups (ShuffleNet): viewed as
    (N, groups, C / groups, *), transposed to (N, C / groups, groups, *) and flattened back."""
    op = "channel_shuffle"
    x = _tensor(input)
    g = _factor(groups, "groups", op)
    if x.ndim < 3:
        raise ValueError(f"{op}: expected an input of more than 2 dims (N, C, *), got shape {x.shape}")
    channels = x.shape[1]
    if channels % g:
        raise ValueError(f"{op}: the number of channels ({channels}, input shape {x.shape}) must be divisible by "
                         f"groups ({g})")
    out = x.reshape((x.shape[0], g, channels // g) + x.shape[2:])
    return out.transpose(1, 2).reshape(x.shape)


def threshold(input: _TensorLike, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value`` (the gradient is 1 where x > threshold, else 0);
    ``inplace=True`` changes x and returns it."""
    x = _tensor(input)
    out = ad.where(x > threshold, x, ad.tensor(value, dtype=x.dtype) if x.dtype.kind == "f" else value)
    return x.copy_(out) if inplace else out


_threshold = threshold      # threshold_'s argument named threshold (PyTorch's) hides the function


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """``threshold(input, threshold, value, inplace=True)``: changes ``input`` and returns it."""
    return _threshold(input, threshold, value, inplace=True)


def upsample(input: _TensorLike, size: int | tuple[int, ...] | None = None,
             scale_factor: float | tuple[float, ...] | None = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """PyTorch's older name for ``interpolate`` (same arguments, same result)."""
    from .spatial import interpolate
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: _TensorLike, size: int | tuple[int, ...] | None = None,
                     scale_factor: float | tuple[float, ...] | None = None) -> Tensor:
    """``interpolate(input, size, scale_factor, mode='nearest')`` (PyTorch's older name)."""
    return upsample(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: _TensorLike, size: int | tuple[int, ...] | None = None,
                      scale_factor: float | tuple[float, ...] | None = None) -> Tensor:
    """(N, C, H, W) -> (N, C, H', W'): ``interpolate(..., mode='bilinear', align_corners=True)``
    (PyTorch's older name; note align_corners=True, as ``nn.UpsamplingBilinear2d``)."""
    x = _tensor(input)
    if x.ndim != 4:
        raise ValueError(f"upsample_bilinear: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    return upsample(x, size, scale_factor, mode="bilinear", align_corners=True)
