"""The activations of nn.functional beyond relu/tanh/sigmoid/gelu, one composite each.

Each has PyTorch's value and gradient at its kinks (checked against PyTorch in the tests): the
masks are drawn from the data with ``ad.where``, which sends the gradient to the chosen branch
only, and a branch that would overflow where it is not chosen (elu's exp) is fed a harmless
constant there, so no 0 * inf = nan leaks into the gradient. ``inplace=True`` writes the result
into the input (``copy_``), as PyTorch's in-place activations do.
"""
from __future__ import annotations

import warnings
from typing import Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

import autodiff as ad
from autodiff import Tensor

__all__ = ["softplus", "logsigmoid", "silu", "mish", "elu", "selu", "celu", "hardtanh", "relu6", "hardswish",
           "hardsigmoid", "softsign", "tanhshrink", "softshrink", "hardshrink", "glu", "softmin", "prelu"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

# a tensor argument: a Tensor, or what ad.tensor takes (an array, a number, nested lists)
_TensorLike = Union[Tensor, ArrayLike]


def _tensor(x: _TensorLike) -> Tensor:
    return x if isinstance(x, Tensor) else ad.tensor(x)


def _result(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    return input.copy_(out) if inplace else out


def _softplus(x: Tensor) -> Tensor:
    """log(1 + e^x) = log1p(e^-|x|) + max(x, 0): never overflows; at 0 the max's tie gives the
    gradient 1/2 = sigmoid(0)."""
    return ad.log1p(ad.exp(-ad.abs(x))) + ad.maximum(x, np.zeros((), x.dtype))


def softplus(input: _TensorLike, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule)."""
    x = _tensor(input)
    scaled = x * beta if beta != 1 else x
    smooth = _softplus(scaled) / beta if beta != 1 else _softplus(scaled)
    return ad.where(scaled > threshold, x, smooth)      # (a tensor's comparison: ad.compile records it)


def logsigmoid(input: _TensorLike) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable for any x."""
    return -_softplus(-_tensor(input))


def silu(input: _TensorLike, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = _tensor(input)
    return _result(x, x * ad.sigmoid(x), inplace)


def mish(input: _TensorLike, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    x = _tensor(input)
    return _result(x, x * ad.tanh(softplus(x)), inplace)


def _elu(x: Tensor, alpha: float, input_scale: float) -> Tensor:
    positive = x > 0     # (comparisons on the tensor: a step compiled with ad.compile records them)
    # the negative branch sees 0 where x > 0, so its exp never overflows there
    return ad.where(positive, x, alpha * ad.expm1(ad.where(positive, np.zeros((), x.dtype), x) * input_scale))


def elu(input: _TensorLike, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha (e^x - 1); at 0 the gradient is alpha (PyTorch)."""
    x = _tensor(input)
    return _result(x, _elu(x, alpha, 1.0), inplace)


def selu(input: _TensorLike, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants (alpha 1.6733, scale 1.0507)."""
    x = _tensor(input)
    return _result(x, _SELU_SCALE * _elu(x, _SELU_ALPHA, 1.0), inplace)


def celu(input: _TensorLike, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha (e^(x / alpha) - 1); gradient 1 at 0."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    x = _tensor(input)
    return _result(x, _elu(x, alpha, 1.0 / alpha), inplace)


def hardtanh(input: _TensorLike, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient passes strictly inside only (0 at the bounds,
    as PyTorch's, unlike clamp's)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    x = _tensor(input)
    inside = (x > min_val) & (x < max_val)
    return _result(x, ad.where(inside, x, x.detach().clamp(min_val, max_val)), inplace)


def relu6(input: _TensorLike, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): hardtanh(x, 0, 6) (gradient 0 at 0 and 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardswish(input: _TensorLike, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6: 0 for x <= -3, x for x >= 3, x (x + 3) / 6 between (gradients at -3
    and 3 are PyTorch's: 0 and 1)."""
    x = _tensor(input)
    zero = np.zeros((), x.dtype)
    out = ad.where(x <= -3, zero, ad.where(x < 3, x * (x + 3) / 6, x))
    return _result(x, out, inplace)


def hardsigmoid(input: _TensorLike, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6; the gradient 1/6 strictly between -3 and 3, 0 elsewhere."""
    x = _tensor(input)
    inside = (x > -3) & (x < 3)
    return _result(x, ad.where(inside, x / 6 + 0.5, (x >= 3).astype(x.dtype)), inplace)


def softsign(input: _TensorLike) -> Tensor:
    """x / (1 + |x|)."""
    x = _tensor(input)
    return x / (1 + ad.abs(x))


def tanhshrink(input: _TensorLike) -> Tensor:
    """x - tanh(x)."""
    x = _tensor(input)
    return x - ad.tanh(x)


def _check_lambd(lambd: float, op: str) -> None:
    if lambd < 0:
        raise ValueError(f"{op}: lambd must be non-negative, got {lambd}")


def softshrink(input: _TensorLike, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between (gradient 0 at +-lambd)."""
    _check_lambd(lambd, "softshrink")
    x = _tensor(input)
    return ad.where(x > lambd, x - lambd, ad.where(x < -lambd, x + lambd, np.zeros((), x.dtype)))


def hardshrink(input: _TensorLike, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0 (gradient 0 at +-lambd)."""
    _check_lambd(lambd, "hardshrink")
    x = _tensor(input)
    return ad.where((x > lambd) | (x < -lambd), x, np.zeros((), x.dtype))


def glu(input: _TensorLike, dim: int = -1) -> Tensor:
    """Gated linear unit: the first half of ``dim`` times the sigmoid of the second half."""
    x = _tensor(input)
    if x.ndim == 0 or x.shape[dim] % 2:
        raise ValueError(f"glu: dimension {dim} of shape {x.shape} must have an even size (it is split in halves)")
    first, second = ad.chunk(x, 2, dim)
    return first * ad.sigmoid(second)


def softmin(input: _TensorLike, dim: int | None = None, _stacklevel: int = 3, dtype: DTypeLike | None = None) -> Tensor:
    """softmax(-x) along ``dim``; without dim, PyTorch's legacy choice (0 for 0-, 1- and 3-d
    input, else 1) with its warning."""
    x = _tensor(input)
    if dtype is not None:
        x = x.astype(dtype)
    if dim is None:
        warnings.warn("softmin: implicit dimension choice is deprecated (as in PyTorch); pass dim",
                      UserWarning, stacklevel=_stacklevel)
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return ad.softmax(-x, dim)


def prelu(input: _TensorLike, weight: _TensorLike) -> Tensor:
    """x for x > 0, else weight * x, with one weight per channel (dimension 1; dimension 0 of a
    1-D input) or one for all; at 0 the gradient is the weight (PyTorch)."""
    x, weight = _tensor(input), _tensor(weight)
    channels = x.shape[1] if x.ndim >= 2 else (x.shape[0] if x.ndim == 1 else 1)
    if weight.size not in (1, channels) or weight.ndim > 1:
        raise ValueError(f"prelu: weight of shape {weight.shape} must have 1 or {channels} elements (the channels "
                         f"of input of shape {x.shape})")
    if weight.size > 1 and x.ndim >= 2:
        weight = weight.reshape((channels,) + (1,) * (x.ndim - 2))
    elif weight.size == 1:
        weight = weight.reshape(())
    return ad.where(x > 0, x, weight * x)
