"""Elementwise ops with parameters, composed from the elementwise table's rows (autodiff.ops):
round with decimals, lerp, nan_to_num, logit with eps, float_power, ldexp, rsub, polygamma,
mvlgamma, heaviside, and the whole-tensor comparisons allclose and equal."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike

from . import ops
from . import special as _special
from .function import Function
from .ops import _as_tensor, where
from .promotion import result_type
from .tensor import Tensor, get_default_dtype

__all__ = ["round", "lerp", "nan_to_num", "allclose", "equal", "all", "any", "clone", "addcmul", "addcdiv",
           "clamp_min", "clamp_max", "logit", "heaviside", "float_power", "true_divide", "rsub", "positive",
           "ldexp", "polygamma", "mvlgamma"]


def round(input: Tensor | ArrayLike, decimals: int = 0) -> Tensor:
    """Round to the nearest integer, halves to even (PyTorch's and numpy's rule), or to
    ``decimals`` places (x * 10^d rounded, divided back, as PyTorch); gradient 0."""
    if not decimals:
        return ops.round(input)
    scale = 10.0 ** decimals
    return ops.round(_as_tensor(input) * scale) / scale


def lerp(input: Tensor | ArrayLike, end: Tensor | ArrayLike, weight: Tensor | float) -> Tensor:
    """input + weight * (end - input), weight a number or a tensor (all three broadcast), in
    PyTorch's form: from the nearer end, so weight 1 gives exactly ``end``."""
    input, end = _as_tensor(input), _as_tensor(end)
    # PyTorch's kernel takes floating tensors of one dtype (only a 0-d weight may differ)
    if input.dtype.kind != "f" or end.dtype != input.dtype or (
            isinstance(weight, Tensor) and weight.ndim and weight.dtype != input.dtype):
        weight_dtype = f", weight {weight.dtype}" if isinstance(weight, Tensor) else ""
        raise TypeError(f"lerp: input and end (and a weight tensor) must be floating tensors of one dtype (as in "
                        f"PyTorch), got input {input.dtype}, end {end.dtype}{weight_dtype}; convert them with "
                        f".to(...)")
    difference = end - input
    if not isinstance(weight, Tensor):
        if abs(weight) < 0.5:
            return input + difference * weight
        return end - difference * (1 - weight)
    near_start = np.abs(weight.data) < 0.5
    return where(near_start, input + weight * difference, end - difference * (1 - weight))


def addcmul(input: Tensor | ArrayLike, tensor1: Tensor | ArrayLike, tensor2: Tensor | ArrayLike, *,
            value: float = 1) -> Tensor:
    """input + value * tensor1 * tensor2 (all three broadcast); for integer tensors a float
    value is truncated to an integer, as PyTorch's (the result keeps the tensors' dtype)."""
    product = ops.mul(tensor1, tensor2)
    if product.dtype == np.bool_ and result_type(input, product) == np.bool_:
        raise TypeError("addcmul: bool tensors are not supported (as in PyTorch); convert them with .int()")
    if isinstance(value, float) and result_type(input, product).kind in "iu":
        value = int(value)
    return ops.add(input, product if value == 1 else product * value)


def addcdiv(input: Tensor | ArrayLike, tensor1: Tensor | ArrayLike, tensor2: Tensor | ArrayLike, *,
            value: float = 1) -> Tensor:
    """input + value * tensor1 / tensor2 (all three broadcast); integer tensor1 and tensor2 are
    refused, as PyTorch (its old integer division)."""
    numerator, denominator = _as_tensor(tensor1), _as_tensor(tensor2)
    if numerator.dtype.kind in "iub" and denominator.dtype.kind in "iub":
        raise RuntimeError(f"addcdiv: integer division of tensor1 ({numerator.dtype}) by tensor2 "
                           f"({denominator.dtype}) is not supported (as in PyTorch); for true division "
                           "convert one of them to a floating dtype, or use ad.floor_divide")
    quotient = ops.div(numerator, denominator)
    return ops.add(input, quotient if value == 1 else quotient * value)


def clamp_min(input: Tensor | ArrayLike, min: Tensor | ArrayLike) -> Tensor:  # noqa: A002
    """Values below ``min`` raised to it: ``clamp(input, min=min)``."""
    return ops.clamp(input, min=min)


def clamp_max(input: Tensor | ArrayLike, max: Tensor | ArrayLike) -> Tensor:  # noqa: A002
    """Values above ``max`` lowered to it: ``clamp(input, max=max)``."""
    return ops.clamp(input, max=max)


def nan_to_num(input: Tensor | ArrayLike, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """nan, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the
    dtype's largest and smallest finite values); the gradient passes where x is finite and is 0
    at the replaced places (PyTorch)."""
    input = _as_tensor(input)
    if input.dtype.kind != "f":
        return input.clone()
    replaced = np.nan_to_num(input.data, nan=nan, posinf=posinf, neginf=neginf)
    return where(np.isfinite(input.data), input, replaced)


def allclose(input: Tensor | ArrayLike, other: Tensor | ArrayLike, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True if every |input - other| <= atol + rtol |other| (broadcast): a Python bool."""
    return bool(ops.isclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan).data.all())


def equal(input: Tensor | ArrayLike, other: Tensor | ArrayLike) -> bool:
    """True if both have the same shape and the same elements: a Python bool."""
    a, b = _as_tensor(input).data, _as_tensor(other).data
    return a.shape == b.shape and bool((a == b).all())


def all(input: Tensor | ArrayLike, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    """Whether every element (over ``dim``) is non-zero: ``input.all(dim, keepdim)``."""
    return _as_tensor(input).all(dim, keepdim, **aliases)


def any(input: Tensor | ArrayLike, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    """Whether any element (over ``dim``) is non-zero: ``input.any(dim, keepdim)``."""
    return _as_tensor(input).any(dim, keepdim, **aliases)


def clone(input: Tensor | ArrayLike, *, memory_format: object = None) -> Tensor:
    """A copy of the data that stays on the graph: ``input.clone()``."""
    return _as_tensor(input).clone()


def logit(input: Tensor | ArrayLike, eps: float | None = None) -> Tensor:
    """log(x / (1 - x)), elementwise; with ``eps``, x is clamped to [eps, 1 - eps] first (its
    gradient 0 outside, as PyTorch's)."""
    if eps is None:
        return ops.logit(input)
    x = _floating(_as_tensor(input))
    low, high = eps, 1 - eps
    # PyTorch's order of the two tests (it matters when eps > 1/2: low > high)
    return ops.logit(where(x.data < low, low, where(x.data > high, high, x)))


def _floating(x: Tensor) -> Tensor:
    """x, or (a bool or integer tensor) x in the default float dtype, as PyTorch's float ops."""
    return x if x.dtype.kind == "f" else x.to(get_default_dtype())


class Heaviside(Function):
    """0 where x < 0, ``values`` where x == 0, 1 where x > 0 (also at nan: 0, as PyTorch).
    It has no derivative (nor has PyTorch's): its backward raises."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.where(x == 0, values, (x > 0).astype(np.result_type(x, values)))

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        raise RuntimeError("heaviside has no derivative (nor has PyTorch's); detach its operands, or use a "
                           "smooth step such as ad.sigmoid(k * x) if a gradient is meant")


def heaviside(input: Tensor | ArrayLike, values: Tensor | ArrayLike) -> Tensor:
    """The step function: 0 for x < 0, ``values`` at 0, 1 for x > 0 (broadcast; both of one dtype,
    as PyTorch requires)."""
    input, values = _as_tensor(input), _as_tensor(values)
    if input.dtype != values.dtype:
        raise TypeError(f"heaviside: input and values must have one dtype (PyTorch's rule), not {input.dtype} and "
                        f"{values.dtype}; convert one with .to(other.dtype)")
    return Heaviside.apply(input, values)


def float_power(input: Tensor | ArrayLike | float, exponent: Tensor | ArrayLike | float) -> Tensor:
    """input ** exponent computed in float64 (both cast on the graph), elementwise."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power: give at least one tensor (PyTorch's rule), e.g. "
                        "ad.float_power(ad.tensor(2.0), 3)")
    base = _as_tensor(input).double() if isinstance(input, Tensor) else float(input)  # type: ignore[arg-type]
    power = exponent.double() if isinstance(exponent, Tensor) else float(exponent)  # type: ignore[arg-type]
    if not isinstance(base, Tensor):
        base = _as_tensor(np.float64(base))
    return ops.pow(base, power)


def true_divide(dividend: Tensor | ArrayLike, divisor: Tensor | ArrayLike | float) -> Tensor:
    """PyTorch's alias of ``div``: dividend / divisor, elementwise, a float result."""
    return ops.div(dividend, divisor)


def rsub(input: Tensor | ArrayLike, other: Tensor | ArrayLike | float, alpha: float = 1) -> Tensor:
    """other - alpha * input, elementwise (PyTorch's reversed subtraction)."""
    if isinstance(alpha, float) and result_type(input, other).kind in "iub":
        raise TypeError(f"rsub: for integral input tensors, alpha must not be a floating point number (as PyTorch), "
                        f"got {alpha}")
    if alpha != 1 and (isinstance(input, bool) or getattr(input, "dtype", None) == np.bool_):
        # the scaling would turn a bool input into ints and hide it from sub's bool check
        raise TypeError("rsub: bool operands are not supported (as in PyTorch); convert first with .int() "
                        "or .float()")
    return ops.sub(other, input if alpha == 1 else ops.mul(input, alpha))


def positive(input: Tensor | ArrayLike) -> Tensor:
    """The input itself (PyTorch's unary +); bool tensors are refused, as PyTorch's."""
    input = _as_tensor(input)
    if input.dtype == np.bool_:
        raise TypeError("positive: the unary + is not supported on a bool tensor (as in PyTorch)")
    return input


def ldexp(input: Tensor | ArrayLike, other: Tensor) -> Tensor:
    """input * 2 ** other, elementwise (PyTorch's composite: a float result, gradients to both)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"ldexp: other must be a tensor (as PyTorch's), not {type(other).__name__}; "
                        "wrap it with ad.tensor(...)")
    if other.dtype == np.bool_:
        raise TypeError("ldexp: a bool exponent is not supported (as in PyTorch); convert it with .int()")
    # PyTorch's dtype: the operands' promoted dtype, or the default float when that is integral;
    # the power of two is taken in that dtype so a float64 result does not overflow at 2 ** 128
    dtype = result_type(input, other)
    float_dtype = dtype if dtype.kind == "f" else np.dtype(get_default_dtype())
    base = ops.pow(Tensor(np.array(2.0, dtype=float_dtype)), other)
    out = ops.mul(input, base)
    return out if out.dtype == float_dtype else out.to(float_dtype)


class Polygamma(Function):
    """The n-th derivative of digamma (n >= 0), elementwise; its gradient is polygamma(n + 1)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, n: int) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.n = n
        return _special.polygamma(n, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, None]:
        (x,) = ctx.saved_tensors
        if isinstance(x, Tensor):       # a higher-order gradient: on the graph
            return grad * Polygamma.apply(x, ctx.n + 1), None
        return grad * _special.polygamma(ctx.n + 1, x).astype(x.dtype, copy=False), None


def polygamma(n: int, input: Tensor | ArrayLike) -> Tensor:
    """The n-th derivative of digamma, elementwise (n = 0: digamma); as PyTorch's, inf at the
    poles. ``t.polygamma(n)`` is the method form."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"polygamma(n, x) takes an integer n >= 0 (as PyTorch), not {n!r}")
    return Polygamma.apply(_floating(_as_tensor(input)), int(n))


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    """``t.polygamma(n)``: polygamma(n, t)."""
    return polygamma(n, self)


def mvlgamma(input: Tensor | ArrayLike, p: int) -> Tensor:
    """The multivariate log-gamma of dimension p, elementwise:
    p (p - 1) / 4 log(pi) + sum_{i < p} lgamma(x - i / 2)."""
    if int(p) != p or p < 1:
        raise ValueError(f"mvlgamma: p has to be an integer >= 1 (as PyTorch), not {p!r}")
    x = _floating(_as_tensor(input))
    offsets = np.arange(int(p), dtype=x.dtype) / 2
    terms = ops.lgamma(x.unsqueeze(-1) - offsets)
    return terms.sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


class I1(Function):
    """The modified Bessel function of order 1 (the derivative of i0), elementwise; its own
    derivative is i0(x) - i1(x) / x (1/2 at 0)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return _special.i1(x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        (x,) = ctx.saved_tensors
        value: Any
        zeroth: Any
        if isinstance(x, Tensor):       # a higher-order gradient: on the graph
            value, zeroth = I1.apply(x), ops.i0(x)
        else:
            value = _special.i1(x).astype(x.dtype, copy=False)
            zeroth = _special.i0(x).astype(x.dtype, copy=False)
        at_zero = x == 0
        return grad * np.where(at_zero, 0.5, zeroth - value / np.where(at_zero, 1.0, x))


TENSOR_METHODS: dict[str, Callable[..., Any]] = {
    "round": round, "lerp": lerp, "nan_to_num": nan_to_num, "allclose": allclose, "equal": equal,
    "addcmul": addcmul, "addcdiv": addcdiv, "clamp_min": clamp_min, "clamp_max": clamp_max,
    "logit": logit, "heaviside": heaviside, "float_power": float_power, "true_divide": true_divide,
    "positive": positive, "ldexp": ldexp, "polygamma": _polygamma_method, "mvlgamma": mvlgamma}


from .ops import _ARRAY_FUNCTIONS  # noqa: E402
_ARRAY_FUNCTIONS.update({
    np.round: round, np.around: round, np.fix: ops.trunc, np.array_equal: lambda a1, a2: equal(a1, a2),
    np.isclose: lambda a, b, rtol=1e-05, atol=1e-08, equal_nan=False: ops.isclose(a, b, rtol=rtol, atol=atol,
                                                                                  equal_nan=equal_nan),
    np.allclose: allclose,
    np.nan_to_num: lambda x, copy=True, nan=0.0, posinf=None, neginf=None: nan_to_num(x, nan, posinf, neginf),
})
