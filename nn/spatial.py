"""nn.functional's spatial ops with PyTorch's signatures and layouts: convolution and its
transpose, unfold/fold, max/average/adaptive pooling and max unpooling, interpolation, padding,
channel dropout.

Inputs are (N, C, L) for the 1-d ops, (N, C, H, W) for the 2-d ops and (N, C, D, H, W) for the
3-d ops (or the same without N: an unbatched input, as PyTorch accepts); conv weights are
(out_channels, in_channels / groups, *kernel) and transposed-conv weights (in_channels,
out_channels / groups, *kernel), so a state dict moves to PyTorch unchanged. The differentiable
ops are the Functions of ``autodiff.conv``; the rest is composed: average pooling is a
convolution with a ones kernel, adaptive average pooling and linear/cubic interpolation are
matmuls with constant (out, in) matrices along each spatial dim, nearest interpolation and the
non-constant paddings are integer-array indexing.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Literal, Sequence, Union, overload

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor
from autodiff.dtypes import layer_dtype_error
from autodiff.conv import (
    Conv, ConvGeometry, ConvTranspose, Fold, SpatialGather, SpatialScatter, Unfold, first_max,
    max_pool as _max_pool, window_count as _window_count,
)

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "unfold", "fold",
    "max_pool1d", "max_pool2d", "max_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d", "avg_pool1d",
    "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "interpolate", "pad", "dropout1d",
    "dropout2d", "dropout3d",
]

_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}
_KERNEL = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}

# a tensor argument: a Tensor, or what ad.tensor takes (an array, a number, nested lists)
_TensorLike = Union[Tensor, ArrayLike]
# a size per spatial dimension: one int for all, or one each
_Size = Union[int, Sequence[int]]
# an adaptive pool's output size: per dimension, None keeps the input's (PyTorch's _size_any_opt_t)
_OutputSize = Union[int, None, Sequence[Union[int, None]]]


def _tensor(x: _TensorLike) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _ints(value: Any, d: int, name: str, op: str, minimum: int | None = None) -> tuple[int, ...]:
    """An int or a sequence of d ints as a d-tuple (PyTorch's _single/_pair), checked >= minimum."""
    values: tuple[Any, ...] | None      # ints once checked
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (int(value),) * d
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = None
        if values is None or len(values) == 1 and d > 1:
            values = values * d if values else None
        if values is None or len(values) != d or not all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
            raise TypeError(f"{op}: {name} must be an int or a tuple of {d} ints, got {value!r}")
        values = tuple(int(v) for v in values)
    if minimum is not None and any(v < minimum for v in values):
        rule = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {rule}, got {value!r}")
    return values


def _batched(x: _TensorLike, d: int, op: str, what: str = "input") -> tuple[Tensor, bool]:
    """(x with a batch axis, whether one was added): accepts (N, C, *S) and unbatched (C, *S)."""
    x = _tensor(x)
    if x.ndim == d + 2:
        return x, False
    if x.ndim == d + 1:
        return x.reshape((1,) + x.shape), True
    raise ValueError(f"{op}: expected a {d + 2}-D {what} (N, C, {_SPATIAL[d]}) or a {d + 1}-D unbatched one "
                     f"(C, {_SPATIAL[d]}), got shape {x.shape}")


def _unbatched(y: Tensor, added: bool) -> Tensor:
    return y.reshape(y.shape[1:]) if added else y


def _layout_hint(x_shape: tuple[int, ...], channels: int, d: int) -> str:
    """A hint when the input looks channels-last (its last axis has the expected channel count)."""
    if len(x_shape) == d + 2 and x_shape[-1] == channels and x_shape[1] != channels:
        order = (0, d + 1) + tuple(range(1, d + 1))
        names = f"(N, {_SPATIAL[d]}, C)"
        return (f"; it looks channels-last {names}, but the layout is PyTorch's (N, C, {_SPATIAL[d]}): "
                f"pass x.permute{order}")
    return ""


def _check_fits(op: str, spatial: tuple[int, ...], padding: Sequence[tuple[int, int]], span: tuple[int, ...],
                kernel: tuple[int, ...], dilation: tuple[int, ...]) -> None:
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, padding))
    if any(p < s for p, s in zip(padded, span)):
        raise ValueError(f"{op}: the input's spatial size {tuple(spatial)} padded to {padded} is smaller than "
                         f"the kernel {kernel} (dilation {dilation}: it spans {span}); use a larger input "
                         "or padding, or a smaller kernel or dilation")


# ---------------------------------------------------------------------------------------------
# convolution


def _conv_padding(padding: _Size | str, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
                  d: int, op: str) -> tuple[tuple[int, int], ...]:
    """Padding as ((before, after), ...) from an int, a tuple, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * d
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride}); give the padding as numbers")
            # PyTorch's split: half before, the odd one after
            total = [dl * (k - 1) for k, dl in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple of {d} ints, got {padding!r}")
    return tuple((p, p) for p in _ints(padding, d, "padding", op, minimum=0))


def _check_floating_like(x: Tensor, weight: Tensor, op: str) -> None:
    if weight.dtype.kind not in "fiu" or x.dtype.kind not in "fiub":
        raise TypeError(f"{op}: input and weight must be numeric, got {x.dtype} and {weight.dtype}")


def _check_same_dtype(x: Tensor, weight: Tensor, op: str) -> None:
    """The input has the weight's dtype (PyTorch raises too, rather than computing silently in the
    wider one)."""
    if x.dtype != weight.dtype:
        raise layer_dtype_error(op, x.dtype, weight.dtype)


def _convnd(d: int, op: str, input: _TensorLike, weight: _TensorLike, bias: _TensorLike | None, stride: _Size,
            padding: _Size | str, dilation: _Size, groups: int) -> Tensor:
    x, added = _batched(input, d, op)
    weight = _tensor(weight)
    _check_floating_like(x, weight, op)
    if weight.ndim != d + 2:
        raise ValueError(f"{op}: expected a {d + 2}-D weight (out_channels, in_channels / groups, "
                         f"{_KERNEL[d]}), got shape {weight.shape}")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    out_channels, group_channels = weight.shape[:2]
    kernel = weight.shape[2:]
    if out_channels % groups:
        raise ValueError(f"{op}: groups={groups} does not divide the weight's {out_channels} output channels "
                         f"(weight shape {weight.shape}); each group needs the same number of output channels")
    channels = x.shape[1]
    if channels % groups and not _layout_hint(x.shape, group_channels * groups, d):
        raise ValueError(f"{op}: groups={groups} does not divide the input's {channels} channels (input shape "
                         f"{x.shape}, weight shape {weight.shape}); the channels must split into equal groups")
    if channels != group_channels * groups:
        raise ValueError(f"{op}: input of shape {x.shape} has {channels} channels (axis 1), but the weight of "
                         f"shape {weight.shape} with groups={groups} expects {group_channels * groups} "
                         f"(in_channels / groups = {group_channels})"
                         + _layout_hint(x.shape, group_channels * groups, d))
    stride = _ints(stride, d, "stride", op, minimum=1)
    dilation = _ints(dilation, d, "dilation", op, minimum=1)
    pads = _conv_padding(padding, kernel, stride, dilation, d, op)
    span = tuple((k - 1) * dl + 1 for k, dl in zip(kernel, dilation))
    _check_fits(op, x.shape[2:], pads, span, kernel, dilation)
    if bias is not None:
        bias = _tensor(bias)
        if bias.shape != (out_channels,):
            raise ValueError(f"{op}: bias of shape {bias.shape} does not fit the weight's {out_channels} output "
                             f"channels (weight shape {weight.shape}); it must be ({out_channels},)")
    sizes = tuple(_window_count(n, k, s, p, dl) for n, k, s, p, dl in zip(x.shape[2:], kernel, stride, pads, dilation))
    geometry = ConvGeometry(kernel, stride, pads, dilation, groups, x.shape[2:], sizes)
    _check_same_dtype(x, weight, op)
    return _unbatched(Conv.apply(x, weight, bias, geometry), added)


def conv1d(input: _TensorLike, weight: _TensorLike, bias: _TensorLike | None = None, stride: _Size = 1,
           padding: _Size | str = 0, dilation: _Size = 1, groups: int = 1) -> Tensor:
    """1-d convolution (cross-correlation, as PyTorch): (N, C_in, L), (C_out, C_in / groups, kL),
    (C_out,) -> (N, C_out, L_out), L_out = floor((L + 2 padding - dilation (kL - 1) - 1) / stride) + 1.
    ``padding``: an int, 'valid' (0) or 'same' (output length L; stride 1 only).

    >>> import autodiff as ad
    >>> from nn import functional as F
    >>> F.conv1d(ad.ones(1, 1, 5), ad.ones(1, 1, 3)).data
    array([[[3., 3., 3.]]], dtype=float32)
    """
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: _TensorLike, weight: _TensorLike, bias: _TensorLike | None = None, stride: _Size = 1,
           padding: _Size | str = 0, dilation: _Size = 1, groups: int = 1) -> Tensor:
    """2-d convolution (cross-correlation, as PyTorch): (N, C_in, H, W), (C_out, C_in / groups,
    kH, kW), (C_out,) -> (N, C_out, H_out, W_out), per spatial dim
    out = floor((in + 2 padding - dilation (k - 1) - 1) / stride) + 1;
    y[n, o] = bias[o] + sum over the group's channels c and kernel offsets k of
    weight[o, c, k] * x_padded[n, c, stride * p + dilation * k].
    ``padding``: an int or pair, 'valid' (0) or 'same' (output size = input size; stride 1 only).
    ``groups``: the channels split into groups convolved separately (groups = C_in: depthwise).

    >>> import autodiff as ad
    >>> from nn import functional as F
    >>> F.conv2d(ad.ones(2, 3, 8, 8), ad.ones(4, 3, 3, 3), padding=1).shape
    (2, 4, 8, 8)
    """
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: _TensorLike, weight: _TensorLike, bias: _TensorLike | None = None, stride: _Size = 1,
           padding: _Size | str = 0, dilation: _Size = 1, groups: int = 1) -> Tensor:
    """3-d convolution (cross-correlation): (N, C_in, D, H, W), (C_out, C_in / groups, kD, kH, kW),
    (C_out,) -> (N, C_out, D_out, H_out, W_out); per spatial dim as conv2d."""
    return _convnd(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(d: int, op: str, input: _TensorLike, weight: _TensorLike, bias: _TensorLike | None, stride: _Size,
                      padding: _Size, output_padding: _Size, groups: int, dilation: _Size,
                      output_size: Sequence[int] | None = None) -> Tensor:
    x, added = _batched(input, d, op)
    weight = _tensor(weight)
    _check_floating_like(x, weight, op)
    if weight.ndim != d + 2:
        raise ValueError(f"{op}: expected a {d + 2}-D weight (in_channels, out_channels / groups, "
                         f"{_KERNEL[d]}), got shape {weight.shape}")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    in_channels, group_out = weight.shape[:2]
    kernel = weight.shape[2:]
    if in_channels % groups:
        raise ValueError(f"{op}: groups={groups} does not divide the weight's {in_channels} input channels "
                         f"(weight shape {weight.shape}, laid out (in_channels, out_channels / groups, ...))")
    if x.shape[1] != in_channels:
        raise ValueError(f"{op}: input of shape {x.shape} has {x.shape[1]} channels (axis 1), but the weight of "
                         f"shape {weight.shape} expects {in_channels} (its axis 0: (in_channels, "
                         "out_channels / groups, ...))" + _layout_hint(x.shape, in_channels, d))
    stride = _ints(stride, d, "stride", op, minimum=1)
    dilation = _ints(dilation, d, "dilation", op, minimum=1)
    pads = _ints(padding, d, "padding", op, minimum=0)
    extra = _ints(output_padding, d, "output_padding", op, minimum=0)
    if any(e >= max(s, dl) for e, s, dl in zip(extra, stride, dilation)):
        raise ValueError(f"{op}: output_padding {extra} must be smaller than either the stride {stride} or the "
                         f"dilation {dilation} in each dim")
    sizes = tuple((n - 1) * s - 2 * p + dl * (k - 1) + e + 1
                  for n, s, p, dl, k, e in zip(x.shape[2:], stride, pads, dilation, kernel, extra))
    if any(n < 1 for n in sizes):
        raise ValueError(f"{op}: the output size {sizes} would be empty (input {x.shape}, kernel {kernel}, "
                         f"stride {stride}, padding {pads}, dilation {dilation}); reduce the padding")
    out_channels = group_out * groups
    if bias is not None:
        bias = _tensor(bias)
        if bias.shape != (out_channels,):
            raise ValueError(f"{op}: bias of shape {bias.shape} does not fit the {out_channels} output channels "
                             f"(weight shape {weight.shape}, groups={groups}); it must be ({out_channels},)")
    # the geometry of the convolution this op reverses: from the output back to the input
    geometry = ConvGeometry(kernel, stride, tuple((p, p) for p in pads), dilation, groups, sizes, x.shape[2:])
    _check_same_dtype(x, weight, op)
    return _unbatched(ConvTranspose.apply(x, weight, bias, geometry), added)


def conv_transpose1d(input: _TensorLike, weight: _TensorLike, bias: _TensorLike | None = None, stride: _Size = 1,
                     padding: _Size = 0, output_padding: _Size = 0, groups: int = 1,
                     dilation: _Size = 1) -> Tensor:
    """Transposed 1-d convolution (the gradient of conv1d in its input): (N, C_in, L),
    (C_in, C_out / groups, kL), (C_out,) -> (N, C_out, L_out),
    L_out = (L - 1) stride - 2 padding + dilation (kL - 1) + output_padding + 1."""
    return _conv_transposend(1, "conv_transpose1d", input, weight, bias, stride, padding, output_padding,
                             groups, dilation)


def conv_transpose2d(input: _TensorLike, weight: _TensorLike, bias: _TensorLike | None = None, stride: _Size = 1,
                     padding: _Size = 0, output_padding: _Size = 0, groups: int = 1,
                     dilation: _Size = 1) -> Tensor:
    """Transposed 2-d convolution (the gradient of conv2d in its input): (N, C_in, H, W),
    (C_in, C_out / groups, kH, kW), (C_out,) -> (N, C_out, H_out, W_out), per spatial dim
    out = (in - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.

    >>> import autodiff as ad
    >>> from nn import functional as F
    >>> F.conv_transpose2d(ad.ones(1, 4, 5, 5), ad.ones(4, 2, 3, 3), stride=2, padding=1, output_padding=1).shape
    (1, 2, 10, 10)
    """
    return _conv_transposend(2, "conv_transpose2d", input, weight, bias, stride, padding, output_padding,
                             groups, dilation)


def conv_transpose3d(input: _TensorLike, weight: _TensorLike, bias: _TensorLike | None = None, stride: _Size = 1,
                     padding: _Size = 0, output_padding: _Size = 0, groups: int = 1,
                     dilation: _Size = 1) -> Tensor:
    """Transposed 3-d convolution: (N, C_in, D, H, W), (C_in, C_out / groups, kD, kH, kW), (C_out,)
    -> (N, C_out, D_out, H_out, W_out); per spatial dim as conv_transpose2d."""
    return _conv_transposend(3, "conv_transpose3d", input, weight, bias, stride, padding, output_padding,
                             groups, dilation)


# ---------------------------------------------------------------------------------------------
# unfold / fold


def unfold(input: _TensorLike, kernel_size: _Size, dilation: _Size = 1, padding: _Size = 0,
           stride: _Size = 1) -> Tensor:
    """Sliding local blocks (im2col): (N, C, H, W) -> (N, C * kH * kW, L), L the number of block
    positions (row-major); column l is the block at position l, channel-major. ``F.fold`` is its
    adjoint (it sums overlaps)."""
    op = "unfold"
    x = _tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape {x.shape}")
    x, added = _batched(x, 2, op)
    kernel = _ints(kernel_size, 2, "kernel_size", op, minimum=1)
    dilation = _ints(dilation, 2, "dilation", op, minimum=1)
    pads = tuple((p, p) for p in _ints(padding, 2, "padding", op, minimum=0))
    stride = _ints(stride, 2, "stride", op, minimum=1)
    sizes = tuple(_window_count(n, k, s, p, dl) for n, k, s, p, dl in zip(x.shape[2:], kernel, stride, pads, dilation))
    if any(n < 1 for n in sizes):
        raise ValueError(f"{op}: input of spatial size {x.shape[2:]} with kernel_size={kernel}, dilation={dilation}, "
                         f"padding={tuple(p for p, _ in pads)}, stride={stride} has {sizes} block positions; "
                         "each must be at least one")
    geometry = ConvGeometry(kernel, stride, pads, dilation, 1, x.shape[2:], sizes)
    return _unbatched(Unfold.apply(x, geometry), added)


def fold(input: _TensorLike, output_size: _Size, kernel_size: _Size, dilation: _Size = 1, padding: _Size = 0,
         stride: _Size = 1) -> Tensor:
    """Sum sliding local blocks into an image (col2im): (N, C * kH * kW, L) -> (N, C, *output_size);
    the adjoint of ``F.unfold`` with the same arguments."""
    op = "fold"
    columns = _tensor(input)
    if columns.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a 3-D input (N, C * kH * kW, L) or 2-D (C * kH * kW, L), got shape "
                         f"{columns.shape}")
    added = columns.ndim == 2
    if added:
        columns = columns.reshape((1,) + columns.shape)
    size = _ints(output_size, 2, "output_size", op, minimum=1)
    kernel = _ints(kernel_size, 2, "kernel_size", op, minimum=1)
    dilation = _ints(dilation, 2, "dilation", op, minimum=1)
    pads = tuple((p, p) for p in _ints(padding, 2, "padding", op, minimum=0))
    stride = _ints(stride, 2, "stride", op, minimum=1)
    if columns.shape[1] % math.prod(kernel):
        raise ValueError(f"{op}: the input's axis 1 ({columns.shape[1]}, input shape {columns.shape}) must be "
                         f"divisible by the product of kernel_size {kernel}")
    sizes = tuple(_window_count(n, k, s, p, dl) for n, k, s, p, dl in zip(size, kernel, stride, pads, dilation))
    if any(n < 1 for n in sizes) or math.prod(sizes) != columns.shape[2]:
        raise ValueError(f"{op}: output_size={size}, kernel_size={kernel}, dilation={dilation}, padding="
                         f"{tuple(p for p, _ in pads)}, stride={stride} give {sizes} block positions "
                         f"({math.prod(sizes)} in all), but the input (shape {columns.shape}) has "
                         f"{columns.shape[2]} blocks on axis 2")
    geometry = ConvGeometry(kernel, stride, pads, dilation, 1, size, sizes)
    out = Fold.apply(columns, geometry)
    return out.reshape(out.shape[1:]) if added else out


# ---------------------------------------------------------------------------------------------
# pooling


def _pool_geometry(d: int, op: str, x: Tensor, kernel_size: _Size, stride: _Size | None, padding: _Size,
                   dilation: _Size, ceil_mode: bool) -> ConvGeometry:
    """The pooling windows as a ConvGeometry; its padding includes the extra windows of ceil_mode."""
    kernel = _ints(kernel_size, d, "kernel_size", op, minimum=1)
    # (an int is a numbers.Integral by registration, which mypy does not narrow by)
    stride = kernel if stride is None or (
        not isinstance(stride, numbers.Integral) and len(stride) == 0) else (  # type: ignore[arg-type]
        _ints(stride, d, "stride", op, minimum=1))
    pads = _ints(padding, d, "padding", op, minimum=0)
    dilation = _ints(dilation, d, "dilation", op, minimum=1)
    span = tuple((k - 1) * dl + 1 for k, dl in zip(kernel, dilation))
    if any(p > s // 2 for p, s in zip(pads, span)):
        raise ValueError(f"{op}: padding {pads} must be at most half of the (dilated) kernel {span}; "
                         "pad the input with F.pad for more")
    spatial = x.shape[2:]
    sizes = tuple(_window_count(n, k, s, (p, p), dl, ceil_mode)
                  for n, k, s, p, dl in zip(spatial, kernel, stride, pads, dilation))
    if any(n < 1 for n in sizes):
        raise ValueError(f"{op}: input of shape {x.shape} gives an output of size {sizes} (kernel {kernel}, "
                         f"stride {stride}, padding {pads}, dilation {dilation}); the output is too small: "
                         "use a smaller kernel or a larger input")
    # ceil_mode's last windows may run past the padding: pad them too (with values never picked);
    # the parameter is reused for the (before, after) pairs
    pairs = tuple((p, max(p, (o - 1) * s + sp - n - p)) for n, p, o, s, sp in zip(spatial, pads, sizes, stride, span))
    return ConvGeometry(kernel, stride, pairs, dilation, 1, spatial, sizes)


def _check_pool_input(x: Tensor, op: str) -> None:
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{op}: expected a numeric input, got dtype {x.dtype}")


def _max_poolnd(d: int, op: str, input: _TensorLike, kernel_size: _Size, stride: _Size | None, padding: _Size,
                dilation: _Size, ceil_mode: bool, return_indices: bool) -> Tensor | tuple[Tensor, Tensor]:
    x, added = _batched(input, d, op)
    _check_pool_input(x, op)
    geometry = _pool_geometry(d, op, x, kernel_size, stride, padding, dilation, ceil_mode)
    pooled, indices = _max_pool(x, geometry)
    out = _unbatched(pooled, added)
    if not return_indices:
        return out
    return out, _unbatched(Tensor(indices), added)


@overload
def max_pool1d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = ..., padding: _Size = ...,
               dilation: _Size = ..., ceil_mode: bool = ..., return_indices: Literal[False] = ...) -> Tensor: ...
@overload
def max_pool1d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = ..., padding: _Size = ...,
               dilation: _Size = ..., ceil_mode: bool = ..., *,
               return_indices: Literal[True]) -> tuple[Tensor, Tensor]: ...
@overload
def max_pool1d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = ..., padding: _Size = ...,
               dilation: _Size = ..., ceil_mode: bool = ...,
               return_indices: bool = ...) -> Tensor | tuple[Tensor, Tensor]: ...


def max_pool1d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = None, padding: _Size = 0,
               dilation: _Size = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over sliding windows: (N, C, L) -> (N, C, L_out) (padding counts as -inf). With
    ``return_indices`` also the position of each max in its (N, C) row, int64."""
    return _max_poolnd(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@overload
def max_pool2d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = ..., padding: _Size = ...,
               dilation: _Size = ..., ceil_mode: bool = ..., return_indices: Literal[False] = ...) -> Tensor: ...
@overload
def max_pool2d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = ..., padding: _Size = ...,
               dilation: _Size = ..., ceil_mode: bool = ..., *,
               return_indices: Literal[True]) -> tuple[Tensor, Tensor]: ...
@overload
def max_pool2d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = ..., padding: _Size = ...,
               dilation: _Size = ..., ceil_mode: bool = ...,
               return_indices: bool = ...) -> Tensor | tuple[Tensor, Tensor]: ...


def max_pool2d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = None, padding: _Size = 0,
               dilation: _Size = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over sliding windows: (N, C, H, W) -> (N, C, H_out, W_out), per spatial dim
    out = floor((in + 2 padding - dilation (k - 1) - 1) / stride) + 1 (rounded up with
    ``ceil_mode``, as long as the last window starts inside the input); ``stride`` defaults to
    ``kernel_size``; padding counts as -inf and may be at most half the kernel. The gradient goes
    to one position per window: at ties the first in scan order, as PyTorch. With
    ``return_indices`` also where each max is, flat in its (H, W) plane, int64.

    >>> import autodiff as ad
    >>> from nn import functional as F
    >>> F.max_pool2d(ad.arange(16.0).reshape(1, 1, 4, 4), 2).data
    array([[[[ 5.,  7.],
             [13., 15.]]]], dtype=float32)
    """
    return _max_poolnd(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@overload
def max_pool3d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = ..., padding: _Size = ...,
               dilation: _Size = ..., ceil_mode: bool = ..., return_indices: Literal[False] = ...) -> Tensor: ...
@overload
def max_pool3d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = ..., padding: _Size = ...,
               dilation: _Size = ..., ceil_mode: bool = ..., *,
               return_indices: Literal[True]) -> tuple[Tensor, Tensor]: ...
@overload
def max_pool3d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = ..., padding: _Size = ...,
               dilation: _Size = ..., ceil_mode: bool = ...,
               return_indices: bool = ...) -> Tensor | tuple[Tensor, Tensor]: ...


def max_pool3d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = None, padding: _Size = 0,
               dilation: _Size = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over sliding windows of (N, C, D, H, W) (as max_pool2d, per spatial dim); indices flat
    in each (D, H, W) volume."""
    return _max_poolnd(3, "max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _max_unpoolnd(d: int, op: str, input: _TensorLike, indices: _TensorLike, kernel_size: _Size, stride: _Size | None,
                  padding: _Size, output_size: Sequence[int] | None) -> Tensor:
    x, added = _batched(input, d, op)
    index = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if index.ndim == d + 1:
        index = index.reshape((1,) + index.shape)
    if index.shape != x.shape or index.dtype.kind not in "iu":
        raise ValueError(f"{op}: indices of shape {index.shape} ({index.dtype}) must be integers of the input's "
                         f"shape {x.shape}, as max_pool{d}d(..., return_indices=True) gives them")
    kernel = _ints(kernel_size, d, "kernel_size", op, minimum=1)
    stride = kernel if stride is None else _ints(stride, d, "stride", op, minimum=1)
    pads = _ints(padding, d, "padding", op, minimum=0)
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[2:], stride, pads, kernel))
    if output_size is None:
        size = default
    else:
        size = tuple(int(n) for n in tuple(output_size)[-d:])
        if len(size) != d or any(not default[i] - stride[i] < size[i] < default[i] + stride[i] for i in range(d)):
            raise ValueError(f"{op}: output_size {tuple(output_size)} must be within a stride of the default "
                             f"{default} (input {x.shape}, kernel {kernel}, stride {stride}, padding {pads})")
    plane = math.prod(size)
    if index.size and (index.min() < 0 or index.max() >= plane):
        raise ValueError(f"{op}: indices must lie in [0, {plane}) for an output of spatial size {size}, got "
                         f"values in [{index.min()}, {index.max()}]")
    # each value written to its index (assignment, as PyTorch); the backward gathers there
    out = SpatialScatter.apply(x, index.astype(np.int64, copy=False), size, True)
    return _unbatched(out, added)


def max_unpool1d(input: _TensorLike, indices: _TensorLike, kernel_size: _Size, stride: _Size | None = None,
                 padding: _Size = 0, output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of max_pool1d: zeros (N, C, L_out) with each input value at its index
    (from max_pool1d(..., return_indices=True)); L_out = (L - 1) stride - 2 padding + kernel."""
    return _max_unpoolnd(1, "max_unpool1d", input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: _TensorLike, indices: _TensorLike, kernel_size: _Size, stride: _Size | None = None,
                 padding: _Size = 0, output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of max_pool2d: zeros (N, C, H_out, W_out) with each input value at its
    index, flat in its plane (from max_pool2d(..., return_indices=True)); per spatial dim
    out = (in - 1) stride - 2 padding + kernel, or ``output_size``."""
    return _max_unpoolnd(2, "max_unpool2d", input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: _TensorLike, indices: _TensorLike, kernel_size: _Size, stride: _Size | None = None,
                 padding: _Size = 0, output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of max_pool3d (as max_unpool2d, over (D, H, W))."""
    return _max_unpoolnd(3, "max_unpool3d", input, indices, kernel_size, stride, padding, output_size)


def _pool_divisors(geometry: ConvGeometry, count_include_pad: bool) -> list[np.ndarray]:
    """Per spatial dim, the number of elements each window averages over (PyTorch's rule:
    windows end at the padded input's edge; without count_include_pad, padding is not counted)."""
    divisors = []
    for n, k, s, (p, _), o in zip(geometry.input_size, geometry.kernel, geometry.stride, geometry.padding,
                                  geometry.output_size):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            divisors.append(end - start)
        else:
            divisors.append(np.minimum(end, n) - np.maximum(start, 0))
    return divisors


def _avg_poolnd(d: int, op: str, input: _TensorLike, kernel_size: _Size, stride: _Size | None, padding: _Size,
                ceil_mode: bool, count_include_pad: bool, divisor_override: int | None = None) -> Tensor:
    x, added = _batched(input, d, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    geometry = _pool_geometry(d, op, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (not isinstance(divisor_override, numbers.Integral) or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero int, got {divisor_override!r}")
    n, channels = x.shape[:2]
    # the window sums: a convolution of each channel with a kernel of ones
    planes = x.reshape((n * channels, 1) + x.shape[2:])
    ones = np.ones((1, 1) + geometry.kernel, x.dtype)
    sums = Conv.apply(planes, ones, None, geometry).reshape((n, channels) + geometry.output_size)
    if divisor_override is not None:
        out = sums / float(divisor_override)
    else:
        divisor = np.ones((), x.dtype)
        for i, per_dim in enumerate(_pool_divisors(geometry, count_include_pad)):
            shape = [1] * d
            shape[i] = -1
            divisor = divisor * per_dim.astype(x.dtype).reshape(shape)
        out = sums / divisor
    return _unbatched(out, added)


def avg_pool1d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = None, padding: _Size = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over sliding windows: (N, C, L) -> (N, C, L_out) (output size as max_pool1d, without
    dilation). ``count_include_pad``: the zero padding counts in the mean."""
    return _avg_poolnd(1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = None, padding: _Size = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows: (N, C, H, W) -> (N, C, H_out, W_out) (output size as
    max_pool2d, without dilation). ``count_include_pad``: the zero padding counts in the mean
    (windows that ceil_mode adds past the padded input never count what is past it);
    ``divisor_override``: divide every window sum by this number instead."""
    return _avg_poolnd(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def avg_pool3d(input: _TensorLike, kernel_size: _Size, stride: _Size | None = None, padding: _Size = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows of (N, C, D, H, W) (as avg_pool2d, per spatial dim)."""
    return _avg_poolnd(3, "avg_pool3d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def _adaptive_sizes(d: int, op: str, x: Tensor, output_size: _OutputSize) -> tuple[int, ...]:
    if isinstance(output_size, numbers.Integral) and not isinstance(output_size, bool):
        sizes = (int(output_size),) * d
    else:
        sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else None
        if sizes is None or len(sizes) != d:
            raise TypeError(f"{op}: output_size must be an int or a tuple of {d} (ints or None), got {output_size!r}")
        sizes = tuple(n if s is None else s for s, n in zip(sizes, x.shape[2:]))
    if any(not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if any(n == 0 for n in x.shape[2:]):
        raise ValueError(f"{op}: input of shape {x.shape} has an empty spatial dim; each must be non-empty")
    return tuple(int(s) for s in sizes)


def _adaptive_windows(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows along one dim: [floor(o size / out), ceil((o + 1) size / out))."""
    starts = (np.arange(out) * size) // out
    ends = -(-(np.arange(1, out + 1) * size) // out)
    return starts, ends


def _averaging_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, size): row o averages the window of output position o."""
    starts, ends = _adaptive_windows(size, out)
    positions = np.arange(size)
    inside = (positions >= starts[:, None]) & (positions < ends[:, None])
    return (inside / (ends - starts)[:, None]).astype(dtype)


def _along(x: Tensor, matrix: np.ndarray, axis: int) -> Tensor:
    """Apply a constant (out, in) matrix along ``axis`` of x (a differentiable matmul)."""
    if axis == x.ndim - 1:
        return ad.matmul(x, matrix.T)
    if axis == x.ndim - 2:
        return ad.matmul(matrix, x)     # (out, in) @ (..., in, W)
    return ad.swapaxes(ad.matmul(ad.swapaxes(x, axis, -1), matrix.T), axis, -1)


def _adaptive_avg_poolnd(d: int, op: str, input: _TensorLike, output_size: _OutputSize) -> Tensor:
    x, added = _batched(input, d, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    sizes = _adaptive_sizes(d, op, x, output_size)
    out = x
    for i, (n, o) in enumerate(zip(x.shape[2:], sizes)):
        out = _along(out, _averaging_matrix(n, o, x.dtype), 2 + i)
    return _unbatched(out, added)


def adaptive_avg_pool1d(input: _TensorLike, output_size: _OutputSize) -> Tensor:
    """Mean over ``output_size`` adaptive windows: (N, C, L) -> (N, C, output_size); window o is
    [floor(o L / out), ceil((o + 1) L / out))."""
    return _adaptive_avg_poolnd(1, "adaptive_avg_pool1d", input, output_size)


def adaptive_avg_pool2d(input: _TensorLike, output_size: _OutputSize) -> Tensor:
    """Mean over adaptive windows: (N, C, H, W) -> (N, C, *output_size) (an int, or a pair whose
    None entries keep the input size); along each dim window o is
    [floor(o in / out), ceil((o + 1) in / out)). ``output_size=1`` is global average pooling."""
    return _adaptive_avg_poolnd(2, "adaptive_avg_pool2d", input, output_size)


def adaptive_avg_pool3d(input: _TensorLike, output_size: _OutputSize) -> Tensor:
    """Mean over adaptive windows of (N, C, D, H, W) (as adaptive_avg_pool2d, per spatial dim)."""
    return _adaptive_avg_poolnd(3, "adaptive_avg_pool3d", input, output_size)


def _adaptive_max_poolnd(d: int, op: str, input: _TensorLike, output_size: _OutputSize,
                         return_indices: bool) -> Tensor | tuple[Tensor, Tensor]:
    x, added = _batched(input, d, op)
    _check_pool_input(x, op)
    sizes = _adaptive_sizes(d, op, x, output_size)
    # every window as the same number of candidates, short ones repeating their last position
    # (a repeat never changes the first maximum, nor where the last NaN is)
    spatial = x.shape[2:]
    candidates = []
    for n, o in zip(spatial, sizes):
        starts, ends = _adaptive_windows(n, o)
        width = int((ends - starts).max())
        candidates.append(np.minimum(starts[:, None] + np.arange(width), ends[:, None] - 1))    # (o, width)
    data = x.data
    plane = np.zeros(sizes + tuple(c.shape[1] for c in candidates), np.intp)      # (*O, *widths)
    for i, c in enumerate(candidates):
        shape = [1] * (2 * d)
        shape[i], shape[d + i] = c.shape
        plane = plane + c.reshape(shape) * math.prod(spatial[i + 1:])
    flat_plane = plane.reshape(sizes + (-1,))                                       # (*O, K)
    values = data.reshape(data.shape[:2] + (math.prod(spatial),))[..., flat_plane]                  # (N, C, *O, K)
    best = first_max(np.moveaxis(values, -1, 0))[1]                                 # (N, C, *O)
    indices = np.take_along_axis(np.broadcast_to(flat_plane, values.shape), best[..., None], -1)[..., 0]
    indices = indices.astype(np.int64)
    out = _unbatched(SpatialGather.apply(x, indices, False), added)
    if not return_indices:
        return out
    return out, _unbatched(Tensor(indices), added)


@overload
def adaptive_max_pool1d(input: _TensorLike, output_size: _OutputSize,
                        return_indices: Literal[False] = ...) -> Tensor: ...
@overload
def adaptive_max_pool1d(input: _TensorLike, output_size: _OutputSize, *,
                        return_indices: Literal[True]) -> tuple[Tensor, Tensor]: ...
@overload
def adaptive_max_pool1d(input: _TensorLike, output_size: _OutputSize,
                        return_indices: bool = ...) -> Tensor | tuple[Tensor, Tensor]: ...


def adaptive_max_pool1d(input: _TensorLike, output_size: _OutputSize,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over ``output_size`` adaptive windows (as adaptive_avg_pool1d's): (N, C, L) -> (N, C, out)."""
    return _adaptive_max_poolnd(1, "adaptive_max_pool1d", input, output_size, return_indices)


@overload
def adaptive_max_pool2d(input: _TensorLike, output_size: _OutputSize,
                        return_indices: Literal[False] = ...) -> Tensor: ...
@overload
def adaptive_max_pool2d(input: _TensorLike, output_size: _OutputSize, *,
                        return_indices: Literal[True]) -> tuple[Tensor, Tensor]: ...
@overload
def adaptive_max_pool2d(input: _TensorLike, output_size: _OutputSize,
                        return_indices: bool = ...) -> Tensor | tuple[Tensor, Tensor]: ...


def adaptive_max_pool2d(input: _TensorLike, output_size: _OutputSize,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over adaptive windows (as adaptive_avg_pool2d's): (N, C, H, W) -> (N, C, *output_size);
    ties and NaN as max_pool2d; with ``return_indices`` also where each max is, flat in its plane."""
    return _adaptive_max_poolnd(2, "adaptive_max_pool2d", input, output_size, return_indices)


@overload
def adaptive_max_pool3d(input: _TensorLike, output_size: _OutputSize,
                        return_indices: Literal[False] = ...) -> Tensor: ...
@overload
def adaptive_max_pool3d(input: _TensorLike, output_size: _OutputSize, *,
                        return_indices: Literal[True]) -> tuple[Tensor, Tensor]: ...
@overload
def adaptive_max_pool3d(input: _TensorLike, output_size: _OutputSize,
                        return_indices: bool = ...) -> Tensor | tuple[Tensor, Tensor]: ...


def adaptive_max_pool3d(input: _TensorLike, output_size: _OutputSize,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over adaptive windows of (N, C, D, H, W) (as adaptive_max_pool2d, per spatial dim)."""
    return _adaptive_max_poolnd(3, "adaptive_max_pool3d", input, output_size, return_indices)


# ---------------------------------------------------------------------------------------------
# interpolation

_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")
_MODE_DIMS = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def _scale(size: int, out: int, scale: float | None, dtype: np.dtype) -> np.floating:
    """PyTorch's compute_scales_value: 1 / scale_factor when one was given, else size / out, in
    the dtype of the computation (float32 for float32 inputs)."""
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(size) / dtype.type(out)


def _nearest_indices(size: int, out: int, scale: float | None, exact: bool) -> np.ndarray:
    """Source index of each output position, as PyTorch's CPU kernels compute it (in float32)."""
    if not exact:
        if out == size:
            return np.arange(out)
        if out == 2 * size:
            return np.arange(out) >> 1
    ratio = _scale(size, out, scale, np.dtype(np.float32))
    positions = np.arange(out, dtype=np.float32)
    if exact:
        positions = positions + np.float32(0.5)
    return np.minimum(np.floor(positions * ratio).astype(np.int64), size - 1)


def _linear_matrix(size: int, out: int, align_corners: bool, scale: float | None, dtype: np.dtype) -> np.ndarray:
    """(out, size): row o holds the two weights of linear interpolation at output position o
    (PyTorch's source index and weights, computed in the input's dtype)."""
    matrix = np.zeros((out, size), dtype)
    if out == size:
        np.fill_diagonal(matrix, 1)
        return matrix
    one = dtype.type(1)
    if align_corners:
        ratio = dtype.type(size - 1) / dtype.type(out - 1) if out > 1 else dtype.type(0)
        source = ratio * np.arange(out, dtype=dtype)
    else:
        ratio = _scale(size, out, scale, dtype)
        source = np.maximum(ratio * (np.arange(out, dtype=dtype) + dtype.type(0.5)) - dtype.type(0.5), 0)
    first = np.minimum(np.floor(source).astype(np.int64), size - 1)
    weight1 = np.clip(source - first.astype(dtype), 0, one)
    second = first + (first < size - 1)
    rows = np.arange(out)
    np.add.at(matrix, (rows, first), one - weight1)
    np.add.at(matrix, (rows, second), weight1)
    return matrix


def _cubic_matrix(size: int, out: int, align_corners: bool, scale: float | None, dtype: np.dtype) -> np.ndarray:
    """(out, size): row o holds the four weights of PyTorch's bicubic interpolation (Keys' cubic
    convolution, A = -0.75) at output position o, the taps clamped to the edges."""
    matrix = np.zeros((out, size), dtype)
    if out == size:
        np.fill_diagonal(matrix, 1)
        return matrix
    if align_corners:
        ratio = dtype.type(size - 1) / dtype.type(out - 1) if out > 1 else dtype.type(0)
        source = ratio * np.arange(out, dtype=dtype)
    else:   # not clamped at 0 (PyTorch's cubic=True)
        source = _scale(size, out, scale, dtype) * (np.arange(out, dtype=dtype) + dtype.type(0.5)) - dtype.type(0.5)
    first = np.floor(source).astype(np.int64)
    t = source - first.astype(dtype)
    a = dtype.type(-0.75)

    def near(x: np.ndarray) -> np.ndarray:    # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:     # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    rows = np.arange(out)
    for k, weight in enumerate(weights):
        np.add.at(matrix, (rows, np.clip(first - 1 + k, 0, size - 1)), weight.astype(dtype))
    return matrix


def interpolate(input: _TensorLike, size: _Size | None = None, scale_factor: float | Sequence[float] | None = None,
                mode: str = "nearest", align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) to ``size``, or by
    ``scale_factor`` (out = floor(in * scale_factor)). Modes: 'nearest' (PyTorch's: source
    floor(o * in / out)), 'nearest-exact' (floor((o + 0.5) * in / out)), 'linear' (3-D),
    'bilinear' and 'bicubic' (4-D), 'trilinear' (5-D), the interpolating ones with
    ``align_corners`` (True: the corner pixels' centres align; False, the default: pixel areas
    do), and 'area' (adaptive average pooling). ``recompute_scale_factor=True``: the weights
    follow in / out instead of 1 / scale_factor.

    >>> import autodiff as ad
    >>> from nn import functional as F
    >>> F.interpolate(ad.tensor([[[0.0, 1.0]]]), scale_factor=2, mode="linear").data
    array([[[0.  , 0.25, 0.75, 1.  ]]], dtype=float32)
    """
    op = "interpolate"
    x = _tensor(input)
    if x.ndim not in (3, 4, 5):
        raise ValueError(f"{op}: expected a 3-D (N, C, L), 4-D (N, C, H, W) or 5-D (N, C, D, H, W) input, got "
                         f"shape {x.shape}")
    d = x.ndim - 2
    modes = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
    if mode not in modes:
        raise ValueError(f"{op}: mode {mode!r} is not supported; use one of {', '.join(modes)}")
    if mode in _MODE_DIMS and _MODE_DIMS[mode] != d:
        raise ValueError(f"{op}: got a {x.ndim}-D input, but {mode} mode needs a {_MODE_DIMS[mode] + 2}-D input")
    if align_corners is not None and mode not in _INTERPOLATING:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise ValueError(f"{op}: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    scales: tuple[float | None, ...] = (None,) * d
    if size is not None:
        sizes = _ints(size, d, "size", op, minimum=1)
    else:
        # (not None: one of size and scale_factor is given; a float is a numbers.Real by registration)
        factors = (scale_factor,) * d if isinstance(scale_factor, numbers.Real) else (
            tuple(scale_factor))  # type: ignore[arg-type]
        if len(factors) != d or not all(isinstance(f, numbers.Real) and f > 0 for f in factors):
            raise ValueError(f"{op}: scale_factor must be a positive number or {d} of them, got {scale_factor!r}")
        sizes = tuple(int(math.floor(n * float(f))) for n, f in zip(x.shape[2:], factors))
        if any(n < 1 for n in sizes):
            raise ValueError(f"{op}: scale_factor {scale_factor!r} makes the output {sizes} empty")
        if not recompute_scale_factor:
            scales = tuple(float(f) for f in factors)
    if mode == "area":
        return _adaptive_avg_poolnd(d, op, x, sizes)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    out = x
    for i, (n, o, scale) in enumerate(zip(x.shape[2:], sizes, scales)):
        axis = 2 + i
        if mode.startswith("nearest"):
            index = _nearest_indices(n, o, scale, exact=mode == "nearest-exact")
            if not np.array_equal(index, np.arange(n)):
                out = out[(slice(None),) * axis + (index,)]
        else:
            weights = _cubic_matrix if mode == "bicubic" else _linear_matrix
            out = _along(out, weights(n, o, bool(align_corners), scale, x.dtype), axis)
    return out


# ---------------------------------------------------------------------------------------------
# padding (PyTorch's argument order; ad.pad keeps numpy's)

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of the padded axis, the input position it copies."""
    positions = np.arange(-before, size + after)
    if mode == "reflect":
        positions = np.abs(positions)
        positions = np.where(positions >= size, 2 * (size - 1) - positions, positions)
    elif mode == "replicate":
        positions = np.clip(positions, 0, size - 1)
    else:   # circular, as PyTorch: wrapping around what is left after cropping (negative amounts)
        start, kept = max(-before, 0), size - max(-before, 0) - max(-after, 0)
        positions = start + (np.arange(-max(before, 0), kept + max(after, 0)) % kept)
    return positions


def pad(input: _TensorLike, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative amounts, crop) the last len(pad) / 2 dims, PyTorch's way: ``pad``
    lists (before, after) pairs from the last dim backwards, (left, right, top, bottom, ...).
    Modes: 'constant' (``value``, 0 by default), 'reflect' (mirror without repeating the edge),
    'replicate' (repeat the edge), 'circular' (wrap around). The non-constant modes pad the last
    1, 2 or 3 dims of a 2-3-D, 3-4-D or 4-5-D input, as PyTorch's. (``ad.pad`` is numpy's pad.)

    >>> import autodiff as ad
    >>> from nn import functional as F
    >>> F.pad(ad.arange(3.0).reshape(1, 3), (2, 1), mode="reflect").data
    array([[2., 1., 0., 1., 2., 1.]], dtype=float32)
    """
    op = "pad"
    x = _tensor(input)
    try:
        amounts = [int(a) for a in pad]
    except (TypeError, ValueError):
        raise TypeError(f"{op}: pad must be a sequence of ints, got {pad!r}") from None
    if len(amounts) % 2:
        raise ValueError(f"{op}: pad {tuple(amounts)} must have an even length: (before, after) pairs from the "
                         "last dim backwards")
    dims = len(amounts) // 2
    if dims > x.ndim:
        raise ValueError(f"{op}: pad {tuple(amounts)} pads {dims} dims, but the input of shape {x.shape} has {x.ndim}")
    if mode not in _PAD_MODES:
        raise ValueError(f"{op}: mode must be one of {', '.join(_PAD_MODES)}, got {mode!r}")
    pairs = [(amounts[2 * i], amounts[2 * i + 1]) for i in range(dims)]    # pairs[0]: the last dim
    if mode == "constant":
        return _constant_pad(x, pairs, 0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"{op}: padding mode {mode!r} does not take a value (only 'constant' does)")
    if not ((dims == 1 and x.ndim in (2, 3)) or (dims == 2 and x.ndim in (3, 4)) or (dims == 3 and x.ndim in (4, 5))):
        raise ValueError(f"{op}: {mode} padding of {dims} dims (pad of length {len(amounts)}) needs a "
                         f"{dims + 1}-D or {dims + 2}-D input, got shape {x.shape}")
    out = x
    for i, (before, after) in enumerate(pairs):
        axis = x.ndim - 1 - i
        size = x.shape[axis]
        if mode == "reflect" and (before >= size or after >= size):
            raise ValueError(f"{op}: reflect padding ({before}, {after}) of dim {axis} must be smaller than its "
                             f"size {size} (input shape {x.shape})")
        if mode == "circular" and (before > size or after > size):
            raise ValueError(f"{op}: circular padding ({before}, {after}) of dim {axis} may wrap around at "
                             f"most once: at most its size {size} (input shape {x.shape})")
        if size == 0:
            raise ValueError(f"{op}: cannot {mode}-pad dim {axis} of size 0 (input shape {x.shape})")
        index = _source_index(size, before, after, mode)
        out = out[(slice(None),) * axis + (index,)]
    return out


def _constant_pad(x: Tensor, pairs: list[tuple[int, int]], value: float) -> Tensor:
    ndim = x.ndim
    crop = [slice(None)] * ndim
    widths = [(0, 0)] * ndim
    for i, (before, after) in enumerate(pairs):
        axis = ndim - 1 - i
        size = x.shape[axis]
        if size + before + after < 0:
            raise ValueError(f"pad: padding ({before}, {after}) of dim {axis} (size {size}) leaves a negative "
                             f"size (input shape {x.shape})")
        crop[axis] = slice(max(-before, 0), size - max(-after, 0))
        widths[axis] = (max(before, 0), max(after, 0))
    if any(s != slice(None) for s in crop):
        x = x[tuple(crop)]
    if any(w != (0, 0) for w in widths):
        x = ad.pad(x, widths, constant_values=value)
    return x


# ---------------------------------------------------------------------------------------------
# channel dropout


def _feature_dropout(x: Tensor, p: float, training: bool, op: str) -> Tensor:
    from .functional import dropout_mask, dropout_without_draws    # (functional imports this module at its end)
    settled = dropout_without_draws(x, p, training, False, op)
    if settled is not None:
        return settled
    dtype = x.dtype if x.dtype.kind == "f" else ad.get_default_dtype()
    return x * dropout_mask(x.shape[:2] + (1,) * (x.ndim - 2), p, dtype)


def dropout2d(input: _TensorLike, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels: each (n, c) plane of (N, C, H, W) (or (N, C, L)) with probability
    ``p``, scaling the kept ones by 1/(1-p), when ``training``. The mask comes from
    ``ad.default_generator``."""
    x = _tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 4-D (N, C, H, W) or 3-D (N, C, L) input, got shape {x.shape}")
    out = _feature_dropout(x, p, training, "dropout2d")
    return x.copy_(out) if inplace and out is not x else out      # PyTorch's inplace=True


def dropout1d(input: _TensorLike, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) (or unbatched (C, L)) with probability ``p``, scaling the
    kept ones by 1/(1-p), when ``training``."""
    x = _tensor(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected a 3-D (N, C, L) or 2-D (C, L) input, got shape {x.shape}")
    if x.ndim == 2:
        out = _feature_dropout(x.reshape((1,) + x.shape), p, training, "dropout1d").reshape(x.shape)
    else:
        out = _feature_dropout(x, p, training, "dropout1d")
    return x.copy_(out) if inplace and out is not x else out      # PyTorch's inplace=True


def dropout3d(input: _TensorLike, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) (or unbatched (C, D, H, W)) with probability ``p``,
    scaling the kept ones by 1/(1-p), when ``training``."""
    x = _tensor(input)
    if x.ndim not in (4, 5):
        raise ValueError(f"dropout3d: expected a 5-D (N, C, D, H, W) or 4-D (C, D, H, W) input, got shape {x.shape}")
    if x.ndim == 4:
        out = _feature_dropout(x.reshape((1,) + x.shape), p, training, "dropout3d").reshape(x.shape)
    else:
        out = _feature_dropout(x, p, training, "dropout3d")
    return x.copy_(out) if inplace and out is not x else out      # PyTorch's inplace=True
