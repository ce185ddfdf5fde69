"""Fused ops: one node each where composing engine ops would be slower or less stable. They are
public engine functions for ``nn`` (and anyone): ``linear`` and ``softmax_cross_entropy``.

Each is a ``Function`` like any other op; its entry is an adapter of ``autodiff.function`` (the
arguments unpacked inline, then the one recording path) because ``nn`` calls them on every step.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .dtypes import layer_dtype_error
from .function import Function, ternary_op, unary_op
from .ops import row_max, softmax
from .tensor import Tensor

__all__ = ["linear", "softmax_cross_entropy", "Linear", "SoftmaxCrossEntropy"]

_add_reduce: Callable[..., Any] = np.add.reduce     # (called positionally, as ndarray.sum calls it)


class Linear(Function):
    """x @ weight.T + bias in one node: (..., in), (out, in), (out,) -> (..., out).

    Why fused: composed it is a transpose, a matmul and a broadcast add (whose bias gradient goes
    through the engine's generic un-broadcast); fused, the backward is exactly two matmuls and a
    row sum, about a third faster on the layers of the benchmarks.

    The weight's gradient is laid out in memory like the weight (``nn.Linear`` keeps its weight
    in column-major order, see there), so the optimizer's elementwise updates run on two
    arrays of the same layout.
    """

    fresh_grads = True      # two matmuls and a row sum: new arrays (see Function.fresh_grads)

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        if not x.ndim or weight.ndim != 2 or x.shape[-1] != weight.shape[1] or (
                bias is not None and bias.shape != weight.shape[:1]):
            raise _linear_error(x.shape, weight.shape, None if bias is None else bias.shape)
        if x.dtype is not weight.dtype and x.dtype != weight.dtype:
            raise layer_dtype_error("linear", x.dtype, weight.dtype)
        ctx.saved_tensors = (x, weight)
        out = x @ weight.T
        if bias is not None:
            if bias.dtype == out.dtype:
                out += bias
            else:       # promoted as numpy promotes x and weight (in place would cast the bias)
                out = out + bias
        return out

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, Any, Any]:
        x, weight = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_x = grad @ weight if need_x else None
        rows = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
        grad_weight = None
        if need_weight:
            inputs = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
            # in the weight's layout: nn.Linear's weight is column-major, so its gradient is the
            # transpose of a row-major product (a view of an array nothing else holds: fresh)
            grad_weight = (inputs.T @ rows).T if type(weight) is np.ndarray and weight.flags.f_contiguous else (
                rows.T @ inputs)
        grad_bias = None
        if need_bias:   # (np.add.reduce: what ndarray.sum calls, minus a Python layer)
            grad_bias = _add_reduce(rows, 0) if type(rows) is np.ndarray else rows.sum(axis=0)
        return grad_x, grad_weight, grad_bias


def _linear_error(x_shape: tuple[int, ...], w_shape: tuple[int, ...], b_shape: tuple[int, ...] | None) -> ValueError:
    if not x_shape or len(w_shape) != 2 or x_shape[-1] != w_shape[1]:
        return ValueError(f"linear: input of shape {x_shape} does not fit a weight of shape "
                          f"{w_shape} (out_features, in_features); the input's last axis must have "
                          f"{w_shape[1] if len(w_shape) == 2 else '?'} features")
    return ValueError(f"linear: bias of shape {b_shape} does not fit a weight of shape {w_shape}; "
                      f"it must be ({w_shape[0]},)")





linear = ternary_op(Linear, "linear", """x @ weight.T + bias in one node: (..., in_features),
(out, in_features), (out,) -> (..., out); ``bias`` may be None. Arrays are taken as constants;
the shapes are checked in ``Linear.forward``, on the arrays.""")


class SoftmaxCrossEntropy(Function):
    """log_softmax + weighted NLL + label smoothing, fused, for logits (M, C) and int targets (M,).

    Per row (not ignored): (1 - s) * -w[t] logp[t] + (s / C) * -sum_c w[c] logp[c], with w = 1
    without weights; "mean" divides by sum of w[t] over the rows not ignored (PyTorch's rule).
    The gradient of a row is a * softmax - b, with a = (1 - s) w[t] + (s / C) sum(w) and
    b = (1 - s) w[t] onehot(t) + (s / C) w.

    Why fused: composed, the same loss takes log_softmax, a fancy-index getitem (whose backward
    scatters with np.add.at), a multiply, a sum and a divide; fused it is one node that keeps the
    softmax from its forward and whose backward is one in-place expression (about a fifth faster),
    and it also carries weights and label smoothing.

    The common case (mean over rows, no weight, no target ignored, no smoothing) takes a plain
    path: the same operations without the ones that multiply by 1, so the same bits.
    """

    @staticmethod
    def forward(ctx: Any, logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                ignore_index: int | None = None, smoothing: float = 0.0, reduction: str = "mean") -> np.ndarray:
        rows, classes = logits.shape
        if (weight is None and ignore_index is None and not smoothing and reduction == "mean" and rows
                and logits.flags.c_contiguous):
            return _plain_forward(ctx, logits, target, rows, classes)
        ctx.plain = False
        valid = None if ignore_index is None else target != ignore_index
        safe = target if valid is None else np.where(valid, target, 0)
        shifted = logits - row_max(logits) if logits.size else logits.copy()
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        logp = shifted
        logp -= np.log(total)
        index = np.arange(rows)
        if weight is None:
            weight_t = None if valid is None else valid.astype(logits.dtype)
            picked = logp[index, safe]
        else:
            weight_t = weight[safe] if valid is None else weight[safe] * valid
            picked = weight_t * logp[index, safe]
        if valid is not None and weight is None:
            picked = picked * weight_t
        per_row = -picked if not smoothing else (smoothing - 1.0) * picked
        if smoothing:
            smooth = -(logp.sum(axis=1) if weight is None else logp @ weight)
            per_row += (smoothing / classes) * (smooth if valid is None else smooth * valid)
        ctx.save_for_backward(logits)
        exp /= total                        # the softmax, kept for backward
        ctx.probs, ctx.index, ctx.safe, ctx.valid, ctx.weight_t = exp, index, safe, valid, weight_t
        ctx.weight, ctx.smoothing, ctx.reduction = weight, smoothing, reduction
        if reduction == "none":
            return per_row
        if reduction == "sum":
            return np.asarray(per_row.sum(), logits.dtype)
        ctx.denominator = rows if weight_t is None else weight_t.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(per_row.sum() / ctx.denominator, logits.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, ...]:
        (logits,) = ctx.saved_tensors
        if ctx.plain:
            if type(grad) is np.ndarray:
                # the expression below with a = 1 and b = onehot(t): (softmax - onehot) * scale, in
                # the same order of operations (so to the bit the same values)
                out = ctx.probs.copy()
                out.reshape(-1)[ctx.flat_index] -= 1.0
                out *= grad * (1.0 / ctx.denominator)
                return out, None
            _general_context(ctx)       # create_graph: the expression below, on the graph
        probs, index, safe, valid, weight_t = ctx.probs, ctx.index, ctx.safe, ctx.valid, ctx.weight_t
        rows, classes = probs.shape
        s, weight = ctx.smoothing, ctx.weight
        dtype = probs.dtype
        if ctx.reduction == "none":
            scale = grad.reshape(-1, 1)
        elif ctx.reduction == "sum":
            scale = grad
        else:
            scale = grad * (1.0 / ctx.denominator) if ctx.denominator else grad * np.nan
        # coef: a per row; target_part: b, added where it is non-zero
        coef = np.ones(rows, dtype) if weight_t is None else weight_t.astype(dtype, copy=True)
        coef *= 1.0 - s
        if s:
            coef += (s / classes) * (classes if weight is None else weight.sum()) * \
                (1.0 if valid is None else valid)
        picked = (1.0 - s) * (1.0 if weight_t is None else weight_t)
        if isinstance(logits, Tensor):
            # create_graph: the softmax must be on the graph, the rest are constants
            target_part = np.zeros(probs.shape, dtype)
            target_part[index, safe] = picked
            if s:
                target_part += (s / classes) * (1.0 if valid is None else valid[:, None]) * \
                    (1.0 if weight is None else weight)
            grad_logits = (softmax(logits, axis=1) * coef[:, None] - target_part) * scale
            return (grad_logits,) + (None,) * (len(ctx.needs_input_grad) - 1)
        out = probs * coef[:, None]
        out[index, safe] -= picked
        if s:
            out -= (s / classes) * (1.0 if valid is None else valid[:, None]) * (1.0 if weight is None else weight)
        out *= scale
        return (out,) + (None,) * (len(ctx.needs_input_grad) - 1)




def _plain_forward(ctx: Any, logits: np.ndarray, target: np.ndarray, rows: int, classes: int) -> np.ndarray:
    """SoftmaxCrossEntropy.forward for the common case: mean over rows, no weight, no ignored
    target, no smoothing, C-ordered logits (M > 0, C). The general forward's operations, in the
    same order (so to the bit the same values), minus the ones that multiply by 1."""
    ctx.plain = True
    # (np.add.reduce is what ndarray.sum calls, minus a Python layer)
    shifted = logits - row_max(logits)
    exp = np.exp(shifted)
    total = np.add.reduce(exp, axis=1, keepdims=True)
    logp = shifted
    logp -= np.log(total)
    # row-major positions of the targets: one flat gather instead of a two-array fancy index
    starts = _row_starts.get((rows, classes))
    if starts is None:
        if len(_row_starts) >= 64:
            _row_starts.clear()
        starts = _row_starts[rows, classes] = np.arange(0, rows * classes, classes)
        starts.flags.writeable = False
    flat_index = target + starts
    picked = logp.reshape(-1).take(flat_index)
    ctx.save_for_backward(logits)
    exp /= total                        # the softmax, kept for backward
    ctx.probs, ctx.flat_index, ctx.target, ctx.denominator = exp, flat_index, target, rows
    # -(sum of picked) is the sum of -picked, bit for bit
    return np.asarray(-_add_reduce(picked) / rows, logits.dtype)


# (rows, classes) -> arange(0, rows * classes, classes), read only
_row_starts: dict[tuple[int, int], np.ndarray] = {}


def _general_context(ctx: Any) -> None:
    """The attributes the general backward reads, for a node made by ``_plain_forward``
    (its create_graph backward, which builds the softmax on the graph)."""
    ctx.index = np.arange(ctx.probs.shape[0])
    ctx.safe = ctx.target
    ctx.valid = ctx.weight_t = ctx.weight = None
    ctx.smoothing, ctx.reduction = 0.0, "mean"



softmax_cross_entropy = unary_op(SoftmaxCrossEntropy, "softmax_cross_entropy", """The mean
cross-entropy of logits (M, C) against class indices ``target`` (an int64 array (M,), each in
[0, C)), in one node. ``SoftmaxCrossEntropy.apply(logits, target, weight, ignore_index,
smoothing, reduction)`` is the general form; ``nn.functional.cross_entropy`` checks the arguments
and calls one or the other.""")
