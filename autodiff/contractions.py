"""Products and distances with PyTorch's top-level names: einsum (with ``...``), tensordot, outer,
inner, kron, cross, norm, cdist, and det/inverse/slogdet/logdet (torch.linalg's, see linalg.py).

einsum is one Function: forward is numpy's einsum; the gradient of each operand is another
einsum of the output's gradient with the other operands (with identity matrices for a letter
repeated in the operand, a diagonal, and ones for a letter summed away in it alone).
"""
from __future__ import annotations

import string
import warnings
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import linalg
from .function import Function
from .indexing import accepts_axis
from .ops import _as_tensor, matmul, reshape, where
from .tensor import Tensor

if TYPE_CHECKING:
    from .engine import _Gradient

__all__ = ["einsum", "tensordot", "outer", "ger", "inner", "kron", "cross", "norm", "cdist", "det", "inverse",
           "slogdet", "logdet", "mm", "bmm", "mv", "addmm", "addmv", "addr", "addbmm", "baddbmm", "vdot",
           "matrix_power", "pinverse", "chain_matmul"]


def _contract(equation: str, *operands: np.ndarray | Tensor) -> np.ndarray | Tensor:
    if any(isinstance(o, Tensor) for o in operands):
        return Einsum.apply(equation, *operands)
    return np.einsum(equation, *operands, optimize=len(operands) > 2)


class Einsum(Function):
    """numpy's einsum for an explicit equation ("ij,jk->ik": no "...", output given, every letter
    of one size); see ``einsum`` for the general form."""

    @staticmethod
    def forward(ctx: Any, equation: str, *arrays: np.ndarray) -> np.ndarray:
        ctx.equation = equation
        ctx.save_for_backward(*arrays)
        return np.asarray(np.einsum(equation, *arrays, optimize=len(arrays) > 2))

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, ...]:
        operands = ctx.saved_tensors
        inputs, output = ctx.equation.split("->")
        terms = inputs.split(",")
        spare = iter(c for c in string.ascii_letters if c not in ctx.equation)
        grads: list[_Gradient] = [None]      # (the equation gets none)
        for i, need in enumerate(ctx.needs_input_grad[1:]):
            if not need:
                grads.append(None)
                continue
            sizes = dict(zip(terms[i], operands[i].shape))
            target, extra_terms, extras = "", [], []
            for letter in terms[i]:
                if letter in target:        # a repeated letter (a diagonal): an identity ties the two
                    new = next(spare)
                    extra_terms.append(letter + new)
                    extras.append(np.eye(sizes[letter], dtype=grad.dtype))
                    letter = new
                target += letter
            others = [t for j, t in enumerate(terms) if j != i]
            seen = output + "".join(others) + "".join(extra_terms)
            for letter in set(terms[i]) - set(seen):    # summed away in this operand alone
                extra_terms.append(letter)
                extras.append(np.ones(sizes[letter], grad.dtype))
            equation = ",".join([output] + others + extra_terms) + "->" + target
            grads.append(_contract(equation, grad, *(o for j, o in enumerate(operands) if j != i), *extras))
        return tuple(grads)


def einsum(equation: str, *operands: Tensor | ArrayLike) -> Tensor:
    """Einstein summation as PyTorch and numpy: ``einsum("bij,bjk->bik", a, b)``; ``...`` stands for
    broadcast dimensions, an implicit output is the letters used once, sorted (after ``...``),
    and a dimension of size 1 broadcasts against the same letter's size elsewhere. Operands may
    also be given as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [_as_tensor(o) for o in operands]
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(tensors):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operand(s) but {len(tensors)} "
                         "tensor(s) were given")
    spare = iter(c for c in string.ascii_letters if c not in equation)
    broadcast = max((o.ndim - len(t.replace("...", "")) for t, o in zip(terms, tensors) if "..." in t), default=0)
    ellipsis = "".join(next(spare) for _ in range(broadcast))
    explicit = []
    for term, operand in zip(terms, tensors):
        if "..." in term:
            count = operand.ndim - len(term.replace("...", ""))
            term = term.replace("...", ellipsis[broadcast - count:] if count else "")
        if len(term) != operand.ndim or not all(c in string.ascii_letters for c in term):
            raise ValueError(f"einsum: subscripts {term!r} do not fit an operand of shape {operand.shape}; use "
                             "one letter per dimension (or ...)")
        explicit.append(term)
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        letters = "".join(explicit)
        output = ellipsis + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis))
    sizes: dict[str, int] = {}
    for term, operand in zip(explicit, tensors):
        for letter, n in zip(term, operand.shape):
            if sizes.get(letter, 1) not in (1, n) and n != 1:
                raise ValueError(f"einsum: subscript {letter!r} has sizes {sizes[letter]} and {n} in {equation!r}")
            sizes[letter] = max(sizes.get(letter, 1), n)
    for k, (term, operand) in enumerate(zip(explicit, tensors)):      # size 1 against n: broadcast
        keep = [sizes[c] == n for c, n in zip(term, operand.shape)]
        if not all(keep):
            explicit[k] = "".join(c for c, kept in zip(term, keep) if kept)
            tensors[k] = reshape(operand, tuple(n for n, kept in zip(operand.shape, keep) if kept))
    missing = set(output) - set("".join(explicit))
    if missing:
        if not all(sizes.get(c) == 1 for c in missing):
            raise ValueError(f"einsum: output subscripts {sorted(missing)} do not appear in any operand")
        out = einsum(",".join(explicit) + "->" + "".join(c for c in output if c not in missing), *tensors)
        return reshape(out, tuple(sizes[c] for c in output))
    return Einsum.apply(",".join(explicit) + "->" + output, *tensors)


def tensordot(a: Tensor | ArrayLike, b: Tensor | ArrayLike, dims: int | Sequence[int | Sequence[int]] = 2) -> Tensor:
    """Sum over the last ``dims`` dimensions of a and the first of b (an int), or over the given
    pairs ``([a's dims], [b's dims])``."""
    a, b = _as_tensor(a), _as_tensor(b)
    if isinstance(dims, (int, np.integer)):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims={dims} does not fit shapes {a.shape} and {b.shape}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
    dims_a, dims_b = [d % a.ndim for d in dims_a], [d % b.ndim for d in dims_b]
    if len(dims_a) != len(dims_b) or any(a.shape[i] != b.shape[j] for i, j in zip(dims_a, dims_b)):
        raise ValueError(f"tensordot: dimensions {dims_a} of {a.shape} and {dims_b} of {b.shape} do not match")
    letters = iter(string.ascii_letters)
    term_a = [next(letters) for _ in range(a.ndim)]
    term_b = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(dims_a, dims_b):
        term_b[j] = term_a[i]
    output = [c for k, c in enumerate(term_a) if k not in dims_a] + [c for k, c in enumerate(term_b) if k not in dims_b]
    return Einsum.apply("".join(term_a) + "," + "".join(term_b) + "->" + "".join(output), a, b)


def _checked_product(op: str, a: Tensor | ArrayLike, b: Tensor | ArrayLike, ndims: tuple[int, int],
                     what: str) -> Tensor:
    """matmul of a and b after PyTorch's checks of mm/bmm/mv: the dims, the inner sizes, and
    (bmm) equal batch sizes, without broadcasting."""
    a, b = _as_tensor(a), _as_tensor(b)
    if (a.ndim, b.ndim) != ndims:
        raise ValueError(f"{op}: needs {what}, got shapes {a.shape} and {b.shape}; matmul broadcasts other shapes")
    if a.shape[-1] != b.shape[ndims[1] - 2 if ndims[1] > 1 else 0] or (op == "bmm" and a.shape[0] != b.shape[0]):
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be multiplied (the sizes "
                         f"{a.shape[-1]} and {b.shape[-2] if b.ndim > 1 else b.shape[0]} must agree"
                         + (", and the batch sizes" if op == "bmm" else "") + ")")
    return matmul(a, b)


def mm(input: Tensor | ArrayLike, mat2: Tensor | ArrayLike) -> Tensor:
    """The matrix product of two matrices: (n, k), (k, m) -> (n, m) (no broadcasting)."""
    return _checked_product("mm", input, mat2, (2, 2), "two 2-D matrices")


def bmm(input: Tensor | ArrayLike, mat2: Tensor | ArrayLike) -> Tensor:
    """Batched matrix products: (b, n, k), (b, k, m) -> (b, n, m) (no broadcasting)."""
    return _checked_product("bmm", input, mat2, (3, 3), "two 3-D batches of matrices")


def mv(input: Tensor | ArrayLike, vec: Tensor | ArrayLike) -> Tensor:
    """A matrix times a vector: (n, k), (k,) -> (n,)."""
    return _checked_product("mv", input, vec, (2, 1), "a 2-D matrix and a 1-D vector")


def addmm(input: Tensor | ArrayLike, mat1: Tensor | ArrayLike, mat2: Tensor | ArrayLike, *, beta: float = 1,
          alpha: float = 1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2): input broadcasts to (n, m); with beta 0, input is
    ignored (nan and inf in it too, as PyTorch)."""
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


def _scaled_sum(op: str, input: Tensor | ArrayLike, product: Tensor, beta: float, alpha: float,
                same_dtype: bool = True) -> Tensor:
    """beta * input + alpha * product (the add* family); input broadcasts to the product's shape
    and is ignored when beta is 0 (nan and inf in it too, as PyTorch), though it still sets the
    dtype and gets a (zero) gradient. ``same_dtype``: PyTorch refuses an input of another dtype
    (all but addr)."""
    input = _as_tensor(input)
    if product.dtype == np.bool_ and same_dtype:      # (addr takes bools: logical or of and)
        raise TypeError(f"{op}: bool matrices and vectors are not supported (as in PyTorch); convert with .int() or "
                        ".float()")
    if same_dtype and input.dtype != product.dtype:
        raise TypeError(f"{op}: input and the matrices must have the same dtype (as in PyTorch), got {input.dtype} "
                        f"and {product.dtype}; convert with .to(...)")
    for name, factor in (("beta", beta), ("alpha", alpha)):
        if isinstance(factor, float) and product.dtype.kind in "iub" and input.dtype.kind in "iub":
            raise RuntimeError(f"{op}: for integer tensors, argument {name} must not be a floating point number "
                               f"(got {factor}); pass an int or convert the tensors to a floating dtype")
    if np.broadcast_shapes(input.shape, product.shape) != product.shape:
        raise ValueError(f"{op}: input of shape {input.shape} does not broadcast to the product's shape "
                         f"{product.shape}")
    if alpha != 1:
        product = product * alpha
    if beta == 0:       # input never read: a where that never picks it
        return product + where(np.zeros(input.shape, bool), input, np.zeros((), input.dtype))
    return product + (input if beta == 1 else input * beta)


def addmv(input: Tensor | ArrayLike, mat: Tensor | ArrayLike, vec: Tensor | ArrayLike, *, beta: float = 1,
          alpha: float = 1) -> Tensor:
    """beta * input + alpha * (mat @ vec): (n, m), (m,) -> (n,); input broadcasts to (n,)."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def addr(input: Tensor | ArrayLike, vec1: Tensor | ArrayLike, vec2: Tensor | ArrayLike, *, beta: float = 1,
         alpha: float = 1) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2): (n,), (m,) -> (n, m); input broadcasts to (n, m)."""
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha, same_dtype=False)


def baddbmm(input: Tensor | ArrayLike, batch1: Tensor | ArrayLike, batch2: Tensor | ArrayLike, *, beta: float = 1,
            alpha: float = 1) -> Tensor:
    """beta * input + alpha * bmm(batch1, batch2): (b, n, k), (b, k, m) -> (b, n, m)."""
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addbmm(input: Tensor | ArrayLike, batch1: Tensor | ArrayLike, batch2: Tensor | ArrayLike, *, beta: float = 1,
           alpha: float = 1) -> Tensor:
    """beta * input + alpha * the sum over the batch of batch1[i] @ batch2[i]: (b, n, k), (b, k, m)
    -> (n, m)."""
    return _scaled_sum("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha)


def vdot(input: Tensor | ArrayLike, other: Tensor | ArrayLike) -> Tensor:
    """The dot product of two 1-D tensors of the same size and dtype (conjugating the first, which
    for these real tensors changes nothing): (n,), (n,) -> ()."""
    input, other = _as_tensor(input), _as_tensor(other)
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"vdot: 1D tensors expected, but got shapes {input.shape} and {other.shape}")
    if input.shape != other.shape:
        raise RuntimeError(f"vdot: the vectors must have the same size, got {input.shape[0]} and {other.shape[0]}")
    if input.dtype != other.dtype:
        raise RuntimeError(f"vdot: expected both vectors to have the same dtype, got {input.dtype} and "
                           f"{other.dtype}; convert one with .to()")
    if input.dtype == np.bool_:
        raise TypeError("vdot: bool vectors are not supported (as in PyTorch); convert with .int() or .float()")
    return matmul(input, other)


def matrix_power(input: Tensor | ArrayLike, n: int) -> Tensor:
    """input @ input @ ... (n times) of square matrices (..., m, m), by repeated squaring; n = 0
    gives the identity (gradient 0) and n < 0 powers of the inverse (floating input only)."""
    return linalg.matrix_power(input, n)


def pinverse(input: Tensor | ArrayLike, rcond: float = 1e-15) -> Tensor:
    """The Moore-Penrose pseudo-inverse (..., m, n) -> (..., n, m): singular values below
    rcond * the largest are treated as 0 (``linalg.pinv(input, rtol=rcond)``)."""
    return linalg.pinv(input, rtol=rcond)


def chain_matmul(*matrices: Tensor | ArrayLike) -> Tensor:
    """The product of two or more 2-D matrices, left to right (PyTorch's deprecated name of
    ``linalg.multi_dot``; one matrix is returned as a copy)."""
    if len(matrices) == 1:
        single = _as_tensor(matrices[0])
        if single.ndim != 2:
            raise RuntimeError(f"chain_matmul: expected 2-D matrices, got shape {single.shape}")
        return single.clone()
    for k, matrix in enumerate(matrices):
        if _as_tensor(matrix).ndim != 2:
            raise RuntimeError(f"chain_matmul: tensor {k} must be 2-D, got shape {_as_tensor(matrix).shape}")
    return linalg.multi_dot(list(matrices))


def outer(input: Tensor | ArrayLike, vec2: Tensor | ArrayLike) -> Tensor:
    """The outer product of two vectors: (n,), (m,) -> (n, m)."""
    input, vec2 = _as_tensor(input), _as_tensor(vec2)
    if input.ndim != 1 or vec2.ndim != 1:
        raise ValueError(f"outer: needs two 1-D tensors, got shapes {input.shape} and {vec2.shape}")
    return reshape(input, (-1, 1)) * reshape(vec2, (1, -1))


ger = outer


def inner(input: Tensor | ArrayLike, other: Tensor | ArrayLike) -> Tensor:
    """The sum of products over the last dimensions: (…, n), (…, n) -> a's batch + b's batch
    (a product when one is 0-d)."""
    input, other = _as_tensor(input), _as_tensor(other)
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, ([-1], [-1]))


def kron(input: Tensor | ArrayLike, other: Tensor | ArrayLike) -> Tensor:
    """The Kronecker product: each element of input times the whole of other, tiled."""
    input, other = _as_tensor(input), _as_tensor(other)
    ndim = max(input.ndim, other.ndim)
    a = reshape(input, (1,) * (ndim - input.ndim) + input.shape)
    b = reshape(other, (1,) * (ndim - other.ndim) + other.shape)
    spread = reshape(a, tuple(n for pair in zip(a.shape, (1,) * ndim) for n in pair)) * \
        reshape(b, tuple(n for pair in zip((1,) * ndim, b.shape) for n in pair))
    return reshape(spread, tuple(m * n for m, n in zip(a.shape, b.shape)))


@accepts_axis
def cross(input: Tensor | ArrayLike, other: Tensor | ArrayLike, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim``; without dim, PyTorch's old default: the first
    dimension of size 3 (with its deprecation warning). ``linalg.cross`` defaults to the last."""
    if dim is None:
        shape = np.broadcast_shapes(_as_tensor(input).shape, _as_tensor(other).shape)
        if 3 not in shape:
            raise ValueError(f"cross: no dimension of size 3 in shapes {_as_tensor(input).shape} and "
                             f"{_as_tensor(other).shape}")
        warnings.warn("cross: without dim, the first dimension of size 3 is used (PyTorch's deprecated "
                      "default); pass dim, or use linalg.cross (the last dimension)", UserWarning, stacklevel=2)
        dim = shape.index(3)
    return linalg.cross(input, other, dim)


def norm(input: Tensor | ArrayLike, p: float | Literal["fro", "nuc"] = "fro", dim: int | Sequence[int] | None = None,
         keepdim: bool = False, dtype: DTypeLike | None = None) -> Tensor:
    """torch.norm: ``p="fro"`` (default) the 2-norm of all elements (or the Frobenius norm over two
    ``dim``); a number: the vector p-norm over ``dim``; "nuc": the nuclear norm (linalg.matrix_norm).
    Gradient 0 at a zero vector, as PyTorch's."""
    if p == "fro":
        dims = None if dim is None else ((dim,) if isinstance(dim, (int, np.integer)) else tuple(dim))
        return linalg.vector_norm(input, 2, dims, keepdim, dtype)
    if p == "nuc":
        # (the ignore: an int dim reaches matrix_norm, which raises: "nuc" needs two dims)
        return linalg.matrix_norm(input, "nuc", (-2, -1) if dim is None else dim,  # type: ignore[arg-type]
                                  keepdim, dtype)
    if isinstance(p, str):
        raise ValueError(f"norm: p must be 'fro', 'nuc' or a number, got {p!r}")
    return linalg.vector_norm(input, p, dim, keepdim, dtype)


def cdist(x1: Tensor | ArrayLike, x2: Tensor | ArrayLike, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """The p-norm distances between the rows of x1 (…, P, M) and x2 (…, R, M): (…, P, R); batch
    dimensions broadcast. The gradient at a distance of 0 is 0 (PyTorch)."""
    x1, x2 = _as_tensor(x1), _as_tensor(x2)
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"cdist: needs (…, P, M) and (…, R, M) with the same M, got shapes {x1.shape} and "
                         f"{x2.shape}")
    differences = reshape(x1, x1.shape[:-1] + (1, x1.shape[-1])) - reshape(x2, x2.shape[:-2] + (1,) + x2.shape[-2:])
    return linalg.vector_norm(differences, p, -1)


det = linalg.det
inverse = linalg.inv
slogdet = linalg.slogdet


def logdet(input: Tensor | ArrayLike) -> Tensor:
    """log(det(A)) of square matrices: nan where det < 0, -inf where it is 0 (PyTorch)."""
    sign, logabsdet = linalg.slogdet(input)
    return where(sign.data < 0, np.nan, logabsdet)


TENSOR_METHODS: dict[str, Callable[..., Any]] = {
    "outer": outer, "ger": ger, "inner": inner, "kron": kron, "cross": cross, "norm": norm, "det": det,
    "inverse": inverse, "slogdet": slogdet, "logdet": logdet, "mm": mm, "bmm": bmm, "mv": mv, "addmm": addmm,
    "addmv": addmv, "addr": addr, "addbmm": addbmm, "baddbmm": baddbmm, "vdot": vdot, "matrix_power": matrix_power,
    "pinverse": pinverse}


def _numpy_solve(a: Tensor | ArrayLike, b: Tensor | ArrayLike) -> Tensor:
    """numpy's solve: b is a vector only when it is 1-D."""
    b = _as_tensor(b)
    return linalg.solve(a, b) if b.ndim == 1 else linalg.Solve.apply(linalg._square_matrices(a, "solve"), b)


from .ops import _ARRAY_FUNCTIONS  # noqa: E402
_ARRAY_FUNCTIONS.update({
    np.einsum: lambda subscripts, *operands, optimize=False: einsum(subscripts, *operands),
    np.tensordot: lambda a, b, axes=2: tensordot(a, b, axes),
    np.outer: lambda a, b: outer(reshape(_as_tensor(a), -1), reshape(_as_tensor(b), -1)),
    np.inner: inner, np.kron: kron,
    np.cross: lambda a, b, axis=-1: linalg.cross(a, b, axis),
    np.linalg.norm: lambda x, ord=None, axis=None, keepdims=False: linalg.norm(x, ord, axis, keepdims),
    np.linalg.det: linalg.det, np.linalg.inv: linalg.inv, np.linalg.slogdet: linalg.slogdet,
    np.linalg.solve: _numpy_solve,
})
