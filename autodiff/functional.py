"""Higher-order tools with PyTorch's semantics (``torch.autograd.functional``): vjp, jvp, jacobian,
hessian, hvp. ``func`` takes tensors and returns a tensor (or a tuple of them); ``inputs`` is a
tensor or a tuple of tensors, and results follow the same nesting."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from .engine import grad
from .grad_mode import enable_grad
from .tensor import Tensor, _wrap

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp"]

# a tensor or a tuple of them (inputs, outputs, v)
_Tensors = Union[Tensor, Sequence[Tensor]]
# the vectors v: tensors or arrays, one per input or output
_Vectors = Union[Tensor, np.ndarray, Sequence[Union[Tensor, ArrayLike]]]
# a result nested as the arguments are: a Tensor, or tuples (of tuples) of Tensors. Any, so that
# the caller needs no isinstance check to use the single-tensor case.
_Nested = Any


def _tuple(x: _Tensors, what: str) -> tuple[bool, tuple[Tensor, ...]]:
    single = isinstance(x, Tensor)
    items: tuple[Any, ...] = (x,) if single else tuple(x)     # (checked below)
    for t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"functional: {what} must be Tensors, got {type(t).__name__}")
    return single, items


def _prepare(inputs: _Tensors) -> tuple[bool, tuple[Tensor, ...]]:
    """Fresh leaves (sharing data) that require grad, so the caller's tensors are untouched."""
    single, items = _tuple(inputs, "inputs")
    return single, tuple(_wrap(t.data, True) if t.dtype.kind == "f" else t for t in items)


def _grads(outputs: Sequence[Tensor], inputs: Sequence[Tensor], grad_outputs: Sequence[Any],
           create_graph: bool) -> tuple[Tensor, ...]:
    """ad.grad that gives zeros (not None) for inputs the outputs do not depend on."""
    live = [o for o in outputs if o.requires_grad]
    weights = [g for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not live:
        return tuple(_wrap(np.zeros_like(t.data)) for t in inputs)
    result = grad(live, inputs, weights, retain_graph=True, create_graph=create_graph, allow_unused=True)
    return tuple(_wrap(np.zeros_like(t.data)) if g is None else g for g, t in zip(result, inputs))


def _detach_all(items: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    return items if create_graph else tuple(t.detach() for t in items)


def _unpack(single: bool, items: tuple[Any, ...]) -> _Nested:
    return items[0] if single else items


def _vectors(v: _Vectors | None, like: Iterable[Tensor], message: str) -> tuple[Any, ...]:
    """``v`` as a tuple; when omitted, ones shaped like the one-element tensors ``like``."""
    if v is None:
        if any(t.size != 1 for t in like):
            raise RuntimeError(message)
        return tuple(np.ones_like(t.data) for t in like)
    return (v,) if isinstance(v, (Tensor, np.ndarray)) else tuple(v)


def vjp(func: Callable[..., _Tensors], inputs: _Tensors, v: _Vectors | None = None,
        create_graph: bool = False) -> tuple[_Nested, _Nested]:
    """(func(inputs), vᵀ J): the vector-Jacobian product. ``v`` may be omitted for a
    one-element output."""
    single_in, inputs = _prepare(inputs)
    with enable_grad():
        outputs = func(*inputs)
        single_out, outs = _tuple(outputs, "outputs")
        v = _vectors(v, outs, "vjp: v can be omitted only when func returns one-element tensors")
        products = _grads(outs, inputs, v, create_graph)
    return _unpack(single_out, _detach_all(outs, create_graph)), _unpack(single_in, _detach_all(products, create_graph))


def jvp(func: Callable[..., _Tensors], inputs: _Tensors, v: _Vectors | None = None,
        create_graph: bool = False) -> tuple[_Nested, _Nested]:
    """(func(inputs), J v): the Jacobian-vector product, by the double-vjp trick (J v is the
    gradient of uᵀ J v with respect to a dummy u)."""
    single_in, inputs = _prepare(inputs)
    with enable_grad():
        outputs = func(*inputs)
        single_out, outs = _tuple(outputs, "outputs")
        v = _vectors(v, inputs, "jvp: v can be omitted only when the inputs have one element")
        dummies = tuple(_wrap(np.zeros_like(o.data), True) for o in outs)
        vector_jacobian = _grads(outs, inputs, dummies, create_graph=True)
        pairs = [(g, w) for g, w in zip(vector_jacobian, v) if g.requires_grad]
        products: tuple[Any, ...]   # (Tensors, once the Nones are replaced)
        if pairs:
            products = grad([g for g, _ in pairs], dummies, [w for _, w in pairs],
                            retain_graph=True, create_graph=create_graph, allow_unused=True)
            products = tuple(_wrap(np.zeros_like(o.data)) if p is None else p for p, o in zip(products, outs))
        else:
            products = tuple(_wrap(np.zeros_like(o.data)) for o in outs)
    return _unpack(single_out, _detach_all(outs, create_graph)), _unpack(single_out, _detach_all(products, create_graph))


def jacobian(func: Callable[..., _Tensors], inputs: _Tensors, create_graph: bool = False) -> _Nested:
    """The Jacobian d func / d inputs, shaped ``output.shape + input.shape`` (nested as PyTorch:
    per output, per input, when either is a tuple)."""
    single_in, inputs = _prepare(inputs)
    with enable_grad():
        outputs = func(*inputs)
        single_out, outs = _tuple(outputs, "outputs")
        table = []
        for out in outs:
            rows: list[list[Tensor]] = [[] for _ in inputs]
            for k in range(out.size):
                seed = np.zeros(out.size, dtype=out.dtype)
                seed[k] = 1.0
                grads = _grads((out,), inputs, (seed.reshape(out.shape),), create_graph)
                for j, g in enumerate(grads):
                    rows[j].append(g)
            entry = []
            for j, t in enumerate(inputs):
                block: Any      # a Tensor under create_graph, else an array
                if create_graph:
                    from .indexing import stack
                    block = stack(rows[j]) if rows[j] else _wrap(np.zeros((0,) + t.shape, t.dtype))
                    entry.append(block.reshape(out.shape + t.shape))
                else:
                    block = np.stack([g.data for g in rows[j]]) if rows[j] else np.zeros((0,) + t.shape, t.dtype)
                    entry.append(_wrap(block.reshape(out.shape + t.shape)))
            table.append(_unpack(single_in, tuple(entry)))
    return _unpack(single_out, tuple(table))


def hessian(func: Callable[..., Tensor], inputs: _Tensors, create_graph: bool = False) -> _Nested:
    """The Hessian of a scalar ``func``: shaped ``input.shape + input.shape`` (nested per input
    pair when inputs is a tuple)."""
    single_in, items = _tuple(inputs, "inputs")

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        with enable_grad():
            out = func(*xs)
            if not isinstance(out, Tensor) or out.size != 1:
                raise RuntimeError("hessian: func must return a tensor with a single element")
            return _grads((out,), xs, (np.ones_like(out.data),), create_graph=True)

    result = jacobian(gradient, items, create_graph=create_graph)
    if single_in:
        return result[0][0] if isinstance(result, tuple) and isinstance(result[0], tuple) else result
    return result


def hvp(func: Callable[..., Tensor], inputs: _Tensors, v: _Vectors,
        create_graph: bool = False) -> tuple[Tensor, _Nested]:
    """(func(inputs), H v) for a scalar ``func``: the Hessian-vector product, by double backprop."""
    single_in, inputs = _prepare(inputs)
    if v is None:
        raise RuntimeError("hvp: give v, the vector to multiply the Hessian by")
    v = _vectors(v, (), "")
    with enable_grad():
        out = func(*inputs)
        if not isinstance(out, Tensor) or out.size != 1:
            raise RuntimeError("hvp: func must return a tensor with a single element")
        gradients = _grads((out,), inputs, (np.ones_like(out.data),), create_graph=True)
        pairs = [(g, w) for g, w in zip(gradients, v) if g.requires_grad]
        if pairs:
            dot: Any = None     # (a Tensor after the loop: pairs is not empty)
            for g, w in pairs:
                term = (g * (w.data if isinstance(w, Tensor) else w)).sum()
                dot = term if dot is None else dot + term
            products = _grads((dot,), inputs, (np.ones_like(dot.data),), create_graph)
        else:
            products = tuple(_wrap(np.zeros_like(t.data)) for t in inputs)
    return _detach_all((out,), create_graph)[0], _unpack(single_in, _detach_all(products, create_graph))
