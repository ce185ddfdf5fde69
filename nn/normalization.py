"""Normalization layers: LayerNorm, BatchNorm1d/2d/3d, GroupNorm, InstanceNorm1d/2d/3d, RMSNorm and
LocalResponseNorm (PyTorch's semantics, composed from ops)."""
from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np
from numpy.typing import DTypeLike

import autodiff as ad
from autodiff import Tensor
from autodiff.compiler import replayed

from autodiff.dtypes import layer_dtype_error

from . import functional as F, init
from .layers import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["LayerNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "RMSNorm", "LocalResponseNorm"]


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


class _NormBase(Module):
    """The parameters and running statistics that batch and instance normalization share (PyTorch's
    ``_NormBase``): ``weight`` (ones) and ``bias`` (zeros) of shape (num_features,) when ``affine``;
    ``running_mean``, ``running_var`` and the int64 ``num_batches_tracked`` when
    ``track_running_stats``."""

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

    def reset_parameters(self) -> None:
        """Reset the running statistics, weight 1, bias 0 (PyTorch's order)."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked (in place)."""
        if self.track_running_stats:     # (then the buffers are Tensors, which mypy cannot see)
            self.running_mean.data.fill(0)  # type: ignore[union-attr]
            self.running_var.data.fill(1)  # type: ignore[union-attr]
            self.num_batches_tracked.data.fill(0)  # type: ignore[union-attr]

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_NormBase):
    """Batch normalization over (N, C) or (N, C, L) inputs, per channel C.

    Training (or ``track_running_stats=False``): normalize with the batch mean and the biased batch
    variance, and update ``running_mean``/``running_var`` as
    running = (1 - momentum) * running + momentum * batch_statistic, using the unbiased variance
    (``momentum=None``: a cumulative average, 1 / num_batches_tracked). Eval: normalize with the
    running statistics. Then y = x_hat * weight + bias when ``affine`` (no bias if ``bias=False``).
    ``num_batches_tracked`` is an int64 0-d buffer. All as PyTorch, so the state dict loads into
    ``torch.nn.BatchNorm1d``.
    """

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


class GroupNorm(Module):
    """Normalize (N, C, *) over groups of C / num_groups channels (see ``F.group_norm``), then per
    channel * weight (ones) + bias (zeros) when ``affine``."""

    weight: Parameter | None
    bias: Parameter | None

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype: DTypeLike | None = None, *, bias: bool = True) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        dtype = _dtype(dtype)
        if affine:
            self.weight = Parameter(np.empty(num_channels, dtype))
            if bias:
                self.bias = Parameter(np.empty(num_channels, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight 1, bias 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected an input of shape (N, {self.num_channels}, *), got {x.shape}")
        _check_dtype(x, self.weight, "GroupNorm")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"


class _InstanceNorm(_NormBase):
    """Instance normalization: each channel of each sample over its spatial positions (see
    ``F.instance_norm``). ``affine`` and ``track_running_stats`` are off by default, as PyTorch's;
    with ``track_running_stats`` the running statistics are updated in training and used in eval
    (``num_batches_tracked`` is kept, never incremented, as PyTorch's). Unbatched inputs (C, *)
    are taken as a batch of one."""

    spatial: int        # how many spatial dims

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, dtype: DTypeLike | None = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        name, d = type(self).__name__, self.spatial
        if x.ndim not in (d + 1, d + 2):
            raise ValueError(f"{name}: expected a {d + 1}-D (C, {_SPATIAL[d]}) or {d + 2}-D (N, C, {_SPATIAL[d]}) "
                             f"input, got shape {x.shape}")
        unbatched = x.ndim == d + 1
        if unbatched:
            x = x.reshape((1,) + x.shape)
        if x.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise ValueError(f"{name}: expected the input's size at dim {0 if unbatched else 1} to match num_features "
                             f"({self.num_features}), but got {x.shape[1]} (input shape "
                             f"{x.shape[1:] if unbatched else x.shape})")
        _check_dtype(x, self.weight if self.weight is not None else self.running_mean, name)
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              self.momentum if self.momentum is not None else 0.0, self.eps)
        return out.reshape(out.shape[1:]) if unbatched else out


_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or (C, L) (see ``_InstanceNorm``)."""
    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W)."""
    spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W)."""
    spatial = 3


class RMSNorm(Module):
    """y = x / sqrt(mean(x**2) + eps) * weight over the last ``len(normalized_shape)`` dims;
    ``eps=None`` is the input dtype's machine epsilon; ``weight`` (ones) when ``elementwise_affine``."""

    weight: Parameter | None

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)  # type: ignore[assignment]
        self.normalized_shape = tuple(int(n) for n in normalized_shape)  # type: ignore[union-attr]
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.empty(self.normalized_shape, _dtype(dtype)))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight 1."""
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.normalized_shape:
            raise ValueError(f"RMSNorm: input of shape {x.shape} does not end with normalized_shape "
                             f"{self.normalized_shape}")
        _check_dtype(x, self.weight, "RMSNorm")
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """Normalize (N, C, *) across ``size`` neighbouring channels (see ``F.local_response_norm``)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 3:
            raise ValueError(f"LocalResponseNorm: expected an input of at least 3 dims (N, C, *), got shape {x.shape}")
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
