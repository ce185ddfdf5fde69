"""Normalization layers: LayerNorm, BatchNorm1d, BatchNorm2d and BatchNorm3d (PyTorch's semantics, composed
from ops)."""
from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np
from numpy.typing import DTypeLike

import autodiff as ad
from autodiff import Tensor
from autodiff.compiler import replayed

from autodiff.dtypes import layer_dtype_error

from .layers import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["LayerNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]


def _check_dtype(x: Tensor, parameter: Tensor | None, layer: str) -> None:
    """A layer's input has its parameters' dtype (PyTorch raises too, rather than silently computing
    in the wider one)."""
    if parameter is not None and isinstance(x, ad.Tensor) and x.dtype != parameter.dtype:
        raise layer_dtype_error(layer, x.dtype, parameter.dtype)


class LayerNorm(Module):
    """Normalize over the last ``len(normalized_shape)`` axes of each sample:
    y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance. ``weight`` (ones)
    and ``bias`` (zeros) have shape ``normalized_shape`` when ``elementwise_affine``."""

    weight: Parameter | None
    bias: Parameter | None

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        # (an int is a numbers.Integral by registration, which mypy does not narrow by)
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)  # type: ignore[assignment]
        self.normalized_shape = tuple(int(n) for n in normalized_shape)  # type: ignore[union-attr]
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = _dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.normalized_shape:
            raise ValueError(f"LayerNorm: input of shape {x.shape} does not end with normalized_shape "
                             f"{self.normalized_shape}")
        _check_dtype(x, self.weight, "LayerNorm")
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(dim=axes, keepdim=True)
        var = ad.var(x, dim=axes, keepdim=True, correction=0)      # the biased variance, as PyTorch
        out = (x - mean) / ad.sqrt(var + self.eps)
        if self.weight is not None:
            out = out * self.weight
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class BatchNorm1d(Module):
    """Batch normalization over (N, C) or (N, C, L) inputs, per channel C.

    Training (or ``track_running_stats=False``): normalize with the batch mean and the biased batch
    variance, and update ``running_mean``/``running_var`` as
    running = (1 - momentum) * running + momentum * batch_statistic, using the unbiased variance
    (``momentum=None``: a cumulative average, 1 / num_batches_tracked). Eval: normalize with the
    running statistics. Then y = x_hat * weight + bias when ``affine`` (no bias if ``bias=False``).
    ``num_batches_tracked`` is an int64 0-d buffer. All as PyTorch, so the state dict loads into
    ``torch.nn.BatchNorm1d``.
    """

    weight: Parameter | None
    bias: Parameter | None
    # None unless track_running_stats
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: DTypeLike | None = None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = _dtype(dtype)
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.num_features, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", ad.zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", ad.ones(self.num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", ad.tensor(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked (in place)."""
        if self.track_running_stats:     # (then the buffers are Tensors, which mypy cannot see)
            self.running_mean.data.fill(0)  # type: ignore[union-attr]
            self.running_var.data.fill(1)  # type: ignore[union-attr]
            self.num_batches_tracked.data.fill(0)  # type: ignore[union-attr]

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: expected input of shape (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got {x.shape}")
        return self._normalize(x)

    def _normalize(self, x: Tensor) -> Tensor:
        """Per channel (axis 1), over every other axis."""
        _check_dtype(x, self.weight if self.weight is not None else self.running_mean, type(self).__name__)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        use_batch = self.training or not self.track_running_stats
        mean: Tensor | np.ndarray       # the batch's statistics, or the running ones
        var: Tensor | np.ndarray
        if use_batch:
            count = x.size // self.num_features
            if count <= 1 and self.training:
                raise ValueError(f"{type(self).__name__}: expected more than 1 value per channel when training, "
                                 f"got input of shape {x.shape}")
            mean = x.mean(dim=axes, keepdim=True)
            var = ad.var(x, dim=axes, keepdim=True, correction=0)      # normalize: biased, as PyTorch
            if self.training and self.track_running_stats:
                self._update_running_stats(mean.data.reshape(-1), var.data.reshape(-1), count)
        else:   # (tracking running statistics: the buffers are Tensors)
            # tensors, so that var + eps is an op (a compiled step recomputes it from the buffers)
            mean = ad.Tensor(self.running_mean.data.reshape(shape))  # type: ignore[union-attr]
            var = ad.Tensor(self.running_var.data.reshape(shape))  # type: ignore[union-attr]
        out = (x - mean) / ad.sqrt(var + self.eps)
        if self.weight is not None:
            out = out * self.weight.reshape(shape)
        if self.bias is not None:
            out = out + self.bias.reshape(shape)
        return out

    @replayed       # a compiled step updates the running statistics at every replay
    def _update_running_stats(self, mean: np.ndarray, var: np.ndarray, count: int) -> None:
        # in place, so references to the buffers (and their state-dict views) see the update (only
        # called when tracking running statistics: the buffers are Tensors)
        tracked = self.num_batches_tracked.data  # type: ignore[union-attr]
        tracked += 1
        factor = 1.0 / float(tracked) if self.momentum is None else self.momentum
        unbiased = var * (count / (count - 1))
        running_mean, running_var = self.running_mean.data, self.running_var.data  # type: ignore[union-attr]
        running_mean *= 1.0 - factor
        running_mean += factor * mean
        running_var *= 1.0 - factor
        running_var += factor * unbiased

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm2d(BatchNorm1d):
    """Batch normalization of (N, C, H, W) inputs per channel C, over N, H and W; everything
    else as BatchNorm1d (running statistics, momentum, affine, eval mode), as PyTorch's."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: expected a 4-D input (N, {self.num_features}, H, W), got shape "
                             f"{x.shape}")
        return self._normalize(x)


class BatchNorm3d(BatchNorm1d):
    """Batch normalization of (N, C, D, H, W) inputs per channel C; otherwise as BatchNorm1d."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 5 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm3d: expected a 5-D input (N, {self.num_features}, D, H, W), got shape "
                             f"{x.shape}")
        return self._normalize(x)
