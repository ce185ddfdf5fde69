"""The differentiable ops: one ``Function`` each, forward and backward side by side.

The simple elementwise ops are rows of one table (``ELEMENTWISE``): a name, the forward on
arrays, the backward as a formula of the incoming gradient. Backward formulas use only operations
that both ndarrays and Tensors understand, so the same code runs on raw arrays in an ordinary
backward and on Tensors (recording a graph) under ``create_graph=True``. Broadcast inputs are
un-broadcast by the engine, not here.
"""
from __future__ import annotations

import builtins
import inspect
import math
import operator
from typing import TYPE_CHECKING, Any, Callable, Literal, NamedTuple, Sequence, overload

import numpy as np

from .function import Elementwise, Function, _copy, apply1, apply2, binary_op, unary_op
from . import return_types as _return_types
from . import special as _special
from .grad_mode import is_grad_enabled
from .dtypes import DtypeError, as_dtype
from .promotion import result_type
from .tensor import Tensor, _wrap, _to_array, get_default_dtype, share_version

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

    from ._typing import Dims, ShapeLike, TensorLike

# A gradient in a backward: an ndarray, or a Tensor under create_graph=True (the same formulas run
# on both)
_Grad = Any

# ---------------------------------------------------------------------------------------------
# helpers

_add_reduce: Callable[..., Any] = np.add.reduce     # (called positionally, as ndarray.sum calls it)
# 1, 0 and 2 as read-only 0-d arrays per float dtype, for the activations (1 - y*y, max(x, 0)):
# the same result as a Python number (NEP 50), and numpy takes a 0-d array of the array's dtype
# faster
_ONES: dict[np.dtype, np.ndarray] = {np.dtype(t): np.array(1, t) for t in (np.float16, np.float32, np.float64)}
_ZEROS: dict[np.dtype, np.ndarray] = {np.dtype(t): np.array(0, t) for t in (np.float16, np.float32, np.float64)}
_TWOS: dict[np.dtype, np.ndarray] = {np.dtype(t): np.array(2, t) for t in (np.float16, np.float32, np.float64)}
for _constant in (*_ONES.values(), *_ZEROS.values(), *_TWOS.values()):
    _constant.flags.writeable = False
del _constant


def _array(x: Any) -> Any:
    """The ndarray behind x (for masks and other constants of a backward)."""
    return x.data if isinstance(x, Tensor) else x


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


def _ndim(x: Any) -> int:
    return x.ndim if isinstance(x, (Tensor, np.ndarray)) else np.ndim(x)


def _normalize_axis(axis: Any, ndim: int, op: str) -> Any:     # (a tuple, or None: see the docstring)
    """axis (None, int or tuple, negatives allowed) -> None or a sorted tuple of non-negative ints."""
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        axes = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    result = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim and not (ndim == 0 and a in (0, -1)):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimension(s); "
                             f"use an axis in [{-ndim}, {ndim - 1}]" if ndim else
                             f"{op}: axis {a} is out of range for a 0-d tensor; use axis=None")
        result.append(int(a) % ndim if ndim else 0)
    if len(set(result)) != len(result):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(result)) if ndim else None


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape a reduction over ``axes`` leaves with keepdims=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand(grad: _Grad, shape: tuple[int, ...], axes: tuple[int, ...] | None, keepdims: bool) -> _Grad:
    """Spread the gradient of a reduction back over the reduced axes (input shape ``shape``)."""
    if not keepdims:
        grad = grad.reshape(_kept_shape(shape, axes))
    if isinstance(grad, np.ndarray):
        out = np.empty(shape, grad.dtype)
        out[...] = grad
        return out
    return broadcast_to(grad, shape)


def _reduced_count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    if axes is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axes)


# ---------------------------------------------------------------------------------------------
# elementwise arithmetic


class Add(Elementwise):
    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> np.ndarray:      # (arrays or numbers)
        return a + b

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return grad, grad


class Sub(Elementwise):
    # a primitive rather than add-of-neg: one node instead of two on a hot path
    refuses_bool = "operand"     # as PyTorch (see promotion.operands)
    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> np.ndarray:      # (arrays or numbers)
        return a - b

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Elementwise):
    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> np.ndarray:      # (arrays or numbers)
        need_a, need_b = ctx.needs_input_grad      # save only what the backward will use
        ctx.saved_tensors = (a if need_b else None, b if need_a else None)
        return a * b

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class MulSelf(Mul):
    """x * x for one tensor x: what ``x * x`` records, a Mul (pictures and messages say so) with
    one edge to x instead of two, so the backward walks straight on. PyTorch records two edges;
    the gradient is the same to the bit, as (g * x) * 2 is exactly (g * x) + (g * x)."""

    display_name = "Mul"

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:  # type: ignore[override]  # (one operand: unary_op(MulSelf))
        ctx.saved_tensors = (x,)
        return x * x

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (x,) = ctx.saved_tensors
        return grad * x * _TWOS.get(x.dtype, 2.0)


class Div(Elementwise):
    anomaly_hint = "Division by 0: d(a/b)/db = -a/b² and d(a/b)/da = 1/b are infinite where b = 0."

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> np.ndarray:      # (arrays or numbers)
        ctx.saved_tensors = (a if ctx.needs_input_grad[1] else None, b)   # only what backward uses
        return a / b

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad / b if need_a else None), (-(grad * a) / (b * b) if need_b else None)




class PowScalar(Function):
    """x ** p for a constant number p; d/dx = p x^(p-1), and exactly 0 for p = 0 (PyTorch).

    The exponents 2, 3, 4, -1, -2, 0.5 and -0.5 take PyTorch's own forms (x*x, x*x*x, 1/(x*x),
    sqrt, 1/sqrt...), forward and backward: the same values as PyTorch's, and numpy's general
    ``pow`` costs up to a hundred times ``x*x*x`` on negative floats."""

    anomaly_hint = "pow at 0: d(x^p)/dx = p x^(p-1) is infinite at x = 0 when p < 1."

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, p: float) -> np.ndarray:
        if x.dtype.kind != "f":
            if isinstance(p, (float, np.floating)):
                # a float exponent makes a bool or integer base floating (PyTorch: int ** 2.0 is float)
                x = x.astype(_default_float())
            elif p < 0:
                raise ValueError("pow: integers to negative integer powers are not allowed; convert the base "
                                 "first with .float()")
            elif x.dtype.kind == "b":
                x = x.astype(np.int64)      # bool ** int is int64 (PyTorch), not numpy's logical and
        ctx.save_for_backward(x)
        ctx.p = p
        if p == 2:
            return x * x
        if p == 3:
            return x * x * x
        if p == -1:
            return 1.0 / x if x.dtype.kind == "f" else x ** p
        if p == -2:
            return 1.0 / (x * x)
        if p == 0.5:
            return np.sqrt(x)
        if p == -0.5:
            return 1.0 / np.sqrt(x)
        return _power(x, p)     # 4 included: PyTorch's pow(x, 4), within an ulp

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (x,) = ctx.saved_tensors
        p = ctx.p
        # PyTorch's pow_backward, grad * (p * x.pow(p - 1)), with x.pow in its own forms; written
        # so that it runs on arrays and, under create_graph, on Tensors
        if p == 0:
            return grad * 0.0, None
        if p == 1:
            return grad, None
        if p == 2:
            return grad * (2.0 * x), None
        if p == 3:
            return grad * (3.0 * (x * x)), None
        if p == 4:
            return grad * (4.0 * (x * x * x)), None
        if p == -1:
            return grad * (-1.0 * (1.0 / (x * x))), None
        if p == 0.5:
            return grad * (0.5 * (1.0 / np.sqrt(x))), None
        return grad * (p * _power(x, p - 1)), None


def _power(x: _Grad, p: float) -> _Grad:
    """x ** p for a number p: an array's through numpy's pow of |x| when p is an integer (the same
    bits: pow of a negative base and an integer exponent is +-pow(|x|, p), but libm takes a path
    about fifty times slower for it); a Tensor's on the graph."""
    if type(x) is not np.ndarray or x.dtype.kind != "f" or p != int(p):
        return x ** p
    magnitude = np.power(np.abs(x), p)
    return np.copysign(magnitude, x) if int(p) % 2 else magnitude


class Pow(Function):
    """a ** b with b a tensor: d/da = b a^(b-1) (0 where b = 0), d/db = a^b ln a (0 where a = 0, b >= 0)."""

    refuses_bool = "result"      # bool ** bool, as PyTorch (see promotion.operands)

    anomaly_hint = "pow at 0: d(a^b)/da = b a^(b-1) is infinite at a = 0 when b < 1; d/db needs ln(a)."

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> np.ndarray:      # (arrays or numbers)
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):   # values that where() masks off may be inf
            if need_a:
                grad_a = grad * where(_array(b) == 0, 0.0, b * a ** (b - 1))
            if need_b:
                base_zero = (_array(a) == 0) & (_array(b) >= 0)
                log_a: _Grad
                if isinstance(a, Tensor):
                    log_a = log(where(base_zero, 1.0, a))
                else:       # a constant base (2.0 ** t): its log in the output's dtype
                    log_a = np.log(np.where(base_zero, 1.0, a)).astype(_array(out).dtype, copy=False)
                grad_b = grad * where(base_zero, 0.0, out * log_a)
        return grad_a, grad_b


def pow(x: TensorLike, exponent: TensorLike) -> Tensor:
    """x ** exponent, elementwise; exponent a number or a tensor (both broadcast)."""
    if isinstance(exponent, (int, float, np.integer, np.floating)) and not isinstance(exponent, bool) \
            and isinstance(x, Tensor):
        return apply1(PowScalar, x, exponent)
    return apply2(Pow, x, exponent)








class Tanh(Elementwise):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        out = np.tanh(x)
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (out,) = ctx.saved_tensors
        if out.size >= 1024 and type(grad) is np.ndarray and grad.dtype is out.dtype and (
                grad.shape == out.shape):
            # the same operations, in one new array (small arrays gain nothing, and skip the checks)
            result = out * out
            np.subtract(_ONES.get(out.dtype, 1.0), result, out=result)
            result *= grad
            return result
        return grad * (_ONES.get(out.dtype, 1.0) - out * out)


class Sigmoid(Elementwise):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind != "f":     # bool or integer (no gradient): -|x| must not wrap or fail
            x = x.astype(_default_float())
        # exp of -|x| never overflows, and e/(1+e) keeps full precision for large negative x
        e = np.exp(-np.abs(x))
        r = 1.0 / (1.0 + e)
        out = np.where(x >= 0, r, e * r)
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (out,) = ctx.saved_tensors
        return grad * (out * (_ONES.get(out.dtype, 1.0) - out))


class Relu(Elementwise):
    """max(x, 0); its derivative at 0 is 0 (PyTorch's choice). A class rather than a table row for
    its backward on arrays: the mask as floats, multiplied in place (numpy multiplies floats by
    booleans slowly), the same products."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        out = np.maximum(x, _ZEROS.get(x.dtype, 0))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (out,) = ctx.saved_tensors
        # the gradient passes where not (out <= 0), as in PyTorch (threshold_backward): also at nan
        zero = _ZEROS.get(out.dtype) if type(grad) is np.ndarray else None
        if zero is not None and out.ndim and grad.dtype is out.dtype and grad.shape == out.shape:
            blocked = out <= zero
            mask = np.invert(blocked, out=blocked).astype(out.dtype)
            mask *= grad
            return mask
        return grad * ~(_array(out) <= 0)








class Maximum(Function):
    """Elementwise max; a tie sends half the gradient to each side (PyTorch's choice)."""

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> np.ndarray:      # (arrays or numbers)
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        a, b = ctx.saved_tensors
        share_a = _tie_share(_array(a), _array(b), np.greater)
        return grad * share_a, grad * (1.0 - share_a)


class Minimum(Function):
    """Elementwise min; a tie sends half the gradient to each side (PyTorch's choice)."""

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> np.ndarray:      # (arrays or numbers)
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        a, b = ctx.saved_tensors
        share_a = _tie_share(_array(a), _array(b), np.less)
        return grad * share_a, grad * (1.0 - share_a)


def _tie_share(a: np.ndarray, b: np.ndarray, wins: np.ufunc) -> np.ndarray:
    """1 where a wins, 0.5 on ties, 0 where b wins: a's share of the gradient."""
    dtype = np.result_type(a, b)
    return wins(a, b).astype(dtype) + 0.5 * (a == b).astype(dtype)


class Clip(Function):
    """Clip to [low, high]; the gradient passes where low <= x <= high, bounds included (PyTorch)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, low: Any, high: Any) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        out = x
        if low is not None:
            out = np.maximum(out, low)
        if high is not None:
            out = np.minimum(out, high)
        return out if out is not x else x.copy()

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (x,) = ctx.saved_tensors
        x = _array(x)
        inside = np.ones(x.shape, dtype=bool)
        if ctx.low is not None:
            inside &= x >= ctx.low
        if ctx.high is not None:
            inside &= x <= ctx.high
        return grad * inside, None, None


class Where(Function):
    """cond ? a : b elementwise (all three broadcast); the gradient goes to the chosen side."""

    @staticmethod
    def forward(ctx: Any, cond: np.ndarray, a: Any, b: Any) -> np.ndarray:      # (arrays or numbers)
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (cond,) = ctx.saved
        need_a, need_b = ctx.needs_input_grad[1:]
        return (None, where(cond, grad, 0.0) if need_a else None,
                where(cond, 0.0, grad) if need_b else None)


@overload
def where(condition: TensorLike) -> tuple[Tensor, ...]: ...


@overload
def where(condition: TensorLike, x: TensorLike, y: TensorLike) -> Tensor: ...


def where(condition: TensorLike, x: TensorLike | None = None, y: TensorLike | None = None
          ) -> Tensor | tuple[Tensor, ...]:
    """Elementwise ``x`` where ``condition`` else ``y`` (all three broadcast; differentiable in
    x and y). Mixed dtypes of x and y promote as PyTorch's (an int tensor and 2.5: float32).
    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``: int64 indices per axis."""
    if x is None and y is None:
        return tuple(_wrap(i.astype(np.int64, copy=False)) for i in np.nonzero(_array(condition)))
    cond = _array(condition)
    if not isinstance(cond, np.ndarray) or cond.dtype != np.bool_:
        cond = np.asarray(cond).astype(bool)
    data_x, data_y = _array(x), _array(y)
    if not (type(data_x) is np.ndarray and type(data_y) is np.ndarray and data_x.dtype is data_y.dtype):
        dtype = result_type(data_x, data_y)
        x, y = _in_dtype(x, dtype), _in_dtype(y, dtype)
    return Where.apply(cond, x, y)


def _in_dtype(x: Any, dtype: DTypeLike) -> Any:
    """An operand in ``dtype``: a tensor cast on the graph, an array cast, a number as it is."""
    if isinstance(x, Tensor):
        return x if x.data.dtype == dtype else x.astype(dtype)
    if isinstance(x, (np.ndarray, np.generic)):
        return np.asarray(x).astype(dtype, copy=False)
    return np.asarray(x, dtype)


# ---------------------------------------------------------------------------------------------
# matrix product


class MatMul(Function):
    """numpy's matmul: 1-D operands are promoted to matrices and the added axis removed after."""

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> np.ndarray:      # (arrays or numbers)
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_vector, b_vector = a.ndim == 1, b.ndim == 1
        if a_vector and b_vector:
            return (grad * b if need_a else None), (grad * a if need_b else None)
        if a_vector:
            a = a.reshape((1,) + a.shape)
            grad = grad.reshape(grad.shape[:-1] + (1, grad.shape[-1]))
        if b_vector:
            b = b.reshape(b.shape + (1,))
            grad = grad.reshape(grad.shape + (1,))
        grad_a = grad_b = None
        if need_a:
            grad_a = grad @ b.swapaxes(-1, -2)
            if a_vector:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if need_b:
            grad_b = a.swapaxes(-1, -2) @ grad
            if b_vector:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b


def matmul(a: TensorLike, b: TensorLike) -> Tensor:
    """Matrix product with numpy's rules: (n,k)@(k,m), batched (..., n, k)@(..., k, m) with
    broadcast batch axes, and 1-D operands as row/column vectors."""
    shape_a, shape_b = _shape(a), _shape(b)
    if len(shape_a) == 0 or len(shape_b) == 0:
        raise ValueError(f"matmul: {shape_a} @ {shape_b}: both operands need at least one dimension; "
                         "use * to multiply by a scalar")
    inner_b = shape_b[-2] if len(shape_b) >= 2 else shape_b[0]
    if shape_a[-1] != inner_b:
        raise ValueError(f"matmul: {shape_a} @ {shape_b}: inner dimensions {shape_a[-1]} and {inner_b} "
                         "differ")
    dtype_a, dtype_b = getattr(_array(a), "dtype", None), getattr(_array(b), "dtype", None)
    if dtype_a is not dtype_b and dtype_a is not None and dtype_b is not None and dtype_a != dtype_b:
        raise DtypeError(f"matmul: expected both operands to have the same dtype, got {dtype_a} @ {dtype_b} "
                           f"(shapes {shape_a} and {shape_b}), as PyTorch; convert one, e.g. with .to({dtype_a}) "
                           "or .float()/.double()")
    return apply2(MatMul, a, b)


def dot(a: TensorLike, b: TensorLike) -> Tensor:
    """The dot product of two 1-D tensors of one length and dtype (PyTorch's ``dot``): (n,), (n,)
    -> (). For matrices use ``matmul``/``@``; numpy's N-d ``np.dot`` is ``np.dot(a, b)``."""
    shape_a, shape_b = _shape(a), _shape(b)
    if len(shape_a) != 1 or len(shape_b) != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {len(shape_a)}D and {len(shape_b)}D tensors (shapes "
                           f"{shape_a} and {shape_b}); use matmul (a @ b) for matrices, or np.dot(a, b) for "
                           "numpy's N-d dot")
    if shape_a != shape_b:
        raise RuntimeError(f"dot: inconsistent tensor size, expected two tensors of one length, got {shape_a} "
                           f"and {shape_b}")
    return matmul(a, b)


# ---------------------------------------------------------------------------------------------
# reductions


class Sum(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        return _add_reduce(x, axes, None, None, keepdims)     # ndarray.sum, without its Python layer

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return _expand(grad, ctx.shape, ctx.axes, ctx.keepdims), None, None


class Max(Function):
    """max over axes (PyTorch's amax, and max without a dim): tied maxima share the gradient evenly."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: tuple[int, ...] | None, keepdims: bool,
                reduce: Callable[..., Any]) -> np.ndarray:
        out = reduce(x, axis=axes, keepdims=keepdims)
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        x, out = (_array(t) for t in ctx.saved_tensors)
        kept = _kept_shape(x.shape, ctx.axes)
        if not ctx.keepdims:
            grad = grad.reshape(kept)
        chosen = x == out.reshape(kept)
        share = chosen / chosen.sum(axis=ctx.axes, keepdims=True)
        return grad * share.astype(x.dtype, copy=False), None, None, None


class SelectAlongDim(Function):
    """x's values at ``index`` along ``axis`` (``index`` an int array of the keepdim shape): the
    values of ``max(x, dim)``/``min(x, dim)``. Backward: each gradient goes to the one element
    it came from (PyTorch's rule for max and min along a dim)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, index: np.ndarray, axis: int, keepdims: bool) -> np.ndarray:
        ctx.shape, ctx.index, ctx.axis, ctx.keepdims = x.shape, index, axis, keepdims
        out = np.take_along_axis(x, index, axis)
        return out if keepdims else out.reshape(_reduced_shape(x.shape, (axis,)))

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        if not ctx.keepdims:
            grad = grad.reshape(ctx.index.shape)
        return scatter_along_dim(grad, ctx.shape, ctx.index, ctx.axis), None, None, None


class MaxAlongDim(SelectAlongDim):
    display_name = "Max"


class MinAlongDim(SelectAlongDim):
    display_name = "Min"


class ScatterAlongDim(Function):
    """zeros(shape) with ``grad`` put at ``index`` along ``axis`` (SelectAlongDim's backward;
    its own backward selects again, for higher-order gradients)."""

    @staticmethod
    def forward(ctx: Any, grad: np.ndarray, shape: tuple[int, ...], index: np.ndarray, axis: int) -> np.ndarray:
        ctx.index, ctx.axis = index, axis
        return _scatter_along(grad, shape, index, axis)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return SelectAlongDim.apply(grad, ctx.index, ctx.axis, True), None, None, None


def _scatter_along(grad: np.ndarray, shape: tuple[int, ...], index: np.ndarray, axis: int) -> np.ndarray:
    out = np.zeros(shape, grad.dtype)
    np.put_along_axis(out, index, grad, axis)
    return out


def scatter_along_dim(grad: _Grad, shape: tuple[int, ...], index: np.ndarray, axis: int) -> _Grad:
    """zeros(shape) with ``grad`` put at ``index`` along ``axis``: an array for an array, a graph
    node for a Tensor (create_graph)."""
    if isinstance(grad, Tensor):
        return ScatterAlongDim.apply(grad, shape, index, axis)
    return _scatter_along(grad, shape, index, axis)


def _variance(x: np.ndarray, axes: tuple[int, ...] | None, correction: float, keepdims: bool) -> np.ndarray:
    """sum((x - mean)^2) / max(0, n - correction) over ``axes`` (an array; numpy's algorithm,
    without numpy's warning for n <= correction: the result is then inf or nan, as PyTorch's)."""
    n = _reduced_count(x.shape, axes)
    centered = x - x.mean(axis=axes, keepdims=True) if x.size else x
    squares = centered * centered
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(_add_reduce(squares, axes, None, None, keepdims), builtins.max(n - correction, 0),
                         dtype=x.dtype)


def _variance_grad(grad: _Grad, x: _Grad, axes: tuple[int, ...] | None, correction: float, keepdims: bool) -> _Grad:
    """d var / dx for the incoming ``grad``: 2 (x - mean) / (n - correction) (inf when n <= correction,
    as PyTorch). Runs on arrays and, under create_graph, on Tensors."""
    if x.size == 0:
        return _expand(grad, x.shape, axes, keepdims)
    n = _reduced_count(x.shape, axes)
    scale = 2.0 / (n - correction) if n > correction else math.inf
    centered = x - x.mean(axis=axes, keepdims=True)
    with np.errstate(invalid="ignore"):
        return _expand(grad, x.shape, axes, keepdims) * centered * scale


class Var(Function):
    """Variance with ``correction`` (Bessel's 1, PyTorch's default): sum((x - mean)^2) / (n - correction)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: tuple[int, ...] | None, correction: float, keepdims: bool) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.axes, ctx.correction, ctx.keepdims = axes, correction, keepdims
        return _variance(x, axes, correction, keepdims)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (x,) = ctx.saved_tensors
        return _variance_grad(grad, x, ctx.axes, ctx.correction, ctx.keepdims), None, None, None


class Std(Function):
    """Standard deviation: sqrt(var) with ``correction``. Its gradient is d var / (2 std), and 0
    where std is 0 (constant data, one element with correction 0), as PyTorch, not 0/0."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: tuple[int, ...] | None, correction: float, keepdims: bool) -> np.ndarray:
        out = np.sqrt(_variance(x, axes, correction, keepdims))
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.correction, ctx.keepdims = axes, correction, keepdims
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        x, out = ctx.saved_tensors
        zero = _array(out) == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_var = _select(zero, 0.0, grad / (2.0 * _select(zero, 1.0, out)))
        return _variance_grad(grad_var, x, ctx.axes, ctx.correction, ctx.keepdims), None, None, None


def _select(condition: np.ndarray, a: _Grad, b: _Grad) -> _Grad:
    """``where(condition, a, b)`` on arrays (numpy's) or, when a or b is a Tensor, on the graph."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return where(condition, a, b)
    return np.where(condition, a, b).astype(  # type: ignore[attr-defined]  # (mypy reads the 1-argument form)
        np.result_type(a, b), copy=False)


class Prod(Function):
    """Product over axes; the gradient of each element is the product of the others (exact at zeros)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.axes, ctx.keepdims = axes, keepdims
        return x.prod(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (x,) = ctx.saved_tensors
        if x.size == 0:
            return _expand(grad, x.shape, ctx.axes, ctx.keepdims), None, None
        axes = tuple(range(x.ndim)) if ctx.axes is None else ctx.axes
        return _expand(grad, x.shape, ctx.axes, ctx.keepdims) * _product_of_others(x, axes), None, None


def _product_of_others(x: _Grad, axes: tuple[int, ...]) -> _Grad:
    """For each element, the product of the other elements along ``axes`` (no division). Runs on
    arrays and, under create_graph, on Tensors (so a permutation is ``np.transpose``, whose
    meaning is the same on both)."""
    kept = [i for i in range(x.ndim) if i not in axes]
    order = kept + list(axes)
    inverse = tuple(int(i) for i in np.argsort(order))
    moved = np.transpose(x, order)
    lead = moved.shape[:len(kept)]
    n = math.prod(moved.shape[len(kept):])
    flat = moved.reshape(lead + (n,))
    if isinstance(flat, np.ndarray):
        ones = np.ones(lead + (1,), flat.dtype)
        before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = before * after
    else:
        # differentiable form for create_graph: an (n, n) table with the diagonal replaced by 1
        table = broadcast_to(flat.reshape(lead + (1, n)), lead + (n, n))
        others = prod(where(np.eye(n, dtype=bool), 1.0, table), dim=-1)
    return np.transpose(others.reshape(moved.shape), inverse)


def _dims(x: Tensor, dim: Any, keepdim: Any, aliases: dict[str, Any], op: str, empty_is_all: bool = True
          ) -> tuple[Any, bool]:
    """The reduction axes and keepdims of ``op(x, dim, keepdim, **aliases)``: PyTorch's ``dim`` and
    ``keepdim``, or numpy's ``axis`` and ``keepdims`` (as PyTorch also accepts them). An empty
    ``dim=()`` reduces every dim, as PyTorch's reductions do (numpy's ``axis=()`` reduces none:
    ``empty_is_all=False``)."""
    if aliases:
        axis = aliases.pop("axis", None)
        keepdims = aliases.pop("keepdims", None)
        if aliases:
            raise TypeError(f"{op}() got an unexpected keyword argument {next(iter(aliases))!r}")
        if axis is not None:
            if dim is not None:
                raise TypeError(f"{op}: give the axis once, as dim= or axis=, not both")
            dim = axis
        if keepdims is not None:
            keepdim = keepdims
    if empty_is_all and isinstance(dim, (tuple, list)) and not dim:
        dim = None
    return _normalize_axis(dim, x.ndim, op), bool(keepdim)


def _cast_for(x: Tensor, dtype: DTypeLike | None, op: str) -> Tensor:
    """x cast to a reduction's ``dtype=`` argument (PyTorch's: the reduction runs in that dtype)."""
    if dtype is None:
        return x
    return x.astype(as_dtype(dtype, op))


def _integral_accumulator(x: Tensor) -> Tensor:
    """PyTorch sums and multiplies bool and integer tensors in int64 (numpy keeps uint64, ...)."""
    kind = x.data.dtype.kind
    if (kind == "b" or kind in "iu") and x.data.dtype != np.int64:
        return x.astype(np.int64)
    return x


def sum(x: TensorLike, dim: Dims = None, keepdim: bool = False, *, dtype: DTypeLike | None = None,
        **aliases: Any) -> Tensor:
    """Sum over ``dim`` (None: all; int or tuple, negatives allowed; ``axis=`` and ``keepdims=``
    are accepted too); ``dtype=`` casts first. Bool and integer tensors sum in int64 (PyTorch).
    (…) -> the reduced shape."""
    x = _cast_for(_as_tensor(x), dtype, "sum")
    if x.data.dtype.kind != "f":
        x = _integral_accumulator(x)
    return apply1(Sum, x, *_dims(x, dim, keepdim, aliases, "sum"))


def _floating_input(x: Tensor, op: str) -> None:
    """Refuse a bool or integer tensor where PyTorch does (mean, var, std), naming the fix."""
    if x.data.dtype.kind != "f":
        raise DtypeError(f"{op}(): the input is {x.data.dtype}, but {op} needs a floating point tensor "
                         f"(as PyTorch); convert it first: x.float().{op}()"
                         + (f" or {op}(x, dtype=ad.float32)" if op == "mean" else ""))


def mean(x: TensorLike, dim: Dims = None, keepdim: bool = False, *, dtype: DTypeLike | None = None,
         **aliases: Any) -> Tensor:
    """Mean over ``dim``: the sum divided by the number of elements reduced. A bool or integer
    tensor raises (PyTorch): convert it with ``.float()`` or pass ``dtype=``."""
    x = _cast_for(_as_tensor(x), dtype, "mean")
    _floating_input(x, "mean")
    axes, keepdim = _dims(x, dim, keepdim, aliases, "mean")
    count = _reduced_count(x.shape, axes)
    total = apply1(Sum, x, axes, keepdim)
    return total / count if count else total * np.nan


def _extremum(x: TensorLike, dim: Any, keepdim: bool, aliases: dict[str, Any], op: str) -> Any:
    """PyTorch's max/min: over all elements (dim None), along one dim -> (values, indices), or
    against another tensor (``max(x, other)``: the elementwise maximum)."""
    other = aliases.pop("other", None) if aliases else None
    if other is None and isinstance(dim, (Tensor, np.ndarray)):
        other, dim = dim, None
    if other is not None:
        if dim is not None or keepdim or aliases:
            raise TypeError(f"{op}(input, other) takes no dim or keepdim; use {op}(input, dim) for a reduction")
        return (maximum if op == "max" else minimum)(x, other)
    x = _as_tensor(x)
    if dim is None and (not aliases or aliases.get("axis") is None):
        if aliases.pop("keepdims", None) or keepdim:
            raise TypeError(f"{op}(input) over all elements takes no keepdim; give a dim, or use a{op}(input, "
                            "dims, keepdim=True)")
        if aliases:
            raise TypeError(f"{op}() got an unexpected keyword argument {next(iter(aliases))!r}")
        if x.size == 0:
            raise ValueError(f"{op}(): the tensor (shape {x.shape}) is empty, so it has no {op}imum; give a dim "
                             "of non-zero size")
        return Max.apply(x, None, False, np.max if op == "max" else np.min)
    axes, keepdim = _dims(x, dim, keepdim, aliases, op)
    if axes is not None and len(axes) != 1:
        raise TypeError(f"{op}(input, dim) takes one dim (PyTorch), got {dim!r}; to reduce several dims use "
                        f"a{op}(input, dims), which returns the values alone")
    result = getattr(_return_types, op)
    if x.ndim == 0:         # dim 0 or -1 of a 0-d tensor: the element itself, at index 0
        values = _extremum(reshape(x, (1,)), 0, keepdim, {}, op).values
        return result(reshape(values, ()), _wrap(np.zeros((), np.int64)))
    axis = axes[0]
    if x.shape[axis] == 0:
        raise IndexError(f"{op}(): dim {axis} of shape {x.shape} has size 0, so it has no {op}imum; reduce "
                         "a dim of non-zero size")
    # the indices by the tensor's own argmax/argmin (an op: a step compiled with ad.compile records it)
    index = (x.argmax if op == "max" else x.argmin)(axis, keepdim=True)
    values = (MaxAlongDim if op == "max" else MinAlongDim).apply(x, index, axis, keepdim)
    return result(values, index if keepdim else reshape(index, values.shape))


@overload
def max(x: TensorLike) -> Tensor: ...


@overload
def max(x: TensorLike, dim: Tensor, /) -> Tensor: ...


@overload
def max(x: TensorLike, dim: int, keepdim: bool = False, **aliases: Any) -> _return_types.max: ...


@overload
def max(x: TensorLike, *, other: TensorLike) -> Tensor: ...


@overload
def max(x: TensorLike, *, axis: int, keepdims: bool = False) -> _return_types.max: ...


@overload
def max(x: TensorLike, dim: int | Tensor | None = None, keepdim: bool = False, **aliases: Any
        ) -> Tensor | _return_types.max: ...


def max(x: TensorLike, dim: int | Tensor | None = None, keepdim: bool = False, **aliases: Any
        ) -> Tensor | _return_types.max:
    """PyTorch's three forms: ``max(x)``, the largest value (tied maxima share the gradient
    evenly); ``max(x, dim, keepdim=False)``, ``(values, indices)`` along ``dim`` (a named tuple;
    the first index at ties, which alone gets the gradient); ``max(x, other)``, the elementwise
    ``maximum``. Several dims at once: ``amax``."""
    return _extremum(x, dim, keepdim, aliases, "max")


@overload
def min(x: TensorLike) -> Tensor: ...


@overload
def min(x: TensorLike, dim: Tensor, /) -> Tensor: ...


@overload
def min(x: TensorLike, dim: int, keepdim: bool = False, **aliases: Any) -> _return_types.min: ...


@overload
def min(x: TensorLike, *, other: TensorLike) -> Tensor: ...


@overload
def min(x: TensorLike, *, axis: int, keepdims: bool = False) -> _return_types.min: ...


@overload
def min(x: TensorLike, dim: int | Tensor | None = None, keepdim: bool = False, **aliases: Any
        ) -> Tensor | _return_types.min: ...


def min(x: TensorLike, dim: int | Tensor | None = None, keepdim: bool = False, **aliases: Any
        ) -> Tensor | _return_types.min:
    """PyTorch's three forms: ``min(x)``, ``min(x, dim, keepdim=False)`` -> ``(values, indices)``,
    ``min(x, other)``; as ``max``."""
    return _extremum(x, dim, keepdim, aliases, "min")


def _extreme_values(x: TensorLike, dim: Dims, keepdim: bool, aliases: dict[str, Any],
                    reduce: Callable[..., Any], op: str) -> Tensor:
    x = _as_tensor(x)
    axes, keepdim = _dims(x, None if dim == () else dim, keepdim, aliases, op)
    if axes == ():      # PyTorch's dim=(): every dim
        axes = None
    reduced = range(x.ndim) if axes is None else (axes if isinstance(axes, tuple) else (axes,))
    if x.size == 0 and (x.ndim == 0 or any(x.shape[axis] == 0 for axis in reduced)):
        # an empty input reduced over its non-empty dims only has an (empty) answer, as in PyTorch
        raise ValueError(f"{op}: the tensor (shape {x.shape}) is empty along a reduced dimension, so it has "
                         f"no {op[1:]}imum")
    return Max.apply(x, axes, keepdim, reduce)


def amax(x: TensorLike, dim: Dims = (), keepdim: bool = False, **aliases: Any) -> Tensor:
    """Largest values over ``dim`` (an int or a tuple; all dims by default); tied maxima share the
    gradient evenly (PyTorch)."""
    return _extreme_values(x, dim, keepdim, aliases, np.max, "amax")


def amin(x: TensorLike, dim: Dims = (), keepdim: bool = False, **aliases: Any) -> Tensor:
    """Smallest values over ``dim``; tied minima share the gradient evenly (PyTorch)."""
    return _extreme_values(x, dim, keepdim, aliases, np.min, "amin")


def _variance_args(x: TensorLike, dim: Dims | bool, unbiased: bool | None, keepdim: bool, correction: float | None,
                   aliases: dict[str, Any], op: str) -> tuple[Tensor, tuple[int, ...] | None, float, bool]:
    """PyTorch's argument forms of var/std -> (x, axes, correction, keepdim): ``(dim, unbiased,
    keepdim)``, ``(dim=None, *, correction=1, keepdim=False)``, ``(unbiased)``; numpy's ``ddof=``
    is accepted for ``correction=``."""
    x = _as_tensor(x)
    if isinstance(dim, (bool, np.bool_)):       # var(False): the unbiased flag alone
        if unbiased is not None:
            raise TypeError(f"{op}: got unbiased twice")
        dim, unbiased = None, bool(dim)
    ddof = aliases.pop("ddof", None) if aliases else None
    if ddof is not None:
        if correction is not None:
            raise TypeError(f"{op}: give correction= or ddof= (numpy's name for it), not both")
        correction = ddof
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: give unbiased= or correction=, not both (unbiased=False is correction=0)")
    if correction is None:
        correction = 0 if unbiased is not None and not unbiased else 1
    _floating_input(x, op)
    axes, keepdim = _dims(x, dim, keepdim, aliases, op)
    return x, axes, correction, keepdim


def var(x: TensorLike, dim: Dims | bool = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, **aliases: Any) -> Tensor:
    """Variance over ``dim``: sum((x - mean)^2) / (n - correction), unbiased (``correction=1``)
    by default, as PyTorch; ``unbiased=False`` or ``correction=0`` is the biased (numpy's
    default) form. PyTorch's forms: ``var(dim, unbiased, keepdim)``, ``var(dim, correction=,
    keepdim=)``, ``var(unbiased)``."""
    x, axes, correction, keepdim = _variance_args(x, dim, unbiased, keepdim, correction, aliases, "var")
    return Var.apply(x, axes, correction, keepdim)


def std(x: TensorLike, dim: Dims | bool = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, **aliases: Any) -> Tensor:
    """Standard deviation over ``dim``: sqrt(var) with var's arguments (unbiased by default); the
    gradient is 0 where the standard deviation is 0 (PyTorch)."""
    x, axes, correction, keepdim = _variance_args(x, dim, unbiased, keepdim, correction, aliases, "std")
    return Std.apply(x, axes, correction, keepdim)


def prod(x: TensorLike, dim: Dims = None, keepdim: bool = False, *, dtype: DTypeLike | None = None,
         **aliases: Any) -> Tensor:
    """Product over ``dim``; ``dtype=`` casts first; bool and integer tensors multiply in int64."""
    x = _cast_for(_as_tensor(x), dtype, "prod")
    if x.data.dtype.kind != "f":
        x = _integral_accumulator(x)
    return Prod.apply(x, *_dims(x, dim, keepdim, aliases, "prod"))


def argmax(x: TensorLike, dim: int | None = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """Index of the largest value over ``dim`` (None: of the flattened tensor); int64, no gradient."""
    return _arg_extremum(x, dim, keepdim, aliases, "argmax")


def argmin(x: TensorLike, dim: int | None = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """Index of the smallest value over ``dim`` (None: of the flattened tensor); int64, no gradient."""
    return _arg_extremum(x, dim, keepdim, aliases, "argmin")


def _arg_extremum(x: TensorLike, dim: int | None, keepdim: bool, aliases: dict[str, Any], op: str) -> Tensor:
    x = _as_tensor(x)
    axes, keepdim = _dims(x, dim, keepdim, aliases, op)
    if axes is not None and len(axes) != 1:
        raise TypeError(f"{op}: dim must be one int (or None), got {dim!r}")
    axis = None if axes is None else axes[0]
    return _wrap(np.asarray(getattr(x.data, op)(axis=axis, keepdims=keepdim)))


# ---------------------------------------------------------------------------------------------
# the softmax family: fused, because the composed forms take 5-6 nodes and lose stability

class LogSumExp(Function):
    """log(sum(exp(x))) over axes, shifted by the max so that logits of +-1e4 stay finite."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
        shift = _finite_max(x, axes)
        out = np.log(np.exp(x - shift).sum(axis=axes, keepdims=True)) + shift
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else out.reshape(_reduced_shape(x.shape, axes))

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        x, out_kept = ctx.saved_tensors     # out_kept: the keepdims form, so it broadcasts
        if isinstance(x, Tensor):           # create_graph: out_kept must be on the graph too
            out_kept = LogSumExp.apply(x, ctx.axes, True)
        if not ctx.keepdims:
            grad = grad.reshape(_kept_shape(x.shape, ctx.axes))
        return grad * np.exp(x - out_kept), None, None


class Softmax(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: int) -> np.ndarray:
        e = np.exp(x - _finite_max(x, (axis,)))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: int) -> np.ndarray:
        shifted = x - _finite_max(x, (axis,))
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        (out,) = ctx.saved_tensors
        return grad - np.exp(out) * grad.sum(axis=ctx.axis, keepdims=True), None


def _finite_max(x: np.ndarray, axes: tuple[int, ...] | None) -> np.ndarray:
    """The max over axes (keepdims), with non-finite maxima replaced by 0 so shifting is safe."""
    if x.size == 0:
        return np.zeros(_kept_shape(x.shape, axes), x.dtype)
    shift = row_max(x) if x.ndim == 2 and axes == (1,) else x.max(axis=axes, keepdims=True)
    if not np.isfinite(shift).all():
        shift = np.where(np.isfinite(shift), shift, 0).astype(x.dtype)
    return shift


def row_max(x: np.ndarray) -> np.ndarray:
    """The max of each row of a 2-d array, as a column: ``x.max(axis=1, keepdims=True)``.

    The same values as numpy's (the same comparisons, in the same order), but for a short last axis
    (logits of a few classes, the common case) it reduces the first axis of the transposed copy,
    which numpy does several times faster."""
    rows, columns = x.shape
    if columns <= 64 and rows >= 16:
        return np.maximum.reduce(x.T.copy(), axis=0)[:, None]
    return np.maximum.reduce(x, axis=1, keepdims=True)


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _floating(x: TensorLike) -> Tensor:
    """x itself, or a bool/integer tensor cast to the default float dtype (PyTorch's promotion for
    ops whose result is floating)."""
    x = _as_tensor(x)
    return x if x.data.dtype.kind == "f" else x.astype(_default_float())


def _default_float() -> np.dtype:
    return get_default_dtype()


def logsumexp(x: TensorLike, dim: Dims = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """log(sum(exp(x))) over ``dim``, computed stably (finite for logits of +-1e4)."""
    x = _floating(x)
    return LogSumExp.apply(x, *_dims(x, dim, keepdim, aliases, "logsumexp"))


def softmax(x: TensorLike, dim: int | None = -1, *, dtype: DTypeLike | None = None, **aliases: Any) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (default: the last), computed stably; ``dtype=`` casts
    first (an integer tensor needs it, or ``.float()``, as in PyTorch)."""
    return _along_one_axis(Softmax, x, dim, dtype, aliases, "softmax")


def log_softmax(x: TensorLike, dim: int | None = -1, *, dtype: DTypeLike | None = None, **aliases: Any) -> Tensor:
    """x - logsumexp(x) along ``dim`` (default: the last), computed stably; ``dtype=`` as softmax's."""
    return _along_one_axis(LogSoftmax, x, dim, dtype, aliases, "log_softmax")


def _along_one_axis(cls: type[Function], x: TensorLike, dim: int | None, dtype: DTypeLike | None,
                    aliases: dict[str, Any], op: str) -> Tensor:
    x = _cast_for(_as_tensor(x), dtype, op)
    if x.data.dtype.kind != "f":
        raise DtypeError(f"{op}: the input is {x.data.dtype}; {op} needs a floating point tensor (as PyTorch): "
                         f"convert it with x.float(), or pass dtype=ad.float32")
    if dim is None and not aliases and x.ndim:
        dim = 0 if x.ndim in (1, 3) else 1     # PyTorch's implicit dim (deprecated there)
    axis = _one_axis(x, dim, aliases, op)
    if axis is None:    # a 0-d tensor (dim 0 or -1): the op along the one element
        return reshape(cls.apply(reshape(x, (1,)), 0), ())
    return cls.apply(x, axis)


def _one_axis(x: Tensor, dim: int | None, aliases: dict[str, Any], op: str) -> int | None:
    """The one axis of an op along an axis (softmax), from ``dim`` or ``axis=``."""
    if "axis" in aliases and dim == -1:
        dim = None      # the default gives way to axis=
    axes, _ = _dims(x, dim, False, aliases, op)
    if axes is None:    # a 0-d tensor: the op runs along "no axis"
        return None
    if len(axes) != 1:
        raise TypeError(f"{op}: dim must be one int, got {dim!r}")
    return axes[0]


# ---------------------------------------------------------------------------------------------
# shapes


class Reshape(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return grad.reshape(ctx.shape), None


class Transpose(Function):
    """Permute axes: ``axes`` is a permutation (``permute``; ``transpose(a, b)`` is the permutation
    that swaps a and b)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        inverse = tuple(int(i) for i in np.argsort(ctx.axes))
        # grad.transpose would mean a two-axis swap on a Tensor (create_graph): permute it
        return (grad.transpose(inverse) if type(grad) is np.ndarray else permute(grad, inverse)), None


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return grad, None     # the engine sums it back to the input's shape


class Cast(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return grad, None     # the engine casts it back to the input's dtype


class Clone(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        return x.copy()

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        return grad


def _shape_arg(shape: tuple[Any, ...], op: str) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"{op}: a shape is a sequence of ints, got {shape!r}") from None


def reshape(x: TensorLike, *shape: ShapeLike) -> Tensor:
    """Same data, new shape (one entry may be -1). Accepts ``reshape(x, 2, 3)`` or ``reshape(x, (2, 3))``."""
    x = _as_tensor(x)
    shape = _shape_arg(shape, "reshape")
    if shape == x.shape:
        return x
    try:
        out = apply1(Reshape, x, shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into "
                         f"shape {shape}") from None
    return share_version(out, x) if out.data.base is not None else out


def transpose(x: TensorLike, *dims: int) -> Tensor:
    """PyTorch's ``transpose(x, dim0, dim1)``: swap two dims. With no dims, reverse them all (as
    numpy's ``transpose(x)`` and ``x.T``). A full permutation is ``permute(x, dims)`` (or
    ``np.transpose(x, axes)``, numpy's meaning); anything else raises."""
    x = _as_tensor(x)
    if not dims:
        return _permute(x, tuple(range(x.ndim))[::-1], "transpose")
    if len(dims) != 2 or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims):
        hint = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        raise TypeError(f"transpose: takes two dims to swap (PyTorch's transpose(dim0, dim1)), got {dims!r}; "
                        f"for a permutation of all the dims use permute({', '.join(map(str, hint))}) (or "
                        "np.transpose(x, axes))")
    return swapaxes(x, *dims)


def permute(x: TensorLike, *dims: int | tuple[int, ...] | list[int]) -> Tensor:
    """Permute the dims: ``permute(x, 2, 0, 1)`` or ``permute(x, (2, 0, 1))`` (PyTorch's); dim i of the
    result is dim ``dims[i]`` of x."""
    x = _as_tensor(x)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return _permute(x, dims, "permute")


def _permute(x: Tensor, dims: Sequence[Any], op: str) -> Tensor:
    normalized = [int(d) % x.ndim if isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                  and -x.ndim <= d < x.ndim else None for d in dims]
    if x.ndim == 0 and tuple(dims) in ((), (0,), (-1,)):
        normalized = []
    if len(normalized) != x.ndim or None in normalized or (
            sorted(normalized) != list(range(x.ndim))):  # type: ignore[type-var]  # (no None by then)
        raise ValueError(f"{op}: dims {tuple(dims)} are not a permutation of the {x.ndim} dims of a tensor of "
                         f"shape {x.shape}; to swap two dims use transpose(dim0, dim1)")
    if normalized == list(range(x.ndim)):
        return x
    return share_version(apply1(Transpose, x, tuple(normalized)), x)


def swapaxes(x: TensorLike, axis1: int, axis2: int) -> Tensor:
    """Swap two axes (PyTorch's ``transpose(dim0, dim1)``, ``swapaxes``, ``swapdims``)."""
    x = _as_tensor(x)
    if x.ndim == 0:
        _normalize_axis(axis1, 0, "swapaxes"), _normalize_axis(axis2, 0, "swapaxes")
        return x
    a, b = (_normalize_axis(axis, x.ndim, "swapaxes")[0] for axis in (axis1, axis2))
    order = list(range(x.ndim))
    order[a], order[b] = order[b], order[a]
    return share_version(apply1(Transpose, x, tuple(order)), x)


swapdims = swapaxes


def squeeze(x: TensorLike, dim: Dims = None, **aliases: Any) -> Tensor:
    """Remove dims of size 1: all of them, or those of ``dim`` (an int or a tuple) that have size
    1; a dim of another size is left as it is (PyTorch; numpy's ``np.squeeze`` raises)."""
    x = _as_tensor(x)
    if aliases:     # axis= (numpy's name, which PyTorch accepts too)
        dim = _dims(x, dim, False, aliases, "squeeze")[0]
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        axes = _normalize_axis(dim, x.ndim, "squeeze") or ()
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes or n != 1)
    return reshape(x, shape)


def unsqueeze(x: TensorLike, dim: int | tuple[int, ...] | list[int] | None = None, **aliases: Any) -> Tensor:
    """Insert a dim of size 1 at ``dim`` (``axis=`` accepted; a tuple inserts several, as numpy's
    ``expand_dims``)."""
    x = _as_tensor(x)
    axis = _one_of(dim, aliases, "unsqueeze", "dim")
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ndim = x.ndim + len(axes)
    axes = _normalize_axis(axes, ndim, "unsqueeze")
    shape = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(shape) for i in range(ndim)))


expand_dims = unsqueeze


def broadcast_to(x: TensorLike, shape: ShapeLike) -> Tensor:
    """Broadcast to ``shape`` (a read-only view); the gradient is summed back."""
    x = _as_tensor(x)
    shape = _shape_arg((shape,) if isinstance(shape, (tuple, list)) else (shape,), "broadcast_to")
    if shape == x.shape:
        return x
    try:
        np.broadcast_shapes(x.shape, shape)
        if np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: shape {x.shape} cannot be broadcast to {shape}") from None
    return share_version(BroadcastTo.apply(x, shape), x)


def _one_of(dim: Any, aliases: dict[str, Any], op: str, name: str) -> Any:
    """The required dim of ``op``, given as ``dim`` or (numpy's name) ``axis=``."""
    axis = aliases.pop("axis", None) if aliases else None
    if aliases:
        raise TypeError(f"{op}() got an unexpected keyword argument {next(iter(aliases))!r}")
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: give the dim once, as {name}= or axis=, not both")
        return axis
    if dim is None:
        raise TypeError(f"{op}() missing required argument: '{name}'")
    return dim


def flatten(x: TensorLike, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (all of them by default); a 0-d tensor becomes
    1-d."""
    x = _as_tensor(x)
    if x.ndim == 0:
        _normalize_axis(start_dim, 0, "flatten"), _normalize_axis(end_dim, 0, "flatten")
        return reshape(x, (1,))
    start, end = (_normalize_axis(a, x.ndim, "flatten")[0] for a in (start_dim, end_dim))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
    return reshape(x, shape)


# ---------------------------------------------------------------------------------------------
# the rest of the elementwise functions


def _as_tensor(x: TensorLike) -> Tensor:
    return x if isinstance(x, Tensor) else _wrap(_to_array(x, op="autodiff"))


tanh: Callable[[TensorLike], Tensor] = unary_op(Tanh, "tanh", """Hyperbolic tangent, elementwise.""")


sigmoid: Callable[[TensorLike], Tensor] = unary_op(
    Sigmoid, "sigmoid", """1 / (1 + e^-x), elementwise, stable for large |x|.""")


relu: Callable[[TensorLike], Tensor] = unary_op(Relu, "relu", """max(x, 0), elementwise (derivative 0 at 0).""")


# ---------------------------------------------------------------------------------------------
# elementwise ops declared as table rows


class Row(NamedTuple):
    """One elementwise op of the table (see ``ELEMENTWISE``).

    ``backward`` is the op's gradient: a function of ``g`` (the gradient of the output) and of
    the values it needs, named by its parameters: ``x`` (the input) and ``out`` (the output) for
    one input, ``a``, ``b`` and ``out`` for two, where it returns a pair. Only what it names is
    saved for the backward. It is written with operations that run on arrays and on Tensors
    alike (arithmetic, ``np`` ufuncs, ``np.where``), so it serves higher-order gradients too.
    ``kinks``: inputs where the derivative is a choice (|x| at 0): the value there is PyTorch's,
    and the tests check it. ``domain``: where the tests draw inputs. ``hint``: what
    ``ad.detect_anomaly`` adds when the gradient is not finite."""

    name: str
    forward: Callable[..., Any]     # arrays in, an array out (a numpy ufunc, usually)
    backward: Callable[..., Any]    # (g, x and/or out) -> gradient; (g, a, b and/or out) -> pair
    doc: str
    kinks: tuple[float, ...] = ()
    domain: tuple[float, float] = (-3.0, 3.0)
    hint: str = ""


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _no_bool(name: str, x: np.ndarray) -> None:
    if getattr(x, "dtype", None) == np.bool_:     # PyTorch has no bool kernel for these (numpy would answer)
        raise NotImplementedError(f"{name}: not implemented for bool tensors (as in PyTorch); convert "
                                  "first with .long() or .float()")


def _integers_kept(name: str, rounding: np.ufunc) -> Callable[[np.ndarray], np.ndarray]:
    """A rounding ufunc that leaves integer arrays as they are (PyTorch's floor of an int64 tensor
    is that tensor; numpy's would be float64) and refuses bool ones (PyTorch)."""
    def run(x: np.ndarray) -> np.ndarray:
        if x.dtype.kind in "iub":
            _no_bool(name, x)
            return x.copy()
        return rounding(x)
    return run


def _abs(x: np.ndarray) -> np.ndarray:
    _no_bool("abs", x)
    return np.abs(x)


def _frac(x: np.ndarray) -> np.ndarray:
    if np.asarray(x).dtype.kind != "f":
        raise NotImplementedError(f"frac: not implemented for {np.asarray(x).dtype} tensors (as in PyTorch: the "
                                  "fraction of an integer is 0); convert first with .float()")
    return x - np.trunc(x)


def _square(x: np.ndarray) -> np.ndarray:
    """x * x; a bool tensor squares to int64 (PyTorch; numpy's would be int8)."""
    return x.astype(np.int64) if getattr(x, "dtype", None) == np.bool_ else np.square(x)


# what the compiler's lowering writes for these rows (it lowers floating graphs, where they are the ufuncs)
_abs.ufunc = np.abs  # type: ignore[attr-defined]
_square.ufunc = np.square  # type: ignore[attr-defined]


def _sign(x: np.ndarray) -> np.ndarray:
    """PyTorch's sign: numpy's, except 0 (not nan) at nan; a bool tensor is its own sign."""
    if x.dtype.kind == "b":
        return x.copy()
    return np.where(np.isnan(x), 0, np.sign(x)) if x.dtype.kind == "f" else np.sign(x)


def _xlogy(a: _Grad, b: _Grad) -> _Grad:
    """a * log(b), 0 where a == 0 unless b is nan (PyTorch's xlogy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((a == 0) & ~np.isnan(b), 0, a * np.log(b))


def _zero(g: _Grad) -> _Grad:
    """The gradient of a piecewise-constant op (floor, sign...): zeros, as PyTorch's."""
    return g * 0


def _float_result(compute: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """An array function computed in float64 (autodiff.special), returned in x's floating dtype
    (float64 for integers: the engine then computes them in the default dtype, as PyTorch)."""
    def run(x: np.ndarray) -> np.ndarray:
        return compute(x).astype(x.dtype if x.dtype.kind == "f" else np.float64, copy=False)
    return run


def _on_graph_or_array(name: str, compute: Callable[[np.ndarray], np.ndarray]) -> Callable[[_Grad], _Grad]:
    """A special function inside a backward: the ``ad.`` op ``name`` on a Tensor (a higher-order
    gradient), else ``compute`` on the array, in its dtype."""
    in_dtype = _float_result(compute)

    def run(x: _Grad) -> _Grad:
        return globals()[name](x) if isinstance(x, Tensor) else in_dtype(x)
    return run


def _polygamma_of(n: int) -> Callable[[_Grad], _Grad]:
    """polygamma(n, .) inside a backward (autodiff.pointwise.polygamma on a Tensor)."""
    in_dtype = _float_result(lambda x: _special.polygamma(n, x))

    def run(x: _Grad) -> _Grad:
        if isinstance(x, Tensor):
            from .pointwise import Polygamma      # (pointwise imports this module)
            return Polygamma.apply(x, n)
        return in_dtype(x)
    return run


_digamma_of = _on_graph_or_array("digamma", _special.digamma)
_trigamma_of = _polygamma_of(1)


def _i1_of(x: _Grad) -> _Grad:
    """i1 (i0's derivative) inside a backward: autodiff.pointwise.I1 on a Tensor."""
    if isinstance(x, Tensor):
        from .pointwise import I1
        return I1.apply(x)
    return _float_result(_special.i1)(x)


def _logit(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x / (1 - x))


def _zeros(g: _Grad) -> _Grad:
    """Zeros of g's shape and dtype, also where g is nan or inf (an input that gets no gradient)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(g), g * 0, 0)


def _logit_slope(g: _Grad, x: _Grad) -> _Grad:
    """g logit'(x) = g / (x (1 - x)): g * inf at 0 and 1, nan outside [0, 1] (PyTorch's)."""
    ends = (x == 0) | (x == 1)
    inside = g / np.where(ends, 1, x * (1 - x))
    with np.errstate(invalid="ignore"):     # (0 * inf: nan, as PyTorch's)
        return np.where((x < 0) | (x > 1), math.nan, np.where(ends, g * math.inf, inside))


def _sinc_slope(x: _Grad) -> _Grad:
    """sinc'(x) = (cos(pi x) pi x - sin(pi x)) / (pi x^2), 0 at 0 (PyTorch)."""
    scaled = np.where(x == 0, 1, x) * math.pi
    return np.where(x == 0, 0, (np.cos(scaled) * scaled - np.sin(scaled)) / (scaled * scaled) * math.pi)


def _copysign_ratio(a: _Grad, out: _Grad) -> _Grad:
    """d copysign(a, b) / da: +-1 (out / a), 0 where a = 0 (PyTorch)."""
    with np.errstate(invalid="ignore"):     # (inf / inf where a is inf: nan, as PyTorch's)
        return np.where(a == 0, 0, out / np.where(a == 0, 1, a))


def _nextafter(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    for operand in (a, b):
        if np.asarray(operand).dtype.kind != "f":
            raise TypeError(f"nextafter: defined for floating tensors only (as PyTorch), not "
                            f"{np.asarray(operand).dtype}; convert with .double() or .float()")
    return np.nextafter(a, b)


ELEMENTWISE = (
    #   name     forward      backward                                 docstring
    Row("neg", np.negative, lambda g: -g, "-x, elementwise."),
    Row("exp", np.exp, lambda g, out: g * out, "e ** x, elementwise."),
    Row("log", np.log, lambda g, x: g / x, "Natural logarithm, elementwise.", domain=(0.1, 5.0),
        hint="log'(x) = 1/x is infinite at x = 0 (and log is nan for x < 0)."),
    Row("log1p", np.log1p, lambda g, x: g / (1 + x), "log(1 + x), elementwise, accurate for small x.",
        domain=(-0.9, 5.0), hint="log1p'(x) = 1/(1 + x) is infinite at x = -1 (and nan below)."),
    Row("sqrt", np.sqrt, lambda g, out: g / (2.0 * out), "Square root, elementwise.", domain=(0.1, 5.0),
        hint="sqrt'(x) = 1/(2 sqrt(x)) is infinite at x = 0 (and sqrt is nan for x < 0)."),
    Row("abs", _abs, lambda g, x: g * _sign(x), "|x|, elementwise (derivative 0 at 0, and at nan as "
        "PyTorch).", kinks=(0.0,)),
    Row("sin", np.sin, lambda g, x: g * np.cos(x), "Sine, elementwise."),
    Row("cos", np.cos, lambda g, x: g * -np.sin(x), "Cosine, elementwise."),
    Row("tan", np.tan, lambda g, out: g * (1 + out * out), "Tangent, elementwise.", domain=(-1.4, 1.4)),
    Row("asin", np.arcsin, lambda g, x: g / np.sqrt(1 - x * x), "Inverse sine, elementwise.",
        domain=(-0.95, 0.95), hint="asin'(x) = 1/sqrt(1 - x^2) is infinite at x = +-1."),
    Row("acos", np.arccos, lambda g, x: -g / np.sqrt(1 - x * x), "Inverse cosine, elementwise.",
        domain=(-0.95, 0.95), hint="acos'(x) = -1/sqrt(1 - x^2) is infinite at x = +-1."),
    Row("atan", np.arctan, lambda g, x: g / (1 + x * x), "Inverse tangent, elementwise."),
    Row("sinh", np.sinh, lambda g, x: g * np.cosh(x), "Hyperbolic sine, elementwise."),
    Row("cosh", np.cosh, lambda g, x: g * np.sinh(x), "Hyperbolic cosine, elementwise."),
    Row("asinh", np.arcsinh, lambda g, x: g / np.sqrt(x * x + 1), "Inverse hyperbolic sine, elementwise."),
    Row("acosh", np.arccosh, lambda g, x: g / np.sqrt(x * x - 1), "Inverse hyperbolic cosine (x >= 1).",
        domain=(1.1, 5.0), hint="acosh'(x) = 1/sqrt(x^2 - 1) is infinite at x = 1."),
    Row("atanh", np.arctanh, lambda g, x: g / (1 - x * x), "Inverse hyperbolic tangent (|x| < 1).",
        domain=(-0.95, 0.95), hint="atanh'(x) = 1/(1 - x^2) is infinite at x = +-1."),
    Row("log2", np.log2, lambda g, x: g / (x * _LN2), "Base-2 logarithm, elementwise.", domain=(0.1, 5.0),
        hint="log2'(x) = 1/(x ln 2) is infinite at x = 0."),
    Row("log10", np.log10, lambda g, x: g / (x * _LN10), "Base-10 logarithm, elementwise.",
        domain=(0.1, 5.0), hint="log10'(x) = 1/(x ln 10) is infinite at x = 0."),
    Row("exp2", np.exp2, lambda g, out: g * out * _LN2, "2 ** x, elementwise."),
    Row("expm1", np.expm1, lambda g, out: g * (out + 1), "e ** x - 1, elementwise, accurate for small x."),
    Row("rsqrt", lambda x: 1 / np.sqrt(x), lambda g, out: -0.5 * g * out * out * out,
        "1 / sqrt(x), elementwise.", domain=(0.1, 5.0), hint="rsqrt'(x) = -x^(-3/2)/2 is infinite at x = 0."),
    Row("reciprocal", lambda x: 1 / x, lambda g, out: -g * out * out, "1 / x, elementwise.",
        domain=(0.2, 3.0), hint="reciprocal'(x) = -1/x^2 is infinite at x = 0."),
    Row("square", _square, lambda g, x: g * 2 * x, "x * x, elementwise."),
    Row("sign", _sign, _zero, "-1, 0 or 1 by the sign of x (0 at nan, as PyTorch); gradient 0.", kinks=(0.0,)),
    Row("floor", _integers_kept("floor", np.floor), _zero, "Largest integer <= x; gradient 0 (PyTorch).", kinks=(1.0,)),
    Row("ceil", _integers_kept("ceil", np.ceil), _zero, "Smallest integer >= x; gradient 0 (PyTorch).", kinks=(1.0,)),
    Row("round", _integers_kept("round", np.rint), _zero, "Nearest integer, halves to even (PyTorch, numpy's "
        "rint); gradient 0. ``ad.round(x, decimals=n)`` rounds to n decimals.", kinks=(0.5,)),
    Row("trunc", _integers_kept("trunc", np.trunc), _zero, "x rounded toward 0; gradient 0 (PyTorch).", kinks=(1.0,)),
    Row("fix", _integers_kept("fix", np.trunc), _zero, "PyTorch's alias of trunc.", kinks=(1.0,)),
    Row("frac", _frac, lambda g: g, "x - trunc(x) (sign of x); gradient 1.",
        kinks=(1.0,)),
    Row("erf", _special.erf, lambda g, x: g * (_TWO_OVER_SQRT_PI * np.exp(-(x * x))),
        "The error function, elementwise (scipy's when installed, else Cody's; float64-accurate)."),
    Row("erfc", _special.erfc, lambda g, x: g * (-_TWO_OVER_SQRT_PI * np.exp(-(x * x))),
        "1 - erf(x), elementwise, accurate for large x."),
    Row("logit", _logit, lambda g, x: _logit_slope(g, x),
        "log(x / (1 - x)), elementwise (-inf at 0, inf at 1, nan outside [0, 1]; so is its "
        "gradient outside). ``ad.logit(x, eps)`` clamps x to [eps, 1 - eps] first.", domain=(0.1, 0.9),
        hint="logit'(x) = 1/(x (1 - x)) is infinite at x = 0 and 1 (nan outside [0, 1])."),
    Row("deg2rad", np.deg2rad, lambda g: g * (math.pi / 180), "x * pi / 180, elementwise."),
    Row("rad2deg", np.rad2deg, lambda g: g * (180 / math.pi), "x * 180 / pi, elementwise."),
    Row("sinc", np.sinc, lambda g, x: g * _sinc_slope(x), "sin(pi x) / (pi x), elementwise (1 at 0)."),
    Row("lgamma", _float_result(_special.lgamma), lambda g, x: g * _digamma_of(x),
        "log |Gamma(x)|, elementwise (inf at 0 and the negative integers).", domain=(0.2, 6.0),
        hint="lgamma'(x) = digamma(x) is infinite at 0 and the negative integers."),
    Row("digamma", _float_result(_special.digamma), lambda g, x: g * _trigamma_of(x),
        "d/dx lgamma(x), elementwise (-inf at +0, inf at -0, nan at the negative integers, as "
        "PyTorch).", domain=(0.2, 6.0), hint="digamma'(x) = polygamma(1, x) is infinite at 0 and the "
        "negative integers."),
    Row("erfinv", _float_result(_special.erfinv), lambda g, out: g * (math.sqrt(math.pi) / 2 * np.exp(out * out)),
        "The inverse of erf on [-1, 1] (+-inf at +-1, nan outside), elementwise.", domain=(-0.9, 0.9),
        hint="erfinv'(y) = sqrt(pi)/2 exp(erfinv(y)^2) is infinite at y = +-1."),
    Row("i0", _float_result(_special.i0), lambda g, x: g * _i1_of(x),
        "The modified Bessel function of the first kind of order 0, elementwise."),
    # two inputs: each gradient has the broadcast shape (the engine sums it back)
    Row("atan2", np.arctan2, lambda g, a, b: _atan2_grads(g, a, b), "The angle of (b, a): atan(a / b) "
        "in the right quadrant, elementwise. At a = b = 0 the gradients are 0 (PyTorch).", kinks=(0.0,)),
    Row("hypot", np.hypot, lambda g, a, b, out: (g * a / out, g * b / out),
        "sqrt(a^2 + b^2), elementwise, without overflow (gradient nan at 0, 0 as PyTorch)."),
    Row("logaddexp", np.logaddexp, lambda g, a, b: (g / (1 + np.exp(b - a)), g / (1 + np.exp(a - b))),
        "log(exp(a) + exp(b)), elementwise, computed stably."),
    Row("logaddexp2", np.logaddexp2, lambda g, a, b: (g / (1 + np.exp2(b - a)), g / (1 + np.exp2(a - b))),
        "log2(2^a + 2^b), elementwise, computed stably."),
    Row("xlogy", _xlogy, lambda g, a, b: (np.where((a == 0) & (b <= 0), 0, _xlogy(g, b)), g * a / b),
        "a * log(b), and 0 where a = 0 (unless b is nan), elementwise.", domain=(0.1, 3.0)),
    Row("fmod", np.fmod, lambda g, a, b: (g, -g * np.trunc(a / b)),
        "C's remainder of a / b, with the sign of a (PyTorch's fmod), elementwise.", domain=(0.3, 3.0)),
    Row("remainder", np.remainder, lambda g, a, b: (g, -g * np.floor_divide(_array(a), _array(b))),
        "Python's a % b, with the sign of b (PyTorch's remainder), elementwise.", domain=(0.3, 3.0)),
    Row("copysign", np.copysign, lambda g, a, b, out: (g * _copysign_ratio(a, out), _zeros(g)),
        "|a| with the sign of b (of -0.0 too), elementwise; gradient 0 for b, and for a at 0."),
    Row("nextafter", _nextafter, lambda g, a, b: (np.where(a == b, 0, g), _zeros(g)),
        "The next floating-point value after a towards b, elementwise (floating tensors only); "
        "gradient 1 for a (0 where a == b) and 0 for b, as PyTorch's."),
)


class FloorDivide(Function):
    """floor(a / b), elementwise (``a // b``). It has no derivative (nor has PyTorch's): its
    backward raises, so a loss that goes through it fails loudly rather than losing a term."""

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any) -> np.ndarray:      # (arrays or numbers)
        return np.floor_divide(a, b)

    @staticmethod
    def backward(ctx: Any, grad: _Grad) -> Any:
        raise RuntimeError("floor_divide has no derivative (nor has PyTorch's); detach its operands, or use a "
                           "differentiable form such as floor(a / b) if a zero gradient is meant")


# elementwise ops without a derivative: numpy on the operands' arrays, bool or integer tensors off
# the graph (comparisons, predicates, logical and bitwise ops): (name, forward, docstring)
OFF_GRAPH = (
    ("eq", np.equal, "a == b, elementwise (bool)."), ("ne", np.not_equal, "a != b (bool)."),
    ("lt", np.less, "a < b (bool)."), ("le", np.less_equal, "a <= b (bool)."),
    ("gt", np.greater, "a > b (bool)."), ("ge", np.greater_equal, "a >= b (bool)."),
    ("logical_and", np.logical_and, "a and b, elementwise (bool)."),
    ("logical_or", np.logical_or, "a or b, elementwise (bool)."),
    ("logical_xor", np.logical_xor, "a xor b, elementwise (bool)."),
    ("logical_not", np.logical_not, "not x, elementwise (bool)."),
    ("bitwise_and", np.bitwise_and, "a & b on integer or bool tensors."),
    ("bitwise_or", np.bitwise_or, "a | b on integer or bool tensors."),
    ("bitwise_xor", np.bitwise_xor, "a ^ b on integer or bool tensors."),
    ("bitwise_not", np.invert, "~x on integer or bool tensors."),
    ("bitwise_left_shift", np.left_shift, "a << b on integer tensors."),
    ("bitwise_right_shift", np.right_shift, "a >> b on integer tensors."),
    ("isnan", np.isnan, "x is nan (bool)."), ("isinf", np.isinf, "x is +-inf (bool)."),
    ("isfinite", np.isfinite, "x is neither inf nor nan (bool)."),
    ("isposinf", np.isposinf, "x is +inf (bool)."), ("isneginf", np.isneginf, "x is -inf (bool)."),
    ("signbit", np.signbit, "The sign bit of x is set (True for -0.0), bool."),
    ("isclose", np.isclose, "|a - b| <= atol + rtol |b| (``rtol=1e-05, atol=1e-08, equal_nan=False``), "
                            "elementwise (bool)."),
)

# PyTorch's other names of the same ops
ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arctan2": "atan2", "arcsinh": "asinh",
           "arccosh": "acosh", "arctanh": "atanh", "absolute": "abs", "negative": "neg",
           "greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le", "not_equal": "ne",
           "sgn": "sign"}      # (sgn differs from sign for complex tensors only)


def _atan2_grads(g: _Grad, a: _Grad, b: _Grad) -> tuple[_Grad, _Grad]:
    squares = a * a + b * b
    # at the origin both numerators are 0: dividing them by 1 gives PyTorch's zeros there
    scale = g / np.where(squares == 0, 1, squares)
    return scale * b, -scale * a


def _elementwise_class(row: Row) -> type[Elementwise]:
    """The Function class of a table row: forward saves what ``row.backward`` names."""
    takes = tuple(inspect.signature(row.backward).parameters)[1:]
    run, gradient = row.forward, row.backward
    if takes == ():
        def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
            return run(x)

        def backward(ctx: Any, grad: _Grad) -> Any:
            return gradient(grad)
    elif takes == ("x",) or takes == ("out",):
        keep_output = takes == ("out",)

        def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
            out = run(x)
            ctx.saved_tensors = (out if keep_output else x,)
            return out

        def backward(ctx: Any, grad: _Grad) -> Any:
            (value,) = ctx.saved_tensors
            return gradient(grad, value)
    elif takes == ("x", "out"):
        def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
            out = run(x)
            ctx.saved_tensors = (x, out)
            return out

        def backward(ctx: Any, grad: _Grad) -> Any:
            return gradient(grad, *ctx.saved_tensors)
    elif takes in (("a", "b"), ("a", "b", "out")):
        keep_output = "out" in takes

        def forward(ctx: Any, a: Any, b: Any) -> np.ndarray:  # type: ignore[misc]  # (a two-input row's)
            out = run(a, b)
            ctx.saved_tensors = (a, b, out) if keep_output else (a, b)
            return out

        def backward(ctx: Any, grad: _Grad) -> Any:
            return gradient(grad, *ctx.saved_tensors)
    else:
        raise TypeError(f"elementwise row {row.name!r}: backward's parameters must be (g), (g, x), "
                        f"(g, out), (g, x, out), (g, a, b) or (g, a, b, out), not {('g',) + takes}")
    name = "".join(part.capitalize() for part in row.name.split("_"))
    namespace = {"__doc__": row.doc, "__module__": __name__, "__qualname__": name,
                 "anomaly_hint": row.hint, "row": row}
    cls: type[Elementwise] = type(name, (Elementwise,), namespace)
    # code objects of the class's own (see Function.__init_subclass__)
    cls.forward = staticmethod(_copy(forward, cls))  # type: ignore[method-assign]
    cls.backward = staticmethod(_copy(backward, cls))  # type: ignore[method-assign]
    return cls


def _declare(row: Row) -> Callable[..., Tensor]:
    """Make the class and the ``ad.`` function of a table row (also the Tensor method: see
    ELEMENTWISE_METHODS)."""
    cls = _elementwise_class(row)
    two_inputs = "a" in inspect.signature(row.backward).parameters
    op = (binary_op if two_inputs else unary_op)(cls, row.name, row.doc)
    globals()[cls.__name__] = cls
    globals()[row.name] = op
    return op


def _off_graph(name: str, run: Callable[..., Any], doc: str) -> Callable[..., Tensor]:
    """The function of an OFF_GRAPH entry: numpy on the operands' arrays, a tensor off the graph."""
    def op(*operands: TensorLike, **options: Any) -> Tensor:
        return _wrap(np.asarray(run(*(_array(x) for x in operands), **options)))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    globals()[name] = op
    return op


# the Tensor methods that are the elementwise functions themselves (attached in tensor.py)
floor_divide = binary_op(FloorDivide, "floor_divide", FloorDivide.__doc__)
ELEMENTWISE_METHODS: dict[str, Callable[..., Tensor]] = {
    "tanh": tanh, "sigmoid": sigmoid, "relu": relu, "floor_divide": floor_divide,
    **{row.name: _declare(row) for row in ELEMENTWISE},
    **{name: _off_graph(name, run, doc) for name, run, doc in OFF_GRAPH}}
ELEMENTWISE_METHODS.update({alias: ELEMENTWISE_METHODS[name] for alias, name in ALIASES.items()})
globals().update({alias: ELEMENTWISE_METHODS[alias] for alias in ALIASES})

if TYPE_CHECKING:
    # The functions and classes above that the table's rows put into this module (through
    # globals()), declared for type checkers (at run time this block does not exist;
    # tests/test_typing_declarations.py checks it against what the rows make: the same names, and
    # signatures that the made functions accept).
    # ELEMENTWISE: one input (unary_op: x) or two (binary_op: a, b), a Tensor out
    def neg(x: TensorLike) -> Tensor: ...
    def exp(x: TensorLike) -> Tensor: ...
    def log(x: TensorLike) -> Tensor: ...
    def log1p(x: TensorLike) -> Tensor: ...
    def sqrt(x: TensorLike) -> Tensor: ...
    def abs(x: TensorLike) -> Tensor: ...
    def sin(x: TensorLike) -> Tensor: ...
    def cos(x: TensorLike) -> Tensor: ...
    def tan(x: TensorLike) -> Tensor: ...
    def asin(x: TensorLike) -> Tensor: ...
    def acos(x: TensorLike) -> Tensor: ...
    def atan(x: TensorLike) -> Tensor: ...
    def sinh(x: TensorLike) -> Tensor: ...
    def cosh(x: TensorLike) -> Tensor: ...
    def asinh(x: TensorLike) -> Tensor: ...
    def acosh(x: TensorLike) -> Tensor: ...
    def atanh(x: TensorLike) -> Tensor: ...
    def log2(x: TensorLike) -> Tensor: ...
    def log10(x: TensorLike) -> Tensor: ...
    def exp2(x: TensorLike) -> Tensor: ...
    def expm1(x: TensorLike) -> Tensor: ...
    def rsqrt(x: TensorLike) -> Tensor: ...
    def reciprocal(x: TensorLike) -> Tensor: ...
    def square(x: TensorLike) -> Tensor: ...
    def sign(x: TensorLike) -> Tensor: ...
    def floor(x: TensorLike) -> Tensor: ...
    def ceil(x: TensorLike) -> Tensor: ...
    def round(x: TensorLike) -> Tensor: ...
    def trunc(x: TensorLike) -> Tensor: ...
    def fix(x: TensorLike) -> Tensor: ...
    def frac(x: TensorLike) -> Tensor: ...
    def erf(x: TensorLike) -> Tensor: ...
    def erfc(x: TensorLike) -> Tensor: ...
    def logit(x: TensorLike) -> Tensor: ...
    def deg2rad(x: TensorLike) -> Tensor: ...
    def rad2deg(x: TensorLike) -> Tensor: ...
    def sinc(x: TensorLike) -> Tensor: ...
    def lgamma(x: TensorLike) -> Tensor: ...
    def digamma(x: TensorLike) -> Tensor: ...
    def erfinv(x: TensorLike) -> Tensor: ...
    def i0(x: TensorLike) -> Tensor: ...
    def atan2(a: TensorLike, b: TensorLike) -> Tensor: ...
    def hypot(a: TensorLike, b: TensorLike) -> Tensor: ...
    def logaddexp(a: TensorLike, b: TensorLike) -> Tensor: ...
    def logaddexp2(a: TensorLike, b: TensorLike) -> Tensor: ...
    def xlogy(a: TensorLike, b: TensorLike) -> Tensor: ...
    def fmod(a: TensorLike, b: TensorLike) -> Tensor: ...
    def remainder(a: TensorLike, b: TensorLike) -> Tensor: ...
    def copysign(a: TensorLike, b: TensorLike) -> Tensor: ...
    def nextafter(a: TensorLike, b: TensorLike) -> Tensor: ...
    # their classes
    Neg: type[Elementwise]
    Exp: type[Elementwise]
    Log: type[Elementwise]
    Log1p: type[Elementwise]
    Sqrt: type[Elementwise]
    Abs: type[Elementwise]
    Sin: type[Elementwise]
    Cos: type[Elementwise]
    Tan: type[Elementwise]
    Asin: type[Elementwise]
    Acos: type[Elementwise]
    Atan: type[Elementwise]
    Sinh: type[Elementwise]
    Cosh: type[Elementwise]
    Asinh: type[Elementwise]
    Acosh: type[Elementwise]
    Atanh: type[Elementwise]
    Log2: type[Elementwise]
    Log10: type[Elementwise]
    Exp2: type[Elementwise]
    Expm1: type[Elementwise]
    Rsqrt: type[Elementwise]
    Reciprocal: type[Elementwise]
    Square: type[Elementwise]
    Sign: type[Elementwise]
    Floor: type[Elementwise]
    Ceil: type[Elementwise]
    Round: type[Elementwise]
    Trunc: type[Elementwise]
    Fix: type[Elementwise]
    Frac: type[Elementwise]
    Erf: type[Elementwise]
    Erfc: type[Elementwise]
    Logit: type[Elementwise]
    Deg2rad: type[Elementwise]
    Rad2deg: type[Elementwise]
    Sinc: type[Elementwise]
    Lgamma: type[Elementwise]
    Digamma: type[Elementwise]
    Erfinv: type[Elementwise]
    I0: type[Elementwise]
    Atan2: type[Elementwise]
    Hypot: type[Elementwise]
    Logaddexp: type[Elementwise]
    Logaddexp2: type[Elementwise]
    Xlogy: type[Elementwise]
    Fmod: type[Elementwise]
    Remainder: type[Elementwise]
    Copysign: type[Elementwise]
    Nextafter: type[Elementwise]
    # OFF_GRAPH: numpy on the operands' arrays (positional operands), a bool or integer Tensor out
    def eq(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def ne(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def lt(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def le(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def gt(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def ge(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def logical_and(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def logical_or(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def logical_xor(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def logical_not(x: TensorLike, /) -> Tensor: ...
    def bitwise_and(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def bitwise_or(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def bitwise_xor(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def bitwise_not(x: TensorLike, /) -> Tensor: ...
    def bitwise_left_shift(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def bitwise_right_shift(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def isnan(x: TensorLike, /) -> Tensor: ...
    def isinf(x: TensorLike, /) -> Tensor: ...
    def isfinite(x: TensorLike, /) -> Tensor: ...
    def isposinf(x: TensorLike, /) -> Tensor: ...
    def isneginf(x: TensorLike, /) -> Tensor: ...
    def signbit(x: TensorLike, /) -> Tensor: ...
    def isclose(a: TensorLike, b: TensorLike, /, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Tensor: ...
    # ALIASES: PyTorch's other names of the same ops
    def arcsin(x: TensorLike) -> Tensor: ...
    def arccos(x: TensorLike) -> Tensor: ...
    def arctan(x: TensorLike) -> Tensor: ...
    def arctan2(a: TensorLike, b: TensorLike) -> Tensor: ...
    def arcsinh(x: TensorLike) -> Tensor: ...
    def arccosh(x: TensorLike) -> Tensor: ...
    def arctanh(x: TensorLike) -> Tensor: ...
    def absolute(x: TensorLike) -> Tensor: ...
    def negative(x: TensorLike) -> Tensor: ...
    def greater(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def greater_equal(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def less(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def less_equal(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def not_equal(a: TensorLike, b: TensorLike, /) -> Tensor: ...
    def sgn(x: TensorLike) -> Tensor: ...


def maximum(a: TensorLike, b: TensorLike) -> Tensor:
    """Elementwise maximum of two broadcastable operands (a tie splits the gradient)."""
    return apply2(Maximum, a, b)


def minimum(a: TensorLike, b: TensorLike) -> Tensor:
    """Elementwise minimum of two broadcastable operands (a tie splits the gradient)."""
    return apply2(Minimum, a, b)


def clip(x: TensorLike, min: TensorLike | None = None, max: TensorLike | None = None) -> Tensor:
    """Limit values to [min, max] (either may be None); gradient passes at the bounds. An integer
    tensor with a float bound becomes the default float dtype (PyTorch)."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    data = _array(x)
    if isinstance(data, np.ndarray) and data.dtype.kind != "f":
        dtype = result_type(data, *(bound for bound in (min, max) if bound is not None))
        if dtype != data.dtype:
            x = _in_dtype(_as_tensor(x), dtype)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # tensor bounds (PyTorch's clamp(x, min=t)): each element's gradient goes to what was chosen,
        # to x from min to max inclusive
        out = x
        if min is not None:
            out = where(_array(out) >= _array(min), out, min)
        if max is not None:
            out = where(_array(out) <= _array(max), out, max)
        return out  # type: ignore[return-value]  # (min or max is a Tensor: where ran)
    return Clip.apply(x, _array(min), _array(max))


clamp = clip


add = binary_op(Add, "add", "a + b, elementwise (broadcasting).")


sub = binary_op(Sub, "sub", "a - b, elementwise (broadcasting).")


mul = binary_op(Mul, "mul", "a * b, elementwise (broadcasting).", same_operand=unary_op(MulSelf, "mul"))


div = binary_op(Div, "div", "a / b, elementwise (broadcasting).")


# the Tensor operators that are these functions themselves (attached in tensor.py)
OPERATORS: dict[str, Callable[..., Tensor]] = {
    "__add__": add, "__sub__": sub, "__mul__": mul, "__truediv__": div, "__neg__": neg,
    "__mod__": ELEMENTWISE_METHODS["remainder"], "__floordiv__": floor_divide}


# ---------------------------------------------------------------------------------------------
# numpy interoperability: ufuncs and array functions on Tensors stay on the graph or say why not

_UFUNCS: dict[np.ufunc, Callable[..., Any]] = {
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.power: pow,
    np.positive: lambda x: x, np.tanh: tanh, np.maximum: maximum, np.minimum: minimum,
    np.matmul: matmul, np.square: lambda x: pow(x, 2), np.abs: abs,
    **{row.forward: globals()[row.name] for row in ELEMENTWISE if isinstance(row.forward, np.ufunc)},
    np.floor_divide: floor_divide,
}
# ufuncs whose result carries no gradient (piecewise constant or not floating): computed on the data
_CONSTANT_UFUNCS = {
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal, np.sign,
    np.isnan, np.isinf, np.isfinite, np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.floor, np.ceil, np.rint, np.trunc, np.signbit, np.bitwise_and, np.bitwise_or, np.invert,
}


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``np.<ufunc>(...)`` on tensors: numpy's meaning (its dtypes, e.g. float64 for integers),
    on the graph. With ``out=`` a plain array (``p.data -= lr * p.grad``), numpy computes into
    it, unless that would write a result that needs a gradient around the graph."""
    name = f"np.{ufunc.__name__}"
    if method != "__call__":
        raise TypeError(f"{name}.{method} is not supported on autodiff tensors; use the tensor's methods "
                        "(e.g. t.sum(dim), t.amax(dim))")
    if kwargs.get("out") is not None:
        return _ufunc_into(ufunc, name, inputs, kwargs)
    if ufunc in _CONSTANT_UFUNCS:
        arrays = [_array(x) for x in inputs]
        return _wrap(np.asarray(ufunc(*arrays, **kwargs)))
    op = _UFUNCS.get(ufunc)
    if op is None or kwargs:
        raise TypeError(f"{name} has no autodiff op, so it would silently cut the graph; use an autodiff "
                        "op instead (ad.exp, ad.log, ad.sqrt, ad.tanh, ad.maximum, ...), or work on "
                        "t.detach().numpy() if you do not need its gradient")
    return op(*_numpy_operands(ufunc, inputs))


def _numpy_operands(ufunc: np.ufunc, inputs: tuple[Any, ...]) -> Sequence[Any]:
    """The inputs in the dtypes numpy's own loop for ``ufunc`` takes (numpy's promotion: an int64
    tensor plus 1.5 is float64), tensors cast on the graph."""
    arrays = [_array(x) for x in inputs]
    first = arrays[0]
    if type(first) is np.ndarray and all(type(a) is np.ndarray and a.dtype is first.dtype for a in arrays) and (
            first.dtype.kind == "f"):
        return inputs       # one float dtype: numpy's and PyTorch's answers are the same
    signature = tuple(a.dtype if isinstance(a, (np.ndarray, np.generic)) else type(a) for a in arrays)
    try:
        dtypes = ufunc.resolve_dtypes(signature + (None,) * ufunc.nout)
    except (TypeError, ValueError):
        return inputs       # numpy has no loop for these: the op says so
    return [_in_dtype(x, dtype) if isinstance(x, (Tensor, np.ndarray, np.generic)) else x
            for x, dtype in zip(inputs, dtypes)]


def _ufunc_into(ufunc: np.ufunc, name: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``np.<ufunc>(..., out=array)``: numpy's own call on the data, written into plain arrays. A
    result that needs a gradient (grad mode on, an input requiring grad) would leave the graph
    there, so that raises."""
    out = kwargs["out"]
    targets = out if isinstance(out, tuple) else (out,)
    if any(isinstance(t, Tensor) for t in targets):
        raise TypeError(f"{name}(..., out=tensor) would write into a tensor around the graph; use its in-place "
                        "methods (t.add_(...), t.copy_(...), t[...] = ...), inside `with ad.no_grad():` for a "
                        "parameter update")
    if is_grad_enabled() and any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        raise RuntimeError(f"{name}(..., out=array): the result requires grad, and writing it into a plain array "
                           "would cut it off the graph. Update parameters with `with ad.no_grad(): p -= lr * "
                           "p.grad` (or p.data -= lr * p.grad.data), or detach() the input")
    return ufunc(*[_array(x) for x in inputs], **kwargs)


# np.<function>(tensor, ...) -> numpy's meaning on the graph: filled by autodiff.numpy_api
_ARRAY_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {}


def array_function(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    op = _ARRAY_FUNCTIONS.get(func)
    if op is None:
        raise TypeError(f"np.{func.__name__} has no autodiff op, so it would silently cut the graph; use "
                        "an autodiff function instead, or call it on t.detach().numpy() if you do not "
                        "need its gradient")
    return op(*args, **kwargs)


from . import numpy_api  # noqa: E402,F401  (fills _ARRAY_FUNCTIONS)
