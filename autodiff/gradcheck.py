"""gradcheck and gradgradcheck: compare backprop with central differences, in float64, and on a
mismatch point at the op whose backward is wrong."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .engine import grad
from .function import Function
from . import grad_mode
from .tensor import Tensor, _wrap

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]

# what gradcheck checks: a function of tensors (and any other arguments) giving a tensor or several
_Checked = Callable[..., "Tensor | Sequence[Tensor]"]
# per output, per differentiable input: a 2-D Jacobian block (output.size, input.size)
_Jacobians = list[list[np.ndarray]]
# the worst disagreement: (excess, output, input, row, col)
_Mismatch = tuple[Any, int, int, np.intp, np.intp]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytic and numerical gradients disagree."""


def _as_tuple(x: object) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _float_outputs(outputs: Iterable[object]) -> list[Tensor]:
    return [o for o in outputs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _check_inputs(inputs: Sequence[object], op: str) -> list[int]:
    differentiable = []
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad:
            if t.dtype != np.float64:
                raise TypeError(
                    f"{op}: input {i} is {t.dtype}; finite differences need float64 to be trusted. "
                    "Pass t.double() (made with requires_grad=True), or ad.set_default_dtype('float64')")
            differentiable.append(i)
    if not differentiable:
        raise ValueError(f"{op}: no input requires grad, so there is nothing to check; create the "
                         "inputs with requires_grad=True")
    return differentiable


def analytic_jacobians(fn: _Checked, inputs: Sequence[Any], differentiable: list[int],
                       ) -> tuple[_Jacobians, list[tuple[int, ...]]]:
    """Per (output, input) pair the Jacobian d out / d in as a 2-D array (out.size, in.size)."""
    outputs = _float_outputs(_as_tuple(fn(*inputs)))
    wrt = [inputs[i] for i in differentiable]
    jacobians = [[np.zeros((o.size, t.size)) for t in wrt] for o in outputs]
    for k, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        for row in range(out.size):
            seed = np.zeros(out.size, dtype=out.dtype)
            seed[row] = 1.0
            grads = grad(out, wrt, seed.reshape(out.shape), retain_graph=True, allow_unused=True)
            for j, g in enumerate(grads):
                if g is not None:
                    jacobians[k][j][row] = g.data.reshape(-1)
    return jacobians, [o.shape for o in outputs]


def numerical_jacobians(fn: _Checked, inputs: Sequence[Any], differentiable: list[int],
                        eps: float) -> _Jacobians:
    """Central differences (f(x + eps) - f(x - eps)) / 2 eps, one input element at a time."""
    def evaluate() -> list[np.ndarray]:
        # grad mode stays on: fn may itself differentiate (gradgradcheck)
        return [o.data.astype(np.float64).reshape(-1).copy() for o in _float_outputs(_as_tuple(fn(*inputs)))]

    base = evaluate()
    jacobians = [[np.zeros((b.size, inputs[i].size)) for i in differentiable] for b in base]
    for j, i in enumerate(differentiable):
        data = inputs[i].data
        if not data.flags.c_contiguous or not data.flags.writeable:
            inputs[i].data = data = data.copy()
        flat = data.reshape(-1)     # a view: writes reach the tensor
        for e in range(flat.size):
            original = flat[e]
            flat[e] = original + eps
            plus = evaluate()
            flat[e] = original - eps
            minus = evaluate()
            flat[e] = original
            for k in range(len(base)):
                jacobians[k][j][:, e] = (plus[k] - minus[k]) / (2 * eps)
    return jacobians


def _worst_mismatch(analytic: _Jacobians, numerical: _Jacobians, atol: float,
                    rtol: float) -> _Mismatch | None:
    """The worst (excess, output, input, row, col) where |a - n| > atol + rtol |n|, or None."""
    worst = None
    for k, (a_row, n_row) in enumerate(zip(analytic, numerical)):
        for j, (a, n) in enumerate(zip(a_row, n_row)):
            excess = np.abs(a - n) - (atol + rtol * np.abs(n))
            excess = np.where(np.isnan(a) != np.isnan(n), np.inf, np.nan_to_num(excess, nan=-1.0))
            if excess.size and excess.max() > 0:
                r, c = np.unravel_index(int(np.argmax(excess)), excess.shape)
                if worst is None or excess[r, c] > worst[0]:
                    worst = (excess[r, c], k, j, r, c)
    return worst


def _describe(worst: _Mismatch, analytic: _Jacobians, numerical: _Jacobians,
              inputs: Sequence[Any], differentiable: list[int], output_shapes: list[tuple[int, ...]],
              what: str) -> str:
    _, k, j, r, c = worst
    i = differentiable[j]
    a, n = float(analytic[k][j][r, c]), float(numerical[k][j][r, c])
    in_index = [int(v) for v in np.unravel_index(c, inputs[i].shape)] if inputs[i].ndim else []
    out_index = [int(v) for v in np.unravel_index(r, output_shapes[k])] if len(output_shapes[k]) else []
    relative = abs(a - n) / max(abs(n), 1e-300)
    return (f"{what} of output {k} with respect to input {i} (shape {inputs[i].shape}) disagrees at "
            f"d out{out_index} / d in{in_index}: analytic {a!r}, numerical {n!r} "
            f"(relative error {relative:.3g})")


def _compare(fn: _Checked, inputs: Sequence[Any], eps: float, atol: float, rtol: float,
             what: str) -> str | None:
    differentiable = _check_inputs(inputs, what)
    analytic, shapes = analytic_jacobians(fn, inputs, differentiable)
    numerical = numerical_jacobians(fn, inputs, differentiable, eps)
    worst = _worst_mismatch(analytic, numerical, atol, rtol)
    if worst is None:
        return None
    return _describe(worst, analytic, numerical, inputs, differentiable, shapes, what)


def _first_order(fn: _Checked) -> _Checked:
    return fn


def _second_order(fn: _Checked, inputs: Sequence[Any],
                  grad_outputs: Tensor | ArrayLike | Sequence[Tensor | ArrayLike] | None,
                  ) -> Callable[..., tuple[Tensor, ...]]:
    """The function inputs -> gradients of fn (weighted by fixed grad_outputs), on the graph."""
    differentiable = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [rng.standard_normal(o.shape) for o in _float_outputs(_as_tuple(fn(*inputs)))]
    weights = [g.data if isinstance(g, Tensor) else np.asarray(g) for g in _as_tuple(grad_outputs)]

    def gradients(*xs: Any) -> tuple[Tensor, ...]:
        outputs = _float_outputs(_as_tuple(fn(*xs)))
        live = [(o, w) for o, w in zip(outputs, weights) if o.requires_grad]
        wrt = [xs[i] for i in differentiable]
        if not live:
            return tuple(_wrap(np.zeros_like(t.data)) for t in wrt)
        result = grad([o for o, _ in live], wrt, [w.astype(o.dtype) for o, w in live],
                      create_graph=True, allow_unused=True)
        return tuple(_wrap(np.zeros_like(t.data)) if g is None else g for g, t in zip(result, wrt))
    return gradients


def _graph_nodes(outputs: list[Tensor]) -> list[Function]:
    """Every node of the graph behind ``outputs``, inputs first (iterative)."""
    order: list[Function] = []
    seen: set[Function] = set()
    stack = [(o.grad_fn, False) for o in outputs if o.grad_fn is not None]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for nxt in node.input_nodes:
            if isinstance(nxt, Function) and nxt not in seen:
                stack.append((nxt, False))
    return order


def _localize(fn: _Checked, inputs: Sequence[Any], eps: float, atol: float, rtol: float,
              second_order: bool) -> str:
    """Re-run fn recording each node's inputs, and check every node's backward on its own."""
    previous = grad_mode.set_tracing(True, record_inputs=True)
    try:
        outputs = _float_outputs(_as_tuple(fn(*inputs)))
    finally:
        grad_mode.restore_tracing(previous)
    for node in _graph_nodes(outputs):
        recorded = getattr(node, "recorded_inputs", None)
        if recorded is None:
            continue
        args, kwargs = recorded
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        local_inputs = [_wrap(args[i].data.astype(np.float64), True) for i in positions]

        def local(*xs: Tensor, cls: type[Function] = type(node), args: Sequence[Any] = args,
                  kwargs: dict[str, Any] = kwargs, positions: list[int] = positions) -> Tensor:
            full = list(args)
            for p, x in zip(positions, xs):
                full[p] = x
            return cls.apply(*full, **kwargs)

        check = _second_order(local, local_inputs, None) if second_order else local
        try:
            problem = _compare(check, local_inputs, eps, atol, rtol, "its gradient")
        except Exception:       # an op that cannot run alone in float64 is not the one to blame
            continue
        if problem is not None:
            site = node.creation_site()
            where = f" (created at {site})" if site else ""
            order = "second-order " if second_order else ""
            return (f"\nThe op whose {order}backward disagrees with its forward: "
                    f"{node.name}{where}: {problem}")
    return ""


def gradcheck(fn: _Checked, inputs: Tensor | Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check ``fn``'s backprop gradients against central differences, in float64.

    ``fn(*inputs)`` returns a Tensor or a tuple of Tensors; every input with ``requires_grad``
    must be float64. Returns True, or raises ``GradcheckError`` naming the input, the worst
    element, both values, their relative error, and the op (built-in or your ``Function``
    subclass, by class name) whose backward disagrees with its own forward.

    >>> import autodiff as ad
    >>> x = ad.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    >>> ad.gradcheck(lambda t: (t * t.sin()).sum(), x)
    True
    """
    inputs = _as_tuple(inputs)
    problem = _compare(fn, inputs, eps, atol, rtol, "gradient")
    if problem is None:
        return True
    if not raise_exception:
        return False
    raise GradcheckError("gradcheck: " + problem + _localize(fn, inputs, eps, atol, rtol, False))


def gradgradcheck(fn: _Checked, inputs: Tensor | Sequence[Any],
                  grad_outputs: Tensor | ArrayLike | Sequence[Tensor | ArrayLike] | None = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check second-order gradients: the gradients of ``fn`` (weighted by ``grad_outputs``, random
    by default), computed with ``create_graph=True``, are checked with gradcheck. Fails on a
    backward that is right at first order but cuts the graph (e.g. uses ``.detach()``)."""
    inputs = _as_tuple(inputs)
    _check_inputs(inputs, "gradgradcheck")
    problem = _compare(_second_order(fn, inputs, grad_outputs), inputs, eps, atol, rtol,
                       "second-order gradient")
    if problem is None:
        return True
    if not raise_exception:
        return False
    raise GradcheckError("gradgradcheck: " + problem + _localize(fn, inputs, eps, atol, rtol, True))
