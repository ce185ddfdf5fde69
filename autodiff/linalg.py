"""``ad.linalg``: PyTorch's torch.linalg names for norms, determinants, inverses and solves.

Norms are composed (abs, amax, sums, powers), with the square root and the powers masked where
they meet 0, so that a zero vector has PyTorch's gradient 0 instead of the nan of sqrt'(0).
det, inv, solve and slogdet are Functions (numpy's LAPACK in forward); their backwards are
written with inv/solve/matmul that run on arrays and, under create_graph, on Tensors.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .function import Function
from .indexing import accepts_axis
from .ops import _as_tensor, _normalize_axis, abs, amax, amin, log, matmul, reshape, sqrt, sum, where
from .tensor import Tensor

if TYPE_CHECKING:
    from .engine import _G, _Gradient

__all__ = ["norm", "vector_norm", "matrix_norm", "det", "inv", "solve", "slogdet", "cross", "matrix_power", "pinv",
           "multi_dot", "cholesky", "qr", "eigh", "svd"]

# PyTorch's torch.return_types.slogdet (the ignore: the type's name is PyTorch's, not the variable's)
slogdet_result = NamedTuple("slogdet", [("sign", Tensor), ("logabsdet", Tensor)])  # type: ignore[name-match]
# torch.return_types.linalg_qr, linalg_eigh and linalg_svd
qr_result = NamedTuple("linalg_qr", [("Q", Tensor), ("R", Tensor)])  # type: ignore[name-match]
eigh_result = NamedTuple("linalg_eigh", [("eigenvalues", Tensor), ("eigenvectors", Tensor)])  # type: ignore[name-match]
svd_result = NamedTuple("linalg_svd", [("U", Tensor), ("S", Tensor), ("Vh", Tensor)])  # type: ignore[name-match]


def _square_matrices(A: Tensor | ArrayLike, op: str) -> Tensor:
    A = _as_tensor(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{op}: needs square matrices (..., n, n), got shape {A.shape}")
    if A.dtype.kind != "f":
        A = A.astype(np.float64) if A.dtype.kind in "iub" else A
    return A


def _singular(op: str, shape: tuple[int, ...]) -> np.linalg.LinAlgError:
    return np.linalg.LinAlgError(f"{op}: a matrix of the batch (shape {shape}) is singular, so it has no "
                                 "inverse; check the input, or regularise it (A + eps * I)")


def _inv(A: _G) -> _G:
    return Inv.apply(A) if isinstance(A, Tensor) else _inv_array(A, "inv")


def _inv_array(A: np.ndarray, op: str) -> np.ndarray:
    try:
        return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        raise _singular(op, A.shape) from None


class Inv(Function):
    """The inverse of square matrices (…, n, n); d(A^-1) = -A^-1 dA A^-1."""

    @staticmethod
    def forward(ctx: Any, A: np.ndarray) -> np.ndarray:
        out = _inv_array(A, "inv")
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> _Gradient:
        (out,) = ctx.saved_tensors
        return -matmul(matmul(out.mT, grad), out.mT) if isinstance(grad, Tensor) else -(out.mT @ grad @ out.mT)


class Det(Function):
    """Determinant of square matrices; gradient det(A) A^-T, or for a singular matrix its
    adjugate's transpose (from the SVD), which is the true derivative of the polynomial det."""

    @staticmethod
    def forward(ctx: Any, A: np.ndarray) -> np.ndarray | np.floating:
        out = np.linalg.det(A)
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> _Gradient:
        A, out = ctx.saved_tensors
        scale = grad[..., None, None]
        values = out.data if isinstance(out, Tensor) else out
        if np.all(values != 0):
            return scale * out[..., None, None] * _inv(A).mT
        if isinstance(A, Tensor):
            raise RuntimeError("det: the second derivative at a singular matrix is not supported")
        return scale * _adjugate(A).mT


def _adjugate(A: np.ndarray) -> np.ndarray:
    """adj(A) = det(A) A^-1, for any A: V diag(prod of the other singular values) U^T det(U V^T)."""
    U, s, Vt = np.linalg.svd(A)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], -1)
    sign = np.linalg.det(U) * np.linalg.det(Vt)
    return (Vt.mT * others[..., None, :]) @ U.mT * sign[..., None, None]


class LogAbsDet(Function):
    """log |det A| of square matrices; gradient A^-T (slogdet's differentiable part)."""

    @staticmethod
    def forward(ctx: Any, A: np.ndarray) -> np.ndarray | np.floating:
        ctx.save_for_backward(A)
        return np.linalg.slogdet(A)[1]

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> _Gradient:
        (A,) = ctx.saved_tensors
        return grad[..., None, None] * _inv(A).mT


def _solve(A: np.ndarray | Tensor, B: np.ndarray | Tensor) -> np.ndarray | Tensor:
    return Solve.apply(A, B) if isinstance(A, Tensor) or isinstance(B, Tensor) else np.linalg.solve(A, B)


class Solve(Function):
    """X with A X = B for square A (…, n, n) and B (…, n, k), batch dimensions broadcast.
    Gradients: dB = A^-T g (a solve), dA = -dB X^T."""

    @staticmethod
    def forward(ctx: Any, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        try:
            out = np.linalg.solve(A, B)
        except np.linalg.LinAlgError:
            raise _singular("solve", A.shape) from None
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, _Gradient]:
        A, X = ctx.saved_tensors
        grad_B = _solve(A.mT, grad)
        grad_A = -matmul(grad_B, X.mT) if isinstance(grad_B, Tensor) else -(grad_B @ X.mT)
        return grad_A, grad_B


def det(A: Tensor | ArrayLike) -> Tensor:
    """The determinant of square matrices (…, n, n) -> (…)."""
    return Det.apply(_square_matrices(A, "det"))


def inv(A: Tensor | ArrayLike) -> Tensor:
    """The inverse of square matrices (…, n, n); a singular matrix raises (LinAlgError)."""
    return Inv.apply(_square_matrices(A, "inv"))


def slogdet(A: Tensor | ArrayLike) -> slogdet_result:
    """(sign, logabsdet) of the determinant of square matrices: sign in {-1, 0, 1} (no gradient),
    log |det| differentiable (its gradient A^-T; -inf for a singular matrix)."""
    A = _square_matrices(A, "slogdet")
    sign = Tensor(np.linalg.slogdet(A.data)[0])
    return slogdet_result(sign, LogAbsDet.apply(A))


def solve(A: Tensor | ArrayLike, B: Tensor | ArrayLike, left: bool = True) -> Tensor:
    """X with A X = B (``left=False``: X A = B) for square A (…, n, n). B is (…, n, k), or a
    vector (n,) or batch of vectors (…, n) when its shape is A's without the last dimension."""
    A = _square_matrices(A, "solve")
    B = _as_tensor(B)
    if not left:
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if (B.shape[-1] if vector else (B.shape[-2] if B.ndim >= 2 else None)) != A.shape[-1]:
        raise ValueError(f"solve: A of shape {A.shape} and B of shape {B.shape} do not fit; B must be "
                         f"({A.shape[-1]},), (…, {A.shape[-1]}) or (…, {A.shape[-1]}, k)")
    if vector:      # as a one-column matrix
        return Solve.apply(A, reshape(B, B.shape + (1,)))[..., 0]
    return Solve.apply(A, B)


# ---------------------------------------------------------------------------------------------
# norms


def _reduced(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    return () if axes is None else tuple(n for i, n in enumerate(shape) if i not in axes)


def _masked_root(total: Tensor, power: float) -> Tensor:
    """total ** (1 / power), with gradient 0 where total is 0 (not the inf of the root's slope)."""
    zero = total.data == 0
    return where(zero, 0.0, where(zero, 1.0, total) ** (1.0 / power))


@accepts_axis
def vector_norm(x: Tensor | ArrayLike, ord: float = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False,
                dtype: DTypeLike | None = None) -> Tensor:
    """The ``ord``-norm of the elements of ``x`` (all of them, or over ``dim``): (sum |x|^ord)^(1/ord),
    max |x| for inf, min |x| for -inf, the count of non-zeros for 0. At a zero vector (and at zero
    elements for ord < 1) the gradient is 0, as PyTorch's."""
    x = _as_tensor(x)
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"vector_norm: needs a floating tensor, got {x.dtype}; convert it with .float()")
    if isinstance(ord, str) or not isinstance(ord, (int, float, np.integer, np.floating)):
        raise ValueError(f"vector_norm: ord must be a number (2, 1, inf, -inf, 0, p), got {ord!r}; for the "
                         "Frobenius or nuclear norm of matrices use matrix_norm or dim=(rows, columns)")
    axes = _normalize_axis(dim, x.ndim, "vector_norm")
    if ord in (math.inf, -math.inf) and x.size == 0 and any(x.shape[axis] == 0 for axis in axes or range(x.ndim)):
        raise ValueError(f"vector_norm: the {ord} norm of an empty tensor (shape {x.shape}) over an empty dimension "
                         "has no value (as in PyTorch: max and min have no identity)")
    if ord == math.inf:
        return amax(abs(x), axes, keepdim)
    if ord == -math.inf:
        return amin(abs(x), axes, keepdim)
    if ord == 0:        # no gradient: the count, linked to x by a where that never picks it
        counted = where(np.zeros(x.shape, bool), x, (x.data != 0).astype(x.dtype))
        return sum(counted, axes, keepdim)
    if ord == 1:
        return sum(abs(x), axes, keepdim)
    if ord == 2:
        return _masked_root(sum(x * x, axes, keepdim), 2)
    if ord < 0:     # 0 where an element is 0, with gradient 0 there (x replaced by 1 in those slices)
        with np.errstate(divide="ignore"):
            zero = np.isinf((np.abs(x.data) ** ord).sum(axis=axes, keepdims=True))
        safe = where(zero, 1.0, x)
        return where(zero if keepdim else zero.reshape(_reduced(x.shape, axes)), 0.0,
                     sum(abs(safe) ** ord, axes, keepdim) ** (1.0 / ord))
    nonzero = x.data != 0
    powered = where(nonzero, abs(where(nonzero, x, 1.0)) ** ord, 0.0)
    return _masked_root(sum(powered, axes, keepdim), ord)


class SingularValueNorm(Function):
    """matrix_norm's "nuc" (the sum of the singular values), 2 (the largest) and -2 (the smallest)
    over dims ``rows`` and ``cols`` of A. As PyTorch's sum/amax/amin of svdvals: since
    d(s_i) = u_i^T dA v_i, the gradient is U diag(w) V^T, w = 1 for "nuc" and, for 2 and -2, the
    largest (smallest) values shared evenly at ties. First order only."""

    @staticmethod
    def forward(ctx: Any, A: np.ndarray, ord: str | int, rows: int, cols: int, keepdim: bool) -> np.ndarray:
        moved = np.moveaxis(A, (rows, cols), (-2, -1))
        U, s, Vt = np.linalg.svd(moved, full_matrices=False)
        if ord == "nuc":
            out = s.sum(-1)
            weights = np.ones_like(s)
        else:
            out = s.max(-1) if ord == 2 else s.min(-1)
            picked = s == out[..., None]
            weights = picked / picked.sum(-1, keepdims=True).astype(s.dtype)
        direction = np.moveaxis((U * weights[..., None, :]) @ Vt, (-2, -1), (rows, cols))
        kept = tuple(sorted((rows, cols)))
        ctx.save_for_backward(direction, kept)
        return np.expand_dims(out, kept) if keepdim else out

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[Any, None, None, None, None]:
        direction, kept = ctx.saved_tensors
        if isinstance(grad, Tensor):
            raise RuntimeError("matrix_norm: the second derivative of 'nuc', 2 and -2 (singular values) is not "
                               "supported; use 'fro', 1, -1, inf or -inf for create_graph=True")
        if grad.ndim < direction.ndim:
            grad = np.expand_dims(grad, kept)
        return grad * direction, None, None, None, None


@accepts_axis
def matrix_norm(A: Tensor | ArrayLike, ord: float | Literal["fro", "nuc"] = "fro", dim: Sequence[int] = (-2, -1),
                keepdim: bool = False, dtype: DTypeLike | None = None) -> Tensor:
    """Matrix norms over the two dimensions ``dim``: "fro" (the root of the sum of squares), 1 and
    -1 (largest/smallest column sum of |a|), inf and -inf (row sums), "nuc" (the sum of the singular
    values), 2 and -2 (the largest and smallest singular value; their gradients first order only)."""
    A = _as_tensor(A)
    if dtype is not None:
        A = A.astype(dtype)
    if A.ndim < 2:
        raise ValueError(f"matrix_norm: needs at least 2 dimensions, got shape {A.shape}")
    if isinstance(dim, (int, np.integer)) or len(tuple(dim)) != 2:
        raise ValueError(f"matrix_norm: dim must be a pair of dimensions (rows, columns), got {dim!r}")
    rows, cols = (_normalize_axis(d, A.ndim, "matrix_norm")[0] for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        if A.dtype.kind != "f":
            raise TypeError(f"matrix_norm: needs a floating tensor, got {A.dtype}; convert it with .float()")
        return SingularValueNorm.apply(A, ord, rows, cols, keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        summed, reduced = (rows, cols) if abs(ord) == 1 else (cols, rows)
        sums = sum(abs(A), summed, keepdim=True)
        out = (amax if ord > 0 else amin)(sums, reduced, keepdim=True)
        return out if keepdim else reshape(out, tuple(n for i, n in enumerate(A.shape) if i not in (rows, cols)))
    raise ValueError(f"matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}")


@accepts_axis
def norm(A: Tensor | ArrayLike, ord: float | Literal["fro", "nuc"] | None = None,
         dim: int | Sequence[int] | None = None, keepdim: bool = False, dtype: DTypeLike | None = None) -> Tensor:
    """torch.linalg.norm: a vector norm (``dim`` an int, or a 1-D input) or a matrix norm (``dim``
    two ints, or a 2-D input with ``ord`` given); with neither ord nor dim, the 2-norm of all
    elements."""
    A = _as_tensor(A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype)
        # (the ignore: a matrix ord with one dim reaches vector_norm, which raises)
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype)  # type: ignore[arg-type]
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype)
    if A.ndim == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim, dtype)
    if A.ndim <= 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype)
    raise ValueError(f"linalg.norm: with ord={ord!r} and no dim the input must be 1-D or 2-D, got shape {A.shape}")


@accepts_axis
def cross(input: Tensor | ArrayLike, other: Tensor | ArrayLike, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (input and other broadcast)."""
    from .indexing import stack
    from .ops import broadcast_to
    input, other = _as_tensor(input), _as_tensor(other)
    shape = np.broadcast_shapes(input.shape, other.shape)
    axis = _normalize_axis(dim, len(shape), "cross")[0]
    if shape[axis] != 3:
        raise ValueError(f"cross: dimension {axis} must have size 3, got shapes {input.shape} and {other.shape}")
    a, b = broadcast_to(input, shape), broadcast_to(other, shape)
    lead = (slice(None),) * axis
    a0, a1, a2 = (a[lead + (i,)] for i in range(3))
    b0, b1, b2 = (b[lead + (i,)] for i in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis)


# ---------------------------------------------------------------------------------------------
# powers, pseudo-inverses and chains of products


def matrix_power(A: Tensor | ArrayLike, n: int) -> Tensor:
    """A @ A @ ... (n times) of square matrices (..., m, m), by repeated squaring (so gradients
    come from matmul's); n = 0 gives the identity (gradient 0), n < 0 powers of inv(A)."""
    A = _as_tensor(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"matrix_power: needs square matrices (..., m, m), got shape {A.shape}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: the exponent must be an int, got {type(n).__name__}")
    if n == 0:      # the identity, on the graph with a zero gradient (PyTorch's)
        identity = np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape)
        return where(np.ones(A.shape, dtype=bool), identity, A)
    if n < 0:
        if A.dtype.kind != "f":
            raise RuntimeError(f"matrix_power: a negative power inverts the matrix, which needs a floating "
                               f"tensor, got {A.dtype}; convert it with .double()")
        A, n = inv(A), -n
    if n > 1 and A.dtype == np.bool_:
        raise TypeError("matrix_power: bool matrices cannot be multiplied (as in PyTorch); convert with .int()")
    factors, square = [], A       # A^n = the product of the A^(2^k) of n's set bits
    while n:
        if n & 1:
            factors.append(square)
        n >>= 1
        if n:
            square = matmul(square, square)
    result = factors[0]
    for factor in factors[1:]:
        result = matmul(result, factor)
    return result if result is not A else A.clone()


class Pinv(Function):
    """The Moore-Penrose pseudo-inverse of (..., m, n) matrices, singular values at or below
    max(atol, rtol * the largest) taken as 0. Backward: PyTorch's formula (its pinv_backward),
    exact where the rank does not change near A."""

    @staticmethod
    def forward(ctx: Any, A: np.ndarray, atol: float, rtol: float, hermitian: bool) -> np.ndarray:
        if hermitian:
            values, vectors = np.linalg.eigh(A)
            magnitudes = np.abs(values)
            cutoff = np.maximum(atol, rtol * magnitudes.max(-1, keepdims=True, initial=0.0))
            kept = np.where(magnitudes > cutoff, 1 / np.where(magnitudes > cutoff, values, 1), 0)
            out = (vectors * kept[..., None, :]) @ vectors.mT
        else:
            u, s, vh = np.linalg.svd(A, full_matrices=False)
            cutoff = np.maximum(atol, rtol * s.max(-1, keepdims=True, initial=0.0))
            kept = np.where(s > cutoff, 1 / np.where(s > cutoff, s, 1), 0)
            out = (vh.mT * kept[..., None, :]) @ u.mT
        ctx.save_for_backward(A, out)
        return out.astype(A.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None, None, None]:
        A, pinvA = ctx.saved_tensors
        m, n = A.shape[-2], A.shape[-1]
        pinvAh, gradh = pinvA.mT, grad.mT
        if m <= n:
            K = gradh @ pinvA
            KpinvAh = K @ pinvAh
            gA = -(pinvA @ K).mT + KpinvAh - (A @ pinvA) @ KpinvAh + (pinvAh @ pinvA) @ (gradh - K @ A)
        else:
            K = pinvA @ gradh
            pinvAhK = pinvAh @ K
            gA = -(K @ pinvA).mT + (gradh - A @ K) @ pinvA @ pinvAh + pinvAhK - pinvAhK @ pinvA @ A
        return gA, None, None, None


def pinv(A: Tensor | ArrayLike, *, atol: float | None = None, rtol: float | None = None,
         hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse (..., m, n) -> (..., n, m). Singular values (eigenvalue
    magnitudes with ``hermitian``, which reads A's lower triangle) at or below max(atol, rtol *
    the largest) count as 0; rtol defaults to max(m, n) * eps of the dtype unless atol is given
    (then 0), as PyTorch."""
    A = _as_tensor(A)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.pinv: needs matrices (..., m, n), got shape {A.shape}")
    if A.dtype.kind != "f":
        raise RuntimeError(f"linalg.pinv: expected a floating tensor, got {A.dtype}; convert it with .double()")
    if rtol is None:
        rtol = max(A.shape[-2:]) * float(np.finfo(A.dtype).eps) if atol is None or atol <= 0 else 0.0
    return Pinv.apply(A, 0.0 if atol is None else float(atol), float(rtol), bool(hermitian))


def multi_dot(tensors: Sequence[Tensor | ArrayLike]) -> Tensor:
    """The product of two or more matrices, left to right: the first may be a vector (1-d, as a
    row) and the last a vector (as a column), whose dims are dropped from the result."""
    matrices = [_as_tensor(t) for t in tensors]
    if len(matrices) < 2:
        raise RuntimeError(f"linalg.multi_dot: expected at least 2 tensors but got {len(matrices)}")
    for k, matrix in enumerate(matrices):
        allowed = (1, 2) if k in (0, len(matrices) - 1) else (2,)
        if matrix.ndim not in allowed:
            raise RuntimeError(f"linalg.multi_dot: tensor {k} must be {' or '.join(f'{d}D' for d in allowed)}, "
                               f"got {matrix.ndim}D (shape {matrix.shape})")
    if len({m.dtype for m in matrices}) > 1:
        raise RuntimeError(f"linalg.multi_dot: all tensors must have the same dtype, got "
                           f"{[str(m.dtype) for m in matrices]}")
    result = matrices[0]
    for k, matrix in enumerate(matrices[1:], 1):
        if result.shape[-1] != matrix.shape[0]:
            raise RuntimeError(f"linalg.multi_dot: tensor {k - 1} and tensor {k} do not fit: the product so far has "
                               f"shape {result.shape} and tensor {k} has shape {matrix.shape}")
        result = matmul(result, matrix)
    return result


# ---------------------------------------------------------------------------------------------
# decompositions. The ones with several outputs are one Function whose output packs them side by
# side in its last dim (batch dims kept); the public function slices them apart, so a gradient
# that reaches only some of them arrives with zeros for the others (PyTorch's formulas are linear
# in the output gradients, so zeros are the same as "none"). The backwards are PyTorch's formulas
# for real matrices, written with @, .mT, np.tril and _solve. The packed ones save their factors,
# not their output, so their backward is first-order only: under create_graph it raises (a silent
# second-order gradient without the factors' own dependence on A would be wrong).


def _first_order_only(grad: _Gradient, op: str) -> None:
    if isinstance(grad, Tensor):        # create_graph: the saved factors are constants here
        raise NotImplementedError(f"{op}: second-order gradients (create_graph=True) are not implemented; "
                                  "differentiate the first-order gradient without create_graph")


def _float_matrices(A: Tensor | ArrayLike, op: str, square: bool = False) -> Tensor:
    A = _as_tensor(A)
    if A.ndim < 2 or (square and A.shape[-1] != A.shape[-2]):
        raise RuntimeError(f"{op}: needs {'square ' if square else ''}matrices (..., m, n), got shape {A.shape}")
    if A.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating tensor, got {A.dtype}; convert it with .double()")
    return A


def _unpack(packed: Tensor, shapes: Sequence[tuple[int, ...]]) -> list[Tensor]:
    """The pieces of a packed output: consecutive runs of its last dim, reshaped."""
    pieces, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        pieces.append(reshape(packed[..., start:start + size], packed.shape[:-1] + shape))
        start += size
    return pieces


def _pack(*arrays: np.ndarray, batch: tuple[int, ...]) -> np.ndarray:
    return np.concatenate([a.reshape(batch + (-1,)) for a in arrays], axis=-1)


class Cholesky(Function):
    """L lower triangular with A = L L^T, for symmetric positive-definite A (its lower triangle is
    read). Backward: gA = L^-T Φ(L^T gL) L^-1, Φ(P) = (tril(P) + tril(P, -1)^T) / 2 (symmetric)."""

    @staticmethod
    def forward(ctx: Any, A: np.ndarray) -> np.ndarray:
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            raise np.linalg.LinAlgError(f"linalg.cholesky: a matrix of the batch (shape {A.shape}) is not positive-"
                                        "definite; check it is symmetric with positive eigenvalues (A + eps * I "
                                        "regularises it)") from None
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> _Gradient:
        (L,) = ctx.saved_tensors
        P = np.tril(L.mT @ grad)
        phi = 0.5 * (P + np.tril(P, -1).mT)
        return _solve(L.mT, _solve(L.mT, phi).mT).mT


def cholesky(A: Tensor | ArrayLike, *, upper: bool = False) -> Tensor:
    """The Cholesky factor of symmetric positive-definite matrices (..., n, n): L lower triangular
    with A = L L^T (``upper``: U = L^T, A = U^T U). Reads A's lower triangle; raises where A is not
    positive-definite."""
    L = Cholesky.apply(_float_matrices(A, "linalg.cholesky", square=True))
    return L.mT if upper else L


class QR(Function):
    """Q, R with A = Q R, packed (see above). Backward (m >= n, reduced): with M = R gR^T - gQ^T Q,
    gA = (gQ + Q copyltu(M)) R^-T, copyltu(M) = tril(M) + tril(M, -1)^T; for m < n, A = [X | Y]
    and R = [U | V]: X as above with gQ + Y gV^T, and gY = Q gV."""

    @staticmethod
    def forward(ctx: Any, A: np.ndarray, mode: str) -> np.ndarray:
        Q, R = np.linalg.qr(A, mode="complete" if mode == "complete" else "reduced")
        ctx.save_for_backward(A, Q, R)
        ctx.mode = mode
        return _pack(Q, R, batch=A.shape[:-2])

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None]:
        _first_order_only(grad, "linalg.qr")
        A, Q, R = ctx.saved_tensors
        m, n = A.shape[-2], A.shape[-1]
        if ctx.mode == "r":
            raise RuntimeError("linalg.qr: the derivative of linalg.qr depends on Q, which is not computed when "
                               "mode='r'; use linalg.qr(A, mode='reduced') to differentiate through it")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("linalg.qr: the QR decomposition is not differentiable when mode='complete' and "
                               "A has more rows than columns; use mode='reduced'")
        gQ, gR = _unpack_arrays(grad, (Q.shape[-2:], R.shape[-2:]))
        if m >= n:
            return _qr_square_backward(Q, R, gQ, gR), None
        Y, U, gU, gV = A[..., m:], R[..., :m], gR[..., :m], gR[..., m:]
        gX = _qr_square_backward(Q, U, gQ + Y @ gV.mT, gU)
        return np.concatenate([gX, Q @ gV], axis=-1), None


def _unpack_arrays(packed: _Gradient, shapes: Sequence[tuple[int, ...]]) -> list[_Gradient]:
    pieces, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        pieces.append(packed[..., start:start + size].reshape(packed.shape[:-1] + tuple(shape)))
        start += size
    return pieces


def _qr_square_backward(Q: _Gradient, R: _Gradient, gQ: _Gradient, gR: _Gradient) -> _Gradient:
    M = R @ gR.mT - gQ.mT @ Q
    copied = np.tril(M) + np.tril(M, -1).mT
    return _solve(R, (gQ + Q @ copied).mT).mT


def qr(A: Tensor | ArrayLike, mode: Literal["reduced", "complete", "r"] = "reduced") -> qr_result:
    """Q, R with A = Q R, Q's columns orthonormal and R upper triangular (numpy's LAPACK, the
    signs PyTorch's): A (..., m, n), k = min(m, n): "reduced" Q (..., m, k), R (..., k, n);
    "complete" Q (..., m, m), R (..., m, n); "r" R alone (Q empty; not differentiable)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    A = _float_matrices(A, "linalg.qr")
    m, n = A.shape[-2:]
    rows = m if mode == "complete" else min(m, n)
    Q, R = _unpack(QR.apply(A, mode), ((m, rows), (rows, n)))
    if mode == "r":
        return qr_result(Tensor(np.empty(0, A.dtype)), R)
    return qr_result(Q, R)


class Eigh(Function):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices (lower triangle
    read), packed. Backward: gA = V (S / E, diagonal gw) V^T with S = (V^T gV - gV^T V) / 2 and
    E_ij = w_j - w_i (so gA is symmetric)."""

    @staticmethod
    def forward(ctx: Any, A: np.ndarray) -> np.ndarray:
        w, V = np.linalg.eigh(A)
        ctx.save_for_backward(w, V)
        return _pack(w, V, batch=A.shape[:-2])

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> _Gradient:
        _first_order_only(grad, "linalg.eigh")
        w, V = ctx.saved_tensors
        n = V.shape[-1]
        gw, gV = _unpack_arrays(grad, ((n,), (n, n)))
        VtgV = V.mT @ gV
        skew = 0.5 * (VtgV - VtgV.mT)
        E = w[..., None, :] - w[..., :, None]
        off_diagonal = ~np.eye(n, dtype=bool)
        inner = np.where(off_diagonal, skew / np.where(off_diagonal, E, 1), 0) + gw[..., None, :] * np.eye(n)
        return V @ inner @ V.mT


def eigh(A: Tensor | ArrayLike, UPLO: Literal["L", "U"] = "L") -> eigh_result:
    """Eigenvalues (ascending, (..., n)) and eigenvectors (columns, (..., n, n)) of symmetric
    matrices; reads the lower triangle (``UPLO="U"``: the upper). Eigenvectors are defined up to
    sign (as LAPACK's, PyTorch's); gradients of them are meaningful for functions that do not
    depend on the signs, and infinite where eigenvalues repeat."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    A = _float_matrices(A, "linalg.eigh", square=True)
    if UPLO == "U":
        A = A.mT        # the upper triangle read as the lower one of the transpose
    n = A.shape[-1]
    w, V = _unpack(Eigh.apply(A), ((n,), (n, n)))
    return eigh_result(w, V)


class SVD(Function):
    """U, S, Vh (reduced: k = min(m, n) columns) packed. Backward (PyTorch's, real): with
    J = U^T gU - (U^T gU)^T, K = V^T gV - (V^T gV)^T, E_jk = S_k^2 - S_j^2,
    gA = U ((J S + S K) / E, diagonal gS) V^T + the parts outside U's and V's spans."""

    @staticmethod
    def forward(ctx: Any, A: np.ndarray, full_matrices: bool) -> np.ndarray:
        U, S, Vh = np.linalg.svd(A, full_matrices=full_matrices)
        k = S.shape[-1]
        ctx.save_for_backward(U[..., :k], S, Vh[..., :k, :])
        ctx.shapes = (U.shape[-2:], (k,), Vh.shape[-2:])
        return _pack(U, S, Vh, batch=A.shape[:-2])

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None]:
        _first_order_only(grad, "linalg.svd")
        U, S, Vh = ctx.saved_tensors
        gU, gS, gVh = _unpack_arrays(grad, ctx.shapes)
        m, k, n = U.shape[-2], S.shape[-1], Vh.shape[-1]
        gU, gV, V = gU[..., :k], gVh[..., :k, :].mT, Vh.mT       # full_matrices: the extra columns ignored
        UtgU, VtgV = U.mT @ gU, V.mT @ gV
        J, K = UtgU - UtgU.mT, VtgV - VtgV.mT
        S2 = S * S
        off_diagonal = ~np.eye(k, dtype=bool)
        E = np.where(off_diagonal, S2[..., None, :] - S2[..., :, None], 1)
        inner = np.where(off_diagonal, (J * S[..., None, :] + S[..., :, None] * K) / E, 0)
        inner = inner + gS[..., None, :] * np.eye(k)
        gA = U @ inner @ Vh
        if m > k:       # gU's part outside U's columns
            gU_over_S = gU / S[..., None, :]
            gA = gA + (gU_over_S - U @ (U.mT @ gU_over_S)) @ Vh
        if n > k:       # gV's part outside V's columns
            gV_over_S = gV / S[..., None, :]
            gA = gA + U @ (gV_over_S - V @ (V.mT @ gV_over_S)).mT
        return gA, None


def svd(A: Tensor | ArrayLike, full_matrices: bool = True, *, driver: str | None = None) -> svd_result:
    """U, S, Vh with A = U diag(S) Vh, S descending: A (..., m, n), k = min(m, n): U (..., m, m)
    and Vh (..., n, n), or with ``full_matrices=False`` (..., m, k) and (..., k, n); S (..., k).
    Singular vectors are defined up to sign (LAPACK's, as PyTorch's); gradients flow through
    functions that do not depend on the signs, and are infinite where singular values repeat;
    the columns beyond k (``full_matrices``) get none. ``driver``: None only (PyTorch's other
    drivers are cuSOLVER's, for CUDA tensors)."""
    if driver is not None:
        raise ValueError(f"linalg.svd: driver={driver!r} is for CUDA tensors (cuSOLVER) in PyTorch; on the CPU "
                         "pass driver=None")
    A = _float_matrices(A, "linalg.svd")
    m, n = A.shape[-2:]
    k = min(m, n)
    shapes = ((m, m if full_matrices else k), (k,), (n if full_matrices else k, n))
    U, S, Vh = _unpack(SVD.apply(A, bool(full_matrices)), shapes)
    return svd_result(U, S, Vh)
