"""Lowering rules of ``ad.compile``: each op class's forward and backward as numpy calls that
write, with ``out=``, into the buffers of a record.

A rule is a function of a ``Lowering`` (``autodiff.codegen``) that emits lines of Python; it
must compute the very values of the class's ``forward``/``backward``, bit for bit: the same numpy
operations on the same operands in the same order (``a * b`` is ``np.multiply(a, b, out=o)``;
``1 - x`` with a 0-d constant stays that constant). ``FORWARD[cls]`` and ``BACKWARD[cls]`` are the
tables; a rule that does not cover a case raises ``Decline`` and the op is replayed by calling
its ``Function.forward``/``backward`` instead (the fallback, which every op without a rule takes).
An op is lowered only when both its rules accept, since a fallback backward needs the context
its fallback forward fills.

In a forward rule, ``L.arg(i)`` names forward's argument i (``L.array(i)`` is it as recorded,
for shapes and dtypes), ``L.result`` the output's buffer, ``L.arg_view(i, ...)`` a view of an
argument, ``L.temp(shape, dtype)`` a work array, ``L.f(np.add)`` a function and ``L.emit`` writes
a line. In a backward rule, ``L.g`` is the incoming gradient, ``L.out(i)`` the buffer for input
i's gradient (where the engine returned a new array), ``L.passes(i)`` says that the engine handed
the incoming gradient itself on to input i (Add, Sub's first input), ``L.view_of_grad(i, ...)``
and ``L.view(i, expr)`` make input i's gradient a view of the incoming one (Reshape, Sum), and
``L.fresh_or_into(i, call)`` a new array when only a leaf takes it (Linear's weight). A rule
must decline rather than guess: a case it does not write exactly is the fallback's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import indexing, ops
from .fused import Linear, SoftmaxCrossEntropy
from .function import Function

if TYPE_CHECKING:
    from .codegen import CallLowering, Lowering

__all__ = ["FORWARD", "BACKWARD", "CALLS", "Decline"]

Rule = Callable[["Lowering"], None]
CallRule = Callable[["CallLowering"], None]


class Decline(Exception):
    """A rule does not cover this op (its class's fallback replays it)."""


FORWARD: dict[type, Rule] = {}
BACKWARD: dict[type, Rule] = {}


def forward(*classes: type) -> Callable[[Rule], Rule]:
    def register(rule: Rule) -> Rule:
        for cls in classes:
            FORWARD[cls] = rule
        return rule
    return register


def backward(*classes: type) -> Callable[[Rule], Rule]:
    def register(rule: Rule) -> Rule:
        for cls in classes:
            BACKWARD[cls] = rule
        return rule
    return register


def _needs(L: Lowering) -> tuple[bool, ...]:
    return L.op.ctx.needs_input_grad


# ---------------------------------------------------------------------------------------------
# elementwise arithmetic

@forward(ops.Add)
def _(L: Lowering) -> None:
    L.emit(f"{L.f(np.add)}({L.arg(0)}, {L.arg(1)}, out={L.result})")


@backward(ops.Add)
def _(L: Lowering) -> None:
    L.passes(0)
    L.passes(1)


@forward(ops.Sub)
def _(L: Lowering) -> None:
    L.emit(f"{L.f(np.subtract)}({L.arg(0)}, {L.arg(1)}, out={L.result})")


@backward(ops.Sub)
def _(L: Lowering) -> None:
    L.passes(0)
    if _needs(L)[1]:
        L.emit(f"{L.f(np.negative)}({L.g}, out={L.out(1)})")


@forward(ops.Mul)
def _(L: Lowering) -> None:
    L.emit(f"{L.f(np.multiply)}({L.arg(0)}, {L.arg(1)}, out={L.result})")


@backward(ops.Mul)
def _(L: Lowering) -> None:
    need_a, need_b = _needs(L)
    if need_a:
        L.emit(f"{L.f(np.multiply)}({L.g}, {L.arg(1)}, out={L.out(0)})")
    if need_b:
        L.emit(f"{L.f(np.multiply)}({L.g}, {L.arg(0)}, out={L.out(1)})")


@forward(ops.MulSelf)
def _(L: Lowering) -> None:
    L.emit(f"{L.f(np.multiply)}({L.arg(0)}, {L.arg(0)}, out={L.result})")


@backward(ops.MulSelf)
def _(L: Lowering) -> None:
    # grad * x * 2
    out = L.out(0)
    two = L.const(ops._TWOS.get(L.array(0).dtype, 2.0))
    L.emit(f"{L.f(np.multiply)}({L.g}, {L.arg(0)}, out={out})")
    L.emit(f"{L.f(np.multiply)}({out}, {two}, out={out})")


@forward(ops.Div)
def _(L: Lowering) -> None:
    L.emit(f"{L.f(np.divide)}({L.arg(0)}, {L.arg(1)}, out={L.result})")


@backward(ops.Div)
def _(L: Lowering) -> None:
    need_a, need_b = _needs(L)
    a, b = L.arg(0), L.arg(1)
    if need_a:
        L.emit(f"{L.f(np.divide)}({L.g}, {b}, out={L.out(0)})")
    if need_b:
        # -(grad * a) / (b * b)
        out = L.out(1)
        square = L.temp_like(L.array(1))
        L.emit(f"{L.f(np.multiply)}({L.g}, {a}, out={out})")
        L.emit(f"{L.f(np.negative)}({out}, out={out})")
        L.emit(f"{L.f(np.multiply)}({b}, {b}, out={square})")
        L.emit(f"{L.f(np.divide)}({out}, {square}, out={out})")


# the table's rows: forward a ufunc into the buffer; backward the row's own formula (a new array
# each replay) unless a rule below writes it into a buffer

def _row_forward(L: Lowering) -> None:
    run = getattr(L.op.cls, "row").forward
    run = getattr(run, "ufunc", run)        # a row that checks its input first (abs) names its ufunc
    if not isinstance(run, np.ufunc):
        raise Decline
    args = ", ".join(L.arg(i) for i in range(run.nin))
    L.emit(f"{L.f(run)}({args}, out={L.result})")


def _row_backward(L: Lowering) -> None:
    row = getattr(L.op.cls, "row")
    special = _ROW_BACKWARDS.get(row.name)
    if special is not None:
        special(L)
        return
    import inspect
    names = tuple(inspect.signature(row.backward).parameters)[1:]
    if len(L.op.args) != 1:
        raise Decline
    values = {"x": L.arg(0), "out": L.result}
    args = ", ".join([L.g] + [values[name] for name in names])
    L.fresh(0, f"{L.const(row.backward)}({args})")


def _neg_backward(L: Lowering) -> None:
    L.emit(f"{L.f(np.negative)}({L.g}, out={L.out(0)})")


def _exp_backward(L: Lowering) -> None:
    L.emit(f"{L.f(np.multiply)}({L.g}, {L.result}, out={L.out(0)})")


def _log_backward(L: Lowering) -> None:
    L.emit(f"{L.f(np.divide)}({L.g}, {L.arg(0)}, out={L.out(0)})")


_ROW_BACKWARDS = {"neg": _neg_backward, "exp": _exp_backward, "log": _log_backward}

for _row in ops.ELEMENTWISE:
    _cls = getattr(ops, "".join(part.capitalize() for part in _row.name.split("_")), None)
    if isinstance(_cls, type) and issubclass(_cls, Function) and getattr(_cls, "row", None) is _row:
        FORWARD[_cls] = _row_forward
        BACKWARD[_cls] = _row_backward
del _row, _cls


@forward(ops.Tanh)
def _(L: Lowering) -> None:
    L.emit(f"{L.f(np.tanh)}({L.arg(0)}, out={L.result})")


@backward(ops.Tanh)
def _(L: Lowering) -> None:
    # grad * (1 - out * out); the large-array path computes (1 - out * out) * grad: the same
    out, y = L.out(0), L.result
    one = L.const(ops._ONES.get(L.array(0).dtype, 1.0))
    L.emit(f"{L.f(np.multiply)}({y}, {y}, out={out})")
    L.emit(f"{L.f(np.subtract)}({one}, {out}, out={out})")
    L.emit(f"{L.f(np.multiply)}({L.g}, {out}, out={out})")


@forward(ops.Relu)
def _(L: Lowering) -> None:
    x = L.array(0)
    L.emit(f"{L.f(np.maximum)}({L.arg(0)}, {L.const(ops._ZEROS.get(x.dtype, 0))}, out={L.result})")


@backward(ops.Relu)
def _(L: Lowering) -> None:
    y = L.op.out.array
    zero = ops._ZEROS.get(y.dtype)
    g = L.grad_array
    if zero is None or not y.ndim or type(g) is not np.ndarray or g.dtype is not y.dtype or g.shape != y.shape:
        raise Decline
    # the engine's mask, not (out <= 0), as 0.0/1.0 floats, times grad. out = max(x, 0) is never
    # below 0, so not (out <= 0) is out != 0 (nan included), written as floats in one call
    out = L.out(0)
    L.emit(f"{L.f(np.not_equal)}({L.result}, {L.const(zero)}, out={out})")
    L.emit(f"{L.f(np.multiply)}({out}, {L.g}, out={out})")


@forward(ops.Maximum)
def _(L: Lowering) -> None:
    L.emit(f"{L.f(np.maximum)}({L.arg(0)}, {L.arg(1)}, out={L.result})")


@forward(ops.Minimum)
def _(L: Lowering) -> None:
    L.emit(f"{L.f(np.minimum)}({L.arg(0)}, {L.arg(1)}, out={L.result})")


@forward(ops.Where)
def _(L: Lowering) -> None:
    # np.where(cond, a, b): b everywhere, then a where cond (a selection: the same bits)
    L.emit(f"{L.f(np.copyto)}({L.result}, {L.arg(2)})")
    L.emit(f"{L.f(np.copyto)}({L.result}, {L.arg(1)}, where={L.arg(0)})")


@backward(ops.Where)
def _(L: Lowering) -> None:
    need_a, need_b = _needs(L)[1:]
    cond = L.arg(0)
    if need_a:
        out = L.out(1)
        L.emit(f"{L.f(np.copyto)}({out}, 0.0)")
        L.emit(f"{L.f(np.copyto)}({out}, {L.g}, where={cond})")
    if need_b:
        out = L.out(2)
        L.emit(f"{L.f(np.copyto)}({out}, {L.g})")
        L.emit(f"{L.f(np.copyto)}({out}, 0.0, where={cond})")


@forward(ops.PowScalar)
def _(L: Lowering) -> None:
    if L.op.args[1] != 2 or type(L.op.args[1]) not in (int, float):
        raise Decline
    L.emit(f"{L.f(np.square)}({L.arg(0)}, out={L.result})")     # numpy computes x ** 2 as square


@backward(ops.PowScalar)
def _(L: Lowering) -> None:
    if L.op.args[1] != 2:
        raise Decline
    # grad * (2.0 * x)
    out = L.out(0)
    L.emit(f"{L.f(np.multiply)}(2.0, {L.arg(0)}, out={out})")
    L.emit(f"{L.f(np.multiply)}({L.g}, {out}, out={out})")


# ---------------------------------------------------------------------------------------------
# reductions, matrix products, shapes

@forward(ops.Sum)
def _(L: Lowering) -> None:
    _, axes, keepdims = L.op.args
    L.emit(f"{L.f(np.add.reduce, 'add_reduce')}({L.arg(0)}, axis={axes!r}, keepdims={keepdims!r}, "
           f"out={L.result})")


@backward(ops.Sum)
def _(L: Lowering) -> None:
    # _expand: the gradient reshaped to the kept shape, broadcast to the input's. The engine
    # copies it into a new array; a read-only broadcast view holds the same values (a backward
    # never writes into its incoming gradient), so the next op reads it without the copy
    x, axes, keepdims = L.array(0), L.op.args[1], L.op.args[2]
    kept = ops._kept_shape(x.shape, axes)
    L.view_of_grad(0, kept if not keepdims else None, broadcast=x.shape)


_EXTREMA = {np.max: (np.maximum.reduce, "maximum_reduce"), np.min: (np.minimum.reduce, "minimum_reduce"),
            np.amax: (np.maximum.reduce, "maximum_reduce"), np.amin: (np.minimum.reduce, "minimum_reduce")}


@forward(ops.Max)
def _(L: Lowering) -> None:
    # np.max is np.maximum.reduce (the same reduction, without np.max's Python layer)
    _, axes, keepdims, reduce = L.op.args
    if reduce not in _EXTREMA:
        raise Decline
    L.emit(f"{L.f(*_EXTREMA[reduce])}({L.arg(0)}, axis={axes!r}, keepdims={keepdims!r}, out={L.result})")


@forward(ops.MatMul)
def _(L: Lowering) -> None:
    if L.array(0).ndim < 2 or L.array(1).ndim < 2:
        raise Decline
    L.emit(f"{L.f(np.matmul)}({L.arg(0)}, {L.arg(1)}, out={L.result})")


@backward(ops.MatMul)
def _(L: Lowering) -> None:
    need_a, need_b = _needs(L)
    a, b = L.array(0), L.array(1)
    if a.ndim < 2 or b.ndim < 2:
        raise Decline
    if need_a:
        bT = L.arg_view(1, ".swapaxes(-1, -2)", lambda b: b.swapaxes(-1, -2))
        L.emit(f"{L.f(np.matmul)}({L.g}, {bT}, out={L.out(0)})")
    if need_b:
        aT = L.arg_view(0, ".swapaxes(-1, -2)", lambda a: a.swapaxes(-1, -2))
        L.emit(f"{L.f(np.matmul)}({aT}, {L.g}, out={L.out(1)})")


@forward(Linear)
def _(L: Lowering) -> None:
    bias = L.array(2)
    if bias is not None and bias.dtype != L.op.out.array.dtype:
        raise Decline
    L.emit(f"{L.f(np.matmul)}({L.arg(0)}, {L.arg_view(1, '.T', lambda w: w.T)}, out={L.result})")
    if bias is not None:
        L.emit(f"{L.f(np.add)}({L.result}, {L.arg(2)}, out={L.result})")


@backward(Linear)
def _(L: Lowering) -> None:
    x, weight = L.array(0), L.array(1)
    need_x, need_weight, need_bias = _needs(L)
    if x.ndim != 2 or L.grad_array.ndim != 2:
        raise Decline
    g = L.g
    if need_x:
        L.emit(f"{L.f(np.matmul)}({g}, {L.arg(1)}, out={L.out(0)})")
    if need_weight:
        if weight.flags.f_contiguous:   # (inputs.T @ rows).T: in the weight's layout
            L.fresh_or_into(1, f"{L.f(np.matmul)}({L.arg_view(0, '.T', lambda x: x.T)}, {g}", transposed=True)
        else:
            L.fresh_or_into(1, f"{L.f(np.matmul)}({g}.T, {L.arg(0)}")
    if need_bias:
        L.fresh_or_into(2, f"{L.f(np.add.reduce, 'add_reduce')}({g}, 0")


@forward(ops.Reshape, ops.Transpose, ops.BroadcastTo)
def _(L: Lowering) -> None:
    L.view_of_input()


@backward(ops.Reshape)
def _(L: Lowering) -> None:
    L.view_of_grad(0, L.op.ctx.shape)


@backward(ops.Transpose)
def _(L: Lowering) -> None:
    L.view(0, f"{L.g}.transpose({tuple(int(i) for i in np.argsort(L.op.args[1]))!r})")


@backward(ops.BroadcastTo)
def _(L: Lowering) -> None:
    L.passes(0)


@forward(indexing.GetItem)
def _(L: Lowering) -> None:
    _, index, advanced = L.op.args
    if not advanced:
        L.view_of_input()       # basic indexing: a view (a lone element is not, and declines)
        return
    L.emit(f"{L.result}[...] = {L.arg(0)}[{L.const(index)}]")


@backward(indexing.GetItem)
def _(L: Lowering) -> None:
    # indexing._scatter: zeros, then the gradient added at the index (repeated ones accumulate)
    _, index, advanced = L.op.args
    out = L.out(0)
    L.emit(f"{out}.fill(0)")
    if advanced:
        L.emit(f"{L.f(np.add.at, 'add_at')}({out}, {L.const(index)}, {L.g})")
    else:
        L.emit(f"{out}[{L.const(index)}] = {L.g}")


@forward(ops.Cast)
def _(L: Lowering) -> None:
    L.emit(f"{L.f(np.copyto)}({L.result}, {L.arg(0)}, casting='unsafe')")


@forward(ops.Clone)
def _(L: Lowering) -> None:
    L.emit(f"{L.f(np.copyto)}({L.result}, {L.arg(0)})")


@backward(ops.Cast, ops.Clone)
def _(L: Lowering) -> None:
    L.passes(0)


# ---------------------------------------------------------------------------------------------
# the fused cross-entropy, its common case (SoftmaxCrossEntropy's _plain_forward and backward)

@forward(SoftmaxCrossEntropy)
def _(L: Lowering) -> None:
    op = L.op
    if not getattr(op.ctx, "plain", False) or len(op.args) != 2:
        raise Decline
    logits = L.array(0)
    rows, classes = logits.shape
    dtype = logits.dtype
    x = L.arg(0)
    # shifted = logits - row_max(logits), as ops.row_max computes it
    if classes <= 64 and rows >= 16:
        columns = L.temp((classes, rows), dtype)
        largest = L.temp((rows,), dtype)
        L.emit(f"{L.f(np.copyto)}({columns}, {L.arg_view(0, '.T', lambda x: x.T)})")
        L.emit(f"{L.f(np.maximum.reduce, 'maximum_reduce')}({columns}, axis=0, out={largest})")
        shift = L.const(L.buffer(largest)[:, None])
    else:
        shift = L.temp((rows, 1), dtype)
        L.emit(f"{L.f(np.maximum.reduce, 'maximum_reduce')}({x}, axis=1, keepdims=True, out={shift})")
    shifted = L.temp((rows, classes), dtype)
    probs = L.temp((rows, classes), dtype)
    total = L.temp((rows, 1), dtype)
    log_total = L.temp((rows, 1), dtype)
    flat_index = L.temp((rows,), np.int64)
    picked = L.temp((rows,), dtype)
    L.emit(f"{L.f(np.subtract)}({x}, {shift}, out={shifted})")
    L.emit(f"{L.f(np.exp)}({shifted}, out={probs})")
    L.emit(f"{L.f(np.add.reduce, 'add_reduce')}({probs}, axis=1, keepdims=True, out={total})")
    L.emit(f"{L.f(np.log)}({total}, out={log_total})")
    L.emit(f"{L.f(np.subtract)}({shifted}, {log_total}, out={shifted})")       # logp
    starts = np.arange(0, rows * classes, classes)
    L.emit(f"{L.f(np.add)}({L.arg(1)}, {L.const(starts)}, out={flat_index})")
    L.emit(f"{L.f(np.take)}({L.const(L.buffer(shifted).reshape(-1))}, {flat_index}, out={picked})")
    L.emit(f"{L.f(np.divide)}({probs}, {total}, out={probs})")                 # the softmax
    L.emit(f"{L.f(np.add.reduce, 'add_reduce')}({picked}, axis=0, out={L.result})")
    L.emit(f"{L.f(np.negative)}({L.result}, out={L.result})")
    L.emit(f"{L.f(np.divide)}({L.result}, {rows}, out={L.result})")
    L.keep(probs=probs, flat_index=flat_index, rows=rows)


@backward(SoftmaxCrossEntropy)
def _(L: Lowering) -> None:
    kept = L.kept
    if type(L.grad_array) is not np.ndarray:
        raise Decline
    probs, flat_index, rows = kept["probs"], kept["flat_index"], kept["rows"]
    out = L.out(0)
    picked = L.temp((rows,), L.buffer(probs).dtype)
    scale = L.temp((), L.buffer(probs).dtype)
    flat = L.const(L.buffer(out).reshape(-1))
    # (softmax - onehot) * (grad * (1 / N))
    L.emit(f"{L.f(np.copyto)}({out}, {probs})")
    L.emit(f"{L.f(np.take)}({flat}, {flat_index}, out={picked})")
    L.emit(f"{L.f(np.subtract)}({picked}, 1.0, out={picked})")
    L.emit(f"{L.f(np.put)}({flat}, {flat_index}, {picked})")
    L.emit(f"{L.f(np.multiply)}({L.g}, {1.0 / rows!r}, out={scale})")
    L.emit(f"{L.f(np.multiply)}({out}, {scale}, out={out})")


# ---------------------------------------------------------------------------------------------
# replayed calls (CALLS, keyed by the function ``@replayed`` wraps): a rule gets a CallLowering
# (``autodiff.codegen``: the call's recorded arguments, ``const``, ``f``, ``temp_like``, ``emit``
# and ``real_call()``, the line that makes the call itself). The packages above autodiff register
# theirs (optim: an optimizer's step and zero_grad, see optim/replay.py).

CALLS: dict[Any, CallRule] = {}


def call(*functions: Any) -> Callable[[CallRule], CallRule]:
    """Register a rule for the replayed calls of ``functions`` (the undecorated functions)."""
    def register(rule: CallRule) -> CallRule:
        for function in functions:
            CALLS[function] = rule
        return rule
    return register
