"""gradcheck: compare backprop's gradients with central differences, in float64."""
import numpy as np

from .engine import grad
from .grad_mode import no_grad
from .tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytic and numerical gradients disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _float_outputs(outputs):
    return [o for o in outputs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _check_inputs(inputs, op):
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


def analytic_jacobians(fn, inputs, differentiable):
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
    return jacobians


def numerical_jacobians(fn, inputs, differentiable, eps):
    """Central differences (f(x + eps) - f(x - eps)) / 2 eps, one input element at a time."""
    def evaluate():
        with no_grad():
            return [o.data.astype(np.float64).reshape(-1).copy() for o in _float_outputs(_as_tuple(fn(*inputs)))]

    base = evaluate()
    jacobians = [[np.zeros((b.size, inputs[i].size)) for i in differentiable] for b in base]
    for j, i in enumerate(differentiable):
        flat = inputs[i].data.reshape(-1)   # a view: writes reach the tensor
        if not np.shares_memory(flat, inputs[i].data):
            raise ValueError("gradcheck: inputs must be contiguous arrays (use t.clone())")
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


def _first_mismatch(analytic, numerical, atol, rtol):
    """The worst (output, input, row, col) where |a - n| > atol + rtol |n|, or None."""
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


def _describe(worst, analytic, numerical, inputs, differentiable, outputs_shapes, what="gradient"):
    _, k, j, r, c = worst
    i = differentiable[j]
    a, n = analytic[k][j][r, c], numerical[k][j][r, c]
    in_index = np.unravel_index(c, inputs[i].shape) if inputs[i].ndim else ()
    out_index = np.unravel_index(r, outputs_shapes[k]) if len(outputs_shapes[k]) else ()
    relative = abs(a - n) / max(abs(n), 1e-300)
    return (f"{what} of output {k} with respect to input {i} (shape {inputs[i].shape}) is wrong at "
            f"d out{list(out_index)} / d in{list(in_index)}: analytic {a!r}, numerical {n!r} "
            f"(relative error {relative:.3g})")


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check ``fn``'s backprop gradients against central differences, in float64.

    ``fn(*inputs)`` returns a Tensor or a tuple of Tensors; every input with ``requires_grad``
    must be float64. Returns True, or raises ``GradcheckError`` naming the input, the worst
    element, both values and their relative error.

    >>> import autodiff as ad
    >>> x = ad.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    >>> ad.gradcheck(lambda t: (t * t.sin()).sum(), x)
    True
    """
    inputs = _as_tuple(inputs)
    differentiable = _check_inputs(inputs, "gradcheck")
    analytic = analytic_jacobians(fn, inputs, differentiable)
    numerical = numerical_jacobians(fn, inputs, differentiable, eps)
    worst = _first_mismatch(analytic, numerical, atol, rtol)
    if worst is None:
        return True
    if not raise_exception:
        return False
    shapes = [o.shape for o in _float_outputs(_as_tuple(fn(*inputs)))]
    message = "gradcheck: " + _describe(worst, analytic, numerical, inputs, differentiable, shapes)
    raise GradcheckError(message)
