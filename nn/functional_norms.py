"""nn.functional's normalizations beyond batch and layer norm: group_norm, instance_norm, rms_norm
and local_response_norm, composed from ops (means, biased variances, rsqrt), as PyTorch's."""
from __future__ import annotations

import math
import numbers
from typing import Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor
from autodiff.compiler import replayed

__all__ = ["group_norm", "instance_norm", "rms_norm", "local_response_norm"]

_TensorLike = Union[Tensor, ArrayLike]


def _tensor(x: _TensorLike) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _per_channel(x: Tensor, weight: Tensor | None, bias: Tensor | None, op: str) -> Tensor:
    """x * weight + bias with (C,) weight and bias on axis 1 of x."""
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != (x.shape[1],):
            raise ValueError(f"{op}: {name} of shape {tuple(value.shape)} must have shape ({x.shape[1]},): one per "
                             f"channel of the input of shape {x.shape}")
    if weight is not None:
        x = x * _tensor(weight).reshape(shape)
    if bias is not None:
        x = x + _tensor(bias).reshape(shape)
    return x


def group_norm(input: _TensorLike, num_groups: int, weight: _TensorLike | None = None,
               bias: _TensorLike | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize (N, C, *) over each group of C / num_groups channels and all spatial positions of
    each sample: y = (x - mean) / sqrt(var + eps) (biased variance), then per channel
    * weight + bias."""
    op = "group_norm"
    x = _tensor(input)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected an input of at least 2 dims (N, C, *), got shape {x.shape}")
    if num_groups < 1 or x.shape[1] % num_groups:
        raise ValueError(f"{op}: the number of channels ({x.shape[1]}, input shape {x.shape}) must be divisible by "
                         f"num_groups ({num_groups})")
    grouped = x.reshape((x.shape[0], num_groups, -1))
    mean = grouped.mean(dim=2, keepdim=True)
    var = ad.var(grouped, dim=2, keepdim=True, correction=0)
    out = ((grouped - mean) * ad.rsqrt(var + eps)).reshape(x.shape)
    return _per_channel(out, None if weight is None else _tensor(weight), None if bias is None else _tensor(bias), op)


@replayed       # a compiled step updates the running statistics at every replay
def _update_running_stats(running_mean: Tensor | None, running_var: Tensor | None, mean: Tensor, var: Tensor,
                          count: int, momentum: float) -> None:
    """running = (1 - momentum) * running + momentum * (the batch's average of the instances'
    statistics; the unbiased variance), in place, as PyTorch's instance_norm."""
    if running_mean is not None:
        data = running_mean.data
        data *= 1.0 - momentum
        data += momentum * mean.data.reshape(mean.shape[0], -1).mean(axis=0).astype(data.dtype)
    if running_var is not None:
        data = running_var.data
        unbiased = var.data.reshape(var.shape[0], -1) * (count / (count - 1))
        data *= 1.0 - momentum
        data += momentum * unbiased.mean(axis=0).astype(data.dtype)


def instance_norm(input: _TensorLike, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: _TensorLike | None = None, bias: _TensorLike | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample of (N, C, *) over its spatial positions (biased
    variance), then per channel * weight + bias. ``use_input_stats=False`` normalizes with
    ``running_mean``/``running_var`` instead; with them given and ``use_input_stats``, they are
    updated in place with the batch's average of the instances' means and unbiased variances."""
    op = "instance_norm"
    x = _tensor(input)
    if x.ndim < 3:
        raise ValueError(f"{op}: expected an input of at least 3 dims (N, C, *), got shape {x.shape}")
    axes = tuple(range(2, x.ndim))
    count = math.prod(x.shape[2:])
    channels = x.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        if value is not None and tuple(value.shape) != (channels,):
            raise ValueError(f"{op}: {name} of shape {tuple(value.shape)} must have shape ({channels},): one per "
                             f"channel of the input of shape {x.shape}")
    if use_input_stats:
        if count <= 1:
            raise ValueError(f"{op}: expected more than 1 spatial element when training, got input of shape "
                             f"{x.shape}")
        mean = x.mean(dim=axes, keepdim=True)
        var = ad.var(x, dim=axes, keepdim=True, correction=0)
        if running_mean is not None or running_var is not None:
            _update_running_stats(running_mean, running_var, mean, var, count, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: use_input_stats=False normalizes with running_mean and running_var; pass both")
        shape = (1, channels) + (1,) * (x.ndim - 2)
        mean = ad.Tensor(running_mean.data.reshape(shape))
        var = ad.Tensor(running_var.data.reshape(shape))
    out = (x - mean) * ad.rsqrt(var + eps)
    return _per_channel(out, None if weight is None else _tensor(weight), None if bias is None else _tensor(bias), op)


def rms_norm(input: _TensorLike, normalized_shape: int | Sequence[int], weight: _TensorLike | None = None,
             eps: float | None = None) -> Tensor:
    """Root-mean-square normalization over the last len(normalized_shape) dims:
    y = x / sqrt(mean(x**2) + eps) * weight; ``eps=None`` is the input dtype's machine epsilon."""
    op = "rms_norm"
    x = _tensor(input)
    # (an int is a numbers.Integral by registration, which mypy does not narrow by)
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)  # type: ignore[assignment]
    shape = tuple(int(n) for n in normalized_shape)  # type: ignore[union-attr]
    k = len(shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise ValueError(f"{op}: input of shape {x.shape} does not end with normalized_shape {shape}")
    if weight is not None and tuple(_tensor(weight).shape) != shape:
        raise ValueError(f"{op}: weight of shape {tuple(_tensor(weight).shape)} must have normalized_shape {shape}")
    if eps is None:
        eps = float(np.finfo(x.dtype if x.dtype.kind == "f" else ad.get_default_dtype()).eps)
    axes = tuple(range(x.ndim - k, x.ndim))
    out = x * ad.rsqrt((x * x).mean(dim=axes, keepdim=True) + eps)
    if weight is not None:
        out = out * _tensor(weight)
    return out


def local_response_norm(input: _TensorLike, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Normalize (N, C, *) across neighbouring channels (AlexNet):
    y_c = x_c / (k + alpha / size * sum of x_c'**2 over the ``size`` channels
    c - size // 2 .. c + (size - 1) // 2, zero beyond the edges) ** beta."""
    op = "local_response_norm"
    x = _tensor(input)
    if x.ndim < 3:
        raise ValueError(f"{op}: expected an input of at least 3 dims (N, C, *), got shape {x.shape}")
    if x.shape[0] == 0 or x.size == 0:
        return x * 1
    channels = x.shape[1]
    squares = x * x
    widths = [(0, 0)] * x.ndim
    widths[1] = (size // 2, (size - 1) // 2)
    padded = ad.pad(squares, widths)
    window = padded[:, 0:channels]
    for shift in range(1, size):
        window = window + padded[:, shift:shift + channels]
    div = (window / size * alpha + k) ** beta
    return x / div
