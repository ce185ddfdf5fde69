"""nn.init: in-place initialisers with PyTorch's formulas, drawing from ``ad.default_generator`` (or a
``generator``) as PyTorch draws: after ``ad.manual_seed(s)`` they fill PyTorch's values for that seed.

Each fills ``tensor.data`` in place (no graph is recorded: the tensor's identity, dtype and shape
are kept, so optimizers holding it are unaffected) and returns the tensor.
"""
from __future__ import annotations

import math
from typing import TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "xavier_uniform_",
           "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "eye_", "dirac_", "orthogonal_", "sparse_"]

# what the initialisers fill in place and return: a Tensor (a Parameter) or an ndarray
_T = TypeVar("_T", bound=Union[Tensor, np.ndarray])


def _array(tensor: Tensor | np.ndarray, op: str) -> np.ndarray:
    if isinstance(tensor, Tensor):
        array = tensor.data
    elif isinstance(tensor, np.ndarray):
        array = tensor
    else:
        raise TypeError(f"nn.init.{op}: expected a Tensor (or ndarray), got {type(tensor).__name__}")
    if not array.flags.writeable:
        raise ValueError(f"nn.init.{op}: the tensor's array is read-only and cannot be filled in place")
    return array


def _fill(tensor: _T, values: ArrayLike, op: str) -> _T:
    array = _array(tensor, op)
    with ad.no_grad():
        array[...] = values
    return tensor


def _generator(generator: ad.Generator | None, op: str) -> ad.Generator:
    if generator is None:
        return ad.default_generator
    if not isinstance(generator, ad.Generator):
        raise TypeError(f"nn.init.{op}: generator must be an ad.Generator (e.g. ad.Generator().manual_seed(0)), "
                        f"got {type(generator).__name__}")
    return generator


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation (PyTorch's table): 1 for linear/conv/sigmoid,
    5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope 0.01 unless
    ``param``), 3/4 for selu."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of linear, "
                     "conv1d/2d/3d, sigmoid, tanh, relu, leaky_relu, selu")


def _calculate_fan_in_and_fan_out(tensor: Tensor | np.ndarray) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel): in * receptive, out * receptive."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"Fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions (shape {shape})")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor | np.ndarray, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"nn.init: mode {mode!r} is not supported; use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: _T, a: float = 0.0, b: float = 1.0, generator: ad.Generator | None = None) -> _T:
    """Fill with samples of U(a, b)."""
    array = _array(tensor, "uniform_")
    return _fill(tensor, _generator(generator, "uniform_").uniform(a, b, array.shape, array.dtype), "uniform_")


def normal_(tensor: _T, mean: float = 0.0, std: float = 1.0,
            generator: ad.Generator | None = None) -> _T:
    """Fill with samples of N(mean, std^2)."""
    array = _array(tensor, "normal_")
    return _fill(tensor, _generator(generator, "normal_").normal(mean, std, array.shape, array.dtype), "normal_")


def trunc_normal_(tensor: _T, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: ad.Generator | None = None) -> _T:
    """Fill with N(mean, std^2) samples truncated to [a, b], by PyTorch's rejection sampling (so
    the same seed gives PyTorch's values): when [a, b] holds more than 0.3 of the normal's mass,
    normal draws, all redrawn where any fell outside; otherwise uniforms on [a, b], accepted where
    log(u) <= the log density relative to its peak, the rest redrawn."""
    def cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    array = _array(tensor, "trunc_normal_")
    draw, dtype = _generator(generator, "trunc_normal_"), array.dtype
    if cdf((b - mean) / std) - cdf((a - mean) / std) > 0.3:
        low, high = dtype.type(a), dtype.type(b)
        result = draw.normal(mean, std, array.shape, dtype)
        while ((result < low) | (result > high)).any():
            result = np.where((result < low) | (result > high), draw.normal(mean, std, array.shape, dtype), result)
        return _fill(tensor, result, "trunc_normal_")
    log_peak = dtype.type(-0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2)

    def log_density(x: np.ndarray) -> np.ndarray:   # in the tensor's dtype, as PyTorch's in-place chain
        z = (x - dtype.type(mean)) / dtype.type(std)
        return z * z * dtype.type(-0.5) - log_peak

    result = draw.uniform(a, b, array.shape, dtype)
    pending = np.log(draw.uniform(0.0, 1.0, array.shape, dtype)) > log_density(result)
    while pending.any():
        candidates = draw.uniform(a, b, array.shape, dtype)
        result = np.where(pending, candidates, result)
        pending = np.where(pending, np.log(draw.uniform(0.0, 1.0, array.shape, dtype)) > log_density(candidates),
                           pending)
    return _fill(tensor, result, "trunc_normal_")


def constant_(tensor: _T, val: float) -> _T:
    """Fill with ``val``."""
    return _fill(tensor, val, "constant_")


def ones_(tensor: _T) -> _T:
    """Fill with 1."""
    return _fill(tensor, 1, "ones_")


def zeros_(tensor: _T) -> _T:
    """Fill with 0."""
    return _fill(tensor, 0, "zeros_")


def xavier_uniform_(tensor: _T, gain: float = 1.0, generator: ad.Generator | None = None) -> _T:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: _T, gain: float = 1.0, generator: ad.Generator | None = None) -> _T:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: _T, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: ad.Generator | None = None) -> _T:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a),
    fan = fan_in or fan_out per ``mode``."""
    if 0 in tuple(tensor.shape):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std          # PyTorch's order of operations, so the bound is its float
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: _T, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: ad.Generator | None = None) -> _T:
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    if 0 in tuple(tensor.shape):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(fan), generator)


def eye_(tensor: _T) -> _T:
    """Fill a 2-D tensor with the identity (ones on the main diagonal, zeros elsewhere)."""
    array = _array(tensor, "eye_")
    if array.ndim != 2:
        raise ValueError(f"nn.init.eye_: only tensors with 2 dimensions are supported, got shape {array.shape}")
    return _fill(tensor, np.eye(*array.shape, dtype=array.dtype), "eye_")


def dirac_(tensor: _T, groups: int = 1) -> _T:
    """Fill a 3-, 4- or 5-D convolution weight (out, in, *kernel) with the Dirac delta, so the
    convolution keeps its input's channels (the first min(out / groups, in) of each group)."""
    array = _array(tensor, "dirac_")
    if array.ndim not in (3, 4, 5):
        raise ValueError(f"nn.init.dirac_: only tensors with 3, 4, or 5 dimensions are supported, got shape "
                         f"{array.shape}")
    if groups < 1 or array.shape[0] % groups:
        raise ValueError(f"nn.init.dirac_: dim 0 (size {array.shape[0]}) must be divisible by groups ({groups})")
    per_group = array.shape[0] // groups
    values = np.zeros(array.shape, array.dtype)
    centre = tuple(size // 2 for size in array.shape[2:])
    for group in range(groups):
        for channel in range(min(per_group, array.shape[1])):
            values[(group * per_group + channel, channel) + centre] = 1
    return _fill(tensor, values, "dirac_")


def orthogonal_(tensor: _T, gain: float = 1.0, generator: ad.Generator | None = None) -> _T:
    """Fill with a (semi-)orthogonal matrix times ``gain``, PyTorch's way: the Q of the QR
    decomposition of a (rows, numel / rows) N(0, 1) draw (transposed when wider than tall), with
    each column's sign fixed by sign(diag(R)); tensors of more than 2 dims are viewed as
    (size(0), the rest)."""
    array = _array(tensor, "orthogonal_")
    if array.ndim < 2:
        raise ValueError(f"nn.init.orthogonal_: only tensors with 2 or more dimensions are supported, got shape "
                         f"{array.shape}")
    if array.size == 0:
        return tensor
    rows = array.shape[0]
    cols = array.size // rows
    flattened = _generator(generator, "orthogonal_").normal(0.0, 1.0, (rows, cols), array.dtype)
    if rows < cols:
        flattened = flattened.T
    q, r = np.linalg.qr(flattened)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).astype(array.dtype, copy=False).reshape(array.shape), "orthogonal_")


def sparse_(tensor: _T, sparsity: float, std: float = 0.01, generator: ad.Generator | None = None) -> _T:
    """Fill a 2-D tensor from N(0, std**2), then zero ceil(sparsity * rows) entries of each column,
    at rows drawn by ``ad.randperm`` from the default generator (as PyTorch's, which draws its
    permutations there whatever ``generator`` is)."""
    array = _array(tensor, "sparse_")
    if array.ndim != 2:
        raise ValueError(f"nn.init.sparse_: only tensors with 2 dimensions are supported, got shape {array.shape}")
    rows, cols = array.shape
    zeros = int(math.ceil(sparsity * rows))
    values = _generator(generator, "sparse_").normal(0.0, std, array.shape, array.dtype)
    for column in range(cols):
        values[ad.randperm(rows).data[:zeros], column] = 0
    return _fill(tensor, values, "sparse_")
